/*
 * cli_verify: run a kernel once on seeded random inputs, isolated in a
 * forked child, and compare every output with the reference interpreter.
 * `ftc run` checks before it times, `ftc compile` before it writes a
 * library (CPU: the compiled code; cuda and hls: the loop IR interpreter
 * on the same lowered loop IR, which is what the CPU can check).
 *
 * Test hook: FTC_TEST_CORRUPT_OUTPUT=1 perturbs one element of the first
 * output after the kernel ran, as a miscompilation would; it exists only
 * to test the refusal paths (docs/decisions.md, "Debugging switches").
 */
#ifndef FTC_CLI_VERIFY_H
#define FTC_CLI_VERIFY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cli.h"
#include "te_bufs.h"

/*
 * The most work `ftc compile` checks: te_graph_flops of the workload.  The
 * reference interpreter runs at about 0.16 GFLOP/s on the development
 * machine (GEMM 256^3, ftc eval), so 16 GFLOP is about 100 s; a larger
 * workload is refused unless --no-check says to write it unchecked.  The
 * kernel is compiled for its fixed shapes, so there is no smaller shape to
 * check instead.
 */
#define CLI_CHECK_MAX_FLOPS 16e9

/*
 * The most work compile checks with the loop IR interpreter (cuda, hls
 * targets): it runs at about 13 MFLOP/s (GEMM 256^3, `ftc run --interp`),
 * so 1 GFLOP is about 80 s.
 */
#define CLI_CHECK_MAX_LIR_FLOPS 1e9

/* How long the checked kernel may run in its child (seconds). */
#define CLI_CHECK_TIMEOUT_S 600.0

/* te_bufs_init of g's buffers, inputs filled from `seed`.  An exit
 * status: CLI_USER_ERROR after printing "FILE: error: out of memory: ...
 * N bytes for tensor 'X'".  Free with te_bufs_free in any case. */
int cli_bufs_alloc(te_bufs *b, const char *file, const te_graph *g, uint64_t seed);

/* A kernel: reads and writes `params`; 0 on success. */
typedef int (*cli_kernel_fn)(void *user, void **params);

/* The cli_kernel_fn of compiled code: user is a `cg_packed_fn *`. */
int cli_run_packed(void *user, void **params);

/* The cli_kernel_fn of the loop IR interpreter: user is a `const lir_func
 * *`; its error is printed to stderr. */
int cli_run_lir(void *user, void **params);

/* What a check found. */
typedef struct cli_verdict {
	bool ok;	/* every output within tolerance */
	bool crashed;	/* the kernel failed, crashed or timed out: `why` */
	int signal;	/* the signal that killed it, or 0 */
	double seconds; /* the child's wall time */
	char why[320];	/* the first mismatch, or how the kernel failed */
} cli_verdict;

/*
 * Compute the reference into b->ref, run fn(user, b->params) once in a
 * forked child (killed after timeout_s), take its outputs into b->got and
 * compare, printing one line per output into `out` (NULL: none).  Returns
 * CLI_OK when every output matches; CLI_USER_ERROR on a mismatch or a
 * kernel that failed (res says which; nothing printed but `out`'s lines),
 * or after printing that the reference failed.
 */
int cli_check_kernel(const char *file, const te_graph *g, te_bufs *b, cli_kernel_fn fn, void *user,
		     double timeout_s, FILE *out, cli_verdict *res);

/*
 * Whether compile may check g: within `limit` FLOP (the check runs `by`,
 * named in the message), or o->no_check (*skip set, a warning printed).
 * CLI_OK, or CLI_USER_ERROR after printing that the workload is over the
 * limit and --no-check would write it unchecked.
 */
int cli_check_allowed(const cli_opts *o, const te_graph *g, double limit, const char *by, bool *skip);

/* Print compile's verdict on `what` ("the compiled kernel"): verified on
 * stdout, or the mismatch or failure and "nothing written" on stderr. */
void cli_print_verdict(const cli_opts *o, int rc, const cli_verdict *v, const char *what);

/*
 * ftc compile's check of a cuda or hls kernel, which the CPU cannot run:
 * the loop IR interpreter on f, the lowered loop IR the back end
 * translates, against the reference at g's shape (within
 * CLI_CHECK_MAX_LIR_FLOPS, unless o->no_check).  An exit status; the
 * verdict is printed.
 */
struct lir_func;
int cli_check_lir(const cli_opts *o, const te_graph *g, const struct lir_func *f);

#endif
