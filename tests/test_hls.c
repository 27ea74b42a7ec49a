/*
 * Tests of the HLS back end: the pipeline and partition steps through
 * parsing and lowering, the lints, the analytic model (recurrence and
 * memory bounds on the II, resources), the HLS space and the tuner, a
 * golden HLS C file, the driver's entry points, and C simulation: every
 * example, naive pipelined and under five searched schedules, compiled
 * with the host C compiler and compared with the reference interpreter.
 */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cg_hls.h"
#include "check_jit.h"
#include "cli.h"
#include "hls_model.h"
#include "lower.h"
#include "sched_gen.h"
#include "srch_hls.h"
#include "te_bufs.h"
#include "te_parse.h"
#include "te_verify.h"

#define SEARCHED 5 /* searched schedules per example in C simulation */

static te_graph *graph_of(const char *text, isl_ctx *ctx)
{
	rt_error err;
	te_graph *g;

	rt_error_clear(&err);
	g = te_parse(text, NULL, 0, &err);
	ck_assert_msg(g != NULL, "%s", err.msg);
	ck_assert_msg(te_verify(g, ctx, &err) == 0, "%s", err.msg);
	return g;
}

/* Lower schedule text (NULL: naive) or fail the test. */
static lir_func *lower_ok(const te_graph *g, isl_ctx *ctx, const char *text, const char *name)
{
	rt_error err;
	sch_schedule *s = NULL;
	lir_func *f;

	rt_error_clear(&err);
	if (text) {
		s = sch_parse(text, &err);
		ck_assert_msg(s != NULL, "%s", err.msg);
	}
	f = lir_lower(g, s, ctx, name, &err);
	ck_assert_msg(f != NULL, "lowering: %s\n%s", err.msg, text ? text : "");
	sch_free(s);
	return f;
}

static cg_target hls_target(const char *text)
{
	cg_target t;
	rt_error err;

	rt_error_clear(&err);
	ck_assert_msg(cg_target_parse(text, &t, &err) == 0, "%s", err.msg);
	return t;
}

static void estimate_ok(const te_graph *g, isl_ctx *ctx, const char *text, const char *target, hls_estimate *e)
{
	cg_target t = hls_target(target);
	lir_func *f = lower_ok(g, ctx, text, "k");
	rt_error err;

	rt_error_clear(&err);
	ck_assert_msg(cg_hls_lint(f, &err) == 0, "%s", err.msg);
	ck_assert_msg(hls_model_estimate(f, &t, e, &err) == 0, "%s", err.msg);
	lir_func_free(f);
}

/* ---- the schedule steps ---- */

START_TEST(steps_round_trip)
{
	const char *text = "pipeline C k.i\npipeline C j 4\npartition C.local cyclic 16\n"
			   "partition A.local block 2\npartition B.local complete\n";
	rt_error err;
	sch_schedule *s;
	char *out;

	rt_error_clear(&err);
	s = sch_parse(text, &err);
	ck_assert_msg(s != NULL, "%s", err.msg);
	ck_assert_int_eq(s->nsteps, 5);
	ck_assert_int_eq(s->steps[0].kind, SCH_PIPELINE);
	ck_assert_int_eq(s->steps[0].ii, 0);
	ck_assert_int_eq(s->steps[1].ii, 4);
	ck_assert_int_eq(s->steps[2].kind, SCH_PARTITION);
	ck_assert_int_eq(s->steps[2].part, SCH_PART_CYCLIC);
	ck_assert_int_eq(s->steps[2].factor, 16);
	ck_assert_int_eq(s->steps[3].part, SCH_PART_BLOCK);
	ck_assert_int_eq(s->steps[4].part, SCH_PART_COMPLETE);
	out = sch_print(s);
	ck_assert_str_eq(out, text);
	free(out);
	sch_free(s);
}
END_TEST

static const struct {
	const char *text, *msg;
	int col;
} bad_steps[] = {
	{"pipeline C", "pipeline needs STAGE LOOP [II]", 12},
	{"pipeline C k 0", "bad II '0': must be a positive integer", 14},
	{"pipeline C k 2 3", "extra argument '3': pipeline needs STAGE LOOP [II]", 16},
	{"partition C.local", "partition needs STAGE cyclic|block FACTOR or STAGE complete", 19},
	{"partition C.local ring 4", "unknown partition 'ring' (expected cyclic, block or complete)", 19},
	{"partition C.local cyclic", "partition cyclic needs a FACTOR", 26},
	{"partition C.local block x", "bad factor 'x': must be a positive integer", 25},
	{"partition C.local complete 4", "extra argument '4'", 28},
};

START_TEST(steps_bad_text)
{
	rt_error err;

	rt_error_clear(&err);
	ck_assert_ptr_null(sch_parse(bad_steps[_i].text, &err));
	ck_assert_msg(strstr(err.msg, bad_steps[_i].msg) != NULL, "'%s': got '%s'", bad_steps[_i].text, err.msg);
	ck_assert_int_eq(err.col, bad_steps[_i].col);
}
END_TEST

static const char gemm16[] = "param M = 4, N = 16, K = 16\ninput A[M, K] f32\ninput B[K, N] f32\n"
			     "C[i < M, j < N] = sum(k < K) A[i, k] * B[k, j]\n";

