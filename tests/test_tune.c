/*
 * Tests of search/srch_tune: a real tune of a small GEMM improves on the
 * naive schedule and its best is verified; a faulty target is survived;
 * constructed starting points (srch_seed) lower, verify and beat the naive
 * schedule; cut-off records are lower bounds; the naive schedule is
 * re-measured beside the best; an interrupt stops the search; a child
 * killed from outside is a transient failure.  The one loop's rules with
 * a measurer made here: a new best is checked before it counts; a tune of
 * every target kind stores its records in the tuning db and a second one
 * measures nothing; a db of the first schema still serves a tune; a chain
 * of 12 matmuls tunes, and a space past SRCH_MAX_SLOTS is refused.  A
 * sum to a scalar tunes to an rfactor point.
 */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sched_gen.h"
#include "srch_seed.h"
#include "srch_db.h"
#include "srch_measurer.h"
#include "tdb.h"
#include "tdb_priv.h"
#include "srch_tune.h"

static te_graph *gemm(isl_ctx *ctx, int n)
{
	char src[256];
	rt_error err;
	te_graph *g;

	snprintf(src, sizeof(src),
		 "param M = %d, N = %d, K = %d\ninput A[M, K] f32\ninput B[K, N] f32\n"
		 "C[i < M, j < N] = sum(k < K) A[i, k] * B[k, j]\n", n, n, n);
	rt_error_clear(&err);
	g = te_parse(src, NULL, 0, &err);
	ck_assert_msg(g != NULL, "%s", err.msg);
	(void)ctx;
	return g;
}

START_TEST(tune_small_gemm_beats_naive)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = gemm(ctx, 128);
	srch_tune_opts o;
	srch_result r;
	cg_target t;
	rt_error err;

	rt_error_clear(&err);
	ck_assert_int_eq(cg_target_host(&t, &err), 0);
	srch_tune_opts_default(&o);
	o.trials = 40;
	o.min_time = 0.02;
	o.seed = 3;
	ck_assert_msg(srch_tune(g, ctx, &t, &o, &r, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(r.nrecords, 40);
	ck_assert_int_ge(r.best, 0);
	ck_assert(isfinite(r.naive_seconds));
	ck_assert(r.records[r.best].verified);
	ck_assert_msg(r.records[r.best].seconds < r.naive_seconds, "best %g s, naive %g s",
		      r.records[r.best].seconds, r.naive_seconds);
	for (int i = 0; i < r.nrecords; i++)
		ck_assert_msg(r.records[i].status == SRCH_OK || r.records[i].reason[0],
			      "failure %d has no reason", i);
	srch_result_release(&r);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/* Every candidate crashes (test-only fault hook): each trial is recorded as
 * a failure with a reason, and the loop ends normally. */
START_TEST(crashing_candidates_are_failures)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = gemm(ctx, 16);
	srch_tune_opts o;
	srch_result r;
	cg_target t;
	rt_error err;

	rt_error_clear(&err);
	cg_target_host(&t, &err);
	t.fault = 1;
	srch_tune_opts_default(&o);
	o.trials = 5;
	o.min_time = 0.01;
	ck_assert_int_eq(srch_tune(g, ctx, &t, &o, &r, &err), 0);
	ck_assert_int_eq(r.nrecords, 5);
	ck_assert_int_eq(r.best, -1);
	for (int i = 0; i < r.nrecords; i++) {
		ck_assert_int_ne(r.records[i].status, SRCH_OK);
		ck_assert_msg(r.records[i].reason[0], "no reason");
	}
	srch_result_release(&r);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/* The machine of the host target. */
static void host_machine(cg_target *t, srch_machine *m)
{
	rt_error err;

	rt_error_clear(&err);
	ck_assert_int_eq(cg_target_host(t, &err), 0);
	t->threads = 1;
	srch_machine_of(t, NULL, m);
}

/* Cache sizes come from the cache directory; missing ones keep the
 * defaults; the vector registers from the features. */
START_TEST(machine_facts)
{
	char dir[] = "/tmp/ftc-test-cacheXXXXXX", path[256];
	static const char *const files[][2] = {
		{"index0/level", "1"}, {"index0/type", "Data"},	   {"index0/size", "48K"},
		{"index1/level", "1"}, {"index1/type", "Instruction"}, {"index1/size", "32K"},
		{"index2/level", "2"}, {"index2/type", "Unified"},	   {"index2/size", "2048K"},
	};
	srch_machine m;
	cg_target t;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/index%d", dir, i);
		ck_assert_int_eq(mkdir(path, 0700), 0);
	}
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		FILE *f;

		snprintf(path, sizeof(path), "%s/%s", dir, files[i][0]);
		ck_assert_ptr_nonnull(f = fopen(path, "w"));
		fprintf(f, "%s\n", files[i][1]);
		fclose(f);
	}
	memset(&t, 0, sizeof(t));
	snprintf(t.features, sizeof(t.features), "+avx2,+avx512f,+fma");
	t.vector_bits = 512;
	t.threads = 3;
	srch_machine_of(&t, dir, &m);
	ck_assert_int_eq(m.l1, 48 << 10);
	ck_assert_int_eq(m.l2, 2048 << 10);
	ck_assert_int_eq(m.l3, 32 << 20); /* no index3: the default */
	ck_assert_int_eq(m.vregs, 32);
	ck_assert_int_eq(m.vector_bits, 512);
	ck_assert_int_eq(m.threads, 3);
	snprintf(t.features, sizeof(t.features), "+avx2,+avx512fp16x");
	srch_machine_of(&t, "/nonexistent", &m);
	ck_assert_int_eq(m.vregs, 16);
	ck_assert_int_eq(m.l2, 1 << 20);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i][0]);
		unlink(path);
	}
	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/index%d", dir, i);
		rmdir(path);
	}
	rmdir(dir);
}
END_TEST

