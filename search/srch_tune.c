/*
 * srch_tune: the measurement loop (see srch_tune.h).
 */
#include "srch_tune.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "rt_time.h"
#include "srch_measure.h"
#include "srch_model.h"
#include "srch_seed.h"

void srch_tune_opts_default(srch_tune_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->method = SRCH_SA_Q;
	o->seed = 1;
	o->trials = 100;
	o->timeout = 60;
	o->compile_limit = 30;
	o->min_time = 0.1;
	o->cutoff_ratio = 3;
	o->rank_ratio = 1.5;
	o->seed_points = SRCH_SEED_MAX;
	o->final_top = 3;
	o->history_best = -1;
}

void srch_result_release(srch_result *r)
{
	for (int i = 0; i < r->nrecords; i++)
		free(r->records[i].schedule);
	free(r->records);
	memset(r, 0, sizeof(*r));
}

/* Append a record; -1 when out of memory. */
static int push(srch_result *res, const srch_record *r, int *cap)
{
	if (res->nrecords == *cap) {
		int n = *cap ? 2 * *cap : 64;
		srch_record *p = realloc(res->records, n * sizeof(*p));

		if (!p)
			return -1;
		res->records = p;
		*cap = n;
	}
	res->records[res->nrecords++] = *r;
	return 0;
}

typedef struct loop_state {
	const srch_tune_opts *o;
	srch_result *res;
	int cap, failures, since_gain;
	double t0, best;
	bool seeding; /* the trial is a constructed starting point */
} loop_state;

static void report(loop_state *S, const srch_record *r)
{
	srch_progress p;

	if (!S->o->progress)
		return;
	p.trial = S->res->nrecords;
	p.trials = S->o->trials;
	p.failures = S->failures;
	p.best_gflops = S->res->best >= 0 ? S->res->records[S->res->best].gflops : 0;
	p.last_gflops = r->gflops;
	p.elapsed = rt_now() - S->t0;
	p.eta = S->o->trials > 0 && p.trial > 0 ? p.elapsed / p.trial * (S->o->trials - p.trial) : -1;
	if (S->o->seconds > 0 && (p.eta < 0 || S->o->seconds - p.elapsed < p.eta))
		p.eta = S->o->seconds - p.elapsed > 0 ? S->o->seconds - p.elapsed : 0;
	p.last = r;
	S->o->progress(S->o->user, &p);
}

/* Add the child's phases of trial r to the tune's times. */
static void add_times(srch_times *t, const srch_record *r)
{
	double child = r->t_lower + r->t_llvm + r->t_first + r->t_timing + r->t_verify;

	t->lower += r->t_lower;
	t->llvm += r->t_llvm;
	t->first += r->t_first;
	t->timing += r->t_timing;
	t->verify += r->t_verify;
	t->process += r->t_wall > child ? r->t_wall - child : 0;
}

/* Record trial r: the best, patience, callbacks.  -1 when out of memory,
 * 1 when the record callback refused it (the search stops), else 0.  A
 * transient failure (its process killed from outside) is kept in the
 * result but not given to the record callback: it says nothing of the
 * schedule, and a later tune measures it again. */
static int account(loop_state *S, srch_record *r)
{
	bool measured = r->status == SRCH_OK && !srch_record_cut_off(r);
	int idx;

	add_times(&S->res->times, r);
	if (push(S->res, r, &S->cap)) {
		free(r->schedule);
		return -1;
	}
	idx = S->res->nrecords - 1;
	if (S->o->model && r->status == SRCH_OK)
		srch_model_observe(S->o->model, r->schedule, r->gflops, srch_record_cut_off(r));
	if (r->status != SRCH_OK)
		S->failures++;
	if (measured && r->seconds < S->best * 0.99)
		S->since_gain = 0;
	else
		S->since_gain++;
	if (measured && r->seconds < S->best) {
		S->best = r->seconds;
		S->res->best = idx;
	}
	report(S, r);
	if (r->transient || !S->o->record)
		return 0;
	if (S->o->record(S->o->record_user, &S->res->records[idx])) {
		snprintf(S->res->stop_reason, 64, "a record that could not be stored");
		return 1;
	}
	return 0;
}

