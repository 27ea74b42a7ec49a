/*
 * cg_emit: the shared emitter's setup and expressions (cg_emit.h).
 *
 * Expressions are scalar, or vectors of vl lanes in the CPU's vector mode:
 * an index that moves by one per lane loads and stores contiguously, any
 * other one gathers and scatters, and a load under a lane mask (a select's
 * operand) is masked.  `select`, `&&` and `||` whose lazy operand loads
 * evaluate it only where it is chosen.  Integer `/` and `%` are floor
 * division and modulo with x / 0 = x % 0 = 0; float `%` is a - floor(a /
 * b) * b with x % 0 = 0; float-to-int casts saturate — the semantics of
 * both interpreters.
 */
#include "cg_emit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cg_emit_init(cg_emit *g, const cg_emit_hooks *h, const lir_func *f, LLVMContextRef C, LLVMModuleRef M,
		 rt_error *err)
{
	size_t nv = (size_t)lir_func_nvars(f) + 1, nb = (size_t)lir_func_nbuffers(f) + 1;

	memset(g, 0, sizeof(*g));
	g->h = h;
	g->f = f;
	g->err = err;
	g->C = C;
	g->M = M;
	g->B = LLVMCreateBuilderInContext(C);
	g->i1 = LLVMInt1TypeInContext(C);
	g->i8 = LLVMInt8TypeInContext(C);
	g->i32 = LLVMInt32TypeInContext(C);
	g->i64 = LLVMInt64TypeInContext(C);
	g->ix = g->i64;
	g->f32 = LLVMFloatTypeInContext(C);
	g->f64 = LLVMDoubleTypeInContext(C);
	g->ptr = LLVMPointerTypeInContext(C, 0);
	g->vd = LLVMVoidTypeInContext(C);
	g->vec_var = -1;
	g->var = calloc(nv, sizeof(cg_val));
	g->tz = calloc(nv, sizeof(int));
	g->rng = calloc(nv, sizeof(cg_range));
	g->var0 = calloc(nv, sizeof(LLVMValueRef));
	g->stride = calloc(nv, sizeof(int));
	g->tz0 = calloc(nv, sizeof(int));
	g->buf = calloc(nb, sizeof(LLVMValueRef));
	g->buf_align = calloc(nb, sizeof(int));
	g->lane_acc = calloc(nb, sizeof(int64_t));
	g->lane_wrote = calloc(nb, sizeof(bool));
	if (!g->var || !g->tz || !g->rng || !g->var0 || !g->stride || !g->tz0 || !g->buf || !g->buf_align || !g->lane_acc ||
	    !g->lane_wrote)
		return rt_error_set(err, 0, 0, "out of memory");
	return 0;
}

void cg_emit_release(cg_emit *g)
{
	if (g->B)
		LLVMDisposeBuilder(g->B);
	free(g->var);
	free(g->tz);
	free(g->rng);
	free(g->var0);
	free(g->stride);
	free(g->tz0);
	free(g->buf);
	free(g->buf_align);
	free(g->lane_acc);
	free(g->lane_wrote);
	memset(g, 0, sizeof(*g));
}

int cg_emit_fail(cg_emit *g, const char *msg, const char *where)
{
	return rt_error_set(g->err, 0, 0, "%s: %s%s%s", g->h->what, msg, where ? " " : "", where ? where : "");
}

bool cg_emit_failed(const cg_emit *g)
{
	return g->err && g->err->set;
}

LLVMTypeRef cg_emit_type(cg_emit *g, lir_type t)
{
	switch (t) {
	case LIR_F32: return g->f32;
	case LIR_F64: return g->f64;
	case LIR_I32: return g->i32;
	case LIR_I64: return g->ix;
	default: return g->i1;
	}
}

static LLVMTypeRef vtype(cg_emit *g, lir_type t)
{
	return LLVMVectorType(cg_emit_type(g, t), (unsigned)g->vl);
}

static bool is_vector(LLVMTypeRef t)
{
	return LLVMGetTypeKind(t) == LLVMVectorTypeKind;
}

static LLVMTypeRef scalar_of(LLVMTypeRef t)
{
	return is_vector(t) ? LLVMGetElementType(t) : t;
}

LLVMValueRef cg_emit_c64(cg_emit *g, int64_t v)
{
	return LLVMConstInt(g->i64, (unsigned long long)v, 1);
}

LLVMValueRef cg_emit_cix(cg_emit *g, int64_t v)
{
	return LLVMConstInt(g->ix, (unsigned long long)v, 1);
}

