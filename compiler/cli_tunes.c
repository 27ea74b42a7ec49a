/*
 * ftc tune A.te B.te ... (or --list FILE), and any tune under mpirun:
 * several workloads in one tune.
 *
 * The task scheduler (srch_tasks) gives slices of trials to the workload
 * where the total time sum weight * best gains most; each slice is one
 * srch_tune_with call that starts from the workload's records so far (its
 * history: the db's, then the previous slice's), so the budget counts
 * them all and nothing is measured twice.  The trial budget (--trials,
 * default 100 per workload) is the total over the workloads; each
 * workload's last trial comes with the final side-by-side re-measure
 * that names its best (and makes it the db's).  Patience is the
 * scheduler's: a workload that stops gaining stops getting slices.
 *
 * Under mpirun (srch_mpi) each workload's measurer sends its candidates
 * to the worker ranks, a batch of one candidate per worker at a time.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cg.h"
#include "cli.h"
#include "rt_time.h"
#include "srch_db.h"
#include "srch_measurer.h"
#include "srch_tasks.h"
#include "srch_tune.h"
#include "te_verify.h"
#ifdef FTC_MPI
#include "srch_mpi.h"
#endif

#ifndef FTC_VERSION
#define FTC_VERSION "0.1.0"
#endif

/* Trials of one slice, at least (a batch of workers when more). */
#define TUNES_SLICE 8
/* A --list file's line, at most. */
#define TUNES_MAX_LINE 4096

/* One workload of the tune. */
typedef struct tunes_job {
	char *path;                     /* owned */
	te_define defs[CLI_MAX_DEFINES];/* names owned */
	int ndefs;
	double weight;
	char *src;
	te_graph *g;
	srch_measurer *m;
	tdb *db;                        /* borrowed from the tune */
	srch_db sd;
	bool sd_init;
	srch_record *hist;              /* the db's history (owned) */
	int nhist;
	srch_result res;                /* the last slice's (its records: the history of the next) */
	bool has_res;
	int history_best;
	double naive_seconds;
	int from_db, measured;
	bool finished;
	char stop[64];
	double *t_db;                   /* where storing time is summed (the tune's) */
} tunes_job;

typedef struct tunes {
	const cli_opts *o;
	isl_ctx *ctx;
	tunes_job *jobs;
	int n, cap;
	tdb *db;
	struct srch_mpi *mpi;           /* NULL: measure here */
	const char *target;
	int budget, spent, measured;
	double t0;
	double t_explore, t_db; /* this process's seconds proposing and storing */
	double t_final;         /* seconds in the final re-measures */
	bool live;
} tunes;

static void job_release(tunes_job *j)
{
	if (j->has_res)
		srch_result_release(&j->res);
	if (j->sd_init)
		srch_db_release(&j->sd);
	srch_records_free(j->hist, j->nhist);
	srch_measurer_free(j->m);
	te_graph_free(j->g);
	free(j->src);
	for (int i = 0; i < j->ndefs; i++)
		free((char *)j->defs[i].name);
	free(j->path);
}

/* A new job for `path` with the command line's -D; NULL when out of memory. */
static tunes_job *job_add(tunes *T, const char *path)
{
	tunes_job *j;

	if (T->n == T->cap) {
		int cap = T->cap ? 2 * T->cap : 8;
		tunes_job *p = realloc(T->jobs, (size_t)cap * sizeof(*p));

		if (!p)
			return NULL;
		T->jobs = p;
		T->cap = cap;
	}
	j = &T->jobs[T->n];
	memset(j, 0, sizeof(*j));
	j->weight = 1;
	if (!(j->path = strdup(path)))
		return NULL;
	T->n++;
	for (int i = 0; i < T->o->ndefs; i++) {
		if (!(j->defs[i].name = strdup(T->o->defs[i].name)))
			return NULL;
		j->defs[i].value = T->o->defs[i].value;
		j->ndefs++;
	}
	return j;
}

/* Set -D NAME=VALUE on j, replacing the command line's.  0, or 1 after
 * printing. */
