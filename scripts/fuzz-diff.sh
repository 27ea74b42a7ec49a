#!/usr/bin/env bash
# scripts/fuzz-diff.sh [SECONDS | --cases N] [--seed S] [--findings FILE]:
# a differential fuzzing campaign (tests/difffuzz/difffuzz.c): random
# schedules of every example at random small, odd shapes, compiled with
# LLVM in an isolated child and compared with the reference interpreter.
# Default: 600 seconds, seed = the time.  Builds build/ as ./test does
# ($FTC_BUILD names another build folder, e.g. build-ci for ASan).  Each
# finding prints a reproducer (`ftc run FILE.te -D ... --schedule S`),
# also appended to FILE (default: BUILD/difffuzz-findings.txt); the end
# is a summary: cases run, refusals and internal errors by message,
# mismatches, crashes, hangs.  Runs under nice.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

budget=(--seconds 600) seed=$(date +%s) findings=
while [ $# -gt 0 ]; do
	case "$1" in
	--cases) budget=(--cases "$2"); shift ;;
	--seed) seed=$2; shift ;;
	--findings) findings=$2; shift ;;
	-h | --help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	[0-9]*) budget=(--seconds "$1") ;;
	*) echo "fuzz-diff.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done

dir=${FTC_BUILD:-$FTC_ROOT/build}
ftc_install_deps
[ -f "$dir/build.ninja" ] || ftc_build "$dir" -Dwerror=false
meson compile -C "$dir" tests/difffuzz >/dev/null
findings=${findings:-$dir/difffuzz-findings.txt}
echo "fuzz-diff: seed $seed, findings appended to $findings"
FTC_SOURCE_ROOT=$FTC_ROOT CK_VERBOSITY=silent exec nice "$dir/tests/difffuzz" "${budget[@]}" --seed "$seed" \
	--known "$FTC_ROOT/tests/difffuzz/known.txt" --findings "$findings"
