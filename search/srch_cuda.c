/*
 * srch_cuda: the naive GPU schedule and the GPU measurer (see srch_cuda.h).
 */
#include "srch_cuda.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cg_cuda.h"
#include "lir_pipe.h"
#include "lower.h"
#include "rt_alloc.h"
#include "rt_buf.h"
#include "rt_cuda.h"
#include "rt_math.h"
#include "rt_time.h"
#include "srch_measurer.h"
#include "te_bufs.h"

#define NAIVE_THREADS 256
#define INPUT_SEED 1               /* the seed srch_tune fills inputs with */
#define INTERP_FLOPS_MAX 2e9       /* above: the reference comes from the CPU back end */
#define MAX_RUNS 1000
#define EMU_TIMEOUT 20.0           /* seconds a barrier may wait in the emulator */
#define NAN32 UINT32_C(0x7fc00000)
#define THREAD_GHZ 2.0            /* above any GPU's clock: for lower bounds on time */

/* ---- the naive GPU schedule ---- */

char *srch_cuda_naive_schedule(const te_graph *g)
{
	rt_buf t = {0};

	rt_buf_printf(&t, "# the naive GPU schedule: spatial loops fused, %d threads a block\n", NAIVE_THREADS);
	for (int i = 0; i < te_graph_nstages(g); i++) {
		const te_stage *s = te_graph_stage(g, i);
		char fused[SCH_MAX_NAME * 2];
		int64_t extent = 1;

		if (s->kind != TE_STAGE_COMPUTE || s->rank == 0)
			continue;
		snprintf(fused, sizeof(fused), "%s", s->axes[0].name);
		for (int a = 0; a < s->rank; a++) {
			extent *= s->axes[a].extent;
			if (a == 0)
				continue;
			rt_buf_printf(&t, "fuse %s %s %s\n", s->name, fused, s->axes[a].name);
			snprintf(fused + strlen(fused), sizeof(fused) - strlen(fused), "+%s", s->axes[a].name);
		}
		if (extent <= NAIVE_THREADS) {
			rt_buf_printf(&t, "bind %s %s threadIdx.x\n", s->name, fused);
			continue;
		}
		rt_buf_printf(&t, "split %s %s %d\n", s->name, fused, NAIVE_THREADS);
		rt_buf_printf(&t, "bind %s %s.o blockIdx.x\n", s->name, fused);
		rt_buf_printf(&t, "bind %s %s.i threadIdx.x\n", s->name, fused);
	}
	return rt_buf_take(&t);
}

/* The CPU schedule of the reference for large workloads: the first two
 * spatial loops of every stage fused and parallel. */
static char *cpu_reference_schedule(const te_graph *g)
{
	rt_buf t = {0};

	for (int i = 0; i < te_graph_nstages(g); i++) {
		const te_stage *s = te_graph_stage(g, i);

		if (s->kind != TE_STAGE_COMPUTE || s->rank == 0)
			continue;
		if (s->rank >= 2) {
			rt_buf_printf(&t, "fuse %s %s %s\n", s->name, s->axes[0].name, s->axes[1].name);
			rt_buf_printf(&t, "parallel %s %s+%s\n", s->name, s->axes[0].name, s->axes[1].name);
		} else {
			rt_buf_printf(&t, "parallel %s %s\n", s->name, s->axes[0].name);
		}
	}
	return rt_buf_take(&t);
}

/* ---- the measurer ---- */

struct srch_cuda {
	const te_graph *g;
	cg_target t;
	bool emulate;
	rt_cuda *cu;
	int nparams;
	int *stage;            /* per parameter: its stage */
	size_t *bytes;
	te_bufs b;             /* seeded inputs, the reference's and the downloads' buffers */
	void **host;           /* per parameter: inputs; outputs' downloads (in b) */
	void **ref;            /* per parameter: the reference output (in b), NULL for inputs */
	rt_cuda_ptr *dev;      /* per parameter (driver) */
	rt_cuda_ptr work;      /* the temps (driver) */
	size_t work_bytes;
	void **emu_out;        /* per output parameter: the emulator's buffer */
	char device[320];
	char launch[512];
};

