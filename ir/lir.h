/*
 * lir: the loop IR every back end reads.
 *
 * A lir_func is a statement tree over buffers and variables:
 *   for (v = lo; v < hi; v += step) body     with a kind: serial, parallel,
 *                                            vectorized, unrolled, pipelined
 *                                            (HLS, with a target II), or
 *                                            bound to a GPU block/thread index
 *   if (cond) then [else]
 *   let v = value; body
 *   allocate buf (scope heap, stack, gpu shared, gpu local); body
 *   buf[index] = value                       (flat, row-major index)
 *   seq { s1; s2; ... }
 *   barrier                                  (GPU shared-memory barrier)
 * Expressions: constants, variables, buf[index] loads, the arithmetic of
 * lir_ops.def.  Index arithmetic and loop variables are i64.
 *
 * Buffers with scope LIR_GLOBAL are the function's parameters, in
 * `params` order (inputs, then outputs).  A GPU-bound loop stays an explicit
 * loop, so any lir runs serially on the CPU: an allocate under the block
 * loops is made once per block, under the thread loops once per thread, and
 * each cooperative step sits under its own thread loops, so barriers are
 * correct by construction when run serially.
 *
 * Ownership: every node, name and table belongs to the lir_func that made
 * it (an arena); lir_func_free releases all of it.
 */
#ifndef FTC_LIR_H
#define FTC_LIR_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "rt_error.h"

typedef enum lir_type { LIR_F32, LIR_F64, LIR_I32, LIR_I64, LIR_BOOL } lir_type;

typedef enum lir_op {
#define LIR_OP(name, spelling, arity, form, prec) LIR_##name,
#include "lir_ops.def"
#undef LIR_OP
	LIR_OP_COUNT
} lir_op;

typedef enum lir_for_kind {
	LIR_SERIAL,
	LIR_PARALLEL,
	LIR_VECTORIZED, /* constant trip count */
	LIR_UNROLLED,   /* constant trip count */
	LIR_PIPELINED,  /* HLS pipeline (target II in loop.ii); serial elsewhere */
	LIR_BLOCK_X, LIR_BLOCK_Y, LIR_BLOCK_Z,
	LIR_THREAD_X, LIR_THREAD_Y, LIR_THREAD_Z,
	LIR_VTHREAD,
	LIR_FOR_KIND_COUNT
} lir_for_kind;

typedef enum lir_scope {
	LIR_GLOBAL, /* a parameter of the function */
	LIR_HEAP,
	LIR_STACK,
	LIR_SHARED, /* GPU shared memory: one per block */
	LIR_LOCAL,  /* GPU registers / local memory: one per thread */
	LIR_SCOPE_COUNT
} lir_scope;

/* How an HLS buffer is split into banks (an annotation other back ends
 * ignore): element e of an n-element buffer split f ways is in bank e mod f
 * (cyclic), e / ceil(n / f) (block), or in a register of its own (complete). */
typedef enum lir_partition {
	LIR_PART_NONE, LIR_PART_CYCLIC, LIR_PART_BLOCK, LIR_PART_COMPLETE
} lir_partition;

typedef enum lir_stmt_kind {
	LIR_FOR, LIR_IF, LIR_LET, LIR_ALLOC, LIR_STORE, LIR_SEQ, LIR_BARRIER
} lir_stmt_kind;

typedef struct lir_expr lir_expr;
struct lir_expr {
	lir_op op;
	lir_type type;
	int nargs;
	int id; /* LIR_VAR: variable id; LIR_LOAD: buffer id */
	union {
		double f;
		int64_t i;
	} c; /* LIR_CONST */
	lir_expr *args[]; /* a load's one argument is its i64 flat index */
};

typedef struct lir_stmt lir_stmt;
struct lir_stmt {
	lir_stmt_kind kind;
	union {
		struct { int var; lir_expr *lo, *hi; int64_t step; lir_for_kind kind; lir_stmt *body;
			 int64_t ii; /* LIR_PIPELINED: the target II (>= 1); else 0 */
			 /* a serial loop that the schedule vectorized or unrolled but
			  * whose bounds are not constant (a split's partial tile):
			  * LIR_VECTORIZED or LIR_UNROLLED, the kind code generation
			  * gives it where it proves the trip count constant; else
			  * LIR_SERIAL */
			 lir_for_kind tail; } loop;
		struct { lir_expr *cond; lir_stmt *then_s, *else_s; /* else may be NULL */ } cond;
		struct { int var; lir_expr *value; lir_stmt *body; } let;
		struct { int buf; lir_stmt *body; } alloc;
		struct { int buf; lir_expr *index, *value; } store;
		struct { int n; lir_stmt **s; } seq;
	} u;
};

typedef struct lir_buffer {
	char *name;
	lir_type type;
	int64_t size; /* elements */
	lir_scope scope;
	lir_partition part; /* HLS banks (NONE unless set by lir_set_partition) */
	int64_t part_factor; /* CYCLIC, BLOCK: the number of banks */
} lir_buffer;

typedef struct lir_var {
	char *name;
	lir_type type;
} lir_var;

typedef struct lir_func lir_func;

/* ---- the function ---- */

/* A new empty function named `name`; NULL when out of memory. */
lir_func *lir_func_new(const char *name);
/* Release f and all it owns.  Accepts NULL; returns NULL. */
lir_func *lir_func_free(lir_func *f);

