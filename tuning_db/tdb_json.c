/*
 * tdb_json: the tuning db as JSON lines, one flat object per record with
 * its workload and target:
 *
 *   {"workload":"3f2a...","workload_text":"...","flops":2.1e9,
 *    "target":"cpu ...","device":"znver4","features":"+avx2,...",
 *    "fingerprint":"0b5d...","uid":"9c1e...","schedule":"...","point":null,
 *    "space_version":1,"compiler":"ftc 0.1.0","method":"sa-q",
 *    "seed":"18446744073709551615","status":"ok","reason":"",
 *    "seconds":0.0012,"spread":0.01,"runs":10,"gflops":1750.2,
 *    "verified":true,"replay_of":null,"created":1718000000.25}
 *
 * (on one line).  seed is a decimal string, so that every 64-bit value
 * survives readers that hold numbers as doubles; seconds is null when
 * infinite, spread and gflops null when NaN; replay_of is the uid of the
 * replayed record.  Numbers are written with 17 significant digits, so they
 * read back to the same double.
 *
 * The reader is a strict JSON parser for one flat object per line: string,
 * number, true, false and null values; no nesting; no duplicate or unknown
 * keys; strings decoded in place in the line buffer (\uXXXX to UTF-8,
 * surrogate pairs joined, \u0000 refused).  Bytes of 0x80 and above are
 * taken as they are, so that whatever the db holds round-trips.
 *
 * An import trusts nothing a line says that can be checked: the workload
 * text is parsed and hashed (it must give the line's hash and flops), the
 * numbers must be those of a measurement, and the record is stored
 * imported and unverified ("verified" is read but not believed).
 */
#include "tdb_priv.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "te_parse.h"

/* ---- writing ---- */

static void put_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

static void put_key(FILE *f, const char *key, bool first)
{
	if (!first)
		fputc(',', f);
	put_string(f, key);
	fputc(':', f);
}

static void put_str(FILE *f, const char *key, const char *s)
{
	put_key(f, key, false);
	if (s)
		put_string(f, s);
	else
		fputs("null", f);
}

/* A double that reads back to itself, or null when not finite. */
static void put_num(FILE *f, const char *key, double d)
{
	put_key(f, key, false);
	if (isfinite(d))
		fprintf(f, "%.17g", d);
	else
		fputs("null", f);
}

static void put_int(FILE *f, const char *key, int64_t v)
{
	put_key(f, key, false);
	fprintf(f, "%" PRId64, v);
}

/* One export line from the current row of the export query. */
static void put_line(FILE *f, const tdb_workload *w, const tdb_target *t, const tdb_record *r,
		     const char *replay_uid)
{
	char seed[24];

	fputc('{', f);
	put_key(f, "workload", true);
	put_string(f, w->hash);
	put_str(f, "workload_text", w->text);
	put_num(f, "flops", w->flops);
	put_str(f, "target", t->target);
	put_str(f, "device", t->device);
	put_str(f, "features", t->features);
	put_str(f, "fingerprint", t->fingerprint);
	put_str(f, "uid", r->uid);
	put_str(f, "schedule", r->schedule);
	put_str(f, "point", r->point);
	put_int(f, "space_version", r->space_version);
	put_str(f, "compiler", r->compiler);
	put_str(f, "method", r->method);
	snprintf(seed, sizeof(seed), "%" PRIu64, r->seed);
	put_str(f, "seed", seed);
	put_str(f, "status", tdb_status_name(r->status));
	put_str(f, "reason", r->reason);
	put_num(f, "seconds", r->seconds);
	put_num(f, "spread", r->spread);
	put_int(f, "runs", r->runs);
	put_num(f, "gflops", r->gflops);
	put_key(f, "verified", false);
	fputs(r->verified ? "true" : "false", f);
	put_str(f, "replay_of", replay_uid);
	put_num(f, "created", r->created);
	fputs("}\n", f);
}

