/*
 * Tests of ir/te_verify and ir/te_isl: a table of graphs built with the te
 * builder (a few parsed from .te text), each verified and compared with the expected status,
 * message and position; direct checks of the isl objects te_isl builds.
 *
 * Every isl_ctx here aborts on an isl error, so a verifier that trips isl
 * fails the test instead of passing by accident; under LeakSanitizer a
 * leaked isl object fails the run.
 */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <isl/ctx.h>
#include <isl/map.h>
#include <isl/options.h>
#include <isl/set.h>

#include "te.h"
#include "te_isl.h"
#include "te_parse.h"
#include "te_verify.h"

/* ---- a compact builder: one graph at a time ---- */

static te_graph *G;

static isl_ctx *new_ctx(void)
{
	isl_ctx *ctx = isl_ctx_alloc();

	isl_options_set_on_error(ctx, ISL_ON_ERROR_ABORT);
	return ctx;
}

/* Read up to TE_MAX_AXES extents ("56 56") or named axes ("h:56 w:56"). */
static int parse_dims(const char *spec, char names[][TE_MAX_NAME], int64_t *ext)
{
	int n = 0, used;
	char tok[TE_MAX_NAME + 24];

	while (spec && sscanf(spec, "%87s%n", tok, &used) == 1) {
		char *colon = strchr(tok, ':');

		if (colon) {
			*colon = '\0';
			snprintf(names[n], TE_MAX_NAME, "%.*s", TE_MAX_NAME - 1, tok);
		}
		ext[n++] = strtoll(colon ? colon + 1 : tok, NULL, 10);
		spec += used;
	}
	return n;
}

/* input NAME[shape] f32; returns its stage id. */
static int in(const char *name, const char *shape)
{
	char names[TE_MAX_AXES][TE_MAX_NAME];
	int64_t ext[TE_MAX_AXES];
	int n = parse_dims(shape, names, ext);
	int id = te_add_input(G, name, TE_F32, n, ext, NULL);

	ck_assert_int_ge(id, 0);
	return id;
}

/* NAME[axes] = RED(raxes) ...; the body is set with body(). */
static int comp(const char *name, const char *axes, te_reduce red, const char *raxes)
{
	char names[TE_MAX_AXES][TE_MAX_NAME], rnames[TE_MAX_AXES][TE_MAX_NAME];
	const char *np[TE_MAX_AXES], *rp[TE_MAX_AXES];
	int64_t ext[TE_MAX_AXES], rext[TE_MAX_AXES];
	int n = parse_dims(axes, names, ext), nr = parse_dims(raxes, rnames, rext);
	int id;

	for (int i = 0; i < TE_MAX_AXES; i++) {
		np[i] = names[i];
		rp[i] = rnames[i];
	}
	id = te_add_compute(G, name, n, np, ext, red, nr, rp, rext, NULL);
	ck_assert_int_ge(id, 0);
	return id;
}

static void body(int id, te_expr *e)
{
	rt_error err;

	rt_error_clear(&err);
	ck_assert_msg(e != NULL, "body not built");
	ck_assert_msg(te_set_body(G, id, e, &err) == 0, "%s", err.msg);
}

static te_expr *at(te_expr *e, int line, int col)
{
	ck_assert_ptr_nonnull(e);
	e->line = line;
	e->col = col;
	return e;
}

static te_expr *X(int axis)
{
	return te_axis_ref(G, axis);
}
static te_expr *N(int64_t v)
{
	return te_const_int(G, v);
}
static te_expr *F(double v)
{
	return te_const_float(G, v, TE_F32);
}
static te_expr *T(bool v)
{
	return te_const_bool(G, v);
}

static te_expr *op(te_op o, te_expr *a, te_expr *b)
{
	te_expr *e = b ? te_binary(G, o, a, b, NULL) : te_unary(G, o, a, NULL);

	ck_assert_msg(e != NULL, "cannot build '%s'", te_op_spelling(o));
	return e;
}

static te_expr *sel(te_expr *c, te_expr *a, te_expr *b)
{
	te_expr *e = te_select(G, c, a, b, NULL);

	ck_assert_ptr_nonnull(e);
	return e;
}

/* Load stage t at n indices given as te_expr * arguments. */
static te_expr *ld(int t, int n, ...)
{
	te_expr *idx[TE_MAX_RANK], *e;
	va_list ap;

	va_start(ap, n);
	for (int i = 0; i < n; i++)
		idx[i] = va_arg(ap, te_expr *);
	va_end(ap);
	e = te_load(G, t, n, idx, NULL);
	ck_assert_ptr_nonnull(e);
	return e;
}

#define ADD(a, b) op(TE_ADD, a, b)
#define SUB(a, b) op(TE_SUB, a, b)
#define MUL(a, b) op(TE_MUL, a, b)
#define DIV(a, b) op(TE_DIV, a, b)
#define MOD(a, b) op(TE_MOD, a, b)
#define AND(a, b) op(TE_AND, a, b)
#define OR(a, b) op(TE_OR, a, b)
#define LT(a, b) op(TE_LT, a, b)
#define GE(a, b) op(TE_GE, a, b)
#define EQ(a, b) op(TE_EQ, a, b)
#define NE(a, b) op(TE_NE, a, b)
#define NOT(a) op(TE_NOT, a, NULL)

