/*
 * sched_text: the text form of a schedule (see sched.h), parser and printer.
 *
 *   schedule := { line '\n' }
 *   line     := [ TAG field ... ] [ '#' comment ]
 *
 * Tokens are separated by spaces and tabs ('\r' counts as a blank, so that
 * CRLF files read the same); '#' anywhere starts a comment.  The fields of
 * each step are listed once, in `forms`, and both the parser and the
 * printer walk that list.
 */
#include "sched.h"

#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_buf.h"

#define STR_(x) #x
#define STR(x) STR_(x)

/*
 * The fields of each step, one letter each:
 *   S the stage (cache_read: the tensor read)   T the consumer stage
 *   L a loop          R 2..SCH_MAX_ARGS loops   F FACTOR or parts=N
 *   B a bind target   C a scope
 *   P optional block=D:F (up to SCH_MAX_BLOCKS), then an optional perm=P0,P1,...
 *   I an optional II  Y cyclic|block FACTOR, or complete
 */
static const struct {
	const char *fields;
	const char *usage;
} forms[SCH_KIND_COUNT] = {
	[SCH_SPLIT] = {"SLF", "STAGE LOOP FACTOR or STAGE LOOP parts=N"},
	[SCH_REORDER] = {"SR", "STAGE LOOP LOOP... (2 to " STR(SCH_MAX_ARGS) " loops)"},
	[SCH_FUSE] = {"SLL", "STAGE OUTER INNER"},
	[SCH_PARALLEL] = {"SL", "STAGE LOOP"},
	[SCH_VECTORIZE] = {"SL", "STAGE LOOP"},
	[SCH_UNROLL] = {"SL", "STAGE LOOP"},
	[SCH_BIND] = {"SLB", "STAGE LOOP TARGET"},
	[SCH_COMPUTE_AT] = {"STL", "STAGE CONSUMER LOOP"},
	[SCH_COMPUTE_INLINE] = {"S", "STAGE"},
	[SCH_CACHE_READ] = {"STLCP", "TENSOR CONSUMER LOOP SCOPE [block=D:F]... [perm=P0,P1,...]"},
	[SCH_CACHE_WRITE] = {"SLC", "STAGE LOOP SCOPE"},
	[SCH_PIPELINE] = {"SLI", "STAGE LOOP [II]"},
	[SCH_PARTITION] = {"SY", "STAGE cyclic|block FACTOR or STAGE complete"},
	[SCH_RFACTOR] = {"SL", "STAGE LOOP"},
};

/* One token of a line. */
typedef struct tok {
	const char *s;
	size_t n;
	int col;
} tok;

/* The line being parsed. */
typedef struct cursor {
	const char *bol, *p, *eol;
	int line;
	int next_col; /* where a missing token would start */
	rt_error *err;
} cursor;

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static bool is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '+';
}

static int col_of(const cursor *c, const char *p)
{
	size_t off = (size_t)(p - c->bol);

	return off < INT_MAX ? (int)off + 1 : INT_MAX;
}

/* The next token of the line into *t; false at the end of the line or at
 * a comment. */
static bool next_tok(cursor *c, tok *t)
{
	while (c->p < c->eol && is_blank(*c->p))
		c->p++;
	if (c->p == c->eol || *c->p == '#') {
		c->p = c->eol;
		return false;
	}
	t->s = c->p;
	t->col = col_of(c, c->p);
	while (c->p < c->eol && !is_blank(*c->p) && *c->p != '#')
		c->p++;
	t->n = (size_t)(c->p - t->s);
	c->next_col = col_of(c, c->p) < INT_MAX ? col_of(c, c->p) + 1 : INT_MAX;
	return true;
}

/* Token text fit for a message: at most 40 bytes, other than printable
 * ASCII written as \xNN.  Returns buf. */
