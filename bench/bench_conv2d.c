/*
 * bench_conv2d: ftc's conv2d (examples/conv2d.te under examples/
 * conv2d.sched: batch 1, NCHW input, KCRS filter, NCHW output) against
 * oneDNN's direct convolution forward (f32, inference), 1 and 2 threads:
 *
 *   onednn-conv   the convolution primitive alone, on data already in the
 *                 layouts oneDNN chose (format_tag any for src, weights
 *                 and dst);
 *   onednn-nchw   reorder the NCHW input to oneDNN's layout, convolve,
 *                 reorder the output back to NCHW, timed together (the
 *                 weights are reordered once, outside the timing, as an
 *                 inference user would).
 *
 * ftc's output is checked against oneDNN's (after the reorder back).
 * Rounds run ftc, onednn-conv, onednn-nchw in turn (bench_interleave);
 * GFLOP/s counts 2*N*K*P*Q*C*R*S.  oneDNN (Debian's build) runs on OpenMP:
 * its threads are set with omp_set_num_threads before its primitives are
 * created, since oneDNN plans the work split at creation.
 */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_dnn.h"
#include "bench_util.h"
#include "rt_alloc.h"
#include "te_interp.h"

/* examples/conv2d.te's stride and padding (the graph keeps only shapes). */
#define CONV_STRIDE 1
#define CONV_PAD 1

static const char usage[] = "usage: bench_conv2d [--schedule F] [--also F]... [--ir F] [--rounds "
			    "N] [--min-time S] [--threads 1,2] [--ftc-only]\n";

typedef struct shape {
	int64_t n, c, h, w, k, r, s, p, q;
} shape;

/* oneDNN's convolution on the NCHW/KCRS/NCHW buffers (bench_dnn): the
 * primitive with format "any" everywhere; run_op is "onednn-conv" and
 * run_user (with the NCHW reorders) "onednn-nchw". */
static int dnn_setup(bdnn *d, const shape *sh, float *in, float *f, float *out)
{
	dnnl_dims_t src_dims = {sh->n, sh->c, sh->h, sh->w}, wei_dims = {sh->k, sh->c, sh->r, sh->s};
	dnnl_dims_t dst_dims = {sh->n, sh->k, sh->p, sh->q};
	dnnl_dims_t strides = {CONV_STRIDE, CONV_STRIDE}, pad = {CONV_PAD, CONV_PAD};
	dnnl_memory_desc_t src_any, wei_any, dst_any, src_plain, wei_plain, dst_plain;
	dnnl_convolution_desc_t cd;

	if (bdnn_open(d))
		return -1;
	BDNN_CHECK(dnnl_memory_desc_init_by_tag(&src_any, 4, src_dims, dnnl_f32, dnnl_format_tag_any));
	BDNN_CHECK(dnnl_memory_desc_init_by_tag(&wei_any, 4, wei_dims, dnnl_f32, dnnl_format_tag_any));
	BDNN_CHECK(dnnl_memory_desc_init_by_tag(&dst_any, 4, dst_dims, dnnl_f32, dnnl_format_tag_any));
	if (bdnn_plain_md(&src_plain, 4, src_dims) || bdnn_plain_md(&wei_plain, 4, wei_dims) ||
	    bdnn_plain_md(&dst_plain, 4, dst_dims))
		return -1;
	BDNN_CHECK(dnnl_convolution_forward_desc_init(&cd, dnnl_forward_inference, dnnl_convolution_direct,
						     &src_any, &wei_any, NULL, &dst_any, strides, pad, pad));
	return bdnn_setup(d, &cd,
			  &(bdnn_user){.src_md = &src_plain, .wei_md = &wei_plain, .dst_md = &dst_plain,
				       .src = in, .wei = f, .dst = out});
}

/* The shape from the graph (I[N,C,H,W], F[K,C,R,S], O[N,K,P,Q]), checked
 * against CONV_STRIDE and CONV_PAD. */
static int shape_of(const te_graph *g, shape *sh)
{
	const te_stage *i = te_graph_find(g, "I"), *f = te_graph_find(g, "F"),
		       *o = te_graph_find(g, "O");

	if (!i || !f || !o || i->rank != 4 || f->rank != 4 || o->rank != 4)
		return -1;
	*sh = (shape){i->shape[0], i->shape[1], i->shape[2], i->shape[3], f->shape[0],
		      f->shape[2], f->shape[3], o->shape[2], o->shape[3]};
	return sh->p == (sh->h + 2 * CONV_PAD - sh->r) / CONV_STRIDE + 1 &&
		       sh->q == (sh->w + 2 * CONV_PAD - sh->s) / CONV_STRIDE + 1
		   ? 0
		   : -1;
}

/* Build ftc's kernel for T threads under schedule `sched` (NULL: the
 * example's own). */
static int build(bench_ftc *f, const bench_opts *o, int threads, const char *sched)
{
	char target[64], te[4096], def[4096];

	snprintf(target, sizeof(target), "cpu -threads=%d", threads);
	return bench_ftc_build(f, bench_src(te, sizeof(te), "examples/conv2d.te"),
			       sched ? sched : bench_src(def, sizeof(def), "examples/conv2d.sched"),
			       target, o->ir_path);
}

