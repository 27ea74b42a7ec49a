/*
 * lower_check: legality of a lowered schedule, by dependence analysis.
 *
 * Accesses are maps from statement instances to buffer elements.  A local
 * buffer (one tile per iteration of the loop it is allocated in) is named
 * with the values of the enclosing loops first, so that copies made in
 * different iterations are different elements.  A parallel, vectorized or
 * GPU-bound loop must carry no dependence: no two instances in different
 * iterations of it (and the same iterations of the loops outside it) may
 * touch one element when one of them writes.  Finally isl's dataflow
 * analysis checks the whole schedule: every read of a computed value has a
 * write before it.
 */
#include "lower_priv.h"
#include "rt_buf.h"
#include "rt_time.h"

#include <isl/flow.h>
#include <isl/id.h>
#include <isl/schedule_node.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LW_MAX_BUFS 256

typedef struct acc {
	isl_union_map *w[LW_MAX_BUFS]; /* per buffer: statement -> element */
	isl_union_map *r[LW_MAX_BUFS];
	isl_union_map *dep[LW_MAX_BUFS]; /* per buffer: dependences, once computed */
	isl_union_map *all;              /* all dependences */
	isl_union_map *sink;             /* reads checked by the dataflow analysis */
	int nbuf;
	/* Per statement: the buffers it writes, and those the dataflow check
	 * must find a write of for its reads (bit b of word b / 64). */
	uint64_t wrote[LW_MAX_STMTS][LW_MAX_BUFS / 64];
	uint64_t sinks[LW_MAX_STMTS][LW_MAX_BUFS / 64];
} acc;

static void acc_add(lw *L, isl_union_map **slot, int buf, __isl_take isl_map *m);

/* Note in bits[statement of m] that it touches buffer b (m kept). */
static void note_buf(uint64_t bits[][LW_MAX_BUFS / 64], __isl_keep isl_map *m, int b)
{
	const char *nm = m ? isl_map_get_tuple_name(m, isl_dim_in) : NULL;
	int st = nm && nm[0] == 'S' ? atoi(nm + 1) : -1;

	if (st >= 0 && st < LW_MAX_STMTS && b >= 0 && b < LW_MAX_BUFS)
		bits[st][b / 64] |= (uint64_t)1 << (b % 64);
}

/* A write of buffer `buf` by a statement (m: statement -> element, taken). */
static void write_add(lw *L, acc *A, int buf, __isl_take isl_map *m)
{
	note_buf(A->wrote, m, buf);
	acc_add(L, &A->w[buf], buf, m);
}

/* A read the dataflow check must find a write for (all reads but a
 * reduction's read of its own accumulator, ordered by construction). */
static void sink_add(lw *L, acc *A, int buf, __isl_take isl_map *m)
{
	const lir_buffer *b = lir_func_buffer(L->f, buf);

	if (b->scope == LIR_GLOBAL && !lw_is_output_buffer(L, buf)) {
		isl_map_free(m);
		return;
	}
	note_buf(A->sinks, m, buf);
	acc_add(L, &A->sink, buf, m);
}

static void acc_add(lw *L, isl_union_map **slot, int buf, __isl_take isl_map *m)
{
	char nm[16];

	snprintf(nm, sizeof(nm), "B%d", buf);
	m = isl_map_set_tuple_name(m, isl_dim_out, nm);
	if (!m) {
		lw_fail(L, 0, 0, "isl failed building an access relation");
		return;
	}
	*slot = *slot ? isl_union_map_add_map(*slot, m) : isl_union_map_from_map(m);
}

/* { S[t.., b..] -> [t0.., <leaves 0..p of the statement's stage>, b0..b(n-1)] }
 * where p = -2 means "no context at all" and p = -1 "the stage's own context". */
static __isl_give isl_map *elem_map(lw *L, int st, int p, int n)
{
	isl_map *c, *own;

	own = isl_map_from_domain(isl_set_copy(L->stmt[st].domain));
	own = isl_map_add_dims(own, isl_dim_out, n);
	for (int k = 0; k < n; k++)
		own = isl_map_equate(own, isl_dim_in, L->st[L->stmt[st].stage].nctx + k, isl_dim_out, k);
	if (p == -2)
		return own;
	c = lw_ctx_map(L, st, p);
	return isl_map_flatten_range(isl_map_range_product(c, own));
}

