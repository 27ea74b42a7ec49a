/*
 * Tests of search/srch_model, the cost model that learns across tunes:
 * features of hand-checked schedules; a model trained on a synthetic set
 * ranks held-out schedules right; the same db and seed give the same
 * model; an empty or useless db gives no model and the tune runs without
 * it; a model that audits prove wrong stops skipping; a tune with a model
 * skips candidates and says how many.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sched_gen.h"
#include "srch_db.h"
#include "srch_model.h"
#include "srch_tune.h"
#include "te_parse.h"
#include "te_verify.h"

/* Feature numbers, as docs/model.md lists them. */
enum {
	F_FLOPS, F_INTENSITY, F_STAGES, F_L1, F_L2, F_L3, F_VEC, F_VEC_LANES, F_VEC_MULT, F_CONTIG, F_INVAR,
	F_INVAR_TILE, F_TILE_VREGS, F_TILE_FITS, F_UNROLL, F_PAR, F_PAR_THREAD, F_RED_DEPTH, F_RED_INNER, F_CW,
	F_CR, F_CR_L2, F_TAILS, F_DEPTH
};

/* AVX-512, 32 registers, 32 KiB / 1 MiB / 32 MiB, one thread. */
static const srch_machine machine = {512, 32, 32768, 1 << 20, 32 << 20, 1};

static te_graph *parse(const char *src)
{
	rt_error err;
	te_graph *g;

	rt_error_clear(&err);
	g = te_parse(src, NULL, 0, &err);
	ck_assert_msg(g != NULL, "%s", err.msg);
	return g;
}

static te_graph *gemm(int m, int n, int k)
{
	char src[256];

	snprintf(src, sizeof(src),
		 "input A[%d, %d] f32\ninput B[%d, %d] f32\nC[i < %d, j < %d] = sum(k < %d) A[i, k] * B[k, j]\n", m,
		 k, k, n, m, n, k);
	return parse(src);
}

static void features(const te_graph *g, const char *schedule, double *f)
{
	rt_error err;

	rt_error_clear(&err);
	ck_assert_msg(srch_model_features_text(g, schedule, &machine, f, &err) == 0, "%s", err.msg);
}

#define NEAR(a, b) ck_assert_msg(fabs((a) - (b)) < 1e-9, "%s = %.12g, want %.12g", #a, (double)(a), (double)(b))

/* GEMM 64^3, naive loops i j k: worked out by hand (docs/model.md). */
START_TEST(features_of_naive_gemm)
{
	te_graph *g = gemm(64, 64, 64);
	double f[SRCH_MODEL_NFEAT], flops = 64.0 * 64 * 64 * 2;

	features(g, "", f);
	NEAR(f[F_FLOPS], log2(flops) / 40);
	NEAR(f[F_INTENSITY], log2(flops / (3 * 64 * 64 * 4.0)) / 10);
	NEAR(f[F_STAGES], 0.25);
	/* all three tensors (48 KiB) miss L1; one row of C and A and all of B
	 * (16.5 KiB) fit, once per i */
	NEAR(f[F_L1], log2(64 * (256 + 256 + 16384.0) / flops) / 8);
	NEAR(f[F_L2], log2(49152 / flops) / 8);
	NEAR(f[F_L3], log2(49152 / flops) / 8);
	NEAR(f[F_VEC], 0);
	NEAR(f[F_VEC_MULT], 0);
	/* innermost k: A[i, k] contiguous, B[k, j] strided, C[i, j] invariant */
	NEAR(f[F_CONTIG], 1.0 / 3);
	NEAR(f[F_INVAR], 1.0 / 3);
	NEAR(f[F_INVAR_TILE], 1.0 / 3);
	/* no register tile: one scalar accumulator, 64 deep */
	NEAR(f[F_TILE_VREGS], log2(1.0 / 32) / 4);
	NEAR(f[F_TILE_FITS], 0);
	NEAR(f[F_RED_DEPTH], 6.0 / 16);
	NEAR(f[F_RED_INNER], 1);
	NEAR(f[F_UNROLL], 0);
	NEAR(f[F_PAR], 0);
	NEAR(f[F_CW], 0);
	NEAR(f[F_CR], 0);
	NEAR(f[F_TAILS], 0);
	NEAR(f[F_DEPTH], 3.0 / 12);
	te_graph_free(g);
}
END_TEST

