/*
 * Tests of ir/lir: the builder, the printer (golden text), the verifier
 * (tables of good and bad functions) and the interpreter (against plain C
 * loops, and on the corner cases of its arithmetic and memory rules).
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lir.h"

/* ---- building helpers ---- */

static lir_expr *I(lir_func *f, int64_t v)
{
	return lir_const_int(f, v, LIR_I64);
}

static lir_expr *F(lir_func *f, double v)
{
	return lir_const_float(f, v, LIR_F32);
}

static lir_expr *V(lir_func *f, int var)
{
	return lir_var_ref(f, var);
}

static lir_expr *add(lir_func *f, lir_expr *a, lir_expr *b)
{
	return lir_binary(f, LIR_ADD, a, b);
}

static lir_expr *mul(lir_func *f, lir_expr *a, lir_expr *b)
{
	return lir_binary(f, LIR_MUL, a, b);
}

static lir_stmt *seq2(lir_func *f, lir_stmt *a, lir_stmt *b)
{
	lir_stmt *s[2] = {a, b};

	return lir_seq(f, 2, s);
}

static lir_stmt *seq3(lir_func *f, lir_stmt *a, lir_stmt *b, lir_stmt *c)
{
	lir_stmt *s[3] = {a, b, c};

	return lir_seq(f, 3, s);
}

/* A serial loop `for (v = 0; v < n; v++) body`. */
static lir_stmt *loop(lir_func *f, int var, int64_t n, lir_stmt *body)
{
	return lir_for(f, var, I(f, 0), I(f, n), 1, LIR_SERIAL, body);
}

static lir_stmt *kloop(lir_func *f, int var, int64_t n, lir_for_kind k, lir_stmt *body)
{
	return lir_for(f, var, I(f, 0), I(f, n), 1, k, body);
}

/*
 * C[m,n] = sum_k A[m,k] * B[k,n], i and j tiled by t with min() tails:
 *   parallel for i_o, for j_o, for i_i < min(t, m - t*i_o), for j_i < ...
 *     let i, let j: C = 0; for k: C = C + A * B
 */
static lir_func *tiled_gemm(int64_t m, int64_t n, int64_t k, int64_t t)
{
	lir_func *f = lir_func_new("gemm");
	int A = lir_add_buffer(f, "A", LIR_F32, m * k, LIR_GLOBAL);
	int B = lir_add_buffer(f, "B", LIR_F32, k * n, LIR_GLOBAL);
	int C = lir_add_buffer(f, "C", LIR_F32, m * n, LIR_GLOBAL);
	int io = lir_add_var(f, "i_o", LIR_I64), jo = lir_add_var(f, "j_o", LIR_I64);
	int ii = lir_add_var(f, "i_i", LIR_I64), ji = lir_add_var(f, "j_i", LIR_I64);
	int i = lir_add_var(f, "i", LIR_I64), j = lir_add_var(f, "j", LIR_I64);
	int kk = lir_add_var(f, "k", LIR_I64);
	lir_expr *ci = add(f, mul(f, I(f, n), V(f, i)), V(f, j));
	lir_expr *ai = add(f, mul(f, I(f, k), V(f, i)), V(f, kk));
	lir_expr *bi = add(f, mul(f, I(f, n), V(f, kk)), V(f, j));
	lir_stmt *upd = lir_store(f, C, ci, add(f, lir_load(f, C, ci),
						  mul(f, lir_load(f, A, ai), lir_load(f, B, bi))));
	lir_stmt *body = seq2(f, lir_store(f, C, ci, F(f, 0)), loop(f, kk, k, upd));
	lir_expr *ihi = lir_binary(f, LIR_MIN, I(f, t),
				   lir_binary(f, LIR_SUB, I(f, m), mul(f, I(f, t), V(f, io))));
	lir_expr *jhi = lir_binary(f, LIR_MIN, I(f, t),
				   lir_binary(f, LIR_SUB, I(f, n), mul(f, I(f, t), V(f, jo))));

	body = lir_let(f, i, add(f, mul(f, I(f, t), V(f, io)), V(f, ii)),
		       lir_let(f, j, add(f, mul(f, I(f, t), V(f, jo)), V(f, ji)), body));
	body = lir_for(f, ji, I(f, 0), jhi, 1, LIR_SERIAL, body);
	body = lir_for(f, ii, I(f, 0), ihi, 1, LIR_SERIAL, body);
	body = loop(f, jo, (n + t - 1) / t, body);
	body = kloop(f, io, (m + t - 1) / t, LIR_PARALLEL, body);
	ck_assert_ptr_nonnull(body);
	lir_func_set_body(f, body);
	return f;
}

/*
 * A GPU-style cooperative copy: per block, threads accumulate A into a
 * shared S (zeroed per block), a barrier, then threads write S reversed.
 */
static lir_func *gpu_reverse(void)
{
	lir_func *f = lir_func_new("reverse");
	int A = lir_add_buffer(f, "A", LIR_F32, 8, LIR_GLOBAL);
	int B = lir_add_buffer(f, "B", LIR_F32, 8, LIR_GLOBAL);
	int S = lir_add_buffer(f, "S", LIR_F32, 4, LIR_SHARED);
	int b = lir_add_var(f, "b", LIR_I64);
	int t1 = lir_add_var(f, "t", LIR_I64), t2 = lir_add_var(f, "t", LIR_I64);
	lir_stmt *fill = lir_store(f, S, V(f, t1),
				   add(f, lir_load(f, S, V(f, t1)),
				       lir_load(f, A, add(f, mul(f, I(f, 4), V(f, b)), V(f, t1)))));
	lir_stmt *drain = lir_store(f, B, add(f, mul(f, I(f, 4), V(f, b)), V(f, t2)),
				    lir_load(f, S, lir_binary(f, LIR_SUB, I(f, 3), V(f, t2))));
	lir_stmt *body = seq3(f, kloop(f, t1, 4, LIR_THREAD_X, fill), lir_barrier(f),
			      kloop(f, t2, 4, LIR_THREAD_X, drain));

	lir_func_set_body(f, kloop(f, b, 2, LIR_BLOCK_X, lir_alloc(f, S, body)));
	ck_assert_ptr_nonnull(lir_func_body(f));
	return f;
}

/* Per thread, a LOCAL accumulator L sums 3 elements of A into B[t]. */
static lir_func *gpu_local_sum(void)
{
	lir_func *f = lir_func_new("rowsum");
	int A = lir_add_buffer(f, "A", LIR_F32, 12, LIR_GLOBAL);
	int B = lir_add_buffer(f, "B", LIR_F32, 4, LIR_GLOBAL);
	int L = lir_add_buffer(f, "L", LIR_F32, 1, LIR_LOCAL);
	int bx = lir_add_var(f, "bx", LIR_I64), t = lir_add_var(f, "t", LIR_I64);
	int k = lir_add_var(f, "k", LIR_I64);
	lir_stmt *acc = lir_store(f, L, I(f, 0),
				  add(f, lir_load(f, L, I(f, 0)),
				      lir_load(f, A, add(f, mul(f, I(f, 3), V(f, t)), V(f, k)))));
	lir_stmt *body = seq2(f, kloop(f, k, 3, LIR_UNROLLED, acc),
			      lir_store(f, B, V(f, t), lir_load(f, L, I(f, 0))));

	body = kloop(f, t, 4, LIR_THREAD_X, lir_alloc(f, L, body));
	lir_func_set_body(f, kloop(f, bx, 1, LIR_BLOCK_X, body));
	ck_assert_ptr_nonnull(lir_func_body(f));
	return f;
}