/* Pipelined loops and partitions reach the loop IR; other back ends run
 * them as they are. */
START_TEST(lowering_carries_directives)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = graph_of(gemm16, ctx);
	lir_func *f = lower_ok(g, ctx,
			       "split C j 4\nreorder C i k j.o j.i\ncache_write C i local\npipeline C j.o 2\n"
			       "unroll C j.i\npartition C.local cyclic 4\n",
			       "k");
	char *text = lir_print(f);

	ck_assert_msg(strstr(text, "pipelined II=2 for (j_o") != NULL, "%s", text);
	ck_assert_msg(strstr(text, "allocate f32 C.local[16] local partition cyclic 4 {") != NULL, "%s", text);
	ck_assert_str_eq(check_kernel(g, f), "");
	free(text);
	lir_func_free(f);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/* The CPU back end runs a pipelined loop as a serial one and ignores
 * partitions. */
START_TEST(cpu_runs_directives)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = graph_of(gemm16, ctx);
	lir_func *f = lower_ok(g, ctx,
			       "split C j 4\nreorder C i k j.o j.i\ncache_write C i local\npipeline C j.o 2\n"
			       "vectorize C j.i\npartition C.local block 2\n",
			       "k");

	ck_assert_str_eq(check_jit(g, f, 0), "");
	lir_func_free(f);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

static const struct {
	const char *sched, *msg;
} bad_lowering[] = {
	{"partition A cyclic 2\n", "partition A: 'A' is an input, in off-chip memory"},
	{"partition C complete\n", "partition C: 'C' is an output, in off-chip memory"},
	{"partition X cyclic 2\n", "partition X: 'X' is no stage"},
	{"cache_write C j local\npartition C.local cyclic 2\npartition C.local complete\n",
	 "partition C.local: already partitioned at line 2"},
	{"pipeline C k\nunroll C k\n", "cannot unroll C's loop 'k': it is already annotated pipeline at line 1"},
	{"pipeline C x\n", "C has no loop 'x'"},
};

START_TEST(lowering_refuses)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = graph_of(gemm16, ctx);
	sch_schedule *s;
	rt_error err;

	rt_error_clear(&err);
	s = sch_parse(bad_lowering[_i].sched, &err);
	ck_assert_ptr_nonnull(s);
	ck_assert_ptr_null(lir_lower(g, s, ctx, "k", &err));
	ck_assert_msg(strstr(err.msg, bad_lowering[_i].msg) != NULL, "got '%s'", err.msg);
	sch_free(s);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/* ---- the lints ---- */

START_TEST(lint_rejects_lir)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = graph_of(gemm16, ctx);
	lir_func *f;
	rt_error err;

	f = lower_ok(g, ctx, "pipeline C j\npipeline C k\n", "k");
	rt_error_clear(&err);
	ck_assert_int_eq(cg_hls_lint(f, &err), -1);
	ck_assert_msg(strstr(err.msg, "loop 'k' is pipelined inside the pipelined loop 'j'") != NULL, "%s", err.msg);
	lir_func_free(f);
	/* split by 3 leaves a tail: k.i's bounds vary inside the pipeline */
	f = lower_ok(g, ctx, "split C k 3\npipeline C k.o\n", "k");
	rt_error_clear(&err);
	ck_assert_int_eq(cg_hls_lint(f, &err), -1);
	ck_assert_msg(strstr(err.msg, "inside the pipelined loop 'k_o' has bounds that vary") != NULL, "%s", err.msg);
	lir_func_free(f);
	f = lower_ok(g, ctx, "split C k 4\npipeline C k.o\nbind C i blockIdx.x\n", "k");
	rt_error_clear(&err);
	ck_assert_int_eq(cg_hls_lint(f, &err), 0);
	lir_func_free(f);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

static const struct {
	const char *text, *msg;
	int line, col;
} bad_c[] = {
	{"void k(float A[4])\n{\n\tfloat *p = malloc(16);\n}\n", "declares a pointer", 3, 8},
	{"void k(float A[4])\n{\n\tA[0] = malloc(16);\n}\n", "'malloc' cannot be synthesized", 3, 9},
	{"void k(float *A)\n{\n}\n", "declares a pointer", 1, 14},
	{"void k(int n, float A[4])\n{\n\tfloat t[n];\n}\n", "array of non-constant size", 3, 10},
	{"void k(float A[4])\n{\n\tk(A);\n}\n", "call of 'k', which is neither a helper", 3, 2},
	{"void k(float A[4])\n{\nl:\n\tgoto l;\n}\n", "'goto' cannot be synthesized", 4, 2},
	{"struct s { int v; };\nvoid k(struct s x[1])\n{\n\tx->v = 0;\n}\n", "'->'", 4, 3},
};

START_TEST(lint_rejects_c)
{
	rt_error err;

	rt_error_clear(&err);
	ck_assert_int_eq(cg_hls_lint_c(bad_c[_i].text, &err), -1);
	ck_assert_msg(strstr(err.msg, bad_c[_i].msg) != NULL, "%d: got '%s'", _i, err.msg);
	ck_assert_int_eq(err.line, bad_c[_i].line);
	ck_assert_int_eq(err.col, bad_c[_i].col);
}
END_TEST

