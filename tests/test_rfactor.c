/*
 * Tests of the rfactor step (ir/sched_rfactor.c): the graph it makes (a
 * table of schedules and the rewritten graph's text), kernels compared
 * with the reference interpreter through the loop IR interpreter and
 * through LLVM (odd shapes, partial tiles, extents 1, 7 and 1000; sum, max
 * and min; i32, f32 and f64; parallel and vectorized loops of the new
 * stages, compute_at and cache_write of them), its located errors and its
 * limits, each tested at the limit.
 *
 * How results are compared.  rfactor changes the order of a reduction.
 * max and min pick one of the values and i32 sums wrap modulo 2^32, so
 * those results do not depend on the order: they must equal the
 * reference exactly.  A float sum does depend on it: summed in any order,
 * n terms x_1..x_n carry an error of at most (n - 1) u sum |x_k| (Higham,
 * "Accuracy and Stability of Numerical Algorithms", 2nd ed., eq. 4.4),
 * u = 2^-24 for f32, 2^-53 for f64; the reference sums in double and
 * rounds once (at most u |sum|), and a body such as A * B rounds once more
 * per term in the kernel.  So every element of a float sum must be within
 * (n + 2) u sum |x_k| of the reference, sum |x_k| computed by the
 * reference on the same graph with the reduced expression wrapped in
 * abs(): a bound that holds for every order rfactor can make, however
 * unlucky, and is not loosened by the shape.  The same outputs must also
 * pass te_compare, the statistical tolerance `ftc run` applies, which at
 * these shapes (random signs, at most 7000 terms) they do by a margin.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cg.h"
#include "lower.h"
#include "sched_gen.h"
#include "sched_rfactor.h"
#include "te_interp.h"
#include "te_verify.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* `te` with its one %s replaced by `wrap` ("" or "abs"), parsed and
 * verified. */
static te_graph *parse_te(const char *te, const char *wrap, isl_ctx *ctx)
{
	char src[4096];
	rt_error err;
	te_graph *g;

	snprintf(src, sizeof(src), te, wrap);
	rt_error_clear(&err);
	g = te_parse(src, NULL, 0, &err);
	ck_assert_msg(g, "%s: %d:%d: %s", src, err.line, err.col, err.msg);
	ck_assert_msg(te_verify(g, ctx, &err) == 0, "%s: %s", src, err.msg);
	return g;
}

static sch_schedule *parse_sched(const char *text)
{
	rt_error err;
	sch_schedule *s;

	rt_error_clear(&err);
	s = sch_parse(text, &err);
	ck_assert_msg(s, "%s: %d:%d: %s", text, err.line, err.col, err.msg);
	return s;
}

/* ---- the rewritten graph ---- */

