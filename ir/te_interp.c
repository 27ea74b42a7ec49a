/*
 * te_interp: the reference interpreter.
 *
 * Each compute stage's body is flattened once into a linear register
 * program: one instruction per expression node, in post-order, instruction
 * k writing register k; identical subexpressions share one instruction
 * (value numbering).  The program runs over a chunk of up to LANES points
 * of the stage's last spatial axis (the vector axis): every instruction
 * loops over the lanes of its register, so its dispatch is paid once per
 * chunk.  The loop nest of a stage is
 *
 *	outer spatial axes -> chunk of the last spatial axis ->
 *	    (init accumulator) -> reduce axes -> combine -> store
 *
 * and axis a is loop a of that nest (reduce axes follow the spatial ones,
 * as in te_stage.axes).  An instruction runs at the level of the innermost
 * loop it depends on (level a + 1 for axis a, 0 for constants), so work
 * that does not vary in a loop is hoisted out of it.  An instruction that
 * does not depend on the vector axis is "uniform": it computes lane 0 only,
 * and a SPLAT broadcasts it where a vector instruction needs it (loads take
 * uniform indices as they are).
 *
 * Values: registers hold double for f32/f64 and int64_t for i32/bool.
 *  - Floats are evaluated in double and rounded to the stage's type when
 *    stored (and by an explicit f32(...) cast); reductions accumulate in
 *    double, so an f32 sum is rounded once, at the store.
 *  - i32 arithmetic wraps modulo 2^32 after every operation (computed in
 *    64-bit unsigned arithmetic, never undefined behaviour), as the
 *    generated code's i32 operations do, so / % and comparisons see the
 *    same values; sum reductions accumulate in 64 bits and wrap when
 *    stored, which is the same modulo 2^32.  (te_verify keeps index
 *    arithmetic inside i32, where this equals isl's exact arithmetic.)
 *  - Integer / and % are floor division and floor modulo; by zero they
 *    give 0, and INT32_MIN / -1 wraps to INT32_MIN.
 *  - float -> i32 truncates toward zero, clamps out-of-range values to
 *    [INT32_MIN, INT32_MAX] and maps NaN to 0.
 *  - min/max (and max/min reductions) on floats are C's fmin/fmax: a NaN
 *    operand is ignored, so the result does not depend on operand order.
 *  - A load whose index lies outside the tensor gives 0 in that lane:
 *    both branches of a select are evaluated for every lane, and the
 *    verifier only proves the selected loads in bounds.
 */
#include "te_interp.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rt_alloc.h"
#include "rt_math.h"

#define LANES 128 /* points of the vector axis evaluated together */

/*
 * The instruction set: X(NAME, statement for lane i).  In the statement,
 * df/di are the result register's float/integer lanes, af ai, bf bi, cf ci
 * the operands', `in` the instruction and `r` the run state.  LOAD is not
 * listed: it has its own function.
 */
