/*
 * ftc tune FILE.te: search the schedule space by measuring candidates, on
 * any target: the target picks the measurer (srch_measurer.h); the loop,
 * the tuning db, the options and the report are the same for all.
 */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cg.h"
#include "cg_backend.h"
#include "cli.h"
#include "cli_cuda.h"
#include "rt_cuda.h"
#include "srch_db.h"
#include "srch_measurer.h"
#include "srch_model.h"
#include "srch_tune.h"
#include "te_parse.h"
#ifdef FTC_MPI
#include "srch_mpi.h"
#endif

#ifndef FTC_VERSION
#define FTC_VERSION "0.1.0"
#endif

static const char tune_help[] =
	"usage: ftc tune FILE.te... | --list FILE [-D NAME=VALUE]... [--target T] [--trials N] [--time SEC]\n"
	"                [--method sa-q|random] [--seed S] [--save-schedule FILE] [--json] [-q]\n"
	"                [--db PATH | --no-db] [--no-model] [--no-constructed]\n"
	"\n"
	"Search FILE.te's schedule space for the fastest schedule on the target:\n"
	"on the CPU each candidate is lowered, compiled with LLVM and timed in a\n"
	"child process; with --target cuda it is launched on the GPU (or the CPU\n"
	"emulator with FTC_CUDA_EMULATE=1: results only, no meaningful times);\n"
	"with --target hls the analytic model estimates it.  A crash, a hang or a\n"
	"wrong result is recorded as a failure and the search goes on; the naive\n"
	"schedule, the first candidate and every new best are checked against\n"
	"the reference before it can be the best.  On a terminal a progress\n"
	"line shows the trial, the best and last GFLOP/s, failures, elapsed time\n"
	"and ETA.  Before the search, ftc measures a handful of schedules built\n"
	"from the machine's facts (vector width and registers, cache sizes,\n"
	"threads) and each stage's access pattern; the search starts from them.\n"
	"At the end the fastest few and the naive schedule are re-measured side\n"
	"by side, and ftc prints the best schedule, its GFLOP/s and its speedup\n"
	"over the naive schedule (with --json also where the time went).  Ctrl-C\n"
	"stops after the candidate in flight (exit status 130); the same command\n"
	"resumes from the db.\n"
	"\n"
	"Every measurement is stored in the tuning db as it is made, for every\n"
	"target (keyed by the target string and what measured: the CPU, the GPU\n"
	"or its emulator, the FPGA part).  A tune starts\n"
	"from the db's records of the same workload and target: they count toward\n"
	"the trial budget and are never measured again, so a second tune with the\n"
	"same budget measures nothing, and a tune that was killed resumes.  A cost\n"
	"model trained on the db's records of every workload on this target\n"
	"(docs/model.md) picks more starting points, orders the search's\n"
	"candidates and skips those it ranks far below the best.\n"
	"\n"
	"  --trials N            budget in measured candidates (default 100)\n"
	"  --time SEC            budget in seconds (default none)\n"
	"  --method M            sa-q (simulated annealing + Q-learning, default) or random\n"
	"  --seed S              seed of the search (default 1): same seed, same sequence\n"
	"  --patience N          stop after N trials without a 1% gain (default: half the\n"
	"                        trial budget, at least 30; 0 = never)\n"
	"  --target T            cpu [-mcpu=NAME] [-mattr=FEATURES] [-threads=N] (default),\n"
	"                        cuda [-arch=sm_NN] (on the GPU; see docs/cuda.md), or\n"
	"                        hls [-part=P] [-clock=F] (the analytic model; docs/hls.md)\n"
	"  --save-schedule FILE  write the best schedule there (for ftc compile --schedule)\n"
	"  --json                print one JSON object on stdout instead of text\n"
	"  -q, --quiet           no progress line\n"
	CLI_DB_HELP
	"  --no-db               neither read nor write the tuning db\n"
	"  --no-model            no cost model from the db's other tunes\n"
	"  --no-constructed      measure no constructed starting points: the search\n"
	"                        starts from the naive schedule (to compare explorers)\n"
	"  -D NAME=VALUE         replace the value of param NAME\n"
	"\n"
	"Several workloads (FILE.te... or --list FILE) are tuned together: a task\n"
	"scheduler gives slices of trials to the workload where the total time\n"
	"(sum of weight x best time) gains most; --trials is the total over them\n"
	"(default 100 each); one progress line, one summary table.  A --list\n"
	"line is PATH [weight=W] [-D NAME=VALUE]... (W: how many times the\n"
	"workload runs; '#' starts a comment).  Under mpirun -n N (or srun),\n"
	"rank 0 searches and keeps the db, the other ranks measure on their own\n"
	"CPUs (docs/mpi.md).\n";

