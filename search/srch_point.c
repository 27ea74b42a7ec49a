/*
 * srch_point: points of a schedule space as data: equality, hashing,
 * features for the Q-network, and the "key=value" text form
 *
 *   C.i=4,8,2,16 C.j=1,64,1,16 C.k=8,8,16 C.order=0 C.par=1 C.vec=1 ...
 *
 * one token per knob, in knob order, separated by single spaces; a split
 * knob's value is its factors, outermost first, a choice knob's its index.
 */
#include "srch_space.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_buf.h"

/* The allowed products of split knob k: its prods, or just its extent in a
 * space built by hand (nprods 0). */
static int prods_of(const srch_knob *k, const int64_t **out)
{
	*out = k->nprods ? k->prods : &k->extent;
	return k->nprods ? k->nprods : 1;
}

bool srch_point_equal(const srch_space *s, const srch_point *a, const srch_point *b)
{
	return !memcmp(a->v, b->v, (size_t)s->nslots * sizeof(a->v[0]));
}

/* FNV-1a over the slots' bytes. */
uint64_t srch_point_hash(const srch_space *s, const srch_point *p)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	for (int i = 0; i < s->nslots; i++) {
		uint64_t v = (uint64_t)p->v[i];

		for (int j = 0; j < 8; j++) {
			h ^= (v >> (8 * j)) & 0xff;
			h *= UINT64_C(0x100000001b3);
		}
	}
	return h;
}

int srch_space_nfeatures(const srch_space *s)
{
	int n = 0;

	for (int i = 0; i < s->nknobs; i++)
		n += s->knobs[i].kind == SRCH_SPLIT ? s->knobs[i].nparts : s->knobs[i].nchoices;
	return n;
}

/*
 * Split knobs: log2(f) / log2(largest allowed product) per factor, in
 * [0, 1]; choice knobs: one-hot.  Writes at most `max` values; returns the
 * full count (srch_space_nfeatures).
 */
int srch_point_features(const srch_space *s, const srch_point *p, double *out, int max)
{
	int n = 0;

	for (int i = 0; i < s->nknobs; i++) {
		const srch_knob *k = &s->knobs[i];
		const int64_t *v = &p->v[k->slot];

		if (k->kind == SRCH_SPLIT) {
			const int64_t *prods;
			int nprods = prods_of(k, &prods);
			double top = log2((double)prods[nprods - 1]);

			for (int j = 0; j < k->nparts; j++, n++)
				if (n < max)
					out[n] = top > 0 ? fmin(1.0, log2((double)v[j]) / top) : 0;
		} else {
			for (int j = 0; j < k->nchoices; j++, n++)
				if (n < max)
					out[n] = v[0] == j ? 1.0 : 0.0;
		}
	}
	return n;
}

char *srch_point_print(const srch_space *s, const srch_point *p)
{
	rt_buf b = {0};

	for (int i = 0; i < s->nknobs; i++) {
		const srch_knob *k = &s->knobs[i];
		int nv = k->kind == SRCH_SPLIT ? k->nparts : 1;

		rt_buf_printf(&b, "%s%s=", i ? " " : "", k->key);
		for (int j = 0; j < nv; j++)
			rt_buf_printf(&b, "%s%lld", j ? "," : "", (long long)p->v[k->slot + j]);
	}
	return rt_buf_take(&b);
}

static int find_key(const srch_space *s, const char *key, size_t n)
{
	for (int i = 0; i < s->nknobs; i++)
		if (strlen(s->knobs[i].key) == n && !strncmp(s->knobs[i].key, key, n))
			return i;
	return -1;
}