static const struct {
	const char *te, *sched, *want;
} rewrites[] = {
	/* a partial tile (10 = 3 x 4 - 2) is guarded with the identity */
	{"input A[10] f32\ns = sum(i < 10) %s(A[i])\n", "split s i 4\nrfactor s i.o\n",
	 "input A[10] f32\n"
	 "s.rf[i.o < 3] = sum(i.i < 4) select(i.o * 4 + i.i < 10, A[i.o * 4 + i.i], 0.0)\n"
	 "s = sum(i.o < 3) s.rf[i.o]\n"
	 "output s\n"},
	/* an exact split needs no guard; the rf loop is the last spatial axis */
	{"input A[4, 8] f32\ny[i < 4] = max(j < 8) %s(A[i, j])\n", "split y j 2\nrfactor y j.i\n",
	 "input A[4, 8] f32\n"
	 "y.rf[i < 4, j.i < 2] = max(j.o < 4) A[i, j.o * 2 + j.i]\n"
	 "y[i < 4] = max(j.i < 2) y.rf[i, j.i]\n"
	 "output y\n"},
	/* a fused loop: the axes it was made of are its quotient and remainder */
	{"input A[6, 5] i32\ns = min(i < 6, j < 5) %s(A[i, j])\n",
	 "split s i parts=2\nreorder s i.o j i.i\nfuse s i.o j\nrfactor s i.o+j\n",
	 "input A[6, 5] i32\n"
	 "s.rf[i.o+j < 10] = min(i.i < 3) A[i.o+j / 5 * 3 + i.i, i.o+j % 5]\n"
	 "s = min(i.o+j < 10) s.rf[i.o+j]\n"
	 "output s\n"},
	/* the only reduce loop: S.rf reduces nothing; later stages renumbered */
	{"input A[7] f64\ns = sum(i < 7) %s(A[i])\nt = s * 2.0\n", "rfactor s i\n",
	 "input A[7] f64\n"
	 "s.rf[i < 7] = A[i]\n"
	 "s = sum(i < 7) s.rf[i]\n"
	 "t = s * 2.0\n"
	 "output t\n"},
	/* two levels: S.rf factored in turn */
	{"input A[4, 6] f32\ns = sum(i < 4, j < 6) %s(A[i, j])\n",
	 "split s j 3\nrfactor s j.i\nsplit s.rf i 2\nrfactor s.rf i.o\n",
	 "input A[4, 6] f32\n"
	 "s.rf.rf[j.i < 3, i.o < 2] = sum(i.i < 2, j.o < 2) A[i.o * 2 + i.i, j.o * 3 + j.i]\n"
	 "s.rf[j.i < 3] = sum(i.o < 2) s.rf.rf[j.i, i.o]\n"
	 "s = sum(j.i < 3) s.rf[j.i]\n"
	 "output s\n"},
};

START_TEST(rewrite_text)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = parse_te(rewrites[_i].te, "", ctx), *rg;
	sch_schedule *s = parse_sched(rewrites[_i].sched), *rs;
	rt_error err;
	char *text;

	rt_error_clear(&err);
	ck_assert_msg(sch_rfactor_apply(g, s, &rg, &rs, &err) == 0, "%s", err.msg);
	ck_assert_ptr_nonnull(rg);
	ck_assert_int_eq(rs->nsteps, 0);
	text = te_graph_print(rg, false);
	ck_assert_str_eq(text, rewrites[_i].want);
	free(text);
	te_graph_free(rg);
	sch_free(rs);
	sch_free(s);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/* Without an rfactor step nothing is made; the steps after one stay. */
START_TEST(rewrite_keeps_other_steps)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = parse_te("input A[9, 4] f32\ny[i < 9] = sum(j < 4) %s(A[i, j])\n", "", ctx), *rg;
	sch_schedule *s = parse_sched("split y i 2\n"), *rs;
	char *text;
	rt_error err;

	rt_error_clear(&err);
	ck_assert_int_eq(sch_rfactor_apply(g, s, &rg, &rs, &err), 0);
	ck_assert_ptr_null(rg);
	ck_assert_ptr_null(rs);
	sch_free(s);
	s = parse_sched("split y j 2\nparallel A i\nrfactor y j.o\nparallel y.rf j.o\nsplit y i 4\n");
	ck_assert_int_eq(sch_rfactor_apply(g, s, &rg, &rs, &err), 0);
	text = sch_print(rs);
	ck_assert_str_eq(text, "parallel A i\nparallel y.rf j.o\nsplit y i 4\n");
	free(text);
	te_graph_free(rg);
	sch_free(rs);
	sch_free(s);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/* ---- kernels against the reference ---- */

