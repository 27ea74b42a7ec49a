/*
 * sched: schedules as data, and resolving the loops of one stage (see
 * sched.h).  The text form is in sched_text.c.
 */
#include "sched.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_tags[SCH_KIND_COUNT] = {
#define SCH_STEP(name, tag) [SCH_##name] = tag,
#include "sched_steps.def"
#undef SCH_STEP
};

static const char *const loop_kind_names[] = {
	[SCH_LOOP_SERIAL] = "serial",
	[SCH_LOOP_PARALLEL] = "parallel",
	[SCH_LOOP_VECTORIZE] = "vectorize",
	[SCH_LOOP_UNROLL] = "unroll",
	[SCH_LOOP_PIPELINE] = "pipeline",
	[SCH_LOOP_BLOCK_X] = "blockIdx.x",
	[SCH_LOOP_BLOCK_Y] = "blockIdx.y",
	[SCH_LOOP_BLOCK_Z] = "blockIdx.z",
	[SCH_LOOP_THREAD_X] = "threadIdx.x",
	[SCH_LOOP_THREAD_Y] = "threadIdx.y",
	[SCH_LOOP_THREAD_Z] = "threadIdx.z",
	[SCH_LOOP_VTHREAD] = "vthread",
};

static const char *const scope_names[] = {
	[SCH_SCOPE_LOCAL] = "local",
	[SCH_SCOPE_SHARED] = "shared",
	[SCH_SCOPE_STACK] = "stack",
};

static const char *const partition_names[] = {
	[SCH_PART_CYCLIC] = "cyclic",
	[SCH_PART_BLOCK] = "block",
	[SCH_PART_COMPLETE] = "complete",
};

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

const char *sch_kind_tag(sch_kind k)
{
	return (unsigned)k < SCH_KIND_COUNT ? kind_tags[k] : "?";
}

const char *sch_loop_kind_name(sch_loop_kind k)
{
	return (unsigned)k < (unsigned)COUNT(loop_kind_names) ? loop_kind_names[k] : "?";
}

const char *sch_scope_name(sch_scope s)
{
	return (unsigned)s < (unsigned)COUNT(scope_names) ? scope_names[s] : "?";
}

const char *sch_partition_name(sch_partition p)
{
	return (unsigned)p < (unsigned)COUNT(partition_names) ? partition_names[p] : "?";
}

sch_schedule *sch_new(void)
{
	return calloc(1, sizeof(sch_schedule));
}

sch_schedule *sch_free(sch_schedule *s)
{
	if (s) {
		free(s->steps);
		free(s);
	}
	return NULL;
}

int sch_append(sch_schedule *s, const sch_step *step)
{
	if (!s || !step)
		return -1;
	if (s->nsteps == s->cap) {
		int cap = s->cap ? 2 * s->cap : 8;
		sch_step *p;

		if (s->cap > INT_MAX / 2 || (size_t)cap > SIZE_MAX / sizeof(*p))
			return -1;
		p = realloc(s->steps, (size_t)cap * sizeof(*p));
		if (!p)
			return -1;
		s->steps = p;
		s->cap = cap;
	}
	s->steps[s->nsteps++] = *step;
	return 0;
}

/* ---- resolving a stage's loops ---- */

/* The state of one sch_stage_loops call. */
typedef struct resolver {
	const char *stage;
	sch_loops *l;
	int made[SCH_MAX_AX]; /* the line of the step that made each axis */
	rt_error *err;
} resolver;

int sch_loops_find(const sch_loops *l, const char *name)
{
	for (int i = 0; l && name && i < l->nloops; i++)
		if (strcmp(l->ax[l->loop[i]].name, name) == 0)
			return i;
	return -1;
}

/* The axis (leaf or not) named `name`, or -1. */
static int find_ax(const sch_loops *l, const char *name)
{
	for (int i = 0; i < l->nax; i++)
		if (strcmp(l->ax[i].name, name) == 0)
			return i;
	return -1;
}

