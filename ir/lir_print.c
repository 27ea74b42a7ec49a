/*
 * lir_print: a lir function as readable pseudo-C, e.g.
 *
 *   func gemm(f32 *A /+ 64 +/, f32 *B /+ 64 +/, f32 *C /+ 64 +/) {
 *     parallel for (i_o = 0; i_o < 2; i_o++) {
 *       for (i_i = 0; i_i < min(4, 7 - 4 * i_o); i_i++) {
 *         let i = 4 * i_o + i_i;
 *         C[7 * i] = 0.0f;
 *       }
 *     }
 *   }
 *
 * (with real comment delimiters).  Sequences are flattened into the
 * enclosing block; a let's body follows it at the same level, inside
 * `{ }` when more statements follow the let in its block.  Variables and
 * buffers print by name; a name that an earlier variable (buffer) already
 * uses gets a `_N` suffix, the smallest N that no other one uses.  The text
 * depends only on the function, so it can be compared with golden strings.
 */
#include "lir.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "rt_buf.h"
typedef enum form { FORM_LEAF, FORM_INFIX, FORM_PREFIX, FORM_CALL } form;

static const struct {
	form form;
	int prec;
} op_info[LIR_OP_COUNT] = {
#define LIR_OP(name, spelling, arity, form, prec) [LIR_##name] = {FORM_##form, prec},
#include "lir_ops.def"
#undef LIR_OP
};

typedef struct printer {
	rt_buf b;
	const lir_func *f;
	char **var;  /* display name per variable id */
	char **buf;  /* display name per buffer id */
} printer;

/* ---- names ---- */

static bool name_taken(char *const *shown, int n, const char *s)
{
	for (int j = 0; j < n; j++)
		if (strcmp(shown[j], s) == 0)
			return true;
	return false;
}

/* Whether some entry other than i is originally named s. */
static bool raw_name_of_other(const char *const *raw, int n, int i, const char *s)
{
	for (int j = 0; j < n; j++)
		if (j != i && strcmp(raw[j], s) == 0)
			return true;
	return false;
}

/*
 * Display names for `n` entries with original names raw[] (already
 * defaulted): raw[i] unless an earlier entry shows that name, else the
 * first raw[i]_N that no earlier entry shows and no other entry is named.
 * Gives a malloc'd array of malloc'd strings, or NULL when out of memory.
 */
static char **unique_names(const char *const *raw, int n)
{
	char **shown = calloc(n ? n : 1, sizeof(*shown));

	for (int i = 0; shown && i < n; i++) {
		size_t len = strlen(raw[i]) + 24;

		if (!(shown[i] = malloc(len))) {
			for (int j = 0; j < i; j++)
				free(shown[j]);
			free(shown);
			return NULL;
		}
		strcpy(shown[i], raw[i]);
		/* k - 1 is the suffix in shown[i]: try raw, raw_1, raw_2, ... */
		for (long k = 1; name_taken(shown, i, shown[i]) ||
				 (k > 1 && raw_name_of_other(raw, n, i, shown[i]));
		     k++)
			snprintf(shown[i], len, "%s_%ld", raw[i], k);
	}
	return shown;
}

static void free_names(char **shown, int n)
{
	for (int i = 0; shown && i < n; i++)
		free(shown[i]);
	free(shown);
}

/* Fill p->var and p->buf; 0, or -1 when out of memory. */
static int make_names(printer *p)
{
	int nv = lir_func_nvars(p->f), nb = lir_func_nbuffers(p->f);
	const char **raw = calloc((nv > nb ? nv : nb) + 1, sizeof(*raw));

	if (!raw)
		return -1;
	for (int i = 0; i < nv; i++) {
		const char *s = lir_func_var(p->f, i)->name;

		raw[i] = s && *s ? s : "v";
	}
	p->var = unique_names(raw, nv);
	for (int i = 0; i < nb; i++) {
		const char *s = lir_func_buffer(p->f, i)->name;

		raw[i] = s && *s ? s : "buf";
	}
	p->buf = unique_names(raw, nb);
	free(raw);
	return p->var && p->buf ? 0 : -1;
}

static const char *var_name(const printer *p, int id)
{
	return id >= 0 && id < lir_func_nvars(p->f) ? p->var[id] : "?";
}

static const char *buf_name(const printer *p, int id)
{
	return id >= 0 && id < lir_func_nbuffers(p->f) ? p->buf[id] : "?";
}

/* ---- expressions ---- */

/*
 * The shortest %g text of `v` that reads back to the same value of type t,
 * always with a '.', and an `f` suffix for f32; negative values in
 * parentheses.
 */
