/*
 * Tests of ir/te_parse: good inputs and their canonical prints, the
 * print-parse round trip, bad inputs and their messages and positions,
 * -D overrides, and the positions recorded on stages and nodes.
 */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "te.h"
#include "te_parse.h"

/* Parse `src` (which must succeed), print it canonically, and check that
 * parsing the print gives the same print.  Returns the print (caller frees). */
static char *parse_print(const char *src, const te_define *defs, int ndefs)
{
	rt_error err;
	te_graph *g, *g2;
	char *text, *text2;

	rt_error_clear(&err);
	g = te_parse(src, defs, ndefs, &err);
	ck_assert_msg(g != NULL, "parse failed at %d:%d: %s\n--- source:\n%s", err.line, err.col,
		      err.msg, src);
	text = te_graph_print(g, false);
	ck_assert_ptr_nonnull(text);
	g2 = te_parse(text, NULL, 0, &err);
	ck_assert_msg(g2 != NULL, "reparse failed at %d:%d: %s\n--- print:\n%s", err.line, err.col,
		      err.msg, text);
	text2 = te_graph_print(g2, false);
	ck_assert_str_eq(text2, text);
	ck_assert_uint_eq(te_graph_hash(g, NULL), te_graph_hash(g2, NULL));
	free(text2);
	te_graph_free(g2);
	te_graph_free(g);
	return text;
}

/* ---- good inputs and their canonical prints ---- */