static const char *show(char buf[200], const tok *t)
{
	size_t o = 0;

	for (size_t i = 0; i < t->n && i < 40; i++) {
		unsigned char ch = (unsigned char)t->s[i];

		if (ch >= 0x20 && ch < 0x7f)
			buf[o++] = (char)ch;
		else
			o += (size_t)snprintf(buf + o, 5, "\\x%02x", ch);
	}
	if (t->n > 40) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

static bool tok_is(const tok *t, const char *s)
{
	return t->n == strlen(s) && memcmp(t->s, s, t->n) == 0;
}

static bool tok_starts(const tok *t, const char *prefix)
{
	size_t n = strlen(prefix);

	return t->n >= n && memcmp(t->s, prefix, n) == 0;
}

/* "unknown step 'x' (expected split, reorder, ... or cache_write)" */
static int unknown_step(cursor *c, const tok *t)
{
	char list[512], buf[200];
	size_t o = 0;

	for (int k = 0; k < SCH_KIND_COUNT; k++) {
		const char *sep = k == 0 ? "" : k + 1 == SCH_KIND_COUNT ? " or " : ", ";

		o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s", sep,
				      sch_kind_tag((sch_kind)k));
	}
	return rt_error_set(c->err, c->line, t->col, "unknown step '%s' (expected %s)",
			    show(buf, t), list);
}

/* NAME := [A-Za-z0-9_.+]+, shorter than SCH_MAX_NAME */
static int get_name(cursor *c, const tok *t, char dst[SCH_MAX_NAME])
{
	char buf[200];

	for (size_t i = 0; i < t->n; i++)
		if (!is_name_char(t->s[i]))
			return rt_error_set(
			    c->err, c->line, t->col,
			    "bad name '%s': only letters, digits, '_', '.' and '+' are allowed",
			    show(buf, t));
	if (t->n >= SCH_MAX_NAME)
		return rt_error_set(c->err, c->line, t->col,
				    "name '%s' is too long (at most %d characters)", show(buf, t),
				    SCH_MAX_NAME - 1);
	memcpy(dst, t->s, t->n);
	dst[t->n] = '\0';
	return 0;
}

/* NUMBER := [0-9]+, from 1 to INT64_MAX.  `what` names it in messages. */
static int get_count(cursor *c, const tok *t, size_t skip, const char *what, int64_t *out)
{
	char buf[200];
	int64_t v = 0;
	bool digits = t->n > skip;

	for (size_t i = skip; i < t->n && digits; i++)
		digits = t->s[i] >= '0' && t->s[i] <= '9';
	if (!digits)
		return rt_error_set(c->err, c->line, t->col,
				    "bad %s '%s': must be a positive integer", what, show(buf, t));
	for (size_t i = skip; i < t->n; i++) {
		int d = t->s[i] - '0';

		if (v > (INT64_MAX - d) / 10)
			return rt_error_set(c->err, c->line, t->col,
					    "bad %s '%s': too large (at most %" PRId64 ")", what,
					    show(buf, t), INT64_MAX);
		v = v * 10 + d;
	}
	if (v < 1)
		return rt_error_set(c->err, c->line, t->col,
				    "bad %s '%s': must be a positive integer", what, show(buf, t));
	*out = v;
	return 0;
}

/* F := NUMBER | 'parts=' NUMBER */
static int get_factor(cursor *c, const tok *t, sch_step *st)
{
	if (tok_starts(t, "parts="))
		return get_count(c, t, strlen("parts="), "parts", &st->nparts);
	return get_count(c, t, 0, "factor", &st->factor);
}

/* B := blockIdx.x|y|z | threadIdx.x|y|z | vthread */
static int get_bind(cursor *c, const tok *t, sch_step *st)
{
	char buf[200];

	for (int k = SCH_LOOP_BLOCK_X; k <= SCH_LOOP_VTHREAD; k++)
		if (tok_is(t, sch_loop_kind_name((sch_loop_kind)k))) {
			st->tag = (sch_loop_kind)k;
			return 0;
		}
	return rt_error_set(
	    c->err, c->line, t->col,
	    "unknown bind target '%s' (expected blockIdx.x|y|z, threadIdx.x|y|z or vthread)",
	    show(buf, t));
}