/* Expressions, if/else chains, a braced let, a stack allocation. */
static lir_func *misc(void)
{
	lir_func *f = lir_func_new("misc");
	int out = lir_add_buffer(f, "out", LIR_F32, 16, LIR_GLOBAL);
	int n = lir_add_buffer(f, "n", LIR_I32, 1, LIR_GLOBAL);
	int d = lir_add_buffer(f, "d", LIR_F64, 1, LIR_GLOBAL);
	int tmp = lir_add_buffer(f, "tmp", LIR_I64, 2, LIR_STACK);
	int v = lir_add_var(f, "v", LIR_I64), x = lir_add_var(f, "x", LIR_I64);
	lir_expr *n0 = lir_load(f, n, I(f, 0));
	lir_expr *xv = lir_binary(f, LIR_SUB, mul(f, V(f, v), I(f, 2)),
				  lir_binary(f, LIR_SUB, V(f, v), I(f, 1)));
	lir_expr *cond = lir_binary(f, LIR_AND, lir_binary(f, LIR_LT, V(f, x), I(f, 3)),
				    lir_unary(f, LIR_NOT, lir_binary(f, LIR_EQ, V(f, x), I(f, 2))));
	lir_expr *sel = lir_select(f, cond,
				   mul(f, lir_cast(f, LIR_F32, V(f, x)), add(f, F(f, 1.5), F(f, -2))),
				   lir_unary(f, LIR_NEG, lir_unary(f, LIR_ABS, F(f, 2.5))));
	lir_stmt *vec = kloop(f, v, 4, LIR_VECTORIZED,
			      seq2(f, lir_let(f, x, xv, lir_store(f, out, V(f, x), sel)),
				   lir_store(f, out, add(f, V(f, v), I(f, 8)),
					     lir_cast(f, LIR_F32, n0))));
	lir_expr *odd = lir_binary(f, LIR_EQ, lir_binary(f, LIR_MOD, n0, lir_const_int(f, 2, LIR_I32)),
				   lir_const_int(f, 0, LIR_I32));
	lir_expr *big = lir_binary(f, LIR_OR,
				   lir_binary(f, LIR_GT,
					      lir_binary(f, LIR_DIV, lir_cast(f, LIR_I64, n0), I(f, -3)),
					      I(f, 1)),
				   lir_const_int(f, 0, LIR_BOOL));
	lir_expr *t0 = lir_load(f, tmp, I(f, 0)), *t1 = lir_load(f, tmp, I(f, 1));
	lir_stmt *deep = lir_alloc(
		f, tmp,
		seq2(f, lir_store(f, tmp, I(f, 0), I(f, -7)),
		     lir_store(f, out, I(f, 14),
			       lir_cast(f, LIR_F32,
					lir_binary(f, LIR_SUB, t0,
						   lir_binary(f, LIR_SUB, t1, I(f, 1)))))));
	lir_stmt *chain = lir_if(f, odd, lir_store(f, out, I(f, 12), F(f, 1)),
				 lir_if(f, big, lir_store(f, out, I(f, 13), F(f, 2)), deep));
	lir_expr *dv = mul(f, add(f, lir_const_float(f, 0.1, LIR_F64),
				  lir_cast(f, LIR_F64, lir_load(f, out, I(f, 0)))),
			   lir_const_float(f, 1e300, LIR_F64));

	lir_func_set_body(f, seq3(f, vec, chain, lir_store(f, d, I(f, 0), dv)));
	ck_assert_ptr_nonnull(lir_func_body(f));
	return f;
}

/* ---- printer ---- */

static void check_print(lir_func *f, const char *expect)
{
	char *text = lir_print(f);

	ck_assert_ptr_nonnull(text);
	ck_assert_str_eq(text, expect);
	free(text);
	lir_func_free(f);
}

START_TEST(print_gemm)
{
	check_print(tiled_gemm(7, 7, 7, 4),
		    "func gemm(f32 *A /* 49 */, f32 *B /* 49 */, f32 *C /* 49 */) {\n"
		    "  parallel for (i_o = 0; i_o < 2; i_o++) {\n"
		    "    for (j_o = 0; j_o < 2; j_o++) {\n"
		    "      for (i_i = 0; i_i < min(4, 7 - 4 * i_o); i_i++) {\n"
		    "        for (j_i = 0; j_i < min(4, 7 - 4 * j_o); j_i++) {\n"
		    "          let i = 4 * i_o + i_i;\n"
		    "          let j = 4 * j_o + j_i;\n"
		    "          C[7 * i + j] = 0.0f;\n"
		    "          for (k = 0; k < 7; k++) {\n"
		    "            C[7 * i + j] = C[7 * i + j] + A[7 * i + k] * B[7 * k + j];\n"
		    "          }\n"
		    "        }\n"
		    "      }\n"
		    "    }\n"
		    "  }\n"
		    "}\n");
}
END_TEST

START_TEST(print_gpu)
{
	check_print(gpu_reverse(),
		    "func reverse(f32 *A /* 8 */, f32 *B /* 8 */) {\n"
		    "  blockIdx.x for (b = 0; b < 2; b++) {\n"
		    "    allocate f32 S[4] shared {\n"
		    "      threadIdx.x for (t = 0; t < 4; t++) {\n"
		    "        S[t] = S[t] + A[4 * b + t];\n"
		    "      }\n"
		    "      barrier();\n"
		    "      threadIdx.x for (t_1 = 0; t_1 < 4; t_1++) {\n"
		    "        B[4 * b + t_1] = S[3 - t_1];\n"
		    "      }\n"
		    "    }\n"
		    "  }\n"
		    "}\n");
}
END_TEST

START_TEST(print_misc)
{
	check_print(misc(),
		    "func misc(f32 *out /* 16 */, i32 *n /* 1 */, f64 *d /* 1 */) {\n"
		    "  vectorized for (v = 0; v < 4; v++) {\n"
		    "    {\n"
		    "      let x = v * 2 - (v - 1);\n"
		    "      out[x] = select(x < 3 && !(x == 2), f32(x) * (1.5f + (-2.0f)), -abs(2.5f));\n"
		    "    }\n"
		    "    out[v + 8] = f32(n[0]);\n"
		    "  }\n"
		    "  if (n[0] % 2 == 0) {\n"
		    "    out[12] = 1.0f;\n"
		    "  } else if (i64(n[0]) / (-3) > 1 || false) {\n"
		    "    out[13] = 2.0f;\n"
		    "  } else {\n"
		    "    allocate i64 tmp[2] stack {\n"
		    "      tmp[0] = (-7);\n"
		    "      out[14] = f32(tmp[0] - (tmp[1] - 1));\n"
		    "    }\n"
		    "  }\n"
		    "  d[0] = (0.1 + f64(out[0])) * 1.0e+300;\n"
		    "}\n");
}
END_TEST

