/*
 * sched_rfactor: the rfactor step as a rewrite of the te graph and the
 * schedule (see sched_rfactor.h).  Each rfactor step, in order, makes a
 * new graph (S.rf inserted before S, S rebuilt to reduce S.rf, every other
 * stage copied with its loads renumbered) and a new schedule (the step and
 * the steps of S it used up dropped).
 */
#include "sched_rfactor.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One rfactor step being applied. */
typedef struct rf {
	const te_graph *g;               /* the graph before the step */
	const sch_schedule *s;           /* the schedule before the step */
	int k;                           /* the step's index in s */
	const sch_step *st;
	const te_stage *S;
	char rfname[SCH_MAX_NAME];       /* "S.rf" */
	sch_loops l;                     /* S's loops at the step */
	int pos;                         /* L's leaf position in l */
	int axis_of_leaf[SCH_MAX_LOOPS]; /* S.rf's axis of each leaf of l */
	int nred;                        /* S.rf's reduce axes */
	te_graph *out;                   /* the graph being built */
	int *map;                        /* stage id in g -> id in out */
	rt_error *err;
} rf;

/* ---- checking the step ---- */

/* Is axis x of l made of spatial axes (1), reduce axes (2) or both (3)? */
static int origin(const sch_loops *l, int rank, int x)
{
	const sch_ax *a = &l->ax[x];

	if (a->kind == SCH_AX_BASE)
		return a->base < rank ? 1 : 2;
	if (a->kind == SCH_AX_FUSED)
		return origin(l, rank, a->a) | origin(l, rank, a->b);
	return origin(l, rank, a->a);
}

/* Does reduction `r` have an identity, and may it be reassociated and
 * reordered?  (Every reduction of te today; a new one must be added here
 * and to `identity` before rfactor takes it.) */
static bool factorable(te_reduce r)
{
	switch (r) {
	case TE_RED_SUM:
	case TE_RED_MAX:
	case TE_RED_MIN:
		return true;
	default:
		return false;
	}
}

/* The stage S the step names: a compute stage with a factorable reduction. */
static int check_stage(rf *R)
{
	const sch_step *st = R->st;
	const te_stage *S = te_graph_find(R->g, st->stage);

	if (!S || S->kind != TE_STAGE_COMPUTE)
		return rt_error_set(R->err, st->line, st->stage_col, "rfactor: %s '%s'",
				    S ? "no loops to factor in input" : "no compute stage named",
				    st->stage);
	if (S->reduce == TE_RED_NONE)
		return rt_error_set(R->err, st->line, st->stage_col,
				    "rfactor %s %s: %s has no reduction to factor", st->stage,
				    st->args[0], st->stage);
	if (!factorable(S->reduce))
		return rt_error_set(R->err, st->line, st->stage_col,
				    "rfactor %s %s: %s's reduction '%s' is not associative and "
				    "commutative with an identity",
				    st->stage, st->args[0], st->stage, te_reduce_name(S->reduce));
	R->S = S;
	if (snprintf(R->rfname, sizeof(R->rfname), "%s.rf", S->name) >= (int)sizeof(R->rfname))
		return rt_error_set(R->err, st->line, st->stage_col,
				    "rfactor %s: the name '%s.rf' is too long", st->stage, st->stage);
	return 0;
}

/* The other steps: S factored once; before the step, no step names S.rf
 * and S's steps only split, fuse and reorder (its reduce loops). */
static int check_other_steps(rf *R)
{
	const sch_step *st = R->st;

	for (int i = R->k + 1; i < R->s->nsteps; i++) {
		const sch_step *t = &R->s->steps[i];

		if (t->kind == SCH_RFACTOR && strcmp(t->stage, st->stage) == 0)
			return rt_error_set(R->err, t->line, t->stage_col,
					    "rfactor %s: %s is already factored (line %d)",
					    t->stage, t->stage, st->line);
	}
	for (int i = 0; i < R->k; i++) {
		const sch_step *t = &R->s->steps[i];
		bool stage = strcmp(t->stage, R->rfname) == 0;

		if (stage || strcmp(t->target, R->rfname) == 0)
			return rt_error_set(R->err, t->line, stage ? t->stage_col : t->target_col,
					    "%s: stage '%s' is made by 'rfactor %s %s' (line %d), "
					    "which comes after this step",
					    sch_kind_tag(t->kind), R->rfname, st->stage,
					    st->args[0], st->line);
		if (strcmp(t->stage, st->stage) == 0 && t->kind != SCH_SPLIT &&
		    t->kind != SCH_FUSE && t->kind != SCH_REORDER)
			return rt_error_set(R->err, t->line, t->col,
					    "%s %s: only split, fuse and reorder of %s's reduce "
					    "loops may come before 'rfactor %s %s' (line %d)",
					    sch_kind_tag(t->kind), t->stage, t->stage, st->stage,
					    st->args[0], st->line);
	}
	return 0;
}

