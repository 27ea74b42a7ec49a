/*
 * cg_cpu: lir -> LLVM IR for the host CPU, through the LLVM C API.
 *
 * Loops become LLVM loops with an i64 induction variable; a vectorized
 * loop with a constant trip count becomes one pass of explicit vector
 * operations (contiguous loads and stores where the index moves by one per
 * lane, gathers and scatters otherwise, masked loads under a select); an
 * unrolled loop is expanded; a parallel loop is outlined into a function
 * that ftc_rt_parallel_for calls with its captured values in an array.
 * `select` evaluates only the chosen operand when an operand loads.
 */
#include <llvm-c/Analysis.h>
#include <llvm-c/Transforms/PassBuilder.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cg_priv.h"

#define CG_MAX_VL 64        /* widest explicit vector */
#define CG_MAX_UNROLL 64    /* longest loop expanded */
#define CG_MAX_SPLITS 2     /* nested full/partial tile versions of a buffer */

/* A value: scalar, or a vector of cg.vl lanes. */
typedef struct val {
	LLVMValueRef v;
	bool vec;
} val;

typedef struct cg {
	const lir_func *f;
	const cg_target *t;
	rt_error *err;
	LLVMContextRef C;
	LLVMModuleRef M;
	LLVMBuilderRef B;
	LLVMValueRef fn;       /* function being built */
	LLVMValueRef fail;     /* i32* flag set when a heap allocation fails */
	LLVMTypeRef i1, i32, i64, f32, f64, ptr, vd;
	val *var;              /* per lir variable */
	LLVMValueRef *var0;    /* vector mode: lane 0 of a vector variable */
	int *stride;           /* per variable in vector mode: lanes step (-1 unknown) */
	LLVMValueRef *buf;     /* per lir buffer: its pointer, NULL when not in scope */
	int vec_var;           /* the vectorized loop's variable, -1 in scalar mode */
	int vl;
	LLVMValueRef mask;     /* vector mode: lanes that execute (NULL = all) */
	int64_t *lane_acc;     /* vector mode, per buffer: the lane step of its
				* accesses (CG_ACC_NONE, CG_ACC_MIXED) */
	bool *lane_wrote;      /* vector mode, per buffer: stored to */
	cg_range *rng;         /* per variable: the values it takes here */
	int nsplit;            /* tile versions around the current point */
	bool in_parallel;
	int noutlined;
} cg;

#define CG_ACC_NONE INT64_MIN  /* not accessed in the vector body */
#define CG_ACC_MIXED (-2)      /* accessed with different lane steps */

static int cg_fail(cg *g, const char *what)
{
	return rt_error_set(g->err, 0, 0, "code generation: %s", what);
}

static LLVMTypeRef type_of(cg *g, lir_type t)
{
	switch (t) {
	case LIR_F32: return g->f32;
	case LIR_F64: return g->f64;
	case LIR_I32: return g->i32;
	case LIR_I64: return g->i64;
	default: return g->i1;
	}
}

static LLVMTypeRef vtype(cg *g, lir_type t)
{
	return LLVMVectorType(type_of(g, t), g->vl);
}

static LLVMValueRef c64(cg *g, int64_t v)
{
	return LLVMConstInt(g->i64, (unsigned long long)v, 1);
}

static LLVMValueRef splat(cg *g, val x)
{
	LLVMValueRef undef, ins, zeros;

	if (x.vec)
		return x.v;
	undef = LLVMGetUndef(LLVMVectorType(LLVMTypeOf(x.v), g->vl));
	ins = LLVMBuildInsertElement(g->B, undef, x.v, LLVMConstInt(g->i32, 0, 0), "");
	zeros = LLVMConstNull(LLVMVectorType(g->i32, g->vl));
	return LLVMBuildShuffleVector(g->B, ins, undef, zeros, "splat");
}

static LLVMValueRef intrinsic(cg *g, const char *name, LLVMTypeRef *tys, int ntys)
{
	unsigned id = LLVMLookupIntrinsicID(name, strlen(name));

	return id ? LLVMGetIntrinsicDeclaration(g->M, id, tys, ntys) : NULL;
}

static LLVMValueRef call_intrinsic(cg *g, const char *name, LLVMTypeRef *tys, int ntys,
				   LLVMValueRef *args, int nargs)
{
	LLVMValueRef fn = intrinsic(g, name, tys, ntys);
	unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
	LLVMTypeRef fty = LLVMIntrinsicGetType(g->C, id, tys, ntys);

	return LLVMBuildCall2(g->B, fty, fn, args, nargs, "");
}

/* Enum attribute `name` (with value v) on fn's return (0), function or
 * parameter index. */
static void int_attr(cg *g, LLVMValueRef fn, unsigned idx, const char *name, uint64_t v)
{
	unsigned kind = LLVMGetEnumAttributeKindForName(name, strlen(name));

	LLVMAddAttributeAtIndex(fn, idx, LLVMCreateEnumAttribute(g->C, kind, v));
}

static void set_attr(cg *g, LLVMValueRef fn, unsigned idx, const char *name)
{
	unsigned kind = LLVMGetEnumAttributeKindForName(name, strlen(name));

	LLVMAddAttributeAtIndex(fn, idx, LLVMCreateEnumAttribute(g->C, kind, 0));
}

/* ---- expressions ---- */

static val expr(cg *g, const lir_expr *e);

static bool has_load(const lir_expr *e)
{
	if (e->op == LIR_LOAD)
		return true;
	for (int i = 0; i < e->nargs; i++)
		if (has_load(e->args[i]))
			return true;
	return false;
}

static LLVMValueRef arith(cg *g, lir_op op, lir_type t, LLVMValueRef a, LLVMValueRef b);

/* How the value of an i64 index moves per lane of the vector loop: a
 * constant step, or -1 when it does not move linearly. */
static int64_t lane_step(cg *g, const lir_expr *e)
{
	int64_t a, b;

	switch (e->op) {
	case LIR_CONST:
		return 0;
	case LIR_VAR:
		return e->id == g->vec_var ? 1 : g->var[e->id].vec ? g->stride[e->id] : 0;
	case LIR_ADD: case LIR_SUB:
		a = lane_step(g, e->args[0]);
		b = lane_step(g, e->args[1]);
		return a < 0 || b < 0 ? -1 : e->op == LIR_ADD ? a + b : (a - b >= 0 ? a - b : -1);
	case LIR_MUL:
		a = lane_step(g, e->args[0]);
		b = lane_step(g, e->args[1]);
		if (a == 0 && b == 0)
			return 0;
		if (a >= 0 && b == 0 && e->args[1]->op == LIR_CONST && e->args[1]->c.i >= 0)
			return a * e->args[1]->c.i;
		if (b >= 0 && a == 0 && e->args[0]->op == LIR_CONST && e->args[0]->c.i >= 0)
			return b * e->args[0]->c.i;
		return -1;
	default:
		for (int i = 0; i < e->nargs; i++)
			if (lane_step(g, e->args[i]) != 0)
				return -1;
		return 0;
	}
}

/* The value of i64 index expression e in lane 0 of the vector loop, as a
 * scalar: contiguous accesses take their address from it directly. */
static LLVMValueRef lane0(cg *g, const lir_expr *e)
{
	LLVMValueRef a, b;

	switch (e->op) {
	case LIR_CONST:
		return LLVMConstInt(type_of(g, e->type), (unsigned long long)e->c.i, 1);
	case LIR_VAR:
		return g->var[e->id].vec ? g->var0[e->id] : g->var[e->id].v;
	case LIR_NEG:
		return (a = lane0(g, e->args[0])) ? LLVMBuildNeg(g->B, a, "") : NULL;
	case LIR_ADD: case LIR_SUB: case LIR_MUL: case LIR_DIV: case LIR_MOD: case LIR_MIN: case LIR_MAX:
		a = lane0(g, e->args[0]);
		b = lane0(g, e->args[1]);
		return a && b ? arith(g, e->op, e->args[0]->type, a, b) : NULL;
	default:
		return NULL;
	}
}

