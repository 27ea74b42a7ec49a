/*
 * Tests of codegen/cg_math: exp and log as the CPU back end compiles them
 * (scalar and in a vectorized loop), against libm on a sweep of the whole
 * range and on the special values: NaN, +-inf, +-0, the overflow and
 * underflow edges, subnormal inputs and results.
 */
#include <check.h>
#include <float.h>
#include <isl/ctx.h>
#include <isl/options.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cg.h"
#include "lir_pipe.h"
#include "te_parse.h"
#include "te_verify.h"

/* Units in the last place allowed against the correctly rounded result
 * (libm's double exp/log rounded to f32; for f64, libm's own result). */
#define MATH_ULPS_F32 2
#define MATH_ULPS_F64 4

#define NX 4096 /* inputs per run */

/* E = exp(X), L = log(X) elementwise, of type `ty`. */
static te_graph *graph(isl_ctx *ctx, const char *ty)
{
	char text[256];
	rt_error err;
	te_graph *g;

	snprintf(text, sizeof(text),
		 "input X[%d] %s\nE[i < %d] = exp(X[i])\nL[i < %d] = log(X[i])\n", NX, ty, NX, NX);
	rt_error_clear(&err);
	g = te_parse(text, NULL, 0, &err);
	ck_assert_msg(g != NULL, "%s", err.msg);
	ck_assert_int_eq(te_verify(g, ctx, &err), 0);
	return g;
}

/* Compile g under `schedule` for the host and run it on x (inputs, then
 * outputs e and l, as lir_lower orders the parameters). */
static void run(const te_graph *g, isl_ctx *ctx, const char *schedule, void *x, void *e, void *l)
{
	void *args[3] = {x, e, l};
	rt_error err;
	lir_func *f;
	cg_target t;
	cg_jit *j;

	rt_error_clear(&err);
	f = lir_pipeline(g, ctx, schedule, "math", 0, &err);
	ck_assert_msg(f != NULL, "%s", err.msg);
	ck_assert_int_eq(cg_target_host(&t, &err), 0);
	t.threads = 1;
	j = cg_jit_new(cg_cpu_compile(f, &t, &err), &err);
	ck_assert_msg(j != NULL, "%s", err.msg);
	ck_assert_int_eq(cg_jit_entry(j)(args), 0);
	cg_jit_free(j);
	lir_func_free(f);
}

static const float specials_f32[] = {
	NAN, INFINITY, -INFINITY, 0.0f, -0.0f, 1.0f, -1.0f, 88.72283f, 88.7229f, 89.0f, 100.0f, -87.33655f,
	-88.0f, -100.0f, -103.2789f, -103.98f, -104.0f, -150.0f, FLT_MIN, FLT_MIN / 2, FLT_TRUE_MIN, FLT_MAX,
	1e-30f, 0.5f, 2.0f, 0.6931472f, 1.4142135f, 0.70710677f,
};

/* The inputs: the specials, then a sweep of exp's range, then a
 * geometric sweep of log's. */
static void inputs_f32(float *x)
{
	int n = (int)(sizeof(specials_f32) / sizeof(specials_f32[0])), k = 0;

	for (; k < n; k++)
		x[k] = specials_f32[k];
	for (int i = 0; k < NX / 2; i++, k++)
		x[k] = -106.0f + 196.0f * (float)i / (float)(NX / 2 - n);
	for (int i = 0; k < NX; i++, k++)
		x[k] = (float)(FLT_TRUE_MIN * pow(FLT_MAX / FLT_TRUE_MIN, (double)i / (NX / 2 - 1)));
}

/* Distance in units in the last place between two values of the same
 * sign (or both zero), counted in floats when `f32`, else in doubles;
 * INT64_MAX when they differ in kind.  (A float converts to double
 * exactly, so one helper serves both.) */
