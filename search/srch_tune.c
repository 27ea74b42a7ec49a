/*
 * srch_tune: the tuning loop over a measurer (see srch_tune.h).
 */
#include "srch_tune.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "rt_math.h"
#include "rt_time.h"
#include "srch_measurer.h"
#include "srch_model.h"
#include "srch_seed.h"

void srch_tune_opts_default(srch_tune_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->method = SRCH_SA_Q;
	o->seed = 1;
	o->trials = 100;
	o->timeout = 60;
	o->compile_limit = 30;
	o->min_time = 0.1;
	o->cutoff_ratio = 3;
	o->rank_ratio = 1.5;
	o->seed_points = SRCH_SEED_MAX;
	o->final_top = 3;
	o->history_best = -1;
}

void srch_result_release(srch_result *r)
{
	for (int i = 0; i < r->nrecords; i++)
		free(r->records[i].schedule);
	free(r->records);
	memset(r, 0, sizeof(*r));
}

/* Append a record; -1 when out of memory. */
static int push(srch_result *res, const srch_record *r, int *cap)
{
	if (res->nrecords == *cap) {
		int n = *cap ? 2 * *cap : 64;
		srch_record *p = realloc(res->records, n * sizeof(*p));

		if (!p)
			return -1;
		res->records = p;
		*cap = n;
	}
	res->records[res->nrecords++] = *r;
	return 0;
}

/* Proposals asked of the explorer at a time (a measurer that takes
 * batches may ask for more: srch_measurer.batch). */
#define SRCH_TUNE_BATCH 4

typedef struct loop_state {
	srch_measurer *m;
	isl_ctx *ctx;
	const srch_tune_opts *o;
	srch_result *res;
	const srch_space *sp;
	srch_explorer *e;
	int cap, failures, since_gain;
	double t0, best;
	bool seeding; /* the trial is a constructed starting point */
} loop_state;

static void report(loop_state *S, const srch_record *r)
{
	srch_progress p;

	if (!S->o->progress)
		return;
	p.trial = S->res->nrecords;
	p.trials = S->o->trials;
	p.failures = S->failures;
	p.best_gflops = S->res->best >= 0 ? S->res->records[S->res->best].gflops : 0;
	p.last_gflops = r->gflops;
	p.elapsed = rt_now() - S->t0;
	p.eta = S->o->trials > 0 && p.trial > 0 ? p.elapsed / p.trial * (S->o->trials - p.trial) : -1;
	if (S->o->seconds > 0 && (p.eta < 0 || S->o->seconds - p.elapsed < p.eta))
		p.eta = S->o->seconds - p.elapsed > 0 ? S->o->seconds - p.elapsed : 0;
	p.last = r;
	S->o->progress(S->o->user, &p);
}

/* Add the child's phases of trial r to the tune's times. */
static void add_times(srch_times *t, const srch_record *r)
{
	double child = r->t_lower + r->t_llvm + r->t_first + r->t_timing + r->t_verify;

	t->lower += r->t_lower;
	t->llvm += r->t_llvm;
	t->first += r->t_first;
	t->timing += r->t_timing;
	t->verify += r->t_verify;
	t->process += r->t_wall > child ? r->t_wall - child : 0;
}

/* Whether r may be the best: OK, timed in full, and compared with the
 * reference (or the measurer cannot compare at all). */
static bool can_be_best(const loop_state *S, const srch_record *r)
{
	return r->status == SRCH_OK && !srch_record_cut_off(r) && (r->verified || !S->m->verifies);
}

/* Record trial r: the best, patience, callbacks.  -1 when out of memory,
 * 1 when the record callback refused it (the search stops), else 0.  A
 * transient failure (its process killed from outside) is kept in the
 * result but not given to the record callback: it says nothing of the
 * schedule, and a later tune measures it again. */
static int account(loop_state *S, srch_record *r)
{
	bool measured = r->status == SRCH_OK && !srch_record_cut_off(r);
	int idx;

	add_times(&S->res->times, r);
	if (push(S->res, r, &S->cap)) {
		free(r->schedule);
		return -1;
	}
	idx = S->res->nrecords - 1;
	if (S->o->model && r->status == SRCH_OK)
		srch_model_observe(S->o->model, r->schedule, r->gflops, srch_record_cut_off(r));
	if (r->status != SRCH_OK)
		S->failures++;
	if (measured && r->seconds < S->best * 0.99)
		S->since_gain = 0;
	else
		S->since_gain++;
	if (can_be_best(S, r) && r->seconds < S->best) {
		S->best = r->seconds;
		S->res->best = idx;
	}
	report(S, r);
	if (r->transient || !S->o->record)
		return 0;
	if (S->o->record(S->o->record_user, &S->res->records[idx])) {
		snprintf(S->res->stop_reason, 64, "a record that could not be stored");
		return 1;
	}
	return 0;
}

