/*
 * Tests of what one schedule may cost lowering (docs/schedules.md,
 * "Limits"): the unroll limit at the limit and one past, the isl operation
 * budget of each phase (a deep tiling the tuner produced, which took isl
 * minutes, lowers within a small part of it; a budget too small for it is
 * a user error, never an internal one), and a sweep of random points of
 * every example's CPU, GPU and HLS spaces: each lowers within the budget
 * at the example's default shape (or, for GPU points, is refused by the
 * dependence check's budget: a known limitation); the space never holds
 * a point the unroll limit refuses.
 *
 * test_lower_bound --ops TE SCHED [N]: print the smallest budget under
 * which TE (at its own shape) lowers with SCHED, or with N, the time of
 * one lowering within N (a measuring aid, not a test).
 */
#include <check.h>
#include <isl/ctx.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lir.h"
#include "lower.h"
#include "rt_time.h"
#include "sched.h"
#include "sched_gen.h"
#include "srch_space.h"
#include "te.h"
#include "te_parse.h"
#include "te_verify.h"

/* The reproducer of issue 12: a 1x1 convolution after an injective stage,
 * tiled by the tuner 4 deep with a fused outer loop. */
static const char repro_te[] =
	"param C = 40, P = 36, Q = 60, K = 64\n"
	"input I[C, P, Q] f32\n"
	"input Fp[K, C] f32\n"
	"Dw[c < C, p < P, q < Q] = I[c, p, q] * 2.0\n"
	"O[k < K, p < P, q < Q] = sum(c < C) Dw[c, p, q] * Fp[k, c]\n";
static const char repro_sched[] =
	"split O k 16\nsplit O k.i 8\nsplit O k.i.i 4\nsplit O p 2\nsplit O q 30\n"
	"split O q.i 10\nsplit O q.i.i 5\nsplit O c 16\nsplit O c.i 2\n"
	"reorder O k.o p.o q.o k.i.o p.i q.i.o c.o c.i.o k.i.i.o q.i.i.o c.i.i k.i.i.i q.i.i.i\n"
	"fuse O k.o p.o\n";

/* isl operations the reproducer may take: it needs about 161,000.  Its
 * dataflow check alone spent 5,000,000 in 135 s (under ASan, on a loaded
 * machine) and was still going before the check's schedule was pruned;
 * its AST took 40 s before it was generated over the leaf loops. */
#define REPRO_OPS (LIR_MAX_ISL_OPS / 4)

/* The graph of `src` with params overridden by defs (name=value...), verified. */
static te_graph *graph_of(const char *src, const te_define *defs, int ndefs, isl_ctx *ctx)
{
	rt_error err;
	te_graph *g;

	rt_error_clear(&err);
	g = te_parse(src, defs, ndefs, &err);
	ck_assert_msg(g != NULL, "%s", err.msg);
	ck_assert_msg(te_verify(g, ctx, &err) == 0, "%s", err.msg);
	return g;
}

/* Lower g with schedule text under an isl budget (0: the default):
 * the function, or NULL with err. */
static lir_func *lower_text(const te_graph *g, const char *text, isl_ctx *ctx, unsigned long ops,
			    rt_error *err)
{
	sch_schedule *s;
	lir_func *f;

	rt_error_clear(err);
	s = sch_parse(text, err);
	ck_assert_msg(s != NULL, "%s", err->msg);
	isl_ctx_set_max_operations(ctx, ops);
	f = lir_lower(g, s, ctx, "k", err);
	ck_assert_uint_eq(isl_ctx_get_max_operations(ctx), ops); /* the caller's limit is restored */
	isl_ctx_set_max_operations(ctx, 0);
	sch_free(s);
	return f;
}

START_TEST(repro_lowers_within_budget)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = graph_of(repro_te, NULL, 0, ctx);
	rt_error err;
	lir_func *f = lower_text(g, repro_sched, ctx, REPRO_OPS, &err);

	ck_assert_msg(f != NULL, "%s", err.msg);
	ck_assert_msg(lir_verify(f, &err) == 0, "%s", err.msg);
	lir_func_free(f);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/* The same schedule at a small shape computes what the reference does. */