/* " at line N", or "" for a step that was built rather than parsed. */
static const char *at_line(char buf[32], int line)
{
	if (line > 0)
		snprintf(buf, 32, " at line %d", line);
	else
		buf[0] = '\0';
	return buf;
}

/* The first axis derived from axis x, or -1. */
static int child_of(const sch_loops *l, int x)
{
	for (int i = x + 1; i < l->nax; i++)
		if (l->ax[i].kind != SCH_AX_BASE &&
		    (l->ax[i].a == x || (l->ax[i].kind == SCH_AX_FUSED && l->ax[i].b == x)))
			return i;
	return -1;
}

/* The error for args[i] of *st, which is no leaf: what it became, or the
 * loops there are. */
static int no_loop(resolver *r, const sch_step *st, int i)
{
	const sch_loops *l = r->l;
	const char *name = st->args[i];
	int x = find_ax(l, name), c = x < 0 ? -1 : child_of(l, x);
	char list[400], lb[32];
	size_t o = 0;

	if (c >= 0 && l->ax[c].kind == SCH_AX_FUSED)
		return rt_error_set(r->err, st->line, st->arg_col[i],
				    "%s has no loop '%s' (fused into %s%s)", r->stage, name,
				    l->ax[c].name, at_line(lb, r->made[c]));
	if (c >= 0)
		return rt_error_set(r->err, st->line, st->arg_col[i],
				    "%s has no loop '%s' (split into %s and %s%s)", r->stage, name,
				    l->ax[c].name, l->ax[c + 1].name, at_line(lb, r->made[c]));
	list[0] = '\0';
	for (int k = 0; k < l->nloops && o < sizeof(list); k++)
		o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s", k ? ", " : "",
				      l->ax[l->loop[k]].name);
	return rt_error_set(r->err, st->line, st->arg_col[i], "%s has no loop '%s' (its loops: %s)",
			    r->stage, name, l->nloops ? list : "none");
}

/* The leaf position of args[i] of *st, or -1 with the error set. */
static int leaf(resolver *r, const sch_step *st, int i)
{
	int p = sch_loops_find(r->l, st->args[i]);

	if (p < 0)
		no_loop(r, st, i);
	return p;
}

/* Fail if the leaf at position p, named by args[i], is annotated. */
static int check_plain(resolver *r, const sch_step *st, int i, int p)
{
	char lb[32];

	if (r->l->kind[p] == SCH_LOOP_SERIAL)
		return 0;
	return rt_error_set(r->err, st->line, st->arg_col[i],
			    "cannot %s %s's loop '%s': it is already annotated %s%s",
			    sch_kind_tag(st->kind), r->stage, st->args[i],
			    sch_loop_kind_name(r->l->kind[p]), at_line(lb, r->l->line[p]));
}

/* Add an axis named `name` (made by *st, whose argument `col` it is
 * blamed on).  Returns its index, or -1 with the error set. */
static int new_ax(resolver *r, const sch_step *st, int col, const sch_ax *ax)
{
	sch_loops *l = r->l;

	if (find_ax(l, ax->name) >= 0)
		return rt_error_set(r->err, st->line, col,
				    "%s would make loop '%s', which %s already has",
				    sch_kind_tag(st->kind), ax->name, r->stage);
	if (l->nax == SCH_MAX_AX)
		return rt_error_set(r->err, st->line, col, "%s has more than %d axes", r->stage,
				    SCH_MAX_AX);
	l->ax[l->nax] = *ax;
	r->made[l->nax] = st->line;
	return l->nax++;
}

/* Build the name x + sep + y into ax->name; fail if too long. */
static int derived_name(resolver *r, const sch_step *st, int col, sch_ax *ax, const char *x,
			const char *sep, const char *y)
{
	int n = snprintf(ax->name, sizeof(ax->name), "%s%s%s", x, sep, y);

	if (n < 0 || n >= (int)sizeof(ax->name))
		return rt_error_set(r->err, st->line, col,
				    "loop name '%s%s%s' is too long (at most %d characters)", x,
				    sep, y, SCH_MAX_NAME - 1);
	return 0;
}

