/*
 * rt_math: ftc's one integer floor division and floor modulo, and the one
 * comparison of doubles for qsort.
 *
 * Integer `/` and `%` mean floor division and floor modulo everywhere in
 * ftc (the .te language, the loop IR, its interpreter, constant folding,
 * range analyses, the generated LLVM, CUDA and HLS C code), as in isl.
 * They are total, so that no input makes them undefined:
 *
 *   a / b  rounds toward minus infinity;  a % b = a - b * (a / b), which
 *          has the sign of b (or is 0);
 *   a / 0 = 0 and a % 0 = 0;
 *   a / -1 = -a wrapping (INT64_MIN / -1 = INT64_MIN) and a % -1 = 0.
 *
 * Narrower types (i32) compute in int64_t and wrap the quotient to their
 * width, so INT32_MIN / -1 = INT32_MIN there too.  Generated code must
 * compute the same values (codegen/cg_emit.c floor_divmod, the HLS C
 * helpers ftc_fdiv and ftc_fmod); tests/test_basics.c checks the table
 * and that the loop IR interpreter and the JIT agree on it.
 */
#ifndef FTC_RT_MATH_H
#define FTC_RT_MATH_H

#include <stdint.h>

/* a / b rounded toward minus infinity; 0 when b is 0; a / -1 wraps. */
static inline int64_t rt_floor_div(int64_t a, int64_t b)
{
	int64_t q;

	if (b == 0)
		return 0;
	if (b == -1)
		return (int64_t)(0 - (uint64_t)a);
	q = a / b;
	return a % b != 0 && (a < 0) != (b < 0) ? q - 1 : q;
}

/* a - b * rt_floor_div(a, b): the sign of b; 0 when b is 0 or -1. */
static inline int64_t rt_floor_mod(int64_t a, int64_t b)
{
	int64_t r;

	if (b == 0 || b == -1)
		return 0;
	r = a % b;
	return r != 0 && (r < 0) != (b < 0) ? r + b : r;
}

/* qsort's comparison of two doubles, ascending (NaNs compare equal to
 * everything: samples are never NaN). */
int rt_cmp_double(const void *a, const void *b);

#endif
