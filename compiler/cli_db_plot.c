/*
 * ftc db plot: the tuning-curve chart of one workload, from the db.
 *
 * For every target that has records of the workload: each measured
 * candidate's GFLOP/s (points) and the best so far (a step line), against
 * the trial number (left panel) and against tuning seconds (right panel;
 * a pause of more than PLOT_MAX_GAP_S between two records, i.e. a later
 * tune, is not counted).  The chart is drawn by gnuplot from a script with
 * the data inline: -o NAME.png or NAME.svg runs gnuplot (which must be
 * installed) into a temporary file renamed onto NAME; -o NAME.gp writes the
 * script itself, to render or edit elsewhere.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "cli.h"
#include "cli_db_plot.h"

#define PLOT_MAX_GAP_S 60.0 /* a longer pause between records starts a new tune */

typedef enum plot_format { PLOT_PNG, PLOT_SVG, PLOT_SCRIPT } plot_format;

/* The format -o's extension names; -1 after printing when none. */
static int plot_format_of(const char *path)
{
	const char *dot = strrchr(path, '.');

	if (dot && strcmp(dot, ".png") == 0)
		return PLOT_PNG;
	if (dot && strcmp(dot, ".svg") == 0)
		return PLOT_SVG;
	if (dot && strcmp(dot, ".gp") == 0)
		return PLOT_SCRIPT;
	fprintf(stderr, "ftc db plot: -o '%s': name a .png, .svg or .gp (gnuplot script) file\n", path);
	return -1;
}

/* s as a gnuplot single-quoted string ('' stands for '). */
static void put_quoted(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; *s; s++) {
		if (*s == '\'')
			fputc('\'', f);
		if (*s != '\n')
			fputc(*s, f);
	}
	fputc('\'', f);
}

static int cmp_id(const void *x, const void *y)
{
	const tdb_record *a = x, *b = y;

	return (a->id > b->id) - (a->id < b->id);
}

/* Datablock $tN: trial, tuning seconds, GFLOP/s (NaN when not measured),
 * best so far.  The number of rows. */
static int put_data(FILE *f, int t, tdb_record *r, int n)
{
	double best = 0, secs = 0;

	qsort(r, n, sizeof(*r), cmp_id);
	fprintf(f, "$t%d << EOD\n", t);
	for (int i = 0; i < n; i++) {
		bool measured = r[i].status == TDB_OK && r[i].runs > 0 && r[i].gflops > 0;
		double gap = i ? r[i].created - r[i - 1].created : 0;

		if (gap > 0 && gap <= PLOT_MAX_GAP_S)
			secs += gap;
		if (measured && r[i].gflops > best)
			best = r[i].gflops;
		fprintf(f, "%d %.3f ", i + 1, secs);
		if (measured)
			fprintf(f, "%.6g", r[i].gflops);
		else
			fputs("NaN", f);
		fprintf(f, " %.6g\n", best);
	}
	fputs("EOD\n", f);
	return n;
}

/* One panel: x column xcol of every target's block. */
static void put_panel(FILE *f, const tdb_summary *s, int ns, int xcol, const char *xlabel)
{
	fprintf(f, "set xlabel '%s'\nplot ", xlabel);
	for (int i = 0; i < ns; i++) {
		fprintf(f, "%s$t%d using %d:4 with steps lw 2 lc %d title ", i ? ", \\\n     " : "", i, xcol,
			i + 1);
		put_quoted(f, s[i].t.target);
		fprintf(f, ", \\\n     $t%d using %d:3 with points pt 7 ps 0.4 lc %d notitle", i, xcol, i + 1);
	}
	fputc('\n', f);
}

/* The whole script; `output` NULL leaves terminal and output to the user. */
static int put_script(FILE *f, tdb *db, const tdb_workload *w, const tdb_summary *s, int ns, plot_format fmt,
		      const char *output)
{
	rt_error err;

	rt_error_clear(&err);
	fputs("# ftc db plot: best GFLOP/s against trials and tuning seconds, per target\n", f);
	if (fmt == PLOT_PNG)
		fputs("set terminal pngcairo size 1200,480 font ',10' noenhanced\n", f);
	else if (fmt == PLOT_SVG)
		fputs("set terminal svg size 1200,480 dynamic font ',10' noenhanced\n", f);
	else
		fputs("set termoption noenhanced\n", f);
	if (output) {
		fputs("set output ", f);
		put_quoted(f, output);
		fputc('\n', f);
	}
	for (int i = 0; i < ns; i++) {
		tdb_record *r;
		int n;

		if (tdb_records(db, w->id, s[i].t.id, &r, &n, &err)) {
			fprintf(stderr, "ftc db plot: %s\n", err.msg);
			return 1;
		}
		put_data(f, i, r, n);
		tdb_records_free(r, n);
	}
	fprintf(f, "set multiplot layout 1,2 title 'ftc tune: workload %s (%.4g GFLOP a run)'\n", w->hash,
		w->flops * 1e-9);
	fputs("set grid\nset key bottom right\nset ylabel 'GFLOP/s'\nset yrange [0:*]\n", f);
	put_panel(f, s, ns, 1, "trial (records in the order measured)");
	fprintf(f, "set key off\n");
	put_panel(f, s, ns, 2, "tuning seconds (pauses over 60 s between records skipped)");
	fputs("unset multiplot\n", f);
	return ferror(f) ? 1 : 0;
}

/* Run gnuplot on the script; 0, or 1 after printing. */
static int run_gnuplot(tdb *db, const tdb_workload *w, const tdb_summary *s, int ns, plot_format fmt,
		       const char *tmp_out)
{
	FILE *p = popen("gnuplot", "w");
	int rc, st;

	if (!p) {
		fprintf(stderr, "ftc db plot: cannot run gnuplot: %s\n", strerror(errno));
		return 1;
	}
	rc = put_script(p, db, w, s, ns, fmt, tmp_out);
	st = pclose(p);
	if (rc)
		return 1;
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
			fprintf(stderr, "ftc db plot: gnuplot is not installed (apt-get install gnuplot-nox), "
					"or write the script with -o NAME.gp\n");
		else
			fprintf(stderr, "ftc db plot: gnuplot failed (status %d)\n", st);
		return 1;
	}
	return 0;
}

int cli_db_plot(tdb *db, const tdb_workload *w, const tdb_summary *s, int ns, const char *out)
{
	cli_wfile wf = {0};
	int fmt = plot_format_of(out), rc;

	if (fmt < 0)
		return 1;
	if (ns == 0) {
		fprintf(stderr, "ftc db plot: workload %s has no records yet\n", w->hash);
		return 1;
	}
	if (cli_wfile_open(&wf, "db plot", out))
		return 1;
	if (fmt == PLOT_SCRIPT)
		rc = put_script(wf.f, db, w, s, ns, PLOT_SCRIPT, NULL);
	else /* gnuplot writes the temporary file; the commit renames it */
		rc = run_gnuplot(db, w, s, ns, fmt, wf.tmp);
	if (rc) {
		cli_wfile_abort(&wf);
		return 1;
	}
	if (cli_wfile_commit(&wf))
		return 1;
	fprintf(stderr, "wrote %s (%d target%s)\n", out, ns, ns == 1 ? "" : "s");
	return 0;
}
