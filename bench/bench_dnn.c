/*
 * bench_dnn: one oneDNN primitive on the user's plain buffers.
 */
#include "bench_dnn.h"

#include <dnnl_debug.h>
#include <stdio.h>
#include <string.h>

int bdnn_open(bdnn *d)
{
	memset(d, 0, sizeof(*d));
	BDNN_CHECK(dnnl_engine_create(&d->eng, dnnl_cpu, 0));
	BDNN_CHECK(dnnl_stream_create(&d->st, d->eng, dnnl_stream_default_flags));
	return 0;
}

int bdnn_plain_md(dnnl_memory_desc_t *md, int ndims, const dnnl_dim_t *dims)
{
	static const dnnl_format_tag_t tags[] = {dnnl_a, dnnl_ab, dnnl_abc, dnnl_abcd, dnnl_abcde,
						 dnnl_abcdef};
	dnnl_dims_t d = {0};

	if (ndims < 1 || ndims > 6) {
		fprintf(stderr, "bench_dnn: no plain layout of rank %d\n", ndims);
		return -1;
	}
	memcpy(d, dims, ndims * sizeof(dnnl_dim_t));
	BDNN_CHECK(dnnl_memory_desc_init_by_tag(md, ndims, d, dnnl_f32, tags[ndims - 1]));
	return 0;
}

static int exec(bdnn *d, dnnl_primitive_t p, int n, const dnnl_exec_arg_t *args)
{
	return dnnl_primitive_execute(p, d->st, n, args) != dnnl_success;
}

static int reorder(bdnn *d, dnnl_primitive_t r, dnnl_memory_t from, dnnl_memory_t to)
{
	dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};

	return exec(d, r, 2, a);
}

/* A reorder between the user's memory `user` and a new memory of layout
 * `md` (user -> md, or md -> user when `back`), or none (*r NULL, *mem =
 * user) when the layouts agree. */
static int make_reorder(bdnn *d, dnnl_memory_t user, const dnnl_memory_desc_t *md,
			dnnl_memory_t *mem, dnnl_primitive_t *r, int back)
{
	const dnnl_memory_desc_t *umd;
	dnnl_primitive_desc_t pd;

	*r = NULL;
	BDNN_CHECK(dnnl_memory_get_memory_desc(user, &umd));
	if (dnnl_memory_desc_equal(umd, md)) {
		*mem = user;
		return 0;
	}
	BDNN_CHECK(dnnl_memory_create(mem, md, d->eng, DNNL_MEMORY_ALLOCATE));
	if (back)
		BDNN_CHECK(dnnl_reorder_primitive_desc_create(&pd, md, d->eng, umd, d->eng, NULL));
	else
		BDNN_CHECK(dnnl_reorder_primitive_desc_create(&pd, umd, d->eng, md, d->eng, NULL));
	BDNN_CHECK(dnnl_primitive_create(r, pd));
	dnnl_primitive_desc_destroy(pd);
	return 0;
}

/* "nChw16c"-like name of a blocked layout (dims named a, b, c, ...). */
static void layout_name(const dnnl_memory_desc_t *md, char *out, int size)
{
	const dnnl_blocking_desc_t *b = &md->format_desc.blocking;
	int order[DNNL_MAX_NDIMS], n = md->ndims, len = 0;

	if (md->format_kind != dnnl_blocked) {
		snprintf(out, size, "%s", dnnl_fmt_kind2str(md->format_kind));
		return;
	}
	for (int i = 0; i < n; i++)
		order[i] = i;
	for (int i = 0; i < n; i++) /* by stride, largest first; stable */
		for (int j = n - 1; j > i; j--)
			if (b->strides[order[j]] > b->strides[order[j - 1]]) {
				int t = order[j];

				order[j] = order[j - 1];
				order[j - 1] = t;
			}
	for (int i = 0; i < n && len < size - 1; i++) {
		int blocked = 0;

		for (int k = 0; k < b->inner_nblks; k++)
			blocked |= b->inner_idxs[k] == order[i];
		out[len++] = (char)((blocked ? 'A' : 'a') + order[i]);
	}
	for (int k = 0; k < b->inner_nblks && len < size - 8; k++)
		len += snprintf(out + len, size - len, "%d%c", (int)b->inner_blks[k],
				(char)('a' + b->inner_idxs[k]));
	out[len] = '\0';
}

