/*
 * cg_emit: the one lir -> LLVM IR emitter, shared by the CPU and CUDA
 * back ends as TVM's CodeGenLLVM is shared by its CPU and NVPTX ones.
 *
 * The emitter walks the loop IR once: expressions (scalar, or vectors of
 * `vl` lanes while the CPU emits a vectorized loop), lets, ifs, sequences,
 * stores, counted and unrolled loops, stack buffers.  What differs per
 * target is a cg_emit_hooks table filled once by each back end:
 *   - `stmt` sees every statement first (CPU: parallel and vector loops,
 *     heap buffers, full/partial tiles; CUDA: grid and thread bindings,
 *     shared memory, barriers) and calls cg_emit_stmt_base for the rest;
 *   - `exp_log` builds exp and log (CPU: cg_math's IR, vectorizable;
 *     NVPTX: ex2/lg2 approximations for f32, cg_math for f64);
 *   - `flow` and `flow_join`: facts of the target that follow control
 *     flow (CUDA: the accesses pending since the last barrier), forked at
 *     an if and merged at its join.
 * The target's own state embeds a cg_emit as its first member; its
 * kernel signature (calling convention, address spaces, thread indices)
 * is built by the back end before it calls cg_emit_stmt on the body.
 */
#ifndef FTC_CG_EMIT_H
#define FTC_CG_EMIT_H

#include <llvm-c/Core.h>
#include <stdbool.h>
#include <stdint.h>

#include "cg_priv.h"

#define CG_MAX_VL 64 /* widest explicit vector */

#define CG_ACC_NONE INT64_MIN /* vector mode: a buffer not accessed in the body */
#define CG_ACC_MIXED (-2)     /* vector mode: accessed with different lane steps */

/* A value: scalar, or a vector of vl lanes. */
typedef struct cg_val {
	LLVMValueRef v;
	bool vec;
} cg_val;

typedef struct cg_emit cg_emit;

typedef struct cg_emit_hooks {
	const char *what;   /* error prefix: "code generation", "cuda code generation" */
	unsigned alloca_align; /* alignment of stack buffers */
	/* Emit s (any kind); NULL: cg_emit_stmt_base.  0, or -1 with the error set. */
	int (*stmt)(cg_emit *g, const lir_stmt *s);
	/* exp (is_exp) or log of a, of lir type t (scalar or vector). */
	LLVMValueRef (*exp_log)(cg_emit *g, bool is_exp, lir_type t, LLVMValueRef a);
	/* The target's flow state (flow_size bytes), or NULL when it has none;
	 * flow_join merges an arm's state `other` into `into`. */
	void *(*flow)(cg_emit *g);
	void (*flow_join)(void *into, const void *other);
	int flow_size;
} cg_emit_hooks;

#define CG_FLOW_MAX 256 /* bytes of flow state a target may keep */

struct cg_emit {
	const cg_emit_hooks *h;
	const lir_func *f;
	rt_error *err;
	LLVMContextRef C;
	LLVMModuleRef M;
	LLVMBuilderRef B;
	LLVMValueRef fn;       /* function being built */
	LLVMTypeRef i1, i8, i32, i64, ix, f32, f64, ptr, vd; /* ix: lir's i64 (CUDA: i32 where indices fit) */
	cg_val *var;           /* per lir variable: its value in scope (NULL outside) */
	LLVMValueRef *buf;     /* per lir buffer: its pointer, NULL when not in scope */
	int *buf_align;        /* per buffer: the base's known alignment (0: the element's) */
	int *tz;               /* per variable: trailing zero bits every value has */
	cg_range *rng;         /* per variable: the values it takes here */
	/* vector mode (CPU): vec_var >= 0 while a vectorized loop is emitted */
	int vec_var;           /* the vectorized loop's variable, -1 in scalar mode */
	int vl;                /* lanes */
	LLVMValueRef mask;     /* lanes that execute (NULL = all) */
	LLVMValueRef *var0;    /* per variable: lane 0 of a vector variable */
	int *stride;           /* per variable: the lanes' step (-1: not linear) */
	int *tz0;              /* per vector variable: trailing zero bits of lane 0 */
	int64_t *lane_acc;     /* per buffer: the lane step of its accesses */
	bool *lane_wrote;      /* per buffer: stored to in the vector body */
};

/*
 * Set up g for f in module M of context C (the arrays sized by f, the
 * types, ix = i64).  Returns 0, or -1 with err set (out of memory);
 * cg_emit_release frees what it made in either case.
 */
int cg_emit_init(cg_emit *g, const cg_emit_hooks *h, const lir_func *f, LLVMContextRef C, LLVMModuleRef M,
		 rt_error *err);
void cg_emit_release(cg_emit *g);

