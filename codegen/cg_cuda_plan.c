/*
 * cg_cuda_plan: the first pass of the CUDA back end (cg_cuda_plan.h):
 * split the function into kernels, map bound loops to block and thread
 * indices, bound their extents, place allocations, size shared memory.
 */
#include "cg_cuda_plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_math.h"

#define CU_MAX_AFF 16        /* terms of an affine form */
#define CU_IDX32_LIMIT (INT64_C(1) << 30)
#define CU_GRID_X_MAX INT64_C(2147483647)
#define CU_GRID_YZ_MAX 65535
#define CU_LOCAL_MAX (INT64_C(512) * 1024) /* local memory of one thread */

/* An interval of integers; ok = false: unknown. */
typedef struct cu_iv {
	int64_t lo, hi;
	bool ok;
} iv;

/* const + sum coef * var; ok = false: not affine. */
typedef struct cu_aff {
	int n;
	int var[CU_MAX_AFF];
	int64_t coef[CU_MAX_AFF];
	int64_t c;
	bool ok;
} aff;

static bool is_block_kind(lir_for_kind k)
{
	return k == LIR_BLOCK_X || k == LIR_BLOCK_Y || k == LIR_BLOCK_Z;
}

static bool is_thread_kind(lir_for_kind k)
{
	return k == LIR_THREAD_X || k == LIR_THREAD_Y || k == LIR_THREAD_Z;
}

static int kind_dim(lir_for_kind k)
{
	return is_block_kind(k) ? (int)(k - LIR_BLOCK_X) : (int)(k - LIR_THREAD_X);
}

static const char *var_name(const lir_func *f, int v)
{
	return lir_func_var(f, v)->name;
}

/* Make room for `need` elements in the array *p of *cap; -1 when out of
 * memory (the array is kept). */
static int grow(void *p, int *cap, int need, size_t elem)
{
	void **pp = p, *q;
	int n = *cap ? *cap : 8;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	if (!(q = realloc(*pp, (size_t)n * elem)))
		return -1;
	*pp = q;
	*cap = n;
	return 0;
}

/* ---- intervals ---- */

static iv iv_unknown(void)
{
	return (iv){0, 0, false};
}

static iv iv_const(int64_t c)
{
	return (iv){c, c, true};
}

static iv iv_add(iv a, iv b, bool sub)
{
	iv r = {0, 0, a.ok && b.ok};
	int64_t blo = sub ? b.hi : b.lo, bhi = sub ? b.lo : b.hi;

	if (!r.ok)
		return r;
	if (sub ? __builtin_sub_overflow(a.lo, blo, &r.lo) || __builtin_sub_overflow(a.hi, bhi, &r.hi)
		: __builtin_add_overflow(a.lo, blo, &r.lo) || __builtin_add_overflow(a.hi, bhi, &r.hi))
		return iv_unknown();
	return r;
}

static iv iv_mul(iv a, iv b)
{
	int64_t p[4];

	if (!a.ok || !b.ok)
		return iv_unknown();
	if (__builtin_mul_overflow(a.lo, b.lo, &p[0]) || __builtin_mul_overflow(a.lo, b.hi, &p[1]) ||
	    __builtin_mul_overflow(a.hi, b.lo, &p[2]) || __builtin_mul_overflow(a.hi, b.hi, &p[3]))
		return iv_unknown();
	for (int i = 1; i < 4; i++) {
		p[0] = p[i] < p[0] ? p[i] : p[0];
		p[3] = p[i] > p[3] ? p[i] : p[3];
	}
	return (iv){p[0], p[3], true};
}

/* Floor division or modulo by a constant interval (others: unknown). */
static iv iv_divmod(iv a, iv b, bool mod)
{
	if (!a.ok || !b.ok || b.lo != b.hi || b.lo == 0 || b.lo == -1)
		return b.ok && b.lo == 0 && b.hi == 0 ? iv_const(0) : iv_unknown();
	if (mod) {
		int64_t m = b.lo > 0 ? b.lo : -b.lo;

		if (b.lo > 0 && a.lo >= 0 && a.hi < b.lo)
			return a;
		return b.lo > 0 ? (iv){0, m - 1, true} : (iv){-(m - 1), 0, true};
	}
	if (b.lo > 0)
		return (iv){rt_floor_div(a.lo, b.lo), rt_floor_div(a.hi, b.lo), true};
	return (iv){rt_floor_div(a.hi, b.lo), rt_floor_div(a.lo, b.lo), true};
}

