/*
 * lower_tree: the isl schedule tree of a lowered graph.
 *
 * Every loop of a stage becomes a one-member band under a mark that names
 * it (the mark's id points at an lw_mark).  A stage's subtree at level q
 * (inside its loop q-1) is, in order:
 *   the stages attached at loop q-1 (compute_at, cache_read),
 *   the init of a reduction, when loop q is its first reduce loop
 *     (with bands for the init's remaining spatial loops),
 *   the band of loop q and the level q+1 below it,
 *   the cache_write write-back attached at loop q-1,
 * under a sequence node when there is more than the band.  Attached stages
 * follow their parent's loops through their leading (context) dimensions.
 */
#include "lower_priv.h"

#include <isl/id.h>
#include <isl/schedule_node.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_buf.h"
/* "S[t0, .., b0, ..]", or over leaves "S[t0, .., l<q>, ..]" in leaf mode. */
static void tb_tuple(rt_buf *b, const lw *L, int st)
{
	const lw_stmt *s = &L->stmt[st];
	int nctx = L->st[s->stage].nctx, n = L->leaf_mode ? nctx + s->nleaf : s->ndims;

	rt_buf_printf(b, "%s[", s->name);
	for (int i = 0; i < n; i++)
		if (i < nctx)
			rt_buf_printf(b, "%st%d", i ? ", " : "", i);
		else
			rt_buf_printf(b, "%s%c%d", i ? ", " : "", L->leaf_mode ? 'l' : 'b',
			       L->leaf_mode ? s->leaf[i - nctx] : i - nctx);
	rt_buf_printf(b, "]");
}

/* Statements of stage x and of every stage attached inside it, into `out`. */
static void subtree_stmts(const lw *L, int x, int *out, int *n)
{
	for (int i = 0; i < L->st[x].nstmt; i++)
		out[(*n)++] = L->st[x].stmt[i];
	for (int y = 0; y < L->nstages; y++)
		if (L->st[y].parent == x)
			subtree_stmts(L, y, out, n);
}

/* Statements of x's main branch at level q. */
static void main_stmts(const lw *L, int x, int q, int *out, int *n)
{
	const lw_stage *s = &L->st[x];

	for (int i = 0; i < s->nstmt; i++)
		if (L->stmt[s->stmt[i]].kind != LW_S_INIT || q < s->first_reduce)
			out[(*n)++] = s->stmt[i];
	for (int y = 0; y < L->nstages; y++)
		if (L->st[y].parent == x && L->st[y].parent_pos >= q)
			subtree_stmts(L, y, out, n);
}

static __isl_give isl_union_set *filter_of(lw *L, const int *st, int n)
{
	isl_union_set *u = isl_union_set_empty(isl_space_params_alloc(L->ctx, 0));

	for (int i = 0; i < n; i++)
		u = isl_union_set_add_set(u, isl_set_copy(L->leaf_mode ? L->stmt[st[i]].leaf_domain
									: L->stmt[st[i]].domain));
	return u;
}

/* The band of loop q of stage x over statements st[0..n). */
static __isl_give isl_multi_union_pw_aff *band_of(lw *L, int x, int q, const int *st, int n)
{
	rt_buf b = {0};
	char ax[4096];
	isl_union_map *um;

	if (L->leaf_mode)
		snprintf(ax, sizeof(ax), "l%d", q);
	else
		lw_ax_str(&L->st[x], L->st[x].loops.loop[q], ax, sizeof(ax));
	rt_buf_printf(&b, "{ ");
	for (int i = 0; i < n; i++) {
		rt_buf_printf(&b, i ? "; " : "");
		tb_tuple(&b, L, st[i]);
		if (L->stmt[st[i]].stage == x)
			rt_buf_printf(&b, " -> [(%s)]", ax);
		else
			rt_buf_printf(&b, " -> [(t%d)]", L->st[x].nctx + q);
	}
	rt_buf_printf(&b, " }");
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	um = isl_union_map_read_from_str(L->ctx, b.p);
	free(b.p);
	/* Not restricted to the statements' domains: the domain node above
	 * does that, and domain constraints (existentials of compute_at
	 * footprints) copied into every band's pieces made isl's AST
	 * generator take minutes sorting the pieces (conv2d, difffuzz
	 * seed 1 case 84: 20 s of CPU, now 1 s). */
	return um ? isl_multi_union_pw_aff_from_union_map(um) : NULL;
}