/* Exit status of a tune stopped by Ctrl-C (128 + SIGINT, as a shell says). */
#define TUNE_EXIT_INTERRUPTED 130

/*
 * Set by SIGINT during a tune; the search checks it between trials.  The
 * one global mutable variable of the tuner (docs/decisions.md): a signal
 * handler has no context argument, and a volatile sig_atomic_t is all it
 * may write.
 */
static volatile sig_atomic_t tune_interrupted;

static void on_sigint(int sig)
{
	(void)sig;
	tune_interrupted = 1;
}

/* The breakdown of the tune's time (srch_times) as JSON members. */
static void print_times(const srch_times *t)
{
	printf(", \"seconds_per_trial\": %.4f, \"children_cpu\": %.4f, \"time\": {\"setup\": %.4f, \"lower\": %.4f, \"llvm\": %.4f, "
	       "\"first_call\": %.4f, \"timing\": %.4f, \"verify\": %.4f, \"process\": %.4f, \"explore\": %.4f, "
	       "\"final\": %.4f}",
	       t->trial_median, t->children_cpu, t->setup, t->lower, t->llvm, t->first, t->timing, t->verify, t->process, t->explore,
	       t->final);
}

/* What the cost model did in the tune (srch_model). */
typedef struct model_info {
	int records;         /* it was trained on; 0: no model */
	int audits, misses;  /* would-be skips measured, and those within 4x of the best */
} model_info;

/* What a tune's report shows. */
typedef struct tune_report {
	model_info mi;
	const srch_result *r;
	const srch_measurer *m;
	char target[256];
	double naive_gflops;
	int failures;
	char naive_detail[2048], best_detail[2048];
} tune_report;

/* What the measurer says of a schedule beyond its time (the HLS model's
 * cycles and resources), "" when nothing. */
static void describe(srch_measurer *m, isl_ctx *ctx, const char *schedule, char *out, size_t n)
{
	rt_error err;

	out[0] = '\0';
	rt_error_clear(&err);
	if (m->ops->describe && m->ops->describe(m, ctx, schedule, out, n, &err))
		snprintf(out, n, "(%s)\n", err.msg);
}

