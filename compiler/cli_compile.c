/*
 * ftc compile FILE.te -o DIR: lower a .te file, compile it for the target
 * and write a C library into DIR: NAME.h (the prototype and what it
 * computes), NAME.o, libNAME.a (NAME.o with a GNU/SysV symbol index, written
 * here: no `ar` is needed) and a copy of libftcrt.a, the runtime it calls.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cg.h"
#include "cli.h"
#include "cli_cuda.h"
#include "cli_hls.h"
#include "cli_verify.h"
#include "lir.h"
#include "lower.h"
#include "sched.h"
#include "srch_db.h"

#ifndef FTC_VERSION
#define FTC_VERSION "0.1.0"
#endif

static const char compile_help[] =
	"usage: ftc compile FILE.te [-D NAME=VALUE]... [--schedule FILE] [--target T]\n"
	"                   [--name NAME] [--emit-llvm] [--db PATH] -o DIR\n"
	"\n"
	"Lower FILE.te under a schedule, compile it for the target with LLVM and\n"
	"write a C library into DIR (created if missing):\n"
	"  NAME.h       int NAME(const float *A, ..., float *C): inputs then outputs,\n"
	"               row-major, with what it computes, the target and the schedule\n"
	"  NAME.o       the code\n"
	"  libNAME.a    NAME.o as a static archive with a symbol index\n"
	"  libftcrt.a   the runtime the code calls (thread pool, buffers)\n"
	"  NAME.ll      the optimized LLVM IR (with --emit-llvm)\n"
	"Link: cc prog.c -I DIR DIR/libNAME.a DIR/libftcrt.a -lpthread -lm\n"
	"\n"
	"The schedule is the one given with --schedule, otherwise the tuning db's\n"
	"best for this workload and target ('ftc tune' puts it there; a record of\n"
	"an older ftc is replayed and checked first), otherwise the naive one\n"
	"(every stage's loops in axis order).\n"
	"\n"
	"What is written is checked first: the compiled kernel runs once, in a\n"
	"child process, on seeded random inputs at the compiled shapes, and every\n"
	"output is compared with the reference interpreter (the tolerance of\n"
	"'ftc run'); a mismatch, a crash or a hang writes nothing (exit 1).  The\n"
	"check is limited to 1.6e10 FLOP (about 100 s of the interpreter; the\n"
	"kernel exists only for its shapes, so no smaller one can stand in);\n"
	"beyond it compile refuses unless --no-check.  For cuda and hls, which\n"
	"the CPU cannot run, the loop IR the back end translates is interpreted\n"
	"instead (limit 1e9 FLOP).  No output may be an input (the .te file, the\n"
	"schedule, the tuning db, the runtime copied), and each file is written\n"
	"whole or not at all (a temporary file renamed into place).\n"
	"\n"
	"  -o DIR            the output directory (required)\n"
	"  --name NAME       the function's name, a C identifier (default: FILE's stem);\n"
	"                    not a keyword nor a name of libc, libm, libpthread or libftcrt\n"
	"  --schedule FILE   the schedule to compile\n"
	"  --target T        cpu [-mcpu=NAME] [-mattr=FEATURES] [-threads=N] (default: the host);\n"
	"                    cuda [-arch=sm_NN]: NAME.ptx, NAME.h, NAME.c (a launcher; docs/cuda.md);\n"
	"                    hls [-part=P] [-clock=F]: NAME.c, NAME.h, NAME_tb.c, NAME.tcl (docs/hls.md)\n"
	"  --emit-llvm       also write NAME.ll\n"
	"  --no-check        write the library without checking it against the reference\n"
	"  --db PATH         the tuning db (default: $FTC_DB, else ~/.cache/ftc/tuning.db)\n"
	"  -D NAME=VALUE     replace the value of param NAME\n"
	"  -h, --help        show this help\n"
	"\n"
	"The runtime copied is $FTC_RUNTIME_LIB when set, else the build tree's,\n"
	"else the installed one; when none is found compile warns and goes on.\n";

/* ---- a growable byte buffer ---- */

typedef struct sbuf {
	char *p;
	size_t n, cap;
	bool oom;
} sbuf;

