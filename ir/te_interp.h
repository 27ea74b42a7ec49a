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

/*
 * Compare `got` with `want` (both buffers of stage s).  i32 must be equal;
 * floats pass when |got - want| <= rtol * |want| + atol with, for f32,
 * rtol = 1e-4 and atol = 1e-4 * max(1, max |want|), and for f64 1e-10 for
 * both factors: the reference accumulates in double, a kernel in its own
 * type and order, so errors grow with the magnitude of the result.
 */
te_cmp te_compare(const te_stage *s, const void *got, const void *want);

#endif