static const struct {
	const char *te, *sched;
	int threads;
} kernels[] = {
	/* f32 sum, 1000 = 62 x 16 + 8: a partial tile; the tiles in parallel */
	{"input A[1000, 7] f32\ns = sum(i < 1000, j < 7) %s(A[i, j])\n",
	 "split s i 16\nrfactor s i.o\nparallel s.rf i.o\n", 2},
	/* threads x lanes as one fused rf loop (examples/sum.sched's form),
	 * 7 = 4 + 3: a partial tile in j too */
	{"input A[1000, 7] f32\ns = sum(i < 1000, j < 7) %s(A[i, j])\n",
	 "split s i parts=2\nsplit s j 4\nreorder s i.o j.i i.i j.o\nfuse s i.o j.i\n"
	 "rfactor s i.o+j.i\nsplit s.rf i.o+j.i 4\nreorder s.rf i.o+j.i.o i.i j.o i.o+j.i.i\n"
	 "parallel s.rf i.o+j.i.o\nvectorize s.rf i.o+j.i.i\n", 2},
	/* lanes, then threads: two levels of rfactor */
	{"input A[1000, 7] f32\ns = sum(i < 1000, j < 7) %s(A[i, j])\n",
	 "split s j 8\nrfactor s j.i\nsplit s.rf i parts=3\nrfactor s.rf i.o\n"
	 "reorder s.rf.rf i.o i.i j.o j.i\nparallel s.rf.rf i.o\nvectorize s.rf.rf j.i\n", 3},
	/* extent 1: a tile of 4 holding one element, vectorized */
	{"input A[1] f32\ns = sum(i < 1) %s(A[i])\n",
	 "split s i 4\nrfactor s i.i\nreorder s.rf i.o i.i\nvectorize s.rf i.i\n", 1},
	/* extent 7, f64, the whole axis: S.rf reduces nothing */
	{"input A[7] f64\ns = sum(i < 7) %s(A[i])\n", "rfactor s i\nparallel s.rf i\n", 2},
	/* a row sum: the rf stage parallel over column blocks, then the final
	 * reduction vectorized over rows */
	{"input A[7, 1000] f32\ny[i < 7] = sum(j < 1000) %s(A[i, j])\n",
	 "split y j parts=4\nrfactor y j.o\nreorder y.rf j.o i j.i\nparallel y.rf j.o\n"
	 "split y i 4\nreorder y i.o j.o i.i\nvectorize y i.i\n", 2},
	/* max, 999 = 124 x 8 + 7: the guard gives -inf */
	{"input A[999] f32\nm = max(i < 999) %s(A[i])\n",
	 "split m i 8\nrfactor m i.i\nreorder m.rf i.o i.i\nvectorize m.rf i.i\n", 1},
	/* min of i32 over a fused rf loop: the guard gives INT32_MAX */
	{"input A[1000, 7] i32\nm = min(i < 1000, j < 7) %s(A[i, j])\n",
	 "split m j 4\nsplit m i parts=2\nreorder m i.o j.i i.i j.o\nfuse m i.o j.i\n"
	 "rfactor m i.o+j.i\nparallel m.rf i.o+j.i\n", 2},
	/* i32 sum (exact), vectorized lanes; S's own loop split afterwards */
	{"input A[1000] i32\ns = sum(i < 1000) %s(A[i]) * 3\n",
	 "split s i 7\nrfactor s i.i\nreorder s.rf i.o i.i\nvectorize s.rf i.i\nsplit s i.i 4\n", 1},
	/* a GEMM: C.rf in parallel over k blocks with a cache_write tile */
	{"input A[5, 13] f32\ninput B[13, 6] f32\nC[i < 5, j < 6] = sum(k < 13) %s(A[i, k] * B[k, j])\n",
	 "split C k parts=3\nrfactor C k.o\nreorder C.rf i k.o j k.i\ncache_write C.rf j local\n"
	 "parallel C.rf i\nvectorize C j\n", 2},
	/* C.rf computed inside C's loops */
	{"input A[5, 13] f32\ninput B[13, 6] f32\nC[i < 5, j < 6] = sum(k < 13) %s(A[i, k] * B[k, j])\n",
	 "split C k parts=3\nrfactor C k.o\ncompute_at C.rf C j\n", 1},
	/* a producer inlined into the factored stage, a consumer of it */
	{"input X[9, 10] f32\nB[i < 9, j < 10] = X[i, j] * 2.0\n"
	 "s = sum(i < 9, j < 10) %s(B[i, j])\nm = s * 0.5\noutput s, m\n",
	 "compute_inline B\nsplit s j 3\nrfactor s j.i\nreorder s.rf i j.o j.i\nvectorize s.rf j.i\n", 2},
	/* TE_MAX_REDUCE (8) reduce loops left to S.rf: at the limit */
	{"input A[2, 2, 2, 2, 2, 2, 2, 3] f32\n"
	 "s = sum(a < 2, b < 2, c < 2, d < 2, e < 2, f < 2, g < 2, h < 3) %s(A[a, b, c, d, e, f, g, h])\n",
	 "split s h 2\nrfactor s a\nparallel s.rf a\n", 2},
};

