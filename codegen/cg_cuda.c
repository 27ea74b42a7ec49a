/*
 * cg_cuda: lir with GPU bindings -> kernels for NVPTX (PTX text) or for the
 * host CPU (the emulator), through the LLVM C API.  See cg_cuda.h for the
 * execution model and docs/cuda.md for the decisions behind it.
 *
 * Three passes:
 *   plan     split the function into kernels, map bound loops to block and
 *            thread indices, bound their extents (interval arithmetic and
 *            affine differences), place allocations, size shared memory
 *            (cg_cuda_plan.c);
 *   emit     one LLVM function per kernel, by the shared emitter
 *            (cg_emit.h) with this file's hooks: guards, stride loops,
 *            shared memory, barriers between block-level steps that touch
 *            the same buffer, thread-0 stores, split copies into shared
 *            memory, NVPTX intrinsics for indices, exp and log;
 *   finish   verify, optimize at -O3, emit PTX (or JIT for the emulator).
 */
#include "cg_cuda.h"

#include <llvm-c/Analysis.h>
#include <llvm-c/Target.h>
#include <llvm-c/Transforms/PassBuilder.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>

#include "cg_cuda_plan.h"
#include "cg_emit.h"
#include "cg_math.h"
#include "rt_cuda.h"

#define CU_MAX_UNROLL 64     /* longest unrolled loop expanded */
#define CU_MAX_VECTOR 16     /* longest vectorized loop expanded */
#define CU_SET_WORDS 4       /* buffers tracked one by one for barriers */
#define CU_SET_BITS (64 * CU_SET_WORDS)
#define CU_PARAM_ALIGN 16    /* the launcher checks it */

/* generate builds rt_cuda_emu_ctx in LLVM IR: the same layout. */
_Static_assert(offsetof(rt_cuda_emu_ctx, ctaid) == 12 && offsetof(rt_cuda_emu_ctx, shared) == 48 &&
		       offsetof(rt_cuda_emu_ctx, barrier) == 56 && offsetof(rt_cuda_emu_ctx, barrier_arg) == 64,
	       "the emulator's context layout");

/* ---- emission: the CUDA hooks of the shared emitter ---- */

/* Buffers accessed by a step: by thread 0 alone (r0, w0) or by every
 * thread (rt, wt). */
typedef struct bset {
	uint64_t w[CU_SET_WORDS];
} bset;

typedef struct acc {
	bset r0, w0, rt, wt;
} acc;

/* The CUDA emitter: the shared state first. */
typedef struct cu {
	cg_emit e;
	const plan *P;
	const kplan *K;
	bool emu;                  /* host code for the emulator */
	LLVMTypeRef gptr, ctx_ty;
	LLVMValueRef tid[3], ctaid[3];
	LLVMValueRef ctx;          /* emulator: the context parameter */
	int level;
	unsigned active;           /* thread dims bound on the path */
	acc pend;                  /* accesses since the last barrier */
	int nshared;
} cu;

_Static_assert(sizeof(acc) <= CG_FLOW_MAX, "the pending accesses are the emitter's flow state");

static cu *cu_of(cg_emit *g)
{
	return (cu *)g;
}

/* ---- bitsets of buffers ---- */

static void bs_add(bset *s, int buf)
{
	int b = buf < CU_SET_BITS ? buf : CU_SET_BITS - 1;

	s->w[b / 64] |= UINT64_C(1) << (b % 64);
}

static bool bs_meet(const bset *a, const bset *b)
{
	for (int i = 0; i < CU_SET_WORDS; i++)
		if (a->w[i] & b->w[i])
			return true;
	return false;
}

static bset bs_or(bset a, const bset *b)
{
	for (int i = 0; i < CU_SET_WORDS; i++)
		a.w[i] |= b->w[i];
	return a;
}

static void acc_or(acc *a, const acc *b)
{
	a->r0 = bs_or(a->r0, &b->r0);
	a->w0 = bs_or(a->w0, &b->w0);
	a->rt = bs_or(a->rt, &b->rt);
	a->wt = bs_or(a->wt, &b->wt);
}

/* The flow hooks: an if's arms each start from the accesses pending
 * before it; after it, what either may leave is pending. */
static void *cu_flow(cg_emit *g)
{
	return &cu_of(g)->pend;
}

static void cu_flow_join(void *into, const void *other)
{
	acc_or(into, other);
}

/* ---- accesses of a statement (private buffers excluded) ---- */

static void expr_reads(const cu *g, const lir_expr *e, bset *r)
{
	if (e->op == LIR_LOAD && !g->P->priv[e->id])
		bs_add(r, e->id);
	for (int i = 0; i < e->nargs; i++)
		expr_reads(g, e->args[i], r);
}

/* Accesses of s at `level`: block-level stores are thread 0's, the rest
 * (thread loops, split copies, bounds and conditions) every thread's. */