/* ---- the cases ---- */

static void b_gemm(void)
{
	int a = in("A", "64 32"), b = in("B", "32 16");
	int c = comp("C", "i:64 j:16", TE_RED_SUM, "k:32");

	body(c, MUL(ld(a, 2, X(0), X(2)), ld(b, 2, X(2), X(1))));
}

/* O[o < 10] = sum(k < 3) I[2 * o + k], I of `n` elements */
static void conv1d(const char *n)
{
	int i = in("I", n), w = in("W", "3");
	int o = comp("O", "o:10", TE_RED_SUM, "k:3");

	body(o, MUL(at(ld(i, 1, ADD(MUL(N(2), X(0)), X(1))), 4, 7), ld(w, 1, X(1))));
}

static void b_conv1d(void)
{
	conv1d("21");
}
static void b_conv1d_short(void)
{
	conv1d("20");
}

/* P[h < 56, w < 56] = <e> with I[56, 56]; returns I's id */
static int pad_setup(int *p)
{
	int i = in("I", "56 56");

	*p = comp("P", "h:56 w:56", TE_RED_NONE, NULL);
	return i;
}

static te_expr *i_up(int i)
{
	return at(ld(i, 2, SUB(X(0), N(1)), X(1)), 3, 12);
}

static void b_oob(void)
{
	int p, i = pad_setup(&p);

	body(p, i_up(i));
}

static void b_guarded(void)
{
	int p, i = pad_setup(&p);

	body(p, sel(GE(X(0), N(1)), i_up(i), F(0)));
}

static void b_wrong_branch(void)
{
	int p, i = pad_setup(&p);

	body(p, sel(GE(X(0), N(1)), F(0), i_up(i)));
}

static void b_negated(void)
{
	int p, i = pad_setup(&p);

	/* !(h < 1), h != 0, h == 0 on the other branch, ||, == of conditions */
	body(p,
	     ADD(ADD(sel(NOT(LT(X(0), N(1))), i_up(i), F(0)), sel(NE(X(0), N(0)), i_up(i), F(0))),
		 ADD(ADD(sel(EQ(X(0), N(0)), F(0), i_up(i)),
			 sel(OR(LT(X(0), N(1)), LT(X(1), N(0))), F(0), i_up(i))),
		     sel(EQ(GE(X(0), N(1)), T(true)), i_up(i), F(0)))));
}

static void b_nested(void)
{
	int p, i = pad_setup(&p);
	te_expr *iw = at(ld(i, 2, SUB(X(0), N(1)), SUB(X(1), N(1))), 5, 5);

	body(p, sel(GE(X(0), N(1)), sel(GE(X(1), N(1)), iw, F(0)), F(0)));
}

/* Q[h < 58, w < 58] = select(h >= 1 && h < 57 && w >= 1 && <wcond>, ...) */
static void padding(bool full)
{
	int i = in("I", "56 56"), q = comp("Q", "h:58 w:58", TE_RED_NONE, NULL);
	te_expr *c = AND(AND(GE(X(0), N(1)), LT(X(0), ADD(N(56), N(1)))), GE(X(1), N(1)));

	if (full)
		c = AND(c, LT(X(1), N(57)));
	body(q, sel(c, at(ld(i, 2, SUB(X(0), N(1)), SUB(X(1), N(1))), 2, 9), F(0)));
}

static void b_padding(void)
{
	padding(true);
}
static void b_padding_open(void)
{
	padding(false);
}

static void b_nonaffine(void)
{
	int a = in("A", "8 8"), b = in("B", "64 8");
	int c = comp("C", "i:8 j:8", TE_RED_SUM, "k:8");

	body(c, MUL(ld(a, 2, X(0), X(2)), at(ld(b, 2, MUL(X(0), X(1)), X(2)), 6, 3)));
}

static void b_floor(void)
{
	int a = in("A", "4"), b = in("B", "2"), o = comp("O", "i:8", TE_RED_NONE, NULL);

	/* (i - 1) % 2 is 1 at i = 0 and (i - 8) / 2 + 4 is 3 at i = 7: in
	 * bounds with floor semantics, out of bounds with truncation */
	body(o, ADD(ADD(ld(a, 1, DIV(X(0), N(2))), ld(b, 1, MOD(SUB(X(0), N(1)), N(2)))),
		    ld(a, 1, ADD(DIV(SUB(X(0), N(8)), N(2)), N(4)))));
}

static void b_floor_div(void)
{
	int a = in("A", "4"), o = comp("O", "i:8", TE_RED_NONE, NULL);

	/* (i - 1) / 2 is -1 at i = 0 (floor, not truncation) */
	body(o, at(ld(a, 1, DIV(SUB(X(0), N(1)), N(2))), 1, 20));
}

static void b_const_div(void)
{
	int a = in("A", "8"), o = comp("O", "i:4", TE_RED_NONE, NULL);

	/* constant subexpressions: i * (6 / 3) + 7 % 4 - 3 */
	body(o, ld(a, 1, ADD(MUL(X(0), DIV(N(6), N(3))), SUB(MOD(N(7), N(4)), N(3)))));
}

