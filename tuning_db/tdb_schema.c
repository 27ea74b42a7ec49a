/*
 * tdb_schema: what makes a SQLite file an ftc tuning db, and how an older
 * one becomes current.
 *
 * Identity: PRAGMA application_id is TDB_APPLICATION_ID and PRAGMA
 * user_version the schema version.  A fresh database (application_id 0, no
 * tables, user_version 0) becomes an ftc db; any other SQLite file with
 * another application_id is refused without a write.
 *
 * Versions are an ordered list of migrations, each the SQL that takes the
 * schema from version N-1 to N.  Every migration a file lacks runs in one
 * BEGIN IMMEDIATE transaction together with the new user_version, so a
 * crash leaves the old version intact and two processes opening one old
 * file migrate it once.
 */
#include "tdb_priv.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct migration {
	int version;
	const char *sql;
} migration;

/* clang-format off */
static const migration migrations[] = {
	{1, "CREATE TABLE workloads ("
	    "  id INTEGER PRIMARY KEY,"
	    "  hash TEXT NOT NULL UNIQUE,"
	    "  text TEXT NOT NULL,"
	    "  flops REAL NOT NULL);"
	    "CREATE TABLE targets ("
	    "  id INTEGER PRIMARY KEY,"
	    "  target TEXT NOT NULL,"
	    "  device TEXT NOT NULL,"
	    "  features TEXT NOT NULL,"
	    "  fingerprint TEXT NOT NULL,"
	    "  UNIQUE (target, fingerprint));"
	    "CREATE TABLE records ("
	    "  id INTEGER PRIMARY KEY,"
	    "  uid TEXT NOT NULL UNIQUE,"
	    "  workload INTEGER NOT NULL REFERENCES workloads(id),"
	    "  target INTEGER NOT NULL REFERENCES targets(id),"
	    "  schedule TEXT NOT NULL,"
	    "  point TEXT,"
	    "  space_version INTEGER NOT NULL,"
	    "  compiler TEXT NOT NULL,"
	    "  method TEXT NOT NULL,"
	    "  seed INTEGER NOT NULL,"
	    "  status TEXT NOT NULL CHECK (status IN ('ok', 'failed', 'wrong')),"
	    "  reason TEXT NOT NULL,"
	    "  seconds REAL," /* NULL: infinite */
	    "  spread REAL,"  /* NULL: NaN */
	    "  gflops REAL,"
	    "  verified INTEGER NOT NULL,"
	    "  created REAL NOT NULL);"
	    "CREATE INDEX records_workload_target ON records (workload, target);"},
	{2, "ALTER TABLE records ADD COLUMN runs INTEGER NOT NULL DEFAULT 1;"
	    "ALTER TABLE records ADD COLUMN replay_of INTEGER REFERENCES records(id);"
	    "CREATE INDEX records_replay_of ON records (replay_of);"
	    "CREATE TABLE best ("
	    "  workload INTEGER NOT NULL REFERENCES workloads(id),"
	    "  target INTEGER NOT NULL REFERENCES targets(id),"
	    "  record INTEGER NOT NULL REFERENCES records(id),"
	    "  seconds REAL NOT NULL,"
	    "  gflops REAL,"
	    "  updated REAL NOT NULL,"
	    "  PRIMARY KEY (workload, target));"
	    "INSERT INTO best (workload, target, record, seconds, gflops, updated)"
	    "  SELECT workload, target, id, seconds, gflops,"
	    "         (julianday('now') - 2440587.5) * 86400.0"
	    "  FROM (SELECT id, workload, target, seconds, gflops,"
	    "               row_number() OVER (PARTITION BY workload, target"
	    "                                  ORDER BY seconds, id) AS rank"
	    "        FROM records"
	    "        WHERE status = 'ok' AND verified AND seconds IS NOT NULL)"
	    "  WHERE rank = 1;"},
	/* Ids are never reused (AUTOINCREMENT), so that a row deleted behind
	 * ftc's back cannot hand its id, and the rows that name it, to a new
	 * one; records remember whether they came from an import (such a
	 * record is replayed before it is trusted).  SQLite cannot add
	 * AUTOINCREMENT to a table: each is rebuilt (foreign keys are off
	 * while migrating, and checked before the commit). */
	{3, "CREATE TABLE workloads_v3 ("
	    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	    "  hash TEXT NOT NULL UNIQUE,"
	    "  text TEXT NOT NULL,"
	    "  flops REAL NOT NULL);"
	    "INSERT INTO workloads_v3 (id, hash, text, flops)"
	    "  SELECT id, hash, text, flops FROM workloads;"
	    "DROP TABLE workloads;"
	    "ALTER TABLE workloads_v3 RENAME TO workloads;"
	    "CREATE TABLE targets_v3 ("
	    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	    "  target TEXT NOT NULL,"
	    "  device TEXT NOT NULL,"
	    "  features TEXT NOT NULL,"
	    "  fingerprint TEXT NOT NULL,"
	    "  UNIQUE (target, fingerprint));"
	    "INSERT INTO targets_v3 (id, target, device, features, fingerprint)"
	    "  SELECT id, target, device, features, fingerprint FROM targets;"
	    "DROP TABLE targets;"
	    "ALTER TABLE targets_v3 RENAME TO targets;"
	    "CREATE TABLE records_v3 ("
	    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	    "  uid TEXT NOT NULL UNIQUE,"
	    "  workload INTEGER NOT NULL REFERENCES workloads(id),"
	    "  target INTEGER NOT NULL REFERENCES targets(id),"
	    "  schedule TEXT NOT NULL,"
	    "  point TEXT,"
	    "  space_version INTEGER NOT NULL,"
	    "  compiler TEXT NOT NULL,"
	    "  method TEXT NOT NULL,"
	    "  seed INTEGER NOT NULL,"
	    "  status TEXT NOT NULL CHECK (status IN ('ok', 'failed', 'wrong')),"
	    "  reason TEXT NOT NULL,"
	    "  seconds REAL,"
	    "  spread REAL,"
	    "  gflops REAL,"
	    "  verified INTEGER NOT NULL,"
	    "  created REAL NOT NULL,"
	    "  runs INTEGER NOT NULL DEFAULT 1,"
	    "  replay_of INTEGER REFERENCES records(id),"
	    "  imported INTEGER NOT NULL DEFAULT 0);"
	    "INSERT INTO records_v3 (id, uid, workload, target, schedule, point, space_version,"
	    "  compiler, method, seed, status, reason, seconds, spread, gflops, verified,"
	    "  created, runs, replay_of)"
	    "  SELECT id, uid, workload, target, schedule, point, space_version,"
	    "  compiler, method, seed, status, reason, seconds, spread, gflops, verified,"
	    "  created, runs, replay_of FROM records;"
	    "DROP TABLE records;"
	    "ALTER TABLE records_v3 RENAME TO records;"
	    "CREATE INDEX records_workload_target ON records (workload, target);"
	    "CREATE INDEX records_replay_of ON records (replay_of);"},
};
/* clang-format on */

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == TDB_SCHEMA_VERSION,
	       "one migration per schema version");