static void accesses(const cu *g, const lir_stmt *s, int level, acc *a)
{
	const note *n;

	if (!s)
		return;
	switch (s->kind) {
	case LIR_FOR:
		n = cu_find_note(g->K, s);
		if (n && (n->kind == NOTE_THREAD || n->kind == NOTE_COPY))
			level = LV_THREAD;
		expr_reads(g, s->u.loop.lo, &a->rt);
		expr_reads(g, s->u.loop.hi, &a->rt);
		accesses(g, s->u.loop.body, level, a);
		return;
	case LIR_IF:
		expr_reads(g, s->u.cond.cond, &a->rt);
		accesses(g, s->u.cond.then_s, level, a);
		accesses(g, s->u.cond.else_s, level, a);
		return;
	case LIR_LET:
		expr_reads(g, s->u.let.value, &a->rt);
		accesses(g, s->u.let.body, level, a);
		return;
	case LIR_ALLOC:
		accesses(g, s->u.alloc.body, level, a);
		return;
	case LIR_SEQ:
		for (int i = 0; i < s->u.seq.n; i++)
			accesses(g, s->u.seq.s[i], level, a);
		return;
	case LIR_STORE:
		expr_reads(g, s->u.store.index, level == LV_THREAD ? &a->rt : &a->r0);
		expr_reads(g, s->u.store.value, level == LV_THREAD ? &a->rt : &a->r0);
		if (!g->P->priv[s->u.store.buf])
			bs_add(level == LV_THREAD ? &a->wt : &a->w0, s->u.store.buf);
		return;
	default:
		return;
	}
}

/* Does step a conflict with the accesses pending since the last barrier?
 * Thread 0's steps never conflict with each other. */
static bool conflicts(const acc *p, const acc *a)
{
	bset all = bs_or(bs_or(bs_or(p->r0, &p->w0), &p->rt), &p->wt);
	bset tw = bs_or(p->rt, &p->wt), w = bs_or(p->w0, &p->wt);

	return bs_meet(&a->w0, &tw) || bs_meet(&a->r0, &p->wt) || bs_meet(&a->wt, &all) || bs_meet(&a->rt, &w);
}

static bool one_thread(const cu *g)
{
	return cu_threads(g->K) == 1;
}

static void barrier(cu *g)
{
	cg_emit *e = &g->e;

	if (g->emu) {
		LLVMTypeRef fty = LLVMFunctionType(e->vd, &e->ptr, 1, 0);
		LLVMValueRef fp = LLVMBuildStructGEP2(e->B, g->ctx_ty, g->ctx, 5, "");
		LLVMValueRef ap = LLVMBuildStructGEP2(e->B, g->ctx_ty, g->ctx, 6, "");
		LLVMValueRef arg = LLVMBuildLoad2(e->B, e->ptr, ap, "");

		LLVMBuildCall2(e->B, fty, LLVMBuildLoad2(e->B, e->ptr, fp, ""), &arg, 1, "");
	} else {
		cg_emit_intrinsic(e, "llvm.nvvm.barrier0", NULL, 0, NULL, 0);
	}
	memset(&g->pend, 0, sizeof(g->pend));
}

/* Before a block-level step with accesses a: a barrier when it conflicts. */
static void step(cu *g, const acc *a)
{
	if (one_thread(g))
		return;
	if (conflicts(&g->pend, a))
		barrier(g);
	acc_or(&g->pend, a);
}

/* Before block-level statement s: its accesses as one step. */
static void step_stmt(cu *g, const lir_stmt *s)
{
	acc a = {0};

	accesses(g, s, LV_BLOCK, &a);
	step(g, &a);
}

/* ---- exp and log ---- */

static LLVMValueRef fconst(LLVMTypeRef t, double v)
{
	return LLVMConstReal(t, v);
}

/* exp and log: f32 on the GPU by the ex2/lg2 approximations (relative
 * error about 2^-22), f64 by cg_math's; the emulator's f32 by
 * LLVM's intrinsics. */
static LLVMValueRef cu_exp_log(cg_emit *e, bool is_exp, lir_type t, LLVMValueRef a)
{
	LLVMTypeRef ty = LLVMTypeOf(a);

	if (t == LIR_F64)
		return cg_math_exp_log(e, is_exp, a);
	if (cu_of(e)->emu)
		return cg_emit_intrinsic(e, is_exp ? "llvm.exp" : "llvm.log", &ty, 1, &a, 1);
	if (is_exp) {
		LLVMValueRef x = LLVMBuildFMul(e->B, a, fconst(ty, 1.4426950408889634), "");

		return cg_emit_intrinsic(e, "llvm.nvvm.ex2.approx.f", NULL, 0, &x, 1);
	}
	return LLVMBuildFMul(e->B, cg_emit_intrinsic(e, "llvm.nvvm.lg2.approx.f", NULL, 0, &a, 1),
			     fconst(ty, 0.69314718055994531), "");
}

/* ---- statements ---- */

/* Thread dims a store at this point must be made by index 0 of: launched
 * dims that no enclosing thread loop binds. */
static LLVMValueRef store_guard(cu *g)
{
	LLVMValueRef c = NULL;

	for (int d = 0; d < 3; d++) {
		LLVMValueRef z;

		if (g->K->block[d] == 1 || (g->active & (1u << d)))
			continue;
		z = LLVMBuildICmp(g->e.B, LLVMIntEQ, g->tid[d], LLVMConstInt(g->e.i32, 0, 0), "");
		c = c ? LLVMBuildAnd(g->e.B, c, z, "") : z;
	}
	return c;
}