static void b_div_by_axis(void)
{
	int a = in("A", "8"), o = comp("O", "i:4", TE_RED_NONE, NULL);

	body(o, at(ld(a, 1, DIV(N(6), ADD(X(0), N(1)))), 2, 2));
}

static void b_minmax(void)
{
	int a = in("A", "8"), o = comp("O", "i:8", TE_RED_NONE, NULL);

	body(o, ADD(ld(a, 1, op(TE_MIN, ADD(X(0), N(1)), N(7))),
		    ld(a, 1, op(TE_MAX, SUB(X(0), N(1)), N(0)))));
}

static void b_rank(void)
{
	int a = in("A", "8"), b = in("B", "8 8"), c = comp("C", "i:8", TE_RED_NONE, NULL);
	te_expr *bad = at(ld(b, 2, X(0), X(0)), 9, 4);

	bad->nargs = 1; /* bypass the builder's rank check */
	body(c, ADD(ld(a, 1, X(0)), bad));
}

static void b_unknown_stage(void)
{
	int a = in("A", "8"), c = comp("C", "i:8", TE_RED_NONE, NULL);
	te_expr *bad = at(ld(a, 1, X(0)), 1, 8);

	bad->index = 7;
	body(c, bad);
}

static void b_self(void)
{
	int a = in("A", "8"), c = comp("C", "i:8", TE_RED_NONE, NULL);

	body(c, ADD(ld(a, 1, X(0)), at(ld(c, 1, X(0)), 2, 15)));
}

static void b_forward(void)
{
	int a = comp("A", "i:8", TE_RED_NONE, NULL), b = comp("B", "i:8", TE_RED_NONE, NULL);

	body(b, F(1));
	body(a, at(ld(b, 1, X(0)), 3, 1));
}

static void b_data_guard(void)
{
	int x = in("X", "56"), p, i;

	i = pad_setup(&p);
	(void)x;
	/* a condition on loaded data is not affine: it protects nothing */
	body(p, sel(op(TE_GT, ld(x, 1, X(0)), F(0)), i_up(i), F(0)));
}

static void b_cond_load(void)
{
	int p, i = pad_setup(&p);

	/* a load in the condition is checked under the outer guard only */
	body(p, sel(AND(GE(X(0), N(1)), op(TE_GT, i_up(i), F(0))), F(1), F(0)));
}

static void b_axis_range(void)
{
	int a = in("A", "8 8"), c = comp("C", "i:8 j:8", TE_RED_NONE, NULL);

	body(c, ld(a, 2, X(0), at(X(5), 4, 11)));
}

static void b_const_index(void)
{
	int a = in("A", "4"), c = comp("C", "i:8", TE_RED_NONE, NULL);

	body(c, at(ld(a, 1, N(10)), 7, 7));
}

static void window(const char *k)
{
	int a = in("A", "8"), c = comp("C", "i:4", TE_RED_SUM, k);

	body(c, at(ld(a, 1, ADD(X(0), X(1))), 1, 30));
}

static void b_window(void)
{
	window("k:5");
}
static void b_window_long(void)
{
	window("k:6");
}

static void b_scalar(void)
{
	int a = in("A", "4"), s = in("S", NULL);
	int t = comp("T", NULL, TE_RED_SUM, "k:4"), u = comp("U", NULL, TE_RED_NONE, NULL);

	body(t, MUL(ld(a, 1, X(0)), ld(s, 0)));
	body(u, at(ld(a, 1, N(4)), 2, 3));
}

static void b_no_body(void)
{
	comp("C", "i:8", TE_RED_NONE, NULL);
	te_graph_stage(G, 0)->line = 5;
	te_graph_stage(G, 0)->col = 1;
}

static void b_type_mismatch(void)
{
	int a = in("A", "8"), c = comp("C", "i:8", TE_RED_NONE, NULL);
	te_expr *sum = at(ADD(ld(a, 1, X(0)), F(1)), 3, 3);

	sum->type = TE_F64; /* an f64 '+' of f32 operands */
	body(c, sum);
}

static void b_stage_type(void)
{
	int a = in("A", "8"), c = comp("C", "i:8", TE_RED_NONE, NULL);

	body(c, ld(a, 1, X(0)));
	te_graph_stage(G, c)->type = TE_I32;
}

static void b_bool_stage(void)
{
	int a = in("A", "8"), c = comp("C", "i:8", TE_RED_MAX, "k:2");

	body(c, ld(a, 1, X(0)));
	te_graph_stage(G, c)->type = TE_BOOL;
}

static void b_float_index(void)
{
	int a = in("A", "8"), c = comp("C", "i:8", TE_RED_NONE, NULL);
	te_expr *l = at(ld(a, 1, X(0)), 8, 2);

	l->args[0] = F(1); /* an f32 index */
	body(c, l);
}

static void b_chain(void)
{
	int a = in("A", "16"), b = comp("B", "i:8", TE_RED_NONE, NULL);
	int c = comp("C", "j:4", TE_RED_NONE, NULL);

	body(b, ld(a, 1, ADD(MUL(X(0), N(2)), N(1))));
	body(c, at(ld(b, 1, MUL(X(0), N(2))), 2, 4));
}

