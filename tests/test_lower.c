/*
 * Tests of ir/lower: golden loop IR, random legal schedules checked against
 * the reference interpreter on every example, and illegal schedules refused.
 */
#include <check.h>
#include <isl/ctx.h>
#include <isl/options.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lir.h"
#include "lower.h"
#include "rt_alloc.h"
#include "sched.h"
#include "te.h"
#include "te_interp.h"
#include "te_parse.h"
#include "te_verify.h"

#define SCHEDULES_PER_EXAMPLE 50

static char *read_text(const char *path)
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

static const char *root(void)
{
	const char *r = getenv("FTC_SOURCE_ROOT");

	return r ? r : ".";
}

/* Parse examples/NAME.te with the small shape of tests/small_shapes.txt. */
static te_graph *small_example(const char *name, isl_ctx *ctx)
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

static isl_ctx *new_ctx(void)
{
	isl_ctx *ctx = isl_ctx_alloc();

	isl_options_set_on_error(ctx, ISL_ON_ERROR_CONTINUE);
	return ctx;
}

/* Run f and the reference on seeded inputs; "" when every output matches,
 * else a message (static buffer). */
static const char *check_kernel(const te_graph *g, const lir_func *f)
{
	static char msg[2048];
	int n = te_graph_nstages(g), k = 0;
	void **ref = calloc(n, sizeof(void *)), **got = calloc(n, sizeof(void *));
	void **params = calloc(n, sizeof(void *));
	rt_error err;

	msg[0] = '\0';
	rt_error_clear(&err);
	for (int i = 0; i < n; i++) {
		const te_stage *s = te_graph_stage(g, i);
		size_t bytes = (size_t)te_stage_numel(s) * te_dtype_size(s->type);

		if (s->kind == TE_STAGE_COMPUTE && !s->is_output)
			continue;
		ref[i] = rt_alloc(bytes);
		if (s->kind == TE_STAGE_INPUT) {
			te_random_fill(s, ref[i], 7);
			got[i] = ref[i];
		} else {
			got[i] = rt_alloc(bytes);
		}
	}
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < n; i++) {
			const te_stage *s = te_graph_stage(g, i);

			if (pass == 0 ? s->kind == TE_STAGE_INPUT : s->kind == TE_STAGE_COMPUTE && s->is_output)
				params[k++] = got[i];
		}
	if (te_interp_run(g, ref, &err))
		snprintf(msg, sizeof(msg), "reference: %s", err.msg);
	else if (lir_interp_run(f, params, &err))
		snprintf(msg, sizeof(msg), "loop IR: %s", err.msg);
	for (int i = 0; i < n && !msg[0]; i++) {
		const te_stage *s = te_graph_stage(g, i);
		te_cmp c;

		if (s->kind != TE_STAGE_COMPUTE || !s->is_output)
			continue;
		c = te_compare(s, got[i], ref[i]);
		if (!c.ok)
			snprintf(msg, sizeof(msg), "%s: %lld elements wrong, max abs err %g", s->name,
				 (long long)c.nbad, c.max_abs);
	}
	for (int i = 0; i < n; i++) {
		if (got[i] != ref[i])
			rt_free(got[i]);
		rt_free(ref[i]);
	}
	free(ref);
	free(got);
	free(params);
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
	if (last >= 0 && !used[last] && !ax_is_reduce(l, l->loop[last], x->rank) && rnd(&G->r, 2)) {
		add(&G->t, "vectorize %s %s\n", x->name, l->ax[l->loop[last]].name);
		used[last] = true;
	}
	if (l->nloops && rnd(&G->r, 3) == 0) {
		int q = rnd(&G->r, l->nloops);

		if (!used[q])
			add(&G->t, "unroll %s %s\n", x->name, l->ax[l->loop[q]].name);
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
	if (x->reduce != TE_RED_NONE && first_reduce > 0 && rnd(&G->r, 4) == 0) {
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
		if (a->rank >= 2 && rnd(&G->r, 2)) {
			add(&G->t, " perm=");
			for (int k = a->rank - 1; k >= 0; k--)
				add(&G->t, k == a->rank - 1 ? "%d" : ",%d", k);
		}
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

static const char *const examples[] = {
	"batch_matmul", "bilinear", "conv1d", "conv1d_transposed", "conv2d", "conv2d_transposed",
	"conv3d", "conv3d_transposed", "depthwise_conv2d", "dilated_conv2d", "gemm", "gemv",
	"group_conv2d", "maxpool2d", "mttkrp", "softmax",
};

START_TEST(random_schedules_match_reference)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = small_example(examples[_i], ctx);

	for (int seed = 0; seed < SCHEDULES_PER_EXAMPLE; seed++) {
		gen G;
		sch_schedule *s;
		lir_func *f;
		rt_error err;
		const char *bad;

		memset(&G, 0, sizeof(G));
		G.r.s = (uint64_t)seed * 7919 + (uint64_t)_i;
		G.g = g;
		gen_schedule(&G);
		rt_error_clear(&err);
		s = sch_parse(G.t.s, &err);
		ck_assert_msg(s != NULL, "%s seed %d: %s", examples[_i], seed, err.msg);
		f = lir_lower(g, s, ctx, examples[_i], &err);
		ck_assert_msg(f != NULL, "%s seed %d: lowering refused a legal schedule: %s\n%s",
			      examples[_i], seed, err.msg, G.t.s);
		ck_assert_msg(lir_verify(f, &err) == 0, "%s seed %d: invalid lir: %s\n%s", examples[_i],
			      seed, err.msg, G.t.s);
		bad = check_kernel(g, f);
		ck_assert_msg(!bad[0], "%s seed %d: %s\nschedule:\n%s", examples[_i], seed, bad, G.t.s);
		lir_func_free(f);
		sch_free(s);
	}
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/* ---- illegal schedules ---- */

static const struct {
	const char *example, *sched, *msg;
	int line;
} illegal[] = {
	{"gemm", "parallel C k\n", "carries a dependence through 'C'", 1},
	{"gemm", "split C k 2\nvectorize C k.i\n", "vectorize C k.i", 2},
	{"gemm", "bind C k threadIdx.x\n", "is a reduce loop", 1},
	{"gemm", "split C i 2\nsplit C j 2\nbind C i.i threadIdx.x\nbind C j.o blockIdx.x\n",
	 "blockIdx loop inside the threadIdx loop", 4},
	{"gemm", "reorder C k i j\ncache_write C i local\n", "a reduce loop of 'C' is at or outside 'i'", 2},
	{"gemm", "fuse C j k\n", "fuses a spatial loop with a reduce loop", 0},
	{"gemm", "compute_inline C\n", "is a reduction", 1},
	{"gemm", "parallel D i\n", "no such stage", 1},
	{"gemm", "compute_at C C i\n", "its own loops", 0},
	{"gemm", "split C j 2\nbind C i blockIdx.x\nbind C j.o threadIdx.x\ncache_read B C j.i shared\n",
	 "a shared buffer is one per block", 4},
	{"softmax", "compute_at Mx Y i\n", "does not read", 0},
	{"gemm", "cache_read C C i local\n", "does not read", 1},
	{"conv2d", "compute_at Ip O zz\n", "has no loop 'zz'", 0},
	{"softmax", "compute_at E Sum i\n", "also read by 'Y'", 0},
	{"softmax", "parallel Sum j\n", "carries a dependence through 'Sum'", 1},
	{"softmax", "compute_at Mx E i\ncompute_at E Y i\nparallel E j\n", "", 0},
};

START_TEST(illegal_schedules_are_refused)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = small_example(illegal[_i].example, ctx);
	rt_error err;
	sch_schedule *s;
	lir_func *f;

	rt_error_clear(&err);
	s = sch_parse(illegal[_i].sched, &err);
	ck_assert_msg(s != NULL, "%s", err.msg);
	f = lir_lower(g, s, ctx, "k", &err);
	ck_assert_msg(f == NULL, "accepted: %s", illegal[_i].sched);
	ck_assert_msg(strstr(err.msg, illegal[_i].msg), "message '%s' lacks '%s'", err.msg, illegal[_i].msg);
	if (illegal[_i].line)
		ck_assert_int_eq(err.line, illegal[_i].line);
	sch_free(s);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/* ---- golden loop IR ---- */

static const struct {
	const char *example, *sched, *golden;
} goldens[] = {
	{"gemm", "", "gemm_naive.lir"},
	{"gemm", "split C i 4\nsplit C j 4\nreorder C i.o j.o k i.i j.i\nparallel C i.o\nvectorize C j.i\n",
	 "gemm_tiled.lir"},
	{"gemm", "split C k 2\ncache_read B C k.o stack perm=1,0\ncache_write C j local\n", "gemm_cache.lir"},
	{"conv2d", "split O q 4\nreorder O n k p q.o c r s q.i\ncompute_at Ip O p\nvectorize O q.i\n",
	 "conv2d_at.lir"},
	{"conv2d", "compute_inline Ip\nfuse O n k\nparallel O n+k\n", "conv2d_inline.lir"},
};

START_TEST(golden_lir)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = small_example(goldens[_i].example, ctx);
	char path[1024], *want, *got;
	rt_error err;
	sch_schedule *s;
	lir_func *f;

	rt_error_clear(&err);
	s = sch_parse(goldens[_i].sched, &err);
	f = lir_lower(g, s, ctx, goldens[_i].example, &err);
	ck_assert_msg(f != NULL, "%s", err.msg);
	got = lir_print(f);
	snprintf(path, sizeof(path), "%s/tests/golden/%s", root(), goldens[_i].golden);
	want = read_text(path);
	if (getenv("FTC_UPDATE_GOLDEN")) {
		FILE *out = fopen(path, "w");

		fputs(got, out);
		fclose(out);
	} else {
		ck_assert_msg(want != NULL, "missing golden file %s", path);
		ck_assert_msg(strcmp(want, got) == 0, "%s differs; got:\n%s", path, got);
	}
	ck_assert_str_eq(check_kernel(g, f), "");
	free(want);
	free(got);
	lir_func_free(f);
	sch_free(s);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/*
 * test_lower [PART NPARTS]: the random-schedule tests of the examples with
 * index % NPARTS == PART (all by default), so that the suite can run them
 * in parallel; part 0 also runs the golden and illegal-schedule tables.
 */
int main(int argc, char **argv)
{
	Suite *s = suite_create("lower");
	TCase *tc = tcase_create("lower");
	SRunner *sr;
	int failed, part = argc > 2 ? atoi(argv[1]) : 0, nparts = argc > 2 ? atoi(argv[2]) : 1;
	int nex = (int)(sizeof(examples) / sizeof(examples[0]));

	if (nparts < 1 || part < 0 || part >= nparts) {
		fprintf(stderr, "usage: test_lower [PART NPARTS]\n");
		return EXIT_FAILURE;
	}
	tcase_set_timeout(tc, 900);
	if (part == 0) {
		tcase_add_loop_test(tc, golden_lir, 0, sizeof(goldens) / sizeof(goldens[0]));
		tcase_add_loop_test(tc, illegal_schedules_are_refused, 0, sizeof(illegal) / sizeof(illegal[0]));
	}
	for (int i = part; i < nex; i += nparts)
		tcase_add_loop_test(tc, random_schedules_match_reference, i, i + 1);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
