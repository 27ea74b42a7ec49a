/*
 * srch_hls: the HLS search loop (see srch_hls.h).  The loop mirrors
 * srch_tune's (history, naive first, explorer proposals, budget, patience,
 * callbacks) with the model in place of a measurement.
 */
#include "srch_hls.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cg_hls.h"
#include "lower.h"
#include "rt_alloc.h"
#include "rt_rand.h"
#include "rt_time.h"
#include "sched.h"
#include "te_interp.h"

char *srch_hls_default_schedule(const te_graph *g, rt_error *err)
{
	srch_space *sp = calloc(1, sizeof(*sp));
	srch_point p;
	char *text = NULL;

	if (!sp) {
		rt_error_set(err, 0, 0, "out of memory");
		return NULL;
	}
	if (srch_space_init(sp, g, SRCH_HLS, err) == 0) {
		srch_point_default(sp, &p);
		if (!(text = srch_point_schedule(sp, &p)))
			rt_error_set(err, 0, 0, "out of memory");
	}
	free(sp);
	return text;
}

/* Lower schedule text (NULL: the naive one) into a lir function. */
static lir_func *lower_text(const te_graph *g, isl_ctx *ctx, const char *text, bool trusted, rt_error *err)
{
	sch_schedule *s = text ? sch_parse(text, err) : NULL;
	lir_func *f = NULL;

	if (!text || s)
		f = lir_lower_flags(g, s, ctx, "kernel", trusted ? LIR_LOWER_TRUSTED : 0, err);
	sch_free(s);
	return f;
}

int srch_hls_estimate(const te_graph *g, isl_ctx *ctx, const cg_target *t, const char *schedule, bool trusted,
		      hls_estimate *e, rt_error *err)
{
	char *own = schedule ? NULL : srch_hls_default_schedule(g, err);
	lir_func *f = NULL;
	int rc = -1;

	if (!schedule && !own)
		return -1;
	f = lower_text(g, ctx, schedule ? schedule : own, trusted, err);
	if (f && cg_hls_lint(f, err) == 0 && hls_model_estimate(f, t, e, err) == 0)
		rc = 0;
	lir_func_free(f);
	free(own);
	return rc;
}

/* ---- checking the best by interpretation ---- */

/* Interpret schedule `text` on seeded inputs and compare with the
 * reference: 1 equal, 0 different (reason set), -1 could not run. */
static int check_by_interp(const te_graph *g, isl_ctx *ctx, const char *text, char *reason, size_t n)
{
	int ns = te_graph_nstages(g), np = 0, rc = -1;
	void **ref = calloc((size_t)ns + 1, sizeof(void *)), **got = calloc((size_t)ns + 1, sizeof(void *));
	void **params = calloc((size_t)ns + 1, sizeof(void *));
	lir_func *f = NULL;
	rt_error err;

	rt_error_clear(&err);
	if (!ref || !got || !params)
		goto out;
	for (int i = 0; i < ns; i++) {
		const te_stage *s = te_graph_stage(g, i);
		size_t bytes = (size_t)te_stage_numel(s) * te_dtype_size(s->type);

		if (s->kind == TE_STAGE_COMPUTE && !s->is_output)
			continue;
		if (!(ref[i] = rt_alloc(bytes)) || !(got[i] = rt_alloc(bytes)))
			goto out;
		if (s->kind == TE_STAGE_INPUT) {
			te_random_fill(s, ref[i], 1);
			memcpy(got[i], ref[i], bytes);
		}
	}
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < ns; i++) {
			const te_stage *s = te_graph_stage(g, i);

			if (pass == 0 ? s->kind == TE_STAGE_INPUT : s->kind == TE_STAGE_COMPUTE && s->is_output)
				params[np++] = got[i];
		}
	if (te_interp_run(g, ref, &err) || !(f = lower_text(g, ctx, text, false, &err)) ||
	    lir_interp_run(f, params, &err)) {
		snprintf(reason, n, "%.200s", err.msg);
		rc = f ? 0 : -1;
		goto out;
	}
	rc = 1;
	for (int i = 0; i < ns && rc == 1; i++) {
		const te_stage *s = te_graph_stage(g, i);
		te_cmp c;

		if (s->kind != TE_STAGE_COMPUTE || !s->is_output)
			continue;
		c = te_compare(s, got[i], ref[i]);
		if (!c.ok) {
			snprintf(reason, n, "wrong result: %s has %lld elements off (max abs err %.3g)", s->name,
				 (long long)c.nbad, c.max_abs);
			rc = 0;
		}
	}
