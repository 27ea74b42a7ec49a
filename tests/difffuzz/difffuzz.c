/*
 * difffuzz: a differential fuzzer of the CPU back end.
 *
 * Case i of a campaign with seed S takes example i % 16 (examples/NAME.te),
 * a random small shape (the example's line of tests/small_shapes.txt, each
 * param moved a little, odd sizes favoured, shapes the verifier refuses
 * drawn again) and a random legal schedule (tests/sched_gen.c; odd cases
 * with its wider choices; every fourth case first factors a reduction
 * with rfactor), all from (S, i) alone.  A forked child
 * (rt_isolate) lowers, verifies, compiles with LLVM, JIT-runs the kernel
 * and compares it with the reference interpreter on inputs of ftc run's
 * default seed, so a crash or a hang is a finding and the campaign goes
 * on.
 *
 * Outcomes: ok; refused (lowering said no with a user error: counted by
 * message); and the findings: mismatch, internal (invalid loop IR, a
 * code generation or JIT error), kernel error, crash, timeout.  Each
 * finding prints a reproducer for `ftc run`.  Cases listed in a known
 * file (--known: "SEED CASE KIND" lines, bugs being fixed) are reported
 * but do not fail the run; a listed case that no longer fails is named.
 *
 * usage: difffuzz [--cases N] [--seconds T] [--seed S] [--known FILE]
 *                 [--findings FILE] [--timeout T] [--min-ok PCT]
 * --timeout: seconds one case may take (default 120) before it is a hang;
 * --min-ok: the percentage of cases that must compile and match (default
 * 50: a lowering that refuses legal schedules wholesale hides bugs).
 * Exit status: 0 when every finding is known and enough cases ran, 1
 * otherwise.
 */
#include <check.h>
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cg.h"
#include "lower.h"
#include "rt_isolate.h"
#include "rt_rand.h"
#include "rt_time.h"
#include "sched_gen.h"
#include "sched_rfactor.h"
#include "te_verify.h"

#define DF_MAX_PARAMS 16  /* params of one small_shapes.txt line */
#define DF_SHAPE_TRIES 8  /* random shapes drawn before the small one */
#define DF_MAX_KNOWN 256  /* lines of the known file */
#define DF_MAX_CLASSES 64 /* distinct refusal messages in the summary */
#define DF_INPUT_SEED 1   /* ftc run's default --seed */

typedef enum df_kind {
	DF_OK,
	DF_REFUSED,
	DF_MISMATCH,
	DF_INTERNAL,
	DF_KERNEL,
	DF_CRASH,
	DF_TIMEOUT,
	DF_NKINDS
} df_kind;

static const char *const df_kind_name[DF_NKINDS] = {
	"ok", "refused", "mismatch", "internal", "kernel-error", "crash", "timeout",
};

/* One case: what the child needs and what it reports. */
typedef struct df_case {
	const char *example;
	te_graph *g;
	isl_ctx *ctx;
	char defs[512]; /* " -D M=3 -D N=1" */
	char sched[16384];
	int threads;
} df_case;

/* The child's report, in the shared mapping. */
typedef struct df_report {
	int kind;
	char msg[1024];
} df_report;

typedef struct df_known {
	uint64_t seed;
	long index;
	char kind[32];
	bool seen;
} df_known;

typedef struct df_class {
	char msg[128];
	long count;
} df_class;

typedef struct df_opts {
	long cases;
	double seconds;
	uint64_t seed;
	double timeout;
	double min_ok; /* percent of the cases that must compile and match */
	const char *known_path;
	const char *findings_path;
} df_opts;

typedef struct df_stats {
	long count[DF_NKINDS];
	long run, unexpected, known_hit;
	long rfactored, rfactored_ok; /* cases with an rfactor step, and of them ok */
	df_class classes[DF_MAX_CLASSES];
	int nclasses;
	df_known known[DF_MAX_KNOWN];
	int nknown;
	FILE *findings;
} df_stats;