static void b_chain_oob(void)
{
	int a = in("A", "16"), b = comp("B", "i:8", TE_RED_NONE, NULL);
	int c = comp("C", "j:5", TE_RED_NONE, NULL);

	body(b, ld(a, 1, X(0)));
	body(c, at(ld(b, 1, MUL(X(0), N(2))), 2, 4));
}

/* conv2d_transposed.te's zero insertion: stride 2, offset 2, I[8, 8] */
static void transposed(int64_t hmax)
{
	int i = in("I", "8 8"), x = comp("Ix", "h:19 w:19", TE_RED_NONE, NULL);
	te_expr *c = T(true), *idx[2];

	for (int d = 0; d < 2; d++) {
		c = AND(AND(c, GE(X(d), N(2))), op(TE_LE, X(d), N(d ? 16 : hmax)));
		c = AND(c, EQ(MOD(SUB(X(d), N(2)), N(2)), N(0)));
		idx[d] = DIV(SUB(X(d), N(2)), N(2));
	}
	body(x, sel(c, at(ld(i, 2, idx[0], idx[1]), 6, 5), F(0)));
}

static void b_transposed(void)
{
	transposed(16);
}
static void b_transposed_far(void)
{
	transposed(18);
}

static void b_times_zero(void)
{
	int a = in("A", "4"), o = comp("O", "i:100", TE_RED_NONE, NULL);

	body(o, ADD(ld(a, 1, ADD(MUL(X(0), N(0)), N(3))), ld(a, 1, MUL(N(0), X(0)))));
}

/* ---- limits, built where the parser cannot express them ---- */

/* input A[n] i32; B[i < n] = A[i] */
static void copy_of(int64_t n)
{
	int a = te_add_input(G, "A", TE_I32, 1, &n, NULL);
	int b = comp("B", "i:1", TE_RED_NONE, NULL);

	ck_assert_int_ge(a, 0);
	te_graph_stage(G, b)->shape[0] = te_graph_stage(G, b)->axes[0].extent = n;
	body(b, ld(a, 1, X(0)));
}

static void b_extent_at_limit(void)
{
	copy_of(TE_MAX_EXTENT);
}

static void b_extent_over(void)
{
	copy_of(TE_MAX_EXTENT + 1);
}

/* The shape: (2^31 - 1)^3 f32 elements overflow int64 (it used to
 * count as 0 FLOP) */
static void b_bytes_overflow(void)
{
	int64_t e[3] = {TE_MAX_EXTENT, TE_MAX_EXTENT, TE_MAX_EXTENT};
	int a = te_add_input(G, "A", TE_F32, 3, e, NULL), b = comp("B", "i:2", TE_RED_NONE, NULL);

	ck_assert_int_ge(a, 0);
	body(b, ld(a, 3, X(0), X(0), X(0)));
}

/* A reduce axis of extent 2^31 (the parser refuses it at its extent) */
static void b_reduce_extent_over(void)
{
	int a = in("A", "4"), b = comp("B", "i:4", TE_RED_SUM, "k:4");

	te_graph_stage(G, b)->axes[1].extent = TE_MAX_EXTENT + 1;
	body(b, ADD(ld(a, 1, X(0)), at(te_cast(G, TE_F32, X(1), NULL), 1, 1)));
}

/* An i32 constant outside i32 (the parser refuses it) */
static void b_wide_constant(void)
{
	int a = in("A", "4"), b = comp("B", "i:4", TE_RED_NONE, NULL);

	body(b, ADD(ld(a, 1, X(0)), te_cast(G, TE_F32, at(N(INT64_C(1) << 32), 3, 4), NULL)));
}

typedef struct vcase {
	const char *name;
	void (*build)(void);
	bool ok;
	const char *msg; /* substring of the error message */
	int line, col;	 /* the error's position */
	const char *src; /* .te text to parse instead of calling build */
} vcase;

