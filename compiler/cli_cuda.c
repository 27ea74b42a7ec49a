/*
 * cli_cuda: ftc compile, run and tune for a cuda target (cli_cuda.h).
 *
 * The launcher written by ftc compile declares the few driver API types
 * and functions it calls and finds them with dlopen("libcuda.so.1"), so it
 * needs neither CUDA headers nor -lcuda: `cc -c NAME.c` builds it and the
 * program links with -ldl (glibc before 2.34) only.
 */
#include "cli_cuda.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cg_cuda.h"
#include "cli_verify.h"
#include "lower.h"
#include "rt_cuda.h"
#include "sched.h"
#include "srch_cuda.h"

#ifndef FTC_VERSION
#define FTC_VERSION "0.1.0"
#endif

static const char no_driver_tail[] =
	"ftc compile --target cuda works without one; FTC_CUDA_EMULATE=1 runs the kernels on the CPU emulator "
	"(results only, no timings)";

/* ---- a growable text ---- */

typedef struct text {
	char *s;
	size_t n, cap;
	bool oom;
} text;

static void put_n(text *t, const char *s, size_t n)
{
	if (t->oom)
		return;
	if (t->cap - t->n < n + 1) {
		size_t cap = (t->cap + n + 1) * 2;
		char *p = realloc(t->s, cap);

		if (!p) {
			t->oom = true;
			return;
		}
		t->s = p;
		t->cap = cap;
	}
	memcpy(t->s + t->n, s, n);
	t->n += n;
	t->s[t->n] = '\0';
}

__attribute__((format(printf, 2, 3))) static void put(text *t, const char *fmt, ...)
{
	char small[1024], *big;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		t->oom = true;
	} else if ((size_t)n < sizeof(small)) {
		put_n(t, small, (size_t)n);
	} else if ((big = malloc((size_t)n + 1))) {
		va_start(ap, fmt);
		vsnprintf(big, (size_t)n + 1, fmt, ap);
		va_end(ap);
		put_n(t, big, (size_t)n);
		free(big);
	} else {
		t->oom = true;
	}
}

/* Lines of `s` as a C comment, each after `prefix`, with no comment end. */
static void put_comment(text *t, const char *prefix, const char *s)
{
	while (*s) {
		size_t len = strcspn(s, "\n");

		put(t, "%s", prefix);
		for (size_t i = 0; i < len; i++) {
			put_n(t, s + i, 1);
			if (s[i] == '*' && i + 1 < len && s[i + 1] == '/')
				put_n(t, " ", 1);
		}
		put_n(t, "\n", 1);
		s += len + (s[len] == '\n');
	}
}

/* s as C string literals, one source line per line of s. */
static void put_c_string(text *t, const char *s)
{
	while (*s) {
		size_t len = strcspn(s, "\n");

		put_n(t, "\t\"", 2);
		for (size_t i = 0; i < len; i++) {
			unsigned char c = (unsigned char)s[i];

			if (c == '"' || c == '\\')
				put(t, "\\%c", c);
			else if (c == '\t')
				put_n(t, "\\t", 2);
			else if (c < 0x20 || c >= 0x7f)
				put(t, "\\%03o", c);
			else
				put_n(t, s + i, 1);
		}
		put(t, "%s\"\n", s[len] == '\n' ? "\\n" : "");
		s += len + (s[len] == '\n');
	}
}

/* ---- names and types ---- */

static const char *const keywords[] = {
	"auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else", "enum", "extern",
	"float", "for", "goto", "if", "inline", "int", "long", "register", "restrict", "return", "short", "signed",
	"sizeof", "static", "struct", "switch", "typedef", "union", "unsigned", "void", "volatile", "while",
	"bool", "true", "false", "class", "new", "delete", "this", "template", "typename", "namespace", "operator",
	"int32_t", "uintptr_t",
};

