/*
 * rt_cuda: the CUDA driver, opened with dlopen at run time (ftc builds and
 * runs on machines without CUDA and never links libcuda), and the CPU
 * emulator of generated kernels.
 *
 * A session (rt_cuda_open) holds libcuda.so.1 (or $FTC_LIBCUDA), the
 * device's primary context (current on the calling thread) and two events
 * for timing.  Every call that fails fills `err` with the driver call, the
 * error's name and its text, e.g. "cuLaunchKernel: CUDA_ERROR_ILLEGAL_ADDRESS
 * (700): an illegal memory access was encountered".  After such a "sticky"
 * error the context is unusable: rt_cuda_broken says so, and rt_cuda_reset
 * makes a fresh one (every allocation and module is lost).
 */
#ifndef FTC_RT_CUDA_H
#define FTC_RT_CUDA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rt_error.h"

typedef struct rt_cuda rt_cuda;
typedef struct rt_cuda_module rt_cuda_module;
typedef uint64_t rt_cuda_ptr; /* a device pointer (CUdeviceptr) */

/* Whether the driver library ($FTC_LIBCUDA, else libcuda.so.1) can be
 * opened at all. */
bool rt_cuda_driver_present(void);

/*
 * Open the driver and device `device`.  NULL with err set when there is no
 * driver ("no CUDA driver (libcuda.so.1 not found)"), no device, or a
 * driver too old for an entry point ftc uses.
 */
rt_cuda *rt_cuda_open(int device, rt_error *err);
/* Release the context and the library.  Accepts NULL; returns NULL. */
rt_cuda *rt_cuda_close(rt_cuda *c);

/* The device's name, e.g. "NVIDIA H100 80GB HBM3", and its SM version (90). */
const char *rt_cuda_device_name(const rt_cuda *c);
int rt_cuda_sm(const rt_cuda *c);
/* The driver's version, e.g. 12040 for 12.4. */
int rt_cuda_driver_version(const rt_cuda *c);

int rt_cuda_alloc(rt_cuda *c, size_t bytes, rt_cuda_ptr *p, rt_error *err);
void rt_cuda_free(rt_cuda *c, rt_cuda_ptr p); /* accepts 0 */
int rt_cuda_upload(rt_cuda *c, rt_cuda_ptr dst, const void *src, size_t bytes, rt_error *err);
int rt_cuda_download(rt_cuda *c, void *dst, rt_cuda_ptr src, size_t bytes, rt_error *err);
/* Set `count` 32-bit words at dst to `value` (0x7fc00000: NaN floats). */
int rt_cuda_fill32(rt_cuda *c, rt_cuda_ptr dst, uint32_t value, size_t count, rt_error *err);

/* Load PTX text (JIT-compiled by the driver) and look up `nfns` kernels by
 * name; NULL with err set (the driver's JIT log included). */
rt_cuda_module *rt_cuda_module_load(rt_cuda *c, const char *ptx, int nfns, const char *const *names,
				    rt_error *err);
void rt_cuda_module_unload(rt_cuda *c, rt_cuda_module *m); /* accepts NULL */

/* Launch kernel `fn` of m asynchronously on the default stream; args[i]
 * points at the i-th argument's value (cuLaunchKernel's kernelParams). */
int rt_cuda_launch(rt_cuda *c, rt_cuda_module *m, int fn, const int64_t grid[3], const int block[3],
		   void **args, rt_error *err);
/* Wait for the device to finish; reports errors of earlier launches. */
int rt_cuda_sync(rt_cuda *c, rt_error *err);

/* Timing with events on the default stream: start, launch..., then stop
 * gives the elapsed device time in seconds. */
int rt_cuda_timer_start(rt_cuda *c, rt_error *err);
int rt_cuda_timer_stop(rt_cuda *c, double *seconds, rt_error *err);

/* Whether a sticky error left the context unusable, and a fresh context
 * (the old one's allocations and modules are gone). */
bool rt_cuda_broken(const rt_cuda *c);
int rt_cuda_reset(rt_cuda *c, rt_error *err);

/* ---- the emulator: run a kernel compiled for the host, one pthread per GPU thread ---- */

/* What an emulated kernel reads of its thread (cg_cuda builds the same
 * struct in LLVM IR). */
typedef struct rt_cuda_emu_ctx {
	int32_t tid[3], ctaid[3], ntid[3], nctaid[3];
	char *shared;                 /* the block's shared memory */
	void (*barrier)(void *arg);   /* __syncthreads */
	void *barrier_arg;
} rt_cuda_emu_ctx;

/*
 * Run entry(a) for every thread of every block of the grid, block after
 * block, the block's threads at once; `a` is a copy of args[0..nargs) with
 * a[1] the thread's context.  Shared memory (shared_bytes per block) is
 * filled with 0xff bytes (NaN) before each block.  A barrier that not every
 * thread of a block reaches within `timeout` seconds is reported (naming
 * kernel `name`).  Returns 0, or -1 with err set.
 */
int rt_cuda_emu_launch(int (*entry)(void **args), void *const *args, int nargs, const int64_t grid[3],
		       const int block[3], int64_t shared_bytes, double timeout, const char *name,
		       rt_error *err);

#endif
