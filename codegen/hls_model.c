/*
 * hls_model: the analytic HLS performance and resource model (see
 * hls_model.h; the formulas and their constants are in docs/hls.md).
 *
 * Three walks over the lir:
 *   1. which loops must be enumerated: those whose variable reaches (through
 *      lets) the bounds of a loop or the condition of an if inside them;
 *   2. latency: statement by statement with concrete values of the
 *      enclosing loop variables (their first value, or each value of an
 *      enumerated loop); a pipelined loop is analysed once (`analyse`): its
 *      body is unrolled copy by copy, every access is a concrete element,
 *      and values carry their ready time and the chains from the elements
 *      they were computed from, so that recurrences, port pressure per bank
 *      and the depth come out of one pass;
 *   3. resources: operations counted per static statement times the copies
 *      unrolling makes, shared by II in a pipeline; buffers and ports.
 */
#include "hls_model.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_math.h"

/* ---- the cost table (at 300 MHz on an UltraScale+ part; docs/hls.md) ---- */

typedef struct opcost {
	double lat; /* cycles at 300 MHz; 0 = combinational */
	double dsp, lut;
} opcost;

enum { C_ADD, C_MUL, C_DIV, C_MOD, C_CMP, C_SEL, C_ABS, C_EXP, C_LOG, C_SQRT, C_TANH, C_CAST, C_NCLASS };

/* Per class: f32, f64, i32. */
static const opcost cost_table[C_NCLASS][3] = {
	[C_ADD] = {{4, 2, 220}, {5, 3, 700}, {0, 0, 32}},
	[C_MUL] = {{3, 3, 110}, {6, 11, 250}, {2, 3, 40}},
	[C_DIV] = {{12, 0, 800}, {30, 0, 3200}, {36, 0, 1200}},
	[C_MOD] = {{16, 0, 1000}, {40, 0, 4000}, {36, 0, 1200}},
	[C_CMP] = {{1, 0, 70}, {1, 0, 140}, {0, 0, 16}},
	[C_SEL] = {{0, 0, 32}, {0, 0, 64}, {0, 0, 32}},
	[C_ABS] = {{0, 0, 2}, {0, 0, 2}, {0, 0, 32}},
	[C_EXP] = {{15, 7, 1000}, {20, 26, 2500}, {15, 7, 1000}},
	[C_LOG] = {{16, 8, 1200}, {24, 30, 3000}, {16, 8, 1200}},
	[C_SQRT] = {{12, 0, 500}, {28, 0, 1600}, {12, 0, 500}},
	[C_TANH] = {{20, 12, 2500}, {30, 30, 5000}, {20, 12, 2500}},
	[C_CAST] = {{4, 0, 200}, {5, 0, 400}, {0, 0, 0}},
};

#define LAT_BRAM 2     /* on-chip read, cycles at 300 MHz */
#define LAT_AXI 64     /* off-chip read through an AXI master, cycles */
#define PORTS_BRAM 2   /* a BRAM bank is true dual-port */
#define REG_ELEMS 4    /* arrays this small become registers (Vitis's default) */
#define LUT_LOOP 40    /* control of a sequential loop */
#define LUT_PIPE 150   /* control of a pipeline */
#define LUT_AXI 1500   /* an AXI master adapter */
#define BRAM_AXI 2     /* its burst buffers */
#define LUT_CTRL 300   /* the AXI-lite control slave */
#define MAX_BANKS 4096 /* banks of one array at most (Vitis's partitioning limit) */
#define SAMPLE_TRIPS 64     /* enumerate loops up to this many trips, else sample */
#define MAX_VISITS 4000000  /* statements visited while unrolling one pipeline */
#define MAX_STEPS 2000000   /* statements visited by the latency walk, then sample */

/* The cost class of op (-1: free: loads, variables, logic on bools). */
static int cost_class(lir_op op)
{
	switch (op) {
	case LIR_ADD: case LIR_SUB: case LIR_NEG: return C_ADD;
	case LIR_MUL: return C_MUL;
	case LIR_DIV: return C_DIV;
	case LIR_MOD: return C_MOD;
	case LIR_LT: case LIR_LE: case LIR_GT: case LIR_GE: case LIR_EQ: case LIR_NE:
	case LIR_MIN: case LIR_MAX: return C_CMP;
	case LIR_SELECT: return C_SEL;
	case LIR_ABS: return C_ABS;
	case LIR_EXP: return C_EXP;
	case LIR_LOG: return C_LOG;
	case LIR_SQRT: return C_SQRT;
	case LIR_TANH: return C_TANH;
	case LIR_CAST: return C_CAST;
	default: return -1;
	}
}

/* The type an operation computes in: its operands' for comparisons. */
static lir_type op_type(const lir_expr *e)
{
	if (e->op == LIR_SELECT)
		return e->args[1]->type;
	if (e->nargs > 0 && (cost_class(e->op) == C_CMP || e->op == LIR_CAST) &&
	    lir_type_is_float(e->args[0]->type))
		return e->args[0]->type;
	return e->type;
}

/* The cost of node e; zero for index arithmetic (i64), bools and leaves.
 * Negation of a float is a sign flip. */
static opcost cost_of(const lir_expr *e, double mhz)
{
	opcost z = {0, 0, 0}, c;
	int k = cost_class(e->op);
	lir_type t = op_type(e);
	int col = t == LIR_F32 ? 0 : t == LIR_F64 ? 1 : t == LIR_I32 ? 2 : -1;

	if (k < 0 || col < 0 || (e->op == LIR_NEG && col < 2))
		return z;
	c = cost_table[k][col];
	if (c.lat > 0)
		c.lat = fmax(1, ceil(c.lat * mhz / 300 - 1e-9));
	return c;
}

/* ---- the model's state ---- */

/* A value's dependence on an element read from memory in this iteration:
 * the cycles from that read's result to the value. */
typedef struct src {
	int elem;
	double len;
} src;

