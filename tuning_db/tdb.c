/*
 * tdb: the tuning database (see tdb.h): opening a file safely, workloads,
 * targets, records and the best record, and the maintenance commands (list,
 * prune, check).  The schema and its migrations are in tdb_schema.c, the
 * JSON lines import and export in tdb_json.c.
 *
 * Every write runs in a BEGIN IMMEDIATE transaction: it takes the write lock
 * first (waiting up to TDB_BUSY_MS for another writer), so two processes
 * serialize instead of failing on a lock upgrade.  Statements on the hot
 * paths stay prepared in db->stmt and are always reset after use, so that no
 * read transaction outlives a call.
 */
#include "tdb_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *const query_sql[TDB_Q_COUNT] = {
    [TDB_Q_WORKLOAD_INSERT] = "INSERT INTO workloads (hash, text, flops) VALUES (?1, ?2, ?3)",
    [TDB_Q_WORKLOAD_BY_HASH] = "SELECT id FROM workloads WHERE hash = ?1",
    [TDB_Q_TARGET_INSERT] = "INSERT INTO targets (target, device, features, fingerprint) "
			    "VALUES (?1, ?2, ?3, ?4)",
    [TDB_Q_TARGET_BY_KEY] = "SELECT id FROM targets WHERE target = ?1 AND fingerprint = ?2",
    [TDB_Q_RECORD_INSERT] =
	"INSERT INTO records (uid, workload, target, schedule, point, space_version, "
	"compiler, method, seed, status, reason, seconds, spread, runs, gflops, verified, "
	"replay_of, created, imported) "
	"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, "
	"?17, ?18, ?19)",
    [TDB_Q_RECORD_BY_UID] = "SELECT id FROM records WHERE uid = ?1",
    /* The record becomes the best when there is none or it is faster. */
    [TDB_Q_BEST_OFFER] =
	"INSERT INTO best (workload, target, record, seconds, gflops, updated) "
	"VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
	"ON CONFLICT (workload, target) DO UPDATE SET record = excluded.record, "
	"seconds = excluded.seconds, gflops = excluded.gflops, updated = excluded.updated "
	"WHERE excluded.seconds < best.seconds",
};

static const char *const status_names[] = {
    [TDB_OK] = "ok", [TDB_FAILED] = "failed", [TDB_WRONG] = "wrong"};

/* ---- small helpers ---- */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int oom(const tdb *db, rt_error *err)
{
	return rt_error_set(err, 0, 0, "%s: out of memory", db->path);
}

/* A copy of `s`, NULL for NULL; *ok turns false when out of memory. */
static char *dup_or_null(const char *s, bool *ok)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*ok = false;
	return d;
}

static const char *or_empty(const char *s)
{
	return s ? s : "";
}

const char *tdb_status_name(tdb_status s)
{
	return (unsigned)s < sizeof(status_names) / sizeof(status_names[0]) ? status_names[s] : "?";
}

int tdb_status_parse(const char *name, tdb_status *out)
{
	for (int i = 0; i < (int)(sizeof(status_names) / sizeof(status_names[0])); i++)
		if (name && !strcmp(name, status_names[i])) {
			*out = (tdb_status)i;
			return 0;
		}
	return -1;
}

int64_t tdb_seed_to_sql(uint64_t seed)
{
	int64_t v;

	memcpy(&v, &seed, sizeof(v));
	return v;
}

uint64_t tdb_seed_from_sql(int64_t v)
{
	uint64_t seed;

	memcpy(&seed, &v, sizeof(seed));
	return seed;
}

