/*
 * lower: a te graph and a schedule into the loop IR, with isl.
 *
 * Iteration domains and access relations are isl sets and maps; each
 * schedule primitive becomes part of an isl schedule tree (one band per
 * loop, a mark naming the loop above each band, sequences for stage order,
 * reduction init/update, compute_at and caches); bound inference for
 * compute_at and cache_read/cache_write is the image of the consumer's tile
 * through its access relations (a fixed-size box per tile); full tiles of
 * vectorized and unrolled loops are isolated so that those loops have
 * constant trip counts, with a separate tail; the loop nest comes from
 * isl's AST generator and is translated into lir.  Dependence analysis
 * refuses parallel, vectorized and GPU-bound loops that carry a dependence,
 * and the final schedule is checked with isl's dataflow analysis: every
 * read of a computed value must have a write that precedes it.
 */
#ifndef FTC_LOWER_H
#define FTC_LOWER_H

#include <isl/ctx.h>

#include "lir.h"
#include "sched.h"
#include "te.h"

/*
 * Lower the verified graph `g` under schedule `s` (NULL: the naive
 * schedule, every stage's loops in axis order) into a new lir function
 * named `name` whose parameters are g's inputs then outputs, in stage
 * order.  `ctx` is borrowed.  Returns the function (caller frees with
 * lir_func_free), or NULL with `err` naming the offending step (and its
 * line:column in the schedule text) when the schedule is illegal.
 */
lir_func *lir_lower(const te_graph *g, const sch_schedule *s, isl_ctx *ctx,
		    const char *name, rt_error *err);

/* lir_lower with flags: LIR_LOWER_TRUSTED skips the final dataflow check
 * (a safety net on the construction that costs seconds on deep tilings);
 * the tuner uses it, since it verifies every new best against the
 * reference instead.  The dependence checks always run. */
enum { LIR_LOWER_TRUSTED = 1 };

/* Limits on what one schedule may cost (docs/schedules.md, "Limits"):
 * LIR_MAX_UNROLL: copies of a stage's body that its nested unrolled loops
 * (its own and those of the stages it is computed in) may make, counted
 * as the product of their trip counts; more is refused at the unroll step
 * that passes it.  LIR_MAX_ISL_OPS: isl operations (isl's own count, of
 * simplex pivots) each phase of lowering may spend; a phase that needs
 * more is refused as "schedule too complex to analyse", except the
 * dataflow check, a safety net that is then skipped.  A caller's smaller
 * isl_ctx_set_max_operations limit applies instead; the caller's limit is
 * restored on return (its count is reset). */
#define LIR_MAX_UNROLL 4096
#define LIR_MAX_ISL_OPS 4000000UL
lir_func *lir_lower_flags(const te_graph *g, const sch_schedule *s, isl_ctx *ctx,
			  const char *name, unsigned flags, rt_error *err);

/* LIR_MAX_PHASE_SECONDS: CPU time (of the lowering thread) each phase may
 * spend, for the work isl's operation count does not see (minutes between
 * two counted operations in its AST generator and in isl_map_deltas): a
 * watchdog thread aborts isl past it (isl_ctx_abort) and the phase is
 * refused like one over LIR_MAX_ISL_OPS ("... needs more than 20 s of CPU
 * time").  lir_lower_limited: the same with a smaller limit (0: the
 * default). */
#define LIR_MAX_PHASE_SECONDS 20.0
lir_func *lir_lower_limited(const te_graph *g, const sch_schedule *s, isl_ctx *ctx,
			    const char *name, unsigned flags, double max_seconds, rt_error *err);

#endif
