/*
 * Tests of search/srch_mlp and search/srch_explore.
 *
 * The MLP: a numerical gradient check and a small regression it must learn.
 * The explorers run on hand-built spaces (no te graph) with synthetic,
 * deterministic costs: a space shaped like a GEMM's (i and j split into 4
 * parts, k into 3, extents 1024, plus reorder / parallel / vectorize /
 * unroll choices; about 1e9 points), a smooth cost with a unique optimum
 * and a rugged one (cliffs, a second basin, hashed noise).  The optimum of
 * each is found by brute force; sa-q must get within 5% of it in fewer
 * evaluations than random search, as the median over 20 seeds.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_math.h"
#include "srch_explore.h"
#include "srch_mlp.h"
#include "srch_space.h"

#define N_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double unif(uint64_t *s)
{
	return (double)(splitmix64(s) >> 11) * 0x1.0p-53;
}

/* ---- the MLP ------------------------------------------------------------ */

/* The loss srch_mlp_train and srch_mlp_gradient use, for one sample. */
static double sample_loss(const srch_mlp *m, const double *x, const double *t,
			  const unsigned char *mask)
{
	double y[16], sse = 0;
	int no = srch_mlp_noutputs(m), cnt = 0;
	srch_mlp_forward(m, x, y);
	for (int o = 0; o < no; o++)
		if (!mask || mask[o]) {
			sse += (y[o] - t[o]) * (y[o] - t[o]);
			cnt++;
		}
	return cnt ? sse / cnt : 0;
}

static const unsigned char grad_mask[3] = {1, 0, 1};

/* Central differences against backpropagation, with and without a mask. */
START_TEST(mlp_gradient_check)
{
	const int sizes[] = {4, 6, 5, 3};
	srch_mlp *m = srch_mlp_new(sizes, N_OF(sizes), 42);
	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(srch_mlp_ninputs(m), 4);
	ck_assert_int_eq(srch_mlp_noutputs(m), 3);
	uint64_t rng = 7;
	double *params[256], grad[256];
	int np = srch_mlp_params(m, params, N_OF(params));
	ck_assert_int_eq(np, 4 * 6 + 6 + 6 * 5 + 5 + 5 * 3 + 3);
	/* non-zero biases, so that no unit sits exactly at a ReLU kink */
	for (int i = 0; i < np; i++)
		*params[i] += 0.05 * (2 * unif(&rng) - 1);
	int checked = 0;
	for (int trial = 0; trial < 4; trial++) {
		const unsigned char *mask = trial & 1 ? grad_mask : NULL;
		double x[4], t[3];
		for (int i = 0; i < 4; i++)
			x[i] = 2 * unif(&rng) - 1;
		for (int i = 0; i < 3; i++)
			t[i] = 2 * unif(&rng) - 1;
		ck_assert_int_eq(srch_mlp_gradient(m, x, t, mask, grad), np);
		for (int i = 0; i < np; i++) {
			const double h = 1e-6;
			double w = *params[i];
			*params[i] = w + h;
			double lp = sample_loss(m, x, t, mask);
			*params[i] = w - h;
			double lm = sample_loss(m, x, t, mask);
			*params[i] = w;
			double num = (lp - lm) / (2 * h);
			double den = fmax(fabs(num) + fabs(grad[i]), 1e-7);
			ck_assert_msg(fabs(num - grad[i]) / den < 1e-4,
				      "param %d: numerical %.9g, backprop %.9g", i, num, grad[i]);
			checked += grad[i] != 0;
		}
	}
	ck_assert_int_gt(checked, np); /* most gradients are non-zero */
	srch_mlp_free(m);
}
END_TEST

#define REG_N 512
#define REG_STEPS 1500

/*
 * y = sin(3 x0) + x1 x2 on 512 samples, minibatches of 64: the loss must
 * fall at least tenfold within REG_STEPS Adam steps (lr 3e-3).
 */
