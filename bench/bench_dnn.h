/*
 * bench_dnn: one oneDNN primitive on the user's plain (row-major, NC...)
 * buffers, for bench_suite.
 *
 * A primitive is described by its descriptor (made by the builders below
 * with format "any" where oneDNN allows it) and run in one of two ways:
 *
 *   bdnn_run_op    the primitive alone, on data already in the layouts
 *                  oneDNN chose (what a framework that keeps those
 *                  layouts pays);
 *   bdnn_run_user  reorder the user's src to oneDNN's layout, run,
 *                  reorder dst back (what a user with plain data pays).
 *
 * Weights are reordered once at setup, outside any timing (inference).
 * oneDNN (Debian's build) runs on OpenMP: set omp_set_num_threads before
 * bdnn_setup, since it plans the work split when the primitive is made.
 */
#ifndef FTC_BENCH_DNN_H
#define FTC_BENCH_DNN_H

#include <dnnl.h>
#include <dnnl_debug.h>
#include <stdio.h>
#include <stdbool.h>

/* What a primitive reads and writes, by oneDNN argument: src (+ weights) -> dst. */
typedef struct bdnn {
	dnnl_engine_t eng;
	dnnl_stream_t st;
	dnnl_primitive_desc_t pd;
	dnnl_primitive_t prim, src_in, dst_out; /* the reorders are NULL when not needed */
	dnnl_memory_t src_user, dst_user, src, wei, dst;
	bool has_wei;
	char impl[160]; /* "jit:avx512_core, src nChw16c, wei OIhw16i16o, dst nChw16c" */
} bdnn;

/* The user's plain buffers and their plain layouts; wei may be NULL. */
typedef struct bdnn_user {
	const dnnl_memory_desc_t *src_md, *wei_md, *dst_md;
	float *src, *wei, *dst;
} bdnn_user;

/* Make the engine and stream (before any builder).  0 or -1 (printed). */
int bdnn_open(bdnn *d);

/*
 * Finish d around the descriptor `op_desc` (a dnnl_*_desc_t): create the
 * primitive, memories for the user's buffers, the src/dst reorders
 * oneDNN's layouts need, and reorder the weights once.  0 or -1 (printed).
 */
int bdnn_setup(bdnn *d, const void *op_desc, const bdnn_user *u);

/* Release what d holds (also after a failed setup); accepts a zeroed d. */
void bdnn_free(bdnn *d);

/* rt_bench bodies (ctx is a bdnn): non-zero on failure. */
int bdnn_run_op(void *ctx);
int bdnn_run_user(void *ctx);

/* True when src and dst are in the user's layouts (run_op == run_user). */
bool bdnn_plain(const bdnn *d);

/* A plain md of `ndims` dims: the row-major tag for that rank. */
int bdnn_plain_md(dnnl_memory_desc_t *md, int ndims, const dnnl_dim_t *dims);

#define BDNN_CHECK(call)                                                                           \
	do {                                                                                       \
		dnnl_status_t st_ = (call);                                                        \
		if (st_ != dnnl_success) {                                                         \
			fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call,              \
				dnnl_status2str(st_));                                             \
			return -1;                                                                 \
		}                                                                                  \
	} while (0)

#endif