/* Tell the explorer what trial r says of point p. */
static void tell(srch_explorer *e, const srch_point *p, const srch_record *r)
{
	if (srch_record_cut_off(r))
		srch_explorer_report_bound(e, p, r->seconds);
	else
		srch_explorer_report(e, p, r->status == SRCH_OK ? r->seconds : INFINITY);
}

static bool out_of_budget(loop_state *S)
{
	const srch_tune_opts *o = S->o;

	if (o->interrupt && *o->interrupt) {
		S->res->interrupted = true;
		return snprintf(S->res->stop_reason, 64, "interrupt"), true;
	}
	if (o->trials > 0 && S->res->nrecords >= o->trials)
		return snprintf(S->res->stop_reason, 64, "trial budget"), true;
	if (o->seconds > 0 && rt_now() - S->t0 >= o->seconds)
		return snprintf(S->res->stop_reason, 64, "time budget"), true;
	if (o->patience > 0 && S->since_gain >= o->patience)
		return snprintf(S->res->stop_reason, 64, "no gain in %d trials", o->patience), true;
	return false;
}

/* Measure schedule text into r with the measurer (r->t_wall: the wall
 * time when the measurer does not say).  -1 when out of memory. */
static int measure(loop_state *S, const char *text, const srch_how *how, srch_record *r)
{
	double t0 = rt_now();

	if (S->m->ops->measure(S->m, S->ctx, text, how, r))
		return -1;
	if (r->t_wall <= 0)
		r->t_wall = rt_now() - t0;
	S->res->measured++;
	return 0;
}

/* How the next candidate is measured: checked when it is the first, or
 * faster than the best; cut off and ranked against the best. */
static void how_now(const loop_state *S, srch_how *how)
{
	srch_how_default(how, S->o);
	how->verify_below = S->best;
	if (S->o->cutoff_ratio > 0)
		how->cutoff = S->best * S->o->cutoff_ratio;
	if (S->o->rank_ratio > 0)
		how->rank_limit = S->best * S->o->rank_ratio;
	/* The first candidate is always compared with the reference, and a
	 * candidate faster than the best is before it counts. */
	how->verify = S->res->best < 0;
}

/* Trial r of point p is measured: tell the explorer, account for it.
 * -1 when out of memory, 1 when the record callback stopped the search. */
static int trial_done(loop_state *S, const srch_point *p, srch_record *r)
{
	r->point = *p;
	r->has_point = true;
	r->seeded = S->seeding;
	S->res->seeded += S->seeding;
	tell(S->e, p, r);
	return account(S, r);
}

/* One trial of point p; the record is pushed.  -1 when out of memory,
 * 1 when the record callback stopped the search, else 0. */
static int trial(loop_state *S, const srch_point *p)
{
	char *text = srch_point_schedule(S->sp, p);
	srch_how how;
	srch_record r;
	int rc;

	how_now(S, &how);
	memset(&r, 0, sizeof(r));
	if (!text)
		return -1;
	rc = measure(S, text, &how, &r);
	free(text);
	if (rc)
		return -1;
	return trial_done(S, p, &r);
}

/* A batch in flight: its points, for the records as they arrive. */
typedef struct batch_state {
	loop_state *S;
	const srch_point *pts;
	double t0;
} batch_state;

static int batch_done(void *user, int i, srch_record *r)
{
	batch_state *B = user;

	if (r->t_wall <= 0)
		r->t_wall = rt_now() - B->t0;
	B->S->res->measured++;
	return trial_done(B->S, &B->pts[i], r);
}

/* Trials of the n points pts, at once when the measurer takes batches
 * (each record accounted for as it arrives), else one by one.  Non-zero
 * stops: -1 out of memory, 1 the record callback. */