#define INTERP_INSNS(X)                                                                            \
	X(CONST_F, df[i] = in->kf)                                                                 \
	X(CONST_I, di[i] = in->ki)                                                                 \
	X(AXIS, di[i] = r->pt[in->axis] + i)                                                       \
	X(SPLAT_F, df[i] = af[0])                                                                  \
	X(SPLAT_I, di[i] = ai[0])                                                                  \
	X(NEG_F, df[i] = -af[i])                                                                   \
	X(NEG_I, di[i] = wrap32(wsub(0, ai[i])))                                                           \
	X(NOT, di[i] = !ai[i])                                                                     \
	X(ABS_F, df[i] = fabs(af[i]))                                                              \
	X(ABS_I, di[i] = wrap32(ai[i] < 0 ? wsub(0, ai[i]) : ai[i]))                                       \
	X(EXP, df[i] = exp(af[i]))                                                                 \
	X(LOG, df[i] = log(af[i]))                                                                 \
	X(SQRT, df[i] = sqrt(af[i]))                                                               \
	X(TANH, df[i] = tanh(af[i]))                                                               \
	X(ADD_F, df[i] = af[i] + bf[i])                                                            \
	X(ADD_I, di[i] = wrap32(wadd(ai[i], bi[i])))                                                       \
	X(SUB_F, df[i] = af[i] - bf[i])                                                            \
	X(SUB_I, di[i] = wrap32(wsub(ai[i], bi[i])))                                                       \
	X(MUL_F, df[i] = af[i] * bf[i])                                                            \
	X(MUL_I, di[i] = wrap32(wmul(ai[i], bi[i])))                                                       \
	X(DIV_F, df[i] = af[i] / bf[i])                                                            \
	X(DIV_I, di[i] = wrap32(rt_floor_div(ai[i], bi[i])))                                                  \
	X(MOD_I, di[i] = rt_floor_mod(ai[i], bi[i]))                                                  \
	X(LT_F, di[i] = af[i] < bf[i])                                                             \
	X(LT_I, di[i] = ai[i] < bi[i])                                                             \
	X(LE_F, di[i] = af[i] <= bf[i])                                                            \
	X(LE_I, di[i] = ai[i] <= bi[i])                                                            \
	X(GT_F, di[i] = af[i] > bf[i])                                                             \
	X(GT_I, di[i] = ai[i] > bi[i])                                                             \
	X(GE_F, di[i] = af[i] >= bf[i])                                                            \
	X(GE_I, di[i] = ai[i] >= bi[i])                                                            \
	X(EQ_F, di[i] = af[i] == bf[i])                                                            \
	X(EQ_I, di[i] = ai[i] == bi[i])                                                            \
	X(NE_F, di[i] = af[i] != bf[i])                                                            \
	X(NE_I, di[i] = ai[i] != bi[i])                                                            \
	X(AND, di[i] = ai[i] & bi[i])                                                              \
	X(OR, di[i] = ai[i] | bi[i])                                                               \
	X(MIN_F, df[i] = fmin(af[i], bf[i]))                                                       \
	X(MIN_I, di[i] = ai[i] < bi[i] ? ai[i] : bi[i])                                            \
	X(MAX_F, df[i] = fmax(af[i], bf[i]))                                                       \
	X(MAX_I, di[i] = ai[i] > bi[i] ? ai[i] : bi[i])                                            \
	X(SELECT_F, df[i] = ai[i] ? bf[i] : cf[i])                                                 \
	X(SELECT_I, di[i] = ai[i] ? bi[i] : ci[i])                                                 \
	X(F32_F, df[i] = (float)af[i])                                                             \
	X(F32_I, df[i] = (float)wrap32(ai[i]))                                                     \
	X(F64_I, df[i] = (double)wrap32(ai[i]))                                                    \
	X(I32_F, di[i] = f_to_i32(af[i]))                                                          \
	X(I32_I, di[i] = wrap32(ai[i]))

#define KEY_MAX (TE_MAX_RANK + 8) /* longest insn_key */

enum {
	C_NONE,
#define X(name, stmt) C_##name,
	INTERP_INSNS(X)
#undef X
	    C_LOAD
};

/* Per te_op: the instruction for {integer/bool, float} operands (for
 * select: results). */
static const unsigned char op_code[TE_OP_COUNT][2] = {
    [TE_NEG] = {C_NEG_I, C_NEG_F}, [TE_NOT] = {C_NOT, 0},
    [TE_ADD] = {C_ADD_I, C_ADD_F}, [TE_SUB] = {C_SUB_I, C_SUB_F},
    [TE_MUL] = {C_MUL_I, C_MUL_F}, [TE_DIV] = {C_DIV_I, C_DIV_F},
    [TE_MOD] = {C_MOD_I, 0},	   [TE_LT] = {C_LT_I, C_LT_F},
    [TE_LE] = {C_LE_I, C_LE_F},	   [TE_GT] = {C_GT_I, C_GT_F},
    [TE_GE] = {C_GE_I, C_GE_F},	   [TE_EQ] = {C_EQ_I, C_EQ_F},
    [TE_NE] = {C_NE_I, C_NE_F},	   [TE_AND] = {C_AND, 0},
    [TE_OR] = {C_OR, 0},	   [TE_SELECT] = {C_SELECT_I, C_SELECT_F},
    [TE_MIN] = {C_MIN_I, C_MIN_F}, [TE_MAX] = {C_MAX_I, C_MAX_F},
    [TE_ABS] = {C_ABS_I, C_ABS_F}, [TE_EXP] = {0, C_EXP},
    [TE_LOG] = {0, C_LOG},	   [TE_SQRT] = {0, C_SQRT},
    [TE_TANH] = {0, C_TANH},
};

