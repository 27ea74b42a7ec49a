/*
 * srch_model: a cost model that learns across tunes (see srch_model.h and
 * docs/model.md).
 *
 * Features of one compute stage come from its loop nest (sch_stage_loops)
 * and its accesses: each load of the body, and the store of the stage's own
 * tensor, as a matrix of affine coefficients (index dimension x base axis).
 * A leaf loop moves each base axis by a stride (the product of the split
 * factors between them); with the loops from level k inward running, base
 * axis a spans sum (extent - 1) * stride over those loops (at most its
 * extent), and an access spans, per dimension, 1 + sum |coef| * span(a),
 * counted in 64-byte lines along its last dimension.  The graph's features
 * are the stages' weighted by their share of the FLOPs (inlined stages
 * count in their consumers).
 */
#include "srch_model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rt_rand.h"
#include "srch_mlp.h"
#include "te_parse.h"

#define LINE_BYTES 64.0    /* a cache line */
#define MAX_ACCESS 32      /* accesses of one stage analysed (loads beyond are ignored) */
#define HIDDEN 32          /* units of the MLP's two hidden layers */
#define BATCH 32           /* minibatch */
#define LR 1e-3            /* Adam's learning rate */
#define ONLINE_STEPS 4     /* minibatches after each observed measurement */
#define FIT_EPOCHS 150     /* passes over the samples when trained from the db */
#define FIT_MIN_STEPS 1500 /* leave-one-workload-out ranking: 0.59 after 200 steps, 0.68 after 1000-3000 */
#define FIT_MAX_STEPS 4000
#define AUDIT_RING 16      /* audited candidates waiting for their measurement */
#define AUDIT_MIN 4        /* audits before the model can be judged */
#define MISS_SHARE 0.25
#define BOUND_GAP 1.0      /* a cut-off run is learnt as this many log2 units below its bound */
#define FILTER_MAX 16      /* a batch srch_model_filter ranks at most (larger ones pass as they are) */    /* more misses than this share of the audits: stop skipping */

/* Feature numbers (docs/model.md). */
enum {
	F_FLOPS, F_INTENSITY, F_STAGES, F_L1, F_L2, F_L3, F_VEC, F_VEC_LANES, F_VEC_MULT, F_CONTIG, F_INVAR,
	F_INVAR_TILE, F_TILE_VREGS, F_TILE_FITS, F_UNROLL, F_PAR, F_PAR_THREAD, F_RED_DEPTH, F_RED_INNER, F_CW,
	F_CR, F_CR_L2, F_TAILS, F_DEPTH, F_COUNT
};
_Static_assert(F_COUNT == SRCH_MODEL_NFEAT, "feature count");

static double clamp(double x, double lo, double hi)
{
	return x < lo ? lo : x > hi ? hi : x;
}

/* ---- accesses ----------------------------------------------------------- */

/* One access: tensor `t` (stage id) at coef[d][a] (dimension d, base axis a). */
typedef struct access {
	int t;
	int rank;
	double coef[TE_MAX_RANK][TE_MAX_AXES];
} access;

/* The affine form of index expression e into coef[0..TE_MAX_AXES) (times
 * `scale`).  Division by a constant scales; anything else that is not
 * affine counts each axis in it once (a wider span, never a narrower one). */
static void affine(const te_expr *e, double scale, double *coef)
{
	switch (e->op) {
	case TE_AXIS:
		if (e->index >= 0 && e->index < TE_MAX_AXES)
			coef[e->index] += scale;
		return;
	case TE_CONST:
		return;
	case TE_NEG:
		affine(e->args[0], -scale, coef);
		return;
	case TE_SUB:
		affine(e->args[0], scale, coef);
		affine(e->args[1], -scale, coef);
		return;
	case TE_MUL:
		if (e->args[0]->op == TE_CONST)
			affine(e->args[1], scale * (double)e->args[0]->c.i, coef);
		else if (e->args[1]->op == TE_CONST)
			affine(e->args[0], scale * (double)e->args[1]->c.i, coef);
		else
			break;
		return;
	case TE_DIV:
		if (e->args[1]->op == TE_CONST && e->args[1]->c.i != 0) {
			affine(e->args[0], scale / (double)e->args[1]->c.i, coef);
			return;
		}
		break;
	default:
		break;
	}
	for (int i = 0; i < e->nargs; i++)
		affine(e->args[i], e->op == TE_ADD ? scale : fabs(scale), coef);
}