#define NSRC 4

/* A value in an unrolled iteration: when it is ready, and from which
 * carried reads it comes. */
typedef struct tv {
	double t;
	int n;
	src s[NSRC];
} tv;

/* An element of a buffer touched by an iteration. */
typedef struct elem {
	int buf;
	int64_t idx;
	bool used, read, written;
	double t_w;     /* when the latest value written is ready */
	tv val;         /* that value (for forwarding) */
	double rec;     /* the longest cycle through a carried read of it, -1 none */
	int64_t dist;   /* iterations until it is accessed again (0: never) */
} elem;

/* What the analysis of a pipelined (or unrolled) loop finds. */
typedef struct pipe_info {
	const lir_stmt *loop;
	bool unroll_only;   /* an unrolled loop outside any pipeline */
	int nchain;
	int ii, ii_rec, ii_mem, depth;
	double mem_ratio;   /* accesses per port of the busiest bank */
	int64_t copies;
	char why[200];
	int slot;           /* index into out->pipes, -1 */
} pipe_info;

typedef struct model {
	const lir_func *f;
	double mhz;
	int nv;
	int64_t *val;            /* per variable: its current value */
	const lir_stmt **def;    /* per variable: its for or let */
	bool *enumerate;         /* per loop variable */
	pipe_info *pipes;
	int npipes, cap;
	hls_estimate *out;
	rt_error *err;
	long steps;
	bool failed;
} model;

static int fail(model *M, const char *fmt, const char *what)
{
	if (!M->failed)
		rt_error_set(M->err, 0, 0, fmt, what);
	M->failed = true;
	return -1;
}

static const char *var_name(const model *M, int v)
{
	const lir_var *x = lir_func_var(M->f, v);

	return x ? x->name : "?";
}

/* v's name, with "_N" when N variables before it have the same name (as
 * `ftc lower` and the HLS C tell them apart). */
static void shown_name(const model *M, int v, char *out, size_t n)
{
	int k = 0;

	for (int i = 0; i < v; i++)
		k += strcmp(var_name(M, i), var_name(M, v)) == 0;
	if (k)
		snprintf(out, n, "%s_%d", var_name(M, v), k);
	else
		snprintf(out, n, "%s", var_name(M, v));
}

/* ---- integer evaluation (lets expanded, so any loop value may change) ---- */

static bool eval(const model *M, const lir_expr *e, int64_t *out, int depth);

static bool eval2(const model *M, const lir_expr *e, int64_t *a, int64_t *b, int depth)
{
	return eval(M, e->args[0], a, depth + 1) && eval(M, e->args[1], b, depth + 1);
}

static bool eval(const model *M, const lir_expr *e, int64_t *out, int depth)
{
	int64_t a, b, c;
	const lir_stmt *d;

	if (!e || depth > 200 || lir_type_is_float(e->type))
		return false;
	switch (e->op) {
	case LIR_CONST:
		*out = e->c.i;
		return true;
	case LIR_VAR:
		d = M->def[e->id];
		if (d && d->kind == LIR_LET)
			return eval(M, d->u.let.value, out, depth + 1);
		*out = M->val[e->id];
		return true;
	case LIR_NEG:
		if (!eval(M, e->args[0], &a, depth + 1))
			return false;
		*out = (int64_t)(0 - (uint64_t)a);
		return true;
	case LIR_NOT:
		if (!eval(M, e->args[0], &a, depth + 1))
			return false;
		*out = !a;
		return true;
	case LIR_ABS:
		if (!eval(M, e->args[0], &a, depth + 1))
			return false;
		*out = a < 0 ? (int64_t)(0 - (uint64_t)a) : a;
		return true;
	case LIR_CAST:
		return !lir_type_is_float(e->args[0]->type) && eval(M, e->args[0], out, depth + 1);
	case LIR_SELECT:
		if (!eval(M, e->args[0], &c, depth + 1))
			return false;
		return eval(M, e->args[c ? 1 : 2], out, depth + 1);
	default:
		break;
	}
	if (e->nargs != 2 || !eval2(M, e, &a, &b, depth))
		return false;
	switch (e->op) {
	case LIR_ADD: *out = (int64_t)((uint64_t)a + (uint64_t)b); break;
	case LIR_SUB: *out = (int64_t)((uint64_t)a - (uint64_t)b); break;
	case LIR_MUL: *out = (int64_t)((uint64_t)a * (uint64_t)b); break;
	case LIR_DIV: *out = rt_floor_div(a, b); break;
	case LIR_MOD: *out = rt_floor_mod(a, b); break;
	case LIR_MIN: *out = a < b ? a : b; break;
	case LIR_MAX: *out = a > b ? a : b; break;
	case LIR_LT: *out = a < b; break;
	case LIR_LE: *out = a <= b; break;
	case LIR_GT: *out = a > b; break;
	case LIR_GE: *out = a >= b; break;
	case LIR_EQ: *out = a == b; break;
	case LIR_NE: *out = a != b; break;
	case LIR_AND: *out = a && b; break;
	case LIR_OR: *out = a || b; break;
	default: return false;
	}
	return true;
}

/* The trip count of loop s with the current values; -1 when unknown. */
static int64_t trips(const model *M, const lir_stmt *s, int64_t *lo)
{
	int64_t hi;

	if (!eval(M, s->u.loop.lo, lo, 0) || !eval(M, s->u.loop.hi, &hi, 0))
		return -1;
	return hi <= *lo ? 0 : (hi - *lo + s->u.loop.step - 1) / s->u.loop.step;
}

/* ---- walk 1: definitions, and which loops to enumerate ---- */

/* Mark in `used` the variables e reads, lets expanded. */
static void vars_of(const model *M, const lir_expr *e, bool *used, int depth)
{
	if (!e || depth > 200)
		return;
	if (e->op == LIR_VAR) {
		const lir_stmt *d = M->def[e->id];

		used[e->id] = true;
		if (d && d->kind == LIR_LET)
			vars_of(M, d->u.let.value, used, depth + 1);
	}
	for (int i = 0; i < e->nargs; i++)
		vars_of(M, e->args[i], used, depth + 1);
}

