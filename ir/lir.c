/*
 * lir: function storage, the expression and statement builders, and the
 * per-op and per-type facts.
 *
 * Nodes, names and sequence arrays come from an arena (rt_arena) owned by
 * the function; the buffer, variable and parameter tables are growable
 * arrays.  lir_func_free releases everything in one call.
 */
#include "lir.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "rt_arena.h"

struct lir_func {
	char *name;
	lir_buffer *bufs;
	int nbufs, capbufs;
	lir_var *vars;
	int nvars, capvars;
	int *params;
	int nparams, capparams;
	lir_stmt *body;
	rt_arena arena;
};

static const struct {
	const char *spelling;
	int arity;
} op_info[LIR_OP_COUNT] = {
#define LIR_OP(name, spelling, arity, form, prec) [LIR_##name] = {spelling, arity},
#include "lir_ops.def"
#undef LIR_OP
};

/*
 * Make room for one more element in a growable table of `*cap` elements
 * of `size` bytes; 0, or -1 when out of memory (the table is unchanged).
 */
static int grow(void **tab, int n, int *cap, size_t size)
{
	void *t;
	int c;

	if (n < *cap)
		return 0;
	c = *cap ? 2 * *cap : 8;
	t = realloc(*tab, (size_t)c * size);
	if (!t)
		return -1;
	*tab = t;
	*cap = c;
	return 0;
}

lir_func *lir_func_new(const char *name)
{
	lir_func *f = calloc(1, sizeof(*f));

	if (f && !(f->name = rt_arena_strdup(&f->arena, name)))
		f = lir_func_free(f);
	return f;
}

lir_func *lir_func_free(lir_func *f)
{
	if (!f)
		return NULL;
	rt_arena_free(&f->arena);
	free(f->bufs);
	free(f->vars);
	free(f->params);
	free(f);
	return NULL;
}

const char *lir_func_name(const lir_func *f)
{
	return f->name;
}

int lir_func_nbuffers(const lir_func *f)
{
	return f->nbufs;
}

const lir_buffer *lir_func_buffer(const lir_func *f, int id)
{
	return id >= 0 && id < f->nbufs ? &f->bufs[id] : NULL;
}

int lir_func_nvars(const lir_func *f)
{
	return f->nvars;
}

const lir_var *lir_func_var(const lir_func *f, int id)
{
	return id >= 0 && id < f->nvars ? &f->vars[id] : NULL;
}

int lir_func_nparams(const lir_func *f)
{
	return f->nparams;
}

int lir_func_param(const lir_func *f, int i)
{
	return i >= 0 && i < f->nparams ? f->params[i] : -1;
}

lir_stmt *lir_func_body(const lir_func *f)
{
	return f->body;
}

void lir_func_set_body(lir_func *f, lir_stmt *body)
{
	f->body = body;
}

int lir_add_buffer(lir_func *f, const char *name, lir_type type, int64_t size,
		   lir_scope scope)
{
	lir_buffer *b;

	if (grow((void **)&f->bufs, f->nbufs, &f->capbufs, sizeof(*f->bufs)) ||
	    (scope == LIR_GLOBAL &&
	     grow((void **)&f->params, f->nparams, &f->capparams, sizeof(*f->params))))
		return -1;
	b = &f->bufs[f->nbufs];
	if (!(b->name = rt_arena_strdup(&f->arena, name)))
		return -1;
	b->type = type;
	b->size = size;
	b->scope = scope;
	b->part = LIR_PART_NONE;
	b->part_factor = 0;
	if (scope == LIR_GLOBAL)
		f->params[f->nparams++] = f->nbufs;
	return f->nbufs++;
}

int lir_set_partition(lir_func *f, int buf, lir_partition kind, int64_t factor)
{
	lir_buffer *b = buf >= 0 && buf < f->nbufs ? &f->bufs[buf] : NULL;

	if (!b || b->scope == LIR_GLOBAL || (unsigned)kind > LIR_PART_COMPLETE ||
	    ((kind == LIR_PART_CYCLIC || kind == LIR_PART_BLOCK) && factor < 1))
		return -1;
	b->part = kind;
	b->part_factor = kind == LIR_PART_CYCLIC || kind == LIR_PART_BLOCK ? factor : 0;
	return 0;
}

int lir_add_var(lir_func *f, const char *name, lir_type type)
{
	lir_var *v;

	if (grow((void **)&f->vars, f->nvars, &f->capvars, sizeof(*f->vars)))
		return -1;
	v = &f->vars[f->nvars];
	if (!(v->name = rt_arena_strdup(&f->arena, name)))
		return -1;
	v->type = type;
	return f->nvars++;
}

/* ---- expressions ---- */

static lir_expr *node(lir_func *f, lir_op op, lir_type type, int nargs)
{
	lir_expr *e = rt_arena_alloc(&f->arena, sizeof(*e) + nargs * sizeof(e->args[0]));

	if (!e)
		return NULL;
	e->op = op;
	e->type = type;
	e->nargs = nargs;
	return e;
}

