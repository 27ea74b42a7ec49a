/*
 * fault_shim: an LD_PRELOAD library that makes the N-th allocation, the
 * N-th SQLite write or the N-th file write of a process fail, in the
 * manner of SQLite's own fault-injection tests (tests/fault/fault.sh
 * drives it).
 *
 *   FTC_FAULT=KIND:N[+]   KIND is alloc, isl, sqlite or write; the N-th event of
 *                         that kind fails (N >= 1); with '+', it and every
 *                         later one fail (a full disk).  Unset or "none":
 *                         count only.
 *   FTC_FAULT_REPORT=FILE at exit, append one line "alloc A isl I sqlite S
 *                         write W fired F" (events seen, faults injected) to
 *                         FILE.
 *   FTC_FAULT_TRACE=1     print a backtrace to stderr where a fault fires.
 *
 * Events, counted in the process that loaded the shim only (a forked child
 * neither counts nor fails: the tuner's measuring children are separate
 * processes with their own error paths; an exec'd program sees no
 * FTC_FAULT):
 *   alloc   malloc, calloc, realloc, aligned_alloc, posix_memalign called
 *           directly from the ftc executable or libsqlite3 (NULL, errno
 *           ENOMEM).  LLVM, the C++ library, GMP and libc's own callers
 *           (strdup, fopen) are left out: the first three abort on a
 *           failed allocation by design, which no caller can handle.
 *   isl     the same, called from libisl: isl reports most of them as
 *           errors (ftc sets ISL_ON_ERROR_CONTINUE), but not all (one in
 *           isl_ctx_alloc crashes isl 0.25 itself), so it is its own kind.
 *   sqlite  write, pwrite, pwrite64, fsync, fdatasync, ftruncate called from
 *           libsqlite3: fails with ENOSPC (EIO for the syncs).
 *   write   the same calls from anywhere else on a descriptor above 2 (e.g.
 *           LLVM writing an object file), rename, and fwrite, fputs, fputc,
 *           fprintf, vfprintf, fflush and fclose on a stream open for
 *           writing, but stdout and stderr: fails with ENOSPC, setting the stream's error flag
 *           (fclose still closes the stream, as a real one does).
 *
 * Under AddressSanitizer the shim must come first in LD_PRELOAD (before
 * libasan.so, with ASAN_OPTIONS=verify_asan_link_order=0) so that its
 * malloc is the one called; it forwards to the next definition (ASan's)
 * found with dlsym(RTLD_NEXT).  The shim itself is built without
 * sanitizers.
 */
#undef _FILE_OFFSET_BITS /* pwrite and pwrite64 are both defined here */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <link.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#define FS_MAX_RANGES 32      /* executable segments of the watched objects */
#define FS_BOOT_BYTES 65536   /* allocations made while resolving dlsym */
#define FS_STREAM_ERR 0x20    /* glibc's _IO_ERR_SEEN flag of a FILE */
#define FS_STREAM_RO 0x8      /* glibc's _IO_NO_WRITES: opened for reading */

enum fs_kind { FS_ALLOC, FS_ISL, FS_SQLITE, FS_WRITE, FS_NKINDS, FS_NONE = -1 };
enum fs_origin { FS_OTHER, FS_EXE, FS_ISL_LIB, FS_SQLITE_LIB };

typedef struct fs_range {
	uintptr_t lo, hi;
	enum fs_origin origin;
} fs_range;

/* The shim's whole state: it has to be global, it is a preload library
 * for one process.  Fixed before main; then only the counters change. */
static struct {
	bool armed;        /* set once the constructor has run */
	bool child;        /* in a forked child: pass everything through */
	int kind;          /* the kind to fail, or FS_NONE */
	long n;            /* fail the n-th event of kind */
	bool persist;      /* and every later one */
	bool trace;        /* FTC_FAULT_TRACE: a backtrace where one fires */
	long count[FS_NKINDS];
	long fired;
	char report[512];
	fs_range ranges[FS_MAX_RANGES];
	int nranges;
} fs;

static char fs_boot[FS_BOOT_BYTES] __attribute__((aligned(64)));
static size_t fs_boot_used;