/* { S[t.., d..] -> [d + off(t)] } for a cache statement (absolute coordinates). */
static __isl_give isl_map *abs_map(lw *L, int st)
{
	const lw_stage *x = &L->st[L->stmt[st].stage];
	isl_map *m = elem_map(L, st, -2, x->rank), *o;

	if (!x->off_ma)
		return m;
	o = isl_map_from_domain(isl_set_copy(L->stmt[st].domain));
	o = isl_map_add_dims(o, isl_dim_out, x->nctx);
	for (int k = 0; k < x->nctx; k++)
		o = isl_map_equate(o, isl_dim_in, k, isl_dim_out, k);
	o = isl_map_apply_range(o, isl_map_reset_tuple_id(isl_map_from_multi_aff(isl_multi_aff_copy(x->off_ma)),
							   isl_dim_in));
	o = isl_map_reset_tuple_id(o, isl_dim_out);
	return isl_map_sum(m, o);
}

/* Prefix [t0 .. t(n-1)] of a statement's context, then its absolute cache coordinates. */
static __isl_give isl_map *with_ctx(lw *L, int st, int n, __isl_take isl_map *m)
{
	isl_map *c = isl_map_from_domain(isl_set_copy(L->stmt[st].domain));

	c = isl_map_add_dims(c, isl_dim_out, n);
	for (int k = 0; k < n; k++)
		c = isl_map_equate(c, isl_dim_in, k, isl_dim_out, k);
	return isl_map_flatten_range(isl_map_range_product(c, m));
}

static void compute_accesses(lw *L, acc *A, int st)
{
	const lw_stmt *s = &L->stmt[st];
	const lw_stage *x = &L->st[s->stage];
	int w = lw_store_target(L, s->stage);
	isl_map *m;

	if (w == s->stage)
		m = elem_map(L, st, x->local ? -1 : -2, x->rank);
	else
		m = elem_map(L, st, L->st[w].parent_pos, x->rank);
	write_add(L, A, L->st[w].buf, isl_map_copy(m));
	if (s->kind == LW_S_UPDATE)
		acc_add(L, &A->r[L->st[w].buf], L->st[w].buf, isl_map_copy(m));
	isl_map_free(m);
	if (s->kind == LW_S_INIT)
		return;
	for (int t = 0; t < te_graph_nstages(L->g); t++) {
		int r = lw_redirect(L, s->stage, t), b;

		if (L->inlined[t])
			continue;
		b = r >= 0 ? L->st[r].buf : L->te_buf[t];
		if (b < 0)
			continue;
		m = lw_reads(L, st, t);
		if (isl_map_is_empty(m) == isl_bool_true) {
			isl_map_free(m);
			continue;
		}
		if (r >= 0)
			m = isl_map_flatten_range(isl_map_range_product(lw_ctx_map(L, st, L->st[r].parent_pos),
									 isl_map_reset_tuple_id(m, isl_dim_out)));
		sink_add(L, A, b, isl_map_copy(m));
		acc_add(L, &A->r[b], b, m);
	}
}

static void cache_accesses(lw *L, acc *A, int st)
{
	const lw_stmt *s = &L->stmt[st];
	const lw_stage *x = &L->st[s->stage];
	isl_map *local = with_ctx(L, st, x->nctx, abs_map(L, st));
	isl_map *global = abs_map(L, st);
	int other = x->kind == LW_CACHE_READ ? L->te_buf[x->te->id] : L->st[x->parent].buf;

	if (x->kind == LW_CACHE_WRITE && L->st[x->parent].local)
		global = with_ctx(L, st, L->st[x->parent].nctx, global);
	if (x->kind == LW_CACHE_READ) {
		write_add(L, A, x->buf, local);
		sink_add(L, A, other, isl_map_copy(global));
		acc_add(L, &A->r[other], other, global);
	} else {
		sink_add(L, A, x->buf, isl_map_copy(local));
		acc_add(L, &A->r[x->buf], x->buf, local);
		write_add(L, A, other, global);
	}
}