/* Workload and target columns after the record's in the export query. */
#define W_COL TDB_RECORD_NCOLS
#define T_COL (TDB_RECORD_NCOLS + 3)
#define P_COL (TDB_RECORD_NCOLS + 7)

static const char export_sql[] = "SELECT " TDB_RECORD_COLS ", w.hash, w.text, w.flops, "
				 "t.target, t.device, t.features, t.fingerprint, p.uid "
				 "FROM records r JOIN workloads w ON w.id = r.workload "
				 "JOIN targets t ON t.id = r.target "
				 "LEFT JOIN records p ON p.id = r.replay_of ORDER BY r.id";

static const char *text_col(sqlite3_stmt *s, int col)
{
	const char *t = (const char *)sqlite3_column_text(s, col);

	return t ? t : "";
}

/* Write the current row of the export query; -1 with err on failure. */
static int export_row(tdb *db, sqlite3_stmt *s, FILE *f, rt_error *err)
{
	tdb_record r;
	tdb_workload w = {0};
	tdb_target t = {0};

	if (tdb_record_read(db, s, 0, &r, err))
		return -1;
	/* Borrowed from the row: valid until the next step. */
	w.hash = (char *)text_col(s, W_COL);
	w.text = (char *)text_col(s, W_COL + 1);
	w.flops = sqlite3_column_double(s, W_COL + 2);
	t.target = (char *)text_col(s, T_COL);
	t.device = (char *)text_col(s, T_COL + 1);
	t.features = (char *)text_col(s, T_COL + 2);
	t.fingerprint = (char *)text_col(s, T_COL + 3);
	put_line(f, &w, &t, &r, (const char *)sqlite3_column_text(s, P_COL));
	tdb_record_release(&r);
	return 0;
}

int tdb_export(tdb *db, FILE *f, rt_error *err)
{
	sqlite3_stmt *s = NULL;
	int rc, n = 0;

	if (sqlite3_prepare_v2(db->h, export_sql, -1, &s, NULL) != SQLITE_OK) {
		sqlite3_finalize(s);
		return tdb_sql_fail(db, err, "prepare the export");
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW && !export_row(db, s, f, err))
		n++;
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		tdb_sql_fail(db, err, "read records to export");
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return -1;
	if (fflush(f) != 0 || ferror(f))
		return rt_error_set(err, 0, 0, "cannot write the export of %s: %s", db->path,
				    strerror(errno));
	return n;
}

/* ---- reading ---- */

typedef enum jkind { J_NULL, J_BOOL, J_NUMBER, J_STRING } jkind;

static const char *const jkind_names[] = {"null", "a boolean", "a number", "a string"};

/* A member of the object on one line. */
typedef struct jvalue {
	const char *key;
	jkind kind;
	const char *str; /* J_STRING: decoded, NUL-terminated; J_NUMBER: its text */
	size_t len;	 /* J_NUMBER: length of its text */
	bool b;
	int key_col; /* 1-based columns where the key and the value start */
	int col;
	bool used;
} jvalue;

#define J_MAX_MEMBERS 32

typedef struct jobject {
	jvalue v[J_MAX_MEMBERS];
	int n;
} jobject;

typedef struct jparser {
	char *s;    /* the line, NUL-terminated, decoded in place */
	size_t pos; /* next byte */
	int line;
	rt_error *err;
} jparser;