LLVMValueRef cg_emit_splat(cg_emit *g, cg_val x)
{
	LLVMValueRef undef, ins, zeros;

	if (x.vec)
		return x.v;
	undef = LLVMGetUndef(LLVMVectorType(LLVMTypeOf(x.v), (unsigned)g->vl));
	ins = LLVMBuildInsertElement(g->B, undef, x.v, LLVMConstInt(g->i32, 0, 0), "");
	zeros = LLVMConstNull(LLVMVectorType(g->i32, (unsigned)g->vl));
	return LLVMBuildShuffleVector(g->B, ins, undef, zeros, "splat");
}

/* Scalar constant c in the shape of type t (splat when t is a vector). */
static LLVMValueRef shaped(cg_emit *g, LLVMTypeRef t, LLVMValueRef c)
{
	return is_vector(t) ? cg_emit_splat(g, (cg_val){c, false}) : c;
}

static LLVMValueRef freal(cg_emit *g, LLVMTypeRef t, double v)
{
	return shaped(g, t, LLVMConstReal(scalar_of(t), v));
}

LLVMValueRef cg_emit_intrinsic(cg_emit *g, const char *name, LLVMTypeRef *tys, int ntys, LLVMValueRef *args,
			       int nargs)
{
	unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
	LLVMValueRef fn;

	if (!id) {
		cg_emit_fail(g, "LLVM has no intrinsic", name);
		return LLVMGetUndef(g->i32);
	}
	fn = LLVMGetIntrinsicDeclaration(g->M, id, tys, (size_t)ntys);
	return LLVMBuildCall2(g->B, LLVMIntrinsicGetType(g->C, id, tys, (size_t)ntys), fn, args, (unsigned)nargs,
			      "");
}

void cg_emit_attr(cg_emit *g, LLVMValueRef fn, unsigned idx, const char *name, uint64_t v)
{
	unsigned kind = LLVMGetEnumAttributeKindForName(name, strlen(name));

	LLVMAddAttributeAtIndex(fn, idx, LLVMCreateEnumAttribute(g->C, kind, v));
}

/* Trailing zero bits of every value of e, or (lane0) of lane 0 of e. */
static int tzeros(const cg_emit *g, const lir_expr *e, bool lane0)
{
	int a, b;

	switch (e->op) {
	case LIR_CONST:
		return e->c.i == 0 ? 64 : __builtin_ctzll((unsigned long long)e->c.i);
	case LIR_VAR:
		return lane0 && (e->id == g->vec_var || g->var[e->id].vec) ? g->tz0[e->id] : g->tz[e->id];
	case LIR_NEG: case LIR_CAST:
		return lir_type_is_float(e->args[0]->type) ? 0 : tzeros(g, e->args[0], lane0);
	case LIR_ADD: case LIR_SUB: case LIR_MIN: case LIR_MAX:
		a = tzeros(g, e->args[0], lane0);
		b = tzeros(g, e->args[1], lane0);
		return a < b ? a : b;
	case LIR_MUL:
		a = tzeros(g, e->args[0], lane0) + tzeros(g, e->args[1], lane0);
		return a > 64 ? 64 : a;
	case LIR_SELECT:
		a = tzeros(g, e->args[1], lane0);
		b = tzeros(g, e->args[2], lane0);
		return a < b ? a : b;
	default:
		return 0;
	}
}

int cg_emit_tzeros(const cg_emit *g, const lir_expr *e)
{
	return tzeros(g, e, false);
}

int cg_emit_tzeros0(const cg_emit *g, const lir_expr *e)
{
	return tzeros(g, e, true);
}

/* ---- vector mode: how indices move across lanes ---- */

static LLVMValueRef arith(cg_emit *g, lir_op op, lir_type t, LLVMValueRef a, LLVMValueRef b);
static LLVMValueRef shift_divmod(cg_emit *g, const lir_expr *e, LLVMValueRef a);

/*
 * The lane step of a / c or a % c for a constant power of two c (a blocked
 * copy's index, lower_ast.c buf_index): the lanes a0 + s*l (l < vl) stay in
 * one block of c when a0 is a multiple of 2^t (t: lane 0's known trailing
 * zeros, at most log2 c) and s*(vl - 1) < 2^t; then a / c is the same in
 * every lane and a % c moves by s.  When c divides s (a stride-2 read of a
 * copy blocked by 2), a / c moves by s / c and a % c is uniform.  Else -1
 * (a gather), unless uniform.
 */
