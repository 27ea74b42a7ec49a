/*
 * ftc targets: what the host is and the target string ftc would use.
 */
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define PEAK_X86 1
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cg.h"
#include "cli.h"
#include "rt_cuda.h"
#include "rt_pool.h"
#include "srch_seed.h"
#include "tdb.h"

static const char targets_help[] =
	"usage: ftc targets [--target T] [--peak [--json]]\n"
	"\n"
	"Describe the host as ftc sees it: the CPU (LLVM's name for it and the\n"
	"model name), the vector features code generation uses, the cores, the\n"
	"target string ftc uses by default (or for --target T) and the hardware\n"
	"fingerprint that keys the tuning db's records.\n"
	"\n"
	"  --target T   describe this target instead of the default \"cpu\"\n"
	"  --peak       also measure the host's limits, on 1 thread and on every\n"
	"               core: the f32 FMA peak (16 independent accumulators in the\n"
	"               widest vectors the CPU has: zmm, else ymm, else xmm) and\n"
	"               the STREAM triad bandwidth (a = b + s*c over three 64 MiB\n"
	"               f32 arrays, 12 bytes per element); best of 5 runs of about\n"
	"               0.2 s each, so a busy machine reads low (the load average\n"
	"               is printed)\n"
	"  --json       with --peak: print only the limits, as one JSON object\n"
	"  -h, --help   show this help\n";

/* ---- ftc targets --peak ---- */

#define PEAK_ACC 16		  /* independent accumulators: 2 FMA pipes x latency 4, twice */
#define PEAK_REPEATS 5		  /* runs; the best is the peak */
#define PEAK_MIN_S 0.2		  /* seconds per run */
#define PEAK_MAX_THREADS 1024	  /* threads of one run */
#define STREAM_N (16L << 20)	  /* f32 elements per STREAM array: 64 MiB, past any L3 */

typedef double (*peak_kernel)(long iters); /* returns a checksum */

#ifdef PEAK_X86
/* Fully unrolled, so that the accumulators live in registers: a loop over
 * an array in memory (what GCC -O2 leaves without the pragma) measures the
 * store-to-load latency, a quarter to a half of the peak. */
#define PEAK_UNROLL _Pragma("GCC unroll 16")

/* The FMA loops: PEAK_ACC accumulators a = a * m + c, m just under 1 so
 * nothing overflows or goes denormal; 2 flops per lane per FMA. */
#define FMA_LOOP(VEC, SET1, FMA, ADD, STORE, LANES)                                              \
	VEC acc[PEAK_ACC], m = SET1(0.9999999f), c = SET1(1e-7f);                                  \
	float out[LANES];                                                                          \
	double sum = 0;                                                                            \
	PEAK_UNROLL                                                                                \
	for (int j = 0; j < PEAK_ACC; j++)                                                         \
		acc[j] = SET1((float)j);                                                           \
	for (long i = 0; i < iters; i++) {                                                         \
		PEAK_UNROLL                                                                        \
		for (int j = 0; j < PEAK_ACC; j++)                                                 \
			acc[j] = FMA(acc[j], m, c);                                                \
	}                                                                                          \
	PEAK_UNROLL                                                                                \
	for (int j = 1; j < PEAK_ACC; j++)                                                         \
		acc[0] = ADD(acc[0], acc[j]);                                                      \
	STORE(out, acc[0]);                                                                        \
	for (int l = 0; l < LANES; l++)                                                            \
		sum += out[l];                                                                     \
	return sum;

__attribute__((target("avx512f"))) static double fma_zmm(long iters)
{
	FMA_LOOP(__m512, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_add_ps, _mm512_storeu_ps, 16)
}

__attribute__((target("avx2,fma"))) static double fma_ymm(long iters)
{
	FMA_LOOP(__m256, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_add_ps, _mm256_storeu_ps, 8)
}

/* No FMA: a multiply and an add, still 2 flops per lane. */
static inline __m128 mul_add_xmm(__m128 a, __m128 m, __m128 c)
{
	return _mm_add_ps(_mm_mul_ps(a, m), c);
}

static double fma_xmm(long iters)
{
	FMA_LOOP(__m128, _mm_set1_ps, mul_add_xmm, _mm_add_ps, _mm_storeu_ps, 4)
}