/* The buffers of one case: inputs shared, one set of outputs per run. */
enum { WANT, ABSUM, INTERP, JIT, NBUF };

/* Element i of buffer b of stage s, as a double. */
static double elem(const te_stage *s, void *b, int64_t i)
{
	return s->type == TE_F32   ? ((float *)b)[i]
	       : s->type == TE_F64 ? ((double *)b)[i]
				   : ((int32_t *)b)[i];
}

/* Output s of one run against the reference (see the top comment). */
static void compare(const te_stage *s, void *got, void *want, void *absum, const char *what)
{
	bool float_sum = s->reduce == TE_RED_SUM && te_dtype_is_float(s->type);
	double u = s->type == TE_F32 ? 0x1p-24 : 0x1p-53;
	int64_t n = te_stage_numel(s), terms = te_stage_points(s) / n;

	for (int64_t i = 0; i < n; i++) {
		double g = elem(s, got, i), w = elem(s, want, i);
		double bound = float_sum ? (double)(terms + 2) * u * elem(s, absum, i) : 0;

		if (s->reduce != TE_RED_NONE || s->type == TE_I32)
			ck_assert_msg(fabs(g - w) <= bound, "%s: %s[%lld] = %.9g, reference %.9g (bound %g)",
				      what, s->name, (long long)i, g, w, bound);
	}
	ck_assert_msg(te_compare(s, got, want).ok, "%s: %s outside ftc run's tolerance", what, s->name);
}

/* Run f compiled by LLVM for `threads` threads. */
static void run_jit(const lir_func *f, int threads, void **params)
{
	rt_error err;
	cg_target t;
	cg_module *m;
	cg_jit *j;

	rt_error_clear(&err);
	ck_assert_int_eq(cg_target_host(&t, &err), 0);
	t.threads = threads;
	ck_assert_msg((m = cg_cpu_compile(f, &t, &err)) && (j = cg_jit_new(m, &err)), "%s", err.msg);
	ck_assert_int_eq(cg_jit_entry(j)(params), 0);
	cg_jit_free(j);
}

