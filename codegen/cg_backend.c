/*
 * cg_backend: the cpu, cuda and hls back ends, each one struct filled once
 * (cg_backend.h).  Their target options live here; their code generators
 * in cg_cpu.c, cg_cuda.c and cg_hls.c, their library writers in
 * cg_cpu_lib.c, cg_cuda_lib.c and cg_hls.c.
 */
#include "cg_backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cg_cuda.h"
#include "cg_hls.h"
#include "cg_lib.h"
#include "hls_model.h"
#include "lir_pipe.h"

/* The artifact of every back end: what it compiled, and from what. */
struct cg_artifact {
	const lir_func *f; /* borrowed */
	cg_target t;
	cg_module *m;      /* cpu: the module written */
	char *ir;          /* cpu: its LLVM IR, to compare with the JIT's */
	cg_cuda_prog *p;   /* cuda: kernels, launch sizes, PTX */
};

static cg_artifact *artifact_new(const lir_func *f, const cg_target *t, rt_error *err)
{
	cg_artifact *a = calloc(1, sizeof(*a));

	if (!a) {
		rt_error_set(err, 0, 0, "out of memory");
		return NULL;
	}
	a->f = f;
	a->t = *t;
	return a;
}

static cg_artifact *artifact_free(cg_artifact *a)
{
	if (!a)
		return NULL;
	cg_module_free(a->m);
	free(a->ir);
	cg_cuda_prog_free(a->p);
	free(a);
	return NULL;
}

/* A lint with nothing to refuse. */
static int lint_none(const lir_func *f, const cg_target *t, rt_error *err)
{
	(void)f;
	(void)t;
	(void)err;
	return 0;
}

/* ---- cpu ---- */

/* The host's: cg_target_parse starts from cg_target_host. */
static void cpu_defaults(cg_target *t)
{
	(void)t;
}

static int cpu_parse_opt(cg_target *t, const char *tok, rt_error *err)
{
	char *end;

	if (strncmp(tok, "-mcpu=", 6) == 0 && tok[6]) {
		snprintf(t->cpu, sizeof(t->cpu), "%s", tok + 6);
	} else if (strncmp(tok, "-mattr=", 7) == 0) {
		snprintf(t->features, sizeof(t->features), "%s", tok + 7);
	} else if (strncmp(tok, "-threads=", 9) == 0) {
		long n = strtol(tok + 9, &end, 10);

		if (end == tok + 9 || *end || n < 0 || n > 1024)
			return rt_error_set(err, 0, 0, "target: bad thread count in '%s'", tok);
		t->threads = (int)n;
	} else {
		return rt_error_set(err, 0, 0, "target: unknown cpu option '%s' (expected -mcpu=, -mattr=, -threads=)",
				    tok);
	}
	return 0;
}

static void cpu_print(const cg_target *t, char *out, int size)
{
	if (t->threads)
		snprintf(out, size, "cpu -mcpu=%s -threads=%d", t->cpu, t->threads);
	else
		snprintf(out, size, "cpu -mcpu=%s", t->cpu);
}

static cg_artifact *cpu_compile(const lir_func *f, const cg_target *t, rt_error *err)
{
	cg_artifact *a = artifact_new(f, t, err);

	if (a && (!(a->m = cg_cpu_compile(f, t, err)) || !(a->ir = cg_module_print(a->m)))) {
		rt_error_set(err, 0, 0, "out of memory printing the LLVM IR");
		a = artifact_free(a);
	}
	return a;
}

static cg_jit *cpu_jit(const cg_artifact *a, rt_error *err)
{
	cg_module *m = cg_cpu_compile(a->f, &a->t, err);
	char *ir = m ? cg_module_print(m) : NULL;
	bool same = ir && strcmp(ir, a->ir) == 0;

	free(ir);
	if (m && !same) {
		cg_module_free(m);
		rt_error_set(err, 0, 0, "internal error: two compilations of the same loop IR differ");
		return NULL;
	}
	return m ? cg_jit_new(m, err) : NULL;
}