/* Every constructed point of every example (small shapes) is a distinct
 * valid point whose schedule lowers, compiles and matches the reference. */
START_TEST(seeds_of_every_example_verify)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = small_example(examples[_i], ctx);
	srch_space *sp = malloc(sizeof(*sp));
	srch_point pts[SRCH_SEED_MAX];
	srch_measurer *m;
	srch_machine mach;
	cg_target t;
	rt_error err;
	int n;

	ck_assert_ptr_nonnull(sp);
	host_machine(&t, &mach);
	rt_error_clear(&err);
	ck_assert_msg(srch_space_init(sp, g, CG_TARGET_CPU, &err) == 0, "%s", err.msg);
	n = srch_seed_points(sp, &mach, pts, SRCH_SEED_MAX);
	ck_assert_int_ge(n, 1);
	ck_assert_ptr_nonnull(m = srch_measurer_new(g, ctx, &t, 0, &err));
	for (int i = 0; i < n; i++) {
		char *text = srch_point_schedule(sp, &pts[i]);
		srch_record r;

		ck_assert(srch_point_valid(sp, &pts[i]));
		for (int j = 0; j < i; j++)
			ck_assert(!srch_point_equal(sp, &pts[i], &pts[j]));
		ck_assert_ptr_nonnull(text);
		memset(&r, 0, sizeof(r));
		ck_assert_int_eq(srch_measurer_run(m, ctx, text, true, 120, 0.001, &r), 0);
		ck_assert_msg(r.status == SRCH_OK && r.verified, "%s seed %d: %s\n%s", examples[_i], i, r.reason, text);
		free(r.schedule);
		free(text);
	}
	srch_measurer_free(m);
	srch_space_release(sp);
	free(sp);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/* GEMM 256^3: the best constructed point beats the naive schedule by a
 * large factor (measured side by side in this process's children). */