/* A store: by thread 0 of the dims no thread loop binds, unless made by
 * all threads (a split copy). */
static int cu_store(cu *g, const lir_stmt *s, bool all_threads)
{
	LLVMValueRef guard = all_threads ? NULL : store_guard(g);
	LLVMBasicBlockRef join = guard ? cg_emit_open_if(&g->e, guard, "store") : NULL;
	int rc = cg_emit_store(&g->e, s);

	if (join && !rc)
		cg_emit_close_if(&g->e, join);
	return rc;
}

static int min_tz(int a, int b)
{
	return a < b ? a : b;
}

/* A loop bound to a block or thread index: v = lo + idx * step, guarded
 * by v < hi, or a stride loop when the extent may exceed the launch. */
static int mapped_loop(cu *g, const lir_stmt *s, const note *n)
{
	cg_emit *e = &g->e;
	bool block = n->kind == NOTE_GRID;
	int v = s->u.loop.var, tz = e->tz[v], level = g->level;
	unsigned active = g->active;
	LLVMValueRef lo = cg_emit_expr(e, s->u.loop.lo).v, hi = cg_emit_expr(e, s->u.loop.hi).v, idx, first;
	int64_t launch = block ? g->K->grid[n->dim] : g->K->block[n->dim];
	cg_val saved = e->var[v];
	LLVMBasicBlockRef join;
	int rc;

	if (!lo || !hi)
		return -1;
	idx = LLVMBuildZExt(e->B, block ? g->ctaid[n->dim] : g->tid[n->dim], e->ix, "");
	first = LLVMBuildNSWAdd(e->B, lo, LLVMBuildNSWMul(e->B, idx, cg_emit_cix(e, s->u.loop.step), ""), "");
	e->tz[v] = min_tz(cg_emit_tzeros(e, s->u.loop.lo), __builtin_ctzll((unsigned long long)s->u.loop.step));
	if (!block) {
		g->level = LV_THREAD;
		g->active |= 1u << n->dim;
	}
	if (n->strided) {
		rc = cg_emit_counted_loop(e, v, first, hi, cg_emit_cix(e, launch * s->u.loop.step), cg_emit_body,
					  s->u.loop.body);
	} else {
		join = cg_emit_open_if(e, LLVMBuildICmp(e->B, LLVMIntSLT, first, hi, ""), block ? "block" : "thread");
		e->var[v] = (cg_val){first, false};
		rc = cg_emit_stmt(e, s->u.loop.body);
		cg_emit_close_if(e, join);
	}
	e->var[v] = saved;
	e->tz[v] = tz;
	g->level = level;
	g->active = active;
	return rc;
}

/* ---- copies into shared memory, split among the block's threads ---- */

#define CU_MAX_COPY_LOOPS 64 /* loops of a copy nest linearized */

typedef struct copy_loop {
	const lir_stmt *s;
	int64_t lo, n;
} copy_loop;

typedef struct copy_plan {
	copy_loop loop[CU_MAX_COPY_LOOPS];
	int nloops;
	int64_t total;
	const lir_stmt *root;
} copy_plan;

/* Emit the copy nest's lets, ifs and store around the linear index done. */
static int copy_inner(cg_emit *e, const void *user)
{
	const lir_stmt *t = user;
	LLVMBasicBlockRef join;
	LLVMValueRef c;
	int rc;

	switch (t->kind) {
	case LIR_FOR:
		return copy_inner(e, t->u.loop.body);
	case LIR_LET:
		return cg_emit_let_then(e, t, copy_inner, t->u.let.body);
	case LIR_IF:
		if (!(c = cg_emit_expr(e, t->u.cond.cond).v))
			return -1;
		join = cg_emit_open_if(e, c, "copy.if");
		rc = copy_inner(e, t->u.cond.then_s);
		cg_emit_close_if(e, join);
		return rc;
	default:
		return cu_store(cu_of(e), t, true);
	}
}

/* One iteration n of the linearized nest: decode the loop variables. */
static int copy_iter(cg_emit *e, const void *user)
{
	const copy_plan *cp = user;
	LLVMValueRef rem = e->var[cp->loop[0].s->u.loop.var].v;

	for (int i = cp->nloops - 1; i >= 0; i--) {
		const copy_loop *l = &cp->loop[i];
		LLVMValueRef q = i ? LLVMBuildUDiv(e->B, rem, cg_emit_cix(e, l->n), "") : NULL;
		LLVMValueRef k = i ? LLVMBuildURem(e->B, rem, cg_emit_cix(e, l->n), "") : rem;
		int v = l->s->u.loop.var;

		e->var[v] = (cg_val){LLVMBuildNSWAdd(e->B, cg_emit_cix(e, l->lo),
						     LLVMBuildNSWMul(e->B, k, cg_emit_cix(e, l->s->u.loop.step), ""), ""),
				     false};
		e->tz[v] = min_tz(l->lo ? __builtin_ctzll((unsigned long long)l->lo) : 64,
				  __builtin_ctzll((unsigned long long)l->s->u.loop.step));
		rem = q;
	}
	return copy_inner(e, cp->root);
}

