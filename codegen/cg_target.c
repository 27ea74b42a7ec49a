/*
 * cg_target: target strings, the host CPU, LLVM target machines.
 */
#include <llvm-c/Error.h>
#include <llvm-c/Target.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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

const char *cg_target_kind_name(cg_target_kind k)
{
	return k == CG_TARGET_CUDA ? "cuda" : k == CG_TARGET_HLS ? "hls" : "cpu";
}

/* FPGA parts ftc knows, with the resources the search may use. */
static const struct {
	const char *name;
	int dsp, bram18k, lut;
} hls_parts[] = {
	{"xcvu9p", 6840, 4320, 1182240},  /* Virtex UltraScale+ VU9P (FlexTensor's, AWS F1) */
	{"xcu250", 12288, 5376, 1728000}, /* Alveo U250 */
	{"xcu280", 9024, 4032, 1303680},  /* Alveo U280 */
	{"xczu9eg", 2520, 1824, 274080},  /* Zynq UltraScale+ ZU9EG (ZCU102) */
	{"xc7z020", 220, 280, 53200},     /* Zynq-7000 7Z020 (PYNQ-Z1) */
};

static int set_part(cg_target *t, const char *name, rt_error *err)
{
	char known[256] = "";
	size_t n = 0;

	for (size_t i = 0; i < sizeof(hls_parts) / sizeof(hls_parts[0]); i++) {
		if (strcmp(name, hls_parts[i].name) == 0) {
			snprintf(t->part, sizeof(t->part), "%s", name);
			t->dsp = hls_parts[i].dsp;
			t->bram18k = hls_parts[i].bram18k;
			t->lut = hls_parts[i].lut;
			return 0;
		}
		n += (size_t)snprintf(known + n, sizeof(known) - n, "%s%s", i ? ", " : "", hls_parts[i].name);
	}
	return rt_error_set(err, 0, 0, "target: unknown FPGA part '%s' (known: %s)", name, known);
}

/* "300MHz", "300", "0.3GHz" -> MHz. */
static int parse_clock(const char *s, double *mhz, rt_error *err)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || !(v > 0))
		return rt_error_set(err, 0, 0, "target: bad clock '%s' (e.g. -clock=300MHz)", s);
	if (*end == '\0' || strcasecmp(end, "MHz") == 0)
		*mhz = v;
	else if (strcasecmp(end, "GHz") == 0)
		*mhz = v * 1e3;
	else
		return rt_error_set(err, 0, 0, "target: bad clock unit in '%s' (MHz or GHz)", s);
	if (*mhz < 1 || *mhz > 2000)
		return rt_error_set(err, 0, 0, "target: clock %g MHz is out of range (1 to 2000)", *mhz);
	return 0;
}

static int parse_cpu_opt(cg_target *t, const char *tok, rt_error *err)
{
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
		return rt_error_set(err, 0, 0, "target: unknown cpu option '%s' (expected -mcpu=, -mattr=, -threads=)",
				    tok);
	}
	return 0;
}

static int parse_cuda_opt(cg_target *t, const char *tok, rt_error *err)
{
	char *end;
	long sm;

	if (strncmp(tok, "-arch=sm_", 9) != 0)
		return rt_error_set(err, 0, 0, "target: unknown cuda option '%s' (expected -arch=sm_NN)", tok);
	sm = strtol(tok + 9, &end, 10);
	if (end == tok + 9 || (*end && strcmp(end, "a") != 0) || sm < 50 || sm > 200)
		return rt_error_set(err, 0, 0, "target: bad architecture in '%s' (e.g. -arch=sm_90)", tok);
	t->sm = (int)sm;
	return 0;
}

static int parse_hls_opt(cg_target *t, const char *tok, rt_error *err)
{
	if (strncmp(tok, "-part=", 6) == 0)
		return set_part(t, tok + 6, err);
	if (strncmp(tok, "-clock=", 7) == 0)
		return parse_clock(tok + 7, &t->clock_mhz, err);
	return rt_error_set(err, 0, 0, "target: unknown hls option '%s' (expected -part=, -clock=)", tok);
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
	if (tok && strcmp(tok, "cuda") == 0) {
		t->kind = CG_TARGET_CUDA;
		t->sm = 80;
		t->max_threads_per_block = 1024;
		t->max_shared_bytes = 48 * 1024;
		t->max_regs_per_thread = 255;
	} else if (tok && strcmp(tok, "hls") == 0) {
		t->kind = CG_TARGET_HLS;
		t->clock_mhz = 300;
		if (set_part(t, "xcvu9p", err))
			return -1;
	} else if (!tok || strcmp(tok, "cpu") != 0) {
		return rt_error_set(err, 0, 0, "unknown target '%s' (cpu, cuda or hls)", tok ? tok : "");
	}
	while ((tok = strtok_r(NULL, " \t", &save))) {
		int rc = t->kind == CG_TARGET_CUDA  ? parse_cuda_opt(t, tok, err)
			 : t->kind == CG_TARGET_HLS ? parse_hls_opt(t, tok, err)
						    : parse_cpu_opt(t, tok, err);

		if (rc)
			return -1;
	}
	return 0;
}

void cg_target_string(const cg_target *t, char *out, int size)
{
	if (t->kind == CG_TARGET_CUDA)
		snprintf(out, size, "cuda -arch=sm_%d", t->sm);
	else if (t->kind == CG_TARGET_HLS)
		snprintf(out, size, "hls -part=%s -clock=%gMHz", t->part, t->clock_mhz);
	else if (t->threads)
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
