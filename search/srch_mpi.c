/*
 * srch_mpi: the MPI transport of a tune (see srch_mpi.h): rank 0's
 * measurer that farms candidates out, and the workers' loop.
 */
#include "srch_mpi.h"

#include <math.h>
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rt_time.h"
#include "tdb.h"
#include "te_parse.h"
#include "te_verify.h"

enum { TAG_HELLO = 1, TAG_JOB, TAG_RECORD, TAG_STOP };

/* What a worker says of its hardware. */
typedef struct mpi_host {
	char name[64];
	char cpu[64];
	char features[2048];
	int cores;
	char fingerprint[17];
	int records; /* records it sent (rank 0) */
} mpi_host;

struct srch_mpi {
	int rank, size;
	mpi_host *hosts;       /* [size]: hosts[w] of rank w (rank 0: after a hello) */
	char hello_target[256];/* the target string the hosts were asked for, "" when not yet */
	/* rank 0: per job, the time from sending it to its record less the
	 * worker's own time for it (messages, packing, waiting to be read) */
	double overhead;
	int64_t jobs;
};

/* ---- packing ------------------------------------------------------------ */

/* A message being written or read; `bad` once anything did not fit or
 * was missing. */
typedef struct pk {
	unsigned char *b;
	size_t n, cap, at;
	bool bad;
} pk;

static void pk_put(pk *p, const void *v, size_t n)
{
	if (p->bad)
		return;
	if (p->n + n > SRCH_MPI_MAX_BYTES) {
		p->bad = true;
		return;
	}
	if (p->n + n > p->cap) {
		size_t cap = p->cap ? p->cap : 256;
		unsigned char *b;

		while (cap < p->n + n)
			cap *= 2;
		if (!(b = realloc(p->b, cap))) {
			p->bad = true;
			return;
		}
		p->b = b;
		p->cap = cap;
	}
	memcpy(p->b + p->n, v, n);
	p->n += n;
}

static void pk_f64(pk *p, double v)
{
	pk_put(p, &v, sizeof(v));
}

static void pk_i64(pk *p, int64_t v)
{
	pk_put(p, &v, sizeof(v));
}

/* A string with its NUL, so that the reader can point into the buffer. */
static void pk_str(pk *p, const char *s)
{
	int64_t n = (int64_t)strlen(s) + 1;

	pk_i64(p, n);
	pk_put(p, s, (size_t)n);
}

static void pk_get(pk *p, void *v, size_t n)
{
	if (p->bad || p->at + n > p->n) {
		p->bad = true;
		memset(v, 0, n);
		return;
	}
	memcpy(v, p->b + p->at, n);
	p->at += n;
}

static double gk_f64(pk *p)
{
	double v;

	pk_get(p, &v, sizeof(v));
	return v;
}

static int64_t gk_i64(pk *p)
{
	int64_t v;

	pk_get(p, &v, sizeof(v));
	return v;
}

/* A string in the buffer (borrowed from it), "" when missing. */
static const char *gk_str(pk *p)
{
	int64_t n = gk_i64(p);
	const char *s;

	if (p->bad || n < 1 || (size_t)n > p->n - p->at || p->b[p->at + (size_t)n - 1] != '\0') {
		p->bad = true;
		return "";
	}
	s = (const char *)p->b + p->at;
	p->at += (size_t)n;
	return s;
}

static void pk_free(pk *p)
{
	free(p->b);
	memset(p, 0, sizeof(*p));
}

/* Send p to rank `to` with `tag`.  -1 with err set when it was too big or
 * memory ran out while packing. */
static int pk_send(pk *p, int to, int tag, rt_error *err)
{
	if (p->bad)
		return rt_error_set(err, 0, 0, "MPI message to rank %d: over %d bytes (SRCH_MPI_MAX_BYTES) or out of memory",
				    to, SRCH_MPI_MAX_BYTES);
	MPI_Send(p->b, (int)p->n, MPI_BYTE, to, tag, MPI_COMM_WORLD);
	return 0;
}