typedef struct insn {
	int code;	    /* C_* */
	int dst;	    /* result register */
	int level;	    /* loop level it runs at: 0, or axis + 1 */
	bool vec;	    /* depends on the vector axis: a chunk of lanes, else lane 0 */
	bool isf;	    /* the result is a float (else an integer or bool) */
	int na;		    /* operands, */
	int a[TE_MAX_RANK]; /*   their registers (a load's indices) */
	double kf;	    /* CONST_F */
	int64_t ki;	    /* CONST_I */
	int axis;	    /* AXIS */
	int tensor;	    /* LOAD: the stage loaded, */
	unsigned vmask;	    /*   bit d set when index d is a vector, */
	const void *src;    /*   the tensor's buffer, */
	te_dtype type;	    /*   its element type, */
	int64_t shape[TE_MAX_RANK], stride[TE_MAX_RANK]; /* and layout */
} insn;

/*
 * A stage's program: instructions of level L are [start[L], start[L+1]).
 * Register k is rf[k * LANES ...] when it holds floats, ri[...] else.
 */
typedef struct prog {
	insn *code;
	int n;
	int start[TE_MAX_AXES + 2];
	int root; /* register of the body's value */
	double *rf;
	int64_t *ri;
} prog;

/* Compilation state of one stage. */
typedef struct comp {
	const te_graph *g;
	const te_stage *s;
	void *const *bufs; /* every stage's buffer */
	insn *code;	   /* in emission order: code[k].dst == k */
	int n, cap;
	int *table;  /* value numbering: open hashing of register + 1 */
	size_t mask; /* table size - 1 */
	rt_error *err;
} comp;

/* Run state of one stage. */
typedef struct run {
	const te_stage *s;
	prog p;
	void *out;
	int64_t pt[TE_MAX_AXES]; /* axis values; vector axis: chunk start */
	int n;			 /* lanes in the current chunk */
	double accf[LANES];	 /* the reduction's accumulators */
	int64_t acci[LANES];
} run;

/* ---- arithmetic without undefined behaviour ---- */

static int64_t wadd(int64_t a, int64_t b)
{
	return (int64_t)((uint64_t)a + (uint64_t)b);
}

static int64_t wsub(int64_t a, int64_t b)
{
	return (int64_t)((uint64_t)a - (uint64_t)b);
}

static int64_t wmul(int64_t a, int64_t b)
{
	return (int64_t)((uint64_t)a * (uint64_t)b);
}

/* `x` modulo 2^32 as an int32, computed without implementation-defined
 * conversions. */
static int64_t wrap32(int64_t x)
{
	int64_t u = (int64_t)((uint64_t)x & 0xffffffffu);

	return u > INT32_MAX ? u - 4294967296 : u;
}


/* float -> i32: truncate toward zero, clamp, NaN -> 0. */
static int64_t f_to_i32(double x)
{
	if (x != x)
		return 0;
	if (x <= (double)INT32_MIN)
		return INT32_MIN;
	if (x >= (double)INT32_MAX)
		return INT32_MAX;
	return (int64_t)x;
}

/* ---- compilation ---- */

static int count_nodes(const te_expr *e)
{
	int n = 1;

	for (int k = 0; k < e->nargs; k++)
		n += count_nodes(e->args[k]);
	return n;
}

/* Start instruction `in`, with a float result when `isf`, on operands
 * `a[0..na)`: its level and vector-ness come from them. */
static void init_insn(const comp *c, insn *in, int code, bool isf, const int *a, int na)
{
	memset(in, 0, sizeof(*in));
	in->code = code;
	in->isf = isf;
	in->na = na;
	for (int k = 0; k < na; k++) {
		const insn *op = &c->code[a[k]];

		in->a[k] = a[k];
		in->level = op->level > in->level ? op->level : in->level;
		in->vec |= op->vec;
	}
}

/* What identifies the value of `in`, in key[]; returns its length. */
static int insn_key(const insn *in, int64_t *key)
{
	int n = 0;

	key[n++] = in->code;
	key[n++] = in->isf;
	key[n++] = in->na;
	for (int k = 0; k < in->na; k++)
		key[n++] = in->a[k];
	key[n++] = in->ki;
	memcpy(&key[n++], &in->kf, sizeof(in->kf));
	key[n++] = in->axis;
	key[n++] = in->tensor;
	return n;
}

/*
 * Add `in` to the program unless an instruction with the same key is
 * there already (value numbering: a repeated subexpression such as the
 * `h + r - 1` of a padding guard and of its load is computed once).
 * Returns the register holding the value.  Never fails: code and table
 * have room for every node and one SPLAT per register.
 */
