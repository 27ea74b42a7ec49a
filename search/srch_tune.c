/*
 * srch_tune: the measurement loop (see srch_tune.h).
 */
#include "srch_tune.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lower.h"
#include "rt_alloc.h"
#include "rt_bench.h"
#include "rt_isolate.h"
#include "rt_time.h"
#include "sched.h"
#include "te_interp.h"

void srch_tune_opts_default(srch_tune_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->method = SRCH_SA_Q;
	o->seed = 1;
	o->trials = 100;
	o->timeout = 60;
	o->min_time = 0.1;
}

void srch_result_release(srch_result *r)
{
	for (int i = 0; i < r->nrecords; i++)
		free(r->records[i].schedule);
	free(r->records);
	memset(r, 0, sizeof(*r));
}

/* Buffers shared by every trial: inputs, the reference outputs, and the
 * kernel's output buffers (written in the children, copy-on-write). */
typedef struct bench_bufs {
	const te_graph *g;
	int n;
	void **ref, **got;
	void **params;
} bench_bufs;

static void bufs_free(bench_bufs *b)
{
	for (int i = 0; b->ref && i < b->n; i++) {
		if (b->got[i] != b->ref[i])
			rt_free(b->got[i]);
		rt_free(b->ref[i]);
	}
	free(b->ref);
	free(b->got);
	free(b->params);
	memset(b, 0, sizeof(*b));
}

static int bufs_init(bench_bufs *b, const te_graph *g, rt_error *err)
{
	int k = 0;

	b->g = g;
	b->n = te_graph_nstages(g);
	b->ref = calloc(b->n + 1, sizeof(void *));
	b->got = calloc(b->n + 1, sizeof(void *));
	b->params = calloc(b->n + 1, sizeof(void *));
	if (!b->ref || !b->got || !b->params)
		goto oom;
	for (int i = 0; i < b->n; i++) {
		const te_stage *s = te_graph_stage(g, i);
		size_t bytes = (size_t)te_stage_numel(s) * te_dtype_size(s->type);

		if (s->kind == TE_STAGE_COMPUTE && !s->is_output)
			continue;
		if (!(b->ref[i] = rt_alloc(bytes)))
			goto oom;
		if (s->kind == TE_STAGE_INPUT) {
			te_random_fill(s, b->ref[i], 1);
			b->got[i] = b->ref[i];
		} else if (!(b->got[i] = rt_alloc(bytes))) {
			goto oom;
		}
	}
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < b->n; i++) {
			const te_stage *s = te_graph_stage(g, i);

			if (pass == 0 ? s->kind == TE_STAGE_INPUT : s->kind == TE_STAGE_COMPUTE && s->is_output)
				b->params[k++] = b->got[i];
		}
	return te_interp_run(g, b->ref, err);
oom:
	return rt_error_set(err, 0, 0, "out of memory for the tuning buffers");
}

/* What a trial's child reports through shared memory. */
typedef struct trial_out {
	int ok;
	double median, spread;
	int runs;
	char msg[200];
} trial_out;

typedef struct trial_ctx {
	cg_packed_fn fn;
	const bench_bufs *b;
	bool verify;
	double min_time;
} trial_ctx;

static int call(void *ctx)
{
	trial_ctx *c = ctx;

	return c->fn(c->b->params);
}

