/*
 * cli_util: argument parsing and loading of .te files for the driver.
 */
#include "cli.h"
#include "cg_backend.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <isl/options.h>

#include "tdb.h"
#include "te_verify.h"

static int check_save(const char *cmd, const cli_opts *o);

/* Match argv[*i] against spec; on a match store the value and advance *i. */
static int match_opt(const cli_optspec *sp, int argc, char **argv, int *i,
		     const char **value)
{
	const char *a = argv[*i];
	size_t n;

	*value = NULL;
	if (sp->long_name && strncmp(a, sp->long_name, n = strlen(sp->long_name)) == 0 &&
	    (a[n] == '\0' || (a[n] == '=' && sp->has_value))) {
		if (!sp->has_value)
			return 1;
		*value = a[n] == '=' ? a + n + 1 : (*i + 1 < argc ? argv[++*i] : NULL);
		return *value ? 1 : -1;
	}
	if (sp->short_name && strncmp(a, sp->short_name, n = strlen(sp->short_name)) == 0 &&
	    (a[n] == '\0' || sp->has_value)) {
		if (!sp->has_value)
			return 1;
		*value = a[n] ? a + n : (*i + 1 < argc ? argv[++*i] : NULL);
		return *value ? 1 : -1;
	}
	return 0;
}

int cli_parse_args(const char *cmd, int argc, char **argv,
		   const cli_optspec *specs, int nspecs,
		   int (*on_opt)(int which, const char *value, void *ctx),
		   int (*on_arg)(const char *arg, void *ctx), void *ctx)
{
	bool options = true;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *value = NULL;
		int which = -1, r = 0;

		if (options && strcmp(a, "--") == 0) {
			options = false;
			continue;
		}
		for (int s = 0; options && a[0] == '-' && a[1] && s < nspecs && which < 0; s++)
			if ((r = match_opt(&specs[s], argc, argv, &i, &value)) != 0)
				which = s;
		if (r < 0) {
			fprintf(stderr, "ftc %s: option '%s' needs a value\n", cmd, a);
			return 1;
		}
		if (which < 0 && options && a[0] == '-' && a[1]) {
			fprintf(stderr, "ftc %s: unknown option '%s' (see 'ftc %s --help')\n",
				cmd, a, cmd);
			return 1;
		}
		if (which >= 0 ? on_opt(which, value, ctx) : on_arg(a, ctx))
			return 1;
	}
	return 0;
}

enum {
	OPT_DEFINE, OPT_SEED, OPT_SCHEDULE, OPT_TARGET, OPT_INTERP,
	OPT_TRIALS, OPT_TIME, OPT_METHOD, OPT_JSON, OPT_QUIET, OPT_SAVE,
	OPT_DB, OPT_NO_DB, OPT_PATIENCE, OPT_NO_MODEL, OPT_NO_CONSTRUCTED, OPT_LIST, OPT_HELP_SHORT, OPT_HELP
};

static const cli_optspec common_specs[] = {
	{"-D", "--define", true},
	{NULL, "--seed", true},
	{NULL, "--schedule", true},
	{NULL, "--target", true},
	{NULL, "--interp", false},
	{NULL, "--trials", true},
	{NULL, "--time", true},
	{NULL, "--method", true},
	{NULL, "--json", false},
	{"-q", "--quiet", false},
	{NULL, "--save-schedule", true},
	{NULL, "--db", true},
	{NULL, "--no-db", false},
	{NULL, "--patience", true},
	{NULL, "--no-model", false},
	{NULL, "--no-constructed", false},
	{NULL, "--list", true},
	{"-h", NULL, false},
	{NULL, "--help", false},
};

typedef struct parse_state {
	cli_opts *o;
	unsigned allowed;
	const char *cmd;
} parse_state;

int cli_parse_define(const char *text, te_define *d)
{
	const char *eq = strchr(text, '=');
	char *end;
	long long v;

	if (!eq || eq == text) {
		fprintf(stderr, "ftc: -D needs NAME=VALUE, got '%s'\n", text);
		return 1;
	}
	errno = 0;
	v = strtoll(eq + 1, &end, 10);
	if (errno || end == eq + 1 || *end) {
		fprintf(stderr, "ftc: -D %s: the value must be an integer\n", text);
		return 1;
	}
	d->name = strndup(text, eq - text);
	d->value = v;
	return d->name ? 0 : 1;
}

