#!/usr/bin/env bash
# End-to-end tests of the tuning db through the ftc binary: warm start (a
# second tune measures nothing), ftc compile using the db's best, ftc db
# list/show/export/import/prune/check, the faults (a tuner killed with
# SIGKILL, then resumed; two tuners at once; a file that is not a db), the
# replay of records from another ftc version, every target kind's tune
# remembered (cuda on the CPU emulator, hls with the model), and ftc targets.
# Usage: test_db_cli.sh PATH/TO/ftc
set -uo pipefail
FTC=$1
. "$(dirname "$0")/lib.sh"

# The value of a JSON number field in ftc tune --json output.
field() { sed -n "s/.*\"$1\": \([0-9.]*\).*/\1/p" <<<"$2"; }
nrecords() { "$FTC" db export --db "$1" 2>/dev/null | wc -l; }

GEMM=(-D M=24 -D N=24 -D K=24 "$ROOT/examples/gemm.te")

# A first tune stores every measurement; a second with the same budget
# measures nothing, says so, and names the same best.
first=$("$FTC" tune --trials 6 --json "${GEMM[@]}" 2>&1)
[ "$(field measured "$first")" = 6 ] && ok || bad "first tune measured $(field measured "$first") (want 6)"
[ "$(nrecords "$FTC_DB")" = 6 ] && ok || bad "db holds $(nrecords "$FTC_DB") records after the first tune (want 6)"
second=$("$FTC" tune --trials 6 --json "${GEMM[@]}" 2>&1)
[ "$(field measured "$second")" = 0 ] && ok || bad "second tune measured $(field measured "$second") (want 0)"
[ "$(field from_db "$second")" = 6 ] && ok || bad "second tune took $(field from_db "$second") from the db (want 6)"
expect "second tune says so" 0 "nothing measured" -- "$FTC" tune --trials 6 "${GEMM[@]}"
s1=$(sed -n 's/.*"schedule": \("[^"]*"\).*/\1/p' <<<"$first")
s2=$(sed -n 's/.*"schedule": \("[^"]*"\).*/\1/p' <<<"$second")
[ -n "$s1" ] && [ "$s1" = "$s2" ] && ok || bad "second tune's best differs: $s1 vs $s2"
# A larger budget measures only the difference.
third=$("$FTC" tune --trials 9 --json "${GEMM[@]}" 2>&1)
[ "$(field measured "$third")" = 3 ] && ok || bad "third tune measured $(field measured "$third") (want 3)"
expect "tune --no-db" 0 '"measured": 3' -- "$FTC" tune --no-db --trials 3 --json "${GEMM[@]}"
[ "$(nrecords "$FTC_DB")" = 9 ] && ok || bad "--no-db wrote to the db"

# compile uses the db's best when no schedule is given.
expect "compile from db" 0 "using the tuning db's best schedule" -- "$FTC" compile -o "$TMP/lib" "${GEMM[@]}"
# (the db's best may be the naive schedule itself at this tiny size)
grep -Eq "schedule:      (the tuning db's best|naive)" "$TMP/lib/gemm.h" && ok || bad "gemm.h does not name the db's schedule"
expect "compile naive" 0 "no tuned schedule" -- "$FTC" compile -o "$TMP/lib2" -D M=8 -D N=8 -D K=8 "$ROOT/examples/gemm.te"

# ftc db: list, show, check, export -> import, prune.
expect "db list" 0 "C\[i < 24, j < 24\].*cpu -mcpu=" -- "$FTC" db list
hash=$("$FTC" db list | awk 'NR == 2 { print $1 }')
expect "db show hash" 0 "best: [0-9.]+ GFLOP/s" -- "$FTC" db show "${hash:0:8}"
expect "db show file" 0 "workload $hash" -- "$FTC" db show "${GEMM[@]}"
expect "db show unknown" 1 "no workload" -- "$FTC" db show ffffffffffff
expect "db check" 0 ": ok \(schema version [0-9]+\)" -- "$FTC" db check
expect "db export" 0 "exported 9 records" -- "$FTC" db export -o "$TMP/all.jsonl"
expect "db import" 0 "imported 9 records, skipped 0" -- "$FTC" db import --db "$TMP/copy.db" "$TMP/all.jsonl"
expect "db import again" 0 "imported 0 records, skipped 9" -- "$FTC" db import --db "$TMP/copy.db" "$TMP/all.jsonl"
"$FTC" db export --db "$TMP/copy.db" -o "$TMP/copy.jsonl" 2>/dev/null
# The same records, but an imported record is unverified here.
cmp -s <(sed 's/"verified":true/"verified":false/' "$TMP/all.jsonl" | sort) <(sort "$TMP/copy.jsonl") && ok ||
	bad "export of the imported db differs"