/* The copy nest s as one loop over its linearized iterations, strided by
 * the block's thread count. */
static int copy_split(cu *g, const lir_stmt *s)
{
	cg_emit *e = &g->e;
	copy_plan *cp = calloc(1, sizeof(*cp));
	const lir_stmt *t = s;
	LLVMValueRef lin;
	int rc;

	if (!cp)
		return cg_emit_fail(e, "out of memory", NULL);
	cp->root = s;
	cp->total = 1;
	for (; t->kind != LIR_STORE && cp->nloops < CU_MAX_COPY_LOOPS;
	     t = t->kind == LIR_FOR ? t->u.loop.body : t->kind == LIR_LET ? t->u.let.body : t->u.cond.then_s)
		if (t->kind == LIR_FOR) {
			copy_loop *l = &cp->loop[cp->nloops++];

			l->lo = t->u.loop.lo->c.i;
			l->n = t->u.loop.hi->c.i > l->lo ? (t->u.loop.hi->c.i - l->lo + t->u.loop.step - 1) / t->u.loop.step : 0;
			l->s = t;
			cp->total *= l->n;
		}
	{
		acc a = {0};

		accesses(g, s, LV_THREAD, &a);
		step(g, &a);
	}
	if (cp->total == 0) {
		free(cp);
		return 0;
	}
	/* n = tid.x + bx * (tid.y + by * tid.z) */
	lin = LLVMBuildAdd(e->B, g->tid[1],
			   LLVMBuildMul(e->B, g->tid[2], LLVMConstInt(e->i32, (unsigned)g->K->block[1], 0), ""), "");
	lin = LLVMBuildAdd(e->B, g->tid[0], LLVMBuildMul(e->B, lin, LLVMConstInt(e->i32, (unsigned)g->K->block[0], 0), ""),
			   "");
	rc = cg_emit_counted_loop(e, cp->loop[0].s->u.loop.var, LLVMBuildZExt(e->B, lin, e->ix, ""),
				  cg_emit_cix(e, cp->total), cg_emit_cix(e, cu_threads(g->K)), copy_iter, cp);
	free(cp);
	return rc;
}

/* ---- loops, allocations, the rest ---- */

/* A loop at block level, emitted by `emit`: the state at the top of its
 * body is what any iteration may find pending; after it, what any exit
 * may leave (`after`: also what the body leaves, for a real loop). */
static int block_loop(cu *g, const lir_stmt *s, int (*emit)(cg_emit *, const lir_stmt *), bool after)
{
	acc before = g->pend, body = {0};
	int rc;

	accesses(g, s->u.loop.body, g->level, &body);
	acc_or(&g->pend, &body);
	rc = emit(&g->e, s);
	acc_or(&g->pend, &before);
	if (after)
		acc_or(&g->pend, &body);
	return rc;
}

static int expand(cg_emit *e, const lir_stmt *s)
{
	int64_t lo, n;

	cg_emit_const_trip(e, s, &lo, &n);
	return cg_emit_unrolled(e, s, lo, n);
}

/* Unrolled loops and short vectorized ones are expanded: lanes of a
 * vectorized loop become neighbouring accesses with the alignment their
 * index proves, which LLVM's load/store vectorizer combines. */
static bool expands(cu *g, const lir_stmt *s)
{
	int64_t lo, n;

	return cg_emit_const_trip(&g->e, s, &lo, &n) &&
	       ((s->u.loop.kind == LIR_UNROLLED && n <= CU_MAX_UNROLL) ||
		(s->u.loop.kind == LIR_VECTORIZED && n <= CU_MAX_VECTOR));
}

static int cu_loop(cu *g, const lir_stmt *s)
{
	const note *n = cu_find_note(g->K, s);
	bool block = g->level == LV_BLOCK;

	if (n && (n->kind == NOTE_GRID || n->kind == NOTE_THREAD)) {
		if (n->kind == NOTE_THREAD && block)
			step_stmt(g, s);
		return mapped_loop(g, s, n);
	}
	if (n && n->kind == NOTE_COPY && block)
		return copy_split(g, s);
	if (expands(g, s))
		return block ? block_loop(g, s, expand, false) : expand(&g->e, s);
	return block ? block_loop(g, s, cg_emit_for, true) : cg_emit_for(&g->e, s);
}

