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
#include "rt_time.h"
#include "srch_measurer.h"
#include "te_bufs.h"

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
	te_bufs b;
	lir_func *f = NULL;
	rt_error err;
	te_cmp c;
	int rc = -1, bad;

	rt_error_clear(&err);
	if (te_bufs_init(&b, g, 1, &err) || te_bufs_reference(&b, &err) ||
	    !(f = lower_text(g, ctx, text, false, &err)) || lir_interp_run(f, b.params, &err)) {
		snprintf(reason, n, "%.200s", err.msg);
		rc = f ? 0 : -1;
	} else if ((bad = te_bufs_first_wrong(&b, &c)) >= 0) {
		snprintf(reason, n, "wrong result: %s has %lld elements off (max abs err %.3g)",
			 te_graph_stage(g, bad)->name, (long long)c.nbad, c.max_abs);
		rc = 0;
	} else {
		rc = 1;
	}
	te_bufs_free(&b);
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