static void sb_put(sbuf *b, const void *s, size_t n)
{
	if (b->oom)
		return;
	if (b->cap - b->n < n + 1) {
		size_t cap = (b->cap + n + 1) * 2;
		char *p = realloc(b->p, cap);

		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static void sb_str(sbuf *b, const char *s)
{
	sb_put(b, s, strlen(s));
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void sb_printf(sbuf *b, const char *fmt, ...)
{
	char small[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->oom = true;
	} else if ((size_t)n < sizeof(small)) {
		sb_put(b, small, n);
	} else {
		char *big = malloc((size_t)n + 1);

		if (!big) {
			b->oom = true;
			return;
		}
		va_start(ap, fmt);
		vsnprintf(big, (size_t)n + 1, fmt, ap);
		va_end(ap);
		sb_put(b, big, n);
		free(big);
	}
}

/*
 * Append `text` as lines of a C block comment, each prefixed by `prefix`;
 * a "*" "/" inside the text is broken up so that it cannot end the comment.
 */
static void sb_comment_lines(sbuf *b, const char *prefix, const char *text)
{
	while (*text) {
		size_t len = strcspn(text, "\n");

		sb_str(b, prefix);
		for (size_t i = 0; i < len; i++) {
			sb_put(b, text + i, 1);
			if (text[i] == '*' && i + 1 < len && text[i + 1] == '/')
				sb_put(b, " ", 1);
		}
		sb_put(b, "\n", 1);
		text += len + (text[len] == '\n');
	}
}

/* ---- names ---- */

/*
 * The C parameter name of tensor `tensor`: its own name, with '_' appended
 * while that is a keyword, a type the header uses or another tensor's name.
 */
static void param_name(const te_graph *g, const char *tensor, char *out, size_t n)
{
	bool renamed = false;

	snprintf(out, n, "%s", tensor);
	while (strlen(out) + 1 < n &&
	       (cli_is_keyword(out) || strcmp(out, "int32_t") == 0 || (renamed && te_graph_find(g, out)))) {
		strcat(out, "_");
		renamed = true;
	}
}

static const char *c_type(te_dtype t)
{
	switch (t) {
	case TE_F32:
		return "float";
	case TE_F64:
		return "double";
	case TE_I32:
		return "int32_t";
	default:
		return NULL;
	}
}

/* Whether stage s is a parameter, and in which pass: inputs 0, outputs 1. */
static bool is_param(const te_stage *s, int pass)
{
	return pass == 0 ? s->kind == TE_STAGE_INPUT : s->kind == TE_STAGE_COMPUTE && s->is_output;
}

/* ---- the header ---- */

typedef struct lib_info {
	const char *name;        /* the function */
	const char *target;      /* canonical target string */
	const char *sched_file;  /* NULL: naive */
	const char *sched_text;  /* canonical schedule text, NULL: naive */
	bool unchecked;          /* --no-check: written without the check */
} lib_info;

/* The prototype's parameter list, one a line, into b. */
static void header_params(sbuf *b, const te_graph *g)
{
	int n = te_graph_nstages(g), k = 0, np = 0;
	char pname[TE_MAX_NAME + 16];

	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < n; i++)
			np += is_param(te_graph_stage(g, i), pass);
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < n; i++) {
			const te_stage *s = te_graph_stage(g, i);

			if (!is_param(s, pass))
				continue;
			param_name(g, s->name, pname, sizeof(pname));
			sb_printf(b, "\t%s%s *%s /* ", pass == 0 ? "const " : "", c_type(s->type), pname);
			for (int d = 0; d < s->rank; d++)
				sb_printf(b, "[%lld]", (long long)s->shape[d]);
			if (s->rank == 0)
				sb_str(b, "scalar");
			sb_printf(b, " */%s\n", ++k < np ? "," : ");");
		}
}

/*
 * The text of NAME.h for graph g (every parameter of f32, f64 or i32).
 * Returns a malloc'd string, or NULL when out of memory.
 */
static char *header_text(const te_graph *g, const lib_info *li)
{
	sbuf b = {0};
	char hash[17], *te = te_graph_print(g, false);
	bool need_stdint = false;

	if (!te)
		return NULL;
	te_graph_hash(g, hash);
	for (int i = 0; i < te_graph_nstages(g); i++) {
		const te_stage *s = te_graph_stage(g, i);

		need_stdint |= (is_param(s, 0) || is_param(s, 1)) && s->type == TE_I32;
	}
	sb_printf(&b, "/*\n * %s.h: generated by ftc %s (ftc compile); do not edit.\n *\n", li->name,
		  FTC_VERSION);
	sb_printf(&b, " * %s computes, in ftc's tensor-expression language:\n *\n", li->name);
	sb_comment_lines(&b, " *   ", te);
	sb_printf(&b, " *\n * workload hash: %s\n * target:        %s\n", hash, li->target);
	sb_printf(&b, " * checked:       %s\n", li->unchecked ? "no (ftc compile --no-check)"
				: "against ftc's reference interpreter at these shapes, seeded inputs");
	if (li->sched_text && li->sched_text[0]) {
		sb_str(&b, " * schedule:      ");
		sb_comment_lines(&b, "", li->sched_file);
		sb_comment_lines(&b, " *   ", li->sched_text);
	} else {
		sb_printf(&b, " * schedule:      naive (every stage's loops in axis order)\n");
	}
	sb_printf(&b,
		  " *\n"
		  " * Parameters are the inputs, then the outputs, in the order they are\n"
		  " * defined above.  Each is a dense row-major array (the last index varies\n"
		  " * fastest) of the shape noted beside it; it needs no alignment beyond\n"
		  " * its element type's and must not overlap any other.  Inputs are only\n"
		  " * read; every element of every output is written.  %s returns 0, or 1\n"
		  " * when a temporary buffer could not be allocated (the outputs are then\n"
		  " * unspecified).  Parallel loops run on libftcrt's thread pool\n"
		  " * (FTC_NUM_THREADS caps its size).\n"
		  " *\n"
		  " * Link: cc ... lib%s.a libftcrt.a -lpthread -lm\n"
		  " */\n",
		  li->name, li->name);
	sb_printf(&b, "#ifndef FTC_GENERATED_%s_H\n#define FTC_GENERATED_%s_H\n\n", li->name, li->name);
	if (need_stdint)
		sb_str(&b, "#include <stdint.h>\n\n");
	sb_str(&b, "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n");
	sb_printf(&b, "int %s(\n", li->name);
	header_params(&b, g);
	sb_printf(&b,
		  "\n/* The same call with args[i] holding the i-th parameter above. */\n"
		  "int %s_packed(void **args);\n"
		  "\n#ifdef __cplusplus\n}\n#endif\n\n#endif\n",
		  li->name);
	free(te);
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

/* ---- the static archive ---- */

/* The n-byte integer at p, little- or big-endian. */
static uint64_t rd(const unsigned char *p, int n, bool be)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v |= (uint64_t)p[be ? i : n - 1 - i] << (8 * (n - 1 - i));
	return v;
}

/* Whether [off, off + len) lies inside a file of `size` bytes. */
static bool in_file(uint64_t off, uint64_t len, size_t size)
{
	return off <= size && len <= size - off;
}

/*
 * The names of the symbols an ELF object (32 or 64 bits, either byte
 * order) defines with global or weak binding, each NUL-terminated, appended
 * to `names`; *count gets their number.  These are what a linker looks up
 * in an archive's index.  0, or -1 when `obj` is not an ELF file this reads.
 */
static int elf_defined_globals(const unsigned char *obj, size_t size, sbuf *names, int *count)
{
	bool is64, be;
	uint64_t shoff, shentsize, shnum;
	int w;

	*count = 0;
	if (size < 52 || memcmp(obj, "\177ELF", 4) != 0 || (obj[4] != 1 && obj[4] != 2) ||
	    (obj[5] != 1 && obj[5] != 2))
		return -1;
	is64 = obj[4] == 2;
	be = obj[5] == 2;
	w = is64 ? 8 : 4;
	if (is64 && size < 64)
		return -1;
	shoff = rd(obj + (is64 ? 0x28 : 0x20), w, be);
	shentsize = rd(obj + (is64 ? 0x3a : 0x2e), 2, be);
	shnum = rd(obj + (is64 ? 0x3c : 0x30), 2, be);
	if (shentsize < (uint64_t)(is64 ? 64 : 40) || !in_file(shoff, shentsize, size))
		return -1;
	if (shnum == 0) /* extended numbering: the count is section 0's size */
		shnum = rd(obj + shoff + (is64 ? 32 : 20), w, be);
	if (shnum > (size - shoff) / shentsize)
		return -1;
	for (uint64_t i = 0; i < shnum; i++) {
		const unsigned char *sh = obj + shoff + i * shentsize, *str;
		uint64_t off, sz, link, entsize, stroff, strsz;

		if (rd(sh + 4, 4, be) != 2) /* SHT_SYMTAB */
			continue;
		off = rd(sh + (is64 ? 24 : 16), w, be);
		sz = rd(sh + (is64 ? 32 : 20), w, be);
		link = rd(sh + (is64 ? 40 : 24), 4, be);
		entsize = rd(sh + (is64 ? 56 : 36), w, be);
		if (link >= shnum || entsize < (uint64_t)(is64 ? 24 : 16) || !in_file(off, sz, size))
			return -1;
		stroff = rd(obj + shoff + link * shentsize + (is64 ? 24 : 16), w, be);
		strsz = rd(obj + shoff + link * shentsize + (is64 ? 32 : 20), w, be);
		if (!in_file(stroff, strsz, size))
			return -1;
		str = obj + stroff;
		for (uint64_t j = 1; j < sz / entsize; j++) {
			const unsigned char *sym = obj + off + j * entsize;
			uint64_t name = rd(sym, 4, be);
			int bind = (is64 ? sym[4] : sym[12]) >> 4;
			uint64_t shndx = rd(sym + (is64 ? 6 : 14), 2, be);

			/* STB_GLOBAL, STB_WEAK, STB_GNU_UNIQUE; defined */
			if ((bind != 1 && bind != 2 && bind != 10) || shndx == 0 || name == 0 ||
			    name >= strsz || !memchr(str + name, '\0', strsz - name))
				continue;
			sb_put(names, str + name, strlen((const char *)str + name) + 1);
			++*count;
		}
	}
	return 0;
}

/*
 * Append one 60-byte ar member header: name, date, uid, gid, mode (octal),
 * size; fields that are NULL stay blank, as in GNU ar's "//" header.
 */
static void ar_member_header(sbuf *b, const char *name, const char *owner, const char *mode, size_t size)
{
	char h[96]; /* 60 used: ar_build keeps sizes under 10 digits */

	snprintf(h, sizeof(h), "%-16.16s%-12s%-6s%-6s%-8s%-10zu`\n", name, owner ? owner : "",
		 owner ? owner : "", owner ? owner : "", mode ? mode : "", size);
	sb_put(b, h, 60);
}

/* Append a member's data padded to an even length, as ar requires. */
static void ar_member_data(sbuf *b, const void *data, size_t size)
{
	sb_put(b, data, size);
	if (size % 2)
		sb_put(b, "\n", 1);
}

static void put_be32(sbuf *b, uint64_t v)
{
	unsigned char p[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
			      (unsigned char)(v >> 8), (unsigned char)v};

	sb_put(b, p, 4);
}

/*
 * A GNU/SysV ar archive holding one object, `member` (e.g. "gemm.o"), with
 * the symbol index "/" naming each of the object's `nsyms` defined global
 * symbols `syms` (NUL-separated), and a "//" long-name table when the
 * member's name does not fit in 15 characters; byte for byte what
 * `ar rcsD` (GNU binutils, deterministic mode) writes.  0, or -1 when out of
 * memory or over 4 GiB.
 */
static int ar_build(sbuf *ar, const char *member, const void *obj, size_t size,
		    const sbuf *syms, int nsyms)
{
	size_t symsz = 4 + 4 * (size_t)nsyms + syms->n, longsz = strlen(member) + 2;
	bool longname = strlen(member) + 1 > 16;
	uint64_t objoff;
	char shortname[17];

	symsz += symsz % 2;
	longsz += longsz % 2;
	objoff = 8 + 60 + symsz + (longname ? 60 + longsz : 0);
	if (objoff + 60 + size > UINT32_MAX)
		return -1;
	sb_str(ar, "!<arch>\n");
	ar_member_header(ar, "/", "0", "0", symsz);
	put_be32(ar, nsyms);
	for (int i = 0; i < nsyms; i++)
		put_be32(ar, objoff);
	sb_put(ar, syms->p ? syms->p : "", syms->n);
	sb_put(ar, "\0", (4 + syms->n) % 2);
	if (longname) {
		ar_member_header(ar, "//", NULL, NULL, longsz);
		sb_str(ar, member);
		sb_put(ar, "/\n\n", longsz - strlen(member));
		ar_member_header(ar, "/0", "0", "644", size);
	} else {
		snprintf(shortname, sizeof(shortname), "%s/", member);
		ar_member_header(ar, shortname, "0", "644", size);
	}
	ar_member_data(ar, obj, size);
	return ar->oom ? -1 : 0;
}

/* ---- files ---- */

/* The largest libftcrt.a compile copies (it is about 1 MiB). */
#define CLI_MAX_RUNTIME_BYTES ((size_t)64 << 20)
/* The largest object read back: an ar member's offsets are 32 bits. */
#define CLI_MAX_OBJECT_BYTES ((size_t)UINT32_MAX)

/* One file of the library, its text or bytes prepared before any is
 * written.  `name` is the file's name in the output directory. */
typedef struct lib_file {
	char name[TE_MAX_NAME + 16];
	void *data;
	size_t size;
} lib_file;

/* DIR/FILE, malloc'd (NULL when out of memory). */
static char *path_join(const char *dir, const char *file)
{
	size_t n = strlen(dir) + strlen(file) + 2;
	char *p = malloc(n);

	if (p)
		snprintf(p, n, "%s/%s", dir, file);
	return p;
}

/* Like `mkdir -p dir`.  0, or 1 after printing why not. */
static int make_dirs(const char *dir)
{
	char *p = strdup(dir);
	struct stat st;

	if (!p) {
		fprintf(stderr, "ftc compile: out of memory\n");
		return 1;
	}
	for (char *s = p + 1;; s++) {
		char c = *s;

		if (c != '/' && c != '\0')
			continue;
		*s = '\0';
		if (mkdir(p, 0777) != 0 && errno != EEXIST) {
			fprintf(stderr, "ftc compile: cannot create directory '%s': %s\n", p, strerror(errno));
			free(p);
			return 1;
		}
		*s = c;
		if (!c)
			break;
	}
	free(p);
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "ftc compile: '%s' is not a directory\n", dir);
		return 1;
	}
	if (access(dir, W_OK | X_OK) != 0) {
		fprintf(stderr, "ftc compile: cannot write into '%s': %s\n", dir, strerror(errno));
		return 1;
	}
	return 0;
}

