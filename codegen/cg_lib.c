/*
 * cg_lib: the library writers' shared pieces (cg_lib.h).
 */
#include "cg_lib.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cg_buf_comment(rt_buf *b, const char *prefix, const char *text)
{
	while (*text) {
		size_t len = strcspn(text, "\n");

		rt_buf_str(b, prefix);
		for (size_t i = 0; i < len; i++) {
			rt_buf_put(b, text + i, 1);
			if (text[i] == '*' && i + 1 < len && text[i + 1] == '/')
				rt_buf_put(b, " ", 1);
		}
		rt_buf_put(b, "\n", 1);
		text += len + (text[len] == '\n');
	}
}

static const char *const c_keywords[] = {
	/* C11 */
	"auto", "break", "case", "char", "const", "continue", "default", "do", "double",
	"else", "enum", "extern", "float", "for", "goto", "if", "inline", "int", "long",
	"register", "restrict", "return", "short", "signed", "sizeof", "static", "struct",
	"switch", "typedef", "union", "unsigned", "void", "volatile", "while", "_Alignas",
	"_Alignof", "_Atomic", "_Bool", "_Complex", "_Generic", "_Imaginary", "_Noreturn",
	"_Static_assert", "_Thread_local",
	/* C23 */
	"alignas", "alignof", "bool", "constexpr", "false", "nullptr", "static_assert",
	"thread_local", "true", "typeof", "typeof_unqual", "_BitInt", "_Decimal32",
	"_Decimal64", "_Decimal128",
};

/* Those of C++, where the headers are also meant to be usable. */
static const char *const cxx_keywords[] = {
	"and", "and_eq", "asm", "bitand", "bitor", "catch", "char8_t", "char16_t",
	"char32_t", "class", "compl", "concept", "consteval", "constinit", "const_cast",
	"co_await", "co_return", "co_yield", "decltype", "delete", "dynamic_cast",
	"explicit", "export", "friend", "mutable", "namespace", "new", "noexcept", "not",
	"not_eq", "operator", "or", "or_eq", "private", "protected", "public",
	"reinterpret_cast", "requires", "static_cast", "template", "this", "throw", "try",
	"typeid", "typename", "using", "virtual", "wchar_t", "xor", "xor_eq",
};

static bool in_list(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}

const char *cg_keyword(const char *s)
{
	if (in_list(s, c_keywords, sizeof(c_keywords) / sizeof(c_keywords[0])))
		return "C";
	if (in_list(s, cxx_keywords, sizeof(cxx_keywords) / sizeof(cxx_keywords[0])))
		return "C++";
	return NULL;
}

bool cg_is_param(const te_stage *s, int pass)
{
	return pass == 0 ? s->kind == TE_STAGE_INPUT : s->kind == TE_STAGE_COMPUTE && s->is_output;
}

const char *cg_c_type(te_dtype t)
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

void cg_param_name(const te_graph *g, const char *tensor, char *out, size_t n)
{
	bool renamed = false;

	snprintf(out, n, "%s", tensor);
	while (strlen(out) + 1 < n && (cg_keyword(out) || strcmp(out, "int32_t") == 0 ||
				       strcmp(out, "uintptr_t") == 0 || (renamed && te_graph_find(g, out)))) {
		strcat(out, "_");
		renamed = true;
	}
}

void cg_library_release(cg_library *lib)
{
	for (int i = 0; i < lib->nfiles; i++)
		free(lib->files[i].data);
	free(lib->notes);
	free(lib->warnings);
	memset(lib, 0, sizeof(*lib));
}

int cg_library_add(cg_library *lib, const char *prefix, const char *name, const char *suffix, void *data, size_t n,
		   rt_error *err)
{
	cg_file *f = &lib->files[lib->nfiles];

	if (!data)
		return rt_error_set(err, 0, 0, "out of memory writing %s%s%s", prefix, name, suffix);
	if (lib->nfiles == CG_LIB_MAX_FILES) {
		free(data);
		return rt_error_set(err, 0, 0, "%s%s%s: a library has at most %d files (CG_LIB_MAX_FILES)", prefix,
				    name, suffix, CG_LIB_MAX_FILES);
	}
	snprintf(f->name, sizeof(f->name), "%s%s%s", prefix, name, suffix);
	f->data = data;
	f->size = n;
	lib->nfiles++;
	return 0;
}

int cg_library_add_text(cg_library *lib, const char *name, const char *suffix, char *text, rt_error *err)
{
	return cg_library_add(lib, "", name, suffix, text, text ? strlen(text) : 0, err);
}
