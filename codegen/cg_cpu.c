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
	bool in_parallel;
	int noutlined;
} cg;

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

static int const_trip(const lir_stmt *s, int64_t *lo, int64_t *n)
{
	const lir_expr *l = s->u.loop.lo, *h = s->u.loop.hi;

	if (l->op != LIR_CONST || h->op != LIR_CONST || s->u.loop.step < 1)
		return 0;
	*lo = l->c.i;
	*n = h->c.i > l->c.i ? (h->c.i - l->c.i + s->u.loop.step - 1) / s->u.loop.step : 0;
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

static int outline(cg *g, const lir_stmt *s);

static int loop(cg *g, const lir_stmt *s)
{
	int64_t lo, n;
	val l, h;

	if (s->u.loop.kind == LIR_VECTORIZED && g->vec_var < 0 && const_trip(s, &lo, &n) && s->u.loop.step == 1 &&
	    n >= 2 && n <= CG_MAX_VL && vectorizable(s->u.loop.body))
		return vector_loop(g, s, lo, n);
	if (s->u.loop.kind == LIR_UNROLLED && const_trip(s, &lo, &n) && n <= CG_MAX_UNROLL) {
		val saved = g->var[s->u.loop.var];

		for (int64_t i = 0; i < n; i++) {
			g->var[s->u.loop.var] = (val){c64(g, lo + i * s->u.loop.step), false};
			if (stmt(g, s->u.loop.body))
				return -1;
		}
		g->var[s->u.loop.var] = saved;
		return 0;
	}
	if (s->u.loop.kind == LIR_PARALLEL && !g->in_parallel && g->vec_var < 0)
		return outline(g, s);
	l = expr(g, s->u.loop.lo);
	h = expr(g, s->u.loop.hi);
	if (!l.v || !h.v || l.vec || h.vec)
		return cg_fail(g, "a loop bound varies across vector lanes");
	return counted_loop(g, s->u.loop.var, l.v, h.v, s->u.loop.step, body_stmt, (void *)s->u.loop.body);
}

static int branch(cg *g, const lir_stmt *s)
{
	val c = expr(g, s->u.cond.cond);
	LLVMBasicBlockRef t, e, join;

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

static int alloc(cg *g, const lir_stmt *s)
{
	const lir_buffer *b = lir_func_buffer(g->f, s->u.alloc.buf);
	int64_t bytes = b->size * (int64_t)lir_type_size(b->type);
	LLVMValueRef saved = g->buf[s->u.alloc.buf], p;
	int rc;

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

		if (!af)
			af = LLVMAddFunction(g->M, "ftc_rt_alloc", aty);
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
		g->var[s->u.let.var] = v;
		if (v.vec) {
			g->stride[s->u.let.var] = (int)lane_step(g, s->u.let.value);
			g->var0[s->u.let.var] = s->u.let.value->type == LIR_I64 ? lane0(g, s->u.let.value) : NULL;
			if (g->stride[s->u.let.var] >= 0 && !g->var0[s->u.let.var])
				g->stride[s->u.let.var] = -1;
		}
		rc = stmt(g, s->u.let.body);
		g->var[s->u.let.var] = saved;
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

typedef struct capture {
	int n;
	struct { int kind; int id; } slot[1024]; /* kind 0: variable, 1: buffer, 2: fail flag */
} capture;

/* Capture everything in scope: variables, buffers, the fail flag. */
static void capture_scope(cg *g, capture *c)
{
	c->n = 0;
	c->slot[c->n].kind = 2;
	c->slot[c->n++].id = 0;
	for (int i = 0; i < lir_func_nvars(g->f) && c->n < 1024; i++)
		if (g->var[i].v) {
			c->slot[c->n].kind = 0;
			c->slot[c->n++].id = i;
		}
	for (int i = 0; i < lir_func_nbuffers(g->f) && c->n < 1024; i++)
		if (g->buf[i]) {
			c->slot[c->n].kind = 1;
			c->slot[c->n++].id = i;
		}
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

static int outline(cg *g, const lir_stmt *s)
{
	val lo = expr(g, s->u.loop.lo), hi = expr(g, s->u.loop.hi);
	capture *cap = calloc(1, sizeof(*cap));
	LLVMTypeRef types[1024], bty;
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
	capture_scope(g, cap);
	/* pack: the caller side */
	ctx = entry_alloca(g, LLVMArrayType2(g->i64, (uint64_t)cap->n + 1));
	for (int i = 0; i < cap->n; i++) {
		LLVMValueRef v = cap->slot[i].kind == 0 ? g->var[cap->slot[i].id].v
				 : cap->slot[i].kind == 1 ? g->buf[cap->slot[i].id] : g->fail;
		LLVMValueRef p = LLVMBuildGEP2(g->B, g->i64, ctx, (LLVMValueRef[]){c64(g, i)}, 1, "");

		types[i] = LLVMTypeOf(v);
		LLVMBuildStore(g->B, to_slot(g, v), p);
	}
	/* the outlined function */
	snprintf(name, sizeof(name), "%s_par%d", lir_func_name(g->f), g->noutlined++);
	bty = LLVMFunctionType(g->vd, (LLVMTypeRef[]){g->ptr, g->i64, g->i64}, 3, 0);
	bodyfn = LLVMAddFunction(g->M, name, bty);
	LLVMSetLinkage(bodyfn, LLVMInternalLinkage);
	g->fn = bodyfn;
	LLVMPositionBuilderAtEnd(g->B, LLVMAppendBasicBlockInContext(g->C, bodyfn, "entry"));
	for (int i = 0; i < nv; i++)
		g->var[i] = (val){NULL, false};
	for (int i = 0; i < nb; i++)
		g->buf[i] = NULL;
	for (int i = 0; i < cap->n; i++) {
		LLVMValueRef p = LLVMBuildGEP2(g->B, g->i64, LLVMGetParam(bodyfn, 0), (LLVMValueRef[]){c64(g, i)}, 1, "");
		LLVMValueRef v = from_slot(g, LLVMBuildLoad2(g->B, g->i64, p, ""), types[i]);

		if (cap->slot[i].kind == 0)
			g->var[cap->slot[i].id] = (val){v, false};
		else if (cap->slot[i].kind == 1)
			g->buf[cap->slot[i].id] = v;
		else
			g->fail = v;
	}
	g->in_parallel = true;
	pb.s = s;
	pb.lo = from_slot(g, LLVMBuildLoad2(g->B, g->i64,
			  LLVMBuildGEP2(g->B, g->i64, LLVMGetParam(bodyfn, 0), (LLVMValueRef[]){c64(g, cap->n)}, 1, ""),
			  ""), g->i64);
	rc = counted_loop(g, s->u.loop.var, LLVMGetParam(bodyfn, 1), LLVMGetParam(bodyfn, 2), 1, par_iter, &pb);
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

static void set_attr(cg *g, LLVMValueRef fn, unsigned idx, const char *name)
{
	unsigned kind = LLVMGetEnumAttributeKindForName(name, strlen(name));

	LLVMAddAttributeAtIndex(fn, idx, LLVMCreateEnumAttribute(g->C, kind, 0));
}

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
	g.vec_var = -1;
	if (!g.var || !g.stride || !g.buf || !g.var0) {
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
