/*
 * rt_buf: the growable byte buffer (see rt_buf.h).
 */
#include "rt_buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Room for n more bytes and the NUL; false (oom set) when there is none. */
static bool reserve(rt_buf *b, size_t n)
{
	size_t need, cap;
	char *p;

	if (b->oom)
		return false;
	if (n > SIZE_MAX - 1 - b->n) {
		b->oom = true;
		return false;
	}
	need = b->n + n + 1;
	if (need <= b->cap)
		return true;
	cap = need > SIZE_MAX / 2 ? need : 2 * need;
	if (!(p = realloc(b->p, cap))) {
		b->oom = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

void rt_buf_put(rt_buf *b, const void *s, size_t n)
{
	if (!reserve(b, n))
		return;
	if (n)
		memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

void rt_buf_str(rt_buf *b, const char *s)
{
	rt_buf_put(b, s, strlen(s));
}

void rt_buf_vprintf(rt_buf *b, const char *fmt, va_list ap)
{
	va_list again;
	int n;

	if (b->oom)
		return;
	va_copy(again, ap);
	n = vsnprintf(b->p ? b->p + b->n : NULL, b->p ? b->cap - b->n : 0, fmt, ap);
	if (n < 0) {
		b->oom = true;
	} else if (b->p && (size_t)n < b->cap - b->n) {
		b->n += (size_t)n;
	} else if (reserve(b, (size_t)n)) {
		vsnprintf(b->p + b->n, b->cap - b->n, fmt, again);
		b->n += (size_t)n;
	}
	va_end(again);
}

void rt_buf_printf(rt_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rt_buf_vprintf(b, fmt, ap);
	va_end(ap);
}

char *rt_buf_take(rt_buf *b)
{
	char *p = b->p;

	if (b->oom) {
		free(p);
		p = NULL;
	} else if (!p) {
		p = calloc(1, 1);
	}
	memset(b, 0, sizeof(*b));
	return p;
}

void rt_buf_free(rt_buf *b)
{
	if (!b)
		return;
	free(b->p);
	memset(b, 0, sizeof(*b));
}