static const vcase cases[] = {
    {"gemm", b_gemm, true, NULL, 0, 0, NULL},
    {"conv1d stride", b_conv1d, true, NULL, 0, 0, NULL},
    {"conv1d short", b_conv1d_short, false,
     "load I[2 * o + k] in 'O' is out of bounds at o = 9, k = 2: index 0 is 20, outside [0, 20)", 4,
     7, NULL},
    {"unguarded h - 1", b_oob, false,
     "load I[h - 1, w] in 'P' is out of bounds at h = 0, w = 0: index 0 is -1, outside [0, 56)", 3,
     12, NULL},
    {"guarded h - 1", b_guarded, true, NULL, 0, 0, NULL},
    {"guard on the wrong branch", b_wrong_branch, false, "out of bounds at h = 0, w = 0", 3, 12,
     NULL},
    {"negated guards", b_negated, true, NULL, 0, 0, NULL},
    {"nested guards", b_nested, true, NULL, 0, 0, NULL},
    {"padding", b_padding, true, NULL, 0, 0, NULL},
    {"padding open at w", b_padding_open, false,
     "load I[h - 1, w - 1] in 'Q' is out of bounds at h = 1, w = 57: index 1 is 56, outside [0, "
     "56)",
     2, 9, NULL},
    {"non-affine i * j", b_nonaffine, false,
     "index 0 of load B[i * j, k] in 'C' is not affine in the axes", 6, 3, NULL},
    {"floor div and mod", b_floor, true, NULL, 0, 0, NULL},
    {"floor div below zero", b_floor_div, false, "at i = 0: index 0 is -1, outside [0, 4)", 1, 20,
     NULL},
    {"constant subexpressions", b_const_div, true, NULL, 0, 0, NULL},
    {"division by an axis", b_div_by_axis, false,
     "index 0 of load A[6 / (i + 1)] in 'O' is not affine", 2, 2, NULL},
    {"min and max", b_minmax, true, NULL, 0, 0, NULL},
    {"rank mismatch", b_rank, false, "load of 'B' in 'C' has 1 index but 'B' has rank 2", 9, 4,
     NULL},
    {"unknown stage", b_unknown_stage, false, "'C' loads stage 7, which does not exist", 1, 8,
     NULL},
    {"cycle: self-read", b_self, false, "cycle: 'C' reads itself", 2, 15, NULL},
    {"cycle: forward read", b_forward, false, "cycle: 'A' reads 'B', which is defined after it", 3,
     1, NULL},
    {"data guard", b_data_guard, false, "load I[h - 1, w] in 'P' is out of bounds at h = 0", 3, 12,
     NULL},
    {"load in a condition", b_cond_load, false, "in 'P' is out of bounds at h = 0, w = 0", 3, 12,
     NULL},
    {"axis out of range", b_axis_range, false,
     "axis 5 in 'C' is out of range: the stage has 2 axes", 4, 11, NULL},
    {"constant index", b_const_index, false,
     "load A[10] in 'C' is out of bounds at i = 0: index 0 is 10, outside [0, 4)", 7, 7, NULL},
    {"reduce window", b_window, true, NULL, 0, 0, NULL},
    {"reduce window too long", b_window_long, false,
     "load A[i + k] in 'C' is out of bounds at i = 3, k = 5: index 0 is 8, outside [0, 8)", 1, 30,
     NULL},
    {"scalars", b_scalar, false, "load A[4] in 'U' is out of bounds: index 0 is 4, outside [0, 4)",
     2, 3, NULL},
    {"no body", b_no_body, false, "'C' has no body", 5, 1, NULL},
    {"ill-typed +", b_type_mismatch, false, "'+' in 'C' has type f64 instead of f32", 3, 3, NULL},
    {"stage type", b_stage_type, false, "'C' has element type i32 but its body has type f32", 0, 0,
     NULL},
    {"bool stage", b_bool_stage, false, "'C' has element type bool", 0, 0, NULL},
    {"float index", b_float_index, false, "load of 'A' in 'C' has index 0 of type f32", 8, 2, NULL},
    {"transposed conv", b_transposed, true, NULL, 0, 0, NULL},
    {"transposed conv, guard too wide", b_transposed_far, false,
     "load I[(h - 2) / 2, (w - 2) / 2] in 'Ix' is out of bounds at h = 18, w = 2: index 0 is 8, "
     "outside [0, 8)",
     6, 5, NULL},
    {"times zero", b_times_zero, true, NULL, 0, 0, NULL},
    {"chain", b_chain, true, NULL, 0, 0, NULL},
    {"chain out of bounds", b_chain_oob, false,
     "load B[j * 2] in 'C' is out of bounds at j = 4: index 0 is 8, outside [0, 8)", 2, 4, NULL},
    {"parsed: unguarded", NULL, false,
     "load I[h - 1, w] in 'P' is out of bounds at h = 0, w = 0: index 0 is -1, outside [0, 56)", 2,
     21, "input I[56, 56]\nP[h < 56, w < 56] = I[h - 1, w]\n"},
    {"parsed: padding", NULL, true, NULL, 0, 0,
     "param H = 56, pad = 1\ninput I[H, H]\n"
     "P[h < H + 2 * pad, w < H + 2 * pad] = select(h >= pad && h < H + pad &&\n"
     "    w >= pad && w < H + pad, I[h - pad, w - pad], 0.0)\n"},
    {"parsed: padding off by one", NULL, false,
     "load I[h - 1, w - 1] in 'P' is out of bounds at h = 1, w = 57: index 1 is 56, outside [0, "
     "56)",
     2, 66,
     "input I[56, 56]\n"
     "P[h < 58, w < 58] = select(h >= 1 && h < 57 && w >= 1 && w < 58, I[h - 1, w - 1], 0.0)\n"},
    {"parsed: non-affine", NULL, false,
     "index 0 of load B[i * j, k] in 'C' is not affine in the axes", 3, 40,
     "input A[8, 8]\ninput B[64, 8]\nC[i < 8, j < 8] = sum(k < 8) A[i, k] * B[i * j, k]\n"},
    {"parsed: data guard", NULL, false,
     "load X[i + 1] in 'Y' is out of bounds at i = 3: index 0 is 4, outside [0, 4)", 2, 31,
     "input X[4]\nY[i < 4] = select(X[i] > 0.0, X[i + 1], 0.0)\n"},
    /* limits (docs/te-language.md, "Limits"): at the limit and one past */
    {"extent 2^31 - 1", b_extent_at_limit, true, NULL, 0, 0, NULL},
    {"extent 2^31", b_extent_over, false,
     "dimension 0 of 'A' has extent 2147483648; at most 2147483647", 0, 0, NULL},
    {"reduce extent 2^31", b_reduce_extent_over, false,
     "axis 'k' of 'B' has extent 2147483648; at most 2147483647", 0, 0, NULL},
    {"bytes overflow int64", b_bytes_overflow, false,
     "'A' [2147483647 x 2147483647 x 2147483647] f32 has more than 2^63 bytes", 0, 0, NULL},
    {"constant outside i32", b_wide_constant, false,
     "the i32 constant 4294967296 does not fit in i32 in 'B'", 3, 4, NULL},
    {"parsed: 2^40 bytes", NULL, true, NULL, 0, 0,
     "input A[262144, 1048576] f32\nB[i < 2] = A[i, i]\n"},
    {"parsed: 2^40 bytes and one row", NULL, false,
     "'A' [262145 x 1048576] f32 has 1099515822080 bytes; a tensor may have at most 2^40", 1,
     7, "input A[262145, 1048576] f32\nB[i < 2] = A[i, i]\n"},
    {"parsed: 2^50 points", NULL, true, NULL, 0, 0,
     "C = sum(i < 1048576, j < 1048576, k < 1024) f32(i + j + k)\n"},
    {"parsed: 2^50 + 2^40 points", NULL, false,
     "'C' iterates over 1126999418470400 points (1048576 x 1048576 x 1025); a stage may "
     "have at most 2^50",
     1, 1, "C = sum(i < 1048576, j < 1048576, k < 1025) f32(i + j + k)\n"},
    {"parsed: 2^50 operations", NULL, true, NULL, 0, 0,
     "C = sum(i < 1048576, j < 1048576, k < 512) 2.0 * f32(i + j + k)\n"},
    {"parsed: 2^50 + 2^42 operations over two stages", NULL, false,
     "up to 'D' the graph does 1130297953353728 operations; at most 2^50", 2, 1,
     "C = sum(i < 1048576, j < 1048576, k < 512) 2.0 * f32(i + j + k)\n"
     "D = sum(i < 1048576, j < 1048576, k < 2) 1.0 + f32(i + j + k)\n"},
    {"parsed: index arithmetic at i32's limit", NULL, true, NULL, 0, 0,
     "input A[4096]\nB[i < 4096] = A[i * 524288 / 524288]\n"},
    {"parsed: index arithmetic past i32", NULL, false,
     "the index arithmetic i * 524288 in 'B' reaches 2147483648, outside i32", 2, 19,
     "input A[4097]\nB[i < 4097] = A[i * 524288 / 524288]\n"},
    {"parsed: condition past i32", NULL, false,
     "the index arithmetic i * 1048576 * 2048 in 'B' reaches", 2, 31,
     "input A[8]\nB[i < 8] = select(i * 1048576 * 2048 > 0, A[i], 0.0)\n"},
    {"parsed: negative index arithmetic past i32", NULL, false,
     "the index arithmetic i - 2147483647 - 2 in 'B' reaches -2147483649, outside i32", 2,
     29, "input A[2]\nB[i < 2] = A[i - 2147483647 - 2 + 2147483647 + 2]\n"},
    {"parsed: negative index arithmetic at i32's limit", NULL, true, NULL, 0, 0,
     "input A[2]\nB[i < 2] = A[i - 2147483647 - 1 + 2147483647 + 1]\n"},
    /* every reduce axis is used (docs/te-language.md) */
    {"parsed: unused reduce axis", NULL, false, "reduce axis 'k' of 'B' is not used in its body",
     2, 16, "input A[8]\nB[i < 8] = sum(k < 8) A[i]\n"},
    {"parsed: second reduce axis unused", NULL, false,
     "reduce axis 'l' of 'B' is not used in its body", 2, 23,
     "input A[8]\nB[i < 8] = sum(k < 8, l < 2) A[k]\n"},
    {"parsed: reduce axis used in a condition only", NULL, true, NULL, 0, 0,
     "input A[8]\nB[i < 8] = sum(k < 8) select(k < 2, A[i], 0.0)\n"},
    {"parsed: floor", NULL, true, NULL, 0, 0,
     "input A[4]\nB[i < 8] = A[(i - 8) / 2 + 4] + A[(i - 1) % 2] + A[i / 2]\n"},
};