typedef struct scan {
	model *M;
	int loops[256]; /* enclosing loop variables */
	int depth;
	bool *used;
} scan;

/* Enumerate the enclosing loops whose variables e reads. */
static void mark_enclosing(scan *S, const lir_expr *e)
{
	memset(S->used, 0, (size_t)S->M->nv * sizeof(bool));
	vars_of(S->M, e, S->used, 0);
	for (int i = 0; i < S->depth && i < 256; i++)
		if (S->used[S->loops[i]])
			S->M->enumerate[S->loops[i]] = true;
}

static void scan_stmt(scan *S, const lir_stmt *s)
{
	if (!s)
		return;
	switch (s->kind) {
	case LIR_FOR:
		S->M->def[s->u.loop.var] = s;
		if (s->u.loop.lo->op != LIR_CONST)
			mark_enclosing(S, s->u.loop.lo);
		if (s->u.loop.hi->op != LIR_CONST)
			mark_enclosing(S, s->u.loop.hi);
		if (S->depth < 256)
			S->loops[S->depth] = s->u.loop.var;
		S->depth++;
		scan_stmt(S, s->u.loop.body);
		S->depth--;
		break;
	case LIR_IF:
		mark_enclosing(S, s->u.cond.cond);
		scan_stmt(S, s->u.cond.then_s);
		scan_stmt(S, s->u.cond.else_s);
		break;
	case LIR_LET:
		S->M->def[s->u.let.var] = s;
		scan_stmt(S, s->u.let.body);
		break;
	case LIR_ALLOC:
		scan_stmt(S, s->u.alloc.body);
		break;
	case LIR_SEQ:
		for (int i = 0; i < s->u.seq.n; i++)
			scan_stmt(S, s->u.seq.s[i]);
		break;
	default:
		break;
	}
}

/* ---- buffers ---- */

static bool in_registers(const lir_buffer *b)
{
	return b->scope != LIR_GLOBAL && (b->part == LIR_PART_COMPLETE || b->size <= REG_ELEMS);
}

static int64_t banks_of(const lir_buffer *b)
{
	if (in_registers(b))
		return b->size;
	return b->part == LIR_PART_CYCLIC || b->part == LIR_PART_BLOCK
		       ? (b->part_factor < b->size ? b->part_factor : b->size)
		       : 1;
}

static int64_t bank_of(const lir_buffer *b, int64_t idx)
{
	int64_t n = banks_of(b);

	if (in_registers(b))
		return idx;
	if (b->part == LIR_PART_CYCLIC)
		return ((idx % n) + n) % n;
	if (b->part == LIR_PART_BLOCK)
		return idx / ((b->size + n - 1) / n);
	return 0;
}

static double read_latency(const model *M, const lir_buffer *b)
{
	if (b->scope == LIR_GLOBAL)
		return LAT_AXI;
	if (in_registers(b))
		return 0;
	return fmax(1, ceil(LAT_BRAM * M->mhz / 300 - 1e-9));
}

/* ---- the analysis of one pipelined or unrolled loop ---- */

#define MAX_CHAIN 16

typedef struct dist_memo {
	const lir_stmt *store;
	int64_t dist;
	int64_t visits;
} dist_memo;

typedef struct an {
	model *M;
	const lir_stmt *chain[MAX_CHAIN]; /* flattened loops, outermost first */
	int n;
	int64_t trip[MAX_CHAIN], lo[MAX_CHAIN];
	elem *tab;
	size_t cap, used;
	double depth;
	long visits;
	dist_memo memo[256];
	int nmemo;
} an;

static uint64_t hash_key(int buf, int64_t idx)
{
	uint64_t h = (uint64_t)idx * UINT64_C(0x9e3779b97f4a7c15) ^ (uint64_t)buf * UINT64_C(0xc2b2ae3d27d4eb4f);

	return h ^ (h >> 29);
}

static int elem_grow(an *A)
{
	size_t cap = A->cap ? 2 * A->cap : 1024;
	elem *t = calloc(cap, sizeof(*t)), *old = A->tab;

	if (!t)
		return -1;
	for (size_t i = 0; i < A->cap; i++) {
		size_t j;

		if (!old[i].used)
			continue;
		for (j = hash_key(old[i].buf, old[i].idx) & (cap - 1); t[j].used; j = (j + 1) & (cap - 1))
			;
		t[j] = old[i];
	}
	free(old);
	A->tab = t;
	A->cap = cap;
	return 0;
}

/* The slot of element (buf, idx), made when new; -1 when out of memory.
 * Slots move when the table grows: hold indices only until the next call. */
static int elem_get(an *A, int buf, int64_t idx)
{
	size_t j;

	if ((A->used + 1) * 2 > A->cap && elem_grow(A))
		return -1;
	for (j = hash_key(buf, idx) & (A->cap - 1); A->tab[j].used; j = (j + 1) & (A->cap - 1))
		if (A->tab[j].buf == buf && A->tab[j].idx == idx)
			return (int)j;
	A->tab[j].used = true;
	A->tab[j].buf = buf;
	A->tab[j].idx = idx;
	A->tab[j].rec = -1;
	A->used++;
	return (int)j;
}

/* The sources of a and b (the longest chain of each element kept) and the
 * later ready time. */
static tv merge(tv a, const tv *b)
{
	for (int i = 0; i < b->n; i++) {
		int k = 0;

		while (k < a.n && a.s[k].elem != b->s[i].elem)
			k++;
		if (k < a.n) {
			a.s[k].len = fmax(a.s[k].len, b->s[i].len);
		} else if (a.n < NSRC) {
			a.s[a.n++] = b->s[i];
		} else {
			int m = 0;

			for (int j = 1; j < NSRC; j++)
				m = a.s[j].len < a.s[m].len ? j : m;
			if (b->s[i].len > a.s[m].len)
				a.s[m] = b->s[i];
		}
	}
	a.t = fmax(a.t, b->t);
	return a;
}

