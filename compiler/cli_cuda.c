/*
 * cli_cuda: ftc run for a cuda target (cli_cuda.h); ftc compile's
 * library is the cuda back end's (codegen/cg_cuda_lib.c) and ftc tune is
 * cli_tune.c's for every target.
 */
#include "cli_cuda.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_verify.h"
#include "rt_cuda.h"
#include "srch_cuda.h"

const char cli_cuda_no_driver[] =
	"no CUDA driver on this machine (libcuda.so.1 not found); ftc compile --target cuda works without one; "
	"FTC_CUDA_EMULATE=1 runs the kernels on the CPU emulator (results only, no timings)";

bool cli_cuda_emulated(void)
{
	const char *e = getenv("FTC_CUDA_EMULATE");

	return e && *e && strcmp(e, "0") != 0;
}

/* ---- run ---- */

/* A measurer, or NULL after printing why (no driver: the standard words). */
static srch_cuda *open_gpu(const char *cmd, const te_graph *g, isl_ctx *ctx, const cg_target *t, int *status)
{
	rt_error err;
	srch_cuda *m;

	rt_error_clear(&err);
	if (!cli_cuda_emulated() && !rt_cuda_driver_present()) {
		fprintf(stderr, "ftc %s: %s\n", cmd, cli_cuda_no_driver);
		*status = CLI_USER_ERROR;
		return NULL;
	}
	if (!(m = srch_cuda_new(g, ctx, t, cli_cuda_emulated(), &err))) {
		fprintf(stderr, "ftc %s: cannot use the GPU: %s\n", cmd, err.msg);
		*status = CLI_USER_ERROR;
	}
	return m;
}

int cli_run_cuda(const cli_opts *o, const te_graph *g, isl_ctx *ctx, const cg_target *t, const char *schedule_text)
{
	char *naive = schedule_text ? NULL : srch_cuda_naive_schedule(g);
	const char *schedule = schedule_text ? schedule_text : naive;
	srch_record r;
	srch_cuda *m;
	int rc = CLI_OK;

	if (!schedule || !(m = open_gpu("run", g, ctx, t, &rc))) {
		if (!schedule)
			fprintf(stderr, "ftc run: out of memory\n");
		free(naive);
		return schedule ? rc : CLI_INTERNAL_ERROR;
	}
	memset(&r, 0, sizeof(r));
	printf("device: %s\n", srch_cuda_device(m));
	if (srch_cuda_measure(m, ctx, schedule, true, 0.2, &r)) {
		fprintf(stderr, "ftc run: out of memory\n");
		rc = CLI_INTERNAL_ERROR;
	} else if (r.status != SRCH_OK) {
		printf("%s\n", srch_cuda_launch_text(m));
		if (r.status == SRCH_WRONG)
			printf("MISMATCH: %s\n", r.reason);
		else
			fprintf(stderr, "%s: error: %s\n", o && o->file ? o->file : "ftc run", r.reason);
		rc = CLI_USER_ERROR;
	} else {
		printf("%s\nverified\n", srch_cuda_launch_text(m));
		printf("time: median %.4g ms (spread %.1f%%, %d runs%s), %.2f GFLOP/s\n", r.seconds * 1e3,
		       r.spread * 100, r.runs, cli_cuda_emulated() ? ", emulated: not a GPU time" : "", r.gflops);
	}
	free(r.schedule);
	free(naive);
	srch_cuda_free(m);
	return rc;
}