#define NCASES ((int)(sizeof(cases) / sizeof(cases[0])))

/* Build case `c`, verify it on `ctx`, check the outcome. */
static void run_case(const vcase *c, isl_ctx *ctx)
{
	rt_error err;
	int r;

	rt_error_clear(&err);
	if (c->src) {
		G = te_parse(c->src, NULL, 0, &err);
		ck_assert_msg(G != NULL, "%s: %d:%d: %s", c->name, err.line, err.col, err.msg);
	} else {
		G = te_graph_new();
		ck_assert_ptr_nonnull(G);
		c->build();
	}
	r = te_verify(G, ctx, &err);
	G = te_graph_free(G);
	if (c->ok) {
		ck_assert_msg(r == 0, "%s: unexpected error: %s", c->name, err.msg);
		return;
	}
	ck_assert_msg(r == -1 && err.set, "%s: verified, expected an error", c->name);
	ck_assert_msg(strstr(err.msg, c->msg), "%s: message\n  %s\nlacks\n  %s", c->name, err.msg,
		      c->msg);
	ck_assert_msg(err.line == c->line && err.col == c->col,
		      "%s: error at %d:%d, expected %d:%d", c->name, err.line, err.col, c->line,
		      c->col);
}

START_TEST(verify_table)
{
	isl_ctx *ctx = new_ctx();

	run_case(&cases[_i], ctx);
	isl_ctx_free(ctx);
}
END_TEST

