#include "rt_isolate.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "rt_time.h"

/* The parent naps no longer than this between two looks at the child. */
#define RT_ISO_MAX_NAP_S 2e-3

typedef int (*rt_isolate_fn)(void *ctx, void *shm, size_t shm_size);

/* The child: make crashes quick and silent, run fn, exit with its value. */
static void __attribute__((noreturn))
child_main(rt_isolate_fn fn, void *ctx, void *shm, size_t shm_size, pid_t parent)
{
	static const int crash[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP, SIGSYS};
	struct rlimit no_core = {0, 0};
	sigset_t none;
	size_t i;
	int r;

	for (i = 0; i < sizeof(crash) / sizeof(crash[0]); i++)
		signal(crash[i], SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	setrlimit(RLIMIT_CORE, &no_core);
#ifdef __linux__
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0); /* no core, even to a core_pattern pipe */
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (getppid() != parent) /* the parent died before the line above */
		_exit(125);
#else
	(void)parent;
#endif
	r = fn(ctx, shm, shm_size);
	fflush(stdout);
	fflush(stderr);
	_exit(r == 0 ? 0 : r >= 1 && r <= 125 ? r : 125);
}

static void nap(double s)
{
	struct timespec ts = {0, (long)(s * 1e9)};

	nanosleep(&ts, NULL);
}

/*
 * Reap `pid`, killing it (and setting *killed) once `timeout_s` (> 0)
 * seconds have passed since `start`.  Polls with naps that double from
 * 20 us up to RT_ISO_MAX_NAP_S.  Returns 0 with the wait status in
 * *wstatus, or -1 with errno set when waitpid fails (the child is then
 * killed, if it still exists).
 */
static int reap(pid_t pid, double start, double timeout_s, int *wstatus, bool *killed)
{
	double wait = 20e-6;
	pid_t r;
	int error;

	for (;;) {
		r = waitpid(pid, wstatus, WNOHANG);
		if (r == pid)
			return 0;
		if (r < 0 && errno != EINTR)
			break;
		if (timeout_s > 0 && rt_now() - start >= timeout_s) {
			kill(pid, SIGKILL);
			*killed = true;
			while ((r = waitpid(pid, wstatus, 0)) < 0 && errno == EINTR)
				;
			return r == pid ? 0 : -1;
		}
		nap(wait);
		wait = fmin(2 * wait, RT_ISO_MAX_NAP_S);
	}
	error = errno;
	kill(pid, SIGKILL);
	errno = error;
	return -1;
}

/* Seconds as people write them: "2.0", "0.3", "0.25". */
static void fmt_seconds(char *buf, size_t size, double s)
{
	if (fabs(s * 10 - round(s * 10)) < 1e-9)
		snprintf(buf, size, "%.1f", s);
	else
		snprintf(buf, size, "%g", s);
}

/* Classify the wait status of a reaped child into res. */
static void classify(int wstatus, bool killed, double timeout_s, rt_isolate_result *res)
{
	char secs[32];

	if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) {
		res->status = RT_ISO_OK;
	} else if (WIFEXITED(wstatus)) {
		res->status = RT_ISO_EXIT;
		res->code = WEXITSTATUS(wstatus);
		snprintf(res->reason, sizeof(res->reason), "exited with status %d", res->code);
	} else if (killed && WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL) {
		res->status = RT_ISO_TIMEOUT;
		fmt_seconds(secs, sizeof(secs), timeout_s);
		snprintf(res->reason, sizeof(res->reason), "timed out after %s s", secs);
	} else if (WIFSIGNALED(wstatus)) {
		res->status = RT_ISO_SIGNAL;
		res->code = WTERMSIG(wstatus);
		snprintf(res->reason, sizeof(res->reason), "killed by signal %d (%s)", res->code,
			 strsignal(res->code));
	} else {
		res->status = RT_ISO_ERROR;
		snprintf(res->reason, sizeof(res->reason), "unexpected wait status 0x%x", wstatus);
	}
}

static int fail(rt_isolate_result *res, const char *what, int error)
{
	res->status = RT_ISO_ERROR;
	snprintf(res->reason, sizeof(res->reason), "%s failed: %s", what, strerror(error));
	return -1;
}

int rt_isolate_run(rt_isolate_fn fn, void *ctx, size_t shm_size, double timeout_s,
		   rt_isolate_result *res)
{
	pid_t parent = getpid(), pid;
	bool killed = false;
	double start;
	int wstatus;

	memset(res, 0, sizeof(*res));
	if (shm_size > 0) {
		res->shm =
		    mmap(NULL, shm_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (res->shm == MAP_FAILED) {
			res->shm = NULL;
			return fail(res, "mmap of the shared memory", errno);
		}
		res->shm_size = shm_size;
	}
	fflush(stdout);
	fflush(stderr);
	start = rt_now();
	pid = fork();
	if (pid < 0)
		return fail(res, "fork", errno);
	if (pid == 0)
		child_main(fn, ctx, res->shm, shm_size, parent);
	if (reap(pid, start, timeout_s, &wstatus, &killed))
		return fail(res, "waitpid", errno);
	res->seconds = rt_now() - start;
	classify(wstatus, killed, timeout_s, res);
	return res->status == RT_ISO_OK ? 0 : -1;
}

void rt_isolate_result_release(rt_isolate_result *res)
{
	if (res->shm)
		munmap(res->shm, res->shm_size);
	res->shm = NULL;
	res->shm_size = 0;
}