/* The widest kernel this CPU runs; *lanes and *name describe it. */
static peak_kernel peak_pick(int *lanes, const char **name)
{
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f")) {
		*lanes = 16, *name = "avx512f zmm FMA";
		return fma_zmm;
	}
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
		*lanes = 8, *name = "avx2 ymm FMA";
		return fma_ymm;
	}
	*lanes = 4, *name = "sse xmm mul+add";
	return fma_xmm;
}
#else
static peak_kernel peak_pick(int *lanes, const char **name)
{
	*lanes = 0, *name = "none";
	return NULL;
}
#endif

static double peak_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* One thread's share of a run: the FMA loop, or a slice of the triad. */
typedef struct peak_job {
	peak_kernel kernel;
	long iters;
	float *a, *b, *c;
	long lo, hi;
	int triad_reps;
	double sink;
	double cpu_s; /* the thread's CPU time for its share */
} peak_job;

static double peak_cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void *peak_fma_thread(void *arg)
{
	peak_job *j = arg;
	double t0 = peak_cpu_now();

	j->sink = j->kernel(j->iters);
	j->cpu_s = peak_cpu_now() - t0;
	return NULL;
}

static void *peak_triad_thread(void *arg)
{
	peak_job *j = arg;

	for (int r = 0; r < j->triad_reps; r++)
		for (long i = j->lo; i < j->hi; i++)
			j->a[i] = j->b[i] + 3.0f * j->c[i];
	j->sink = j->a[j->lo];
	return NULL;
}

/* What peak_chunk runs: fn on jobs[b..e). */
typedef struct peak_batch {
	void *(*fn)(void *);
	peak_job *jobs;
} peak_batch;

static void peak_chunk(void *ctx, int64_t b, int64_t e)
{
	peak_batch *pb = ctx;

	for (int64_t i = b; i < e; i++)
		pb->fn(&pb->jobs[i]);
}

/* Run fn on jobs[0..n) on the pool's n participants, one job each; the
 * wall time. */
static double peak_run(rt_pool *pool, void *(*fn)(void *), peak_job *jobs, int n)
{
	peak_batch pb = {fn, jobs};
	double t0 = peak_now();

	rt_pool_run(pool, n, peak_chunk, &pb, n);
	return peak_now() - t0;
}

/* Best GFLOP/s of PEAK_REPEATS runs of the FMA loop on n threads, by the
 * wall clock; *per_core gets the best of one thread's flops over its own
 * CPU time (what a core does while it runs: a busy machine that takes the
 * core away lowers the first figure, not this one). */
static double peak_fma(rt_pool *pool, peak_kernel k, int lanes, int n, double *per_core)
{
	peak_job jobs[PEAK_MAX_THREADS];
	long iters = 1 << 16;
	double best = 0, t;

	memset(jobs, 0, sizeof(jobs[0]) * n);
	for (int i = 0; i < n; i++)
		jobs[i].kernel = k;
	for (;;) { /* calibrate on one thread: a run of about PEAK_MIN_S */
		jobs[0].iters = iters;
		if ((t = peak_run(pool, peak_fma_thread, jobs, 1)) >= PEAK_MIN_S / 4 || iters > (1L << 40))
			break;
		iters *= 2;
	}
	iters = (long)(iters * (PEAK_MIN_S / (t > 0 ? t : 1e-3)));
	for (int i = 0; i < n; i++)
		jobs[i].iters = iters;
	for (int r = 0; r < PEAK_REPEATS; r++) {
		double g;

		if ((t = peak_run(pool, peak_fma_thread, jobs, n)) <= 0)
			return -1;
		g = 2.0 * lanes * PEAK_ACC * (double)iters * n / t * 1e-9;
		best = g > best ? g : best;
		for (int i = 0; i < n; i++)
			if (jobs[i].cpu_s > 0) {
				g = 2.0 * lanes * PEAK_ACC * (double)iters / jobs[i].cpu_s * 1e-9;
				*per_core = g > *per_core ? g : *per_core;
			}
	}
	return best;
}

/* Best GB/s of PEAK_REPEATS STREAM triads on n threads (each thread first
 * touches its own slice), or -1 without memory. */
static double peak_triad(rt_pool *pool, int n)
{
	peak_job jobs[PEAK_MAX_THREADS];
	float *a = malloc(STREAM_N * sizeof(float)), *b = malloc(STREAM_N * sizeof(float)),
	      *c = malloc(STREAM_N * sizeof(float));
	double best = -1, t;

	for (int i = 0; a && b && c && i < n; i++) {
		jobs[i] = (peak_job){.a = a, .b = b, .c = c, .lo = STREAM_N * i / n,
				     .hi = STREAM_N * (i + 1) / n, .triad_reps = 1};
		for (long e = jobs[i].lo; e < jobs[i].hi; e++)
			a[e] = 0, b[e] = 1, c[e] = 2;
	}
	for (int r = 0; a && b && c && r < PEAK_REPEATS; r++) {
		double gb;

		if ((t = peak_run(pool, peak_triad_thread, jobs, n)) <= 0)
			break;
		gb = 3.0 * sizeof(float) * STREAM_N / t * 1e-9;
		best = gb > best ? gb : best;
	}
	free(a);
	free(b);
	free(c);
	return best;
}

