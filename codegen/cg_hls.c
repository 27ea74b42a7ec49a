/*
 * cg_hls: lir -> HLS C, the header, the testbench, the Tcl script, and the
 * two lints (see cg_hls.h).
 *
 * One emitter writes a lir function as C, with or without HLS pragmas: the
 * kernel with them, the testbench's reference (the naive lowering) without.
 * Variables and buffers get C names from their lir names ('.' and '+'
 * become '_'; a name taken by another variable, a buffer, a keyword or a
 * helper gets the first free `_N` suffix, as `ftc lower` prints them).
 * Index arithmetic is `int` unless some buffer or constant needs 64 bits.
 */
#include "cg_hls.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_buf.h"
#include "rt_math.h"
#include "te_interp.h"

/* ---- text ---- */

/* The string of b (given to the caller), or NULL with `err` when it ran
 * out of memory. */
static char *sb_take(rt_buf *b, rt_error *err)
{
	char *s = rt_buf_take(b);

	if (!s)
		rt_error_set(err, 0, 0, "out of memory writing HLS C");
	return s;
}

/* Each line of `text` into b, prefixed. */
static void sb_lines(rt_buf *b, const char *prefix, const char *text)
{
	while (text && *text) {
		const char *eol = strchr(text, '\n');
		int n = eol ? (int)(eol - text) : (int)strlen(text);

		rt_buf_printf(b, "%s%.*s\n", prefix, n, text);
		text += n + (eol != NULL);
	}
}

/* ---- names ---- */

static const char *const reserved[] = {
	"auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else",
	"enum", "extern", "float", "for", "goto", "if", "inline", "int", "long", "register",
	"restrict", "return", "short", "signed", "sizeof", "static", "struct", "switch",
	"typedef", "union", "unsigned", "void", "volatile", "while", "_Bool", "bool", "true",
	"false", "main", "class", "new", "delete", "this", "template", "namespace", "operator",
	"private", "public", "protected", "virtual", "try", "catch", "throw", "friend",
	"INFINITY", "NAN", "exp", "expf", "log", "logf", "sqrt", "sqrtf", "tanh", "tanhf",
	"fabs", "fabsf", "fmin", "fminf", "fmax", "fmaxf", "floor", "floorf", "abs",
};

static bool is_reserved(const char *s)
{
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (strcmp(s, reserved[i]) == 0)
			return true;
	return strncmp(s, "ftc_", 4) == 0 || strncmp(s, "tb_", 3) == 0;
}

/* The C names of a function's variables and buffers. */
typedef struct names {
	int nv, nb;
	char **var, **buf;
	const char *fname; /* the function's own name: never a variable's */
} names;

static bool taken(const names *N, int upto_v, int upto_b, const char *s)
{
	if (is_reserved(s) || (N->fname && strcmp(s, N->fname) == 0))
		return true;
	for (int i = 0; i < upto_b; i++)
		if (strcmp(N->buf[i], s) == 0)
			return true;
	for (int i = 0; i < upto_v; i++)
		if (strcmp(N->var[i], s) == 0)
			return true;
	return false;
}

/* A C identifier from raw: '.', '+' and any other non-identifier byte
 * become '_'; malloc'd with room for a suffix. */
static char *sanitize(const char *raw)
{
	size_t n = strlen(raw);
	char *s = malloc(n + 32);

	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		char c = raw[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
			  (i > 0 && c >= '0' && c <= '9');

		s[i] = ok ? c : '_';
	}
	if (n == 0)
		s[n++] = '_';
	s[n] = '\0';
	return s;
}

/* Make *slot unique among the names before it: raw, raw_1, raw_2, ... */
static void uniquify(names *N, int upto_v, int upto_b, char *slot)
{
	char base[TE_MAX_NAME * 4];
	size_t n = strlen(slot);

	snprintf(base, sizeof(base), "%s", slot);
	for (long k = 1; taken(N, upto_v, upto_b, slot); k++)
		snprintf(slot, n + 32, "%.*s_%ld", (int)(sizeof(base) - 24), base, k);
}

static void names_free(names *N)
{
	for (int i = 0; N->var && i < N->nv; i++)
		free(N->var[i]);
	for (int i = 0; N->buf && i < N->nb; i++)
		free(N->buf[i]);
	free(N->var);
	free(N->buf);
	memset(N, 0, sizeof(*N));
}

/* Buffers first (parameters keep their tensor's name), then variables. */
static int names_make(names *N, const lir_func *f, const char *fname)
{
	N->fname = fname;
	N->nv = lir_func_nvars(f);
	N->nb = lir_func_nbuffers(f);
	N->var = calloc((size_t)N->nv + 1, sizeof(char *));
	N->buf = calloc((size_t)N->nb + 1, sizeof(char *));
	if (!N->var || !N->buf)
		return -1;
	for (int i = 0; i < N->nb; i++) {
		if (!(N->buf[i] = sanitize(lir_func_buffer(f, i)->name)))
			return -1;
		uniquify(N, 0, i, N->buf[i]);
	}
	for (int i = 0; i < N->nv; i++) {
		if (!(N->var[i] = sanitize(lir_func_var(f, i)->name)))
			return -1;
		uniquify(N, i, N->nb, N->var[i]);
	}
	return 0;
}

/* ---- value ranges of integer variables (for / and %, trip counts) ---- */

typedef struct range {
	int64_t lo, hi;
	bool known;
} range;

static const range unknown = {0, 0, false};

static range rng(int64_t lo, int64_t hi)
{
	return (range){lo, hi, true};
}

static range r_add(range a, range b, bool sub)
{
	int64_t lo, hi;

	if (!a.known || !b.known)
		return unknown;
	if (sub ? __builtin_sub_overflow(a.lo, b.hi, &lo) || __builtin_sub_overflow(a.hi, b.lo, &hi)
		: __builtin_add_overflow(a.lo, b.lo, &lo) || __builtin_add_overflow(a.hi, b.hi, &hi))
		return unknown;
	return rng(lo, hi);
}

static range r_mul(range a, range b)
{
	int64_t p[4];

	if (!a.known || !b.known || __builtin_mul_overflow(a.lo, b.lo, &p[0]) ||
	    __builtin_mul_overflow(a.lo, b.hi, &p[1]) || __builtin_mul_overflow(a.hi, b.lo, &p[2]) ||
	    __builtin_mul_overflow(a.hi, b.hi, &p[3]))
		return unknown;
	for (int i = 1; i < 4; i++) {
		p[0] = p[i] < p[0] ? p[i] : p[0];
		p[3] = p[i] > p[3] ? p[i] : p[3];
	}
	return rng(p[0], p[3]);
}

static range r_minmax(range a, range b, bool is_max)
{
	if (!a.known || !b.known)
		return unknown;
	if (is_max)
		return rng(a.lo > b.lo ? a.lo : b.lo, a.hi > b.hi ? a.hi : b.hi);
	return rng(a.lo < b.lo ? a.lo : b.lo, a.hi < b.hi ? a.hi : b.hi);
}

/* The range of integer expression e given the ranges of variables. */
static range expr_range(const lir_expr *e, const range *vr)
{
	range a, b;

	if (!e || lir_type_is_float(e->type))
		return unknown;
	switch (e->op) {
	case LIR_CONST:
		return rng(e->c.i, e->c.i);
	case LIR_VAR:
		return vr[e->id];
	case LIR_CAST:
		return lir_type_is_float(e->args[0]->type) ? unknown : expr_range(e->args[0], vr);
	case LIR_NEG:
		return r_add(rng(0, 0), expr_range(e->args[0], vr), true);
	case LIR_SELECT:
		a = expr_range(e->args[1], vr);
		b = expr_range(e->args[2], vr);
		return r_minmax(r_minmax(a, b, false), r_minmax(a, b, true), true);
	default:
		break;
	}
	if (e->nargs != 2)
		return e->type == LIR_BOOL ? rng(0, 1) : unknown;
	a = expr_range(e->args[0], vr);
	b = expr_range(e->args[1], vr);
	switch (e->op) {
	case LIR_ADD:
	case LIR_SUB:
		return r_add(a, b, e->op == LIR_SUB);
	case LIR_MUL:
		return r_mul(a, b);
	case LIR_DIV:
		if (!a.known || !b.known || b.lo != b.hi || b.lo <= 0)
			return unknown;
		return rng(rt_floor_div(a.lo, b.lo), rt_floor_div(a.hi, b.lo));
	case LIR_MOD:
		if (!b.known || b.lo != b.hi || b.lo <= 0)
			return unknown;
		return a.known && a.lo >= 0 && a.hi < b.lo ? a : rng(0, b.lo - 1);
	case LIR_MIN:
	case LIR_MAX:
		return r_minmax(a, b, e->op == LIR_MAX);
	default:
		return e->type == LIR_BOOL ? rng(0, 1) : unknown;
	}
}