static int common_opt(int which, const char *value, void *ctx)
{
	parse_state *ps = ctx;
	cli_opts *o = ps->o;
	static const unsigned need[] = {
		[OPT_SEED] = CLI_SEED, [OPT_SCHEDULE] = CLI_SCHEDULE,
		[OPT_TARGET] = CLI_TARGET, [OPT_INTERP] = CLI_INTERP,
		[OPT_TRIALS] = CLI_TUNE, [OPT_TIME] = CLI_TUNE, [OPT_METHOD] = CLI_TUNE,
		[OPT_JSON] = CLI_TUNE, [OPT_QUIET] = CLI_TUNE, [OPT_SAVE] = CLI_TUNE,
		[OPT_DB] = CLI_DB, [OPT_NO_DB] = CLI_DB, [OPT_PATIENCE] = CLI_TUNE,
		[OPT_NO_MODEL] = CLI_TUNE, [OPT_NO_CONSTRUCTED] = CLI_TUNE, [OPT_LIST] = CLI_FILES,
	};
	char *end;

	if (which >= OPT_SEED && which <= OPT_LIST && !(ps->allowed & need[which])) {
		fprintf(stderr, "ftc %s: option '%s' does not apply to this command (see 'ftc %s --help')\n",
			ps->cmd, common_specs[which].long_name, ps->cmd);
		return 1;
	}
	switch (which) {
	case OPT_DEFINE:
		if (o->ndefs == CLI_MAX_DEFINES) {
			fprintf(stderr, "ftc: too many -D options (at most %d)\n", CLI_MAX_DEFINES);
			return 1;
		}
		return cli_parse_define(value, &o->defs[o->ndefs++]) ? (o->ndefs--, 1) : 0;
	case OPT_SEED:
		errno = 0;
		o->seed = strtoull(value, &end, 10);
		if (errno || end == value || *end) {
			fprintf(stderr, "ftc: --seed needs a non-negative integer, got '%s'\n", value);
			return 1;
		}
		return 0;
	case OPT_SCHEDULE:
		o->schedule = value;
		return 0;
	case OPT_TARGET:
		o->target = value;
		return 0;
	case OPT_INTERP:
		o->interp = true;
		return 0;
	case OPT_TRIALS:
		errno = 0;
		o->trials = (int)strtol(value, &end, 10);
		if (errno || end == value || *end || o->trials < 0) {
			fprintf(stderr, "ftc: --trials needs a non-negative integer, got '%s'\n", value);
			return 1;
		}
		return 0;
	case OPT_TIME:
		errno = 0;
		o->seconds = strtod(value, &end);
		if (errno || end == value || *end || !(o->seconds >= 0)) {
			fprintf(stderr, "ftc: --time needs a number of seconds, got '%s'\n", value);
			return 1;
		}
		return 0;
	case OPT_METHOD:
		o->method = value;
		return 0;
	case OPT_JSON:
		o->json = true;
		return 0;
	case OPT_QUIET:
		o->quiet = true;
		return 0;
	case OPT_SAVE:
		o->save_schedule = value;
		return 0;
	case OPT_DB:
		o->db = value;
		return 0;
	case OPT_NO_DB:
		o->no_db = true;
		return 0;
	case OPT_NO_MODEL:
		o->no_model = true;
		return 0;
	case OPT_NO_CONSTRUCTED:
		o->no_constructed = true;
		return 0;
	case OPT_LIST:
		o->list = value;
		return 0;
	case OPT_PATIENCE:
		errno = 0;
		o->patience = (int)strtol(value, &end, 10);
		if (errno || end == value || *end || o->patience < 0) {
			fprintf(stderr, "ftc: --patience needs a non-negative integer, got '%s'\n", value);
			return 1;
		}
		return 0;
	default:
		o->help = true;
		return 0;
	}
}

static int common_arg(const char *arg, void *ctx)
{
	parse_state *ps = ctx;
	cli_opts *o = ps->o;

	if (ps->allowed & CLI_FILES) {
		const char **f = realloc(o->files, (size_t)(o->nfiles + 1) * sizeof(*f));

		if (!f) {
			fprintf(stderr, "ftc: out of memory\n");
			return 1;
		}
		o->files = f;
		o->files[o->nfiles++] = arg;
		if (!o->file)
			o->file = arg;
		return 0;
	}
	if (o->file) {
		fprintf(stderr, "ftc: one .te file expected, got '%s' and '%s'\n", o->file, arg);
		return 1;
	}
	o->file = arg;
	return 0;
}