static const struct {
	const char *src, *print;
} good[] = {
    /* the design example, exactly as written */
    {"param M = 1024, N = 1024, K = 1024\n"
     "input A[M, K] f32\n"
     "input B[K, N] f32\n"
     "C[i < M, j < N] = sum(k < K) A[i, k] * B[k, j]\n",
     "input A[1024, 1024] f32\n"
     "input B[1024, 1024] f32\n"
     "C[i < 1024, j < 1024] = sum(k < 1024) A[i, k] * B[k, j]\n"
     "output C\n"},
    /* an integer literal takes the f64 of its partner */
    {"input X[4] f64\nY[i < 4] = 2 * X[i]", "input X[4] f64\nY[i < 4] = 2.0 * X[i]\noutput Y\n"},
    /* constants fold; integer division floors */
    {"input X[4] f32\nY[i < 4] = X[i] * (1 + 2) - 3 / 2\n",
     "input X[4] f32\nY[i < 4] = X[i] * 3.0 - 1.0\noutput Y\n"},
    {"param a = -7 / 2, b = -7 % 2, c = 7 % -2\nY[i < 4] = i + a + b + c\n",
     "Y[i < 4] = i + (-4) + 1 + (-1)\noutput Y\n"},
    {"B[i < 4] = i + -7 / 2 + -7 % 2 + -1 / 2 + -1 % 2\n",
     "B[i < 4] = i + (-4) + 1 + (-1) + 1\noutput B\n"},
    /* params, min and max in sizes */
    {"param N = 8, M = N * 2 + max(N, 3) - min(1, 2)\ninput A[M] i32\nB[i < M] = A[i] % 3\n",
     "input A[23] i32\nB[i < 23] = A[i] % 3\noutput B\n"},
    {"param K = 3\ninput A[4] f32\nB[i < 4] = A[i] / K\n",
     "input A[4] f32\nB[i < 4] = A[i] / 3.0\noutput B\n"},
    /* scalars */
    {"input s f64\nt = s * 0.5\n", "input s f64\nt = s * 0.5\noutput t\n"},
    {"input s i32\nt = s + 1\nu = t * t\n", "input s i32\nt = s + 1\nu = t * t\noutput u\n"},
    /* reductions; max/min not followed by `( NAME <` are functions */
    {"input A[8] f32\nm = max(k < 8) A[k]\n", "input A[8] f32\nm = max(k < 8) A[k]\noutput m\n"},
    {"input A[8] f32\nm[i < 2] = min(k < 4) A[i * 4 + k]\n",
     "input A[8] f32\nm[i < 2] = min(k < 4) A[i * 4 + k]\noutput m\n"},
    {"input A[8] f32\nB[i < 8] = max(A[i], 0)\n",
     "input A[8] f32\nB[i < 8] = max(A[i], 0.0)\noutput B\n"},
    {"input A[4] f32\nB[i < 4] = min(A[i], 1.0)\n",
     "input A[4] f32\nB[i < 4] = min(A[i], 1.0)\noutput B\n"},
    {"input A[2, 3, 4] f32\nB = sum(i < 2, j < 3, k < 4) A[i, j, k]\n",
     "input A[2, 3, 4] f32\nB = sum(i < 2, j < 3, k < 4) A[i, j, k]\noutput B\n"},
    /* conv with a select-guarded padding stage, wrapped in ( ) */
    {"param N = 1, C = 2, W = 8, K = 3, S = 3, pad = 1\n"
     "param Q = W + 2 * pad - S + 1\n"
     "input I[N, C, W] f32\n"
     "input F[K, C, S] f32\n"
     "Ip[n < N, c < C, w < W + 2 * pad] = select(w >= pad && w < W + pad,\n"
     "                                           I[n, c, w - pad], 0.0)\n"
     "O[n < N, k < K, q < Q] = sum(c < C, s < S)\n"
     "    Ip[n, c, q + s] * F[k, c, s]\n",
     "input I[1, 2, 8] f32\n"
     "input F[3, 2, 3] f32\n"
     "Ip[n < 1, c < 2, w < 10] = select(w >= 1 && w < 9, I[n, c, w - 1], 0.0)\n"
     "O[n < 1, k < 3, q < 8] = sum(c < 2, s < 3) Ip[n, c, q + s] * F[k, c, s]\n"
     "output O\n"},
    /* softmax in several stages */
    {"param N = 4, M = 16\n"
     "input X[N, M] f32\n"
     "mx[i < N] = max(j < M) X[i, j]\n"
     "e[i < N, j < M] = exp(X[i, j] - mx[i])\n"
     "s[i < N] = sum(j < M) e[i, j]\n"
     "y[i < N, j < M] = e[i, j] / s[i]\n",
     "input X[4, 16] f32\n"
     "mx[i < 4] = max(j < 16) X[i, j]\n"
     "e[i < 4, j < 16] = exp(X[i, j] - mx[i])\n"
     "s[i < 4] = sum(j < 16) e[i, j]\n"
     "y[i < 4, j < 16] = e[i, j] / s[i]\n"
     "output y\n"},
    /* conversions: a literal takes the target type, except float to i32 */
    {"input A[4] i32\nB[i < 4] = f64(A[i]) + f64(2)\nC[i < 4] = i32(2.5) + i32(B[i])\n",
     "input A[4] i32\nB[i < 4] = f64(A[i]) + f64(2.0)\nC[i < 4] = i32(2.5) + i32(B[i])\noutput "
     "C\n"},
    /* bools and minimal parentheses */
    {"input A[4] f32\nB[i < 4] = select(!(i < 2) || true, A[i], -A[i])\n",
     "input A[4] f32\nB[i < 4] = select(!(i < 2) || true, A[i], -A[i])\noutput B\n"},
    {"input A[4] i32\nB[i < 4] = (A[i] - (i - 1)) * ((2 + i) * 3) + ((A[i] + 1) + 2)\n",
     "input A[4] i32\nB[i < 4] = (A[i] - (i - 1)) * ((2 + i) * 3) + (A[i] + 1 + 2)\noutput B\n"},
    {"input A[4] f32\nB[i < 4] = i32(A[i] <= 1.0 == (i != 2)) + i32(false)\n",
     "input A[4] f32\nB[i < 4] = i32(A[i] <= 1.0 == (i != 2)) + i32(false)\noutput B\n"},
    {"input A[4] i32\nB[i < 4] = A[i] - -i - -(i * 2) - -(-3)\n",
     "input A[4] i32\nB[i < 4] = A[i] - -i - -(i * 2) - 3\noutput B\n"},
    /* negative constants and unary minus */
    {"input A[4] f32\nB[i < 4] = A[i] * -2 + -(3)\n",
     "input A[4] f32\nB[i < 4] = A[i] * (-2.0) + (-3.0)\noutput B\n"},
    {"B[i < 4] = -i * 2\n", "B[i < 4] = -i * 2\noutput B\n"},
    {"B[i < 4] = i + -2147483647 - 1\n", "B[i < 4] = i + (-2147483647) - 1\noutput B\n"},
    {"B[i < 4] = i + (-2147483647 - 1)\n", "B[i < 4] = i + (-2147483648)\noutput B\n"},
    /* comments, blank lines, newlines inside ( ) and [ ], CR LF and tabs */
    {"# comment\n\nparam N = 4 # trailing\n\ninput A[N,\n  N] f32\n"
     "B[i < N, j < N] = (A[i, j]\n + A[j, i])\n#end",
     "input A[4, 4] f32\nB[i < 4, j < 4] = A[i, j] + A[j, i]\noutput B\n"},
    {"param M = 1,\n  N = 2 # continues after ','\ninput A[M, N] f32\nB[i < M] =\n  sum(k < N)\n"
     "  A[i, k] *  # and after an operator\n\n  2.0\noutput B\n",
     "input A[1, 2] f32\nB[i < 1] = sum(k < 2) A[i, k] * 2.0\noutput B\n"},
    {"# C = A \xc3\x97 B: any bytes may appear in a comment\nB = 1\n", "B = 1\noutput B\n"},
    {"input A[4] f32\r\nB[i < 4] =\tA[i]\r\n", "input A[4] f32\nB[i < 4] = A[i]\noutput B\n"},
    /* output statements */
    {"input A[4] f32\nB[i < 4] = A[i] + 1.0\nC[i < 4] = B[i] * 2.0\noutput B, C\n",
     "input A[4] f32\nB[i < 4] = A[i] + 1.0\nC[i < 4] = B[i] * 2.0\noutput B, C\n"},
    {"input A[4] f32\nB[i < 4] = A[i]\noutput B\nC[i < 4] = B[i]\n",
     "input A[4] f32\nB[i < 4] = A[i]\nC[i < 4] = B[i]\noutput B\n"},
    /* float literals */
    {"input A[4] f32\nB[i < 4] = A[i] * 0.1 + 1e3 + .5 + 2.",
     "input A[4] f32\nB[i < 4] = A[i] * 0.1 + 1000.0 + 0.5 + 2.0\noutput B\n"},
    {"input A[4] f64\nB[i < 4] = A[i] + 1 / 4 + 1 / 4.0 + 0.1\n",
     "input A[4] f64\nB[i < 4] = A[i] + 0.0 + 0.25 + 0.1\noutput B\n"},
    {"input A[4] f32\nB[i < 4] = A[i] + 2147483648\n",
     "input A[4] f32\nB[i < 4] = A[i] + 2.1474836e+09\noutput B\n"},
    {"B[i < 4] = f32(i) + max(1, 2.5) * -0.0\n", "B[i < 4] = f32(i) + (-0.0)\noutput B\n"},
    {"B = 1.5\nC = 7\n", "B = 1.5\nC = 7\noutput B, C\n"},
    /* comparisons of constants are not folded */
    {"B[i < 4] = select(1 < 2.5, i, 0)\n", "B[i < 4] = select(1.0 < 2.5, i, 0)\noutput B\n"},
    /* keywords inside names */
    {"input sums[4] f32\nmaxi[i < 4] = sums[i]\n",
     "input sums[4] f32\nmaxi[i < 4] = sums[i]\noutput maxi\n"},
    /* the longest name */
    {"input A23456789012345678901234567890123456789012345678901234567890123 i32\nB = "
     "A23456789012345678901234567890123456789012345678901234567890123",
     "input A23456789012345678901234567890123456789012345678901234567890123 i32\nB = "
     "A23456789012345678901234567890123456789012345678901234567890123\noutput B\n"},
    /* the same axis names in different stages; a later tensor may reuse one */
    {"A[i < 2] = i\nB[i < 2] = A[i]\ninput i[3] f32\n",
     "A[i < 2] = i\nB[i < 2] = A[i]\ninput i[3] f32\noutput B\n"},
};

