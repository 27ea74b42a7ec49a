/*
 * srch_tune: the measurement loop (see srch_tune.h).
 */
#include "srch_tune.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_time.h"
#include "srch_measure.h"

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

/* Record trial r: the best, patience, callbacks.  Non-zero stops. */
static int account(loop_state *S, srch_record *r)
{
	int idx;

	if (push(S->res, r, &S->cap)) {
		free(r->schedule);
		return -1;
	}
	idx = S->res->nrecords - 1;
	if (r->status != SRCH_OK)
		S->failures++;
	if (r->status == SRCH_OK && r->seconds < S->best * 0.99)
		S->since_gain = 0;
	else
		S->since_gain++;
	if (r->status == SRCH_OK && r->seconds < S->best) {
		S->best = r->seconds;
		S->res->best = idx;
	}
	report(S, r);
	return S->o->record ? S->o->record(S->o->record_user, &S->res->records[idx]) : 0;
}

static bool out_of_budget(loop_state *S)
{
	const srch_tune_opts *o = S->o;

	if (o->trials > 0 && S->res->nrecords >= o->trials)
		return snprintf(S->res->stop_reason, 64, "trial budget"), true;
	if (o->seconds > 0 && rt_now() - S->t0 >= o->seconds)
		return snprintf(S->res->stop_reason, 64, "time budget"), true;
	if (o->patience > 0 && S->since_gain >= o->patience)
		return snprintf(S->res->stop_reason, 64, "no gain in %d trials", o->patience), true;
	return false;
}

/* One trial of point p; the record is pushed.  Non-zero stops. */
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

	memset(&r, 0, sizeof(r));
	r.point = *p;
	r.has_point = true;
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
	srch_explorer_report(e, p, r.status == SRCH_OK ? r.seconds : INFINITY);
	return account(S, &r);
}

/* The OK records, fastest first: up to k indices into res->records. */
static int top_records(const srch_result *res, int *idx, int k)
{
	int n = 0;

	for (int i = 0; i < res->nrecords; i++) {
		const srch_record *r = &res->records[i];
		int j;

		if (r->status != SRCH_OK)
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

/*
 * Re-measure the top few records side by side (round-robin, FINAL_ROUNDS
 * rounds, each checked against the reference) and name the fastest by the
 * median of its rounds: one lucky measurement does not make the best.  The
 * records' times become the re-measured ones.
 */
static void final_remeasure(loop_state *S, const srch_bufs *b, isl_ctx *ctx, const cg_target *t)
{
	srch_result *res = S->res;
	int idx[FINAL_MAX], n, k = S->o->final_top < FINAL_MAX ? S->o->final_top : FINAL_MAX;
	cg_jit *jit[FINAL_MAX] = {0};
	double sec[FINAL_MAX][FINAL_ROUNDS];
	bool bad[FINAL_MAX] = {0};
	double best = INFINITY;
	srch_how how;
	char reason[256];

	if ((n = top_records(res, idx, k)) < 2)
		return;
	srch_how_default(&how, S->o);
	for (int i = 0; i < n; i++)
		if (!(jit[i] = srch_build(b->g, ctx, t, res->records[idx[i]].schedule, reason)))
			bad[i] = true;
	for (int round = 0; round < FINAL_ROUNDS; round++)
		for (int i = 0; i < n; i++) {
			srch_record *r = &res->records[idx[i]];

			if (bad[i])
				continue;
			how.verify = round == 0;
			if (srch_time_jit(b, cg_jit_entry(jit[i]), &how, r, &sec[i][round])) {
				bad[i] = true;
				r->seconds = INFINITY, r->gflops = 0, r->verified = false;
			}
		}
	res->best = -1;
	for (int i = 0; i < n; i++) {
		srch_record *r = &res->records[idx[i]];

		cg_jit_free(jit[i]);
		if (bad[i])
			continue;
		qsort(sec[i], FINAL_ROUNDS, sizeof(double), cmp_double);
		r->seconds = sec[i][FINAL_ROUNDS / 2];
		r->gflops = te_graph_flops(b->g) * 1e-9 / r->seconds;
		if (r->seconds < best) {
			best = r->seconds;
			res->best = idx[i];
		}
	}
	if (res->best < 0) /* every one failed now: fall back on the rest */
		for (int i = 0; i < res->nrecords; i++)
			if (res->records[i].status == SRCH_OK && res->records[i].verified &&
			    (res->best < 0 || res->records[i].seconds < res->records[res->best].seconds))
				res->best = i;
	res->remeasured = true;
}

/* Copy the history into res (first records) and seed the explorer. */
static int load_history(loop_state *S, srch_explorer *e)
{
	const srch_tune_opts *o = S->o;

	for (int i = 0; i < o->nhistory; i++) {
		srch_record r = o->history[i];

		if (!(r.schedule = strdup(r.schedule ? r.schedule : "")))
			return -1;
		if (r.has_point) /* the naive schedule (text "") as in measure_naive */
			srch_explorer_seed(e, &r.point, r.status == SRCH_OK && r.schedule[0] ? r.seconds : INFINITY);
		if (push(S->res, &r, &S->cap)) {
			free(r.schedule);
			return -1;
		}
		if (r.status != SRCH_OK)
			S->failures++;
		else if (r.seconds < S->best && r.verified && o->history_best < 0)
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
	return account(S, &r) ? 1 : 0;
}

int srch_tune(const te_graph *g, isl_ctx *ctx, const cg_target *t, const srch_tune_opts *o,
	      srch_result *res, rt_error *err)
{
	srch_bufs b = {0};
	srch_space *sp = calloc(1, sizeof(*sp));
	srch_explorer *e = NULL;
	loop_state S = {o, res, 0, 0, 0, 0, INFINITY};
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
	if (out_of_budget(&S)) { /* the history fills the budget: nothing to measure */
		rc = 0;
		res->naive_seconds = o->naive_seconds > 0 ? o->naive_seconds : INFINITY;
		goto done;
	}
	if (srch_bufs_init(&b, g, err))
		goto out;
	if ((n = measure_naive(&S, sp, &b, ctx, t, e)) < 0) {
		rt_error_set(err, 0, 0, "out of memory");
		goto out;
	}
	rc = 0;
	if (n > 0) /* the record callback stopped the search */
		goto done;
	while (!out_of_budget(&S)) {
		int want = o->trials > 0 ? o->trials - res->nrecords : 16;

		n = srch_explorer_next(e, batch, want < 4 ? want : 4);
		if (n == 0) {
			snprintf(res->stop_reason, 64, "space exhausted");
			break;
		}
		for (int i = 0; i < n && !out_of_budget(&S); i++)
			if (trial(&S, sp, &b, ctx, t, e, &batch[i]))
				goto done;
	}
	if (res->measured > 0)
		final_remeasure(&S, &b, ctx, t);
done:
	res->elapsed = rt_now() - S.t0;
out:
	free(batch);
	srch_explorer_free(e);
	srch_bufs_free(&b);
	free(sp);
	return rc;
}
