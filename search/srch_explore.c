/*
 * srch_explore: the random and sa-q explorers.
 *
 * Both keep every point they have proposed or been told of (a table of
 * compact points, nslots values each, with a hash set over it), so nothing
 * is proposed twice.  A point's cost is NAN while it is pending (proposed,
 * not yet reported).
 *
 * sa-q, after FlexTensor (ASPLOS 2020):
 *   - history: the reported points of finite cost that may still have an
 *     unseen neighbour ("open"), sorted by cost;
 *   - each call of next() is a round: simulated annealing picks up to
 *     SQ_STARTS start points among the SQ_TOPK best open points and
 *     SQ_RANDOM others drawn from the whole open history, taken in a
 *     random order, each accepted with probability
 *     exp(-(t - t_best) / (T * t_best)); T = max(SQ_T_MIN, SQ_T0 *
 *     SQ_COOL^round);
 *   - from each start a walk of up to SQ_WALK steps: at each step the
 *     Q-network (input: the point's features, output: one value per
 *     direction) picks, epsilon-greedily, the valid direction of highest Q
 *     (ties broken at random) that reaches an unseen point; every point
 *     reached is proposed.  The starts are walked from in turn until `max`
 *     points are proposed or none can move; a start with no unseen
 *     neighbour leaves the open history; random unseen points fill what is
 *     left (all of it before the first finite cost);
 *   - learning: a reported point reached by a walk gives the transition
 *     (from, dir, reward, to), reward = (t_from - t_to) / t_from clipped to
 *     [-1, 1], -1 for a failure (which ends the episode).  Transitions go
 *     to a replay ring; every SQ_TRAIN_EVERY reports the network takes an
 *     Adam step on a random minibatch towards reward + SQ_GAMMA * max_a
 *     Q_target(to), the loss on the taken direction only; the target
 *     network copies the online one every SQ_SYNC_EVERY trainings.  The
 *     output layer starts scaled down (SQ_OUT_SCALE) so that untried
 *     directions look neutral (Q near 0) instead of arbitrary;
 *   - epsilon = SQ_EPS_MIN + (SQ_EPS0 - SQ_EPS_MIN) * exp(-n / SQ_EPS_TAU),
 *     n the transitions learnt since the last restart;
 *   - after SQ_REHEAT rounds without a new best, T and epsilon restart
 *     (round 0, n 0): a stuck search widens again.
 * The constants were tuned on the synthetic GEMM costs of
 * tests/test_explore.c (a batch of 8 proposals per round).
 * Every random choice comes from one splitmix64 state seeded by the caller.
 */
#include "srch_explore.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rt_rand.h"
#include "srch_mlp.h"

#define RANDOM_TRIES 64	  /* random draws before scanning for an unseen point */
#define SQ_STARTS 4	  /* start points per round, at most */
#define SQ_TOPK 6	  /* best open points among the annealing candidates */
#define SQ_RANDOM 4	  /* random open points among them */
#define SQ_WALK 2	  /* steps of one walk */
#define SQ_HIDDEN 64	  /* units in each of the two hidden layers */
#define SQ_REPLAY 10000	  /* replay ring capacity */
#define SQ_BATCH 32	  /* minibatch */
#define SQ_TRAIN_MIN 16	  /* transitions before the first training */
#define SQ_TRAIN_EVERY 1  /* reports between trainings */
#define SQ_SYNC_EVERY 16  /* trainings between target-network copies */
#define SQ_WAITING 4096	  /* reported points whose predecessor is pending */
#define SQ_T0 1.0	  /* initial temperature */
#define SQ_COOL 0.9	  /* its factor per round */
#define SQ_T_MIN 0.05	  /* its floor */
#define SQ_REHEAT 25	  /* rounds without a new best before T and epsilon restart */
#define SQ_EPS0 0.9	  /* initial epsilon */
#define SQ_EPS_MIN 0.05	  /* its floor */
#define SQ_EPS_TAU 200.0  /* its decay, in transitions learnt */
#define SQ_GAMMA 0.5	  /* discount */
#define SQ_LR 1e-3	  /* Adam learning rate */
#define SQ_OUT_SCALE 0.01 /* the output layer's He-uniform weights, scaled */