/*
 * Vector mode: note that buffer `buf` is accessed (`write`: stored to) at
 * an index whose lanes move by `step` (0: uniform, -1: not linearly).
 * Parameters are not tracked: lowering proved that a vectorized loop
 * carries no dependence through them.  Local buffers are named by their
 * tile in that proof, so lanes of one vector may share their storage; see
 * lanes_conflict.
 */
static void note_access(cg *g, int buf, int64_t step, bool write)
{
	int64_t *a = &g->lane_acc[buf];

	if (g->vec_var < 0 || lir_func_buffer(g->f, buf)->scope == LIR_GLOBAL)
		return;
	*a = *a == CG_ACC_NONE ? step : *a == step ? step : CG_ACC_MIXED;
	g->lane_wrote[buf] |= write;
}

/*
 * Whether the vector body just generated may let lanes see each other's
 * values in a local buffer: one written to at an index that is the same
 * in several lanes (uniform, not linear in the lane, or with mixed steps).
 * Such a buffer is private to each iteration of the loop (a tile at or
 * inside it, e.g. a cache_write accumulator) in the serial semantics of
 * lir, and lanes run in lockstep would overwrite one another.
 */
static bool lanes_conflict(const cg *g)
{
	for (int b = 0; b < lir_func_nbuffers(g->f); b++)
		if (g->lane_wrote[b] && g->lane_acc[b] < 1)
			return true;
	return false;
}

static LLVMValueRef elem_ptr(cg *g, int buf, LLVMValueRef idx, lir_type t)
{
	return LLVMBuildGEP2(g->B, type_of(g, t), g->buf[buf], &idx, 1, "");
}

static val load(cg *g, const lir_expr *e)
{
	const lir_buffer *b = lir_func_buffer(g->f, e->id);
	val idx = expr(g, e->args[0]);
	LLVMTypeRef et = type_of(g, b->type);
	unsigned align = (unsigned)lir_type_size(b->type);
	LLVMValueRef r;

	if (!idx.v || !g->buf[e->id]) {
		cg_fail(g, "load of a buffer out of scope");
		return (val){NULL, false};
	}
	note_access(g, e->id, idx.vec ? lane_step(g, e->args[0]) : 0, false);
	if (!idx.vec) {
		if (g->mask) {
			/* a uniform load under a lane mask: load if any lane is on */
			LLVMValueRef any = call_intrinsic(g, "llvm.vector.reduce.or", (LLVMTypeRef[]){LLVMTypeOf(g->mask)}, 1,
							  &g->mask, 1);
			LLVMValueRef p = elem_ptr(g, e->id, idx.v, b->type);
			LLVMValueRef safe = LLVMBuildSelect(g->B, any, p, g->buf[e->id], "");

			r = LLVMBuildLoad2(g->B, et, safe, "");
		} else {
			r = LLVMBuildLoad2(g->B, et, elem_ptr(g, e->id, idx.v, b->type), "");
		}
		LLVMSetAlignment(r, align);
		return (val){r, false};
	}
	if (lane_step(g, e->args[0]) == 1) {
		LLVMValueRef base = lane0(g, e->args[0]);
		LLVMValueRef p = elem_ptr(g, e->id, base, b->type);

		if (g->mask) {
			LLVMValueRef args[4] = {p, LLVMConstInt(g->i32, align, 0), g->mask,
						LLVMGetUndef(vtype(g, b->type))};
			LLVMTypeRef tys[2] = {vtype(g, b->type), g->ptr};

			return (val){call_intrinsic(g, "llvm.masked.load", tys, 2, args, 4), true};
		}
		r = LLVMBuildLoad2(g->B, vtype(g, b->type), p, "");
		LLVMSetAlignment(r, align);
		return (val){r, true};
	}
	{
		LLVMValueRef ptrs = LLVMBuildGEP2(g->B, et, g->buf[e->id], &idx.v, 1, "");
		LLVMValueRef mask = g->mask ? g->mask : LLVMConstAllOnes(LLVMVectorType(g->i1, g->vl));
		LLVMValueRef args[4] = {ptrs, LLVMConstInt(g->i32, align, 0), mask, LLVMGetUndef(vtype(g, b->type))};
		LLVMTypeRef tys[2] = {vtype(g, b->type), LLVMVectorType(g->ptr, g->vl)};

		return (val){call_intrinsic(g, "llvm.masked.gather", tys, 2, args, 4), true};
	}
}

/* Floor division or modulo of integers; x / 0 and x % 0 are 0. */
static LLVMValueRef floor_divmod(cg *g, bool mod, LLVMValueRef a, LLVMValueRef b)
{
	LLVMTypeRef t = LLVMTypeOf(b);
	LLVMValueRef zero = LLVMConstNull(t), one = LLVMConstInt((LLVMGetTypeKind(t) == LLVMVectorTypeKind) ? LLVMGetElementType(t) : t, 1, 0);
	LLVMValueRef is0 = LLVMBuildICmp(g->B, LLVMIntEQ, b, zero, "");
	LLVMValueRef safe, q, r, adj, neg1;

	if ((LLVMGetTypeKind(t) == LLVMVectorTypeKind)) {
		LLVMValueRef lanes[CG_MAX_VL];

		for (int i = 0; i < g->vl; i++)
			lanes[i] = one;
		one = LLVMConstVector(lanes, g->vl);
	}
	/* b == 0 -> 1; b == -1 -> compute as 1 then negate (INT_MIN / -1 wraps) */
	neg1 = LLVMBuildICmp(g->B, LLVMIntEQ, b, LLVMConstAllOnes(t), "");
	safe = LLVMBuildSelect(g->B, LLVMBuildOr(g->B, is0, neg1, ""), one, b, "");
	q = LLVMBuildSDiv(g->B, a, safe, "");
	r = LLVMBuildSRem(g->B, a, safe, "");
	adj = LLVMBuildAnd(g->B, LLVMBuildICmp(g->B, LLVMIntNE, r, zero, ""),
			   LLVMBuildICmp(g->B, LLVMIntSLT, LLVMBuildXor(g->B, r, safe, ""), zero, ""), "");
	if (mod) {
		r = LLVMBuildSelect(g->B, adj, LLVMBuildAdd(g->B, r, safe, ""), r, "");
		r = LLVMBuildSelect(g->B, LLVMBuildOr(g->B, is0, neg1, ""), zero, r, "");
		return r;
	}
	q = LLVMBuildSelect(g->B, adj, LLVMBuildSub(g->B, q, one, ""), q, "");
	q = LLVMBuildSelect(g->B, neg1, LLVMBuildNeg(g->B, a, ""), q, "");
	return LLVMBuildSelect(g->B, is0, zero, q, "");
}

static LLVMValueRef cmp(cg *g, lir_op op, lir_type t, LLVMValueRef a, LLVMValueRef b)
{
	static const LLVMIntPredicate ip[] = {LLVMIntSLT, LLVMIntSLE, LLVMIntSGT, LLVMIntSGE, LLVMIntEQ, LLVMIntNE};
	static const LLVMRealPredicate fp[] = {LLVMRealOLT, LLVMRealOLE, LLVMRealOGT, LLVMRealOGE, LLVMRealOEQ,
					       LLVMRealUNE};
	int k = op - LIR_LT;

	return lir_type_is_float(t) ? LLVMBuildFCmp(g->B, fp[k], a, b, "") : LLVMBuildICmp(g->B, ip[k], a, b, "");
}