static int cpu_write_library(const cg_artifact *a, const cg_lib_info *li, cg_library *lib, rt_error *err)
{
	rt_buf notes = {0};

	memset(lib, 0, sizeof(*lib));
	rt_buf_printf(&notes, "link: cc prog.c -I %s %s/lib%s.a %s/libftcrt.a -lpthread -lm\n", li->dir, li->dir,
		      li->name, li->dir);
	if (cg_cpu_library(a->m, li, lib, err) || !(lib->notes = rt_buf_take(&notes))) {
		free(notes.p);
		cg_library_release(lib);
		return rt_error_set(err, 0, 0, "out of memory");
	}
	return 0;
}

static const char *const cpu_outputs[] = {"%s.h", "%s.o", "lib%s.a", "libftcrt.a", "%s.ll", NULL};

/* ---- cuda ---- */

static void cuda_defaults(cg_target *t)
{
	t->sm = 80;
	t->max_threads_per_block = 1024;
	t->max_shared_bytes = 48 * 1024;
	t->max_regs_per_thread = 255;
}

static int cuda_parse_opt(cg_target *t, const char *tok, rt_error *err)
{
	char *end;
	long sm;

	if (strncmp(tok, "-arch=sm_", 9) != 0)
		return rt_error_set(err, 0, 0, "target: unknown cuda option '%s' (expected -arch=sm_NN)", tok);
	sm = strtol(tok + 9, &end, 10);
	if (end == tok + 9 || (*end && strcmp(end, "a") != 0) || sm < 50 || sm > 200)
		return rt_error_set(err, 0, 0, "target: bad architecture in '%s' (e.g. -arch=sm_90)", tok);
	t->sm = (int)sm;
	return 0;
}

static void cuda_print(const cg_target *t, char *out, int size)
{
	snprintf(out, size, "cuda -arch=sm_%d", t->sm);
}

/* The plan refuses what the GPU cannot launch (an extent that cannot be
 * bounded, shared memory beyond the target's). */
static int cuda_lint(const lir_func *f, const cg_target *t, rt_error *err)
{
	cg_cuda_prog *p = cg_cuda_plan(f, t, err);

	if (!p)
		return -1;
	cg_cuda_prog_free(p);
	return 0;
}

static cg_artifact *cuda_compile(const lir_func *f, const cg_target *t, rt_error *err)
{
	cg_artifact *a = artifact_new(f, t, err);

	if (a && !(a->p = cg_cuda_compile(f, t, err)))
		a = artifact_free(a);
	return a;
}

static int cuda_write_library(const cg_artifact *a, const cg_lib_info *li, cg_library *lib, rt_error *err)
{
	memset(lib, 0, sizeof(*lib));
	if (cg_cuda_library(a->p, li, lib, err)) {
		cg_library_release(lib);
		return -1;
	}
	return 0;
}

static const char *const cuda_outputs[] = {"%s.ptx", "%s.h", "%s.c", NULL};

/* ---- hls ---- */

/* FPGA parts ftc knows, with the resources the search may use. */
static const struct {
	const char *name;
	int dsp, bram18k, lut;
} hls_parts[] = {
	{"xcvu9p", 6840, 4320, 1182240},  /* Virtex UltraScale+ VU9P (FlexTensor's, AWS F1) */
	{"xcu250", 12288, 5376, 1728000}, /* Alveo U250 */
	{"xcu280", 9024, 4032, 1303680},  /* Alveo U280 */
	{"xczu9eg", 2520, 1824, 274080},  /* Zynq UltraScale+ ZU9EG (ZCU102) */
	{"xc7z020", 220, 280, 53200},     /* Zynq-7000 7Z020 (PYNQ-Z1) */
};

