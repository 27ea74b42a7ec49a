/*
 * srch_measure: how the tuner measures one candidate (private to search/).
 *
 * A candidate is lowered, compiled and run in a forked child (rt_isolate),
 * so that a crash, a hang, a wrong result, or a compile that never ends
 * (LLVM can take minutes on some deep unrolls) costs at most the limits and
 * is recorded as a failure with its reason.  The child times the kernel
 * (its first run is the warm-up, timed; a first run past the cutoff stops
 * there) and compares the outputs with the reference when asked to, or
 * when the kernel beats the best so far.
 */
#ifndef FTC_SRCH_MEASURE_H
#define FTC_SRCH_MEASURE_H

#include "srch_tune.h"

/* Buffers shared by every trial: inputs, the reference outputs, and the
 * kernel's output buffers (written in the children, copy-on-write). */
typedef struct srch_bufs {
	const te_graph *g;
	int n;
	void **ref, **got;
	void **params;
} srch_bufs;

/* Random inputs and the reference outputs of g (te_interp). */
int srch_bufs_init(srch_bufs *b, const te_graph *g, rt_error *err);
void srch_bufs_free(srch_bufs *b);

/* How one candidate is measured. */
typedef struct srch_how {
	bool verify;          /* always compare with the reference */
	double verify_below;  /* compare when faster than this (the best so far) */
	double cutoff;        /* a first run slower than this is enough (INFINITY: none) */
	double timeout;       /* the child's whole life, seconds */
	double compile_limit; /* lowering + compiling, seconds */
	double min_time;      /* timing: repeat runs for this long */
} srch_how;

void srch_how_default(srch_how *h, const srch_tune_opts *o);

/*
 * Lower, compile and measure schedule `text` in a child into *r (status,
 * reason, seconds, spread, runs, gflops, verified; r->schedule = a copy of
 * text).  0, or -1 when out of memory.
 */
int srch_measure_text(const srch_bufs *b, isl_ctx *ctx, const cg_target *t, const char *text,
		      const srch_how *how, srch_record *r);

/* Lower and compile in this process (for candidates known to compile);
 * NULL with reason[256] set. */
cg_jit *srch_build(const te_graph *g, isl_ctx *ctx, const cg_target *t, const char *text, char *reason);

/* Time an already compiled kernel in a child (the final re-measure):
 * 0 with *median (and r->verified when checked), or -1 with r's status
 * and reason set. */
int srch_time_jit(const srch_bufs *b, cg_packed_fn fn, const srch_how *how, srch_record *r, double *median);

#endif