START_TEST(seeds_beat_naive_on_gemm)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = gemm(ctx, 256);
	srch_space *sp = malloc(sizeof(*sp));
	srch_point pts[SRCH_SEED_MAX];
	srch_measurer *m;
	srch_machine mach;
	srch_record r;
	cg_target t;
	rt_error err;
	double naive, best = INFINITY;
	int n;

	ck_assert_ptr_nonnull(sp);
	host_machine(&t, &mach);
	rt_error_clear(&err);
	ck_assert_int_eq(srch_space_init(sp, g, CG_TARGET_CPU, &err), 0);
	n = srch_seed_points(sp, &mach, pts, SRCH_SEED_MAX);
	ck_assert_int_ge(n, 4);
	ck_assert_ptr_nonnull(m = srch_measurer_new(g, ctx, &t, 0, &err));
	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(srch_measurer_run(m, ctx, "", true, 120, 0.05, &r), 0);
	ck_assert_int_eq(r.status, SRCH_OK);
	naive = r.seconds;
	free(r.schedule);
	for (int i = 0; i < n; i++) {
		char *text = srch_point_schedule(sp, &pts[i]);

		ck_assert_int_eq(srch_measurer_run(m, ctx, text, true, 120, 0.05, &r), 0);
		ck_assert_msg(r.status == SRCH_OK && r.verified, "seed %d: %s", i, r.reason);
		best = r.seconds < best ? r.seconds : best;
		free(r.schedule);
		free(text);
	}
	printf("gemm 256^3: naive %.3f ms, best of %d constructed points %.3f ms (%.1fx)\n", naive * 1e3, n,
	       best * 1e3, naive / best);
	ck_assert_msg(naive / best >= 4, "naive %g s, best constructed %g s", naive, best);
	srch_measurer_free(m);
	srch_space_release(sp);
	free(sp);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/* A tune of a sum to a scalar measures the constructed rfactor points
 * (the space's RF knob) and picks one: a serial f32 sum cannot vectorize,
 * so the 16-lane partial sums of RF win by far. */