/* The loads of e into acc (at most MAX_ACCESS in all); returns the count. */
static int loads(const te_expr *e, access *acc, int n)
{
	if (!e)
		return n;
	if (e->op == TE_LOAD && n < MAX_ACCESS) {
		access *a = &acc[n++];

		memset(a, 0, sizeof(*a));
		a->t = e->index;
		a->rank = e->nargs < TE_MAX_RANK ? e->nargs : TE_MAX_RANK;
		for (int d = 0; d < a->rank; d++)
			affine(e->args[d], 1, a->coef[d]);
		return n;
	}
	for (int i = 0; i < e->nargs; i++)
		n = loads(e->args[i], acc, n);
	return n;
}

/* The stage's accesses: its store (first), then its loads. */
static int accesses(const te_stage *s, access *acc)
{
	memset(&acc[0], 0, sizeof(acc[0]));
	acc[0].t = s->id;
	acc[0].rank = s->rank;
	for (int d = 0; d < s->rank; d++)
		acc[0].coef[d][d] = 1;
	return loads(s->body, acc, 1);
}

/* ---- the loop nest ------------------------------------------------------ */

/* A stage's leaf loops with, per leaf, the stride it moves each base axis by. */
typedef struct nest {
	const te_stage *s;
	int nbase;
	int n;
	int64_t ext[SCH_MAX_LOOPS];
	sch_loop_kind kind[SCH_MAX_LOOPS];
	bool reduce[SCH_MAX_LOOPS]; /* moves a reduce axis only */
	bool tail[SCH_MAX_LOOPS];   /* made by a split that does not divide */
	double stride[SCH_MAX_LOOPS][TE_MAX_AXES];
} nest;

/* Add the strides of derived axis i (times mult) to st. */
static void strides(const sch_loops *l, int i, double mult, double *st, bool *tail)
{
	const sch_ax *x = &l->ax[i];

	switch (x->kind) {
	case SCH_AX_BASE:
		if (x->base >= 0 && x->base < TE_MAX_AXES)
			st[x->base] += mult;
		return;
	case SCH_AX_OUTER:
	case SCH_AX_INNER:
		*tail |= x->factor > 0 && l->ax[x->a].extent % x->factor != 0;
		strides(l, x->a, x->kind == SCH_AX_OUTER ? mult * (double)x->factor : mult, st, tail);
		return;
	case SCH_AX_FUSED:
		strides(l, x->b, mult, st, tail);
		strides(l, x->a, mult / (double)l->ax[x->b].extent, st, tail);
		return;
	}
}

/* The nest of stage s under schedule sc; -1 with err set. */
static int nest_of(const te_stage *s, const sch_schedule *sc, nest *N, sch_loops *l, rt_error *err)
{
	const char *names[TE_MAX_AXES];
	int64_t ext[TE_MAX_AXES];
	int nbase = s->rank + s->nreduce;

	for (int a = 0; a < nbase; a++)
		names[a] = s->axes[a].name, ext[a] = s->axes[a].extent;
	if (sch_stage_loops(sc, s->name, nbase, names, ext, l, err))
		return -1;
	memset(N, 0, sizeof(*N));
	N->s = s;
	N->nbase = nbase;
	N->n = l->nloops;
	for (int k = 0; k < l->nloops; k++) {
		bool spatial = false;

		N->ext[k] = l->ax[l->loop[k]].extent;
		N->kind[k] = l->kind[k];
		strides(l, l->loop[k], 1, N->stride[k], &N->tail[k]);
		for (int a = 0; a < s->rank; a++)
			spatial |= N->stride[k][a] != 0;
		N->reduce[k] = !spatial;
	}
	return 0;
}