/* ---- affine forms, for trip counts whose bounds move together ---- */

#define AFF_TERMS 12

typedef struct aff {
	int n;
	int var[AFF_TERMS];
	int64_t c[AFF_TERMS];
	int64_t k;
	bool ok;
} aff;

/* a + s * b (s = 1 or -1) */
static aff aff_add(aff a, aff b, int64_t s)
{
	if (!a.ok || !b.ok)
		return (aff){.ok = false};
	a.k += s * b.k;
	for (int i = 0; i < b.n; i++) {
		int j = 0;

		while (j < a.n && a.var[j] != b.var[i])
			j++;
		if (j == a.n) {
			if (a.n == AFF_TERMS)
				return (aff){.ok = false};
			a.var[a.n] = b.var[i];
			a.c[a.n++] = 0;
		}
		a.c[j] += s * b.c[i];
	}
	return a;
}

static aff aff_scale(aff a, int64_t s)
{
	a.k *= s;
	for (int i = 0; i < a.n; i++)
		a.c[i] *= s;
	return a;
}

/* The affine form of integer expression e, with let variables whose value
 * is affine expanded when `lets` is given (lets[v]: the value of let
 * variable v, or NULL). */
static aff aff_of(const lir_expr *e, const lir_expr *const *lets, int depth)
{
	aff r = {.ok = true};

	if (!e || depth > 64)
		return (aff){.ok = false};
	switch (e->op) {
	case LIR_CONST:
		r.k = e->c.i;
		return r;
	case LIR_VAR:
		if (lets && lets[e->id]) {
			aff x = aff_of(lets[e->id], lets, depth + 1);

			if (x.ok)
				return x;
		}
		r.n = 1;
		r.var[0] = e->id;
		r.c[0] = 1;
		return r;
	case LIR_CAST:
		return lir_type_is_float(e->args[0]->type) ? (aff){.ok = false} : aff_of(e->args[0], lets, depth + 1);
	case LIR_NEG:
		return aff_scale(aff_of(e->args[0], lets, depth + 1), -1);
	case LIR_ADD:
	case LIR_SUB:
		return aff_add(aff_of(e->args[0], lets, depth + 1), aff_of(e->args[1], lets, depth + 1),
			       e->op == LIR_SUB ? -1 : 1);
	case LIR_MUL:
		if (e->args[0]->op == LIR_CONST)
			return aff_scale(aff_of(e->args[1], lets, depth + 1), e->args[0]->c.i);
		if (e->args[1]->op == LIR_CONST)
			return aff_scale(aff_of(e->args[0], lets, depth + 1), e->args[1]->c.i);
		return (aff){.ok = false};
	default:
		return (aff){.ok = false};
	}
}

static range aff_range(aff a, const range *vr)
{
	range r = rng(a.k, a.k);

	for (int i = 0; i < a.n && r.known; i++)
		r = r_add(r, r_mul(rng(a.c[i], a.c[i]), vr[a.var[i]]), false);
	return r;
}

/* The range of hi - lo, distributing over min and max so that bounds that
 * move together (lo = 4 * j_o, hi = min(4 * j_o + 4, 10)) cancel. */
static range diff_range(const lir_expr *hi, const lir_expr *lo, const lir_expr *const *lets,
			const range *vr)
{
	aff d;

	if (hi->op == LIR_MIN || hi->op == LIR_MAX)
		return r_minmax(diff_range(hi->args[0], lo, lets, vr), diff_range(hi->args[1], lo, lets, vr),
				hi->op == LIR_MAX);
	if (lo->op == LIR_MIN || lo->op == LIR_MAX)
		return r_minmax(diff_range(hi, lo->args[0], lets, vr), diff_range(hi, lo->args[1], lets, vr),
				lo->op == LIR_MIN);
	d = aff_add(aff_of(hi, lets, 0), aff_of(lo, lets, 0), -1);
	if (d.ok)
		return aff_range(d, vr);
	return r_add(expr_range(hi, vr), expr_range(lo, vr), true);
}

/* ---- the emitter ---- */

typedef struct emitter {
	rt_buf b;
	const lir_func *f;
	names N;
	bool pragmas;         /* the kernel (true) or the testbench's reference */
	bool wide;            /* index arithmetic needs 64 bits */
	const lir_stmt *pipe; /* the enclosing pipelined loop, or NULL */
	range *vr;            /* per variable */
	const lir_expr **lets; /* per variable: a let's value, NULL for loops */
	unsigned helpers;     /* HELP_* the code calls */
} emitter;

enum {
	HELP_FDIV = 1, HELP_FMOD = 2, HELP_MIN = 4, HELP_MAX = 8, HELP_ABS = 16, HELP_F2I = 32,
	HELP_D2I = 64, HELP_FMODF = 128, HELP_DMOD = 256, HELP_MATH = 512
};

static const struct {
	int prec;
	bool infix;
} op_form[LIR_OP_COUNT] = {
#define LIR_OP(name, spelling, arity, form, prec) [LIR_##name] = {prec, LIR_FORM_##form},
#define LIR_FORM_LEAF false
#define LIR_FORM_INFIX true
#define LIR_FORM_PREFIX false
#define LIR_FORM_CALL false
#include "lir_ops.def"
#undef LIR_OP
};

static const char *idx_type(const emitter *E)
{
	return E->wide ? "long long" : "int";
}

static const char *c_type(const emitter *E, lir_type t)
{
	switch (t) {
	case LIR_F32:
		return "float";
	case LIR_F64:
		return "double";
	case LIR_I64:
		return idx_type(E);
	default:
		return "int";
	}
}

static void emit_expr(emitter *E, const lir_expr *e, int prec);

static void emit_float(emitter *E, double v, lir_type t)
{
	char buf[64];

	if (isinf(v)) {
		rt_buf_printf(&E->b, v < 0 ? "(-INFINITY)" : "INFINITY");
		return;
	}
	if (isnan(v)) {
		rt_buf_printf(&E->b, "NAN");
		return;
	}
	snprintf(buf, sizeof(buf), t == LIR_F32 ? "%.9g" : "%.17g", v);
	if (!strpbrk(buf, ".en"))
		strcat(buf, ".0");
	rt_buf_printf(&E->b, v < 0 ? "(%s%s)" : "%s%s", buf, t == LIR_F32 ? "f" : "");
}

/* name(a, b) */
static void emit_call(emitter *E, const char *name, const lir_expr *e)
{
	rt_buf_printf(&E->b, "%s(", name);
	for (int i = 0; i < e->nargs; i++) {
		if (i)
			rt_buf_printf(&E->b, ", ");
		emit_expr(E, e->args[i], 0);
	}
	rt_buf_printf(&E->b, ")");
}

/* Is integer / or % of e a plain C operator: dividend >= 0, divisor a positive constant? */
static bool plain_division(const emitter *E, const lir_expr *e)
{
	range a = expr_range(e->args[0], E->vr);

	return e->args[1]->op == LIR_CONST && e->args[1]->c.i > 0 && a.known && a.lo >= 0;
}

static void emit_cast(emitter *E, const lir_expr *e)
{
	lir_type to = e->type, from = e->args[0]->type;

	if (to == LIR_BOOL) {
		rt_buf_printf(&E->b, "(");
		emit_expr(E, e->args[0], 3);
		rt_buf_printf(&E->b, " != 0)");
	} else if (lir_type_is_float(from) && !lir_type_is_float(to)) {
		E->helpers |= from == LIR_F32 ? HELP_F2I : HELP_D2I;
		rt_buf_printf(&E->b, "(%s)", c_type(E, to));
		emit_call(E, from == LIR_F32 ? "ftc_f2i" : "ftc_d2i", e);
	} else if (strcmp(c_type(E, to), c_type(E, from)) == 0) {
		emit_expr(E, e->args[0], 8);
	} else {
		rt_buf_printf(&E->b, "(%s)", c_type(E, to));
		emit_expr(E, e->args[0], 8);
	}
}

