/*
 * srch_tune: the measurement loop.
 *
 * Each candidate point becomes a schedule, which a forked child
 * (rt_isolate) lowers, compiles for the CPU, JIT-loads and runs, with a
 * limit on the compile and a timeout on the whole: the child times it
 * (an untimed warm-up, then a first timed run slower than cutoff_ratio x
 * the best is stopped and recorded as a lower bound; otherwise repeats
 * until a minimum time, median) and, for the first
 * candidate and every new best, compares its outputs with the reference
 * computed once beforehand.  Before the search, the constructed starting
 * points (srch_seed) are measured; the explorer starts from them.  At the
 * end the fastest few and the naive schedule are re-measured side by
 * side.  A candidate
 * that fails to lower or compile, crashes, hangs or computes a wrong result
 * is recorded as a failure with its reason, and the search goes on.  The
 * loop stops at the trial budget, the time budget, when the space is
 * exhausted, or when the best has not improved by 1% for `patience` trials.
 */
#ifndef FTC_SRCH_TUNE_H
#define FTC_SRCH_TUNE_H

#include <isl/ctx.h>
#include <signal.h>
#include <stdbool.h>

#include "cg.h"
#include "srch_explore.h"
#include "srch_space.h"

typedef enum srch_status { SRCH_OK, SRCH_FAILED, SRCH_WRONG } srch_status;

typedef struct srch_model srch_model; /* srch_model.h */

/* One measured candidate. */
typedef struct srch_record {
	srch_point point;
	char *schedule;      /* malloc'd schedule text */
	srch_status status;
	char reason[256];    /* why it failed, "" when OK */
	double seconds;      /* median run time, INFINITY when failed */
	double spread;       /* relative interquartile range */
	int runs;            /* timed runs behind `seconds`; 1: a slow candidate timed once;
			      * 0: stopped at the cutoff, `seconds` is a lower bound */
	double gflops;
	bool verified;       /* compared with the reference and equal */
	bool has_point;      /* `point` is set (a record replayed from text may lack one) */
	bool transient;      /* failed because its process was killed from outside (the OOM
			      * killer): not a property of the schedule, not stored */
	bool seeded;         /* a constructed starting point (srch_seed) */
	int64_t id;          /* the tuning db's id of the record, 0 when not stored */
	/* where the trial's time went, seconds: lowering, LLVM, the warm-up
	 * call, the timing runs, the comparison with the reference (in the
	 * child), and the child's whole life as the parent saw it */
	double t_lower, t_llvm, t_first, t_timing, t_verify, t_wall;
} srch_record;

/* A record stopped at the cut-off: OK, but its time is a lower bound. */
static inline bool srch_record_cut_off(const srch_record *r)
{
	return r->status == SRCH_OK && r->runs == 0;
}

/* Where a tune's time went, seconds (summed over its trials). */
typedef struct srch_times {
	double setup;    /* inputs and the reference outputs, once per tune */
	double lower, llvm, first, timing, verify; /* in the children */
	double process;  /* the children's lives beyond that: fork, exit, waiting */
	double explore;  /* proposing points, constructing the starting points */
	double final;    /* the final side-by-side re-measure */
	double trial_median; /* the median wall time of one trial */
	double children_cpu; /* CPU seconds of the measuring children (on a loaded
			      * machine, what the trials would cost alone) */
} srch_times;

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
	double timeout;            /* per candidate (compile + runs), seconds */
	double compile_limit;      /* lowering + compiling one candidate, seconds */
	double min_time;           /* timing: repeat each run until this many seconds */
	double cutoff_ratio;       /* a first timed run (after the warm-up) this many times
				    * slower than the best stops the candidate there: its
				    * record is a lower bound (runs 0) (0 = never) */
	double rank_ratio;         /* stop timing a candidate after SRCH_RANK_RUNS runs when
				    * its fastest is this many times the best (0 = never) */
	int seed_points;           /* constructed starting points measured first (srch_seed;
				    * 0 = none) */
	const char *cache_dir;     /* where the host's caches are described (NULL: /sys) */
	/* Set (by a signal handler) to stop the search after the current trial,
	 * without the final re-measure; NULL: never. */
	const volatile sig_atomic_t *interrupt;
	int final_top;             /* re-measure this many of the fastest side by side
				    * at the end before naming the best (0 or 1 = no) */
	void (*progress)(void *user, const srch_progress *p);
	void *user;
	/* Already-measured candidates (warm start): they count toward the trial
	 * budget, seed the explorer, and are never measured again. */
	const srch_record *history;
	int nhistory;
	int history_best;          /* the best among them (e.g. re-measured before), -1: the fastest */
	double naive_seconds;      /* the naive schedule's known time, from the history
				    * (0: measure it, as the first trial) */
	/* Called after each measured trial (e.g. to store it; it may set r->id);
	 * non-zero stops the search. */
	int (*record)(void *record_user, srch_record *r);
	void *record_user;
	/* A cost model trained across tunes (srch_model; borrowed, NULL: none):
	 * it adds starting points, orders the explorer's proposals, skips those
	 * it ranks far below the best, and learns from every trial. */
	srch_model *model;
} srch_tune_opts;

void srch_tune_opts_default(srch_tune_opts *o);

typedef struct srch_result {
	srch_record *records;      /* the history, then every new trial, in order
				    * (caller frees with srch_result_release) */
	int nrecords;
	int nhistory;              /* records[0..nhistory) came from opts.history */
	int measured;              /* candidates compiled and run by this call (naive included) */
	bool remeasured;           /* the top few were re-measured at the end */
	int best;                  /* index of the best verified OK record, -1 if none */
	double naive_seconds;      /* the naive schedule's time, INFINITY if it failed (re-measured
				    * beside the best when `remeasured`) */
	double elapsed;
	int seeded;                /* constructed starting points measured */
	int skipped_by_model;      /* proposals the model skipped without measuring */
	bool interrupted;          /* stopped by opts.interrupt */
	bool out_of_memory;        /* srch_tune failed for want of memory: the
				    * records so far are kept (and stored) */
	srch_times times;
	char stop_reason[64];
} srch_result;

void srch_result_release(srch_result *r);

/*
 * Tune graph g (verified) for target t.  `ctx` is borrowed.  Returns 0 with
 * *res filled (even when every candidate failed), or -1 with err set when
 * the search could not run at all or ran out of memory on the way
 * (res->out_of_memory; the records made so far stay in *res, which the
 * caller releases in every case).
 */
int srch_tune(const te_graph *g, isl_ctx *ctx, const cg_target *t, const srch_tune_opts *o,
	      srch_result *res, rt_error *err);

/*
 * A measurer: the buffers of g (random inputs, the reference outputs
 * computed once) for measuring schedules one by one outside a tune (the
 * tuning db's replays).  NULL with err set when out of memory or the
 * reference cannot be computed.
 */
typedef struct srch_measurer srch_measurer;
srch_measurer *srch_measurer_new(const te_graph *g, rt_error *err);
void srch_measurer_free(srch_measurer *m);

/*
 * Measure one schedule text as a tuning trial does (lowered, compiled, run
 * in a child with `timeout`, timed for `min_time`; compared with the
 * reference when `verify`), filling *r except r->point and r->has_point
 * (r->schedule is a malloc'd copy of `schedule`).  A failure of the
 * candidate is a record with its reason; returns -1 only when out of memory.
 */
int srch_measurer_run(srch_measurer *m, isl_ctx *ctx, const cg_target *t, const char *schedule, bool verify,
		      double timeout, double min_time, srch_record *r);

#endif
