/*
 * srch_space: static analysis of a te graph into knobs, and a point's
 * schedule (see srch_space.h).  Printing, parsing, hashing and features of
 * points are in srch_point.c.
 *
 * Axes.  Every axis of extent > 1 of a compute stage gets a split knob; an
 * axis of extent 1 gets none and stays one unsplit loop (lowering removes
 * it): spatial ones outermost, reduce ones just before the first reduce
 * group.  A stage "reduces" when it has a reduce axis of extent > 1.
 *
 * Split knobs.  Spatial axes of reducing stages are cut into 4 parts and
 * reduce axes into 3; spatial axes of other stages into 2 on the CPU, 4 on
 * GPU.  A value is the factors f0..f(d-1), outermost first, whose product
 * is the extent or, for an awkward extent (over 16 with at most 4 divisors
 * or not a multiple of 4: 53, 54, 57, 3130), that extent rounded up to a
 * multiple of 4, 8 or 16 (the outermost loop then has a tail).  The
 * schedule is "split S x f1*..*f(d-1)", "split S x.i f2*..*f(d-1)", ...:
 * part j < d-1 is the loop x.i...i.o (j times ".i"), the last x.i...i.
 *
 * Loop order.  Part j of every spatial axis forms group Sj, of every reduce
 * axis Rj (axes in axis order within a group).  Reducing stages on the CPU
 * choose (ORDER knob) among
 *     0: S0 S1 R0 S2 R1 R2 S3   1: S0 S1 R0 R1 S2 R2 S3
 *     2: S0 R0 S1 S2 R1 R2 S3   3: S0 S1 R0 R1 R2 S2 S3
 * and on GPU among 0: S0 S1 S2 R0 R1 R2 S3 (threads outside the reduction)
 * and 1: S0 S1 R0 S2 R1 R2 S3 (the outer reduction outside the threads, so
 * that a shared copy may sit at R0).  Other stages: S0 S1 (S2 S3).
 *
 * CPU choices.  PAR: 1 parallel the first S0 loop, 2 fuse the first two S0
 * loops and parallel that; VEC: vectorize the last spatial axis's last
 * part; UNROLL: 1 unroll the last reduce axis's part 2, 2 also the last
 * spatial axis's part 2 (no 2 without spatial axes), 3 (with two spatial
 * axes or more) the register tile's rows: the last part of every spatial
 * axis but the last; CW: cache_write S at the loop just outside the
 * first reduce loop (the last S1 loop, the last S0 loop in order 2), scope
 * local; CR (per input tensor read by the stage, on the first reducing
 * stage that reads it): 1 cache_read T S <part 0 of the first reduce axis>
 * stack, 2 the same at the last S0 loop (a GotoBLAS panel: packed once
 * per outer tile, reused by every inner one); PLACE of a non-output stage with one consumer C: injective: 0
 * root, 1 compute_inline, 2 compute_at C <C's first S1 loop>; a reduction:
 * 0 root, 1 compute_at (CPU only).  An inlined stage's other knobs are
 * ignored; a compute_at into an inlined consumer falls back to root.
 *
 * RF (CPU; issue 15 item 5, issue 16 item 2).  LANES is the number of
 * the stage's elements in one of the target's widest vectors (16 f32 with
 * AVX-512, 8 with AVX2; rf_lanes).  A sum, max or min whose innermost
 * reduce axis r (extent >= RF_MIN_EXTENT, a multiple of LANES) is either
 * the last index of every load it indexes (a row reduction: softmax's Mx
 * and Sum, gemv) or the stage's only long work (fewer than threads x LANES
 * outputs: a sum to a scalar) gets RF:
 *   1: split S r LANES; rfactor S r.i; S.rf loops: spatial axes, the
 *      other reduce loops, r.i; parallel S.rf <first spatial loop> (when
 *      PAR is on); cache_write S.rf <last spatial loop> local (the lanes'
 *      partial results stay in a register); vectorize S.rf r.i;
 *   2 (few outputs, more than one thread, the outermost reduce axis q
 *      divided by the threads): split S q parts=THREADS; rfactor S q.o;
 *      then as 1 on S.rf (S.rf.rf), q.o outermost and parallel, the
 *      cache_write at the last spatial loop or q.o (examples/sum.sched).
 * RF_ROWS (with RF on a row reduction whose last spatial axis L has at
 * least RF_ROWS_MIN rows): with RF 1, 1, 4 or 8 rows of L at a time:
 * split S.rf L ROWS, L.o where the lanes are cached (and parallel when L
 * is the only spatial axis), L.i unrolled just outside r.i, so a GEMV
 * streams ROWS rows of A at once and reuses each vector of x ROWS times.
 * S and S.rf add up the partial results in naive nests.  With RF on, the
 * stage's other knobs (splits, order, unroll, cw, cache_reads) are
 * ignored, PAR only says whether S.rf runs its rows in parallel, and a
 * compute_at of S or into S falls back to root.
 *
 * DEINT (CPU; issue 16 item 3).  A tensor T that a reducing stage S reads
 * at a stride k (2 <= k <= DEINT_MAX_STRIDE) along S's last spatial axis
 * (the one VEC vectorizes), in T's last dimension D and the same in every
 * load (a stride-2 convolution's `Ip[n, c, 2 p + r, 2 q + s]`), an input
 * whose first reducing reader is S or an injective stage whose only
 * consumer is S, gets DEINT: 1 cache_read T S <outermost loop> stack
 * block=D:k perm=<D % k just before D / k>, the copy stored
 * de-interleaved so that the vectorized reads move by one element per
 * lane (whole vectors, not gathers); 2 the same at the first reduce
 * loop's part 0.  With DEINT on, an injective T stays at root (its
 * PLACE is ignored) and S's CR of T is not made.
 *
 * GPU.  Spatial parts: blockIdx, vthread, threadIdx, inner.  Block loops
 * bind to blockIdx.x/y/z in axis order, or (BFUSE, and always with more
 * than 3 spatial axes) are fused into one blockIdx.x loop; part 1 loops
 * bind to vthread; thread loops to threadIdx.x/y/z (with more than 3 axes
 * the leading ones are fused into threadIdx.x).  CW: cache_write S <last
 * thread loop> local (order 0 only; order 1 with CW is outside the space);
 * CR: cache_read T S <last R0 loop> shared in order 1, local in order 0.
 * PLACE: root or compute_inline.  A point is valid when every scheduled
 * stage has at most max_threads_per_block threads, threadIdx.z <= 64,
 * blockIdx.y/z <= 65535 and its shared copies fit max_shared_bytes
 * (their boxes bounded by interval arithmetic on the index expressions);
 * srch_point_random rejects invalid points (and after RANDOM_TRIES
 * rejections returns one with a single thread and block and no caches).
 *
 * HLS.  Every axis is cut into 3 parts: tile (S0, R0), loops inside the
 * tile (S1, R1), unrolled (S2, R2), with exact factorisations only (no
 * tails: a loop inside a pipeline must have a constant trip count).
 * Reducing stages choose (ORDER) among 0: S0 S1 R0 R1 S2 R2 (the naive
 * order when nothing is split), 1: S0 R0 S1 R1 S2 R2 and 2: S0 R0 R1 S1
 * S2 R2 (the reduction outside the loops of the tile, so that consecutive
 * iterations of a pipeline accumulate into different elements).  PIPE
 * picks the pipelined loop among the loops of extent > 1 outside the
 * S2/R2 groups and inside the caches' loops: 0 the innermost, 1 the next
 * one out; every loop inside it is unrolled; II: target II 1, 2 or 4.  CW:
 * cache_write S <last S0 loop> local; CR (as on the CPU): cache_read T S
 * <last R0 loop> local.  A cache stage's loops are fused into one and
 * pipelined; PART partitions it: 1 cyclic with the fewest banks that keep
 * every bank within its two ports for the unrolled accesses (offsets
 * computed from the tile's shape and the index expressions), 2 complete.
 * PLACE: root or compute_inline.  The default point (1, e, 1) pipelines the
 * innermost loop of the naive nest.
 *
 * Directions of a split knob move the least prime factor of part `from`
 * into part `to`; moving back (to -> from) undoes it when that prime is
 * also the least of the destination part afterwards.
 */
#include "srch_space.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lower.h"
#include "rt_buf.h"
#include "rt_math.h"
#include "rt_rand.h"
#include "rt_math.h"
#include "sched.h"

enum { G_S0, G_S1, G_S2, G_S3, G_R0, G_R1, G_R2, G_DS, G_DR };

static const int cpu_orders[4][7] = {
	{G_S0, G_S1, G_R0, G_S2, G_R1, G_R2, G_S3},
	{G_S0, G_S1, G_R0, G_R1, G_S2, G_R2, G_S3},
	{G_S0, G_R0, G_S1, G_S2, G_R1, G_R2, G_S3},
	{G_S0, G_S1, G_R0, G_R1, G_R2, G_S2, G_S3},
};
static const int hls_orders[3][6] = {
	{G_S0, G_S1, G_R0, G_R1, G_S2, G_R2},
	{G_S0, G_R0, G_S1, G_R1, G_S2, G_R2},
	{G_S0, G_R0, G_R1, G_S1, G_S2, G_R2},
};
static const int hls_ii[3] = {1, 2, 4};
static const int gpu_orders[2][7] = {
	{G_S0, G_S1, G_S2, G_R0, G_R1, G_R2, G_S3},
	{G_S0, G_S1, G_R0, G_S2, G_R1, G_R2, G_S3},
};

#define GPU_MAX_THREAD_Z 64
#define GPU_MAX_GRID_YZ 65535
#define RANDOM_TRIES 1000
#define RF_VECTOR_BITS 512 /* RF's vector when the target names none (AVX-512) */
#define RF_ROWS_MIN 8      /* RF_ROWS: rows of the last spatial axis it needs */
#define RF_ROWS_CHOICES 3  /* RF_ROWS: 1, 4 or 8 rows at a time (rf_rows_of) */
#define RF_MIN_EXTENT 64  /* the shortest innermost reduce axis RF is offered on */
#define DEINT_MAX_STRIDE 8 /* DEINT: the largest stride de-interleaved (block=D:k) */
#define DEINT_MAX_LOADS 16 /* DEINT: loads of one tensor in a stage it looks at */
#define DEINT_CHOICES 3    /* DEINT: none, at the outermost loop, at the first reduce loop */

/* ---- integers ---- */

/* Distinct primes of n > 0 and their exponents; returns how many. */
static int factorize(int64_t n, int64_t prime[16], int exp[16])
{
	int k = 0;

	for (int64_t q = 2; q <= n / q; q++) {
		if (n % q)
			continue;
		prime[k] = q;
		exp[k] = 0;
		while (n % q == 0) {
			n /= q;
			exp[k]++;
		}
		k++;
	}
	if (n > 1) {
		prime[k] = n;
		exp[k++] = 1;
	}
	return k;
}

static int64_t smallest_prime(int64_t n)
{
	for (int64_t q = 2; q <= n / q; q++)
		if (n % q == 0)
			return q;
	return n;
}

