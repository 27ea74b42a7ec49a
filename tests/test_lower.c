/*
 * Tests of ir/lower: golden loop IR, random legal schedules checked against
 * the reference interpreter on every example, and illegal schedules refused.
 */
#include <check.h>
#include <isl/ctx.h>
#include <isl/options.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lir.h"
#include "lower.h"
#include "rt_alloc.h"
#include "sched.h"
#include "te.h"
#include "te_interp.h"
#include "te_parse.h"
#include "te_verify.h"
#include "sched_gen.h"

/* Random schedules per example: SCHEDULES_FIXED every run and
 * SCHEDULES_ROTATING more chosen by $FTC_TEST_SEED (sched_gen.h). */
#define SCHEDULES_FIXED 16
#define SCHEDULES_ROTATING 8

START_TEST(random_schedules_match_reference)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = small_example(examples[_i], ctx);

	static char text[16384];

	for (int j = 0; j < SCHEDULES_FIXED + SCHEDULES_ROTATING; j++) {
		int seed = (int)test_case_index(j, SCHEDULES_FIXED, SCHEDULES_ROTATING);
		sch_schedule *s;
		lir_func *f;
		rt_error err;
		const char *bad;

		random_schedule(g, (uint64_t)seed * 7919 + (uint64_t)_i, text, sizeof(text));
		rt_error_clear(&err);
		s = sch_parse(text, &err);
		ck_assert_msg(s != NULL, "%s seed %d: %s", examples[_i], seed, err.msg);
		f = lir_lower(g, s, ctx, examples[_i], &err);
		ck_assert_msg(f != NULL, "%s seed %d: lowering refused a legal schedule: %s\n%s",
			      examples[_i], seed, err.msg, text);
		ck_assert_msg(lir_verify(f, &err) == 0, "%s seed %d: invalid lir: %s\n%s", examples[_i],
			      seed, err.msg, text);
		bad = check_kernel(g, f);
		ck_assert_msg(!bad[0], "%s seed %d: %s\nschedule:\n%s", examples[_i], seed, bad, text);
		lir_func_free(f);
		sch_free(s);
	}
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/* ---- illegal schedules ---- */

static const struct {
	const char *example, *sched, *msg;
	int line;
} illegal[] = {
	{"gemm", "parallel C k\n", "carries a dependence through 'C'", 1},
	{"gemm", "split C k 2\nvectorize C k.i\n", "vectorize C k.i", 2},
	{"gemm", "bind C k threadIdx.x\n", "is a reduce loop", 1},
	{"gemm", "split C i 2\nsplit C j 2\nbind C i.i threadIdx.x\nbind C j.o blockIdx.x\n",
	 "blockIdx loop inside the threadIdx loop", 4},
	{"gemm", "reorder C k i j\ncache_write C i local\n", "a reduce loop of 'C' is at or outside 'i'", 2},
	{"gemm", "fuse C j k\n", "fuses a spatial loop with a reduce loop", 0},
	{"gemm", "compute_inline C\n", "is a reduction", 1},
	{"gemm", "parallel D i\n", "no such stage", 1},
	{"gemm", "compute_at C C i\n", "its own loops", 0},
	{"gemm", "split C j 2\nbind C i blockIdx.x\nbind C j.o threadIdx.x\ncache_read B C j.i shared\n",
	 "a shared buffer is one per block", 4},
	{"softmax", "compute_at Mx Y i\n", "does not read", 0},
	{"gemm", "cache_read C C i local\n", "does not read", 1},
	{"conv2d", "compute_at Ip O zz\n", "has no loop 'zz'", 0},
	{"softmax", "compute_at E Sum i\n", "also read by 'Y'", 0},
	{"softmax", "parallel Sum j\n", "carries a dependence through 'Sum'", 1},
	{"softmax", "compute_at Mx E i\ncompute_at E Y i\nparallel E j\n", "", 0},
	{"gemm", "split C i 2\ncache_read B C i.o stack block=2:4\n", "block=2:4: no dimension 2 ('B' has rank 2)", 2},
	{"gemm", "cache_read B C i stack block=1:4 perm=1,0\n",
	 "perm has 2 entries, the copy of 'B' has 3 dimensions (rank 2 and 1 blocks)", 1},
	{"conv2d", "cache_read F O k stack block=0:2 block=1:2 perm=0,1,2,3,4\n",
	 "the copy of 'F' has 6 dimensions (rank 4 and 2 blocks)", 1},
};

START_TEST(illegal_schedules_are_refused)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = small_example(illegal[_i].example, ctx);
	rt_error err;
	sch_schedule *s;
	lir_func *f;

	rt_error_clear(&err);
	s = sch_parse(illegal[_i].sched, &err);
	ck_assert_msg(s != NULL, "%s", err.msg);
	f = lir_lower(g, s, ctx, "k", &err);
	ck_assert_msg(f == NULL, "accepted: %s", illegal[_i].sched);
	ck_assert_msg(strstr(err.msg, illegal[_i].msg), "message '%s' lacks '%s'", err.msg, illegal[_i].msg);
	if (illegal[_i].line)
		ck_assert_int_eq(err.line, illegal[_i].line);
	sch_free(s);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/* ---- golden loop IR ---- */

