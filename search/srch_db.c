/*
 * srch_db: the search's use of the tuning db (see srch_db.h).
 */
#include "srch_db.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "te.h"

/* The replay's timing: brief, but verified. */
#define REPLAY_TIMEOUT 60
#define REPLAY_MIN_TIME 0.05

static double wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The target row of m: its target string, what measured, a fingerprint. */
static void target_key(const srch_measurer *m, tdb_target *tg, char *ts, int size, char fp[17])
{
	long cores = m->cores > 0 ? m->cores : sysconf(_SC_NPROCESSORS_ONLN);

	cg_target_string(&m->t, ts, size);
	tg->target = ts;
	tg->fingerprint = fp;
	if (m->t.kind == CG_TARGET_CPU) { /* as the first schema keyed it */
		tg->device = (char *)m->t.cpu;
		tg->features = (char *)m->t.features;
		tdb_fingerprint(m->t.cpu, m->t.features, (int)(cores > 0 ? cores : 1), fp);
		return;
	}
	tg->device = (char *)m->device;
	tg->features = (char *)m->name;
	tdb_fingerprint(m->device, m->name, 0, fp);
}

int srch_db_init(srch_db *s, tdb *db, srch_measurer *m, const char *compiler, const char *method, uint64_t seed,
		 rt_error *err)
{
	char hash[17], ts[256], fp[17];
	tdb_workload w = {0};
	tdb_target tg = {0};
	int rc;

	memset(s, 0, sizeof(*s));
	s->db = db;
	s->g = m->g;
	s->m = m;
	s->compiler = compiler;
	s->method = method;
	s->seed = seed;
	rt_error_clear(&s->err);
	if (srch_space_init_for(&s->space, m->g, &m->t, err))
		return -1;
	te_graph_hash(m->g, hash);
	w.hash = hash;
	if (!(w.text = te_graph_print(m->g, false)))
		return rt_error_set(err, 0, 0, "out of memory");
	w.flops = te_graph_flops(m->g);
	rc = tdb_workload_put(db, &w, err);
	free(w.text);
	if (rc)
		return -1;
	s->workload = w.id;
	target_key(m, &tg, ts, sizeof(ts), fp);
	if (tdb_target_put(db, &tg, err))
		return -1;
	s->target = tg.id;
	return 0;
}

void srch_db_release(srch_db *s)
{
	srch_space_release(&s->space);
}

void srch_records_free(srch_record *r, int n)
{
	for (int i = 0; i < n; i++)
		free(r[i].schedule);
	free(r);
}

/* Whether r was measured by this compiler and space version here (an
 * imported record never is: it is replayed before it is trusted). */
static bool current(const srch_db *s, const tdb_record *r)
{
	return !r->imported && r->space_version == SRCH_SPACE_VERSION && r->compiler &&
	       strcmp(r->compiler, s->compiler) == 0;
}

static bool is_naive(const tdb_record *r)
{
	return r->method && strcmp(r->method, "naive") == 0;
}

/* Parse r's point in s's space; true only when it maps to r's schedule
 * (a point of another space version may parse and mean something else),
 * or for the measurer's naive schedule, the default point it stands for. */
static bool point_of(srch_db *s, const char *point, const char *schedule, srch_point *p)
{
	char *text;
	bool same;

	if (!point || srch_point_parse(&s->space, point, p, NULL) || !srch_point_valid(&s->space, p))
		return false;
	if (!schedule || strcmp(schedule, s->m->naive) == 0) {
		srch_point naive;

		srch_point_default(&s->space, &naive);
		return srch_point_equal(&s->space, p, &naive);
	}
	if (!(text = srch_point_schedule(&s->space, p)))
		return false;
	same = strcmp(text, schedule ? schedule : "") == 0;
	free(text);
	return same;
}

static srch_status status_of(tdb_status st)
{
	return st == TDB_OK ? SRCH_OK : st == TDB_WRONG ? SRCH_WRONG : SRCH_FAILED;
}

/* A tdb record as a search record (schedule copied); -1 out of memory. */
static int from_tdb(srch_db *s, const tdb_record *t, srch_record *r)
{
	memset(r, 0, sizeof(*r));
	if (!(r->schedule = strdup(t->schedule ? t->schedule : "")))
		return -1;
	r->has_point = point_of(s, t->point, t->schedule, &r->point);
	r->status = status_of(t->status);
	snprintf(r->reason, sizeof(r->reason), "%s", t->reason ? t->reason : "");
	r->seconds = t->status == TDB_OK ? t->seconds : INFINITY;
	r->spread = t->spread;
	r->runs = t->runs;
	r->gflops = t->gflops;
	r->verified = t->verified;
	r->id = t->id;
	return 0;
}