/* Is lir buffer b an output of the graph (written by the kernel)? */
bool lw_is_output_buffer(const lw *L, int b)
{
	for (int i = 0; i < te_graph_nstages(L->g); i++)
		if (L->te_buf[i] == b)
			return te_graph_stage(L->g, i)->kind == TE_STAGE_COMPUTE;
	return false;
}

static __isl_give isl_union_map *unite(acc *A, bool writes, bool skip_inputs, lw *L)
{
	isl_union_map *u = isl_union_map_empty(isl_space_params_alloc(L->ctx, 0));

	for (int b = 0; b < A->nbuf; b++) {
		isl_union_map *m = writes ? A->w[b] : A->r[b];
		const lir_buffer *buf = lir_func_buffer(L->f, b);

		if (!m)
			continue;
		if (skip_inputs && buf->scope == LIR_GLOBAL && !A->w[b])
			continue;
		u = isl_union_map_union(u, isl_union_map_copy(m));
	}
	return u;
}

/* Dependences through buffer b: pairs of instances touching one element, one writing. */
static __isl_give isl_union_map *deps_of(lw *L, acc *A, int b)
{
	isl_union_map *d = isl_union_map_empty(isl_space_params_alloc(L->ctx, 0));

	if (!A->w[b])
		return d;
	d = isl_union_map_union(d, isl_union_map_apply_range(isl_union_map_copy(A->w[b]),
							     isl_union_map_reverse(isl_union_map_copy(A->w[b]))));
	if (A->r[b])
		d = isl_union_map_union(d, isl_union_map_apply_range(isl_union_map_copy(A->w[b]),
								     isl_union_map_reverse(isl_union_map_copy(A->r[b]))));
	return d;
}

/* The text of { [x0..x(n-1)] : x_i = 0 (i < n - 1), x(n-1) != 0 } (n >= 1,
 * given; malloc'd), or NULL out of memory. */
static char *zero_but_last_text(int n)
{
	rt_buf b = {0};

	rt_buf_str(&b, "{ [");
	for (int i = 0; i < n; i++)
		rt_buf_printf(&b, "%sx%d", i ? ", " : "", i);
	rt_buf_str(&b, "] : ");
	for (int i = 0; i + 1 < n; i++)
		rt_buf_printf(&b, "x%d = 0 and ", i);
	rt_buf_printf(&b, "(x%d < 0 or x%d > 0) }", n - 1, n - 1);
	return rt_buf_take(&b);
}

/*
 * Does the band below which `node` sits carry a dependence of `deps`
 * (taken): a pair of instances under `node` at equal values of the outer
 * band members and different values of the band's own?  Asked of the
 * differences of the prefix schedule applied to the pairs
 * (isl_union_map_deltas).  Its projections run outside isl's operation
 * count (the phase's CPU-time limit bounds them); two other ways were
 * measured and are slower where it matters: pulling the prefix schedule
 * back onto the pairs (isl's eq_at / lex_lt_at) multiplies the pieces of
 * fused loops (conv3d's GPU default point: over 40,000,000 isl
 * operations, against 450,000), and one emptiness test of the pairs
 * beside both prefix schedules (isl_union_map_product) needs no
 * projection but took over 20 s of CPU on random conv3d GPU points.
 */
static isl_bool carries(lw *L, __isl_keep isl_schedule_node *node, __isl_take isl_union_map *deps)
{
	isl_union_map *p = isl_schedule_node_get_prefix_schedule_relation(node);
	isl_union_set *dom = isl_schedule_node_get_domain(node);
	int n = isl_schedule_node_get_schedule_depth(node);
	char *text = n >= 1 ? zero_but_last_text(n) : NULL;
	isl_union_set *delta;
	isl_bool empty;

	if (!text) {
		lw_fail(L, 0, 0, n < 1 ? "a checked loop has no band above it" : "out of memory");
		isl_union_map_free(p);
		isl_union_set_free(dom);
		isl_union_map_free(deps);
		return isl_bool_error;
	}
	deps = isl_union_map_intersect_domain(deps, isl_union_set_copy(dom));
	deps = isl_union_map_intersect_range(deps, dom);
	deps = isl_union_map_apply_range(deps, isl_union_map_copy(p));
	deps = isl_union_map_apply_domain(deps, p);
	delta = isl_union_map_deltas(deps);
	delta = isl_union_set_intersect(delta, isl_union_set_from_set(isl_set_read_from_str(L->ctx, text)));
	free(text);
	empty = isl_union_set_is_empty(delta);
	isl_union_set_free(delta);
	return empty < 0 ? isl_bool_error : !empty;
}