/* The span of each base axis with the loops from `from` inward running. */
static void spans(const nest *N, int from, double *span)
{
	for (int a = 0; a < N->nbase; a++)
		span[a] = 0;
	for (int k = from; k < N->n; k++)
		for (int a = 0; a < N->nbase; a++)
			span[a] += (double)(N->ext[k] - 1) * fabs(N->stride[k][a]);
	for (int a = 0; a < N->nbase; a++)
		span[a] = fmin(span[a], (double)(N->s->axes[a].extent - 1));
}

/* Bytes access a touches with base axes spanning span[], counted in lines
 * along the last dimension when `lines`. */
static double touched(const te_graph *g, const access *a, const double *span, int nbase, bool lines)
{
	const te_stage *t = te_graph_stage(g, a->t);
	double es = (double)te_dtype_size(t->type), bytes = 1;

	for (int d = 0; d < a->rank; d++) {
		double w = 1;

		for (int x = 0; x < nbase; x++)
			w += fabs(a->coef[d][x]) * span[x];
		w = fmin(w, (double)t->shape[d]);
		if (d == a->rank - 1)
			w = lines ? ceil(w * es / LINE_BYTES) * LINE_BYTES : w * es;
		bytes *= w;
	}
	return a->rank == 0 ? es : bytes;
}

/* Bytes the accesses touch with the loops from `from` inward running (in
 * lines; the largest access of each tensor counts). */
static double footprint(const te_graph *g, const nest *N, const access *acc, int na, int from)
{
	double span[TE_MAX_AXES], per[MAX_ACCESS], sum = 0;

	spans(N, from, span);
	for (int i = 0; i < na; i++)
		per[i] = touched(g, &acc[i], span, N->nbase, true);
	for (int i = 0; i < na; i++) {
		bool biggest = true;

		for (int j = 0; j < na; j++)
			if (acc[j].t == acc[i].t && (per[j] > per[i] || (per[j] == per[i] && j < i)))
				biggest = false;
		if (biggest)
			sum += per[i];
	}
	return sum;
}

/* log2 of the bytes per FLOP that come from beyond a cache of `cap` bytes:
 * the data of the outermost level whose footprint fits, once per trip of
 * the loops outside it. */
static double traffic(const te_graph *g, const nest *N, const access *acc, int na, double cap, double flops)
{
	double outer = 1;
	int k = 0;

	while (k < N->n && footprint(g, N, acc, na, k) > cap)
		outer *= (double)N->ext[k++];
	return clamp(log2(footprint(g, N, acc, na, k) * outer / flops), -16, 16) / 8;
}

/* The effective stride of access a along leaf k (in elements of its last
 * dimension), and whether k moves it at all. */
static bool moves(const nest *N, const access *a, int k, bool *contiguous)
{
	bool any = false;

	*contiguous = a->rank > 0;
	for (int d = 0; d < a->rank; d++) {
		double st = 0;

		for (int x = 0; x < N->nbase; x++)
			st += a->coef[d][x] * N->stride[k][x];
		any |= st != 0;
		if (d == a->rank - 1 ? fabs(st) != 1 : st != 0)
			*contiguous = false;
	}
	return any;
}

/* ---- per-stage features ------------------------------------------------- */

/* Where the register tile starts: after the innermost reduce loop of a
 * reducing stage, else the trailing run of unrolled/vectorized loops. */
static int tile_start(const nest *N)
{
	int k = N->n;

	if (N->s->nreduce > 0) {
		while (k > 0 && !N->reduce[k - 1])
			k--;
		return k;
	}
	while (k > 0 && (N->kind[k - 1] == SCH_LOOP_UNROLL || N->kind[k - 1] == SCH_LOOP_VECTORIZE))
		k--;
	return k;
}