/* What a file says it is. */
typedef struct identity {
	int app_id;
	int version;
	int ntables;
} identity;

/* When SQLite cannot open or write `path`: why not, from the file system
 * ("cannot write DIR: Read-only file system"), into out; "" when no reason
 * shows. */
static void why_unwritable(const char *path, char *out, size_t size)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');

	out[0] = '\0';
	if (access(path, W_OK) != 0 && errno != ENOENT) {
		snprintf(out, size, "; cannot write it: %s", strerror(errno));
		return;
	}
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else
		snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
	if (access(dir, W_OK) != 0) /* SQLite keeps its -wal and -shm files there */
		snprintf(out, size, "; cannot write its directory %s: %s", dir, strerror(errno));
}

int tdb_sqlite_fail(sqlite3 *h, const char *path, rt_error *err, const char *what)
{
	int code = sqlite3_errcode(h) & 0xff;
	char why[4200];

	if (code == SQLITE_CANTOPEN || code == SQLITE_READONLY || code == SQLITE_IOERR ||
	    code == SQLITE_FULL) {
		why_unwritable(path, why, sizeof(why));
		if (why[0])
			return rt_error_set(err, 0, 0, "%s: %s: %s%s", path, what,
					    sqlite3_errmsg(h), why);
	}

	if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB)
		return rt_error_set(err, 0, 0,
				    "%s: the tuning db is corrupt (%s: %s); ftc will not write it; "
				    "move it away or use --db",
				    path, what, sqlite3_errmsg(h));
	return rt_error_set(err, 0, 0, "%s: %s: %s", path, what, sqlite3_errmsg(h));
}