/* Names: duplicates get the first free _N; an empty name prints as v. */
START_TEST(print_names)
{
	lir_func *f = lir_func_new("names");
	int o = lir_add_buffer(f, "o", LIR_I64, 4, LIR_GLOBAL);
	int a = lir_add_var(f, "i", LIR_I64), b = lir_add_var(f, "i", LIR_I64);
	int c = lir_add_var(f, "i_1", LIR_I64), d = lir_add_var(f, "", LIR_I64);
	lir_stmt *s = lir_store(f, o, V(f, a), add(f, add(f, V(f, b), V(f, c)), V(f, d)));

	s = lir_let(f, d, I(f, 0), s);
	s = lir_let(f, c, I(f, 0), s);
	s = lir_for(f, b, I(f, 0), I(f, 1), 3, LIR_SERIAL, s);
	lir_func_set_body(f, kloop(f, a, 1, LIR_VTHREAD, s));
	check_print(f, "func names(i64 *o /* 4 */) {\n"
		       "  vthread for (i = 0; i < 1; i++) {\n"
		       "    for (i_2 = 0; i_2 < 1; i_2 += 3) {\n"
		       "      let i_1 = 0;\n"
		       "      let v = 0;\n"
		       "      o[i] = i_2 + i_1 + v;\n"
		       "    }\n"
		       "  }\n"
		       "}\n");
}
END_TEST

START_TEST(print_empty)
{
	check_print(lir_func_new("nothing"), "func nothing() {\n}\n");
}
END_TEST

/* ---- builder ---- */

START_TEST(builder_basics)
{
	lir_func *f = lir_func_new("b");
	int A = lir_add_buffer(f, "A", LIR_F32, 4, LIR_GLOBAL);
	int T = lir_add_buffer(f, "T", LIR_F64, 4, LIR_HEAP);
	int B = lir_add_buffer(f, "B", LIR_I32, 4, LIR_GLOBAL);
	int x = lir_add_var(f, "x", LIR_I32);
	lir_stmt *s[3] = {NULL, lir_barrier(f), NULL};
	lir_stmt *q = lir_seq(f, 3, s);

	ck_assert_str_eq(lir_func_name(f), "b");
	ck_assert_int_eq(lir_func_nbuffers(f), 3);
	ck_assert_int_eq(lir_func_nparams(f), 2);
	ck_assert_int_eq(lir_func_param(f, 0), A);
	ck_assert_int_eq(lir_func_param(f, 1), B);
	ck_assert_int_eq(lir_func_param(f, 2), -1);
	ck_assert_int_eq(lir_func_buffer(f, T)->scope, LIR_HEAP);
	ck_assert_ptr_null(lir_func_buffer(f, 3));
	ck_assert_str_eq(lir_func_var(f, x)->name, "x");
	ck_assert_int_eq(lir_func_nvars(f), 1);
	ck_assert_int_eq(q->u.seq.n, 1);
	ck_assert_int_eq(lir_seq(f, 0, NULL)->u.seq.n, 0);
	ck_assert_int_eq(lir_var_ref(f, x)->type, LIR_I32);
	ck_assert_int_eq(lir_load(f, T, I(f, 0))->type, LIR_F64);
	ck_assert_int_eq(lir_binary(f, LIR_LT, I(f, 1), I(f, 2))->type, LIR_BOOL);
	ck_assert_int_eq(lir_binary(f, LIR_AND, I(f, 1), I(f, 2))->type, LIR_BOOL);
	ck_assert_int_eq(lir_unary(f, LIR_NOT, I(f, 1))->type, LIR_BOOL);
	ck_assert_int_eq(lir_binary(f, LIR_MAX, F(f, 1), F(f, 2))->type, LIR_F32);
	ck_assert_int_eq(lir_const_int(f, INT64_C(0x100000005), LIR_I32)->c.i, 5);
	ck_assert(lir_const_float(f, 0.1, LIR_F32)->c.f == (double)0.1f);
	ck_assert_int_eq(lir_const_float(f, -2.5, LIR_I64)->c.i, -2);
	/* NULL operands and non-unary/binary ops give NULL */
	ck_assert_ptr_null(lir_binary(f, LIR_ADD, NULL, I(f, 1)));
	ck_assert_ptr_null(lir_binary(f, LIR_NEG, I(f, 1), I(f, 1)));
	ck_assert_ptr_null(lir_unary(f, LIR_CAST, I(f, 1)));
	ck_assert_ptr_null(lir_unary(f, LIR_LOAD, I(f, 1)));
	ck_assert_ptr_null(lir_unary(f, LIR_ADD, I(f, 1)));
	ck_assert_ptr_null(lir_select(f, NULL, I(f, 1), I(f, 1)));
	ck_assert_ptr_null(lir_cast(f, LIR_F32, NULL));
	ck_assert_ptr_null(lir_load(f, A, NULL));
	ck_assert_ptr_null(lir_for(f, x, I(f, 0), NULL, 1, LIR_SERIAL, q));
	ck_assert_ptr_null(lir_for(f, x, I(f, 0), I(f, 1), 1, LIR_SERIAL, NULL));
	ck_assert_ptr_null(lir_if(f, NULL, q, NULL));
	ck_assert_ptr_null(lir_let(f, x, NULL, q));
	ck_assert_ptr_null(lir_alloc(f, T, NULL));
	ck_assert_ptr_null(lir_store(f, A, I(f, 0), NULL));
	ck_assert_ptr_null(lir_func_free(f));
	ck_assert_ptr_null(lir_func_free(NULL));
}
END_TEST

START_TEST(facts)
{
	ck_assert_str_eq(lir_type_name(LIR_I64), "i64");
	ck_assert_str_eq(lir_type_name(LIR_BOOL), "bool");
	ck_assert_uint_eq(lir_type_size(LIR_F64), 8);
	ck_assert_uint_eq(lir_type_size(LIR_I32), 4);
	ck_assert_uint_eq(lir_type_size(LIR_BOOL), 1);
	ck_assert(lir_type_is_float(LIR_F32) && !lir_type_is_float(LIR_I64));
	ck_assert_str_eq(lir_op_spelling(LIR_MOD), "%");
	ck_assert_str_eq(lir_op_spelling(LIR_SELECT), "select");
	ck_assert_int_eq(lir_op_arity(LIR_SELECT), 3);
	ck_assert_int_eq(lir_op_arity(LIR_LOAD), 1);
	ck_assert_str_eq(lir_for_kind_name(LIR_SERIAL), "serial");
	ck_assert_str_eq(lir_for_kind_name(LIR_VECTORIZED), "vectorized");
	ck_assert_str_eq(lir_for_kind_name(LIR_BLOCK_Y), "blockIdx.y");
	ck_assert_str_eq(lir_for_kind_name(LIR_THREAD_Z), "threadIdx.z");
	ck_assert_str_eq(lir_for_kind_name(LIR_VTHREAD), "vthread");
	ck_assert_str_eq(lir_scope_name(LIR_SHARED), "shared");
	ck_assert_str_eq(lir_scope_name(LIR_GLOBAL), "global");
}
END_TEST