/* The command line, set once in main before the suite runs (a Check test
 * takes no argument). */
static df_opts df_args;

/* ---- random numbers (runtime/rt_rand.h's splitmix64) ---- */

static int64_t df_rnd(uint64_t *s, int64_t lo, int64_t hi)
{
	return lo + (int64_t)(rt_rand_next(s) % (uint64_t)(hi - lo + 1));
}

/* ---- shapes ---- */

typedef struct df_shape {
	char names[DF_MAX_PARAMS][32];
	int64_t values[DF_MAX_PARAMS];
	int n;
} df_shape;

/* The small shape of `name` from tests/small_shapes.txt. */
static void df_small_shape(const char *name, df_shape *sh)
{
	char path[1024], *text, *line, *save = NULL;

	snprintf(path, sizeof(path), "%s/tests/small_shapes.txt", root());
	text = read_text(path);
	ck_assert_msg(text != NULL, "cannot read %s", path);
	sh->n = 0;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *tok, *s2 = NULL;

		tok = strtok_r(line, " ", &s2);
		if (!tok || tok[0] == '#' || strcmp(tok, name))
			continue;
		while ((tok = strtok_r(NULL, " ", &s2))) {
			char *eq = strchr(tok, '=');

			ck_assert_msg(eq && sh->n < DF_MAX_PARAMS, "%s: bad or too many params for %s (limit %d)",
				      path, name, DF_MAX_PARAMS);
			snprintf(sh->names[sh->n], sizeof(sh->names[0]), "%.*s", (int)(eq - tok), tok);
			sh->values[sh->n++] = atoll(eq + 1);
		}
	}
	free(text);
	ck_assert_msg(sh->n > 0, "no small shape for %s in %s", name, path);
}

/* Move every param of `sh` a little: sizes by -2..+3 with odd values
 * favoured, strides, pads and the like (small values) by -1..+1. */
static void df_perturb(df_shape *sh, uint64_t *r)
{
	for (int i = 0; i < sh->n; i++) {
		int64_t v = sh->values[i], lo = strcmp(sh->names[i], "pad") ? 1 : 0;

		if (df_rnd(r, 0, 3) == 0)
			continue;
		if (v <= 2)
			v += df_rnd(r, -1, 1);
		else
			v += df_rnd(r, -2, 3);
		if (v > 2 && v % 2 == 0 && df_rnd(r, 0, 1))
			v++;
		sh->values[i] = v < lo ? lo : v;
	}
}

/* Parse and verify examples/NAME.te under `sh`; the graph or NULL. */
static te_graph *df_parse(const char *src, const df_shape *sh, isl_ctx *ctx)
{
	te_define defs[DF_MAX_PARAMS];
	rt_error err;
	te_graph *g;

	for (int i = 0; i < sh->n; i++) {
		defs[i].name = sh->names[i];
		defs[i].value = sh->values[i];
	}
	rt_error_clear(&err);
	g = te_parse(src, defs, sh->n, &err);
	if (g && te_verify(g, ctx, &err)) {
		te_graph_free(g);
		g = NULL;
	}
	return g;
}

/* A random shape of c->example that verifies (the small one after
 * DF_SHAPE_TRIES refusals); fills c->g and c->defs. */
static void df_shape_of(df_case *c, uint64_t *r)
{
	char path[1024], *src;
	df_shape small, sh;
	int len = 0;

	snprintf(path, sizeof(path), "%s/examples/%s.te", root(), c->example);
	ck_assert_msg((src = read_text(path)) != NULL, "cannot read %s", path);
	df_small_shape(c->example, &small);
	c->g = NULL;
	for (int t = 0; t < DF_SHAPE_TRIES && !c->g; t++) {
		sh = small;
		df_perturb(&sh, r);
		c->g = df_parse(src, &sh, c->ctx);
	}
	if (!c->g) {
		sh = small;
		c->g = df_parse(src, &sh, c->ctx);
	}
	free(src);
	ck_assert_msg(c->g != NULL, "%s: its small shape does not verify", c->example);
	c->defs[0] = '\0';
	for (int i = 0; i < sh.n; i++)
		len += snprintf(c->defs + len, sizeof(c->defs) - len, " -D %s=%lld", sh.names[i],
				(long long)sh.values[i]);
}

