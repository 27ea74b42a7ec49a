/*
 * srch_tune: the measurement loop.
 *
 * Each candidate point becomes a schedule, is lowered, compiled for the CPU
 * and JIT-loaded in this process, then run in a forked child (rt_isolate)
 * with a timeout: the child times it (warm-up, repeats until a minimum
 * time, median) and, for the first candidate and every new best, compares
 * its outputs with the reference computed once beforehand.  A candidate
 * that fails to lower or compile, crashes, hangs or computes a wrong result
 * is recorded as a failure with its reason, and the search goes on.  The
 * loop stops at the trial budget, the time budget, when the space is
 * exhausted, or when the best has not improved by 1% for `patience` trials.
 */
#ifndef FTC_SRCH_TUNE_H
#define FTC_SRCH_TUNE_H

#include <isl/ctx.h>
#include <stdbool.h>

#include "cg.h"
#include "srch_explore.h"
#include "srch_space.h"

typedef enum srch_status { SRCH_OK, SRCH_FAILED, SRCH_WRONG } srch_status;

/* One measured candidate. */
typedef struct srch_record {
	srch_point point;
	char *schedule;      /* malloc'd schedule text */
	srch_status status;
	char reason[256];    /* why it failed, "" when OK */
	double seconds;      /* median run time, INFINITY when failed */
	double spread;       /* relative interquartile range */
	double gflops;
	bool verified;       /* compared with the reference and equal */
} srch_record;

/* What the loop reports after each trial. */
typedef struct srch_progress {
	int trial, trials;         /* done so far, budget (0 = none) */
	int failures;
	double best_gflops, last_gflops;
	double elapsed, eta;       /* seconds; eta < 0 when unknown */
	const srch_record *last;
} srch_progress;

typedef struct srch_tune_opts {
	srch_method method;
	uint64_t seed;
	int trials;                /* budget in trials (0 = none) */
	double seconds;            /* budget in seconds (0 = none) */
	int patience;              /* trials without 1% gain before stopping (0 = never) */
	double timeout;            /* per candidate, seconds */
	double min_time;           /* timing: repeat each run until this many seconds */
	void (*progress)(void *user, const srch_progress *p);
	void *user;
	/* Already-measured candidates (warm start); measured again: never. */
	const srch_record *history;
	int nhistory;
	/* Called after each measured trial (e.g. to store it); non-zero stops. */
	int (*record)(void *user, const srch_record *r);
} srch_tune_opts;

void srch_tune_opts_default(srch_tune_opts *o);

typedef struct srch_result {
	srch_record *records;      /* every trial, in order (caller frees with srch_result_release) */
	int nrecords;
	int best;                  /* index of the best OK record, -1 if none */
	double naive_seconds;      /* the naive schedule's time, INFINITY if it failed */
	double elapsed;
	char stop_reason[64];
} srch_result;

void srch_result_release(srch_result *r);

/*
 * Tune graph g (verified) for target t.  `ctx` is borrowed.  Returns 0 with
 * *res filled (even when every candidate failed), or -1 with err set when
 * the search could not run at all.
 */
int srch_tune(const te_graph *g, isl_ctx *ctx, const cg_target *t, const srch_tune_opts *o,
	      srch_result *res, rt_error *err);

/*
 * Measure one schedule text (the same path as a tuning trial, including
 * verification when `verify`), filling *r (r->point is left as is).
 */
int srch_measure(const te_graph *g, isl_ctx *ctx, const cg_target *t, const char *schedule,
		 bool verify, double timeout, double min_time, srch_record *r);

#endif