static lw_mark *new_mark(lw *L, int x, int q)
{
	lw_mark *m;
	const lw_stage *s = &L->st[x];

	if (L->nmarks == LW_MAX_MARKS)
		return NULL;
	m = &L->marks[L->nmarks++];
	memset(m, 0, sizeof(*m));
	m->stage = x;
	m->pos = q;
	{
		const char *nm = s->loops.ax[s->loops.loop[q]].name;
		size_t len = strnlen(nm, sizeof(m->name) - 1);

		memmove(m->name, nm, len);
		m->name[len] = '\0';
	}
	m->kind = s->loops.kind[q];
	m->extent = s->loops.ax[s->loops.loop[q]].extent;
	m->line = s->loops.line[q];
	m->ii = s->loops.ii[q];
	return m;
}

/* Insert at leaf `node` the band of loop q of x over st[0..n) under a mark;
 * the node returned is the mark. */
static __isl_give isl_schedule_node *insert_band(lw *L, __isl_take isl_schedule_node *node,
						 int x, int q, const int *st, int n, lw_mark **mark)
{
	isl_multi_union_pw_aff *mupa = band_of(L, x, q, st, n);
	lw_mark *m = new_mark(L, x, q);

	*mark = m;
	if (!mupa || !m) {
		isl_multi_union_pw_aff_free(mupa);
		lw_fail(L, 0, 0, "%s: cannot build the band of loop %d", L->st[x].name, q);
		return isl_schedule_node_free(node);
	}
	node = isl_schedule_node_insert_partial_schedule(node, mupa);
	/* One loop per band: isl must not peel iterations of some statements
	 * out of the loop, or a tile's copy and its uses would land in
	 * different places. */
	node = isl_schedule_node_band_member_set_ast_loop_type(node, 0, isl_ast_loop_atomic);
	return isl_schedule_node_insert_mark(node, isl_id_alloc(L->ctx, m->name, m));
}

static __isl_give isl_schedule_node *level(lw *L, __isl_take isl_schedule_node *node, int x, int q);

/* The init's own bands: x's spatial loops from q on. */
static __isl_give isl_schedule_node *init_branch(lw *L, __isl_take isl_schedule_node *node, int x, int q)
{
	const lw_stage *s = &L->st[x];
	int init = s->stmt[0];
	lw_mark *m;

	while (q < s->loops.nloops && s->reduce_leaf[q])
		q++;
	if (q == s->loops.nloops)
		return node;
	node = insert_band(L, node, x, q, &init, 1, &m);
	node = isl_schedule_node_child(isl_schedule_node_child(node, 0), 0);
	node = init_branch(L, node, x, q + 1);
	return isl_schedule_node_parent(isl_schedule_node_parent(node));
}

/* Band q of x and the level below it. */
static __isl_give isl_schedule_node *main_branch(lw *L, __isl_take isl_schedule_node *node, int x, int q)
{
	int st[LW_MAX_STMTS], n = 0;
	lw_mark *m;

	if (q == L->st[x].loops.nloops)
		return node;
	main_stmts(L, x, q, st, &n);
	node = insert_band(L, node, x, q, st, n, &m);
	if (m)
		for (int y = 0; y < L->nstages; y++)
			if (L->st[y].parent == x && L->st[y].parent_pos == q && L->st[y].local && m->nalloc < 8)
				m->alloc[m->nalloc++] = y;
	node = isl_schedule_node_child(isl_schedule_node_child(node, 0), 0);
	node = level(L, node, x, q + 1);
	return isl_schedule_node_parent(isl_schedule_node_parent(node));
}

enum { ITEM_STAGE, ITEM_INIT, ITEM_MAIN };

