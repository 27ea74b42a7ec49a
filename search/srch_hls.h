/*
 * srch_hls: the schedule search for FPGAs, with the analytic model
 * (codegen/hls_model.h) as the cost instead of a measurement.
 *
 * Each candidate point of the HLS space becomes a schedule, is lowered
 * (trusted mode, as the CPU tuner does), checked by cg_hls_lint and
 * estimated: its cost is the modelled latency in seconds at the target's
 * clock.  It is the hls target's srch_measurer ("hls-model").  A point over the part's DSP, BRAM or LUT budget is a failure
 * whose reason says which ("DSP 7200 > 6840"), as is one that does not
 * lower or synthesize; the search goes on.  The explorers are srch_explore's
 * (sa-q, random), the records, progress and record callbacks srch_tune's,
 * so the tuning db can store HLS records like measured ones.
 */
#ifndef FTC_SRCH_HLS_H
#define FTC_SRCH_HLS_H

#include <isl/ctx.h>

#include "hls_model.h"
#include "srch_tune.h"

/* The tuner checks its best by interpreting the loop IR against the
 * reference when the graph has at most this many flops (beyond, the
 * interpretation would take minutes; C simulation at small shapes in the
 * tests covers the generated code). */
#define SRCH_HLS_VERIFY_FLOPS 5e7

/* The schedule of the HLS space's default point of g: the naive loop nest
 * with its innermost loop pipelined at II 1 ("naive pipelined").  malloc'd;
 * NULL with `err` set. */
char *srch_hls_default_schedule(const te_graph *g, rt_error *err);

/*
 * Lower schedule text `schedule` of g (NULL: the HLS space's default point,
 * the naive loop nest with its innermost loop pipelined), lint it and
 * estimate it on t into *e.  `trusted` skips lowering's dataflow check.
 * 0, or -1 with `err` saying why (a schedule that does not parse or lower,
 * a construct HLS cannot synthesize, the model's limits).
 */
int srch_hls_estimate(const te_graph *g, isl_ctx *ctx, const cg_target *t, const char *schedule, bool trusted,
		      hls_estimate *e, rt_error *err);

/*
 * srch_tune for HLS target t (the one loop with the "hls-model" measurer,
 * srch_measurer.h): timeout, min_time, cutoff_ratio and final_top do not
 * apply (the model is deterministic).  The naive pipelined schedule (the
 * default point) is the first trial unless the history knows it; sa-q
 * then estimates 10% of the budget (8 to 200) of random points, which
 * seed the annealing, before it walks.  Records hold the modelled seconds
 * (runs = 1, spread 0) and the GFLOP/s they imply; the first candidate
 * and each new best are checked by interpretation when g has at most
 * SRCH_HLS_VERIFY_FLOPS flops (`verified`; a wrong one is SRCH_WRONG).
 */
int srch_tune_hls(const te_graph *g, isl_ctx *ctx, const cg_target *t, const srch_tune_opts *o,
		  srch_result *res, rt_error *err);

#endif