/*
 * Write DIR/FILE atomically (cli_write_atomic).  0, or 1 after printing
 * why not.
 */
static int write_file(const char *dir, const char *file, const void *data, size_t n)
{
	char *path = path_join(dir, file);
	int rc;

	if (!path) {
		fprintf(stderr, "ftc compile: out of memory\n");
		return 1;
	}
	rc = cli_write_atomic("compile", path, data, n);
	free(path);
	return rc;
}

static const char *const runtime_paths[] = {
#ifdef FTC_RUNTIME_LIB
	FTC_RUNTIME_LIB, /* the build tree's */
#endif
#ifdef FTC_RUNTIME_LIB_INSTALLED
	FTC_RUNTIME_LIB_INSTALLED,
#endif
	NULL,
};

/*
 * The path of libftcrt.a to copy: $FTC_RUNTIME_LIB when set (and only
 * that; *from_env set), else the build tree's, else the installed one;
 * NULL when none is readable.
 */
static const char *find_runtime(bool *from_env)
{
	const char *env = getenv("FTC_RUNTIME_LIB");

	*from_env = env && env[0];
	if (*from_env)
		return env;
	for (int i = 0; runtime_paths[i]; i++)
		if (access(runtime_paths[i], R_OK) == 0)
			return runtime_paths[i];
	return NULL;
}

