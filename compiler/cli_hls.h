/*
 * cli_hls: the driver's HLS (FPGA) side of `ftc compile` and `ftc tune`.
 */
#ifndef FTC_CLI_HLS_H
#define FTC_CLI_HLS_H

#include <isl/ctx.h>

#include "cg.h"
#include "cli.h"
#include "te.h"

/*
 * ftc compile --target hls: lower g under `schedule_text` (NULL: the naive
 * loop nest with its innermost loop pipelined), check that HLS can
 * synthesize it, and write into `outdir` (created when missing) NAME.c (the
 * kernel), NAME.h, NAME_tb.c (the C-simulation testbench) and NAME.tcl (a
 * Vitis HLS script: csim, csynth, cosim); print what was written, the
 * model's estimate and how to simulate.  `name` is a valid C identifier.
 * Returns an exit status (CLI_OK, CLI_USER_ERROR for a bad schedule or
 * one HLS cannot synthesize or an unwritable directory, CLI_INTERNAL_ERROR).
 */
int cli_compile_hls(const cli_opts *o, const te_graph *g, isl_ctx *ctx, const cg_target *t, const char *outdir,
		    const char *name, const char *schedule_text);

/*
 * ftc tune --target hls: search the HLS schedule space with the analytic
 * model (o's --trials, --time, --method, --seed, --json, --quiet,
 * --save-schedule), with a progress line like ftc tune's, then print the
 * best schedule and its modelled latency and resources against the naive
 * pipelined schedule's.  The tuning db is not used yet (see docs/hls.md).
 * Returns an exit status.
 */
int cli_tune_hls(const cli_opts *o, const te_graph *g, isl_ctx *ctx, const cg_target *t);

#endif