static __isl_give isl_schedule_node *level(lw *L, __isl_take isl_schedule_node *node, int x, int q)
{
	const lw_stage *s = &L->st[x];
	int kind[LW_MAX_STAGES + 2], who[LW_MAX_STAGES + 2], nitems = 0;
	isl_union_set_list *filters;

	for (int pass = 0; pass < 2; pass++) {
		for (int y = 0; q > 0 && y < L->nstages; y++)
			if (L->st[y].parent == x && L->st[y].parent_pos == q - 1 &&
			    (L->st[y].kind == LW_CACHE_WRITE) == (pass == 1)) {
				kind[nitems] = ITEM_STAGE;
				who[nitems++] = y;
			}
		if (pass == 0 && s->nstmt > 1 && L->stmt[s->stmt[0]].kind == LW_S_INIT && q == s->first_reduce)
			kind[nitems++] = ITEM_INIT;
		if (pass == 0)
			kind[nitems++] = ITEM_MAIN;
	}
	if (nitems == 1)
		return main_branch(L, node, x, q);
	filters = isl_union_set_list_alloc(L->ctx, nitems);
	for (int i = 0; i < nitems; i++) {
		int st[LW_MAX_STMTS], n = 0;

		if (kind[i] == ITEM_STAGE)
			subtree_stmts(L, who[i], st, &n);
		else if (kind[i] == ITEM_INIT)
			st[n++] = s->stmt[0];
		else
			main_stmts(L, x, q, st, &n);
		filters = isl_union_set_list_add(filters, filter_of(L, st, n));
	}
	node = isl_schedule_node_insert_sequence(node, filters);
	for (int i = 0; i < nitems; i++) {
		node = isl_schedule_node_child(isl_schedule_node_child(node, i), 0);
		if (kind[i] == ITEM_STAGE)
			node = level(L, node, who[i], 0);
		else if (kind[i] == ITEM_INIT)
			node = init_branch(L, node, x, q);
		else
			node = main_branch(L, node, x, q);
		node = isl_schedule_node_parent(isl_schedule_node_parent(node));
	}
	return node;
}

static bool is_const_mark(__isl_keep isl_schedule_node *node)
{
	isl_id *id;
	lw_mark *m;

	if (isl_schedule_node_get_type(node) != isl_schedule_node_mark)
		return false;
	id = isl_schedule_node_mark_get_id(node);
	m = isl_id_get_user(id);
	isl_id_free(id);
	return m && (m->kind == SCH_LOOP_VECTORIZE || m->kind == SCH_LOOP_UNROLL);
}

static int64_t mark_extent(__isl_keep isl_schedule_node *node)
{
	isl_id *id = isl_schedule_node_mark_get_id(node);
	lw_mark *m = isl_id_get_user(id);

	isl_id_free(id);
	return m->extent;
}

/*
 * The prefixes (all but the last k dims of `range`, kept) at which the last
 * k dims cover their whole box [0, ext): those tiles are full.
 */
static __isl_give isl_set *full_prefixes(__isl_take isl_set *range, int k, const int64_t *ext)
{
	int d = isl_set_dim(range, isl_dim_set);
	isl_set *pre = isl_set_project_out(isl_set_copy(range), isl_dim_set, d - k, k);
	isl_set *box = isl_set_add_dims(isl_set_copy(pre), isl_dim_set, k);
	isl_set *bad;

	for (int i = 0; i < k; i++) {
		box = isl_set_lower_bound_si(box, isl_dim_set, d - k + i, 0);
		box = isl_set_upper_bound_si(box, isl_dim_set, d - k + i, ext[i] - 1);
	}
	bad = isl_set_project_out(isl_set_subtract(box, range), isl_dim_set, d - k, k);
	return isl_set_subtract(pre, bad);
}

/*
 * At a band whose child starts a run of vectorized/unrolled loops, isolate
 * the full tiles so that those loops get constant trip counts there (the
 * rest is generated separately, as the tail).
 */