/*
 * The bytes of libftcrt.a into f (f->data NULL when none was found: a
 * warning says where to get it).  A runtime that exists but cannot be
 * read, is not a regular file (FTC_RUNTIME_LIB=/dev/zero) or is over
 * CLI_MAX_RUNTIME_BYTES is an error.  0, or 1 after printing.
 */
static int load_runtime(lib_file *f)
{
	bool from_env;
	const char *rt = find_runtime(&from_env);

	snprintf(f->name, sizeof(f->name), "libftcrt.a");
	f->data = NULL;
	if (rt && access(rt, F_OK) == 0) {
		if ((f->data = cli_read_bytes(rt, CLI_MAX_RUNTIME_BYTES, &f->size)))
			return 0;
		fprintf(stderr, "ftc compile: %s'%s' is not a runtime library ftc can copy\n",
			from_env ? "FTC_RUNTIME_LIB=" : "", rt);
		return 1;
	}
	fprintf(stderr, "ftc compile: warning: libftcrt.a not found; looked at:\n");
	for (int i = 0; from_env ? i < 1 : runtime_paths[i] != NULL; i++)
		fprintf(stderr, "  %s\n", from_env ? rt : runtime_paths[i]);
	fprintf(stderr, "  The library needs it on the link line: take runtime/libftcrt.a from an\n"
			"  ftc build directory or the one 'meson install' puts in LIBDIR, or set\n"
			"  FTC_RUNTIME_LIB to its path.\n");
	return 0;
}