/* v wrapped to the range of integer type t (bool: 0 or 1). */
static int64_t wrap_int(int64_t v, lir_type t)
{
	uint64_t u = (uint64_t)v & UINT64_C(0xffffffff);

	if (t == LIR_BOOL)
		return v != 0;
	if (t != LIR_I32)
		return v;
	return u >= UINT64_C(0x80000000) ? (int64_t)u - INT64_C(0x100000000) : (int64_t)u;
}

/* An integer constant; of a float type it is converted to that type. */
lir_expr *lir_const_int(lir_func *f, int64_t v, lir_type type)
{
	lir_expr *e;

	if (lir_type_is_float(type))
		return lir_const_float(f, (double)v, type);
	if ((e = node(f, LIR_CONST, type, 0)))
		e->c.i = wrap_int(v, type);
	return e;
}

/* A float constant (rounded to f32 for f32); of an integer type it is
 * converted to that type as a cast would. */
lir_expr *lir_const_float(lir_func *f, double v, lir_type type)
{
	lir_expr *e;

	if (type == LIR_BOOL)
		return lir_const_int(f, v != 0, type);
	if (!lir_type_is_float(type)) {
		double lo = type == LIR_I32 ? -2147483648.0 : -9223372036854775808.0;
		double hi = type == LIR_I32 ? 2147483648.0 : 9223372036854775808.0;

		if (v != v)
			v = 0;
		if (v >= hi)
			return lir_const_int(f, type == LIR_I32 ? INT32_MAX : INT64_MAX, type);
		return lir_const_int(f, v < lo ? (int64_t)lo : (int64_t)v, type);
	}
	if ((e = node(f, LIR_CONST, type, 0)))
		e->c.f = type == LIR_F32 ? (double)(float)v : v;
	return e;
}

/* A variable reference; an unknown id gives an i64 node the verifier
 * rejects. */
lir_expr *lir_var_ref(lir_func *f, int var)
{
	const lir_var *v = lir_func_var(f, var);
	lir_expr *e = node(f, LIR_VAR, v ? v->type : LIR_I64, 0);

	if (e)
		e->id = var;
	return e;
}

/* A load of buf[index]; an unknown buffer gives an f32 node the verifier
 * rejects. */
lir_expr *lir_load(lir_func *f, int buf, lir_expr *index)
{
	const lir_buffer *b = lir_func_buffer(f, buf);
	lir_expr *e;

	if (!index || !(e = node(f, LIR_LOAD, b ? b->type : LIR_F32, 1)))
		return NULL;
	e->id = buf;
	e->args[0] = index;
	return e;
}

static bool is_logic(lir_op op)
{
	return op == LIR_NOT || op == LIR_AND || op == LIR_OR;
}

static bool is_compare(lir_op op)
{
	return op >= LIR_LT && op <= LIR_NE;
}

/* `op a`; NULL for an op that is not unary (CAST and LOAD included). */
lir_expr *lir_unary(lir_func *f, lir_op op, lir_expr *a)
{
	lir_expr *e;

	if (!a || (unsigned)op >= LIR_OP_COUNT || op_info[op].arity != 1 ||
	    op == LIR_CAST || op == LIR_LOAD)
		return NULL;
	if (!(e = node(f, op, op == LIR_NOT ? LIR_BOOL : a->type, 1)))
		return NULL;
	e->args[0] = a;
	return e;
}

/* `a op b`; NULL for an op that is not binary. */
lir_expr *lir_binary(lir_func *f, lir_op op, lir_expr *a, lir_expr *b)
{
	lir_type t;
	lir_expr *e;

	if (!a || !b || (unsigned)op >= LIR_OP_COUNT || op_info[op].arity != 2)
		return NULL;
	t = is_compare(op) || is_logic(op) ? LIR_BOOL : a->type;
	if (!(e = node(f, op, t, 2)))
		return NULL;
	e->args[0] = a;
	e->args[1] = b;
	return e;
}

lir_expr *lir_select(lir_func *f, lir_expr *c, lir_expr *a, lir_expr *b)
{
	lir_expr *e;

	if (!c || !a || !b || !(e = node(f, LIR_SELECT, a->type, 3)))
		return NULL;
	e->args[0] = c;
	e->args[1] = a;
	e->args[2] = b;
	return e;
}

lir_expr *lir_cast(lir_func *f, lir_type type, lir_expr *a)
{
	lir_expr *e;

	if (!a || !(e = node(f, LIR_CAST, type, 1)))
		return NULL;
	e->args[0] = a;
	return e;
}

/* ---- statements ---- */

static lir_stmt *stmt(lir_func *f, lir_stmt_kind kind)
{
	lir_stmt *s = rt_arena_alloc(&f->arena, sizeof(*s));

	if (s)
		s->kind = kind;
	return s;
}