static void print_float(rt_buf *b, double v, lir_type t)
{
	char buf[48], *e;
	int lo = t == LIR_F32 ? 6 : 15, hi = t == LIR_F32 ? 9 : 17;

	for (int prec = lo; prec <= hi; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, v);
		if (t == LIR_F32 ? (float)strtod(buf, NULL) == (float)v : strtod(buf, NULL) == v)
			break;
	}
	if (isfinite(v) && !strchr(buf, '.')) {
		char exp[16] = "";

		if ((e = strchr(buf, 'e'))) {
			snprintf(exp, sizeof(exp), "%s", e);
			*e = '\0';
		}
		strcat(buf, ".0");
		strcat(buf, exp);
	}
	if (isfinite(v) && t == LIR_F32)
		strcat(buf, "f");
	rt_buf_printf(b, v < 0 || (v == 0 && signbit(v)) ? "(%s)" : "%s", buf);
}

static void print_const(rt_buf *b, const lir_expr *e)
{
	if (e->type == LIR_BOOL)
		rt_buf_printf(b, "%s", e->c.i ? "true" : "false");
	else if (lir_type_is_float(e->type))
		print_float(b, e->c.f, e->type);
	else
		rt_buf_printf(b, e->c.i < 0 ? "(%" PRId64 ")" : "%" PRId64, e->c.i);
}

static void print_expr(printer *p, const lir_expr *e, int prec, bool right);

static void print_args(printer *p, const lir_expr *e, const char *open, const char *close)
{
	rt_buf_printf(&p->b, "%s", open);
	for (int i = 0; i < e->nargs; i++) {
		if (i)
			rt_buf_printf(&p->b, ", ");
		print_expr(p, e->args[i], 0, false);
	}
	rt_buf_printf(&p->b, "%s", close);
}

/*
 * Print e where its parent binds with strength `prec`; `right` says e is the
 * right operand of a left-associative infix parent (so equal strength needs
 * parentheses).  Malformed nodes print as `?`.
 */
static void print_expr(printer *p, const lir_expr *e, int prec, bool right)
{
	int my;
	bool paren;

	if (!e || (unsigned)e->op >= LIR_OP_COUNT || e->nargs != lir_op_arity(e->op)) {
		rt_buf_printf(&p->b, "?");
		return;
	}
	my = op_info[e->op].prec;
	paren = my < prec || (my == prec && right);
	if (paren)
		rt_buf_printf(&p->b, "(");
	switch (e->op) {
	case LIR_CONST:
		print_const(&p->b, e);
		break;
	case LIR_VAR:
		rt_buf_printf(&p->b, "%s", var_name(p, e->id));
		break;
	case LIR_LOAD:
		rt_buf_printf(&p->b, "%s", buf_name(p, e->id));
		print_args(p, e, "[", "]");
		break;
	case LIR_CAST:
		rt_buf_printf(&p->b, "%s", lir_type_name(e->type));
		print_args(p, e, "(", ")");
		break;
	default:
		if (op_info[e->op].form == FORM_CALL) {
			rt_buf_printf(&p->b, "%s", lir_op_spelling(e->op));
			print_args(p, e, "(", ")");
		} else if (op_info[e->op].form == FORM_PREFIX) {
			rt_buf_printf(&p->b, "%s", lir_op_spelling(e->op));
			print_expr(p, e->args[0], my + 1, false);
		} else {
			print_expr(p, e->args[0], my, false);
			rt_buf_printf(&p->b, " %s ", lir_op_spelling(e->op));
			print_expr(p, e->args[1], my, true);
		}
	}
	if (paren)
		rt_buf_printf(&p->b, ")");
}

/* ---- statements ---- */

static void indent(printer *p, int level)
{
	rt_buf_printf(&p->b, "%*s", 2 * level, "");
}

static void print_stmt(printer *p, const lir_stmt *s, int level, bool last);

/* `for (v = lo; v < hi; v += step) {` body `}` */
static void print_for(printer *p, const lir_stmt *s, int level)
{
	const char *v = var_name(p, s->u.loop.var);

	if (s->u.loop.kind != LIR_SERIAL)
		rt_buf_printf(&p->b, "%s ", lir_for_kind_name(s->u.loop.kind));
	else if (s->u.loop.tail != LIR_SERIAL)
		rt_buf_printf(&p->b, "%s? ", lir_for_kind_name(s->u.loop.tail));
	if (s->u.loop.kind == LIR_PIPELINED && s->u.loop.ii > 1)
		rt_buf_printf(&p->b, "II=%" PRId64 " ", s->u.loop.ii);
	rt_buf_printf(&p->b, "for (%s = ", v);
	print_expr(p, s->u.loop.lo, 0, false);
	rt_buf_printf(&p->b, "; %s < ", v);
	print_expr(p, s->u.loop.hi, op_info[LIR_LT].prec, true);
	if (s->u.loop.step == 1)
		rt_buf_printf(&p->b, "; %s++) {\n", v);
	else
		rt_buf_printf(&p->b, "; %s += %" PRId64 ") {\n", v, s->u.loop.step);
	print_stmt(p, s->u.loop.body, level + 1, true);
	indent(p, level);
	rt_buf_printf(&p->b, "}\n");
}

