/*
 * bench_suite: time ftc's kernel for one operator of examples/ against
 * the best library primitive for the same computation, in one process.
 *
 *   bench_suite OP [--te FILE --kind KIND] [--schedule F] [--threads T]
 *                  [--rounds N] [--min-time S] [--ref] [--alone]
 *
 * ftc's kernel is examples/OP.te under the schedule F (default: examples/
 * OP.sched) for target "cpu -threads=T", JIT-compiled through the codegen
 * API.  --te names another .te file (bench/suite.sh's YOLO layers: conv2d.te
 * at other shapes), whose library baseline is that of examples/KIND.te;
 * OP is then only its name in the report, and --schedule is required.  The libraries (bench_ops.c) run on the same inputs with T threads;
 * every library that writes the user's output is first checked against
 * ftc's output (te_compare's tolerance; a mismatch is an error: a baseline
 * computing something else is a bug), and --ref also checks ftc's output
 * against the reference interpreter.  Then rounds run ftc and every library
 * in turn (bench_interleave: A B A B ..., each timed for at least S
 * seconds, its median kept); a candidate's result is the median over the
 * rounds, its spread the range of its round medians, and the ratio
 * library/ftc of each round gives the ratio's range.  The baseline is the
 * fastest "fair" library (the user's layouts in and out).
 *
 * --alone times the libraries without ftc in the rounds (ftc's kernel is
 * still built and checked, never timed): the cross-check that sharing the
 * process with ftc did not slow them down.
 *
 * stderr gets the rounds; stdout gets one JSON object (bench/suite.sh
 * gathers them).  OMP_WAIT_POLICY must be "passive" (oneDNN's OpenMP
 * threads otherwise spin on the cores ftc's pool needs) and
 * OPENBLAS_CORETYPE set (OpenBLAS reads both when it loads, before main).
 */
#include <omp.h>
#include <openblas_config.h>
#undef OPENBLAS_OS_LINUX /* see bench_gemm.c: ir/sched.h shadows <sched.h> */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_suite.h"
#include "lir.h"
#include "rt_alloc.h"
#include "te_interp.h"

#define BS_MAX_ROUNDS 32 /* --rounds */
#define BS_MAX_THREADS 1024

static const char usage[] = "usage: bench_suite OP [--te FILE --kind KIND] [--schedule F] [--threads T] "
			    "[--rounds N (3..32, default 7)] [--min-time S] [--ref] [--alone]\n";

typedef struct bs_opts {
	const char *op, *schedule;
	const char *te, *kind; /* --te: OP's .te file when not examples/OP.te; --kind: its baseline */
	int threads, rounds;
	double min_time;
	bool ref, alone;
} bs_opts;

/* ---- what bench_ops.c uses ---- */

long bs_param(const bs_run *r, const char *name, long def)
{
	for (int i = 0; i < r->nparams; i++)
		if (!strcmp(r->pnames[i], name))
			return r->pvals[i];
	return def;
}

float *bs_buf(const bs_run *r, const char *name)
{
	const te_stage *s = te_graph_find(r->ftc.g, name);

	return s ? r->bufs[s->id] : NULL;
}

int bs_add_lib(bs_run *r, const char *name, int (*fn)(void *), void *ctx, bool fair, bool check,
	       const char *impl)
{
	bs_lib *l;

	if (r->nlibs == BS_MAX_LIBS) {
		fprintf(stderr, "bench_suite: %s: more than BS_MAX_LIBS (%d) libraries\n", r->op,
			BS_MAX_LIBS);
		return -1;
	}
	l = &r->libs[r->nlibs++];
	snprintf(l->name, sizeof(l->name), "%s", name);
	snprintf(l->impl, sizeof(l->impl), "%s", impl);
	l->fn = fn;
	l->ctx = ctx;
	l->fair = fair;
	l->check = check;
	return 0;
}