typedef struct entry {
	double cost; /* NAN while pending; INFINITY for a failure */
	int from;    /* the walk's previous point, -1 when none */
	int dir;     /* the direction taken from `from` */
	bool closed; /* a walk found no unseen neighbour */
} entry;

typedef struct transition {
	int from, to, dir;
	double reward;
} transition;

struct srch_explorer {
	const srch_space *s;
	srch_method method;
	uint64_t rng;
	int nslots;

	/* every point seen: proposed, reported or seeded */
	int n, cap;
	int64_t *pts; /* n rows of nslots */
	uint64_t *hash;
	entry *ent;
	int *tab; /* open addressing: index + 1, 0 = empty */
	size_t tabcap;

	int best;
	double best_cost;

	/* sa-q */
	int *open; /* finite-cost points not closed, by cost then index */
	int nopen, opencap;
	int round;
	int stale; /* rounds since the best improved */
	int waiting[SQ_WAITING];
	int nwaiting;
	srch_mlp *q, *qt;
	int ndirs, nfeat;
	srch_dir *dirs;
	transition *replay;
	int nreplay, replay_next;
	long ntransitions;
	long eps_from; /* ntransitions when epsilon last restarted */
	int since_train, ntrain;
	double *feat, *qv, *bx, *bt;
	unsigned char *bm;
	srch_point pa, pb; /* scratch */
};



static int below(uint64_t *s, int n)
{
	return (int)(rt_rand_next(s) % (uint64_t)n);
}

/* ---- the table of seen points ------------------------------------------ */

static const int64_t *row(const srch_explorer *e, int i)
{
	return e->pts + (size_t)i * (size_t)e->nslots;
}

static void expand(const srch_explorer *e, int i, srch_point *p)
{
	memset(p, 0, sizeof(*p));
	memcpy(p->v, row(e, i), sizeof(int64_t) * (size_t)e->nslots);
}

static bool same(const srch_explorer *e, int i, const srch_point *p)
{
	return memcmp(row(e, i), p->v, sizeof(int64_t) * (size_t)e->nslots) == 0;
}

/* Index of p among the seen points, -1 when unseen. */
static int find(const srch_explorer *e, const srch_point *p, uint64_t h)
{
	size_t mask = e->tabcap - 1;
	for (size_t k = h & mask; e->tab[k]; k = (k + 1) & mask) {
		int i = e->tab[k] - 1;
		if (e->hash[i] == h && same(e, i, p))
			return i;
	}
	return -1;
}

static bool seen(const srch_explorer *e, const srch_point *p)
{
	return find(e, p, srch_point_hash(e->s, p)) >= 0;
}

static void tab_put(srch_explorer *e, int i)
{
	size_t mask = e->tabcap - 1, k = e->hash[i] & mask;
	while (e->tab[k])
		k = (k + 1) & mask;
	e->tab[k] = i + 1;
}

static bool grow(srch_explorer *e)
{
	if (e->n < e->cap && 2 * (size_t)(e->n + 1) <= e->tabcap)
		return true;
	int cap = e->cap ? 2 * e->cap : 256;
	int64_t *pts =
	    realloc(e->pts, sizeof(int64_t) * (size_t)cap * (size_t)(e->nslots ? e->nslots : 1));
	if (!pts)
		return false;
	e->pts = pts;
	uint64_t *hash = realloc(e->hash, sizeof(uint64_t) * (size_t)cap);
	if (!hash)
		return false;
	e->hash = hash;
	entry *ent = realloc(e->ent, sizeof(entry) * (size_t)cap);
	if (!ent)
		return false;
	e->ent = ent;
	int *tab = calloc(2 * (size_t)cap, sizeof(int));
	if (!tab)
		return false;
	free(e->tab);
	e->tab = tab;
	e->tabcap = 2 * (size_t)cap;
	e->cap = cap;
	for (int i = 0; i < e->n; i++)
		tab_put(e, i);
	return true;
}