/* Vector, register tile, unrolling, reduction depth. */
static void loop_features(const nest *N, const srch_machine *m, double *f)
{
	int last = N->n - 1, t = tile_start(N);
	double lanes = 1, tile = 1, unroll = 1, depth = 1;

	if (m->vector_bits > 0)
		lanes = fmax(1, m->vector_bits / 8.0 / (double)te_dtype_size(N->s->type));
	f[F_VEC] = last >= 0 && N->kind[last] == SCH_LOOP_VECTORIZE;
	if (f[F_VEC]) {
		f[F_VEC_LANES] = clamp(log2((double)N->ext[last] / lanes), -4, 4) / 4;
		f[F_VEC_MULT] = N->ext[last] % (int64_t)lanes == 0;
	}
	for (int k = t; k < N->n; k++)
		tile *= (double)N->ext[k];
	if (f[F_VEC])
		tile = ceil(tile / lanes);
	f[F_TILE_VREGS] = clamp(log2(tile / fmax(1, m->vregs)), -8, 8) / 4;
	f[F_TILE_FITS] = tile > 1 && tile <= m->vregs;
	for (int k = 0; k < N->n; k++)
		if (N->kind[k] == SCH_LOOP_UNROLL)
			unroll *= (double)N->ext[k];
	f[F_UNROLL] = clamp(log2(unroll), 0, 16) / 8;
	for (int k = t - 1; N->s->nreduce > 0 && k >= 0 && N->reduce[k]; k--)
		depth *= (double)N->ext[k];
	f[F_RED_DEPTH] = clamp(log2(depth), 0, 32) / 16;
	f[F_RED_INNER] = last >= 0 && N->reduce[last];
	f[F_DEPTH] = N->n / 12.0;
}

/* Parallel loops vs threads; tails. */
static void par_features(const nest *N, const srch_machine *m, double *f)
{
	double par = 1;
	int tails = 0;

	for (int k = 0; k < N->n; k++) {
		if (N->kind[k] == SCH_LOOP_PARALLEL)
			par *= (double)N->ext[k], f[F_PAR] = 1;
		tails += N->tail[k];
	}
	if (f[F_PAR])
		f[F_PAR_THREAD] = clamp(log2(par / fmax(1, m->threads)), -8, 8) / 8;
	f[F_TAILS] = N->n ? (double)tails / N->n : 0;
}

/* Contiguity and reuse along the innermost loop and around the tile;
 * a packed tensor (cache_read) is contiguous where it moves. */
static void reuse_features(const nest *N, const access *acc, int na, const bool *packed, double *f)
{
	int last = N->n - 1, t = tile_start(N) - 1, contig = 0, invar = 0, invar_tile = 0;

	for (int i = 0; i < na && last >= 0; i++) {
		bool c, moved = moves(N, &acc[i], last, &c);

		contig += moved && (c || packed[acc[i].t]);
		invar += !moved;
		if (t >= 0)
			invar_tile += !moves(N, &acc[i], t, &c);
	}
	f[F_CONTIG] = na ? (double)contig / na : 0;
	f[F_INVAR] = na ? (double)invar / na : 0;
	f[F_INVAR_TILE] = na ? (double)invar_tile / na : 0;
}

/* cache_write and cache_read steps of stage s; packed[] marks the tensors
 * read through a cache. */
static void cache_features(const te_graph *g, const sch_schedule *sc, const nest *N, const sch_loops *l,
			   const access *acc, int na, const srch_machine *m, bool *packed, double *f)
{
	int ncr = 0;
	double l2 = 0, span[TE_MAX_AXES];

	for (int i = 0; i < sc->nsteps; i++) {
		const sch_step *st = &sc->steps[i];
		const te_stage *t;
		int at;

		if (st->kind == SCH_CACHE_WRITE && strcmp(st->stage, N->s->name) == 0)
			f[F_CW] = 1;
		if (st->kind != SCH_CACHE_READ || strcmp(st->target, N->s->name) != 0 ||
		    !(t = te_graph_find(g, st->stage)) || (at = sch_loops_find(l, st->args[0])) < 0)
			continue;
		packed[t->id] = true;
		spans(N, at + 1, span);
		for (int a = 0; a < na; a++)
			if (acc[a].t == t->id) {
				l2 += clamp(log2(touched(g, &acc[a], span, N->nbase, false) / (double)m->l2), -8, 8) / 4;
				ncr++;
				break;
			}
	}
	f[F_CR] = ncr / 2.0;
	f[F_CR_L2] = ncr ? l2 / ncr : 0;
}