bdnn *bs_new_dnn(bs_run *r)
{
	if (r->ndnn == BS_MAX_LIBS) {
		fprintf(stderr, "bench_suite: %s: more than %d oneDNN primitives\n", r->op,
			BS_MAX_LIBS);
		return NULL;
	}
	return bdnn_open(&r->dnn[r->ndnn]) ? NULL : &r->dnn[r->ndnn++];
}

/* ---- setup ---- */

/* The integer params ("param NAME = 123, ...") of the .te text; params
 * given by expressions are skipped (the graph has their values as shapes). */
static void read_params(bs_run *r, const char *text)
{
	for (const char *line = text; line && *line; line = strchr(line, '\n'), line += !!line) {
		const char *p = line;

		if (strncmp(p, "param ", 6))
			continue;
		for (p += 6; *p && *p != '\n';) {
			char name[16];
			long v;
			int used = 0;

			if (sscanf(p, " %15[A-Za-z0-9_] = %ld%n", name, &v, &used) == 2 &&
			    (p[used] == ',' || p[used] == '\n' || p[used] == '\0') &&
			    r->nparams < BS_MAX_PARAMS) {
				snprintf(r->pnames[r->nparams], sizeof(r->pnames[0]), "%s", name);
				r->pvals[r->nparams++] = v;
			}
			while (*p && *p != ',' && *p != '\n')
				p++;
			p += *p == ',';
		}
	}
}

static int load_params(bs_run *r, const char *te_path)
{
	FILE *f = fopen(te_path, "rb");
	char text[16384];
	size_t n;

	if (!f) {
		fprintf(stderr, "bench_suite: cannot open %s\n", te_path);
		return -1;
	}
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	read_params(r, text);
	return 0;
}

/* Buffers for every input (seeded random) and the one output. */
static int alloc_bufs(bs_run *r)
{
	int ns = te_graph_nstages(r->ftc.g);

	if (!(r->bufs = calloc(ns, sizeof(void *))))
		return -1;
	for (int i = 0; i < ns; i++) {
		const te_stage *s = te_graph_stage(r->ftc.g, i);

		if (s->type != TE_F32) {
			fprintf(stderr, "bench_suite: %s: stage %s is not f32\n", r->op, s->name);
			return -1;
		}
		if (s->kind == TE_STAGE_INPUT || s->is_output) {
			if (!(r->bufs[i] = rt_alloc(te_stage_bytes(s))))
				return -1;
			r->bytes += (double)te_stage_bytes(s);
		}
		if (s->kind == TE_STAGE_INPUT)
			te_random_fill(s, r->bufs[i], 1);
		else if (s->is_output && r->out) {
			fprintf(stderr, "bench_suite: %s: more than one output\n", r->op);
			return -1;
		} else if (s->is_output)
			r->out = s;
	}
	if (!r->out || !(r->out_lib = rt_alloc(te_stage_bytes(r->out))))
		return -1;
	for (int i = 0; i < lir_func_nparams(r->ftc.f); i++) { /* parameters by stage name */
		const lir_buffer *b = lir_func_buffer(r->ftc.f, lir_func_param(r->ftc.f, i));
		const te_stage *s = te_graph_find(r->ftc.g, b->name);

		if (!s || !r->bufs[s->id]) {
			fprintf(stderr, "bench_suite: %s: kernel parameter %s is no input or output\n",
				r->op, b->name);
			return -1;
		}
		r->ftc.args[i] = r->bufs[s->id];
	}
	return 0;
}

