/*
 * srch_measurer: choosing a target's measurer, and what every measurer
 * shares (see srch_measurer.h).
 */
#include "srch_measurer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void srch_how_default(srch_how *h, const srch_tune_opts *o)
{
	memset(h, 0, sizeof(*h));
	h->verify_below = 0;
	h->cutoff = INFINITY;
	h->timeout = o->timeout;
	h->compile_limit = o->compile_limit;
	h->min_time = o->min_time;
	h->rank_limit = INFINITY;
}

int srch_record_start(srch_record *r, const char *schedule)
{
	r->status = SRCH_OK;
	r->reason[0] = '\0';
	r->seconds = INFINITY;
	r->spread = 0;
	r->runs = 0;
	r->gflops = 0;
	r->verified = false;
	r->transient = false;
	return (r->schedule = strdup(schedule)) ? 0 : -1;
}

srch_measurer *srch_measurer_new(const te_graph *g, isl_ctx *ctx, const cg_target *t, unsigned flags,
				 rt_error *err)
{
	srch_measurer *m = calloc(1, sizeof(*m));
	int rc;

	if (!m) {
		rt_error_set(err, 0, 0, "out of memory");
		return NULL;
	}
	m->g = g;
	m->t = *t;
	switch (t->kind) {
	case CG_TARGET_CUDA:
		rc = srch_measurer_cuda(m, ctx, (flags & SRCH_MEASURE_EMULATE) != 0, err);
		break;
	case CG_TARGET_HLS:
		rc = srch_measurer_hls(m, err);
		break;
	default:
		rc = srch_measurer_cpu(m, err);
		break;
	}
	return rc ? srch_measurer_free(m) : m;
}

srch_measurer *srch_measurer_free(srch_measurer *m)
{
	if (!m)
		return NULL;
	if (m->ops && m->ops->release)
		m->ops->release(m);
	free(m->naive);
	free(m);
	return NULL;
}

int srch_measurer_ready(srch_measurer *m, isl_ctx *ctx, rt_error *err)
{
	if (m->ready)
		return 0;
	if (m->ops->setup && m->ops->setup(m, ctx, err))
		return -1;
	m->ready = true;
	return 0;
}

int srch_measurer_run(srch_measurer *m, isl_ctx *ctx, const char *schedule, bool verify, double timeout,
		      double min_time, srch_record *r)
{
	srch_tune_opts o;
	srch_how how;
	rt_error err;

	rt_error_clear(&err);
	if (srch_measurer_ready(m, ctx, &err)) {
		memset(r, 0, sizeof(*r));
		r->status = SRCH_FAILED;
		r->seconds = INFINITY;
		snprintf(r->reason, sizeof(r->reason), "%.250s", err.msg);
		return (r->schedule = strdup(schedule)) ? 0 : -1;
	}
	srch_tune_opts_default(&o);
	o.timeout = timeout;
	o.min_time = min_time;
	srch_how_default(&how, &o);
	how.verify = verify;
	return m->ops->measure(m, ctx, schedule, &how, r);
}