const char *lir_func_name(const lir_func *f);
int lir_func_nbuffers(const lir_func *f);
const lir_buffer *lir_func_buffer(const lir_func *f, int id);
int lir_func_nvars(const lir_func *f);
const lir_var *lir_func_var(const lir_func *f, int id);
int lir_func_nparams(const lir_func *f);
int lir_func_param(const lir_func *f, int i); /* buffer id of parameter i */
lir_stmt *lir_func_body(const lir_func *f);
void lir_func_set_body(lir_func *f, lir_stmt *body);

/* Add a buffer; GLOBAL buffers become the next parameter.  Returns its id,
 * or -1 when out of memory. */
int lir_add_buffer(lir_func *f, const char *name, lir_type type, int64_t size,
		   lir_scope scope);
/* Partition buffer `buf` (not a parameter) into `factor` banks (CYCLIC,
 * BLOCK; factor >= 1) or completely.  0, or -1 for a bad buffer, kind or
 * factor. */
int lir_set_partition(lir_func *f, int buf, lir_partition kind, int64_t factor);
/* Add a variable; returns its id, or -1 when out of memory. */
int lir_add_var(lir_func *f, const char *name, lir_type type);

/* ---- expressions (NULL operands give NULL; NULL when out of memory) ---- */

lir_expr *lir_const_int(lir_func *f, int64_t v, lir_type type); /* i32, i64, bool */
lir_expr *lir_const_float(lir_func *f, double v, lir_type type); /* f32, f64 */
lir_expr *lir_var_ref(lir_func *f, int var);
lir_expr *lir_load(lir_func *f, int buf, lir_expr *index);
/* Any op of arity 1 or 2 except CAST; comparisons and logic give bool,
 * others the type of `a`. */
lir_expr *lir_unary(lir_func *f, lir_op op, lir_expr *a);
lir_expr *lir_binary(lir_func *f, lir_op op, lir_expr *a, lir_expr *b);
lir_expr *lir_select(lir_func *f, lir_expr *c, lir_expr *a, lir_expr *b);
lir_expr *lir_cast(lir_func *f, lir_type type, lir_expr *a);

/* ---- statements ---- */

lir_stmt *lir_for(lir_func *f, int var, lir_expr *lo, lir_expr *hi,
		  int64_t step, lir_for_kind kind, lir_stmt *body);
lir_stmt *lir_if(lir_func *f, lir_expr *cond, lir_stmt *then_s, lir_stmt *else_s);
lir_stmt *lir_let(lir_func *f, int var, lir_expr *value, lir_stmt *body);
lir_stmt *lir_alloc(lir_func *f, int buf, lir_stmt *body);
lir_stmt *lir_store(lir_func *f, int buf, lir_expr *index, lir_expr *value);
/* A sequence of n statements copied from s[] (NULL entries are skipped). */
lir_stmt *lir_seq(lir_func *f, int n, lir_stmt *const *s);
lir_stmt *lir_barrier(lir_func *f);

/* ---- facts ---- */

const char *lir_type_name(lir_type t); /* "f32", "f64", "i32", "i64", "bool" */
size_t lir_type_size(lir_type t);
bool lir_type_is_float(lir_type t);
const char *lir_op_spelling(lir_op op);
int lir_op_arity(lir_op op);
const char *lir_for_kind_name(lir_for_kind k); /* "serial", "parallel", "vectorized", "unrolled", "pipelined", "blockIdx.x", ..., "vthread" */
const char *lir_partition_name(lir_partition p); /* "none", "cyclic", "block", "complete" */
const char *lir_scope_name(lir_scope s);       /* "global", "heap", "stack", "shared", "local" */

/* ---- passes (lir_print.c, lir_verify.c, lir_interp.c) ---- */

/*
 * Print f as readable pseudo-C: a signature line, then the body with
 * two-space indentation, e.g.
 *   parallel for (i_o = 0; i_o < 32; i_o++) { ... }
 *   C[1024 * i + j] = C[1024 * i + j] + A[...] * B[...];
 * Loop kinds other than serial prefix the `for` ("vectorized for", "blockIdx.x for",
 * "pipelined II=2 for"); an allocate of a partitioned buffer says so
 * ("allocate f32 C.local[64] local partition cyclic 16 {").
 * Returns a malloc'd string, or NULL when out of memory.
 */
char *lir_print(const lir_func *f);

/*
 * Check f: variables defined (by an enclosing for/let) before use and not
 * redefined in their own scope, buffers exist and are allocated (GLOBAL, or
 * an enclosing allocate) where used, operand types agree, indices are i64,
 * vectorized and unrolled loops have constant bounds, a barrier appears
 * only under a block-bound loop and not under a thread-bound loop, GPU
 * bound loops are not nested inside thread loops of a lower level.
 * Returns 0, or -1 with `err` naming the statement.
 */
int lir_verify(const lir_func *f, rt_error *err);

/*
 * Run f serially.  `params[i]` is the buffer of parameter i.  Allocations
 * are zero-initialized.  A load or store outside its buffer stops the run
 * with an error naming the buffer and index (never undefined behaviour).
 * Returns 0, or -1 with `err` set.
 */
int lir_interp_run(const lir_func *f, void *const *params, rt_error *err);

#endif
