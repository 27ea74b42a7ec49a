/*
 * cli_hls: `ftc compile --target hls` and `ftc tune --target hls` (see
 * cli_hls.h): HLS C files and a search with the analytic model.
 */
#include "cli_hls.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cg_hls.h"
#include "cli_verify.h"
#include "hls_model.h"
#include "lir.h"
#include "lower.h"
#include "sched.h"
#include "srch_hls.h"

/* ---- files ---- */

/* Like `mkdir -p dir`.  0, or -1 after printing why not. */
static int make_dirs(const char *dir)
{
	char *p = strdup(dir);
	struct stat st;

	if (!p) {
		fprintf(stderr, "ftc compile: out of memory\n");
		return -1;
	}
	for (char *s = p + 1;; s++) {
		char c = *s;

		if (c != '/' && c != '\0')
			continue;
		*s = '\0';
		if (mkdir(p, 0777) != 0 && errno != EEXIST) {
			fprintf(stderr, "ftc compile: cannot create directory '%s': %s\n", p, strerror(errno));
			free(p);
			return -1;
		}
		*s = c;
		if (!c)
			break;
	}
	free(p);
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "ftc compile: '%s' is not a directory\n", dir);
		return -1;
	}
	return 0;
}

/* Write DIR/NAME+SUFFIX atomically.  0, or -1 after printing why not. */
static int write_file(const char *dir, const char *name, const char *suffix, const char *text)
{
	size_t n = strlen(dir) + strlen(name) + strlen(suffix) + 2;
	char *path = malloc(n);
	int rc;

	if (!path) {
		fprintf(stderr, "ftc compile: out of memory\n");
		return -1;
	}
	snprintf(path, n, "%s/%s%s", dir, name, suffix);
	rc = cli_write_atomic("compile", path, text, strlen(text)) ? -1 : 0;
	free(path);
	return rc;
}

/* ---- ftc compile --target hls ---- */

/* The texts of the four files. */
typedef struct hls_files {
	char *c, *h, *tb, *tcl;
} hls_files;

static void files_free(hls_files *F)
{
	free(F->c);
	free(F->h);
	free(F->tb);
	free(F->tcl);
	memset(F, 0, sizeof(*F));
}

/* Lower g under schedule text (checked fully) into a function named
 * `name`, verified and linted.  NULL after printing the error (*rc the
 * exit status). */
static lir_func *lower_for_hls(const cli_opts *o, const te_graph *g, isl_ctx *ctx, const char *text,
			       const char *name, int *rc)
{
	sch_schedule *s = NULL;
	lir_func *f = NULL;
	rt_error err;

	rt_error_clear(&err);
	*rc = CLI_USER_ERROR;
	if (text && !(s = sch_parse(text, &err))) {
		cli_lower_error(o, text, &err);
		return NULL;
	}
	if (!(f = lir_lower(g, s, ctx, name, &err))) {
		cli_lower_error(o, text, &err);
	} else if (lir_verify(f, &err)) {
		fprintf(stderr, "%s: internal error: the lowered loop IR is invalid: %s\n", o->file, err.msg);
		*rc = CLI_INTERNAL_ERROR;
		f = lir_func_free(f);
	} else if (cg_hls_lint(f, &err)) {
		fprintf(stderr, "%s: error: %s\n", o->schedule ? o->schedule : o->file, err.msg);
		f = lir_func_free(f);
	}
	sch_free(s);
	return f;
}

/* Generate the four files of kernel f (reference ref).  An exit status. */
static int generate(const te_graph *g, const cg_target *t, const lir_func *f, const lir_func *ref,
		    const cg_hls_info *info, hls_files *F)
{
	rt_error err;

	rt_error_clear(&err);
	if (!(F->c = cg_hls_kernel(f, g, info, &err)) || !(F->h = cg_hls_header(f, g, info, &err)) ||
	    !(F->tb = cg_hls_testbench(f, ref, g, info, &err)) || !(F->tcl = cg_hls_tcl(t, info, &err))) {
		fprintf(stderr, "ftc compile: %s\n", err.msg);
		return CLI_INTERNAL_ERROR;
	}
	if (cg_hls_lint_c(F->c, &err)) {
		fprintf(stderr, "ftc compile: internal error: %s.c:%d:%d: %s\n", info->name, err.line, err.col, err.msg);
		return CLI_INTERNAL_ERROR;
	}
	return CLI_OK;
}

static int write_all(const char *outdir, const char *name, const hls_files *F)
{
	if (make_dirs(outdir) || write_file(outdir, name, ".c", F->c) || write_file(outdir, name, ".h", F->h) ||
	    write_file(outdir, name, "_tb.c", F->tb) || write_file(outdir, name, ".tcl", F->tcl))
		return CLI_USER_ERROR;
	return CLI_OK;
}

/* The model's summary of f (malloc'd; NULL when the model cannot say). */
static char *estimate_text(const lir_func *f, const cg_target *t, bool *fits)
{
	hls_estimate *e = malloc(sizeof(*e));
	char *text = malloc(4096);
	rt_error err;

	rt_error_clear(&err);
	*fits = true;
	if (!e || !text || hls_model_estimate(f, t, e, &err)) {
		if (text && e)
			fprintf(stderr, "ftc compile: warning: no model estimate: %s\n", err.msg);
		free(e);
		free(text);
		return NULL;
	}
	hls_estimate_summary(e, t, text, 4096);
	*fits = e->fits;
	free(e);
	return text;
}