START_TEST(lint_accepts_helpers_and_math)
{
	rt_error err;
	const char *ok = "/* malloc in a comment, float *p too */\n#include <math.h>\n"
			 "static inline int ftc_min(int a, int b)\n{\n\treturn a < b ? a : b;\n}\n\n"
			 "void k(const float A[4], float B[4])\n{\n\tfloat t[4];\n"
			 "\tfor (int i = 0; i < ftc_min(4, 9); i++)\n\t\tt[i] = expf(A[i]) * (float)(i);\n"
			 "\tB[0] = sqrtf(fabsf(t[1]));\n}\n";

	rt_error_clear(&err);
	ck_assert_msg(cg_hls_lint_c(ok, &err) == 0, "%d:%d: %s", err.line, err.col, err.msg);
}
END_TEST

/* ---- the model ---- */

/* A float accumulation pipelined along its reduction runs at the adder's
 * latency (4 cycles at 300 MHz, 2 at 100 MHz); interleaving accumulators
 * (the reduction outside the pipelined spatial loop) brings it to 1. */
START_TEST(model_accumulation_ii)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = graph_of(gemm16, ctx);
	hls_estimate e;
	int k = -1;

	estimate_ok(g, ctx, "cache_write C j local\npipeline C k\n", "hls", &e);
	ck_assert_int_eq(e.npipes, 1);
	ck_assert_int_eq(e.pipes[0].ii_rec, 4);
	ck_assert_int_eq(e.pipes[0].ii, 4);
	ck_assert_int_eq(e.pipes[0].ii_mem, 1);
	ck_assert_msg(strstr(e.pipes[0].why, "recurrence: 'C.local'") != NULL, "%s", e.pipes[0].why);
	estimate_ok(g, ctx, "cache_write C j local\npipeline C k\n", "hls -clock=100MHz", &e);
	ck_assert_int_eq(e.pipes[0].ii, 2);
	estimate_ok(g, ctx, "reorder C i k j\ncache_write C i local\npipeline C j\n", "hls", &e);
	for (int i = 0; i < e.npipes; i++)
		k = e.pipes[i].flattened ? i : k;
	ck_assert_int_ge(k, 0);
	ck_assert_int_eq(e.pipes[k].flattened, 1);
	ck_assert_int_eq(e.pipes[k].trip, 16 * 16);
	ck_assert_int_eq(e.pipes[k].ii_rec, 1);
	ck_assert_int_eq(e.pipes[k].ii, 1);
	/* through off-chip memory the AXI round trip joins the chain */
	estimate_ok(g, ctx, "pipeline C k\n", "hls", &e);
	ck_assert_int_eq(e.pipes[0].ii, 64 + 1 + 4);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

static const char axpy[] = "input X[4, 32] f32\ninput W[32] f32\nY[i < 4, j < 32] = X[i, j] * W[j] + X[i, j]\n";
static const char axpy_sched[] = "split Y j 8\ncache_read X Y i local\ncache_read W Y i local\n"
				 "cache_write Y i local\nunroll Y j.i\n";

/* Eight unrolled accesses per iteration to each of three buffers: one
 * bank with two ports gives II 4; partitioning spreads them. */
START_TEST(model_partition_ii)
{
	static const struct {
		const char *extra;
		int ii;
	} cases[] = {
		{"", 4},
		{"partition X.local cyclic 8\npartition W.local cyclic 8\npartition Y.local cyclic 8\n", 1},
		{"partition X.local cyclic 8\npartition W.local cyclic 2\npartition Y.local cyclic 8\n", 2},
		{"partition X.local cyclic 8\npartition W.local block 4\npartition Y.local cyclic 8\n", 4},
		{"partition X.local cyclic 8\npartition W.local block 8\npartition Y.local complete\n", 2},
		{"partition X.local complete\npartition W.local complete\npartition Y.local complete\n", 1},
	};
	isl_ctx *ctx = new_ctx();
	te_graph *g = graph_of(axpy, ctx);
	char text[1024];
	hls_estimate e;

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		snprintf(text, sizeof(text), "%spipeline Y j.o\n%s", axpy_sched, cases[c].extra);
		estimate_ok(g, ctx, text, "hls", &e);
		ck_assert_int_eq(e.npipes, 1);
		ck_assert_msg(e.pipes[0].ii == cases[c].ii, "case %zu: II %d, want %d (%s)", c, e.pipes[0].ii, cases[c].ii,
			      e.pipes[0].why);
		ck_assert_int_eq(e.pipes[0].copies, 8);
		ck_assert_int_eq(e.pipes[0].trip, 4);
	}
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/* Eight unrolled multiply-adds: 8 fmul (3 DSPs) and 8 fadd (2 DSPs) at II
 * 1, half as many units at II 2; BRAMs by banks and depth. */