/* ---- verifier ---- */

/* A function with f32 params A[16] and C[16], i32 param I[16], f32 heap
 * buffer T[16], f32 shared S[16], i64 vars i, j, t, b (ids 0..3) and i32
 * var n (id 4). */
static lir_func *base(void)
{
	lir_func *f = lir_func_new("bad");

	lir_add_buffer(f, "A", LIR_F32, 16, LIR_GLOBAL);
	lir_add_buffer(f, "C", LIR_F32, 16, LIR_GLOBAL);
	lir_add_buffer(f, "I", LIR_I32, 16, LIR_GLOBAL);
	lir_add_buffer(f, "T", LIR_F32, 16, LIR_HEAP);
	lir_add_buffer(f, "S", LIR_F32, 16, LIR_SHARED);
	lir_add_var(f, "i", LIR_I64);
	lir_add_var(f, "j", LIR_I64);
	lir_add_var(f, "t", LIR_I64);
	lir_add_var(f, "b", LIR_I64);
	lir_add_var(f, "n", LIR_I32);
	return f;
}

enum { bA, bC, bI, bT, bS };
enum { vi, vj, vt, vb, vn };

/* C[0] = 0 */
static lir_stmt *nop(lir_func *f)
{
	return lir_store(f, bC, I(f, 0), F(f, 0));
}

static lir_func *set(lir_func *f, lir_stmt *s)
{
	ck_assert_ptr_nonnull(s);
	lir_func_set_body(f, s);
	return f;
}

static lir_func *bad_index_type(void)
{
	lir_func *f = base();

	return set(f, lir_store(f, bC, lir_const_int(f, 0, LIR_I32), F(f, 0)));
}

static lir_func *bad_var_outside_loop(void)
{
	lir_func *f = base();

	return set(f, seq2(f, loop(f, vi, 4, nop(f)), lir_store(f, bC, V(f, vi), F(f, 1))));
}

static lir_func *bad_var_outside_let(void)
{
	lir_func *f = base();

	return set(f, seq2(f, lir_let(f, vj, I(f, 1), nop(f)), lir_store(f, bC, V(f, vj), F(f, 1))));
}

static lir_func *bad_var_undefined(void)
{
	lir_func *f = base();

	return set(f, lir_store(f, bC, V(f, vt), F(f, 1)));
}

static lir_func *bad_vector_bound(void)
{
	lir_func *f = base();
	int ji = lir_add_var(f, "j_i", LIR_I64);

	return set(f, loop(f, vi, 4, lir_for(f, ji, I(f, 0), add(f, V(f, vi), I(f, 1)), 1,
					      LIR_VECTORIZED, nop(f))));
}

static lir_func *bad_unroll_bound(void)
{
	lir_func *f = base();

	return set(f, loop(f, vi, 4, lir_for(f, vj, V(f, vi), I(f, 4), 1, LIR_UNROLLED, nop(f))));
}

/* A tail kind (a partial tile's vectorize or unroll, lir.h) on a loop
 * that is not serial, and a tail kind that is neither. */
static lir_func *bad_tail_kind(void)
{
	lir_func *f = base();
	lir_stmt *s = lir_for(f, vj, V(f, vi), I(f, 4), 1, LIR_UNROLLED, nop(f));

	s->u.loop.tail = LIR_VECTORIZED;
	return set(f, loop(f, vi, 4, s));
}

static lir_func *bad_tail_parallel(void)
{
	lir_func *f = base();
	lir_stmt *s = lir_for(f, vj, V(f, vi), I(f, 4), 1, LIR_SERIAL, nop(f));

	s->u.loop.tail = LIR_PARALLEL;
	return set(f, loop(f, vi, 4, s));
}

static lir_func *bad_barrier_outside(void)
{
	lir_func *f = base();

	return set(f, loop(f, vi, 4, lir_barrier(f)));
}

static lir_func *bad_barrier_in_thread(void)
{
	lir_func *f = base();

	return set(f, kloop(f, vb, 2, LIR_BLOCK_X, kloop(f, vt, 4, LIR_THREAD_X, lir_barrier(f))));
}

static lir_func *bad_block_in_thread(void)
{
	lir_func *f = base();

	return set(f, kloop(f, vt, 4, LIR_THREAD_X, kloop(f, vb, 2, LIR_BLOCK_X, nop(f))));
}

static lir_func *bad_thread_in_thread(void)
{
	lir_func *f = base();

	return set(f, kloop(f, vt, 4, LIR_THREAD_X,
			    loop(f, vi, 2, kloop(f, vj, 2, LIR_THREAD_X, nop(f)))));
}

static lir_func *bad_vthread_in_thread(void)
{
	lir_func *f = base();

	return set(f, kloop(f, vt, 4, LIR_THREAD_Y, kloop(f, vi, 2, LIR_VTHREAD, nop(f))));
}

static lir_func *bad_unallocated(void)
{
	lir_func *f = base();

	return set(f, lir_store(f, bT, I(f, 0), F(f, 0)));
}

static lir_func *bad_unallocated_load(void)
{
	lir_func *f = base();

	return set(f, seq2(f, lir_alloc(f, bT, nop(f)),
			   lir_store(f, bC, I(f, 0), lir_load(f, bT, I(f, 0)))));
}

static lir_func *bad_alloc_global(void)
{
	lir_func *f = base();

	return set(f, lir_alloc(f, bA, nop(f)));
}

static lir_func *bad_alloc_twice(void)
{
	lir_func *f = base();

	return set(f, lir_alloc(f, bT, loop(f, vi, 2, lir_alloc(f, bT, nop(f)))));
}

static lir_func *bad_shared_in_thread(void)
{
	lir_func *f = base();

	return set(f, kloop(f, vb, 2, LIR_BLOCK_X,
			    kloop(f, vt, 2, LIR_THREAD_X, lir_alloc(f, bS, nop(f)))));
}

static lir_func *bad_redefine(void)
{
	lir_func *f = base();

	return set(f, loop(f, vi, 2, lir_let(f, vi, I(f, 0), nop(f))));
}

static lir_func *bad_operands(void)
{
	lir_func *f = base();

	return set(f, lir_store(f, bC, I(f, 0),
				add(f, lir_load(f, bA, I(f, 0)), lir_const_float(f, 1, LIR_F64))));
}

static lir_func *bad_store_value(void)
{
	lir_func *f = base();

	return set(f, lir_store(f, bC, I(f, 0), lir_const_float(f, 1, LIR_F64)));
}

static lir_func *bad_if_cond(void)
{
	lir_func *f = base();

	return set(f, lir_if(f, I(f, 1), nop(f), NULL));
}

static lir_func *bad_let_type(void)
{
	lir_func *f = base();

	return set(f, lir_let(f, vi, F(f, 1), nop(f)));
}

static lir_func *bad_loop_var_type(void)
{
	lir_func *f = base();

	return set(f, loop(f, vn, 4, nop(f)));
}