/* application_id, user_version and the number of schema objects, read in
 * one statement so that they come from one snapshot (another process may
 * be creating the file right now). */
static int read_identity(sqlite3 *h, const char *path, identity *id, rt_error *err)
{
	static const char sql[] = "SELECT a.application_id, v.user_version, "
				  "(SELECT count(*) FROM sqlite_master) "
				  "FROM pragma_application_id AS a, pragma_user_version AS v";
	sqlite3_stmt *s;
	int rc = sqlite3_prepare_v2(h, sql, -1, &s, NULL);

	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		id->app_id = sqlite3_column_int(s, 0);
		id->version = sqlite3_column_int(s, 1);
		id->ntables = sqlite3_column_int(s, 2);
	} else {
		tdb_sqlite_fail(h, path, err, "read the application id and schema version");
	}
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 0 : -1;
}

/* 0 when `id` is an ftc db of a version we can use or migrate, or a fresh
 * database (id->version 0); -1 with the refusal in err otherwise. */
static int check_identity(const char *path, const identity *id, rt_error *err)
{
	bool fresh = id->app_id == 0 && id->ntables == 0 && id->version == 0;

	if (!fresh && id->app_id != TDB_APPLICATION_ID)
		return rt_error_set(
		    err, 0, 0,
		    "%s: SQLite database of another application (application_id "
		    "0x%08x, %d schema objects); ftc will not write it; move it away "
		    "or use --db",
		    path, (unsigned)id->app_id, id->ntables);
	if (id->version > TDB_SCHEMA_VERSION)
		return rt_error_set(
		    err, 0, 0,
		    "%s: tuning db schema version %d is newer than this ftc supports "
		    "(%d); use a newer ftc or another --db",
		    path, id->version, TDB_SCHEMA_VERSION);
	if (!fresh && id->version < 1)
		return rt_error_set(err, 0, 0,
				    "%s: ftc tuning db without a schema version (user_version %d)",
				    path, id->version);
	return 0;
}

static int exec(sqlite3 *h, const char *path, const char *sql, const char *what, rt_error *err)
{
	if (sqlite3_exec(h, sql, NULL, NULL, NULL) != SQLITE_OK)
		return tdb_sqlite_fail(h, path, err, what);
	return 0;
}

/* One try at PRAGMA journal_mode=WAL: SQLite's status (SQLITE_ROW when it
 * answered), the mode now in mode[16]. */
