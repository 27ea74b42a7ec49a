/*
 * Tests of search/srch_space: the knobs of every example, points mapped to
 * schedules that lower and match the reference interpreter (CPU and GPU),
 * moves along directions, the text form, features and determinism.
 */
#include <check.h>
#include <isl/ctx.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lir.h"
#include "lower.h"
#include "sched.h"
#include "sched_gen.h"
#include "srch_seed.h"
#include "srch_space.h"
#include "te.h"
#include "te_parse.h"
#include "te_verify.h"

/* Random points per example checked against the reference: a fixed number
 * every run and a rotating number chosen by $FTC_TEST_SEED (sched_gen.h). */
#define CPU_FIXED 12
#define CPU_ROTATING 6
#define GPU_FIXED 4
#define GPU_ROTATING 2
#define MOVE_POINTS 20

/* examples/NAME.te at its default shape, verified. */
static te_graph *default_example(const char *name, isl_ctx *ctx)
{
	char path[1024], *src;
	rt_error err;
	te_graph *g;

	snprintf(path, sizeof(path), "%s/examples/%s.te", root(), name);
	src = read_text(path);
	ck_assert_ptr_nonnull(src);
	rt_error_clear(&err);
	g = te_parse(src, NULL, 0, &err);
	ck_assert_msg(g != NULL, "%s: %s", name, err.msg);
	ck_assert_msg(te_verify(g, ctx, &err) == 0, "%s: %s", name, err.msg);
	free(src);
	return g;
}

static void init_space(srch_space *s, const te_graph *g, cg_target_kind t, const char *name)
{
	rt_error err;

	srch_space_release(s);
	rt_error_clear(&err);
	ck_assert_msg(srch_space_init(s, g, t, &err) == 0, "%s: %s", name, err.msg);
}

static int knob_index(const srch_space *s, const char *key)
{
	for (int i = 0; i < s->nknobs; i++)
		if (!strcmp(s->knobs[i].key, key))
			return i;
	return -1;
}

/* ---- sizes and knobs ---- */

START_TEST(gemm_1024_space)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = default_example("gemm", ctx);
	srch_space *s = calloc(1, sizeof(*s));
	int i;

	ck_assert_ptr_nonnull(s);
	init_space(s, g, CG_TARGET_CPU, "gemm");
	/* splits i, j (4 parts: C(13,3) = 286 tuples of 2^10), k (3 parts:
	 * C(12,2) = 66); order 4, par 3, vec 2, unroll 4, cw 2, cr A 3, cr B 3. */
	ck_assert_int_eq(s->nknobs, 10);
	ck_assert_int_eq(s->nslots, 4 + 4 + 3 + 7);
	i = knob_index(s, "C.i");
	ck_assert_int_ge(i, 0);
	ck_assert_int_eq(s->knobs[i].nparts, 4);
	ck_assert(s->knobs[i].nvalues == 286);
	ck_assert(s->knobs[knob_index(s, "C.k")].nvalues == 66);
	ck_assert_int_eq(s->knobs[knob_index(s, "C.order")].nchoices, 4);
	ck_assert_int_eq(s->knobs[knob_index(s, "C.par")].nchoices, 3);
	ck_assert_int_eq(s->knobs[knob_index(s, "C.unroll")].nchoices, 4);
	ck_assert_int_eq(s->knobs[knob_index(s, "C.cr.A")].nchoices, 3);
	ck_assert_int_ge(knob_index(s, "C.cr.B"), 0);
	ck_assert_int_ge(knob_index(s, "C.cw"), 0);
	ck_assert(fabs(s->log10_size - log10(286.0 * 286 * 66 * 4 * 3 * 2 * 4 * 2 * 3 * 3)) < 1e-9);
	printf("gemm 1024^3: cpu log10(size) = %.2f, %d knobs, %d directions, %d features\n",
	       s->log10_size, s->nknobs, srch_space_ndirs(s), srch_space_nfeatures(s));
	init_space(s, g, CG_TARGET_CUDA, "gemm");
	ck_assert(s->log10_size > 6 && s->log10_size < 12);
	printf("gemm 1024^3: gpu log10(size) = %.2f, %d knobs\n", s->log10_size, s->nknobs);
	srch_space_release(s);
	free(s);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/* Extents with few divisors also allow rounded-up products. */
START_TEST(awkward_extents)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = default_example("conv1d", ctx); /* O.q = 3130 = 2 * 5 * 313 */
	srch_space *s = calloc(1, sizeof(*s));
	const srch_knob *k;

	ck_assert_ptr_nonnull(s);
	init_space(s, g, CG_TARGET_CPU, "conv1d");
	k = &s->knobs[knob_index(s, "O.q")];
	ck_assert_int_eq(k->extent, 3130);
	ck_assert_int_eq(k->nprods, 3); /* 3136 is a multiple of 8 and of 16 */
	ck_assert_int_eq(k->prods[1], 3132);
	ck_assert_int_eq(k->prods[2], 3136);
	k = &s->knobs[knob_index(s, "O.k")]; /* 256: plenty of divisors */
	ck_assert_int_eq(k->nprods, 1);
	srch_space_release(s);
	free(s);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

START_TEST(knobs_of_every_example)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = default_example(examples[_i], ctx);
	srch_space *s = calloc(1, sizeof(*s));
	int nsplit = 0;

	ck_assert_ptr_nonnull(s);
	for (int t = 0; t < 2; t++) {
		init_space(s, g, t ? CG_TARGET_CUDA : CG_TARGET_CPU, examples[_i]);
		ck_assert_int_gt(s->nknobs, 0);
		ck_assert_int_le(s->nslots, SRCH_MAX_SLOTS);
		ck_assert(isfinite(s->log10_size) && s->log10_size > 0);
		printf("%-18s %s log10(size) %5.2f, %2d knobs:", examples[_i], t ? "gpu" : "cpu",
		       s->log10_size, s->nknobs);
		for (int i = 0; i < s->nknobs; i++) {
			const srch_knob *k = &s->knobs[i];

			ck_assert_ptr_null(strchr(k->key, ' '));
			for (int j = 0; j < i; j++)
				ck_assert_str_ne(k->key, s->knobs[j].key);
			if (k->kind == SRCH_SPLIT) {
				ck_assert_int_gt(k->extent, 1);
				ck_assert_int_eq(k->prods[0], k->extent);
				nsplit += !t;
				printf(" %s(%d)", k->key, k->nparts);
			} else {
				ck_assert_int_ge(k->nchoices, 2);
				printf(" %s[%d]", k->key, k->nchoices);
			}
		}
		printf("\n");
	}
	ck_assert_int_gt(nsplit, 0);
	srch_space_release(s);
	free(s);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/* ---- points to schedules ---- */