/* C := local | shared | stack */
static int get_scope(cursor *c, const tok *t, sch_step *st)
{
	char buf[200];

	for (int k = SCH_SCOPE_LOCAL; k <= SCH_SCOPE_STACK; k++)
		if (tok_is(t, sch_scope_name((sch_scope)k))) {
			st->scope = (sch_scope)k;
			return 0;
		}
	return rt_error_set(c->err, c->line, t->col,
			    "unknown scope '%s' (expected local, shared or stack)", show(buf, t));
}

/* 'perm=' DIGIT { ',' DIGIT }, a permutation of 0..n-1, n <= SCH_MAX_PERM */
static int get_perm(cursor *c, const tok *t, sch_step *st)
{
	const int max = (int)(sizeof(st->perm) / sizeof(st->perm[0]));
	char buf[200];
	size_t i = strlen("perm=");
	unsigned seen = 0;
	int n = 0;

	if (!tok_starts(t, "perm="))
		return rt_error_set(c->err, c->line, t->col, "expected block=D:F or perm=P0,P1,... not '%s'",
				    show(buf, t));
	for (;;) {
		if (n == max || i == t->n || t->s[i] < '0' || t->s[i] > '9')
			return rt_error_set(
			    c->err, c->line, t->col,
			    "bad perm '%s': expected up to %d comma-separated dimensions",
			    show(buf, t), max);
		st->perm[n++] = t->s[i++] - '0';
		if (i == t->n)
			break;
		if (t->s[i++] != ',')
			return rt_error_set(
			    c->err, c->line, t->col,
			    "bad perm '%s': expected up to %d comma-separated dimensions",
			    show(buf, t), max);
	}
	for (int k = 0; k < n; k++) {
		if (st->perm[k] >= n || (seen & 1u << st->perm[k]))
			return rt_error_set(c->err, c->line, t->col,
					    "bad perm '%s': not a permutation of 0..%d",
					    show(buf, t), n - 1);
		seen |= 1u << st->perm[k];
	}
	st->nperm = n;
	return 0;
}

/* D (a dimension, 0..99) and F (2..SCH_MAX_BLOCK_FACTOR) of 'block=' D ':' F */
static int block_numbers(const tok *t, int *d, int64_t *f)
{
	size_t i = strlen("block=");
	int64_t v = 0;

	*d = 0;
	if (i == t->n || t->s[i] < '0' || t->s[i] > '9')
		return -1;
	for (; i < t->n && t->s[i] >= '0' && t->s[i] <= '9' && *d < 100; i++)
		*d = *d * 10 + (t->s[i] - '0');
	if (*d >= 100 || i + 1 >= t->n || t->s[i++] != ':')
		return -1;
	for (; i < t->n && t->s[i] >= '0' && t->s[i] <= '9'; i++)
		v = v > SCH_MAX_BLOCK_FACTOR ? v : v * 10 + (t->s[i] - '0');
	*f = v;
	return i == t->n ? 0 : -1;
}

/* 'block=' D ':' F: dimension D of the copy stored as D / F and D % F */
static int get_block(cursor *c, const tok *t, sch_step *st)
{
	char buf[200];
	int64_t f;
	int d, n = st->nblock;

	if (n == SCH_MAX_BLOCKS)
		return rt_error_set(c->err, c->line, t->col, "'%s': at most %d block= on one cache_read",
				    show(buf, t), SCH_MAX_BLOCKS);
	if (block_numbers(t, &d, &f) < 0)
		return rt_error_set(c->err, c->line, t->col,
				    "bad block '%s': expected block=D:F, D a dimension and F a factor",
				    show(buf, t));
	if (f < 2 || f > SCH_MAX_BLOCK_FACTOR)
		return rt_error_set(c->err, c->line, t->col,
				    "bad block '%s': the factor must be from 2 to %d", show(buf, t),
				    SCH_MAX_BLOCK_FACTOR);
	for (int j = 0; j < n; j++)
		if (st->block_dim[j] == d)
			return rt_error_set(c->err, c->line, t->col,
					    "bad block '%s': dimension %d is blocked twice", show(buf, t), d);
	st->block_dim[n] = d;
	st->block_factor[n] = f;
	st->block_col[n] = t->col;
	st->nblock = n + 1;
	return 0;
}