/* ---- one case, in the child ---- */

typedef struct df_jit {
	cg_packed_fn fn;
} df_jit;

static int df_jit_runner(void *ctx, void **params, rt_error *err)
{
	df_jit *j = ctx;

	if (j->fn(params))
		return rt_error_set(err, 0, 0, "the kernel returned non-zero (could not allocate its buffers)");
	return 0;
}

static int df_report_set(df_report *rep, df_kind kind, const char *what, const char *msg)
{
	rep->kind = kind;
	snprintf(rep->msg, sizeof(rep->msg), "%.100s%.900s", what, msg);
	return 0;
}

/* Lower, verify, compile, run and compare one case; the report in shm. */
static int df_child(void *arg, void *shm, size_t size)
{
	df_case *c = arg;
	df_report *rep = shm;
	sch_schedule *s;
	lir_func *f = NULL;
	cg_module *m;
	cg_jit *j;
	cg_target t;
	df_jit run;
	rt_error err;
	const char *bad;

	(void)size;
	rt_error_clear(&err);
	if (!(s = sch_parse(c->sched, &err)))
		return df_report_set(rep, DF_INTERNAL, "the generated schedule does not parse: ", err.msg);
	if (!(f = lir_lower(c->g, s, c->ctx, "kernel", &err)))
		return df_report_set(rep, DF_REFUSED, "", err.msg);
	if (lir_verify(f, &err))
		return df_report_set(rep, DF_INTERNAL, "the lowered loop IR is invalid: ", err.msg);
	if (cg_target_host(&t, &err))
		return df_report_set(rep, DF_INTERNAL, "host target: ", err.msg);
	t.threads = c->threads;
	if (!(m = cg_cpu_compile(f, &t, &err)) || !(j = cg_jit_new(m, &err)))
		return df_report_set(rep, DF_INTERNAL, "", err.msg);
	run.fn = cg_jit_entry(j);
	bad = check_run_seeded(c->g, df_jit_runner, &run, DF_INPUT_SEED);
	if (!strncmp(bad, "kernel: ", 8))
		df_report_set(rep, DF_KERNEL, "", bad);
	else if (!strncmp(bad, "reference: ", 11))
		df_report_set(rep, DF_INTERNAL, "", bad);
	else
		df_report_set(rep, bad[0] ? DF_MISMATCH : DF_OK, "", bad);
	cg_jit_free(j);
	lir_func_free(f);
	sch_free(s);
	return 0;
}

/* Run case c isolated; its kind, with the message in rep. */
static df_kind df_run_case(df_case *c, df_report *out)
{
	rt_isolate_result res;
	df_kind k;

	rt_isolate_run(df_child, c, sizeof(df_report), df_args.timeout, &res);
	if (res.status == RT_ISO_OK && res.shm) {
		*out = *(df_report *)res.shm;
		k = (df_kind)out->kind;
	} else {
		k = res.status == RT_ISO_TIMEOUT ? DF_TIMEOUT
		    : res.status == RT_ISO_ERROR ? DF_INTERNAL
		    : DF_CRASH;
		snprintf(out->msg, sizeof(out->msg), "the child %s", res.reason);
	}
	rt_isolate_result_release(&res);
	return k;
}

/* ---- bookkeeping ---- */