/* examples/gemm.sched at 64^3: a 4 x 4-vector register tile over k. */
START_TEST(features_of_goto_gemm)
{
	te_graph *g = gemm(64, 64, 64);
	double f[SRCH_MODEL_NFEAT], flops = 64.0 * 64 * 64 * 2;

	features(g, "split C j 64\nsplit C i 4\nsplit C j.i 16\nreorder C j.o i.o k i.i j.i.o j.i.i\n"
		    "parallel C j.o\ncache_read B C j.o stack\ncache_write C i.o local\nunroll C i.i\n"
		    "vectorize C j.i.i\n", f);
	/* inside i.o: 4 rows of C and A (1 KiB each) and B (16 KiB), 16 times */
	NEAR(f[F_L1], log2(16 * (1024 + 1024 + 16384.0) / flops) / 8);
	NEAR(f[F_VEC], 1);
	NEAR(f[F_VEC_LANES], 0);
	NEAR(f[F_VEC_MULT], 1);
	/* innermost j.i.i: C and B (packed) contiguous, A invariant */
	NEAR(f[F_CONTIG], 2.0 / 3);
	NEAR(f[F_INVAR], 1.0 / 3);
	NEAR(f[F_INVAR_TILE], 1.0 / 3);
	/* 4 x 4 x 16 floats = 16 vectors of 32 registers, accumulated over k (64) */
	NEAR(f[F_TILE_VREGS], -0.25);
	NEAR(f[F_TILE_FITS], 1);
	NEAR(f[F_RED_DEPTH], 6.0 / 16);
	NEAR(f[F_RED_INNER], 0);
	NEAR(f[F_UNROLL], 2.0 / 8);
	NEAR(f[F_PAR], 1);
	NEAR(f[F_PAR_THREAD], 0);
	NEAR(f[F_CW], 1);
	NEAR(f[F_CR], 0.5);
	/* B's packed panel: 64 x 64 floats = 16 KiB = L2 / 64 */
	NEAR(f[F_CR_L2], -6.0 / 4);
	NEAR(f[F_DEPTH], 6.0 / 12);
	te_graph_free(g);
}
END_TEST

/* A split that does not divide makes tails; a schedule naming a loop that
 * does not exist is refused with the loop's name. */
START_TEST(features_tails_and_errors)
{
	te_graph *g = gemm(60, 64, 64);
	double f[SRCH_MODEL_NFEAT];
	rt_error err;

	features(g, "split C i 8\n", f);
	NEAR(f[F_TAILS], 2.0 / 4); /* i.o and i.i of 4 loops */
	rt_error_clear(&err);
	ck_assert_int_eq(srch_model_features_text(g, "split C q 8\n", &machine, f, &err), -1);
	ck_assert_msg(strstr(err.msg, "q") != NULL, "%s", err.msg);
	te_graph_free(g);
}
END_TEST

/* A stage with more loads than MAX_ACCESS (32) is analysed on its first
 * 31 loads and its store: 40 loads of A[i, k] and one of B[k, j] (the
 * last, left out) make the innermost k contiguous for all but the store. */
START_TEST(features_past_the_access_limit)
{
	char src[2048];
	int len = snprintf(src, sizeof(src), "input A[8, 8] f32\ninput B[8, 8] f32\nC[i < 8, j < 8] = sum(k < 8) (");
	te_graph *g;
	double f[SRCH_MODEL_NFEAT];

	for (int t = 0; t < 40; t++)
		len += snprintf(src + len, sizeof(src) - (size_t)len, "A[i, k] + ");
	snprintf(src + len, sizeof(src) - (size_t)len, "B[k, j])\n");
	g = parse(src);
	features(g, "", f);
	NEAR(f[F_CONTIG], 31.0 / 32);
	NEAR(f[F_INVAR], 1.0 / 32);
	te_graph_free(g);
}
END_TEST

