/*
 * rt_arena: ftc's one region allocator.  IR nodes and names (te graphs,
 * loop IR functions) come from an arena of chunks that is freed in one
 * call when the owner is freed, as QBE frees its IR per function.
 *
 * A zeroed rt_arena is empty and ready.  Allocations are zeroed and
 * aligned for any type (max_align_t); they stay valid until rt_arena_free.
 * Chunks hold RT_ARENA_CHUNK bytes; a larger request gets a chunk of its
 * own size.
 */
#ifndef FTC_RT_ARENA_H
#define FTC_RT_ARENA_H

#include <stddef.h>

#define RT_ARENA_CHUNK 65536

struct rt_arena_chunk;

typedef struct rt_arena {
	struct rt_arena_chunk *head; /* the newest chunk, which allocations use */
} rt_arena;

/* n zeroed bytes from a; NULL when out of memory or when n rounded up to
 * the alignment, plus the chunk header, does not fit a size_t. */
void *rt_arena_alloc(rt_arena *a, size_t n);

/* A copy of s (NULL reads as "") in a; NULL when out of memory. */
char *rt_arena_strdup(rt_arena *a, const char *s);

/* Release every allocation of a and zero it; NULL allowed. */
void rt_arena_free(rt_arena *a);

#endif