static int trials(loop_state *S, const srch_point *pts, int n)
{
	batch_state B = {S, pts, rt_now()};
	char **texts;
	srch_how how;
	int rc = 0, k = 0;

	if (!S->m->ops->measure_batch || n < 2) {
		for (int i = 0; i < n && !out_of_budget(S); i++)
			if ((rc = trial(S, &pts[i])))
				return rc;
		return 0;
	}
	if (!(texts = calloc((size_t)n, sizeof(*texts))))
		return -1;
	for (k = 0; k < n; k++)
		if (!(texts[k] = srch_point_schedule(S->sp, &pts[k])))
			break;
	how_now(S, &how);
	rc = k < n ? -1 : S->m->ops->measure_batch(S->m, S->ctx, texts, &how, n, batch_done, &B);
	for (int i = 0; i < k; i++)
		free(texts[i]);
	free(texts);
	return rc;
}

/* The OK records, fastest first: up to k indices into res->records. */
static int top_records(const srch_result *res, int *idx, int k)
{
	int n = 0;

	for (int i = 0; i < res->nrecords; i++) {
		const srch_record *r = &res->records[i];
		int j;

		if (r->status != SRCH_OK || srch_record_cut_off(r))
			continue;
		for (j = n; j > 0 && res->records[idx[j - 1]].seconds > r->seconds; j--)
			if (j < k)
				idx[j] = idx[j - 1];
		if (j < k) {
			idx[j] = i;
			n += n < k;
		}
	}
	return n;
}

#define FINAL_MAX 8
#define FINAL_ROUNDS 3
/* A naive schedule this many times slower than the best is re-measured in
 * one round only: noise cannot reorder them, and a naive GEMM 1024 call
 * takes seconds. */
#define FINAL_NAIVE_FAR 10.0

/* The median of n (<= FINAL_ROUNDS) seconds, sorting them. */
static double median_of(double *sec, int n)
{
	qsort(sec, (size_t)n, sizeof(double), rt_cmp_double);
	return sec[n / 2];
}

static bool is_naive(const loop_state *S, const srch_record *r)
{
	return r->schedule && strcmp(r->schedule, S->m->naive) == 0;
}

/* Index of the naive schedule's record, -1 when none. */
static int naive_record(const loop_state *S)
{
	for (int i = 0; i < S->res->nrecords; i++)
		if (is_naive(S, &S->res->records[i]))
			return i;
	return -1;
}

/* The side-by-side slots of the final re-measure: the top n records, and
 * the naive schedule in slot n when it is not among them (idx -1 when it
 * has no record).  Returns the slot count; *naive_at the naive's slot. */
static int final_slots(loop_state *S, int *idx, int *naive_at)
{
	int k = S->o->final_top < FINAL_MAX ? S->o->final_top : FINAL_MAX;
	int n = top_records(S->res, idx, k < 1 ? 1 : k), nn = n;

	*naive_at = -1;
	for (int i = 0; i < n; i++)
		if (is_naive(S, &S->res->records[idx[i]]))
			*naive_at = i;
	if (n > 0 && *naive_at < 0) {
		idx[nn] = naive_record(S);
		*naive_at = nn++;
	}
	return nn;
}

/*
 * Re-measure the top few records and the naive schedule side by side
 * (round-robin, FINAL_ROUNDS rounds, each checked against the reference)
 * and name the fastest by the median of its rounds: one lucky measurement
 * does not make the best, and the speedup compares two times taken in the
 * same rounds.  The records' times become the re-measured ones.
 */
