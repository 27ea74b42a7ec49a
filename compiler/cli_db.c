/*
 * ftc db SUBCOMMAND: read and maintain the tuning db.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cli_db_plot.h"
#include "tdb.h"

static const char db_help[] =
	"usage: ftc db list    [--db PATH]\n"
	"       ftc db show    HASH|FILE.te [-D NAME=VALUE]... [--top N] [--db PATH]\n"
	"       ftc db export  [--format jsonl] [-o FILE] [--db PATH]\n"
	"       ftc db import  FILE [--db PATH]\n"
	"       ftc db prune   [--keep N] [--db PATH]\n"
	"       ftc db check   [--db PATH]\n"
	"       ftc db plot    HASH|FILE.te [-D NAME=VALUE]... [-o FILE] [--db PATH]\n"
	"\n"
	"The tuning db keeps every measurement ftc tune makes, per workload (the\n"
	"canonical hash of a .te graph at its shapes) and target (the target\n"
	"string and a fingerprint of the hardware), and the best record of each.\n"
	"\n"
	"  list    workloads x targets: records, failures, best GFLOP/s\n"
	"  show    one workload (by hash prefix, or a .te file): its text, and per\n"
	"          target the best schedule and the N fastest records (default 10)\n"
	"  export  every record as JSON lines (stdout, or -o FILE, written whole\n"
	"          through a temporary file; never the db itself)\n"
	"  import  merge JSON lines written by export; records already present\n"
	"          (same uid) are skipped; each line's workload hash must match\n"
	"          its text and its numbers be a measurement's, else nothing is\n"
	"          imported; imported records are unverified: tune and compile\n"
	"          replay them here before one can be the best\n"
	"  prune   delete failures and all but the N fastest records of each\n"
	"          workload and target (default 20; the best is always kept)\n"
	"  check   SQLite's integrity check and ftc's own (schema, references)\n"
	"  plot    one workload's tuning curves: every record's GFLOP/s and the\n"
	"          best so far against trials and tuning seconds, per target;\n"
	"          -o NAME.png or NAME.svg (drawn by gnuplot; default HASH.png)\n"
	"          or NAME.gp (the gnuplot script, data inline)\n"
	"\n" CLI_DB_HELP;

typedef struct db_args {
	cli_opts o;           /* --db, -D and the file for show */
	const char *sub;      /* the subcommand */
	const char *arg;      /* its one argument (show, import) */
	const char *format;   /* --format */
	const char *out;      /* -o */
	int keep, top;
	bool help;
} db_args;

enum { DB_OPT_DB, DB_OPT_FORMAT, DB_OPT_OUT, DB_OPT_KEEP, DB_OPT_TOP, DB_OPT_DEFINE, DB_OPT_HELP_S, DB_OPT_HELP };

static const cli_optspec db_specs[] = {
	{NULL, "--db", true}, {NULL, "--format", true}, {"-o", "--output", true}, {NULL, "--keep", true},
	{NULL, "--top", true}, {"-D", "--define", true}, {"-h", NULL, false}, {NULL, "--help", false},
};

static int parse_count(const char *opt, const char *value, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(value, &end, 10);
	if (errno || end == value || *end || v < 0 || v > 1000000) {
		fprintf(stderr, "ftc db: %s needs a non-negative integer, got '%s'\n", opt, value);
		return 1;
	}
	*out = (int)v;
	return 0;
}

static int db_opt(int which, const char *value, void *ctx)
{
	db_args *a = ctx;

	switch (which) {
	case DB_OPT_DB:
		a->o.db = value;
		return 0;
	case DB_OPT_FORMAT:
		a->format = value;
		return 0;
	case DB_OPT_OUT:
		a->out = value;
		return 0;
	case DB_OPT_KEEP:
		return parse_count("--keep", value, &a->keep);
	case DB_OPT_TOP:
		return parse_count("--top", value, &a->top);
	case DB_OPT_DEFINE:
		if (a->o.ndefs == CLI_MAX_DEFINES) {
			fprintf(stderr, "ftc: too many -D options (at most %d)\n", CLI_MAX_DEFINES);
			return 1;
		}
		return cli_parse_define(value, &a->o.defs[a->o.ndefs]) ? 1 : (a->o.ndefs++, 0);
	default:
		a->help = true;
		return 0;
	}
}