static iv iv_join(iv a, iv b)
{
	if (!a.ok || !b.ok)
		return iv_unknown();
	return (iv){a.lo < b.lo ? a.lo : b.lo, a.hi > b.hi ? a.hi : b.hi, true};
}

/* The interval of integer expression e; *fits becomes false when an i64
 * node may leave [-2^30, 2^30) (then indices stay 64-bit). */
static iv eval_iv(const plan *P, const lir_expr *e, bool *fits)
{
	iv a, b, r;

	if (e->type == LIR_F32 || e->type == LIR_F64) {
		for (int i = 0; i < e->nargs; i++)
			eval_iv(P, e->args[i], fits);
		return iv_unknown();
	}
	switch (e->op) {
	case LIR_CONST: r = iv_const(e->c.i); break;
	case LIR_VAR: r = P->env[e->id]; break;
	case LIR_LOAD: eval_iv(P, e->args[0], fits); r = iv_unknown(); break;
	case LIR_NEG: r = iv_add(iv_const(0), eval_iv(P, e->args[0], fits), true); break;
	case LIR_ADD: case LIR_SUB:
		a = eval_iv(P, e->args[0], fits);
		r = iv_add(a, eval_iv(P, e->args[1], fits), e->op == LIR_SUB);
		break;
	case LIR_MUL:
		a = eval_iv(P, e->args[0], fits);
		r = iv_mul(a, eval_iv(P, e->args[1], fits));
		break;
	case LIR_DIV: case LIR_MOD:
		a = eval_iv(P, e->args[0], fits);
		r = iv_divmod(a, eval_iv(P, e->args[1], fits), e->op == LIR_MOD);
		break;
	case LIR_MIN: case LIR_MAX:
		a = eval_iv(P, e->args[0], fits);
		b = eval_iv(P, e->args[1], fits);
		r = iv_join(a, b);
		if (r.ok) {
			r.lo = e->op == LIR_MIN ? (a.lo < b.lo ? a.lo : b.lo) : (a.lo > b.lo ? a.lo : b.lo);
			r.hi = e->op == LIR_MIN ? (a.hi < b.hi ? a.hi : b.hi) : (a.hi > b.hi ? a.hi : b.hi);
		}
		break;
	case LIR_SELECT:
		eval_iv(P, e->args[0], fits);
		a = eval_iv(P, e->args[1], fits);
		r = iv_join(a, eval_iv(P, e->args[2], fits));
		break;
	case LIR_CAST:
		a = eval_iv(P, e->args[0], fits);
		r = lir_type_is_float(e->args[0]->type) ? iv_unknown() : a;
		break;
	default:
		for (int i = 0; i < e->nargs; i++)
			eval_iv(P, e->args[i], fits);
		r = e->type == LIR_BOOL ? (iv){0, 1, true} : iv_unknown();
		break;
	}
	if (e->type == LIR_I64 && (!r.ok || r.lo < -CU_IDX32_LIMIT || r.hi >= CU_IDX32_LIMIT))
		*fits = false;
	return r;
}

/* ---- affine forms: bounds on differences such as hi - lo ---- */

static void aff_add_term(aff *a, int var, int64_t coef)
{
	for (int i = 0; i < a->n; i++)
		if (a->var[i] == var) {
			if (__builtin_add_overflow(a->coef[i], coef, &a->coef[i]))
				a->ok = false;
			return;
		}
	if (a->n == CU_MAX_AFF) {
		a->ok = false;
		return;
	}
	a->var[a->n] = var;
	a->coef[a->n++] = coef;
}

/* r = a + k * b */
static aff aff_axpy(aff a, int64_t k, const aff *b)
{
	int64_t t;

	if (!a.ok || !b->ok || __builtin_mul_overflow(k, b->c, &t) || __builtin_add_overflow(a.c, t, &a.c))
		return (aff){.ok = false};
	for (int i = 0; i < b->n && a.ok; i++) {
		if (__builtin_mul_overflow(k, b->coef[i], &t))
			a.ok = false;
		else
			aff_add_term(&a, b->var[i], t);
	}
	return a;
}

