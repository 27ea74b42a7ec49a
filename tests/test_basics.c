/*
 * test_basics: the shared basics in runtime/ at their edges: floor
 * division and modulo (and that the loop IR interpreter and the JIT
 * compute the same values), the qsort comparison of doubles, the
 * growable buffer, the arena.
 */
#include <check.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cg.h"
#include "lir.h"
#include "rt_arena.h"
#include "rt_buf.h"
#include "rt_math.h"

/* ---- floor division and modulo ---- */

static const struct {
	int64_t a, b, div, mod;
} floor_table[] = {
	{7, 2, 3, 1},
	{-7, 2, -4, 1},
	{7, -2, -4, -1},
	{-7, -2, 3, -1},
	{-8, 2, -4, 0},
	{8, -2, -4, 0},
	{-1, 3, -1, 2},
	{1, -3, -1, -2},
	{0, -5, 0, 0},
	{5, 0, 0, 0},
	{-5, 0, 0, 0},
	{0, 0, 0, 0},
	{5, -1, -5, 0},
	{-5, -1, 5, 0},
	{INT64_MIN, -1, INT64_MIN, 0},
	{INT64_MIN, 1, INT64_MIN, 0},
	{INT64_MIN, 2, INT64_MIN / 2, 0},
	{INT64_MIN, 3, -3074457345618258603, 1},
	{INT64_MIN, INT64_MAX, -2, INT64_MAX - 1},
	{INT64_MAX, INT64_MIN, -1, -1},
	{INT64_MIN, INT64_MIN, 1, 0},
	{INT64_MAX, -1, -INT64_MAX, 0},
	{INT64_MAX, 2, INT64_MAX / 2, 1},
	{-1, INT64_MIN, 0, -1},
	{1, INT64_MIN, -1, INT64_MIN + 1},
};

#define NFLOOR ((int)(sizeof(floor_table) / sizeof(floor_table[0])))

START_TEST(floor_divmod_table)
{
	int64_t a = floor_table[_i].a, b = floor_table[_i].b;

	ck_assert_msg(rt_floor_div(a, b) == floor_table[_i].div, "%lld / %lld = %lld, want %lld", (long long)a,
		      (long long)b, (long long)rt_floor_div(a, b), (long long)floor_table[_i].div);
	ck_assert_msg(rt_floor_mod(a, b) == floor_table[_i].mod, "%lld %% %lld = %lld, want %lld", (long long)a,
		      (long long)b, (long long)rt_floor_mod(a, b), (long long)floor_table[_i].mod);
	/* a = b (a / b) + a % b, wrapping, for every divisor but 0 */
	if (b != 0)
		ck_assert(a == (int64_t)((uint64_t)b * (uint64_t)rt_floor_div(a, b) + (uint64_t)rt_floor_mod(a, b)));
}
END_TEST

/* Small operands against the definition: the largest q with b q <= a
 * (b > 0) or b q >= a (b < 0). */
START_TEST(floor_divmod_small)
{
	for (int64_t a = -20; a <= 20; a++)
		for (int64_t b = -7; b <= 7; b++) {
			int64_t q = rt_floor_div(a, b), r = rt_floor_mod(a, b);

			if (b == 0 || b == -1)
				continue;
			ck_assert_msg(b > 0 ? b * q <= a && b * (q + 1) > a : b * q >= a && b * (q + 1) < a,
				      "%lld / %lld = %lld", (long long)a, (long long)b, (long long)q);
			ck_assert(r == a - b * q && (r == 0 || (r < 0) == (b < 0)));
		}
}
END_TEST

/* Element i of buffer `buf` (i64) as type t. */
static lir_expr *operand(lir_func *f, lir_type t, int buf, int i)
{
	lir_expr *e = lir_load(f, buf, lir_var_ref(f, i));

	return t == LIR_I64 ? e : lir_cast(f, t, e);
}

/* a op b (type t) as i64. */
static lir_expr *widened(lir_func *f, lir_type t, lir_op op, int A, int B, int i)
{
	lir_expr *e = lir_binary(f, op, operand(f, t, A, i), operand(f, t, B, i));

	return t == LIR_I64 ? e : lir_cast(f, LIR_I64, e);
}

/*
 * Q[i] = A[i] / B[i] and R[i] = A[i] % B[i] over the table, in type t,
 * under a loop of `kind`: the JIT-run kernel, the loop IR interpreter and
 * rt_floor_div/mod (wrapped to t) agree.  The operands are loaded, so
 * LLVM cannot fold them.
 */
