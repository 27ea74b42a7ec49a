/*
 * cg_cpu: the CPU back end's hooks for the shared emitter (cg_emit.h) and
 * its target setup: lir -> LLVM IR for the host CPU.
 *
 * The emitter does expressions, lets, ifs, counted and unrolled loops and
 * stores; the hooks here add what only the CPU does: a vectorized loop
 * with a constant trip count becomes one pass of explicit vector
 * operations (taken back for a scalar loop when the lanes cannot run in
 * lockstep); a parallel loop is outlined into a function that
 * ftc_rt_parallel_for calls with its captured values in an array; heap
 * buffers come from ftc_rt_alloc, a failure setting the kernel's result;
 * a stack buffer around a partial tile, and a partial tile's loop that
 * the schedule vectorized or unrolled, are emitted twice (full and partial
 * tiles).  Kernels are `int NAME(T *P0, ...)` and `int NAME_packed(void
 * **args)`.
 */
#include <llvm-c/Analysis.h>
#include <llvm-c/Transforms/PassBuilder.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cg_emit.h"
#include "cg_math.h"

#define CG_MAX_SPLITS 3     /* nested full/partial tile versions of a buffer */
#define CG_ALLOC_ALIGN 64   /* ftc_rt_alloc's and the stack buffers' alignment */

/* The CPU's emitter: the shared state first. */
typedef struct cpu {
	cg_emit e;
	const cg_target *t;
	LLVMValueRef fail;     /* i32* flag set when a heap allocation fails */
	int nsplit;            /* tile versions around the current point */
	bool in_parallel;
	int noutlined;
} cpu;

static cpu *cpu_of(cg_emit *g)
{
	return (cpu *)g;
}

static int cpu_stmt(cg_emit *g, const lir_stmt *s);

/* exp and log in IR (cg_math), not llvm.exp/llvm.log: on vectors those
 * become one libm call per lane, which kept softmax's exp scalar. */
static LLVMValueRef cpu_exp_log(cg_emit *g, bool is_exp, lir_type t, LLVMValueRef a)
{
	(void)t;
	return cg_math_exp_log(g, is_exp, a);
}

static const cg_emit_hooks cpu_hooks = {
	.what = "code generation",
	.alloca_align = CG_ALLOC_ALIGN,
	.stmt = cpu_stmt,
	.exp_log = cpu_exp_log,
};

/* ---- vector loops ---- */

/* Can this statement run with one vector lane per iteration of the loop? */
static bool vectorizable(const lir_stmt *s)
{
	switch (s->kind) {
	case LIR_STORE: case LIR_BARRIER:
		return true;
	case LIR_LET:
		return vectorizable(s->u.let.body);
	case LIR_SEQ:
		for (int i = 0; i < s->u.seq.n; i++)
			if (!vectorizable(s->u.seq.s[i]))
				return false;
		return true;
	case LIR_FOR:
		return s->u.loop.kind != LIR_PARALLEL && s->u.loop.kind != LIR_VECTORIZED &&
		       vectorizable(s->u.loop.body);
	default:
		return false;
	}
}

/* The vectorized loop: its variable is the vector <lo, lo+1, ...>. */
static int vector_loop(cg_emit *g, const lir_stmt *s, int64_t lo, int64_t n)
{
	LLVMValueRef lanes[CG_MAX_VL];
	int v = s->u.loop.var, rc, old_var = g->vec_var, old_vl = g->vl, tz = g->tz[v];
	cg_val saved = g->var[v];
	cg_range saved_rng = g->rng[v];

	for (int i = 0; i < n; i++)
		lanes[i] = cg_emit_c64(g, lo + i);
	g->rng[v] = (cg_range){lo, lo + n - 1, true}; /* every lane's value */
	g->vec_var = v;
	g->vl = (int)n;
	g->var[v] = (cg_val){LLVMConstVector(lanes, (unsigned)n), true};
	g->var0[v] = cg_emit_c64(g, lo);
	g->tz[v] = 0; /* lanes lo, lo + 1, ...: no alignment beyond the element's */
	g->tz0[v] = lo == 0 ? 64 : __builtin_ctzll((unsigned long long)lo);
	rc = cg_emit_stmt(g, s->u.loop.body);
	g->var[v] = saved;
	g->rng[v] = saved_rng;
	g->tz[v] = tz;
	g->vec_var = old_var;
	g->vl = old_vl;
	return rc;
}

/* Where code generation stood: the insertion block, its last instruction
 * and the function's last block, so that what follows can be taken back. */
typedef struct cpu_mark {
	LLVMBasicBlockRef bb, last_bb;
	LLVMValueRef last;
} cpu_mark;

