/*
 * Tests of codegen/cpu: every example, naive and under random legal
 * schedules, compiled with LLVM, JIT-run and compared with the reference;
 * vector and parallel loops at awkward sizes; isolation of a crashing or
 * hanging kernel.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cg.h"
#include "check_jit.h"
#include "cg_priv.h"
#include "lower.h"
#include "rt_isolate.h"
#include "sched_gen.h"
#include "te_verify.h"

/* Random schedules per example: RANDOM_FIXED every run, RANDOM_ROTATING
 * more chosen by $FTC_TEST_SEED (sched_gen.h). */
#define RANDOM_FIXED 4
#define RANDOM_ROTATING 2

/* Lower g under schedule text, compile for the host with `threads`, JIT,
 * check against the reference.  "" or a message. */
static const char *compile_and_check(const te_graph *g, isl_ctx *ctx, const char *text, int threads)
{
	static char msg[4096];
	rt_error err;
	sch_schedule *s;
	lir_func *f = NULL;

	rt_error_clear(&err);
	if (!(s = sch_parse(text, &err)) || !(f = lir_lower(g, s, ctx, "kernel", &err)))
		snprintf(msg, sizeof(msg), "lowering: %s", err.msg);
	else
		snprintf(msg, sizeof(msg), "%s", check_jit(g, f, threads));
	lir_func_free(f);
	sch_free(s);
	return msg;
}

START_TEST(examples_compile_and_match)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = small_example(examples[_i], ctx);
	char path[1024], *hand, text[16384];
	const char *bad;

	bad = compile_and_check(g, ctx, "", 2);
	ck_assert_msg(!bad[0], "%s naive: %s", examples[_i], bad);
	snprintf(path, sizeof(path), "%s/examples/%s.sched", root(), examples[_i]);
	hand = read_text(path);
	ck_assert_ptr_nonnull(hand);
	bad = compile_and_check(g, ctx, hand, 2);
	ck_assert_msg(!bad[0], "%s hand schedule: %s", examples[_i], bad);
	free(hand);
	for (int j = 0; j < RANDOM_FIXED + RANDOM_ROTATING; j++) {
		uint64_t seed = test_case_index(j, RANDOM_FIXED, RANDOM_ROTATING);

		random_schedule(g, seed * 104729 + 17 + (uint64_t)_i, text, sizeof(text));
		bad = compile_and_check(g, ctx, text, 1 + (int)(seed % 3));
		ck_assert_msg(!bad[0], "%s random schedule %llu: %s\n%s", examples[_i], (unsigned long long)seed, bad,
			      text);
	}
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/* Vector and parallel loops whose extents are not multiples of the vector
 * width or the thread count. */
static const struct {
	const char *te, *sched;
	int threads;
} awkward[] = {
	{"param M = 37, N = 53, K = 29\ninput A[M, K] f32\ninput B[K, N] f32\n"
	 "C[i < M, j < N] = sum(k < K) A[i, k] * B[k, j]\n",
	 "split C j 16\nsplit C i 3\nreorder C i.o j.o k i.i j.i\nparallel C i.o\nvectorize C j.i\nunroll C i.i\n", 2},
	{"param M = 37, N = 53, K = 29\ninput A[M, K] f32\ninput B[K, N] f32\n"
	 "C[i < M, j < N] = sum(k < K) A[i, k] * B[k, j]\n",
	 "split C j 8\nreorder C j.o i k j.i\nparallel C j.o\nvectorize C j.i\ncache_read B C k stack\n", 3},
	{"input X[5, 19] f64\nY[i < 5, j < 19] = exp(X[i, j]) * 2.0 - tanh(X[i, j]) + sqrt(abs(X[i, j]))\n",
	 "split Y j 4\nparallel Y i\nvectorize Y j.i\n", 2},
	/* full and partial tiles of a cache_write as two versions (q 16 wide,
	 * Q = 37: two full tiles and a tail of 5), outlined with noalias */
	{"param C = 3, H = 5, W = 37, K = 8, R = 3, S = 3\ninput I[C, H + 2, W + 2] f32\ninput F[K, C, R, S] f32\n"
	 "O[k < K, p < H, q < W] = sum(c < C, r < R, s < S) I[c, p + r, q + s] * F[k, c, r, s]\n",
	 "split O k 4\nsplit O p 2\nsplit O q 16\nreorder O k.o p.o q.o c r s k.i p.i q.i\nparallel O k.o\n"
	 "cache_write O q.o local\nunroll O k.i\nunroll O p.i\nvectorize O q.i\n", 2},
	/* the same with tails in p and k too (several split variables) */
	{"param C = 2, H = 5, W = 21, K = 7, R = 3, S = 3\ninput I[C, H + 2, W + 2] f32\ninput F[K, C, R, S] f32\n"
	 "O[k < K, p < H, q < W] = sum(c < C, r < R, s < S) I[c, p + r, q + s] * F[k, c, r, s]\n",
	 "split O k 4\nsplit O p 2\nsplit O q 8\nreorder O k.o p.o q.o c r s k.i p.i q.i\nparallel O k.o\n"
	 "cache_write O q.o local\nunroll O k.i\nunroll O p.i\nvectorize O q.i\n", 3},
	{"input X[13, 11] i32\nY[i < 13, j < 11] = X[i, j] / 3 + X[i, j] % 4 + select(X[i, j] > 0, 1, -1) + max(X[i, j], j - 5)\n",
	 "split Y j 8\nvectorize Y j.i\n", 1},
};