static int64_t divmod_step(cg_emit *g, const lir_expr *e)
{
	const lir_expr *c = e->args[1];
	int64_t s = cg_emit_lane_step(g, e->args[0]), span;
	int t, log2c;

	if (s == 0 && cg_emit_lane_step(g, c) == 0)
		return 0;
	if (s < 0 || c->op != LIR_CONST || c->type != LIR_I64 || c->c.i < 1)
		return -1;
	if (s % c->c.i == 0) /* (a0 + s l) / c = a0 / c + (s / c) l: a de-interleave */
		return e->op == LIR_DIV ? s / c->c.i : 0;
	if (c->c.i & (c->c.i - 1))
		return -1;
	log2c = __builtin_ctzll((unsigned long long)c->c.i);
	t = cg_emit_tzeros0(g, e->args[0]);
	t = t < log2c ? t : log2c;
	if (__builtin_mul_overflow(s, (int64_t)(g->vl - 1), &span) || span >= ((int64_t)1 << t))
		return -1;
	return e->op == LIR_DIV ? 0 : s;
}

int64_t cg_emit_lane_step(cg_emit *g, const lir_expr *e)
{
	int64_t a, b;

	switch (e->op) {
	case LIR_CONST:
		return 0;
	case LIR_VAR:
		return e->id == g->vec_var ? 1 : g->var[e->id].vec ? g->stride[e->id] : 0;
	case LIR_ADD: case LIR_SUB:
		a = cg_emit_lane_step(g, e->args[0]);
		b = cg_emit_lane_step(g, e->args[1]);
		return a < 0 || b < 0 ? -1 : e->op == LIR_ADD ? a + b : (a - b >= 0 ? a - b : -1);
	case LIR_MUL:
		a = cg_emit_lane_step(g, e->args[0]);
		b = cg_emit_lane_step(g, e->args[1]);
		if (a == 0 && b == 0)
			return 0;
		if (a >= 0 && b == 0 && e->args[1]->op == LIR_CONST && e->args[1]->c.i >= 0)
			return a * e->args[1]->c.i;
		if (b >= 0 && a == 0 && e->args[0]->op == LIR_CONST && e->args[0]->c.i >= 0)
			return b * e->args[0]->c.i;
		return -1;
	case LIR_DIV: case LIR_MOD:
		return divmod_step(g, e);
	default:
		for (int i = 0; i < e->nargs; i++)
			if (cg_emit_lane_step(g, e->args[i]) != 0)
				return -1;
		return 0;
	}
}

