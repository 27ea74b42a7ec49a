/*
 * cg_target: target strings, the host CPU, LLVM target machines.
 */
#include <llvm-c/Error.h>
#include <llvm-c/Target.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

int cg_target_parse(const char *text, cg_target *t, rt_error *err)
{
	char buf[4096], *tok, *save = NULL;

	if (cg_target_host(t, err))
		return -1;
	if (!text)
		return 0;
	snprintf(buf, sizeof(buf), "%s", text);
	tok = strtok_r(buf, " \t", &save);
	if (!tok || strcmp(tok, "cpu") != 0)
		return rt_error_set(err, 0, 0, "unknown target '%s' (this build supports: cpu)", tok ? tok : "");
	while ((tok = strtok_r(NULL, " \t", &save))) {
		char *end;

		if (strncmp(tok, "-mcpu=", 6) == 0 && tok[6]) {
			snprintf(t->cpu, sizeof(t->cpu), "%s", tok + 6);
		} else if (strncmp(tok, "-mattr=", 7) == 0) {
			snprintf(t->features, sizeof(t->features), "%s", tok + 7);
			t->vector_bits = vector_bits(t->features);
		} else if (strncmp(tok, "-threads=", 9) == 0) {
			long n = strtol(tok + 9, &end, 10);

			if (end == tok + 9 || *end || n < 0 || n > 1024)
				return rt_error_set(err, 0, 0, "target: bad thread count in '%s'", tok);
			t->threads = (int)n;
		} else {
			return rt_error_set(err, 0, 0,
					    "target: unknown option '%s' (expected -mcpu=, -mattr=, -threads=)", tok);
		}
	}
	return 0;
}

void cg_target_string(const cg_target *t, char *out, int size)
{
	if (t->threads)
		snprintf(out, size, "cpu -mcpu=%s -threads=%d", t->cpu, t->threads);
	else
		snprintf(out, size, "cpu -mcpu=%s", t->cpu);
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