/* The C parameter name of a tensor: '_' appended while it is a keyword. */
static void param_name(const char *tensor, char *out, size_t n)
{
	bool again = true;

	snprintf(out, n, "%s", tensor);
	while (again && strlen(out) + 1 < n) {
		again = false;
		for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
			if (strcmp(out, keywords[i]) == 0) {
				strcat(out, "_");
				again = true;
			}
	}
}

static const char *c_type(te_dtype t)
{
	return t == TE_F64 ? "double" : t == TE_I32 ? "int32_t" : "float";
}

static bool is_param(const te_stage *s, int pass)
{
	return pass == 0 ? s->kind == TE_STAGE_INPUT : s->kind == TE_STAGE_COMPUTE && s->is_output;
}

/* "const float *A, const float *B, float *C" */
static void put_params(text *t, const te_graph *g)
{
	char pname[TE_MAX_NAME + 8];
	int k = 0;

	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < te_graph_nstages(g); i++) {
			const te_stage *s = te_graph_stage(g, i);

			if (!is_param(s, pass))
				continue;
			param_name(s->name, pname, sizeof(pname));
			put(t, "%s%s%s *%s", k++ ? ", " : "", pass == 0 ? "const " : "", c_type(s->type), pname);
		}
}

/* ---- NAME.h ---- */

typedef struct unit {
	const te_graph *g;
	const cg_cuda_prog *p;
	const char *name, *target, *schedule, *file;
} unit;

static void put_kernels_comment(text *t, const cg_cuda_prog *p)
{
	put(t, " * Kernels, launched in this order on the default stream:\n");
	for (int i = 0; i < p->nkernels; i++) {
		const cg_cuda_kernel *k = &p->kernels[i];

		put(t, " *   %s: grid %lldx%lldx%lld, block %dx%dx%d, %lld bytes of shared memory\n", k->name,
		    (long long)k->grid[0], (long long)k->grid[1], (long long)k->grid[2], k->block[0], k->block[1],
		    k->block[2], (long long)k->shared_bytes);
	}
	if (p->ntemps)
		put(t, " * and %d device buffers of intermediate results, allocated by %s_load().\n", p->ntemps,
		    p->name);
}

static void header(text *t, const unit *u)
{
	char *te = te_graph_print(u->g, false);
	char guard[160];

	snprintf(guard, sizeof(guard), "FTC_CUDA_%s_H", u->name);
	put(t, "/*\n * %s: generated by ftc %s for %s from %s.\n *\n * It computes:\n", u->name, FTC_VERSION,
	    u->target, u->file ? u->file : "a te graph");
	put_comment(t, " *   ", te ? te : "(out of memory)");
	put(t, " *\n * Schedule:\n");
	put_comment(t, " *   ", u->schedule[0] ? u->schedule : "(none)");
	put(t, " *\n");
	put_kernels_comment(t, u->p);
	put(t, " *\n * Build: cc -c %s.c; link the program with -ldl (glibc < 2.34). The driver\n"
	       " * (libcuda.so.1) is opened at run time; no CUDA header or library is needed.\n */\n",
	    u->name);
	put(t, "#ifndef %s\n#define %s\n\n#include <stdint.h>\n\n#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n",
	    guard, guard);
	put(t, "/* Load the kernels into the current CUDA context (device 0's primary context\n"
	       " * when none is current) and allocate the intermediate buffers.  Returns 0,\n"
	       " * or -1 (%s_error() says why).  %s() calls it on first use. */\n"
	       "int %s_load(void);\n\n",
	    u->name, u->name, u->name);
	put(t, "/* Launch the kernels on the default stream (asynchronously: synchronize\n"
	       " * before reading the outputs).  Arguments are device pointers aligned to\n"
	       " * 16 bytes (cudaMalloc's are), row-major, inputs then outputs.  Returns 0,\n"
	       " * or -1 (%s_error() says why). */\nint %s(",
	    u->name, u->name);
	put_params(t, u->g);
	put(t, ");\n\n/* The last error of %s_load() or %s(), \"\" when none. */\n"
	       "const char *%s_error(void);\n\n"
	       "/* Release the kernels and the intermediate buffers. */\nvoid %s_unload(void);\n\n",
	    u->name, u->name, u->name, u->name);
	put(t, "#ifdef __cplusplus\n}\n#endif\n\n#endif\n");
	free(te);
}

