/*
 * lower_ast: isl's AST of the schedule into lir, with statement bodies.
 *
 * Each isl user node S(c0, ..., cn) becomes `let` bindings of the stage's
 * coordinates and one store; the te body becomes lir expressions, with
 * inlined stages substituted and reads redirected to local buffers
 * (compute_at tiles and caches) at their offsets.  Marks name the loops
 * and give their kind; a vectorized or unrolled loop whose bounds are not
 * constant (a tail) becomes serial, the kind kept as its `tail` for code
 * generation, which versions tiles until such bounds fold.
 */
#include "lower_priv.h"

#include <isl/id.h>
#include <isl/schedule.h>
#include <isl/val.h>
#include <isl/ast_build.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_buf.h"
#include "rt_math.h"

#define TR_MAX_DEPTH 128

typedef struct tr {
	lw *L;
	lir_func *f;
	int depth;
	isl_id *ids[TR_MAX_DEPTH];
	int vars[TR_MAX_DEPTH];
	bool base;         /* the AST is over base coordinates, not leaves */
	lw_mark *pending;  /* the mark whose band's loop comes next */
	int consumed;
	lir_expr **params; /* values of t0.. in offset expressions */
	int nparams;
	int leafv[LW_MAX_STAGES][SCH_MAX_LOOPS]; /* var of each enclosing loop of a stage, -1 */
	int nloops;        /* marked loops: which stage's loop each lir for is */
	struct { const lir_stmt *s; int stage, pos; } loops[8192];
} tr;

static lir_stmt *tr_node(tr *T, __isl_keep isl_ast_node *node);

static lir_expr *tr_fail(tr *T, const char *what)
{
	lw_fail(T->L, 0, 0, "lowering: %s", what);
	return NULL;
}

static lir_expr *c64(tr *T, int64_t v)
{
	return lir_const_int(T->f, v, LIR_I64);
}

static bool is_const(const lir_expr *e, int64_t v)
{
	return e && e->op == LIR_CONST && e->type == LIR_I64 && e->c.i == v;
}

/* i64 index arithmetic, folding constants and identities (x + 0, x * 1,
 * v - v) so that printed and generated code stays readable. */
static lir_expr *ix(tr *T, lir_op op, lir_expr *a, lir_expr *b)
{
	if (!a || !b)
		return NULL;
	if (a->op == LIR_CONST && b->op == LIR_CONST && a->type == LIR_I64 && b->type == LIR_I64) {
		int64_t x = a->c.i, y = b->c.i;

		switch (op) {
		case LIR_ADD: return c64(T, (int64_t)((uint64_t)x + (uint64_t)y));
		case LIR_SUB: return c64(T, (int64_t)((uint64_t)x - (uint64_t)y));
		case LIR_MUL: return c64(T, (int64_t)((uint64_t)x * (uint64_t)y));
		case LIR_DIV: if (y > 0) return c64(T, rt_floor_div(x, y)); break;
		case LIR_MOD: if (y > 0) return c64(T, rt_floor_mod(x, y)); break;
		default: break;
		}
	}
	if ((op == LIR_ADD && is_const(a, 0)) || (op == LIR_MUL && is_const(a, 1)))
		return b;
	if (((op == LIR_ADD || op == LIR_SUB) && is_const(b, 0)) ||
	    ((op == LIR_MUL || op == LIR_DIV) && is_const(b, 1)))
		return a;
	if (op == LIR_MUL && (is_const(a, 0) || is_const(b, 0)))
		return c64(T, 0);
	if (op == LIR_MOD && is_const(b, 1))
		return c64(T, 0);
	if (op == LIR_SUB && a->op == LIR_VAR && b->op == LIR_VAR && a->id == b->id)
		return c64(T, 0);
	return lir_binary(T->f, op, a, b);
}

/* ---- isl AST expressions ---- */

static lir_expr *tr_expr(tr *T, __isl_keep isl_ast_expr *e);

static lir_expr *tr_id(tr *T, __isl_keep isl_ast_expr *e)
{
	isl_id *id = isl_ast_expr_id_get_id(e);
	const char *name = isl_id_get_name(id);
	lir_expr *r = NULL;

	for (int i = T->depth - 1; i >= 0 && !r; i--)
		if (T->ids[i] == id)
			r = lir_var_ref(T->f, T->vars[i]);
	if (!r && name && name[0] == 't' && atoi(name + 1) < T->nparams)
		r = T->params[atoi(name + 1)];
	isl_id_free(id);
	return r ? r : tr_fail(T, "unknown identifier in an isl expression");
}

