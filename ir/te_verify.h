/*
 * te_verify: check a te graph before anything else reads it.
 */
#ifndef FTC_TE_VERIFY_H
#define FTC_TE_VERIFY_H

#include <isl/ctx.h>

#include "te.h"

/*
 * Verify `g`:
 *  - every compute stage has a body; axis references are in range;
 *  - loads name existing stages with the right rank; types agree;
 *  - no cycles: a stage reads only stages defined before it, never itself;
 *  - every load index is (quasi-)affine in the stage's axes;
 *  - with isl: every load stays inside the loaded tensor's shape over the
 *    stage's domain, restricted by the affine conditions of the enclosing
 *    `select` branches; a violation names the access and an out-of-bounds
 *    point, e.g. "load I[h - 1] of 'P' is out of bounds at h = 0, w = 3:
 *    index 0 is -1, outside [0, 56)".
 * `ctx` is borrowed.  Returns 0, or -1 with `err` set (position of the
 * offending expression when known).
 */
int te_verify(const te_graph *g, isl_ctx *ctx, rt_error *err);

#endif