/* Set the error "WHAT: msg[ where]" (WHAT from the hooks).  Returns -1. */
int cg_emit_fail(cg_emit *g, const char *msg, const char *where);
bool cg_emit_failed(const cg_emit *g);

LLVMTypeRef cg_emit_type(cg_emit *g, lir_type t);
LLVMValueRef cg_emit_c64(cg_emit *g, int64_t v);   /* an i64 constant */
LLVMValueRef cg_emit_cix(cg_emit *g, int64_t v);   /* a constant of lir's i64 type */
LLVMValueRef cg_emit_splat(cg_emit *g, cg_val x);  /* x as a vector of vl lanes */

/* A call of LLVM intrinsic `name` overloaded on tys; an undef i32 with the
 * error set when LLVM has no such intrinsic. */
LLVMValueRef cg_emit_intrinsic(cg_emit *g, const char *name, LLVMTypeRef *tys, int ntys, LLVMValueRef *args,
			       int nargs);

/* Enum attribute `name` (value v) on fn's return (0), function or parameter idx. */
void cg_emit_attr(cg_emit *g, LLVMValueRef fn, unsigned idx, const char *name, uint64_t v);

/* Trailing zero bits every value of integer expression e has. */
int cg_emit_tzeros(const cg_emit *g, const lir_expr *e);
/* Vector mode: trailing zero bits lane 0 of e has (g->tz0 of vector variables). */
int cg_emit_tzeros0(const cg_emit *g, const lir_expr *e);

/* ---- expressions ---- */

/* The value of e here; {NULL} with the error set on failure. */
cg_val cg_emit_expr(cg_emit *g, const lir_expr *e);

/* Vector mode: how i64 index e moves per lane (a constant step, -1 when
 * not linearly); its lane-0 value as a scalar (NULL when unknown). */
int64_t cg_emit_lane_step(cg_emit *g, const lir_expr *e);
LLVMValueRef cg_emit_lane0(cg_emit *g, const lir_expr *e);

/* Vector mode: whether the body emitted since the lane counters were
 * reset wrote a local buffer at an index that is not distinct per lane. */
bool cg_emit_lanes_conflict(const cg_emit *g);

/* ---- statements ---- */

/* Emit s through the target's hook.  0, or -1 with the error set. */
int cg_emit_stmt(cg_emit *g, const lir_stmt *s);

/* The target-independent handling of every statement kind: loops counted
 * (or expanded when unrolled), stack buffers, lets, ifs, stores. */
int cg_emit_stmt_base(cg_emit *g, const lir_stmt *s);

/* for (v = lo; v < hi; v += step) body(g, user): an LLVM loop whose
 * induction variable has lo's type. */
typedef int (*cg_emit_body_fn)(cg_emit *g, const void *user);
int cg_emit_counted_loop(cg_emit *g, int var, LLVMValueRef lo, LLVMValueRef hi, LLVMValueRef step,
			 cg_emit_body_fn body, const void *user);
int cg_emit_body(cg_emit *g, const void *s); /* cg_emit_stmt as a body function */

/* Loop s as a counted loop with bounds folded where their range is one
 * value; a bound that varies across vector lanes is an error. */
int cg_emit_for(cg_emit *g, const lir_stmt *s);

/* The kind loop s takes where its trip count is constant: its own, or
 * for a serial partial tile the vectorized or unrolled kind its schedule
 * asked for (lir.h, loop.tail). */
lir_for_kind cg_emit_loop_kind(const lir_stmt *s);

/* Loop s's first value and trip count when both are constant here. */
bool cg_emit_const_trip(cg_emit *g, const lir_stmt *s, int64_t *lo, int64_t *n);

/* Loop s expanded: its body n times, the variable a constant in each. */
int cg_emit_unrolled(cg_emit *g, const lir_stmt *s, int64_t lo, int64_t n);

/* Let s: its variable bound to its value around cont(g, user). */
int cg_emit_let_then(cg_emit *g, const lir_stmt *s, cg_emit_body_fn cont, const void *user);

/* Store s (scalar, or vector forms in vector mode). */
int cg_emit_store(cg_emit *g, const lir_stmt *s);

/* Alloc s's body with its buffer at p (base alignment `align`, 0: the
 * element's), the outer binding restored after. */
int cg_emit_scoped_buffer(cg_emit *g, const lir_stmt *s, LLVMValueRef p, int align);

/* An alloca of t in the function's entry block (loops reuse it). */
LLVMValueRef cg_emit_entry_alloca(cg_emit *g, LLVMTypeRef t, unsigned align);

/* if (cond) { ... }: continues in the then block; close_if joins. */
LLVMBasicBlockRef cg_emit_open_if(cg_emit *g, LLVMValueRef cond, const char *name);
void cg_emit_close_if(cg_emit *g, LLVMBasicBlockRef join);

#endif