/* In the child: run once, compare (when asked), time. */
static int trial_child(void *ctx, void *shm, size_t size)
{
	trial_ctx *c = ctx;
	trial_out *out = shm;
	rt_bench_opts o;
	rt_timing t;
	rt_error err;

	(void)size;
	if (call(c)) {
		snprintf(out->msg, sizeof(out->msg), "the kernel could not allocate its buffers");
		return 3;
	}
	if (c->verify) {
		for (int i = 0; i < c->b->n; i++) {
			const te_stage *s = te_graph_stage(c->b->g, i);
			te_cmp cmp;

			if (s->kind != TE_STAGE_COMPUTE || !s->is_output)
				continue;
			cmp = te_compare(s, c->b->got[i], c->b->ref[i]);
			if (!cmp.ok) {
				snprintf(out->msg, sizeof(out->msg),
					 "wrong result: %s has %lld elements off (max abs err %.3g)", s->name,
					 (long long)cmp.nbad, cmp.max_abs);
				return 4;
			}
		}
		out->ok = 1;
		return 0;
	}
	rt_bench_opts_default(&o);
	o.min_time = c->min_time;
	o.min_runs = 3;
	rt_error_clear(&err);
	if (rt_bench(call, c, &o, &t, &err)) {
		snprintf(out->msg, sizeof(out->msg), "%.190s", err.msg);
		return 5;
	}
	out->ok = 1;
	out->median = t.median;
	out->spread = t.spread;
	out->runs = t.runs;
	return 0;
}

/* Run one child; 0 and *out filled, or -1 with r's reason set. */
static int run_child(trial_ctx *c, double timeout, trial_out *out, srch_record *r)
{
	rt_isolate_result res;
	int rc = rt_isolate_run(trial_child, c, sizeof(trial_out), timeout, &res);

	if (res.shm)
		memcpy(out, res.shm, sizeof(*out));
	if (rc) {
		if (res.status == RT_ISO_EXIT && out->msg[0])
			snprintf(r->reason, sizeof(r->reason), "%.200s", out->msg);
		else
			snprintf(r->reason, sizeof(r->reason), "the kernel %.200s", res.reason);
		r->status = res.status == RT_ISO_EXIT && res.code == 4 ? SRCH_WRONG : SRCH_FAILED;
	}
	rt_isolate_result_release(&res);
	return rc ? -1 : 0;
}

/* Lower and compile a schedule; the JIT or NULL with r's reason set. */
static cg_jit *build(const te_graph *g, isl_ctx *ctx, const cg_target *t, const char *text, srch_record *r)
{
	rt_error err;
	sch_schedule *s;
	lir_func *f = NULL;
	cg_jit *j = NULL;

	rt_error_clear(&err);
	if (!(s = sch_parse(text, &err)) || !(f = lir_lower_flags(g, s, ctx, "kernel", LIR_LOWER_TRUSTED, &err)))
		snprintf(r->reason, sizeof(r->reason), "lowering: %.200s", err.msg);
	else if (!(j = cg_jit_new(cg_cpu_compile(f, t, &err), &err)))
		snprintf(r->reason, sizeof(r->reason), "compiling: %.200s", err.msg);
	lir_func_free(f);
	sch_free(s);
	if (!j)
		r->status = SRCH_FAILED;
	return j;
}

static int measure(const bench_bufs *b, isl_ctx *ctx, const cg_target *t, const char *text, bool verify,
		   const srch_tune_opts *o, srch_record *r)
{
	trial_ctx c = {NULL, b, false, o->min_time};
	trial_out out;
	cg_jit *j;

	r->status = SRCH_OK;
	r->reason[0] = '\0';
	r->seconds = INFINITY;
	r->gflops = 0;
	r->verified = false;
	if (!(r->schedule = strdup(text)))
		return -1;
	if (!(j = build(b->g, ctx, t, text, r)))
		return 0;
	c.fn = cg_jit_entry(j);
	memset(&out, 0, sizeof(out));
	if (run_child(&c, o->timeout, &out, r) == 0) {
		r->seconds = out.median;
		r->spread = out.spread;
		r->gflops = te_graph_flops(b->g) * 1e-9 / out.median;
		if (verify) {
			c.verify = true;
			memset(&out, 0, sizeof(out));
			if (run_child(&c, o->timeout, &out, r) == 0)
				r->verified = true;
			else
				r->seconds = INFINITY, r->gflops = 0;
		}
	} else {
		r->seconds = INFINITY;
	}
	cg_jit_free(j);
	return 0;
}