/* Parameters: inputs, then outputs, in stage order (lir_lower's), their
 * buffers those of te_bufs; 0, or -1 with err set. */
static int params_of(srch_cuda *m, rt_error *err)
{
	int n = te_graph_nstages(m->g);

	m->stage = calloc((size_t)n + 1, sizeof(int));
	m->bytes = calloc((size_t)n + 1, sizeof(size_t));
	m->host = calloc((size_t)n + 1, sizeof(void *));
	m->ref = calloc((size_t)n + 1, sizeof(void *));
	m->dev = calloc((size_t)n + 1, sizeof(rt_cuda_ptr));
	m->emu_out = calloc((size_t)n + 1, sizeof(void *));
	if (!m->stage || !m->bytes || !m->host || !m->ref || !m->dev || !m->emu_out)
		return rt_error_set(err, 0, 0, "out of memory");
	if (te_bufs_init(&m->b, m->g, INPUT_SEED, err))
		return -1;
	for (int i = 0; i < n; i++) {
		const te_stage *s = te_graph_stage(m->g, i);

		if (s->kind == TE_STAGE_INPUT)
			m->stage[m->nparams++] = i;
	}
	for (int i = 0; i < n; i++) {
		const te_stage *s = te_graph_stage(m->g, i);

		if (s->kind == TE_STAGE_COMPUTE && s->is_output) {
			m->ref[m->nparams] = m->b.ref[i];
			m->stage[m->nparams++] = i;
		}
	}
	for (int p = 0; p < m->nparams; p++) {
		const te_stage *s = te_graph_stage(m->g, m->stage[p]);

		m->host[p] = m->b.params[p];
		m->bytes[p] = (size_t)te_stage_numel(s) * te_dtype_size(s->type);
	}
	return 0;
}

static bool is_output(const srch_cuda *m, int p)
{
	return m->ref[p] != NULL;
}

/* The reference by the interpreter into the outputs' ref. */
static int reference_interp(srch_cuda *m, rt_error *err)
{
	return te_bufs_reference(&m->b, err);
}

/* The reference by the CPU back end (parallel, naive loop order): for
 * workloads the interpreter would take minutes over. */
static int reference_cpu(srch_cuda *m, isl_ctx *ctx, rt_error *err)
{
	char *text = cpu_reference_schedule(m->g);
	lir_func *f = text ? lir_pipeline(m->g, ctx, text, "reference", 0, err) : NULL;
	cg_target host;
	cg_jit *j = NULL;
	void **args = calloc((size_t)m->nparams + 1, sizeof(void *));
	int rc = -1;

	if (f && args && cg_target_host(&host, err) == 0 && (j = cg_jit_new(cg_cpu_compile(f, &host, err), err))) {
		for (int p = 0; p < m->nparams; p++)
			args[p] = is_output(m, p) ? m->ref[p] : m->host[p];
		rc = cg_jit_entry(j)(args) ? rt_error_set(err, 0, 0, "the CPU reference could not allocate") : 0;
	}
	cg_jit_free(j);
	lir_func_free(f);
	free(text);
	free(args);
	return rc;
}

static int reference(srch_cuda *m, isl_ctx *ctx, rt_error *err)
{
	rt_error cpu_err;

	if (te_graph_flops(m->g) <= INTERP_FLOPS_MAX)
		return reference_interp(m, err);
	rt_error_clear(&cpu_err);
	if (reference_cpu(m, ctx, &cpu_err) == 0)
		return 0;
	return reference_interp(m, err);
}

/* Device buffers: inputs uploaded, outputs allocated. */
static int device_buffers(srch_cuda *m, rt_error *err)
{
	for (int p = 0; p < m->nparams; p++) {
		if (m->emulate) {
			if (is_output(m, p) && !(m->emu_out[p] = rt_alloc(m->bytes[p])))
				return rt_error_set(err, 0, 0, "out of memory");
			continue;
		}
		m->dev[p] = 0;
		if (rt_cuda_alloc(m->cu, m->bytes[p], &m->dev[p], err) ||
		    (!is_output(m, p) && rt_cuda_upload(m->cu, m->dev[p], m->host[p], m->bytes[p], err)))
			return -1;
	}
	m->work = 0;
	m->work_bytes = 0;
	return 0;
}

