/*
 * Tests of runtime/: the parallel-for pool (coverage of every index, static
 * chunk bounds, nesting, concurrent callers, fork), the benchmark loop
 * (statistics tables, a 1 ms busy wait, errors), process isolation (normal
 * exit, exit codes, crashes, timeout, shared memory) and the allocator.
 *
 * The only timing assertion is the loose sanity check of rt_bench on a
 * 1 ms busy wait; everything else holds on any machine, however loaded.
 */
#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ftc_rt.h"
#include "rt_bench.h"
#include "rt_isolate.h"
#include "rt_pool.h"
#include "rt_time.h"

#define N_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* ThreadSanitizer must let a child forked from a threaded process start
 * threads (the fork tests): it does not model that case, but the child runs
 * correctly.  Nor need it sleep a second at the exit of each forked test. */
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TEST_TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__) || defined(TEST_TSAN)
const char *__tsan_default_options(void);
const char *__tsan_default_options(void)
{
	return "die_after_fork=0:atexit_sleep_ms=0";
}
#endif

#define MAX_CHUNKS 64

/* ---- a loop body that records what it was asked to do ---- */

typedef struct cover {
	int64_t n;
	unsigned char *count; /* times each index was run */
	atomic_int nchunks;
	int64_t begin[MAX_CHUNKS];
	int64_t end[MAX_CHUNKS];
	pthread_t thread[MAX_CHUNKS];
	atomic_int bad; /* a chunk outside [0, n) or empty */
} cover;

static void cover_body(void *ctx, int64_t b, int64_t e)
{
	cover *c = ctx;
	int slot = atomic_fetch_add(&c->nchunks, 1);
	int64_t i;

	if (b < 0 || e > c->n || b >= e) {
		atomic_fetch_add(&c->bad, 1);
		return;
	}
	if (slot < MAX_CHUNKS) {
		c->begin[slot] = b;
		c->end[slot] = e;
		c->thread[slot] = pthread_self();
	}
	for (i = b; i < e; i++)
		c->count[i]++;
}

static void cover_init(cover *c, int64_t n)
{
	memset(c, 0, sizeof(*c));
	c->n = n;
	c->count = calloc((size_t)n + 1, 1);
	ck_assert_ptr_nonnull(c->count);
}

/* Every index exactly `times` times; no bad chunk. */
static void cover_check(const cover *c, int times)
{
	int64_t i;

	ck_assert_int_eq(atomic_load(&c->bad), 0);
	for (i = 0; i < c->n; i++)
		if (c->count[i] != times)
			ck_abort_msg("n=%lld: index %lld run %d times, not %d", (long long)c->n,
				     (long long)i, c->count[i], times);
}

/* The chunks are [t*n/T, (t+1)*n/T) for T = the number of chunks. */
static void cover_check_static(const cover *c)
{
	int T = atomic_load(&c->nchunks), t, s;

	ck_assert_int_le(T, MAX_CHUNKS);
	for (t = 0; t < T; t++) {
		for (s = 0; s < T && c->begin[s] != t * c->n / T; s++)
			;
		ck_assert_msg(s < T, "n=%lld T=%d: no chunk starts at %lld", (long long)c->n, T,
			      (long long)(t * c->n / T));
		ck_assert_int_eq(c->end[s], (t + 1) * c->n / T);
	}
}

static int distinct_threads(const cover *c)
{
	int T = atomic_load(&c->nchunks), i, j, k = 0;

	for (i = 0; i < T && i < MAX_CHUNKS; i++) {
		for (j = 0; j < i && !pthread_equal(c->thread[i], c->thread[j]); j++)
			;
		k += j == i;
	}
	return k;
}

/* ---- ftc_rt_parallel_for ---- */

static const int64_t pf_sizes[] = {0, 1, 2, 3, 7, 1000, 1 << 20};
static const int pf_threads[] = {1, 2, 3, 8, 0};