START_TEST(kernels_match_reference)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = parse_te(kernels[_i].te, "", ctx), *ga = parse_te(kernels[_i].te, "abs", ctx);
	sch_schedule *s = parse_sched(kernels[_i].sched);
	int n = te_graph_nstages(g), np[NBUF] = {0};
	void **buf[NBUF], **params[NBUF];
	rt_error err;
	lir_func *f;

	rt_error_clear(&err);
	f = lir_lower(g, s, ctx, "kernel", &err);
	ck_assert_msg(f, "case %d: %d:%d: %s", _i, err.line, err.col, err.msg);
	ck_assert_msg(lir_verify(f, &err) == 0, "%s", err.msg);
	for (int b = 0; b < NBUF; b++) {
		buf[b] = calloc((size_t)n, sizeof(void *));
		params[b] = calloc((size_t)n, sizeof(void *));
	}
	for (int k = 0; k < 2; k++) /* inputs, then outputs: the kernel's parameters */
		for (int i = 0; i < n; i++) {
			const te_stage *st = te_graph_stage(g, i);
			size_t bytes = (size_t)te_stage_numel(st) * te_dtype_size(st->type);

			if (k == 0 ? st->kind != TE_STAGE_INPUT : !st->is_output)
				continue;
			for (int b = 0; b < NBUF; b++) {
				buf[b][i] = k == 0 && b ? buf[0][i] : calloc(1, bytes);
				params[b][np[b]++] = buf[b][i];
			}
			if (k == 0)
				te_random_fill(st, buf[0][i], 7);
		}
	ck_assert_int_eq(te_interp_run(g, buf[WANT], &err), 0);
	ck_assert_int_eq(te_interp_run(ga, buf[ABSUM], &err), 0);
	ck_assert_msg(lir_interp_run(f, params[INTERP], &err) == 0, "%s", err.msg);
	run_jit(f, kernels[_i].threads, params[JIT]);
	for (int i = 0; i < n; i++) {
		const te_stage *st = te_graph_stage(g, i);

		if (st->kind == TE_STAGE_INPUT || !st->is_output)
			continue;
		compare(st, buf[INTERP][i], buf[WANT][i], buf[ABSUM][i], "loop IR interpreter");
		compare(st, buf[JIT][i], buf[WANT][i], buf[ABSUM][i], "LLVM");
	}
	for (int i = 0; i < n; i++)
		for (int b = 0; b < NBUF; b++)
			if (b == 0 || te_graph_stage(g, i)->kind != TE_STAGE_INPUT)
				free(buf[b][i]);
	for (int b = 0; b < NBUF; b++) {
		free(buf[b]);
		free(params[b]);
	}
	lir_func_free(f);
	sch_free(s);
	te_graph_free(g);
	te_graph_free(ga);
	isl_ctx_free(ctx);
}
END_TEST

/* ---- errors ---- */

#define ERR_TE                                                                                     \
	"input A[8, 6] f32\ny[i < 8] = sum(j < 6) %sA[i, j]\ns = sum(i < 8) y[i]\nz[i < 8] = A[i, 0] * 2.0\n"

static const struct {
	const char *te, *sched, *msg;
	int line, col;
} errors[] = {
	{ERR_TE, "rfactor q j", "rfactor: no compute stage named 'q'", 1, 9},
	{ERR_TE, "rfactor A j", "rfactor: no loops to factor in input 'A'", 1, 9},
	{ERR_TE, "rfactor z i", "rfactor z i: z has no reduction to factor", 1, 9},
	{ERR_TE, "rfactor y k", "rfactor y: y has no loop 'k' (its loops: i, j)", 1, 11},
	{ERR_TE, "split y j 2\nrfactor y j", "rfactor y: y has no loop 'j' (its loops: i, j.o, j.i)", 2, 11},
	{ERR_TE, "rfactor y i", "rfactor y i: 'i' is a spatial loop of y; rfactor takes a reduce loop", 1, 11},
	{ERR_TE, "rfactor y j\n\nrfactor y j", "rfactor y: y is already factored (line 1)", 3, 9},
	{ERR_TE, "parallel y.rf i\nrfactor y j",
	 "parallel: stage 'y.rf' is made by 'rfactor y j' (line 2), which comes after this step", 1, 10},
	{ERR_TE, "compute_at A y.rf i\nrfactor y j",
	 "compute_at: stage 'y.rf' is made by 'rfactor y j' (line 2), which comes after this step", 1, 14},
	{ERR_TE, "unroll y j\nrfactor y j",
	 "unroll y: only split, fuse and reorder of y's reduce loops may come before 'rfactor y j' (line 2)",
	 1, 1},
	{ERR_TE, "split y i 2\nrfactor y j",
	 "rfactor y j: y's spatial loop 'i' is split or fused before it; schedule it after the rfactor", 2,
	 1},
	/* loops used up by the rfactor are gone from S (lowering's message) */
	{ERR_TE, "split y j 2\nrfactor y j.o\nsplit y j.i 2", "y has no loop 'j.i' (its loops: i, j.o)", 3,
	 9},
	/* an index past i32: 2^31 - 1 is the limit */
	{ERR_TE, "split y j 2147483648\nrfactor y j.o",
	 "rfactor y j.o: loop 'j.o' spans 2147483648 values, past the i32 range of an index", 2, 1},
	/* TE_MAX_RANK spatial axes for S.rf */
	{"input A[2, 2, 2, 2, 2, 2, 2, 2] f32\n"
	 "T[a < 2, b < 2, c < 2, d < 2, e < 2, f < 2, g < 2, h < 2] = sum(k < 4) %sA[a, b, c, d, e, f, g, (h + k) %% 2]\n",
	 "split T k 2\nrfactor T k.o",
	 "rfactor T k.o: T.rf would have 9 spatial and 1 reduce axes (at most 8 and 8)", 2, 1},
	/* TE_MAX_REDUCE reduce axes for S.rf (8 is the kernels' last case) */
	{"input A[2, 2, 2, 2, 2, 2, 2, 3] f32\n"
	 "s = sum(a < 2, b < 2, c < 2, d < 2, e < 2, f < 2, g < 2, h < 3) %sA[a, b, c, d, e, f, g, h]\n",
	 "split s h 2\nsplit s g 1\nrfactor s a",
	 "rfactor s a: s.rf would have 1 spatial and 9 reduce axes (at most 8 and 8)", 3, 1},
	/* TE_MAX_POINTS: 2^20 x 2 x (2^30 - 1) points is past 2^50 */
	{"input A[1] f32\ns = sum(i < 1048576, j < 1073741824) %sA[(i + j) %% 1]\n", "split s j 1073741823\nrfactor s i",
	 "rfactor s i: s.rf would have more than 1125899906842624 points", 2, 1},
};