static LLVMValueRef math1(cg *g, lir_op op, lir_type t, LLVMValueRef a)
{
	LLVMTypeRef ty = LLVMTypeOf(a);
	const char *name = op == LIR_EXP ? "llvm.exp" : op == LIR_LOG ? "llvm.log" : op == LIR_SQRT ? "llvm.sqrt" : NULL;

	if (op == LIR_ABS) {
		if (lir_type_is_float(t))
			return call_intrinsic(g, "llvm.fabs", &ty, 1, &a, 1);
		return call_intrinsic(g, "llvm.abs", &ty, 1, (LLVMValueRef[]){a, LLVMConstInt(g->i1, 0, 0)}, 2);
	}
	if (op == LIR_TANH) {
		/* tanh(x) = 1 - 2 / (exp(2x) + 1), saturating correctly at +-inf */
		LLVMValueRef one = LLVMConstReal((LLVMGetTypeKind(ty) == LLVMVectorTypeKind) ? LLVMGetElementType(ty) : ty, 1.0);
		LLVMValueRef two, e2x;

		if ((LLVMGetTypeKind(ty) == LLVMVectorTypeKind)) {
			one = splat(g, (val){one, false});
		}
		two = LLVMBuildFAdd(g->B, one, one, "");
		e2x = LLVMBuildFMul(g->B, two, a, "");
		e2x = call_intrinsic(g, "llvm.exp", &ty, 1, &e2x, 1);
		return LLVMBuildFSub(g->B, one, LLVMBuildFDiv(g->B, two, LLVMBuildFAdd(g->B, e2x, one, ""), ""), "");
	}
	if (op == LIR_NEG)
		return lir_type_is_float(t) ? LLVMBuildFNeg(g->B, a, "") : LLVMBuildNeg(g->B, a, "");
	if (op == LIR_NOT)
		return LLVMBuildNot(g->B, a, "");
	return call_intrinsic(g, name, &ty, 1, &a, 1);
}

/* A float add/sub/mul that may be contracted into a fused multiply-add
 * (one rounding instead of two: within every tolerance ftc checks). */
static LLVMValueRef contract(LLVMValueRef v)
{
	if (LLVMIsAInstruction(v))
		LLVMSetFastMathFlags(v, LLVMFastMathAllowContract);
	return v;
}

static LLVMValueRef arith(cg *g, lir_op op, lir_type t, LLVMValueRef a, LLVMValueRef b)
{
	bool f = lir_type_is_float(t);
	LLVMTypeRef ty = LLVMTypeOf(a);

	switch (op) {
	case LIR_ADD: return f ? contract(LLVMBuildFAdd(g->B, a, b, "")) : LLVMBuildAdd(g->B, a, b, "");
	case LIR_SUB: return f ? contract(LLVMBuildFSub(g->B, a, b, "")) : LLVMBuildSub(g->B, a, b, "");
	case LIR_MUL: return f ? contract(LLVMBuildFMul(g->B, a, b, "")) : LLVMBuildMul(g->B, a, b, "");
	case LIR_DIV: return f ? LLVMBuildFDiv(g->B, a, b, "") : floor_divmod(g, false, a, b);
	case LIR_MOD: return f ? LLVMBuildFRem(g->B, a, b, "") : floor_divmod(g, true, a, b);
	case LIR_AND: return LLVMBuildAnd(g->B, a, b, "");
	case LIR_OR: return LLVMBuildOr(g->B, a, b, "");
	case LIR_MIN:
		return call_intrinsic(g, f ? "llvm.minnum" : "llvm.smin", &ty, 1, (LLVMValueRef[]){a, b}, 2);
	case LIR_MAX:
		return call_intrinsic(g, f ? "llvm.maxnum" : "llvm.smax", &ty, 1, (LLVMValueRef[]){a, b}, 2);
	default:
		return cmp(g, op, t, a, b);
	}
}

static LLVMValueRef cast(cg *g, lir_type to, lir_type from, LLVMValueRef a, bool vec)
{
	LLVMTypeRef dt = vec ? vtype(g, to) : type_of(g, to);
	bool ff = lir_type_is_float(from), tf = lir_type_is_float(to);

	if (to == from)
		return a;
	if (to == LIR_BOOL)
		return ff ? LLVMBuildFCmp(g->B, LLVMRealUNE, a, LLVMConstNull(LLVMTypeOf(a)), "")
			  : LLVMBuildICmp(g->B, LLVMIntNE, a, LLVMConstNull(LLVMTypeOf(a)), "");
	if (ff && tf)
		return lir_type_size(to) > lir_type_size(from) ? LLVMBuildFPExt(g->B, a, dt, "")
							       : LLVMBuildFPTrunc(g->B, a, dt, "");
	if (!ff && tf)
		return from == LIR_BOOL ? LLVMBuildUIToFP(g->B, a, dt, "") : LLVMBuildSIToFP(g->B, a, dt, "");
	if (ff) {
		LLVMTypeRef tys[2] = {dt, LLVMTypeOf(a)};

		return call_intrinsic(g, "llvm.fptosi.sat", tys, 2, &a, 1);
	}
	if (from == LIR_BOOL)
		return LLVMBuildZExt(g->B, a, dt, "");
	return lir_type_size(to) > lir_type_size(from) ? LLVMBuildSExt(g->B, a, dt, "")
						       : LLVMBuildTrunc(g->B, a, dt, "");
}

/* select whose operands load: only the chosen one runs. */
static val lazy_select(cg *g, const lir_expr *e)
{
	val c = expr(g, e->args[0]), a, b;
	LLVMBasicBlockRef ta, tb, join, ea, eb;
	LLVMValueRef phi;

	if (!c.v)
		return c;
	if (c.vec) {
		LLVMValueRef saved = g->mask, cm = c.v, nm;

		nm = LLVMBuildNot(g->B, cm, "");
		g->mask = saved ? LLVMBuildAnd(g->B, saved, cm, "") : cm;
		a = expr(g, e->args[1]);
		g->mask = saved ? LLVMBuildAnd(g->B, saved, nm, "") : nm;
		b = expr(g, e->args[2]);
		g->mask = saved;
		if (!a.v || !b.v)
			return (val){NULL, false};
		return (val){LLVMBuildSelect(g->B, cm, splat(g, a), splat(g, b), ""), true};
	}
	ta = LLVMAppendBasicBlockInContext(g->C, g->fn, "sel.a");
	tb = LLVMAppendBasicBlockInContext(g->C, g->fn, "sel.b");
	join = LLVMAppendBasicBlockInContext(g->C, g->fn, "sel.end");
	LLVMBuildCondBr(g->B, c.v, ta, tb);
	LLVMPositionBuilderAtEnd(g->B, ta);
	a = expr(g, e->args[1]);
	ea = LLVMGetInsertBlock(g->B);
	LLVMPositionBuilderAtEnd(g->B, tb);
	b = expr(g, e->args[2]);
	eb = LLVMGetInsertBlock(g->B);
	if (!a.v || !b.v)
		return (val){NULL, false};
	if (a.vec != b.vec) {
		LLVMPositionBuilderAtEnd(g->B, ea);
		a.v = splat(g, a);
		LLVMPositionBuilderAtEnd(g->B, eb);
		b.v = splat(g, b);
		a.vec = b.vec = true;
	}
	LLVMPositionBuilderAtEnd(g->B, ea);
	LLVMBuildBr(g->B, join);
	LLVMPositionBuilderAtEnd(g->B, eb);
	LLVMBuildBr(g->B, join);
	LLVMPositionBuilderAtEnd(g->B, join);
	phi = LLVMBuildPhi(g->B, LLVMTypeOf(a.v), "");
	LLVMAddIncoming(phi, (LLVMValueRef[]){a.v, b.v}, (LLVMBasicBlockRef[]){ea, eb}, 2);
	return (val){phi, a.vec};
}

