/*
 * lower: stages, statements, iteration domains, footprints and buffers.
 * The schedule tree, the legality checks and the AST translation are in
 * lower_tree.c, lower_check.c and lower_ast.c.
 */
#include "lower_priv.h"

#include <inttypes.h>
#include <isl/ast_build.h>
#include <isl/fixed_box.h>
#include <isl/options.h>
#include <isl/val.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_time.h"
#include "sched_rfactor.h"
#include "te_isl.h"


int lw_fail(lw *L, int line, int col, const char *fmt, ...)
{
	va_list ap;
	char msg[RT_ERROR_MSG_MAX];

	if (lw_out_of_time(L))
		return rt_error_set(L->err, 0, 0,
				    "schedule too complex to analyse: the %s needs more than %g s of CPU time%s",
				    L->phase ? L->phase : "lowering", L->watch.limit,
				    L->watch.limit == LIR_MAX_PHASE_SECONDS ? " (LIR_MAX_PHASE_SECONDS)"
									   : " (the caller's limit)");
	if (lw_over_budget(L))
		return rt_error_set(L->err, 0, 0,
				    "schedule too complex to analyse: the %s needs more than %lu isl operations%s",
				    L->phase ? L->phase : "lowering", L->max_ops,
				    L->max_ops == LIR_MAX_ISL_OPS ? " (LIR_MAX_ISL_OPS)" : " (the caller's isl limit)");
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return rt_error_set(L->err, line, col, "%s", msg);
}

/* isl may report a later error over the quota that stopped it (its parser
 * does): probe with one small problem that needs a simplex pivot, each of
 * which counts against the budget. */
static bool budget_spent(isl_ctx *ctx)
{
	isl_set *s = isl_set_read_from_str(ctx, "{ [x, y] : 2x + 3y >= 5 and x - y <= 1 and x >= 0 and y >= 0 }");
	isl_bool empty = isl_set_is_empty(s);

	isl_set_free(s);
	return empty < 0 && isl_ctx_last_error(ctx) == isl_error_quota;
}

bool lw_over_budget(lw *L)
{
	return lw_out_of_time(L) || isl_ctx_last_error(L->ctx) == isl_error_quota ||
	       (isl_ctx_last_error(L->ctx) != isl_error_none && budget_spent(L->ctx));
}

/* ---- the watchdog of each phase's CPU time ---- */

#define LW_WATCH_POLL_NS 20000000L /* between two looks at the clock */