/* Store r as `method` (replay_of: an older record's id, or 0). */
static int store(srch_db *s, srch_record *r, const char *method, int64_t replay_of, rt_error *err)
{
	tdb_record t;
	int rc;

	memset(&t, 0, sizeof(t));
	t.workload = s->workload;
	t.target = s->target;
	t.schedule = r->schedule ? r->schedule : "";
	t.point = r->has_point ? srch_point_print(&s->space, &r->point) : NULL;
	t.space_version = SRCH_SPACE_VERSION;
	t.compiler = (char *)s->compiler;
	t.method = (char *)method;
	t.seed = s->seed;
	t.status = r->status == SRCH_OK ? TDB_OK : r->status == SRCH_WRONG ? TDB_WRONG : TDB_FAILED;
	t.reason = r->reason;
	t.seconds = r->status == SRCH_OK ? r->seconds : INFINITY;
	t.spread = r->spread;
	t.runs = r->runs;
	t.gflops = r->gflops;
	t.verified = r->verified;
	t.replay_of = replay_of;
	t.created = wall_now();
	rc = tdb_record_add(s->db, &t, err);
	free(t.point);
	if (rc == 0) {
		r->id = t.id;
		s->stored++;
	}
	return rc;
}

int srch_db_record(void *user, srch_record *r)
{
	srch_db *s = user;
	srch_point naive;

	srch_point_default(&s->space, &naive);
	if (r->has_point && srch_point_equal(&s->space, &r->point, &naive) && r->schedule &&
	    strcmp(r->schedule, s->m->naive) == 0)
		return store(s, r, "naive", 0, &s->err);
	return store(s, r, s->method, 0, &s->err);
}

/* A growing array of search records. */
typedef struct rec_list {
	srch_record *r;
	int n, cap;
} rec_list;

static srch_record *list_add(rec_list *l)
{
	if (l->n == l->cap) {
		int cap = l->cap ? 2 * l->cap : 64;
		srch_record *p = realloc(l->r, cap * sizeof(*p));

		if (!p)
			return NULL;
		l->r = p;
		l->cap = cap;
	}
	return &l->r[l->n++];
}

static int cmp_seconds(const void *a, const void *b)
{
	const tdb_record *x = *(tdb_record *const *)a, *y = *(tdb_record *const *)b;

	return (x->seconds > y->seconds) - (x->seconds < y->seconds);
}

/* Older-version OK records without a replay yet, fastest first (at most
 * SRCH_DB_REPLAY), into old[]; returns how many. */
static int replay_candidates(const srch_db *s, tdb_record *all, int n, tdb_record **old)
{
	int k = 0;

	for (int i = 0; i < n; i++) {
		bool replayed = false;

		if (current(s, &all[i]) || all[i].status != TDB_OK || is_naive(&all[i]))
			continue;
		for (int j = 0; j < n && !replayed; j++)
			replayed = all[j].replay_of == all[i].id && current(s, &all[j]);
		if (!replayed)
			old[k++] = &all[i];
	}
	if (k > 1)
		qsort(old, k, sizeof(*old), cmp_seconds);
	return k < SRCH_DB_REPLAY ? k : SRCH_DB_REPLAY;
}

/* Replay old[0..k): measure, store, append to l. */
static int replay(srch_db *s, isl_ctx *ctx, tdb_record **old, int k, rec_list *l, rt_error *err)
{
	for (int i = 0; i < k; i++) {
		srch_record *r = list_add(l);

		if (!r)
			break;
		memset(r, 0, sizeof(*r));
		if (srch_measurer_run(s->m, ctx, old[i]->schedule ? old[i]->schedule : "", true, REPLAY_TIMEOUT,
				      REPLAY_MIN_TIME, r)) {
			l->n--;
			break;
		}
		r->has_point = point_of(s, old[i]->point, old[i]->schedule, &r->point);
		if (store(s, r, "replay", old[i]->id, err))
			return -1;
	}
	return 0;
}

/* When the db's best comes from another version, make the fastest verified
 * record of this version (in l) the best instead. */