static aff aff_of(const plan *P, const lir_expr *e)
{
	aff r = {.ok = true}, a, b;

	switch (e->op) {
	case LIR_CONST:
		r.c = e->c.i;
		return r;
	case LIR_VAR:
		if (P->let_aff[e->id])
			return *P->let_aff[e->id];
		aff_add_term(&r, e->id, 1);
		return r;
	case LIR_NEG:
		a = aff_of(P, e->args[0]);
		return aff_axpy(r, -1, &a);
	case LIR_ADD: case LIR_SUB:
		a = aff_of(P, e->args[0]);
		b = aff_of(P, e->args[1]);
		return aff_axpy(a, e->op == LIR_ADD ? 1 : -1, &b);
	case LIR_MUL:
		a = aff_of(P, e->args[0]);
		b = aff_of(P, e->args[1]);
		if (a.ok && a.n == 0)
			return aff_axpy(r, a.c, &b);
		if (b.ok && b.n == 0)
			return aff_axpy(r, b.c, &a);
		return (aff){.ok = false};
	case LIR_CAST:
		if (!lir_type_is_float(e->args[0]->type) && e->args[0]->type != LIR_BOOL)
			return aff_of(P, e->args[0]);
		return (aff){.ok = false};
	default:
		return (aff){.ok = false};
	}
}

/* Upper bound of an affine form over the variables' intervals. */
static iv aff_bound(const plan *P, const aff *a)
{
	iv r = iv_const(a->c);

	if (!a->ok)
		return iv_unknown();
	for (int i = 0; i < a->n; i++)
		r = iv_add(r, iv_mul(iv_const(a->coef[i]), P->env[a->var[i]]), false);
	return r;
}

/* An upper bound of hi - lo over the domain, or INT64_MIN when unknown:
 * min(x, y) - lo <= x - lo, hi - max(x, y) <= hi - x, affine forms cancel
 * common terms, and plain intervals are the last resort. */
static int64_t diff_bound(const plan *P, const lir_expr *hi, const lir_expr *lo, int depth)
{
	int64_t best = INT64_MIN, b;
	bool fits = true;
	aff a, l;
	iv r, h, w;

	if (depth < 4 && (hi->op == LIR_MIN || lo->op == LIR_MAX)) {
		for (int i = 0; i < 2; i++) {
			b = hi->op == LIR_MIN ? diff_bound(P, hi->args[i], lo, depth + 1)
					      : diff_bound(P, hi, lo->args[i], depth + 1);
			if (b != INT64_MIN && (best == INT64_MIN || b < best))
				best = b;
		}
		if (best != INT64_MIN)
			return best;
	}
	a = aff_of(P, hi);
	l = aff_of(P, lo);
	r = aff_bound(P, (a = aff_axpy(a, -1, &l), &a));
	if (r.ok)
		return r.hi;
	h = eval_iv(P, hi, &fits);
	w = eval_iv(P, lo, &fits);
	r = iv_add(h, w, true);
	return r.ok ? r.hi : INT64_MIN;
}

/* A bound on the trip count of loop s, or -1 when unknown. */
static int64_t trip_bound(const plan *P, const lir_stmt *s)
{
	int64_t d = diff_bound(P, s->u.loop.hi, s->u.loop.lo, 0), step = s->u.loop.step;

	if (d == INT64_MIN || step < 1)
		return -1;
	if (d <= 0)
		return 0;
	return d / step + (d % step != 0);
}

/* ---- the plan: kernels ---- */

static int plan_fail(plan *P, const char *fmt, const char *a, const char *b)
{
	return rt_error_set(P->err, 0, 0, fmt, a, b);
}

static note *add_note(plan *P, kplan *K, const lir_stmt *s, int kind)
{
	note *n;

	if (grow(&K->notes, &K->capnotes, K->nnotes + 1, sizeof(note))) {
		rt_error_set(P->err, 0, 0, "out of memory");
		return NULL;
	}
	n = &K->notes[K->nnotes++];
	memset(n, 0, sizeof(*n));
	n->s = s;
	n->kind = kind;
	n->offset = -1;
	return n;
}

const note *cu_find_note(const kplan *K, const lir_stmt *s)
{
	for (int i = 0; i < K->nnotes; i++)
		if (K->notes[i].s == s)
			return &K->notes[i];
	return NULL;
}

/* The level of statement s reached at `level`: grid-level code is lets,
 * else-less ifs and mapped block loops above everything else. */