static lir_func *bad_bound_type(void)
{
	lir_func *f = base();

	return set(f, lir_for(f, vi, I(f, 0), lir_const_int(f, 4, LIR_I32), 1, LIR_SERIAL, nop(f)));
}

static lir_func *bad_step(void)
{
	lir_func *f = base();

	return set(f, lir_for(f, vi, I(f, 0), I(f, 4), 0, LIR_SERIAL, nop(f)));
}

static lir_func *bad_load_index(void)
{
	lir_func *f = base();

	return set(f, lir_store(f, bC, I(f, 0),
				lir_load(f, bA, lir_load(f, bI, I(f, 0)))));
}

static lir_func *bad_logic(void)
{
	lir_func *f = base();

	return set(f, lir_if(f, lir_binary(f, LIR_AND, I(f, 1), I(f, 0)), nop(f), NULL));
}

static lir_func *bad_exp(void)
{
	lir_func *f = base();
	lir_expr *e = lir_unary(f, LIR_EXP, lir_load(f, bI, I(f, 0)));

	return set(f, lir_store(f, bI, I(f, 0), e));
}

static lir_func *bad_float_mod(void)
{
	lir_func *f = base();

	return set(f, lir_store(f, bC, I(f, 0), lir_binary(f, LIR_MOD, F(f, 1), F(f, 2))));
}

static lir_func *bad_bool_arith(void)
{
	lir_func *f = base();
	lir_expr *t = lir_const_int(f, 1, LIR_BOOL);

	return set(f, lir_if(f, lir_binary(f, LIR_ADD, t, t), nop(f), NULL));
}

static lir_func *bad_select(void)
{
	lir_func *f = base();

	return set(f, lir_store(f, bC, I(f, 0), lir_select(f, F(f, 1), F(f, 1), F(f, 2))));
}

static lir_func *bad_select_branches(void)
{
	lir_func *f = base();

	return set(f, lir_store(f, bC, I(f, 0),
				lir_select(f, lir_const_int(f, 1, LIR_BOOL), F(f, 1), I(f, 2))));
}

static lir_func *bad_no_body(void)
{
	return base();
}

static lir_func *bad_unknown_buffer(void)
{
	lir_func *f = base();

	return set(f, lir_store(f, 99, I(f, 0), F(f, 0)));
}

static lir_func *bad_size(void)
{
	lir_func *f = base();

	lir_add_buffer(f, "Z", LIR_F32, 0, LIR_HEAP);
	return set(f, nop(f));
}

static lir_func *bad_missing_stmt(void)
{
	lir_func *f = base();
	lir_stmt *s = loop(f, vi, 2, nop(f));

	s->u.loop.body = NULL;
	return set(f, s);
}

static const struct {
	lir_func *(*build)(void);
	const char *msg;
} bad_table[] = {
	{bad_index_type, "store to 'C': index has type i32, expected i64"},
	{bad_var_outside_loop, "store to 'C': variable 'i' used outside its loop"},
	{bad_var_outside_let, "variable 'j' used outside its let"},
	{bad_var_undefined, "variable 't' is never defined"},
	{bad_vector_bound, "vectorized loop 'j_i' has a non-constant bound"},
	{bad_unroll_bound, "unrolled loop 'j' has a non-constant bound"},
	{bad_tail_kind, "loop 'j': unrolled loop with tail kind vectorized; only serial loops carry a "
			"vectorized or unrolled tail kind"},
	{bad_tail_parallel, "loop 'j': serial loop with tail kind parallel; only serial loops carry a "
			    "vectorized or unrolled tail kind"},
	{bad_barrier_outside, "barrier outside a blockIdx loop"},
	{bad_barrier_in_thread, "barrier inside threadIdx.x loop 't'"},
	{bad_block_in_thread, "blockIdx.x loop 'b' is nested inside threadIdx.x loop 't'"},
	{bad_thread_in_thread, "threadIdx.x loop 'j' is nested inside threadIdx.x loop 't'"},
	{bad_vthread_in_thread, "vthread loop 'i' is nested inside threadIdx.y loop 't'"},
	{bad_unallocated, "store to 'T': buffer 'T' used outside its allocate"},
	{bad_unallocated_load, "buffer 'T' used outside its allocate"},
	{bad_alloc_global, "allocate 'A': 'A' is a global buffer"},
	{bad_alloc_twice, "allocate 'T': 'T' is already allocated by an enclosing allocate"},
	{bad_shared_in_thread, "allocate 'S': shared buffer inside threadIdx.x loop 't'"},
	{bad_redefine, "let 'i': variable 'i' is redefined inside its own scope"},
	{bad_operands, "store to 'C': operands of '+' have types f32 and f64"},
	{bad_store_value, "store to 'C': value has type f64, expected f32"},
	{bad_if_cond, "if: condition has type i64, expected bool"},
	{bad_let_type, "let 'i': value has type f32, expected i64"},
	{bad_loop_var_type, "loop 'n': variable has type i32, expected i64"},
	{bad_bound_type, "loop 'i': upper bound has type i32, expected i64"},
	{bad_step, "loop 'i': step is 0; steps must be positive"},
	{bad_load_index, "store to 'C': load of 'A': index has type i32, expected i64"},
	{bad_logic, "'&&' needs bool operands, not i64"},
	{bad_exp, "'exp' needs a float operand, not i32"},
	{bad_float_mod, "'%' needs integer operands, not f32"},
	{bad_bool_arith, "'+' cannot take bool operands"},
	{bad_select, "condition of select has type f32, expected bool"},
	{bad_select_branches, "branches of select have types f32 and i64"},
	{bad_no_body, "function 'bad' has no body"},
	{bad_unknown_buffer, "unknown buffer 99"},
	{bad_size, "buffer 'Z' has size 0; sizes must be positive"},
	{bad_missing_stmt, "loop 'i': missing statement"},
};

START_TEST(verify_rejects)
{
	lir_func *f = bad_table[_i].build();
	rt_error err = {0};
	float a[16] = {0}, c[16] = {0};
	int32_t in[16] = {0};
	void *params[3] = {a, c, in};

	ck_assert_int_eq(lir_verify(f, &err), -1);
	ck_assert_msg(strstr(err.msg, bad_table[_i].msg), "entry %d: got \"%s\", expected \"%s\"",
		      _i, err.msg, bad_table[_i].msg);
	/* the interpreter refuses it with the same message */
	rt_error_clear(&err);
	ck_assert_int_eq(lir_interp_run(f, params, &err), -1);
	ck_assert_msg(strstr(err.msg, bad_table[_i].msg), "entry %d: interp said \"%s\"", _i,
		      err.msg);
	lir_func_free(f);
}
END_TEST

/* Barrier under a vthread loop outside the thread loops; two sibling loops
 * reuse a variable; one buffer allocated in two sibling scopes. */
static lir_func *good_vthread(void)
{
	lir_func *f = base();
	lir_stmt *coop = seq3(f, kloop(f, vt, 4, LIR_THREAD_X, nop(f)), lir_barrier(f),
			      kloop(f, vt, 4, LIR_THREAD_X,
				    lir_store(f, bS, V(f, vt), lir_load(f, bA, V(f, vt)))));

	coop = lir_alloc(f, bS, kloop(f, vi, 2, LIR_VTHREAD, coop));
	return set(f, kloop(f, vb, 2, LIR_BLOCK_Y,
			    seq2(f, coop, lir_alloc(f, bS, kloop(f, vt, 2, LIR_THREAD_Y, nop(f))))));
}