/* "i.o, i.i, j" into buf. */
static const char *loop_list(const sch_loops *l, char *buf, size_t n)
{
	size_t o = 0;

	buf[0] = '\0';
	for (int i = 0; i < l->nloops && o < n; i++)
		o += (size_t)snprintf(buf + o, n - o, "%s%s", i ? ", " : "",
				      l->ax[l->loop[i]].name);
	return buf;
}

/* S's loops made by its steps before the rfactor, and L among them: a
 * reduce loop, with S's spatial axes left whole. */
static int resolve(rf *R)
{
	const sch_step *st = R->st;
	const te_stage *S = R->S;
	sch_schedule prefix = {.nsteps = R->k, .cap = R->k, .steps = R->s->steps};
	const char *names[TE_MAX_AXES];
	int64_t ext[TE_MAX_AXES];
	char list[600];

	for (int i = 0; i < S->rank + S->nreduce; i++) {
		names[i] = S->axes[i].name;
		ext[i] = S->axes[i].extent;
	}
	if (sch_stage_loops(&prefix, S->name, S->rank + S->nreduce, names, ext, &R->l, R->err))
		return -1;
	if ((R->pos = sch_loops_find(&R->l, st->args[0])) < 0)
		return rt_error_set(R->err, st->line, st->arg_col[0],
				    "rfactor %s: %s has no loop '%s' (its loops: %s)", st->stage,
				    st->stage, st->args[0], loop_list(&R->l, list, sizeof(list)));
	for (int a = 0; a < S->rank; a++)
		if (sch_loops_find(&R->l, S->axes[a].name) < 0)
			return rt_error_set(R->err, st->line, st->col,
					    "rfactor %s %s: %s's spatial loop '%s' is split or fused "
					    "before it; schedule it after the rfactor",
					    st->stage, st->args[0], st->stage, S->axes[a].name);
	if (origin(&R->l, S->rank, R->l.loop[R->pos]) != 2)
		return rt_error_set(R->err, st->line, st->arg_col[0],
				    "rfactor %s %s: '%s' is a spatial loop of %s; rfactor takes a "
				    "reduce loop",
				    st->stage, st->args[0], st->args[0], st->stage);
	return 0;
}

/* S.rf's axes: S's spatial axes, L, then S's other reduce leaves; within
 * te's limits of rank, reduce axes, i32 indices and points. */
static int place_axes(rf *R)
{
	const sch_step *st = R->st;
	const sch_loops *l = &R->l;
	int rank = R->S->rank;
	int64_t points = 1;

	for (int q = 0; q < l->nloops; q++) {
		int x = l->loop[q];

		if (q == R->pos)
			R->axis_of_leaf[q] = rank;
		else if (origin(l, rank, x) == 1)
			R->axis_of_leaf[q] = l->ax[x].base;
		else
			R->axis_of_leaf[q] = rank + 1 + R->nred++;
		if (!te_mul_checked(points, l->ax[x].extent, &points) || points > TE_MAX_POINTS)
			return rt_error_set(R->err, st->line, st->col,
					    "rfactor %s %s: %s would have more than %lld points",
					    st->stage, st->args[0], R->rfname,
					    (long long)TE_MAX_POINTS);
	}
	if (rank + 1 > TE_MAX_RANK || R->nred > TE_MAX_REDUCE)
		return rt_error_set(R->err, st->line, st->col,
				    "rfactor %s %s: %s would have %d spatial and %d reduce axes "
				    "(at most %d and %d)",
				    st->stage, st->args[0], R->rfname, rank + 1, R->nred,
				    TE_MAX_RANK, TE_MAX_REDUCE);
	for (int x = 0; x < l->nax; x++) {
		int64_t span = l->ax[x].extent;

		if (l->ax[x].kind == SCH_AX_OUTER &&
		    !te_mul_checked(span, l->ax[x].factor, &span))
			span = INT64_MAX;
		if (span > INT32_MAX)
			return rt_error_set(R->err, st->line, st->col,
					    "rfactor %s %s: loop '%s' spans %lld values, past the "
					    "i32 range of an index",
					    st->stage, st->args[0], l->ax[x].name, (long long)span);
	}
	return 0;
}

