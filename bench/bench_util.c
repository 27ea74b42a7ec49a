/*
 * bench_util: building ftc kernels and timing candidates in interleaved
 * rounds, for the benchmarks in bench/.
 */
#include "bench_util.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <isl/options.h>

#include "lower.h"
#include "rt_bench.h"
#include "rt_math.h"
#include "rt_time.h"
#include "sched.h"
#include "te_parse.h"
#include "te_verify.h"

#ifndef FTC_SRC_ROOT
#define FTC_SRC_ROOT "."
#endif

const char *bench_src(char *out, int size, const char *rel)
{
	snprintf(out, size, "%s/%s", FTC_SRC_ROOT, rel);
	return out;
}

/* The whole file as a NUL-terminated string (malloc'd), or NULL. */
static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f) {
		fprintf(stderr, "%s: cannot open: %s\n", path, strerror(errno));
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc(n + 1)) && fread(buf, 1, n, f) == (size_t)n)
		buf[n] = '\0';
	else {
		fprintf(stderr, "%s: cannot read\n", path);
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

/* te -> graph -> lir, printing errors.  0 or -1. */
static int lower(bench_ftc *b, const char *te_path, const char *sched_path)
{
	char *src = read_file(te_path), *ssrc = read_file(sched_path);
	sch_schedule *s = NULL;
	rt_error err;
	int rc = -1;

	rt_error_clear(&err);
	if (!src || !ssrc)
		goto out;
	if (!(b->g = te_parse(src, NULL, 0, &err)) || te_verify(b->g, b->ctx, &err)) {
		te_diag_print(stderr, te_path, src, &err);
		goto out;
	}
	if (!(s = sch_parse(ssrc, &err))) {
		te_diag_print(stderr, sched_path, ssrc, &err);
		goto out;
	}
	if (!(b->f = lir_lower(b->g, s, b->ctx, "kernel", &err)) || lir_verify(b->f, &err)) {
		fprintf(stderr, "%s: lowering failed: %s\n", sched_path, err.msg);
		goto out;
	}
	rc = 0;
out:
	sch_free(s);
	free(src);
	free(ssrc);
	return rc;
}

static int write_ir(const cg_module *m, const char *path)
{
	char *text = cg_module_print(m);
	FILE *f = text ? fopen(path, "w") : NULL;
	int rc = f && fputs(text, f) >= 0 ? 0 : -1;

	if (f && fclose(f))
		rc = -1;
	if (rc)
		fprintf(stderr, "%s: cannot write the LLVM IR\n", path);
	free(text);
	return rc;
}

int bench_ftc_build(bench_ftc *b, const char *te_path, const char *sched_path, const char *target,
		    const char *ir_path)
{
	cg_target t;
	cg_module *m = NULL;
	rt_error err;
	double t0 = rt_now();

	memset(b, 0, sizeof(*b));
	rt_error_clear(&err);
	if (!(b->ctx = isl_ctx_alloc()))
		return -1;
	isl_options_set_on_error(b->ctx, ISL_ON_ERROR_CONTINUE);
	if (lower(b, te_path, sched_path))
		goto fail;
	if (cg_target_parse(target, &t, &err) || !(m = cg_cpu_compile(b->f, &t, &err)))
		goto cg_fail;
	if (ir_path && write_ir(m, ir_path))
		goto fail;
	if (!(b->jit = cg_jit_new(m, &err)))
		goto cg_fail;
	m = NULL;
	b->fn = cg_jit_entry(b->jit);
	if (!(b->args = calloc(lir_func_nparams(b->f) + 1, sizeof(void *))))
		goto fail;
	b->compile_s = rt_now() - t0;
	return 0;
cg_fail:
	fprintf(stderr, "%s: code generation for '%s' failed: %s\n", sched_path, target, err.msg);
fail:
	cg_module_free(m);
	bench_ftc_free(b);
	return -1;
}

void bench_ftc_free(bench_ftc *b)
{
	free(b->args);
	cg_jit_free(b->jit);
	lir_func_free(b->f);
	te_graph_free(b->g);
	if (b->ctx)
		isl_ctx_free(b->ctx);
	memset(b, 0, sizeof(*b));
}

int bench_ftc_call(void *ctx)
{
	bench_ftc *b = ctx;

	return b->fn(b->args);
}

static double median(const double *x, int n)
{
	double s[BENCH_MAX_ROUNDS];

	memcpy(s, x, n * sizeof(double));
	qsort(s, n, sizeof(double), rt_cmp_double);
	return n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

/* Long enough for OpenBLAS's idle workers (which yield-spin for about
 * 2^28 cycles, ~0.1 s) and OpenMP's to go to sleep. */
static void settle(void)
{
	struct timespec ts = {0, 150 * 1000 * 1000};

	nanosleep(&ts, NULL);
}

int bench_interleave(bench_cand *cands, int n, int rounds, double min_time)
{
	rt_bench_opts o;
	rt_timing tm;
	rt_error err;

	rt_bench_opts_default(&o);
	o.min_time = min_time;
	o.warmup = 1;
	rt_error_clear(&err);
	for (int r = 0; r < rounds; r++) {
		fprintf(stderr, "  round %d:", r + 1);
		for (int c = 0; c < n; c++) {
			settle();
			if (rt_bench(cands[c].fn, cands[c].ctx, &o, &tm, &err)) {
				fprintf(stderr, "\n%s: %s\n", cands[c].name, err.msg);
				return -1;
			}
			cands[c].med[r] = tm.median;
			fprintf(stderr, " %s %.3f ms (%d runs)", cands[c].name, tm.median * 1e3,
				tm.runs);
		}
		fprintf(stderr, "\n");
	}
	for (int c = 0; c < n; c++)
		cands[c].result = median(cands[c].med, rounds);
	return 0;
}

double bench_rel_err(const float *got, const float *want, long n)
{
	double d = 0, w = 0;

	for (long i = 0; i < n; i++) {
		double e = fabs((double)got[i] - want[i]);

		if (!(e <= d)) /* NaN wins */
			d = e;
		if (fabs(want[i]) > w)
			w = fabs(want[i]);
	}
	return w > 0 ? d / w : d;
}

void bench_print_also(const bench_opts *o, int threads, const bench_cand *c, int first,
		      double flops)
{
	for (int i = 0; i < o->nalso; i++)
		printf("threads %d: ftc with %s: %.1f GFLOP/s, %.2fx the main schedule\n", threads,
		       o->also[i], flops / c[first + i].result * 1e-9,
		       c[0].result / c[first + i].result);
}

static int parse_threads(const char *s, bench_opts *o)
{
	char *end;

	o->nthreads = 0;
	while (*s && o->nthreads < 4) {
		long t = strtol(s, &end, 10);

		if (end == s || t < 1 || t > 1024)
			return -1;
		o->threads[o->nthreads++] = (int)t;
		s = *end == ',' ? end + 1 : end;
		if (*end && *end != ',')
			return -1;
	}
	return o->nthreads ? 0 : -1;
}

int bench_parse(int argc, char **argv, bench_opts *o, const char *usage)
{
	memset(o, 0, sizeof(*o));
	o->rounds = 7;
	o->min_time = 0.3;
	o->threads[0] = 1;
	o->threads[1] = 2;
	o->nthreads = 2;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--ftc-only")) {
			o->ftc_only = 1;
			continue;
		}
		if (!v)
			goto bad;
		if (!strcmp(a, "--schedule"))
			o->schedule = v;
		else if (!strcmp(a, "--also") && o->nalso < 3)
			o->also[o->nalso++] = v;
		else if (!strcmp(a, "--ir"))
			o->ir_path = v;
		else if (!strcmp(a, "--rounds"))
			o->rounds = atoi(v);
		else if (!strcmp(a, "--min-time"))
			o->min_time = atof(v);
		else if (!strcmp(a, "--threads")) {
			if (parse_threads(v, o))
				goto bad;
		} else
			goto bad;
		i++;
	}
	if (o->rounds >= 1 && o->rounds <= BENCH_MAX_ROUNDS && o->min_time > 0)
		return 0;
bad:
	fputs(usage, stderr);
	return -1;
}
