/*
 * srch_space: a te graph's schedule space, as in FlexTensor.
 *
 * Static analysis of the graph gives knobs, one vector of choices each:
 *   split knobs: an axis of a compute stage cut into d parts (4 for
 *     spatial axes, 3 for reduce axes on the CPU), a point's value being d
 *     factors f0..f(d-1), outermost first, whose product covers the
 *     extent (divisor factorisations, plus rounded-up ones for extents
 *     with few divisors: the lowering handles tails);
 *   choice knobs: one integer in [0, n): a reorder choice, how many outer
 *     loops to fuse and parallelize, vectorize the innermost spatial loop
 *     or not, unroll depth, cache_write or not, cache_read/packing of an
 *     input or not, inline / compute_at / root for an injective producer;
 *   an rfactor knob (CPU) on a sum/max/min whose innermost reduce axis is
 *     long and either read contiguously or the only work there is (few
 *     outputs): partial results in vector lanes, and in threads;
 *   GPU knobs for cuda targets (block/vthread/thread/inner splits, shared
 *     cache_read, local cache_write), pruned by the target's limits;
 *   HLS knobs for FPGAs (tile/pipelined/unrolled splits, which loop is
 *     pipelined and its target II, local buffers for the output tile and
 *     the inputs and the partitioning that feeds the unrolled accesses),
 *     the unrolling bounded by SRCH_HLS_MAX_UNROLL.
 * A point is the vector of all knob values; it maps to a schedule
 * (srch_point_schedule) that lowers legally.  Neighbours differ in one
 * knob: a split knob of d parts has d(d-1) directions (move one prime
 * factor from part j to part i), a choice knob two (+1, -1).
 */
#ifndef FTC_SRCH_SPACE_H
#define FTC_SRCH_SPACE_H

#include <stdbool.h>
#include <stdint.h>

#include "cg.h"
#include "rt_error.h"
#include "te.h"

/* The version of the space's knobs and of the point <-> schedule mapping:
 * raise it when a point's text would mean another schedule.  The tuning db
 * replays records of another version instead of trusting their points. */
#define SRCH_SPACE_VERSION 4

/* The knobs of a space grow with the graph; a point's slots (the values of
 * every knob, SRCH_MAX_PARTS at most a knob) are a fixed array, so a
 * space needing more than SRCH_MAX_SLOTS of them is refused with an error
 * naming the stage where it overflows (a chain of 12 matmuls needs a few
 * hundred). */
#define SRCH_MAX_PARTS 4
#define SRCH_MAX_SLOTS 1024

typedef enum srch_knob_kind { SRCH_SPLIT, SRCH_CHOICE } srch_knob_kind;

/* HLS: copies of a stage's pipelined body (its unrolled loops) at most. */
#define SRCH_HLS_MAX_UNROLL 1024

/* What a knob decides (see srch_space.c for the schedule each value gives). */
typedef enum srch_role {
	SRCH_ROLE_SPLIT,   /* factors of one axis */
	SRCH_ROLE_ORDER,   /* reorder: which permutation of the loop groups */
	SRCH_ROLE_PAR,     /* CPU: 0 none, 1 parallel, 2 fuse two and parallel */
	SRCH_ROLE_VEC,     /* CPU: vectorize the innermost spatial loop */
	SRCH_ROLE_UNROLL,  /* CPU: 0 none, 1 reduce part 2, 2 also spatial part 2,
			    * 3 the last part of every spatial axis but the last */
	SRCH_ROLE_CW,      /* cache_write of the stage */
	SRCH_ROLE_CR,      /* cache_read of input `arg` (CPU: 1 at the first reduce
			    * loop, 2 at the last S0 loop) */
	SRCH_ROLE_PLACE,   /* root / compute_inline / compute_at consumer `arg` */
	SRCH_ROLE_BFUSE,   /* GPU: fuse the block loops into blockIdx.x */
	SRCH_ROLE_PIPE,    /* HLS: pipeline the innermost loop outside the unrolled ones (0)
			    * or the next one out (1) */
	SRCH_ROLE_II,      /* HLS: target II 1, 2 or 4 */
	SRCH_ROLE_PART,    /* HLS: partition the cache of input `arg` (-1: the output
			    * tile): 0 none, 1 cyclic, as few banks as the unrolled
			    * accesses need, 2 complete */
	SRCH_ROLE_RF,      /* CPU: rfactor the reduction: 0 none, 1 vector lanes of the
			    * innermost reduce axis, 2 also threads over the outermost */
	SRCH_ROLE_RF_ROWS, /* CPU, with RF 1: 1, 4 or 8 rows of the last spatial axis
			    * at a time, each its own register of lanes */
	SRCH_ROLE_DEINT    /* CPU: de-interleave tensor `arg`, read at a stride along
			    * the vectorized axis: 0 no, 1 a copy at the outermost
			    * loop, 2 at the first reduce loop */
} srch_role;

