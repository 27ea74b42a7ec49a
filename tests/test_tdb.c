/*
 * Tests of tuning_db/: the schema and its migrations, records and the best
 * record, list, prune and check, JSON lines export and import, two
 * processes writing at once, a writer killed mid-run, and the files the db
 * must refuse without writing a byte (not SQLite, another application's
 * SQLite, corrupt, a newer schema).
 *
 * Every test works in its own mkdtemp directory and removes it.  Children
 * of fork open their own connection and leave with _exit.
 */
#include <check.h>
#include <dirent.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tdb.h"
#include "tdb_priv.h"

#define HASH_A "aaaa0000deadbeef"
#define HASH_B "bbbb0000deadbeef"
#define FP "0123456789abcdef"

/* Real workloads (for import, which checks a workload's hash against its
 * text): canonical text, te_graph_hash and te_graph_flops of each. */
#define REAL_A "549ebbce9e873cad"
#define TEXT_A "input A[1000] f32\nC[i < 1000] = A[i] * 2.0 + 1.0\noutput C\n"
#define REAL_B "4e1e5aa7001f899b"
#define TEXT_B "input B[1000] f32\nD[i < 1000] = B[i] * 2.0 + 1.0\noutput D\n"
#define REAL_FLOPS 2000.0

/* ---- files ---- */

typedef struct tmp {
	char dir[64];
	char path[128]; /* dir/tuning.db, not created */
} tmp;

static void tmp_make(tmp *t)
{
	snprintf(t->dir, sizeof(t->dir), "/tmp/ftc-tdb-XXXXXX");
	ck_assert_msg(mkdtemp(t->dir) != NULL, "mkdtemp failed");
	snprintf(t->path, sizeof(t->path), "%s/tuning.db", t->dir);
}

static void rm_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)) != NULL) {
		char p[512];
		struct stat st;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
			rm_tree(p);
		else
			unlink(p);
	}
	closedir(d);
	rmdir(dir);
}

static void tmp_free(tmp *t)
{
	rm_tree(t->dir);
}

/* The whole file; *n its size. */
static char *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long size;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	rewind(f);
	buf = malloc((size_t)size + 1);
	ck_assert(buf != NULL);
	ck_assert_uint_eq(fread(buf, 1, (size_t)size, f), (size_t)size);
	buf[size] = '\0';
	fclose(f);
	*n = (size_t)size;
	return buf;
}

static void spit(const char *path, const char *data, size_t n)
{
	FILE *f = fopen(path, "wb");

	ck_assert(f != NULL);
	ck_assert_uint_eq(fwrite(data, 1, n, f), n);
	ck_assert_int_eq(fclose(f), 0);
}

/* Overwrite n bytes at `off` with bytes of a fixed xorshift sequence. */
static void scribble(const char *path, long off, size_t n)
{
	FILE *f = fopen(path, "r+b");
	uint64_t x = 0x9e3779b97f4a7c15u;

	ck_assert(f != NULL);
	ck_assert_int_eq(fseek(f, off, SEEK_SET), 0);
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		fputc((int)(x & 0xff), f);
	}
	ck_assert_int_eq(fclose(f), 0);
}

static bool file_same(const char *path, const char *before, size_t n)
{
	size_t m;
	char *now = slurp(path, &m);
	bool same = m == n && !memcmp(now, before, n);

	free(now);
	return same;
}

/* ---- SQLite behind tdb's back ---- */

static void sql_exec(const char *path, const char *sql)
{
	sqlite3 *h;
	char *msg = NULL;

	ck_assert_int_eq(
	    sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL), SQLITE_OK);
	ck_assert_msg(sqlite3_exec(h, sql, NULL, NULL, &msg) == SQLITE_OK, "%s: %s", sql, msg);
	sqlite3_close_v2(h);
}