/* The schedule of p lowers and computes what the reference computes. */
static void check_point(const te_graph *g, isl_ctx *ctx, const srch_space *s, const srch_point *p,
			const char *what)
{
	char *text = srch_point_schedule(s, p), *cfg = srch_point_print(s, p);
	sch_schedule *sc;
	lir_func *f;
	rt_error err;
	const char *bad;

	ck_assert_ptr_nonnull(text);
	ck_assert_ptr_nonnull(cfg);
	rt_error_clear(&err);
	sc = sch_parse(text, &err);
	ck_assert_msg(sc != NULL, "%s: bad schedule text: %s\n%s", what, err.msg, text);
	f = lir_lower(g, sc, ctx, "k", &err);
	ck_assert_msg(f != NULL, "%s: %s\nconfig: %s\nschedule:\n%s", what, err.msg, cfg, text);
	ck_assert_msg(lir_verify(f, &err) == 0, "%s: invalid lir: %s\n%s", what, err.msg, text);
	bad = check_kernel(g, f);
	ck_assert_msg(!bad[0], "%s: %s\nconfig: %s\nschedule:\n%s", what, bad, cfg, text);
	lir_func_free(f);
	sch_free(sc);
	free(text);
	free(cfg);
}

/* The default point and random points fixed + rotating of example ex's
 * space lowered and checked; the random points are those at
 * test_case_index() in the stream of the example's generator. */
static void points_lower(int ex, cg_target_kind t, int fixed, int rotating)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = small_example(examples[ex], ctx);
	srch_space *s = calloc(1, sizeof(*s));
	srch_point p;
	const char *seed = getenv("FTC_SPACE_SEED");
	uint64_t rng = 1000 + (uint64_t)ex + (seed ? strtoull(seed, NULL, 10) * 7919 : 0);
	char what[128];
	uint64_t at = 0;

	ck_assert_ptr_nonnull(s);
	init_space(s, g, t, examples[ex]);
	srch_point_default(s, &p);
	ck_assert(srch_point_valid(s, &p));
	snprintf(what, sizeof(what), "%s %s default", examples[ex], t ? "gpu" : "cpu");
	check_point(g, ctx, s, &p, what);
	for (int j = 0; j < fixed + rotating; j++) {
		uint64_t i = test_case_index(j, fixed, rotating);

		for (; at <= i; at++)
			srch_point_random(s, &rng, &p);
		ck_assert(srch_point_valid(s, &p));
		snprintf(what, sizeof(what), "%s %s point %llu", examples[ex], t ? "gpu" : "cpu", (unsigned long long)i);
		check_point(g, ctx, s, &p, what);
	}
	srch_space_release(s);
	free(s);
	te_graph_free(g);
	isl_ctx_free(ctx);
}

/* $FTC_SPACE_POINTS overrides the number of random points, all fixed (a
 * longer soak). */
static void points_lower_soak(int ex, cg_target_kind t, int fixed, int rotating)
{
	const char *e = getenv("FTC_SPACE_POINTS");

	if (e && atoi(e) > 0)
		points_lower(ex, t, atoi(e), 0);
	else
		points_lower(ex, t, fixed, rotating);
}

START_TEST(cpu_points_lower_and_match)
{
	points_lower_soak(_i, CG_TARGET_CPU, CPU_FIXED, CPU_ROTATING);
}
END_TEST

START_TEST(gpu_points_lower_and_match)
{
	points_lower_soak(_i, CG_TARGET_CUDA, GPU_FIXED, GPU_ROTATING);
}
END_TEST

static void check_moves(const srch_space *s, const srch_point *p, const char *name);

/* Graphs the examples do not cover: axes of extent 1 (spatial and reduce),
 * a stage with no spatial axis of extent > 1, a chain of injective stages
 * (compute_at into a consumer that may be inlined), an input read by two
 * reductions, a prime extent. */
static const char *const corner_graphs[] = {
	"input A[1, 6, 3] f32\n"
	"input B[1, 5] f32\n"
	"C[n < 1, i < 6, j < 5] = sum(k < 3, l < 1) A[n, i, k] * B[l, j]\n",

	"input A[4, 1] f32\n"
	"D[n < 1, i < 4] = sum(k < 1) A[i, k]\n",

	"input X[6, 5] f32\n"
	"P[i < 6, j < 5] = X[i, j] * 2.0\n"
	"Q[i < 6, j < 5] = P[i, j] + 1.0\n"
	"R[i < 6, j < 1] = sum(k < 5) Q[i, k] + X[i, k]\n"
	"S[a < 1] = sum(i < 6) R[i, 0]\n",

	"input X[17, 20] f32\n"
	"M[i < 17] = max(j < 20) X[i, j]\n"
	"T[i < 17] = sum(j < 20) X[i, j] * 0.5\n"
	"Y[i < 17, j < 20] = X[i, j] - M[i] + T[i]\n",
};

/* ---- the rfactor knob (RF) ---- */

/* Graphs where RF is offered, with the stage that gets it and its number
 * of choices on 2 threads (3: lanes and threads; 2: lanes only). */
static const struct {
	const char *src, *stage;
	int nchoices;
} rf_graphs[] = {
	/* sum.te at 128: a sum to a scalar, rows split over the threads */
	{"input A[128, 128] f32\ns = sum(i < 128, j < 128) A[i, j]\n", "s", 3},
	/* gemv with few rows: k both lanes and threads (64 = 2 x 2 x 16) */
	{"input A[9, 64] f32\ninput x[64] f32\ny[i < 9] = sum(k < 64) A[i, k] * x[k]\n", "y", 3},
	/* gemv with many rows: the row reduction in lanes only */
	{"input A[40, 96] f32\ninput x[96] f32\ny[i < 40] = sum(k < 96) A[i, k] * x[k]\n", "y", 2},
	/* softmax's row maximum and row sum, E inlined into Sum or not */
	{"input X[40, 64] f32\nMx[i < 40] = max(j < 64) X[i, j]\nE[i < 40, j < 64] = exp(X[i, j] - Mx[i])\n"
	 "Sum[i < 40] = sum(j < 64) E[i, j]\nY[i < 40, j < 64] = E[i, j] / Sum[i]\n", "Sum", 2},
	/* axes of extent 1 around the long one, a min */
	{"input A[3, 80] f32\ny[a < 1, i < 3] = min(b < 1, k < 80, c < 1) A[i + a, k + b + c]\n", "y", 2},
	/* a 3-d reduction, the threads over its outer axis */
	{"input A[4, 6, 64] f32\ns = sum(i < 4, j < 6, k < 64) A[i, j, k]\n", "s", 3},
};
#define RF_GRAPHS (int)(sizeof(rf_graphs) / sizeof(rf_graphs[0]))
#define RF_POINTS 6