static double binom(int n, int k)
{
	double r = 1;

	for (int i = 1; i <= k; i++)
		r = r * (n - k + i) / i;
	return r;
}

/* Ordered factorisations of n into d parts. */
static double count_tuples(int64_t n, int d)
{
	int64_t prime[16];
	int exp[16], k = factorize(n, prime, exp);
	double c = 1;

	for (int i = 0; i < k; i++)
		c *= binom(exp[i] + d - 1, d - 1);
	return c;
}

static bool awkward(int64_t e)
{
	int64_t prime[16];
	int exp[16], k = factorize(e, prime, exp), ndiv = 1;

	for (int i = 0; i < k; i++)
		ndiv *= exp[i] + 1;
	return e > 16 && (ndiv <= 4 || e % 4 != 0);
}

/* The allowed products of an axis of extent e, ascending: e itself, and
 * for an extent with few divisors e rounded up to multiples of 4, 8 and
 * 16; for any other above 16 that 16 does not divide, e rounded up to a
 * multiple of 16, so that a tile may take whole 16-lane vectors and leave
 * a tail (Q = 56: 3 x 16 + 8) rather than a narrower vector that divides
 * e (14 or 8 lanes). */
static int allowed_products(int64_t e, int64_t out[SRCH_MAX_PRODS])
{
	int n = 0;
	bool odd = awkward(e);

	out[n++] = e;
	for (int64_t m = odd ? 4 : 16; m <= 16 && (odd || (e > 16 && e % 16 != 0)); m *= 2) {
		int64_t r = (e + m - 1) / m * m;

		if (r != out[n - 1])
			out[n++] = r;
	}
	return n;
}

/* The allowed products of split knob k: its prods, or just its extent in a
 * space built by hand (nprods 0). */
static int prods_of(const srch_knob *k, const int64_t **out)
{
	*out = k->nprods ? k->prods : &k->extent;
	return k->nprods ? k->nprods : 1;
}

/* ---- random numbers (splitmix64) ---- */


static int64_t below(uint64_t *s, int64_t n)
{
	return n <= 1 ? 0 : (int64_t)(rt_rand_next(s) % (uint64_t)n);
}

static double unif(uint64_t *s)
{
	return (double)(rt_rand_next(s) >> 11) * 0x1.0p-53;
}

/* A uniformly random factor tuple of knob k into f: the product chosen in
 * proportion to its number of tuples, then each prime's exponent spread
 * over the parts as a uniform weak composition (bars among stars). */
static void random_split(const srch_knob *k, uint64_t *rng, int64_t *f)
{
	const int64_t *prods;
	int nprods = prods_of(k, &prods), which = nprods - 1, np, exp[16];
	double total = 0, u, acc = 0;
	int64_t prime[16];

	for (int i = 0; i < nprods; i++)
		total += count_tuples(prods[i], k->nparts);
	u = unif(rng) * total;
	for (int i = 0; i < nprods; i++) {
		acc += count_tuples(prods[i], k->nparts);
		if (u < acc) {
			which = i;
			break;
		}
	}
	for (int j = 0; j < k->nparts; j++)
		f[j] = 1;
	np = factorize(prods[which], prime, exp);
	for (int i = 0; i < np; i++) {
		int n = exp[i] + k->nparts - 1, need = k->nparts - 1, part = 0;

		for (int t = 0; t < n; t++) {
			if (below(rng, n - t) < need) {
				need--;
				part++;
			} else {
				f[part] *= prime[i];
			}
		}
	}
}

/* ---- the graph ---- */

static bool reads(const te_expr *e, int t)
{
	if (e->op == TE_LOAD && e->index == t)
		return true;
	for (int i = 0; i < e->nargs; i++)
		if (reads(e->args[i], t))
			return true;
	return false;
}

/* The single compute stage reading t, -1 when none, -2 when several. */
static int only_consumer(const te_graph *g, int t)
{
	int c = -1;

	for (int i = 0; i < te_graph_nstages(g); i++) {
		const te_stage *x = te_graph_stage(g, i);

		if (i == t || !x->body || !reads(x->body, t))
			continue;
		if (c >= 0)
			return -2;
		c = i;
	}
	return c;
}

/* How a stage's axes are tiled. */
typedef struct plan {
	const te_stage *st;
	int nsp, sp[TE_MAX_RANK];     /* spatial axes of extent > 1 */
	int nrd, rd[TE_MAX_REDUCE];   /* reduce axes of extent > 1 */
	int ndsp, dsp[TE_MAX_RANK];   /* spatial axes of extent 1 */
	int ndrd, drd[TE_MAX_REDUCE]; /* reduce axes of extent 1 */
	int sparts, rparts;
	bool reducing;
} plan;

static void plan_axes(const te_stage *st, cg_target_kind target, plan *pl)
{
	memset(pl, 0, sizeof(*pl));
	pl->st = st;
	for (int a = 0; a < st->rank + st->nreduce; a++) {
		bool red = a >= st->rank, big = st->axes[a].extent > 1;

		if (!red && big)
			pl->sp[pl->nsp++] = a;
		else if (!red)
			pl->dsp[pl->ndsp++] = a;
		else if (big)
			pl->rd[pl->nrd++] = a;
		else
			pl->drd[pl->ndrd++] = a;
	}
	pl->reducing = pl->nrd > 0;
	pl->sparts = target == CG_TARGET_HLS ? 3 : pl->reducing || target == CG_TARGET_CUDA ? 4 : 2;
	pl->rparts = 3;
}

/* The injective stage through which stage x reads t: a producer whose
 * only consumer is x and which may be inlined into it; -1 when none. */
static int via_producer(const te_graph *g, const te_stage *x, int t)
{
	for (int i = 0; i < te_graph_nstages(g); i++) {
		const te_stage *p = te_graph_stage(g, i);

		if (p->kind == TE_STAGE_COMPUTE && p->nreduce == 0 && !p->is_output && i != x->id && reads(x->body, i) &&
		    reads(p->body, t) && only_consumer(g, i) == x->id)
			return i;
	}
	return -1;
}

/* Does stage x read tensor t: directly, or (HLS) through a producer it may
 * inline? */
static bool reads_for_cache(const te_graph *g, cg_target_kind target, const te_stage *x, int t)
{
	return reads(x->body, t) || (target == CG_TARGET_HLS && via_producer(g, x, t) >= 0);
}

/* The first stage that reduces and reads input t (on HLS: tensor t). */
static int first_reducing_reader(const te_graph *g, cg_target_kind target, int t)
{
	for (int i = 0; i < te_graph_nstages(g); i++) {
		const te_stage *x = te_graph_stage(g, i);
		plan pl;

		if (x->kind != TE_STAGE_COMPUTE || i == t || !reads_for_cache(g, target, x, t))
			continue;
		plan_axes(x, target, &pl);
		if (pl.reducing)
			return i;
	}
	return -1;
}

/* Is axis `axis` the last index of every load of e that it indexes
 * (*any: some load does)? */
static bool contiguous_in(const te_expr *e, int axis, bool *any)
{
	if (e->op == TE_LOAD) {
		for (int i = 0; i < e->nargs; i++) {
			const te_expr *x = e->args[i];
			bool last = i + 1 == e->nargs && x->op == TE_AXIS && x->index == axis;
			bool used = false;

			if (!last && !contiguous_in(x, axis, &used))
				return false;
			if (!last && used)
				return false;
			*any |= last || used;
		}
		return true;
	}
	if (e->op == TE_AXIS && e->index == axis)
		*any = true;
	for (int i = 0; i < e->nargs; i++)
		if (!contiguous_in(e->args[i], axis, any))
			return false;
	return true;
}

/* Does e use axis `axis`? */
static bool uses_axis(const te_expr *e, int axis)
{
	if (e->op == TE_AXIS)
		return e->index == axis;
	for (int i = 0; i < e->nargs; i++)
		if (uses_axis(e->args[i], axis))
			return true;
	return false;
}

/* The coefficient *k of axis `axis` in the index expression e, when e is
 * affine in it (sums, differences and products by an integer constant of
 * the axis and terms without it); false otherwise. */
static bool axis_coef(const te_expr *e, int axis, int64_t *k)
{
	int64_t a, b;

	switch (e->op) {
	case TE_AXIS:
		*k = e->index == axis;
		return true;
	case TE_ADD:
	case TE_SUB:
		if (!axis_coef(e->args[0], axis, &a) || !axis_coef(e->args[1], axis, &b))
			return false;
		if (e->op == TE_SUB && b == INT64_MIN)
			return false;
		return te_add_checked(a, e->op == TE_ADD ? b : -b, k);
	case TE_NEG:
		if (!axis_coef(e->args[0], axis, &a) || a == INT64_MIN)
			return false;
		*k = -a;
		return true;
	case TE_MUL:
		for (int i = 0; i < 2; i++)
			if (e->args[i]->op == TE_CONST && e->args[i]->type == TE_I32 &&
			    axis_coef(e->args[1 - i], axis, &a))
				return te_mul_checked(a, e->args[i]->c.i, k);
		break;
	default:
		break;
	}
	*k = 0;
	return !uses_axis(e, axis);
}

static int loads_of(const te_expr *e, int t, const te_expr **out, int n, int max);

/* DEINT's dimension *dim and stride *stride of tensor t in stage st's
 * loads along axis `axis`: every load of t indexes the axis in one
 * dimension, the same in all, with the same coefficient, 2 to
 * DEINT_MAX_STRIDE. */
static bool deint_dim(const te_stage *st, int t, int axis, int *dim, int64_t *stride)
{
	const te_expr *ld[DEINT_MAX_LOADS + 1];
	int n = loads_of(st->body, t, ld, 0, DEINT_MAX_LOADS + 1);

	*dim = -1;
	*stride = 0;
	if (n == 0 || n > DEINT_MAX_LOADS)
		return false;
	for (int i = 0; i < n; i++) {
		int d1 = -1;
		int64_t k1 = 0, k;

		for (int d = 0; d < ld[i]->nargs; d++) {
			if (!axis_coef(ld[i]->args[d], axis, &k))
				return false;
			if (k && d1 >= 0)
				return false;
			if (k) {
				d1 = d;
				k1 = k;
			}
		}
		if (d1 < 0 || (i && (d1 != *dim || k1 != *stride)))
			return false;
		*dim = d1;
		*stride = k1;
	}
	return *stride >= 2 && *stride <= DEINT_MAX_STRIDE;
}

/* RF's partial sums of stage st: the lanes of one of the target's widest
 * vectors of st's type (16 f32 with AVX-512, 8 with AVX2). */
static int rf_lanes(const srch_space *s, const te_stage *st)
{
	return s->vector_bits / (8 * (int)te_dtype_size(st->type));
}

