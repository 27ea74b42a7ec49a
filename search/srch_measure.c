/*
 * srch_measure: how the tuner measures one candidate (see srch_measure.h).
 */
#include "srch_measure.h"

#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "lir_pipe.h"
#include "lower.h"
#include "rt_bench.h"
#include "rt_isolate.h"
#include "rt_time.h"

/* The child's exit statuses beyond fn's own (3 allocation, 4 wrong, 5 bench). */
enum { TRIAL_NOALLOC = 3, TRIAL_WRONG = 4, TRIAL_BENCH = 5, TRIAL_SLOW = 6, TRIAL_BUILD = 7, TRIAL_BUILD_SLOW = 8 };

/* Seeded inputs (seed 1, as every tuner uses) and the reference outputs. */
static int bufs_init(te_bufs *b, const te_graph *g, rt_error *err)
{
	return te_bufs_init(b, g, 1, err) || te_bufs_reference(b, err) ? -1 : 0;
}

/* What a trial's child reports through shared memory. */
typedef struct trial_out {
	int ok, verified;
	double median, spread;
	int runs;
	double t_lower, t_llvm, t_first, t_timing, t_verify; /* seconds */
	char msg[200];
} trial_out;

typedef struct trial_ctx {
	const te_bufs *b;
	const srch_how *how;
	/* build in the child from these ... */
	isl_ctx *ctx;
	const cg_target *t;
	const char *text;
	/* ... or run this */
	cg_packed_fn fn;
} trial_ctx;

static int call(void *ctx)
{
	trial_ctx *c = ctx;

	return c->fn(c->b->params);
}

/* Compare every output with the reference; 0, or TRIAL_WRONG with the
 * message set. */
static int compare_outputs(const trial_ctx *c, trial_out *out)
{
	te_cmp cmp;
	int i = te_bufs_first_wrong(c->b, &cmp);

	if (i >= 0) {
		snprintf(out->msg, sizeof(out->msg), "wrong result: %s has %lld elements off (max abs err %.3g)",
			 te_graph_stage(c->b->g, i)->name, (long long)cmp.nbad, cmp.max_abs);
		return TRIAL_WRONG;
	}
	out->verified = 1;
	return 0;
}

static void run_too_slow(int sig)
{
	(void)sig;
	_exit(TRIAL_SLOW);
}

static void build_too_slow(int sig)
{
	(void)sig;
	_exit(TRIAL_BUILD_SLOW);
}

/* Arm an alarm that calls `handler` after `seconds` (finite, > 0), or
 * disarm it (handler NULL). */
static void alarm_in(double seconds, void (*handler)(int))
{
	struct itimerval it;
	struct sigaction sa;

	memset(&it, 0, sizeof(it));
	if (handler) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = handler;
		sigaction(SIGALRM, &sa, NULL);
		it.it_value.tv_sec = (time_t)seconds;
		it.it_value.tv_usec = (suseconds_t)((seconds - (double)it.it_value.tv_sec) * 1e6) + 1;
	}
	setitimer(ITIMER_REAL, &it, NULL);
}

cg_jit *srch_build(const te_graph *g, isl_ctx *ctx, const cg_target *t, const char *text, char *reason,
		   double *t_lower, double *t_llvm)
{
	rt_error err;
	lir_func *f;
	cg_jit *j = NULL;
	double t0 = rt_now(), t1;

	rt_error_clear(&err);
	if (!(f = lir_pipeline(g, ctx, text, "kernel", LIR_LOWER_TRUSTED, &err)))
		snprintf(reason, 256, "lowering: %.200s", err.msg);
	t1 = rt_now();
	if (f && !(j = cg_jit_new(cg_cpu_compile(f, t, &err), &err)))
		snprintf(reason, 256, "compiling: %.200s", err.msg);
	if (t_lower)
		*t_lower = t1 - t0;
	if (t_llvm)
		*t_llvm = rt_now() - t1;
	lir_func_free(f);
	return j;
}

/* In the child: lower and compile c->text under the compile limit. */
static int child_build(trial_ctx *c, trial_out *out)
{
	char reason[256];
	cg_jit *j;

	if (isfinite(c->how->compile_limit) && c->how->compile_limit > 0)
		alarm_in(c->how->compile_limit, build_too_slow);
	j = srch_build(c->b->g, c->ctx, c->t, c->text, reason, &out->t_lower, &out->t_llvm);
	alarm_in(0, NULL);
	if (!j) {
		snprintf(out->msg, sizeof(out->msg), "%.199s", reason);
		return TRIAL_BUILD;
	}
	c->fn = cg_jit_entry(j); /* the child exits with it: never freed */
	return 0;
}

