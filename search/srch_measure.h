/*
 * srch_measure: how the tuner measures one candidate (private to search/).
 *
 * A candidate is lowered, compiled and run in a forked child (rt_isolate),
 * so that a crash, a hang, a wrong result, or a compile that never ends
 * (LLVM can take minutes on some deep unrolls) costs at most the limits and
 * is recorded as a failure with its reason.  The child warms the kernel
 * up (one untimed call), times it (a first timed run past the cutoff
 * stops there: a lower bound; timing stops early when the candidate
 * clearly cannot be the best) and compares the outputs with the reference
 * when asked to, or when the kernel beats the best so far.  A child
 * killed from outside (SIGKILL not sent by the timeout: the OOM killer)
 * is run again once; killed twice, the record is a transient failure.
 */
#ifndef FTC_SRCH_MEASURE_H
#define FTC_SRCH_MEASURE_H

#include "srch_measurer.h"
#include "te_bufs.h"

/* Timing runs: at least SRCH_MIN_RUNS (and min_time), at most
 * SRCH_MAX_RUNS; SRCH_RANK_RUNS before an early stop (rank_limit). */
#define SRCH_MIN_RUNS 3
#define SRCH_MAX_RUNS 1000
#define SRCH_RANK_RUNS 3
/* The warm-up is stopped past SRCH_COLD_FACTOR x the cutoff +
 * SRCH_COLD_SLACK seconds (a cold first call pays page faults and cold
 * caches); a warm-up longer than SRCH_LONG_RUN s is the measurement. */
#define SRCH_COLD_FACTOR 2.0
#define SRCH_COLD_SLACK 0.05
#define SRCH_LONG_RUN 0.5
/* A child killed by SIGKILL from outside is run again this many times. */
#define SRCH_RETRIES 1

/*
 * Lower, compile and measure schedule `text` in a child into *r (status,
 * reason, seconds, spread, runs, gflops, verified; r->schedule = a copy of
 * text).  0, or -1 when out of memory.
 */
int srch_measure_text(const te_bufs *b, isl_ctx *ctx, const cg_target *t, const char *text,
		      const srch_how *how, srch_record *r);

/* Lower and compile in this process (for candidates known to compile);
 * NULL with reason[256] set.  The seconds spent lowering and in LLVM go
 * to *t_lower and *t_llvm (either may be NULL). */
cg_jit *srch_build(const te_graph *g, isl_ctx *ctx, const cg_target *t, const char *text, char *reason,
		   double *t_lower, double *t_llvm);

/* Time an already compiled kernel in a child (the final re-measure):
 * 0 with *median (and r->verified when checked), or -1 with r's status
 * and reason set. */
int srch_time_jit(const te_bufs *b, cg_packed_fn fn, const srch_how *how, srch_record *r, double *median);

#endif
