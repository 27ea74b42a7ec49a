/* rt_alloc: aligned buffers for tensors. */
#ifndef FTC_RT_ALLOC_H
#define FTC_RT_ALLOC_H

#include <stddef.h>

#define RT_ALIGN 64 /* a cache line, and an AVX-512 vector */

/* `n` bytes aligned to RT_ALIGN, zeroed; NULL when out of memory or when
 * n rounds past SIZE_MAX.  Release with rt_free. */
void *rt_alloc(size_t n);
/* Release a buffer from rt_alloc.  Accepts NULL; returns NULL. */
void *rt_free(void *p);

#endif