static lir_op op_of(enum isl_ast_expr_op_type t)
{
	switch (t) {
	case isl_ast_expr_op_and: case isl_ast_expr_op_and_then: return LIR_AND;
	case isl_ast_expr_op_or: case isl_ast_expr_op_or_else: return LIR_OR;
	case isl_ast_expr_op_max: return LIR_MAX;
	case isl_ast_expr_op_min: return LIR_MIN;
	case isl_ast_expr_op_minus: return LIR_NEG;
	case isl_ast_expr_op_add: return LIR_ADD;
	case isl_ast_expr_op_sub: return LIR_SUB;
	case isl_ast_expr_op_mul: return LIR_MUL;
	case isl_ast_expr_op_div: case isl_ast_expr_op_fdiv_q: case isl_ast_expr_op_pdiv_q: return LIR_DIV;
	case isl_ast_expr_op_pdiv_r: case isl_ast_expr_op_zdiv_r: return LIR_MOD;
	case isl_ast_expr_op_cond: case isl_ast_expr_op_select: return LIR_SELECT;
	case isl_ast_expr_op_eq: return LIR_EQ;
	case isl_ast_expr_op_le: return LIR_LE;
	case isl_ast_expr_op_lt: return LIR_LT;
	case isl_ast_expr_op_ge: return LIR_GE;
	case isl_ast_expr_op_gt: return LIR_GT;
	default: return LIR_OP_COUNT;
	}
}

/* isl writes truth values as integers too (`x >= 2 || 1`). */
static lir_expr *as_bool(tr *T, lir_expr *v)
{
	if (!v || v->type == LIR_BOOL)
		return v;
	return lir_binary(T->f, LIR_NE, v, c64(T, 0));
}

static lir_expr *tr_op(tr *T, __isl_keep isl_ast_expr *e)
{
	lir_op op = op_of(isl_ast_expr_op_get_type(e));
	int n = isl_ast_expr_op_get_n_arg(e);
	lir_expr *a[3] = {NULL, NULL, NULL}, *r;

	if (op == LIR_OP_COUNT || n < 1)
		return tr_fail(T, "unsupported isl expression");
	if (op == LIR_SELECT && n == 3) {
		for (int i = 0; i < 3; i++) {
			isl_ast_expr *x = isl_ast_expr_op_get_arg(e, i);

			a[i] = tr_expr(T, x);
			isl_ast_expr_free(x);
		}
		return lir_select(T->f, as_bool(T, a[0]), a[1], a[2]);
	}
	for (int i = 0; i < n; i++) {
		isl_ast_expr *x = isl_ast_expr_op_get_arg(e, i);
		lir_expr *v = tr_expr(T, x);

		isl_ast_expr_free(x);
		if (!v)
			return NULL;
		if (op == LIR_AND || op == LIR_OR)
			v = as_bool(T, v);
		if (n == 1)
			return lir_unary(T->f, op, v);
		r = i ? (lir_op_arity(op) == 2 && v->type == LIR_I64 && op <= LIR_MOD ? ix(T, op, r, v)
						 : lir_binary(T->f, op, r, v))
		      : v;
	}
	return r;
}

static lir_expr *tr_expr(tr *T, __isl_keep isl_ast_expr *e)
{
	isl_val *v;
	lir_expr *r;

	switch (isl_ast_expr_get_type(e)) {
	case isl_ast_expr_id:
		return tr_id(T, e);
	case isl_ast_expr_int:
		v = isl_ast_expr_int_get_val(e);
		r = c64(T, isl_val_get_num_si(v));
		isl_val_free(v);
		return r;
	case isl_ast_expr_op:
		return tr_op(T, e);
	default:
		return tr_fail(T, "bad isl expression");
	}
}

/* ---- te expressions ---- */

/* What an expression of reader stage x is evaluated with. */
typedef struct env {
	lir_expr **ax;    /* values (i64) of the axes of the stage whose body this is */
	int x;            /* the reading lw stage */
	lir_expr **xb;    /* the reader's own base coordinates */
	lir_expr **ctx;   /* the reader's context values */
} env;

static lir_type lir_of(te_dtype t)
{
	return t == TE_F32 ? LIR_F32 : t == TE_F64 ? LIR_F64 : t == TE_I32 ? LIR_I32 : LIR_BOOL;
}

/* Value of leaf axis `ax` of stage x from its base coordinates. */
static lir_expr *ax_value(tr *T, const lw_stage *x, int ax, lir_expr **base)
{
	const sch_ax *a = &x->loops.ax[ax];

	switch (a->kind) {
	case SCH_AX_BASE:
		return base[a->base];
	case SCH_AX_OUTER:
		return ix(T, LIR_DIV, ax_value(T, x, a->a, base), c64(T, a->factor));
	case SCH_AX_INNER:
		return ix(T, LIR_MOD, ax_value(T, x, a->a, base), c64(T, a->factor));
	default:
		return ix(T, LIR_ADD,
				  ix(T, LIR_MUL, ax_value(T, x, a->a, base),
					     c64(T, x->loops.ax[a->b].extent)),
				  ax_value(T, x, a->b, base));
	}
}

/* ctx of a stage attached at loop p of x: x's ctx, then x's leaves 0..p. */
static void child_ctx(tr *T, int x, int p, lir_expr **ctx, lir_expr **base, lir_expr **out)
{
	const lw_stage *s = &T->L->st[x];

	for (int i = 0; i < s->nctx; i++)
		out[i] = ctx[i];
	for (int q = 0; q <= p; q++)
		out[s->nctx + q] = T->leafv[x][q] >= 0 ? lir_var_ref(T->f, T->leafv[x][q])
						       : ax_value(T, s, s->loops.loop[q], base);
}

/*
 * The flat index in the buffer of stage r of tensor coordinates x (i64),
 * where r's context values are `ctx` (for local buffers).
 */
