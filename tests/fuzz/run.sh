#!/bin/sh
# Fuzz the .te parser with libFuzzer, AddressSanitizer and UBSan.
#
#   tests/fuzz/run.sh [SECONDS]   build, then fuzz for SECONDS (default 600)
#                                 from the seeds in tests/fuzz/corpus; new
#                                 inputs go to build-fuzz/corpus, crashes to
#                                 build-fuzz/crash-*
#   tests/fuzz/run.sh merge       add the inputs of build-fuzz/corpus that
#                                 reach new coverage to tests/fuzz/corpus
#
# Needs clang-14 (or CC=...) with the libFuzzer runtime, and isl (the
# target verifies what parses).
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
CC=${CC:-clang-14}
out=build-fuzz
mkdir -p "$out/corpus"
$CC -std=c11 -D_DEFAULT_SOURCE -g -O1 \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-I runtime -I ir -I tests/fuzz \
	runtime/rt_error.c ir/te.c ir/te_print.c ir/te_lex.c ir/te_parse.c \
	ir/te_verify.c ir/te_isl.c \
	tests/fuzz/fuzz_target.c tests/fuzz/libfuzzer_main.c -lisl -lm \
	-o "$out/fuzz_te"
if [ "${1:-}" = merge ]; then
	# edges only (no hit counters), so that the kept corpus stays small
	exec "$out/fuzz_te" -merge=1 -use_counters=0 -max_len=4096 \
		tests/fuzz/corpus "$out/corpus"
fi
exec "$out/fuzz_te" -max_total_time="${1:-600}" -max_len=4096 -timeout=10 \
	-dict=tests/fuzz/te.dict -artifact_prefix="$out/" -print_final_stats=1 \
	"$out/corpus" tests/fuzz/corpus