/*
 * Wait for a message from `from` with `tag` without spinning: MPI_Probe
 * busy-polls a core, and a rank waiting for a record (or a worker for its
 * next job) would take the CPU from the children that measure, on a node
 * shared with them.  Sleeps from SRCH_MPI_POLL_MIN doubling to
 * SRCH_MPI_POLL_MAX seconds between looks: a trial takes far longer.
 */
static void wait_for(int from, int tag, MPI_Status *st)
{
	double nap = SRCH_MPI_POLL_MIN;
	int flag = 0;

	for (;;) {
		struct timespec ts;

		MPI_Iprobe(from, tag, MPI_COMM_WORLD, &flag, st);
		if (flag)
			return;
		ts.tv_sec = 0;
		ts.tv_nsec = (long)(nap * 1e9);
		nanosleep(&ts, NULL);
		nap = nap * 2 < SRCH_MPI_POLL_MAX ? nap * 2 : SRCH_MPI_POLL_MAX;
	}
}

/* Receive the next message from `from` (MPI_ANY_SOURCE: any) with `tag`
 * (MPI_ANY_TAG: any) into p; its source and tag into *src and *got.  -1
 * with err set when it is too big or memory runs out. */
static int pk_recv(pk *p, int from, int tag, int *src, int *got, rt_error *err)
{
	MPI_Status st;
	int count;

	memset(p, 0, sizeof(*p));
	wait_for(from, tag, &st);
	MPI_Get_count(&st, MPI_BYTE, &count);
	*src = st.MPI_SOURCE;
	*got = st.MPI_TAG;
	if (count < 0 || count > SRCH_MPI_MAX_BYTES)
		return rt_error_set(err, 0, 0, "MPI message from rank %d: %d bytes, over %d (SRCH_MPI_MAX_BYTES)", *src,
				    count, SRCH_MPI_MAX_BYTES);
	if (!(p->b = malloc(count > 0 ? (size_t)count : 1)))
		return rt_error_set(err, 0, 0, "out of memory receiving %d bytes from rank %d", count, *src);
	p->n = p->cap = (size_t)count;
	MPI_Recv(p->b, count, MPI_BYTE, *src, *got, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
	return 0;
}

/* ---- the job ------------------------------------------------------------ */

bool srch_mpi_launched(void)
{
	static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"};

	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		if (getenv(vars[i]))
			return true;
	return false;
}

srch_mpi *srch_mpi_begin(int *argc, char ***argv, rt_error *err)
{
	srch_mpi *c = calloc(1, sizeof(*c));
	int provided;

	if (!c) {
		rt_error_set(err, 0, 0, "out of memory");
		return NULL;
	}
	if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
		free(c);
		rt_error_set(err, 0, 0, "MPI_Init_thread failed");
		return NULL;
	}
	MPI_Comm_rank(MPI_COMM_WORLD, &c->rank);
	MPI_Comm_size(MPI_COMM_WORLD, &c->size);
	if (!(c->hosts = calloc((size_t)c->size, sizeof(*c->hosts)))) {
		rt_error_set(err, 0, 0, "out of memory for %d ranks", c->size);
		return srch_mpi_end(c);
	}
	return c;
}

srch_mpi *srch_mpi_end(srch_mpi *c)
{
	if (!c)
		return NULL;
	for (int w = 1; c->rank == 0 && w < c->size; w++)
		MPI_Send(NULL, 0, MPI_BYTE, w, TAG_STOP, MPI_COMM_WORLD);
	MPI_Finalize();
	free(c->hosts);
	free(c);
	return NULL;
}

void srch_mpi_abort(srch_mpi *c, int status)
{
	(void)c;
	MPI_Abort(MPI_COMM_WORLD, status);
}

double srch_mpi_overhead(const srch_mpi *c)
{
	return c->jobs > 0 ? c->overhead / (double)c->jobs : 0;
}

int srch_mpi_rank(const srch_mpi *c)
{
	return c->rank;
}

