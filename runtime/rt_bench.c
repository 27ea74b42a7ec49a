#include "rt_bench.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rt_alloc.h"
#include "rt_math.h"
#include "rt_time.h"

void rt_bench_opts_default(rt_bench_opts *o)
{
	o->warmup = 1;
	o->min_runs = 3;
	o->max_runs = 1000;
	o->min_time = 0.2;
	o->flush_cache = false;
}

/* The q-quantile of n sorted samples, interpolating linearly. */
static double quantile(const double *s, int n, double q)
{
	double pos = q * (n - 1);
	int i = (int)pos;

	if (i >= n - 1)
		return s[n - 1];
	return s[i] + (pos - i) * (s[i + 1] - s[i]);
}

void rt_timing_from_samples(double *samples, int n, rt_timing *out)
{
	double sum = 0;
	int i;

	qsort(samples, (size_t)n, sizeof(double), rt_cmp_double);
	for (i = 0; i < n; i++)
		sum += samples[i];
	out->runs = n;
	out->min = samples[0];
	out->max = samples[n - 1];
	out->mean = sum / n;
	out->median = quantile(samples, n, 0.5);
	out->spread = out->median > 0
			  ? (quantile(samples, n, 0.75) - quantile(samples, n, 0.25)) / out->median
			  : 0;
}

/* Write then read every line of `buf`, so that the caches hold none of the
 * benchmarked function's data (dirty lines of it are written back too). */
static void flush_cache(unsigned char *buf, size_t size, unsigned pass)
{
	const volatile unsigned char *v = buf; /* the reads must happen */
	volatile unsigned char sink;
	unsigned char acc = 0;
	size_t i;

	memset(buf, (int)(pass & 0xff), size);
	for (i = 0; i < size; i += 64)
		acc ^= v[i];
	sink = acc;
	(void)sink;
}

static int check_opts(const rt_bench_opts *o, rt_error *err)
{
	if (o->warmup < 0)
		return rt_error_set(err, 0, 0, "bench: warmup runs must be >= 0, not %d",
				    o->warmup);
	if (o->min_runs < 1)
		return rt_error_set(err, 0, 0, "bench: min_runs must be >= 1, not %d", o->min_runs);
	if (o->max_runs < o->min_runs)
		return rt_error_set(err, 0, 0, "bench: max_runs (%d) must be >= min_runs (%d)",
				    o->max_runs, o->min_runs);
	if (!(o->min_time >= 0))
		return rt_error_set(err, 0, 0, "bench: min_time must be >= 0 seconds, not %g",
				    o->min_time);
	return 0;
}

/* Append `t` to the growing sample array; -1 when out of memory. */
static int push_sample(double **s, int *n, int *cap, double t)
{
	double *grown;
	int ncap;

	if (*n == *cap) {
		ncap = *cap ? 2 * *cap : 64;
		grown = realloc(*s, (size_t)ncap * sizeof(double));
		if (!grown)
			return -1;
		*s = grown;
		*cap = ncap;
	}
	(*s)[(*n)++] = t;
	return 0;
}

/* The timed loop: fills samples; on failure sets err and returns -1. */
static int timed_runs(int (*fn)(void *), void *ctx, const rt_bench_opts *o, unsigned char *flush,
		      double **s, int *n, rt_error *err)
{
	double start = rt_now(), t0, t1;
	int cap = 0, status;

	while (*n < o->max_runs && (*n < o->min_runs || rt_now() - start < o->min_time)) {
		if (flush)
			flush_cache(flush, RT_BENCH_FLUSH_BYTES, (unsigned)*n);
		t0 = rt_now();
		status = fn(ctx);
		t1 = rt_now();
		if (status != 0)
			return rt_error_set(
			    err, 0, 0, "bench: the function failed with status %d on timed run %d",
			    status, *n + 1);
		if (push_sample(s, n, &cap, t1 - t0))
			return rt_error_set(err, 0, 0, "bench: out of memory for %d samples",
					    *n + 1);
	}
	return 0;
}

int rt_bench(int (*fn)(void *ctx), void *ctx, const rt_bench_opts *o, rt_timing *out, rt_error *err)
{
	rt_bench_opts def;
	unsigned char *flush = NULL;
	double *samples = NULL;
	int i, n = 0, status;

	if (!o) {
		rt_bench_opts_default(&def);
		o = &def;
	}
	if (check_opts(o, err))
		return -1;
	for (i = 0; i < o->warmup; i++)
		if ((status = fn(ctx)) != 0)
			return rt_error_set(
			    err, 0, 0, "bench: the function failed with status %d on warmup run %d",
			    status, i + 1);
	if (o->flush_cache && !(flush = rt_alloc(RT_BENCH_FLUSH_BYTES)))
		return rt_error_set(err, 0, 0,
				    "bench: out of memory for the %u MiB cache flush buffer",
				    RT_BENCH_FLUSH_BYTES >> 20);
	if (timed_runs(fn, ctx, o, flush, &samples, &n, err))
		goto error;
	rt_timing_from_samples(samples, n, out);
	free(samples);
	rt_free(flush);
	return 0;
error:
	free(samples);
	rt_free(flush);
	return -1;
}