START_TEST(model_resources)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = graph_of(axpy, ctx);
	const char *parts = "partition X.local cyclic 8\npartition W.local cyclic 8\npartition Y.local cyclic 8\n";
	char text[1024];
	hls_estimate e;

	snprintf(text, sizeof(text), "%spipeline Y j.o\n%s", axpy_sched, parts);
	estimate_ok(g, ctx, text, "hls", &e);
	ck_assert_int_eq(e.dsp, 8 * 3 + 8 * 2);
	ck_assert_int_eq(e.bram18k, 3 * 2); /* small banks are LUTRAM; 2 per AXI port */
	ck_assert(e.fits);
	snprintf(text, sizeof(text), "%spipeline Y j.o 2\n%s", axpy_sched, parts);
	estimate_ok(g, ctx, text, "hls", &e);
	ck_assert_int_eq(e.pipes[0].ii, 2);
	ck_assert_int_eq(e.dsp, 4 * 3 + 4 * 2);
	te_graph_free(g);
	g = graph_of("input X[2048] f32\nY[i < 2048] = X[i] * 2.0\n", ctx);
	estimate_ok(g, ctx, "split Y i 1024\ncache_read X Y i.o local\npipeline Y i.i\n", "hls", &e);
	ck_assert_int_eq(e.bram18k, 2 + 2 * 2);
	ck_assert_int_eq(e.dsp, 3);
	estimate_ok(g, ctx, "split Y i 1024\ncache_read X Y i.o local\npipeline Y i.i\npartition X.local cyclic 4\n",
		    "hls", &e);
	ck_assert_int_eq(e.bram18k, 4 + 2 * 2);
	estimate_ok(g, ctx, "split Y i 1024\ncache_read X Y i.o local\npipeline Y i.i\npartition X.local complete\n",
		    "hls", &e);
	ck_assert_int_eq(e.bram18k, 2 * 2);
	ck_assert(e.fits);
	te_graph_free(g);
	/* partitioning is limited to 4096 banks */
	g = graph_of("input X[8192] f32\nY[i < 8192] = X[i] * 2.0\n", ctx);
	estimate_ok(g, ctx, "split Y i 8192\ncache_read X Y i.o local\npipeline Y i.i\npartition X.local complete\n",
		    "hls", &e);
	ck_assert(!e.fits);
	ck_assert_msg(strstr(e.over, "'X.local' in 8192 banks > 4096") != NULL, "%s", e.over);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/* Latency from trip counts: (trips - 1) * II + depth per pipeline. */
START_TEST(model_latency_and_budget)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = graph_of(axpy, ctx), *big;
	hls_estimate e, e2;
	char text[1024];

	snprintf(text, sizeof(text), "%spipeline Y j.o\npartition X.local complete\npartition W.local complete\n"
		 "partition Y.local complete\n", axpy_sched);
	estimate_ok(g, ctx, text, "hls", &e);
	ck_assert(e.cycles > 4 * ((4 - 1) * 1 + e.pipes[0].depth));
	ck_assert(e.seconds > 0 && fabs(e.seconds - e.cycles / 300e6) < 1e-12);
	estimate_ok(g, ctx, text, "hls -clock=150MHz", &e2);
	ck_assert(fabs(e2.seconds - e2.cycles / 150e6) < 1e-12);
	big = graph_of("param M = 64, N = 64, K = 64\ninput A[M, K] f32\ninput B[K, N] f32\n"
		       "C[i < M, j < N] = sum(k < K) A[i, k] * B[k, j]\n",
		       ctx);
	estimate_ok(big, ctx,
		    "split C i 8\nreorder C i.o k i.i j\ncache_write C i.o local\ncache_read B C k local\n"
		    "pipeline C i.i\nunroll C j\npartition C.local complete\npartition B.local complete\n",
		    "hls -part=xc7z020", &e);
	ck_assert(!e.fits);
	ck_assert_msg(strstr(e.over, "DSP 320 > 220") != NULL, "%s", e.over);
	te_graph_free(big);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/* ---- the space and the tuner ---- */

START_TEST(space_points)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = small_example(examples[_i], ctx);
	srch_space *sp = calloc(1, sizeof(*sp));
	uint64_t rng = 11 + (uint64_t)_i;
	srch_point p, q;
	rt_error err;
	char *text, *pt;

	rt_error_clear(&err);
	ck_assert_msg(srch_space_init(sp, g, CG_TARGET_HLS, &err) == 0, "%s", err.msg);
	srch_point_default(sp, &p);
	ck_assert(srch_point_valid(sp, &p));
	text = srch_point_schedule(sp, &p);
	ck_assert_msg(strstr(text, "pipeline ") != NULL, "%s: %s", examples[_i], text);
	free(text);
	for (int n = 0; n < 3; n++) {
		lir_func *f;

		srch_point_random(sp, &rng, &p);
		ck_assert(srch_point_valid(sp, &p));
		text = srch_point_schedule(sp, &p);
		f = lower_ok(g, ctx, text, "k");
		rt_error_clear(&err);
		ck_assert_msg(cg_hls_lint(f, &err) == 0, "%s: %s\n%s", examples[_i], err.msg, text);
		ck_assert_msg(!check_kernel(g, f)[0], "%s: %s\n%s", examples[_i], check_kernel(g, f), text);
		pt = srch_point_print(sp, &p);
		ck_assert_msg(srch_point_parse(sp, pt, &q, &err) == 0, "%s", err.msg);
		ck_assert(srch_point_equal(sp, &p, &q));
		free(pt);
		free(text);
		lir_func_free(f);
	}
	srch_space_release(sp);
	free(sp);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

