/*
 * ftc run FILE.te --interp [--schedule FILE]: lower, run the loop IR
 * interpreter on seeded random inputs, compare with the reference.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cg.h"
#include "cg_backend.h"
#include "cli.h"
#include "cli_cuda.h"
#include "cli_verify.h"
#include "lir.h"
#include "rt_bench.h"
#include "rt_time.h"

static const char run_help[] =
	"usage: ftc run FILE.te [-D NAME=VALUE]... [--schedule FILE] [--target T] [--seed S] [--interp]\n"
	"\n"
	"Lower FILE.te under a schedule (default: naive), compile it for the CPU\n"
	"with LLVM (JIT), run it on seeded random inputs, compare every output\n"
	"with the reference interpreter and print the largest absolute and\n"
	"relative errors and `verified` or `MISMATCH` (exit status 1); then time\n"
	"it (warm-up, repeats until 0.2 s, median) and print GFLOP/s.\n"
	"Tolerance: i32 exact; floats |got - want| <= r |want| + r max(1, max |want|),\n"
	"r = max(1e-4, 32 sqrt(L) 2^-24) for f32 (1e-10 and 2^-53 for f64), L the\n"
	"length of the output's sum (1 without one): a long sum rounds differently.\n"
	"\n"
	"  --interp          run the loop IR interpreter instead of compiled code\n"
	"  --target T        cpu [-mcpu=NAME] [-mattr=FEATURES] [-threads=N] (default: the host)\n"
	"  -D NAME=VALUE     replace the value of param NAME\n"
	"  --schedule FILE   the schedule to run\n"
	"  --seed S          seed of the random inputs (default 1)\n"
	"  -h, --help        show this help\n";

/* The timed call: a packed entry and its parameters. */
typedef struct timed_call {
	cg_packed_fn fn;
	void **params;
} timed_call;

static int call_timed(void *ctx)
{
	timed_call *c = ctx;

	return c->fn(c->params);
}

/* Check the kernel `fn` against the reference (cli_check_kernel), print
 * "verified" or "MISMATCH".  An exit status. */
static int check(const cli_opts *o, const te_graph *g, te_bufs *b, cli_kernel_fn fn, void *user, double *seconds)
{
	cli_verdict res;
	int rc = cli_check_kernel(o->file, g, b, fn, user, CLI_CHECK_TIMEOUT_S, stdout, &res);

	*seconds = res.seconds;
	if (res.crashed)
		fprintf(stderr, "%s: error: the %s %s\n", o->file, fn == cli_run_lir ? "loop IR" : "compiled kernel",
			res.why);
	else if (rc == CLI_OK || res.why[0])
		printf("%s\n", rc == CLI_OK ? "verified" : "MISMATCH");
	return rc;
}

/* Write the optimized LLVM IR of m to $FTC_DUMP_LLVM (a debugging
 * switch), never over the .te or schedule file. */
static void dump_llvm(const cli_opts *o, cg_module *m)
{
	const char *path = getenv("FTC_DUMP_LLVM");
	cli_input in[2] = {{"the .te file", o->file}, {"the schedule", o->schedule}};
	char *ir;

	if (!path || cli_check_output("run", "FTC_DUMP_LLVM", path, in, 2) || !(ir = cg_module_print(m)))
		return;
	cli_write_atomic("run", path, ir, strlen(ir));
	free(ir);
}

/* Compile f for the target, check it against the reference, time it. */
static int run_cpu(const cli_opts *o, const te_graph *g, const lir_func *f, const cg_target *t)
{
	te_bufs b = {0};
	rt_error err;
	cg_module *m;
	cg_jit *j = NULL;
	rt_bench_opts bo;
	rt_timing tm;
	timed_call call;
	double t0, secs;
	int rc;
	char ts[256];

	rt_error_clear(&err);
	t0 = rt_now();
	if ((m = cg_cpu_compile(f, t, &err)))
		dump_llvm(o, m);
	if (!m || !(j = cg_jit_new(m, &err))) {
		fprintf(stderr, "%s: internal error: %s\n", o->file, err.msg);
		return CLI_INTERNAL_ERROR;
	}
	cg_target_string(t, ts, sizeof(ts));
	printf("compiled for %s in %.2f s\n", ts, rt_now() - t0);
	call.fn = cg_jit_entry(j);
	if ((rc = cli_bufs_alloc(&b, o->file, g, o->seed)) ||
	    (rc = check(o, g, &b, cli_run_packed, &call.fn, &secs)))
		goto out;
	call.params = b.params;
	rt_bench_opts_default(&bo);
	if (rt_bench(call_timed, &call, &bo, &tm, &err)) {
		fprintf(stderr, "ftc run: timing: %s\n", err.msg);
		rc = CLI_INTERNAL_ERROR;
		goto out;
	}
	printf("time: median %.4g ms (min %.4g, spread %.1f%%, %d runs), %.2f GFLOP/s\n", tm.median * 1e3,
	       tm.min * 1e3, tm.spread * 100, tm.runs, te_graph_flops(g) * 1e-9 / tm.median);
out:
	te_bufs_free(&b);
	cg_jit_free(j);
	return rc;
}

/* Run the loop IR interpreter on f, check it against the reference. */
static int run_interp(const cli_opts *o, const te_graph *g, const lir_func *f)
{
	te_bufs b = {0};
	double secs = 0;
	int rc;

	if ((rc = cli_bufs_alloc(&b, o->file, g, o->seed)) == CLI_OK)
		rc = check(o, g, &b, cli_run_lir, (void *)f, &secs);
	if (secs > 0)
		printf("loop IR interpreter: %.3f s\n", secs);
	te_bufs_free(&b);
	return rc;
}

int cli_run(int argc, char **argv)
{
	const cg_backend *be;
	cg_target t;
	rt_error err;
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
	rt_error_clear(&err);
	if (cg_target_parse(o.target ? o.target : "cpu", &t, &err)) {
		fprintf(stderr, "ftc run: %s\n", err.msg);
		goto out;
	}
	be = cg_backend_of(t.kind);
	if (!o.interp && be->measure == CG_MEASURE_MODEL) {
		fprintf(stderr, "ftc run: the %s back end is estimated by a model, not run: 'ftc tune --target %s' "
				"estimates, 'ftc compile --target %s' writes a C simulation (or give --interp)\n",
			be->name, be->name, be->name);
		goto out;
	}
	if ((ctx = cli_isl_ctx()) && (g = cli_load(&o, ctx, &src)) && !o.interp && be->measure == CG_MEASURE_LAUNCH) {
		/* launched through search's measurer: the schedule file's text, or NULL for the default */
		char *text = o.schedule ? cli_read_file(o.schedule) : NULL;

		rc = o.schedule && !text ? CLI_USER_ERROR : cli_run_cuda(&o, g, ctx, &t, text);
		free(text);
	} else if (g && (f = cli_lower_graph(&o, g, ctx))) {
		rc = o.interp ? run_interp(&o, g, f) : run_cpu(&o, g, f, &t);
	}
out:
	lir_func_free(f);
	free(src);
	te_graph_free(g);
	isl_ctx_free(ctx);
	cli_opts_release(&o);
	return rc;
}