/* The memory of a block-level buffer in shared memory. */
static LLVMValueRef shared_buffer(cu *g, const lir_buffer *b, int64_t offset)
{
	cg_emit *e = &g->e;
	char name[160];
	LLVMValueRef gv, base;

	if (g->emu) {
		base = LLVMBuildLoad2(e->B, e->ptr, LLVMBuildStructGEP2(e->B, g->ctx_ty, g->ctx, 4, ""), "");
		return LLVMBuildGEP2(e->B, e->i8, base, (LLVMValueRef[]){LLVMConstInt(e->i64, (unsigned long long)offset, 0)},
				     1, "");
	}
	snprintf(name, sizeof(name), "%s_sh%d", LLVMGetValueName(e->fn), g->nshared++);
	for (char *p = name; *p; p++)
		if (*p == '.')
			*p = '_';
	gv = LLVMAddGlobalInAddressSpace(e->M, LLVMArrayType2(cg_emit_type(e, b->type), (uint64_t)b->size), name, 3);
	LLVMSetInitializer(gv, LLVMGetUndef(LLVMGlobalGetValueType(gv)));
	LLVMSetLinkage(gv, LLVMInternalLinkage);
	LLVMSetAlignment(gv, CU_SHARED_ALIGN);
	return gv;
}

/* A buffer: in shared memory where the plan placed it, else per thread. */
static int cu_alloc(cu *g, const lir_stmt *s)
{
	const note *n = cu_find_note(g->K, s);
	const lir_buffer *b = lir_func_buffer(g->P->f, s->u.alloc.buf);

	if (n && n->offset >= 0)
		return cg_emit_scoped_buffer(&g->e, s, shared_buffer(g, b, n->offset), CU_SHARED_ALIGN);
	return cg_emit_stmt_base(&g->e, s);
}

/* Every statement at its level: grid, block (thread 0's stores, barriers
 * between conflicting steps) or thread. */
static int cu_stmt(cg_emit *e, const lir_stmt *s)
{
	cu *g = cu_of(e);
	int level = g->level, rc = 0;

	g->level = cu_level_of(g->K, s, g->level);
	switch (s->kind) {
	case LIR_FOR:
		rc = cu_loop(g, s);
		break;
	case LIR_ALLOC:
		rc = cu_alloc(g, s);
		break;
	case LIR_STORE:
		if (g->level == LV_BLOCK)
			step_stmt(g, s);
		rc = cu_store(g, s, false);
		break;
	case LIR_BARRIER: /* a barrier of the lir: one at block level */
		if (g->level == LV_BLOCK && !one_thread(g))
			barrier(g);
		break;
	default:
		rc = cg_emit_stmt_base(e, s);
		break;
	}
	g->level = level;
	return rc;
}

static const cg_emit_hooks cu_hooks = {
	.what = "cuda code generation",
	.alloca_align = CU_SHARED_ALIGN,
	.stmt = cu_stmt,
	.exp_log = cu_exp_log,
	.flow = cu_flow,
	.flow_join = cu_flow_join,
	.flow_size = sizeof(acc),
};

/* ---- kernels ---- */

static void annotate(cg_emit *e, LLVMValueRef fn, const char *key, int value)
{
	LLVMMetadataRef md[3] = {LLVMValueAsMetadata(fn), LLVMMDStringInContext2(e->C, key, strlen(key)),
				 LLVMValueAsMetadata(LLVMConstInt(e->i32, (unsigned)value, 0))};

	LLVMAddNamedMetadataOperand(e->M, "nvvm.annotations",
				    LLVMMetadataAsValue(e->C, LLVMMDNodeInContext2(e->C, md, 3)));
}

/* Is buffer b stored anywhere in s? */
static bool stores_buf(const lir_stmt *s, int b)
{
	if (!s)
		return false;
	switch (s->kind) {
	case LIR_FOR: return stores_buf(s->u.loop.body, b);
	case LIR_IF: return stores_buf(s->u.cond.then_s, b) || stores_buf(s->u.cond.else_s, b);
	case LIR_LET: return stores_buf(s->u.let.body, b);
	case LIR_ALLOC: return stores_buf(s->u.alloc.body, b);
	case LIR_STORE: return s->u.store.buf == b;
	case LIR_SEQ:
		for (int i = 0; i < s->u.seq.n; i++)
			if (stores_buf(s->u.seq.s[i], b))
				return true;
		return false;
	default: return false;
	}
}

/* The hardware indices, read once at the kernel's entry. */
static void read_indices(cu *g)
{
	static const char *const names[2][3] = {
		{"llvm.nvvm.read.ptx.sreg.tid.x", "llvm.nvvm.read.ptx.sreg.tid.y", "llvm.nvvm.read.ptx.sreg.tid.z"},
		{"llvm.nvvm.read.ptx.sreg.ctaid.x", "llvm.nvvm.read.ptx.sreg.ctaid.y",
		 "llvm.nvvm.read.ptx.sreg.ctaid.z"}};
	cg_emit *e = &g->e;

	for (int d = 0; d < 3; d++) {
		if (g->emu) {
			LLVMValueRef t = LLVMBuildStructGEP2(e->B, g->ctx_ty, g->ctx, 0, "");
			LLVMValueRef c = LLVMBuildStructGEP2(e->B, g->ctx_ty, g->ctx, 1, "");
			LLVMValueRef dim = LLVMConstInt(e->i32, (unsigned)d, 0);

			g->tid[d] = LLVMBuildLoad2(e->B, e->i32, LLVMBuildGEP2(e->B, e->i32, t, &dim, 1, ""), "tid");
			g->ctaid[d] = LLVMBuildLoad2(e->B, e->i32, LLVMBuildGEP2(e->B, e->i32, c, &dim, 1, ""), "ctaid");
		} else {
			g->tid[d] = g->K->block[d] > 1 ? cg_emit_intrinsic(e, names[0][d], NULL, 0, NULL, 0)
						       : LLVMConstInt(e->i32, 0, 0);
			g->ctaid[d] = g->K->grid[d] > 1 ? cg_emit_intrinsic(e, names[1][d], NULL, 0, NULL, 0)
							: LLVMConstInt(e->i32, 0, 0);
		}
	}
}