static cpu_mark mark_here(cg_emit *g)
{
	cpu_mark m;

	m.bb = LLVMGetInsertBlock(g->B);
	m.last = LLVMGetLastInstruction(m.bb);
	m.last_bb = LLVMGetLastBasicBlock(g->fn);
	return m;
}

/* Apply `fn` to every instruction made since m: those after m.last in
 * m.bb, then all of every block appended after m.last_bb. */
static void each_new_inst(const cpu_mark *m, void (*fn)(LLVMValueRef))
{
	LLVMValueRef i = m->last ? LLVMGetNextInstruction(m->last) : LLVMGetFirstInstruction(m->bb), next;

	for (; i; i = next) {
		next = LLVMGetNextInstruction(i);
		fn(i);
	}
	for (LLVMBasicBlockRef b = LLVMGetNextBasicBlock(m->last_bb); b; b = LLVMGetNextBasicBlock(b))
		for (i = LLVMGetFirstInstruction(b); i; i = next) {
			next = LLVMGetNextInstruction(i);
			fn(i);
		}
}

static void unuse(LLVMValueRef i)
{
	LLVMTypeRef t = LLVMTypeOf(i);

	if (LLVMGetTypeKind(t) != LLVMVoidTypeKind)
		LLVMReplaceAllUsesWith(i, LLVMGetPoison(t));
}

/* Take back everything generated since m (the new values lose their uses
 * first, so the order of erasure does not matter) and go on from m. */
static void rollback(cg_emit *g, const cpu_mark *m)
{
	LLVMBasicBlockRef b, next;

	each_new_inst(m, unuse);
	each_new_inst(m, LLVMInstructionEraseFromParent);
	for (b = LLVMGetNextBasicBlock(m->last_bb); b; b = next) {
		next = LLVMGetNextBasicBlock(b);
		LLVMDeleteBasicBlock(b);
	}
	LLVMPositionBuilderAtEnd(g->B, m->bb);
}

/*
 * Try the vectorized loop s (n lanes from lo) as explicit vector code.
 * Returns 0 when it was generated; 1 when it was taken back because the
 * body cannot run as lockstep lanes (a loop bound or condition that varies
 * across lanes, lanes sharing a private buffer: cg_emit_lanes_conflict):
 * the caller then emits a scalar loop, which is always correct and which
 * LLVM may still vectorize.
 */
static int try_vector(cg_emit *g, const lir_stmt *s, int64_t lo, int64_t n)
{
	cpu_mark m = mark_here(g);
	rt_error scratch, *outer = g->err;
	LLVMValueRef mask = g->mask;
	int rc;

	rt_error_clear(&scratch);
	g->err = &scratch;
	for (int b = 0; b < lir_func_nbuffers(g->f); b++) {
		g->lane_acc[b] = CG_ACC_NONE;
		g->lane_wrote[b] = false;
	}
	rc = vector_loop(g, s, lo, n);
	g->err = outer;
	g->mask = mask;
	if (rc == 0 && !scratch.set && !cg_emit_lanes_conflict(g))
		return 0;
	rollback(g, &m);
	return 1;
}

/* ---- buffers ---- */

static int cpu_alloc(cpu *c, const lir_stmt *s);

/*
 * Full and partial tiles, as two versions of statement s: `v < at` and
 * `v >= at`, each with v's range narrowed (a buffer's scope: each with a
 * buffer of its own).  Where a tile's loops have bounds like min(15, 55 -
 * 16 * q_o) + 1, the full tiles' version has constant trip counts and
 * conditions that fold, so LLVM keeps a cache_write's accumulators in
 * registers there; the partial tile's loops are constant too once every
 * variable of their bounds is split (at most CG_MAX_SPLITS deep).
 */
static int split_versions(cpu *c, const lir_stmt *s, int v, int64_t at)
{
	cg_emit *g = &c->e;
	cg_range saved = g->rng[v];
	LLVMBasicBlockRef lo = LLVMAppendBasicBlockInContext(g->C, g->fn, "tile.lo");
	LLVMBasicBlockRef hi = LLVMAppendBasicBlockInContext(g->C, g->fn, "tile.hi");
	LLVMBasicBlockRef join = LLVMAppendBasicBlockInContext(g->C, g->fn, "tile.end");
	int rc;

	LLVMBuildCondBr(g->B, LLVMBuildICmp(g->B, LLVMIntSLT, g->var[v].v, cg_emit_c64(g, at), ""), lo, hi);
	c->nsplit++;
	LLVMPositionBuilderAtEnd(g->B, lo);
	g->rng[v] = (cg_range){saved.lo, at - 1, true};
	rc = cg_emit_stmt(g, s);
	LLVMBuildBr(g->B, join);
	LLVMPositionBuilderAtEnd(g->B, hi);
	g->rng[v] = (cg_range){at, saved.hi, true};
	if (!rc)
		rc = cg_emit_stmt(g, s);
	LLVMBuildBr(g->B, join);
	LLVMPositionBuilderAtEnd(g->B, join);
	g->rng[v] = saved;
	c->nsplit--;
	return rc;
}

