/*
 * ftc compile FILE.te -o DIR: pick the schedule, lower it (lir_pipe), let
 * the target's back end lint and compile it, check what it compiled
 * against the reference, and write the back end's library into DIR
 * (cg_backend.h).  Nothing here depends on the target's kind.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cg.h"
#include "cg_backend.h"
#include "cli.h"
#include "cli_verify.h"
#include "lir.h"
#include "srch_cuda.h"
#include "srch_hls.h"
#include "srch_db.h"

#ifndef FTC_VERSION
#define FTC_VERSION "0.1.0"
#endif

static const char compile_help[] =
	"usage: ftc compile FILE.te [-D NAME=VALUE]... [--schedule FILE] [--target T]\n"
	"                   [--name NAME] [--emit-llvm] [--db PATH] -o DIR\n"
	"\n"
	"Lower FILE.te under a schedule, compile it for the target with LLVM and\n"
	"write a C library into DIR (created if missing):\n"
	"  NAME.h       int NAME(const float *A, ..., float *C): inputs then outputs,\n"
	"               row-major, with what it computes, the target and the schedule\n"
	"  NAME.o       the code\n"
	"  libNAME.a    NAME.o as a static archive with a symbol index\n"
	"  libftcrt.a   the runtime the code calls (thread pool, buffers)\n"
	"  NAME.ll      the optimized LLVM IR (with --emit-llvm)\n"
	"Link: cc prog.c -I DIR DIR/libNAME.a DIR/libftcrt.a -lpthread -lm\n"
	"\n"
	"The schedule is the one given with --schedule, otherwise the tuning db's\n"
	"best for this workload and target ('ftc tune' puts it there; a record of\n"
	"an older ftc is replayed and checked first), otherwise the naive one\n"
	"(every stage's loops in axis order).\n"
	"\n"
	"What is written is checked first: the compiled kernel runs once, in a\n"
	"child process, on seeded random inputs at the compiled shapes, and every\n"
	"output is compared with the reference interpreter (the tolerance of\n"
	"'ftc run'); a mismatch, a crash or a hang writes nothing (exit 1).  The\n"
	"check is limited to 1.6e10 FLOP (about 100 s of the interpreter; the\n"
	"kernel exists only for its shapes, so no smaller one can stand in);\n"
	"beyond it compile refuses unless --no-check.  For cuda and hls, which\n"
	"the CPU cannot run, the loop IR the back end translates is interpreted\n"
	"instead (limit 1e9 FLOP).  No output may be an input (the .te file, the\n"
	"schedule, the tuning db, the runtime copied), and each file is written\n"
	"whole or not at all (a temporary file renamed into place).\n"
	"\n"
	"  -o DIR            the output directory (required)\n"
	"  --name NAME       the function's name, a C identifier (default: FILE's stem);\n"
	"                    not a keyword nor a name of libc, libm, libpthread or libftcrt\n"
	"  --schedule FILE   the schedule to compile\n"
	"  --target T        cpu [-mcpu=NAME] [-mattr=FEATURES] [-threads=N] (default: the host);\n"
	"                    cuda [-arch=sm_NN]: NAME.ptx, NAME.h, NAME.c (a launcher; docs/cuda.md);\n"
	"                    hls [-part=P] [-clock=F]: NAME.c, NAME.h, NAME_tb.c, NAME.tcl (docs/hls.md)\n"
	"  --emit-llvm       also write NAME.ll (cpu; refused for the other targets)\n"
	"  --no-check        write the library without checking it against the reference\n"
	"  --db PATH         the tuning db (default: $FTC_DB, else ~/.cache/ftc/tuning.db)\n"
	"  -D NAME=VALUE     replace the value of param NAME\n"
	"  -h, --help        show this help\n"
	"\n"
	"The runtime copied is $FTC_RUNTIME_LIB when set, else the build tree's,\n"
	"else the installed one; when none is found compile warns and goes on.\n";

static const char *const runtime_paths[] = {
#ifdef FTC_RUNTIME_LIB
	FTC_RUNTIME_LIB, /* the build tree's */