static te_graph *parse_verified(const char *src, isl_ctx *ctx)
{
	rt_error err;
	te_graph *g;

	rt_error_clear(&err);
	g = te_parse(src, NULL, 0, &err);
	ck_assert_msg(g != NULL, "%s: %s", src, err.msg);
	ck_assert_msg(te_verify(g, ctx, &err) == 0, "%s: %s", src, err.msg);
	return g;
}

static void init_space_threads(srch_space *s, const te_graph *g, int threads)
{
	cg_target t;
	rt_error err;

	memset(&t, 0, sizeof(t));
	t.kind = CG_TARGET_CPU;
	t.threads = threads;
	rt_error_clear(&err);
	ck_assert_msg(srch_space_init_for(s, g, &t, &err) == 0, "%s", err.msg);
}

/* Every RF value of the graph's knob, over random points of the rest,
 * lowers and matches the reference; the default point has RF 0. */
START_TEST(rf_points_lower_and_match)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = parse_verified(rf_graphs[_i].src, ctx);
	srch_space *s = calloc(1, sizeof(*s));
	srch_point p;
	uint64_t rng = 77 + (uint64_t)_i;
	char key[64], what[128];
	int k, nrf = 0;

	ck_assert_ptr_nonnull(s);
	init_space_threads(s, g, 2);
	snprintf(key, sizeof(key), "%s.rf", rf_graphs[_i].stage);
	k = knob_index(s, key);
	ck_assert_msg(k >= 0, "graph %d has no knob %s", _i, key);
	ck_assert_int_eq(s->knobs[k].nchoices, rf_graphs[_i].nchoices);
	srch_point_default(s, &p);
	ck_assert_int_eq(p.v[s->knobs[k].slot], 0);
	for (int i = 0; i < s->nknobs; i++)
		nrf += s->knobs[i].role == SRCH_ROLE_RF;
	for (int v = 1; v < s->knobs[k].nchoices; v++)
		for (int j = 0; j < RF_POINTS; j++) {
			char *text;

			srch_point_random(s, &rng, &p);
			p.v[s->knobs[k].slot] = v;
			ck_assert(srch_point_valid(s, &p));
			text = srch_point_schedule(s, &p);
			ck_assert_ptr_nonnull(text);
			ck_assert_msg(strstr(text, "rfactor") && strstr(text, "vectorize"), "%s", text);
			ck_assert_msg(v == 1 || strstr(text, "parts=2"), "%s", text);
			free(text);
			snprintf(what, sizeof(what), "rf graph %d, %s=%d, point %d (%d rf knobs)", _i, key, v, j, nrf);
			check_point(g, ctx, s, &p, what);
		}
	srch_space_release(s);
	free(s);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/* RF is not offered where it cannot help: a GEMM (k strided in B, many
 * outputs), a short reduction, one thread for the threads' variant, GPU. */
START_TEST(rf_only_where_it_helps)
{
	static const char *const none[] = {
		"input A[64, 64] f32\ninput B[64, 64] f32\nC[i < 64, j < 64] = sum(k < 64) A[i, k] * B[k, j]\n",
		"input A[4, 48] f32\ny[i < 4] = sum(k < 48) A[i, k]\n",
		"input A[4, 72] f32\ny[i < 4] = sum(k < 72) A[i, k]\n", /* 72: no whole 16-lane vectors */
		"input A[64, 64] f32\ny[i < 64] = sum(k < 64) A[k, i]\n", /* strided, many outputs */
	};
	isl_ctx *ctx = new_ctx();
	srch_space *s = calloc(1, sizeof(*s));
	te_graph *g;

	ck_assert_ptr_nonnull(s);
	for (int i = 0; i < (int)(sizeof(none) / sizeof(none[0])); i++) {
		g = parse_verified(none[i], ctx);
		init_space_threads(s, g, 2);
		for (int k = 0; k < s->nknobs; k++)
			ck_assert_msg(s->knobs[k].role != SRCH_ROLE_RF, "graph %d has %s", i, s->knobs[k].key);
		srch_space_release(s);
		te_graph_free(g);
	}
	g = parse_verified(rf_graphs[0].src, ctx);
	init_space_threads(s, g, 1);
	ck_assert_int_eq(s->knobs[knob_index(s, "s.rf")].nchoices, 2);
	srch_space_release(s);
	init_space(s, g, CG_TARGET_CUDA, "sum");
	ck_assert_int_lt(knob_index(s, "s.rf"), 0);
	srch_space_release(s);
	te_graph_free(g);
	free(s);
	isl_ctx_free(ctx);
}
END_TEST

/* RF's lanes are one of the target's vectors of the stage's type: a row
 * of 72 f32 has no whole 16-lane (AVX-512) vectors but 9 of 8 lanes
 * (AVX2), and a row of f64 splits by 8 on AVX-512. */
START_TEST(rf_lanes_from_target)
{
	static const struct {
		const char *src;
		int vector_bits, lanes; /* 0: no RF knob */
	} cases[] = {
		{"input A[4, 72] f32\ny[i < 4] = sum(k < 72) A[i, k]\n", 512, 0},
		{"input A[4, 72] f32\ny[i < 4] = sum(k < 72) A[i, k]\n", 256, 8},
		{"input A[4, 72] f64\ny[i < 4] = sum(k < 72) A[i, k]\n", 512, 8},
		{"input A[4, 64] f32\ny[i < 4] = sum(k < 64) A[i, k]\n", 512, 16},
	};
	isl_ctx *ctx = new_ctx();
	srch_space *s = calloc(1, sizeof(*s));

	ck_assert_ptr_nonnull(s);
	for (int i = 0; i < (int)(sizeof(cases) / sizeof(cases[0])); i++) {
		te_graph *g = parse_verified(cases[i].src, ctx);
		cg_target t;
		rt_error err;
		srch_point p;
		char want[32], *text;
		int k;

		memset(&t, 0, sizeof(t));
		t.kind = CG_TARGET_CPU;
		t.threads = 2;
		t.vector_bits = cases[i].vector_bits;
		rt_error_clear(&err);
		ck_assert_msg(srch_space_init_for(s, g, &t, &err) == 0, "%s", err.msg);
		k = knob_index(s, "y.rf");
		ck_assert_msg((k >= 0) == (cases[i].lanes > 0), "case %d: knob %d", i, k);
		if (k >= 0) {
			srch_point_default(s, &p);
			p.v[s->knobs[k].slot] = 1;
			text = srch_point_schedule(s, &p);
			ck_assert_ptr_nonnull(text);
			snprintf(want, sizeof(want), "split y k %d\n", cases[i].lanes);
			ck_assert_msg(strstr(text, want), "case %d: no '%s' in\n%s", i, want, text);
			free(text);
			check_point(g, ctx, s, &p, "rf lanes");
		}
		srch_space_release(s);
		te_graph_free(g);
	}
	free(s);
	isl_ctx_free(ctx);
}
END_TEST

