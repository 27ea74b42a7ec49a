/*
 * cg_target: target strings (each kind's options are its back end's,
 * cg_backend.c), the host CPU, LLVM target machines.
 */
#include <llvm-c/Error.h>
#include <llvm-c/Target.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cg_backend.h"
#include "cg_priv.h"

static void init_llvm(void)
{
	LLVMInitializeNativeTarget();
	LLVMInitializeNativeAsmPrinter();
}

/* The widest vector the features allow. */
static int vector_bits(const char *features)
{
	if (strstr(features, "+avx512f"))
		return 512;
	if (strstr(features, "+avx"))
		return 256;
	return 128;
}

int cg_target_host(cg_target *t, rt_error *err)
{
	char *cpu, *features;

	init_llvm();
	memset(t, 0, sizeof(*t));
	cpu = LLVMGetHostCPUName();
	features = LLVMGetHostCPUFeatures();
	if (!cpu || !features) {
		LLVMDisposeMessage(cpu);
		LLVMDisposeMessage(features);
		return rt_error_set(err, 0, 0, "LLVM cannot describe the host CPU");
	}
	snprintf(t->cpu, sizeof(t->cpu), "%s", cpu);
	snprintf(t->features, sizeof(t->features), "%s", features);
	LLVMDisposeMessage(cpu);
	LLVMDisposeMessage(features);
	t->threads = 0;
	t->vector_bits = vector_bits(t->features);
	return 0;
}

const char *cg_target_kind_name(cg_target_kind k)
{
	return cg_backend_of(k)->name;
}

int cg_target_parse(const char *text, cg_target *t, rt_error *err)
{
	char buf[4096], *tok, *save = NULL;
	const cg_backend *be;

	if (cg_target_host(t, err))
		return -1;
	if (!text)
		return 0;
	if (strlen(text) >= sizeof(buf))
		return rt_error_set(err, 0, 0, "target: the target string is over %zu bytes", sizeof(buf) - 1);
	snprintf(buf, sizeof(buf), "%s", text);
	tok = strtok_r(buf, " \t", &save);
	if (!tok || !(be = cg_backend_named(tok)))
		return rt_error_set(err, 0, 0, "unknown target '%s' (%s)", tok ? tok : "", cg_backend_names());
	t->kind = be->kind;
	be->defaults(t);
	while ((tok = strtok_r(NULL, " \t", &save)))
		if (be->parse_opt(t, tok, err))
			return -1;
	t->vector_bits = vector_bits(t->features);
	return 0;
}

void cg_target_string(const cg_target *t, char *out, int size)
{
	cg_backend_of(t->kind)->print(t, out, size);
}

LLVMTargetMachineRef cg_target_machine(const cg_target *t, rt_error *err)
{
	char *triple, *msg = NULL;
	LLVMTargetRef target;
	LLVMTargetMachineRef tm;

	init_llvm();
	triple = LLVMGetDefaultTargetTriple();
	if (LLVMGetTargetFromTriple(triple, &target, &msg)) {
		rt_error_set(err, 0, 0, "LLVM: no target for %s: %s", triple, msg ? msg : "");
		LLVMDisposeMessage(msg);
		LLVMDisposeMessage(triple);
		return NULL;
	}
	tm = LLVMCreateTargetMachine(target, triple, t->cpu, t->features, LLVMCodeGenLevelAggressive,
				     LLVMRelocPIC, LLVMCodeModelDefault);
	LLVMDisposeMessage(triple);
	if (!tm)
		rt_error_set(err, 0, 0, "LLVM cannot make a target machine for cpu '%s'", t->cpu);
	return tm;
}

int cg_llvm_error(LLVMErrorRef e, const char *what, rt_error *err)
{
	char *msg = LLVMGetErrorMessage(e);

	rt_error_set(err, 0, 0, "%s: %s", what, msg ? msg : "unknown LLVM error");
	LLVMDisposeErrorMessage(msg);
	return -1;
}
