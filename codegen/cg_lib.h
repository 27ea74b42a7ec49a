/*
 * cg_lib: what the back ends' library writers share (codegen-private):
 * C comments into an rt_buf, the C names and types of a kernel's parameters,
 * and the files of a cg_library.
 */
#ifndef FTC_CG_LIB_H
#define FTC_CG_LIB_H

#include <stdbool.h>
#include <stddef.h>

#include "cg_backend.h"
#include "cg_cuda.h"
#include "rt_buf.h"
#include "te.h"

#ifndef FTC_VERSION
#define FTC_VERSION "0.1.0"
#endif

/* `text` as lines of a C block comment, each after `prefix`; a "*" "/"
 * inside is broken up so that it cannot end the comment. */
void cg_buf_comment(rt_buf *b, const char *prefix, const char *text);

/* Whether stage s is a parameter, and in which pass: inputs 0, outputs 1. */
bool cg_is_param(const te_stage *s, int pass);

/* The C type of an element ("float", "double", "int32_t"); NULL for none. */
const char *cg_c_type(te_dtype t);

/* The C parameter name of `tensor`: its name, with '_' appended while that
 * is a keyword, a type the generated files use or (once renamed) another
 * tensor's name. */
void cg_param_name(const te_graph *g, const char *tensor, char *out, size_t n);

/* Add the file PREFIX NAME SUFFIX (e.g. "lib", "gemm", ".a") with `data`
 * (n bytes, taken; NULL: out of memory) to lib.  0, or -1 with err set
 * (data freed). */
int cg_library_add(cg_library *lib, const char *prefix, const char *name, const char *suffix, void *data, size_t n,
		   rt_error *err);

/* The same for a NUL-terminated text, NAME SUFFIX. */
int cg_library_add_text(cg_library *lib, const char *name, const char *suffix, char *text, rt_error *err);

/* ---- the back ends' writers ---- */

/* cpu: NAME.h, NAME.o, libNAME.a (and NAME.ll when li->emit_llvm) of
 * module m.  0, or -1 with err set. */
int cg_cpu_library(cg_module *m, const cg_lib_info *li, cg_library *lib, rt_error *err);

/* cuda: NAME.ptx, NAME.h and NAME.c (the launcher) of program p.  0, or -1
 * with err set. */
int cg_cuda_library(const cg_cuda_prog *p, const cg_lib_info *li, cg_library *lib, rt_error *err);

#endif