#endif
#ifdef FTC_RUNTIME_LIB_INSTALLED
	FTC_RUNTIME_LIB_INSTALLED,
#endif
	NULL,
};

/*
 * The path of libftcrt.a to copy: $FTC_RUNTIME_LIB when set (and only
 * that; *from_env set), else the build tree's, else the installed one;
 * NULL when none is readable.
 */
static const char *find_runtime(bool *from_env)
{
	const char *env = getenv("FTC_RUNTIME_LIB");

	*from_env = env && env[0];
	if (*from_env)
		return env;
	for (int i = 0; runtime_paths[i]; i++)
		if (access(runtime_paths[i], R_OK) == 0)
			return runtime_paths[i];
	return NULL;
}

/* The largest libftcrt.a compile copies (it is about 1 MiB). */
#define CLI_MAX_RUNTIME_BYTES ((size_t)64 << 20)

/*
 * The bytes of libftcrt.a into f (f->data NULL when none was found: a
 * warning says where to get it).  A runtime that exists but cannot be
 * read, is not a regular file (FTC_RUNTIME_LIB=/dev/zero) or is over
 * CLI_MAX_RUNTIME_BYTES is an error.  0, or 1 after printing.
 */
static int load_runtime(cg_file *f)
{
	bool from_env;
	const char *rt = find_runtime(&from_env);

	snprintf(f->name, sizeof(f->name), "libftcrt.a");
	f->data = NULL;
	if (rt && access(rt, F_OK) == 0) {
		if ((f->data = cli_read_bytes(rt, CLI_MAX_RUNTIME_BYTES, &f->size)))
			return 0;
		fprintf(stderr, "ftc compile: %s'%s' is not a runtime library ftc can copy\n",
			from_env ? "FTC_RUNTIME_LIB=" : "", rt);
		return 1;
	}
	fprintf(stderr, "ftc compile: warning: libftcrt.a not found; looked at:\n");
	for (int i = 0; from_env ? i < 1 : runtime_paths[i] != NULL; i++)
		fprintf(stderr, "  %s\n", from_env ? rt : runtime_paths[i]);
	fprintf(stderr, "  The library needs it on the link line: take runtime/libftcrt.a from an\n"
			"  ftc build directory or the one 'meson install' puts in LIBDIR, or set\n"
			"  FTC_RUNTIME_LIB to its path.\n");
	return 0;
}

/* ---- the command ---- */

typedef struct compile_opts {
	cli_opts o;
	const char *outdir;   /* -o */
	const char *name;     /* --name */
	bool emit_llvm;       /* --emit-llvm */
	bool no_check;        /* --no-check */
	/* the common options and the files, for cli_parse_common */
	char **rest, **files;
	int nrest, nfiles;
} compile_opts;

enum {
	OPT_OUT, OPT_NAME, OPT_EMIT_LLVM, OPT_NO_CHECK, OPT_DEFINE, OPT_SCHEDULE, OPT_TARGET, OPT_DB,
	OPT_HELP_SHORT, OPT_HELP
};

static const cli_optspec compile_specs[] = {
	{"-o", "--output", true},
	{NULL, "--name", true},
	{NULL, "--emit-llvm", false},
	{NULL, "--no-check", false},
	{"-D", "--define", true},
	{NULL, "--schedule", true},
	{NULL, "--target", true},
	{NULL, "--db", true},
	{"-h", NULL, false},
	{NULL, "--help", false},
};

