/*
 * srch_measurer: how the tuning loop measures a candidate on its target.
 *
 * One struct of parameters and function pointers per target kind, filled
 * once (QBE's struct Target is the model):
 *   cpu   srch_measure.c: lowered, compiled with LLVM and timed in a forked,
 *         time-limited child (a crash, a hang or a wrong result is a
 *         failed record);
 *   cuda  srch_cuda.c: compiled to PTX and launched on the device, timed
 *         with CUDA events, or run by the serial CPU emulator (times that
 *         mean nothing, results checked the same way);
 *   hls   srch_hls.c: lowered, linted and estimated by the analytic model
 *         (hls_model.h); checked by interpreting the loop IR.
 * srch_tune_with is the one loop over it; the tuning db keys records by the
 * measurer's target string, device and name (srch_db.h).
 *
 * Every measurer follows one rule on checking: it compares a candidate's
 * outputs with the reference when asked (srch_how.verify), and when the
 * candidate beats srch_how.verify_below (the best so far), so that a new
 * best is checked before it can be the best.  A measurer that cannot check
 * a graph (the HLS model beyond SRCH_HLS_VERIFY_FLOPS) says so in
 * `verifies`.
 */
#ifndef FTC_SRCH_MEASURER_H
#define FTC_SRCH_MEASURER_H

#include <isl/ctx.h>
#include <stdbool.h>

#include "cg.h"
#include "srch_tune.h"

/* How one candidate is measured. */
typedef struct srch_how {
	bool verify;          /* always compare with the reference */
	double verify_below;  /* compare when faster than this (the best so far) */
	double cutoff;        /* a first run slower than this is enough (INFINITY: none) */
	double timeout;       /* the child's whole life, seconds (cpu) */
	double compile_limit; /* lowering + compiling, seconds (cpu) */
	double min_time;      /* timing: repeat runs for this long */
	double rank_limit;    /* stop timing after SRCH_RANK_RUNS runs when the fastest is
			       * slower than this (INFINITY: never; cpu) */
} srch_how;

/* The measurement settings of tune options o, checking nothing. */
void srch_how_default(srch_how *h, const srch_tune_opts *o);

typedef struct srch_measurer_ops {
	/* Make the inputs and the reference outputs, once, before the first
	 * measurement (NULL: nothing to do).  0, or -1 with err set. */
	int (*setup)(srch_measurer *m, isl_ctx *ctx, rt_error *err);
	/* Measure schedule text into *r: every field but point, has_point and
	 * seeded (r->schedule a malloc'd copy); a candidate that fails is a
	 * record with its reason.  0, or -1 only when out of memory. */
	int (*measure)(srch_measurer *m, isl_ctx *ctx, const char *schedule, const srch_how *how,
		       srch_record *r);
	/* Measure n schedule texts at once, up to `batch` at a time (NULL:
	 * one at a time with measure): as measure, each record handed to
	 * done(user, i, r) as it arrives (r->schedule passes to done); once
	 * done returns non-zero no more are started, the ones in flight are
	 * waited for and dropped, and that value is returned.  0, done's
	 * value, or -1 when out of memory. */
	int (*measure_batch)(srch_measurer *m, isl_ctx *ctx, char *const *schedules, const srch_how *how, int n,
			     int (*done)(void *user, int i, srch_record *r), void *user);
	/* The final side-by-side re-measure (NULL when measurements do not
	 * vary, as the model's): build a candidate once (NULL with
	 * reason[256] set), time it again (0 with *median and r->verified when
	 * checked, or -1 with r's status and reason set), release it. */
	void *(*build)(srch_measurer *m, isl_ctx *ctx, const char *schedule, char *reason);
	int (*time)(srch_measurer *m, void *built, const srch_how *how, srch_record *r, double *median);
	void (*unbuild)(srch_measurer *m, void *built);
	/* Release the state. */
	void (*release)(srch_measurer *m);
	/* What the measurer sees in a schedule beyond its time, as lines of
	 * text (the HLS model: cycles, II, resources) into out[n]; NULL, or
	 * -1 with err set when it cannot say. */
	int (*describe)(srch_measurer *m, isl_ctx *ctx, const char *schedule, char *out, size_t n, rt_error *err);
} srch_measurer_ops;

struct srch_measurer {
	const srch_measurer_ops *ops;
	const te_graph *g;      /* borrowed */
	cg_target t;
	char name[32];          /* how it measures: "cpu", "cuda", "cuda-emulator",
				 * "hls-model" (the tuning db keys records by it) */
	char device[320];       /* what measures: the CPU name, "NVIDIA H100 ... (sm_90,
				 * driver 12.4)", "the CPU emulator", the FPGA part */
	char *naive;            /* the naive schedule's text, the first trial (owned) */
	bool verifies;          /* false: candidates cannot be checked (their records
				 * stay unverified, and the best need not be) */
	double random_share;    /* sa-q: this share of the trial budget estimates random
				 * points first, which seed the annealing (the model's
				 * plateaus and cliffs stall a walk from one start) */
	int batch;              /* candidates measure_batch measures at once (0: no batches) */
	int cores;              /* the measuring host's cores, for the db's fingerprint
				 * (0: this host's; MPI: the workers') */
	bool ready;             /* setup done */
	void *state;
};

/* How a cuda measurer runs kernels. */
#define SRCH_MEASURE_EMULATE 1u /* the CPU emulator instead of the device */

/*
 * A measurer for g (verified; borrowed for the measurer's life) on target
 * t: cpu, cuda (on the device, or the emulator with SRCH_MEASURE_EMULATE)
 * or hls.  Cheap for cpu and hls (the buffers come with the first
 * measurement); cuda opens the device and computes the reference now.
 * NULL with err set (no driver, no device, out of memory).
 */
srch_measurer *srch_measurer_new(const te_graph *g, isl_ctx *ctx, const cg_target *t, unsigned flags,
				 rt_error *err);
/* Release m (NULL is fine); returns NULL. */
srch_measurer *srch_measurer_free(srch_measurer *m);

/* setup, once (see the ops). */
int srch_measurer_ready(srch_measurer *m, isl_ctx *ctx, rt_error *err);

/*
 * Measure one schedule text as a trial does, outside a tune (the tuning
 * db's replays): checked when `verify`, in a child with `timeout` (cpu),
 * timed for `min_time`.  Fills *r except r->point and r->has_point.  A
 * failure of the candidate (or of the setup) is a record with its reason;
 * -1 only when out of memory.
 */
int srch_measurer_run(srch_measurer *m, isl_ctx *ctx, const char *schedule, bool verify, double timeout,
		      double min_time, srch_record *r);

/* A measure op's start: r as an OK record of nothing yet (time INFINITY,
 * unchecked), r->schedule a malloc'd copy of schedule.  -1 when out of
 * memory. */
int srch_record_start(srch_record *r, const char *schedule);

/* The constructors behind srch_measurer_new (each in its part's file);
 * they fill m (zeroed, g and t set) or return -1 with err set. */
int srch_measurer_cpu(srch_measurer *m, rt_error *err);
int srch_measurer_cuda(srch_measurer *m, isl_ctx *ctx, bool emulate, rt_error *err);
int srch_measurer_hls(srch_measurer *m, rt_error *err);

#endif
