/*
 * srch_tasks: the task scheduler of a multi-workload tune (see
 * srch_tasks.h for the rule).
 */
#include <math.h>
#include <stdlib.h>

#include "srch_tasks.h"

/* One workload's curve: its best after each of its last slices. */
typedef struct task {
	double w;
	double best;
	double first;    /* the first valid best, INFINITY until there is one */
	int first_at;    /* the trials behind it */
	int trials, slices;
	bool finished;
	/* (trials, best) at the end of the last SRCH_TASKS_WINDOW + 1
	 * slices, oldest first */
	int at[SRCH_TASKS_WINDOW + 1];
	double was[SRCH_TASKS_WINDOW + 1];
	int nwin;
} task;

struct srch_tasks {
	int n;
	task *t;
};

srch_tasks *srch_tasks_new(int n, const double *w, rt_error *err)
{
	srch_tasks *ts;

	if (n < 1 || n > SRCH_TASKS_MAX) {
		rt_error_set(err, 0, 0, "%d workloads in one tune: between 1 and %d (SRCH_TASKS_MAX)", n,
			     SRCH_TASKS_MAX);
		return NULL;
	}
	for (int i = 0; w && i < n; i++)
		if (!(w[i] > 0) || !isfinite(w[i])) {
			rt_error_set(err, 0, 0, "workload %d: weight %g is not a positive number", i + 1, w[i]);
			return NULL;
		}
	if (!(ts = calloc(1, sizeof(*ts))) || !(ts->t = calloc((size_t)n, sizeof(*ts->t)))) {
		free(ts);
		rt_error_set(err, 0, 0, "out of memory");
		return NULL;
	}
	ts->n = n;
	for (int i = 0; i < n; i++) {
		ts->t[i].w = w ? w[i] : 1.0;
		ts->t[i].best = INFINITY;
		ts->t[i].first = INFINITY;
	}
	return ts;
}

srch_tasks *srch_tasks_free(srch_tasks *ts)
{
	if (ts)
		free(ts->t);
	free(ts);
	return NULL;
}

/* The best per trial that t gained over its window (0 when unknown). */
static double back_slope(const task *t)
{
	int k = t->nwin - 1, dn;

	if (k < 1 || !isfinite(t->best))
		return 0;
	dn = t->at[k] - t->at[0];
	if (dn <= 0)
		return 0;
	/* a first valid best inside the window: measure from there */
	for (int j = 0; j < k; j++)
		if (isfinite(t->was[j]))
			return (t->was[j] - t->best) / (double)(t->at[k] - t->at[j]);
	return 0;
}

/* The best per trial that t gained since its first valid best. */
static double whole_slope(const task *t)
{
	if (!isfinite(t->first) || t->trials <= t->first_at)
		return 0;
	return (t->first - t->best) / (double)(t->trials - t->first_at);
}

double srch_tasks_gain(const srch_tasks *ts, int i)
{
	const task *t = &ts->t[i];

	if (t->finished)
		return 0;
	if (t->slices < SRCH_TASKS_WARMUP)
		return INFINITY;
	if (!isfinite(t->best))
		return 0;
	return t->w * (SRCH_TASKS_ALPHA * back_slope(t) + (1 - SRCH_TASKS_ALPHA) * whole_slope(t) +
		       SRCH_TASKS_HOPE * t->best / (t->trials + 1));
}

/* Whether a beats b for the next slice (gain, then fewer trials, then the
 * lower index, which the caller's scan order gives). */
static bool better(const srch_tasks *ts, int a, int b)
{
	double ga = srch_tasks_gain(ts, a), gb = srch_tasks_gain(ts, b);

	if (ga != gb)
		return ga > gb;
	return ts->t[a].trials < ts->t[b].trials;
}

int srch_tasks_next(const srch_tasks *ts)
{
	int pick = -1;

	for (int i = 0; i < ts->n; i++) {
		if (ts->t[i].finished)
			continue;
		/* during the warm-up, the fewest slices first: round-robin */
		if (ts->t[i].slices < SRCH_TASKS_WARMUP && (pick < 0 || ts->t[i].slices < ts->t[pick].slices))
			pick = i;
	}
	if (pick >= 0)
		return pick;
	for (int i = 0; i < ts->n; i++)
		if (!ts->t[i].finished && (pick < 0 || better(ts, i, pick)))
			pick = i;
	return pick;
}

void srch_tasks_report(srch_tasks *ts, int i, int trials, double best)
{
	task *t = &ts->t[i];

	t->trials += trials > 0 ? trials : 0;
	t->slices++;
	if (best < t->best)
		t->best = best;
	if (!isfinite(t->first) && isfinite(t->best)) {
		t->first = t->best;
		t->first_at = t->trials;
	}
	if (t->nwin == SRCH_TASKS_WINDOW + 1) {
		for (int j = 1; j < t->nwin; j++) {
			t->at[j - 1] = t->at[j];
			t->was[j - 1] = t->was[j];
		}
		t->nwin--;
	}
	t->at[t->nwin] = t->trials;
	t->was[t->nwin++] = t->best;
}

void srch_tasks_finish(srch_tasks *ts, int i)
{
	ts->t[i].finished = true;
}

double srch_tasks_share(const srch_tasks *ts, int i)
{
	double total = 0;

	if (!isfinite(ts->t[i].best))
		return 0;
	for (int j = 0; j < ts->n; j++)
		if (isfinite(ts->t[j].best))
			total += ts->t[j].w * ts->t[j].best;
	return total > 0 ? ts->t[i].w * ts->t[i].best / total : 0;
}

int srch_tasks_trials(const srch_tasks *ts, int i)
{
	return ts->t[i].trials;
}