static void final_remeasure(loop_state *S)
{
	const srch_measurer_ops *ops = S->m->ops;
	srch_result *res = S->res;
	int idx[FINAL_MAX + 1], naive_at, naive_rounds, nn = final_slots(S, idx, &naive_at);
	void *built[FINAL_MAX + 1] = {0};
	double sec[FINAL_MAX + 1][FINAL_ROUNDS], best = INFINITY, t0 = rt_now();
	bool bad[FINAL_MAX + 1] = {0};
	srch_record naive, *rec[FINAL_MAX + 1];
	srch_how how;
	char reason[256];

	if (nn < 2)
		return;
	memset(&naive, 0, sizeof(naive));
	naive_rounds = (idx[naive_at] >= 0 ? res->records[idx[naive_at]].seconds : res->naive_seconds) >
				       FINAL_NAIVE_FAR * res->records[idx[0]].seconds
			       ? 1 : FINAL_ROUNDS;
	srch_how_default(&how, S->o);
	for (int i = 0; i < nn; i++) {
		rec[i] = idx[i] >= 0 ? &res->records[idx[i]] : &naive;
		if (!(built[i] = ops->build(S->m, S->ctx, idx[i] >= 0 ? rec[i]->schedule : S->m->naive, reason)))
			bad[i] = true;
	}
	for (int round = 0; round < FINAL_ROUNDS; round++)
		for (int i = 0; i < nn; i++) {
			if (bad[i] || (i == naive_at && round >= naive_rounds))
				continue;
			how.verify = round == 0;
			if (ops->time(S->m, built[i], &how, rec[i], &sec[i][round])) {
				bad[i] = true;
				rec[i]->seconds = INFINITY, rec[i]->gflops = 0, rec[i]->verified = false;
			}
		}
	res->best = -1;
	for (int i = 0; i < nn; i++) {
		srch_record *r = rec[i];
		double m;

		if (built[i])
			ops->unbuild(S->m, built[i]);
		if (bad[i])
			continue;
		m = median_of(sec[i], i == naive_at ? naive_rounds : FINAL_ROUNDS);
		if (i == naive_at)
			res->naive_seconds = m;
		if (r == &naive)
			continue;
		r->seconds = m;
		r->gflops = te_graph_flops(S->m->g) * 1e-9 / r->seconds;
		if (can_be_best(S, r) && r->seconds < best) {
			best = r->seconds;
			res->best = idx[i];
		}
	}
	if (res->best < 0) /* every one failed now: fall back on the rest */
		for (int i = 0; i < res->nrecords; i++)
			if (can_be_best(S, &res->records[i]) &&
			    (res->best < 0 || res->records[i].seconds < res->records[res->best].seconds))
				res->best = i;
	res->remeasured = true;
	res->times.final = rt_now() - t0;
}

/* Whether r is the naive schedule standing in for the default point
 * (its text differs from the point's). */
static bool naive_stands_in(const loop_state *S, const srch_record *r)
{
	srch_point d;
	char *text;
	bool differ;

	srch_point_default(S->sp, &d);
	if (!is_naive(S, r) || !srch_point_equal(S->sp, &r->point, &d))
		return false;
	if (!(text = srch_point_schedule(S->sp, &d)))
		return true;
	differ = strcmp(text, r->schedule) != 0;
	free(text);
	return differ;
}

/* Copy the history into res (first records) and seed the explorer. */
static int load_history(loop_state *S)
{
	const srch_tune_opts *o = S->o;

	for (int i = 0; i < o->nhistory; i++) {
		srch_record r = o->history[i];

		if (!(r.schedule = strdup(r.schedule ? r.schedule : "")))
			return -1;
		if (r.has_point && srch_record_cut_off(&r))
			srch_explorer_report_bound(S->e, &r.point, r.seconds);
		else if (r.has_point) /* the naive schedule as in measure_naive */
			srch_explorer_seed(S->e, &r.point,
					   r.status == SRCH_OK && !naive_stands_in(S, &r) ? r.seconds : INFINITY);
		if (push(S->res, &r, &S->cap)) {
			free(r.schedule);
			return -1;
		}
		if (r.status != SRCH_OK)
			S->failures++;
		else if (r.seconds < S->best && can_be_best(S, &r) && o->history_best < 0)
			S->best = r.seconds, S->res->best = S->res->nrecords - 1;
	}
	if (o->history_best >= 0 && o->history_best < o->nhistory && o->history[o->history_best].status == SRCH_OK) {
		S->res->best = o->history_best;
		S->best = o->history[o->history_best].seconds;
	}
	S->res->nhistory = o->nhistory;
	return 0;
}

/* The first trial: the measurer's naive schedule, the baseline of the
 * speedup, a candidate like any other, and the first comparison with the
 * reference.  Its record carries the space's default point, which is not
 * proposed again.  Unless the history knows it. */
static int measure_naive(loop_state *S)
{
	srch_how how;
	srch_record r;

	if (S->o->naive_seconds > 0) {
		S->res->naive_seconds = S->o->naive_seconds;
		return 0;
	}
	srch_how_default(&how, S->o);
	how.verify = true;
	memset(&r, 0, sizeof(r));
	srch_point_default(S->sp, &r.point);
	r.has_point = true;
	if (measure(S, S->m->naive, &how, &r))
		return -1;
	S->res->naive_seconds = r.status == SRCH_OK ? r.seconds : INFINITY;
	/* When the naive schedule only stands in for the default point (the
	 * CPU's and the GPU's), the point is seen but not a start for sa-q:
	 * walks from it would start in the slowest corner. */
	srch_explorer_seed(S->e, &r.point, r.status == SRCH_OK && !naive_stands_in(S, &r) ? r.seconds : INFINITY);
	return account(S, &r);
}
/* Measure the constructed starting points the explorer has not seen
 * (srch_seed; the CPU's; none when seed_points is 0) and the cost model's
 * picks, within the budget; each is a trial.  Non-zero stops. */