/* ---- building the new graph ---- */

/* NULL results of te's builders that set no error are out of memory. */
static te_expr *built(rf *R, te_expr *e)
{
	if (!e)
		rt_error_set(R->err, 0, 0, "out of memory");
	return e;
}

static te_expr *binary(rf *R, te_op op, te_expr *a, te_expr *b)
{
	return built(R, te_binary(R->out, op, a, b, R->err));
}

/* The leaf position of axis x in l, or -1. */
static int leaf_of(const sch_loops *l, int x)
{
	for (int q = 0; q < l->nloops; q++)
		if (l->loop[q] == x)
			return q;
	return -1;
}

/* The first axis made from axis x (split: the outer one, the inner one
 * follows it), or -1. */
static int child_of(const sch_loops *l, int x)
{
	for (int i = x + 1; i < l->nax; i++)
		if (l->ax[i].kind != SCH_AX_BASE &&
		    (l->ax[i].a == x || (l->ax[i].kind == SCH_AX_FUSED && l->ax[i].b == x)))
			return i;
	return -1;
}

/* The value of S's axis x (base or derived) over S.rf's axes:
 *   x a leaf: its axis;  x split into o, i: o * factor + i;
 *   x fused with y into F: F / ext(y) (x outer) or F % ext(x) (x inner). */
static te_expr *ax_value(rf *R, int x)
{
	const sch_loops *l = &R->l;
	int q = leaf_of(l, x), c = q >= 0 ? -1 : child_of(l, x);
	const sch_ax *a = c >= 0 ? &l->ax[c] : NULL;

	if (q >= 0)
		return built(R, te_axis_ref(R->out, R->axis_of_leaf[q]));
	if (!a) {
		rt_error_set(R->err, R->st->line, R->st->col, "rfactor: loop '%s' is lost",
			     l->ax[x].name);
		return NULL;
	}
	if (a->kind == SCH_AX_OUTER)
		return binary(R, TE_ADD,
			      binary(R, TE_MUL, ax_value(R, c), built(R, te_const_int(R->out, a->factor))),
			      ax_value(R, c + 1));
	return binary(R, a->a == x ? TE_DIV : TE_MOD, ax_value(R, c),
		      built(R, te_const_int(R->out, l->ax[a->b].extent)));
}

/* The identity of S's reduction in S's type. */
static te_expr *identity(rf *R)
{
	const te_stage *S = R->S;
	bool f = te_dtype_is_float(S->type);
	te_expr *e;

	if (S->reduce == TE_RED_SUM)
		e = f ? te_const_float(R->out, 0.0, S->type) : te_const_int(R->out, 0);
	else if (S->reduce == TE_RED_MAX)
		e = f ? te_const_float(R->out, -INFINITY, S->type) : te_const_int(R->out, INT32_MIN);
	else
		e = f ? te_const_float(R->out, INFINITY, S->type) : te_const_int(R->out, INT32_MAX);
	return built(R, e);
}

/* Where a split of a reduce axis has a partial last tile, the condition
 * that the split axis is inside its extent, all of them and-ed; *cond is
 * NULL when every split is exact.  Returns 0 or -1. */
static int guard(rf *R, te_expr **cond)
{
	const sch_loops *l = &R->l;

	*cond = NULL;
	for (int x = 0; x < l->nax; x++) {
		const sch_ax *a = &l->ax[x];
		int64_t e = a->kind == SCH_AX_OUTER ? l->ax[a->a].extent : 0;
		te_expr *c;

		if (a->kind != SCH_AX_OUTER || e % a->factor == 0)
			continue;
		c = binary(R, TE_LT, ax_value(R, a->a), built(R, te_const_int(R->out, e)));
		*cond = *cond ? binary(R, TE_AND, *cond, c) : c;
		if (!*cond)
			return -1;
	}
	return 0;
}

/* A copy of e, an expression of g, in the new graph, its loads renumbered;
 * in S's body moved to S.rf (`in_rf`), reduce axes become ax_value. */