/* Calls: select, min, max, abs, exp, ... and float % */
static void emit_callish(emitter *E, const lir_expr *e)
{
	bool f32 = e->type == LIR_F32, fl = lir_type_is_float(e->type);
	const char *fn = NULL;

	switch (e->op) {
	case LIR_SELECT:
		rt_buf_printf(&E->b, "(");
		emit_expr(E, e->args[0], 1);
		rt_buf_printf(&E->b, " ? ");
		emit_expr(E, e->args[1], 1);
		rt_buf_printf(&E->b, " : ");
		emit_expr(E, e->args[2], 1);
		rt_buf_printf(&E->b, ")");
		return;
	case LIR_CAST:
		emit_cast(E, e);
		return;
	case LIR_MIN: fn = fl ? (f32 ? "fminf" : "fmin") : "ftc_min"; break;
	case LIR_MAX: fn = fl ? (f32 ? "fmaxf" : "fmax") : "ftc_max"; break;
	case LIR_ABS: fn = fl ? (f32 ? "fabsf" : "fabs") : "ftc_abs"; break;
	case LIR_EXP: fn = f32 ? "expf" : "exp"; break;
	case LIR_LOG: fn = f32 ? "logf" : "log"; break;
	case LIR_SQRT: fn = f32 ? "sqrtf" : "sqrt"; break;
	case LIR_TANH: fn = f32 ? "tanhf" : "tanh"; break;
	case LIR_MOD: fn = f32 ? "ftc_fmodf" : fl ? "ftc_dmod" : "ftc_fmod"; break;
	case LIR_DIV: fn = "ftc_fdiv"; break;
	default: fn = "?"; break;
	}
	E->helpers |= !strcmp(fn, "ftc_min")     ? HELP_MIN
		      : !strcmp(fn, "ftc_max")   ? HELP_MAX
		      : !strcmp(fn, "ftc_abs")   ? HELP_ABS
		      : !strcmp(fn, "ftc_fmodf") ? HELP_FMODF
		      : !strcmp(fn, "ftc_dmod")  ? HELP_DMOD
		      : !strcmp(fn, "ftc_fmod")  ? HELP_FMOD
		      : !strcmp(fn, "ftc_fdiv")  ? HELP_FDIV
						 : HELP_MATH;
	emit_call(E, fn, e);
}

/* Variable leaves of e (lets of a constant value do not count). */
static int var_leaves(const emitter *E, const lir_expr *e)
{
	int n = e->op == LIR_VAR && !(E->lets[e->id] && E->lets[e->id]->op == LIR_CONST);

	for (int i = 0; i < e->nargs; i++)
		n += var_leaves(E, e->args[i]);
	return n;
}

/* Variable leaves of e, all of them. */
static int var_leaves_all(const lir_expr *e)
{
	int n = e->op == LIR_VAR;

	for (int i = 0; i < e->nargs; i++)
		n += var_leaves_all(e->args[i]);
	return n;
}

/* The affine form of e with only the lets of constant value expanded. */
static aff aff_consts(const emitter *E, const lir_expr *e, int depth)
{
	const lir_expr *v;

	if (e->op == LIR_VAR && (v = E->lets[e->id]) && v->op == LIR_CONST)
		return (aff){.ok = true, .k = v->c.i};
	if (e->op == LIR_ADD || e->op == LIR_SUB)
		return depth > 64 ? (aff){.ok = false}
				  : aff_add(aff_consts(E, e->args[0], depth + 1), aff_consts(E, e->args[1], depth + 1),
					    e->op == LIR_SUB ? -1 : 1);
	if (e->op == LIR_MUL && e->args[1]->op == LIR_CONST)
		return depth > 64 ? (aff){.ok = false} : aff_scale(aff_consts(E, e->args[0], depth + 1), e->args[1]->c.i);
	if (e->op == LIR_MUL && e->args[0]->op == LIR_CONST)
		return depth > 64 ? (aff){.ok = false} : aff_scale(aff_consts(E, e->args[1], depth + 1), e->args[0]->c.i);
	return aff_of(e, NULL, depth);
}

static int live_terms(const aff *a)
{
	int n = 0;

	for (int i = 0; i < a->n; i++)
		n += a->c[i] != 0;
	return n;
}

/* a, written as its terms in order then its constant ("d0", "4 * i - j + 2"). */
static void emit_affine(emitter *E, const aff *a, int prec)
{
	bool paren = (a->n > 1 || (a->n == 1 && a->k != 0)) && prec > 5, first = true;

	if (paren)
		rt_buf_printf(&E->b, "(");
	for (int i = 0; i < a->n; i++) {
		int64_t c = a->c[i], m = c < 0 ? -c : c;

		if (c == 0)
			continue;
		rt_buf_printf(&E->b, "%s", first ? (c < 0 ? "-" : "") : c < 0 ? " - " : " + ");
		if (m != 1)
			rt_buf_printf(&E->b, "%" PRId64 " * ", m);
		rt_buf_printf(&E->b, "%s", E->N.var[a->var[i]]);
		first = false;
	}
	if (first)
		rt_buf_printf(&E->b, a->k < 0 ? "(%" PRId64 ")" : "%" PRId64, a->k);
	else if (a->k != 0)
		rt_buf_printf(&E->b, " %s %" PRId64, a->k < 0 ? "-" : "+", a->k < 0 ? -a->k : a->k);
	if (paren)
		rt_buf_printf(&E->b, ")");
}

/* An index sum whose terms cancel once lets are expanded ("d0 + 4 * i_o -
 * 4 * i_o", "i - 4 * i_o" where i = 4 * i_o + i_i), or that folds lets of
 * a constant value ("(n * 128 + c) * 58 + h" where n = 0), written
 * simplified; false when e is not one. */
static bool emit_cancelled(emitter *E, const lir_expr *e, int prec)
{
	int leaves;
	aff a;

	if ((e->op != LIR_ADD && e->op != LIR_SUB) || e->type != LIR_I64)
		return false;
	leaves = var_leaves(E, e);
	a = aff_of(e, E->lets, 0);
	if (!a.ok || live_terms(&a) >= leaves) {
		a = aff_consts(E, e, 0);
		if (!a.ok || (live_terms(&a) >= leaves && leaves == var_leaves_all(e)))
			return false;
	}
	emit_affine(E, &a, prec);
	return true;
}

/* e in a context binding with strength `prec` (parenthesized when weaker). */
static void emit_expr(emitter *E, const lir_expr *e, int prec)
{
	int p;

	switch (e->op) {
	case LIR_CONST:
		if (lir_type_is_float(e->type))
			emit_float(E, e->c.f, e->type);
		else
			rt_buf_printf(&E->b, e->c.i < 0 ? "(%" PRId64 ")" : "%" PRId64, e->c.i);
		return;
	case LIR_VAR:
		rt_buf_printf(&E->b, "%s", E->N.var[e->id]);
		return;
	case LIR_LOAD:
		rt_buf_printf(&E->b, "%s[", E->N.buf[e->id]);
		emit_expr(E, e->args[0], 0);
		rt_buf_printf(&E->b, "]");
		return;
	case LIR_NEG:
	case LIR_NOT:
		rt_buf_printf(&E->b, "(%s", e->op == LIR_NEG ? "-" : "!");
		emit_expr(E, e->args[0], 7);
		rt_buf_printf(&E->b, ")");
		return;
	default:
		break;
	}
	if ((e->op == LIR_DIV || e->op == LIR_MOD) &&
	    (e->op == LIR_MOD ? lir_type_is_float(e->type) || !plain_division(E, e)
			      : !lir_type_is_float(e->type) && !plain_division(E, e))) {
		emit_callish(E, e);
		return;
	}
	if (!op_form[e->op].infix) {
		emit_callish(E, e);
		return;
	}
	if (emit_cancelled(E, e, prec))
		return;
	p = op_form[e->op].prec;
	if (p < prec)
		rt_buf_printf(&E->b, "(");
	emit_expr(E, e->args[0], p);
	rt_buf_printf(&E->b, " %s ", lir_op_spelling(e->op));
	emit_expr(E, e->args[1], p + 1);
	if (p < prec)
		rt_buf_printf(&E->b, ")");
}

