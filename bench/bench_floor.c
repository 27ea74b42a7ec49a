/*
 * bench_floor: the plain C floors.  The reductions carry `omp simd
 * reduction` so that -O3 without -ffast-math may vectorize them (what a
 * C programmer writing a fast plain loop would add); nothing is tiled.
 */
#include "bench_floor.h"

int bfloor_bilinear_run(void *ctx)
{
	const bfloor_bilinear *p = ctx;
	const int N = p->n, M = p->m, K = p->k, L = p->l;

	/* m outermost: W[m] (K*L floats) is reused by every n. */
#pragma omp parallel for schedule(static)
	for (int m = 0; m < M; m++)
		for (int n = 0; n < N; n++) {
			const float *bn = p->b + (long)n * L;
			float acc = 0;

			for (int k = 0; k < K; k++) {
				const float a = p->a[(long)n * K + k];
				const float *w = p->w + ((long)m * K + k) * L;

#pragma omp simd reduction(+ : acc)
				for (int l = 0; l < L; l++)
					acc += a * w[l] * bn[l];
			}
			p->y[(long)n * M + m] = acc;
		}
	return 0;
}

int bfloor_mttkrp_run(void *ctx)
{
	const bfloor_mttkrp *p = ctx;
	const int I = p->i, J = p->j, K = p->k, R = p->r;

#pragma omp parallel for schedule(static)
	for (int i = 0; i < I; i++) {
		float *a = p->a + (long)i * R;

		for (int r = 0; r < R; r++)
			a[r] = 0;
		for (int j = 0; j < J; j++) {
			const float *b = p->b + (long)j * R;
			const float *x = p->x + ((long)i * J + j) * K;

			for (int k = 0; k < K; k++) {
				const float xv = x[k];
				const float *c = p->c + (long)k * R;

				for (int r = 0; r < R; r++) /* r innermost: independent, vectorizes */
					a[r] += xv * b[r] * c[r];
			}
		}
	}
	return 0;
}

int bfloor_sum_run(void *ctx)
{
	const bfloor_sum *p = ctx;
	float acc = 0;

#pragma omp parallel for simd schedule(static) reduction(+ : acc)
	for (long i = 0; i < p->n; i++)
		acc += p->a[i];
	p->s[0] = acc;
	return 0;
}
