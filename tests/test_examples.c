/*
 * test_examples: the operator suite in examples/.
 *
 * Every example is parsed with -D defines that make it small (odd sizes,
 * strides and pads that exercise the guards), verified, evaluated with the
 * reference interpreter on seeded random inputs, and its output compared
 * with a straightforward loop nest written here from the operator's usual
 * definition (for transposed convolutions the scatter form, so the gather
 * form in the .te files is checked against an independent formulation).
 * Two more tests: every .te file in examples/ parses and verifies at its
 * default shape, and the example set is complete.
 *
 * FTC_SOURCE_ROOT names the repository root.
 */
#include <check.h>
#include <dirent.h>
#include <isl/ctx.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "te.h"
#include "te_interp.h"
#include "te_parse.h"
#include "te_verify.h"

#define MAX_DEFS 16
#define RTOL 1e-4
#define TOL_FLOOR 1e-2 /* |want| below this is compared as if it were this */

static const char *const example_names[] = {
    "gemv",
    "gemm",
    "bilinear",
    "conv1d",
    "conv1d_transposed",
    "conv2d",
    "conv2d_transposed",
    "conv3d",
    "conv3d_transposed",
    "group_conv2d",
    "depthwise_conv2d",
    "dilated_conv2d",
    "batch_matmul",
    "mttkrp",
    "maxpool2d",
    "softmax",
    "sum",
};
#define NEXAMPLES ((int)(sizeof example_names / sizeof example_names[0]))

/* ---- files ---- */

static const char *source_root(void)
{
	const char *root = getenv("FTC_SOURCE_ROOT");
	return root && *root ? root : ".";
}

/* The contents of `path` as a malloc'd NUL-terminated string, or NULL. */
static char *read_text(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long len;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
		goto done;
	buf = malloc((size_t)len + 1);
	if (buf && fread(buf, 1, (size_t)len, f) != (size_t)len) {
		free(buf);
		buf = NULL;
	}
	if (buf)
		buf[len] = '\0';
done:
	fclose(f);
	return buf;
}

static void example_path(char *out, size_t size, const char *file)
{
	snprintf(out, size, "%s/examples/%s", source_root(), file);
}

/*
 * Parse and verify examples/`file` under `defs`.  Fails the test (with the
 * diagnostic on stderr) on any error; returns the graph, which the caller
 * frees.
 */
static te_graph *load_example(const char *file, const te_define *defs, int ndefs, isl_ctx *ctx)
{
	char path[4096];
	char *src;
	te_graph *g;
	rt_error err;

	example_path(path, sizeof path, file);
	src = read_text(path);
	ck_assert_msg(src != NULL, "cannot read %s", path);
	rt_error_clear(&err);
	g = te_parse(src, defs, ndefs, &err);
	if (!g)
		te_diag_print(stderr, path, src, &err);
	ck_assert_msg(g != NULL, "%s: parse failed: %d:%d: %s", path, err.line, err.col, err.msg);
	rt_error_clear(&err);
	if (te_verify(g, ctx, &err) != 0) {
		te_diag_print(stderr, path, src, &err);
		ck_abort_msg("%s: verify failed: %d:%d: %s", path, err.line, err.col, err.msg);
	}
	free(src);
	return g;
}

/* ---- one evaluation: graph, buffers, defines ---- */

typedef struct ex_run {
	te_graph *g;
	void **bufs; /* by stage id */
	te_define defs[MAX_DEFS];
	int ndefs;
	char text[256]; /* storage for the define names */
} ex_run;

/* The expected output, computed in double. */
typedef struct ex_out {
	int rank;
	int64_t shape[TE_MAX_RANK];
	double *v;
} ex_out;

typedef void ref_fn(const ex_run *x, ex_out *o);

