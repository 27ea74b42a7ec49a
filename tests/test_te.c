/*
 * Tests of ir/te: the builder, the canonical printer, the hash, FLOP counts.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "te.h"


/* GEMM C[M,N] = sum_k A[M,K] * B[K,N] with axis names from `names`. */
static te_graph *gemm(int64_t m, int64_t n, int64_t k, const char *const names[3])
{
	te_graph *g = te_graph_new();
	int64_t sa[2] = {m, k}, sb[2] = {k, n}, sc[2] = {m, n}, sr[1] = {k};
	int a = te_add_input(g, "A", TE_F32, 2, sa, NULL);
	int b = te_add_input(g, "B", TE_F32, 2, sb, NULL);
	int c = te_add_compute(g, "C", 2, names, sc, TE_RED_SUM, 1, names + 2, sr, NULL);
	te_expr *ia[2] = {te_axis_ref(g, 0), te_axis_ref(g, 2)};
	te_expr *ib[2] = {te_axis_ref(g, 2), te_axis_ref(g, 1)};
	te_expr *body = te_binary(g, TE_MUL, te_load(g, a, 2, ia, NULL),
				  te_load(g, b, 2, ib, NULL), NULL);

	ck_assert_int_eq(te_set_body(g, c, body, NULL), 0);
	te_default_outputs(g);
	return g;
}

static const char *const ijk[3] = {"i", "j", "k"};
static const char *const xyz[3] = {"x", "y", "z"};

START_TEST(print_gemm)
{
	te_graph *g = gemm(1024, 1024, 1024, ijk);
	char *text = te_graph_print(g, false), *pos = te_graph_print(g, true);

	ck_assert_str_eq(text, "input A[1024, 1024] f32\n"
			       "input B[1024, 1024] f32\n"
			       "C[i < 1024, j < 1024] = sum(k < 1024) A[i, k] * B[k, j]\n"
			       "output C\n");
	ck_assert_str_eq(pos, "input A[1024, 1024] f32\n"
			      "input B[1024, 1024] f32\n"
			      "C[a0 < 1024, a1 < 1024] = sum(r0 < 1024) A[a0, r0] * B[r0, a1]\n"
			      "output C\n");
	free(text);
	free(pos);
	te_graph_free(g);
}
END_TEST

START_TEST(hash_ignores_axis_names)
{
	te_graph *g1 = gemm(64, 32, 16, ijk), *g2 = gemm(64, 32, 16, xyz);
	char h1[17], h2[17];

	ck_assert_uint_eq(te_graph_hash(g1, h1), te_graph_hash(g2, h2));
	ck_assert_str_eq(h1, h2);
	ck_assert_int_eq(strlen(h1), 16);
	te_graph_free(g1);
	te_graph_free(g2);
}
END_TEST

START_TEST(hash_tells_shapes_apart)
{
	te_graph *g[4] = {gemm(64, 32, 16, ijk), gemm(64, 32, 17, ijk),
			  gemm(32, 64, 16, ijk), gemm(64, 16, 32, ijk)};
	uint64_t h[4];

	for (int i = 0; i < 4; i++)
		h[i] = te_graph_hash(g[i], NULL);
	for (int i = 0; i < 4; i++) {
		for (int j = i + 1; j < 4; j++)
			ck_assert_uint_ne(h[i], h[j]);
		te_graph_free(g[i]);
	}
}
END_TEST

/* The hash keys the tuning db: it must never change by accident. */
START_TEST(hash_is_stable)
{
	te_graph *g = gemm(1024, 1024, 1024, ijk);
	char h[17];

	te_graph_hash(g, h);
	ck_assert_str_eq(h, "0885dc802e6fdc53");
	te_graph_free(g);
}
END_TEST

/* Graph y[i] = BODY for an f32 input x[8], with BODY built by `make`. */
typedef te_expr *(*body_fn)(te_graph *g, int x);

static char *print_body(body_fn make)
{
	te_graph *g = te_graph_new();
	int64_t n = 8;
	const char *names[1] = {"i"};
	int x = te_add_input(g, "x", TE_F32, 1, &n, NULL);
	int y = te_add_compute(g, "y", 1, names, &n, TE_RED_NONE, 0, NULL, NULL, NULL);
	char *text;

	ck_assert_int_eq(te_set_body(g, y, make(g, x), NULL), 0);
	text = te_expr_print(g, te_graph_stage(g, y), te_graph_stage(g, y)->body);
	te_graph_free(g);
	return text;
}

static te_expr *ld(te_graph *g, int x)
{
	te_expr *i = te_axis_ref(g, 0);

	return te_load(g, x, 1, &i, NULL);
}

static te_expr *sum_times(te_graph *g, int x)
{
	return te_binary(g, TE_MUL, te_binary(g, TE_ADD, ld(g, x), te_const_float(g, 1, TE_F32), NULL),
			 ld(g, x), NULL);
}