int srch_mpi_workers(const srch_mpi *c)
{
	return c->size - 1;
}

void srch_mpi_hosts(const srch_mpi *c, char *out, size_t n)
{
	size_t at = 0;

	out[0] = '\0';
	for (int w = 1; w < c->size && at < n; w++) {
		int k = snprintf(out + at, n - at, "%s%s (rank %d, %d)", w > 1 ? ", " : "", c->hosts[w].name, w,
				 c->hosts[w].records);

		at += k > 0 ? (size_t)k : 0;
	}
}

/* ---- the worker ------------------------------------------------------- */

/* A workload the worker keeps: its text (the key), target, graph and
 * measurer (whose buffers hold the inputs and the reference outputs). */
typedef struct mpi_work {
	char *text;
	char target[256];
	te_graph *g;
	srch_measurer *m;
	uint64_t used;
} mpi_work;

typedef struct worker {
	srch_mpi *c;
	isl_ctx *ctx;
	mpi_work cache[SRCH_MPI_CACHE];
	uint64_t clock;
	char host[64];
} worker;

static void work_release(mpi_work *w)
{
	srch_measurer_free(w->m);
	te_graph_free(w->g);
	free(w->text);
	memset(w, 0, sizeof(*w));
}

/* Parse and verify the workload, make its measurer on this host.  0, or
 * -1 with err set (w released). */
static int work_make(worker *W, mpi_work *w, const char *text, const char *target, rt_error *err)
{
	cg_target t;

	snprintf(w->target, sizeof(w->target), "%s", target);
	if (!(w->text = strdup(text)))
		return rt_error_set(err, 0, 0, "out of memory");
	if (!(w->g = te_parse(text, NULL, 0, err)) || te_verify(w->g, W->ctx, err) || cg_target_parse(target, &t, err) ||
	    !(w->m = srch_measurer_new(w->g, W->ctx, &t, 0, err)) || srch_measurer_ready(w->m, W->ctx, err)) {
		work_release(w);
		return -1;
	}
	return 0;
}

/* The measurer of (text, target): kept, or made in the least recently
 * used slot.  NULL with err set. */
static srch_measurer *work_find(worker *W, const char *text, const char *target, rt_error *err)
{
	mpi_work *lru = &W->cache[0];

	for (int i = 0; i < SRCH_MPI_CACHE; i++) {
		mpi_work *w = &W->cache[i];

		if (w->text && strcmp(w->text, text) == 0 && strcmp(w->target, target) == 0) {
			w->used = ++W->clock;
			return w->m;
		}
		if (w->used < lru->used)
			lru = w;
	}
	work_release(lru);
	if (work_make(W, lru, text, target, err))
		return NULL;
	lru->used = ++W->clock;
	return lru->m;
}

/* The hardware of this host for target string `target` into h. */
static int host_of(const char *target, mpi_host *h, rt_error *err)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	cg_target t;

	memset(h, 0, sizeof(*h));
	if (gethostname(h->name, sizeof(h->name) - 1))
		snprintf(h->name, sizeof(h->name), "?");
	if (cg_target_parse(target, &t, err))
		return -1;
	snprintf(h->cpu, sizeof(h->cpu), "%s", t.cpu);
	snprintf(h->features, sizeof(h->features), "%s", t.features);
	h->cores = (int)(cores > 0 ? cores : 1);
	tdb_fingerprint(h->cpu, h->features, h->cores, h->fingerprint);
	return 0;
}

static int serve_hello(worker *W, pk *in, rt_error *err)
{
	mpi_host h;
	pk out = {0};
	int rc;

	if (host_of(gk_str(in), &h, err))
		return -1;
	pk_str(&out, h.name);
	pk_str(&out, h.cpu);
	pk_str(&out, h.features);
	pk_i64(&out, h.cores);
	pk_str(&out, h.fingerprint);
	rc = pk_send(&out, 0, TAG_HELLO, err);
	(void)W;
	pk_free(&out);
	return rc;
}