static void lengthen(tv *v, double add)
{
	v->t += add;
	for (int i = 0; i < v->n; i++)
		v->s[i].len += add;
}

static tv an_expr(an *A, const lir_expr *e);

/* A load in the unrolled iteration: forwarded from a write earlier in it,
 * else a read from memory (the element's carried value). */
static tv an_load(an *A, const lir_expr *e)
{
	model *M = A->M;
	tv r = {0, 0, {{0, 0}}};
	int64_t idx;
	int k;

	if (!eval(M, e->args[0], &idx, 0)) {
		fail(M, "HLS model: cannot evaluate an index of '%s'", lir_func_buffer(M->f, e->id)->name);
		return r;
	}
	if ((k = elem_get(A, e->id, idx)) < 0) {
		fail(M, "%s", "out of memory in the HLS model");
		return r;
	}
	if (A->tab[k].written)
		return A->tab[k].val;
	A->tab[k].read = true;
	r.t = read_latency(M, lir_func_buffer(M->f, e->id));
	r.n = 1;
	r.s[0].elem = k;
	return r;
}

static tv an_expr(an *A, const lir_expr *e)
{
	tv r = {0, 0, {{0, 0}}};
	opcost c;

	if (e->op == LIR_LOAD)
		return an_load(A, e);
	if (e->op == LIR_CONST || e->op == LIR_VAR)
		return r;
	for (int i = 0; i < e->nargs; i++) {
		tv a = an_expr(A, e->args[i]);

		r = merge(r, &a);
	}
	c = cost_of(e, A->M->mhz);
	lengthen(&r, c.lat);
	return r;
}

/* Iterations between two accesses of the element store s writes: 0 when
 * its index depends on every flattened loop (it never recurs), else the
 * product of the trips inside the innermost loop it does not depend on. */
static int64_t distance(an *A, const lir_stmt *s)
{
	model *M = A->M;
	int64_t base, moved, d = 1;

	if (!eval(M, s->u.store.index, &base, 0))
		return 1;
	for (int j = A->n - 1; j >= 0; j--) {
		int v = A->chain[j]->u.loop.var;
		bool dep;

		if (A->trip[j] <= 1)
			continue;
		M->val[v] = A->lo[j] + A->chain[j]->u.loop.step;
		dep = !eval(M, s->u.store.index, &moved, 0) || moved != base;
		M->val[v] = A->lo[j];
		if (!dep)
			return d;
		d *= A->trip[j];
	}
	return 0;
}

static dist_memo *memo_of(an *A, const lir_stmt *s)
{
	for (int i = 0; i < A->nmemo; i++)
		if (A->memo[i].store == s)
			return &A->memo[i];
	if (A->nmemo == 256)
		return NULL;
	A->memo[A->nmemo] = (dist_memo){s, distance(A, s), 0};
	return &A->memo[A->nmemo++];
}

static void an_store(an *A, const lir_stmt *s)
{
	model *M = A->M;
	const lir_buffer *b = lir_func_buffer(M->f, s->u.store.buf);
	tv v = an_expr(A, s->u.store.value);
	dist_memo *dm = memo_of(A, s);
	int64_t idx;
	int k;

	if (dm)
		dm->visits++;
	if (!eval(M, s->u.store.index, &idx, 0)) {
		fail(M, "HLS model: cannot evaluate an index of '%s'", b->name);
		return;
	}
	if ((k = elem_get(A, s->u.store.buf, idx)) < 0) {
		fail(M, "%s", "out of memory in the HLS model");
		return;
	}
	for (int i = 0; i < v.n; i++)
		if (v.s[i].elem == k) {
			double cycle = v.s[i].len + (b->scope == LIR_GLOBAL ? LAT_AXI + 1 : 0);

			if (cycle > A->tab[k].rec) {
				A->tab[k].rec = cycle;
				A->tab[k].dist = dm ? dm->dist : 1;
			}
		}
	A->tab[k].written = true;
	A->tab[k].val = v;
	A->tab[k].t_w = v.t;
	A->depth = fmax(A->depth, v.t + 1);
}

static void an_stmt(an *A, const lir_stmt *s)
{
	model *M = A->M;
	int64_t lo, n, c;

	if (!s || M->failed)
		return;
	if (++A->visits > MAX_VISITS) {
		fail(M, "HLS model: the loop '%s' unrolls into too many copies to model",
		     var_name(M, A->chain[A->n - 1]->u.loop.var));
		return;
	}
	switch (s->kind) {
	case LIR_FOR:
		if ((n = trips(M, s, &lo)) < 0) {
			fail(M, "HLS model: the bounds of loop '%s' vary inside a pipeline", var_name(M, s->u.loop.var));
			return;
		}
		for (int64_t i = 0; i < n && !M->failed; i++) {
			M->val[s->u.loop.var] = lo + i * s->u.loop.step;
			an_stmt(A, s->u.loop.body);
		}
		M->val[s->u.loop.var] = lo;
		break;
	case LIR_IF:
		if (eval(M, s->u.cond.cond, &c, 0)) {
			an_stmt(A, c ? s->u.cond.then_s : s->u.cond.else_s);
		} else {
			an_stmt(A, s->u.cond.then_s);
			an_stmt(A, s->u.cond.else_s);
		}
		break;
	case LIR_LET:
		an_stmt(A, s->u.let.body);
		break;
	case LIR_ALLOC:
		an_stmt(A, s->u.alloc.body);
		break;
	case LIR_SEQ:
		for (int i = 0; i < s->u.seq.n; i++)
			an_stmt(A, s->u.seq.s[i]);
		break;
	case LIR_STORE:
		an_store(A, s);
		break;
	default:
		break;
	}
}

