/*
 * tdb: the tuning database, one SQLite file.
 *
 * It keeps every measurement ftc makes (records), keyed by the workload (the
 * canonical hash of a te graph with its shapes) and the target (the target
 * string and a fingerprint of the hardware), and the best record per
 * workload and target.  Each record is committed as it is measured (WAL
 * mode, a busy timeout), so a tuner killed at any moment loses at most the
 * candidate it was measuring, and two tuners may share one file.
 *
 * Safety: a file that is not an ftc tuning db (not a regular file, not
 * SQLite, or SQLite with another application's tables), that is corrupt
 * (PRAGMA quick_check) or that lacks a table or column of its schema is
 * refused with a message and never written: an existing file is looked at
 * on a read-only connection before the first write.  A db of a newer
 * schema is refused; an older one is migrated in one transaction.  Schema
 * versions are a list of migrations (see tdb_schema.c): a new file runs
 * them all.  Row ids are never reused (AUTOINCREMENT, schema 3).
 *
 * Ownership: strings inside the structs returned by tdb_* are malloc'd and
 * released by the matching *_release / tdb_records_free.  Every function that
 * can fail returns 0 (or a count) on success and -1 with `err` set.
 */
#ifndef FTC_TDB_H
#define FTC_TDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "rt_error.h"

/* The schema this code writes (PRAGMA user_version). */
#define TDB_SCHEMA_VERSION 3

typedef struct tdb tdb;

/* Record status, as stored ("ok", "failed", "wrong"). */
typedef enum tdb_status { TDB_OK, TDB_FAILED, TDB_WRONG } tdb_status;

/* A workload: a te graph at concrete shapes. */
typedef struct tdb_workload {
	int64_t id;
	char *hash;    /* canonical hash, 16 hex digits (te_graph_hash) */
	char *text;    /* canonical text (te_print) */
	double flops;  /* floating-point operations of one run */
} tdb_workload;

/* A target: what code is generated for, and on what hardware. */
typedef struct tdb_target {
	int64_t id;
	char *target;      /* target string, e.g. "cpu -mcpu=znver4 -threads=2" */
	char *device;      /* CPU name or GPU arch, e.g. "znver4" */
	char *features;    /* CPU features ("+avx512f,...") or "" */
	char *fingerprint; /* hardware fingerprint (tdb_fingerprint) */
} tdb_target;

/* One measured candidate. */
typedef struct tdb_record {
	int64_t id;              /* set by tdb_record_add */
	char uid[33];            /* globally unique id (32 hex digits); set by
				  * tdb_record_add when empty; import skips a
				  * uid the db already has */
	int64_t workload, target;/* ids */
	char *schedule;          /* schedule text ("" = the naive schedule) */
	char *point;             /* the search point as "knob=value" text, or NULL */
	int space_version;       /* version of the schedule space that made `point` */
	char *compiler;          /* ftc version that measured it */
	char *method;            /* "sa-q", "random", "naive", "replay", "user", ... */
	uint64_t seed;
	tdb_status status;
	char *reason;            /* why it failed; "" when OK */
	double seconds;          /* median run time; INFINITY (stored NULL) when failed */
	double spread;           /* relative interquartile range */
	int runs;                /* timed runs (0: stopped at a cutoff, seconds is a lower bound) */
	double gflops;
	bool verified;           /* compared with the reference and equal */
	int64_t replay_of;       /* id of the older record this one replays, or 0 */
	double created;          /* unix time, seconds */
	bool imported;           /* came from tdb_import: never verified here, never
				  * the best; the search replays it first */
} tdb_record;

/* Where the db lives by default: $FTC_DB, else $XDG_CACHE_HOME/ftc/tuning.db,
 * else $HOME/.cache/ftc/tuning.db.  0, or -1 when none can be named. */
int tdb_default_path(char *out, size_t size, rt_error *err);

/*
 * Open the db at `path`, creating it (and its parent directory) when it does
 * not exist, migrating an older schema.  Refuses (returns -1, never
 * writing): a directory, device, FIFO or socket (symlinks followed), a file
 * that is not SQLite, a SQLite file that is not an ftc db, a corrupt or
 * incomplete file, a newer schema, an older one whose rows name missing
 * rows.  Messages start with the path.
 */
