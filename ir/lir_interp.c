/*
 * lir_interp: run a lir function serially by walking its tree.
 *
 * The function is verified first, so every id, type and scope below is
 * known to be consistent.  Values are a union of double (f32, f64) and
 * int64_t (i32, i64, bool); variables live in an array indexed by variable
 * id, buffers in an array of pointers indexed by buffer id.  Semantics,
 * chosen to match what a compiled kernel computes:
 *  - f32 arithmetic is rounded to float after every operation (an exact
 *    double result rounded once, which for + - * / sqrt equals the float
 *    operation); exp, log, tanh on f32 call expf, logf, tanhf; min and max
 *    on floats are fmin and fmax.
 *  - i32 and i64 wrap modulo 2^32 and 2^64 (unsigned arithmetic; an i32 is
 *    held sign-extended).  Integer / and % are floor division and floor
 *    modulo; by 0 they give 0; INT_MIN / -1 wraps to INT_MIN.
 *  - float -> integer casts truncate toward zero, map NaN to 0 and clamp
 *    to the target's range; casts to bool are `!= 0`.
 *  - && and || short-circuit and select evaluates only the selected
 *    operand, so a guarded load that would be out of bounds is never made
 *    (as the te semantics require of every unselected load).
 *  - A load or store outside its buffer stops the run with an error.
 *  - An allocate callocs its buffer on entry and frees it on exit, so an
 *    allocate under block loops is made per block, under thread loops per
 *    thread.  Every loop kind runs serially; a barrier does nothing.
 */
#include "lir.h"

#include <math.h>
#include <stdlib.h>

#include "rt_math.h"

typedef union lval {
	double f;  /* f32, f64 */
	int64_t i; /* i32 (sign-extended), i64, bool */
} lval;

typedef struct interp {
	const lir_func *f;
	rt_error *err;
	lval *vars;   /* per variable id */
	void **bufs;  /* per buffer id: its memory, NULL when not allocated */
	bool failed;  /* an error stopped the run */
} interp;

/* ---- values ---- */

static int64_t wrap32(uint64_t u)
{
	u &= UINT64_C(0xffffffff);
	return u >= UINT64_C(0x80000000) ? (int64_t)u - INT64_C(0x100000000) : (int64_t)u;
}

/* u as an int64_t, modulo 2^64, without implementation-defined conversion. */
static int64_t wrap64(uint64_t u)
{
	return u <= INT64_MAX ? (int64_t)u : -(int64_t)(UINT64_MAX - u) - 1;
}

/* The integer u of type t, wrapped to that type. */
static int64_t wrap(uint64_t u, lir_type t)
{
	return t == LIR_I32 ? wrap32(u) : t == LIR_BOOL ? (u != 0) : wrap64(u);
}

/* A float v truncated and clamped to integer type t (NaN gives 0). */
static int64_t float_to_int(double v, lir_type t)
{
	double lo = t == LIR_I32 ? -2147483648.0 : -9223372036854775808.0;
	double hi = t == LIR_I32 ? 2147483648.0 : 9223372036854775808.0;

	if (t == LIR_BOOL)
		return v != 0;
	if (isnan(v))
		return 0;
	if (v >= hi)
		return t == LIR_I32 ? INT32_MAX : INT64_MAX;
	if (v <= lo)
		return t == LIR_I32 ? INT32_MIN : INT64_MIN;
	return (int64_t)v;
}

/* Convert a of type `from` to type `to`. */
static lval cast(lval a, lir_type from, lir_type to)
{
	lval r;

	if (lir_type_is_float(from) && lir_type_is_float(to))
		r.f = to == LIR_F32 ? (double)(float)a.f : a.f;
	else if (lir_type_is_float(from))
		r.i = float_to_int(a.f, to);
	else if (to == LIR_F32)
		r.f = (double)(float)a.i; /* one rounding, straight from the integer */
	else if (to == LIR_F64)
		r.f = (double)a.i;
	else
		r.i = wrap((uint64_t)a.i, to);
	return r;
}

/* A float op on operands of type t (f32 results rounded to float). */
static double float_op(lir_op op, lir_type t, double a, double b)
{
	bool f32 = t == LIR_F32;
	double r;

	switch (op) {
	case LIR_NEG: r = -a; break;
	case LIR_ADD: r = a + b; break;
	case LIR_SUB: r = a - b; break;
	case LIR_MUL: r = a * b; break;
	case LIR_DIV: r = a / b; break;
	case LIR_MOD: r = b == 0 ? 0 : a - floor(a / b) * b; break;
	case LIR_MIN: r = fmin(a, b); break;
	case LIR_MAX: r = fmax(a, b); break;
	case LIR_ABS: r = fabs(a); break;
	case LIR_EXP: r = f32 ? expf((float)a) : exp(a); break;
	case LIR_LOG: r = f32 ? logf((float)a) : log(a); break;
	case LIR_SQRT: r = f32 ? sqrtf((float)a) : sqrt(a); break;
	case LIR_TANH: r = f32 ? tanhf((float)a) : tanh(a); break;
	default: r = 0;
	}
	return f32 ? (double)(float)r : r;
}