typedef struct counter {
	int records, progress;
} counter;

static int count_record(void *user, srch_record *r)
{
	counter *c = user;

	ck_assert_ptr_nonnull(r->schedule);
	c->records++;
	return 0;
}

static void count_progress(void *user, const srch_progress *p)
{
	((counter *)user)->progress += p->trial > 0;
}

static void tune(const te_graph *g, isl_ctx *ctx, const char *target, int trials, srch_method m, counter *c,
		 srch_result *r)
{
	cg_target t = hls_target(target);
	srch_tune_opts o;
	rt_error err;

	srch_tune_opts_default(&o);
	o.trials = trials;
	o.method = m;
	o.seed = 3;
	o.patience = 0;
	o.record = count_record;
	o.record_user = c;
	o.progress = count_progress;
	o.user = c;
	rt_error_clear(&err);
	ck_assert_msg(srch_tune_hls(g, ctx, &t, &o, r, &err) == 0, "%s", err.msg);
}

START_TEST(tuner_runs_and_repeats)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = graph_of("param M = 32, N = 32, K = 32\ninput A[M, K] f32\ninput B[K, N] f32\n"
			       "C[i < M, j < N] = sum(k < K) A[i, k] * B[k, j]\n",
			       ctx);
	counter c = {0, 0}, c2 = {0, 0};
	srch_result r, r2;

	tune(g, ctx, "hls", 25, SRCH_SA_Q, &c, &r);
	ck_assert_int_eq(r.nrecords, 25);
	ck_assert_int_eq(c.records, 25);
	ck_assert_int_eq(c.progress, 25);
	ck_assert(isfinite(r.naive_seconds));
	ck_assert_int_ge(r.best, 0);
	ck_assert(r.records[r.best].verified);
	ck_assert(r.records[r.best].seconds < r.naive_seconds / 10);
	for (int i = 0; i < r.nrecords; i++)
		ck_assert(r.records[i].status == SRCH_OK || r.records[i].reason[0]);
	tune(g, ctx, "hls", 25, SRCH_SA_Q, &c2, &r2);
	for (int i = 0; i < r.nrecords; i++) {
		ck_assert_str_eq(r.records[i].schedule, r2.records[i].schedule);
		ck_assert(r.records[i].seconds == r2.records[i].seconds);
	}
	srch_result_release(&r);
	srch_result_release(&r2);
	/* A small part: big unrolls are over budget and say why. */
	memset(&c, 0, sizeof(c));
	tune(g, ctx, "hls -part=xc7z020", 30, SRCH_RANDOM, &c, &r);
	for (int i = 0; i < r.nrecords; i++)
		if (strstr(r.records[i].reason, "over budget"))
			ck_assert_msg(strstr(r.records[i].reason, "> 220") || strstr(r.records[i].reason, "> 280") ||
					      strstr(r.records[i].reason, "> 53200"),
				      "%s", r.records[i].reason);
	srch_result_release(&r);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/* ---- generated files ---- */

static char *kernel_text(const te_graph *g, isl_ctx *ctx, const char *sched, const char *name)
{
	lir_func *f = lower_ok(g, ctx, sched, name);
	cg_hls_info info = {name, "hls -part=xcvu9p -clock=300MHz", sched, NULL};
	rt_error err;
	char *text;

	rt_error_clear(&err);
	ck_assert_msg(cg_hls_lint(f, &err) == 0, "%s", err.msg);
	text = cg_hls_kernel(f, g, &info, &err);
	ck_assert_msg(text != NULL, "%s", err.msg);
	lir_func_free(f);
	return text;
}

/* Loops whose bounds vary get a trip count range; labels name loops. */
START_TEST(tripcount_pragma)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = graph_of("param M = 7, N = 9, K = 5\ninput A[M, K] f32\ninput B[K, N] f32\n"
			       "C[i < M, j < N] = sum(k < K) A[i, k] * B[k, j]\n",
			       ctx);
	char *text = kernel_text(g, ctx, "split C j 4\npipeline C k\n", "gemm");

	ck_assert_msg(strstr(text, "j_i_loop: for (int j_i = 0; j_i < ftc_min(3, (-4) * j_o + 8) + 1; j_i++) {\n"
				   "\t\t\t\t#pragma HLS LOOP_TRIPCOUNT min=1 max=4 avg=2\n") != NULL,
		      "%s", text);
	ck_assert_msg(strstr(text, "static inline int ftc_min(int a, int b)") != NULL, "%s", text);
	ck_assert_msg(strstr(text, "k_loop: for (int k = 0; k < 5; k++) {\n\t\t\t\t\t#pragma HLS PIPELINE II=1\n") !=
			      NULL,
		      "%s", text);
	free(text);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/* A tiled GEMM with local buffers, a pipeline and partitions, as HLS C. */