/*
 * Emit m as an object file (obj->data) and the archive holding it
 * (ar->data), named for `name`.  The object goes through a temporary file
 * in dir, removed after.  0, 1 for an error writing, 2 for an internal
 * error; the message is printed.
 */
static int object_and_archive(cg_module *m, const char *dir, const char *name, lib_file *obj, lib_file *ar)
{
	char file[TE_MAX_NAME + 16], *path;
	sbuf syms = {0}, a = {0};
	cli_wfile w;
	rt_error err;
	int rc = CLI_USER_ERROR, nsyms;

	rt_error_clear(&err);
	snprintf(file, sizeof(file), "%s.o", name);
	if (!(path = path_join(dir, file))) {
		fprintf(stderr, "ftc compile: out of memory\n");
		return CLI_USER_ERROR;
	}
	if (cli_wfile_open(&w, "compile", path))
		goto out;
	if (cg_module_emit_object(m, w.tmp, &err))
		fprintf(stderr, "ftc compile: cannot write '%s': %s\n", path, err.msg);
	else
		obj->data = cli_read_bytes(w.tmp, CLI_MAX_OBJECT_BYTES, &obj->size);
	cli_wfile_abort(&w);
	if (!obj->data)
		goto out;
	if (elf_defined_globals(obj->data, obj->size, &syms, &nsyms) || nsyms == 0) {
		fprintf(stderr, "ftc compile: internal error: the object file has no symbols to index\n");
		rc = CLI_INTERNAL_ERROR;
		goto out;
	}
	if (ar_build(&a, file, obj->data, obj->size, &syms, nsyms)) {
		fprintf(stderr, "ftc compile: out of memory, or the archive would be over 4 GiB\n");
		free(a.p);
		goto out;
	}
	ar->data = a.p;
	ar->size = a.n;
	rc = CLI_OK;
out:
	free(path);
	free(syms.p);
	return rc;
}

/* ---- the command ---- */

typedef struct compile_opts {
	cli_opts o;
	const char *outdir;   /* -o */
	const char *name;     /* --name */
	bool emit_llvm;
	bool no_check;        /* --no-check */
	/* the common options and the files, for cli_parse_common */
	char **rest, **files;
	int nrest, nfiles;
} compile_opts;

enum {
	OPT_OUT, OPT_NAME, OPT_EMIT_LLVM, OPT_NO_CHECK, OPT_DEFINE, OPT_SCHEDULE, OPT_TARGET, OPT_DB,
	OPT_HELP_SHORT, OPT_HELP
};

static const cli_optspec compile_specs[] = {
	{"-o", "--output", true},
	{NULL, "--name", true},
	{NULL, "--emit-llvm", false},
	{NULL, "--no-check", false},
	{"-D", "--define", true},
	{NULL, "--schedule", true},
	{NULL, "--target", true},
	{NULL, "--db", true},
	{"-h", NULL, false},
	{NULL, "--help", false},
};

static int compile_opt(int which, const char *value, void *ctx)
{
	compile_opts *c = ctx;

	switch (which) {
	case OPT_OUT:
		c->outdir = value;
		return 0;
	case OPT_NAME:
		c->name = value;
		return 0;
	case OPT_EMIT_LLVM:
		c->emit_llvm = true;
		return 0;
	case OPT_NO_CHECK:
		c->no_check = true;
		return 0;
	default: /* a common option: hand it on, spelled canonically */
		c->rest[c->nrest++] = (char *)(compile_specs[which].long_name ? compile_specs[which].long_name
									   : compile_specs[which].short_name);
		if (value)
			c->rest[c->nrest++] = (char *)value;
		return 0;
	}
}

static int compile_arg(const char *arg, void *ctx)
{
	compile_opts *c = ctx;

	c->files[c->nfiles++] = (char *)arg;
	return 0;
}

/*
 * Parse argv: this command's own options here, the common ones (and the
 * file) by cli_parse_common.  0, or 1 after printing the error.
 */