START_TEST(mlp_learns_regression)
{
	static double x[REG_N * 3], y[REG_N];
	uint64_t rng = 1;
	for (int s = 0; s < REG_N; s++) {
		double *xs = x + 3 * s;
		for (int i = 0; i < 3; i++)
			xs[i] = 2 * unif(&rng) - 1;
		y[s] = sin(3 * xs[0]) + xs[1] * xs[2];
	}
	const int sizes[] = {3, 32, 32, 1};
	srch_mlp *m = srch_mlp_new(sizes, N_OF(sizes), 3);
	ck_assert_ptr_nonnull(m);
	double first = srch_mlp_train(m, x, y, NULL, REG_N, 0); /* lr 0: just the loss */
	for (int step = 0; step < REG_STEPS; step++) {
		int b = (step * 64) % REG_N;
		srch_mlp_train(m, x + 3 * b, y + b, NULL, 64, 3e-3);
	}
	double last = srch_mlp_train(m, x, y, NULL, REG_N, 0);
	printf("mlp regression: full-batch loss %.4f -> %.5f after %d steps (x%.0f)\n", first, last,
	       REG_STEPS, first / last);
	ck_assert_msg(last * 10 <= first, "loss %.5f -> %.5f", first, last);

	/* the copy computes the same function */
	srch_mlp *c = srch_mlp_new(sizes, N_OF(sizes), 99);
	srch_mlp_copy(c, m);
	double ym, yc;
	srch_mlp_forward(m, x, &ym);
	srch_mlp_forward(c, x, &yc);
	ck_assert_double_eq(ym, yc);
	srch_mlp_free(c);
	srch_mlp_free(m);
}
END_TEST

START_TEST(mlp_bad_shapes)
{
	const int one[] = {3};
	const int zero[] = {3, 0, 1};
	ck_assert_ptr_null(srch_mlp_new(one, 1, 1));
	ck_assert_ptr_null(srch_mlp_new(zero, 3, 1));
	ck_assert_ptr_null(srch_mlp_free(NULL));

	/* wider than forward()'s stack buffers */
	const int wide[] = {2, 1500, 1};
	srch_mlp *m = srch_mlp_new(wide, 3, 5);
	ck_assert_ptr_nonnull(m);
	double x[2] = {0.5, -0.25}, y = NAN;
	srch_mlp_forward(m, x, &y);
	ck_assert(isfinite(y));
	ck_assert_double_eq(srch_mlp_train(m, x, &y, NULL, 1, 1e-3), 0);
	srch_mlp_free(m);
}
END_TEST

/* ---- hand-built spaces --------------------------------------------------- */

/* Ordered factorisations of n into d parts. */
static double count_tuples(int64_t n, int d)
{
	double c = 1;
	for (int64_t q = 2; n > 1; q++) {
		int a = 0;
		for (; n % q == 0; n /= q)
			a++;
		for (int i = 1; i <= a; i++) /* C(a + d - 1, a) */
			c = c * (d - 1 + i) / i;
	}
	return c;
}

static srch_knob *add_knob(srch_space *s, srch_knob_kind kind, srch_role role, const char *key)
{
	srch_knob *k = srch_space_add_knob(s);
	ck_assert_ptr_nonnull(k);
	k->kind = kind;
	k->role = role;
	k->arg = -1;
	snprintf(k->key, sizeof(k->key), "%s", key);
	snprintf(k->name, sizeof(k->name), "%s", key);
	k->slot = s->nslots;
	return k;
}

static void add_split(srch_space *s, const char *key, int axis, int parts, int64_t extent)
{
	srch_knob *k = add_knob(s, SRCH_SPLIT, SRCH_ROLE_SPLIT, key);
	k->axis = axis;
	k->nparts = parts;
	k->extent = extent;
	k->nprods = 1;
	k->prods[0] = extent;
	k->nvalues = count_tuples(extent, parts);
	s->nslots += parts;
}

static void add_choice(srch_space *s, const char *key, srch_role role, int n)
{
	srch_knob *k = add_knob(s, SRCH_CHOICE, role, key);
	k->nchoices = n;
	k->nvalues = n;
	s->nslots += 1;
}

enum { K_I, K_J, K_K, K_REORDER, K_PAR, K_VEC, K_UNROLL };
#define EXT_LOG 10 /* extents 1024 */
#define N_REORDER 6
#define N_PAR 4
#define N_UNROLL 4

