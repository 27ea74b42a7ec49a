/*
 * Tests of ir/sched: the text form (round trips, errors with line:column),
 * resolving a stage's loops (tables of schedules and the loops they give,
 * errors), and a property test of the axis algebra.
 */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- helpers ---- */

/* Same step, positions ignored. */
static bool step_eq(const sch_step *a, const sch_step *b)
{
	if (a->kind != b->kind || strcmp(a->stage, b->stage) || strcmp(a->target, b->target) ||
	    a->nargs != b->nargs || a->factor != b->factor || a->nparts != b->nparts ||
	    a->tag != b->tag || a->scope != b->scope || a->nperm != b->nperm || a->nblock != b->nblock)
		return false;
	for (int j = 0; j < a->nblock; j++)
		if (a->block_dim[j] != b->block_dim[j] || a->block_factor[j] != b->block_factor[j])
			return false;
	for (int i = 0; i < a->nargs; i++)
		if (strcmp(a->args[i], b->args[i]))
			return false;
	for (int i = 0; i < a->nperm; i++)
		if (a->perm[i] != b->perm[i])
			return false;
	return true;
}

static sch_schedule *parse_ok(const char *text)
{
	rt_error err;
	sch_schedule *s;

	rt_error_clear(&err);
	s = sch_parse(text, &err);
	ck_assert_msg(s, "parse of '%s' failed: %d:%d: %s", text, err.line, err.col, err.msg);
	ck_assert(!err.set);
	return s;
}

/* Base loops from "i=64 j=64 k=64". */
typedef struct base {
	int n;
	char name[SCH_MAX_LOOPS][SCH_MAX_NAME];
	const char *names[SCH_MAX_LOOPS];
	int64_t ext[SCH_MAX_LOOPS];
} base;

static void base_of(base *b, const char *spec)
{
	int used;

	b->n = 0;
	while (b->n < SCH_MAX_LOOPS &&
	       sscanf(spec, " %127[^= ]=%" SCNd64 "%n", b->name[b->n], &b->ext[b->n], &used) == 2) {
		b->names[b->n] = b->name[b->n];
		b->n++;
		spec += used;
	}
}

/* Parse `text` and resolve stage `stage` on base loops `spec`. */
static int resolve(const char *text, const char *stage, const char *spec, sch_loops *l,
		   rt_error *err)
{
	sch_schedule *s = parse_ok(text);
	base b;
	int rc;

	base_of(&b, spec);
	rt_error_clear(err);
	rc = sch_stage_loops(s, stage, b.n, b.names, b.ext, l, err);
	sch_free(s);
	return rc;
}

/* "i.o+j.o[64,parallel] k[64] ..." */
static void show_loops(const sch_loops *l, char *buf, size_t n)
{
	size_t o = 0;

	buf[0] = '\0';
	for (int i = 0; i < l->nloops && o < n; i++) {
		const sch_ax *ax = &l->ax[l->loop[i]];

		o += (size_t)snprintf(buf + o, n - o, "%s%s[%" PRId64, i ? " " : "", ax->name,
				      ax->extent);
		if (o < n && l->kind[i] != SCH_LOOP_SERIAL)
			o +=
			    (size_t)snprintf(buf + o, n - o, ",%s", sch_loop_kind_name(l->kind[i]));
		if (o < n)
			o += (size_t)snprintf(buf + o, n - o, "]");
	}
}

/* The derived axes: "i.o=i/8 i.i=i%8 i.o+j.o=i.o*8+j.o" */
static void show_axes(const sch_loops *l, char *buf, size_t n)
{
	size_t o = 0;

	buf[0] = '\0';
	for (int i = 0; i < l->nax && o < n; i++) {
		const sch_ax *x = &l->ax[i];
		const char *sep = o ? " " : "";

		if (x->kind == SCH_AX_OUTER)
			o += (size_t)snprintf(buf + o, n - o, "%s%s=%s/%" PRId64, sep, x->name,
					      l->ax[x->a].name, x->factor);
		else if (x->kind == SCH_AX_INNER)
			o += (size_t)snprintf(buf + o, n - o, "%s%s=%s%%%" PRId64, sep, x->name,
					      l->ax[x->a].name, x->factor);
		else if (x->kind == SCH_AX_FUSED)
			o += (size_t)snprintf(buf + o, n - o, "%s%s=%s*%" PRId64 "+%s", sep,
					      x->name, l->ax[x->a].name, l->ax[x->b].extent,
					      l->ax[x->b].name);
	}
}

/* ---- round trips ---- */

static const struct {
	const char *text, *canonical;
} round_trips[] = {
	{"split C i 32", "split C i 32\n"},
	{"  split   C\ti  32   # tile i\n", "split C i 32\n"},
	{"split C j parts=4\n", "split C j parts=4\n"},
	{"split C j 032\n", "split C j 32\n"},
	{"split C i 9223372036854775807\n", "split C i 9223372036854775807\n"},
	{"split A.shared d0 4\n", "split A.shared d0 4\n"},
	{"reorder C i.o j.o k\n", "reorder C i.o j.o k\n"},
	{"reorder C a b\n", "reorder C a b\n"},
	{"fuse C i.o j.o\n", "fuse C i.o j.o\n"},
	{"parallel C i.o+j.o\n", "parallel C i.o+j.o\n"},
	{"vectorize C j.i\n", "vectorize C j.i\n"},
	{"unroll C k.i\n", "unroll C k.i\n"},
	{"rfactor C  k.o # partial sums\n", "rfactor C k.o\n"},
	{"bind C i.o blockIdx.x\n", "bind C i.o blockIdx.x\n"},
	{"bind C i.o blockIdx.y\nbind C i.o blockIdx.z\n",
	 "bind C i.o blockIdx.y\nbind C i.o blockIdx.z\n"},
	{"bind C a threadIdx.x\nbind C b threadIdx.y\nbind C c threadIdx.z\nbind C d vthread\n",
	 "bind C a threadIdx.x\nbind C b threadIdx.y\nbind C c threadIdx.z\nbind C d vthread\n"},
	{"compute_at P C j.o\n", "compute_at P C j.o\n"},
	{"compute_inline P\n", "compute_inline P\n"},
	{"cache_read A C k.o shared\n", "cache_read A C k.o shared\n"},
	{"cache_read A C k.o shared perm=1,0\n", "cache_read A C k.o shared perm=1,0\n"},
	{"cache_read A C k.o local perm=0\n", "cache_read A C k.o local perm=0\n"},
	{"cache_read B C k stack perm=7,6,5,4,3,2,1,0\n",
	 "cache_read B C k stack perm=7,6,5,4,3,2,1,0\n"},
	{"cache_read B C k stack perm=9,8,7,6,5,4,3,2,1,0\n",
	 "cache_read B C k stack perm=9,8,7,6,5,4,3,2,1,0\n"},
	{"cache_read B C k stack  block=1:16\n", "cache_read B C k stack block=1:16\n"},
	{"cache_read B C k stack block=1:16 perm=1,0,2\n", "cache_read B C k stack block=1:16 perm=1,0,2\n"},
	{"cache_read F O c local block=0:16 block=1:16 perm=0,1,4,5,2,3\n",
	 "cache_read F O c local block=0:16 block=1:16 perm=0,1,4,5,2,3\n"},
	{"cache_read F O c shared block=7:2 block=0:1024\n", "cache_read F O c shared block=7:2 block=0:1024\n"},
	{"cache_write C j.o local\n", "cache_write C j.o local\n"},
	{"cache_write C j.o stack\n", "cache_write C j.o stack\n"},
	{"", ""},
	{"# nothing but comments\n\n   \t\n#\n", ""},
	{"split C i 4#x\n", "split C i 4\n"},
	{"split C i 2\r\nsplit C j 2\r\n", "split C i 2\nsplit C j 2\n"},
	{"# GEMM\nsplit C i 8\n\nsplit C j 8 # j\nreorder C i.o j.o k i.i j.i\n"
	 "fuse C i.o j.o\nparallel C i.o+j.o\nvectorize C j.i",
	 "split C i 8\nsplit C j 8\nreorder C i.o j.o k i.i j.i\n"
	 "fuse C i.o j.o\nparallel C i.o+j.o\nvectorize C j.i\n"},
	{"split 0_9.+aZ i 1\n", "split 0_9.+aZ i 1\n"},
};