/* ftc_rt_alloc, declared once per module. */
static LLVMValueRef runtime_alloc(cg_emit *g, LLVMTypeRef aty)
{
	LLVMValueRef af = LLVMGetNamedFunction(g->M, "ftc_rt_alloc");

	if (!af) {
		/* zeroed, 64-byte aligned, a new object (runtime/rt_alloc.h) */
		af = LLVMAddFunction(g->M, "ftc_rt_alloc", aty);
		cg_emit_attr(g, af, LLVMAttributeReturnIndex, "noalias", 0);
		cg_emit_attr(g, af, LLVMAttributeReturnIndex, "align", CG_ALLOC_ALIGN);
	}
	return af;
}

/* A heap buffer: ftc_rt_alloc'd, freed after its scope; when the
 * allocation fails the scope is skipped and the kernel returns 1. */
static int heap_alloc(cpu *c, const lir_stmt *s)
{
	cg_emit *g = &c->e;
	const lir_buffer *b = lir_func_buffer(g->f, s->u.alloc.buf);
	LLVMTypeRef aty = LLVMFunctionType(g->ptr, &g->i64, 1, 0), fty = LLVMFunctionType(g->vd, &g->ptr, 1, 0);
	LLVMValueRef af = runtime_alloc(g, aty), ff = LLVMGetNamedFunction(g->M, "ftc_rt_free"), p;
	LLVMBasicBlockRef ok = LLVMAppendBasicBlockInContext(g->C, g->fn, "alloc.ok");
	LLVMBasicBlockRef bad = LLVMAppendBasicBlockInContext(g->C, g->fn, "alloc.fail");
	LLVMBasicBlockRef join = LLVMAppendBasicBlockInContext(g->C, g->fn, "alloc.end");
	int rc;

	if (!ff)
		ff = LLVMAddFunction(g->M, "ftc_rt_free", fty);
	p = LLVMBuildCall2(g->B, aty, af, (LLVMValueRef[]){cg_emit_c64(g, b->size * (int64_t)lir_type_size(b->type))},
			   1, b->name);
	LLVMBuildCondBr(g->B, LLVMBuildIsNull(g->B, p, ""), bad, ok);
	LLVMPositionBuilderAtEnd(g->B, bad);
	LLVMBuildStore(g->B, LLVMConstInt(g->i32, 1, 0), c->fail);
	LLVMBuildBr(g->B, join);
	LLVMPositionBuilderAtEnd(g->B, ok);
	rc = cg_emit_scoped_buffer(g, s, p, CG_ALLOC_ALIGN);
	LLVMBuildCall2(g->B, fty, ff, &p, 1, "");
	LLVMBuildBr(g->B, join);
	LLVMPositionBuilderAtEnd(g->B, join);
	return rc;
}

/* A buffer: on the heap, as full and partial tile versions, or on the stack. */
static int cpu_alloc(cpu *c, const lir_stmt *s)
{
	cg_emit *g = &c->e;
	const lir_buffer *b = lir_func_buffer(g->f, s->u.alloc.buf);
	int v;
	int64_t at;
	bool low_full;

	if (b->scope == LIR_HEAP)
		return heap_alloc(c, s);
	if (g->vec_var < 0 && c->nsplit < CG_MAX_SPLITS && cg_find_split(s->u.alloc.body, g->rng, &v, &at, &low_full) &&
	    g->var[v].v && !g->var[v].vec)
		return split_versions(c, s, v, at);
	return cg_emit_stmt_base(g, s);
}

/* ---- parallel loops ---- */

static void target_attrs(cpu *c, LLVMValueRef fn);

#define CG_MAX_CAPTURE 1024 /* values and buffers one parallel body captures */

enum { CAP_VAR, CAP_BUF, CAP_FAIL };

typedef struct capture {
	int n;
	struct { int kind; int id; } slot[CG_MAX_CAPTURE];
	LLVMTypeRef types[CG_MAX_CAPTURE + 3];   /* the body's parameters: captures, lo, first, end */
} capture;

/* Capture everything in scope: the fail flag, variables, buffers.
 * Returns 0, or -1 with the error set when that is more than
 * CG_MAX_CAPTURE values. */