static int add(comp *c, insn *in)
{
	int64_t key[KEY_MAX], old[KEY_MAX];
	int nk = insn_key(in, key);
	uint64_t h = 0xcbf29ce484222325u;
	size_t j;

	for (int k = 0; k < nk; k++)
		h = (h ^ (uint64_t)key[k]) * 0x100000001b3u;
	for (j = h & c->mask; c->table[j]; j = (j + 1) & c->mask) {
		int r = c->table[j] - 1;

		if (insn_key(&c->code[r], old) == nk &&
		    memcmp(old, key, (size_t)nk * sizeof(*key)) == 0)
			return r;
	}
	in->dst = c->n;
	c->code[c->n++] = *in;
	c->table[j] = c->n;
	return in->dst;
}

/* The vector form of register `reg`: itself when it is a vector, else a
 * SPLAT of it, run at the vector axis's level or deeper. */
static int vector_of(comp *c, int reg)
{
	bool isf = c->code[reg].isf;
	insn in;

	if (c->code[reg].vec)
		return reg;
	init_insn(c, &in, isf ? C_SPLAT_F : C_SPLAT_I, isf, &reg, 1);
	in.vec = true;
	if (in.level < c->s->rank)
		in.level = c->s->rank;
	return add(c, &in);
}

/* An arithmetic instruction; when any operand is a vector, all are. */
static int emit_op(comp *c, int code, bool isf, int *a, int na)
{
	bool vec = false;
	insn in;

	for (int k = 0; k < na; k++)
		vec |= c->code[a[k]].vec;
	for (int k = 0; vec && k < na; k++)
		a[k] = vector_of(c, a[k]);
	init_insn(c, &in, code, isf, a, na);
	return add(c, &in);
}

/* A load of stage `e->index` at the index registers `a`: uniform indices
 * stay uniform (the load adds them once), vector ones are read per lane. */
static int emit_load(comp *c, const te_expr *e, const int *a)
{
	const te_stage *t = te_graph_stage(c->g, e->index);
	int64_t stride = 1;
	insn in;

	if (!t || t->id >= c->s->id || e->nargs != t->rank)
		return rt_error_set(c->err, e->line, e->col, "'%s' has a bad load of stage %d",
				    c->s->name, e->index);
	init_insn(c, &in, C_LOAD, te_dtype_is_float(t->type), a, e->nargs);
	in.tensor = t->id;
	in.src = c->bufs[t->id];
	in.type = t->type;
	for (int d = t->rank - 1; d >= 0; d--) {
		if (c->code[a[d]].vec)
			in.vmask |= 1u << d;
		in.shape[d] = t->shape[d];
		in.stride[d] = stride;
		stride *= t->shape[d];
	}
	return add(c, &in);
}

/* A cast; to f64 from a float is the operand itself (registers hold
 * doubles). */
static int emit_cast(comp *c, const te_expr *e, int *a)
{
	bool from_float = te_dtype_is_float(e->args[0]->type);

	switch (e->type) {
	case TE_F32:
		return emit_op(c, from_float ? C_F32_F : C_F32_I, true, a, 1);
	case TE_F64:
		return from_float ? a[0] : emit_op(c, C_F64_I, true, a, 1);
	case TE_I32:
		return emit_op(c, from_float ? C_I32_F : C_I32_I, false, a, 1);
	default:
		return rt_error_set(c->err, e->line, e->col, "cannot cast to %s",
				    te_dtype_name(e->type));
	}
}

static int emit_axis(comp *c, const te_expr *e)
{
	const te_stage *s = c->s;
	insn in;

	if (e->index < 0 || e->index >= s->rank + s->nreduce)
		return rt_error_set(c->err, e->line, e->col,
				    "'%s' refers to axis %d, which it does not have", s->name,
				    e->index);
	init_insn(c, &in, C_AXIS, false, NULL, 0);
	in.axis = e->index;
	in.level = e->index + 1;
	in.vec = e->index == s->rank - 1;
	return add(c, &in);
}

static int emit_const(comp *c, const te_expr *e)
{
	bool isf = te_dtype_is_float(e->type);
	insn in;

	init_insn(c, &in, isf ? C_CONST_F : C_CONST_I, isf, NULL, 0);
	if (e->type == TE_F32)
		in.kf = (float)e->c.f;
	else if (e->type == TE_F64)
		in.kf = e->c.f;
	else
		in.ki = e->type == TE_BOOL ? e->c.i != 0 : e->c.i;
	return add(c, &in);
}