/* ---- NAME.c: the launcher ---- */

/* Driver entry points the launcher uses: field, symbol, prototype. */
static const struct {
	const char *field, *symbol, *type;
} launcher_api[] = {
	{"Init", "cuInit", "CUresult (*%s)(unsigned)"},
	{"DeviceGet", "cuDeviceGet", "CUresult (*%s)(CUdevice *, int)"},
	{"CtxGetCurrent", "cuCtxGetCurrent", "CUresult (*%s)(CUcontext *)"},
	{"CtxSetCurrent", "cuCtxSetCurrent", "CUresult (*%s)(CUcontext)"},
	{"PrimaryCtxRetain", "cuDevicePrimaryCtxRetain", "CUresult (*%s)(CUcontext *, CUdevice)"},
	{"PrimaryCtxRelease", "cuDevicePrimaryCtxRelease_v2", "CUresult (*%s)(CUdevice)"},
	{"ModuleLoadData", "cuModuleLoadData", "CUresult (*%s)(CUmodule *, const void *)"},
	{"ModuleGetFunction", "cuModuleGetFunction", "CUresult (*%s)(CUfunction *, CUmodule, const char *)"},
	{"ModuleUnload", "cuModuleUnload", "CUresult (*%s)(CUmodule)"},
	{"MemAlloc", "cuMemAlloc_v2", "CUresult (*%s)(CUdeviceptr *, size_t)"},
	{"MemFree", "cuMemFree_v2", "CUresult (*%s)(CUdeviceptr)"},
	{"LaunchKernel", "cuLaunchKernel",
	 "CUresult (*%s)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, "
	 "void *, void **, void **)"},
	{"GetErrorString", "cuGetErrorString", "CUresult (*%s)(CUresult, const char **)"},
};

#define NAPI (sizeof(launcher_api) / sizeof(launcher_api[0]))

static void launcher_state(text *t, const unit *u)
{
	const cg_cuda_prog *p = u->p;
	int nk = p->nkernels > 0 ? p->nkernels : 1, nt = p->ntemps > 0 ? p->ntemps : 1;

	put(t, "typedef int CUresult;\ntypedef int CUdevice;\ntypedef void *CUcontext, *CUmodule, *CUfunction;\n"
	       "typedef unsigned long long CUdeviceptr;\n\n");
	put(t, "static const char ptx[] =\n");
	put_c_string(t, p->ptx);
	put(t, "\t\"\";\n\nstatic const struct {\n\tconst char *name;\n\tunsigned grid[3], block[3];\n} kernels[%d] = {\n",
	    nk);
	if (p->nkernels == 0)
		put(t, "\t{\"\", {0u, 0u, 0u}, {0u, 0u, 0u}},\n");
	for (int i = 0; i < p->nkernels; i++) {
		const cg_cuda_kernel *k = &p->kernels[i];

		put(t, "\t{\"%s\", {%lldu, %lldu, %lldu}, {%du, %du, %du}},\n", k->name, (long long)k->grid[0],
		    (long long)k->grid[1], (long long)k->grid[2], k->block[0], k->block[1], k->block[2]);
	}
	put(t, "};\n\nstatic const unsigned long long temp_bytes[%d] = {", nt);
	for (int i = 0; i < p->ntemps; i++)
		put(t, "%s%lldu", i ? ", " : "", (long long)p->temp_bytes[i]);
	put(t, "%s};\n\n", p->ntemps ? "" : "0");
	put(t, "static struct state {\n\tvoid *lib;\n\tint loaded, retained;\n\tCUdevice dev;\n\tCUmodule mod;\n"
	       "\tCUfunction fn[%d];\n\tCUdeviceptr temp[%d];\n\tchar err[512];\n",
	    nk, nt);
	for (size_t i = 0; i < NAPI; i++) {
		char field[64];

		snprintf(field, sizeof(field), "%s", launcher_api[i].field);
		put(t, "\t");
		put(t, launcher_api[i].type, field);
		put(t, ";\n");
	}
	put(t, "} st;\n\n");
}