static int capture_scope(cpu *c, capture *cap)
{
	cg_emit *g = &c->e;
	int need = 1;

	for (int i = 0; i < lir_func_nvars(g->f); i++)
		need += g->var[i].v != NULL;
	for (int i = 0; i < lir_func_nbuffers(g->f); i++)
		need += g->buf[i] != NULL;
	if (need > CG_MAX_CAPTURE)
		return rt_error_set(g->err, 0, 0, "code generation: a parallel loop would capture %d variables and "
				    "buffers; at most %d can be passed to its body", need - 1, CG_MAX_CAPTURE - 1);
	cap->n = 0;
	cap->slot[cap->n].kind = CAP_FAIL;
	cap->slot[cap->n++].id = 0;
	for (int i = 0; i < lir_func_nvars(g->f); i++)
		if (g->var[i].v) {
			cap->slot[cap->n].kind = CAP_VAR;
			cap->slot[cap->n++].id = i;
		}
	for (int i = 0; i < lir_func_nbuffers(g->f); i++)
		if (g->buf[i]) {
			cap->slot[cap->n].kind = CAP_BUF;
			cap->slot[cap->n++].id = i;
		}
	return 0;
}

/* Value -> i64 slot and back. */
static LLVMValueRef to_slot(cg_emit *g, LLVMValueRef v)
{
	LLVMTypeRef t = LLVMTypeOf(v);

	if (t == g->ptr)
		return LLVMBuildPtrToInt(g->B, v, g->i64, "");
	if (t == g->f64)
		return LLVMBuildBitCast(g->B, v, g->i64, "");
	if (t == g->f32)
		return LLVMBuildZExt(g->B, LLVMBuildBitCast(g->B, v, g->i32, ""), g->i64, "");
	if (t == g->i64)
		return v;
	return LLVMBuildZExt(g->B, v, g->i64, "");
}

static LLVMValueRef from_slot(cg_emit *g, LLVMValueRef v, LLVMTypeRef t)
{
	if (t == g->ptr)
		return LLVMBuildIntToPtr(g->B, v, g->ptr, "");
	if (t == g->f64)
		return LLVMBuildBitCast(g->B, v, g->f64, "");
	if (t == g->f32)
		return LLVMBuildBitCast(g->B, LLVMBuildTrunc(g->B, v, g->i32, ""), g->f32, "");
	if (t == g->i64)
		return v;
	return LLVMBuildTrunc(g->B, v, t, "");
}

/* The caller's side: the captured values stored in an i64 array of
 * cap->n + 1 slots (the last is the loop's first value, stored later). */
static LLVMValueRef pack(cpu *c, capture *cap)
{
	cg_emit *g = &c->e;
	LLVMValueRef ctx = cg_emit_entry_alloca(g, LLVMArrayType2(g->i64, (uint64_t)cap->n + 1), CG_ALLOC_ALIGN);

	for (int i = 0; i < cap->n; i++) {
		LLVMValueRef v = cap->slot[i].kind == CAP_VAR ? g->var[cap->slot[i].id].v
				 : cap->slot[i].kind == CAP_BUF ? g->buf[cap->slot[i].id] : c->fail;
		LLVMValueRef p = LLVMBuildGEP2(g->B, g->i64, ctx, (LLVMValueRef[]){cg_emit_c64(g, i)}, 1, "");

		cap->types[i] = LLVMTypeOf(v);
		LLVMBuildStore(g->B, to_slot(g, v), p);
	}
	cap->types[cap->n] = cap->types[cap->n + 1] = cap->types[cap->n + 2] = g->i64;
	return ctx;
}

static LLVMValueRef internal_function(cpu *c, const char *name, LLVMTypeRef ty)
{
	LLVMValueRef fn = LLVMAddFunction(c->e.M, name, ty);

	LLVMSetLinkage(fn, LLVMInternalLinkage);
	target_attrs(c, fn);
	cg_emit_attr(&c->e, fn, LLVMAttributeFunctionIndex, "nounwind", 0);
	return fn;
}

/*
 * The body of an outlined parallel loop, NAME_body(captures..., lo0, lo,
 * hi): captured buffers arrive as parameters marked noalias (distinct
 * buffers; iterations of a parallel loop touch disjoint elements), so LLVM
 * keeps the alias facts the kernel's own parameters have; buffers ftc
 * allocates are also known 64-byte aligned.
 */
