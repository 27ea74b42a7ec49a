#include "rt_error.h"

#include <stdarg.h>
#include <stdio.h>

void rt_error_clear(rt_error *err)
{
	if (!err)
		return;
	err->line = 0;
	err->col = 0;
	err->set = false;
	err->msg[0] = '\0';
}

int rt_error_set(rt_error *err, int line, int col, const char *fmt, ...)
{
	va_list ap;

	if (!err || err->set)
		return -1;
	err->line = line;
	err->col = col;
	err->set = true;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

void rt_error_locate(rt_error *err, int line, int col)
{
	if (err && err->line == 0) {
		err->line = line;
		err->col = col;
	}
}