/* Emit the instructions of `e` in post-order.  Returns the register of
 * its value, or -1 with c->err set. */
static int emit(comp *c, const te_expr *e)
{
	int a[TE_MAX_RANK], code = 0;
	bool isf;

	if ((unsigned)e->op >= TE_OP_COUNT || e->nargs < 0 || e->nargs > TE_MAX_RANK ||
	    (e->op != TE_LOAD && e->nargs != te_op_arity(e->op)))
		return rt_error_set(c->err, e->line, e->col, "bad expression in '%s'", c->s->name);
	for (int k = 0; k < e->nargs; k++)
		if ((a[k] = emit(c, e->args[k])) < 0)
			return -1;
	switch (e->op) {
	case TE_CONST:
		return emit_const(c, e);
	case TE_AXIS:
		return emit_axis(c, e);
	case TE_LOAD:
		return emit_load(c, e, a);
	case TE_CAST:
		return emit_cast(c, e, a);
	default:
		break;
	}
	isf = te_dtype_is_float(e->type);
	if (e->nargs > 0) /* by operand type, except select: by result */
		code =
		    op_code[e->op][e->op == TE_SELECT ? isf : te_dtype_is_float(e->args[0]->type)];
	if (!code)
		return rt_error_set(c->err, e->line, e->col, "cannot evaluate '%s' on %s in '%s'",
				    te_op_spelling(e->op), te_dtype_name(e->args[0]->type),
				    c->s->name);
	return emit_op(c, code, isf, a, e->nargs);
}

/* Order c's instructions by level (stably, so operands still come first)
 * into p.  Returns 0, or -1 when out of memory. */
static int schedule(const comp *c, prog *p)
{
	int nlevels = c->s->rank + c->s->nreduce + 1, k = 0;

	p->n = c->n;
	p->code = malloc((size_t)c->n * sizeof(*p->code));
	p->rf = calloc((size_t)c->n * LANES, sizeof(*p->rf));
	p->ri = calloc((size_t)c->n * LANES, sizeof(*p->ri));
	if (!p->code || !p->rf || !p->ri)
		return -1;
	for (int l = 0; l <= nlevels; l++) {
		p->start[l] = k;
		for (int j = 0; j < c->n && l < nlevels; j++)
			if (c->code[j].level == l)
				p->code[k++] = c->code[j];
	}
	return 0;
}

/*
 * Compile the body of compute stage `s` into `p` (whose arrays the
 * caller frees, also on failure).  Returns 0, or -1 with `err` set.
 */
static int compile(const te_graph *g, const te_stage *s, void *const *bufs, prog *p, rt_error *err)
{
	comp c = {.g = g, .s = s, .bufs = bufs, .err = err};
	size_t tsize = 1;
	int rc = -1;

	if (!s->body)
		return rt_error_set(err, s->line, s->col, "'%s' has no body", s->name);
	c.cap = 2 * count_nodes(s->body) + 1;
	while (tsize < 2 * (size_t)c.cap)
		tsize *= 2;
	c.mask = tsize - 1;
	c.code = malloc((size_t)c.cap * sizeof(*c.code));
	c.table = calloc(tsize, sizeof(*c.table));
	if (!c.code || !c.table)
		goto oom;
	if ((p->root = emit(&c, s->body)) < 0)
		goto done;
	if (s->rank > 0)
		p->root = vector_of(&c, p->root);
	if (schedule(&c, p))
		goto oom;
	rc = 0;
	goto done;
oom:
	rt_error_set(err, 0, 0, "out of memory compiling '%s'", s->name);
done:
	free(c.code);
	free(c.table);
	return rc;
}

/* ---- execution ---- */

/*
 * The lanes a vector instruction computes: the chunk rounded up to a
 * multiple of 8 (LANES is one).  Lane loops run in blocks of 8, a shape
 * compilers vectorize even at -O2.  The extra lanes are never
 * stored, and every instruction is defined on any value (a load checks its
 * bounds).
 */
static int vector_lanes(const run *r)
{
	return (r->n + 7) & ~7;
}

static double *regf(const run *r, int k)
{
	return r->p.rf + (size_t)k * LANES;
}

static int64_t *regi(const run *r, int k)
{
	return r->p.ri + (size_t)k * LANES;
}

/* Read element off[i] of the load's tensor into lane i where ok[i], else
 * 0. */
