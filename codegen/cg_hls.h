/*
 * cg_hls: the loop IR as HLS C for FPGAs (Vitis HLS, Vivado HLS), and the
 * files that go with a kernel: its header, a C-simulation testbench and a
 * Vitis HLS Tcl script.
 *
 * The kernel NAME.c is one top function
 *
 *   void NAME(const float A[M * K], const float B[K * N], float C[M * N]);
 *
 * whose arrays (inputs, then outputs, row-major and flat) are m_axi ports,
 * one bundle each, with the control (and the arrays' base addresses) on
 * s_axilite.  Every loop of the lir becomes a labelled `for` (`k_i_loop:`);
 * a pipelined loop gets `#pragma HLS PIPELINE II=n`, an unrolled or
 * vectorized loop and every loop inside a pipelined one `#pragma HLS
 * UNROLL`, a loop whose bounds vary `#pragma HLS LOOP_TRIPCOUNT`.  Local
 * buffers (caches, compute_at tiles, intermediate tensors) are flat arrays
 * of constant size declared at the top of the function, with `#pragma HLS
 * ARRAY_PARTITION` when the schedule partitions them (lowering guarantees
 * every element is written before it is read, so hoisting them out of
 * their loops keeps the meaning).  There is no dynamic allocation, no
 * recursion, no pointer arithmetic: arrays are only indexed.  Integer / and
 * % are floor division and modulo (plain C operators where the dividend is
 * provably non-negative, small inline helpers otherwise), as in lir.
 *
 * The testbench NAME_tb.c fills the inputs with the values te_random_fill
 * gives (seed 1, or argv[1]), runs NAME and a reference (ftc's naive loop
 * nest of the same graph, plain C), compares every output with the
 * tolerance of te_compare, prints PASS or FAIL and returns 0 or 1; with
 * argv[2] it also writes the outputs, raw, to that file.  Compiled with any
 * C11 compiler (the pragmas are ignored) it is the C simulation.
 */
#ifndef FTC_CG_HLS_H
#define FTC_CG_HLS_H

#include "cg.h"
#include "lir.h"
#include "rt_error.h"
#include "te.h"

/* What the generated files say about themselves (all borrowed). */
typedef struct cg_hls_info {
	const char *name;     /* the top function, a C identifier */
	const char *target;   /* the canonical target string */
	const char *schedule; /* the schedule text; NULL or "" for the naive one */
	const char *estimate; /* the model's summary, one or more lines, or NULL */
} cg_hls_info;

/* Loops inside one pipelined loop unroll into at most this many copies. */
#define CG_HLS_MAX_COPIES 65536

/*
 * Check that f can be synthesized as emitted: no pipelined loop inside
 * another, constant bounds on every loop inside a pipelined loop (the
 * pipeline unrolls them) and at most CG_HLS_MAX_COPIES copies of its body,
 * no barrier, buffers of at most 2^31 - 1 elements.  0, or -1 with `err`
 * naming the loop or statement.
 */
int cg_hls_lint(const lir_func *f, rt_error *err);

/*
 * Check HLS C text (as cg_hls_kernel writes it, or edited by hand) for what
 * HLS tools cannot synthesize: dynamic allocation (malloc, calloc, realloc,
 * free, alloca), `->`, goto, pointer parameters or declarations, arrays of
 * non-constant size, and calls to anything but the file's own `static`
 * helpers and <math.h> (so no recursion).  0, or -1 with `err` at the
 * line:column of the first offence.
 */
int cg_hls_lint_c(const char *text, rt_error *err);

/* NAME.c: the kernel (f passed cg_hls_lint).  malloc'd; NULL with `err`. */
char *cg_hls_kernel(const lir_func *f, const te_graph *g, const cg_hls_info *info, rt_error *err);

/* NAME.h: the top function's prototype and what it computes. */
char *cg_hls_header(const lir_func *f, const te_graph *g, const cg_hls_info *info, rt_error *err);

/*
 * NAME_tb.c: the testbench for kernel f, with `ref` (g lowered under the
 * naive schedule) as its reference.  malloc'd; NULL with `err`.
 */
char *cg_hls_testbench(const lir_func *f, const lir_func *ref, const te_graph *g,
		       const cg_hls_info *info, rt_error *err);

/*
 * NAME.tcl: a Vitis HLS script that makes a project NAME_prj with NAME.c
 * and the testbench for t's part and clock, then runs C simulation,
 * synthesis and C/RTL co-simulation (vitis_hls -f NAME.tcl).
 */
char *cg_hls_tcl(const cg_target *t, const cg_hls_info *info, rt_error *err);

/* The full part name Vitis wants for t->part ("xcvu9p" ->
 * "xcvu9p-flga2104-2-i"); t->part itself when unknown. */
const char *cg_hls_part_name(const char *part);

#endif
