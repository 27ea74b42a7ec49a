#!/usr/bin/env bash
# Generated libraries: `ftc compile` writes NAME.h, NAME.o, libNAME.a and
# libftcrt.a; a C program links them with nothing but -lpthread -lm and gets
# the right answers.  Also the command's errors.  Usage: test_library.sh
# PATH/TO/ftc
set -uo pipefail
FTC=$1
. "$(dirname "$0")/lib.sh"
CC=${CC:-cc}

# bad, with the output of the last check or expect
bad() {
	fail=$((fail + 1))
	echo "FAIL: $1"
	[ -f "$TMP/out.txt" ] && sed 's/^/    /' "$TMP/out.txt" | head -20
}

# check NAME CMD...: CMD must succeed; its output goes to $TMP/out.txt.
check() {
	local name=$1
	shift
	if "$@" >"$TMP/out.txt" 2>&1; then ok; else bad "$name (exit $?)"; fi
}

# expect NAME STATUS PATTERN -- CMD...: exit STATUS, output matching PATTERN.
expect() {
	local name=$1 want=$2 pattern=$3 rc
	shift 4
	"$@" >"$TMP/out.txt" 2>&1
	rc=$?
	if [ "$rc" -eq "$want" ] && grep -Eq -- "$pattern" "$TMP/out.txt"; then ok; else
		bad "$name: exit $rc (want $want), wanted /$pattern/"; fi
}

# has NAME FILE PATTERN: FILE has a line matching the grep -E PATTERN.
has() {
	if grep -Eq -- "$3" "$2"; then ok; else fail=$((fail + 1)); echo "FAIL: $1: no /$3/ in $2"; fi
}

# ---- GEMM with its tuned schedule, used from examples/use_gemm.c ----
G=$TMP/gemm/lib
check "compile gemm" "$FTC" compile "$ROOT/examples/gemm.te" -D M=256 -D N=256 -D K=256 \
	--schedule "$ROOT/examples/gemm.sched" -o "$G"
# The libftcrt.a of a sanitized build (CI) is instrumented: programs that
# link it need the sanitizer runtimes too.  Empty otherwise.
SAN=()
grep -qa __asan_ "$G/libftcrt.a" 2>/dev/null && SAN+=(-fsanitize=address)
grep -qa __ubsan_ "$G/libftcrt.a" 2>/dev/null && SAN+=(-fsanitize=undefined)
for f in gemm.h gemm.o libgemm.a libftcrt.a; do
	if [ -s "$G/$f" ]; then ok; else bad "gemm: $f missing"; fi
done
if ls -A "$G" | grep -q tmp; then bad "gemm: temporary files left: $(ls -A "$G")"; else ok; fi
has "gemm.h prototype" "$G/gemm.h" '^int gemm\($'
has "gemm.h A" "$G/gemm.h" '^	const float \*A /\* \[256\]\[256\] \*/,$'
has "gemm.h C" "$G/gemm.h" '^	float \*C /\* \[256\]\[256\] \*/\);$'
has "gemm.h te" "$G/gemm.h" '^ \*   C\[i < 256, j < 256\] = sum\(k < 256\) A\[i, k\] \* B\[k, j\]$'
has "gemm.h hash" "$G/gemm.h" '^ \* workload hash: [0-9a-f]{16}$'
has "gemm.h target" "$G/gemm.h" '^ \* target: +cpu'
has "gemm.h schedule" "$G/gemm.h" '^ \*   vectorize C j\.i\.i$'
has "gemm.h extern C" "$G/gemm.h" 'extern "C"'
if grep -q stdint "$G/gemm.h"; then bad "gemm.h includes stdint.h without need"; else ok; fi
printf '#include "gemm.h"\n' >"$TMP/hdr.c"
check "gemm.h is strict C11" "$CC" -std=c11 -Wall -Wextra -pedantic -Werror -I "$G" -c "$TMP/hdr.c" -o "$TMP/hdr.o"
if command -v c++ >/dev/null; then
	printf '#include "gemm.h"\nint main() { return gemm(nullptr, nullptr, nullptr) * 0; }\n' >"$TMP/hdr.cc"
	check "gemm.h is C++" c++ -std=c++17 -Wall -Wextra -Werror -I "$G" -c "$TMP/hdr.cc" -o "$TMP/hdrcc.o"
fi
if command -v nm >/dev/null; then
	expect "libgemm.a index" 0 'gemm_packed in gemm\.o' -- nm -s "$G/libgemm.a"
	has "libgemm.a index gemm" "$TMP/out.txt" '^gemm in gemm\.o$'
