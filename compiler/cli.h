/*
 * cli: the ftc command-line driver's shared pieces.
 */
#ifndef FTC_CLI_H
#define FTC_CLI_H

#include <isl/ctx.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "srch_tune.h"
#include "te.h"
#include "te_parse.h"

enum { CLI_OK = 0, CLI_USER_ERROR = 1, CLI_INTERNAL_ERROR = 2 };

#define CLI_MAX_DEFINES 64

/* Options every command that reads a .te file accepts. */
typedef struct cli_opts {
	const char *file;                    /* the .te file */
	te_define defs[CLI_MAX_DEFINES];     /* -D NAME=VALUE */
	int ndefs;
	uint64_t seed;                       /* --seed, default 1 */
	const char *schedule;                /* --schedule FILE */
	const char *target;                  /* --target T */
	bool interp;                         /* --interp */
	bool help;
	/* ftc tune */
	int trials;                          /* --trials N (-1: not given) */
	double seconds;                      /* --time SEC (0: none) */
	const char *method;                  /* --method sa-q|random */
	bool json;                           /* --json */
	bool quiet;                          /* --quiet */
	const char *save_schedule;           /* --save-schedule FILE */
	int patience;                        /* --patience N (-1: not given) */
	bool no_model;                       /* --no-model: no cross-tune cost model */
	bool no_constructed;                 /* --no-constructed: the search starts blind */
	/* several workloads (CLI_FILES): `file` is the first */
	const char **files;                  /* the .te files, in order (array malloc'd) */
	int nfiles;
	const char *list;                    /* --list FILE */
	/* the tuning db */
	const char *db;                      /* --db PATH (NULL: $FTC_DB or the default) */
	bool no_db;                          /* --no-db */
	/* ftc compile */
	bool no_check;                       /* --no-check: write unchecked */
	bool emit_llvm;                      /* --emit-llvm: also the LLVM IR */
} cli_opts;

/* Which options a command accepts beyond -D and --help. */
enum { CLI_SEED = 1, CLI_SCHEDULE = 2, CLI_TARGET = 4, CLI_INTERP = 8, CLI_TUNE = 16, CLI_DB = 32, CLI_FILES = 64 };

/*
 * One command-line option: `short_name` like "-D" (or NULL), `long_name` like
 * "--seed" (or NULL), whether it takes a value.
 */
typedef struct cli_optspec {
	const char *short_name;
	const char *long_name;
	bool has_value;
} cli_optspec;

/*
 * Walk argv[1..argc): for each option in `specs` call `on_opt(i, value,
 * ctx)`, for each other argument `on_arg(arg, ctx)`; `--` ends options.
 * Accepts "-DX=1", "-D X=1", "--seed 3" and "--seed=3".  Returns 0, or 1
 * after printing "ftc CMD: ..." to stderr for an unknown option, a missing
 * value, or a callback's failure (callbacks print their own message and
 * return non-zero).
 */
int cli_parse_args(const char *cmd, int argc, char **argv,
		   const cli_optspec *specs, int nspecs,
		   int (*on_opt)(int which, const char *value, void *ctx),
		   int (*on_arg)(const char *arg, void *ctx), void *ctx);

/* Parse the common options (-D, -h/--help, one FILE, and those in the
 * `allowed` mask).  0 or 1. */
int cli_parse_common(const char *cmd, int argc, char **argv, cli_opts *o,
		     unsigned allowed);

/* Parse "NAME=VALUE" (-D) into d (d->name malloc'd).  0, or 1 after
 * printing the error. */
int cli_parse_define(const char *text, te_define *d);

/* Release what cli_parse_common allocated in `o`. */
void cli_opts_release(cli_opts *o);

/* ---- files ---- */

/* The largest .te or schedule file ftc reads: the parser's own limit. */
#define CLI_MAX_TEXT_BYTES ((size_t)TE_MAX_SOURCE)

/*
 * Read the whole regular file `path` of at most `limit` bytes into a
 * malloc'd buffer with a NUL after its *n bytes.  A file that is not a
 * regular file (a FIFO, /dev/zero, a directory) or is larger than `limit`
 * is refused.  NULL after printing "PATH: error: ..." to stderr.
 */
void *cli_read_bytes(const char *path, size_t limit, size_t *n);

/* Read a whole text file (at most CLI_MAX_TEXT_BYTES, no NUL byte) into a
 * NUL-terminated malloc'd string; NULL + message on stderr when it cannot
 * be read. */
char *cli_read_file(const char *path);

/* Whether a and b name the same existing file: same st_dev and st_ino,
 * symlinks followed (hard links and symlinks count as the same file). */
bool cli_same_file(const char *a, const char *b);