START_TEST(parallel_for_covers)
{
	int64_t n = pf_sizes[_i / N_OF(pf_threads)];
	int nt = pf_threads[_i % N_OF(pf_threads)];
	int pool = rt_pool_default_threads(), limit;
	cover c;

	cover_init(&c, n);
	ck_assert_int_eq(ftc_rt_parallel_for(n, cover_body, &c, nt), 0);
	cover_check(&c, 1);
	cover_check_static(&c);
	limit = nt <= 0 || nt > pool ? pool : nt;
	if (limit > n)
		limit = (int)n;
	ck_assert_int_eq(atomic_load(&c.nchunks), limit);
	/* Again: the pool is reused. */
	ck_assert_int_eq(ftc_rt_parallel_for(n, cover_body, &c, nt), 0);
	cover_check(&c, 2);
	free(c.count);
}
END_TEST

START_TEST(parallel_for_negative_n)
{
	cover c;

	cover_init(&c, 1);
	ck_assert_int_eq(ftc_rt_parallel_for(-5, cover_body, &c, 2), 0);
	ck_assert_int_eq(atomic_load(&c.nchunks), 0);
	free(c.count);
}
END_TEST

/* An outer loop whose every iteration runs an inner parallel loop. */
typedef struct nest {
	cover inner[4];
	pthread_t outer_thread[4];
	atomic_int inside_bad;
} nest;

static void nest_body(void *ctx, int64_t b, int64_t e)
{
	nest *t = ctx;
	int64_t i;

	if (!rt_pool_inside())
		atomic_fetch_add(&t->inside_bad, 1);
	for (i = b; i < e; i++) {
		t->outer_thread[i] = pthread_self();
		ftc_rt_parallel_for(t->inner[i].n, cover_body, &t->inner[i], 2);
	}
}

START_TEST(parallel_for_nested)
{
	nest t;
	int i;

	memset(&t, 0, sizeof(t));
	for (i = 0; i < 4; i++)
		cover_init(&t.inner[i], 100 + i);
	ftc_rt_parallel_for(4, nest_body, &t, 0);
	ck_assert_int_eq(atomic_load(&t.inside_bad), 0);
	ck_assert(!rt_pool_inside());
	for (i = 0; i < 4; i++) {
		cover_check(&t.inner[i], 1);
		/* serial: one chunk, the whole range, on the outer chunk's thread */
		ck_assert_int_eq(atomic_load(&t.inner[i].nchunks), 1);
		ck_assert_int_eq(t.inner[i].begin[0], 0);
		ck_assert_int_eq(t.inner[i].end[0], 100 + i);
		ck_assert(pthread_equal(t.inner[i].thread[0], t.outer_thread[i]));
		free(t.inner[i].count);
	}
}
END_TEST

#define CONCURRENT_ROUNDS 200

typedef struct app_thread {
	int64_t n;
	int *count;
	int nthreads;
} app_thread;

static void add_body(void *ctx, int64_t b, int64_t e)
{
	app_thread *a = ctx;
	int64_t i;

	for (i = b; i < e; i++)
		a->count[i]++;
}

static void *app_main(void *arg)
{
	app_thread *a = arg;
	int r;

	for (r = 0; r < CONCURRENT_ROUNDS; r++)
		ftc_rt_parallel_for(a->n, add_body, a, a->nthreads);
	return NULL;
}

START_TEST(parallel_for_concurrent_callers)
{
	app_thread a[3] = {{10007, NULL, 0}, {333, NULL, 2}, {4096, NULL, 3}};
	pthread_t th[3];
	int i;
	int64_t j;

	for (i = 0; i < 3; i++) {
		a[i].count = calloc((size_t)a[i].n, sizeof(int));
		ck_assert_ptr_nonnull(a[i].count);
	}
	for (i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, app_main, &a[i]), 0);
	app_main(&a[2]); /* the test's own thread calls too */
	for (i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < 3; i++) {
		for (j = 0; j < a[i].n && a[i].count[j] == CONCURRENT_ROUNDS; j++)
			;
		ck_assert_msg(j == a[i].n, "caller %d: index %lld run %d times", i, (long long)j,
			      a[i].count[j]);
		free(a[i].count);
	}
}
END_TEST

/* In a forked child: a parallel loop runs correctly, on 2 threads when
 * the pool has 2; then a grandchild does the same. */
