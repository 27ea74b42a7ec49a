/*
 * te_bufs: the buffers of one check of a kernel against the reference
 * interpreter, on seeded inputs.  Every check in ftc (ftc run and compile,
 * the tuner's measurers, the tests) builds them here, so that a seed means
 * the same inputs everywhere.
 *
 * Per stage id: ref[id] is the reference's buffer, got[id] the kernel's.
 * Inputs are filled by te_random_fill(seed) and shared (got[id] ==
 * ref[id]); outputs are separate; other compute stages have none (NULL).
 * params lists got[] of the inputs, then of the outputs, in stage order:
 * the kernel's parameters (lir_lower's order).
 */
#ifndef FTC_TE_BUFS_H
#define FTC_TE_BUFS_H

#include <stdint.h>

#include "te_interp.h"

typedef struct te_bufs {
	const te_graph *g;
	int n;		/* stages */
	void **ref;	/* [n] */
	void **got;	/* [n] */
	void **params;	/* [nparams] */
	int nparams;
} te_bufs;

/*
 * Allocate g's buffers (g kept: it must outlive b) and fill the inputs
 * from `seed`.  0, or -1 with err set ("out of memory: cannot allocate N
 * bytes for tensor 'X'").  Free b with te_bufs_free in any case.
 */
int te_bufs_init(te_bufs *b, const te_graph *g, uint64_t seed, rt_error *err);

/* Run the reference interpreter into b->ref; 0, or -1 with err set. */
int te_bufs_reference(te_bufs *b, rt_error *err);

/* The first output (stage id) whose got differs from ref beyond
 * te_compare's tolerance, with its comparison in *c; -1 when all match. */
int te_bufs_first_wrong(const te_bufs *b, te_cmp *c);

/* Release b (zeroed or initialized) and zero it. */
void te_bufs_free(te_bufs *b);

#endif