static val expr(cg *g, const lir_expr *e)
{
	val a, b, c;

	if (!e || (g->err && g->err->set))
		return (val){NULL, false};
	switch (e->op) {
	case LIR_CONST:
		if (lir_type_is_float(e->type))
			return (val){LLVMConstReal(type_of(g, e->type), e->c.f), false};
		return (val){LLVMConstInt(type_of(g, e->type), (unsigned long long)e->c.i, 1), false};
	case LIR_VAR:
		if (!g->var[e->id].v)
			cg_fail(g, "a variable used out of scope");
		return g->var[e->id];
	case LIR_LOAD:
		return load(g, e);
	case LIR_SELECT:
		if (has_load(e->args[1]) || has_load(e->args[2]))
			return lazy_select(g, e);
		a = expr(g, e->args[0]);
		b = expr(g, e->args[1]);
		c = expr(g, e->args[2]);
		if (!a.v || !b.v || !c.v)
			return (val){NULL, false};
		if (a.vec || b.vec || c.vec)
			return (val){LLVMBuildSelect(g->B, splat(g, a), splat(g, b), splat(g, c), ""), true};
		return (val){LLVMBuildSelect(g->B, a.v, b.v, c.v, ""), false};
	case LIR_CAST:
		a = expr(g, e->args[0]);
		return a.v ? (val){cast(g, e->type, e->args[0]->type, a.v, a.vec), a.vec} : a;
	default:
		break;
	}
	a = expr(g, e->args[0]);
	if (e->nargs == 1)
		return a.v ? (val){math1(g, e->op, e->type, a.v), a.vec} : a;
	b = expr(g, e->args[1]);
	if (!a.v || !b.v)
		return (val){NULL, false};
	if (a.vec != b.vec) {
		a.v = splat(g, a);
		b.v = splat(g, b);
		a.vec = true;
	}
	return (val){arith(g, e->op, e->args[0]->type, a.v, b.v), a.vec};
}

/* ---- statements ---- */

static int stmt(cg *g, const lir_stmt *s);

static void store(cg *g, const lir_stmt *s)
{
	const lir_buffer *b = lir_func_buffer(g->f, s->u.store.buf);
	val idx = expr(g, s->u.store.index), v = expr(g, s->u.store.value);
	unsigned align = (unsigned)lir_type_size(b->type);
	LLVMValueRef st;

	if (!idx.v || !v.v || !g->buf[s->u.store.buf]) {
		cg_fail(g, "store to a buffer out of scope");
		return;
	}
	note_access(g, s->u.store.buf, idx.vec ? lane_step(g, s->u.store.index) : 0, true);
	if (!idx.vec && !v.vec) {
		st = LLVMBuildStore(g->B, v.v, elem_ptr(g, s->u.store.buf, idx.v, b->type));
		LLVMSetAlignment(st, align);
		return;
	}
	if (!idx.vec) {
		/* every lane writes one element: the last lane wins, as in a loop */
		LLVMValueRef last = LLVMBuildExtractElement(g->B, v.v, LLVMConstInt(g->i32, g->vl - 1, 0), "");

		st = LLVMBuildStore(g->B, last, elem_ptr(g, s->u.store.buf, idx.v, b->type));
		LLVMSetAlignment(st, align);
		return;
	}
	if (lane_step(g, s->u.store.index) == 1 && !g->mask) {
		LLVMValueRef base = lane0(g, s->u.store.index);

		st = LLVMBuildStore(g->B, splat(g, v), elem_ptr(g, s->u.store.buf, base, b->type));
		LLVMSetAlignment(st, align);
		return;
	}
	{
		LLVMValueRef ptrs = LLVMBuildGEP2(g->B, type_of(g, b->type), g->buf[s->u.store.buf], &idx.v, 1, "");
		LLVMValueRef mask = g->mask ? g->mask : LLVMConstAllOnes(LLVMVectorType(g->i1, g->vl));
		LLVMValueRef args[4] = {splat(g, v), ptrs, LLVMConstInt(g->i32, align, 0), mask};
		LLVMTypeRef tys[2] = {vtype(g, b->type), LLVMVectorType(g->ptr, g->vl)};

		call_intrinsic(g, "llvm.masked.scatter", tys, 2, args, 4);
	}
}

/* A counted loop: for (v = lo; v < hi; v += step) body(g, user). */
static int counted_loop(cg *g, int var, LLVMValueRef lo, LLVMValueRef hi, int64_t step,
			int (*body)(cg *, void *), void *user)
{
	LLVMBasicBlockRef pre = LLVMGetInsertBlock(g->B);
	LLVMBasicBlockRef head = LLVMAppendBasicBlockInContext(g->C, g->fn, "loop");
	LLVMBasicBlockRef bb = LLVMAppendBasicBlockInContext(g->C, g->fn, "body");
	LLVMBasicBlockRef exit = LLVMAppendBasicBlockInContext(g->C, g->fn, "exit");
	LLVMValueRef iv, next;
	val saved = g->var[var];
	int rc;

	LLVMBuildBr(g->B, head);
	LLVMPositionBuilderAtEnd(g->B, head);
	iv = LLVMBuildPhi(g->B, g->i64, lir_func_var(g->f, var)->name);
	LLVMBuildCondBr(g->B, LLVMBuildICmp(g->B, LLVMIntSLT, iv, hi, ""), bb, exit);
	LLVMPositionBuilderAtEnd(g->B, bb);
	g->var[var] = (val){iv, false};
	rc = body(g, user);
	next = LLVMBuildAdd(g->B, iv, c64(g, step), "");
	LLVMBuildBr(g->B, head);
	LLVMAddIncoming(iv, (LLVMValueRef[]){lo, next},
			(LLVMBasicBlockRef[]){pre, LLVMGetInsertBlock(g->B)}, 2);
	LLVMPositionBuilderAtEnd(g->B, exit);
	g->var[var] = saved;
	return rc;
}

static int body_stmt(cg *g, void *s)
{
	return stmt(g, s);
}

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

/* A loop bound: a constant where its range is one value here. */
static val bound(cg *g, const lir_expr *e)
{
	cg_range r = cg_expr_range(e, g->rng);

	return r.known && r.lo == r.hi ? (val){c64(g, r.lo), false} : expr(g, e);
}

/* The loop's first value and trip count, when both are constant here. */
static int const_trip(cg *g, const lir_stmt *s, int64_t *lo, int64_t *n)
{
	cg_range l = cg_expr_range(s->u.loop.lo, g->rng), h = cg_expr_range(s->u.loop.hi, g->rng);

	if (!l.known || !h.known || l.lo != l.hi || h.lo != h.hi || s->u.loop.step < 1)
		return 0;
	*lo = l.lo;
	*n = h.lo > l.lo ? (h.lo - l.lo + s->u.loop.step - 1) / s->u.loop.step : 0;
	return 1;
}

/* The vectorized loop: its variable is the vector <lo, lo+1, ...>. */
static int vector_loop(cg *g, const lir_stmt *s, int64_t lo, int64_t n)
{
	LLVMValueRef lanes[CG_MAX_VL];
	val saved = g->var[s->u.loop.var];
	int rc, old_var = g->vec_var, old_vl = g->vl;

	for (int i = 0; i < n; i++)
		lanes[i] = c64(g, lo + i);
	g->vec_var = s->u.loop.var;
	g->vl = (int)n;
	g->var[s->u.loop.var] = (val){LLVMConstVector(lanes, (unsigned)n), true};
	g->var0[s->u.loop.var] = c64(g, lo);
	rc = stmt(g, s->u.loop.body);
	g->var[s->u.loop.var] = saved;
	g->vec_var = old_var;
	g->vl = old_vl;
	return rc;
}