/* i and j in 4 parts, k in 3 (286 * 286 * 66 splits) times 192 choices. */
static void gemm_space(srch_space *s)
{
	memset(s, 0, sizeof(*s));
	s->target = CG_TARGET_CPU;
	add_split(s, "C.i", 0, 4, 1 << EXT_LOG);
	add_split(s, "C.j", 1, 4, 1 << EXT_LOG);
	add_split(s, "C.k", 2, 3, 1 << EXT_LOG);
	add_choice(s, "C.order", SRCH_ROLE_ORDER, N_REORDER);
	add_choice(s, "C.par", SRCH_ROLE_PAR, N_PAR);
	add_choice(s, "C.vec", SRCH_ROLE_VEC, 2);
	add_choice(s, "C.unroll", SRCH_ROLE_UNROLL, N_UNROLL);
	s->log10_size = 0;
	for (int k = 0; k < s->nknobs; k++)
		s->log10_size += log10(s->knobs[k].nvalues);
}

/* A split of 8 in 2 parts (4 points) and a choice of 3: 12 points. */
static void tiny_space(srch_space *s)
{
	memset(s, 0, sizeof(*s));
	add_split(s, "X.i", 0, 2, 8);
	add_choice(s, "X.vec", SRCH_ROLE_VEC, 3);
	s->log10_size = log10(12);
}

/* ---- synthetic GEMM costs ------------------------------------------------ */

/* log2 of the factors: i[4], j[4], k[3]. */
typedef struct tiles {
	int i[4], j[4], k[3];
} tiles;

typedef struct choices {
	int reorder, par, vec, unroll;
} choices;

static void decode(const srch_space *s, const srch_point *p, tiles *t, choices *c)
{
	for (int q = 0; q < 4; q++) {
		t->i[q] = __builtin_ctzll((unsigned long long)p->v[s->knobs[K_I].slot + q]);
		t->j[q] = __builtin_ctzll((unsigned long long)p->v[s->knobs[K_J].slot + q]);
	}
	for (int q = 0; q < 3; q++)
		t->k[q] = __builtin_ctzll((unsigned long long)p->v[s->knobs[K_K].slot + q]);
	c->reorder = (int)p->v[s->knobs[K_REORDER].slot];
	c->par = (int)p->v[s->knobs[K_PAR].slot];
	c->vec = (int)p->v[s->knobs[K_VEC].slot];
	c->unroll = (int)p->v[s->knobs[K_UNROLL].slot];
}

static double sq(double x)
{
	return x * x;
}

static double hash_unit(uint64_t h)
{
	return unif(&h);
}

static uint64_t tiles_key(const tiles *t)
{
	uint64_t h = 0;
	for (int q = 0; q < 4; q++)
		h = h * 11 + (uint64_t)t->i[q];
	for (int q = 0; q < 4; q++)
		h = h * 11 + (uint64_t)t->j[q];
	for (int q = 0; q < 3; q++)
		h = h * 11 + (uint64_t)t->k[q];
	return h;
}

/*
 * Smooth: log cost is a positive-definite quadratic of the log tile sizes
 * (register tile 4 x 16, cache tile 32 x 64 x 32, 16-way parallel outer
 * loops); unique optimum i = (2,3,3,2), j = (2,2,2,4), k = (2,3,5).
 */
#define SMOOTH_W 0.003

static double smooth_log(const tiles *t)
{
	const double w = SMOOTH_W;
	return w * (2 * sq(t->i[3] - 2) + 2 * sq(t->j[3] - 4) + sq(t->i[2] + t->i[3] - 5) +
		    sq(t->j[2] + t->j[3] - 6) + sq(t->k[2] - 5) + sq(t->k[0] - 2) +
		    sq(t->i[0] + t->j[0] - 4) + sq(t->i[0] - t->j[0]));
}

/* Choice factors: unimodal along +-1 moves for the smooth cost... */
static const double reorder_s[N_REORDER] = {1.30, 1.12, 1.00, 1.03, 1.15, 1.30};
static const double par_s[N_PAR] = {1.60, 1.20, 1.00, 1.04};
static const double unroll_s[N_UNROLL] = {1.10, 1.03, 1.00, 1.02};
/* ...and not for the rugged one (a reorder is no ordered quantity). */
static const double reorder_r[N_REORDER] = {1.00, 1.12, 1.25, 1.04, 1.40, 1.10};
static const double par_r[N_PAR] = {1.90, 1.25, 1.00, 1.06};
static const double unroll_r[N_UNROLL] = {1.15, 1.05, 1.00, 1.03};