/* The choices of RF for stage pl->st (see the top): 0 (no knob), 2 or 3. */
static int rf_choices(const srch_space *s, const plan *pl)
{
	const te_stage *st = pl->st;
	int64_t outputs = 1, r, q;
	bool any = false, few, row;
	int lanes = rf_lanes(s, st);

	if (s->target != CG_TARGET_CPU || !pl->reducing || st->reduce == TE_RED_NONE)
		return 0;
	r = st->axes[pl->rd[pl->nrd - 1]].extent;
	q = st->axes[pl->rd[0]].extent;
	if (r < RF_MIN_EXTENT || r % lanes)
		return 0;
	for (int i = 0; i < pl->nsp; i++)
		outputs *= st->axes[pl->sp[i]].extent;
	few = outputs < (int64_t)s->threads * lanes;
	row = contiguous_in(st->body, pl->rd[pl->nrd - 1], &any) && any;
	if (!few && !row)
		return 0;
	if (!few || s->threads < 2 || q % s->threads ||
	    (pl->nrd == 1 && (q / s->threads) % lanes))
		return 2;
	return 3;
}

/* RF_ROWS's choices for stage pl->st: 0 (no knob) or RF_ROWS_CHOICES,
 * where RF is offered for a row reduction whose last spatial axis has
 * RF_ROWS_MIN rows or more. */
static int rf_rows_choices(const srch_space *s, const plan *pl)
{
	const te_stage *st = pl->st;
	bool any = false;

	if (!rf_choices(s, pl) || st->rank == 0 || st->axes[st->rank - 1].extent < RF_ROWS_MIN)
		return 0;
	return contiguous_in(st->body, pl->rd[pl->nrd - 1], &any) && any ? RF_ROWS_CHOICES : 0;
}

/* ---- building the space ---- */

static srch_knob *add_knob(srch_space *s, const te_stage *st, srch_knob_kind kind, srch_role role,
			   rt_error *err)
{
	srch_knob *k;

	if (!(k = srch_space_add_knob(s))) {
		rt_error_set(err, 0, 0, "%s: out of memory for the schedule space's knobs", st->name);
		return NULL;
	}
	k->kind = kind;
	k->role = role;
	k->stage = st->id;
	k->axis = -1;
	k->arg = -1;
	return k;
}

static int add_split(srch_space *s, const te_stage *st, int axis, int nparts, rt_error *err)
{
	srch_knob *k = add_knob(s, st, SRCH_SPLIT, SRCH_ROLE_SPLIT, err);
	const te_axis *a = &st->axes[axis];

	if (!k)
		return -1;
	k->axis = axis;
	k->nparts = nparts;
	k->extent = a->extent;
	k->nprods = s->target == CG_TARGET_HLS ? 1 : allowed_products(a->extent, k->prods);
	k->prods[0] = a->extent;
	for (int i = 0; i < k->nprods; i++)
		k->nvalues += count_tuples(k->prods[i], nparts);
	snprintf(k->name, sizeof(k->name), "%s.%s split", st->name, a->name);
	snprintf(k->key, sizeof(k->key), "%s.%s", st->name, a->name);
	return 0;
}

static int add_choice(srch_space *s, const te_stage *st, srch_role role, int nchoices, int arg,
		      const char *what, const char *key, rt_error *err)
{
	srch_knob *k = add_knob(s, st, SRCH_CHOICE, role, err);

	if (!k)
		return -1;
	k->nchoices = nchoices;
	k->nvalues = nchoices;
	k->arg = arg;
	snprintf(k->name, sizeof(k->name), "%s %s", st->name, what);
	snprintf(k->key, sizeof(k->key), "%s.%s", st->name, key);
	return 0;
}

/* The cache_read knobs of a reducing stage: one per input it reads, on
 * the first reducing stage that reads it (a second copy would need a
 * second scope). */
static int add_cache_reads(srch_space *s, const te_stage *st, rt_error *err)
{
	const te_graph *g = s->g;

	for (int t = 0; t < te_graph_nstages(g); t++) {
		const te_stage *in = te_graph_stage(g, t);
		char what[96], key[96];

		if ((in->kind != TE_STAGE_INPUT && s->target != CG_TARGET_HLS) ||
		    first_reducing_reader(g, s->target, t) != st->id)
			continue;
		snprintf(what, sizeof(what), "cache_read %s", in->name);
		snprintf(key, sizeof(key), "cr.%s", in->name);
		if (add_choice(s, st, SRCH_ROLE_CR, s->target == CG_TARGET_CPU ? 3 : 2, t, what, key, err))
			return -1;
		snprintf(what, sizeof(what), "partition %s.local", in->name);
		snprintf(key, sizeof(key), "part.%s", in->name);
		if (s->target == CG_TARGET_HLS && add_choice(s, st, SRCH_ROLE_PART, 3, t, what, key, err))
			return -1;
	}
	return 0;
}

/* Can stage st read tensor t through a DEINT copy (see the top): an input
 * it is the first reducing reader of, or an injective stage it alone
 * reads, read at a stride along st's last spatial axis? */
static bool deint_ok(const srch_space *s, const plan *pl, int t, int *dim, int64_t *stride)
{
	const te_stage *st = pl->st, *in = te_graph_stage(s->g, t);
	bool input = in->kind == TE_STAGE_INPUT, inj = in->kind == TE_STAGE_COMPUTE && in->nreduce == 0;

	if (s->target != CG_TARGET_CPU || !pl->reducing || pl->nsp == 0 || t == st->id || in->rank + 1 > SCH_MAX_PERM)
		return false;
	if (!(input && first_reducing_reader(s->g, s->target, t) == st->id) &&
	    !(inj && !in->is_output && only_consumer(s->g, t) == st->id))
		return false;
	/* D last: the de-interleaved copy's lanes are adjacent (another D would
	 * need a transposition too) */
	return deint_dim(st, t, pl->sp[pl->nsp - 1], dim, stride) && *dim == in->rank - 1;
}

static int add_deints(srch_space *s, const plan *pl, rt_error *err)
{
	for (int t = 0; t < te_graph_nstages(s->g); t++) {
		const char *name = te_graph_stage(s->g, t)->name;
		char what[96], key[96];
		int dim;
		int64_t stride;

		if (!deint_ok(s, pl, t, &dim, &stride))
			continue;
		snprintf(what, sizeof(what), "de-interleave %s", name);
		snprintf(key, sizeof(key), "deint.%s", name);
		if (add_choice(s, pl->st, SRCH_ROLE_DEINT, DEINT_CHOICES, t, what, key, err))
			return -1;
	}
	return 0;
}

static int add_placement(srch_space *s, const te_stage *st, rt_error *err)
{
	int c = only_consumer(s->g, st->id), n = 0;
	plan pc;

	if (st->is_output || c < 0)
		return 0;
	plan_axes(te_graph_stage(s->g, c), s->target, &pc);
	if (st->nreduce == 0)
		n = s->target == CG_TARGET_CPU && pc.nsp > 0 ? 3 : 2;
	else if (s->target == CG_TARGET_CPU && pc.nsp > 0)
		n = 2;
	return n ? add_choice(s, st, SRCH_ROLE_PLACE, n, c, "placement", "place", err) : 0;
}

static int add_stage(srch_space *s, const te_stage *st, rt_error *err)
{
	bool cpu = s->target == CG_TARGET_CPU;
	int rc = 0, nloops;
	plan pl;

	plan_axes(st, s->target, &pl);
	nloops = pl.ndsp + pl.ndrd + pl.nsp * pl.sparts + pl.nrd * pl.rparts;
	if (nloops > SCH_MAX_LOOPS)
		return rt_error_set(err, st->line, st->col,
				    "%s: too many loops to tile: %d spatial axes in %d parts and %d reduce axes in "
				    "%d make %d loops (at most %d)",
				    st->name, pl.nsp, pl.sparts, pl.nrd, pl.rparts, nloops, SCH_MAX_LOOPS);
	for (int i = 0; i < pl.nsp && !rc; i++)
		rc = add_split(s, st, pl.sp[i], pl.sparts, err);
	for (int i = 0; i < pl.nrd && !rc; i++)
		rc = add_split(s, st, pl.rd[i], pl.rparts, err);
	if (!rc && pl.reducing)
		rc = add_choice(s, st, SRCH_ROLE_ORDER, cpu ? 4 : s->target == CG_TARGET_HLS ? 3 : 2, -1, "reorder",
				"order", err);
	if (!rc && cpu && pl.nsp > 0)
		rc = add_choice(s, st, SRCH_ROLE_PAR, pl.nsp > 1 ? 3 : 2, -1, "parallel", "par", err);
	if (!rc && cpu && pl.nsp > 0)
		rc = add_choice(s, st, SRCH_ROLE_VEC, 2, -1, "vectorize", "vec", err);
	if (!rc && cpu && pl.reducing)
		rc = add_choice(s, st, SRCH_ROLE_UNROLL, pl.nsp > 1 ? 4 : pl.nsp > 0 ? 3 : 2, -1, "unroll",
				"unroll", err);
	if (!rc && s->target == CG_TARGET_CUDA && pl.nsp >= 2 && pl.nsp <= 3)
		rc = add_choice(s, st, SRCH_ROLE_BFUSE, 2, -1, "block fuse", "bfuse", err);
	if (!rc && s->target == CG_TARGET_HLS)
		rc = add_choice(s, st, SRCH_ROLE_PIPE, 2, -1, "pipeline", "pipe", err);
	if (!rc && s->target == CG_TARGET_HLS)
		rc = add_choice(s, st, SRCH_ROLE_II, 3, -1, "II", "ii", err);
	if (!rc && pl.reducing && pl.nsp > 0)
		rc = add_choice(s, st, SRCH_ROLE_CW, 2, -1, "cache_write", "cw", err);
	if (!rc && s->target == CG_TARGET_HLS && pl.reducing && pl.nsp > 0)
		rc = add_choice(s, st, SRCH_ROLE_PART, 3, -1, "partition of the output tile", "part", err);
	if (!rc && pl.reducing)
		rc = add_cache_reads(s, st, err);
	if (!rc)
		rc = add_deints(s, &pl, err);
	if (!rc && rf_choices(s, &pl))
		rc = add_choice(s, st, SRCH_ROLE_RF, rf_choices(s, &pl), -1, "rfactor", "rf", err);
	if (!rc && rf_rows_choices(s, &pl))
		rc = add_choice(s, st, SRCH_ROLE_RF_ROWS, rf_rows_choices(s, &pl), -1, "rfactor rows", "rfrows",
				err);
	if (!rc)
		rc = add_placement(s, st, err);
	return rc;
}

/* Make keys unique by priming later duplicates (a stage with an axis
 * named like a choice, e.g. "par"). */
static void unique_keys(srch_space *s)
{
	for (int i = 0; i < s->nknobs; i++)
		for (int j = 0; j < i; j++) {
			size_t n = strlen(s->knobs[i].key);

			if (strcmp(s->knobs[i].key, s->knobs[j].key))
				continue;
			if (n + 1 < sizeof(s->knobs[i].key)) {
				s->knobs[i].key[n] = '\'';
				s->knobs[i].key[n + 1] = '\0';
			}
			j = -1;
		}
}