static lir_func *good_gemm(void)
{
	return tiled_gemm(7, 7, 7, 4);
}

static lir_func *(*const good_table[])(void) = {good_gemm, gpu_reverse, gpu_local_sum, misc,
						 good_vthread};

START_TEST(verify_accepts)
{
	lir_func *f = good_table[_i]();
	rt_error err = {0};

	ck_assert_msg(lir_verify(f, &err) == 0, "entry %d: %s", _i, err.msg);
	lir_func_free(f);
}
END_TEST

/* ---- interpreter ---- */

/* A pseudo-random integer in [-r, r]. */
static int small(unsigned *seed, int r)
{
	*seed = *seed * 1103515245u + 12345u;
	return (int)((*seed >> 16) % (unsigned)(2 * r + 1)) - r;
}

/* Run gemm of m x n x k tiled by t on small integer values (exact in f32)
 * and compare with plain C loops. */
static void check_gemm(int64_t m, int64_t n, int64_t k, int64_t t)
{
	lir_func *f = tiled_gemm(m, n, k, t);
	float *a = malloc(m * k * sizeof(float)), *b = malloc(k * n * sizeof(float));
	float *c = malloc(m * n * sizeof(float)), *ref = calloc(m * n, sizeof(float));
	void *params[3] = {a, b, c};
	rt_error err = {0};
	unsigned seed = 12345;

	for (int64_t i = 0; i < m * k; i++)
		a[i] = (float)small(&seed, 4);
	for (int64_t i = 0; i < k * n; i++)
		b[i] = (float)small(&seed, 3);
	for (int64_t i = 0; i < m * n; i++)
		c[i] = 99;
	for (int64_t i = 0; i < m; i++)
		for (int64_t j = 0; j < n; j++)
			for (int64_t kk = 0; kk < k; kk++)
				ref[i * n + j] += a[i * k + kk] * b[kk * n + j];
	ck_assert_msg(lir_interp_run(f, params, &err) == 0, "%s", err.msg);
	for (int64_t i = 0; i < m * n; i++)
		ck_assert_msg(c[i] == ref[i], "C[%lld] = %g, expected %g", (long long)i, c[i], ref[i]);
	free(a);
	free(b);
	free(c);
	free(ref);
	lir_func_free(f);
}

START_TEST(interp_gemm_tail)
{
	check_gemm(7, 7, 7, 4);
	check_gemm(5, 6, 7, 3);
	check_gemm(4, 4, 4, 4);
}
END_TEST

START_TEST(interp_shared_per_block)
{
	lir_func *f = gpu_reverse();
	float a[8] = {1, 2, 3, 4, 5, 6, 7, 8}, b[8] = {0};
	const float want[8] = {4, 3, 2, 1, 8, 7, 6, 5};
	void *params[2] = {a, b};
	rt_error err = {0};

	ck_assert_msg(lir_interp_run(f, params, &err) == 0, "%s", err.msg);
	for (int i = 0; i < 8; i++)
		ck_assert_msg(b[i] == want[i], "B[%d] = %g, expected %g", i, b[i], want[i]);
	lir_func_free(f);
}
END_TEST