typedef struct walk {
	lw *L;
	acc *A;
} walk;

static bool must_be_parallel(sch_loop_kind k)
{
	return k == SCH_LOOP_PARALLEL || k == SCH_LOOP_VECTORIZE || k >= SCH_LOOP_BLOCK_X;
}

/* For each mark of a parallel kind, check its band. */
static isl_bool check_node(__isl_keep isl_schedule_node *node, void *user)
{
	walk *w = user;
	lw *L = w->L;
	isl_schedule_node *below;
	lw_mark *m;
	isl_id *id;
	isl_bool c = isl_bool_false;

	if (isl_schedule_node_get_type(node) != isl_schedule_node_mark)
		return isl_bool_true;
	id = isl_schedule_node_mark_get_id(node);
	m = isl_id_get_user(id);
	isl_id_free(id);
	if (!m || !must_be_parallel(m->kind))
		return isl_bool_true;
	below = isl_schedule_node_child(isl_schedule_node_child(isl_schedule_node_copy(node), 0), 0);
	if (!w->A->all) {
		w->A->all = isl_union_map_empty(isl_space_params_alloc(L->ctx, 0));
		for (int b = 0; b < w->A->nbuf; b++) {
			w->A->dep[b] = deps_of(L, w->A, b);
			w->A->all = isl_union_map_union(w->A->all, isl_union_map_copy(w->A->dep[b]));
		}
	}
	if (carries(L, below, isl_union_map_copy(w->A->all)) == isl_bool_false) {
		isl_schedule_node_free(below);
		return isl_bool_true;
	}
	for (int b = 0; b < w->A->nbuf && c == isl_bool_false; b++) {
		c = carries(L, below, isl_union_map_copy(w->A->dep[b]));
		if (c == isl_bool_true) {
			const char *tag = m->kind == SCH_LOOP_PARALLEL ? "parallel"
					: m->kind == SCH_LOOP_VECTORIZE ? "vectorize" : "bind";

			lw_fail(L, m->line, 0,
				"%s %s %s: loop '%s' of '%s' carries a dependence through '%s' "
				"(one iteration writes an element that another reads or writes)",
				tag, L->st[m->stage].name, m->name, m->name, L->st[m->stage].name,
				lir_func_buffer(L->f, b)->name);
		}
	}
	isl_schedule_node_free(below);
	if (c < 0)
		lw_fail(L, 0, 0, "isl failed checking loop '%s' of '%s'", m->name, L->st[m->stage].name);
	return c == isl_bool_false ? isl_bool_true : isl_bool_error;
}

static isl_stat first_map(__isl_take isl_map *map, void *user)
{
	isl_map **out = user;

	if (*out) {
		isl_map_free(map);
		return isl_stat_ok;
	}
	*out = map;
	return isl_stat_ok;
}

/* Or into *user (two masks: writes, then sinks) the buffers of the
 * statement whose instances `set` holds. */
typedef struct flow_bits {
	const acc *A;
	uint64_t w[LW_MAX_BUFS / 64], s[LW_MAX_BUFS / 64];
} flow_bits;

static isl_stat or_stmt_bits(__isl_take isl_set *set, void *user)
{
	flow_bits *fb = user;
	const char *nm = isl_set_get_tuple_name(set);
	int st = nm && nm[0] == 'S' ? atoi(nm + 1) : -1;

	isl_set_free(set);
	if (st < 0 || st >= LW_MAX_STMTS)
		return isl_stat_error;
	for (int k = 0; k < LW_MAX_BUFS / 64; k++) {
		fb->w[k] |= fb->A->wrote[st][k];
		fb->s[k] |= fb->A->sinks[st][k];
	}
	return isl_stat_ok;
}

/* Do the statements under `node` include one writing a buffer whose reads
 * by one of them (the same or another) the dataflow check follows? */
