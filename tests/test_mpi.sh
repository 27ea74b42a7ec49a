#!/usr/bin/env bash
# Several workloads in one tune, and tunes measured over MPI (issue 17):
# with `mpirun --oversubscribe -n 3` (rank 0 drives, two workers measure)
# the trial budget is met exactly, every record lands once (no duplicate
# uid, none lost), the best is verified, a second run measures nothing; a
# worker killed with SIGKILL ends the job with a db that `ftc db check`
# passes, and the same command resumes; the same multi-workload tune
# without MPI works.  Skipped (77) only when ftc was built without MPI.
# Usage: test_mpi.sh PATH/TO/ftc yes|no (MPI built) [PATH/TO/mpi_keep_dl.so]
set -uo pipefail
FTC=$1
. "$(dirname "$0")/lib.sh"

# The first value of a JSON number field (the tune's, before its workloads').
field() { grep -o "\"$1\": [0-9.]*" <<<"$2" | head -1 | sed 's/.*: //'; }
nrecords() { "$FTC" db export --db "$1" 2>/dev/null | wc -l; }
nuids() { "$FTC" db export --db "$1" 2>/dev/null | grep -o '"uid": *"[0-9a-f]*"' | sort -u | wc -l; }

A=("$ROOT/examples/gemm.te" -D M=32 -D N=32 -D K=32)
LIST=$TMP/net.list
cat >"$LIST" <<EOF
# two operators of a made-up network: the GEMM runs 3 times
$ROOT/examples/gemm.te weight=3 -D M=32 -D N=32 -D K=32
$ROOT/examples/gemv.te -D M=256 -D K=256
EOF
TGT=(--target "cpu -threads=1")

# Without MPI: two workloads, one budget, one table.
out=$("$FTC" tune --list "$LIST" --trials 24 --json "${TGT[@]}" --db "$TMP/local.db" 2>&1)
[ "$(field trials "$out")" = 24 ] && ok || bad "local multi-workload tune: trials $(field trials "$out") (want 24): $out"
[ "$(nrecords "$TMP/local.db")" = 24 ] && ok || bad "local: the db holds $(nrecords "$TMP/local.db") records (want 24)"
grep -q '"verified": true' <<<"$out" && ok || bad "local: no verified best: $out"
text=$("$FTC" tune --list "$LIST" --trials 24 "${TGT[@]}" --db "$TMP/local.db" 2>&1)
grep -Eq "^workload +weight +trials" <<<"$text" && grep -q "(0 measured now)" <<<"$text" && ok ||
	bad "local: a second tune measured again or printed no table: $text"
"$FTC" tune --list "$TMP/none.list" >/dev/null 2>&1 && bad "a missing --list file was accepted" || ok
echo "$ROOT/examples/gemm.te weight=-1" >"$TMP/bad.list"
out=$("$FTC" tune --list "$TMP/bad.list" 2>&1)
grep -q "bad.list:1: weight must be a positive number" <<<"$out" && ok || bad "a bad weight: $out"

# A --list line of TUNES_MAX_LINE (4096) characters is read, one more is refused by name.
{ printf '#%.0s' $(seq 4096); echo; echo "$ROOT/examples/gemm.te -D M=8 -D N=8 -D K=8"; } >"$TMP/long.list"
out=$("$FTC" tune --list "$TMP/long.list" --trials 2 --no-db --json 2>&1)
[ "$(field trials "$out")" = 2 ] && ok || bad "a 4096-character --list line: $out"
{ printf '#%.0s' $(seq 4097); echo; } >"$TMP/longer.list"
out=$("$FTC" tune --list "$TMP/longer.list" 2>&1)
grep -q "longer.list:1: a line over 4096 characters (TUNES_MAX_LINE)" <<<"$out" && ok || bad "a 4097-character line: $out"

if [ "${2:-no}" != yes ]; then
	echo "mpi: $pass passed, $fail failed (MPI not built: the MPI part skipped)"
	[ "$fail" -eq 0 ] || exit 1
	exit 77
fi

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
MPI=(mpirun --oversubscribe -n 3)
# Under AddressSanitizer: Open MPI's own allocations (kept until exit) are
# suppressed, its components kept mapped so that the suppressions can name
# them (tests/mpi_keep_dl.c; the sanitizer's runtime must come first).
asan=$(ldd "$FTC" | sed -n 's/.*libasan[^ ]* => \([^ ]*\) .*/\1/p')
if [ -n "$asan" ] && [ -n "${3:-}" ]; then
	export LSAN_OPTIONS="suppressions=$ROOT/tests/lsan-mpi.supp:print_suppressions=0:${LSAN_OPTIONS:-}"
	MPI+=(-x "LD_PRELOAD=$asan:$3")
