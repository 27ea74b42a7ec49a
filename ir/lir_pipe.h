/*
 * lir_pipe: the one entry from (te graph, schedule text) to checked loop
 * IR, used by every command and by the tuner (docs/decisions.md, "One
 * lowering entry").
 *
 * The pipeline is a flat list of passes, each checked before the next
 * runs:
 *
 *   parse    schedule text -> sch_schedule        (sch_parse; NULL text: naive)
 *   lower    te graph + schedule -> lir_func      (lir_lower_flags, isl)
 *   verify   lir_func -> the same, checked        (lir_verify)
 *
 * A back end takes the verified lir_func from here and adds its own lint
 * (cg_backend's `lint`).
 */
#ifndef FTC_LIR_PIPE_H
#define FTC_LIR_PIPE_H

#include <isl/ctx.h>

#include "lir.h"
#include "rt_error.h"
#include "te.h"

/* The passes, in order; LIR_PASS_NONE when all of them ran. */
typedef enum lir_pass { LIR_PASS_NONE, LIR_PASS_PARSE, LIR_PASS_LOWER, LIR_PASS_VERIFY } lir_pass;

/* One run of the pipeline: what it is asked, and what it reports. */
typedef struct lir_pipe {
	const char *schedule; /* schedule text (borrowed); NULL: the naive schedule */
	const char *name;     /* the lir function's name */
	unsigned flags;       /* lir_lower_flags' flags (LIR_LOWER_TRUSTED) */
	char *canonical;      /* out: the schedule as sch_print gives it, malloc'd;
			       * NULL for the naive schedule or on failure */
	lir_pass failed;      /* out: the pass that failed, LIR_PASS_NONE on success */
} lir_pipe;

/*
 * Run the passes over g (verified; borrowed, as is ctx) for p's schedule.
 * Returns the verified function (caller frees with lir_func_free), or NULL
 * with p->failed naming the pass and `err` its message (a parse or lower
 * error keeps the schedule text's line:column; a verify failure is an
 * internal error of lowering).
 */
lir_func *lir_pipe_run(const te_graph *g, isl_ctx *ctx, lir_pipe *p, rt_error *err);

/* Release what a run left in p (the canonical text).  Accepts a zeroed p. */
void lir_pipe_release(lir_pipe *p);

/*
 * The short form: lir_pipe_run for schedule `text` (NULL: naive) into a
 * function named `name`, without the canonical text.  NULL with `err` set.
 */
lir_func *lir_pipeline(const te_graph *g, isl_ctx *ctx, const char *text, const char *name, unsigned flags,
		       rt_error *err);

#endif