fi
check "link use_gemm" "$CC" -std=c11 -O2 -I "$G" "$ROOT/examples/use_gemm.c" "$G/libgemm.a" \
	"$G/libftcrt.a" -lpthread -lm ${SAN[@]+"${SAN[@]}"} -o "$TMP/use_gemm"
expect "run use_gemm" 0 '^ok$' -- "$TMP/use_gemm"
expect "run use_gemm, 1 thread" 0 '^ok$' -- env FTC_NUM_THREADS=1 "$TMP/use_gemm"

# ---- softmax (exp from libm), naive schedule, an inline program ----
S=$TMP/softmax
check "compile softmax" "$FTC" compile "$ROOT/examples/softmax.te" -D M=37 -D N=100 -o "$S"
has "softmax.h prototype" "$S/softmax.h" '^	float \*Y /\* \[37\]\[100\] \*/\);$'
has "softmax.h naive" "$S/softmax.h" '^ \* schedule: +naive'
cat >"$TMP/use_softmax.c" <<'C'
#include <math.h>
#include <stdio.h>
#include "softmax.h"
static float x[37][100], y[37][100];
int main(void)
{
	for (int i = 0; i < 37; i++)
		for (int j = 0; j < 100; j++)
			x[i][j] = (float)((i * 31 + j * 17) % 23) - 11.0f;
	if (softmax(&x[0][0], &y[0][0]))
		return 2;
	for (int i = 0; i < 37; i++) {
		double s = 0;
		for (int j = 0; j < 100; j++)
			s += y[i][j];
		if (fabs(s - 1) > 1e-4) {
			printf("row %d sums to %.9g\n", i, s);
			return 1;
		}
	}
	printf("ok\n");
	return 0;
}
C
check "link softmax" "$CC" -std=c11 -O2 -I "$S" "$TMP/use_softmax.c" "$S/libsoftmax.a" "$S/libftcrt.a" \
	-lpthread -lm ${SAN[@]+"${SAN[@]}"} -o "$TMP/use_softmax"
expect "run softmax" 0 '^ok$' -- "$TMP/use_softmax"

# ---- --name (long enough to need the archive's long-name table), f64 and
# i32 parameters, a tensor named like a C keyword, --emit-llvm ----
T=$TMP/typed
printf 'input A[3, 4] f64\ninput new[4] i32\nO[i < 3, j < 4] = A[i, j] * f64(new[j])\n' >"$TMP/typed.te"
check "compile --name" "$FTC" compile "$TMP/typed.te" --name a_rather_long_kernel_name --emit-llvm -o "$T"
for f in a_rather_long_kernel_name.h liba_rather_long_kernel_name.a a_rather_long_kernel_name.ll; do
	if [ -s "$T/$f" ]; then ok; else bad "--name: $f missing"; fi
done
has "typed.h stdint" "$T/a_rather_long_kernel_name.h" '^#include <stdint.h>$'
has "typed.h f64" "$T/a_rather_long_kernel_name.h" '^	const double \*A /\* \[3\]\[4\] \*/,$'
has "typed.h i32" "$T/a_rather_long_kernel_name.h" '^	const int32_t \*new_ /\* \[4\] \*/,$'
cat >"$TMP/use_typed.c" <<'C'
#include <stdio.h>
#include "a_rather_long_kernel_name.h"
int main(void)
{
	double a[12], o[12];
	int32_t n[4] = {1, -2, 3, 4};
	for (int i = 0; i < 12; i++)
		a[i] = i + 0.5;
	if (a_rather_long_kernel_name(a, n, o))
		return 2;
	for (int i = 0; i < 12; i++)
		if (o[i] != a[i] * n[i % 4]) {
			printf("O[%d] = %g\n", i, o[i]);
			return 1;
		}
	printf("ok\n");
	return 0;
}
C
check "link --name" "$CC" -std=c11 -Wall -Wextra -Werror -pedantic -I "$T" "$TMP/use_typed.c" \
	"$T/liba_rather_long_kernel_name.a" "$T/libftcrt.a" -lpthread -lm ${SAN[@]+"${SAN[@]}"} -o "$TMP/use_typed"
expect "run --name" 0 '^ok$' -- "$TMP/use_typed"

# ---- errors ----
GEMM=$ROOT/examples/gemm.te
expect "help" 0 "usage: ftc compile" -- "$FTC" compile --help
expect "help lists compile" 0 "compile" -- "$FTC" --help
expect "no -o" 1 "no output directory.*-o DIR" -- "$FTC" compile "$GEMM"
expect "no file" 1 "no .te file" -- "$FTC" compile -o "$TMP/nofile"
expect "bad name" 1 "'1abc' is not a C identifier" -- "$FTC" compile "$GEMM" --name 1abc -o "$TMP/bad"
expect "keyword name" 1 "'int' is a C keyword" -- "$FTC" compile "$GEMM" --name int -o "$TMP/bad"
expect "libc name" 1 "'free' is a function or object of the C standard library" -- \
	"$FTC" compile "$GEMM" --name free -o "$TMP/bad"
