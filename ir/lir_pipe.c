/*
 * lir_pipe: schedule text -> parse -> lower -> verify (lir_pipe.h).
 */
#include "lir_pipe.h"

#include <stdlib.h>
#include <string.h>

#include "lower.h"
#include "sched.h"

/* The state the passes hand on. */
typedef struct pipe_state {
	const te_graph *g;
	isl_ctx *ctx;
	lir_pipe *p;
	sch_schedule *s;
	lir_func *f;
} pipe_state;

/* parse: schedule text -> sch_schedule, and its canonical text. */
static int pass_parse(pipe_state *st, rt_error *err)
{
	if (!st->p->schedule)
		return 0;
	if (!(st->s = sch_parse(st->p->schedule, err)))
		return -1;
	if (!(st->p->canonical = sch_print(st->s)))
		return rt_error_set(err, 0, 0, "out of memory printing the schedule");
	return 0;
}

/* lower: te graph + schedule -> lir_func. */
static int pass_lower(pipe_state *st, rt_error *err)
{
	st->f = lir_lower_flags(st->g, st->s, st->ctx, st->p->name, st->p->flags, err);
	return st->f ? 0 : -1;
}

/* verify: the loop IR lowering made is well formed. */
static int pass_verify(pipe_state *st, rt_error *err)
{
	rt_error e;

	rt_error_clear(&e);
	if (lir_verify(st->f, &e) == 0)
		return 0;
	return rt_error_set(err, 0, 0, "the lowered loop IR is invalid: %s", e.msg);
}

static const struct {
	lir_pass pass;
	int (*run)(pipe_state *st, rt_error *err);
} passes[] = {
	{LIR_PASS_PARSE, pass_parse},
	{LIR_PASS_LOWER, pass_lower},
	{LIR_PASS_VERIFY, pass_verify},
};

lir_func *lir_pipe_run(const te_graph *g, isl_ctx *ctx, lir_pipe *p, rt_error *err)
{
	pipe_state st = {g, ctx, p, NULL, NULL};

	p->canonical = NULL;
	p->failed = LIR_PASS_NONE;
	for (size_t i = 0; i < sizeof(passes) / sizeof(passes[0]); i++)
		if (passes[i].run(&st, err)) {
			p->failed = passes[i].pass;
			st.f = lir_func_free(st.f);
			free(p->canonical);
			p->canonical = NULL;
			break;
		}
	sch_free(st.s);
	return st.f;
}

void lir_pipe_release(lir_pipe *p)
{
	free(p->canonical);
	p->canonical = NULL;
}

lir_func *lir_pipeline(const te_graph *g, isl_ctx *ctx, const char *text, const char *name, unsigned flags,
		       rt_error *err)
{
	lir_pipe p = {text, name, flags, NULL, LIR_PASS_NONE};
	lir_func *f = lir_pipe_run(g, ctx, &p, err);

	lir_pipe_release(&p);
	return f;
}