/* ---- the next definitions ---- */

static void *(*next_malloc)(size_t);
static void *(*next_calloc)(size_t, size_t);
static void *(*next_realloc)(void *, size_t);
static void (*next_free)(void *);
static void *(*next_aligned_alloc)(size_t, size_t);
static int (*next_posix_memalign)(void **, size_t, size_t);
static bool fs_resolving;

/* Resolve the real allocator; allocations dlsym makes meanwhile come
 * from fs_boot and are never freed. */
static void fs_resolve(void)
{
	if (next_free || fs_resolving)
		return;
	fs_resolving = true;
	next_malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
	next_calloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "calloc");
	next_realloc = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
	next_aligned_alloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "aligned_alloc");
	next_posix_memalign = (int (*)(void **, size_t, size_t))dlsym(RTLD_NEXT, "posix_memalign");
	next_free = (void (*)(void *))dlsym(RTLD_NEXT, "free");
	fs_resolving = false;
}

static void *fs_boot_alloc(size_t n)
{
	size_t at = (fs_boot_used + 63) & ~(size_t)63;

	if (at + n > sizeof(fs_boot))
		return NULL;
	fs_boot_used = at + n;
	return fs_boot + at;
}

static bool fs_is_boot(const void *p)
{
	return (const char *)p >= fs_boot && (const char *)p < fs_boot + sizeof(fs_boot);
}

#define FS_NEXT(name) (next_##name ? next_##name : (fs_resolve(), next_##name))

static void *fs_sym(void **slot, const char *name)
{
	if (!*slot)
		*slot = dlsym(RTLD_NEXT, name);
	return *slot;
}

/* ---- who called, and whether this event fails ---- */

static enum fs_origin fs_origin_of(const void *addr)
{
	uintptr_t a = (uintptr_t)addr;

	for (int i = 0; i < fs.nranges; i++)
		if (a >= fs.ranges[i].lo && a < fs.ranges[i].hi)
			return fs.ranges[i].origin;
	return FS_OTHER;
}

/* Count an event of `kind`; true when it must fail. */
static bool fs_event(int kind)
{
	long k;

	if (!fs.armed || fs.child)
		return false;
	k = __atomic_add_fetch(&fs.count[kind], 1, __ATOMIC_RELAXED);
	if (kind != fs.kind || (k != fs.n && !(fs.persist && k > fs.n)))
		return false;
	__atomic_add_fetch(&fs.fired, 1, __ATOMIC_RELAXED);
	if (fs.trace) {
		void *frames[32];
		static const char msg[] = "fault_shim: injected a fault here:\n";

		(void)!write(2, msg, sizeof(msg) - 1);
		backtrace_symbols_fd(frames, backtrace(frames, 32), 2);
	}
	return true;
}

static bool fs_alloc_fails(const void *caller)
{
	enum fs_origin o = fs.armed ? fs_origin_of(caller) : FS_OTHER;

	if (o == FS_OTHER || !fs_event(o == FS_ISL_LIB ? FS_ISL : FS_ALLOC))
		return false;
	errno = ENOMEM;
	return true;
}

/* A write-like call on fd from caller: the sqlite or the write kind. */
static bool fs_fd_fails(int fd, const void *caller, int error)
{
	bool sqlite = fs.armed && fs_origin_of(caller) == FS_SQLITE_LIB;

	if ((!sqlite && fd <= 2) || !fs_event(sqlite ? FS_SQLITE : FS_WRITE))
		return false;
	errno = error;
	return true;
}

static bool fs_stream_fails(FILE *f)
{
	if (f == stdout || f == stderr || (f->_flags & FS_STREAM_RO) || !fs_event(FS_WRITE))
		return false;
	f->_flags |= FS_STREAM_ERR;
	errno = ENOSPC;
	return true;
}

/* ---- allocation ---- */

void *malloc(size_t n)
{
	if (!FS_NEXT(malloc))
		return fs_boot_alloc(n);
	return fs_alloc_fails(__builtin_return_address(0)) ? NULL : next_malloc(n);
}