static isl_bool orders_flow(const acc *A, __isl_keep isl_schedule_node *node)
{
	flow_bits fb = {A, {0}, {0}};
	isl_union_set *dom = isl_schedule_node_get_domain(node);
	isl_stat st = isl_union_set_foreach_set(dom, or_stmt_bits, &fb);

	isl_union_set_free(dom);
	if (st < 0)
		return isl_bool_error;
	for (int k = 0; k < LW_MAX_BUFS / 64; k++)
		if (fb.w[k] & fb.s[k])
			return isl_bool_true;
	return isl_bool_false;
}

/* Delete a band that orders no write before a read the check follows. */
static __isl_give isl_schedule_node *prune_band(__isl_take isl_schedule_node *node, void *user)
{
	isl_bool keep;

	if (isl_schedule_node_get_type(node) != isl_schedule_node_band)
		return node;
	keep = orders_flow(user, node);
	if (keep < 0)
		return isl_schedule_node_free(node);
	return keep ? node : isl_schedule_node_delete(node);
}

/*
 * The schedule the dataflow check runs on (new): the lowered one without
 * the bands that cannot decide it.  The check asks whether each followed
 * read has some write of its element before it, not which write is the
 * last, so only the order between a writing and a reading instance
 * matters, and that order is decided at their lowest common ancestor:
 * a band above both, or the sequence that separates them.  A band whose
 * statements include no writer of a buffer that one of them reads (in
 * the checked reads) is above no such pair, and removing it leaves every
 * such order as it was.  On deep tilings this removes the bands of a
 * stage's own loops (their floor/mod splits and fused loops are what
 * made isl's analysis take minutes) and keeps those that order a
 * compute_at or cache stage before its consumer.
 */
static __isl_give isl_schedule *flow_schedule(lw *L, acc *A)
{
	return isl_schedule_map_schedule_node_bottom_up(isl_schedule_copy(L->sched), prune_band, A);
}

/* Every read of a computed value must have a write before it. */
static int check_flow(lw *L, acc *A)
{
	isl_union_access_info *ai;
	isl_union_flow *flow;
	isl_union_map *nosrc;
	isl_bool empty;

	ai = isl_union_access_info_from_sink(A->sink ? isl_union_map_copy(A->sink)
						     : isl_union_map_empty(isl_space_params_alloc(L->ctx, 0)));
	ai = isl_union_access_info_set_must_source(ai, unite(A, true, false, L));
	ai = isl_union_access_info_set_schedule(ai, flow_schedule(L, A));
	flow = isl_union_access_info_compute_flow(ai);
	nosrc = isl_union_flow_get_may_no_source(flow);
	isl_union_flow_free(flow);
	empty = isl_union_map_is_empty(nosrc);
	if (empty == isl_bool_false) {
		isl_map *m = NULL;

		isl_union_map_foreach_map(nosrc, first_map, &m);
		if (m) {
			const char *stmt = isl_map_get_tuple_name(m, isl_dim_in);
			const char *buf = isl_map_get_tuple_name(m, isl_dim_out);
			int b = buf ? atoi(buf + 1) : 0, st = stmt ? atoi(stmt + 1) : 0;

			lw_fail(L, 0, 0, "the schedule makes '%s' read '%s' before it is computed",
				L->st[L->stmt[st].stage].name, lir_func_buffer(L->f, b)->name);
		}
		isl_map_free(m);
	}
	isl_union_map_free(nosrc);
	if (empty < 0 && lw_over_budget(L)) {
		/* The documented fallback: the check is a safety net over the
		 * construction, and every kernel run or compiled is compared
		 * with the reference anyway.  A fresh phase clears the
		 * budget's error (and the watchdog's abort). */
		if (getenv("FTC_DEBUG_TIME"))
			fprintf(stderr, "lower: dataflow check skipped: more than %lu isl operations or %g s\n",
				L->max_ops, L->watch.limit);
		lw_phase(L, L->phase);
		return 0;
	}
	if (empty < 0)
		lw_fail(L, 0, 0, "isl failed in the dataflow check");
	return empty == isl_bool_true ? 0 : -1;
}

/* The loops enclosing stage x's own loops, outermost first: its ancestors'
 * loops up to each attachment point. */
