/*
 * The .te parser fuzz target, shared by the libFuzzer driver
 * (libfuzzer_main.c) and the corpus replay test (tests/test_fuzz_replay.c).
 */
#ifndef FTC_FUZZ_TARGET_H
#define FTC_FUZZ_TARGET_H

#include <stddef.h>
#include <stdint.h>

/*
 * Parse data[0..size) as a .te source (with the define NAME=VALUE when its
 * first line is the comment `#-D NAME=VALUE`).  On success, print the
 * graph, parse the print again and check that it prints the same and
 * hashes the same; then verify it.
 * abort()s on a broken invariant (a round trip that fails or differs, a
 * failed parse or verification without a message or with a position
 * outside the source, an internal verifier error, a verified graph whose
 * sizes leave the TE_MAX_ limits).
 * Returns 1 when the input parsed, else 0.
 */
int ftc_fuzz_one(const uint8_t *data, size_t size);

#endif