void *calloc(size_t n, size_t size)
{
	if (!FS_NEXT(calloc))
		return size && n > SIZE_MAX / size ? NULL : fs_boot_alloc(n * size); /* static: zeroed */
	return fs_alloc_fails(__builtin_return_address(0)) ? NULL : next_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
	if (fs_is_boot(p)) {
		void *q = malloc(n);

		if (q)
			memcpy(q, p, n < (size_t)(fs_boot + sizeof(fs_boot) - (char *)p) ? n
				     : (size_t)(fs_boot + sizeof(fs_boot) - (char *)p));
		return q;
	}
	if (!FS_NEXT(realloc))
		return NULL;
	return n && fs_alloc_fails(__builtin_return_address(0)) ? NULL : next_realloc(p, n);
}

void free(void *p)
{
	if (!p || fs_is_boot(p))
		return;
	if (FS_NEXT(free))
		next_free(p);
}

void *aligned_alloc(size_t align, size_t n)
{
	if (!FS_NEXT(aligned_alloc))
		return NULL;
	return fs_alloc_fails(__builtin_return_address(0)) ? NULL : next_aligned_alloc(align, n);
}

int posix_memalign(void **out, size_t align, size_t n)
{
	if (!FS_NEXT(posix_memalign))
		return ENOMEM;
	return fs_alloc_fails(__builtin_return_address(0)) ? ENOMEM : next_posix_memalign(out, align, n);
}

/* ---- descriptors ---- */

static void *next_write, *next_pwrite, *next_pwrite64, *next_fsync, *next_fdatasync, *next_ftruncate,
	*next_rename;

ssize_t write(int fd, const void *buf, size_t n)
{
	ssize_t (*f)(int, const void *, size_t) = fs_sym(&next_write, "write");

	return fs_fd_fails(fd, __builtin_return_address(0), ENOSPC) ? -1 : f(fd, buf, n);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t at)
{
	ssize_t (*f)(int, const void *, size_t, off_t) = fs_sym(&next_pwrite, "pwrite");

	return fs_fd_fails(fd, __builtin_return_address(0), ENOSPC) ? -1 : f(fd, buf, n, at);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t at)
{
	ssize_t (*f)(int, const void *, size_t, off64_t) = fs_sym(&next_pwrite64, "pwrite64");

	return fs_fd_fails(fd, __builtin_return_address(0), ENOSPC) ? -1 : f(fd, buf, n, at);
}

int fsync(int fd)
{
	int (*f)(int) = fs_sym(&next_fsync, "fsync");

	return fs_fd_fails(fd, __builtin_return_address(0), EIO) ? -1 : f(fd);
}

int fdatasync(int fd)
{
	int (*f)(int) = fs_sym(&next_fdatasync, "fdatasync");

	return fs_fd_fails(fd, __builtin_return_address(0), EIO) ? -1 : f(fd);
}

int ftruncate(int fd, off_t size)
{
	int (*f)(int, off_t) = fs_sym(&next_ftruncate, "ftruncate");

	return fs_fd_fails(fd, __builtin_return_address(0), ENOSPC) ? -1 : f(fd, size);
}

int rename(const char *from, const char *to)
{
	int (*f)(const char *, const char *) = fs_sym(&next_rename, "rename");

	return fs_fd_fails(3, __builtin_return_address(0), ENOSPC) ? -1 : f(from, to);
}

/* ---- streams ---- */

static void *next_fwrite, *next_fputs, *next_fputc, *next_vfprintf, *next_fflush, *next_fclose;

size_t fwrite(const void *p, size_t size, size_t n, FILE *s)
{
	size_t (*f)(const void *, size_t, size_t, FILE *) = fs_sym(&next_fwrite, "fwrite");

	return fs_stream_fails(s) ? 0 : f(p, size, n, s);
}

int fputs(const char *str, FILE *s)
{
	int (*f)(const char *, FILE *) = fs_sym(&next_fputs, "fputs");

	return fs_stream_fails(s) ? EOF : f(str, s);
}

int fputc(int c, FILE *s)
{
	int (*f)(int, FILE *) = fs_sym(&next_fputc, "fputc");

	return fs_stream_fails(s) ? EOF : f(c, s);
}

