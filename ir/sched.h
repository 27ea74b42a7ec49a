/*
 * sched: schedules as data.
 *
 * A schedule is a list of steps, applied in order, each naming a stage
 * (a te stage, or a cache stage made by an earlier step).  Its text form is
 * one step a line, starting with a stable tag; `#` starts a comment:
 *
 *   split C i 32              i -> i.o (outer, extent ceil(e/32)), i.i (inner, extent 32)
 *   split C j parts=4         j -> j.o (extent 4), j.i (extent ceil(e/4))
 *   reorder C i.o j.o k i.i   these loops take, in this order, the places
 *                             they occupy in the current nest
 *   fuse C i.o j.o            two adjacent loops (outer first) -> i.o+j.o
 *   parallel C i.o+j.o
 *   vectorize C j.i
 *   unroll C k.i
 *   bind C i.o blockIdx.x     also blockIdx.y/z, threadIdx.x/y/z, vthread
 *   compute_at P C j.o        compute P's needed part inside C's loop j.o
 *   compute_inline P          substitute P's body into its consumers
 *   cache_read A C k.o shared           copy the part of A that C reads in
 *                                       one iteration of k.o into stage
 *                                       A.shared (scope local|shared|stack)
 *   cache_read A C k.o local perm=1,0   ... stored with dimensions permuted
 *   cache_read B C k stack block=1:16 perm=1,0,2
 *                             ... with dimension 1 stored as two (1 / 16
 *                             in its place, 1 % 16 appended), then permuted
 *   cache_write C j.o local   accumulate C's tile of one iteration of j.o
 *                             in stage C.local, then write it back
 *   pipeline C k.i 2          HLS: pipeline loop k.i with target initiation
 *                             interval 2 (default 1); loops inside it are
 *                             unrolled by the pipeline
 *   partition C.local cyclic 16   HLS: split C.local's buffer (flat,
 *                             row-major) into 16 banks, element e in bank
 *                             e mod 16; `block 4`: bank e / ceil(n/4);
 *                             `complete`: one register per element
 *   rfactor C k.o             compute C's reduction in two stages: C.rf,
 *                             with C's spatial axes and k.o as a last one,
 *                             reduces over C's other reduce loops; C then
 *                             reduces C.rf over k.o (sched_rfactor.h)
 *
 * Loop names: a stage's loops start as its axes (spatial, then reduce);
 * splitting X gives X.o and X.i, fusing X and Y gives X+Y.  The loops of a
 * cache stage start as d0, d1, ... (the dimensions of its buffer).  Names
 * with '.' or '+' never clash with .te names.
 *
 * Printing a parsed schedule gives back the same text (comments and blank
 * lines dropped, spacing normalized); parsing printed text gives the same
 * steps.
 */
#ifndef FTC_SCHED_H
#define FTC_SCHED_H

#include <stdbool.h>
#include <stdint.h>

#include "rt_error.h"

#define SCH_MAX_NAME 128   /* a stage or loop name, terminator included */
#define SCH_MAX_ARGS 32    /* loops named by one reorder */
#define SCH_MAX_AX 96      /* axes (base and derived) of one stage */
#define SCH_MAX_LOOPS 32   /* leaf loops of one stage */
#define SCH_MAX_BLOCKS 2   /* block= of one cache_read (OIhw16i16o blocks two) */
#define SCH_MAX_BLOCK_FACTOR 1024 /* the factor F of a block=D:F */
#define SCH_MAX_PERM 10    /* dimensions a perm= names: a tensor's 8 and 2 blocks */

typedef enum sch_kind {
#define SCH_STEP(name, tag) SCH_##name,
#include "sched_steps.def"
#undef SCH_STEP
	SCH_KIND_COUNT
} sch_kind;

typedef enum sch_loop_kind {
	SCH_LOOP_SERIAL,
	SCH_LOOP_PARALLEL,
	SCH_LOOP_VECTORIZE,
	SCH_LOOP_UNROLL,
	SCH_LOOP_PIPELINE, /* HLS; serial elsewhere.  Before the GPU kinds, which
			    * code compares by range (>= SCH_LOOP_BLOCK_X). */
	SCH_LOOP_BLOCK_X, SCH_LOOP_BLOCK_Y, SCH_LOOP_BLOCK_Z,
	SCH_LOOP_THREAD_X, SCH_LOOP_THREAD_Y, SCH_LOOP_THREAD_Z,
	SCH_LOOP_VTHREAD
} sch_loop_kind;

typedef enum sch_scope { SCH_SCOPE_LOCAL, SCH_SCOPE_SHARED, SCH_SCOPE_STACK } sch_scope;

/* How `partition` splits a buffer into banks. */
typedef enum sch_partition { SCH_PART_CYCLIC, SCH_PART_BLOCK, SCH_PART_COMPLETE } sch_partition;