int cli_parse_common(const char *cmd, int argc, char **argv, cli_opts *o,
		     unsigned allowed)
{
	parse_state ps = {o, allowed, cmd};

	memset(o, 0, sizeof(*o));
	o->seed = 1;
	o->trials = -1;
	o->patience = -1;
	if (cli_parse_args(cmd, argc, argv, common_specs,
			   sizeof(common_specs) / sizeof(common_specs[0]), common_opt, common_arg, &ps))
		return 1;
	if (!o->help && !o->file && !o->list) {
		fprintf(stderr, "ftc %s: no .te file given (see 'ftc %s --help')\n", cmd, cmd);
		return 1;
	}
	/* refused before any work: a tune must not run only to fail at its end */
	if (!o->help && o->save_schedule && check_save(cmd, o))
		return 1;
	return 0;
}

void cli_opts_release(cli_opts *o)
{
	for (int i = 0; i < o->ndefs; i++)
		free((char *)o->defs[i].name);
	o->ndefs = 0;
	free(o->files);
	o->files = NULL;
	o->nfiles = 0;
}

/* ---- reading ---- */

/* Read fd to its end into a buffer of up to limit + 1 bytes (one more
 * than allowed, to see a file that grew past the limit).  *n the count;
 * NULL with errno set. */
static char *read_fd(int fd, size_t hint, size_t limit, size_t *n)
{
	size_t cap = (hint < limit ? hint : limit) + 2, len = 0;
	char *buf = malloc(cap);
	ssize_t got;

	while (buf) {
		if (len + 1 == cap) {
			char *nb;

			if (len > limit)
				break;
			cap = cap > limit / 2 ? limit + 2 : cap * 2;
			if (!(nb = realloc(buf, cap))) {
				free(buf);
				errno = ENOMEM;
				return NULL;
			}
			buf = nb;
		}
		got = read(fd, buf + len, cap - 1 - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			int e = errno;

			free(buf);
			errno = e;
			return NULL;
		}
		if (got == 0)
			break;
		len += (size_t)got;
	}
	if (!buf) {
		errno = ENOMEM;
		return NULL;
	}
	buf[len] = '\0';
	*n = len;
	return buf;
}

void *cli_read_bytes(const char *path, size_t limit, size_t *n)
{
	/* O_NONBLOCK: opening a FIFO must not wait for a writer */
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	char *buf = NULL;

	*n = 0;
	if (fd < 0) {
		fprintf(stderr, "%s: error: cannot open: %s\n", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) != 0) {
		fprintf(stderr, "%s: error: cannot read: %s\n", path, strerror(errno));
	} else if (!S_ISREG(st.st_mode)) {
		fprintf(stderr, "%s: error: not a regular file (ftc reads only regular files)\n", path);
	} else if ((uintmax_t)st.st_size > limit) {
		fprintf(stderr, "%s: error: the file has %jd bytes, more than the limit of %zu\n", path,
			(intmax_t)st.st_size, limit);
	} else if (fcntl(fd, F_SETFL, 0) != 0 || !(buf = read_fd(fd, (size_t)st.st_size, limit, n))) {
		fprintf(stderr, "%s: error: cannot read: %s\n", path, strerror(errno));
	} else if (*n > limit) {
		fprintf(stderr, "%s: error: the file grew past the limit of %zu bytes while read\n", path, limit);
		free(buf);
		buf = NULL;
	}
	close(fd);
	return buf;
}

char *cli_read_file(const char *path)
{
	size_t len;
	char *buf = cli_read_bytes(path, CLI_MAX_TEXT_BYTES, &len);
	rt_error err;

	rt_error_clear(&err);
	if (buf && te_source_check(buf, len, &err)) {
		te_diag_print(stderr, path, buf, &err);
		free(buf);
		return NULL;
	}
	return buf;
}

/* ---- writing ---- */

bool cli_same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	return a && b && stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

/* The canonical spelling of a path that does not exist yet: its
 * directory's realpath and its last component (malloc'd), or NULL. */