static LLVMValueRef par_inner(cpu *c, const capture *cap, const char *outer)
{
	cg_emit *g = &c->e;
	char name[300];
	LLVMValueRef fn;

	snprintf(name, sizeof(name), "%s_body", outer);
	fn = internal_function(c, name, LLVMFunctionType(g->vd, (LLVMTypeRef *)cap->types, (unsigned)cap->n + 3, 0));
	for (int i = 0; i < cap->n; i++) {
		if (cap->slot[i].kind != CAP_BUF)
			continue;
		cg_emit_attr(g, fn, (unsigned)i + 1, "noalias", 0);
		if (lir_func_buffer(g->f, cap->slot[i].id)->scope != LIR_GLOBAL)
			cg_emit_attr(g, fn, (unsigned)i + 1, "align", CG_ALLOC_ALIGN);
	}
	return fn;
}

/* NAME_parK(ctx, lo, hi), what ftc_rt_parallel_for calls: unpacks the
 * captures and calls the body `inner`. */
static LLVMValueRef par_wrapper(cpu *c, const capture *cap, const char *name, LLVMValueRef inner)
{
	cg_emit *g = &c->e;
	LLVMValueRef fn = internal_function(c, name, LLVMFunctionType(g->vd, (LLVMTypeRef[]){g->ptr, g->i64, g->i64}, 3, 0));
	LLVMValueRef vals[CG_MAX_CAPTURE + 3];

	LLVMPositionBuilderAtEnd(g->B, LLVMAppendBasicBlockInContext(g->C, fn, "entry"));
	for (int i = 0; i <= cap->n; i++) {
		LLVMValueRef p = LLVMBuildGEP2(g->B, g->i64, LLVMGetParam(fn, 0), (LLVMValueRef[]){cg_emit_c64(g, i)}, 1, "");

		vals[i] = from_slot(g, LLVMBuildLoad2(g->B, g->i64, p, ""), cap->types[i]);
	}
	vals[cap->n + 1] = LLVMGetParam(fn, 1);
	vals[cap->n + 2] = LLVMGetParam(fn, 2);
	LLVMBuildCall2(g->B, LLVMGlobalGetValueType(inner), inner, vals, (unsigned)cap->n + 3, "");
	LLVMBuildRetVoid(g->B);
	return fn;
}

typedef struct par_body {
	const lir_stmt *s;
	LLVMValueRef lo;
} par_body;

/* The body of one iteration i of the outlined loop: v = lo + i * step. */
static int par_iter(cg_emit *g, const void *u)
{
	const par_body *p = u;
	int var = p->s->u.loop.var;
	LLVMValueRef i = g->var[var].v;

	g->var[var].v = LLVMBuildAdd(g->B, p->lo, LLVMBuildMul(g->B, i, cg_emit_c64(g, p->s->u.loop.step), ""), "");
	return cg_emit_stmt(g, p->s->u.loop.body);
}

/* The body function's code: only the captures in scope, then the loop
 * over [first, end) of the iterations. */
static int par_body_code(cpu *c, const capture *cap, LLVMValueRef inner, const lir_stmt *s)
{
	cg_emit *g = &c->e;
	par_body pb = {s, LLVMGetParam(inner, (unsigned)cap->n)};
	int rc;

	g->fn = inner;
	LLVMPositionBuilderAtEnd(g->B, LLVMAppendBasicBlockInContext(g->C, inner, "entry"));
	memset(g->var, 0, (size_t)lir_func_nvars(g->f) * sizeof(cg_val));
	memset(g->buf, 0, (size_t)lir_func_nbuffers(g->f) * sizeof(LLVMValueRef));
	for (int i = 0; i < cap->n; i++) {
		LLVMValueRef v = LLVMGetParam(inner, (unsigned)i);

		if (cap->slot[i].kind == CAP_VAR)
			g->var[cap->slot[i].id] = (cg_val){v, false};
		else if (cap->slot[i].kind == CAP_BUF)
			g->buf[cap->slot[i].id] = v;
		else
			c->fail = v;
	}
	c->in_parallel = true;
	rc = cg_emit_counted_loop(g, s->u.loop.var, LLVMGetParam(inner, (unsigned)cap->n + 1),
				  LLVMGetParam(inner, (unsigned)cap->n + 2), cg_emit_c64(g, 1), par_iter, &pb);
	LLVMBuildRetVoid(g->B);
	c->in_parallel = false;
	return rc;
}