/* "NVIDIA H100 80GB HBM3 (sm_90, driver 12.4)" */
static void device_text(const rt_cuda *cu, char *out, size_t size)
{
	snprintf(out, size, "%s (sm_%d, driver %d.%d)", rt_cuda_device_name(cu), rt_cuda_sm(cu),
		 rt_cuda_driver_version(cu) / 1000, rt_cuda_driver_version(cu) % 1000 / 10);
}

srch_cuda *srch_cuda_new(const te_graph *g, isl_ctx *ctx, const cg_target *t, bool emulate, rt_error *err)
{
	srch_cuda *m = calloc(1, sizeof(*m));

	if (!m) {
		rt_error_set(err, 0, 0, "out of memory");
		return NULL;
	}
	m->g = g;
	m->t = *t;
	m->emulate = emulate;
	if (emulate) {
		snprintf(m->device, sizeof(m->device), "the CPU emulator");
	} else {
		if (!(m->cu = rt_cuda_open(0, err)))
			return srch_cuda_free(m);
		if (t->sm > rt_cuda_sm(m->cu)) {
			rt_error_set(err, 0, 0, "the target is sm_%d but the device (%s) is sm_%d: use --target 'cuda -arch=sm_%d'",
				     t->sm, rt_cuda_device_name(m->cu), rt_cuda_sm(m->cu), rt_cuda_sm(m->cu));
			return srch_cuda_free(m);
		}
		device_text(m->cu, m->device, sizeof(m->device));
	}
	if (params_of(m, err))
		return srch_cuda_free(m);
	if (reference(m, ctx, err) || device_buffers(m, err))
		return srch_cuda_free(m);
	return m;
}

static void free_device(srch_cuda *m)
{
	if (!m->cu)
		return;
	for (int p = 0; p < m->nparams; p++)
		rt_cuda_free(m->cu, m->dev[p]);
	rt_cuda_free(m->cu, m->work);
	m->work = 0;
	m->work_bytes = 0;
}

srch_cuda *srch_cuda_free(srch_cuda *m)
{
	if (!m)
		return NULL;
	if (m->dev)
		free_device(m);
	for (int p = 0; p < m->nparams; p++)
		rt_free(m->emu_out[p]);
	te_bufs_free(&m->b);
	rt_cuda_close(m->cu);
	free(m->stage);
	free(m->bytes);
	free(m->host);
	free(m->ref);
	free(m->dev);
	free(m->emu_out);
	free(m);
	return NULL;
}

const char *srch_cuda_device(const srch_cuda *m)
{
	return m->device;
}

const char *srch_cuda_launch_text(const srch_cuda *m)
{
	return m->launch;
}

/* ---- one candidate ---- */

typedef struct built {
	cg_cuda_prog *prog;
	rt_cuda_module *mod;     /* driver */
	cg_jit *jit;             /* emulator */
	void **emu_args;         /* emulator: parameters then temps */
	rt_cuda_ptr *argv;       /* driver: the kernels' argument values */
	void **argp;             /* driver: pointers to them */
} built;

static void built_free(srch_cuda *m, built *b)
{
	if (b->emu_args)
		for (int i = 0; i < b->prog->ntemps; i++)
			rt_free(b->emu_args[b->prog->nparams + i]);
	if (m->cu)
		rt_cuda_module_unload(m->cu, b->mod);
	cg_jit_free(b->jit);
	cg_cuda_prog_free(b->prog);
	free(b->emu_args);
	free(b->argv);
	free(b->argp);
	memset(b, 0, sizeof(*b));
}

static void describe_launch(srch_cuda *m, const cg_cuda_prog *p)
{
	size_t n = 0;

	n += (size_t)snprintf(m->launch, sizeof(m->launch), "%d kernel%s", p->nkernels, p->nkernels == 1 ? "" : "s");
	for (int i = 0; i < p->nkernels && n < sizeof(m->launch); i++) {
		const cg_cuda_kernel *k = &p->kernels[i];

		n += (size_t)snprintf(m->launch + n, sizeof(m->launch) - n,
				      "%s grid %lldx%lldx%lld block %dx%dx%d (%lld B shared)", i ? ";" : ":",
				      (long long)k->grid[0], (long long)k->grid[1], (long long)k->grid[2], k->block[0],
				      k->block[1], k->block[2], (long long)k->shared_bytes);
	}
}

