/*
 * rt_isolate: run untrusted code (a freshly generated kernel) in a forked
 * child, so that a crash, a hang or a wild write cannot harm the caller.
 *
 * The child shares with the parent one anonymous MAP_SHARED mapping, for
 * results; everything else it changes stays in the child.  It runs with
 * the default action for the crash signals and without core dumps, and
 * ends with _exit, so no atexit handler (nor a leak checker) runs in it.
 * It dies with the parent, and stdout/stderr are flushed before the fork
 * so the child does not print the parent's pending output twice.
 */
#ifndef FTC_RT_ISOLATE_H
#define FTC_RT_ISOLATE_H

#include <stddef.h>

typedef enum rt_isolate_status {
	RT_ISO_OK,	/* fn returned 0 */
	RT_ISO_EXIT,	/* the child exited with a non-zero status */
	RT_ISO_SIGNAL,	/* the child was killed by a signal (a crash) */
	RT_ISO_TIMEOUT, /* the child ran past the timeout and was killed */
	RT_ISO_ERROR,	/* the child could not be run (mmap or fork failed) */
} rt_isolate_status;

typedef struct rt_isolate_result {
	rt_isolate_status status;
	int code;	  /* exit status for RT_ISO_EXIT, signal number for RT_ISO_SIGNAL */
	double seconds;	  /* wall time from fork to the child's end */
	char reason[256]; /* "exited with status 3", "killed by signal 11
			   * (Segmentation fault)", "timed out after 2.0 s"; "" when OK */
	void *shm;	  /* the shared mapping (NULL when shm_size is 0), valid
			   * until rt_isolate_result_release */
	size_t shm_size;
} rt_isolate_result;

/*
 * Fork a child that runs fn(ctx, shm, shm_size) and exits with its return
 * value (0 stays 0, 1..125 stay, any other value becomes 125); wait for it
 * at most `timeout_s` seconds (<= 0: no limit), then kill and reap it.
 * `shm` is shm_size zeroed bytes shared with the parent.  Fills `res`
 * (release it even on failure) and returns 0 when fn returned 0, -1
 * otherwise.  Safe to call from several threads at once; meanwhile the
 * process must not ignore SIGCHLD nor reap children with waitpid(-1)
 * (the child would be lost: RT_ISO_ERROR).
 */
int rt_isolate_run(int (*fn)(void *ctx, void *shm, size_t shm_size), void *ctx, size_t shm_size,
		   double timeout_s, rt_isolate_result *res);

/* Unmap the shared memory of `res`.  Accepts a result released before. */
void rt_isolate_result_release(rt_isolate_result *res);

#endif
