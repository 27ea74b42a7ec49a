/*
 * te_isl: te stages and expressions as isl objects.
 *
 * A stage S with axes a0 .. a(n-1) (spatial, then reduce) lives in the set
 * space S[a0, ..., a(n-1)]: the tuple is named after the stage and each
 * dimension after its axis.  An affine i32 expression of S is an isl_pw_aff
 * on that space; a load of T from S is a map S[...] -> T[...].
 *
 * Quasi-affine (te_isl_affine) means: axes, i32 constants, + and -, unary
 * -, * with at least one constant-valued side, / and % by a positive
 * constant-valued expression (floor division and modulo, as in isl), and
 * min/max of those.  A condition is affine when it is built of true/false,
 * comparisons of affine i32 expressions, ==/!= of affine conditions,
 * &&, || and !.  Constant-valued means built of constants alone, and is
 * folded in 64-bit arithmetic (an overflow or a division by zero makes the
 * expression non-affine).
 *
 * Every function borrows its te arguments and the ctx (__isl_keep) and
 * gives a new isl object (__isl_give), or NULL: for a non-affine
 * expression (no isl error is raised then) or when isl fails (then
 * isl_ctx_last_error(ctx) is set).
 */
#ifndef FTC_TE_ISL_H
#define FTC_TE_ISL_H

#include <stdbool.h>

#include <isl/aff.h>
#include <isl/ctx.h>
#include <isl/map.h>
#include <isl/set.h>

#include "te.h"

/* Whether `e` (type i32, or bool for a condition) is quasi-affine in the
 * axes, as described above. */
bool te_isl_affine(const te_expr *e);

/* { S[a0, ..., a(n-1)] : 0 <= a_i < extent_i } over the spatial and reduce
 * axes of `s` (for an input: over its shape, with unnamed dimensions). */
__isl_give isl_set *te_isl_domain(isl_ctx *ctx, const te_stage *s);

/* { T[x0, ..., x(r-1)] : 0 <= x_d < shape_d }: the elements of tensor `t`. */
__isl_give isl_set *te_isl_box(isl_ctx *ctx, const te_stage *t);

/* The affine i32 expression `e` of stage `s` as a function on S's space
 * (defined everywhere, not only on the domain); NULL if `e` is not affine. */
__isl_give isl_pw_aff *te_isl_index(isl_ctx *ctx, const te_stage *s, const te_expr *e);

/* { S[axes] -> T[idx...] } for the load `load` (a TE_LOAD node of stage
 * `s` reading T in `g`) over S's domain; NULL if an index is not affine. */
__isl_give isl_map *te_isl_access(isl_ctx *ctx, const te_graph *g, const te_stage *s,
				  const te_expr *load);

/* The points of S's domain where the bool condition `cond` holds (fails,
 * when `negate`); NULL if `cond` is not affine. */
__isl_give isl_set *te_isl_cond(isl_ctx *ctx, const te_stage *s, const te_expr *cond, bool negate);

#endif