static void divmod_agree(lir_type t, lir_for_kind kind)
{
	enum { N = 32 };
	lir_func *f = lir_func_new("divmod");
	int A = lir_add_buffer(f, "A", LIR_I64, N, LIR_GLOBAL), B = lir_add_buffer(f, "B", LIR_I64, N, LIR_GLOBAL);
	int Q = lir_add_buffer(f, "Q", LIR_I64, N, LIR_GLOBAL), R = lir_add_buffer(f, "R", LIR_I64, N, LIR_GLOBAL);
	int i = lir_add_var(f, "i", LIR_I64);
	lir_stmt *st[2] = {lir_store(f, Q, lir_var_ref(f, i), widened(f, t, LIR_DIV, A, B, i)),
			   lir_store(f, R, lir_var_ref(f, i), widened(f, t, LIR_MOD, A, B, i))};
	int64_t av[N], bv[N], q[N], r[N], iq[N], ir[N];
	void *args[4] = {av, bv, q, r}, *ref[4] = {av, bv, iq, ir};
	rt_error err;
	cg_target tg;
	cg_jit *j;

	for (int k = 0; k < N; k++) {
		av[k] = floor_table[k % NFLOOR].a;
		bv[k] = floor_table[k % NFLOOR].b;
		if (t == LIR_I32) { /* the i32 edges: INT32_MIN, -1, 0 */
			av[k] = av[k] == INT64_MIN ? INT32_MIN : av[k] == INT64_MAX ? INT32_MAX : av[k];
			bv[k] = bv[k] == INT64_MIN ? INT32_MIN : bv[k] == INT64_MAX ? INT32_MAX : bv[k];
		}
	}
	lir_func_set_body(f, lir_for(f, i, lir_const_int(f, 0, LIR_I64), lir_const_int(f, N, LIR_I64), 1, kind,
				     lir_seq(f, 2, st)));
	rt_error_clear(&err);
	ck_assert_msg(lir_verify(f, &err) == 0, "%s", err.msg);
	ck_assert_msg(lir_interp_run(f, ref, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(cg_target_host(&tg, &err), 0);
	tg.threads = 1;
	j = cg_jit_new(cg_cpu_compile(f, &tg, &err), &err);
	ck_assert_msg(j != NULL, "%s", err.msg);
	ck_assert_int_eq(cg_jit_entry(j)(args), 0);
	for (int k = 0; k < N; k++) {
		int64_t wq = rt_floor_div(av[k], bv[k]), wr = rt_floor_mod(av[k], bv[k]);

		if (t == LIR_I32)
			wq = (int32_t)(uint32_t)(uint64_t)wq;
		ck_assert_msg(q[k] == iq[k] && r[k] == ir[k] && q[k] == wq && r[k] == wr,
			      "%s %s: %lld / %lld: JIT %lld %lld, interpreter %lld %lld, rt %lld %lld", lir_type_name(t),
			      lir_for_kind_name(kind), (long long)av[k], (long long)bv[k], (long long)q[k], (long long)r[k],
			      (long long)iq[k], (long long)ir[k], (long long)wq, (long long)wr);
	}
	cg_jit_free(j);
	lir_func_free(f);
}

START_TEST(divmod_interp_jit_agree)
{
	divmod_agree(LIR_I64, LIR_SERIAL);
	divmod_agree(LIR_I64, LIR_VECTORIZED);
	divmod_agree(LIR_I32, LIR_SERIAL);
	divmod_agree(LIR_I32, LIR_VECTORIZED);
}
END_TEST

/* ---- qsort of doubles ---- */

START_TEST(cmp_double_sorts)
{
	double v[] = {3, -1, 0.5, -0.0, 2, -7.25, 3, 1e300, -1e300};
	int n = (int)(sizeof(v) / sizeof(v[0]));

	ck_assert_int_eq(rt_cmp_double(&v[0], &v[1]), 1);
	ck_assert_int_eq(rt_cmp_double(&v[1], &v[0]), -1);
	ck_assert_int_eq(rt_cmp_double(&v[0], &v[6]), 0);
	qsort(v, (size_t)n, sizeof(double), rt_cmp_double);
	for (int k = 1; k < n; k++)
		ck_assert(v[k - 1] <= v[k]);
	ck_assert(v[0] == -1e300 && v[n - 1] == 1e300);
}
END_TEST

/* ---- the growable buffer ---- */

START_TEST(buf_empty_and_text)
{
	rt_buf b = {0};
	char *s = rt_buf_take(&b);

	ck_assert_str_eq(s, ""); /* nothing appended: "", not NULL */
	free(s);
	rt_buf_str(&b, "ab");
	rt_buf_put(&b, "c\0d", 3); /* bytes, a NUL among them */
	rt_buf_printf(&b, "%d-%s", 42, "x");
	ck_assert_uint_eq(b.n, 9);
	ck_assert(memcmp(b.p, "abc\0d42-x", 10) == 0);
	ck_assert(b.p[b.n] == '\0' && b.cap > b.n && !b.oom);
	s = rt_buf_take(&b);
	ck_assert(s && b.p == NULL && b.n == 0 && b.cap == 0);
	free(s);
	rt_buf_free(NULL);
}
END_TEST

/* Appends past every capacity it had: exact contents, each growth. */
START_TEST(buf_grows)
{
	rt_buf b = {0};
	char *s;

	for (int i = 0; i < 5000; i++)
		rt_buf_printf(&b, "%d,", i % 10);
	rt_buf_printf(&b, "%0*d", 3000, 7); /* one append longer than the buffer */
	ck_assert(!b.oom);
	ck_assert_uint_eq(b.n, 13000);
	ck_assert(strlen(b.p) == 13000 && b.p[9998] == '9' && b.p[9999] == ',' && b.p[12999] == '7');
	s = rt_buf_take(&b);
	ck_assert(s[0] == '0' && s[1] == ',');
	free(s);
}
END_TEST

/* The limit: bytes held + appended + the NUL past SIZE_MAX fail (one byte
 * past the edge; at the edge itself realloc is asked for SIZE_MAX bytes),
 * the failure sticks, take gives NULL and frees what was held. */
START_TEST(buf_limit_sticky)
{
	rt_buf b = {0};

	rt_buf_str(&b, "held");
	rt_buf_put(&b, "x", SIZE_MAX - 4); /* 4 + (SIZE_MAX - 4) + 1 wraps */
	ck_assert(b.oom && b.n == 4);
	rt_buf_str(&b, "more");
	rt_buf_printf(&b, "%s", "more");
	rt_buf_put(&b, "x", 1);
	ck_assert(b.oom && b.n == 4 && !strcmp(b.p, "held"));
	ck_assert_ptr_null(rt_buf_take(&b));
	ck_assert(b.p == NULL && !b.oom);
	rt_buf_put(&b, "x", SIZE_MAX); /* empty: SIZE_MAX + the NUL wraps */
	ck_assert(b.oom && b.p == NULL);
	rt_buf_free(&b);
	ck_assert(b.p == NULL && !b.oom);
}
END_TEST

/* ---- the arena ---- */

/* Zeroed, aligned, distinct allocations across chunks; one that is larger
 * than a chunk gets its own; strings copied, NULL as "". */
START_TEST(arena_allocates)
{
	rt_arena a = {0};
	char *prev = NULL, *big, *s;

	for (int i = 0; i < 3 * RT_ARENA_CHUNK / 24; i++) { /* several chunks */
		char *p = rt_arena_alloc(&a, 24);

		ck_assert_ptr_nonnull(p);
		ck_assert((uintptr_t)p % _Alignof(max_align_t) == 0);
		for (int k = 0; k < 24; k++)
			ck_assert(p[k] == 0);
		memset(p, 0xab, 24);
		ck_assert(p != prev);
		prev = p;
	}
	big = rt_arena_alloc(&a, 3 * RT_ARENA_CHUNK + 1);
	ck_assert(big && big[0] == 0 && big[3 * RT_ARENA_CHUNK] == 0);
	memset(big, 1, 3 * RT_ARENA_CHUNK + 1);
	ck_assert_ptr_nonnull(rt_arena_alloc(&a, 0));
	s = rt_arena_strdup(&a, "stage");
	ck_assert_str_eq(s, "stage");
	ck_assert_str_eq(rt_arena_strdup(&a, NULL), "");
	rt_arena_free(&a);
	ck_assert_ptr_null(a.head);
	rt_arena_free(&a);
	rt_arena_free(NULL);
}
END_TEST

/* The limit: a size that would overflow with the alignment and the chunk
 * header is refused before any allocation; the arena stays usable. */
START_TEST(arena_limit)
{
	rt_arena a = {0};

	ck_assert_ptr_null(rt_arena_alloc(&a, SIZE_MAX));
	ck_assert_ptr_null(rt_arena_alloc(&a, SIZE_MAX - sizeof(max_align_t)));
	ck_assert_ptr_null(a.head);
	ck_assert_ptr_nonnull(rt_arena_alloc(&a, 8));
	rt_arena_free(&a);
}
END_TEST

static Suite *basics_suite(void)
{
	Suite *s = suite_create("basics");
	TCase *tc = tcase_create("basics");

	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, floor_divmod_table, 0, NFLOOR);
	tcase_add_test(tc, floor_divmod_small);
	tcase_add_test(tc, divmod_interp_jit_agree);
	tcase_add_test(tc, cmp_double_sorts);
	tcase_add_test(tc, buf_empty_and_text);
	tcase_add_test(tc, buf_grows);
	tcase_add_test(tc, buf_limit_sticky);
	tcase_add_test(tc, arena_allocates);
	tcase_add_test(tc, arena_limit);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(basics_suite());
	int nfailed;

	srunner_run_all(sr, CK_NORMAL);
	nfailed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfailed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
