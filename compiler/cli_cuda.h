/*
 * cli_cuda: the CUDA target of ftc run.
 *
 * Each entry point takes the parsed options, the verified graph, the isl
 * context and the parsed cuda target, prints what ftc prints for that
 * command and returns its exit status (CLI_OK, CLI_USER_ERROR,
 * CLI_INTERNAL_ERROR).  `schedule_text` NULL means the naive GPU schedule
 * (srch_cuda_naive_schedule).  Setting FTC_CUDA_EMULATE=1 makes run
 * use the CPU emulator instead of the driver (correctness only).
 */
#ifndef FTC_CLI_CUDA_H
#define FTC_CLI_CUDA_H

#include <isl/ctx.h>

#include "cg.h"
#include "cli.h"
#include "te.h"

/* What ftc says when there is no CUDA driver (and what works without one). */
extern const char cli_cuda_no_driver[];

/* Whether FTC_CUDA_EMULATE asks for the CPU emulator instead of the driver. */
bool cli_cuda_emulated(void);

/* ftc run --target cuda: run the schedule on the GPU, compare with the
 * reference, time it (CUDA events, warm-up, median) and print GFLOP/s. */
int cli_run_cuda(const cli_opts *o, const te_graph *g, isl_ctx *ctx, const cg_target *t,
		 const char *schedule_text);

#endif