/* Synthetic speed: vectorized, contiguous, register-tiled schedules fast. */
static double synthetic_gflops(const double *f, int group)
{
	return exp2(4 * f[F_VEC] + 2 * f[F_CONTIG] + 2 * f[F_TILE_FITS] + group);
}

/* Random schedules of g's space as samples of `group`, or into feats. */
static int random_samples(srch_model *md, const te_graph *g, int group, uint64_t seed, int n, double *feats)
{
	srch_space *sp = calloc(1, sizeof(*sp));
	rt_error err;
	int k = 0;

	rt_error_clear(&err);
	ck_assert_int_eq(srch_space_init(sp, g, CG_TARGET_CPU, &err), 0);
	for (int i = 0; i < n; i++) {
		srch_point p;
		char *text;
		double f[SRCH_MODEL_NFEAT];

		srch_point_random(sp, &seed, &p);
		text = srch_point_schedule(sp, &p);
		features(g, text, f);
		free(text);
		if (md)
			ck_assert_int_eq(srch_model_add(md, group, f, synthetic_gflops(f, group), false), 0);
		else
			memcpy(feats + (size_t)k * SRCH_MODEL_NFEAT, f, sizeof(f));
		k++;
	}
	srch_space_release(sp);
	free(sp);
	return k;
}

static srch_model *synthetic_model(uint64_t seed)
{
	srch_model *md = srch_model_new(&machine, seed);
	te_graph *g1 = gemm(32, 48, 40), *g2 = gemm(64, 64, 16);
	rt_error err;

	ck_assert_ptr_nonnull(md);
	random_samples(md, g1, 0, 11, 150, NULL);
	random_samples(md, g2, 1, 12, 150, NULL);
	rt_error_clear(&err);
	ck_assert_msg(srch_model_fit(md, 1500, &err) == 0, "%s", err.msg);
	te_graph_free(g1);
	te_graph_free(g2);
	return md;
}

/* Trained on two GEMM shapes, the model orders schedules of a third
 * workload (a transposed GEMM) as the synthetic speed does: nearly every
 * pair whose speeds differ by 2x or more is ordered right. */
START_TEST(model_ranks_synthetic_set)
{
	srch_model *md = synthetic_model(5);
	te_graph *g = parse("input A[40, 24] f32\ninput B[40, 56] f32\nC[i < 24, j < 56] = sum(k < 40) A[k, i] * B[k, j]\n");
	double *f = malloc(sizeof(double) * 80 * SRCH_MODEL_NFEAT), y[80], t[80];
	int n = random_samples(NULL, g, 0, 99, 80, f), pairs = 0, right = 0;

	for (int i = 0; i < n; i++) {
		y[i] = srch_model_predict(md, f + (size_t)i * SRCH_MODEL_NFEAT);
		t[i] = log2(synthetic_gflops(f + (size_t)i * SRCH_MODEL_NFEAT, 0));
	}
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++)
			if (t[i] >= t[j] + 1) {
				pairs++;
				right += y[i] > y[j];
			}
	ck_assert_int_gt(pairs, 100);
	ck_assert_msg(right >= 0.9 * pairs, "%d of %d pairs ordered right", right, pairs);
	free(f);
	te_graph_free(g);
	srch_model_free(md);
}
END_TEST

/* A test db at `path`: records of g (its random schedules, synthetic
 * speeds) on the host, stored as a tune stores them. */
