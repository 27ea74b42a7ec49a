/*
 * ftc eval FILE.te: run the reference interpreter on seeded random inputs
 * and print a checksum of each output.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "rt_alloc.h"
#include "rt_time.h"
#include "te_interp.h"

static const char eval_help[] =
	"usage: ftc eval FILE.te [-D NAME=VALUE]... [--seed S]\n"
	"\n"
	"Evaluate FILE.te with the reference interpreter on seeded random inputs\n"
	"(floats uniform in [-1, 1), i32 in [-8, 8]) and print, for each output,\n"
	"its shape and a checksum: the sum, the sum of absolute values and a\n"
	"64-bit hash of the stored bytes.  The same file, params and seed give\n"
	"the same checksums on every machine.\n"
	"\n"
	"  -D NAME=VALUE   replace the value of param NAME\n"
	"  --seed S        seed of the random inputs (default 1)\n"
	"  -h, --help      show this help\n";

/* Print "NAME[d0, d1] TYPE: sum=... abs=... hash=...". */
static void print_checksum(const te_stage *s, const void *buf)
{
	int64_t n = te_stage_numel(s);
	size_t bytes = (size_t)n * te_dtype_size(s->type);
	const unsigned char *p = buf;
	uint64_t h = UINT64_C(0xcbf29ce484222325);
	double sum = 0, abs_sum = 0;

	for (size_t i = 0; i < bytes; i++)
		h = (h ^ p[i]) * UINT64_C(0x100000001b3);
	for (int64_t i = 0; i < n; i++) {
		double v = s->type == TE_F32 ? ((const float *)buf)[i]
			 : s->type == TE_F64 ? ((const double *)buf)[i]
					     : ((const int32_t *)buf)[i];

		sum += v;
		abs_sum += fabs(v);
	}
	printf("%s", s->name);
	for (int d = 0; d < s->rank; d++)
		printf(d ? ", %" PRId64 : "[%" PRId64, s->shape[d]);
	printf("%s %s: sum=%.9g abs=%.9g hash=%016" PRIx64 "\n", s->rank ? "]" : "",
	       te_dtype_name(s->type), sum, abs_sum, h);
}

/* Allocate every input and output buffer; fill inputs.  0, or -1 after
 * printing which tensor's bytes could not be had. */
static int alloc_buffers(const char *file, const te_graph *g, void **bufs, uint64_t seed)
{
	for (int i = 0; i < te_graph_nstages(g); i++) {
		const te_stage *s = te_graph_stage(g, i);
		int64_t bytes = te_stage_bytes(s);

		if (s->kind == TE_STAGE_COMPUTE && !s->is_output)
			continue;
		if (bytes < 0 || !(bufs[i] = rt_alloc((size_t)bytes))) {
			fprintf(stderr, "%s: error: out of memory: cannot allocate %lld bytes for tensor '%s'\n", file,
				(long long)bytes, s->name);
			return -1;
		}
		if (s->kind == TE_STAGE_INPUT)
			te_random_fill(s, bufs[i], seed);
	}
	return 0;
}

/* Evaluate g, time it, print the outputs' checksums.  Running out of
 * memory is the user's environment (exit 1), with the size named. */
static int evaluate(const char *file, const te_graph *g, uint64_t seed)
{
	int n = te_graph_nstages(g), rc = CLI_USER_ERROR;
	void **bufs = calloc(n ? n : 1, sizeof(*bufs));
	rt_error err;
	double t0, t1;

	rt_error_clear(&err);
	if (!bufs)
		fprintf(stderr, "ftc eval: out of memory\n");
	if (!bufs || alloc_buffers(file, g, bufs, seed))
		goto out;
	t0 = rt_now();
	if (te_interp_run(g, bufs, &err)) {
		fprintf(stderr, "%s: error: the reference interpreter: %s\n", file, err.msg);
		if (strncmp(err.msg, "out of memory", 13) != 0)
			rc = CLI_INTERNAL_ERROR;
		goto out;
	}
	t1 = rt_now();
	for (int i = 0; i < n; i++)
		if (te_graph_stage(g, i)->is_output)
			print_checksum(te_graph_stage(g, i), bufs[i]);
	printf("reference: %.3f s, %.3g GFLOP, %.3g GFLOP/s\n", t1 - t0,
	       te_graph_flops(g) * 1e-9, te_graph_flops(g) * 1e-9 / (t1 - t0 > 0 ? t1 - t0 : 1e-9));
	rc = CLI_OK;
out:
	for (int i = 0; bufs && i < n; i++)
		rt_free(bufs[i]);
	free(bufs);
	return rc;
}

int cli_eval(int argc, char **argv)
{
	cli_opts o;
	isl_ctx *ctx = NULL;
	te_graph *g = NULL;
	char *src = NULL;
	int rc = CLI_USER_ERROR;

	if (cli_parse_common("eval", argc, argv, &o, CLI_SEED))
		goto out;
	if (o.help) {
		fputs(eval_help, stdout);
		rc = CLI_OK;
		goto out;
	}
	if ((ctx = cli_isl_ctx()) && (g = cli_load(&o, ctx, &src)))
		rc = evaluate(o.file, g, o.seed);
out:
	free(src);
	te_graph_free(g);
	isl_ctx_free(ctx);
	cli_opts_release(&o);
	return rc;
}