/* An input a command reads, named for messages ("the .te file"). */
typedef struct cli_input {
	const char *what;
	const char *path; /* NULL: none, skipped */
} cli_input;

/*
 * Refuse to write `out` (`what` names it in the message, e.g.
 * "--save-schedule") when it is the same file as any of the n inputs, or
 * exists and is not a regular file (writing over /dev/null or a FIFO).
 * 0, or 1 after printing "ftc CMD: error: ...".
 */
int cli_check_output(const char *cmd, const char *what, const char *out, const cli_input *in, int n);

/*
 * An output file written atomically: data goes to a temporary file in the
 * same directory, which cli_wfile_commit flushes, fsyncs, closes (exactly
 * once on every path) and renames onto the target.  A reader never sees
 * half a file, and a failed write leaves the target as it was.  When the
 * target is a symlink, its target is replaced and the link kept.
 */
typedef struct cli_wfile {
	FILE *f;	 /* write here between open and commit */
	char *path;	 /* the target (malloc'd) */
	char *tmp;	 /* the temporary file (malloc'd) */
	const char *cmd; /* for messages */
} cli_wfile;

/* Create the temporary file of `path` (mode 0666 less the umask).  0, or 1
 * after printing why not (w is then released). */
int cli_wfile_open(cli_wfile *w, const char *cmd, const char *path);

/* Finish: flush, fsync, close, rename.  0, or 1 after printing "ftc CMD:
 * cannot write 'PATH': REASON" (the temporary file removed).  w is
 * released either way. */
int cli_wfile_commit(cli_wfile *w);

/* Give up: close and remove the temporary file; the target is untouched.
 * Accepts a released (or zeroed) w. */
void cli_wfile_abort(cli_wfile *w);

/* Write n bytes to `path` atomically (cli_wfile).  0, or 1 after printing. */
int cli_write_atomic(const char *cmd, const char *path, const void *data, size_t n);

/*
 * Write a tuned schedule into o->save_schedule: refused (as by
 * cli_check_output) when it is o's .te file, --schedule file or tuning db
 * (unless --no-db), written atomically.  cli_parse_common checks it once
 * before the command runs; this checks again (a db may have been created
 * since).  0, or 1 after printing.
 */
int cli_save_schedule(const char *cmd, const cli_opts *o, const char *text);

/* The tuning db path o names (--db, else $FTC_DB, else the default) into
 * out.  0, or 1 after printing the error. */
int cli_db_path(const cli_opts *o, char *out, size_t n);

/*
 * Read, parse and verify o->file.  On success returns the graph and sets
 * *src to the file text (caller frees both).  On failure prints the
 * diagnostic and returns NULL.
 */
te_graph *cli_load(const cli_opts *o, isl_ctx *ctx, char **src);

/* Print a lowering error: against the schedule file when it has a line. */
void cli_lower_error(const cli_opts *o, const char *sched_src, const rt_error *err);

/*
 * Why `name` cannot name a generated function, or NULL when it can: not a
 * C identifier, too long, a C/C++ keyword, reserved, or a name of the C
 * library, libm, libpthread or ftc's runtime (cli_names.c lists the
 * rules).  The reason may be formatted into why[n] and returned.
 */
const char *cli_bad_function_name(const char *name, char *why, size_t n);

/* The C-identifier stem of a path ("examples/gemm.te" -> "gemm"). */
void cli_stem(const char *path, char *out, size_t n);

/* A schedule to lower: its text (NULL: the naive schedule), the function's
 * name, and where the text came from when not o->schedule (e.g. "the
 * tuning db's schedule"; NULL: the --schedule file). */
typedef struct cli_sched {
	const char *text;
	const char *name;
	const char *origin;
} cli_sched;

/*
 * Lower g under sc through the one lowering entry (lir_pipe: parse, lower,
 * verify).  *canonical (when not NULL) gets the canonical schedule text
 * (malloc'd; NULL for the naive schedule).  NULL after printing the error
 * against the schedule file (or sc->origin), *rc the exit status: a
 * lowered function that fails lir_verify is ftc's bug (internal error).
 */
struct lir_func;
struct lir_func *cli_lower_text(const cli_opts *o, const te_graph *g, isl_ctx *ctx, const cli_sched *sc,
				char **canonical, int *rc);

/* Read o->schedule (none: naive) and lower g with it under the .te file's
 * stem (cli_lower_text); NULL after printing the error. */
struct lir_func *cli_lower_graph(const cli_opts *o, const te_graph *g, isl_ctx *ctx);

/* A new isl context that reports errors by return value only (every
 * caller checks), or NULL after printing "out of memory". */
isl_ctx *cli_isl_ctx(void);