/* An integer op on operands of type t, wrapped to t. */
static int64_t int_op(lir_op op, lir_type t, int64_t a, int64_t b)
{
	uint64_t ua = (uint64_t)a, ub = (uint64_t)b, r;

	switch (op) {
	case LIR_NEG: r = 0 - ua; break;
	case LIR_ADD: r = ua + ub; break;
	case LIR_SUB: r = ua - ub; break;
	case LIR_MUL: r = ua * ub; break;
	case LIR_DIV: r = (uint64_t)rt_floor_div(a, b); break;
	case LIR_MOD: r = (uint64_t)rt_floor_mod(a, b); break;
	case LIR_MIN: r = (uint64_t)(a < b ? a : b); break;
	case LIR_MAX: r = (uint64_t)(a > b ? a : b); break;
	case LIR_ABS: r = a < 0 ? 0 - ua : ua; break;
	default: r = 0;
	}
	return wrap(r, t);
}

/* A comparison of a and b of type t. */
static bool compare(lir_op op, lir_type t, lval a, lval b)
{
	int lt, gt;

	if (lir_type_is_float(t)) {
		switch (op) {
		case LIR_LT: return a.f < b.f;
		case LIR_LE: return a.f <= b.f;
		case LIR_GT: return a.f > b.f;
		case LIR_GE: return a.f >= b.f;
		case LIR_EQ: return a.f == b.f;
		default: return a.f != b.f;
		}
	}
	lt = a.i < b.i;
	gt = a.i > b.i;
	switch (op) {
	case LIR_LT: return lt;
	case LIR_LE: return !gt;
	case LIR_GT: return gt;
	case LIR_GE: return !lt;
	case LIR_EQ: return !lt && !gt;
	default: return lt || gt;
	}
}

/* ---- memory ---- */

/* Whether buffer `id` holds index i; else stop the run naming both. */
static bool in_bounds(interp *in, int id, int64_t i, const char *what)
{
	const lir_buffer *b = lir_func_buffer(in->f, id);

	if (i >= 0 && i < b->size)
		return true;
	rt_error_set(in->err, 0, 0, "%s '%s': index %lld is outside [0, %lld)", what, b->name,
		     (long long)i, (long long)b->size);
	in->failed = true;
	return false;
}

static lval read_elem(const void *p, lir_type t, int64_t i)
{
	lval v;

	switch (t) {
	case LIR_F32: v.f = ((const float *)p)[i]; break;
	case LIR_F64: v.f = ((const double *)p)[i]; break;
	case LIR_I32: v.i = ((const int32_t *)p)[i]; break;
	case LIR_I64: v.i = ((const int64_t *)p)[i]; break;
	default: v.i = ((const unsigned char *)p)[i] != 0;
	}
	return v;
}

static void write_elem(void *p, lir_type t, int64_t i, lval v)
{
	switch (t) {
	case LIR_F32: ((float *)p)[i] = (float)v.f; break;
	case LIR_F64: ((double *)p)[i] = v.f; break;
	case LIR_I32: ((int32_t *)p)[i] = (int32_t)wrap32((uint64_t)v.i); break;
	case LIR_I64: ((int64_t *)p)[i] = v.i; break;
	default: ((unsigned char *)p)[i] = v.i != 0;
	}
}

/* ---- expressions ---- */

/* The value of e; on an error in->failed is set and the value is 0. */
static lval eval(interp *in, const lir_expr *e)
{
	lval a, b, r = {.i = 0};
	lir_type t;

	switch (e->op) {
	case LIR_CONST:
		return lir_type_is_float(e->type) ? (lval){.f = e->c.f} : (lval){.i = e->c.i};
	case LIR_VAR:
		return in->vars[e->id];
	case LIR_LOAD:
		a = eval(in, e->args[0]);
		if (in->failed || !in_bounds(in, e->id, a.i, "load of"))
			return r;
		return read_elem(in->bufs[e->id], e->type, a.i);
	case LIR_CAST:
		return cast(eval(in, e->args[0]), e->args[0]->type, e->type);
	case LIR_SELECT:
		a = eval(in, e->args[0]);
		return in->failed ? r : eval(in, e->args[a.i ? 1 : 2]);
	case LIR_NOT:
		r.i = !eval(in, e->args[0]).i;
		return r;
	case LIR_AND:
	case LIR_OR:
		a = eval(in, e->args[0]);
		r.i = e->op == LIR_AND ? a.i && eval(in, e->args[1]).i
				       : a.i || eval(in, e->args[1]).i;
		return r;
	default:
		break;
	}
	t = e->args[0]->type;
	a = eval(in, e->args[0]);
	b = e->nargs > 1 ? eval(in, e->args[1]) : a;
	if (e->op >= LIR_LT && e->op <= LIR_NE)
		r.i = compare(e->op, t, a, b);
	else if (lir_type_is_float(t))
		r.f = float_op(e->op, t, a.f, b.f);
	else
		r.i = int_op(e->op, t, a.i, b.i);
	return r;
}