/* ftc_rt_parallel_for(n, fn, ctx, threads) for n = ceil((hi - lo) / step). */
static void par_call(cpu *c, const lir_stmt *s, LLVMValueRef fn, LLVMValueRef ctx, int nslot, cg_val lo,
		     cg_val hi)
{
	cg_emit *g = &c->e;
	LLVMTypeRef pty = LLVMFunctionType(g->i32, (LLVMTypeRef[]){g->i64, g->ptr, g->ptr, g->i32}, 4, 0);
	LLVMValueRef pf = LLVMGetNamedFunction(g->M, "ftc_rt_parallel_for"), n;

	if (!pf)
		pf = LLVMAddFunction(g->M, "ftc_rt_parallel_for", pty);
	LLVMBuildStore(g->B, lo.v, LLVMBuildGEP2(g->B, g->i64, ctx, (LLVMValueRef[]){cg_emit_c64(g, nslot)}, 1, ""));
	n = LLVMBuildSub(g->B, hi.v, lo.v, "");
	n = LLVMBuildSDiv(g->B, LLVMBuildAdd(g->B, n, cg_emit_c64(g, s->u.loop.step - 1), ""),
			  cg_emit_c64(g, s->u.loop.step), "");
	LLVMBuildCall2(g->B, pty, pf,
		       (LLVMValueRef[]){n, fn, ctx, LLVMConstInt(g->i32, (unsigned)c->t->threads, 0)}, 4, "");
}

/* Parallel loop s, outlined: its scope packed, a wrapper and a body
 * function, the call to the runtime's pool. */
static int outline(cpu *c, const lir_stmt *s)
{
	cg_emit *g = &c->e;
	cg_val lo = cg_emit_expr(g, s->u.loop.lo), hi = cg_emit_expr(g, s->u.loop.hi);
	capture *cap = calloc(1, sizeof(*cap));
	int nv = lir_func_nvars(g->f), nb = lir_func_nbuffers(g->f), rc = -1;
	cg_val *saved_var = malloc(((size_t)nv + 1) * sizeof(cg_val));
	LLVMValueRef *saved_buf = malloc(((size_t)nb + 1) * sizeof(LLVMValueRef));
	LLVMValueRef ctx, inner, wrapper, old_fn = g->fn, old_fail = c->fail;
	LLVMBasicBlockRef resume = LLVMGetInsertBlock(g->B);
	char name[256];

	if (!cap || !saved_var || !saved_buf || !lo.v || !hi.v) {
		cg_emit_fail(g, "out of memory or bad bounds in a parallel loop", NULL);
		goto out;
	}
	memcpy(saved_var, g->var, (size_t)nv * sizeof(cg_val));
	memcpy(saved_buf, g->buf, (size_t)nb * sizeof(LLVMValueRef));
	if (capture_scope(c, cap))
		goto out;
	ctx = pack(c, cap);
	snprintf(name, sizeof(name), "%s_par%d", lir_func_name(g->f), c->noutlined++);
	inner = par_inner(c, cap, name);
	wrapper = par_wrapper(c, cap, name, inner);
	rc = par_body_code(c, cap, inner, s);
	g->fn = old_fn;
	c->fail = old_fail;
	memcpy(g->var, saved_var, (size_t)nv * sizeof(cg_val));
	memcpy(g->buf, saved_buf, (size_t)nb * sizeof(LLVMValueRef));
	LLVMPositionBuilderAtEnd(g->B, resume);
	par_call(c, s, wrapper, ctx, cap->n, lo, hi);
out:
	free(saved_var);
	free(saved_buf);
	free(cap);
	return rc;
}

/* ---- the hooks ---- */

/*
 * A partial tile's loop (lir.h, loop.tail) whose own bound is min(c, e)
 * over an outer variable: versions on that variable, so that its trip
 * count is constant in each, where no buffer's versions did it already.
 */
static bool tail_split(cpu *c, const lir_stmt *s, int *v, int64_t *at)
{
	cg_emit *g = &c->e;
	int64_t lo, n;
	bool low_full;

	return s->u.loop.kind == LIR_SERIAL && s->u.loop.tail != LIR_SERIAL && g->vec_var < 0 &&
	       c->nsplit < CG_MAX_SPLITS && !cg_emit_const_trip(g, s, &lo, &n) &&
	       cg_find_bound_split(s, g->rng, v, at, &low_full) && g->var[*v].v && !g->var[*v].vec;
}

static int cpu_loop(cpu *c, const lir_stmt *s)
{
	cg_emit *g = &c->e;
	int64_t lo, n, at;
	int v;

	if (cg_emit_loop_kind(s) == LIR_VECTORIZED && g->vec_var < 0 && cg_emit_const_trip(g, s, &lo, &n) &&
	    s->u.loop.step == 1 && n >= 2 && n <= CG_MAX_VL && vectorizable(s->u.loop.body) &&
	    try_vector(g, s, lo, n) == 0)
		return 0;
	if (s->u.loop.kind == LIR_PARALLEL && !c->in_parallel && g->vec_var < 0)
		return outline(c, s);
	if (tail_split(c, s, &v, &at))
		return split_versions(c, s, v, at);
	return cg_emit_stmt_base(g, s);
}