START_TEST(awkward_sizes)
{
	isl_ctx *ctx = new_ctx();
	rt_error err;
	te_graph *g;
	isl_ctx *vctx = ctx;
	const char *bad;

	rt_error_clear(&err);
	g = te_parse(awkward[_i].te, NULL, 0, &err);
	ck_assert_msg(g != NULL, "%s", err.msg);
	bad = compile_and_check(g, vctx, awkward[_i].sched, awkward[_i].threads);
	ck_assert_msg(!bad[0], "case %d: %s", _i, bad);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/* examples/NAME.te with `defs` ("M=3 N=1 ...") replacing its params,
 * verified. */
static te_graph *example_at(const char *name, const char *defs, isl_ctx *ctx)
{
	char path[1024], names[32][64], *src, *copy = strdup(defs), *tok, *save = NULL;
	te_define d[32];
	int nd = 0;
	rt_error err;
	te_graph *g;

	ck_assert_ptr_nonnull(copy);
	for (tok = strtok_r(copy, " ", &save); tok && nd < 32; tok = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(tok, '=');

		ck_assert_ptr_nonnull(eq);
		snprintf(names[nd], sizeof(names[nd]), "%.*s", (int)(eq - tok), tok);
		d[nd].name = names[nd];
		d[nd].value = atoll(eq + 1);
		nd++;
	}
	free(copy);
	snprintf(path, sizeof(path), "%s/examples/%s.te", root(), name);
	src = read_text(path);
	ck_assert_ptr_nonnull(src);
	rt_error_clear(&err);
	g = te_parse(src, d, nd, &err);
	free(src);
	ck_assert_msg(g != NULL, "%s %s: %s", name, defs, err.msg);
	ck_assert_msg(te_verify(g, ctx, &err) == 0, "%s %s: %s", name, defs, err.msg);
	return g;
}

/* Schedules that once compiled to wrong code or failed to compile (issue
 * 12): per-tile cache buffers shared by the lanes of a vectorized loop (the
 * lanes overwrote each other's accumulators), loop bounds and conditions
 * that vary across vector lanes (an internal error instead of scalar
 * code). */
static const struct {
	const char *example, *defs, *sched;
} regress[] = {
	{"gemm", "M=3 N=1 K=1", "split C i 2\nvectorize C i.i\ncache_write C j local\n"},
	{"gemm", "M=3 N=2 K=3", "split C i 2\nvectorize C i.i\ncache_write C j local\n"},
	{"gemm", "M=3 N=2 K=3", "split C i 2\nreorder C i.o j k i.i\nvectorize C i.i\ncache_read A C j stack\n"},
	{"gemm", "M=3 N=2 K=3", "split C i 2\nvectorize C i.i\ncache_read A C j stack\n"},
	{"gemm", "M=5 N=3 K=2", "split C j 2\nreorder C i j.o k j.i\nvectorize C j.i\ncache_write C j.o local\n"},
	{"gemv", "M=9 K=7", "split y i 4\nvectorize y i.o\n"},
	{"gemv", "M=9 K=7", "split y i 4\nreorder y i.i i.o k\nvectorize y i.o\n"},
};

START_TEST(regressions)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = example_at(regress[_i].example, regress[_i].defs, ctx);
	const char *bad = compile_and_check(g, ctx, regress[_i].sched, 1);

	ck_assert_msg(!bad[0], "%s %s\n%s: %s", regress[_i].example, regress[_i].defs, regress[_i].sched, bad);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/* Tails (issue 16 item 1): vectorized, unrolled and cache_write tiles at
 * the edges of their split (extent 1, one below and one above the factor,
 * a factor larger than the extent, a tail of one lane), nested splits, a
 * cache_read and a cache_write inside the partial tile, parallel tiles
 * with vector tails; full tiles and the partial one are two versions
 * (decisions.md, Code generation), each compared with the reference. */
#define TAIL_Q16 "split O k 4\nsplit O p 2\nsplit O q 16\nreorder O n k.o p.o q.o c r s k.i p.i q.i\n" \
		 "parallel O k.o\ncache_write O q.o local\nunroll O k.i\nunroll O p.i\nvectorize O q.i\n"
#define TAIL_J16 "split C j 16\nreorder C i j.o k j.i\nvectorize C j.i\ncache_write C j.o local\n"
static const struct {
	const char *example, *defs, *sched;
	int threads;
} tails[] = {
	{"gemm", "M=3 N=1 K=2", TAIL_J16, 1},
	{"gemm", "M=3 N=15 K=2", TAIL_J16, 1},
	{"gemm", "M=3 N=16 K=2", TAIL_J16, 1},
	{"gemm", "M=3 N=17 K=2", TAIL_J16, 1},
	{"gemm", "M=2 N=5 K=3", "split C j 16\nsplit C i 8\nreorder C i.o j.o k i.i j.i\nunroll C i.i\nvectorize C j.i\n"
				"cache_write C j.o local\n", 1},
	{"gemm", "M=5 N=37 K=3", "split C j 32\nsplit C i 2\nsplit C j.i 16\nreorder C j.o i.o k i.i j.i.o j.i.i\n"
				 "parallel C j.o\ncache_read B C j.o stack\ncache_write C i.o local\nunroll C i.i\n"
				 "vectorize C j.i.i\n", 2},
	{"gemm", "M=4 N=21 K=3", "split C j 16\nreorder C j.o i k j.i\nvectorize C j.i\ncache_read B C j.o stack\n", 1},
	{"gemm", "M=7 N=23 K=3", "split C j 16\nsplit C i 3\nreorder C i.o j.o k i.i j.i\nparallel C i.o\n"
				 "vectorize C j.i\nunroll C i.i\ncache_write C j.o local\n", 2},
	{"conv2d", "N=1 C=2 H=3 W=1 K=5 R=3 S=3 stride=1 pad=1", TAIL_Q16, 2},
	{"conv2d", "N=1 C=2 H=3 W=7 K=5 R=3 S=3 stride=1 pad=1", TAIL_Q16, 2},
	{"conv2d", "N=1 C=2 H=3 W=15 K=5 R=3 S=3 stride=1 pad=1", TAIL_Q16, 2},
	{"conv2d", "N=1 C=2 H=3 W=17 K=5 R=3 S=3 stride=1 pad=1", TAIL_Q16, 2},
	{"conv2d", "N=1 C=2 H=4 W=35 K=9 R=3 S=3 stride=1 pad=1", TAIL_Q16, 3},
	/* tails in k, p and q at once (CG_MAX_SPLITS versions of the buffer),
	 * then in n too, one more than the versions: one tail stays serial */
	{"conv2d", "N=1 C=2 H=5 W=19 K=7 R=3 S=3 stride=1 pad=1",
	 "split O k 3\nsplit O p 2\nsplit O q 16\nreorder O n k.o p.o q.o c r s k.i p.i q.i\n"
	 "parallel O k.o\ncache_write O q.o local\nunroll O k.i\nunroll O p.i\nvectorize O q.i\n", 2},
	{"conv2d", "N=3 C=2 H=5 W=19 K=7 R=3 S=3 stride=1 pad=1",
	 "split O n 2\nsplit O k 3\nsplit O p 2\nsplit O q 16\nreorder O n.o k.o p.o q.o c r s n.i k.i p.i q.i\n"
	 "parallel O k.o\ncache_write O q.o local\nunroll O n.i\nunroll O k.i\nunroll O p.i\nvectorize O q.i\n", 2},
	/* unrolled and vectorized tails with no buffer: the loops versioned */
	{"gemm", "M=7 N=21 K=3", "split C j 16\nsplit C i 4\nreorder C i.o j.o k i.i j.i\nunroll C i.i\n"
				 "vectorize C j.i\n", 1},
};

START_TEST(tail_tiles)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = example_at(tails[_i].example, tails[_i].defs, ctx);
	const char *bad = compile_and_check(g, ctx, tails[_i].sched, tails[_i].threads);

	ck_assert_msg(!bad[0], "%s %s\n%s: %s", tails[_i].example, tails[_i].defs, tails[_i].sched, bad);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/* Blocked staging copies (cache_read block=D:F) compiled for the host:
 * the consumer's vectorized reads of the copy are contiguous loads where
 * lane 0 starts a block (F = 16, a power of two, and an aligned offset:
 * cg_emit.c divmod_step) and gathers elsewhere (F = 4 or 3 under 16 lanes,
 * a shifted index q + s); the extents are not multiples of F. */
#define BLK_J16 "split C j 16\nreorder C i j.o k j.i\nvectorize C j.i\n"
static const struct {
	const char *example, *defs, *sched;
	int threads;
} blocks[] = {
	{"gemm", "M=3 N=37 K=5", BLK_J16 "cache_read B C i stack block=1:16 perm=1,0,2\n", 1},
	{"gemm", "M=3 N=37 K=5", BLK_J16 "cache_read B C i stack block=1:4 perm=1,0,2\n", 1},
	{"gemm", "M=3 N=37 K=5", BLK_J16 "cache_read B C i stack block=1:3\n", 1},
	{"gemm", "M=5 N=37 K=7", BLK_J16 "cache_read B C j.o stack block=1:16 block=0:2 perm=1,0,3,2\n"
				 "vectorize B.stack d1\n", 1},
	{"gemm", "M=9 N=40 K=6", "split C j 16\nsplit C i 3\nreorder C j.o i.o k i.i j.i\nparallel C j.o\n"
				 "unroll C i.i\nvectorize C j.i\ncache_read B C j.o stack block=1:16 perm=1,0,2\n"
				 "cache_write C i.o local\n", 2},
	{"conv2d", "N=1 C=2 H=4 W=19 K=3 R=3 S=3 stride=1 pad=1",
	 "split O q 16\nreorder O n k p q.o c r s q.i\nunroll O s\nvectorize O q.i\n"
	 "cache_read Ip O k stack block=3:16 perm=0,1,3,2,4\n", 1},
	{"conv2d", "N=1 C=3 H=4 W=7 K=19 R=3 S=3 stride=1 pad=1",
	 "split O k 16\nreorder O n k.o p q c r s k.i\nvectorize O k.i\n"
	 "cache_read F O k.o stack block=0:16 perm=1,2,3,0,4\n", 1},
};

START_TEST(blocked_copies)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = example_at(blocks[_i].example, blocks[_i].defs, ctx);
	const char *bad = compile_and_check(g, ctx, blocks[_i].sched, blocks[_i].threads);

	ck_assert_msg(!bad[0], "%s %s\n%s: %s", blocks[_i].example, blocks[_i].defs, blocks[_i].sched, bad);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/* The loads of a blocked copy with F = 16 are whole vectors where lane 0
 * starts a block (the consumer's j.i),
 * and gathers where it need not (F = 4 under 16 lanes); a stride-2
 * convolution's input de-interleaved by block=3:2 (w % 2 before w / 2) is
 * read as whole vectors, the same schedule without it gathers. */
#define BLK_S2 "split O q 16\nreorder O n k p q.o c r s q.i\nunroll O s\nvectorize O q.i\n"
#define BLK_S2_SHAPE "N=1 C=2 H=9 W=37 K=2 R=3 S=3 stride=2 pad=1"
static const struct {
	const char *example, *defs, *sched;
	bool gathers;
} block_ir[] = {
	{"gemm", "M=3 N=37 K=5",
	 BLK_J16 "cache_read B C i stack block=1:16 perm=1,0,2\nsplit B.stack d1 16\nvectorize B.stack d1.i\n", false},
	{"gemm", "M=3 N=37 K=5", BLK_J16 "cache_read B C i stack block=1:4 perm=1,0,2\n", true},
	{"conv2d", BLK_S2_SHAPE, "compute_inline Ip\n" BLK_S2, true},
	{"conv2d", BLK_S2_SHAPE, BLK_S2 "cache_read Ip O n stack block=3:2 perm=0,1,2,4,3\n", false},
};

START_TEST(blocked_copy_vectors)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = example_at(block_ir[_i].example, block_ir[_i].defs, ctx);
	sch_schedule *s;
	lir_func *f;
	cg_module *m;
	cg_target t;
	rt_error err;
	char *ir;
	bool gathers;

	rt_error_clear(&err);
	ck_assert_int_eq(cg_target_host(&t, &err), 0);
	s = sch_parse(block_ir[_i].sched, &err);
	ck_assert_ptr_nonnull(s);
	f = lir_lower(g, s, ctx, "kernel", &err);
	ck_assert_msg(f != NULL, "%s", err.msg);
	ck_assert_str_eq(check_jit(g, f, 1), "");
	m = cg_cpu_compile(f, &t, &err);
	ck_assert_msg(m != NULL, "%s", err.msg);
	ir = cg_module_print(m);
	ck_assert_ptr_nonnull(ir);
	gathers = strstr(ir, "masked.gather") != NULL; /* reads; LLVM may scatter a copy's stores */
	free(ir);
	ck_assert_msg(gathers == block_ir[_i].gathers, "%s: gathers %sexpected", block_ir[_i].sched,
		      block_ir[_i].gathers ? "" : "not ");
	cg_module_free(m);
	lir_func_free(f);
	sch_free(s);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/* Odd shapes other than tests/small_shapes.txt's, for the sweep. */
static const char *const odd_shapes[NEXAMPLES] = {
	"batch=1 M=3 N=11 K=3",
	"N=3 M=3 K=5 L=3",
	"N=1 C=2 W=13 K=3 S=3 stride=1 pad=1",
	"N=1 C=2 W=5 K=3 S=3 stride=1 pad=1",
	"N=1 C=2 H=5 W=9 K=3 R=3 S=3 stride=1 pad=1",
	"N=1 C=2 H=3 W=3 K=3 R=3 S=3 stride=1 pad=1",
	"N=1 C=1 D=3 H=3 W=5 K=3 T=3 R=3 S=3 stride=1 pad=1",
	"N=1 C=1 D=2 H=2 W=3 K=3 T=3 R=3 S=3 stride=1 pad=1",
	"N=1 C=3 H=5 W=9 mult=1 R=3 S=3 stride=1 pad=1",
	"N=1 C=2 H=7 W=9 K=3 R=3 S=3 stride=1 pad=1 dilation=2",
	"M=3 N=13 K=3",
	"M=13 K=5",
	"N=1 C=4 H=5 W=7 K=2 R=3 S=3 stride=1 pad=1 groups=2",
	"N=1 C=3 H=7 W=9 R=3 S=3 stride=2",
	"I=3 J=5 K=3 R=7",
	"M=3 N=11",
};

/* A tiny seeded generator for the targeted schedules. */
static int pick(uint64_t *r, int n)
{
	*r = *r * 6364136223846793005u + 1442695040888963407u;
	return (int)((*r >> 33) % (uint64_t)n);
}

/* Whether stage x reads stage t directly. */
static bool reads(const te_expr *e, int t)
{
	if (!e)
		return false;
	if (e->op == TE_LOAD && e->index == t)
		return true;
	for (int i = 0; i < e->nargs; i++)
		if (reads(e->args[i], t))
			return true;
	return false;
}

/*
 * A schedule of the last stage of g aimed at the pattern of issue 12:
 * one spatial axis split by 2..5 (a partial last tile at odd shapes), its
 * inner or outer part vectorized while other loops stay inside it, and a
 * cache_write of the stage and a cache_read of one of its inputs at a
 * random loop.  Lowering may refuse it (counted by the caller).
 */
static void targeted_schedule(const te_graph *g, uint64_t seed, char *out, size_t size)
{
	const te_stage *x = te_graph_stage(g, te_graph_nstages(g) - 1);
	uint64_t r = seed;
	int a = pick(&r, x->rank), n = 0, nsp = 0, len;
	char loops[TE_MAX_AXES + 1][80];

	len = snprintf(out, size, "split %s %s %d\n", x->name, x->axes[a].name, 2 + pick(&r, 4));
	for (int i = 0; i < x->rank + x->nreduce; i++) {
		if (i == a) {
			snprintf(loops[n++], sizeof(loops[0]), "%s.o", x->axes[i].name);
			snprintf(loops[n++], sizeof(loops[0]), "%s.i", x->axes[i].name);
		} else {
			snprintf(loops[n++], sizeof(loops[0]), "%s", x->axes[i].name);
		}
		if (i < x->rank)
			nsp = n;
	}
	len += snprintf(out + len, size - (size_t)len, "vectorize %s %s.%s\n", x->name, x->axes[a].name,
			pick(&r, 3) ? "i" : "o");
	if (x->nreduce && pick(&r, 3))
		len += snprintf(out + len, size - (size_t)len, "cache_write %s %s local\n", x->name,
				loops[pick(&r, nsp)]);
	for (int t = 0; t < te_graph_nstages(g) && (size_t)len < size; t++)
		if (te_graph_stage(g, t)->kind == TE_STAGE_INPUT && reads(x->body, t) && pick(&r, 2)) {
			len += snprintf(out + len, size - (size_t)len, "cache_read %s %s %s stack\n",
					te_graph_stage(g, t)->name, x->name, loops[pick(&r, n)]);
			break;
		}
}

/* Random schedules per example and shape in the sweep: SWEEP_FIXED and
 * SWEEP_ROTATING (even, so that random and targeted ones alternate), or
 * $FTC_CG_SWEEP fixed ones for a longer run. */
#define SWEEP_FIXED 2
#define SWEEP_ROTATING 2

/*
 * The differential sweep: random schedules of every example at two small,
 * odd shapes (every other one from targeted_schedule), compiled for the
 * host and compared with the reference.  A
 * schedule lowering refuses is counted, not failed; a code generation
 * error or a wrong output is a failure.  Prints the counts.
 */
START_TEST(random_schedule_sweep)
{
	const char *env = getenv("FTC_CG_SWEEP");
	int fixed = env ? atoi(env) : SWEEP_FIXED, rot = env ? 0 : SWEEP_ROTATING, ran = 0, refused = 0, wrong = 0;
	char text[16384], first[20000] = "";

	for (int shape = 0; shape < 2; shape++) {
		isl_ctx *ctx = new_ctx();
		te_graph *g = shape ? example_at(examples[_i], odd_shapes[_i], ctx) : small_example(examples[_i], ctx);

		for (int j = 0; j < fixed + rot; j++) {
			uint64_t seed = test_case_index(j, fixed, rot);
			const char *bad;

			if (seed % 2)
				targeted_schedule(g, seed * 7919 + 1000003u * (uint64_t)(shape + 1) + (uint64_t)_i,
						  text, sizeof(text));
			else
				random_schedule(g, seed * 7919 + 1000003u * (uint64_t)(shape + 1) + (uint64_t)_i,
						text, sizeof(text));
			bad = compile_and_check(g, ctx, text, 1 + (int)(seed % 2));
			ran++;
			if (!strncmp(bad, "lowering:", 9)) {
				refused++;
			} else if (bad[0]) {
				if (!wrong++)
					snprintf(first, sizeof(first), "shape %d seed %llu: %s\n%s", shape,
						 (unsigned long long)seed, bad, text);
				fprintf(stderr, "sweep %s shape %d seed %llu: %s\n", examples[_i], shape,
					(unsigned long long)seed, bad);
			}
		}
		te_graph_free(g);
		isl_ctx_free(ctx);
	}
	fprintf(stderr, "sweep %s: %d schedules, %d refused by lowering, %d wrong or failed\n", examples[_i], ran,
		refused, wrong);
	ck_assert_msg(wrong == 0, "%s: %d of %d random schedules wrong; first: %s", examples[_i], wrong, ran, first);
}
END_TEST

/*
 * A parallel loop under `nlets` nested lets (v0 = 0, vk = vk-1 + 1):
 * Y[i] = f32(i + v_last) for i < 8, compiled with 2 threads.  Its body
 * captures the fail flag, the lets and Y.  Returns the compile error, ""
 * when it compiled and computed the right values.
 */
static const char *capture_case(int nlets)
{
	static char msg[RT_ERROR_MSG_MAX];
	lir_func *f = lir_func_new("cap");
	int y = lir_add_buffer(f, "Y", LIR_F32, 8, LIR_GLOBAL), i = lir_add_var(f, "i", LIR_I64), *v;
	lir_stmt *body;
	rt_error err;
	cg_target t;
	cg_jit *j;
	float out[8];
	void *args[1] = {out};

	v = malloc((size_t)nlets * sizeof(int));
	ck_assert_ptr_nonnull(v);
	for (int k = 0; k < nlets; k++) {
		char name[32];

		snprintf(name, sizeof(name), "v%d", k);
		v[k] = lir_add_var(f, name, LIR_I64);
	}
	body = lir_for(f, i, lir_const_int(f, 0, LIR_I64), lir_const_int(f, 8, LIR_I64), 1, LIR_PARALLEL,
		       lir_store(f, y, lir_var_ref(f, i),
				 lir_cast(f, LIR_F32, lir_binary(f, LIR_ADD, lir_var_ref(f, i), lir_var_ref(f, v[nlets - 1])))));
	for (int k = nlets - 1; k >= 0; k--)
		body = lir_let(f, v[k], k ? lir_binary(f, LIR_ADD, lir_var_ref(f, v[k - 1]), lir_const_int(f, 1, LIR_I64))
					  : lir_const_int(f, 0, LIR_I64), body);
	lir_func_set_body(f, body);
	rt_error_clear(&err);
	ck_assert_msg(lir_verify(f, &err) == 0, "%s", err.msg);
	cg_target_host(&t, &err);
	t.threads = 2;
	msg[0] = '\0';
	if (!(j = cg_jit_new(cg_cpu_compile(f, &t, &err), &err))) {
		snprintf(msg, sizeof(msg), "%s", err.msg);
	} else {
		ck_assert_int_eq(cg_jit_entry(j)(args), 0);
		for (int k = 0; k < 8; k++)
			ck_assert_msg(out[k] == (float)(k + nlets - 1), "Y[%d] = %g", k, out[k]);
		cg_jit_free(j);
	}
	free(v);
	lir_func_free(f);
	return msg;
}

/* A parallel body takes at most 1023 captured values (CG_MAX_CAPTURE, one
 * slot being the fail flag): 1022 lets and Y compile, one more is refused
 * with a message naming the limit. */
START_TEST(parallel_capture_limit)
{
	const char *bad = capture_case(1022);

	ck_assert_msg(!bad[0], "%s", bad);
	bad = capture_case(1023);
	ck_assert_msg(strstr(bad, "a parallel loop would capture 1024 variables and buffers; at most 1023"), "%s", bad);
}
END_TEST

/* ---- one emitter, one semantics (cg_emit.h) ---- */

#define SEM_N 16

/* A[i] > 0 op B[i] > 0: the right side loads, so it is evaluated lazily
 * (branches in scalar code, a lane mask in vector code). */
static lir_expr *positive(lir_func *f, lir_op op, int A, int B, int i)
{
	lir_expr *zero = lir_const_float(f, 0, LIR_F32);

	return lir_binary(f, op, lir_binary(f, LIR_GT, lir_load(f, A, lir_var_ref(f, i)), zero),
			  lir_binary(f, LIR_GT, lir_load(f, B, lir_var_ref(f, i)), lir_const_float(f, 0, LIR_F32)));
}

/*
 * C[i] = A[i] > 0 || B[i] > 0 and D[i] = A[i] > 0 && B[i] > 0 (as 1 or 0)
 * over a loop of `kind` (16 lanes when vectorized): the JIT-run kernel
 * against the loop IR interpreter.
 */
static void lazy_logic_case(lir_for_kind kind)
{
	static const float a[SEM_N] = {-3, 3, -3, 3, 5.5f, -5.5f, 0, 7, -1, 1, 2, -2, 9, -9, 4, 0.5f};
	static const float b[SEM_N] = {2, -2, -2, 2, 0, 0, 3, 2.5f, 4, -4, 2, 2, -4, 4, 1, 0.25f};
	lir_func *f = lir_func_new("lazy");
	int A = lir_add_buffer(f, "A", LIR_F32, SEM_N, LIR_GLOBAL), B = lir_add_buffer(f, "B", LIR_F32, SEM_N, LIR_GLOBAL);
	int C = lir_add_buffer(f, "C", LIR_F32, SEM_N, LIR_GLOBAL), D = lir_add_buffer(f, "D", LIR_F32, SEM_N, LIR_GLOBAL);
	int i = lir_add_var(f, "i", LIR_I64);
	lir_expr *one = lir_const_float(f, 1, LIR_F32), *zero = lir_const_float(f, 0, LIR_F32);
	lir_stmt *st[2] = {lir_store(f, C, lir_var_ref(f, i), lir_select(f, positive(f, LIR_OR, A, B, i), one, zero)),
			   lir_store(f, D, lir_var_ref(f, i), lir_select(f, positive(f, LIR_AND, A, B, i), one, zero))};
	float c[SEM_N], d[SEM_N], want_c[SEM_N], want_d[SEM_N];
	void *args[4] = {(void *)a, (void *)b, c, d}, *ref[4] = {(void *)a, (void *)b, want_c, want_d};
	rt_error err;
	cg_target t;
	cg_jit *j;

	lir_func_set_body(f, lir_for(f, i, lir_const_int(f, 0, LIR_I64), lir_const_int(f, SEM_N, LIR_I64), 1, kind,
				     lir_seq(f, 2, st)));
	rt_error_clear(&err);
	ck_assert_msg(lir_verify(f, &err) == 0, "%s", err.msg);
	ck_assert_msg(lir_interp_run(f, ref, &err) == 0, "%s", err.msg);
	cg_target_host(&t, &err);
	t.threads = 1;
	j = cg_jit_new(cg_cpu_compile(f, &t, &err), &err);
	ck_assert_msg(j != NULL, "%s", err.msg);
	ck_assert_int_eq(cg_jit_entry(j)(args), 0);
	for (int k = 0; k < SEM_N; k++)
		ck_assert_msg(c[k] == want_c[k] && d[k] == want_d[k], "%s: A %g B %g: || %g, && %g; want %g, %g",
			      lir_for_kind_name(kind), a[k], b[k], c[k], d[k], want_c[k], want_d[k]);
	ck_assert(want_c[1] == 1 && want_d[1] == 0 && want_d[3] == 1); /* the cases differ */
	cg_jit_free(j);
	lir_func_free(f);
}

START_TEST(lazy_logic)
{
	static const lir_for_kind kinds[] = {LIR_SERIAL, LIR_VECTORIZED, LIR_UNROLLED};

	lazy_logic_case(kinds[_i]);
}
END_TEST

/* ---- cg_range: the ranges behind bound folding and tile versions ---- */

/* min(c, k * q + r) + 1 over variable q. */
static lir_expr *tile_bound(lir_func *f, int q, int64_t c, int64_t k, int64_t r)
{
	lir_expr *e = lir_binary(f, LIR_ADD, lir_binary(f, LIR_MUL, lir_const_int(f, k, LIR_I64), lir_var_ref(f, q)),
				 lir_const_int(f, r, LIR_I64));

	return lir_binary(f, LIR_ADD, lir_binary(f, LIR_MIN, lir_const_int(f, c, LIR_I64), e),
			  lir_const_int(f, 1, LIR_I64));
}

START_TEST(ranges)
{
	lir_func *f = lir_func_new("r");
	int q = lir_add_var(f, "q", LIR_I64), x = lir_add_var(f, "x", LIR_I64), y = lir_add_buffer(f, "Y", LIR_F32, 64, LIR_GLOBAL);
	cg_range v[2] = {{0, 3, true}, {0, 0, false}}, r;
	lir_expr *qv = lir_var_ref(f, q), *b = tile_bound(f, q, 15, -16, 55);
	lir_expr *seven = lir_const_int(f, 7, LIR_I64), *four = lir_const_int(f, 4, LIR_I64);
	lir_expr *big = lir_const_int(f, INT64_C(4611686018427387904), LIR_I64);
	lir_stmt *loop = lir_for(f, x, lir_const_int(f, 0, LIR_I64), b, 1, LIR_SERIAL,
				 lir_store(f, y, lir_var_ref(f, x), lir_const_float(f, 0, LIR_F32)));
	int var;
	int64_t at;
	bool low_full;

	/* min(15, 55 - 16 q) + 1: 16 for q <= 2, 8 for q = 3 */
	r = cg_expr_range(b, v);
	ck_assert(r.known && r.lo == 8 && r.hi == 16);
	v[0] = (cg_range){0, 2, true};
	r = cg_expr_range(b, v);
	ck_assert(r.known && r.lo == 16 && r.hi == 16);
	v[0] = (cg_range){3, 3, true};
	r = cg_expr_range(b, v);
	ck_assert(r.known && r.lo == 8 && r.hi == 8);
	/* floor division and modulo */
	v[0] = (cg_range){0, 9, true};
	r = cg_expr_range(lir_binary(f, LIR_DIV, lir_binary(f, LIR_SUB, qv, seven), four), v);
	ck_assert(r.known && r.lo == -2 && r.hi == 0);
	r = cg_expr_range(lir_binary(f, LIR_MOD, qv, four), v);
	ck_assert(r.known && r.lo == 0 && r.hi == 3);
	v[0] = (cg_range){4, 6, true};
	r = cg_expr_range(lir_binary(f, LIR_MOD, qv, four), v);
	ck_assert(r.known && r.lo == 0 && r.hi == 2);
	/* overflow and i32 limits give unknown; so does an unknown variable */
	r = cg_expr_range(lir_binary(f, LIR_MUL, qv, big), v);
	ck_assert(!r.known);
	r = cg_expr_range(lir_cast(f, LIR_I32, lir_binary(f, LIR_MUL, qv, lir_const_int(f, INT64_C(1) << 31, LIR_I64))), v);
	ck_assert(!r.known);
	ck_assert(!cg_expr_range(lir_var_ref(f, x), v).known);
	/* conditions */
	v[0] = (cg_range){0, 2, true};
	ck_assert_int_eq(cg_cond_value(lir_binary(f, LIR_LE, qv, lir_const_int(f, 2, LIR_I64)), v), 1);
	v[0] = (cg_range){3, 3, true};
	ck_assert_int_eq(cg_cond_value(lir_binary(f, LIR_LE, qv, lir_const_int(f, 2, LIR_I64)), v), 0);
	v[0] = (cg_range){0, 3, true};
	ck_assert_int_eq(cg_cond_value(lir_binary(f, LIR_LE, qv, lir_const_int(f, 2, LIR_I64)), v), -1);
	/* the split of q that makes the bound constant: q < 3 full (k < 0) */
	ck_assert(cg_find_split(loop, v, &var, &at, &low_full));
	ck_assert(var == q && at == 3 && low_full);
	/* min(5, 4 q - 3): q >= 2 full (k > 0) */
	v[0] = (cg_range){0, 5, true};
	loop = lir_for(f, x, lir_const_int(f, 0, LIR_I64), tile_bound(f, q, 5, 4, -3), 1, LIR_SERIAL,
		       lir_store(f, y, lir_var_ref(f, x), lir_const_float(f, 0, LIR_F32)));
	ck_assert(cg_find_split(loop, v, &var, &at, &low_full));
	ck_assert(var == q && at == 2 && !low_full);
	/* none when the bound is already constant over q's range */
	v[0] = (cg_range){2, 5, true};
	ck_assert(!cg_find_split(loop, v, &var, &at, &low_full));
	lir_func_free(f);
}
END_TEST

/* ---- isolation: a crashing or hanging candidate ---- */

static int run_in_child(void *ctx, void *shm, size_t size)
{
	void **args = ctx;

	(void)shm;
	(void)size;
	return ((cg_packed_fn)(uintptr_t)args[0])(args + 1);
}

static void isolate_fault(int fault, rt_isolate_status want1, rt_isolate_status want2)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = small_example("gemm", ctx);
	rt_error err;
	lir_func *f;
	cg_target t;
	cg_jit *j;
	float a[35], b[45], c[63];
	void *args[4];
	rt_isolate_result res;

	rt_error_clear(&err);
	f = lir_lower(g, NULL, ctx, "kernel", &err);
	ck_assert_ptr_nonnull(f);
	cg_target_host(&t, &err);
	t.fault = fault;
	j = cg_jit_new(cg_cpu_compile(f, &t, &err), &err);
	ck_assert_msg(j != NULL, "%s", err.msg);
	args[0] = (void *)(uintptr_t)cg_jit_entry(j);
	args[1] = a;
	args[2] = b;
	args[3] = c;
	ck_assert_int_eq(rt_isolate_run(run_in_child, args, 0, 1.0, &res), want1 == RT_ISO_OK ? 0 : -1);
	ck_assert_msg(res.status == want1 || res.status == want2, "status %d: %s", res.status, res.reason);
	ck_assert(want1 == RT_ISO_OK || res.reason[0]);
	rt_isolate_result_release(&res);
	cg_jit_free(j);
	lir_func_free(f);
	te_graph_free(g);
	isl_ctx_free(ctx);
}