expect "main" 1 "'main' is the entry point of every C program" -- "$FTC" compile "$GEMM" --name main -o "$TMP/bad"
expect "libm name" 1 "'expf' is a function of the C math library" -- "$FTC" compile "$GEMM" --name expf -o "$TMP/bad"
expect "host libc name" 1 "'fork' is a symbol of the host's libc.so.6" -- \
	"$FTC" compile "$GEMM" --name fork -o "$TMP/bad"
expect "runtime prefix name" 1 "runtime" -- "$FTC" compile "$GEMM" --name ftc_rt_alloc -o "$TMP/bad"
if [ -e "$TMP/bad" ]; then bad "a rejected --name created the directory"; else ok; fi
touch "$TMP/afile"
expect "unwritable dir" 1 "cannot create directory '$TMP/afile/sub'" -- \
	"$FTC" compile "$GEMM" -D M=8 -D N=8 -D K=8 -o "$TMP/afile/sub"
expect "bad target" 1 "." -- "$FTC" compile "$GEMM" --target frob -o "$TMP/bad"
expect "bad option" 1 "unknown option '--seed'" -- "$FTC" compile "$GEMM" --seed 3 -o "$TMP/bad"
expect "bad schedule" 1 "nosuch.sched: error: cannot open" -- \
	"$FTC" compile "$GEMM" --schedule "$TMP/nosuch.sched" -o "$TMP/bad"
expect "no runtime" 0 "warning: libftcrt.a not found" -- \
	env FTC_RUNTIME_LIB="$TMP/nosuch.a" "$FTC" compile "$GEMM" -D M=8 -D N=8 -D K=8 -o "$TMP/nort"
if [ -e "$TMP/nort/libftcrt.a" ] || [ ! -s "$TMP/nort/libgemm.a" ]; then bad "no runtime: files"; else ok; fi
# A runtime that is not a regular file is refused at once (/dev/zero used
# to be read forever), and nothing is written.
expect "runtime /dev/zero" 1 "/dev/zero: error: not a regular file" -- \
	timeout 60 env FTC_RUNTIME_LIB=/dev/zero "$FTC" compile "$GEMM" -D M=8 -D N=8 -D K=8 -o "$TMP/zero"
mkfifo "$TMP/rt.fifo"
expect "runtime FIFO" 1 "FTC_RUNTIME_LIB='$TMP/rt.fifo' is not a runtime library ftc can copy" -- \
	timeout 60 env FTC_RUNTIME_LIB="$TMP/rt.fifo" "$FTC" compile "$GEMM" -D M=8 -D N=8 -D K=8 -o "$TMP/zero"
if [ -e "$TMP/zero" ]; then bad "a refused runtime created the output directory"; else ok; fi
# The runtime's size limit (CLI_MAX_RUNTIME_BYTES, 64 MiB): at it, copied;
# one byte over, refused.
truncate -s $((64 << 20)) "$TMP/big-rt.a"
expect "runtime at the size limit" 0 "libftcrt.a" -- \
	env FTC_RUNTIME_LIB="$TMP/big-rt.a" "$FTC" compile "$GEMM" -D M=8 -D N=8 -D K=8 -o "$TMP/bigrt"
if [ "$(stat -c %s "$TMP/bigrt/libftcrt.a" 2>/dev/null)" = $((64 << 20)) ]; then ok; else bad "runtime at the size limit: not copied whole"; fi
rm -rf "$TMP/bigrt"
truncate -s $(((64 << 20) + 1)) "$TMP/big-rt.a"
expect "runtime over the size limit" 1 "big-rt.a: error: the file has 67108865 bytes, more than the limit of 67108864" -- \
	env FTC_RUNTIME_LIB="$TMP/big-rt.a" "$FTC" compile "$GEMM" -D M=8 -D N=8 -D K=8 -o "$TMP/bigrt"
rm -f "$TMP/big-rt.a"
# The runtime copied is an input too: compiling into its own directory is refused.
mkdir -p "$TMP/rtdir"
cp "$G/libftcrt.a" "$TMP/rtdir/libftcrt.a" 2>/dev/null || printf '!<arch>\n' >"$TMP/rtdir/libftcrt.a"
expect "runtime over itself" 1 "libftcrt.a' is the same file as the runtime library" -- \
	env FTC_RUNTIME_LIB="$TMP/rtdir/libftcrt.a" "$FTC" compile "$GEMM" -D M=8 -D N=8 -D K=8 -o "$TMP/rtdir"

echo "library: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