static void gather(const insn *in, double *restrict df, int64_t *restrict di, const uint64_t *off,
		   const unsigned char *ok, int n)
{
	const float *f = in->src;
	const double *g = in->src;
	const int32_t *s = in->src;

	switch (in->type) {
	case TE_F32:
		for (int i = 0; i < n; i++)
			df[i] = ok[i] ? f[off[i]] : 0.0;
		break;
	case TE_F64:
		for (int i = 0; i < n; i++)
			df[i] = ok[i] ? g[off[i]] : 0.0;
		break;
	default:
		for (int i = 0; i < n; i++)
			di[i] = ok[i] ? s[off[i]] : 0;
		break;
	}
}

/* LOAD: the uniform indices give one base offset, the vector ones add
 * their lane's part; a lane with an index out of bounds reads 0. */
static void exec_load(const run *r, const insn *in)
{
	int n = vector_lanes(r);
	uint64_t off[LANES], base = 0;
	unsigned char ok[LANES], inside = 1;

	for (int k = 0; k < in->na; k++) {
		uint64_t x;

		if (in->vmask & 1u << k)
			continue;
		x = (uint64_t)regi(r, in->a[k])[0];
		inside &= x < (uint64_t)in->shape[k];
		base += x * (uint64_t)in->stride[k];
	}
	off[0] = base;
	ok[0] = inside;
	if (!in->vec) {
		gather(in, regf(r, in->dst), regi(r, in->dst), off, ok, 1);
		return;
	}
	for (int b = 0; b < n; b += 8) {
		for (int i = b; i < b + 8; i++) {
			off[i] = base;
			ok[i] = inside;
		}
	}
	for (int k = 0; k < in->na; k++) {
		const int64_t *x = regi(r, in->a[k]);
		uint64_t ext = (uint64_t)in->shape[k], st = (uint64_t)in->stride[k];

		if (!(in->vmask & 1u << k))
			continue;
		for (int b = 0; b < n; b += 8)
			for (int i = b; i < b + 8; i++) {
				off[i] += (uint64_t)x[i] * st;
				ok[i] &= (uint64_t)x[i] < ext;
			}
	}
	gather(in, regf(r, in->dst), regi(r, in->dst), off, ok, n);
}

/* Run uniform instruction `in` on lane 0 (the statements see i == 0). */
static void exec_uniform(const run *r, const insn *in)
{
	double *df = regf(r, in->dst);
	int64_t *di = regi(r, in->dst);
	const double *af = regf(r, in->a[0]), *bf = regf(r, in->a[1]), *cf = regf(r, in->a[2]);
	const int64_t *ai = regi(r, in->a[0]), *bi = regi(r, in->a[1]), *ci = regi(r, in->a[2]);
	const int i = 0;

	switch (in->code) {
#define X(name, stmt)                                                                              \
	case C_##name:                                                                             \
		stmt;                                                                              \
		break;
		INTERP_INSNS(X)
#undef X
	}
}

/*
 * Vector instructions: one function each, over n lanes.  The registers
 * are restrict parameters, which lets compilers vectorize the lane loops:
 * a result is never one of its operands, operands are only read, and the
 * unused operand slots (register 0) are not accessed.
 */
#define VEC_PARAMS                                                                                 \
	const run *r, const insn *in, int n, double *restrict df, int64_t *restrict di,            \
	    const double *restrict af, const int64_t *restrict ai, const double *restrict bf,      \
	    const int64_t *restrict bi, const double *restrict cf, const int64_t *restrict ci

typedef void vec_fn(VEC_PARAMS);

#define X(name, stmt)                                                                              \
	static void vec_##name(VEC_PARAMS)                                                         \
	{                                                                                          \
		(void)r, (void)in, (void)df, (void)di, (void)af, (void)ai, (void)bf, (void)bi,     \
		    (void)cf, (void)ci;                                                            \
		for (int b = 0; b < n; b += 8)                                                     \
			for (int i = b; i < b + 8; i++)                                            \
				stmt;                                                              \
	}
INTERP_INSNS(X)
#undef X

static vec_fn *const vec_fns[] = {
#define X(name, stmt) [C_##name] = vec_##name,
    INTERP_INSNS(X)
#undef X
};

/* Run vector instruction `in` on the lanes of the chunk. */
static void exec_vector(const run *r, const insn *in)
{
	const int *a = in->a;

	vec_fns[in->code](r, in, vector_lanes(r), regf(r, in->dst), regi(r, in->dst), regf(r, a[0]),
			  regi(r, a[0]), regf(r, a[1]), regi(r, a[1]), regf(r, a[2]),
			  regi(r, a[2]));
}