static void print_json(const cli_opts *o, const tune_report *t, const cli_progress *ui)
{
	const srch_result *r = t->r;
	const srch_record *b = r->best >= 0 ? &r->records[r->best] : NULL;

	printf("{\"file\": ");
	cli_json_string(stdout, o->file);
	printf(", \"target\": ");
	cli_json_string(stdout, t->target);
	printf(", \"device\": ");
	cli_json_string(stdout, t->m->device);
	printf(", \"measured_by\": ");
	cli_json_string(stdout, t->m->name);
	printf(", \"trials\": %d, \"failures\": %d, \"seconds\": %.3f, \"stop\": ", r->nrecords, t->failures,
	       r->elapsed);
	cli_json_string(stdout, r->stop_reason);
	printf(", \"naive_gflops\": %.4f", t->naive_gflops);
	if (t->naive_detail[0]) {
		printf(", \"naive_detail\": ");
		cli_json_string(stdout, t->naive_detail);
	}
	if (b) {
		printf(", \"best_gflops\": %.4f, \"best_seconds\": %.6g, \"speedup\": %.3f, \"verified\": %s, \"schedule\": ",
		       b->gflops, b->seconds, isfinite(r->naive_seconds) ? r->naive_seconds / b->seconds : 0,
		       b->verified ? "true" : "false");
		cli_json_string(stdout, b->schedule);
	}
	if (t->best_detail[0]) {
		printf(", \"best_detail\": ");
		cli_json_string(stdout, t->best_detail);
	}
	printf(", \"measured\": %d, \"from_db\": %d, \"constructed\": %d, \"interrupted\": %s", r->measured,
	       r->nhistory, r->seeded, r->interrupted ? "true" : "false");
	printf(", \"model_records\": %d, \"skipped_by_model\": %d, \"model_audits\": %d, \"model_misses\": %d",
	       t->mi.records, r->skipped_by_model, t->mi.audits, t->mi.misses);
	print_times(&r->times);
	printf(", \"best_by_trial\": [");
	for (int i = 0; i < ui->ncurve; i++)
		printf("%s%.3f", i ? ", " : "", ui->curve[i]);
	printf("]}\n");
}

static void print_text(const cli_opts *o, const tune_report *t)
{
	const srch_result *r = t->r;
	const srch_record *b = r->best >= 0 ? &r->records[r->best] : NULL;

	printf("tuned %s for %s on %s (%s): %d trials (%d failed) in %.1f s, stopped by %s\n", o->file, t->target,
	       t->m->device, t->m->name, r->nrecords, t->failures, r->elapsed,
	       r->stop_reason[0] ? r->stop_reason : "?");
	if (r->nhistory > 0 && r->measured == 0)
		printf("the tuning db already holds %d trials of this workload on this target: nothing measured\n",
		       r->nhistory);
	else if (r->nhistory > 0)
		printf("%d trials came from the tuning db, %d candidates measured now\n", r->nhistory, r->measured);
	if (t->mi.records > 0)
		printf("the cost model, trained on %d records of this target, skipped %d candidates (%d of %d audits "
		       "ran within 4x of the best)\n", t->mi.records, r->skipped_by_model, t->mi.misses, t->mi.audits);
	if (t->naive_detail[0])
		printf("naive:\n%s", t->naive_detail);
	if (!b) {
		printf("no candidate ran successfully; the naive schedule runs at %.2f GFLOP/s\n", t->naive_gflops);
		return;
	}
	printf("best: %.2f GFLOP/s (%.4g ms, %s%s), naive %.2f GFLOP/s, speedup %.2fx\n", b->gflops,
	       b->seconds * 1e3, b->verified ? "verified" : "not checked: the measurer cannot check this graph",
	       r->remeasured ? ", re-measured beside the naive schedule" : "", t->naive_gflops,
	       isfinite(r->naive_seconds) ? r->naive_seconds / b->seconds : 0);
	if (t->best_detail[0])
		printf("%s", t->best_detail);
	printf("schedule:\n%s%s", b->schedule,
	       b->schedule[0] && b->schedule[strlen(b->schedule) - 1] != '\n' ? "\n" : "");
}

static void print_result(const cli_opts *o, srch_measurer *m, isl_ctx *ctx, const srch_result *r,
			 const cli_progress *ui, const model_info *mi)
{
	tune_report t = {*mi, r, m, "", 0, 0, "", ""};

	cg_target_string(&m->t, t.target, sizeof(t.target));
	t.naive_gflops = isfinite(r->naive_seconds) ? te_graph_flops(m->g) * 1e-9 / r->naive_seconds : 0;
	for (int i = 0; i < r->nrecords; i++)
		t.failures += r->records[i].status != SRCH_OK;
	describe(m, ctx, m->naive, t.naive_detail, sizeof(t.naive_detail));
	if (r->best >= 0)
		describe(m, ctx, r->records[r->best].schedule, t.best_detail, sizeof(t.best_detail));
	if (o->json)
		print_json(o, &t, ui);
	else
		print_text(o, &t);
}

