/*
 * ftc_rt: the functions generated kernels call.
 *
 * The process-wide pool below is the one piece of global mutable state in
 * ftc (docs/decisions.md, "Runtime"): a generated kernel has a fixed C
 * signature with no context argument, so the pool it runs on cannot be
 * passed down.  It is created on first use.  A forked child inherits the
 * pointer but not the worker threads, so an atfork handler drops it in the
 * child, and the child's first parallel loop builds a fresh pool.
 */
#include "ftc_rt.h"

#include <pthread.h>
#include <stdatomic.h>

#include "rt_alloc.h"
#include "rt_pool.h"

static pthread_once_t rt_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t rt_global_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic(rt_pool *) rt_global;
/* In a forked child: the parent's pool, whose memory is released (and only
 * that) when the child first needs a pool.  Kept here so that it stays
 * reachable for leak checkers until then. */
static rt_pool *rt_orphan;

static void atfork_prepare(void)
{
	pthread_mutex_lock(&rt_global_lock);
}

static void atfork_parent(void)
{
	pthread_mutex_unlock(&rt_global_lock);
}

/* Only pointer moves here: the child may not be in a state to free. */
static void atfork_child(void)
{
	rt_pool *p = atomic_load_explicit(&rt_global, memory_order_relaxed);

	if (p) {
		rt_orphan = p;
		atomic_store_explicit(&rt_global, NULL, memory_order_relaxed);
	}
	pthread_mutex_unlock(&rt_global_lock);
}

static void register_atfork(void)
{
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

/* The process-wide pool, created on first use.  Where threads cannot be
 * started it is a pool of one: every loop then runs in the caller. */
static rt_pool *global_pool(void)
{
	rt_pool *p = atomic_load_explicit(&rt_global, memory_order_acquire);

	if (p)
		return p;
	pthread_once(&rt_once, register_atfork);
	pthread_mutex_lock(&rt_global_lock);
	p = atomic_load_explicit(&rt_global, memory_order_relaxed);
	if (!p) {
		rt_orphan = rt_pool_free(rt_orphan);
		p = rt_pool_new(0, NULL);
		if (!p)
			p = rt_pool_new(1, NULL);
		atomic_store_explicit(&rt_global, p, memory_order_release);
	}
	pthread_mutex_unlock(&rt_global_lock);
	return p;
}

int ftc_rt_parallel_for(int64_t n, ftc_rt_body body, void *ctx, int nthreads)
{
	rt_pool *pool = NULL;
	int size;

	if (n <= 0)
		return 0;
	if (nthreads != 1 && !rt_pool_inside())
		pool = global_pool();
	size = pool ? rt_pool_nthreads(pool) : 1;
	rt_pool_run(pool, n, body, ctx, nthreads <= 0 || nthreads > size ? size : nthreads);
	return 0;
}

void *ftc_rt_alloc(int64_t bytes)
{
	/* No object may be larger than PTRDIFF_MAX: pointer differences in it
	 * would overflow.  The allocators reject such sizes too, noisily
	 * under the sanitizers and valgrind. */
	if (bytes < 0 || (uint64_t)bytes > (uint64_t)(PTRDIFF_MAX - RT_ALIGN))
		return NULL;
	return rt_alloc((size_t)bytes);
}

void ftc_rt_free(void *p)
{
	rt_free(p);
}