static int compile_parse(int argc, char **argv, compile_opts *c)
{
	int rc = 1;

	memset(c, 0, sizeof(*c));
	c->rest = calloc(2 * (size_t)argc + 2, sizeof(char *));
	c->files = calloc((size_t)argc + 1, sizeof(char *));
	if (!c->rest || !c->files) {
		fprintf(stderr, "ftc compile: out of memory\n");
		goto out;
	}
	c->rest[c->nrest++] = "compile";
	if (cli_parse_args("compile", argc, argv, compile_specs,
			   sizeof(compile_specs) / sizeof(compile_specs[0]), compile_opt, compile_arg, c))
		goto out;
	c->rest[c->nrest++] = "--";
	for (int i = 0; i < c->nfiles; i++)
		c->rest[c->nrest++] = c->files[i];
	rc = cli_parse_common("compile", c->nrest, c->rest, &c->o, CLI_SCHEDULE | CLI_TARGET | CLI_DB);
	c->o.no_check = c->no_check;
out:
	free(c->rest);
	free(c->files);
	c->rest = c->files = NULL;
	return rc;
}

/*
 * Lower g under o's schedule into a function named `name`, verified (as
 * cli_lower_graph does, with the name given).  On success *sched_text gets
 * the canonical schedule text, or NULL for the naive schedule (caller
 * frees).  NULL after printing the error.
 */
static lir_func *lower_named(const cli_opts *o, const te_graph *g, isl_ctx *ctx,
			     const char *name, const char *db_text, char **sched_text)
{
	sch_schedule *s = NULL;
	char *ssrc = NULL;
	rt_error err;
	lir_func *f = NULL;

	*sched_text = NULL;
	rt_error_clear(&err);
	if (cli_load_schedule(o, &s, &ssrc))
		goto out;
	if (!s && db_text && db_text[0] && !(s = sch_parse(db_text, &err))) {
		fprintf(stderr, "%s: error: the tuning db's schedule does not parse: %s\n", o->file, err.msg);
		goto out;
	}
	if (s && !(*sched_text = sch_print(s))) {
		fprintf(stderr, "ftc compile: out of memory\n");
		goto out;
	}
	f = lir_lower(g, s, ctx, name, &err);
	if (f && lir_verify(f, &err)) {
		fprintf(stderr, "%s: internal error: the lowered loop IR is invalid: %s\n", o->file, err.msg);
		f = lir_func_free(f);
	} else if (!f) {
		cli_lower_error(o, ssrc, &err);
	}
out:
	if (!f) {
		free(*sched_text);
		*sched_text = NULL;
	}
	sch_free(s);
	free(ssrc);
	return f;
}

/*
 * The tuning db's best schedule for g on t when no --schedule is given:
 * *text is NULL (none: the naive schedule) or the schedule text.  0, or 1
 * after printing the error.
 */
static int db_schedule(const cli_opts *o, const te_graph *g, isl_ctx *ctx, const cg_target *t, char **text)
{
	tdb *db = NULL;
	srch_db sd;
	rt_error err;
	double gflops = 0;
	int found = 0;

	*text = NULL;
	if (o->schedule)
		return 0;
	if (cli_db_open(o, false, &db))
		return 1;
	rt_error_clear(&err);
	if (db && (srch_db_init(&sd, db, g, t, FTC_VERSION, "compile", 0, &err) ||
		   (found = srch_db_best(&sd, ctx, t, text, &gflops, &err)) < 0)) {
		fprintf(stderr, "ftc compile: the tuning db: %s\n", err.msg);
		tdb_close(db);
		return 1;
	}
	tdb_close(db);
	if (found)
		fprintf(stderr, "ftc compile: using the tuning db's best schedule (%.2f GFLOP/s when measured)\n", gflops);
	else
		fprintf(stderr, "ftc compile: no tuned schedule for this workload and target in the tuning db: "
				"compiling the naive schedule ('ftc tune %s' finds a fast one)\n", o->file);
	return 0;
}

/* The files compile writes for each target kind: printf formats of NAME. */
static const char *const cpu_outputs[] = {"%s.h", "%s.o", "lib%s.a", "libftcrt.a", "%s.ll", NULL};
static const char *const cuda_outputs[] = {"%s.ptx", "%s.h", "%s.c", NULL};
static const char *const hls_outputs[] = {"%s.c", "%s.h", "%s_tb.c", "%s.tcl", NULL};

/*
 * Refuse, before anything is read or written, an output file that is one
 * of the inputs (the .te file, the schedule, the tuning db, the runtime
 * copied) or an existing file that is not a regular file.  0, or 1 after
 * printing.
 */
static int check_outputs(const compile_opts *c, cg_target_kind k, const char *name)
{
	const char *const *outs = k == CG_TARGET_CUDA ? cuda_outputs : k == CG_TARGET_HLS ? hls_outputs : cpu_outputs;
	char db[4096], file[TE_MAX_NAME + 16], *path;
	bool from_env;
	cli_input in[4] = {
		{"the .te file", c->o.file},
		{"the schedule", c->o.schedule},
		{"the tuning db", NULL},
		{"the runtime library", k == CG_TARGET_CPU ? find_runtime(&from_env) : NULL},
	};
	int rc = 0;

	if (!c->o.schedule && k == CG_TARGET_CPU && cli_db_path(&c->o, db, sizeof(db)) == 0)
		in[2].path = db;
	for (int i = 0; outs[i] && rc == 0; i++) {
		snprintf(file, sizeof(file), outs[i], name);
		if (!(path = path_join(c->outdir, file))) {
			fprintf(stderr, "ftc compile: out of memory\n");
			return 1;
		}
		rc = cli_check_output("compile", "the output", path, in, 4);
		free(path);
	}
	return rc;
}