static lir_expr *buf_index(tr *T, const lw_stage *r, lir_expr **x, lir_expr **ctx)
{
	lir_expr *idx = c64(T, 0), *rel[LW_MAX_BUF_DIMS];
	int64_t ext[LW_MAX_BUF_DIMS];
	int nd = lw_buf_dims(r, ext);

	T->params = ctx;
	T->nparams = r->nctx;
	for (int k = 0; k < r->rank; k++)
		rel[k] = r->off[k] ? ix(T, LIR_SUB, x[k], tr_expr(T, r->off[k])) : x[k];
	T->params = NULL;
	T->nparams = 0;
	/* block=D:F: (x - off) % F appended, (x - off) / F in D's place */
	for (int j = 0; j < r->nblock; j++) {
		int d = r->block_dim[j];

		rel[r->rank + j] = ix(T, LIR_MOD, rel[d], c64(T, r->block_f[j]));
		rel[d] = ix(T, LIR_DIV, rel[d], c64(T, r->block_f[j]));
	}
	for (int k = 0; k < nd; k++) {
		int d = r->perm[k];

		idx = k ? ix(T, LIR_ADD, ix(T, LIR_MUL, idx, c64(T, ext[d])), rel[d])
			: rel[d];
	}
	return idx;
}

/* Row-major index of x in a whole tensor. */
static lir_expr *tensor_index(tr *T, const te_stage *t, lir_expr **x)
{
	lir_expr *idx = c64(T, 0);

	for (int k = 0; k < t->rank; k++)
		idx = k ? ix(T, LIR_ADD, ix(T, LIR_MUL, idx, c64(T, t->shape[k])), x[k])
			: x[k];
	return idx;
}

static lir_expr *tr_index(tr *T, const te_expr *e, lir_expr **ax)
{
	lir_expr *a, *b;

	switch (e->op) {
	case TE_CONST:
		return c64(T, e->c.i);
	case TE_AXIS:
		return ax[e->index];
	case TE_NEG:
		return lir_unary(T->f, LIR_NEG, tr_index(T, e->args[0], ax));
	case TE_ADD: case TE_SUB: case TE_MUL: case TE_DIV: case TE_MOD: case TE_MIN: case TE_MAX:
		a = tr_index(T, e->args[0], ax);
		b = tr_index(T, e->args[1], ax);
		return ix(T, e->op == TE_ADD ? LIR_ADD : e->op == TE_SUB ? LIR_SUB
				  : e->op == TE_MUL ? LIR_MUL : e->op == TE_DIV ? LIR_DIV
				  : e->op == TE_MOD ? LIR_MOD : e->op == TE_MIN ? LIR_MIN : LIR_MAX, a, b);
	default:
		return tr_fail(T, "an index is not affine");
	}
}

static lir_expr *tr_value(tr *T, const te_expr *e, const env *E);

static lir_expr *tr_load(tr *T, const te_expr *e, const env *E)
{
	lw *L = T->L;
	lir_expr *x[TE_MAX_RANK], *ctx[LW_MAX_CTX];
	const te_stage *t = te_graph_stage(L->g, e->index);
	int r;

	for (int k = 0; k < e->nargs; k++)
		if (!(x[k] = tr_index(T, e->args[k], E->ax)))
			return NULL;
	if (L->inlined[e->index]) {
		env in = *E;

		in.ax = x;
		return tr_value(T, t->body, &in);
	}
	r = lw_redirect(L, E->x, e->index);
	if (r >= 0) {
		child_ctx(T, E->x, L->st[r].parent_pos, E->ctx, E->xb, ctx);
		return lir_load(T->f, L->st[r].buf, buf_index(T, &L->st[r], x, ctx));
	}
	if (L->te_buf[e->index] < 0)
		return tr_fail(T, "a load of a tensor without a buffer");
	return lir_load(T->f, L->te_buf[e->index], tensor_index(T, t, x));
}

static lir_op te_to_lir(te_op op)
{
	switch (op) {
#define MAP(n) case TE_##n: return LIR_##n;
	MAP(NEG) MAP(NOT) MAP(ADD) MAP(SUB) MAP(MUL) MAP(DIV) MAP(MOD) MAP(LT) MAP(LE)
	MAP(GT) MAP(GE) MAP(EQ) MAP(NE) MAP(AND) MAP(OR) MAP(SELECT) MAP(MIN) MAP(MAX)
	MAP(ABS) MAP(EXP) MAP(LOG) MAP(SQRT) MAP(TANH) MAP(CAST)
#undef MAP
	default:
		return LIR_OP_COUNT;
	}
}

static lir_expr *tr_value(tr *T, const te_expr *e, const env *E)
{
	lir_expr *a[3] = {NULL, NULL, NULL};

	switch (e->op) {
	case TE_CONST:
		return te_dtype_is_float(e->type) ? lir_const_float(T->f, e->c.f, lir_of(e->type))
						  : lir_const_int(T->f, e->c.i, lir_of(e->type));
	case TE_AXIS:
		return lir_cast(T->f, LIR_I32, E->ax[e->index]);
	case TE_LOAD:
		return tr_load(T, e, E);
	default:
		break;
	}
	for (int i = 0; i < e->nargs; i++)
		if (!(a[i] = tr_value(T, e->args[i], E)))
			return NULL;
	switch (e->nargs) {
	case 1:
		return e->op == TE_CAST ? lir_cast(T->f, lir_of(e->type), a[0])
					: lir_unary(T->f, te_to_lir(e->op), a[0]);
	case 2:
		return lir_binary(T->f, te_to_lir(e->op), a[0], a[1]);
	default:
		return lir_select(T->f, a[0], a[1], a[2]);
	}
}

