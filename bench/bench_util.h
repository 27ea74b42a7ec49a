/*
 * bench_util: what bench_gemm and bench_conv2d share.
 *
 * An ftc kernel built from a .te file and a schedule (parse, verify, lower,
 * compile for "cpu -threads=T", JIT), and an interleaved timing harness:
 * each round runs every candidate once under rt_bench (warm-up, repeats
 * for a minimum time, median) and keeps its median; the result of a
 * candidate is the median of its round medians.  These machines are noisy
 * (ANCHORS.md), so only ratios measured in the same run mean anything.
 */
#ifndef FTC_BENCH_UTIL_H
#define FTC_BENCH_UTIL_H

#include <isl/ctx.h>

#include "cg.h"
#include "lir.h"
#include "te.h"

#define BENCH_MAX_ROUNDS 64
#define BENCH_MAX_CANDS 8

/* An ftc kernel, ready to run: args are the graph's inputs then outputs. */
typedef struct bench_ftc {
	isl_ctx *ctx;
	te_graph *g;
	lir_func *f;
	cg_jit *jit;
	cg_packed_fn fn;
	void **args; /* filled by the caller: lir_func_nparams(f) pointers */
	double compile_s;
} bench_ftc;

/*
 * Build the kernel of `te_path` under the schedule `sched_path` for
 * `target` (e.g. "cpu -threads=2").  With `ir_path` set, also write the
 * optimized LLVM IR there.  Returns 0, or -1 after printing what failed
 * to stderr; *b is then released.
 */
int bench_ftc_build(bench_ftc *b, const char *te_path, const char *sched_path, const char *target,
		    const char *ir_path);

/* Release what b holds (also after a failed build). */
void bench_ftc_free(bench_ftc *b);

/* An rt_bench body: run b->fn(b->args).  ctx is a bench_ftc. */
int bench_ftc_call(void *ctx);

/* One candidate of an interleaved comparison. */
typedef struct bench_cand {
	const char *name;
	int (*fn)(void *ctx); /* one run; non-zero on failure */
	void *ctx;
	double med[BENCH_MAX_ROUNDS]; /* seconds per run, one per round */
	double result;		      /* median of med[] */
} bench_cand;

/*
 * Run `rounds` rounds over cands[0..n) in order, each candidate timed with
 * rt_bench for at least `min_time` seconds, pausing between candidates so
 * that the thread pools of the previous one (OpenBLAS, OpenMP, ftc's) go
 * idle first.  Prints one line per round to stderr.  Returns 0, or -1
 * when a run fails.
 */
int bench_interleave(bench_cand *cands, int n, int rounds, double min_time);

/* Largest |got - want| over the largest |want|: a normwise relative error. */
double bench_rel_err(const float *got, const float *want, long n);

/* Options common to both benches. */
typedef struct bench_opts {
	const char *schedule; /* NULL: the example's own */
	const char *also[3];  /* more schedules, timed as extra candidates */
	int nalso;
	const char *ir_path; /* write ftc's LLVM IR here */
	int rounds;	     /* default 7 */
	double min_time;     /* default 0.3 */
	int threads[4];	     /* default {1, 2} */
	int nthreads;
	int ftc_only;
} bench_opts;

/* Print the results of the --also schedules, cands[first..first+nalso),
 * as GFLOP/s and relative to cands[0] (ftc under the main schedule). */
void bench_print_also(const bench_opts *o, int threads, const bench_cand *cands, int first,
		      double flops);

/* Parse --schedule F --also F (up to 3 times) --ir F --rounds N
 * --min-time S --threads 1,2 --ftc-only; 0, or -1 after printing usage. */
int bench_parse(int argc, char **argv, bench_opts *o, const char *usage);

/* The path of `rel` under the source tree, written to out[0..size). */
const char *bench_src(char *out, int size, const char *rel);

#endif