/* Where code generation stood: the insertion block, its last instruction
 * and the function's last block, so that what follows can be taken back. */
typedef struct cg_mark {
	LLVMBasicBlockRef bb, last_bb;
	LLVMValueRef last;
} cg_mark;

static cg_mark mark_here(cg *g)
{
	cg_mark m;

	m.bb = LLVMGetInsertBlock(g->B);
	m.last = LLVMGetLastInstruction(m.bb);
	m.last_bb = LLVMGetLastBasicBlock(g->fn);
	return m;
}

/* Apply `fn` to every instruction made since m: those after m.last in
 * m.bb, then all of every block appended after m.last_bb. */
static void each_new_inst(const cg_mark *m, void (*fn)(LLVMValueRef))
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
static void rollback(cg *g, const cg_mark *m)
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
 * across lanes, lanes sharing a private buffer): the caller then emits a
 * scalar loop, which is always correct and which LLVM may still vectorize.
 */
static int try_vector(cg *g, const lir_stmt *s, int64_t lo, int64_t n)
{
	cg_mark m = mark_here(g);
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
	if (rc == 0 && !scratch.set && !lanes_conflict(g))
		return 0;
	rollback(g, &m);
	return 1;
}

static int outline(cg *g, const lir_stmt *s);

/* An unrolled loop with a constant trip count: the body n times. */
static int unrolled(cg *g, const lir_stmt *s, int64_t lo, int64_t n)
{
	int var = s->u.loop.var;
	val saved = g->var[var];
	int rc = 0;

	for (int64_t i = 0; i < n && !rc; i++) {
		int64_t v = lo + i * s->u.loop.step;

		g->var[var] = (val){c64(g, v), false};
		g->rng[var] = (cg_range){v, v, true};
		rc = stmt(g, s->u.loop.body);
	}
	g->var[var] = saved;
	return rc;
}

static int loop_kind(cg *g, const lir_stmt *s)
{
	int64_t lo, n;
	val l, h;

	if (s->u.loop.kind == LIR_VECTORIZED && g->vec_var < 0 && const_trip(g, s, &lo, &n) && s->u.loop.step == 1 &&
	    n >= 2 && n <= CG_MAX_VL && vectorizable(s->u.loop.body) && try_vector(g, s, lo, n) == 0)
		return 0;
	if (s->u.loop.kind == LIR_UNROLLED && const_trip(g, s, &lo, &n) && n <= CG_MAX_UNROLL)
		return unrolled(g, s, lo, n);
	if (s->u.loop.kind == LIR_PARALLEL && !g->in_parallel && g->vec_var < 0)
		return outline(g, s);
	l = bound(g, s->u.loop.lo);
	h = bound(g, s->u.loop.hi);
	if (!l.v || !h.v || l.vec || h.vec)
		return cg_fail(g, "a loop bound varies across vector lanes");
	return counted_loop(g, s->u.loop.var, l.v, h.v, s->u.loop.step, body_stmt, (void *)s->u.loop.body);
}

/* A loop: its variable's range is [lo, hi - 1] inside (unknown when the
 * bounds' ranges are unknown). */
static int loop(cg *g, const lir_stmt *s)
{
	int var = s->u.loop.var;
	cg_range saved = g->rng[var], lo = cg_expr_range(s->u.loop.lo, g->rng);
	cg_range hi = cg_expr_range(s->u.loop.hi, g->rng);
	int rc;

	g->rng[var] = lo.known && hi.known && lo.lo <= hi.hi - 1 ? (cg_range){lo.lo, hi.hi - 1, true}
								 : (cg_range){0, 0, false};
	rc = loop_kind(g, s);
	g->rng[var] = saved;
	return rc;
}

static int branch(cg *g, const lir_stmt *s)
{
	int known = cg_cond_value(s->u.cond.cond, g->rng);
	val c;
	LLVMBasicBlockRef t, e, join;

	if (known >= 0)
		return stmt(g, known ? s->u.cond.then_s : s->u.cond.else_s);
	c = expr(g, s->u.cond.cond);
	if (!c.v)
		return -1;
	if (c.vec)
		return cg_fail(g, "a condition varies across vector lanes");
	t = LLVMAppendBasicBlockInContext(g->C, g->fn, "then");
	e = LLVMAppendBasicBlockInContext(g->C, g->fn, "else");
	join = LLVMAppendBasicBlockInContext(g->C, g->fn, "endif");
	LLVMBuildCondBr(g->B, c.v, t, e);
	LLVMPositionBuilderAtEnd(g->B, t);
	if (stmt(g, s->u.cond.then_s))
		return -1;
	LLVMBuildBr(g->B, join);
	LLVMPositionBuilderAtEnd(g->B, e);
	if (s->u.cond.else_s && stmt(g, s->u.cond.else_s))
		return -1;
	LLVMBuildBr(g->B, join);
	LLVMPositionBuilderAtEnd(g->B, join);
	return 0;
}

/* An alloca in the function's entry block (so that loops reuse it). */
static LLVMValueRef entry_alloca(cg *g, LLVMTypeRef t)
{
	LLVMBuilderRef b = LLVMCreateBuilderInContext(g->C);
	LLVMBasicBlockRef entry = LLVMGetEntryBasicBlock(g->fn);
	LLVMValueRef first = LLVMGetFirstInstruction(entry), a;

	if (first)
		LLVMPositionBuilderBefore(b, first);
	else
		LLVMPositionBuilderAtEnd(b, entry);
	a = LLVMBuildAlloca(b, t, "");
	LLVMSetAlignment(a, 64);
	LLVMDisposeBuilder(b);
	return a;
}

static int alloc(cg *g, const lir_stmt *s);

/*
 * Full and partial tiles, as two versions of a buffer's scope: `v < at`
 * and `v >= at`, each with v's range narrowed and a buffer of its own.
 * Where a tile's loops have bounds like min(15, 55 - 16 * q_o) + 1, the
 * full tiles' version has constant trip counts and conditions that fold,
 * so LLVM keeps a cache_write's accumulators in registers there; only the
 * partial tile keeps variable bounds.
 */
static int split_alloc(cg *g, const lir_stmt *s, int v, int64_t at)
{
	cg_range saved = g->rng[v];
	LLVMBasicBlockRef lo = LLVMAppendBasicBlockInContext(g->C, g->fn, "tile.lo");
	LLVMBasicBlockRef hi = LLVMAppendBasicBlockInContext(g->C, g->fn, "tile.hi");
	LLVMBasicBlockRef join = LLVMAppendBasicBlockInContext(g->C, g->fn, "tile.end");
	int rc;

	LLVMBuildCondBr(g->B, LLVMBuildICmp(g->B, LLVMIntSLT, g->var[v].v, c64(g, at), ""), lo, hi);
	g->nsplit++;
	LLVMPositionBuilderAtEnd(g->B, lo);
	g->rng[v] = (cg_range){saved.lo, at - 1, true};
	rc = alloc(g, s);
	LLVMBuildBr(g->B, join);
	LLVMPositionBuilderAtEnd(g->B, hi);
	g->rng[v] = (cg_range){at, saved.hi, true};
	if (!rc)
		rc = alloc(g, s);
	LLVMBuildBr(g->B, join);
	LLVMPositionBuilderAtEnd(g->B, join);
	g->rng[v] = saved;
	g->nsplit--;
	return rc;
}

