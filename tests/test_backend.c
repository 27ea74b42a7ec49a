/*
 * Tests of codegen/cg_backend: the table of back ends (each kind has one,
 * named as its target string's first word), target strings through the
 * back ends' options (a table of strings, the canonical form they print
 * and the errors they give), and a library of each back end made in memory
 * from one small GEMM.
 */
#include <check.h>
#include <isl/ctx.h>
#include <isl/options.h>
#include <stdlib.h>
#include <string.h>

#include "cg_backend.h"
#include "lir_pipe.h"
#include "te_parse.h"
#include "te_verify.h"

START_TEST(each_kind_has_one_backend)
{
	static const cg_target_kind kinds[] = {CG_TARGET_CPU, CG_TARGET_CUDA, CG_TARGET_HLS};
	static const char *const names[] = {"cpu", "cuda", "hls"};
	const cg_backend *be = cg_backend_of(kinds[_i]);

	ck_assert_int_eq(be->kind, kinds[_i]);
	ck_assert_str_eq(be->name, names[_i]);
	ck_assert_ptr_eq(cg_backend_named(names[_i]), be);
	ck_assert_str_eq(cg_target_kind_name(kinds[_i]), names[_i]);
	ck_assert_ptr_nonnull(be->outputs[0]);
	ck_assert(!be->host_code || be->jit);
	ck_assert(be->defaults && be->parse_opt && be->print && be->lint && be->compile && be->write_library &&
		  be->free);
}
END_TEST

/* Target string -> 0 and its canonical form (a prefix: the cpu's name is
 * the host's), or -1 and a word of the error. */
static const struct {
	const char *text;
	int rc;
	const char *want;
} targets[] = {
	{"cpu -threads=2", 0, "cpu -mcpu="},
	{"cuda", 0, "cuda -arch=sm_80"},
	{"cuda -arch=sm_90", 0, "cuda -arch=sm_90"},
	{"hls", 0, "hls -part=xcvu9p -clock=300MHz"},
	{"hls -part=xcu250 -clock=0.25GHz", 0, "hls -part=xcu250 -clock=250MHz"},
	{"gpu", -1, "unknown target 'gpu' (cpu, cuda or hls)"},
	{"cpu -arch=sm_90", -1, "unknown cpu option"},
	{"cuda -threads=2", -1, "unknown cuda option"},
	{"hls -part=nope", -1, "unknown FPGA part 'nope'"},
	{"hls -clock=9GHz", -1, "out of range"},
	{"cpu -threads=2000", -1, "bad thread count"},
};

START_TEST(target_strings)
{
	cg_target t, u;
	rt_error err;
	char s[256], s2[256];

	rt_error_clear(&err);
	ck_assert_int_eq(cg_target_parse(targets[_i].text, &t, &err), targets[_i].rc);
	if (targets[_i].rc) {
		ck_assert_msg(strstr(err.msg, targets[_i].want), "%s", err.msg);
		return;
	}
	cg_target_string(&t, s, sizeof(s));
	ck_assert_msg(strncmp(s, targets[_i].want, strlen(targets[_i].want)) == 0, "%s", s);
	ck_assert_int_eq(cg_target_parse(s, &u, &err), 0);
	cg_target_string(&u, s2, sizeof(s2));
	ck_assert_str_eq(s, s2);
}
END_TEST

/* A string over the parser's buffer is refused, not cut. */
START_TEST(target_string_limit)
{
	char *text = malloc(5000);
	cg_target t;
	rt_error err;

	memset(text, ' ', 4999);
	memcpy(text, "cpu", 3);
	text[4999] = '\0';
	rt_error_clear(&err);
	ck_assert_int_eq(cg_target_parse(text, &t, &err), -1);
	ck_assert_msg(strstr(err.msg, "over 4095 bytes"), "%s", err.msg);
	text[4095] = '\0';
	ck_assert_int_eq(cg_target_parse(text, &t, &err), 0);
	free(text);
}
END_TEST

/* Each back end lints, compiles and makes its library from one GEMM; the
 * files are the ones it lists, with the function's name in them. */
START_TEST(library_of_each_backend)
{
	static const char *const tstr[] = {"cpu", "cuda", "hls"};
	static const char *const sched[] = {NULL, "bind C i blockIdx.x\nbind C j threadIdx.x\n", "pipeline C k\n"};
	isl_ctx *ctx = isl_ctx_alloc();
	rt_error err;
	te_graph *g;
	cg_target t;
	lir_func *f;
	cg_artifact *a;
	cg_library lib;
	const cg_backend *be;

	isl_options_set_on_error(ctx, ISL_ON_ERROR_CONTINUE);
	rt_error_clear(&err);
	g = te_parse("param M = 8, N = 8, K = 8\ninput A[M, K] f32\ninput B[K, N] f32\n"
		     "C[i < M, j < N] = sum(k < K) A[i, k] * B[k, j]\n",
		     NULL, 0, &err);
	ck_assert_int_eq(te_verify(g, ctx, &err), 0);
	ck_assert_int_eq(cg_target_parse(tstr[_i], &t, &err), 0);
	be = cg_backend_of(t.kind);
	f = lir_pipeline(g, ctx, sched[_i], "mm", 0, &err);
	ck_assert_msg(f != NULL, "%s", err.msg);
	ck_assert_msg(be->lint(f, &t, &err) == 0, "%s", err.msg);
	a = be->compile(f, &t, &err);
	ck_assert_msg(a != NULL, "%s", err.msg);
	{
		cg_lib_info li = {g, ctx, "mm", tstr[_i], "mm.te", "given", sched[_i], "out", false, be->llvm_ir};

		ck_assert_msg(be->write_library(a, &li, &lib, &err) == 0, "%s", err.msg);
	}
	ck_assert_int_ge(lib.nfiles, 3);
	for (int i = 0; i < lib.nfiles; i++) {
		bool listed = false;
		char want[64];

		for (int k = 0; be->outputs[k]; k++) {
			snprintf(want, sizeof(want), be->outputs[k], "mm");
			listed |= strcmp(want, lib.files[i].name) == 0;
		}
		ck_assert_msg(listed, "%s writes %s, not in its outputs", be->name, lib.files[i].name);
		ck_assert_uint_gt(lib.files[i].size, 0);
	}
	ck_assert_ptr_nonnull(strstr(lib.files[0].data, "mm"));
	cg_library_release(&lib);
	be->free(a);
	lir_func_free(f);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("backend");
	TCase *tc = tcase_create("backend");
	SRunner *sr;
	int failed;

	tcase_add_loop_test(tc, each_kind_has_one_backend, 0, 3);
	tcase_add_loop_test(tc, target_strings, 0, (int)(sizeof(targets) / sizeof(targets[0])));
	tcase_add_test(tc, target_string_limit);
	tcase_add_loop_test(tc, library_of_each_backend, 0, 3);
	tcase_set_timeout(tc, 300);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
