/*
 * srch_tasks: which workload of a multi-workload tune gets the next slice
 * of trials.
 *
 * A network runs many operators; what matters is the total time
 * sum_i w_i * b_i (w_i: how many times workload i runs, b_i: its best time
 * so far), not any one operator's.  The scheduler gives slices of trials:
 *   1. round-robin until every workload has had SRCH_TASKS_WARMUP slices
 *      (each needs a naive time and a first best before anything is known);
 *   2. then to the workload with the largest expected gain in total time
 *      per trial:
 *        gain_i = w_i * (a * back_i + (1 - a) * whole_i + h * b_i / (n_i + 1))
 *      back_i: what its best gained per trial over its last
 *      SRCH_TASKS_WINDOW slices (the recent slope of its curve);
 *      whole_i: what it gained per trial since its first valid best;
 *      b_i / (n_i + 1): a hope, the gain a curve that improves like 1/n
 *      would still make after n_i trials, so that a heavy workload that
 *      stalled still gets a slice now and then; a = SRCH_TASKS_ALPHA,
 *      h = SRCH_TASKS_HOPE.
 * This is the idea of Ansor's gradient task scheduler (a backward window
 * and a forward estimate, weighted by each task's share of the
 * total time), simplified: no similarity groups, no FLOP-based bound.
 * A workload with no valid best after its warm-up slices gains nothing
 * that can be estimated; it gets trials only when no other workload has a
 * gain to offer (all finished, or none with a valid best).  Ties go to the workload with fewer trials, then the lower
 * index: the same reports give the same choices.
 */
#ifndef FTC_SRCH_TASKS_H
#define FTC_SRCH_TASKS_H

#include <stdbool.h>

#include "rt_error.h"

/* Workloads in one tune, at most. */
#define SRCH_TASKS_MAX 4096
/* Round-robin slices each workload gets first (two: a slope needs two points). */
#define SRCH_TASKS_WARMUP 2
/* Slices behind the backward slope. */
#define SRCH_TASKS_WINDOW 3
/* Weight of the backward slope against the forward forecast. */
#define SRCH_TASKS_ALPHA 0.5
/* Weight of the hope of a stalled workload. */
#define SRCH_TASKS_HOPE 0.05

typedef struct srch_tasks srch_tasks;

/*
 * A scheduler of n workloads (1 <= n <= SRCH_TASKS_MAX) with weights
 * w[0..n) (each > 0 and finite; NULL: all 1).  Returns a new scheduler
 * (__isl_give: free with srch_tasks_free), or NULL with err set.
 */
srch_tasks *srch_tasks_new(int n, const double *w, rt_error *err);
/* Release ts (__isl_take; NULL is fine); returns NULL. */
srch_tasks *srch_tasks_free(srch_tasks *ts);

/* The workload that gets the next slice, or -1 when all are finished. */
int srch_tasks_next(const srch_tasks *ts);
/* Workload i had a slice of `trials` trials (0 or more); its best time is
 * now `best` seconds (INFINITY: none valid yet). */
void srch_tasks_report(srch_tasks *ts, int i, int trials, double best);
/* Workload i gets no more trials (its budget, its space, its patience). */
void srch_tasks_finish(srch_tasks *ts, int i);

/* The expected gain per trial of workload i (seconds of total time),
 * INFINITY during the warm-up, 0 when finished or unknown. */
double srch_tasks_gain(const srch_tasks *ts, int i);
/* Workload i's share of the total time sum w_j b_j (0 when b_i is
 * unknown; the unknown ones count for nothing). */
double srch_tasks_share(const srch_tasks *ts, int i);
/* Trials given to workload i so far. */
int srch_tasks_trials(const srch_tasks *ts, int i);

#endif