static bool id_char_c(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static void indent(emitter *E, int level)
{
	for (int i = 0; i < level; i++)
		rt_buf_printf(&E->b, "\t");
}

static void emit_stmt(emitter *E, const lir_stmt *s, int level, bool last);

static bool const_bounds(const lir_stmt *s)
{
	return s->u.loop.lo->op == LIR_CONST && s->u.loop.hi->op == LIR_CONST;
}

/* The range of a loop's trip count (step 1 or more). */
static range trip_range(const emitter *E, const lir_stmt *s)
{
	range d = diff_range(s->u.loop.hi, s->u.loop.lo, E->lets, E->vr);
	int64_t st = s->u.loop.step;

	if (!d.known)
		return unknown;
	d.lo = d.lo < 0 ? 0 : (d.lo + st - 1) / st;
	d.hi = d.hi < 0 ? 0 : (d.hi + st - 1) / st;
	return d;
}

/* The pragmas (or comments) at the top of a loop's body. */
static void loop_pragmas(emitter *E, const lir_stmt *s, int level)
{
	lir_for_kind k = s->u.loop.kind;
	range t;

	if (!E->pragmas)
		return;
	if (k == LIR_PIPELINED && !E->pipe) {
		indent(E, level);
		rt_buf_printf(&E->b, "#pragma HLS PIPELINE II=%" PRId64 "\n", s->u.loop.ii > 0 ? s->u.loop.ii : 1);
	} else if (E->pipe || k == LIR_UNROLLED || k == LIR_VECTORIZED) {
		indent(E, level);
		rt_buf_printf(&E->b, "#pragma HLS UNROLL\n");
	} else if (k != LIR_SERIAL) {
		indent(E, level);
		rt_buf_printf(&E->b, "/* %s in the schedule: an ordinary loop in HLS */\n", lir_for_kind_name(k));
	}
	if (!E->pipe && !const_bounds(s) && (t = trip_range(E, s)).known) {
		indent(E, level);
		rt_buf_printf(&E->b, "#pragma HLS LOOP_TRIPCOUNT min=%" PRId64 " max=%" PRId64 " avg=%" PRId64 "\n",
			  t.lo, t.hi, (t.lo + t.hi) / 2);
	}
}

/* The range of a loop's variable, from its bounds. */
static range loop_var_range(const emitter *E, const lir_stmt *s)
{
	range lo = expr_range(s->u.loop.lo, E->vr), hi = expr_range(s->u.loop.hi, E->vr);

	if (!lo.known || !hi.known || hi.hi <= lo.lo)
		return lo.known && hi.known ? rng(lo.lo, lo.lo) : unknown;
	return rng(lo.lo, hi.hi - 1);
}

/* label: for (int v = lo; v < hi; v++) { pragmas body } */
static void emit_for(emitter *E, const lir_stmt *s, int level)
{
	const char *v = E->N.var[s->u.loop.var];
	const lir_stmt *outer = E->pipe;

	E->vr[s->u.loop.var] = loop_var_range(E, s);
	if (E->pragmas)
		rt_buf_printf(&E->b, "%s_loop: ", v);
	rt_buf_printf(&E->b, "for (%s %s = ", idx_type(E), v);
	emit_expr(E, s->u.loop.lo, 0);
	rt_buf_printf(&E->b, "; %s < ", v);
	emit_expr(E, s->u.loop.hi, 5);
	if (s->u.loop.step == 1)
		rt_buf_printf(&E->b, "; %s++) {\n", v);
	else
		rt_buf_printf(&E->b, "; %s += %" PRId64 ") {\n", v, s->u.loop.step);
	loop_pragmas(E, s, level + 1);
	if (s->u.loop.kind == LIR_PIPELINED && !E->pipe)
		E->pipe = s;
	emit_stmt(E, s->u.loop.body, level + 1, true);
	E->pipe = outer;
	indent(E, level);
	rt_buf_printf(&E->b, "}\n");
}

static void emit_if(emitter *E, const lir_stmt *s, int level)
{
	rt_buf_printf(&E->b, "if (");
	emit_expr(E, s->u.cond.cond, 0);
	rt_buf_printf(&E->b, ") {\n");
	emit_stmt(E, s->u.cond.then_s, level + 1, true);
	indent(E, level);
	if (s->u.cond.else_s) {
		rt_buf_printf(&E->b, "} else {\n");
		emit_stmt(E, s->u.cond.else_s, level + 1, true);
		indent(E, level);
	}
	rt_buf_printf(&E->b, "}\n");
}

/* Does identifier `name` occur in text? */
static bool mentions(const char *text, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = strstr(text, name); p; p = strstr(p + 1, name)) {
		bool before = p > text && (id_char_c(p[-1]));

		if (!before && !id_char_c(p[n]))
			return true;
	}
	return false;
}

/* const T v = e; then the body, braced unless `last` in its block.  The
 * declaration is dropped when the body, its indices simplified, does not
 * mention v. */
static void emit_let(emitter *E, const lir_stmt *s, int level, bool last)
{
	const lir_var *v = lir_func_var(E->f, s->u.let.var);
	size_t start, end;

	if (!last) {
		rt_buf_printf(&E->b, "{\n");
		indent(E, ++level);
	}
	start = E->b.n - (size_t)level;
	E->vr[s->u.let.var] = expr_range(s->u.let.value, E->vr);
	E->lets[s->u.let.var] = s->u.let.value;
	rt_buf_printf(&E->b, "const %s %s = ", c_type(E, v->type), E->N.var[s->u.let.var]);
	emit_expr(E, s->u.let.value, 0);
	rt_buf_printf(&E->b, ";\n");
	end = E->b.n;
	emit_stmt(E, s->u.let.body, level, true);
	if (!E->b.oom && !mentions(E->b.p + end, E->N.var[s->u.let.var])) {
		memmove(E->b.p + start, E->b.p + end, E->b.n - end + 1);
		E->b.n -= end - start;
	}
	if (!last) {
		indent(E, level - 1);
		rt_buf_printf(&E->b, "}\n");
	}
}

static void emit_stmt(emitter *E, const lir_stmt *s, int level, bool last)
{
	if (s && s->kind == LIR_SEQ) {
		for (int i = 0; i < s->u.seq.n; i++)
			emit_stmt(E, s->u.seq.s[i], level, last && i == s->u.seq.n - 1);
		return;
	}
	if (s && s->kind == LIR_ALLOC) { /* declared at the top of the function */
		emit_stmt(E, s->u.alloc.body, level, last);
		return;
	}
	indent(E, level);
	switch (s ? s->kind : LIR_BARRIER) {
	case LIR_FOR:
		emit_for(E, s, level);
		break;
	case LIR_IF:
		emit_if(E, s, level);
		break;
	case LIR_LET:
		emit_let(E, s, level, last);
		break;
	case LIR_STORE:
		rt_buf_printf(&E->b, "%s[", E->N.buf[s->u.store.buf]);
		emit_expr(E, s->u.store.index, 0);
		rt_buf_printf(&E->b, "] = ");
		emit_expr(E, s->u.store.value, 0);
		rt_buf_printf(&E->b, ";\n");
		break;
	default:
		rt_buf_printf(&E->b, "/* barrier: nothing to do in a sequential program */;\n");
	}
}

/* ---- whole functions ---- */

/* Does any buffer size or integer constant of f need 64-bit indices? */
static bool expr_wide(const lir_expr *e)
{
	if (!e)
		return false;
	if (e->op == LIR_CONST && !lir_type_is_float(e->type) && (e->c.i > INT32_MAX || e->c.i < INT32_MIN))
		return true;
	for (int i = 0; i < e->nargs; i++)
		if (expr_wide(e->args[i]))
			return true;
	return false;
}

static bool stmt_wide(const lir_stmt *s)
{
	if (!s)
		return false;
	switch (s->kind) {
	case LIR_FOR:
		return expr_wide(s->u.loop.lo) || expr_wide(s->u.loop.hi) || stmt_wide(s->u.loop.body);
	case LIR_IF:
		return expr_wide(s->u.cond.cond) || stmt_wide(s->u.cond.then_s) || stmt_wide(s->u.cond.else_s);
	case LIR_LET:
		return expr_wide(s->u.let.value) || stmt_wide(s->u.let.body);
	case LIR_ALLOC:
		return stmt_wide(s->u.alloc.body);
	case LIR_STORE:
		return expr_wide(s->u.store.index) || expr_wide(s->u.store.value);
	case LIR_SEQ:
		for (int i = 0; i < s->u.seq.n; i++)
			if (stmt_wide(s->u.seq.s[i]))
				return true;
		return false;
	default:
		return false;
	}
}

