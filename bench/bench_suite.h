/*
 * bench_suite: one operator of examples/, ftc's kernel against the best
 * library primitive for the same computation (bench_ops.c says which),
 * timed in one process in interleaved rounds.
 */
#ifndef FTC_BENCH_SUITE_H
#define FTC_BENCH_SUITE_H

#include <stdbool.h>

#include "bench_dnn.h"
#include "bench_floor.h"
#include "bench_util.h"

#define BS_MAX_LIBS 4   /* library candidates of one operator */
#define BS_MAX_PARAMS 32 /* integer params read from a .te file */

/* One library candidate. */
typedef struct bs_lib {
	char name[32];
	int (*fn)(void *ctx);
	void *ctx;
	bool fair;  /* takes the user's plain layouts and writes the user's output */
	bool check; /* writes the user's output buffer: compared with ftc's */
	char impl[192];
} bs_lib;

/* Everything for one operator at one thread count. */
typedef struct bs_run {
	const char *op;	  /* the name reported: "conv2d" (examples/conv2d.te), "yolo-conv6" */
	const char *kind; /* whose library baseline: an examples/ name ("conv2d") */
	int threads;
	bench_ftc ftc;
	void **bufs;	       /* per stage id: inputs (random), the output (ftc's) */
	const te_stage *out;   /* the graph's one output */
	float *out_lib;	       /* the libraries' output */
	char pnames[BS_MAX_PARAMS][16];
	long pvals[BS_MAX_PARAMS];
	int nparams;
	double flops; /* the operator's own count (2 per multiply-add) */
	double bytes; /* inputs read once + the output written once */
	bs_lib libs[BS_MAX_LIBS];
	int nlibs;
	/* what the libraries hold; freed by bs_run_free */
	bdnn dnn[BS_MAX_LIBS];
	int ndnn;
	void *lib_ctx; /* malloc'd context of a non-oneDNN candidate */
} bs_run;

/* The integer param `name` of the .te file, or `def` when absent. */
long bs_param(const bs_run *r, const char *name, long def);

/* The buffer of the graph stage `name` (NULL when there is none). */
float *bs_buf(const bs_run *r, const char *name);

/* Add a library candidate; 0, or -1 past BS_MAX_LIBS. */
int bs_add_lib(bs_run *r, const char *name, int (*fn)(void *), void *ctx, bool fair, bool check,
	       const char *impl);

/* A new bdnn slot of r (engine and stream open), or NULL (printed). */
bdnn *bs_new_dnn(bs_run *r);

/*
 * Set up the library candidates of r->op on r's buffers (r->threads
 * threads) and r->flops.  0, or -1 after printing why (an operator
 * without a baseline is an error).
 */
int bs_ops_setup(bs_run *r);

#endif