START_TEST(round_trip)
{
	sch_schedule *s = parse_ok(round_trips[_i].text), *t;
	char *text = sch_print(s), *again;

	ck_assert_ptr_nonnull(text);
	ck_assert_str_eq(text, round_trips[_i].canonical);
	t = parse_ok(text);
	again = sch_print(t);
	ck_assert_str_eq(again, text);
	ck_assert_int_eq(s->nsteps, t->nsteps);
	for (int i = 0; i < s->nsteps; i++)
		ck_assert_msg(step_eq(&s->steps[i], &t->steps[i]), "step %d differs", i);
	free(text);
	free(again);
	sch_free(s);
	sch_free(t);
}
END_TEST

/* Parsed fields and their positions. */
START_TEST(parse_fields)
{
	sch_schedule *s = parse_ok("\n  split C\ti parts=4\ncache_read A C k.o shared perm=1,0\n"
				   "bind C x threadIdx.y\nreorder C a b c\n");
	const sch_step *sp = &s->steps[0], *cr = &s->steps[1], *b = &s->steps[2], *r = &s->steps[3];

	ck_assert_int_eq(s->nsteps, 4);
	ck_assert_int_eq(sp->kind, SCH_SPLIT);
	ck_assert_str_eq(sp->stage, "C");
	ck_assert_int_eq(sp->nargs, 1);
	ck_assert_str_eq(sp->args[0], "i");
	ck_assert_int_eq(sp->factor, 0);
	ck_assert_int_eq(sp->nparts, 4);
	ck_assert_int_eq(sp->line, 2);
	ck_assert_int_eq(sp->col, 3);
	ck_assert_int_eq(sp->stage_col, 9);
	ck_assert_int_eq(sp->arg_col[0], 11);
	ck_assert_int_eq(sp->opt_col, 13);
	ck_assert_int_eq(cr->kind, SCH_CACHE_READ);
	ck_assert_str_eq(cr->stage, "A");
	ck_assert_str_eq(cr->target, "C");
	ck_assert_str_eq(cr->args[0], "k.o");
	ck_assert_int_eq(cr->scope, SCH_SCOPE_SHARED);
	ck_assert_int_eq(cr->nperm, 2);
	ck_assert_int_eq(cr->perm[0], 1);
	ck_assert_int_eq(cr->perm[1], 0);
	ck_assert_int_eq(cr->target_col, 14);
	ck_assert_int_eq(cr->arg_col[0], 16);
	ck_assert_int_eq(cr->opt_col, 20);
	ck_assert_int_eq(cr->nblock, 0);
	ck_assert_int_eq(b->tag, SCH_LOOP_THREAD_Y);
	ck_assert_int_eq(b->line, 4);
	ck_assert_int_eq(r->nargs, 3);
	ck_assert_str_eq(r->args[2], "c");
	ck_assert_int_eq(r->arg_col[2], 15);
	sch_free(s);
}
END_TEST

/* block=D:F fields, in the order written, with their columns. */
START_TEST(parse_blocks)
{
	sch_schedule *s = parse_ok("cache_read F O c local block=1:16 block=0:8 perm=1,0,3,2\n");
	const sch_step *cr = &s->steps[0];

	ck_assert_int_eq(cr->nblock, 2);
	ck_assert_int_eq(cr->block_dim[0], 1);
	ck_assert_int_eq(cr->block_factor[0], 16);
	ck_assert_int_eq(cr->block_col[0], 24);
	ck_assert_int_eq(cr->block_dim[1], 0);
	ck_assert_int_eq(cr->block_factor[1], 8);
	ck_assert_int_eq(cr->block_col[1], 35);
	ck_assert_int_eq(cr->nperm, 4);
	ck_assert_int_eq(cr->perm[2], 3);
	sch_free(s);
}
END_TEST

/* Every step kind has a text form: a built step prints and parses back. */
START_TEST(every_kind_round_trips)
{
	for (int k = 0; k < SCH_KIND_COUNT; k++) {
		sch_schedule *s = sch_new(), *t;
		sch_step st;
		char *text;

		memset(&st, 0, sizeof(st));
		st.kind = (sch_kind)k;
		strcpy(st.stage, "S");
		if (k == SCH_COMPUTE_AT || k == SCH_CACHE_READ)
			strcpy(st.target, "T");
		st.nargs = k == SCH_COMPUTE_INLINE || k == SCH_PARTITION ? 0
			   : k == SCH_REORDER || k == SCH_FUSE ? 2 : 1;
		for (int i = 0; i < st.nargs; i++)
			snprintf(st.args[i], SCH_MAX_NAME, "l%d", i);
		if (k == SCH_SPLIT || k == SCH_PARTITION)
			st.factor = 3;
		if (k == SCH_BIND)
			st.tag = SCH_LOOP_VTHREAD;
		if (k == SCH_CACHE_READ || k == SCH_CACHE_WRITE)
			st.scope = SCH_SCOPE_STACK;
		ck_assert_int_eq(sch_append(s, &st), 0);
		text = sch_print(s);
		ck_assert_ptr_eq(strstr(text, sch_kind_tag((sch_kind)k)), text);
		t = parse_ok(text);
		ck_assert_int_eq(t->nsteps, 1);
		ck_assert_msg(step_eq(&st, &t->steps[0]), "%s", text);
		free(text);
		sch_free(s);
		sch_free(t);
	}
}
END_TEST