static int alloc(cg *g, const lir_stmt *s)
{
	const lir_buffer *b = lir_func_buffer(g->f, s->u.alloc.buf);
	int64_t bytes = b->size * (int64_t)lir_type_size(b->type);
	LLVMValueRef saved = g->buf[s->u.alloc.buf], p;
	int rc, v;
	int64_t at;
	bool low_full;

	if (b->scope != LIR_HEAP && g->vec_var < 0 && g->nsplit < CG_MAX_SPLITS &&
	    cg_find_split(s->u.alloc.body, g->rng, &v, &at, &low_full) && g->var[v].v && !g->var[v].vec)
		return split_alloc(g, s, v, at);
	if (b->scope != LIR_HEAP) {
		g->buf[s->u.alloc.buf] = entry_alloca(g, LLVMArrayType2(type_of(g, b->type), (uint64_t)b->size));
		rc = stmt(g, s->u.alloc.body);
		g->buf[s->u.alloc.buf] = saved;
		return rc;
	} else {
		LLVMTypeRef aty = LLVMFunctionType(g->ptr, &g->i64, 1, 0);
		LLVMTypeRef fty = LLVMFunctionType(g->vd, &g->ptr, 1, 0);
		LLVMValueRef af = LLVMGetNamedFunction(g->M, "ftc_rt_alloc");
		LLVMValueRef ff = LLVMGetNamedFunction(g->M, "ftc_rt_free");
		LLVMBasicBlockRef ok = LLVMAppendBasicBlockInContext(g->C, g->fn, "alloc.ok");
		LLVMBasicBlockRef bad = LLVMAppendBasicBlockInContext(g->C, g->fn, "alloc.fail");
		LLVMBasicBlockRef join = LLVMAppendBasicBlockInContext(g->C, g->fn, "alloc.end");

		if (!af) {
			/* zeroed, 64-byte aligned, a new object (runtime/rt_alloc.h) */
			af = LLVMAddFunction(g->M, "ftc_rt_alloc", aty);
			set_attr(g, af, LLVMAttributeReturnIndex, "noalias");
			int_attr(g, af, LLVMAttributeReturnIndex, "align", 64);
		}
		if (!ff)
			ff = LLVMAddFunction(g->M, "ftc_rt_free", fty);
		p = LLVMBuildCall2(g->B, aty, af, (LLVMValueRef[]){c64(g, bytes)}, 1, b->name);
		LLVMBuildCondBr(g->B, LLVMBuildIsNull(g->B, p, ""), bad, ok);
		LLVMPositionBuilderAtEnd(g->B, bad);
		LLVMBuildStore(g->B, LLVMConstInt(g->i32, 1, 0), g->fail);
		LLVMBuildBr(g->B, join);
		LLVMPositionBuilderAtEnd(g->B, ok);
		g->buf[s->u.alloc.buf] = p;
		rc = stmt(g, s->u.alloc.body);
		g->buf[s->u.alloc.buf] = saved;
		LLVMBuildCall2(g->B, fty, ff, &p, 1, "");
		LLVMBuildBr(g->B, join);
		LLVMPositionBuilderAtEnd(g->B, join);
		return rc;
	}
}

static int stmt(cg *g, const lir_stmt *s)
{
	val v, saved;
	cg_range saved_rng;
	int rc;

	if (!s || (g->err && g->err->set))
		return g->err && g->err->set ? -1 : 0;
	switch (s->kind) {
	case LIR_FOR:
		return loop(g, s);
	case LIR_IF:
		return branch(g, s);
	case LIR_LET:
		v = expr(g, s->u.let.value);
		if (!v.v)
			return -1;
		saved = g->var[s->u.let.var];
		saved_rng = g->rng[s->u.let.var];
		g->rng[s->u.let.var] = cg_expr_range(s->u.let.value, g->rng);
		g->var[s->u.let.var] = v;
		if (v.vec) {
			g->stride[s->u.let.var] = (int)lane_step(g, s->u.let.value);
			g->var0[s->u.let.var] = s->u.let.value->type == LIR_I64 ? lane0(g, s->u.let.value) : NULL;
			if (g->stride[s->u.let.var] >= 0 && !g->var0[s->u.let.var])
				g->stride[s->u.let.var] = -1;
		}
		rc = stmt(g, s->u.let.body);
		g->var[s->u.let.var] = saved;
		g->rng[s->u.let.var] = saved_rng;
		return rc;
	case LIR_ALLOC:
		return alloc(g, s);
	case LIR_STORE:
		store(g, s);
		return g->err && g->err->set ? -1 : 0;
	case LIR_SEQ:
		for (int i = 0; i < s->u.seq.n; i++)
			if (stmt(g, s->u.seq.s[i]))
				return -1;
		return 0;
	default:
		return 0; /* barrier: the CPU runs GPU schedules serially */
	}
}

/* ---- parallel loops ---- */

static void target_attrs(cg *g, LLVMValueRef fn);

#define CG_MAX_CAPTURE 1024 /* values and buffers one parallel body captures */

typedef struct capture {
	int n;
	struct { int kind; int id; } slot[CG_MAX_CAPTURE]; /* kind 0: variable, 1: buffer, 2: fail flag */
} capture;

/* Capture everything in scope: the fail flag, variables, buffers.
 * Returns 0, or -1 with the error set when that is more than
 * CG_MAX_CAPTURE values. */
static int capture_scope(cg *g, capture *c)
{
	int need = 1;

	for (int i = 0; i < lir_func_nvars(g->f); i++)
		need += g->var[i].v != NULL;
	for (int i = 0; i < lir_func_nbuffers(g->f); i++)
		need += g->buf[i] != NULL;
	if (need > CG_MAX_CAPTURE)
		return rt_error_set(g->err, 0, 0, "code generation: a parallel loop would capture %d variables and "
				    "buffers; at most %d can be passed to its body", need - 1, CG_MAX_CAPTURE - 1);
	c->n = 0;
	c->slot[c->n].kind = 2;
	c->slot[c->n++].id = 0;
	for (int i = 0; i < lir_func_nvars(g->f); i++)
		if (g->var[i].v) {
			c->slot[c->n].kind = 0;
			c->slot[c->n++].id = i;
		}
	for (int i = 0; i < lir_func_nbuffers(g->f); i++)
		if (g->buf[i]) {
			c->slot[c->n].kind = 1;
			c->slot[c->n++].id = i;
		}
	return 0;
}

/* Value -> i64 slot and back. */
static LLVMValueRef to_slot(cg *g, LLVMValueRef v)
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

static LLVMValueRef from_slot(cg *g, LLVMValueRef v, LLVMTypeRef t)
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

typedef struct par_body {
	const lir_stmt *s;
	LLVMValueRef lo;
} par_body;

/* The body of one iteration i of the outlined loop: v = lo + i * step. */
static int par_iter(cg *g, void *u)
{
	par_body *p = u;
	int var = p->s->u.loop.var;
	LLVMValueRef i = g->var[var].v;

	g->var[var].v = LLVMBuildAdd(g->B, p->lo, LLVMBuildMul(g->B, i, c64(g, p->s->u.loop.step), ""), "");
	return stmt(g, p->s->u.loop.body);
}

/*
 * The body of an outlined parallel loop, NAME_body(captures..., lo0, lo,
 * hi): captured buffers arrive as parameters marked noalias (distinct
 * buffers; iterations of a parallel loop touch disjoint elements), so LLVM
 * keeps the alias facts the kernel's own parameters have; buffers ftc
 * allocates are also known 64-byte aligned.
 */