int cli_compile_hls(const cli_opts *o, const te_graph *g, isl_ctx *ctx, const cg_target *t, const char *outdir,
		    const char *name, const char *schedule_text)
{
	char ts[256], refname[TE_MAX_NAME + 8], *own = NULL, *canon = NULL;
	lir_func *f = NULL, *ref = NULL;
	hls_files F = {0};
	cg_hls_info info = {name, ts, NULL, NULL};
	rt_error err;
	bool fits = true;
	int rc = CLI_INTERNAL_ERROR;

	rt_error_clear(&err);
	cg_target_string(t, ts, sizeof(ts));
	snprintf(refname, sizeof(refname), "%s_ref", name);
	if (!schedule_text && !(schedule_text = own = srch_hls_default_schedule(g, &err))) {
		fprintf(stderr, "%s: error: %s\n", o->file, err.msg);
		return CLI_INTERNAL_ERROR;
	}
	if (!(f = lower_for_hls(o, g, ctx, schedule_text, name, &rc)))
		goto out;
	if (!(ref = lir_lower(g, NULL, ctx, refname, &err))) {
		fprintf(stderr, "%s: internal error: the naive schedule does not lower: %s\n", o->file, err.msg);
		rc = CLI_INTERNAL_ERROR;
		goto out;
	}
	{
		sch_schedule *s = sch_parse(schedule_text, NULL);

		canon = s ? sch_print(s) : NULL;
		sch_free(s);
	}
	if (own && canon) { /* say what the default is, as a comment of the schedule */
		char *t = malloc(strlen(canon) + 80);

		if (t)
			sprintf(t, "# naive pipelined: the innermost loop of the naive loop nest\n%s", canon);
		free(canon);
		canon = t;
	}
	info.schedule = canon ? canon : schedule_text;
	info.estimate = estimate_text(f, t, &fits);
	if ((rc = generate(g, t, f, ref, &info, &F)) || (rc = cli_check_lir(o, g, f)) ||
	    (rc = write_all(outdir, name, &F)))
		goto out;
	printf("compiled %s for %s, schedule %s\n", name, ts,
	       own ? "naive pipelined (the innermost loop of the naive nest)" : o->schedule ? o->schedule : "given");
	printf("wrote %s/: %s.c %s.h %s_tb.c %s.tcl\n", outdir, name, name, name, name);
	if (info.estimate)
		printf("model estimate:\n%s", info.estimate);
	if (!fits)
		fprintf(stderr, "ftc compile: warning: the model puts this schedule over the part's budget\n");
	printf("C simulation: cc -std=c11 -O2 -I %s %s/%s.c %s/%s_tb.c -lm -o %s_csim && ./%s_csim\n", outdir, outdir,
	       name, outdir, name, name, name);
	printf("Vitis HLS:    cd %s && vitis_hls -f %s.tcl\n", outdir, name);
out:
	files_free(&F);
	free((char *)info.estimate);
	free(canon);
	free(own);
	lir_func_free(f);
	lir_func_free(ref);
	return rc;
}

/* ---- ftc tune --target hls ---- */

typedef struct hls_ui {
	bool live, lines;
	int last_tenth;
} hls_ui;

static void progress(void *user, const srch_progress *p)
{
	hls_ui *ui = user;

	if (ui->live) {
		fprintf(stderr, "\r\033[Ktrial %d%s%.0d  best %.2f GFLOP/s (model)  last %.2f  failures %d  elapsed %.0fs",
			p->trial, p->trials ? "/" : "", p->trials, p->best_gflops, p->last_gflops, p->failures,
			p->elapsed);
		fflush(stderr);
	} else if (ui->lines && p->trials > 0 && p->trial * 10 / p->trials > ui->last_tenth) {
		ui->last_tenth = p->trial * 10 / p->trials;
		fprintf(stderr, "trial %d/%d  best %.2f GFLOP/s (model)  failures %d  elapsed %.0fs\n", p->trial,
			p->trials, p->best_gflops, p->failures, p->elapsed);
	}
}

static int tune_options(const cli_opts *o, srch_tune_opts *to)
{
	srch_tune_opts_default(to);
	if (o->method && srch_method_parse(o->method, &to->method)) {
		fprintf(stderr, "ftc tune: unknown method '%s' (sa-q or random)\n", o->method);
		return CLI_USER_ERROR;
	}
	if (o->trials >= 0)
		to->trials = o->trials;
	if (o->seconds > 0) {
		to->seconds = o->seconds;
		if (o->trials < 0)
			to->trials = 0;
	}
	to->seed = o->seed;
	to->patience = to->trials > 0 ? (to->trials / 2 > 30 ? to->trials / 2 : 30) : 100;
	return CLI_OK;
}

static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

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
		json_string(stdout, o->file);
		printf(", \"target\": ");
		json_string(stdout, ts);
		printf(", \"trials\": %d, \"failures\": %d, \"seconds\": %.3f, \"stop\": ", r->nrecords, failures, r->elapsed);
		json_string(stdout, r->stop_reason);
		if (have_naive)
			json_estimate("naive", naive);
		if (b) {
			json_estimate("best", best);
			printf(", \"verified\": %s, \"schedule\": ", b->verified ? "true" : "false");
			json_string(stdout, b->schedule);
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
	hls_ui ui = {false, false, 0};
	rt_error err;
	bool have_naive;
	int rc;

	if (!est) {
		fprintf(stderr, "ftc tune: out of memory\n");
		return CLI_INTERNAL_ERROR;
	}
	if ((rc = tune_options(o, &to))) {
		free(est);
		return rc;
	}
	ui.live = !o->quiet && !o->json && isatty(2);
	ui.lines = !o->quiet && !o->json && !ui.live;
	to.progress = progress;
	to.user = &ui;
	rt_error_clear(&err);
	if (srch_tune_hls(g, ctx, t, &to, &r, &err)) {
		fprintf(stderr, "%s: error: %s\n", o->file, err.msg);
		free(est);
		return CLI_INTERNAL_ERROR;
	}
	if (ui.live)
		fputc('\n', stderr);
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