/*
 * Open the tuning db named by o (--db, else $FTC_DB, else the default
 * path).  With `create` false a missing file is not created: *db = NULL
 * and 0.  0, or 1 after printing the error (a file that is not a tuning
 * db, a newer schema, ...).
 */
struct tdb;
int cli_db_open(const cli_opts *o, bool create, struct tdb **db);

/* The help text lines describing --db, shared by the commands. */
#define CLI_DB_HELP                                                                               \
	"  --db PATH             the tuning db (default: $FTC_DB, else\n"                          \
	"                        $XDG_CACHE_HOME/ftc/tuning.db or ~/.cache/ftc/tuning.db)\n"

/* ---- ftc tune's pieces, one copy for every target ---- */

/*
 * The search options o gives (--method, --trials, --time, --seed,
 * --patience) over srch_tune_opts_default, the same for every target.
 * An exit status (an unknown method is printed as a user error).
 */
int cli_tune_options(const cli_opts *o, srch_tune_opts *to);

/* The progress of a tune on stderr: one line redrawn on a terminal, else a
 * line every 10% of the trial budget (every 10 trials without one); none
 * with --quiet or --json.  It keeps the best GFLOP/s after each trial
 * (curve) for --json. */
typedef struct cli_progress {
	bool live, lines;
	int last_tenth;
	const char *unit;  /* after "GFLOP/s": "" or " (model)" (borrowed) */
	double *curve;     /* owned: cli_progress_end frees it */
	int ncurve, cap;
} cli_progress;

/* Start ui for o's --quiet and --json and hang it on to (progress, user). */
void cli_progress_start(cli_progress *ui, const cli_opts *o, const char *unit, srch_tune_opts *to);

/* End the redrawn line (a newline), when there is one. */
void cli_progress_stop(const cli_progress *ui);

/* Release the curve. */
void cli_progress_end(cli_progress *ui);

/* Like `mkdir -p dir`, then check it is a directory ftc can write into.
 * 0, or 1 after printing "ftc CMD: ..." why not. */
int cli_make_dirs(const char *cmd, const char *dir);

/* Write n bytes to DIR/FILE atomically (cli_write_atomic).  0, or 1 after
 * printing why not. */
int cli_write_in(const char *cmd, const char *dir, const char *file, const void *data, size_t n);

/* s as a JSON string (quoted, escaped) on f. */
void cli_json_string(FILE *f, const char *s);

/* DIR/FILE, malloc'd (NULL when out of memory). */
char *cli_path_join(const char *dir, const char *file);

/* ---- the back end asked, not the target kind ---- */

/*
 * Refuse an option that means nothing for back end `be` (cg_backend.h):
 * --emit-llvm where it writes no LLVM IR.  (The tuning db keeps the
 * records of every back end.)  0, or 1 after printing "ftc CMD: OPTION means
 * nothing for the KIND target (why)".
 */
struct cg_backend;
int cli_refuse_options(const char *cmd, const cli_opts *o, const struct cg_backend *be);

/*
 * ftc compile's work once the graph is loaded: the schedule (schedule_text,
 * else o->schedule's file, else the tuning db's best where the back end
 * keeps its records there, else the kind's default), lowered (lir_pipe),
 * linted, compiled and checked by t's back end, and its library written
 * into outdir (created when missing).  `name` is a valid C identifier.
 * An exit status.
 */
int cli_compile_library(const cli_opts *o, const te_graph *g, isl_ctx *ctx, const struct cg_target *t,
			const char *outdir, const char *name, const char *schedule_text);

int cli_check(int argc, char **argv);
int cli_lower(int argc, char **argv);
int cli_run(int argc, char **argv);
int cli_tune(int argc, char **argv);

struct cg_target;
struct srch_measurer;
/* ftc tune of a loaded graph with options o, on any target (cli_tune.c).
 * An exit status. */
int cli_tune_graph(const cli_opts *o, const te_graph *g, isl_ctx *ctx);
/* The measurer of target t for command `cmd` (cuda: the device, or the
 * CPU emulator when FTC_CUDA_EMULATE is set, or when `lookup` (only the
 * tuning db's key is wanted) and there is no driver or device).  NULL after printing
 * why, with *status set. */
struct srch_measurer *cli_measurer(const char *cmd, const te_graph *g, isl_ctx *ctx, const struct cg_target *t,
				   bool lookup, int *status);
struct srch_mpi;
/* ftc tune of several workloads (o->files, o->list) in one tune, and any
 * tune under mpirun (mpi: rank 0's side of the job, NULL: measure here;
 * cli_tunes.c).  An exit status. */
int cli_tune_many(const cli_opts *o, struct srch_mpi *mpi);
int cli_eval(int argc, char **argv);
int cli_compile(int argc, char **argv);
int cli_db(int argc, char **argv);
int cli_targets(int argc, char **argv);

#endif