/* Split "A=1,B=2" into x->defs. */
static void parse_defines(ex_run *x, const char *spec)
{
	char *tok, *save = NULL;

	snprintf(x->text, sizeof x->text, "%s", spec);
	x->ndefs = 0;
	for (tok = strtok_r(x->text, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		ck_assert_msg(eq && x->ndefs < MAX_DEFS, "bad define list '%s'", spec);
		*eq = '\0';
		x->defs[x->ndefs].name = tok;
		x->defs[x->ndefs].value = strtoll(eq + 1, NULL, 10);
		x->ndefs++;
	}
}

/* The value of define `name` (every reference reads its sizes here). */
static int64_t prm(const ex_run *x, const char *name)
{
	for (int i = 0; i < x->ndefs; i++)
		if (strcmp(x->defs[i].name, name) == 0)
			return x->defs[i].value;
	ck_abort_msg("define %s missing from the test case", name);
	return 0;
}

/* The f32 buffer of input `name`, checked to have `numel` elements. */
static const float *in(const ex_run *x, const char *name, int64_t numel)
{
	te_stage *s = te_graph_find(x->g, name);

	ck_assert_msg(s != NULL, "no tensor %s", name);
	ck_assert_msg(s->kind == TE_STAGE_INPUT && s->type == TE_F32, "%s is not an f32 input",
		      name);
	ck_assert_msg(te_stage_numel(s) == numel, "%s has %lld elements, expected %lld", name,
		      (long long)te_stage_numel(s), (long long)numel);
	return x->bufs[s->id];
}

/* Give `o` the shape (d0, d1, ...) and zeroed values. */
static double *out_init(ex_out *o, int rank, ...)
{
	va_list ap;
	int64_t n = 1;

	va_start(ap, rank);
	o->rank = rank;
	for (int i = 0; i < rank; i++) {
		o->shape[i] = va_arg(ap, int64_t);
		ck_assert_msg(o->shape[i] > 0, "reference shape dimension %d is %lld", i,
			      (long long)o->shape[i]);
		n *= o->shape[i];
	}
	va_end(ap);
	o->v = calloc((size_t)n, sizeof *o->v);
	ck_assert(o->v != NULL);
	return o->v;
}

/* ---- references: plain loop nests over row-major buffers ---- */

static void ref_gemv(const ex_run *x, ex_out *o)
{
	int64_t M = prm(x, "M"), K = prm(x, "K");
	const float *A = in(x, "A", M * K), *v = in(x, "x", K);
	double *y = out_init(o, 1, M);

	for (int64_t i = 0; i < M; i++)
		for (int64_t k = 0; k < K; k++)
			y[i] += (double)A[i * K + k] * v[k];
}

static void ref_sum(const ex_run *x, ex_out *o)
{
	int64_t N = prm(x, "N");
	const float *A = in(x, "A", N * N);
	double *s = out_init(o, 0);

	for (int64_t i = 0; i < N * N; i++)
		s[0] += A[i];
}

static void ref_gemm(const ex_run *x, ex_out *o)
{
	int64_t M = prm(x, "M"), N = prm(x, "N"), K = prm(x, "K");
	const float *A = in(x, "A", M * K), *B = in(x, "B", K * N);
	double *C = out_init(o, 2, M, N);

	for (int64_t i = 0; i < M; i++)
		for (int64_t j = 0; j < N; j++)
			for (int64_t k = 0; k < K; k++)
				C[i * N + j] += (double)A[i * K + k] * B[k * N + j];
}

static void ref_batch_matmul(const ex_run *x, ex_out *o)
{
	int64_t Bt = prm(x, "batch"), M = prm(x, "M"), N = prm(x, "N"), K = prm(x, "K");
	const float *A = in(x, "A", Bt * M * K), *B = in(x, "B", Bt * K * N);
	double *C = out_init(o, 3, Bt, M, N);

	for (int64_t b = 0; b < Bt; b++)
		for (int64_t i = 0; i < M; i++)
			for (int64_t j = 0; j < N; j++)
				for (int64_t k = 0; k < K; k++)
					C[(b * M + i) * N + j] +=
					    (double)A[(b * M + i) * K + k] * B[(b * K + k) * N + j];
}

static void ref_bilinear(const ex_run *x, ex_out *o)
{
	int64_t N = prm(x, "N"), M = prm(x, "M"), K = prm(x, "K"), L = prm(x, "L");
	const float *A = in(x, "A", N * K), *B = in(x, "B", N * L), *W = in(x, "W", M * K * L);
	double *Y = out_init(o, 2, N, M);

	for (int64_t i = 0; i < N; i++)
		for (int64_t j = 0; j < M; j++)
			for (int64_t k = 0; k < K; k++)
				for (int64_t l = 0; l < L; l++)
					Y[i * M + j] += (double)A[i * K + k] *
							W[(j * K + k) * L + l] * B[i * L + l];
}

static void ref_mttkrp(const ex_run *x, ex_out *o)
{
	int64_t I = prm(x, "I"), J = prm(x, "J"), K = prm(x, "K"), R = prm(x, "R");
	const float *X = in(x, "X", I * J * K), *B = in(x, "B", J * R), *C = in(x, "C", K * R);
	double *A = out_init(o, 2, I, R);

	for (int64_t i = 0; i < I; i++)
		for (int64_t r = 0; r < R; r++)
			for (int64_t j = 0; j < J; j++)
				for (int64_t k = 0; k < K; k++)
					A[i * R + r] += (double)X[(i * J + j) * K + k] *
							B[j * R + r] * C[k * R + r];
}

static void ref_softmax(const ex_run *x, ex_out *o)
{
	int64_t M = prm(x, "M"), N = prm(x, "N");
	const float *X = in(x, "X", M * N);
	double *Y = out_init(o, 2, M, N);

	for (int64_t i = 0; i < M; i++) {
		double mx = -INFINITY, sum = 0;
		for (int64_t j = 0; j < N; j++)
			mx = fmax(mx, X[i * N + j]);
		for (int64_t j = 0; j < N; j++)
			sum += Y[i * N + j] = exp(X[i * N + j] - mx);
		for (int64_t j = 0; j < N; j++)
			Y[i * N + j] /= sum;
	}
}

static void ref_maxpool2d(const ex_run *x, ex_out *o)
{
	int64_t N = prm(x, "N"), C = prm(x, "C"), H = prm(x, "H"), W = prm(x, "W");
	int64_t R = prm(x, "R"), S = prm(x, "S"), st = prm(x, "stride");
	int64_t P = (H - R) / st + 1, Q = (W - S) / st + 1;
	const float *I = in(x, "I", N * C * H * W);
	double *O = out_init(o, 4, N, C, P, Q);

	for (int64_t nc = 0; nc < N * C; nc++)
		for (int64_t p = 0; p < P; p++)
			for (int64_t q = 0; q < Q; q++) {
				double m = -INFINITY;
				for (int64_t r = 0; r < R; r++)
					for (int64_t s = 0; s < S; s++)
						m = fmax(m,
							 I[(nc * H + p * st + r) * W + q * st + s]);
				O[(nc * P + p) * Q + q] = m;
			}
}

/*
 * The general direct convolution the 1-D, 2-D, 3-D, dilated, grouped and
 * depthwise examples are instances of: NC + 3 spatial dims (absent ones of
 * extent 1, kernel 1, pad 0), zero padding, stride, dilation and groups;
 * filter [K, C / groups, T, R, S].
 */
typedef struct conv_shape {
	int64_t N, C, K, groups, stride, dil;
	int64_t in[3], ker[3], pad[3]; /* D H W, T R S, per-dim pad */
	int ndim;		       /* spatial dims present: the last ndim */
} conv_shape;

static int64_t conv_out(const conv_shape *cs, int d)
{
	return (cs->in[d] + 2 * cs->pad[d] - cs->dil * (cs->ker[d] - 1) - 1) / cs->stride + 1;
}

/* Shape `o` as [N, K, (Z,) (P,) Q] from the three spatial extents. */
static double *conv_out_init(ex_out *o, const conv_shape *cs, int64_t K, const int64_t *sp)
{
	if (cs->ndim == 1)
		return out_init(o, 3, cs->N, K, sp[2]);
	if (cs->ndim == 2)
		return out_init(o, 4, cs->N, K, sp[1], sp[2]);
	return out_init(o, 5, cs->N, K, sp[0], sp[1], sp[2]);
}

/* One output point O[n, k, y[0], y[1], y[2]] of the direct convolution. */
static double conv_point(const conv_shape *cs, const float *I, const float *F, int64_t n, int64_t k,
			 const int64_t *y)
{
	const int64_t *ext = cs->in, *ker = cs->ker;
	int64_t CG = cs->C / cs->groups, KG = cs->K / cs->groups;
	int64_t nker = ker[0] * ker[1] * ker[2];
	double acc = 0;

	for (int64_t c = 0; c < CG; c++) {
		int64_t ci = k / KG * CG + c;
		for (int64_t j = 0; j < nker; j++) {
			int64_t t[3] = {j / (ker[1] * ker[2]), j / ker[2] % ker[1], j % ker[2]};
			int64_t at[3];
			bool inside = true;
			for (int d = 0; d < 3; d++) {
				at[d] = y[d] * cs->stride + t[d] * cs->dil - cs->pad[d];
				inside = inside && at[d] >= 0 && at[d] < ext[d];
			}
			if (inside)
				acc +=
				    (double)
					I[(((n * cs->C + ci) * ext[0] + at[0]) * ext[1] + at[1]) *
					      ext[2] +
					  at[2]] *
				    F[(k * CG + c) * nker + j];
		}
	}
	return acc;
}

static void ref_conv(const ex_run *x, const conv_shape *cs, ex_out *o)
{
	int64_t sp[3] = {conv_out(cs, 0), conv_out(cs, 1), conv_out(cs, 2)};
	int64_t plane = sp[0] * sp[1] * sp[2];
	int64_t nker = cs->ker[0] * cs->ker[1] * cs->ker[2];
	const float *I = in(x, "I", cs->N * cs->C * cs->in[0] * cs->in[1] * cs->in[2]);
	const float *F = in(x, "F", cs->K * (cs->C / cs->groups) * nker);
	double *O = conv_out_init(o, cs, cs->K, sp);

	for (int64_t i = 0; i < cs->N * cs->K * plane; i++) {
		int64_t y[3] = {i / (sp[1] * sp[2]) % sp[0], i / sp[2] % sp[1], i % sp[2]};
		O[i] = conv_point(cs, I, F, i / plane / cs->K, i / plane % cs->K, y);
	}
}

/* A conv_shape from the defines, with defaults for what the example lacks. */
static conv_shape conv_from(const ex_run *x, int ndim)
{
	int64_t pad = prm(x, "pad");
	conv_shape cs = {.N = prm(x, "N"),
			 .C = prm(x, "C"),
			 .groups = 1,
			 .dil = 1,
			 .stride = prm(x, "stride"),
			 .ndim = ndim,
			 .in = {1, 1, prm(x, "W")},
			 .ker = {1, 1, prm(x, "S")},
			 .pad = {0, 0, pad}};
	if (ndim >= 2) {
		cs.in[1] = prm(x, "H");
		cs.ker[1] = prm(x, "R");
		cs.pad[1] = pad;
	}
	if (ndim == 3) {
		cs.in[0] = prm(x, "D");
		cs.ker[0] = prm(x, "T");
		cs.pad[0] = pad;
	}
	return cs;
}

static void ref_conv1d(const ex_run *x, ex_out *o)
{
	conv_shape cs = conv_from(x, 1);
	cs.K = prm(x, "K");
	ref_conv(x, &cs, o);
}

static void ref_conv2d(const ex_run *x, ex_out *o)
{
	conv_shape cs = conv_from(x, 2);
	cs.K = prm(x, "K");
	ref_conv(x, &cs, o);
}

static void ref_conv3d(const ex_run *x, ex_out *o)
{
	conv_shape cs = conv_from(x, 3);
	cs.K = prm(x, "K");
	ref_conv(x, &cs, o);
}

static void ref_dilated_conv2d(const ex_run *x, ex_out *o)
{
	conv_shape cs = conv_from(x, 2);
	cs.K = prm(x, "K");
	cs.dil = prm(x, "dilation");
	ref_conv(x, &cs, o);
}

static void ref_group_conv2d(const ex_run *x, ex_out *o)
{
	conv_shape cs = conv_from(x, 2);
	cs.K = prm(x, "K");
	cs.groups = prm(x, "groups");
	ref_conv(x, &cs, o);
}

/* Depthwise with multiplier m: a grouped conv with C groups and K = C m. */
static void ref_depthwise_conv2d(const ex_run *x, ex_out *o)
{
	conv_shape cs = conv_from(x, 2);
	cs.K = cs.C * prm(x, "mult");
	cs.groups = cs.C;
	ref_conv(x, &cs, o);
}

/*
 * Transposed convolution by its definition as the adjoint of a strided
 * convolution: input element I[n, c, u] (u a spatial point) adds
 * I[n, c, u] * F[c, k, t] to O[n, k, u stride - pad + t] for every output
 * channel k and kernel point t whose target lies inside the output, of
 * extent (in - 1) stride - 2 pad + ker per dimension.  Filter [C, K, T, R, S].
 */
static void ref_conv_transposed(const ex_run *x, int ndim, ex_out *o)
{
	conv_shape cs = conv_from(x, ndim);
	const int64_t *ext = cs.in, *ker = cs.ker;
	int64_t K = prm(x, "K"), st = cs.stride, sp[3];
	int64_t nker = ker[0] * ker[1] * ker[2], plane = ext[0] * ext[1] * ext[2];
	const float *I = in(x, "I", cs.N * cs.C * plane);
	const float *F = in(x, "F", cs.C * K * nker);
	double *O;

	for (int d = 0; d < 3; d++)
		sp[d] = (ext[d] - 1) * st - 2 * cs.pad[d] + ker[d];
	O = conv_out_init(o, &cs, K, sp);
	for (int64_t i = 0; i < cs.N * cs.C * plane; i++) {
		int64_t n = i / plane / cs.C, c = i / plane % cs.C;
		int64_t u[3] = {i / (ext[1] * ext[2]) % ext[0], i / ext[2] % ext[1], i % ext[2]};
		for (int64_t k = 0; k < K; k++) {
			for (int64_t j = 0; j < nker; j++) {
				int64_t t[3] = {j / (ker[1] * ker[2]), j / ker[2] % ker[1],
						j % ker[2]};
				int64_t at[3];
				bool inside = true;
				for (int d = 0; d < 3; d++) {
					at[d] = u[d] * st - cs.pad[d] + t[d];
					inside = inside && at[d] >= 0 && at[d] < sp[d];
				}
				if (inside)
					O[(((n * K + k) * sp[0] + at[0]) * sp[1] + at[1]) * sp[2] +
					  at[2]] += (double)I[i] * F[(c * K + k) * nker + j];
			}
		}
	}
}

static void ref_conv1d_transposed(const ex_run *x, ex_out *o)
{
	ref_conv_transposed(x, 1, o);
}

static void ref_conv2d_transposed(const ex_run *x, ex_out *o)
{
	ref_conv_transposed(x, 2, o);
}

static void ref_conv3d_transposed(const ex_run *x, ex_out *o)
{
	ref_conv_transposed(x, 3, o);
}

/* ---- the table ---- */

typedef struct ex_case {
	const char *name;    /* examples/NAME.te */
	const char *defines; /* every param the reference reads */
	const char *output;  /* the graph's only output */
	ref_fn *ref;
} ex_case;

static const ex_case cases[] = {
    {"gemv", "M=7,K=9", "y", ref_gemv},
    {"gemv", "M=1,K=1", "y", ref_gemv},
    {"sum", "N=37", "s", ref_sum},
    {"sum", "N=1", "s", ref_sum},
    {"gemm", "M=7,N=5,K=9", "C", ref_gemm},
    {"gemm", "M=1,N=3,K=1", "C", ref_gemm},
    {"bilinear", "N=3,M=5,K=7,L=4", "Y", ref_bilinear},
    {"batch_matmul", "batch=3,M=5,N=7,K=9", "C", ref_batch_matmul},
    {"mttkrp", "I=5,J=7,K=3,R=9", "A", ref_mttkrp},
    {"conv1d", "N=2,C=3,W=11,K=5,S=3,stride=1,pad=1", "O", ref_conv1d},
    {"conv1d", "N=1,C=3,W=13,K=5,S=5,stride=2,pad=2", "O", ref_conv1d},
    {"conv1d", "N=2,C=5,W=9,K=3,S=4,stride=3,pad=0", "O", ref_conv1d},
    {"conv1d_transposed", "N=2,C=3,W=7,K=5,S=3,stride=2,pad=1", "O", ref_conv1d_transposed},
    {"conv1d_transposed", "N=1,C=5,W=6,K=3,S=4,stride=3,pad=2", "O", ref_conv1d_transposed},
    {"conv1d_transposed", "N=2,C=3,W=9,K=5,S=3,stride=1,pad=0", "O", ref_conv1d_transposed},
    {"conv1d_transposed", "N=1,C=3,W=7,K=2,S=2,stride=2,pad=2", "O", ref_conv1d_transposed},
    {"conv2d", "N=2,C=3,H=7,W=9,K=5,R=3,S=3,stride=1,pad=1", "O", ref_conv2d},
    {"conv2d", "N=1,C=3,H=9,W=7,K=5,R=3,S=5,stride=2,pad=1", "O", ref_conv2d},
    {"conv2d", "N=2,C=5,H=7,W=5,K=3,R=1,S=3,stride=3,pad=0", "O", ref_conv2d},
    {"conv2d_transposed", "N=2,C=3,H=5,W=4,K=5,R=4,S=3,stride=2,pad=1", "O", ref_conv2d_transposed},
    {"conv2d_transposed", "N=1,C=5,H=3,W=5,K=3,R=3,S=5,stride=3,pad=2", "O", ref_conv2d_transposed},
    {"conv2d_transposed", "N=1,C=3,H=5,W=7,K=5,R=3,S=3,stride=1,pad=1", "O", ref_conv2d_transposed},
    {"conv3d", "N=2,C=3,D=5,H=7,W=6,K=5,T=3,R=3,S=2,stride=1,pad=1", "O", ref_conv3d},
    {"conv3d", "N=1,C=3,D=5,H=7,W=9,K=3,T=3,R=3,S=3,stride=2,pad=1", "O", ref_conv3d},
    {"conv3d_transposed", "N=2,C=3,D=3,H=5,W=4,K=5,T=3,R=3,S=2,stride=2,pad=1", "O",
     ref_conv3d_transposed},
    {"conv3d_transposed", "N=1,C=3,D=3,H=4,W=5,K=3,T=3,R=3,S=3,stride=1,pad=0", "O",
     ref_conv3d_transposed},
    {"group_conv2d", "N=2,C=6,H=7,W=9,K=9,R=3,S=3,stride=2,pad=1,groups=3", "O", ref_group_conv2d},
    {"group_conv2d", "N=1,C=4,H=5,W=7,K=6,R=3,S=1,stride=1,pad=1,groups=2", "O", ref_group_conv2d},
    {"depthwise_conv2d", "N=2,C=3,H=7,W=9,mult=2,R=3,S=3,stride=2,pad=1", "O",
     ref_depthwise_conv2d},
    {"depthwise_conv2d", "N=1,C=5,H=9,W=7,mult=1,R=3,S=5,stride=1,pad=2", "O",
     ref_depthwise_conv2d},
    {"dilated_conv2d", "N=2,C=3,H=9,W=11,K=5,R=3,S=3,stride=2,pad=1,dilation=2", "O",
     ref_dilated_conv2d},
    {"dilated_conv2d", "N=1,C=3,H=11,W=9,K=3,R=3,S=2,stride=1,pad=2,dilation=3", "O",
     ref_dilated_conv2d},
    {"maxpool2d", "N=2,C=3,H=7,W=9,R=2,S=2,stride=2", "O", ref_maxpool2d},
    {"maxpool2d", "N=1,C=3,H=9,W=7,R=3,S=3,stride=2", "O", ref_maxpool2d},
    {"softmax", "M=5,N=7", "Y", ref_softmax},
    {"softmax", "M=3,N=1", "Y", ref_softmax},
};
#define NCASES ((int)(sizeof cases / sizeof cases[0]))

/* ---- comparing ---- */

/* Check the graph's outputs are exactly { output } and match `want`. */
static void compare_output(const ex_case *ec, const ex_run *x, const ex_out *want)
{
	te_stage *s = te_graph_find(x->g, ec->output);
	const float *got;
	int64_t n = 1, bad = 0, first = -1;
	double worst = 0;

	for (int id = 0; id < te_graph_nstages(x->g); id++) {
		te_stage *t = te_graph_stage(x->g, id);
		ck_assert_msg(!t->is_output || t == s, "%s: unexpected output %s", ec->name,
			      t->name);
	}
	ck_assert_msg(s != NULL && s->is_output, "%s: %s is not an output", ec->name, ec->output);
	ck_assert_msg(s->type == TE_F32, "%s: output type %s", ec->name, te_dtype_name(s->type));
	ck_assert_msg(s->rank == want->rank, "%s: output rank %d, expected %d", ec->name, s->rank,
		      want->rank);
	for (int d = 0; d < s->rank; d++) {
		ck_assert_msg(s->shape[d] == want->shape[d],
			      "%s [%s]: output dimension %d is %lld, expected %lld", ec->name,
			      ec->defines, d, (long long)s->shape[d], (long long)want->shape[d]);
		n *= s->shape[d];
	}
	got = x->bufs[s->id];
	for (int64_t i = 0; i < n; i++) {
		double err = fabs(got[i] - want->v[i]);
		double tol = RTOL * fmax(fabs(want->v[i]), TOL_FLOOR);
		if (!(err <= tol)) {
			if (first < 0)
				first = i;
			bad++;
		}
		if (err / fmax(fabs(want->v[i]), TOL_FLOOR) > worst)
			worst = err / fmax(fabs(want->v[i]), TOL_FLOOR);
	}
	ck_assert_msg(bad == 0,
		      "%s [%s]: %lld of %lld elements differ; first at flat index %lld: "
		      "got %.9g, expected %.9g (worst relative error %.3g)",
		      ec->name, ec->defines, (long long)bad, (long long)n, (long long)first,
		      first >= 0 ? got[first] : 0.0, first >= 0 ? want->v[first] : 0.0, worst);
}

/* ---- tests ---- */

START_TEST(test_eval)
{
	const ex_case *ec = &cases[_i];
	isl_ctx *ctx = isl_ctx_alloc();
	char file[128];
	ex_run x = {0};
	ex_out want = {0};
	rt_error err;
	int ns;

	ck_assert(ctx != NULL);
	parse_defines(&x, ec->defines);
	snprintf(file, sizeof file, "%s.te", ec->name);
	x.g = load_example(file, x.defs, x.ndefs, ctx);
	ns = te_graph_nstages(x.g);
	x.bufs = calloc((size_t)ns, sizeof *x.bufs);
	ck_assert(x.bufs != NULL);
	for (int id = 0; id < ns; id++) {
		te_stage *s = te_graph_stage(x.g, id);
		x.bufs[id] = calloc((size_t)te_stage_numel(s), te_dtype_size(s->type));
		ck_assert(x.bufs[id] != NULL);
		if (s->kind == TE_STAGE_INPUT)
			te_random_fill(s, x.bufs[id], 0x5eed0000u + (uint64_t)_i);
	}
	rt_error_clear(&err);
	ck_assert_msg(te_interp_run(x.g, x.bufs, &err) == 0, "%s: interp: %s", ec->name, err.msg);

	ec->ref(&x, &want);
	compare_output(ec, &x, &want);

	free(want.v);
	for (int id = 0; id < ns; id++)
		free(x.bufs[id]);
	free(x.bufs);
	te_graph_free(x.g);
	isl_ctx_free(ctx);
}
END_TEST

/* Every .te file in examples/ parses and verifies at its default shape. */
START_TEST(test_defaults_verify)
{
	char dir[4096];
	DIR *d;
	struct dirent *e;
	int count = 0;
	isl_ctx *ctx = isl_ctx_alloc();

	snprintf(dir, sizeof dir, "%s/examples", source_root());
	d = opendir(dir);
	ck_assert_msg(d != NULL, "cannot open %s", dir);
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);
		if (len < 4 || strcmp(e->d_name + len - 3, ".te") != 0)
			continue;
		te_graph_free(load_example(e->d_name, NULL, 0, ctx));
		count++;
	}
	closedir(d);
	isl_ctx_free(ctx);
	ck_assert_msg(count >= NEXAMPLES, "only %d examples in %s", count, dir);
}
END_TEST