/* Count of accesses per (buffer, bank) and per AXI direction. */
typedef struct port_use {
	int buf;
	int64_t bank;
	int64_t n;
} port_use;

static int cmp_use(const void *x, const void *y)
{
	const port_use *a = x, *b = y;

	if (a->buf != b->buf)
		return a->buf < b->buf ? -1 : 1;
	return (a->bank > b->bank) - (a->bank < b->bank);
}

/* The memory bound of the iteration into p (ii_mem, mem_ratio, why). */
static int port_bound(an *A, pipe_info *p)
{
	model *M = A->M;
	port_use *u = calloc(2 * A->used + 1, sizeof(*u));
	size_t n = 0;
	double worst = 0;

	if (!u)
		return fail(M, "%s", "out of memory in the HLS model");
	for (size_t i = 0; i < A->cap; i++) {
		const elem *e = &A->tab[i];
		const lir_buffer *b;

		if (!e->used || (!e->read && !e->written))
			continue;
		b = lir_func_buffer(M->f, e->buf);
		if (in_registers(b))
			continue;
		if (b->scope == LIR_GLOBAL) { /* one channel each way: bank 0 reads, 1 writes */
			if (e->read)
				u[n++] = (port_use){e->buf, 0, 2};
			if (e->written)
				u[n++] = (port_use){e->buf, 1, 2};
		} else {
			u[n++] = (port_use){e->buf, bank_of(b, e->idx), e->read + e->written};
		}
	}
	qsort(u, n, sizeof(*u), cmp_use);
	for (size_t i = 0; i < n;) {
		size_t j = i;
		int64_t sum = 0;

		for (; j < n && u[j].buf == u[i].buf && u[j].bank == u[i].bank; j++)
			sum += u[j].n;
		if (sum / (double)PORTS_BRAM > worst) {
			const lir_buffer *b = lir_func_buffer(M->f, u[i].buf);

			worst = sum / (double)PORTS_BRAM;
			if (b->scope == LIR_GLOBAL)
				snprintf(p->why, sizeof(p->why), "memory: %" PRId64 " %s of off-chip '%s' per iteration, one a cycle",
					 sum / 2, u[i].bank ? "writes" : "reads", b->name);
			else
				snprintf(p->why, sizeof(p->why),
					 "memory: %" PRId64 " accesses to one bank of '%s' (%" PRId64 " bank%s, %d ports each)",
					 sum, b->name, banks_of(b), banks_of(b) == 1 ? "" : "s", PORTS_BRAM);
		}
		i = j;
	}
	free(u);
	p->mem_ratio = worst;
	p->ii_mem = (int)ceil(worst - 1e-9);
	return 0;
}

/* The recurrence bound of the iteration into p (ii_rec, why if larger). */
static void rec_bound(an *A, pipe_info *p, char *why, size_t n)
{
	model *M = A->M;

	p->ii_rec = 0;
	for (size_t i = 0; i < A->cap; i++) {
		const elem *e = &A->tab[i];
		int ii;

		if (!e->used || e->rec < 0 || e->dist <= 0)
			continue;
		ii = (int)ceil(e->rec / (double)e->dist - 1e-9);
		if (ii > p->ii_rec) {
			p->ii_rec = ii;
			snprintf(why, n, "recurrence: '%s' is updated through a chain of %.0f cycles every %" PRId64 " iteration%s",
				 lir_func_buffer(M->f, e->buf)->name, e->rec, e->dist, e->dist == 1 ? "" : "s");
		}
	}
}

/* Analyse the loops chain[0..n) (the last the pipelined or unrolled one)
 * with the current values of the enclosing loops, into p. */
static int analyse(model *M, const lir_stmt *const *chain, int n, pipe_info *p)
{
	an A;
	char rwhy[200] = "";
	const lir_stmt *inner = chain[n - 1];

	memset(&A, 0, sizeof(A));
	A.M = M;
	A.n = n;
	for (int j = 0; j < n; j++) {
		A.chain[j] = chain[j];
		A.trip[j] = trips(M, chain[j], &A.lo[j]);
		M->val[chain[j]->u.loop.var] = A.lo[j];
	}
	if (elem_grow(&A))
		return fail(M, "%s", "out of memory in the HLS model");
	an_stmt(&A, inner->u.loop.body);
	p->copies = 0;
	for (int i = 0; i < A.nmemo; i++)
		p->copies = A.memo[i].visits > p->copies ? A.memo[i].visits : p->copies;
	if (!M->failed)
		port_bound(&A, p);
	rec_bound(&A, p, rwhy, sizeof(rwhy));
	free(A.tab);
	if (M->failed)
		return -1;
	p->depth = (int)ceil(fmax(A.depth, 1));
	p->ii = inner->u.loop.kind == LIR_PIPELINED && inner->u.loop.ii > 0 ? (int)inner->u.loop.ii : 1;
	if (p->ii_rec >= p->ii && p->ii_rec >= p->ii_mem && p->ii_rec > 1)
		snprintf(p->why, sizeof(p->why), "%s", rwhy);
	else if (p->ii >= p->ii_mem && p->ii >= p->ii_rec)
		snprintf(p->why, sizeof(p->why), "the target II");
	p->ii = p->ii > p->ii_rec ? p->ii : p->ii_rec;
	p->ii = p->ii > p->ii_mem ? p->ii : p->ii_mem;
	return 0;
}