/* Many verifications, passing and failing, on one ctx, which must then
 * free cleanly (no isl object left alive). */
START_TEST(verify_many_one_ctx)
{
	isl_ctx *ctx = new_ctx();

	for (int round = 0; round < 20; round++)
		for (int i = 0; i < NCASES; i++)
			run_case(&cases[i], ctx);
	isl_ctx_free(ctx);
}
END_TEST

/* isl failing part way (an operation quota) is an internal error, never a
 * wrong verdict, a crash or a leaked isl object. */
START_TEST(verify_isl_failure)
{
	int failures = 0;

	for (unsigned long ops = 1; ops <= 1UL << 16; ops *= 2)
		for (int i = 0; i < NCASES; i++) {
			isl_ctx *ctx = isl_ctx_alloc();
			rt_error err;
			int r;

			isl_options_set_on_error(ctx, ISL_ON_ERROR_CONTINUE);
			isl_ctx_set_max_operations(ctx, ops);
			rt_error_clear(&err);
			G = cases[i].src ? te_parse(cases[i].src, NULL, 0, &err) : te_graph_new();
			if (!cases[i].src)
				cases[i].build();
			r = te_verify(G, ctx, &err);
			G = te_graph_free(G);
			isl_ctx_free(ctx);
			if (r != 0 && strstr(err.msg, "internal error: isl failed")) {
				failures++;
				continue;
			}
			ck_assert_msg((r == 0) == cases[i].ok, "%s: %s", cases[i].name, err.msg);
			ck_assert_msg(r == 0 || strstr(err.msg, cases[i].msg), "%s: %s",
				      cases[i].name, err.msg);
		}
	ck_assert_int_gt(failures, 0);
}
END_TEST

START_TEST(verify_first_error_wins)
{
	isl_ctx *ctx = new_ctx();
	rt_error err;

	G = te_graph_new();
	b_oob();
	rt_error_clear(&err);
	rt_error_set(&err, 1, 1, "earlier");
	ck_assert_int_eq(te_verify(G, ctx, &err), -1);
	ck_assert_str_eq(err.msg, "earlier");
	ck_assert_int_eq(te_verify(G, ctx, NULL), -1);
	G = te_graph_free(G);
	isl_ctx_free(ctx);
}
END_TEST

/* ---- te_isl ---- */

static void assert_set_eq(__isl_take isl_set *got, isl_ctx *ctx, const char *want)
{
	isl_set *w = isl_set_read_from_str(ctx, want);
	isl_bool eq = isl_set_is_equal(got, w);
	char *text = isl_set_to_str(got);

	ck_assert_msg(eq == isl_bool_true, "got %s, want %s", text, want);
	free(text);
	isl_set_free(got);
	isl_set_free(w);
}

START_TEST(isl_domain_and_box)
{
	isl_ctx *ctx = new_ctx();

	G = te_graph_new();
	b_window();
	assert_set_eq(te_isl_domain(ctx, te_graph_stage(G, 1)), ctx,
		      "{ C[i, k] : 0 <= i < 4 and 0 <= k < 5 }");
	assert_set_eq(te_isl_box(ctx, te_graph_stage(G, 0)), ctx, "{ A[x] : 0 <= x < 8 }");
	assert_set_eq(te_isl_domain(ctx, te_graph_stage(G, 0)), ctx, "{ A[x] : 0 <= x < 8 }");
	assert_set_eq(te_isl_box(ctx, te_graph_stage(G, 1)), ctx, "{ C[x] : 0 <= x < 4 }");
	G = te_graph_free(G);
	isl_ctx_free(ctx);
}
END_TEST

static void assert_map_eq(__isl_take isl_map *got, isl_ctx *ctx, const char *want)
{
	isl_map *w = isl_map_read_from_str(ctx, want);
	isl_bool eq = isl_map_is_equal(got, w);
	char *text = isl_map_to_str(got);

	ck_assert_msg(eq == isl_bool_true, "got %s, want %s", text, want);
	free(text);
	isl_map_free(got);
	isl_map_free(w);
}