srch_knob *srch_space_add_knob(srch_space *s)
{
	if (s->nknobs == s->cap_knobs) {
		int cap = s->cap_knobs ? 2 * s->cap_knobs : 16;
		srch_knob *k = realloc(s->knobs, (size_t)cap * sizeof(*k));

		if (!k)
			return NULL;
		s->knobs = k;
		s->cap_knobs = cap;
	}
	memset(&s->knobs[s->nknobs], 0, sizeof(s->knobs[0]));
	return &s->knobs[s->nknobs++];
}

void srch_space_release(srch_space *s)
{
	free(s->knobs);
	s->knobs = NULL;
	s->nknobs = s->cap_knobs = 0;
}

/* Give each knob its slots; a space past SRCH_MAX_SLOTS is refused at the
 * stage of the knob that overflows. */
static int assign_slots(srch_space *s, rt_error *err)
{
	for (int i = 0; i < s->nknobs; i++) {
		srch_knob *k = &s->knobs[i];
		int n = k->kind == SRCH_SPLIT ? k->nparts : 1;

		if (s->nslots + n > SRCH_MAX_SLOTS)
			return rt_error_set(err, 0, 0,
					    "%s: the schedule space needs more than SRCH_MAX_SLOTS (%d) values a "
					    "point (%d knobs before this stage's '%s'); tune a smaller graph",
					    te_graph_stage(s->g, k->stage)->name, SRCH_MAX_SLOTS, i, k->name);
		k->slot = s->nslots;
		s->nslots += n;
		s->log10_size += log10(k->nvalues);
	}
	return 0;
}

/* srch_space_init with `threads` threads of parallel loops. */
static int space_init(srch_space *s, const te_graph *g, cg_target_kind target, int threads, int vector_bits,
		      rt_error *err)
{
	memset(s, 0, sizeof(*s));
	s->g = g;
	s->target = target;
	s->vector_bits = vector_bits >= 128 ? vector_bits : RF_VECTOR_BITS;
	s->max_threads_per_block = 1024;
	s->max_shared_bytes = 48 * 1024;
	s->threads = threads > 0 ? threads : 1;
	for (int i = 0; i < te_graph_nstages(g); i++) {
		const te_stage *st = te_graph_stage(g, i);

		if (st->kind == TE_STAGE_COMPUTE && add_stage(s, st, err))
			return -1;
	}
	if (assign_slots(s, err))
		return -1;
	unique_keys(s);
	return 0;
}

int srch_space_init(srch_space *s, const te_graph *g, cg_target_kind target, rt_error *err)
{
	return space_init(s, g, target, (int)sysconf(_SC_NPROCESSORS_ONLN), 0, err);
}

int srch_space_init_for(srch_space *s, const te_graph *g, const cg_target *t, rt_error *err)
{
	if (space_init(s, g, t->kind, t->threads > 0 ? t->threads : (int)sysconf(_SC_NPROCESSORS_ONLN),
		       t->kind == CG_TARGET_CPU ? t->vector_bits : 0, err))
		return -1;
	if (t->max_threads_per_block > 0)
		s->max_threads_per_block = t->max_threads_per_block;
	if (t->max_shared_bytes > 0)
		s->max_shared_bytes = t->max_shared_bytes;
	return 0;
}

/* ---- reading a point ---- */

static int find_knob(const srch_space *s, int stage, srch_role role, int arg)
{
	for (int i = 0; i < s->nknobs; i++)
		if (s->knobs[i].stage == stage && s->knobs[i].role == role &&
		    (role == SRCH_ROLE_SPLIT ? s->knobs[i].axis : s->knobs[i].arg) == arg)
			return i;
	return -1;
}

/* The value of a choice knob, 0 when the stage has none. */
static int choice(const srch_space *s, const srch_point *p, int stage, srch_role role, int arg)
{
	int k = find_knob(s, stage, role, arg);

	return k < 0 ? 0 : (int)p->v[s->knobs[k].slot];
}

/* The factors of axis `axis` of `stage`. */
static const int64_t *factors(const srch_space *s, const srch_point *p, int stage, int axis)
{
	return &p->v[s->knobs[find_knob(s, stage, SRCH_ROLE_SPLIT, axis)].slot];
}

/* Is RF on for stage id? */
static bool rf_on(const srch_space *s, const srch_point *p, int id)
{
	return s->target == CG_TARGET_CPU && choice(s, p, id, SRCH_ROLE_RF, -1) > 0;
}

/* Does stage c read tensor t through a DEINT copy? */
static int deint_of(const srch_space *s, const srch_point *p, int c, int t)
{
	return c >= 0 && !rf_on(s, p, c) ? choice(s, p, c, SRCH_ROLE_DEINT, t) : 0;
}

/* Is injective stage `stage` kept at root by its consumer's DEINT copy? */
static bool deint_root(const srch_space *s, const srch_point *p, int stage)
{
	return deint_of(s, p, only_consumer(s->g, stage), stage) > 0;
}

static bool inlined(const srch_space *s, const srch_point *p, int stage)
{
	return te_graph_stage(s->g, stage)->nreduce == 0 &&
	       choice(s, p, stage, SRCH_ROLE_PLACE, only_consumer(s->g, stage)) == 1 && !deint_root(s, p, stage);
}

/* ---- validity ---- */

typedef struct ival {
	int64_t lo, hi;
	bool ok;
} ival;

/* The range of index expression e with axis a in [0, tile[a]). */
static ival range_of(const te_expr *e, const int64_t *tile)
{
	ival r = {0, 0, false}, a, b;

	if (e->op == TE_CONST)
		return (ival){e->c.i, e->c.i, true};
	if (e->op == TE_AXIS)
		return (ival){0, tile[e->index] - 1, true};
	if (e->nargs < 1 || e->nargs > 2)
		return r;
	a = range_of(e->args[0], tile);
	b = e->nargs > 1 ? range_of(e->args[1], tile) : a;
	if (!a.ok || !b.ok)
		return r;
	switch (e->op) {
	case TE_NEG:
		return (ival){-a.hi, -a.lo, true};
	case TE_CAST:
		return a;
	case TE_ADD:
		return (ival){a.lo + b.lo, a.hi + b.hi, true};
	case TE_SUB:
		return (ival){a.lo - b.hi, a.hi - b.lo, true};
	case TE_MIN:
		return (ival){a.lo < b.lo ? a.lo : b.lo, a.hi < b.hi ? a.hi : b.hi, true};
	case TE_MAX:
		return (ival){a.lo > b.lo ? a.lo : b.lo, a.hi > b.hi ? a.hi : b.hi, true};
	case TE_MUL: {
		int64_t c[4] = {a.lo * b.lo, a.lo * b.hi, a.hi * b.lo, a.hi * b.hi};

		r = (ival){c[0], c[0], true};
		for (int i = 1; i < 4; i++) {
			r.lo = c[i] < r.lo ? c[i] : r.lo;
			r.hi = c[i] > r.hi ? c[i] : r.hi;
		}
		return r;
	}
	case TE_DIV:
		if (b.lo == b.hi && b.lo > 0)
			return (ival){rt_floor_div(a.lo, b.lo), rt_floor_div(a.hi, b.lo), true};
		return r;
	case TE_MOD:
		if (b.lo == b.hi && b.lo > 0)
			return (ival){0, b.lo - 1, true};
		return r;
	default:
		return r;
	}
}

/* Hull of the elements of t that stage st reads within the tile. */
static void hull_loads(const te_expr *e, int t, const int64_t *tile, ival *box, bool *any)
{
	if (e->op == TE_LOAD && e->index == t) {
		for (int d = 0; d < e->nargs; d++) {
			ival r = range_of(e->args[d], tile);

			if (!r.ok || !box[d].ok) {
				box[d].ok = false;
			} else if (!*any) {
				box[d] = r;
			} else {
				box[d].lo = r.lo < box[d].lo ? r.lo : box[d].lo;
				box[d].hi = r.hi > box[d].hi ? r.hi : box[d].hi;
			}
		}
		*any = true;
	}
	for (int i = 0; i < e->nargs; i++)
		hull_loads(e->args[i], t, tile, box, any);
}

/* Bytes of the box of tensor t read by st within the tile (an upper bound). */
static int64_t footprint(const te_graph *g, const te_stage *st, int t, const int64_t *tile)
{
	const te_stage *in = te_graph_stage(g, t);
	ival box[TE_MAX_RANK];
	bool any = false;
	int64_t bytes = (int64_t)te_dtype_size(in->type);

	for (int d = 0; d < TE_MAX_RANK; d++)
		box[d] = (ival){0, 0, true};
	hull_loads(st->body, t, tile, box, &any);
	for (int d = 0; d < in->rank; d++) {
		int64_t w = box[d].ok ? box[d].hi - box[d].lo + 1 : in->shape[d];

		bytes *= w < in->shape[d] ? w : in->shape[d];
	}
	return bytes;
}

/* The target's limits for one GPU stage. */
static bool gpu_stage_valid(const srch_space *s, const srch_point *p, const plan *pl)
{
	int id = pl->st->id, order = choice(s, p, id, SRCH_ROLE_ORDER, -1);
	bool fused = pl->nsp > 3 || choice(s, p, id, SRCH_ROLE_BFUSE, -1);
	int64_t threads = 1, shared = 0, tile[TE_MAX_AXES];

	for (int i = 0; i < pl->nsp; i++) {
		const int64_t *f = factors(s, p, id, pl->sp[i]);
		int64_t blocks = (pl->st->axes[pl->sp[i]].extent + f[1] * f[2] * f[3] - 1) /
				 (f[1] * f[2] * f[3]);

		threads *= f[2];
		if (threads > s->max_threads_per_block)
			return false;
		if (!fused && i >= 1 && i <= 2 && blocks > GPU_MAX_GRID_YZ)
			return false;
	}
	if (pl->nsp >= 3 && factors(s, p, id, pl->sp[pl->nsp - 1])[2] > GPU_MAX_THREAD_Z)
		return false;
	if (order == 1 && choice(s, p, id, SRCH_ROLE_CW, -1))
		return false;
	if (order != 1)
		return true;
	for (int a = 0; a < pl->st->rank + pl->st->nreduce; a++)
		tile[a] = 1;
	for (int i = 0; i < pl->nsp; i++) {
		const int64_t *f = factors(s, p, id, pl->sp[i]);

		tile[pl->sp[i]] = f[2] * f[3];
	}
	for (int i = 0; i < pl->nrd; i++) {
		const int64_t *f = factors(s, p, id, pl->rd[i]);

		tile[pl->rd[i]] = f[1] * f[2];
	}
	for (int k = 0; k < s->nknobs; k++)
		if (s->knobs[k].stage == id && s->knobs[k].role == SRCH_ROLE_CR && p->v[s->knobs[k].slot])
			shared += footprint(s->g, pl->st, s->knobs[k].arg, tile);
	return shared <= s->max_shared_bytes;
}