START_TEST(parses_good_inputs)
{
	char *text = parse_print(good[_i].src, NULL, 0);

	ck_assert_str_eq(text, good[_i].print);
	free(text);
}
END_TEST

/* ---- bad inputs: message, line and column ---- */

static const struct {
	const char *src, *msg;
	int line, col;
} bad[] = {
    {"input A[4] f32\nB[i < 4] = Z[i]", "unknown name 'Z'", 2, 12},
    {"B[i < 4] = B[i]", "'B' reads itself; graphs must be acyclic", 1, 12},
    {"B[i < 4] = C[i]\nC[i < 4] = 1", "'C' is used before it is defined (on line 2)", 1, 12},
    {"B[i < N] = 1\nparam N = 4", "'N' is used before it is defined", 1, 7},
    {"param N = M, M = 2", "'M' is used before it is defined", 1, 11},
    {"B[i < 4] = sum(k < 4)\n  Z[k]", "unknown name 'Z'", 2, 3},
    {"input A[A] f32", "unknown name 'A'", 1, 9},
    {"B[i < 4] = A[i]\ninput A[4] f32", "'A' is used before it is defined (on line 2)", 1, 12},
    {"input A[4] f32\ninput A[4] f32", "'A' is already defined (line 1)", 2, 7},
    {"param N = 1, N = 2", "'N' is already defined (a param, line 1)", 1, 14},
    {"param i = 2\nB[i < 4] = 1", "'i' is already defined", 2, 3},
    {"input A[4] f32\nA[i < 4] = 1", "'A' is already defined", 2, 1},
    {"B[i < 4, i < 2] = 1", "axis 'i' is declared twice", 1, 10},
    {"B[i < 4] = sum(i < 2) 1", "axis 'i' is declared twice", 1, 16},
    {"B[B < 4] = 1", "axis 'B' has the name of its stage", 1, 3},
    {"input A[4, 4] f32\nB[i < 4] = A[i]", "'A' has rank 2 but is indexed with 1 index", 2, 12},
    {"input A[4] f32\nB[i < 4] = A[i, i]", "'A' has rank 1 but is indexed with more than 1", 2, 12},
    {"input A[4] f32\nB[i < 4] = A", "'A' has rank 1; index it as A[...]", 2, 12},
    {"input s f32\nB[i < 4] = s[i]", "'s' is a scalar", 2, 12},
    {"param N = 2\nB[i < 4] = N[i]", "'N' is a param, not a tensor", 2, 12},
    {"B[i < 4] = i[0]", "'i' is an axis, not a tensor", 1, 12},
    {"input A[4] f32\nB[i < 4] = A[1.5]", "index 0 of 'A' has type f32", 2, 14},
    {"input A[4] i32\nB[i < 4] = A[i] + 1.5", "float constant 1.5 cannot be i32", 2, 19},
    {"input A[4] f32\ninput C[4] f64\nB[i < 4] = A[i] + C[i]", "different types f32 and f64", 3,
     17},
    {"input A[4] f32\nB[i < 4] = A[i] + i", "different types f32 and i32", 2, 17},
    {"B[i < 4] = exp(i)", "'exp' needs a float operand", 1, 16},
    {"B[i < 4] = exp(1)", "'exp' needs a float operand", 1, 16},
    {"B[i < 4] = 1.0 % 2.0", "'%' needs i32", 1, 16},
    {"input A[4] f32\nB[i < 4] = -!A[i]", "'!' cannot take an operand of type f32", 2, 14},
    {"B[i < 4] = i < 2", "has type bool", 1, 14},
    {"B[i < 4] = true", "has type bool", 1, 12},
    {"B[i < 4] = select(i, 1, 2)", "the condition of select has type i32", 1, 19},
    {"B[i < 4] = select(i < 2, 1)", "'select' takes 3 arguments", 1, 12},
    {"B[i < 4] = abs(i, i)", "'abs' takes 1 argument", 1, 12},
    {"B[i < 4] = tanh 1", "expected '(' after 'tanh', found '1'", 1, 17},
    {"B[i < 4] = sum(k < 4) k + sum(j < 2) j", "must be the whole right-hand side", 1, 27},
    {"B[i < 4] = 1 + sum(j < 2) j", "must be the whole right-hand side", 1, 16},
    {"B[i < 4] = 1 / 0", "division by zero", 1, 14},
    {"B[i < 4] = 1 % (2 - 2)", "division by zero", 1, 14},
    {"B[i < 4] = 1.0 / 0.0", "division by zero", 1, 16},
    {"B[i < 4] = 1e308 * 10.0", "float overflow", 1, 18},
    {"B[i < 4] = f32(i) + 1e300", "does not fit in f32", 1, 21},
    {"B = 1e999", "number 1e999 is too large", 1, 5},
    {"B[i < 4] = 3000000000 + i", "3000000000 does not fit in i32", 1, 12},
    {"B[i < 4] = 2147483647 + 1 + i", "2147483648 does not fit in i32", 1, 23},
    {"B[i < 4] = 9223372036854775807 + 1", "integer overflow", 1, 32},
    {"param N = 99999999999999999999", "number 99999999999999999999 is too large", 1, 11},
    {"param N = 9223372036854775807 + 1", "integer overflow", 1, 31},
    {"param N = -9223372036854775807 - 1, M = -N", "integer overflow", 1, 41},
    {"param N = -9223372036854775807 - 1, M = N / -1", "integer overflow", 1, 43},
    {"param N = 1 / 0", "division by zero", 1, 13},
    {"param N = 1.5", "'1.5' is not an integer", 1, 11},
    {"input A[4] f32\nparam N = A", "'A' is a tensor, not a param", 2, 11},
    {"param N = 2 3", "expected the end of the statement, found '3'", 1, 13},
    {"param N", "unexpected end of file; expected '='", 1, 8},
    {"param = 3", "expected a name, found '='", 1, 7},
    {"input A[0] f32", "dimension 0 of 'A' has extent 0", 1, 9},
    {"param N = 3\ninput A[4, N - 5] f32", "dimension 1 of 'A' has extent -2", 2, 12},
    {"B[i < 4, j < 0] = 1", "axis 'j' has extent 0", 1, 14},
    {"input A[1,2,3,4,5,6,7,8,9] f32", "'A' has more than 8 dimensions", 1, 25},
    {"B[a<1,b<1,c<1,d<1,e<1,f<1,g<1,h<1,k<1] = 1", "'B' has more than 8 spatial axes", 1, 35},
    {"B = sum(a<1,b<1,c<1,d<1,e<1,f<1,g<1,h<1,k<1) 1", "'B' has more than 8 reduce axes", 1, 41},
    {"input A[4] g32", "expected a type (f32, f64 or i32), found 'g32'", 1, 12},
    {"input A", "unexpected end of file; expected a type", 1, 8},
    {"input A[4] f32 x", "expected the end of the statement, found 'x'", 1, 16},
    {"input A[4 f32", "expected ',' or ']', found 'f32'", 1, 11},
    {"input A[4] f32\nB[i < 4] = A[i] +\n", "unexpected end of file; expected an expression", 3, 1},
    {"input A[4] f32\nB[i < 4] = A[i] + (\n", "unexpected end of file; expected an expression", 3,
     1},
    {"input A[4] f32\nB[i < 4] = A[i] + f32(i\n\nC = 1", "expected ')', found 'C'", 4, 1},
    {"input A[4] f32\nB[i < 4] = sum(k < 4)\n\nC = 1", "unknown name 'C'", 4, 1},
    {"input A[4] f32\nB[i < 4] = sum(k < 4)\n", "unexpected end of file; expected an expression", 3,
     1},
    {"B[i < 4] = i\n+ 1", "expected a statement, found '+'", 2, 1},
    {"input A[4] f32\nB[i < 4] = A[i", "unexpected end of file; expected ',' or ']'", 2, 15},
    {"B[i < 4] = (((1)", "unexpected end of file; expected ')'", 1, 17},
    {"B[i < 4] = i 2", "expected the end of the statement, found '2'", 1, 14},
    {"B[i < 4] 1", "expected '=', found '1'", 1, 10},
    {"B 1", "expected '[' or '=', found '1'", 1, 3},
    {"B[] = 1", "expected an axis name, found ']'", 1, 3},
    {"B[i 4] = 1", "expected '<' and the axis extent, found '4'", 1, 5},
    {"sum = 1", "a statement cannot start with the keyword 'sum'", 1, 1},
    {"B[sum < 4] = 1", "'sum' is a keyword and cannot be a name", 1, 3},
    {"input f64[4] f32", "'f64' is a keyword", 1, 7},
    {"= 1", "expected a statement, found '='", 1, 1},
    {"B[i < 4] = input", "expected an expression, found 'input'", 1, 12},
    {"B[i < 4] = i $ 2", "unexpected character '$'", 1, 14},
    {"B[i < 4] = i & 1", "did you mean '&&'", 1, 14},
    {"B = 1 \xc3\xa9", "unexpected byte 0xc3", 1, 7},
    {"B = 1\x01", "unexpected byte 0x01", 1, 6},
    {"B[i < 4] = 1.5.3", "malformed number '1.5.3'", 1, 12},
    {"B[i < 4] = 2i", "malformed number '2i'", 1, 12},
    {"B[i < 4] = 1e+", "malformed number '1e+'", 1, 12},
    {"A234567890123456789012345678901234567890123456789012345678901234 = 1",
     "is too long (at most 63 characters)", 1, 1},
    /* errors are reported in source order: the parse error before the bad character */
    {"B[i < 4] = C[i] $", "unknown name 'C'", 1, 12},
    {"input A[4] f32\nB[i < 4] = A[i]\noutput A", "'A' is an input", 3, 8},
    {"input A[4] f32\nB[i < 4] = A[i]\noutput Q", "unknown name 'Q'", 3, 8},
    {"param N = 1\nB[i < 4] = 1\noutput N", "'N' is a param, not a stage", 3, 8},
    {"B[i < 4] = 1\noutput B, B", "'B' is listed twice", 2, 11},
    {"output B\nB[i < 4] = 1", "'B' is used before it is defined (on line 2)", 1, 8},
    {"B[i < 4] = 1\noutput B\noutput B", "a second 'output' statement", 3, 1},
    {"output", "unexpected end of file; expected a stage name", 1, 7},
    /* extents: at most TE_MAX_EXTENT (2^31 - 1), at the extent's position */
    {"input A[2147483648] f32\nB[i < 2] = A[i]",
     "dimension 0 of 'A' has extent 2147483648; at most 2147483647 (2^31 - 1)", 1, 9},
    {"input A[4294967296, 4294967296] f32\nB[i < 2] = A[i, i]",
     "dimension 0 of 'A' has extent 4294967296; at most 2147483647", 1, 9},
    {"input A[4, 4611686018427387904] f32\nB[i < 2] = A[i, i]",
     "dimension 1 of 'A' has extent 4611686018427387904; at most", 1, 12},
    {"B[i < 2147483647, j < 2147483648] = 1", "axis 'j' has extent 2147483648; at most", 1, 23},
    {"B[i < 4] = sum(k < 2 * 1073741824) f32(k)", "axis 'k' has extent 2147483648; at most", 1,
     20},
    {"", "there is no compute stage", 0, 0},
    {"input A[4] f32\n", "there is no compute stage", 0, 0},
};

