/*
 * cg: code generation from the loop IR.
 *
 * A cg_target says what to generate for: the CPU name, its features and the
 * thread count (target strings "cpu", "cpu -mcpu=skylake-avx512
 * -mattr=+avx512f,... -threads=2").  cg_cpu_compile turns a lir_func into an
 * optimized LLVM module in a context of its own (never LLVM's global one);
 * the module can then be JIT-compiled (tuning, `ftc run`) or written as an
 * object file (`ftc compile`).
 *
 * The generated code of a lir_func named NAME with parameters P0..Pn-1:
 *   int NAME(T0 *P0, ..., Tn-1 *Pn-1);   pointers are noalias; returns 0,
 *                                         or 1 when a heap buffer could
 *                                         not be allocated
 *   int NAME_packed(void **args);         the same, arguments in an array
 * It calls only libftcrt (ftc_rt_parallel_for, ftc_rt_alloc, ftc_rt_free)
 * and libm.
 */
#ifndef FTC_CG_H
#define FTC_CG_H

#include <stdbool.h>
#include <stdint.h>

#include "lir.h"
#include "rt_error.h"

typedef enum cg_target_kind { CG_TARGET_CPU, CG_TARGET_CUDA, CG_TARGET_HLS } cg_target_kind;

typedef struct cg_target {
	cg_target_kind kind;
	/* cpu (also the host side of the others) */
	char cpu[64];          /* LLVM CPU name, e.g. "sapphirerapids" */
	char features[2048];   /* LLVM feature string, e.g. "+avx512f,+fma,..." */
	int threads;           /* threads of parallel loops; 0 = all cores */
	int vector_bits;       /* widest vector register: 512, 256 or 128 */
	int fault;             /* test-only fault hook: 1 = the kernel writes
				* through a null pointer, 2 = it never
				* returns; 0 in every real use */
	/* cuda: "cuda -arch=sm_90" (default sm_80) */
	int sm;                      /* SM architecture: 80 for sm_80 */
	int max_threads_per_block;   /* 1024 */
	int max_shared_bytes;        /* shared memory per block (static), 48 KiB */
	int max_regs_per_thread;     /* 255 */
	/* hls: "hls -part=xcvu9p -clock=300MHz" (the default part and clock) */
	char part[32];               /* FPGA part, e.g. "xcvu9p" */
	double clock_mhz;            /* target clock */
	int dsp, bram18k, lut;       /* the part's resources: the search's budget */
} cg_target;

/* The host: CPU name and features from LLVM, all cores. */
int cg_target_host(cg_target *t, rt_error *err);

/*
 * Parse a target string: "cpu" followed by any of -mcpu=NAME,
 * -mattr=FEATURES, -threads=N (unspecified parts are the host's);
 * "cuda" with -arch=sm_NN; "hls" with -part=NAME (a known part: its
 * resources are the budget) and -clock=FREQ (e.g. 300MHz).  The host
 * fields are filled for every kind.  Returns 0, or -1 with `err` naming
 * the bad part.
 */
int cg_target_parse(const char *text, cg_target *t, rt_error *err);

/* The canonical target string of t, e.g. "cpu -mcpu=sapphirerapids -threads=2",
 * "cuda -arch=sm_90", "hls -part=xcvu9p -clock=300MHz". */
void cg_target_string(const cg_target *t, char *out, int size);

/* The kind's name: "cpu", "cuda", "hls". */
const char *cg_target_kind_name(cg_target_kind k);

typedef struct cg_module cg_module;

/*
 * Compile f (verified) for target t: lir -> LLVM IR through the LLVM C API,
 * verified, then optimized with the new pass manager at -O3.  Returns a
 * new module (free with cg_module_free), or NULL with `err` set.
 */
cg_module *cg_cpu_compile(const lir_func *f, const cg_target *t, rt_error *err);

/* Release m.  Accepts NULL; returns NULL. */
cg_module *cg_module_free(cg_module *m);

/* The module's LLVM IR as text (malloc'd; NULL when out of memory). */
char *cg_module_print(const cg_module *m);

typedef struct cg_jit cg_jit;
typedef int (*cg_packed_fn)(void **args);

/*
 * JIT-compile m with ORC LLJIT (__isl_take style: m is consumed even on
 * failure) and look up NAME_packed.  Returns the JIT (free with
 * cg_jit_free, which also frees the code) or NULL with `err` set.
 */
cg_jit *cg_jit_new(cg_module *m, rt_error *err);
cg_packed_fn cg_jit_entry(const cg_jit *j);
cg_jit *cg_jit_free(cg_jit *j);

#endif
