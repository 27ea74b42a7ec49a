/*
 * Test helpers shared by the lowering and code generation tests: the
 * examples at their small shapes, a seeded generator of random legal
 * schedules, and a check of a kernel's outputs against the reference.
 */
#include "sched_gen.h"

#include <check.h>
#include <isl/options.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "te_bufs.h"
#include "te_verify.h"

char *read_text(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(n + 1);
	if (buf && fread(buf, 1, n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	if (buf)
		buf[n] = '\0';
	fclose(f);
	return buf;
}

const char *root(void)
{
	const char *r = getenv("FTC_SOURCE_ROOT");

	return r ? r : ".";
}

/* Parse examples/NAME.te with the small shape of tests/small_shapes.txt. */
te_graph *small_example(const char *name, isl_ctx *ctx)
{
	char path[1024], *src, *shapes, *line, *save = NULL, names[32][64];
	te_define defs[32];
	int ndefs = 0;
	rt_error err;
	te_graph *g;

	snprintf(path, sizeof(path), "%s/tests/small_shapes.txt", root());
	shapes = read_text(path);
	ck_assert_ptr_nonnull(shapes);
	for (line = strtok_r(shapes, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *tok, *s2 = NULL;

		tok = strtok_r(line, " ", &s2);
		if (!tok || tok[0] == '#' || strcmp(tok, name))
			continue;
		while ((tok = strtok_r(NULL, " ", &s2)) && ndefs < 32) {
			char *eq = strchr(tok, '=');

			snprintf(names[ndefs], 64, "%.*s", (int)(eq - tok), tok);
			defs[ndefs].name = names[ndefs];
			defs[ndefs].value = atoll(eq + 1);
			ndefs++;
		}
	}
	free(shapes);
	ck_assert_msg(ndefs > 0, "no small shape for %s", name);
	snprintf(path, sizeof(path), "%s/examples/%s.te", root(), name);
	src = read_text(path);
	ck_assert_ptr_nonnull(src);
	rt_error_clear(&err);
	g = te_parse(src, defs, ndefs, &err);
	ck_assert_msg(g != NULL, "%s: %s", name, err.msg);
	ck_assert_msg(te_verify(g, ctx, &err) == 0, "%s: %s", name, err.msg);
	free(src);
	return g;
}

isl_ctx *new_ctx(void)
{
	isl_ctx *ctx = isl_ctx_alloc();

	isl_options_set_on_error(ctx, ISL_ON_ERROR_CONTINUE);
	return ctx;
}

static int interp_runner(void *ctx, void **params, rt_error *err)
{
	return lir_interp_run(ctx, params, err);
}

const char *check_kernel(const te_graph *g, const lir_func *f)
{
	return check_run(g, interp_runner, (void *)f);
}

const char *check_run(const te_graph *g, kernel_runner run, void *ctx)
{
	return check_run_seeded(g, run, ctx, 7);
}

const char *check_run_seeded(const te_graph *g, kernel_runner run, void *ctx, uint64_t seed)
{
	static char msg[2048];
	te_bufs b;
	rt_error err;
	te_cmp c;
	int bad;

	msg[0] = '\0';
	rt_error_clear(&err);
	if (te_bufs_init(&b, g, seed, &err) || te_bufs_reference(&b, &err))
		snprintf(msg, sizeof(msg), "reference: %s", err.msg);
	else if (run(ctx, b.params, &err))
		snprintf(msg, sizeof(msg), "kernel: %s", err.msg);
	else if ((bad = te_bufs_first_wrong(&b, &c)) >= 0)
		snprintf(msg, sizeof(msg), "%s: %lld elements wrong, max abs err %g", te_graph_stage(g, bad)->name,
			 (long long)c.nbad, c.max_abs);
	te_bufs_free(&b);
	return msg;
}

/* ---- a random schedule generator ---- */

typedef struct rng {
	uint64_t s;
} rng;

static uint64_t next(rng *r)
{
	uint64_t z = (r->s += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static int rnd(rng *r, int n)
{
	return n <= 1 ? 0 : (int)(next(r) % (uint64_t)n);
}

typedef struct text {
	char s[16384];
	int len;
} text;

static void add(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add(text *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	t->len += vsnprintf(t->s + t->len, sizeof(t->s) - t->len, fmt, ap);
	va_end(ap);
}

/* The loops of stage `name` under the schedule text so far. */
static void loops_of(const text *t, const char *name, int nbase, const char *const *names,
		     const int64_t *ext, sch_loops *out)
{
	rt_error err;
	sch_schedule *s;

	rt_error_clear(&err);
	s = sch_parse(t->s, &err);
	ck_assert_msg(s != NULL, "generated bad text: %s\n%s", err.msg, t->s);
	ck_assert_msg(sch_stage_loops(s, name, nbase, names, ext, out, &err) == 0,
		      "generated bad steps: %s\n%s", err.msg, t->s);
	sch_free(s);
}

static bool ax_is_reduce(const sch_loops *l, int ax, int rank)
{
	const sch_ax *a = &l->ax[ax];

	return a->kind == SCH_AX_BASE ? a->base >= rank : ax_is_reduce(l, a->a, rank);
}

static bool reads_directly(const te_expr *e, int t)
{
	if (e->op == TE_LOAD && e->index == t)
		return true;
	for (int i = 0; i < e->nargs; i++)
		if (reads_directly(e->args[i], t))
			return true;
	return false;
}

typedef struct gen {
	rng r;
	text t;
	const te_graph *g;
	bool inlined[64];
	sch_loops final[64];
	bool have[64];
	unsigned cached[64]; /* scopes already cached, per tensor */
	sched_gen_opts o;
} gen;

static void gen_loops(gen *G, const te_stage *x)
{
	const char *names[TE_MAX_AXES];
	int64_t ext[TE_MAX_AXES];
	int n = x->rank + x->nreduce;
	sch_loops l;

	for (int i = 0; i < n; i++) {
		names[i] = x->axes[i].name;
		ext[i] = x->axes[i].extent;
	}
	for (int i = 0; i < n; i++) {
		if (rnd(&G->r, 2))
			continue;
		if (rnd(&G->r, 4) == 0)
			add(&G->t, "split %s %s parts=%d\n", x->name, names[i], 1 + rnd(&G->r, (int)ext[i] + 1));
		else
			add(&G->t, "split %s %s %d\n", x->name, names[i], 1 + rnd(&G->r, (int)ext[i] + 2));
		if (rnd(&G->r, 4) == 0)
			add(&G->t, "split %s %s.i %d\n", x->name, names[i], 1 + rnd(&G->r, 4));
	}
	loops_of(&G->t, x->name, n, names, ext, &l);
	if (l.nloops > 1 && rnd(&G->r, 2)) {
		int perm[SCH_MAX_LOOPS];

		for (int q = 0; q < l.nloops; q++)
			perm[q] = q;
		for (int q = l.nloops - 1; q > 0; q--) {
			int j = rnd(&G->r, q + 1), tmp = perm[q];

			perm[q] = perm[j];
			perm[j] = tmp;
		}
		add(&G->t, "reorder %s", x->name);
		for (int q = 0; q < l.nloops; q++)
			add(&G->t, " %s", l.ax[l.loop[perm[q]]].name);
		add(&G->t, "\n");
		loops_of(&G->t, x->name, n, names, ext, &l);
	}
	if (l.nloops > 1 && rnd(&G->r, 4) == 0) {
		int q = rnd(&G->r, l.nloops - 1);

		if (ax_is_reduce(&l, l.loop[q], x->rank) == ax_is_reduce(&l, l.loop[q + 1], x->rank)) {
			add(&G->t, "fuse %s %s %s\n", x->name, l.ax[l.loop[q]].name, l.ax[l.loop[q + 1]].name);
			loops_of(&G->t, x->name, n, names, ext, &l);
		}
	}
	G->final[x->id] = l;
	G->have[x->id] = true;
}

static void gen_annotations(gen *G, const te_stage *x, bool attached)
{
	sch_loops *l = &G->final[x->id];
	bool used[SCH_MAX_LOOPS] = {false};
	int spatial[SCH_MAX_LOOPS], ns = 0, last = l->nloops - 1;

	for (int q = 0; q < l->nloops; q++)
		if (!ax_is_reduce(l, l->loop[q], x->rank))
			spatial[ns++] = q;
	if (ns >= 2 && !attached && rnd(&G->r, 4) == 0) {
		int a = rnd(&G->r, ns - 1), b = a + 1 + rnd(&G->r, ns - a - 1);

		add(&G->t, "bind %s %s blockIdx.x\n", x->name, l->ax[l->loop[spatial[a]]].name);
		add(&G->t, "bind %s %s threadIdx.x\n", x->name, l->ax[l->loop[spatial[b]]].name);
		used[spatial[a]] = used[spatial[b]] = true;
	} else if (ns && rnd(&G->r, 2)) {
		int q = spatial[rnd(&G->r, ns)];

		add(&G->t, "parallel %s %s\n", x->name, l->ax[l->loop[q]].name);
		used[q] = true;
	}
	if (G->o.vectorize_any && ns && rnd(&G->r, 3)) {
		/* any spatial loop, outer ones included (lanes with varying
		 * inner bounds, partial tiles) */
		int q = spatial[rnd(&G->r, ns)];

		if (!used[q]) {
			add(&G->t, "vectorize %s %s\n", x->name, l->ax[l->loop[q]].name);
			used[q] = true;
		}
	} else if (last >= 0 && !used[last] && !ax_is_reduce(l, l->loop[last], x->rank) && rnd(&G->r, 2)) {
		add(&G->t, "vectorize %s %s\n", x->name, l->ax[l->loop[last]].name);
		used[last] = true;
	}
	if (l->nloops && rnd(&G->r, 3) == 0) {
		int q = rnd(&G->r, l->nloops);

		if (!used[q])
			add(&G->t, "unroll %s %s\n", x->name, l->ax[l->loop[q]].name);
	}
}

/* A cache_read's layout: one or two block=D:F (F from 2 to 5: partial
 * blocks at the small shapes) and a reversing perm= of its dimensions. */
static void gen_layout(gen *G, int rank)
{
	int nd = rank;

	if (rank >= 1 && rnd(&G->r, 2)) {
		int d = rnd(&G->r, rank), two = rank >= 2 && rnd(&G->r, 3) == 0;

		add(&G->t, " block=%d:%d", d, 2 + rnd(&G->r, 4));
		if (two)
			add(&G->t, " block=%d:%d", (d + 1) % rank, 2 + rnd(&G->r, 4));
		nd += 1 + two;
	}
	if (nd >= 2 && rnd(&G->r, 2)) {
		add(&G->t, " perm=");
		for (int k = nd - 1; k >= 0; k--)
			add(&G->t, k == nd - 1 ? "%d" : ",%d", k);
	}
}

static void gen_caches(gen *G, const te_stage *x, bool attached)
{
	sch_loops *l = &G->final[x->id];
	const char *names[TE_MAX_AXES];
	int64_t ext[TE_MAX_AXES];

	for (int i = 0; i < x->rank + x->nreduce; i++) {
		names[i] = x->axes[i].name;
		ext[i] = x->axes[i].extent;
	}
	loops_of(&G->t, x->name, x->rank + x->nreduce, names, ext, l);
	static const char *const scopes[] = {"local", "shared", "stack"};
	int first_reduce = l->nloops;

	for (int q = l->nloops - 1; q >= 0; q--)
		if (ax_is_reduce(l, l->loop[q], x->rank))
			first_reduce = q;
	if (x->reduce != TE_RED_NONE && first_reduce > 0 && rnd(&G->r, G->o.caches_often ? 2 : 4) == 0) {
		add(&G->t, "cache_write %s %s local\n", x->name, l->ax[l->loop[rnd(&G->r, first_reduce)]].name);
		if (rnd(&G->r, 2))
			add(&G->t, "vectorize %s.local d%d\n", x->name, x->rank - 1);
	}
	for (int t = 0; t < te_graph_nstages(G->g) && l->nloops; t++) {
		const te_stage *a = te_graph_stage(G->g, t);
		int sc = rnd(&G->r, 3), q = rnd(&G->r, l->nloops);
		const char *scope = scopes[sc];

		if (a->kind != TE_STAGE_INPUT || !reads_directly(x->body, t) || rnd(&G->r, 4) ||
		    (G->cached[t] & (1 << sc)))
			continue;
		if (attached && sc == 1)
			sc = 2, scope = scopes[2];
		for (int p = 0; p <= q && sc == 1; p++)
			if (l->kind[p] >= SCH_LOOP_THREAD_X && l->kind[p] <= SCH_LOOP_THREAD_Z)
				sc = 0, scope = scopes[0];
		if (G->cached[t] & (1 << sc))
			continue;
		G->cached[t] |= 1 << sc;
		add(&G->t, "cache_read %s %s %s %s", a->name, x->name, l->ax[l->loop[q]].name, scope);
		gen_layout(G, a->rank);
		add(&G->t, "\n");
		if (a->rank >= 1 && rnd(&G->r, 2))
			add(&G->t, "split %s.%s d%d 2\n", a->name, scope, a->rank - 1);
	}
}

/* The single stage reading t (non-inlined), or -1. */
static int only_consumer(const gen *G, int t)
{
	int c = -1;

	for (int i = 0; i < te_graph_nstages(G->g); i++) {
		const te_stage *s = te_graph_stage(G->g, i);

		if (i == t || !s->body || !reads_directly(s->body, t))
			continue;
		if (c >= 0 || G->inlined[i])
			return -1;
		c = i;
	}
	return c;
}

/* A random legal schedule of g. */
static void gen_schedule(gen *G)
{
	for (int i = te_graph_nstages(G->g) - 1; i >= 0; i--) {
		const te_stage *x = te_graph_stage(G->g, i);
		int c, choice;

		if (x->kind != TE_STAGE_COMPUTE)
			continue;
		c = only_consumer(G, i);
		choice = rnd(&G->r, 3);
		if (!x->is_output && x->reduce == TE_RED_NONE && c >= 0 && choice == 0) {
			add(&G->t, "compute_inline %s\n", x->name);
			G->inlined[i] = true;
			continue;
		}
		gen_loops(G, x);
		gen_annotations(G, x, !x->is_output && c >= 0 && choice == 1 && G->final[c].nloops);
		gen_caches(G, x, !x->is_output && c >= 0 && choice == 1 && G->final[c].nloops);
		if (!x->is_output && c >= 0 && choice == 1 && G->final[c].nloops) {
			const sch_loops *l = &G->final[c];

			add(&G->t, "compute_at %s %s %s\n", x->name, te_graph_stage(G->g, c)->name,
			    l->ax[l->loop[rnd(&G->r, l->nloops)]].name);
		}
	}
}



void random_schedule(const te_graph *g, uint64_t seed, char *out, size_t size)
{
	static const sched_gen_opts plain = {0};

	random_schedule_opts(g, seed, &plain, out, size);
}

void random_schedule_opts(const te_graph *g, uint64_t seed, const sched_gen_opts *o, char *out, size_t size)
{
	gen *G = calloc(1, sizeof(*G));

	ck_assert_ptr_nonnull(G);
	G->r.s = seed;
	G->o = *o;
	G->g = g;
	gen_schedule(G);
	snprintf(out, size, "%s", G->t.s);
	free(G);
}

const char *const examples[] = {
	"batch_matmul", "bilinear", "conv1d", "conv1d_transposed", "conv2d", "conv2d_transposed",
	"conv3d", "conv3d_transposed", "depthwise_conv2d", "dilated_conv2d", "gemm", "gemv",
	"group_conv2d", "maxpool2d", "mttkrp", "softmax",
};

uint64_t test_seed(void)
{
	const char *e = getenv("FTC_TEST_SEED");

	return e && e[0] ? strtoull(e, NULL, 10) : 0;
}

uint64_t test_case_index(int j, int fixed, int rotating)
{
	if (j < fixed)
		return (uint64_t)j;
	return (uint64_t)fixed + test_seed() % TEST_SEED_PERIOD * (uint64_t)rotating + (uint64_t)(j - fixed);
}
