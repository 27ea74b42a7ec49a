/*
 * te_parse: a recursive-descent parser for the .te language
 * (docs/te-language.md), building the graph with the te.h builder.
 *
 * Tokens come from te_lex.  Params are evaluated as they are parsed (int64,
 * floor division, overflow is an error) and substituted.  Expressions are
 * built bottom-up as `pexpr`s: either a node, or a "flex" constant (made of
 * literals and params only) that is folded and takes the type of its
 * partner operand when it meets one.  The first error stops the parse.
 *
 * Beyond docs/te-language.md, as examples/ need: a statement also goes on
 * past a newline after '=', ',' or an operator (te_lex) and after the
 * header of a reduction.
 */
#include "te_parse.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "rt_math.h"
#include "te_lex.h"

#define MAX_HEIGHT 256		 /* levels of operators in one expression tree */
#define MAX_NEST 600		 /* parser recursion: parentheses, unary operators */
#define F32_LIMIT 0x1.ffffffp127 /* doubles at or above this round to inf */

typedef struct param {
	char name[TE_MAX_NAME];
	int64_t value;
	int line;
} param;

/* A parsed expression: a node, or a flex constant not yet given a type. */
typedef struct pexpr {
	te_expr *e;    /* the node; NULL for a flex constant or after an error */
	bool flex;     /* a constant of literals and params */
	bool is_float; /* flex: a float constant (else an integer) */
	int64_t i;     /* flex integer value */
	double f;      /* flex float value */
	int line, col; /* where a flex constant is from */
	int height;    /* levels of nodes below and including e */
} pexpr;

/* The axes of a compute statement, collected before the stage is added. */
typedef struct header {
	char names[TE_MAX_AXES][TE_MAX_NAME];
	int64_t ext[TE_MAX_AXES];
	int line[TE_MAX_AXES], col[TE_MAX_AXES]; /* of each axis name */
	int rank, nreduce;
	te_reduce red;
} header;

typedef struct parser {
	const te_token *tok; /* all tokens; the last is EOF or ERROR */
	int ntok, pos;
	int stmt; /* index of the first token of this statement */
	const rt_error *lexerr;
	te_graph *g;
	rt_error *err;
	param *params;
	int nparams, cap;
	const te_define *defs;
	int ndefs;
	te_stage *cur; /* the stage whose body is parsed, or NULL */
	int depth;     /* current recursion (MAX_NEST) */
	bool no_eval;  /* parsing a -D'd param: arithmetic errors ignored */
	bool have_output;
} parser;

static pexpr expr(parser *p);
static int iexpr(parser *p, int64_t *v);

/* ---- tokens and errors ---- */

static bool failed(const parser *p)
{
	return p->err->set;
}

static const te_token *peek(const parser *p)
{
	return &p->tok[p->pos];
}

static const te_token *peek_at(const parser *p, int k)
{
	return &p->tok[p->pos + k < p->ntok ? p->pos + k : p->ntok - 1];
}

/* The current token; moves on unless it is the last one. */
static const te_token *next(parser *p)
{
	const te_token *t = peek(p);

	if (p->pos < p->ntok - 1)
		p->pos++;
	return t;
}

static bool accept(parser *p, te_tok_kind kind)
{
	if (peek(p)->kind != kind)
		return false;
	next(p);
	return true;
}