/* Put axis x at leaf position p, moving the leaves from p on inward. */
static void insert_leaf(sch_loops *l, int p, int x)
{
	for (int i = l->nloops; i > p; i--) {
		l->loop[i] = l->loop[i - 1];
		l->kind[i] = l->kind[i - 1];
		l->line[i] = l->line[i - 1];
		l->ii[i] = l->ii[i - 1];
	}
	l->loop[p] = x;
	l->kind[p] = SCH_LOOP_SERIAL;
	l->line[p] = 0;
	l->ii[p] = 0;
	l->nloops++;
}

static void remove_leaf(sch_loops *l, int p)
{
	for (int i = p; i + 1 < l->nloops; i++) {
		l->loop[i] = l->loop[i + 1];
		l->kind[i] = l->kind[i + 1];
		l->line[i] = l->line[i + 1];
		l->ii[i] = l->ii[i + 1];
	}
	l->nloops--;
}

/* The split factor of *st applied to extent e, or -1 with the error set. */
static int64_t split_factor(resolver *r, const sch_step *st, int64_t e)
{
	if (st->factor > 0 && st->nparts > 0)
		return rt_error_set(r->err, st->line, st->opt_col,
				    "split has both a factor and parts");
	if (st->factor > 0)
		return st->factor;
	if (st->nparts > 0)
		return e / st->nparts + (e % st->nparts != 0);
	return rt_error_set(r->err, st->line, st->opt_col,
			    "split needs a factor or parts of at least 1");
}

/* split S X F: leaf X -> X.o (extent ceil(e/f)), X.i (extent f) */
static int do_split(resolver *r, const sch_step *st)
{
	sch_loops *l = r->l;
	int p = leaf(r, st, 0), x, o, i;
	sch_ax outer = {.kind = SCH_AX_OUTER}, inner = {.kind = SCH_AX_INNER};
	int64_t e, f;

	if (p < 0 || check_plain(r, st, 0, p) < 0)
		return -1;
	x = l->loop[p];
	e = l->ax[x].extent;
	f = split_factor(r, st, e);
	if (f < 0)
		return -1;
	if (l->nloops == SCH_MAX_LOOPS)
		return rt_error_set(r->err, st->line, st->arg_col[0], "%s has more than %d loops",
				    r->stage, SCH_MAX_LOOPS);
	outer.a = inner.a = x;
	outer.factor = inner.factor = f;
	outer.extent = e / f + (e % f != 0);
	inner.extent = f;
	if (derived_name(r, st, st->arg_col[0], &outer, l->ax[x].name, ".o", "") < 0 ||
	    derived_name(r, st, st->arg_col[0], &inner, l->ax[x].name, ".i", "") < 0)
		return -1;
	if ((o = new_ax(r, st, st->arg_col[0], &outer)) < 0 ||
	    (i = new_ax(r, st, st->arg_col[0], &inner)) < 0)
		return -1;
	l->loop[p] = o;
	insert_leaf(l, p + 1, i);
	return 0;
}

/* Why the leaves at positions px and py cannot be fused, px outside py. */
static const char *not_fusable(int px, int py)
{
	if (px == py)
		return "a loop cannot be fused with itself";
	if (py == px - 1)
		return "the outer loop must come first";
	return "they are not adjacent";
}