/* The temps of p in one device workspace, each 256-aligned. */
static int driver_args(srch_cuda *m, built *b, rt_error *err)
{
	const cg_cuda_prog *p = b->prog;
	int n = p->nparams + p->ntemps;
	size_t need = 0, off = 0;

	b->argv = calloc((size_t)n + 1, sizeof(rt_cuda_ptr));
	b->argp = calloc((size_t)n + 1, sizeof(void *));
	if (!b->argv || !b->argp)
		return rt_error_set(err, 0, 0, "out of memory");
	for (int i = 0; i < p->ntemps; i++)
		need += ((size_t)p->temp_bytes[i] + 255) / 256 * 256;
	if (need > m->work_bytes) {
		rt_cuda_free(m->cu, m->work);
		m->work = 0;
		m->work_bytes = 0;
		if (rt_cuda_alloc(m->cu, need, &m->work, err))
			return -1;
		m->work_bytes = need;
	}
	for (int i = 0; i < n; i++) {
		if (i < p->nparams) {
			b->argv[i] = m->dev[i];
		} else {
			b->argv[i] = m->work + off;
			off += ((size_t)p->temp_bytes[i - p->nparams] + 255) / 256 * 256;
		}
		b->argp[i] = &b->argv[i];
	}
	return 0;
}

static int emu_args(srch_cuda *m, built *b, rt_error *err)
{
	const cg_cuda_prog *p = b->prog;

	if (!(b->emu_args = calloc((size_t)(p->nparams + p->ntemps) + 1, sizeof(void *))))
		return rt_error_set(err, 0, 0, "out of memory");
	for (int i = 0; i < p->nparams; i++)
		b->emu_args[i] = is_output(m, i) ? m->emu_out[i] : m->host[i];
	for (int i = 0; i < p->ntemps; i++)
		if (!(b->emu_args[p->nparams + i] = rt_alloc((size_t)p->temp_bytes[i])))
			return rt_error_set(err, 0, 0, "out of memory");
	return 0;
}

/* Lower, compile and load schedule text; 0, or -1 with err set. */
static int build(srch_cuda *m, isl_ctx *ctx, const char *schedule, built *b, rt_error *err)
{
	lir_func *f = lir_pipeline(m->g, ctx, schedule, "ftc_kernel", LIR_LOWER_TRUSTED, err);
	const char **names = NULL;
	int rc = -1;

	memset(b, 0, sizeof(*b));
	if (!f)
		goto out;
	if (m->emulate) {
		b->jit = cg_jit_new(cg_cuda_compile_emu(f, &m->t, &b->prog, err), err);
		rc = b->jit ? emu_args(m, b, err) : -1;
		goto out;
	}
	if (!(b->prog = cg_cuda_compile(f, &m->t, err)))
		goto out;
	if (!(names = calloc((size_t)b->prog->nkernels + 1, sizeof(char *)))) {
		rt_error_set(err, 0, 0, "out of memory");
		goto out;
	}
	for (int i = 0; i < b->prog->nkernels; i++)
		names[i] = b->prog->kernels[i].name;
	if ((b->mod = rt_cuda_module_load(m->cu, b->prog->ptx, b->prog->nkernels, names, err)))
		rc = driver_args(m, b, err);
out:
	if (b->prog)
		describe_launch(m, b->prog);
	free(names);
	lir_func_free(f);
	return rc;
}

/* One run of every kernel; *seconds its device time (emulator: wall). */
static int run_once(srch_cuda *m, built *b, double *seconds, rt_error *err)
{
	const cg_cuda_prog *p = b->prog;
	double t0;

	if (m->emulate) {
		t0 = rt_now();
		if (cg_cuda_emu_run(cg_jit_entry(b->jit), p, b->emu_args, EMU_TIMEOUT, err))
			return -1;
		*seconds = rt_now() - t0;
		return 0;
	}
	if (rt_cuda_timer_start(m->cu, err))
		return -1;
	for (int i = 0; i < p->nkernels; i++)
		if (rt_cuda_launch(m->cu, b->mod, i, p->kernels[i].grid, p->kernels[i].block, b->argp, err))
			return -1;
	if (rt_cuda_timer_stop(m->cu, seconds, err))
		return -1;
	return rt_cuda_sync(m->cu, err);
}