static void peak_loadavg(char *out, size_t n)
{
	FILE *f = fopen("/proc/loadavg", "r");
	double l[3];

	if (f && fscanf(f, "%lf %lf %lf", &l[0], &l[1], &l[2]) == 3)
		snprintf(out, n, "%.2f %.2f %.2f", l[0], l[1], l[2]);
	else
		snprintf(out, n, "unknown");
	if (f)
		fclose(f);
}

/* Measure and print the limits on 1 thread and on `cores`. */
static int targets_peak(int cores, bool json)
{
	const char *kname;
	int lanes, n = cores < PEAK_MAX_THREADS ? cores : PEAK_MAX_THREADS;
	peak_kernel k = peak_pick(&lanes, &kname);
	double f1, fn, b1, bn, core = 0;
	char load0[64], load1[64];
	rt_pool *pool;
	rt_error err;

	if (!k) {
		fprintf(stderr, "ftc targets: --peak measures x86-64 hosts only\n");
		return CLI_USER_ERROR;
	}
	peak_loadavg(load0, sizeof(load0));
	rt_error_clear(&err);
	if (!(pool = rt_pool_new(n, &err))) {
		fprintf(stderr, "ftc targets: --peak: %s\n", err.msg);
		return CLI_INTERNAL_ERROR;
	}
	f1 = peak_fma(pool, k, lanes, 1, &core);
	fn = n > 1 ? peak_fma(pool, k, lanes, n, &core) : f1;
	b1 = peak_triad(pool, 1);
	bn = n > 1 ? peak_triad(pool, n) : b1;
	rt_pool_free(pool);
	peak_loadavg(load1, sizeof(load1));
	if (b1 < 0 || bn < 0) {
		fprintf(stderr, "ftc targets: --peak: cannot allocate the STREAM arrays (%ld MiB)\n",
			3 * STREAM_N * (long)sizeof(float) >> 20);
		return CLI_INTERNAL_ERROR;
	}
	if (json) {
		printf("{\"kernel\": \"%s\", \"threads\": [1, %d], \"fma_gflops\": [%.1f, %.1f], "
		       "\"fma_gflops_per_core_cpu_time\": %.1f, \"triad_gbs\": [%.1f, %.1f], "
		       "\"load_before\": \"%s\", \"load_after\": \"%s\"}\n",
		       kname, n, f1, fn, core, b1, bn, load0, load1);
		return CLI_OK;
	}
	printf("limits (measured: best of %d runs; load average %s before, %s after)\n", PEAK_REPEATS,
	       load0, load1);
	printf("  f32 peak:     %.1f GFLOP/s on 1 thread, %.1f on %d (%s, %d accumulators)\n", f1,
	       fn, n, kname, PEAK_ACC);
	printf("                %.1f GFLOP/s per core by its own CPU time (unaffected by other\n"
	       "                processes taking the core)\n",
	       core);
	printf("  STREAM triad: %.1f GB/s on 1 thread, %.1f on %d\n", b1, bn, n);
	return CLI_OK;
}

/* The "model name" line of /proc/cpuinfo, or "unknown". */
static void cpu_model(char *out, size_t n)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512];

	snprintf(out, n, "unknown");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');

		if (strncmp(line, "model name", 10) == 0 && colon) {
			colon += 1 + (colon[1] == ' ');
			colon[strcspn(colon, "\n")] = '\0';
			snprintf(out, n, "%s", colon);
			break;
		}
	}
	fclose(f);
}

/* The enabled features among those that matter for the code ftc makes. */
static void vector_features(const char *features, char *out, size_t n)
{
	static const char *const names[] = {"sse4.2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl",
					    "avx512dq", "avx512vnni", "avx512bf16", "avx512fp16", "amx-tile"};
	size_t len = 0;

	out[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char want[32];
		const char *p;
		size_t k;

		k = (size_t)snprintf(want, sizeof(want), "+%s", names[i]);
		for (p = strstr(features, want); p; p = strstr(p + 1, want))
			if ((p[k] == ',' || p[k] == '\0') && (p == features || p[-1] == ','))
				break;
		if (p && len < n)
			len += (size_t)snprintf(out + len, n - len, "%s%s", len ? " " : "", names[i]);
	}
}

