/*
 * cg_cuda_plan: the CUDA back end's plan of a lir function (private to
 * cg_cuda*.c): its kernels, the block and thread indices bound loops map
 * to, their launch sizes (bounded by interval arithmetic and affine
 * differences), the temps and the place of every allocation.
 */
#ifndef FTC_CG_CUDA_PLAN_H
#define FTC_CG_CUDA_PLAN_H

#include <stdbool.h>
#include <stdint.h>

#include "cg_cuda.h"

#define CU_SHARED_ALIGN 16   /* shared buffers' and per-thread arrays' alignment */

/* Where code runs: once per grid point (before the block loops end), once
 * per block, or per thread. */
enum { LV_GRID, LV_BLOCK, LV_THREAD };

/* What the plan decided about one statement of a kernel. */
enum { NOTE_GRID, NOTE_THREAD, NOTE_COPY, NOTE_BLOCK_ALLOC, NOTE_PRIVATE, NOTE_NONE };

typedef struct note {
	const lir_stmt *s;
	int kind;
	int dim;          /* GRID, THREAD: 0..2 */
	bool strided;     /* GRID, THREAD: the extent may exceed the launch size */
	int64_t extent;   /* GRID, THREAD: bound on the trip count */
	int64_t offset;   /* BLOCK_ALLOC: byte offset in shared memory, -1 = private */
} note;

typedef struct kplan {
	int nprefix;
	const lir_stmt **prefix;   /* host-level lets and ifs around the unit */
	const lir_stmt *unit;
	int nnotes, capnotes;
	note *notes;
	int64_t grid[3];
	int block[3];
	int64_t shared_bytes;
	bool idx32;                /* every index value fits in i32 */
} kplan;

typedef struct plan {
	const lir_func *f;
	const cg_target *t;
	rt_error *err;
	int nk, capk;
	kplan *k;
	int *temp_of;               /* per buffer: temp index, -1 */
	int ntemps;
	int *temp_buf;              /* per temp: buffer id */
	struct cu_iv *env;                    /* per variable, while walking */
	struct cu_aff **let_aff;              /* per variable: the affine value of a let, or NULL */
	const lir_stmt **pre;       /* the host-level prefix being walked */
	int npre, cappre;
	bool *priv;                 /* per buffer: allocated only under thread loops */
	bool *shared_alloc;         /* per buffer: allocated at block level somewhere */
} plan;

/* Plan f for CUDA target t into *P (released by cu_plan_release, also on
 * failure).  0, or -1 with err set naming the loop or buffer. */
int cu_plan_build(plan *P, const lir_func *f, const cg_target *t, rt_error *err);
void cu_plan_release(plan *P);

/* The public view of P: a new program without PTX, or NULL (out of memory). */
cg_cuda_prog *cu_plan_prog(const plan *P);

/* The plan's note on statement s of kernel K, or NULL. */
const note *cu_find_note(const kplan *K, const lir_stmt *s);

/* The level of statement s reached at `level`: grid-level code is lets,
 * else-less ifs and mapped block loops above everything else. */
int cu_level_of(const kplan *K, const lir_stmt *s, int level);

/* Threads per block of kernel K. */
int64_t cu_threads(const kplan *K);

#endif
