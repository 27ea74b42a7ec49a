#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "rt_pool.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rt_alloc.h"
#include "rt_time.h"

/*
 * Helgrind and DRD do not see the happens-before edges that C11 atomics
 * make, so the publication of a job through `gen` and the end of it through
 * `pending` are told to Helgrind where its header is installed (a few
 * no-op instructions when not running under it).  ThreadSanitizer needs
 * nothing.
 */
#if defined(__has_include)
#if __has_include(<valgrind/helgrind.h>)
#include <valgrind/helgrind.h>
#define RT_HAPPENS_BEFORE(p) ANNOTATE_HAPPENS_BEFORE(p)
#define RT_HAPPENS_AFTER(p) ANNOTATE_HAPPENS_AFTER(p)
#define RT_NO_RACE_CHECK(p) VALGRIND_HG_DISABLE_CHECKING(p, sizeof(*(p)))
#endif
#endif
#ifndef RT_HAPPENS_BEFORE
#define RT_HAPPENS_BEFORE(p) ((void)0)
#define RT_HAPPENS_AFTER(p) ((void)0)
#define RT_NO_RACE_CHECK(p) ((void)0)
#endif

#define RT_POOL_MAX_THREADS 1024
/* How long an idle worker spins before it sleeps: long enough to cover the
 * gap between back-to-back kernel calls, short enough not to burn a core
 * for long after the last one.  The caller spins as long for the workers. */
#define RT_POOL_SPIN_S 300e-6
/* Pause instructions before the spin starts to yield the core (a few us). */
#define RT_POOL_PAUSES 100

typedef struct rt_worker {
	rt_pool *pool;
	int id; /* participant number, 1 .. nthreads - 1 */
	pthread_t thread;
} rt_worker;

/*
 * The job fields are written by the caller, under `lock`, before it bumps
 * `gen` (release); a worker reads them only after it has seen the new `gen`
 * (acquire) and stops reading before it counts `pending` down, so the next
 * job, which starts once `pending` is 0, may overwrite them.
 */
struct rt_pool {
	alignas(64) atomic_uint_fast64_t gen; /* bumped once per job */
	ftc_rt_body body;
	void *ctx;
	int64_t n;
	int nchunks;
	bool stop; /* the job is "exit" */

	alignas(64) atomic_int pending; /* workers yet to finish the job */

	alignas(64) pthread_mutex_t lock; /* guards the sleeping fields */
	pthread_cond_t wake;		  /* workers sleep here for a job */
	pthread_cond_t done;		  /* the caller sleeps here for pending == 0 */
	int nsleeping;
	bool caller_sleeping;

	pthread_mutex_t run_lock; /* held by the thread running a job */
	int nthreads;
	double spin_s; /* 0 when there are more participants than cores */
	pid_t pid;     /* the process whose threads these are */
	rt_worker *workers;
};

static _Thread_local bool rt_inside;

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

static int affinity_cores(void)
{
	cpu_set_t set;
	long n;

	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
		return CPU_COUNT(&set);
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)n : 1;
}

int rt_pool_default_threads(void)
{
	const char *s = getenv("FTC_NUM_THREADS");
	char *end;
	long v;

	if (s && *s) {
		errno = 0;
		v = strtol(s, &end, 10);
		if (errno == 0 && *end == '\0' && v > 0 && v <= RT_POOL_MAX_THREADS)
			return (int)v;
	}
	return affinity_cores();
}

/* Chunk c of C over [0, n): c*n/C, computed without overflowing. */
static int64_t chunk_start(int64_t n, int c, int nchunks)
{
	return (n / nchunks) * c + (n % nchunks) * c / nchunks;
}

/* Run the chunks of the current job that belong to participant `id`. */
static void run_chunks(rt_pool *pool, int id)
{
	int c;

	for (c = id; c < pool->nchunks; c += pool->nthreads)
		pool->body(pool->ctx, chunk_start(pool->n, c, pool->nchunks),
			   chunk_start(pool->n, c + 1, pool->nchunks));
}

static bool job_posted(rt_pool *pool, uint_fast64_t seen)
{
	return atomic_load_explicit(&pool->gen, memory_order_acquire) != seen;
}

