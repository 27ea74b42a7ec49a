/*
 * cli_cuda: ftc run and tune for a cuda target (cli_cuda.h); ftc compile's
 * library is the cuda back end's (codegen/cg_cuda_lib.c).
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

static const char no_driver_tail[] =
	"ftc compile --target cuda works without one; FTC_CUDA_EMULATE=1 runs the kernels on the CPU emulator "
	"(results only, no timings)";

/* ---- run and tune ---- */

static bool emulate(void)
{
	const char *e = getenv("FTC_CUDA_EMULATE");

	return e && *e && strcmp(e, "0") != 0;
}

/* A measurer, or NULL after printing why (no driver: the standard words). */
static srch_cuda *open_gpu(const char *cmd, const te_graph *g, isl_ctx *ctx, const cg_target *t, int *status)
{
	rt_error err;
	srch_cuda *m;

	rt_error_clear(&err);
	if (!emulate() && !rt_cuda_driver_present()) {
		fprintf(stderr, "ftc %s: no CUDA driver on this machine (libcuda.so.1 not found); %s\n", cmd,
			no_driver_tail);
		*status = CLI_USER_ERROR;
		return NULL;
	}
	if (!(m = srch_cuda_new(g, ctx, t, emulate(), &err))) {
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
		       r.spread * 100, r.runs, emulate() ? ", emulated: not a GPU time" : "", r.gflops);
	}
	free(r.schedule);
	free(naive);
	srch_cuda_free(m);
	return rc;
}

static void print_tuned(const cli_opts *o, const srch_cuda *m, const srch_result *r, const char *target)
{
	const srch_record *b = r->best >= 0 ? &r->records[r->best] : NULL;
	double naive = isfinite(r->naive_seconds) && r->naive_seconds > 0 ? r->naive_seconds : 0;
	int failures = 0;

	for (int i = 0; i < r->nrecords; i++)
		failures += r->records[i].status != SRCH_OK;
	if (o->json) {
		printf("{\"target\": \"%s\", \"device\": \"%s\", \"trials\": %d, \"failures\": %d, \"seconds\": %.3f, "
		       "\"best_gflops\": %.4f, \"naive_gflops\": %.4f}\n",
		       target, srch_cuda_device(m), r->nrecords, failures, r->elapsed, b ? b->gflops : 0,
		       naive > 0 && b ? b->gflops * b->seconds / naive : 0);
		return;
	}
	printf("tuned %s for %s on %s: %d trials (%d failed) in %.1f s, stopped by %s\n", o->file ? o->file : "?",
	       target, srch_cuda_device(m), r->nrecords, failures, r->elapsed,
	       r->stop_reason[0] ? r->stop_reason : "?");
	if (!b) {
		printf("no candidate ran successfully\n");
		return;
	}
	printf("best: %.2f GFLOP/s (%.4g ms, verified%s), naive %.2f GFLOP/s, speedup %.2fx\n", b->gflops,
	       b->seconds * 1e3, r->remeasured ? ", re-measured" : "", naive > 0 ? b->gflops * b->seconds / naive : 0,
	       naive > 0 ? naive / b->seconds : 0);
	printf("schedule:\n%s%s", b->schedule, b->schedule[0] && b->schedule[strlen(b->schedule) - 1] != '\n' ? "\n" : "");
}

int cli_tune_cuda(const cli_opts *o, const te_graph *g, isl_ctx *ctx, const cg_target *t)
{
	srch_tune_opts to;
	srch_result r;
	rt_error err;
	srch_cuda *m;
	cli_progress ui;
	char ts[256];
	int rc = CLI_OK;

	if ((rc = cli_tune_options(o, &to)) || !(m = open_gpu("tune", g, ctx, t, &rc)))
		return rc;
	to.min_time = 0.05;
	cli_progress_start(&ui, o, "", &to);
	cg_target_string(t, ts, sizeof(ts));
	rt_error_clear(&err);
	rc = srch_cuda_tune(m, ctx, &to, &r, &err);
	cli_progress_stop(&ui);
	cli_progress_end(&ui);
	if (rc) {
		fprintf(stderr, "%s: error: %s\n", o->file ? o->file : "ftc tune", err.msg);
		srch_cuda_free(m);
		return CLI_INTERNAL_ERROR;
	}
	print_tuned(o, m, &r, ts);
	if (r.best < 0)
		rc = CLI_USER_ERROR;
	else if (o->save_schedule && cli_save_schedule("tune", o, r.records[r.best].schedule))
		rc = CLI_USER_ERROR;
	srch_result_release(&r);
	srch_cuda_free(m);
	return rc;
}