/* Vectorizing pays only with a j register tile of 8 or more. */
static double vec_factor(const choices *c, int jreg)
{
	return c->vec ? (jreg >= 3 ? 1.0 : 1.1) : 1.35;
}

static double smooth_choice(const choices *c, int jreg)
{
	return reorder_s[c->reorder] * par_s[c->par] * vec_factor(c, jreg) * unroll_s[c->unroll];
}

/*
 * Rugged: another quadratic bowl, a second basin 6% worse elsewhere,
 * cliffs (register spill past 64 accumulators, an L1 footprint over 48 KB)
 * and up to 6% of hashed noise per tiling, up to 4% per choice vector.
 */
#define RUGGED_W 0.003

static double rugged_log(const tiles *t)
{
	const double w = RUGGED_W;
	double a = w * (2 * sq(t->i[3] - 3) + 2 * sq(t->j[3] - 3) + sq(t->i[2] + t->i[3] - 6) +
			sq(t->j[2] + t->j[3] - 5) + sq(t->k[2] - 4) + sq(t->k[1] - 3) +
			sq(t->i[0] + t->j[0] - 5));
	double b = 0.06 + w * (2 * sq(t->i[3] - 1) + 2 * sq(t->j[3] - 5) + sq(t->i[2] - 1) +
			       sq(t->j[2] - 3) + sq(t->k[2] - 7) + sq(t->k[0] - 1) +
			       sq(t->i[0] + t->j[0] - 3));
	double l = fmin(a, b);
	if (t->i[3] + t->j[3] > 6)
		l += 0.4;
	double l1 =
	    4.0 * (ldexp(1, t->i[2] + t->i[3] + t->k[2]) + ldexp(1, t->k[2] + t->j[2] + t->j[3]));
	if (l1 > 48 * 1024)
		l += 0.3;
	return l + 0.06 * hash_unit(tiles_key(t) * 0x9e3779b97f4a7c15ull + 1);
}

static double rugged_choice(const choices *c, int jreg)
{
	uint64_t key =
	    (uint64_t)(((c->reorder * N_PAR + c->par) * 2 + c->vec) * N_UNROLL + c->unroll);
	return reorder_r[c->reorder] * par_r[c->par] * vec_factor(c, jreg) * unroll_r[c->unroll] *
	       (1 + 0.04 * hash_unit(key + 77));
}

typedef struct costfn {
	const char *name;
	double (*split_log)(const tiles *t);
	double (*choice)(const choices *c, int jreg);
	double opt;	  /* the brute-force optimum */
	double frac_near; /* fraction of the space within 5% of it */
} costfn;

static costfn costfns[] = {
    {"smooth", smooth_log, smooth_choice, 0, 0},
    {"rugged", rugged_log, rugged_choice, 0, 0},
};

static double cost_of(const costfn *f, const srch_space *s, const srch_point *p)
{
	tiles t;
	choices c;
	decode(s, p, &t, &c);
	return 1e-3 * exp(f->split_log(&t)) * f->choice(&c, t.j[3]);
}

/* Every composition of EXT_LOG into n parts, callback with each. */
static int compositions(int n, int (*out)[4])
{
	int cnt = 0;
	for (int a = 0; a <= EXT_LOG; a++)
		for (int b = 0; a + b <= EXT_LOG; b++) {
			if (n == 3) {
				out[cnt][0] = a;
				out[cnt][1] = b;
				out[cnt][2] = EXT_LOG - a - b;
				cnt++;
				continue;
			}
			for (int c = 0; a + b + c <= EXT_LOG; c++) {
				out[cnt][0] = a;
				out[cnt][1] = b;
				out[cnt][2] = c;
				out[cnt][3] = EXT_LOG - a - b - c;
				cnt++;
			}
		}
	return cnt;
}

