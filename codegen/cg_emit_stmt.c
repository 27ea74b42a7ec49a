/*
 * cg_emit_stmt: the shared emitter's statements (cg_emit.h).
 *
 * Integer ranges of loop variables and lets (cg_range) are kept for every
 * target: a loop bound whose range is one value becomes that constant, an
 * `if` whose condition the ranges decide emits one arm, and a loop whose
 * trip count is constant may be expanded.  Trailing zero bits of integer
 * values are kept too: they prove the alignment of accesses.
 */
#include "cg_emit.h"

#include <stdlib.h>
#include <string.h>

#define CG_MAX_UNROLL 64 /* longest loop expanded */

static int dispatch(cg_emit *g, const lir_stmt *s)
{
	int rc = g->h->stmt ? g->h->stmt(g, s) : cg_emit_stmt_base(g, s);

	return cg_emit_failed(g) ? -1 : rc;
}

/* A loop: its variable's range is [lo, hi - 1] inside (unknown when the
 * bounds' ranges are unknown), for the target's handling as for ours. */
static int loop_scope(cg_emit *g, const lir_stmt *s)
{
	int var = s->u.loop.var, rc;
	cg_range saved = g->rng[var], lo = cg_expr_range(s->u.loop.lo, g->rng);
	cg_range hi = cg_expr_range(s->u.loop.hi, g->rng);

	g->rng[var] = lo.known && hi.known && lo.lo <= hi.hi - 1 ? (cg_range){lo.lo, hi.hi - 1, true}
								 : (cg_range){0, 0, false};
	rc = dispatch(g, s);
	g->rng[var] = saved;
	return rc;
}

int cg_emit_stmt(cg_emit *g, const lir_stmt *s)
{
	if (!s || cg_emit_failed(g))
		return cg_emit_failed(g) ? -1 : 0;
	return s->kind == LIR_FOR ? loop_scope(g, s) : dispatch(g, s);
}

int cg_emit_body(cg_emit *g, const void *s)
{
	return cg_emit_stmt(g, s);
}

int cg_emit_counted_loop(cg_emit *g, int var, LLVMValueRef lo, LLVMValueRef hi, LLVMValueRef step,
			 cg_emit_body_fn body, const void *user)
{
	LLVMBasicBlockRef pre = LLVMGetInsertBlock(g->B);
	LLVMBasicBlockRef head = LLVMAppendBasicBlockInContext(g->C, g->fn, "loop");
	LLVMBasicBlockRef bb = LLVMAppendBasicBlockInContext(g->C, g->fn, "body");
	LLVMBasicBlockRef exit = LLVMAppendBasicBlockInContext(g->C, g->fn, "exit");
	LLVMValueRef iv, next;
	cg_val saved = g->var[var];
	int rc;

	LLVMBuildBr(g->B, head);
	LLVMPositionBuilderAtEnd(g->B, head);
	iv = LLVMBuildPhi(g->B, LLVMTypeOf(lo), lir_func_var(g->f, var)->name);
	LLVMBuildCondBr(g->B, LLVMBuildICmp(g->B, LLVMIntSLT, iv, hi, ""), bb, exit);
	LLVMPositionBuilderAtEnd(g->B, bb);
	g->var[var] = (cg_val){iv, false};
	rc = body(g, user);
	next = LLVMBuildNSWAdd(g->B, iv, step, "");
	LLVMBuildBr(g->B, head);
	LLVMAddIncoming(iv, (LLVMValueRef[]){lo, next}, (LLVMBasicBlockRef[]){pre, LLVMGetInsertBlock(g->B)}, 2);
	LLVMPositionBuilderAtEnd(g->B, exit);
	g->var[var] = saved;
	return rc;
}

/* A loop bound: a constant where its range is one value here. */
static cg_val bound(cg_emit *g, const lir_expr *e)
{
	cg_range r = cg_expr_range(e, g->rng);

	return r.known && r.lo == r.hi ? (cg_val){cg_emit_cix(g, r.lo), false} : cg_emit_expr(g, e);
}

static int min_tz(int a, int b)
{
	return a < b ? a : b;
}