/* The cached analysis of loop s (first use: analysed now). */
static pipe_info *pipe_of(model *M, const lir_stmt *const *chain, int n, bool unroll_only)
{
	const lir_stmt *s = chain[n - 1];
	pipe_info *p;

	for (int i = 0; i < M->npipes; i++)
		if (M->pipes[i].loop == s)
			return &M->pipes[i];
	if (M->npipes == M->cap) {
		int cap = M->cap ? 2 * M->cap : 16;
		pipe_info *q = realloc(M->pipes, (size_t)cap * sizeof(*q));

		if (!q) {
			fail(M, "%s", "out of memory in the HLS model");
			return NULL;
		}
		M->pipes = q;
		M->cap = cap;
	}
	p = &M->pipes[M->npipes++];
	memset(p, 0, sizeof(*p));
	p->loop = s;
	p->nchain = n;
	p->unroll_only = unroll_only;
	p->slot = -1;
	if (analyse(M, chain, n, p))
		return NULL;
	if (!unroll_only) {
		hls_estimate *o = M->out;

		if (o->npipes < HLS_MAX_PIPES) {
			hls_pipe *h = &o->pipes[o->npipes];

			p->slot = o->npipes;
			shown_name(M, s->u.loop.var, h->name, sizeof(h->name));
			h->flattened = n - 1;
			h->copies = p->copies;
			h->ii_target = s->u.loop.ii > 0 ? (int)s->u.loop.ii : 1;
			h->ii = p->ii;
			h->ii_rec = p->ii_rec;
			h->ii_mem = p->ii_mem;
			h->depth = p->depth;
			snprintf(h->why, sizeof(h->why), "%s", p->why);
		}
		o->npipes++;
	}
	return p;
}

/* ---- walk 2: latency ---- */

static double lat(model *M, const lir_stmt *s);

/* The critical path of a statement outside any pipeline. */
static double expr_lat(model *M, const lir_expr *e)
{
	double t = 0;

	if (e->op == LIR_LOAD)
		return read_latency(M, lir_func_buffer(M->f, e->id));
	for (int i = 0; i < e->nargs; i++)
		t = fmax(t, expr_lat(M, e->args[i]));
	return t + cost_of(e, M->mhz).lat;
}

/* Loops s, body, ... down to a pipelined loop: HLS flattens such a
 * perfect nest of sequential loops with constant bounds into the pipeline.
 * Their number (at least 1: the pipelined loop alone), or 0. */
static int perfect_chain(const lir_stmt *s, const lir_stmt **chain)
{
	int n = 0;

	while (s && n < MAX_CHAIN) {
		while (s->kind == LIR_LET || (s->kind == LIR_SEQ && s->u.seq.n == 1))
			s = s->kind == LIR_LET ? s->u.let.body : s->u.seq.s[0];
		if (s->kind != LIR_FOR || s->u.loop.lo->op != LIR_CONST || s->u.loop.hi->op != LIR_CONST ||
		    s->u.loop.kind == LIR_UNROLLED || s->u.loop.kind == LIR_VECTORIZED)
			return 0;
		chain[n++] = s;
		if (s->u.loop.kind == LIR_PIPELINED)
			return n;
		s = s->u.loop.body;
	}
	return 0;
}

/* A pipelined loop with the loops flattened into it. */
static double pipe_lat(model *M, const lir_stmt *const *chain, int n)
{
	pipe_info *p = pipe_of(M, chain, n, false);
	double trip = 1;
	int64_t lo;

	if (!p)
		return 0;
	for (int j = 0; j < n; j++) {
		int64_t t = trips(M, chain[j], &lo);

		if (t < 0)
			return fail(M, "HLS model: cannot evaluate the bounds of loop '%s'",
				    var_name(M, chain[j]->u.loop.var));
		trip *= (double)t;
	}
	if (p->slot >= 0 && M->out->pipes[p->slot].trip == 0)
		M->out->pipes[p->slot].trip = (int64_t)trip;
	return trip > 0 ? (trip - 1) * p->ii + p->depth + 1 : 1;
}

/* An unrolled loop outside pipelines: the body, then each further copy
 * after its recurrence or port bound. */
static double unrolled_lat(model *M, const lir_stmt *s)
{
	const lir_stmt *chain[1] = {s};
	pipe_info *p = pipe_of(M, chain, 1, true);
	int64_t lo, n = trips(M, s, &lo);
	double body;

	if (!p || n < 0)
		return n < 0 ? fail(M, "HLS model: cannot evaluate the bounds of loop '%s'", var_name(M, s->u.loop.var))
			     : 0;
	if (n == 0)
		return 0;
	M->val[s->u.loop.var] = lo;
	body = lat(M, s->u.loop.body);
	return body + (double)(n - 1) * fmax(p->ii_rec, p->mem_ratio);
}

/* A sequential loop: trips * (body + 1) + 1, the body at each value when
 * it depends on the variable (sampled past SAMPLE_TRIPS or the budget). */
static double serial_lat(model *M, const lir_stmt *s)
{
	int v = s->u.loop.var;
	int64_t lo, n = trips(M, s, &lo), st = s->u.loop.step;
	double sum = 0;

	if (n < 0)
		return fail(M, "HLS model: cannot evaluate the bounds of loop '%s'", var_name(M, v));
	if (n == 0)
		return 1;
	if (!M->enumerate[v]) {
		M->val[v] = lo;
		return (double)n * (lat(M, s->u.loop.body) + 1) + 1;
	}
	if (n <= SAMPLE_TRIPS && M->steps > 0) {
		for (int64_t i = 0; i < n && !M->failed; i++) {
			M->val[v] = lo + i * st;
			sum += lat(M, s->u.loop.body) + 1;
		}
		return sum + 1;
	}
	M->val[v] = lo;
	sum = lat(M, s->u.loop.body);
	if (n > 1) {
		M->val[v] = lo + (n - 1) * st;
		sum += lat(M, s->u.loop.body);
		M->val[v] = lo + (n > 2 ? st : 0);
		sum += (double)(n - 2) * lat(M, s->u.loop.body);
	}
	return sum + (double)n + 1;
}

