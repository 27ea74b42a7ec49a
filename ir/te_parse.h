/*
 * te_parse: the .te language (docs/te-language.md) into a te graph.
 */
#ifndef FTC_TE_PARSE_H
#define FTC_TE_PARSE_H

#include <stdio.h>

#include "te.h"

/*
 * The longest source te_parse reads, in bytes: a .te file is a few lines,
 * and the limit bounds the tokens the parser holds (about 40 bytes each).
 * The driver reads .te and schedule files with the same limit.
 */
#define TE_MAX_SOURCE (1 << 20)

/* A `-D NAME=VALUE` override of a param. */
typedef struct te_define {
	const char *name;
	int64_t value;
} te_define;

/*
 * Parse the NUL-terminated source `src` (at most TE_MAX_SOURCE bytes).
 * `defs[0..ndefs)` replace the
 * values of params of the same name; a define naming no param is an error.
 * Returns a new graph with default outputs resolved (caller frees it with
 * te_graph_free), or NULL with `err` set to a message and the 1-based
 * line:column of the offending token.  Never crashes on any input.
 * The graph is not yet verified: call te_verify.
 */
te_graph *te_parse(const char *src, const te_define *defs, int ndefs,
		   rt_error *err);

/*
 * Check the `len` bytes of `src` read from a file: at most TE_MAX_SOURCE
 * bytes and no NUL byte (the parser takes a C string; a NUL is refused even
 * in a comment).  Returns 0, or -1 with `err` set (at the NUL's line and
 * column).
 */
int te_source_check(const char *src, size_t len, rt_error *err);

/*
 * Print `err` as `PATH:LINE:COL: error: MSG`, then the source line of `src`
 * and a caret under the column (when the position is known).
 */
void te_diag_print(FILE *out, const char *path, const char *src,
		   const rt_error *err);

#endif
