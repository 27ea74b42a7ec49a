/*
 * tdb_priv: what the files of tuning_db/ share and the tests may use; not
 * part of the public surface (tdb.h).
 *
 *   tdb.c         open/close, workloads, targets, records, best, list, prune,
 *                 check
 *   tdb_schema.c  the file's identity (application_id, user_version) and the
 *                 list of migrations
 *   tdb_json.c    export and import as JSON lines
 */
#ifndef FTC_TDB_PRIV_H
#define FTC_TDB_PRIV_H

#include <sqlite3.h>

#include "tdb.h"

/* PRAGMA application_id of an ftc tuning db: "ftc1". */
#define TDB_APPLICATION_ID 0x66746331

/* The longest line tdb_import reads (a record with its workload's text). */
#define TDB_IMPORT_LINE_MAX (4 << 20)

/* The busy timeout: how long a writer waits for another one. */
#define TDB_BUSY_MS 30000

/* Statements kept prepared for the life of a connection (tdb_stmt). */
typedef enum tdb_query {
	TDB_Q_WORKLOAD_INSERT,
	TDB_Q_WORKLOAD_BY_HASH,
	TDB_Q_TARGET_INSERT,
	TDB_Q_TARGET_BY_KEY,
	TDB_Q_RECORD_INSERT,
	TDB_Q_RECORD_BY_UID,
	TDB_Q_BEST_OFFER,
	TDB_Q_COUNT
} tdb_query;

struct tdb {
	sqlite3 *h;
	char *path;
	int version; /* PRAGMA user_version */
	bool readonly;
	sqlite3_stmt *stmt[TDB_Q_COUNT];
};

/* Set err to "PATH: WHAT: sqlite's message" after a failed call on `h`
 * (corruption said as such); returns -1.  tdb_sql_fail: the same for db. */
int tdb_sqlite_fail(sqlite3 *h, const char *path, rt_error *err, const char *what);
int tdb_sql_fail(const tdb *db, rt_error *err, const char *what);

/* The statement `q`, prepared on first use, reset and unbound; NULL with err
 * set on failure.  The caller resets it when done (tdb_stmt_done). */
sqlite3_stmt *tdb_stmt(tdb *db, tdb_query q, rt_error *err);
/* Reset `s` so that it holds no read transaction; returns `rc`. */
int tdb_stmt_done(sqlite3_stmt *s, int rc);

/* Write transactions: BEGIN IMMEDIATE (waits up to the busy timeout for
 * other writers), COMMIT, ROLLBACK (never fails the caller). */
int tdb_begin(tdb *db, rt_error *err);
int tdb_commit(tdb *db, rt_error *err);
void tdb_rollback(tdb *db);

/* The parts of tdb_workload_put / tdb_target_put / tdb_record_add that run
 * inside a transaction the caller holds.  Strings are borrowed. */
int tdb_workload_put_locked(tdb *db, tdb_workload *w, rt_error *err);
int tdb_target_put_locked(tdb *db, tdb_target *t, rt_error *err);
int tdb_record_add_locked(tdb *db, tdb_record *r, rt_error *err);

/* The columns of a record, in the order tdb_record_read takes them, for a
 * query where the records table is named r. */
#define TDB_RECORD_COLS                                                                            \
	"r.id, r.uid, r.workload, r.target, r.schedule, r.point, r.space_version, "                \
	"r.compiler, r.method, r.seed, r.status, r.reason, r.seconds, r.spread, r.runs, "          \
	"r.gflops, r.verified, r.replay_of, r.created, r.imported"
#define TDB_RECORD_NCOLS 20

/* Fill *out (strings malloc'd) from TDB_RECORD_COLS at column `col` of the
 * current row of `s`; -1 with err set (out released) on failure. */
int tdb_record_read(const tdb *db, sqlite3_stmt *s, int col, tdb_record *out, rt_error *err);

/* The id of the record with this uid: 1 found, 0 none, -1 error. */
int tdb_record_by_uid(tdb *db, const char *uid, int64_t *id, rt_error *err);

/* Status <-> its stored name; tdb_status_parse returns -1 for none. */
const char *tdb_status_name(tdb_status s);
int tdb_status_parse(const char *name, tdb_status *out);

/* uint64 seeds are stored as the int64 of the same bits. */
int64_t tdb_seed_to_sql(uint64_t seed);
uint64_t tdb_seed_from_sql(int64_t v);

/* Whether `s` is exactly 32 lowercase hex digits. */
bool tdb_uid_valid(const char *s);

/*
 * tdb_schema.c.  Identify the open file `h` (at `path`) and bring it to
 * TDB_SCHEMA_VERSION: refuses another application's database or a newer
 * schema; a fresh (empty) database gets every migration, an older one the
 * missing ones, in one BEGIN IMMEDIATE transaction.  With `readonly`
 * nothing is written and an older or empty file is refused.  Sets
 * *version.  The caller has set the busy timeout.
 */
int tdb_schema_prepare(sqlite3 *h, const char *path, bool readonly, int *version, rt_error *err);

/*
 * tdb_schema.c.  Look at the open file `h` (at `path`) without writing:
 * its identity (as tdb_schema_prepare), PRAGMA quick_check, and the tables
 * and columns of its schema version.  0 when sound or fresh; -1 with the
 * refusal (naming the path) in err.  tdb_open runs it on a read-only
 * connection before the first write.
 */
int tdb_schema_inspect(sqlite3 *h, const char *path, rt_error *err);

/* For tests: create a new ftc db at `path` (missing or empty) at exactly
 * schema `version` (1 .. TDB_SCHEMA_VERSION). */
int tdb_create_at_version(const char *path, int version, rt_error *err);

#endif