static int cpu_stmt(cg_emit *g, const lir_stmt *s)
{
	cpu *c = cpu_of(g);

	switch (s->kind) {
	case LIR_FOR:
		return cpu_loop(c, s);
	case LIR_ALLOC:
		return cpu_alloc(c, s);
	default:
		return cg_emit_stmt_base(g, s);
	}
}

/* ---- functions ---- */

static void target_attrs(cpu *c, LLVMValueRef fn)
{
	const cg_target *t = c->t;
	LLVMContextRef C = c->e.C;
	char width[16];

	snprintf(width, sizeof(width), "%d", t->vector_bits);
	LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
				LLVMCreateStringAttribute(C, "target-cpu", 10, t->cpu, strlen(t->cpu)));
	LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
				LLVMCreateStringAttribute(C, "target-features", 15, t->features, strlen(t->features)));
	LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
				LLVMCreateStringAttribute(C, "prefer-vector-width", 19, width, strlen(width)));
}

/* The test-only fault hook: a crash or a hang at the kernel's entry. */
static void inject_fault(cpu *c)
{
	cg_emit *g = &c->e;
	LLVMValueRef st;

	if (c->t->fault == 1) {
		st = LLVMBuildStore(g->B, LLVMConstInt(g->i32, 1, 0), LLVMConstNull(g->ptr));
		LLVMSetVolatile(st, 1);
	} else if (c->t->fault == 2) {
		LLVMBasicBlockRef spin = LLVMAppendBasicBlockInContext(g->C, g->fn, "spin");

		LLVMBuildBr(g->B, spin);
		LLVMPositionBuilderAtEnd(g->B, spin);
		st = LLVMBuildStore(g->B, LLVMConstInt(g->i32, 0, 0), c->fail);
		LLVMSetVolatile(st, 1);
		LLVMBuildBr(g->B, spin);
		LLVMPositionBuilderAtEnd(g->B, LLVMAppendBasicBlockInContext(g->C, g->fn, "unreachable"));
	}
}

/* int NAME(T *P0, ...): parameters noalias, the result the fail flag. */
static LLVMValueRef kernel_function(cpu *c, LLVMTypeRef fty)
{
	cg_emit *g = &c->e;
	int np = lir_func_nparams(g->f);
	LLVMValueRef fn = LLVMAddFunction(g->M, lir_func_name(g->f), fty);

	target_attrs(c, fn);
	cg_emit_attr(g, fn, LLVMAttributeFunctionIndex, "nounwind", 0);
	for (int i = 0; i < np; i++) {
		cg_emit_attr(g, fn, (unsigned)i + 1, "noalias", 0);
		g->buf[lir_func_param(g->f, i)] = LLVMGetParam(fn, (unsigned)i);
	}
	g->fn = fn;
	LLVMPositionBuilderAtEnd(g->B, LLVMAppendBasicBlockInContext(g->C, fn, "entry"));
	c->fail = LLVMBuildAlloca(g->B, g->i32, "fail");
	LLVMBuildStore(g->B, LLVMConstInt(g->i32, 0, 0), c->fail);
	inject_fault(c);
	if (cg_emit_stmt(g, lir_func_body(g->f)))
		return NULL;
	LLVMBuildRet(g->B, LLVMBuildLoad2(g->B, g->i32, c->fail, ""));
	return fn;
}

/* int NAME_packed(void **args): NAME with its arguments from an array. */
static void packed_entry(cpu *c, LLVMValueRef fn, LLVMTypeRef fty, LLVMValueRef *args)
{
	cg_emit *g = &c->e;
	int np = lir_func_nparams(g->f);
	char name[160];
	LLVMValueRef packed;

	snprintf(name, sizeof(name), "%s_packed", lir_func_name(g->f));
	packed = LLVMAddFunction(g->M, name, LLVMFunctionType(g->i32, &g->ptr, 1, 0));
	target_attrs(c, packed);
	LLVMPositionBuilderAtEnd(g->B, LLVMAppendBasicBlockInContext(g->C, packed, "entry"));
	for (int i = 0; i < np; i++) {
		LLVMValueRef p = LLVMBuildGEP2(g->B, g->ptr, LLVMGetParam(packed, 0), (LLVMValueRef[]){cg_emit_c64(g, i)}, 1, "");

		args[i] = LLVMBuildLoad2(g->B, g->ptr, p, "");
	}
	LLVMBuildRet(g->B, LLVMBuildCall2(g->B, fty, fn, args, (unsigned)np, ""));
}