/* The features of compute stage s (not inlined) into f; -1 with err set. */
static int stage_features(const te_graph *g, const sch_schedule *sc, const te_stage *s, const srch_machine *m,
			  double *f, bool *inlined, rt_error *err)
{
	static const int levels[3] = {F_L1, F_L2, F_L3};
	sch_loops l;
	nest N;
	access acc[MAX_ACCESS];
	bool *packed;
	double flops = fmax(1, (double)te_stage_flops(s));
	int na;

	memset(f, 0, sizeof(double) * F_COUNT);
	if (nest_of(s, sc, &N, &l, err))
		return -1;
	*inlined = l.attach == SCH_ATTACH_INLINE;
	if (*inlined)
		return 0;
	if (!(packed = calloc((size_t)te_graph_nstages(g), sizeof(bool))))
		return rt_error_set(err, 0, 0, "out of memory analysing stage %s", s->name);
	na = accesses(s, acc);
	for (int c = 0; c < 3; c++)
		f[levels[c]] = traffic(g, &N, acc, na, (double)(c == 0 ? m->l1 : c == 1 ? m->l2 : m->l3), flops);
	loop_features(&N, m, f);
	par_features(&N, m, f);
	cache_features(g, sc, &N, &l, acc, na, m, packed, f);
	reuse_features(&N, acc, na, packed, f);
	free(packed);
	return 0;
}

int srch_model_features(const te_graph *g, const sch_schedule *s, const srch_machine *m, double *out,
			rt_error *err)
{
	double f[F_COUNT], total = 0, bytes = 0, flops = fmax(1, te_graph_flops(g));
	int nst = 0;

	memset(out, 0, sizeof(double) * F_COUNT);
	for (int i = 0; i < te_graph_nstages(g); i++) {
		const te_stage *st = te_graph_stage(g, i);
		double w = (double)te_stage_flops(st);
		bool inl = false;

		bytes += (double)te_stage_bytes(st);
		if (st->kind != TE_STAGE_COMPUTE)
			continue;
		if (stage_features(g, s, st, m, f, &inl, err))
			return -1;
		if (inl)
			continue;
		nst++;
		w = fmax(w, 1);
		total += w;
		for (int k = 0; k < F_COUNT; k++)
			out[k] += w * f[k];
	}
	for (int k = 0; total > 0 && k < F_COUNT; k++)
		out[k] /= total;
	out[F_FLOPS] = log2(flops) / 40;
	out[F_INTENSITY] = clamp(log2(flops / fmax(1, bytes)), -10, 10) / 10;
	out[F_STAGES] = nst / 4.0;
	return 0;
}

int srch_model_features_text(const te_graph *g, const char *schedule, const srch_machine *m, double *out,
			     rt_error *err)
{
	sch_schedule *s = sch_parse(schedule ? schedule : "", err);
	int rc;

	if (!s)
		return -1;
	rc = srch_model_features(g, s, m, out, err);
	sch_free(s);
	return rc;
}

/* ---- the model ---------------------------------------------------------- */

/* One measured schedule: log2 GFLOP/s and features, in a workload group. */
typedef struct sample {
	int group;  /* index into groups */
	double y;
	bool bound; /* y is an upper bound (a run stopped at the cut-off) */
	double f[F_COUNT];
} sample;

typedef struct group {
	int id;
	int count;
	double best; /* the highest y */
	int best_at; /* its sample */
} group;

struct srch_model {
	srch_machine m;
	uint64_t rng;
	srch_mlp *net;
	bool trained;
	sample *s;
	int n, cap;
	group *gr;
	int ngr, grcap;
	/* the tune in progress */
	const te_graph *g;
	int cur;       /* its group, -1 before the first sample */
	int cur_id;
	int cur_start; /* its samples are s[cur_start..n) */
	int skipped, audits, misses, since_audit;
	bool skipping;
	uint64_t audit[AUDIT_RING];
	int naudit;
	double bx[BATCH * F_COUNT], by[BATCH];
};

srch_model *srch_model_new(const srch_machine *m, uint64_t seed)
{
	static const int sizes[4] = {F_COUNT, HIDDEN, HIDDEN, 1};
	srch_model *md = calloc(1, sizeof(*md));

	if (!md)
		return NULL;
	md->m = *m;
	md->rng = seed ^ UINT64_C(0x6d6f64656c);
	md->cur = -1;
	md->skipping = true;
	if (!(md->net = srch_mlp_new(sizes, 4, rt_rand_next(&md->rng))))
		return srch_model_free(md);
	return md;
}

