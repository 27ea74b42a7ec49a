/*
 * sched_rfactor: the rfactor step, a rewrite of the te graph and the
 * schedule that lowering then takes as they are (TVM's and Halide's
 * rfactor).
 *
 *   rfactor S L      L: a loop of S made of reduce axes only
 *
 * S's reduction (sum, max, min: associative and commutative, with an
 * identity) is computed in two stages:
 *
 *   S.rf[x.., L] = red(R..) body     R..: S's other reduce loops, in their
 *                                    leaf order; the reduce axes of body
 *                                    become expressions of L and R..
 *   S[x..]       = red(L) S.rf[x.., L]
 *
 * x.. are S's spatial axes; L is S.rf's last spatial axis (so that S reads
 * S.rf's rows and a vectorized L is contiguous) and S's one reduce axis,
 * both named as the loop was.  Where a split of a reduce axis has a
 * partial last tile, the body is guarded: outside the axis's extent it is
 * the identity (0, -inf / INT32_MIN, +inf / INT32_MAX).
 *
 * Before `rfactor S L`, S's steps may only split, fuse and reorder S's
 * reduce loops: they shape S.rf's axes and are then used up.  S's steps
 * after it schedule the new S (its loops: x.., L), and S.rf's steps
 * (which must come after it) schedule S.rf (loops x.., L, R..).  A stage
 * is factored once; S.rf may be factored in turn (S.rf.rf).
 *
 * Floating-point sums are reassociated (as lowering already does for
 * reductions, docs/decisions.md); i32 sums wrap, so they stay exact.
 */
#ifndef FTC_SCHED_RFACTOR_H
#define FTC_SCHED_RFACTOR_H

#include "rt_error.h"
#include "sched.h"
#include "te.h"

/*
 * Apply every rfactor step of `s` (kept) to the verified graph `g`
 * (kept), in order.  When `s` has none, *gout and *sout are NULL: lower g
 * and s as they are.  Otherwise *gout and *sout receive a new graph (same
 * inputs and outputs, in the same order, so the lowered function has g's
 * parameters) and schedule without rfactor steps, which the caller frees.
 * Returns 0, or -1 with `err` at the offending step's line:column (both
 * outputs NULL).
 */
int sch_rfactor_apply(const te_graph *g, const sch_schedule *s, te_graph **gout,
		      sch_schedule **sout, rt_error *err);

#endif
