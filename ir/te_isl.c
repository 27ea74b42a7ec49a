/*
 * te_isl: te stages and expressions as isl objects.
 *
 * Objects are built with the isl_aff API rather than parsed from text, so
 * that any stage or axis name (even one that is an isl keyword) and any
 * 64-bit constant is represented exactly.
 */
#include "te_isl.h"

#include <stdint.h>

#include <isl/local_space.h>
#include <isl/space.h>
#include <isl/val.h>

#include "rt_math.h"

/* ---- constant folding ---- */

/*
 * Whether `e` is a constant-valued i32 expression; if so, store its value
 * in *v.  False on an overflow of 64-bit arithmetic or a division by zero.
 */
static bool const_value(const te_expr *e, int64_t *v)
{
	int64_t a, b;

	if (e->type != TE_I32)
		return false;
	if (e->op == TE_CONST) {
		*v = e->c.i;
		return true;
	}
	if (e->op == TE_NEG) {
		if (!const_value(e->args[0], &a) || a == INT64_MIN)
			return false;
		*v = -a;
		return true;
	}
	switch (e->op) {
	case TE_ADD:
	case TE_SUB:
	case TE_MUL:
	case TE_DIV:
	case TE_MOD:
	case TE_MIN:
	case TE_MAX:
		break;
	default:
		return false;
	}
	if (!const_value(e->args[0], &a) || !const_value(e->args[1], &b))
		return false;
	switch (e->op) {
	case TE_ADD:
		return !__builtin_add_overflow(a, b, v);
	case TE_SUB:
		return !__builtin_sub_overflow(a, b, v);
	case TE_MUL:
		return !__builtin_mul_overflow(a, b, v);
	case TE_DIV:
	case TE_MOD:
		if (b == 0 || (a == INT64_MIN && b == -1))
			return false;
		*v = e->op == TE_DIV ? rt_floor_div(a, b) : rt_floor_mod(a, b);
		return true;
	case TE_MIN:
		*v = a < b ? a : b;
		return true;
	default:
		*v = a > b ? a : b;
		return true;
	}
}

/* Whether `e` is a positive constant-valued expression; its value in *v. */
static bool positive_const(const te_expr *e, int64_t *v)
{
	return const_value(e, v) && *v > 0;
}

/* ---- which expressions are affine ---- */

static bool aff_affine(const te_expr *e)
{
	int64_t c;

	if (e->type != TE_I32)
		return false;
	switch (e->op) {
	case TE_CONST:
	case TE_AXIS:
		return true;
	case TE_NEG:
		return aff_affine(e->args[0]);
	case TE_ADD:
	case TE_SUB:
	case TE_MIN:
	case TE_MAX:
		return aff_affine(e->args[0]) && aff_affine(e->args[1]);
	case TE_MUL:
		return aff_affine(e->args[0]) && aff_affine(e->args[1]) &&
		       (const_value(e->args[0], &c) || const_value(e->args[1], &c));
	case TE_DIV:
	case TE_MOD:
		return aff_affine(e->args[0]) && positive_const(e->args[1], &c);
	default:
		return false;
	}
}

static bool cond_affine(const te_expr *e)
{
	if (e->type != TE_BOOL)
		return false;
	switch (e->op) {
	case TE_CONST:
		return true;
	case TE_NOT:
		return cond_affine(e->args[0]);
	case TE_AND:
	case TE_OR:
		return cond_affine(e->args[0]) && cond_affine(e->args[1]);
	case TE_EQ:
	case TE_NE:
		if (e->args[0]->type == TE_BOOL)
			return cond_affine(e->args[0]) && cond_affine(e->args[1]);
		/* fall through */
	case TE_LT:
	case TE_LE:
	case TE_GT:
	case TE_GE:
		return aff_affine(e->args[0]) && aff_affine(e->args[1]);
	default:
		return false;
	}
}

bool te_isl_affine(const te_expr *e)
{
	return e && (e->type == TE_BOOL ? cond_affine(e) : aff_affine(e));
}

/* ---- spaces and boxes ---- */

/* S[a0, ..., a(n-1)] with the stage's tuple and axis names. */
static __isl_give isl_space *stage_space(isl_ctx *ctx, const te_stage *s)
{
	int n = s->rank + s->nreduce;
	isl_space *space = isl_space_set_alloc(ctx, 0, n);

	space = isl_space_set_tuple_name(space, isl_dim_set, s->name);
	for (int i = 0; i < n; i++)
		if (s->axes[i].name) /* inputs have no axis names */
			space = isl_space_set_dim_name(space, isl_dim_set, i, s->axes[i].name);
	return space;
}