/* The value of knob k at *pos (up to the end of the token) into v. */
static int parse_value(const srch_knob *k, const char *text, const char *val, const char *end,
		       int64_t *v, rt_error *err)
{
	int nv = k->kind == SRCH_SPLIT ? k->nparts : 1, n = 0, col = (int)(val - text) + 1;
	const char *q = val;
	const int64_t *prods;
	int nprods = prods_of(k, &prods);
	int64_t prod = 1;
	bool over = false;

	for (;;) {
		const char *fe = memchr(q, ',', (size_t)(end - q));
		char *e;
		long long x;

		fe = fe ? fe : end;
		errno = 0;
		x = strtoll(q, &e, 10);
		if (fe == q || e != fe || errno || x < (k->kind == SRCH_SPLIT))
			return rt_error_set(err, 1, col, "knob '%s': bad value '%.*s'", k->key,
					    (int)(end - val), val);
		if (n < nv)
			v[n] = x;
		n++;
		if (fe == end)
			break;
		q = fe + 1;
	}
	if (n != nv)
		return rt_error_set(err, 1, col, "knob '%s' needs %d value%s, got %d", k->key, nv,
				    nv > 1 ? "s" : "", n);
	if (k->kind == SRCH_CHOICE) {
		if (v[0] >= k->nchoices)
			return rt_error_set(err, 1, col, "knob '%s': choice %lld out of range [0, %d)", k->key,
					    (long long)v[0], k->nchoices);
		return 0;
	}
	for (int j = 0; j < nv; j++) {
		over = over || prod > prods[nprods - 1] / v[j];
		prod = over ? prod : prod * v[j];
	}
	for (int i = 0; i < nprods && !over; i++)
		if (prod == prods[i])
			return 0;
	return rt_error_set(err, 1, col,
			    "knob '%s': the factors '%.*s' multiply to %s%lld, not to the extent %lld%s",
			    k->key, (int)(end - val), val, over ? "more than " : "",
			    (long long)(over ? prods[nprods - 1] : prod), (long long)k->extent,
			    nprods > 1 ? " or its rounding up to 4, 8 or 16" : "");
}

/*
 * Parse "key=value" tokens (any whitespace between them) into *p: every
 * knob exactly once.  Errors (with the 1-based column of the token): an
 * unknown or repeated key, a token without '=', a bad number, a wrong
 * number of factors, factors whose product is not allowed, a choice out of
 * range, a missing knob, and on GPU a point outside the target's limits.
 */
int srch_point_parse(const srch_space *s, const char *text, srch_point *p, rt_error *err)
{
	bool seen[SRCH_MAX_SLOTS] = {false};
	const char *t = text;

	memset(p, 0, sizeof(*p));
	for (;;) {
		const char *tok, *eq, *end;
		int k;

		while (*t == ' ' || *t == '\t' || *t == '\n' || *t == '\r')
			t++;
		if (!*t)
			break;
		tok = t;
		while (*t && *t != ' ' && *t != '\t' && *t != '\n' && *t != '\r')
			t++;
		end = t;
		eq = memchr(tok, '=', (size_t)(end - tok));
		if (!eq)
			return rt_error_set(err, 1, (int)(tok - text) + 1, "expected KNOB=VALUE, got '%.*s'",
					    (int)(end - tok), tok);
		k = find_key(s, tok, (size_t)(eq - tok));
		if (k < 0)
			return rt_error_set(err, 1, (int)(tok - text) + 1, "unknown knob '%.*s'",
					    (int)(eq - tok), tok);
		if (seen[k])
			return rt_error_set(err, 1, (int)(tok - text) + 1, "knob '%s' given twice",
					    s->knobs[k].key);
		seen[k] = true;
		if (parse_value(&s->knobs[k], text, eq + 1, end, &p->v[s->knobs[k].slot], err))
			return -1;
	}
	for (int k = 0; k < s->nknobs; k++)
		if (!seen[k])
			return rt_error_set(err, 0, 0, "missing knob '%s'", s->knobs[k].key);
	if (!srch_point_valid(s, p))
		return rt_error_set(err, 0, 0,
				    "the point exceeds the target's limits (threads per block, shared memory, grid or block dimensions, or cache_write in reorder 1)");
	return 0;
}