/* Add unseen p; returns its index, -1 when out of memory. */
static int insert(srch_explorer *e, const srch_point *p, uint64_t h, double cost, int from, int dir)
{
	if (!grow(e))
		return -1;
	int i = e->n++;
	memcpy(e->pts + (size_t)i * (size_t)e->nslots, p->v, sizeof(int64_t) * (size_t)e->nslots);
	e->hash[i] = h;
	e->ent[i] = (entry){cost, from, dir, false};
	tab_put(e, i);
	return i;
}

/*
 * An unseen point into p: uniformly random draws first; when RANDOM_TRIES
 * of them were all seen the space is nearly exhausted, and the neighbours
 * of every seen point are scanned in order.  False when none is left.
 */
static bool fresh_random(srch_explorer *e, srch_point *p)
{
	for (int t = 0; t < RANDOM_TRIES; t++) {
		srch_point_random(e->s, &e->rng, p);
		if (!seen(e, p))
			return true;
	}
	int nd = srch_space_ndirs(e->s);
	for (int i = 0; i < e->n; i++) {
		expand(e, i, &e->pa);
		for (int d = 0; d < nd; d++)
			if (srch_point_move(e->s, &e->pa, srch_space_dir(e->s, d), p) &&
			    !seen(e, p))
				return true;
	}
	return false;
}

/* Propose fresh random points into out[cnt..max); returns the new count. */
static int fill_random(srch_explorer *e, srch_point *out, int cnt, int max)
{
	while (cnt < max && fresh_random(e, &out[cnt])) {
		const srch_point *p = &out[cnt];
		if (insert(e, p, srch_point_hash(e->s, p), NAN, -1, -1) < 0)
			break;
		cnt++;
	}
	return cnt;
}

/* ---- the open history (sa-q) ------------------------------------------- */

static bool before(const srch_explorer *e, int a, int b)
{
	double ca = e->ent[a].cost, cb = e->ent[b].cost;
	return ca < cb || (ca == cb && a < b);
}

static void open_add(srch_explorer *e, int i)
{
	if (e->nopen == e->opencap) {
		int cap = e->opencap ? 2 * e->opencap : 256;
		int *o = realloc(e->open, sizeof(int) * (size_t)cap);
		if (!o)
			return; /* the point just never becomes a start */
		e->open = o;
		e->opencap = cap;
	}
	int lo = 0, hi = e->nopen;
	while (lo < hi) {
		int mid = (lo + hi) / 2;
		if (before(e, e->open[mid], i))
			lo = mid + 1;
		else
			hi = mid;
	}
	memmove(e->open + lo + 1, e->open + lo, sizeof(int) * (size_t)(e->nopen - lo));
	e->open[lo] = i;
	e->nopen++;
}

static void open_close(srch_explorer *e, int i)
{
	e->ent[i].closed = true;
	for (int k = 0; k < e->nopen; k++)
		if (e->open[k] == i) {
			memmove(e->open + k, e->open + k + 1,
				sizeof(int) * (size_t)(e->nopen - k - 1));
			e->nopen--;
			return;
		}
}

/* ---- the Q-network ----------------------------------------------------- */

static void features(srch_explorer *e, int i, double *out)
{
	expand(e, i, &e->pa);
	srch_point_features(e->s, &e->pa, out, e->nfeat);
}

static double epsilon(const srch_explorer *e)
{
	return SQ_EPS_MIN +
	       (SQ_EPS0 - SQ_EPS_MIN) * exp(-(double)(e->ntransitions - e->eps_from) / SQ_EPS_TAU);
}