/* int NAME(T *P0, ...) and int NAME_packed(void **args). */
static int functions(cpu *c)
{
	cg_emit *g = &c->e;
	int np = lir_func_nparams(g->f), rc = -1;
	LLVMTypeRef *pt = calloc((size_t)np + 1, sizeof(LLVMTypeRef)), fty;
	LLVMValueRef *args = calloc((size_t)np + 1, sizeof(LLVMValueRef)), fn;

	if (!pt || !args)
		goto out;
	for (int i = 0; i < np; i++)
		pt[i] = g->ptr;
	fty = LLVMFunctionType(g->i32, pt, (unsigned)np, 0);
	if (!(fn = kernel_function(c, fty)))
		goto out;
	packed_entry(c, fn, fty, args);
	rc = 0;
out:
	free(pt);
	free(args);
	if (rc && !cg_emit_failed(g))
		cg_emit_fail(g, "out of memory", NULL);
	return rc;
}

static int optimize(cg_module *m, LLVMTargetMachineRef tm, rt_error *err)
{
	LLVMPassBuilderOptionsRef o = LLVMCreatePassBuilderOptions();
	LLVMErrorRef e;

	LLVMPassBuilderOptionsSetLoopVectorization(o, 1);
	LLVMPassBuilderOptionsSetSLPVectorization(o, 1);
	LLVMPassBuilderOptionsSetLoopUnrolling(o, 1);
	e = LLVMRunPasses(m->mod, "default<O3>", tm, o);
	LLVMDisposePassBuilderOptions(o);
	return e ? cg_llvm_error(e, "LLVM optimization", err) : 0;
}

/* A module for f in a context of its own, with the target's triple and
 * data layout.  NULL with err set. */
static cg_module *new_module(const lir_func *f, const cg_target *t, LLVMTargetMachineRef *tm, rt_error *err)
{
	cg_module *m = calloc(1, sizeof(*m));
	LLVMTargetDataRef td;
	char *triple;

	if (!m) {
		rt_error_set(err, 0, 0, "out of memory");
		return NULL;
	}
	m->target = *t;
	snprintf(m->name, sizeof(m->name), "%s", lir_func_name(f));
	m->tsc = LLVMOrcCreateNewThreadSafeContext();
	m->ctx = LLVMOrcThreadSafeContextGetContext(m->tsc);
	m->mod = LLVMModuleCreateWithNameInContext(lir_func_name(f), m->ctx);
	if (!(*tm = cg_target_machine(t, err)))
		return cg_module_free(m);
	triple = LLVMGetTargetMachineTriple(*tm);
	LLVMSetTarget(m->mod, triple);
	LLVMDisposeMessage(triple);
	td = LLVMCreateTargetDataLayout(*tm);
	LLVMSetModuleDataLayout(m->mod, td);
	LLVMDisposeTargetData(td);
	return m;
}

cg_module *cg_cpu_compile(const lir_func *f, const cg_target *t, rt_error *err)
{
	cg_module *m;
	cpu c = {0};
	LLVMTargetMachineRef tm = NULL;
	char *msg = NULL;

	if (t->kind != CG_TARGET_CPU) {
		rt_error_set(err, 0, 0, "the CPU code generator cannot compile for a %s target",
			     cg_target_kind_name(t->kind));
		return NULL;
	}
	if (!(m = new_module(f, t, &tm, err)))
		return NULL;
	c.t = t;
	if (cg_emit_init(&c.e, &cpu_hooks, f, m->ctx, m->mod, err) || functions(&c))
		goto fail;
	if (LLVMVerifyModule(m->mod, LLVMReturnStatusAction, &msg)) {
		rt_error_set(err, 0, 0, "code generation produced invalid LLVM IR: %.400s", msg ? msg : "");
		goto fail;
	}
	if (optimize(m, tm, err))
		goto fail;
	LLVMDisposeMessage(msg);
	LLVMDisposeTargetMachine(tm);
	cg_emit_release(&c.e);
	return m;
fail:
	LLVMDisposeMessage(msg);
	LLVMDisposeTargetMachine(tm);
	cg_emit_release(&c.e);
	return cg_module_free(m);
}

cg_module *cg_module_free(cg_module *m)
{
	if (!m)
		return NULL;
	if (m->mod)
		LLVMDisposeModule(m->mod);
	if (m->tsc)
		LLVMOrcDisposeThreadSafeContext(m->tsc);
	free(m);
	return NULL;
}

char *cg_module_print(const cg_module *m)
{
	char *s = LLVMPrintModuleToString(m->mod), *r = s ? strdup(s) : NULL;

	LLVMDisposeMessage(s);
	return r;
}