static void exec_level(const run *r, int level)
{
	const prog *p = &r->p;

	for (int k = p->start[level]; k < p->start[level + 1]; k++) {
		const insn *in = &p->code[k];

		if (in->code == C_LOAD)
			exec_load(r, in);
		else if (in->vec)
			exec_vector(r, in);
		else
			exec_uniform(r, in);
	}
}

/* Set the accumulators to the reduction's identity: 0, or the lowest
 * (max) / highest (min) value of the stage's type. */
static void init_acc(run *r)
{
	te_reduce red = r->s->reduce;
	double f = red == TE_RED_SUM ? 0.0 : red == TE_RED_MAX ? -INFINITY : INFINITY;
	int64_t i = red == TE_RED_SUM ? 0 : red == TE_RED_MAX ? INT32_MIN : INT32_MAX;

	for (int k = 0; k < LANES; k++) {
		r->accf[k] = f;
		r->acci[k] = i;
	}
}

/* Fold the values vf/vi into the accumulators af/ai of reduction `red`
 * on float (`fl`) or integer values. */
static void fold(te_reduce red, bool fl, int n, double *restrict af, int64_t *restrict ai,
		 const double *restrict vf, const int64_t *restrict vi)
{
	switch (red * 2 + fl) {
	case TE_RED_SUM * 2 + 1:
		for (int b = 0; b < n; b += 8)
			for (int i = b; i < b + 8; i++)
				af[i] += vf[i];
		break;
	case TE_RED_SUM * 2:
		for (int b = 0; b < n; b += 8)
			for (int i = b; i < b + 8; i++)
				ai[i] = wadd(ai[i], vi[i]);
		break;
	case TE_RED_MAX * 2 + 1:
		for (int b = 0; b < n; b += 8)
			for (int i = b; i < b + 8; i++)
				af[i] = fmax(af[i], vf[i]);
		break;
	case TE_RED_MAX * 2:
		for (int b = 0; b < n; b += 8)
			for (int i = b; i < b + 8; i++)
				ai[i] = ai[i] > wrap32(vi[i]) ? ai[i] : wrap32(vi[i]);
		break;
	case TE_RED_MIN * 2 + 1:
		for (int b = 0; b < n; b += 8)
			for (int i = b; i < b + 8; i++)
				af[i] = fmin(af[i], vf[i]);
		break;
	case TE_RED_MIN * 2:
		for (int b = 0; b < n; b += 8)
			for (int i = b; i < b + 8; i++)
				ai[i] = ai[i] < wrap32(vi[i]) ? ai[i] : wrap32(vi[i]);
		break;
	default:
		break;
	}
}

static void combine(run *r)
{
	fold(r->s->reduce, te_dtype_is_float(r->s->type), vector_lanes(r), r->accf, r->acci,
	     regf(r, r->p.root), regi(r, r->p.root));
}

/* Store the chunk's values, rounded to the stage's type. */
static void store(const run *r, const double *vf, const int64_t *vi)
{
	const te_stage *s = r->s;
	int64_t off = 0;

	for (int d = 0; d < s->rank; d++)
		off = off * s->shape[d] + r->pt[d];
	switch (s->type) {
	case TE_F32:
		for (int i = 0; i < r->n; i++)
			((float *)r->out)[off + i] = (float)vf[i];
		break;
	case TE_F64:
		for (int i = 0; i < r->n; i++)
			((double *)r->out)[off + i] = vf[i];
		break;
	default:
		for (int i = 0; i < r->n; i++)
			((int32_t *)r->out)[off + i] = (int32_t)wrap32(vi[i]);
		break;
	}
}

/* Reduce axis `d` and those inside it. */
static void run_reduce(run *r, int d)
{
	const te_stage *s = r->s;
	bool last = d == s->rank + s->nreduce - 1;

	for (int64_t v = 0; v < s->axes[d].extent; v++) {
		r->pt[d] = v;
		exec_level(r, d + 1);
		if (last)
			combine(r);
		else
			run_reduce(r, d + 1);
	}
}

/* The points of the current chunk: reduce and store. */
static void run_chunk(run *r)
{
	if (r->s->nreduce == 0) {
		store(r, regf(r, r->p.root), regi(r, r->p.root));
		return;
	}
	init_acc(r);
	run_reduce(r, r->s->rank);
	store(r, r->accf, r->acci);
}

