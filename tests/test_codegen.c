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
#include "lower.h"
#include "rt_isolate.h"
#include "sched_gen.h"

#define RANDOM_PER_EXAMPLE 10

typedef struct jit_run {
	cg_packed_fn fn;
	int nparams;
} jit_run;

static int jit_runner(void *ctx, void **params, rt_error *err)
{
	jit_run *j = ctx;

	if (j->fn(params))
		return rt_error_set(err, 0, 0, "the kernel could not allocate its buffers");
	return 0;
}

/* Lower g under schedule text, compile for the host with `threads`, JIT,
 * check against the reference.  "" or a message. */
static const char *compile_and_check(const te_graph *g, isl_ctx *ctx, const char *text, int threads)
{
	static char msg[4096];
	rt_error err;
	sch_schedule *s;
	lir_func *f = NULL;
	cg_target t;
	cg_module *m;
	cg_jit *j;
	jit_run run;
	const char *bad;

	rt_error_clear(&err);
	msg[0] = '\0';
	if (!(s = sch_parse(text, &err)) || !(f = lir_lower(g, s, ctx, "kernel", &err))) {
		snprintf(msg, sizeof(msg), "lowering: %s", err.msg);
		goto out;
	}
	cg_target_host(&t, &err);
	t.threads = threads;
	if (!(m = cg_cpu_compile(f, &t, &err)) || !(j = cg_jit_new(m, &err))) {
		snprintf(msg, sizeof(msg), "codegen: %s", err.msg);
		goto out;
	}
	run.fn = cg_jit_entry(j);
	run.nparams = lir_func_nparams(f);
	bad = check_run(g, jit_runner, &run);
	snprintf(msg, sizeof(msg), "%s", bad);
	cg_jit_free(j);
out:
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
	for (int seed = 0; seed < RANDOM_PER_EXAMPLE; seed++) {
		random_schedule(g, (uint64_t)seed * 104729 + 17 + (uint64_t)_i, text, sizeof(text));
		bad = compile_and_check(g, ctx, text, 1 + seed % 3);
		ck_assert_msg(!bad[0], "%s random schedule %d: %s\n%s", examples[_i], seed, bad, text);
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

int main(void)
{
	Suite *s = suite_create("codegen");
	TCase *tc = tcase_create("codegen");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 900);
	tcase_add_loop_test(tc, awkward_sizes, 0, sizeof(awkward) / sizeof(awkward[0]));
	tcase_add_test(tc, crashing_kernel_is_reported);
	tcase_add_test(tc, hanging_kernel_times_out);
	tcase_add_loop_test(tc, examples_compile_and_match, 0, NEXAMPLES);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