START_TEST(rejects_bad_inputs)
{
	rt_error err;
	te_graph *g;

	rt_error_clear(&err);
	g = te_parse(bad[_i].src, NULL, 0, &err);
	ck_assert_msg(g == NULL, "accepted: %s", bad[_i].src);
	ck_assert_msg(err.set, "no error for: %s", bad[_i].src);
	ck_assert_msg(strstr(err.msg, bad[_i].msg), "for %s\n got '%s', want '%s'", bad[_i].src,
		      err.msg, bad[_i].msg);
	ck_assert_msg(err.line == bad[_i].line && err.col == bad[_i].col,
		      "for %s\n got %d:%d, want %d:%d (%s)", bad[_i].src, err.line, err.col,
		      bad[_i].line, bad[_i].col, err.msg);
	/* without an error record it still fails cleanly */
	ck_assert_ptr_null(te_parse(bad[_i].src, NULL, 0, NULL));
}
END_TEST

/* Builds `n` copies of `unit` between `head` and `tail` (caller frees). */
static char *repeat(const char *head, const char *unit, int n, const char *tail)
{
	size_t lh = strlen(head), lu = strlen(unit), lt = strlen(tail);
	char *s = malloc(lh + n * lu + lt + 1), *q = s;

	ck_assert_ptr_nonnull(s);
	memcpy(q, head, lh);
	q += lh;
	for (int i = 0; i < n; i++, q += lu)
		memcpy(q, unit, lu);
	memcpy(q, tail, lt + 1);
	return s;
}

