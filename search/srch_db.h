/*
 * srch_db: the search's use of the tuning db (tuning_db/tdb.h).
 *
 * A workload is a te graph at concrete shapes; a target is the target
 * string plus a fingerprint of what measured: for the CPU the host's CPU
 * name, features and core count (as since the first schema); for the
 * other targets the measurer's device and name (cuda: the GPU, or the
 * emulator; hls: the part and clock, "hls-model"), so that records of
 * every target are remembered and times of different devices or ways of
 * measuring never mix.  The history of a workload on a
 * target is what a tune starts from: records of this compiler and space
 * version are trusted as measured (their points seed the explorer and count
 * toward the trial budget); the fastest records of older versions, and
 * imported ones, are replayed (re-lowered, re-verified, briefly
 * re-measured, stored again as method "replay") rather than trusted or
 * thrown away.
 */
#ifndef FTC_SRCH_DB_H
#define FTC_SRCH_DB_H

#include "srch_measurer.h"
#include "tdb.h"

/* How many older-version records a history load replays at most. */
#define SRCH_DB_REPLAY 8

/* Where a tune stores its records. */
typedef struct srch_db {
	tdb *db;                /* borrowed */
	int64_t workload, target;
	const te_graph *g;      /* borrowed */
	srch_measurer *m;       /* borrowed: the key, the naive schedule, the replays */
	srch_space space;
	const char *compiler;   /* this compiler's version (borrowed) */
	const char *method;     /* e.g. "sa-q" (borrowed) */
	uint64_t seed;
	int stored;             /* records added so far */
	rt_error err;           /* the first storing error */
} srch_db;

/* Register m's graph (verified) and target in db and prepare to store
 * records.  Release with srch_db_release, also after a failure. */
int srch_db_init(srch_db *s, tdb *db, srch_measurer *m, const char *compiler, const char *method, uint64_t seed,
		 rt_error *err);
void srch_db_release(srch_db *s);

/*
 * The history of s's workload and target as srch_records (see above),
 * oldest first; *best is the index of the db's best record among them
 * (its time the re-measured one), or -1; *naive_seconds gets the naive
 * schedule's latest time of this version (0 when unknown).  Replays
 * measure with the measurer in `ctx`.  Caller frees *out with
 * srch_records_free.
 */
int srch_db_history(srch_db *s, isl_ctx *ctx, srch_record **out, int *n, int *best, double *naive_seconds,
		    rt_error *err);
void srch_records_free(srch_record *r, int n);

/* srch_tune_opts.record: store r (sets r->id; the measurer's naive
 * schedule is stored as method "naive"); non-zero stops the tune. */
int srch_db_record(void *user, srch_record *r);

/* After a tune: make its re-measured best the db's best. */
int srch_db_finish(srch_db *s, const srch_result *res, rt_error *err);

/*
 * The schedule text of the db's best record for g on t (malloc'd into
 * *schedule, with its GFLOP/s), replaying it first when it comes from
 * another version or there is no best yet but imported or older records
 * (and falling back on the next when the replay fails).
 * 1 found, 0 none, -1 error.
 */
int srch_db_best(srch_db *s, isl_ctx *ctx, char **schedule, double *gflops, rt_error *err);

#endif