START_TEST(golden_gemm_hls)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = graph_of("param M = 8, N = 8, K = 8\ninput A[M, K] f32\ninput B[K, N] f32\n"
			       "C[i < M, j < N] = sum(k < K) A[i, k] * B[k, j]\n",
			       ctx);
	const char *sched = "split C i 4\nsplit C j 4\nsplit C k 4\nreorder C i.o j.o k.o k.i i.i j.i\n"
			    "cache_write C j.o local\ncache_read A C k.o local\ncache_read B C k.o local\n"
			    "pipeline C i.i\nunroll C j.i\nfuse A.local d0 d1\npipeline A.local d0+d1\n"
			    "fuse B.local d0 d1\npipeline B.local d0+d1\nfuse C.local d0 d1\npipeline C.local d0+d1\n"
			    "partition C.local cyclic 4\npartition B.local cyclic 4\n";
	char path[1024], *got = kernel_text(g, ctx, sched, "gemm"), *want;
	rt_error err;

	snprintf(path, sizeof(path), "%s/tests/golden/gemm_hls.c", root());
	want = read_text(path);
	if (getenv("FTC_UPDATE_GOLDEN")) {
		FILE *out = fopen(path, "w");

		fputs(got, out);
		fclose(out);
	} else {
		ck_assert_msg(want != NULL, "missing golden file %s", path);
		ck_assert_msg(strcmp(want, got) == 0, "%s differs; got:\n%s", path, got);
	}
	rt_error_clear(&err);
	ck_assert_msg(cg_hls_lint_c(got, &err) == 0, "%d:%d: %s", err.line, err.col, err.msg);
	free(want);
	free(got);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/* ---- C simulation ---- */

/* A fresh directory under $TMPDIR (malloc'd). */
static char *temp_dir(void)
{
	const char *base = getenv("TMPDIR") && getenv("TMPDIR")[0] ? getenv("TMPDIR") : "/tmp";
	char *dir = malloc(strlen(base) + 32);

	ck_assert_ptr_nonnull(dir);
	sprintf(dir, "%s/ftc-hls-XXXXXX", base);
	ck_assert_msg(mkdtemp(dir) != NULL, "mkdtemp: %s", strerror(errno));
	return dir;
}

static void put_file(const char *dir, const char *name, const char *text)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	ck_assert(fputs(text, f) >= 0);
	ck_assert(fclose(f) == 0);
}

static void remove_dir(const char *dir)
{
	static const char *const files[] = {"k.c", "k.h", "k_tb.c", "k.tcl", "tb", "out.bin", "log"};
	char path[1024];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		remove(path);
	}
	rmdir(dir);
}

/* The outputs the testbench wrote against te_interp's on the same seeded
 * inputs; "" or a message. */
static const char *compare_outputs(const te_graph *g, const char *path)
{
	static char msg[512];
	FILE *f = fopen(path, "rb");
	rt_error err;
	te_cmp c;
	te_bufs b;
	int bad;

	msg[0] = '\0';
	rt_error_clear(&err);
	if (te_bufs_init(&b, g, 1, &err) || te_bufs_reference(&b, &err))
		snprintf(msg, sizeof(msg), "reference: %.400s", err.msg);
	else if (!f)
		snprintf(msg, sizeof(msg), "no output file %.400s", path);
	for (int i = 0; i < b.n && !msg[0]; i++) {
		const te_stage *s = te_graph_stage(g, i);
		size_t bytes = (size_t)te_stage_bytes(s);

		if (s->kind == TE_STAGE_COMPUTE && s->is_output && fread(b.got[i], 1, bytes, f) != bytes)
			snprintf(msg, sizeof(msg), "%.64s: short output file", s->name);
	}
	if (!msg[0] && (bad = te_bufs_first_wrong(&b, &c)) >= 0)
		snprintf(msg, sizeof(msg), "%.64s: %lld elements differ from the reference, max abs err %g",
			 te_graph_stage(g, bad)->name, (long long)c.nbad, c.max_abs);
	if (f)
		fclose(f);
	te_bufs_free(&b);
	return msg;
}

/* Generate kernel, header and testbench for schedule text (ref: g's naive
 * loop IR, named k_ref, kept), compile them with the host C compiler, run
 * the testbench and compare its outputs with the reference interpreter.
 * "" or a message. */