/* One minibatch step of Q-learning on the replay ring. */
static void train(srch_explorer *e)
{
	int nf = e->nfeat, nd = e->ndirs;
	memset(e->bm, 0, (size_t)SQ_BATCH * (size_t)nd);
	for (int b = 0; b < SQ_BATCH; b++) {
		const transition *t = &e->replay[below(&e->rng, e->nreplay)];
		double *x = e->bx + (size_t)b * nf, *y = e->bt + (size_t)b * nd;
		double target = t->reward;
		if (isfinite(e->ent[t->to].cost)) {
			features(e, t->to, x);
			srch_mlp_forward(e->qt, x, e->qv);
			double mx = e->qv[0];
			for (int d = 1; d < nd; d++)
				mx = fmax(mx, e->qv[d]);
			target += SQ_GAMMA * mx;
		}
		features(e, t->from, x);
		memset(y, 0, sizeof(double) * (size_t)nd);
		y[t->dir] = target;
		e->bm[(size_t)b * nd + t->dir] = 1;
	}
	srch_mlp_train(e->q, e->bx, e->bt, e->bm, SQ_BATCH, SQ_LR);
	if (++e->ntrain % SQ_SYNC_EVERY == 0)
		srch_mlp_copy(e->qt, e->q);
}

/* Record the move from -> to, both reported. */
static void transition_add(srch_explorer *e, int from, int to)
{
	double cf = e->ent[from].cost, ct = e->ent[to].cost;
	if (!isfinite(cf) || cf <= 0)
		return;
	double r = isfinite(ct) ? (cf - ct) / cf : -1.0;
	r = fmin(1.0, fmax(-1.0, r));
	e->replay[e->replay_next] = (transition){from, to, e->ent[to].dir, r};
	e->replay_next = (e->replay_next + 1) % SQ_REPLAY;
	if (e->nreplay < SQ_REPLAY)
		e->nreplay++;
	e->ntransitions++;
}

/* Learn from the report of point i: its own move and moves out of it. */
static void learn(srch_explorer *e, int i)
{
	int f = e->ent[i].from;
	if (f >= 0) {
		if (!isnan(e->ent[f].cost))
			transition_add(e, f, i);
		else if (e->nwaiting < SQ_WAITING)
			e->waiting[e->nwaiting++] = i;
	}
	for (int k = 0; k < e->nwaiting;) {
		int w = e->waiting[k];
		if (e->ent[w].from == i) {
			transition_add(e, i, w);
			e->waiting[k] = e->waiting[--e->nwaiting];
		} else {
			k++;
		}
	}
	if (++e->since_train >= SQ_TRAIN_EVERY && e->nreplay >= SQ_TRAIN_MIN) {
		e->since_train = 0;
		train(e);
	}
}

/*
 * From point `cur` (index i, expanded in *cur), the epsilon-greedy choice of
 * a valid direction to an unseen point, written to *next.  Returns the
 * direction's number, -1 when every neighbour is seen or invalid.
 */
static int pick(srch_explorer *e, int i, const srch_point *cur, srch_point *next)
{
	bool greedy = rt_rand_unit(&e->rng) >= epsilon(e);
	if (greedy) {
		features(e, i, e->feat);
		srch_mlp_forward(e->q, e->feat, e->qv);
	}
	int best = -1, n = 0; /* n: candidates so far, for reservoir sampling */
	for (int d = 0; d < e->ndirs; d++) {
		if (!srch_point_move(e->s, cur, e->dirs[d], next) || seen(e, next))
			continue;
		if (greedy && best >= 0 && e->qv[d] < e->qv[best])
			continue;
		if (greedy && best >= 0 && e->qv[d] > e->qv[best])
			n = 0; /* a new maximum: ties are broken at random */
		if (below(&e->rng, ++n) == 0)
			best = d;
	}
	if (best >= 0)
		srch_point_move(e->s, cur, e->dirs[best], next);
	return best;
}