/* RF_ROWS: a GEMV with many rows gets 1, 4 or 8 rows at a time, each
 * lowering to the reference; a sum to a scalar, a row reduction with
 * fewer rows than RF_ROWS_MIN and the RF 2 variant get no rows. */
START_TEST(rf_rows_knob)
{
	static const char *const gemv = "input A[40, 96] f32\ninput x[96] f32\ny[i < 40] = sum(k < 96) A[i, k] * x[k]\n";
	static const char *const want[] = {NULL, "split y.rf i 4\n", "split y.rf i 8\n"};
	isl_ctx *ctx = new_ctx();
	srch_space *s = calloc(1, sizeof(*s));
	te_graph *g = parse_verified(gemv, ctx);
	srch_point p;
	int rf, rows;

	ck_assert_ptr_nonnull(s);
	init_space_threads(s, g, 2);
	rf = knob_index(s, "y.rf");
	rows = knob_index(s, "y.rfrows");
	ck_assert_int_ge(rf, 0);
	ck_assert_int_ge(rows, 0);
	ck_assert_int_eq(s->knobs[rows].nchoices, 3);
	for (int v = 0; v < 3; v++) {
		char *text;

		srch_point_default(s, &p);
		p.v[s->knobs[rf].slot] = 1;
		p.v[s->knobs[rows].slot] = v;
		text = srch_point_schedule(s, &p);
		ck_assert_ptr_nonnull(text);
		ck_assert_msg(want[v] ? strstr(text, want[v]) != NULL : strstr(text, "split y.rf") == NULL,
			      "rows %d:\n%s", v, text);
		ck_assert_msg(v == 0 || strstr(text, "unroll y.rf i.i\n"), "rows %d:\n%s", v, text);
		free(text);
		check_point(g, ctx, s, &p, "rf rows");
	}
	srch_space_release(s);
	te_graph_free(g);
	for (int i = 0; i < 2; i++) {
		g = parse_verified(i ? "input A[6, 96] f32\ny[i < 6] = sum(k < 96) A[i, k]\n" : rf_graphs[0].src, ctx);
		init_space_threads(s, g, 2);
		for (int k = 0; k < s->nknobs; k++)
			ck_assert_msg(s->knobs[k].role != SRCH_ROLE_RF_ROWS, "graph %d has %s", i, s->knobs[k].key);
		srch_space_release(s);
		te_graph_free(g);
	}
	free(s);
	isl_ctx_free(ctx);
}
END_TEST

/* A stride-2 convolution gets DEINT for the tensor it reads at stride 2
 * along q (the padded input, or the input itself without padding); its
 * copies lower and match the reference with the padding stage kept at
 * root, and the constructed points take it.  Stride DEINT_MAX_STRIDE (8)
 * still gets the knob, 9 and 1 do not, nor a stride in a dimension other
 * than the last. */
static const char *const deint_conv =
	"param S = %d, P = 3, Q = 5\n"
	"input I[1, 3, 2 * S + 3, S * (Q - 1) + 3] f32\ninput F[4, 3, 3, 3] f32\n"
	"%s"
	"O[n < 1, k < 4, p < P, q < Q] = sum(c < 3, r < 3, s < 3) %s[n, c, p * 2 + r, q * S + s] * F[k, c, r, s]\n";
static const char *const deint_pad =
	"Ip[n < 1, c < 3, h < 2 * S + 5, w < S * (Q - 1) + 5] = select(h >= 1 && h < 2 * S + 4 && w >= 1 && "
	"w < S * (Q - 1) + 4, I[n, c, h - 1, w - 1], 0.0)\n";

static te_graph *deint_graph(int stride, bool pad, isl_ctx *ctx)
{
	char src[1024];

	snprintf(src, sizeof(src), deint_conv, stride, pad ? deint_pad : "", pad ? "Ip" : "I");
	return parse_verified(src, ctx);
}

START_TEST(deint_knob)
{
	static const struct {
		int stride;
		bool pad, knob;
		const char *key;
	} cases[] = {
		{2, true, true, "O.deint.Ip"}, {2, false, true, "O.deint.I"}, {8, false, true, "O.deint.I"},
		{9, false, false, "O.deint.I"}, {1, true, false, "O.deint.Ip"},
	};
	isl_ctx *ctx = new_ctx();
	srch_space *s = calloc(1, sizeof(*s));
	srch_point *pts = calloc(SRCH_SEED_MAX, sizeof(*pts));
	srch_machine m = {512, 32, 48 << 10, 1 << 20, 32 << 20, 2};
	uint64_t rng = 7;

	ck_assert_ptr_nonnull(s);
	ck_assert_ptr_nonnull(pts);
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		te_graph *g = deint_graph(cases[c].stride, cases[c].pad, ctx);
		int k, place, n, seen = 0;
		char want[96];

		init_space_threads(s, g, 2);
		k = knob_index(s, cases[c].key);
		ck_assert_msg((k >= 0) == cases[c].knob, "stride %d: knob %s", cases[c].stride, cases[c].key);
		if (k < 0) {
			srch_space_release(s);
			te_graph_free(g);
			continue;
		}
		ck_assert_int_eq(s->knobs[k].nchoices, 3);
		place = knob_index(s, "Ip.place");
		snprintf(want, sizeof(want), "stack block=3:%d perm=0,1,2,4,3\n", cases[c].stride);
		for (int i = 0; i < 8; i++) {
			srch_point p;
			char *text;

			srch_point_random(s, &rng, &p);
			p.v[s->knobs[k].slot] = 1 + i % 2;
			if (place >= 0)
				p.v[s->knobs[place].slot] = i % 3; /* inlined, root or at: Ip stays at root */
			text = srch_point_schedule(s, &p);
			ck_assert_ptr_nonnull(text);
			ck_assert_msg(strstr(text, want) && !strstr(text, "compute_inline Ip") &&
					      !strstr(text, "compute_at Ip"),
				      "stride %d:\n%s", cases[c].stride, text);
			free(text);
			check_point(g, ctx, s, &p, "deint");
		}
		n = srch_seed_points(s, &m, pts, SRCH_SEED_MAX);
		for (int i = 0; i < n; i++)
			seen |= 1 << pts[i].v[s->knobs[k].slot];
		ck_assert_msg(seen & 2, "stride %d: no constructed point de-interleaves", cases[c].stride);
		srch_space_release(s);
		te_graph_free(g);
	}
	/* q at stride 2 in a dimension that is not the last: no knob */
	{
		te_graph *g = parse_verified("input I[1, 3, 11, 9] f32\ninput F[4, 3, 3, 3] f32\n"
					     "O[n < 1, k < 4, p < 3, q < 5] = sum(c < 3, r < 3, s < 3) "
					     "I[n, c, q * 2 + s, p * 2 + r] * F[k, c, r, s]\n", ctx);

		init_space_threads(s, g, 2);
		ck_assert_int_lt(knob_index(s, "O.deint.I"), 0);
		te_graph_free(g);
	}
	free(pts);
	srch_space_release(s);
	free(s);
	isl_ctx_free(ctx);
}
END_TEST

