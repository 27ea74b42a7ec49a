/*
 * Tests of the CUDA back end that run without a GPU:
 *  - every example at its small shape, under the naive GPU schedule, the
 *    GPU space's default point and random GPU points: the loop IR run
 *    serially matches the reference, the PTX is accepted by `ptxas
 *    -arch=sm_90`, and the same kernels run on the CPU emulator (one
 *    thread per GPU thread, real barriers) match the reference too;
 *  - golden PTX of a tiny kernel (entry, parameters, shared memory,
 *    barrier), launch geometry (tails, stride loops, several kernels);
 *  - ftc compile --target cuda: NAME.ptx, NAME.h and NAME.c, which builds
 *    with a plain C compiler, and whose NAME_load() reports a missing driver;
 *  - the driver loader without a driver, the emulator's barrier timeout,
 *    ftc run/tune --target cuda without a driver and on the emulator.
 * ptxas is $FTC_PTXAS when set (FTC_PTXAS=none: no ptxas), else
 * /usr/local/cuda/bin/ptxas, else on PATH; when none is found the PTX
 * checks are skipped and the program exits 77 (meson: SKIP) after the
 * other checks, saying so.
 *
 * test_cuda [PART NPARTS]: the examples are split among NPARTS processes;
 * part 0 also runs the other tests.
 */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cg_cuda.h"
#include "cli_cuda.h"
#include "lower.h"
#include "rt_alloc.h"
#include "rt_cuda.h"
#include "sched_gen.h"
#include "srch_cuda.h"
#include "srch_space.h"
#include "te_interp.h"
#include "te_verify.h"

/* Random GPU points per example: GPU_FIXED every run and GPU_ROTATING
 * more chosen by $FTC_TEST_SEED (sched_gen.h). */
#define GPU_FIXED 4
#define GPU_ROTATING 2
#define EMU_TIMEOUT 20.0

static char ptxas[1024]; /* set once by main; "" when not found */

/* ---- helpers ---- */

static bool executable_file(const char *path)
{
	return path && *path && access(path, X_OK) == 0;
}

static void find_ptxas(void)
{
	const char *env = getenv("FTC_PTXAS"), *path = getenv("PATH");

	ptxas[0] = '\0';
	if (env && *env) { /* an explicit choice, even of none (FTC_PTXAS=none) */
		if (executable_file(env))
			snprintf(ptxas, sizeof(ptxas), "%s", env);
		return;
	}
	if (executable_file("/usr/local/cuda/bin/ptxas")) {
		snprintf(ptxas, sizeof(ptxas), "/usr/local/cuda/bin/ptxas");
		return;
	}
	while (path && *path) {
		size_t n = strcspn(path, ":");
		char cand[1024];

		snprintf(cand, sizeof(cand), "%.*s/ptxas", (int)n, path);
		if (executable_file(cand)) {
			snprintf(ptxas, sizeof(ptxas), "%s", cand);
			return;
		}
		path += n + (path[n] == ':');
	}
}

static const char *tmp_dir(void)
{
	const char *t = getenv("TMPDIR");

	return t && *t ? t : "/tmp";
}