#define SRCH_MAX_PRODS 4

typedef struct srch_knob {
	srch_knob_kind kind;
	char name[96];     /* e.g. "C.i split", "C reorder", "Ip placement" */
	int stage;         /* te stage id */
	int axis;          /* split: axis of the stage */
	int nparts;        /* split: d */
	int64_t extent;    /* split: the axis extent */
	int nchoices;      /* choice: number of values */
	int slot;          /* first slot of the knob in a point */
	char key[136];     /* the name in srch_point_print text: "C.i", "C.par", "C.cr.A" */
	srch_role role;
	int arg;           /* CR: the tensor's stage id; PLACE: the consumer's; else -1 */
	int nprods;        /* split: the allowed products of the factors, ascending: */
	int64_t prods[SRCH_MAX_PRODS]; /* the extent, then rounded-up extents */
	double nvalues;    /* number of values (factor tuples or choices) */
} srch_knob;

typedef struct srch_space {
	const te_graph *g;         /* borrowed */
	cg_target_kind target;
	int nknobs, cap_knobs;
	srch_knob *knobs;          /* owned: srch_space_release */
	int nslots;                /* slots of a point */
	double log10_size;         /* log10 of the number of points */
	int max_threads_per_block; /* GPU limits */
	int64_t max_shared_bytes;
	int threads;               /* CPU: threads of parallel loops (RF's parts) */
	int vector_bits;           /* CPU: the target's widest vector (RF's lanes) */
} srch_space;

/* A point: slot values (split factors, or one choice per choice knob). */
typedef struct srch_point {
	int64_t v[SRCH_MAX_SLOTS];
} srch_point;

/* A direction: knob k, and for splits "move factor from part `from` to
 * part `to`", for choices `to` = +1 or -1 (from unused). */
typedef struct srch_dir {
	int knob;
	int from, to;
} srch_dir;

/* Build the space of g (borrowed for the space's life) for a target kind
 * (a cuda space with the default limits: 1024 threads a block, 48 KiB of
 * shared memory; a CPU space's RF parts: the online cores).  Release with srch_space_release, also after a failure. */
int srch_space_init(srch_space *s, const te_graph *g, cg_target_kind target, rt_error *err);
/* The same for target t, a cuda space pruned by t's limits, a CPU space's
 * RF parts t's threads (0: the online cores) and its RF lanes one of t's
 * vectors (srch_space_init: 512 bits). */
int srch_space_init_for(srch_space *s, const te_graph *g, const cg_target *t, rt_error *err);
void srch_space_release(srch_space *s);
/* A new zeroed knob at the end of s's knobs (for spaces built by hand);
 * NULL when out of memory. */
srch_knob *srch_space_add_knob(srch_space *s);

/* The naive point: every split (1, ..., 1, extent) style "no tiling"
 * (on HLS (1, extent, 1): nothing unrolled), every choice 0 = the naive
 * schedule (on HLS with its innermost loop pipelined). */
void srch_point_default(const srch_space *s, srch_point *p);
/* A uniformly random point from a splitmix64 state (on GPU, uniform among
 * the valid points, by rejection). */
void srch_point_random(const srch_space *s, uint64_t *rng, srch_point *p);
/* Whether p lies in the space: splits multiply to an allowed product,
 * choices in range, on GPU the target's limits hold (threads per block,
 * shared bytes, grid and block dimensions), on HLS every stage unrolls
 * into at most SRCH_HLS_MAX_UNROLL copies. */
bool srch_point_valid(const srch_space *s, const srch_point *p);
bool srch_point_equal(const srch_space *s, const srch_point *a, const srch_point *b);
uint64_t srch_point_hash(const srch_space *s, const srch_point *p);

/* Number of directions (sum over knobs), and the i-th one. */
int srch_space_ndirs(const srch_space *s);
srch_dir srch_space_dir(const srch_space *s, int i);
/* Move p one step along d into q; false when the move leaves the space. */
bool srch_point_move(const srch_space *s, const srch_point *p, srch_dir d, srch_point *q);

/* Normalised features of p for the Q-network (log2 factors scaled to
 * [0, 1], one-hot choices): at most `max` values; returns the count. */
int srch_point_features(const srch_space *s, const srch_point *p, double *out, int max);
int srch_space_nfeatures(const srch_space *s);

/* The schedule text of p (malloc'd), legal for lir_lower; NULL when out of
 * memory.  Printing the config as "knob=value" text and parsing it back
 * (srch_point_print / srch_point_parse) is the round trip. */
char *srch_point_schedule(const srch_space *s, const srch_point *p);
char *srch_point_print(const srch_space *s, const srch_point *p);
int srch_point_parse(const srch_space *s, const char *text, srch_point *p, rt_error *err);

#endif