grep -q '"verified":true' "$TMP/copy.jsonl" && bad "an imported record is verified" || ok
expect "imported records are not the best" 0 "record.*verified" -- "$FTC" db show --db "$TMP/copy.db" "${GEMM[@]}"
"$FTC" db show --db "$TMP/copy.db" "${GEMM[@]}" 2>&1 | grep -q "best:" && bad "an imported record is the best" || ok
printf '{"uid": "x"\n' >"$TMP/broken.jsonl"
expect "db import malformed" 1 "broken.jsonl:1:" -- "$FTC" db import --db "$TMP/copy.db" "$TMP/broken.jsonl"
[ "$(nrecords "$TMP/copy.db")" = 9 ] && ok || bad "a malformed import changed the db"
# A tune replays the imported records (re-verified here) before one of
# them can be the best.
"$FTC" db import --db "$TMP/imp.db" "$TMP/all.jsonl" >/dev/null 2>&1
"$FTC" tune --trials 9 --db "$TMP/imp.db" "${GEMM[@]}" >/dev/null 2>&1
replays=$("$FTC" db export --db "$TMP/imp.db" 2>/dev/null | grep -c '"method":"replay"')
[ "$replays" -ge 1 ] && ok || bad "a tune did not replay the imported records"
expect "a replayed record is the best" 0 "best: [0-9.]+ GFLOP/s.*(replay|sa-q)" -- "$FTC" db show --db "$TMP/imp.db" "${GEMM[@]}"

# Import checks each line: the workload hash against its text, the flops,
# the numbers; a bad line is refused with its number and nothing imported.
line1=$(head -1 "$TMP/all.jsonl")
hash1=$(sed -n 's/^{"workload":"\([0-9a-f]*\)".*/\1/p' <<<"$line1")
fresh() { sed 's/"uid":"[0-9a-f]*"/"uid":"0123456789abcdef0123456789abcdef"/' <<<"$1"; }
printf '%s\n%s\n' "$(fresh "$line1" | sed 's/"uid":"0123/"uid":"4567/')" \
	"$(fresh "$line1" | sed "s/\"workload\":\"$hash1\"/\"workload\":\"00000000$(cut -c9-16 <<<"$hash1")\"/")" >"$TMP/badhash.jsonl"
expect "import: hash of another workload" 1 "badhash.jsonl:2: \"workload\" is 00000000.* but \"workload_text\" hashes to $hash1" -- \
	"$FTC" db import --db "$TMP/copy.db" "$TMP/badhash.jsonl"
fresh "$line1" | sed 's/"seconds":[0-9.e-]*/"seconds":-1/' >"$TMP/negative.jsonl"
expect "import: negative time" 1 "negative.jsonl:1: \"seconds\" must be a positive time" -- \
	"$FTC" db import --db "$TMP/copy.db" "$TMP/negative.jsonl"
fresh "$line1" | sed 's/"gflops":[0-9.e-]*/"gflops":123456/' >"$TMP/gflops.jsonl"
expect "import: gflops that do not agree" 1 "gflops.jsonl:1: \"gflops\" is 123456 but" -- \
	"$FTC" db import --db "$TMP/copy.db" "$TMP/gflops.jsonl"
[ "$(nrecords "$TMP/copy.db")" = 9 ] && ok || bad "a refused import changed the db"

# export -o over the db itself (by name, through a symlink, a hard link)
# is refused before the db is opened, and the db keeps every byte.
sum=$(cksum <"$TMP/copy.db")
ln -s copy.db "$TMP/copy.link"
ln "$TMP/copy.db" "$TMP/copy.hard"
for out in "$TMP/copy.db" "$TMP/copy.link" "$TMP/copy.hard" "$TMP/../$(basename "$TMP")/copy.db"; do
	expect "export -o the db ($out)" 1 "is the same file as the tuning db" -- \
		"$FTC" db export --db "$TMP/copy.db" -o "$out"
done
expect "export -o /dev/null refused" 1 "not a regular file" -- "$FTC" db export --db "$TMP/copy.db" -o /dev/null
[ "$sum" = "$(cksum <"$TMP/copy.db")" ] && ok || bad "export -o the db changed it"
expect "db check after export refusals" 0 ": ok" -- "$FTC" db check --db "$TMP/copy.db"
expect "export to a full stdout" 1 "cannot write the export of .*copy.db: No space left on device \(to standard output\)" -- \
	sh -c '"$1" db export --db "$2" >/dev/full' sh "$FTC" "$TMP/copy.db"