/* ---- statements ---- */

static lir_expr *init_value(tr *T, const te_stage *t)
{
	bool f = te_dtype_is_float(t->type);

	switch (t->reduce) {
	case TE_RED_MAX:
		return f ? lir_const_float(T->f, -INFINITY, lir_of(t->type)) : lir_const_int(T->f, INT32_MIN, LIR_I32);
	case TE_RED_MIN:
		return f ? lir_const_float(T->f, INFINITY, lir_of(t->type)) : lir_const_int(T->f, INT32_MAX, LIR_I32);
	default:
		return f ? lir_const_float(T->f, 0, lir_of(t->type)) : lir_const_int(T->f, 0, LIR_I32);
	}
}

/* Where compute stage x's statement stores element xc (its spatial coordinates). */
static lir_stmt *store_to(tr *T, int x, lir_expr **xc, lir_expr **ctx, lir_expr **base,
			  lir_expr *(*value)(tr *, int, int, lir_expr *, void *), int buf_is_acc, void *u)
{
	lw *L = T->L;
	int w = lw_store_target(L, x), buf;
	lir_expr *idx, *wctx[LW_MAX_CTX];

	(void)buf_is_acc;
	if (w == x) {
		idx = L->st[x].local ? buf_index(T, &L->st[x], xc, ctx)
				     : tensor_index(T, L->st[x].te, xc);
		buf = L->st[x].buf;
	} else {
		child_ctx(T, x, L->st[w].parent_pos, ctx, base, wctx);
		idx = buf_index(T, &L->st[w], xc, wctx);
		buf = L->st[w].buf;
	}
	return lir_store(T->f, buf, idx, value(T, x, buf, idx, u));
}

typedef struct body_ctx {
	lw_stmt_kind kind;
	env E;
} body_ctx;

static lir_expr *compute_value(tr *T, int x, int buf, lir_expr *idx, void *u)
{
	body_ctx *b = u;
	const te_stage *t = T->L->st[x].te;
	lir_expr *v;

	if (b->kind == LW_S_INIT)
		return init_value(T, t);
	v = tr_value(T, t->body, &b->E);
	if (b->kind == LW_S_COMPUTE || !v)
		return v;
	return lir_binary(T->f, t->reduce == TE_RED_SUM ? LIR_ADD : t->reduce == TE_RED_MAX ? LIR_MAX : LIR_MIN,
			  lir_load(T->f, buf, idx), v);
}

/* The store of a copy statement of cache stage x at relative coordinates d. */
static lir_stmt *copy_stmt(tr *T, int x, lir_expr **d, lir_expr **ctx)
{
	lw *L = T->L;
	const lw_stage *s = &L->st[x];
	lir_expr *abs[TE_MAX_RANK], *local, *other;
	lir_expr *zero[LW_MAX_CTX];

	T->params = ctx;
	T->nparams = s->nctx;
	for (int k = 0; k < s->rank; k++)
		abs[k] = s->off[k] ? ix(T, LIR_ADD, d[k], tr_expr(T, s->off[k])) : d[k];
	T->params = NULL;
	T->nparams = 0;
	(void)zero;
	local = buf_index(T, s, abs, ctx);
	if (s->kind == LW_CACHE_READ)
		return lir_store(T->f, s->buf, local,
				 lir_load(T->f, L->te_buf[s->te->id], tensor_index(T, s->te, abs)));
	other = L->st[s->parent].local ? buf_index(T, &L->st[s->parent], abs, ctx)
				       : tensor_index(T, s->te, abs);
	return lir_store(T->f, L->st[s->parent].buf, other, lir_load(T->f, s->buf, local));
}

static void var_name(char *out, size_t n, const char *in)
{
	snprintf(out, n, "%s", in);
	for (char *p = out; *p; p++)
		if (*p == '.' || *p == '+')
			*p = '_';
}

/*
 * Axis `ax` of stage x from its leaf loop values lv[q] (NULL where the
 * statement has no such leaf): the inverse of the splits and fuses
 * (a split axis is outer * factor + inner; the parts of a fused loop F =
 * a * ext(b) + b are F / ext(b) and F mod ext(b)).
 */