static void how_pack(pk *p, const srch_how *h)
{
	pk_i64(p, h->verify);
	pk_f64(p, h->verify_below);
	pk_f64(p, h->cutoff);
	pk_f64(p, h->timeout);
	pk_f64(p, h->compile_limit);
	pk_f64(p, h->min_time);
	pk_f64(p, h->rank_limit);
}

static void how_unpack(pk *p, srch_how *h)
{
	h->verify = gk_i64(p) != 0;
	h->verify_below = gk_f64(p);
	h->cutoff = gk_f64(p);
	h->timeout = gk_f64(p);
	h->compile_limit = gk_f64(p);
	h->min_time = gk_f64(p);
	h->rank_limit = gk_f64(p);
}

/* A record without its schedule and point (rank 0 knows them). */
static void record_pack(pk *p, int64_t id, const srch_record *r)
{
	pk_i64(p, id);
	pk_i64(p, r->status);
	pk_str(p, r->reason);
	pk_f64(p, r->seconds);
	pk_f64(p, r->spread);
	pk_i64(p, r->runs);
	pk_f64(p, r->gflops);
	pk_i64(p, r->verified);
	pk_i64(p, r->transient);
	pk_f64(p, r->t_lower);
	pk_f64(p, r->t_llvm);
	pk_f64(p, r->t_first);
	pk_f64(p, r->t_timing);
	pk_f64(p, r->t_verify);
	pk_f64(p, r->t_wall);
}

static int64_t record_unpack(pk *p, srch_record *r)
{
	int64_t id = gk_i64(p), status = gk_i64(p);

	r->status = status == SRCH_OK ? SRCH_OK : status == SRCH_WRONG ? SRCH_WRONG : SRCH_FAILED;
	snprintf(r->reason, sizeof(r->reason), "%s", gk_str(p));
	r->seconds = gk_f64(p);
	r->spread = gk_f64(p);
	r->runs = (int)gk_i64(p);
	r->gflops = gk_f64(p);
	r->verified = gk_i64(p) != 0;
	r->transient = gk_i64(p) != 0;
	r->t_lower = gk_f64(p);
	r->t_llvm = gk_f64(p);
	r->t_first = gk_f64(p);
	r->t_timing = gk_f64(p);
	r->t_verify = gk_f64(p);
	r->t_wall = gk_f64(p);
	return id;
}

/* Measure one job and send its record back.  -1 with err set only when
 * the worker cannot go on (out of memory, a message it cannot read). */
static int serve_job(worker *W, pk *in, rt_error *err)
{
	int64_t id = gk_i64(in);
	const char *text = gk_str(in), *target = gk_str(in), *schedule = gk_str(in);
	srch_measurer *m;
	srch_record r;
	srch_how how;
	rt_error why;
	pk out = {0};
	double setup;
	int rc;

	how_unpack(in, &how);
	if (in->bad)
		return rt_error_set(err, 0, 0, "rank %d (%s): a job it cannot read", W->c->rank, W->host);
	memset(&r, 0, sizeof(r));
	rt_error_clear(&why);
	setup = rt_now();
	m = work_find(W, text, target, &why);
	setup = rt_now() - setup;
	if (!m) {
		r.status = SRCH_FAILED;
		r.seconds = INFINITY;
		snprintf(r.reason, sizeof(r.reason), "rank %d (%.60s): %.180s", W->c->rank, W->host, why.msg);
	} else if (m->ops->measure(m, W->ctx, schedule, &how, &r)) {
		return rt_error_set(err, 0, 0, "rank %d (%s): out of memory measuring", W->c->rank, W->host);
	}
	free(r.schedule);
	record_pack(&out, id, &r);
	pk_f64(&out, setup); /* making the workload's reference, when this job did */
	rc = pk_send(&out, 0, TAG_RECORD, err);
	pk_free(&out);
	return rc;
}

