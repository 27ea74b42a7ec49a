/*
 * cli_names: which names a generated function may take.  The function
 * NAME and NAME_packed are external symbols of a library that is linked
 * with libftcrt, libc, libm and libpthread, and NAME is declared in a
 * header included by C and C++ programs: a name that is a keyword, that
 * the C library defines (`free`, `main`, `expf` -- a kernel named expf
 * would call itself where it means the exponential), or that the runtime
 * defines would not compile, not link, or link to the wrong code.
 *
 * The names refused: C and C++ keywords; identifiers reserved to the
 * implementation (`__x`, `_X`); the functions of the C standard library
 * (C11 clause 7, the table below, math functions with their f and l
 * forms); the prefixes of library families (pthread_, posix_, atomic_,
 * thrd_, mtx_, cnd_, tss_); the runtime's prefixes (ftc_rt_, rt_); and
 * any symbol the host's libc, libm or libpthread defines (dlsym), which
 * catches POSIX and GNU functions (read, fork, mmap, ...).  The C
 * standard's "future library directions" (str*, mem*, is*, to* followed
 * by a lowercase letter) are not refused unless a library defines the
 * name: refusing `total` or `isotropic` would be pedantry without a clash.
 */
#include "cli.h"
#include "cg_backend.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

/* The C standard library's functions and objects (C11 clause 7, without
 * math.h and complex.h, below), and `main`. */
static const char *const libc_names[] = {
	"main",
	/* ctype.h */
	"isalnum", "isalpha", "isblank", "iscntrl", "isdigit", "isgraph", "islower", "isprint",
	"ispunct", "isspace", "isupper", "isxdigit", "tolower", "toupper",
	/* errno.h, fenv.h, inttypes.h, locale.h, setjmp.h, signal.h */
	"errno", "feclearexcept", "fegetexceptflag", "feraiseexcept", "fesetexceptflag",
	"fetestexcept", "fegetround", "fesetround", "fegetenv", "feholdexcept", "fesetenv",
	"feupdateenv", "imaxabs", "imaxdiv", "strtoimax", "strtoumax", "wcstoimax", "wcstoumax",
	"setlocale", "localeconv", "setjmp", "longjmp", "signal", "raise",
	/* stdio.h */
	"remove", "rename", "tmpfile", "tmpnam", "fclose", "fflush", "fopen", "freopen", "setbuf",
	"setvbuf", "fprintf", "fscanf", "printf", "scanf", "snprintf", "sprintf", "sscanf",
	"vfprintf", "vfscanf", "vprintf", "vscanf", "vsnprintf", "vsprintf", "vsscanf", "fgetc",
	"fgets", "fputc", "fputs", "getc", "getchar", "gets", "putc", "putchar", "puts", "ungetc",
	"fread", "fwrite", "fgetpos", "fseek", "fsetpos", "ftell", "rewind", "clearerr", "feof",
	"ferror", "perror", "stdin", "stdout", "stderr",
	/* stdlib.h */
	"atof", "atoi", "atol", "atoll", "strtod", "strtof", "strtold", "strtol", "strtoll",
	"strtoul", "strtoull", "rand", "srand", "aligned_alloc", "calloc", "free", "malloc",
	"realloc", "abort", "atexit", "at_quick_exit", "exit", "_Exit", "getenv", "quick_exit",
	"system", "bsearch", "qsort", "abs", "labs", "llabs", "div", "ldiv", "lldiv", "mblen",
	"mbtowc", "wctomb", "mbstowcs", "wcstombs",
	/* string.h */
	"memcpy", "memmove", "strcpy", "strncpy", "strcat", "strncat", "memcmp", "strcmp",
	"strcoll", "strncmp", "strxfrm", "memchr", "strchr", "strcspn", "strpbrk", "strrchr",
	"strspn", "strstr", "strtok", "memset", "strerror", "strlen",
	/* threads.h, time.h */
	"call_once", "clock", "difftime", "mktime", "time", "timespec_get", "asctime", "ctime",
	"gmtime", "localtime", "strftime",
};

/* math.h and complex.h functions; each also with a trailing f and l. */
static const char *const libm_names[] = {
	"acos", "asin", "atan", "atan2", "cos", "sin", "tan", "acosh", "asinh", "atanh", "cosh",
	"sinh", "tanh", "exp", "exp2", "expm1", "frexp", "ilogb", "ldexp", "log", "log10", "log1p",
	"log2", "logb", "modf", "scalbn", "scalbln", "cbrt", "fabs", "hypot", "pow", "sqrt", "erf",
	"erfc", "lgamma", "tgamma", "ceil", "floor", "nearbyint", "rint", "lrint", "llrint",
	"round", "lround", "llround", "trunc", "fmod", "remainder", "remquo", "copysign", "nan",
	"nextafter", "nexttoward", "fdim", "fmax", "fmin", "fma",
	"cacos", "casin", "catan", "ccos", "csin", "ctan", "cacosh", "casinh", "catanh", "ccosh",
	"csinh", "ctanh", "cexp", "clog", "cabs", "cpow", "csqrt", "carg", "cimag", "conj",
	"cproj", "creal",
};