static const struct {
	const char *example, *sched, *golden;
} goldens[] = {
	{"gemm", "", "gemm_naive.lir"},
	{"gemm", "split C i 4\nsplit C j 4\nreorder C i.o j.o k i.i j.i\nparallel C i.o\nvectorize C j.i\n",
	 "gemm_tiled.lir"},
	{"gemm", "split C k 2\ncache_read B C k.o stack perm=1,0\ncache_write C j local\n", "gemm_cache.lir"},
	{"conv2d", "split O q 4\nreorder O n k p q.o c r s q.i\ncompute_at Ip O p\nvectorize O q.i\n",
	 "conv2d_at.lir"},
	{"conv2d", "compute_inline Ip\nfuse O n k\nparallel O n+k\n", "conv2d_inline.lir"},
	{"gemm", "split C j 4\nreorder C i j.o k j.i\ncache_read B C i stack block=1:4 perm=1,0,2\nvectorize C j.i\n",
	 "gemm_blocked.lir"},
};

START_TEST(golden_lir)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = small_example(goldens[_i].example, ctx);
	char path[1024], *want, *got;
	rt_error err;
	sch_schedule *s;
	lir_func *f;

	rt_error_clear(&err);
	s = sch_parse(goldens[_i].sched, &err);
	f = lir_lower(g, s, ctx, goldens[_i].example, &err);
	ck_assert_msg(f != NULL, "%s", err.msg);
	got = lir_print(f);
	snprintf(path, sizeof(path), "%s/tests/golden/%s", root(), goldens[_i].golden);
	want = read_text(path);
	if (getenv("FTC_UPDATE_GOLDEN")) {
		FILE *out = fopen(path, "w");

		fputs(got, out);
		fclose(out);
	} else {
		ck_assert_msg(want != NULL, "missing golden file %s", path);
		ck_assert_msg(strcmp(want, got) == 0, "%s differs; got:\n%s", path, got);
	}
	ck_assert_str_eq(check_kernel(g, f), "");
	free(want);
	free(got);
	lir_func_free(f);
	sch_free(s);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/* ---- blocked copies (cache_read block=D:F) ---- */

/* At the small (odd) shapes no blocked extent is a multiple of its factor. */
static const struct {
	const char *example, *sched;
} blocked[] = {
	{"gemm", "cache_read B C i stack block=1:4\n"},
	{"gemm", "cache_read B C i stack block=1:2 perm=1,0,2\n"},
	{"gemm", "cache_read B C i stack block=0:2 block=1:4 perm=1,0,2,3\n"},
	{"gemm", "split C j 4\nreorder C i j.o k j.i\ncache_read B C i stack block=1:4 perm=1,0,2\nvectorize C j.i\n"},
	{"gemm", "split C j 4\nreorder C j.o i k j.i\ncache_read B C j.o stack block=1:4 perm=1,0,2\n"
		 "vectorize C j.i\nvectorize B.stack d1\n"},
	{"gemm", "split C i 3\ncache_read A C i.o local block=0:2 block=1:3 perm=3,2,1,0\n"},
	{"gemm", "cache_read B C i stack block=1:1024\n"},
	{"conv2d", "cache_read F O k stack block=0:2 block=1:2 perm=0,1,4,5,2,3\n"},
	{"conv2d", "split O k 2\nreorder O n k.o p q c r s k.i\ncache_read F O k.o stack block=1:2 perm=1,0,2,3,4\n"
		   "unroll O k.i\n"},
	{"conv2d", "cache_read Ip O k stack block=1:2 perm=0,1,2,4,3\n"},
	{"group_conv2d", "cache_read F O n stack block=0:4 perm=1,2,3,0,4\n"},
	{"depthwise_conv2d", "compute_inline Ip\nsplit O q 4\nreorder O n k p q.o r s q.i\ncache_read I O k stack block=3:4\n"
			     "vectorize O q.i\n"},
};

START_TEST(blocked_copies_match_reference)
{
	isl_ctx *ctx = new_ctx();
	te_graph *g = small_example(blocked[_i].example, ctx);
	rt_error err;
	sch_schedule *s;
	lir_func *f;

	rt_error_clear(&err);
	s = sch_parse(blocked[_i].sched, &err);
	ck_assert_msg(s != NULL, "%s", err.msg);
	f = lir_lower(g, s, ctx, "k", &err);
	ck_assert_msg(f != NULL, "%s: %s", blocked[_i].sched, err.msg);
	ck_assert_msg(lir_verify(f, &err) == 0, "invalid lir: %s", err.msg);
	ck_assert_str_eq(check_kernel(g, f), "");
	lir_func_free(f);
	sch_free(s);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

/*
 * test_lower [PART NPARTS]: the random-schedule tests of the examples with
 * index % NPARTS == PART (all by default), so that the suite can run them
 * in parallel; part 0 also runs the golden and illegal-schedule tables.
 */
int main(int argc, char **argv)
{
	Suite *s = suite_create("lower");
	TCase *tc = tcase_create("lower");
	SRunner *sr;
	int failed, part = argc > 2 ? atoi(argv[1]) : 0, nparts = argc > 2 ? atoi(argv[2]) : 1;
	int nex = NEXAMPLES;

	if (nparts < 1 || part < 0 || part >= nparts) {
		fprintf(stderr, "usage: test_lower [PART NPARTS]\n");
		return EXIT_FAILURE;
	}
	tcase_set_timeout(tc, 900);
	if (part == 0) {
		tcase_add_loop_test(tc, golden_lir, 0, sizeof(goldens) / sizeof(goldens[0]));
		tcase_add_loop_test(tc, illegal_schedules_are_refused, 0, sizeof(illegal) / sizeof(illegal[0]));
		tcase_add_loop_test(tc, blocked_copies_match_reference, 0, sizeof(blocked) / sizeof(blocked[0]));
	}
	for (int i = part; i < nex; i += nparts)
		tcase_add_loop_test(tc, random_schedules_match_reference, i, i + 1);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