/* The constructed panel takes any divisor of the vector axis's tiles that
 * fits its share of L2, not only powers of two: depthwise_conv2d's Q = 112
 * is 7 tiles of 16, all in one panel (the S0 part of q is 1). */
START_TEST(seed_panel_takes_any_divisor)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = default_example("depthwise_conv2d", ctx);
	srch_space *s = calloc(1, sizeof(*s));
	srch_point *pts = calloc(SRCH_SEED_MAX, sizeof(*pts));
	srch_machine m = {512, 32, 48 << 10, 1 << 20, 32 << 20, 1};
	int n, q, whole = 0;

	ck_assert_ptr_nonnull(s);
	ck_assert_ptr_nonnull(pts);
	init_space_threads(s, g, 1);
	q = knob_index(s, "O.q");
	ck_assert_int_ge(q, 0);
	n = srch_seed_points(s, &m, pts, SRCH_SEED_MAX);
	for (int i = 0; i < n; i++) {
		const int64_t *f = &pts[i].v[s->knobs[q].slot];

		if (f[3] == 16)
			whole += f[0] == 1 && f[1] * f[2] == 7;
	}
	ck_assert_int_gt(whole, 0);
	free(pts);
	srch_space_release(s);
	free(s);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/* A stage the space tiles into SCH_MAX_LOOPS loops (5 spatial axes in 4
 * parts, 4 reduce axes in 3) has a space; one more loop (6 in 4, 3 in 3:
 * 33) is refused with the stage's line and column and the count. */
