/*
 * te_lex: the tokens of the .te language (docs/te-language.md).
 *
 * te_lex turns a whole NUL-terminated source into an array of tokens, each
 * with its 1-based line and column.  Newlines end statements, so they are
 * tokens (TE_TK_NEWLINE), except inside ( ) or [ ] and after a token that
 * cannot end a statement ('=', ',' or an operator), where they are skipped.
 * Comments (`#` to the end of the line) and blanks are dropped.  The array
 * always ends with TE_TK_EOF, or with TE_TK_ERROR at the first bad token
 * (a bad character, a malformed or too large number, a too long name); the
 * message for it is kept in the array's `error`, so that a parser reports
 * it only when it gets there, after any error earlier in the source.
 */
#ifndef FTC_TE_LEX_H
#define FTC_TE_LEX_H

#include <stddef.h>
#include <stdint.h>

#include "rt_error.h"

typedef enum te_tok_kind {
	TE_TK_EOF,
	TE_TK_ERROR,
	TE_TK_NEWLINE,
	TE_TK_NAME, /* identifiers and keywords (see `kw`) */
	TE_TK_INT,
	TE_TK_FLOAT,
	TE_TK_LPAREN,
	TE_TK_RPAREN,
	TE_TK_LBRACKET,
	TE_TK_RBRACKET,
	TE_TK_COMMA,
	TE_TK_ASSIGN,
	TE_TK_PLUS,
	TE_TK_MINUS,
	TE_TK_STAR,
	TE_TK_SLASH,
	TE_TK_PERCENT,
	TE_TK_LT,
	TE_TK_LE,
	TE_TK_GT,
	TE_TK_GE,
	TE_TK_EQ,
	TE_TK_NE,
	TE_TK_AND,
	TE_TK_OR,
	TE_TK_NOT,
} te_tok_kind;

typedef enum te_keyword {
	TE_KW_NONE,
	TE_KW_PARAM,
	TE_KW_INPUT,
	TE_KW_OUTPUT,
	TE_KW_SUM,
	TE_KW_MAX,
	TE_KW_MIN,
	TE_KW_SELECT,
	TE_KW_ABS,
	TE_KW_EXP,
	TE_KW_LOG,
	TE_KW_SQRT,
	TE_KW_TANH,
	TE_KW_F32,
	TE_KW_F64,
	TE_KW_I32,
	TE_KW_TRUE,
	TE_KW_FALSE,
} te_keyword;

typedef struct te_token {
	te_tok_kind kind;
	te_keyword kw;	  /* TE_TK_NAME: which keyword, TE_KW_NONE for a name */
	int line, col;	  /* 1-based position of the first character */
	const char *text; /* the token's characters in the source (not NUL-ended) */
	int len;	  /* their number (0 for EOF; capped for long tokens) */
	union {
		int64_t i; /* TE_TK_INT */
		double f;  /* TE_TK_FLOAT */
	} v;
} te_token;

typedef struct te_tokens {
	te_token *tok; /* tok[n - 1] is TE_TK_EOF or TE_TK_ERROR */
	int n;
	rt_error error; /* the message of a final TE_TK_ERROR */
} te_tokens;

/*
 * Tokenize `src` (__isl_keep; the tokens point into it, so it must outlive
 * them) into `out`.  Returns 0, or -1 when out of memory (with `out` empty).
 * Release the array with te_tokens_clear.
 */
int te_lex(const char *src, te_tokens *out);

/* Free the token array of `t` and leave it empty. */
void te_tokens_clear(te_tokens *t);

/* The keyword spelled by `s[0..len)`, or TE_KW_NONE. */
te_keyword te_keyword_of(const char *s, int len);

#endif
