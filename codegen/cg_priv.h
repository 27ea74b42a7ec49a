/*
 * cg_priv: what the code generator's files share: the module, target
 * machines, LLVM errors and integer ranges (the emitter's, cg_emit.h).
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

/* ---- cg_range: integer ranges of lir expressions ---- */

/* The values an integer expression may take: [lo, hi] when known. */
typedef struct cg_range {
	int64_t lo, hi;
	bool known;
} cg_range;

/* The range of integer expression e when variable i lies in vars[i]
 * (unknown for non-integer expressions, loads, overflow). */
cg_range cg_expr_range(const lir_expr *e, const cg_range *vars);

/* Condition e under vars: 1 always true, 0 always false, -1 unknown. */
int cg_cond_value(const lir_expr *e, const cg_range *vars);

/*
 * A loop in s whose upper bound is min(c, k * v + r) (+ a constant) with v
 * in scope (vars[v] known) and not constant under vars: splitting v's
 * range at *at ([lo, at - 1] and [at, hi]) makes the bound the constant c
 * on one side, the low side when *low_full.  False when there is none.
 */
bool cg_find_split(const lir_stmt *s, const cg_range *vars, int *var, int64_t *at, bool *low_full);

/* The same for loop s's own upper bound only. */
bool cg_find_bound_split(const lir_stmt *s, const cg_range *vars, int *var, int64_t *at, bool *low_full);

#endif
