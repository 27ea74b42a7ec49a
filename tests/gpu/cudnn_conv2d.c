/*
 * cudnn_conv2d N C H W K R S PAD STRIDE [SECONDS]: time cuDNN's fastest
 * FP32 forward convolution (NCHW input, KCRS filter, FMA math: no TF32)
 * for tests/gpu/run.sh's conv2d row.  Warm-up, then calls timed one by one
 * with CUDA events until SECONDS (default 0.5); prints
 *   cudnn_conv2d ...: median T ms, G GFLOP/s (R runs, algo A)
 * (2 N K P Q C R S flops, as ftc counts them) and exits 0, or prints why
 * and exits 2.
 *
 * Build: cc -O2 cudnn_conv2d.c -I$CUDA/include -L$CUDA/lib64 -lcudnn -lcudart
 */
#include <cuda_runtime.h>
#include <cudnn.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_RUNS 10000

static int ok(cudnnStatus_t s, const char *what)
{
	if (s == CUDNN_STATUS_SUCCESS)
		return 1;
	fprintf(stderr, "cudnn_conv2d: %s: %s\n", what, cudnnGetErrorString(s));
	return 0;
}

static int cuda_ok(cudaError_t e, const char *what)
{
	if (e == cudaSuccess)
		return 1;
	fprintf(stderr, "cudnn_conv2d: %s: %s\n", what, cudaGetErrorString(e));
	return 0;
}

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	int v[9], p, q, ndev = 0, runs = 0, found = 0;
	double seconds = argc > 10 ? atof(argv[10]) : 0.5, total = 0;
	cudnnHandle_t h;
	cudnnTensorDescriptor_t xd, yd;
	cudnnFilterDescriptor_t wd;
	cudnnConvolutionDescriptor_t cd;
	cudnnConvolutionFwdAlgoPerf_t perf[16];
	float *x, *w, *y, *t, one = 1, zero = 0;
	void *ws = NULL;
	cudaEvent_t e0, e1;

	if (argc < 10) {
		fprintf(stderr, "usage: cudnn_conv2d N C H W K R S PAD STRIDE [SECONDS]\n");
		return 2;
	}
	for (int i = 0; i < 9; i++)
		if ((v[i] = atoi(argv[i + 1])) < (i == 7 ? 0 : 1))
			return fprintf(stderr, "cudnn_conv2d: bad argument %s\n", argv[i + 1]), 2;
	p = (v[2] + 2 * v[7] - v[5]) / v[8] + 1;
	q = (v[3] + 2 * v[7] - v[6]) / v[8] + 1;
	if (!cuda_ok(cudaGetDeviceCount(&ndev), "no CUDA device") || ndev < 1 || !(t = malloc(sizeof(float) * MAX_RUNS)))
		return 2;
	if (!cuda_ok(cudaMalloc((void **)&x, sizeof(float) * (size_t)v[0] * v[1] * v[2] * v[3]), "cudaMalloc") ||
	    !cuda_ok(cudaMalloc((void **)&w, sizeof(float) * (size_t)v[4] * v[1] * v[5] * v[6]), "cudaMalloc") ||
	    !cuda_ok(cudaMalloc((void **)&y, sizeof(float) * (size_t)v[0] * v[4] * p * q), "cudaMalloc") ||
	    !cuda_ok(cudaMemset(x, 0, sizeof(float) * (size_t)v[0] * v[1] * v[2] * v[3]), "cudaMemset") ||
	    !cuda_ok(cudaMemset(w, 0, sizeof(float) * (size_t)v[4] * v[1] * v[5] * v[6]), "cudaMemset"))
		return 2;
	if (!ok(cudnnCreate(&h), "cudnnCreate") || !ok(cudnnCreateTensorDescriptor(&xd), "descriptor") ||
	    !ok(cudnnCreateTensorDescriptor(&yd), "descriptor") || !ok(cudnnCreateFilterDescriptor(&wd), "descriptor") ||
	    !ok(cudnnCreateConvolutionDescriptor(&cd), "descriptor") ||
	    !ok(cudnnSetTensor4dDescriptor(xd, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, v[0], v[1], v[2], v[3]), "input") ||
	    !ok(cudnnSetTensor4dDescriptor(yd, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, v[0], v[4], p, q), "output") ||
	    !ok(cudnnSetFilter4dDescriptor(wd, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, v[4], v[1], v[5], v[6]), "filter") ||
	    !ok(cudnnSetConvolution2dDescriptor(cd, v[7], v[7], v[8], v[8], 1, 1, CUDNN_CROSS_CORRELATION,
						CUDNN_DATA_FLOAT), "convolution") ||
	    !ok(cudnnSetConvolutionMathType(cd, CUDNN_FMA_MATH), "math type") ||
	    !ok(cudnnFindConvolutionForwardAlgorithm(h, xd, wd, cd, yd, 16, &found, perf), "find algorithm"))
		return 2;
	for (int i = 0; i < found; i++)
		if (perf[i].status == CUDNN_STATUS_SUCCESS) {
			perf[0] = perf[i];
			found = -1;
			break;
		}
	if (found != -1)
		return fprintf(stderr, "cudnn_conv2d: no algorithm\n"), 2;
	if (perf[0].memory && !cuda_ok(cudaMalloc(&ws, perf[0].memory), "workspace"))
		return 2;
	cudaEventCreate(&e0);
	cudaEventCreate(&e1);
	for (int i = 0; i < 3; i++)
		if (!ok(cudnnConvolutionForward(h, &one, xd, x, wd, w, cd, perf[0].algo, ws, perf[0].memory, &zero, yd, y),
			"forward"))
			return 2;
	while (runs < MAX_RUNS && (runs < 5 || total < seconds)) {
		cudaEventRecord(e0, 0);
		cudnnConvolutionForward(h, &one, xd, x, wd, w, cd, perf[0].algo, ws, perf[0].memory, &zero, yd, y);
		cudaEventRecord(e1, 0);
		if (!cuda_ok(cudaEventSynchronize(e1), "forward"))
			return 2;
		cudaEventElapsedTime(&t[runs], e0, e1);
		total += t[runs++] * 1e-3;
	}
	qsort(t, (size_t)runs, sizeof(float), cmp_float);
	printf("cudnn_conv2d %d %d %d %d %d %d %d: median %.4f ms, %.1f GFLOP/s (%d runs, algo %d)\n", v[0], v[1], v[2],
	       v[3], v[4], v[5], v[6], t[runs / 2],
	       2.0 * v[0] * v[4] * p * q * v[1] * v[5] * v[6] / (t[runs / 2] * 1e-3) * 1e-9, runs, (int)perf[0].algo);
	return 0;
}
