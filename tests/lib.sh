# tests/lib.sh: what the shell tests share, sourced first thing after
# `set -uo pipefail`: ROOT (the source tree), TMP (a private directory,
# removed at exit), FTC_DB inside it (a test never touches the user's
# tuning db), the counters pass and fail, and
#   ok                          count a pass
#   bad MESSAGE...              count a failure and print it
#   expect NAME STATUS PATTERN -- CMD...
#                               run CMD: a pass when it exits STATUS and its
#                               output (stdout and stderr) matches the
#                               extended regex PATTERN; else print both
# A test ends with its own summary line ("NAME: P passed, F failed", which
# ./test adds up) and `[ "$fail" -eq 0 ]`.
ROOT=${FTC_SOURCE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export FTC_DB=$TMP/tuning.db
pass=0 fail=0

ok() { pass=$((pass + 1)); }

bad() {
	fail=$((fail + 1))
	echo "FAIL: $*"
}

expect() {
	local name=$1 want=$2 pattern=$3 out rc
	shift 4
	out=$("$@" 2>&1)
	rc=$?
	if [ "$rc" -eq "$want" ] && grep -Eq -- "$pattern" <<<"$out"; then
		ok
	else
		bad "$name: exit $rc (want $want), wanted /$pattern/, output:"
		sed 's/^/    /' <<<"$out" | head -20
	fi
}