static te_expr *sub_right(te_graph *g, int x)
{
	return te_binary(g, TE_SUB, ld(g, x),
			 te_binary(g, TE_SUB, ld(g, x), te_const_float(g, 0.1, TE_F32), NULL), NULL);
}

static te_expr *sub_left(te_graph *g, int x)
{
	return te_binary(g, TE_SUB, te_binary(g, TE_SUB, ld(g, x), te_const_float(g, -2.5, TE_F32), NULL),
			 ld(g, x), NULL);
}

static te_expr *guarded(te_graph *g, int x)
{
	te_expr *i = te_axis_ref(g, 0);
	te_expr *im1 = te_binary(g, TE_SUB, te_axis_ref(g, 0), te_const_int(g, 1), NULL);
	te_expr *cond = te_binary(g, TE_AND, te_binary(g, TE_GE, i, te_const_int(g, 1), NULL),
				  te_unary(g, TE_NOT, te_binary(g, TE_EQ, te_axis_ref(g, 0),
								te_const_int(g, 5), NULL), NULL), NULL);

	return te_select(g, cond, te_load(g, x, 1, &im1, NULL), te_const_float(g, 0, TE_F32), NULL);
}

static te_expr *casts(te_graph *g, int x)
{
	te_expr *d = te_cast(g, TE_F64, ld(g, x), NULL);

	return te_cast(g, TE_F32, te_unary(g, TE_EXP, te_binary(g, TE_MUL, d,
			te_const_float(g, 0.1, TE_F64), NULL), NULL), NULL);
}

static te_expr *neg_neg(te_graph *g, int x)
{
	return te_unary(g, TE_NEG, te_unary(g, TE_NEG, ld(g, x), NULL), NULL);
}

static const struct {
	body_fn make;
	const char *text;
} print_table[] = {
	{sum_times, "(x[i] + 1.0) * x[i]"},
	{sub_right, "x[i] - (x[i] - 0.1)"},
	{sub_left, "x[i] - (-2.5) - x[i]"},
	{guarded, "select(i >= 1 && !(i == 5), x[i - 1], 0.0)"},
	{casts, "f32(exp(f64(x[i]) * 0.1))"},
	{neg_neg, "-(-x[i])"},
};

START_TEST(print_expressions)
{
	char *text = print_body(print_table[_i].make);

	ck_assert_str_eq(text, print_table[_i].text);
	free(text);
}
END_TEST

START_TEST(flops_count_arithmetic)
{
	te_graph *g = gemm(8, 4, 2, ijk);

	ck_assert(te_graph_flops(g) == 2.0 * 8 * 4 * 2);
	te_graph_free(g);
}
END_TEST

/* The checked helpers at the int64 edge, and the sizes of a stage whose
 * counts overflow (an unverified graph): -1, never a wrapped number. */
START_TEST(sizes_are_checked)
{
	te_graph *g = te_graph_new();
	int64_t big[3] = {TE_MAX_EXTENT, TE_MAX_EXTENT, TE_MAX_EXTENT};
	int64_t two[2] = {INT64_C(1) << 31, INT64_C(1) << 31}, r;
	int64_t n = 4, rext = INT64_C(1) << 40;
	const char *names[1] = {"i"}, *rnames[1] = {"k"};
	int a, b, c;
	te_expr *k;

	ck_assert(te_mul_checked(INT64_C(1) << 31, INT64_C(1) << 31, &r) && r == INT64_C(1) << 62);
	ck_assert(te_mul_checked(INT64_MAX, 1, &r) && r == INT64_MAX);
	ck_assert(!te_mul_checked(INT64_C(1) << 32, INT64_C(1) << 31, &r) && r == INT64_MAX);
	ck_assert(!te_mul_checked(-(INT64_C(1) << 62), 4, &r));
	ck_assert(te_add_checked(INT64_MAX - 1, 1, &r) && r == INT64_MAX);
	ck_assert(!te_add_checked(INT64_MAX, 1, &r) && r == INT64_MAX);

	a = te_add_input(g, "A", TE_F32, 3, big, NULL);
	b = te_add_input(g, "B", TE_F64, 2, two, NULL);
	c = te_add_compute(g, "C", 1, names, &n, TE_RED_SUM, 1, rnames, &rext, NULL);
	ck_assert_int_ge(a, 0);
	ck_assert_int_ge(b, 0);
	k = te_axis_ref(g, 1);
	ck_assert_int_eq(te_set_body(g, c, te_cast(g, TE_F32, k, NULL), NULL), 0);
	/* (2^31 - 1)^3 elements: the old product wrapped */
	ck_assert_int_eq(te_stage_numel(te_graph_stage(g, a)), -1);
	ck_assert_int_eq(te_stage_bytes(te_graph_stage(g, a)), -1);
	/* 2^62 elements fit, 2^65 bytes do not */
	ck_assert_int_eq(te_stage_numel(te_graph_stage(g, b)), INT64_C(1) << 62);
	ck_assert_int_eq(te_stage_bytes(te_graph_stage(g, b)), -1);
	/* 4 x 2^40 points, one reduction each */
	ck_assert_int_eq(te_stage_points(te_graph_stage(g, c)), INT64_C(1) << 42);
	ck_assert_int_eq(te_stage_flops(te_graph_stage(g, c)), INT64_C(1) << 42);
	ck_assert_int_eq(te_stage_flops(te_graph_stage(g, a)), 0);
	ck_assert(te_graph_flops(g) == 0x1p42);
	rext = INT64_C(1) << 62;
	te_graph_stage(g, c)->axes[1].extent = rext;
	ck_assert_int_eq(te_stage_points(te_graph_stage(g, c)), -1);
	ck_assert_int_eq(te_stage_flops(te_graph_stage(g, c)), -1);
	ck_assert(te_graph_flops(g) == -1);
	te_graph_free(g);
}
END_TEST