# An export to a file replaces it whole, and leaves no temporary file.
echo old >"$TMP/out.jsonl"
expect "export -o a file" 0 "exported 9 records" -- "$FTC" db export --db "$TMP/copy.db" -o "$TMP/out.jsonl"
cmp -s "$TMP/out.jsonl" "$TMP/copy.jsonl" && ok || bad "export -o wrote something else"
ls -a "$TMP" | grep -q "tmp-" && bad "export left a temporary file: $(ls -a "$TMP")" || ok

# A corrupt or incomplete db is refused before the first write.
cp "$FTC_DB" "$TMP/damaged.db"
pages=$(($(stat -c %s "$TMP/damaged.db") / 4096))
head -c 4096 /dev/zero | tr '\0' '\377' | dd of="$TMP/damaged.db" bs=4096 seek=$((pages - 1)) conv=notrunc status=none
sum=$(cksum <"$TMP/damaged.db")
expect "damaged last page refused" 1 "damaged.db: the tuning db is corrupt.*ftc will not write it" -- \
	"$FTC" tune --trials 12 --db "$TMP/damaged.db" "${GEMM[@]}"
[ "$sum" = "$(cksum <"$TMP/damaged.db")" ] && ok || bad "tune wrote to a db with a damaged last page"
ls "$TMP"/damaged.db-* >/dev/null 2>&1 && bad "files left beside the refused db: $(ls "$TMP"/damaged.db-*)" || ok
cp "$FTC_DB" "$TMP/nobest.db"
sqlite3 "$TMP/nobest.db" "DROP TABLE best"
sum=$(cksum <"$TMP/nobest.db")
expect "db without best refused" 1 "nobest.db: the tuning db is damaged.*no such table: best" -- \
	"$FTC" tune --trials 12 --db "$TMP/nobest.db" "${GEMM[@]}"
[ "$sum" = "$(cksum <"$TMP/nobest.db")" ] && ok || bad "tune wrote to a db without its best table"
# A --db that is a symlink to /dev/null, or a FIFO: refused, no journal.
ln -s /dev/null "$TMP/null.db"
had=$([ -e /dev/null-journal ] && echo yes || echo no)
expect "db symlink to /dev/null" 1 "null.db: is a character device, not a tuning db" -- \
	"$FTC" tune --trials 2 --db "$TMP/null.db" "${GEMM[@]}"
[ "$had" = "$([ -e /dev/null-journal ] && echo yes || echo no)" ] && ok || bad "tune made /dev/null-journal"
mkfifo "$TMP/fifo.db"
expect "db FIFO" 1 "fifo.db: is a FIFO" -- timeout 20 "$FTC" db list --db "$TMP/fifo.db"
# Workloads deleted behind ftc's back: a new workload gets a fresh id and
# none of the orphaned records.
cp "$FTC_DB" "$TMP/orphans.db"
sqlite3 "$TMP/orphans.db" "DELETE FROM best; DELETE FROM workloads"
expect "tune beside orphans" 0 '"from_db": 0' -- "$FTC" tune --trials 2 --json --db "$TMP/orphans.db" -D M=8 -D N=8 -D K=8 "$ROOT/examples/gemm.te"
expect "orphans are reported" 1 "refers to a missing workloads row" -- "$FTC" db check --db "$TMP/orphans.db"

# A db write that fails (the file size limit, as a full disk) is the
# user's environment: exit 1, naming the file.
# 100 new records need more WAL than 36 KiB (the -shm file takes 32).
cp "$TMP/copy.db" "$TMP/full.db"
for i in $(seq 100); do
	sed "s/\"uid\":\"[0-9a-f]*\"/\"uid\":\"$(printf '%032x' "$i")\"/" <<<"$line1"
done >"$TMP/many.jsonl"
out=$( (trap '' XFSZ; ulimit -f 36; "$FTC" db import --db "$TMP/full.db" "$TMP/many.jsonl") 2>&1)
rc=$?
[ "$rc" = 1 ] && grep -q "full.db: .*disk I/O error" <<<"$out" && ok ||
	bad "import at a full disk: exit $rc: $out"
