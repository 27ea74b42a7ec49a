/*
 * check_jit: the tests' one "compile for the host, JIT, run on seeded
 * inputs and compare with the reference" (sched_gen's check_run with the
 * CPU back end as the kernel).
 */
#ifndef FTC_TEST_CHECK_JIT_H
#define FTC_TEST_CHECK_JIT_H

#include "cg.h"
#include "sched_gen.h"

/* The kernel_runner of a JIT-compiled function: ctx is a cg_packed_fn *. */
int jit_runner(void *ctx, void **params, rt_error *err);

/*
 * Compile f for the host with `threads` (0: the host target's default),
 * JIT it and check_run it against the reference of g.  "" when every
 * output matches, else a message naming the step that failed (a static
 * buffer).
 */
const char *check_jit(const te_graph *g, const lir_func *f, int threads);

#endif