static char *future_path(const char *path)
{
	const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
	char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
	char *real = dir ? realpath(dir, NULL) : NULL, *out = NULL;
	size_t n;

	if (real && (out = malloc(n = strlen(real) + strlen(base) + 2)))
		snprintf(out, n, "%s/%s", real, base);
	free(dir);
	free(real);
	return out;
}

/* Whether out and in will be the same file: the same existing file, or
 * two spellings of one path neither of which exists yet (the db a tune
 * is about to create). */
static bool same_output(const char *out, const char *in)
{
	struct stat st;
	char *a, *b;
	bool same;

	if (cli_same_file(out, in))
		return true;
	if (stat(out, &st) == 0 || stat(in, &st) == 0)
		return false;
	a = future_path(out);
	b = future_path(in);
	same = a && b && strcmp(a, b) == 0;
	free(a);
	free(b);
	return same;
}

int cli_check_output(const char *cmd, const char *what, const char *out, const cli_input *in, int n)
{
	struct stat st;

	for (int i = 0; i < n; i++)
		if (in[i].path && same_output(out, in[i].path)) {
			fprintf(stderr,
				"ftc %s: error: %s '%s' is the same file as %s '%s': "
				"ftc does not write over its inputs\n",
				cmd, what, out, in[i].what, in[i].path);
			return 1;
		}
	if (stat(out, &st) == 0 && !S_ISREG(st.st_mode)) {
		fprintf(stderr, "ftc %s: error: %s '%s' exists and is not a regular file\n", cmd, what, out);
		return 1;
	}
	return 0;
}

/* Check o->save_schedule against o's inputs: the .te file, the schedule
 * and the tuning db (unless --no-db).  0, or 1 after printing. */
static int check_save(const char *cmd, const cli_opts *o)
{
	char db[4096];
	cli_input in[3] = {{"the .te file", o->file}, {"the schedule", o->schedule}, {"the tuning db", NULL}};

	if (!o->no_db && cli_db_path(o, db, sizeof(db)) == 0)
		in[2].path = db;
	return cli_check_output(cmd, "--save-schedule", o->save_schedule, in, 3);
}

int cli_save_schedule(const char *cmd, const cli_opts *o, const char *text)
{
	if (check_save(cmd, o))
		return 1;
	return cli_write_atomic(cmd, o->save_schedule, text, strlen(text));
}

/* "DIR/.BASE.tmp-PID-K" beside path (malloc'd), or NULL. */
static char *temp_name(const char *path, unsigned k)
{
	const char *slash = strrchr(path, '/');
	size_t dlen = slash ? (size_t)(slash - path) + 1 : 0, n = strlen(path) + 48;
	char *t = malloc(n);

	if (t)
		snprintf(t, n, "%.*s.%s.tmp-%ld-%u", (int)dlen, path, path + dlen, (long)getpid(), k);
	return t;
}

/* The file a write to `path` should replace: its symlink's target when
 * it is one that resolves, else path itself (malloc'd), or NULL. */
static char *write_target(const char *path)
{
	struct stat st;
	char *real;

	if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode) && (real = realpath(path, NULL)))
		return real;
	return strdup(path);
}

static void wfile_release(cli_wfile *w)
{
	free(w->path);
	free(w->tmp);
	w->path = w->tmp = NULL;
	w->f = NULL;
}

int cli_wfile_open(cli_wfile *w, const char *cmd, const char *path)
{
	struct stat st;
	int fd = -1, e = 0;

	memset(w, 0, sizeof(*w));
	w->cmd = cmd;
	if (!(w->path = write_target(path))) {
		fprintf(stderr, "ftc %s: out of memory\n", cmd);
		return 1;
	}
	/* O_EXCL on a fresh name: never follow or reuse someone's file */
	for (unsigned k = 0; fd < 0 && k < 100; k++) {
		free(w->tmp);
		if (!(w->tmp = temp_name(w->path, k))) {
			e = ENOMEM;
			break;
		}
		fd = open(w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
		e = fd < 0 ? errno : 0;
		if (fd < 0 && e != EEXIST)
			break;
	}
	if (fd >= 0 && stat(w->path, &st) == 0)
		(void)fchmod(fd, st.st_mode & 07777); /* a replaced file keeps its mode */
	if (fd >= 0 && !(w->f = fdopen(fd, "wb"))) {
		e = errno;
		close(fd);
		remove(w->tmp);
	}
	if (!w->f) {
		fprintf(stderr, "ftc %s: cannot write '%s': %s\n", cmd, path, strerror(e));
		wfile_release(w);
		return 1;
	}
	return 0;
}

/* fsync the directory holding path, so that the rename is durable. */
static void sync_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
	int fd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;

	if (fd >= 0) {
		(void)fsync(fd); /* best effort: some file systems refuse */
		close(fd);
	}
	free(dir);
}