/* fuse S X Y: adjacent leaves X (outer), Y (inner) -> X+Y */
static int do_fuse(resolver *r, const sch_step *st)
{
	sch_loops *l = r->l;
	int px = leaf(r, st, 0), py = px < 0 ? -1 : leaf(r, st, 1), x, y, f;
	sch_ax fused = {.kind = SCH_AX_FUSED};

	if (px < 0 || py < 0 || check_plain(r, st, 0, px) < 0 || check_plain(r, st, 1, py) < 0)
		return -1;
	if (py != px + 1)
		return rt_error_set(r->err, st->line, st->arg_col[1],
				    "cannot fuse %s's loops '%s' and '%s': %s", r->stage,
				    st->args[0], st->args[1], not_fusable(px, py));
	x = l->loop[px];
	y = l->loop[py];
	if (l->ax[x].extent > INT64_MAX / l->ax[y].extent)
		return rt_error_set(r->err, st->line, st->arg_col[1],
				    "fused extent of '%s' and '%s' overflows", st->args[0],
				    st->args[1]);
	fused.a = x;
	fused.b = y;
	fused.extent = l->ax[x].extent * l->ax[y].extent;
	if (derived_name(r, st, st->arg_col[1], &fused, l->ax[x].name, "+", l->ax[y].name) < 0)
		return -1;
	if ((f = new_ax(r, st, st->arg_col[1], &fused)) < 0)
		return -1;
	l->loop[px] = f;
	remove_leaf(l, py);
	return 0;
}

/* reorder S L...: the named leaves take, in order, the positions they hold */
static int do_reorder(resolver *r, const sch_step *st)
{
	sch_loops *l = r->l;
	int pos[SCH_MAX_ARGS], loop[SCH_MAX_ARGS], line[SCH_MAX_ARGS];
	int64_t ii[SCH_MAX_ARGS];
	sch_loop_kind kind[SCH_MAX_ARGS];
	int n = st->nargs;

	if (n < 2 || n > SCH_MAX_ARGS)
		return rt_error_set(r->err, st->line, st->col, "reorder needs 2 to %d loops",
				    SCH_MAX_ARGS);
	for (int i = 0; i < n; i++) {
		if ((pos[i] = leaf(r, st, i)) < 0)
			return -1;
		for (int k = 0; k < i; k++)
			if (pos[k] == pos[i])
				return rt_error_set(r->err, st->line, st->arg_col[i],
						    "reorder names '%s' twice", st->args[i]);
		loop[i] = l->loop[pos[i]];
		kind[i] = l->kind[pos[i]];
		line[i] = l->line[pos[i]];
		ii[i] = l->ii[pos[i]];
	}
	for (int i = 1; i < n; i++) /* sort the positions */
		for (int k = i; k > 0 && pos[k - 1] > pos[k]; k--) {
			int t = pos[k];

			pos[k] = pos[k - 1];
			pos[k - 1] = t;
		}
	for (int i = 0; i < n; i++) {
		l->loop[pos[i]] = loop[i];
		l->kind[pos[i]] = kind[i];
		l->line[pos[i]] = line[i];
		l->ii[pos[i]] = ii[i];
	}
	return 0;
}

/* parallel|vectorize|unroll S L, bind S L TAG, pipeline S L [II] */
static int do_annotate(resolver *r, const sch_step *st)
{
	sch_loop_kind k = st->kind == SCH_PARALLEL    ? SCH_LOOP_PARALLEL
			  : st->kind == SCH_VECTORIZE ? SCH_LOOP_VECTORIZE
			  : st->kind == SCH_UNROLL    ? SCH_LOOP_UNROLL
			  : st->kind == SCH_PIPELINE  ? SCH_LOOP_PIPELINE
						      : st->tag;
	int p = leaf(r, st, 0);

	if (p < 0 || check_plain(r, st, 0, p) < 0)
		return -1;
	if (st->kind == SCH_BIND && (k < SCH_LOOP_BLOCK_X || k > SCH_LOOP_VTHREAD))
		return rt_error_set(r->err, st->line, st->opt_col, "unknown bind target %d",
				    (int)k);
	if (st->kind == SCH_PIPELINE && st->ii < 0)
		return rt_error_set(r->err, st->line, st->opt_col, "pipeline: bad II %lld",
				    (long long)st->ii);
	r->l->kind[p] = k;
	r->l->line[p] = st->line;
	r->l->ii[p] = st->kind == SCH_PIPELINE ? (st->ii > 0 ? st->ii : 1) : 0;
	return 0;
}

