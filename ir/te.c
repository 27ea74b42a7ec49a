/*
 * te: graph storage, the expression builder and per-op facts.
 */
#include "te.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "rt_arena.h"

struct te_graph {
	te_stage **stages;
	int nstages, cap;
	rt_arena arena;
};

static const struct {
	const char *spelling;
	int arity;
	te_form form;
	int prec;
} op_info[TE_OP_COUNT] = {
#define TE_OP(name, spelling, arity, form, prec) \
	[TE_##name] = {spelling, arity, TE_FORM_##form, prec},
#include "te_ops.def"
#undef TE_OP
};

te_graph *te_graph_new(void)
{
	return calloc(1, sizeof(te_graph));
}

te_graph *te_graph_free(te_graph *g)
{
	if (!g)
		return NULL;
	rt_arena_free(&g->arena);
	free(g->stages);
	free(g);
	return NULL;
}

int te_graph_nstages(const te_graph *g)
{
	return g->nstages;
}

te_stage *te_graph_stage(const te_graph *g, int id)
{
	return id >= 0 && id < g->nstages ? g->stages[id] : NULL;
}

te_stage *te_graph_find(const te_graph *g, const char *name)
{
	for (int i = 0; i < g->nstages; i++)
		if (strcmp(g->stages[i]->name, name) == 0)
			return g->stages[i];
	return NULL;
}

static bool valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= TE_MAX_NAME || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
			return false;
	return true;
}

/* Check a new tensor name and extents; returns 0 or -1 with err set. */
static int check_decl(te_graph *g, const char *name, int rank,
		      const int64_t *ext, rt_error *err)
{
	if (!valid_name(name))
		return rt_error_set(err, 0, 0, "invalid tensor name '%s'", name);
	if (te_graph_find(g, name))
		return rt_error_set(err, 0, 0, "'%s' is already defined", name);
	if (rank < 0 || rank > TE_MAX_RANK)
		return rt_error_set(err, 0, 0, "'%s' has rank %d; at most %d is supported",
				    name, rank, TE_MAX_RANK);
	for (int i = 0; i < rank; i++)
		if (ext[i] <= 0)
			return rt_error_set(err, 0, 0,
					    "dimension %d of '%s' has extent %lld; extents must be positive",
					    i, name, (long long)ext[i]);
	return 0;
}

/* Append a zeroed stage named `name`; NULL when out of memory. */
static te_stage *push_stage(te_graph *g, const char *name, rt_error *err)
{
	te_stage *s;

	if (g->nstages == g->cap) {
		int cap = g->cap ? 2 * g->cap : 8;
		te_stage **st = realloc(g->stages, cap * sizeof(*st));

		if (!st)
			goto oom;
		g->stages = st;
		g->cap = cap;
	}
	s = rt_arena_alloc(&g->arena, sizeof(*s));
	if (!s || !(s->name = rt_arena_strdup(&g->arena, name)))
		goto oom;
	s->id = g->nstages;
	g->stages[g->nstages++] = s;
	return s;
oom:
	rt_error_set(err, 0, 0, "out of memory");
	return NULL;
}

int te_add_input(te_graph *g, const char *name, te_dtype type, int rank,
		 const int64_t *shape, rt_error *err)
{
	te_stage *s;

	if (check_decl(g, name, rank, shape, err))
		return -1;
	if (type == TE_BOOL)
		return rt_error_set(err, 0, 0, "'%s' cannot have element type bool", name);
	if (!(s = push_stage(g, name, err)))
		return -1;
	s->kind = TE_STAGE_INPUT;
	s->type = type;
	s->rank = rank;
	for (int i = 0; i < rank; i++)
		s->shape[i] = shape[i];
	return s->id;
}

/* Copy `n` axes into s->axes from `first`; axis names must be distinct. */
static int set_axes(te_graph *g, te_stage *s, int first, int n,
		    const char *const *names, const int64_t *ext, rt_error *err)
{
	for (int i = 0; i < n; i++) {
		if (!valid_name(names[i]))
			return rt_error_set(err, 0, 0, "invalid axis name '%s'", names[i]);
		if (ext[i] <= 0)
			return rt_error_set(err, 0, 0,
					    "axis '%s' of '%s' has extent %lld; extents must be positive",
					    names[i], s->name, (long long)ext[i]);
		for (int j = 0; j < first + i; j++)
			if (strcmp(s->axes[j].name, names[i]) == 0)
				return rt_error_set(err, 0, 0, "axis '%s' of '%s' is declared twice",
						    names[i], s->name);
		s->axes[first + i].name = rt_arena_strdup(&g->arena, names[i]);
		if (!s->axes[first + i].name)
			return rt_error_set(err, 0, 0, "out of memory");
		s->axes[first + i].extent = ext[i];
	}
	return 0;
}

