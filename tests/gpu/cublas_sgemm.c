/*
 * cublas_sgemm M N K [SECONDS]: time cuBLAS SGEMM C = A B on row-major
 * M x K and K x N matrices (FP32 math, no TF32), the baseline of
 * tests/gpu/run.sh.  Warm-up, then calls timed one by one with CUDA events
 * until SECONDS (default 0.5) have passed; prints
 *   cublas_sgemm M N K: median T ms, G GFLOP/s (R runs)
 * and exits 0, or prints why and exits 2 (no device, an error).
 *
 * Build: cc -O2 cublas_sgemm.c -I$CUDA/include -L$CUDA/lib64 -lcublas -lcudart
 */
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_RUNS 10000

static int cuda_ok(cudaError_t e, const char *what)
{
	if (e == cudaSuccess)
		return 1;
	fprintf(stderr, "cublas_sgemm: %s: %s\n", what, cudaGetErrorString(e));
	return 0;
}

static int cublas_ok(cublasStatus_t s, const char *what)
{
	if (s == CUBLAS_STATUS_SUCCESS)
		return 1;
	fprintf(stderr, "cublas_sgemm: %s: cuBLAS status %d\n", what, (int)s);
	return 0;
}

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return (x > y) - (x < y);
}

/* Row-major C = A B is column-major C^T = B^T A^T. */
static cublasStatus_t sgemm(cublasHandle_t h, int m, int n, int k, const float *a, const float *b, float *c)
{
	const float one = 1.0f, zero = 0.0f;

	return cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, n, m, k, &one, b, n, a, k, &zero, c, n);
}

int main(int argc, char **argv)
{
	int m, n, k, runs = 0, ndev = 0;
	double seconds = argc > 4 ? atof(argv[4]) : 0.5, total = 0;
	float *a = NULL, *b = NULL, *c = NULL, *t, *host;
	cublasHandle_t h;
	cudaEvent_t e0, e1;

	if (argc < 4 || (m = atoi(argv[1])) < 1 || (n = atoi(argv[2])) < 1 || (k = atoi(argv[3])) < 1) {
		fprintf(stderr, "usage: cublas_sgemm M N K [SECONDS]\n");
		return 2;
	}
	if (!cuda_ok(cudaGetDeviceCount(&ndev), "no CUDA device") || ndev < 1)
		return 2;
	t = malloc(sizeof(float) * MAX_RUNS);
	host = malloc(sizeof(float) * (size_t)(m > n ? m : n) * (size_t)k);
	if (!t || !host)
		return 2;
	for (size_t i = 0; i < (size_t)(m > n ? m : n) * (size_t)k; i++)
		host[i] = (float)((i * 2654435761u) % 2001) / 1000.0f - 1.0f;
	if (!cuda_ok(cudaMalloc((void **)&a, sizeof(float) * (size_t)m * k), "cudaMalloc") ||
	    !cuda_ok(cudaMalloc((void **)&b, sizeof(float) * (size_t)k * n), "cudaMalloc") ||
	    !cuda_ok(cudaMalloc((void **)&c, sizeof(float) * (size_t)m * n), "cudaMalloc") ||
	    !cuda_ok(cudaMemcpy(a, host, sizeof(float) * (size_t)m * k, cudaMemcpyHostToDevice), "copy") ||
	    !cuda_ok(cudaMemcpy(b, host, sizeof(float) * (size_t)k * n, cudaMemcpyHostToDevice), "copy") ||
	    !cublas_ok(cublasCreate(&h), "cublasCreate") ||
	    !cublas_ok(cublasSetMathMode(h, CUBLAS_PEDANTIC_MATH), "cublasSetMathMode") ||
	    !cuda_ok(cudaEventCreate(&e0), "event") || !cuda_ok(cudaEventCreate(&e1), "event"))
		return 2;
	for (int i = 0; i < 3; i++)
		if (!cublas_ok(sgemm(h, m, n, k, a, b, c), "cublasSgemm"))
			return 2;
	if (!cuda_ok(cudaDeviceSynchronize(), "warm-up"))
		return 2;
	while (runs < MAX_RUNS && (runs < 5 || total < seconds)) {
		cudaEventRecord(e0, 0);
		sgemm(h, m, n, k, a, b, c);
		cudaEventRecord(e1, 0);
		if (!cuda_ok(cudaEventSynchronize(e1), "cublasSgemm"))
			return 2;
		cudaEventElapsedTime(&t[runs], e0, e1);
		total += t[runs++] * 1e-3;
	}
	qsort(t, (size_t)runs, sizeof(float), cmp_float);
	printf("cublas_sgemm %d %d %d: median %.4f ms, %.1f GFLOP/s (%d runs)\n", m, n, k, t[runs / 2],
	       2.0 * m * n * k / (t[runs / 2] * 1e-3) * 1e-9, runs);
	cublasDestroy(h);
	cudaFree(a);
	cudaFree(b);
	cudaFree(c);
	free(t);
	free(host);
	return 0;
}
