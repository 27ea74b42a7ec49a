/*
 * rt_error: the error record every ftc part fills when an operation fails.
 *
 * A function that can fail takes an `rt_error *err` (which may be NULL) and
 * returns a status; on failure it writes one message naming what was wrong
 * and, where a source position is known, where (1-based line and column;
 * 0 means unknown).  The first error set wins: later calls to rt_error_set
 * on an error that already holds a message keep the first one, so that a
 * chain of calls reports the root cause.
 */
#ifndef FTC_RT_ERROR_H
#define FTC_RT_ERROR_H

#include <stdbool.h>

#define RT_ERROR_MSG_MAX 1024

typedef struct rt_error {
	int line;
	int col;
	bool set;
	char msg[RT_ERROR_MSG_MAX];
} rt_error;

/* Reset `err` (NULL allowed) to "no error". */
void rt_error_clear(rt_error *err);

/* Record a printf-style message at line:col unless `err` already holds one.
 * Accepts NULL.  Always returns -1, so callers can `return rt_error_set(...)`. */
int rt_error_set(rt_error *err, int line, int col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Attach a position to an error that has none yet (line == 0). */
void rt_error_locate(rt_error *err, int line, int col);

#endif