START_TEST(a_sum_tunes_to_an_rfactor_point)
{
	isl_ctx *ctx = new_ctx();
	srch_tune_opts o;
	srch_result r;
	cg_target t;
	rt_error err;
	te_graph *g;
	int rf = 0;

	rt_error_clear(&err);
	g = te_parse("input A[512, 512] f32\ns = sum(i < 512, j < 512) A[i, j]\n", NULL, 0, &err);
	ck_assert_msg(g != NULL, "%s", err.msg);
	ck_assert_int_eq(cg_target_host(&t, &err), 0);
	srch_tune_opts_default(&o);
	o.trials = 8;
	o.min_time = 0.02;
	o.seed = 5;
	ck_assert_msg(srch_tune(g, ctx, &t, &o, &r, &err) == 0, "%s", err.msg);
	for (int i = 0; i < r.nrecords; i++)
		rf += r.records[i].status == SRCH_OK && !srch_record_cut_off(&r.records[i]) &&
		      strstr(r.records[i].schedule, "rfactor") != NULL;
	ck_assert_int_ge(rf, 1);
	ck_assert_int_ge(r.best, 0);
	ck_assert(r.records[r.best].verified);
	ck_assert_msg(strstr(r.records[r.best].schedule, "rfactor"), "best %g s (naive %g s):\n%s",
		      r.records[r.best].seconds, r.naive_seconds, r.records[r.best].schedule);
	printf("sum 512^2: naive %.3f ms, best %.3f ms (%.1fx), %d rfactor points measured\n", r.naive_seconds * 1e3,
	       r.records[r.best].seconds * 1e3, r.naive_seconds / r.records[r.best].seconds, rf);
	srch_result_release(&r);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/* The row sum of issue 15: a cut-off record is a lower bound (never the
 * best, runs 0); the final round re-measures the naive schedule beside the
 * best, so the tuned kernel is never slower than the naive one; the tune
 * reports where its time went. */
START_TEST(cutoffs_are_bounds_and_naive_is_remeasured)
{
	static const char src[] = "input A[256, 256] f32\ny[i < 256] = sum(j < 256) A[i, j]\n";
	isl_ctx *ctx = new_ctx();
	srch_tune_opts o;
	srch_result r;
	cg_target t;
	rt_error err;
	te_graph *g;
	int cut = 0;

	rt_error_clear(&err);
	ck_assert_ptr_nonnull(g = te_parse(src, NULL, 0, &err));
	ck_assert_int_eq(cg_target_host(&t, &err), 0);
	t.threads = 1;
	srch_tune_opts_default(&o);
	o.trials = 16;
	o.min_time = 0.01;
	o.cutoff_ratio = 1.05; /* many cut-offs */
	o.method = SRCH_RANDOM;
	ck_assert_msg(srch_tune(g, ctx, &t, &o, &r, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(r.nrecords, 16);
	ck_assert_int_ge(r.seeded, 1);
	ck_assert_int_ge(r.best, 0);
	ck_assert(r.remeasured);
	ck_assert_int_gt(r.records[r.best].runs, 0);
	ck_assert_msg(r.records[r.best].seconds <= r.naive_seconds, "best %g s, naive %g s (side by side)",
		      r.records[r.best].seconds, r.naive_seconds);
	for (int i = 0; i < r.nrecords; i++)
		if (srch_record_cut_off(&r.records[i])) {
			cut++;
			ck_assert_int_ne(i, r.best);
		}
	printf("row sum: %d of %d records cut off; trial median %.3f s; lower %.2f s, llvm %.2f s, "
	       "first calls %.3f s, timing %.2f s, process %.2f s\n",
	       cut, r.nrecords, r.times.trial_median, r.times.lower, r.times.llvm, r.times.first, r.times.timing,
	       r.times.process);
	ck_assert(r.times.trial_median > 0 && r.times.llvm > 0 && r.times.lower > 0 && r.times.setup > 0);
	srch_result_release(&r);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/* A record callback that raises the interrupt flag after 3 trials. */
typedef struct interrupter {
	volatile sig_atomic_t flag;
	int calls;
} interrupter;

static int interrupt_after_3(void *user, srch_record *r)
{
	interrupter *in = user;

	(void)r;
	if (++in->calls == 3)
		in->flag = 1;
	return 0;
}

/* An interrupt stops the search after the current trial, without the
 * final re-measure, and says so. */
START_TEST(interrupt_stops_the_search)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = gemm(ctx, 32);
	interrupter in = {0, 0};
	srch_tune_opts o;
	srch_result r;
	cg_target t;
	rt_error err;

	rt_error_clear(&err);
	ck_assert_int_eq(cg_target_host(&t, &err), 0);
	srch_tune_opts_default(&o);
	o.trials = 20;
	o.min_time = 0.001;
	o.record = interrupt_after_3;
	o.record_user = &in;
	o.interrupt = &in.flag;
	ck_assert_int_eq(srch_tune(g, ctx, &t, &o, &r, &err), 0);
	ck_assert(r.interrupted);
	ck_assert_int_eq(r.nrecords, 3);
	ck_assert(!r.remeasured);
	ck_assert_str_eq(r.stop_reason, "interrupt");
	srch_result_release(&r);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/* A process that SIGKILLs every other child of `parent` until it is
 * killed itself: the OOM killer, as the tuner sees it. */
static void kill_siblings(pid_t parent)
{
	pid_t me = getpid();

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	for (;;) {
		DIR *d = opendir("/proc");
		struct dirent *e;

		while (d && (e = readdir(d))) {
			char path[300], buf[512], *p;
			FILE *f;
			int ppid;

			if (e->d_name[0] < '0' || e->d_name[0] > '9' || atoi(e->d_name) == me)
				continue;
			snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
			if (!(f = fopen(path, "r")))
				continue;
			p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
			fclose(f);
			if (p && sscanf(p + 2, "%*c %d", &ppid) == 1 && ppid == parent)
				kill(atoi(e->d_name), SIGKILL);
		}
		if (d)
			closedir(d);
		usleep(20000);
	}
}

static int count_records(void *user, srch_record *r)
{
	(void)r;
	++*(int *)user;
	return 0;
}

/* Children killed from outside (twice each: the retry) are transient
 * failures, never given to the record callback (the db). */
START_TEST(killed_children_are_transient)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = gemm(ctx, 16);
	pid_t parent = getpid(), killer;
	srch_tune_opts o;
	srch_result r;
	cg_target t;
	rt_error err;
	int stored = 0;

	rt_error_clear(&err);
	ck_assert_int_eq(cg_target_host(&t, &err), 0);
	t.fault = 2; /* kernels never return: the killer gets them first */
	srch_tune_opts_default(&o);
	o.trials = 2;
	o.timeout = 60;
	o.seed_points = 0;
	o.record = count_records;
	o.record_user = &stored;
	ck_assert_int_ge(killer = fork(), 0);
	if (killer == 0) {
		kill_siblings(parent);
		_exit(0);
	}
	ck_assert_int_eq(srch_tune(g, ctx, &t, &o, &r, &err), 0);
	kill(killer, SIGKILL);
	waitpid(killer, NULL, 0);
	ck_assert_int_eq(r.nrecords, 2);
	for (int i = 0; i < r.nrecords; i++) {
		ck_assert_int_eq(r.records[i].status, SRCH_FAILED);
		ck_assert(r.records[i].transient);
		ck_assert_msg(strstr(r.records[i].reason, "killed from outside"), "%s", r.records[i].reason);
	}
	ck_assert_int_eq(stored, 0);
	srch_result_release(&r);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/* ---- the loop's rules, with a measurer made here ---- */

/* A fake measurer: each schedule's time from a hash of its text; when
 * asked to check (verify, or faster than verify_below) it says wrong for
 * every third hash, and checked for the rest, unless `never_checks`. */
typedef struct fake {
	bool never_checks;
	int checks;
} fake;

static uint64_t text_hash(const char *s)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * UINT64_C(0x100000001b3);
	return h;
}

static int fake_measure(srch_measurer *m, isl_ctx *ctx, const char *schedule, const srch_how *how, srch_record *r)
{
	fake *f = m->state;
	uint64_t h = text_hash(schedule);

	(void)ctx;
	ck_assert_ptr_nonnull(r->schedule = strdup(schedule));
	r->status = SRCH_OK;
	r->seconds = 1e-3 * (1 + (double)(h % 1000));
	r->runs = 3;
	r->gflops = te_graph_flops(m->g) * 1e-9 / r->seconds;
	r->verified = false;
	if (how->verify || r->seconds < how->verify_below) {
		f->checks++;
		if (f->never_checks)
			return 0;
		if (h % 3 == 0) {
			r->status = SRCH_WRONG;
			r->seconds = INFINITY;
			r->gflops = 0;
			snprintf(r->reason, sizeof(r->reason), "wrong result (fake)");
			return 0;
		}
		r->verified = true;
	}
	return 0;
}

static const srch_measurer_ops fake_ops = {.measure = fake_measure};

static void fake_tune(const te_graph *g, isl_ctx *ctx, fake *f, int trials, srch_result *r)
{
	srch_measurer m;
	srch_tune_opts o;
	rt_error err;

	memset(&m, 0, sizeof(m));
	m.ops = &fake_ops;
	m.g = g;
	m.state = f;
	m.verifies = true;
	m.naive = "";
	snprintf(m.name, sizeof(m.name), "fake");
	rt_error_clear(&err);
	ck_assert_int_eq(cg_target_host(&m.t, &err), 0);
	srch_tune_opts_default(&o);
	o.trials = trials;
	o.patience = 0;
	o.method = SRCH_RANDOM;
	ck_assert_msg(srch_tune_with(&m, ctx, &o, r, &err) == 0, "%s", err.msg);
}

/* Every record that was the fastest so far when measured was checked, and
 * only checked records are ever the best; a measurer that never manages
 * to check leaves no best at all. */
START_TEST(a_new_best_is_checked_first)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = gemm(ctx, 64);
	fake f = {false, 0};
	srch_result r;
	double best = INFINITY;

	fake_tune(g, ctx, &f, 40, &r);
	ck_assert_int_eq(r.nrecords, 40);
	ck_assert_int_ge(r.best, 0);
	ck_assert(r.records[r.best].verified);
	for (int i = 0; i < r.nrecords; i++) {
		const srch_record *x = &r.records[i];

		if (x->status == SRCH_OK && x->seconds < best) {
			ck_assert_msg(x->verified, "record %d (%g s) beat %g s unchecked", i, x->seconds, best);
			best = x->seconds;
		}
	}
	ck_assert(r.records[r.best].seconds == best || r.remeasured);
	ck_assert_int_ge(f.checks, 2);
	srch_result_release(&r);
	f.never_checks = true;
	fake_tune(g, ctx, &f, 10, &r);
	ck_assert_int_eq(r.best, -1);
	srch_result_release(&r);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/* A tune with the db of measurer m: its result, and how many it measured. */
static int db_tune(tdb *db, srch_measurer *m, isl_ctx *ctx, int trials)
{
	srch_db sd;
	srch_tune_opts o;
	srch_record *hist;
	srch_result r;
	rt_error err;
	int nhist, measured;

	rt_error_clear(&err);
	srch_tune_opts_default(&o);
	o.trials = trials;
	o.min_time = 0.001;
	o.seed = 7;
	ck_assert_msg(srch_db_init(&sd, db, m, "test", "sa-q", 7, &err) == 0, "%s", err.msg);
	ck_assert_msg(srch_db_history(&sd, ctx, &hist, &nhist, &o.history_best, &o.naive_seconds, &err) == 0, "%s",
		      err.msg);
	o.history = hist;
	o.nhistory = nhist;
	o.record = srch_db_record;
	o.record_user = &sd;
	ck_assert_msg(srch_tune_with(m, ctx, &o, &r, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(r.nrecords, trials);
	ck_assert_int_eq(r.nhistory, nhist);
	ck_assert_msg(srch_db_finish(&sd, &r, &err) == 0, "%s", err.msg);
	ck_assert_int_ge(r.best, 0);
	measured = r.measured;
	srch_result_release(&r);
	srch_records_free(hist, nhist);
	srch_db_release(&sd);
	return measured;
}

/* A fresh db path under /tmp; caller removes the directory. */
static char *fresh_db(char *dir)
{
	static char path[128];

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/t.db", dir);
	return path;
}

static void remove_db(const char *dir, const char *path)
{
	char p[160];

	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
	rmdir(dir);
}

/* Every target kind: the records go to the db under the measurer's key,
 * a second tune with the same budget measures nothing, and the db's best
 * is the schedule compile would use. */
START_TEST(every_target_remembers)
{
	static const char *const targets[] = {"cpu -threads=1", "cuda -arch=sm_80", "hls"};
	char dir[] = "/tmp/ftc-tune-dbXXXXXX", *path = fresh_db(dir), *best = NULL;
	isl_ctx *ctx = new_ctx();
	te_graph *g = gemm(ctx, 16);
	srch_measurer *m;
	cg_target t;
	tdb *db;
	srch_db sd;
	rt_error err;
	double gflops;

	rt_error_clear(&err);
	ck_assert_int_eq(cg_target_parse(targets[_i], &t, &err), 0);
	ck_assert_msg(m = srch_measurer_new(g, ctx, &t, SRCH_MEASURE_EMULATE, &err), "%s", err.msg);
	ck_assert_msg(tdb_open(path, &db, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(db_tune(db, m, ctx, 6), 6);
	ck_assert_int_eq(db_tune(db, m, ctx, 6), 0);
	ck_assert_int_eq(srch_db_init(&sd, db, m, "test", "compile", 0, &err), 0);
	ck_assert_int_eq(srch_db_best(&sd, ctx, &best, &gflops, &err), 1);
	ck_assert(gflops > 0);
	free(best);
	srch_db_release(&sd);
	tdb_close(db);
	srch_measurer_free(m);
	remove_db(dir, path);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/* A db of schema 1 holding a CPU tune as ftc wrote it before every target
 * had a key (the host's CPU name, features and cores): it is migrated,
 * and a tune with the same budget finds its records and measures nothing. */
START_TEST(an_old_cpu_db_still_serves)
{
	char dir[] = "/tmp/ftc-tune-oldXXXXXX", *path = fresh_db(dir), hash[17], ts[256], fp[17];
	isl_ctx *ctx = new_ctx();
	te_graph *g = gemm(ctx, 16);
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	tdb_workload w = {0};
	tdb_target tg = {0};
	srch_measurer *m;
	cg_target t;
	tdb *db;
	rt_error err;

	rt_error_clear(&err);
	ck_assert_int_eq(tdb_create_at_version(path, 1, &err), 0);
	ck_assert_msg(tdb_open(path, &db, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(tdb_schema_version(db), TDB_SCHEMA_VERSION);
	ck_assert_int_eq(cg_target_parse("cpu -threads=1", &t, &err), 0);
	te_graph_hash(g, hash);
	w.hash = hash;
	w.text = te_graph_print(g, false);
	w.flops = te_graph_flops(g);
	ck_assert_int_eq(tdb_workload_put(db, &w, &err), 0);
	free(w.text);
	cg_target_string(&t, ts, sizeof(ts));
	tdb_fingerprint(t.cpu, t.features, (int)(cores > 0 ? cores : 1), fp);
	tg.target = ts;
	tg.device = t.cpu;
	tg.features = t.features;
	tg.fingerprint = fp;
	ck_assert_int_eq(tdb_target_put(db, &tg, &err), 0);
	for (int i = 0; i < 4; i++) {
		tdb_record r;

		memset(&r, 0, sizeof(r));
		r.workload = w.id;
		r.target = tg.id;
		r.schedule = i == 0 ? "" : i == 1 ? "parallel C i\n" : i == 2 ? "vectorize C j\n" : "split C j 4\n";
		r.space_version = SRCH_SPACE_VERSION;
		r.compiler = "test";
		r.method = i == 0 ? "naive" : "sa-q";
		r.status = TDB_OK;
		r.reason = "";
		r.seconds = 1e-3 / (i + 1);
		r.runs = 3;
		r.gflops = w.flops * 1e-9 / r.seconds;
		r.verified = true;
		ck_assert_msg(tdb_record_add(db, &r, &err) == 0, "%s", err.msg);
	}
	ck_assert_ptr_nonnull(m = srch_measurer_new(g, ctx, &t, 0, &err));
	ck_assert_int_eq(db_tune(db, m, ctx, 4), 0);
	srch_measurer_free(m);
	tdb_close(db);
	remove_db(dir, path);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/* X[8, 16] through n layers of 16 x 16 weights, each a matmul. */
static te_graph *mlp(int n)
{
	size_t cap = 256 + (size_t)n * 160;
	char *src = malloc(cap), prev[16] = "X";
	size_t len = 0;
	rt_error err;
	te_graph *g;

	ck_assert_ptr_nonnull(src);
	len += (size_t)snprintf(src + len, cap - len, "input X[8, 16] f32\n");
	for (int i = 1; i <= n; i++)
		len += (size_t)snprintf(src + len, cap - len, "input W%d[16, 16] f32\n", i);
	for (int i = 1; i <= n; i++) {
		len += (size_t)snprintf(src + len, cap - len, "H%d[i < 8, j < 16] = sum(k < 16) %s[i, k] * W%d[k, j]\n",
					i, prev, i);
		snprintf(prev, sizeof(prev), "H%d", i);
	}
	rt_error_clear(&err);
	g = te_parse(src, NULL, 0, &err);
	ck_assert_msg(g != NULL, "%s", err.msg);
	free(src);
	return g;
}

/* A small MLP of 12 matmuls has more than the 64 knobs the space once
 * held: it tunes on the CPU, and its cuda and hls spaces build. */
START_TEST(a_chain_of_12_matmuls_tunes)
{
	static const cg_target_kind kinds[] = {CG_TARGET_CPU, CG_TARGET_CUDA, CG_TARGET_HLS};
	isl_ctx *ctx = new_ctx();
	te_graph *g = mlp(12);
	srch_space *sp = calloc(1, sizeof(*sp));
	srch_tune_opts o;
	srch_result r;
	cg_target t;
	rt_error err;

	rt_error_clear(&err);
	for (int k = 0; k < 3; k++) {
		ck_assert_msg(srch_space_init(sp, g, kinds[k], &err) == 0, "%s", err.msg);
		ck_assert_int_gt(sp->nknobs, 64);
		printf("12 matmuls, %s space: %d knobs, %d slots\n", cg_target_kind_name(kinds[k]), sp->nknobs,
		       sp->nslots);
		srch_space_release(sp);
	}
	free(sp);
	ck_assert_int_eq(cg_target_host(&t, &err), 0);
	t.threads = 1;
	srch_tune_opts_default(&o);
	o.trials = 6;
	o.min_time = 0.001;
	ck_assert_msg(srch_tune(g, ctx, &t, &o, &r, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(r.nrecords, 6);
	ck_assert_int_ge(r.best, 0);
	ck_assert(r.records[r.best].verified);
	srch_result_release(&r);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/* The chain just past SRCH_MAX_SLOTS is refused at the stage that
 * overflows; one matmul less fits. */
START_TEST(a_space_past_the_slots_is_refused)
{
	srch_space *sp = calloc(1, sizeof(*sp));
	int n, last = 0;
	te_graph *g = NULL;
	rt_error err;

	rt_error_clear(&err);
	/* Longer chains until the first whose slots pass the limit; the one
	 * before it fits. */
	for (n = 1; n < 1000; n++) {
		g = mlp(n);
		if (srch_space_init(sp, g, CG_TARGET_CPU, &err)) {
			srch_space_release(sp);
			break;
		}
		ck_assert_int_le(sp->nslots, SRCH_MAX_SLOTS);
		last = sp->nslots;
		srch_space_release(sp);
		te_graph_free(g);
		g = NULL;
	}
	ck_assert_ptr_nonnull(g);
	ck_assert_msg(strstr(err.msg, "SRCH_MAX_SLOTS (1024)") && err.msg[0] == 'H', "%s", err.msg);
	ck_assert_int_gt(last, SRCH_MAX_SLOTS - 64);
	printf("%d matmuls: %s (%d matmuls: %d slots)\n", n, err.msg, n - 1, last);
	free(sp);
	te_graph_free(g);
}
END_TEST

/*
 * test_tune [PART NPARTS]: the seeds of the examples with index % NPARTS
 * == PART (all by default), so that the suite can run them in parallel;
 * part 0 also runs the other tests.
 */
int main(int argc, char **argv)
{
	Suite *s = suite_create("tune");
	TCase *ex = tcase_create("examples");
	int part = argc > 2 ? atoi(argv[1]) : 0, nparts = argc > 2 ? atoi(argv[2]) : 1;
	SRunner *sr;
	int failed;

	if (nparts < 1 || part < 0 || part >= nparts) {
		fprintf(stderr, "usage: test_tune [PART NPARTS]\n");
		return EXIT_FAILURE;
	}
	tcase_set_timeout(ex, 600);
	if (part == 0) {
		TCase *tc = tcase_create("tune"), *loop = tcase_create("loop");

		tcase_set_timeout(tc, 600);
		tcase_add_test(tc, crashing_candidates_are_failures);
		tcase_add_test(tc, tune_small_gemm_beats_naive);
		tcase_add_test(tc, machine_facts);
		tcase_add_test(tc, seeds_beat_naive_on_gemm);
		tcase_add_test(tc, a_sum_tunes_to_an_rfactor_point);
		tcase_add_test(tc, cutoffs_are_bounds_and_naive_is_remeasured);
		tcase_add_test(tc, interrupt_stops_the_search);
		tcase_add_test(tc, killed_children_are_transient);
		suite_add_tcase(s, tc);
		/* The one loop's rules for every target (CK_RUN_CASE=loop runs them alone). */
		tcase_set_timeout(loop, 600);
		tcase_add_test(loop, a_new_best_is_checked_first);
		tcase_add_loop_test(loop, every_target_remembers, 0, 3);
		tcase_add_test(loop, an_old_cpu_db_still_serves);
		tcase_add_test(loop, a_chain_of_12_matmuls_tunes);
		tcase_add_test(loop, a_space_past_the_slots_is_refused);
		suite_add_tcase(s, loop);
	}
	for (int i = part; i < NEXAMPLES; i += nparts)
		tcase_add_loop_test(ex, seeds_of_every_example_verify, i, i + 1);
	suite_add_tcase(s, ex);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
