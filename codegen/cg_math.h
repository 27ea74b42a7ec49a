/*
 * cg_math: exp and log built from LLVM IR arithmetic, for f32 and f64,
 * scalars and vectors alike, so that a vectorized loop keeps its vectors
 * (LLVM's llvm.exp/llvm.log on a vector become one libm call per lane on
 * a target without a vector math library) and a target without libm (the
 * GPU's f64) has them at all.
 *
 *   exp: x = n ln2 + r with |r| <= ln2 / 2 (ln2 in two parts), a Taylor
 *        polynomial of r (degree 7 for f32, 13 for f64), times 2^n in two
 *        steps so that results near the subnormal range round right;
 *        overflow gives inf, NaN stays NaN.
 *   log: x = 2^e m with m in [sqrt(1/2), sqrt(2)), log m = 2 atanh(s),
 *        s = (m - 1) / (m + 1), by its series (6 terms for f32, 12 for
 *        f64); subnormals are scaled first; x < 0 gives NaN, 0 gives -inf,
 *        inf and NaN themselves.
 * Both are within a few units in the last place of the correctly rounded
 * result (tests/test_codegen.c compares them with libm).
 */
#ifndef FTC_CG_MATH_H
#define FTC_CG_MATH_H

#include "cg_emit.h"

/* exp or log (is_exp false) of x: an f32 or f64 scalar or vector. */
LLVMValueRef cg_math_exp_log(cg_emit *g, bool is_exp, LLVMValueRef x);

#endif