out:
	for (int i = 0; i < ns && ref; i++) {
		rt_free(ref[i]);
		rt_free(got ? got[i] : NULL);
	}
	free(ref);
	free(got);
	free(params);
	lir_func_free(f);
	return rc;
}

/* ---- the loop ---- */

typedef struct hls_loop {
	const srch_tune_opts *o;
	const te_graph *g;
	isl_ctx *ctx;
	const cg_target *t;
	srch_result *res;
	int cap, failures, since_gain;
	double t0, best;
} hls_loop;

static int push(hls_loop *S, const srch_record *r)
{
	srch_result *res = S->res;

	if (res->nrecords == S->cap) {
		int n = S->cap ? 2 * S->cap : 64;
		srch_record *p = realloc(res->records, (size_t)n * sizeof(*p));

		if (!p)
			return -1;
		res->records = p;
		S->cap = n;
	}
	res->records[res->nrecords++] = *r;
	return 0;
}

static void report(hls_loop *S, const srch_record *r)
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
	p.last = r;
	S->o->progress(S->o->user, &p);
}

/* Record r (taken): the best, patience, callbacks.  Non-zero stops. */
static int account(hls_loop *S, srch_record *r)
{
	int idx;

	if (push(S, r)) {
		free(r->schedule);
		return -1;
	}
	idx = S->res->nrecords - 1;
	if (r->status != SRCH_OK)
		S->failures++;
	S->since_gain = r->status == SRCH_OK && r->seconds < S->best * 0.99 ? 0 : S->since_gain + 1;
	if (r->status == SRCH_OK && r->seconds < S->best) {
		S->best = r->seconds;
		S->res->best = idx;
	}
	report(S, r);
	return S->o->record ? S->o->record(S->o->record_user, &S->res->records[idx]) : 0;
}

static bool out_of_budget(hls_loop *S)
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

/* Estimate point p into *r (schedule, status, modelled time). 0, or -1
 * when out of memory. */
static int estimate(hls_loop *S, const srch_space *sp, const srch_point *p, srch_record *r)
{
	hls_estimate e;
	rt_error err;

	memset(r, 0, sizeof(*r));
	r->point = *p;
	r->has_point = true;
	r->seconds = INFINITY;
	if (!(r->schedule = srch_point_schedule(sp, p)))
		return -1;
	rt_error_clear(&err);
	if (srch_hls_estimate(S->g, S->ctx, S->t, r->schedule, true, &e, &err)) {
		r->status = SRCH_FAILED;
		snprintf(r->reason, sizeof(r->reason), "%.250s", err.msg);
		return 0;
	}
	if (!e.fits) {
		r->status = SRCH_FAILED;
		snprintf(r->reason, sizeof(r->reason), "over budget: %.200s", e.over);
		return 0;
	}
	r->status = SRCH_OK;
	r->seconds = e.seconds;
	r->runs = 1;
	r->gflops = e.seconds > 0 ? te_graph_flops(S->g) * 1e-9 / e.seconds : 0;
	return 0;
}

/* Copy the history into res and seed the explorer, as srch_tune does. */
static int load_history(hls_loop *S, srch_explorer *e)
{
	const srch_tune_opts *o = S->o;

	for (int i = 0; i < o->nhistory; i++) {
		srch_record r = o->history[i];

		if (!(r.schedule = strdup(r.schedule ? r.schedule : "")))
			return -1;
		if (r.has_point)
			srch_explorer_seed(e, &r.point, r.status == SRCH_OK ? r.seconds : INFINITY);
		if (push(S, &r)) {
			free(r.schedule);
			return -1;
		}
		if (r.status != SRCH_OK)
			S->failures++;
		else if (r.seconds < S->best)
			S->best = r.seconds, S->res->best = S->res->nrecords - 1;
	}
	S->res->nhistory = o->nhistory;
	return 0;
}

/* One trial of p.  Non-zero stops (out of memory, or the callback). */
static int trial(hls_loop *S, const srch_space *sp, srch_explorer *e, const srch_point *p)
{
	srch_record r;

	if (estimate(S, sp, p, &r)) {
		free(r.schedule);
		return -1;
	}
	S->res->measured++;
	srch_explorer_report(e, p, r.status == SRCH_OK ? r.seconds : INFINITY);
	return account(S, &r);
}

/* sa-q's warm-up: random points before the annealing starts from the
 * best of them.  The model's cost has wide plateaus (an off-chip port or a
 * recurrence bounds the II whatever else changes) and cliffs (over
 * budget), so one start at the naive point often stalls; model trials are
 * cheap.  10% of the trial budget, 8 to 200. */