static LLVMValueRef par_inner(cg *g, const capture *cap, LLVMTypeRef *types, const char *outer)
{
	char name[300];
	LLVMValueRef fn;

	snprintf(name, sizeof(name), "%s_body", outer);
	fn = LLVMAddFunction(g->M, name, LLVMFunctionType(g->vd, types, (unsigned)cap->n + 3, 0));
	LLVMSetLinkage(fn, LLVMInternalLinkage);
	target_attrs(g, fn);
	set_attr(g, fn, LLVMAttributeFunctionIndex, "nounwind");
	for (int i = 0; i < cap->n; i++) {
		const lir_buffer *b;

		if (cap->slot[i].kind != 1)
			continue;
		set_attr(g, fn, (unsigned)i + 1, "noalias");
		b = lir_func_buffer(g->f, cap->slot[i].id);
		if (b->scope != LIR_GLOBAL)
			int_attr(g, fn, (unsigned)i + 1, "align", 64);
	}
	return fn;
}

static int outline(cg *g, const lir_stmt *s)
{
	val lo = expr(g, s->u.loop.lo), hi = expr(g, s->u.loop.hi);
	capture *cap = calloc(1, sizeof(*cap));
	LLVMTypeRef types[CG_MAX_CAPTURE + 3], bty;
	LLVMValueRef vals[CG_MAX_CAPTURE + 3], inner;
	LLVMValueRef ctx, n, old_fn = g->fn, old_fail = g->fail, bodyfn, args[4];
	LLVMBasicBlockRef resume = LLVMGetInsertBlock(g->B);
	val *saved_var;
	LLVMValueRef *saved_buf;
	char name[256];
	int nv = lir_func_nvars(g->f), nb = lir_func_nbuffers(g->f), rc = -1;
	par_body pb;

	if (!cap || !lo.v || !hi.v) {
		free(cap);
		return cg_fail(g, "out of memory or bad bounds in a parallel loop");
	}
	saved_var = malloc((nv + 1) * sizeof(val));
	saved_buf = malloc((nb + 1) * sizeof(LLVMValueRef));
	if (!saved_var || !saved_buf)
		goto out;
	memcpy(saved_var, g->var, nv * sizeof(val));
	memcpy(saved_buf, g->buf, nb * sizeof(LLVMValueRef));
	if (capture_scope(g, cap))
		goto out;
	/* pack: the caller side */
	ctx = entry_alloca(g, LLVMArrayType2(g->i64, (uint64_t)cap->n + 1));
	for (int i = 0; i < cap->n; i++) {
		LLVMValueRef v = cap->slot[i].kind == 0 ? g->var[cap->slot[i].id].v
				 : cap->slot[i].kind == 1 ? g->buf[cap->slot[i].id] : g->fail;
		LLVMValueRef p = LLVMBuildGEP2(g->B, g->i64, ctx, (LLVMValueRef[]){c64(g, i)}, 1, "");

		types[i] = LLVMTypeOf(v);
		LLVMBuildStore(g->B, to_slot(g, v), p);
	}
	/* the outlined function: unpacks the captures, calls the body */
	snprintf(name, sizeof(name), "%s_par%d", lir_func_name(g->f), g->noutlined++);
	bty = LLVMFunctionType(g->vd, (LLVMTypeRef[]){g->ptr, g->i64, g->i64}, 3, 0);
	bodyfn = LLVMAddFunction(g->M, name, bty);
	LLVMSetLinkage(bodyfn, LLVMInternalLinkage);
	target_attrs(g, bodyfn);
	set_attr(g, bodyfn, LLVMAttributeFunctionIndex, "nounwind");
	types[cap->n] = types[cap->n + 1] = types[cap->n + 2] = g->i64;
	inner = par_inner(g, cap, types, name);
	g->fn = bodyfn;
	LLVMPositionBuilderAtEnd(g->B, LLVMAppendBasicBlockInContext(g->C, bodyfn, "entry"));
	for (int i = 0; i <= cap->n; i++) {
		LLVMValueRef p = LLVMBuildGEP2(g->B, g->i64, LLVMGetParam(bodyfn, 0), (LLVMValueRef[]){c64(g, i)}, 1, "");

		vals[i] = from_slot(g, LLVMBuildLoad2(g->B, g->i64, p, ""), types[i]);
	}
	vals[cap->n + 1] = LLVMGetParam(bodyfn, 1);
	vals[cap->n + 2] = LLVMGetParam(bodyfn, 2);
	LLVMBuildCall2(g->B, LLVMGlobalGetValueType(inner), inner, vals, (unsigned)cap->n + 3, "");
	LLVMBuildRetVoid(g->B);
	/* the body: captures are parameters (buffers noalias), then the loop */
	g->fn = inner;
	LLVMPositionBuilderAtEnd(g->B, LLVMAppendBasicBlockInContext(g->C, inner, "entry"));
	for (int i = 0; i < nv; i++)
		g->var[i] = (val){NULL, false};
	for (int i = 0; i < nb; i++)
		g->buf[i] = NULL;
	for (int i = 0; i < cap->n; i++) {
		LLVMValueRef v = LLVMGetParam(inner, (unsigned)i);

		if (cap->slot[i].kind == 0)
			g->var[cap->slot[i].id] = (val){v, false};
		else if (cap->slot[i].kind == 1)
			g->buf[cap->slot[i].id] = v;
		else
			g->fail = v;
	}
	g->in_parallel = true;
	pb.s = s;
	pb.lo = LLVMGetParam(inner, (unsigned)cap->n);
	rc = counted_loop(g, s->u.loop.var, LLVMGetParam(inner, (unsigned)cap->n + 1),
			  LLVMGetParam(inner, (unsigned)cap->n + 2), 1, par_iter, &pb);
	LLVMBuildRetVoid(g->B);
	g->in_parallel = false;
	g->fn = old_fn;
	g->fail = old_fail;
	memcpy(g->var, saved_var, nv * sizeof(val));
	memcpy(g->buf, saved_buf, nb * sizeof(LLVMValueRef));
	LLVMPositionBuilderAtEnd(g->B, resume);
	/* the call: n = ceil((hi - lo) / step) iterations */
	LLVMBuildStore(g->B, lo.v, LLVMBuildGEP2(g->B, g->i64, ctx, (LLVMValueRef[]){c64(g, cap->n)}, 1, ""));
	n = LLVMBuildSub(g->B, hi.v, lo.v, "");
	n = LLVMBuildSDiv(g->B, LLVMBuildAdd(g->B, n, c64(g, s->u.loop.step - 1), ""), c64(g, s->u.loop.step), "");
	{
		LLVMTypeRef pty = LLVMFunctionType(g->i32, (LLVMTypeRef[]){g->i64, g->ptr, g->ptr, g->i32}, 4, 0);
		LLVMValueRef pf = LLVMGetNamedFunction(g->M, "ftc_rt_parallel_for");

		if (!pf)
			pf = LLVMAddFunction(g->M, "ftc_rt_parallel_for", pty);
		args[0] = n;
		args[1] = bodyfn;
		args[2] = ctx;
		args[3] = LLVMConstInt(g->i32, (unsigned)g->t->threads, 0);
		LLVMBuildCall2(g->B, pty, pf, args, 4, "");
	}
out:
	free(saved_var);
	free(saved_buf);
	free(cap);
	return rc;
}

/* ---- functions ---- */

static void target_attrs(cg *g, LLVMValueRef fn)
{
	char width[16];

	snprintf(width, sizeof(width), "%d", g->t->vector_bits);
	LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
				LLVMCreateStringAttribute(g->C, "target-cpu", 10, g->t->cpu, strlen(g->t->cpu)));
	LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
				LLVMCreateStringAttribute(g->C, "target-features", 15, g->t->features,
							  strlen(g->t->features)));
	LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
				LLVMCreateStringAttribute(g->C, "prefer-vector-width", 19, width, strlen(width)));
}