/* Tell the explorer what trial r says of point p. */
static void tell(srch_explorer *e, const srch_point *p, const srch_record *r)
{
	if (srch_record_cut_off(r))
		srch_explorer_report_bound(e, p, r->seconds);
	else
		srch_explorer_report(e, p, r->status == SRCH_OK ? r->seconds : INFINITY);
}

static bool out_of_budget(loop_state *S)
{
	const srch_tune_opts *o = S->o;

	if (o->interrupt && *o->interrupt) {
		S->res->interrupted = true;
		return snprintf(S->res->stop_reason, 64, "interrupt"), true;
	}
	if (o->trials > 0 && S->res->nrecords >= o->trials)
		return snprintf(S->res->stop_reason, 64, "trial budget"), true;
	if (o->seconds > 0 && rt_now() - S->t0 >= o->seconds)
		return snprintf(S->res->stop_reason, 64, "time budget"), true;
	if (o->patience > 0 && S->since_gain >= o->patience)
		return snprintf(S->res->stop_reason, 64, "no gain in %d trials", o->patience), true;
	return false;
}

/* One trial of point p; the record is pushed.  -1 when out of memory,
 * 1 when the record callback stopped the search, else 0. */
static int trial(loop_state *S, const srch_space *sp, const srch_bufs *b, isl_ctx *ctx, const cg_target *t,
		 srch_explorer *e, const srch_point *p)
{
	char *text = srch_point_schedule(sp, p);
	srch_how how;
	srch_record r;
	int rc;

	srch_how_default(&how, S->o);
	how.verify_below = S->best;
	if (S->o->cutoff_ratio > 0)
		how.cutoff = S->best * S->o->cutoff_ratio;
	if (S->o->rank_ratio > 0)
		how.rank_limit = S->best * S->o->rank_ratio;

	memset(&r, 0, sizeof(r));
	r.point = *p;
	r.has_point = true;
	r.seeded = S->seeding;
	/* The first candidate is always compared with the reference, and a
	 * candidate faster than the best is before it counts. */
	how.verify = S->res->best < 0;
	if (!text)
		return -1;
	rc = srch_measure_text(b, ctx, t, text, &how, &r);
	free(text);
	if (rc)
		return -1;
	S->res->measured++;
	tell(e, p, &r);
	return account(S, &r);
}