bool tdb_uid_valid(const char *s)
{
	int i;

	for (i = 0; i < 32; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[i] == '\0';
}

/* 32 hex digits from the kernel's random source. */
static int new_uid(const tdb *db, char out[33], rt_error *err)
{
	unsigned char b[16];
	size_t got = 0;

	while (got < sizeof(b)) {
		ssize_t n = getrandom(b + got, sizeof(b) - got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got < sizeof(b)) {
		int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
		ssize_t n = fd >= 0 ? read(fd, b, sizeof(b)) : -1;

		if (fd >= 0)
			close(fd);
		if (n != (ssize_t)sizeof(b))
			return rt_error_set(err, 0, 0,
					    "%s: cannot read random bytes for a record uid: %s",
					    db->path, strerror(errno));
	}
	for (size_t i = 0; i < sizeof(b); i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
	return 0;
}

/* ---- statements and transactions ---- */

int tdb_sql_fail(const tdb *db, rt_error *err, const char *what)
{
	return tdb_sqlite_fail(db->h, db->path, err, what);
}

sqlite3_stmt *tdb_stmt(tdb *db, tdb_query q, rt_error *err)
{
	sqlite3_stmt **s = &db->stmt[q];

	if (*s) {
		sqlite3_reset(*s);
		sqlite3_clear_bindings(*s);
		return *s;
	}
	if (sqlite3_prepare_v3(db->h, query_sql[q], -1, SQLITE_PREPARE_PERSISTENT, s, NULL) !=
	    SQLITE_OK) {
		tdb_sql_fail(db, err, "prepare a statement");
		*s = NULL;
	}
	return *s;
}

int tdb_stmt_done(sqlite3_stmt *s, int rc)
{
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return rc;
}

/* A statement for this call only (finalize it). */
static sqlite3_stmt *prepare(tdb *db, const char *sql, rt_error *err)
{
	sqlite3_stmt *s = NULL;

	if (sqlite3_prepare_v2(db->h, sql, -1, &s, NULL) != SQLITE_OK) {
		tdb_sql_fail(db, err, "prepare a statement");
		sqlite3_finalize(s);
		return NULL;
	}
	return s;
}

/* Step `s` (prepared and bound; bound != SQLITE_OK means a bind failed) to
 * its end; resets it.  0, or -1 with err naming `what`. */
static int step_done(tdb *db, sqlite3_stmt *s, int bound, const char *what, rt_error *err)
{
	int rc = bound == SQLITE_OK ? sqlite3_step(s) : bound;

	if (rc != SQLITE_DONE)
		tdb_sql_fail(db, err, what);
	return tdb_stmt_done(s, rc == SQLITE_DONE ? 0 : -1);
}

/* Step `s` for one integer: 1 found (*id set), 0 no row, -1 error. */
static int step_id(tdb *db, sqlite3_stmt *s, int bound, int64_t *id, const char *what,
		   rt_error *err)
{
	int rc = bound == SQLITE_OK ? sqlite3_step(s) : bound;

	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(s, 0);
		return tdb_stmt_done(s, 1);
	}
	if (rc != SQLITE_DONE)
		tdb_sql_fail(db, err, what);
	return tdb_stmt_done(s, rc == SQLITE_DONE ? 0 : -1);
}

static int exec(tdb *db, const char *sql, const char *what, rt_error *err)
{
	if (sqlite3_exec(db->h, sql, NULL, NULL, NULL) != SQLITE_OK)
		return tdb_sql_fail(db, err, what);
	return 0;
}

int tdb_begin(tdb *db, rt_error *err)
{
	if (db->readonly)
		return rt_error_set(err, 0, 0, "%s: opened read-only", db->path);
	return exec(db, "BEGIN IMMEDIATE", "begin a write transaction", err);
}

int tdb_commit(tdb *db, rt_error *err)
{
	return exec(db, "COMMIT", "commit", err);
}

void tdb_rollback(tdb *db)
{
	if (!sqlite3_get_autocommit(db->h))
		sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
}

/* ---- paths and opening ---- */

/* `dir` + `tail` into out. */
static int join(char *out, size_t size, const char *dir, const char *tail, rt_error *err)
{
	if ((size_t)snprintf(out, size, "%s%s", dir, tail) >= size)
		return rt_error_set(err, 0, 0, "tuning db path %s%s is too long", dir, tail);
	return 0;
}

int tdb_default_path(char *out, size_t size, rt_error *err)
{
	const char *db = getenv("FTC_DB");
	const char *xdg = getenv("XDG_CACHE_HOME");
	const char *home = getenv("HOME");

	if (db && *db)
		return join(out, size, db, "", err);
	if (xdg && *xdg == '/') /* XDG: a relative path is to be ignored */
		return join(out, size, xdg, "/ftc/tuning.db", err);
	if (home && *home)
		return join(out, size, home, "/.cache/ftc/tuning.db", err);
	return rt_error_set(
	    err, 0, 0,
	    "no place for the tuning db: set FTC_DB, XDG_CACHE_HOME or HOME, or use --db");
}

/* mkdir -p of the directory that holds `path` (mode 0755). */
static int make_parent(const char *path, rt_error *err)
{
	char dir[4096];
	char *slash;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return rt_error_set(err, 0, 0, "%s: path too long", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1;; p++) {
		bool end = *p == '\0';

		if (*p != '/' && !end)
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) != 0 && errno != EEXIST)
			return rt_error_set(err, 0, 0, "%s: cannot create directory %s: %s", path,
					    dir, strerror(errno));
		if (end)
			return 0;
		*p = '/';
	}
}

/* What kind of file a stat mode is, for messages. */
static const char *file_kind(mode_t m)
{
	return S_ISDIR(m)    ? "a directory"
	       : S_ISCHR(m)  ? "a character device"
	       : S_ISBLK(m)  ? "a block device"
	       : S_ISFIFO(m) ? "a FIFO"
	       : S_ISSOCK(m) ? "a socket"
			     : "not a regular file";
}

/* Whether the first bytes of the open file `fd` are SQLite's magic (or
 * there are none: an empty file). */