/* "LINE: message at column COL" with COL the byte at `pos` (1-based). */
static int jfail_at(jparser *p, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int jfail_at(jparser *p, size_t pos, const char *fmt, ...)
{
	char msg[RT_ERROR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return rt_error_set(p->err, p->line, (int)pos + 1, "%d: %s at column %d", p->line, msg,
			    (int)pos + 1);
}

/* "LINE: message", for what is wrong with the line as a whole. */
static int jfail(jparser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int jfail(jparser *p, const char *fmt, ...)
{
	char msg[RT_ERROR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return rt_error_set(p->err, p->line, 0, "%d: %s", p->line, msg);
}

/* ws = *( %x20 / %x09 / %x0D ) -- a line holds no newline */
static void skip_ws(jparser *p)
{
	while (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' || p->s[p->pos] == '\r')
		p->pos++;
}

static int hex4(const char *s, unsigned *out)
{
	unsigned v = 0;

	for (int i = 0; i < 4; i++) {
		char c = s[i];
		unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
			     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
			     : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
						    : 16;

		if (d == 16)
			return -1;
		v = v * 16 + d;
	}
	*out = v;
	return 0;
}

/* Write code point `c` as UTF-8 at *w. */
static void put_utf8(char **w, unsigned c)
{
	char *o = *w;

	if (c < 0x80) {
		*o++ = (char)c;
	} else if (c < 0x800) {
		*o++ = (char)(0xc0 | (c >> 6));
		*o++ = (char)(0x80 | (c & 0x3f));
	} else if (c < 0x10000) {
		*o++ = (char)(0xe0 | (c >> 12));
		*o++ = (char)(0x80 | ((c >> 6) & 0x3f));
		*o++ = (char)(0x80 | (c & 0x3f));
	} else {
		*o++ = (char)(0xf0 | (c >> 18));
		*o++ = (char)(0x80 | ((c >> 12) & 0x3f));
		*o++ = (char)(0x80 | ((c >> 6) & 0x3f));
		*o++ = (char)(0x80 | (c & 0x3f));
	}
	*w = o;
}

/* unicode = 'u' 4HEXDIG [ '\' 'u' 4HEXDIG ]   (a surrogate pair)
 * p->pos is at the 'u'. */
static int parse_unicode(jparser *p, char **w)
{
	size_t at = p->pos - 1;
	unsigned c, lo;

	if (hex4(p->s + p->pos + 1, &c))
		return jfail_at(p, at, "bad \\u escape (expected 4 hex digits)");
	p->pos += 5;
	if (c == 0)
		return jfail_at(p, at, "\\u0000 is not allowed in a string");
	if (c >= 0xdc00 && c <= 0xdfff)
		return jfail_at(p, at, "lone low surrogate \\u%04x", c);
	if (c >= 0xd800 && c <= 0xdbff) {
		if (p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u' ||
		    hex4(p->s + p->pos + 2, &lo) || lo < 0xdc00 || lo > 0xdfff)
			return jfail_at(p, at, "high surrogate \\u%04x without a low one", c);
		p->pos += 6;
		c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
	}
	put_utf8(w, c);
	return 0;
}

/* escape = '\' ( '"' / '\' / '/' / 'b' / 'f' / 'n' / 'r' / 't' / unicode )
 * p->pos is at the backslash; the decoded bytes go to *w. */
static int parse_escape(jparser *p, char **w)
{
	static const char from[] = "\"\\/bfnrt";
	static const char to[] = "\"\\/\b\f\n\r\t";
	char c = p->s[++p->pos];
	const char *hit = c ? strchr(from, c) : NULL;

	if (c == 'u')
		return parse_unicode(p, w);
	if (!hit)
		return jfail_at(p, p->pos - 1, "bad escape '\\%c'", c ? c : '0');
	*(*w)++ = to[hit - from];
	p->pos++;
	return 0;
}

/* string = '"' *( unescaped / escape ) '"'
 * unescaped = any byte but '"', '\' and the controls below 0x20
 * Decodes in place; *out is the NUL-terminated result. */
static int parse_string(jparser *p, const char **out)
{
	size_t start = p->pos;
	char *w = p->s + p->pos + 1;

	if (p->s[p->pos] != '"')
		return jfail_at(p, p->pos, "expected a string");
	*out = w;
	p->pos++;
	for (;;) {
		unsigned char c = (unsigned char)p->s[p->pos];

		if (c == '"')
			break;
		if (c == '\0')
			return jfail_at(p, start, "unterminated string");
		if (c < 0x20)
			return jfail_at(p, p->pos, "control character 0x%02x in a string", c);
		if (c == '\\') {
			if (parse_escape(p, &w))
				return -1;
			continue;
		}
		*w++ = (char)c;
		p->pos++;
	}
	*w = '\0'; /* at or before the closing quote, already read */
	p->pos++;
	return 0;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* number = [ '-' ] ( '0' / %x31-39 *DIGIT ) [ '.' 1*DIGIT ]
 *          [ ( 'e' / 'E' ) [ '+' / '-' ] 1*DIGIT ] */
static int parse_number(jparser *p, jvalue *v)
{
	const char *s = p->s;
	size_t i = p->pos;

	if (s[i] == '-')
		i++;
	if (s[i] == '0')
		i++;
	else if (is_digit(s[i]))
		while (is_digit(s[i]))
			i++;
	else
		return jfail_at(p, p->pos, "bad number");
	if (s[i] == '.') {
		if (!is_digit(s[++i]))
			return jfail_at(p, i, "bad number: expected a digit after '.'");
		while (is_digit(s[i]))
			i++;
	}
	if (s[i] == 'e' || s[i] == 'E') {
		if (s[++i] == '+' || s[i] == '-')
			i++;
		if (!is_digit(s[i]))
			return jfail_at(p, i, "bad number: expected a digit in the exponent");
		while (is_digit(s[i]))
			i++;
	}
	v->kind = J_NUMBER;
	v->str = s + p->pos;
	v->len = i - p->pos;
	p->pos = i;
	return 0;
}

/* value = string / number / "true" / "false" / "null" */
static int parse_value(jparser *p, jvalue *v)
{
	static const struct {
		const char *word;
		jkind kind;
		bool b;
	} words[] = {{"true", J_BOOL, true}, {"false", J_BOOL, false}, {"null", J_NULL, false}};
	char c = p->s[p->pos];

	v->col = (int)p->pos + 1;
	if (c == '"') {
		v->kind = J_STRING;
		return parse_string(p, &v->str);
	}
	if (c == '-' || is_digit(c))
		return parse_number(p, v);
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		size_t n = strlen(words[i].word);

		if (!strncmp(p->s + p->pos, words[i].word, n)) {
			v->kind = words[i].kind;
			v->b = words[i].b;
			p->pos += n;
			return 0;
		}
	}
	if (c == '{' || c == '[')
		return jfail_at(p, p->pos, "nested objects and arrays are not supported");
	return jfail_at(p, p->pos, "expected a value");
}

/* member = string ws ':' ws value */
static int parse_member(jparser *p, jobject *o)
{
	size_t at = p->pos;
	jvalue *v;

	if (o->n == J_MAX_MEMBERS)
		return jfail_at(p, at, "too many members (at most %d)", J_MAX_MEMBERS);
	v = &o->v[o->n];
	memset(v, 0, sizeof(*v));
	if (p->s[p->pos] != '"')
		return jfail_at(p, at, "expected a string key");
	v->key_col = (int)at + 1;
	if (parse_string(p, &v->key))
		return -1;
	for (int i = 0; i < o->n; i++)
		if (!strcmp(o->v[i].key, v->key))
			return jfail_at(p, at, "duplicate key \"%s\"", v->key);
	skip_ws(p);
	if (p->s[p->pos] != ':')
		return jfail_at(p, p->pos, "expected ':'");
	p->pos++;
	skip_ws(p);
	if (parse_value(p, v))
		return -1;
	o->n++;
	return 0;
}

/* line = ws '{' ws [ member *( ws ',' ws member ) ws ] '}' ws */
static int parse_object(jparser *p, jobject *o)
{
	o->n = 0;
	skip_ws(p);
	if (p->s[p->pos] != '{')
		return jfail_at(p, p->pos, "expected '{'");
	p->pos++;
	skip_ws(p);
	if (p->s[p->pos] == '}') {
		p->pos++;
	} else {
		for (;;) {
			if (parse_member(p, o))
				return -1;
			skip_ws(p);
			if (p->s[p->pos] == '}') {
				p->pos++;
				break;
			}
			if (p->s[p->pos] != ',')
				return jfail_at(p, p->pos, "expected ',' or '}'");
			p->pos++;
			skip_ws(p);
		}
	}
	skip_ws(p);
	if (p->s[p->pos] != '\0')
		return jfail_at(p, p->pos, "unexpected text after the object");
	return 0;
}

/* ---- from the object to a record ---- */

/* Member `key`, marked used; NULL when missing (err set). */
static jvalue *find_member(jparser *p, jobject *o, const char *key)
{
	for (int i = 0; i < o->n; i++)
		if (!strcmp(o->v[i].key, key)) {
			o->v[i].used = true;
			return &o->v[i];
		}
	jfail(p, "missing \"%s\"", key);
	return NULL;
}

/* Member `key` of kind `kind` (or null when `nullable`); NULL with err set
 * when missing or of another kind. */
static jvalue *member(jparser *p, jobject *o, const char *key, jkind kind, bool nullable)
{
	jvalue *v = find_member(p, o, key);

	if (!v || v->kind == kind || (nullable && v->kind == J_NULL))
		return v;
	jfail_at(p, (size_t)v->col - 1, "\"%s\" must be %s%s, not %s", key, jkind_names[kind],
		 nullable ? " or null" : "", jkind_names[v->kind]);
	return NULL;
}

/* String member; NULL for null when nullable. */
static int get_str(jparser *p, jobject *o, const char *key, bool nullable, char **out)
{
	jvalue *v = member(p, o, key, J_STRING, nullable);

	if (!v)
		return -1;
	*out = v->kind == J_STRING ? (char *)v->str : NULL;
	return 0;
}

/* Copy a number's text to buf (NUL-terminated); -1 when too long. */
static int number_text(jparser *p, const jvalue *v, char *buf, size_t size)
{
	if (v->len >= size)
		return jfail_at(p, (size_t)v->col - 1, "number too long");
	memcpy(buf, v->str, v->len);
	buf[v->len] = '\0';
	return 0;
}

/* Number member; `if_null` for null when nullable. */
static int get_num(jparser *p, jobject *o, const char *key, bool nullable, double if_null,
		   double *out)
{
	jvalue *v = member(p, o, key, J_NUMBER, nullable);
	char buf[400];

	if (!v)
		return -1;
	if (v->kind == J_NULL) {
		*out = if_null;
		return 0;
	}
	if (number_text(p, v, buf, sizeof(buf)))
		return -1;
	*out = strtod(buf, NULL);
	if (!isfinite(*out))
		return jfail_at(p, (size_t)v->col - 1, "\"%s\" is out of range", key);
	return 0;
}

/* Integer member in [min, max]. */
static int get_int(jparser *p, jobject *o, const char *key, int64_t min, int64_t max, int64_t *out)
{
	jvalue *v = member(p, o, key, J_NUMBER, false);
	char buf[32];
	char *end;

	if (!v || number_text(p, v, buf, sizeof(buf)))
		return -1;
	errno = 0;
	*out = strtoll(buf, &end, 10);
	if (*end || errno || *out < min || *out > max)
		return jfail_at(p, (size_t)v->col - 1,
				"\"%s\" must be an integer in %" PRId64 " .. %" PRId64, key, min,
				max);
	return 0;
}

/* seed: a decimal string (as written) or an integer number, 0 .. 2^64-1. */
static int get_seed(jparser *p, jobject *o, uint64_t *out)
{
	jvalue *v = find_member(p, o, "seed");
	char buf[32];
	char *end;

	if (!v)
		return -1;
	if (v->kind != J_STRING && v->kind != J_NUMBER)
		return jfail_at(p, (size_t)v->col - 1,
				"\"seed\" must be a string or a number, not %s",
				jkind_names[v->kind]);
	if (v->kind == J_STRING ? snprintf(buf, sizeof(buf), "%s", v->str) >= (int)sizeof(buf)
				: v->len >= sizeof(buf))
		return jfail_at(p, (size_t)v->col - 1, "\"seed\" is too long");
	if (v->kind == J_NUMBER)
		snprintf(buf, sizeof(buf), "%.*s", (int)v->len, v->str);
	errno = 0;
	*out = strtoull(buf, &end, 10);
	if (!is_digit(buf[0]) || *end || errno)
		return jfail_at(p, (size_t)v->col - 1,
				"\"seed\" must be an integer in 0 .. 18446744073709551615");
	return 0;
}

/* One line's workload, target and record (strings borrowed from the line). */
typedef struct import_row {
	tdb_workload w;
	tdb_target t;
	tdb_record r;
	char *replay_uid;
} import_row;

static int get_record(jparser *p, jobject *o, tdb_record *r)
{
	char *uid, *status;
	int64_t space, runs;
	jvalue *v;

	if (get_str(p, o, "uid", false, &uid) || get_str(p, o, "schedule", false, &r->schedule) ||
	    get_str(p, o, "point", true, &r->point) ||
	    get_int(p, o, "space_version", INT32_MIN, INT32_MAX, &space) ||
	    get_str(p, o, "compiler", false, &r->compiler) ||
	    get_str(p, o, "method", false, &r->method) || get_seed(p, o, &r->seed) ||
	    get_str(p, o, "status", false, &status) || get_str(p, o, "reason", false, &r->reason) ||
	    get_num(p, o, "seconds", true, INFINITY, &r->seconds) ||
	    get_num(p, o, "spread", true, NAN, &r->spread) ||
	    get_int(p, o, "runs", 0, INT32_MAX, &runs) ||
	    get_num(p, o, "gflops", true, NAN, &r->gflops) ||
	    !(v = member(p, o, "verified", J_BOOL, false)) ||
	    get_num(p, o, "created", false, 0, &r->created))
		return -1;
	if (!tdb_uid_valid(uid))
		return jfail(p, "\"uid\" must be 32 lowercase hex digits, not \"%s\"", uid);
	if (tdb_status_parse(status, &r->status))
		return jfail(p, "\"status\" must be \"ok\", \"failed\" or \"wrong\", not \"%s\"",
			     status);
	memcpy(r->uid, uid, sizeof(r->uid));
	r->space_version = (int)space;
	r->runs = (int)runs;
	r->verified = v->b;
	return 0;
}

static int get_row(jparser *p, jobject *o, import_row *row)
{
	memset(row, 0, sizeof(*row));
	if (get_str(p, o, "workload", false, &row->w.hash) ||
	    get_str(p, o, "workload_text", false, &row->w.text) ||
	    get_num(p, o, "flops", false, 0, &row->w.flops) ||
	    get_str(p, o, "target", false, &row->t.target) ||
	    get_str(p, o, "device", false, &row->t.device) ||
	    get_str(p, o, "features", false, &row->t.features) ||
	    get_str(p, o, "fingerprint", false, &row->t.fingerprint) || get_record(p, o, &row->r) ||
	    get_str(p, o, "replay_of", true, &row->replay_uid))
		return -1;
	for (int i = 0; i < o->n; i++)
		if (!o->v[i].used)
			return jfail_at(p, (size_t)o->v[i].key_col - 1, "unknown key \"%s\"",
					o->v[i].key);
	if (!*row->w.hash || !*row->t.target || !*row->t.fingerprint)
		return jfail(p, "empty \"workload\", \"target\" or \"fingerprint\"");
	return 0;
}

/* The last workload whose text was parsed and hashed: the lines of one
 * workload are checked once. */
typedef struct known_workload {
	char *hash, *text;
	double flops;
} known_workload;

static void known_release(known_workload *k)
{
	free(k->hash);
	free(k->text);
	memset(k, 0, sizeof(*k));
}

/* Remember hash, text and flops in *k; -1 when out of memory. */
static int known_set(known_workload *k, const char *hash, const char *text, double flops)
{
	known_release(k);
	k->hash = strdup(hash);
	k->text = strdup(text);
	k->flops = flops;
	if (k->hash && k->text)
		return 0;
	known_release(k);
	return -1;
}

/* Whether two flop counts agree (as written with 17 digits, they are
 * equal; allow for a writer that printed fewer). */
static bool same_flops(double a, double b)
{
	return fabs(a - b) <= 1e-9 * fmax(1.0, fmax(fabs(a), fabs(b)));
}

/*
 * The workload's text must parse as a .te graph whose canonical hash is
 * the line's "workload" and whose flop count is its "flops": a record
 * cannot be filed under another workload's hash.
 */
static int check_workload(jparser *p, const tdb_workload *w, known_workload *k)
{
	char hash[17];
	rt_error e;
	te_graph *g;
	double flops;

	if (k->hash && !strcmp(k->hash, w->hash) && !strcmp(k->text, w->text)) {
		flops = k->flops;
	} else {
		rt_error_clear(&e);
		if (!(g = te_parse(w->text, NULL, 0, &e)))
			return jfail(p, "\"workload_text\" is not a .te graph (its line %d:%d: %s)",
				     e.line, e.col, e.msg);
		te_graph_hash(g, hash);
		flops = te_graph_flops(g);
		te_graph_free(g);
		if (strcmp(hash, w->hash))
			return jfail(p,
				     "\"workload\" is %s but \"workload_text\" hashes to %s; "
				     "the record is not of the workload it names",
				     w->hash, hash);
		if (known_set(k, w->hash, w->text, flops))
			return jfail(p, "out of memory");
	}
	if (!same_flops(flops, w->flops))
		return jfail(p, "\"flops\" is %.17g but the workload computes %.17g", w->flops,
			     flops);
	return 0;
}

/* What a measurement can be: a positive time (or none, for a failure), a
 * spread and a GFLOP/s that are not negative, the GFLOP/s its time gives,
 * a creation time after 1970. */
static int check_numbers(jparser *p, const tdb_workload *w, const tdb_record *r)
{
	double expect = w->flops * 1e-9 / r->seconds;

	if (r->seconds <= 0 || (r->status == TDB_OK && !isfinite(r->seconds)))
		return jfail(p, "\"seconds\" must be a positive time%s, not %g",
			     r->status == TDB_OK ? "" : " or null", r->seconds);
	if (r->spread < 0)
		return jfail(p, "\"spread\" must not be negative (%g)", r->spread);
	if (r->gflops < 0)
		return jfail(p, "\"gflops\" must not be negative (%g)", r->gflops);
	if (r->status == TDB_OK && !isnan(r->gflops) &&
	    fabs(r->gflops - expect) > 1e-6 * fmax(1e-12, expect))
		return jfail(p,
			     "\"gflops\" is %.17g but flops / seconds gives %.17g; the numbers "
			     "do not agree",
			     r->gflops, expect);
	if (r->created < 0 || w->flops < 0)
		return jfail(p, "\"%s\" must not be negative",
			     r->created < 0 ? "created" : "flops");
	return 0;
}

/* Add the row's record unless its uid is present; *added or *skipped. */
static int import_row_add(tdb *db, jparser *p, import_row *row, int *added, int *skipped)
{
	rt_error e;
	int64_t id;
	int found;

	rt_error_clear(&e);
	found = tdb_record_by_uid(db, row->r.uid, &id, &e);
	if (found == 1) {
		(*skipped)++;
		return 0;
	}
	if (found < 0 || tdb_workload_put_locked(db, &row->w, &e) ||
	    tdb_target_put_locked(db, &row->t, &e))
		return jfail(p, "%s", e.msg);
	if (row->replay_uid) {
		found = tdb_record_by_uid(db, row->replay_uid, &row->r.replay_of, &e);
		if (found <= 0)
			return found < 0 ? jfail(p, "%s", e.msg)
					 : jfail(p,
						 "\"replay_of\" %s is neither in the db nor on an "
						 "earlier line",
						 row->replay_uid);
	}
	row->r.workload = row->w.id;
	row->r.target = row->t.id;
	if (tdb_record_add_locked(db, &row->r, &e))
		return jfail(p, "%s", e.msg);
	(*added)++;
	return 0;
}

/* One line (without its newline): blank, or an object to import.  The
 * record is stored as imported and unverified: it was measured and
 * checked elsewhere, so it is replayed here before it can be the best. */
static int import_line(tdb *db, jparser *p, known_workload *k, int *added, int *skipped)
{
	jobject o;
	import_row row;

	skip_ws(p);
	if (!p->s[p->pos])
		return 0;
	if (parse_object(p, &o) || get_row(p, &o, &row) || check_workload(p, &row.w, k) ||
	    check_numbers(p, &row.w, &row.r))
		return -1;
	row.r.verified = false;
	row.r.imported = true;
	return import_row_add(db, p, &row, added, skipped);
}

/*
 * The next line of `f` (without its newline, NUL-terminated) into *buf of
 * *cap bytes: 1 a line, 0 the end of the file, -1 with err set (a line
 * longer than TDB_IMPORT_LINE_MAX, a NUL byte, out of memory, a read
 * error).  Reads no further than the limit: /dev/zero ends at once.
 */
static int read_line(jparser *p, FILE *f, char **buf, size_t *cap)
{
	size_t len = 0;
	int c;

	p->line++;
	while ((c = getc(f)) != EOF && c != '\n') {
		if (c == '\0')
			return jfail_at(p, len, "NUL byte in the line");
		if (len == TDB_IMPORT_LINE_MAX)
			return jfail(p, "line longer than %d bytes (TDB_IMPORT_LINE_MAX)",
				     TDB_IMPORT_LINE_MAX);
		if (len + 1 >= *cap) {
			size_t ncap = *cap ? 2 * *cap : 4096;
			char *nb;

			if (ncap > (size_t)TDB_IMPORT_LINE_MAX + 1)
				ncap = (size_t)TDB_IMPORT_LINE_MAX + 1;
			if (!(nb = realloc(*buf, ncap)))
				return jfail(p, "out of memory");
			*buf = nb;
			*cap = ncap;
		}
		(*buf)[len++] = (char)c;
	}
	if (ferror(f))
		return rt_error_set(p->err, 0, 0, "cannot read the records to import: %s",
				    strerror(errno));
	if (c == EOF && len == 0)
		return 0;
	if (!*buf && !(*buf = malloc(*cap = 1)))
		return jfail(p, "out of memory");
	(*buf)[len] = '\0';
	return 1;
}

int tdb_import(tdb *db, FILE *f, int *added, int *skipped, rt_error *err)
{
	jparser p = {.err = err};
	known_workload k = {0};
	char *line = NULL;
	size_t cap = 0;
	int a = 0, s = 0, rc = 0, more;

	if (added)
		*added = 0;
	if (skipped)
		*skipped = 0;
	if (tdb_begin(db, err))
		return -1;
	while (!rc && (more = read_line(&p, f, &line, &cap)) != 0) {
		if (more < 0) {
			rc = -1;
			break;
		}
		p.s = line;
		p.pos = 0;
		rc = import_line(db, &p, &k, &a, &s);
	}
	known_release(&k);
	free(line);
	if (rc || tdb_commit(db, err)) {
		tdb_rollback(db);
		return -1;
	}
	if (added)
		*added = a;
	if (skipped)
		*skipped = s;
	return 0;
}