static bool workers_done(rt_pool *pool, uint_fast64_t unused)
{
	(void)unused;
	return atomic_load_explicit(&pool->pending, memory_order_acquire) == 0;
}

/*
 * Spin until ready(pool, arg) holds or pool->spin_s seconds pass; whether
 * it holds.  First a few pause instructions, for the back-to-back case;
 * then sched_yield between looks, so that a thread waiting for this core
 * (perhaps the very one being waited for, when other processes keep the
 * other cores busy) runs, and so that a hypervisor does not take the pause
 * loop for a lock spin and deschedule the virtual CPU.
 */
static bool spin(rt_pool *pool, bool (*ready)(rt_pool *, uint_fast64_t), uint_fast64_t arg)
{
	double deadline;
	int i;

	if (ready(pool, arg))
		return true;
	if (pool->spin_s <= 0)
		return false;
	for (i = 0; i < RT_POOL_PAUSES; i++) {
		cpu_relax();
		if (ready(pool, arg))
			return true;
	}
	deadline = rt_now() + pool->spin_s;
	while (rt_now() < deadline) {
		sched_yield();
		if (ready(pool, arg))
			return true;
	}
	return false;
}

/* Wait, spinning then sleeping, until the pool's generation leaves `seen`;
 * return the new generation. */
static uint_fast64_t wait_for_job(rt_pool *pool, uint_fast64_t seen)
{
	uint_fast64_t g;

	if (!spin(pool, job_posted, seen)) {
		pthread_mutex_lock(&pool->lock);
		pool->nsleeping++;
		while (!job_posted(pool, seen))
			pthread_cond_wait(&pool->wake, &pool->lock);
		pool->nsleeping--;
		pthread_mutex_unlock(&pool->lock);
	}
	g = atomic_load_explicit(&pool->gen, memory_order_acquire);
	RT_HAPPENS_AFTER(&pool->gen);
	return g;
}

/* A worker is done with the job; the last one wakes a sleeping caller. */
static void finish_job(rt_pool *pool)
{
	RT_HAPPENS_BEFORE(&pool->pending);
	if (atomic_fetch_sub_explicit(&pool->pending, 1, memory_order_acq_rel) != 1)
		return;
	pthread_mutex_lock(&pool->lock);
	if (pool->caller_sleeping)
		pthread_cond_signal(&pool->done);
	pthread_mutex_unlock(&pool->lock);
}

static void *worker_main(void *arg)
{
	rt_worker *w = arg;
	rt_pool *pool = w->pool;
	uint_fast64_t seen = 0;

	rt_inside = true; /* a worker only ever runs bodies */
	for (;;) {
		seen = wait_for_job(pool, seen);
		if (pool->stop)
			return NULL;
		run_chunks(pool, w->id);
		finish_job(pool);
	}
}

/* The caller waits, spinning then sleeping, until every worker is done. */
static void wait_for_workers(rt_pool *pool)
{
	if (!spin(pool, workers_done, 0)) {
		pthread_mutex_lock(&pool->lock);
		pool->caller_sleeping = true;
		while (!workers_done(pool, 0))
			pthread_cond_wait(&pool->done, &pool->lock);
		pool->caller_sleeping = false;
		pthread_mutex_unlock(&pool->lock);
	}
	RT_HAPPENS_AFTER(&pool->pending);
}

/* Publish a job (or, with `stop`, the order to exit) and wake the workers. */
static void publish(rt_pool *pool, int64_t n, ftc_rt_body body, void *ctx, int nchunks, bool stop)
{
	uint_fast64_t g;

	pthread_mutex_lock(&pool->lock);
	pool->body = body;
	pool->ctx = ctx;
	pool->n = n;
	pool->nchunks = nchunks;
	pool->stop = stop;
	atomic_store_explicit(&pool->pending, pool->nthreads - 1, memory_order_relaxed);
	g = atomic_load_explicit(&pool->gen, memory_order_relaxed);
	RT_HAPPENS_BEFORE(&pool->gen);
	atomic_store_explicit(&pool->gen, g + 1, memory_order_release);
	if (pool->nsleeping > 0)
		pthread_cond_broadcast(&pool->wake);
	pthread_mutex_unlock(&pool->lock);
}