/* The suite is complete: each named operator has its file. */
START_TEST(test_complete)
{
	for (int i = 0; i < NEXAMPLES; i++) {
		char file[128], path[4096];
		FILE *f;
		snprintf(file, sizeof file, "%s.te", example_names[i]);
		example_path(path, sizeof path, file);
		f = fopen(path, "r");
		ck_assert_msg(f != NULL, "missing example %s", path);
		fclose(f);
	}
}
END_TEST

/* Every operator in the complete set has at least one evaluation case. */
START_TEST(test_all_evaluated)
{
	for (int i = 0; i < NEXAMPLES; i++) {
		int n = 0;
		for (int j = 0; j < NCASES; j++)
			n += strcmp(cases[j].name, example_names[i]) == 0;
		ck_assert_msg(n > 0, "no evaluation case for %s", example_names[i]);
	}
}
END_TEST

static Suite *examples_suite(void)
{
	Suite *s = suite_create("examples");
	TCase *tc;

	tc = tcase_create("complete");
	tcase_add_test(tc, test_complete);
	tcase_add_test(tc, test_all_evaluated);
	suite_add_tcase(s, tc);

	tc = tcase_create("defaults");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_defaults_verify);
	suite_add_tcase(s, tc);

	tc = tcase_create("eval");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_eval, 0, NCASES);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(examples_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