static int set_part(cg_target *t, const char *name, rt_error *err)
{
	char known[256] = "";
	size_t n = 0;

	for (size_t i = 0; i < sizeof(hls_parts) / sizeof(hls_parts[0]); i++) {
		if (strcmp(name, hls_parts[i].name) == 0) {
			snprintf(t->part, sizeof(t->part), "%s", name);
			t->dsp = hls_parts[i].dsp;
			t->bram18k = hls_parts[i].bram18k;
			t->lut = hls_parts[i].lut;
			return 0;
		}
		n += (size_t)snprintf(known + n, sizeof(known) - n, "%s%s", i ? ", " : "", hls_parts[i].name);
	}
	return rt_error_set(err, 0, 0, "target: unknown FPGA part '%s' (known: %s)", name, known);
}

/* "300MHz", "300", "0.3GHz" -> MHz. */
static int parse_clock(const char *s, double *mhz, rt_error *err)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || !(v > 0))
		return rt_error_set(err, 0, 0, "target: bad clock '%s' (e.g. -clock=300MHz)", s);
	if (*end == '\0' || strcasecmp(end, "MHz") == 0)
		*mhz = v;
	else if (strcasecmp(end, "GHz") == 0)
		*mhz = v * 1e3;
	else
		return rt_error_set(err, 0, 0, "target: bad clock unit in '%s' (MHz or GHz)", s);
	if (*mhz < 1 || *mhz > 2000)
		return rt_error_set(err, 0, 0, "target: clock %g MHz is out of range (1 to 2000)", *mhz);
	return 0;
}

static void hls_defaults(cg_target *t)
{
	t->clock_mhz = 300;
	set_part(t, "xcvu9p", NULL);
}

static int hls_parse_opt(cg_target *t, const char *tok, rt_error *err)
{
	if (strncmp(tok, "-part=", 6) == 0)
		return set_part(t, tok + 6, err);
	if (strncmp(tok, "-clock=", 7) == 0)
		return parse_clock(tok + 7, &t->clock_mhz, err);
	return rt_error_set(err, 0, 0, "target: unknown hls option '%s' (expected -part=, -clock=)", tok);
}

static void hls_print(const cg_target *t, char *out, int size)
{
	snprintf(out, size, "hls -part=%s -clock=%gMHz", t->part, t->clock_mhz);
}

static int hls_lint(const lir_func *f, const cg_target *t, rt_error *err)
{
	(void)t;
	return cg_hls_lint(f, err);
}

/* HLS C is written from the loop IR itself: the artifact is f. */
static cg_artifact *hls_compile(const lir_func *f, const cg_target *t, rt_error *err)
{
	return artifact_new(f, t, err);
}

/* The model's summary of f (malloc'd), or NULL with a line in `warn` (the
 * model cannot say, or out of memory); a line in `warn` too when the
 * model puts f over the part's budget. */
static char *hls_estimate_text(const cg_artifact *a, rt_buf *warn)
{
	hls_estimate e;
	char *text = malloc(4096);
	rt_error err;

	rt_error_clear(&err);
	if (!text || hls_model_estimate(a->f, &a->t, &e, &err)) {
		rt_buf_printf(warn, "no model estimate: %s\n", text ? err.msg : "out of memory");
		free(text);
		return NULL;
	}
	hls_estimate_summary(&e, &a->t, text, 4096);
	if (!e.fits)
		rt_buf_str(warn, "the model puts this schedule over the part's budget\n");
	return text;
}

/* The four files: kernel, header, testbench (against g lowered naively),
 * Vitis script.  0, or -1 with err set. */
static int hls_files(const cg_artifact *a, const cg_lib_info *li, const cg_hls_info *info, cg_library *lib,
		     rt_error *err)
{
	char refname[TE_MAX_NAME + 8];
	lir_func *ref;
	char *kernel;
	int rc = -1;

	snprintf(refname, sizeof(refname), "%s_ref", li->name);
	if (!(ref = lir_pipeline(li->g, li->ctx, NULL, refname, 0, err)))
		return -1;
	if (!(kernel = cg_hls_kernel(a->f, li->g, info, err)))
		goto out;
	if (cg_hls_lint_c(kernel, err)) {
		free(kernel);
		goto out;
	}
	if (cg_library_add_text(lib, li->name, ".c", kernel, err) ||
	    cg_library_add_text(lib, li->name, ".h", cg_hls_header(a->f, li->g, info, err), err) ||
	    cg_library_add_text(lib, li->name, "_tb.c", cg_hls_testbench(a->f, ref, li->g, info, err), err) ||
	    cg_library_add_text(lib, li->name, ".tcl", cg_hls_tcl(&a->t, info, err), err))
		goto out;
	rc = 0;
out:
	lir_func_free(ref);
	return rc;
}