static void df_load_known(df_stats *st, const char *path)
{
	char *text = read_text(path), *line, *save = NULL;

	ck_assert_msg(text != NULL, "cannot read the known file %s", path);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		df_known *k = &st->known[st->nknown];
		unsigned long long seed;

		if (line[0] == '#' || !line[strspn(line, " \t")])
			continue;
		ck_assert_msg(st->nknown < DF_MAX_KNOWN, "%s: more than %d known cases", path, DF_MAX_KNOWN);
		ck_assert_msg(sscanf(line, "%llu %ld %31s", &seed, &k->index, k->kind) == 3,
			      "%s: a line is not \"SEED CASE KIND\": %s", path, line);
		k->seed = seed;
		k->seen = false;
		st->nknown++;
	}
	free(text);
}

static df_known *df_find_known(df_stats *st, uint64_t seed, long index, df_kind kind)
{
	for (int i = 0; i < st->nknown; i++)
		if (st->known[i].seed == seed && st->known[i].index == index &&
		    !strcmp(st->known[i].kind, df_kind_name[kind]))
			return &st->known[i];
	return NULL;
}

/* Count an outcome under its kind and message, digits folded into '#';
 * past DF_MAX_CLASSES - 1 messages, under "other messages". */
static void df_classify(df_stats *st, df_kind k, const char *msg)
{
	char key[128];
	int n = snprintf(key, sizeof(key), "%s: ", df_kind_name[k]), i;

	for (const char *p = msg; *p && n < (int)sizeof(key) - 1; p++)
		if (!isdigit((unsigned char)*p) || n == 0 || key[n - 1] != '#')
			key[n++] = isdigit((unsigned char)*p) ? '#' : *p;
	key[n] = '\0';
	for (int pass = 0; pass < 2; pass++) {
		for (i = 0; i < st->nclasses; i++)
			if (!strcmp(st->classes[i].msg, key)) {
				st->classes[i].count++;
				return;
			}
		if (st->nclasses < DF_MAX_CLASSES - 1)
			break;
		snprintf(key, sizeof(key), "(other messages)");
	}
	snprintf(st->classes[i].msg, sizeof(key), "%s", key);
	st->classes[i].count = 1;
	st->nclasses = i + 1;
}

/* Print a finding and its reproducer to `out`. */
static void df_print_finding(FILE *out, const df_case *c, long index, df_kind k, const char *msg,
			     bool known)
{
	fprintf(out, "FINDING %s%s: %s case %ld (--seed %llu): %s\n", df_kind_name[k], known ? " (known)" : "",
		c->example, index, (unsigned long long)df_args.seed, msg);
	fprintf(out, "cat > /tmp/ftc-finding.sched <<'EOF'\n%sEOF\n", c->sched);
	fprintf(out, "ftc run examples/%s.te%s --target 'cpu -threads=%d' --schedule /tmp/ftc-finding.sched\n\n",
		c->example, c->defs, c->threads);
}

static void df_record(df_stats *st, const df_case *c, long index, df_kind k, const char *msg)
{
	df_known *kn;

	st->count[k]++;
	st->run++;
	if (strstr(c->sched, "rfactor ")) {
		st->rfactored++;
		st->rfactored_ok += k == DF_OK;
	}
	if (k != DF_OK)
		df_classify(st, k, msg);
	if (st->run % 100 == 0)
		printf("difffuzz: %ld cases, %ld findings\n", st->run, st->known_hit + st->unexpected);
	if (k <= DF_REFUSED)
		return;
	kn = df_find_known(st, df_args.seed, index, k);
	if (kn) {
		kn->seen = true;
		st->known_hit++;
	} else {
		st->unexpected++;
	}
	df_print_finding(stdout, c, index, k, msg, kn != NULL);
	if (st->findings) {
		df_print_finding(st->findings, c, index, k, msg, kn != NULL);
		fflush(st->findings);
	}
}

