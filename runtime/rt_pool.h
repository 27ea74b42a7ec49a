/*
 * rt_pool: a persistent pthread pool for parallel loops.
 *
 * A pool of P participants is the calling thread plus P - 1 worker threads
 * that live as long as the pool.  rt_pool_run splits [0, n) into C
 * contiguous chunks, chunk c = [c*n/C, (c+1)*n/C), run by participant
 * c mod P (participant 0 is the caller), and returns when all are done.
 * The assignment is static, so repeated runs of the same loop touch the
 * same data from the same threads.
 *
 * Dispatch: the caller publishes the job and bumps a generation counter;
 * idle workers watch that counter for 300 us after each job (a few pause
 * instructions, then sched_yield between looks), then sleep on a condition
 * variable.  The caller waits for the workers the same way.  When the pool
 * has more participants than there are cores, nobody spins.
 */
#ifndef FTC_RT_POOL_H
#define FTC_RT_POOL_H

#include <stdbool.h>
#include <stdint.h>

#include "ftc_rt.h"
#include "rt_error.h"

typedef struct rt_pool rt_pool;

/* The default pool size: FTC_NUM_THREADS when it holds a positive number
 * (at most 1024), otherwise the number of cores this process may run on
 * (its CPU affinity), at least 1.  Reads the environment on each call. */
int rt_pool_default_threads(void);

/* __isl_give: a pool of `nthreads` participants (the caller included;
 * <= 0 means rt_pool_default_threads()), its workers started.  NULL, with
 * `err` set, when memory or threads run out. */
rt_pool *rt_pool_new(int nthreads, rt_error *err);

/* The number of participants, the caller included. */
int rt_pool_nthreads(const rt_pool *pool);

/*
 * Run body(ctx, b, e) over [0, n) in min(nchunks, n) chunks (nchunks <= 0:
 * one per participant) and wait for all of them.  n <= 0 does nothing.
 * It runs body(ctx, 0, n) serially in the caller, without waiting, when
 * `pool` is NULL, when only one chunk is wanted or the pool has one
 * participant, when it is called from inside a body (nesting), when another
 * thread is running this pool, or when the pool was created by another
 * process (a forked child has none of its workers).
 */
void rt_pool_run(rt_pool *pool, int64_t n, ftc_rt_body body, void *ctx, int nchunks);

/* True inside a body run by rt_pool_run, serially or not, on any thread. */
bool rt_pool_inside(void);

/* __isl_take: stop and join the workers and free the pool.  It must not be
 * running.  Accepts NULL; returns NULL. */
rt_pool *rt_pool_free(rt_pool *pool);

#endif