/* The tuning db side of a tune: opened unless --no-db. */
typedef struct tune_db {
	tdb *db;
	srch_db sd;
	bool init;
	srch_record *hist;
	int nhist;
	srch_model *model;   /* NULL: none (--no-model, or too few records) */
	int model_records;   /* the records it was trained on */
} tune_db;

/* The cost model from the db's records of this target (srch_model): a db
 * that cannot give one (too few records) leaves the tune without it. */
static void model_start(tune_db *d, const cg_target *t, srch_tune_opts *to)
{
	srch_machine m;
	rt_error err;

	rt_error_clear(&err);
	srch_machine_of(t, NULL, &m);
	d->model = srch_model_from_db(d->db, d->sd.target, &m, to->seed, &d->model_records, &err);
	to->model = d->model;
}

/* Open the db and load the history into `to`.  An exit status. */
static int db_start(const cli_opts *o, srch_measurer *m, isl_ctx *ctx, srch_tune_opts *to, tune_db *d)
{
	rt_error err;

	memset(d, 0, sizeof(*d));
	if (o->no_db)
		return CLI_OK;
	if (cli_db_open(o, true, &d->db))
		return CLI_USER_ERROR;
	rt_error_clear(&err);
	d->init = true;
	if (srch_db_init(&d->sd, d->db, m, FTC_VERSION, srch_method_name(to->method), to->seed, &err) ||
	    srch_db_history(&d->sd, ctx, &d->hist, &d->nhist, &to->history_best, &to->naive_seconds, &err)) {
		fprintf(stderr, "ftc tune: the tuning db: %s\n", err.msg);
		return CLI_USER_ERROR; /* the db's file, disk or memory: the user's environment */
	}
	to->history = d->hist;
	to->nhistory = d->nhist;
	to->record = srch_db_record;
	to->record_user = &d->sd;
	if (!o->no_model)
		model_start(d, &m->t, to);
	return CLI_OK;
}

/* Record the tune's final best; close.  An exit status. */
static int db_finish(tune_db *d, const srch_result *r)
{
	rt_error err;
	int rc = CLI_OK;

	rt_error_clear(&err);
	if (d->db && r && srch_db_finish(&d->sd, r, &err)) {
		fprintf(stderr, "ftc tune: the tuning db: %s\n", err.msg);
		rc = CLI_USER_ERROR; /* a write failed: a full disk, a read-only file */
	}
	if (d->init)
		srch_db_release(&d->sd);
	srch_records_free(d->hist, d->nhist);
	srch_model_free(d->model);
	tdb_close(d->db);
	memset(d, 0, sizeof(*d));
	return rc;
}

/* The target and the options of the search from the command line.  An
 * exit status. */
static int tune_options(const cli_opts *o, srch_tune_opts *to, cg_target *t)
{
	rt_error err;

	rt_error_clear(&err);
	if (cg_target_parse(o->target ? o->target : "cpu", t, &err)) {
		fprintf(stderr, "ftc tune: %s\n", err.msg);
		return CLI_USER_ERROR;
	}
	if (cli_refuse_options("tune", o, cg_backend_of(t->kind)))
		return CLI_USER_ERROR;
	return cli_tune_options(o, to);
}

/* srch_tune_with with SIGINT caught (opts.interrupt): the first Ctrl-C
 * stops the search after the current trial, a second one (SA_RESETHAND)
 * kills as usual.  The previous handler is restored afterwards. */
static int search(srch_measurer *m, isl_ctx *ctx, srch_tune_opts *to, srch_result *r, rt_error *err)
{
	struct sigaction sa, old;
	int rc;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigint;
	sa.sa_flags = SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	tune_interrupted = 0;
	to->interrupt = &tune_interrupted;
	sigaction(SIGINT, &sa, &old);
	rc = srch_tune_with(m, ctx, to, r, err);
	sigaction(SIGINT, &old, NULL);
	return rc;
}

