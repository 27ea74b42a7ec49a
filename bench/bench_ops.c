/*
 * bench_ops: the library baseline of each operator of examples/.
 *
 *   gemm            dnnl_sgemm, OpenBLAS cblas_sgemm
 *   batch_matmul    oneDNN matmul (3-D), OpenBLAS cblas_sgemm per batch
 *   gemv            OpenBLAS cblas_sgemv, oneDNN inner product (weights
 *                   reordered once)
 *   conv1d/2d/3d, dilated_conv2d, group_conv2d, depthwise_conv2d
 *                   oneDNN convolution (1-D/2-D/3-D, dilation, groups)
 *   conv*_transposed oneDNN deconvolution (weights [C, K, ...] as iohw)
 *   maxpool2d       oneDNN max pooling, plain NCHW and blocked (nChw16c)
 *   softmax         oneDNN softmax over the last axis
 *   bilinear, mttkrp, sum  the plain C floor of bench_floor.c
 *
 * oneDNN candidates timed with the NCHW reorders are "fair" (the user's
 * layouts in and out); the same primitive on its own layouts is timed too
 * when it differs, as the layout-free bar.  Shapes come from the graph,
 * strides, pads, dilations and groups from the .te file's params.
 */
#include <openblas_config.h>
#undef OPENBLAS_OS_LINUX /* see bench_gemm.c: ir/sched.h shadows <sched.h> */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_suite.h"

/* ---- BLAS ---- */

/* C[b] = A[b] B[b] for b < batch (row-major), or y = A x when n == 0. */
typedef struct blas {
	int batch, m, n, k;
	const float *a, *b;
	float *c;
} blas;

static int run_dnnl_sgemm(void *ctx)
{
	blas *g = ctx;

	return dnnl_sgemm('N', 'N', g->m, g->n, g->k, 1.0f, g->a, g->k, g->b, g->n, 0.0f, g->c,
			  g->n) != dnnl_success;
}

static int run_cblas_sgemm(void *ctx)
{
	blas *g = ctx;
	long sa = (long)g->m * g->k, sb = (long)g->k * g->n, sc = (long)g->m * g->n;

	for (int b = 0; b < g->batch; b++)
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g->m, g->n, g->k, 1.0f,
			    g->a + b * sa, g->k, g->b + b * sb, g->n, 0.0f, g->c + b * sc, g->n);
	return 0;
}

static int run_cblas_sgemv(void *ctx)
{
	blas *g = ctx;

	cblas_sgemv(CblasRowMajor, CblasNoTrans, g->m, g->k, 1.0f, g->a, g->k, g->b, 1, 0.0f, g->c,
		    1);
	return 0;
}

static blas *new_blas(bs_run *r, int batch, int m, int n, int k, const char *a, const char *b)
{
	blas *g = calloc(1, sizeof(*g));

	if (!g) {
		fprintf(stderr, "bench_ops: out of memory\n");
		return NULL;
	}
	*g = (blas){batch, m, n, k, bs_buf(r, a), bs_buf(r, b), r->out_lib};
	r->lib_ctx = g;
	return g;
}

static void blas_impl(char *out, int size)
{
	snprintf(out, size, "%s, core %s", openblas_get_config(), openblas_get_corename());
}

