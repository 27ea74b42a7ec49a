/*
 * cg_cuda: the CUDA back end, lir with GPU bindings -> NVPTX PTX through
 * the LLVM C API (docs/cuda.md).
 *
 * A lir function becomes one or more kernels.  The top level of the
 * function (outside every GPU-bound loop) is the host's: its allocations
 * are device buffers the launcher provides ("temps"), its lets and
 * else-less ifs are repeated in each kernel, and each other statement is one
 * kernel, launched in order (a launch boundary is the grid-wide barrier).
 * In a kernel, the blockIdx loops at its top (under lets and ifs only) are
 * the grid; the first threadIdx loop of each dimension on a path is that
 * thread index; any other GPU-bound loop and every vthread loop runs
 * serially.  A bound loop `for (v = lo; v < hi; v += s)` becomes
 * `v = lo + idx * s; if (v < hi)`, or a stride loop where the extent
 * exceeds the launch size the target allows.  Launch sizes are the largest
 * extent of the loops bound to each dimension, bounded over the domain by
 * interval arithmetic on the loop bounds.
 *
 * Code outside the thread loops ("block level") runs once per block: its
 * allocations live in shared memory, its stores are made by thread 0 (or,
 * for a copy into a shared buffer, split among all threads), and barriers
 * separate block-level steps that touch the same buffer.  Allocations under
 * a thread loop are per-thread arrays (registers or local memory).
 *
 * Kernels take the function's parameters, then its temps, as device
 * pointers (16-byte aligned: cudaMalloc's are).
 */
#ifndef FTC_CG_CUDA_H
#define FTC_CG_CUDA_H

#include <stdint.h>

#include "cg.h"

/* One kernel: NAME_kI, its launch geometry and static shared memory. */
typedef struct cg_cuda_kernel {
	char name[160];
	int64_t grid[3];      /* blocks in x, y, z */
	int block[3];         /* threads per block in x, y, z */
	int64_t shared_bytes; /* static shared memory per block */
} cg_cuda_kernel;

/* A compiled function: its kernels, launched in order with the arguments
 * (parameters, then temps), and the PTX that defines them. */
typedef struct cg_cuda_prog {
	char name[128];
	char *ptx;                 /* NULL for a plan or an emulator module */
	int nkernels;
	cg_cuda_kernel *kernels;
	int nparams;               /* the lir function's parameters */
	int ntemps;                /* device buffers the launcher allocates */
	int64_t *temp_bytes;       /* ntemps sizes in bytes */
	char sm[16];               /* "sm_80" */
} cg_cuda_prog;

/*
 * The kernels, launch geometry and temps of f (verified) for the CUDA
 * target t, without generating code.  Errors name the loop or buffer:
 * an extent that cannot be bounded, shared memory beyond the target's.
 * Returns a new plan (free with cg_cuda_prog_free) or NULL with err set.
 */
cg_cuda_prog *cg_cuda_plan(const lir_func *f, const cg_target *t, rt_error *err);

/*
 * Compile f (verified) for the CUDA target t: the plan, then LLVM IR for
 * nvptx64-nvidia-cuda in a context of its own, verified, optimized at -O3
 * with the NVPTX target machine for sm_NN, and emitted as PTX.  Returns a
 * new program with `ptx` set, or NULL with err set.
 */
cg_cuda_prog *cg_cuda_compile(const lir_func *f, const cg_target *t, rt_error *err);

/* Release p.  Accepts NULL; returns NULL. */
cg_cuda_prog *cg_cuda_prog_free(cg_cuda_prog *p);

/* ---- the emulator: the same kernels on the CPU, one pthread per GPU thread ---- */

/*
 * Compile f's kernels for the host CPU instead of NVPTX, from the same
 * plan and the same code generator: thread and block indices come from a
 * context, shared memory is one buffer per block, a barrier waits for the
 * block's other threads.  The module's NAME_packed(args) runs one kernel
 * for one thread: args[0] is the kernel's index (an intptr_t), args[1] its
 * context, args[2...] the parameters then the temps.  *plan receives the
 * program (no PTX).  Returns the module (cg_jit_new runs it), or NULL with
 * err set.
 */
cg_module *cg_cuda_compile_emu(const lir_func *f, const cg_target *t, cg_cuda_prog **plan, rt_error *err);

/*
 * Run every kernel of p in order with `entry` from cg_cuda_compile_emu:
 * for each block, one thread per GPU thread, shared memory filled with
 * 0xff bytes (NaN) first.  `args` holds p->nparams + p->ntemps buffers.  A
 * barrier that some thread of a block never reaches is reported after
 * `timeout` seconds.  Returns 0, or -1 with err set.
 */
int cg_cuda_emu_run(cg_packed_fn entry, const cg_cuda_prog *p, void *const *args, double timeout,
		    rt_error *err);

#endif