static int refresh_best(srch_db *s, const rec_list *l, rt_error *err)
{
	tdb_record b;
	const srch_record *win = NULL;
	int found = tdb_best(s->db, s->workload, s->target, &b, err);
	bool stale;

	if (found < 0)
		return -1;
	stale = found && !current(s, &b);
	if (found)
		tdb_record_release(&b);
	if (!stale)
		return 0;
	for (int i = 0; i < l->n; i++)
		if (l->r[i].status == SRCH_OK && l->r[i].verified && l->r[i].id > 0 &&
		    (!win || l->r[i].seconds < win->seconds))
			win = &l->r[i];
	return win ? tdb_set_best(s->db, s->workload, s->target, win->id, win->seconds, err) : 0;
}

/* The index in l of the db's best record (its time set to the best's), or -1. */
static int best_index(srch_db *s, rec_list *l, rt_error *err)
{
	tdb_record b;
	int found = tdb_best(s->db, s->workload, s->target, &b, err), idx = -1;

	if (found <= 0)
		return -1;
	for (int i = 0; i < l->n && idx < 0; i++)
		if (l->r[i].id == b.id && l->r[i].status == SRCH_OK && l->r[i].verified) {
			idx = i;
			l->r[i].seconds = b.seconds;
			l->r[i].gflops = te_graph_flops(s->g) * 1e-9 / b.seconds;
		}
	tdb_record_release(&b);
	return idx;
}

int srch_db_history(srch_db *s, isl_ctx *ctx, srch_record **out, int *n, int *best, double *naive_seconds,
		    rt_error *err)
{
	tdb_record *all = NULL, **old = NULL;
	rec_list l = {0};
	int nall = 0, k, rc = -1;

	*out = NULL;
	*n = 0;
	*best = -1;
	*naive_seconds = 0;
	if (tdb_records(s->db, s->workload, s->target, &all, &nall, err))
		return -1;
	if (nall && !(old = calloc(nall, sizeof(*old)))) {
		rt_error_set(err, 0, 0, "out of memory");
		goto out;
	}
	for (int i = 0; i < nall; i++) {
		srch_record *r;

		if (!current(s, &all[i]))
			continue;
		if (is_naive(&all[i]) && all[i].status == TDB_OK)
			*naive_seconds = all[i].seconds;
		if (!(r = list_add(&l)) || from_tdb(s, &all[i], r)) {
			l.n -= r != NULL;
			rt_error_set(err, 0, 0, "out of memory");
			goto out;
		}
	}
	k = replay_candidates(s, all, nall, old);
	if (replay(s, ctx, old, k, &l, err) || refresh_best(s, &l, err))
		goto out;
	*best = best_index(s, &l, err);
	*out = l.r;
	*n = l.n;
	l.r = NULL;
	l.n = 0;
	rc = 0;
out:
	srch_records_free(l.r, l.n);
	free(old);
	tdb_records_free(all, nall);
	return rc;
}

int srch_db_finish(srch_db *s, const srch_result *res, rt_error *err)
{
	const srch_record *b;

	if (s->err.set)
		return rt_error_set(err, 0, 0, "%s", s->err.msg);
	if (res->best < 0 || !res->remeasured)
		return 0;
	b = &res->records[res->best];
	if (b->id <= 0 || !b->verified)
		return 0;
	/* The final re-measure may have checked a record first timed unchecked. */
	if (tdb_mark_verified(s->db, b->id, err))
		return -1;
	return tdb_set_best(s->db, s->workload, s->target, b->id, b->seconds, err);
}

int srch_db_best(srch_db *s, isl_ctx *ctx, char **schedule, double *gflops, rt_error *err)
{
	tdb_record b;
	int found;

	*schedule = NULL;
	for (int pass = 0; pass < 2; pass++) {
		if ((found = tdb_best(s->db, s->workload, s->target, &b, err)) < 0)
			return -1;
		if (found && current(s, &b)) {
			*schedule = strdup(b.schedule ? b.schedule : "");
			*gflops = b.gflops;
			tdb_record_release(&b);
			return *schedule ? 1 : rt_error_set(err, 0, 0, "out of memory");
		}
		if (found)
			tdb_record_release(&b);
		/* Another version's best, or none but maybe imported or older
		 * records: replay them, then ask again. */
		if (pass == 0) {
			srch_record *h;
			int n, best;
			double naive;

			if (srch_db_history(s, ctx, &h, &n, &best, &naive, err))
				return -1;
			srch_records_free(h, n);
		}
	}
	return 0;
}