/* A[M, K] B[K, N] -> C[M, N], or A[b, M, K] B[b, K, N] -> C[b, M, N]. */
static int setup_matmul(bs_run *r)
{
	const te_stage *a = te_graph_find(r->ftc.g, "A");
	int three = a && a->rank == 3, o = three;
	blas *g;
	char impl[192];

	if (!a || !r->out || r->out->rank != a->rank)
		return -1;
	if (!(g = new_blas(r, three ? (int)a->shape[0] : 1, (int)a->shape[o], (int)r->out->shape[o + 1],
			   (int)a->shape[o + 1], "A", "B")))
		return -1;
	r->flops = 2.0 * g->batch * g->m * g->n * g->k;
	blas_impl(impl, sizeof(impl));
	if (bs_add_lib(r, "openblas", run_cblas_sgemm, g, true, true, impl))
		return -1;
	if (!three)
		return bs_add_lib(r, "onednn-sgemm", run_dnnl_sgemm, g, true, true, "dnnl_sgemm");
	{
		dnnl_dims_t sd = {g->batch, g->m, g->k}, wd = {g->batch, g->k, g->n},
			    dd = {g->batch, g->m, g->n};
		dnnl_memory_desc_t s, w, d;
		dnnl_matmul_desc_t md;
		bdnn *dn = bs_new_dnn(r);

		if (!dn || bdnn_plain_md(&s, 3, sd) || bdnn_plain_md(&w, 3, wd) ||
		    bdnn_plain_md(&d, 3, dd))
			return -1;
		BDNN_CHECK(dnnl_matmul_desc_init(&md, &s, &w, NULL, &d));
		if (bdnn_setup(dn, &md,
			       &(bdnn_user){&s, &w, &d, bs_buf(r, "A"), bs_buf(r, "B"), r->out_lib}))
			return -1;
		return bs_add_lib(r, "onednn-matmul", bdnn_run_user, dn, true, true, dn->impl);
	}
}

/* y[M] = A[M, K] x[K] */
static int setup_gemv(bs_run *r)
{
	const te_stage *a = te_graph_find(r->ftc.g, "A");
	blas *g;
	char impl[192];

	if (!a || a->rank != 2 || !(g = new_blas(r, 1, (int)a->shape[0], 0, (int)a->shape[1], "A", "x")))
		return -1;
	r->flops = 2.0 * g->m * g->k;
	blas_impl(impl, sizeof(impl));
	if (bs_add_lib(r, "openblas-sgemv", run_cblas_sgemv, g, true, true, impl))
		return -1;
	{
		dnnl_dims_t sd = {1, g->k}, wd = {g->m, g->k}, dd = {1, g->m};
		dnnl_memory_desc_t s, w, wany, d;
		dnnl_inner_product_desc_t ip;
		bdnn *dn = bs_new_dnn(r);

		if (!dn || bdnn_plain_md(&s, 2, sd) || bdnn_plain_md(&w, 2, wd) ||
		    bdnn_plain_md(&d, 2, dd))
			return -1;
		BDNN_CHECK(dnnl_memory_desc_init_by_tag(&wany, 2, wd, dnnl_f32, dnnl_format_tag_any));
		BDNN_CHECK(dnnl_inner_product_forward_desc_init(&ip, dnnl_forward_inference, &s, &wany,
								NULL, &d));
		if (bdnn_setup(dn, &ip,
			       &(bdnn_user){&s, &w, &d, bs_buf(r, "x"), bs_buf(r, "A"), r->out_lib}))
			return -1;
		return bs_add_lib(r, "onednn-ip", bdnn_run_user, dn, true, true, dn->impl);
	}
}

/* ---- oneDNN convolutions, deconvolutions, pooling, softmax ---- */

/* Add d as the fair candidate (with reorders) and, when its layouts are
 * not the user's, as the layout-free one too. */
static int add_dnn(bs_run *r, bdnn *d, const char *name)
{
	char own[40];

	if (bs_add_lib(r, name, bdnn_run_user, d, true, true, d->impl))
		return -1;
	if (bdnn_plain(d))
		return 0;
	snprintf(own, sizeof(own), "%s-own-layouts", name);
	return bs_add_lib(r, own, bdnn_run_op, d, false, false, d->impl);
}

/* The geometry of a (de)convolution read from the graph and params. */
typedef struct conv_geo {
	int nsp; /* spatial dims: 1, 2, 3 */
	long n, c, k, groups;
	dnnl_dims_t src, wei, dst, stride, dil, pad;
	dnnl_dims_t wei_strides; /* the user's weights layout, by oneDNN dim */
	int wei_ndims;
	double ksz, isz, osz; /* products of kernel, input and output extents */
} conv_geo;