static int compile_opt(int which, const char *value, void *ctx)
{
	compile_opts *c = ctx;

	switch (which) {
	case OPT_OUT:
		c->outdir = value;
		return 0;
	case OPT_NAME:
		c->name = value;
		return 0;
	case OPT_EMIT_LLVM:
		c->emit_llvm = true;
		return 0;
	case OPT_NO_CHECK:
		c->no_check = true;
		return 0;
	default: /* a common option: hand it on, spelled canonically */
		c->rest[c->nrest++] = (char *)(compile_specs[which].long_name ? compile_specs[which].long_name
									   : compile_specs[which].short_name);
		if (value)
			c->rest[c->nrest++] = (char *)value;
		return 0;
	}
}

static int compile_arg(const char *arg, void *ctx)
{
	compile_opts *c = ctx;

	c->files[c->nfiles++] = (char *)arg;
	return 0;
}

/*
 * Parse argv: this command's own options here, the common ones (and the
 * file) by cli_parse_common.  0, or 1 after printing the error.
 */
static int compile_parse(int argc, char **argv, compile_opts *c)
{
	int rc = 1;

	memset(c, 0, sizeof(*c));
	c->rest = calloc(2 * (size_t)argc + 2, sizeof(char *));
	c->files = calloc((size_t)argc + 1, sizeof(char *));
	if (!c->rest || !c->files) {
		fprintf(stderr, "ftc compile: out of memory\n");
		goto out;
	}
	c->rest[c->nrest++] = "compile";
	if (cli_parse_args("compile", argc, argv, compile_specs,
			   sizeof(compile_specs) / sizeof(compile_specs[0]), compile_opt, compile_arg, c))
		goto out;
	c->rest[c->nrest++] = "--";
	for (int i = 0; i < c->nfiles; i++)
		c->rest[c->nrest++] = c->files[i];
	rc = cli_parse_common("compile", c->nrest, c->rest, &c->o, CLI_SCHEDULE | CLI_TARGET | CLI_DB);
	c->o.no_check = c->no_check;
	c->o.emit_llvm = c->emit_llvm;
out:
	free(c->rest);
	free(c->files);
	c->rest = c->files = NULL;
	return rc;
}

/*
 * The tuning db's best schedule for g on t when no --schedule is given:
 * *text is NULL (none: the naive schedule) or the schedule text.  0, or 1
 * after printing the error.
 */
static int db_schedule(const cli_opts *o, const te_graph *g, isl_ctx *ctx, const cg_target *t, char **text)
{
	tdb *db = NULL;
	srch_db sd;
	srch_measurer *m = NULL;
	rt_error err;
	double gflops = 0;
	int found = 0, rc = 0;

	*text = NULL;
	if (o->schedule)
		return 0;
	if (cli_db_open(o, false, &db))
		return 1;
	rt_error_clear(&err);
	if (db && !(m = cli_measurer("compile", g, ctx, t, true, &rc))) {
		tdb_close(db);
		return 1;
	}
	if (db && (srch_db_init(&sd, db, m, FTC_VERSION, "compile", 0, &err) ||
		   (found = srch_db_best(&sd, ctx, text, &gflops, &err)) < 0)) {
		fprintf(stderr, "ftc compile: the tuning db: %s\n", err.msg);
		rc = 1;
	}
	if (db)
		srch_db_release(&sd);
	srch_measurer_free(m);
	tdb_close(db);
	if (rc)
		return 1;
	if (found)
		fprintf(stderr, "ftc compile: using the tuning db's best schedule (%.2f GFLOP/s when measured)\n", gflops);
	else
		fprintf(stderr, "ftc compile: no tuned schedule for this workload and target in the tuning db: "
				"compiling the naive schedule ('ftc tune %s' finds a fast one)\n", o->file);
	return 0;
}

/*
 * The schedule of a target kind when none is given or tuned: search's
 * default point of that kind's space (cpu: the naive schedule, NULL).
 * The one table here keyed by kind, until search offers the default of
 * any target (srch_measurer's `naive`).
 */
static char *cuda_default(const te_graph *g, rt_error *err)
{
	char *text = srch_cuda_naive_schedule(g);

	if (!text)
		rt_error_set(err, 0, 0, "out of memory");
	return text;
}