int te_add_compute(te_graph *g, const char *name, int rank,
		   const char *const *names, const int64_t *extents,
		   te_reduce red, int nreduce, const char *const *rnames,
		   const int64_t *rextents, rt_error *err)
{
	te_stage *s;

	if (check_decl(g, name, rank, extents, err))
		return -1;
	if (nreduce < 0 || nreduce > TE_MAX_REDUCE)
		return rt_error_set(err, 0, 0, "'%s' has %d reduce axes; at most %d are supported",
				    name, nreduce, TE_MAX_REDUCE);
	if ((red == TE_RED_NONE) != (nreduce == 0))
		return rt_error_set(err, 0, 0, "'%s': a reduction needs reduce axes and reduce axes need a reduction",
				    name);
	if (!(s = push_stage(g, name, err)))
		return -1;
	s->kind = TE_STAGE_COMPUTE;
	s->type = TE_F32;
	s->rank = rank;
	s->nreduce = nreduce;
	s->reduce = red;
	for (int i = 0; i < rank; i++)
		s->shape[i] = extents[i];
	if (set_axes(g, s, 0, rank, names, extents, err) ||
	    set_axes(g, s, rank, nreduce, rnames, rextents, err)) {
		g->nstages--;
		return -1;
	}
	return s->id;
}

int te_set_body(te_graph *g, int id, te_expr *body, rt_error *err)
{
	te_stage *s = te_graph_stage(g, id);

	if (!s || s->kind != TE_STAGE_COMPUTE)
		return rt_error_set(err, 0, 0, "stage %d is not a compute stage", id);
	if (!body)
		return rt_error_set(err, 0, 0, "'%s' has no body", s->name);
	if (body->type == TE_BOOL)
		return rt_error_set(err, body->line, body->col,
				    "the body of '%s' has type bool; convert it with i32(...) or select",
				    s->name);
	if (s->reduce != TE_RED_NONE && body->type == TE_BOOL)
		return rt_error_set(err, body->line, body->col, "cannot reduce bool values");
	s->body = body;
	s->type = body->type;
	return 0;
}

void te_mark_output(te_graph *g, int id)
{
	te_stage *s = te_graph_stage(g, id);

	if (s)
		s->is_output = true;
}

int te_rename(te_graph *g, int id, const char *name, const char *const *axes, rt_error *err)
{
	te_stage *s = te_graph_stage(g, id);
	int n = s ? s->rank + s->nreduce : 0;

	if (!s || s->kind != TE_STAGE_COMPUTE || !name || !axes)
		return rt_error_set(err, 0, 0, "rename: stage %d is not a compute stage", id);
	if (!name[0] || strlen(name) >= 128 || (te_graph_find(g, name) && strcmp(s->name, name)))
		return rt_error_set(err, 0, 0, "rename: '%s' is empty, too long or taken", name);
	for (int i = 0; i < n; i++) {
		if (!axes[i] || !axes[i][0] || strlen(axes[i]) >= 128)
			return rt_error_set(err, 0, 0, "rename: axis %d of '%s' is empty or too long", i, name);
		for (int j = 0; j < i; j++)
			if (strcmp(axes[i], axes[j]) == 0)
				return rt_error_set(err, 0, 0, "rename: axis '%s' of '%s' named twice", axes[i], name);
	}
	if (!(s->name = rt_arena_strdup(&g->arena, name)))
		return rt_error_set(err, 0, 0, "out of memory");
	for (int i = 0; i < n; i++)
		if (!(s->axes[i].name = rt_arena_strdup(&g->arena, axes[i])))
			return rt_error_set(err, 0, 0, "out of memory");
	return 0;
}

static bool expr_reads(const te_expr *e, int id)
{
	if (e->op == TE_LOAD && e->index == id)
		return true;
	for (int i = 0; i < e->nargs; i++)
		if (expr_reads(e->args[i], id))
			return true;
	return false;
}

void te_default_outputs(te_graph *g)
{
	for (int i = 0; i < g->nstages; i++)
		if (g->stages[i]->is_output)
			return;
	for (int i = 0; i < g->nstages; i++) {
		bool read = false;

		if (g->stages[i]->kind != TE_STAGE_COMPUTE)
			continue;
		for (int j = 0; j < g->nstages && !read; j++)
			if (j != i && g->stages[j]->body)
				read = expr_reads(g->stages[j]->body, i);
		g->stages[i]->is_output = !read;
	}
}

/* ---- expressions ---- */

static te_expr *node(te_graph *g, te_op op, te_dtype type, int nargs)
{
	te_expr *e = rt_arena_alloc(&g->arena, sizeof(*e) + nargs * sizeof(e->args[0]));

	if (!e)
		return NULL;
	e->op = op;
	e->type = type;
	e->nargs = nargs;
	return e;
}