/* Run a shell command; its exit status, its output in out. */
static int run_cmd(const char *cmd, char *out, size_t size)
{
	FILE *p = popen(cmd, "r");
	size_t n = 0;
	int st;

	out[0] = '\0';
	if (!p)
		return -1;
	while (n + 1 < size && !feof(p)) {
		size_t k = fread(out + n, 1, size - n - 1, p);

		if (k == 0)
			break;
		n += k;
	}
	out[n] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* "" when ptxas accepts the PTX (or no ptxas), else its output. */
static const char *ptxas_check(const char *ptx)
{
	static char msg[8192];
	char path[1024], cmd[4096];
	int fd, rc;
	FILE *f;

	msg[0] = '\0';
	if (!ptxas[0])
		return msg;
	snprintf(path, sizeof(path), "%s/ftc-ptx-XXXXXX", tmp_dir());
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	ck_assert_ptr_nonnull(f);
	fputs(ptx, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "'%s' -arch=sm_90 -o /dev/null '%s' 2>&1", ptxas, path);
	rc = run_cmd(cmd, msg, sizeof(msg));
	unlink(path);
	if (rc == 0)
		msg[0] = '\0';
	else if (!msg[0])
		snprintf(msg, sizeof(msg), "ptxas exited with status %d", rc);
	return msg;
}

static cg_target cuda_target(void)
{
	cg_target t;
	rt_error err;

	rt_error_clear(&err);
	ck_assert_msg(cg_target_parse("cuda -arch=sm_90", &t, &err) == 0, "%s", err.msg);
	return t;
}

/* The emulator as a kernel_runner of check_run: temps allocated here,
 * outputs filled with NaN first. */
typedef struct emu_ctx {
	cg_packed_fn fn;
	const cg_cuda_prog *p;
	int ninputs;
	const te_graph *g;
} emu_ctx;

static int emu_runner(void *vctx, void **params, rt_error *err)
{
	emu_ctx *e = vctx;
	int n = e->p->nparams + e->p->ntemps, rc, k = 0;
	void **args = calloc((size_t)n + 1, sizeof(void *));

	ck_assert_ptr_nonnull(args);
	for (int i = 0; i < e->p->nparams; i++)
		args[i] = params[i];
	for (int i = 0; i < te_graph_nstages(e->g); i++) {
		const te_stage *s = te_graph_stage(e->g, i);

		if (s->kind == TE_STAGE_COMPUTE && s->is_output)
			memset(params[e->ninputs + k++], 0xff, (size_t)te_stage_numel(s) * te_dtype_size(s->type));
	}
	for (int i = 0; i < e->p->ntemps; i++) {
		args[e->p->nparams + i] = rt_alloc((size_t)e->p->temp_bytes[i]);
		ck_assert_ptr_nonnull(args[e->p->nparams + i]);
		memset(args[e->p->nparams + i], 0xff, (size_t)e->p->temp_bytes[i]);
	}
	rc = cg_cuda_emu_run(e->fn, e->p, args, EMU_TIMEOUT, err);
	for (int i = 0; i < e->p->ntemps; i++)
		rt_free(args[e->p->nparams + i]);
	free(args);
	return rc;
}

static int count_inputs(const te_graph *g)
{
	int n = 0;

	for (int i = 0; i < te_graph_nstages(g); i++)
		n += te_graph_stage(g, i)->kind == TE_STAGE_INPUT;
	return n;
}

/* Compile f for the emulator and check it against the reference; "" or a message. */
static const char *emulate_and_check(const te_graph *g, const lir_func *f)
{
	static char msg[4096];
	cg_target t = cuda_target();
	cg_cuda_prog *p = NULL;
	rt_error err;
	cg_jit *j;
	emu_ctx e;

	rt_error_clear(&err);
	j = cg_jit_new(cg_cuda_compile_emu(f, &t, &p, &err), &err);
	if (!j) {
		snprintf(msg, sizeof(msg), "emulator compile: %s", err.msg);
		cg_cuda_prog_free(p);
		return msg;
	}
	e = (emu_ctx){cg_jit_entry(j), p, count_inputs(g), g};
	snprintf(msg, sizeof(msg), "%s", check_run(g, emu_runner, &e));
	cg_jit_free(j);
	cg_cuda_prog_free(p);
	return msg;
}

/* Every check of one schedule text of g. */
static void check_schedule(const te_graph *g, isl_ctx *ctx, const char *text, const char *what)
{
	cg_target t = cuda_target();
	rt_error err;
	sch_schedule *s;
	lir_func *f;
	cg_cuda_prog *p;
	const char *bad;

	rt_error_clear(&err);
	s = sch_parse(text, &err);
	ck_assert_msg(s != NULL, "%s: bad schedule: %s\n%s", what, err.msg, text);
	f = lir_lower(g, s, ctx, "kernel", &err);
	ck_assert_msg(f != NULL, "%s: lowering: %s\n%s", what, err.msg, text);
	ck_assert_msg(lir_verify(f, &err) == 0, "%s: invalid lir: %s", what, err.msg);
	bad = check_kernel(g, f);
	ck_assert_msg(!bad[0], "%s: serial loop IR: %s\n%s", what, bad, text);
	p = cg_cuda_compile(f, &t, &err);
	ck_assert_msg(p != NULL, "%s: cuda: %s\n%s", what, err.msg, text);
	ck_assert_ptr_nonnull(strstr(p->ptx, ".visible .entry kernel_k0("));
	bad = ptxas_check(p->ptx);
	ck_assert_msg(!bad[0], "%s: ptxas rejects the PTX: %s\nschedule:\n%s", what, bad, text);
	bad = emulate_and_check(g, f);
	ck_assert_msg(!bad[0], "%s: emulated kernels: %s\nschedule:\n%s", what, bad, text);
	cg_cuda_prog_free(p);
	lir_func_free(f);
	sch_free(s);
}

/* ---- every example ---- */

START_TEST(examples_on_the_gpu_model)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = small_example(examples[_i], ctx);
	srch_space *sp = calloc(1, sizeof(*sp));
	char *text, what[160];
	uint64_t rng = 4242 + (uint64_t)_i, at = 0;
	srch_point pt;
	rt_error err;

	ck_assert_ptr_nonnull(sp);
	text = srch_cuda_naive_schedule(g);
	ck_assert_ptr_nonnull(text);
	snprintf(what, sizeof(what), "%s naive GPU schedule", examples[_i]);
	check_schedule(g, ctx, text, what);
	free(text);
	rt_error_clear(&err);
	ck_assert_msg(srch_space_init(sp, g, CG_TARGET_CUDA, &err) == 0, "%s", err.msg);
	srch_point_default(sp, &pt);
	text = srch_point_schedule(sp, &pt);
	snprintf(what, sizeof(what), "%s GPU default point", examples[_i]);
	check_schedule(g, ctx, text, what);
	free(text);
	for (int j = 0; j < GPU_FIXED + GPU_ROTATING; j++) {
		uint64_t i = test_case_index(j, GPU_FIXED, GPU_ROTATING);

		for (; at <= i; at++)
			srch_point_random(sp, &rng, &pt);
		text = srch_point_schedule(sp, &pt);
		ck_assert_ptr_nonnull(text);
		snprintf(what, sizeof(what), "%s random GPU point %llu", examples[_i], (unsigned long long)i);
		check_schedule(g, ctx, text, what);
		free(text);
	}
	srch_space_release(sp);
	free(sp);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/* ---- hand-made cases: tails, strides, several kernels, f64 math ---- */

static const struct {
	const char *te, *sched;
	int nkernels;
	int64_t grid0[3];
	int block0[3];
	int64_t shared0;
	int ntemps;
} cases[] = {
	/* a tail: 10 = 4 + 4 + 2 threads; the thread extent is bounded by 4, not 10 */
	{"input A[10, 6] f32\nB[i < 10, j < 6] = A[i, j] * 2.0\n",
	 "split B i 4\nbind B i.o blockIdx.x\nbind B i.i threadIdx.x\nbind B j threadIdx.y\n", 1, {3, 1, 1},
	 {4, 6, 1}, 0, 0},
	/* 3000 threads asked: 1024 launched, a stride loop */
	{"input A[3000] f32\nB[i < 3000] = A[i] + 1.0\n", "bind B i threadIdx.x\n", 1, {1, 1, 1}, {1024, 1, 1}, 0, 0},
	/* 70000 blocks in y: 65535 launched, a grid-stride loop */
	{"input A[70000, 2] f32\nB[i < 70000, j < 2] = A[i, j] - 1.0\n", "bind B i blockIdx.y\nbind B j threadIdx.x\n",
	 1, {1, 65535, 1}, {2, 1, 1}, 0, 0},
	/* an intermediate stage at the root: two kernels and one temp */
	{"input A[33] f32\nT[i < 33] = A[i] * A[i]\nB[i < 33] = T[i] + T[32 - i]\n",
	 "bind T i threadIdx.x\nsplit B i 8\nbind B i.o blockIdx.x\nbind B i.i threadIdx.x\n", 2, {1, 1, 1},
	 {33, 1, 1}, 0, 1},
	/* a shared copy, a reduction at block level, barriers */
	{"param M = 8, N = 8, K = 12\ninput A[M, K] f32\ninput B[K, N] f32\n"
	 "C[i < M, j < N] = sum(k < K) A[i, k] * B[k, j]\n",
	 "split C i 4\nsplit C j 4\nsplit C k 4\nreorder C i.o j.o k.o i.i j.i k.i\nbind C i.o blockIdx.y\n"
	 "bind C j.o blockIdx.x\nbind C i.i threadIdx.y\nbind C j.i threadIdx.x\ncache_read A C k.o shared\n"
	 "cache_read B C k.o shared\n",
	 1, {2, 2, 1}, {4, 4, 1}, 128, 0},
	/* f64 exp, log, tanh, sqrt, floor modulo (the software exp and log) */
	{"input X[5, 7] f64\nY[i < 5, j < 7] = exp(X[i, j] * 3.0) + log(abs(X[i, j]) + 0.001) + tanh(X[i, j] * 9.0)"
	 " + sqrt(abs(X[i, j])) + max(X[i, j], 0.25)\n",
	 "bind Y i threadIdx.y\nbind Y j threadIdx.x\n", 1, {1, 1, 1}, {7, 5, 1}, 0, 0},
	/* i32 floor division and modulo by constants and selects */
	{"input X[13, 11] i32\nY[i < 13, j < 11] = X[i, j] / 3 + X[i, j] % 4 + select(X[i, j] > 0, 1, -1)\n",
	 "fuse Y i j\nsplit Y i+j 32\nbind Y i+j.o blockIdx.x\nbind Y i+j.i threadIdx.x\n", 1, {5, 1, 1},
	 {32, 1, 1}, 0, 0},
	/* a vectorized loop of 4 (aligned loads) under the threads */
	{"input A[16, 32] f32\nB[i < 16, j < 32] = A[i, j] * 3.0\n",
	 "split B j 4\nbind B i blockIdx.x\nbind B j.o threadIdx.x\nvectorize B j.i\n", 1, {16, 1, 1}, {8, 1, 1},
	 0, 0},
	/* blocked shared copies (block=D:F): the 4x4 tiles stored as 4x2x3
	 * (4 = 3 + 1: padded blocks), one transposed; 2 x 24 floats */
	{"param M = 8, N = 8, K = 12\ninput A[M, K] f32\ninput B[K, N] f32\n"
	 "C[i < M, j < N] = sum(k < K) A[i, k] * B[k, j]\n",
	 "split C i 4\nsplit C j 4\nsplit C k 4\nreorder C i.o j.o k.o i.i j.i k.i\nbind C i.o blockIdx.y\n"
	 "bind C j.o blockIdx.x\nbind C i.i threadIdx.y\nbind C j.i threadIdx.x\n"
	 "cache_read A C k.o shared block=1:3 perm=1,0,2\ncache_read B C k.o shared block=1:3\n",
	 1, {2, 2, 1}, {4, 4, 1}, 192, 0},
	/* rfactor (issue 16 item 2): a sum to a scalar split over 16 threads,
	 * each a partial sum in the temp s.rf, then s adds them up (s's
	 * initialization and its sum are the other two kernels) */
	{"input A[64, 48] f32\ns = sum(i < 64, j < 48) A[i, j]\n",
	 "split s i parts=16\nrfactor s i.o\nbind s.rf i.o threadIdx.x\n", 3, {1, 1, 1}, {16, 1, 1}, 0, 1},
};

START_TEST(hand_made_cases)
{
	isl_ctx *ctx = new_ctx();
	cg_target t = cuda_target();
	rt_error err;
	te_graph *g;
	sch_schedule *s;
	lir_func *f;
	cg_cuda_prog *p;
	char what[64];

	rt_error_clear(&err);
	g = te_parse(cases[_i].te, NULL, 0, &err);
	ck_assert_msg(g != NULL, "case %d: %s", _i, err.msg);
	ck_assert_msg(te_verify(g, ctx, &err) == 0, "case %d: %s", _i, err.msg);
	snprintf(what, sizeof(what), "case %d", _i);
	check_schedule(g, ctx, cases[_i].sched, what);
	s = sch_parse(cases[_i].sched, &err);
	f = lir_lower(g, s, ctx, "kernel", &err);
	ck_assert_ptr_nonnull(f);
	p = cg_cuda_plan(f, &t, &err);
	ck_assert_msg(p != NULL, "case %d: %s", _i, err.msg);
	ck_assert_int_eq(p->nkernels, cases[_i].nkernels);
	ck_assert_int_eq(p->ntemps, cases[_i].ntemps);
	for (int d = 0; d < 3; d++) {
		ck_assert_msg(p->kernels[0].grid[d] == cases[_i].grid0[d], "case %d: grid[%d] = %lld", _i, d,
			      (long long)p->kernels[0].grid[d]);
		ck_assert_msg(p->kernels[0].block[d] == cases[_i].block0[d], "case %d: block[%d] = %d", _i, d,
			      p->kernels[0].block[d]);
	}
	ck_assert_int_eq(p->kernels[0].shared_bytes, cases[_i].shared0);
	if (_i == 7) { /* the vectorized case: LLVM combined the aligned lanes */
		cg_cuda_prog *q = cg_cuda_compile(f, &t, &err);

		ck_assert_ptr_nonnull(q);
		ck_assert_msg(strstr(q->ptx, "ld.global.nc.v4.f32") && strstr(q->ptx, "st.global.v4.f32"),
			      "no vector loads:\n%s", q->ptx);
		cg_cuda_prog_free(q);
	}
	cg_cuda_prog_free(p);
	lir_func_free(f);
	sch_free(s);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/* Shared memory beyond the target's limit is refused, naming the buffer. */
START_TEST(shared_memory_limit)
{
	isl_ctx *ctx = new_ctx();
	cg_target t = cuda_target();
	rt_error err;
	te_graph *g;
	sch_schedule *s;
	lir_func *f;

	rt_error_clear(&err);
	g = te_parse("input A[64, 256] f32\nB[i < 64, j < 256] = A[i, j] + A[63 - i, j]\n", NULL, 0, &err);
	ck_assert_ptr_nonnull(g);
	ck_assert_int_eq(te_verify(g, ctx, &err), 0);
	s = sch_parse("split B j 128\nreorder B j.o i j.i\nbind B j.o blockIdx.x\nbind B j.i threadIdx.x\n"
		      "cache_read A B j.o shared\n", &err);
	f = lir_lower(g, s, ctx, "kernel", &err);
	ck_assert_msg(f != NULL, "%s", err.msg);
	t.max_shared_bytes = 1024;
	ck_assert_ptr_null(cg_cuda_plan(f, &t, &err));
	ck_assert_msg(strstr(err.msg, "shared memory") && strstr(err.msg, "A.shared"), "%s", err.msg);
	lir_func_free(f);
	sch_free(s);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/* ---- golden PTX ---- */

static const char tiny_te[] = "param M = 8, N = 8, K = 4\ninput A[M, K] f32\ninput B[K, N] f32\n"
			      "C[i < M, j < N] = sum(k < K) A[i, k] * B[k, j]\n";
static const char tiny_sched[] = "split C i 4\nsplit C j 4\nreorder C i.o j.o k i.i j.i\n"
				 "bind C i.o blockIdx.y\nbind C j.o blockIdx.x\n"
				 "bind C i.i threadIdx.y\nbind C j.i threadIdx.x\ncache_read A C k shared\n";

START_TEST(golden_tiny_ptx)
{
	isl_ctx *ctx = new_ctx();
	cg_target t = cuda_target();
	rt_error err;
	te_graph *g;
	sch_schedule *s;
	lir_func *f;
	cg_cuda_prog *p;
	char path[1024], *want;
	static const char *const must[] = {
		".target sm_90",
		".visible .entry tiny_k0(",
		".param .u64 tiny_k0_param_0",
		".param .u64 tiny_k0_param_1",
		".param .u64 tiny_k0_param_2",
		".maxntid 4, 4, 1",
		".shared .align 16 .b8 tiny_k0_sh0[16]",
		"bar.sync",
		"%tid.x",
		"%tid.y",
		"%ctaid.x",
		"%ctaid.y",
		"ld.global.nc.f32",
		"st.shared.f32",
		"ld.shared.f32",
		"st.global.f32",
	};

	rt_error_clear(&err);
	g = te_parse(tiny_te, NULL, 0, &err);
	ck_assert_ptr_nonnull(g);
	ck_assert_int_eq(te_verify(g, ctx, &err), 0);
	s = sch_parse(tiny_sched, &err);
	f = lir_lower(g, s, ctx, "tiny", &err);
	ck_assert_msg(f != NULL, "%s", err.msg);
	p = cg_cuda_compile(f, &t, &err);
	ck_assert_msg(p != NULL, "%s", err.msg);
	for (size_t i = 0; i < sizeof(must) / sizeof(must[0]); i++)
		ck_assert_msg(strstr(p->ptx, must[i]), "the PTX lacks '%s':\n%s", must[i], p->ptx);
	ck_assert_int_eq(p->nkernels, 1);
	ck_assert_int_eq(p->kernels[0].grid[0], 2);
	ck_assert_int_eq(p->kernels[0].grid[1], 2);
	ck_assert_int_eq(p->kernels[0].block[0], 4);
	ck_assert_int_eq(p->kernels[0].block[1], 4);
	snprintf(path, sizeof(path), "%s/tests/golden/cuda_tiny.ptx", root());
	if (getenv("FTC_UPDATE_GOLDEN")) {
		FILE *out = fopen(path, "w");

		ck_assert_ptr_nonnull(out);
		fputs(p->ptx, out);
		fclose(out);
	} else {
		want = read_text(path);
		ck_assert_msg(want != NULL, "missing golden file %s", path);
		ck_assert_msg(strcmp(want, p->ptx) == 0,
			      "%s differs (FTC_UPDATE_GOLDEN=1 rewrites it after a deliberate change); got:\n%s", path,
			      p->ptx);
		free(want);
	}
	ck_assert_str_eq(ptxas_check(p->ptx), "");
	cg_cuda_prog_free(p);
	lir_func_free(f);
	sch_free(s);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/* ---- ftc compile --target cuda ---- */

static char *make_temp_dir(void)
{
	static char dir[1024];

	snprintf(dir, sizeof(dir), "%s/ftc-cuda-XXXXXX", tmp_dir());
	ck_assert_ptr_nonnull(mkdtemp(dir));
	return dir;
}

static const char use_c[] =
	"#include <stdio.h>\n#include <string.h>\n#include \"gemm.h\"\n"
	"int main(void)\n{\n\tif (gemm_load() == 0) {\n\t\tputs(\"loaded\");\n\t\tgemm_unload();\n\t\treturn 0;\n\t}\n"
	"\tprintf(\"%s\\n\", gemm_error());\n\tgemm_unload();\n\treturn 3;\n}\n";

START_TEST(compile_writes_a_launcher)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = small_example("gemm", ctx);
	cg_target t = cuda_target();
	cli_opts o;
	char *dir = make_temp_dir(), path[2048], cmd[8192], out[8192], *h, *c, *ptx;
	int rc;
	FILE *f;

	memset(&o, 0, sizeof(o));
	o.file = "examples/gemm.te";
	ck_assert_int_eq(cli_compile_library(&o, g, ctx, &t, dir, "gemm", NULL), 0);
	snprintf(path, sizeof(path), "%s/gemm.ptx", dir);
	ck_assert_ptr_nonnull(ptx = read_text(path));
	snprintf(path, sizeof(path), "%s/gemm.h", dir);
	ck_assert_ptr_nonnull(h = read_text(path));
	snprintf(path, sizeof(path), "%s/gemm.c", dir);
	ck_assert_ptr_nonnull(c = read_text(path));
	ck_assert_ptr_nonnull(strstr(ptx, ".visible .entry gemm_k0("));
	ck_assert_ptr_nonnull(strstr(h, "int gemm(const float *A, const float *B, float *C);"));
	ck_assert_ptr_nonnull(strstr(h, "int gemm_load(void);"));
	ck_assert_ptr_nonnull(strstr(h, "gemm_k0: grid 1x1x1, block 63x1x1"));
	ck_assert_ptr_nonnull(strstr(c, "dlopen(\"libcuda.so.1\""));
	ck_assert_str_eq(ptxas_check(ptx), "");
	/* the launcher builds with a plain C compiler, warnings as errors */
	snprintf(cmd, sizeof(cmd), "cd '%s' && cc -std=c11 -Wall -Wextra -Werror -pedantic -Wno-overlength-strings -c gemm.c -o gemm.o 2>&1",
		 dir);
	rc = run_cmd(cmd, out, sizeof(out));
	ck_assert_msg(rc == 0, "cc gemm.c failed (%d):\n%s", rc, out);
	/* and a program using it reports a missing driver cleanly */
	snprintf(path, sizeof(path), "%s/use.c", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(use_c, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "cd '%s' && cc -std=c11 -Wall -Werror use.c gemm.o -o use -ldl 2>&1 && ./use", dir);
	rc = run_cmd(cmd, out, sizeof(out));
	if (rt_cuda_driver_present())
		ck_assert_msg(rc == 0 || rc == 3, "use: %d\n%s", rc, out);
	else
		ck_assert_msg(rc == 3 && strstr(out, "gemm: no CUDA driver (libcuda.so.1 not found)"), "use: %d\n%s", rc,
			      out);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(run_cmd(cmd, out, sizeof(out)), 0);
	free(ptx);
	free(h);
	free(c);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/* A bad schedule is a user error with the schedule's line. */
START_TEST(compile_reports_a_bad_schedule)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = small_example("gemm", ctx);
	cg_target t = cuda_target();
	cli_opts o;
	char *dir = make_temp_dir(), cmd[2048], out[256];

	memset(&o, 0, sizeof(o));
	o.file = "gemm.te";
	ck_assert_int_eq(cli_compile_library(&o, g, ctx, &t, dir, "gemm", "bind C nosuch threadIdx.x\n"), 1);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(run_cmd(cmd, out, sizeof(out)), 0);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/* ---- the driver loader and the emulator ---- */

START_TEST(no_driver_is_reported)
{
	rt_error err;
	rt_cuda *c;

	rt_error_clear(&err);
	setenv("FTC_LIBCUDA", "/nonexistent/libcuda.so.1", 1);
	ck_assert(!rt_cuda_driver_present());
	c = rt_cuda_open(0, &err);
	ck_assert_ptr_null(c);
	ck_assert_str_eq(err.msg, "no CUDA driver (/nonexistent/libcuda.so.1 not found)");
	unsetenv("FTC_LIBCUDA");
	if (!rt_cuda_driver_present()) {
		rt_error_clear(&err);
		ck_assert_ptr_null(rt_cuda_open(0, &err));
		ck_assert_str_eq(err.msg, "no CUDA driver (libcuda.so.1 not found)");
	}
	/* the toolkit's stub library: every call fails, cleanly */
	if (access("/usr/local/cuda/lib64/stubs/libcuda.so", R_OK) == 0) {
		setenv("FTC_LIBCUDA", "/usr/local/cuda/lib64/stubs/libcuda.so", 1);
		rt_error_clear(&err);
		ck_assert_ptr_null(rt_cuda_open(0, &err));
		ck_assert_msg(strstr(err.msg, "cuInit") || strstr(err.msg, "has no"), "%s", err.msg);
		unsetenv("FTC_LIBCUDA");
	}
	ck_assert_ptr_null(rt_cuda_close(NULL));
}
END_TEST

/* An emulated kernel where only thread 0 reaches a barrier. */
static int half_barrier(void **args)
{
	rt_cuda_emu_ctx *c = args[1];

	if (c->tid[0] == 0)
		c->barrier(c->barrier_arg);
	return 0;
}

START_TEST(emulator_reports_a_deadlock)
{
	int64_t grid[3] = {2, 1, 1};
	int block[3] = {4, 1, 1};
	void *args[2] = {NULL, NULL};
	rt_error err;

	rt_error_clear(&err);
	ck_assert_int_eq(rt_cuda_emu_launch(half_barrier, args, 2, grid, block, 64, 0.2, "half", &err), -1);
	ck_assert_msg(strstr(err.msg, "half") && strstr(err.msg, "barrier"), "%s", err.msg);
}
END_TEST

/* ---- ftc run and tune --target cuda ---- */

START_TEST(run_and_tune_without_a_driver)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = small_example("gemm", ctx);
	cg_target t = cuda_target();
	cli_opts o;

	memset(&o, 0, sizeof(o));
	o.file = "gemm.te";
	o.target = "cuda -arch=sm_90";
	o.trials = 4;
	o.quiet = true;
	o.no_db = true;
	setenv("FTC_LIBCUDA", "/nonexistent/libcuda.so.1", 1);
	unsetenv("FTC_CUDA_EMULATE");
	ck_assert_int_eq(cli_tune_graph(&o, g, ctx), 1);
	ck_assert_int_eq(cli_run_cuda(&o, g, ctx, &t, NULL), 1);
	unsetenv("FTC_LIBCUDA");
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

START_TEST(run_and_tune_on_the_emulator)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = small_example(_i ? "softmax" : "gemm", ctx);
	cg_target t = cuda_target();
	cli_opts o;
	srch_cuda *m;
	srch_result r;
	srch_tune_opts to;
	rt_error err;

	memset(&o, 0, sizeof(o));
	o.file = "small.te";
	o.target = "cuda -arch=sm_90";
	o.trials = 6;
	o.seed = 3;
	o.quiet = true;
	o.no_db = true;
	setenv("FTC_CUDA_EMULATE", "1", 1);
	ck_assert_int_eq(cli_run_cuda(&o, g, ctx, &t, NULL), 0);
	ck_assert_int_eq(cli_tune_graph(&o, g, ctx), 0);
	unsetenv("FTC_CUDA_EMULATE");
	/* the loop itself: records, a verified best, the naive baseline */
	rt_error_clear(&err);
	m = srch_cuda_new(g, ctx, &t, true, &err);
	ck_assert_msg(m != NULL, "%s", err.msg);
	srch_tune_opts_default(&to);
	to.trials = 8;
	to.seed = 5;
	ck_assert_int_eq(srch_cuda_tune(m, ctx, &to, &r, &err), 0);
	ck_assert_int_eq(r.nrecords, 8);
	ck_assert_int_ge(r.best, 0);
	ck_assert(r.records[r.best].verified);
	ck_assert(isfinite(r.naive_seconds));
	for (int i = 0; i < r.nrecords; i++)
		ck_assert_msg(r.records[i].status == SRCH_OK, "record %d: %s\n%s", i, r.records[i].reason,
			      r.records[i].schedule);
	srch_result_release(&r);
	srch_cuda_free(m);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

int main(int argc, char **argv)
{
	Suite *s = suite_create("cuda");
	TCase *ex = tcase_create("examples");
	int part = argc > 2 ? atoi(argv[1]) : 0, nparts = argc > 2 ? atoi(argv[2]) : 1;
	SRunner *sr;
	int failed;

	if (nparts < 1 || part < 0 || part >= nparts) {
		fprintf(stderr, "usage: test_cuda [PART NPARTS]\n");
		return EXIT_FAILURE;
	}
	find_ptxas();
	tcase_set_timeout(ex, 600);
	if (part == 0) {
		TCase *tc = tcase_create("cuda");

		tcase_set_timeout(tc, 600);
		tcase_add_test(tc, golden_tiny_ptx);
		tcase_add_loop_test(tc, hand_made_cases, 0, sizeof(cases) / sizeof(cases[0]));
		tcase_add_test(tc, shared_memory_limit);
		tcase_add_test(tc, compile_writes_a_launcher);
		tcase_add_test(tc, compile_reports_a_bad_schedule);
		tcase_add_test(tc, no_driver_is_reported);
		tcase_add_test(tc, emulator_reports_a_deadlock);
		tcase_add_test(tc, run_and_tune_without_a_driver);
		tcase_add_loop_test(tc, run_and_tune_on_the_emulator, 0, 2);
		suite_add_tcase(s, tc);
	}
	for (int i = part; i < NEXAMPLES; i += nparts)
		tcase_add_loop_test(ex, examples_on_the_gpu_model, i, i + 1);
	suite_add_tcase(s, ex);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	if (failed)
		return EXIT_FAILURE;
	if (!ptxas[0]) {
		printf("ptxas not found: PTX checks skipped (set FTC_PTXAS or install the CUDA toolkit)\n");
		return 77;
	}
	printf("ptxas: %s accepted every PTX\n", ptxas);
	return EXIT_SUCCESS;
}