static const struct {
	cg_target_kind kind;
	const char *origin;
	char *(*make)(const te_graph *g, rt_error *err);
} defaults[] = {
	{CG_TARGET_CPU, "naive", NULL},
	{CG_TARGET_CUDA, "the naive GPU schedule: spatial loops fused, 256 threads a block", cuda_default},
	{CG_TARGET_HLS, "naive pipelined: the innermost loop of the naive loop nest", srch_hls_default_schedule},
};

static const char db_origin[] = "the tuning db's best";

/* The schedule text compile lowers (*own, caller frees; NULL: naive) and
 * where it came from: --schedule FILE, else the tuning db's best, else
 * the kind's default.  An
 * exit status. */
static int pick_schedule(const cli_opts *o, const te_graph *g, isl_ctx *ctx, const cg_target *t, char **own,
			 const char **origin)
{
	rt_error err;

	*own = NULL;
	*origin = o->schedule;
	if (o->schedule)
		return (*own = cli_read_file(o->schedule)) ? CLI_OK : CLI_USER_ERROR;
	if (db_schedule(o, g, ctx, t, own))
		return CLI_USER_ERROR;
	if (*own) {
		*origin = db_origin;
		return CLI_OK;
	}
	rt_error_clear(&err);
	for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
		if (defaults[i].kind == t->kind) {
			*origin = defaults[i].origin;
			if (defaults[i].make && !(*own = defaults[i].make(g, &err))) {
				fprintf(stderr, "%s: error: %s\n", o->file, err.msg);
				return CLI_INTERNAL_ERROR;
			}
		}
	return CLI_OK;
}

/*
 * Refuse, before anything is read or written, an output file that is one
 * of the inputs (the .te file, the schedule, the tuning db, the runtime
 * copied) or an existing file that is not a regular file.  0, or 1 after
 * printing.
 */
static int check_outputs(const compile_opts *c, const cg_backend *be, const char *name)
{
	char db[4096], file[TE_MAX_NAME + 16], *path;
	bool from_env;
	cli_input in[4] = {
		{"the .te file", c->o.file},
		{"the schedule", c->o.schedule},
		{"the tuning db", NULL},
		{"the runtime library", be->runtime_lib ? find_runtime(&from_env) : NULL},
	};
	int rc = 0;

	if (!c->o.schedule && cli_db_path(&c->o, db, sizeof(db)) == 0)
		in[2].path = db;
	for (int i = 0; be->outputs[i] && rc == 0; i++) {
		snprintf(file, sizeof(file), be->outputs[i], name);
		if (!(path = cli_path_join(c->outdir, file))) {
			fprintf(stderr, "ftc compile: out of memory\n");
			return 1;
		}
		rc = cli_check_output("compile", "the output", path, in, 4);
		free(path);
	}
	return rc;
}

/* Every parameter must have a C element type.  0, or 1 after printing. */
static int check_param_types(const cli_opts *o, const te_graph *g)
{
	for (int i = 0; i < te_graph_nstages(g); i++) {
		const te_stage *s = te_graph_stage(g, i);
		bool param = s->kind == TE_STAGE_INPUT || (s->kind == TE_STAGE_COMPUTE && s->is_output);

		if (param && s->type != TE_F32 && s->type != TE_F64 && s->type != TE_I32) {
			fprintf(stderr, "%s: error: tensor '%s' of type %s cannot be a parameter of a C library\n",
				o->file, s->name, te_dtype_name(s->type));
			return 1;
		}
	}
	return 0;
}

/* Run the JIT'd kernel j against the reference (cli_check_kernel) at the
 * workload's own shape.  An exit status; the verdict is printed. */