static void expect_error(const char *src, const char *msg)
{
	rt_error err;

	rt_error_clear(&err);
	ck_assert_ptr_null(te_parse(src, NULL, 0, &err));
	ck_assert_msg(strstr(err.msg, msg), "got '%s', want '%s'", err.msg, msg);
}

START_TEST(limits_nesting)
{
	char *parens = repeat("B = ", "(", 100000, "1");
	char *minus = repeat("B = ", "-", 100000, "1");
	char *chain = repeat("B[i < 4] = i", " + i", 300, "");
	char *ok = repeat("B[i < 4] = i", " + i", 200, "");
	char *iparens = repeat("param N = ", "(", 100000, "1");
	char *loads = repeat("input A[4] i32\nB[i < 4] = ", "A[", 700, "i");
	rt_error err;
	te_graph *g;

	expect_error(parens, "nested too deeply");
	expect_error(minus, "nested too deeply");
	expect_error(chain, "more than 256 levels");
	expect_error(iparens, "nested too deeply");
	expect_error(loads, "nested too deeply");
	rt_error_clear(&err);
	g = te_parse(ok, NULL, 0, &err);
	ck_assert_msg(g != NULL, "%s", err.msg);
	te_graph_free(g);
	free(parens);
	free(minus);
	free(chain);
	free(ok);
	free(iparens);
	free(loads);
}
END_TEST

