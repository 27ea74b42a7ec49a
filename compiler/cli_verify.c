/*
 * cli_verify: the one check of a kernel against the reference interpreter
 * that `ftc run` and `ftc compile` share (see cli_verify.h).
 */
#include "cli_verify.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cg.h"
#include "lir.h"
#include "rt_isolate.h"
#include "te_interp.h"

/* Exit statuses of the checking child: a kernel's 1 (out of memory),
 * the interpreter's failure. */
enum { KERNEL_NO_MEMORY = 1, LIR_FAILED = 4, OTHER_FAILURE = 5 };

static bool is_output(const te_stage *s)
{
	return s->kind == TE_STAGE_COMPUTE && s->is_output;
}

int cli_bufs_alloc(te_bufs *b, const char *file, const te_graph *g, uint64_t seed)
{
	rt_error err;

	rt_error_clear(&err);
	if (te_bufs_init(b, g, seed, &err) == 0)
		return CLI_OK;
	fprintf(stderr, "%s: error: %s\n", file, err.msg);
	return CLI_USER_ERROR;
}

int cli_run_packed(void *user, void **params)
{
	return (*(cg_packed_fn *)user)(params);
}

int cli_run_lir(void *user, void **params)
{
	rt_error err;

	rt_error_clear(&err);
	if (lir_interp_run(user, params, &err) == 0)
		return 0;
	fprintf(stderr, "the loop IR interpreter: %s\n", err.msg);
	return LIR_FAILED;
}

/* The bytes of every output together: what the child sends back. */
static size_t output_bytes(const te_graph *g)
{
	size_t n = 0;

	for (int i = 0; i < te_graph_nstages(g); i++)
		if (is_output(te_graph_stage(g, i)))
			n += (size_t)te_stage_bytes(te_graph_stage(g, i));
	return n;
}

typedef struct child_ctx {
	const te_graph *g;
	te_bufs *b;
	cli_kernel_fn fn;
	void *user;
} child_ctx;

/* In the child: run the kernel once, copy every output into shm. */
static int child_run(void *ctx, void *shm, size_t size)
{
	child_ctx *c = ctx;
	char *p = shm;
	int r = c->fn(c->user, c->b->params);

	(void)size;
	if (r)
		return r == KERNEL_NO_MEMORY || r == LIR_FAILED ? r : OTHER_FAILURE;
	for (int i = 0; i < c->b->n; i++) {
		const te_stage *s = te_graph_stage(c->g, i);

		if (is_output(s) && te_stage_bytes(s) > 0) {
			memcpy(p, c->b->got[i], (size_t)te_stage_bytes(s));
			p += te_stage_bytes(s);
		}
	}
	return 0;
}

/* Copy the child's outputs from shm into b->got. */
static void take_outputs(const te_graph *g, te_bufs *b, const char *shm)
{
	for (int i = 0; i < b->n; i++) {
		const te_stage *s = te_graph_stage(g, i);

		if (is_output(s) && te_stage_bytes(s) > 0) {
			memcpy(b->got[i], shm, (size_t)te_stage_bytes(s));
			shm += te_stage_bytes(s);
		}
	}
}

/*
 * The test hook FTC_TEST_CORRUPT_OUTPUT=1: add 1 to the first element of
 * the first output the kernel produced, as a miscompiled kernel would, so
 * that the refusal paths can be tested.  Documented in docs/decisions.md.
 */
static void test_corrupt(const te_graph *g, te_bufs *b)
{
	const char *e = getenv("FTC_TEST_CORRUPT_OUTPUT");

	if (!e || !*e || strcmp(e, "0") == 0)
		return;
	for (int i = 0; i < b->n; i++) {
		const te_stage *s = te_graph_stage(g, i);

		if (!is_output(s) || te_stage_numel(s) == 0)
			continue;
		if (s->type == TE_F32)
			((float *)b->got[i])[0] += 1.0f;
		else if (s->type == TE_F64)
			((double *)b->got[i])[0] += 1.0;
		else
			((int32_t *)b->got[i])[0] ^= 1;
		return;
	}
}

/* Compare every output with the reference; one line each into out (NULL:
 * none).  *first_bad gets the first output outside tolerance. */
