/*
 * rt_arena: the region allocator (see rt_arena.h).
 */
#include "rt_arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct rt_arena_chunk {
	struct rt_arena_chunk *next;
	size_t used, cap;
	max_align_t data[];
};

void *rt_arena_alloc(rt_arena *a, size_t n)
{
	const size_t align = sizeof(max_align_t);
	struct rt_arena_chunk *c = a->head;
	void *p;

	if (n > SIZE_MAX - sizeof(*c) - align)
		return NULL;
	n = (n + align - 1) / align * align;
	if (!c || c->cap - c->used < n) {
		size_t cap = n > RT_ARENA_CHUNK ? n : RT_ARENA_CHUNK;

		if (!(c = malloc(sizeof(*c) + cap)))
			return NULL;
		c->next = a->head;
		c->used = 0;
		c->cap = cap;
		a->head = c;
	}
	p = (char *)c->data + c->used;
	c->used += n;
	memset(p, 0, n);
	return p;
}

char *rt_arena_strdup(rt_arena *a, const char *s)
{
	size_t n;
	char *p;

	if (!s)
		s = "";
	n = strlen(s) + 1;
	if ((p = rt_arena_alloc(a, n)))
		memcpy(p, s, n);
	return p;
}

void rt_arena_free(rt_arena *a)
{
	struct rt_arena_chunk *c, *next;

	if (!a)
		return;
	for (c = a->head; c; c = next) {
		next = c->next;
		free(c);
	}
	a->head = NULL;
}