/* Every parameter must have a C element type.  0, or 1 after printing. */
static int check_param_types(const cli_opts *o, const te_graph *g)
{
	for (int i = 0; i < te_graph_nstages(g); i++) {
		const te_stage *s = te_graph_stage(g, i);

		if ((is_param(s, 0) || is_param(s, 1)) && !c_type(s->type)) {
			fprintf(stderr, "%s: error: tensor '%s' of type %s cannot be a parameter of a C library\n",
				o->file, s->name, te_dtype_name(s->type));
			return 1;
		}
	}
	return 0;
}

/* Write the n files into dir, each atomically.  An exit status. */
static int write_files(const char *dir, const lib_file *files, int n)
{
	for (int i = 0; i < n; i++)
		if (files[i].data && write_file(dir, files[i].name, files[i].data, files[i].size)) {
			if (i > 0)
				fprintf(stderr, "ftc compile: the library in '%s' is incomplete\n", dir);
			return CLI_USER_ERROR;
		}
	return CLI_OK;
}

/* Set file f to the malloc'd text (taken), named NAME+suffix.  An exit
 * status (out of memory when text is NULL). */
static int text_file(lib_file *f, const char *name, const char *suffix, char *text)
{
	snprintf(f->name, sizeof(f->name), "%s%s", name, suffix);
	f->data = text;
	f->size = text ? strlen(text) : 0;
	if (text)
		return CLI_OK;
	fprintf(stderr, "ftc compile: out of memory\n");
	return CLI_INTERNAL_ERROR;
}

enum { F_OBJ, F_AR, F_H, F_LL, F_RT, NFILES };

/* Prepare every file of the library, then write them into the output
 * directory.  An exit status. */
static int write_library(const compile_opts *c, const te_graph *g, cg_module *m, const lib_info *li)
{
	lib_file files[NFILES];
	int rc;

	memset(files, 0, sizeof(files));
	snprintf(files[F_OBJ].name, sizeof(files[F_OBJ].name), "%s.o", li->name);
	snprintf(files[F_AR].name, sizeof(files[F_AR].name), "lib%s.a", li->name);
	if ((rc = load_runtime(&files[F_RT])) == CLI_OK && (rc = make_dirs(c->outdir)) == CLI_OK &&
	    (rc = object_and_archive(m, c->outdir, li->name, &files[F_OBJ], &files[F_AR])) == CLI_OK &&
	    (rc = text_file(&files[F_H], li->name, ".h", header_text(g, li))) == CLI_OK &&
	    (!c->emit_llvm || (rc = text_file(&files[F_LL], li->name, ".ll", cg_module_print(m))) == CLI_OK) &&
	    (rc = write_files(c->outdir, files, NFILES)) == CLI_OK)
		printf("wrote %s/: %s.h %s.o lib%s.a%s%s%s\n", c->outdir, li->name, li->name, li->name,
		       files[F_RT].data ? " libftcrt.a" : "", c->emit_llvm ? " " : "",
		       c->emit_llvm ? files[F_LL].name : "");
	for (int i = 0; i < NFILES; i++)
		free(files[i].data);
	return rc;
}

/* Run the JIT'd kernel j against the reference (cli_check_kernel) at the
 * workload's own shape.  An exit status; the verdict is printed. */
static int check_jit(const compile_opts *c, const te_graph *g, cg_jit *j)
{
	cg_packed_fn fn = cg_jit_entry(j);
	cli_bufs b;
	cli_verdict v;
	int rc;

	memset(&v, 0, sizeof(v));
	if ((rc = cli_bufs_alloc(&b, c->o.file, g, c->o.seed)) == CLI_OK)
		rc = cli_check_kernel(c->o.file, g, &b, cli_run_packed, &fn, CLI_CHECK_TIMEOUT_S, NULL, &v);
	cli_bufs_free(&b);
	cli_print_verdict(&c->o, rc, &v, "the compiled kernel");
	return rc;
}

/* Compile f, JIT it and check it (check_jit); *ir gets the module's
 * LLVM IR (caller frees).  An exit status. */
static int compile_and_check(const compile_opts *c, const te_graph *g, const lir_func *f, const cg_target *t,
			     char **ir)
{
	rt_error err;
	cg_module *m;
	cg_jit *j;
	int rc;

	rt_error_clear(&err);
	if (!(m = cg_cpu_compile(f, t, &err))) {
		fprintf(stderr, "%s: internal error: %s\n", c->o.file, err.msg);
		return CLI_INTERNAL_ERROR;
	}
	if (!(*ir = cg_module_print(m))) {
		cg_module_free(m);
		fprintf(stderr, "ftc compile: out of memory\n");
		return CLI_INTERNAL_ERROR;
	}
	if (!(j = cg_jit_new(m, &err))) { /* m is consumed */
		fprintf(stderr, "%s: internal error: %s\n", c->o.file, err.msg);
		return CLI_INTERNAL_ERROR;
	}
	rc = check_jit(c, g, j);
	cg_jit_free(j);
	return rc;
}

