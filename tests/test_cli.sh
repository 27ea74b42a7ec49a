#!/usr/bin/env bash
# End-to-end tests of the ftc binary: exit codes, messages, --help, and
# check/eval on every example.  Usage: test_cli.sh PATH/TO/ftc
set -uo pipefail
FTC=$1
ROOT=${FTC_SOURCE_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export FTC_DB=$TMP/tuning.db # never the user's db
pass=0 fail=0

# expect NAME STATUS PATTERN -- CMD...: run CMD, require exit STATUS and
# combined output matching the grep -E PATTERN.
expect() {
	local name=$1 want=$2 pattern=$3 out rc
	shift 4
	out=$("$@" 2>&1)
	rc=$?
	if [ "$rc" -eq "$want" ] && grep -Eq -- "$pattern" <<<"$out"; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL: $name: exit $rc (want $want), output:"
		sed 's/^/    /' <<<"$out" | head -20
		echo "    (wanted /$pattern/)"
	fi
}

expect "no args" 1 "usage: ftc" -- "$FTC"
expect "help" 0 "Commands:" -- "$FTC" --help
expect "version" 0 "^ftc [0-9]" -- "$FTC" --version
expect "unknown command" 1 "unknown command 'frob'" -- "$FTC" frob
for cmd in check eval lower run tune compile; do
	expect "$cmd --help" 0 "usage: ftc $cmd" -- "$FTC" "$cmd" --help
	expect "$cmd no file" 1 "no .te file" -- "$FTC" "$cmd"
	out=()
	[ "$cmd" = compile ] && out=(-o "$TMP/lib")
	expect "$cmd missing file" 1 "nosuch.te: error: cannot open" -- "$FTC" "$cmd" ${out[@]+"${out[@]}"} "$TMP/nosuch.te"
	expect "$cmd bad option" 1 "unknown option '--frob'" -- "$FTC" "$cmd" --frob "$ROOT/examples/gemm.te"
done

# tune: a tiny search end to end, machine-readable.
expect "tune bad method" 1 "unknown method 'annealing'" -- "$FTC" tune --method annealing -D M=8 -D N=8 -D K=8 "$ROOT/examples/gemm.te"
expect "tune json" 0 '"verified": true' -- "$FTC" tune --trials 3 --json -D M=16 -D N=16 -D K=16 "$ROOT/examples/gemm.te"
expect "tune option elsewhere" 1 "does not apply" -- "$FTC" run --trials 3 "$ROOT/examples/gemm.te"
expect "db option elsewhere" 1 "does not apply" -- "$FTC" run --db x.db "$ROOT/examples/gemm.te"
expect "lower target" 0 "^func gemm" -- "$FTC" lower --target "cpu -threads=1" -D M=4 -D N=4 -D K=4 "$ROOT/examples/gemm.te"
expect "lower bad target" 1 "target" -- "$FTC" lower --target "gpu" -D M=4 -D N=4 -D K=4 "$ROOT/examples/gemm.te"
for cmd in db targets; do
	expect "$cmd --help" 0 "usage: ftc $cmd" -- "$FTC" "$cmd" --help
done

# Errors name FILE:LINE:COL, show the line and a caret.
printf 'param M = 4\ninput A[M] f32\nB[i < M] = A[i] + C[i]\n' >"$TMP/unknown.te"
expect "unknown name" 1 "unknown.te:3:19: error: .*'C'" -- "$FTC" check "$TMP/unknown.te"
expect "caret" 1 "^  +\^$" -- "$FTC" check "$TMP/unknown.te"
printf 'param H = 8\ninput I[H] f32\nO[h < H] = I[h - 1]\n' >"$TMP/oob.te"
expect "out of bounds" 1 "oob.te:3:12: error: .*out of bounds.*h = 0" -- "$FTC" check "$TMP/oob.te"
printf 'param H = 8\ninput I[H] f32\nO[h < H] = select(h >= 1, I[h - 1], 0.0)\n' >"$TMP/guard.te"
expect "guarded load" 0 "^O\[h < 8\] = select" -- "$FTC" check "$TMP/guard.te"
expect "unknown define" 1 "no param named 'Q'|'Q'" -- "$FTC" check -D Q=3 "$ROOT/examples/gemm.te"
expect "bad define" 1 "must be an integer" -- "$FTC" check -D M=x "$ROOT/examples/gemm.te"
printf 'input A[4] f32\n\001\n' >"$TMP/binary.te"
expect "bad character" 1 "binary.te:2:1: error" -- "$FTC" check "$TMP/binary.te"

# The DESIGN example parses as written; -D changes shapes; canonical form
# reads back to itself.
expect "gemm check" 0 "^C\[i < 1024, j < 1024\] = sum\(k < 1024\) A\[i, k\] \* B\[k, j\]$" -- \
	"$FTC" check "$ROOT/examples/gemm.te"
expect "gemm -D" 0 "^input A\[3, 5\] f32$" -- "$FTC" check -D M=3 -D K=5 "$ROOT/examples/gemm.te"
for f in "$ROOT"/examples/*.te; do
	n=$(basename "$f" .te)
	if "$FTC" check "$f" >"$TMP/$n.canon" 2>"$TMP/$n.err" &&
		"$FTC" check "$TMP/$n.canon" >"$TMP/$n.canon2" 2>>"$TMP/$n.err" &&
		diff -q "$TMP/$n.canon" "$TMP/$n.canon2" >/dev/null; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL: check/round trip of $n"
		sed 's/^/    /' "$TMP/$n.err" | head
	fi
done

# eval: same seed, same checksums; a different seed differs.
expect "eval gemm" 0 "^C\[7, 9\] f32: sum=" -- "$FTC" eval -D M=7 -D N=9 -D K=5 "$ROOT/examples/gemm.te"
a=$("$FTC" eval -D M=7 -D N=9 -D K=5 --seed 3 "$ROOT/examples/gemm.te" | grep '^C')
b=$("$FTC" eval -D M=7 -D N=9 -D K=5 --seed 3 "$ROOT/examples/gemm.te" | grep '^C')
c=$("$FTC" eval -D M=7 -D N=9 -D K=5 --seed 4 "$ROOT/examples/gemm.te" | grep '^C')
if [ -n "$a" ] && [ "$a" = "$b" ] && [ "$a" != "$c" ]; then pass=$((pass + 1)); else
	fail=$((fail + 1)); echo "FAIL: eval determinism: '$a' '$b' '$c'"; fi

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