static __isl_give isl_schedule_node *isolate(__isl_take isl_schedule_node *node, void *user)
{
	int64_t ext[SCH_MAX_LOOPS];
	isl_schedule_node *n;
	isl_union_set *range;
	isl_set *full;
	isl_map *iso;
	int k = 0, d;

	(void)user;
	if (isl_schedule_node_get_type(node) != isl_schedule_node_band)
		return node;
	if (isl_schedule_node_has_parent(node) == isl_bool_true) {
		isl_schedule_node *p = isl_schedule_node_parent(isl_schedule_node_copy(node));
		bool c = is_const_mark(p);

		isl_schedule_node_free(p);
		if (c)
			return node;
	}
	n = isl_schedule_node_child(isl_schedule_node_copy(node), 0);
	while (is_const_mark(n) && k < SCH_MAX_LOOPS) {
		ext[k++] = mark_extent(n);
		n = isl_schedule_node_child(isl_schedule_node_child(n, 0), 0);
	}
	if (k == 0) {
		isl_schedule_node_free(n);
		return node;
	}
	range = isl_union_map_range(isl_schedule_node_get_prefix_schedule_relation(n));
	isl_schedule_node_free(n);
	if (isl_union_set_n_set(range) != 1) {
		isl_union_set_free(range);
		return node;
	}
	full = full_prefixes(isl_set_from_union_set(range), k, ext);
	d = isl_set_dim(full, isl_dim_set);
	iso = isl_map_from_domain(full);
	iso = isl_map_move_dims(iso, isl_dim_out, 0, isl_dim_in, d - 1, 1);
	full = isl_set_set_tuple_name(isl_map_wrap(iso), "isolate");
	return isl_schedule_node_band_set_ast_build_options(node, isl_union_set_from_set(full));
}

/* The leaf position of axis `ax` of x, or -1 when it was split or fused. */
static int leaf_pos(const lw_stage *x, int ax)
{
	for (int q = 0; q < x->loops.nloops; q++)
		if (x->loops.loop[q] == ax)
			return q;
	return -1;
}

/*
 * Axis `ax` of x over the leaf loops l<q>, into b: a leaf is itself, a
 * split axis is outer * factor + inner, a part of a fused loop F = a *
 * ext(b) + b is floor(F / ext(b)) or F mod ext(b).
 */
static void leaf_expr(const lw_stage *x, int ax, rt_buf *b)
{
	const sch_loops *l = &x->loops;
	int q = leaf_pos(x, ax);

	if (q >= 0) {
		rt_buf_printf(b, "l%d", q);
		return;
	}
	for (int i = 0; i < l->nax; i++) {
		const sch_ax *c = &l->ax[i];

		if (c->kind == SCH_AX_OUTER && c->a == ax) {
			for (int j = 0; j < l->nax; j++)
				if (l->ax[j].kind == SCH_AX_INNER && l->ax[j].a == ax) {
					rt_buf_printf(b, "(");
					leaf_expr(x, i, b);
					rt_buf_printf(b, ")*%lld + (", (long long)c->factor);
					leaf_expr(x, j, b);
					rt_buf_printf(b, ")");
					return;
				}
		} else if (c->kind == SCH_AX_FUSED && (c->a == ax || c->b == ax)) {
			rt_buf_printf(b, c->a == ax ? "floor((" : "((");
			leaf_expr(x, i, b);
			rt_buf_printf(b, c->a == ax ? ")/%lld)" : ") mod %lld)", (long long)l->ax[c->b].extent);
			return;
		}
	}
	b->oom = true; /* an axis neither a leaf nor derived: cannot happen */
}

/* The base axis axis `ax` of x comes from (splits and fuses keep to one
 * kind: a fused pair is both spatial or both reduce). */
static int origin(const lw_stage *x, int ax)
{
	const sch_ax *a = &x->loops.ax[ax];

	return a->kind == SCH_AX_BASE ? a->base : origin(x, a->a);
}

/*
 * { S[t.., l..] -> S[t.., b..] } for statement st: each base coordinate
 * rebuilt from the leaves, every axis on the way (leaf, split or fused)
 * within [0, extent) so that the leaves of one instance are unique (a
 * split's inner part may be longer than what it splits).
 */