int cg_emit_for(cg_emit *g, const lir_stmt *s)
{
	int v = s->u.loop.var, tz = g->tz[v], rc;
	cg_val l = bound(g, s->u.loop.lo), h = bound(g, s->u.loop.hi);

	if (!l.v || !h.v)
		return -1;
	if (l.vec || h.vec)
		return cg_emit_fail(g, "a loop bound varies across vector lanes", NULL);
	g->tz[v] = min_tz(cg_emit_tzeros(g, s->u.loop.lo), __builtin_ctzll((unsigned long long)s->u.loop.step));
	rc = cg_emit_counted_loop(g, v, l.v, h.v, cg_emit_cix(g, s->u.loop.step), cg_emit_body, s->u.loop.body);
	g->tz[v] = tz;
	return rc;
}

bool cg_emit_const_trip(cg_emit *g, const lir_stmt *s, int64_t *lo, int64_t *n)
{
	cg_range l = cg_expr_range(s->u.loop.lo, g->rng), h = cg_expr_range(s->u.loop.hi, g->rng);

	if (!l.known || !h.known || l.lo != l.hi || h.lo != h.hi || s->u.loop.step < 1)
		return false;
	*lo = l.lo;
	*n = h.lo > l.lo ? (h.lo - l.lo + s->u.loop.step - 1) / s->u.loop.step : 0;
	return true;
}

int cg_emit_unrolled(cg_emit *g, const lir_stmt *s, int64_t lo, int64_t n)
{
	int v = s->u.loop.var, tz = g->tz[v], rc = 0;
	cg_val saved = g->var[v];
	cg_range saved_rng = g->rng[v];

	for (int64_t i = 0; i < n && !rc; i++) {
		int64_t x = lo + i * s->u.loop.step;

		g->var[v] = (cg_val){cg_emit_cix(g, x), false};
		g->rng[v] = (cg_range){x, x, true};
		g->tz[v] = x == 0 ? 64 : __builtin_ctzll((unsigned long long)x);
		rc = cg_emit_stmt(g, s->u.loop.body);
	}
	g->var[v] = saved;
	g->rng[v] = saved_rng;
	g->tz[v] = tz;
	return rc;
}

int cg_emit_let_then(cg_emit *g, const lir_stmt *s, cg_emit_body_fn cont, const void *user)
{
	int v = s->u.let.var, tz = g->tz[v], rc;
	const lir_expr *e = s->u.let.value;
	cg_val x = cg_emit_expr(g, e), saved = g->var[v];
	cg_range saved_rng = g->rng[v];

	if (!x.v)
		return -1;
	g->rng[v] = cg_expr_range(e, g->rng);
	g->var[v] = x;
	g->tz[v] = lir_type_is_float(e->type) ? 0 : cg_emit_tzeros(g, e);
	if (x.vec) {
		g->stride[v] = (int)cg_emit_lane_step(g, e);
		g->tz0[v] = cg_emit_tzeros0(g, e);
		g->var0[v] = e->type == LIR_I64 ? cg_emit_lane0(g, e) : NULL;
		if (g->stride[v] >= 0 && !g->var0[v])
			g->stride[v] = -1;
	}
	rc = cont(g, user);
	g->var[v] = saved;
	g->rng[v] = saved_rng;
	g->tz[v] = tz;
	return rc;
}

LLVMBasicBlockRef cg_emit_open_if(cg_emit *g, LLVMValueRef cond, const char *name)
{
	LLVMBasicBlockRef t = LLVMAppendBasicBlockInContext(g->C, g->fn, name);
	LLVMBasicBlockRef join = LLVMAppendBasicBlockInContext(g->C, g->fn, "endif");

	LLVMBuildCondBr(g->B, cond, t, join);
	LLVMPositionBuilderAtEnd(g->B, t);
	return join;
}

void cg_emit_close_if(cg_emit *g, LLVMBasicBlockRef join)
{
	LLVMBuildBr(g->B, join);
	LLVMPositionBuilderAtEnd(g->B, join);
}

/* One arm of an if, then a branch to the join. */
static int arm(cg_emit *g, LLVMBasicBlockRef bb, const lir_stmt *s, LLVMBasicBlockRef join)
{
	LLVMPositionBuilderAtEnd(g->B, bb);
	if (s && cg_emit_stmt(g, s))
		return -1;
	LLVMBuildBr(g->B, join);
	return 0;
}

/* if (c) then else: each arm starts from the target's flow state before
 * the if, and the join merges what the arms leave. */
