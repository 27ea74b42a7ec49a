/*
 * rt_bench: time a function by running it repeatedly.
 *
 * After `warmup` untimed runs, rt_bench times runs one by one until it has
 * at least `min_runs` and `min_time` seconds of wall time have passed since
 * the first timed run began (cache flushes included, so a call costs about
 * max(min_time, min_runs runs)), or until it has `max_runs`.
 */
#ifndef FTC_RT_BENCH_H
#define FTC_RT_BENCH_H

#include <stdbool.h>

#include "rt_error.h"

#define RT_BENCH_FLUSH_BYTES (64u << 20)

typedef struct rt_bench_opts {
	int warmup;	  /* untimed runs first (default 1; 0 allowed) */
	int min_runs;	  /* timed runs at least (default 3; >= 1) */
	int max_runs;	  /* timed runs at most (default 1000; >= min_runs) */
	double min_time;  /* seconds to keep measuring for (default 0.2) */
	bool flush_cache; /* before each timed run, write then read a buffer of
			   * RT_BENCH_FLUSH_BYTES, so the run starts cold
			   * (default false) */
} rt_bench_opts;

/* Seconds per run over the timed runs. */
typedef struct rt_timing {
	double median;
	double min;
	double max;
	double mean;
	double spread; /* (p75 - p25) / median: the interquartile range, relative */
	int runs;
} rt_timing;

void rt_bench_opts_default(rt_bench_opts *o);

/*
 * Time fn(ctx) under options `o` (NULL: the defaults) and fill `out`.
 * Returns 0, or -1 with `err` set when an option is out of range, memory
 * runs out, or fn returns non-zero (which ends the measurement at once).
 */
int rt_bench(int (*fn)(void *ctx), void *ctx, const rt_bench_opts *o, rt_timing *out,
	     rt_error *err);

/* Fill `out` from `n` >= 1 samples in seconds, sorting them in place.
 * Quartiles interpolate linearly between the sorted samples. */
void rt_timing_from_samples(double *samples, int n, rt_timing *out);

#endif
