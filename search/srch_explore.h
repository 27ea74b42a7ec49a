/*
 * srch_explore: explorers of a schedule space, behind one interface.
 *
 *   random: uniformly random unseen points (the baseline).
 *   sa-q:   FlexTensor's method: simulated annealing picks start points
 *           from the measured history (a point p with time t is accepted
 *           with probability exp(-(t - t_best) / (T * t_best)), T cooling
 *           geometrically); from each start a Q-network (srch_mlp) picks the
 *           direction to move, epsilon-greedy with decaying epsilon; reward
 *           = relative improvement (t_from - t_to) / t_from, failures
 *           penalised; experience replay and a target network synced
 *           periodically; trained every few reports.
 * All choices come from a splitmix64 state seeded by the caller: the same
 * seed, space and reported costs give the same sequence of proposals.
 * Costs are seconds (lower is better); a failure is reported as INFINITY.
 */
#ifndef FTC_SRCH_EXPLORE_H
#define FTC_SRCH_EXPLORE_H

#include "srch_space.h"

typedef enum srch_method { SRCH_RANDOM, SRCH_SA_Q } srch_method;

typedef struct srch_explorer srch_explorer;

/* A new explorer of s (borrowed).  NULL when out of memory. */
srch_explorer *srch_explorer_new(const srch_space *s, srch_method m, uint64_t seed);
srch_explorer *srch_explorer_free(srch_explorer *e);

/* Already-measured points (a warm start from the tuning db): they count as
 * history and are never proposed again. */
void srch_explorer_seed(srch_explorer *e, const srch_point *p, double cost);

/* Up to `max` new points to measure next (never one already proposed or
 * seeded); returns how many (0 when the space is exhausted). */
int srch_explorer_next(srch_explorer *e, srch_point *out, int max);

/* The cost of a proposed point. */
void srch_explorer_report(srch_explorer *e, const srch_point *p, double cost);
/* A lower bound on the cost of a point (stopped at the cut-off): never the
 * best nor a start of sa-q's walks. */
void srch_explorer_report_bound(srch_explorer *e, const srch_point *p, double lower);
/* Whether p was proposed, reported or seeded. */
bool srch_explorer_seen(const srch_explorer *e, const srch_point *p);

/* The best point reported so far and its cost (INFINITY when none). */
double srch_explorer_best(const srch_explorer *e, srch_point *p);

const char *srch_method_name(srch_method m);
int srch_method_parse(const char *s, srch_method *m);

#endif