/* After Ctrl-C: what was kept, and how to go on. */
static void say_interrupted(const cli_opts *o, const srch_result *r, const tune_db *d)
{
	char path[4096];

	fprintf(stderr, "ftc tune: interrupted after %d trials (%d measured now)", r->nrecords, r->measured);
	if (!d->db)
		fprintf(stderr, "; nothing was stored (--no-db)\n");
	else if (cli_db_path(o, path, sizeof(path)) == 0)
		fprintf(stderr, "; %d stored in the tuning db %s: run the same command again to resume\n",
			d->sd.stored, path);
	else
		fprintf(stderr, "; %d stored in the tuning db: run the same command again to resume\n", d->sd.stored);
}

srch_measurer *cli_measurer(const char *cmd, const te_graph *g, isl_ctx *ctx, const cg_target *t, bool lookup,
			    int *status)
{
	bool emulate = cli_cuda_emulated();
	srch_measurer *m;
	rt_error err;

	rt_error_clear(&err);
	if (t->kind == CG_TARGET_CUDA && !emulate && !rt_cuda_driver_present()) {
		if (lookup) {
			emulate = true;
		} else {
			fprintf(stderr, "ftc %s: %s\n", cmd, cli_cuda_no_driver);
			*status = CLI_USER_ERROR;
			return NULL;
		}
	}
	m = srch_measurer_new(g, ctx, t, emulate ? SRCH_MEASURE_EMULATE : 0, &err);
	if (!m && lookup && !emulate) /* a driver without a device: the emulator's key */
		m = srch_measurer_new(g, ctx, t, SRCH_MEASURE_EMULATE, &err);
	if (!m) {
		fprintf(stderr, "ftc %s: cannot measure on the %s target: %s\n", cmd, cg_target_kind_name(t->kind),
			err.msg);
		*status = CLI_USER_ERROR;
	}
	return m;
}

/* The space must fit (SRCH_MAX_SLOTS) before a tune: the user's to
 * change.  An exit status. */
static int space_fits(const cli_opts *o, const srch_measurer *m)
{
	srch_space *sp = calloc(1, sizeof(*sp));
	rt_error err;
	int rc;

	rt_error_clear(&err);
	if (!sp) {
		fprintf(stderr, "ftc tune: out of memory\n");
		return CLI_INTERNAL_ERROR;
	}
	rc = srch_space_init_for(sp, m->g, &m->t, &err);
	srch_space_release(sp);
	free(sp);
	if (rc) /* located at the stage when it is one stage's space */
		te_diag_print(stderr, o->file, NULL, &err);
	return rc ? CLI_USER_ERROR : CLI_OK;
}

/* Search, then report and store: an exit status. */
static int tune_with(const cli_opts *o, srch_measurer *m, isl_ctx *ctx, srch_tune_opts *to)
{
	srch_result r;
	rt_error err;
	cli_progress ui;
	model_info mi = {0, 0, 0};
	tune_db d;
	int rc;

	cli_progress_start(&ui, o, m->t.kind == CG_TARGET_HLS ? " (model)" : "", to);
	if ((rc = db_start(o, m, ctx, to, &d))) {
		cli_progress_end(&ui);
		db_finish(&d, NULL);
		return rc;
	}
	rt_error_clear(&err);
	if (search(m, ctx, to, &r, &err)) {
		cli_progress_stop(&ui);
		fprintf(stderr, "%s: error: %s\n", o->file, err.msg);
		/* Out of memory, or a measurer that cannot start (no device), is
		 * the user's machine, not ftc's bug. */
		rc = r.out_of_memory || r.unready ? CLI_USER_ERROR : CLI_INTERNAL_ERROR;
		if (r.out_of_memory && d.db)
			fprintf(stderr, "ftc tune: %d records stored; run the same command again to resume\n",
				d.sd.stored);
		cli_progress_end(&ui);
		db_finish(&d, NULL);
		srch_result_release(&r);
		return rc;
	}
	cli_progress_stop(&ui);
	if (r.interrupted)
		say_interrupted(o, &r, &d);
	mi.records = d.model_records;
	if (d.model) {
		bool skipping;

		srch_model_audits(d.model, &mi.audits, &mi.misses, &skipping);
	}
	rc = db_finish(&d, &r);
	print_result(o, m, ctx, &r, &ui, &mi);
	cli_progress_end(&ui);
	if (r.best < 0)
		rc = CLI_USER_ERROR;
	else if (o->save_schedule && cli_save_schedule("tune", o, r.records[r.best].schedule))
		rc = CLI_USER_ERROR;
	if (r.interrupted)
		rc = TUNE_EXIT_INTERRUPTED;
	srch_result_release(&r);
	return rc;
}