/* The OK records, fastest first: up to k indices into res->records. */
static int top_records(const srch_result *res, int *idx, int k)
{
	int n = 0;

	for (int i = 0; i < res->nrecords; i++) {
		const srch_record *r = &res->records[i];
		int j;

		if (r->status != SRCH_OK || srch_record_cut_off(r))
			continue;
		for (j = n; j > 0 && res->records[idx[j - 1]].seconds > r->seconds; j--)
			if (j < k)
				idx[j] = idx[j - 1];
		if (j < k) {
			idx[j] = i;
			n += n < k;
		}
	}
	return n;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

#define FINAL_MAX 8
#define FINAL_ROUNDS 3
/* A naive schedule this many times slower than the best is re-measured in
 * one round only: noise cannot reorder them, and a naive GEMM 1024 call
 * takes seconds. */
#define FINAL_NAIVE_FAR 10.0

/* The median of n (<= FINAL_ROUNDS) seconds, sorting them. */
static double median_of(double *sec, int n)
{
	qsort(sec, (size_t)n, sizeof(double), cmp_double);
	return sec[n / 2];
}

/* Index of the naive schedule's record (text ""), -1 when none. */
static int naive_record(const srch_result *res)
{
	for (int i = 0; i < res->nrecords; i++)
		if (res->records[i].schedule && !res->records[i].schedule[0])
			return i;
	return -1;
}

/*
 * Re-measure the top few records and the naive schedule side by side
 * (round-robin, FINAL_ROUNDS rounds, each checked against the reference)
 * and name the fastest by the median of its rounds: one lucky measurement
 * does not make the best, and the speedup compares two times taken in the
 * same rounds.  The records' times become the re-measured ones.  Slot n
 * is the naive schedule when it is not among the top (idx -1).
 */
static void final_remeasure(loop_state *S, const srch_bufs *b, isl_ctx *ctx, const cg_target *t)
{
	srch_result *res = S->res;
	int idx[FINAL_MAX + 1], n, k = S->o->final_top < FINAL_MAX ? S->o->final_top : FINAL_MAX;
	cg_jit *jit[FINAL_MAX + 1] = {0};
	double sec[FINAL_MAX + 1][FINAL_ROUNDS], best = INFINITY, t0 = rt_now();
	bool bad[FINAL_MAX + 1] = {0};
	srch_record naive, *rec[FINAL_MAX + 1];
	srch_how how;
	char reason[256];
	int nn, naive_at = -1, naive_rounds;

	if ((n = top_records(res, idx, k < 1 ? 1 : k)) < 1)
		return;
	memset(&naive, 0, sizeof(naive));
	nn = n;
	for (int i = 0; i < n; i++)
		if (!res->records[idx[i]].schedule[0])
			naive_at = i;
	if (naive_at < 0) {
		idx[nn] = naive_record(res);
		naive_at = nn++;
	}
	if (nn < 2)
		return;
	naive_rounds = (idx[naive_at] >= 0 ? res->records[idx[naive_at]].seconds : res->naive_seconds) >
				       FINAL_NAIVE_FAR * res->records[idx[0]].seconds
			       ? 1 : FINAL_ROUNDS;
	srch_how_default(&how, S->o);
	for (int i = 0; i < nn; i++) {
		rec[i] = idx[i] >= 0 ? &res->records[idx[i]] : &naive;
		if (!(jit[i] = srch_build(b->g, ctx, t, idx[i] >= 0 ? rec[i]->schedule : "", reason, NULL, NULL)))
			bad[i] = true;
	}
	for (int round = 0; round < FINAL_ROUNDS; round++)
		for (int i = 0; i < nn; i++) {
			if (bad[i] || (i == naive_at && round >= naive_rounds))
				continue;
			how.verify = round == 0;
			if (srch_time_jit(b, cg_jit_entry(jit[i]), &how, rec[i], &sec[i][round])) {
				bad[i] = true;
				rec[i]->seconds = INFINITY, rec[i]->gflops = 0, rec[i]->verified = false;
			}
		}
	res->best = -1;
	for (int i = 0; i < nn; i++) {
		srch_record *r = rec[i];
		double m;

		cg_jit_free(jit[i]);
		if (bad[i])
			continue;
		m = median_of(sec[i], i == naive_at ? naive_rounds : FINAL_ROUNDS);
		if (i == naive_at)
			res->naive_seconds = m;
		if (i >= n && r == &naive)
			continue;
		r->seconds = m;
		r->gflops = te_graph_flops(b->g) * 1e-9 / r->seconds;
		if ((i < n || idx[i] >= 0) && r->seconds < best) {
			best = r->seconds;
			res->best = idx[i];
		}
	}
	if (res->best < 0) /* every one failed now: fall back on the rest */
		for (int i = 0; i < res->nrecords; i++)
			if (res->records[i].status == SRCH_OK && res->records[i].verified &&
			    !srch_record_cut_off(&res->records[i]) &&
			    (res->best < 0 || res->records[i].seconds < res->records[res->best].seconds))
				res->best = i;
	res->remeasured = true;
	res->times.final = rt_now() - t0;
}

/* Copy the history into res (first records) and seed the explorer. */
static int load_history(loop_state *S, srch_explorer *e)
{
	const srch_tune_opts *o = S->o;

	for (int i = 0; i < o->nhistory; i++) {
		srch_record r = o->history[i];

		if (!(r.schedule = strdup(r.schedule ? r.schedule : "")))
			return -1;
		if (r.has_point && srch_record_cut_off(&r))
			srch_explorer_report_bound(e, &r.point, r.seconds);
		else if (r.has_point) /* the naive schedule (text "") as in measure_naive */
			srch_explorer_seed(e, &r.point, r.status == SRCH_OK && r.schedule[0] ? r.seconds : INFINITY);
		if (push(S->res, &r, &S->cap)) {
			free(r.schedule);
			return -1;
		}
		if (r.status != SRCH_OK)
			S->failures++;
		else if (r.seconds < S->best && r.verified && !srch_record_cut_off(&r) && o->history_best < 0)
			S->best = r.seconds, S->res->best = S->res->nrecords - 1;
	}
	if (o->history_best >= 0 && o->history_best < o->nhistory && o->history[o->history_best].status == SRCH_OK) {
		S->res->best = o->history_best;
		S->best = o->history[o->history_best].seconds;
	}
	S->res->nhistory = o->nhistory;
	return 0;
}

/* The naive schedule (every stage's loops in axis order) is the first
 * trial: the baseline of the speedup, a candidate like any other, and the
 * first comparison with the reference; it stands for the space's default
 * point (the same loops, reordered), which is not proposed again.  Unless
 * the history knows it. */
static int measure_naive(loop_state *S, const srch_space *sp, const srch_bufs *b, isl_ctx *ctx,
			 const cg_target *t, srch_explorer *e)
{
	srch_how how;
	srch_record r;

	if (S->o->naive_seconds > 0) {
		S->res->naive_seconds = S->o->naive_seconds;
		return 0;
	}
	srch_how_default(&how, S->o);
	how.verify = true;
	memset(&r, 0, sizeof(r));
	srch_point_default(sp, &r.point);
	r.has_point = true;
	if (srch_measure_text(b, ctx, t, "", &how, &r))
		return -1;
	S->res->measured++;
	S->res->naive_seconds = r.status == SRCH_OK ? r.seconds : INFINITY;
	/* Seen, but not a start for sa-q: its time is the naive loop order's,
	 * not the default point's, and walks from it would start the search
	 * in the slowest corner instead of from random points. */
	srch_explorer_seed(e, &r.point, INFINITY);
	return account(S, &r);
}

/* Measure the constructed starting points the explorer has not seen
 * (srch_seed), within the budget; each is a trial.  Non-zero stops. */
static int measure_seeds(loop_state *S, const srch_space *sp, const srch_bufs *b, isl_ctx *ctx,
			 const cg_target *t, srch_explorer *e)
{
	srch_point pts[SRCH_SEED_MAX + SRCH_MODEL_STARTS];
	srch_machine m;
	double t0 = rt_now();
	int n, nseed;

	if (S->o->seed_points <= 0)
		return 0;
	srch_machine_of(t, S->o->cache_dir, &m);
	n = nseed = srch_seed_points(sp, &m, pts, S->o->seed_points < SRCH_SEED_MAX ? S->o->seed_points : SRCH_SEED_MAX);
	if (S->o->model) /* the model's picks follow the constructed points */
		n += srch_model_starts(S->o->model, sp, S->o->seed, pts + n, SRCH_MODEL_STARTS);
	S->res->times.explore += rt_now() - t0;
	for (int i = 0; i < n && !out_of_budget(S); i++) {
		int rc;

		if (srch_explorer_seen(e, &pts[i]))
			continue;
		S->res->seeded += i < nseed;
		S->seeding = i < nseed;
		rc = trial(S, sp, b, ctx, t, e, &pts[i]);
		S->seeding = false;
		if (rc)
			return rc;
	}
	return 0;
}

/* srch_model_filter's skip: the explorer learns the point as a lower bound. */
static void skip_point(void *e, const srch_point *p, double seconds)
{
	srch_explorer_report_bound(e, p, seconds);
}

/* CPU seconds used by this process's reaped children so far. */
static double children_cpu(void)
{
	struct rusage u;

	if (getrusage(RUSAGE_CHILDREN, &u))
		return 0;
	return (double)u.ru_utime.tv_sec + u.ru_utime.tv_usec * 1e-6 + (double)u.ru_stime.tv_sec +
	       u.ru_stime.tv_usec * 1e-6;
}

/* The median wall time of the trials measured now. */
static double trial_median(const srch_result *res)
{
	int n = res->nrecords - res->nhistory, k = 0;
	double *w = n > 0 ? malloc(sizeof(double) * (size_t)n) : NULL, m;

	if (!w)
		return 0;
	for (int i = res->nhistory; i < res->nrecords; i++)
		w[k++] = res->records[i].t_wall;
	m = k > 0 ? median_of(w, k) : 0;
	free(w);
	return m;
}

int srch_tune(const te_graph *g, isl_ctx *ctx, const cg_target *t, const srch_tune_opts *o,
	      srch_result *res, rt_error *err)
{
	srch_bufs b = {0};
	srch_space *sp = calloc(1, sizeof(*sp));
	srch_explorer *e = NULL;
	loop_state S = {o, res, 0, 0, 0, 0, INFINITY, false};
	double t1, cpu0 = children_cpu();
	srch_point *batch = NULL;
	int rc = -1, n;

	memset(res, 0, sizeof(*res));
	res->best = -1;
	res->naive_seconds = INFINITY;
	S.t0 = rt_now();
	if (!sp || srch_space_init(sp, g, SRCH_CPU, err))
		goto out;
	if (!(e = srch_explorer_new(sp, o->method, o->seed)) || !(batch = calloc(16, sizeof(*batch))) ||
	    load_history(&S, e)) {
		rt_error_set(err, 0, 0, "out of memory");
		goto out;
	}
	if (o->model)
		srch_model_begin(o->model, g);
	if (out_of_budget(&S)) { /* the history fills the budget: nothing to measure */
		rc = 0;
		res->naive_seconds = o->naive_seconds > 0 ? o->naive_seconds : INFINITY;
		goto done;
	}
	t1 = rt_now();
	if (srch_bufs_init(&b, g, err))
		goto out;
	res->times.setup = rt_now() - t1;
	if ((n = measure_naive(&S, sp, &b, ctx, t, e)) == 0)
		n = measure_seeds(&S, sp, &b, ctx, t, e);
	if (n < 0)
		goto no_memory;
	rc = 0;
	if (n > 0) /* the record callback stopped the search */
		goto done;
	while (!out_of_budget(&S)) {
		int want = o->trials > 0 ? o->trials - res->nrecords : 16;

		t1 = rt_now();
		/* with a model, twice the proposals, ranked and filtered */
		n = srch_explorer_next(e, batch, (want < 4 ? want : 4) * (o->model ? 2 : 1));
		if (n == 0) {
			snprintf(res->stop_reason, 64, "space exhausted");
			break;
		}
		if (o->model)
			n = srch_model_filter(o->model, sp, batch, n, skip_point, e);
		res->times.explore += rt_now() - t1;
		for (int i = 0; i < n && !out_of_budget(&S); i++) {
			int stop = trial(&S, sp, &b, ctx, t, e, &batch[i]);

			if (stop < 0)
				goto no_memory;
			if (stop)
				goto done;
		}
	}
	if (res->measured > 0 && !res->interrupted)
		final_remeasure(&S, &b, ctx, t);
	goto done;
no_memory:
	res->out_of_memory = true;
	rt_error_set(err, 0, 0, "out of memory after %d trials", res->nrecords);
	rc = -1;
done:
	res->elapsed = rt_now() - S.t0;
	res->times.trial_median = trial_median(res);
	res->skipped_by_model = o->model ? srch_model_skipped(o->model) : 0;
	res->times.children_cpu = children_cpu() - cpu0;
out:
	free(batch);
	srch_explorer_free(e);
	srch_bufs_free(&b);
	free(sp);
	return rc;
}
