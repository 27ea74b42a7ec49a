/*
 * ftc check FILE.te [-D NAME=VALUE]...: parse, verify, print the canonical
 * form.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

static const char check_help[] =
	"usage: ftc check FILE.te [-D NAME=VALUE]...\n"
	"\n"
	"Parse and verify FILE.te, then print its canonical form: params\n"
	"substituted, one stage a line, and an `output` line.  The first line is\n"
	"a comment with the workload hash (the tuning db's key) and the FLOP\n"
	"count of one evaluation.\n"
	"\n"
	"  -D NAME=VALUE   replace the value of param NAME\n"
	"  -h, --help      show this help\n"
	"\n"
	"Exit status: 0 valid, 1 an error in the file (reported as\n"
	"FILE:LINE:COL: error: ...), 2 an internal error.\n";

int cli_check(int argc, char **argv)
{
	cli_opts o;
	isl_ctx *ctx = NULL;
	te_graph *g = NULL;
	char *src = NULL, *text = NULL, hash[17];
	int rc = CLI_USER_ERROR;

	if (cli_parse_common("check", argc, argv, &o, 0))
		goto out;
	if (o.help) {
		fputs(check_help, stdout);
		rc = CLI_OK;
		goto out;
	}
	if (!(ctx = cli_isl_ctx()) || !(g = cli_load(&o, ctx, &src)))
		goto out;
	text = te_graph_print(g, false);
	if (!text) {
		fprintf(stderr, "ftc check: out of memory\n");
		rc = CLI_INTERNAL_ERROR;
		goto out;
	}
	te_graph_hash(g, hash);
	printf("# workload %s, %.6g FLOP\n%s", hash, te_graph_flops(g), text);
	rc = CLI_OK;
out:
	free(text);
	free(src);
	te_graph_free(g);
	isl_ctx_free(ctx);
	cli_opts_release(&o);
	return rc;
}