/* compute_at S C L, compute_inline S: at most one per stage */
static int do_attach(resolver *r, const sch_step *st)
{
	sch_loops *l = r->l;
	char lb[32];

	if (l->attach != SCH_ATTACH_ROOT)
		return rt_error_set(r->err, st->line, st->stage_col, "%s is already placed by %s%s",
				    r->stage,
				    l->attach == SCH_ATTACH_AT ? "compute_at" : "compute_inline",
				    at_line(lb, l->attach_line));
	l->attach_line = st->line;
	if (st->kind == SCH_COMPUTE_INLINE) {
		l->attach = SCH_ATTACH_INLINE;
		return 0;
	}
	if (strcmp(st->target, r->stage) == 0)
		return rt_error_set(r->err, st->line, st->target_col,
				    "cannot compute %s at one of its own loops", r->stage);
	l->attach = SCH_ATTACH_AT;
	memcpy(l->at_stage, st->target, sizeof(l->at_stage));
	memcpy(l->at_loop, st->args[0], sizeof(l->at_loop));
	l->at_stage[SCH_MAX_NAME - 1] = l->at_loop[SCH_MAX_NAME - 1] = '\0';
	return 0;
}

static int apply(resolver *r, const sch_step *st)
{
	switch (st->kind) {
	case SCH_SPLIT:
		return do_split(r, st);
	case SCH_FUSE:
		return do_fuse(r, st);
	case SCH_REORDER:
		return do_reorder(r, st);
	case SCH_PARALLEL:
	case SCH_VECTORIZE:
	case SCH_UNROLL:
	case SCH_BIND:
	case SCH_PIPELINE:
		return do_annotate(r, st);
	case SCH_COMPUTE_AT:
	case SCH_COMPUTE_INLINE:
		return do_attach(r, st);
	default: /* cache_read, cache_write make other stages; partition
		  * annotates the stage's buffer; rfactor is applied to the
		  * graph before (sched_rfactor.h) */
		return 0;
	}
}

/* Start *l as the base axes, each a leaf, in order. */
static int init_base(resolver *r, int nbase, const char *const *names, const int64_t *extents)
{
	sch_loops *l = r->l;

	if (nbase < 0 || nbase > SCH_MAX_LOOPS || (nbase > 0 && (!names || !extents)))
		return rt_error_set(r->err, 0, 0, "%s: bad base loops (%d; at most %d)", r->stage,
				    nbase, SCH_MAX_LOOPS);
	for (int i = 0; i < nbase; i++) {
		sch_ax *ax = &l->ax[i];

		if (!names[i] || strlen(names[i]) >= SCH_MAX_NAME)
			return rt_error_set(r->err, 0, 0,
					    "%s: base loop %d has no name or a too long one",
					    r->stage, i);
		if (extents[i] < 1)
			return rt_error_set(r->err, 0, 0, "%s: loop '%s' has extent %lld", r->stage,
					    names[i], (long long)extents[i]);
		if (find_ax(l, names[i]) >= 0)
			return rt_error_set(r->err, 0, 0, "%s: two base loops named '%s'", r->stage,
					    names[i]);
		ax->kind = SCH_AX_BASE;
		ax->base = i;
		ax->a = ax->b = -1;
		ax->extent = extents[i];
		strcpy(ax->name, names[i]);
		l->loop[i] = i;
		l->nax = l->nloops = i + 1;
	}
	return 0;
}

int sch_stage_loops(const sch_schedule *s, const char *stage, int nbase, const char *const *names,
		    const int64_t *extents, sch_loops *out, rt_error *err)
{
	resolver r = {.stage = stage ? stage : "", .l = out, .err = err};

	if (!out)
		return rt_error_set(err, 0, 0, "no loops to fill");
	memset(out, 0, sizeof(*out));
	if (!stage)
		return rt_error_set(err, 0, 0, "no stage name");
	if (init_base(&r, nbase, names, extents) < 0)
		return -1;
	for (int i = 0; s && i < s->nsteps; i++)
		if (strcmp(s->steps[i].stage, stage) == 0 && apply(&r, &s->steps[i]) < 0)
			return -1;
	return 0;
}