static int check_jit(const cli_opts *o, const te_graph *g, cg_jit *j)
{
	cg_packed_fn fn = cg_jit_entry(j);
	te_bufs b;
	cli_verdict v;
	int rc;

	memset(&v, 0, sizeof(v));
	if ((rc = cli_bufs_alloc(&b, o->file, g, o->seed)) == CLI_OK)
		rc = cli_check_kernel(o->file, g, &b, cli_run_packed, &fn, CLI_CHECK_TIMEOUT_S, NULL, &v);
	te_bufs_free(&b);
	cli_print_verdict(o, rc, &v, "the compiled kernel");
	return rc;
}

/*
 * Lower, lint, compile and check before anything is written.  Code that
 * runs on this CPU is checked by running a JIT of the same loop IR (whose
 * LLVM IR must be the artifact's); other code by interpreting the loop IR
 * it translates, before it is compiled.  *unchecked is set under
 * --no-check.  The artifact (*f borrowed by it), or NULL after printing
 * (*rc the exit status).
 */
static cg_artifact *build(const cli_opts *o, const te_graph *g, isl_ctx *ctx, const cg_target *t,
			  const cli_sched *sc, lir_func **f, char **canon, bool *unchecked, int *rc)
{
	const cg_backend *be = cg_backend_of(t->kind);
	cg_artifact *a = NULL;
	rt_error err;
	cg_jit *j = NULL;

	rt_error_clear(&err);
	*unchecked = o->no_check;
	if (!(*f = cli_lower_text(o, g, ctx, sc, canon, rc)))
		return NULL;
	*rc = CLI_USER_ERROR;
	if (be->lint(*f, t, &err)) {
		fprintf(stderr, "%s: error: %s\n", o->schedule ? o->schedule : o->file, err.msg);
		return NULL;
	}
	if ((*rc = be->host_code ? cli_check_allowed(o, g, CLI_CHECK_MAX_FLOPS, "the reference interpreter", unchecked)
				 : cli_check_lir(o, g, *f)))
		return NULL;
	*rc = CLI_INTERNAL_ERROR;
	if (!(a = be->compile(*f, t, &err)) || (be->host_code && !*unchecked && !(j = be->jit(a, &err)))) {
		fprintf(stderr, "%s: internal error: %s\n", o->file, err.msg);
		return be->free(a);
	}
	*rc = CLI_OK;
	if (be->host_code && !*unchecked) {
		*rc = check_jit(o, g, j);
		cg_jit_free(j);
	}
	return *rc ? be->free(a) : a;
}

/* Say what was written, then the back end's notes and warnings. */
static void report(const cg_lib_info *li, const cg_library *lib, const cg_file *rt)
{
	printf("wrote %s/:", li->dir);
	for (int i = 0; i < lib->nfiles; i++)
		printf(" %s", lib->files[i].name);
	printf("%s\n", rt->data ? " libftcrt.a" : "");
	if (lib->notes)
		fputs(lib->notes, stdout);
	for (const char *w = lib->warnings; w && *w; w += strcspn(w, "\n") + (w[strcspn(w, "\n")] != 0))
		fprintf(stderr, "ftc compile: warning: %.*s\n", (int)strcspn(w, "\n"), w);
}

/* Write the library's files (and the runtime) into li->dir, each
 * atomically.  An exit status. */
static int write_library(const cg_lib_info *li, const cg_library *lib, const cg_file *rt)
{
	if (cli_make_dirs("compile", li->dir))
		return CLI_USER_ERROR;
	for (int i = 0; i <= lib->nfiles; i++) {
		const cg_file *f = i < lib->nfiles ? &lib->files[i] : rt;

		if (f->data && cli_write_in("compile", li->dir, f->name, f->data, f->size)) {
			if (i > 0)
				fprintf(stderr, "ftc compile: the library in '%s' is incomplete\n", li->dir);
			return CLI_USER_ERROR;
		}
	}
	report(li, lib, rt);
	return CLI_OK;
}

