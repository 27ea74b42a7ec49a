/*
 * te: the tensor-expression graph.
 *
 * A graph is a list of stages in definition order.  A stage is an input
 * (a placeholder with a shape and an element type) or a compute: an output
 * index space of `rank` spatial axes, optionally `nreduce` reduce axes with a
 * reduction (sum, max, min), and a body expression evaluated at every point
 * of spatial x reduce space.  Axes run from 0 to extent-1.  Shapes are
 * concrete: `param`s are substituted by the parser.
 *
 * Expressions are trees of te_expr nodes allocated in the graph's arena and
 * freed with the graph.  Index expressions (axes, integer constants and the
 * arithmetic on them) have type i32; comparisons and logic have type bool.
 *
 * Integer `/` and `%` are floor division and floor modulo (the result of
 * `%` has the sign of the divisor), as in isl.
 *
 * Ownership: te_graph_new gives a graph; every te_expr and name belongs to
 * the graph that made it; te_graph_free releases all of it.
 */
#ifndef FTC_TE_H
#define FTC_TE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rt_error.h"

#define TE_MAX_RANK 8   /* spatial axes of a stage, dimensions of a tensor */
#define TE_MAX_REDUCE 8 /* reduce axes of a stage */
#define TE_MAX_AXES (TE_MAX_RANK + TE_MAX_REDUCE)
#define TE_MAX_NAME 64  /* longest identifier, terminator included */

/*
 * Size limits, enforced by te_verify so that every command has the same
 * ones (the parser checks extents too, at the extent's position).
 *  - TE_MAX_EXTENT: an axis or tensor dimension.  Axes are i32 values, so an
 *    index fits in an i32 and any sum of 16 axis terms fits in an int64.
 *  - TE_MAX_TENSOR_BYTES: one tensor's bytes (elements x element size),
 *    2^40 = 1 TiB, so a flat offset or byte count of a tensor fits easily
 *    in int64 and size_t on every 64-bit host.
 *  - TE_MAX_POINTS: points of one stage's spatial x reduce space (its loop
 *    trip count).
 *  - TE_MAX_FLOPS: te_graph_flops of the whole graph.
 * 2^50 points or FLOP is about 10^15: days of the reference interpreter and
 * minutes of a fast CPU; no shape beyond it can be tuned or checked.
 */
#define TE_MAX_EXTENT INT64_C(2147483647)
#define TE_MAX_TENSOR_BYTES (INT64_C(1) << 40)
#define TE_MAX_POINTS (INT64_C(1) << 50)
#define TE_MAX_FLOPS (INT64_C(1) << 50)

typedef enum te_dtype { TE_F32, TE_F64, TE_I32, TE_BOOL } te_dtype;

typedef enum te_op {
#define TE_OP(name, spelling, arity, form, prec) TE_##name,
#include "te_ops.def"
#undef TE_OP
	TE_OP_COUNT
} te_op;

typedef enum te_form { TE_FORM_LEAF, TE_FORM_INFIX, TE_FORM_PREFIX, TE_FORM_CALL } te_form;

typedef enum te_reduce { TE_RED_NONE, TE_RED_SUM, TE_RED_MAX, TE_RED_MIN } te_reduce;

typedef enum te_stage_kind { TE_STAGE_INPUT, TE_STAGE_COMPUTE } te_stage_kind;

typedef struct te_expr te_expr;
struct te_expr {
	te_op op;
	te_dtype type;
	int nargs;
	int line, col; /* source position of the node, 0 when built by the API */
	int index;     /* TE_AXIS: axis number in its stage; TE_LOAD: stage id */
	union {
		double f;  /* TE_CONST of a float type */
		int64_t i; /* TE_CONST of i32 or bool */
	} c;
	te_expr *args[]; /* operands; a load's are its indices */
};

typedef struct te_axis {
	char *name;
	int64_t extent;
	int line, col; /* where it was declared, 0 if unknown */
} te_axis;

typedef struct te_stage {
	int id; /* position in the graph */
	char *name;
	te_stage_kind kind;
	te_dtype type;
	int rank;                      /* tensor rank = spatial axes */
	int64_t shape[TE_MAX_RANK];    /* = extents of the spatial axes */
	int nreduce;                   /* reduce axes (computes only) */
	te_axis axes[TE_MAX_AXES];     /* spatial [0,rank), reduce [rank,rank+nreduce) */
	te_reduce reduce;              /* TE_RED_NONE iff nreduce == 0 */
	te_expr *body;                 /* NULL for inputs */
	bool is_output;
	int line, col;                 /* where it was defined, 0 if unknown */
} te_stage;

typedef struct te_graph te_graph;

/* ---- the graph ---- */

/* A new empty graph, or NULL when out of memory. */
te_graph *te_graph_new(void);

/* Release `g` and everything it owns.  Accepts NULL; returns NULL. */
te_graph *te_graph_free(te_graph *g);

int te_graph_nstages(const te_graph *g);
te_stage *te_graph_stage(const te_graph *g, int id);
/* The stage named `name`, or NULL. */
te_stage *te_graph_find(const te_graph *g, const char *name);

/*
 * Add an input tensor.  Returns its stage id, or -1 with `err` set for a
 * duplicate or invalid name, a rank over TE_MAX_RANK or a non-positive
 * extent.
 */
int te_add_input(te_graph *g, const char *name, te_dtype type, int rank,
		 const int64_t *shape, rt_error *err);