fi

# Budget met exactly, each record once, the best verified.
DB=$TMP/mpi.db
out=$("${MPI[@]}" "$FTC" tune "${A[@]}" --trials 16 --json "${TGT[@]}" --db "$DB" 2>&1)
[ "$(field trials "$out")" = 16 ] && ok || bad "mpi: trials $(field trials "$out") (want 16): $out"
[ "$(field measured "$out")" = 16 ] && ok || bad "mpi: measured $(field measured "$out") (want 16)"
[ "$(nrecords "$DB")" = 16 ] && [ "$(nuids "$DB")" = 16 ] && ok ||
	bad "mpi: $(nrecords "$DB") records, $(nuids "$DB") distinct uids (want 16, 16)"
grep -q '"verified": true' <<<"$out" && ok || bad "mpi: the best is not verified: $out"
grep -Eq '"hosts": "[^"]*\(rank 1, [0-9]+\), [^"]*\(rank 2, [0-9]+\)' <<<"$out" && ok || bad "mpi: no hosts named: $out"
out=$("${MPI[@]}" "$FTC" tune "${A[@]}" --trials 16 --json "${TGT[@]}" --db "$DB" 2>&1)
[ "$(field measured "$out")" = 0 ] && ok || bad "mpi: a second run measured $(field measured "$out") (want 0)"
"$FTC" db check --db "$DB" >/dev/null 2>&1 && ok || bad "mpi: db check failed"

# Several workloads over MPI, then the same list locally: nothing more.
out=$("${MPI[@]}" "$FTC" tune --list "$LIST" --trials 20 --json "${TGT[@]}" --db "$TMP/mw.db" 2>&1)
[ "$(field trials "$out")" = 20 ] && [ "$(nrecords "$TMP/mw.db")" = 20 ] && [ "$(nuids "$TMP/mw.db")" = 20 ] && ok ||
	bad "mpi multi-workload: trials $(field trials "$out"), $(nrecords "$TMP/mw.db") records: $out"
out=$("$FTC" tune --list "$LIST" --trials 20 --json "${TGT[@]}" --db "$TMP/mw.db" 2>&1)
[ "$(field measured "$out")" = 0 ] && ok || bad "a local rerun of an MPI tune measured $(field measured "$out")"

# A worker killed with SIGKILL ends the job; what was stored is sound and
# the same command resumes.
KDB=$TMP/kill.db
"${MPI[@]}" "$FTC" tune "${A[@]}" --trials 24 --json "${TGT[@]}" --db "$KDB" >"$TMP/killed.out" 2>&1 &
job=$!
for _ in $(seq 600); do
	[ "$(nrecords "$KDB")" -ge 4 ] && break
	sleep 0.1
done
victim=""
for p in $(pgrep -x ftc); do
	if tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=1" &&
		[ "$(ps -o comm= -p "$(ps -o ppid= -p "$p" | tr -d ' ')")" != ftc ] &&
		grep -q "$KDB" "/proc/$p/cmdline" 2>/dev/null; then
		victim=$p
	fi
done
[ -n "$victim" ] && kill -9 "$victim" && ok || bad "no worker rank 1 to kill"
wait "$job"
rc=$?
[ "$rc" -ne 0 ] && ok || bad "the job went on after a worker died (exit 0)"
stored=$(nrecords "$KDB")
[ "$stored" -ge 4 ] && [ "$stored" -lt 24 ] && ok || bad "killed job stored $stored records"
"$FTC" db check --db "$KDB" >/dev/null 2>&1 && ok || bad "db check after a worker's SIGKILL failed"
out=$("${MPI[@]}" "$FTC" tune "${A[@]}" --trials 24 --json "${TGT[@]}" --db "$KDB" 2>&1)
from=$(field from_db "$out") measured=$(field measured "$out")
[ "$from" = "$stored" ] && [ "$measured" = $((24 - stored)) ] && [ "$(nuids "$KDB")" = 24 ] && ok ||
	bad "resume after a worker's SIGKILL: stored $stored, from_db $from, measured $measured: $out"
echo "SIGKILL of rank 1: $stored records survived; resumed with $from, measured $measured more"

echo "mpi: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