static void df_summary(const df_stats *st, double seconds)
{
	printf("difffuzz: seed %llu, %ld cases in %.1f s (%ld with rfactor, %ld of them ok)\n",
	       (unsigned long long)df_args.seed, st->run, seconds, st->rfactored, st->rfactored_ok);
	for (int k = 0; k < DF_NKINDS; k++)
		printf("  %-12s %ld\n", df_kind_name[k], st->count[k]);
	if (st->nclasses)
		printf("by message (refused: lowering said no, a legal outcome; the rest are findings):\n");
	for (int i = 0; i < st->nclasses; i++)
		printf("  %5ld  %s\n", st->classes[i].count, st->classes[i].msg);
	for (int i = 0; i < st->nknown; i++)
		if (st->known[i].seed == df_args.seed && st->known[i].index < st->run && !st->known[i].seen)
			printf("known case %llu %ld (%s) passes now: remove it from the known file\n",
			       (unsigned long long)st->known[i].seed, st->known[i].index, st->known[i].kind);
	printf("findings: %ld (%ld known, %ld new)\n", st->count[DF_MISMATCH] + st->count[DF_INTERNAL] +
	       st->count[DF_KERNEL] + st->count[DF_CRASH] + st->count[DF_TIMEOUT], st->known_hit, st->unexpected);
}

/* ---- the campaign ---- */

/* The last reducing stage of g whose innermost reduce axis has an extent
 * of 2 or more, or NULL. */
static const te_stage *df_reducing_stage(const te_graph *g)
{
	const te_stage *found = NULL;

	for (int i = 0; i < te_graph_nstages(g); i++) {
		const te_stage *x = te_graph_stage(g, i);

		if (x->kind == TE_STAGE_COMPUTE && x->reduce != TE_RED_NONE &&
		    x->axes[x->rank + x->nreduce - 1].extent >= 2)
			found = x;
	}
	return found;
}

/*
 * Every DF_RFACTOR_EVERY-th case also factors a reduction (issue 16 item
 * 2): its innermost reduce axis split by 2..5 (a partial tile where the
 * factor does not divide it) and rfactor of the inner or the outer part,
 * then a random schedule of the rewritten graph (S.rf and the new S).
 * The case keeps its plain schedule when the graph has no reduction or
 * the rewrite is refused.
 */
#define DF_RFACTOR_EVERY 4

static void df_rfactor(df_case *c, uint64_t seed, const sched_gen_opts *o)
{
	const te_stage *st = df_reducing_stage(c->g);
	char prefix[256], body[sizeof(c->sched)];
	sch_schedule *s, *s2 = NULL;
	te_graph *g2 = NULL;
	const char *axis;
	rt_error err;
	uint64_t r = seed;

	if (!st)
		return;
	axis = st->axes[st->rank + st->nreduce - 1].name;
	snprintf(prefix, sizeof(prefix), "split %s %s %d\nrfactor %s %s.%s\n", st->name, axis,
		 (int)df_rnd(&r, 2, 5), st->name, axis, df_rnd(&r, 0, 1) ? "i" : "o");
	rt_error_clear(&err);
	if (!(s = sch_parse(prefix, &err)))
		return;
	if (sch_rfactor_apply(c->g, s, &g2, &s2, &err) == 0 && g2) {
		random_schedule_opts(g2, rt_rand_next(&r), o, body, sizeof(body));
		size_t np = strlen(prefix), nb = strlen(body);

		if (np + nb < sizeof(c->sched)) {
			memcpy(c->sched, prefix, np);
			memcpy(c->sched + np, body, nb + 1);
		}
	}
	te_graph_free(g2);
	sch_free(s2);
	sch_free(s);
}

static void df_case_make(df_case *c, long index)
{
	uint64_t r = df_args.seed * UINT64_C(1000003) + (uint64_t)index;

	rt_rand_next(&r);
	c->example = examples[index % NEXAMPLES];
	df_shape_of(c, &r);
	/* odd cases: wider choices (any loop vectorized, more caches) */
	sched_gen_opts o = {.vectorize_any = index % 2, .caches_often = index % 2};

	c->threads = (int)df_rnd(&r, 1, 3);
	random_schedule_opts(c->g, rt_rand_next(&r), &o, c->sched, sizeof(c->sched));
	if (index % DF_RFACTOR_EVERY == DF_RFACTOR_EVERY - 1)
		df_rfactor(c, rt_rand_next(&r), &o);
}

