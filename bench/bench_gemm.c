/*
 * bench_gemm: ftc's GEMM (examples/gemm.te under examples/gemm.sched)
 * against OpenBLAS's cblas_sgemm and oneDNN's dnnl_sgemm, f32, row-major,
 * M = N = K = 1024 (the .te file's shape), 1 and 2 threads.
 *
 * ftc's result is checked once against OpenBLAS's.  Then, per thread
 * count, rounds run ftc, OpenBLAS, oneDNN in turn (bench_interleave) and
 * a markdown table gives the median of the round medians as GFLOP/s and
 * ftc's ratios to each baseline.
 *
 * Threads: ftc through the target ("cpu -threads=T"); OpenBLAS (Debian's
 * pthread build) through openblas_set_num_threads; oneDNN (Debian's build
 * uses OpenMP, libgomp) through omp_set_num_threads.  Debian's OpenBLAS
 * 0.3.21 does not recognise newer CPUs and falls back to a generic kernel
 * unless OPENBLAS_CORETYPE names one; it reads the variable when the
 * library is loaded, before main, so this program refuses to run without
 * it (bench/run.sh exports OPENBLAS_CORETYPE=SkylakeX).
 */
/* cblas.h declares two affinity functions taking cpu_set_t, which its
 * openblas_config.h means to get from <sched.h>; here ir/sched.h (ftc's
 * schedules) shadows the system header, so leave those two out. */
#include <openblas_config.h>
#undef OPENBLAS_OS_LINUX
#include <cblas.h>
#include <dnnl.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "rt_alloc.h"
#include "te_interp.h"

static const char usage[] = "usage: bench_gemm [--schedule F] [--also F]... [--ir F] [--rounds N] "
			    "[--min-time S] [--threads 1,2] [--ftc-only]\n";

typedef struct gemm {
	int m, n, k;
	float *a, *b, *c;
} gemm;

static int run_openblas(void *ctx)
{
	gemm *g = ctx;

	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g->m, g->n, g->k, 1.0f, g->a, g->k,
		    g->b, g->n, 0.0f, g->c, g->n);
	return 0;
}

static int run_dnnl(void *ctx)
{
	gemm *g = ctx;

	return dnnl_sgemm('N', 'N', g->m, g->n, g->k, 1.0f, g->a, g->k, g->b, g->n, 0.0f, g->c,
			  g->n) != dnnl_success;
}

/* The shape from the graph: A[M, K], B[K, N]. */
static void shape_of(const te_graph *tg, gemm *g)
{
	const te_stage *a = te_graph_find(tg, "A"), *b = te_graph_find(tg, "B");

	g->m = (int)a->shape[0];
	g->k = (int)a->shape[1];
	g->n = (int)b->shape[1];
}

/* Build ftc's kernel for T threads under schedule `sched` (NULL: the
 * example's own). */
static int build(bench_ftc *f, const bench_opts *o, int threads, const char *sched)
{
	char target[64], te[4096], def[4096];

	snprintf(target, sizeof(target), "cpu -threads=%d", threads);
	return bench_ftc_build(f, bench_src(te, sizeof(te), "examples/gemm.te"),
			       sched ? sched : bench_src(def, sizeof(def), "examples/gemm.sched"),
			       target, o->ir_path);
}

/* Fill A and B like `ftc run` does (uniform in [-1, 1), seed 1). */
static void fill(const te_graph *tg, gemm *g)
{
	te_random_fill(te_graph_find(tg, "A"), g->a, 1);
	te_random_fill(te_graph_find(tg, "B"), g->b, 1);
}

/* Run ftc and both baselines once; print the errors.  0 when ftc agrees. */
static int verify(bench_ftc *f, gemm *blas, gemm *dn, float *c_ftc)
{
	const te_stage *cs = te_graph_find(f->g, "C");
	long n = (long)blas->m * blas->n;
	te_cmp cmp;

	if (f->fn(f->args) || run_openblas(blas) || run_dnnl(dn)) {
		fprintf(stderr, "bench_gemm: a run failed\n");
		return -1;
	}
	cmp = te_compare(cs, c_ftc, blas->c);
	printf("verify: ftc vs OpenBLAS: max|d|/max|ref| %.3g (te_compare: max abs %.3g, %s); "
	       "oneDNN vs OpenBLAS: %.3g\n",
	       bench_rel_err(c_ftc, blas->c, n), cmp.max_abs,
	       cmp.ok ? "within tolerance" : "MISMATCH", bench_rel_err(dn->c, blas->c, n));
	return cmp.ok ? 0 : -1;
}