srch_model *srch_model_free(srch_model *md)
{
	if (!md)
		return NULL;
	srch_mlp_free(md->net);
	free(md->s);
	free(md->gr);
	free(md);
	return NULL;
}

/* The index of group `id`, added when new; -1 when out of memory. */
static int group_of(srch_model *md, int id)
{
	for (int i = md->ngr - 1; i >= 0; i--)
		if (md->gr[i].id == id)
			return i;
	if (md->ngr == md->grcap) {
		int cap = md->grcap ? 2 * md->grcap : 16;
		group *p = realloc(md->gr, sizeof(*p) * (size_t)cap);

		if (!p)
			return -1;
		md->gr = p;
		md->grcap = cap;
	}
	md->gr[md->ngr] = (group){id, 0, -INFINITY, -1};
	return md->ngr++;
}

int srch_model_add(srch_model *md, int group, const double *feat, double gflops, bool bound)
{
	int gi = group_of(md, group);
	sample *x;

	if (gi < 0)
		return -1;
	if (md->n == md->cap) {
		int cap = md->cap ? 2 * md->cap : 256;
		sample *p = realloc(md->s, sizeof(*p) * (size_t)cap);

		if (!p)
			return -1;
		md->s = p;
		md->cap = cap;
	}
	x = &md->s[md->n];
	x->group = gi;
	x->y = log2(gflops);
	x->bound = bound;
	memcpy(x->f, feat, sizeof(x->f));
	md->gr[gi].count++;
	if (x->y > md->gr[gi].best && !bound)
		md->gr[gi].best = x->y, md->gr[gi].best_at = md->n;
	md->n++;
	return 0;
}

int srch_model_nsamples(const srch_model *md)
{
	return md->n;
}

/* The training target of sample x: log2 of its share of its group's best,
 * scaled to the network's range. */
static double target(const srch_model *md, const sample *x)
{
	return (x->y - md->gr[x->group].best) / 4;
}

/* One Adam step on a minibatch: uniform over the samples, half of it from
 * the tune's own group once that has two samples.  A bound (a run stopped
 * at the cut-off, 3x the best then: at most this fast) is censored: it
 * pulls the prediction down to BOUND_GAP below it, never up.  The gap is
 * a guess (what is cut off is mostly far slower: random GEMM points run
 * 10-100x slower than the best) that the audits check. */
static void step(srch_model *md)
{
	int own = md->cur >= 0 && md->gr[md->cur].count >= 2 ? md->n - md->cur_start : 0;

	for (int b = 0; b < BATCH; b++) {
		const sample *x = own && b % 2 ? &md->s[md->cur_start + (int)(rt_rand_next(&md->rng) % (uint64_t)own)]
					       : &md->s[rt_rand_next(&md->rng) % (uint64_t)md->n];

		memcpy(md->bx + (size_t)b * F_COUNT, x->f, sizeof(x->f));
		md->by[b] = target(md, x);
		if (x->bound) {
			double y;

			srch_mlp_forward(md->net, x->f, &y);
			md->by[b] = fmin(md->by[b] - BOUND_GAP / 4, y);
		}
	}
	srch_mlp_train(md->net, md->bx, md->by, NULL, BATCH, LR);
}

int srch_model_fit(srch_model *md, int steps, rt_error *err)
{
	int usable = 0;

	for (int i = 0; i < md->ngr; i++)
		usable += md->gr[i].count >= 2 ? md->gr[i].count : 0;
	if (usable < SRCH_MODEL_MIN_RECORDS)
		return rt_error_set(err, 0, 0, "%d usable records in workloads with two or more (the model needs %d)",
				    usable, SRCH_MODEL_MIN_RECORDS);
	for (int i = 0; i < steps; i++)
		step(md);
	md->trained = true;
	return 0;
}

double srch_model_predict(const srch_model *md, const double *feat)
{
	double y = 0;

	if (md->trained)
		srch_mlp_forward(md->net, feat, &y);
	return 4 * y;
}

/* ---- from the tuning db ------------------------------------------------- */

