/*
 * Tests of search/srch_tasks, the task scheduler of a multi-workload tune,
 * on synthetic histories: each workload's best after n trials is a
 * made-up curve, and a driver gives slices of SLICE trials as the
 * scheduler picks them.  Checked: round-robin first, then more trials to
 * a heavier or a still-improving workload, none to a finished one,
 * deterministic choices, the limits.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "srch_tasks.h"

#define SLICE 8

/* A curve: the best after n trials is floor + (start - floor) / (1 + n / tau);
 * tau = INFINITY is a workload that never improves. */
typedef struct curve {
	double start, floor, tau;
} curve;

static double best_after(const curve *c, int n)
{
	return c->floor + (c->start - c->floor) / (1 + n / c->tau);
}

/* Give `slices` slices to the scheduler's picks; count[i] gets the slices
 * of workload i and order[] the sequence (when not NULL). */
static void drive(srch_tasks *ts, const curve *c, int slices, int *count, int *order)
{
	for (int s = 0; s < slices; s++) {
		int i = srch_tasks_next(ts);

		ck_assert_int_ge(i, 0);
		count[i]++;
		if (order)
			order[s] = i;
		srch_tasks_report(ts, i, SLICE, best_after(&c[i], srch_tasks_trials(ts, i) + SLICE));
	}
}

START_TEST(round_robin_first)
{
	curve c[4] = {{1, 0.5, 10}, {2, 1, 10}, {4, 1, 10}, {1, 1, INFINITY}};
	int count[4] = {0}, order[4];

	rt_error err;
	srch_tasks *ts = srch_tasks_new(4, NULL, &err);

	ck_assert_ptr_nonnull(ts);
	ck_assert(isinf(srch_tasks_gain(ts, 2)));
	drive(ts, c, 4, count, order);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(order[i], i);
	for (int r = 1; r < SRCH_TASKS_WARMUP; r++) {
		drive(ts, c, 4, count, order);
		for (int i = 0; i < 4; i++)
			ck_assert_int_eq(order[i], i);
	}
	ck_assert(!isinf(srch_tasks_gain(ts, 2)));
	srch_tasks_free(ts);
}
END_TEST

/* The same curve at weights 10 and 1: the heavy one gets most slices, the
 * light one still some (the forward forecast). */
START_TEST(weight_wins)
{
	curve c[2] = {{1, 0.2, 20}, {1, 0.2, 20}};
	double w[2] = {10, 1};
	int count[2] = {0};
	rt_error err;
	srch_tasks *ts = srch_tasks_new(2, w, &err);

	drive(ts, c, 40, count, NULL);
	ck_assert_int_gt(count[0], 3 * count[1]);
	ck_assert_int_ge(count[1], 2);
	ck_assert_double_gt(srch_tasks_share(ts, 0), 0.8);
	srch_tasks_free(ts);
}
END_TEST

/* One improving workload and one flat one of the same time: the improving
 * one gets most slices. */
START_TEST(gain_wins)
{
	curve c[2] = {{1, 1, INFINITY}, {1, 0.1, 30}};
	int count[2] = {0};
	rt_error err;
	srch_tasks *ts = srch_tasks_new(2, NULL, &err);

	drive(ts, c, 30, count, NULL);
	ck_assert_int_gt(count[1], 2 * count[0]);
	ck_assert_double_gt(srch_tasks_gain(ts, 1), srch_tasks_gain(ts, 0));
	srch_tasks_free(ts);
}
END_TEST

/* A finished workload gets nothing; all finished: -1. */
START_TEST(finished_ones)
{
	curve c[3] = {{5, 0.1, 10}, {1, 0.5, 10}, {1, 0.5, 10}};
	int count[3] = {0};
	rt_error err;
	srch_tasks *ts = srch_tasks_new(3, NULL, &err);

	srch_tasks_finish(ts, 0);
	drive(ts, c, 10, count, NULL);
	ck_assert_int_eq(count[0], 0);
	ck_assert_int_eq(count[1] + count[2], 10);
	ck_assert_double_eq(srch_tasks_gain(ts, 0), 0);
	srch_tasks_finish(ts, 1);
	srch_tasks_finish(ts, 2);
	ck_assert_int_eq(srch_tasks_next(ts), -1);
	srch_tasks_free(ts);
}
END_TEST