START_TEST(errors_are_located)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = parse_te(errors[_i].te, "", ctx), *rg = NULL;
	sch_schedule *s = parse_sched(errors[_i].sched), *rs = NULL;
	lir_func *f;
	rt_error err;

	rt_error_clear(&err);
	f = lir_lower(g, s, ctx, "kernel", &err);
	ck_assert_msg(!f, "case %d lowered", _i);
	ck_assert_msg(strstr(err.msg, errors[_i].msg), "case %d: got '%s'", _i, err.msg);
	ck_assert_int_eq(err.line, errors[_i].line);
	ck_assert_int_eq(err.col, errors[_i].col);
	/* the rewrite's own failures leave nothing to free */
	if (sch_rfactor_apply(g, s, &rg, &rs, &err) < 0) {
		ck_assert_ptr_null(rg);
		ck_assert_ptr_null(rs);
	}
	te_graph_free(rg);
	sch_free(rs);
	sch_free(s);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/* The limits that lowering would take too long to reach, at the limit:
 * the rewrite alone accepts them. */
static const struct {
	const char *te, *sched;
} at_limits[] = {
	/* an index of exactly 2^31 - 1 values */
	{ERR_TE, "split y j 2147483647\nrfactor y j.o"},
	/* exactly 2^50 points: 2^20 x 2 x 2^29 */
	{"input A[1] f32\ns = sum(i < 1048576, j < 1073741824) %sA[(i + j) %% 1]\n", "split s j 536870912\nrfactor s i"},
};

START_TEST(limits_accepted_at_the_limit)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = parse_te(at_limits[_i].te, "", ctx), *rg;
	sch_schedule *s = parse_sched(at_limits[_i].sched), *rs;
	rt_error err;

	rt_error_clear(&err);
	ck_assert_msg(sch_rfactor_apply(g, s, &rg, &rs, &err) == 0, "%s", err.msg);
	ck_assert_ptr_nonnull(rg);
	ck_assert_int_eq(te_graph_nstages(rg), te_graph_nstages(g) + 1);
	te_graph_free(rg);
	sch_free(rs);
	sch_free(s);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/* ---- a sweep over the examples ---- */