/* Run with NaN-filled outputs and compare them with the reference;
 * 0 when equal, 1 with `reason` set when not, -1 on an error. */
static int verify(srch_cuda *m, built *b, char *reason, size_t size, rt_error *err)
{
	double s;

	for (int p = 0; p < m->nparams; p++) {
		if (!is_output(m, p))
			continue;
		if (m->emulate) {
			for (size_t i = 0; i < m->bytes[p] / 4; i++)
				memcpy((char *)m->emu_out[p] + 4 * i, &(uint32_t){NAN32}, 4);
		} else if (rt_cuda_fill32(m->cu, m->dev[p], NAN32, m->bytes[p] / 4, err)) {
			return -1;
		}
	}
	if (run_once(m, b, &s, err))
		return -1;
	for (int p = 0; p < m->nparams; p++) {
		const te_stage *st = te_graph_stage(m->g, m->stage[p]);
		const void *got = m->emulate ? m->emu_out[p] : m->host[p];
		te_cmp c;

		if (!is_output(m, p))
			continue;
		if (!m->emulate && rt_cuda_download(m->cu, m->host[p], m->dev[p], m->bytes[p], err))
			return -1;
		c = te_compare(st, got, m->ref[p]);
		if (!c.ok) {
			snprintf(reason, size, "wrong result: %s: %lld elements outside tolerance, max abs err %.3g",
				 st->name, (long long)c.nbad, c.max_abs);
			return 1;
		}
	}
	return 0;
}

/* Time b: the first run is the warm-up and, past `cutoff`, the result
 * (runs = 0); then runs until min_time (at least 3), the median. */
static int time_runs(srch_cuda *m, built *b, double min_time, double cutoff, srch_record *r, rt_error *err)
{
	double *t = malloc(sizeof(double) * MAX_RUNS), first, total = 0;
	int n = 0, rc = -1;

	if (!t)
		return rt_error_set(err, 0, 0, "out of memory");
	if (run_once(m, b, &first, err))
		goto out;
	r->seconds = first;
	r->runs = 0;
	rc = 0;
	if (cutoff > 0 && first > cutoff)
		goto out;
	r->runs = 1;
	if (m->emulate || first >= 0.5)
		goto out;
	while (n < MAX_RUNS && (n < 3 || total < min_time)) {
		if (run_once(m, b, &t[n], err)) {
			rc = -1;
			goto out;
		}
		total += t[n++];
	}
	qsort(t, (size_t)n, sizeof(double), rt_cmp_double);
	r->seconds = t[n / 2];
	r->spread = t[n / 2] > 0 ? (t[n * 3 / 4] - t[n / 4]) / t[n / 2] : 0;
	r->runs = n;
out:
	free(t);
	return rc;
}

/* After a sticky error: a fresh context, buffers and inputs. */
static void recover(srch_cuda *m)
{
	rt_error err;

	if (!m->cu || !rt_cuda_broken(m->cu))
		return;
	rt_error_clear(&err);
	for (int p = 0; p < m->nparams; p++)
		m->dev[p] = 0;
	m->work = 0;
	m->work_bytes = 0;
	if (rt_cuda_reset(m->cu, &err) == 0)
		device_buffers(m, &err);
}

static void fail(srch_record *r, srch_status st, const char *what, const char *msg)
{
	char m[sizeof(r->reason)];

	snprintf(m, sizeof(m), "%.*s", (int)sizeof(m) - 1, msg);
	r->status = st;
	r->seconds = INFINITY;
	r->gflops = 0;
	snprintf(r->reason, sizeof(r->reason), "%.16s%s%.*s", what, what[0] && m[0] ? ": " : "",
		 (int)sizeof(r->reason) - 20, m);
}