int srch_mpi_serve(srch_mpi *c, rt_error *err)
{
	worker W = {c, isl_ctx_alloc(), {{0}}, 0, "?"};
	int rc = 0;

	if (!W.ctx)
		return rt_error_set(err, 0, 0, "rank %d: out of memory (isl_ctx_alloc)", c->rank);
	gethostname(W.host, sizeof(W.host) - 1);
	while (rc == 0) {
		pk in;
		int src, tag;

		if ((rc = pk_recv(&in, 0, MPI_ANY_TAG, &src, &tag, err)))
			break;
		if (tag == TAG_STOP) {
			pk_free(&in);
			break;
		}
		rc = tag == TAG_HELLO ? serve_hello(&W, &in, err)
		     : tag == TAG_JOB ? serve_job(&W, &in, err)
				      : rt_error_set(err, 0, 0, "rank %d: unknown message tag %d", c->rank, tag);
		pk_free(&in);
	}
	for (int i = 0; i < SRCH_MPI_CACHE; i++)
		work_release(&W.cache[i]);
	isl_ctx_free(W.ctx);
	return rc;
}

/* ---- rank 0's measurer ------------------------------------------------- */

typedef struct mpi_state {
	srch_mpi *c;
	char *text;          /* the workload's canonical text (owned) */
	char target[256];
	int64_t next_id;
	int *job_of;         /* [workers]: the batch index each is measuring, -1: idle */
	int64_t *id_of;      /* [workers]: the id it was sent */
	double *sent_at;     /* [workers]: when (rt_now) */
} mpi_state;

/* Ask every worker for its hardware under target string `target`; they
 * must agree.  0, or -1 with err set naming two hosts that differ. */
static int hello(srch_mpi *c, const char *target, rt_error *err)
{
	pk out = {0};
	int rc = 0;

	if (strcmp(c->hello_target, target) == 0)
		return 0;
	pk_str(&out, target);
	for (int w = 1; w < c->size && rc == 0; w++)
		rc = pk_send(&out, w, TAG_HELLO, err);
	pk_free(&out);
	for (int w = 1; w < c->size && rc == 0; w++) {
		mpi_host *h = &c->hosts[w];
		pk in;
		int src, tag;

		if ((rc = pk_recv(&in, w, TAG_HELLO, &src, &tag, err)))
			break;
		snprintf(h->name, sizeof(h->name), "%s", gk_str(&in));
		snprintf(h->cpu, sizeof(h->cpu), "%s", gk_str(&in));
		snprintf(h->features, sizeof(h->features), "%s", gk_str(&in));
		h->cores = (int)gk_i64(&in);
		snprintf(h->fingerprint, sizeof(h->fingerprint), "%s", gk_str(&in));
		if (in.bad)
			rc = rt_error_set(err, 0, 0, "rank %d: a hello rank 0 cannot read", w);
		pk_free(&in);
	}
	for (int w = 2; w < c->size && rc == 0; w++)
		if (strcmp(c->hosts[w].fingerprint, c->hosts[1].fingerprint) != 0)
			rc = rt_error_set(err, 0, 0,
					  "rank %d on %s (%s, %d cores) and rank 1 on %s (%s, %d cores) have different "
					  "hardware: run one job per kind of node (their dbs merge with ftc db export/import)",
					  w, c->hosts[w].name, c->hosts[w].cpu, c->hosts[w].cores, c->hosts[1].name,
					  c->hosts[1].cpu, c->hosts[1].cores);
	if (rc == 0)
		snprintf(c->hello_target, sizeof(c->hello_target), "%s", target);
	return rc;
}

/* Send job `i` (schedule s) to worker rank w. */
static int send_job(mpi_state *S, int w, int i, const char *s, const srch_how *how, rt_error *err)
{
	pk out = {0};
	int rc;

	S->job_of[w - 1] = i;
	S->id_of[w - 1] = ++S->next_id;
	S->sent_at[w - 1] = rt_now();
	pk_i64(&out, S->next_id);
	pk_str(&out, S->text);
	pk_str(&out, S->target);
	pk_str(&out, s);
	how_pack(&out, how);
	rc = pk_send(&out, w, TAG_JOB, err);
	pk_free(&out);
	return rc;
}