static bool compare(const te_graph *g, const te_bufs *b, FILE *out, char *first_bad, size_t n)
{
	bool ok = true;

	for (int i = 0; i < b->n; i++) {
		const te_stage *s = te_graph_stage(g, i);
		te_cmp c;

		if (!is_output(s))
			continue;
		c = te_compare(s, b->got[i], b->ref[i]);
		if (!c.ok && ok)
			snprintf(first_bad, n,
				 "%s: %lld of %lld elements outside tolerance (the worst at flat index "
				 "%lld, max abs err %.3g)",
				 s->name, (long long)c.nbad, (long long)te_stage_numel(s), (long long)c.worst,
				 c.max_abs);
		ok = ok && c.ok;
		if (!out)
			continue;
		fprintf(out, "%s: max abs err %.3g, max rel err %.3g", s->name, c.max_abs, c.max_rel);
		if (!c.ok)
			fprintf(out, ", %lld elements outside tolerance (first worst at flat index %lld)",
				(long long)c.nbad, (long long)c.worst);
		fprintf(out, "\n");
	}
	return ok;
}

int cli_check_kernel(const char *file, const te_graph *g, te_bufs *b, cli_kernel_fn fn, void *user,
		     double timeout_s, FILE *out, cli_verdict *res)
{
	child_ctx c = {g, b, fn, user};
	rt_isolate_result iso;
	rt_error err;

	memset(res, 0, sizeof(*res));
	rt_error_clear(&err);
	if (te_bufs_reference(b, &err)) {
		fprintf(stderr, "%s: error: the reference interpreter: %s\n", file, err.msg);
		return CLI_USER_ERROR;
	}
	if (rt_isolate_run(child_run, &c, output_bytes(g), timeout_s, &iso)) {
		if (iso.status == RT_ISO_EXIT && iso.code == KERNEL_NO_MEMORY)
			snprintf(res->why, sizeof(res->why), "could not allocate its temporary buffers");
		else if (iso.status == RT_ISO_EXIT && iso.code == LIR_FAILED)
			snprintf(res->why, sizeof(res->why),
				 "failed in the loop IR interpreter (the message is above)");
		else
			snprintf(res->why, sizeof(res->why), "%s", iso.reason);
		res->crashed = true;
		res->signal = iso.status == RT_ISO_SIGNAL ? iso.code : 0;
		rt_isolate_result_release(&iso);
		return CLI_USER_ERROR;
	}
	res->seconds = iso.seconds;
	take_outputs(g, b, iso.shm);
	rt_isolate_result_release(&iso);
	test_corrupt(g, b);
	res->ok = compare(g, b, out, res->why, sizeof(res->why));
	return res->ok ? CLI_OK : CLI_USER_ERROR;
}

int cli_check_allowed(const cli_opts *o, const te_graph *g, double limit, const char *by, bool *skip)
{
	double flops = te_graph_flops(g);

	*skip = o->no_check;
	if (o->no_check) {
		fprintf(stderr, "ftc compile: warning: --no-check: the library is written without running it "
				"against the reference\n");
		return CLI_OK;
	}
	if (flops <= limit)
		return CLI_OK;
	fprintf(stderr, "%s: error: %.3g FLOP is more than ftc compile checks (at most %.3g FLOP, about 100 s "
			"of %s; the kernel is compiled for this one shape, so no smaller one can stand in): "
			"give --no-check to write it unchecked\n",
		o->file, flops, limit, by);
	return CLI_USER_ERROR;
}

void cli_print_verdict(const cli_opts *o, int rc, const cli_verdict *v, const char *what)
{
	if (rc == CLI_OK)
		printf("checked %s against the reference interpreter at the compiled shape (seed %llu): verified\n",
		       what, (unsigned long long)o->seed);
	else if (v->crashed)
		fprintf(stderr, "%s: error: %s %s: nothing written%s\n", o->file, what, v->why,
			v->signal == SIGILL ? " (an illegal instruction: code for another CPU cannot be "
					      "checked on this one; give --no-check to write it unchecked)"
					    : "");
	else if (v->why[0])
		fprintf(stderr, "%s: error: %s does not match the reference interpreter: %s: nothing written "
				"(run 'ftc run' with this schedule for details)\n",
			o->file, what, v->why);
}

int cli_check_lir(const cli_opts *o, const te_graph *g, const lir_func *f)
{
	static const char what[] = "the loop IR (interpreted; the CPU cannot run the generated code)";
	te_bufs b;
	cli_verdict v;
	bool skip;
	int rc;

	rc = cli_check_allowed(o, g, CLI_CHECK_MAX_LIR_FLOPS, "the loop IR interpreter and the reference", &skip);
	if (rc || skip)
		return rc;
	memset(&v, 0, sizeof(v));
	if ((rc = cli_bufs_alloc(&b, o->file, g, o->seed)) == CLI_OK)
		rc = cli_check_kernel(o->file, g, &b, cli_run_lir, (void *)f, CLI_CHECK_TIMEOUT_S, NULL, &v);
	te_bufs_free(&b);
	cli_print_verdict(o, rc, &v, what);
	return rc;
}
