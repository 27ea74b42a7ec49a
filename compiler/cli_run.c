/*
 * ftc run FILE.te --interp [--schedule FILE]: lower, run the loop IR
 * interpreter on seeded random inputs, compare with the reference.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cg.h"
#include "cli.h"
#include "cli_cuda.h"
#include "lir.h"
#include "rt_bench.h"
#include "rt_isolate.h"
#include "rt_alloc.h"
#include "rt_time.h"
#include "te_interp.h"

static const char run_help[] =
	"usage: ftc run FILE.te [-D NAME=VALUE]... [--schedule FILE] [--target T] [--seed S] [--interp]\n"
	"\n"
	"Lower FILE.te under a schedule (default: naive), compile it for the CPU\n"
	"with LLVM (JIT), run it on seeded random inputs, compare every output\n"
	"with the reference interpreter and print the largest absolute and\n"
	"relative errors and `verified` or `MISMATCH` (exit status 1); then time\n"
	"it (warm-up, repeats until 0.2 s, median) and print GFLOP/s.\n"
	"Tolerance: i32 exact; f32 |got - want| <= 1e-4 |want| + 1e-4 max(1, max |want|).\n"
	"\n"
	"  --interp          run the loop IR interpreter instead of compiled code\n"
	"  --target T        cpu [-mcpu=NAME] [-mattr=FEATURES] [-threads=N] (default: the host)\n"
	"  -D NAME=VALUE     replace the value of param NAME\n"
	"  --schedule FILE   the schedule to run\n"
	"  --seed S          seed of the random inputs (default 1)\n"
	"  -h, --help        show this help\n";

typedef struct bufs {
	int n;
	void **ref;  /* per stage, for the reference */
	void **got;  /* per stage: inputs shared with ref, outputs separate */
} bufs;

static void bufs_free(bufs *b)
{
	for (int i = 0; i < b->n; i++) {
		if (b->got && b->ref && b->got[i] != b->ref[i])
			rt_free(b->got[i]);
		if (b->ref)
			rt_free(b->ref[i]);
	}
	free(b->ref);
	free(b->got);
}

static int bufs_alloc(bufs *b, const te_graph *g, uint64_t seed)
{
	b->n = te_graph_nstages(g);
	b->ref = calloc(b->n + 1, sizeof(void *));
	b->got = calloc(b->n + 1, sizeof(void *));
	if (!b->ref || !b->got)
		return -1;
	for (int i = 0; i < b->n; i++) {
		const te_stage *s = te_graph_stage(g, i);
		size_t bytes = (size_t)te_stage_numel(s) * te_dtype_size(s->type);

		if (s->kind == TE_STAGE_COMPUTE && !s->is_output)
			continue;
		if (!(b->ref[i] = rt_alloc(bytes)))
			return -1;
		if (s->kind == TE_STAGE_INPUT) {
			te_random_fill(s, b->ref[i], seed);
			b->got[i] = b->ref[i];
		} else if (!(b->got[i] = rt_alloc(bytes))) {
			return -1;
		}
	}
	return 0;
}

/* The lir parameters: inputs, then outputs, in stage order. */
static void **params_of(const te_graph *g, void **bufs)
{
	int n = te_graph_nstages(g), k = 0;
	void **p = calloc(n + 1, sizeof(void *));

	for (int pass = 0; p && pass < 2; pass++)
		for (int i = 0; i < n; i++) {
			const te_stage *s = te_graph_stage(g, i);

			if (pass == 0 ? s->kind == TE_STAGE_INPUT : s->kind == TE_STAGE_COMPUTE && s->is_output)
				p[k++] = bufs[i];
		}
	return p;
}

/* Compare every output; print the errors; true when all pass. */
static bool report(const te_graph *g, const bufs *b)
{
	bool ok = true;

	for (int i = 0; i < b->n; i++) {
		const te_stage *s = te_graph_stage(g, i);
		te_cmp c;

		if (s->kind != TE_STAGE_COMPUTE || !s->is_output)
			continue;
		c = te_compare(s, b->got[i], b->ref[i]);
		printf("%s: max abs err %.3g, max rel err %.3g", s->name, c.max_abs, c.max_rel);
		if (!c.ok)
			printf(", %lld elements outside tolerance (first worst at flat index %lld)",
			       (long long)c.nbad, (long long)c.worst);
		printf("\n");
		ok = ok && c.ok;
	}
	return ok;
}

static int call_kernel(void *ctx)
{
	void **c = ctx;

	return ((cg_packed_fn)(uintptr_t)c[0])(c + 1);
}

static int probe_child(void *ctx, void *shm, size_t size)
{
	(void)shm;
	(void)size;
	return call_kernel(ctx) ? 3 : 0;
}

/* Run the kernel once in a child process first, so that a crashing or
 * hanging schedule is reported instead of taking ftc down.  0 or -1. */
static int probe_kernel(const cli_opts *o, void **call)
{
	rt_isolate_result res;
	int rc = rt_isolate_run(probe_child, call, 0, 600.0, &res);

	if (rc)
		fprintf(stderr, "%s: error: the compiled kernel %s\n", o->file,
			res.status == RT_ISO_EXIT && res.code == 3 ? "could not allocate its buffers" : res.reason);
	rt_isolate_result_release(&res);
	return rc;
}