static int job_define(tunes_job *j, const char *text, const char *where)
{
	te_define d;

	if (cli_parse_define(text, &d))
		return fprintf(stderr, "%s: in the -D above\n", where), 1;
	for (int i = 0; i < j->ndefs; i++)
		if (strcmp(j->defs[i].name, d.name) == 0) {
			free((char *)j->defs[i].name);
			j->defs[i] = d;
			return 0;
		}
	if (j->ndefs == CLI_MAX_DEFINES) {
		free((char *)d.name);
		fprintf(stderr, "%s: too many -D (at most %d)\n", where, CLI_MAX_DEFINES);
		return 1;
	}
	j->defs[j->ndefs++] = d;
	return 0;
}

/* One line of a --list file: PATH [weight=W] [-D NAME=VALUE]...  (PATH
 * relative to the list's directory).  0, or 1 after printing. */
static int list_line(tunes *T, char *line, const char *dir, const char *where)
{
	char *save = NULL, *tok = strtok_r(line, " \t\r\n", &save), path[2 * TUNES_MAX_LINE + 2];
	tunes_job *j;

	if (!tok || tok[0] == '#')
		return 0;
	if (T->n == SRCH_TASKS_MAX)
		return fprintf(stderr, "%s: more than %d workloads (SRCH_TASKS_MAX)\n", where, SRCH_TASKS_MAX), 1;
	snprintf(path, sizeof(path), "%s%s", tok[0] == '/' ? "" : dir, tok);
	if (!(j = job_add(T, path)))
		return fprintf(stderr, "ftc tune: out of memory\n"), 1;
	while ((tok = strtok_r(NULL, " \t\r\n", &save))) {
		char *end;

		if (strncmp(tok, "weight=", 7) == 0) {
			j->weight = strtod(tok + 7, &end);
			if (end == tok + 7 || *end || !(j->weight > 0) || !isfinite(j->weight))
				return fprintf(stderr, "%s: weight must be a positive number, got '%s'\n", where,
					       tok + 7),
				       1;
		} else if (strcmp(tok, "-D") == 0) {
			if (!(tok = strtok_r(NULL, " \t\r\n", &save)))
				return fprintf(stderr, "%s: -D needs NAME=VALUE\n", where), 1;
			if (job_define(j, tok, where))
				return 1;
		} else if (strncmp(tok, "-D", 2) == 0) {
			if (job_define(j, tok + 2, where))
				return 1;
		} else {
			return fprintf(stderr, "%s: '%s' is not weight=W or -D NAME=VALUE\n", where, tok), 1;
		}
	}
	return 0;
}

/* The workloads of --list FILE.  0, or 1 after printing. */
static int read_list(tunes *T, const char *file)
{
	char *text = cli_read_file(file), *line, *save = NULL, dir[TUNES_MAX_LINE + 1], where[TUNES_MAX_LINE + 64];
	const char *slash = strrchr(file, '/');
	int lineno = 0, rc = 0;

	if (!text)
		return 1;
	if (slash && slash - file + 1 > TUNES_MAX_LINE) {
		free(text);
		return fprintf(stderr, "%.200s...: a --list path over %d characters\n", file, TUNES_MAX_LINE), 1;
	}
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - file + 1) : 0, file);
	for (line = strtok_r(text, "\n", &save); line && rc == 0; line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		if (strlen(line) > TUNES_MAX_LINE) {
			fprintf(stderr, "%s:%d: a line over %d characters (TUNES_MAX_LINE)\n", file, lineno,
				TUNES_MAX_LINE);
			rc = 1;
			break;
		}
		snprintf(where, sizeof(where), "%s:%d", file, lineno);
		rc = list_line(T, line, dir, where);
	}
	free(text);
	if (rc == 0 && T->n == 0)
		return fprintf(stderr, "%s: no workloads listed\n", file), 1;
	return rc;
}

/* Read, parse and verify j's file.  0, or 1 after printing. */
static int job_load(tunes *T, tunes_job *j)
{
	rt_error err;

	rt_error_clear(&err);
	if (!(j->src = cli_read_file(j->path)))
		return 1;
	j->g = te_parse(j->src, j->defs, j->ndefs, &err);
	if (j->g && te_verify(j->g, T->ctx, &err) == 0)
		return 0;
	te_diag_print(stderr, j->path, j->src, &err);
	return 1;
}