static int setup(bs_run *r, const bs_opts *o)
{
	char te[4096], rel[512], def[4096], target[64];

	r->op = o->op;
	r->kind = o->kind ? o->kind : o->op;
	r->threads = o->threads;
	snprintf(rel, sizeof(rel), "examples/%s.te", o->op);
	if (o->te)
		snprintf(te, sizeof(te), "%s", o->te);
	else
		bench_src(te, sizeof(te), rel);
	if (!o->schedule && o->te) {
		fprintf(stderr, "bench_suite: %s: give --schedule with --te\n", o->op);
		return -1;
	}
	if (!o->schedule) {
		snprintf(rel, sizeof(rel), "examples/%s.sched", o->op);
		bench_src(def, sizeof(def), rel);
	}
	snprintf(target, sizeof(target), "cpu -threads=%d", o->threads);
	if (load_params(r, te) ||
	    bench_ftc_build(&r->ftc, te, o->schedule ? o->schedule : def, target, NULL))
		return -1;
	if (alloc_bufs(r)) {
		fprintf(stderr, "bench_suite: %s: allocating the buffers failed\n", r->op);
		return -1;
	}
	omp_set_num_threads(o->threads);
	openblas_set_num_threads(o->threads);
	return bs_ops_setup(r);
}

static void run_free(bs_run *r)
{
	for (int i = 0; i < r->ndnn; i++)
		bdnn_free(&r->dnn[i]);
	free(r->lib_ctx);
	if (r->bufs)
		for (int i = 0; i < te_graph_nstages(r->ftc.g); i++)
			rt_free(r->bufs[i]);
	free(r->bufs);
	rt_free(r->out_lib);
	bench_ftc_free(&r->ftc);
}

/* ---- checking ---- */

/* ftc's output against the reference interpreter. */
static int check_ref(bs_run *r)
{
	void *want = rt_alloc(te_stage_bytes(r->out));
	void **bufs = calloc(te_graph_nstages(r->ftc.g), sizeof(void *));
	rt_error err;
	te_cmp c = {0};
	int rc = -1;

	rt_error_clear(&err);
	if (want && bufs) {
		memcpy(bufs, r->bufs, te_graph_nstages(r->ftc.g) * sizeof(void *));
		bufs[r->out->id] = want;
		if (te_interp_run(r->ftc.g, bufs, &err))
			fprintf(stderr, "bench_suite: %s: the reference failed: %s\n", r->op, err.msg);
		else if (!(c = te_compare(r->out, r->bufs[r->out->id], want)).ok)
			fprintf(stderr, "bench_suite: %s: ftc differs from the reference: max abs %.3g\n",
				r->op, c.max_abs);
		else
			rc = 0;
	}
	fprintf(stderr, "%s: ftc vs the reference interpreter: %s\n", r->op, rc ? "FAILED" : "ok");
	rt_free(want);
	free(bufs);
	return rc;
}

/* ftc's output, then every checked library's, compared with it. */
static int check_libs(bs_run *r, double *worst)
{
	const float *got = r->bufs[r->out->id];

	*worst = 0;
	for (int i = 0; i < r->nlibs; i++) {
		bs_lib *l = &r->libs[i];
		te_cmp c;
		double e;

		if (!l->check)
			continue;
		memset(r->out_lib, 0, te_stage_bytes(r->out));
		if (l->fn(l->ctx)) {
			fprintf(stderr, "bench_suite: %s: %s failed\n", r->op, l->name);
			return -1;
		}
		c = te_compare(r->out, got, r->out_lib);
		e = bench_rel_err(got, r->out_lib, te_stage_numel(r->out));
		fprintf(stderr, "%s: ftc vs %s: max|d|/max|ref| %.3g, %s\n", r->op, l->name, e,
			c.ok ? "within tolerance" : "MISMATCH");
		if (!c.ok)
			return -1;
		if (e > *worst)
			*worst = e;
	}
	return 0;
}

/* ---- timing and the report ---- */

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++)
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s >= 0x20)
			putchar(*s);
	putchar('"');
}

static void range(const double *x, int n, double *lo, double *hi)
{
	*lo = *hi = x[0];
	for (int i = 1; i < n; i++) {
		*lo = x[i] < *lo ? x[i] : *lo;
		*hi = x[i] > *hi ? x[i] : *hi;
	}
}

