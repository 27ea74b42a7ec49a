/*
 * te_interp: the reference interpreter, the oracle every kernel is checked
 * against.
 */
#ifndef FTC_TE_INTERP_H
#define FTC_TE_INTERP_H

#include "te.h"

/*
 * Evaluate every compute stage of the verified graph `g` in order.
 * `bufs[id]` is the row-major buffer of stage `id` (te_stage_numel elements
 * of its type): inputs must be filled; the buffer of a compute stage that is
 * not an output may be NULL, and is then allocated and freed here.
 * Floats are evaluated in double and rounded to the stage's type when
 * stored; i32 wraps modulo 2^32; integer division by zero gives 0.
 * Returns 0, or -1 with `err` set (out of memory, missing output buffer).
 */
int te_interp_run(const te_graph *g, void *const *bufs, rt_error *err);

/*
 * Fill `buf` (the buffer of stage `s`) with seeded pseudo-random values:
 * floats uniform in [-1, 1), i32 uniform in [-8, 8].  The values depend
 * only on `seed` and s->id, the same on every machine.
 */
void te_random_fill(const te_stage *s, void *buf, uint64_t seed);

/* The result of comparing a kernel's output with the reference. */
typedef struct te_cmp {
	double max_abs;  /* largest |got - want| */
	double max_rel;  /* largest |got - want| / max(|want|, 1e-30) */
	int64_t worst;   /* the element with the largest excess over tolerance */
	int64_t nbad;    /* elements outside tolerance (NaN counts as outside) */
	bool ok;
} te_cmp;

/* The relative tolerances of a kernel's output that no sum makes longer,
 * and the factor of a long sum's (te_compare_rtol). */
#define TE_RTOL_F32 1e-4
#define TE_RTOL_F64 1e-10
#define TE_RTOL_SUM_LAMBDA 32

/*
 * The relative tolerance of stage s's outputs: 0 for i32; for floats the
 * larger of TE_RTOL_<type> and lambda sqrt(L) u, capped at 1, with u the
 * unit roundoff (2^-24 for f32, 2^-53 for f64), L the length of the
 * stage's sum (the product of its reduce extents; 1 for max, min or no
 * reduction) and lambda = TE_RTOL_SUM_LAMBDA.  A kernel sums in another
 * order and type than the reference (which accumulates in double), and
 * the error of a sum of L terms grows like sqrt(L) u with high
 * probability (Higham and Mary, "A new approach to probabilistic rounding
 * error analysis", SISC 2019), against L u in the worst case.  lambda = 32
 * passes the serial f32 sum of examples/sum.te (L = 2^22, relative error
 * 1.5e-3 of its result, tolerance 3.9e-3) and leaves GEMM's and conv2d's
 * (L <= 4608: 1.3e-4) at about 1e-4, so a wrong tile still fails.
 */
double te_compare_rtol(const te_stage *s);

/*
 * Compare `got` with `want` (both buffers of stage s).  i32 must be equal;
 * floats pass when |got - want| <= rtol * |want| + rtol * max(1, max
 * |want|) with rtol = te_compare_rtol(s): errors grow with the magnitude
 * of the result and with the length of its sum.
 */
te_cmp te_compare(const te_stage *s, const void *got, const void *want);

#endif
