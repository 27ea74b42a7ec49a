/*
 * hls_model: an analytic performance and resource model of a lir function
 * as HLS C on an FPGA, in place of synthesis and a board (as FlexTensor did
 * for FPGAs).  docs/hls.md gives the formulas.
 *
 * Latency in cycles, from trip counts: a pipelined loop (with the serial
 * loops it is perfectly nested in, which HLS flattens into it) takes
 * (trips - 1) * II + depth cycles, where the achieved II is the largest of
 * the schedule's target, the recurrence bound (a value stored in one
 * iteration and read by a later one: the latency of the chain of operations
 * between, over the distance in iterations; through off-chip memory the
 * AXI round trip adds to the chain) and the memory bound (accesses to one
 * bank of an on-chip buffer per iteration over its two ports, given the
 * partitioning; one element per cycle per direction on an AXI port); the
 * depth is the critical path of one iteration, every loop inside it
 * unrolled.  Other loops take trips * (body + 1) + 1 cycles, a statement
 * its critical path, an unrolled loop outside a pipeline its body plus the
 * recurrence or port bound per further copy.
 * Resources: DSPs and LUTs of the operations (every unrolled copy; a
 * pipeline with II > 1 shares one unit among II operations), BRAM18Ks of
 * the on-chip buffers by banks and depth, and the AXI adapters.
 *
 * The whole model is this one unit: a measured model (synthesis reports,
 * a board) can replace it behind hls_model_estimate.
 */
#ifndef FTC_HLS_MODEL_H
#define FTC_HLS_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cg.h"
#include "lir.h"
#include "rt_error.h"

#define HLS_MAX_PIPES 32

/* One pipelined loop, as the model sees it. */
typedef struct hls_pipe {
	char name[64];     /* the pipelined loop's variable */
	int flattened;     /* enclosing loops flattened into it (0: none) */
	int64_t trip;      /* iterations per start (the flattened loops' product) */
	int64_t copies;    /* copies of the body after the pipeline unrolls its loops */
	int ii_target;     /* the schedule's II */
	int ii;            /* the achieved II */
	int ii_rec;        /* the recurrence bound (0: no recurrence) */
	int ii_mem;        /* the memory-port bound */
	int depth;         /* cycles of one iteration */
	char why[200];     /* what sets the achieved II, in words */
} hls_pipe;

typedef struct hls_estimate {
	double cycles;     /* latency of one call */
	double seconds;    /* cycles at the target's clock */
	int64_t dsp, bram18k, lut;
	bool fits;         /* within the part's DSP, BRAM and LUT budget */
	char over[160];    /* when not: "DSP 7200 > 6840", ... */
	int npipes;        /* pipelined loops (the first HLS_MAX_PIPES described) */
	hls_pipe pipes[HLS_MAX_PIPES];
} hls_estimate;

/*
 * Estimate f (verified, passed cg_hls_lint) on HLS target t (clock and
 * budget; a target of another kind is taken as the default VU9P at 300
 * MHz).  0 with *out filled, or -1 with `err` set (out of memory, a loop
 * bound or index the model cannot evaluate).
 */
int hls_model_estimate(const lir_func *f, const cg_target *t, hls_estimate *out, rt_error *err);

/* A few lines on e: latency, resources against t's budget, each pipeline's
 * II and why.  Writes at most n bytes into out (terminated). */
void hls_estimate_summary(const hls_estimate *e, const cg_target *t, char *out, size_t n);

#endif
