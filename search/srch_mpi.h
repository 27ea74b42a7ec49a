/*
 * srch_mpi: measuring a tune's candidates on the other ranks of an MPI
 * job (built only when meson finds MPI: FTC_MPI is defined then).
 *
 * Under `mpirun -n N ftc tune ...` rank 0 keeps everything that decides
 * (the explorers, the task scheduler, the tuning db) and ranks 1..N-1
 * measure.  Rank 0's measurer of a workload (srch_mpi_measurer) sends
 * each candidate to a free worker: the workload as canonical text, the
 * target string, the schedule text and how to measure it (srch_how);
 * the worker parses the workload once (it keeps a few), measures with its
 * own CPU measurer (lowered, compiled and timed in a forked, time-limited
 * child, as a local tune does) and sends back the record: status,
 * reason, times, runs, checked or not.  measure_batch hands out a batch,
 * one candidate per free worker, and gives each record to the loop as it
 * arrives, which stores it in the db at once.
 *
 * A worker's target is its own host: `cpu` means the CPU of the node the
 * worker runs on.  At setup every worker says its host name and the
 * fingerprint of its hardware (tdb_fingerprint); the workers of one job
 * must agree (the records go to the db under that fingerprint, apart
 * from other hardware), else the setup fails naming both hosts.
 *
 * Messages (tags): rank 0 -> worker HELLO (target string), JOB (id,
 * workload, schedule, how), STOP; worker -> rank 0 HELLO (host, CPU,
 * features, cores, fingerprint), RECORD (id, the record).  Each is one
 * MPI_BYTE message packed with the helpers in srch_mpi.c, at most
 * SRCH_MPI_MAX_BYTES.  A rank that dies ends the job (Open MPI's
 * default): what rank 0 stored before stays in the db, and the same
 * command resumes.
 */
#ifndef FTC_SRCH_MPI_H
#define FTC_SRCH_MPI_H

#include <isl/ctx.h>
#include <stdbool.h>

#include "cg.h"
#include "srch_measurer.h"

/* One message, at most (a workload's text, a schedule, a record). */
#define SRCH_MPI_MAX_BYTES (16 << 20)
/* Workloads a worker keeps parsed, with their inputs and reference
 * outputs (a multi-workload tune goes back and forth). */
#define SRCH_MPI_CACHE 8

/* A rank waiting for a message looks this often, seconds: from MIN,
 * doubling, to MAX (srch_mpi.c: wait_for). */
#define SRCH_MPI_POLL_MIN 50e-6
#define SRCH_MPI_POLL_MAX 5e-3

typedef struct srch_mpi srch_mpi;

/*
 * Whether this process was started by an MPI launcher (mpirun, srun):
 * the launcher's environment says so.  A plain `ftc tune` never
 * initialises MPI.
 */
bool srch_mpi_launched(void);

/*
 * Initialise MPI (MPI_Init_thread, funneled) and return the job's handle
 * (__isl_give: end it with srch_mpi_end), or NULL with err set.
 */
srch_mpi *srch_mpi_begin(int *argc, char ***argv, rt_error *err);
/* Rank 0: tell every worker to stop.  Every rank: MPI_Finalize, free c
 * (__isl_take; NULL is fine).  Returns NULL. */
srch_mpi *srch_mpi_end(srch_mpi *c);

/* End the whole job now with exit status `status` (a worker that cannot
 * go on: rank 0 would wait for it forever). */
void srch_mpi_abort(srch_mpi *c, int status);

/* This process's rank, and the number of workers (ranks - 1). */
int srch_mpi_rank(const srch_mpi *c);
int srch_mpi_workers(const srch_mpi *c);

/*
 * A worker's life: measure what rank 0 sends until it says stop.
 * 0 after STOP, or -1 with err set (out of memory, a message it cannot
 * read): the caller ends the job.
 */
int srch_mpi_serve(srch_mpi *c, rt_error *err);

/*
 * Rank 0: a measurer of g (verified; borrowed for the measurer's life) on
 * target string `target` as the user wrote it (each worker parses it on
 * its own host: "cpu" is the worker's CPU) that measures on the workers
 * of c (borrowed), srch_mpi_workers at a time.  It asks the workers for
 * their hardware and takes theirs as its target's (m->t.cpu, features,
 * m->cores).  NULL with err set (not a CPU target, out of memory, no
 * workers, workers of different hardware).
 */
srch_measurer *srch_mpi_measurer(srch_mpi *c, const te_graph *g, const char *target, rt_error *err);

/* Rank 0: how many records each worker sent so far, as "host (N), ..."
 * into out[n] (the summary's line of who measured). */
void srch_mpi_hosts(const srch_mpi *c, char *out, size_t n);

/* Rank 0: the mean seconds per job beyond the worker's own time for it
 * (sending, packing, the record's way back, waiting to be read); 0
 * before the first. */
double srch_mpi_overhead(const srch_mpi *c);

#endif
