/*
 * te_verify: check a te graph before anything else reads it.
 */
#ifndef FTC_TE_VERIFY_H
#define FTC_TE_VERIFY_H

#include <isl/ctx.h>

#include "te.h"

/*
 * Verify `g`:
 *  - the size limits of te.h: extents at most TE_MAX_EXTENT, each tensor at
 *    most TE_MAX_TENSOR_BYTES, each stage at most TE_MAX_POINTS points, the
 *    graph at most TE_MAX_FLOPS operations (all counted with checked
 *    arithmetic), so every later count fits in int64;
 *  - every compute stage has a body; axis references are in range; every
 *    reduce axis is used in the body; i32 constants fit in i32;
 *  - loads name existing stages with the right rank; types agree;
 *  - no cycles: a stage reads only stages defined before it, never itself;
 *  - every load index is (quasi-)affine in the stage's axes, and no
 *    intermediate value of a load index or of an affine select condition
 *    leaves i32 over the domain (interval arithmetic), so isl's exact
 *    arithmetic, the generated code and the interpreter agree;
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