START_TEST(repro_matches_reference)
{
	static const te_define small[] = {{"C", 7}, {"P", 5}, {"Q", 9}, {"K", 11}};
	isl_ctx *ctx = new_ctx();
	te_graph *g = graph_of(repro_te, small, 4, ctx);
	rt_error err;
	lir_func *f = lower_text(g, repro_sched, ctx, 0, &err);

	ck_assert_msg(f != NULL, "%s", err.msg);
	ck_assert_str_eq(check_kernel(g, f), "");
	lir_func_free(f);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/* A budget far too small: a user error naming the phase, the caller's
 * limit restored, and the context usable for the next lowering. */
START_TEST(small_budget_is_a_user_error)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = graph_of(repro_te, NULL, 0, ctx);
	rt_error err;
	lir_func *f = lower_text(g, repro_sched, ctx, 2000, &err);

	ck_assert_ptr_null(f);
	ck_assert_msg(strstr(err.msg, "schedule too complex to analyse: the ") &&
			      strstr(err.msg, "needs more than 2000 isl operations (the caller's isl limit)"),
		      "%s", err.msg);
	f = lower_text(g, repro_sched, ctx, 0, &err);
	ck_assert_msg(f != NULL, "%s", err.msg);
	lir_func_free(f);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/* Every budget from tiny to enough: success, or the user error; never an
 * "isl failed" message, a crash or a leak (the error paths of every phase). */
START_TEST(every_budget_fails_cleanly)
{
	static const te_define small[] = {{"C", 7}, {"P", 5}, {"Q", 9}, {"K", 11}};
	isl_ctx *ctx = new_ctx();
	te_graph *g = graph_of(repro_te, small, 4, ctx);
	int refused = 0, ok = 0;

	for (unsigned long ops = 1; ops <= 1UL << 22; ops *= 2) {
		rt_error err;
		lir_func *f = lower_text(g, repro_sched, ctx, ops, &err);

		if (f) {
			ck_assert_str_eq(check_kernel(g, f), "");
			ok++;
		} else {
			ck_assert_msg(strstr(err.msg, "schedule too complex to analyse"), "ops %lu: %s", ops,
				      err.msg);
			refused++;
		}
		lir_func_free(f);
	}
	ck_assert_int_gt(refused, 0);
	ck_assert_int_gt(ok, 0);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/* ---- the difffuzz hangs (tests/difffuzz/findings.txt) ---- */

/* conv2d case 180 of seed 2000 (a GPU binding lowered for the CPU: its
 * dependence check took isl minutes in isl_union_map_deltas, which isl's
 * operation count does not see) and case 84 of seed 1 (its AST took
 * minutes sorting band pieces that carried the compute_at footprint's
 * constraints). */
static const struct {
	te_define shape[9];
	const char *sched;
} hangs[] = {
	{{{"N", 1}, {"C", 1}, {"H", 5}, {"W", 9}, {"K", 3}, {"R", 3}, {"S", 2}, {"stride", 1}, {"pad", 1}},
	 "split O p parts=4\nsplit O p.i 1\nsplit O q 10\nsplit O c 2\nsplit O r 5\nsplit O r.i 4\n"
	 "split O s parts=3\n"
	 "reorder O s.o q.i p.i.o r.i.o k q.o p.o c.i n p.i.i c.o r.o s.i r.i.i\n"
	 "bind O p.o blockIdx.x\nbind O n threadIdx.x\ncache_read F O c.o local\nsplit F.local d3 2\n"
	 "split Ip c 3\nsplit Ip h 5\nsplit Ip w 8\nparallel Ip h.i\ncompute_at Ip O q.o\n"},
	{{{"N", 1}, {"C", 4}, {"H", 8}, {"W", 9}, {"K", 7}, {"R", 5}, {"S", 5}, {"stride", 1}, {"pad", 0}},
	 "split O k parts=7\nsplit O p 5\nsplit O q 5\nsplit O r 2\nsplit O r.i 3\n"
	 "reorder O q.o p.o r.i.o k.o r.i.i k.i c p.i q.i s r.o n\nparallel O k.i\n"
	 "split Ip n 1\nsplit Ip h 5\nsplit Ip h.i 1\ncache_read I Ip c stack perm=3,2,1,0\n"
	 "split I.stack d3 2\ncompute_at Ip O r.i.i\n"},
};

static te_graph *example_at(const char *name, const te_define *defs, int ndefs, isl_ctx *ctx);

/* Each lowers within the default limits and computes what the reference does. */
START_TEST(difffuzz_hangs_lower)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = example_at("conv2d", hangs[_i].shape, 9, ctx);
	rt_error err;
	lir_func *f = lower_text(g, hangs[_i].sched, ctx, 0, &err);

	ck_assert_msg(f != NULL, "%s", err.msg);
	ck_assert_msg(lir_verify(f, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(check_kernel(g, f), "");
	lir_func_free(f);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/* Under a CPU-time limit too small for it, case 180 is refused with the
 * limit's user error (whichever phase passes it first), isl's abort is
 * lifted, and the next lowering on the context succeeds. */
START_TEST(cpu_limit_is_a_user_error)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = example_at("conv2d", hangs[0].shape, 9, ctx);
	sch_schedule *s;
	rt_error err;
	lir_func *f;

	rt_error_clear(&err);
	s = sch_parse(hangs[0].sched, &err);
	ck_assert_msg(s != NULL, "%s", err.msg);
	f = lir_lower_limited(g, s, ctx, "k", 0, 0.05, &err);
	ck_assert_ptr_null(f);
	ck_assert_msg(strstr(err.msg, "schedule too complex to analyse: the ") &&
			      strstr(err.msg, " needs more than 0.05 s of CPU time (the caller's limit)"),
		      "%s", err.msg);
	ck_assert_int_eq(isl_ctx_aborted(ctx), 0);
	rt_error_clear(&err);
	f = lir_lower(g, s, ctx, "k", &err);
	ck_assert_msg(f != NULL, "%s", err.msg);
	lir_func_free(f);
	sch_free(s);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/* ---- the unroll limit ---- */

static const char gemm_te[] =
	"param M = 4, N = 4, K = 1\n"
	"input A[M, K] f32\n"
	"input B[K, N] f32\n"
	"C[i < M, j < N] = sum(k < K) A[i, k] * B[k, j]\n";

static const char chain_te[] =
	"param M = 4, N = 4\n"
	"input A[M, N] f32\n"
	"P[i < M, j < N] = A[i, j] + 1.0\n"
	"C[i < M, j < N] = P[i, j] * 2.0\n";

static const struct {
	const char *te;
	int64_t m, n;
	const char *sched;
	const char *msg; /* NULL: lowers */
	int line;
} unrolls[] = {
	{gemm_te, 4096, 1, "unroll C i\n", NULL, 0},
	{gemm_te, 4097, 1, "unroll C i\n",
	 "unroll C i: 4097 iterations make more than 4096 copies of the body of 'C' (LIR_MAX_UNROLL)", 1},
	{gemm_te, 64, 64, "unroll C i\nunroll C j\n", NULL, 0},
	{gemm_te, 64, 65, "unroll C i\nunroll C j\n",
	 "unroll C j: 65 iterations inside the unrolled loops 'i' (64) make more than 4096", 2},
	/* A split's inner loop counts what it really runs: 4096 / 8 x 8. */
	{gemm_te, 4096, 1, "split C i 8\nunroll C i.o\nunroll C i.i\n", NULL, 0},
	{gemm_te, 4097, 1, "split C i 8\nunroll C i.o\nunroll C i.i\n",
	 "unroll C i.i: 8 iterations inside the unrolled loops 'i.o' (513)", 3},
	/* The loops of the stage P is computed in count too. */
	{chain_te, 64, 64, "unroll C i\ncompute_at P C i\nunroll P j\n", NULL, 0},
	{chain_te, 65, 64, "unroll C i\ncompute_at P C i\nunroll P j\n",
	 "unroll P j: 64 iterations inside the unrolled loops 'i' (65) make more than 4096 copies of the body of 'P'", 3},
};

START_TEST(unroll_limit)
{
	te_define defs[] = {{"M", unrolls[_i].m}, {"N", unrolls[_i].n}};
	isl_ctx *ctx = new_ctx();
	te_graph *g = graph_of(unrolls[_i].te, defs, 2, ctx);
	rt_error err;
	lir_func *f = lower_text(g, unrolls[_i].sched, ctx, 0, &err);

	if (!unrolls[_i].msg) {
		ck_assert_msg(f != NULL, "%s", err.msg);
		ck_assert_str_eq(check_kernel(g, f), "");
	} else {
		ck_assert_ptr_null(f);
		ck_assert_msg(strstr(err.msg, unrolls[_i].msg), "%s", err.msg);
		ck_assert_int_eq(err.line, unrolls[_i].line);
		ck_assert_int_gt(err.col, 0);
	}
	lir_func_free(f);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/* ---- the CPU space's unroll knob stays within LIR_MAX_UNROLL ---- */

/* Set split knob (stage 0's compute, axis `axis`) of gemm's CPU space to
 * `f` (its parts), and its UNROLL choice to `unroll`. */
static void set_gemm_point(const srch_space *sp, srch_point *p, int axis, const int64_t *f, int unroll)
{
	for (int k = 0; k < sp->nknobs; k++) {
		const srch_knob *kn = &sp->knobs[k];

		if (kn->kind == SRCH_SPLIT && kn->axis == axis)
			memcpy(&p->v[kn->slot], f, (size_t)kn->nparts * sizeof(f[0]));
		if (kn->kind == SRCH_CHOICE && kn->role == SRCH_ROLE_UNROLL)
			p->v[kn->slot] = unroll;
	}
}

/* UNROLL 2 of a 1024^3 GEMM unrolls R2 of k (128 here) and S2 of j: 32
 * makes 4096 copies (the limit: valid, and it lowers), 64 makes 8192 (not
 * a point of the space: invalid, never reached by a move, and lowering
 * would refuse it). */
START_TEST(cpu_space_unroll_within_limit)
{
	static const te_define big[] = {{"M", 1024}, {"N", 1024}, {"K", 1024}};
	static const int64_t k128[3] = {8, 1, 128}, j32[4] = {1, 32, 32, 1}, j64[4] = {1, 16, 64, 1};
	isl_ctx *ctx = new_ctx();
	te_graph *g = graph_of(gemm_te, big, 3, ctx);
	srch_space *sp = calloc(1, sizeof(*sp));
	srch_point at, over, moved;
	rt_error err;
	char *text;
	lir_func *f;
	bool reached = false;

	rt_error_clear(&err);
	ck_assert_msg(srch_space_init(sp, g, CG_TARGET_CPU, &err) == 0, "%s", err.msg);
	srch_point_default(sp, &at);
	set_gemm_point(sp, &at, 2, k128, 2);
	set_gemm_point(sp, &at, 1, j32, 2);
	ck_assert(srch_point_valid(sp, &at));
	text = srch_point_schedule(sp, &at);
	ck_assert_ptr_nonnull(text);
	ck_assert_msg(strstr(text, "unroll C k.i.i\nunroll C j.i.i.o\n"), "%s", text);
	f = lower_text(g, text, ctx, 0, &err);
	ck_assert_msg(f != NULL, "%s\n%s", err.msg, text);
	lir_func_free(f);
	free(text);
	over = at;
	set_gemm_point(sp, &over, 1, j64, 2);
	ck_assert(!srch_point_valid(sp, &over));
	text = srch_point_schedule(sp, &over);
	f = lower_text(g, text, ctx, 0, &err);
	ck_assert_ptr_null(f);
	ck_assert_msg(strstr(err.msg, "(LIR_MAX_UNROLL)"), "%s", err.msg);
	free(text);
	for (int d = 0; d < srch_space_ndirs(sp); d++)
		if (srch_point_move(sp, &at, srch_space_dir(sp, d), &moved)) {
			ck_assert(srch_point_valid(sp, &moved));
			reached |= srch_point_equal(sp, &moved, &over);
		}
	ck_assert(!reached);
	srch_space_release(sp);
	free(sp);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/* ---- random points of the tuner's spaces ---- */

#define POINTS_PER_SPACE 3

/* examples/NAME.te with its params overridden by defs, verified. */
static te_graph *example_at(const char *name, const te_define *defs, int ndefs, isl_ctx *ctx)
{
	char path[1024], *src;
	te_graph *g;

	snprintf(path, sizeof(path), "%s/examples/%s.te", root(), name);
	src = read_text(path);
	ck_assert_msg(src != NULL, "cannot read %s", path);
	g = graph_of(src, defs, ndefs, ctx);
	free(src);
	return g;
}

/* examples/NAME.te at its default shape, verified. */
static te_graph *default_example(const char *name, isl_ctx *ctx)
{
	return example_at(name, NULL, 0, ctx);
}

START_TEST(tuner_points_lower_within_budget)
{
	static const cg_target_kind targets[] = {CG_TARGET_CPU, CG_TARGET_CUDA, CG_TARGET_HLS};
	isl_ctx *ctx = new_ctx();
	te_graph *g = default_example(examples[_i], ctx);

	for (int t = 0; t < 3; t++) {
		srch_space *sp = calloc(1, sizeof(*sp));
		uint64_t rng = 0x5eed + (uint64_t)_i * 131 + (uint64_t)t;
		rt_error err;

		rt_error_clear(&err);
		ck_assert_msg(srch_space_init(sp, g, targets[t], &err) == 0, "%s: %s", examples[_i], err.msg);
		for (int k = 0; k < POINTS_PER_SPACE; k++) {
			srch_point p;
			char *text;
			lir_func *f;

			srch_point_random(sp, &rng, &p);
			text = srch_point_schedule(sp, &p);
			ck_assert_ptr_nonnull(text);
			f = lower_text(g, text, ctx, 0, &err);
			/* Known limitation: GPU points whose block and thread
			 * loops fuse four axes can need more than the budget in
			 * the dependence check (they took isl over 6 minutes
			 * before the budget); they are refused, in seconds. */
			ck_assert_msg(f || (targets[t] == CG_TARGET_CUDA &&
					       strstr(err.msg, "the dependence check needs more than")),
				      "%s target %d point %d: %s\n%s", examples[_i], t, k, err.msg, text);
			ck_assert_msg(!f || lir_verify(f, &err) == 0, "%s: invalid lir: %s\n%s", examples[_i],
				      err.msg, text);
			lir_func_free(f);
			free(text);
		}
		srch_space_release(sp);
		free(sp);
	}
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/* Whether g lowers with s within `ops` isl operations (no Check asserts:
 * the measuring mode runs outside a test). */
static bool lowers_within(const te_graph *g, const sch_schedule *s, isl_ctx *ctx, unsigned long ops)
{
	rt_error err;
	lir_func *f;

	rt_error_clear(&err);
	isl_ctx_set_max_operations(ctx, ops);
	f = lir_lower(g, s, ctx, "k", &err);
	isl_ctx_set_max_operations(ctx, 0);
	lir_func_free(f);
	return f != NULL;
}

/* The smallest budget under which the file lowers with the schedule. */
static int measure(const char *te_path, const char *sched_path, unsigned long at)
{
	isl_ctx *ctx = new_ctx();
	char *src = read_text(te_path), *text = read_text(sched_path);
	unsigned long lo = 0, hi = LIR_MAX_ISL_OPS * 64;
	rt_error err;
	te_graph *g = NULL;
	sch_schedule *s = NULL;
	int rc = EXIT_FAILURE;

	rt_error_clear(&err);
	if (!src || !text || !(g = te_parse(src, NULL, 0, &err)) || te_verify(g, ctx, &err) ||
	    !(s = sch_parse(text, &err))) {
		fprintf(stderr, "%s, %s: %s\n", te_path, sched_path, err.set ? err.msg : "cannot read");
		goto out;
	}
	if (at) {
		double t0 = rt_now();
		bool ok = lowers_within(g, s, ctx, at);

		printf("%s within %lu isl operations: %.3f s\n", ok ? "lowers" : "refused", at, rt_now() - t0);
		rc = EXIT_SUCCESS;
		goto out;
	}
	if (!lowers_within(g, s, ctx, hi)) {
		fprintf(stderr, "does not lower within %lu isl operations\n", hi);
		goto out;
	}
	while (hi - lo > hi / 50) {
		unsigned long mid = lo + (hi - lo) / 2;

		if (lowers_within(g, s, ctx, mid))
			hi = mid;
		else
			lo = mid;
	}
	printf("%lu isl operations (LIR_MAX_ISL_OPS %lu)\n", hi, LIR_MAX_ISL_OPS);
	rc = EXIT_SUCCESS;
out:
	sch_free(s);
	te_graph_free(g);
	free(src);
	free(text);
	isl_ctx_free(ctx);
	return rc;
}

/*
 * test_lower_bound [PART NPARTS]: the sweep of the examples with index %
 * NPARTS == PART (all by default), so that the suite runs it in parallel;
 * part 0 also runs the reproducer and unroll tests.
 */
int main(int argc, char **argv)
{
	Suite *s;
	TCase *tc, *limits;
	SRunner *sr;
	int failed, part = 0, nparts = 1;

	if ((argc == 4 || argc == 5) && strcmp(argv[1], "--ops") == 0)
		return measure(argv[2], argv[3], argc == 5 ? strtoul(argv[4], NULL, 10) : 0);
	if (argc == 3) {
		part = atoi(argv[1]);
		nparts = atoi(argv[2]);
	}
	if (argc == 2 || argc > 3 || nparts < 1 || part < 0 || part >= nparts) {
		fprintf(stderr, "usage: test_lower_bound [PART NPARTS] | --ops TE SCHED [N]\n");
		return EXIT_FAILURE;
	}
	s = suite_create("lower_bound");
	tc = tcase_create("lower_bound");
	tcase_set_timeout(tc, 900);
	/* The limits ("limits": CK_RUN_CASE=limits runs them alone) in part 1,
	 * beside the reproducer's budgets in part 0. */
	if (part == 0) {
		tcase_add_test(tc, repro_lowers_within_budget);
		tcase_add_test(tc, repro_matches_reference);
		tcase_add_test(tc, small_budget_is_a_user_error);
		tcase_add_test(tc, every_budget_fails_cleanly);
	}
	if (part == 1 % nparts) {
		limits = tcase_create("limits");
		tcase_set_timeout(limits, 900);
		tcase_add_loop_test(limits, unroll_limit, 0, sizeof(unrolls) / sizeof(unrolls[0]));
		tcase_add_test(limits, cpu_space_unroll_within_limit);
		tcase_add_loop_test(limits, difffuzz_hangs_lower, 0, sizeof(hangs) / sizeof(hangs[0]));
		tcase_add_test(limits, cpu_limit_is_a_user_error);
		suite_add_tcase(s, limits);
	}
	for (int i = part; i < NEXAMPLES; i += nparts)
		tcase_add_loop_test(tc, tuner_points_lower_within_budget, i, i + 1);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