static void table_row(int threads, const bench_cand *c, int n, double flops)
{
	double best = 0;

	for (int i = 1; i < n; i++)
		if (flops / c[i].result > best)
			best = flops / c[i].result;
	printf("| %d |", threads);
	for (int i = 0; i < n; i++)
		printf(" %.1f |", flops / c[i].result * 1e-9);
	printf(" %.2f | %.2f | %.2f |\n", c[1].result / c[0].result, c[2].result / c[0].result,
	       flops / c[0].result / best);
}

int main(int argc, char **argv)
{
	bench_opts o;
	bench_ftc f[4][4] = {{{0}}};
	gemm blas = {0}, dn;
	float *c_ftc = NULL;
	bench_cand cands[4][6];
	int rc = 1, nb;
	double flops;

	if (bench_parse(argc, argv, &o, usage))
		return 2;
	if (!getenv("OPENBLAS_CORETYPE")) {
		fprintf(stderr,
			"bench_gemm: set OPENBLAS_CORETYPE (e.g. SkylakeX; bench/run.sh does): "
			"without it Debian's OpenBLAS may run a generic kernel\n");
		return 2;
	}
	printf("OpenBLAS: %s (core %s)\n", openblas_get_config(), openblas_get_corename());
	for (int t = 0; t < o.nthreads; t++)
		for (int i = 0; i <= o.nalso; i++)
			if (build(&f[t][i], &o, o.threads[t], i ? o.also[i - 1] : o.schedule))
				goto out;
	shape_of(f[0][0].g, &blas);
	flops = 2.0 * blas.m * blas.n * blas.k;
	blas.a = rt_alloc((size_t)blas.m * blas.k * sizeof(float));
	blas.b = rt_alloc((size_t)blas.k * blas.n * sizeof(float));
	blas.c = rt_alloc((size_t)blas.m * blas.n * sizeof(float));
	dn = blas;
	dn.c = rt_alloc((size_t)blas.m * blas.n * sizeof(float));
	c_ftc = rt_alloc((size_t)blas.m * blas.n * sizeof(float));
	if (!blas.a || !blas.b || !blas.c || !dn.c || !c_ftc)
		goto out;
	fill(f[0][0].g, &blas);
	dn.a = blas.a;
	dn.b = blas.b;
	printf("GEMM M=%d N=%d K=%d f32, ftc compiled in %.2f s\n", blas.m, blas.n, blas.k,
	       f[0][0].compile_s);
	nb = o.ftc_only ? 0 : 2;
	for (int t = 0; t < o.nthreads; t++) {
		openblas_set_num_threads(o.threads[t]);
		omp_set_num_threads(o.threads[t]);
		for (int i = 0; i <= o.nalso; i++) {
			f[t][i].args[0] = blas.a;
			f[t][i].args[1] = blas.b;
			f[t][i].args[2] = c_ftc;
			if (verify(&f[t][i], &blas, &dn, c_ftc))
				goto out;
		}
		cands[t][0] = (bench_cand){.name = "ftc", .fn = bench_ftc_call, .ctx = &f[t][0]};
		cands[t][1] = (bench_cand){.name = "openblas", .fn = run_openblas, .ctx = &blas};
		cands[t][2] = (bench_cand){.name = "onednn", .fn = run_dnnl, .ctx = &dn};
		for (int i = 0; i < o.nalso; i++)
			cands[t][1 + nb + i] = (bench_cand){
			    .name = "ftc-also", .fn = bench_ftc_call, .ctx = &f[t][1 + i]};
		fprintf(stderr, "threads %d:\n", o.threads[t]);
		if (bench_interleave(cands[t], 1 + nb + o.nalso, o.rounds, o.min_time))
			goto out;
		printf("threads %d: ftc %.1f GFLOP/s\n", o.threads[t],
		       flops / cands[t][0].result * 1e-9);
		bench_print_also(&o, o.threads[t], cands[t], 1 + nb, flops);
	}
	if (!o.ftc_only) {
		printf("\n| threads | ftc | OpenBLAS | oneDNN | ftc/OpenBLAS | ftc/oneDNN | "
		       "ftc/best |\n");
		printf("| --- | --- | --- | --- | --- | --- | --- |\n");
		for (int t = 0; t < o.nthreads; t++)
			table_row(o.threads[t], cands[t], 3, flops);
		printf("\nGFLOP/s = 2*M*N*K / (median over %d rounds of each round's median time); "
		       "~%.1f s per candidate per round.\n",
		       o.rounds, o.min_time);
	}
	rc = 0;
out:
	for (int t = 0; t < 4; t++)
		for (int i = 0; i < 4; i++)
			bench_ftc_free(&f[t][i]);
	rt_free(blas.a);
	rt_free(blas.b);
	rt_free(blas.c);
	rt_free(dn.c);
	rt_free(c_ftc);
	return rc;
}