static int branch(cg_emit *g, const lir_stmt *s)
{
	int known = cg_cond_value(s->u.cond.cond, g->rng), n = g->h->flow ? g->h->flow_size : 0;
	unsigned char before[CG_FLOW_MAX], after[CG_FLOW_MAX];
	void *flow = n ? g->h->flow(g) : NULL;
	LLVMBasicBlockRef t, e, join;
	cg_val c;

	if (known >= 0)
		return cg_emit_stmt(g, known ? s->u.cond.then_s : s->u.cond.else_s);
	if (!(c = cg_emit_expr(g, s->u.cond.cond)).v)
		return -1;
	if (c.vec)
		return cg_emit_fail(g, "a condition varies across vector lanes", NULL);
	t = LLVMAppendBasicBlockInContext(g->C, g->fn, "then");
	e = LLVMAppendBasicBlockInContext(g->C, g->fn, "else");
	join = LLVMAppendBasicBlockInContext(g->C, g->fn, "endif");
	LLVMBuildCondBr(g->B, c.v, t, e);
	if (flow)
		memcpy(before, flow, (size_t)n);
	if (arm(g, t, s->u.cond.then_s, join))
		return -1;
	if (flow) {
		memcpy(after, flow, (size_t)n);
		memcpy(flow, before, (size_t)n);
	}
	if (arm(g, e, s->u.cond.else_s, join))
		return -1;
	if (flow)
		g->h->flow_join(flow, after);
	LLVMPositionBuilderAtEnd(g->B, join);
	return 0;
}

LLVMValueRef cg_emit_entry_alloca(cg_emit *g, LLVMTypeRef t, unsigned align)
{
	LLVMBuilderRef b = LLVMCreateBuilderInContext(g->C);
	LLVMBasicBlockRef entry = LLVMGetEntryBasicBlock(g->fn);
	LLVMValueRef first = LLVMGetFirstInstruction(entry), a;

	if (first)
		LLVMPositionBuilderBefore(b, first);
	else
		LLVMPositionBuilderAtEnd(b, entry);
	a = LLVMBuildAlloca(b, t, "");
	LLVMSetAlignment(a, align);
	LLVMDisposeBuilder(b);
	return a;
}

int cg_emit_scoped_buffer(cg_emit *g, const lir_stmt *s, LLVMValueRef p, int align)
{
	int b = s->u.alloc.buf, saved_align = g->buf_align[b], rc;
	LLVMValueRef saved = g->buf[b];

	g->buf[b] = p;
	g->buf_align[b] = align;
	rc = cg_emit_stmt(g, s->u.alloc.body);
	g->buf[b] = saved;
	g->buf_align[b] = saved_align;
	return rc;
}

/* A stack buffer for alloc s, in the function's entry block. */
static int stack_buffer(cg_emit *g, const lir_stmt *s)
{
	const lir_buffer *b = lir_func_buffer(g->f, s->u.alloc.buf);
	LLVMTypeRef t = LLVMArrayType2(cg_emit_type(g, b->type), (uint64_t)b->size);

	return cg_emit_scoped_buffer(g, s, cg_emit_entry_alloca(g, t, g->h->alloca_align), (int)g->h->alloca_align);
}

lir_for_kind cg_emit_loop_kind(const lir_stmt *s)
{
	return s->u.loop.kind == LIR_SERIAL ? s->u.loop.tail : s->u.loop.kind;
}

static int base_loop(cg_emit *g, const lir_stmt *s)
{
	int64_t lo, n;

	if (cg_emit_loop_kind(s) == LIR_UNROLLED && cg_emit_const_trip(g, s, &lo, &n) && n <= CG_MAX_UNROLL)
		return cg_emit_unrolled(g, s, lo, n);
	return cg_emit_for(g, s);
}

int cg_emit_stmt_base(cg_emit *g, const lir_stmt *s)
{
	switch (s->kind) {
	case LIR_FOR:
		return base_loop(g, s);
	case LIR_IF:
		return branch(g, s);
	case LIR_LET:
		return cg_emit_let_then(g, s, cg_emit_body, s->u.let.body);
	case LIR_ALLOC:
		return stack_buffer(g, s);
	case LIR_STORE:
		return cg_emit_store(g, s);
	case LIR_SEQ:
		for (int i = 0; i < s->u.seq.n; i++)
			if (cg_emit_stmt(g, s->u.seq.s[i]))
				return -1;
		return 0;
	default:
		return 0; /* a barrier: nothing to wait for in serial code */
	}
}