static int outer_loops(const lw *L, int x, int *stage, int *pos)
{
	int n = 0, chain[LW_MAX_STAGES], nchain = 0;

	for (int y = x; L->st[y].parent >= 0 && nchain < LW_MAX_STAGES; y = L->st[y].parent)
		chain[nchain++] = y;
	for (int i = nchain - 1; i >= 0; i--)
		for (int q = 0; q <= L->st[chain[i]].parent_pos && n < LW_MAX_CTX; q++) {
			stage[n] = L->st[chain[i]].parent;
			pos[n++] = q;
		}
	return n;
}

/* GPU bindings: along every nest, block loops outside thread loops, and
 * each blockIdx/threadIdx dimension bound once. */
static int check_bindings(lw *L)
{
	for (int x = 0; x < L->nstages; x++) {
		int stage[LW_MAX_CTX + SCH_MAX_LOOPS], pos[LW_MAX_CTX + SCH_MAX_LOOPS];
		int n = outer_loops(L, x, stage, pos), thread = -1;

		for (int q = 0; q < L->st[x].loops.nloops; q++) {
			stage[n] = x;
			pos[n++] = q;
		}
		for (int i = 0; i < n; i++) {
			const sch_loops *l = &L->st[stage[i]].loops;
			sch_loop_kind k = l->kind[pos[i]];
			const char *nm = l->ax[l->loop[pos[i]]].name;

			if (stage[i] != x && k < SCH_LOOP_BLOCK_X)
				continue;
			for (int j = 0; j < i && k >= SCH_LOOP_BLOCK_X && k != SCH_LOOP_VTHREAD; j++) {
				const sch_loops *lj = &L->st[stage[j]].loops;

				if (lj->kind[pos[j]] == k && stage[i] == x)
					return lw_fail(L, l->line[pos[i]], 0, "bind %s %s: %s is already bound to loop '%s' of '%s'",
						       L->st[x].name, nm, sch_loop_kind_name(k),
						       lj->ax[lj->loop[pos[j]]].name, L->st[stage[j]].name);
			}
			if (k >= SCH_LOOP_THREAD_X && k <= SCH_LOOP_THREAD_Z)
				thread = i;
			if (k >= SCH_LOOP_BLOCK_X && k <= SCH_LOOP_BLOCK_Z && thread >= 0 && stage[i] == x) {
				const sch_loops *lt = &L->st[stage[thread]].loops;

				return lw_fail(L, l->line[pos[i]], 0,
					       "bind %s %s: a blockIdx loop inside the threadIdx loop '%s' of '%s'",
					       L->st[x].name, nm, lt->ax[lt->loop[pos[thread]]].name,
					       L->st[stage[thread]].name);
			}
		}
	}
	return 0;
}

int lw_check(lw *L)
{
	acc *A = calloc(1, sizeof(*A));
	walk w = {L, A};
	int rc = -1;

	if (!A)
		return lw_fail(L, 0, 0, "out of memory");
	A->nbuf = lir_func_nbuffers(L->f);
	if (A->nbuf > LW_MAX_BUFS) {
		free(A);
		return lw_fail(L, 0, 0, "too many buffers");
	}
	if (check_bindings(L))
		goto out;
	for (int st = 0; st < L->nstmts; st++) {
		if (L->st[L->stmt[st].stage].kind == LW_COMPUTE)
			compute_accesses(L, A, st);
		else
			cache_accesses(L, A, st);
	}
	if (L->err && L->err->set)
		goto out;
	if (isl_schedule_foreach_schedule_node_top_down(L->sched, check_node, &w) < 0 ||
	    (L->err && L->err->set))
		goto out;
	{
		double t0 = rt_now();

		lw_phase(L, "dataflow check");
		rc = L->flags & LIR_LOWER_TRUSTED ? 0 : check_flow(L, A);
		if (getenv("FTC_DEBUG_TIME"))
			fprintf(stderr, "lower: dataflow check %.3f s\n", rt_now() - t0);
	}
out:
	for (int b = 0; b < A->nbuf; b++) {
		isl_union_map_free(A->w[b]);
		isl_union_map_free(A->r[b]);
		isl_union_map_free(A->dep[b]);
	}
	isl_union_map_free(A->all);
	isl_union_map_free(A->sink);
	free(A);
	if (rc && !(L->err && L->err->set))
		lw_fail(L, 0, 0, "isl failed checking the schedule");
	return rc;
}