static lir_expr *from_leaves(tr *T, const lw_stage *x, int ax, lir_expr **lv)
{
	const sch_loops *l = &x->loops;

	for (int q = 0; q < l->nloops; q++)
		if (l->loop[q] == ax)
			return lv[q] ? lv[q] : tr_fail(T, "a coordinate without its loop");
	for (int i = 0; i < l->nax; i++) {
		const sch_ax *c = &l->ax[i];

		if (c->kind == SCH_AX_OUTER && c->a == ax)
			for (int j = 0; j < l->nax; j++)
				if (l->ax[j].kind == SCH_AX_INNER && l->ax[j].a == ax)
					return ix(T, LIR_ADD, ix(T, LIR_MUL, from_leaves(T, x, i, lv), c64(T, c->factor)),
						  from_leaves(T, x, j, lv));
		if (c->kind == SCH_AX_FUSED && (c->a == ax || c->b == ax))
			return ix(T, c->a == ax ? LIR_DIV : LIR_MOD, from_leaves(T, x, i, lv),
				  c64(T, l->ax[c->b].extent));
	}
	return tr_fail(T, "an axis neither a loop nor split nor fused");
}

/* A user node S(t.., l..): let-bind the stage's base coordinates, rebuilt
 * from its leaf loops, then the statement's store. */
static lir_stmt *tr_user(tr *T, __isl_keep isl_ast_node *node)
{
	lw *L = T->L;
	isl_ast_expr *call = isl_ast_node_user_get_expr(node);
	isl_ast_expr *fn = isl_ast_expr_op_get_arg(call, 0);
	isl_id *id = isl_ast_expr_id_get_id(fn);
	const lw_stmt *s = &L->stmt[atoi(isl_id_get_name(id) + 1)];
	const lw_stage *x = &L->st[s->stage];
	lir_expr *coord[LW_MAX_CTX + SCH_MAX_LOOPS], *base[TE_MAX_AXES], *val[TE_MAX_AXES];
	lir_expr *lv[SCH_MAX_LOOPS] = {NULL};
	int vars[TE_MAX_AXES], nown = s->ndims - x->nctx;
	lir_stmt *st;
	body_ctx b;

	isl_id_free(id);
	isl_ast_expr_free(fn);
	for (int i = 0; i < x->nctx + (T->base ? nown : s->nleaf); i++) {
		isl_ast_expr *a = isl_ast_expr_op_get_arg(call, i + 1);

		coord[i] = tr_expr(T, a);
		isl_ast_expr_free(a);
		if (i >= x->nctx && !T->base)
			lv[s->leaf[i - x->nctx]] = coord[i];
	}
	isl_ast_expr_free(call);
	for (int k = 0; k < nown; k++) {
		char nm[SCH_MAX_NAME];
		lir_expr *v = T->base ? coord[x->nctx + k] : from_leaves(T, x, k, lv);

		vars[k] = -1;
		if (!v || v->op == LIR_VAR || v->op == LIR_CONST) {
			base[k] = v;
			continue;
		}
		if (x->kind == LW_COMPUTE)
			var_name(nm, sizeof(nm), x->te->axes[k].name);
		else
			snprintf(nm, sizeof(nm), "d%d", k);
		val[k] = v;
		vars[k] = lir_add_var(T->f, nm, LIR_I64);
		base[k] = lir_var_ref(T->f, vars[k]);
	}
	if (L->err && L->err->set)
		return NULL;
	if (x->kind != LW_COMPUTE) {
		st = copy_stmt(T, s->stage, base, coord);
	} else {
		b.kind = s->kind;
		b.E.ax = base;
		b.E.x = s->stage;
		b.E.xb = base;
		b.E.ctx = coord;
		st = store_to(T, s->stage, base, coord, base, compute_value, 0, &b);
	}
	for (int k = nown - 1; k >= 0; k--)
		if (vars[k] >= 0)
			st = lir_let(T->f, vars[k], val[k], st);
	return st;
}

static lir_for_kind for_kind(sch_loop_kind k)
{
	static const lir_for_kind map[] = {
		[SCH_LOOP_SERIAL] = LIR_SERIAL, [SCH_LOOP_PARALLEL] = LIR_PARALLEL,
		[SCH_LOOP_VECTORIZE] = LIR_VECTORIZED, [SCH_LOOP_UNROLL] = LIR_UNROLLED,
		[SCH_LOOP_PIPELINE] = LIR_PIPELINED,
		[SCH_LOOP_BLOCK_X] = LIR_BLOCK_X, [SCH_LOOP_BLOCK_Y] = LIR_BLOCK_Y,
		[SCH_LOOP_BLOCK_Z] = LIR_BLOCK_Z, [SCH_LOOP_THREAD_X] = LIR_THREAD_X,
		[SCH_LOOP_THREAD_Y] = LIR_THREAD_Y, [SCH_LOOP_THREAD_Z] = LIR_THREAD_Z,
		[SCH_LOOP_VTHREAD] = LIR_VTHREAD,
	};

	return map[k];
}