/* A workload with no valid best after its warm-up waits for the others. */
START_TEST(no_best_waits)
{
	curve c[2] = {{1, 0.5, 10}, {INFINITY, INFINITY, 10}};
	int count[2] = {0};
	rt_error err;
	srch_tasks *ts = srch_tasks_new(2, NULL, &err);

	drive(ts, c, 6 + 2 * SRCH_TASKS_WARMUP, count, NULL);
	ck_assert_int_eq(count[1], SRCH_TASKS_WARMUP);
	ck_assert_double_eq(srch_tasks_share(ts, 1), 0);
	ck_assert_double_eq(srch_tasks_share(ts, 0), 1);
	srch_tasks_finish(ts, 0);
	ck_assert_int_eq(srch_tasks_next(ts), 1);
	srch_tasks_free(ts);
}
END_TEST

/* The same reports give the same choices. */
START_TEST(deterministic)
{
	curve c[3] = {{3, 1, 15}, {2, 0.3, 40}, {1, 0.9, 5}};
	double w[3] = {1, 2, 3};
	int a[60], b[60], ca[3] = {0}, cb[3] = {0};
	rt_error err;
	srch_tasks *t1 = srch_tasks_new(3, w, &err), *t2 = srch_tasks_new(3, w, &err);

	drive(t1, c, 60, ca, a);
	drive(t2, c, 60, cb, b);
	for (int i = 0; i < 60; i++)
		ck_assert_int_eq(a[i], b[i]);
	ck_assert_int_eq(srch_tasks_trials(t1, 1), SLICE * ca[1]);
	srch_tasks_free(t1);
	srch_tasks_free(t2);
}
END_TEST

/* SRCH_TASKS_MAX workloads are fine, one more is refused by name; so are
 * no workloads and a weight that is not positive. */
START_TEST(limits)
{
	double *w = malloc(SRCH_TASKS_MAX * sizeof(*w));
	rt_error err;
	srch_tasks *ts;

	for (int i = 0; i < SRCH_TASKS_MAX; i++)
		w[i] = 1 + i % 7;
	ts = srch_tasks_new(SRCH_TASKS_MAX, w, &err);
	ck_assert_ptr_nonnull(ts);
	ck_assert_int_eq(srch_tasks_next(ts), 0);
	srch_tasks_free(ts);
	rt_error_clear(&err);
	ck_assert_ptr_null(srch_tasks_new(SRCH_TASKS_MAX + 1, NULL, &err));
	ck_assert_ptr_nonnull(strstr(err.msg, "SRCH_TASKS_MAX"));
	rt_error_clear(&err);
	ck_assert_ptr_null(srch_tasks_new(0, NULL, &err));
	ck_assert_ptr_nonnull(strstr(err.msg, "workloads"));
	w[1] = 0;
	rt_error_clear(&err);
	ck_assert_ptr_null(srch_tasks_new(2, w, &err));
	ck_assert_ptr_nonnull(strstr(err.msg, "workload 2: weight 0"));
	w[1] = NAN;
	rt_error_clear(&err);
	ck_assert_ptr_null(srch_tasks_new(2, w, &err));
	free(w);
	ck_assert_ptr_null(srch_tasks_free(NULL));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("tasks");
	TCase *tc = tcase_create("tasks");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, round_robin_first);
	tcase_add_test(tc, weight_wins);
	tcase_add_test(tc, gain_wins);
	tcase_add_test(tc, finished_ones);
	tcase_add_test(tc, no_best_waits);
	tcase_add_test(tc, deterministic);
	tcase_add_test(tc, limits);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