static bool knob_value_ok(const srch_knob *k, const int64_t *v)
{
	const int64_t *prods;
	int nprods;
	int64_t prod = 1;

	if (k->kind == SRCH_CHOICE)
		return v[0] >= 0 && v[0] < k->nchoices;
	nprods = prods_of(k, &prods);
	for (int j = 0; j < k->nparts; j++) {
		if (v[j] < 1 || prod > prods[nprods - 1] / v[j])
			return false;
		prod *= v[j];
	}
	for (int i = 0; i < nprods; i++)
		if (prod == prods[i])
			return true;
	return false;
}

static bool hls_valid(const srch_space *s, const srch_point *p);
static bool cpu_valid(const srch_space *s, const srch_point *p);

bool srch_point_valid(const srch_space *s, const srch_point *p)
{
	for (int k = 0; k < s->nknobs; k++)
		if (!knob_value_ok(&s->knobs[k], &p->v[s->knobs[k].slot]))
			return false;
	if (!s->g) /* a space built by hand (tests/test_explore.c) has no stages to check */
		return true;
	if (s->target == CG_TARGET_HLS)
		return hls_valid(s, p);
	if (s->target == CG_TARGET_CPU)
		return cpu_valid(s, p);
	if (s->target != CG_TARGET_CUDA)
		return true;
	for (int i = 0; i < te_graph_nstages(s->g); i++) {
		const te_stage *st = te_graph_stage(s->g, i);
		plan pl;

		if (st->kind != TE_STAGE_COMPUTE || inlined(s, p, i))
			continue;
		plan_axes(st, s->target, &pl);
		if (!gpu_stage_valid(s, p, &pl))
			return false;
	}
	return true;
}

/* ---- points ---- */

void srch_point_default(const srch_space *s, srch_point *p)
{
	memset(p, 0, sizeof(*p));
	for (int i = 0; i < s->nknobs; i++) {
		const srch_knob *k = &s->knobs[i];

		if (k->kind == SRCH_CHOICE)
			continue;
		for (int j = 0; j < k->nparts; j++)
			p->v[k->slot + j] = 1;
		p->v[k->slot + (s->target == CG_TARGET_HLS ? 1 : k->nparts - 1)] = k->extent;
	}
}

/* Make a GPU point valid: one thread, one block, no caches; an HLS point:
 * nothing unrolled, the innermost loop pipelined; a CPU point: nothing
 * unrolled. */
static void repair(const srch_space *s, srch_point *p)
{
	for (int i = 0; s->target == CG_TARGET_CPU && i < s->nknobs; i++)
		if (s->knobs[i].role == SRCH_ROLE_UNROLL)
			p->v[s->knobs[i].slot] = 0;
	for (int i = 0; s->target == CG_TARGET_HLS && i < s->nknobs; i++) {
		const srch_knob *k = &s->knobs[i];
		int64_t *v = &p->v[k->slot];

		if (k->kind == SRCH_SPLIT) {
			v[1] *= v[2];
			v[2] = 1;
		} else if (k->role == SRCH_ROLE_PIPE) {
			v[0] = 0;
		}
	}
	for (int i = 0; s->target == CG_TARGET_CUDA && i < s->nknobs; i++) {
		const srch_knob *k = &s->knobs[i];
		int64_t *v = &p->v[k->slot];

		if (k->role == SRCH_ROLE_CW || k->role == SRCH_ROLE_CR)
			v[0] = 0;
		if (k->kind == SRCH_SPLIT && k->nparts == 4 && k->axis < te_graph_stage(s->g, k->stage)->rank) {
			v[1] *= v[0];
			v[3] *= v[2];
			v[0] = v[2] = 1;
		}
	}
}

void srch_point_random(const srch_space *s, uint64_t *rng, srch_point *p)
{
	for (int tries = 0; tries < RANDOM_TRIES; tries++) {
		memset(p, 0, sizeof(*p));
		for (int i = 0; i < s->nknobs; i++) {
			const srch_knob *k = &s->knobs[i];

			if (k->kind == SRCH_SPLIT)
				random_split(k, rng, &p->v[k->slot]);
			else
				p->v[k->slot] = below(rng, k->nchoices);
		}
		if (srch_point_valid(s, p))
			return;
	}
	repair(s, p);
}

int srch_space_ndirs(const srch_space *s)
{
	int n = 0;

	for (int i = 0; i < s->nknobs; i++)
		n += s->knobs[i].kind == SRCH_SPLIT ? s->knobs[i].nparts * (s->knobs[i].nparts - 1) : 2;
	return n;
}

srch_dir srch_space_dir(const srch_space *s, int i)
{
	for (int k = 0; k < s->nknobs && i >= 0; k++) {
		const srch_knob *kn = &s->knobs[k];
		int n = kn->kind == SRCH_SPLIT ? kn->nparts * (kn->nparts - 1) : 2;

		if (i >= n) {
			i -= n;
			continue;
		}
		if (kn->kind == SRCH_CHOICE)
			return (srch_dir){k, 0, i == 0 ? 1 : -1};
		{
			int from = i / (kn->nparts - 1), t = i % (kn->nparts - 1);

			return (srch_dir){k, from, t < from ? t : t + 1};
		}
	}
	return (srch_dir){-1, 0, 0};
}

bool srch_point_move(const srch_space *s, const srch_point *p, srch_dir d, srch_point *q)
{
	const srch_knob *k;
	int64_t *v;

	*q = *p;
	if (d.knob < 0 || d.knob >= s->nknobs)
		return false;
	k = &s->knobs[d.knob];
	v = &q->v[k->slot];
	if (k->kind == SRCH_CHOICE) {
		if ((d.to != 1 && d.to != -1) || v[0] + d.to < 0 || v[0] + d.to >= k->nchoices)
			return false;
		v[0] += d.to;
	} else {
		int64_t f;

		if (d.from < 0 || d.to < 0 || d.from >= k->nparts || d.to >= k->nparts ||
		    d.from == d.to || v[d.from] <= 1)
			return false;
		f = smallest_prime(v[d.from]);
		v[d.from] /= f;
		v[d.to] *= f;
	}
	if (!srch_point_valid(s, q)) {
		*q = *p;
		return false;
	}
	return true;
}

/* ---- schedule text ---- */

/* Loop name of part j of d of axis `name`: x.o, x.i.o, x.i.i.o, x.i.i.i. */
static void part_name(const char *name, int d, int j, char out[SCH_MAX_NAME])
{
	size_t n = (size_t)snprintf(out, SCH_MAX_NAME, "%s", name);

	for (int t = 0; t < j && n + 3 < SCH_MAX_NAME; t++)
		n += (size_t)snprintf(out + n, SCH_MAX_NAME - n, ".i");
	if (j < d - 1 && n + 3 < SCH_MAX_NAME)
		snprintf(out + n, SCH_MAX_NAME - n, ".o");
}

static void axis_part(const plan *pl, int axis, int j, char out[SCH_MAX_NAME])
{
	bool red = axis >= pl->st->rank;

	part_name(pl->st->axes[axis].name, red ? pl->rparts : pl->sparts, j, out);
}

/* A stage's loop nest, outermost first. */
typedef struct nest {
	int n;
	char name[SCH_MAX_LOOPS][SCH_MAX_NAME];
	int group[SCH_MAX_LOOPS];
	int axis[SCH_MAX_LOOPS];    /* the stage's axis the loop is a part of */
	int part[SCH_MAX_LOOPS];    /* which part (-1: an unsplit axis of extent 1) */
	int64_t ext[SCH_MAX_LOOPS]; /* its extent */
} nest;

static void nest_add(nest *ns, const char *name, int group, int axis, int part, int64_t ext)
{
	snprintf(ns->name[ns->n], SCH_MAX_NAME, "%s", name);
	ns->axis[ns->n] = axis;
	ns->part[ns->n] = part;
	ns->ext[ns->n] = ext;
	ns->group[ns->n++] = group;
}

static void build_nest(const plan *pl, const srch_space *s, const srch_point *p, int order, nest *ns)
{
	const int *groups;
	int ng;
	static const int plain[4] = {G_S0, G_S1, G_S2, G_S3};
	bool dr_done = false;
	char nm[SCH_MAX_NAME];

	ns->n = 0;
	if (pl->reducing) {
		groups = s->target == CG_TARGET_CPU ? cpu_orders[order]
			 : s->target == CG_TARGET_HLS ? hls_orders[order] : gpu_orders[order];
		ng = s->target == CG_TARGET_HLS ? 6 : 7;
	} else {
		groups = plain;
		ng = pl->sparts;
	}
	for (int i = 0; i < pl->ndsp; i++)
		nest_add(ns, pl->st->axes[pl->dsp[i]].name, G_DS, pl->dsp[i], -1, 1);
	for (int gi = 0; gi < ng; gi++) {
		int g = groups[gi];

		if (g >= G_R0 && !dr_done) {
			for (int i = 0; i < pl->ndrd; i++)
				nest_add(ns, pl->st->axes[pl->drd[i]].name, G_DR, pl->drd[i], -1, 1);
			dr_done = true;
		}
		for (int i = 0; i < (g < G_R0 ? pl->nsp : pl->nrd); i++) {
			int axis = g < G_R0 ? pl->sp[i] : pl->rd[i], part = g < G_R0 ? g - G_S0 : g - G_R0;

			axis_part(pl, axis, part, nm);
			nest_add(ns, nm, g, axis, part, factors(s, p, pl->st->id, axis)[part]);
		}
	}
	for (int i = 0; i < pl->ndrd && !dr_done; i++)
		nest_add(ns, pl->st->axes[pl->drd[i]].name, G_DR, pl->drd[i], -1, 1);
}

static int nest_find(const nest *ns, const char *name)
{
	for (int i = 0; i < ns->n; i++)
		if (!strcmp(ns->name[i], name))
			return i;
	return -1;
}

/* fuse loops i and i+1 of the nest. */
static void nest_fuse(nest *ns, int i, const char *stage, rt_buf *b)
{
	size_t la = strlen(ns->name[i]), lb = strlen(ns->name[i + 1]);

	rt_buf_printf(b, "fuse %s %s %s\n", stage, ns->name[i], ns->name[i + 1]);
	if (la + 1 + lb >= SCH_MAX_NAME) /* sch_stage_loops refuses it too */
		lb = la + 1 < SCH_MAX_NAME ? SCH_MAX_NAME - la - 2 : 0;
	if (la + 1 < SCH_MAX_NAME) {
		ns->name[i][la] = '+';
		memcpy(ns->name[i] + la + 1, ns->name[i + 1], lb);
		ns->name[i][la + 1 + lb] = '\0';
	}
	memmove(&ns->name[i + 1], &ns->name[i + 2], (size_t)(ns->n - i - 2) * sizeof(ns->name[0]));
	memmove(&ns->group[i + 1], &ns->group[i + 2], (size_t)(ns->n - i - 2) * sizeof(ns->group[0]));
	ns->ext[i] *= ns->ext[i + 1];
	memmove(&ns->ext[i + 1], &ns->ext[i + 2], (size_t)(ns->n - i - 2) * sizeof(ns->ext[0]));
	memmove(&ns->axis[i + 1], &ns->axis[i + 2], (size_t)(ns->n - i - 2) * sizeof(ns->axis[0]));
	memmove(&ns->part[i + 1], &ns->part[i + 2], (size_t)(ns->n - i - 2) * sizeof(ns->part[0]));
	ns->n--;
}