START_TEST(interp_local_per_thread)
{
	lir_func *f = gpu_local_sum();
	float a[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, b[4] = {0};
	const float want[4] = {6, 15, 24, 33};
	void *params[2] = {a, b};
	rt_error err = {0};

	ck_assert_msg(lir_interp_run(f, params, &err) == 0, "%s", err.msg);
	for (int i = 0; i < 4; i++)
		ck_assert_msg(b[i] == want[i], "B[%d] = %g, expected %g", i, b[i], want[i]);
	lir_func_free(f);
}
END_TEST

START_TEST(interp_misc)
{
	lir_func *f = misc();
	float out[16] = {0};
	int32_t n[1] = {7};
	double d[1] = {0};
	void *params[3] = {out, n, d};
	rt_error err = {0};

	ck_assert_msg(lir_interp_run(f, params, &err) == 0, "%s", err.msg);
	/* v = 0..3: x = v + 1; x = 1 -> 1 * -0.5; x = 2 -> -2.5; x = 3, 4 -> -2.5 */
	ck_assert(out[1] == -0.5f && out[2] == -2.5f && out[3] == -2.5f && out[4] == -2.5f);
	ck_assert(out[8] == 7 && out[11] == 7);
	/* 7 % 2 = 1; 7 / -3 = -3 (floor); else: -7 - (0 - 1) = -6 */
	ck_assert(out[12] == 0 && out[13] == 0 && out[14] == -6);
	ck_assert(d[0] == 0.1 * 1e300);
	lir_func_free(f);
}
END_TEST

/* Stores C[i] for i < n into C of 4 elements. */
static lir_func *oob_store(int64_t n)
{
	lir_func *f = lir_func_new("oob");
	int C = lir_add_buffer(f, "C", LIR_F32, 4, LIR_GLOBAL);
	int i = lir_add_var(f, "i", LIR_I64);

	lir_func_set_body(f, loop(f, i, n, lir_store(f, C, V(f, i), F(f, 1))));
	return f;
}

START_TEST(interp_out_of_bounds)
{
	lir_func *f = oob_store(5), *g = lir_func_new("oobl");
	float c[4] = {0};
	void *params[1] = {c};
	int A = lir_add_buffer(g, "A", LIR_F32, 4, LIR_GLOBAL);
	int i = lir_add_var(g, "i", LIR_I64);
	rt_error err = {0};

	ck_assert_int_eq(lir_interp_run(f, params, &err), -1);
	ck_assert_str_eq(err.msg, "store to 'C': index 4 is outside [0, 4)");
	ck_assert(c[3] == 1);
	lir_func_free(f);

	lir_func_set_body(g, loop(g, i, 4,
				  lir_store(g, A, V(g, i),
					    lir_load(g, A, lir_binary(g, LIR_SUB, V(g, i), I(g, 1))))));
	rt_error_clear(&err);
	ck_assert_int_eq(lir_interp_run(g, params, &err), -1);
	ck_assert_str_eq(err.msg, "load of 'A': index -1 is outside [0, 4)");

	rt_error_clear(&err);
	ck_assert_int_eq(lir_interp_run(g, NULL, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "parameter 0 ('A') of 'oobl' is NULL"));
	lir_func_free(g);
}
END_TEST

typedef union val {
	double f;
	int64_t i;
} val;

/* Evaluate e by running `out[0] = e` in f (which has no parameters yet). */
static val run1(lir_func *f, lir_expr *e)
{
	union {
		float f32;
		double f64;
		int32_t i32;
		int64_t i64;
		unsigned char b;
	} mem = {0};
	void *params[1] = {&mem};
	int out;
	rt_error err = {0};
	val v;

	ck_assert_ptr_nonnull(e);
	out = lir_add_buffer(f, "out", e->type, 1, LIR_GLOBAL);
	lir_func_set_body(f, lir_store(f, out, I(f, 0), e));
	ck_assert_msg(lir_interp_run(f, params, &err) == 0, "%s", err.msg);
	switch (e->type) {
	case LIR_F32: v.f = mem.f32; break;
	case LIR_F64: v.f = mem.f64; break;
	case LIR_I32: v.i = mem.i32; break;
	case LIR_I64: v.i = mem.i64; break;
	default: v.i = mem.b;
	}
	lir_func_free(f);
	return v;
}

/* a op b on constants of type t. */
static int64_t int_binop(lir_op op, lir_type t, int64_t a, int64_t b)
{
	lir_func *f = lir_func_new("t");

	return run1(f, lir_binary(f, op, lir_const_int(f, a, t), lir_const_int(f, b, t))).i;
}

static const struct {
	lir_op op;
	lir_type t;
	int64_t a, b, want;
} arith_table[] = {
	{LIR_DIV, LIR_I64, 7, 2, 3},
	{LIR_DIV, LIR_I64, -7, 2, -4},
	{LIR_DIV, LIR_I64, 7, -2, -4},
	{LIR_DIV, LIR_I64, -7, -2, 3},
	{LIR_DIV, LIR_I64, -8, 2, -4},
	{LIR_DIV, LIR_I64, 5, 0, 0},
	{LIR_DIV, LIR_I64, INT64_MIN, -1, INT64_MIN},
	{LIR_DIV, LIR_I32, INT32_MIN, -1, INT32_MIN},
	{LIR_DIV, LIR_I32, -1, 3, -1},
	{LIR_MOD, LIR_I64, 7, 3, 1},
	{LIR_MOD, LIR_I64, -7, 3, 2},
	{LIR_MOD, LIR_I64, 7, -3, -2},
	{LIR_MOD, LIR_I64, -7, -3, -1},
	{LIR_MOD, LIR_I64, -6, 3, 0},
	{LIR_MOD, LIR_I64, 5, 0, 0},
	{LIR_MOD, LIR_I64, INT64_MIN, -1, 0},
	{LIR_MOD, LIR_I32, -1, 4, 3},
	{LIR_ADD, LIR_I32, INT32_MAX, 1, INT32_MIN},
	{LIR_MUL, LIR_I32, 65536, 65536, 0},
	{LIR_MUL, LIR_I32, 65537, 65537, 131073},
	{LIR_SUB, LIR_I32, INT32_MIN, 1, INT32_MAX},
	{LIR_ADD, LIR_I64, INT64_MAX, 1, INT64_MIN},
	{LIR_MUL, LIR_I64, INT64_MIN, -1, INT64_MIN},
	{LIR_MIN, LIR_I64, -3, 2, -3},
	{LIR_MAX, LIR_I32, -3, 2, 2},
	{LIR_LT, LIR_I32, -1, 0, 1},
	{LIR_GE, LIR_I64, -1, 0, 0},
	{LIR_NE, LIR_BOOL, 1, 0, 1},
	{LIR_OR, LIR_BOOL, 0, 1, 1},
	{LIR_AND, LIR_BOOL, 1, 0, 0},
};

START_TEST(interp_int_arith)
{
	ck_assert_int_eq(int_binop(arith_table[_i].op, arith_table[_i].t, arith_table[_i].a,
				   arith_table[_i].b),
			 arith_table[_i].want);
}
END_TEST

START_TEST(interp_int_unary)
{
	lir_func *f = lir_func_new("t");

	ck_assert_int_eq(run1(f, lir_unary(f, LIR_NEG, lir_const_int(f, INT32_MIN, LIR_I32))).i,
			 INT32_MIN);
	f = lir_func_new("t");
	ck_assert_int_eq(run1(f, lir_unary(f, LIR_ABS, I(f, INT64_MIN))).i, INT64_MIN);
	f = lir_func_new("t");
	ck_assert_int_eq(run1(f, lir_unary(f, LIR_ABS, lir_const_int(f, -5, LIR_I32))).i, 5);
	f = lir_func_new("t");
	ck_assert_int_eq(run1(f, lir_unary(f, LIR_NOT, lir_const_int(f, 0, LIR_BOOL))).i, 1);
}
END_TEST

START_TEST(interp_f32_rounding)
{
	lir_func *f = lir_func_new("t");
	lir_expr *e = add(f, add(f, F(f, 16777216), F(f, 1)), F(f, 1));
	lir_expr *third;

	/* each f32 add rounds: 2^24 + 1 is 2^24 again, twice */
	ck_assert(run1(f, lir_cast(f, LIR_F64, e)).f == 16777216.0);
	f = lir_func_new("t");
	e = add(f, F(f, 0.1), F(f, 0.2));
	ck_assert(run1(f, lir_cast(f, LIR_F64, e)).f == (double)(0.1f + 0.2f));
	f = lir_func_new("t");
	third = lir_binary(f, LIR_DIV, F(f, 1), F(f, 3));
	ck_assert(run1(f, lir_cast(f, LIR_F64, mul(f, third, F(f, 3)))).f ==
		  (double)(float)((double)(float)(1.0 / 3) * 3));
	f = lir_func_new("t");
	e = add(f, lir_const_float(f, 16777216, LIR_F64), lir_const_float(f, 1, LIR_F64));
	ck_assert(run1(f, e).f == 16777217.0);
	f = lir_func_new("t");
	ck_assert(run1(f, lir_unary(f, LIR_SQRT, F(f, 2))).f == sqrtf(2.0f));
	f = lir_func_new("t");
	ck_assert(run1(f, lir_unary(f, LIR_EXP, F(f, 1))).f == expf(1.0f));
	f = lir_func_new("t");
	ck_assert(run1(f, lir_binary(f, LIR_MIN, F(f, NAN), F(f, 2))).f == 2);
}
END_TEST

static const struct {
	lir_type from, to;
	double fv;  /* the operand when `from` is a float */
	int64_t iv; /* the operand otherwise */
	double fwant;
	int64_t iwant;
} cast_table[] = {
	{LIR_F32, LIR_I32, -2.7, 0, 0, -2},
	{LIR_F32, LIR_I32, 2.7, 0, 0, 2},
	{LIR_F32, LIR_I32, NAN, 0, 0, 0},
	{LIR_F64, LIR_I32, 1e20, 0, 0, INT32_MAX},
	{LIR_F64, LIR_I32, -1e20, 0, 0, INT32_MIN},
	{LIR_F64, LIR_I64, 1e30, 0, 0, INT64_MAX},
	{LIR_F64, LIR_I64, -1e30, 0, 0, INT64_MIN},
	{LIR_F64, LIR_I64, -9007199254740993.0, 0, 0, -9007199254740992},
	{LIR_F64, LIR_BOOL, 0.5, 0, 0, 1},
	{LIR_I64, LIR_F32, 0, 16777217, 16777216, 0},
	{LIR_I64, LIR_I32, 0, INT64_C(0x100000005), 0, 5},
	{LIR_I64, LIR_I32, 0, INT64_C(0xffffffff), 0, -1},
	{LIR_I32, LIR_I64, 0, -5, 0, -5},
	{LIR_I64, LIR_BOOL, 0, 5, 0, 1},
	{LIR_BOOL, LIR_F64, 0, 1, 1.0, 0},
	{LIR_F64, LIR_F32, 0.1, 0, (double)0.1f, 0},
};

START_TEST(interp_casts)
{
	lir_func *f = lir_func_new("t");
	lir_type from = cast_table[_i].from, to = cast_table[_i].to;
	lir_expr *a = lir_type_is_float(from) ? lir_const_float(f, cast_table[_i].fv, from)
					      : lir_const_int(f, cast_table[_i].iv, from);
	val v = run1(f, lir_cast(f, to, a));

	if (lir_type_is_float(to))
		ck_assert_msg(v.f == cast_table[_i].fwant, "entry %d: got %.17g", _i, v.f);
	else
		ck_assert_msg(v.i == cast_table[_i].iwant, "entry %d: got %lld", _i,
			      (long long)v.i);
}
END_TEST

/* select and && evaluate only what they need: a guarded load out of bounds
 * is never made. */
START_TEST(interp_select_guards)
{
	lir_func *f = lir_func_new("pad");
	int A = lir_add_buffer(f, "A", LIR_F32, 2, LIR_GLOBAL);
	int B = lir_add_buffer(f, "B", LIR_F32, 4, LIR_GLOBAL);
	int i = lir_add_var(f, "i", LIR_I64);
	lir_expr *in = lir_binary(f, LIR_LT, V(f, i), I(f, 2));
	lir_expr *pos = lir_binary(f, LIR_AND, in,
				   lir_binary(f, LIR_GT, lir_load(f, A, V(f, i)), F(f, 0)));
	lir_expr *v = lir_select(f, pos, lir_load(f, A, V(f, i)), F(f, -1));
	float a[2] = {3, -4}, b[4] = {0};
	void *params[2] = {a, b};
	rt_error err = {0};

	lir_func_set_body(f, loop(f, i, 4, lir_store(f, B, V(f, i), v)));
	ck_assert_msg(lir_interp_run(f, params, &err) == 0, "%s", err.msg);
	ck_assert(b[0] == 3 && b[1] == -1 && b[2] == -1 && b[3] == -1);
	lir_func_free(f);
}
END_TEST

/* Loop steps, bounds evaluated once, empty ranges, if without else. */
START_TEST(interp_loops)
{
	lir_func *f = lir_func_new("steps");
	int C = lir_add_buffer(f, "C", LIR_I64, 10, LIR_GLOBAL);
	int N = lir_add_buffer(f, "N", LIR_I64, 1, LIR_GLOBAL);
	int i = lir_add_var(f, "i", LIR_I64), j = lir_add_var(f, "j", LIR_I64);
	lir_expr *n0 = lir_load(f, N, I(f, 0));
	/* for (i = 1; i < N[0]; i += 3) { N[0] = N[0] + 1; C[i] = i } */
	lir_stmt *s1 = lir_for(f, i, I(f, 1), n0, 3, LIR_PARALLEL,
			       seq2(f, lir_store(f, N, I(f, 0), add(f, n0, I(f, 1))),
				    lir_store(f, C, V(f, i), V(f, i))));
	lir_stmt *s2 = lir_for(f, j, I(f, 5), I(f, 2), 1, LIR_SERIAL,
			       lir_store(f, C, I(f, 0), I(f, 99)));
	lir_stmt *s3 = lir_if(f, lir_binary(f, LIR_EQ, n0, I(f, 13)),
			      lir_store(f, C, I(f, 9), I(f, 42)), NULL);
	int64_t c[10] = {0}, n[1] = {10};
	void *params[2] = {c, n};
	rt_error err = {0};

	lir_func_set_body(f, seq3(f, s1, s2, s3));
	ck_assert_msg(lir_interp_run(f, params, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(n[0], 13);
	ck_assert(c[0] == 0 && c[1] == 1 && c[4] == 4 && c[7] == 7 && c[2] == 0);
	ck_assert_int_eq(c[9], 42);
	lir_func_free(f);
}
END_TEST

/* A loop whose upper bound is INT64_MAX ends without overflow. */
START_TEST(interp_loop_near_max)
{
	lir_func *f = lir_func_new("edge");
	int C = lir_add_buffer(f, "C", LIR_I64, 1, LIR_GLOBAL);
	int i = lir_add_var(f, "i", LIR_I64);
	int64_t c[1] = {0};
	void *params[1] = {c};
	rt_error err = {0};

	lir_func_set_body(f, lir_for(f, i, I(f, INT64_MAX - 5), I(f, INT64_MAX), 4, LIR_SERIAL,
				     lir_store(f, C, I(f, 0), add(f, lir_load(f, C, I(f, 0)),
								   I(f, 1)))));
	ck_assert_msg(lir_interp_run(f, params, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(c[0], 2);
	lir_func_free(f);
}
END_TEST

/* The print of a verified function is stable across calls. */
START_TEST(print_deterministic)
{
	lir_func *f = gpu_local_sum();
	char *a = lir_print(f), *b = lir_print(f);

	ck_assert_str_eq(a, b);
	ck_assert_ptr_nonnull(strstr(a, "allocate f32 L[1] local {"));
	ck_assert_ptr_nonnull(strstr(a, "unrolled for (k = 0; k < 3; k++) {"));
	free(a);
	free(b);
	lir_func_free(f);
}
END_TEST

#define N_OF(t) ((int)(sizeof(t) / sizeof((t)[0])))

int main(void)
{
	Suite *s = suite_create("lir");
	TCase *tb = tcase_create("builder"), *tp = tcase_create("print");
	TCase *tv = tcase_create("verify"), *ti = tcase_create("interp");
	SRunner *sr;
	int failed;

	tcase_add_test(tb, builder_basics);
	tcase_add_test(tb, facts);
	tcase_add_test(tp, print_gemm);
	tcase_add_test(tp, print_gpu);
	tcase_add_test(tp, print_misc);
	tcase_add_test(tp, print_names);
	tcase_add_test(tp, print_empty);
	tcase_add_test(tp, print_deterministic);
	tcase_add_loop_test(tv, verify_rejects, 0, N_OF(bad_table));
	tcase_add_loop_test(tv, verify_accepts, 0, N_OF(good_table));
	tcase_add_test(ti, interp_gemm_tail);
	tcase_add_test(ti, interp_shared_per_block);
	tcase_add_test(ti, interp_local_per_thread);
	tcase_add_test(ti, interp_misc);
	tcase_add_test(ti, interp_out_of_bounds);
	tcase_add_loop_test(ti, interp_int_arith, 0, N_OF(arith_table));
	tcase_add_test(ti, interp_int_unary);
	tcase_add_test(ti, interp_f32_rounding);
	tcase_add_loop_test(ti, interp_casts, 0, N_OF(cast_table));
	tcase_add_test(ti, interp_select_guards);
	tcase_add_test(ti, interp_loops);
	tcase_add_test(ti, interp_loop_near_max);
	suite_add_tcase(s, tb);
	suite_add_tcase(s, tp);
	suite_add_tcase(s, tv);
	suite_add_tcase(s, ti);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