static const char launcher_load[] =
	"static int fail(const char *what, CUresult r)\n"
	"{\n"
	"\tconst char *s = NULL;\n"
	"\n"
	"\tif (r && st.GetErrorString)\n"
	"\t\tst.GetErrorString(r, &s);\n"
	"\tif (r)\n"
	"\t\tsnprintf(st.err, sizeof(st.err), \"%s: %s: CUDA error %d%s%s\", NAME_STR, what, r, s ? \": \" : \"\", s ? s : \"\");\n"
	"\telse\n"
	"\t\tsnprintf(st.err, sizeof(st.err), \"%s: %s\", NAME_STR, what);\n"
	"\treturn -1;\n"
	"}\n"
	"\n"
	"static int resolve(void)\n"
	"{\n"
	"\tstatic const struct { const char *name; size_t offset; } syms[] = {\n"
	"SYMS"
	"\t};\n"
	"\n"
	"\tif (!(st.lib = dlopen(\"libcuda.so.1\", RTLD_NOW | RTLD_LOCAL)))\n"
	"\t\treturn fail(\"no CUDA driver (libcuda.so.1 not found)\", 0);\n"
	"\tfor (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {\n"
	"\t\tvoid *p = dlsym(st.lib, syms[i].name);\n"
	"\n"
	"\t\tif (!p)\n"
	"\t\t\treturn fail(\"the CUDA driver is too old (a function is missing)\", 0);\n"
	"\t\tmemcpy((char *)&st + syms[i].offset, &p, sizeof(p));\n"
	"\t}\n"
	"\treturn 0;\n"
	"}\n"
	"\n"
	"static int load(void)\n"
	"{\n"
	"\tCUcontext ctx = NULL;\n"
	"\tCUresult r;\n"
	"\n"
	"\tif (resolve())\n"
	"\t\treturn -1;\n"
	"\tif ((r = st.Init(0)))\n"
	"\t\treturn fail(\"cuInit\", r);\n"
	"\tif ((r = st.CtxGetCurrent(&ctx)))\n"
	"\t\treturn fail(\"cuCtxGetCurrent\", r);\n"
	"\tif (!ctx) {\n"
	"\t\tif ((r = st.DeviceGet(&st.dev, 0)) || (r = st.PrimaryCtxRetain(&ctx, st.dev)))\n"
	"\t\t\treturn fail(\"cuDevicePrimaryCtxRetain\", r);\n"
	"\t\tst.retained = 1;\n"
	"\t\tif ((r = st.CtxSetCurrent(ctx)))\n"
	"\t\t\treturn fail(\"cuCtxSetCurrent\", r);\n"
	"\t}\n"
	"\tif ((r = st.ModuleLoadData(&st.mod, ptx)))\n"
	"\t\treturn fail(\"cuModuleLoadData\", r);\n"
	"\tfor (int i = 0; i < NKERNELS; i++)\n"
	"\t\tif ((r = st.ModuleGetFunction(&st.fn[i], st.mod, kernels[i].name)))\n"
	"\t\t\treturn fail(kernels[i].name, r);\n"
	"\tfor (int i = 0; i < NTEMPS; i++)\n"
	"\t\tif ((r = st.MemAlloc(&st.temp[i], temp_bytes[i])))\n"
	"\t\t\treturn fail(\"cuMemAlloc\", r);\n"
	"\tst.loaded = 1;\n"
	"\tst.err[0] = '\\0';\n"
	"\treturn 0;\n"
	"}\n"
	"\n"
	"const char *NAME_error(void)\n"
	"{\n"
	"\treturn st.err;\n"
	"}\n"
	"\n"
	"void NAME_unload(void)\n"
	"{\n"
	"\tfor (int i = 0; i < NTEMPS; i++)\n"
	"\t\tif (st.temp[i])\n"
	"\t\t\tst.MemFree(st.temp[i]);\n"
	"\tif (st.mod)\n"
	"\t\tst.ModuleUnload(st.mod);\n"
	"\tif (st.retained)\n"
	"\t\tst.PrimaryCtxRelease(st.dev);\n"
	"\tif (st.lib)\n"
	"\t\tdlclose(st.lib);\n"
	"\tmemset(&st, 0, sizeof(st));\n"
	"}\n"
	"\n"
	"/* Not thread-safe: load once before several threads launch. */\n"
	"int NAME_load(void)\n"
	"{\n"
	"\tchar err[sizeof(st.err)];\n"
	"\n"
	"\tif (st.loaded)\n"
	"\t\treturn 0;\n"
	"\tif (load() == 0)\n"
	"\t\treturn 0;\n"
	"\tmemcpy(err, st.err, sizeof(err));\n"
	"\tNAME_unload();\n"
	"\tmemcpy(st.err, err, sizeof(err));\n"
	"\treturn -1;\n"
	"}\n"
	"\n"
	"static int launch(void **args)\n"
	"{\n"
	"\tCUresult r;\n"
	"\n"
	"\tfor (int i = 0; i < NKERNELS; i++)\n"
	"\t\tif ((r = st.LaunchKernel(st.fn[i], kernels[i].grid[0], kernels[i].grid[1], kernels[i].grid[2],\n"
	"\t\t\t\t\t   kernels[i].block[0], kernels[i].block[1], kernels[i].block[2], 0, NULL, args, NULL)))\n"
	"\t\t\treturn fail(kernels[i].name, r);\n"
	"\treturn 0;\n"
	"}\n";