/* A lower bound on the run time of p: the flops spread over the most
 * threads one of its kernels launches, each at most one fused
 * multiply-add (2 flops) a cycle at THREAD_GHZ. */
static double time_bound(const srch_cuda *m, const cg_cuda_prog *p)
{
	double threads = 1;

	for (int i = 0; i < p->nkernels; i++) {
		const cg_cuda_kernel *k = &p->kernels[i];
		double n = (double)k->grid[0] * k->grid[1] * k->grid[2] * k->block[0] * k->block[1] * k->block[2];

		threads = n > threads ? n : threads;
	}
	return te_graph_flops(m->g) / (threads * 2 * THREAD_GHZ * 1e9);
}

/* Measure `schedule`: verify before timing when asked, or after timing
 * when it beats `verify_below`. */
static int measure(srch_cuda *m, isl_ctx *ctx, const char *schedule, bool verify_first, double verify_below,
		   double min_time, double cutoff, srch_record *r)
{
	built b;
	rt_error err;
	int v = 0;

	memset(&b, 0, sizeof(b));
	rt_error_clear(&err);
	if (srch_record_start(r, schedule))
		return -1;
	if (build(m, ctx, schedule, &b, &err)) {
		fail(r, SRCH_FAILED, "compile", err.msg);
	} else if (cutoff > 0 && time_bound(m, b.prog) > cutoff) {
		r->seconds = time_bound(m, b.prog); /* a lower bound, as a cut-off first run */
		r->runs = 0;
	} else if (verify_first && (v = verify(m, &b, r->reason, sizeof(r->reason), &err)) != 0) {
		if (v < 0)
			fail(r, SRCH_FAILED, "run", err.msg);
		else
			fail(r, SRCH_WRONG, "", r->reason);
	} else if (time_runs(m, &b, min_time, cutoff, r, &err)) {
		fail(r, SRCH_FAILED, "run", err.msg);
	} else if (!verify_first && r->runs > 0 && r->seconds < verify_below &&
		   (v = verify(m, &b, r->reason, sizeof(r->reason), &err)) != 0) {
		if (v < 0)
			fail(r, SRCH_FAILED, "run", err.msg);
		else
			fail(r, SRCH_WRONG, "", r->reason);
	}
	r->verified = r->status == SRCH_OK && (verify_first || (r->runs > 0 && r->seconds < verify_below));
	if (r->status == SRCH_OK)
		r->gflops = r->seconds > 0 ? te_graph_flops(m->g) * 1e-9 / r->seconds : 0;
	built_free(m, &b);
	recover(m);
	return 0;
}

int srch_cuda_measure(srch_cuda *m, isl_ctx *ctx, const char *schedule, bool verify_it, double min_time,
		      srch_record *r)
{
	return measure(m, ctx, schedule, verify_it, 0, min_time, 0, r);
}

/* ---- the measurer of the tuning loop (srch_measurer.h) ---- */

/* GPU kernels run in microseconds: this many seconds of runs time one
 * well, whatever the tune's min_time. */
#define CUDA_MIN_TIME 0.05

typedef struct cuda_state {
	srch_cuda *cu;
	bool owned, emulate;
} cuda_state;

static srch_cuda *cuda_of(const srch_measurer *m)
{
	return ((const cuda_state *)m->state)->cu;
}

static double cuda_min_time(const srch_how *how)
{
	return how->min_time < CUDA_MIN_TIME ? how->min_time : CUDA_MIN_TIME;
}

static int cuda_measure(srch_measurer *m, isl_ctx *ctx, const char *schedule, const srch_how *how, srch_record *r)
{
	return measure(cuda_of(m), ctx, schedule, how->verify, how->verify_below, cuda_min_time(how),
		       isfinite(how->cutoff) ? how->cutoff : 0, r);
}

static void *cuda_build(srch_measurer *m, isl_ctx *ctx, const char *schedule, char *reason)
{
	built *b = calloc(1, sizeof(*b));
	rt_error err;

	rt_error_clear(&err);
	if (!b) {
		snprintf(reason, 256, "out of memory");
		return NULL;
	}
	if (build(cuda_of(m), ctx, schedule, b, &err)) {
		snprintf(reason, 256, "compiling: %.200s", err.msg);
		built_free(cuda_of(m), b);
		free(b);
		recover(cuda_of(m));
		return NULL;
	}
	return b;
}