int vfprintf(FILE *s, const char *fmt, va_list ap)
{
	int (*f)(FILE *, const char *, va_list) = fs_sym(&next_vfprintf, "vfprintf");

	return fs_stream_fails(s) ? -1 : f(s, fmt, ap);
}

int fprintf(FILE *s, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vfprintf(s, fmt, ap);
	va_end(ap);
	return r;
}

int fflush(FILE *s)
{
	int (*f)(FILE *) = fs_sym(&next_fflush, "fflush");

	return s && fs_stream_fails(s) ? EOF : f(s);
}

int fclose(FILE *s)
{
	int (*f)(FILE *) = fs_sym(&next_fclose, "fclose");
	bool fail = fs_stream_fails(s);
	int r = f(s);

	return fail ? EOF : r;
}

/* ---- setup and the report ---- */

static int fs_add_object(struct dl_phdr_info *info, size_t size, void *arg)
{
	const char *name = info->dlpi_name;
	enum fs_origin o = !name[0] ? FS_EXE : strstr(name, "libsqlite3") ? FS_SQLITE_LIB
		: strstr(name, "libisl") ? FS_ISL_LIB : FS_OTHER;

	(void)size;
	(void)arg;
	for (int i = 0; i < info->dlpi_phnum && o != FS_OTHER && fs.nranges < FS_MAX_RANGES; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		fs.ranges[fs.nranges++] = (fs_range){info->dlpi_addr + ph->p_vaddr,
						     info->dlpi_addr + ph->p_vaddr + ph->p_memsz, o};
	}
	return 0;
}

static void fs_forked(void)
{
	fs.child = true;
}

/* Parse FTC_FAULT ("KIND:N[+]" or "none"); false when malformed. */
static bool fs_parse(const char *spec)
{
	static const char *const names[FS_NKINDS] = {"alloc", "isl", "sqlite", "write"};
	const char *colon = strchr(spec, ':');
	char *end;

	fs.kind = FS_NONE;
	if (!strcmp(spec, "none") || !spec[0])
		return true;
	for (int k = 0; k < FS_NKINDS && colon; k++)
		if ((size_t)(colon - spec) == strlen(names[k]) && !strncmp(spec, names[k], colon - spec))
			fs.kind = k;
	if (fs.kind == FS_NONE)
		return false;
	fs.n = strtol(colon + 1, &end, 10);
	fs.persist = *end == '+';
	return fs.n >= 1 && end != colon + 1 && (!*end || (*end == '+' && !end[1]));
}

__attribute__((constructor)) static void fs_init(void)
{
	const char *spec = getenv("FTC_FAULT"), *report = getenv("FTC_FAULT_REPORT");

	fs_resolve();
	if (!spec && !report)
		return;
	if (spec && !fs_parse(spec)) {
		static const char msg[] = "fault_shim: FTC_FAULT is not alloc|isl|sqlite|write:N[+] or none\n";

		(void)!write(2, msg, sizeof(msg) - 1);
		_exit(97);
	}
	snprintf(fs.report, sizeof(fs.report), "%s", report ? report : "");
	fs.trace = getenv("FTC_FAULT_TRACE") != NULL;
	if (fs.trace) {
		void *frame;

		backtrace(&frame, 1); /* loads libgcc now, not inside a fault */
	}
	dl_iterate_phdr(fs_add_object, NULL);
	pthread_atfork(NULL, NULL, fs_forked);
	unsetenv("FTC_FAULT");
	unsetenv("FTC_FAULT_REPORT");
	fs.armed = true;
}

__attribute__((destructor)) static void fs_fini(void)
{
	char line[160];
	FILE *f;

	if (!fs.armed || fs.child || !fs.report[0])
		return;
	fs.armed = false;
	snprintf(line, sizeof(line), "alloc %ld isl %ld sqlite %ld write %ld fired %ld\n", fs.count[FS_ALLOC],
		 fs.count[FS_ISL], fs.count[FS_SQLITE], fs.count[FS_WRITE], fs.fired);
	if ((f = fopen(fs.report, "a"))) {
		fputs(line, f);
		fclose(f);
	}
}