/* `if (c) {` then `} else if (c2) {` ... `} else {` else `}` */
static void print_if(printer *p, const lir_stmt *s, int level)
{
	for (;;) {
		rt_buf_printf(&p->b, "if (");
		print_expr(p, s->u.cond.cond, 0, false);
		rt_buf_printf(&p->b, ") {\n");
		print_stmt(p, s->u.cond.then_s, level + 1, true);
		indent(p, level);
		s = s->u.cond.else_s;
		if (!s)
			break;
		rt_buf_printf(&p->b, "} else ");
		if (s->kind == LIR_IF)
			continue;
		rt_buf_printf(&p->b, "{\n");
		print_stmt(p, s, level + 1, true);
		indent(p, level);
		break;
	}
	rt_buf_printf(&p->b, "}\n");
}

/* `let v = e;` then the body; braced unless `last` in its block. */
static void print_let(printer *p, const lir_stmt *s, int level, bool last)
{
	if (!last) {
		rt_buf_printf(&p->b, "{\n");
		indent(p, ++level);
	}
	rt_buf_printf(&p->b, "let %s = ", var_name(p, s->u.let.var));
	print_expr(p, s->u.let.value, 0, false);
	rt_buf_printf(&p->b, ";\n");
	print_stmt(p, s->u.let.body, level, true);
	if (!last) {
		indent(p, level - 1);
		rt_buf_printf(&p->b, "}\n");
	}
}

static void print_alloc(printer *p, const lir_stmt *s, int level)
{
	const lir_buffer *b = lir_func_buffer(p->f, s->u.alloc.buf);

	if (b) {
		rt_buf_printf(&p->b, "allocate %s %s[%" PRId64 "] %s", lir_type_name(b->type),
			  buf_name(p, s->u.alloc.buf), b->size, lir_scope_name(b->scope));
		if (b->part != LIR_PART_NONE)
			rt_buf_printf(&p->b, " partition %s", lir_partition_name(b->part));
		if (b->part == LIR_PART_CYCLIC || b->part == LIR_PART_BLOCK)
			rt_buf_printf(&p->b, " %" PRId64, b->part_factor);
		rt_buf_printf(&p->b, " {\n");
	} else
		rt_buf_printf(&p->b, "allocate ? {\n");
	print_stmt(p, s->u.alloc.body, level + 1, true);
	indent(p, level);
	rt_buf_printf(&p->b, "}\n");
}

/*
 * Print s at indentation `level`; `last` says no statement follows it in
 * the enclosing block.  A sequence prints its statements in line.
 */
static void print_stmt(printer *p, const lir_stmt *s, int level, bool last)
{
	if (s && s->kind == LIR_SEQ) {
		for (int i = 0; i < s->u.seq.n; i++)
			print_stmt(p, s->u.seq.s[i], level, last && i == s->u.seq.n - 1);
		return;
	}
	indent(p, level);
	if (!s) {
		rt_buf_printf(&p->b, "?;\n");
		return;
	}
	switch (s->kind) {
	case LIR_FOR:
		print_for(p, s, level);
		break;
	case LIR_IF:
		print_if(p, s, level);
		break;
	case LIR_LET:
		print_let(p, s, level, last);
		break;
	case LIR_ALLOC:
		print_alloc(p, s, level);
		break;
	case LIR_STORE:
		rt_buf_printf(&p->b, "%s[", buf_name(p, s->u.store.buf));
		print_expr(p, s->u.store.index, 0, false);
		rt_buf_printf(&p->b, "] = ");
		print_expr(p, s->u.store.value, 0, false);
		rt_buf_printf(&p->b, ";\n");
		break;
	case LIR_BARRIER:
		rt_buf_printf(&p->b, "barrier();\n");
		break;
	default:
		rt_buf_printf(&p->b, "?;\n");
	}
}

/* `func name(type *param /+ size +/, ...) {` */
static void print_signature(printer *p)
{
	rt_buf_printf(&p->b, "func %s(", lir_func_name(p->f));
	for (int i = 0; i < lir_func_nparams(p->f); i++) {
		int id = lir_func_param(p->f, i);
		const lir_buffer *b = lir_func_buffer(p->f, id);

		rt_buf_printf(&p->b, "%s%s *%s /* %" PRId64 " */", i ? ", " : "",
			  b ? lir_type_name(b->type) : "?", buf_name(p, id), b ? b->size : 0);
	}
	rt_buf_printf(&p->b, ") {\n");
}

char *lir_print(const lir_func *f)
{
	printer p = {.f = f};

	if (make_names(&p) == 0) {
		print_signature(&p);
		if (lir_func_body(f))
			print_stmt(&p, lir_func_body(f), 1, true);
		rt_buf_printf(&p.b, "}\n");
	} else {
		p.b.oom = true;
	}
	free_names(p.var, lir_func_nvars(f));
	free_names(p.buf, lir_func_nbuffers(f));
	return rt_buf_take(&p.b);
}