static void fill_db(const char *path, const te_graph *g, int n, uint64_t seed, const char *junk)
{
	isl_ctx *ctx = new_ctx();
	srch_db sd;
	srch_measurer *m;
	tdb *db;
	cg_target t;
	rt_error err;

	rt_error_clear(&err);
	ck_assert_int_eq(cg_target_host(&t, &err), 0);
	ck_assert_msg(tdb_open(path, &db, &err) == 0, "%s", err.msg);
	ck_assert_ptr_nonnull(m = srch_measurer_new(g, ctx, &t, 0, &err));
	ck_assert_msg(srch_db_init(&sd, db, m, "test", "random", seed, &err) == 0, "%s", err.msg);
	for (int i = 0; i < n; i++) {
		srch_record r;
		srch_point p;
		double f[SRCH_MODEL_NFEAT];

		memset(&r, 0, sizeof(r));
		srch_point_random(&sd.space, &seed, &p);
		r.schedule = junk ? strdup(junk) : srch_point_schedule(&sd.space, &p);
		if (!junk)
			features(g, r.schedule, f);
		r.status = SRCH_OK;
		r.gflops = junk ? 1 : synthetic_gflops(f, 0);
		r.seconds = te_graph_flops(g) * 1e-9 / r.gflops;
		r.runs = 3;
		r.verified = true;
		ck_assert_int_eq(srch_db_record(&sd, &r), 0);
		free(r.schedule);
	}
	srch_db_release(&sd);
	srch_measurer_free(m);
	tdb_close(db);
	isl_ctx_free(ctx);
}

static char *temp_db(void)
{
	char *dir = strdup("/tmp/ftc-test-model-XXXXXX"), *path;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	path = malloc(strlen(dir) + 16);
	sprintf(path, "%s/tuning.db", dir);
	free(dir);
	return path;
}

static void remove_db(char *path)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%.*s'", (int)(strrchr(path, '/') - path), path);
	ck_assert_int_eq(system(cmd), 0);
	free(path);
}

static srch_model *model_of(const char *path, uint64_t seed, int *nused, rt_error *err)
{
	cg_target t;
	tdb *db;
	srch_model *md;
	int64_t target = 0;
	tdb_summary *s;
	int n;

	ck_assert_int_eq(cg_target_host(&t, err), 0);
	ck_assert_msg(tdb_open(path, &db, err) == 0, "%s", err->msg);
	ck_assert_int_ge(tdb_list(db, &s, &n, err), 0);
	if (n > 0)
		target = s[0].t.id;
	tdb_summaries_free(s, n);
	md = srch_model_from_db(db, target, &machine, seed, nused, err);
	tdb_close(db);
	return md;
}

/* The same db and seed give the same model, bit for bit; the model is
 * trained on every usable record. */
START_TEST(model_from_db_is_deterministic)
{
	char *path = temp_db();
	te_graph *g1 = gemm(32, 48, 40), *g2 = gemm(16, 64, 24), *g3 = gemm(24, 24, 24);
	double f[SRCH_MODEL_NFEAT * 20];
	srch_model *a, *b;
	rt_error err;
	int na, nb;

	fill_db(path, g1, 30, 1, NULL);
	fill_db(path, g2, 30, 2, NULL);
	rt_error_clear(&err);
	a = model_of(path, 7, &na, &err);
	ck_assert_msg(a != NULL, "%s", err.msg);
	b = model_of(path, 7, &nb, &err);
	ck_assert_msg(b != NULL, "%s", err.msg);
	ck_assert_int_eq(na, 60);
	ck_assert_int_eq(nb, 60);
	random_samples(NULL, g3, 0, 5, 20, f);
	for (int i = 0; i < 20; i++) {
		double ya = srch_model_predict(a, f + (size_t)i * SRCH_MODEL_NFEAT);
		double yb = srch_model_predict(b, f + (size_t)i * SRCH_MODEL_NFEAT);

		ck_assert_msg(ya == yb, "sample %d: %.17g vs %.17g", i, ya, yb);
	}
	srch_model_free(a);
	srch_model_free(b);
	te_graph_free(g1);
	te_graph_free(g2);
	te_graph_free(g3);
	remove_db(path);
}
END_TEST