int cu_level_of(const kplan *K, const lir_stmt *s, int level)
{
	const note *n;

	if (level != LV_GRID)
		return level;
	if (s->kind == LIR_LET || (s->kind == LIR_IF && !s->u.cond.else_s))
		return LV_GRID;
	if (s->kind == LIR_FOR && (n = cu_find_note(K, s)) && n->kind == NOTE_GRID)
		return LV_GRID;
	return LV_BLOCK;
}

/* Does expression e load buffer buf? */
static bool loads_buf(const lir_expr *e, int buf)
{
	if (e->op == LIR_LOAD && e->id == buf)
		return true;
	for (int i = 0; i < e->nargs; i++)
		if (loads_buf(e->args[i], buf))
			return true;
	return false;
}

static bool const_bounds(const lir_stmt *s)
{
	return s->u.loop.lo->op == LIR_CONST && s->u.loop.hi->op == LIR_CONST && s->u.loop.step >= 1 &&
	       !is_thread_kind(s->u.loop.kind);
}

/*
 * A block-level copy into a shared buffer that all threads may share:
 * loops with constant bounds, lets and else-less ifs around one store to
 * a LIR_SHARED buffer that the nest never reads.  Returns the store.
 */
static const lir_stmt *copy_nest(const lir_func *f, const lir_stmt *s)
{
	const lir_stmt *t = s;
	int64_t trips = 1;

	while (t->kind != LIR_STORE) {
		if (t->kind == LIR_FOR && const_bounds(t)) {
			int64_t n = t->u.loop.hi->c.i - t->u.loop.lo->c.i;

			n = n <= 0 ? 0 : (n + t->u.loop.step - 1) / t->u.loop.step;
			if (__builtin_mul_overflow(trips, n, &trips) || trips > CU_GRID_X_MAX)
				return NULL;
			t = t->u.loop.body;
		} else if (t->kind == LIR_LET) {
			t = t->u.let.body;
		} else if (t->kind == LIR_IF && !t->u.cond.else_s) {
			t = t->u.cond.then_s;
		} else {
			return NULL;
		}
	}
	if (s->kind != LIR_FOR || lir_func_buffer(f, t->u.store.buf)->scope != LIR_SHARED)
		return NULL;
	if (loads_buf(t->u.store.index, t->u.store.buf) || loads_buf(t->u.store.value, t->u.store.buf))
		return NULL;
	return t;
}

typedef struct walk {
	int level;
	unsigned active;   /* thread dims bound on the path */
	unsigned used;     /* block dims bound on the path */
} walk;

static int kwalk(plan *P, kplan *K, const lir_stmt *s, walk w);

static void fits_expr(plan *P, kplan *K, const lir_expr *e)
{
	bool fits = true;

	eval_iv(P, e, &fits);
	K->idx32 = K->idx32 && fits;
}

/* The interval of a loop's variable over its iterations. */
static iv loop_range(plan *P, const lir_stmt *s)
{
	bool fits = true;
	iv lo = eval_iv(P, s->u.loop.lo, &fits), hi = eval_iv(P, s->u.loop.hi, &fits);

	if (!lo.ok || !hi.ok)
		return iv_unknown();
	return (iv){lo.lo, hi.hi - 1 > lo.lo ? hi.hi - 1 : lo.lo, true};
}

static int kwalk_loop(plan *P, kplan *K, const lir_stmt *s, walk w)
{
	lir_for_kind k = s->u.loop.kind;
	int dim = kind_dim(k), v = s->u.loop.var, rc;
	iv saved = P->env[v];
	note *n = NULL;

	fits_expr(P, K, s->u.loop.lo);
	fits_expr(P, K, s->u.loop.hi);
	if (w.level == LV_GRID && is_block_kind(k) && !(w.used & (1u << dim))) {
		if (!(n = add_note(P, K, s, NOTE_GRID)))
			return -1;
		w.used |= 1u << dim;
	} else {
		w.level = w.level == LV_GRID ? LV_BLOCK : w.level;
		if (is_thread_kind(k) && !(w.active & (1u << dim))) {
			if (!(n = add_note(P, K, s, NOTE_THREAD)))
				return -1;
			w.active |= 1u << dim;
			w.level = LV_THREAD;
		} else if (w.level == LV_BLOCK && copy_nest(P->f, s)) {
			if (!add_note(P, K, s, NOTE_COPY))
				return -1;
		}
	}
	if (n) {
		n->dim = dim;
		if ((n->extent = trip_bound(P, s)) < 0)
			return plan_fail(P, "cuda: cannot bound the extent of the %s loop '%s' (its bounds are not "
				     "affine in the enclosing loops)", lir_for_kind_name(k), var_name(P->f, v));
	}
	P->env[v] = loop_range(P, s);
	rc = kwalk(P, K, s->u.loop.body, w);
	P->env[v] = saved;
	return rc;
}