/* j's measurer: the workers' under MPI, else this host's.  An exit status. */
static int job_measurer(tunes *T, tunes_job *j)
{
	rt_error err;
	cg_target t;
	int rc = CLI_OK;

	rt_error_clear(&err);
#ifdef FTC_MPI
	if (T->mpi) {
		if (!(j->m = srch_mpi_measurer(T->mpi, j->g, T->target, &err))) {
			fprintf(stderr, "ftc tune: %s\n", err.msg);
			return CLI_USER_ERROR;
		}
		return CLI_OK;
	}
#endif
	if (cg_target_parse(T->target, &t, &err)) {
		fprintf(stderr, "ftc tune: %s\n", err.msg);
		return CLI_USER_ERROR;
	}
	j->m = cli_measurer("tune", j->g, T->ctx, &t, false, &rc);
	return rc;
}

/* j's history in the db (unless --no-db).  An exit status. */
static int job_history(tunes *T, tunes_job *j, const srch_tune_opts *to)
{
	rt_error err;

	j->history_best = -1;
	if (!T->db)
		return CLI_OK;
	rt_error_clear(&err);
	j->sd_init = true;
	if (srch_db_init(&j->sd, T->db, j->m, FTC_VERSION, srch_method_name(to->method), to->seed, &err) ||
	    srch_db_history(&j->sd, T->ctx, &j->hist, &j->nhist, &j->history_best, &j->naive_seconds, &err)) {
		fprintf(stderr, "ftc tune: the tuning db: %s: %s\n", j->path, err.msg);
		return CLI_USER_ERROR;
	}
	j->from_db = j->nhist;
	return CLI_OK;
}

/* The best record of j so far (the last slice's, else the db's), NULL
 * when none. */
static const srch_record *job_best_record(const tunes_job *j)
{
	const srch_record *b = NULL;

	if (j->has_res)
		return j->res.best >= 0 ? &j->res.records[j->res.best] : NULL;
	if (j->history_best >= 0)
		return &j->hist[j->history_best];
	/* no best named in the db yet (a tune stopped before its end): the
	 * fastest checked record */
	for (int i = 0; i < j->nhist; i++)
		if (j->hist[i].status == SRCH_OK && j->hist[i].verified && !srch_record_cut_off(&j->hist[i]) &&
		    (!b || j->hist[i].seconds < b->seconds))
			b = &j->hist[i];
	return b;
}

/* The best time of j so far (INFINITY when none). */
static double job_best(const tunes_job *j)
{
	const srch_record *b = job_best_record(j);

	return b ? b->seconds : INFINITY;
}

/* The records j's next slice starts from. */
static void job_opts(const tunes_job *j, srch_tune_opts *to)
{
	if (j->has_res) {
		to->history = j->res.records;
		to->nhistory = j->res.nrecords;
		to->history_best = j->res.best;
		to->naive_seconds = isfinite(j->res.naive_seconds) ? j->res.naive_seconds : 0;
	} else {
		to->history = j->hist;
		to->nhistory = j->nhist;
		to->history_best = j->history_best;
		to->naive_seconds = j->naive_seconds;
	}
}

static void progress(void *user, const srch_progress *p)
{
	tunes *T = user;

	(void)p;
	T->spent++;
	if (T->live) {
		fprintf(stderr, "\r\033[Ktrial %d/%d  %d workloads  elapsed %.0fs", T->spent, T->budget, T->n,
			rt_now() - T->t0);
		fflush(stderr);
	}
}

/* srch_db_record, timed (rank 0's cost per record: docs/mpi.md). */
static int timed_record(void *user, srch_record *r)
{
	tunes_job *j = user;
	double t0 = rt_now();
	int rc = srch_db_record(&j->sd, r);

	*j->t_db += rt_now() - t0;
	return rc;
}

/* One slice of k trials for job i (`final`: with the final re-measure).
 * An exit status. */