int cli_tune_graph(const cli_opts *o, const te_graph *g, isl_ctx *ctx)
{
	srch_tune_opts to;
	srch_measurer *m;
	cg_target t;
	int rc;

	if ((rc = tune_options(o, &to, &t)) || !(m = cli_measurer("tune", g, ctx, &t, false, &rc)))
		return rc;
	if ((rc = space_fits(o, m)) == CLI_OK)
		rc = tune_with(o, m, ctx, &to);
	srch_measurer_free(m);
	return rc;
}

/* Under an MPI launcher: begin the job; a worker rank measures until rank
 * 0 says stop, and its exit status goes to *rc (returns NULL, done).
 * Rank 0 gets the job (NULL when it has no workers: it tunes here). */
static struct srch_mpi *tune_mpi(int *argc, char ***argv, int *rc, bool *done)
{
	*done = false;
#ifdef FTC_MPI
	srch_mpi *c;
	rt_error err;

	rt_error_clear(&err);
	if (!srch_mpi_launched())
		return NULL;
	if (!(c = srch_mpi_begin(argc, argv, &err))) {
		fprintf(stderr, "ftc tune: MPI: %s\n", err.msg);
		*rc = CLI_INTERNAL_ERROR;
		*done = true;
		return NULL;
	}
	if (srch_mpi_rank(c) != 0) {
		if (srch_mpi_serve(c, &err)) {
			fprintf(stderr, "ftc tune: MPI: %s\n", err.msg);
			srch_mpi_abort(c, CLI_INTERNAL_ERROR);
		}
		srch_mpi_end(c);
		*rc = CLI_OK;
		*done = true;
		return NULL;
	}
	if (srch_mpi_workers(c) == 0)
		c = srch_mpi_end(c);
	return c;
#else
	(void)argc;
	(void)argv;
	(void)rc;
	return NULL;
#endif
}

int cli_tune(int argc, char **argv)
{
	cli_opts o;
	isl_ctx *ctx = NULL;
	te_graph *g = NULL;
	char *src = NULL;
	int rc = CLI_USER_ERROR;
	bool done;
	struct srch_mpi *mpi = tune_mpi(&argc, &argv, &rc, &done);

	if (done)
		return rc;
	if (cli_parse_common("tune", argc, argv, &o, CLI_SEED | CLI_TARGET | CLI_TUNE | CLI_DB | CLI_FILES))
		goto out;
	if (o.help) {
		fputs(tune_help, stdout);
		rc = CLI_OK;
		goto out;
	}
	if (o.nfiles > 1 || o.list || mpi) {
		rc = cli_tune_many(&o, mpi);
		goto out;
	}
	if ((ctx = cli_isl_ctx()) && (g = cli_load(&o, ctx, &src)))
		rc = cli_tune_graph(&o, g, ctx);
out:
#ifdef FTC_MPI
	srch_mpi_end(mpi);
#endif
	free(src);
	te_graph_free(g);
	isl_ctx_free(ctx);
	cli_opts_release(&o);
	return rc;
}