/* The usable records of workload w on `target` as samples of group `id`;
 * -1 with err set when the db cannot be read. */
static int add_workload(srch_model *md, tdb *db, const tdb_workload *w, int64_t target, int id, rt_error *err)
{
	tdb_record *r;
	rt_error e2;
	te_graph *g;
	int n, rc = 0;

	rt_error_clear(&e2);
	if (!w->text || !(g = te_parse(w->text, NULL, 0, &e2)))
		return 0; /* a workload this compiler cannot read teaches nothing */
	if (tdb_records(db, w->id, target, &r, &n, err)) {
		te_graph_free(g);
		return -1;
	}
	for (int i = 0; i < n && md->n < SRCH_MODEL_MAX_SAMPLES && rc == 0; i++) {
		double f[F_COUNT];

		if (r[i].status != TDB_OK || r[i].imported || !(r[i].gflops > 0) || !isfinite(r[i].gflops) ||
		    !r[i].schedule || srch_model_features_text(g, r[i].schedule, &md->m, f, &e2))
			continue;
		if ((rc = srch_model_add(md, id, f, r[i].gflops, r[i].runs == 0)))
			rt_error_set(err, 0, 0, "out of memory reading the tuning db's records");
	}
	tdb_records_free(r, n);
	te_graph_free(g);
	return rc;
}

srch_model *srch_model_from_db(tdb *db, int64_t target, const srch_machine *m, uint64_t seed, int *nused,
			       rt_error *err)
{
	srch_model *md = srch_model_new(m, seed);
	tdb_summary *sum = NULL;
	int ns = 0, steps;

	*nused = 0;
	if (!md) {
		rt_error_set(err, 0, 0, "out of memory");
		return NULL;
	}
	if (tdb_list(db, &sum, &ns, err) < 0)
		return srch_model_free(md);
	for (int i = 0; i < ns; i++)
		if (sum[i].t.id == target && add_workload(md, db, &sum[i].w, target, i, err)) {
			tdb_summaries_free(sum, ns);
			return srch_model_free(md);
		}
	tdb_summaries_free(sum, ns);
	steps = FIT_EPOCHS * md->n / BATCH;
	steps = steps < FIT_MIN_STEPS ? FIT_MIN_STEPS : steps > FIT_MAX_STEPS ? FIT_MAX_STEPS : steps;
	if (srch_model_fit(md, steps, err))
		return srch_model_free(md);
	*nused = md->n;
	return md;
}

/* ---- in a tune ---------------------------------------------------------- */

void srch_model_begin(srch_model *md, const te_graph *g)
{
	int id = -1;

	for (int i = 0; i < md->ngr; i++)
		id = md->gr[i].id > id ? md->gr[i].id : id;
	md->g = g;
	md->cur = -1;
	md->cur_id = id + 1;
	md->cur_start = md->n;
	md->skipped = md->audits = md->misses = md->since_audit = md->naudit = 0;
	md->skipping = true;
}

static uint64_t text_hash(const char *s)
{
	uint64_t h = UINT64_C(1469598103934665603);

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
	return h;
}

/* Whether `schedule` was an audit: then judge the model by its gflops. */
static void audit_check(srch_model *md, const char *schedule, double gflops)
{
	uint64_t h = text_hash(schedule);

	for (int i = 0; i < md->naudit; i++)
		if (md->audit[i] == h) {
			md->audit[i] = md->audit[--md->naudit];
			md->audits++;
			md->misses += md->cur >= 0 && log2(gflops) >= md->gr[md->cur].best - SRCH_MODEL_SKIP_MARGIN;
			if (md->audits >= AUDIT_MIN && md->misses > MISS_SHARE * md->audits)
				md->skipping = false;
			return;
		}
}

void srch_model_observe(srch_model *md, const char *schedule, double gflops, bool bound)
{
	double f[F_COUNT];
	rt_error e;

	if (!md->g || !(gflops > 0) || !isfinite(gflops))
		return;
	audit_check(md, schedule ? schedule : "", gflops);
	rt_error_clear(&e);
	if (srch_model_features_text(md->g, schedule, &md->m, f, &e) || srch_model_add(md, md->cur_id, f, gflops, bound))
		return;
	md->cur = md->s[md->n - 1].group;
	for (int i = 0; md->trained && i < ONLINE_STEPS; i++)
		step(md);
}