/* Generated text at the limits: 32 loops in a reorder, 127-character names. */
START_TEST(limits)
{
	char text[8192], name[SCH_MAX_NAME + 1], *out;
	size_t o = (size_t)snprintf(text, sizeof(text), "reorder C");
	sch_schedule *s;
	rt_error err;

	for (int i = 0; i < SCH_MAX_ARGS; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, " l%d", i);
	snprintf(text + o, sizeof(text) - o, "\n");
	s = parse_ok(text);
	ck_assert_int_eq(s->steps[0].nargs, SCH_MAX_ARGS);
	out = sch_print(s);
	ck_assert_str_eq(out, text);
	free(out);
	sch_free(s);

	snprintf(text + o, sizeof(text) - o, " l32\n");
	rt_error_clear(&err);
	ck_assert_ptr_null(sch_parse(text, &err));
	ck_assert_str_eq(err.msg, "reorder takes at most 32 loops");
	ck_assert_int_eq(err.col, (int)o + 2);

	memset(name, 'n', SCH_MAX_NAME - 1);
	name[SCH_MAX_NAME - 1] = '\0';
	snprintf(text, sizeof(text), "split %s %s 2\n", name, name);
	s = parse_ok(text);
	out = sch_print(s);
	ck_assert_str_eq(out, text);
	free(out);
	sch_free(s);

	strcat(name, "n");
	snprintf(text, sizeof(text), "split C %s 2\n", name);
	rt_error_clear(&err);
	ck_assert_ptr_null(sch_parse(text, &err));
	ck_assert_ptr_nonnull(strstr(err.msg, "is too long (at most 127 characters)"));
	ck_assert_int_eq(err.line, 1);
	ck_assert_int_eq(err.col, 9);
}
END_TEST

/* ---- bad text ---- */

static const struct {
	const char *text, *msg;
	int line, col;
} bad_texts[] = {
	{"splt C i 4",
	 "unknown step 'splt' (expected split, reorder, fuse, parallel, vectorize, "
	 "unroll, bind, compute_at, compute_inline, cache_read, cache_write, pipeline, partition "
	 "or rfactor)",
	 1, 1},
	{"Split C i 4", "unknown step 'Split'", 1, 1},
	{"rfactor C", "rfactor needs STAGE LOOP", 1, 11},
	{"rfactor C k.o k.i", "extra argument 'k.i': rfactor needs STAGE LOOP", 1, 15},
	{"split C i", "split needs STAGE LOOP FACTOR", 1, 11},
	{"split C", "split needs STAGE LOOP FACTOR", 1, 9},
	{"split", "split needs STAGE LOOP FACTOR", 1, 7},
	{"split C i 0", "bad factor '0': must be a positive integer", 1, 11},
	{"split C i 00", "bad factor '00': must be a positive integer", 1, 11},
	{"split C i -3", "bad factor '-3': must be a positive integer", 1, 11},
	{"split C i +3", "bad factor '+3': must be a positive integer", 1, 11},
	{"split C i 4x", "bad factor '4x'", 1, 11},
	{"split C i 9223372036854775808", "bad factor '9223372036854775808': too large", 1, 11},
	{"split C i 99999999999999999999999", "too large", 1, 11},
	{"split C i parts=0", "bad parts 'parts=0': must be a positive integer", 1, 11},
	{"split C i parts=", "bad parts 'parts='", 1, 11},
	{"split C i parts=x", "bad parts 'parts=x'", 1, 11},
	{"split C i parts=99999999999999999999", "too large", 1, 11},
	{"split C i part=2", "bad factor 'part=2'", 1, 11},
	{"split C i 4 5", "extra argument '5': split needs STAGE LOOP FACTOR", 1, 13},
	{"split C i-j 4", "bad name 'i-j': only letters, digits, '_', '.' and '+' are allowed", 1, 9},
	{"split C\x01 i 4", "bad name 'C\\x01'", 1, 7},
	{"split C \xc3\xa9 4", "bad name '\\xc3\\xa9'", 1, 9},
	{"split C i=1 4", "bad name 'i=1'", 1, 9},
	{"\tsplit\tC\ti\t0", "bad factor '0'", 1, 12},
	{"split C i 4\n\n# c\n  fuse C i.o\n", "fuse needs STAGE OUTER INNER", 4, 14},
	{"fuse C i j k", "extra argument 'k': fuse needs STAGE OUTER INNER", 1, 12},
	{"reorder C i", "reorder needs STAGE LOOP LOOP... (2 to 32 loops)", 1, 13},
	{"reorder C", "reorder needs", 1, 11},
	{"reorder C i j%", "bad name 'j%'", 1, 13},
	{"parallel C", "parallel needs STAGE LOOP", 1, 12},
	{"vectorize C i j", "extra argument 'j': vectorize needs STAGE LOOP", 1, 15},
	{"unroll", "unroll needs STAGE LOOP", 1, 8},
	{"bind C i blockIdx.w",
	 "unknown bind target 'blockIdx.w' (expected blockIdx.x|y|z, "
	 "threadIdx.x|y|z or vthread)",
	 1, 10},
	{"bind C i parallel", "unknown bind target 'parallel'", 1, 10},
	{"bind C i", "bind needs STAGE LOOP TARGET", 1, 10},
	{"compute_at P C", "compute_at needs STAGE CONSUMER LOOP", 1, 16},
	{"compute_at P C j.o x", "extra argument 'x'", 1, 20},
	{"compute_inline", "compute_inline needs STAGE", 1, 16},
	{"compute_inline P Q", "extra argument 'Q': compute_inline needs STAGE", 1, 18},
	{"cache_read A C k", "cache_read needs TENSOR CONSUMER LOOP SCOPE", 1, 18},
	{"cache_read A C k global", "unknown scope 'global' (expected local, shared or stack)", 1, 18},
	{"cache_read A C k shared perm=1,1", "bad perm 'perm=1,1': not a permutation of 0..1", 1, 25},
	{"cache_read A C k shared perm=0,2", "not a permutation of 0..1", 1, 25},
	{"cache_read A C k shared perm=1", "not a permutation of 0..0", 1, 25},
	{"cache_read A C k shared perm=", "bad perm 'perm='", 1, 25},
	{"cache_read A C k shared perm=1,0,", "bad perm 'perm=1,0,'", 1, 25},
	{"cache_read A C k shared perm=,1", "bad perm", 1, 25},
	{"cache_read A C k shared perm=1;0", "bad perm", 1, 25},
	{"cache_read A C k shared perm=10", "bad perm 'perm=10'", 1, 25},
	{"cache_read A C k shared perm=0,1,2,3,4,5,6,7,8,9,0", "expected up to 10 comma-separated", 1, 25},
	{"cache_read A C k shared 1,0", "expected block=D:F or perm=P0,P1,... not '1,0'", 1, 25},
	{"cache_read A C k shared perm=1,0 x", "extra argument 'x'", 1, 34},
	{"cache_read A C k shared block=1:1", "bad block 'block=1:1': the factor must be from 2 to 1024", 1, 25},
	{"cache_read A C k shared block=1:0", "the factor must be from 2 to 1024", 1, 25},
	{"cache_read A C k shared block=1:1025", "the factor must be from 2 to 1024", 1, 25},
	{"cache_read A C k shared block=1:99999999999999999999999", "the factor must be from 2", 1, 25},
	{"cache_read A C k shared block=1:x", "bad block 'block=1:x': expected block=D:F", 1, 25},
	{"cache_read A C k shared block=1:", "bad block 'block=1:'", 1, 25},
	{"cache_read A C k shared block=:4", "bad block", 1, 25},
	{"cache_read A C k shared block=1", "bad block", 1, 25},
	{"cache_read A C k shared block=100:4", "bad block", 1, 25},
	{"cache_read A C k shared block=1:4:2", "bad block", 1, 25},
	{"cache_read A C k shared block=1:4 block=1:8", "dimension 1 is blocked twice", 1, 35},
	{"cache_read A C k shared block=0:4 block=1:4 block=2:4", "at most 2 block= on one cache_read", 1, 45},
	{"cache_read A C k shared block=0:4 x", "expected block=D:F or perm=P0,P1,... not 'x'", 1, 35},
	{"cache_read A C k shared perm=1,0 block=0:4", "extra argument 'block=0:4'", 1, 34},
	{"cache_write C j.o", "cache_write needs STAGE LOOP SCOPE", 1, 19},
	{"cache_write C j.o Shared", "unknown scope 'Shared'", 1, 19},
	{"split C i 4\nsplit C j 4\nsplit C k four\n", "bad factor 'four'", 3, 11},
	{"split C i 2 # fine\nsplit C \xff 2", "bad name '\\xff'", 2, 9},
	{"split C iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii-",
	 "bad name "
	 "'iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii...'",
	 1, 9},
};