/* The loop just outside the first reduce loop, or NULL. */
static const char *before_reduce(const nest *ns)
{
	for (int i = 0; i < ns->n; i++)
		if ((ns->group[i] >= G_R0 && ns->group[i] <= G_R2) || ns->group[i] == G_DR)
			return i > 0 ? ns->name[i - 1] : NULL;
	return NULL;
}

/* split steps, then the reorder into the chosen nest. */
static void emit_tiling(const srch_space *s, const srch_point *p, const plan *pl, nest *ns, rt_buf *b)
{
	const char *nm = pl->st->name;
	char loop[SCH_MAX_NAME];

	for (int i = 0; i < pl->nsp + pl->nrd; i++) {
		int axis = i < pl->nsp ? pl->sp[i] : pl->rd[i - pl->nsp];
		const srch_knob *k = &s->knobs[find_knob(s, pl->st->id, SRCH_ROLE_SPLIT, axis)];
		const int64_t *f = &p->v[k->slot];
		int64_t inner = 1;

		for (int j = 1; j < k->nparts; j++)
			inner *= f[j];
		for (int j = 0; j + 1 < k->nparts; j++) {
			axis_part(pl, axis, j, loop);
			loop[strlen(loop) - 2] = '\0'; /* x.i...i.o -> the loop being split */
			rt_buf_printf(b, "split %s %s %lld\n", nm, loop, (long long)inner);
			inner /= f[j + 1];
		}
	}
	build_nest(pl, s, p, choice(s, p, pl->st->id, SRCH_ROLE_ORDER, -1), ns);
	if (ns->n < 2)
		return;
	rt_buf_printf(b, "reorder %s", nm);
	for (int i = 0; i < ns->n; i++)
		rt_buf_printf(b, " %s", ns->name[i]);
	rt_buf_printf(b, "\n");
}

/* The last loop of group S0 in the nest (after any fuse), or -1. */
static int last_s0(const nest *ns)
{
	int at = -1;

	for (int i = 0; i < ns->n; i++)
		if (ns->group[i] == G_S0)
			at = i;
	return at;
}

/* The loops the CPU's UNROLL choice `unroll` unrolls (names into out,
 * TE_MAX_RANK + 1 at most): their number. */
static int cpu_unrolled(const plan *pl, int unroll, char out[][SCH_MAX_NAME])
{
	int n = 0;

	if (unroll == 1 || unroll == 2)
		axis_part(pl, pl->rd[pl->nrd - 1], 2, out[n++]);
	if (unroll == 2)
		axis_part(pl, pl->sp[pl->nsp - 1], 2, out[n++]);
	for (int i = 0; unroll == 3 && i + 1 < pl->nsp; i++)
		axis_part(pl, pl->sp[i], pl->sparts - 1, out[n++]);
	return n;
}

/* Does every stage's body unroll into at most LIR_MAX_UNROLL copies (the
 * product of its unrolled loops' trip counts), which lowering refuses to
 * pass?  The stages computed inside another sit outside its unrolled
 * loops (PLACE 2 is at the consumer's first S1 loop), so each stage's own
 * loops are the whole product. */
static bool cpu_valid(const srch_space *s, const srch_point *p)
{
	for (int i = 0; i < te_graph_nstages(s->g); i++) {
		const te_stage *st = te_graph_stage(s->g, i);
		char unrolled[TE_MAX_RANK + 1][SCH_MAX_NAME];
		int64_t copies = 1;
		int nun;
		nest ns;
		plan pl;

		if (st->kind != TE_STAGE_COMPUTE || inlined(s, p, i) || rf_on(s, p, i)) /* RF: no unrolling */
			continue;
		plan_axes(st, s->target, &pl);
		nun = cpu_unrolled(&pl, choice(s, p, i, SRCH_ROLE_UNROLL, -1), unrolled);
		if (nun == 0)
			continue;
		build_nest(&pl, s, p, choice(s, p, i, SRCH_ROLE_ORDER, -1), &ns);
		for (int k = 0; k < nun; k++) {
			int at = nest_find(&ns, unrolled[k]);

			copies *= at >= 0 ? ns.ext[at] : 1;
			if (copies > LIR_MAX_UNROLL)
				return false;
		}
	}
	return true;
}

/* The DEINT copies of stage pl->st (see the top). */
static void emit_deints(const srch_space *s, const srch_point *p, const plan *pl, const nest *ns, rt_buf *b)
{
	for (int k = 0; k < s->nknobs; k++) {
		const srch_knob *kn = &s->knobs[k];
		const te_stage *t = kn->stage == pl->st->id && kn->role == SRCH_ROLE_DEINT && p->v[kn->slot]
				    ? te_graph_stage(s->g, kn->arg) : NULL;
		char loop[SCH_MAX_NAME];
		int dim;
		int64_t stride;

		if (!t || !deint_ok(s, pl, kn->arg, &dim, &stride) || ns->n == 0)
			continue;
		if (p->v[kn->slot] == 1)
			snprintf(loop, sizeof(loop), "%s", ns->name[0]);
		else
			axis_part(pl, pl->rd[0], 0, loop);
		rt_buf_printf(b, "cache_read %s %s %s stack block=%d:%lld perm=", t->name, pl->st->name, loop, dim,
			      (long long)stride);
		/* the blocked copy's dimensions: T's, D / k in D's place, D % k
		 * last; stored with D % k just before D / k */
		for (int d = 0; d < t->rank; d++) {
			if (d == dim)
				rt_buf_printf(b, "%d,", t->rank);
			rt_buf_printf(b, "%d%s", d, d + 1 < t->rank ? "," : "\n");
		}
	}
}

static void emit_cpu(const srch_space *s, const srch_point *p, const plan *pl, nest *ns, rt_buf *b)
{
	const char *nm = pl->st->name;
	int id = pl->st->id, par = choice(s, p, id, SRCH_ROLE_PAR, -1);
	char loop[SCH_MAX_NAME], unrolled[TE_MAX_RANK + 1][SCH_MAX_NAME];
	int nun = cpu_unrolled(pl, choice(s, p, id, SRCH_ROLE_UNROLL, -1), unrolled);
	const char *at;

	if (par) {
		int i;

		axis_part(pl, pl->sp[0], 0, loop);
		i = nest_find(ns, loop);
		if (par == 2)
			nest_fuse(ns, i, nm, b);
		rt_buf_printf(b, "parallel %s %s\n", nm, ns->name[i]);
	}
	if (choice(s, p, id, SRCH_ROLE_VEC, -1)) {
		axis_part(pl, pl->sp[pl->nsp - 1], pl->sparts - 1, loop);
		rt_buf_printf(b, "vectorize %s %s\n", nm, loop);
	}
	for (int i = 0; i < nun; i++)
		rt_buf_printf(b, "unroll %s %s\n", nm, unrolled[i]);
	if (choice(s, p, id, SRCH_ROLE_CW, -1) && (at = before_reduce(ns)))
		rt_buf_printf(b, "cache_write %s %s local\n", nm, at);
	for (int k = 0; k < s->nknobs; k++)
		if (s->knobs[k].stage == id && s->knobs[k].role == SRCH_ROLE_CR && p->v[s->knobs[k].slot] &&
		    !deint_of(s, p, id, s->knobs[k].arg)) {
			axis_part(pl, pl->rd[0], 0, loop);
			if (p->v[s->knobs[k].slot] == 2 && last_s0(ns) >= 0)
				snprintf(loop, sizeof(loop), "%s", ns->name[last_s0(ns)]);
			rt_buf_printf(b, "cache_read %s %s %s stack\n", te_graph_stage(s->g, s->knobs[k].arg)->name, nm,
			    loop);
		}
	emit_deints(s, p, pl, ns, b);
}

/* Fuse `count` consecutive loops of group g starting at its first. */
static void fuse_group(nest *ns, int g, int count, const char *stage, rt_buf *b)
{
	int i = 0;

	while (i < ns->n && ns->group[i] != g)
		i++;
	for (int t = 1; t < count && i + 1 < ns->n; t++)
		nest_fuse(ns, i, stage, b);
}

/* bind the loops of group g to what.x, what.y, what.z (at most three). */
static void bind_group(const nest *ns, int g, const char *what, const char *stage, rt_buf *b)
{
	static const char xyz[3] = {'x', 'y', 'z'};
	int dim = 0;

	for (int i = 0; i < ns->n && dim < 3; i++)
		if (ns->group[i] == g)
			rt_buf_printf(b, "bind %s %s %s.%c\n", stage, ns->name[i], what, xyz[dim++]);
}

static void emit_gpu(const srch_space *s, const srch_point *p, const plan *pl, nest *ns, rt_buf *b)
{
	const char *nm = pl->st->name;
	int id = pl->st->id, order = choice(s, p, id, SRCH_ROLE_ORDER, -1);
	char loop[SCH_MAX_NAME];
	const char *at;

	if (pl->nsp > 3 || choice(s, p, id, SRCH_ROLE_BFUSE, -1))
		fuse_group(ns, G_S0, pl->nsp, nm, b);
	if (pl->nsp > 3)
		fuse_group(ns, G_S2, pl->nsp - 2, nm, b);
	bind_group(ns, G_S0, "blockIdx", nm, b);
	for (int i = 0; i < ns->n; i++)
		if (ns->group[i] == G_S1)
			rt_buf_printf(b, "bind %s %s vthread\n", nm, ns->name[i]);
	bind_group(ns, G_S2, "threadIdx", nm, b);
	if (choice(s, p, id, SRCH_ROLE_CW, -1) && (at = before_reduce(ns)))
		rt_buf_printf(b, "cache_write %s %s local\n", nm, at);
	for (int k = 0; k < s->nknobs; k++)
		if (s->knobs[k].stage == id && s->knobs[k].role == SRCH_ROLE_CR && p->v[s->knobs[k].slot]) {
			axis_part(pl, pl->rd[pl->nrd - 1], 0, loop);
			rt_buf_printf(b, "cache_read %s %s %s %s\n", te_graph_stage(s->g, s->knobs[k].arg)->name, nm,
			    loop, order == 1 ? "shared" : "local");
		}
}

/* ---- HLS ---- */

/* The last loop of group g in the nest, or -1. */
static int last_of(const nest *ns, int g)
{
	int at = -1;

	for (int i = 0; i < ns->n; i++)
		if (ns->group[i] == g)
			at = i;
	return at;
}

/* Where the stage's output tile is cached (cache_write), or -1. */
static int hls_cw_pos(const srch_space *s, const srch_point *p, const plan *pl, const nest *ns)
{
	return pl->nsp > 0 && choice(s, p, pl->st->id, SRCH_ROLE_CW, -1) ? last_of(ns, G_S0) : -1;
}