/* Replace every `key` in `s` by `value` into t. */
static void put_subst(text *t, const char *s, const char *const *keys, const char *const *values, int n)
{
	while (*s) {
		int hit = -1;

		for (int k = 0; k < n && hit < 0; k++)
			if (strncmp(s, keys[k], strlen(keys[k])) == 0)
				hit = k;
		if (hit < 0) {
			put_n(t, s++, 1);
			continue;
		}
		put(t, "%s", values[hit]);
		s += strlen(keys[hit]);
	}
}

static void launcher_entry(text *t, const unit *u)
{
	char pname[TE_MAX_NAME + 8];
	int k = 0, nargs = u->p->nparams + u->p->ntemps;

	put(t, "\nint %s(", u->name);
	put_params(t, u->g);
	put(t, ")\n{\n\tCUdeviceptr v[%d];\n\tvoid *args[%d];\n\n\tif (%s_load())\n\t\treturn -1;\n", nargs + 1,
	    nargs + 1, u->name);
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < te_graph_nstages(u->g); i++) {
			const te_stage *s = te_graph_stage(u->g, i);

			if (!is_param(s, pass))
				continue;
			param_name(s->name, pname, sizeof(pname));
			put(t, "\tif ((uintptr_t)%s %% 16)\n\t\treturn fail(\"%s is not aligned to 16 bytes\", 0);\n",
			    pname, pname);
			put(t, "\tv[%d] = (CUdeviceptr)(uintptr_t)%s;\n", k++, pname);
		}
	for (int i = 0; i < u->p->ntemps; i++)
		put(t, "\tv[%d] = st.temp[%d];\n", k++, i);
	put(t, "\tfor (int i = 0; i < %d; i++)\n\t\targs[i] = &v[i];\n\treturn launch(args);\n}\n", nargs);
}