int tdb_open(const char *path, tdb **out, rt_error *err);
/* Open an existing db read-only (no creation, no migration). */
int tdb_open_readonly(const char *path, tdb **out, rt_error *err);
void tdb_close(tdb *db);

/* The schema version of the open db. */
int tdb_schema_version(const tdb *db);

/* A fingerprint of this machine's hardware: 16 hex digits over the CPU
 * model name, the CPU features ftc uses and the core count. */
void tdb_fingerprint(const char *device, const char *features, int cores, char out[17]);

/* Insert (or find) a workload / target; fills w->id / t->id. */
int tdb_workload_put(tdb *db, tdb_workload *w, rt_error *err);
int tdb_target_put(tdb *db, tdb_target *t, rt_error *err);

/* The workload whose hash starts with `prefix` (at least 4 hex digits);
 * 1 found, 0 none, -1 error (also when the prefix is ambiguous). */
int tdb_workload_find(tdb *db, const char *prefix, tdb_workload *w, rt_error *err);
void tdb_workload_release(tdb_workload *w);
void tdb_target_release(tdb_target *t);

/*
 * Add a record in its own transaction; sets r->id (and r->uid when
 * empty, r->created to now when 0).  When r is OK and verified and faster
 * than the best of its workload and target (or there is none), it becomes
 * the best.  On failure r is left as it was.
 */
int tdb_record_add(tdb *db, tdb_record *r, rt_error *err);

/* Every record of a workload on a target, oldest first: *out is an
 * array of *n records (free with tdb_records_free). */
int tdb_records(tdb *db, int64_t workload, int64_t target, tdb_record **out, int *n, rt_error *err);
void tdb_records_free(tdb_record *r, int n);
void tdb_record_release(tdb_record *r);

/* The best record of a workload on a target: 1 found, 0 none, -1 error.
 * out->seconds and out->gflops are the best's: the time tdb_set_best was
 * given, which may differ from the record's first measurement.  *out is
 * zeroed when none (tdb_record_release is safe either way). */
int tdb_best(tdb *db, int64_t workload, int64_t target, tdb_record *out, rt_error *err);
/* Make record `id` (OK and verified) the best, with its re-measured time. */
int tdb_set_best(tdb *db, int64_t workload, int64_t target, int64_t id, double seconds, rt_error *err);

/* Mark OK record `id` verified: its kernel was since compared with the
 * reference and agreed (a record timed but not checked when measured). */
int tdb_mark_verified(tdb *db, int64_t id, rt_error *err);

/* One row of tdb_list: a workload on a target. */
typedef struct tdb_summary {
	tdb_workload w;
	tdb_target t;
	int records, failures;
	double best_gflops;  /* 0 when no best */
	int64_t best_id;     /* 0 when no best */
} tdb_summary;

/* Every workload x target that has records, by workload hash then target. */
int tdb_list(tdb *db, tdb_summary **out, int *n, rt_error *err);
void tdb_summaries_free(tdb_summary *s, int n);

/*
 * Export every record (with its workload and target) as JSON lines, one
 * object per record, to `f`.  Returns the number written or -1.
 */
int tdb_export(tdb *db, FILE *f, rt_error *err);
/*
 * Merge JSON lines from `f` (as tdb_export writes them): records whose uid
 * is already present are skipped.  Each line's workload text must parse
 * and hash to its workload hash and give its flop count, and its numbers
 * must be sane (positive times, no negative spread or GFLOP/s, GFLOP/s
 * agreeing with flops / seconds).  Records are stored imported and
 * unverified: never the best until the search replays them here.  The
 * import is one transaction: a bad line (err names "LINE: ...") leaves
 * the db as it was.
 */
int tdb_import(tdb *db, FILE *f, int *added, int *skipped, rt_error *err);

/*
 * Remove records that cannot matter: failures, and OK records beyond the
 * `keep` fastest of each workload and target (the best is always kept).
 * Returns the number removed; then VACUUMs.
 */
int tdb_prune(tdb *db, int keep, rt_error *err);

/* PRAGMA integrity_check plus ftc's own checks (schema version, every
 * record's workload/target exists, each best points at an OK record).
 * 0 when sound; -1 with the first problem in err. */
int tdb_check(tdb *db, rt_error *err);

#endif
