/*
 * srch_tune: the tuning loop, one for every target.
 *
 * The loop asks a measurer (srch_measurer.h: the CPU's forked, timed
 * children, the GPU or its emulator, the HLS model) for each candidate.
 * The naive schedule (the measurer's; its record carries the space's
 * default point) is the first trial: the baseline of the speedup and the
 * first comparison with the reference.  Then the constructed starting
 * points (srch_seed, CPU), the random starts the measurer asks for (the
 * HLS model), and the explorer's proposals (srch_explore), until the trial
 * budget, the time budget, an exhausted space, or `patience` trials
 * without a 1% gain.  One rule for every target: the first candidate and
 * every candidate faster than the best are compared with the reference,
 * and only a checked one becomes the best (unless the measurer cannot
 * check at all).  A candidate that fails to lower or compile, crashes,
 * hangs or computes a wrong result is recorded as a failure with its
 * reason, and the search goes on.  At the end, when measurements vary
 * (not the model's), the fastest few and the naive schedule are
 * re-measured side by side before the best is named.
 */
#ifndef FTC_SRCH_TUNE_H
#define FTC_SRCH_TUNE_H

#include <isl/ctx.h>
#include <signal.h>
#include <stdbool.h>

#include "cg.h"
#include "srch_explore.h"
#include "srch_space.h"

typedef struct srch_measurer srch_measurer;

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
	bool unready;              /* srch_tune failed because the measurer could not
				    * start (no device, no reference): the user's to fix */
	srch_times times;
	char stop_reason[64];
} srch_result;

void srch_result_release(srch_result *r);

/*
 * Tune with measurer m (its graph and target; see srch_measurer.h).
 * `ctx` is borrowed.  Returns 0 with *res filled (even when every
 * candidate failed), or -1 with err set when the search could not run at
 * all or ran out of memory on the way (res->out_of_memory; the records
 * made so far stay in *res, which the caller releases in every case).
 */
int srch_tune_with(srch_measurer *m, isl_ctx *ctx, const srch_tune_opts *o, srch_result *res, rt_error *err);

/* srch_tune_with a measurer of g on t made for the call (cuda: on the
 * device). */
int srch_tune(const te_graph *g, isl_ctx *ctx, const cg_target *t, const srch_tune_opts *o,
	      srch_result *res, rt_error *err);

#endif