static te_expr *copy_expr(rf *R, const te_expr *e, bool in_rf)
{
	te_graph *o = R->out;
	te_expr *a[TE_MAX_RANK] = {0}, *r;

	if (e->nargs > TE_MAX_RANK) {
		rt_error_set(R->err, e->line, e->col, "rfactor: an expression with %d operands",
			     e->nargs);
		return NULL;
	}
	for (int i = 0; i < e->nargs; i++)
		if (!(a[i] = copy_expr(R, e->args[i], in_rf)))
			return NULL;
	switch (e->op) {
	case TE_CONST:
		r = e->type == TE_I32    ? te_const_int(o, e->c.i)
		    : e->type == TE_BOOL ? te_const_bool(o, e->c.i != 0)
					 : te_const_float(o, e->c.f, e->type);
		break;
	case TE_AXIS:
		if (in_rf && e->index >= R->S->rank)
			return ax_value(R, e->index);
		r = te_axis_ref(o, e->index);
		break;
	case TE_LOAD:
		r = te_load(o, R->map[e->index], e->nargs, a, R->err);
		break;
	case TE_SELECT:
		r = te_select(o, a[0], a[1], a[2], R->err);
		break;
	case TE_CAST:
		r = te_cast(o, e->type, a[0], R->err);
		break;
	default:
		r = e->nargs == 1 ? te_unary(o, e->op, a[0], R->err)
				  : te_binary(o, e->op, a[0], a[1], R->err);
	}
	if (built(R, r)) {
		r->line = e->line;
		r->col = e->col;
	}
	return r;
}

/* Add a compute stage `name` with axes names[0..rank+nred) of extents
 * ext[] to the new graph, at t's place in the source.  te_add_compute
 * takes .te identifiers only, so it is added under stand-in names and
 * renamed.  Its id, or -1. */
static int add_compute(rf *R, const te_stage *t, const char *name, int rank, int nred,
		       te_reduce red, const char *const *names, const int64_t *ext)
{
	char tmp[32], an[TE_MAX_AXES][16];
	const char *ap[TE_MAX_AXES];
	te_stage *s;
	int id;

	for (int i = 0; i < rank + nred; i++) {
		snprintf(an[i], sizeof(an[i]), "a%d", i);
		ap[i] = an[i];
	}
	for (int n = 0;; n++) {
		snprintf(tmp, sizeof(tmp), "rfactor_%d", n);
		if (!te_graph_find(R->out, tmp))
			break;
	}
	id = te_add_compute(R->out, tmp, rank, ap, ext, red, nred, ap + rank, ext + rank, R->err);
	if (id < 0 || te_rename(R->out, id, name, names, R->err))
		return -1;
	s = te_graph_stage(R->out, id);
	s->line = t->line;
	s->col = t->col;
	for (int i = 0; i < rank + nred && i < t->rank + t->nreduce; i++) {
		s->axes[i].line = t->axes[i].line;
		s->axes[i].col = t->axes[i].col;
	}
	return id;
}

/* Copy stage t of g (not S) into the new graph. */
static int copy_stage(rf *R, const te_stage *t)
{
	const char *names[TE_MAX_AXES];
	int64_t ext[TE_MAX_AXES];
	int id, n = t->rank + t->nreduce;

	if (t->kind == TE_STAGE_INPUT) {
		id = te_add_input(R->out, t->name, t->type, t->rank, t->shape, R->err);
		if (id >= 0) {
			te_graph_stage(R->out, id)->line = t->line;
			te_graph_stage(R->out, id)->col = t->col;
		}
	} else {
		for (int i = 0; i < n; i++) {
			names[i] = t->axes[i].name;
			ext[i] = t->axes[i].extent;
		}
		id = add_compute(R, t, t->name, t->rank, t->nreduce, t->reduce, names, ext);
		if (id >= 0 && te_set_body(R->out, id, copy_expr(R, t->body, false), R->err))
			id = -1;
	}
	if (id < 0)
		return -1;
	if (t->is_output)
		te_mark_output(R->out, id);
	R->map[t->id] = id;
	return 0;
}

/* S.rf[x.., L] = red(R..) guard ? body : identity.  Its id, or -1. */
static int add_rf(rf *R)
{
	const te_stage *S = R->S;
	const sch_loops *l = &R->l;
	const char *names[TE_MAX_AXES];
	int64_t ext[TE_MAX_AXES];
	te_expr *body, *cond;
	int id;

	for (int q = 0; q < l->nloops; q++) {
		names[R->axis_of_leaf[q]] = l->ax[l->loop[q]].name;
		ext[R->axis_of_leaf[q]] = l->ax[l->loop[q]].extent;
	}
	id = add_compute(R, S, R->rfname, S->rank + 1, R->nred,
			 R->nred ? S->reduce : TE_RED_NONE, names, ext);
	if (id < 0 || !(body = copy_expr(R, S->body, true)) || guard(R, &cond))
		return -1;
	if (cond && !(body = built(R, te_select(R->out, cond, body, identity(R), R->err))))
		return -1;
	return te_set_body(R->out, id, body, R->err) ? -1 : id;
}

