/*
 * sched_gen: test helpers shared by test_lower and test_codegen.
 */
#ifndef FTC_TEST_SCHED_GEN_H
#define FTC_TEST_SCHED_GEN_H

#include <isl/ctx.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lir.h"
#include "sched.h"
#include "te.h"
#include "te_parse.h"

/* The whole text of a file, malloc'd, or NULL. */
char *read_text(const char *path);
/* The source root ($FTC_SOURCE_ROOT, else "."). */
const char *root(void);
/* A new isl context that reports errors only by return value. */
isl_ctx *new_ctx(void);
/* examples/NAME.te at its shape in tests/small_shapes.txt, verified. */
te_graph *small_example(const char *name, isl_ctx *ctx);

/* Runs a kernel: params are the graph's inputs then outputs. */
typedef int (*kernel_runner)(void *ctx, void **params, rt_error *err);
/* Run the kernel and the reference on seeded inputs; "" when every output
 * matches, else a message (a static buffer). */
const char *check_run(const te_graph *g, kernel_runner run, void *ctx);
/* check_run with inputs filled from `seed` (ftc run's --seed; check_run
 * uses 7). */
const char *check_run_seeded(const te_graph *g, kernel_runner run, void *ctx, uint64_t seed);
/* check_run with the loop IR interpreter on f. */
const char *check_kernel(const te_graph *g, const lir_func *f);

/* The 16 examples, and how many. */
extern const char *const examples[];
#define NEXAMPLES 16

/* A random legal schedule of g as text, reproducible from `seed`. */
void random_schedule(const te_graph *g, uint64_t seed, char *out, size_t size);

/* Wider choices than random_schedule's (which keeps its sequence): */
typedef struct sched_gen_opts {
	bool vectorize_any; /* vectorize any spatial loop, not only the last */
	bool caches_often;  /* cache_write in half the reductions, not a quarter */
} sched_gen_opts;
void random_schedule_opts(const te_graph *g, uint64_t seed, const sched_gen_opts *o, char *out, size_t size);

/*
 * The rotation of the randomized tests.  A loop over random cases runs
 * `fixed` of them every time and `rotating` more that move with
 * $FTC_TEST_SEED (./test sets it to the day; 0 when unset), so that the
 * suite stays short while successive seeds reach every case.
 */
uint64_t test_seed(void);
/* The case index of the j-th of fixed + rotating iterations: j itself for
 * j < fixed, else fixed + test_seed() % TEST_SEED_PERIOD * rotating +
 * (j - fixed).  Seed 0 runs cases 0 .. fixed + rotating - 1. */
uint64_t test_case_index(int j, int fixed, int rotating);
/* Seeds repeat after this many: the case indices stay small. */
#define TEST_SEED_PERIOD 1000

#endif