[ "$(nrecords "$TMP/full.db")" = 9 ] && ok || bad "import at a full disk changed the db"
expect "db check after a full disk" 0 ": ok" -- "$FTC" db check --db "$TMP/full.db"
# A tune whose db fills the disk midway stops, says so naming the file,
# exits 1, and leaves a sound db.
cp "$FTC_DB" "$TMP/tfull.db"
out=$( (trap '' XFSZ; ulimit -f 40; "$FTC" tune --trials 60 --db "$TMP/tfull.db" "${GEMM[@]}") 2>&1)
rc=$?
[ "$rc" = 1 ] && grep -q "ftc tune: the tuning db: .*tfull.db: .*disk I/O error" <<<"$out" && ok ||
	bad "tune at a full disk: exit $rc: $(head -c 600 <<<"$out")"
expect "db check after a tune at a full disk" 0 ": ok" -- "$FTC" db check --db "$TMP/tfull.db"
# A db on a read-only file system (a read-only bind mount in a private
# mount namespace, where the kernel allows one): exit 1, naming the file
# and why.
mkdir -p "$TMP/ro" "$TMP/rosrc"
cp "$TMP/copy.db" "$TMP/rosrc/t.db"
if unshare -rm true 2>/dev/null; then
	out=$(unshare -rm sh -c 'mount --bind "$1" "$2" && mount -o remount,bind,ro "$2" && shift 2 && exec "$@"' \
		sh "$TMP/rosrc" "$TMP/ro" "$FTC" tune --trials 12 --db "$TMP/ro/t.db" "${GEMM[@]}" 2>&1)
	rc=$?
	[ "$rc" = 1 ] && grep -q "ro/t.db: .*Read-only file system" <<<"$out" && ok ||
		bad "tune on a read-only file system: exit $rc: $out"
else
	echo "note: unshare -rm is not permitted here; the read-only file system case was not run"
fi
expect "db prune" 0 "removed [0-9]+ records" -- "$FTC" db prune --keep 2 --db "$TMP/copy.db"
expect "db check after prune" 0 ": ok" -- "$FTC" db check --db "$TMP/copy.db"
expect "db no subcommand" 1 "give a subcommand" -- "$FTC" db
expect "db unknown subcommand" 1 "unknown subcommand 'frob'" -- "$FTC" db frob
expect "db missing" 1 "no tuning db at" -- "$FTC" db list --db "$TMP/none.db"
[ ! -e "$TMP/none.db" ] && ok || bad "db list created a db"
expect "db help" 0 "usage: ftc db list" -- "$FTC" db --help

# Faults: a file that is not a db is refused and left alone.
head -c 4096 /dev/urandom >"$TMP/junk.db"
cp "$TMP/junk.db" "$TMP/junk.orig"
expect "junk db refused" 1 "junk.db: not an SQLite database" -- "$FTC" tune --trials 2 --db "$TMP/junk.db" "${GEMM[@]}"
cmp -s "$TMP/junk.db" "$TMP/junk.orig" && ok || bad "the junk file was changed"
expect "junk db check" 1 "not an SQLite database" -- "$FTC" db check --db "$TMP/junk.db"

# A tuner killed with SIGKILL mid-tune: the db stays sound, the next tune
# resumes from what was stored and measures only the rest.
KDB=$TMP/kill.db
"$FTC" tune --trials 20 --json --db "$KDB" "${GEMM[@]}" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 200); do
	[ "$(nrecords "$KDB")" -ge 4 ] && break
	sleep 0.1
done
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
stored=$(nrecords "$KDB")
[ "$stored" -ge 4 ] && [ "$stored" -lt 21 ] && ok || bad "killed tuner stored $stored records"
expect "db check after SIGKILL" 0 ": ok" -- "$FTC" db check --db "$KDB"
resumed=$("$FTC" tune --trials 20 --json --db "$KDB" "${GEMM[@]}" 2>&1)
from=$(field from_db "$resumed") measured=$(field measured "$resumed")
# The resumed tune measures the rest of the 20.
[ "$from" = "$stored" ] && [ "$measured" = $((20 - from)) ] && ok ||
	bad "resume after SIGKILL: stored $stored, from_db $from, measured $measured"
echo "SIGKILL: $stored records survived the kill; resumed with $from, measured $measured more"

# Two tuners on one db at once both finish with all their records.
CDB=$TMP/concurrent.db
"$FTC" tune --trials 8 --seed 1 --json --db "$CDB" -D M=20 -D N=20 -D K=20 "$ROOT/examples/gemm.te" >"$TMP/c1" 2>&1 &
p1=$!
"$FTC" tune --trials 8 --seed 2 --json --db "$CDB" -D M=20 -D N=20 -D K=20 "$ROOT/examples/gemm.te" >"$TMP/c2" 2>&1 &
p2=$!
wait "$p1"; r1=$?
wait "$p2"; r2=$?
m1=$(field measured "$(cat "$TMP/c1")") m2=$(field measured "$(cat "$TMP/c2")")
total=$(nrecords "$CDB")
[ "$r1" = 0 ] && [ "$r2" = 0 ] && [ "$total" = $((m1 + m2)) ] && ok ||
	bad "two tuners: exits $r1 $r2, measured $m1 + $m2, db holds $total"