static double for_lat(model *M, const lir_stmt *s)
{
	const lir_stmt *chain[MAX_CHAIN];
	int n;

	if (s->u.loop.kind == LIR_PIPELINED)
		return pipe_lat(M, &s, 1);
	if (s->u.loop.kind == LIR_UNROLLED || s->u.loop.kind == LIR_VECTORIZED)
		return unrolled_lat(M, s);
	if ((n = perfect_chain(s, chain)) > 0)
		return pipe_lat(M, chain, n);
	return serial_lat(M, s);
}

static double lat(model *M, const lir_stmt *s)
{
	double t = 0, a;
	int64_t c;

	if (!s || M->failed)
		return 0;
	M->steps--;
	switch (s->kind) {
	case LIR_FOR:
		return for_lat(M, s);
	case LIR_IF:
		if (eval(M, s->u.cond.cond, &c, 0))
			return 1 + lat(M, c ? s->u.cond.then_s : s->u.cond.else_s);
		a = lat(M, s->u.cond.then_s);
		return 1 + fmax(a, lat(M, s->u.cond.else_s));
	case LIR_LET:
		return lat(M, s->u.let.body);
	case LIR_ALLOC:
		return lat(M, s->u.alloc.body);
	case LIR_SEQ:
		for (int i = 0; i < s->u.seq.n; i++)
			t += lat(M, s->u.seq.s[i]);
		return t;
	case LIR_STORE:
		return expr_lat(M, s->u.store.value) + 1;
	default:
		return 0;
	}
}

/* ---- walk 3: resources ---- */

typedef struct counts {
	double n[C_NCLASS][3];
	double lut; /* control */
} counts;

static void count_expr(model *M, const lir_expr *e, double mult, counts *c)
{
	int k = cost_class(e->op);
	lir_type t = op_type(e);
	int col = t == LIR_F32 ? 0 : t == LIR_F64 ? 1 : t == LIR_I32 ? 2 : -1;

	if (k >= 0 && col >= 0 && !(e->op == LIR_NEG && col < 2))
		c->n[k][col] += mult;
	for (int i = 0; i < e->nargs; i++)
		count_expr(M, e->args[i], mult, c);
}

/* Units of counted operations into *dsp and *lut, `share` operations per unit. */
static void add_units(const counts *c, double share, double *dsp, double *lut)
{
	for (int k = 0; k < C_NCLASS; k++)
		for (int col = 0; col < 3; col++) {
			double units = ceil(c->n[k][col] / share - 1e-9);

			*dsp += units * cost_table[k][col].dsp;
			*lut += units * cost_table[k][col].lut;
		}
	*lut += c->lut;
}

static void count_stmt(model *M, const lir_stmt *s, double mult, counts *c, bool in_pipe, double *dsp, double *lut);

static void count_for(model *M, const lir_stmt *s, double mult, counts *c, bool in_pipe, double *dsp, double *lut)
{
	int64_t lo, n = trips(M, s, &lo);
	double m = mult * (n > 0 ? (double)n : 1);

	if (!in_pipe && s->u.loop.kind == LIR_PIPELINED) {
		const lir_stmt *chain[1] = {s};
		pipe_info *p = NULL;
		counts pc;

		for (int i = 0; i < M->npipes && !p; i++)
			p = M->pipes[i].loop == s ? &M->pipes[i] : NULL;
		if (!p)
			p = pipe_of(M, chain, 1, false);
		memset(&pc, 0, sizeof(pc));
		pc.lut = LUT_PIPE;
		count_stmt(M, s->u.loop.body, mult, &pc, true, dsp, lut);
		add_units(&pc, p && p->ii > 0 ? p->ii : 1, dsp, lut);
		return;
	}
	if (in_pipe || s->u.loop.kind == LIR_UNROLLED || s->u.loop.kind == LIR_VECTORIZED) {
		count_stmt(M, s->u.loop.body, m, c, in_pipe, dsp, lut);
		return;
	}
	c->lut += LUT_LOOP;
	count_stmt(M, s->u.loop.body, mult, c, in_pipe, dsp, lut);
}

static void count_stmt(model *M, const lir_stmt *s, double mult, counts *c, bool in_pipe, double *dsp, double *lut)
{
	if (!s || M->failed)
		return;
	switch (s->kind) {
	case LIR_FOR:
		count_for(M, s, mult, c, in_pipe, dsp, lut);
		break;
	case LIR_IF:
		count_expr(M, s->u.cond.cond, mult, c);
		count_stmt(M, s->u.cond.then_s, mult, c, in_pipe, dsp, lut);
		count_stmt(M, s->u.cond.else_s, mult, c, in_pipe, dsp, lut);
		break;
	case LIR_LET:
		count_expr(M, s->u.let.value, mult, c);
		count_stmt(M, s->u.let.body, mult, c, in_pipe, dsp, lut);
		break;
	case LIR_ALLOC:
		count_stmt(M, s->u.alloc.body, mult, c, in_pipe, dsp, lut);
		break;
	case LIR_SEQ:
		for (int i = 0; i < s->u.seq.n; i++)
			count_stmt(M, s->u.seq.s[i], mult, c, in_pipe, dsp, lut);
		break;
	case LIR_STORE:
		count_expr(M, s->u.store.value, mult, c);
		break;
	default:
		break;
	}
}

/* BRAM18Ks and LUTs of the buffers and ports; *worst the buffer split into
 * the most banks (-1: none is split). */
static void buffer_resources(const lir_func *f, double *bram, double *lut, int *worst)
{
	*worst = -1;
	for (int i = 0; i < lir_func_nbuffers(f); i++) {
		const lir_buffer *b = lir_func_buffer(f, i);
		double width = 8.0 * (double)lir_type_size(b->type);
		int64_t banks = banks_of(b), words = (b->size + banks - 1) / banks;

		if (b->scope != LIR_GLOBAL && banks > 1 &&
		    (*worst < 0 || banks > banks_of(lir_func_buffer(f, *worst))))
			*worst = i;
		if (b->scope == LIR_GLOBAL) {
			*bram += BRAM_AXI;
			*lut += LUT_AXI;
		} else if (in_registers(b)) {
			*lut += (double)b->size * width / 8;
		} else if ((double)words * width <= 1024) {
			*lut += (double)banks * ceil(words / 64.0) * width;
		} else {
			*bram += (double)banks * ceil(words / 512.0) * ceil(width / 36);
			*lut += 20.0 * (double)banks;
		}
	}
	*lut += LUT_CTRL;
}