/* Time an already built candidate again: checked first when asked. */
static int cuda_time(srch_measurer *m, void *built_, const srch_how *how, srch_record *r, double *median)
{
	srch_cuda *cu = cuda_of(m);
	srch_record t;
	rt_error err;
	int v = 0;

	memset(&t, 0, sizeof(t));
	rt_error_clear(&err);
	if (how->verify && (v = verify(cu, built_, t.reason, sizeof(t.reason), &err)) != 0) {
		if (v < 0)
			fail(r, SRCH_FAILED, "run", err.msg);
		else
			fail(r, SRCH_WRONG, "", t.reason);
	} else if (time_runs(cu, built_, cuda_min_time(how), 0, &t, &err)) {
		fail(r, SRCH_FAILED, "run", err.msg);
		v = -1;
	}
	recover(cu);
	if (v)
		return -1;
	r->verified = r->verified || how->verify;
	*median = t.seconds;
	return 0;
}

static void cuda_unbuild(srch_measurer *m, void *built_)
{
	if (!built_)
		return;
	built_free(cuda_of(m), built_);
	free(built_);
}

static void cuda_release(srch_measurer *m)
{
	cuda_state *s = m->state;

	if (s && s->owned)
		srch_cuda_free(s->cu);
	free(s);
}

/* The device and the reference come with the first measurement. */
static int cuda_setup(srch_measurer *m, isl_ctx *ctx, rt_error *err)
{
	cuda_state *s = m->state;

	if (s->cu)
		return 0;
	if (!(s->cu = srch_cuda_new(m->g, ctx, &m->t, s->emulate, err)))
		return -1;
	s->owned = true;
	return 0;
}

static const srch_measurer_ops cuda_ops = {
	.setup = cuda_setup,
	.measure = cuda_measure,
	.build = cuda_build,
	.time = cuda_time,
	.unbuild = cuda_unbuild,
	.release = cuda_release,
};

/* Make m measure with cu (borrowed), or on the device or the emulator
 * opened at setup (cu NULL). */
static int cuda_fill(srch_measurer *m, srch_cuda *cu, bool emulate, rt_error *err)
{
	cuda_state *s = calloc(1, sizeof(*s));

	if (!s)
		return rt_error_set(err, 0, 0, "out of memory");
	s->cu = cu;
	s->emulate = cu ? cu->emulate : emulate;
	m->state = s;
	m->ops = &cuda_ops;
	m->ready = cu != NULL;
	snprintf(m->name, sizeof(m->name), "%s", s->emulate ? "cuda-emulator" : "cuda");
	m->verifies = true;
	if (!(m->naive = srch_cuda_naive_schedule(m->g)))
		return rt_error_set(err, 0, 0, "out of memory");
	return 0;
}

int srch_measurer_cuda(srch_measurer *m, isl_ctx *ctx, bool emulate, rt_error *err)
{
	rt_cuda *cu;

	(void)ctx;
	if (cuda_fill(m, NULL, emulate, err))
		return -1;
	if (emulate) {
		snprintf(m->device, sizeof(m->device), "the CPU emulator");
		return 0;
	}
	if (!(cu = rt_cuda_open(0, err)))
		return -1;
	device_text(cu, m->device, sizeof(m->device));
	rt_cuda_close(cu);
	return 0;
}

int srch_cuda_tune(srch_cuda *cu, isl_ctx *ctx, const srch_tune_opts *o, srch_result *res, rt_error *err)
{
	srch_measurer *m = calloc(1, sizeof(*m));
	int rc = -1;

	memset(res, 0, sizeof(*res));
	res->best = -1;
	if (!m)
		return rt_error_set(err, 0, 0, "out of memory");
	m->g = cu->g;
	m->t = cu->t;
	snprintf(m->device, sizeof(m->device), "%s", cu->device);
	if (cuda_fill(m, cu, false, err) == 0)
		rc = srch_tune_with(m, ctx, o, res, err);
	srch_measurer_free(m);
	return rc;
}