/* P := { 'block=' D ':' F } [ 'perm=' P0,P1,... ] */
static int get_layout(cursor *c, const tok *first, sch_step *st)
{
	tok t = *first;

	for (;;) {
		if (!tok_starts(&t, "block="))
			return get_perm(c, &t, st);
		if (get_block(c, &t, st) < 0)
			return -1;
		if (!next_tok(c, &t))
			return 0;
	}
}

/* Y := ( 'cyclic' | 'block' ) NUMBER | 'complete' */
static int get_partition(cursor *c, const tok *t, sch_step *st)
{
	char buf[200];
	tok f;

	for (int k = SCH_PART_CYCLIC; k <= SCH_PART_COMPLETE; k++)
		if (tok_is(t, sch_partition_name((sch_partition)k)))
			st->part = (sch_partition)k;
	if (!tok_is(t, sch_partition_name(st->part)))
		return rt_error_set(c->err, c->line, t->col,
				    "unknown partition '%s' (expected cyclic, block or complete)",
				    show(buf, t));
	if (st->part == SCH_PART_COMPLETE)
		return 0;
	if (!next_tok(c, &f))
		return rt_error_set(c->err, c->line, c->next_col, "partition %s needs a FACTOR",
				    sch_partition_name(st->part));
	return get_count(c, &f, 0, "factor", &st->factor);
}

/* R := LOOP LOOP { LOOP }, at most SCH_MAX_ARGS */
static int get_loops(cursor *c, const tok *first, sch_step *st)
{
	tok t = *first;

	do {
		if (st->nargs == SCH_MAX_ARGS)
			return rt_error_set(c->err, c->line, t.col,
					    "reorder takes at most %d loops", SCH_MAX_ARGS);
		st->arg_col[st->nargs] = t.col;
		if (get_name(c, &t, st->args[st->nargs++]) < 0)
			return -1;
	} while (next_tok(c, &t));
	if (st->nargs < 2)
		return rt_error_set(c->err, c->line, c->next_col, "reorder needs %s",
				    forms[st->kind].usage);
	return 0;
}

/* One field of letter `f` (see `forms`) from token *t. */
static int get_field(cursor *c, char f, const tok *t, sch_step *st)
{
	switch (f) {
	case 'S':
		st->stage_col = t->col;
		return get_name(c, t, st->stage);
	case 'T':
		st->target_col = t->col;
		return get_name(c, t, st->target);
	case 'L':
		st->arg_col[st->nargs] = t->col;
		return get_name(c, t, st->args[st->nargs++]);
	case 'R':
		return get_loops(c, t, st);
	case 'F':
		st->opt_col = t->col;
		return get_factor(c, t, st);
	case 'B':
		st->opt_col = t->col;
		return get_bind(c, t, st);
	case 'C':
		st->opt_col = t->col;
		return get_scope(c, t, st);
	case 'I':
		st->opt_col = t->col;
		return get_count(c, t, 0, "II", &st->ii);
	case 'Y':
		st->opt_col = t->col;
		return get_partition(c, t, st);
	default:
		return get_layout(c, t, st);
	}
}

/* step := TAG field... ; the tag has been read into *tag. */
static int parse_step(cursor *c, const tok *tag, sch_step *st)
{
	char buf[200];
	const char *f;
	tok t;
	int k;

	for (k = 0; k < SCH_KIND_COUNT; k++)
		if (forms[k].fields && tok_is(tag, sch_kind_tag((sch_kind)k)))
			break;
	if (k == SCH_KIND_COUNT)
		return unknown_step(c, tag);
	st->kind = (sch_kind)k;
	st->line = c->line;
	st->col = tag->col;
	for (f = forms[k].fields; *f; f++) {
		if (!next_tok(c, &t)) {
			if (*f == 'P' || *f == 'I')
				return 0;
			return rt_error_set(c->err, c->line, c->next_col, "%s needs %s",
					    sch_kind_tag(st->kind), forms[k].usage);
		}
		if (get_field(c, *f, &t, st) < 0)
			return -1;
	}
	if (next_tok(c, &t))
		return rt_error_set(c->err, c->line, t.col, "extra argument '%s': %s needs %s",
				    show(buf, &t), sch_kind_tag(st->kind), forms[k].usage);
	return 0;
}

