/*
 * rt_buf: ftc's one growable byte buffer and string builder.
 *
 * A zeroed rt_buf is empty and ready.  Appends grow it (doubling), keep it
 * NUL-terminated after its n bytes, and never fail loudly: the first append
 * that cannot be done (out of memory, a size past SIZE_MAX, a format that
 * vsnprintf rejects) sets `oom`, and from then on every append does
 * nothing, so a writer checks once, at rt_buf_take.
 */
#ifndef FTC_RT_BUF_H
#define FTC_RT_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct rt_buf {
	char *p;	/* the bytes, NUL after the n-th; NULL while empty */
	size_t n, cap;	/* bytes held, bytes allocated */
	bool oom;	/* an append failed (sticky) */
} rt_buf;

/* Append n bytes of s (any bytes, NULs included). */
void rt_buf_put(rt_buf *b, const void *s, size_t n);

/* Append the string s. */
void rt_buf_str(rt_buf *b, const char *s);

/* Append printf-style text. */
void rt_buf_printf(rt_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rt_buf_vprintf(rt_buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/*
 * __give the bytes (NUL-terminated; "" when nothing was appended) and
 * leave b zeroed; NULL, with the bytes freed, when an append failed.
 */
char *rt_buf_take(rt_buf *b);

/* Release what b holds and zero it; NULL allowed. */
void rt_buf_free(rt_buf *b);

#endif