static bool func_wide(const lir_func *f)
{
	for (int i = 0; i < lir_func_nbuffers(f); i++)
		if (lir_func_buffer(f, i)->size > INT32_MAX / 2)
			return true;
	return stmt_wide(lir_func_body(f));
}

static int emitter_init(emitter *E, const lir_func *f, const char *fname, bool pragmas)
{
	memset(E, 0, sizeof(*E));
	E->f = f;
	E->pragmas = pragmas;
	E->wide = func_wide(f);
	E->vr = calloc((size_t)lir_func_nvars(f) + 1, sizeof(range));
	E->lets = calloc((size_t)lir_func_nvars(f) + 1, sizeof(*E->lets));
	if (!E->vr || !E->lets || names_make(&E->N, f, fname))
		return -1;
	return 0;
}

static void emitter_release(emitter *E)
{
	names_free(&E->N);
	free(E->vr);
	free(E->lets);
	free(E->b.p);
	memset(E, 0, sizeof(*E));
}

/* The shape of a parameter, "[7][5]", from the te stage of the same name. */
static void shape_of(const te_graph *g, const char *tensor, char *out, size_t n)
{
	const te_stage *s = g ? te_graph_find(g, tensor) : NULL;
	size_t o = 0;

	out[0] = '\0';
	for (int d = 0; s && d < s->rank && o < n; d++)
		o += (size_t)snprintf(out + o, n - o, "[%" PRId64 "]", s->shape[d]);
}

/* Is buffer b of f an input (read-only parameter)?  Parameters are the
 * inputs, then the outputs; f never stores into an input. */
static bool stores_into(const lir_stmt *s, int b)
{
	if (!s)
		return false;
	switch (s->kind) {
	case LIR_FOR:
		return stores_into(s->u.loop.body, b);
	case LIR_IF:
		return stores_into(s->u.cond.then_s, b) || stores_into(s->u.cond.else_s, b);
	case LIR_LET:
		return stores_into(s->u.let.body, b);
	case LIR_ALLOC:
		return stores_into(s->u.alloc.body, b);
	case LIR_STORE:
		return s->u.store.buf == b;
	case LIR_SEQ:
		for (int i = 0; i < s->u.seq.n; i++)
			if (stores_into(s->u.seq.s[i], b))
				return true;
		return false;
	default:
		return false;
	}
}

/* "void NAME(const float A[35], ...)" */
static void emit_signature(emitter *E, const te_graph *g, const char *fname, bool is_static)
{
	int np = lir_func_nparams(E->f);

	rt_buf_printf(&E->b, "%svoid %s(", is_static ? "static " : "", fname);
	for (int i = 0; i < np; i++) {
		int id = lir_func_param(E->f, i);
		const lir_buffer *b = lir_func_buffer(E->f, id);
		char shape[128];

		shape_of(g, b->name, shape, sizeof(shape));
		rt_buf_printf(&E->b, "%s\n\t%s%s %s[%" PRId64 "]%s%s%s", i ? "," : "",
			  stores_into(lir_func_body(E->f), id) ? "" : "const ", c_type(E, b->type), E->N.buf[id],
			  b->size, shape[0] ? " /* " : "", shape, shape[0] ? " */" : "");
	}
	rt_buf_printf(&E->b, "%s)", np ? "" : "void");
}

static void interface_pragmas(emitter *E)
{
	for (int i = 0; i < lir_func_nparams(E->f); i++) {
		int id = lir_func_param(E->f, i);

		rt_buf_printf(&E->b, "#pragma HLS INTERFACE m_axi port=%s offset=slave bundle=gmem%d depth=%" PRId64 "\n",
			  E->N.buf[id], i, lir_func_buffer(E->f, id)->size);
	}
	for (int i = 0; i < lir_func_nparams(E->f); i++)
		rt_buf_printf(&E->b, "#pragma HLS INTERFACE s_axilite port=%s bundle=control\n",
			  E->N.buf[lir_func_param(E->f, i)]);
	rt_buf_printf(&E->b, "#pragma HLS INTERFACE s_axilite port=return bundle=control\n");
}

/* Arrays of this many elements or more are `static` (off the C
 * simulation's stack). */
#define STATIC_ELEMS 16384

/* The declarations of f's local buffers, with their partitioning; how many. */
static int local_buffers(emitter *E)
{
	int n = 0;

	for (int id = 0; id < lir_func_nbuffers(E->f); id++) {
		const lir_buffer *b = lir_func_buffer(E->f, id);

		if (b->scope == LIR_GLOBAL)
			continue;
		n++;
		rt_buf_printf(&E->b, "\t%s%s %s[%" PRId64 "]; /* on chip: %s */\n", b->size >= STATIC_ELEMS ? "static " : "",
			  c_type(E, b->type), E->N.buf[id], b->size,
			  b->scope == LIR_HEAP ? "an intermediate tensor" : "one tile at a time");
		if (!E->pragmas || b->part == LIR_PART_NONE)
			continue;
		if (b->part == LIR_PART_COMPLETE)
			rt_buf_printf(&E->b, "#pragma HLS ARRAY_PARTITION variable=%s complete dim=1\n", E->N.buf[id]);
		else
			rt_buf_printf(&E->b, "#pragma HLS ARRAY_PARTITION variable=%s %s factor=%" PRId64 " dim=1\n",
				  E->N.buf[id], lir_partition_name(b->part), b->part_factor);
	}
	return n;
}

/* The helper functions the code calls, as `static inline` definitions. */
static void helpers(rt_buf *b, unsigned h, bool wide)
{
	const char *it = wide ? "long long" : "int";

	if (h & HELP_FDIV)
		rt_buf_printf(b, "/* Floor division (by 0: 0; by -1: -a wrapping), as ftc's loop IR defines it. */\n"
			     "static inline %s ftc_fdiv(%s a, %s b)\n{\n"
			     "\treturn b == 0 ? 0 : b == -1 ? (%s)(0u - (unsigned %s)a)\n"
			     "\t\t: a / b - (a %% b != 0 && (a < 0) != (b < 0));\n}\n\n",
			  it, it, it, it, it);
	if (h & HELP_FMOD)
		rt_buf_printf(b, "/* Floor modulo, the sign of the divisor (by 0 or -1: 0). */\n"
			     "static inline %s ftc_fmod(%s a, %s b)\n{\n"
			     "\treturn b == 0 || b == -1 ? 0 : a %% b + (a %% b != 0 && (a %% b < 0) != (b < 0) ? b : 0);\n}\n\n",
			  it, it, it);
	if (h & HELP_MIN)
		rt_buf_printf(b, "static inline %s ftc_min(%s a, %s b)\n{\n\treturn a < b ? a : b;\n}\n\n", it, it, it);
	if (h & HELP_MAX)
		rt_buf_printf(b, "static inline %s ftc_max(%s a, %s b)\n{\n\treturn a > b ? a : b;\n}\n\n", it, it, it);
	if (h & HELP_ABS)
		rt_buf_printf(b, "static inline %s ftc_abs(%s a)\n{\n\treturn a < 0 ? -a : a;\n}\n\n", it, it);
	if (h & HELP_F2I)
		rt_buf_printf(b, "/* float -> integer: truncated, clamped, NaN -> 0. */\n"
			     "static inline long long ftc_f2i(float x)\n{\n"
			     "\treturn x != x ? 0 : x >= 2147483647.0f ? 2147483647 : x <= -2147483648.0f ? -2147483647 - 1 : (long long)x;\n}\n\n");
	if (h & HELP_D2I)
		rt_buf_printf(b, "/* double -> integer: truncated, clamped, NaN -> 0. */\n"
			     "static inline long long ftc_d2i(double x)\n{\n"
			     "\treturn x != x ? 0 : x >= 2147483647.0 ? 2147483647 : x <= -2147483648.0 ? -2147483647 - 1 : (long long)x;\n}\n\n");
	if (h & HELP_FMODF)
		rt_buf_printf(b, "static inline float ftc_fmodf(float a, float b)\n{\n"
			     "\treturn b == 0 ? 0.0f : a - floorf(a / b) * b;\n}\n\n");
	if (h & HELP_DMOD)
		rt_buf_printf(b, "static inline double ftc_dmod(double a, double b)\n{\n"
			     "\treturn b == 0 ? 0.0 : a - floor(a / b) * b;\n}\n\n");
}