START_TEST(bad_text)
{
	rt_error err;

	rt_error_clear(&err);
	ck_assert_ptr_null(sch_parse(bad_texts[_i].text, &err));
	ck_assert(err.set);
	ck_assert_msg(strstr(err.msg, bad_texts[_i].msg), "'%s': got '%s'", bad_texts[_i].text,
		      err.msg);
	ck_assert_msg(err.line == bad_texts[_i].line && err.col == bad_texts[_i].col,
		      "'%s': expected %d:%d, got %d:%d (%s)", bad_texts[_i].text,
		      bad_texts[_i].line, bad_texts[_i].col, err.line, err.col, err.msg);
}
END_TEST

/* ---- resolving ---- */

static const char *const gemm_text = "split C i 8\n"
				     "split C j 8\n"
				     "reorder C i.o j.o k i.i j.i\n"
				     "fuse C i.o j.o\n"
				     "parallel C i.o+j.o\n"
				     "vectorize C j.i\n";

static const struct {
	const char *text, *stage, *base, *loops, *axes;
} resolves[] = {
	{gemm_text, "C", "i=64 j=64 k=64", "i.o+j.o[64,parallel] k[64] i.i[8] j.i[8,vectorize]",
	 "i.o=i/8 i.i=i%8 j.o=j/8 j.i=j%8 i.o+j.o=i.o*8+j.o"},
	{"", "C", "i=64 j=32 k=16", "i[64] j[32] k[16]", ""},
	{"", "S", "", "", ""},
	{"split C i 4", "C", "i=10", "i.o[3] i.i[4]", "i.o=i/4 i.i=i%4"},
	{"split C i parts=3", "C", "i=10", "i.o[3] i.i[4]", "i.o=i/4 i.i=i%4"},
	{"split C i parts=4", "C", "i=64", "i.o[4] i.i[16]", "i.o=i/16 i.i=i%16"},
	{"split C i 16", "C", "i=10", "i.o[1] i.i[16]", "i.o=i/16 i.i=i%16"},
	{"split C i parts=4", "C", "i=3", "i.o[3] i.i[1]", "i.o=i/1 i.i=i%1"},
	{"split C i 1", "C", "i=5", "i.o[5] i.i[1]", "i.o=i/1 i.i=i%1"},
	{"split C i 16\nsplit C i.i 4", "C", "i=64 j=2", "i.o[4] i.i.o[4] i.i.i[4] j[2]",
	 "i.o=i/16 i.i=i%16 i.i.o=i.i/4 i.i.i=i.i%4"},
	{"split C i 16\nsplit C i.o 2", "C", "i=100", "i.o.o[4] i.o.i[2] i.i[16]",
	 "i.o=i/16 i.i=i%16 i.o.o=i.o/2 i.o.i=i.o%2"},
	{"reorder C k i", "C", "i=2 j=3 k=4", "k[4] j[3] i[2]", ""},
	{"reorder C k j i", "C", "i=2 j=3 k=4", "k[4] j[3] i[2]", ""},
	{"reorder C i j", "C", "i=2 j=3 k=4", "i[2] j[3] k[4]", ""},
	{"reorder C j i\nreorder C i j", "C", "i=2 j=3 k=4", "i[2] j[3] k[4]", ""},
	{"reorder C l j", "C", "i=2 j=3 k=4 l=5", "i[2] l[5] k[4] j[3]", ""},
	{"fuse C i j", "C", "i=2 j=3 k=4", "i+j[6] k[4]", "i+j=i*3+j"},
	{"fuse C i j\nfuse C i+j k", "C", "i=2 j=3 k=4", "i+j+k[24]", "i+j=i*3+j i+j+k=i+j*4+k"},
	{"fuse C j k\nfuse C i j+k", "C", "i=2 j=3 k=4", "i+j+k[24]", "j+k=j*4+k i+j+k=i*12+j+k"},
	{"fuse C i j\nsplit C i+j 4", "C", "i=2 j=3", "i+j.o[2] i+j.i[4]",
	 "i+j=i*3+j i+j.o=i+j/4 i+j.i=i+j%4"},
	{"split C i 8\nbind C i.o blockIdx.x\nbind C i.i threadIdx.x\nunroll C j", "C", "i=64 j=4",
	 "i.o[8,blockIdx.x] i.i[8,threadIdx.x] j[4,unroll]", "i.o=i/8 i.i=i%8"},
	{"bind C i blockIdx.z\nbind C j threadIdx.z\nbind C k vthread", "C", "i=1 j=2 k=3",
	 "i[1,blockIdx.z] j[2,threadIdx.z] k[3,vthread]", ""},
	{"parallel C i\nreorder C j i", "C", "i=2 j=3", "j[3] i[2,parallel]", ""},
	{"split D i 4\nparallel D j\nparallel C j", "C", "i=8 j=8", "i[8] j[8,parallel]", ""},
	{"split C i 4\nsplit D i 2", "D", "i=8", "i.o[4] i.i[2]", "i.o=i/2 i.i=i%2"},
	{"cache_write C j local\ncache_read A C k shared\nsplit C i 2", "C", "i=4 j=4 k=4",
	 "i.o[2] i.i[2] j[4] k[4]", "i.o=i/2 i.i=i%2"},
	/* rfactor rewrites the graph before lowering resolves loops: skipped */
	{"split C k 2\nrfactor C k.o\nsplit C i 2", "C", "i=4 k=4", "i.o[2] i.i[2] k.o[2] k.i[2]",
	 "k.o=k/2 k.i=k%2 i.o=i/2 i.i=i%2"},
	{"cache_read A C k shared\nsplit A.shared d1 4\nreorder A.shared d1.i d0", "A.shared",
	 "d0=8 d1=16", "d1.i[4] d1.o[4] d0[8]", "d1.o=d1/4 d1.i=d1%4"},
	{"split C i 8\nsplit C j 8\nsplit C k 4\nreorder C i.o j.o k.o i.i k.i j.i\n"
	 "fuse C i.o j.o\nparallel C i.o+j.o\nunroll C k.i\nvectorize C j.i",
	 "C", "i=100 j=60 k=30", "i.o+j.o[104,parallel] k.o[8] i.i[8] k.i[4,unroll] j.i[8,vectorize]",
	 "i.o=i/8 i.i=i%8 j.o=j/8 j.i=j%8 k.o=k/4 k.i=k%4 i.o+j.o=i.o*8+j.o"},
};