/* Record an error at `t`; at a lexer error token, the lexer's message. */
static int error_at(parser *p, const te_token *t, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int error_at(parser *p, const te_token *t, const char *fmt, ...)
{
	char msg[RT_ERROR_MSG_MAX];
	va_list ap;

	if (t->kind == TE_TK_ERROR)
		return rt_error_set(p->err, p->lexerr->line, p->lexerr->col, "%s", p->lexerr->msg);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return rt_error_set(p->err, t->line, t->col, "%s", msg);
}

/* "expected WHAT" at the current token, saying what was found instead. */
static int expected(parser *p, const char *what)
{
	const te_token *t = peek(p);
	int n = t->len > 40 ? 40 : t->len;

	if (t->kind == TE_TK_NEWLINE)
		return error_at(p, t, "unexpected end of line; expected %s", what);
	if (t->kind == TE_TK_EOF)
		return error_at(p, t, "unexpected end of file; expected %s", what);
	return error_at(p, t, "expected %s, found '%.*s'", what, n, t->text);
}

static int expect(parser *p, te_tok_kind kind, const char *what)
{
	return accept(p, kind) ? 0 : expected(p, what);
}

/* Whether token `t` is the name `s`. */
static bool tok_is(const te_token *t, const char *s)
{
	return t->kind == TE_TK_NAME && (size_t)t->len == strlen(s) &&
	       memcmp(t->text, s, t->len) == 0;
}

static bool same_name(const te_token *a, const te_token *b)
{
	return a->kind == TE_TK_NAME && b->kind == TE_TK_NAME && a->len == b->len &&
	       memcmp(a->text, b->text, a->len) == 0;
}

/* Copy the name token `t` into buf[TE_MAX_NAME] (the lexer bounds it). */
static const char *tok_name(const te_token *t, char *buf)
{
	memcpy(buf, t->text, t->len);
	buf[t->len] = '\0';
	return buf;
}

/* ---- names ---- */

static param *find_param(const parser *p, const te_token *t)
{
	for (int i = 0; i < p->nparams; i++)
		if (tok_is(t, p->params[i].name))
			return &p->params[i];
	return NULL;
}

static te_stage *find_stage(const parser *p, const te_token *t)
{
	char buf[TE_MAX_NAME];

	return t->kind == TE_TK_NAME ? te_graph_find(p->g, tok_name(t, buf)) : NULL;
}

/* The number of the current stage's axis named by `t`, or -1. */
static int find_axis(const parser *p, const te_token *t)
{
	if (!p->cur)
		return -1;
	for (int i = 0; i < p->cur->rank + p->cur->nreduce; i++)
		if (tok_is(t, p->cur->axes[i].name))
			return i;
	return -1;
}

/*
 * The line where the name token `t` gets defined after `t` (as a param, an
 * input or a compute stage), or 0.
 */
static int defined_later(const parser *p, const te_token *t)
{
	bool in_param = false;

	for (int i = p->stmt; i + 1 < p->ntok; i++) {
		const te_token *a = &p->tok[i], *b = &p->tok[i + 1];
		bool start = i == 0 || p->tok[i - 1].kind == TE_TK_NEWLINE;

		if (start)
			in_param = a->kw == TE_KW_PARAM;
		if (start && a->kw == TE_KW_INPUT && b > t && same_name(b, t))
			return b->line;
		if (a <= t || !same_name(a, t))
			continue;
		if ((in_param && b->kind == TE_TK_ASSIGN) ||
		    (start && (b->kind == TE_TK_ASSIGN || b->kind == TE_TK_LBRACKET)))
			return a->line;
	}
	return 0;
}

/* Report the name `t`, which means nothing here. */
static int undefined_name(parser *p, const te_token *t)
{
	int n = t->len, line;

	if (p->cur && tok_is(t, p->cur->name))
		return error_at(p, t, "'%.*s' reads itself; graphs must be acyclic", n, t->text);
	if ((line = defined_later(p, t)) > 0)
		return error_at(p, t, "'%.*s' is used before it is defined (on line %d)", n,
				t->text, line);
	return error_at(p, t, "unknown name '%.*s'", n, t->text);
}

/*
 * Check that the name token `t` can be defined: a name, not a keyword, not
 * yet a param or a tensor, and (for an axis of header `h` of the stage named
 * `stage`) not the stage's name or another of its axes.
 */
static int check_new_name(parser *p, const te_token *t, const header *h, const te_token *stage)
{
	const param *pa;
	const te_stage *s;
	int n = t->len;

	if (t->kind != TE_TK_NAME)
		return expected(p, h ? "an axis name" : "a name");
	if (t->kw != TE_KW_NONE)
		return error_at(p, t, "'%.*s' is a keyword and cannot be a name", n, t->text);
	if ((pa = find_param(p, t)))
		return error_at(p, t, "'%.*s' is already defined (a param, line %d)", n, t->text,
				pa->line);
	if ((s = find_stage(p, t)))
		return error_at(p, t, "'%.*s' is already defined (line %d)", n, t->text, s->line);
	if (h && same_name(t, stage))
		return error_at(p, t, "axis '%.*s' has the name of its stage", n, t->text);
	for (int i = 0; h && i < h->rank + h->nreduce; i++)
		if (tok_is(t, h->names[i]))
			return error_at(p, t, "axis '%.*s' is declared twice", n, t->text);
	return 0;
}

/* ---- constant arithmetic ---- */

/* An arithmetic error at `t`, ignored (result 0) while p->no_eval. */
static int arith_error(parser *p, const te_token *t, const char *what, int64_t *r)
{
	*r = 0;
	if (p->no_eval)
		return 0;
	return error_at(p, t, "%s in a constant expression", what);
}

/* *r = a op b in int64 for op ADD SUB MUL DIV MOD MIN MAX; -1 with an error
 * at `t` on overflow or division by zero. */
static int fold_int(parser *p, te_op op, int64_t a, int64_t b, int64_t *r, const te_token *t)
{
	bool ovf = false;

	if ((op == TE_DIV || op == TE_MOD) && b == 0)
		return arith_error(p, t, "division by zero", r);
	if ((op == TE_DIV || op == TE_MOD) && a == INT64_MIN && b == -1) {
		*r = 0;
		ovf = op == TE_DIV;
	} else if (op == TE_ADD) {
		ovf = __builtin_add_overflow(a, b, r);
	} else if (op == TE_SUB) {
		ovf = __builtin_sub_overflow(a, b, r);
	} else if (op == TE_MUL) {
		ovf = __builtin_mul_overflow(a, b, r);
	} else if (op == TE_DIV || op == TE_MOD) {
		*r = op == TE_DIV ? rt_floor_div(a, b) : rt_floor_mod(a, b);
	} else {
		*r = (op == TE_MIN) == (a < b) ? a : b;
	}
	return ovf ? arith_error(p, t, "integer overflow", r) : 0;
}

/* *r = a op b in double for op ADD SUB MUL DIV MIN MAX; -1 with an error at
 * `t` when the result is not finite. */
static int fold_float(parser *p, te_op op, double a, double b, double *r, const te_token *t)
{
	if (op == TE_DIV && b == 0)
		return error_at(p, t, "division by zero in a constant expression");
	switch (op) {
	case TE_ADD:
		*r = a + b;
		break;
	case TE_SUB:
		*r = a - b;
		break;
	case TE_MUL:
		*r = a * b;
		break;
	case TE_DIV:
		*r = a / b;
		break;
	case TE_MIN:
		*r = fmin(a, b);
		break;
	default:
		*r = fmax(a, b);
		break;
	}
	if (!isfinite(*r))
		return error_at(p, t, "float overflow in a constant expression");
	return 0;
}

/* ---- integer expressions (params and extents) ---- */

/* 'min' or 'max' '(' iexpr ',' iexpr ')' */
static int icall(parser *p, int64_t *v)
{
	const te_token *f = next(p);
	int64_t a, b;

	if (expect(p, TE_TK_LPAREN, f->kw == TE_KW_MIN ? "'(' after 'min'" : "'(' after 'max'") ||
	    iexpr(p, &a) || expect(p, TE_TK_COMMA, "','") || iexpr(p, &b) ||
	    expect(p, TE_TK_RPAREN, "')'"))
		return -1;
	return fold_int(p, f->kw == TE_KW_MIN ? TE_MIN : TE_MAX, a, b, v, f);
}

/* A name in an integer expression: a param's value. */
static int iname(parser *p, int64_t *v)
{
	const te_token *t = peek(p);
	const param *pa = find_param(p, t);

	if (pa) {
		next(p);
		*v = pa->value;
		return 0;
	}
	if (t->kw == TE_KW_MIN || t->kw == TE_KW_MAX)
		return icall(p, v);
	if (t->kw != TE_KW_NONE)
		return expected(p, "an integer expression");
	if (find_stage(p, t))
		return error_at(
		    p, t,
		    "'%.*s' is a tensor, not a param; sizes are integer expressions of params",
		    t->len, t->text);
	return undefined_name(p, t);
}

/* iprimary := INT | PARAM | '(' iexpr ')' | ('min' | 'max') '(' iexpr ',' iexpr ')' */
static int iprimary(parser *p, int64_t *v)
{
	const te_token *t = peek(p);

	switch (t->kind) {
	case TE_TK_INT:
		*v = next(p)->v.i;
		return 0;
	case TE_TK_FLOAT:
		return error_at(p, t, "'%.*s' is not an integer; sizes are integer expressions",
				t->len, t->text);
	case TE_TK_LPAREN:
		next(p);
		return iexpr(p, v) || expect(p, TE_TK_RPAREN, "')'") ? -1 : 0;
	case TE_TK_NAME:
		return iname(p, v);
	default:
		return expected(p, "an integer expression");
	}
}

/* iunary := '-' iunary | iprimary */
static int iunary(parser *p, int64_t *v)
{
	const te_token *t = peek(p);
	int r;

	if (++p->depth > MAX_NEST)
		r = error_at(p, t, "expression is nested too deeply");
	else if (accept(p, TE_TK_MINUS))
		r = iunary(p, v) ? -1 : fold_int(p, TE_SUB, 0, *v, v, t);
	else
		r = iprimary(p, v);
	p->depth--;
	return r;
}

/* iterm := iunary { ('*' | '/' | '%') iunary } */
static int iterm(parser *p, int64_t *v)
{
	if (iunary(p, v))
		return -1;
	for (;;) {
		const te_token *t = peek(p);
		te_op op = t->kind == TE_TK_STAR    ? TE_MUL
			   : t->kind == TE_TK_SLASH ? TE_DIV
						    : TE_MOD;
		int64_t b;

		if (t->kind != TE_TK_STAR && t->kind != TE_TK_SLASH && t->kind != TE_TK_PERCENT)
			return 0;
		next(p);
		if (iunary(p, &b) || fold_int(p, op, *v, b, v, t))
			return -1;
	}
}

/* iexpr := iterm { ('+' | '-') iterm } */
static int iexpr(parser *p, int64_t *v)
{
	if (iterm(p, v))
		return -1;
	for (;;) {
		const te_token *t = peek(p);
		int64_t b;

		if (t->kind != TE_TK_PLUS && t->kind != TE_TK_MINUS)
			return 0;
		next(p);
		if (iterm(p, &b) ||
		    fold_int(p, t->kind == TE_TK_PLUS ? TE_ADD : TE_SUB, *v, b, v, t))
			return -1;
	}
}

/* An extent: iexpr, which must be positive; `what` names it for errors. */
static int extent(parser *p, int64_t *v, const char *what, int len, const char *name)
{
	const te_token *t = peek(p);

	if (iexpr(p, v))
		return -1;
	if (*v <= 0)
		return error_at(p, t, "%s '%.*s' has extent %lld; extents must be positive", what,
				len, name, (long long)*v);
	if (*v > TE_MAX_EXTENT)
		return error_at(p, t, "%s '%.*s' has extent %lld; at most %lld (2^31 - 1) is "
				"supported", what, len, name, (long long)*v,
				(long long)TE_MAX_EXTENT);
	return 0;
}

/* ---- typed expressions ---- */

static pexpr bad(void)
{
	return (pexpr){0};
}

static pexpr flex_int(int64_t v, const te_token *t)
{
	return (pexpr){.flex = true, .i = v, .line = t->line, .col = t->col};
}

static pexpr flex_float(double v, const te_token *t)
{
	return (pexpr){.flex = true, .is_float = true, .f = v, .line = t->line, .col = t->col};
}

/*
 * The node `e` a builder call made for token `t` (positioned at t), or,
 * when the call failed, the error it set (out of memory if none), located
 * at t.
 */
static pexpr built(parser *p, te_expr *e, const te_token *t, int height)
{
	if (!e) {
		rt_error_set(p->err, t->line, t->col, "out of memory");
		rt_error_locate(p->err, t->line, t->col);
		return bad();
	}
	e->line = t->line;
	e->col = t->col;
	if (height > MAX_HEIGHT) {
		error_at(p, t, "expression is nested too deeply (more than %d levels)", MAX_HEIGHT);
		return bad();
	}
	return (pexpr){.e = e, .line = t->line, .col = t->col, .height = height};
}

static double as_double(pexpr x)
{
	return x.is_float ? x.f : (double)x.i;
}

/* Give the flex constant x the type `type` (its own default when `type` is
 * bool) as a node; a node is returned as is.  NULL after an error. */
static te_expr *materialize(parser *p, pexpr *x, te_dtype type)
{
	te_token at = {.line = x->line, .col = x->col};
	te_expr *e;

	if (failed(p) || !x->flex)
		return x->e;
	if (type == TE_BOOL)
		type = x->is_float ? TE_F32 : TE_I32;
	if (type == TE_I32 && x->is_float) {
		error_at(p, &at,
			 "the float constant %g cannot be i32; write an integer or convert with "
			 "i32(...)",
			 x->f);
		return NULL;
	}
	if (type == TE_I32 && (x->i < INT32_MIN || x->i > INT32_MAX)) {
		error_at(p, &at, "the integer constant %lld does not fit in i32", (long long)x->i);
		return NULL;
	}
	if (type == TE_F32 && fabs(as_double(*x)) >= F32_LIMIT) {
		error_at(p, &at, "the constant %g does not fit in f32", as_double(*x));
		return NULL;
	}
	e = type == TE_I32 ? te_const_int(p->g, x->i) : te_const_float(p->g, as_double(*x), type);
	*x = built(p, e, &at, 1);
	return x->e;
}

/* Give flex operands the type of their partner (or, both flex, i32 when
 * both are integers, else f32).  -1 after an error. */
static int unify(parser *p, pexpr *a, pexpr *b)
{
	te_dtype t;

	if (a->flex && b->flex)
		t = a->is_float || b->is_float ? TE_F32 : TE_I32;
	else
		t = a->flex ? b->e->type : a->e->type;
	materialize(p, a, t);
	materialize(p, b, t);
	return failed(p) ? -1 : 0;
}

static int imax(int a, int b)
{
	return a > b ? a : b;
}

/* Fold `a op b` of two flex constants (integers unless one is a float). */
static pexpr fold(parser *p, te_op op, pexpr a, pexpr b, const te_token *t)
{
	pexpr r = flex_int(0, t);

	if (!a.is_float && !b.is_float)
		return fold_int(p, op, a.i, b.i, &r.i, t) ? bad() : r;
	r.is_float = true;
	return fold_float(p, op, as_double(a), as_double(b), &r.f, t) ? bad() : r;
}

/* a op b for a binary operator or min/max written at token `t`. */
static pexpr binary(parser *p, te_op op, pexpr a, pexpr b, const te_token *t)
{
	bool arith = op == TE_ADD || op == TE_SUB || op == TE_MUL || op == TE_DIV || op == TE_MIN ||
		     op == TE_MAX;

	if (failed(p))
		return bad();
	if (a.flex && b.flex && (arith || (op == TE_MOD && !a.is_float && !b.is_float)))
		return fold(p, op, a, b, t);
	if (unify(p, &a, &b))
		return bad();
	return built(p, te_binary(p->g, op, a.e, b.e, p->err), t, imax(a.height, b.height) + 1);
}

/* The binary operator of token kind `k` (false if none). */
static bool binop_of(te_tok_kind k, te_op *op)
{
	static const struct {
		te_tok_kind k;
		te_op op;
	} ops[] = {
	    {TE_TK_OR, TE_OR},	     {TE_TK_AND, TE_AND},  {TE_TK_EQ, TE_EQ},
	    {TE_TK_NE, TE_NE},	     {TE_TK_LT, TE_LT},	   {TE_TK_LE, TE_LE},
	    {TE_TK_GT, TE_GT},	     {TE_TK_GE, TE_GE},	   {TE_TK_PLUS, TE_ADD},
	    {TE_TK_MINUS, TE_SUB},   {TE_TK_STAR, TE_MUL}, {TE_TK_SLASH, TE_DIV},
	    {TE_TK_PERCENT, TE_MOD},
	};

	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (ops[i].k == k) {
			*op = ops[i].op;
			return true;
		}
	return false;
}

/* load := TENSOR '[' expr { ',' expr } ']' | TENSOR   (the latter for rank 0) */
static pexpr load(parser *p, const te_stage *s, const te_token *t)
{
	te_expr *idx[TE_MAX_RANK];
	int n = 0, h = 0;

	if (s->rank == 0 && peek(p)->kind == TE_TK_LBRACKET)
		return error_at(p, t, "'%s' is a scalar; use it without [ ]", s->name), bad();
	if (s->rank == 0)
		return built(p, te_load(p->g, s->id, 0, idx, p->err), t, 1);
	if (!accept(p, TE_TK_LBRACKET))
		return error_at(p, t, "'%s' has rank %d; index it as %s[...]", s->name, s->rank,
				s->name),
		       bad();
	do {
		pexpr x;

		if (n == s->rank)
			return error_at(p, t,
					"'%s' has rank %d but is indexed with more than %d indices",
					s->name, s->rank, s->rank),
			       bad();
		x = expr(p);
		if (!(idx[n++] = materialize(p, &x, TE_BOOL)))
			return bad();
		h = imax(h, x.height);
	} while (accept(p, TE_TK_COMMA));
	if (n < s->rank)
		return error_at(p, t, "'%s' has rank %d but is indexed with %d %s", s->name,
				s->rank, n, n == 1 ? "index" : "indices"),
		       bad();
	if (expect(p, TE_TK_RBRACKET, "',' or ']'"))
		return bad();
	return built(p, te_load(p->g, s->id, n, idx, p->err), t, h + 1);
}

/* ref := AXIS | PARAM | load */
static pexpr name_ref(parser *p)
{
	const te_token *t = next(p);
	const param *pa = NULL;
	const te_stage *s;
	int axis;

	if ((axis = find_axis(p, t)) >= 0 || (pa = find_param(p, t))) {
		if (peek(p)->kind == TE_TK_LBRACKET)
			return error_at(p, t, "'%.*s' is %s, not a tensor", t->len, t->text,
					axis >= 0 ? "an axis" : "a param"),
			       bad();
		return axis >= 0 ? built(p, te_axis_ref(p->g, axis), t, 1) : flex_int(pa->value, t);
	}
	if ((s = find_stage(p, t)) && s != p->cur)
		return load(p, s, t);
	return undefined_name(p, t), bad();
}

/* The number of arguments of call keyword `kw`. */
static int call_arity(te_keyword kw)
{
	return kw == TE_KW_SELECT ? 3 : kw == TE_KW_MIN || kw == TE_KW_MAX ? 2 : 1;
}

/* '(' expr { ',' expr } ')' with exactly call_arity(f) arguments */
static int call_args(parser *p, const te_token *f, pexpr *args)
{
	int n = call_arity(f->kw);
	char what[TE_MAX_NAME + 16];

	snprintf(what, sizeof(what), "'(' after '%.*s'", f->len, f->text);
	if (expect(p, TE_TK_LPAREN, what))
		return -1;
	for (int i = 0; i < n; i++) {
		if (i > 0 && peek(p)->kind == TE_TK_RPAREN)
			break;
		if ((i > 0 && expect(p, TE_TK_COMMA, "','")) || (args[i] = expr(p), failed(p)))
			return -1;
		if (i + 1 == n && peek(p)->kind != TE_TK_COMMA)
			return expect(p, TE_TK_RPAREN, "')'");
	}
	return error_at(p, f, "'%.*s' takes %d argument%s", f->len, f->text, n, n == 1 ? "" : "s");
}

/* A conversion f32(x), f64(x) or i32(x): a flex x takes the target type,
 * except that a float constant stays a float converted to i32. */
static pexpr cast(parser *p, te_dtype type, pexpr x, const te_token *f)
{
	materialize(p, &x, x.flex && x.is_float && type == TE_I32 ? TE_F32 : type);
	if (failed(p))
		return bad();
	return built(p, te_cast(p->g, type, x.e, p->err), f, x.height + 1);
}

/* call := FUNC '(' expr { ',' expr } ')'
 * FUNC := select | min | max | abs | exp | log | sqrt | tanh | f32 | f64 | i32 */
static pexpr call(parser *p)
{
	static const te_op unops[] = {
	    [TE_KW_ABS] = TE_ABS,   [TE_KW_EXP] = TE_EXP,   [TE_KW_LOG] = TE_LOG,
	    [TE_KW_SQRT] = TE_SQRT, [TE_KW_TANH] = TE_TANH,
	};
	const te_token *f = next(p);
	pexpr a[3] = {0};

	if (call_args(p, f, a))
		return bad();
	switch (f->kw) {
	case TE_KW_SELECT:
		if (!materialize(p, &a[0], TE_BOOL) || unify(p, &a[1], &a[2]))
			return bad();
		return built(p, te_select(p->g, a[0].e, a[1].e, a[2].e, p->err), f,
			     imax(a[0].height, imax(a[1].height, a[2].height)) + 1);
	case TE_KW_MIN:
	case TE_KW_MAX:
		return binary(p, f->kw == TE_KW_MIN ? TE_MIN : TE_MAX, a[0], a[1], f);
	case TE_KW_F32:
		return cast(p, TE_F32, a[0], f);
	case TE_KW_F64:
		return cast(p, TE_F64, a[0], f);
	case TE_KW_I32:
		return cast(p, TE_I32, a[0], f);
	default:
		if (!materialize(p, &a[0], TE_BOOL))
			return bad();
		return built(p, te_unary(p->g, unops[f->kw], a[0].e, p->err), f, a[0].height + 1);
	}
}

/* A keyword where an expression's primary is expected. */
static pexpr keyword(parser *p)
{
	const te_token *t = peek(p);

	switch (t->kw) {
	case TE_KW_TRUE:
	case TE_KW_FALSE:
		next(p);
		return built(p, te_const_bool(p->g, t->kw == TE_KW_TRUE), t, 1);
	case TE_KW_SUM:
		return error_at(p, t,
				"a reduction (sum, max, min with an axis) must be the whole "
				"right-hand side of a stage"),
		       bad();
	case TE_KW_PARAM:
	case TE_KW_INPUT:
	case TE_KW_OUTPUT:
		return expected(p, "an expression"), bad();
	default:
		return call(p);
	}
}

/* primary := INT | FLOAT | 'true' | 'false' | '(' expr ')' | call | ref */
static pexpr primary(parser *p)
{
	const te_token *t = peek(p);
	pexpr x;

	switch (t->kind) {
	case TE_TK_INT:
		return flex_int(next(p)->v.i, t);
	case TE_TK_FLOAT:
		return flex_float(next(p)->v.f, t);
	case TE_TK_LPAREN:
		next(p);
		x = expr(p);
		return failed(p) || expect(p, TE_TK_RPAREN, "')'") ? bad() : x;
	case TE_TK_NAME:
		return t->kw != TE_KW_NONE ? keyword(p) : name_ref(p);
	default:
		return expected(p, "an expression"), bad();
	}
}

/* -x: folded for a flex constant. */
static pexpr negate(parser *p, pexpr x, const te_token *t)
{
	if (failed(p))
		return bad();
	if (x.flex && x.is_float)
		return flex_float(-x.f, t);
	if (x.flex)
		return fold(p, TE_SUB, flex_int(0, t), x, t);
	return built(p, te_unary(p->g, TE_NEG, x.e, p->err), t, x.height + 1);
}

/* unary := '-' unary | '!' unary | primary */
static pexpr unary(parser *p)
{
	const te_token *t = peek(p);
	pexpr x;

	if (++p->depth > MAX_NEST) {
		error_at(p, t, "expression is nested too deeply");
		x = bad();
	} else if (accept(p, TE_TK_MINUS)) {
		x = negate(p, unary(p), t);
	} else if (accept(p, TE_TK_NOT)) {
		x = unary(p);
		if (materialize(p, &x, TE_BOOL))
			x = built(p, te_unary(p->g, TE_NOT, x.e, p->err), t, x.height + 1);
	} else {
		x = primary(p);
	}
	p->depth--;
	return failed(p) ? bad() : x;
}

/* binary := unary { BINOP binary }, operators binding at least `min_prec`
 * (precedence as in C, from te_ops.def), left-associative */
static pexpr binary_expr(parser *p, int min_prec)
{
	pexpr a = unary(p);
	te_op op;

	while (!failed(p) && binop_of(peek(p)->kind, &op) && te_op_prec(op) >= min_prec) {
		const te_token *t = next(p);
		pexpr b = binary_expr(p, te_op_prec(op) + 1);

		a = binary(p, op, a, b, t);
	}
	return a;
}

/* expr := binary */
static pexpr expr(parser *p)
{
	return binary_expr(p, 1);
}

/* ---- statements ---- */

/* axis := NAME '<' iexpr   (into h, as a spatial or a reduce axis) */
static int axis_decl(parser *p, header *h, bool reduce, const te_token *stage)
{
	const te_token *t = peek(p);
	int n = h->rank + h->nreduce;

	if (reduce ? h->nreduce == TE_MAX_REDUCE : h->rank == TE_MAX_RANK)
		return error_at(p, t, "'%.*s' has more than %d %s axes", stage->len, stage->text,
				reduce ? TE_MAX_REDUCE : TE_MAX_RANK,
				reduce ? "reduce" : "spatial");
	if (check_new_name(p, t, h, stage))
		return -1;
	tok_name(next(p), h->names[n]);
	h->line[n] = t->line;
	h->col[n] = t->col;
	if (expect(p, TE_TK_LT, "'<' and the axis extent") ||
	    extent(p, &h->ext[n], "axis", t->len, t->text))
		return -1;
	*(reduce ? &h->nreduce : &h->rank) += 1;
	return 0;
}

/* axes := axis { ',' axis } */
static int axis_list(parser *p, header *h, bool reduce, const te_token *stage)
{
	do {
		if (axis_decl(p, h, reduce, stage))
			return -1;
	} while (accept(p, TE_TK_COMMA));
	return 0;
}

/* Whether the tokens ahead are RED '(' NAME '<'. */
static bool at_reduction(const parser *p)
{
	te_keyword kw = peek(p)->kw;

	return (kw == TE_KW_SUM || kw == TE_KW_MAX || kw == TE_KW_MIN) &&
	       peek_at(p, 1)->kind == TE_TK_LPAREN && peek_at(p, 2)->kind == TE_TK_NAME &&
	       peek_at(p, 3)->kind == TE_TK_LT;
}

/* reduction := RED '(' axes ')'   RED := sum | max | min
 * (the body may start on the next line) */
static int reduction(parser *p, header *h, const te_token *stage)
{
	te_keyword kw = next(p)->kw;

	h->red = kw == TE_KW_SUM ? TE_RED_SUM : kw == TE_KW_MAX ? TE_RED_MAX : TE_RED_MIN;
	next(p);
	if (axis_list(p, h, true, stage) || expect(p, TE_TK_RPAREN, "',' or ')'"))
		return -1;
	accept(p, TE_TK_NEWLINE);
	return 0;
}

/* Add the compute stage of header h named by token `t`; its id or -1. */
static int add_compute(parser *p, const header *h, const te_token *t)
{
	const char *names[TE_MAX_AXES];
	char buf[TE_MAX_NAME];
	int id;

	for (int i = 0; i < h->rank + h->nreduce; i++)
		names[i] = h->names[i];
	id = te_add_compute(p->g, tok_name(t, buf), h->rank, names, h->ext, h->red, h->nreduce,
			    names + h->rank, h->ext + h->rank, p->err);
	if (id < 0) {
		rt_error_locate(p->err, t->line, t->col);
		return -1;
	}
	for (int i = 0; i < h->rank + h->nreduce; i++) {
		te_graph_stage(p->g, id)->axes[i].line = h->line[i];
		te_graph_stage(p->g, id)->axes[i].col = h->col[i];
	}
	return id;
}

/* body := expr, the whole right-hand side of stage `id` */
static int body(parser *p, int id)
{
	pexpr x;
	te_expr *e;

	p->cur = te_graph_stage(p->g, id);
	x = expr(p);
	e = materialize(p, &x, TE_BOOL);
	p->cur = NULL;
	if (!e)
		return -1;
	if (te_set_body(p->g, id, e, p->err)) {
		rt_error_locate(p->err, e->line, e->col);
		return -1;
	}
	return 0;
}

/* compute := NAME [ '[' axes ']' ] '=' [ reduction ] expr */
static int compute_stmt(parser *p)
{
	const te_token *t = next(p);
	header h;
	int id;

	h.rank = h.nreduce = 0;
	h.red = TE_RED_NONE;
	if (check_new_name(p, t, NULL, NULL))
		return -1;
	if (accept(p, TE_TK_LBRACKET) &&
	    (axis_list(p, &h, false, t) || expect(p, TE_TK_RBRACKET, "',' or ']'")))
		return -1;
	if (expect(p, TE_TK_ASSIGN, h.rank ? "'='" : "'[' or '='"))
		return -1;
	if (at_reduction(p) && reduction(p, &h, t))
		return -1;
	if ((id = add_compute(p, &h, t)) < 0)
		return -1;
	te_graph_stage(p->g, id)->line = t->line;
	te_graph_stage(p->g, id)->col = t->col;
	return body(p, id);
}

/* type := 'f32' | 'f64' | 'i32' */
static int type_name(parser *p, te_dtype *type)
{
	te_keyword kw = peek(p)->kw;

	if (kw != TE_KW_F32 && kw != TE_KW_F64 && kw != TE_KW_I32)
		return expected(p, "a type (f32, f64 or i32)");
	next(p);
	*type = kw == TE_KW_F32 ? TE_F32 : kw == TE_KW_F64 ? TE_F64 : TE_I32;
	return 0;
}

/* shape := '[' iexpr { ',' iexpr } ']' */
static int shape(parser *p, const te_token *t, int64_t *dims, int *rank)
{
	char what[32];

	do {
		if (*rank == TE_MAX_RANK)
			return error_at(p, peek(p), "'%.*s' has more than %d dimensions", t->len,
					t->text, TE_MAX_RANK);
		snprintf(what, sizeof(what), "dimension %d of", *rank);
		if (extent(p, &dims[*rank], what, t->len, t->text))
			return -1;
		++*rank;
	} while (accept(p, TE_TK_COMMA));
	return expect(p, TE_TK_RBRACKET, "',' or ']'");
}

/* input := 'input' NAME shape [ type ] | 'input' NAME type */
static int input_stmt(parser *p)
{
	const te_token *t;
	int64_t dims[TE_MAX_RANK];
	te_dtype type = TE_F32;
	char buf[TE_MAX_NAME];
	int rank = 0, id;

	next(p);
	if (check_new_name(p, t = peek(p), NULL, NULL))
		return -1;
	next(p);
	if (accept(p, TE_TK_LBRACKET)) {
		te_tok_kind k;

		if (shape(p, t, dims, &rank))
			return -1;
		k = peek(p)->kind;
		if (k != TE_TK_NEWLINE && k != TE_TK_EOF && type_name(p, &type))
			return -1;
	} else if (type_name(p, &type)) {
		return -1;
	}
	if ((id = te_add_input(p->g, tok_name(t, buf), type, rank, dims, p->err)) < 0) {
		rt_error_locate(p->err, t->line, t->col);
		return -1;
	}
	te_graph_stage(p->g, id)->line = t->line;
	te_graph_stage(p->g, id)->col = t->col;
	return 0;
}

/* One name of an output statement: a compute stage defined above. */
static int output_name(parser *p)
{
	const te_token *t = peek(p);
	te_stage *s;
	int n = t->len;

	if (t->kind != TE_TK_NAME || t->kw != TE_KW_NONE)
		return expected(p, "a stage name");
	if (!(s = find_stage(p, t)))
		return find_param(p, t)
			   ? error_at(p, t, "'%.*s' is a param, not a stage", n, t->text)
			   : undefined_name(p, t);
	if (s->kind == TE_STAGE_INPUT)
		return error_at(p, t, "'%.*s' is an input; only computed stages can be outputs", n,
				t->text);
	if (s->is_output)
		return error_at(p, t, "'%.*s' is listed twice", n, t->text);
	te_mark_output(p->g, s->id);
	next(p);
	return 0;
}

/* output := 'output' NAME { ',' NAME } */
static int output_stmt(parser *p)
{
	const te_token *t = next(p);

	if (p->have_output)
		return error_at(p, t, "a second 'output' statement; list all outputs in one");
	p->have_output = true;
	do {
		if (output_name(p))
			return -1;
	} while (accept(p, TE_TK_COMMA));
	return 0;
}

/* The -D define naming the param token `t` (the last one), or NULL. */
static const te_define *find_define(const parser *p, const te_token *t)
{
	const te_define *d = NULL;

	for (int i = 0; i < p->ndefs; i++)
		if (p->defs[i].name && tok_is(t, p->defs[i].name))
			d = &p->defs[i];
	return d;
}

/* Append a param named by token `t`; -1 when out of memory. */
static int push_param(parser *p, const te_token *t, int64_t value)
{
	if (p->nparams == p->cap) {
		int cap = p->cap ? 2 * p->cap : 16;
		param *np = p->cap < INT_MAX / 4 ? realloc(p->params, cap * sizeof(*np)) : NULL;

		if (!np)
			return error_at(p, t, "out of memory");
		p->params = np;
		p->cap = cap;
	}
	tok_name(t, p->params[p->nparams].name);
	p->params[p->nparams].value = value;
	p->params[p->nparams++].line = t->line;
	return 0;
}

/* param_def := NAME '=' iexpr   (not evaluated when -D gives the value) */
static int param_def(parser *p)
{
	const te_token *t = peek(p);
	const te_define *d = find_define(p, t);
	int64_t v = 0;
	int r;

	if (check_new_name(p, t, NULL, NULL))
		return -1;
	next(p);
	if (expect(p, TE_TK_ASSIGN, "'='"))
		return -1;
	p->no_eval = d != NULL;
	r = iexpr(p, &v);
	p->no_eval = false;
	return r ? -1 : push_param(p, t, d ? d->value : v);
}

/* param := 'param' param_def { ',' param_def } */
static int param_stmt(parser *p)
{
	next(p);
	do {
		if (param_def(p))
			return -1;
	} while (accept(p, TE_TK_COMMA));
	return 0;
}

/* statement := param | input | output | compute, ended by a newline */
static int statement(parser *p)
{
	const te_token *t = peek(p);
	int r;

	p->stmt = p->pos;
	if (t->kw == TE_KW_PARAM)
		r = param_stmt(p);
	else if (t->kw == TE_KW_INPUT)
		r = input_stmt(p);
	else if (t->kw == TE_KW_OUTPUT)
		r = output_stmt(p);
	else if (t->kind == TE_TK_NAME && t->kw == TE_KW_NONE)
		r = compute_stmt(p);
	else if (t->kind == TE_TK_NAME)
		r = error_at(p, t, "a statement cannot start with the keyword '%.*s'", t->len,
			     t->text);
	else
		r = expected(p, "a statement");
	if (r || peek(p)->kind == TE_TK_NEWLINE || peek(p)->kind == TE_TK_EOF)
		return r;
	return expected(p, "the end of the statement");
}

/* Every define must name a param. */
static int check_defines(parser *p)
{
	for (int i = 0; i < p->ndefs; i++) {
		const char *name = p->defs[i].name ? p->defs[i].name : "";
		bool found = false;

		for (int j = 0; j < p->nparams && !found; j++)
			found = strcmp(p->params[j].name, name) == 0;
		if (!found)
			return rt_error_set(p->err, 0, 0, "-D %s: there is no param named '%s'",
					    name, name);
	}
	return 0;
}

/* Whether g has a compute stage. */
static bool has_compute(const te_graph *g)
{
	for (int i = 0; i < te_graph_nstages(g); i++)
		if (te_graph_stage(g, i)->kind == TE_STAGE_COMPUTE)
			return true;
	return false;
}

/* program := { [ statement ] NEWLINE } EOF */
static int program(parser *p)
{
	while (!failed(p) && peek(p)->kind != TE_TK_EOF)
		if (!accept(p, TE_TK_NEWLINE))
			statement(p);
	if (failed(p) || check_defines(p))
		return -1;
	if (!has_compute(p->g))
		return rt_error_set(p->err, 0, 0, "there is no compute stage; nothing to compute");
	return 0;
}

/* Whether `src` is longer than TE_MAX_SOURCE (reading no further). */
static bool source_too_long(const char *src)
{
	for (size_t n = 0; n <= TE_MAX_SOURCE; n++)
		if (src[n] == '\0')
			return false;
	return true;
}

te_graph *te_parse(const char *src, const te_define *defs, int ndefs, rt_error *err)
{
	rt_error e;
	te_tokens toks = {0};
	parser p = {.defs = defs, .ndefs = defs ? ndefs : 0, .err = &e};

	rt_error_clear(&e);
	if (src && source_too_long(src)) {
		rt_error_set(err, 0, 0, "the source is longer than %d bytes (1 MiB)",
			     TE_MAX_SOURCE);
		return NULL;
	}
	if (!src || te_lex(src, &toks) || !(p.g = te_graph_new())) {
		rt_error_set(err, 0, 0, src ? "out of memory" : "no source text");
		te_tokens_clear(&toks);
		return NULL;
	}
	p.tok = toks.tok;
	p.ntok = toks.n;
	p.lexerr = &toks.error;
	if (program(&p) == 0)
		te_default_outputs(p.g);
	else
		p.g = te_graph_free(p.g);
	free(p.params);
	te_tokens_clear(&toks);
	if (!p.g)
		rt_error_set(err, e.line, e.col, "%s", e.msg);
	return p.g;
}