/* A random rfactor of every reduction stage of g (the rest naive): a
 * reduce axis split by a random factor (partial tiles included), its outer
 * or inner part factored, and S.rf's new loop run in parallel, or moved
 * innermost and vectorized, or left serial; sometimes S's first spatial
 * loop in parallel too. */
static void rfactor_schedule(const te_graph *g, uint64_t seed, char *out, size_t size)
{
	uint64_t r = seed * 0x9e3779b97f4a7c15u + 1;
	size_t o = 0;

	out[0] = '\0';
	for (int i = 0; i < te_graph_nstages(g) && o < size; i++) {
		const te_stage *x = te_graph_stage(g, i);
		const char *ax, *part;
		int64_t f;
		int how, a;

		if (x->kind != TE_STAGE_COMPUTE || x->reduce == TE_RED_NONE)
			continue;
		r = r * 6364136223846793005u + 1442695040888963407u;
		a = x->rank + (int)((r >> 33) % (uint64_t)x->nreduce);
		ax = x->axes[a].name;
		f = 1 + (int64_t)((r >> 17) % (uint64_t)(x->axes[a].extent + 2));
		part = (r >> 9) & 1 ? "o" : "i";
		how = (int)((r >> 40) % 3);
		o += (size_t)snprintf(out + o, size - o, "split %s %s %lld\nrfactor %s %s.%s\n", x->name,
				      ax, (long long)f, x->name, ax, part);
		if (how == 1)
			o += (size_t)snprintf(out + o, size - o, "parallel %s.rf %s.%s\n", x->name, ax, part);
		if (how == 2) {
			o += (size_t)snprintf(out + o, size - o, "reorder %s.rf", x->name);
			for (int b = 0; b < x->rank + x->nreduce; b++)
				if (b != a)
					o += (size_t)snprintf(out + o, size - o, " %s", x->axes[b].name);
			o += (size_t)snprintf(out + o, size - o, " %s.%s %s.%s\nvectorize %s.rf %s.%s\n", ax,
					      *part == 'o' ? "i" : "o", ax, part, x->name, ax, part);
		}
		if (x->rank && (r >> 50) & 1)
			o += (size_t)snprintf(out + o, size - o, "parallel %s %s\n", x->name, x->axes[0].name);
	}
}

START_TEST(examples_sweep)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = small_example(examples[_i], ctx);
	char text[4096];

	for (uint64_t seed = 0; seed < 6; seed++) {
		sch_schedule *s;
		lir_func *f;
		rt_error err;
		const char *bad;

		rfactor_schedule(g, seed * 7919 + (uint64_t)_i, text, sizeof(text));
		s = parse_sched(text);
		rt_error_clear(&err);
		f = lir_lower(g, s, ctx, "kernel", &err);
		ck_assert_msg(f, "%s seed %d: %d:%d: %s\n%s", examples[_i], (int)seed, err.line, err.col,
			      err.msg, text);
		bad = check_kernel(g, f);
		ck_assert_msg(!bad[0], "%s seed %d: %s\n%s", examples[_i], (int)seed, bad, text);
		lir_func_free(f);
		sch_free(s);
	}
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("rfactor");
	TCase *tc = tcase_create("rfactor");
	SRunner *sr;
	int nf;

	tcase_set_timeout(tc, 300);
	tcase_add_loop_test(tc, rewrite_text, 0, COUNT(rewrites));
	tcase_add_test(tc, rewrite_keeps_other_steps);
	tcase_add_loop_test(tc, kernels_match_reference, 0, COUNT(kernels));
	tcase_add_loop_test(tc, errors_are_located, 0, COUNT(errors));
	tcase_add_loop_test(tc, limits_accepted_at_the_limit, 0, COUNT(at_limits));
	tcase_add_loop_test(tc, examples_sweep, 0, NEXAMPLES);
	suite_add_tcase(su, tc);
	sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf ? 1 : 0;
}