/*
 * Add a compute stage with the given spatial axes and (when `nreduce` > 0)
 * reduce axes under reduction `red`.  Its body is set afterwards with
 * te_set_body.  Returns its stage id, or -1 with `err` set.
 */
int te_add_compute(te_graph *g, const char *name, int rank,
		   const char *const *names, const int64_t *extents,
		   te_reduce red, int nreduce, const char *const *rnames,
		   const int64_t *rextents, rt_error *err);

/*
 * Set the body of compute stage `id` (__isl_take style: `body` belongs to
 * the graph already).  The stage's element type becomes the body's type,
 * which must be f32, f64 or i32.  Returns 0, or -1 with `err` set.
 */
int te_set_body(te_graph *g, int id, te_expr *body, rt_error *err);

/* Mark stage `id` as an output of the graph. */
void te_mark_output(te_graph *g, int id);

/*
 * Rename compute stage `id` to `name` and its axes to axes[0..rank+nreduce),
 * names shorter than 128 bytes that need not be .te identifiers: for the
 * stages and loops a schedule makes (`rfactor C k.o` makes stage "C.rf"
 * with an axis "k.o").  The stage name must be new to the graph and the
 * axis names distinct.  Returns 0, or -1 with `err` set.
 */
int te_rename(te_graph *g, int id, const char *name, const char *const *axes, rt_error *err);

/*
 * When no stage is marked as an output, mark every compute stage that no
 * other stage reads.  Call once the graph is complete.
 */
void te_default_outputs(te_graph *g);

/* ---- expressions (all allocated in g; NULL operands give NULL) ----
 * The constructors check operand types and return NULL with `err` set on a
 * mismatch; `err` may be NULL. */

te_expr *te_const_float(te_graph *g, double v, te_dtype type);
te_expr *te_const_int(te_graph *g, int64_t v);
te_expr *te_const_bool(te_graph *g, bool v);
/* Axis `axis` (spatial or reduce) of the stage whose body is being built. */
te_expr *te_axis_ref(te_graph *g, int axis);
/* Load stage `tensor` at `nidx` index expressions (copied from idx[]). */
te_expr *te_load(te_graph *g, int tensor, int nidx, te_expr *const *idx,
		 rt_error *err);
/* NEG, NOT, ABS, EXP, LOG, SQRT, TANH. */
te_expr *te_unary(te_graph *g, te_op op, te_expr *a, rt_error *err);
/* ADD..OR, MIN, MAX. */
te_expr *te_binary(te_graph *g, te_op op, te_expr *a, te_expr *b,
		   rt_error *err);
te_expr *te_select(te_graph *g, te_expr *cond, te_expr *a, te_expr *b,
		   rt_error *err);
te_expr *te_cast(te_graph *g, te_dtype type, te_expr *a, rt_error *err);

/* ---- facts ---- */

const char *te_dtype_name(te_dtype t);
/* Parse "f32"/"f64"/"i32"; returns false for anything else. */
bool te_dtype_parse(const char *s, te_dtype *out);
size_t te_dtype_size(te_dtype t);
bool te_dtype_is_float(te_dtype t);
const char *te_op_spelling(te_op op);
int te_op_arity(te_op op);
te_form te_op_form(te_op op);
int te_op_prec(te_op op);
const char *te_reduce_name(te_reduce r); /* "sum", "max", "min" */

/*
 * Checked int64 arithmetic, the one place ftc computes sizes: *out = a * b
 * (a + b), returning false (and *out = INT64_MAX) when the result does not
 * fit in int64.
 */
bool te_mul_checked(int64_t a, int64_t b, int64_t *out);
bool te_add_checked(int64_t a, int64_t b, int64_t *out);

/* The sizes below are exact for a verified graph (te_verify keeps them under
 * the TE_MAX_ limits); on an unverified one they return -1 on overflow. */

/* Number of elements of a stage's tensor (product of its shape). */
int64_t te_stage_numel(const te_stage *s);
/* Bytes of a stage's tensor: te_stage_numel times the element size. */
int64_t te_stage_bytes(const te_stage *s);
/* Number of points of spatial x reduce space. */
int64_t te_stage_points(const te_stage *s);
/*
 * Floating-point (or integer) operations of one evaluation of compute stage
 * `s`: its points times (the arithmetic ops in its body plus one for the
 * reduction); 0 for an input.  Loads, casts and index arithmetic do not
 * count.
 */
int64_t te_stage_flops(const te_stage *s);
/* The sum of te_stage_flops over the graph (-1 on overflow), as a double. */
double te_graph_flops(const te_graph *g);

/* ---- printing and hashing ---- */

/*
 * The canonical text of `g` in the .te language, with concrete shapes,
 * one stage a line, followed by an `output` line.  When `positional` is
 * true, axes are renamed a0, a1, ... (spatial) and r0, r1, ... (reduce).
 * Returns a malloc'd string the caller frees, or NULL when out of memory.
 */
char *te_graph_print(const te_graph *g, bool positional);

/* Print one expression of stage `s` in .te syntax to a malloc'd string. */
char *te_expr_print(const te_graph *g, const te_stage *s, const te_expr *e);

/*
 * Canonical hash of `g`: a 64-bit FNV-1a of a versioned header and the
 * positional canonical text, so it ignores index variable names and
 * parameter names but not tensor names, shapes, types or bodies.  Stable
 * across runs and machines.  `out` receives 16 lowercase hex digits.
 */
uint64_t te_graph_hash(const te_graph *g, char out[17]);

#endif