/* Is knob k a cache_read the schedule makes: chosen, of a tensor the stage
 * reads directly that is not inlined, or read through a producer that is? */
static bool hls_cr_on(const srch_space *s, const srch_point *p, const plan *pl, int k)
{
	const srch_knob *kn = &s->knobs[k];
	int t = kn->arg, via;

	if (kn->stage != pl->st->id || kn->role != SRCH_ROLE_CR || !p->v[kn->slot])
		return false;
	if (reads(pl->st->body, t))
		return te_graph_stage(s->g, t)->kind == TE_STAGE_INPUT || !inlined(s, p, t);
	via = via_producer(s->g, pl->st, t);
	return via >= 0 && inlined(s, p, via);
}

/* Where the stage's inputs are cached (cache_read), or -1 when none is. */
static int hls_cr_pos(const srch_space *s, const srch_point *p, const plan *pl, const nest *ns)
{
	for (int k = 0; k < s->nknobs; k++)
		if (hls_cr_on(s, p, pl, k))
			return last_of(ns, G_R0);
	return -1;
}

/* The position of the pipelined loop in the nest, or -1: a loop of extent
 * > 1 outside the unrolled groups and inside every cache's loop, the
 * innermost (PIPE 0) or the next one out (PIPE 1). */
static int hls_pipe_pos(const srch_space *s, const srch_point *p, const plan *pl, const nest *ns)
{
	int cw = hls_cw_pos(s, p, pl, ns), cr = hls_cr_pos(s, p, pl, ns), n = 0, cand[SCH_MAX_LOOPS];

	for (int i = (cw > cr ? cw : cr) + 1; i < ns->n; i++)
		if (ns->group[i] != G_S2 && ns->group[i] != G_R2 && ns->ext[i] > 1)
			cand[n++] = i;
	if (n == 0)
		return -1;
	return choice(s, p, pl->st->id, SRCH_ROLE_PIPE, -1) && n > 1 ? cand[n - 2] : cand[n - 1];
}

/* Is loop i unrolled: inside the pipelined loop, or (none) an S2/R2 part? */
static bool hls_unrolled(const nest *ns, int pipe, int i)
{
	return pipe >= 0 ? i > pipe : ns->group[i] == G_S2 || ns->group[i] == G_R2;
}

/* Copies of the stage's unrolled body (saturating past the limit). */
static int64_t hls_copies(const nest *ns, int pipe)
{
	int64_t c = 1;

	for (int i = 0; i < ns->n; i++)
		if (hls_unrolled(ns, pipe, i))
			c = c > SRCH_HLS_MAX_UNROLL ? c : c * ns->ext[i];
	return c;
}

static bool hls_valid(const srch_space *s, const srch_point *p)
{
	for (int i = 0; i < te_graph_nstages(s->g); i++) {
		const te_stage *st = te_graph_stage(s->g, i);
		nest ns;
		plan pl;

		if (st->kind != TE_STAGE_COMPUTE || inlined(s, p, i))
			continue;
		plan_axes(st, s->target, &pl);
		build_nest(&pl, s, p, choice(s, p, i, SRCH_ROLE_ORDER, -1), &ns);
		if (hls_copies(&ns, hls_pipe_pos(s, p, &pl, &ns)) > SRCH_HLS_MAX_UNROLL)
			return false;
	}
	return true;
}

/* The value of index expression e at axis values ax; false when it is not
 * an integer expression of the axes. */
static bool index_value(const te_expr *e, const int64_t *ax, int64_t *out)
{
	int64_t a, b;

	switch (e->op) {
	case TE_CONST:
		*out = e->c.i;
		return true;
	case TE_AXIS:
		*out = ax[e->index];
		return true;
	case TE_NEG:
		return index_value(e->args[0], ax, &a) && (*out = -a, true);
	default:
		break;
	}
	if (e->nargs != 2 || !index_value(e->args[0], ax, &a) || !index_value(e->args[1], ax, &b))
		return false;
	switch (e->op) {
	case TE_ADD: *out = a + b; return true;
	case TE_SUB: *out = a - b; return true;
	case TE_MUL: *out = a * b; return true;
	case TE_DIV: *out = b > 0 ? rt_floor_div(a, b) : 0; return b > 0;
	case TE_MOD: *out = b > 0 ? rt_floor_mod(a, b) : 0; return b > 0;
	case TE_MIN: *out = a < b ? a : b; return true;
	case TE_MAX: *out = a > b ? a : b; return true;
	default: return false;
	}
}

/* The direct loads of tensor t in e, at most max, into out. */
static int loads_of(const te_expr *e, int t, const te_expr **out, int n, int max)
{
	if (e->op == TE_LOAD && e->index == t && n < max)
		out[n++] = e;
	for (int i = 0; i < e->nargs; i++)
		n = loads_of(e->args[i], t, out, n, max);
	return n;
}

#define HLS_LOADS 8
#define HLS_MAX_BANKS 4096 /* the model's (and Vitis's) limit on one array's banks */

/* An HLS cache: the buffer of tensor t (-1: the stage's output tile)
 * attached at nest position `at`, its box, and the flat offsets of the
 * unrolled copies' accesses to it. */
typedef struct hls_cache {
	int64_t width[TE_MAX_RANK], size;
	int64_t *off;
	int noff;
} hls_cache;

/* Extent of each axis inside nest position `at` (the tile of a cache). */
static void tile_at(const nest *ns, int at, int64_t *tile)
{
	for (int a = 0; a < TE_MAX_AXES; a++)
		tile[a] = 1;
	for (int i = at + 1; i < ns->n; i++)
		tile[ns->axis[i]] *= ns->ext[i];
}

/* The box of cache c: the output tile, or the hull of t's loads. */
static int cache_box(const plan *pl, const te_graph *g, int t, const int64_t *tile, hls_cache *c,
		     const te_expr **ld, int nld)
{
	const te_stage *tt = t < 0 ? pl->st : te_graph_stage(g, t);

	c->size = 1;
	for (int d = 0; d < tt->rank; d++) {
		int64_t w = t < 0 ? tile[d] : 0;

		for (int l = 0; l < nld && t >= 0; l++) {
			ival r = range_of(ld[l]->args[d], tile);

			w = r.ok && r.hi - r.lo + 1 > w ? r.hi - r.lo + 1 : r.ok ? w : tt->shape[d];
		}
		c->width[d] = w < 1 ? 1 : w > tt->shape[d] ? tt->shape[d] : w;
		c->size *= c->width[d];
	}
	return tt->rank;
}

/* The flat offset in cache c of the access at axis values ax (x0: at 0). */
static bool flat_offset(const plan *pl, int rank, int t, const hls_cache *c, const te_expr *ld,
			const int64_t *ax, const int64_t *x0, int64_t *out)
{
	int64_t off = 0;

	for (int d = 0; d < rank; d++) {
		int64_t v = ax[d], v0 = 0;

		if (t >= 0 && (!index_value(ld->args[d], ax, &v) || !index_value(ld->args[d], x0, &v0)))
			return false;
		off = off * c->width[d] + (v - v0);
	}
	(void)pl;
	*out = off;
	return true;
}

/* The offsets of the unrolled copies (mixed-radix over the unrolled
 * loops) into c->off; false when there are too many. */