/*
 * Compile f for the target, check it, write the library.  The check runs
 * a JIT of one compilation, the object file is emitted from a second one
 * of the same loop IR; both modules' LLVM IR must be the same text, so
 * the code checked is the code written.  An exit status.
 */
static int compile_and_write(const compile_opts *c, const te_graph *g, const lir_func *f,
			     const cg_target *t, lib_info *li)
{
	char ts[256], *ir = NULL, *ir2 = NULL;
	rt_error err;
	cg_module *m = NULL;
	bool skip;
	int rc;

	rt_error_clear(&err);
	if (cli_check_allowed(&c->o, g, CLI_CHECK_MAX_FLOPS, "the reference interpreter", &skip))
		return CLI_USER_ERROR;
	li->unchecked = skip;
	cg_target_string(t, ts, sizeof(ts));
	li->target = ts;
	if (!skip && (rc = compile_and_check(c, g, f, t, &ir)))
		goto out;
	rc = CLI_INTERNAL_ERROR;
	if (!(m = cg_cpu_compile(f, t, &err))) {
		fprintf(stderr, "%s: internal error: %s\n", c->o.file, err.msg);
		goto out;
	}
	if (ir && (!(ir2 = cg_module_print(m)) || strcmp(ir, ir2) != 0)) {
		fprintf(stderr, "%s: internal error: two compilations of the same loop IR differ\n", c->o.file);
		goto out;
	}
	printf("compiled %s for %s, schedule %s\n", li->name, ts, li->sched_file ? li->sched_file : "naive");
	rc = write_library(c, g, m, li);
	if (rc == CLI_OK)
		printf("link: cc prog.c -I %s %s/lib%s.a %s/libftcrt.a -lpthread -lm\n", c->outdir, c->outdir,
		       li->name, c->outdir);
out:
	cg_module_free(m);
	free(ir);
	free(ir2);
	return rc;
}

int cli_compile(int argc, char **argv)
{
	compile_opts c;
	isl_ctx *ctx = NULL;
	te_graph *g = NULL;
	lir_func *f = NULL;
	char *src = NULL, *sched_text = NULL, *db_text = NULL, stem[TE_MAX_NAME], whybuf[256];
	const char *why;
	lib_info li = {0};
	cg_target t;
	rt_error err;
	int rc = CLI_USER_ERROR;

	if (compile_parse(argc, argv, &c))
		goto out;
	if (c.o.help) {
		fputs(compile_help, stdout);
		rc = CLI_OK;
		goto out;
	}
	if (!c.outdir || !c.outdir[0]) {
		fprintf(stderr, "ftc compile: no output directory: give -o DIR (see 'ftc compile --help')\n");
		goto out;
	}
	cli_stem(c.o.file, stem, sizeof(stem));
	li.name = c.name ? c.name : stem;
	if ((why = cli_bad_function_name(li.name, whybuf, sizeof(whybuf)))) {
		fprintf(stderr, "ftc compile: the function name '%s' %s%s\n", li.name, why,
			c.name ? "" : "; choose another with --name");
		goto out;
	}
	rt_error_clear(&err);
	if (cg_target_parse(c.o.target ? c.o.target : "cpu", &t, &err)) {
		fprintf(stderr, "ftc compile: %s\n", err.msg);
		goto out;
	}
	if (check_outputs(&c, t.kind, li.name))
		goto out;
	if (t.kind == CG_TARGET_CUDA) {
		/* --schedule FILE, else the naive GPU schedule (no GPU records in the db yet) */
		if ((ctx = cli_isl_ctx()) && (g = cli_load(&c.o, ctx, &src)) && check_param_types(&c.o, g) == 0 &&
		    (!c.o.schedule || (sched_text = cli_read_file(c.o.schedule))))
			rc = cli_compile_cuda(&c.o, g, ctx, &t, c.outdir, li.name, sched_text);
		goto out;
	}
	if (t.kind == CG_TARGET_HLS) {
		/* --schedule FILE, else the naive pipelined schedule (no HLS records in the db yet) */
		if ((ctx = cli_isl_ctx()) && (g = cli_load(&c.o, ctx, &src)) && check_param_types(&c.o, g) == 0 &&
		    (!c.o.schedule || (sched_text = cli_read_file(c.o.schedule))))
			rc = cli_compile_hls(&c.o, g, ctx, &t, c.outdir, li.name, sched_text);
		goto out;
	}
	if (t.kind != CG_TARGET_CPU) {
		fprintf(stderr, "ftc compile: the %s back end is not available to ftc compile in this version\n",
			cg_target_kind_name(t.kind));
		goto out;
	}
	li.sched_file = c.o.schedule;
	if (!(ctx = cli_isl_ctx()) || !(g = cli_load(&c.o, ctx, &src)) || check_param_types(&c.o, g) ||
	    db_schedule(&c.o, g, ctx, &t, &db_text) ||
	    !(f = lower_named(&c.o, g, ctx, li.name, db_text, &sched_text)))
		goto out;
	if (db_text && !li.sched_file)
		li.sched_file = "the tuning db's best";
	li.sched_text = sched_text;
	rc = compile_and_write(&c, g, f, &t, &li);
out:
	lir_func_free(f);
	free(sched_text);
	free(db_text);
	free(src);
	te_graph_free(g);
	isl_ctx_free(ctx);
	cli_opts_release(&c.o);
	return rc;
}