/* ---- the estimate ---- */

/* The part's budget, and the partitioning limit (buffer `worst` of f). */
static void budget(hls_estimate *o, const cg_target *t, const lir_func *f, int worst)
{
	int dsp = t->kind == CG_TARGET_HLS && t->dsp > 0 ? t->dsp : 6840;
	int bram = t->kind == CG_TARGET_HLS && t->bram18k > 0 ? t->bram18k : 4320;
	int lut = t->kind == CG_TARGET_HLS && t->lut > 0 ? t->lut : 1182240;
	size_t n = 0;

	o->fits = o->dsp <= dsp && o->bram18k <= bram && o->lut <= lut;
	o->over[0] = '\0';
	if (o->dsp > dsp)
		n += (size_t)snprintf(o->over + n, sizeof(o->over) - n, "DSP %" PRId64 " > %d", o->dsp, dsp);
	if (o->bram18k > bram && n < sizeof(o->over))
		n += (size_t)snprintf(o->over + n, sizeof(o->over) - n, "%sBRAM18K %" PRId64 " > %d", n ? ", " : "",
				      o->bram18k, bram);
	if (o->lut > lut && n < sizeof(o->over))
		n += (size_t)snprintf(o->over + n, sizeof(o->over) - n, "%sLUT %" PRId64 " > %d", n ? ", " : "", o->lut,
				      lut);
	if (worst >= 0 && banks_of(lir_func_buffer(f, worst)) > MAX_BANKS && n < sizeof(o->over)) {
		o->fits = false;
		snprintf(o->over + n, sizeof(o->over) - n, "%s'%s' in %" PRId64 " banks > %d", n ? ", " : "",
			 lir_func_buffer(f, worst)->name, banks_of(lir_func_buffer(f, worst)), MAX_BANKS);
	}
}

static void model_release(model *M)
{
	free(M->val);
	free(M->def);
	free(M->enumerate);
	free(M->pipes);
}

int hls_model_estimate(const lir_func *f, const cg_target *t, hls_estimate *out, rt_error *err)
{
	model M;
	scan S;
	counts c;
	double dsp = 0, lut = 0, bram = 0;
	int nv = lir_func_nvars(f), worst;

	memset(out, 0, sizeof(*out));
	memset(&M, 0, sizeof(M));
	memset(&c, 0, sizeof(c));
	M.f = f;
	M.mhz = t->kind == CG_TARGET_HLS && t->clock_mhz > 0 ? t->clock_mhz : 300;
	M.nv = nv;
	M.out = out;
	M.err = err;
	M.steps = MAX_STEPS;
	M.val = calloc((size_t)nv + 1, sizeof(*M.val));
	M.def = calloc((size_t)nv + 1, sizeof(*M.def));
	M.enumerate = calloc((size_t)nv + 1, sizeof(bool));
	S = (scan){.M = &M, .used = calloc((size_t)nv + 1, sizeof(bool))};
	if (!M.val || !M.def || !M.enumerate || !S.used) {
		free(S.used);
		model_release(&M);
		return rt_error_set(err, 0, 0, "out of memory in the HLS model");
	}
	scan_stmt(&S, lir_func_body(f));
	free(S.used);
	out->cycles = lat(&M, lir_func_body(f)) + 1;
	count_stmt(&M, lir_func_body(f), 1, &c, false, &dsp, &lut);
	add_units(&c, 1, &dsp, &lut);
	buffer_resources(f, &bram, &lut, &worst);
	model_release(&M);
	if (M.failed)
		return -1;
	out->seconds = out->cycles / (M.mhz * 1e6);
	out->dsp = (int64_t)ceil(dsp);
	out->bram18k = (int64_t)ceil(bram);
	out->lut = (int64_t)ceil(lut);
	budget(out, t, f, worst);
	return 0;
}

void hls_estimate_summary(const hls_estimate *e, const cg_target *t, char *out, size_t n)
{
	double mhz = t->kind == CG_TARGET_HLS && t->clock_mhz > 0 ? t->clock_mhz : 300;
	size_t o = 0;

	o += (size_t)snprintf(out + o, n - o, "latency %.4g cycles = %.4g ms at %g MHz\n", e->cycles, e->seconds * 1e3, mhz);
	if (o < n)
		o += (size_t)snprintf(out + o, n - o, "DSP %" PRId64 "/%d  BRAM18K %" PRId64 "/%d  LUT %" PRId64 "/%d%s%s\n",
				      e->dsp, t->dsp > 0 ? t->dsp : 6840, e->bram18k, t->bram18k > 0 ? t->bram18k : 4320,
				      e->lut, t->lut > 0 ? t->lut : 1182240, e->fits ? "" : "  OVER BUDGET: ", e->over);
	for (int i = 0; i < e->npipes && i < HLS_MAX_PIPES && o < n; i++) {
		const hls_pipe *p = &e->pipes[i];

		o += (size_t)snprintf(out + o, n - o,
				      "pipeline %s: %" PRId64 " iterations%s, %" PRId64 " cop%s, II %d (target %d), depth %d: %s\n",
				      p->name, p->trip, p->flattened ? " (flattened)" : "", p->copies,
				      p->copies == 1 ? "y" : "ies", p->ii, p->ii_target, p->depth, p->why);
	}
	if (e->npipes > HLS_MAX_PIPES && o < n)
		snprintf(out + o, n - o, "(%d more pipelines)\n", e->npipes - HLS_MAX_PIPES);
}