static int kwalk_let(plan *P, kplan *K, const lir_stmt *s, walk w)
{
	int v = s->u.let.var, rc;
	iv saved = P->env[v];
	aff *sa = P->let_aff[v], a = aff_of(P, s->u.let.value);
	bool fits = true;

	P->env[v] = eval_iv(P, s->u.let.value, &fits);
	K->idx32 = K->idx32 && fits;
	P->let_aff[v] = a.ok ? &a : NULL;
	rc = kwalk(P, K, s->u.let.body, w);
	P->env[v] = saved;
	P->let_aff[v] = sa;
	return rc;
}

static int kwalk(plan *P, kplan *K, const lir_stmt *s, walk w)
{
	if (!s)
		return 0;
	if (s->kind != LIR_LET && s->kind != LIR_FOR)
		w.level = cu_level_of(K, s, w.level);
	switch (s->kind) {
	case LIR_FOR:
		return kwalk_loop(P, K, s, w);
	case LIR_LET:
		return kwalk_let(P, K, s, w);
	case LIR_IF:
		fits_expr(P, K, s->u.cond.cond);
		if (kwalk(P, K, s->u.cond.then_s, w))
			return -1;
		return kwalk(P, K, s->u.cond.else_s, w);
	case LIR_ALLOC:
		if (w.level == LV_THREAD) {
			P->priv[s->u.alloc.buf] = !P->shared_alloc[s->u.alloc.buf];
		} else {
			P->shared_alloc[s->u.alloc.buf] = true;
			P->priv[s->u.alloc.buf] = false;
		}
		if (!add_note(P, K, s, w.level == LV_THREAD ? NOTE_PRIVATE : NOTE_BLOCK_ALLOC))
			return -1;
		return kwalk(P, K, s->u.alloc.body, w);
	case LIR_STORE:
		fits_expr(P, K, s->u.store.index);
		fits_expr(P, K, s->u.store.value);
		return 0;
	case LIR_SEQ:
		for (int i = 0; i < s->u.seq.n; i++)
			if (kwalk(P, K, s->u.seq.s[i], w))
				return -1;
		return 0;
	default:
		return 0;
	}
}

/* Clamp launch sizes to the target's limits; loops beyond them stride. */
static void clamp_launch(const plan *P, kplan *K)
{
	static const int64_t tmax[3] = {1024, 1024, 64};
	int64_t gmax[3] = {CU_GRID_X_MAX, CU_GRID_YZ_MAX, CU_GRID_YZ_MAX};
	int limit = P->t->max_threads_per_block > 0 ? P->t->max_threads_per_block : 1024;

	for (int d = 0; d < 3; d++) {
		K->block[d] = (int)(K->block[d] > tmax[d] ? tmax[d] : K->block[d]);
		K->grid[d] = K->grid[d] > gmax[d] ? gmax[d] : K->grid[d];
	}
	while ((int64_t)K->block[0] * K->block[1] * K->block[2] > limit) {
		int d = K->block[0] >= K->block[1] && K->block[0] >= K->block[2] ? 0
			: K->block[1] >= K->block[2]                             ? 1
										 : 2;

		K->block[d] = (K->block[d] + 1) / 2;
	}
	for (int i = 0; i < K->nnotes; i++) {
		note *n = &K->notes[i];

		if (n->kind == NOTE_GRID)
			n->strided = n->extent > K->grid[n->dim];
		else if (n->kind == NOTE_THREAD)
			n->strided = n->extent > K->block[n->dim];
	}
}

int64_t cu_threads(const kplan *K)
{
	return (int64_t)K->block[0] * K->block[1] * K->block[2];
}

/* Launch sizes, then shared memory: block-level allocations in a block of
 * one thread are private arrays instead. */