/*
 * The definition of f as a C function named fname into *out (appended):
 * the signature, the interface pragmas (kernel), the local buffers, the
 * body.  `h` accumulates the helpers it calls.  0, or -1 when out of memory.
 */
static int emit_function(rt_buf *out, const lir_func *f, const te_graph *g, const char *fname, bool kernel,
			 unsigned *h, bool *wide)
{
	emitter E;
	int rc = -1;

	if (emitter_init(&E, f, fname, kernel))
		goto out;
	emit_signature(&E, g, fname, !kernel);
	rt_buf_printf(&E.b, "\n{\n");
	if (kernel)
		interface_pragmas(&E);
	if (local_buffers(&E) || kernel)
		rt_buf_printf(&E.b, "\n");
	if (lir_func_body(f))
		emit_stmt(&E, lir_func_body(f), 1, true);
	rt_buf_printf(&E.b, "}\n");
	if (!E.b.oom) {
		rt_buf_printf(out, "%s", E.b.p);
		*h |= E.helpers;
		*wide = *wide || E.wide;
		rc = 0;
	}
out:
	emitter_release(&E);
	return rc;
}

static void file_comment(rt_buf *b, const char *file, const char *what, const te_graph *g, const cg_hls_info *info)
{
	char *te = g ? te_graph_print(g, false) : NULL;

	rt_buf_printf(b, "/*\n * %s: %s, generated by ftc; do not edit.\n *\n", file, what);
	if (te) {
		rt_buf_printf(b, " * %s computes, in ftc's tensor-expression language:\n *\n", info->name);
		sb_lines(b, " *   ", te);
		rt_buf_printf(b, " *\n");
	}
	rt_buf_printf(b, " * target:   %s\n", info->target ? info->target : "hls");
	if (info->schedule && info->schedule[0]) {
		rt_buf_printf(b, " * schedule:\n");
		sb_lines(b, " *   ", info->schedule);
	} else {
		rt_buf_printf(b, " * schedule: naive (every stage's loops in axis order)\n");
	}
	if (info->estimate && info->estimate[0]) {
		rt_buf_printf(b, " * model (ftc's analytic estimate, not a synthesis report):\n");
		sb_lines(b, " *   ", info->estimate);
	}
	rt_buf_printf(b, " */\n");
	free(te);
}

char *cg_hls_kernel(const lir_func *f, const te_graph *g, const cg_hls_info *info, rt_error *err)
{
	rt_buf body = {0}, b = {0};
	unsigned h = 0;
	bool wide = false;
	char file[TE_MAX_NAME + 8];

	if (emit_function(&body, f, g, info->name, true, &h, &wide)) {
		free(body.p);
		rt_error_set(err, 0, 0, "out of memory writing HLS C");
		return NULL;
	}
	snprintf(file, sizeof(file), "%s.c", info->name);
	file_comment(&b, file, "the HLS C kernel (Vitis HLS)", g, info);
	rt_buf_printf(&b, "#include <math.h>\n\n#include \"%s.h\"\n\n", info->name);
	helpers(&b, h, wide);
	rt_buf_printf(&b, "%s", body.p ? body.p : "");
	free(body.p);
	return sb_take(&b, err);
}

char *cg_hls_header(const lir_func *f, const te_graph *g, const cg_hls_info *info, rt_error *err)
{
	rt_buf b = {0};
	emitter E;
	char file[TE_MAX_NAME + 8];

	snprintf(file, sizeof(file), "%s.h", info->name);
	file_comment(&b, file, "the HLS kernel's prototype", g, info);
	rt_buf_printf(&b,
		  "/*\n * The arrays are the inputs, then the outputs, row-major and flat (the\n"
		  " * shape in the comment); each is an AXI master port of its own, the\n"
		  " * control an AXI-lite slave.  C simulation: cc -std=c11 %s.c %s_tb.c -lm\n */\n",
		  info->name, info->name);
	rt_buf_printf(&b, "#ifndef FTC_HLS_%s_H\n#define FTC_HLS_%s_H\n\n", info->name, info->name);
	if (emitter_init(&E, f, info->name, true)) {
		emitter_release(&E);
		free(b.p);
		rt_error_set(err, 0, 0, "out of memory writing HLS C");
		return NULL;
	}
	emit_signature(&E, g, info->name, false);
	rt_buf_printf(&b, "%s;\n\n#endif\n", E.b.oom ? "" : E.b.p);
	b.oom |= E.b.oom;
	emitter_release(&E);
	return sb_take(&b, err);
}

/* ---- the testbench ---- */

static const char *te_c_type(te_dtype t)
{
	return t == TE_F64 ? "double" : t == TE_I32 ? "int" : "float";
}

/* Static arrays of every parameter (tb_X) and a reference copy of each
 * output (tb_X_ref). */
static void tb_arrays(rt_buf *b, const te_graph *g)
{
	for (int i = 0; i < te_graph_nstages(g); i++) {
		const te_stage *s = te_graph_stage(g, i);

		if (s->kind == TE_STAGE_COMPUTE && !s->is_output)
			continue;
		rt_buf_printf(b, "static %s tb_%s[%" PRId64 "];\n", te_c_type(s->type), s->name, te_stage_numel(s));
		if (s->kind == TE_STAGE_COMPUTE)
			rt_buf_printf(b, "static %s tb_%s_ref[%" PRId64 "];\n", te_c_type(s->type), s->name,
				  te_stage_numel(s));
	}
}

static const char tb_support[] =
	"/* The values ftc's te_random_fill gives stage `id` for `seed`. */\n"
	"static uint64_t tb_splitmix64(uint64_t *s)\n{\n"
	"\tuint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));\n\n"
	"\tz = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);\n"
	"\tz = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);\n"
	"\treturn z ^ (z >> 31);\n}\n\n"
	"static void tb_fill(void *buf, int type, long n, uint64_t seed, int id)\n{\n"
	"\tuint64_t state = seed ^ (uint64_t)id * UINT64_C(0xd1b54a32d192ed03);\n\n"
	"\tfor (long i = 0; i < n; i++) {\n"
	"\t\tuint64_t x = tb_splitmix64(&state);\n\n"
	"\t\tif (type == 0)\n\t\t\t((float *)buf)[i] = (float)((double)(x >> 40) * 0x1p-23 - 1.0);\n"
	"\t\telse if (type == 1)\n\t\t\t((double *)buf)[i] = (double)(x >> 11) * 0x1p-52 - 1.0;\n"
	"\t\telse\n\t\t\t((int *)buf)[i] = (int)(((x >> 32) * 17) >> 32) - 8;\n\t}\n}\n\n"
	"/* The tolerance of te_compare: |got - want| <= rtol |want| + rtol max(1, max |want|),\n"
	" * rtol as te_compare_rtol gives it for the output (exact for int).  The number\n"
	" * of elements outside it; the first few are printed. */\n"
	"static long tb_compare(const char *name, const void *got, const void *want, int type, long n, double rtol)\n{\n"
	"\tdouble scale = 1, atol;\n"
	"\tlong bad = 0;\n\n"
	"\tfor (long i = 0; i < n; i++) {\n"
	"\t\tdouble w = type == 0 ? ((const float *)want)[i] : type == 1 ? ((const double *)want)[i] : ((const int *)want)[i];\n\n"
	"\t\tscale = fabs(w) > scale ? fabs(w) : scale;\n\t}\n"
	"\tatol = rtol * scale;\n"
	"\tfor (long i = 0; i < n; i++) {\n"
	"\t\tdouble g = type == 0 ? ((const float *)got)[i] : type == 1 ? ((const double *)got)[i] : ((const int *)got)[i];\n"
	"\t\tdouble w = type == 0 ? ((const float *)want)[i] : type == 1 ? ((const double *)want)[i] : ((const int *)want)[i];\n\n"
	"\t\tif (!(fabs(g - w) <= rtol * fabs(w) + atol) && bad++ < 5)\n"
	"\t\t\tprintf(\"%s[%ld] = %.9g, expected %.9g\\n\", name, i, g, w);\n\t}\n"
	"\treturn bad;\n}\n\n";

static int te_type_code(te_dtype t)
{
	return t == TE_F64 ? 1 : t == TE_I32 ? 2 : 0;
}