static int measure_seeds(loop_state *S)
{
	srch_point pts[SRCH_SEED_MAX + SRCH_MODEL_STARTS];
	srch_machine mach;
	double t0 = rt_now();
	int n, nseed, k = 0, kseed = 0, left, rc;

	srch_machine_of(&S->m->t, S->o->cache_dir, &mach);
	n = nseed = S->o->seed_points <= 0 ? 0
		: srch_seed_points(S->sp, &mach, pts,
				   S->o->seed_points < SRCH_SEED_MAX ? S->o->seed_points : SRCH_SEED_MAX);
	if (S->o->model) /* the model's picks follow the constructed points */
		n += srch_model_starts(S->o->model, S->sp, S->o->seed, pts + n, SRCH_MODEL_STARTS);
	S->res->times.explore += rt_now() - t0;
	for (int i = 0; i < n; i++) {
		if (srch_explorer_seen(S->e, &pts[i]))
			continue;
		kseed += i < nseed;
		pts[k++] = pts[i];
	}
	left = S->o->trials > 0 ? S->o->trials - S->res->nrecords : k;
	k = k < left ? k : left;
	kseed = kseed < k ? kseed : k;
	/* the constructed points count as seeded; the model's picks do not */
	S->seeding = true;
	rc = trials(S, pts, kseed);
	S->seeding = false;
	return rc ? rc : trials(S, pts + kseed, k - kseed);
}

/* How many random starting points sa-q measures first when the measurer
 * asks for them (random_share of the trial budget, 8 to RANDOM_STARTS_MAX). */
#define RANDOM_STARTS_MAX 200

static int random_starts_wanted(const loop_state *S)
{
	int n = S->o->trials > 0 ? (int)(S->o->trials * S->m->random_share) : 50;

	if (S->o->method != SRCH_SA_Q || S->m->random_share <= 0)
		return 0;
	return n < 8 ? 8 : n > RANDOM_STARTS_MAX ? RANDOM_STARTS_MAX : n;
}

/* Measure distinct random points not seen yet, each a trial that seeds the
 * explorer.  Non-zero stops. */
static int random_starts(loop_state *S)
{
	uint64_t rng = S->o->seed ^ UINT64_C(0x5eed0f0e1f9a), seen[RANDOM_STARTS_MAX];
	int n = random_starts_wanted(S), nseen = 0;

	for (int tries = 0; nseen < n && tries < 4 * n && !out_of_budget(S); tries++) {
		srch_point p;
		uint64_t h;
		bool dup = false;
		int rc;

		srch_point_random(S->sp, &rng, &p);
		h = srch_point_hash(S->sp, &p);
		for (int i = 0; i < nseen && !dup; i++)
			dup = seen[i] == h;
		if (dup || srch_explorer_seen(S->e, &p))
			continue;
		seen[nseen++] = h;
		if ((rc = trial(S, &p)))
			return rc;
	}
	return 0;
}

/* CPU seconds used by this process's reaped children so far. */
static double children_cpu(void)
{
	struct rusage u;

	if (getrusage(RUSAGE_CHILDREN, &u))
		return 0;
	return (double)u.ru_utime.tv_sec + u.ru_utime.tv_usec * 1e-6 + (double)u.ru_stime.tv_sec +
	       u.ru_stime.tv_usec * 1e-6;
}

/* The median wall time of the trials measured now. */
static double trial_median(const srch_result *res)
{
	int n = res->nrecords - res->nhistory, k = 0;
	double *w = n > 0 ? malloc(sizeof(double) * (size_t)n) : NULL, m;

	if (!w)
		return 0;
	for (int i = res->nhistory; i < res->nrecords; i++)
		w[k++] = res->records[i].t_wall;
	m = k > 0 ? median_of(w, k) : 0;
	free(w);
	return m;
}

/* srch_model_filter's skip: the explorer learns the point as a lower bound. */
static void skip_point(void *e, const srch_point *p, double seconds)
{
	srch_explorer_report_bound(e, p, seconds);
}

