/*
 * cg_range: integer ranges of loop IR expressions, for the emitter's
 * folding of loop bounds and conditions (cg_emit.h) and the CPU's splitting
 * of a tile loop into full and partial tiles.
 *
 * A range [lo, hi] holds every value an integer expression can take when
 * each variable lies in its own range.  Only exact, overflow-free bounds
 * are reported: any doubt (a load, a float, an overflow, i32 arithmetic
 * leaving i32) gives "unknown", which callers treat as "no folding".
 */
#include <stdint.h>

#include "cg_priv.h"

#include "rt_math.h"

static cg_range unknown(void)
{
	return (cg_range){0, 0, false};
}

static cg_range point(int64_t v)
{
	return (cg_range){v, v, true};
}

/* [lo, hi] when it fits the type, else unknown. */
static cg_range fit(lir_type t, int64_t lo, int64_t hi)
{
	if (t == LIR_I32 && (lo < INT32_MIN || hi > INT32_MAX))
		return unknown();
	return (cg_range){lo, hi, true};
}

static int64_t min2(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

static int64_t max2(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

static cg_range add_sub(lir_type t, bool sub, cg_range a, cg_range b)
{
	int64_t lo, hi;

	if (sub ? __builtin_sub_overflow(a.lo, b.hi, &lo) || __builtin_sub_overflow(a.hi, b.lo, &hi)
		: __builtin_add_overflow(a.lo, b.lo, &lo) || __builtin_add_overflow(a.hi, b.hi, &hi))
		return unknown();
	return fit(t, lo, hi);
}

static cg_range mul(lir_type t, cg_range a, cg_range b)
{
	int64_t p[4];

	if (__builtin_mul_overflow(a.lo, b.lo, &p[0]) || __builtin_mul_overflow(a.lo, b.hi, &p[1]) ||
	    __builtin_mul_overflow(a.hi, b.lo, &p[2]) || __builtin_mul_overflow(a.hi, b.hi, &p[3]))
		return unknown();
	return fit(t, min2(min2(p[0], p[1]), min2(p[2], p[3])), max2(max2(p[0], p[1]), max2(p[2], p[3])));
}

/* Floor division and modulo by a positive constant divisor (lir's
 * semantics; other divisors are left unknown). */
static cg_range divmod(lir_type t, bool mod, cg_range a, cg_range b)
{
	int64_t c = b.lo;

	if (b.lo != b.hi || c < 1)
		return unknown();
	if (!mod)
		return fit(t, rt_floor_div(a.lo, c), rt_floor_div(a.hi, c));
	if (rt_floor_div(a.lo, c) == rt_floor_div(a.hi, c))
		return fit(t, a.lo - rt_floor_div(a.lo, c) * c, a.hi - rt_floor_div(a.hi, c) * c);
	return fit(t, 0, c - 1);
}

cg_range cg_expr_range(const lir_expr *e, const cg_range *vars)
{
	cg_range a, b;

	if (e->type != LIR_I64 && e->type != LIR_I32)
		return unknown();
	switch (e->op) {
	case LIR_CONST:
		return point(e->c.i);
	case LIR_VAR:
		return vars[e->id];
	case LIR_CAST:
		if (e->args[0]->type != LIR_I64 && e->args[0]->type != LIR_I32)
			return unknown();
		a = cg_expr_range(e->args[0], vars);
		return a.known ? fit(e->type, a.lo, a.hi) : a;
	case LIR_NEG:
		a = cg_expr_range(e->args[0], vars);
		return a.known ? add_sub(e->type, true, point(0), a) : a;
	case LIR_ADD: case LIR_SUB: case LIR_MUL: case LIR_DIV: case LIR_MOD: case LIR_MIN: case LIR_MAX:
		break;
	default:
		return unknown();
	}
	a = cg_expr_range(e->args[0], vars);
	b = cg_expr_range(e->args[1], vars);
	if (!a.known || !b.known)
		return unknown();
	switch (e->op) {
	case LIR_ADD: return add_sub(e->type, false, a, b);
	case LIR_SUB: return add_sub(e->type, true, a, b);
	case LIR_MUL: return mul(e->type, a, b);
	case LIR_DIV: return divmod(e->type, false, a, b);
	case LIR_MOD: return divmod(e->type, true, a, b);
	case LIR_MIN: return (cg_range){min2(a.lo, b.lo), min2(a.hi, b.hi), true};
	default: return (cg_range){max2(a.lo, b.lo), max2(a.hi, b.hi), true};
	}
}

/* An integer comparison: 1 when it always holds, 0 when never, -1 unknown. */
static int compare(const lir_expr *e, const cg_range *vars)
{
	cg_range a = cg_expr_range(e->args[0], vars), b = cg_expr_range(e->args[1], vars);

	if (!a.known || !b.known)
		return -1;
	switch (e->op) {
	case LIR_LT: return a.hi < b.lo ? 1 : a.lo >= b.hi ? 0 : -1;
	case LIR_LE: return a.hi <= b.lo ? 1 : a.lo > b.hi ? 0 : -1;
	case LIR_GT: return a.lo > b.hi ? 1 : a.hi <= b.lo ? 0 : -1;
	case LIR_GE: return a.lo >= b.hi ? 1 : a.hi < b.lo ? 0 : -1;
	case LIR_EQ: return a.lo == a.hi && b.lo == b.hi && a.lo == b.lo ? 1 : a.hi < b.lo || b.hi < a.lo ? 0 : -1;
	default: return a.lo == a.hi && b.lo == b.hi && a.lo == b.lo ? 0 : a.hi < b.lo || b.hi < a.lo ? 1 : -1;
	}
}

int cg_cond_value(const lir_expr *e, const cg_range *vars)
{
	int a, b;

	switch (e->op) {
	case LIR_LT: case LIR_LE: case LIR_GT: case LIR_GE: case LIR_EQ: case LIR_NE:
		if (e->args[0]->type != LIR_I64 && e->args[0]->type != LIR_I32)
			return -1;
		return compare(e, vars);
	case LIR_NOT:
		a = cg_cond_value(e->args[0], vars);
		return a < 0 ? -1 : !a;
	case LIR_AND: case LIR_OR:
		a = cg_cond_value(e->args[0], vars);
		b = cg_cond_value(e->args[1], vars);
		if (e->op == LIR_AND)
			return a == 0 || b == 0 ? 0 : a == 1 && b == 1 ? 1 : -1;
		return a == 1 || b == 1 ? 1 : a == 0 && b == 0 ? 0 : -1;
	case LIR_CONST:
		return e->type == LIR_BOOL ? e->c.i != 0 : -1;
	default:
		return -1;
	}
}

/* e as k * var + r with at most one variable (var = -1 when none). */
static bool affine(const lir_expr *e, int *var, int64_t *k, int64_t *r)
{
	int va, vb;
	int64_t ka, kb, ra, rb;

	switch (e->op) {
	case LIR_CONST:
		*var = -1, *k = 0, *r = e->c.i;
		return true;
	case LIR_VAR:
		*var = e->id, *k = 1, *r = 0;
		return true;
	case LIR_ADD: case LIR_SUB: case LIR_MUL:
		break;
	default:
		return false;
	}
	if (!affine(e->args[0], &va, &ka, &ra) || !affine(e->args[1], &vb, &kb, &rb))
		return false;
	if (e->op == LIR_MUL) {
		if (va >= 0 && vb >= 0)
			return false;
		*var = va >= 0 ? va : vb;
		return !__builtin_mul_overflow(va >= 0 ? ka : kb, va >= 0 ? rb : ra, k) &&
		       !__builtin_mul_overflow(ra, rb, r);
	}
	if (va >= 0 && vb >= 0 && va != vb)
		return false;
	*var = va >= 0 ? va : vb;
	if (e->op == LIR_SUB)
		return !__builtin_sub_overflow(ka, kb, k) && !__builtin_sub_overflow(ra, rb, r);
	return !__builtin_add_overflow(ka, kb, k) && !__builtin_add_overflow(ra, rb, r);
}

/*
 * A split of one variable's range that makes min(c, e) (either order) the
 * constant c on one side: e = k * v + r must be affine in one variable v
 * with a known range.  Fills *var and *at (the first value of v on the
 * side where e < c may hold, for k < 0; the first where e >= c, for k > 0)
 * and returns true when the split falls strictly inside v's range.
 */
static bool min_split(const lir_expr *e, const cg_range *vars, int *var, int64_t *at, bool *low_full)
{
	const lir_expr *c = e->args[0], *x = e->args[1];
	int v;
	int64_t k, r, t;

	if (c->op != LIR_CONST) {
		c = e->args[1];
		x = e->args[0];
	}
	if (c->op != LIR_CONST || !affine(x, &v, &k, &r) || v < 0 || k == 0 || !vars[v].known)
		return false;
	/* k v + r >= c  <=>  v <= floor((r - c) / -k) (k < 0), v >= ceil((c - r) / k) (k > 0) */
	if (__builtin_sub_overflow(r, c->c.i, &t))
		return false;
	if (k < 0) {
		t = rt_floor_div(t, -k) + 1;
		*low_full = true;
	} else {
		t = -rt_floor_div(t, k);
		*low_full = false;
	}
	*var = v;
	*at = t;
	return t > vars[v].lo && t <= vars[v].hi;
}

bool cg_find_bound_split(const lir_stmt *s, const cg_range *vars, int *var, int64_t *at, bool *low_full)
{
	const lir_expr *hi = s->u.loop.hi;

	if (hi->op == LIR_MIN && min_split(hi, vars, var, at, low_full))
		return true;
	return hi->op == LIR_ADD && hi->args[0]->op == LIR_MIN && hi->args[1]->op == LIR_CONST &&
	       min_split(hi->args[0], vars, var, at, low_full);
}

bool cg_find_split(const lir_stmt *s, const cg_range *vars, int *var, int64_t *at, bool *low_full)
{
	if (!s)
		return false;
	switch (s->kind) {
	case LIR_FOR:
		if (cg_find_bound_split(s, vars, var, at, low_full))
			return true;
		return cg_find_split(s->u.loop.body, vars, var, at, low_full);
	case LIR_IF:
		return cg_find_split(s->u.cond.then_s, vars, var, at, low_full) ||
		       cg_find_split(s->u.cond.else_s, vars, var, at, low_full);
	case LIR_LET:
		return cg_find_split(s->u.let.body, vars, var, at, low_full);
	case LIR_ALLOC:
		return cg_find_split(s->u.alloc.body, vars, var, at, low_full);
	case LIR_SEQ:
		for (int i = 0; i < s->u.seq.n; i++)
			if (cg_find_split(s->u.seq.s[i], vars, var, at, low_full))
				return true;
		return false;
	default:
		return false;
	}
}
