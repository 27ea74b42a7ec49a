/*
 * srch_hls: the HLS target's measurer, the analytic model (see srch_hls.h).
 */
#include "srch_hls.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cg_hls.h"
#include "lir_pipe.h"
#include "lower.h"
#include "rt_alloc.h"
#include "rt_time.h"
#include "srch_measurer.h"
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
	if (srch_space_init(sp, g, CG_TARGET_HLS, err) == 0) {
		srch_point_default(sp, &p);
		if (!(text = srch_point_schedule(sp, &p)))
			rt_error_set(err, 0, 0, "out of memory");
	}
	srch_space_release(sp);
	free(sp);
	return text;
}

/* Lower schedule text (NULL: the naive one) into a lir function. */
static lir_func *lower_text(const te_graph *g, isl_ctx *ctx, const char *text, bool trusted, rt_error *err)
{
	return lir_pipeline(g, ctx, text, "kernel", trusted ? LIR_LOWER_TRUSTED : 0, err);
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

/* ---- the measurer of the tuning loop (srch_measurer.h) ---- */

/* Check OK record r by interpretation (see check_by_interp). */
static void hls_check(const srch_measurer *m, isl_ctx *ctx, srch_record *r)
{
	int ok = check_by_interp(m->g, ctx, r->schedule, r->reason, sizeof(r->reason));

	r->verified = ok == 1;
	if (ok == 1)
		return;
	r->status = ok == 0 ? SRCH_WRONG : SRCH_FAILED;
	r->seconds = INFINITY;
	r->gflops = 0;
	if (ok < 0) {
		char why[sizeof(r->reason)];

		snprintf(why, sizeof(why), "%s", r->reason);
		snprintf(r->reason, sizeof(r->reason), "checking by interpretation: %.200s", why);
	}
}

/* Estimate the schedule (its time: the modelled latency at the clock);
 * a schedule that does not lower, lint or fit the part is a failure. */
static int hls_measure(srch_measurer *m, isl_ctx *ctx, const char *schedule, const srch_how *how, srch_record *r)
{
	hls_estimate e;
	rt_error err;

	if (srch_record_start(r, schedule))
		return -1;
	rt_error_clear(&err);
	if (srch_hls_estimate(m->g, ctx, &m->t, schedule, true, &e, &err)) {
		r->status = SRCH_FAILED;
		snprintf(r->reason, sizeof(r->reason), "%.250s", err.msg);
		return 0;
	}
	if (!e.fits) {
		r->status = SRCH_FAILED;
		snprintf(r->reason, sizeof(r->reason), "over budget: %.200s", e.over);
		return 0;
	}
	r->seconds = e.seconds;
	r->runs = 1;
	r->gflops = e.seconds > 0 ? te_graph_flops(m->g) * 1e-9 / e.seconds : 0;
	if (m->verifies && (how->verify || r->seconds < how->verify_below))
		hls_check(m, ctx, r);
	return 0;
}

static int hls_describe(srch_measurer *m, isl_ctx *ctx, const char *schedule, char *out, size_t n, rt_error *err)
{
	hls_estimate e;

	if (srch_hls_estimate(m->g, ctx, &m->t, schedule, true, &e, err))
		return -1;
	hls_estimate_summary(&e, &m->t, out, n);
	return 0;
}

static const srch_measurer_ops hls_ops = {
	.measure = hls_measure,
	.describe = hls_describe,
};

/* sa-q's warm-up share: random points before the annealing starts from
 * the best of them.  The model's cost has wide plateaus (an off-chip port
 * or a recurrence bounds the II whatever else changes) and cliffs (over
 * budget), so one start at the naive point often stalls; model trials are
 * cheap. */
#define HLS_RANDOM_SHARE 0.1

int srch_measurer_hls(srch_measurer *m, rt_error *err)
{
	char part[sizeof(m->t.part) + 32];

	m->ops = &hls_ops;
	snprintf(m->name, sizeof(m->name), "hls-model");
	snprintf(part, sizeof(part), "%s at %g MHz", m->t.part, m->t.clock_mhz);
	snprintf(m->device, sizeof(m->device), "%s", part);
	m->verifies = te_graph_flops(m->g) <= SRCH_HLS_VERIFY_FLOPS;
	m->random_share = HLS_RANDOM_SHARE;
	return (m->naive = srch_hls_default_schedule(m->g, err)) ? 0 : -1;
}

int srch_tune_hls(const te_graph *g, isl_ctx *ctx, const cg_target *t, const srch_tune_opts *o,
		  srch_result *res, rt_error *err)
{
	return srch_tune(g, ctx, t, o, res, err);
}