static int slice(tunes *T, const srch_tune_opts *base, int i, int k, bool final)
{
	tunes_job *j = &T->jobs[i];
	srch_tune_opts to = *base;
	srch_result res;
	rt_error err;
	int before;

	job_opts(j, &to);
	before = to.nhistory;
	to.trials = to.nhistory + k;
	to.final_top = final ? base->final_top : 0;
	to.patience = 0;
	to.progress = progress;
	to.user = T;
	to.record = j->sd_init ? timed_record : NULL;
	to.record_user = j;
	j->t_db = &T->t_db;
	rt_error_clear(&err);
	if (srch_tune_with(j->m, T->ctx, &to, &res, &err)) {
		fprintf(stderr, "%s%s: error: %s\n", T->live ? "\n" : "", j->path, err.msg);
		srch_result_release(&res);
		return CLI_INTERNAL_ERROR;
	}
	j->measured += res.measured;
	T->t_explore += res.times.explore;
	T->t_final += res.times.final;
	T->measured += res.measured;
	snprintf(j->stop, sizeof(j->stop), "%s", res.stop_reason);
	if (strcmp(res.stop_reason, "trial budget") != 0)
		j->finished = true;
	if (j->has_res)
		srch_result_release(&j->res);
	j->res = res;
	j->has_res = true;
	if (res.nrecords == before) /* nothing left to try: a loop would spin */
		j->finished = true;
	return CLI_OK;
}

/* Slices as the scheduler picks them until the budget less one final
 * trial per workload is spent, then each workload's final trial.  An
 * exit status. */
static int schedule(tunes *T, const srch_tune_opts *base, srch_tasks *ts)
{
	int per = T->jobs[0].m->batch, rc = CLI_OK, left;

	per = per > TUNES_SLICE ? per : TUNES_SLICE;
	for (int i = 0; i < T->n; i++) {
		T->spent += T->jobs[i].from_db;
		if (T->jobs[i].from_db > 0)
			srch_tasks_report(ts, i, T->jobs[i].from_db, job_best(&T->jobs[i]));
	}
	while (rc == CLI_OK && (left = T->budget - T->spent - T->n) > 0) {
		int i = srch_tasks_next(ts), before;

		if (i < 0)
			break;
		before = T->spent;
		rc = slice(T, base, i, left < per ? left : per, false);
		srch_tasks_report(ts, i, T->spent - before, job_best(&T->jobs[i]));
		if (T->jobs[i].finished)
			srch_tasks_finish(ts, i);
	}
	for (int i = 0; rc == CLI_OK && i < T->n; i++)
		if (T->budget - T->spent > 0 && !T->jobs[i].finished)
			rc = slice(T, base, i, 1, true);
	return rc;
}

/* ---- the report ---------------------------------------------------------- */

/* j's file (its last part when `brief`) and its -D, as the report names
 * it, into out[n]. */
static void job_name(const tunes_job *j, bool brief, char *out, size_t n)
{
	const char *slash = strrchr(j->path, '/');
	size_t at = (size_t)snprintf(out, n, "%s", brief && slash ? slash + 1 : j->path);

	for (int i = 0; i < j->ndefs && at < n; i++)
		at += (size_t)snprintf(out + at, n - at, " -D %s=%lld", j->defs[i].name, (long long)j->defs[i].value);
}

static double job_gflops(const tunes_job *j)
{
	const srch_record *b = job_best_record(j);

	return b ? b->gflops : 0;
}

static double job_naive(const tunes_job *j)
{
	if (j->has_res)
		return j->res.naive_seconds;
	return j->naive_seconds > 0 ? j->naive_seconds : INFINITY;
}

/* Records of j so far. */
static int job_trials(const tunes_job *j)
{
	return j->has_res ? j->res.nrecords : j->nhist;
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++)
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	putchar('"');
}