static void json_cand(const bs_run *r, const bench_cand *c, int rounds)
{
	double lo, hi;

	range(c->med, rounds, &lo, &hi);
	printf("\"seconds\": %.6g, \"min\": %.6g, \"max\": %.6g, \"gflops\": %.4g", c->result, lo,
	       hi, r->flops / c->result * 1e-9);
}

/* The fastest fair library (cands[1 + i] is library i), or -1. */
static int baseline(const bs_run *r, const bench_cand *c)
{
	int best = -1;

	for (int i = 0; i < r->nlibs; i++)
		if (r->libs[i].fair && (best < 0 || c[1 + i].result < c[1 + best].result))
			best = i;
	return best;
}

static void report(const bs_run *r, const bench_cand *c, const bs_opts *o, double err,
		   const char *load0, const char *load1)
{
	int b = baseline(r, c);
	double q[BS_MAX_ROUNDS], lo, hi;

	for (int k = 0; k < o->rounds; k++)
		q[k] = c[1 + b].med[k] / c[0].med[k];
	range(q, o->rounds, &lo, &hi);
	printf("{\"op\": ");
	json_str(r->op);
	printf(", \"threads\": %d, \"rounds\": %d, \"min_time\": %g, \"flops\": %.6g, \"bytes\": "
	       "%.6g, \"schedule\": ",
	       r->threads, o->rounds, o->min_time, r->flops, r->bytes);
	json_str(o->schedule ? o->schedule : "(the example's .sched)");
	printf(", \"openblas_core\": ");
	json_str(openblas_get_corename());
	printf(", \"load_before\": ");
	json_str(load0);
	printf(", \"load_after\": ");
	json_str(load1);
	printf(", \"max_rel_err\": %.3g, \"compile_s\": %.3f,\n  \"ftc\": {", err, r->ftc.compile_s);
	json_cand(r, &c[0], o->rounds);
	printf("},\n  \"libs\": [");
	for (int i = 0; i < r->nlibs; i++) {
		printf("%s{\"name\": ", i ? ",\n    " : "");
		json_str(r->libs[i].name);
		printf(", \"fair\": %s, \"impl\": ", r->libs[i].fair ? "true" : "false");
		json_str(r->libs[i].impl);
		printf(", ");
		json_cand(r, &c[1 + i], o->rounds);
		printf(", \"ratio\": %.4g}", c[1 + i].result / c[0].result);
	}
	printf("],\n  \"baseline\": ");
	json_str(r->libs[b].name);
	printf(", \"ratio\": %.4g, \"ratio_min\": %.4g, \"ratio_max\": %.4g}\n",
	       c[1 + b].result / c[0].result, lo, hi);
}

/* --alone: the libraries' times only. */
static void report_alone(const bs_run *r, const bench_cand *c, const bs_opts *o, const char *load0,
			 const char *load1)
{
	printf("{\"op\": ");
	json_str(r->op);
	printf(", \"threads\": %d, \"alone\": true, \"load_before\": ", r->threads);
	json_str(load0);
	printf(", \"load_after\": ");
	json_str(load1);
	printf(", \"libs\": [");
	for (int i = 0; i < r->nlibs; i++) {
		printf("%s{\"name\": ", i ? ", " : "");
		json_str(r->libs[i].name);
		printf(", ");
		json_cand(r, &c[1 + i], o->rounds);
		printf("}");
	}
	printf("]}\n");
}

static void loadavg(char *out, int size)
{
	FILE *f = fopen("/proc/loadavg", "r");
	double a = 0, b = 0, c = 0;

	if (!f || fscanf(f, "%lf %lf %lf", &a, &b, &c) != 3)
		snprintf(out, size, "unknown");
	else
		snprintf(out, size, "%.2f %.2f %.2f", a, b, c);
	if (f)
		fclose(f);
}