/* The host-level lets and ifs above the unit from prefix *i on, then the unit. */
static int prefix(cg_emit *e, const void *user)
{
	cu *g = cu_of(e);
	int i = *(const int *)user, next = i + 1, rc;
	const lir_stmt *s;
	LLVMValueRef x;
	LLVMBasicBlockRef join;

	if (i == g->K->nprefix)
		return cg_emit_stmt(e, g->K->unit);
	s = g->K->prefix[i];
	if (s->kind == LIR_LET)
		return cg_emit_let_then(e, s, prefix, &next);
	if (!(x = cg_emit_expr(e, s->u.cond.cond).v))
		return -1;
	join = cg_emit_open_if(e, x, "host.if");
	rc = prefix(e, &next);
	cg_emit_close_if(e, join);
	return rc;
}

/* Kernel index's parameters: the function's (noalias readonly when never
 * stored), then the temps, as device pointers of known alignment. */
static void kernel_params(cu *g, int first)
{
	cg_emit *e = &g->e;
	const plan *P = g->P;
	int np = lir_func_nparams(P->f);

	for (int i = 0; i < np; i++) {
		int b = lir_func_param(P->f, i);

		if (!stores_buf(lir_func_body(P->f), b)) {
			cg_emit_attr(e, e->fn, (unsigned)(first + i + 1), "noalias", 0);
			cg_emit_attr(e, e->fn, (unsigned)(first + i + 1), "readonly", 0);
		}
		e->buf[b] = LLVMGetParam(e->fn, (unsigned)(first + i));
		e->buf_align[b] = CU_PARAM_ALIGN;
	}
	for (int i = 0; i < P->ntemps; i++) {
		e->buf[P->temp_buf[i]] = LLVMGetParam(e->fn, (unsigned)(first + np + i));
		e->buf_align[P->temp_buf[i]] = 256;
	}
}

/* void NAME_kI(params..., temps...) [emulator: (ctx, params..., temps...)] */
static int kernel(cu *g, int index)
{
	cg_emit *e = &g->e;
	const plan *P = g->P;
	int nargs = lir_func_nparams(P->f) + P->ntemps, first = g->emu ? 1 : 0, start = 0;
	LLVMTypeRef *pt = calloc((size_t)nargs + 2, sizeof(LLVMTypeRef));
	char name[160];
	int rc;

	if (!pt)
		return cg_emit_fail(e, "out of memory", NULL);
	if (g->emu)
		pt[0] = e->ptr;
	for (int i = 0; i < nargs; i++)
		pt[first + i] = g->gptr;
	snprintf(name, sizeof(name), "%s_k%d", lir_func_name(P->f), index);
	e->fn = LLVMAddFunction(e->M, name, LLVMFunctionType(e->vd, pt, (unsigned)(nargs + first), 0));
	free(pt);
	g->K = &P->k[index];
	cg_emit_attr(e, e->fn, LLVMAttributeFunctionIndex, "nounwind", 0);
	kernel_params(g, first);
	if (g->emu) {
		g->ctx = LLVMGetParam(e->fn, 0);
	} else {
		LLVMSetFunctionCallConv(e->fn, LLVMPTXKernelCallConv);
		annotate(e, e->fn, "kernel", 1);
		annotate(e, e->fn, "maxntidx", g->K->block[0]);
		annotate(e, e->fn, "maxntidy", g->K->block[1]);
		annotate(e, e->fn, "maxntidz", g->K->block[2]);
	}
	LLVMPositionBuilderAtEnd(e->B, LLVMAppendBasicBlockInContext(e->C, e->fn, "entry"));
	read_indices(g);
	g->level = LV_GRID;
	g->active = 0;
	memset(&g->pend, 0, sizeof(g->pend));
	e->ix = g->K->idx32 ? e->i32 : e->i64;
	rc = prefix(e, &start);
	LLVMBuildRetVoid(e->B);
	return rc;
}

/* NAME_packed(args) for the emulator: args[0] the kernel, args[1] the
 * context, then the buffers. */