static lir_stmt *tr_for(tr *T, __isl_keep isl_ast_node *node)
{
	lw_mark *m = T->pending;
	isl_ast_expr *it = isl_ast_node_for_get_iterator(node);
	isl_ast_expr *init = isl_ast_node_for_get_init(node);
	isl_ast_expr *cond = isl_ast_node_for_get_cond(node);
	isl_ast_expr *inc = isl_ast_node_for_get_inc(node);
	isl_ast_node *bodyn = isl_ast_node_for_get_body(node);
	isl_val *step = isl_ast_expr_int_get_val(inc);
	enum isl_ast_expr_op_type ct = isl_ast_expr_op_get_type(cond);
	isl_ast_expr *bound = isl_ast_expr_op_get_arg(cond, 1);
	char nm[SCH_MAX_NAME];
	lir_expr *lo, *hi;
	lir_stmt *body = NULL;
	lir_for_kind kind = m ? for_kind(m->kind) : LIR_SERIAL, tail;
	int var;

	var_name(nm, sizeof(nm), m ? m->name : "c");
	var = lir_add_var(T->f, nm, LIR_I64);
	T->pending = NULL;
	if (T->depth == TR_MAX_DEPTH) {
		tr_fail(T, "loops nested too deep");
		goto out;
	}
	T->ids[T->depth] = isl_ast_expr_id_get_id(it);
	T->vars[T->depth++] = var;
	lo = tr_expr(T, init);
	hi = tr_expr(T, bound);
	if (m)
		T->leafv[m->stage][m->pos] = var;
	if (ct == isl_ast_expr_op_le)
		hi = ix(T, LIR_ADD, hi, c64(T, 1));
	else if (ct != isl_ast_expr_op_lt)
		tr_fail(T, "unexpected loop condition");
	body = tr_node(T, bodyn);
	if (m)
		T->leafv[m->stage][m->pos] = -1;
	isl_id_free(T->ids[--T->depth]);
	tail = LIR_SERIAL;
	if ((kind == LIR_VECTORIZED || kind == LIR_UNROLLED) &&
	    !(lo && hi && lo->op == LIR_CONST && hi->op == LIR_CONST)) {
		tail = kind; /* a partial tile: code generation may still prove it constant */
		kind = LIR_SERIAL;
	}
	body = lir_for(T->f, var, lo, hi, isl_val_get_num_si(step), kind, body);
	if (body)
		body->u.loop.tail = tail;
	if (body && kind == LIR_PIPELINED && m && m->ii > 1)
		body->u.loop.ii = m->ii;
	if (m && body && T->nloops < 8192) {
		T->loops[T->nloops].s = body;
		T->loops[T->nloops].stage = m->stage;
		T->loops[T->nloops++].pos = m->pos;
	}
out:
	T->pending = m;
	T->consumed++;
	isl_val_free(step);
	isl_ast_expr_free(bound);
	isl_ast_expr_free(it);
	isl_ast_expr_free(init);
	isl_ast_expr_free(cond);
	isl_ast_expr_free(inc);
	isl_ast_node_free(bodyn);
	return body;
}

static lir_stmt *tr_mark(tr *T, __isl_keep isl_ast_node *node)
{
	isl_id *id = isl_ast_node_mark_get_id(node);
	isl_ast_node *child = isl_ast_node_mark_get_node(node);
	lw_mark *saved = T->pending;
	int consumed = T->consumed;
	lir_stmt *s;

	T->pending = isl_id_get_user(id);
	T->consumed = 0;
	s = tr_node(T, child);
	T->pending = saved;
	T->consumed = consumed;
	isl_id_free(id);
	isl_ast_node_free(child);
	return s;
}

static lir_stmt *tr_block(tr *T, __isl_keep isl_ast_node *node)
{
	isl_ast_node_list *list = isl_ast_node_block_get_children(node);
	int n = isl_ast_node_list_n_ast_node(list);
	lir_stmt **s = calloc(n ? n : 1, sizeof(*s)), *r = NULL;

	for (int i = 0; s && i < n; i++) {
		isl_ast_node *c = isl_ast_node_list_get_ast_node(list, i);

		s[i] = tr_node(T, c);
		isl_ast_node_free(c);
	}
	if (s)
		r = lir_seq(T->f, n, s);
	free(s);
	isl_ast_node_list_free(list);
	return r;
}

static lir_stmt *tr_if(tr *T, __isl_keep isl_ast_node *node)
{
	isl_ast_expr *c = isl_ast_node_if_get_cond(node);
	isl_ast_node *t = isl_ast_node_if_get_then_node(node);
	isl_ast_node *e = isl_ast_node_if_has_else_node(node) == isl_bool_true
				  ? isl_ast_node_if_get_else_node(node) : NULL;
	lir_stmt *r = lir_if(T->f, as_bool(T, tr_expr(T, c)), tr_node(T, t), e ? tr_node(T, e) : NULL);

	isl_ast_expr_free(c);
	isl_ast_node_free(t);
	isl_ast_node_free(e);
	return r;
}

static lir_stmt *tr_node(tr *T, __isl_keep isl_ast_node *node)
{
	if (T->L->err && T->L->err->set)
		return NULL;
	switch (isl_ast_node_get_type(node)) {
	case isl_ast_node_for:
		return tr_for(T, node);
	case isl_ast_node_if:
		return tr_if(T, node);
	case isl_ast_node_block:
		return tr_block(T, node);
	case isl_ast_node_mark:
		return tr_mark(T, node);
	case isl_ast_node_user:
		return tr_user(T, node);
	default:
		lw_fail(T->L, 0, 0, "lowering: unexpected isl AST node");
		return NULL;
	}
}

/* ---- where local buffers are allocated ----
 *
 * A local buffer holds one tile at a time.  It is allocated around the
 * lowest statement that contains all its uses: every tile's copy comes
 * before that tile's uses in the schedule, and the next tile's copy after
 * them, so one buffer serves the tiles in turn.  A parallel or GPU-bound
 * loop between that statement and a use would share the buffer between
 * concurrent iterations: such a schedule is refused.
 */