/* One step.  Unused fields are zero / empty. */
typedef struct sch_step {
	sch_kind kind;
	char stage[SCH_MAX_NAME];  /* the stage the step schedules (cache_read: the tensor read) */
	char target[SCH_MAX_NAME]; /* compute_at, cache_read: the consumer stage */
	int nargs;                 /* loop names in args */
	char args[SCH_MAX_ARGS][SCH_MAX_NAME];
	/* split: args[0] the loop; factor > 0 (inner extent) or nparts > 0.
	 * reorder: args[0..nargs).  fuse: args[0], args[1].
	 * parallel, vectorize, unroll: args[0].  bind: args[0], tag.
	 * compute_at: args[0] (a loop of target).  cache_read: args[0] (a loop
	 * of target), scope, blocks, perm.  cache_write: args[0], scope.
	 * pipeline: args[0], ii.  partition: part, factor (cyclic, block). */
	int64_t factor, nparts;
	int64_t ii;                /* pipeline: target initiation interval, 0 = not given (1) */
	sch_partition part;        /* partition */
	sch_loop_kind tag;         /* bind */
	sch_scope scope;           /* cache_read, cache_write */
	/* cache_read block=D:F: the copy stores tensor dimension block_dim[j]
	 * as two, D / F in D's place and D % F appended (docs/schedules.md). */
	int nblock;
	int block_dim[SCH_MAX_BLOCKS];
	int64_t block_factor[SCH_MAX_BLOCKS];
	int block_col[SCH_MAX_BLOCKS];
	int nperm;                 /* cache_read: 0 or the rank of the blocked copy */
	int perm[SCH_MAX_PERM];
	int line, col;             /* where it was parsed; 0 if built */
	/* Columns of the fields, for errors found after parsing; 0 if built. */
	int stage_col, target_col;
	int arg_col[SCH_MAX_ARGS]; /* args[i] */
	int opt_col;               /* the factor or parts=, bind tag or scope */
} sch_step;

typedef struct sch_schedule {
	int nsteps, cap;
	sch_step *steps;
} sch_schedule;

/* ---- the schedule as data ---- */

sch_schedule *sch_new(void);
/* Release s.  Accepts NULL; returns NULL. */
sch_schedule *sch_free(sch_schedule *s);
/* Append a copy of *step.  Returns 0, or -1 when out of memory. */
int sch_append(sch_schedule *s, const sch_step *step);
const char *sch_kind_tag(sch_kind k);
const char *sch_loop_kind_name(sch_loop_kind k); /* "serial", "parallel", ..., "blockIdx.x", "vthread" */
const char *sch_scope_name(sch_scope s);
const char *sch_partition_name(sch_partition p); /* "cyclic", "block", "complete" */

/*
 * Parse schedule text.  Returns a new schedule, or NULL with `err` at the
 * line:column of the bad token (unknown tag, missing or extra arguments,
 * bad number, unknown bind tag or scope, bad block or perm).  Names are not
 * resolved here: sch_resolve does that against a graph.
 */
sch_schedule *sch_parse(const char *text, rt_error *err);

/* The text form, one step a line; malloc'd, NULL when out of memory. */
char *sch_print(const sch_schedule *s);

/* ---- resolving a stage's loops ---- */

typedef enum sch_ax_kind { SCH_AX_BASE, SCH_AX_OUTER, SCH_AX_INNER, SCH_AX_FUSED } sch_ax_kind;

/*
 * An axis of a stage: a base axis, or derived from earlier axes:
 *   OUTER: floor(ax[a] / factor)      INNER: ax[a] mod factor
 *   FUSED: ax[a] * ax[b].extent + ax[b]
 * and conversely ax[a] = OUTER * factor + INNER, ax[a] = floor(F / ext_b),
 * ax[b] = F mod ext_b.
 */
typedef struct sch_ax {
	sch_ax_kind kind;
	int base;        /* BASE: index among the base axes */
	int a, b;        /* parents (indices into sch_loops.ax) */
	int64_t factor;  /* OUTER, INNER */
	int64_t extent;
	char name[SCH_MAX_NAME];
} sch_ax;

/* Where a stage is computed. */
typedef enum sch_attach_kind { SCH_ATTACH_ROOT, SCH_ATTACH_INLINE, SCH_ATTACH_AT } sch_attach_kind;

/* The loops of one stage after all its split/reorder/fuse/annotate steps. */
typedef struct sch_loops {
	int nax;
	sch_ax ax[SCH_MAX_AX];
	int nloops;
	int loop[SCH_MAX_LOOPS];            /* leaf axes, outermost first */
	sch_loop_kind kind[SCH_MAX_LOOPS];  /* from parallel/vectorize/unroll/bind/pipeline */
	int line[SCH_MAX_LOOPS];            /* the annotating step's line, 0 if none */
	int64_t ii[SCH_MAX_LOOPS];          /* pipeline: the target II (>= 1), else 0 */
	sch_attach_kind attach;
	char at_stage[SCH_MAX_NAME];        /* SCH_ATTACH_AT: the consumer ... */
	char at_loop[SCH_MAX_NAME];         /* ... and its loop */
	int attach_line;
} sch_loops;

/*
 * Apply the steps of `s` that schedule stage `stage`, whose base loops are
 * names[0..nbase) with extents[0..nbase), and fill *out.  Errors, with the
 * step's line:column: a loop that does not exist (naming what it became if
 * it was split or fused), a split factor or nparts < 1, fusing loops that
 * are not adjacent or not outer-then-inner, a reorder naming a loop twice,
 * annotating one loop twice, splitting or fusing a loop after annotating it,
 * a second compute_at/compute_inline of the stage, more than SCH_MAX_LOOPS.
 * Also: a derived name that is taken or too long, more than SCH_MAX_AX
 * axes, a fused extent past INT64_MAX, compute_at of a stage at its own
 * loop, bad base loops (at line 0).  cache_read/cache_write steps are
 * skipped: they make other stages; so are partition steps (they annotate
 * the stage's buffer, which lowering knows) and rfactor steps (a rewrite
 * of the graph, sch_rfactor_apply, applies them before).
 * Returns 0, or -1 with `err` set.
 */
int sch_stage_loops(const sch_schedule *s, const char *stage, int nbase,
		    const char *const *names, const int64_t *extents,
		    sch_loops *out, rt_error *err);

/* The leaf position of the loop named `name` in *l, or -1. */
int sch_loops_find(const sch_loops *l, const char *name);

#endif