int cli_wfile_commit(cli_wfile *w)
{
	int e = 0;

	if (fflush(w->f) != 0 || ferror(w->f))
		e = errno ? errno : EIO;
	if (!e && fsync(fileno(w->f)) != 0)
		e = errno;
	if (fclose(w->f) != 0 && !e) /* closed once, whatever happened */
		e = errno;
	w->f = NULL;
	if (!e && rename(w->tmp, w->path) != 0)
		e = errno;
	if (e) {
		fprintf(stderr, "ftc %s: cannot write '%s': %s\n", w->cmd, w->path, strerror(e));
		remove(w->tmp);
	} else {
		sync_dir(w->path);
	}
	wfile_release(w);
	return e ? 1 : 0;
}

void cli_wfile_abort(cli_wfile *w)
{
	if (w->f) {
		fclose(w->f);
		remove(w->tmp);
	}
	wfile_release(w);
}

int cli_write_atomic(const char *cmd, const char *path, const void *data, size_t n)
{
	cli_wfile w;

	if (cli_wfile_open(&w, cmd, path))
		return 1;
	if (fwrite(data, 1, n, w.f) != n) {
		fprintf(stderr, "ftc %s: cannot write '%s': %s\n", cmd, path, strerror(errno ? errno : EIO));
		cli_wfile_abort(&w);
		return 1;
	}
	return cli_wfile_commit(&w);
}

int cli_db_path(const cli_opts *o, char *out, size_t n)
{
	rt_error err;

	rt_error_clear(&err);
	if (o->db) {
		if ((size_t)snprintf(out, n, "%s", o->db) < n)
			return 0;
		fprintf(stderr, "ftc: the db path '%s' is too long (at most %zu bytes)\n", o->db, n - 1);
		return 1;
	}
	if (tdb_default_path(out, n, &err)) {
		fprintf(stderr, "ftc: %s\n", err.msg);
		return 1;
	}
	return 0;
}

te_graph *cli_load(const cli_opts *o, isl_ctx *ctx, char **src)
{
	rt_error err;
	te_graph *g;

	rt_error_clear(&err);
	*src = cli_read_file(o->file);
	if (!*src)
		return NULL;
	g = te_parse(*src, o->defs, o->ndefs, &err);
	if (g && te_verify(g, ctx, &err) == 0)
		return g;
	te_diag_print(stderr, o->file, *src, &err);
	te_graph_free(g);
	free(*src);
	*src = NULL;
	return NULL;
}

void cli_lower_error(const cli_opts *o, const char *sched_src, const rt_error *err)
{
	if (err->line > 0 && o->schedule)
		te_diag_print(stderr, o->schedule, sched_src, err);
	else
		fprintf(stderr, "%s: error: %s\n", o->schedule ? o->schedule : o->file, err->msg);
}

isl_ctx *cli_isl_ctx(void)
{
	isl_ctx *ctx = isl_ctx_alloc();

	if (ctx)
		isl_options_set_on_error(ctx, ISL_ON_ERROR_CONTINUE);
	else
		fprintf(stderr, "ftc: out of memory\n");
	return ctx;
}

/* ---- ftc tune's pieces ---- */

int cli_tune_options(const cli_opts *o, srch_tune_opts *to)
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
	if (o->no_constructed)
		to->seed_points = 0;
	to->patience = to->trials > 0 ? (to->trials / 2 > 30 ? to->trials / 2 : 30) : 100;
	if (o->patience >= 0)
		to->patience = o->patience;
	return CLI_OK;
}

/* Keep the best after this trial (the curve is a report only: out of
 * memory drops the point). */
static void add_point(cli_progress *ui, double best)
{
	if (ui->ncurve == ui->cap) {
		int n = ui->cap ? 2 * ui->cap : 128;
		double *p = realloc(ui->curve, (size_t)n * sizeof(*p));

		if (!p)
			return;
		ui->curve = p;
		ui->cap = n;
	}
	ui->curve[ui->ncurve++] = best;
}