static const char *csim(const te_graph *g, isl_ctx *ctx, const lir_func *ref, const char *sched)
{
	static char msg[4096];
	cg_hls_info info = {"k", "hls", sched, NULL};
	lir_func *f = lower_ok(g, ctx, sched, "k");
	char *dir = temp_dir(), *c, *h, *tb, cmd[4096];
	const char *cc = getenv("CC") && getenv("CC")[0] ? getenv("CC") : "cc";
	rt_error err;
	int rc;

	rt_error_clear(&err);
	msg[0] = '\0';
	if (cg_hls_lint(f, &err) || !(c = cg_hls_kernel(f, g, &info, &err)) ||
	    !(h = cg_hls_header(f, g, &info, &err)) || !(tb = cg_hls_testbench(f, ref, g, &info, &err))) {
		snprintf(msg, sizeof(msg), "generating: %s", err.msg);
		goto out;
	}
	if (cg_hls_lint_c(c, &err))
		snprintf(msg, sizeof(msg), "lint of k.c: %d:%d: %s", err.line, err.col, err.msg);
	put_file(dir, "k.c", c);
	put_file(dir, "k.h", h);
	put_file(dir, "k_tb.c", tb);
	free(c);
	free(h);
	free(tb);
	if (msg[0])
		goto out;
	snprintf(cmd, sizeof(cmd), "%s -std=c11 -O1 -w -I %s %s/k.c %s/k_tb.c -lm -o %s/tb > %s/log 2>&1", cc, dir, dir,
		 dir, dir, dir);
	if ((rc = system(cmd)) != 0) {
		snprintf(msg, sizeof(msg), "the C compiler failed (%d); see %s/log", rc, dir);
		goto out;
	}
	snprintf(cmd, sizeof(cmd), "%s/tb 1 %s/out.bin > %s/log 2>&1", dir, dir, dir);
	if ((rc = system(cmd)) != 0) {
		char path[1024], *log;

		snprintf(path, sizeof(path), "%s/log", dir);
		log = read_text(path);
		snprintf(msg, sizeof(msg), "the testbench failed (%d): %.3000s", rc, log ? log : "");
		free(log);
		goto out;
	}
	snprintf(cmd, sizeof(cmd), "%s/out.bin", dir);
	snprintf(msg, sizeof(msg), "%s", compare_outputs(g, cmd));
out:
	if (!msg[0])
		remove_dir(dir);
	free(dir);
	lir_func_free(f);
	return msg;
}

/* Up to `max` distinct schedules the tuner found within budget, best first. */
static int searched(const srch_result *r, const char **out, int max)
{
	int n = 0;

	if (r->best >= 0)
		out[n++] = r->records[r->best].schedule;
	for (int i = 1; i < r->nrecords && n < max; i++) {
		bool seen = false;

		if (r->records[i].status != SRCH_OK)
			continue;
		for (int j = 0; j < n; j++)
			seen = seen || !strcmp(out[j], r->records[i].schedule);
		if (!seen)
			out[n++] = r->records[i].schedule;
	}
	return n;
}

START_TEST(csim_examples)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = small_example(examples[_i], ctx);
	const char *list[SEARCHED];
	counter c = {0, 0};
	srch_result r;
	rt_error err;
	lir_func *ref;
	char *naive;
	const char *bad;
	int n;

	rt_error_clear(&err);
	naive = srch_hls_default_schedule(g, &err);
	ck_assert_msg(naive != NULL, "%s", err.msg);
	ref = lower_ok(g, ctx, NULL, "k_ref");
	bad = csim(g, ctx, ref, naive);
	ck_assert_msg(!bad[0], "%s naive pipelined: %s\n%s", examples[_i], bad, naive);
	free(naive);
	tune(g, ctx, "hls", 16, SRCH_SA_Q, &c, &r);
	n = searched(&r, list, SEARCHED);
	ck_assert_msg(n == SEARCHED, "%s: only %d schedules within budget", examples[_i], n);
	for (int i = 0; i < n; i++) {
		bad = csim(g, ctx, ref, list[i]);
		ck_assert_msg(!bad[0], "%s searched schedule %d: %s\n%s", examples[_i], i, bad, list[i]);
	}
	srch_result_release(&r);
	lir_func_free(ref);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/* Integer floor division and modulo in the written C against the
 * interpreter (runtime/rt_math.h): the seeded i32 divisors in [-8, 8]
 * take 0, -1 and negative values, and INT32_MIN is divided by each of
 * them (INT32_MIN / -1 wraps; C's own `/` would be undefined there). */
/* A blocked local copy (cache_read block=D:F) in C simulation: the copy's
 * index divides and reduces by constants, at extents not a multiple of F. */
START_TEST(csim_blocked_copy)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = small_example("gemm", ctx);
	lir_func *ref = lower_ok(g, ctx, NULL, "k_ref");
	const char *bad = csim(g, ctx, ref,
			       "split C j 4\nreorder C i j.o k j.i\ncache_read B C i local block=1:4 perm=1,0,2\n"
			       "pipeline C j.i\npartition B.local cyclic 4\n");

	ck_assert_msg(!bad[0], "%s", bad);
	lir_func_free(ref);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