te_expr *te_const_float(te_graph *g, double v, te_dtype type)
{
	te_expr *e = node(g, TE_CONST, type == TE_F64 ? TE_F64 : TE_F32, 0);

	if (e)
		e->c.f = e->type == TE_F32 ? (double)(float)v : v;
	return e;
}

te_expr *te_const_int(te_graph *g, int64_t v)
{
	te_expr *e = node(g, TE_CONST, TE_I32, 0);

	if (e)
		e->c.i = v;
	return e;
}

te_expr *te_const_bool(te_graph *g, bool v)
{
	te_expr *e = node(g, TE_CONST, TE_BOOL, 0);

	if (e)
		e->c.i = v;
	return e;
}

te_expr *te_axis_ref(te_graph *g, int axis)
{
	te_expr *e = node(g, TE_AXIS, TE_I32, 0);

	if (e)
		e->index = axis;
	return e;
}

te_expr *te_load(te_graph *g, int tensor, int nidx, te_expr *const *idx,
		 rt_error *err)
{
	te_stage *s = te_graph_stage(g, tensor);
	te_expr *e;

	if (!s) {
		rt_error_set(err, 0, 0, "load of unknown stage %d", tensor);
		return NULL;
	}
	if (nidx != s->rank) {
		rt_error_set(err, 0, 0, "'%s' has rank %d but is indexed with %d %s",
			     s->name, s->rank, nidx, nidx == 1 ? "index" : "indices");
		return NULL;
	}
	for (int i = 0; i < nidx; i++) {
		if (!idx[i])
			return NULL;
		if (idx[i]->type != TE_I32) {
			rt_error_set(err, idx[i]->line, idx[i]->col,
				     "index %d of '%s' has type %s; indices must be i32",
				     i, s->name, te_dtype_name(idx[i]->type));
			return NULL;
		}
	}
	if (!(e = node(g, TE_LOAD, s->type, nidx)))
		return NULL;
	e->index = tensor;
	for (int i = 0; i < nidx; i++)
		e->args[i] = idx[i];
	return e;
}

te_expr *te_unary(te_graph *g, te_op op, te_expr *a, rt_error *err)
{
	te_expr *e;

	if (!a)
		return NULL;
	if (op == TE_NOT ? a->type != TE_BOOL : a->type == TE_BOOL) {
		rt_error_set(err, a->line, a->col, "'%s' cannot take an operand of type %s",
			     te_op_spelling(op), te_dtype_name(a->type));
		return NULL;
	}
	if ((op == TE_EXP || op == TE_LOG || op == TE_SQRT || op == TE_TANH) &&
	    !te_dtype_is_float(a->type)) {
		rt_error_set(err, a->line, a->col, "'%s' needs a float operand, not %s",
			     te_op_spelling(op), te_dtype_name(a->type));
		return NULL;
	}
	if (te_op_arity(op) != 1 || op == TE_CAST) {
		rt_error_set(err, 0, 0, "'%s' is not a unary operation", te_op_spelling(op));
		return NULL;
	}
	if (!(e = node(g, op, a->type, 1)))
		return NULL;
	e->args[0] = a;
	return e;
}

te_expr *te_binary(te_graph *g, te_op op, te_expr *a, te_expr *b,
		   rt_error *err)
{
	bool logic = op == TE_AND || op == TE_OR;
	bool cmp = op >= TE_LT && op <= TE_NE;
	te_expr *e;

	if (!a || !b)
		return NULL;
	if (te_op_arity(op) != 2) {
		rt_error_set(err, 0, 0, "'%s' is not a binary operation", te_op_spelling(op));
		return NULL;
	}
	if (a->type != b->type) {
		rt_error_set(err, 0, 0, "operands of '%s' have different types %s and %s; convert one with a cast",
			     te_op_spelling(op), te_dtype_name(a->type), te_dtype_name(b->type));
		return NULL;
	}
	if (logic != (a->type == TE_BOOL) && !(cmp && (op == TE_EQ || op == TE_NE) && a->type == TE_BOOL)) {
		rt_error_set(err, 0, 0, "'%s' cannot take operands of type %s",
			     te_op_spelling(op), te_dtype_name(a->type));
		return NULL;
	}
	if (op == TE_MOD && a->type != TE_I32) {
		rt_error_set(err, 0, 0, "'%%' needs i32 operands, not %s", te_dtype_name(a->type));
		return NULL;
	}
	if (!(e = node(g, op, cmp || logic ? TE_BOOL : a->type, 2)))
		return NULL;
	e->args[0] = a;
	e->args[1] = b;
	return e;
}

