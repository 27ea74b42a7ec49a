/*
 * cli_util: argument parsing and loading of .te files for the driver.
 */
#include "cli.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <isl/options.h>

#include "sched.h"
#include "te_verify.h"

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
	OPT_DB, OPT_NO_DB, OPT_PATIENCE, OPT_HELP_SHORT, OPT_HELP
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
	};
	char *end;

	if (which >= OPT_SEED && which <= OPT_PATIENCE && !(ps->allowed & need[which])) {
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
	cli_opts *o = ((parse_state *)ctx)->o;

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
	if (!o->help && !o->file) {
		fprintf(stderr, "ftc %s: no .te file given (see 'ftc %s --help')\n", cmd, cmd);
		return 1;
	}
	return 0;
}

void cli_opts_release(cli_opts *o)
{
	for (int i = 0; i < o->ndefs; i++)
		free((char *)o->defs[i].name);
	o->ndefs = 0;
}

char *cli_read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!f) {
		fprintf(stderr, "%s: error: cannot open: %s\n", path, strerror(errno));
		return NULL;
	}
	do {
		if (cap - len < 4096) {
			char *nb = realloc(buf, cap = cap * 2 + 4096);

			if (!nb) {
				fprintf(stderr, "%s: error: out of memory\n", path);
				goto fail;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
	} while (n > 0);
	if (ferror(f)) {
		fprintf(stderr, "%s: error: read failed: %s\n", path, strerror(errno));
		goto fail;
	}
	fclose(f);
	buf[len] = '\0';
	if (strlen(buf) != len) {
		fprintf(stderr, "%s: error: the file contains a NUL byte\n", path);
		free(buf);
		return NULL;
	}
	return buf;
fail:
	fclose(f);
	free(buf);
	return NULL;
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

int cli_load_schedule(const cli_opts *o, sch_schedule **out, char **src)
{
	rt_error err;

	*out = NULL;
	*src = NULL;
	if (!o->schedule)
		return 0;
	if (!(*src = cli_read_file(o->schedule)))
		return 1;
	rt_error_clear(&err);
	*out = sch_parse(*src, &err);
	if (*out)
		return 0;
	te_diag_print(stderr, o->schedule, *src, &err);
	return 1;
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
