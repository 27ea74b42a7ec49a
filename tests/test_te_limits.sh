#!/usr/bin/env bash
# The .te limits (docs/te-language.md, "Limits") through every command:
# each hostile file is refused by check, eval, lower, run, tune and compile
# with exit 1 and the same located message, before any work or write.
# Usage: test_te_limits.sh PATH/TO/ftc
set -uo pipefail
FTC=$1
. "$(dirname "$0")/lib.sh"

# refused FILE PATTERN: every command exits 1 with output matching PATTERN
# (grep -E) and writes no db and no library.
refused() {
	local file=$1 pattern=$2 cmd out rc args
	for cmd in check eval lower run tune compile; do
		args=()
		[ "$cmd" = compile ] && args=(-o "$TMP/lib")
		[ "$cmd" = tune ] && args=(--trials 1)
		out=$("$FTC" "$cmd" ${args[@]+"${args[@]}"} "$file" 2>&1)
		rc=$?
		if [ "$rc" -eq 1 ] && grep -Eq -- "$pattern" <<<"$out" && [ ! -e "$TMP/tuning.db" ] &&
			[ ! -e "$TMP/lib" ]; then
			pass=$((pass + 1))
		else
			fail=$((fail + 1))
			echo "FAIL: $cmd $(basename "$file"): exit $rc (want 1), output:"
			sed 's/^/    /' <<<"$out" | head -10
			echo "    (wanted /$pattern/)"
		fi
	done
}

# accepted FILE: ftc check verifies it (no command runs it: it is huge)
accepted() {
	if "$FTC" check "$1" >/dev/null 2>&1; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL: check $(basename "$1") refused:"
		"$FTC" check "$1" 2>&1 | sed 's/^/    /' | head -5
	fi
}

te() { # te NAME TEXT: write $TMP/NAME.te
	printf '%b' "$2" >"$TMP/$1.te"
}

# the issue's shapes: 0 FLOP and a crash; 2^62 elements written into 64 bytes
te square 'input A[4294967296, 4294967296] f32\nB[i < 2] = A[i, i]\n'
refused "$TMP/square.te" "square.te:1:9: error: dimension 0 of 'A' has extent 4294967296; at most 2147483647"
te huge 'input A[4611686018427387904] f32\nB[i < 2] = A[i]\n'
refused "$TMP/huge.te" "huge.te:1:9: error: dimension 0 of 'A' has extent 4611686018427387904"
te cube 'input A[2147483647, 2147483647, 2147483647] f32\nB[i < 2] = A[i, i, i]\n'
refused "$TMP/cube.te" "cube.te:1:7: error: 'A' \\[2147483647 x 2147483647 x 2147483647\\] f32 has more than 2\\^63 bytes"
# bytes: 2^40 is accepted, one more row is not
te tib 'input A[262144, 1048576] f32\nB[i < 2] = A[i, i]\n'
accepted "$TMP/tib.te"
te tib1 'input A[262145, 1048576] f32\nB[i < 2] = A[i, i]\n'
refused "$TMP/tib1.te" "tib1.te:1:7: error: 'A' \\[262145 x 1048576\\] f32 has 1099515822080 bytes"
# points and operations: 2^50 is accepted, more is not
te points 'C = sum(i < 1048576, j < 1048576, k < 1024) f32(i + j + k)\n'
accepted "$TMP/points.te"
te points1 'C = sum(i < 1048576, j < 1048576, k < 1025) f32(i + j + k)\n'
refused "$TMP/points1.te" "points1.te:1:1: error: 'C' iterates over 1126999418470400 points"
te flops1 'C = sum(i < 1048576, j < 1048576, k < 513) 2.0 * f32(i + j + k)\n'
refused "$TMP/flops1.te" "flops1.te:1:1: error: up to 'C' the graph does 1128098930098176 operations"
# index arithmetic leaves i32
te idxrange 'input A[4097]\nB[i < 4097] = A[i * 524288 / 524288]\n'
refused "$TMP/idxrange.te" "idxrange.te:2:19: error: the index arithmetic i \\* 524288 in 'B' reaches 2147483648"
# the docs: a reduce axis is used; a NUL byte is refused, in a comment too
te unused 'input A[8]\nB[i < 8] = sum(k < 8) A[i]\n'
refused "$TMP/unused.te" "unused.te:2:16: error: reduce axis 'k' of 'B' is not used in its body"
te nul 'input A[8]\n# a \0 comment\nB[i < 8] = A[i]\n'
refused "$TMP/nul.te" "nul.te:2:5: error: the file contains a NUL byte"
# the source size limit (1 MiB), naming the file and its size
{ printf 'input A[8]\nB[i < 8] = A[i]\n'; head -c 1048576 /dev/zero | tr '\0' '#'; } >"$TMP/toolong.te"
refused "$TMP/toolong.te" "toolong.te: error: the file has 1048603 bytes[;,] .*1048576"

echo "te_limits: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
