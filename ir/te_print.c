/*
 * te_print: the canonical .te text of a graph, and its hash.
 */
#include "te.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_buf.h"
typedef struct printer {
	rt_buf *b;
	const te_graph *g;
	const te_stage *s;
	bool positional;
} printer;

/*
 * The shortest %g text of `v` that reads back to the same value of type t,
 * always with a '.' or an exponent so that it reads back as a float.
 */
static void print_float(rt_buf *b, double v, te_dtype t)
{
	char buf[40];
	int lo = t == TE_F32 ? 6 : 15, hi = t == TE_F32 ? 9 : 17;

	for (int prec = lo; prec <= hi; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, v);
		if (t == TE_F32 ? (float)strtod(buf, NULL) == (float)v
				: strtod(buf, NULL) == v)
			break;
	}
	if (isfinite(v) && !strpbrk(buf, ".e"))
		strcat(buf, ".0");
	rt_buf_printf(b, v < 0 || (v == 0 && signbit(v)) ? "(%s)" : "%s", buf);
}

static void print_const(rt_buf *b, const te_expr *e)
{
	if (e->type == TE_BOOL)
		rt_buf_printf(b, "%s", e->c.i ? "true" : "false");
	else if (e->type == TE_I32)
		rt_buf_printf(b, e->c.i < 0 ? "(%" PRId64 ")" : "%" PRId64, e->c.i);
	else
		print_float(b, e->c.f, e->type);
}

static void print_axis_name(const printer *p, int axis)
{
	const te_stage *s = p->s;

	if (!s || axis < 0 || axis >= s->rank + s->nreduce)
		rt_buf_printf(p->b, "$%d", axis);
	else if (p->positional)
		rt_buf_printf(p->b, axis < s->rank ? "a%d" : "r%d",
			  axis < s->rank ? axis : axis - s->rank);
	else
		rt_buf_printf(p->b, "%s", s->axes[axis].name);
}

static void print_expr(const printer *p, const te_expr *e, int prec, bool right);

static void print_args(const printer *p, const te_expr *e, const char *open,
		       const char *close)
{
	rt_buf_printf(p->b, "%s", open);
	for (int i = 0; i < e->nargs; i++) {
		if (i)
			rt_buf_printf(p->b, ", ");
		print_expr(p, e->args[i], 0, false);
	}
	rt_buf_printf(p->b, "%s", close);
}

/*
 * Print e where its parent binds with strength `prec`; `right` says e is the
 * right operand of a left-associative infix parent (so equal strength needs
 * parentheses).
 */
static void print_expr(const printer *p, const te_expr *e, int prec, bool right)
{
	int my = te_op_prec(e->op);
	bool paren = my < prec || (my == prec && right);
	const te_stage *t;

	if (paren)
		rt_buf_printf(p->b, "(");
	switch (e->op) {
	case TE_CONST:
		print_const(p->b, e);
		break;
	case TE_AXIS:
		print_axis_name(p, e->index);
		break;
	case TE_LOAD:
		t = te_graph_stage(p->g, e->index);
		rt_buf_printf(p->b, "%s", t ? t->name : "?");
		if (e->nargs)
			print_args(p, e, "[", "]");
		break;
	case TE_CAST:
		rt_buf_printf(p->b, "%s", te_dtype_name(e->type));
		print_args(p, e, "(", ")");
		break;
	default:
		if (te_op_form(e->op) == TE_FORM_CALL) {
			rt_buf_printf(p->b, "%s", te_op_spelling(e->op));
			print_args(p, e, "(", ")");
		} else if (te_op_form(e->op) == TE_FORM_PREFIX) {
			rt_buf_printf(p->b, "%s", te_op_spelling(e->op));
			print_expr(p, e->args[0], my + 1, false);
		} else {
			print_expr(p, e->args[0], my, false);
			rt_buf_printf(p->b, " %s ", te_op_spelling(e->op));
			print_expr(p, e->args[1], my, true);
		}
	}
	if (paren)
		rt_buf_printf(p->b, ")");
}

static void print_axes(const printer *p, int first, int n)
{
	for (int i = first; i < first + n; i++) {
		if (i > first)
			rt_buf_printf(p->b, ", ");
		print_axis_name(p, i);
		rt_buf_printf(p->b, " < %" PRId64, p->s->axes[i].extent);
	}
}

static void print_stage(printer *p, const te_stage *s)
{
	p->s = s;
	rt_buf_printf(p->b, s->kind == TE_STAGE_INPUT ? "input %s" : "%s", s->name);
	if (s->kind == TE_STAGE_INPUT) {
		for (int i = 0; i < s->rank; i++)
			rt_buf_printf(p->b, i ? ", %" PRId64 : "[%" PRId64, s->shape[i]);
		rt_buf_printf(p->b, "%s %s\n", s->rank ? "]" : "", te_dtype_name(s->type));
		return;
	}
	if (s->rank) {
		rt_buf_printf(p->b, "[");
		print_axes(p, 0, s->rank);
		rt_buf_printf(p->b, "]");
	}
	rt_buf_printf(p->b, " = ");
	if (s->reduce != TE_RED_NONE) {
		rt_buf_printf(p->b, "%s(", te_reduce_name(s->reduce));
		print_axes(p, s->rank, s->nreduce);
		rt_buf_printf(p->b, ") ");
	}
	if (s->body)
		print_expr(p, s->body, 0, false);
	rt_buf_printf(p->b, "\n");
}

char *te_graph_print(const te_graph *g, bool positional)
{
	rt_buf b = {0};
	printer p = {&b, g, NULL, positional};
	bool first = true;

	for (int i = 0; i < te_graph_nstages(g); i++)
		print_stage(&p, te_graph_stage(g, i));
	for (int i = 0; i < te_graph_nstages(g); i++) {
		const te_stage *s = te_graph_stage(g, i);

		if (!s->is_output)
			continue;
		rt_buf_printf(&b, first ? "output %s" : ", %s", s->name);
		first = false;
	}
	if (!first)
		rt_buf_printf(&b, "\n");
	return rt_buf_take(&b);
}

char *te_expr_print(const te_graph *g, const te_stage *s, const te_expr *e)
{
	rt_buf b = {0};
	printer p = {&b, g, s, false};

	print_expr(&p, e, 0, false);
	return rt_buf_take(&b);
}

/* Bumped whenever the canonical text or the te semantics change. */
#define TE_HASH_VERSION "ftc-te-v1\n"

static uint64_t fnv1a(uint64_t h, const char *s)
{
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}

uint64_t te_graph_hash(const te_graph *g, char out[17])
{
	char *text = te_graph_print(g, true);
	uint64_t h = fnv1a(UINT64_C(0xcbf29ce484222325), TE_HASH_VERSION);

	h = fnv1a(h, text ? text : "");
	free(text);
	if (out)
		snprintf(out, 17, "%016" PRIx64, h);
	return h;
}
