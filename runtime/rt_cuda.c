/*
 * rt_cuda: the CUDA driver through dlopen, and the kernel emulator.
 *
 * The driver's types are declared here (no CUDA header is needed to build
 * ftc): handles are opaque pointers, CUresult and CUdevice ints, device
 * pointers 64-bit.  Entry points with versioned names (cuMemAlloc_v2, ...)
 * are looked up by their versioned name first.
 */
#include "rt_cuda.h"

#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef int CUresult;
typedef int CUdevice;
typedef void *CUcontext, *CUmodule, *CUfunction, *CUevent, *CUstream;
typedef unsigned long long CUdeviceptr;

enum {
	CU_ATTR_CC_MAJOR = 75,
	CU_ATTR_CC_MINOR = 76,
	CU_JIT_ERROR_LOG = 5,
	CU_JIT_ERROR_LOG_SIZE = 6,
};

/* The driver's entry points ftc calls. */
typedef struct cu_api {
	CUresult (*Init)(unsigned);
	CUresult (*DriverGetVersion)(int *);
	CUresult (*DeviceGet)(CUdevice *, int);
	CUresult (*DeviceGetName)(char *, int, CUdevice);
	CUresult (*DeviceGetAttribute)(int *, int, CUdevice);
	CUresult (*PrimaryCtxRetain)(CUcontext *, CUdevice);
	CUresult (*PrimaryCtxRelease)(CUdevice);
	CUresult (*PrimaryCtxReset)(CUdevice);
	CUresult (*CtxSetCurrent)(CUcontext);
	CUresult (*CtxSynchronize)(void);
	CUresult (*MemAlloc)(CUdeviceptr *, size_t);
	CUresult (*MemFree)(CUdeviceptr);
	CUresult (*MemcpyHtoD)(CUdeviceptr, const void *, size_t);
	CUresult (*MemcpyDtoH)(void *, CUdeviceptr, size_t);
	CUresult (*MemsetD32)(CUdeviceptr, unsigned, size_t);
	CUresult (*ModuleLoadDataEx)(CUmodule *, const void *, unsigned, int *, void **);
	CUresult (*ModuleGetFunction)(CUfunction *, CUmodule, const char *);
	CUresult (*ModuleUnload)(CUmodule);
	CUresult (*LaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,
				 CUstream, void **, void **);
	CUresult (*EventCreate)(CUevent *, unsigned);
	CUresult (*EventRecord)(CUevent, CUstream);
	CUresult (*EventSynchronize)(CUevent);
	CUresult (*EventElapsedTime)(float *, CUevent, CUevent);
	CUresult (*EventDestroy)(CUevent);
	CUresult (*GetErrorName)(CUresult, const char **);
	CUresult (*GetErrorString)(CUresult, const char **);
} cu_api;