static int time_all(bs_run *r, const bs_opts *o, double err)
{
	bench_cand c[1 + BS_MAX_LIBS];
	char load0[64], load1[64];

	memset(c, 0, sizeof(c));
	c[0] = (bench_cand){.name = "ftc", .fn = bench_ftc_call, .ctx = &r->ftc};
	for (int i = 0; i < r->nlibs; i++)
		c[1 + i] = (bench_cand){.name = r->libs[i].name, .fn = r->libs[i].fn,
					.ctx = r->libs[i].ctx};
	loadavg(load0, sizeof(load0));
	fprintf(stderr, "%s, %d thread(s), load average %s:\n", r->op, r->threads, load0);
	if (bench_interleave(c + o->alone, 1 + r->nlibs - o->alone, o->rounds, o->min_time))
		return -1;
	loadavg(load1, sizeof(load1));
	fprintf(stderr, "load average after: %s\n", load1);
	if (o->alone)
		report_alone(r, c, o, load0, load1);
	else
		report(r, c, o, err, load0, load1);
	return 0;
}

/* ---- main ---- */

static int parse(int argc, char **argv, bs_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->threads = 1;
	o->rounds = 7;
	o->min_time = 0.2;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--ref"))
			o->ref = true;
		else if (!strcmp(a, "--alone"))
			o->alone = true;
		else if (a[0] != '-' && !o->op)
			o->op = a;
		else if (!v)
			return -1;
		else if (!strcmp(a, "--schedule"))
			o->schedule = argv[++i];
		else if (!strcmp(a, "--te"))
			o->te = argv[++i];
		else if (!strcmp(a, "--kind"))
			o->kind = argv[++i];
		else if (!strcmp(a, "--threads"))
			o->threads = atoi(argv[++i]);
		else if (!strcmp(a, "--rounds"))
			o->rounds = atoi(argv[++i]);
		else if (!strcmp(a, "--min-time"))
			o->min_time = atof(argv[++i]);
		else
			return -1;
	}
	return o->op && o->threads >= 1 && o->threads <= BS_MAX_THREADS && o->rounds >= 3 &&
			   o->rounds <= BS_MAX_ROUNDS && o->min_time > 0
		       ? 0
		       : -1;
}

/* The environment traps of ANCHORS.md: refuse rather than mismeasure. */
static int check_env(void)
{
	const char *wait = getenv("OMP_WAIT_POLICY"), *core = getenv("OPENBLAS_CORETYPE");

	if (!wait || strcmp(wait, "passive")) {
		fprintf(stderr, "bench_suite: set OMP_WAIT_POLICY=passive (now: %s): oneDNN's "
				"spinning OpenMP threads would steal ftc's cores\n",
			wait ? wait : "unset");
		return -1;
	}
	if (!core) {
		fprintf(stderr, "bench_suite: set OPENBLAS_CORETYPE (e.g. SkylakeX) so that "
				"OpenBLAS runs a known kernel\n");
		return -1;
	}
	fprintf(stderr, "OPENBLAS_CORETYPE=%s (OpenBLAS runs its %s kernel), OMP_WAIT_POLICY=%s\n",
		core, openblas_get_corename(), wait);
	return 0;
}

int main(int argc, char **argv)
{
	bs_opts o;
	bs_run r;
	double err = 0;
	int rc = 1;

	if (parse(argc, argv, &o)) {
		fputs(usage, stderr);
		return 2;
	}
	if (check_env())
		return 2;
	memset(&r, 0, sizeof(r));
	if (setup(&r, &o) || r.ftc.fn(r.ftc.args) || (o.ref && check_ref(&r)) ||
	    check_libs(&r, &err) || time_all(&r, &o, err))
		goto out;
	rc = 0;
out:
	if (rc)
		fprintf(stderr, "bench_suite: %s at %d thread(s) failed\n", o.op, o.threads);
	run_free(&r);
	return rc;
}
