/*
 * Tests of search/srch_tune: a real tune of a small GEMM improves on the
 * naive schedule and its best is verified; a faulty target is survived.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "sched_gen.h"
#include "srch_tune.h"

static te_graph *gemm(isl_ctx *ctx, int n)
{
	char src[256];
	rt_error err;
	te_graph *g;

	snprintf(src, sizeof(src),
		 "param M = %d, N = %d, K = %d\ninput A[M, K] f32\ninput B[K, N] f32\n"
		 "C[i < M, j < N] = sum(k < K) A[i, k] * B[k, j]\n", n, n, n);
	rt_error_clear(&err);
	g = te_parse(src, NULL, 0, &err);
	ck_assert_msg(g != NULL, "%s", err.msg);
	(void)ctx;
	return g;
}

START_TEST(tune_small_gemm_beats_naive)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = gemm(ctx, 128);
	srch_tune_opts o;
	srch_result r;
	cg_target t;
	rt_error err;

	rt_error_clear(&err);
	ck_assert_int_eq(cg_target_host(&t, &err), 0);
	srch_tune_opts_default(&o);
	o.trials = 40;
	o.min_time = 0.02;
	o.seed = 3;
	ck_assert_msg(srch_tune(g, ctx, &t, &o, &r, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(r.nrecords, 40);
	ck_assert_int_ge(r.best, 0);
	ck_assert(isfinite(r.naive_seconds));
	ck_assert(r.records[r.best].verified);
	ck_assert_msg(r.records[r.best].seconds < r.naive_seconds, "best %g s, naive %g s",
		      r.records[r.best].seconds, r.naive_seconds);
	for (int i = 0; i < r.nrecords; i++)
		ck_assert_msg(r.records[i].status == SRCH_OK || r.records[i].reason[0],
			      "failure %d has no reason", i);
	srch_result_release(&r);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/* Every candidate crashes (test-only fault hook): each trial is recorded as
 * a failure with a reason, and the loop ends normally. */
START_TEST(crashing_candidates_are_failures)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = gemm(ctx, 16);
	srch_tune_opts o;
	srch_result r;
	cg_target t;
	rt_error err;

	rt_error_clear(&err);
	cg_target_host(&t, &err);
	t.fault = 1;
	srch_tune_opts_default(&o);
	o.trials = 5;
	o.min_time = 0.01;
	ck_assert_int_eq(srch_tune(g, ctx, &t, &o, &r, &err), 0);
	ck_assert_int_eq(r.nrecords, 5);
	ck_assert_int_eq(r.best, -1);
	for (int i = 0; i < r.nrecords; i++) {
		ck_assert_int_ne(r.records[i].status, SRCH_OK);
		ck_assert_msg(r.records[i].reason[0], "no reason");
	}
	srch_result_release(&r);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("tune");
	TCase *tc = tcase_create("tune");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, crashing_candidates_are_failures);
	tcase_add_test(tc, tune_small_gemm_beats_naive);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