/* The prediction for point p of sp; -INFINITY when it cannot be analysed. */
static double predict_point(const srch_model *md, const srch_space *sp, const srch_point *p, uint64_t *hash)
{
	char *text = srch_point_schedule(sp, p);
	double f[F_COUNT], y = -INFINITY;
	rt_error e;

	rt_error_clear(&e);
	if (text && srch_model_features_text(sp->g, text, &md->m, f, &e) == 0)
		y = srch_model_predict(md, f);
	if (hash)
		*hash = text ? text_hash(text) : 0;
	free(text);
	return y;
}

typedef struct ranked {
	double y;
	int i;
	uint64_t h;
} ranked;

static int by_prediction(const void *a, const void *b)
{
	const ranked *x = a, *y = b;

	if (x->y != y->y)
		return x->y < y->y ? 1 : -1;
	return (x->i > y->i) - (x->i < y->i);
}

int srch_model_starts(srch_model *md, const srch_space *sp, uint64_t seed, srch_point *out, int max)
{
	ranked *r = malloc(sizeof(*r) * SRCH_MODEL_POOL);
	srch_point *pool = malloc(sizeof(*pool) * SRCH_MODEL_POOL);
	uint64_t rng = seed ^ UINT64_C(0x7374617274);
	int n = 0;

	if (!r || !pool || !md->trained) {
		free(r), free(pool);
		return 0;
	}
	for (int i = 0; i < SRCH_MODEL_POOL; i++) {
		srch_point_random(sp, &rng, &pool[i]);
		r[i] = (ranked){predict_point(md, sp, &pool[i], NULL), i, 0};
	}
	qsort(r, SRCH_MODEL_POOL, sizeof(*r), by_prediction);
	for (int i = 0; i < SRCH_MODEL_POOL && n < max && isfinite(r[i].y); i++) {
		bool dup = false;

		for (int j = 0; j < n; j++)
			dup |= srch_point_equal(sp, &out[j], &pool[r[i].i]);
		if (!dup)
			out[n++] = pool[r[i].i];
	}
	free(r);
	free(pool);
	return n;
}

int srch_model_filter(srch_model *md, const srch_space *sp, srch_point *pts, int n,
		      void (*skip)(void *, const srch_point *, double), void *skip_user)
{
	ranked r[FILTER_MAX];
	srch_point keep[FILTER_MAX];
	double ref, best_s;
	int kept = 0;

	if (!md->trained || n < 1 || n > FILTER_MAX)
		return n;
	for (int i = 0; i < n; i++) {
		uint64_t h;
		double y = predict_point(md, sp, &pts[i], &h);

		r[i] = (ranked){y, i, h};
	}
	qsort(r, (size_t)n, sizeof(*r), by_prediction);
	ref = md->cur >= 0 ? srch_model_predict(md, md->s[md->gr[md->cur].best_at].f) : INFINITY;
	best_s = md->cur >= 0 ? te_graph_flops(sp->g) * 1e-9 / exp2(md->gr[md->cur].best) : 0;
	for (int i = 0; i < n; i++) {
		bool below = i > 0 && md->skipping && md->cur >= 0 && r[i].y < ref - SRCH_MODEL_SKIP_MARGIN;

		if (below && ++md->since_audit >= SRCH_MODEL_AUDIT && md->naudit < AUDIT_RING) {
			md->since_audit = 0;
			md->audit[md->naudit++] = r[i].h;
			below = false;
		}
		if (below) {
			md->skipped++;
			skip(skip_user, &pts[r[i].i], best_s * exp2(ref - fmax(r[i].y, ref - 30)));
		} else {
			keep[kept++] = pts[r[i].i];
		}
	}
	memcpy(pts, keep, sizeof(*pts) * (size_t)kept);
	return kept;
}

int srch_model_skipped(const srch_model *md)
{
	return md->skipped;
}

void srch_model_audits(const srch_model *md, int *audits, int *misses, bool *skipping)
{
	*audits = md->audits;
	*misses = md->misses;
	*skipping = md->skipping;
}
