/*
 * srch_seed: constructed starting points (see srch_seed.h).
 */
#include "srch_seed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SEED_CACHE_DIR "/sys/devices/system/cpu/cpu0/cache"
#define SEED_CACHE_LEVELS 8        /* index0..index7 are looked at */
#define SEED_DEFAULT_L1 (32 << 10)
#define SEED_DEFAULT_L2 (1 << 20)
#define SEED_DEFAULT_L3 (32 << 20)
#define SEED_ROW_UNROLL 8          /* reduce loop unrolled in vector-less tiles */
#define SEED_PANEL_L2_SHARE 4      /* a packed panel takes 1/4 of L2 */

/* ---- the machine ---- */

/* The first line of dir/name into out; false when unreadable. */
static bool read_line(const char *dir, const char *name, char *out, size_t n)
{
	char path[512];
	FILE *f;
	bool ok;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (!(f = fopen(path, "r")))
		return false;
	ok = fgets(out, (int)n, f) != NULL;
	fclose(f);
	out[strcspn(out, "\n")] = '\0';
	return ok;
}

/* "48K", "1024K", "32M" in bytes; 0 when unreadable. */
static int64_t parse_size(const char *s)
{
	char *end;
	long long v = strtoll(s, &end, 10);

	if (v <= 0 || end == s)
		return 0;
	if (*end == 'K')
		return (int64_t)v << 10;
	if (*end == 'M')
		return (int64_t)v << 20;
	return *end == '\0' ? (int64_t)v : 0;
}

/* Read the data and unified caches of dir into m. */
static void read_caches(const char *dir, srch_machine *m)
{
	for (int i = 0; i < SEED_CACHE_LEVELS; i++) {
		char sub[560], level[32], type[32], size[32];
		int64_t bytes;

		snprintf(sub, sizeof(sub), "%s/index%d", dir, i);
		if (!read_line(sub, "level", level, sizeof(level)) || !read_line(sub, "type", type, sizeof(type)) ||
		    !read_line(sub, "size", size, sizeof(size)) || !strcmp(type, "Instruction") ||
		    !(bytes = parse_size(size)))
			continue;
		if (!strcmp(level, "1"))
			m->l1 = bytes;
		else if (!strcmp(level, "2"))
			m->l2 = bytes;
		else if (!strcmp(level, "3"))
			m->l3 = bytes;
	}
}

static bool has_feature(const char *features, const char *want)
{
	size_t k = strlen(want);

	for (const char *p = strstr(features, want); p; p = strstr(p + 1, want))
		if ((p[k] == ',' || p[k] == '\0') && (p == features || p[-1] == ','))
			return true;
	return false;
}

void srch_machine_of(const cg_target *t, const char *cache_dir, srch_machine *m)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);

	memset(m, 0, sizeof(*m));
	m->vector_bits = t->vector_bits > 0 ? t->vector_bits : 128;
	m->vregs = has_feature(t->features, "+avx512f") ? 32 : 16;
	m->l1 = SEED_DEFAULT_L1;
	m->l2 = SEED_DEFAULT_L2;
	m->l3 = SEED_DEFAULT_L3;
	read_caches(cache_dir ? cache_dir : SEED_CACHE_DIR, m);
	m->threads = t->threads > 0 ? t->threads : cores > 0 ? (int)cores : 1;
}

/* ---- a point ---- */

/* One constructed variant: the register tile (nv 0: no vector, mr rows
 * with the reduction unrolled) and whether panels are packed. */
typedef struct shape {
	int mr, nv;
	bool pack;
} shape;

static const shape shapes32[] = {{4, 4, true}, {6, 2, true},  {8, 2, true},  {4, 2, true},  {4, 4, false},
				 {6, 2, false}, {8, 2, false}, {1, 1, false}, {4, 0, false}, {8, 0, false}};
static const shape shapes16[] = {{4, 2, true}, {6, 2, true},  {3, 4, true},  {4, 1, true},  {4, 2, false},
				 {6, 2, false}, {3, 4, false}, {1, 1, false}, {4, 0, false}, {8, 0, false}};

/* The largest divisor of n that is at most want (at least 1). */
static int64_t div_le(int64_t n, int64_t want)
{
	for (int64_t d = want < n ? want : n; d > 1; d--)
		if (n % d == 0)
			return d;
	return 1;
}

/* The allowed product of split knob k to tile: the first that `want`
 * divides, else the extent. */
static int64_t product_for(const srch_knob *k, int64_t want)
{
	for (int i = 0; i < k->nprods; i++)
		if (k->prods[i] % want == 0)
			return k->prods[i];
	return k->extent;
}

static void set_split(const srch_space *s, srch_point *p, int k, int64_t f0, int64_t f1, int64_t f2, int64_t f3)
{
	int64_t f[4] = {f0, f1, f2, f3}, *v = &p->v[s->knobs[k].slot];

	for (int j = 0; j < s->knobs[k].nparts; j++)
		v[j] = f[j];
}