/* Extents of 2^31 - 1 parse (verify then judges the sizes). */
START_TEST(extents_at_the_limit)
{
	rt_error err;
	te_graph *g;

	rt_error_clear(&err);
	g = te_parse("input A[2147483647] f32\nB[i < 2, j < 2147483647] = A[j]\n", NULL, 0, &err);
	ck_assert_msg(g != NULL, "%s", err.msg);
	ck_assert_int_eq(te_graph_find(g, "A")->shape[0], TE_MAX_EXTENT);
	ck_assert_int_eq(te_graph_find(g, "B")->axes[1].extent, TE_MAX_EXTENT);
	te_graph_free(g);
}
END_TEST

/* A valid program padded with a comment to exactly `len` bytes (caller
 * frees). */
static char *padded(size_t len)
{
	static const char prog[] = "input A[4]\nB[i < 4] = A[i]\n#";
	char *s = malloc(len + 1);

	ck_assert_ptr_nonnull(s);
	memcpy(s, prog, sizeof(prog) - 1);
	memset(s + sizeof(prog) - 1, 'x', len - (sizeof(prog) - 1));
	s[len] = '\0';
	return s;
}

/* te_parse reads at most TE_MAX_SOURCE bytes; te_source_check refuses a
 * longer file and a NUL byte anywhere (a comment too) at its position. */
START_TEST(source_limits)
{
	static const char nul_comment[] = "input A[4]\n# a \0 b\nB[i < 4] = A[i]\n";
	static const char nul_code[] = "input A[4]\nB[i < 4] = A[i]\0\n";
	char *at = padded(TE_MAX_SOURCE), *over = padded(TE_MAX_SOURCE + 1);
	rt_error err;
	te_graph *g;

	rt_error_clear(&err);
	g = te_parse(at, NULL, 0, &err);
	ck_assert_msg(g != NULL, "%s", err.msg);
	te_graph_free(g);
	ck_assert_int_eq(te_source_check(at, TE_MAX_SOURCE, &err), 0);
	expect_error(over, "the source is longer than 1048576 bytes (1 MiB)");
	rt_error_clear(&err);
	ck_assert_int_eq(te_source_check(over, TE_MAX_SOURCE + 1, &err), -1);
	ck_assert_str_eq(err.msg, "the file has 1048577 bytes; a .te or schedule file may have at "
				  "most 1048576 (1 MiB)");
	rt_error_clear(&err);
	ck_assert_int_eq(te_source_check(nul_comment, sizeof(nul_comment) - 1, &err), -1);
	ck_assert(strstr(err.msg, "NUL byte (not allowed anywhere, comments included)"));
	ck_assert_int_eq(err.line, 2);
	ck_assert_int_eq(err.col, 5);
	rt_error_clear(&err);
	ck_assert_int_eq(te_source_check(nul_code, sizeof(nul_code) - 1, &err), -1);
	ck_assert_int_eq(err.line, 2);
	ck_assert_int_eq(err.col, 16);
	rt_error_clear(&err);
	ck_assert_int_eq(te_source_check(nul_code, sizeof(nul_code) - 3, &err), 0);
	free(at);
	free(over);
}
END_TEST