START_TEST(loops_to_tile_at_the_limit)
{
	static const char *const at =
		"input A[2, 2, 2, 2, 2, 2] f32\ninput B[2, 2, 2, 2] f32\n"
		"O[a < 2, b < 2, c < 2, d < 2, e < 2] = sum(f < 2, g < 2, h < 2, i < 2) A[a, b, c, d, e, f] * B[f, g, h, i]\n";
	static const char *const past =
		"input A[2, 2, 2, 2, 2, 2] f32\ninput B[2, 2, 2] f32\n"
		"O[a < 2, b < 2, c < 2, d < 2, e < 2, f < 2] = sum(g < 2, h < 2, i < 2) A[a, b, c, d, e, f] * B[g, h, i]\n";
	isl_ctx *ctx = new_ctx();
	srch_space *s = calloc(1, sizeof(*s));
	te_graph *g = parse_verified(at, ctx);
	cg_target t;
	rt_error err;

	ck_assert_ptr_nonnull(s);
	init_space_threads(s, g, 1);
	srch_space_release(s);
	te_graph_free(g);
	g = parse_verified(past, ctx);
	memset(&t, 0, sizeof(t));
	t.kind = CG_TARGET_CPU;
	t.threads = 1;
	rt_error_clear(&err);
	ck_assert_int_eq(srch_space_init_for(s, g, &t, &err), -1);
	ck_assert_int_eq(err.line, 3);
	ck_assert_int_eq(err.col, 1);
	ck_assert_msg(strstr(err.msg, "O: too many loops to tile") && strstr(err.msg, "make 33 loops (at most 32)"),
		      "%s", err.msg);
	srch_space_release(s);
	free(s);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/* sum.te's constructed points include both RF variants, and they lower
 * at sum.te's own shape (2048^2). */
START_TEST(rf_seeds_of_sum)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = default_example("sum", ctx);
	srch_space *s = calloc(1, sizeof(*s));
	srch_point *pts = calloc(SRCH_SEED_MAX, sizeof(*pts));
	srch_machine m = {512, 32, 48 << 10, 1 << 20, 32 << 20, 2};
	int n, k, seen = 0;

	ck_assert_ptr_nonnull(s);
	ck_assert_ptr_nonnull(pts);
	init_space_threads(s, g, 2);
	k = knob_index(s, "s.rf");
	ck_assert_int_ge(k, 0);
	n = srch_seed_points(s, &m, pts, SRCH_SEED_MAX);
	for (int i = 0; i < n; i++)
		seen |= 1 << pts[i].v[s->knobs[k].slot];
	ck_assert_int_eq(seen, 7);
	for (int i = 0; i < n; i++) {
		char *text = srch_point_schedule(s, &pts[i]);
		sch_schedule *sc;
		lir_func *f;
		rt_error err;

		ck_assert_ptr_nonnull(text);
		rt_error_clear(&err);
		sc = sch_parse(text, &err);
		ck_assert_msg(sc != NULL, "%s\n%s", err.msg, text);
		f = lir_lower(g, sc, ctx, "k", &err);
		ck_assert_msg(f != NULL, "%s\n%s", err.msg, text);
		ck_assert_msg(lir_verify(f, &err) == 0, "%s\n%s", err.msg, text);
		lir_func_free(f);
		sch_free(sc);
		free(text);
	}
	free(pts);
	srch_space_release(s);
	free(s);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

START_TEST(corner_graphs_lower)
{
	isl_ctx *ctx = new_ctx();
	srch_space *s = calloc(1, sizeof(*s));
	srch_point p;
	rt_error err;
	te_graph *g;
	char what[64];

	ck_assert_ptr_nonnull(s);
	rt_error_clear(&err);
	g = te_parse(corner_graphs[_i], NULL, 0, &err);
	ck_assert_msg(g != NULL, "%s", err.msg);
	ck_assert_msg(te_verify(g, ctx, &err) == 0, "%s", err.msg);
	for (int t = 0; t < 2; t++) {
		uint64_t rng = 3 + (uint64_t)_i;

		init_space(s, g, t ? CG_TARGET_CUDA : CG_TARGET_CPU, "corner");
		srch_point_default(s, &p);
		snprintf(what, sizeof(what), "graph %d %s default", _i, t ? "gpu" : "cpu");
		check_point(g, ctx, s, &p, what);
		for (int n = 0; n < (t ? 15 : 40); n++) {
			srch_point_random(s, &rng, &p);
			snprintf(what, sizeof(what), "graph %d %s point %d", _i, t ? "gpu" : "cpu", n);
			check_point(g, ctx, s, &p, what);
		}
		check_moves(s, &p, "corner");
	}
	srch_space_release(s);
	free(s);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/* The default point is the naive schedule: no annotation, no cache, no
 * placement; every split keeps the whole extent in its last part. */
START_TEST(default_point_is_naive)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = default_example("conv2d", ctx);
	srch_space *s = calloc(1, sizeof(*s));
	srch_point p;
	char *text;

	ck_assert_ptr_nonnull(s);
	init_space(s, g, CG_TARGET_CPU, "conv2d");
	srch_point_default(s, &p);
	text = srch_point_schedule(s, &p);
	ck_assert_ptr_nonnull(text);
	ck_assert_ptr_null(strstr(text, "parallel"));
	ck_assert_ptr_null(strstr(text, "vectorize"));
	ck_assert_ptr_null(strstr(text, "cache_"));
	ck_assert_ptr_null(strstr(text, "compute_"));
	ck_assert_ptr_nonnull(strstr(text, "split O q 56\n"));
	ck_assert_ptr_nonnull(strstr(text, "split O q.i 56\n"));
	ck_assert_ptr_nonnull(strstr(text, "split O q.i.i 56\n"));
	free(text);
	srch_space_release(s);
	free(s);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/* A hand-picked point gives the expected steps. */
START_TEST(point_to_steps)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = default_example("gemm", ctx);
	srch_space *s = calloc(1, sizeof(*s));
	srch_point p;
	rt_error err;
	char *text;

	ck_assert_ptr_nonnull(s);
	init_space(s, g, CG_TARGET_CPU, "gemm");
	rt_error_clear(&err);
	ck_assert_msg(srch_point_parse(s,
				       "C.i=8,4,8,4 C.j=4,4,4,16 C.k=16,16,4 C.order=0 C.par=2 C.vec=1 "
				       "C.unroll=2 C.cw=1 C.cr.A=0 C.cr.B=1",
				       &p, &err) == 0,
		      "%s", err.msg);
	text = srch_point_schedule(s, &p);
	ck_assert_ptr_nonnull(text);
	ck_assert_str_eq(text, "split C i 128\nsplit C i.i 32\nsplit C i.i.i 4\n"
			       "split C j 256\nsplit C j.i 64\nsplit C j.i.i 16\n"
			       "split C k 64\nsplit C k.i 4\n"
			       "reorder C i.o j.o i.i.o j.i.o k.o i.i.i.o j.i.i.o k.i.o k.i.i i.i.i.i j.i.i.i\n"
			       "fuse C i.o j.o\nparallel C i.o+j.o\nvectorize C j.i.i.i\n"
			       "unroll C k.i.i\nunroll C j.i.i.o\ncache_write C j.i.o local\n"
			       "cache_read B C k.o stack\n");
	free(text);
	/* The register tile's rows unrolled and B packed once per panel (at
	 * the last S0 loop, after the fuse): examples/gemm.sched's form. */
	ck_assert_msg(srch_point_parse(s,
				       "C.i=1,256,1,4 C.j=16,1,4,16 C.k=1,1,1024 C.order=3 C.par=2 C.vec=1 "
				       "C.unroll=3 C.cw=1 C.cr.A=0 C.cr.B=2",
				       &p, &err) == 0,
		      "%s", err.msg);
	text = srch_point_schedule(s, &p);
	ck_assert_ptr_nonnull(text);
	ck_assert_str_eq(text, "split C i 1024\nsplit C i.i 4\nsplit C i.i.i 4\n"
			       "split C j 64\nsplit C j.i 64\nsplit C j.i.i 16\n"
			       "split C k 1024\nsplit C k.i 1024\n"
			       "reorder C i.o j.o i.i.o j.i.o k.o k.i.o k.i.i i.i.i.o j.i.i.o i.i.i.i j.i.i.i\n"
			       "fuse C i.o j.o\nparallel C i.o+j.o\nvectorize C j.i.i.i\n"
			       "unroll C i.i.i.i\ncache_write C j.i.o local\n"
			       "cache_read B C i.o+j.o stack\n");
	free(text);
	srch_space_release(s);
	free(s);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/* ---- moves ---- */

static int knobs_differing(const srch_space *s, const srch_point *a, const srch_point *b)
{
	int n = 0;

	for (int k = 0; k < s->nknobs; k++) {
		const srch_knob *kn = &s->knobs[k];
		int nv = kn->kind == SRCH_SPLIT ? kn->nparts : 1;

		n += memcmp(&a->v[kn->slot], &b->v[kn->slot], (size_t)nv * sizeof(a->v[0])) != 0;
	}
	return n;
}

static int64_t least_prime(int64_t n)
{
	for (int64_t q = 2; q <= n / q; q++)
		if (n % q == 0)
			return q;
	return n;
}

/* Does a CPU split move d from p land outside the space only because the
 * point unrolls a loop and the move takes it past LIR_MAX_UNROLL copies
 * (srch_point_valid's CPU check)? */
static bool unroll_refuses(const srch_space *s, const srch_point *p, srch_dir d)
{
	const srch_knob *k = &s->knobs[d.knob];
	srch_point m = *p;
	int64_t f = least_prime(m.v[k->slot + d.from]);
	bool unrolls = false;

	for (int i = 0; i < s->nknobs; i++)
		unrolls |= s->knobs[i].role == SRCH_ROLE_UNROLL && p->v[s->knobs[i].slot] != 0;
	m.v[k->slot + d.from] /= f;
	m.v[k->slot + d.to] *= f;
	return unrolls && !srch_point_valid(s, &m);
}

static void check_moves(const srch_space *s, const srch_point *p, const char *name)
{
	int nd = srch_space_ndirs(s);
	srch_point q, r;

	for (int i = 0; i < nd; i++) {
		srch_dir d = srch_space_dir(s, i), back = d;
		const srch_knob *k = &s->knobs[d.knob];
		const int64_t *v = &p->v[k->slot];
		bool ok = srch_point_move(s, p, d, &q);

		ck_assert_int_ge(d.knob, 0);
		if (k->kind == SRCH_SPLIT && v[d.from] == 1)
			ck_assert_msg(!ok, "%s: moved a factor out of a part equal to 1", name);
		if (k->kind == SRCH_CHOICE && (v[0] + d.to < 0 || v[0] + d.to >= k->nchoices))
			ck_assert_msg(!ok, "%s: moved a choice out of range", name);
		if (s->target == CG_TARGET_CPU && k->kind == SRCH_SPLIT && v[d.from] > 1)
			ck_assert_msg(ok || unroll_refuses(s, p, d), "%s: a valid split move was refused", name);
		if (!ok) {
			ck_assert(srch_point_equal(s, p, &q));
			continue;
		}
		ck_assert_msg(srch_point_valid(s, &q), "%s: a move left the space", name);
		ck_assert_int_eq(knobs_differing(s, p, &q), 1);
		/* The way back: a choice always; a split when the prime moved
		 * is the least one of the destination part afterwards. */
		if (k->kind == SRCH_CHOICE) {
			back.to = -d.to;
		} else {
			int64_t moved = least_prime(v[d.from]);

			back.from = d.to;
			back.to = d.from;
			if (v[d.to] > 1 && least_prime(v[d.to]) < moved)
				continue;
		}
		ck_assert_msg(srch_point_move(s, &q, back, &r), "%s: no way back", name);
		ck_assert_msg(srch_point_equal(s, p, &r), "%s: moving back gave another point", name);
	}
}

START_TEST(moves_stay_and_reverse)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = default_example(examples[_i], ctx);
	srch_space *s = calloc(1, sizeof(*s));
	srch_point p;
	uint64_t rng = 77 + (uint64_t)_i;

	ck_assert_ptr_nonnull(s);
	for (int t = 0; t < 2; t++) {
		init_space(s, g, t ? CG_TARGET_CUDA : CG_TARGET_CPU, examples[_i]);
		srch_point_default(s, &p);
		check_moves(s, &p, examples[_i]);
		for (int n = 0; n < MOVE_POINTS; n++) {
			srch_point_random(s, &rng, &p);
			check_moves(s, &p, examples[_i]);
		}
	}
	srch_space_release(s);
	free(s);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

START_TEST(directions_enumerate)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = default_example("gemm", ctx);
	srch_space *s = calloc(1, sizeof(*s));
	srch_dir d;

	ck_assert_ptr_nonnull(s);
	init_space(s, g, CG_TARGET_CPU, "gemm");
	/* 12 + 12 + 6 split directions, 2 for each of 7 choices */
	ck_assert_int_eq(srch_space_ndirs(s), 12 + 12 + 6 + 14);
	d = srch_space_dir(s, 0);
	ck_assert(d.knob == 0 && d.from == 0 && d.to == 1);
	d = srch_space_dir(s, 11);
	ck_assert(d.knob == 0 && d.from == 3 && d.to == 2);
	d = srch_space_dir(s, 30);
	ck_assert(d.knob == 3 && d.to == 1);
	d = srch_space_dir(s, 31);
	ck_assert(d.knob == 3 && d.to == -1);
	ck_assert_int_eq(srch_space_dir(s, srch_space_ndirs(s)).knob, -1);
	srch_space_release(s);
	free(s);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/* ---- text, features, determinism ---- */

START_TEST(print_parse_round_trip)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = default_example(examples[_i], ctx);
	srch_space *s = calloc(1, sizeof(*s));
	srch_point p, q;
	uint64_t rng = 5 + (uint64_t)_i;
	rt_error err;

	ck_assert_ptr_nonnull(s);
	for (int t = 0; t < 2; t++) {
		init_space(s, g, t ? CG_TARGET_CUDA : CG_TARGET_CPU, examples[_i]);
		for (int n = 0; n < 20; n++) {
			char *text, *again;

			srch_point_random(s, &rng, &p);
			text = srch_point_print(s, &p);
			ck_assert_ptr_nonnull(text);
			rt_error_clear(&err);
			ck_assert_msg(srch_point_parse(s, text, &q, &err) == 0, "%s: %s\n%s", examples[_i],
				      err.msg, text);
			ck_assert(srch_point_equal(s, &p, &q));
			ck_assert_int_eq(srch_point_hash(s, &p), srch_point_hash(s, &q));
			again = srch_point_print(s, &q);
			ck_assert_str_eq(text, again);
			free(text);
			free(again);
		}
	}
	srch_space_release(s);
	free(s);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

static const struct {
	const char *text, *msg;
} parse_errors[] = {
	{"C.x=1", "unknown knob 'C.x'"},
	{"C.i", "expected KNOB=VALUE"},
	{"C.i=1,1,1024 C.j=1,1,1,1024", "needs 4 values, got 3"},
	{"C.i=1,1,1,1,1024", "needs 4 values, got 5"},
	{"C.i=2,2,2,2", "multiply to 16, not to the extent 1024"},
	{"C.i=1,1,1,0", "bad value '1,1,1,0'"},
	{"C.i=1,,1,1024", "bad value"},
	{"C.i=1,1,1,1024,", "bad value"},
	{"C.i=a,1,1,1024", "bad value"},
	{"C.par=3", "choice 3 out of range [0, 3)"},
	{"C.par=-1", "bad value"},
	{"C.par=1 C.par=1", "given twice"},
	{"C.i=1,1,1,1024", "missing knob 'C.j'"},
	{"", "missing knob 'C.i'"},
};

START_TEST(parse_errors_are_reported)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = default_example("gemm", ctx);
	srch_space *s = calloc(1, sizeof(*s));
	srch_point p;
	rt_error err;

	ck_assert_ptr_nonnull(s);
	init_space(s, g, CG_TARGET_CPU, "gemm");
	rt_error_clear(&err);
	ck_assert_int_eq(srch_point_parse(s, parse_errors[_i].text, &p, &err), -1);
	ck_assert_msg(strstr(err.msg, parse_errors[_i].msg), "'%s': got '%s', expected '%s'",
		      parse_errors[_i].text, err.msg, parse_errors[_i].msg);
	srch_space_release(s);
	free(s);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/* Rounded-up products parse; others do not. */
START_TEST(parse_rounded_up)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = default_example("conv1d", ctx);
	srch_space *s = calloc(1, sizeof(*s));
	srch_point p, q;
	char *text, *at;
	rt_error err;

	ck_assert_ptr_nonnull(s);
	init_space(s, g, CG_TARGET_CPU, "conv1d");
	srch_point_default(s, &p);
	text = srch_point_print(s, &p);
	ck_assert_ptr_nonnull(text);
	at = strstr(text, "O.q=1,1,1,3130");
	ck_assert_ptr_nonnull(at);
	memcpy(at, "O.q=1,1,1,3136", 14);
	rt_error_clear(&err);
	ck_assert_msg(srch_point_parse(s, text, &q, &err) == 0, "%s", err.msg);
	memcpy(at, "O.q=1,1,1,3140", 14);
	ck_assert_int_eq(srch_point_parse(s, text, &q, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "rounding up"));
	free(text);
	srch_space_release(s);
	free(s);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

START_TEST(features_in_range)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = default_example(examples[_i], ctx);
	srch_space *s = calloc(1, sizeof(*s));
	srch_point p;
	uint64_t rng = 9;
	double f[2048], f2[2048];

	ck_assert_ptr_nonnull(s);
	init_space(s, g, CG_TARGET_CPU, examples[_i]);
	ck_assert_int_le(srch_space_nfeatures(s), 2048);
	for (int n = 0; n < 20; n++) {
		int nf;

		srch_point_random(s, &rng, &p);
		nf = srch_point_features(s, &p, f, 2048);
		ck_assert_int_eq(nf, srch_space_nfeatures(s));
		for (int i = 0; i < nf; i++)
			ck_assert_msg(f[i] >= 0 && f[i] <= 1, "feature %d = %g", i, f[i]);
		ck_assert_int_eq(srch_point_features(s, &p, f2, 2048), nf);
		ck_assert(!memcmp(f, f2, (size_t)nf * sizeof(f[0])));
		ck_assert_int_eq(srch_point_features(s, &p, f2, 3), nf); /* truncated */
	}
	srch_space_release(s);
	free(s);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

START_TEST(random_points_are_deterministic)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = default_example(examples[_i], ctx);
	srch_space *s = calloc(1, sizeof(*s));
	srch_point a, b;
	int same = 0;

	ck_assert_ptr_nonnull(s);
	for (int t = 0; t < 2; t++) {
		uint64_t r1 = 42, r2 = 42, r3 = 43;

		init_space(s, g, t ? CG_TARGET_CUDA : CG_TARGET_CPU, examples[_i]);
		for (int n = 0; n < 20; n++) {
			char *x, *y;

			srch_point_random(s, &r1, &a);
			srch_point_random(s, &r2, &b);
			ck_assert(srch_point_equal(s, &a, &b));
			x = srch_point_schedule(s, &a);
			y = srch_point_schedule(s, &b);
			ck_assert_str_eq(x, y);
			free(x);
			free(y);
			srch_point_random(s, &r3, &b);
			same += srch_point_equal(s, &a, &b);
		}
	}
	ck_assert_int_lt(same, 5);
	srch_space_release(s);
	free(s);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/* GPU points respect the limits: threads per block and shared memory. */
START_TEST(gpu_limits)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = default_example("gemm", ctx);
	srch_space *s = calloc(1, sizeof(*s));
	srch_point p;
	rt_error err;

	ck_assert_ptr_nonnull(s);
	init_space(s, g, CG_TARGET_CUDA, "gemm");
	rt_error_clear(&err);
	/* 32 x 32 threads: fine; 64 x 32: too many. */
	ck_assert_msg(srch_point_parse(s, "C.i=8,4,32,1 C.j=8,4,32,1 C.k=1,1,1024 C.order=0 C.bfuse=0 "
					  "C.cw=1 C.cr.A=0 C.cr.B=0", &p, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(srch_point_parse(s, "C.i=4,4,64,1 C.j=8,4,32,1 C.k=1,1,1024 C.order=0 "
					     "C.bfuse=0 C.cw=0 C.cr.A=0 C.cr.B=0", &p, &err), -1);
	/* shared copies at k.o: A 128 x 64 floats = 32 KiB fits, plus B's
	 * 64 x 128 does not. */
	rt_error_clear(&err);
	ck_assert_msg(srch_point_parse(s, "C.i=8,1,16,8 C.j=8,1,16,8 C.k=16,64,1 C.order=1 C.bfuse=1 "
					  "C.cw=0 C.cr.A=1 C.cr.B=0", &p, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(srch_point_parse(s, "C.i=8,1,16,8 C.j=8,1,16,8 C.k=16,64,1 C.order=1 "
					     "C.bfuse=1 C.cw=0 C.cr.A=1 C.cr.B=1", &p, &err), -1);
	/* cache_write needs the threads outside the reduction (order 0). */
	ck_assert_int_eq(srch_point_parse(s, "C.i=8,1,16,8 C.j=8,1,16,8 C.k=16,64,1 C.order=1 "
					     "C.bfuse=1 C.cw=1 C.cr.A=0 C.cr.B=0", &p, &err), -1);
	srch_space_release(s);
	free(s);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/*
 * test_space [PART NPARTS]: the lowering tests of the examples with index
 * % NPARTS == PART (all by default), so that the suite can run them in
 * parallel; part 0 also runs the quick tests.
 */
int main(int argc, char **argv)
{
	Suite *s = suite_create("space");
	TCase *cpu = tcase_create("cpu"), *gpu = tcase_create("gpu");
	int nerr = sizeof(parse_errors) / sizeof(parse_errors[0]);
	int part = argc > 2 ? atoi(argv[1]) : 0, nparts = argc > 2 ? atoi(argv[2]) : 1;
	SRunner *sr;
	int failed;

	if (nparts < 1 || part < 0 || part >= nparts) {
		fprintf(stderr, "usage: test_space [PART NPARTS]\n");
		return EXIT_FAILURE;
	}
	tcase_set_timeout(cpu, 300);
	tcase_set_timeout(gpu, 300);
	if (part == 0) {
		TCase *tc = tcase_create("space");

		tcase_set_timeout(tc, 300);
		tcase_add_test(tc, gemm_1024_space);
		tcase_add_test(tc, awkward_extents);
		tcase_add_loop_test(tc, knobs_of_every_example, 0, NEXAMPLES);
		tcase_add_test(tc, default_point_is_naive);
		tcase_add_test(tc, point_to_steps);
		tcase_add_test(tc, directions_enumerate);
		tcase_add_loop_test(tc, moves_stay_and_reverse, 0, NEXAMPLES);
		tcase_add_loop_test(tc, print_parse_round_trip, 0, NEXAMPLES);
		tcase_add_loop_test(tc, parse_errors_are_reported, 0, nerr);
		tcase_add_test(tc, parse_rounded_up);
		tcase_add_loop_test(tc, features_in_range, 0, NEXAMPLES);
		tcase_add_loop_test(tc, random_points_are_deterministic, 0, NEXAMPLES);
		tcase_add_test(tc, gpu_limits);
		tcase_add_loop_test(tc, rf_points_lower_and_match, 0, RF_GRAPHS);
		tcase_add_test(tc, rf_only_where_it_helps);
		tcase_add_test(tc, rf_lanes_from_target);
		tcase_add_test(tc, rf_rows_knob);
		tcase_add_test(tc, rf_seeds_of_sum);
		tcase_add_test(tc, deint_knob);
		tcase_add_test(tc, seed_panel_takes_any_divisor);
		tcase_add_test(tc, loops_to_tile_at_the_limit);
		tcase_add_loop_test(tc, corner_graphs_lower, 0,
				    sizeof(corner_graphs) / sizeof(corner_graphs[0]));
		suite_add_tcase(s, tc);
	}
	for (int i = part; i < NEXAMPLES; i += nparts) {
		tcase_add_loop_test(cpu, cpu_points_lower_and_match, i, i + 1);
		tcase_add_loop_test(gpu, gpu_points_lower_and_match, i, i + 1);
	}
	suite_add_tcase(s, cpu);
	suite_add_tcase(s, gpu);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