static int db_arg(const char *arg, void *ctx)
{
	db_args *a = ctx;

	if (!a->sub)
		a->sub = arg;
	else if (!a->arg)
		a->arg = arg;
	else {
		fprintf(stderr, "ftc db: unexpected argument '%s' (see 'ftc db --help')\n", arg);
		return 1;
	}
	return 0;
}

static void date_of(double t, char *out, size_t n)
{
	time_t s = (time_t)t;
	struct tm tm;

	if (t <= 0 || !gmtime_r(&s, &tm) || !strftime(out, n, "%Y-%m-%d %H:%M", &tm))
		snprintf(out, n, "?");
}

/* The last stage line of a workload's canonical text (what it computes),
 * shortened to fit a column. */
static void short_text(const char *text, char *out, size_t n)
{
	const char *last = text;

	for (const char *p = text; *p;) {
		size_t len = strcspn(p, "\n");

		if (len && strncmp(p, "output", 6) != 0)
			last = p;
		p += len + (p[len] == '\n');
	}
	snprintf(out, n, "%.*s", (int)strcspn(last, "\n"), last);
	if (n > 48 && strlen(out) > 48)
		snprintf(out + 45, n - 45, "...");
}

static int db_list(tdb *db)
{
	tdb_summary *s;
	rt_error err;
	int n;

	rt_error_clear(&err);
	if (tdb_list(db, &s, &n, &err)) {
		fprintf(stderr, "ftc db list: %s\n", err.msg);
		return CLI_USER_ERROR;
	}
	if (n == 0)
		printf("the tuning db holds no records yet ('ftc tune FILE.te' adds them)\n");
	else
		printf("%-16s  %-48s  %-36s  %7s  %6s  %8s\n", "workload", "computes", "target", "records", "failed",
		       "GFLOP/s");
	for (int i = 0; i < n; i++) {
		char text[64];

		short_text(s[i].w.text ? s[i].w.text : "", text, sizeof(text));
		printf("%-16s  %-48s  %-36s  %7d  %6d  ", s[i].w.hash, text, s[i].t.target, s[i].records,
		       s[i].failures);
		if (s[i].best_id)
			printf("%8.2f\n", s[i].best_gflops);
		else
			printf("%8s\n", "-");
	}
	tdb_summaries_free(s, n);
	return CLI_OK;
}

/* The workload named by a hash prefix or a .te file; 1 after printing. */
static int find_workload(tdb *db, db_args *a, tdb_workload *w)
{
	char hash[17];
	rt_error err;
	int found;
	size_t len = strlen(a->arg);

	rt_error_clear(&err);
	if (len > 3 && strcmp(a->arg + len - 3, ".te") == 0) {
		isl_ctx *ctx = cli_isl_ctx();
		char *src = NULL;
		te_graph *g;

		a->o.file = a->arg;
		g = ctx ? cli_load(&a->o, ctx, &src) : NULL;
		if (g)
			te_graph_hash(g, hash);
		te_graph_free(g);
		free(src);
		isl_ctx_free(ctx);
		if (!g)
			return 1;
	} else {
		snprintf(hash, sizeof(hash), "%s", a->arg);
	}
	if ((found = tdb_workload_find(db, hash, w, &err)) < 0) {
		fprintf(stderr, "ftc db %s: %s\n", a->sub, err.msg);
		return 1;
	}
	if (!found) {
		fprintf(stderr, "ftc db %s: no workload %s in the tuning db\n", a->sub, hash);
		return 1;
	}
	return 0;
}