static double cpu_seconds(clockid_t c)
{
	struct timespec t;

	return clock_gettime(c, &t) ? 0 : (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* The watchdog thread: every LW_WATCH_POLL_NS, abort isl once the
 * lowering thread's CPU clock has passed the phase's deadline. */
static void *watch_main(void *arg)
{
	lw *L = arg;
	lw_watch *w = &L->watch;

	pthread_mutex_lock(&w->mu);
	while (!w->stop) {
		struct timespec until;

		if (w->deadline > 0 && !w->fired && cpu_seconds(w->clock) > w->deadline) {
			w->fired = true;
			isl_ctx_abort(L->ctx);
		}
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += LW_WATCH_POLL_NS;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&w->cv, &w->mu, &until);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* Start the watchdog with `limit` CPU seconds per phase: 0, or -1 with the error. */
static int watch_start(lw *L, double limit)
{
	lw_watch *w = &L->watch;

	w->limit = limit;
	if (pthread_getcpuclockid(pthread_self(), &w->clock))
		return lw_fail(L, 0, 0, "cannot read the lowering thread's CPU clock");
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	if (pthread_create(&w->thread, NULL, watch_main, L)) {
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->mu);
		return lw_fail(L, 0, 0, "cannot start the lowering's CPU-time watchdog (a thread)");
	}
	w->running = true;
	return 0;
}

/* Stop and join the watchdog; isl no longer aborted. */
static void watch_stop(lw *L)
{
	lw_watch *w = &L->watch;

	if (!w->running)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	w->running = false;
	isl_ctx_resume(L->ctx);
}

bool lw_out_of_time(lw *L)
{
	bool fired;

	if (!L->watch.running)
		return false;
	pthread_mutex_lock(&L->watch.mu);
	fired = L->watch.fired;
	pthread_mutex_unlock(&L->watch.mu);
	return fired;
}

void lw_phase(lw *L, const char *what)
{
	lw_watch *w = &L->watch;

	L->phase = what;
	if (w->running) {
		pthread_mutex_lock(&w->mu);
		w->deadline = cpu_seconds(w->clock) + w->limit;
		w->fired = false;
		isl_ctx_resume(L->ctx);
		pthread_mutex_unlock(&w->mu);
	}
	isl_ctx_reset_error(L->ctx);
	isl_ctx_reset_operations(L->ctx);
	isl_ctx_set_max_operations(L->ctx, L->max_ops);
}

/* ---- reading relations between stages ---- */

static bool expr_reads(const lw *L, const te_expr *e, int t)
{
	if (e->op == TE_LOAD) {
		if (e->index == t)
			return true;
		if (L->inlined[e->index] && expr_reads(L, te_graph_stage(L->g, e->index)->body, t))
			return true;
	}
	for (int i = 0; i < e->nargs; i++)
		if (expr_reads(L, e->args[i], t))
			return true;
	return false;
}

/* Does te compute stage `reader` read tensor t, directly or through inlined stages? */
static bool stage_reads(const lw *L, const te_stage *reader, int t)
{
	return reader->body && expr_reads(L, reader->body, t);
}

/* ---- step 1: stages ---- */

static int add_stage(lw *L, lw_stage_kind kind, const char *name, const te_stage *te)
{
	lw_stage *x;

	if (L->nstages == LW_MAX_STAGES)
		return lw_fail(L, 0, 0, "too many stages (at most %d)", LW_MAX_STAGES);
	x = &L->st[L->nstages];
	memset(x, 0, sizeof(*x));
	x->kind = kind;
	snprintf(x->name, sizeof(x->name), "%s", name);
	x->te = te;
	x->parent = -1;
	x->parent_pos = -1;
	x->consumer = -1;
	x->buf = -1;
	for (int k = 0; k < LW_MAX_BUF_DIMS; k++)
		x->perm[k] = k;
	return L->nstages++;
}

/* Mark inlined stages; refuse inlining what cannot be inlined. */
static int collect_inline(lw *L)
{
	for (int i = 0; i < L->s->nsteps; i++) {
		const sch_step *st = &L->s->steps[i];
		const te_stage *t;

		if (st->kind != SCH_COMPUTE_INLINE)
			continue;
		t = te_graph_find(L->g, st->stage);
		if (!t || t->kind != TE_STAGE_COMPUTE)
			return lw_fail(L, st->line, st->col, "compute_inline %s: no compute stage named '%s'",
				       st->stage, st->stage);
		if (t->reduce != TE_RED_NONE)
			return lw_fail(L, st->line, st->col,
				       "compute_inline %s: '%s' is a reduction; only injective stages can be inlined",
				       st->stage, st->stage);
		if (t->is_output)
			return lw_fail(L, st->line, st->col,
				       "compute_inline %s: '%s' is an output of the graph", st->stage, st->stage);
		if (L->inlined[t->id])
			return lw_fail(L, st->line, st->col, "compute_inline %s: inlined twice", st->stage);
		L->inlined[t->id] = true;
	}
	return 0;
}

/* Is `name` a stage known to the schedule (te compute stage or cache stage)? */
static int lw_find(const lw *L, const char *name)
{
	for (int i = 0; i < L->nstages; i++)
		if (strcmp(L->st[i].name, name) == 0)
			return i;
	return -1;
}

/* The blocks and the permutation of cache_read step st's copy, stage x. */
static int set_layout(lw *L, int x, const sch_step *st)
{
	lw_stage *s = &L->st[x];

	for (int j = 0; j < st->nblock && j < SCH_MAX_BLOCKS; j++) {
		if (st->block_dim[j] >= s->rank)
			return lw_fail(L, st->line, st->block_col[j],
				       "cache_read %s: block=%d:%" PRId64 ": no dimension %d ('%s' has rank %d)",
				       st->stage, st->block_dim[j], st->block_factor[j], st->block_dim[j],
				       st->stage, s->rank);
		s->block_dim[j] = st->block_dim[j];
		s->block_f[j] = st->block_factor[j];
	}
	s->nblock = st->nblock;
	if (st->nperm && st->nperm != s->rank + s->nblock)
		return lw_fail(L, st->line, st->col,
			       "cache_read %s: perm has %d entries, the copy of '%s' has %d dimensions "
			       "(rank %d and %d blocks)",
			       st->stage, st->nperm, st->stage, s->rank + s->nblock, s->rank, s->nblock);
	for (int k = 0; k < st->nperm; k++)
		s->perm[k] = st->perm[k];
	return 0;
}

int lw_buf_dims(const lw_stage *x, int64_t ext[LW_MAX_BUF_DIMS])
{
	const int64_t *size = x->local ? x->size : x->te->shape;

	for (int k = 0; k < x->rank; k++)
		ext[k] = size[k];
	for (int j = 0; j < x->nblock; j++) {
		int d = x->block_dim[j];

		ext[d] = (size[d] + x->block_f[j] - 1) / x->block_f[j];
		ext[x->rank + j] = x->block_f[j];
	}
	return x->rank + x->nblock;
}

static int add_cache_stages(lw *L)
{
	static const char *const scope[] = {"local", "shared", "stack"};

	for (int i = 0; i < L->s->nsteps; i++) {
		const sch_step *st = &L->s->steps[i];
		char name[2 * SCH_MAX_NAME + 8];
		const te_stage *t;
		int x, c;

		if (st->kind != SCH_CACHE_READ && st->kind != SCH_CACHE_WRITE)
			continue;
		snprintf(name, sizeof(name), "%s.%s", st->stage, scope[st->scope]);
		if (strlen(name) >= SCH_MAX_NAME)
			return lw_fail(L, st->line, st->col, "%s: the name '%s' is too long",
				       sch_kind_tag(st->kind), name);
		if (lw_find(L, name) >= 0)
			return lw_fail(L, st->line, st->col, "%s: stage '%s' already exists",
				       sch_kind_tag(st->kind), name);
		t = te_graph_find(L->g, st->stage);
		if (st->kind == SCH_CACHE_READ) {
			c = lw_find(L, st->target);
			if (!t)
				return lw_fail(L, st->line, st->col, "cache_read: no tensor named '%s'", st->stage);
			if (c < 0 || L->st[c].kind != LW_COMPUTE)
				return lw_fail(L, st->line, st->col, "cache_read %s %s: no compute stage named '%s'",
					       st->stage, st->target, st->target);
			if (L->inlined[t->id])
				return lw_fail(L, st->line, st->col, "cache_read %s: '%s' is inlined", st->stage, st->stage);
			if (!stage_reads(L, L->st[c].te, t->id))
				return lw_fail(L, st->line, st->col, "cache_read %s %s: '%s' does not read '%s'",
					       st->stage, st->target, st->target, st->stage);
			if (lw_find(L, st->stage) >= 0 && L->st[lw_find(L, st->stage)].parent >= 0)
				return lw_fail(L, st->line, st->col, "cache_read %s: '%s' is computed inside another stage",
					       st->stage, st->stage);
			if ((x = add_stage(L, LW_CACHE_READ, name, t)) < 0)
				return -1;
			L->st[x].consumer = c;
		} else {
			c = lw_find(L, st->stage);
			if (c < 0 || L->st[c].kind != LW_COMPUTE)
				return lw_fail(L, st->line, st->col, "cache_write: no compute stage named '%s'", st->stage);
			for (int j = 0; j < L->nstages; j++)
				if (L->st[j].kind == LW_CACHE_WRITE && L->st[j].te == t)
					return lw_fail(L, st->line, st->col, "cache_write %s: cached twice", st->stage);
			if ((x = add_stage(L, LW_CACHE_WRITE, name, t)) < 0)
				return -1;
			c = lw_find(L, st->stage);
		}
		L->st[x].parent = c;
		L->st[x].step_line = st->line;
		L->st[x].step_col = st->col;
		L->st[x].scope = st->scope == SCH_SCOPE_SHARED ? LIR_SHARED
			       : st->scope == SCH_SCOPE_LOCAL ? LIR_LOCAL : LIR_STACK;
		L->st[x].rank = t->rank;
		if (set_layout(L, x, st))
			return -1;
	}
	return 0;
}

/* Every step must name a stage that exists. */
static int check_step_stages(const lw *L)
{
	for (int i = 0; i < L->s->nsteps; i++) {
		const sch_step *st = &L->s->steps[i];

		if (st->kind == SCH_CACHE_READ || st->kind == SCH_CACHE_WRITE ||
		    st->kind == SCH_COMPUTE_INLINE || st->kind == SCH_PARTITION)
			continue;
		if (lw_find(L, st->stage) < 0) {
			const te_stage *t = te_graph_find(L->g, st->stage);

			return lw_fail((lw *)L, st->line, st->col, "%s: %s", sch_kind_tag(st->kind),
				       !t ? "no such stage"
				       : t->kind == TE_STAGE_INPUT ? "an input has no loops"
				       : "the stage is inlined");
		}
	}
	return 0;
}

/* Resolve the loops of stage x from its base loops. */
static int resolve_loops(lw *L, int x)
{
	lw_stage *s = &L->st[x];
	char names[TE_MAX_AXES][SCH_MAX_NAME];
	const char *np[TE_MAX_AXES];

	for (int i = 0; i < s->nbase; i++) {
		if (s->kind == LW_COMPUTE)
			snprintf(names[i], SCH_MAX_NAME, "%s", s->te->axes[i].name);
		else
			snprintf(names[i], SCH_MAX_NAME, "d%d", i);
		np[i] = names[i];
	}
	if (sch_stage_loops(L->s, s->name, s->nbase, np, s->base_ext, &s->loops, L->err))
		return -1;
	if (s->kind != LW_COMPUTE && s->loops.attach != SCH_ATTACH_ROOT)
		return lw_fail(L, s->loops.attach_line, 0, "%s is a cache stage: it is placed by its cache step",
			       s->name);
	return 0;
}

/* Is axis `ax` of stage x built from reduce axes only (1), spatial only (0), or mixed (-1)? */
static int ax_reduce(const lw_stage *x, int ax)
{
	const sch_ax *a = &x->loops.ax[ax];
	int l, r;

	switch (a->kind) {
	case SCH_AX_BASE:
		return x->kind == LW_COMPUTE && a->base >= x->te->rank;
	case SCH_AX_FUSED:
		l = ax_reduce(x, a->a);
		r = ax_reduce(x, a->b);
		return l == r ? l : -1;
	default:
		return ax_reduce(x, a->a);
	}
}

static int classify_leaves(lw *L, int x)
{
	lw_stage *s = &L->st[x];

	s->first_reduce = s->loops.nloops;
	for (int q = s->loops.nloops - 1; q >= 0; q--) {
		int r = ax_reduce(s, s->loops.loop[q]);

		if (r < 0)
			return lw_fail(L, 0, 0, "%s: loop '%s' fuses a spatial loop with a reduce loop", s->name,
				       s->loops.ax[s->loops.loop[q]].name);
		s->reduce_leaf[q] = r;
		if (r)
			s->first_reduce = q;
		if (r && s->loops.kind[q] >= SCH_LOOP_BLOCK_X)
			return lw_fail(L, s->loops.line[q], 0, "bind %s %s: '%s' is a reduce loop; binding it to %s would race",
				       s->name, s->loops.ax[s->loops.loop[q]].name, s->loops.ax[s->loops.loop[q]].name,
				       sch_loop_kind_name(s->loops.kind[q]));
	}
	return 0;
}

/* compute_at: check and record the attachment of compute stage x. */
static int attach_compute(lw *L, int x)
{
	lw_stage *s = &L->st[x];
	const te_stage *t = s->te;
	int c, line = s->loops.attach_line;

	if (s->loops.attach != SCH_ATTACH_AT)
		return 0;
	c = lw_find(L, s->loops.at_stage);
	if (c < 0 || L->st[c].kind != LW_COMPUTE)
		return lw_fail(L, line, 0, "compute_at %s %s: no compute stage named '%s'", s->name,
			       s->loops.at_stage, s->loops.at_stage);
	if (t->is_output)
		return lw_fail(L, line, 0, "compute_at %s: '%s' is an output; only the part its consumer reads would be computed",
			       s->name, s->name);
	if (!stage_reads(L, L->st[c].te, t->id))
		return lw_fail(L, line, 0, "compute_at %s %s: '%s' does not read '%s'", s->name,
			       L->st[c].name, L->st[c].name, s->name);
	for (int i = 0; i < te_graph_nstages(L->g); i++) {
		const te_stage *r = te_graph_stage(L->g, i);

		if (r != L->st[c].te && r != t && !L->inlined[i] && stage_reads(L, r, t->id))
			return lw_fail(L, line, 0, "compute_at %s %s: '%s' is also read by '%s'", s->name,
				       L->st[c].name, s->name, r->name);
	}
	s->parent = c;
	s->parent_pos = sch_loops_find(&L->st[c].loops, s->loops.at_loop);
	s->step_line = line;
	if (s->parent_pos < 0)
		return lw_fail(L, line, 0, "compute_at %s %s %s: '%s' has no loop '%s'", s->name,
			       L->st[c].name, s->loops.at_loop, L->st[c].name, s->loops.at_loop);
	return 0;
}

/* Position of the cache stage x's loop in its parent, checked. */
static int attach_cache(lw *L, int x)
{
	lw_stage *s = &L->st[x];
	const sch_step *st = NULL;
	lw_stage *p = &L->st[s->parent];

	for (int i = 0; i < L->s->nsteps && !st; i++) {
		const sch_step *t = &L->s->steps[i];

		if (t->line == s->step_line && t->col == s->step_col &&
		    (t->kind == SCH_CACHE_READ || t->kind == SCH_CACHE_WRITE))
			st = t;
	}
	if (!st)
		return lw_fail(L, 0, 0, "%s: lost its cache step", s->name);
	s->parent_pos = sch_loops_find(&p->loops, st->args[0]);
	if (s->parent_pos < 0)
		return lw_fail(L, st->line, st->col, "%s: '%s' has no loop '%s'", sch_kind_tag(st->kind),
			       p->name, st->args[0]);
	for (int y = x; s->scope == LIR_SHARED && L->st[y].parent >= 0; y = L->st[y].parent) {
		const lw_stage *py = &L->st[L->st[y].parent];

		for (int q = 0; q <= L->st[y].parent_pos; q++)
			if (py->loops.kind[q] >= SCH_LOOP_THREAD_X && py->loops.kind[q] <= SCH_LOOP_THREAD_Z)
				return lw_fail(L, st->line, st->col,
					       "%s %s: a shared buffer is one per block, but it would be inside the %s loop '%s' of '%s'",
					       sch_kind_tag(st->kind), st->stage, sch_loop_kind_name(py->loops.kind[q]),
					       py->loops.ax[py->loops.loop[q]].name, py->name);
	}
	if (s->kind == LW_CACHE_READ && L->te_lw[s->te->id] >= 0 && L->st[L->te_lw[s->te->id]].parent >= 0)
		return lw_fail(L, st->line, st->col,
			       "cache_read %s: '%s' is computed inside '%s' (compute_at); read it there instead",
			       st->stage, st->stage, L->st[L->st[L->te_lw[s->te->id]].parent].name);
	if (s->kind == LW_CACHE_WRITE && s->parent_pos >= p->first_reduce)
		return lw_fail(L, st->line, st->col,
			       "cache_write %s %s: a reduce loop of '%s' is at or outside '%s'; the tile would be written back before it is complete",
			       p->name, st->args[0], p->name, st->args[0]);
	return 0;
}

/* No cycles among attachments; nctx = parent's nctx + parent_pos + 1. */
static int attach_depths(lw *L)
{
	for (int x = 0; x < L->nstages; x++) {
		int n = 0;

		for (int y = x; L->st[y].parent >= 0; y = L->st[y].parent)
			if (++n > L->nstages)
				return lw_fail(L, L->st[x].step_line, 0, "%s: compute_at forms a cycle",
					       L->st[x].name);
	}
	for (int pass = 0; pass < L->nstages; pass++)
		for (int x = 0; x < L->nstages; x++)
			if (L->st[x].parent >= 0)
				L->st[x].nctx = L->st[L->st[x].parent].nctx + L->st[x].parent_pos + 1;
	for (int x = 0; x < L->nstages; x++)
		if (L->st[x].nctx > LW_MAX_CTX)
			return lw_fail(L, 0, 0, "%s: nested too deep", L->st[x].name);
	return 0;
}

/* ---- what the schedule expands to ---- */

/* Iterations of axis `ax` of x that hold instances (a split's inner loop
 * no longer than what it splits). */
static int64_t trips(const lw_stage *x, int ax)
{
	const sch_ax *a = &x->loops.ax[ax];
	int64_t n;

	switch (a->kind) {
	case SCH_AX_BASE:
		return a->extent;
	case SCH_AX_OUTER:
		n = trips(x, a->a);
		return n / a->factor + (n % a->factor != 0);
	case SCH_AX_INNER:
		n = trips(x, a->a);
		return n < a->factor ? n : a->factor;
	default:
		n = trips(x, a->a);
		return n > INT64_MAX / trips(x, a->b) ? INT64_MAX : n * trips(x, a->b);
	}
}

/* The unroll step of loop q of x, for its column. */
static const sch_step *unroll_step(const lw *L, const lw_stage *x, int q)
{
	for (int i = 0; i < L->s->nsteps; i++) {
		const sch_step *st = &L->s->steps[i];

		if (st->kind == SCH_UNROLL && st->line == x->loops.line[q] && strcmp(st->stage, x->name) == 0)
			return st;
	}
	return NULL;
}

/* Nested unrolled loops of stage x (its ancestors' around its own) make at
 * most LIR_MAX_UNROLL copies of its body. */
static int check_unroll(lw *L, int x)
{
	int chain[LW_MAX_STAGES], n = 0;
	int64_t copies = 1;
	char outer[512] = "";

	for (int y = x; y >= 0 && n < LW_MAX_STAGES; y = L->st[y].parent)
		chain[n++] = y;
	while (n-- > 0) {
		const lw_stage *s = &L->st[chain[n]];
		int last = n > 0 ? L->st[chain[n - 1]].parent_pos : s->loops.nloops - 1;

		for (int q = 0; q <= last; q++) {
			const char *nm = s->loops.ax[s->loops.loop[q]].name;
			const sch_step *st;
			int64_t t;
			size_t len;

			if (s->loops.kind[q] != SCH_LOOP_UNROLL)
				continue;
			t = trips(s, s->loops.loop[q]);
			if (t <= LIR_MAX_UNROLL && copies * t <= LIR_MAX_UNROLL) {
				copies *= t;
				len = strlen(outer);
				snprintf(outer + len, sizeof(outer) - len, "%s'%s' (%lld)", len ? ", " : "", nm,
					 (long long)t);
				continue;
			}
			st = unroll_step(L, s, q);
			return lw_fail(L, s->loops.line[q], st ? st->arg_col[0] : 0,
				       "unroll %s %s: %lld iterations%s%s make more than %d copies of the body of '%s' "
				       "(LIR_MAX_UNROLL); unroll a shorter loop",
				       s->name, nm, (long long)t, outer[0] ? " inside the unrolled loops " : "", outer,
				       LIR_MAX_UNROLL, L->st[x].name);
		}
	}
	return 0;
}

/* ---- isl strings ---- */

void lw_ax_str(const lw_stage *x, int ax, char *buf, size_t size)
{
	const sch_ax *a = &x->loops.ax[ax];
	char l[2048], r[2048];

	switch (a->kind) {
	case SCH_AX_BASE:
		snprintf(buf, size, "b%d", a->base);
		break;
	case SCH_AX_OUTER:
		lw_ax_str(x, a->a, l, sizeof(l));
		snprintf(buf, size, "floor((%s)/%" PRId64 ")", l, a->factor);
		break;
	case SCH_AX_INNER:
		lw_ax_str(x, a->a, l, sizeof(l));
		snprintf(buf, size, "((%s) mod %" PRId64 ")", l, a->factor);
		break;
	case SCH_AX_FUSED:
		lw_ax_str(x, a->a, l, sizeof(l));
		lw_ax_str(x, a->b, r, sizeof(r));
		snprintf(buf, size, "((%s)*%" PRId64 " + (%s))", l, x->loops.ax[a->b].extent, r);
		break;
	}
}

/* "S[t0, .., b0, ..]" for statement st into buf. */
static void stmt_tuple(const lw *L, int st, char *buf, size_t size)
{
	const lw_stmt *s = &L->stmt[st];
	int nctx = L->st[s->stage].nctx, n = 0;

	n += snprintf(buf + n, size - n, "%s[", s->name);
	for (int i = 0; i < s->ndims; i++)
		n += snprintf(buf + n, size - n, i < nctx ? "%st%d" : "%sb%d", i ? ", " : "",
			      i < nctx ? i : i - nctx);
	snprintf(buf + n, size - n, "]");
}

__isl_give isl_map *lw_ctx_map(lw *L, int st, int p)
{
	const lw_stage *x = &L->st[L->stmt[st].stage];
	char *text = malloc(65536), tuple[1024], ax[4096];
	int n;
	isl_map *m;

	if (!text)
		return NULL;
	stmt_tuple(L, st, tuple, sizeof(tuple));
	n = snprintf(text, 65536, "{ %s -> [", tuple);
	for (int i = 0; i < x->nctx; i++)
		n += snprintf(text + n, 65536 - n, "%st%d", i ? ", " : "", i);
	for (int q = 0; q <= p; q++) {
		lw_ax_str(x, x->loops.loop[q], ax, sizeof(ax));
		n += snprintf(text + n, 65536 - n, "%s%s", x->nctx + q ? ", " : "", ax);
	}
	snprintf(text + n, 65536 - n, "] }");
	m = isl_map_read_from_str(L->ctx, text);
	free(text);
	if (m)
		m = isl_map_intersect_domain(m, isl_set_copy(L->stmt[st].domain));
	return m;
}

/* Lift a map from te stage space s[axes] to statement st's space. */
static __isl_give isl_map *lift(lw *L, int st, __isl_take isl_map *m)
{
	int nctx = L->st[L->stmt[st].stage].nctx;

	m = isl_map_insert_dims(m, isl_dim_in, 0, nctx);
	return isl_map_set_tuple_name(m, isl_dim_in, L->stmt[st].name);
}

typedef struct reads_acc {
	lw *L;
	int t;
	isl_map *out; /* te space of the reader -> T */
} reads_acc;

/*
 * Collect into acc->out the accesses to acc->t of expression e of stage s,
 * under `guard` (a set in s's space, taken), composed with `to` (reader
 * space -> s space, taken; NULL = identity).
 */
static void collect(reads_acc *acc, const te_stage *s, const te_expr *e,
		    __isl_take isl_set *guard, __isl_take isl_map *to)
{
	lw *L = acc->L;

	if (e->op == TE_LOAD) {
		isl_map *a = te_isl_access(L->ctx, L->g, s, e);

		if (a) {
			a = isl_map_intersect_domain(a, isl_set_copy(guard));
			a = to ? isl_map_apply_range(isl_map_copy(to), a) : a;
			if (e->index == acc->t)
				acc->out = acc->out ? isl_map_union(acc->out, isl_map_copy(a)) : isl_map_copy(a);
			if (L->inlined[e->index]) {
				const te_stage *q = te_graph_stage(L->g, e->index);

				collect(acc, q, q->body, te_isl_domain(L->ctx, q), isl_map_copy(a));
			}
			isl_map_free(a);
		}
	} else if (e->op == TE_SELECT) {
		isl_set *yes = te_isl_cond(L->ctx, s, e->args[0], false);
		isl_set *no = te_isl_cond(L->ctx, s, e->args[0], true);

		collect(acc, s, e->args[0], isl_set_copy(guard), to ? isl_map_copy(to) : NULL);
		collect(acc, s, e->args[1],
			yes ? isl_set_intersect(isl_set_copy(guard), yes) : isl_set_copy(guard),
			to ? isl_map_copy(to) : NULL);
		collect(acc, s, e->args[2],
			no ? isl_set_intersect(isl_set_copy(guard), no) : isl_set_copy(guard),
			to ? isl_map_copy(to) : NULL);
	} else {
		for (int i = 0; i < e->nargs; i++)
			collect(acc, s, e->args[i], isl_set_copy(guard), to ? isl_map_copy(to) : NULL);
	}
	isl_set_free(guard);
	isl_map_free(to);
}

__isl_give isl_map *lw_reads(lw *L, int st, int t)
{
	const lw_stmt *s = &L->stmt[st];
	const te_stage *x = L->st[s->stage].te;
	reads_acc acc = {L, t, NULL};
	isl_map *m;

	if (L->st[s->stage].kind == LW_COMPUTE && (s->kind == LW_S_COMPUTE || s->kind == LW_S_UPDATE))
		collect(&acc, x, x->body, te_isl_domain(L->ctx, x), NULL);
	if (!acc.out) {
		isl_space *sp = isl_space_alloc(L->ctx, 0, s->ndims, te_graph_stage(L->g, t)->rank);

		sp = isl_space_set_tuple_name(sp, isl_dim_in, s->name);
		sp = isl_space_set_tuple_name(sp, isl_dim_out, te_graph_stage(L->g, t)->name);
		return isl_map_empty(sp);
	}
	m = lift(L, st, acc.out);
	return isl_map_intersect_domain(m, isl_set_copy(s->domain));
}

int lw_redirect(const lw *L, int x, int t)
{
	for (int i = 0; i < L->nstages; i++) {
		const lw_stage *c = &L->st[i];

		if (c->kind == LW_CACHE_READ && c->consumer == x && c->te->id == t)
			return i;
	}
	if (L->te_lw[t] >= 0 && L->st[L->te_lw[t]].local && L->st[L->te_lw[t]].parent == x)
		return L->te_lw[t];
	return -1;
}

int lw_store_target(const lw *L, int x)
{
	for (int i = 0; i < L->nstages; i++)
		if (L->st[i].kind == LW_CACHE_WRITE && L->st[i].parent == x)
			return i;
	return x;
}

/* ---- step 4: statements and domains ---- */

static int add_stmt(lw *L, int x, lw_stmt_kind kind, __isl_take isl_set *dom)
{
	lw_stmt *s;

	if (!dom)
		return lw_fail(L, 0, 0, "%s: isl failed building its domain", L->st[x].name);
	if (L->nstmts == LW_MAX_STMTS) {
		isl_set_free(dom);
		return lw_fail(L, 0, 0, "too many statements");
	}
	s = &L->stmt[L->nstmts];
	snprintf(s->name, sizeof(s->name), "S%d", L->nstmts);
	s->kind = kind;
	s->stage = x;
	s->ndims = isl_set_dim(dom, isl_dim_set);
	s->domain = isl_set_set_tuple_name(dom, s->name);
	L->st[x].stmt[L->st[x].nstmt++] = L->nstmts;
	return L->nstmts++;
}

/*
 * The footprint of reader stage c's tile at its loop p on tensor t:
 * { [ctx_c.., leaf_0 .. leaf_p] -> T[x] } over c's statements that read.
 */
static __isl_give isl_map *footprint(lw *L, int c, int p, int t)
{
	isl_map *r = NULL;

	for (int i = 0; i < L->st[c].nstmt; i++) {
		int st = L->st[c].stmt[i];
		isl_map *a, *m;

		if (L->stmt[st].kind != LW_S_COMPUTE && L->stmt[st].kind != LW_S_UPDATE)
			continue;
		a = lw_reads(L, st, t);
		m = isl_map_apply_range(isl_map_reverse(lw_ctx_map(L, st, p)), a);
		r = r ? isl_map_union(r, m) : m;
	}
	return r;
}

/* The write footprint of stage c's statements at its loop p: { [ctx..] -> C[x] }. */
static __isl_give isl_map *write_footprint(lw *L, int c, int p)
{
	const te_stage *t = L->st[c].te;
	isl_map *r = NULL;

	for (int i = 0; i < L->st[c].nstmt; i++) {
		int st = L->st[c].stmt[i], nctx = L->st[c].nctx;
		isl_map *m, *w;

		if (L->stmt[st].kind == LW_S_INIT)
			continue;
		w = isl_map_from_domain(isl_set_copy(L->stmt[st].domain));
		w = isl_map_add_dims(w, isl_dim_out, t->rank);
		for (int k = 0; k < t->rank; k++)
			w = isl_map_equate(w, isl_dim_in, nctx + k, isl_dim_out, k);
		w = isl_map_set_tuple_name(w, isl_dim_out, t->name);
		m = isl_map_apply_range(isl_map_reverse(lw_ctx_map(L, st, p)), w);
		r = r ? isl_map_union(r, m) : m;
	}
	return r;
}

/* Set the buffer box of local stage x from footprint `fp` (kept): a fixed
 * box when isl finds one, else the whole tensor. */
static int set_box(lw *L, int x, __isl_keep isl_map *fp)
{
	lw_stage *s = &L->st[x];
	isl_fixed_box *box = isl_map_get_range_simple_fixed_box_hull(fp);
	isl_bool valid = isl_fixed_box_is_valid(box);

	s->local = true;
	if (valid == isl_bool_true) {
		isl_multi_val *mv = isl_fixed_box_get_size(box);

		s->off_ma = isl_fixed_box_get_offset(box);
		for (int k = 0; k < s->rank; k++) {
			isl_val *v = isl_multi_val_get_val(mv, k);

			s->size[k] = isl_val_get_num_si(v);
			isl_val_free(v);
		}
		isl_multi_val_free(mv);
	} else {
		for (int k = 0; k < s->rank; k++)
			s->size[k] = s->te->shape[k];
	}
	isl_fixed_box_free(box);
	return valid < 0 ? lw_fail(L, 0, 0, "%s: isl failed bounding its footprint", s->name) : 0;
}

/* { [ctx..] -> T[x] } into { S[ctx.., d..] } with d = x - off(ctx). */
static __isl_give isl_set *relative_domain(lw *L, int x, __isl_take isl_map *fp)
{
	lw_stage *s = &L->st[x];

	fp = isl_map_intersect_range(fp, te_isl_box(L->ctx, s->te));
	if (s->off_ma) {
		isl_map *off = isl_map_from_multi_aff(isl_multi_aff_copy(s->off_ma));

		off = isl_map_set_tuple_name(off, isl_dim_out, s->te->name);
		fp = isl_map_reset_tuple_id(fp, isl_dim_in);
		off = isl_map_reset_tuple_id(off, isl_dim_in);
		fp = isl_map_sum(fp, isl_map_neg(off));
	}
	return isl_set_flatten(isl_map_wrap(fp));
}

static __isl_give isl_set *box_set(lw *L, int rank, const int64_t *ext)
{
	isl_set *s = isl_set_universe(isl_space_set_alloc(L->ctx, 0, rank));

	for (int k = 0; k < rank; k++) {
		s = isl_set_lower_bound_si(s, isl_dim_set, k, 0);
		s = isl_set_upper_bound_si(s, isl_dim_set, k, ext[k] - 1);
	}
	return s;
}

/* Statements of compute stage x. */
static int compute_domains(lw *L, int x)
{
	lw_stage *s = &L->st[x];
	const te_stage *t = s->te;
	isl_set *sp;

	if (s->parent < 0) {
		sp = box_set(L, t->rank, t->shape);
	} else {
		isl_map *fp = footprint(L, s->parent, s->parent_pos, t->id);

		if (!fp || set_box(L, x, fp)) {
			isl_map_free(fp);
			return -1;
		}
		fp = isl_map_intersect_range(fp, te_isl_box(L->ctx, t));
		fp = isl_map_reset_tuple_id(fp, isl_dim_in);
		sp = isl_set_flatten(isl_map_wrap(fp));
	}
	if (t->reduce == TE_RED_NONE)
		return add_stmt(L, x, LW_S_COMPUTE, sp) < 0 ? -1 : 0;
	if (add_stmt(L, x, LW_S_INIT, isl_set_copy(sp)) < 0) {
		isl_set_free(sp);
		return -1;
	}
	sp = isl_set_flat_product(sp, box_set(L, t->nreduce, s->base_ext + t->rank));
	return add_stmt(L, x, LW_S_UPDATE, sp) < 0 ? -1 : 0;
}

/* The statement of cache stage x, and its loops. */
static int cache_domain(lw *L, int x)
{
	lw_stage *s = &L->st[x];
	isl_map *fp = s->kind == LW_CACHE_READ
			      ? footprint(L, s->consumer, s->parent_pos, s->te->id)
			      : write_footprint(L, s->parent, s->parent_pos);

	if (!fp || set_box(L, x, fp)) {
		isl_map_free(fp);
		return -1;
	}
	s->nbase = s->rank;
	for (int k = 0; k < s->rank; k++)
		s->base_ext[k] = s->size[k];
	if (add_stmt(L, x, s->kind == LW_CACHE_READ ? LW_S_COPY_IN : LW_S_COPY_OUT,
		     relative_domain(L, x, fp)) < 0)
		return -1;
	return resolve_loops(L, x);
}

/* Offsets as AST expressions over params t0..: for lw_ast. */
static int offset_exprs(lw *L, int x)
{
	lw_stage *s = &L->st[x];

	if (!s->off_ma)
		return 0;
	for (int k = 0; k < s->rank; k++) {
		isl_aff *a = isl_multi_aff_get_aff(s->off_ma, k);
		isl_ast_build *b;
		isl_pw_aff *pa;

		for (int i = 0; i < s->nctx; i++) {
			char nm[16];

			snprintf(nm, sizeof(nm), "t%d", i);
			a = isl_aff_set_dim_name(a, isl_dim_in, i, nm);
		}
		pa = isl_pw_aff_from_aff(a);
		pa = isl_pw_aff_move_dims(pa, isl_dim_param, 0, isl_dim_in, 0, s->nctx);
		pa = isl_pw_aff_project_domain_on_params(pa);
		b = isl_ast_build_from_context(isl_set_universe(isl_pw_aff_get_domain_space(pa)));
		s->off[k] = isl_ast_build_expr_from_pw_aff(b, pa);
		isl_ast_build_free(b);
		if (!s->off[k])
			return lw_fail(L, 0, 0, "%s: isl failed building its buffer offset", s->name);
	}
	return 0;
}

/* Process stages parents first. */
static int build_domains(lw *L)
{
	bool done[LW_MAX_STAGES] = {false};

	for (int round = 0; round <= L->nstages; round++) {
		for (int x = 0; x < L->nstages; x++) {
			int p = L->st[x].parent;

			if (done[x] || (p >= 0 && !done[p]))
				continue;
			if (L->st[x].kind == LW_CACHE_READ && !done[L->st[x].consumer])
				continue;
			if (L->st[x].kind == LW_COMPUTE ? compute_domains(L, x) : cache_domain(L, x))
				return -1;
			if (L->st[x].kind != LW_COMPUTE && classify_leaves(L, x))
				return -1;
			if (offset_exprs(L, x))
				return -1;
			done[x] = true;
		}
	}
	for (int x = 0; x < L->nstages; x++)
		if (check_unroll(L, x))
			return -1;
	return 0;
}

/* ---- buffers ---- */

static lir_type lir_of(te_dtype t)
{
	return t == TE_F32 ? LIR_F32 : t == TE_F64 ? LIR_F64 : t == TE_I32 ? LIR_I32 : LIR_BOOL;
}

static int make_buffers(lw *L)
{
	int n = te_graph_nstages(L->g);

	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < n; i++) {
			const te_stage *t = te_graph_stage(L->g, i);

			if ((pass == 0) != (t->kind == TE_STAGE_INPUT) || (pass == 1 && !t->is_output))
				continue;
			L->te_buf[i] = lir_add_buffer(L->f, t->name, lir_of(t->type), te_stage_numel(t), LIR_GLOBAL);
		}
	for (int i = 0; i < n; i++) {
		const te_stage *t = te_graph_stage(L->g, i);
		int x = L->te_lw[i];

		if (t->kind == TE_STAGE_INPUT || t->is_output || L->inlined[i] || (x >= 0 && L->st[x].local))
			continue;
		L->te_buf[i] = lir_add_buffer(L->f, t->name, lir_of(t->type), te_stage_numel(t), LIR_HEAP);
		L->heap[L->nheap++] = L->te_buf[i];
	}
	for (int x = 0; x < L->nstages; x++) {
		lw_stage *s = &L->st[x];
		int64_t n = 1, ext[LW_MAX_BUF_DIMS];
		int nd;

		if (!s->local) {
			s->buf = L->te_buf[s->te->id];
			continue;
		}
		nd = lw_buf_dims(s, ext);
		for (int k = 0; k < nd; k++)
			n *= ext[k];
		if (s->kind == LW_COMPUTE || s->scope == LIR_STACK)
			s->scope = n * (int64_t)te_dtype_size(s->te->type) > (256 << 10) ? LIR_HEAP : LIR_STACK;
		s->buf = lir_add_buffer(L->f, s->name, lir_of(s->te->type), n, s->scope);
	}
	for (int i = 0; i < lir_func_nbuffers(L->f); i++)
		if (!lir_func_buffer(L->f, i))
			return lw_fail(L, 0, 0, "out of memory");
	return 0;
}

/* Why stage `name` has no on-chip buffer to partition, or NULL. */
static const char *no_partition(const lw *L, const char *name, int *x)
{
	const te_stage *t = te_graph_find(L->g, name);

	*x = lw_find(L, name);
	if (*x < 0 && t && t->kind == TE_STAGE_INPUT)
		return "is an input, in off-chip memory; partition a cache_read copy of it";
	if (*x < 0 && t && L->inlined[t->id])
		return "is inlined: it has no buffer";
	if (*x < 0)
		return "is no stage";
	if (L->st[*x].buf < 0)
		return "has no buffer";
	if (lir_func_buffer(L->f, L->st[*x].buf)->scope == LIR_GLOBAL)
		return "is an output, in off-chip memory; partition its cache_write copy";
	return NULL;
}

/* partition S cyclic|block F | complete: annotate S's buffer, once. */
static int apply_partitions(lw *L)
{
	int first[LW_MAX_STAGES] = {0};

	for (int i = 0; i < L->s->nsteps; i++) {
		const sch_step *st = &L->s->steps[i];
		lir_partition k = st->part == SCH_PART_CYCLIC  ? LIR_PART_CYCLIC
				  : st->part == SCH_PART_BLOCK ? LIR_PART_BLOCK
							       : LIR_PART_COMPLETE;
		const char *why;
		int x;

		if (st->kind != SCH_PARTITION)
			continue;
		if ((why = no_partition(L, st->stage, &x)))
			return lw_fail(L, st->line, st->stage_col, "partition %s: '%s' %s", st->stage,
				       st->stage, why);
		if (first[x] > 0)
			return lw_fail(L, st->line, st->col, "partition %s: already partitioned at line %d",
				       st->stage, first[x]);
		if (first[x] < 0)
			return lw_fail(L, st->line, st->col, "partition %s: already partitioned", st->stage);
		first[x] = st->line > 0 ? st->line : -1;
		if (lir_set_partition(L->f, L->st[x].buf, k, st->factor))
			return lw_fail(L, st->line, st->opt_col, "partition %s: bad factor %lld", st->stage,
				       (long long)st->factor);
	}
	return 0;
}

/* ---- the pipeline ---- */

static int setup_stages(lw *L)
{
	int n = te_graph_nstages(L->g);

	if (n > 256)
		return lw_fail(L, 0, 0, "too many stages (at most 256)");
	for (int i = 0; i < n; i++) {
		L->te_lw[i] = -1;
		L->te_buf[i] = -1;
	}
	if (collect_inline(L))
		return -1;
	for (int i = 0; i < n; i++) {
		const te_stage *t = te_graph_stage(L->g, i);
		int x;

		if (t->kind != TE_STAGE_COMPUTE || L->inlined[i])
			continue;
		if ((x = add_stage(L, LW_COMPUTE, t->name, t)) < 0)
			return -1;
		L->te_lw[i] = x;
		L->st[x].nbase = t->rank + t->nreduce;
		L->st[x].rank = t->rank;
		for (int k = 0; k < L->st[x].nbase; k++)
			L->st[x].base_ext[k] = t->axes[k].extent;
	}
	if (add_cache_stages(L) || check_step_stages(L))
		return -1;
	for (int x = 0; x < L->nstages; x++)
		if (L->st[x].kind == LW_COMPUTE && (resolve_loops(L, x) || classify_leaves(L, x)))
			return -1;
	for (int x = 0; x < L->nstages; x++)
		if (L->st[x].kind == LW_COMPUTE ? attach_compute(L, x) : attach_cache(L, x))
			return -1;
	return attach_depths(L);
}

static void lw_release(lw *L)
{
	watch_stop(L);
	if (L->ctx) {
		isl_ctx_reset_error(L->ctx);
		isl_ctx_reset_operations(L->ctx);
		isl_ctx_set_max_operations(L->ctx, L->saved_max_ops);
		isl_options_set_on_error(L->ctx, L->saved_on_error);
	}
	for (int i = 0; i < L->nstmts; i++) {
		isl_set_free(L->stmt[i].domain);
		isl_set_free(L->stmt[i].leaf_domain);
	}
	for (int x = 0; x < L->nstages; x++) {
		for (int k = 0; k < TE_MAX_RANK; k++)
			isl_ast_expr_free(L->st[x].off[k]);
		isl_multi_aff_free(L->st[x].off_ma);
	}
	isl_schedule_free(L->sched);
	isl_schedule_free(L->ast_sched);
	isl_union_map_free(L->deps);
}

/* Did phase L->phase end within its budget, with no error inside isl?
 * 0, else -1 with the error.  isl recovers from some failures (an
 * allocation, the budget) and goes on with a different result: any error
 * it recorded in the phase fails the lowering. */
static int phase_done(lw *L)
{
	if (lw_over_budget(L))
		return lw_fail(L, 0, 0, "isl stopped");
	if (isl_ctx_last_error(L->ctx) != isl_error_none)
		return lw_fail(L, 0, 0, "isl failed in the %s: %s", L->phase,
			       isl_ctx_last_error_msg(L->ctx) ? isl_ctx_last_error_msg(L->ctx) : "unknown error");
	return 0;
}

/* The pipeline, each phase under its own isl budget: *body on success. */
static int run_phases(lw *L, lir_stmt **body)
{
	double t[5];

	t[0] = rt_now();
	lw_phase(L, "bound inference");
	if (setup_stages(L) || build_domains(L) || make_buffers(L) || apply_partitions(L) || phase_done(L))
		return -1;
	t[1] = rt_now();
	lw_phase(L, "schedule tree");
	if (lw_build_tree(L) || phase_done(L))
		return -1;
	t[2] = rt_now();
	lw_phase(L, "dependence check");
	if (lw_check(L) || phase_done(L))
		return -1;
	t[3] = rt_now();
	lw_phase(L, "loop generation");
	if (!(*body = lw_generate(L)) || phase_done(L))
		return -1;
	t[4] = rt_now();
	if (getenv("FTC_DEBUG_TIME"))
		fprintf(stderr, "lower: domains %.3f s, tree %.3f s, check %.3f s, ast %.3f s\n",
			t[1] - t[0], t[2] - t[1], t[3] - t[2], t[4] - t[3]);
	return 0;
}

lir_func *lir_lower(const te_graph *g, const sch_schedule *s, isl_ctx *ctx,
		    const char *name, rt_error *err)
{
	return lir_lower_flags(g, s, ctx, name, 0, err);
}

static lir_func *lower_graph(const te_graph *g, const sch_schedule *s, isl_ctx *ctx,
			     const char *name, unsigned flags, double max_seconds, rt_error *err);

/* rfactor steps rewrite the graph and the schedule first (sched_rfactor.h). */
lir_func *lir_lower_flags(const te_graph *g, const sch_schedule *s, isl_ctx *ctx,
			  const char *name, unsigned flags, rt_error *err)
{
	return lir_lower_limited(g, s, ctx, name, flags, LIR_MAX_PHASE_SECONDS, err);
}

lir_func *lir_lower_limited(const te_graph *g, const sch_schedule *s, isl_ctx *ctx,
			    const char *name, unsigned flags, double max_seconds, rt_error *err)
{
	te_graph *rg;
	sch_schedule *rs;
	lir_func *f;

	if (sch_rfactor_apply(g, s, &rg, &rs, err))
		return NULL;
	f = lower_graph(rg ? rg : g, rg ? rs : s, ctx, name, flags, max_seconds, err);
	te_graph_free(rg);
	sch_free(rs);
	return f;
}

static lir_func *lower_graph(const te_graph *g, const sch_schedule *s, isl_ctx *ctx,
			     const char *name, unsigned flags, double max_seconds, rt_error *err)
{
	lw *L = calloc(1, sizeof(*L));
	sch_schedule *naive = NULL;
	lir_stmt *body = NULL;

	if (!L) {
		rt_error_set(err, 0, 0, "out of memory");
		return NULL;
	}
	if (!s)
		s = naive = sch_new();
	L->ctx = ctx;
	L->flags = flags;
	L->g = g;
	L->s = s;
	L->err = err;
	L->saved_max_ops = isl_ctx_get_max_operations(ctx);
	L->max_ops = L->saved_max_ops && L->saved_max_ops < LIR_MAX_ISL_OPS ? L->saved_max_ops : LIR_MAX_ISL_OPS;
	/* isl errors, the budget's included, are returned values here: never
	 * an abort or a warning on stderr, whatever the caller chose. */
	L->saved_on_error = isl_options_get_on_error(ctx);
	isl_options_set_on_error(ctx, ISL_ON_ERROR_CONTINUE);
	isl_ctx_reset_error(ctx);
	L->f = lir_func_new(name);
	if (!s || !L->f) {
		lw_fail(L, 0, 0, "out of memory");
		goto fail;
	}
	if (watch_start(L, max_seconds > 0 && max_seconds < LIR_MAX_PHASE_SECONDS ? max_seconds
										: LIR_MAX_PHASE_SECONDS) ||
	    run_phases(L, &body))
		goto fail;
	lir_func *f = L->f;

	lir_func_set_body(f, body);
	lw_release(L);
	sch_free(naive);
	free(L);
	return f;
fail:
	lw_release(L);
	lir_func_free(L->f);
	sch_free(naive);
	free(L);
	return NULL;
}