/* Choose up to `want` start indices by simulated annealing; returns how many. */
static int choose_starts(srch_explorer *e, int *starts, int want)
{
	int cand[SQ_TOPK + SQ_RANDOM], nc = 0;
	for (int k = 0; k < e->nopen && k < SQ_TOPK; k++)
		cand[nc++] = e->open[k];
	for (int r = 0; r < SQ_RANDOM && e->nopen > SQ_TOPK; r++) {
		int c = e->open[SQ_TOPK + below(&e->rng, e->nopen - SQ_TOPK)];
		bool dup = false;
		for (int k = SQ_TOPK; k < nc; k++)
			dup |= cand[k] == c;
		if (!dup)
			cand[nc++] = c;
	}
	for (int k = nc - 1; k > 0; k--) {
		int j = below(&e->rng, k + 1), t = cand[k];
		cand[k] = cand[j];
		cand[j] = t;
	}
	double T = fmax(SQ_T_MIN, SQ_T0 * pow(SQ_COOL, e->round));
	double tb = e->best_cost;
	int ns = 0;
	for (int k = 0; k < nc && ns < want; k++) {
		double t = e->ent[cand[k]].cost;
		if (rt_rand_unit(&e->rng) < exp(-(t - tb) / (T * tb)))
			starts[ns++] = cand[k];
	}
	if (ns == 0)
		starts[ns++] = e->open[0];
	return ns;
}

/* Walk from the chosen starts; returns the number of points proposed. */
static int walk(srch_explorer *e, srch_point *out, int max)
{
	int starts[SQ_STARTS];
	int ns = choose_starts(e, starts, max < SQ_STARTS ? max : SQ_STARTS);
	e->round++;
	if (++e->stale >= SQ_REHEAT) {
		e->round = 0;
		e->stale = 0;
		e->eps_from = e->ntransitions;
	}
	int cnt = 0;
	for (bool moved = true; moved && cnt < max;) {
		moved = false;
		for (int k = 0; k < ns && cnt < max; k++) {
			int i = starts[k];
			if (e->ent[i].closed)
				continue;
			expand(e, i, &e->pb);
			for (int step = 0; step < SQ_WALK && cnt < max; step++) {
				int d = pick(e, i, &e->pb, &out[cnt]);
				if (d < 0) {
					if (step == 0)
						open_close(e, i);
					break;
				}
				const srch_point *p = &out[cnt];
				int j = insert(e, p, srch_point_hash(e->s, p), NAN, i, d);
				if (j < 0)
					return cnt;
				cnt++;
				moved = true;
				i = j;
				e->pb = *p;
			}
		}
	}
	return cnt;
}

/* ---- the interface ------------------------------------------------------ */

static bool saq_init(srch_explorer *e)
{
	e->ndirs = srch_space_ndirs(e->s);
	e->nfeat = srch_space_nfeatures(e->s);
	if (e->ndirs < 1 || e->nfeat < 1)
		return true; /* nothing to walk: sa-q proposes random points */
	int sizes[4] = {e->nfeat, SQ_HIDDEN, SQ_HIDDEN, e->ndirs};
	uint64_t seed = rt_rand_next(&e->rng);
	e->q = srch_mlp_new(sizes, 4, seed);
	e->qt = srch_mlp_new(sizes, 4, seed);
	if (e->q && e->qt) {
		/* Q starts near 0 everywhere rather than at the init's arbitrary
		 * values of order 1, far above rewards of a few percent. */
		int np = srch_mlp_params(e->q, NULL, 0);
		int nout = e->ndirs * SQ_HIDDEN + e->ndirs;
		double **p = malloc(sizeof(double *) * (size_t)np);
		if (!p)
			return false;
		srch_mlp_params(e->q, p, np);
		for (int i = np - nout; i < np; i++)
			*p[i] *= SQ_OUT_SCALE;
		free(p);
		srch_mlp_copy(e->qt, e->q);
	}
	e->dirs = malloc(sizeof(srch_dir) * (size_t)e->ndirs);
	e->replay = malloc(sizeof(transition) * SQ_REPLAY);
	e->feat = malloc(sizeof(double) * (size_t)e->nfeat);
	e->qv = malloc(sizeof(double) * (size_t)e->ndirs);
	e->bx = malloc(sizeof(double) * SQ_BATCH * (size_t)e->nfeat);
	e->bt = malloc(sizeof(double) * SQ_BATCH * (size_t)e->ndirs);
	e->bm = malloc(SQ_BATCH * (size_t)e->ndirs);
	if (!e->q || !e->qt || !e->dirs || !e->replay || !e->feat || !e->qv || !e->bx || !e->bt ||
	    !e->bm)
		return false;
	for (int d = 0; d < e->ndirs; d++)
		e->dirs[d] = srch_space_dir(e->s, d);
	return true;
}

