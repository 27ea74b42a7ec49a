/*
 * cg_backend: the back-end interface.  Read this first.
 *
 * A back end is one struct of parameters and function pointers, filled
 * once per target kind (QBE's `struct Target`, amd64/targ.c):
 *
 *   cpu    LLVM IR for the host -> ORC JIT (run, tune) or an ELF object,
 *          archive and header (compile); cg_cpu.c, cg_jit.c, cg_cpu_lib.c
 *   cuda   LLVM NVPTX -> PTX and a host launcher; cg_cuda.c, cg_cuda_lib.c
 *   hls    HLS C with pragmas, a testbench and a Vitis script, estimated by
 *          the analytic model; cg_hls.c, hls_model.c
 *
 * Everything above codegen asks the back end instead of branching on the
 * target kind: the target string's options (cg_target_parse), the lint
 * that follows lowering, compile(lir) -> artifact, the library's files,
 * how a candidate is measured (search maps `kind` to its measurer,
 * srch_measurer.h) and which command-line options mean something for it.
 *
 * The loop IR a back end compiles comes from the one lowering entry,
 * lir_pipe.h (parse, lower, verify).  write_library returns the files as
 * bytes; the driver writes them, each atomically, into the output
 * directory (compiler/cli_util.c), so codegen does no file I/O.
 */
#ifndef FTC_CG_BACKEND_H
#define FTC_CG_BACKEND_H

#include <isl/ctx.h>
#include <stdbool.h>
#include <stddef.h>

#include "cg.h"
#include "lir.h"
#include "rt_error.h"
#include "te.h"

/* How search measures a back end's candidates. */
typedef enum cg_measure_kind {
	CG_MEASURE_RUN,    /* run the JIT'd code on this CPU and time it */
	CG_MEASURE_LAUNCH, /* launch on the GPU (or its CPU emulator) and time it */
	CG_MEASURE_MODEL,  /* estimate with an analytic model */
} cg_measure_kind;

/* The most files one library has (cpu: .h .o .a .ll). */
#define CG_LIB_MAX_FILES 8

/* One file of a library: its name in the output directory and its bytes. */
typedef struct cg_file {
	char name[TE_MAX_NAME + 16];
	void *data; /* owned */
	size_t size;
} cg_file;

/* What write_library makes: the files, and what to tell the user. */
typedef struct cg_library {
	cg_file files[CG_LIB_MAX_FILES];
	int nfiles;
	char *notes;    /* stdout after "wrote DIR/...": how to build or simulate (owned) */
	char *warnings; /* stderr, each line a warning (owned; NULL: none) */
} cg_library;

/* Release what lib holds; lib is zeroed. */
void cg_library_release(cg_library *lib);

/* What the generated files say about themselves (all borrowed). */
typedef struct cg_lib_info {
	const te_graph *g;    /* the workload */
	isl_ctx *ctx;         /* for a back end that lowers a reference (hls' testbench) */
	const char *name;     /* the function: a valid C identifier */
	const char *target;   /* the canonical target string */
	const char *file;     /* the .te file, or NULL */
	const char *origin;   /* where the schedule came from: a file name, "the
			       * tuning db's best", or the default's description */
	const char *schedule; /* the schedule text; NULL or "": the naive one */
	const char *dir;      /* the output directory, for the notes */
	bool unchecked;       /* written without the check (--no-check) */
	bool emit_llvm;       /* also the LLVM IR (only where llvm_ir) */
} cg_lib_info;

/* A compiled kernel, as the back end that made it keeps it. */
typedef struct cg_artifact cg_artifact;

typedef struct cg_backend {
	const char *name;        /* "cpu": the target string's first word */
	cg_target_kind kind;     /* one enum for every part (search maps from it) */
	cg_measure_kind measure; /* how its candidates are measured */
	const char *options;     /* its target options, for messages */
	bool host_code;          /* its code runs on this CPU: compile checks the
				  * code itself (jit), else the loop IR it translates */
	bool llvm_ir;            /* --emit-llvm: it can write its LLVM IR */
	bool runtime_lib;        /* its library links libftcrt.a (copied beside it) */
	const char *const *outputs; /* printf formats of NAME: the files it may write */

	/* The target's defaults for this kind (t has the host's fields). */
	void (*defaults)(cg_target *t);
	/* One option of the target string ("-arch=sm_90").  0, or -1 with
	 * err naming it. */
	int (*parse_opt)(cg_target *t, const char *tok, rt_error *err);
	/* The canonical target string of t. */
	void (*print)(const cg_target *t, char *out, int size);
	/* What this back end cannot translate in f (verified loop IR).  0, or
	 * -1 with err naming the loop or statement. */
	int (*lint)(const lir_func *f, const cg_target *t, rt_error *err);
	/* Compile f (verified, linted; borrowed for the artifact's life) for
	 * t.  A new artifact, or NULL with err set. */
	cg_artifact *(*compile)(const lir_func *f, const cg_target *t, rt_error *err);
	/* host_code only: a JIT of the artifact's code (a second compilation
	 * of the same loop IR, which must give the same LLVM IR: the code
	 * checked is the code written).  NULL with err set. */
	cg_jit *(*jit)(const cg_artifact *a, rt_error *err);
	/* The library's files of a into *lib (zeroed first).  0, or -1 with
	 * err set (lib released). */
	int (*write_library)(const cg_artifact *a, const cg_lib_info *li, cg_library *lib, rt_error *err);
	/* Release a.  Accepts NULL; returns NULL. */
	cg_artifact *(*free)(cg_artifact *a);
} cg_backend;

/* The back end of a kind. */
const cg_backend *cg_backend_of(cg_target_kind k);

/* The back end named `name` ("cpu", "cuda", "hls"), or NULL. */
const cg_backend *cg_backend_named(const char *name);

/* "C" or "C++" when s is a keyword of that language (the generated
 * headers are for both), else NULL. */
const char *cg_keyword(const char *s);

/* The names of every back end, "cpu, cuda or hls", for messages. */
const char *cg_backend_names(void);

#endif
