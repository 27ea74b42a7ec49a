#!/usr/bin/env bash
# The hand-written schedules of the examples: every examples/NAME.te has an
# examples/NAME.sched that lowers at the default shape and verifies (loop IR
# interpreter against the reference) at NAME's small shape from
# tests/small_shapes.txt.  Usage: test_sched_examples.sh PATH/TO/ftc
# The repository is $FTC_SOURCE_ROOT, or the parent of this script's folder.
set -uo pipefail
if [ $# -ne 1 ]; then
	echo "usage: $0 PATH/TO/ftc" >&2
	exit 2
fi
FTC=$1
. "$(dirname "$0")/lib.sh"
SHAPES=$ROOT/tests/small_shapes.txt

# fail NAME WHAT [FILE]: count a failed example and show the first lines
# of FILE.
fail() {
	fail=$((fail + 1))
	echo "FAIL: $1: $2"
	if [ -n "${3:-}" ] && [ -s "$3" ]; then
		sed 's/^/    /' "$3" | head -20
	fi
}

if [ ! -r "$SHAPES" ]; then
	echo "FAIL: cannot read $SHAPES"
	echo "sched-examples: 0 passed, 1 failed"
	exit 1
fi

found=0
for te in "$ROOT"/examples/*.te; do
	[ -e "$te" ] || continue
	found=1
	n=$(basename "$te" .te)
	sched=$ROOT/examples/$n.sched
	if [ ! -f "$sched" ]; then
		fail "$n" "no schedule examples/$n.sched"
		continue
	fi

	# Lower at the default shape.
	"$FTC" lower "$te" --schedule "$sched" >"$TMP/$n.lower" 2>"$TMP/$n.err"
	rc=$?
	if [ "$rc" -ne 0 ]; then
		fail "$n" "lower at the default shape exited $rc" "$TMP/$n.err"
		continue
	fi

	# Verify at the small shape: the first non-comment line whose first
	# word is $n; the rest of the line is NAME=VALUE tokens.
	if ! awk -v n="$n" '$1 !~ /^#/ && $1 == n { f = 1 } END { exit !f }' "$SHAPES"; then
		fail "$n" "no small shape for '$n' in tests/small_shapes.txt"
		continue
	fi
	shape=$(awk -v n="$n" '$1 !~ /^#/ && $1 == n { $1 = ""; sub(/^[ \t]+/, ""); print; exit }' "$SHAPES")
	defs=()
	for tok in $shape; do
		defs+=(-D "$tok")
	done
	"$FTC" run "$te" --interp "${defs[@]}" --schedule "$sched" >"$TMP/$n.run" 2>&1
	rc=$?
	if [ "$rc" -eq 0 ] && grep -qx 'verified' "$TMP/$n.run"; then
		pass=$((pass + 1))
	else
		fail "$n" "run --interp at the small shape ($shape) exited $rc, no 'verified'" "$TMP/$n.run"
	fi
done
if [ "$found" -eq 0 ]; then
	fail "examples" "no examples/*.te under $ROOT"
fi

echo "sched-examples: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