/* The filter F's layout as oneDNN dims: [K, C/G, k...] (conv), [C, K, k...]
 * (transposed: oneDNN wants [K, C, k...], so strided), [K, k...]
 * (depthwise: groups = C). */
static int conv_weights(bs_run *r, const te_stage *f, conv_geo *g, bool transposed)
{
	int depthwise = f->rank == 1 + g->nsp, nw = 0;

	g->groups = depthwise ? g->c : bs_param(r, "groups", 1);
	if (transposed && g->groups != 1)
		return -1;
	if (g->groups > 1) {
		g->wei[nw++] = g->groups;
		g->wei[nw++] = g->k / g->groups;
		g->wei[nw++] = g->c / g->groups;
	} else {
		g->wei[nw++] = g->k;
		g->wei[nw++] = g->c;
	}
	for (int i = 0; i < g->nsp; i++)
		g->wei[nw + i] = f->shape[f->rank - g->nsp + i];
	g->wei_ndims = nw + g->nsp;
	{ /* row-major strides of the user's F, then swap o/i for transposed */
		long s = 1;

		for (int i = g->wei_ndims - 1; i >= 0; i--) {
			g->wei_strides[i] = s;
			s *= g->wei[i];
		}
		if (transposed) {
			g->wei_strides[0] = g->ksz;
			g->wei_strides[1] = g->ksz * g->k;
		}
	}
	return 0;
}

static int conv_geometry(bs_run *r, conv_geo *g, bool transposed)
{
	const te_stage *in = te_graph_find(r->ftc.g, "I"), *f = te_graph_find(r->ftc.g, "F");

	memset(g, 0, sizeof(*g));
	if (!in || !f || !r->out || in->rank < 3 || in->rank > 5 || r->out->rank != in->rank)
		return -1;
	g->nsp = in->rank - 2;
	g->n = in->shape[0];
	g->c = in->shape[1];
	g->k = r->out->shape[1];
	g->ksz = g->isz = g->osz = 1;
	for (int i = 0; i < g->nsp; i++) {
		g->stride[i] = bs_param(r, "stride", 1);
		g->dil[i] = bs_param(r, "dilation", 1) - 1; /* oneDNN counts the gaps */
		g->pad[i] = bs_param(r, "pad", 0);
		g->ksz *= f->shape[f->rank - g->nsp + i];
		g->isz *= in->shape[2 + i];
		g->osz *= r->out->shape[2 + i];
	}
	memcpy(g->src, in->shape, sizeof(int64_t) * in->rank);
	memcpy(g->dst, r->out->shape, sizeof(int64_t) * in->rank);
	if (conv_weights(r, f, g, transposed))
		return -1;
	r->flops = transposed ? 2.0 * g->n * g->c * g->isz * g->k * g->ksz
			      : 2.0 * g->n * g->k * g->osz * (g->c / g->groups) * g->ksz;
	return 0;
}