static int64_t sql_int(const char *path, const char *sql)
{
	sqlite3 *h;
	sqlite3_stmt *s;
	int64_t v;

	ck_assert_int_eq(sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	ck_assert_msg(sqlite3_prepare_v2(h, sql, -1, &s, NULL) == SQLITE_OK, "%s: %s", sql,
		      sqlite3_errmsg(h));
	ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
	v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close_v2(h);
	return v;
}

/* ---- tdb helpers ---- */

static tdb *open_ok(const char *path)
{
	rt_error err;
	tdb *db;

	rt_error_clear(&err);
	ck_assert_msg(tdb_open(path, &db, &err) == 0, "%s", err.msg);
	return db;
}

/* Expect tdb_open(path) to fail with a message starting with the path and
 * containing `what`. */
static void open_refused(const char *path, const char *what)
{
	rt_error err;
	tdb *db = NULL;
	size_t n = strlen(path);

	rt_error_clear(&err);
	ck_assert_int_eq(tdb_open(path, &db, &err), -1);
	ck_assert_ptr_null(db);
	ck_assert_msg(!strncmp(err.msg, path, n) && err.msg[n] == ':', "message: %s", err.msg);
	ck_assert_msg(strstr(err.msg, what) != NULL, "expected \"%s\" in: %s", what, err.msg);
}

static int64_t put_workload(tdb *db, const char *hash)
{
	tdb_workload w = {.hash = (char *)hash, .text = "C[i < 4] = A[i]", .flops = 2e9};
	rt_error err;

	rt_error_clear(&err);
	ck_assert_msg(tdb_workload_put(db, &w, &err) == 0, "%s", err.msg);
	ck_assert_int_gt(w.id, 0);
	return w.id;
}

/* REAL_A or REAL_B with its text and flops. */
static int64_t put_real(tdb *db, const char *hash)
{
	tdb_workload w = {.hash = (char *)hash,
			  .text = strcmp(hash, REAL_A) ? TEXT_B : TEXT_A,
			  .flops = REAL_FLOPS};
	rt_error err;

	rt_error_clear(&err);
	ck_assert_msg(tdb_workload_put(db, &w, &err) == 0, "%s", err.msg);
	return w.id;
}

static int64_t put_target(tdb *db, const char *target)
{
	tdb_target t = {.target = (char *)target,
			.device = "znver4",
			.features = "+avx2,+fma",
			.fingerprint = FP};
	rt_error err;

	rt_error_clear(&err);
	ck_assert_msg(tdb_target_put(db, &t, &err) == 0, "%s", err.msg);
	ck_assert_int_gt(t.id, 0);
	return t.id;
}

static tdb_record rec(int64_t w, int64_t t, tdb_status st, double seconds, bool verified)
{
	tdb_record r = {.workload = w,
			.target = t,
			.schedule = "C: split i 4 2",
			.point = "C.i=4,2 C.par=1",
			.space_version = 3,
			.compiler = "ftc 0.1.0",
			.method = "sa-q",
			.seed = 42,
			.status = st,
			.reason = st == TDB_OK ? "" : "crashed: SIGSEGV",
			.seconds = seconds,
			.spread = 0.015,
			.runs = 7,
			.gflops = isfinite(seconds) ? 2.0 / seconds : 0,
			.verified = verified,
			.created = 1718000000.25};
	return r;
}

/* rec() for a workload of put_real (its GFLOP/s from REAL_FLOPS). */
static tdb_record real_rec(int64_t w, int64_t t, tdb_status st, double seconds, bool verified)
{
	tdb_record r = rec(w, t, st, seconds, verified);

	r.gflops = isfinite(seconds) ? REAL_FLOPS * 1e-9 / seconds : 0;
	return r;
}

static int64_t add(tdb *db, tdb_record r)
{
	rt_error err;

	rt_error_clear(&err);
	ck_assert_msg(tdb_record_add(db, &r, &err) == 0, "%s", err.msg);
	ck_assert_int_gt(r.id, 0);
	return r.id;
}

static int64_t best_id(tdb *db, int64_t w, int64_t t)
{
	tdb_record b;
	rt_error err;
	int64_t id;

	rt_error_clear(&err);
	ck_assert_int_eq(tdb_best(db, w, t, &b, &err), 1);
	id = b.id;
	tdb_record_release(&b);
	return id;
}

static int nrecords(tdb *db, int64_t w, int64_t t)
{
	tdb_record *r;
	int n;
	rt_error err;

	rt_error_clear(&err);
	ck_assert_msg(tdb_records(db, w, t, &r, &n, &err) == 0, "%s", err.msg);
	tdb_records_free(r, n);
	return n;
}

static void check_ok(tdb *db)
{
	rt_error err;

	rt_error_clear(&err);
	ck_assert_msg(tdb_check(db, &err) == 0, "%s", err.msg);
}

static bool same_double(double a, double b)
{
	return (isnan(a) && isnan(b)) || a == b;
}

static bool same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static void assert_same_record(const tdb_record *a, const tdb_record *b)
{
	ck_assert_str_eq(a->uid, b->uid);
	ck_assert_str_eq(a->schedule, b->schedule);
	ck_assert(same_str(a->point, b->point));
	ck_assert_int_eq(a->space_version, b->space_version);
	ck_assert_str_eq(a->compiler, b->compiler);
	ck_assert_str_eq(a->method, b->method);
	ck_assert(a->seed == b->seed);
	ck_assert_int_eq(a->status, b->status);
	ck_assert_str_eq(a->reason, b->reason);
	ck_assert_msg(same_double(a->seconds, b->seconds), "seconds %g %g", a->seconds, b->seconds);
	ck_assert(same_double(a->spread, b->spread));
	ck_assert_int_eq(a->runs, b->runs);
	ck_assert(same_double(a->gflops, b->gflops));
	ck_assert_int_eq(a->verified, b->verified);
	ck_assert(same_double(a->created, b->created));
}

/* ---- paths and fingerprints ---- */

START_TEST(default_path)
{
	char out[256];
	rt_error err;
	tmp t;
	tdb *db;
	struct stat st;

	rt_error_clear(&err);
	setenv("FTC_DB", "/x/y.db", 1);
	setenv("XDG_CACHE_HOME", "/cache", 1);
	setenv("HOME", "/home/u", 1);
	ck_assert_int_eq(tdb_default_path(out, sizeof(out), &err), 0);
	ck_assert_str_eq(out, "/x/y.db");
	unsetenv("FTC_DB");
	ck_assert_int_eq(tdb_default_path(out, sizeof(out), &err), 0);
	ck_assert_str_eq(out, "/cache/ftc/tuning.db");
	setenv("XDG_CACHE_HOME", "relative", 1);
	ck_assert_int_eq(tdb_default_path(out, sizeof(out), &err), 0);
	ck_assert_str_eq(out, "/home/u/.cache/ftc/tuning.db");
	unsetenv("XDG_CACHE_HOME");
	ck_assert_int_eq(tdb_default_path(out, sizeof(out), &err), 0);
	ck_assert_str_eq(out, "/home/u/.cache/ftc/tuning.db");
	ck_assert_int_eq(tdb_default_path(out, 8, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "too long"));
	unsetenv("HOME");
	rt_error_clear(&err);
	ck_assert_int_eq(tdb_default_path(out, sizeof(out), &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "FTC_DB"));

	/* The default's parent directories are made (0755). */
	tmp_make(&t);
	snprintf(out, sizeof(out), "%s/cache", t.dir);
	setenv("XDG_CACHE_HOME", out, 1);
	ck_assert_int_eq(tdb_default_path(out, sizeof(out), &err), 0);
	db = open_ok(out);
	tdb_close(db);
	ck_assert_int_eq(stat(out, &st), 0);
	snprintf(out, sizeof(out), "%s/cache/ftc", t.dir);
	ck_assert_int_eq(stat(out, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	{
		mode_t mask = umask(0);

		umask(mask);
		ck_assert_int_eq(st.st_mode & 0777, 0755 & ~mask);
	}
	tmp_free(&t);
}
END_TEST

START_TEST(fingerprint)
{
	char a[17], b[17];

	tdb_fingerprint("dev", "+avx2,+fma", 8, a);
	ck_assert_str_eq(a, "0b5d530ae5a5824f"); /* FNV-1a 64 of "dev|+avx2,+fma|8" */
	tdb_fingerprint(NULL, NULL, 0, b);
	ck_assert_str_eq(b, "9be2c6196b51752f"); /* of "||0" */
	tdb_fingerprint("dev", "+avx2,+fma", 16, b);
	ck_assert_str_ne(a, b);
	ck_assert_uint_eq(strlen(b), 16);
}
END_TEST

/* ---- schema ---- */

START_TEST(schema_created)
{
	char path[256];
	tmp t;
	tdb *db;

	tmp_make(&t);
	snprintf(path, sizeof(path), "%s/sub/dir/tuning.db", t.dir);
	db = open_ok(path);
	ck_assert_int_eq(tdb_schema_version(db), TDB_SCHEMA_VERSION);
	check_ok(db);
	tdb_close(db);
	ck_assert_int_eq(sql_int(path, "PRAGMA user_version"), TDB_SCHEMA_VERSION);
	ck_assert_int_eq(sql_int(path, "PRAGMA application_id"), 0x66746331);
	ck_assert_int_eq(sql_int(path, "SELECT count(*) FROM sqlite_master WHERE type = 'table' "
				       "AND name IN ('workloads', 'targets', 'records', 'best')"),
			 4);
	ck_assert_int_eq(sql_int(path, "SELECT count(*) FROM pragma_table_info('records') "
				       "WHERE name IN ('runs', 'replay_of')"),
			 2);
	ck_assert_int_eq(sql_int(path, "SELECT count(*) FROM sqlite_master WHERE type = 'index' "
				       "AND name = 'records_workload_target'"),
			 1);
	ck_assert_int_eq(sql_int(path, "SELECT journal_mode = 'wal' FROM pragma_journal_mode"), 1);

	/* Reopening changes nothing; an empty file is initialized. */
	db = open_ok(path);
	ck_assert_int_eq(tdb_schema_version(db), TDB_SCHEMA_VERSION);
	tdb_close(db);
	spit(t.path, "", 0);
	db = open_ok(t.path);
	check_ok(db);
	tdb_close(db);
	ck_assert_int_eq(sql_int(t.path, "PRAGMA user_version"), TDB_SCHEMA_VERSION);
	tmp_free(&t);
}
END_TEST

/* ---- records ---- */

START_TEST(record_round_trip)
{
	tmp t;
	tdb *db;
	tdb_record a, b, *got;
	int n;
	rt_error err;
	int64_t w, tg;

	tmp_make(&t);
	db = open_ok(t.path);
	w = put_workload(db, HASH_A);
	tg = put_target(db, "cpu -mcpu=znver4");
	ck_assert_int_eq(put_workload(db, HASH_A), w); /* found, not duplicated */
	ck_assert_int_eq(put_target(db, "cpu -mcpu=znver4"), tg);

	a = rec(w, tg, TDB_FAILED, INFINITY, false);
	a.point = NULL;
	a.seed = UINT64_MAX;
	a.reason = "it said \"no\" \\ caf\xc3\xa9 \xf0\x9f\x98\x80\n\ttab \x01";
	a.spread = NAN;
	a.gflops = NAN;
	a.runs = 0;
	a.replay_of = 0;
	b = rec(w, tg, TDB_OK, 1.5e-3, true);
	snprintf(b.uid, sizeof(b.uid), "0123456789abcdef0123456789abcdef");
	rt_error_clear(&err);
	ck_assert_msg(tdb_record_add(db, &a, &err) == 0, "%s", err.msg);
	ck_assert_uint_eq(strlen(a.uid), 32);
	b.replay_of = a.id;
	ck_assert_msg(tdb_record_add(db, &b, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(b.uid, "0123456789abcdef0123456789abcdef");
	ck_assert_int_gt(b.id, a.id);

	ck_assert_int_eq(tdb_records(db, w, tg, &got, &n, &err), 0);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(got[0].id, a.id);
	ck_assert_int_eq(got[0].workload, w);
	ck_assert_int_eq(got[0].target, tg);
	assert_same_record(&got[0], &a);
	ck_assert(isinf(got[0].seconds));
	ck_assert_ptr_null(got[0].point);
	ck_assert(got[0].seed == UINT64_MAX);
	ck_assert_int_eq(got[0].replay_of, 0);
	assert_same_record(&got[1], &b);
	ck_assert_int_eq(got[1].replay_of, a.id);
	tdb_records_free(got, n);

	/* A duplicate uid, a bad uid, a missing workload: refused, nothing added. */
	ck_assert_int_eq(tdb_record_add(db, &b, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "UNIQUE"));
	rt_error_clear(&err);
	b.id = 0;
	snprintf(b.uid, sizeof(b.uid), "XYZ");
	ck_assert_int_eq(tdb_record_add(db, &b, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "uid"));
	rt_error_clear(&err);
	b = rec(w + 100, tg, TDB_OK, 1.0, true);
	ck_assert_int_eq(tdb_record_add(db, &b, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "FOREIGN KEY"));
	ck_assert_str_eq(b.uid, "");
	ck_assert_int_eq(nrecords(db, w, tg), 2);
	check_ok(db);
	tdb_close(db);
	tmp_free(&t);
}
END_TEST

START_TEST(best_selection)
{
	tmp t;
	tdb *db;
	tdb_record b;
	rt_error err;
	int64_t w, tg, t2, first, slow, unverified, failed, wrong, fast, other;

	tmp_make(&t);
	db = open_ok(t.path);
	w = put_workload(db, HASH_A);
	tg = put_target(db, "cpu");
	t2 = put_target(db, "cpu -threads=1");
	rt_error_clear(&err);
	ck_assert_int_eq(tdb_best(db, w, tg, &b, &err), 0);

	first = add(db, rec(w, tg, TDB_OK, 2.0, true));
	ck_assert_int_eq(best_id(db, w, tg), first);
	slow = add(db, rec(w, tg, TDB_OK, 3.0, true));
	unverified = add(db, rec(w, tg, TDB_OK, 0.5, false));
	failed = add(db, rec(w, tg, TDB_FAILED, INFINITY, false));
	wrong = add(db, rec(w, tg, TDB_WRONG, 0.1, true));
	ck_assert_int_eq(best_id(db, w, tg), first);
	fast = add(db, rec(w, tg, TDB_OK, 1.0, true));
	ck_assert_int_eq(best_id(db, w, tg), fast);
	ck_assert_int_eq(tdb_best(db, w, tg, &b, &err), 1);
	ck_assert(b.seconds == 1.0);
	ck_assert_str_eq(b.schedule, "C: split i 4 2");
	tdb_record_release(&b);
	other = add(db, rec(w, t2, TDB_OK, 9.0, true));
	ck_assert_int_eq(best_id(db, w, t2), other);
	ck_assert_int_eq(best_id(db, w, tg), fast);

	/* A re-measured time makes a slower record the best. */
	ck_assert_msg(tdb_set_best(db, w, tg, slow, 0.8, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(tdb_best(db, w, tg, &b, &err), 1);
	ck_assert_int_eq(b.id, slow);
	ck_assert(b.seconds == 0.8);
	ck_assert_double_eq_tol(b.gflops, 2e9 / 0.8 * 1e-9, 1e-9);
	tdb_record_release(&b);
	/* Only an OK, verified record of that workload and target. */
	ck_assert_int_eq(tdb_set_best(db, w, tg, unverified, 0.4, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "not an OK, verified record"));
	rt_error_clear(&err);
	ck_assert_int_eq(tdb_set_best(db, w, tg, failed, 0.4, &err), -1);
	rt_error_clear(&err);
	ck_assert_int_eq(tdb_set_best(db, w, tg, wrong, 0.4, &err), -1);
	rt_error_clear(&err);
	ck_assert_int_eq(tdb_set_best(db, w, tg, other, 0.4, &err), -1);
	rt_error_clear(&err);
	ck_assert_int_eq(tdb_set_best(db, w, tg, 9999, 0.4, &err), -1);
	rt_error_clear(&err);
	ck_assert_int_eq(tdb_set_best(db, w, tg, fast, 0, &err), -1);
	rt_error_clear(&err);
	ck_assert_int_eq(best_id(db, w, tg), slow);
	/* Verified later (the final re-measure checks it): then it may be. */
	ck_assert_int_eq(tdb_mark_verified(db, failed, &err), -1);
	rt_error_clear(&err);
	ck_assert_msg(tdb_mark_verified(db, unverified, &err) == 0, "%s", err.msg);
	ck_assert_msg(tdb_set_best(db, w, tg, unverified, 0.4, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(best_id(db, w, tg), unverified);
	ck_assert_msg(tdb_set_best(db, w, tg, slow, 0.8, &err) == 0, "%s", err.msg);
	/* The best's time is what a new record must beat. */
	add(db, rec(w, tg, TDB_OK, 0.9, true));
	ck_assert_int_eq(best_id(db, w, tg), slow);
	fast = add(db, rec(w, tg, TDB_OK, 0.7, true));
	ck_assert_int_eq(best_id(db, w, tg), fast);
	check_ok(db);
	tdb_close(db);
	tmp_free(&t);
}
END_TEST

START_TEST(workload_find)
{
	tmp t;
	tdb *db;
	tdb_workload w;
	rt_error err;
	int64_t a, b;

	tmp_make(&t);
	db = open_ok(t.path);
	a = put_workload(db, "abcd1234abcd1234");
	b = put_workload(db, "abcd5678abcd5678");
	put_workload(db, "ef01ef01ef01ef01");
	rt_error_clear(&err);
	ck_assert_int_eq(tdb_workload_find(db, "abcd1", &w, &err), 1);
	ck_assert_int_eq(w.id, a);
	ck_assert_str_eq(w.hash, "abcd1234abcd1234");
	ck_assert_str_eq(w.text, "C[i < 4] = A[i]");
	ck_assert(w.flops == 2e9);
	tdb_workload_release(&w);
	ck_assert_int_eq(tdb_workload_find(db, "ABCD5678", &w, &err), 1);
	ck_assert_int_eq(w.id, b);
	tdb_workload_release(&w);
	ck_assert_int_eq(tdb_workload_find(db, "9999", &w, &err), 0);
	ck_assert_int_eq(tdb_workload_find(db, "abcd", &w, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "ambiguous"));
	ck_assert_ptr_nonnull(strstr(err.msg, "abcd1234abcd1234"));
	rt_error_clear(&err);
	ck_assert_int_eq(tdb_workload_find(db, "ab", &w, &err), -1);
	rt_error_clear(&err);
	ck_assert_int_eq(tdb_workload_find(db, "abc*", &w, &err), -1);
	tdb_close(db);
	tmp_free(&t);
}
END_TEST

START_TEST(list)
{
	tmp t;
	tdb *db;
	tdb_summary *s;
	int n;
	rt_error err;
	int64_t wa, wb, tg, best;

	tmp_make(&t);
	db = open_ok(t.path);
	wb = put_workload(db, HASH_B);
	wa = put_workload(db, HASH_A);
	tg = put_target(db, "cpu");
	put_workload(db, "cccc0000cccc0000"); /* no records: not listed */
	add(db, rec(wb, tg, TDB_FAILED, INFINITY, false));
	add(db, rec(wa, tg, TDB_OK, 2.0, true));
	best = add(db, rec(wa, tg, TDB_OK, 1.0, true));
	add(db, rec(wa, tg, TDB_WRONG, 1.0, false));
	rt_error_clear(&err);
	ck_assert_msg(tdb_list(db, &s, &n, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(n, 2);
	ck_assert_str_eq(s[0].w.hash, HASH_A);
	ck_assert_str_eq(s[0].t.target, "cpu");
	ck_assert_str_eq(s[0].t.fingerprint, FP);
	ck_assert_int_eq(s[0].records, 3);
	ck_assert_int_eq(s[0].failures, 1);
	ck_assert_int_eq(s[0].best_id, best);
	ck_assert_double_eq_tol(s[0].best_gflops, 2.0, 1e-12);
	ck_assert_str_eq(s[1].w.hash, HASH_B);
	ck_assert_int_eq(s[1].records, 1);
	ck_assert_int_eq(s[1].failures, 1);
	ck_assert_int_eq(s[1].best_id, 0);
	ck_assert(s[1].best_gflops == 0);
	tdb_summaries_free(s, n);
	tdb_close(db);
	tmp_free(&t);
}
END_TEST

/* ---- export and import ---- */

/* The export of `db` as a malloc'd string. */
static char *export_text(tdb *db, int expect)
{
	FILE *f = tmpfile();
	rt_error err;
	char *buf;
	long size;

	ck_assert(f != NULL);
	rt_error_clear(&err);
	ck_assert_int_eq(tdb_export(db, f, &err), expect);
	size = ftell(f);
	rewind(f);
	buf = malloc((size_t)size + 1);
	ck_assert(buf != NULL);
	ck_assert_uint_eq(fread(buf, 1, (size_t)size, f), (size_t)size);
	buf[size] = '\0';
	fclose(f);
	return buf;
}

/* Import `text`; returns tdb_import's status. */
static int import_text(tdb *db, const char *text, int *added, int *skipped, rt_error *err)
{
	FILE *f = tmpfile();
	int rc;

	ck_assert(f != NULL);
	fputs(text, f);
	rewind(f);
	rt_error_clear(err);
	rc = tdb_import(db, f, added, skipped, err);
	fclose(f);
	return rc;
}

/* A db with two workloads, two targets and 6 records of every kind. */
static void fill_varied(tdb *db)
{
	int64_t wa = put_real(db, REAL_A), wb = put_real(db, REAL_B);
	int64_t t1 = put_target(db, "cpu -mcpu=znver4"), t2 = put_target(db, "cpu -threads=1");
	tdb_record r = real_rec(wa, t1, TDB_FAILED, INFINITY, false);
	int64_t old;

	r.point = NULL;
	r.seed = UINT64_MAX;
	r.reason = "error: \"x\" \\ caf\xc3\xa9 \xf0\x9f\x98\x80\n\t\x01\x1f end";
	r.spread = NAN;
	r.gflops = NAN;
	old = add(db, r);
	add(db, real_rec(wa, t1, TDB_OK, 1.25e-3, true));
	r = real_rec(wa, t1, TDB_OK, 1.0e-3, true);
	r.replay_of = old;
	r.method = "replay";
	r.runs = 0;
	r.seed = (uint64_t)1 << 63;
	add(db, r);
	add(db, real_rec(wb, t1, TDB_WRONG, 0.5, false));
	r = real_rec(wb, t2, TDB_OK, 0.1 + 0.2, true);
	r.created = 1718000000.123456789;
	r.space_version = -1;
	add(db, r);
	add(db, real_rec(wa, t2, TDB_OK, 7.0, false));
}

static char *replace(const char *s, const char *from, const char *to);

START_TEST(export_import)
{
	tmp t, u;
	tdb *a, *b;
	char *ea, *eb;
	int added, skipped;
	rt_error err;
	tdb_workload w;
	tdb_record *ra, *rb;
	int na, nb;

	tmp_make(&t);
	tmp_make(&u);
	a = open_ok(t.path);
	fill_varied(a);
	ea = export_text(a, 6);
	ck_assert_ptr_nonnull(strstr(ea, "\\\"x\\\" \\\\ caf\xc3\xa9 \xf0\x9f\x98\x80\\u000a\\u0009"
					 "\\u0001\\u001f end"));
	ck_assert_ptr_nonnull(strstr(ea, "\"seed\":\"18446744073709551615\""));
	ck_assert_ptr_nonnull(strstr(ea, "\"seconds\":null"));

	b = open_ok(u.path);
	ck_assert_msg(import_text(b, ea, &added, &skipped, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(added, 6);
	ck_assert_int_eq(skipped, 0);
	eb = export_text(b, 6);
	/* Every field, uids and replay_of included; but an imported record is
	 * unverified here. */
	ck_assert_ptr_nonnull(strstr(ea, "\"verified\":true"));
	ck_assert_ptr_null(strstr(eb, "\"verified\":true"));
	while (strstr(ea, "\"verified\":true")) {
		char *v = replace(ea, "\"verified\":true", "\"verified\":false");

		free(ea);
		ea = v;
	}
	ck_assert_msg(!strcmp(ea, eb), "export after import differs:\n%.400s\n%.400s", ea, eb);
	free(eb);

	/* Field by field, and the best, for one workload x target. */
	ck_assert_int_eq(tdb_workload_find(a, REAL_A, &w, &err), 1);
	ck_assert_int_eq(tdb_records(a, w.id, 1, &ra, &na, &err), 0);
	tdb_workload_release(&w);
	ck_assert_int_eq(tdb_workload_find(b, REAL_A, &w, &err), 1);
	ck_assert_int_eq(tdb_records(b, w.id, 1, &rb, &nb, &err), 0);
	ck_assert_int_eq(na, 3);
	ck_assert_int_eq(nb, 3);
	for (int i = 0; i < na; i++) {
		ck_assert(!ra[i].imported && rb[i].imported && !rb[i].verified);
		ra[i].verified = false;
		assert_same_record(&ra[i], &rb[i]);
	}
	ck_assert_int_eq(rb[2].replay_of, rb[0].id);
	/* Imported records are not the best until replayed here. */
	ck_assert_int_eq(best_id(a, w.id, 1), ra[2].id);
	{
		tdb_record none;

		ck_assert_int_eq(tdb_best(b, w.id, 1, &none, &err), 0);
		ck_assert_int_eq(tdb_set_best(b, w.id, 1, rb[2].id, 1e-3, &err), -1);
		ck_assert_ptr_nonnull(strstr(err.msg, "measured here"));
		rt_error_clear(&err);
		ck_assert_int_eq(tdb_mark_verified(b, rb[2].id, &err), -1);
		rt_error_clear(&err);
	}
	tdb_records_free(ra, na);
	tdb_records_free(rb, nb);
	tdb_workload_release(&w);

	/* Again: every record is a duplicate. */
	ck_assert_msg(import_text(b, ea, &added, &skipped, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(added, 0);
	ck_assert_int_eq(skipped, 6);
	check_ok(b);
	free(ea);
	tdb_close(a);
	tdb_close(b);
	tmp_free(&t);
	tmp_free(&u);
}
END_TEST

/* `s` with the first `from` replaced by `to` (malloc'd). */
static char *replace(const char *s, const char *from, const char *to)
{
	const char *at = strstr(s, from);
	size_t n = strlen(s) - strlen(from) + strlen(to) + 1;
	char *out = malloc(n);

	ck_assert_msg(at != NULL, "no %s in %s", from, s);
	ck_assert(out != NULL);
	snprintf(out, n, "%.*s%s%s", (int)(at - s), s, to, at + strlen(from));
	return out;
}

/* One exported record line (with its newline), from a fresh db. */
static char *one_line(const char *dir, int nth)
{
	char path[256];
	tdb *db;
	char *text, *line, *nl;
	int64_t w, t;

	snprintf(path, sizeof(path), "%s/one.db", dir);
	db = open_ok(path);
	w = put_real(db, REAL_A);
	t = put_target(db, "cpu");
	for (int i = 0; i <= nth; i++)
		add(db, real_rec(w, t, TDB_OK, 1.0 + i, true));
	text = export_text(db, nth + 1);
	tdb_close(db);
	line = text;
	for (int i = 0; i < nth; i++)
		line = strchr(line, '\n') + 1;
	nl = strchr(line, '\n');
	nl[1] = '\0';
	line = strdup(line);
	free(text);
	unlink(path);
	return line;
}

START_TEST(import_malformed)
{
	static const struct {
		const char *from, *to; /* applied to a valid line; from NULL: `to` is the line */
		const char *expect;
	} bad[] = {
	    {NULL, "{\"workload\":\"x\" \"a\":1}\n", "3: expected ',' or '}' at column 17"},
	    {NULL, "{\"workload\":\n", "3: expected a value at column 13"},
	    {NULL, "[1]\n", "3: expected '{' at column 1"},
	    {NULL, "{\"a\":1}\n", "3: missing \"workload\""},
	    {NULL, "{\"a\":1,\"a\":2}\n", "3: duplicate key \"a\" at column 8"},
	    {NULL, "{\"a\":\"\\x\"}\n", "3: bad escape '\\x' at column 7"},
	    {NULL, "{\"a\":\"\\ud800\"}\n", "high surrogate"},
	    {NULL, "{\"a\":\"\\udc00\"}\n", "lone low surrogate"},
	    {NULL, "{\"a\":\"\\u00zz\"}\n", "bad \\u escape"},
	    {NULL, "{\"a\":\"\\u0000\"}\n", "\\u0000 is not allowed"},
	    {NULL, "{\"a\":\"abc\n", "3: unterminated string at column 6"},
	    {NULL, "{\"a\":\"a\tb\"}\n", "control character 0x09"},
	    {NULL, "{\"a\":01}\n", "expected ',' or '}' at column 7"},
	    {NULL, "{\"a\":1.}\n", "bad number"},
	    {NULL, "{\"a\":-}\n", "bad number"},
	    {NULL, "{\"a\":1e}\n", "exponent"},
	    {NULL, "{\"a\":{}}\n", "nested objects and arrays"},
	    {NULL, "{\"a\":tru}\n", "expected a value"},
	    {NULL, "{} x\n", "unexpected text after the object"},
	    {NULL, "{\"a\":1,}\n", "expected a string key"},
	    {"{", "{\"extra\":1,", "unknown key \"extra\" at column 2"},
	    /* 23 members and 9 more: the limit (J_MAX_MEMBERS), parsed; 10: over it */
	    {"{", "{\"a\":1,\"b\":1,\"c\":1,\"d\":1,\"e\":1,\"f\":1,\"g\":1,\"h\":1,\"i\":1,",
	     "unknown key \"a\" at column 2"},
	    {"{",
	     "{\"a\":1,\"b\":1,\"c\":1,\"d\":1,\"e\":1,\"f\":1,\"g\":1,\"h\":1,\"i\":1,\"j\":1,",
	     "too many members (at most 32)"},
	    {"\"seed\":\"42\"", "\"seed\":-1", "\"seed\" must be an integer"},
	    {"\"seed\":\"42\"", "\"seed\":\"18446744073709551616\"", "\"seed\" must be an integer"},
	    {"\"status\":\"ok\"", "\"status\":\"great\"", "\"status\" must be"},
	    {"\"runs\":7", "\"runs\":7.5", "\"runs\" must be an integer"},
	    {"\"runs\":7", "\"runs\":\"7\"", "\"runs\" must be a number, not a string"},
	    {"\"verified\":true", "\"verified\":1", "\"verified\" must be a boolean"},
	    {"\"seconds\":2", "\"seconds\":1e999", "out of range"},
	    {"\"replay_of\":null", "\"replay_of\":\"ffffffffffffffffffffffffffffffff\"",
	     "neither in the db nor on an earlier line"},
	    /* What can be checked is: the workload's hash, text and flops ... */
	    {"\"workload\":\"" REAL_A, "\"workload\":\"" REAL_B,
	     "\"workload\" is " REAL_B " but \"workload_text\" hashes to " REAL_A},
	    {"A[i] * 2.0", "Z[i] * 2.0", "\"workload_text\" is not a .te graph (its line 2:"},
	    {"\"flops\":2000", "\"flops\":4000",
	     "\"flops\" is 4000 but the workload computes 2000"},
	    /* ... and the numbers of a measurement. */
	    {"\"seconds\":2,", "\"seconds\":-2,", "\"seconds\" must be a positive time, not -2"},
	    {"\"seconds\":2,", "\"seconds\":0,", "\"seconds\" must be a positive time, not 0"},
	    {"\"seconds\":2,", "\"seconds\":null,", "\"seconds\" must be a positive time, not inf"},
	    {"\"spread\":", "\"spread\":-", "\"spread\" must not be negative"},
	    {"\"gflops\":", "\"gflops\":-", "\"gflops\" must not be negative"},
	    {"\"gflops\":", "\"gflops\":9", "but flops / seconds gives 1.00000000000000"},
	    {"\"created\":", "\"created\":-", "\"created\" must not be negative"},
	};
	tmp t;
	tdb *db;
	char *l1, *l2, *l3;
	rt_error err;
	int added = -1, skipped = -1;

	tmp_make(&t);
	l1 = one_line(t.dir, 0);
	l2 = one_line(t.dir, 1);
	/* l3: like l2 with another uid */
	l3 = strdup(l2);
	memcpy(strstr(l3, "\"uid\":\"") + 7, "00000000000000000000000000000000", 32);
	db = open_ok(t.path);
	ck_assert_msg(import_text(db, l1, &added, &skipped, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(added, 1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *line = bad[i].from ? replace(l3, bad[i].from, bad[i].to) : strdup(bad[i].to);
		size_t n = strlen(l1) + strlen(l2) + strlen(line) + 1;
		char *text = malloc(n);

		snprintf(text, n, "%s%s%s", l1, l2, line);
		ck_assert_int_eq(import_text(db, text, &added, &skipped, &err), -1);
		ck_assert_msg(!strncmp(err.msg, "3: ", 3), "case %zu: %s", i, err.msg);
		ck_assert_msg(strstr(err.msg, bad[i].expect) != NULL,
			      "case %zu: expected \"%s\" in: %s", i, bad[i].expect, err.msg);
		ck_assert_int_eq(err.line, 3);
		ck_assert_int_eq(added, 0);
		/* Unchanged: l2 (on line 2) was rolled back. */
		ck_assert_int_eq(sql_int(t.path, "SELECT count(*) FROM records"), 1);
		free(line);
		free(text);
	}
	/* Blank lines are skipped; the good lines then import. */
	{
		size_t n = strlen(l2) + strlen(l3) + 8;
		char *text = malloc(n);

		snprintf(text, n, "\n%s  \n%s", l2, l3);
		ck_assert_msg(import_text(db, text, &added, &skipped, &err) == 0, "%s", err.msg);
		ck_assert_int_eq(added, 2);
		free(text);
	}
	check_ok(db);
	tdb_close(db);
	free(l1);
	free(l2);
	free(l3);
	tmp_free(&t);
}
END_TEST

START_TEST(import_decodes)
{
	tmp t;
	tdb *db;
	char *l, *l2, *l3;
	rt_error err;
	int added, skipped, n;
	tdb_record *r;

	tmp_make(&t);
	l = one_line(t.dir, 0);
	l2 = replace(l, "\"reason\":\"\"",
		     "\"reason\" : \"caf\\u00e9 \\ud83d\\ude00 \\u20AC \\\"q\\\" \\\\ \\/ "
		     "\\b\\f\\n\\r\\t\"");
	l3 = replace(l2, "\"seed\":\"42\"", "\"seed\":18446744073709551615");
	db = open_ok(t.path);
	ck_assert_msg(import_text(db, l3, &added, &skipped, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(tdb_records(db, 1, 1, &r, &n, &err), 0);
	ck_assert_int_eq(n, 1);
	ck_assert_str_eq(r[0].reason,
			 "caf\xc3\xa9 \xf0\x9f\x98\x80 \xe2\x82\xac \"q\" \\ / \b\f\n\r\t");
	ck_assert(r[0].seed == UINT64_MAX);
	tdb_records_free(r, n);
	tdb_close(db);
	free(l);
	free(l2);
	free(l3);
	tmp_free(&t);
}
END_TEST

/* Import `n` bytes of `data` (NUL bytes allowed). */
static int import_bytes(tdb *db, const char *data, size_t n, int *added, rt_error *err)
{
	FILE *f = tmpfile();
	int skipped, rc;

	ck_assert(f != NULL);
	ck_assert_uint_eq(fwrite(data, 1, n, f), n);
	rewind(f);
	rt_error_clear(err);
	rc = tdb_import(db, f, added, &skipped, err);
	fclose(f);
	return rc;
}

/* A line of exactly TDB_IMPORT_LINE_MAX bytes imports, one byte more is
 * refused (and nothing imported); a NUL byte is refused where it is; an
 * endless source of them (/dev/zero) ends at once. */
START_TEST(import_limits)
{
	tmp t;
	tdb *db;
	char *l = NULL, *big;
	size_t n;
	rt_error err;
	int added = -1, skipped;
	FILE *zero;

	tmp_make(&t);
	l = one_line(t.dir, 0);
	n = strlen(l) - 1; /* without its newline */
	db = open_ok(t.path);
	big = malloc((size_t)TDB_IMPORT_LINE_MAX + 2);
	ck_assert_ptr_nonnull(big);
	memset(big, ' ', (size_t)TDB_IMPORT_LINE_MAX + 1);
	memcpy(big, l, n);
	big[TDB_IMPORT_LINE_MAX + 1] = '\n';
	ck_assert_int_eq(import_bytes(db, big, (size_t)TDB_IMPORT_LINE_MAX + 2, &added, &err), -1);
	ck_assert_msg(strstr(err.msg, "1: line longer than 4194304 bytes") == err.msg, "%s",
		      err.msg);
	ck_assert_int_eq(added, 0);
	big[TDB_IMPORT_LINE_MAX] = '\n';
	ck_assert_msg(import_bytes(db, big, (size_t)TDB_IMPORT_LINE_MAX + 1, &added, &err) == 0,
		      "%s", err.msg);
	ck_assert_int_eq(added, 1);
	free(big);

	l[5] = '\0';
	ck_assert_int_eq(import_bytes(db, l, n, &added, &err), -1);
	ck_assert_str_eq(err.msg, "1: NUL byte in the line at column 6");
	zero = fopen("/dev/zero", "r");
	ck_assert_ptr_nonnull(zero);
	rt_error_clear(&err);
	ck_assert_int_eq(tdb_import(db, zero, &added, &skipped, &err), -1);
	fclose(zero);
	ck_assert_str_eq(err.msg, "1: NUL byte in the line at column 1");
	ck_assert_int_eq(sql_int(t.path, "SELECT count(*) FROM records"), 1);
	tdb_close(db);
	free(l);
	tmp_free(&t);
}
END_TEST

/* ---- concurrency and crashes ---- */

/* In a child: open `path`, add `n` records (n < 0: forever), writing the
 * count committed so far to `fd` (if >= 0) after each; never returns. */
static void writer(const char *path, int n, int fd)
{
	tdb_workload w = {.hash = HASH_A, .text = "C", .flops = 1e6};
	tdb_target t = {.target = "cpu", .device = "d", .features = "", .fingerprint = FP};
	rt_error err;
	tdb *db;

	rt_error_clear(&err);
	if (tdb_open(path, &db, &err) || tdb_workload_put(db, &w, &err) ||
	    tdb_target_put(db, &t, &err)) {
		fprintf(stderr, "writer: %s\n", err.msg);
		_exit(1);
	}
	for (int i = 0; n < 0 || i < n; i++) {
		tdb_record r = rec(w.id, t.id, i % 5 ? TDB_OK : TDB_FAILED, 1.0 + i % 17, true);

		if (tdb_record_add(db, &r, &err)) {
			fprintf(stderr, "writer: %s\n", err.msg);
			_exit(2);
		}
		if (fd >= 0 && write(fd, &(int){i + 1}, sizeof(int)) != (ssize_t)sizeof(int))
			_exit(3);
	}
	tdb_close(db);
	_exit(0);
}

START_TEST(two_writers)
{
	tmp t;
	pid_t pid[2];
	tdb *db;
	int status;

	tmp_make(&t);
	/* Both create the missing file at once, then write. */
	for (int i = 0; i < 2; i++) {
		pid[i] = fork();
		ck_assert_int_ge(pid[i], 0);
		if (pid[i] == 0)
			writer(t.path, 200, -1);
	}
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(waitpid(pid[i], &status, 0), pid[i]);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "writer %d: status %d",
			      i, status);
	}
	db = open_ok(t.path);
	ck_assert_int_eq(nrecords(db, 1, 1), 400);
	ck_assert_int_eq(sql_int(t.path, "SELECT count(*) FROM workloads"), 1);
	ck_assert_int_eq(sql_int(t.path, "SELECT count(DISTINCT uid) FROM records"), 400);
	best_id(db, 1, 1);
	check_ok(db);
	tdb_close(db);
	tmp_free(&t);
}
END_TEST

START_TEST(killed_writer)
{
	tmp t;
	int fd[2], status, got = 0, v, n;
	pid_t pid;
	tdb *db;
	struct timespec pause = {0, 100 * 1000 * 1000};

	tmp_make(&t);
	ck_assert_int_eq(pipe(fd), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(fd[0]);
		writer(t.path, -1, fd[1]);
	}
	close(fd[1]);
	ck_assert_int_eq(read(fd[0], &got, sizeof(got)), (ssize_t)sizeof(got)); /* running */
	nanosleep(&pause, NULL);
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	while (read(fd[0], &v, sizeof(v)) == (ssize_t)sizeof(v))
		got = v;
	close(fd[0]);

	db = open_ok(t.path);
	check_ok(db);
	n = nrecords(db, 1, 1);
	/* Every reported commit is there; at most one more committed
	 * before it could be reported. */
	ck_assert_msg(n == got || n == got + 1, "%d records, %d reported", n, got);
	ck_assert_int_ge(n, 1);
	add(db, rec(1, 1, TDB_OK, 0.5, true));
	ck_assert_int_eq(nrecords(db, 1, 1), n + 1);
	ck_assert_int_eq(best_id(db, 1, 1), n + 1);
	check_ok(db);
	tdb_close(db);
	tmp_free(&t);
}
END_TEST

/* ---- files to refuse ---- */

START_TEST(refuse_not_sqlite)
{
	tmp t;
	char *before;
	size_t n;
	char wal[256];

	tmp_make(&t);
	spit(t.path, "x", 1);
	scribble(t.path, 0, 4096);
	before = slurp(t.path, &n);
	ck_assert_int_ne(before[0], 'S');
	open_refused(t.path, "not an SQLite database (ftc will not overwrite it; move it away or "
			     "use --db)");
	ck_assert(file_same(t.path, before, n));
	snprintf(wal, sizeof(wal), "%s-wal", t.path);
	ck_assert_int_ne(access(wal, F_OK), 0);
	free(before);

	spit(t.path, "hello\n", 6); /* shorter than the magic */
	open_refused(t.path, "not an SQLite database");
	ck_assert(file_same(t.path, "hello\n", 6));
	tmp_free(&t);
}
END_TEST

START_TEST(refuse_other_app)
{
	tmp t;
	char *before;
	size_t n;
	rt_error err;
	tdb *db;

	tmp_make(&t);
	sql_exec(t.path, "CREATE TABLE notes (x TEXT); INSERT INTO notes VALUES ('mine');");
	before = slurp(t.path, &n);
	open_refused(t.path, "SQLite database of another application");
	ck_assert(file_same(t.path, before, n));
	rt_error_clear(&err);
	ck_assert_int_eq(tdb_open_readonly(t.path, &db, &err), -1);
	ck_assert(file_same(t.path, before, n));
	free(before);
	unlink(t.path);

	/* No tables, but another application_id. */
	sql_exec(t.path, "PRAGMA application_id = 1234");
	before = slurp(t.path, &n);
	open_refused(t.path, "another application");
	ck_assert(file_same(t.path, before, n));
	free(before);
	tmp_free(&t);
}
END_TEST

START_TEST(refuse_future_schema)
{
	tmp t;
	char *before, expect[512];
	size_t n;
	tdb *db;
	rt_error err;

	tmp_make(&t);
	db = open_ok(t.path);
	tdb_close(db);
	sql_exec(t.path, "PRAGMA user_version = 99");
	before = slurp(t.path, &n);
	rt_error_clear(&err);
	ck_assert_int_eq(tdb_open(t.path, &db, &err), -1);
	snprintf(expect, sizeof(expect),
		 "%s: tuning db schema version 99 is newer than this ftc supports (%d); use a "
		 "newer ftc or another --db",
		 t.path, TDB_SCHEMA_VERSION);
	ck_assert_str_eq(err.msg, expect);
	rt_error_clear(&err);
	ck_assert_int_eq(tdb_open_readonly(t.path, &db, &err), -1);
	ck_assert_str_eq(err.msg, expect);
	ck_assert(file_same(t.path, before, n));
	free(before);
	tmp_free(&t);
}
END_TEST

/* A db whose first page (after the 100-byte header) is garbage: refused as
 * corrupt, untouched; one damaged in the middle: tdb_check (or the open)
 * says so, with the path, and nothing crashes. */
START_TEST(damaged_db)
{
	tmp t;
	tdb *db;
	rt_error err;
	char *before, sched[400];
	size_t n;
	int rc, nr;
	tdb_record *r;
	FILE *devnull;

	tmp_make(&t);
	db = open_ok(t.path);
	put_workload(db, HASH_A);
	put_target(db, "cpu");
	for (int i = 0; i < 2000; i++) {
		tdb_record x = rec(1, 1, TDB_OK, 1.0 + i, true);

		snprintf(sched, sizeof(sched), "C: split i %d %-300d", i, i);
		x.schedule = sched;
		add(db, x);
	}
	tdb_close(db);
	before = slurp(t.path, &n);
	ck_assert_uint_gt(n, 200000);

	scribble(t.path, (long)(n / 2 / 4096 * 4096), 4 * 4096);
	rt_error_clear(&err);
	rc = tdb_open(t.path, &db, &err);
	if (rc == 0) {
		devnull = fopen("/dev/null", "w");
		if (tdb_records(db, 1, 1, &r, &nr, &err) == 0)
			tdb_records_free(r, nr);
		tdb_export(db, devnull, &err);
		fclose(devnull);
		rt_error_clear(&err);
		rc = tdb_check(db, &err);
		tdb_close(db);
	}
	ck_assert_int_eq(rc, -1);
	ck_assert_msg(!strncmp(err.msg, t.path, strlen(t.path)), "%s", err.msg);
	ck_assert_msg(strstr(err.msg, "corrupt") != NULL, "%s", err.msg);

	spit(t.path, before, n);
	scribble(t.path, 100, 4096 - 100);
	free(before);
	before = slurp(t.path, &n);
	open_refused(t.path, "corrupt");
	ck_assert(file_same(t.path, before, n));
	free(before);
	tmp_free(&t);
}
END_TEST

/* A db of two workloads, a target and `n` records each, closed; its size. */
static size_t make_filled(const char *path, int n)
{
	tdb *db = open_ok(path);
	char sched[400];
	size_t size;
	char *bytes;

	put_workload(db, HASH_A);
	put_workload(db, HASH_B);
	put_target(db, "cpu");
	for (int i = 0; i < 2 * n; i++) {
		tdb_record x = rec(1 + i % 2, 1, TDB_OK, 1.0 + i, true);

		snprintf(sched, sizeof(sched), "C: split i %d %-300d", i, i);
		x.schedule = sched;
		add(db, x);
	}
	tdb_close(db);
	bytes = slurp(path, &size);
	free(bytes);
	return size;
}

/* Opening (for writing) a damaged file is refused with `what` in the
 * message, and the file keeps every byte; no journal is left beside it. */
static void refused_untouched(const char *path, const char *what)
{
	char *before, side[300];
	size_t n;

	before = slurp(path, &n);
	open_refused(path, what);
	ck_assert_msg(file_same(path, before, n), "%s was written", path);
	free(before);
	snprintf(side, sizeof(side), "%s-journal", path);
	ck_assert_int_ne(access(side, F_OK), 0);
	snprintf(side, sizeof(side), "%s-wal", path);
	ck_assert_int_ne(access(side, F_OK), 0);
	snprintf(side, sizeof(side), "%s-shm", path);
	ck_assert_int_ne(access(side, F_OK), 0);
}

/* Issue 12 item 5: the last page damaged (as with dd over it), or the best
 * table dropped: refused before the first write, not a byte changed. */
START_TEST(damaged_refused_readonly)
{
	tmp t;
	size_t n;
	int64_t sum;

	tmp_make(&t);
	n = make_filled(t.path, 200);
	ck_assert_uint_gt(n, 8 * 4096);
	scribble(t.path, (long)(n - 4096), 4096);
	refused_untouched(t.path, "the tuning db is corrupt");
	unlink(t.path);

	/* Only the last page's cell contents changed, its header intact. */
	n = make_filled(t.path, 200);
	scribble(t.path, (long)(n - 2048), 2048);
	refused_untouched(t.path, "corrupt");
	unlink(t.path);

	make_filled(t.path, 3);
	sum = sql_int(t.path, "SELECT count(*) FROM records");
	ck_assert_int_eq(sum, 6);
	sql_exec(t.path, "DROP TABLE best");
	refused_untouched(t.path, "lacks what it needs: no such table: best");
	unlink(t.path);

	make_filled(t.path, 3);
	sql_exec(t.path, "ALTER TABLE records DROP COLUMN imported");
	refused_untouched(t.path, "no such column: imported");
	tmp_free(&t);
}
END_TEST

/* A --db that is not a regular file (symlinks followed) is refused with a
 * message naming it: SQLite would otherwise make PATH-journal beside
 * /dev/null, or block on a FIFO. */
START_TEST(refuse_not_regular)
{
	static const struct {
		const char *target, *what;
	} cases[] = {
	    {"/dev/null", "is a character device, not a tuning db"},
	    {"/tmp", "is a directory, not a tuning db"},
	};
	tmp t;
	char fifo[256];
	bool had_journal = access("/dev/null-journal", F_OK) == 0;

	tmp_make(&t);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rt_error err;
		tdb *db = NULL;

		ck_assert_int_eq(symlink(cases[i].target, t.path), 0);
		open_refused(t.path, cases[i].what);
		rt_error_clear(&err);
		ck_assert_int_eq(tdb_open_readonly(t.path, &db, &err), -1);
		ck_assert_ptr_nonnull(strstr(err.msg, cases[i].what));
		unlink(t.path);
	}
	ck_assert_int_eq(access("/dev/null-journal", F_OK) == 0, had_journal);
	open_refused("/dev/null", "is a character device");
	snprintf(fifo, sizeof(fifo), "%s/fifo.db", t.dir);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	open_refused(fifo, "is a FIFO, not a tuning db");
	tmp_free(&t);
}
END_TEST

/* Rows deleted behind ftc's back: a new workload (or target, or record)
 * never gets a freed id, so it cannot adopt the records that name it. */
START_TEST(ids_not_reused)
{
	tmp t;
	tdb *db;
	int64_t w, tg;
	rt_error err;

	tmp_make(&t);
	make_filled(t.path, 2); /* workloads 1, 2; records 1..4 */
	sql_exec(t.path, "DELETE FROM best; DELETE FROM workloads WHERE id = 2;"
			 "DELETE FROM records WHERE id = 4; DELETE FROM targets");
	db = open_ok(t.path);
	w = put_workload(db, "cccc0000cccc0000");
	ck_assert_int_eq(w, 3);
	tg = put_target(db, "cpu -threads=1");
	ck_assert_int_eq(tg, 2);
	ck_assert_int_eq(nrecords(db, w, tg), 0);
	ck_assert_int_eq(add(db, rec(w, tg, TDB_OK, 1.0, true)), 5);
	ck_assert_int_eq(nrecords(db, w, tg), 1);
	/* The orphans are reported, not adopted. */
	rt_error_clear(&err);
	ck_assert_int_eq(tdb_check(db, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "refers to a missing"));
	tdb_close(db);
	tmp_free(&t);
}
END_TEST

/* A db of schema 2 (ids reusable) whose rows name deleted ones is not
 * migrated: refused, not a byte written. */
START_TEST(migrate_refuses_orphans)
{
	tmp t;
	rt_error err;

	tmp_make(&t);
	rt_error_clear(&err);
	ck_assert_msg(tdb_create_at_version(t.path, 2, &err) == 0, "%s", err.msg);
	sql_exec(
	    t.path,
	    "INSERT INTO workloads VALUES (1, '" HASH_A "', 'C', 1e9),"
	    "  (2, '" HASH_B "', 'D', 1e9);"
	    "INSERT INTO targets VALUES (1, 'cpu', 'znver4', '', '" FP "');"
	    "INSERT INTO records (uid, workload, target, schedule, point, space_version, "
	    "compiler, method, seed, status, reason, seconds, spread, gflops, verified, created) "
	    "VALUES ('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 2, 1, 's1', NULL, 1, 'ftc 0.0', "
	    "'random', 7, 'ok', '', 0.002, 0.01, 0.5, 1, 1700000000);"
	    "DELETE FROM workloads WHERE id = 2;");
	refused_untouched(t.path, "records row 1 refers to a missing workloads row; ftc will not "
				  "migrate");
	ck_assert_int_eq(sql_int(t.path, "PRAGMA user_version"), 2);
	tmp_free(&t);
}
END_TEST

/* ---- fault injection: the N-th write fails ---- */

/* A VFS over the default one whose files fail the write numbered
 * `countdown` (and every later one) with SQLITE_FULL, as a full disk. */
typedef struct fault_vfs {
	sqlite3_vfs base;
	sqlite3_vfs *real;
	int countdown; /* writes left before they fail; < 0: never */
	int writes;    /* writes seen */
} fault_vfs;

typedef struct fault_file {
	sqlite3_file base;
	fault_vfs *vfs;
	sqlite3_file *real; /* follows this struct */
} fault_file;

#define REAL(f) (((fault_file *)(f))->real)

static int ff_close(sqlite3_file *f)
{
	return REAL(f)->pMethods->xClose(REAL(f));
}
static int ff_read(sqlite3_file *f, void *b, int n, sqlite3_int64 off)
{
	return REAL(f)->pMethods->xRead(REAL(f), b, n, off);
}
static int ff_write(sqlite3_file *f, const void *b, int n, sqlite3_int64 off)
{
	fault_vfs *v = ((fault_file *)f)->vfs;

	v->writes++;
	if (v->countdown >= 0 && v->countdown-- == 0) {
		v->countdown = 0; /* and every later write */
		return SQLITE_FULL;
	}
	return REAL(f)->pMethods->xWrite(REAL(f), b, n, off);
}
static int ff_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	return REAL(f)->pMethods->xTruncate(REAL(f), size);
}
static int ff_sync(sqlite3_file *f, int flags)
{
	return REAL(f)->pMethods->xSync(REAL(f), flags);
}
static int ff_size(sqlite3_file *f, sqlite3_int64 *size)
{
	return REAL(f)->pMethods->xFileSize(REAL(f), size);
}
static int ff_lock(sqlite3_file *f, int l)
{
	return REAL(f)->pMethods->xLock(REAL(f), l);
}
static int ff_unlock(sqlite3_file *f, int l)
{
	return REAL(f)->pMethods->xUnlock(REAL(f), l);
}
static int ff_reserved(sqlite3_file *f, int *out)
{
	return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}
static int ff_control(sqlite3_file *f, int op, void *arg)
{
	return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}
static int ff_sector(sqlite3_file *f)
{
	return REAL(f)->pMethods->xSectorSize(REAL(f));
}
static int ff_device(sqlite3_file *f)
{
	return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}
static int ff_shm_map(sqlite3_file *f, int pg, int sz, int extend, void volatile **out)
{
	return REAL(f)->pMethods->xShmMap(REAL(f), pg, sz, extend, out);
}
static int ff_shm_lock(sqlite3_file *f, int off, int n, int flags)
{
	return REAL(f)->pMethods->xShmLock(REAL(f), off, n, flags);
}
static void ff_shm_barrier(sqlite3_file *f)
{
	REAL(f)->pMethods->xShmBarrier(REAL(f));
}
static int ff_shm_unmap(sqlite3_file *f, int del)
{
	return REAL(f)->pMethods->xShmUnmap(REAL(f), del);
}

static const sqlite3_io_methods fault_methods = {
    2,		 ff_close,	 ff_read,      ff_write,   ff_truncate, ff_sync,   ff_size,
    ff_lock,	 ff_unlock,	 ff_reserved,  ff_control, ff_sector,	ff_device, ff_shm_map,
    ff_shm_lock, ff_shm_barrier, ff_shm_unmap, NULL,	   NULL,
};

static int fv_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out)
{
	fault_vfs *v = (fault_vfs *)vfs;
	fault_file *ff = (fault_file *)f;
	int rc;

	ff->vfs = v;
	ff->real = (sqlite3_file *)(ff + 1);
	rc = v->real->xOpen(v->real, name, ff->real, flags, out);
	/* SQLite calls xClose only when pMethods is set. */
	ff->base.pMethods = ff->real->pMethods ? &fault_methods : NULL;
	return rc;
}

#define FV(name, ...) (((fault_vfs *)vfs)->real->name(((fault_vfs *)vfs)->real, __VA_ARGS__))
static int fv_delete(sqlite3_vfs *vfs, const char *name, int sync)
{
	return FV(xDelete, name, sync);
}
static int fv_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
	return FV(xAccess, name, flags, out);
}
static int fv_full(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
	return FV(xFullPathname, name, n, out);
}
static int fv_random(sqlite3_vfs *vfs, int n, char *out)
{
	return FV(xRandomness, n, out);
}
static int fv_sleep(sqlite3_vfs *vfs, int us)
{
	return FV(xSleep, us);
}
static int fv_time(sqlite3_vfs *vfs, double *out)
{
	return FV(xCurrentTime, out);
}
static int fv_error(sqlite3_vfs *vfs, int n, char *out)
{
	return FV(xGetLastError, n, out);
}
static int fv_time64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
	return FV(xCurrentTimeInt64, out);
}

/* Make the fault VFS the default (in this forked test only). */
static void fault_install(fault_vfs *v)
{
	memset(v, 0, sizeof(*v));
	v->real = sqlite3_vfs_find(NULL);
	ck_assert_ptr_nonnull(v->real);
	v->base.iVersion = 2;
	v->base.szOsFile = (int)sizeof(fault_file) + v->real->szOsFile;
	v->base.mxPathname = v->real->mxPathname;
	v->base.zName = "ftc-fault";
	v->base.xOpen = fv_open;
	v->base.xDelete = fv_delete;
	v->base.xAccess = fv_access;
	v->base.xFullPathname = fv_full;
	v->base.xRandomness = fv_random;
	v->base.xSleep = fv_sleep;
	v->base.xCurrentTime = fv_time;
	v->base.xGetLastError = fv_error;
	v->base.xCurrentTimeInt64 = fv_time64;
	v->countdown = -1;
	ck_assert_int_eq(sqlite3_vfs_register(&v->base, 1), SQLITE_OK);
}

/*
 * Issue 12 item 4, and fault injection in SQLite's manner: for every N,
 * the N-th write of a session (open, add a workload, a target and three
 * records, import a line) fails as on a full disk.  Each failure is an
 * error naming the db's path (never a crash, never a leak), and the db
 * stays sound, holding either the old or the new state of each call.
 */
START_TEST(write_faults)
{
	fault_vfs v;
	tmp t;
	char copy[256], *line;
	int n, failures = 0, total = -1;

	tmp_make(&t);
	line = one_line(t.dir, 0);
	make_filled(t.path, 5);
	snprintf(copy, sizeof(copy), "%s/copy.db", t.dir);
	fault_install(&v);
	for (n = 0; n < 400; n++) {
		tdb *db = NULL;
		rt_error err;
		size_t size;
		char *bytes = slurp(t.path, &size);
		int64_t before, after, w = 0, tg = 0;
		int rc, added, skipped;

		spit(copy, bytes, size);
		free(bytes);
		before = sql_int(copy, "SELECT count(*) FROM records");
		v.countdown = n;
		v.writes = 0;
		rt_error_clear(&err);
		rc = tdb_open(copy, &db, &err);
		if (!rc) {
			tdb_workload wl = {.hash = "cccc0000cccc0000", .text = "X", .flops = 1};
			tdb_target tt = {
			    .target = "cpu -x", .device = "d", .features = "", .fingerprint = FP};

			rc = tdb_workload_put(db, &wl, &err) || tdb_target_put(db, &tt, &err);
			w = wl.id, tg = tt.id;
			for (int i = 0; i < 3 && !rc; i++) {
				tdb_record r = rec(w, tg, TDB_OK, 1.0 + i, true);

				rc = tdb_record_add(db, &r, &err);
			}
			if (!rc)
				rc = import_text(db, line, &added, &skipped, &err);
			tdb_close(db);
		}
		v.countdown = -1;
		if (rc) {
			failures++;
			ck_assert_msg(strstr(err.msg, copy) != NULL, "write %d: %s", n, err.msg);
			ck_assert_msg(strstr(err.msg, "full") || strstr(err.msg, "I/O"),
				      "write %d: %s", n, err.msg);
		}
		db = open_ok(copy);
		check_ok(db);
		tdb_close(db);
		after = sql_int(copy, "SELECT count(*) FROM records");
		ck_assert_int_ge(after, before);
		ck_assert_int_le(after, before + 4);
		if (!rc) { /* the first N that no write reaches: done */
			ck_assert_int_eq(after, before + 4);
			total = v.writes;
			break;
		}
	}
	ck_assert_msg(total > 0 && failures == n, "%d failures in %d runs", failures, n);
	printf("write_faults: %d injected write failures, each refused cleanly; %d writes in all\n",
	       failures, total);
	sqlite3_vfs_unregister(&v.base);
	free(line);
	tmp_free(&t);
}
END_TEST

/* ---- migrations ---- */

START_TEST(migrate_v1)
{
	tmp t;
	tdb *db;
	rt_error err;
	char *before;
	size_t n;
	tdb_record *r, b;
	int nr;

	tmp_make(&t);
	rt_error_clear(&err);
	ck_assert_msg(tdb_create_at_version(t.path, 1, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(tdb_create_at_version(t.path, 1, &err), -1); /* exists */
	ck_assert_ptr_nonnull(strstr(err.msg, "exists"));
	rt_error_clear(&err);
	ck_assert_int_eq(sql_int(t.path, "PRAGMA user_version"), 1);
	ck_assert_int_eq(sql_int(t.path, "SELECT count(*) FROM pragma_table_info('records') "
					 "WHERE name IN ('runs', 'replay_of')"),
			 0);
	ck_assert_int_eq(sql_int(t.path, "SELECT count(*) FROM sqlite_master WHERE name = 'best'"),
			 0);
	sql_exec(
	    t.path,
	    "INSERT INTO workloads VALUES (1, '" HASH_A "', 'C', 1e9);"
	    "INSERT INTO targets VALUES (1, 'cpu', 'znver4', '', '" FP "');"
	    "INSERT INTO records (uid, workload, target, schedule, point, space_version, "
	    "compiler, method, seed, status, reason, seconds, spread, gflops, verified, created) "
	    "VALUES ('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 1, 1, 's1', NULL, 1, 'ftc 0.0', 'random', "
	    "7, 'ok', '', 0.002, 0.01, 0.5, 1, 1700000000),"
	    "('bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', 1, 1, 's2', 'p', 1, 'ftc 0.0', 'random', 8, "
	    "'failed', 'crash', NULL, 0, 0, 0, 1700000001),"
	    "('cccccccccccccccccccccccccccccccc', 1, 1, 's3', 'p', 1, 'ftc 0.0', 'random', 9, "
	    "'ok', '', 0.001, 0.01, 1.0, 0, 1700000002),"
	    "('dddddddddddddddddddddddddddddddd', 1, 1, 's4', 'p', 1, 'ftc 0.0', 'random', 9, "
	    "'ok', '', 0.0015, 0.01, 0.7, 1, 1700000003);");

	/* Read-only: not migrated, not written. */
	before = slurp(t.path, &n);
	ck_assert_int_eq(tdb_open_readonly(t.path, &db, &err), -1);
	ck_assert_msg(strstr(err.msg, "older") != NULL, "%s", err.msg);
	ck_assert(file_same(t.path, before, n));
	free(before);

	db = open_ok(t.path);
	ck_assert_int_eq(tdb_schema_version(db), TDB_SCHEMA_VERSION);
	rt_error_clear(&err);
	ck_assert_int_eq(tdb_records(db, 1, 1, &r, &nr, &err), 0);
	ck_assert_int_eq(nr, 4);
	ck_assert_str_eq(r[0].uid, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	ck_assert_str_eq(r[0].schedule, "s1");
	ck_assert_ptr_null(r[0].point);
	ck_assert_int_eq(r[0].runs, 1);
	ck_assert_int_eq(r[0].replay_of, 0);
	ck_assert(r[0].seconds == 0.002);
	ck_assert_int_eq(r[1].status, TDB_FAILED);
	ck_assert(isinf(r[1].seconds));
	tdb_records_free(r, nr);
	/* The fastest OK, verified record (not the faster unverified one). */
	ck_assert_int_eq(tdb_best(db, 1, 1, &b, &err), 1);
	ck_assert_str_eq(b.uid, "dddddddddddddddddddddddddddddddd");
	ck_assert(b.seconds == 0.0015);
	tdb_record_release(&b);
	check_ok(db);
	add(db, rec(1, 1, TDB_OK, 0.0001, true));
	tdb_close(db);
	ck_assert_int_eq(sql_int(t.path, "PRAGMA user_version"), TDB_SCHEMA_VERSION);
	tmp_free(&t);
}
END_TEST

/* ---- maintenance ---- */

START_TEST(prune)
{
	tmp t;
	tdb *db;
	rt_error err;
	int64_t w, tg, w2, id[11], best, replayed;
	tdb_record r;

	tmp_make(&t);
	db = open_ok(t.path);
	w = put_workload(db, HASH_A);
	w2 = put_workload(db, HASH_B);
	tg = put_target(db, "cpu");
	for (int i = 1; i <= 10; i++)
		id[i] = add(db, rec(w, tg, TDB_OK, (double)i, true));
	for (int i = 0; i < 3; i++)
		add(db, rec(w, tg, i ? TDB_FAILED : TDB_WRONG, INFINITY, false));
	best = id[9];
	replayed = id[10];
	rt_error_clear(&err);
	ck_assert_msg(tdb_set_best(db, w, tg, best, 0.5, &err) == 0, "%s", err.msg);
	r = rec(w, tg, TDB_OK, 20.0, true);
	r.replay_of = replayed;
	add(db, r);
	for (int i = 0; i < 3; i++)
		add(db, rec(w2, tg, TDB_OK, 1.0 + i, true));
	ck_assert_int_eq(nrecords(db, w, tg), 14);

	ck_assert_int_eq(tdb_prune(db, -1, &err), -1);
	rt_error_clear(&err);
	/* w: 3..8 and the replay (20 s) beyond the 2 fastest, 3 failures;
	 * w2: its third.  Kept: 1, 2, the best (9), the replayed (10). */
	ck_assert_int_eq(tdb_prune(db, 2, &err), 11);
	ck_assert_int_eq(nrecords(db, w, tg), 4);
	ck_assert_int_eq(nrecords(db, w2, tg), 2);
	ck_assert_int_eq(best_id(db, w, tg), best);
	ck_assert_int_eq(sql_int(t.path, "SELECT count(*) FROM records WHERE id IN (1, 2, 9, 10)"),
			 4);
	check_ok(db);
	/* 10 is no longer replayed; then only the bests stay. */
	ck_assert_int_eq(tdb_prune(db, 2, &err), 1);
	ck_assert_int_eq(tdb_prune(db, 0, &err), 3);
	ck_assert_int_eq(nrecords(db, w, tg), 1);
	ck_assert_int_eq(best_id(db, w, tg), best);
	check_ok(db);
	tdb_close(db);
	tmp_free(&t);
}
END_TEST

START_TEST(check_finds_problems)
{
	tmp t;
	tdb *db;
	rt_error err;
	int64_t ok, failed;

	tmp_make(&t);
	db = open_ok(t.path);
	put_workload(db, HASH_A);
	put_target(db, "cpu");
	ok = add(db, rec(1, 1, TDB_OK, 1.0, true));
	failed = add(db, rec(1, 1, TDB_FAILED, INFINITY, false));
	check_ok(db);
	tdb_close(db);

	sql_exec(t.path, "UPDATE best SET record = 2");
	db = open_ok(t.path);
	rt_error_clear(&err);
	ck_assert_int_eq(tdb_check(db, &err), -1);
	ck_assert_msg(strstr(err.msg, "is record 2, which is not an OK, verified") != NULL, "%s",
		      err.msg);
	tdb_close(db);
	(void)failed;

	/* foreign_keys is off in a plain connection */
	sql_exec(t.path,
		 "UPDATE best SET record = 1; UPDATE records SET workload = 77 WHERE id = 2");
	db = open_ok(t.path);
	rt_error_clear(&err);
	ck_assert_int_eq(tdb_check(db, &err), -1);
	ck_assert_msg(strstr(err.msg, "records row 2 refers to a missing workloads row") != NULL,
		      "%s", err.msg);
	tdb_close(db);
	(void)ok;
	tmp_free(&t);
}
END_TEST

START_TEST(readonly)
{
	tmp t;
	tdb *db;
	rt_error err;
	tdb_record r = rec(1, 1, TDB_OK, 1.0, true);
	char missing[256];

	tmp_make(&t);
	db = open_ok(t.path);
	put_workload(db, HASH_A);
	put_target(db, "cpu");
	add(db, r);
	tdb_close(db);
	rt_error_clear(&err);
	ck_assert_msg(tdb_open_readonly(t.path, &db, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(nrecords(db, 1, 1), 1);
	check_ok(db);
	ck_assert_int_eq(tdb_record_add(db, &r, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "read-only"));
	tdb_close(db);
	snprintf(missing, sizeof(missing), "%s/none.db", t.dir);
	rt_error_clear(&err);
	ck_assert_int_eq(tdb_open_readonly(missing, &db, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "no such"));
	ck_assert_int_ne(access(missing, F_OK), 0);
	tmp_free(&t);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("tdb");
	TCase *tc = tcase_create("tdb");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, default_path);
	tcase_add_test(tc, fingerprint);
	tcase_add_test(tc, schema_created);
	tcase_add_test(tc, record_round_trip);
	tcase_add_test(tc, best_selection);
	tcase_add_test(tc, workload_find);
	tcase_add_test(tc, list);
	tcase_add_test(tc, export_import);
	tcase_add_test(tc, import_malformed);
	tcase_add_test(tc, import_decodes);
	tcase_add_test(tc, import_limits);
	tcase_add_test(tc, two_writers);
	tcase_add_test(tc, killed_writer);
	tcase_add_test(tc, refuse_not_sqlite);
	tcase_add_test(tc, refuse_other_app);
	tcase_add_test(tc, refuse_future_schema);
	tcase_add_test(tc, damaged_db);
	tcase_add_test(tc, damaged_refused_readonly);
	tcase_add_test(tc, refuse_not_regular);
	tcase_add_test(tc, ids_not_reused);
	tcase_add_test(tc, migrate_refuses_orphans);
	tcase_add_test(tc, write_faults);
	tcase_add_test(tc, migrate_v1);
	tcase_add_test(tc, prune);
	tcase_add_test(tc, check_finds_problems);
	tcase_add_test(tc, readonly);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