START_TEST(crashing_kernel_is_reported)
{
	/* Under AddressSanitizer the child reports the crash and exits instead. */
	isolate_fault(1, RT_ISO_SIGNAL, RT_ISO_EXIT);
	/* The process survives and goes on: a good kernel still runs. */
	isolate_fault(0, RT_ISO_OK, RT_ISO_OK);
}
END_TEST

START_TEST(hanging_kernel_times_out)
{
	isolate_fault(2, RT_ISO_TIMEOUT, RT_ISO_TIMEOUT);
}
END_TEST

/*
 * test_codegen [PART NPARTS]: the example tests of the examples with index
 * % NPARTS == PART (all by default), so that the suite can run them in
 * parallel; part 0 also runs the hand-made cases.  CK_RUN_CASE=regress, tails or
 * sweep runs one test case alone.
 */
int main(int argc, char **argv)
{
	Suite *s = suite_create("codegen");
	TCase *tc = tcase_create("codegen"), *sweep = tcase_create("sweep");
	int part = argc > 2 ? atoi(argv[1]) : 0, nparts = argc > 2 ? atoi(argv[2]) : 1;
	SRunner *sr;
	int failed;

	if (nparts < 1 || part < 0 || part >= nparts) {
		fprintf(stderr, "usage: test_codegen [PART NPARTS]\n");
		return EXIT_FAILURE;
	}
	tcase_set_timeout(tc, 900);
	tcase_set_timeout(sweep, 900);
	if (part == 0) {
		TCase *rc = tcase_create("regress"), *tl = tcase_create("tails");

		tcase_add_loop_test(tc, awkward_sizes, 0, sizeof(awkward) / sizeof(awkward[0]));
		tcase_add_test(tc, crashing_kernel_is_reported);
		tcase_add_test(tc, hanging_kernel_times_out);
		tcase_set_timeout(rc, 900);
		tcase_add_loop_test(rc, regressions, 0, sizeof(regress) / sizeof(regress[0]));
		tcase_add_test(rc, ranges);
		tcase_add_test(rc, parallel_capture_limit);
		tcase_add_loop_test(rc, lazy_logic, 0, 3);
		suite_add_tcase(s, rc);
		tcase_set_timeout(tl, 900);
		tcase_add_loop_test(tl, tail_tiles, 0, sizeof(tails) / sizeof(tails[0]));
		tcase_add_loop_test(tl, blocked_copies, 0, sizeof(blocks) / sizeof(blocks[0]));
		tcase_add_loop_test(tl, blocked_copy_vectors, 0, sizeof(block_ir) / sizeof(block_ir[0]));
		suite_add_tcase(s, tl);
	}
	for (int i = part; i < NEXAMPLES; i += nparts) {
		tcase_add_loop_test(tc, examples_compile_and_match, i, i + 1);
		tcase_add_loop_test(sweep, random_schedule_sweep, i, i + 1);
	}
	suite_add_tcase(s, tc);
	suite_add_tcase(s, sweep);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