static bool sqlite_magic(int fd)
{
	static const char magic[16] = "SQLite format 3";
	char head[16];
	size_t got = 0;

	while (got < sizeof(head)) {
		ssize_t n = read(fd, head + got, sizeof(head) - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return got == 0 || (got == sizeof(head) && !memcmp(head, magic, sizeof(magic)));
}

/*
 * Look at the file before SQLite does: a missing file is fine (its parent
 * directory is made) unless `readonly`; anything else must be a regular
 * file (symlinks followed: /dev/null, a FIFO or a directory is refused,
 * so that SQLite makes no journal beside it) that is empty or starts with
 * SQLite's 16-byte magic.  *existing: the file has bytes.
 */
static int check_file(const char *path, bool readonly, bool *existing, rt_error *err)
{
	struct stat st;
	int fd;
	bool magic;

	*existing = false;
	if (stat(path, &st) != 0) {
		if (errno != ENOENT)
			return rt_error_set(err, 0, 0, "%s: cannot look at the tuning db: %s", path,
					    strerror(errno));
		return readonly ? rt_error_set(err, 0, 0, "%s: no such tuning db", path)
				: make_parent(path, err);
	}
	if (!S_ISREG(st.st_mode))
		return rt_error_set(err, 0, 0,
				    "%s: is %s, not a tuning db (ftc uses only a regular file; "
				    "use --db)",
				    path, file_kind(st.st_mode));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return rt_error_set(err, 0, 0, "%s: cannot open: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return rt_error_set(err, 0, 0, "%s: changed while being opened; not a regular file",
				    path);
	}
	magic = sqlite_magic(fd);
	close(fd);
	if (!magic)
		return rt_error_set(
		    err, 0, 0,
		    "%s: not an SQLite database (ftc will not overwrite it; move it away or "
		    "use --db)",
		    path);
	*existing = st.st_size > 0;
	return 0;
}

/*
 * Before the first write: open the existing file read-only and look at it
 * (tdb_schema_inspect: identity, quick_check, tables), so that a corrupt
 * db, another application's or one missing a table is refused with not a
 * byte written.
 */
static int inspect_readonly(const char *path, rt_error *err)
{
	sqlite3 *h = NULL;
	char wal[4200], shm[4200];
	struct stat st;
	bool had_wal, had_shm;
	int rc;

	snprintf(wal, sizeof(wal), "%s-wal", path);
	snprintf(shm, sizeof(shm), "%s-shm", path);
	had_wal = lstat(wal, &st) == 0;
	had_shm = lstat(shm, &st) == 0;

	if (sqlite3_open_v2(path, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		rc = h ? tdb_sqlite_fail(h, path, err, "open read-only")
		       : rt_error_set(err, 0, 0, "%s: open: out of memory", path);
	else if (sqlite3_busy_timeout(h, TDB_BUSY_MS) != SQLITE_OK)
		rc = tdb_sqlite_fail(h, path, err, "set the busy timeout");
	else
		rc = tdb_schema_inspect(h, path, err);
	sqlite3_close_v2(h);
	/* A refused file is left as it was: without the empty -wal and the
	 * -shm that the read-only connection made beside it. */
	if (rc && !had_wal && !had_shm && stat(wal, &st) == 0 && st.st_size == 0) {
		unlink(wal);
		unlink(shm);
	}
	return rc;
}

/* Open the connection and set its per-connection options. */
static int connect(tdb *db, rt_error *err)
{
	int flags =
	    db->readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;

	if (sqlite3_open_v2(db->path, &db->h, flags, NULL) != SQLITE_OK)
		return db->h ? tdb_sql_fail(db, err, "open") : oom(db, err);
	if (sqlite3_busy_timeout(db->h, TDB_BUSY_MS) != SQLITE_OK)
		return tdb_sql_fail(db, err, "set the busy timeout");
	if (exec(db, "PRAGMA foreign_keys=ON", "enable foreign keys", err))
		return -1;
	if (!db->readonly && exec(db, "PRAGMA synchronous=NORMAL", "set synchronous", err))
		return -1;
	return 0;
}

static int open_db(const char *path, bool readonly, tdb **out, rt_error *err)
{
	bool existing;
	tdb *db;

	*out = NULL;
	if (check_file(path, readonly, &existing, err) ||
	    (existing && !readonly && inspect_readonly(path, err)))
		return -1;
	db = calloc(1, sizeof(*db));
	if (!db || !(db->path = strdup(path))) {
		free(db);
		return rt_error_set(err, 0, 0, "%s: out of memory", path);
	}
	db->readonly = readonly;
	if (connect(db, err) || (readonly && tdb_schema_inspect(db->h, path, err)) ||
	    tdb_schema_prepare(db->h, path, readonly, &db->version, err)) {
		tdb_close(db);
		return -1;
	}
	*out = db;
	return 0;
}

int tdb_open(const char *path, tdb **out, rt_error *err)
{
	return open_db(path, false, out, err);
}

int tdb_open_readonly(const char *path, tdb **out, rt_error *err)
{
	return open_db(path, true, out, err);
}

void tdb_close(tdb *db)
{
	if (!db)
		return;
	for (int i = 0; i < TDB_Q_COUNT; i++)
		sqlite3_finalize(db->stmt[i]);
	sqlite3_close_v2(db->h);
	free(db->path);
	free(db);
}

int tdb_schema_version(const tdb *db)
{
	return db->version;
}

/* FNV-1a, 64 bits, over "device|features|cores". */
void tdb_fingerprint(const char *device, const char *features, int cores, char out[17])
{
	char text[1024];
	uint64_t h = UINT64_C(0xcbf29ce484222325);
	int n =
	    snprintf(text, sizeof(text), "%s|%s|%d", or_empty(device), or_empty(features), cores);

	if (n >= (int)sizeof(text))
		n = (int)sizeof(text) - 1;
	for (int i = 0; i < n; i++) {
		h ^= (unsigned char)text[i];
		h *= UINT64_C(0x100000001b3);
	}
	snprintf(out, 17, "%016" PRIx64, h);
}

/* ---- workloads and targets ---- */

int tdb_workload_put_locked(tdb *db, tdb_workload *w, rt_error *err)
{
	sqlite3_stmt *s;
	int found;

	if (!w->hash || !*w->hash)
		return rt_error_set(err, 0, 0, "%s: workload without a hash", db->path);
	if (!(s = tdb_stmt(db, TDB_Q_WORKLOAD_BY_HASH, err)))
		return -1;
	found = step_id(db, s, sqlite3_bind_text(s, 1, w->hash, -1, SQLITE_STATIC), &w->id,
			"find a workload", err);
	if (found)
		return found < 0 ? -1 : 0;
	if (!(s = tdb_stmt(db, TDB_Q_WORKLOAD_INSERT, err)) ||
	    step_done(db, s,
		      sqlite3_bind_text(s, 1, w->hash, -1, SQLITE_STATIC) |
			  sqlite3_bind_text(s, 2, or_empty(w->text), -1, SQLITE_STATIC) |
			  sqlite3_bind_double(s, 3, w->flops),
		      "add a workload", err))
		return -1;
	w->id = sqlite3_last_insert_rowid(db->h);
	return 0;
}

int tdb_target_put_locked(tdb *db, tdb_target *t, rt_error *err)
{
	sqlite3_stmt *s;
	int found;

	if (!t->target || !*t->target || !t->fingerprint || !*t->fingerprint)
		return rt_error_set(err, 0, 0, "%s: target without a target string or fingerprint",
				    db->path);
	if (!(s = tdb_stmt(db, TDB_Q_TARGET_BY_KEY, err)))
		return -1;
	found = step_id(db, s,
			sqlite3_bind_text(s, 1, t->target, -1, SQLITE_STATIC) |
			    sqlite3_bind_text(s, 2, t->fingerprint, -1, SQLITE_STATIC),
			&t->id, "find a target", err);
	if (found)
		return found < 0 ? -1 : 0;
	if (!(s = tdb_stmt(db, TDB_Q_TARGET_INSERT, err)) ||
	    step_done(db, s,
		      sqlite3_bind_text(s, 1, t->target, -1, SQLITE_STATIC) |
			  sqlite3_bind_text(s, 2, or_empty(t->device), -1, SQLITE_STATIC) |
			  sqlite3_bind_text(s, 3, or_empty(t->features), -1, SQLITE_STATIC) |
			  sqlite3_bind_text(s, 4, t->fingerprint, -1, SQLITE_STATIC),
		      "add a target", err))
		return -1;
	t->id = sqlite3_last_insert_rowid(db->h);
	return 0;
}

int tdb_workload_put(tdb *db, tdb_workload *w, rt_error *err)
{
	if (tdb_begin(db, err))
		return -1;
	if (tdb_workload_put_locked(db, w, err) || tdb_commit(db, err)) {
		tdb_rollback(db);
		return -1;
	}
	return 0;
}

int tdb_target_put(tdb *db, tdb_target *t, rt_error *err)
{
	if (tdb_begin(db, err))
		return -1;
	if (tdb_target_put_locked(db, t, err) || tdb_commit(db, err)) {
		tdb_rollback(db);
		return -1;
	}
	return 0;
}

void tdb_workload_release(tdb_workload *w)
{
	if (!w)
		return;
	free(w->hash);
	free(w->text);
	memset(w, 0, sizeof(*w));
}

void tdb_target_release(tdb_target *t)
{
	if (!t)
		return;
	free(t->target);
	free(t->device);
	free(t->features);
	free(t->fingerprint);
	memset(t, 0, sizeof(*t));
}

/* Workload columns id, hash, text, flops at `col` into *w. */
static int read_workload(const tdb *db, sqlite3_stmt *s, int col, tdb_workload *w, rt_error *err)
{
	bool ok = true;

	w->id = sqlite3_column_int64(s, col);
	w->hash = dup_or_null(or_empty((const char *)sqlite3_column_text(s, col + 1)), &ok);
	w->text = dup_or_null(or_empty((const char *)sqlite3_column_text(s, col + 2)), &ok);
	w->flops = sqlite3_column_double(s, col + 3);
	if (!ok) {
		tdb_workload_release(w);
		return oom(db, err);
	}
	return 0;
}

/* Target columns id, target, device, features, fingerprint at `col`. */
static int read_target(const tdb *db, sqlite3_stmt *s, int col, tdb_target *t, rt_error *err)
{
	bool ok = true;

	t->id = sqlite3_column_int64(s, col);
	t->target = dup_or_null(or_empty((const char *)sqlite3_column_text(s, col + 1)), &ok);
	t->device = dup_or_null(or_empty((const char *)sqlite3_column_text(s, col + 2)), &ok);
	t->features = dup_or_null(or_empty((const char *)sqlite3_column_text(s, col + 3)), &ok);
	t->fingerprint = dup_or_null(or_empty((const char *)sqlite3_column_text(s, col + 4)), &ok);
	if (!ok) {
		tdb_target_release(t);
		return oom(db, err);
	}
	return 0;
}

/* Whether `prefix` is 4 to 16 hex digits; lowercased into out[17]. */
static bool hash_prefix(const char *prefix, char out[17])
{
	size_t n = strlen(prefix);

	if (n < 4 || n > 16)
		return false;
	for (size_t i = 0; i <= n; i++) {
		char c = prefix[i];

		if (c >= 'A' && c <= 'F')
			c = (char)(c - 'A' + 'a');
		if (i < n && !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
		out[i] = c;
	}
	return true;
}

int tdb_workload_find(tdb *db, const char *prefix, tdb_workload *w, rt_error *err)
{
	char pat[18];
	char first[17] = "";
	sqlite3_stmt *s;
	int rc, n = 0;

	memset(w, 0, sizeof(*w));
	if (!hash_prefix(prefix, pat))
		return rt_error_set(err, 0, 0,
				    "%s: workload '%s': expected 4 to 16 hex digits of its hash",
				    db->path, prefix);
	strcat(pat, "*");
	if (!(s = prepare(db,
			  "SELECT id, hash, text, flops FROM workloads WHERE hash GLOB ?1 "
			  "ORDER BY hash LIMIT 2",
			  err)))
		return -1;
	rc = sqlite3_bind_text(s, 1, pat, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		snprintf(first, sizeof(first), "%s",
			 or_empty((const char *)sqlite3_column_text(s, 1)));
		n = read_workload(db, s, 0, w, err) ? -1 : 1;
		if (n == 1 && (rc = sqlite3_step(s)) == SQLITE_ROW)
			n = rt_error_set(err, 0, 0, "%s: workload '%s' is ambiguous: %s, %s, ...",
					 db->path, prefix, first,
					 or_empty((const char *)sqlite3_column_text(s, 1)));
	}
	if (n >= 0 && rc != SQLITE_DONE)
		n = tdb_sql_fail(db, err, "find a workload");
	sqlite3_finalize(s);
	if (n < 0)
		tdb_workload_release(w);
	return n;
}

/* ---- records ---- */

void tdb_record_release(tdb_record *r)
{
	if (!r)
		return;
	free(r->schedule);
	free(r->point);
	free(r->compiler);
	free(r->method);
	free(r->reason);
	memset(r, 0, sizeof(*r));
}

void tdb_records_free(tdb_record *r, int n)
{
	if (!r)
		return;
	for (int i = 0; i < n; i++)
		tdb_record_release(&r[i]);
	free(r);
}

int tdb_record_read(const tdb *db, sqlite3_stmt *s, int col, tdb_record *r, rt_error *err)
{
	const char *status = (const char *)sqlite3_column_text(s, col + 10);
	bool ok = true;
	int c = col;

	memset(r, 0, sizeof(*r));
	r->id = sqlite3_column_int64(s, c++);
	snprintf(r->uid, sizeof(r->uid), "%s", or_empty((const char *)sqlite3_column_text(s, c++)));
	r->workload = sqlite3_column_int64(s, c++);
	r->target = sqlite3_column_int64(s, c++);
	r->schedule = dup_or_null(or_empty((const char *)sqlite3_column_text(s, c++)), &ok);
	r->point = dup_or_null((const char *)sqlite3_column_text(s, c++), &ok);
	r->space_version = sqlite3_column_int(s, c++);
	r->compiler = dup_or_null(or_empty((const char *)sqlite3_column_text(s, c++)), &ok);
	r->method = dup_or_null(or_empty((const char *)sqlite3_column_text(s, c++)), &ok);
	r->seed = tdb_seed_from_sql(sqlite3_column_int64(s, c++));
	c++; /* status, read above */
	r->reason = dup_or_null(or_empty((const char *)sqlite3_column_text(s, c++)), &ok);
	r->seconds =
	    sqlite3_column_type(s, c) == SQLITE_NULL ? INFINITY : sqlite3_column_double(s, c);
	c++;
	r->spread = sqlite3_column_type(s, c) == SQLITE_NULL ? NAN : sqlite3_column_double(s, c);
	c++;
	r->runs = sqlite3_column_int(s, c++);
	r->gflops = sqlite3_column_type(s, c) == SQLITE_NULL ? NAN : sqlite3_column_double(s, c);
	c++;
	r->verified = sqlite3_column_int(s, c++) != 0;
	r->replay_of = sqlite3_column_int64(s, c++);
	r->created = sqlite3_column_double(s, c++);
	r->imported = sqlite3_column_int(s, c++) != 0;
	if (!ok) {
		tdb_record_release(r);
		return oom(db, err);
	}
	if (tdb_status_parse(status, &r->status)) {
		int64_t id = r->id;

		tdb_record_release(r);
		return rt_error_set(err, 0, 0, "%s: record %" PRId64 " has an unknown status '%s'",
				    db->path, id, or_empty(status));
	}
	return 0;
}

static int bind_record(sqlite3_stmt *s, const tdb_record *r)
{
	int rc = sqlite3_bind_text(s, 1, r->uid, -1, SQLITE_STATIC) |
		 sqlite3_bind_int64(s, 2, r->workload) | sqlite3_bind_int64(s, 3, r->target) |
		 sqlite3_bind_text(s, 4, or_empty(r->schedule), -1, SQLITE_STATIC) |
		 sqlite3_bind_text(s, 5, r->point, -1, SQLITE_STATIC) |
		 sqlite3_bind_int(s, 6, r->space_version) |
		 sqlite3_bind_text(s, 7, or_empty(r->compiler), -1, SQLITE_STATIC) |
		 sqlite3_bind_text(s, 8, or_empty(r->method), -1, SQLITE_STATIC) |
		 sqlite3_bind_int64(s, 9, tdb_seed_to_sql(r->seed)) |
		 sqlite3_bind_text(s, 10, tdb_status_name(r->status), -1, SQLITE_STATIC) |
		 sqlite3_bind_text(s, 11, or_empty(r->reason), -1, SQLITE_STATIC) |
		 sqlite3_bind_double(s, 13, r->spread) | sqlite3_bind_int(s, 14, r->runs) |
		 sqlite3_bind_double(s, 15, r->gflops) | sqlite3_bind_int(s, 16, r->verified) |
		 sqlite3_bind_double(s, 18, r->created) | sqlite3_bind_int(s, 19, r->imported);

	rc |= isfinite(r->seconds) ? sqlite3_bind_double(s, 12, r->seconds)
				   : sqlite3_bind_null(s, 12);
	rc |= r->replay_of ? sqlite3_bind_int64(s, 17, r->replay_of) : sqlite3_bind_null(s, 17);
	return rc;
}

/* What tdb_record_add refuses before SQLite sees it. */
static int check_record(const tdb *db, const tdb_record *r, rt_error *err)
{
	if ((unsigned)r->status > TDB_WRONG)
		return rt_error_set(err, 0, 0, "%s: record with an unknown status %d", db->path,
				    (int)r->status);
	if (r->uid[0] && !tdb_uid_valid(r->uid))
		return rt_error_set(err, 0, 0, "%s: record uid '%.32s' is not 32 hex digits",
				    db->path, r->uid);
	if (r->runs < 0)
		return rt_error_set(err, 0, 0, "%s: record with %d runs", db->path, r->runs);
	return 0;
}

/* Make `r` (just inserted) the best of its workload and target when there
 * is none or it is faster. */
static int offer_best(tdb *db, const tdb_record *r, rt_error *err)
{
	sqlite3_stmt *s = tdb_stmt(db, TDB_Q_BEST_OFFER, err);

	if (!s)
		return -1;
	return step_done(
	    db, s,
	    sqlite3_bind_int64(s, 1, r->workload) | sqlite3_bind_int64(s, 2, r->target) |
		sqlite3_bind_int64(s, 3, r->id) | sqlite3_bind_double(s, 4, r->seconds) |
		sqlite3_bind_double(s, 5, r->gflops) | sqlite3_bind_double(s, 6, now()),
	    "update the best record", err);
}

int tdb_record_add_locked(tdb *db, tdb_record *r, rt_error *err)
{
	sqlite3_stmt *s;

	if (check_record(db, r, err) || (!r->uid[0] && new_uid(db, r->uid, err)))
		return -1;
	if (r->created == 0)
		r->created = now();
	if (!(s = tdb_stmt(db, TDB_Q_RECORD_INSERT, err)) ||
	    step_done(db, s, bind_record(s, r), "add a record", err))
		return -1;
	r->id = sqlite3_last_insert_rowid(db->h);
	if (r->status == TDB_OK && r->verified && !r->imported && isfinite(r->seconds))
		return offer_best(db, r, err);
	return 0;
}

int tdb_record_add(tdb *db, tdb_record *r, rt_error *err)
{
	char uid[sizeof(r->uid)];
	double created = r->created;
	int64_t id = r->id;

	memcpy(uid, r->uid, sizeof(uid));
	if (tdb_begin(db, err))
		return -1;
	if (tdb_record_add_locked(db, r, err) || tdb_commit(db, err)) {
		tdb_rollback(db);
		memcpy(r->uid, uid, sizeof(uid));
		r->created = created;
		r->id = id;
		return -1;
	}
	return 0;
}

int tdb_record_by_uid(tdb *db, const char *uid, int64_t *id, rt_error *err)
{
	sqlite3_stmt *s = tdb_stmt(db, TDB_Q_RECORD_BY_UID, err);

	if (!s)
		return -1;
	return step_id(db, s, sqlite3_bind_text(s, 1, uid, -1, SQLITE_STATIC), id,
		       "find a record by uid", err);
}

int tdb_records(tdb *db, int64_t workload, int64_t target, tdb_record **out, int *n, rt_error *err)
{
	sqlite3_stmt *s;
	tdb_record *v = NULL;
	int cap = 0, count = 0, rc;

	*out = NULL;
	*n = 0;
	if (!(s = prepare(db,
			  "SELECT " TDB_RECORD_COLS " FROM records r "
			  "WHERE r.workload = ?1 AND r.target = ?2 ORDER BY r.id",
			  err)))
		return -1;
	rc = sqlite3_bind_int64(s, 1, workload) | sqlite3_bind_int64(s, 2, target);
	while (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (count == cap) {
			int ncap = cap ? 2 * cap : 16;
			tdb_record *nv = realloc(v, (size_t)ncap * sizeof(*nv));

			if (!nv) {
				oom(db, err);
				break;
			}
			v = nv;
			cap = ncap;
		}
		if (tdb_record_read(db, s, 0, &v[count], err))
			break;
		count++;
		rc = SQLITE_OK;
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		tdb_sql_fail(db, err, "read records");
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		tdb_records_free(v, count);
		return -1;
	}
	*out = v;
	*n = count;
	return 0;
}

/* ---- the best record ---- */

int tdb_best(tdb *db, int64_t workload, int64_t target, tdb_record *out, rt_error *err)
{
	sqlite3_stmt *s;
	int rc, found = -1;

	memset(out, 0, sizeof(*out));
	if (!(s = prepare(db,
			  "SELECT " TDB_RECORD_COLS ", b.seconds, b.gflops FROM best b "
			  "JOIN records r ON r.id = b.record "
			  "WHERE b.workload = ?1 AND b.target = ?2",
			  err)))
		return -1;
	rc = sqlite3_bind_int64(s, 1, workload) | sqlite3_bind_int64(s, 2, target);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		found = 0;
	else if (rc != SQLITE_ROW)
		tdb_sql_fail(db, err, "read the best record");
	else if (!tdb_record_read(db, s, 0, out, err)) {
		out->seconds = sqlite3_column_double(s, TDB_RECORD_NCOLS);
		out->gflops = sqlite3_column_type(s, TDB_RECORD_NCOLS + 1) == SQLITE_NULL
				  ? NAN
				  : sqlite3_column_double(s, TDB_RECORD_NCOLS + 1);
		found = 1;
	}
	sqlite3_finalize(s);
	return found;
}

/* Whether record `id` is an OK verified record of workload x target; its
 * workload's flops in *flops.  0 yes, -1 no (err says why). */
static int best_candidate(tdb *db, int64_t workload, int64_t target, int64_t id, double *flops,
			  rt_error *err)
{
	sqlite3_stmt *s = prepare(db,
				  "SELECT r.workload = ?2 AND r.target = ?3 AND "
				  "r.status = 'ok' AND r.verified AND NOT r.imported, w.flops "
				  "FROM records r "
				  "JOIN workloads w ON w.id = r.workload WHERE r.id = ?1",
				  err);
	int rc, ok = 0;

	if (!s)
		return -1;
	rc = sqlite3_bind_int64(s, 1, id) | sqlite3_bind_int64(s, 2, workload) |
	     sqlite3_bind_int64(s, 3, target);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		ok = sqlite3_column_int(s, 0);
		*flops = sqlite3_column_double(s, 1);
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		tdb_sql_fail(db, err, "read a record");
	else if (rc == SQLITE_DONE)
		rt_error_set(err, 0, 0, "%s: no record %" PRId64 "; it cannot be the best",
			     db->path, id);
	else if (!ok)
		rt_error_set(err, 0, 0,
			     "%s: record %" PRId64
			     " is not an OK, verified record (measured here) of workload %" PRId64
			     " on target %" PRId64 "; it cannot be the best",
			     db->path, id, workload, target);
	sqlite3_finalize(s);
	return ok ? 0 : -1;
}

/* Write the best row of workload x target. */
static int write_best(tdb *db, int64_t workload, int64_t target, int64_t id, double seconds,
		      double gflops, rt_error *err)
{
	sqlite3_stmt *s = prepare(db,
				  "INSERT OR REPLACE INTO best (workload, target, record, "
				  "seconds, gflops, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
				  err);
	int rc;

	if (!s)
		return -1;
	rc = step_done(db, s,
		       sqlite3_bind_int64(s, 1, workload) | sqlite3_bind_int64(s, 2, target) |
			   sqlite3_bind_int64(s, 3, id) | sqlite3_bind_double(s, 4, seconds) |
			   sqlite3_bind_double(s, 5, gflops) | sqlite3_bind_double(s, 6, now()),
		       "set the best record", err);
	sqlite3_finalize(s);
	return rc;
}

int tdb_set_best(tdb *db, int64_t workload, int64_t target, int64_t id, double seconds,
		 rt_error *err)
{
	double flops = 0;

	if (!isfinite(seconds) || seconds <= 0)
		return rt_error_set(
		    err, 0, 0, "%s: best time %g s of record %" PRId64 " is not a positive number",
		    db->path, seconds, id);
	if (tdb_begin(db, err))
		return -1;
	if (best_candidate(db, workload, target, id, &flops, err) ||
	    write_best(db, workload, target, id, seconds, flops / seconds * 1e-9, err) ||
	    tdb_commit(db, err)) {
		tdb_rollback(db);
		return -1;
	}
	return 0;
}

int tdb_mark_verified(tdb *db, int64_t id, rt_error *err)
{
	sqlite3_stmt *s = prepare(db,
				  "UPDATE records SET verified = 1 "
				  "WHERE id = ?1 AND status = 'ok' AND NOT imported",
				  err);
	int rc;

	if (!s)
		return -1;
	rc = sqlite3_bind_int64(s, 1, id);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return tdb_sql_fail(db, err, "mark a record verified");
	if (sqlite3_changes(db->h) != 1)
		return rt_error_set(err, 0, 0,
				    "%s: no OK record %" PRId64 " measured here to mark verified",
				    db->path, id);
	return 0;
}

/* ---- list ---- */

void tdb_summaries_free(tdb_summary *s, int n)
{
	if (!s)
		return;
	for (int i = 0; i < n; i++) {
		tdb_workload_release(&s[i].w);
		tdb_target_release(&s[i].t);
	}
	free(s);
}

static int read_summary(const tdb *db, sqlite3_stmt *s, tdb_summary *out, rt_error *err)
{
	memset(out, 0, sizeof(*out));
	if (read_workload(db, s, 0, &out->w, err))
		return -1;
	if (read_target(db, s, 4, &out->t, err)) {
		tdb_workload_release(&out->w);
		return -1;
	}
	out->records = sqlite3_column_int(s, 9);
	out->failures = sqlite3_column_int(s, 10);
	out->best_gflops = sqlite3_column_double(s, 11);
	out->best_id = sqlite3_column_int64(s, 12);
	return 0;
}

int tdb_list(tdb *db, tdb_summary **out, int *n, rt_error *err)
{
	sqlite3_stmt *s;
	tdb_summary *v = NULL;
	int cap = 0, count = 0, rc;

	*out = NULL;
	*n = 0;
	if (!(s = prepare(db,
			  "SELECT w.id, w.hash, w.text, w.flops, "
			  "t.id, t.target, t.device, t.features, t.fingerprint, "
			  "count(*), total(r.status <> 'ok'), "
			  "coalesce(b.gflops, 0), coalesce(b.record, 0) "
			  "FROM records r JOIN workloads w ON w.id = r.workload "
			  "JOIN targets t ON t.id = r.target "
			  "LEFT JOIN best b ON b.workload = r.workload AND b.target = r.target "
			  "GROUP BY r.workload, r.target "
			  "ORDER BY w.hash, t.target, t.fingerprint",
			  err)))
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (count == cap) {
			int ncap = cap ? 2 * cap : 16;
			tdb_summary *nv = realloc(v, (size_t)ncap * sizeof(*nv));

			if (!nv) {
				oom(db, err);
				break;
			}
			v = nv;
			cap = ncap;
		}
		if (read_summary(db, s, &v[count], err))
			break;
		count++;
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		tdb_sql_fail(db, err, "list the workloads");
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		tdb_summaries_free(v, count);
		return -1;
	}
	*out = v;
	*n = count;
	return 0;
}

/* ---- prune and check ---- */

/* Failures, and OK records ranked (by time, then age) beyond `keep` in
 * their workload x target; never a best record or one another replays. */
static const char prune_sql[] =
    "DELETE FROM records WHERE id IN ("
    "  SELECT id FROM records WHERE status <> 'ok'"
    "  UNION ALL"
    "  SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY workload, target"
    "                         ORDER BY seconds IS NULL, seconds, id) AS rank"
    "                  FROM records WHERE status = 'ok')"
    "  WHERE rank > ?1)"
    " AND id NOT IN (SELECT record FROM best)"
    " AND id NOT IN (SELECT replay_of FROM records WHERE replay_of IS NOT NULL)";

int tdb_prune(tdb *db, int keep, rt_error *err)
{
	sqlite3_stmt *s;
	int removed;

	if (keep < 0)
		return rt_error_set(err, 0, 0, "%s: prune: keep %d records? expected 0 or more",
				    db->path, keep);
	if (tdb_begin(db, err))
		return -1;
	if (!(s = prepare(db, prune_sql, err)) ||
	    step_done(db, s, sqlite3_bind_int(s, 1, keep), "prune records", err)) {
		sqlite3_finalize(s);
		tdb_rollback(db);
		return -1;
	}
	sqlite3_finalize(s);
	removed = sqlite3_changes(db->h);
	if (tdb_commit(db, err)) {
		tdb_rollback(db);
		return -1;
	}
	if (sqlite3_exec(db->h, "VACUUM", NULL, NULL, NULL) != SQLITE_OK) {
		char what[64];

		snprintf(what, sizeof(what), "removed %d records, then VACUUM", removed);
		return tdb_sql_fail(db, err, what);
	}
	return removed;
}

/* The first three columns of the first row of `sql`, as text, into
 * col[3]: 1 a row, 0 none, -1 error. */
static int first_row(tdb *db, const char *sql, char col[3][64], rt_error *err)
{
	sqlite3_stmt *s = prepare(db, sql, err);
	int rc;

	if (!s)
		return -1;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		for (int i = 0; i < 3; i++)
			snprintf(col[i], 64, "%s",
				 or_empty((const char *)sqlite3_column_text(s, i)));
	else if (rc != SQLITE_DONE)
		tdb_sql_fail(db, err, sql);
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

static int check_integrity(tdb *db, rt_error *err)
{
	sqlite3_stmt *s = prepare(db, "PRAGMA integrity_check", err);
	int rc;

	if (!s)
		return -1;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW && strcmp(or_empty((const char *)sqlite3_column_text(s, 0)), "ok")) {
		char what[512];

		/* The first problems, on one line. */
		snprintf(what, sizeof(what), "%s", (const char *)sqlite3_column_text(s, 0));
		for (char *c = what; *c; c++)
			*c = *c == '\n' ? ';' : *c;
		rt_error_set(err, 0, 0, "%s: the tuning db is corrupt (integrity check: %s)",
			     db->path, what);
	} else if (rc != SQLITE_ROW)
		tdb_sql_fail(db, err, "integrity check");
	else
		rc = SQLITE_OK;
	sqlite3_finalize(s);
	return rc == SQLITE_OK ? 0 : -1;
}

static int check_version(tdb *db, rt_error *err)
{
	sqlite3_stmt *s = prepare(db,
				  "SELECT application_id, user_version "
				  "FROM pragma_application_id, pragma_user_version",
				  err);
	int rc, app = 0, version = 0;

	if (!s)
		return -1;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		app = sqlite3_column_int(s, 0);
		version = sqlite3_column_int(s, 1);
	} else {
		tdb_sql_fail(db, err, "read the schema version");
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW)
		return -1;
	if (app != TDB_APPLICATION_ID)
		return rt_error_set(err, 0, 0, "%s: application_id is 0x%08x, not ftc's 0x%08x",
				    db->path, (unsigned)app, (unsigned)TDB_APPLICATION_ID);
	if (version != TDB_SCHEMA_VERSION)
		return rt_error_set(err, 0, 0, "%s: schema version %d, expected %d", db->path,
				    version, TDB_SCHEMA_VERSION);
	return 0;
}

int tdb_check(tdb *db, rt_error *err)
{
	char c[3][64];
	int rc;

	if (check_integrity(db, err) || check_version(db, err))
		return -1;
	rc = first_row(db, "SELECT \"table\", rowid, parent FROM pragma_foreign_key_check", c, err);
	if (rc)
		return rc < 0 ? -1
			      : rt_error_set(err, 0, 0, "%s: %s row %s refers to a missing %s row",
					     db->path, c[0], c[1], c[2]);
	rc = first_row(db,
		       "SELECT b.workload, b.target, b.record FROM best b "
		       "LEFT JOIN records r ON r.id = b.record "
		       "WHERE r.id IS NULL OR r.workload <> b.workload "
		       "OR r.target <> b.target OR r.status <> 'ok' OR NOT r.verified "
		       "OR r.imported",
		       c, err);
	if (rc)
		return rc < 0 ? -1
			      : rt_error_set(
				    err, 0, 0,
				    "%s: the best of workload %s on target %s is record %s, "
				    "which is not an OK, verified record of theirs measured here",
				    db->path, c[0], c[1], c[2]);
	return 0;
}