START_TEST(builder_rejects_bad_input)
{
	te_graph *g = te_graph_new();
	int64_t s2[2] = {4, 4}, bad[1] = {0};
	const char *names[2] = {"i", "i"};
	rt_error err;
	te_expr *i;
	int a;

	rt_error_clear(&err);
	a = te_add_input(g, "A", TE_F32, 2, s2, &err);
	ck_assert_int_eq(a, 0);
	ck_assert_int_eq(te_add_input(g, "A", TE_F32, 1, s2, &err), -1);
	ck_assert_str_eq(err.msg, "'A' is already defined");
	rt_error_clear(&err);
	ck_assert_int_eq(te_add_input(g, "Z", TE_F32, 1, bad, &err), -1);
	ck_assert(strstr(err.msg, "extents must be positive"));
	rt_error_clear(&err);
	ck_assert_int_eq(te_add_input(g, "9x", TE_F32, 1, s2, &err), -1);
	ck_assert(strstr(err.msg, "invalid tensor name"));
	rt_error_clear(&err);
	ck_assert_int_eq(te_add_compute(g, "C", 2, names, s2, TE_RED_NONE, 0, NULL, NULL, &err), -1);
	ck_assert(strstr(err.msg, "declared twice"));
	rt_error_clear(&err);
	i = te_axis_ref(g, 0);
	ck_assert_ptr_null(te_load(g, a, 1, &i, &err));
	ck_assert(strstr(err.msg, "rank 2"));
	rt_error_clear(&err);
	ck_assert_ptr_null(te_binary(g, TE_ADD, te_const_float(g, 1, TE_F32),
				     te_const_float(g, 1, TE_F64), &err));
	ck_assert(strstr(err.msg, "different types f32 and f64"));
	rt_error_clear(&err);
	ck_assert_ptr_null(te_unary(g, TE_EXP, te_const_int(g, 1), &err));
	ck_assert(strstr(err.msg, "float"));
	te_graph_free(g);
}
END_TEST

START_TEST(default_outputs_are_unread_computes)
{
	te_graph *g = te_graph_new();
	int64_t n = 4;
	const char *names[1] = {"i"};
	int x = te_add_input(g, "x", TE_F32, 1, &n, NULL);
	int t = te_add_compute(g, "t", 1, names, &n, TE_RED_NONE, 0, NULL, NULL, NULL);
	int y = te_add_compute(g, "y", 1, names, &n, TE_RED_NONE, 0, NULL, NULL, NULL);
	te_expr *i0 = te_axis_ref(g, 0), *i1 = te_axis_ref(g, 0);

	te_set_body(g, t, te_load(g, x, 1, &i0, NULL), NULL);
	te_set_body(g, y, te_load(g, t, 1, &i1, NULL), NULL);
	te_default_outputs(g);
	ck_assert(!te_graph_stage(g, x)->is_output);
	ck_assert(!te_graph_stage(g, t)->is_output);
	ck_assert(te_graph_stage(g, y)->is_output);
	ck_assert_ptr_null(te_graph_free(g));
	ck_assert_ptr_null(te_graph_free(NULL));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("te");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, print_gemm);
	tcase_add_test(tc, hash_ignores_axis_names);
	tcase_add_test(tc, hash_tells_shapes_apart);
	tcase_add_test(tc, hash_is_stable);
	tcase_add_loop_test(tc, print_expressions, 0, sizeof(print_table) / sizeof(print_table[0]));
	tcase_add_test(tc, flops_count_arithmetic);
	tcase_add_test(tc, sizes_are_checked);
	tcase_add_test(tc, builder_rejects_bad_input);
	tcase_add_test(tc, default_outputs_are_unread_computes);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
