/*
 * te_lex: the .te tokenizer (see te_lex.h).
 */
#include "te_lex.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "te.h"

#define LEX_MAX_NUMBER 400 /* longest number literal, in characters */

typedef struct lexer {
	const char *s; /* next character */
	int line, col; /* its position */
	int depth;     /* open ( and [ : newlines are blanks while > 0 */
	te_tokens *out;
	int cap;
} lexer;

static const char *const keywords[] = {
    [TE_KW_PARAM] = "param",   [TE_KW_INPUT] = "input", [TE_KW_OUTPUT] = "output",
    [TE_KW_SUM] = "sum",       [TE_KW_MAX] = "max",	[TE_KW_MIN] = "min",
    [TE_KW_SELECT] = "select", [TE_KW_ABS] = "abs",	[TE_KW_EXP] = "exp",
    [TE_KW_LOG] = "log",       [TE_KW_SQRT] = "sqrt",	[TE_KW_TANH] = "tanh",
    [TE_KW_F32] = "f32",       [TE_KW_F64] = "f64",	[TE_KW_I32] = "i32",
    [TE_KW_TRUE] = "true",     [TE_KW_FALSE] = "false",
};

te_keyword te_keyword_of(const char *s, int len)
{
	for (int k = TE_KW_PARAM; k <= TE_KW_FALSE; k++)
		if ((int)strlen(keywords[k]) == len && memcmp(keywords[k], s, len) == 0)
			return (te_keyword)k;
	return TE_KW_NONE;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_name_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_name_char(char c)
{
	return is_name_start(c) || is_digit(c);
}

/* Step over one character, keeping line and column (saturating). */
static void advance(lexer *lx)
{
	if (*lx->s == '\n') {
		lx->line += lx->line < INT_MAX;
		lx->col = 1;
	} else {
		lx->col += lx->col < INT_MAX;
	}
	lx->s++;
}

static void advance_n(lexer *lx, int n)
{
	while (n-- > 0)
		advance(lx);
}

/* Append a token of `kind` starting at the current position, `len` chars
 * long (not consumed).  NULL when out of memory. */
static te_token *push(lexer *lx, te_tok_kind kind, int len)
{
	te_tokens *t = lx->out;
	te_token *tk;

	if (t->n == lx->cap) {
		int cap = lx->cap ? lx->cap * 2 : 256;
		te_token *p;

		if (lx->cap > INT_MAX / 2 - 1 || !(p = realloc(t->tok, (size_t)cap * sizeof(*p))))
			return NULL;
		t->tok = p;
		lx->cap = cap;
	}
	tk = &t->tok[t->n++];
	memset(tk, 0, sizeof(*tk));
	tk->kind = kind;
	tk->line = lx->line;
	tk->col = lx->col;
	tk->text = lx->s;
	tk->len = len;
	return tk;
}

/* End the token array with an error token at the current position whose
 * message is `msg` (the lexer stops here).  -1 only when out of memory. */
static int lex_error(lexer *lx, int len, const char *msg, const char *arg, int arglen)
{
	if (!push(lx, TE_TK_ERROR, len))
		return -1;
	rt_error_set(&lx->out->error, lx->line, lx->col, msg, arglen, arg);
	return 0;
}

/* A character that cannot start a token. */
static int bad_char(lexer *lx)
{
	unsigned char c = (unsigned char)*lx->s;
	char hex[8];

	if (c == '&' || c == '|')
		return lex_error(lx, 1, "unexpected character '%.*s'; did you mean '&&' or '||'?",
				 lx->s, 1);
	if (c > ' ' && c < 127)
		return lex_error(lx, 1, "unexpected character '%.*s'", lx->s, 1);
	snprintf(hex, sizeof(hex), "0x%02x", c);
	return lex_error(lx, 1, "unexpected byte %.*s (only ASCII text is allowed)", hex, 4);
}

/* Characters of a number starting at `s`: digits [. digits] [e [+-] digits],
 * and, so that `1x` or `1.2.3` are reported whole, any name characters or
 * dots glued to it.  *is_float tells whether it has a '.' or an exponent;
 * *ok whether it is well formed. */
static int scan_number(const char *s, bool *is_float, bool *ok)
{
	int n = 0;

	*is_float = false;
	while (n <= LEX_MAX_NUMBER && is_digit(s[n]))
		n++;
	if (s[n] == '.') {
		*is_float = true;
		n++;
		while (n <= LEX_MAX_NUMBER && is_digit(s[n]))
			n++;
	}
	*ok = true;
	if (s[n] == 'e' || s[n] == 'E') {
		int m = n + 1 + (s[n + 1] == '+' || s[n + 1] == '-');

		*is_float = true;
		*ok = *ok && is_digit(s[m]);
		n = m;
		while (n <= LEX_MAX_NUMBER && is_digit(s[n]))
			n++;
	}
	while (n <= LEX_MAX_NUMBER && (is_name_char(s[n]) || s[n] == '.')) {
		*ok = false;
		n++;
	}
	return n;
}

/* The value of the integer literal s[0..n): false when over INT64_MAX. */
static bool int_value(const char *s, int n, int64_t *v)
{
	*v = 0;
	for (int i = 0; i < n; i++)
		if (__builtin_mul_overflow(*v, 10, v) || __builtin_add_overflow(*v, s[i] - '0', v))
			return false;
	return true;
}

/* The value of the float literal s[0..n) (n <= LEX_MAX_NUMBER): false when
 * it is too large for a double. */
static bool float_value(const char *s, int n, double *v)
{
	char buf[LEX_MAX_NUMBER + 1];

	memcpy(buf, s, n);
	buf[n] = '\0';
	*v = strtod(buf, NULL);
	return isfinite(*v);
}

/* number := digits | digits '.' digits? exp? | '.' digits exp? | digits exp */
static int lex_number(lexer *lx)
{
	bool is_float, ok;
	int n = scan_number(lx->s, &is_float, &ok);
	int shown = n > 40 ? 40 : n;
	int64_t i = 0;
	double f = 0;
	te_token *tk;

	if (!ok)
		return lex_error(lx, shown, "malformed number '%.*s'", lx->s, shown);
	if (n > LEX_MAX_NUMBER)
		return lex_error(lx, shown, "number '%.*s...' is too long", lx->s, shown);
	if (is_float ? !float_value(lx->s, n, &f) : !int_value(lx->s, n, &i))
		return lex_error(lx, shown, "number %.*s is too large", lx->s, shown);
	if (!(tk = push(lx, is_float ? TE_TK_FLOAT : TE_TK_INT, n)))
		return -1;
	if (is_float)
		tk->v.f = f;
	else
		tk->v.i = i;
	advance_n(lx, n);
	return 0;
}

/* name := [A-Za-z_][A-Za-z0-9_]*, at most TE_MAX_NAME - 1 characters */
static int lex_name(lexer *lx)
{
	int n = 0;
	te_token *tk;

	while (n < TE_MAX_NAME && is_name_char(lx->s[n]))
		n++;
	if (n >= TE_MAX_NAME)
		return lex_error(lx, 32, "name '%.*s...' is too long (at most 63 characters)",
				 lx->s, 32);
	if (!(tk = push(lx, TE_TK_NAME, n)))
		return -1;
	tk->kw = te_keyword_of(lx->s, n);
	advance_n(lx, n);
	return 0;
}

static const struct {
	char text[3];
	te_tok_kind kind;
} puncts[] = {
    {"<=", TE_TK_LE},	   {">=", TE_TK_GE},	  {"==", TE_TK_EQ},    {"!=", TE_TK_NE},
    {"&&", TE_TK_AND},	   {"||", TE_TK_OR},	  {"(", TE_TK_LPAREN}, {")", TE_TK_RPAREN},
    {"[", TE_TK_LBRACKET}, {"]", TE_TK_RBRACKET}, {",", TE_TK_COMMA},  {"=", TE_TK_ASSIGN},
    {"+", TE_TK_PLUS},	   {"-", TE_TK_MINUS},	  {"*", TE_TK_STAR},   {"/", TE_TK_SLASH},
    {"%", TE_TK_PERCENT},  {"<", TE_TK_LT},	  {">", TE_TK_GT},     {"!", TE_TK_NOT},
};

/* An operator or bracket; tracks the ( [ nesting. */
static int lex_punct(lexer *lx)
{
	for (size_t i = 0; i < sizeof(puncts) / sizeof(puncts[0]); i++) {
		int n = (int)strlen(puncts[i].text);
		te_tok_kind k = puncts[i].kind;

		if (strncmp(lx->s, puncts[i].text, n) != 0)
			continue;
		if (!push(lx, k, n))
			return -1;
		if ((k == TE_TK_LPAREN || k == TE_TK_LBRACKET) && lx->depth < INT_MAX)
			lx->depth++;
		if ((k == TE_TK_RPAREN || k == TE_TK_RBRACKET) && lx->depth > 0)
			lx->depth--;
		advance_n(lx, n);
		return 0;
	}
	return bad_char(lx);
}

/* Whether a line ending in a token of kind `k` goes on to the next line:
 * after '=', ',' and operators a statement cannot end. */
static bool continues(te_tok_kind k)
{
	return k == TE_TK_NEWLINE || k == TE_TK_ASSIGN || k == TE_TK_COMMA ||
	       (k >= TE_TK_PLUS && k <= TE_TK_NOT);
}

/* A newline: a token at depth 0 unless the line goes on (or is empty). */
static int lex_newline(lexer *lx)
{
	const te_tokens *t = lx->out;

	if (lx->depth == 0 && t->n > 0 && !continues(t->tok[t->n - 1].kind) &&
	    !push(lx, TE_TK_NEWLINE, 1))
		return -1;
	advance(lx);
	return 0;
}

/* Lex one token (or skip a blank or comment); 1 at the end, 0 to go on, -1
 * when out of memory. */
static int lex_one(lexer *lx)
{
	char c = *lx->s;
	const te_tokens *t = lx->out;

	if (t->n > 0 && t->tok[t->n - 1].kind == TE_TK_ERROR)
		return 1;
	if (c == '\0')
		return push(lx, TE_TK_EOF, 0) ? 1 : -1;
	if (c == ' ' || c == '\t' || c == '\r') {
		advance(lx);
		return 0;
	}
	if (c == '#') {
		while (*lx->s && *lx->s != '\n')
			advance(lx);
		return 0;
	}
	if (c == '\n')
		return lex_newline(lx);
	if (is_digit(c) || (c == '.' && is_digit(lx->s[1])))
		return lex_number(lx);
	if (is_name_start(c))
		return lex_name(lx);
	return lex_punct(lx);
}

int te_lex(const char *src, te_tokens *out)
{
	lexer lx = {.s = src, .line = 1, .col = 1, .out = out};
	int r;

	out->tok = NULL;
	out->n = 0;
	rt_error_clear(&out->error);
	while ((r = lex_one(&lx)) == 0)
		;
	if (r < 0)
		te_tokens_clear(out);
	return r < 0 ? -1 : 0;
}

void te_tokens_clear(te_tokens *t)
{
	free(t->tok);
	t->tok = NULL;
	t->n = 0;
}