static void print_json(const tunes *T, const srch_tasks *ts, const char *hosts)
{
	int from_db = 0;

	for (int i = 0; i < T->n; i++)
		from_db += T->jobs[i].from_db;
	printf("{\"target\": ");
	json_str(T->target);
	printf(", \"trials\": %d, \"measured\": %d, \"from_db\": %d, \"seconds\": %.3f, \"hosts\": ", T->spent,
	       T->measured, from_db, rt_now() - T->t0);
	json_str(hosts);
#ifdef FTC_MPI
	if (T->mpi)
		printf(", \"mpi_workers\": %d, \"mpi_overhead_ms\": %.4f", srch_mpi_workers(T->mpi),
		       1e3 * srch_mpi_overhead(T->mpi));
#endif
	printf(", \"explore_seconds\": %.4f, \"db_seconds\": %.4f, \"final_seconds\": %.4f", T->t_explore, T->t_db,
	       T->t_final);
	printf(", \"workloads\": [");
	for (int i = 0; i < T->n; i++) {
		const tunes_job *j = &T->jobs[i];
		const srch_record *b = job_best_record(j);
		char name[8192];

		job_name(j, false, name, sizeof(name));
		printf("%s{\"file\": ", i ? ", " : "");
		json_str(name);
		printf(", \"weight\": %g, \"trials\": %d, \"measured\": %d, \"from_db\": %d, \"share\": %.4f, \"stop\": ",
		       j->weight, job_trials(j), j->measured, j->from_db,
		       srch_tasks_share(ts, i));
		json_str(j->stop);
		if (b) {
			printf(", \"best_gflops\": %.4f, \"best_seconds\": %.6g, \"speedup\": %.3f, \"verified\": %s, "
			       "\"remeasured\": %s, \"schedule\": ",
			       b->gflops, b->seconds, isfinite(job_naive(j)) ? job_naive(j) / b->seconds : 0,
			       b->verified ? "true" : "false", j->has_res && j->res.remeasured ? "true" : "false");
			json_str(b->schedule);
		}
		putchar('}');
	}
	printf("]}\n");
}

static void print_text(const tunes *T, const srch_tasks *ts, const char *hosts)
{
	double total = 0, naive = 0;

	printf("tuned %d workloads for %s: %d trials (%d measured now) in %.1f s\n", T->n, T->target, T->spent,
	       T->measured, rt_now() - T->t0);
	if (hosts[0])
		printf("measured by %s\n", hosts);
#ifdef FTC_MPI
	if (T->mpi)
		printf("MPI: %.3f ms per candidate beyond the worker's own time\n", 1e3 * srch_mpi_overhead(T->mpi));
#endif
	printf("%-40s %7s %7s %9s %10s %8s %6s\n", "workload", "weight", "trials", "measured", "GFLOP/s", "speedup",
	       "share");
	for (int i = 0; i < T->n; i++) {
		const tunes_job *j = &T->jobs[i];
		double best = job_best(j), nv = job_naive(j);
		char name[8192];

		job_name(j, true, name, sizeof(name));
		printf("%-40.40s %7g %7d %9d %10.2f %7.2fx %5.1f%%\n", name, j->weight, job_trials(j), j->measured,
		       job_gflops(j),
		       isfinite(nv) && isfinite(best) ? nv / best : 0, 100 * srch_tasks_share(ts, i));
		total += isfinite(best) ? j->weight * best : 0;
		naive += isfinite(nv) ? j->weight * nv : 0;
	}
	printf("total time of the workloads (weighted): %.4g ms, naive %.4g ms\n", total * 1e3, naive * 1e3);
}

/* ---- the tune -------------------------------------------------------------- */

/* Load every workload, make its measurer and read its history.  An exit
 * status. */
static int prepare(tunes *T, const srch_tune_opts *to)
{
	int rc = CLI_OK;

	for (int i = 0; i < T->n && rc == CLI_OK; i++) {
		tunes_job *j = &T->jobs[i];

		if (job_load(T, j))
			return CLI_USER_ERROR;
		if ((rc = job_measurer(T, j)) == CLI_OK)
			rc = job_history(T, j, to);
	}
	return rc;
}

/* Make each workload's tuned best the db's.  An exit status. */
static int finish(tunes *T)
{
	rt_error err;

	for (int i = 0; i < T->n; i++) {
		tunes_job *j = &T->jobs[i];

		rt_error_clear(&err);
		if (j->sd_init && j->has_res && srch_db_finish(&j->sd, &j->res, &err)) {
			fprintf(stderr, "ftc tune: the tuning db: %s: %s\n", j->path, err.msg);
			return CLI_USER_ERROR;
		}
	}
	return CLI_OK;
}