static void set_choice(const srch_space *s, srch_point *p, int stage, srch_role role, int value)
{
	for (int k = 0; k < s->nknobs; k++)
		if (s->knobs[k].stage == stage && s->knobs[k].role == role)
			p->v[s->knobs[k].slot] = value < s->knobs[k].nchoices ? value : s->knobs[k].nchoices - 1;
}

static bool load_uses_axis(const te_expr *e, int t, int axis, bool in_load)
{
	if (e->op == TE_AXIS && in_load && e->index == axis)
		return true;
	for (int i = 0; i < e->nargs; i++)
		if (load_uses_axis(e->args[i], t, axis, in_load || (e->op == TE_LOAD && e->index == t)))
			return true;
	return false;
}

/* The split knobs of a stage: spatial ones in axis order, and reduce ones. */
typedef struct stage_knobs {
	int nsp, sp[SRCH_MAX_SLOTS];
	int nrd, rd[SRCH_MAX_SLOTS];
} stage_knobs;

static void find_splits(const srch_space *s, const te_stage *st, stage_knobs *sk)
{
	memset(sk, 0, sizeof(*sk));
	for (int k = 0; k < s->nknobs; k++)
		if (s->knobs[k].stage == st->id && s->knobs[k].role == SRCH_ROLE_SPLIT) {
			if (s->knobs[k].axis < st->rank)
				sk->sp[sk->nsp++] = k;
			else
				sk->rd[sk->nrd++] = k;
		}
}

/* The spatial knob (not the last, nor `except`) of largest extent: the
 * tile's rows; -1 when none. */
static int row_knob(const srch_space *s, const stage_knobs *sk, int except)
{
	int r = -1;

	for (int i = 0; i + 1 < sk->nsp; i++)
		if (sk->sp[i] != except && (r < 0 || s->knobs[sk->sp[i]].extent > s->knobs[r].extent))
			r = sk->sp[i];
	return r;
}


/* A reducing stage as shape sh: the vector axis's panel, the rows, the
 * reduction innermost but for the tile. */
static void seed_reducing(const srch_space *s, const srch_machine *m, const te_stage *st, const shape *sh,
			  srch_point *p)
{
	stage_knobs sk;
	int vk, rk, rk2, lanes = m->vector_bits / (8 * (int)te_dtype_size(st->type));
	int64_t red = 1, esize = (int64_t)te_dtype_size(st->type);

	find_splits(s, st, &sk);
	if (sk.nsp == 0)
		return;
	vk = sk.sp[sk.nsp - 1];
	rk = row_knob(s, &sk, -1);
	rk2 = row_knob(s, &sk, rk);
	for (int i = 0; i < sk.nrd; i++) {
		const srch_knob *k = &s->knobs[sk.rd[i]];
		int64_t u = sh->nv ? 1 : div_le(k->extent, SEED_ROW_UNROLL);

		red *= k->extent;
		set_split(s, p, sk.rd[i], 1, k->extent / u, u, 0);
	}
	for (int i = 0; i + 1 < sk.nsp; i++)
		if (sk.sp[i] != rk)
			set_split(s, p, sk.sp[i], 1, s->knobs[sk.sp[i]].extent, 1, 1);
	if (rk >= 0) {
		int64_t P = product_for(&s->knobs[rk], sh->mr), mr = div_le(P, sh->mr);

		set_split(s, p, rk, 1, P / mr, 1, mr);
	}
	if (sh->nv == 0) {
		int64_t P = product_for(&s->knobs[vk], sh->mr), mr = div_le(P, sh->mr);

		set_split(s, p, vk, 1, P / mr, 1, mr);
	} else {
		int64_t P = product_for(&s->knobs[vk], lanes), v = div_le(P, lanes), nv = div_le(P / v, sh->nv);
		int64_t nc = v * nv;

		/* too few vectors across: the tile takes rows of a second axis.
		 * (P is the first allowed product the lanes divide: conv2d's Q =
		 * 56 tiles as 64: whole 16-lane vectors and a tail of 8, 1.6x
		 * the speed of 8-lane vectors in examples/conv2d.sched's tiles.) */
		if (nv < sh->nv && rk2 >= 0) {
			int64_t e2 = s->knobs[rk2].extent, f = div_le(e2, sh->nv / nv);

			set_split(s, p, rk2, 1, e2 / f, 1, f);
		}
		/* the panel: as many tiles as keep red x nc elements in a
		 * quarter of L2 (SEED_PANEL_L2_SHARE), the rest left to the rows
		 * of the other operand, the output tile and whatever shares the
		 * core: GEMM 1024^3's 512 KiB panel (half of a 1 MiB L2) ran 9%
		 * slower than 256 KiB on a quiet Zen 4 and 2x slower at load 6.
		 * Any divisor of the tiles, not only powers of two: a depthwise
		 * conv's 7 tiles of Q = 112 make one panel (the tiles of a row
		 * in turn, its input rows still in cache: 54 -> 70 GFLOP/s) */
		nc *= div_le(P / nc, m->l2 / SEED_PANEL_L2_SHARE / esize / nc / red);
		set_split(s, p, vk, P / nc, nc / (v * nv), nv, v);
	}
	set_choice(s, p, st->id, SRCH_ROLE_ORDER, 3);
	set_choice(s, p, st->id, SRCH_ROLE_CW, 1);
	set_choice(s, p, st->id, SRCH_ROLE_VEC, sh->nv > 0);
	set_choice(s, p, st->id, SRCH_ROLE_UNROLL, sh->nv == 0 ? 1 : sk.nsp > 1 ? 3 : 0);
	set_choice(s, p, st->id, SRCH_ROLE_PAR, m->threads > 1 ? (sk.nsp > 1 ? 2 : 1) : 0);
	/* a tensor read at a stride along the vector: a de-interleaved copy
	 * once per call (gathers otherwise: 0.21x -> 0.58x oneDNN by hand on
	 * a stride-2 conv2d, docs/decisions.md) */
	set_choice(s, p, st->id, SRCH_ROLE_DEINT, sh->nv > 0);
	for (int k = 0; k < s->nknobs; k++)
		if (s->knobs[k].stage == st->id && s->knobs[k].role == SRCH_ROLE_CR)
			p->v[s->knobs[k].slot] =
				sh->pack && (rk < 0 || !load_uses_axis(st->body, s->knobs[k].arg, s->knobs[rk].axis, false))
					? 2 : 0;
}