/* Prefixes of library families, and of the runtime's symbols. */
static const char *const library_prefixes[] = {
	"pthread_", "posix_", "atomic_", "thrd_", "mtx_", "cnd_", "tss_",
};
static const char *const runtime_prefixes[] = {"ftc_rt_", "rt_"};

/* The libraries a generated library is linked with, looked up by dlsym. */
static const char *const host_libs[] = {"libc.so.6", "libm.so.6", "libpthread.so.0"};

static bool in_list(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}

#define IN_LIST(s, list) in_list(s, list, sizeof(list) / sizeof(list[0]))

/* Whether s is a math function, or one with a trailing f or l. */
static bool is_libm(const char *s)
{
	size_t n = strlen(s);
	char base[TE_MAX_NAME];

	if (IN_LIST(s, libm_names))
		return true;
	if (n < 2 || n >= sizeof(base) || (s[n - 1] != 'f' && s[n - 1] != 'l'))
		return false;
	memcpy(base, s, n - 1);
	base[n - 1] = '\0';
	return IN_LIST(base, libm_names);
}

/* The host library defining symbol s, or NULL.  RTLD_NOLOAD: only a
 * library already in ftc's process is asked (ftc links libc, libm and
 * libpthread), so nothing is loaded. */
static const char *host_library_of(const char *s)
{
	for (size_t i = 0; i < sizeof(host_libs) / sizeof(host_libs[0]); i++) {
		void *h = dlopen(host_libs[i], RTLD_LAZY | RTLD_NOLOAD);
		bool found = h && dlsym(h, s) != NULL;

		if (h)
			dlclose(h);
		if (found)
			return host_libs[i];
	}
	return NULL;
}

/* Why the external symbol `sym` (NAME, or NAME_packed when `packed`)
 * would clash with a library, or NULL. */
static const char *clashes(const char *sym, bool packed, char *why, size_t n)
{
	const char *lib, *what = NULL;
	char host[96];

	if (strcmp(sym, "main") == 0)
		what = "the entry point of every C program";
	else if (IN_LIST(sym, libc_names))
		what = "a function or object of the C standard library";
	else if (is_libm(sym))
		what = "a function of the C math library";
	else if ((lib = host_library_of(sym)) && snprintf(host, sizeof(host), "a symbol of the host's %s, "
									       "which the library links with", lib) > 0)
		what = host;
	if (!what)
		return NULL;
	if (packed)
		snprintf(why, n, "would also define '%s', %s", sym, what);
	else
		snprintf(why, n, "is %s", what);
	return why;
}

/* A C identifier of at most TE_MAX_NAME - 1 characters?  Or why not. */
static const char *bad_identifier(const char *name)
{
	if (!name[0] || (name[0] >= '0' && name[0] <= '9'))
		return "is not a C identifier";
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_'))
			return "is not a C identifier";
	if (strlen(name) >= TE_MAX_NAME)
		return "is too long (at most 63 characters)";
	return NULL;
}

#define NPREFIX(list) (sizeof(list) / sizeof(list[0]))

/* Why name begins with one of the n prefixes (reserved to `owner`), or NULL. */
static const char *reserved_prefix(const char *name, const char *const *prefixes, size_t np, const char *owner,
				   char *why, size_t n)
{
	for (size_t i = 0; i < np; i++)
		if (strncmp(name, prefixes[i], strlen(prefixes[i])) == 0) {
			snprintf(why, n, "begins with '%s', a prefix reserved to %s", prefixes[i], owner);
			return why;
		}
	return NULL;
}

const char *cli_bad_function_name(const char *name, char *why, size_t n)
{
	char packed[TE_MAX_NAME + 8];
	const char *w;

	if ((w = bad_identifier(name)))
		return w;
	if ((w = cg_keyword(name)))
		return strcmp(w, "C") == 0 ? "is a C keyword" : "is a C++ keyword";
	if (name[0] == '_' && (name[1] == '_' || (name[1] >= 'A' && name[1] <= 'Z')))
		return "is reserved to the C implementation";
	if ((w = reserved_prefix(name, library_prefixes, NPREFIX(library_prefixes), "a family of C library functions",
				 why, n)) ||
	    (w = reserved_prefix(name, runtime_prefixes, NPREFIX(runtime_prefixes), "ftc's runtime (libftcrt)", why,
				 n)))
		return w;
	snprintf(packed, sizeof(packed), "%s_packed", name);
	if ((w = clashes(name, false, why, n)) || (w = clashes(packed, true, why, n)))
		return w;
	return NULL;
}