lir_stmt *lir_for(lir_func *f, int var, lir_expr *lo, lir_expr *hi,
		  int64_t step, lir_for_kind kind, lir_stmt *body)
{
	lir_stmt *s;

	if (!lo || !hi || !body || !(s = stmt(f, LIR_FOR)))
		return NULL;
	s->u.loop.var = var;
	s->u.loop.lo = lo;
	s->u.loop.hi = hi;
	s->u.loop.step = step;
	s->u.loop.kind = kind;
	s->u.loop.body = body;
	s->u.loop.ii = kind == LIR_PIPELINED ? 1 : 0;
	s->u.loop.tail = LIR_SERIAL;
	return s;
}

lir_stmt *lir_if(lir_func *f, lir_expr *cond, lir_stmt *then_s, lir_stmt *else_s)
{
	lir_stmt *s;

	if (!cond || !then_s || !(s = stmt(f, LIR_IF)))
		return NULL;
	s->u.cond.cond = cond;
	s->u.cond.then_s = then_s;
	s->u.cond.else_s = else_s;
	return s;
}

lir_stmt *lir_let(lir_func *f, int var, lir_expr *value, lir_stmt *body)
{
	lir_stmt *s;

	if (!value || !body || !(s = stmt(f, LIR_LET)))
		return NULL;
	s->u.let.var = var;
	s->u.let.value = value;
	s->u.let.body = body;
	return s;
}

lir_stmt *lir_alloc(lir_func *f, int buf, lir_stmt *body)
{
	lir_stmt *s;

	if (!body || !(s = stmt(f, LIR_ALLOC)))
		return NULL;
	s->u.alloc.buf = buf;
	s->u.alloc.body = body;
	return s;
}

lir_stmt *lir_store(lir_func *f, int buf, lir_expr *index, lir_expr *value)
{
	lir_stmt *s;

	if (!index || !value || !(s = stmt(f, LIR_STORE)))
		return NULL;
	s->u.store.buf = buf;
	s->u.store.index = index;
	s->u.store.value = value;
	return s;
}

lir_stmt *lir_seq(lir_func *f, int n, lir_stmt *const *s)
{
	lir_stmt *q = stmt(f, LIR_SEQ);
	int m = 0;

	if (!q)
		return NULL;
	for (int i = 0; i < n; i++)
		m += s[i] != NULL;
	if (m && !(q->u.seq.s = rt_arena_alloc(&f->arena, (size_t)m * sizeof(*q->u.seq.s))))
		return NULL;
	for (int i = 0; i < n; i++)
		if (s[i])
			q->u.seq.s[q->u.seq.n++] = s[i];
	return q;
}

lir_stmt *lir_barrier(lir_func *f)
{
	return stmt(f, LIR_BARRIER);
}

/* ---- facts ---- */

const char *lir_type_name(lir_type t)
{
	static const char *const names[] = {"f32", "f64", "i32", "i64", "bool"};

	return (unsigned)t < 5 ? names[t] : "?";
}

size_t lir_type_size(lir_type t)
{
	static const size_t sizes[] = {4, 8, 4, 8, 1};

	return (unsigned)t < 5 ? sizes[t] : 0;
}

bool lir_type_is_float(lir_type t)
{
	return t == LIR_F32 || t == LIR_F64;
}

const char *lir_op_spelling(lir_op op)
{
	return (unsigned)op < LIR_OP_COUNT ? op_info[op].spelling : "?";
}

int lir_op_arity(lir_op op)
{
	return (unsigned)op < LIR_OP_COUNT ? op_info[op].arity : -1;
}

const char *lir_for_kind_name(lir_for_kind k)
{
	static const char *const names[LIR_FOR_KIND_COUNT] = {
		[LIR_SERIAL] = "serial",         [LIR_PARALLEL] = "parallel",
		[LIR_VECTORIZED] = "vectorized", [LIR_UNROLLED] = "unrolled",
		[LIR_PIPELINED] = "pipelined",
		[LIR_BLOCK_X] = "blockIdx.x",    [LIR_BLOCK_Y] = "blockIdx.y",
		[LIR_BLOCK_Z] = "blockIdx.z",    [LIR_THREAD_X] = "threadIdx.x",
		[LIR_THREAD_Y] = "threadIdx.y",  [LIR_THREAD_Z] = "threadIdx.z",
		[LIR_VTHREAD] = "vthread",
	};

	return (unsigned)k < LIR_FOR_KIND_COUNT ? names[k] : "?";
}

const char *lir_partition_name(lir_partition p)
{
	static const char *const names[] = {"none", "cyclic", "block", "complete"};

	return (unsigned)p <= LIR_PART_COMPLETE ? names[p] : "?";
}

const char *lir_scope_name(lir_scope s)
{
	static const char *const names[LIR_SCOPE_COUNT] = {
		[LIR_GLOBAL] = "global", [LIR_HEAP] = "heap",   [LIR_STACK] = "stack",
		[LIR_SHARED] = "shared", [LIR_LOCAL] = "local",
	};

	return (unsigned)s < LIR_SCOPE_COUNT ? names[s] : "?";
}