/* The explorer's proposals until the budget ends, SRCH_TUNE_BATCH at a
 * time or the measurer's batch when larger (with a model, twice as many
 * proposals, ranked and filtered).  Non-zero stops: -1 out of memory, 1
 * the record callback. */
static int explore(loop_state *S)
{
	int cap = S->m->batch > SRCH_TUNE_BATCH ? S->m->batch : SRCH_TUNE_BATCH, n, rc = 0;
	int mult = S->o->model ? 2 : 1;
	srch_point *batch = malloc((size_t)cap * (size_t)mult * sizeof(*batch));
	double t1;

	if (!batch)
		return -1;
	while (rc == 0 && !out_of_budget(S)) {
		int want = S->o->trials > 0 ? S->o->trials - S->res->nrecords : cap;

		t1 = rt_now();
		n = srch_explorer_next(S->e, batch, (want < cap ? want : cap) * mult);
		if (n > 0 && S->o->model)
			n = srch_model_filter(S->o->model, S->sp, batch, n, skip_point, S->e);
		S->res->times.explore += rt_now() - t1;
		if (n == 0) {
			snprintf(S->res->stop_reason, 64, "space exhausted");
			break;
		}
		rc = trials(S, batch, S->o->trials > 0 && n > want ? want : n);
	}
	free(batch);
	return rc;
}

/* The trials: naive, constructed, random starts, proposals; the final
 * re-measure.  0, or -1 with err set (out of memory: res->out_of_memory). */
static int run(loop_state *S, rt_error *err)
{
	double t1 = rt_now();
	int n;

	if (srch_measurer_ready(S->m, S->ctx, err)) {
		S->res->unready = true;
		return -1;
	}
	S->res->times.setup = rt_now() - t1;
	if ((n = measure_naive(S)) == 0 && (n = measure_seeds(S)) == 0 && (n = random_starts(S)) == 0)
		n = explore(S);
	if (n < 0) {
		S->res->out_of_memory = true;
		return rt_error_set(err, 0, 0, "out of memory after %d trials", S->res->nrecords);
	}
	if (n == 0 && S->res->measured > 0 && !S->res->interrupted && S->m->ops->time)
		final_remeasure(S);
	return 0;
}

int srch_tune_with(srch_measurer *m, isl_ctx *ctx, const srch_tune_opts *o, srch_result *res, rt_error *err)
{
	srch_space *sp = calloc(1, sizeof(*sp));
	loop_state S = {m, ctx, o, res, sp, NULL, 0, 0, 0, rt_now(), INFINITY, false};
	double cpu0 = children_cpu();
	int rc = -1;

	memset(res, 0, sizeof(*res));
	res->best = -1;
	res->naive_seconds = INFINITY;
	if (!sp) {
		rt_error_set(err, 0, 0, "out of memory");
		goto out;
	}
	if (srch_space_init_for(sp, m->g, &m->t, err))
		goto out;
	if (!(S.e = srch_explorer_new(sp, o->method, o->seed)) || load_history(&S)) {
		rt_error_set(err, 0, 0, "out of memory");
		goto out;
	}
	if (o->model)
		srch_model_begin(o->model, m->g);
	if (out_of_budget(&S)) { /* the history fills the budget: nothing to measure */
		res->naive_seconds = o->naive_seconds > 0 ? o->naive_seconds : INFINITY;
		rc = 0;
	} else {
		rc = run(&S, err);
	}
	res->elapsed = rt_now() - S.t0;
	res->times.trial_median = trial_median(res);
	res->skipped_by_model = o->model ? srch_model_skipped(o->model) : 0;
	res->times.children_cpu = children_cpu() - cpu0;
out:
	srch_explorer_free(S.e);
	if (sp)
		srch_space_release(sp);
	free(sp);
	return rc;
}

int srch_tune(const te_graph *g, isl_ctx *ctx, const cg_target *t, const srch_tune_opts *o,
	      srch_result *res, rt_error *err)
{
	srch_measurer *m = srch_measurer_new(g, ctx, t, 0, err);
	int rc;

	if (!m) {
		memset(res, 0, sizeof(*res));
		res->best = -1;
		res->naive_seconds = INFINITY;
		return -1;
	}
	rc = srch_tune_with(m, ctx, o, res, err);
	srch_measurer_free(m);
	return rc;
}