te_expr *te_select(te_graph *g, te_expr *cond, te_expr *a, te_expr *b,
		   rt_error *err)
{
	te_expr *e;

	if (!cond || !a || !b)
		return NULL;
	if (cond->type != TE_BOOL) {
		rt_error_set(err, cond->line, cond->col,
			     "the condition of select has type %s; it must be a comparison or logic",
			     te_dtype_name(cond->type));
		return NULL;
	}
	if (a->type != b->type) {
		rt_error_set(err, 0, 0, "the branches of select have different types %s and %s",
			     te_dtype_name(a->type), te_dtype_name(b->type));
		return NULL;
	}
	if (!(e = node(g, TE_SELECT, a->type, 3)))
		return NULL;
	e->args[0] = cond;
	e->args[1] = a;
	e->args[2] = b;
	return e;
}

te_expr *te_cast(te_graph *g, te_dtype type, te_expr *a, rt_error *err)
{
	te_expr *e;

	if (!a)
		return NULL;
	if (type == TE_BOOL) {
		rt_error_set(err, a->line, a->col, "cannot cast to bool; use a comparison");
		return NULL;
	}
	if (!(e = node(g, TE_CAST, type, 1)))
		return NULL;
	e->args[0] = a;
	return e;
}

/* ---- facts ---- */

const char *te_dtype_name(te_dtype t)
{
	static const char *const names[] = {"f32", "f64", "i32", "bool"};

	return (unsigned)t < 4 ? names[t] : "?";
}

bool te_dtype_parse(const char *s, te_dtype *out)
{
	for (te_dtype t = TE_F32; t <= TE_I32; t++)
		if (strcmp(s, te_dtype_name(t)) == 0) {
			*out = t;
			return true;
		}
	return false;
}

size_t te_dtype_size(te_dtype t)
{
	return t == TE_F64 ? 8 : t == TE_BOOL ? 1 : 4;
}

bool te_dtype_is_float(te_dtype t)
{
	return t == TE_F32 || t == TE_F64;
}

const char *te_op_spelling(te_op op)
{
	return op_info[op].spelling;
}

int te_op_arity(te_op op)
{
	return op_info[op].arity;
}

te_form te_op_form(te_op op)
{
	return op_info[op].form;
}

int te_op_prec(te_op op)
{
	return op_info[op].prec;
}

const char *te_reduce_name(te_reduce r)
{
	static const char *const names[] = {"none", "sum", "max", "min"};

	return (unsigned)r < 4 ? names[r] : "?";
}

bool te_mul_checked(int64_t a, int64_t b, int64_t *out)
{
	if (__builtin_mul_overflow(a, b, out)) {
		*out = INT64_MAX;
		return false;
	}
	return true;
}

bool te_add_checked(int64_t a, int64_t b, int64_t *out)
{
	if (__builtin_add_overflow(a, b, out)) {
		*out = INT64_MAX;
		return false;
	}
	return true;
}

int64_t te_stage_numel(const te_stage *s)
{
	int64_t n = 1;

	for (int i = 0; i < s->rank; i++)
		if (s->shape[i] < 0 || !te_mul_checked(n, s->shape[i], &n))
			return -1;
	return n;
}

int64_t te_stage_bytes(const te_stage *s)
{
	int64_t n = te_stage_numel(s), b;

	return n >= 0 && te_mul_checked(n, (int64_t)te_dtype_size(s->type), &b) ? b : -1;
}

int64_t te_stage_points(const te_stage *s)
{
	int64_t n = te_stage_numel(s);

	for (int i = 0; i < s->nreduce && n >= 0; i++) {
		int64_t ext = s->axes[s->rank + i].extent;

		if (ext < 0 || !te_mul_checked(n, ext, &n))
			return -1;
	}
	return n;
}

/*
 * Arithmetic operations on values of type `t` in one evaluation of e:
 * comparisons, selects, casts and the index arithmetic inside loads are not
 * counted.
 */
static int64_t count_ops(const te_expr *e, te_dtype t)
{
	int64_t n = 0;

	if (e->op == TE_LOAD)
		return 0;
	for (int i = 0; i < e->nargs; i++)
		n += count_ops(e->args[i], t);
	switch (e->op) {
	case TE_CONST: case TE_AXIS: case TE_CAST: case TE_SELECT:
		return n;
	default:
		return n + (e->type == t);
	}
}

int64_t te_stage_flops(const te_stage *s)
{
	int64_t points, flops;

	if (s->kind != TE_STAGE_COMPUTE || !s->body)
		return 0;
	points = te_stage_points(s);
	if (points < 0 || !te_mul_checked(points,
					  count_ops(s->body, s->type) + (s->reduce != TE_RED_NONE),
					  &flops))
		return -1;
	return flops;
}

double te_graph_flops(const te_graph *g)
{
	int64_t total = 0;

	for (int i = 0; i < g->nstages; i++) {
		int64_t f = te_stage_flops(g->stages[i]);

		if (f < 0 || !te_add_checked(total, f, &total))
			return -1;
	}
	return (double)total;
}
