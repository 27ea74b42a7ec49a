/*
 * cg_priv: state shared by the CPU code generator's files.
 */
#ifndef FTC_CG_PRIV_H
#define FTC_CG_PRIV_H

#include <llvm-c/Core.h>
#include <llvm-c/Orc.h>
#include <llvm-c/TargetMachine.h>

#include "cg.h"

struct cg_module {
	LLVMOrcThreadSafeContextRef tsc; /* owns the LLVM context */
	LLVMContextRef ctx;
	LLVMModuleRef mod;
	cg_target target;
	char name[128];
};

/* A target machine for t (caller disposes), or NULL with err set. */
LLVMTargetMachineRef cg_target_machine(const cg_target *t, rt_error *err);

/* Turn an LLVMErrorRef into err's message (consumes e).  Returns -1. */
int cg_llvm_error(LLVMErrorRef e, const char *what, rt_error *err);

#endif
