/*
 * te_verify: check a te graph before anything else reads it.
 *
 * Each stage goes through the checks in order: its header and body, the
 * shape of its expression tree (arity, axis numbers), its loads (existing
 * stages, rank, no cycles), types, affine indices, and finally the isl
 * proof that every load stays inside the loaded tensor.  Each check may
 * assume the ones before it passed.
 */
#include "te_verify.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <isl/point.h>
#include <isl/val.h>

#include "rt_math.h"
#include "te_isl.h"

typedef struct vctx {
	const te_graph *g;
	const te_stage *s; /* the stage being checked */
	isl_ctx *ctx;
	rt_error *err;
} vctx;

/* Report at line:col, or at the stage's position when line is 0; returns
 * -1. */
static int vfail_at(vctx *v, int line, int col, const char *fmt, va_list ap)
{
	char msg[RT_ERROR_MSG_MAX];

	if (line <= 0) {
		line = v->s->line;
		col = v->s->col;
	}
	vsnprintf(msg, sizeof(msg), fmt, ap);
	return rt_error_set(v->err, line, col, "%s", msg);
}

/* Report at e's position (the stage's when e has none); returns -1. */
static int fail(vctx *v, const te_expr *e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(vctx *v, const te_expr *e, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vfail_at(v, e ? e->line : 0, e ? e->col : 0, fmt, ap);
	va_end(ap);
	return r;
}

/* Report at the declaration of axis `a` of the stage (the stage's position
 * when unknown); returns -1. */
static int fail_axis(vctx *v, int a, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail_axis(vctx *v, int a, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vfail_at(v, v->s->axes[a].line, v->s->axes[a].col, fmt, ap);
	va_end(ap);
	return r;
}

/* Report a failed isl operation and clear the ctx's error; returns -1. */
static int fail_isl(vctx *v, const te_expr *e)
{
	const char *why = isl_ctx_last_error_msg(v->ctx);

	fail(v, e, "internal error: isl failed while checking '%s': %s", v->s->name,
	     why ? why : "unknown error");
	isl_ctx_reset_error(v->ctx);
	return -1;
}

/* The text of `e` in .te syntax into buf; "T[...]" for a load that cannot
 * be printed. */
static const char *expr_text(vctx *v, const te_expr *e, char *buf, size_t n)
{
	char *text = te_expr_print(v->g, v->s, e);

	if (text)
		snprintf(buf, n, "%s", text);
	else if (e->op == TE_LOAD)
		snprintf(buf, n, "%s[...]", te_graph_stage(v->g, e->index)->name);
	else
		snprintf(buf, n, "%s", te_op_spelling(e->op));
	free(text);
	return buf;
}

/* ---- the stage header ---- */

static bool valid_type(te_dtype t)
{
	return t == TE_F32 || t == TE_F64 || t == TE_I32;
}

/* Rank, axes, extents, reduction and element type of stage v->s. */
static int check_header(vctx *v, int id)
{
	const te_stage *s = v->s;

	if (s->id != id)
		return fail(v, NULL, "stage '%s' has id %d at position %d", s->name, s->id, id);
	if (s->rank < 0 || s->rank > TE_MAX_RANK)
		return fail(v, NULL, "'%s' has rank %d; at most %d is supported", s->name, s->rank,
			    TE_MAX_RANK);
	for (int i = 0; i < s->rank; i++) {
		if (s->shape[i] <= 0)
			return fail(
			    v, NULL,
			    "dimension %d of '%s' has extent %lld; extents must be positive", i,
			    s->name, (long long)s->shape[i]);
		if (s->shape[i] > TE_MAX_EXTENT)
			return fail(v, NULL, "dimension %d of '%s' has extent %lld; at most %lld "
				    "(2^31 - 1) is supported", i, s->name,
				    (long long)s->shape[i], (long long)TE_MAX_EXTENT);
	}
	if (!valid_type(s->type))
		return fail(v, NULL, "'%s' has element type %s; it must be f32, f64 or i32",
			    s->name, te_dtype_name(s->type));
	if (s->kind == TE_STAGE_INPUT) {
		if (s->body || s->nreduce)
			return fail(v, NULL, "input '%s' has a body or reduce axes", s->name);
		return 0;
	}
	if (!s->body)
		return fail(v, NULL, "'%s' has no body", s->name);
	if (s->nreduce < 0 || s->nreduce > TE_MAX_REDUCE)
		return fail(v, NULL, "'%s' has %d reduce axes; at most %d are supported", s->name,
			    s->nreduce, TE_MAX_REDUCE);
	if ((s->reduce == TE_RED_NONE) != (s->nreduce == 0))
		return fail(v, NULL,
			    "'%s': a reduction needs reduce axes and reduce axes need a reduction",
			    s->name);
	for (int i = 0; i < s->rank + s->nreduce; i++) {
		if (!s->axes[i].name || s->axes[i].extent <= 0)
			return fail(v, NULL,
				    "axis %d of '%s' has extent %lld; extents must be positive", i,
				    s->name, (long long)s->axes[i].extent);
		if (s->axes[i].extent > TE_MAX_EXTENT)
			return fail_axis(v, i, "axis '%s' of '%s' has extent %lld; at most %lld "
				    "(2^31 - 1) is supported", s->axes[i].name, s->name,
				    (long long)s->axes[i].extent, (long long)TE_MAX_EXTENT);
		if (i < s->rank && s->axes[i].extent != s->shape[i])
			return fail(v, NULL,
				    "axis '%s' of '%s' has extent %lld but dimension %d is %lld",
				    s->axes[i].name, s->name, (long long)s->axes[i].extent, i,
				    (long long)s->shape[i]);
	}
	return 0;
}

/* ---- sizes (TE_MAX_TENSOR_BYTES, TE_MAX_POINTS, TE_MAX_FLOPS) ---- */

/* "E0 x E1 x ..." of the n extents ext[] into buf. */
static const char *extents_text(const int64_t *ext, int n, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (int i = 0; i < n && len < size; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s%lld", i ? " x " : "",
					(long long)ext[i]);
	return buf;
}

/* Bytes of the tensor of v->s; the header has been checked. */
static int check_bytes(vctx *v)
{
	const te_stage *s = v->s;
	int64_t bytes = te_stage_bytes(s);
	char shape[256];

	if (bytes >= 0 && bytes <= TE_MAX_TENSOR_BYTES)
		return 0;
	extents_text(s->shape, s->rank, shape, sizeof(shape));
	if (bytes < 0)
		return fail(v, NULL, "'%s' [%s] %s has more than 2^63 bytes; a tensor may have "
			    "at most 2^40 bytes (1 TiB)", s->name, shape, te_dtype_name(s->type));
	return fail(v, NULL, "'%s' [%s] %s has %lld bytes; a tensor may have at most 2^40 "
		    "bytes (1 TiB)", s->name, shape, te_dtype_name(s->type), (long long)bytes);
}

/* Points of compute stage v->s (spatial x reduce space). */
static int check_points(vctx *v)
{
	const te_stage *s = v->s;
	int64_t points = te_stage_points(s), ext[TE_MAX_AXES];
	char space[512], count[64];

	if (points >= 0 && points <= TE_MAX_POINTS)
		return 0;
	for (int i = 0; i < s->rank + s->nreduce; i++)
		ext[i] = s->axes[i].extent;
	extents_text(ext, s->rank + s->nreduce, space, sizeof(space));
	if (points < 0)
		snprintf(count, sizeof(count), "more than 2^63");
	else
		snprintf(count, sizeof(count), "%lld", (long long)points);
	return fail(v, NULL, "'%s' iterates over %s points (%s); a stage may have at most "
		    "2^50", s->name, count, space);
}

/* Add the operations of v->s to *total; the graph may do at most
 * TE_MAX_FLOPS. */
static int check_flops(vctx *v, int64_t *total)
{
	int64_t f = te_stage_flops(v->s);
	char count[64] = "more than 2^63";

	if (f >= 0 && te_add_checked(*total, f, total) && *total <= TE_MAX_FLOPS)
		return 0;
	if (f >= 0 && *total < INT64_MAX)
		snprintf(count, sizeof(count), "%lld", (long long)*total);
	return fail(v, NULL, "up to '%s' the graph does %s operations; at most 2^50 are "
		    "supported", v->s->name, count);
}

/* ---- the tree: operations, arity, axes ---- */

static int check_shape(vctx *v, const te_expr *e)
{
	int naxes = v->s->rank + v->s->nreduce;

	if ((unsigned)e->op >= TE_OP_COUNT)
		return fail(v, e, "'%s' contains an unknown operation %d", v->s->name, (int)e->op);
	if (e->op != TE_LOAD && e->nargs != te_op_arity(e->op))
		return fail(v, e, "'%s' in '%s' has %d operands instead of %d",
			    te_op_spelling(e->op), v->s->name, e->nargs, te_op_arity(e->op));
	if (e->op == TE_AXIS && (e->index < 0 || e->index >= naxes))
		return fail(v, e, "axis %d in '%s' is out of range: the stage has %d %s", e->index,
			    v->s->name, naxes, naxes == 1 ? "axis" : "axes");
	for (int i = 0; i < e->nargs; i++) {
		if (!e->args[i])
			return fail(v, e, "operand %d of '%s' in '%s' is missing", i,
				    te_op_spelling(e->op), v->s->name);
		if (check_shape(v, e->args[i]))
			return -1;
	}
	return 0;
}

/* ---- reduce axes: each one is used ---- */

/* Set used[a] for every axis a that `e` references. */
static void mark_axes(const te_expr *e, bool *used)
{
	if (e->op == TE_AXIS)
		used[e->index] = true;
	for (int i = 0; i < e->nargs; i++)
		mark_axes(e->args[i], used);
}

/* A reduce axis the body does not use would only repeat (sum: scale) its
 * value; docs/te-language.md forbids it. */
static int check_reduce_used(vctx *v)
{
	const te_stage *s = v->s;
	bool used[TE_MAX_AXES] = {false};

	mark_axes(s->body, used);
	for (int i = s->rank; i < s->rank + s->nreduce; i++)
		if (!used[i])
			return fail_axis(v, i, "reduce axis '%s' of '%s' is not used in its body",
				    s->axes[i].name, s->name);
	return 0;
}

/* ---- loads: existing stages, rank, order ---- */

static int check_loads(vctx *v, const te_expr *e)
{
	if (e->op == TE_LOAD) {
		const te_stage *t = te_graph_stage(v->g, e->index);

		if (!t)
			return fail(v, e, "'%s' loads stage %d, which does not exist", v->s->name,
				    e->index);
		if (e->nargs != t->rank)
			return fail(v, e, "load of '%s' in '%s' has %d %s but '%s' has rank %d",
				    t->name, v->s->name, e->nargs,
				    e->nargs == 1 ? "index" : "indices", t->name, t->rank);
		if (t == v->s)
			return fail(v, e, "cycle: '%s' reads itself", t->name);
		if (t->id > v->s->id)
			return fail(v, e, "cycle: '%s' reads '%s', which is defined after it",
				    v->s->name, t->name);
	}
	for (int i = 0; i < e->nargs; i++)
		if (check_loads(v, e->args[i]))
			return -1;
	return 0;
}

/* ---- types (the builder's rules, re-checked) ---- */

/* What is wrong with the type of node `e` given its operands', or NULL. */
static const char *type_problem(const vctx *v, const te_expr *e, char *buf, size_t n)
{
	const te_expr *a = e->nargs > 0 ? e->args[0] : NULL;
	const te_expr *b = e->nargs > 1 ? e->args[1] : NULL;
	te_dtype want;

	if ((unsigned)e->type > TE_BOOL)
		return "has an unknown type";
	switch (e->op) {
	case TE_CONST:
		if (e->type == TE_I32 && (e->c.i < INT32_MIN || e->c.i > INT32_MAX)) {
			snprintf(buf, n, "%lld does not fit in i32", (long long)e->c.i);
			return buf;
		}
		return NULL;
	case TE_AXIS:
		want = TE_I32;
		break;
	case TE_LOAD:
		for (int i = 0; i < e->nargs; i++)
			if (e->args[i]->type != TE_I32) {
				snprintf(buf, n, "has index %d of type %s; indices must be i32", i,
					 te_dtype_name(e->args[i]->type));
				return buf;
			}
		want = te_graph_stage(v->g, e->index)->type;
		break;
	case TE_NOT:
		if (a->type != TE_BOOL)
			goto bad_operand;
		want = TE_BOOL;
		break;
	case TE_EXP:
	case TE_LOG:
	case TE_SQRT:
	case TE_TANH:
		if (!te_dtype_is_float(a->type))
			goto bad_operand;
		/* fall through */
	case TE_NEG:
	case TE_ABS:
		if (a->type == TE_BOOL)
			goto bad_operand;
		want = a->type;
		break;
	case TE_MOD:
		if (a->type != TE_I32)
			goto bad_operand;
		/* fall through */
	case TE_ADD:
	case TE_SUB:
	case TE_MUL:
	case TE_DIV:
	case TE_MIN:
	case TE_MAX:
	case TE_LT:
	case TE_LE:
	case TE_GT:
	case TE_GE:
		if (a->type == TE_BOOL)
			goto bad_operand;
		/* fall through */
	case TE_EQ:
	case TE_NE:
		if (a->type != b->type)
			goto mismatch;
		want = e->op >= TE_LT && e->op <= TE_NE ? TE_BOOL : a->type;
		break;
	case TE_AND:
	case TE_OR:
		if (a->type != TE_BOOL)
			goto bad_operand;
		if (b->type != TE_BOOL) {
			a = b;
			goto bad_operand;
		}
		want = TE_BOOL;
		break;
	case TE_SELECT:
		if (a->type != TE_BOOL) {
			snprintf(buf, n, "has a condition of type %s", te_dtype_name(a->type));
			return buf;
		}
		if (b->type != e->args[2]->type) {
			a = b;
			b = e->args[2];
			goto mismatch;
		}
		want = b->type;
		break;
	case TE_CAST:
		return e->type == TE_BOOL ? "converts to bool" : NULL;
	default:
		return "is an unknown operation";
	}
	if (e->type == want)
		return NULL;
	snprintf(buf, n, "has type %s instead of %s", te_dtype_name(e->type), te_dtype_name(want));
	return buf;
bad_operand:
	snprintf(buf, n, "cannot take an operand of type %s", te_dtype_name(a->type));
	return buf;
mismatch:
	snprintf(buf, n, "has operands of different types %s and %s", te_dtype_name(a->type),
		 te_dtype_name(b->type));
	return buf;
}

/* Check operands first, so that the innermost error is the one reported. */
static int check_types(vctx *v, const te_expr *e)
{
	char buf[128];
	const char *why;

	for (int i = 0; i < e->nargs; i++)
		if (check_types(v, e->args[i]))
			return -1;
	why = type_problem(v, e, buf, sizeof(buf));
	if (!why)
		return 0;
	if (e->op == TE_LOAD)
		return fail(v, e, "load of '%s' in '%s' %s", te_graph_stage(v->g, e->index)->name,
			    v->s->name, why);
	if (e->op == TE_CONST)
		return fail(v, e, "the i32 constant %s in '%s'", why, v->s->name);
	return fail(v, e, "'%s' in '%s' %s", te_op_spelling(e->op), v->s->name, why);
}

static int check_body_type(vctx *v)
{
	const te_expr *body = v->s->body;

	if (check_types(v, body))
		return -1;
	if (!valid_type(body->type))
		return fail(v, body, "the body of '%s' has type %s; it must be f32, f64 or i32",
			    v->s->name, te_dtype_name(body->type));
	if (v->s->type != body->type)
		return fail(v, body, "'%s' has element type %s but its body has type %s",
			    v->s->name, te_dtype_name(v->s->type), te_dtype_name(body->type));
	return 0;
}

/* ---- affine indices ---- */

static int check_affine(vctx *v, const te_expr *e)
{
	char text[512];

	if (e->op == TE_LOAD)
		for (int i = 0; i < e->nargs; i++)
			if (!te_isl_affine(e->args[i]))
				return fail(v, e,
					    "index %d of load %s in '%s' is not affine in the axes",
					    i, expr_text(v, e, text, sizeof(text)), v->s->name);
	for (int i = 0; i < e->nargs; i++)
		if (check_affine(v, e->args[i]))
			return -1;
	return 0;
}

/* ---- index arithmetic stays in i32 ----
 *
 * isl proves bounds in exact arithmetic, lowering computes indices in int64
 * and conditions in i32, the interpreter in i32: they agree when no
 * intermediate value of an affine index or condition leaves i32.  Interval
 * arithmetic over the domain proves that (conservatively). */

typedef struct range {
	int64_t lo, hi;
} range;

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

static int64_t max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

/* The range of two-operand node `e` from its operands' (each inside i32, so
 * nothing below overflows int64).  False for an operation it cannot bound. */
static bool combine(const te_expr *e, range a, range b, range *r)
{
	int64_t p[4];

	switch (e->op) {
	case TE_ADD:
		*r = (range){a.lo + b.lo, a.hi + b.hi};
		return true;
	case TE_SUB:
		*r = (range){a.lo - b.hi, a.hi - b.lo};
		return true;
	case TE_MIN:
		*r = (range){min64(a.lo, b.lo), min64(a.hi, b.hi)};
		return true;
	case TE_MAX:
		*r = (range){max64(a.lo, b.lo), max64(a.hi, b.hi)};
		return true;
	case TE_MUL:
		p[0] = a.lo * b.lo, p[1] = a.lo * b.hi, p[2] = a.hi * b.lo, p[3] = a.hi * b.hi;
		*r = (range){min64(min64(p[0], p[1]), min64(p[2], p[3])),
			     max64(max64(p[0], p[1]), max64(p[2], p[3]))};
		return true;
	case TE_DIV:
		if (b.lo <= 0)
			return false;
		*r = (range){min64(rt_floor_div(a.lo, b.lo), rt_floor_div(a.lo, b.hi)),
			     max64(rt_floor_div(a.hi, b.lo), rt_floor_div(a.hi, b.hi))};
		return true;
	case TE_MOD:
		if (b.lo <= 0)
			return false;
		*r = (range){0, b.hi - 1};
		return true;
	default:
		return false;
	}
}

/*
 * The range of the affine i32 expression `e` over the stage's domain into
 * *r.  Returns 1 when it cannot be bounded (not affine), 0 when every
 * subexpression stays inside i32, -1 (reported) otherwise.
 */
static int index_range(vctx *v, const te_expr *e, range *r)
{
	char text[512];
	range a, b;
	int rc;

	if (e->op == TE_CONST) {
		*r = (range){e->c.i, e->c.i};
	} else if (e->op == TE_AXIS) {
		*r = (range){0, v->s->axes[e->index].extent - 1};
	} else if (e->op == TE_NEG) {
		if ((rc = index_range(v, e->args[0], &a)))
			return rc;
		*r = (range){-a.hi, -a.lo};
	} else if (e->nargs == 2) {
		if ((rc = index_range(v, e->args[0], &a)) || (rc = index_range(v, e->args[1], &b)))
			return rc;
		if (!combine(e, a, b, r))
			return 1;
	} else {
		return 1;
	}
	if (r->lo >= INT32_MIN && r->hi <= INT32_MAX)
		return 0;
	return fail(v, e, "the index arithmetic %s in '%s' reaches %lld, outside i32; axes "
		    "and indices are i32 values", expr_text(v, e, text, sizeof(text)),
		    v->s->name, (long long)(r->hi > INT32_MAX ? r->hi : r->lo));
}

/* Check the i32 operands of the affine condition `c` (and, or, not and
 * comparisons). */
static int check_cond_range(vctx *v, const te_expr *c)
{
	range r;

	if (c->type == TE_I32)
		return index_range(v, c, &r) < 0 ? -1 : 0;
	for (int i = 0; i < c->nargs; i++)
		if (check_cond_range(v, c->args[i]))
			return -1;
	return 0;
}

/* Load indices and affine select conditions of `e`. */
static int check_ranges(vctx *v, const te_expr *e)
{
	range r;

	if (e->op == TE_LOAD)
		for (int i = 0; i < e->nargs; i++)
			if (index_range(v, e->args[i], &r) < 0)
				return -1;
	if (e->op == TE_SELECT && te_isl_affine(e->args[0]) && check_cond_range(v, e->args[0]))
		return -1;
	for (int i = 0; i < e->nargs; i++)
		if (check_ranges(v, e->args[i]))
			return -1;
	return 0;
}

/* ---- bounds, with isl ---- */

static bool has_load(const te_expr *e)
{
	if (e->op == TE_LOAD)
		return true;
	for (int i = 0; i < e->nargs; i++)
		if (has_load(e->args[i]))
			return true;
	return false;
}

/* Append the isl value `val` (__isl_take) to buf as decimal text. */
static void append_val(char *buf, size_t n, __isl_take isl_val *val)
{
	char *text = val ? isl_val_to_str(val) : NULL;
	size_t len = strlen(buf);

	snprintf(buf + len, n - len, "%s", text ? text : "?");
	free(text);
	isl_val_free(val);
}

/*
 * Report that `load` leaves its tensor at some point of `bad` (__isl_take,
 * not empty): at the lexicographically first one, index `d` (`idx`,
 * __isl_take) has a value outside [0, shape_d).
 */
static int report_oob(vctx *v, const te_expr *load, int d, __isl_take isl_set *bad,
		      __isl_take isl_pw_aff *idx)
{
	const te_stage *t = te_graph_stage(v->g, load->index);
	char text[512], at[512] = "", value[64] = "";
	isl_point *pnt = isl_set_sample_point(isl_set_lexmin(bad));
	int naxes = v->s->rank + v->s->nreduce;

	if (!pnt) {
		isl_pw_aff_free(idx);
		return fail_isl(v, load);
	}
	for (int i = 0; i < naxes; i++) {
		size_t len = strlen(at);

		snprintf(at + len, sizeof(at) - len, "%s%s = ", i ? ", " : " at ",
			 v->s->axes[i].name);
		append_val(at, sizeof(at), isl_point_get_coordinate_val(pnt, isl_dim_set, i));
	}
	append_val(value, sizeof(value), isl_pw_aff_eval(idx, pnt));
	return fail(v, load,
		    "load %s in '%s' is out of bounds%s: index %d is %s, outside [0, %lld)",
		    expr_text(v, load, text, sizeof(text)), v->s->name, at, d, value,
		    (long long)t->shape[d]);
}

/* { x : idx(x) < 0 or idx(x) >= n } for `idx` (__isl_keep; NULL gives
 * NULL). */
static __isl_give isl_set *outside(__isl_keep isl_pw_aff *idx, int64_t n)
{
	isl_ctx *ctx = isl_pw_aff_get_ctx(idx);
	isl_set *dom;
	isl_pw_aff *lo, *hi;

	if (!idx)
		return NULL;
	dom = isl_set_universe(isl_pw_aff_get_domain_space(idx));
	lo = isl_pw_aff_val_on_domain(isl_set_copy(dom), isl_val_zero(ctx));
	hi = isl_pw_aff_val_on_domain(dom, isl_val_int_from_si(ctx, n));
	return isl_set_union(isl_pw_aff_lt_set(isl_pw_aff_copy(idx), lo),
			     isl_pw_aff_ge_set(isl_pw_aff_copy(idx), hi));
}

/* Prove that `load` stays in its tensor on `guard` (__isl_keep), one
 * index at a time, so that a violation names the index. */
static int check_load(vctx *v, const te_expr *load, __isl_keep isl_set *guard)
{
	const te_stage *t = te_graph_stage(v->g, load->index);

	for (int d = 0; d < t->rank; d++) {
		isl_pw_aff *idx = te_isl_index(v->ctx, v->s, load->args[d]);
		isl_set *bad = isl_set_intersect(isl_set_copy(guard), outside(idx, t->shape[d]));
		isl_bool empty = isl_set_is_empty(bad);

		if (empty == isl_bool_false)
			return report_oob(v, load, d, bad, idx);
		isl_set_free(bad);
		isl_pw_aff_free(idx);
		if (empty < 0)
			return fail_isl(v, load);
	}
	return 0;
}

/* Check the loads of `e` on the points of `guard` (__isl_keep). */
static int check_bounds(vctx *v, const te_expr *e, __isl_keep isl_set *guard);

/*
 * select(c, a, b): loads in c under `guard`, in a under guard and c, in b
 * under guard and !c.  A condition that is not affine restricts nothing.
 */
static int check_select(vctx *v, const te_expr *e, __isl_keep isl_set *guard)
{
	const te_expr *cond = e->args[0];
	int r = 0;

	if (check_bounds(v, cond, guard))
		return -1;
	for (int branch = 1; branch <= 2 && r == 0; branch++) {
		isl_set *g;

		if (!has_load(e->args[branch]))
			continue;
		if (!te_isl_affine(cond))
			g = isl_set_copy(guard);
		else
			g = isl_set_intersect(isl_set_copy(guard),
					      te_isl_cond(v->ctx, v->s, cond, branch == 2));
		r = g ? check_bounds(v, e->args[branch], g) : fail_isl(v, e);
		isl_set_free(g);
	}
	return r;
}

static int check_bounds(vctx *v, const te_expr *e, __isl_keep isl_set *guard)
{
	if (e->op == TE_LOAD)
		return check_load(v, e, guard);
	if (e->op == TE_SELECT)
		return check_select(v, e, guard);
	for (int i = 0; i < e->nargs; i++)
		if (check_bounds(v, e->args[i], guard))
			return -1;
	return 0;
}

static int check_stage_bounds(vctx *v)
{
	isl_set *dom;
	int r;

	if (!has_load(v->s->body))
		return 0;
	dom = te_isl_domain(v->ctx, v->s);
	r = dom ? check_bounds(v, v->s->body, dom) : fail_isl(v, NULL);
	isl_set_free(dom);
	return r;
}

/* ---- the graph ---- */

static int verify_stage(vctx *v, int id, int64_t *flops)
{
	if (check_header(v, id) || check_bytes(v))
		return -1;
	if (v->s->kind == TE_STAGE_INPUT)
		return 0;
	if (check_points(v) || check_shape(v, v->s->body) || check_reduce_used(v) ||
	    check_flops(v, flops) || check_loads(v, v->s->body) || check_body_type(v) ||
	    check_affine(v, v->s->body) || check_ranges(v, v->s->body))
		return -1;
	return check_stage_bounds(v);
}

int te_verify(const te_graph *g, isl_ctx *ctx, rt_error *err)
{
	vctx v = {g, NULL, ctx, err};
	int64_t flops = 0;

	if (!g || !ctx)
		return rt_error_set(err, 0, 0,
				    "internal error: te_verify needs a graph and an isl_ctx");
	for (int id = 0; id < te_graph_nstages(g); id++) {
		v.s = te_graph_stage(g, id);
		if (verify_stage(&v, id, &flops))
			return -1;
	}
	return 0;
}