/* The next record from any worker into *r (schedule not set); *i its
 * batch index.  Exits the job on a message that does not belong: the
 * two sides disagree, nothing can be trusted. */
static void recv_record(mpi_state *S, srch_record *r, int *i)
{
	rt_error err;
	pk in;
	int src, tag;
	int64_t id;
	double setup = 0;

	rt_error_clear(&err);
	memset(r, 0, sizeof(*r));
	if (pk_recv(&in, MPI_ANY_SOURCE, TAG_RECORD, &src, &tag, &err) == 0) {
		id = record_unpack(&in, r);
		setup = gk_f64(&in);
		if (in.bad || src < 1 || src >= S->c->size || id != S->id_of[src - 1])
			rt_error_set(&err, 0, 0, "rank %d sent record %lld, not the job %lld it was given", src,
				     (long long)id, src >= 1 && src < S->c->size ? (long long)S->id_of[src - 1] : -1LL);
		pk_free(&in);
	}
	if (err.msg[0]) {
		fprintf(stderr, "ftc tune: MPI: %s\n", err.msg);
		MPI_Abort(MPI_COMM_WORLD, 2);
	}
	*i = S->job_of[src - 1];
	S->job_of[src - 1] = -1;
	S->c->hosts[src].records++;
	S->c->overhead += rt_now() - S->sent_at[src - 1] - (r->t_wall > 0 ? r->t_wall : 0) - setup;
	S->c->jobs++;
}

/* The first idle worker's rank, 0 when none. */
static int idle_worker(const mpi_state *S)
{
	for (int w = 1; w < S->c->size; w++)
		if (S->job_of[w - 1] < 0)
			return w;
	return 0;
}

static int mpi_measure_batch(srch_measurer *m, isl_ctx *ctx, char *const *schedules, const srch_how *how, int n,
			     int (*done)(void *user, int i, srch_record *r), void *user)
{
	mpi_state *S = m->state;
	int next = 0, busy = 0, stop = 0, w;
	rt_error err;

	(void)ctx;
	rt_error_clear(&err);
	while (busy > 0 || (next < n && !stop)) {
		srch_record r;
		int i;

		while (!stop && next < n && (w = idle_worker(S)) > 0) {
			if (send_job(S, w, next, schedules[next], how, &err)) {
				fprintf(stderr, "ftc tune: MPI: %s\n", err.msg);
				MPI_Abort(MPI_COMM_WORLD, 2);
			}
			next++;
			busy++;
		}
		recv_record(S, &r, &i);
		busy--;
		if (stop)
			continue; /* drained, not given: the loop stopped */
		if (!(r.schedule = strdup(schedules[i])))
			stop = -1;
		else
			stop = done(user, i, &r);
	}
	return stop;
}

/* measure: a batch of one. */
typedef struct one {
	srch_record *r;
} one;

static int one_done(void *user, int i, srch_record *r)
{
	srch_record *to = ((one *)user)->r;
	srch_point p = to->point;
	bool has_point = to->has_point, seeded = to->seeded;

	(void)i;
	*to = *r; /* measure fills all but these three */
	to->point = p;
	to->has_point = has_point;
	to->seeded = seeded;
	return 0;
}

static int mpi_measure(srch_measurer *m, isl_ctx *ctx, const char *schedule, const srch_how *how, srch_record *r)
{
	char *s[1] = {(char *)schedule};
	one o = {r};

	return mpi_measure_batch(m, ctx, s, how, 1, one_done, &o);
}

/* The final re-measure: a candidate is its text; timing it is a job on
 * rank 1, so that the candidates compared side by side share a host. */
static void *mpi_build(srch_measurer *m, isl_ctx *ctx, const char *schedule, char *reason)
{
	char *s = strdup(schedule);

	(void)m;
	(void)ctx;
	if (!s)
		snprintf(reason, 256, "out of memory");
	return s;
}