/* T[x0, ..., x(r-1)]: the element space of tensor `t`. */
static __isl_give isl_space *tensor_space(isl_ctx *ctx, const te_stage *t)
{
	isl_space *space = isl_space_set_alloc(ctx, 0, t->rank);

	return isl_space_set_tuple_name(space, isl_dim_set, t->name);
}

/* { space : 0 <= x_i < ext[i] } */
static __isl_give isl_set *box(isl_ctx *ctx, __isl_take isl_space *space, int n, const int64_t *ext)
{
	isl_set *set = isl_set_universe(space);

	for (int i = 0; i < n; i++) {
		isl_val *hi = isl_val_int_from_si(ctx, ext[i] - 1);

		set = isl_set_lower_bound_si(set, isl_dim_set, i, 0);
		set = isl_set_upper_bound_val(set, isl_dim_set, i, hi);
	}
	return set;
}

__isl_give isl_set *te_isl_domain(isl_ctx *ctx, const te_stage *s)
{
	int64_t ext[TE_MAX_AXES];
	int n = s->rank + s->nreduce;

	for (int i = 0; i < n; i++)
		ext[i] = i < s->rank ? s->shape[i] : s->axes[i].extent;
	return box(ctx, stage_space(ctx, s), n, ext);
}

__isl_give isl_set *te_isl_box(isl_ctx *ctx, const te_stage *t)
{
	return box(ctx, tensor_space(ctx, t), t->rank, t->shape);
}

/* ---- affine expressions ---- */

static __isl_give isl_pw_aff *const_pa(__isl_keep isl_local_space *ls, int64_t v)
{
	isl_ctx *ctx = isl_local_space_get_ctx(ls);

	return isl_pw_aff_from_aff(
	    isl_aff_val_on_domain(isl_local_space_copy(ls), isl_val_int_from_si(ctx, v)));
}

/*
 * The affine i32 expression `e` (te_isl_affine holds) on the space of `ls`.
 * Returns NULL for a node that is not affine, an axis out of range or a
 * NULL `ls`.
 */
static __isl_give isl_pw_aff *build_pa(__isl_keep isl_local_space *ls, const te_expr *e)
{
	isl_ctx *ctx = isl_local_space_get_ctx(ls);
	int64_t c;

	if (!ls)
		return NULL;
	if (const_value(e, &c))
		return const_pa(ls, c);
	switch (e->op) {
	case TE_AXIS:
		if (e->index < 0 || e->index >= isl_local_space_dim(ls, isl_dim_set))
			return NULL;
		return isl_pw_aff_from_aff(
		    isl_aff_var_on_domain(isl_local_space_copy(ls), isl_dim_set, e->index));
	case TE_NEG:
		return isl_pw_aff_neg(build_pa(ls, e->args[0]));
	case TE_ADD:
		return isl_pw_aff_add(build_pa(ls, e->args[0]), build_pa(ls, e->args[1]));
	case TE_SUB:
		return isl_pw_aff_sub(build_pa(ls, e->args[0]), build_pa(ls, e->args[1]));
	case TE_MIN:
		return isl_pw_aff_min(build_pa(ls, e->args[0]), build_pa(ls, e->args[1]));
	case TE_MAX:
		return isl_pw_aff_max(build_pa(ls, e->args[0]), build_pa(ls, e->args[1]));
	case TE_MUL:
		if (const_value(e->args[0], &c))
			return isl_pw_aff_scale_val(build_pa(ls, e->args[1]),
						    isl_val_int_from_si(ctx, c));
		if (const_value(e->args[1], &c))
			return isl_pw_aff_scale_val(build_pa(ls, e->args[0]),
						    isl_val_int_from_si(ctx, c));
		return NULL;
	case TE_DIV:
		if (!positive_const(e->args[1], &c))
			return NULL;
		return isl_pw_aff_floor(isl_pw_aff_scale_down_val(build_pa(ls, e->args[0]),
								  isl_val_int_from_si(ctx, c)));
	case TE_MOD:
		if (!positive_const(e->args[1], &c))
			return NULL;
		return isl_pw_aff_mod_val(build_pa(ls, e->args[0]), isl_val_int_from_si(ctx, c));
	default:
		return NULL;
	}
}

__isl_give isl_pw_aff *te_isl_index(isl_ctx *ctx, const te_stage *s, const te_expr *e)
{
	isl_local_space *ls;
	isl_pw_aff *pa;

	if (!aff_affine(e))
		return NULL;
	ls = isl_local_space_from_space(stage_space(ctx, s));
	pa = build_pa(ls, e);
	isl_local_space_free(ls);
	return pa;
}