static void describe(bdnn *d)
{
	const char *impl = NULL;
	char ls[32], lw[32] = "-", ld[32];

	dnnl_primitive_desc_query(d->pd, dnnl_query_impl_info_str, 0, &impl);
	layout_name(dnnl_primitive_desc_query_md(d->pd, dnnl_query_src_md, 0), ls, sizeof(ls));
	if (d->has_wei)
		layout_name(dnnl_primitive_desc_query_md(d->pd, dnnl_query_weights_md, 0), lw,
			    sizeof(lw));
	layout_name(dnnl_primitive_desc_query_md(d->pd, dnnl_query_dst_md, 0), ld, sizeof(ld));
	snprintf(d->impl, sizeof(d->impl), "%s, src %s, wei %s, dst %s", impl ? impl : "?", ls, lw,
		 ld);
}

/* The weights: reorder the user's once into oneDNN's layout. */
static int setup_wei(bdnn *d, const bdnn_user *u)
{
	dnnl_memory_t user;
	dnnl_primitive_t r;

	BDNN_CHECK(dnnl_memory_create(&user, u->wei_md, d->eng, u->wei));
	if (make_reorder(d, user,
			 dnnl_primitive_desc_query_md(d->pd, dnnl_query_weights_md, 0), &d->wei,
			 &r, 0)) {
		dnnl_memory_destroy(user);
		return -1;
	}
	if (!r)
		return 0; /* d->wei is the user's memory */
	if (reorder(d, r, user, d->wei) || dnnl_stream_wait(d->st) != dnnl_success) {
		fprintf(stderr, "bench_dnn: reordering the weights failed\n");
		dnnl_primitive_destroy(r);
		dnnl_memory_destroy(user);
		return -1;
	}
	dnnl_primitive_destroy(r);
	dnnl_memory_destroy(user);
	return 0;
}

int bdnn_setup(bdnn *d, const void *op_desc, const bdnn_user *u)
{
	BDNN_CHECK(dnnl_primitive_desc_create(&d->pd, op_desc, NULL, d->eng, NULL));
	BDNN_CHECK(dnnl_primitive_create(&d->prim, d->pd));
	BDNN_CHECK(dnnl_memory_create(&d->src_user, u->src_md, d->eng, u->src));
	BDNN_CHECK(dnnl_memory_create(&d->dst_user, u->dst_md, d->eng, u->dst));
	if (make_reorder(d, d->src_user, dnnl_primitive_desc_query_md(d->pd, dnnl_query_src_md, 0),
			 &d->src, &d->src_in, 0) ||
	    make_reorder(d, d->dst_user, dnnl_primitive_desc_query_md(d->pd, dnnl_query_dst_md, 0),
			 &d->dst, &d->dst_out, 1))
		return -1;
	d->has_wei = u->wei != NULL;
	if (d->has_wei && setup_wei(d, u))
		return -1;
	describe(d);
	return 0;
}

void bdnn_free(bdnn *d)
{
	if (d->src_in) {
		dnnl_primitive_destroy(d->src_in);
		dnnl_memory_destroy(d->src);
	}
	if (d->dst_out) {
		dnnl_primitive_destroy(d->dst_out);
		dnnl_memory_destroy(d->dst);
	}
	if (d->wei)
		dnnl_memory_destroy(d->wei);
	if (d->src_user)
		dnnl_memory_destroy(d->src_user);
	if (d->dst_user)
		dnnl_memory_destroy(d->dst_user);
	if (d->prim)
		dnnl_primitive_destroy(d->prim);
	if (d->pd)
		dnnl_primitive_desc_destroy(d->pd);
	if (d->st)
		dnnl_stream_destroy(d->st);
	if (d->eng)
		dnnl_engine_destroy(d->eng);
	memset(d, 0, sizeof(*d));
}

static int run_prim(bdnn *d)
{
	dnnl_exec_arg_t a[3] = {{DNNL_ARG_SRC, d->src}, {DNNL_ARG_DST, d->dst},
				{DNNL_ARG_WEIGHTS, d->wei}};

	return exec(d, d->prim, d->has_wei ? 3 : 2, a);
}

int bdnn_run_op(void *ctx)
{
	bdnn *d = ctx;

	return run_prim(d) || dnnl_stream_wait(d->st) != dnnl_success;
}

int bdnn_run_user(void *ctx)
{
	bdnn *d = ctx;

	if (d->src_in && reorder(d, d->src_in, d->src_user, d->src))
		return 1;
	if (run_prim(d))
		return 1;
	if (d->dst_out && reorder(d, d->dst_out, d->dst, d->dst_user))
		return 1;
	return dnnl_stream_wait(d->st) != dnnl_success;
}

bool bdnn_plain(const bdnn *d)
{
	return !d->src_in && !d->dst_out;
}