static void launcher(text *t, const unit *u)
{
	char nk[16], nt[16], name_str[160], syms[4096];
	size_t n = 0;
	const char *keys[] = {"NAME_STR", "NAME_", "NKERNELS", "NTEMPS", "SYMS"};
	const char *values[5];

	put(t, "/* The launcher of %s: generated by ftc %s for %s (see %s.h). */\n", u->name, FTC_VERSION,
	    u->target, u->name);
	put(t, "#include <dlfcn.h>\n#include <stddef.h>\n#include <stdint.h>\n#include <stdio.h>\n#include <string.h>\n\n"
	       "#include \"%s.h\"\n\n",
	    u->name);
	launcher_state(t, u);
	snprintf(nk, sizeof(nk), "%d", u->p->nkernels);
	snprintf(nt, sizeof(nt), "%d", u->p->ntemps);
	snprintf(name_str, sizeof(name_str), "\"%s\"", u->name);
	syms[0] = '\0';
	for (size_t i = 0; i < NAPI; i++)
		n += (size_t)snprintf(syms + n, sizeof(syms) - n, "\t\t{\"%s\", offsetof(struct state, %s)},\n",
				      launcher_api[i].symbol, launcher_api[i].field);
	values[0] = name_str;
	values[1] = NULL;
	values[2] = nk;
	values[3] = nt;
	values[4] = syms;
	{
		char prefix[160];

		snprintf(prefix, sizeof(prefix), "%s_", u->name);
		values[1] = prefix;
		put_subst(t, launcher_load, keys, values, 5);
	}
	launcher_entry(t, u);
}

/* ---- files ---- */

/* Write DIR/NAME+EXT atomically.  0, or -1 after printing why not. */
static int write_file(const char *dir, const char *name, const char *ext, const char *data)
{
	char path[4096];

	if ((size_t)snprintf(path, sizeof(path), "%s/%s%s", dir, name, ext) >= sizeof(path)) {
		fprintf(stderr, "ftc compile: the output path '%s/%s%s' is too long\n", dir, name, ext);
		return -1;
	}
	return cli_write_atomic("compile", path, data, strlen(data)) ? -1 : 0;
}

static int make_dir(const char *dir)
{
	struct stat sb;

	if (stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode))
		return 0;
	if (mkdir(dir, 0777) == 0)
		return 0;
	fprintf(stderr, "ftc compile: cannot create the directory %s: %s\n", dir, strerror(errno));
	return -1;
}

/* Lower and compile; NULL after printing the error (*status set). */
static cg_cuda_prog *compile_schedule(const cli_opts *o, const te_graph *g, isl_ctx *ctx, const cg_target *t,
				      const char *name, const char *schedule, int *status)
{
	rt_error err;
	sch_schedule *s;
	lir_func *f = NULL;
	cg_cuda_prog *p = NULL;
	const char *what = o && o->schedule ? o->schedule : "the schedule";

	rt_error_clear(&err);
	*status = CLI_USER_ERROR;
	if (!(s = sch_parse(schedule, &err)) || !(f = lir_lower(g, s, ctx, name, &err)) || lir_verify(f, &err)) {
		if (err.line > 0)
			fprintf(stderr, "%s:%d:%d: error: %s\n", what, err.line, err.col, err.msg);
		else
			fprintf(stderr, "%s: error: %s\n", o && o->file ? o->file : what, err.msg);
	} else if (o && (*status = cli_check_lir(o, g, f))) {
		/* the verdict is printed */
	} else if (!(p = cg_cuda_compile(f, t, &err))) {
		fprintf(stderr, "%s: error: %s\n", o && o->file ? o->file : "ftc compile", err.msg);
		*status = CLI_INTERNAL_ERROR;
	}
	lir_func_free(f);
	sch_free(s);
	return p;
}

int cli_compile_cuda(const cli_opts *o, const te_graph *g, isl_ctx *ctx, const cg_target *t, const char *outdir,
		     const char *name, const char *schedule_text)
{
	char *naive = schedule_text ? NULL : srch_cuda_naive_schedule(g), ts[256];
	const char *schedule = schedule_text ? schedule_text : naive;
	text h = {0}, c = {0};
	cg_cuda_prog *p = NULL;
	unit u;
	int rc;

	if (!schedule) {
		fprintf(stderr, "ftc compile: out of memory\n");
		return CLI_INTERNAL_ERROR;
	}
	if (!(p = compile_schedule(o, g, ctx, t, name, schedule, &rc)))
		goto out;
	cg_target_string(t, ts, sizeof(ts));
	u = (unit){g, p, name, ts, schedule, o ? o->file : NULL};
	header(&h, &u);
	launcher(&c, &u);
	rc = CLI_INTERNAL_ERROR;
	if (h.oom || c.oom) {
		fprintf(stderr, "ftc compile: out of memory\n");
		goto out;
	}
	if (make_dir(outdir) || write_file(outdir, name, ".ptx", p->ptx) || write_file(outdir, name, ".h", h.s) ||
	    write_file(outdir, name, ".c", c.s)) {
		rc = CLI_USER_ERROR;
		goto out;
	}
	rc = CLI_OK;
out:
	free(h.s);
	free(c.s);
	free(naive);
	cg_cuda_prog_free(p);
	return rc;
}