START_TEST(isl_access)
{
	isl_ctx *ctx = new_ctx();
	const te_stage *o;

	G = te_graph_new();
	b_conv1d();
	o = te_graph_stage(G, 2);
	assert_map_eq(te_isl_access(ctx, G, o, o->body->args[0]), ctx,
		      "{ O[o, k] -> I[2o + k] : 0 <= o < 10 and 0 <= k < 3 }");
	G = te_graph_free(G);

	G = te_graph_new();
	b_floor();
	o = te_graph_stage(G, 2);
	assert_map_eq(te_isl_access(ctx, G, o, o->body->args[0]->args[1]), ctx,
		      "{ O[i] -> B[(i - 1) mod 2] : 0 <= i < 8 }");
	assert_map_eq(te_isl_access(ctx, G, o, o->body->args[1]), ctx,
		      "{ O[i] -> A[floor((i - 8) / 2) + 4] : 0 <= i < 8 }");
	G = te_graph_free(G);

	G = te_graph_new();
	b_scalar();
	o = te_graph_stage(G, 2);
	assert_map_eq(te_isl_access(ctx, G, o, o->body->args[1]), ctx,
		      "{ T[k] -> S[] : 0 <= k < 4 }");
	G = te_graph_free(G);

	G = te_graph_new();
	b_nonaffine();
	o = te_graph_stage(G, 2);
	ck_assert_ptr_null(te_isl_access(ctx, G, o, o->body->args[1]));
	G = te_graph_free(G);
	isl_ctx_free(ctx);
}
END_TEST

START_TEST(isl_cond)
{
	isl_ctx *ctx = new_ctx();
	const te_stage *p;
	te_expr *c;

	G = te_graph_new();
	pad_setup(&(int){0});
	p = te_graph_stage(G, 1);
	c = AND(GE(X(0), N(1)), NOT(LT(X(1), DIV(X(0), N(2)))));
	assert_set_eq(te_isl_cond(ctx, p, c, false), ctx,
		      "{ P[h, w] : 1 <= h < 56 and 0 <= w < 56 and w >= floor(h / 2) }");
	assert_set_eq(te_isl_cond(ctx, p, c, true), ctx,
		      "{ P[h, w] : 0 <= h < 56 and 0 <= w < 56 and (h = 0 or w < floor(h / 2)) }");
	c = NE(EQ(X(0), X(1)), T(false));
	assert_set_eq(te_isl_cond(ctx, p, c, false), ctx, "{ P[h, h] : 0 <= h < 56 }");
	assert_set_eq(te_isl_cond(ctx, p, c, true), ctx,
		      "{ P[h, w] : 0 <= h < 56 and 0 <= w < 56 and h != w }");
	assert_set_eq(te_isl_cond(ctx, p, T(false), true), ctx,
		      "{ P[h, w] : 0 <= h < 56 and 0 <= w < 56 }");
	assert_set_eq(te_isl_cond(ctx, p, OR(T(false), GE(MOD(X(1), N(4)), N(3))), false), ctx,
		      "{ P[h, w] : 0 <= h < 56 and 0 <= w < 56 and w mod 4 = 3 }");
	c = op(TE_GT, ld(0, 2, X(0), X(1)), F(0));
	ck_assert_ptr_null(te_isl_cond(ctx, p, c, false));
	G = te_graph_free(G);
	isl_ctx_free(ctx);
}
END_TEST

START_TEST(isl_affine)
{
	int a;

	G = te_graph_new();
	a = in("A", "8");
	comp("C", "i:8 j:8", TE_RED_NONE, NULL);
	ck_assert(te_isl_affine(X(0)));
	ck_assert(te_isl_affine(N(-3)));
	ck_assert(te_isl_affine(ADD(MUL(N(3), X(0)), op(TE_NEG, X(1), NULL))));
	ck_assert(te_isl_affine(MUL(X(0), SUB(N(2), N(5)))));
	ck_assert(te_isl_affine(DIV(X(0), ADD(N(1), N(1)))));
	ck_assert(te_isl_affine(MOD(ADD(X(0), X(1)), N(3))));
	ck_assert(te_isl_affine(op(TE_MAX, X(0), op(TE_MIN, X(1), N(4)))));
	ck_assert(te_isl_affine(AND(LT(X(0), X(1)), NOT(EQ(X(0), N(2))))));
	ck_assert(te_isl_affine(EQ(T(true), NE(X(0), X(1)))));
	ck_assert(!te_isl_affine(MUL(X(0), X(1))));
	ck_assert(!te_isl_affine(DIV(X(0), N(0))));
	ck_assert(!te_isl_affine(DIV(X(0), N(-2))));
	ck_assert(!te_isl_affine(MOD(X(0), SUB(N(1), N(1)))));
	ck_assert(!te_isl_affine(DIV(N(4), X(0))));
	ck_assert(!te_isl_affine(MUL(X(0), MUL(N(INT64_MAX), N(2)))));
	ck_assert(!te_isl_affine(ld(a, 1, X(0))));
	ck_assert(!te_isl_affine(F(1)));
	ck_assert(!te_isl_affine(op(TE_ABS, X(0), NULL)));
	ck_assert(!te_isl_affine(LT(ld(a, 1, X(0)), F(0))));
	ck_assert(!te_isl_affine(te_cast(G, TE_I32, X(0), NULL)));
	G = te_graph_free(G);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("verify");
	TCase *tc = tcase_create("verify");
	SRunner *sr;
	int failed;

	tcase_add_loop_test(tc, verify_table, 0, NCASES);
	tcase_add_test(tc, verify_many_one_ctx);
	tcase_add_test(tc, verify_isl_failure);
	tcase_add_test(tc, verify_first_error_wins);
	tcase_add_test(tc, isl_domain_and_box);
	tcase_add_test(tc, isl_access);
	tcase_add_test(tc, isl_cond);
	tcase_add_test(tc, isl_affine);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