START_TEST(resolve_table)
{
	sch_loops l;
	rt_error err;
	char got[1024];

	ck_assert_msg(resolve(resolves[_i].text, resolves[_i].stage, resolves[_i].base, &l, &err) ==
			  0,
		      "'%s': %d:%d: %s", resolves[_i].text, err.line, err.col, err.msg);
	show_loops(&l, got, sizeof(got));
	ck_assert_str_eq(got, resolves[_i].loops);
	show_axes(&l, got, sizeof(got));
	ck_assert_str_eq(got, resolves[_i].axes);
	ck_assert_int_eq(l.attach, SCH_ATTACH_ROOT);
	for (int i = 0; i < l.nloops; i++)
		ck_assert_int_eq(sch_loops_find(&l, l.ax[l.loop[i]].name), i);
}
END_TEST

/* The GEMM schedule in detail: relations, annotation lines, find. */
START_TEST(resolve_gemm_detail)
{
	sch_loops l;
	rt_error err;
	int io, jo, f;

	ck_assert_int_eq(resolve(gemm_text, "C", "i=64 j=64 k=64", &l, &err), 0);
	ck_assert_int_eq(l.nax, 8);
	ck_assert_int_eq(l.nloops, 4);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(l.ax[i].kind, SCH_AX_BASE);
		ck_assert_int_eq(l.ax[i].base, i);
	}
	io = 3;
	jo = 5;
	f = l.loop[0];
	ck_assert_int_eq(l.ax[io].kind, SCH_AX_OUTER);
	ck_assert_int_eq(l.ax[io].a, 0);
	ck_assert_int_eq(l.ax[io].factor, 8);
	ck_assert_int_eq(l.ax[io + 1].kind, SCH_AX_INNER);
	ck_assert_int_eq(l.ax[io + 1].a, 0);
	ck_assert_int_eq(l.ax[f].kind, SCH_AX_FUSED);
	ck_assert_int_eq(l.ax[f].a, io);
	ck_assert_int_eq(l.ax[f].b, jo);
	ck_assert_int_eq(l.ax[f].extent, 64);
	ck_assert_int_eq(l.loop[1], 2);
	ck_assert_int_eq(l.line[0], 5);
	ck_assert_int_eq(l.line[1], 0);
	ck_assert_int_eq(l.line[3], 6);
	ck_assert_int_eq(l.kind[3], SCH_LOOP_VECTORIZE);
	ck_assert_int_eq(sch_loops_find(&l, "j.i"), 3);
	ck_assert_int_eq(sch_loops_find(&l, "i.o"), -1);
	ck_assert_int_eq(sch_loops_find(&l, "i"), -1);
	ck_assert_int_eq(sch_loops_find(&l, "nope"), -1);
	ck_assert_int_eq(sch_loops_find(NULL, "k"), -1);
	ck_assert_int_eq(sch_loops_find(&l, NULL), -1);
}
END_TEST

START_TEST(resolve_attach)
{
	sch_loops l;
	rt_error err;

	ck_assert_int_eq(
	    resolve("split C j 4\ncompute_at P C j.o\nsplit P i 2", "P", "i=8", &l, &err), 0);
	ck_assert_int_eq(l.attach, SCH_ATTACH_AT);
	ck_assert_str_eq(l.at_stage, "C");
	ck_assert_str_eq(l.at_loop, "j.o");
	ck_assert_int_eq(l.attach_line, 2);
	ck_assert_int_eq(l.nloops, 2);
	ck_assert_int_eq(resolve("compute_inline P\n", "P", "i=8", &l, &err), 0);
	ck_assert_int_eq(l.attach, SCH_ATTACH_INLINE);
	ck_assert_int_eq(l.attach_line, 1);
	ck_assert_str_eq(l.at_stage, "");
	ck_assert_int_eq(resolve("compute_at P C j.o\n", "C", "j=8", &l, &err), 0);
	ck_assert_int_eq(l.attach, SCH_ATTACH_ROOT);
}
END_TEST