static int warmup_trials(const srch_tune_opts *o)
{
	int n = o->trials > 0 ? o->trials / 10 : 50;

	if (o->method != SRCH_SA_Q)
		return 0;
	return n < 8 ? 8 : n > 200 ? 200 : n;
}

/* Estimate `n` distinct random points, seeding the explorer with each.
 * Non-zero stops (out of memory: -1; the record callback). */
static int warmup(hls_loop *S, const srch_space *sp, srch_explorer *e, int n)
{
	uint64_t rng = S->o->seed ^ UINT64_C(0x5eed0f0e1f9a), seen[200];
	int nseen = 0;

	for (int tries = 0; nseen < n && tries < 4 * n && !out_of_budget(S); tries++) {
		srch_point p;
		srch_record r;
		uint64_t h;
		bool dup = false;
		int rc;

		srch_point_random(sp, &rng, &p);
		h = srch_point_hash(sp, &p);
		for (int i = 0; i < nseen && !dup; i++)
			dup = seen[i] == h;
		if (dup)
			continue;
		seen[nseen++] = h;
		if (estimate(S, sp, &p, &r)) {
			free(r.schedule);
			return -1;
		}
		S->res->measured++;
		srch_explorer_seed(e, &p, r.status == SRCH_OK ? r.seconds : INFINITY);
		if ((rc = account(S, &r)))
			return rc;
	}
	return 0;
}

/* Check the best by interpretation when cheap; a wrong one gives way to
 * the next fastest (three tries). */
static void verify_best(hls_loop *S)
{
	srch_result *res = S->res;

	if (te_graph_flops(S->g) > SRCH_HLS_VERIFY_FLOPS)
		return;
	for (int tries = 0; tries < 3 && res->best >= 0; tries++) {
		srch_record *b = &res->records[res->best];
		int ok = check_by_interp(S->g, S->ctx, b->schedule, b->reason, sizeof(b->reason));

		if (ok != 0) {
			b->verified = ok == 1;
			return;
		}
		b->status = SRCH_WRONG;
		b->seconds = INFINITY;
		res->best = -1;
		for (int i = 0; i < res->nrecords; i++)
			if (res->records[i].status == SRCH_OK &&
			    (res->best < 0 || res->records[i].seconds < res->records[res->best].seconds))
				res->best = i;
	}
}

int srch_tune_hls(const te_graph *g, isl_ctx *ctx, const cg_target *t, const srch_tune_opts *o,
		  srch_result *res, rt_error *err)
{
	srch_space *sp = calloc(1, sizeof(*sp));
	srch_explorer *e = NULL;
	hls_loop S = {o, g, ctx, t, res, 0, 0, 0, rt_now(), INFINITY};
	srch_point batch[4];
	int rc = -1, n;

	memset(res, 0, sizeof(*res));
	res->best = -1;
	res->naive_seconds = o->naive_seconds > 0 ? o->naive_seconds : INFINITY;
	if (!sp || srch_space_init(sp, g, SRCH_HLS, err))
		goto out;
	if (!(e = srch_explorer_new(sp, o->method, o->seed)) || load_history(&S, e)) {
		rt_error_set(err, 0, 0, "out of memory");
		goto out;
	}
	rc = 0;
	if (o->naive_seconds <= 0 && !out_of_budget(&S)) {
		srch_point_default(sp, &batch[0]);
		if ((n = trial(&S, sp, e, &batch[0])) < 0)
			goto oom;
		res->naive_seconds = res->records[res->nrecords - 1].status == SRCH_OK
					     ? res->records[res->nrecords - 1].seconds
					     : INFINITY;
		if (n)
			goto done;
	}
	if ((n = warmup(&S, sp, e, warmup_trials(o))) < 0)
		goto oom;
	if (n)
		goto done;
	while (!out_of_budget(&S)) {
		int want = o->trials > 0 ? o->trials - res->nrecords : 4;

		if ((n = srch_explorer_next(e, batch, want < 4 ? want : 4)) == 0) {
			snprintf(res->stop_reason, 64, "space exhausted");
			break;
		}
		for (int i = 0; i < n && !out_of_budget(&S); i++) {
			int r = trial(&S, sp, e, &batch[i]);

			if (r < 0)
				goto oom;
			if (r)
				goto done;
		}
	}
done:
	verify_best(&S);
	res->elapsed = rt_now() - S.t0;
	goto out;
oom:
	rc = rt_error_set(err, 0, 0, "out of memory");
out:
	srch_explorer_free(e);
	free(sp);
	return rc;
}