static int mpi_time(srch_measurer *m, void *built, const srch_how *how, srch_record *r, double *median)
{
	srch_record got;

	memset(&got, 0, sizeof(got));
	if (mpi_measure(m, NULL, built, how, &got))
		return r->status = SRCH_FAILED, snprintf(r->reason, sizeof(r->reason), "out of memory"), -1;
	free(got.schedule);
	if (how->verify) /* a round that did not check says nothing of it */
		r->verified = got.verified;
	if (got.status != SRCH_OK || got.runs == 0) {
		r->status = got.status == SRCH_OK ? SRCH_FAILED : got.status;
		snprintf(r->reason, sizeof(r->reason), "%s", got.reason[0] ? got.reason : "stopped at the cutoff");
		return -1;
	}
	*median = got.seconds;
	return 0;
}

static void mpi_unbuild(srch_measurer *m, void *built)
{
	(void)m;
	free(built);
}

static void mpi_release(srch_measurer *m)
{
	mpi_state *S = m->state;

	if (!S)
		return;
	free(S->text);
	free(S->job_of);
	free(S->id_of);
	free(S->sent_at);
	free(S);
	m->state = NULL;
}

static const srch_measurer_ops mpi_ops = {
	.measure = mpi_measure,
	.measure_batch = mpi_measure_batch,
	.build = mpi_build,
	.time = mpi_time,
	.unbuild = mpi_unbuild,
	.release = mpi_release,
};

/* Fill m (g, t set) for the workers of c.  0, or -1 with err set. */
static int mpi_fill(srch_measurer *m, srch_mpi *c, const char *target, rt_error *err)
{
	mpi_state *S = calloc(1, sizeof(*S));
	int nw = c->size - 1;

	m->ops = &mpi_ops;
	m->state = S;
	snprintf(m->name, sizeof(m->name), "cpu");
	m->verifies = true;
	m->batch = nw;
	if (!S || !(S->text = te_graph_print(m->g, false)) || !(m->naive = strdup("")) ||
	    !(S->job_of = malloc((size_t)nw * sizeof(*S->job_of))) || !(S->id_of = calloc((size_t)nw, sizeof(*S->id_of))) ||
	    !(S->sent_at = calloc((size_t)nw, sizeof(*S->sent_at))))
		return rt_error_set(err, 0, 0, "out of memory");
	S->c = c;
	for (int w = 0; w < nw; w++)
		S->job_of[w] = -1;
	if (strlen(target) >= sizeof(S->target))
		return rt_error_set(err, 0, 0, "target '%.40s...': over %zu characters", target, sizeof(S->target) - 1);
	snprintf(S->target, sizeof(S->target), "%s", target);
	if (hello(c, S->target, err))
		return -1;
	/* the workers' hardware is the target's */
	snprintf(m->t.cpu, sizeof(m->t.cpu), "%s", c->hosts[1].cpu);
	snprintf(m->t.features, sizeof(m->t.features), "%s", c->hosts[1].features);
	m->cores = c->hosts[1].cores;
	snprintf(m->device, sizeof(m->device), "%s, %d MPI worker%s", c->hosts[1].cpu, nw, nw == 1 ? "" : "s");
	return 0;
}

srch_measurer *srch_mpi_measurer(srch_mpi *c, const te_graph *g, const char *target, rt_error *err)
{
	srch_measurer *m;
	cg_target t;

	if (c->size < 2) {
		rt_error_set(err, 0, 0, "an MPI job of one rank has no workers to measure on");
		return NULL;
	}
	if (cg_target_parse(target, &t, err))
		return NULL;
	if (t.kind != CG_TARGET_CPU) {
		rt_error_set(err, 0, 0, "MPI workers measure on their CPUs: --target %s is not measured over MPI",
			     cg_target_kind_name(t.kind));
		return NULL;
	}
	if (!(m = calloc(1, sizeof(*m)))) {
		rt_error_set(err, 0, 0, "out of memory");
		return NULL;
	}
	m->g = g;
	m->t = t;
	if (mpi_fill(m, c, target, err))
		return srch_measurer_free(m);
	return m;
}