static int64_t ulps_apart(double a, double b, bool f32)
{
	int64_t ia, ib;

	if (isnan(a) || isnan(b))
		return isnan(a) && isnan(b) ? 0 : INT64_MAX;
	if (a == b)
		return 0;
	if ((a < 0) != (b < 0))
		return INT64_MAX;
	if (f32) {
		float fa = (float)a, fb = (float)b;
		int32_t ja, jb;

		memcpy(&ja, &fa, 4);
		memcpy(&jb, &fb, 4);
		ia = ja;
		ib = jb;
	} else {
		memcpy(&ia, &a, 8);
		memcpy(&ib, &b, 8);
	}
	return ia > ib ? ia - ib : ib - ia;
}

static const char *const schedules[] = {NULL, "split E i 16\nvectorize E i.i\nsplit L i 16\nvectorize L i.i\n"};

START_TEST(exp_log_f32)
{
	isl_ctx *ctx = isl_ctx_alloc();
	te_graph *g;
	float *x = malloc(NX * sizeof(float)), *e = malloc(NX * sizeof(float)), *l = malloc(NX * sizeof(float));

	isl_options_set_on_error(ctx, ISL_ON_ERROR_CONTINUE);
	g = graph(ctx, "f32");
	ck_assert(x && e && l);
	inputs_f32(x);
	run(g, ctx, schedules[_i], x, e, l);
	for (int k = 0; k < NX; k++) {
		float we = (float)exp((double)x[k]), wl = (float)log((double)x[k]);

		ck_assert_msg(ulps_apart(e[k], we, true) <= MATH_ULPS_F32, "exp(%.9g) = %.9g, libm %.9g (%s)", x[k], e[k], we,
			      _i ? "vector" : "scalar");
		ck_assert_msg(ulps_apart(l[k], wl, true) <= MATH_ULPS_F32, "log(%.9g) = %.9g, libm %.9g (%s)", x[k], l[k], wl,
			      _i ? "vector" : "scalar");
	}
	free(x);
	free(e);
	free(l);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

START_TEST(exp_log_f64)
{
	static const double specials[] = {NAN, INFINITY, -INFINITY, 0.0, -0.0, 1.0, 709.78, 709.8, 710.0, -708.4,
					  -745.0, -745.2, -746.0, DBL_MIN, DBL_MIN / 2, DBL_TRUE_MIN, DBL_MAX};
	int n = (int)(sizeof(specials) / sizeof(specials[0])), k = 0;
	isl_ctx *ctx = isl_ctx_alloc();
	te_graph *g;
	double *x = malloc(NX * sizeof(double)), *e = malloc(NX * sizeof(double)), *l = malloc(NX * sizeof(double));

	isl_options_set_on_error(ctx, ISL_ON_ERROR_CONTINUE);
	g = graph(ctx, "f64");
	ck_assert(x && e && l);
	for (; k < n; k++)
		x[k] = specials[k];
	for (int i = 0; k < NX / 2; i++, k++)
		x[k] = -750.0 + 1462.0 * (double)i / (NX / 2 - n);
	for (int i = 0; k < NX; i++, k++)
		x[k] = DBL_TRUE_MIN * pow(2.0, 2098.0 * (double)i / (NX / 2 - 1));
	run(g, ctx, schedules[_i], x, e, l);
	for (k = 0; k < NX; k++) {
		ck_assert_msg(ulps_apart(e[k], exp(x[k]), false) <= MATH_ULPS_F64, "exp(%.17g) = %.17g, libm %.17g", x[k], e[k],
			      exp(x[k]));
		ck_assert_msg(ulps_apart(l[k], log(x[k]), false) <= MATH_ULPS_F64, "log(%.17g) = %.17g, libm %.17g", x[k], l[k],
			      log(x[k]));
	}
	free(x);
	free(e);
	free(l);
	te_graph_free(g);
	isl_ctx_free(ctx);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("math");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, exp_log_f32, 0, 2);
	tcase_add_loop_test(tc, exp_log_f64, 0, 2);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
