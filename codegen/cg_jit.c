/*
 * cg_jit: ORC LLJIT for compiled modules; object files.
 */
#include <llvm-c/Error.h>
#include <errno.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/TargetMachine.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cg_priv.h"
#include "ftc_rt.h"

struct cg_jit {
	LLVMOrcLLJITRef jit;
	cg_packed_fn entry;
};

/* The runtime functions kernels call, at their addresses in this process. */
static int define_runtime(cg_jit *j, rt_error *err)
{
	static const struct {
		const char *name;
		void (*fn)(void);
	} syms[] = {
		{"ftc_rt_parallel_for", (void (*)(void))ftc_rt_parallel_for},
		{"ftc_rt_alloc", (void (*)(void))ftc_rt_alloc},
		{"ftc_rt_free", (void (*)(void))ftc_rt_free},
	};
	LLVMOrcCSymbolMapPair pairs[3];
	LLVMErrorRef e;

	for (int i = 0; i < 3; i++) {
		pairs[i].Name = LLVMOrcLLJITMangleAndIntern(j->jit, syms[i].name);
		pairs[i].Sym.Address = (LLVMOrcExecutorAddress)(uintptr_t)syms[i].fn;
		pairs[i].Sym.Flags.GenericFlags = LLVMJITSymbolGenericFlagsExported | LLVMJITSymbolGenericFlagsCallable;
		pairs[i].Sym.Flags.TargetFlags = 0;
	}
	e = LLVMOrcJITDylibDefine(LLVMOrcLLJITGetMainJITDylib(j->jit), LLVMOrcAbsoluteSymbols(pairs, 3));
	return e ? cg_llvm_error(e, "LLJIT: runtime symbols", err) : 0;
}

cg_jit *cg_jit_new(cg_module *m, rt_error *err)
{
	cg_jit *j = calloc(1, sizeof(*j));
	LLVMOrcLLJITBuilderRef builder;
	LLVMOrcDefinitionGeneratorRef gen = NULL;
	LLVMOrcThreadSafeModuleRef tsm;
	LLVMOrcExecutorAddress addr = 0;
	LLVMTargetMachineRef tm;
	LLVMErrorRef e;
	char name[160];

	if (!j || !m) {
		rt_error_set(err, 0, 0, "out of memory");
		goto fail_module;
	}
	if (!(tm = cg_target_machine(&m->target, err)))
		goto fail_module;
	builder = LLVMOrcCreateLLJITBuilder();
	LLVMOrcLLJITBuilderSetJITTargetMachineBuilder(builder, LLVMOrcJITTargetMachineBuilderCreateFromTargetMachine(tm));
	if ((e = LLVMOrcCreateLLJIT(&j->jit, builder))) {
		cg_llvm_error(e, "LLJIT", err);
		goto fail_module;
	}
	if ((e = LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(&gen, LLVMOrcLLJITGetGlobalPrefix(j->jit),
								     NULL, NULL))) {
		cg_llvm_error(e, "LLJIT: process symbols", err);
		goto fail_module;
	}
	LLVMOrcJITDylibAddGenerator(LLVMOrcLLJITGetMainJITDylib(j->jit), gen);
	if (define_runtime(j, err))
		goto fail_module;
	snprintf(name, sizeof(name), "%s_packed", m->name);
	tsm = LLVMOrcCreateNewThreadSafeModule(m->mod, m->tsc);
	m->mod = NULL;
	cg_module_free(m);
	if ((e = LLVMOrcLLJITAddLLVMIRModule(j->jit, LLVMOrcLLJITGetMainJITDylib(j->jit), tsm))) {
		LLVMOrcDisposeThreadSafeModule(tsm);
		cg_llvm_error(e, "LLJIT: adding the module", err);
		return cg_jit_free(j);
	}
	if ((e = LLVMOrcLLJITLookup(j->jit, &addr, name))) {
		cg_llvm_error(e, "LLJIT: compiling the kernel", err);
		return cg_jit_free(j);
	}
	j->entry = (cg_packed_fn)(uintptr_t)addr;
	return j;
fail_module:
	cg_module_free(m);
	return cg_jit_free(j);
}

cg_packed_fn cg_jit_entry(const cg_jit *j)
{
	return j->entry;
}

cg_jit *cg_jit_free(cg_jit *j)
{
	if (!j)
		return NULL;
	if (j->jit) {
		LLVMErrorRef e = LLVMOrcDisposeLLJIT(j->jit);

		if (e)
			LLVMConsumeError(e);
	}
	free(j);
	return NULL;
}