/* ---- statements ---- */

static int exec(interp *in, const lir_stmt *s);

/* for (v = lo; v < hi; v += step), bounds evaluated once. */
static int exec_for(interp *in, const lir_stmt *s)
{
	int64_t lo = eval(in, s->u.loop.lo).i, hi, v;
	uint64_t step = (uint64_t)s->u.loop.step;

	hi = eval(in, s->u.loop.hi).i;
	if (in->failed)
		return -1;
	for (v = lo; v < hi; v = wrap64((uint64_t)v + step)) {
		in->vars[s->u.loop.var].i = v;
		if (exec(in, s->u.loop.body))
			return -1;
		if ((uint64_t)hi - (uint64_t)v <= step)
			break;
	}
	return 0;
}

/* allocate buf { body }: zeroed memory for the body's run only. */
static int exec_alloc(interp *in, const lir_stmt *s)
{
	int id = s->u.alloc.buf, rc;
	const lir_buffer *b = lir_func_buffer(in->f, id);
	void *saved = in->bufs[id];
	size_t esize = lir_type_size(b->type);

	if ((uint64_t)b->size > SIZE_MAX / esize ||
	    !(in->bufs[id] = calloc((size_t)b->size, esize))) {
		in->bufs[id] = saved;
		in->failed = true;
		return rt_error_set(in->err, 0, 0, "out of memory allocating '%s' (%lld elements)",
				    b->name, (long long)b->size);
	}
	rc = exec(in, s->u.alloc.body);
	free(in->bufs[id]);
	in->bufs[id] = saved;
	return rc;
}

static int exec_store(interp *in, const lir_stmt *s)
{
	int id = s->u.store.buf;
	lval i = eval(in, s->u.store.index), v;

	if (in->failed)
		return -1;
	v = eval(in, s->u.store.value);
	if (in->failed || !in_bounds(in, id, i.i, "store to"))
		return -1;
	write_elem(in->bufs[id], lir_func_buffer(in->f, id)->type, i.i, v);
	return 0;
}

/* Run s; 0, or -1 with the error set. */
static int exec(interp *in, const lir_stmt *s)
{
	lval c;

	switch (s->kind) {
	case LIR_FOR:
		return exec_for(in, s);
	case LIR_IF:
		c = eval(in, s->u.cond.cond);
		if (in->failed)
			return -1;
		if (c.i)
			return exec(in, s->u.cond.then_s);
		return s->u.cond.else_s ? exec(in, s->u.cond.else_s) : 0;
	case LIR_LET:
		c = eval(in, s->u.let.value);
		if (in->failed)
			return -1;
		in->vars[s->u.let.var] = c;
		return exec(in, s->u.let.body);
	case LIR_ALLOC:
		return exec_alloc(in, s);
	case LIR_STORE:
		return exec_store(in, s);
	case LIR_SEQ:
		for (int i = 0; i < s->u.seq.n; i++)
			if (exec(in, s->u.seq.s[i]))
				return -1;
		return 0;
	default: /* LIR_BARRIER: every thread loop before it has finished */
		return 0;
	}
}

int lir_interp_run(const lir_func *f, void *const *params, rt_error *err)
{
	int nv = lir_func_nvars(f), nb = lir_func_nbuffers(f), rc = -1;
	interp in = {f, err, calloc(nv + 1, sizeof(lval)), calloc(nb + 1, sizeof(void *)), false};

	if (!in.vars || !in.bufs) {
		rt_error_set(err, 0, 0, "out of memory");
		goto done;
	}
	if (lir_verify(f, err))
		goto done;
	for (int i = 0; i < lir_func_nparams(f); i++) {
		int id = lir_func_param(f, i);

		if (!params || !params[i]) {
			rt_error_set(err, 0, 0, "parameter %d ('%s') of '%s' is NULL", i,
				     lir_func_buffer(f, id)->name, lir_func_name(f));
			goto done;
		}
		in.bufs[id] = params[i];
	}
	rc = exec(&in, lir_func_body(f));
done:
	free(in.vars);
	free(in.bufs);
	return rc;
}