/* Lists of statements (the path, the lowest common ancestors, the
 * islands) are rt_bufs of pointers: they grow with the nest, however deep
 * or wide, and an allocation that fails is seen once, at the end. */
static int nstmts(const rt_buf *b)
{
	return (int)(b->n / sizeof(const lir_stmt *));
}

static const lir_stmt *stmt_at(const rt_buf *b, int i)
{
	return ((const lir_stmt *const *)(const void *)b->p)[i];
}

static void stmt_push(rt_buf *b, const lir_stmt *s)
{
	rt_buf_put(b, (const void *)&s, sizeof(s));
}

typedef struct place {
	tr *T;
	rt_buf path;                     /* from the root to the current statement */
	int pass;                        /* 0: find the lowest common statement; 1: check */
	rt_buf lca[LW_MAX_STAGES];       /* a path from the root */
	int lca_depth[LW_MAX_STAGES];    /* its statements in common with every use; -1: no use seen */
	/* pass 1: the topmost parallel loops naming tiles, under which uses sit */
	rt_buf island[LW_MAX_STAGES];
	bool bare[LW_MAX_STAGES];
} place;

static int local_stage(const lw *L, int buf)
{
	for (int x = 0; x < L->nstages; x++)
		if (L->st[x].local && L->st[x].buf == buf)
			return x;
	return -1;
}

/* Is lir loop s one of the loops whose iterations are different tiles of local stage b? */
static bool names_tile(const tr *T, int b, const lir_stmt *s)
{
	const lw *L = T->L;

	for (int i = 0; i < T->nloops; i++) {
		if (T->loops[i].s != s)
			continue;
		for (int x = b; L->st[x].parent >= 0; x = L->st[x].parent)
			if (L->st[x].parent == T->loops[i].stage && T->loops[i].pos <= L->st[x].parent_pos)
				return true;
		return false;
	}
	return false;
}

static void note_use(place *P, int buf)
{
	int x = local_stage(P->T->L, buf), depth = nstmts(&P->path), n;

	if (x < 0)
		return;
	if (P->pass == 0) {
		if (P->lca_depth[x] < 0) {
			rt_buf_put(&P->lca[x], P->path.p, P->path.n);
			P->lca_depth[x] = nstmts(&P->lca[x]);
			return;
		}
		for (n = 0; n < P->lca_depth[x] && n < depth && stmt_at(&P->lca[x], n) == stmt_at(&P->path, n); n++)
			;
		P->lca_depth[x] = n;
		return;
	}
	for (int i = P->lca_depth[x]; i < depth; i++) {
		const lir_stmt *s = stmt_at(&P->path, i);

		if (s->kind == LIR_FOR && s->u.loop.kind != LIR_SERIAL && s->u.loop.kind != LIR_VECTORIZED &&
		    s->u.loop.kind != LIR_UNROLLED && s->u.loop.kind != LIR_PIPELINED && names_tile(P->T, x, s)) {
			for (n = 0; n < nstmts(&P->island[x]) && stmt_at(&P->island[x], n) != s; n++)
				;
			if (n == nstmts(&P->island[x]))
				stmt_push(&P->island[x], s);
			return;
		}
	}
	P->bare[x] = true;
}

static void place_expr(place *P, const lir_expr *e)
{
	if (!e)
		return;
	if (e->op == LIR_LOAD)
		note_use(P, e->id);
	for (int i = 0; i < e->nargs; i++)
		place_expr(P, e->args[i]);
}

static void place_stmt(place *P, const lir_stmt *s)
{
	if (!s || P->path.oom)
		return;
	stmt_push(&P->path, s);
	switch (s->kind) {
	case LIR_FOR:
		place_expr(P, s->u.loop.lo);
		place_expr(P, s->u.loop.hi);
		place_stmt(P, s->u.loop.body);
		break;
	case LIR_IF:
		place_expr(P, s->u.cond.cond);
		place_stmt(P, s->u.cond.then_s);
		place_stmt(P, s->u.cond.else_s);
		break;
	case LIR_LET:
		place_expr(P, s->u.let.value);
		place_stmt(P, s->u.let.body);
		break;
	case LIR_ALLOC:
		place_stmt(P, s->u.alloc.body);
		break;
	case LIR_STORE:
		note_use(P, s->u.store.buf);
		place_expr(P, s->u.store.index);
		place_expr(P, s->u.store.value);
		break;
	case LIR_SEQ:
		for (int i = 0; i < s->u.seq.n; i++)
			place_stmt(P, s->u.seq.s[i]);
		break;
	default:
		break;
	}
	if (P->path.n >= sizeof(s))
		P->path.n -= sizeof(s);
}

/* Turn statement s, in place, into `allocate buf { <old s> }`. */
static int wrap_in_place(tr *T, lir_stmt *s, int buf)
{
	lir_stmt *copy = lir_barrier(T->f);

	if (!copy)
		return -1;
	*copy = *s;
	s->kind = LIR_ALLOC;
	s->u.alloc.buf = buf;
	s->u.alloc.body = copy;
	return 0;
}