static const struct {
	const char *text, *stage, *base, *msg;
	int line, col;
} resolve_errors[] = {
	{"split C i 8\nparallel C i", "C", "i=64 j=64",
	 "C has no loop 'i' (split into i.o and i.i at line 1)", 2, 12},
	{"split C i 8\nsplit C i.o 2\nfuse C i.o i.i", "C", "i=64",
	 "C has no loop 'i.o' (split into i.o.o and i.o.i at line 2)", 3, 8},
	{"fuse C i j\nsplit C j 2", "C", "i=4 j=4", "C has no loop 'j' (fused into i+j at line 1)", 2,
	 9},
	{"parallel C q", "C", "i=1 j=2 k=3", "C has no loop 'q' (its loops: i, j, k)", 1, 12},
	{"parallel S q", "S", "", "S has no loop 'q' (its loops: none)", 1, 12},
	{"reorder C i j.o", "C", "i=1 j=2", "C has no loop 'j.o'", 1, 13},
	{"fuse C i k", "C", "i=2 j=2 k=2", "cannot fuse C's loops 'i' and 'k': they are not adjacent",
	 1, 10},
	{"fuse C j i", "C", "i=2 j=2 k=2",
	 "cannot fuse C's loops 'j' and 'i': the outer loop must come first", 1, 10},
	{"fuse C i i", "C", "i=2 j=2", "a loop cannot be fused with itself", 1, 10},
	{"fuse C i x", "C", "i=2 j=2", "C has no loop 'x'", 1, 10},
	{"parallel C i\nvectorize C i", "C", "i=2",
	 "cannot vectorize C's loop 'i': it is already annotated parallel at line 1", 2, 13},
	{"bind C i blockIdx.x\nbind C i threadIdx.x", "C", "i=2",
	 "cannot bind C's loop 'i': it is already annotated blockIdx.x at line 1", 2, 8},
	{"parallel C i\nsplit C i 4", "C", "i=8",
	 "cannot split C's loop 'i': it is already annotated parallel at line 1", 2, 9},
	{"unroll C j\nfuse C i j", "C", "i=8 j=2",
	 "cannot fuse C's loop 'j': it is already annotated unroll at line 1", 2, 10},
	{"compute_at C D x\ncompute_at C D y", "C", "i=2",
	 "C is already placed by compute_at at line 1", 2, 12},
	{"compute_at C D x\ncompute_inline C", "C", "i=2",
	 "C is already placed by compute_at at line 1", 2, 16},
	{"compute_inline C\n\ncompute_at C D y", "C", "i=2",
	 "C is already placed by compute_inline at line 1", 3, 12},
	{"compute_at C C i", "C", "i=2", "cannot compute C at one of its own loops", 1, 14},
	{"reorder C i j i", "C", "i=2 j=2", "reorder names 'i' twice", 1, 15},
	{"split C x 2", "C", "x=4 x.o=4", "split would make loop 'x.o', which C already has", 1, 9},
	{"fuse C a b", "C", "a=2 b=2 a+b=3", "fuse would make loop 'a+b', which C already has", 1, 10},
	{"split C a 2", "C", "a=2 a=3", "C: two base loops named 'a'", 0, 0},
	{"split C a 2", "C", "a=0", "C: loop 'a' has extent 0", 0, 0},
	{"fuse C a b", "C", "a=4294967296 b=4294967296", "fused extent of 'a' and 'b' overflows", 1,
	 10},
};

START_TEST(resolve_error)
{
	sch_loops l;
	rt_error err;

	ck_assert_int_eq(resolve(resolve_errors[_i].text, resolve_errors[_i].stage,
				 resolve_errors[_i].base, &l, &err),
			 -1);
	ck_assert(err.set);
	ck_assert_msg(strstr(err.msg, resolve_errors[_i].msg), "'%s': got '%s'",
		      resolve_errors[_i].text, err.msg);
	ck_assert_msg(err.line == resolve_errors[_i].line && err.col == resolve_errors[_i].col,
		      "'%s': expected %d:%d, got %d:%d (%s)", resolve_errors[_i].text,
		      resolve_errors[_i].line, resolve_errors[_i].col, err.line, err.col, err.msg);
}
END_TEST

/* Errors at the size limits, and from steps built rather than parsed. */
START_TEST(resolve_limits)
{
	char text[16384], name[SCH_MAX_NAME + 1], spec[SCH_MAX_LOOPS * 8];
	size_t o = 0, so = 0;
	sch_schedule *s;
	sch_step st;
	sch_loops l;
	rt_error err;

	for (int i = 0; i < SCH_MAX_LOOPS; i++)
		so += (size_t)snprintf(spec + so, sizeof(spec) - so, "a%d=2 ", i);
	ck_assert_int_eq(resolve("split C a0 2", "C", spec, &l, &err), -1);
	ck_assert_str_eq(err.msg, "C has more than 32 loops");
	ck_assert_int_eq(resolve("fuse C a0 a1\nsplit C a0+a1 2", "C", spec, &l, &err), 0);
	ck_assert_int_eq(l.nloops, SCH_MAX_LOOPS);

	/* fuse+split: 3 axes per pair, no new leaves; 32 + 16 * 3 + 6 * 3 > 96 */
	for (int p = 0; p < 16; p++)
		o += (size_t)snprintf(text + o, sizeof(text) - o,
				      "fuse C a%d a%d\nsplit C a%d+a%d 2\n", 2 * p, 2 * p + 1,
				      2 * p, 2 * p + 1);
	for (int p = 0; p < 6; p++)
		o += (size_t)snprintf(text + o, sizeof(text) - o,
				      "fuse C a%d+a%d.o a%d+a%d.i\nsplit C a%d+a%d.o+a%d+a%d.i 2\n",
				      2 * p, 2 * p + 1, 2 * p, 2 * p + 1, 2 * p, 2 * p + 1, 2 * p,
				      2 * p + 1);
	ck_assert_int_eq(resolve(text, "C", spec, &l, &err), -1);
	ck_assert_str_eq(err.msg, "C has more than 96 axes");
	ck_assert_int_eq(err.line, 44);

	memset(name, 'x', SCH_MAX_NAME - 2);
	name[SCH_MAX_NAME - 2] = '\0';
	snprintf(text, sizeof(text), "split C %s 2\n", name);
	snprintf(spec, sizeof(spec), "%s=4", name);
	ck_assert_int_eq(resolve(text, "C", spec, &l, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "is too long (at most 127 characters)"));
	ck_assert_int_eq(err.col, 9);

	/* a built step: no positions */
	s = sch_new();
	memset(&st, 0, sizeof(st));
	st.kind = SCH_SPLIT;
	strcpy(st.stage, "C");
	strcpy(st.args[0], "i");
	st.nargs = 1;
	ck_assert_int_eq(sch_append(s, &st), 0);
	rt_error_clear(&err);
	{
		const char *names[1] = {"i"};
		int64_t ext[1] = {8};

		ck_assert_int_eq(sch_stage_loops(s, "C", 1, names, ext, &l, &err), -1);
		ck_assert_str_eq(err.msg, "split needs a factor or parts of at least 1");
		ck_assert_int_eq(err.line, 0);
		s->steps[0].factor = 2;
		s->steps[0].nparts = 2;
		rt_error_clear(&err);
		ck_assert_int_eq(sch_stage_loops(s, "C", 1, names, ext, &l, &err), -1);
		ck_assert_str_eq(err.msg, "split has both a factor and parts");
		s->steps[0].nparts = 0;
		rt_error_clear(&err);
		ck_assert_int_eq(sch_stage_loops(s, "C", 1, names, ext, &l, &err), 0);
		s->steps[0].kind = SCH_BIND;
		s->steps[0].tag = SCH_LOOP_PARALLEL;
		rt_error_clear(&err);
		ck_assert_int_eq(sch_stage_loops(s, "C", 1, names, ext, &l, &err), -1);
		ck_assert_str_eq(err.msg, "unknown bind target 1");
		rt_error_clear(&err);
		ck_assert_int_eq(sch_stage_loops(s, "C", -1, names, ext, &l, &err), -1);
		rt_error_clear(&err);
		ck_assert_int_eq(sch_stage_loops(s, "C", 1, NULL, ext, &l, &err), -1);
		rt_error_clear(&err);
		ck_assert_int_eq(sch_stage_loops(s, NULL, 1, names, ext, &l, &err), -1);
		ck_assert_int_eq(sch_stage_loops(s, "C", 1, names, ext, NULL, NULL), -1);
		rt_error_clear(&err);
		ck_assert_int_eq(sch_stage_loops(NULL, "C", 1, names, ext, &l, &err), 0);
		ck_assert_int_eq(l.nloops, 1);
	}
	sch_free(s);
}
END_TEST