/* S[x..] = red(L) S.rf[x.., L]. */
static int add_final(rf *R, int rf_id)
{
	const te_stage *S = R->S;
	const sch_ax *L = &R->l.ax[R->l.loop[R->pos]];
	const char *names[TE_MAX_AXES];
	int64_t ext[TE_MAX_AXES];
	te_expr *idx[TE_MAX_RANK];
	int id;

	for (int a = 0; a < S->rank; a++) {
		names[a] = S->axes[a].name;
		ext[a] = S->axes[a].extent;
	}
	names[S->rank] = L->name;
	ext[S->rank] = L->extent;
	id = add_compute(R, S, S->name, S->rank, 1, S->reduce, names, ext);
	if (id < 0)
		return -1;
	for (int a = 0; a <= S->rank; a++)
		if (!(idx[a] = built(R, te_axis_ref(R->out, a))))
			return -1;
	if (te_set_body(R->out, id, built(R, te_load(R->out, rf_id, S->rank + 1, idx, R->err)),
			R->err))
		return -1;
	if (S->is_output)
		te_mark_output(R->out, id);
	R->map[S->id] = id;
	return 0;
}

static int build_graph(rf *R)
{
	int n = te_graph_nstages(R->g), rf_id;

	R->out = te_graph_new();
	R->map = calloc((size_t)n, sizeof(int));
	if (!R->out || !R->map)
		return rt_error_set(R->err, 0, 0, "out of memory");
	for (int i = 0; i < n; i++) {
		const te_stage *t = te_graph_stage(R->g, i);

		if (t != R->S && copy_stage(R, t))
			return -1;
		if (t == R->S && ((rf_id = add_rf(R)) < 0 || add_final(R, rf_id)))
			return -1;
	}
	return 0;
}

/* The schedule without the step and the steps of S before it. */
static sch_schedule *rewrite_schedule(rf *R)
{
	sch_schedule *o = sch_new();

	for (int i = 0; o && i < R->s->nsteps; i++) {
		const sch_step *t = &R->s->steps[i];

		if (i == R->k || (i < R->k && strcmp(t->stage, R->S->name) == 0))
			continue;
		if (sch_append(o, t))
			o = sch_free(o);
	}
	if (!o)
		rt_error_set(R->err, 0, 0, "out of memory");
	return o;
}

/* Apply step k of s, an rfactor, to g: *gout and *sout, or -1. */
static int apply_one(const te_graph *g, const sch_schedule *s, int k, te_graph **gout,
		     sch_schedule **sout, rt_error *err)
{
	rf *R = calloc(1, sizeof(*R));
	int rc = -1;

	if (!R)
		return rt_error_set(err, 0, 0, "out of memory");
	R->g = g;
	R->s = s;
	R->k = k;
	R->st = &s->steps[k];
	R->err = err;
	if (!check_stage(R) && !check_other_steps(R) && !resolve(R) && !place_axes(R) &&
	    !build_graph(R) && (*sout = rewrite_schedule(R))) {
		*gout = R->out;
		R->out = NULL;
		rc = 0;
	}
	te_graph_free(R->out);
	free(R->map);
	free(R);
	return rc;
}

static int first_rfactor(const sch_schedule *s)
{
	for (int i = 0; s && i < s->nsteps; i++)
		if (s->steps[i].kind == SCH_RFACTOR)
			return i;
	return -1;
}

int sch_rfactor_apply(const te_graph *g, const sch_schedule *s, te_graph **gout,
		      sch_schedule **sout, rt_error *err)
{
	te_graph *cg = NULL;
	sch_schedule *cs = NULL;
	int k;

	*gout = NULL;
	*sout = NULL;
	while ((k = first_rfactor(cs ? cs : s)) >= 0) {
		te_graph *ng = NULL;
		sch_schedule *ns = NULL;

		if (apply_one(cg ? cg : g, cs ? cs : s, k, &ng, &ns, err)) {
			te_graph_free(cg);
			sch_free(cs);
			return -1;
		}
		te_graph_free(cg);
		sch_free(cs);
		cg = ng;
		cs = ns;
	}
	*gout = cg;
	*sout = cs;
	return 0;
}
