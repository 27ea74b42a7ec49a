/*
 * lower_priv: the state shared by the lowering files (lower.c: stages,
 * domains and buffers; lower_tree.c: the isl schedule tree; lower_check.c:
 * dependence legality; lower_ast.c: isl AST -> lir).  Not a public header.
 */
#ifndef FTC_LOWER_PRIV_H
#define FTC_LOWER_PRIV_H

#include <isl/aff.h>
#include <isl/ast.h>
#include <isl/ctx.h>
#include <isl/map.h>
#include <isl/schedule.h>
#include <isl/set.h>
#include <isl/space.h>
#include <isl/union_map.h>
#include <isl/union_set.h>
#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "lir.h"
#include "lower.h"
#include "sched.h"
#include "te.h"

#define LW_MAX_STAGES 64
#define LW_MAX_STMTS (3 * LW_MAX_STAGES)
#define LW_MAX_MARKS 1024 /* two trees: base and leaf coordinates */
#define LW_MAX_CTX 64
#define LW_MAX_BUF_DIMS (TE_MAX_RANK + SCH_MAX_BLOCKS) /* dims of a blocked copy */

typedef enum lw_stage_kind { LW_COMPUTE, LW_CACHE_READ, LW_CACHE_WRITE } lw_stage_kind;
typedef enum lw_stmt_kind { LW_S_COMPUTE, LW_S_INIT, LW_S_UPDATE, LW_S_COPY_IN, LW_S_COPY_OUT } lw_stmt_kind;

/* A stage of the loop nest: a te compute stage or a cache stage. */
typedef struct lw_stage {
	lw_stage_kind kind;
	char name[SCH_MAX_NAME];
	const te_stage *te;      /* compute: itself; cache_read: the tensor copied;
				  * cache_write: the stage whose tile is cached */
	int consumer;            /* cache_read: the lw stage whose reads it serves */
	int nbase;               /* base loops: axes, or d0.. for caches */
	int64_t base_ext[TE_MAX_AXES];
	sch_loops loops;
	bool reduce_leaf[SCH_MAX_LOOPS];
	int first_reduce;        /* first leaf made of reduce axes, or nloops */
	int parent, parent_pos;  /* attached inside loop parent_pos of parent; -1 */
	int nctx;                /* leading domain dims: the enclosing loops' values */
	int step_line, step_col; /* the step that attached or created it */
	/* Where its values live. */
	int buf;                 /* lir buffer */
	bool local;              /* one tile, relative to off(ctx) */
	int rank;                /* tensor rank; the buffer has rank + nblock dims */
	int64_t size[TE_MAX_RANK];
	/* cache_read block=D:F: blocked dim k < rank is tensor dim k, or
	 * (x - off) / F when k = block_dim[j]; blocked dim rank + j is
	 * (x - off) % F for tensor dim block_dim[j]. */
	int nblock;
	int block_dim[SCH_MAX_BLOCKS];
	int64_t block_f[SCH_MAX_BLOCKS];
	int perm[LW_MAX_BUF_DIMS]; /* buffer dim k holds blocked dim perm[k] */
	isl_ast_expr *off[TE_MAX_RANK]; /* offset of dim k over params t0..; NULL = 0 */
	isl_multi_aff *off_ma;   /* the same, [ctx] -> [x]; NULL when zero */
	lir_scope scope;
	int stmt[3], nstmt;
	int mark_allocs_done;
} lw_stage;

typedef struct lw_stmt {
	char name[16];           /* isl tuple name */
	lw_stmt_kind kind;
	int stage;
	int ndims;               /* nctx + own dims */
	isl_set *domain;         /* S[t.., b..]: context, then the stage's base coordinates */
	/* The same instances over the stage's leaf loops, S[t.., l..]: what the
	 * AST is generated from (see lower_tree.c).  nleaf leaves, at loop
	 * positions leaf[0..nleaf) (an init has only the spatial ones). */
	isl_set *leaf_domain;
	int nleaf;
	int leaf[SCH_MAX_LOOPS];
} lw_stmt;

/* What a mark above a band says about its loop. */
typedef struct lw_mark {
	int stage;
	int pos;                 /* leaf position in the stage */
	char name[SCH_MAX_NAME];
	sch_loop_kind kind;
	int64_t extent;
	int line;                /* the annotating step, 0 if none */
	int64_t ii;              /* pipeline: the target II */
	int nalloc;              /* lw stages whose local buffers live in this loop */
	int alloc[8];
} lw_mark;