/* Parse the line [bol, eol) and append its step, if any, to s. */
static int parse_line(sch_schedule *s, const char *bol, const char *eol, int line, rt_error *err)
{
	cursor c = {bol, bol, eol, line, 1, err};
	sch_step st;
	tok tag;

	if (!next_tok(&c, &tag))
		return 0;
	memset(&st, 0, sizeof(st));
	if (parse_step(&c, &tag, &st) < 0)
		return -1;
	if (sch_append(s, &st) < 0)
		return rt_error_set(err, line, tag.col, "out of memory");
	return 0;
}

sch_schedule *sch_parse(const char *text, rt_error *err)
{
	sch_schedule *s;
	int line = 1;

	if (!text) {
		rt_error_set(err, 0, 0, "no schedule text");
		return NULL;
	}
	s = sch_new();
	if (!s) {
		rt_error_set(err, 0, 0, "out of memory");
		return NULL;
	}
	while (*text) {
		const char *eol = strchr(text, '\n');

		if (!eol)
			eol = text + strlen(text);
		if (parse_line(s, text, eol, line, err) < 0)
			return sch_free(s);
		text = *eol ? eol + 1 : eol;
		line += line < INT_MAX;
	}
	return s;
}

/* ---- printing ---- */

/* One field of letter `f` (see `forms`); *arg counts the loops printed. */
static void put_field(rt_buf *b, char f, const sch_step *st, int *arg)
{
	switch (f) {
	case 'S':
		rt_buf_printf(b, " %s", st->stage);
		break;
	case 'T':
		rt_buf_printf(b, " %s", st->target);
		break;
	case 'L':
		rt_buf_printf(b, " %s", *arg < st->nargs && *arg < SCH_MAX_ARGS ? st->args[*arg] : "");
		++*arg;
		break;
	case 'R':
		for (; *arg < st->nargs && *arg < SCH_MAX_ARGS; ++*arg)
			rt_buf_printf(b, " %s", st->args[*arg]);
		break;
	case 'F':
		if (st->factor > 0 || st->nparts <= 0)
			rt_buf_printf(b, " %" PRId64, st->factor);
		else
			rt_buf_printf(b, " parts=%" PRId64, st->nparts);
		break;
	case 'B':
		rt_buf_printf(b, " %s", sch_loop_kind_name(st->tag));
		break;
	case 'C':
		rt_buf_printf(b, " %s", sch_scope_name(st->scope));
		break;
	case 'I':
		if (st->ii > 0)
			rt_buf_printf(b, " %" PRId64, st->ii);
		break;
	case 'Y':
		rt_buf_printf(b, " %s", sch_partition_name(st->part));
		if (st->part != SCH_PART_COMPLETE)
			rt_buf_printf(b, " %" PRId64, st->factor);
		break;
	default:
		for (int j = 0; j < st->nblock && j < SCH_MAX_BLOCKS; j++)
			rt_buf_printf(b, " block=%d:%" PRId64, st->block_dim[j], st->block_factor[j]);
		for (int k = 0; k < st->nperm && k < SCH_MAX_PERM; k++)
			rt_buf_printf(b, "%s%d", k ? "," : " perm=", st->perm[k]);
	}
}

static void put_step(rt_buf *b, const sch_step *st)
{
	int arg = 0;

	rt_buf_printf(b, "%s", sch_kind_tag(st->kind));
	if ((unsigned)st->kind < SCH_KIND_COUNT && forms[st->kind].fields)
		for (const char *f = forms[st->kind].fields; *f; f++)
			put_field(b, *f, st, &arg);
	rt_buf_printf(b, "\n");
}

char *sch_print(const sch_schedule *s)
{
	rt_buf b = {0};

	for (int i = 0; s && i < s->nsteps; i++)
		put_step(&b, &s->steps[i]);
	return rt_buf_take(&b);
}