/* A tree as deep as allowed prints with parentheses that read back. */
START_TEST(deep_trees_round_trip)
{
	char *neg = repeat("B[i < 4] = ", "-", 250, "i");
	char *right = repeat("B[i < 4] = ", "i - (", 120, "i");
	char *text;

	text = parse_print(neg, NULL, 0);
	free(text);
	right = realloc(right, strlen(right) + 130);
	for (int k = 0; k < 120; k++)
		strcat(right, ")");
	text = parse_print(right, NULL, 0);
	free(text);
	free(neg);
	free(right);
}
END_TEST

/* ---- -D overrides ---- */

static const char gemm_src[] = "param M = 1024, N = 1024, K = 1024\n"
			       "input A[M, K] f32\n"
			       "input B[K, N] f32\n"
			       "C[i < M, j < N] = sum(k < K) A[i, k] * B[k, j]\n";

START_TEST(defines_replace_params)
{
	te_define defs[] = {{"M", 8}, {"K", 2}, {"N", 5}, {"N", 4}};
	char *text = parse_print(gemm_src, defs, 4);

	ck_assert_str_eq(text, "input A[8, 2] f32\n"
			       "input B[2, 4] f32\n"
			       "C[i < 8, j < 4] = sum(k < 2) A[i, k] * B[k, j]\n"
			       "output C\n");
	free(text);
}
END_TEST

START_TEST(defines_skip_evaluation)
{
	te_define n = {"N", 3};
	char *text = parse_print("param N = 1 / 0, M = N * 2\nB[i < M] = i + N\n", &n, 1);

	ck_assert_str_eq(text, "B[i < 6] = i + 3\noutput B\n");
	free(text);
}
END_TEST

START_TEST(define_of_unknown_param)
{
	te_define defs[] = {{"M", 8}, {"Q", 2}};
	rt_error err;

	rt_error_clear(&err);
	ck_assert_ptr_null(te_parse(gemm_src, defs, 2, &err));
	ck_assert_str_eq(err.msg, "-D Q: there is no param named 'Q'");
	ck_assert_int_eq(err.line, 0);
	ck_assert_int_eq(err.col, 0);
}
END_TEST

START_TEST(define_still_checks_syntax_and_extents)
{
	te_define n = {"N", 0};
	rt_error err;

	rt_error_clear(&err);
	ck_assert_ptr_null(te_parse("param N = 4\ninput A[N] f32\nB[i < 1] = A[0]\n", &n, 1, &err));
	ck_assert_ptr_nonnull(strstr(err.msg, "has extent 0"));
	ck_assert_int_eq(err.line, 2);
	ck_assert_int_eq(err.col, 9);
	rt_error_clear(&err);
	n.value = 2;
	ck_assert_ptr_null(te_parse("param N = Q\nB[i < N] = 1\n", &n, 1, &err));
	ck_assert_ptr_nonnull(strstr(err.msg, "unknown name 'Q'"));
}
END_TEST

/* ---- structure and positions ---- */

START_TEST(builds_the_graph)
{
	rt_error err;
	te_graph *g = te_parse(gemm_src, NULL, 0, &err);
	const te_stage *a, *c;
	const te_expr *b;

	ck_assert_ptr_nonnull(g);
	ck_assert_int_eq(te_graph_nstages(g), 3);
	a = te_graph_stage(g, 0);
	c = te_graph_stage(g, 2);
	ck_assert_int_eq(a->kind, TE_STAGE_INPUT);
	ck_assert_int_eq(a->rank, 2);
	ck_assert_int_eq(a->shape[0], 1024);
	ck_assert(!a->is_output);
	ck_assert_int_eq(c->kind, TE_STAGE_COMPUTE);
	ck_assert_int_eq(c->type, TE_F32);
	ck_assert_int_eq(c->reduce, TE_RED_SUM);
	ck_assert_int_eq(c->nreduce, 1);
	ck_assert_str_eq(c->axes[2].name, "k");
	ck_assert(c->is_output);
	ck_assert_int_eq(c->line, 4);
	ck_assert_int_eq(c->col, 1);
	b = c->body;
	ck_assert_int_eq(b->op, TE_MUL);
	ck_assert_int_eq(b->line, 4);
	ck_assert_int_eq(b->col, 38);
	ck_assert_int_eq(b->args[0]->op, TE_LOAD);
	ck_assert_int_eq(b->args[0]->index, 0);
	ck_assert_int_eq(b->args[0]->col, 30);
	ck_assert_int_eq(b->args[0]->args[1]->op, TE_AXIS);
	ck_assert_int_eq(b->args[0]->args[1]->index, 2);
	ck_assert_int_eq(b->args[0]->args[1]->col, 35);
	ck_assert_int_eq(b->args[1]->args[1]->index, 1);
	te_graph_free(g);
}
END_TEST