/* The watchdog of a lowering's CPU time (lower.c): a thread that aborts
 * isl (isl_ctx_abort) once the lowering thread has spent more than its
 * limit in the current phase, for the work isl's operation count misses
 * (isl_map_deltas, the AST generator's sorting: minutes between counted
 * operations).  mu guards the fields below it. */
typedef struct lw_watch {
	pthread_t thread;
	bool running;            /* the thread was started (joined at the end) */
	clockid_t clock;         /* the lowering thread's CPU-time clock */
	double limit;            /* CPU seconds per phase */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	double deadline;         /* on `clock`; 0: no phase running */
	bool stop;               /* the lowering ended: the thread returns */
	bool fired;              /* it aborted isl in the current phase */
} lw_watch;

typedef struct lw {
	isl_ctx *ctx;
	unsigned flags;          /* LIR_LOWER_* */
	const te_graph *g;
	const sch_schedule *s;
	rt_error *err;
	lir_func *f;
	int nstages;
	lw_stage st[LW_MAX_STAGES];
	int nstmts;
	lw_stmt stmt[LW_MAX_STMTS];
	int nmarks;
	lw_mark marks[LW_MAX_MARKS];
	int te_lw[256];          /* te stage id -> lw compute stage, -1 */
	bool inlined[256];
	int te_buf[256];         /* te stage id -> buffer of the whole tensor, -1 */
	int nheap;
	int heap[256];           /* root intermediates: allocated around the body */
	isl_schedule *sched;     /* over base coordinates: the legality checks */
	isl_schedule *ast_sched; /* the same tree over leaf coordinates: the AST */
	isl_union_map *deps;     /* memory dependences between statement instances */
	bool leaf_mode;          /* lower_tree: building ast_sched */
	const char *phase;       /* the phase running, for errors */
	unsigned long max_ops;   /* isl operations each phase may spend */
	unsigned long saved_max_ops; /* the caller's limit, restored at the end */
	int saved_on_error;      /* the caller's isl on_error, restored at the end */
	lw_watch watch;          /* the CPU-time limit of each phase */
} lw;

/* lower.c */
int lw_fail(lw *L, int line, int col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Start phase `what` (named in errors) with a fresh budget of L->max_ops isl
 * operations; clears isl's last error. */
void lw_phase(lw *L, const char *what);
/* Has isl stopped on the budget (operations or CPU time) in this phase? */
bool lw_over_budget(lw *L);
/* Has the watchdog stopped isl on the CPU-time limit in this phase? */
bool lw_out_of_time(lw *L);
/* The isl string of stage x's leaf `ax` over base names b0.. */
void lw_ax_str(const lw_stage *x, int ax, char *buf, size_t size);
/* { S[t.., b..] -> [t0.., leaf_0, .., leaf_p] } for statement `st` (p may be -1). */
__isl_give isl_map *lw_ctx_map(lw *L, int st, int p);
/* Accesses of statement `st` to tensor `t` (composed through inlined
 * stages, under affine guards): { S[t.., b..] -> T[x] }, or an empty map. */
__isl_give isl_map *lw_reads(lw *L, int st, int t);
/* Is reader stage x's read of tensor t served by a local stage?  Its index or -1. */
int lw_redirect(const lw *L, int x, int t);
/* The extents of the blocked dims of stage x's buffer (see lw_stage.perm)
 * into ext; returns their number, rank + nblock. */
int lw_buf_dims(const lw_stage *x, int64_t ext[LW_MAX_BUF_DIMS]);
/* The lw stage whose buffer stage x's statements store into. */
int lw_store_target(const lw *L, int x);

/* lower_tree.c */
int lw_build_tree(lw *L);
/* sched with full tiles of its vectorized and unrolled loops isolated for
 * the AST generator (sched taken). */
__isl_give isl_schedule *lw_isolate(lw *L, __isl_take isl_schedule *sched);

/* lower_check.c */
int lw_check(lw *L);
bool lw_is_output_buffer(const lw *L, int b);

/* lower_ast.c */
lir_stmt *lw_generate(lw *L);

#endif