/* No model from an empty db, nor from one whose records' schedules do not
 * apply to their workload; the tune runs without one. */
START_TEST(useless_db_gives_no_model)
{
	char *path = temp_db();
	te_graph *g = gemm(16, 16, 16);
	isl_ctx *ctx = new_ctx();
	srch_tune_opts o;
	srch_result r;
	srch_model *md;
	cg_target t;
	rt_error err;
	int n = -1;

	rt_error_clear(&err);
	fill_db(path, g, 0, 1, NULL);
	md = model_of(path, 1, &n, &err);
	ck_assert_ptr_null(md);
	ck_assert_msg(strstr(err.msg, "usable records") != NULL, "%s", err.msg);
	fill_db(path, g, 40, 1, "split C nosuchloop 4\n");
	rt_error_clear(&err);
	ck_assert_ptr_null(model_of(path, 1, &n, &err));
	ck_assert_int_eq(n, 0);
	ck_assert_msg(strstr(err.msg, "0 usable records") != NULL, "%s", err.msg);

	ck_assert_int_eq(cg_target_host(&t, &err), 0);
	srch_tune_opts_default(&o);
	o.trials = 4;
	o.min_time = 0.005;
	o.model = md;
	ck_assert_msg(srch_tune(g, ctx, &t, &o, &r, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(r.nrecords, 4);
	ck_assert_int_ge(r.best, 0);
	ck_assert_int_eq(r.skipped_by_model, 0);
	srch_result_release(&r);
	te_graph_free(g);
	isl_ctx_free(ctx);
	remove_db(path);
}
END_TEST

typedef struct skips {
	int n;
	double seconds;
} skips;

static void count_skip(void *user, const srch_point *p, double seconds)
{
	skips *s = user;

	(void)p;
	s->n++;
	s->seconds = seconds;
}

static void no_skip(void *user, const srch_point *p, double seconds)
{
	(void)user, (void)p, (void)seconds;
	ck_abort_msg("a batch past the filter's limit was filtered");
}

/* A batch of more than 16 points (the filter's limit) passes as it is. */
START_TEST(filter_past_its_limit)
{
	srch_model *md = synthetic_model(3);
	te_graph *g = gemm(32, 32, 32);
	srch_space *sp = calloc(1, sizeof(*sp));
	srch_point *pts = calloc(17, sizeof(*pts)), *copy = calloc(17, sizeof(*copy));
	skips sk = {0, 0};
	uint64_t rng = 1;
	rt_error err;

	rt_error_clear(&err);
	ck_assert_int_eq(srch_space_init(sp, g, CG_TARGET_CPU, &err), 0);
	srch_model_begin(md, g);
	srch_model_observe(md, "split C j 16\nvectorize C j.i\n", 100, false);
	for (int i = 0; i < 17; i++)
		srch_point_random(sp, &rng, &pts[i]);
	memcpy(copy, pts, 17 * sizeof(*pts));
	ck_assert_int_eq(srch_model_filter(md, sp, pts, 17, no_skip, NULL), 17);
	ck_assert(memcmp(copy, pts, 17 * sizeof(*pts)) == 0);
	ck_assert_int_ge(srch_model_filter(md, sp, pts, 16, count_skip, &sk), 1); /* at the limit: ranked */
	ck_assert_int_eq(sk.n, srch_model_skipped(md));
	free(pts);
	free(copy);
	srch_space_release(sp);
	free(sp);
	te_graph_free(g);
	srch_model_free(md);
}
END_TEST

/* Every SRCH_MODEL_AUDIT-th candidate the model would skip is measured;
 * when those prove as fast as the best, the model stops skipping. */
START_TEST(wrong_model_stops_skipping)
{
	srch_model *md = synthetic_model(3);
	te_graph *g = gemm(32, 32, 32);
	srch_space *sp = calloc(1, sizeof(*sp));
	const char *best = "split C j 16\nvectorize C j.i\n";
	uint64_t rng = 42;
	skips sk = {0, 0};
	int audits, misses, kept_total = 0;
	bool skipping;
	rt_error err;

	rt_error_clear(&err);
	ck_assert_int_eq(srch_space_init(sp, g, CG_TARGET_CPU, &err), 0);
	srch_model_begin(md, g);
	srch_model_observe(md, best, 100, false);
	for (int round = 0; round < 40; round++) {
		srch_point pts[8];
		int n = 0, kept;

		/* unvectorized points: predicted far below the vectorized best */
		while (n < 8) {
			char *text;
			double f[SRCH_MODEL_NFEAT];

			srch_point_random(sp, &rng, &pts[n]);
			text = srch_point_schedule(sp, &pts[n]);
			features(g, text, f);
			free(text);
			n += f[F_VEC] == 0;
		}
		kept = srch_model_filter(md, sp, pts, 8, count_skip, &sk);
		kept_total += kept;
		ck_assert_int_ge(kept, 1); /* the best-ranked is always measured */
		for (int i = 0; i < kept; i++) { /* measured: as fast as the best */
			char *text = srch_point_schedule(sp, &pts[i]);

			srch_model_observe(md, text, 100, false);
			free(text);
		}
	}
	srch_model_audits(md, &audits, &misses, &skipping);
	ck_assert_int_gt(sk.n, 0);
	ck_assert(sk.seconds > 0);
	ck_assert_int_eq(sk.n, srch_model_skipped(md));
	ck_assert_int_ge(audits, 4);
	ck_assert_int_eq(misses, audits);
	ck_assert(!skipping);
	ck_assert_int_eq(sk.n + kept_total, 40 * 8);
	srch_space_release(sp);
	free(sp);
	te_graph_free(g);
	srch_model_free(md);
}
END_TEST

/* A tune guided by a model that knows vectorized schedules are far
 * faster skips proposals without measuring them, and says how many; the
 * trial budget counts measured candidates only.  (Random proposals: sa-q
 * walks from the vectorized starting points, and how many of its moves
 * leave them depends on the timings.) */
START_TEST(tune_with_model_skips)
{
	srch_model *md = synthetic_model(9);
	te_graph *g = gemm(48, 48, 48);
	isl_ctx *ctx = new_ctx();
	srch_tune_opts o;
	srch_result r;
	cg_target t;
	rt_error err;

	rt_error_clear(&err);
	ck_assert_int_eq(cg_target_host(&t, &err), 0);
	srch_tune_opts_default(&o);
	o.trials = 30;
	o.min_time = 0.005;
	o.seed = 4;
	o.method = SRCH_RANDOM; /* half its proposals unvectorized, whatever the timings */
	o.model = md;
	ck_assert_msg(srch_tune(g, ctx, &t, &o, &r, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(r.nrecords, 30);
	ck_assert_int_ge(r.best, 0);
	ck_assert(r.records[r.best].verified);
	ck_assert_int_gt(r.skipped_by_model, 0);
	ck_assert_int_eq(r.skipped_by_model, srch_model_skipped(md));
	ck_assert_int_ge(srch_model_nsamples(md), 300 + 20); /* it learnt from the trials */
	srch_result_release(&r);
	te_graph_free(g);
	isl_ctx_free(ctx);
	srch_model_free(md);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("model");
	TCase *tc = tcase_create("model");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, features_of_naive_gemm);
	tcase_add_test(tc, features_of_goto_gemm);
	tcase_add_test(tc, features_tails_and_errors);
	tcase_add_test(tc, features_past_the_access_limit);
	tcase_add_test(tc, model_ranks_synthetic_set);
	tcase_add_test(tc, model_from_db_is_deterministic);
	tcase_add_test(tc, useless_db_gives_no_model);
	tcase_add_test(tc, wrong_model_stops_skipping);
	tcase_add_test(tc, filter_past_its_limit);
	tcase_add_test(tc, tune_with_model_skips);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