static int setup_conv_like(bs_run *r, bool transposed)
{
	conv_geo g;
	dnnl_memory_desc_t s, w, d, sa, wa, da;
	bdnn *dn;
	int nd;

	if (conv_geometry(r, &g, transposed)) {
		fprintf(stderr, "bench_ops: %s is not a convolution bench_ops knows\n", r->op);
		return -1;
	}
	nd = 2 + g.nsp;
	if (!(dn = bs_new_dnn(r)) || bdnn_plain_md(&s, nd, g.src) || bdnn_plain_md(&d, nd, g.dst))
		return -1;
	BDNN_CHECK(dnnl_memory_desc_init_by_strides(&w, g.wei_ndims, g.wei, dnnl_f32, g.wei_strides));
	BDNN_CHECK(dnnl_memory_desc_init_by_tag(&sa, nd, g.src, dnnl_f32, dnnl_format_tag_any));
	BDNN_CHECK(dnnl_memory_desc_init_by_tag(&wa, g.wei_ndims, g.wei, dnnl_f32, dnnl_format_tag_any));
	BDNN_CHECK(dnnl_memory_desc_init_by_tag(&da, nd, g.dst, dnnl_f32, dnnl_format_tag_any));
	if (transposed) {
		dnnl_deconvolution_desc_t cd;

		BDNN_CHECK(dnnl_dilated_deconvolution_forward_desc_init(
		    &cd, dnnl_forward_inference, dnnl_deconvolution_direct, &sa, &wa, NULL, &da,
		    g.stride, g.dil, g.pad, g.pad));
		if (bdnn_setup(dn, &cd, &(bdnn_user){&s, &w, &d, bs_buf(r, "I"), bs_buf(r, "F"), r->out_lib}))
			return -1;
		return add_dnn(r, dn, "onednn-deconv");
	} else {
		dnnl_convolution_desc_t cd;

		BDNN_CHECK(dnnl_dilated_convolution_forward_desc_init(
		    &cd, dnnl_forward_inference, dnnl_convolution_direct, &sa, &wa, NULL, &da,
		    g.stride, g.dil, g.pad, g.pad));
		if (bdnn_setup(dn, &cd, &(bdnn_user){&s, &w, &d, bs_buf(r, "I"), bs_buf(r, "F"), r->out_lib}))
			return -1;
		return add_dnn(r, dn, "onednn-conv");
	}
}

static int setup_conv(bs_run *r)
{
	return setup_conv_like(r, false);
}

static int setup_deconv(bs_run *r)
{
	return setup_conv_like(r, true);
}

/* One max-pooling primitive with src layout `tag` (dst: oneDNN's choice). */
static int pool_one(bs_run *r, dnnl_format_tag_t tag, const char *name)
{
	const te_stage *in = te_graph_find(r->ftc.g, "I");
	dnnl_dims_t kern = {bs_param(r, "R", 0), bs_param(r, "S", 0)}, zero = {0, 0};
	dnnl_dims_t stride = {bs_param(r, "stride", 1), bs_param(r, "stride", 1)};
	dnnl_dims_t sd = {0}, dd = {0};
	dnnl_memory_desc_t s, d, sl, dl;
	dnnl_pooling_desc_t pd;
	bdnn *dn = bs_new_dnn(r);

	memcpy(sd, in->shape, 4 * sizeof(dnnl_dim_t));
	memcpy(dd, r->out->shape, 4 * sizeof(dnnl_dim_t));
	if (!dn || bdnn_plain_md(&s, 4, sd) || bdnn_plain_md(&d, 4, dd))
		return -1;
	BDNN_CHECK(dnnl_memory_desc_init_by_tag(&sl, 4, sd, dnnl_f32, tag));
	BDNN_CHECK(dnnl_memory_desc_init_by_tag(&dl, 4, dd, dnnl_f32, tag));
	BDNN_CHECK(dnnl_pooling_forward_desc_init(&pd, dnnl_forward_inference, dnnl_pooling_max, &sl,
						  &dl, stride, kern, zero, zero));
	if (bdnn_setup(dn, &pd, &(bdnn_user){&s, NULL, &d, bs_buf(r, "I"), NULL, r->out_lib}))
		return -1;
	return add_dnn(r, dn, name);
}

static int setup_pool(bs_run *r)
{
	const te_stage *in = te_graph_find(r->ftc.g, "I");

	if (!in || in->rank != 4 || !r->out || r->out->rank != 4)
		return -1;
	r->flops = (double)te_stage_numel(r->out) * bs_param(r, "R", 0) * bs_param(r, "S", 0);
	return pool_one(r, dnnl_nchw, "onednn-pool-nchw") ||
	       pool_one(r, dnnl_nChw16c, "onednn-pool-blocked");
}

static int setup_softmax(bs_run *r)
{
	dnnl_memory_desc_t s;
	dnnl_softmax_desc_t sd;
	bdnn *dn;

	if (!r->out || r->out->rank != 2 || !(dn = bs_new_dnn(r)) ||
	    bdnn_plain_md(&s, 2, r->out->shape))
		return -1;
	r->flops = te_graph_flops(r->ftc.g);
	BDNN_CHECK(dnnl_softmax_forward_desc_init(&sd, dnnl_forward_inference, &s, 1));
	if (bdnn_setup(dn, &sd, &(bdnn_user){&s, NULL, &s, bs_buf(r, "X"), NULL, r->out_lib}))
		return -1;
	return add_dnn(r, dn, "onednn-softmax");
}