/* One call of the kernel; TRIAL_NOALLOC with the message set on failure. */
static int call_once(trial_ctx *c, trial_out *out, double *seconds)
{
	double t0 = rt_now();

	if (call(c)) {
		snprintf(out->msg, sizeof(out->msg), "the kernel could not allocate its buffers");
		return TRIAL_NOALLOC;
	}
	*seconds = rt_now() - t0;
	return 0;
}

/*
 * In the child: time runs after the warm-up until min_time and
 * SRCH_MIN_RUNS, at most SRCH_MAX_RUNS; stop at SRCH_RANK_RUNS when even
 * the fastest run is past how->rank_limit (the median is known well
 * enough to rank it: it is not the best).  The first timed run is under
 * the cutoff alarm.
 */
static int time_runs(trial_ctx *c, trial_out *out, rt_timing *t)
{
	const srch_how *h = c->how;
	double sample[SRCH_MAX_RUNS], fastest = INFINITY, t0 = rt_now();
	int n = 0, rc;

	while (n < SRCH_MAX_RUNS && (n < SRCH_MIN_RUNS || rt_now() - t0 < h->min_time)) {
		if (n == 0 && isfinite(h->cutoff))
			alarm_in(h->cutoff, run_too_slow);
		if ((rc = call_once(c, out, &sample[n])))
			return rc;
		if (n == 0)
			alarm_in(0, NULL);
		fastest = sample[n] < fastest ? sample[n] : fastest;
		if (++n >= SRCH_RANK_RUNS && fastest > h->rank_limit)
			break;
	}
	out->t_timing = rt_now() - t0;
	rt_timing_from_samples(sample, n, t);
	return 0;
}

/*
 * In the child: build when asked to, then warm up: one untimed call (it
 * pays the page faults of the copy-on-write outputs and the cold caches;
 * a 0.29 ms kernel's first call took 3.4 ms), stopped when it runs past
 * SRCH_COLD_FACTOR x the cutoff + SRCH_COLD_SLACK s (TRIAL_SLOW).  A
 * warm-up longer than SRCH_LONG_RUN s is the measurement (one long run
 * times well enough); otherwise time_runs, whose first timed run past
 * the cutoff is stopped there (TRIAL_SLOW: the candidate is at least that
 * slow and cannot be the best).  Then compare the outputs when asked to,
 * or when the median beats verify_below.
 */
static int trial_child(void *ctx, void *shm, size_t size)
{
	trial_ctx *c = ctx;
	const srch_how *h = c->how;
	trial_out *out = shm;
	rt_timing t;
	double first = 0, t0;
	int rc;

	(void)size;
	if (!c->fn && (rc = child_build(c, out)))
		return rc;
	if (isfinite(h->cutoff))
		alarm_in(h->cutoff * SRCH_COLD_FACTOR + SRCH_COLD_SLACK, run_too_slow);
	rc = call_once(c, out, &first);
	alarm_in(0, NULL);
	out->t_first = first;
	if (rc)
		return rc;
	if (first > SRCH_LONG_RUN) {
		t.median = first, t.spread = 0, t.runs = 1;
	} else if ((rc = time_runs(c, out, &t))) {
		return rc;
	}
	out->median = t.median;
	out->spread = t.spread;
	out->runs = t.runs;
	t0 = rt_now();
	if ((h->verify || t.median < h->verify_below) && (rc = compare_outputs(c, out)))
		return rc;
	out->t_verify = rt_now() - t0;
	out->ok = 1;
	return 0;
}

/* Killed by SIGKILL that was not our timeout: the OOM killer or a user,
 * not a property of the schedule. */
static bool killed_from_outside(const rt_isolate_result *res)
{
	return res->status == RT_ISO_SIGNAL && res->code == SIGKILL;
}

/* Run one child, once more when it was killed from outside; 0 with *out
 * filled, or -1 with r's status and reason set (r->transient when it was
 * killed from outside twice). */