int cli_compile_library(const cli_opts *o, const te_graph *g, isl_ctx *ctx, const cg_target *t, const char *outdir,
			const char *name, const char *schedule_text)
{
	const cg_backend *be = cg_backend_of(t->kind);
	char ts[256], *own = NULL, *canon = NULL, *comment = NULL;
	cg_lib_info li = {g, ctx, name, ts, o->file, o->schedule ? o->schedule : "given", NULL, outdir, false,
			  o->emit_llvm};
	cli_sched sc = {schedule_text, name, NULL};
	cg_library lib = {0};
	cg_file rt = {0};
	cg_artifact *a = NULL;
	lir_func *f = NULL;
	rt_error err;
	int rc;

	cg_target_string(t, ts, sizeof(ts));
	if (check_param_types(o, g))
		return CLI_USER_ERROR;
	if (!schedule_text && (rc = pick_schedule(o, g, ctx, t, &own, &li.origin)))
		return rc;
	if (own) {
		sc.text = own;
		sc.origin = li.origin == db_origin ? "the tuning db's schedule" : NULL;
	}
	if (!(a = build(o, g, ctx, t, &sc, &f, &canon, &li.unchecked, &rc)))
		goto out;
	li.schedule = canon;
	if (canon && own && !o->schedule && li.origin != db_origin) {
		/* the kind's default: say so, as a comment of the schedule */
		if ((comment = malloc(strlen(canon) + strlen(li.origin) + 8)))
			sprintf(comment, "# %s\n%s", li.origin, canon);
		li.schedule = comment ? comment : canon;
	}
	printf("compiled %s for %s, schedule %s\n", name, ts, li.origin);
	rt_error_clear(&err);
	if ((rc = be->runtime_lib ? load_runtime(&rt) : CLI_OK))
		goto out;
	rc = CLI_INTERNAL_ERROR;
	if (be->write_library(a, &li, &lib, &err)) {
		fprintf(stderr, "%s: internal error: %s\n", o->file, err.msg);
		goto out;
	}
	rc = write_library(&li, &lib, &rt);
out:
	cg_library_release(&lib);
	free(rt.data);
	be->free(a);
	lir_func_free(f);
	free(canon);
	free(comment);
	free(own);
	return rc;
}

int cli_compile(int argc, char **argv)
{
	compile_opts c;
	isl_ctx *ctx = NULL;
	te_graph *g = NULL;
	char *src = NULL, stem[TE_MAX_NAME], whybuf[256];
	const char *why, *name;
	const cg_backend *be;
	cg_target t;
	rt_error err;
	int rc = CLI_USER_ERROR;

	if (compile_parse(argc, argv, &c))
		goto out;
	if (c.o.help) {
		fputs(compile_help, stdout);
		rc = CLI_OK;
		goto out;
	}
	if (!c.outdir || !c.outdir[0]) {
		fprintf(stderr, "ftc compile: no output directory: give -o DIR (see 'ftc compile --help')\n");
		goto out;
	}
	cli_stem(c.o.file, stem, sizeof(stem));
	name = c.name ? c.name : stem;
	if ((why = cli_bad_function_name(name, whybuf, sizeof(whybuf)))) {
		fprintf(stderr, "ftc compile: the function name '%s' %s%s\n", name, why,
			c.name ? "" : "; choose another with --name");
		goto out;
	}
	rt_error_clear(&err);
	if (cg_target_parse(c.o.target ? c.o.target : "cpu", &t, &err)) {
		fprintf(stderr, "ftc compile: %s\n", err.msg);
		goto out;
	}
	be = cg_backend_of(t.kind);
	if (cli_refuse_options("compile", &c.o, be) || check_outputs(&c, be, name))
		goto out;
	if ((ctx = cli_isl_ctx()) && (g = cli_load(&c.o, ctx, &src)))
		rc = cli_compile_library(&c.o, g, ctx, &t, c.outdir, name, NULL);
out:
	free(src);
	te_graph_free(g);
	isl_ctx_free(ctx);
	cli_opts_release(&c.o);
	return rc;
}