static int child_parallel(void *ctx, void *shm, size_t size)
{
	int depth = *(int *)ctx, next = depth - 1;
	rt_isolate_result res;
	cover c;
	int want = rt_pool_default_threads() >= 2 ? 2 : 1, i, r;

	(void)shm;
	(void)size;
	cover_init(&c, 1000);
	ftc_rt_parallel_for(c.n, cover_body, &c, 2);
	for (i = 0; i < c.n; i++)
		if (c.count[i] != 1)
			return 1;
	if (c.bad || distinct_threads(&c) != want)
		return 2;
	free(c.count);
	if (depth == 0)
		return 0;
	r = rt_isolate_run(child_parallel, &next, 0, 30, &res);
	rt_isolate_result_release(&res);
	return r ? 3 : 0;
}

START_TEST(parallel_for_after_fork)
{
	rt_isolate_result res;
	cover c;
	int depth = 1;

	cover_init(&c, 1000);
	ftc_rt_parallel_for(c.n, cover_body, &c, 0); /* the parent's pool is live */
	cover_check(&c, 1);
	free(c.count);
	ck_assert_msg(rt_isolate_run(child_parallel, &depth, 0, 30, &res) == 0, "child: %s",
		      res.reason);
	rt_isolate_result_release(&res);
	/* the parent's pool still works */
	cover_init(&c, 1000);
	ftc_rt_parallel_for(c.n, cover_body, &c, 0);
	cover_check(&c, 1);
	free(c.count);
}
END_TEST