expect "db check after two tuners" 0 ": ok" -- "$FTC" db check --db "$CDB"
echo "two tuners: measured $m1 and $m2, the db holds $total records"

# Records of another ftc version are replayed (re-verified, re-measured)
# rather than trusted: import them as if an older ftc had made them.
sed 's/"compiler": *"[^"]*"/"compiler":"0.0.1-old"/' "$TMP/all.jsonl" >"$TMP/old.jsonl"
"$FTC" db import --db "$TMP/old.db" "$TMP/old.jsonl" >/dev/null 2>&1
expect "compile replays the old best" 0 "using the tuning db's best" -- "$FTC" compile -o "$TMP/lib3" --db "$TMP/old.db" "${GEMM[@]}"
methods=$("$FTC" db export --db "$TMP/old.db" 2>/dev/null | grep -o '"method": *"[a-z-]*"' | sort | uniq -c)
grep -q '"replay"' <<<"$methods" && ok || bad "no replay record stored: $methods"
replayed=$("$FTC" tune --trials 4 --json --db "$TMP/old.db" "${GEMM[@]}" 2>&1)
[ "$(field from_db "$replayed")" -ge 1 ] && ok || bad "a tune did not start from the replayed records: $replayed"

# Every target kind (cuda on the CPU emulator, hls with the model): the
# db remembers its tune (a second one measures nothing), ftc db list and
# show name it and what measured it, ftc compile uses its best, and
# --patience, --db and --no-db mean the same for every target.
SMALL=(-D M=16 -D N=16 -D K=16 "$ROOT/examples/gemm.te")
TDB=$TMP/targets.db
UNUSED=$TMP/unused.db
for target in hls "cuda -arch=sm_80"; do
	first=$(FTC_DB=$UNUSED FTC_CUDA_EMULATE=1 "$FTC" tune --target "$target" --trials 6 --json --db "$TDB" "${SMALL[@]}" 2>&1)
	[ "$(field measured "$first")" = 6 ] && ok || bad "$target: first tune measured $(field measured "$first") (want 6): $first"
	grep -q '"verified": true' <<<"$first" && ok || bad "$target: the best is not verified: $first"
	second=$(FTC_CUDA_EMULATE=1 "$FTC" tune --target "$target" --trials 6 --json --db "$TDB" "${SMALL[@]}" 2>&1)
	[ "$(field measured "$second")" = 0 ] && ok || bad "$target: second tune measured $(field measured "$second") (want 0)"
	[ "$(field from_db "$second")" = 6 ] && ok || bad "$target: second tune took $(field from_db "$second") from the db"
	expect "$target: compile uses the db" 0 "using the tuning db's best schedule" -- \
		env FTC_CUDA_EMULATE=1 "$FTC" compile --target "$target" --db "$TDB" -o "$TMP/out-${target%% *}" "${SMALL[@]}"
	expect "$target: --patience" 0 "stopped by no gain in 2 trials" -- env FTC_DB=$UNUSED FTC_CUDA_EMULATE=1 \
		"$FTC" tune --target "$target" --trials 100 --patience 2 --no-db --method random "${SMALL[@]}"
done
[ ! -e "$UNUSED" ] && ok || bad "--db or --no-db was not honoured for cuda or hls: $UNUSED was written"
expect "db list shows the hls tune" 0 "hls -part=xcvu9p" -- "$FTC" db list --db "$TDB"
expect "db list shows the cuda tune" 0 "cuda -arch=sm_80" -- "$FTC" db list --db "$TDB"
expect "db show names what measured cuda" 0 "target cuda -arch=sm_80 \(the CPU emulator" -- \
	"$FTC" db show --db "$TDB" "${SMALL[@]}"
expect "db show names the part hls estimated" 0 "target hls -part=xcvu9p -clock=300MHz \(xcvu9p at 300 MHz" -- \
	"$FTC" db show --db "$TDB" "${SMALL[@]}"

# ftc targets describes the host.
expect "targets" 0 "cpu +cpu -mcpu=" -- "$FTC" targets
expect "targets help" 0 "usage: ftc targets" -- "$FTC" targets --help
expect "targets bad" 1 "unknown option" -- "$FTC" targets --frob

echo "db_cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