__isl_give isl_map *te_isl_access(isl_ctx *ctx, const te_graph *g, const te_stage *s,
				  const te_expr *load)
{
	const te_stage *t = te_graph_stage(g, load->index);
	isl_local_space *ls;
	isl_pw_aff_list *list;
	isl_space *space;
	isl_map *map;

	if (load->op != TE_LOAD || !t || load->nargs != t->rank)
		return NULL;
	for (int d = 0; d < t->rank; d++)
		if (!aff_affine(load->args[d]))
			return NULL;
	space = stage_space(ctx, s);
	ls = isl_local_space_from_space(isl_space_copy(space));
	list = isl_pw_aff_list_alloc(ctx, t->rank);
	for (int d = 0; d < t->rank; d++)
		list = isl_pw_aff_list_add(list, build_pa(ls, load->args[d]));
	isl_local_space_free(ls);
	space = isl_space_map_from_domain_and_range(space, tensor_space(ctx, t));
	map = isl_map_from_multi_pw_aff(isl_multi_pw_aff_from_pw_aff_list(space, list));
	return isl_map_intersect_domain(map, te_isl_domain(ctx, s));
}

/* ---- conditions ---- */

/* The comparison `op` after a negation: !(a < b) is a >= b, and so on. */
static te_op flip(te_op op)
{
	switch (op) {
	case TE_LT:
		return TE_GE;
	case TE_LE:
		return TE_GT;
	case TE_GT:
		return TE_LE;
	case TE_GE:
		return TE_LT;
	case TE_EQ:
		return TE_NE;
	default:
		return TE_EQ;
	}
}

/* { x : a(x) op b(x) } for a comparison of i32 expressions. */
static __isl_give isl_set *compare(te_op op, __isl_take isl_pw_aff *a, __isl_take isl_pw_aff *b)
{
	switch (op) {
	case TE_LT:
		return isl_pw_aff_lt_set(a, b);
	case TE_LE:
		return isl_pw_aff_le_set(a, b);
	case TE_GT:
		return isl_pw_aff_gt_set(a, b);
	case TE_GE:
		return isl_pw_aff_ge_set(a, b);
	case TE_EQ:
		return isl_pw_aff_eq_set(a, b);
	default:
		return isl_pw_aff_ne_set(a, b);
	}
}

/*
 * The points of the space of `ls` where the affine condition `e` holds,
 * or fails when `neg`: negations are pushed down to the comparisons
 * (De Morgan), so no complement is taken except for == and != of
 * conditions.
 */
static __isl_give isl_set *build_cond(__isl_keep isl_local_space *ls, const te_expr *e, bool neg)
{
	isl_set *a, *b, *na, *nb, *u;

	switch (e->op) {
	case TE_CONST:
		if ((e->c.i != 0) != neg)
			return isl_set_universe(isl_local_space_get_space(ls));
		return isl_set_empty(isl_local_space_get_space(ls));
	case TE_NOT:
		return build_cond(ls, e->args[0], !neg);
	case TE_AND:
	case TE_OR:
		a = build_cond(ls, e->args[0], neg);
		b = build_cond(ls, e->args[1], neg);
		return (e->op == TE_AND) != neg ? isl_set_intersect(a, b) : isl_set_union(a, b);
	default:
		break;
	}
	if (e->args[0]->type != TE_BOOL)
		return compare(neg ? flip(e->op) : e->op, build_pa(ls, e->args[0]),
			       build_pa(ls, e->args[1]));
	/* a == b of conditions: (a && b) || (!a && !b); != is the other pair. */
	a = build_cond(ls, e->args[0], false);
	b = build_cond(ls, e->args[1], false);
	u = isl_set_universe(isl_local_space_get_space(ls));
	na = isl_set_subtract(isl_set_copy(u), isl_set_copy(a));
	nb = isl_set_subtract(u, isl_set_copy(b));
	if ((e->op == TE_EQ) != neg)
		return isl_set_union(isl_set_intersect(a, b), isl_set_intersect(na, nb));
	return isl_set_union(isl_set_intersect(a, nb), isl_set_intersect(na, b));
}

__isl_give isl_set *te_isl_cond(isl_ctx *ctx, const te_stage *s, const te_expr *cond, bool negate)
{
	isl_local_space *ls;
	isl_set *set;

	if (!cond_affine(cond))
		return NULL;
	ls = isl_local_space_from_space(stage_space(ctx, s));
	set = build_cond(ls, cond, negate);
	isl_local_space_free(ls);
	return isl_set_intersect(set, te_isl_domain(ctx, s));
}
