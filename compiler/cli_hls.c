/*
 * cli_hls: `ftc tune --target hls` (cli_hls.h): a search with the
 * analytic model.  ftc compile's HLS files are the hls back end's.
 */
#include "cli_hls.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_verify.h"
#include "hls_model.h"
#include "lir.h"
#include "srch_hls.h"

/* ---- ftc tune --target hls ---- */

static void json_estimate(const char *key, const hls_estimate *e)
{
	printf(", \"%s\": {\"cycles\": %.0f, \"ms\": %.6g, \"dsp\": %lld, \"bram18k\": %lld, \"lut\": %lld, \"fits\": %s}",
	       key, e->cycles, e->seconds * 1e3, (long long)e->dsp, (long long)e->bram18k, (long long)e->lut,
	       e->fits ? "true" : "false");
}

/* The estimates of the best and the naive pipelined schedules, printed. */
static void print_result(const cli_opts *o, const te_graph *g, const cg_target *t, const srch_result *r,
			 const hls_estimate *best, const hls_estimate *naive, bool have_naive)
{
	const srch_record *b = r->best >= 0 ? &r->records[r->best] : NULL;
	char ts[256], text[4096];
	int failures = 0;

	cg_target_string(t, ts, sizeof(ts));
	for (int i = 0; i < r->nrecords; i++)
		failures += r->records[i].status != SRCH_OK;
	if (o->json) {
		printf("{\"file\": ");
		cli_json_string(stdout, o->file);
		printf(", \"target\": ");
		cli_json_string(stdout, ts);
		printf(", \"trials\": %d, \"failures\": %d, \"seconds\": %.3f, \"stop\": ", r->nrecords, failures, r->elapsed);
		cli_json_string(stdout, r->stop_reason);
		if (have_naive)
			json_estimate("naive", naive);
		if (b) {
			json_estimate("best", best);
			printf(", \"verified\": %s, \"schedule\": ", b->verified ? "true" : "false");
			cli_json_string(stdout, b->schedule);
		}
		printf("}\n");
		return;
	}
	printf("tuned %s for %s with the model: %d trials (%d failed or over budget) in %.1f s, stopped by %s\n", o->file,
	       ts, r->nrecords, failures, r->elapsed, r->stop_reason[0] ? r->stop_reason : "?");
	if (have_naive) {
		hls_estimate_summary(naive, t, text, sizeof(text));
		printf("naive pipelined:\n%s", text);
	}
	if (!b) {
		printf("no candidate fits the part\n");
		return;
	}
	hls_estimate_summary(best, t, text, sizeof(text));
	printf("best (%.2f GFLOP/s modelled%s):\n%s", b->gflops,
	       b->verified ? ", verified by interpretation" : te_graph_flops(g) > SRCH_HLS_VERIFY_FLOPS
								   ? ", not interpreted: too large; C simulation checks small shapes"
								   : "",
	       text);
	if (have_naive && best->cycles > 0)
		printf("speedup over naive pipelined: %.1fx\n", naive->cycles / best->cycles);
	printf("schedule:\n%s%s", b->schedule,
	       b->schedule[0] && b->schedule[strlen(b->schedule) - 1] != '\n' ? "\n" : "");
}

int cli_tune_hls(const cli_opts *o, const te_graph *g, isl_ctx *ctx, const cg_target *t)
{
	srch_tune_opts to;
	srch_result r;
	hls_estimate *est = calloc(2, sizeof(*est));
	cli_progress ui;
	rt_error err;
	bool have_naive;
	int rc;

	if (!est) {
		fprintf(stderr, "ftc tune: out of memory\n");
		return CLI_INTERNAL_ERROR;
	}
	if ((rc = cli_tune_options(o, &to))) {
		free(est);
		return rc;
	}
	cli_progress_start(&ui, o, " (model)", &to);
	rt_error_clear(&err);
	rc = srch_tune_hls(g, ctx, t, &to, &r, &err);
	cli_progress_stop(&ui);
	cli_progress_end(&ui);
	if (rc) {
		fprintf(stderr, "%s: error: %s\n", o->file, err.msg);
		free(est);
		return CLI_INTERNAL_ERROR;
	}
	have_naive = srch_hls_estimate(g, ctx, t, NULL, true, &est[1], &err) == 0;
	if (r.best >= 0 && srch_hls_estimate(g, ctx, t, r.records[r.best].schedule, true, &est[0], &err)) {
		fprintf(stderr, "%s: internal error: the best schedule no longer estimates: %s\n", o->file, err.msg);
		rc = CLI_INTERNAL_ERROR;
	}
	print_result(o, g, t, &r, &est[0], &est[1], have_naive);
	if (!rc && r.best < 0)
		rc = CLI_USER_ERROR;
	else if (!rc && o->save_schedule && cli_save_schedule("tune", o, r.records[r.best].schedule))
		rc = CLI_USER_ERROR;
	srch_result_release(&r);
	free(est);
	return rc;
}