START_TEST(campaign)
{
	df_stats *st = calloc(1, sizeof(*st));
	df_case *c = calloc(1, sizeof(*c));
	double t0 = rt_now();
	long unexpected, ok, run;

	ck_assert(st && c);
	if (df_args.known_path)
		df_load_known(st, df_args.known_path);
	if (df_args.findings_path)
		ck_assert_msg((st->findings = fopen(df_args.findings_path, "a")) != NULL, "cannot open %s",
			      df_args.findings_path);
	for (long i = 0; i < df_args.cases || df_args.cases < 0; i++) {
		df_report rep = {0};
		df_kind k;

		if (df_args.seconds > 0 && rt_now() - t0 > df_args.seconds)
			break;
		c->ctx = new_ctx();
		df_case_make(c, i);
		k = df_run_case(c, &rep);
		df_record(st, c, i, k, rep.msg);
		te_graph_free(c->g);
		isl_ctx_free(c->ctx);
		fflush(stdout);
	}
	df_summary(st, rt_now() - t0);
	if (st->findings)
		fclose(st->findings);
	unexpected = st->unexpected;
	ok = st->count[DF_OK];
	run = st->run;
	free(c);
	free(st);
	ck_assert_msg(unexpected == 0, "%ld new findings (wrong results, internal errors, crashes, hangs)", unexpected);
	ck_assert_msg(ok > 0 && ok * 100.0 >= df_args.min_ok * run, "only %ld of %ld cases compiled and ran (--min-ok %g%%): "
		      "lowering refuses legal schedules", ok, run, df_args.min_ok);
}
END_TEST

static int df_usage(void)
{
	fprintf(stderr, "usage: difffuzz [--cases N] [--seconds T] [--seed S] [--known FILE] "
			"[--findings FILE] [--timeout T] [--min-ok PCT]\n");
	return 2;
}

/* Parse argv into df_args; 0 or -1. */
static int df_parse_args(int argc, char **argv)
{
	df_args = (df_opts){.cases = -1, .seconds = 0, .seed = 1, .timeout = 120, .min_ok = 50};
	if (argc % 2 == 0)
		return -1; /* every option takes one value */
	for (int i = 1; i < argc; i += 2) {
		const char *a = argv[i], *v = argv[i + 1];
		char *end = NULL;

		if (!strcmp(a, "--known") || !strcmp(a, "--findings")) {
			*(a[2] == 'k' ? &df_args.known_path : &df_args.findings_path) = v;
			continue;
		}
		if (!strcmp(a, "--cases"))
			df_args.cases = strtol(v, &end, 10);
		else if (!strcmp(a, "--seconds"))
			df_args.seconds = strtod(v, &end);
		else if (!strcmp(a, "--seed"))
			df_args.seed = strtoull(v, &end, 10);
		else if (!strcmp(a, "--timeout"))
			df_args.timeout = strtod(v, &end);
		else if (!strcmp(a, "--min-ok"))
			df_args.min_ok = strtod(v, &end);
		else
			return -1;
		if (!end || *end || end == v) {
			fprintf(stderr, "difffuzz: %s: not a number: %s\n", a, v);
			return -1;
		}
	}
	if (df_args.cases < 0 && df_args.seconds <= 0)
		df_args.cases = 64;
	return 0;
}

int main(int argc, char **argv)
{
	Suite *s;
	TCase *tc;
	SRunner *sr;
	int failed;

	if (df_parse_args(argc, argv))
		return df_usage();
	s = suite_create("difffuzz");
	tc = tcase_create("difffuzz");
	tcase_add_test(tc, campaign);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