static int hls_write_library(const cg_artifact *a, const cg_lib_info *li, cg_library *lib, rt_error *err)
{
	rt_buf notes = {0}, warn = {0};
	char *estimate = hls_estimate_text(a, &warn);
	cg_hls_info info = {li->name, li->target, li->schedule, estimate};
	const char *d = li->dir, *n = li->name;
	int rc = -1;

	memset(lib, 0, sizeof(*lib));
	if (hls_files(a, li, &info, lib, err))
		goto out;
	if (estimate)
		rt_buf_printf(&notes, "model estimate:\n%s", estimate);
	rt_buf_printf(&notes, "C simulation: cc -std=c11 -O2 -I %s %s/%s.c %s/%s_tb.c -lm -o %s_csim && ./%s_csim\n", d,
		      d, n, d, n, n, n);
	rt_buf_printf(&notes, "Vitis HLS:    cd %s && vitis_hls -f %s.tcl\n", d, n);
	if (notes.oom || warn.oom) {
		rt_error_set(err, 0, 0, "out of memory");
		goto out;
	}
	lib->notes = rt_buf_take(&notes);
	lib->warnings = warn.n ? rt_buf_take(&warn) : NULL;
	rc = 0;
out:
	if (rc)
		cg_library_release(lib);
	free(notes.p);
	free(warn.p);
	free(estimate);
	return rc;
}

static const char *const hls_outputs[] = {"%s.c", "%s.h", "%s_tb.c", "%s.tcl", NULL};

/* ---- the table ---- */

static const cg_backend backends[] = {
	{
		.name = "cpu",
		.kind = CG_TARGET_CPU,
		.measure = CG_MEASURE_RUN,
		.options = "[-mcpu=NAME] [-mattr=FEATURES] [-threads=N]",
		.host_code = true,
		.llvm_ir = true,
		.runtime_lib = true,
		.outputs = cpu_outputs,
		.defaults = cpu_defaults,
		.parse_opt = cpu_parse_opt,
		.print = cpu_print,
		.lint = lint_none,
		.compile = cpu_compile,
		.jit = cpu_jit,
		.write_library = cpu_write_library,
		.free = artifact_free,
	},
	{
		.name = "cuda",
		.kind = CG_TARGET_CUDA,
		.measure = CG_MEASURE_LAUNCH,
		.options = "[-arch=sm_NN]",
		.outputs = cuda_outputs,
		.defaults = cuda_defaults,
		.parse_opt = cuda_parse_opt,
		.print = cuda_print,
		.lint = cuda_lint,
		.compile = cuda_compile,
		.write_library = cuda_write_library,
		.free = artifact_free,
	},
	{
		.name = "hls",
		.kind = CG_TARGET_HLS,
		.measure = CG_MEASURE_MODEL,
		.options = "[-part=P] [-clock=F]",
		.outputs = hls_outputs,
		.defaults = hls_defaults,
		.parse_opt = hls_parse_opt,
		.print = hls_print,
		.lint = hls_lint,
		.compile = hls_compile,
		.write_library = hls_write_library,
		.free = artifact_free,
	},
};

#define NBACKENDS (sizeof(backends) / sizeof(backends[0]))

const cg_backend *cg_backend_of(cg_target_kind k)
{
	for (size_t i = 0; i < NBACKENDS; i++)
		if (backends[i].kind == k)
			return &backends[i];
	return &backends[0];
}

const cg_backend *cg_backend_named(const char *name)
{
	for (size_t i = 0; i < NBACKENDS; i++)
		if (strcmp(backends[i].name, name) == 0)
			return &backends[i];
	return NULL;
}

const char *cg_backend_names(void)
{
	return "cpu, cuda or hls";
}