/* ---- run and tune ---- */

static bool emulate(void)
{
	const char *e = getenv("FTC_CUDA_EMULATE");

	return e && *e && strcmp(e, "0") != 0;
}

/* A measurer, or NULL after printing why (no driver: the standard words). */
static srch_cuda *open_gpu(const char *cmd, const te_graph *g, isl_ctx *ctx, const cg_target *t, int *status)
{
	rt_error err;
	srch_cuda *m;

	rt_error_clear(&err);
	if (!emulate() && !rt_cuda_driver_present()) {
		fprintf(stderr, "ftc %s: no CUDA driver on this machine (libcuda.so.1 not found); %s\n", cmd,
			no_driver_tail);
		*status = CLI_USER_ERROR;
		return NULL;
	}
	if (!(m = srch_cuda_new(g, ctx, t, emulate(), &err))) {
		fprintf(stderr, "ftc %s: cannot use the GPU: %s\n", cmd, err.msg);
		*status = CLI_USER_ERROR;
	}
	return m;
}

int cli_run_cuda(const cli_opts *o, const te_graph *g, isl_ctx *ctx, const cg_target *t, const char *schedule_text)
{
	char *naive = schedule_text ? NULL : srch_cuda_naive_schedule(g);
	const char *schedule = schedule_text ? schedule_text : naive;
	srch_record r;
	srch_cuda *m;
	int rc = CLI_OK;

	if (!schedule || !(m = open_gpu("run", g, ctx, t, &rc))) {
		if (!schedule)
			fprintf(stderr, "ftc run: out of memory\n");
		free(naive);
		return schedule ? rc : CLI_INTERNAL_ERROR;
	}
	memset(&r, 0, sizeof(r));
	printf("device: %s\n", srch_cuda_device(m));
	if (srch_cuda_measure(m, ctx, schedule, true, 0.2, &r)) {
		fprintf(stderr, "ftc run: out of memory\n");
		rc = CLI_INTERNAL_ERROR;
	} else if (r.status != SRCH_OK) {
		printf("%s\n", srch_cuda_launch_text(m));
		if (r.status == SRCH_WRONG)
			printf("MISMATCH: %s\n", r.reason);
		else
			fprintf(stderr, "%s: error: %s\n", o && o->file ? o->file : "ftc run", r.reason);
		rc = CLI_USER_ERROR;
	} else {
		printf("%s\nverified\n", srch_cuda_launch_text(m));
		printf("time: median %.4g ms (spread %.1f%%, %d runs%s), %.2f GFLOP/s\n", r.seconds * 1e3,
		       r.spread * 100, r.runs, emulate() ? ", emulated: not a GPU time" : "", r.gflops);
	}
	free(r.schedule);
	free(naive);
	srch_cuda_free(m);
	return rc;
}

static void progress(void *user, const srch_progress *p)
{
	int *last_tenth = user;

	if (p->trials > 0 && p->trial * 10 / p->trials > *last_tenth) {
		*last_tenth = p->trial * 10 / p->trials;
		fprintf(stderr, "trial %d/%d  best %.2f GFLOP/s  failures %d  elapsed %.0fs\n", p->trial, p->trials,
			p->best_gflops, p->failures, p->elapsed);
	} else if (p->trials == 0 && p->trial % 10 == 0) {
		fprintf(stderr, "trial %d  best %.2f GFLOP/s  failures %d  elapsed %.0fs\n", p->trial,
			p->best_gflops, p->failures, p->elapsed);
	}
}