/* main: fill, run both, compare, maybe write the outputs. */
static void tb_main(rt_buf *b, const te_graph *g, const char *name, const char *ref)
{
	int n = te_graph_nstages(g), k = 0;

	rt_buf_printf(b, "int main(int argc, char **argv)\n{\n"
		     "\tuint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 10) : 1;\n"
		     "\tFILE *out = NULL;\n\tlong bad = 0;\n\n");
	for (int i = 0; i < n; i++) {
		const te_stage *s = te_graph_stage(g, i);

		if (s->kind == TE_STAGE_INPUT)
			rt_buf_printf(b, "\ttb_fill(tb_%s, %d, %" PRId64 ", seed, %d);\n", s->name, te_type_code(s->type),
				  te_stage_numel(s), s->id);
	}
	for (int pass = 0; pass < 2; pass++) {
		rt_buf_printf(b, "\t%s(", pass ? ref : name);
		k = 0;
		for (int i = 0; i < n; i++) {
			const te_stage *s = te_graph_stage(g, i);

			if (s->kind == TE_STAGE_INPUT)
				rt_buf_printf(b, "%stb_%s", k++ ? ", " : "", s->name);
		}
		for (int i = 0; i < n; i++) {
			const te_stage *s = te_graph_stage(g, i);

			if (s->kind == TE_STAGE_COMPUTE && s->is_output)
				rt_buf_printf(b, "%stb_%s%s", k++ ? ", " : "", s->name, pass ? "_ref" : "");
		}
		rt_buf_printf(b, ");\n");
	}
	for (int i = 0; i < n; i++) {
		const te_stage *s = te_graph_stage(g, i);

		if (s->kind == TE_STAGE_COMPUTE && s->is_output)
			rt_buf_printf(b, "\tbad += tb_compare(\"%s\", tb_%s, tb_%s_ref, %d, %" PRId64 ", %.17g);\n", s->name,
				      s->name, s->name, te_type_code(s->type), te_stage_numel(s), te_compare_rtol(s));
	}
	rt_buf_printf(b, "\tif (argc > 2 && !(out = fopen(argv[2], \"wb\"))) {\n"
		     "\t\tprintf(\"cannot write %%s\\n\", argv[2]);\n\t\treturn 2;\n\t}\n");
	for (int i = 0; i < n; i++) {
		const te_stage *s = te_graph_stage(g, i);

		if (s->kind == TE_STAGE_COMPUTE && s->is_output)
			rt_buf_printf(b, "\tif (out && fwrite(tb_%s, sizeof(tb_%s[0]), %" PRId64 ", out) != %" PRId64 ")\n"
				     "\t\tbad++;\n",
				  s->name, s->name, te_stage_numel(s), te_stage_numel(s));
	}
	rt_buf_printf(b, "\tif (out && fclose(out))\n\t\tbad++;\n"
		     "\tprintf(\"%%s: %s %%s the reference (seed %%llu)\\n\", bad ? \"FAIL\" : \"PASS\",\n"
		     "\t       bad ? \"differs from\" : \"matches\", (unsigned long long)seed);\n"
		     "\treturn bad ? 1 : 0;\n}\n",
		  name);
}

/* Every parameter's tensor name must be what the testbench calls it. */
static int tb_names_ok(const te_graph *g, rt_error *err)
{
	for (int i = 0; i < te_graph_nstages(g); i++) {
		const te_stage *s = te_graph_stage(g, i);

		if ((s->kind == TE_STAGE_INPUT || s->is_output) && s->type == TE_BOOL)
			return rt_error_set(err, 0, 0, "tensor '%s' of type bool cannot be an HLS port", s->name);
	}
	return 0;
}

char *cg_hls_testbench(const lir_func *f, const lir_func *ref, const te_graph *g, const cg_hls_info *info,
		       rt_error *err)
{
	rt_buf body = {0}, b = {0};
	unsigned h = 0;
	bool wide = false;
	char file[TE_MAX_NAME + 8], rname[TE_MAX_NAME + 8];

	if (tb_names_ok(g, err))
		return NULL;
	if (lir_func_nparams(f) != lir_func_nparams(ref)) {
		rt_error_set(err, 0, 0, "the kernel has %d parameters, its reference %d", lir_func_nparams(f),
			     lir_func_nparams(ref));
		return NULL;
	}
	snprintf(rname, sizeof(rname), "%s_ref", info->name);
	if (emit_function(&body, ref, g, rname, false, &h, &wide)) {
		free(body.p);
		rt_error_set(err, 0, 0, "out of memory writing the testbench");
		return NULL;
	}
	snprintf(file, sizeof(file), "%s_tb.c", info->name);
	file_comment(&b, file, "the C-simulation testbench", g, info);
	rt_buf_printf(&b,
		  "/*\n * Fills the inputs with the values ftc's te_random_fill gives (seed 1 or\n"
		  " * argv[1]), runs %s and %s (ftc's naive loop nest of the same\n"
		  " * computation), compares the outputs, prints PASS or FAIL and returns 0\n"
		  " * or 1; with argv[2], writes the outputs there (raw, in order).\n */\n",
		  info->name, rname);
	rt_buf_printf(&b, "#include <math.h>\n#include <stdint.h>\n#include <stdio.h>\n#include <stdlib.h>\n\n"
		      "#include \"%s.h\"\n\n",
		  info->name);
	helpers(&b, h, wide);
	rt_buf_printf(&b, "%s", tb_support);
	rt_buf_printf(&b, "/* The reference: the same computation, naive loop nest, no pragmas. */\n%s\n",
		  body.p ? body.p : "");
	free(body.p);
	tb_arrays(&b, g);
	rt_buf_printf(&b, "\n");
	tb_main(&b, g, info->name, rname);
	return sb_take(&b, err);
}

/* ---- the Tcl script ---- */

static const struct {
	const char *part, *full;
} parts[] = {
	{"xcvu9p", "xcvu9p-flga2104-2-i"},   {"xcu250", "xcu250-figd2104-2L-e"},
	{"xcu280", "xcu280-fsvh2892-2L-e"},  {"xczu9eg", "xczu9eg-ffvb1156-2-e"},
	{"xc7z020", "xc7z020clg400-1"},
};

const char *cg_hls_part_name(const char *part)
{
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		if (strcmp(part, parts[i].part) == 0)
			return parts[i].full;
	return part;
}

char *cg_hls_tcl(const cg_target *t, const cg_hls_info *info, rt_error *err)
{
	rt_buf b = {0};
	double mhz = t->clock_mhz > 0 ? t->clock_mhz : 300;

	rt_buf_printf(&b,
		  "# %s.tcl: a Vitis HLS script generated by ftc: C simulation, synthesis\n"
		  "# and C/RTL co-simulation of %s for %s.\n"
		  "#   cd THIS_DIRECTORY && vitis_hls -f %s.tcl\n"
		  "open_project -reset %s_prj\n"
		  "set_top %s\n"
		  "add_files %s.c\n"
		  "add_files -tb %s_tb.c\n"
		  "open_solution -reset solution1 -flow_target vivado\n"
		  "set_part {%s}\n"
		  "create_clock -period %.3f -name default\n"
		  "csim_design\n"
		  "csynth_design\n"
		  "cosim_design\n"
		  "exit\n",
		  info->name, info->name, info->target ? info->target : "hls", info->name, info->name, info->name,
		  info->name, info->name, cg_hls_part_name(t->part[0] ? t->part : "xcvu9p"), 1000.0 / mhz);
	return sb_take(&b, err);
}

/* ---- the lint of the loop IR ---- */

typedef struct linter {
	const lir_func *f;
	rt_error *err;
	const lir_stmt *pipe; /* the enclosing pipelined loop */
	int64_t copies;       /* unrolled copies so far inside it */
} linter;

static const char *vname(const linter *L, int v)
{
	const lir_var *x = lir_func_var(L->f, v);

	return x ? x->name : "?";
}

static int lint_stmt(linter *L, const lir_stmt *s);