static bool cache_offsets(const srch_space *s, const srch_point *p, const plan *pl, const nest *ns, int pipe,
			  int t, hls_cache *c, const te_expr **ld, int nld, int rank)
{
	int un[SCH_MAX_LOOPS], nu = 0;
	int64_t cnt[SCH_MAX_LOOPS] = {0}, ax[TE_MAX_AXES] = {0}, x0[TE_MAX_AXES] = {0};
	int64_t copies = hls_copies(ns, pipe), stride[SCH_MAX_LOOPS];

	if (copies > SRCH_HLS_MAX_UNROLL || !(c->off = malloc((size_t)(copies * (nld ? nld : 1)) * sizeof(int64_t))))
		return false;
	for (int i = 0; i < ns->n; i++)
		if (hls_unrolled(ns, pipe, i) && ns->part[i] >= 0) {
			const int64_t *f = factors(s, p, pl->st->id, ns->axis[i]);
			int np = ns->axis[i] < pl->st->rank ? pl->sparts : pl->rparts;

			stride[nu] = 1;
			for (int j = ns->part[i] + 1; j < np; j++)
				stride[nu] *= f[j];
			un[nu++] = i;
		}
	for (;;) {
		for (int l = 0; l < (nld ? nld : 1); l++)
			if (flat_offset(pl, rank, t, c, nld ? ld[l] : NULL, ax, x0, &c->off[c->noff]))
				c->noff++;
		int k = nu - 1;

		while (k >= 0 && ++cnt[k] == ns->ext[un[k]]) {
			ax[ns->axis[un[k]]] -= (cnt[k] - 1) * stride[k];
			cnt[k--] = 0;
		}
		if (k < 0)
			return true;
		ax[ns->axis[un[k]]] += stride[k];
	}
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* The fewest cyclic banks (up to `size`, then complete: 0) such that the
 * distinct offsets, `weight` accesses each, need at most 2 accesses of a
 * bank; 1 when one bank does. */
static int64_t fewest_banks(int64_t *off, int n, int weight, int64_t size)
{
	int64_t *r = malloc((size_t)(n ? n : 1) * sizeof(*r));
	int m = 0, per = 2 / weight;

	if (!r)
		return 0;
	qsort(off, (size_t)n, sizeof(*off), cmp_i64);
	for (int i = 0; i < n; i++)
		if (i == 0 || off[i] != off[i - 1])
			off[m++] = off[i];
	for (int64_t f = (m + per - 1) / per; f >= 1 && f < size && f <= 8 * (int64_t)m; f++) {
		int worst = 0, run = 0;

		for (int i = 0; i < m; i++)
			r[i] = ((off[i] % f) + f) % f;
		qsort(r, (size_t)m, sizeof(*r), cmp_i64);
		for (int i = 0; i < m; i++) {
			run = i > 0 && r[i] == r[i - 1] ? run + 1 : 1;
			worst = run > worst ? run : worst;
		}
		if (worst <= per) {
			free(r);
			return f;
		}
	}
	free(r);
	return 0;
}

/* The partition step of cache `name` (of tensor t, -1: the output tile). */
static void emit_partition(const srch_space *s, const srch_point *p, const plan *pl, const nest *ns, int pipe,
			   int at, int t, const char *name, rt_buf *b)
{
	const te_expr *ld[HLS_LOADS];
	int nld = t < 0 ? 0 : loads_of(pl->st->body, t, ld, 0, HLS_LOADS), v = choice(s, p, pl->st->id, SRCH_ROLE_PART, t);
	int64_t tile[TE_MAX_AXES], f = 0;
	hls_cache c = {{0}, 0, NULL, 0};
	int rank;

	if (v == 0)
		return;
	tile_at(ns, at, tile);
	rank = cache_box(pl, s->g, t, tile, &c, ld, nld);
	if (v == 1 && (t < 0 || nld > 0) && cache_offsets(s, p, pl, ns, pipe, t, &c, ld, nld, rank))
		f = fewest_banks(c.off, c.noff, t < 0 ? 2 : 1, c.size);
	else if (v == 1)
		f = hls_copies(ns, pipe);
	free(c.off);
	if (v == 2 && c.size > HLS_MAX_BANKS) /* too big for registers: as many banks as allowed */
		f = HLS_MAX_BANKS;
	if ((v == 2 || f == 0 || f >= c.size) && c.size <= HLS_MAX_BANKS)
		rt_buf_printf(b, "partition %s complete\n", name);
	else if (f > 1 || f == 0)
		rt_buf_printf(b, "partition %s cyclic %lld\n", name, (long long)(f > 1 && f < HLS_MAX_BANKS ? f : HLS_MAX_BANKS));
}

/* The loops of a cache stage of the given rank fused into one, pipelined. */
static void emit_copy_loops(const char *name, int rank, rt_buf *b)
{
	char cur[SCH_MAX_NAME] = "d0";

	for (int d = 1; d < rank; d++) {
		size_t n = strlen(cur);

		rt_buf_printf(b, "fuse %s %s d%d\n", name, cur, d);
		snprintf(cur + n, sizeof(cur) - n, "+d%d", d);
	}
	rt_buf_printf(b, "pipeline %s %s\n", name, cur);
}

static void emit_hls(const srch_space *s, const srch_point *p, const plan *pl, nest *ns, rt_buf *b)
{
	const char *nm = pl->st->name;
	int id = pl->st->id, pipe = hls_pipe_pos(s, p, pl, ns), ii = hls_ii[choice(s, p, id, SRCH_ROLE_II, -1)];
	int cw = hls_cw_pos(s, p, pl, ns), cr = hls_cr_pos(s, p, pl, ns);
	char name[2 * SCH_MAX_NAME];

	if (pipe >= 0 && ii > 1)
		rt_buf_printf(b, "pipeline %s %s %d\n", nm, ns->name[pipe], ii);
	else if (pipe >= 0)
		rt_buf_printf(b, "pipeline %s %s\n", nm, ns->name[pipe]);
	for (int i = 0; i < ns->n; i++)
		if (hls_unrolled(ns, pipe, i))
			rt_buf_printf(b, "unroll %s %s\n", nm, ns->name[i]);
	if (cw >= 0) {
		snprintf(name, sizeof(name), "%s.local", nm);
		rt_buf_printf(b, "cache_write %s %s local\n", nm, ns->name[cw]);
		emit_copy_loops(name, pl->st->rank, b);
		emit_partition(s, p, pl, ns, pipe, cw, -1, name, b);
	}
	for (int k = 0; k < s->nknobs && cr >= 0; k++) {
		const te_stage *t;

		if (!hls_cr_on(s, p, pl, k))
			continue;
		t = te_graph_stage(s->g, s->knobs[k].arg);
		snprintf(name, sizeof(name), "%s.local", t->name);
		rt_buf_printf(b, "cache_read %s %s %s local\n", t->name, nm, ns->name[cr]);
		emit_copy_loops(name, t->rank, b);
		emit_partition(s, p, pl, ns, pipe, cr, t->id, name, b);
	}
}

/* "NAME" with "SUFFIX" appended into out. */
static void named(char out[SCH_MAX_NAME], const char *name, const char *suffix)
{
	snprintf(out, SCH_MAX_NAME, "%s%s", name, suffix);
}

/* RF's vector part on stage `st` (S or S.rf) whose reduce loops are
 * red[0..nred) (the last, `r`, long): split, rfactor into st.rf, the
 * lanes innermost, parallel `par` (NULL: none), cache_write at `cw`
 * (NULL: none), vectorize.  `lead` (NULL: none) goes outermost; sp are
 * the spatial loops. */
static void emit_rf_lanes(rt_buf *b, const char *st, int nlanes, char sp[][SCH_MAX_NAME], int nsp,
			  const char *lead, char red[][SCH_MAX_NAME], int nred, const char *par, const char *cw)
{
	char rf[SCH_MAX_NAME], lanes[SCH_MAX_NAME];

	named(rf, st, ".rf");
	named(lanes, red[nred - 1], ".i");
	rt_buf_printf(b, "split %s %s %d\nrfactor %s %s\nreorder %s", st, red[nred - 1], nlanes, st, lanes, rf);
	if (lead)
		rt_buf_printf(b, " %s", lead);
	for (int i = 0; i < nsp; i++)
		rt_buf_printf(b, " %s", sp[i]);
	for (int i = 0; i + 1 < nred; i++)
		rt_buf_printf(b, " %s", red[i]);
	rt_buf_printf(b, " %s.o %s\n", red[nred - 1], lanes);
	if (par)
		rt_buf_printf(b, "parallel %s %s\n", rf, par);
	if (cw)
		rt_buf_printf(b, "cache_write %s %s local\n", rf, cw);
	rt_buf_printf(b, "vectorize %s %s\n", rf, lanes);
}

/* RF 1 with `rows` > 1 rows of the last spatial loop at a time (each row's
 * lanes in their own register, the rows unrolled; RF_ROWS): as
 * emit_rf_lanes without a lead, the last spatial loop split by rows, its
 * outer part where the partial results are cached (and run in parallel
 * when it is the only spatial loop), its inner part just outside the
 * lanes. */
static void emit_rf_rows(rt_buf *b, const char *st, int nlanes, int rows, char sp[][SCH_MAX_NAME], int nsp,
			 char red[][SCH_MAX_NAME], int nred, const char *par)
{
	char rf[SCH_MAX_NAME], lanes[SCH_MAX_NAME], last[SCH_MAX_NAME];

	named(rf, st, ".rf");
	named(lanes, red[nred - 1], ".i");
	named(last, sp[nsp - 1], ".o");
	rt_buf_printf(b, "split %s %s %d\nrfactor %s %s\nsplit %s %s %d\nreorder %s", st, red[nred - 1], nlanes,
		      st, lanes, rf, sp[nsp - 1], rows, rf);
	for (int i = 0; i + 1 < nsp; i++)
		rt_buf_printf(b, " %s", sp[i]);
	rt_buf_printf(b, " %s", last);
	for (int i = 0; i + 1 < nred; i++)
		rt_buf_printf(b, " %s", red[i]);
	rt_buf_printf(b, " %s.o %s.i %s\n", red[nred - 1], sp[nsp - 1], lanes);
	if (par)
		rt_buf_printf(b, "parallel %s %s\n", rf, nsp == 1 ? last : par);
	rt_buf_printf(b, "cache_write %s %s local\nunroll %s %s.i\nvectorize %s %s\n", rf, last, rf,
		      sp[nsp - 1], rf, lanes);
}

/* The rows of RF_ROWS's choice v. */
static int rf_rows_of(int v)
{
	return v == 0 ? 1 : v == 1 ? 4 : 8;
}

/* The RF recipe of stage pl->st (see the top). */
static void emit_rf(const srch_space *s, const srch_point *p, const plan *pl, rt_buf *b)
{
	const te_stage *st = pl->st;
	char sp[TE_MAX_RANK][SCH_MAX_NAME], red[TE_MAX_REDUCE + 1][SCH_MAX_NAME], lead[SCH_MAX_NAME];
	char stage[SCH_MAX_NAME];
	int nred = 0, q = pl->rd[0], r = pl->rd[pl->nrd - 1];
	bool threads = choice(s, p, st->id, SRCH_ROLE_RF, -1) == 2;
	const char *last_sp = st->rank ? st->axes[st->rank - 1].name : NULL;

	for (int a = 0; a < st->rank; a++)
		named(sp[a], st->axes[a].name, "");
	/* S's reduce loops (q's inner part for 2), the long axis r last */
	for (int a = st->rank; a < st->rank + st->nreduce; a++)
		if (a != r)
			named(red[nred++], st->axes[a].name, threads && a == q ? ".i" : "");
	named(red[nred++], st->axes[r].name, threads && q == r ? ".i" : "");
	if (!threads) {
		const char *par = pl->nsp && choice(s, p, st->id, SRCH_ROLE_PAR, -1) ? st->axes[pl->sp[0]].name : NULL;
		int rows = rf_rows_of(choice(s, p, st->id, SRCH_ROLE_RF_ROWS, -1));

		if (rows > 1)
			emit_rf_rows(b, st->name, rf_lanes(s, st), rows, sp, st->rank, red, nred, par);
		else
			emit_rf_lanes(b, st->name, rf_lanes(s, st), sp, st->rank, NULL, red, nred, par, last_sp);
		return;
	}
	named(lead, st->axes[q].name, ".o");
	named(stage, st->name, ".rf");
	rt_buf_printf(b, "split %s %s parts=%d\nrfactor %s %s\n", st->name, st->axes[q].name, s->threads, st->name, lead);
	emit_rf_lanes(b, stage, rf_lanes(s, st), sp, st->rank, lead, red, nred, lead, last_sp ? last_sp : lead);
}

/* compute_at of stage id into its consumer, unless that is inlined. */
static void emit_attach(const srch_space *s, const srch_point *p, int id, rt_buf *b)
{
	const te_stage *st = te_graph_stage(s->g, id);
	int c = only_consumer(s->g, id), v = choice(s, p, id, SRCH_ROLE_PLACE, c);
	char loop[SCH_MAX_NAME];
	plan pc;

	if (v != (st->nreduce == 0 ? 2 : 1) || inlined(s, p, c) || rf_on(s, p, id) || rf_on(s, p, c) ||
	    (st->nreduce == 0 && deint_root(s, p, id)))
		return;
	plan_axes(te_graph_stage(s->g, c), s->target, &pc);
	axis_part(&pc, pc.sp[0], 1, loop);
	rt_buf_printf(b, "compute_at %s %s %s\n", st->name, pc.st->name, loop);
}

char *srch_point_schedule(const srch_space *s, const srch_point *p)
{
	rt_buf b = {0};

	for (int i = 0; i < te_graph_nstages(s->g); i++) {
		const te_stage *st = te_graph_stage(s->g, i);
		nest ns;
		plan pl;

		if (st->kind != TE_STAGE_COMPUTE)
			continue;
		if (inlined(s, p, i)) {
			rt_buf_printf(&b, "compute_inline %s\n", st->name);
			continue;
		}
		plan_axes(st, s->target, &pl);
		if (rf_on(s, p, i)) {
			emit_rf(s, p, &pl, &b); /* no compute_at of an RF stage */
			continue;
		}
		emit_tiling(s, p, &pl, &ns, &b);
		if (s->target == CG_TARGET_CPU)
			emit_cpu(s, p, &pl, &ns, &b);
		else if (s->target == CG_TARGET_HLS)
			emit_hls(s, p, &pl, &ns, &b);
		else
			emit_gpu(s, p, &pl, &ns, &b);
		emit_attach(s, p, i, &b);
	}
	return rt_buf_take(&b);
}