static int cmp_fastest(const void *x, const void *y)
{
	const tdb_record *a = x, *b = y;
	double ta = a->status == TDB_OK ? a->seconds : INFINITY, tb = b->status == TDB_OK ? b->seconds : INFINITY;

	return (ta > tb) - (ta < tb);
}

static void print_indented(const char *text)
{
	for (const char *p = text; *p;) {
		int n = (int)strcspn(p, "\n");

		printf("    %.*s\n", n, p);
		p += n + (p[n] == '\n');
	}
}

/* One target of a shown workload. */
static int show_target(tdb *db, const tdb_summary *s, int top)
{
	tdb_record *r, b;
	rt_error err;
	char date[32];
	int n, found;

	rt_error_clear(&err);
	printf("\ntarget %s (%s, fingerprint %s)\n", s->t.target, s->t.device, s->t.fingerprint);
	printf("  %d records, %d failed\n", s->records, s->failures);
	if ((found = tdb_best(db, s->w.id, s->t.id, &b, &err)) < 0 ||
	    tdb_records(db, s->w.id, s->t.id, &r, &n, &err)) {
		if (found > 0)
			tdb_record_release(&b);
		fprintf(stderr, "ftc db show: %s\n", err.msg);
		return CLI_USER_ERROR;
	}
	if (found) {
		date_of(b.created, date, sizeof(date));
		printf("  best: %.2f GFLOP/s (%.4g ms), record %" PRId64 ", %s seed %" PRIu64 ", ftc %s, %s UTC\n",
		       b.gflops, b.seconds * 1e3, b.id, b.method, b.seed, b.compiler, date);
		print_indented(b.schedule[0] ? b.schedule : "(the naive schedule)\n");
		tdb_record_release(&b);
	}
	qsort(r, n, sizeof(*r), cmp_fastest);
	printf("  %8s  %9s  %10s  %-7s  %-8s  %s\n", "record", "GFLOP/s", "ms", "status", "method", "verified");
	for (int i = 0; i < n && i < top; i++)
		printf("  %8" PRId64 "  %9.2f  %10.4g  %-7s  %-8s  %s\n", r[i].id, r[i].gflops,
		       r[i].status == TDB_OK ? r[i].seconds * 1e3 : NAN,
		       r[i].status == TDB_OK ? "ok" : r[i].status == TDB_WRONG ? "wrong" : "failed", r[i].method,
		       r[i].verified ? "yes" : r[i].imported ? "no (imported)" : "no");
	tdb_records_free(r, n);
	return CLI_OK;
}

/* ftc db plot: the workload's rows of tdb_list, drawn by cli_db_plot. */
static int db_plot(tdb *db, db_args *a)
{
	tdb_workload w = {0};
	tdb_summary *s;
	rt_error err;
	char def[32];
	int n, k = 0, rc;

	if (!a->arg) {
		fprintf(stderr, "ftc db plot: give a workload hash (prefix) or a .te file\n");
		return CLI_USER_ERROR;
	}
	if (find_workload(db, a, &w))
		return CLI_USER_ERROR;
	rt_error_clear(&err);
	if (tdb_list(db, &s, &n, &err)) {
		fprintf(stderr, "ftc db plot: %s\n", err.msg);
		tdb_workload_release(&w);
		return CLI_USER_ERROR;
	}
	for (int i = 0; i < n; i++) /* keep w's rows, in order, at the front */
		if (s[i].w.id == w.id) {
			tdb_summary t = s[k];

			s[k++] = s[i];
			s[i] = t;
		}
	snprintf(def, sizeof(def), "%.8s.png", w.hash);
	rc = cli_db_plot(db, &w, s, k, a->out ? a->out : def) ? CLI_USER_ERROR : CLI_OK;
	tdb_summaries_free(s, n);
	tdb_workload_release(&w);
	return rc;
}