/* The test-only fault hook: a crash or a hang at the kernel's entry. */
static void inject_fault(cg *g)
{
	LLVMValueRef st;

	if (g->t->fault == 1) {
		st = LLVMBuildStore(g->B, LLVMConstInt(g->i32, 1, 0), LLVMConstNull(g->ptr));
		LLVMSetVolatile(st, 1);
	} else if (g->t->fault == 2) {
		LLVMBasicBlockRef spin = LLVMAppendBasicBlockInContext(g->C, g->fn, "spin");

		LLVMBuildBr(g->B, spin);
		LLVMPositionBuilderAtEnd(g->B, spin);
		st = LLVMBuildStore(g->B, LLVMConstInt(g->i32, 0, 0), g->fail);
		LLVMSetVolatile(st, 1);
		LLVMBuildBr(g->B, spin);
		LLVMPositionBuilderAtEnd(g->B, LLVMAppendBasicBlockInContext(g->C, g->fn, "unreachable"));
	}
}

/* int NAME(T *P0, ...) and int NAME_packed(void **args). */
static int functions(cg *g)
{
	int np = lir_func_nparams(g->f);
	LLVMTypeRef *pt = calloc(np + 1, sizeof(LLVMTypeRef));
	LLVMTypeRef fty, pty;
	LLVMValueRef fn, packed, *args = calloc(np + 1, sizeof(LLVMValueRef)), r;
	char name[160];
	int rc = -1;

	if (!pt || !args)
		goto out;
	for (int i = 0; i < np; i++)
		pt[i] = g->ptr;
	fty = LLVMFunctionType(g->i32, pt, np, 0);
	fn = LLVMAddFunction(g->M, lir_func_name(g->f), fty);
	target_attrs(g, fn);
	set_attr(g, fn, LLVMAttributeFunctionIndex, "nounwind");
	for (int i = 0; i < np; i++) {
		set_attr(g, fn, i + 1, "noalias");
		g->buf[lir_func_param(g->f, i)] = LLVMGetParam(fn, i);
	}
	g->fn = fn;
	LLVMPositionBuilderAtEnd(g->B, LLVMAppendBasicBlockInContext(g->C, fn, "entry"));
	g->fail = LLVMBuildAlloca(g->B, g->i32, "fail");
	LLVMBuildStore(g->B, LLVMConstInt(g->i32, 0, 0), g->fail);
	inject_fault(g);
	if (stmt(g, lir_func_body(g->f)))
		goto out;
	LLVMBuildRet(g->B, LLVMBuildLoad2(g->B, g->i32, g->fail, ""));
	/* the packed entry */
	snprintf(name, sizeof(name), "%s_packed", lir_func_name(g->f));
	pty = LLVMFunctionType(g->i32, &g->ptr, 1, 0);
	packed = LLVMAddFunction(g->M, name, pty);
	target_attrs(g, packed);
	LLVMPositionBuilderAtEnd(g->B, LLVMAppendBasicBlockInContext(g->C, packed, "entry"));
	for (int i = 0; i < np; i++) {
		LLVMValueRef p = LLVMBuildGEP2(g->B, g->ptr, LLVMGetParam(packed, 0), (LLVMValueRef[]){c64(g, i)}, 1, "");

		args[i] = LLVMBuildLoad2(g->B, g->ptr, p, "");
	}
	r = LLVMBuildCall2(g->B, fty, fn, args, np, "");
	LLVMBuildRet(g->B, r);
	rc = 0;
out:
	free(pt);
	free(args);
	if (rc && !(g->err && g->err->set))
		cg_fail(g, "out of memory");
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

cg_module *cg_cpu_compile(const lir_func *f, const cg_target *t, rt_error *err)
{
	cg_module *m = calloc(1, sizeof(*m));
	cg g = {0};
	LLVMTargetMachineRef tm = NULL;
	LLVMTargetDataRef td;
	char *triple = NULL, *msg = NULL;
	int nv = lir_func_nvars(f), nb = lir_func_nbuffers(f);

	if (t->kind != CG_TARGET_CPU) {
		free(m);
		rt_error_set(err, 0, 0, "the CPU code generator cannot compile for a %s target",
			     cg_target_kind_name(t->kind));
		return NULL;
	}
	if (!m) {
		rt_error_set(err, 0, 0, "out of memory");
		return NULL;
	}
	m->target = *t;
	snprintf(m->name, sizeof(m->name), "%s", lir_func_name(f));
	m->tsc = LLVMOrcCreateNewThreadSafeContext();
	m->ctx = LLVMOrcThreadSafeContextGetContext(m->tsc);
	m->mod = LLVMModuleCreateWithNameInContext(lir_func_name(f), m->ctx);
	if (!(tm = cg_target_machine(t, err)))
		goto fail;
	triple = LLVMGetTargetMachineTriple(tm);
	LLVMSetTarget(m->mod, triple);
	td = LLVMCreateTargetDataLayout(tm);
	LLVMSetModuleDataLayout(m->mod, td);
	LLVMDisposeTargetData(td);
	g.f = f;
	g.t = t;
	g.err = err;
	g.C = m->ctx;
	g.M = m->mod;
	g.B = LLVMCreateBuilderInContext(m->ctx);
	g.i1 = LLVMInt1TypeInContext(g.C);
	g.i32 = LLVMInt32TypeInContext(g.C);
	g.i64 = LLVMInt64TypeInContext(g.C);
	g.f32 = LLVMFloatTypeInContext(g.C);
	g.f64 = LLVMDoubleTypeInContext(g.C);
	g.ptr = LLVMPointerTypeInContext(g.C, 0);
	g.vd = LLVMVoidTypeInContext(g.C);
	g.var = calloc(nv + 1, sizeof(val));
	g.stride = calloc(nv + 1, sizeof(int));
	g.var0 = calloc(nv + 1, sizeof(LLVMValueRef));
	g.buf = calloc(nb + 1, sizeof(LLVMValueRef));
	g.lane_acc = calloc(nb + 1, sizeof(int64_t));
	g.lane_wrote = calloc(nb + 1, sizeof(bool));
	g.rng = calloc(nv + 1, sizeof(cg_range));
	g.vec_var = -1;
	if (!g.var || !g.stride || !g.buf || !g.var0 || !g.lane_acc || !g.lane_wrote || !g.rng) {
		rt_error_set(err, 0, 0, "out of memory");
		goto fail;
	}
	if (functions(&g))
		goto fail;
	if (LLVMVerifyModule(m->mod, LLVMReturnStatusAction, &msg)) {
		rt_error_set(err, 0, 0, "code generation produced invalid LLVM IR: %.400s", msg ? msg : "");
		goto fail;
	}
	if (optimize(m, tm, err))
		goto fail;
	LLVMDisposeMessage(msg);
	LLVMDisposeMessage(triple);
	LLVMDisposeTargetMachine(tm);
	LLVMDisposeBuilder(g.B);
	free(g.var);
	free(g.var0);
	free(g.stride);
	free(g.buf);
	free(g.lane_acc);
	free(g.lane_wrote);
	free(g.rng);
	return m;
fail:
	LLVMDisposeMessage(msg);
	LLVMDisposeMessage(triple);
	if (tm)
		LLVMDisposeTargetMachine(tm);
	if (g.B)
		LLVMDisposeBuilder(g.B);
	free(g.var);
	free(g.var0);
	free(g.stride);
	free(g.buf);
	free(g.lane_acc);
	free(g.lane_wrote);
	free(g.rng);
	cg_module_free(m);
	return NULL;
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