int srch_measure(const te_graph *g, isl_ctx *ctx, const cg_target *t, const char *schedule,
		 bool verify, double timeout, double min_time, srch_record *r)
{
	bench_bufs b = {0};
	srch_tune_opts o;
	rt_error err;
	int rc;

	srch_tune_opts_default(&o);
	o.timeout = timeout;
	o.min_time = min_time;
	rt_error_clear(&err);
	if (bufs_init(&b, g, &err)) {
		bufs_free(&b);
		snprintf(r->reason, sizeof(r->reason), "%.250s", err.msg);
		r->status = SRCH_FAILED;
		return -1;
	}
	rc = measure(&b, ctx, t, schedule, verify, &o, r);
	bufs_free(&b);
	return rc;
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
	return S->o->record ? S->o->record(S->o->user, r) : 0;
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
static int trial(loop_state *S, const srch_space *sp, const bench_bufs *b, isl_ctx *ctx, const cg_target *t,
		 srch_explorer *e, const srch_point *p)
{
	char *text = srch_point_schedule(sp, p);
	srch_record r;
	bool verify;

	memset(&r, 0, sizeof(r));
	r.point = *p;
	if (!text)
		return -1;
	/* Time it; a candidate faster than the best is verified before it counts. */
	if (measure(b, ctx, t, text, false, S->o, &r)) {
		free(text);
		return -1;
	}
	verify = r.status == SRCH_OK && (S->res->best < 0 || r.seconds < S->best);
	if (verify) {
		srch_record v = r;

		v.schedule = NULL;
		free(r.schedule);
		measure(b, ctx, t, text, true, S->o, &v);
		if (v.status != SRCH_OK) {
			r.status = v.status;
			memcpy(r.reason, v.reason, sizeof(r.reason));
			r.seconds = INFINITY;
			r.gflops = 0;
		} else {
			r.verified = true;
		}
		r.schedule = v.schedule;
	}
	free(text);
	srch_explorer_report(e, p, r.status == SRCH_OK ? r.seconds : INFINITY);
	return account(S, &r);
}

int srch_tune(const te_graph *g, isl_ctx *ctx, const cg_target *t, const srch_tune_opts *o,
	      srch_result *res, rt_error *err)
{
	bench_bufs b = {0};
	srch_space *sp = calloc(1, sizeof(*sp));
	srch_explorer *e = NULL;
	loop_state S = {o, res, 0, 0, 0, 0, INFINITY};
	srch_point *batch = NULL, naive;
	srch_record r;
	int rc = -1, n;

	memset(res, 0, sizeof(*res));
	res->best = -1;
	res->naive_seconds = INFINITY;
	S.t0 = rt_now();
	if (!sp || srch_space_init(sp, g, SRCH_CPU, err) || bufs_init(&b, g, err))
		goto out;
	if (!(e = srch_explorer_new(sp, o->method, o->seed)) || !(batch = calloc(16, sizeof(*batch)))) {
		rt_error_set(err, 0, 0, "out of memory");
		goto out;
	}
	for (int i = 0; i < o->nhistory; i++) {
		srch_explorer_seed(e, &o->history[i].point, o->history[i].status == SRCH_OK ? o->history[i].seconds : INFINITY);
		if (o->history[i].status == SRCH_OK && o->history[i].seconds < S.best)
			S.best = o->history[i].seconds;
	}
	/* The naive schedule first: the baseline, and the first verification. */
	srch_point_default(sp, &naive);
	memset(&r, 0, sizeof(r));
	r.point = naive;
	if (measure(&b, ctx, t, "", true, o, &r))
		goto out;
	res->naive_seconds = r.seconds;
	free(r.schedule);
	rc = 0;
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
done:
	res->elapsed = rt_now() - S.t0;
out:
	free(batch);
	srch_explorer_free(e);
	bufs_free(&b);
	free(sp);
	return rc;
}