/* Brute force: the optimum of f and the fraction of points within 5% of it. */
static void solve(costfn *f)
{
	static int c4[286][4], c3[66][4];
	int n4 = compositions(4, c4), n3 = compositions(3, c3);
	ck_assert_int_eq(n4, 286);
	ck_assert_int_eq(n3, 66);
	/* the choice factors for each j register tile, sorted */
	static double ch[EXT_LOG + 1][N_REORDER * N_PAR * 2 * N_UNROLL];
	int nch = N_OF(ch[0]);
	for (int jr = 0; jr <= EXT_LOG; jr++) {
		int n = 0;
		for (int r = 0; r < N_REORDER; r++)
			for (int p = 0; p < N_PAR; p++)
				for (int v = 0; v < 2; v++)
					for (int u = 0; u < N_UNROLL; u++)
						ch[jr][n++] = f->choice(&(choices){r, p, v, u}, jr);
		qsort(ch[jr], (size_t)n, sizeof(double), rt_cmp_double);
	}
	double *sl = malloc(sizeof(double) * 286 * 286 * 66);
	ck_assert_ptr_nonnull(sl);
	double best = INFINITY;
	size_t n = 0;
	for (int a = 0; a < n4; a++)
		for (int b = 0; b < n4; b++)
			for (int c = 0; c < n3; c++) {
				tiles t;
				memcpy(t.i, c4[a], sizeof(t.i));
				memcpy(t.j, c4[b], sizeof(t.j));
				memcpy(t.k, c3[c], sizeof(t.k));
				double v = 1e-3 * exp(f->split_log(&t));
				sl[n++] = v;
				best = fmin(best, v * ch[t.j[3]][0]);
			}
	/* count (split, choice) pairs within 5% */
	double near = 0;
	n = 0;
	for (int a = 0; a < n4; a++)
		for (int b = 0; b < n4; b++)
			for (int c = 0; c < n3; c++) {
				double lim = 1.05 * best / sl[n++];
				const double *row = ch[c4[b][3]];
				int k = 0;
				while (k < nch && row[k] <= lim)
					k++;
				near += k;
			}
	free(sl);
	f->opt = best;
	f->frac_near = near / (286.0 * 286 * 66 * nch);
}

/* ---- driving an explorer -------------------------------------------------- */

#define BATCH 8

/*
 * Evaluations until a point within 5% of f's optimum is reported (cap + 1
 * when none within cap evaluations).
 */
