/*
 * te_compare: how close a kernel's output is to the reference.
 */
#include <math.h>

#include "te_interp.h"

static double value(const te_stage *s, const void *buf, int64_t i)
{
	switch (s->type) {
	case TE_F32:
		return ((const float *)buf)[i];
	case TE_F64:
		return ((const double *)buf)[i];
	default:
		return ((const int32_t *)buf)[i];
	}
}

double te_compare_rtol(const te_stage *s)
{
	double base = s->type == TE_F32 ? TE_RTOL_F32 : TE_RTOL_F64;
	double unit = s->type == TE_F32 ? 0x1p-24 : 0x1p-53, len = 1;

	if (s->type == TE_I32)
		return 0;
	if (s->kind == TE_STAGE_COMPUTE && s->reduce == TE_RED_SUM)
		for (int a = s->rank; a < s->rank + s->nreduce; a++)
			len *= (double)s->axes[a].extent;
	return fmin(1, fmax(base, TE_RTOL_SUM_LAMBDA * sqrt(len) * unit));
}

te_cmp te_compare(const te_stage *s, const void *got, const void *want)
{
	int64_t n = te_stage_numel(s);
	double scale = 1, rtol = te_compare_rtol(s), atol, worst = -1;
	te_cmp c = {0, 0, 0, 0, true};

	for (int64_t i = 0; i < n; i++)
		scale = fmax(scale, fabs(value(s, want, i)));
	atol = rtol * scale;
	for (int64_t i = 0; i < n; i++) {
		double g = value(s, got, i), w = value(s, want, i), d = fabs(g - w);
		double excess = d - (rtol * fabs(w) + atol);

		if (isnan(d))
			excess = INFINITY, d = INFINITY;
		c.max_abs = fmax(c.max_abs, d);
		c.max_rel = fmax(c.max_rel, d / fmax(fabs(w), 1e-30));
		if (excess > 0) {
			c.nbad++;
			c.ok = false;
		}
		if (excess > worst) {
			worst = excess;
			c.worst = i;
		}
	}
	return c;
}