static int finish_kernel(plan *P, kplan *K, int index)
{
	int64_t limit = P->t->max_shared_bytes > 0 ? P->t->max_shared_bytes : 48 * 1024, private_bytes = 0;

	for (int d = 0; d < 3; d++)
		K->grid[d] = K->block[d] = 1;
	for (int i = 0; i < K->nnotes; i++) {
		const note *n = &K->notes[i];

		if (n->kind == NOTE_GRID && n->extent > K->grid[n->dim])
			K->grid[n->dim] = n->extent;
		if (n->kind == NOTE_THREAD && n->extent > K->block[n->dim])
			K->block[n->dim] = (int)(n->extent > 1024 ? 1024 : n->extent);
	}
	clamp_launch(P, K);
	for (int i = 0; i < K->nnotes; i++) {
		note *n = &K->notes[i];
		const lir_buffer *b;
		int64_t bytes;

		if (n->kind == NOTE_COPY && cu_threads(K) == 1)
			n->kind = NOTE_NONE; /* a plain nest */
		if (n->kind != NOTE_BLOCK_ALLOC && n->kind != NOTE_PRIVATE)
			continue;
		b = lir_func_buffer(P->f, n->s->u.alloc.buf);
		bytes = b->size * (int64_t)lir_type_size(b->type);
		if (n->kind == NOTE_PRIVATE || cu_threads(K) == 1) {
			if ((private_bytes += bytes) > CU_LOCAL_MAX)
				return rt_error_set(P->err, 0, 0,
						    "cuda: the per-thread arrays of kernel %d need %lld bytes (with %s); "
						    "a thread has at most %lld", index, (long long)private_bytes, b->name,
						    (long long)CU_LOCAL_MAX);
			continue;
		}
		n->offset = K->shared_bytes;
		K->shared_bytes += (bytes + CU_SHARED_ALIGN - 1) / CU_SHARED_ALIGN * CU_SHARED_ALIGN;
		if (K->shared_bytes > limit) {
			char what[160];

			snprintf(what, sizeof(what), "%s (kernel %d)", b->name, index);
			return rt_error_set(P->err, 0, 0,
					    "cuda: shared memory of %s: the block-level buffers need %lld bytes, "
					    "the target allows %lld", what, (long long)K->shared_bytes,
					    (long long)limit);
		}
	}
	return 0;
}

/* A kernel for the host-level statement s under the current prefix. */
static int add_kernel(plan *P, const lir_stmt *s)
{
	kplan *K;
	walk w = {LV_GRID, 0, 0};

	if (grow(&P->k, &P->capk, P->nk + 1, sizeof(kplan)))
		return rt_error_set(P->err, 0, 0, "out of memory");
	K = &P->k[P->nk++];
	memset(K, 0, sizeof(*K));
	K->unit = s;
	K->idx32 = true;
	K->nprefix = P->npre;
	if (P->npre && !(K->prefix = malloc(sizeof(*K->prefix) * (size_t)P->npre)))
		return rt_error_set(P->err, 0, 0, "out of memory");
	if (P->npre)
		memcpy(K->prefix, P->pre, sizeof(*K->prefix) * (size_t)P->npre);
	for (int i = 0; i < P->npre; i++) {
		const lir_expr *e = P->pre[i]->kind == LIR_LET ? P->pre[i]->u.let.value : P->pre[i]->u.cond.cond;

		fits_expr(P, K, e);
	}
	if (kwalk(P, K, s, w))
		return -1;
	return finish_kernel(P, K, P->nk - 1);
}

static int push_prefix(plan *P, const lir_stmt *s)
{
	if (grow(&P->pre, &P->cappre, P->npre + 1, sizeof(*P->pre)))
		return rt_error_set(P->err, 0, 0, "out of memory");
	P->pre[P->npre++] = s;
	return 0;
}

/* The host level: sequences, allocations (temps), lets and else-less ifs
 * (repeated in each kernel below them); anything else is a kernel. */
static int host(plan *P, const lir_stmt *s)
{
	int rc = 0;

	if (!s || s->kind == LIR_BARRIER)
		return 0;
	switch (s->kind) {
	case LIR_SEQ:
		for (int i = 0; i < s->u.seq.n && !rc; i++)
			rc = host(P, s->u.seq.s[i]);
		return rc;
	case LIR_ALLOC:
		P->shared_alloc[s->u.alloc.buf] = true;
		if (P->temp_of[s->u.alloc.buf] < 0) {
			P->temp_of[s->u.alloc.buf] = P->ntemps;
			P->temp_buf[P->ntemps++] = s->u.alloc.buf;
		}
		return host(P, s->u.alloc.body);
	case LIR_LET: {
		int v = s->u.let.var;
		iv saved = P->env[v];
		aff *sa = P->let_aff[v], a = aff_of(P, s->u.let.value);
		bool fits = true;

		P->env[v] = eval_iv(P, s->u.let.value, &fits);
		P->let_aff[v] = a.ok ? &a : NULL;
		rc = push_prefix(P, s) ? -1 : host(P, s->u.let.body);
		P->npre--;
		P->env[v] = saved;
		P->let_aff[v] = sa;
		return rc;
	}
	case LIR_IF:
		if (s->u.cond.else_s)
			return add_kernel(P, s);
		rc = push_prefix(P, s) ? -1 : host(P, s->u.cond.then_s);
		P->npre--;
		return rc;
	default:
		return add_kernel(P, s);
	}
}