static int evals_to_near(const srch_space *s, const costfn *f, srch_method m, uint64_t seed,
			 int cap)
{
	srch_explorer *e = srch_explorer_new(s, m, seed);
	ck_assert_ptr_nonnull(e);
	static srch_point pts[BATCH];
	int evals = 0, found = cap + 1;
	while (evals < cap && found > cap) {
		int n = srch_explorer_next(e, pts, BATCH);
		ck_assert_int_gt(n, 0);
		for (int k = 0; k < n; k++) {
			double c = cost_of(f, s, &pts[k]);
			srch_explorer_report(e, &pts[k], c);
			evals++;
			if (c <= 1.05 * f->opt) {
				found = evals;
				break;
			}
		}
	}
	srch_explorer_free(e);
	return found;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

#define SEEDS 20
#define SAQ_CAP 4000
#define RANDOM_CAP 200000

/* sa-q beats random search to within 5% of the optimum, median of 20 seeds. */
START_TEST(saq_beats_random)
{
	costfn *f = &costfns[_i];
	srch_space s;
	gemm_space(&s);
	solve(f);
	int saq[SEEDS], rnd[SEEDS], saq_hits = 0;
	for (int k = 0; k < SEEDS; k++) {
		saq[k] = evals_to_near(&s, f, SRCH_SA_Q, 1000 + (uint64_t)k, SAQ_CAP);
		rnd[k] = evals_to_near(&s, f, SRCH_RANDOM, 1000 + (uint64_t)k, RANDOM_CAP);
		saq_hits += saq[k] <= SAQ_CAP;
	}
	qsort(saq, SEEDS, sizeof(int), cmp_int);
	qsort(rnd, SEEDS, sizeof(int), cmp_int);
	double ms = (saq[SEEDS / 2 - 1] + saq[SEEDS / 2]) / 2.0;
	double mr = (rnd[SEEDS / 2 - 1] + rnd[SEEDS / 2]) / 2.0;
	printf("%s: optimum %.6g, %.3g of the space within 5%% (random expects ~%.0f); "
	       "evaluations to within 5%%, median of %d seeds: sa-q %.1f (min %d, max %d, "
	       "%d/%d reached in %d), random %.1f (min %d, max %d)\n",
	       f->name, f->opt, f->frac_near, log(2) / f->frac_near, SEEDS, ms, saq[0],
	       saq[SEEDS - 1], saq_hits, SEEDS, SAQ_CAP, mr, rnd[0], rnd[SEEDS - 1]);
	fflush(stdout);
	ck_assert_msg(ms < mr, "%s: sa-q median %.1f, random median %.1f", f->name, ms, mr);
	srch_space_release(&s);
}
END_TEST

/* The sequence of proposals for a seed, costs from the smooth function. */
static uint64_t run_digest(const srch_space *s, uint64_t seed, int evals, srch_method m)
{
	srch_explorer *e = srch_explorer_new(s, m, seed);
	static srch_point pts[BATCH];
	uint64_t h = 0;
	for (int done = 0; done < evals;) {
		int n = srch_explorer_next(e, pts, BATCH);
		ck_assert_int_gt(n, 0);
		for (int k = 0; k < n; k++, done++) {
			h = h * 0x100000001b3ull ^ srch_point_hash(s, &pts[k]);
			srch_explorer_report(e, &pts[k], cost_of(&costfns[0], s, &pts[k]));
		}
	}
	srch_explorer_free(e);
	return h;
}

START_TEST(same_seed_same_proposals)
{
	srch_space s;
	gemm_space(&s);
	srch_method m = _i ? SRCH_SA_Q : SRCH_RANDOM;
	uint64_t a = run_digest(&s, 5, 600, m), b = run_digest(&s, 5, 600, m);
	uint64_t c = run_digest(&s, 6, 600, m);
	ck_assert_uint_eq(a, b);
	ck_assert_uint_ne(a, c);
	srch_space_release(&s);
}
END_TEST

/*
 * A third of the points fail (INFINITY, or NAN) and so does everything
 * with a j register tile of 1: the explorer goes on proposing fresh points
 * and still finds a good one.
 */
START_TEST(failures_do_not_stop)
{
	srch_space s;
	gemm_space(&s);
	srch_method m = _i ? SRCH_SA_Q : SRCH_RANDOM;
	srch_explorer *e = srch_explorer_new(&s, m, 11);
	static srch_point pts[BATCH];
	int fails = 0, oks = 0;
	for (int round = 0; round < 200; round++) {
		int n = srch_explorer_next(e, pts, BATCH);
		ck_assert_int_eq(n, BATCH);
		for (int k = 0; k < n; k++) {
			uint64_t h = srch_point_hash(&s, &pts[k]);
			double c = cost_of(&costfns[0], &s, &pts[k]);
			if (h % 3 == 0 || pts[k].v[s.knobs[K_J].slot + 3] == 1)
				c = h & 8 ? INFINITY : NAN;
			fails += !isfinite(c);
			oks += isfinite(c);
			srch_explorer_report(e, &pts[k], c);
		}
	}
	ck_assert_int_gt(fails, 100);
	ck_assert_int_gt(oks, 100);
	srch_point best;
	double b = srch_explorer_best(e, &best);
	ck_assert(isfinite(b));
	ck_assert_double_eq(b, cost_of(&costfns[0], &s, &best));
	srch_explorer_free(e);

	/* everything fails: still proposing, best stays INFINITY */
	e = srch_explorer_new(&s, m, 12);
	for (int round = 0; round < 20; round++) {
		ck_assert_int_eq(srch_explorer_next(e, pts, BATCH), BATCH);
		for (int k = 0; k < BATCH; k++)
			srch_explorer_report(e, &pts[k], INFINITY);
	}
	ck_assert(isinf(srch_explorer_best(e, NULL)));
	srch_explorer_free(e);
	srch_space_release(&s);
}
END_TEST

/* A 12-point space: every point once, seeds never proposed, then 0. */
START_TEST(tiny_space_exhausts)
{
	srch_space s;
	tiny_space(&s);
	srch_method m = _i ? SRCH_SA_Q : SRCH_RANDOM;
	srch_explorer *e = srch_explorer_new(&s, m, 3);
	srch_point seed, pts[5], all[16];
	srch_point_default(&s, &seed);
	srch_explorer_seed(e, &seed, 2.0);
	all[0] = seed;
	int n = 1, k;
	while ((k = srch_explorer_next(e, pts, N_OF(pts))) > 0) {
		for (int a = 0; a < k; a++) {
			ck_assert_int_lt(n, 12);
			for (int b = 0; b < n; b++)
				ck_assert(!srch_point_equal(&s, &pts[a], &all[b]));
			all[n++] = pts[a];
			/* one failure among them */
			srch_explorer_report(e, &pts[a], n == 5 ? INFINITY : 1.0 + 0.1 * n);
		}
	}
	ck_assert_int_eq(n, 12);
	ck_assert_int_eq(srch_explorer_next(e, pts, N_OF(pts)), 0);
	srch_point best;
	ck_assert_double_eq(srch_explorer_best(e, &best), 1.2);
	ck_assert(srch_point_equal(&s, &best, &all[1]));
	srch_explorer_free(e);
	srch_space_release(&s);
}
END_TEST

/* A lower bound (a candidate stopped at the cut-off) is seen, never
 * proposed again and never the best, even when it is below every time. */
START_TEST(bounds_are_not_best)
{
	srch_space s;
	tiny_space(&s);
	srch_method m = _i ? SRCH_SA_Q : SRCH_RANDOM;
	srch_explorer *e = srch_explorer_new(&s, m, 5);
	srch_point first, pts[4], best;
	ck_assert_int_eq(srch_explorer_next(e, &first, 1), 1);
	ck_assert(srch_explorer_seen(e, &first));
	srch_explorer_report_bound(e, &first, 0.5);
	ck_assert(isinf(srch_explorer_best(e, NULL)));
	int k = srch_explorer_next(e, pts, N_OF(pts));
	ck_assert_int_eq(k, N_OF(pts));
	for (int a = 0; a < k; a++) {
		ck_assert(!srch_point_equal(&s, &pts[a], &first));
		srch_explorer_report(e, &pts[a], 1.0 + a);
	}
	ck_assert_double_eq(srch_explorer_best(e, &best), 1.0);
	ck_assert(srch_point_equal(&s, &best, &pts[0]));
	srch_explorer_free(e);
	srch_space_release(&s);
}
END_TEST

START_TEST(method_names)
{
	srch_method m;
	ck_assert_int_eq(srch_method_parse("sa-q", &m), 0);
	ck_assert_int_eq(m, SRCH_SA_Q);
	ck_assert_str_eq(srch_method_name(m), "sa-q");
	ck_assert_int_eq(srch_method_parse("random", &m), 0);
	ck_assert_int_eq(m, SRCH_RANDOM);
	ck_assert_str_eq(srch_method_name(m), "random");
	ck_assert_int_ne(srch_method_parse("annealing", &m), 0);
	ck_assert_int_ne(srch_method_parse("", &m), 0);
}
END_TEST

static Suite *explore_suite(void)
{
	Suite *s = suite_create("explore");
	TCase *tm = tcase_create("mlp");
	TCase *te = tcase_create("explorers");
	TCase *tb = tcase_create("benchmark");
	tcase_add_test(tm, mlp_gradient_check);
	tcase_add_test(tm, mlp_learns_regression);
	tcase_add_test(tm, mlp_bad_shapes);
	tcase_add_loop_test(te, same_seed_same_proposals, 0, 2);
	tcase_add_loop_test(te, failures_do_not_stop, 0, 2);
	tcase_add_loop_test(te, tiny_space_exhausts, 0, 2);
	tcase_add_loop_test(te, bounds_are_not_best, 0, 2);
	tcase_add_test(te, method_names);
	tcase_add_loop_test(tb, saq_beats_random, 0, N_OF(costfns));
	/* generous: sanitizers slow the benchmark down several times */
	tcase_set_timeout(tm, 120);
	tcase_set_timeout(te, 120);
	tcase_set_timeout(tb, 300);
	suite_add_tcase(s, tm);
	suite_add_tcase(s, te);
	suite_add_tcase(s, tb);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(explore_suite());
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
