/*
 * The .te parser fuzz target (see fuzz_target.h).  It calls the parser, the
 * printer, the hash and the verifier (with isl); never the interpreter, since
 * a verified shape may still be up to TE_MAX_TENSOR_BYTES.
 */
#include "fuzz_target.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <isl/ctx.h>
#include <isl/options.h>

#include "te.h"
#include "te_parse.h"
#include "te_verify.h"

/* Report a broken invariant and abort, so that the fuzzer keeps the input. */
static void fail(const char *what, const char *a, const char *b)
{
	fprintf(stderr, "ftc_fuzz_one: %s\n--- first:\n%s\n--- second:\n%s\n", what,
		a ? a : "(null)", b ? b : "(null)");
	abort();
}

/* The number of lines of `s` (a last line without '\n' counts). */
static int count_lines(const char *s)
{
	int n = 1;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* A failed parse must say what and, unless it is about the whole file or
 * the command line, where, inside the source. */
static void check_error(const char *src, const rt_error *err)
{
	char pos[64];

	snprintf(pos, sizeof(pos), "%d:%d", err->line, err->col);
	if (!err->set || !err->msg[0])
		fail("a parse failed without a message", src, "");
	if (err->line == 0 && strncmp(err->msg, "there is no compute stage", 25) != 0 &&
	    strncmp(err->msg, "-D ", 3) != 0)
		fail("an error without a position", src, err->msg);
	if (err->line < 0 || err->col < 0 || (err->line > 0 && err->col < 1) ||
	    err->line > count_lines(src))
		fail("an error position outside the source", src, pos);
}

/* Print g, parse the print, and check that it prints and hashes the same. */
static void round_trip(const char *src, const te_graph *g)
{
	char *text = te_graph_print(g, false), *text2;
	rt_error err;
	te_graph *g2;

	if (!text) /* the round trip was not checked: say so rather than pass */
		fail("te_graph_print failed (out of memory)", src, "");
	rt_error_clear(&err);
	if (!(g2 = te_parse(text, NULL, 0, &err))) {
		fprintf(stderr, "reparse error %d:%d: %s\n--- source:\n%s\n", err.line, err.col,
			err.msg, src);
		fail("the canonical print does not parse", text, err.msg);
	}
	text2 = te_graph_print(g2, false);
	if (text2 && strcmp(text, text2) != 0)
		fail("print(parse(print(g))) differs from print(g)", text, text2);
	if (te_graph_hash(g, NULL) != te_graph_hash(g2, NULL))
		fail("the hash of the reparsed graph differs", text, text2);
	free(text2);
	free(text);
	te_graph_free(g2);
}

/* A verified graph's sizes are exact and inside the TE_MAX_ limits. */
static void check_sizes(const char *src, const te_graph *g)
{
	double flops = te_graph_flops(g);

	if (!(flops >= 0 && flops <= (double)TE_MAX_FLOPS))
		fail("a verified graph's FLOP count is outside [0, TE_MAX_FLOPS]", src, "");
	for (int i = 0; i < te_graph_nstages(g); i++) {
		const te_stage *s = te_graph_stage(g, i);
		int64_t bytes = te_stage_bytes(s), points = te_stage_points(s);

		if (bytes < 1 || bytes > TE_MAX_TENSOR_BYTES)
			fail("a verified tensor's bytes are outside [1, TE_MAX_TENSOR_BYTES]", src,
			     s->name);
		if (points < 1 || points > TE_MAX_POINTS)
			fail("a verified stage's points are outside [1, TE_MAX_POINTS]", src, s->name);
	}
}

/* Verify a parsed graph: an error has a message and a position inside the
 * source and is never internal; a verified graph keeps to the limits. */
static void verify(const char *src, const te_graph *g)
{
	isl_ctx *ctx = isl_ctx_alloc();
	rt_error err;

	if (!ctx) /* no input was checked: say so rather than pass */
		fail("isl_ctx_alloc failed (out of memory)", src, "");
	isl_options_set_on_error(ctx, ISL_ON_ERROR_CONTINUE);
	rt_error_clear(&err);
	if (te_verify(g, ctx, &err) == 0)
		check_sizes(src, g);
	else if (!err.set || !err.msg[0])
		fail("verification failed without a message", src, "");
	else if (strstr(err.msg, "internal error"))
		fail("verification failed with an internal error", src, err.msg);
	else if (err.line < 0 || err.line > count_lines(src) || (err.line > 0 && err.col < 1))
		fail("a verification error position outside the source", src, err.msg);
	isl_ctx_free(ctx);
}

/*
 * A source whose first line is the comment `#-D NAME=VALUE` is parsed with
 * that define, so that the fuzzer reaches -D overrides too.  Returns the
 * number of defines (0 or 1) put in *d, whose name is kept in name[].
 */
static int leading_define(const char *src, te_define *d, char name[TE_MAX_NAME])
{
	const char *eq;
	size_t n;

	if (strncmp(src, "#-D ", 4) != 0 || !(eq = strchr(src + 4, '=')))
		return 0;
	n = (size_t)(eq - (src + 4));
	if (n >= TE_MAX_NAME || memchr(src + 4, '\n', n))
		return 0;
	memcpy(name, src + 4, n);
	name[n] = '\0';
	d->name = name;
	d->value = strtoll(eq + 1, NULL, 10);
	return 1;
}

int ftc_fuzz_one(const uint8_t *data, size_t size)
{
	char name[TE_MAX_NAME];
	te_define def;
	int ndefs;
	char *src = malloc(size + 1);
	rt_error err;
	te_graph *g;
	int ok;

	if (!src)
		return 0;
	memcpy(src, data, size);
	src[size] = '\0';
	rt_error_clear(&err);
	ndefs = leading_define(src, &def, name);
	g = te_parse(src, &def, ndefs, &err);
	ok = g != NULL;
	if (g) {
		round_trip(src, g);
		verify(src, g);
	} else
		check_error(src, &err);
	te_graph_free(g);
	free(src);
	return ok;
}