static void emu_dispatch(cu *g)
{
	cg_emit *e = &g->e;
	const plan *P = g->P;
	int nargs = lir_func_nparams(P->f) + P->ntemps;
	char name[160];
	LLVMValueRef fn, *args = calloc((size_t)nargs + 2, sizeof(LLVMValueRef)), which, sw;
	LLVMBasicBlockRef done;

	snprintf(name, sizeof(name), "%s_packed", lir_func_name(P->f));
	fn = LLVMAddFunction(e->M, name, LLVMFunctionType(e->i32, &e->ptr, 1, 0));
	LLVMPositionBuilderAtEnd(e->B, LLVMAppendBasicBlockInContext(e->C, fn, "entry"));
	for (int i = 0; args && i < nargs + 2; i++)
		args[i] = LLVMBuildLoad2(e->B, e->ptr,
					 LLVMBuildGEP2(e->B, e->ptr, LLVMGetParam(fn, 0),
						       (LLVMValueRef[]){LLVMConstInt(e->i64, (unsigned)i, 0)}, 1, ""), "");
	if (!args) {
		LLVMBuildRet(e->B, LLVMConstInt(e->i32, 1, 0));
		return;
	}
	which = LLVMBuildPtrToInt(e->B, args[0], e->i64, "");
	done = LLVMAppendBasicBlockInContext(e->C, fn, "done");
	sw = LLVMBuildSwitch(e->B, which, done, (unsigned)P->nk);
	for (int i = 0; i < P->nk; i++) {
		LLVMBasicBlockRef bb = LLVMAppendBasicBlockInContext(e->C, fn, "kernel");
		LLVMValueRef k;

		snprintf(name, sizeof(name), "%s_k%d", lir_func_name(P->f), i);
		k = LLVMGetNamedFunction(e->M, name);
		LLVMAddCase(sw, LLVMConstInt(e->i64, (unsigned)i, 0), bb);
		LLVMPositionBuilderAtEnd(e->B, bb);
		LLVMBuildCall2(e->B, LLVMGlobalGetValueType(k), k, args + 1, (unsigned)nargs + 1, "");
		LLVMBuildBr(e->B, done);
	}
	LLVMPositionBuilderAtEnd(e->B, done);
	LLVMBuildRet(e->B, LLVMConstInt(e->i32, 0, 0));
	free(args);
}

/* Generate every kernel of plan P into module M. */
static int generate(const plan *P, LLVMContextRef C, LLVMModuleRef M, bool emu, rt_error *err)
{
	cu g = {0};
	LLVMTypeRef arr = LLVMArrayType2(LLVMInt32TypeInContext(C), 3);
	int rc = cg_emit_init(&g.e, &cu_hooks, P->f, C, M, err);

	g.P = P;
	g.emu = emu;
	g.gptr = emu ? g.e.ptr : LLVMPointerTypeInContext(C, 1);
	/* the emulator's context: tid[3], ctaid[3], ntid[3], nctaid[3], shared, barrier, barrier_arg */
	g.ctx_ty = LLVMStructTypeInContext(C, (LLVMTypeRef[]){arr, arr, arr, arr, g.e.ptr, g.e.ptr, g.e.ptr}, 7, 0);
	for (int i = 0; i < P->nk && !rc; i++)
		rc = kernel(&g, i);
	if (!rc && emu)
		emu_dispatch(&g);
	rc = rc || cg_emit_failed(&g.e) ? -1 : 0;
	cg_emit_release(&g.e);
	return rc;
}

/* ---- NVPTX: target machine, passes, PTX ---- */

static once_flag nvptx_once = ONCE_FLAG_INIT;

static void nvptx_init(void)
{
	LLVMInitializeNVPTXTargetInfo();
	LLVMInitializeNVPTXTarget();
	LLVMInitializeNVPTXTargetMC();
	LLVMInitializeNVPTXAsmPrinter();
}

static LLVMTargetMachineRef nvptx_machine(const cg_target *t, rt_error *err)
{
	static const char triple[] = "nvptx64-nvidia-cuda";
	char *msg = NULL, cpu[16];
	LLVMTargetRef target;
	LLVMTargetMachineRef tm;

	call_once(&nvptx_once, nvptx_init);
	if (LLVMGetTargetFromTriple(triple, &target, &msg)) {
		rt_error_set(err, 0, 0, "LLVM has no NVPTX target (%s): %s", triple, msg ? msg : "");
		LLVMDisposeMessage(msg);
		return NULL;
	}
	snprintf(cpu, sizeof(cpu), "sm_%d", t->sm ? t->sm : 80);
	tm = LLVMCreateTargetMachine(target, triple, cpu, "", LLVMCodeGenLevelAggressive, LLVMRelocDefault,
				     LLVMCodeModelDefault);
	if (!tm)
		rt_error_set(err, 0, 0, "LLVM cannot make an NVPTX target machine for %s", cpu);
	return tm;
}

static int verify_and_optimize(LLVMModuleRef M, LLVMTargetMachineRef tm, rt_error *err)
{
	char *msg = NULL;
	LLVMPassBuilderOptionsRef o;
	LLVMErrorRef e;

	if (LLVMVerifyModule(M, LLVMReturnStatusAction, &msg)) {
		rt_error_set(err, 0, 0, "cuda code generation produced invalid LLVM IR: %.400s", msg ? msg : "");
		LLVMDisposeMessage(msg);
		return -1;
	}
	LLVMDisposeMessage(msg);
	o = LLVMCreatePassBuilderOptions();
	LLVMPassBuilderOptionsSetLoopUnrolling(o, 1);
	LLVMPassBuilderOptionsSetSLPVectorization(o, 1);
	e = LLVMRunPasses(M, "default<O3>", tm, o);
	LLVMDisposePassBuilderOptions(o);
	return e ? cg_llvm_error(e, "LLVM optimization", err) : 0;
}

