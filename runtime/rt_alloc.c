#include "rt_alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void *rt_alloc(size_t n)
{
	void *p;

	if (n > SIZE_MAX - RT_ALIGN)
		return NULL;
	n = (n + RT_ALIGN - 1) / RT_ALIGN * RT_ALIGN;
	if (n == 0)
		n = RT_ALIGN;
	p = aligned_alloc(RT_ALIGN, n);
	if (p)
		memset(p, 0, n);
	return p;
}

void *rt_free(void *p)
{
	free(p);
	return NULL;
}