/* A raw fork, as the tuner does it, rather than through rt_isolate. */
START_TEST(parallel_for_after_raw_fork)
{
	int depth = 0, status;
	pid_t pid;
	cover c;

	cover_init(&c, 10);
	ftc_rt_parallel_for(c.n, cover_body, &c, 0);
	free(c.count);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(child_parallel(&depth, NULL, 0));
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

/* ---- rt_pool ---- */

static const int pool_sizes[] = {1, 2, 3, 8};
static const int pool_chunks[] = {0, 1, 2, 5, 16};

START_TEST(pool_covers)
{
	int P = pool_sizes[_i / N_OF(pool_chunks)];
	int C = pool_chunks[_i % N_OF(pool_chunks)];
	rt_error err;
	rt_pool *pool;
	size_t k;
	cover c;

	rt_error_clear(&err);
	pool = rt_pool_new(P, &err);
	ck_assert_msg(pool != NULL, "%s", err.msg);
	ck_assert_int_eq(rt_pool_nthreads(pool), P);
	for (k = 0; k < (size_t)N_OF(pf_sizes); k++) {
		int64_t n = pf_sizes[k];
		int want = C <= 0 ? P : C;

		if (want > n)
			want = (int)n;
		if (P == 1 && want > 1)
			want = 1;
		cover_init(&c, n);
		rt_pool_run(pool, n, cover_body, &c, C);
		cover_check(&c, 1);
		cover_check_static(&c);
		ck_assert_int_eq(atomic_load(&c.nchunks), want);
		free(c.count);
	}
	/* Two chunks on a pool of 2 or more run on two threads. */
	if (P >= 2) {
		cover_init(&c, 100);
		rt_pool_run(pool, c.n, cover_body, &c, 2);
		ck_assert_int_eq(distinct_threads(&c), 2);
		free(c.count);
	}
	ck_assert_ptr_null(rt_pool_free(pool));
}
END_TEST

START_TEST(pool_many_runs)
{
	rt_pool *pool = rt_pool_new(3, NULL);
	cover c;
	int r;

	ck_assert_ptr_nonnull(pool);
	cover_init(&c, 97);
	for (r = 0; r < 2000; r++)
		rt_pool_run(pool, c.n, cover_body, &c, 0);
	cover_check(&c, 2000 % 256);
	free(c.count);
	rt_pool_free(pool);
	ck_assert_ptr_null(rt_pool_free(NULL));
}
END_TEST

/* A pool created by the parent runs serially in a forked child. */
static int child_old_pool(void *ctx, void *shm, size_t size)
{
	rt_pool *pool = ctx;
	cover c;

	(void)shm;
	(void)size;
	cover_init(&c, 50);
	rt_pool_run(pool, c.n, cover_body, &c, 2);
	if (atomic_load(&c.nchunks) != 1 || c.begin[0] != 0 || c.end[0] != 50)
		return 1;
	free(c.count);
	rt_pool_free(pool); /* memory only */
	return 0;
}

START_TEST(pool_in_forked_child)
{
	rt_pool *pool = rt_pool_new(2, NULL);
	rt_isolate_result res;

	ck_assert_ptr_nonnull(pool);
	ck_assert_msg(rt_isolate_run(child_old_pool, pool, 0, 30, &res) == 0, "%s", res.reason);
	rt_isolate_result_release(&res);
	rt_pool_free(pool);
}
END_TEST

static void set_env(const char *value)
{
	if (value)
		setenv("FTC_NUM_THREADS", value, 1);
	else
		unsetenv("FTC_NUM_THREADS");
}

START_TEST(pool_default_threads)
{
	const char *old = getenv("FTC_NUM_THREADS");
	char *saved = old ? strdup(old) : NULL;
	int cores;

	set_env(NULL);
	cores = rt_pool_default_threads();
	ck_assert_int_ge(cores, 1);
	set_env("3");
	ck_assert_int_eq(rt_pool_default_threads(), 3);
	set_env("0");
	ck_assert_int_eq(rt_pool_default_threads(), cores);
	set_env("4x");
	ck_assert_int_eq(rt_pool_default_threads(), cores);
	set_env("99999");
	ck_assert_int_eq(rt_pool_default_threads(), cores);
	set_env(saved);
	free(saved);
}
END_TEST

/* ---- ftc_rt_alloc ---- */

START_TEST(alloc_basics)
{
	static const int64_t sizes[] = {0, 1, 63, 64, 65, 4096, 1 << 20};
	unsigned char *p;
	int k;
	int64_t i;

	for (k = 0; k < N_OF(sizes); k++) {
		p = ftc_rt_alloc(sizes[k]);
		ck_assert_ptr_nonnull(p);
		ck_assert_int_eq((uintptr_t)p % 64, 0);
		for (i = 0; i < sizes[k] && p[i] == 0; i++)
			;
		ck_assert_int_eq(i, sizes[k]); /* zeroed */
		memset(p, 0xab, (size_t)sizes[k]);
		ftc_rt_free(p);
	}
	ck_assert_ptr_null(ftc_rt_alloc(-1));
	ck_assert_ptr_null(ftc_rt_alloc(INT64_MAX));
	ck_assert_ptr_null(ftc_rt_alloc(PTRDIFF_MAX));
	ftc_rt_free(NULL);
}
END_TEST

/* ---- rt_bench ---- */

static const struct stats_case {
	double in[6];
	int n;
	double median, min, max, mean, spread;
} stats_table[] = {
    {{1, 2, 3, 4}, 4, 2.5, 1, 4, 2.5, (3.25 - 1.75) / 2.5},
    {{4, 3, 2, 1}, 4, 2.5, 1, 4, 2.5, (3.25 - 1.75) / 2.5},
    {{5}, 1, 5, 5, 5, 5, 0},
    {{3, 1, 2}, 3, 2, 1, 3, 2, 0.5},
    {{2, 2, 2, 9, 2}, 5, 2, 2, 9, 3.4, 0},
    {{0, 0}, 2, 0, 0, 0, 0, 0},
};

START_TEST(bench_stats)
{
	const struct stats_case *t = &stats_table[_i];
	double s[6];
	rt_timing r;

	memcpy(s, t->in, sizeof(s));
	rt_timing_from_samples(s, t->n, &r);
	ck_assert_int_eq(r.runs, t->n);
	ck_assert_double_eq_tol(r.median, t->median, 1e-12);
	ck_assert_double_eq_tol(r.min, t->min, 1e-12);
	ck_assert_double_eq_tol(r.max, t->max, 1e-12);
	ck_assert_double_eq_tol(r.mean, t->mean, 1e-12);
	ck_assert_double_eq_tol(r.spread, t->spread, 1e-12);
}
END_TEST

static int busy_1ms(void *ctx)
{
	double end = rt_now() + 1e-3;

	(void)ctx;
	while (rt_now() < end)
		;
	return 0;
}

START_TEST(bench_busy_wait)
{
	rt_bench_opts o;
	rt_timing t;
	rt_error err;

	rt_error_clear(&err);
	rt_bench_opts_default(&o);
	ck_assert_int_eq(o.warmup, 1);
	ck_assert_int_eq(o.min_runs, 3);
	ck_assert_int_eq(o.max_runs, 1000);
	ck_assert_double_eq(o.min_time, 0.2);
	ck_assert(!o.flush_cache);
	ck_assert_msg(rt_bench(busy_1ms, NULL, &o, &t, &err) == 0, "%s", err.msg);
	ck_assert_int_ge(t.runs, o.min_runs);
	ck_assert_int_le(t.runs, o.max_runs);
	ck_assert_msg(t.median >= 0.8e-3 && t.median <= 5e-3, "median %g s", t.median);
	ck_assert(t.min <= t.median && t.median <= t.max);
	ck_assert(t.min <= t.mean && t.mean <= t.max);
	ck_assert_double_ge(t.spread, 0);
	/* NULL options mean the defaults */
	ck_assert_int_eq(rt_bench(busy_1ms, NULL, NULL, &t, NULL), 0);
	ck_assert_int_ge(t.runs, 3);
}
END_TEST

typedef struct counter {
	int calls;
	int fail_at; /* return 7 on this call (1-based); 0: never */
} counter;

static int count_calls(void *ctx)
{
	counter *c = ctx;

	return ++c->calls == c->fail_at ? 7 : 0;
}

START_TEST(bench_run_limits)
{
	counter c = {0, 0};
	rt_bench_opts o;
	rt_timing t;

	rt_bench_opts_default(&o);
	o.warmup = 2;
	o.min_runs = 3;
	o.max_runs = 5;
	o.min_time = 100; /* max_runs ends it */
	ck_assert_int_eq(rt_bench(count_calls, &c, &o, &t, NULL), 0);
	ck_assert_int_eq(t.runs, 5);
	ck_assert_int_eq(c.calls, 7);
	c.calls = 0;
	o.warmup = 0;
	o.min_time = 0; /* min_runs ends it */
	ck_assert_int_eq(rt_bench(count_calls, &c, &o, &t, NULL), 0);
	ck_assert_int_eq(t.runs, 3);
	ck_assert_int_eq(c.calls, 3);
	c.calls = 0;
	o.min_runs = o.max_runs = 2;
	o.flush_cache = true;
	ck_assert_int_eq(rt_bench(count_calls, &c, &o, &t, NULL), 0);
	ck_assert_int_eq(t.runs, 2);
}
END_TEST

START_TEST(bench_errors)
{
	static const struct {
		int warmup, min_runs, max_runs, fail_at;
		double min_time;
		const char *msg;
	} table[] = {
	    {1, 3, 10, 3, 0, "status 7 on timed run 2"},
	    {2, 3, 10, 2, 0, "status 7 on warmup run 2"},
	    {-1, 3, 10, 0, 0, "warmup runs must be >= 0"},
	    {1, 0, 10, 0, 0, "min_runs must be >= 1"},
	    {1, 5, 4, 0, 0, "max_runs (4) must be >= min_runs (5)"},
	    {1, 1, 4, 0, -1, "min_time must be >= 0"},
	};
	rt_bench_opts o;
	rt_timing t;
	rt_error err;
	int k;

	for (k = 0; k < N_OF(table); k++) {
		counter c = {0, table[k].fail_at};

		rt_bench_opts_default(&o);
		o.warmup = table[k].warmup;
		o.min_runs = table[k].min_runs;
		o.max_runs = table[k].max_runs;
		o.min_time = table[k].min_time;
		rt_error_clear(&err);
		ck_assert_int_eq(rt_bench(count_calls, &c, &o, &t, &err), -1);
		ck_assert(err.set);
		ck_assert_msg(strstr(err.msg, table[k].msg) != NULL, "case %d: '%s'", k, err.msg);
		/* a failing function is not called again */
		if (table[k].fail_at)
			ck_assert_int_eq(c.calls, table[k].fail_at);
	}
}
END_TEST

/* ---- rt_isolate ---- */

static int child_return(void *ctx, void *shm, size_t size)
{
	(void)shm;
	(void)size;
	return *(int *)ctx;
}

static int child_fill(void *ctx, void *shm, size_t size)
{
	unsigned char *p = shm;
	size_t i;

	(void)ctx;
	for (i = 0; i < size; i++)
		if (p[i] != 0)
			return 1;
	for (i = 0; i < size; i++)
		p[i] = (unsigned char)(i * 7 + 1);
	return 0;
}

static int child_raise_segv(void *ctx, void *shm, size_t size)
{
	(void)ctx;
	(void)shm;
	(void)size;
	raise(SIGSEGV);
	return 0;
}

static int child_abort(void *ctx, void *shm, size_t size)
{
	(void)ctx;
	(void)shm;
	(void)size;
	abort();
}

static int *volatile null_ptr;

/* UBSan would report the write before the crash: noise here. */
__attribute__((no_sanitize("undefined"))) static int child_null_write(void *ctx, void *shm,
								      size_t size)
{
	(void)ctx;
	(void)shm;
	(void)size;
	*null_ptr = 42;
	return 0;
}

static int child_spin(void *ctx, void *shm, size_t size)
{
	volatile int forever = 1;

	(void)ctx;
	(void)shm;
	(void)size;
	while (forever)
		;
	return 0;
}

START_TEST(isolate_ok_and_shm)
{
	rt_isolate_result res;
	unsigned char *p;
	size_t i, size = 3 * 4096 + 5;

	ck_assert_int_eq(rt_isolate_run(child_fill, NULL, size, 10, &res), 0);
	ck_assert_int_eq(res.status, RT_ISO_OK);
	ck_assert_str_eq(res.reason, "");
	ck_assert_ptr_nonnull(res.shm);
	ck_assert_uint_eq(res.shm_size, size);
	ck_assert_double_ge(res.seconds, 0);
	p = res.shm;
	for (i = 0; i < size && p[i] == (unsigned char)(i * 7 + 1); i++)
		;
	ck_assert_uint_eq(i, size);
	rt_isolate_result_release(&res);
	ck_assert_ptr_null(res.shm);
	rt_isolate_result_release(&res); /* twice is fine */
}
END_TEST

START_TEST(isolate_no_shm)
{
	rt_isolate_result res;
	int zero = 0;

	ck_assert_int_eq(rt_isolate_run(child_return, &zero, 0, 0, &res), 0);
	ck_assert_int_eq(res.status, RT_ISO_OK);
	ck_assert_ptr_null(res.shm);
	rt_isolate_result_release(&res);
}
END_TEST

/* clang-format off */
static const struct {
	int ret, code;
	const char *reason;
} exit_table[] = {
	{3, 3, "exited with status 3"},
	{1, 1, "exited with status 1"},
	{125, 125, "exited with status 125"},
	{-1, 125, "exited with status 125"},
	{200, 125, "exited with status 125"},
};
/* clang-format on */

START_TEST(isolate_exit_status)
{
	rt_isolate_result res;
	int ret = exit_table[_i].ret;

	ck_assert_int_eq(rt_isolate_run(child_return, &ret, 16, 10, &res), -1);
	ck_assert_int_eq(res.status, RT_ISO_EXIT);
	ck_assert_int_eq(res.code, exit_table[_i].code);
	ck_assert_str_eq(res.reason, exit_table[_i].reason);
	ck_assert_ptr_nonnull(res.shm); /* still readable after a failure */
	rt_isolate_result_release(&res);
}
END_TEST

START_TEST(isolate_crash_signal)
{
	rt_isolate_result res;

	ck_assert_int_eq(rt_isolate_run(child_raise_segv, NULL, 0, 10, &res), -1);
	ck_assert_msg(res.status == RT_ISO_SIGNAL, "status %d: %s", res.status, res.reason);
	ck_assert_int_eq(res.code, SIGSEGV);
	ck_assert_str_eq(res.reason, "killed by signal 11 (Segmentation fault)");
	rt_isolate_result_release(&res);
	ck_assert_int_eq(rt_isolate_run(child_abort, NULL, 0, 10, &res), -1);
	ck_assert_int_eq(res.status, RT_ISO_SIGNAL);
	ck_assert_int_eq(res.code, SIGABRT);
	rt_isolate_result_release(&res);
}
END_TEST

/* Under AddressSanitizer the child reports the bad write and exits with a
 * non-zero status instead of dying of SIGSEGV: both are a crash. */
START_TEST(isolate_null_write)
{
	rt_isolate_result res;

	ck_assert_int_eq(rt_isolate_run(child_null_write, NULL, 0, 10, &res), -1);
	ck_assert_msg(res.status == RT_ISO_SIGNAL || res.status == RT_ISO_EXIT, "status %d: %s",
		      res.status, res.reason);
	rt_isolate_result_release(&res);
}
END_TEST

START_TEST(isolate_timeout)
{
	rt_isolate_result res;

	ck_assert_int_eq(rt_isolate_run(child_spin, NULL, 64, 0.3, &res), -1);
	ck_assert_int_eq(res.status, RT_ISO_TIMEOUT);
	ck_assert_str_eq(res.reason, "timed out after 0.3 s");
	ck_assert_double_ge(res.seconds, 0.3);
	rt_isolate_result_release(&res);
}
END_TEST

START_TEST(isolate_mmap_fails)
{
	rt_isolate_result res;

	ck_assert_int_eq(rt_isolate_run(child_fill, NULL, SIZE_MAX / 2, 10, &res), -1);
	ck_assert_int_eq(res.status, RT_ISO_ERROR);
	ck_assert_msg(strstr(res.reason, "mmap") != NULL, "%s", res.reason);
	ck_assert_ptr_null(res.shm);
	rt_isolate_result_release(&res);
}
END_TEST

/* After crashes and a timeout the parent works as before. */
START_TEST(isolate_parent_survives)
{
	rt_isolate_result res;
	int zero = 0;
	cover c;

	cover_init(&c, 4096);
	ftc_rt_parallel_for(c.n, cover_body, &c, 0);
	rt_isolate_run(child_raise_segv, NULL, 8, 10, &res);
	rt_isolate_result_release(&res);
	rt_isolate_run(child_null_write, NULL, 8, 10, &res);
	rt_isolate_result_release(&res);
	rt_isolate_run(child_spin, NULL, 8, 0.05, &res);
	ck_assert_int_eq(res.status, RT_ISO_TIMEOUT);
	rt_isolate_result_release(&res);
	ck_assert_int_eq(rt_isolate_run(child_return, &zero, 8, 10, &res), 0);
	rt_isolate_result_release(&res);
	ftc_rt_parallel_for(c.n, cover_body, &c, 0);
	cover_check(&c, 2);
	free(c.count);
}
END_TEST

static Suite *runtime_suite(void)
{
	Suite *s = suite_create("runtime");
	TCase *tp = tcase_create("parallel_for");
	TCase *tq = tcase_create("pool");
	TCase *ta = tcase_create("alloc");
	TCase *tb = tcase_create("bench");
	TCase *ti = tcase_create("isolate");

	tcase_add_loop_test(tp, parallel_for_covers, 0, N_OF(pf_sizes) * N_OF(pf_threads));
	tcase_add_test(tp, parallel_for_negative_n);
	tcase_add_test(tp, parallel_for_nested);
	tcase_add_test(tp, parallel_for_concurrent_callers);
	tcase_add_test(tp, parallel_for_after_fork);
	tcase_add_test(tp, parallel_for_after_raw_fork);
	tcase_add_loop_test(tq, pool_covers, 0, N_OF(pool_sizes) * N_OF(pool_chunks));
	tcase_add_test(tq, pool_many_runs);
	tcase_add_test(tq, pool_in_forked_child);
	tcase_add_test(tq, pool_default_threads);
	tcase_add_test(ta, alloc_basics);
	tcase_add_loop_test(tb, bench_stats, 0, N_OF(stats_table));
	tcase_add_test(tb, bench_busy_wait);
	tcase_add_test(tb, bench_run_limits);
	tcase_add_test(tb, bench_errors);
	tcase_add_test(ti, isolate_ok_and_shm);
	tcase_add_test(ti, isolate_no_shm);
	tcase_add_loop_test(ti, isolate_exit_status, 0, N_OF(exit_table));
	tcase_add_test(ti, isolate_crash_signal);
	tcase_add_test(ti, isolate_null_write);
	tcase_add_test(ti, isolate_timeout);
	tcase_add_test(ti, isolate_mmap_fails);
	tcase_add_test(ti, isolate_parent_survives);
	/* generous: sanitizers and valgrind slow the pool tests down a lot */
	tcase_set_timeout(tp, 120);
	tcase_set_timeout(tq, 120);
	tcase_set_timeout(ta, 120);
	tcase_set_timeout(tb, 120);
	tcase_set_timeout(ti, 120);
	suite_add_tcase(s, tp);
	suite_add_tcase(s, tq);
	suite_add_tcase(s, ta);
	suite_add_tcase(s, tb);
	suite_add_tcase(s, ti);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(runtime_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
