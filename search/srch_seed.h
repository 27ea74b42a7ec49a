/*
 * srch_seed: constructed starting points, derived from the machine's facts
 * and each stage's access pattern before any search (issue 15, item 1).
 *
 * The facts (srch_machine): the vector width and the number of vector
 * registers (from the target's features), the data cache sizes (from the
 * host's /sys/devices/system/cpu/cpu0/cache) and the threads of parallel
 * loops.  A reducing stage gets a GotoBLAS/BLIS-style nest (Low et al.,
 * "Analytical modeling is enough for high-performance BLIS", TOMS 2016):
 * a register tile of mr rows (the largest non-vector spatial axis) by nv
 * vectors of the innermost spatial axis (when that axis has fewer vectors,
 * rows of the next largest spatial axis make up for them: conv2d's k x p x
 * q tiles), accumulated in registers over the
 * whole reduction (cache_write at the tile, its rows unrolled, the vector
 * axis vectorized), the tile's columns walked inside a panel of that axis
 * sized so that the panel of the operands not indexed by the rows fits
 * half of L2, those operands packed once per panel (cache_read at the last
 * S0 loop).  The tile shapes are mr x nv in {4x4, 6x2, 8x2, 4x2} on 32
 * registers, {4x2, 6x2, 3x4, 4x1} on 16, each with and without packing.
 * Other compute stages vectorize the innermost axis, inline or compute_at
 * injective producers; outer loops run in parallel when the target has
 * more than one thread.  Where a stage has the rfactor knob (RF), the
 * first shape is also offered with RF 1 (the reduction in vector lanes)
 * and 2 (also in threads), right after it.  Every constructed point is a point of the space
 * (srch_point_valid), so an explorer can start from it.
 */
#ifndef FTC_SRCH_SEED_H
#define FTC_SRCH_SEED_H

#include "cg.h"
#include "srch_space.h"

/* At most this many constructed points per workload. */
#define SRCH_SEED_MAX 10

/* The facts the construction uses. */
typedef struct srch_machine {
	int vector_bits;         /* widest vector register */
	int vregs;               /* vector registers */
	int64_t l1, l2, l3;      /* data cache bytes (L1/L2 per core, L3 shared) */
	int threads;             /* threads of parallel loops */
} srch_machine;

/*
 * The facts of target t (CPU): vectors from its features, caches from
 * `cache_dir` (NULL: /sys/devices/system/cpu/cpu0/cache; a missing or
 * unreadable level keeps the default 32 KiB / 1 MiB / 32 MiB), threads
 * from t->threads (0: the online cores).
 */
void srch_machine_of(const cg_target *t, const char *cache_dir, srch_machine *m);

/*
 * Up to `max` distinct constructed points of s (a CPU space) for machine m
 * into out; returns how many (0 for GPU and HLS spaces).
 */
int srch_seed_points(const srch_space *s, const srch_machine *m, srch_point *out, int max);

#endif