static int try_wal(sqlite3 *h, char mode[16])
{
	sqlite3_stmt *s;
	int rc = sqlite3_prepare_v2(h, "PRAGMA journal_mode=WAL", -1, &s, NULL);

	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		snprintf(mode, 16, "%s", (const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	return rc;
}

/*
 * Switch `h` to write-ahead logging (persistent in the file).  The switch
 * needs an exclusive lock and SQLite does not always wait for it (not when
 * another process creating the same file holds it), so retry for up to the
 * busy timeout.
 */
static int set_wal(sqlite3 *h, const char *path, rt_error *err)
{
	char mode[16] = "";
	int rc, waited = 0;

	while (((rc = try_wal(h, mode)) & 0xff) == SQLITE_BUSY && waited < TDB_BUSY_MS) {
		sqlite3_sleep(10);
		waited += 10;
	}
	if (rc != SQLITE_ROW)
		return tdb_sqlite_fail(h, path, err, "PRAGMA journal_mode=WAL");
	if (strcmp(mode, "wal"))
		return rt_error_set(err, 0, 0, "%s: cannot use WAL mode (journal mode stays '%s')",
				    path, mode);
	return 0;
}

/* Run the migrations after id->version up to `to`, inside the caller's
 * transaction. */
static int run_migrations(sqlite3 *h, const char *path, const identity *id, int to, rt_error *err)
{
	char sql[64];

	if (id->version == 0) {
		snprintf(sql, sizeof(sql), "PRAGMA application_id = %d", TDB_APPLICATION_ID);
		if (exec(h, path, sql, "set the application id", err))
			return -1;
	}
	for (int i = id->version; i < to; i++) {
		snprintf(sql, sizeof(sql), "migrate the schema to version %d",
			 migrations[i].version);
		if (exec(h, path, migrations[i].sql, sql, err))
			return -1;
	}
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", to);
	return exec(h, path, sql, "set the schema version", err);
}

/* After the migrations, before the commit: every reference still names a
 * row (the rebuilt tables were copied with foreign keys off).  A db whose
 * rows name missing ones is not migrated: ftc will not give their ids to
 * new rows. */
static int check_references(sqlite3 *h, const char *path, rt_error *err)
{
	sqlite3_stmt *s;
	int rc = sqlite3_prepare_v2(
	    h, "SELECT \"table\", rowid, parent FROM pragma_foreign_key_check", -1, &s, NULL);

	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		rt_error_set(err, 0, 0,
			     "%s: %s row %lld refers to a missing %s row; ftc will not migrate "
			     "or write this tuning db; delete those rows or use another --db",
			     path, (const char *)sqlite3_column_text(s, 0),
			     (long long)sqlite3_column_int64(s, 1),
			     (const char *)sqlite3_column_text(s, 2));
	else if (rc != SQLITE_DONE)
		tdb_sqlite_fail(h, path, err, "check the references after migrating");
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* Bring the file to version `to` in one write transaction, looking again
 * at what it is once the write lock is held (another process may have
 * migrated it meanwhile).  Foreign keys are off meanwhile (SQLite's way to
 * rebuild a table; it can only be switched outside a transaction). */
static int migrate(sqlite3 *h, const char *path, int to, int *version, rt_error *err)
{
	identity id;
	int rc = 0;

	if (exec(h, path, "PRAGMA foreign_keys=OFF", "disable foreign keys to migrate", err) ||
	    exec(h, path, "BEGIN IMMEDIATE", "begin the migration", err))
		rc = -1;
	else if (read_identity(h, path, &id, err) || check_identity(path, &id, err) ||
		 (id.version < to &&
		  (run_migrations(h, path, &id, to, err) || check_references(h, path, err))) ||
		 exec(h, path, "COMMIT", "commit the migration", err)) {
		if (!sqlite3_get_autocommit(h))
			sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
		rc = -1;
	}
	if (exec(h, path, "PRAGMA foreign_keys=ON", "enable foreign keys", rc ? NULL : err))
		rc = -1;
	if (!rc)
		*version = id.version < to ? to : id.version;
	return rc;
}

/* The tables and columns each schema version has (added since `since`). */
static const struct shape {
	int since;
	const char *table, *cols;
} shapes[] = {
    {1, "workloads", "id, hash, text, flops"},
    {1, "targets", "id, target, device, features, fingerprint"},
    {1, "records",
     "id, uid, workload, target, schedule, point, space_version, compiler, method, seed, "
     "status, reason, seconds, spread, gflops, verified, created"},
    {2, "records", "runs, replay_of"},
    {2, "best", "workload, target, record, seconds, gflops, updated"},
    {3, "records", "imported"},
    {3, "sqlite_sequence", "name, seq"},
};

/* Whether each table and column of schema `version` is there. */
static int check_shape(sqlite3 *h, const char *path, int version, rt_error *err)
{
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		char sql[512];
		sqlite3_stmt *s = NULL;
		int rc;

		if (shapes[i].since > version)
			continue;
		snprintf(sql, sizeof(sql), "SELECT %s FROM %s LIMIT 0", shapes[i].cols,
			 shapes[i].table);
		rc = sqlite3_prepare_v2(h, sql, -1, &s, NULL);
		sqlite3_finalize(s);
		if (rc == SQLITE_ERROR)
			return rt_error_set(
			    err, 0, 0,
			    "%s: the tuning db is damaged (schema version %d lacks "
			    "what it needs: %s); ftc will not write it; move it away "
			    "or use --db",
			    path, version, sqlite3_errmsg(h));
		if (rc != SQLITE_OK)
			return tdb_sqlite_fail(h, path, err, "read the schema");
	}
	return 0;
}

/* PRAGMA quick_check: the b-trees and pages are sound. */
static int quick_check(sqlite3 *h, const char *path, rt_error *err)
{
	sqlite3_stmt *s;
	int rc = sqlite3_prepare_v2(h, "PRAGMA quick_check(1)", -1, &s, NULL);

	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_ROW && strcmp((const char *)sqlite3_column_text(s, 0), "ok")) {
		char what[200];

		/* SQLite's first problem, on one line. */
		snprintf(what, sizeof(what), "%s", (const char *)sqlite3_column_text(s, 0));
		for (char *c = what; *c; c++)
			*c = *c == '\n' ? ' ' : *c;
		rt_error_set(err, 0, 0,
			     "%s: the tuning db is corrupt (quick check: %s); ftc will not write "
			     "it; move it away or use --db",
			     path, what);
	} else if (rc != SQLITE_ROW)
		tdb_sqlite_fail(h, path, err, "check the file's integrity");
	else
		rc = SQLITE_OK;
	sqlite3_finalize(s);
	return rc == SQLITE_OK ? 0 : -1;
}

int tdb_schema_inspect(sqlite3 *h, const char *path, rt_error *err)
{
	identity id;

	if (read_identity(h, path, &id, err) || check_identity(path, &id, err))
		return -1;
	if (id.app_id == 0 && id.ntables == 0 && id.version == 0)
		return 0; /* fresh */
	return quick_check(h, path, err) || check_shape(h, path, id.version, err) ? -1 : 0;
}

int tdb_schema_prepare(sqlite3 *h, const char *path, bool readonly, int *version, rt_error *err)
{
	identity id;

	if (read_identity(h, path, &id, err) || check_identity(path, &id, err))
		return -1;
	if (readonly) {
		if (id.version == 0)
			return rt_error_set(err, 0, 0, "%s: empty file, not yet a tuning db", path);
		if (id.version < TDB_SCHEMA_VERSION)
			return rt_error_set(err, 0, 0,
					    "%s: tuning db schema version %d is older than this "
					    "ftc's (%d); open it for writing once to migrate it",
					    path, id.version, TDB_SCHEMA_VERSION);
		*version = id.version;
		return 0;
	}
	if (set_wal(h, path, err))
		return -1;
	if (id.version == TDB_SCHEMA_VERSION) {
		*version = id.version;
		return 0;
	}
	return migrate(h, path, TDB_SCHEMA_VERSION, version, err);
}

int tdb_create_at_version(const char *path, int version, rt_error *err)
{
	struct stat st;
	sqlite3 *h = NULL;
	int got, rc;

	if (version < 1 || version > TDB_SCHEMA_VERSION)
		return rt_error_set(err, 0, 0, "%s: no schema version %d (1 .. %d)", path, version,
				    TDB_SCHEMA_VERSION);
	if (stat(path, &st) == 0 && st.st_size > 0)
		return rt_error_set(err, 0, 0, "%s: exists; will not create a db over it", path);
	if (sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK) {
		rc = h ? tdb_sqlite_fail(h, path, err, "open")
		       : rt_error_set(err, 0, 0, "%s: open: out of memory", path);
		sqlite3_close_v2(h);
		return rc;
	}
	rc = sqlite3_busy_timeout(h, TDB_BUSY_MS) != SQLITE_OK
		 ? tdb_sqlite_fail(h, path, err, "set the busy timeout")
		 : 0;
	if (!rc)
		rc = exec(h, path, "PRAGMA foreign_keys=ON", "enable foreign keys", err);
	if (!rc)
		rc = set_wal(h, path, err) || migrate(h, path, version, &got, err) ? -1 : 0;
	sqlite3_close_v2(h);
	return rc;
}