/* Run ftc's kernel f once and compare its output with oneDNN's. */
static int verify(bench_ftc *f, float *out_ftc, const float *out_dnn, int64_t nout)
{
	te_cmp cmp;

	if (f->fn(f->args)) {
		fprintf(stderr, "bench_conv2d: ftc's kernel failed\n");
		return -1;
	}
	cmp = te_compare(te_graph_find(f->g, "O"), out_ftc, out_dnn);
	printf("verify: ftc vs oneDNN: max|d|/max|ref| %.3g (te_compare: max abs %.3g, %s)\n",
	       bench_rel_err(out_ftc, out_dnn, nout), cmp.max_abs,
	       cmp.ok ? "within tolerance" : "MISMATCH");
	return cmp.ok ? 0 : -1;
}

static void table_row(int threads, const bench_cand *c, double flops)
{
	double g0 = flops / c[0].result, g1 = flops / c[1].result, g2 = flops / c[2].result;

	printf("| %d | %.1f | %.1f | %.1f | %.2f | %.2f |\n", threads, g0 * 1e-9, g1 * 1e-9,
	       g2 * 1e-9, g0 / g1, g0 / g2);
}

int main(int argc, char **argv)
{
	bench_opts o;
	bench_ftc f[4][4] = {{{0}}};
	bdnn d[4] = {{0}};
	bench_cand cands[4][6];
	float *in = NULL, *flt = NULL, *out_ftc = NULL, *out_dnn = NULL;
	shape sh;
	double flops;
	int64_t nin, nflt, nout;
	int rc = 1, nb;

	if (bench_parse(argc, argv, &o, usage))
		return 2;
	for (int t = 0; t < o.nthreads; t++)
		for (int i = 0; i <= o.nalso; i++)
			if (build(&f[t][i], &o, o.threads[t], i ? o.also[i - 1] : o.schedule))
				goto out;
	if (shape_of(f[0][0].g, &sh)) {
		fprintf(stderr,
			"bench_conv2d: conv2d.te is not a stride-%d pad-%d NCHW convolution\n",
			CONV_STRIDE, CONV_PAD);
		goto out;
	}
	flops = 2.0 * sh.n * sh.k * sh.p * sh.q * sh.c * sh.r * sh.s;
	nin = sh.n * sh.c * sh.h * sh.w;
	nflt = sh.k * sh.c * sh.r * sh.s;
	nout = sh.n * sh.k * sh.p * sh.q;
	in = rt_alloc(nin * sizeof(float));
	flt = rt_alloc(nflt * sizeof(float));
	out_ftc = rt_alloc(nout * sizeof(float));
	out_dnn = rt_alloc(nout * sizeof(float));
	if (!in || !flt || !out_ftc || !out_dnn)
		goto out;
	te_random_fill(te_graph_find(f[0][0].g, "I"), in, 1);
	te_random_fill(te_graph_find(f[0][0].g, "F"), flt, 1);
	printf("conv2d N=%lld C=%lld H=W=%lld K=%lld R=S=%lld stride %d pad %d f32 (%.3f GFLOP), "
	       "ftc compiled in %.2f s; oneDNN %d.%d.%d\n",
	       (long long)sh.n, (long long)sh.c, (long long)sh.h, (long long)sh.k, (long long)sh.r,
	       CONV_STRIDE, CONV_PAD, flops * 1e-9, f[0][0].compile_s, dnnl_version()->major,
	       dnnl_version()->minor, dnnl_version()->patch);
	nb = o.ftc_only ? 0 : 2;
	for (int t = 0; t < o.nthreads; t++) {
		omp_set_num_threads(o.threads[t]);
		if (dnn_setup(&d[t], &sh, in, flt, out_dnn))
			goto out;
		printf("threads %d: oneDNN %s\n", o.threads[t], d[t].impl);
		if (bdnn_run_user(&d[t])) {
			fprintf(stderr, "bench_conv2d: oneDNN failed\n");
			goto out;
		}
		for (int i = 0; i <= o.nalso; i++) {
			f[t][i].args[0] = in;
			f[t][i].args[1] = flt;
			f[t][i].args[2] = out_ftc;
			if (verify(&f[t][i], out_ftc, out_dnn, nout))
				goto out;
		}
		cands[t][0] = (bench_cand){.name = "ftc", .fn = bench_ftc_call, .ctx = &f[t][0]};
		cands[t][1] = (bench_cand){.name = "onednn-conv", .fn = bdnn_run_op, .ctx = &d[t]};
		cands[t][2] = (bench_cand){.name = "onednn-nchw", .fn = bdnn_run_user, .ctx = &d[t]};
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
		printf("\n| threads | ftc (NCHW) | oneDNN conv only | oneDNN with reorders | "
		       "ftc/conv only | "
		       "ftc/with reorders |\n");
		printf("| --- | --- | --- | --- | --- | --- |\n");
		for (int t = 0; t < o.nthreads; t++)
			table_row(o.threads[t], cands[t], flops);
		printf("\nGFLOP/s = 2*N*K*P*Q*C*R*S / (median over %d rounds of each round's "
		       "median time); "
		       "~%.1f s per candidate per round.\n",
		       o.rounds, o.min_time);
	}
	rc = 0;
out:
	for (int t = 0; t < 4; t++) {
		for (int i = 0; i < 4; i++)
			bench_ftc_free(&f[t][i]);
		bdnn_free(&d[t]);
	}
	rt_free(in);
	rt_free(flt);
	rt_free(out_ftc);
	rt_free(out_dnn);
	return rc;
}
