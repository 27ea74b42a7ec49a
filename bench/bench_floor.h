/*
 * bench_floor: plain C loop nests for the operators no library has
 * (bilinear, mttkrp, sum), compiled with -O3 -march=native (bench/meson.build)
 * and parallelized over their outer loop with OpenMP: the floor ftc must
 * clear.  Each computes exactly what the example .te file says, in the
 * same order of operations, row-major.
 */
#ifndef FTC_BENCH_FLOOR_H
#define FTC_BENCH_FLOOR_H

/* Y[n, m] = sum(k < K, l < L) A[n, k] * W[m, k, l] * B[n, l] */
typedef struct bfloor_bilinear {
	int n, m, k, l;
	const float *a, *b, *w;
	float *y;
} bfloor_bilinear;

/* A[i, r] = sum(j < J, k < K) X[i, j, k] * B[j, r] * C[k, r] */
typedef struct bfloor_mttkrp {
	int i, j, k, r;
	const float *x, *b, *c;
	float *a;
} bfloor_mttkrp;

/* s = sum of the n floats of a (examples/sum.te: A[N, N], n = N * N) */
typedef struct bfloor_sum {
	long n;
	const float *a;
	float *s;
} bfloor_sum;

/* rt_bench bodies; ctx is the struct above.  They return 0. */
int bfloor_bilinear_run(void *ctx);
int bfloor_mttkrp_run(void *ctx);
int bfloor_sum_run(void *ctx);

#endif