void cu_plan_release(plan *P)
{
	for (int i = 0; i < P->nk; i++) {
		free(P->k[i].prefix);
		free(P->k[i].notes);
	}
	free(P->k);
	free(P->temp_of);
	free(P->temp_buf);
	free(P->env);
	free(P->let_aff);
	free(P->pre);
	free(P->priv);
	free(P->shared_alloc);
	memset(P, 0, sizeof(*P));
}

int cu_plan_build(plan *P, const lir_func *f, const cg_target *t, rt_error *err)
{
	int nb = lir_func_nbuffers(f), nv = lir_func_nvars(f);

	memset(P, 0, sizeof(*P));
	P->f = f;
	P->t = t;
	P->err = err;
	P->temp_of = malloc(sizeof(int) * (size_t)(nb + 1));
	P->temp_buf = malloc(sizeof(int) * (size_t)(nb + 1));
	P->env = calloc((size_t)nv + 1, sizeof(iv));
	P->let_aff = calloc((size_t)nv + 1, sizeof(aff *));
	P->priv = calloc((size_t)nb + 1, sizeof(bool));
	P->shared_alloc = calloc((size_t)nb + 1, sizeof(bool));
	if (!P->temp_of || !P->temp_buf || !P->env || !P->let_aff || !P->priv || !P->shared_alloc)
		return rt_error_set(err, 0, 0, "out of memory");
	for (int i = 0; i < nb; i++)
		P->temp_of[i] = -1;
	if (t->kind != CG_TARGET_CUDA)
		return rt_error_set(err, 0, 0, "the CUDA code generator cannot compile for a %s target",
				    cg_target_kind_name(t->kind));
	return host(P, lir_func_body(f));
}

/* The public view of a plan. */
cg_cuda_prog *cu_plan_prog(const plan *P)
{
	cg_cuda_prog *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	snprintf(p->name, sizeof(p->name), "%s", lir_func_name(P->f));
	snprintf(p->sm, sizeof(p->sm), "sm_%d", P->t->sm ? P->t->sm : 80);
	p->nkernels = P->nk;
	p->nparams = lir_func_nparams(P->f);
	p->ntemps = P->ntemps;
	p->kernels = calloc((size_t)P->nk + 1, sizeof(cg_cuda_kernel));
	p->temp_bytes = calloc((size_t)P->ntemps + 1, sizeof(int64_t));
	if (!p->kernels || !p->temp_bytes)
		return cg_cuda_prog_free(p);
	for (int i = 0; i < P->nk; i++) {
		cg_cuda_kernel *k = &p->kernels[i];

		snprintf(k->name, sizeof(k->name), "%s_k%d", p->name, i);
		for (int d = 0; d < 3; d++) {
			k->grid[d] = P->k[i].grid[d];
			k->block[d] = P->k[i].block[d];
		}
		k->shared_bytes = P->k[i].shared_bytes;
	}
	for (int i = 0; i < P->ntemps; i++) {
		const lir_buffer *b = lir_func_buffer(P->f, P->temp_buf[i]);

		p->temp_bytes[i] = b->size * (int64_t)lir_type_size(b->type);
	}
	return p;
}

cg_cuda_prog *cg_cuda_prog_free(cg_cuda_prog *p)
{
	if (!p)
		return NULL;
	free(p->ptx);
	free(p->kernels);
	free(p->temp_bytes);
	free(p);
	return NULL;
}

cg_cuda_prog *cg_cuda_plan(const lir_func *f, const cg_target *t, rt_error *err)
{
	plan P;
	cg_cuda_prog *p = NULL;

	if (cu_plan_build(&P, f, t, err) == 0 && !(p = cu_plan_prog(&P)))
		rt_error_set(err, 0, 0, "out of memory");
	cu_plan_release(&P);
	return p;
}