/* The cuda line: the GPU when a driver and a device are here. */
static void cuda_line(void)
{
	rt_error err;
	rt_cuda *c;

	rt_error_clear(&err);
	if (!rt_cuda_driver_present()) {
		printf("  cuda          cuda -arch=sm_80 (PTX through LLVM NVPTX; no CUDA driver on this machine:\n"
		       "                ftc compile --target cuda still writes the PTX and its launcher)\n");
		return;
	}
	if (!(c = rt_cuda_open(0, &err))) {
		printf("  cuda          cuda -arch=sm_80 (the CUDA driver is here but: %s)\n", err.msg);
		return;
	}
	printf("  cuda          cuda -arch=sm_%d (%s)\n", rt_cuda_sm(c), rt_cuda_device_name(c));
	rt_cuda_close(c);
}

typedef struct targets_opts {
	const char *target;
	bool help, peak, json;
} targets_opts;

static int targets_opt(int which, const char *value, void *ctx)
{
	targets_opts *o = ctx;

	if (which == 0)
		o->target = value;
	else if (which == 3)
		o->peak = true;
	else if (which == 4)
		o->json = true;
	else
		o->help = true;
	return 0;
}

static int targets_arg(const char *arg, void *ctx)
{
	(void)ctx;
	fprintf(stderr, "ftc targets: unexpected argument '%s' (see 'ftc targets --help')\n", arg);
	return 1;
}

int cli_targets(int argc, char **argv)
{
	static const cli_optspec specs[] = {{NULL, "--target", true}, {"-h", NULL, false}, {NULL, "--help", false},
					    {NULL, "--peak", false}, {NULL, "--json", false}};
	targets_opts o;
	cg_target t;
	srch_machine mach;
	rt_error err;
	char ts[256], model[256], vec[256], fp[17];
	long cores = sysconf(_SC_NPROCESSORS_ONLN);

	memset(&o, 0, sizeof(o));
	if (cli_parse_args("targets", argc, argv, specs, 5, targets_opt, targets_arg, &o))
		return CLI_USER_ERROR;
	if (o.help) {
		fputs(targets_help, stdout);
		return CLI_OK;
	}
	if (o.json && !o.peak) {
		fprintf(stderr, "ftc targets: --json goes with --peak (see 'ftc targets --help')\n");
		return CLI_USER_ERROR;
	}
	if (o.peak && o.json)
		return targets_peak((int)(cores > 0 ? cores : 1), true);
	rt_error_clear(&err);
	if (cg_target_parse(o.target ? o.target : "cpu", &t, &err)) {
		fprintf(stderr, "ftc targets: %s\n", err.msg);
		return CLI_USER_ERROR;
	}
	cg_target_string(&t, ts, sizeof(ts));
	cpu_model(model, sizeof(model));
	vector_features(t.features, vec, sizeof(vec));
	tdb_fingerprint(t.cpu, t.features, (int)(cores > 0 ? cores : 1), fp);
	printf("host\n");
	printf("  cpu:          %s (LLVM: %s)\n", model, t.cpu);
	printf("  vector:       %d-bit; %s\n", t.vector_bits, vec[0] ? vec : "no SIMD features found");
	printf("  cores:        %ld online\n", cores);
	srch_machine_of(&t, NULL, &mach);
	printf("  caches:       L1d %lld KiB, L2 %lld KiB, L3 %lld KiB; %d vector registers (what ftc tune's\n"
	       "                constructed starting schedules are sized for)\n",
	       (long long)(mach.l1 >> 10), (long long)(mach.l2 >> 10), (long long)(mach.l3 >> 10), mach.vregs);
	printf("  fingerprint:  %s\n", fp);
	printf("target\n");
	printf("  cpu           %s\n", ts);
	printf("                (threads: %d; -threads=N changes it, -mcpu= and -mattr= cross-compile)\n",
	       t.threads ? t.threads : (int)cores);
	cuda_line();
	printf("  hls           hls -part=xcvu9p -clock=300MHz (HLS C for Vitis HLS; latency and resources\n"
	       "                from ftc's analytic model, -part= names the FPGA)\n");
	return o.peak ? targets_peak((int)(cores > 0 ? cores : 1), false) : CLI_OK;
}