static void set_layout(LLVMModuleRef M, LLVMTargetMachineRef tm)
{
	char *triple = LLVMGetTargetMachineTriple(tm);
	LLVMTargetDataRef td = LLVMCreateTargetDataLayout(tm);

	LLVMSetTarget(M, triple);
	LLVMSetModuleDataLayout(M, td);
	LLVMDisposeTargetData(td);
	LLVMDisposeMessage(triple);
}

static char *emit_ptx(LLVMModuleRef M, LLVMTargetMachineRef tm, rt_error *err)
{
	LLVMMemoryBufferRef mb = NULL;
	char *msg = NULL, *ptx;
	size_t n;

	if (LLVMTargetMachineEmitToMemoryBuffer(tm, M, LLVMAssemblyFile, &msg, &mb)) {
		rt_error_set(err, 0, 0, "LLVM cannot emit PTX: %s", msg ? msg : "");
		LLVMDisposeMessage(msg);
		return NULL;
	}
	n = LLVMGetBufferSize(mb);
	if ((ptx = malloc(n + 1))) {
		memcpy(ptx, LLVMGetBufferStart(mb), n);
		ptx[n] = '\0';
	} else {
		rt_error_set(err, 0, 0, "out of memory");
	}
	LLVMDisposeMemoryBuffer(mb);
	return ptx;
}

cg_cuda_prog *cg_cuda_compile(const lir_func *f, const cg_target *t, rt_error *err)
{
	plan P;
	cg_cuda_prog *p = NULL;
	LLVMContextRef C = NULL;
	LLVMModuleRef M = NULL;
	LLVMTargetMachineRef tm = NULL;
	char *ptx = NULL;

	if (cu_plan_build(&P, f, t, err) || !(tm = nvptx_machine(t, err)))
		goto out;
	C = LLVMContextCreate();
	M = LLVMModuleCreateWithNameInContext(lir_func_name(f), C);
	set_layout(M, tm);
	if (generate(&P, C, M, false, err) || verify_and_optimize(M, tm, err) || !(ptx = emit_ptx(M, tm, err)))
		goto out;
	if (!(p = cu_plan_prog(&P))) {
		rt_error_set(err, 0, 0, "out of memory");
		goto out;
	}
	p->ptx = ptx;
	ptx = NULL;
out:
	free(ptx);
	if (M)
		LLVMDisposeModule(M);
	if (C)
		LLVMContextDispose(C);
	if (tm)
		LLVMDisposeTargetMachine(tm);
	cu_plan_release(&P);
	return p;
}

/* ---- the emulator ---- */

cg_module *cg_cuda_compile_emu(const lir_func *f, const cg_target *t, cg_cuda_prog **plan_out, rt_error *err)
{
	plan P;
	cg_module *m = NULL;
	LLVMTargetMachineRef tm = NULL;

	*plan_out = NULL;
	if (cu_plan_build(&P, f, t, err))
		goto fail;
	if (!(m = calloc(1, sizeof(*m)))) {
		rt_error_set(err, 0, 0, "out of memory");
		goto fail;
	}
	m->target = *t;
	m->target.kind = CG_TARGET_CPU;
	m->target.threads = 1;
	snprintf(m->name, sizeof(m->name), "%s", lir_func_name(f));
	m->tsc = LLVMOrcCreateNewThreadSafeContext();
	m->ctx = LLVMOrcThreadSafeContextGetContext(m->tsc);
	m->mod = LLVMModuleCreateWithNameInContext(lir_func_name(f), m->ctx);
	if (!(tm = cg_target_machine(&m->target, err)))
		goto fail;
	set_layout(m->mod, tm);
	if (generate(&P, m->ctx, m->mod, true, err) || verify_and_optimize(m->mod, tm, err))
		goto fail;
	if (!(*plan_out = cu_plan_prog(&P))) {
		rt_error_set(err, 0, 0, "out of memory");
		goto fail;
	}
	LLVMDisposeTargetMachine(tm);
	cu_plan_release(&P);
	return m;
fail:
	if (tm)
		LLVMDisposeTargetMachine(tm);
	cu_plan_release(&P);
	return cg_module_free(m);
}

int cg_cuda_emu_run(cg_packed_fn entry, const cg_cuda_prog *p, void *const *args, double timeout, rt_error *err)
{
	int nargs = p->nparams + p->ntemps + 2;
	void **a = calloc((size_t)nargs, sizeof(void *));
	int rc = 0;

	if (!a)
		return rt_error_set(err, 0, 0, "emulator: out of memory");
	memcpy(a + 2, args, sizeof(void *) * (size_t)(nargs - 2));
	for (int i = 0; i < p->nkernels && !rc; i++) {
		const cg_cuda_kernel *k = &p->kernels[i];

		a[0] = (void *)(intptr_t)i;
		rc = rt_cuda_emu_launch(entry, a, nargs, k->grid, k->block, k->shared_bytes, timeout, k->name, err);
	}
	free(a);
	return rc;
}