/* ---- the plain C floors ---- */

static int setup_bilinear(bs_run *r)
{
	const te_stage *a = te_graph_find(r->ftc.g, "A"), *w = te_graph_find(r->ftc.g, "W");
	bfloor_bilinear *p = calloc(1, sizeof(*p));

	if (!p || !a || !w || w->rank != 3) {
		free(p);
		return -1;
	}
	*p = (bfloor_bilinear){(int)a->shape[0], (int)w->shape[0], (int)w->shape[1],
			       (int)w->shape[2], bs_buf(r, "A"), bs_buf(r, "B"), bs_buf(r, "W"),
			       r->out_lib};
	r->lib_ctx = p;
	r->flops = te_graph_flops(r->ftc.g);
	return bs_add_lib(r, "c-floor", bfloor_bilinear_run, p, true, true,
			  "plain C loop nest, -O3 -march=native, OpenMP over m");
}

static int setup_mttkrp(bs_run *r)
{
	const te_stage *x = te_graph_find(r->ftc.g, "X"), *b = te_graph_find(r->ftc.g, "B");
	bfloor_mttkrp *p = calloc(1, sizeof(*p));

	if (!p || !x || !b || x->rank != 3) {
		free(p);
		return -1;
	}
	*p = (bfloor_mttkrp){(int)x->shape[0], (int)x->shape[1], (int)x->shape[2], (int)b->shape[1],
			     bs_buf(r, "X"), bs_buf(r, "B"), bs_buf(r, "C"), r->out_lib};
	r->lib_ctx = p;
	r->flops = te_graph_flops(r->ftc.g);
	return bs_add_lib(r, "c-floor", bfloor_mttkrp_run, p, true, true,
			  "plain C loop nest, -O3 -march=native, OpenMP over i");
}

static int setup_sum(bs_run *r)
{
	const te_stage *a = te_graph_find(r->ftc.g, "A");
	bfloor_sum *p = calloc(1, sizeof(*p));

	if (!p || !a) {
		free(p);
		return -1;
	}
	*p = (bfloor_sum){(long)te_stage_numel(a), bs_buf(r, "A"), r->out_lib};
	r->lib_ctx = p;
	r->flops = te_graph_flops(r->ftc.g);
	return bs_add_lib(r, "c-floor", bfloor_sum_run, p, true, true,
			  "plain C loop, -O3 -march=native, OpenMP parallel for simd reduction");
}

static const struct {
	const char *op;
	int (*setup)(bs_run *r);
} ops[] = {
    {"gemm", setup_matmul},
    {"batch_matmul", setup_matmul},
    {"gemv", setup_gemv},
    {"conv1d", setup_conv},
    {"conv2d", setup_conv},
    {"conv3d", setup_conv},
    {"dilated_conv2d", setup_conv},
    {"group_conv2d", setup_conv},
    {"depthwise_conv2d", setup_conv},
    {"conv1d_transposed", setup_deconv},
    {"conv2d_transposed", setup_deconv},
    {"conv3d_transposed", setup_deconv},
    {"maxpool2d", setup_pool},
    {"softmax", setup_softmax},
    {"bilinear", setup_bilinear},
    {"mttkrp", setup_mttkrp},
    {"sum", setup_sum},
};

int bs_ops_setup(bs_run *r)
{
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (!strcmp(ops[i].op, r->kind)) {
			if (ops[i].setup(r)) {
				fprintf(stderr, "bench_ops: setting up the baselines of %s failed\n",
					r->op);
				return -1;
			}
			return 0;
		}
	fprintf(stderr, "bench_ops: no library baseline for operator kind '%s'\n", r->kind);
	return -1;
}
