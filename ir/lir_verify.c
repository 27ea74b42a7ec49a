/*
 * lir_verify: the structural and type rules of lir (see lir.h).
 *
 * One walk over the statement tree.  The scope is kept as two flag tables,
 * the variables bound by an enclosing for/let and the buffers allocated by
 * an enclosing allocate, set on the way down and cleared on the way up; the
 * enclosing loops form a chain of frames on the C stack, which the GPU
 * rules (barrier placement, nesting of bound loops, shared allocations)
 * search.  The first violation stops the walk; its message starts with the
 * statement it was found in, e.g. "store to 'C': index has type i32,
 * expected i64".
 */
#include "lir.h"

#include <stdarg.h>
#include <stdlib.h>

/* An enclosing loop. */
typedef struct frame {
	const lir_stmt *loop;
	const struct frame *up;
} frame;

typedef struct checker {
	const lir_func *f;
	rt_error *err;
	bool *var_live; /* per variable: bound by an enclosing for/let */
	bool *buf_live; /* per buffer: allocated by an enclosing allocate */
	char ctx[128];  /* the statement being checked, for messages */
} checker;

/* Record "<statement>: <message>"; returns -1. */
static int fail(checker *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(checker *c, const char *fmt, ...)
{
	char msg[RT_ERROR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return rt_error_set(c->err, 0, 0, "%s: %s", c->ctx, msg);
}

static bool valid_type(lir_type t)
{
	return (unsigned)t <= LIR_BOOL;
}

static const char *var_label(const checker *c, int id)
{
	const lir_var *v = lir_func_var(c->f, id);

	return v && v->name ? v->name : "?";
}

static const char *buf_label(const checker *c, int id)
{
	const lir_buffer *b = lir_func_buffer(c->f, id);

	return b && b->name ? b->name : "?";
}

/* The kind of statement (LIR_FOR or LIR_LET) binding `var` in s, or -1. */
static int find_binder(const lir_stmt *s, int var)
{
	int k = -1;

	if (!s)
		return -1;
	switch (s->kind) {
	case LIR_FOR:
		return s->u.loop.var == var ? LIR_FOR : find_binder(s->u.loop.body, var);
	case LIR_LET:
		return s->u.let.var == var ? LIR_LET : find_binder(s->u.let.body, var);
	case LIR_IF:
		k = find_binder(s->u.cond.then_s, var);
		return k >= 0 ? k : find_binder(s->u.cond.else_s, var);
	case LIR_ALLOC:
		return find_binder(s->u.alloc.body, var);
	case LIR_SEQ:
		for (int i = 0; i < s->u.seq.n && k < 0; i++)
			k = find_binder(s->u.seq.s[i], var);
		return k;
	default:
		return -1;
	}
}

/* ---- expressions ---- */

static int check_expr(checker *c, const lir_expr *e);

static int check_var(checker *c, const lir_expr *e)
{
	const lir_var *v = lir_func_var(c->f, e->id);

	if (!v)
		return fail(c, "unknown variable %d", e->id);
	if (!c->var_live[e->id]) {
		int k = find_binder(lir_func_body(c->f), e->id);

		return k < 0 ? fail(c, "variable '%s' is never defined", v->name)
			     : fail(c, "variable '%s' used outside its %s", v->name,
				    k == LIR_FOR ? "loop" : "let");
	}
	if (e->type != v->type)
		return fail(c, "a reference to variable '%s' has type %s, expected %s", v->name,
			    lir_type_name(e->type), lir_type_name(v->type));
	return 0;
}

/* Buffer `id` exists and is allocated here; `what` names the access. */
static int check_buf_access(checker *c, int id, const char *what)
{
	const lir_buffer *b = lir_func_buffer(c->f, id);

	if (!b)
		return fail(c, "%s unknown buffer %d", what, id);
	if (b->scope != LIR_GLOBAL && !c->buf_live[id])
		return fail(c, "buffer '%s' used outside its allocate", b->name);
	return 0;
}

static int check_load(checker *c, const lir_expr *e)
{
	const lir_buffer *b;

	if (check_buf_access(c, e->id, "load of"))
		return -1;
	b = lir_func_buffer(c->f, e->id);
	if (e->args[0]->type != LIR_I64)
		return fail(c, "load of '%s': index has type %s, expected i64", b->name,
			    lir_type_name(e->args[0]->type));
	if (e->type != b->type)
		return fail(c, "load of '%s' has type %s, expected %s", b->name,
			    lir_type_name(e->type), lir_type_name(b->type));
	return 0;
}

/*
 * The result type of an arithmetic, comparison or logic node whose operands
 * passed, or -1 (with the error set) when the operand types do not fit op.
 */
static int operator_type(checker *c, const lir_expr *e)
{
	const char *sp = lir_op_spelling(e->op);
	lir_type a = e->args[0]->type, b = e->nargs > 1 ? e->args[1]->type : a;

	if (a != b)
		return fail(c, "operands of '%s' have types %s and %s", sp, lir_type_name(a),
			    lir_type_name(b));
	switch (e->op) {
	case LIR_NOT: case LIR_AND: case LIR_OR:
		if (a != LIR_BOOL)
			return fail(c, "'%s' needs bool operands, not %s", sp, lir_type_name(a));
		return LIR_BOOL;
	case LIR_EQ: case LIR_NE:
		return LIR_BOOL;
	case LIR_EXP: case LIR_LOG: case LIR_SQRT: case LIR_TANH:
		if (!lir_type_is_float(a))
			return fail(c, "'%s' needs a float operand, not %s", sp, lir_type_name(a));
		return a;
	case LIR_MOD:
		if (lir_type_is_float(a))
			return fail(c, "'%%' needs integer operands, not %s", lir_type_name(a));
		break;
	default:
		break;
	}
	if (a == LIR_BOOL)
		return fail(c, "'%s' cannot take bool operands", sp);
	return e->op >= LIR_LT && e->op <= LIR_GE ? LIR_BOOL : (int)a;
}

/* The type node e must have given operands that passed; -1 on error. */
static int expected_type(checker *c, const lir_expr *e)
{
	switch (e->op) {
	case LIR_CONST:
		return valid_type(e->type) ? (int)e->type
					   : fail(c, "constant of unknown type %d", (int)e->type);
	case LIR_VAR:
		return check_var(c, e) ? -1 : (int)e->type;
	case LIR_LOAD:
		return check_load(c, e) ? -1 : (int)e->type;
	case LIR_CAST:
		return valid_type(e->type) ? (int)e->type
					   : fail(c, "cast to unknown type %d", (int)e->type);
	case LIR_SELECT:
		if (e->args[0]->type != LIR_BOOL)
			return fail(c, "condition of select has type %s, expected bool",
				    lir_type_name(e->args[0]->type));
		if (e->args[1]->type != e->args[2]->type)
			return fail(c, "branches of select have types %s and %s",
				    lir_type_name(e->args[1]->type),
				    lir_type_name(e->args[2]->type));
		return e->args[1]->type;
	default:
		return operator_type(c, e);
	}
}

/* Check e and its operands; 0, or -1 with the error set. */
static int check_expr(checker *c, const lir_expr *e)
{
	int t;

	if (!e)
		return fail(c, "missing operand");
	if ((unsigned)e->op >= LIR_OP_COUNT)
		return fail(c, "unknown operation %d", (int)e->op);
	if (e->nargs != lir_op_arity(e->op))
		return fail(c, "'%s' has %d operands, expected %d", lir_op_spelling(e->op),
			    e->nargs, lir_op_arity(e->op));
	for (int i = 0; i < e->nargs; i++)
		if (check_expr(c, e->args[i]))
			return -1;
	if ((t = expected_type(c, e)) < 0)
		return -1;
	if (e->type != (lir_type)t)
		return fail(c, "'%s' has type %s, expected %s", lir_op_spelling(e->op),
			    lir_type_name(e->type), lir_type_name(t));
	return 0;
}

/* Check e, which must have type t; `what` names it in messages. */
static int check_typed(checker *c, const lir_expr *e, lir_type t, const char *what)
{
	if (check_expr(c, e))
		return -1;
	if (e->type != t)
		return fail(c, "%s has type %s, expected %s", what, lir_type_name(e->type),
			    lir_type_name(t));
	return 0;
}

/* ---- statements ---- */

static int check_stmt(checker *c, const lir_stmt *s, const frame *up);

/* 0: block, 1: vthread, 2: thread, -1: not GPU-bound. */
static int gpu_level(lir_for_kind k)
{
	if (k >= LIR_BLOCK_X && k <= LIR_BLOCK_Z)
		return 0;
	if (k == LIR_VTHREAD)
		return 1;
	if (k >= LIR_THREAD_X && k <= LIR_THREAD_Z)
		return 2;
	return -1;
}

/* The innermost enclosing loop with a GPU level in [lo, hi], or NULL. */
static const lir_stmt *enclosing(const frame *fr, int lo, int hi)
{
	for (; fr; fr = fr->up) {
		int l = gpu_level(fr->loop->u.loop.kind);

		if (l >= lo && l <= hi)
			return fr->loop;
	}
	return NULL;
}

/* A GPU-bound loop of kind k sits under no loop of a lower level and no
 * other loop bound to the same index. */
static int check_gpu_nesting(checker *c, const lir_stmt *s, const frame *up)
{
	lir_for_kind k = s->u.loop.kind;
	int level = gpu_level(k);

	for (const frame *fr = up; level >= 0 && fr; fr = fr->up) {
		lir_for_kind o = fr->loop->u.loop.kind;
		int l = gpu_level(o);

		if (l > level || (o == k && k != LIR_VTHREAD))
			return rt_error_set(c->err, 0, 0, "%s loop '%s' is nested inside %s loop '%s'",
					    lir_for_kind_name(k), var_label(c, s->u.loop.var),
					    lir_for_kind_name(o), var_label(c, fr->loop->u.loop.var));
	}
	return 0;
}

/* Bind variable `var` of a for/let, or fail when it is already bound. */
static int bind(checker *c, int var)
{
	if (!lir_func_var(c->f, var))
		return fail(c, "unknown variable %d", var);
	if (c->var_live[var])
		return fail(c, "variable '%s' is redefined inside its own scope", var_label(c, var));
	c->var_live[var] = true;
	return 0;
}

static int check_for(checker *c, const lir_stmt *s, const frame *up)
{
	int v = s->u.loop.var, rc;
	lir_for_kind k = s->u.loop.kind;
	frame fr = {s, up};

	snprintf(c->ctx, sizeof(c->ctx), "loop '%s'", var_label(c, v));
	if (check_typed(c, s->u.loop.lo, LIR_I64, "lower bound") ||
	    check_typed(c, s->u.loop.hi, LIR_I64, "upper bound"))
		return -1;
	if (lir_func_var(c->f, v) && lir_func_var(c->f, v)->type != LIR_I64)
		return fail(c, "variable has type %s, expected i64",
			    lir_type_name(lir_func_var(c->f, v)->type));
	if (s->u.loop.step <= 0)
		return fail(c, "step is %lld; steps must be positive", (long long)s->u.loop.step);
	if ((unsigned)k >= LIR_FOR_KIND_COUNT)
		return fail(c, "unknown loop kind %d", (int)k);
	if (s->u.loop.tail != LIR_SERIAL &&
	    (k != LIR_SERIAL || (s->u.loop.tail != LIR_VECTORIZED && s->u.loop.tail != LIR_UNROLLED)))
		return fail(c, "%s loop with tail kind %s; only serial loops carry a vectorized or "
			    "unrolled tail kind", lir_for_kind_name(k), lir_for_kind_name(s->u.loop.tail));
	if (k == LIR_PIPELINED && s->u.loop.ii < 1)
		return fail(c, "pipelined with II %lld; the II must be at least 1", (long long)s->u.loop.ii);
	if ((k == LIR_VECTORIZED || k == LIR_UNROLLED) &&
	    (s->u.loop.lo->op != LIR_CONST || s->u.loop.hi->op != LIR_CONST))
		return rt_error_set(c->err, 0, 0, "%s loop '%s' has a non-constant bound",
				    lir_for_kind_name(k), var_label(c, v));
	if (check_gpu_nesting(c, s, up) || bind(c, v))
		return -1;
	rc = check_stmt(c, s->u.loop.body, &fr);
	c->var_live[v] = false;
	return rc;
}

static int check_let(checker *c, const lir_stmt *s, const frame *up)
{
	int v = s->u.let.var, rc;
	const lir_var *var = lir_func_var(c->f, v);

	snprintf(c->ctx, sizeof(c->ctx), "let '%s'", var_label(c, v));
	if (check_typed(c, s->u.let.value, var ? var->type : s->u.let.value->type, "value") ||
	    bind(c, v))
		return -1;
	rc = check_stmt(c, s->u.let.body, up);
	c->var_live[v] = false;
	return rc;
}

static int check_alloc(checker *c, const lir_stmt *s, const frame *up)
{
	int id = s->u.alloc.buf, rc;
	const lir_buffer *b = lir_func_buffer(c->f, id);
	const lir_stmt *t;

	snprintf(c->ctx, sizeof(c->ctx), "allocate '%s'", buf_label(c, id));
	if (!b)
		return fail(c, "unknown buffer %d", id);
	if (b->scope == LIR_GLOBAL)
		return fail(c, "'%s' is a global buffer (a parameter)", b->name);
	if (c->buf_live[id])
		return fail(c, "'%s' is already allocated by an enclosing allocate", b->name);
	if (b->scope == LIR_SHARED && (t = enclosing(up, 2, 2)))
		return fail(c, "shared buffer inside %s loop '%s'",
			    lir_for_kind_name(t->u.loop.kind), var_label(c, t->u.loop.var));
	c->buf_live[id] = true;
	rc = check_stmt(c, s->u.alloc.body, up);
	c->buf_live[id] = false;
	return rc;
}

static int check_store(checker *c, const lir_stmt *s)
{
	const lir_buffer *b = lir_func_buffer(c->f, s->u.store.buf);

	snprintf(c->ctx, sizeof(c->ctx), "store to '%s'", buf_label(c, s->u.store.buf));
	if (check_buf_access(c, s->u.store.buf, "store to"))
		return -1;
	if (check_typed(c, s->u.store.index, LIR_I64, "index"))
		return -1;
	return check_typed(c, s->u.store.value, b->type, "value");
}

static int check_barrier(checker *c, const frame *up)
{
	const lir_stmt *t = enclosing(up, 2, 2);

	if (t)
		return rt_error_set(c->err, 0, 0, "barrier inside %s loop '%s'",
				    lir_for_kind_name(t->u.loop.kind), var_label(c, t->u.loop.var));
	if (!enclosing(up, 0, 0))
		return rt_error_set(c->err, 0, 0, "barrier outside a blockIdx loop");
	return 0;
}

/* Check s under the loops `up`; 0, or -1 with the error set. */
static int check_stmt(checker *c, const lir_stmt *s, const frame *up)
{
	if (!s)
		return rt_error_set(c->err, 0, 0, "%s: missing statement", c->ctx);
	switch (s->kind) {
	case LIR_FOR:
		return check_for(c, s, up);
	case LIR_IF:
		snprintf(c->ctx, sizeof(c->ctx), "if");
		if (check_typed(c, s->u.cond.cond, LIR_BOOL, "condition") ||
		    check_stmt(c, s->u.cond.then_s, up))
			return -1;
		return s->u.cond.else_s ? check_stmt(c, s->u.cond.else_s, up) : 0;
	case LIR_LET:
		return check_let(c, s, up);
	case LIR_ALLOC:
		return check_alloc(c, s, up);
	case LIR_STORE:
		return check_store(c, s);
	case LIR_SEQ:
		for (int i = 0; i < s->u.seq.n; i++)
			if (check_stmt(c, s->u.seq.s[i], up))
				return -1;
		return 0;
	case LIR_BARRIER:
		return check_barrier(c, up);
	default:
		return rt_error_set(c->err, 0, 0, "unknown statement kind %d", (int)s->kind);
	}
}

/* Every buffer and variable has a known type; buffers a positive size. */
static int check_tables(checker *c)
{
	for (int i = 0; i < lir_func_nbuffers(c->f); i++) {
		const lir_buffer *b = lir_func_buffer(c->f, i);

		if (!valid_type(b->type) || (unsigned)b->scope >= LIR_SCOPE_COUNT)
			return rt_error_set(c->err, 0, 0, "buffer '%s' has an unknown type or scope",
					    b->name);
		if (b->size <= 0)
			return rt_error_set(c->err, 0, 0, "buffer '%s' has size %lld; sizes must be positive",
					    b->name, (long long)b->size);
	}
	for (int i = 0; i < lir_func_nvars(c->f); i++)
		if (!valid_type(lir_func_var(c->f, i)->type))
			return rt_error_set(c->err, 0, 0, "variable '%s' has an unknown type",
					    var_label(c, i));
	return 0;
}

int lir_verify(const lir_func *f, rt_error *err)
{
	int nv = lir_func_nvars(f), nb = lir_func_nbuffers(f), rc = -1;
	checker c = {f, err, calloc(nv + 1, sizeof(bool)), calloc(nb + 1, sizeof(bool)), ""};

	snprintf(c.ctx, sizeof(c.ctx), "function '%s'", lir_func_name(f));
	if (!c.var_live || !c.buf_live)
		rt_error_set(err, 0, 0, "out of memory");
	else if (!lir_func_body(f))
		rt_error_set(err, 0, 0, "function '%s' has no body", lir_func_name(f));
	else if (check_tables(&c) == 0)
		rc = check_stmt(&c, lir_func_body(f), NULL);
	free(c.var_live);
	free(c.buf_live);
	return rc;
}