LLVMValueRef cg_emit_lane0(cg_emit *g, const lir_expr *e)
{
	LLVMValueRef a, b;

	switch (e->op) {
	case LIR_CONST:
		return LLVMConstInt(cg_emit_type(g, e->type), (unsigned long long)e->c.i, 1);
	case LIR_VAR:
		return g->var[e->id].vec ? g->var0[e->id] : g->var[e->id].v;
	case LIR_NEG:
		return (a = cg_emit_lane0(g, e->args[0])) ? LLVMBuildNeg(g->B, a, "") : NULL;
	case LIR_ADD: case LIR_SUB: case LIR_MUL: case LIR_DIV: case LIR_MOD: case LIR_MIN: case LIR_MAX:
		a = cg_emit_lane0(g, e->args[0]);
		if (a && (b = shift_divmod(g, e, a)))
			return b;
		b = cg_emit_lane0(g, e->args[1]);
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
 * cg_emit_lanes_conflict.
 */
static void note_access(cg_emit *g, int buf, int64_t step, bool write)
{
	int64_t *a = &g->lane_acc[buf];

	if (g->vec_var < 0 || lir_func_buffer(g->f, buf)->scope == LIR_GLOBAL)
		return;
	*a = *a == CG_ACC_NONE ? step : *a == step ? step : CG_ACC_MIXED;
	g->lane_wrote[buf] |= write;
}

/*
 * A local buffer written to at an index that is the same in several lanes
 * (uniform, not linear in the lane, or with mixed steps) is private to
 * each iteration of the loop (a tile at or inside it, e.g. a cache_write
 * accumulator) in the serial semantics of lir, and lanes run in lockstep
 * would overwrite one another.
 */
bool cg_emit_lanes_conflict(const cg_emit *g)
{
	for (int b = 0; b < lir_func_nbuffers(g->f); b++)
		if (g->lane_wrote[b] && g->lane_acc[b] < 1)
			return true;
	return false;
}

/* ---- memory ---- */

/* The alignment an access to buf at index idx may assume: the element
 * size times the known power of two of the index, up to 16 bytes, within
 * the base's known alignment. */
static unsigned access_align(const cg_emit *g, int buf, const lir_expr *idx)
{
	const lir_buffer *b = lir_func_buffer(g->f, buf);
	unsigned size = (unsigned)lir_type_size(b->type), a = size;
	int tz = cg_emit_tzeros(g, idx);

	for (int i = 0; i < tz && a < 16; i++)
		a *= 2;
	if ((int)a > g->buf_align[buf])
		a = (unsigned)g->buf_align[buf] > size ? (unsigned)g->buf_align[buf] : size;
	return a;
}

static LLVMValueRef elem_ptr(cg_emit *g, int buf, LLVMValueRef idx)
{
	LLVMTypeRef et = cg_emit_type(g, lir_func_buffer(g->f, buf)->type);

	return LLVMBuildGEP2(g->B, et, g->buf[buf], &idx, 1, "");
}

static LLVMValueRef all_lanes(cg_emit *g)
{
	return g->mask ? g->mask : LLVMConstAllOnes(LLVMVectorType(g->i1, (unsigned)g->vl));
}

/* A uniform load: under a lane mask, from the buffer's base when no lane runs. */
static LLVMValueRef load_scalar(cg_emit *g, int buf, LLVMValueRef idx)
{
	LLVMTypeRef et = cg_emit_type(g, lir_func_buffer(g->f, buf)->type);
	LLVMValueRef p = elem_ptr(g, buf, idx), any;

	if (g->mask) {
		any = cg_emit_intrinsic(g, "llvm.vector.reduce.or", (LLVMTypeRef[]){LLVMTypeOf(g->mask)}, 1, &g->mask, 1);
		p = LLVMBuildSelect(g->B, any, p, g->buf[buf], "");
	}
	return LLVMBuildLoad2(g->B, et, p, "");
}

/* A load whose index varies across lanes: contiguous, or a gather. */
static LLVMValueRef load_lanes(cg_emit *g, const lir_expr *e, LLVMValueRef idx, unsigned align)
{
	lir_type t = lir_func_buffer(g->f, e->id)->type;
	LLVMValueRef p, r;

	if (cg_emit_lane_step(g, e->args[0]) == 1) {
		p = elem_ptr(g, e->id, cg_emit_lane0(g, e->args[0]));
		if (g->mask)
			return cg_emit_intrinsic(g, "llvm.masked.load", (LLVMTypeRef[]){vtype(g, t), g->ptr}, 2,
						 (LLVMValueRef[]){p, LLVMConstInt(g->i32, align, 0), g->mask,
								  LLVMGetUndef(vtype(g, t))}, 4);
		r = LLVMBuildLoad2(g->B, vtype(g, t), p, "");
		LLVMSetAlignment(r, align);
		return r;
	}
	p = elem_ptr(g, e->id, idx);
	return cg_emit_intrinsic(g, "llvm.masked.gather",
				 (LLVMTypeRef[]){vtype(g, t), LLVMVectorType(g->ptr, (unsigned)g->vl)}, 2,
				 (LLVMValueRef[]){p, LLVMConstInt(g->i32, align, 0), all_lanes(g), LLVMGetUndef(vtype(g, t))},
				 4);
}

static cg_val load(cg_emit *g, const lir_expr *e)
{
	cg_val idx = cg_emit_expr(g, e->args[0]);
	unsigned align;
	LLVMValueRef r;

	if (!idx.v || !g->buf[e->id]) {
		cg_emit_fail(g, "a load of a buffer out of scope:", lir_func_buffer(g->f, e->id)->name);
		return (cg_val){NULL, false};
	}
	align = access_align(g, e->id, e->args[0]);
	note_access(g, e->id, idx.vec ? cg_emit_lane_step(g, e->args[0]) : 0, false);
	if (idx.vec)
		return (cg_val){load_lanes(g, e, idx.v, align), true};
	r = load_scalar(g, e->id, idx.v);
	LLVMSetAlignment(r, align);
	return (cg_val){r, false};
}

int cg_emit_store(cg_emit *g, const lir_stmt *s)
{
	int buf = s->u.store.buf;
	const lir_buffer *b = lir_func_buffer(g->f, buf);
	cg_val idx, v;
	unsigned align;
	LLVMValueRef st, ptrs;

	if (!g->buf[buf])
		return cg_emit_fail(g, "a store to a buffer out of scope:", b->name);
	idx = cg_emit_expr(g, s->u.store.index);
	v = cg_emit_expr(g, s->u.store.value);
	if (!idx.v || !v.v)
		return -1;
	align = access_align(g, buf, s->u.store.index);
	note_access(g, buf, idx.vec ? cg_emit_lane_step(g, s->u.store.index) : 0, true);
	if (!idx.vec) {
		/* a vector stored to one element: the last lane wins, as in a loop */
		if (v.vec)
			v.v = LLVMBuildExtractElement(g->B, v.v, LLVMConstInt(g->i32, (unsigned)g->vl - 1, 0), "");
		st = LLVMBuildStore(g->B, v.v, elem_ptr(g, buf, idx.v));
	} else if (cg_emit_lane_step(g, s->u.store.index) == 1 && !g->mask) {
		st = LLVMBuildStore(g->B, cg_emit_splat(g, v), elem_ptr(g, buf, cg_emit_lane0(g, s->u.store.index)));
	} else {
		ptrs = elem_ptr(g, buf, idx.v);
		cg_emit_intrinsic(g, "llvm.masked.scatter",
				  (LLVMTypeRef[]){vtype(g, b->type), LLVMVectorType(g->ptr, (unsigned)g->vl)}, 2,
				  (LLVMValueRef[]){cg_emit_splat(g, v), ptrs, LLVMConstInt(g->i32, align, 0), all_lanes(g)},
				  4);
		return cg_emit_failed(g) ? -1 : 0;
	}
	LLVMSetAlignment(st, align);
	return 0;
}

/* ---- arithmetic ---- */

/* Floor division or modulo of integers; x / 0 and x % 0 are 0. */
static LLVMValueRef floor_divmod(cg_emit *g, bool mod, LLVMValueRef a, LLVMValueRef b)
{
	LLVMTypeRef t = LLVMTypeOf(b);
	LLVMValueRef zero = LLVMConstNull(t), one = shaped(g, t, LLVMConstInt(scalar_of(t), 1, 0));
	LLVMValueRef is0 = LLVMBuildICmp(g->B, LLVMIntEQ, b, zero, "");
	LLVMValueRef neg1 = LLVMBuildICmp(g->B, LLVMIntEQ, b, LLVMConstAllOnes(t), "");
	LLVMValueRef bad = LLVMBuildOr(g->B, is0, neg1, "");
	LLVMValueRef safe = LLVMBuildSelect(g->B, bad, one, b, "");
	LLVMValueRef q = LLVMBuildSDiv(g->B, a, safe, ""), r = LLVMBuildSRem(g->B, a, safe, "");
	LLVMValueRef adj = LLVMBuildAnd(g->B, LLVMBuildICmp(g->B, LLVMIntNE, r, zero, ""),
					LLVMBuildICmp(g->B, LLVMIntSLT, LLVMBuildXor(g->B, r, safe, ""), zero, ""), "");

	/* b == -1 is computed as 1 then negated (INT_MIN / -1 wraps) */
	if (mod) {
		r = LLVMBuildSelect(g->B, adj, LLVMBuildAdd(g->B, r, safe, ""), r, "");
		return LLVMBuildSelect(g->B, bad, zero, r, "");
	}
	q = LLVMBuildSelect(g->B, adj, LLVMBuildSub(g->B, q, one, ""), q, "");
	q = LLVMBuildSelect(g->B, neg1, LLVMBuildNeg(g->B, a, ""), q, "");
	return LLVMBuildSelect(g->B, is0, zero, q, "");
}

/* Floor modulo of floats: a - floor(a / b) * b, and 0 when b is 0. */
static LLVMValueRef fmod_floor(cg_emit *g, LLVMValueRef a, LLVMValueRef b)
{
	LLVMTypeRef ty = LLVMTypeOf(a);
	LLVMValueRef q = cg_emit_intrinsic(g, "llvm.floor", &ty, 1, (LLVMValueRef[]){LLVMBuildFDiv(g->B, a, b, "")}, 1);
	LLVMValueRef r = LLVMBuildFSub(g->B, a, LLVMBuildFMul(g->B, q, b, ""), "");

	return LLVMBuildSelect(g->B, LLVMBuildFCmp(g->B, LLVMRealOEQ, b, LLVMConstNull(ty), ""), LLVMConstNull(ty),
			       r, "");
}

static LLVMValueRef cmp(cg_emit *g, lir_op op, lir_type t, LLVMValueRef a, LLVMValueRef b)
{
	static const LLVMIntPredicate ip[] = {LLVMIntSLT, LLVMIntSLE, LLVMIntSGT, LLVMIntSGE, LLVMIntEQ, LLVMIntNE};
	static const LLVMRealPredicate fp[] = {LLVMRealOLT, LLVMRealOLE, LLVMRealOGT, LLVMRealOGE, LLVMRealOEQ,
					       LLVMRealUNE};
	int k = op - LIR_LT;

	return lir_type_is_float(t) ? LLVMBuildFCmp(g->B, fp[k], a, b, "") : LLVMBuildICmp(g->B, ip[k], a, b, "");
}

/* A float add/sub/mul that may be contracted into a fused multiply-add
 * (one rounding instead of two: within every tolerance ftc checks). */
static LLVMValueRef contract(LLVMValueRef v)
{
	if (LLVMIsAInstruction(v))
		LLVMSetFastMathFlags(v, LLVMFastMathAllowContract);
	return v;
}

static LLVMValueRef arith(cg_emit *g, lir_op op, lir_type t, LLVMValueRef a, LLVMValueRef b)
{
	bool f = lir_type_is_float(t);
	LLVMTypeRef ty = LLVMTypeOf(a);

	switch (op) {
	case LIR_ADD: return f ? contract(LLVMBuildFAdd(g->B, a, b, "")) : LLVMBuildAdd(g->B, a, b, "");
	case LIR_SUB: return f ? contract(LLVMBuildFSub(g->B, a, b, "")) : LLVMBuildSub(g->B, a, b, "");
	case LIR_MUL: return f ? contract(LLVMBuildFMul(g->B, a, b, "")) : LLVMBuildMul(g->B, a, b, "");
	case LIR_DIV: return f ? LLVMBuildFDiv(g->B, a, b, "") : floor_divmod(g, false, a, b);
	case LIR_MOD: return f ? fmod_floor(g, a, b) : floor_divmod(g, true, a, b);
	case LIR_AND: return LLVMBuildAnd(g->B, a, b, "");
	case LIR_OR: return LLVMBuildOr(g->B, a, b, "");
	case LIR_MIN:
		return cg_emit_intrinsic(g, f ? "llvm.minnum" : "llvm.smin", &ty, 1, (LLVMValueRef[]){a, b}, 2);
	case LIR_MAX:
		return cg_emit_intrinsic(g, f ? "llvm.maxnum" : "llvm.smax", &ty, 1, (LLVMValueRef[]){a, b}, 2);
	default:
		return cmp(g, op, t, a, b);
	}
}

static LLVMValueRef exp_log(cg_emit *g, bool is_exp, lir_type t, LLVMValueRef a)
{
	LLVMTypeRef ty = LLVMTypeOf(a);

	if (g->h->exp_log)
		return g->h->exp_log(g, is_exp, t, a);
	return cg_emit_intrinsic(g, is_exp ? "llvm.exp" : "llvm.log", &ty, 1, &a, 1);
}

static LLVMValueRef math1(cg_emit *g, lir_op op, lir_type t, LLVMValueRef a)
{
	LLVMTypeRef ty = LLVMTypeOf(a);
	bool f = lir_type_is_float(t);
	LLVMValueRef one, two, e2x;

	switch (op) {
	case LIR_NEG:
		return f ? LLVMBuildFNeg(g->B, a, "") : LLVMBuildNeg(g->B, a, "");
	case LIR_NOT:
		return LLVMBuildNot(g->B, a, "");
	case LIR_ABS:
		if (f)
			return cg_emit_intrinsic(g, "llvm.fabs", &ty, 1, &a, 1);
		return cg_emit_intrinsic(g, "llvm.abs", &ty, 1, (LLVMValueRef[]){a, LLVMConstInt(g->i1, 0, 0)}, 2);
	case LIR_EXP: case LIR_LOG:
		return exp_log(g, op == LIR_EXP, t, a);
	case LIR_SQRT:
		return cg_emit_intrinsic(g, "llvm.sqrt", &ty, 1, &a, 1);
	case LIR_TANH:
		/* tanh(x) = 1 - 2 / (exp(2x) + 1), saturating correctly at +-inf */
		one = freal(g, ty, 1.0);
		two = freal(g, ty, 2.0);
		e2x = exp_log(g, true, t, LLVMBuildFMul(g->B, two, a, ""));
		return LLVMBuildFSub(g->B, one, LLVMBuildFDiv(g->B, two, LLVMBuildFAdd(g->B, e2x, one, ""), ""), "");
	default:
		cg_emit_fail(g, "an operator that is not unary", NULL);
		return NULL;
	}
}

static LLVMValueRef cast(cg_emit *g, lir_type to, lir_type from, LLVMValueRef a, bool vec)
{
	LLVMTypeRef dt = vec ? vtype(g, to) : cg_emit_type(g, to), st = LLVMTypeOf(a);
	bool ff = lir_type_is_float(from), tf = lir_type_is_float(to);

	if (to == from || dt == st)
		return a;
	if (to == LIR_BOOL)
		return ff ? LLVMBuildFCmp(g->B, LLVMRealUNE, a, LLVMConstNull(st), "")
			  : LLVMBuildICmp(g->B, LLVMIntNE, a, LLVMConstNull(st), "");
	if (ff && tf)
		return lir_type_size(to) > lir_type_size(from) ? LLVMBuildFPExt(g->B, a, dt, "")
							       : LLVMBuildFPTrunc(g->B, a, dt, "");
	if (tf)
		return from == LIR_BOOL ? LLVMBuildUIToFP(g->B, a, dt, "") : LLVMBuildSIToFP(g->B, a, dt, "");
	if (ff)
		return cg_emit_intrinsic(g, "llvm.fptosi.sat", (LLVMTypeRef[]){dt, st}, 2, &a, 1);
	if (from == LIR_BOOL)
		return LLVMBuildZExt(g->B, a, dt, "");
	return LLVMGetIntTypeWidth(scalar_of(dt)) > LLVMGetIntTypeWidth(scalar_of(st)) ? LLVMBuildSExt(g->B, a, dt, "")
										       : LLVMBuildTrunc(g->B, a, dt, "");
}

/* ---- lazy operands ---- */

static bool has_load(const lir_expr *e)
{
	if (e->op == LIR_LOAD)
		return true;
	for (int i = 0; i < e->nargs; i++)
		if (has_load(e->args[i]))
			return true;
	return false;
}

/* An operand: expression a, or the constant k when a is NULL. */
static cg_val operand(cg_emit *g, const lir_expr *a, LLVMValueRef k)
{
	return a ? cg_emit_expr(g, a) : (cg_val){k, false};
}

/* select(c, a, b) evaluating only the chosen operand (a is the constant
 * ka when NULL): vector lanes each under their mask, a scalar condition
 * by branches. */
static cg_val pick(cg_emit *g, cg_val c, const lir_expr *a, LLVMValueRef ka, const lir_expr *b)
{
	LLVMBasicBlockRef ta, tb, join, ea, eb;
	LLVMValueRef saved = g->mask, nm, phi;
	cg_val x, y;

	if (c.vec) {
		nm = LLVMBuildNot(g->B, c.v, "");
		g->mask = saved ? LLVMBuildAnd(g->B, saved, c.v, "") : c.v;
		x = operand(g, a, ka);
		g->mask = saved ? LLVMBuildAnd(g->B, saved, nm, "") : nm;
		y = cg_emit_expr(g, b);
		g->mask = saved;
		if (!x.v || !y.v)
			return (cg_val){NULL, false};
		return (cg_val){LLVMBuildSelect(g->B, c.v, cg_emit_splat(g, x), cg_emit_splat(g, y), ""), true};
	}
	ta = LLVMAppendBasicBlockInContext(g->C, g->fn, "lazy.a");
	tb = LLVMAppendBasicBlockInContext(g->C, g->fn, "lazy.b");
	join = LLVMAppendBasicBlockInContext(g->C, g->fn, "lazy.end");
	LLVMBuildCondBr(g->B, c.v, ta, tb);
	LLVMPositionBuilderAtEnd(g->B, ta);
	x = operand(g, a, ka);
	ea = LLVMGetInsertBlock(g->B);
	LLVMPositionBuilderAtEnd(g->B, tb);
	y = cg_emit_expr(g, b);
	eb = LLVMGetInsertBlock(g->B);
	if (!x.v || !y.v)
		return (cg_val){NULL, false};
	if (x.vec != y.vec) {
		LLVMPositionBuilderAtEnd(g->B, ea);
		x.v = cg_emit_splat(g, x);
		LLVMPositionBuilderAtEnd(g->B, eb);
		y.v = cg_emit_splat(g, y);
		x.vec = true;
	}
	LLVMPositionBuilderAtEnd(g->B, ea);
	LLVMBuildBr(g->B, join);
	LLVMPositionBuilderAtEnd(g->B, eb);
	LLVMBuildBr(g->B, join);
	LLVMPositionBuilderAtEnd(g->B, join);
	phi = LLVMBuildPhi(g->B, LLVMTypeOf(x.v), "");
	LLVMAddIncoming(phi, (LLVMValueRef[]){x.v, y.v}, (LLVMBasicBlockRef[]){ea, eb}, 2);
	return (cg_val){phi, x.vec};
}

/*
 * a / c or a % c (e) for a constant power of two c when a is never negative
 * here (its range): a shift or a mask, not floor_divmod's signed division
 * and fix-ups, so that LLVM's known bits see through it: (8 k_o + k_i) / 32
 * with an unrolled k_i < 8 becomes the same k_o / 4 in every copy (one
 * load where there were eight), and a blocked copy's (x - off) / 16 and
 * % 16 stay cheap.  NULL when that does not hold.
 */
static LLVMValueRef shift_divmod(cg_emit *g, const lir_expr *e, LLVMValueRef a)
{
	const lir_expr *c = e->args[1];
	LLVMTypeRef t = LLVMTypeOf(a);
	cg_range r;
	int64_t k;

	if ((e->op != LIR_DIV && e->op != LIR_MOD) || lir_type_is_float(e->type) || c->op != LIR_CONST ||
	    c->c.i < 1 || (c->c.i & (c->c.i - 1)))
		return NULL;
	r = cg_expr_range(e->args[0], g->rng);
	if (!r.known || r.lo < 0)
		return NULL;
	k = e->op == LIR_DIV ? __builtin_ctzll((unsigned long long)c->c.i) : c->c.i - 1;
	return e->op == LIR_DIV ? LLVMBuildLShr(g->B, a, shaped(g, t, LLVMConstInt(scalar_of(t), (unsigned long long)k, 0)), "")
				: LLVMBuildAnd(g->B, a, shaped(g, t, LLVMConstInt(scalar_of(t), (unsigned long long)k, 0)), "");
}

/* a op b, a scalar operand splat when the other is a vector. */
static cg_val binary(cg_emit *g, lir_op op, lir_type t, cg_val a, cg_val b)
{
	if (a.vec != b.vec) {
		a.v = cg_emit_splat(g, a);
		b.v = cg_emit_splat(g, b);
		a.vec = true;
	}
	return (cg_val){arith(g, op, t, a.v, b.v), a.vec};
}

/* a && b = a ? b : false and a || b = a ? true : b, lazily when b loads. */
static cg_val logic(cg_emit *g, const lir_expr *e)
{
	cg_val a = cg_emit_expr(g, e->args[0]), b;

	if (!a.v)
		return a;
	if (!has_load(e->args[1])) {
		b = cg_emit_expr(g, e->args[1]);
		return b.v ? binary(g, e->op, e->type, a, b) : b;
	}
	if (e->op == LIR_AND)
		return pick(g, (cg_val){LLVMBuildNot(g->B, a.v, ""), a.vec}, NULL, LLVMConstInt(g->i1, 0, 0), e->args[1]);
	return pick(g, a, NULL, LLVMConstInt(g->i1, 1, 0), e->args[1]);
}

static cg_val select_expr(cg_emit *g, const lir_expr *e)
{
	cg_val a = cg_emit_expr(g, e->args[0]), b, c;

	if (!a.v)
		return a;
	if (has_load(e->args[1]) || has_load(e->args[2]))
		return pick(g, a, e->args[1], NULL, e->args[2]);
	b = cg_emit_expr(g, e->args[1]);
	c = cg_emit_expr(g, e->args[2]);
	if (!b.v || !c.v)
		return (cg_val){NULL, false};
	if (a.vec || b.vec || c.vec)
		return (cg_val){LLVMBuildSelect(g->B, cg_emit_splat(g, a), cg_emit_splat(g, b), cg_emit_splat(g, c), ""),
				true};
	return (cg_val){LLVMBuildSelect(g->B, a.v, b.v, c.v, ""), false};
}

cg_val cg_emit_expr(cg_emit *g, const lir_expr *e)
{
	cg_val a, b;
	LLVMValueRef r;

	if (!e || cg_emit_failed(g))
		return (cg_val){NULL, false};
	switch (e->op) {
	case LIR_CONST:
		if (lir_type_is_float(e->type))
			return (cg_val){LLVMConstReal(cg_emit_type(g, e->type), e->c.f), false};
		return (cg_val){LLVMConstInt(cg_emit_type(g, e->type), (unsigned long long)e->c.i, 1), false};
	case LIR_VAR:
		if (!g->var[e->id].v)
			cg_emit_fail(g, "a variable used out of scope:", lir_func_var(g->f, e->id)->name);
		return g->var[e->id];
	case LIR_LOAD:
		return load(g, e);
	case LIR_SELECT:
		return select_expr(g, e);
	case LIR_CAST:
		a = cg_emit_expr(g, e->args[0]);
		return a.v ? (cg_val){cast(g, e->type, e->args[0]->type, a.v, a.vec), a.vec} : a;
	case LIR_AND: case LIR_OR:
		return logic(g, e);
	default:
		break;
	}
	if (!(a = cg_emit_expr(g, e->args[0])).v)
		return a;
	if (e->nargs == 1)
		return (r = math1(g, e->op, e->type, a.v)) ? (cg_val){r, a.vec} : (cg_val){NULL, false};
	if ((r = shift_divmod(g, e, a.v)))
		return (cg_val){r, a.vec};
	b = cg_emit_expr(g, e->args[1]);
	return b.v ? binary(g, e->op, e->args[0]->type, a, b) : b;
}