/* The srch_tune_opts.progress callback; user is a cli_progress. */
static void progress(void *user, const srch_progress *p)
{
	cli_progress *ui = user;
	char eta[32] = "?";

	add_point(ui, p->best_gflops);
	if (p->eta >= 0)
		snprintf(eta, sizeof(eta), "%.0fs", p->eta);
	if (ui->live) {
		fprintf(stderr, "\r\033[Ktrial %d%s%.0d  best %.2f GFLOP/s%s  last %.2f  failures %d  elapsed %.0fs  ETA %s",
			p->trial, p->trials ? "/" : "", p->trials, p->best_gflops, ui->unit, p->last_gflops, p->failures,
			p->elapsed, eta);
		fflush(stderr);
	} else if (ui->lines && p->trials > 0 && p->trial * 10 / p->trials > ui->last_tenth) {
		ui->last_tenth = p->trial * 10 / p->trials;
		fprintf(stderr, "trial %d/%d  best %.2f GFLOP/s%s  failures %d  elapsed %.0fs  ETA %s\n", p->trial,
			p->trials, p->best_gflops, ui->unit, p->failures, p->elapsed, eta);
	} else if (ui->lines && p->trials == 0 && p->trial % 10 == 0) {
		fprintf(stderr, "trial %d  best %.2f GFLOP/s%s  failures %d  elapsed %.0fs\n", p->trial, p->best_gflops,
			ui->unit, p->failures, p->elapsed);
	}
}

void cli_progress_start(cli_progress *ui, const cli_opts *o, const char *unit, srch_tune_opts *to)
{
	memset(ui, 0, sizeof(*ui));
	ui->live = !o->quiet && !o->json && isatty(2);
	ui->lines = !o->quiet && !o->json && !ui->live;
	ui->unit = unit;
	to->progress = progress;
	to->user = ui;
}

void cli_progress_stop(const cli_progress *ui)
{
	if (ui->live)
		fputc('\n', stderr);
}

void cli_progress_end(cli_progress *ui)
{
	free(ui->curve);
	ui->curve = NULL;
	ui->ncurve = ui->cap = 0;
}

/* ---- output directories ---- */

char *cli_path_join(const char *dir, const char *file)
{
	size_t n = strlen(dir) + strlen(file) + 2;
	char *p = malloc(n);

	if (p)
		snprintf(p, n, "%s/%s", dir, file);
	return p;
}

int cli_make_dirs(const char *cmd, const char *dir)
{
	char *p = strdup(dir);
	struct stat st;

	if (!p) {
		fprintf(stderr, "ftc %s: out of memory\n", cmd);
		return 1;
	}
	for (char *s = p + 1;; s++) {
		char c = *s;

		if (c != '/' && c != '\0')
			continue;
		*s = '\0';
		if (mkdir(p, 0777) != 0 && errno != EEXIST) {
			fprintf(stderr, "ftc %s: cannot create directory '%s': %s\n", cmd, p, strerror(errno));
			free(p);
			return 1;
		}
		*s = c;
		if (!c)
			break;
	}
	free(p);
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "ftc %s: '%s' is not a directory\n", cmd, dir);
		return 1;
	}
	if (access(dir, W_OK | X_OK) != 0) {
		fprintf(stderr, "ftc %s: cannot write into '%s': %s\n", cmd, dir, strerror(errno));
		return 1;
	}
	return 0;
}

int cli_write_in(const char *cmd, const char *dir, const char *file, const void *data, size_t n)
{
	char *path = cli_path_join(dir, file);
	int rc;

	if (!path) {
		fprintf(stderr, "ftc %s: out of memory\n", cmd);
		return 1;
	}
	rc = cli_write_atomic(cmd, path, data, n);
	free(path);
	return rc;
}

void cli_json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

int cli_refuse_options(const char *cmd, const cli_opts *o, const cg_backend *be)
{
	const char *opt = NULL, *why = NULL;

	if (o->emit_llvm && !be->llvm_ir) {
		opt = "--emit-llvm";
		why = "it writes no LLVM IR";
	}
	if (!opt)
		return 0;
	fprintf(stderr, "ftc %s: %s means nothing for the %s target (%s)\n", cmd, opt, be->name, why);
	return 1;
}