/* Spatial axis `d` and those inside it; the last one goes by chunks. */
static void run_spatial(run *r, int d)
{
	const te_stage *s = r->s;
	int64_t ext = d < s->rank ? s->axes[d].extent : 1;

	if (d == s->rank) { /* rank 0 */
		r->n = 1;
		run_chunk(r);
		return;
	}
	for (int64_t v = 0; v < ext; v += d == s->rank - 1 ? LANES : 1) {
		r->pt[d] = v;
		if (d < s->rank - 1) {
			exec_level(r, d + 1);
			run_spatial(r, d + 1);
			continue;
		}
		r->n = ext - v < LANES ? (int)(ext - v) : LANES;
		exec_level(r, d + 1);
		run_chunk(r);
	}
}

/* Evaluate compute stage `s` into bufs[s->id].  Returns 0, or -1 with
 * `err` set. */
static int run_stage(const te_graph *g, const te_stage *s, void *const *bufs, rt_error *err)
{
	run *r = calloc(1, sizeof(*r));
	int rc = -1;

	if (!r)
		return rt_error_set(err, 0, 0, "out of memory running '%s'", s->name);
	r->s = s;
	r->out = bufs[s->id];
	if (compile(g, s, bufs, &r->p, err) == 0) {
		exec_level(r, 0);
		run_spatial(r, 0);
		rc = 0;
	}
	free(r->p.code);
	free(r->p.rf);
	free(r->p.ri);
	free(r);
	return rc;
}

/* Fill b[] from bufs[], allocating the missing buffers of non-output
 * computes (the caller frees b[i] where bufs[i] is NULL).  Returns 0, or
 * -1 with `err` set. */
static int bind_buffers(const te_graph *g, void *const *bufs, void **b, rt_error *err)
{
	for (int i = 0; i < te_graph_nstages(g); i++) {
		const te_stage *s = te_graph_stage(g, i);
		int64_t bytes = te_stage_bytes(s);

		if ((b[i] = bufs[i]))
			continue;
		if (s->kind == TE_STAGE_INPUT || s->is_output)
			return rt_error_set(err, s->line, s->col, "%s '%s' has no buffer",
					    s->kind == TE_STAGE_INPUT ? "input" : "output",
					    s->name);
		if (bytes < 0 || (uint64_t)bytes > SIZE_MAX || !(b[i] = rt_alloc((size_t)bytes)))
			return rt_error_set(err, s->line, s->col,
					    "out of memory: the intermediate '%s' needs %lld bytes",
					    s->name, (long long)bytes);
	}
	return 0;
}

int te_interp_run(const te_graph *g, void *const *bufs, rt_error *err)
{
	int n = te_graph_nstages(g), rc = -1;
	void **b = calloc(n > 0 ? (size_t)n : 1, sizeof(*b));

	if (!b)
		return rt_error_set(err, 0, 0, "out of memory");
	if (bind_buffers(g, bufs, b, err))
		goto done;
	for (int i = 0; i < n; i++)
		if (te_graph_stage(g, i)->kind == TE_STAGE_COMPUTE &&
		    run_stage(g, te_graph_stage(g, i), b, err))
			goto done;
	rc = 0;
done:
	for (int i = 0; i < n; i++)
		if (!bufs[i])
			rt_free(b[i]);
	free(b);
	return rc;
}

/* ---- random inputs ---- */

/* splitmix64 (Steele, Lea, Flood 2014): a portable 64-bit generator. */
static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

/*
 * The values are exact in their type, so every machine writes the same
 * bits: f32 k * 2^-23 - 1 for a 24-bit k, f64 k * 2^-52 - 1 for a 53-bit
 * k, i32 an integer in [-8, 8] by multiply-shift.
 */
void te_random_fill(const te_stage *s, void *buf, uint64_t seed)
{
	uint64_t state = seed ^ (uint64_t)s->id * 0xd1b54a32d192ed03u;
	int64_t n = te_stage_numel(s);

	for (int64_t i = 0; i < n; i++) {
		uint64_t x = splitmix64(&state);

		if (s->type == TE_F32)
			((float *)buf)[i] = (float)((double)(x >> 40) * 0x1p-23 - 1.0);
		else if (s->type == TE_F64)
			((double *)buf)[i] = (double)(x >> 11) * 0x1p-52 - 1.0;
		else if (s->type == TE_I32)
			((int32_t *)buf)[i] = (int32_t)(((x >> 32) * 17) >> 32) - 8;
	}
}