START_TEST(positions_of_constants_and_stages)
{
	rt_error err;
	te_graph *g = te_parse("input A[4] f64\n  B[i < 4] = A[i] * 2 + (1 - 3)\n", NULL, 0, &err);
	const te_stage *b;
	const te_expr *e;

	ck_assert_ptr_nonnull(g);
	b = te_graph_stage(g, 1);
	ck_assert_int_eq(b->line, 2);
	ck_assert_int_eq(b->col, 3);
	ck_assert_int_eq(te_graph_stage(g, 0)->col, 7);
	ck_assert_int_eq(b->type, TE_F64);
	e = b->body; /* (A[i] * 2) + (-2) */
	ck_assert_int_eq(e->op, TE_ADD);
	ck_assert_int_eq(e->col, 23);
	ck_assert_int_eq(e->args[0]->col, 19);
	ck_assert_int_eq(e->args[0]->args[1]->op, TE_CONST);
	ck_assert_int_eq(e->args[0]->args[1]->type, TE_F64);
	ck_assert_int_eq(e->args[0]->args[1]->col, 21);
	ck_assert(e->args[1]->c.f == -2.0);
	ck_assert_int_eq(e->args[1]->col, 28); /* the folded '-' */
	te_graph_free(g);
}
END_TEST

START_TEST(f32_constants_are_rounded)
{
	rt_error err;
	te_graph *g = te_parse("input A[1] f32\nB[i < 1] = A[i] * 0.1\n", NULL, 0, &err);

	ck_assert_ptr_nonnull(g);
	ck_assert(te_graph_stage(g, 1)->body->args[1]->c.f == (double)0.1f);
	te_graph_free(g);
}
END_TEST

START_TEST(first_error_wins)
{
	rt_error err;

	rt_error_clear(&err);
	rt_error_set(&err, 7, 8, "earlier");
	ck_assert_ptr_null(te_parse("B = Z", NULL, 0, &err));
	ck_assert_str_eq(err.msg, "earlier");
	ck_assert_ptr_null(te_parse(NULL, NULL, 0, NULL));
}
END_TEST

/* Every example program round-trips through the printer. */
START_TEST(examples_round_trip)
{
	const char *root = getenv("FTC_SOURCE_ROOT");
	char dir[4096], path[8192];
	struct dirent *d;
	DIR *dp;
	int n = 0;

	if (!root)
		return;
	snprintf(dir, sizeof(dir), "%s/examples", root);
	if (!(dp = opendir(dir)))
		return;
	while ((d = readdir(dp))) {
		FILE *f;
		char *src;
		long len;

		if (!strstr(d->d_name, ".te"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		ck_assert_ptr_nonnull(f = fopen(path, "rb"));
		fseek(f, 0, SEEK_END);
		len = ftell(f);
		rewind(f);
		src = calloc(1, len + 1);
		ck_assert_int_eq(fread(src, 1, len, f), len);
		fclose(f);
		free(parse_print(src, NULL, 0));
		free(src);
		n++;
	}
	closedir(dp);
	ck_assert_int_gt(n, 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("parse");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_loop_test(tc, parses_good_inputs, 0, sizeof(good) / sizeof(good[0]));
	tcase_add_loop_test(tc, rejects_bad_inputs, 0, sizeof(bad) / sizeof(bad[0]));
	tcase_add_test(tc, limits_nesting);
	tcase_add_test(tc, extents_at_the_limit);
	tcase_add_test(tc, source_limits);
	tcase_add_test(tc, deep_trees_round_trip);
	tcase_add_test(tc, defines_replace_params);
	tcase_add_test(tc, defines_skip_evaluation);
	tcase_add_test(tc, define_of_unknown_param);
	tcase_add_test(tc, define_still_checks_syntax_and_extents);
	tcase_add_test(tc, builds_the_graph);
	tcase_add_test(tc, positions_of_constants_and_stages);
	tcase_add_test(tc, f32_constants_are_rounded);
	tcase_add_test(tc, first_error_wins);
	tcase_add_test(tc, examples_round_trip);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