static int db_show(tdb *db, db_args *a)
{
	tdb_workload w = {0};
	tdb_summary *s;
	rt_error err;
	int n, rc = CLI_OK, shown = 0;

	if (!a->arg) {
		fprintf(stderr, "ftc db show: give a workload hash (prefix) or a .te file\n");
		return CLI_USER_ERROR;
	}
	if (find_workload(db, a, &w))
		return CLI_USER_ERROR;
	printf("workload %s: %.4g GFLOP per run\n", w.hash, w.flops * 1e-9);
	print_indented(w.text);
	rt_error_clear(&err);
	if (tdb_list(db, &s, &n, &err)) {
		fprintf(stderr, "ftc db show: %s\n", err.msg);
		tdb_workload_release(&w);
		return CLI_USER_ERROR;
	}
	for (int i = 0; i < n && rc == CLI_OK; i++)
		if (s[i].w.id == w.id) {
			rc = show_target(db, &s[i], a->top);
			shown++;
		}
	if (!shown)
		printf("\nno records yet\n");
	tdb_summaries_free(s, n);
	tdb_workload_release(&w);
	return rc;
}

/* Before the db is opened: -o must not be the db itself (compared by
 * device and inode, through symlinks and hard links), nor a device or a
 * FIFO.  0, or 1 after printing. */
static int export_check(const db_args *a, const char *dbpath)
{
	cli_input in[1] = {{"the tuning db", dbpath}};

	if (a->format && strcmp(a->format, "jsonl") != 0) {
		fprintf(stderr, "ftc db export: unknown format '%s' (jsonl)\n", a->format);
		return 1;
	}
	return a->out ? cli_check_output("db export", "-o", a->out, in, 1) : 0;
}

/* ftc db plot's -o, like export's: never the db, a device or a FIFO. */
static int plot_check(const db_args *a, const char *dbpath)
{
	cli_input in[1] = {{"the tuning db", dbpath}};

	return a->out ? cli_check_output("db plot", "-o", a->out, in, 1) : 0;
}

/* Every record to stdout, or to -o through a temporary file renamed over
 * it once complete (a failed export leaves the old file as it was). */
static int db_export(tdb *db, const db_args *a)
{
	cli_wfile w = {0};
	rt_error err;
	int n;

	if (a->out && cli_wfile_open(&w, "db export", a->out))
		return CLI_USER_ERROR;
	rt_error_clear(&err);
	n = tdb_export(db, a->out ? w.f : stdout, &err);
	if (n < 0) {
		cli_wfile_abort(&w);
		fprintf(stderr, "ftc db export: %s%s\n", err.msg, a->out ? "" : " (to standard output)");
		return CLI_USER_ERROR;
	}
	if (a->out && cli_wfile_commit(&w))
		return CLI_USER_ERROR;
	fprintf(stderr, "exported %d records\n", n);
	return CLI_OK;
}

static int db_import(tdb *db, const db_args *a)
{
	FILE *f;
	rt_error err;
	int added = 0, skipped = 0, rc;

	if (!a->arg) {
		fprintf(stderr, "ftc db import: give the file to import (JSON lines from 'ftc db export')\n");
		return CLI_USER_ERROR;
	}
	if (!(f = strcmp(a->arg, "-") == 0 ? stdin : fopen(a->arg, "r"))) {
		fprintf(stderr, "%s: error: cannot open: %s\n", a->arg, strerror(errno));
		return CLI_USER_ERROR;
	}
	rt_error_clear(&err);
	rc = tdb_import(db, f, &added, &skipped, &err);
	if (f != stdin)
		fclose(f);
	if (rc) { /* a line's error starts with its number; the db's with its path */
		if (err.line > 0)
			fprintf(stderr, "%s:%s\n", a->arg, err.msg);
		else
			fprintf(stderr, "ftc db import: %s (nothing imported from %s)\n", err.msg,
				a->arg);
		return CLI_USER_ERROR;
	}
	printf("imported %d records, skipped %d already present\n", added, skipped);
	return CLI_OK;
}