static int lint_for(linter *L, const lir_stmt *s)
{
	const lir_stmt *outer = L->pipe;
	int64_t copies = L->copies, n;
	int rc;

	if (L->pipe && s->u.loop.kind == LIR_PIPELINED)
		return rt_error_set(L->err, 0, 0,
				    "HLS: loop '%s' is pipelined inside the pipelined loop '%s', which unrolls it; "
				    "pipeline only one of them",
				    vname(L, s->u.loop.var), vname(L, L->pipe->u.loop.var));
	if (L->pipe && !const_bounds(s))
		return rt_error_set(L->err, 0, 0,
				    "HLS: loop '%s' inside the pipelined loop '%s' has bounds that vary, so the "
				    "pipeline cannot unroll it (split by a factor that divides the extent)",
				    vname(L, s->u.loop.var), vname(L, L->pipe->u.loop.var));
	if (L->pipe) {
		n = s->u.loop.hi->c.i - s->u.loop.lo->c.i;
		n = n <= 0 ? 0 : (n + s->u.loop.step - 1) / s->u.loop.step;
		if (n > 0 && L->copies > CG_HLS_MAX_COPIES / n)
			return rt_error_set(L->err, 0, 0,
					    "HLS: the pipelined loop '%s' unrolls into more than %d copies of its body "
					    "(at loop '%s')",
					    vname(L, L->pipe->u.loop.var), CG_HLS_MAX_COPIES, vname(L, s->u.loop.var));
		L->copies *= n > 0 ? n : 1;
	}
	if (!L->pipe && s->u.loop.kind == LIR_PIPELINED) {
		L->pipe = s;
		L->copies = 1;
	}
	rc = lint_stmt(L, s->u.loop.body);
	L->pipe = outer;
	L->copies = copies;
	return rc;
}

static int lint_stmt(linter *L, const lir_stmt *s)
{
	if (!s)
		return 0;
	switch (s->kind) {
	case LIR_FOR:
		return lint_for(L, s);
	case LIR_IF:
		return lint_stmt(L, s->u.cond.then_s) || lint_stmt(L, s->u.cond.else_s) ? -1 : 0;
	case LIR_LET:
		return lint_stmt(L, s->u.let.body);
	case LIR_ALLOC:
		return lint_stmt(L, s->u.alloc.body);
	case LIR_SEQ:
		for (int i = 0; i < s->u.seq.n; i++)
			if (lint_stmt(L, s->u.seq.s[i]))
				return -1;
		return 0;
	case LIR_BARRIER:
		return rt_error_set(L->err, 0, 0, "HLS: a GPU barrier has no meaning on an FPGA (the schedule binds GPU threads)");
	default:
		return 0;
	}
}

int cg_hls_lint(const lir_func *f, rt_error *err)
{
	linter L = {f, err, NULL, 1};

	for (int i = 0; i < lir_func_nbuffers(f); i++) {
		const lir_buffer *b = lir_func_buffer(f, i);

		if (b->size > INT32_MAX)
			return rt_error_set(err, 0, 0, "HLS: buffer '%s' has %" PRId64 " elements (at most 2^31 - 1)",
					    b->name, b->size);
		if (b->type == LIR_BOOL)
			return rt_error_set(err, 0, 0, "HLS: buffer '%s' holds bool", b->name);
	}
	return lint_stmt(&L, lir_func_body(f));
}

/* ---- the lint of HLS C text ---- */

typedef struct lexer {
	const char *p, *bol;
	int line;
	rt_error *err;
} lexer;

static bool id_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool id_char(char c)
{
	return id_start(c) || (c >= '0' && c <= '9');
}

/* Skip blanks, comments, string literals and preprocessor lines. */
static void skip(lexer *x)
{
	for (;;) {
		if (*x->p == '\n') {
			x->bol = ++x->p;
			x->line++;
		} else if (*x->p == ' ' || *x->p == '\t' || *x->p == '\r') {
			x->p++;
		} else if (x->p[0] == '/' && x->p[1] == '*') {
			for (x->p += 2; *x->p && !(x->p[0] == '*' && x->p[1] == '/'); x->p++)
				if (*x->p == '\n') {
					x->line++;
					x->bol = x->p + 1;
				}
			x->p += *x->p ? 2 : 0;
		} else if (x->p[0] == '/' && x->p[1] == '/') {
			while (*x->p && *x->p != '\n')
				x->p++;
		} else if (*x->p == '#' && x->p == x->bol + strspn(x->bol, " \t")) {
			while (*x->p && *x->p != '\n')
				x->p++;
		} else if (*x->p == '"' || *x->p == '\'') {
			char q = *x->p++;

			while (*x->p && *x->p != q && *x->p != '\n')
				x->p += x->p[0] == '\\' && x->p[1] ? 2 : 1;
			x->p += *x->p == q;
		} else {
			return;
		}
	}
}

static int at(lexer *x, const char *p, const char *fmt, const char *word)
{
	return rt_error_set(x->err, x->line, (int)(p - x->bol) + 1, fmt, word);
}

static const char *const banned[] = {"malloc", "calloc", "realloc", "free", "alloca", "goto"};
static const char *const callable[] = {
	"for", "if", "while", "switch", "return", "sizeof", "expf", "exp", "logf", "log", "sqrtf", "sqrt",
	"tanhf", "tanh", "fabsf", "fabs", "fminf", "fmin", "fmaxf", "fmax", "floorf", "floor",
};
static const char *const types[] = {"float", "double", "int", "long", "char", "short", "unsigned", "void"};

static bool in(const char *w, size_t n, const char *const *list, size_t count)
{
	for (size_t i = 0; i < count; i++)
		if (strlen(list[i]) == n && strncmp(w, list[i], n) == 0)
			return true;
	return false;
}

#define IN(w, n, list) in(w, n, list, sizeof(list) / sizeof(list[0]))

/* The names of the `static` functions the text defines (helpers). */
static int helper_names(const char *text, char (*out)[64], int max)
{
	int n = 0;

	for (const char *p = strstr(text, "static inline "); p && n < max; p = strstr(p + 1, "static inline ")) {
		const char *q = p + strlen("static inline ");
		const char *paren = strchr(q, '(');
		const char *s = paren;

		if (!paren)
			break;
		while (s > q && id_char(s[-1]))
			s--;
		snprintf(out[n++], 64, "%.*s", (int)(paren - s < 63 ? paren - s : 63), s);
	}
	return n;
}

static bool is_helper(const char *w, size_t n, char (*h)[64], int nh)
{
	for (int i = 0; i < nh; i++)
		if (strlen(h[i]) == n && strncmp(w, h[i], n) == 0)
			return true;
	return false;
}

/* After a type word: a pointer declarator, or an array whose size is not
 * an integer constant. */
static int check_declarator(lexer *x)
{
	const char *p = x->p;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '*')
		return at(x, p, "HLS: '%s' declares a pointer; use arrays of constant size", "*");
	if (!id_start(*p))
		return 0;
	while (id_char(*p))
		p++;
	while (*p == ' ')
		p++;
	if (*p != '[')
		return 0;
	for (p++; *p == ' '; p++)
		;
	if (*p < '0' || *p > '9')
		return at(x, p, "HLS: array of non-constant size ('%.20s')", p);
	return 0;
}

/* w[0..n) followed by '(' is a call (not a definition: no type word before
 * it).  0 when allowed: <math.h>, a keyword, a helper of the file. */
static int check_call(lexer *x, const char *w, size_t n, bool after_type, char (*h)[64], int nh)
{
	char word[64];

	if (after_type || IN(w, n, callable) || is_helper(w, n, h, nh))
		return 0;
	snprintf(word, sizeof(word), "%.*s", (int)(n < 60 ? n : 60), w);
	return at(x, w, "HLS: call of '%s', which is neither a helper of this file nor <math.h> (so no recursion)",
		  word);
}

int cg_hls_lint_c(const char *text, rt_error *err)
{
	lexer x = {text, text, 1, err};
	char h[64][64], word[64];
	int nh = helper_names(text, h, 64);
	bool after_type = false;

	for (;;) {
		const char *w, *p;
		size_t n;

		skip(&x);
		if (!*x.p)
			return 0;
		if (x.p[0] == '-' && x.p[1] == '>')
			return at(&x, x.p, "HLS: '%s': no pointers here, only indexed arrays", "->");
		if (!id_start(*x.p)) {
			after_type = after_type && *x.p == '*'; /* "float *p" is caught below */
			x.p++;
			continue;
		}
		w = x.p;
		while (id_char(*x.p))
			x.p++;
		n = (size_t)(x.p - w);
		snprintf(word, sizeof(word), "%.*s", (int)(n < 60 ? n : 60), w);
		if (IN(w, n, banned))
			return at(&x, w, "HLS: '%s' cannot be synthesized (no dynamic allocation, no goto)", word);
		if (IN(w, n, types) && check_declarator(&x))
			return -1;
		for (p = x.p; *p == ' ' || *p == '\t'; p++)
			;
		if (*p == '(' && check_call(&x, w, n, after_type, h, nh))
			return -1;
		after_type = IN(w, n, types);
	}
}