static int tune_options(const cli_opts *o, srch_tune_opts *to)
{
	srch_tune_opts_default(to);
	if (o->method && srch_method_parse(o->method, &to->method)) {
		fprintf(stderr, "ftc tune: unknown method '%s' (sa-q or random)\n", o->method);
		return CLI_USER_ERROR;
	}
	if (o->trials >= 0)
		to->trials = o->trials;
	if (o->seconds > 0) {
		to->seconds = o->seconds;
		if (o->trials < 0)
			to->trials = 0;
	}
	to->seed = o->seed;
	to->min_time = 0.05;
	to->patience = to->trials > 0 ? (to->trials / 2 > 30 ? to->trials / 2 : 30) : 100;
	return CLI_OK;
}

static void print_tuned(const cli_opts *o, const srch_cuda *m, const srch_result *r, const char *target)
{
	const srch_record *b = r->best >= 0 ? &r->records[r->best] : NULL;
	double naive = isfinite(r->naive_seconds) && r->naive_seconds > 0 ? r->naive_seconds : 0;
	int failures = 0;

	for (int i = 0; i < r->nrecords; i++)
		failures += r->records[i].status != SRCH_OK;
	if (o->json) {
		printf("{\"target\": \"%s\", \"device\": \"%s\", \"trials\": %d, \"failures\": %d, \"seconds\": %.3f, "
		       "\"best_gflops\": %.4f, \"naive_gflops\": %.4f}\n",
		       target, srch_cuda_device(m), r->nrecords, failures, r->elapsed, b ? b->gflops : 0,
		       naive > 0 && b ? b->gflops * b->seconds / naive : 0);
		return;
	}
	printf("tuned %s for %s on %s: %d trials (%d failed) in %.1f s, stopped by %s\n", o->file ? o->file : "?",
	       target, srch_cuda_device(m), r->nrecords, failures, r->elapsed,
	       r->stop_reason[0] ? r->stop_reason : "?");
	if (!b) {
		printf("no candidate ran successfully\n");
		return;
	}
	printf("best: %.2f GFLOP/s (%.4g ms, verified%s), naive %.2f GFLOP/s, speedup %.2fx\n", b->gflops,
	       b->seconds * 1e3, r->remeasured ? ", re-measured" : "", naive > 0 ? b->gflops * b->seconds / naive : 0,
	       naive > 0 ? naive / b->seconds : 0);
	printf("schedule:\n%s%s", b->schedule, b->schedule[0] && b->schedule[strlen(b->schedule) - 1] != '\n' ? "\n" : "");
}

int cli_tune_cuda(const cli_opts *o, const te_graph *g, isl_ctx *ctx, const cg_target *t)
{
	srch_tune_opts to;
	srch_result r;
	rt_error err;
	srch_cuda *m;
	char ts[256];
	int rc = CLI_OK, last_tenth = 0;

	if ((rc = tune_options(o, &to)) || !(m = open_gpu("tune", g, ctx, t, &rc)))
		return rc;
	if (!o->quiet && !o->json) {
		to.progress = progress;
		to.user = &last_tenth;
	}
	cg_target_string(t, ts, sizeof(ts));
	rt_error_clear(&err);
	if (srch_cuda_tune(m, ctx, &to, &r, &err)) {
		fprintf(stderr, "%s: error: %s\n", o->file ? o->file : "ftc tune", err.msg);
		srch_cuda_free(m);
		return CLI_INTERNAL_ERROR;
	}
	print_tuned(o, m, &r, ts);
	if (r.best < 0)
		rc = CLI_USER_ERROR;
	else if (o->save_schedule && cli_save_schedule("tune", o, r.records[r.best].schedule))
		rc = CLI_USER_ERROR;
	srch_result_release(&r);
	srch_cuda_free(m);
	return rc;
}