static int run_child(trial_ctx *c, trial_out *out, srch_record *r)
{
	rt_isolate_result res;
	int rc;

	for (int attempt = 0;; attempt++) {
		memset(out, 0, sizeof(*out));
		rc = rt_isolate_run(trial_child, c, sizeof(trial_out), c->how->timeout, &res);
		if (attempt >= SRCH_RETRIES || !killed_from_outside(&res))
			break;
		rt_isolate_result_release(&res);
	}
	r->transient = killed_from_outside(&res);
	r->t_wall = res.seconds;
	if (res.shm)
		memcpy(out, res.shm, sizeof(*out));
	r->t_lower = out->t_lower;
	r->t_llvm = out->t_llvm;
	r->t_first = out->t_first;
	r->t_timing = out->t_timing;
	r->t_verify = out->t_verify;
	if (rc && res.status == RT_ISO_EXIT && res.code == TRIAL_SLOW) {
		out->median = c->how->cutoff; /* at least */
		out->spread = 0;
		out->runs = 0;
		rc = 0;
	} else if (rc) {
		r->status = SRCH_FAILED;
		if (res.status == RT_ISO_EXIT && res.code == TRIAL_BUILD_SLOW)
			snprintf(r->reason, sizeof(r->reason), "lowering and compiling took longer than %g s",
				 c->how->compile_limit);
		else if (res.status == RT_ISO_EXIT && out->msg[0])
			snprintf(r->reason, sizeof(r->reason), "%.200s", out->msg);
		else if (r->transient)
			snprintf(r->reason, sizeof(r->reason), "the measuring process was killed from outside (%.150s), "
				 "twice", res.reason);
		else
			snprintf(r->reason, sizeof(r->reason), "the kernel %.200s", res.reason);
		if (res.status == RT_ISO_EXIT && res.code == TRIAL_WRONG)
			r->status = SRCH_WRONG;
	}
	rt_isolate_result_release(&res);
	return rc ? -1 : 0;
}

int srch_measure_text(const te_bufs *b, isl_ctx *ctx, const cg_target *t, const char *text,
		      const srch_how *how, srch_record *r)
{
	trial_ctx c = {b, how, ctx, t, text, NULL};
	trial_out out;

	if (srch_record_start(r, text))
		return -1;
	if (run_child(&c, &out, r) == 0) {
		r->seconds = out.median;
		r->spread = out.spread;
		r->runs = out.runs;
		r->gflops = te_graph_flops(b->g) * 1e-9 / out.median;
		r->verified = out.verified;
	}
	return 0;
}

int srch_time_jit(const te_bufs *b, cg_packed_fn fn, const srch_how *how, srch_record *r, double *median)
{
	trial_ctx c = {b, how, NULL, NULL, NULL, fn};
	trial_out out;

	if (run_child(&c, &out, r))
		return -1;
	r->verified = r->verified || out.verified;
	*median = out.median;
	return 0;
}

/* ---- the CPU measurer ---- */

static int cpu_setup(srch_measurer *m, isl_ctx *ctx, rt_error *err)
{
	(void)ctx;
	return bufs_init(m->state, m->g, err);
}

static int cpu_measure(srch_measurer *m, isl_ctx *ctx, const char *schedule, const srch_how *how, srch_record *r)
{
	return srch_measure_text(m->state, ctx, &m->t, schedule, how, r);
}

static void *cpu_build(srch_measurer *m, isl_ctx *ctx, const char *schedule, char *reason)
{
	return srch_build(m->g, ctx, &m->t, schedule, reason, NULL, NULL);
}

static int cpu_time(srch_measurer *m, void *built, const srch_how *how, srch_record *r, double *median)
{
	return srch_time_jit(m->state, cg_jit_entry(built), how, r, median);
}

static void cpu_unbuild(srch_measurer *m, void *built)
{
	(void)m;
	cg_jit_free(built);
}

static void cpu_release(srch_measurer *m)
{
	if (m->state)
		te_bufs_free(m->state);
	free(m->state);
}

static const srch_measurer_ops cpu_ops = {
	.setup = cpu_setup,
	.measure = cpu_measure,
	.build = cpu_build,
	.time = cpu_time,
	.unbuild = cpu_unbuild,
	.release = cpu_release,
};

int srch_measurer_cpu(srch_measurer *m, rt_error *err)
{
	m->ops = &cpu_ops;
	snprintf(m->name, sizeof(m->name), "cpu");
	snprintf(m->device, sizeof(m->device), "%s", m->t.cpu);
	m->verifies = true;
	if (!(m->state = calloc(1, sizeof(te_bufs))) || !(m->naive = strdup("")))
		return rt_error_set(err, 0, 0, "out of memory");
	return 0;
}
