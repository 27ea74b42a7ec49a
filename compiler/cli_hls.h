/*
 * cli_hls: the driver's HLS (FPGA) side of `ftc tune`.
 */
#ifndef FTC_CLI_HLS_H
#define FTC_CLI_HLS_H

#include <isl/ctx.h>

#include "cg.h"
#include "cli.h"
#include "te.h"

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
