/*
 * libFuzzer entry point for the .te parser (built by tests/fuzz/run.sh).
 */
#include "fuzz_target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ftc_fuzz_one(data, size);
	return 0;
}
