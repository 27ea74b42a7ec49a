/*
 * ftc lower FILE.te [--schedule FILE]: print the loop IR of a schedule.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cg.h"
#include "cli.h"
#include "lir.h"
#include "lir_pipe.h"

static const char lower_help[] =
	"usage: ftc lower FILE.te [-D NAME=VALUE]... [--schedule FILE] [--target T]\n"
	"\n"
	"Lower FILE.te under a schedule (default: the naive schedule, every\n"
	"stage's loops in axis order) and print the loop IR as pseudo-C.\n"
	"Schedule files hold one step a line (see docs/schedules.md).\n"
	"\n"
	"  -D NAME=VALUE     replace the value of param NAME\n"
	"  --schedule FILE   the schedule to lower with\n"
	"  --target T        the target (checked; the loop IR of a CPU target does\n"
	"                    not depend on it)\n"
	"  -h, --help        show this help\n";

void cli_stem(const char *path, char *out, size_t n)
{
	const char *base = strrchr(path, '/');
	size_t len;

	base = base ? base + 1 : path;
	len = strcspn(base, ".");
	if (len >= n)
		len = n - 1;
	memcpy(out, base, len);
	out[len] = '\0';
	for (char *p = out; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_'))
			*p = '_';
	if (!out[0] || (out[0] >= '0' && out[0] <= '9'))
		snprintf(out, n, "kernel");
}

lir_func *cli_lower_text(const cli_opts *o, const te_graph *g, isl_ctx *ctx, const cli_sched *sc, char **canonical,
			 int *rc)
{
	lir_pipe p = {sc->text, sc->name, 0, NULL, LIR_PASS_NONE};
	rt_error err;
	lir_func *f;

	rt_error_clear(&err);
	f = lir_pipe_run(g, ctx, &p, &err);
	*rc = p.failed == LIR_PASS_VERIFY ? CLI_INTERNAL_ERROR : CLI_USER_ERROR;
	if (p.failed == LIR_PASS_VERIFY)
		fprintf(stderr, "%s: internal error: %s\n", o->file, err.msg);
	else if (p.failed == LIR_PASS_PARSE && sc->origin)
		fprintf(stderr, "%s: error: %s does not parse: %s\n", o->file, sc->origin, err.msg);
	else if (!f)
		cli_lower_error(o, sc->text, &err);
	if (canonical)
		*canonical = p.canonical;
	else
		lir_pipe_release(&p);
	return f;
}

lir_func *cli_lower_graph(const cli_opts *o, const te_graph *g, isl_ctx *ctx)
{
	char *text = NULL, name[64];
	cli_sched sc = {NULL, name, NULL};
	lir_func *f = NULL;
	int rc;

	if (o->schedule && !(text = cli_read_file(o->schedule)))
		return NULL;
	cli_stem(o->file, name, sizeof(name));
	sc.text = text;
	f = cli_lower_text(o, g, ctx, &sc, NULL, &rc);
	free(text);
	return f;
}

int cli_lower(int argc, char **argv)
{
	cli_opts o;
	isl_ctx *ctx = NULL;
	te_graph *g = NULL;
	lir_func *f = NULL;
	char *src = NULL, *text = NULL;
	int rc = CLI_USER_ERROR;

	if (cli_parse_common("lower", argc, argv, &o, CLI_SCHEDULE | CLI_TARGET))
		goto out;
	if (o.help) {
		fputs(lower_help, stdout);
		rc = CLI_OK;
		goto out;
	}
	if (o.target) {
		cg_target t;
		rt_error err;

		rt_error_clear(&err);
		if (cg_target_parse(o.target, &t, &err)) {
			fprintf(stderr, "ftc lower: %s\n", err.msg);
			goto out;
		}
	}
	if (!(ctx = cli_isl_ctx()) || !(g = cli_load(&o, ctx, &src)) ||
	    !(f = cli_lower_graph(&o, g, ctx)))
		goto out;
	if (!(text = lir_print(f))) {
		fprintf(stderr, "ftc lower: out of memory\n");
		rc = CLI_INTERNAL_ERROR;
		goto out;
	}
	fputs(text, stdout);
	rc = CLI_OK;
out:
	free(text);
	lir_func_free(f);
	free(src);
	te_graph_free(g);
	isl_ctx_free(ctx);
	cli_opts_release(&o);
	return rc;
}