static int db_prune(tdb *db, const db_args *a)
{
	rt_error err;
	int n;

	rt_error_clear(&err);
	if ((n = tdb_prune(db, a->keep, &err)) < 0) {
		fprintf(stderr, "ftc db prune: %s\n", err.msg);
		return CLI_USER_ERROR;
	}
	printf("removed %d records (kept the %d fastest of each workload and target)\n", n, a->keep);
	return CLI_OK;
}

static int db_check(tdb *db, const db_args *a)
{
	rt_error err;

	rt_error_clear(&err);
	if (tdb_check(db, &err)) {
		fprintf(stderr, "ftc db check: %s\n", err.msg);
		return CLI_USER_ERROR;
	}
	printf("%s: ok (schema version %d)\n", a->o.db ? a->o.db : "the tuning db", tdb_schema_version(db));
	return CLI_OK;
}

static int db_run(db_args *a)
{
	bool reads = strcmp(a->sub, "list") == 0 || strcmp(a->sub, "show") == 0 || strcmp(a->sub, "export") == 0 ||
		     strcmp(a->sub, "check") == 0 || strcmp(a->sub, "plot") == 0;
	char dbpath[4096];
	tdb *db = NULL;
	int rc;

	if (!reads && strcmp(a->sub, "import") != 0 && strcmp(a->sub, "prune") != 0) {
		fprintf(stderr, "ftc db: unknown subcommand '%s' (list, show, export, import, prune, check, plot)\n",
			a->sub);
		return CLI_USER_ERROR;
	}
	if (a->arg && strcmp(a->sub, "show") != 0 && strcmp(a->sub, "import") != 0 && strcmp(a->sub, "plot") != 0) {
		fprintf(stderr, "ftc db %s: unexpected argument '%s'\n", a->sub, a->arg);
		return CLI_USER_ERROR;
	}
	if (cli_db_path(&a->o, dbpath, sizeof(dbpath)) ||
	    (a->sub[0] == 'e' && export_check(a, dbpath)) || (strcmp(a->sub, "plot") == 0 && plot_check(a, dbpath)))
		return CLI_USER_ERROR;
	/* Reading commands do not create a db that is not there. */
	if (cli_db_open(&a->o, !reads, &db))
		return CLI_USER_ERROR;
	if (!db) {
		fprintf(stderr, "ftc db %s: there is no tuning db at %s yet\n", a->sub,
			a->o.db ? a->o.db : "the default path ($FTC_DB, ~/.cache/ftc/tuning.db)");
		return CLI_USER_ERROR;
	}
	switch (a->sub[0]) {
	case 'l': rc = db_list(db); break;
	case 's': rc = db_show(db, a); break;
	case 'e': rc = db_export(db, a); break;
	case 'i': rc = db_import(db, a); break;
	case 'p': rc = a->sub[1] == 'l' ? db_plot(db, a) : db_prune(db, a); break;
	default: rc = db_check(db, a); break;
	}
	tdb_close(db);
	return rc;
}

int cli_db(int argc, char **argv)
{
	db_args a;
	int rc;

	memset(&a, 0, sizeof(a));
	a.keep = 20;
	a.top = 10;
	if (cli_parse_args("db", argc, argv, db_specs, sizeof(db_specs) / sizeof(db_specs[0]), db_opt, db_arg, &a)) {
		cli_opts_release(&a.o);
		return CLI_USER_ERROR;
	}
	if (a.help) {
		fputs(db_help, stdout);
		rc = CLI_OK;
	} else if (!a.sub) {
		fprintf(stderr, "ftc db: give a subcommand: list, show, export, import, prune, check, plot "
				"(see 'ftc db --help')\n");
		rc = CLI_USER_ERROR;
	} else {
		rc = db_run(&a);
	}
	cli_opts_release(&a.o);
	return rc;
}