static int place_allocs(tr *T, lir_stmt *body)
{
	place *P = calloc(1, sizeof(*P));
	lw *L = T->L;
	int rc = 0;

	if (!P)
		return lw_fail(L, 0, 0, "out of memory");
	P->T = T;
	for (int x = 0; x < LW_MAX_STAGES; x++)
		P->lca_depth[x] = -1;
	place_stmt(P, body);
	for (int x = 0; x < L->nstages; x++)
		if (P->lca_depth[x] == 0)
			P->lca_depth[x] = 1; /* the body itself */
	P->pass = 1;
	place_stmt(P, body);
	for (int x = 0; x < L->nstages && !rc; x++)
		if (P->path.oom || P->lca[x].oom || P->island[x].oom)
			rc = lw_fail(L, 0, 0, "out of memory");
	for (int x = 0; x < L->nstages && !rc; x++) {
		if (nstmts(&P->island[x]) && P->bare[x]) {
			const lir_stmt *loop = stmt_at(&P->island[x], 0);

			rc = lw_fail(L, L->st[x].step_line, L->st[x].step_col,
				     "%s: its tiles cannot be kept apart: isl placed uses of one tile inside and outside the %s loop '%s'; "
				     "attach it inside that loop",
				     L->st[x].name, lir_for_kind_name(loop->u.loop.kind),
				     lir_func_var(T->f, loop->u.loop.var)->name);
		} else if (nstmts(&P->island[x])) {
			/* One buffer per iteration of each parallel loop that names tiles. */
			for (int i = 0; i < nstmts(&P->island[x]) && !rc; i++)
				rc = wrap_in_place(T, ((lir_stmt *)stmt_at(&P->island[x], i))->u.loop.body,
						   L->st[x].buf);
		} else if (P->lca_depth[x] > 0) {
			rc = wrap_in_place(T, (lir_stmt *)stmt_at(&P->lca[x], P->lca_depth[x] - 1), L->st[x].buf);
		}
	}
	rt_buf_free(&P->path);
	for (int x = 0; x < LW_MAX_STAGES; x++) {
		rt_buf_free(&P->lca[x]);
		rt_buf_free(&P->island[x]);
	}
	free(P);
	return rc;
}

/* The AST of schedule tree `sched` (kept), or NULL.  isl's AST generator
 * recovers from some failures inside it (an allocation, the budget) and
 * returns another AST than it would have: any error isl recorded makes
 * it NULL. */
static __isl_give isl_ast_node *ast_of(lw *L, __isl_keep isl_schedule *sched)
{
	isl_ast_build *b = isl_ast_build_alloc(L->ctx);
	isl_ast_node *ast = isl_ast_build_node_from_schedule(b, isl_schedule_copy(sched));

	isl_ast_build_free(b);
	if (isl_ctx_last_error(L->ctx) != isl_error_none)
		ast = isl_ast_node_free(ast);
	return ast;
}

/*
 * The AST over leaf coordinates; when isl needs more than its operation
 * budget for it (isolating full tiles over some leaf domains costs more
 * than over base coordinates), the AST over base coordinates, with a
 * fresh budget, where isl computes each statement's coordinates.  Not
 * when it stopped on the CPU-time limit or on any other error: the retry
 * would double the limit.
 */
static __isl_give isl_ast_node *generate_ast(lw *L, bool *base)
{
	isl_ast_node *ast = ast_of(L, L->ast_sched);
	isl_schedule *sched;

	*base = false;
	if (ast || lw_out_of_time(L) || !lw_over_budget(L))
		return ast;
	lw_phase(L, "loop generation");
	*base = true;
	sched = lw_isolate(L, isl_schedule_copy(L->sched));
	ast = sched ? ast_of(L, sched) : NULL;
	isl_schedule_free(sched);
	return ast;
}

lir_stmt *lw_generate(lw *L)
{
	bool base;
	isl_ast_node *ast = generate_ast(L, &base);
	tr *T = calloc(1, sizeof(*T));
	lir_stmt *body = NULL;

	if (ast && getenv("FTC_DEBUG_ISL")) {
		char *text = isl_schedule_to_str(L->ast_sched), *code = isl_ast_node_to_C_str(ast);

		fprintf(stderr, "isl schedule:\n%s\nisl AST:\n%s\n", text, code);
		free(text);
		free(code);
	}
	if (!ast || !T) {
		const char *why = isl_ctx_last_error_msg(L->ctx);

		free(T);
		isl_ast_node_free(ast);
		lw_fail(L, 0, 0, "isl failed generating the loop nest%s%s", why ? ": " : "", why ? why : "");
		return NULL;
	}
	T->L = L;
	T->f = L->f;
	T->base = base;
	memset(T->leafv, 0xff, sizeof(T->leafv));
	body = tr_node(T, ast);
	isl_ast_node_free(ast);
	if (body && place_allocs(T, body))
		body = NULL;
	free(T);
	for (int i = L->nheap - 1; body && i >= 0; i--)
		body = lir_alloc(L->f, L->heap[i], body);
	if (!body && !(L->err && L->err->set))
		lw_fail(L, 0, 0, "out of memory while lowering");
	return L->err && L->err->set ? NULL : body;
}