START_TEST(csim_integer_divmod)
{
	static const char te[] = "input A[64] i32\ninput B[64] i32\n"
				 "Q[i < 64] = A[i] / B[i] + (A[i] * 0 - 2147483647 - 1) / B[i]\n"
				 "R[i < 64] = A[i] % B[i] + (A[i] * 0 - 2147483647 - 1) % B[i]\n";
	isl_ctx *ctx = new_ctx();
	te_graph *g = graph_of(te, ctx);
	lir_func *ref = lower_ok(g, ctx, NULL, "k_ref");
	rt_error err;
	te_bufs b;
	char *naive;
	const char *bad;
	bool minus1 = false;

	rt_error_clear(&err);
	ck_assert_int_eq(te_bufs_init(&b, g, 1, &err), 0); /* the testbench's inputs (seed 1) */
	for (int i = 0; i < 64; i++)
		minus1 = minus1 || ((int32_t *)b.ref[1])[i] == -1;
	ck_assert(minus1);
	te_bufs_free(&b);
	naive = srch_hls_default_schedule(g, &err);
	ck_assert_msg(naive != NULL, "%s", err.msg);
	bad = csim(g, ctx, ref, naive);
	ck_assert_msg(!bad[0], "%s", bad);
	free(naive);
	lir_func_free(ref);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/* ---- the driver's entry points ---- */

START_TEST(cli_compile_writes_files)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = graph_of(gemm16, ctx);
	cg_target t = hls_target("hls -clock=250MHz");
	cli_opts o;
	char *dir = temp_dir(), out[512], path[1024], *text;
	static const char *const files[] = {"k.c", "k.h", "k_tb.c", "k.tcl"};

	memset(&o, 0, sizeof(o));
	o.file = "gemm16.te";
	snprintf(out, sizeof(out), "%s/out/sub", dir);
	ck_assert_int_eq(cli_compile_library(&o, g, ctx, &t, out, "k", NULL), 0);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", out, files[i]);
		ck_assert_msg(access(path, R_OK) == 0, "%s missing", path);
	}
	snprintf(path, sizeof(path), "%s/k.tcl", out);
	text = read_text(path);
	ck_assert_msg(strstr(text, "set_part {xcvu9p-flga2104-2-i}") && strstr(text, "create_clock -period 4.000") &&
			      strstr(text, "csim_design") && strstr(text, "cosim_design"),
		      "%s", text);
	free(text);
	snprintf(path, sizeof(path), "%s/k.c", out);
	text = read_text(path);
	ck_assert_msg(strstr(text, "#pragma HLS PIPELINE II=1") && strstr(text, "# naive pipelined"), "%s", text);
	free(text);
	/* a schedule HLS cannot synthesize is a user error */
	ck_assert_int_eq(cli_compile_library(&o, g, ctx, &t, out, "k", "pipeline C j\npipeline C k\n"), 1);
	ck_assert_int_eq(cli_compile_library(&o, g, ctx, &t, out, "k", "split C x 2\n"), 1);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", out, files[i]);
		remove(path);
	}
	rmdir(out);
	snprintf(path, sizeof(path), "%s/out", dir);
	rmdir(path);
	rmdir(dir);
	free(dir);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

START_TEST(cli_tune_prints)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = graph_of(gemm16, ctx);
	cli_opts o;

	memset(&o, 0, sizeof(o));
	o.file = "gemm16.te";
	o.target = "hls";
	o.trials = 8;
	o.seed = 1;
	o.quiet = true;
	o.no_db = true;
	ck_assert_int_eq(cli_tune_graph(&o, g, ctx), 0);
	o.json = true;
	ck_assert_int_eq(cli_tune_graph(&o, g, ctx), 0);
	o.method = "nope";
	ck_assert_int_eq(cli_tune_graph(&o, g, ctx), 1);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/*
 * test_hls [PART NPARTS]: the space and C simulation tests of the examples
 * with index % NPARTS == PART (all by default), so that the suite can run
 * them in parallel; part 0 also runs the other tests.
 */
int main(int argc, char **argv)
{
	Suite *s = suite_create("hls");
	TCase *ex = tcase_create("examples");
	int part = argc > 2 ? atoi(argv[1]) : 0, nparts = argc > 2 ? atoi(argv[2]) : 1;
	SRunner *sr;
	int failed;

	if (nparts < 1 || part < 0 || part >= nparts) {
		fprintf(stderr, "usage: test_hls [PART NPARTS]\n");
		return EXIT_FAILURE;
	}
	tcase_set_timeout(ex, 600);
	if (part == 0) {
		TCase *tc = tcase_create("hls");

		tcase_set_timeout(tc, 600);
		tcase_add_test(tc, steps_round_trip);
		tcase_add_loop_test(tc, steps_bad_text, 0, sizeof(bad_steps) / sizeof(bad_steps[0]));
		tcase_add_test(tc, lowering_carries_directives);
		tcase_add_test(tc, cpu_runs_directives);
		tcase_add_test(tc, csim_integer_divmod);
		tcase_add_test(tc, csim_blocked_copy);
		tcase_add_loop_test(tc, lowering_refuses, 0, sizeof(bad_lowering) / sizeof(bad_lowering[0]));
		tcase_add_test(tc, lint_rejects_lir);
		tcase_add_loop_test(tc, lint_rejects_c, 0, sizeof(bad_c) / sizeof(bad_c[0]));
		tcase_add_test(tc, lint_accepts_helpers_and_math);
		tcase_add_test(tc, model_accumulation_ii);
		tcase_add_test(tc, model_partition_ii);
		tcase_add_test(tc, model_resources);
		tcase_add_test(tc, model_latency_and_budget);
		tcase_add_test(tc, tuner_runs_and_repeats);
		tcase_add_test(tc, tripcount_pragma);
		tcase_add_test(tc, golden_gemm_hls);
		tcase_add_test(tc, cli_compile_writes_files);
		tcase_add_test(tc, cli_tune_prints);
		suite_add_tcase(s, tc);
	}
	for (int i = part; i < NEXAMPLES; i += nparts) {
		tcase_add_loop_test(ex, space_points, i, i + 1);
		tcase_add_loop_test(ex, csim_examples, i, i + 1);
	}
	suite_add_tcase(s, ex);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
