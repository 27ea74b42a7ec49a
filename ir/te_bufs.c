/*
 * te_bufs: seeded inputs and the reference's and kernel's buffers (see
 * te_bufs.h).
 */
#include "te_bufs.h"

#include <stdlib.h>
#include <string.h>

#include "rt_alloc.h"

static bool is_output(const te_stage *s)
{
	return s->kind == TE_STAGE_COMPUTE && s->is_output;
}

void te_bufs_free(te_bufs *b)
{
	for (int i = 0; b->ref && i < b->n; i++) {
		if (b->got && b->got[i] != b->ref[i])
			rt_free(b->got[i]);
		rt_free(b->ref[i]);
	}
	free(b->ref);
	free(b->got);
	free(b->params);
	memset(b, 0, sizeof(*b));
}

/* rt_alloc of stage s's bytes; NULL with err naming the tensor. */
static void *alloc_tensor(const te_stage *s, rt_error *err)
{
	int64_t bytes = te_stage_bytes(s);
	void *p = bytes >= 0 ? rt_alloc((size_t)bytes) : NULL;

	if (!p)
		rt_error_set(err, 0, 0, "out of memory: cannot allocate %lld bytes for tensor '%s'", (long long)bytes,
			     s->name);
	return p;
}

/* The kernel's parameters: inputs, then outputs, in stage order. */
static void fill_params(te_bufs *b)
{
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < b->n; i++) {
			const te_stage *s = te_graph_stage(b->g, i);

			if (pass == 0 ? s->kind == TE_STAGE_INPUT : is_output(s))
				b->params[b->nparams++] = b->got[i];
		}
}

int te_bufs_init(te_bufs *b, const te_graph *g, uint64_t seed, rt_error *err)
{
	memset(b, 0, sizeof(*b));
	b->g = g;
	b->n = te_graph_nstages(g);
	b->ref = calloc((size_t)b->n + 1, sizeof(void *));
	b->got = calloc((size_t)b->n + 1, sizeof(void *));
	b->params = calloc((size_t)b->n + 1, sizeof(void *));
	if (!b->ref || !b->got || !b->params)
		return rt_error_set(err, 0, 0, "out of memory for the buffers of %d stages", b->n);
	for (int i = 0; i < b->n; i++) {
		const te_stage *s = te_graph_stage(g, i);

		if (s->kind == TE_STAGE_COMPUTE && !s->is_output)
			continue;
		if (!(b->ref[i] = alloc_tensor(s, err)))
			return -1;
		if (s->kind == TE_STAGE_INPUT) {
			te_random_fill(s, b->ref[i], seed);
			b->got[i] = b->ref[i];
		} else if (!(b->got[i] = alloc_tensor(s, err))) {
			return -1;
		}
	}
	fill_params(b);
	return 0;
}

int te_bufs_reference(te_bufs *b, rt_error *err)
{
	return te_interp_run(b->g, b->ref, err);
}

int te_bufs_first_wrong(const te_bufs *b, te_cmp *c)
{
	for (int i = 0; i < b->n; i++) {
		const te_stage *s = te_graph_stage(b->g, i);

		if (!is_output(s))
			continue;
		*c = te_compare(s, b->got[i], b->ref[i]);
		if (!c->ok)
			return i;
	}
	return -1;
}
