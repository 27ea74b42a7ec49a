/*
 * Tests of ir/lir_pipe, the one lowering entry: a table of schedule texts
 * and the pass each stops at (parse, lower, or none), the canonical text
 * it reports, and the naive schedule.
 */
#include <check.h>
#include <isl/ctx.h>
#include <isl/options.h>
#include <stdlib.h>
#include <string.h>

#include "lir_pipe.h"
#include "lower.h"
#include "te_parse.h"
#include "te_verify.h"

static const char gemm[] = "param M = 16, N = 12, K = 8\ninput A[M, K] f32\ninput B[K, N] f32\n"
			   "C[i < M, j < N] = sum(k < K) A[i, k] * B[k, j]\n";

static te_graph *graph(isl_ctx *ctx)
{
	rt_error err;
	te_graph *g;

	rt_error_clear(&err);
	g = te_parse(gemm, NULL, 0, &err);
	ck_assert_msg(g != NULL, "%s", err.msg);
	ck_assert_int_eq(te_verify(g, ctx, &err), 0);
	return g;
}

static isl_ctx *new_ctx(void)
{
	isl_ctx *ctx = isl_ctx_alloc();

	isl_options_set_on_error(ctx, ISL_ON_ERROR_CONTINUE);
	return ctx;
}

/* Schedule text -> the pass that fails, the canonical text on success, a
 * word of the message on failure (and its line when it has one). */
static const struct {
	const char *schedule;
	lir_pass failed;
	const char *canonical_or_msg;
	int line;
} cases[] = {
	{NULL, LIR_PASS_NONE, NULL, 0},
	{"split C i 4\n", LIR_PASS_NONE, "split C i 4\n", 0},
	{"# tiled\nsplit   C j  4\nreorder C i j.o k j.i\n", LIR_PASS_NONE, "split C j 4\nreorder C i j.o k j.i\n", 0},
	{"split C i 4\nfrobnicate C i\n", LIR_PASS_PARSE, "frobnicate", 2},
	{"split C nosuch 4\n", LIR_PASS_LOWER, "nosuch", 1},
	{"parallel C k\n", LIR_PASS_LOWER, "k", 1},
};

START_TEST(passes_table)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = graph(ctx);
	lir_pipe p = {cases[_i].schedule, "gemm", 0, NULL, LIR_PASS_NONE};
	rt_error err;
	lir_func *f;

	rt_error_clear(&err);
	f = lir_pipe_run(g, ctx, &p, &err);
	ck_assert_int_eq(p.failed, cases[_i].failed);
	if (cases[_i].failed == LIR_PASS_NONE) {
		ck_assert_msg(f != NULL, "%s", err.msg);
		ck_assert_int_eq(lir_verify(f, &err), 0);
		if (cases[_i].canonical_or_msg)
			ck_assert_str_eq(p.canonical, cases[_i].canonical_or_msg);
		else
			ck_assert_ptr_null(p.canonical);
	} else {
		ck_assert_ptr_null(f);
		ck_assert_ptr_null(p.canonical);
		ck_assert_msg(strstr(err.msg, cases[_i].canonical_or_msg), "%s", err.msg);
		ck_assert_int_eq(err.line, cases[_i].line);
	}
	lir_pipe_release(&p);
	lir_func_free(f);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/* The short form gives the same function as lower + verify by hand. */
START_TEST(short_form_matches_lowering)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = graph(ctx);
	rt_error err;
	lir_func *a, *b;
	char *ta, *tb;

	rt_error_clear(&err);
	a = lir_pipeline(g, ctx, NULL, "k", LIR_LOWER_TRUSTED, &err);
	b = lir_lower(g, NULL, ctx, "k", &err);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ta = lir_print(a);
	tb = lir_print(b);
	ck_assert_str_eq(ta, tb);
	free(ta);
	free(tb);
	lir_func_free(a);
	lir_func_free(b);
	ck_assert_ptr_null(lir_pipeline(g, ctx, "split C\n", "k", 0, &err));
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pipe");
	TCase *tc = tcase_create("pipe");
	SRunner *sr;
	int failed;

	tcase_add_loop_test(tc, passes_table, 0, (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, short_form_matches_lowering);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