/* Stop and join the first `nstarted` workers. */
static void stop_workers(rt_pool *pool, int nstarted)
{
	int i;

	publish(pool, 0, NULL, NULL, 0, true);
	for (i = 0; i < nstarted; i++)
		pthread_join(pool->workers[i].thread, NULL);
}

/* Start the workers with every signal blocked, so that signals sent to the
 * process go to the application's threads.  The number started. */
static int start_workers(rt_pool *pool, int *error)
{
	sigset_t all, old;
	int i;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (i = 0; i < pool->nthreads - 1; i++) {
		pool->workers[i].pool = pool;
		pool->workers[i].id = i + 1;
		*error =
		    pthread_create(&pool->workers[i].thread, NULL, worker_main, &pool->workers[i]);
		if (*error)
			break;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return i;
}

/* With default attributes the pthread init calls cannot fail on Linux. */
rt_pool *rt_pool_new(int nthreads, rt_error *err)
{
	rt_pool *pool;
	int started, error = 0;

	if (nthreads <= 0)
		nthreads = rt_pool_default_threads();
	if (nthreads > RT_POOL_MAX_THREADS)
		nthreads = RT_POOL_MAX_THREADS;
	pool = rt_alloc(sizeof(*pool));
	if (!pool || !(pool->workers = calloc((size_t)nthreads, sizeof(rt_worker)))) {
		rt_free(pool);
		rt_error_set(err, 0, 0, "out of memory creating a pool of %d threads", nthreads);
		return NULL;
	}
	RT_NO_RACE_CHECK(&pool->gen);
	RT_NO_RACE_CHECK(&pool->pending);
	atomic_init(&pool->gen, 0);
	atomic_init(&pool->pending, 0);
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->wake, NULL);
	pthread_cond_init(&pool->done, NULL);
	pthread_mutex_init(&pool->run_lock, NULL);
	pool->nthreads = nthreads;
	pool->spin_s = nthreads <= affinity_cores() ? RT_POOL_SPIN_S : 0;
	pool->pid = getpid();
	started = start_workers(pool, &error);
	if (started == nthreads - 1)
		return pool;
	rt_error_set(err, 0, 0, "cannot start worker thread %d of a pool of %d: %s", started + 1,
		     nthreads, strerror(error));
	pool->nthreads = started + 1; /* only those wait for the stop order */
	return rt_pool_free(pool);
}

int rt_pool_nthreads(const rt_pool *pool)
{
	return pool->nthreads;
}

bool rt_pool_inside(void)
{
	return rt_inside;
}

/* The whole loop in the caller, which counts as inside a body meanwhile. */
static void run_serial(int64_t n, ftc_rt_body body, void *ctx)
{
	bool was_inside = rt_inside;

	rt_inside = true;
	body(ctx, 0, n);
	rt_inside = was_inside;
}

void rt_pool_run(rt_pool *pool, int64_t n, ftc_rt_body body, void *ctx, int nchunks)
{
	if (n <= 0)
		return;
	if (pool && nchunks <= 0)
		nchunks = pool->nthreads;
	if (nchunks > n)
		nchunks = (int)n;
	if (!pool || nchunks <= 1 || pool->nthreads == 1 || rt_inside || pool->pid != getpid() ||
	    pthread_mutex_trylock(&pool->run_lock) != 0) {
		run_serial(n, body, ctx);
		return;
	}
	publish(pool, n, body, ctx, nchunks, false);
	rt_inside = true;
	run_chunks(pool, 0);
	rt_inside = false;
	wait_for_workers(pool);
	pthread_mutex_unlock(&pool->run_lock);
}

/* In a forked child the workers do not exist and the locks may be in any
 * state: release the memory only. */
rt_pool *rt_pool_free(rt_pool *pool)
{
	if (!pool)
		return NULL;
	if (pool->pid == getpid()) {
		stop_workers(pool, pool->nthreads - 1);
		pthread_mutex_destroy(&pool->lock);
		pthread_cond_destroy(&pool->wake);
		pthread_cond_destroy(&pool->done);
		pthread_mutex_destroy(&pool->run_lock);
	}
	free(pool->workers);
	rt_free(pool);
	return NULL;
}
