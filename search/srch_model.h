/*
 * srch_model: a cost model that learns across tunes (issue 15, item 4).
 *
 * Every record of the tuning db for one target, whatever its workload, is
 * a sample: the features of its schedule as analysed against its te graph
 * (sch_stage_loops: the loop nest, extents, kinds; the stage's affine
 * accesses; the machine's vector width, registers, caches and threads) and
 * its log2 GFLOP/s relative to the best of its workload.  Because the
 * features are properties of a loop nest on a machine (bytes per FLOP from
 * beyond each cache level, vector and register tile shape, parallel extent,
 * reduction depth, packing, reuse), not knob indices of one space, what
 * one workload taught transfers to another (docs/model.md lists them).
 * A small MLP (srch_mlp) maps features to that relative log2 GFLOP/s; it
 * ranks candidates, it does not predict absolute speed.
 *
 * In a tune (srch_tune): it picks a few starting points among random ones
 * (srch_model_starts), orders each batch of the explorer's proposals and
 * skips those it predicts far below the best (srch_model_filter; a skipped
 * point is told to the explorer as a lower bound at the predicted time),
 * and learns from each new measurement (srch_model_observe).  A wrong
 * model cannot starve the search: the best-ranked proposal of every batch
 * is measured, every SRCH_MODEL_AUDIT-th candidate it would skip is
 * measured anyway, and when too many of those audits prove it wrong it
 * stops skipping for the rest of the tune.
 *
 * Deterministic: the same db, machine and seed give the same model and
 * the same decisions.
 */
#ifndef FTC_SRCH_MODEL_H
#define FTC_SRCH_MODEL_H

#include <stdint.h>

#include "rt_error.h"
#include "sched.h"
#include "srch_seed.h"
#include "srch_space.h"
#include "tdb.h"
#include "te.h"

/* Features of one schedule (docs/model.md). */
#define SRCH_MODEL_NFEAT 24
/* Fewer usable records than this in the db: no model. */
#define SRCH_MODEL_MIN_RECORDS 16
/* The db's records a model trains on at most (the first ones read). */
#define SRCH_MODEL_MAX_SAMPLES 50000
/* Skip a candidate predicted this many log2 units (4x) below the best. */
#define SRCH_MODEL_SKIP_MARGIN 2.0
/* Every this many candidates the model would skip, one is measured. */
#define SRCH_MODEL_AUDIT 4
/* Starting points the model picks per tune, among SRCH_MODEL_POOL random ones. */
#define SRCH_MODEL_STARTS 4
#define SRCH_MODEL_POOL 256

typedef struct srch_model srch_model;

/*
 * The features of schedule `s` of graph g on machine m into out[0 ..
 * SRCH_MODEL_NFEAT).  -1 with err set when s does not apply to g (a stage
 * or loop it names does not exist).
 */
int srch_model_features(const te_graph *g, const sch_schedule *s, const srch_machine *m, double *out,
			rt_error *err);
/* The same from schedule text. */
int srch_model_features_text(const te_graph *g, const char *schedule, const srch_machine *m, double *out,
			     rt_error *err);

/* An empty model for machine m (copied); NULL when out of memory. */
srch_model *srch_model_new(const srch_machine *m, uint64_t seed);
srch_model *srch_model_free(srch_model *md);

/* Add a sample of workload `group` (any int; samples are compared within
 * their group); `bound`: gflops is only an upper bound (a run stopped at
 * the cut-off).  -1 when out of memory. */
int srch_model_add(srch_model *md, int group, const double *feat, double gflops, bool bound);
int srch_model_nsamples(const srch_model *md);
/* Train on the samples (`steps` minibatches).  -1 with err set when fewer
 * than SRCH_MODEL_MIN_RECORDS samples lie in groups of two or more. */
int srch_model_fit(srch_model *md, int steps, rt_error *err);
/* The predicted log2 GFLOP/s of feat relative to its workload's best. */
double srch_model_predict(const srch_model *md, const double *feat);

/*
 * A model trained on every usable record (OK, measured here, with a
 * schedule that applies to its workload) of every workload on target
 * `target` of db.  NULL with err set when the db cannot be read or holds
 * too few records (the tune then runs without one); *nused gets the
 * number of records it was trained on.
 */
srch_model *srch_model_from_db(tdb *db, int64_t target, const srch_machine *m, uint64_t seed, int *nused,
			       rt_error *err);

/* ---- in a tune ---- */

/* Start tuning g (borrowed until the next begin or the model's end): new
 * samples form a group of their own; the counters restart. */
void srch_model_begin(srch_model *md, const te_graph *g);
/* Learn from a measurement of `schedule` (gflops 0: it failed, ignored;
 * `bound`: stopped at the cut-off, gflops an upper bound). */
void srch_model_observe(srch_model *md, const char *schedule, double gflops, bool bound);
/* Up to `max` distinct points of sp predicted best among SRCH_MODEL_POOL
 * random ones drawn from `seed`, best first; returns how many (0 when out
 * of memory). */
int srch_model_starts(srch_model *md, const srch_space *sp, uint64_t seed, srch_point *out, int max);
/*
 * Order pts[0..n) best-predicted first and drop those predicted more than
 * SRCH_MODEL_SKIP_MARGIN below the best measured so far (never the first,
 * never an audit, never once skipping is off); each dropped point goes to
 * skip(user, point, predicted seconds).  Returns how many are left.  A
 * batch over 16 points (or a model not trained) passes as it is.
 */
int srch_model_filter(srch_model *md, const srch_space *sp, srch_point *pts, int n,
		      void (*skip)(void *, const srch_point *, double), void *skip_user);
/* Candidates skipped since begin; audits made and how many proved the
 * model wrong; whether skipping is still on. */
int srch_model_skipped(const srch_model *md);
void srch_model_audits(const srch_model *md, int *audits, int *misses, bool *skipping);

#endif