/* Another compute stage: vectorize the innermost axis, the rest whole. */
static void seed_plain(const srch_space *s, const srch_machine *m, const te_stage *st, int variant,
		       srch_point *p)
{
	static const int place[3] = {1, 0, 2};
	int lanes = m->vector_bits / (8 * (int)te_dtype_size(st->type));
	stage_knobs sk;
	int64_t v = 1;

	find_splits(s, st, &sk);
	for (int i = 0; i < sk.nsp; i++) {
		const srch_knob *k = &s->knobs[sk.sp[i]];
		bool last = i + 1 == sk.nsp;
		int64_t P = last ? product_for(k, lanes) : k->extent, inner = last ? div_le(P, lanes) : 1;

		if (last)
			v = inner;
		set_split(s, p, sk.sp[i], P / inner, inner, 0, 0);
	}
	set_choice(s, p, st->id, SRCH_ROLE_VEC, v > 1);
	set_choice(s, p, st->id, SRCH_ROLE_PAR, m->threads > 1);
	set_choice(s, p, st->id, SRCH_ROLE_PLACE, place[variant % 3]);
}

/* Point number `variant` (an index into the shapes). */
static void seed_one(const srch_space *s, const srch_machine *m, int variant, srch_point *p)
{
	const shape *sh = m->vregs >= 32 ? &shapes32[variant] : &shapes16[variant];

	srch_point_default(s, p);
	for (int i = 0; i < te_graph_nstages(s->g); i++) {
		const te_stage *st = te_graph_stage(s->g, i);
		bool reducing = false;

		if (st->kind != TE_STAGE_COMPUTE)
			continue;
		for (int a = st->rank; a < st->rank + st->nreduce; a++)
			reducing |= st->axes[a].extent > 1;
		if (reducing)
			seed_reducing(s, m, st, sh, p);
		else
			seed_plain(s, m, st, variant, p);
	}
}

/* Variant v of the construction: the shapes, with RF variants 1 and 2
 * (where a stage has the knob) right after the first shape. */
static void seed_variant(const srch_space *s, const srch_machine *m, int v, srch_point *p)
{
	int rf = v == 1 || v == 2 ? v : 0;

	seed_one(s, m, rf ? 0 : v > 2 ? v - 2 : v, p);
	for (int k = 0; rf && k < s->nknobs; k++) {
		if (s->knobs[k].role == SRCH_ROLE_RF)
			p->v[s->knobs[k].slot] = rf < s->knobs[k].nchoices ? rf : s->knobs[k].nchoices - 1;
		/* RF 1 on rows: the most rows (each a register of lanes) */
		if (s->knobs[k].role == SRCH_ROLE_RF_ROWS)
			p->v[s->knobs[k].slot] = s->knobs[k].nchoices - 1;
	}
}

int srch_seed_points(const srch_space *s, const srch_machine *m, srch_point *out, int max)
{
	int n = 0, nvariants = (int)(sizeof(shapes32) / sizeof(shapes32[0])) + 2;

	if (s->target != CG_TARGET_CPU)
		return 0;
	for (int v = 0; v < nvariants && n < max && n < SRCH_SEED_MAX; v++) {
		bool dup = false;

		seed_variant(s, m, v, &out[n]);
		for (int i = 0; i < n && !dup; i++)
			dup = srch_point_equal(s, &out[i], &out[n]);
		if (!dup && srch_point_valid(s, &out[n]))
			n++;
	}
	return n;
}