/* Compile f for the target, check it against the reference, time it. */
static int run_cpu(const cli_opts *o, const te_graph *g, const lir_func *f)
{
	bufs b = {0};
	void **params = NULL, **call = NULL;
	rt_error err;
	cg_target t;
	cg_module *m;
	cg_jit *j = NULL;
	rt_bench_opts bo;
	rt_timing tm;
	double t0;
	int rc = CLI_INTERNAL_ERROR, np;
	char ts[256];

	rt_error_clear(&err);
	if (cg_target_parse(o->target ? o->target : "cpu", &t, &err)) {
		fprintf(stderr, "ftc run: %s\n", err.msg);
		return CLI_USER_ERROR;
	}
	if (t.kind != CG_TARGET_CPU) {
		fprintf(stderr, "ftc run: the %s back end is not available to ftc run in this version\n",
			cg_target_kind_name(t.kind));
		return CLI_USER_ERROR;
	}
	t0 = rt_now();
	if ((m = cg_cpu_compile(f, &t, &err)) && getenv("FTC_DUMP_LLVM")) {
		char *ir = cg_module_print(m);
		FILE *out = fopen(getenv("FTC_DUMP_LLVM"), "w");

		if (ir && out)
			fputs(ir, out);
		if (out)
			fclose(out);
		free(ir);
	}
	if (!m || !(j = cg_jit_new(m, &err))) {
		fprintf(stderr, "%s: internal error: %s\n", o->file, err.msg);
		return CLI_INTERNAL_ERROR;
	}
	cg_target_string(&t, ts, sizeof(ts));
	printf("compiled for %s in %.2f s\n", ts, rt_now() - t0);
	if (bufs_alloc(&b, g, o->seed) || !(params = params_of(g, b.got))) {
		fprintf(stderr, "ftc run: out of memory\n");
		goto out;
	}
	np = lir_func_nparams(f);
	if (!(call = calloc(np + 2, sizeof(void *))))
		goto out;
	call[0] = (void *)(uintptr_t)cg_jit_entry(j);
	memcpy(call + 1, params, np * sizeof(void *));
	if (te_interp_run(g, b.ref, &err)) {
		fprintf(stderr, "ftc run: reference: %s\n", err.msg);
		goto out;
	}
	if (probe_kernel(o, call) || call_kernel(call)) {
		rc = CLI_USER_ERROR;
		goto out;
	}
	if (!report(g, &b)) {
		printf("MISMATCH\n");
		rc = CLI_USER_ERROR;
		goto out;
	}
	printf("verified\n");
	rt_bench_opts_default(&bo);
	if (rt_bench(call_kernel, call, &bo, &tm, &err)) {
		fprintf(stderr, "ftc run: timing: %s\n", err.msg);
		goto out;
	}
	printf("time: median %.4g ms (min %.4g, spread %.1f%%, %d runs), %.2f GFLOP/s\n", tm.median * 1e3,
	       tm.min * 1e3, tm.spread * 100, tm.runs, te_graph_flops(g) * 1e-9 / tm.median);
	rc = CLI_OK;
out:
	free(call);
	free(params);
	bufs_free(&b);
	cg_jit_free(j);
	return rc;
}

static int run_interp(const cli_opts *o, const te_graph *g, const lir_func *f)
{
	bufs b = {0};
	void **params = NULL;
	rt_error err;
	double t0, t1;
	int rc = CLI_INTERNAL_ERROR;

	rt_error_clear(&err);
	if (bufs_alloc(&b, g, o->seed) || !(params = params_of(g, b.got))) {
		fprintf(stderr, "ftc run: out of memory\n");
		goto out;
	}
	if (te_interp_run(g, b.ref, &err)) {
		fprintf(stderr, "ftc run: reference: %s\n", err.msg);
		goto out;
	}
	t0 = rt_now();
	if (lir_interp_run(f, params, &err)) {
		fprintf(stderr, "%s: error: the loop IR failed: %s\n", o->file, err.msg);
		rc = CLI_USER_ERROR;
		goto out;
	}
	t1 = rt_now();
	printf("loop IR interpreter: %.3f s\n", t1 - t0);
	if (report(g, &b)) {
		printf("verified\n");
		rc = CLI_OK;
	} else {
		printf("MISMATCH\n");
		rc = CLI_USER_ERROR;
	}
out:
	free(params);
	bufs_free(&b);
	return rc;
}

/* Whether --target names a cuda target (parsed into *t). */
static bool is_cuda(const cli_opts *o, cg_target *t)
{
	return o->target && cg_target_parse(o->target, t, NULL) == 0 && t->kind == CG_TARGET_CUDA;
}

int cli_run(int argc, char **argv)
{
	cg_target t;
	cli_opts o;
	isl_ctx *ctx = NULL;
	te_graph *g = NULL;
	lir_func *f = NULL;
	char *src = NULL;
	int rc = CLI_USER_ERROR;

	if (cli_parse_common("run", argc, argv, &o, CLI_SEED | CLI_SCHEDULE | CLI_INTERP | CLI_TARGET))
		goto out;
	if (o.help) {
		fputs(run_help, stdout);
		rc = CLI_OK;
		goto out;
	}
	if ((ctx = cli_isl_ctx()) && (g = cli_load(&o, ctx, &src)) && !o.interp && is_cuda(&o, &t)) {
		/* the CUDA back end: the schedule file's text, or NULL for the naive GPU schedule */
		char *text = o.schedule ? cli_read_file(o.schedule) : NULL;

		rc = o.schedule && !text ? CLI_USER_ERROR : cli_run_cuda(&o, g, ctx, &t, text);
		free(text);
	} else if (g && (f = cli_lower_graph(&o, g, ctx))) {
		rc = o.interp ? run_interp(&o, g, f) : run_cpu(&o, g, f);
	}
out:
	lir_func_free(f);
	free(src);
	te_graph_free(g);
	isl_ctx_free(ctx);
	cli_opts_release(&o);
	return rc;
}