#define API(field, n1, n2) {offsetof(cu_api, field), n1, n2}
static const struct {
	size_t offset;
	const char *name, *alt;
} api_names[] = {
	API(Init, "cuInit", NULL),
	API(DriverGetVersion, "cuDriverGetVersion", NULL),
	API(DeviceGet, "cuDeviceGet", NULL),
	API(DeviceGetName, "cuDeviceGetName", NULL),
	API(DeviceGetAttribute, "cuDeviceGetAttribute", NULL),
	API(PrimaryCtxRetain, "cuDevicePrimaryCtxRetain", NULL),
	API(PrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2", "cuDevicePrimaryCtxRelease"),
	API(PrimaryCtxReset, "cuDevicePrimaryCtxReset_v2", "cuDevicePrimaryCtxReset"),
	API(CtxSetCurrent, "cuCtxSetCurrent", NULL),
	API(CtxSynchronize, "cuCtxSynchronize", NULL),
	API(MemAlloc, "cuMemAlloc_v2", NULL),
	API(MemFree, "cuMemFree_v2", NULL),
	API(MemcpyHtoD, "cuMemcpyHtoD_v2", NULL),
	API(MemcpyDtoH, "cuMemcpyDtoH_v2", NULL),
	API(MemsetD32, "cuMemsetD32_v2", NULL),
	API(ModuleLoadDataEx, "cuModuleLoadDataEx", NULL),
	API(ModuleGetFunction, "cuModuleGetFunction", NULL),
	API(ModuleUnload, "cuModuleUnload", NULL),
	API(LaunchKernel, "cuLaunchKernel", NULL),
	API(EventCreate, "cuEventCreate", NULL),
	API(EventRecord, "cuEventRecord", NULL),
	API(EventSynchronize, "cuEventSynchronize", NULL),
	API(EventElapsedTime, "cuEventElapsedTime_v2", "cuEventElapsedTime"),
	API(EventDestroy, "cuEventDestroy_v2", NULL),
	API(GetErrorName, "cuGetErrorName", NULL),
	API(GetErrorString, "cuGetErrorString", NULL),
};
#undef API

struct rt_cuda {
	void *lib;
	cu_api cu;
	CUdevice dev;
	CUcontext ctx;
	CUevent ev[2];
	bool broken;
	int sm, version;
	char name[256];
};

struct rt_cuda_module {
	CUmodule mod;
	int nfns;
	CUfunction fns[];
};

/* ---- errors ---- */

static bool sticky(CUresult r)
{
	return r == 700 || r == 702 || (r >= 714 && r <= 719) || r == 999;
}

/* Report a failed driver call: its name, the error's name and text. */
static int cu_fail(rt_cuda *c, CUresult r, const char *call, rt_error *err)
{
	const char *name = NULL, *text = NULL;

	if (c->cu.GetErrorName)
		c->cu.GetErrorName(r, &name);
	if (c->cu.GetErrorString)
		c->cu.GetErrorString(r, &text);
	if (sticky(r))
		c->broken = true;
	return rt_error_set(err, 0, 0, "%s: %s (%d)%s%s", call, name ? name : "CUDA error", r, text ? ": " : "",
			    text ? text : "");
}

#define CU_CHECK(c, call, err, ...)                                  \
	do {                                                         \
		CUresult r_ = (c)->cu.call(__VA_ARGS__);             \
		if (r_)                                              \
			return cu_fail((c), r_, "cu" #call, (err));  \
	} while (0)

/* ---- the session ---- */

static const char *driver_path(void)
{
	const char *path = getenv("FTC_LIBCUDA");

	return path && *path ? path : "libcuda.so.1";
}

bool rt_cuda_driver_present(void)
{
	void *lib = dlopen(driver_path(), RTLD_NOW | RTLD_LOCAL);

	if (lib)
		dlclose(lib);
	return lib != NULL;
}

static int load_api(rt_cuda *c, const char *path, rt_error *err)
{
	if (!(c->lib = dlopen(path, RTLD_NOW | RTLD_LOCAL)))
		return rt_error_set(err, 0, 0, "no CUDA driver (%s not found)", path);
	for (size_t i = 0; i < sizeof(api_names) / sizeof(api_names[0]); i++) {
		void *p = dlsym(c->lib, api_names[i].name);

		if (!p && api_names[i].alt)
			p = dlsym(c->lib, api_names[i].alt);
		if (!p)
			return rt_error_set(err, 0, 0, "the CUDA driver %s has no %s (too old a driver?)", path,
					    api_names[i].name);
		memcpy((char *)&c->cu + api_names[i].offset, &p, sizeof(p));
	}
	return 0;
}

static int make_context(rt_cuda *c, rt_error *err)
{
	CU_CHECK(c, PrimaryCtxRetain, err, &c->ctx, c->dev);
	CU_CHECK(c, CtxSetCurrent, err, c->ctx);
	CU_CHECK(c, EventCreate, err, &c->ev[0], 0);
	CU_CHECK(c, EventCreate, err, &c->ev[1], 0);
	c->broken = false;
	return 0;
}

static int describe_device(rt_cuda *c, rt_error *err)
{
	int major = 0, minor = 0;

	CU_CHECK(c, DriverGetVersion, err, &c->version);
	CU_CHECK(c, DeviceGetName, err, c->name, (int)sizeof(c->name), c->dev);
	CU_CHECK(c, DeviceGetAttribute, err, &major, CU_ATTR_CC_MAJOR, c->dev);
	CU_CHECK(c, DeviceGetAttribute, err, &minor, CU_ATTR_CC_MINOR, c->dev);
	c->sm = major * 10 + minor;
	return 0;
}

static int start(rt_cuda *c, int device, rt_error *err)
{
	if (load_api(c, driver_path(), err))
		return -1;
	CU_CHECK(c, Init, err, 0);
	CU_CHECK(c, DeviceGet, err, &c->dev, device);
	if (describe_device(c, err))
		return -1;
	return make_context(c, err);
}

rt_cuda *rt_cuda_open(int device, rt_error *err)
{
	rt_cuda *c = calloc(1, sizeof(*c));

	if (!c) {
		rt_error_set(err, 0, 0, "out of memory");
		return NULL;
	}
	if (start(c, device, err))
		return rt_cuda_close(c);
	return c;
}

static void drop_context(rt_cuda *c)
{
	for (int i = 0; i < 2; i++)
		if (c->ev[i])
			c->cu.EventDestroy(c->ev[i]);
	c->ev[0] = c->ev[1] = NULL;
	if (c->ctx)
		c->cu.PrimaryCtxRelease(c->dev);
	c->ctx = NULL;
}

rt_cuda *rt_cuda_close(rt_cuda *c)
{
	if (!c)
		return NULL;
	if (c->lib && c->cu.PrimaryCtxRelease)
		drop_context(c);
	if (c->lib)
		dlclose(c->lib);
	free(c);
	return NULL;
}

int rt_cuda_reset(rt_cuda *c, rt_error *err)
{
	CUresult r;

	drop_context(c);
	if ((r = c->cu.PrimaryCtxReset(c->dev)))
		return cu_fail(c, r, "cuDevicePrimaryCtxReset", err);
	return make_context(c, err);
}

bool rt_cuda_broken(const rt_cuda *c)
{
	return c->broken;
}

const char *rt_cuda_device_name(const rt_cuda *c)
{
	return c->name;
}

int rt_cuda_sm(const rt_cuda *c)
{
	return c->sm;
}

int rt_cuda_driver_version(const rt_cuda *c)
{
	return c->version;
}

/* ---- memory ---- */

int rt_cuda_alloc(rt_cuda *c, size_t bytes, rt_cuda_ptr *p, rt_error *err)
{
	CUdeviceptr d = 0;

	CU_CHECK(c, MemAlloc, err, &d, bytes ? bytes : 1);
	*p = d;
	return 0;
}

void rt_cuda_free(rt_cuda *c, rt_cuda_ptr p)
{
	if (p && c->ctx)
		c->cu.MemFree(p);
}

int rt_cuda_upload(rt_cuda *c, rt_cuda_ptr dst, const void *src, size_t bytes, rt_error *err)
{
	CU_CHECK(c, MemcpyHtoD, err, dst, src, bytes);
	return 0;
}

int rt_cuda_download(rt_cuda *c, void *dst, rt_cuda_ptr src, size_t bytes, rt_error *err)
{
	CU_CHECK(c, MemcpyDtoH, err, dst, src, bytes);
	return 0;
}

int rt_cuda_fill32(rt_cuda *c, rt_cuda_ptr dst, uint32_t value, size_t count, rt_error *err)
{
	CU_CHECK(c, MemsetD32, err, dst, value, count);
	return 0;
}

/* ---- modules and launches ---- */

rt_cuda_module *rt_cuda_module_load(rt_cuda *c, const char *ptx, int nfns, const char *const *names,
				    rt_error *err)
{
	rt_cuda_module *m = calloc(1, sizeof(*m) + sizeof(CUfunction) * (size_t)(nfns > 0 ? nfns : 1));
	char log[4096] = "";
	int opts[2] = {CU_JIT_ERROR_LOG, CU_JIT_ERROR_LOG_SIZE};
	void *vals[2] = {log, (void *)(uintptr_t)sizeof(log)};
	CUresult r;

	if (!m) {
		rt_error_set(err, 0, 0, "out of memory");
		return NULL;
	}
	if ((r = c->cu.ModuleLoadDataEx(&m->mod, ptx, 2, opts, vals))) {
		cu_fail(c, r, "cuModuleLoadDataEx", err);
		if (log[0] && err && strlen(err->msg) + 3 < sizeof(err->msg))
			snprintf(err->msg + strlen(err->msg), sizeof(err->msg) - strlen(err->msg), "; %s", log);
		free(m);
		return NULL;
	}
	for (int i = 0; i < nfns; i++, m->nfns++)
		if ((r = c->cu.ModuleGetFunction(&m->fns[i], m->mod, names[i]))) {
			char call[200];

			snprintf(call, sizeof(call), "cuModuleGetFunction(%.160s)", names[i]);
			cu_fail(c, r, call, err);
			rt_cuda_module_unload(c, m);
			return NULL;
		}
	return m;
}

void rt_cuda_module_unload(rt_cuda *c, rt_cuda_module *m)
{
	if (!m)
		return;
	if (m->mod && c->ctx)
		c->cu.ModuleUnload(m->mod);
	free(m);
}

int rt_cuda_launch(rt_cuda *c, rt_cuda_module *m, int fn, const int64_t grid[3], const int block[3],
		   void **args, rt_error *err)
{
	if (fn < 0 || fn >= m->nfns)
		return rt_error_set(err, 0, 0, "rt_cuda_launch: no kernel %d in the module", fn);
	CU_CHECK(c, LaunchKernel, err, m->fns[fn], (unsigned)grid[0], (unsigned)grid[1], (unsigned)grid[2],
		 (unsigned)block[0], (unsigned)block[1], (unsigned)block[2], 0, NULL, args, NULL);
	return 0;
}

int rt_cuda_sync(rt_cuda *c, rt_error *err)
{
	CU_CHECK(c, CtxSynchronize, err);
	return 0;
}

int rt_cuda_timer_start(rt_cuda *c, rt_error *err)
{
	CU_CHECK(c, EventRecord, err, c->ev[0], NULL);
	return 0;
}

int rt_cuda_timer_stop(rt_cuda *c, double *seconds, rt_error *err)
{
	float ms = 0;

	CU_CHECK(c, EventRecord, err, c->ev[1], NULL);
	CU_CHECK(c, EventSynchronize, err, c->ev[1]);
	CU_CHECK(c, EventElapsedTime, err, &ms, c->ev[0], c->ev[1]);
	*seconds = ms * 1e-3;
	return 0;
}

/* ---- the emulator ---- */

/* A barrier of n threads that gives up after a timeout. */
typedef struct emu_bar {
	pthread_mutex_t m;
	pthread_cond_t c;
	int n, count;
	unsigned gen;
	bool broken;
	double timeout;
} emu_bar;

static struct timespec deadline(double seconds)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)seconds;
	ts.tv_nsec += (long)((seconds - floor(seconds)) * 1e9);
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

static void emu_bar_break(emu_bar *b)
{
	pthread_mutex_lock(&b->m);
	b->broken = true;
	pthread_cond_broadcast(&b->c);
	pthread_mutex_unlock(&b->m);
}

/* Wait for the block's other threads; once broken, never wait again. */
static void emu_bar_wait(void *arg)
{
	emu_bar *b = arg;
	struct timespec ts;
	unsigned gen;

	pthread_mutex_lock(&b->m);
	gen = b->gen;
	if (!b->broken && ++b->count == b->n) {
		b->count = 0;
		b->gen++;
		pthread_cond_broadcast(&b->c);
	} else if (!b->broken) {
		ts = deadline(b->timeout);
		while (gen == b->gen && !b->broken)
			if (pthread_cond_timedwait(&b->c, &b->m, &ts) == ETIMEDOUT && gen == b->gen) {
				b->broken = true;
				pthread_cond_broadcast(&b->c);
			}
	}
	pthread_mutex_unlock(&b->m);
}

typedef struct emu_grid {
	int (*entry)(void **);
	const int64_t *grid;
	const int *block;
	int64_t shared_bytes;
	char *shared;
	emu_bar bar;
} emu_grid;

typedef struct emu_thread {
	emu_grid *G;
	rt_cuda_emu_ctx ctx;
	void **args;
	pthread_t th;
} emu_thread;

/* One GPU thread: every block in turn, in step with the block's others. */
static void *emu_thread_main(void *arg)
{
	emu_thread *T = arg;
	emu_grid *G = T->G;
	bool first = T->ctx.tid[0] == 0 && T->ctx.tid[1] == 0 && T->ctx.tid[2] == 0;

	for (int64_t z = 0; z < G->grid[2]; z++)
		for (int64_t y = 0; y < G->grid[1]; y++)
			for (int64_t x = 0; x < G->grid[0]; x++) {
				T->ctx.ctaid[0] = (int32_t)x;
				T->ctx.ctaid[1] = (int32_t)y;
				T->ctx.ctaid[2] = (int32_t)z;
				if (first && G->shared)
					memset(G->shared, 0xff, (size_t)G->shared_bytes);
				emu_bar_wait(&G->bar);
				G->entry(T->args);
				emu_bar_wait(&G->bar);
			}
	return NULL;
}

static int emu_thread_init(emu_thread *t, emu_grid *G, int i, void *const *args, int nargs)
{
	t->G = G;
	t->ctx.tid[0] = i % G->block[0];
	t->ctx.tid[1] = i / G->block[0] % G->block[1];
	t->ctx.tid[2] = i / G->block[0] / G->block[1];
	for (int d = 0; d < 3; d++) {
		t->ctx.ntid[d] = G->block[d];
		t->ctx.nctaid[d] = (int32_t)G->grid[d];
	}
	t->ctx.shared = G->shared;
	t->ctx.barrier = emu_bar_wait;
	t->ctx.barrier_arg = &G->bar;
	if (!(t->args = malloc(sizeof(void *) * (size_t)(nargs > 2 ? nargs : 2))))
		return -1;
	memcpy(t->args, args, sizeof(void *) * (size_t)nargs);
	t->args[1] = &t->ctx;
	return 0;
}

int rt_cuda_emu_launch(int (*entry)(void **args), void *const *args, int nargs, const int64_t grid[3],
		       const int block[3], int64_t shared_bytes, double timeout, const char *name,
		       rt_error *err)
{
	int n = block[0] * block[1] * block[2], started = 0, rc = 0;
	emu_grid G = {entry, grid, block, shared_bytes, NULL, {.n = n, .timeout = timeout > 0 ? timeout : 10}};
	emu_thread *T = calloc((size_t)n, sizeof(*T));
	pthread_attr_t attr;

	if (!T || (shared_bytes > 0 && !(G.shared = malloc((size_t)shared_bytes)))) {
		free(T);
		return rt_error_set(err, 0, 0, "emulator: out of memory for kernel %s", name);
	}
	pthread_mutex_init(&G.bar.m, NULL);
	pthread_cond_init(&G.bar.c, NULL);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, (size_t)1 << 20);
	for (; started < n; started++) {
		if (emu_thread_init(&T[started], &G, started, args, nargs) ||
		    pthread_create(&T[started].th, &attr, emu_thread_main, &T[started])) {
			free(T[started].args);
			rc = rt_error_set(err, 0, 0, "emulator: cannot start %d threads for kernel %s", n, name);
			emu_bar_break(&G.bar); /* let the started ones finish */
			break;
		}
	}
	for (int i = 0; i < started; i++) {
		pthread_join(T[i].th, NULL);
		free(T[i].args);
	}
	if (!rc && G.bar.broken)
		rc = rt_error_set(err, 0, 0,
				  "emulator: kernel %s: a barrier was not reached by every thread of a block within %g s",
				  name, G.bar.timeout);
	pthread_attr_destroy(&attr);
	pthread_cond_destroy(&G.bar.c);
	pthread_mutex_destroy(&G.bar.m);
	free(G.shared);
	free(T);
	return rc;
}