START_TEST(names_and_data)
{
	sch_schedule *s = sch_new();
	sch_step st;
	char *text;
	rt_error err;

	ck_assert_str_eq(sch_kind_tag(SCH_SPLIT), "split");
	ck_assert_str_eq(sch_kind_tag(SCH_CACHE_WRITE), "cache_write");
	ck_assert_str_eq(sch_kind_tag(SCH_KIND_COUNT), "?");
	ck_assert_str_eq(sch_loop_kind_name(SCH_LOOP_SERIAL), "serial");
	ck_assert_str_eq(sch_loop_kind_name(SCH_LOOP_THREAD_Z), "threadIdx.z");
	ck_assert_str_eq(sch_loop_kind_name(SCH_LOOP_VTHREAD), "vthread");
	ck_assert_str_eq(sch_scope_name(SCH_SCOPE_STACK), "stack");
	ck_assert_ptr_null(sch_free(NULL));
	memset(&st, 0, sizeof(st));
	ck_assert_int_eq(sch_append(NULL, &st), -1);
	ck_assert_int_eq(sch_append(s, NULL), -1);
	st.kind = SCH_COMPUTE_INLINE;
	for (int i = 0; i < 1000; i++) {
		snprintf(st.stage, sizeof(st.stage), "P%d", i);
		ck_assert_int_eq(sch_append(s, &st), 0);
	}
	ck_assert_int_eq(s->nsteps, 1000);
	ck_assert_str_eq(s->steps[999].stage, "P999");
	text = sch_print(s);
	ck_assert_ptr_nonnull(strstr(text, "compute_inline P0\ncompute_inline P1\n"));
	ck_assert_ptr_nonnull(strstr(text, "compute_inline P999\n"));
	free(text);
	sch_free(s);
	text = sch_print(NULL);
	ck_assert_str_eq(text, "");
	free(text);
	rt_error_clear(&err);
	ck_assert_ptr_null(sch_parse(NULL, &err));
	ck_assert(err.set);
	ck_assert_ptr_null(sch_parse("splt", NULL));
}
END_TEST

/* ---- properties ---- */

static uint64_t next_rand(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *state = x;
}

static int rand_below(uint64_t *state, int n)
{
	return (int)(next_rand(state) % (uint64_t)n);
}

/* A random split, fuse or reorder of the loops of *l, appended to text. */
static void random_step(uint64_t *rs, const sch_loops *l, char *text, size_t cap)
{
	size_t o = strlen(text);
	int op = rand_below(rs, l->nloops > 1 ? 3 : 1), p = rand_below(rs, l->nloops);
	const char *x = l->ax[l->loop[p]].name;

	if (op == 0 && rand_below(rs, 2))
		snprintf(text + o, cap - o, "split C %s %d\n", x, 1 + rand_below(rs, 6));
	else if (op == 0)
		snprintf(text + o, cap - o, "split C %s parts=%d\n", x, 1 + rand_below(rs, 6));
	else if (op == 1) {
		int q =
		    rand_below(rs, 4) ? p + 1 : rand_below(rs, l->nloops); /* sometimes invalid */

		snprintf(text + o, cap - o, "fuse C %s %s\n", x,
			 q < l->nloops ? l->ax[l->loop[q]].name : "nope");
	} else {
		int perm[SCH_MAX_LOOPS], n = 2 + rand_below(rs, l->nloops > 1 ? l->nloops - 1 : 1);

		for (int i = 0; i < l->nloops; i++)
			perm[i] = i;
		for (int i = l->nloops - 1; i > 0; i--) {
			int j = rand_below(rs, i + 1), t = perm[i];

			perm[i] = perm[j];
			perm[j] = t;
		}
		o += (size_t)snprintf(text + o, cap - o, "reorder C");
		for (int i = 0; i < n && i < l->nloops; i++)
			o += (size_t)snprintf(text + o, cap - o, " %s",
					      l->ax[l->loop[perm[i]]].name);
		snprintf(text + o, cap - o, "\n");
	}
}

/* Every axis value of base point pt, by the formulas of sch_ax. */
static void axis_values(const sch_loops *l, const int64_t *pt, int64_t *v)
{
	for (int i = 0; i < l->nax; i++) {
		const sch_ax *x = &l->ax[i];

		switch (x->kind) {
		case SCH_AX_BASE:
			v[i] = pt[x->base];
			break;
		case SCH_AX_OUTER:
			v[i] = v[x->a] / x->factor;
			break;
		case SCH_AX_INNER:
			v[i] = v[x->a] % x->factor;
			break;
		case SCH_AX_FUSED:
			v[i] = v[x->a] * l->ax[x->b].extent + v[x->b];
			break;
		}
	}
}

/* The base point back from the leaf values, by the inverse formulas;
 * false when some axis is neither a leaf nor the parent of one. */
static bool base_from_leaves(const sch_loops *l, const int64_t *leaf, int64_t *pt)
{
	int64_t v[SCH_MAX_AX];
	bool known[SCH_MAX_AX] = {false};

	for (int i = 0; i < l->nloops; i++) {
		v[l->loop[i]] = leaf[i];
		known[l->loop[i]] = true;
	}
	for (int i = l->nax - 1; i >= 0; i--) {
		const sch_ax *x = &l->ax[i];

		if (!known[i])
			return false;
		if (x->kind == SCH_AX_FUSED) {
			v[x->a] = v[i] / l->ax[x->b].extent;
			v[x->b] = v[i] % l->ax[x->b].extent;
			known[x->a] = known[x->b] = true;
		} else if (x->kind == SCH_AX_INNER) {
			if (l->ax[i - 1].kind != SCH_AX_OUTER || l->ax[i - 1].a != x->a)
				return false;
			v[x->a] = v[i - 1] * x->factor + v[i];
			known[x->a] = true;
		} else if (x->kind == SCH_AX_BASE) {
			pt[x->base] = v[i];
		}
	}
	return true;
}

/* What is wrong with the map from base points to leaf tuples, or NULL:
 * every axis value within its extent, the map injective and inverted by
 * the inverse formulas.  (Plain checks: ck_assert in fork mode costs a
 * message to the runner each.) */