srch_explorer *srch_explorer_new(const srch_space *s, srch_method m, uint64_t seed)
{
	srch_explorer *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->s = s;
	e->method = m;
	e->rng = seed;
	e->nslots = s->nslots;
	e->best = -1;
	e->best_cost = INFINITY;
	if (!grow(e) || (m == SRCH_SA_Q && !saq_init(e)))
		return srch_explorer_free(e);
	return e;
}

srch_explorer *srch_explorer_free(srch_explorer *e)
{
	if (!e)
		return NULL;
	free(e->pts);
	free(e->hash);
	free(e->ent);
	free(e->tab);
	free(e->open);
	srch_mlp_free(e->q);
	srch_mlp_free(e->qt);
	free(e->dirs);
	free(e->replay);
	free(e->feat);
	free(e->qv);
	free(e->bx);
	free(e->bt);
	free(e->bm);
	free(e);
	return NULL;
}

/* The cost of point i becomes known; `bound`: it is only a lower bound
 * (a candidate stopped at the cut-off), which never makes the best nor a
 * start, though its move still teaches the network (its reward is at most
 * what the bound gives). */
static void record(srch_explorer *e, int i, double cost, bool bound)
{
	e->ent[i].cost = cost;
	if (cost < e->best_cost && !bound) {
		e->best_cost = cost;
		e->best = i;
		e->stale = 0;
	}
	if (e->method != SRCH_SA_Q || !e->q)
		return;
	if (isfinite(cost) && !bound)
		open_add(e, i);
	learn(e, i);
}

static void report(srch_explorer *e, const srch_point *p, double cost, bool bound)
{
	if (isnan(cost))
		cost = INFINITY;
	uint64_t h = srch_point_hash(e->s, p);
	int i = find(e, p, h);
	if (i < 0)
		i = insert(e, p, h, NAN, -1, -1);
	if (i >= 0 && isnan(e->ent[i].cost))
		record(e, i, cost, bound);
}

void srch_explorer_report(srch_explorer *e, const srch_point *p, double cost)
{
	report(e, p, cost, false);
}

void srch_explorer_report_bound(srch_explorer *e, const srch_point *p, double lower)
{
	report(e, p, lower, true);
}

bool srch_explorer_seen(const srch_explorer *e, const srch_point *p)
{
	return seen(e, p);
}

void srch_explorer_seed(srch_explorer *e, const srch_point *p, double cost)
{
	srch_explorer_report(e, p, cost);
}

int srch_explorer_next(srch_explorer *e, srch_point *out, int max)
{
	int cnt = 0;
	if (max <= 0)
		return 0;
	if (e->method == SRCH_SA_Q && e->q && e->nopen > 0)
		cnt = walk(e, out, max);
	return fill_random(e, out, cnt, max);
}

double srch_explorer_best(const srch_explorer *e, srch_point *p)
{
	if (e->best >= 0 && p)
		expand(e, e->best, p);
	return e->best_cost;
}

const char *srch_method_name(srch_method m)
{
	return m == SRCH_SA_Q ? "sa-q" : "random";
}

/* 0 and *m set for "random" or "sa-q"; -1 otherwise. */
int srch_method_parse(const char *s, srch_method *m)
{
	if (strcmp(s, "random") == 0)
		*m = SRCH_RANDOM;
	else if (strcmp(s, "sa-q") == 0)
		*m = SRCH_SA_Q;
	else
		return -1;
	return 0;
}