static int leaf_domain(lw *L, int st)
{
	lw_stmt *s = &L->stmt[st];
	const lw_stage *x = &L->st[s->stage];
	int nown = s->ndims - x->nctx;
	rt_buf b = {0};
	isl_map *m;

	s->nleaf = 0;
	for (int q = 0; q < x->loops.nloops; q++)
		if (s->kind != LW_S_INIT || !x->reduce_leaf[q])
			s->leaf[s->nleaf++] = q;
	L->leaf_mode = true;
	rt_buf_printf(&b, "{ ");
	tb_tuple(&b, L, st);
	L->leaf_mode = false;
	rt_buf_printf(&b, " -> ");
	tb_tuple(&b, L, st);
	rt_buf_printf(&b, " : ");
	for (int k = 0; k < nown; k++) {
		rt_buf_printf(&b, "b%d = ", k);
		leaf_expr(x, k, &b);
		rt_buf_printf(&b, " and ");
	}
	for (int i = 0; i < x->loops.nax; i++) {
		if (origin(x, i) >= nown)
			continue; /* a reduce axis, in an init */
		rt_buf_printf(&b, "0 <= ");
		leaf_expr(x, i, &b);
		rt_buf_printf(&b, " < %lld and ", (long long)x->loops.ax[i].extent);
	}
	rt_buf_printf(&b, "1 = 1 }");
	m = b.oom ? NULL : isl_map_read_from_str(L->ctx, b.p);
	free(b.p);
	m = isl_map_intersect_range(m, isl_set_copy(s->domain));
	s->leaf_domain = isl_map_domain(m);
	return s->leaf_domain ? 0 : lw_fail(L, 0, 0, "%s: isl failed building its leaf domain", x->name);
}

__isl_give isl_schedule *lw_isolate(lw *L, __isl_take isl_schedule *sched)
{
	return isl_schedule_map_schedule_node_bottom_up(sched, isolate, L);
}

/* The schedule tree over statement domains (base or leaf coordinates). */
static __isl_give isl_schedule *build_tree(lw *L)
{
	int roots[LW_MAX_STAGES], nroots = 0, all[LW_MAX_STMTS] = {0}, n = 0;
	isl_schedule_node *node;
	isl_schedule *sched;

	for (int x = 0; x < L->nstages; x++)
		if (L->st[x].parent < 0)
			roots[nroots++] = x;
	for (int i = 0; i < L->nstmts; i++)
		all[n++] = i;
	sched = isl_schedule_from_domain(filter_of(L, all, n));
	node = isl_schedule_node_child(isl_schedule_get_root(sched), 0);
	isl_schedule_free(sched);
	if (nroots > 1) {
		isl_union_set_list *filters = isl_union_set_list_alloc(L->ctx, nroots);

		for (int i = 0; i < nroots; i++) {
			n = 0;
			subtree_stmts(L, roots[i], all, &n);
			filters = isl_union_set_list_add(filters, filter_of(L, all, n));
		}
		node = isl_schedule_node_insert_sequence(node, filters);
		for (int i = 0; i < nroots; i++) {
			node = isl_schedule_node_child(isl_schedule_node_child(node, i), 0);
			node = level(L, node, roots[i], 0);
			node = isl_schedule_node_parent(isl_schedule_node_parent(node));
		}
	} else if (nroots == 1) {
		node = level(L, node, roots[0], 0);
	}
	sched = isl_schedule_node_get_schedule(node);
	isl_schedule_node_free(node);
	return sched;
}

/*
 * Two trees of one shape: L->sched over the statements' base coordinates,
 * for the legality checks (accesses are written in them), and
 * L->ast_sched over their leaf loops, for the AST.  isl's AST generator
 * expresses each statement's coordinates in the loop iterators by
 * inverting the schedule; over base coordinates with fused and split
 * loops that inversion (floor and mod of several loops) cost it minutes
 * on deep tilings and gave pages of selects.  Over leaf coordinates every
 * band is one coordinate, the inverse is the identity, and lower_ast
 * rebuilds the base coordinates from the leaves itself.
 */
int lw_build_tree(lw *L)
{
	for (int st = 0; st < L->nstmts; st++)
		if (leaf_domain(L, st))
			return -1;
	L->sched = build_tree(L);
	L->leaf_mode = true;
	L->ast_sched = L->sched ? build_tree(L) : NULL;
	L->leaf_mode = false;
	if (L->ast_sched)
		L->ast_sched = isl_schedule_map_schedule_node_bottom_up(L->ast_sched, isolate, L);

	if (!L->sched || !L->ast_sched)
		return lw_fail(L, 0, 0, "isl failed building the schedule tree: %s",
			       isl_ctx_last_error_msg(L->ctx) ? isl_ctx_last_error_msg(L->ctx) : "unknown");
	return L->err && L->err->set ? -1 : 0;
}