static const char *bijection_problem(const sch_loops *l, const int64_t *ext)
{
	enum { MAXP = 216 };
	int64_t tuples[MAXP][SCH_MAX_LOOPS];
	int64_t pt[3], back[3], v[SCH_MAX_AX];
	int np = 0;

	for (pt[0] = 0; pt[0] < ext[0]; pt[0]++)
		for (pt[1] = 0; pt[1] < ext[1]; pt[1]++)
			for (pt[2] = 0; pt[2] < ext[2]; pt[2]++, np++) {
				axis_values(l, pt, v);
				for (int i = 0; i < l->nax; i++)
					if (v[i] < 0 || v[i] >= l->ax[i].extent)
						return "an axis value outside its extent";
				for (int i = 0; i < l->nloops; i++)
					tuples[np][i] = v[l->loop[i]];
				if (!base_from_leaves(l, tuples[np], back))
					return "an axis that is neither a leaf nor a parent";
				if (back[0] != pt[0] || back[1] != pt[1] || back[2] != pt[2])
					return "the inverse formulas give another point";
				for (int q = 0; q < np; q++)
					if (!memcmp(tuples[q], tuples[np],
						    (size_t)l->nloops * sizeof(int64_t)))
						return "two points give one leaf tuple";
			}
	return NULL;
}

static int count_lines(const char *text)
{
	int n = 0;

	for (; *text; text++)
		n += *text == '\n';
	return n;
}

START_TEST(axis_algebra_is_a_bijection)
{
	uint64_t rs = 0x9e3779b97f4a7c15ull + (uint64_t)_i;
	char text[1 << 13];
	int kept = 0;

	for (int trial = 0; trial < 100; trial++) {
		const char *names[3] = {"i", "j", "k"};
		int64_t ext[3];
		sch_loops l;
		rt_error err;
		sch_schedule *s;

		text[0] = '\0';
		for (int a = 0; a < 3; a++)
			ext[a] = 1 + rand_below(&rs, 6);
		rt_error_clear(&err);
		ck_assert_int_eq(sch_stage_loops(NULL, "C", 3, names, ext, &l, &err), 0);
		for (int step = 0; step < 10; step++) {
			size_t before = strlen(text);

			random_step(&rs, &l, text, sizeof(text));
			s = parse_ok(text);
			rt_error_clear(&err);
			if (sch_stage_loops(s, "C", 3, names, ext, &l, &err) < 0) {
				/* an invalid fuse: drop it, back to the loops before */
				ck_assert_int_eq(err.line, count_lines(text));
				text[before] = '\0';
				sch_free(s);
				s = parse_ok(text);
				ck_assert_int_eq(sch_stage_loops(s, "C", 3, names, ext, &l, &err),
						 0);
			} else {
				const char *problem = bijection_problem(&l, ext);

				if (problem)
					ck_abort_msg("%s: %s", text, problem);
				kept++;
			}
			sch_free(s);
		}
	}
	ck_assert_int_gt(kept, 500);
}
END_TEST

/* Random text never crashes the parser; what parses prints canonically and
 * resolves or fails cleanly. */
START_TEST(parser_fuzz)
{
	static const char *const words[] = {
	    "split",
	    "reorder",
	    "fuse",
	    "parallel",
	    "vectorize",
	    "unroll",
	    "bind",
	    "compute_at",
	    "compute_inline",
	    "cache_read",
	    "cache_write",
	    "rfactor",
	    "C",
	    "i",
	    "j",
	    "k",
	    "i.o",
	    "i.i",
	    "j.o",
	    "i+j",
	    "4",
	    "0",
	    "parts=2",
	    "parts=",
	    "perm=1,0",
	    "perm=0",
	    "perm=1,1",
	    "shared",
	    "local",
	    "blockIdx.x",
	    "vthread",
	    "#",
	    " ",
	    "\t",
	    "\n",
	    "\r",
	    "-1",
	    "99999999999999999999",
	    "\x80",
	};
	uint64_t rs = 12345 + (uint64_t)_i;
	char text[4096];

	for (int trial = 0; trial < 400; trial++) {
		size_t o = 0;
		int n = rand_below(&rs, 40);
		sch_schedule *s;
		rt_error err;

		for (int w = 0; w < n && o + 40 < sizeof(text); w++) {
			if (rand_below(&rs, 8) == 0)
				text[o++] = (char)(1 + rand_below(&rs, 255));
			else
				o += (size_t)snprintf(text + o, sizeof(text) - o, "%s%s",
						      words[rand_below(&rs, (int)COUNT(words))],
						      rand_below(&rs, 3) ? " " : "\n");
		}
		text[o] = '\0';
		rt_error_clear(&err);
		s = sch_parse(text, &err);
		if (!s) {
			ck_assert(err.set && err.line >= 1 && err.col >= 1 && err.msg[0]);
			continue;
		}
		{
			char *p = sch_print(s), *q;
			sch_schedule *t = parse_ok(p);
			const char *names[3] = {"i", "j", "k"};
			int64_t ext[3] = {4, 5, 6};
			sch_loops l;

			q = sch_print(t);
			ck_assert_str_eq(p, q);
			ck_assert_int_eq(s->nsteps, t->nsteps);
			for (int i = 0; i < s->nsteps; i++)
				ck_assert(step_eq(&s->steps[i], &t->steps[i]));
			rt_error_clear(&err);
			if (sch_stage_loops(s, "C", 3, names, ext, &l, &err) < 0)
				ck_assert(err.set && err.line >= 1 && err.col >= 1);
			free(p);
			free(q);
			sch_free(t);
		}
		sch_free(s);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sched");
	TCase *text = tcase_create("text"), *loops = tcase_create("loops");
	SRunner *sr;
	int failed;

	tcase_add_loop_test(text, round_trip, 0, (int)COUNT(round_trips));
	tcase_add_test(text, parse_fields);
	tcase_add_test(text, every_kind_round_trips);
	tcase_add_test(text, parse_blocks);
	tcase_add_test(text, limits);
	tcase_add_loop_test(text, bad_text, 0, (int)COUNT(bad_texts));
	tcase_add_test(text, names_and_data);
	tcase_add_loop_test(text, parser_fuzz, 0, 8);
	tcase_add_loop_test(loops, resolve_table, 0, (int)COUNT(resolves));
	tcase_add_test(loops, resolve_gemm_detail);
	tcase_add_test(loops, resolve_attach);
	tcase_add_loop_test(loops, resolve_error, 0, (int)COUNT(resolve_errors));
	tcase_add_test(loops, resolve_limits);
	tcase_add_loop_test(loops, axis_algebra_is_a_bijection, 0, 8);
	suite_add_tcase(s, text);
	suite_add_tcase(s, loops);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
