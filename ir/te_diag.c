/*
 * te_diag: print an error with its source line and a caret.
 */
#include "te_parse.h"

#include <string.h>

/* The start of 1-based line `line` in src, or NULL past the end. */
static const char *line_start(const char *src, int line)
{
	for (int l = 1; l < line; l++) {
		src = strchr(src, '\n');
		if (!src)
			return NULL;
		src++;
	}
	return src;
}

int te_source_check(const char *src, size_t len, rt_error *err)
{
	int line = 1, col = 1;

	if (len > TE_MAX_SOURCE)
		return rt_error_set(err, 0, 0,
				    "the file has %zu bytes; a .te or schedule file may have at most "
				    "%d (1 MiB)", len,
				    TE_MAX_SOURCE);
	for (size_t i = 0; i < len; i++) {
		if (src[i] == '\0')
			return rt_error_set(err, line, col,
					    "the file contains a NUL byte (not allowed anywhere, "
					    "comments included)");
		if (src[i] == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	return 0;
}

void te_diag_print(FILE *out, const char *path, const char *src,
		   const rt_error *err)
{
	const char *msg = err && err->set ? err->msg : "unknown error";
	const char *ls;
	int len;

	if (!err || err->line <= 0) {
		fprintf(out, "%s: error: %s\n", path, msg);
		return;
	}
	fprintf(out, "%s:%d:%d: error: %s\n", path, err->line, err->col, msg);
	ls = src ? line_start(src, err->line) : NULL;
	if (!ls)
		return;
	len = (int)strcspn(ls, "\n");
	fprintf(out, "  %.*s\n  ", len, ls);
	for (int i = 1; i < err->col && i <= len; i++)
		fputc(ls[i - 1] == '\t' ? '\t' : ' ', out);
	fputs("^\n", out);
}