/* The search options of the command line (as a single tune's). */
static int options(const cli_opts *o, srch_tune_opts *to)
{
	srch_tune_opts_default(to);
	if (o->method && srch_method_parse(o->method, &to->method)) {
		fprintf(stderr, "ftc tune: unknown method '%s' (sa-q or random)\n", o->method);
		return CLI_USER_ERROR;
	}
	to->seed = o->seed;
	if (o->no_constructed)
		to->seed_points = 0;
	if (o->seconds > 0)
		to->seconds = o->seconds;
	return CLI_OK;
}

static int run(tunes *T, srch_tune_opts *to)
{
	char hosts[1024] = "";
	srch_tasks *ts;
	double *w;
	rt_error err;
	int rc;

	if ((rc = prepare(T, to)))
		return rc;
	if (!(w = malloc((size_t)T->n * sizeof(*w))))
		return fprintf(stderr, "ftc tune: out of memory\n"), CLI_INTERNAL_ERROR;
	for (int i = 0; i < T->n; i++)
		w[i] = T->jobs[i].weight;
	rt_error_clear(&err);
	ts = srch_tasks_new(T->n, w, &err);
	free(w);
	if (!ts)
		return fprintf(stderr, "ftc tune: %s\n", err.msg), CLI_USER_ERROR;
	T->t0 = rt_now();
	rc = schedule(T, to, ts);
	if (T->live)
		fputc('\n', stderr);
	if (rc == CLI_OK)
		rc = finish(T);
#ifdef FTC_MPI
	if (T->mpi)
		srch_mpi_hosts(T->mpi, hosts, sizeof(hosts));
#endif
	if (T->o->json)
		print_json(T, ts, hosts);
	else
		print_text(T, ts, hosts);
	for (int i = 0; rc == CLI_OK && i < T->n; i++)
		if (job_best(&T->jobs[i]) == INFINITY)
			rc = CLI_USER_ERROR;
	if (rc == CLI_OK && T->o->save_schedule &&
	    cli_save_schedule("tune", T->o, job_best_record(&T->jobs[0])->schedule))
		rc = CLI_USER_ERROR;
	srch_tasks_free(ts);
	return rc;
}

int cli_tune_many(const cli_opts *o, struct srch_mpi *mpi)
{
	tunes T;
	srch_tune_opts to;
	isl_ctx *ctx = NULL;
	int rc;

	memset(&T, 0, sizeof(T));
	T.o = o;
	T.mpi = mpi;
	T.target = o->target ? o->target : "cpu";
	T.live = !o->quiet && !o->json && isatty(2);
	if ((rc = options(o, &to)))
		return rc;
	for (int i = 0; i < o->nfiles && rc == CLI_OK; i++)
		if (!job_add(&T, o->files[i]))
			rc = CLI_INTERNAL_ERROR;
	if (rc == CLI_OK && o->list && read_list(&T, o->list))
		rc = CLI_USER_ERROR;
	T.budget = o->trials >= 0 ? o->trials : 100 * T.n;
	if (rc == CLI_OK && T.n > 1 && o->save_schedule) {
		fprintf(stderr, "ftc tune: --save-schedule names one workload's schedule; %d are tuned (see ftc db show)\n",
			T.n);
		rc = CLI_USER_ERROR;
	}
	if (rc == CLI_OK && T.n > SRCH_TASKS_MAX) {
		fprintf(stderr, "ftc tune: %d workloads, over %d (SRCH_TASKS_MAX)\n", T.n, SRCH_TASKS_MAX);
		rc = CLI_USER_ERROR;
	}
	if (rc == CLI_OK && !o->no_db && cli_db_open(o, true, &T.db))
		rc = CLI_USER_ERROR;
	if (rc == CLI_OK && !(ctx = cli_isl_ctx()))
		rc = CLI_INTERNAL_ERROR;
	T.ctx = ctx;
	if (rc == CLI_OK)
		rc = run(&T, &to);
	for (int i = 0; i < T.n; i++)
		job_release(&T.jobs[i]);
	free(T.jobs);
	tdb_close(T.db);
	isl_ctx_free(ctx);
	return rc;
}
