/*
 * srch_cuda: measuring and tuning schedules on a CUDA GPU.
 *
 * A measurer holds the graph's buffers: seeded random inputs (the seed of
 * srch_tune), the reference outputs computed once on the CPU, and their
 * copies on the device.  Each candidate is lowered, compiled to PTX
 * (cg_cuda), loaded by the driver and launched in this process; it is
 * timed with CUDA events (the first run is the warm-up, then runs until
 * `min_time`, the median), and compared with the reference when asked (the
 * outputs are filled with NaN before, so a kernel that skips an element
 * fails).  A candidate that fails to lower, compile, load or launch, or
 * that leaves the context broken (an illegal address), is a failure with
 * its reason; the context is then reset and the search goes on.  With
 * `emulate`, kernels run on the CPU emulator (cg_cuda_compile_emu): the
 * results are checked the same way, the times mean nothing.
 *
 * It is the cuda target's srch_measurer ("cuda", or "cuda-emulator"):
 * the one tuning loop (srch_tune.h) measures with it, in the cuda space
 * pruned by the target's limits.
 */
#ifndef FTC_SRCH_CUDA_H
#define FTC_SRCH_CUDA_H

#include <isl/ctx.h>
#include <stdbool.h>

#include "cg.h"
#include "srch_tune.h"
#include "te.h"

/*
 * The naive GPU schedule of g (malloc'd text, NULL when out of memory):
 * every compute stage's spatial loops fused into one, split by 256, the
 * outer part bound to blockIdx.x and the inner to threadIdx.x (one loop
 * bound to threadIdx.x when it has at most 256 iterations); reductions
 * stay serial in each thread, stages stay at the root.
 */
char *srch_cuda_naive_schedule(const te_graph *g);

typedef struct srch_cuda srch_cuda;

/*
 * A measurer for g (verified; borrowed) on CUDA target t.  `ctx` is
 * borrowed for the reference.  NULL with err set when the driver or the
 * device is missing ("no CUDA driver (libcuda.so.1 not found)"), memory
 * runs out, or the reference cannot be computed.
 */
srch_cuda *srch_cuda_new(const te_graph *g, isl_ctx *ctx, const cg_target *t, bool emulate, rt_error *err);
srch_cuda *srch_cuda_free(srch_cuda *m);

/* What runs the kernels: "NVIDIA H100 80GB HBM3 (sm_90, driver 12.4)" or
 * "the CPU emulator". */
const char *srch_cuda_device(const srch_cuda *m);

/*
 * Measure one schedule text (see above), filling *r except r->point and
 * r->has_point (r->schedule is a malloc'd copy of `schedule`).  A failure of
 * the candidate is a record with its reason; returns -1 only when out of
 * memory.
 */
int srch_cuda_measure(srch_cuda *m, isl_ctx *ctx, const char *schedule, bool verify, double min_time,
		      srch_record *r);

/* The launch geometry of the last candidate measured, as text such as
 * "2 kernels: grid 64x1x1 block 256x1x1 (0 B shared); ...". */
const char *srch_cuda_launch_text(const srch_cuda *m);

/*
 * srch_tune_with the measurer of m (borrowed): timeout and compile_limit
 * unused (candidates run in this process).  Returns 0 with *res filled
 * (even when every candidate failed), or -1 with err set.
 */
int srch_cuda_tune(srch_cuda *m, isl_ctx *ctx, const srch_tune_opts *o, srch_result *res, rt_error *err);

#endif
