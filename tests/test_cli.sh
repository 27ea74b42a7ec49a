#!/usr/bin/env bash
# End-to-end tests of the ftc binary: exit codes, messages, --help, and
# check/eval on every example.  Usage: test_cli.sh PATH/TO/ftc
set -uo pipefail
FTC=$1
. "$(dirname "$0")/lib.sh"

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
expect "tune json model" 0 '"model_records": 0, "skipped_by_model": 0, "model_audits": 0' -- "$FTC" tune --trials 3 --json --no-model -D M=12 -D N=16 -D K=16 "$ROOT/examples/gemm.te"
expect "tune constructed" 0 '"constructed": [1-9]' -- "$FTC" tune --trials 4 --json --no-db -D M=16 -D N=20 -D K=16 "$ROOT/examples/gemm.te"
expect "tune no constructed" 0 '"measured": 4, "from_db": 0, "constructed": 0,' -- "$FTC" tune --trials 4 --json --no-db --no-constructed -D M=16 -D N=20 -D K=16 "$ROOT/examples/gemm.te"
expect "tune space too big, located" 1 'conv2d_transposed.te:24:1: error: Ph: too many loops to tile: .* make 33 loops \(at most 32\)' -- "$FTC" tune --trials 1 --no-db -D N=2 "$ROOT/examples/conv2d_transposed.te"
expect "no-model elsewhere" 1 "does not apply" -- "$FTC" run --no-model "$ROOT/examples/gemm.te"
expect "db option elsewhere" 1 "does not apply" -- "$FTC" run --db x.db "$ROOT/examples/gemm.te"
expect "lower target" 0 "^func gemm" -- "$FTC" lower --target "cpu -threads=1" -D M=4 -D N=4 -D K=4 "$ROOT/examples/gemm.te"
expect "lower bad target" 1 "target" -- "$FTC" lower --target "gpu" -D M=4 -D N=4 -D K=4 "$ROOT/examples/gemm.te"
for cmd in db targets; do
	expect "$cmd --help" 0 "usage: ftc $cmd" -- "$FTC" "$cmd" --help
done
expect "targets --peak" 0 '"fma_gflops": \[[0-9.]+, [0-9.]+\], .*"triad_gbs"' -- "$FTC" targets --peak --json
expect "targets --json alone" 1 "goes with --peak" -- "$FTC" targets --json

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

# ---- Outputs never overwrite inputs (issue 12, item 4) ----
# unchanged NAME FILE COPY: FILE still has the bytes of COPY.
unchanged() {
	if cmp -s "$2" "$3"; then pass=$((pass + 1)); else
		fail=$((fail + 1)); echo "FAIL: $1: '$2' was changed"; fi
}
# absent NAME PATH...: none of the paths exists.
absent() {
	local name=$1 p
	shift
	for p in "$@"; do
		if [ -e "$p" ] || [ -L "$p" ]; then fail=$((fail + 1)); echo "FAIL: $name: '$p' was written"; return; fi
	done
	pass=$((pass + 1))
}
O=$TMP/over
mkdir -p "$O"
cp "$ROOT/examples/gemm.te" "$O/gemm.te"
cp "$O/gemm.te" "$O/gemm.te.orig"
SMALL=(-D M=8 -D N=8 -D K=8)
"$FTC" tune --trials 2 --quiet "${SMALL[@]}" --db "$O/x.db" "$O/gemm.te" >/dev/null 2>&1
cp "$O/x.db" "$O/x.db.orig"
expect "save-schedule over the db" 1 "save-schedule '.*x.db' is the same file as the tuning db" -- \
	"$FTC" tune --trials 2 "${SMALL[@]}" --db "$O/x.db" --save-schedule "$O/x.db" "$O/gemm.te"
unchanged "save-schedule over the db" "$O/x.db" "$O/x.db.orig"
expect "save-schedule over the .te" 1 "is the same file as the .te file" -- \
	"$FTC" tune --trials 2 "${SMALL[@]}" --db "$O/x.db" --save-schedule "$O/gemm.te" "$O/gemm.te"
unchanged "save-schedule over the .te" "$O/gemm.te" "$O/gemm.te.orig"
ln -s gemm.te "$O/link.sched"
ln "$O/gemm.te" "$O/hard.sched"
expect "save-schedule through a symlink" 1 "link.sched' is the same file as the .te file" -- \
	"$FTC" tune --trials 2 "${SMALL[@]}" --no-db --save-schedule "$O/link.sched" "$O/gemm.te"
expect "save-schedule through a hard link" 1 "hard.sched' is the same file as the .te file" -- \
	"$FTC" tune --trials 2 "${SMALL[@]}" --no-db --save-schedule "$O/hard.sched" "$O/gemm.te"
unchanged "save-schedule through links" "$O/gemm.te" "$O/gemm.te.orig"
expect "save-schedule over the db FTC_DB names" 1 "same file as the tuning db" -- \
	env FTC_DB="$O/x.db" "$FTC" tune --trials 2 "${SMALL[@]}" --save-schedule "$O/./x.db" "$O/gemm.te"
expect "save-schedule over a db not yet created" 1 "same file as the tuning db" -- \
	"$FTC" tune --trials 2 "${SMALL[@]}" --db "$O/new.db" --save-schedule "$O/../over/new.db" "$O/gemm.te"
absent "save-schedule over a db not yet created" "$O/new.db"
expect "save-schedule over a device" 1 "'/dev/null' exists and is not a regular file" -- \
	"$FTC" tune --trials 2 "${SMALL[@]}" --no-db --save-schedule /dev/null "$O/gemm.te"
expect "save-schedule writes" 0 "best:" -- \
	"$FTC" tune --trials 2 "${SMALL[@]}" --db "$O/x.db" --save-schedule "$O/best.sched" "$O/gemm.te"
if [ -f "$O/best.sched" ] && ! ls -A "$O" | grep -q '\.tmp-'; then pass=$((pass + 1)); else
	fail=$((fail + 1)); echo "FAIL: save-schedule: no file, or a temporary left: $(ls -A "$O")"; fi
chmod 600 "$O/best.sched"
"$FTC" tune --trials 2 "${SMALL[@]}" --db "$O/x.db" --save-schedule "$O/best.sched" "$O/gemm.te" >/dev/null 2>&1
if [ "$(stat -c %a "$O/best.sched")" = 600 ]; then pass=$((pass + 1)); else
	fail=$((fail + 1)); echo "FAIL: save-schedule: the replaced file lost its mode ($(stat -c %a "$O/best.sched"))"; fi
# compile: no output file may be the .te file, the schedule or the db.
cp "$O/gemm.te" "$O/k.h"
expect "compile over its .te" 1 "the output '.*/k.h' is the same file as the .te file" -- \
	"$FTC" compile "${SMALL[@]}" "$O/k.h" -o "$O"
unchanged "compile over its .te" "$O/k.h" "$O/gemm.te.orig"
absent "compile over its .te: nothing written" "$O/k.o" "$O/libk.a"
printf 'split C i 2\n' >"$O/gemm.o"
cp "$O/gemm.o" "$O/gemm.o.orig"
expect "compile over its schedule" 1 "gemm.o' is the same file as the schedule" -- \
	"$FTC" compile "${SMALL[@]}" --schedule "$O/gemm.o" "$O/gemm.te" -o "$O"
unchanged "compile over its schedule" "$O/gemm.o" "$O/gemm.o.orig"
cp "$O/x.db" "$O/libgemm.a"
expect "compile over the db" 1 "libgemm.a' is the same file as the tuning db" -- \
	"$FTC" compile "${SMALL[@]}" --db "$O/libgemm.a" "$O/gemm.te" -o "$O"
unchanged "compile over the db" "$O/libgemm.a" "$O/x.db.orig"
cp "$O/gemm.te" "$O/g.c"
expect "compile hls over its .te" 1 "g.c' is the same file as the .te file" -- \
	"$FTC" compile --target hls "${SMALL[@]}" "$O/g.c" -o "$O"
expect "compile cuda over its .te" 1 "g.c' is the same file as the .te file" -- \
	"$FTC" compile --target cuda "${SMALL[@]}" "$O/g.c" -o "$O"
unchanged "compile hls/cuda over its .te" "$O/g.c" "$O/gemm.te.orig"
absent "compile hls/cuda over its .te: nothing written" "$O/g.h" "$O/g.ptx" "$O/g_tb.c"
expect "FTC_DUMP_LLVM over the .te" 0 "FTC_DUMP_LLVM '.*gemm.te' is the same file as the .te file" -- \
	env FTC_DUMP_LLVM="$O/gemm.te" "$FTC" run "${SMALL[@]}" "$O/gemm.te"
unchanged "FTC_DUMP_LLVM over the .te" "$O/gemm.te" "$O/gemm.te.orig"

# ---- Reading: only regular files, with a size limit (item 6) ----
expect "read a device" 1 "/dev/zero: error: not a regular file" -- timeout 60 "$FTC" check /dev/zero
mkfifo "$TMP/fifo.te"
expect "read a FIFO" 1 "fifo.te: error: not a regular file" -- timeout 60 "$FTC" check "$TMP/fifo.te"
expect "read a directory" 1 "error: not a regular file|error: cannot" -- "$FTC" check "$TMP"
LIMIT=$((1 << 20)) # TE_MAX_SOURCE, which cli_read_file applies
{ cat "$ROOT/examples/gemm.te"; head -c $((LIMIT - $(wc -c <"$ROOT/examples/gemm.te") - 1)) /dev/zero | tr '\0' '#'; echo; } >"$TMP/atlimit.te"
expect "a .te file at the size limit" 0 "^C\[i < 1024" -- "$FTC" check "$TMP/atlimit.te"
printf '#' >>"$TMP/atlimit.te"
expect "a .te file over the size limit" 1 "atlimit.te: error: the file has 1048577 bytes, more than the limit of 1048576" -- \
	"$FTC" check "$TMP/atlimit.te"
expect "a schedule from a device" 1 "/dev/zero: error: not a regular file" -- \
	timeout 60 "$FTC" lower "${SMALL[@]}" --schedule /dev/zero "$ROOT/examples/gemm.te"

# ---- Exit codes of the user's environment (item 7) ----
# Out of memory on a huge shape: exit 1, naming the bytes (ASan must let
# malloc fail rather than abort).
printf 'input A[65536, 1048576] f32\nB[i < 65536, j < 1048576] = A[i, j] * 2.0\n' >"$TMP/huge.te"
for cmd in eval run; do
	expect "$cmd out of memory" 1 "error: out of memory: cannot allocate 274877906944 bytes for tensor 'A'" -- \
		env ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}allocator_may_return_null=1" "$FTC" $cmd "$TMP/huge.te"
done
expect "compile: over the check limit" 1 "6.87e\+10 FLOP is more than ftc compile checks \(at most 1.6e\+10" -- \
	"$FTC" compile "$TMP/huge.te" -o "$TMP/hugelib"
absent "compile: over the check limit writes nothing" "$TMP/hugelib"
# A failed write (a full disk, here a file size limit: EFBIG) is exit 1
# naming the file (the header: a back end makes every file in memory, then
# the driver writes them in order), and leaves the old file and no
# temporary behind.
mkdir -p "$TMP/full"
printf 'old\n' >"$TMP/full/gemm.h"
: >"$TMP/naive.sched" # no db: SQLite cannot open one under this limit
expect "compile on a full disk" 1 "cannot write '.*/full/gemm\.h'.*File too large" -- \
	bash -c 'trap "" XFSZ; ulimit -f 0; exec "$@"' sh "$FTC" compile -D M=64 -D N=64 -D K=64 \
	--schedule "$TMP/naive.sched" "$ROOT/examples/gemm.te" -o "$TMP/full"
if [ "$(cat "$TMP/full/gemm.h")" = old ] && [ "$(ls -A "$TMP/full")" = gemm.h ]; then pass=$((pass + 1)); else
	fail=$((fail + 1)); echo "FAIL: full disk: the old file changed or files were left: $(ls -A "$TMP/full")"; fi
expect "save-schedule cannot be written" 1 "cannot write '.*/nodir/best.sched': No such file or directory" -- \
	"$FTC" tune --trials 2 "${SMALL[@]}" --no-db --save-schedule "$TMP/nodir/best.sched" "$ROOT/examples/gemm.te"
expect "an output directory that cannot be made" 1 "cannot create directory '/proc/ftc-no'" -- \
	"$FTC" compile "${SMALL[@]}" "$ROOT/examples/gemm.te" -o /proc/ftc-no/lib
# Names that clash with libc, libm, the runtime or C are refused.
for n in free main malloc expf sqrtl read mmap pthread_create posix_memalign rt_alloc ftc_rt_free int class _Exit; do
	expect "--name $n" 1 "the function name '$n' (is|begins)" -- \
		"$FTC" compile "${SMALL[@]}" --name "$n" "$ROOT/examples/gemm.te" -o "$TMP/names"
done
absent "refused names write nothing" "$TMP/names"
expect "--name total (a future-library name no library defines)" 0 "wrote" -- \
	"$FTC" compile "${SMALL[@]}" --name total "$ROOT/examples/gemm.te" -o "$TMP/names"

# ---- compile checks what it writes (item 1) ----
expect "compile checks" 0 "checked the compiled kernel against the reference interpreter at the compiled shape \(seed 1\): verified" -- \
	"$FTC" compile "${SMALL[@]}" "$ROOT/examples/gemm.te" -o "$TMP/checked"
# FTC_TEST_CORRUPT_OUTPUT (a test hook) perturbs one output element after
# the kernel ran, as a miscompilation would: nothing may be written.
for target in cpu hls cuda; do
	expect "compile refuses a wrong kernel ($target)" 1 "does not match the reference interpreter: C: 1 of 64 elements outside tolerance.*nothing written" -- \
		env FTC_TEST_CORRUPT_OUTPUT=1 "$FTC" compile --target "$target" "${SMALL[@]}" "$ROOT/examples/gemm.te" -o "$TMP/wrong-$target"
	absent "compile refuses a wrong kernel ($target): nothing written" "$TMP/wrong-$target"
done
expect "run reports a wrong kernel" 1 "^MISMATCH$" -- \
	env FTC_TEST_CORRUPT_OUTPUT=1 "$FTC" run "${SMALL[@]}" "$ROOT/examples/gemm.te"
expect "compile --no-check" 0 "warning: --no-check" -- \
	env FTC_TEST_CORRUPT_OUTPUT=1 "$FTC" compile --no-check "${SMALL[@]}" "$ROOT/examples/gemm.te" -o "$TMP/unchecked"
if grep -q '^ \* checked: *no (ftc compile --no-check)$' "$TMP/unchecked/gemm.h"; then pass=$((pass + 1)); else
	fail=$((fail + 1)); echo "FAIL: --no-check: the header does not say so"; fi
# The schedules issue 12 found miscompiled: whatever the code generator
# does with them, compile's verdict must be run's (a library is written
# exactly when run verifies).
printf 'split C i 2\nvectorize C i.i\ncache_write C j local\n' >"$TMP/mis1.sched"
printf 'cache_read A C j stack\n' >"$TMP/mis2.sched"
for m in "mis1 3 1 1" "mis2 3 2 3"; do
	set -- $m
	"$FTC" run -D M=$2 -D N=$3 -D K=$4 --schedule "$TMP/$1.sched" "$ROOT/examples/gemm.te" >"$TMP/$1.run" 2>&1
	run_rc=$?
	"$FTC" compile -D M=$2 -D N=$3 -D K=$4 --schedule "$TMP/$1.sched" "$ROOT/examples/gemm.te" -o "$TMP/$1.lib" >"$TMP/$1.out" 2>&1
	comp_rc=$?
	if [ "$run_rc" -eq "$comp_rc" ] && { [ "$comp_rc" -eq 0 ] || [ ! -e "$TMP/$1.lib" ]; } &&
		{ [ "$comp_rc" -eq 0 ] || grep -q "nothing written" "$TMP/$1.out"; }; then pass=$((pass + 1)); else
		fail=$((fail + 1)); echo "FAIL: $1: run exit $run_rc, compile exit $comp_rc:"; sed 's/^/    /' "$TMP/$1.run" "$TMP/$1.out" | head -20; fi
done
# The loop IR check has its own limit (CLI_CHECK_MAX_LIR_FLOPS, 1e9).
expect "compile hls over the loop IR check limit" 1 "2e\+09 FLOP is more than ftc compile checks \(at most 1e\+09 FLOP, about 100 s of the loop IR interpreter" -- \
	"$FTC" compile --target hls -D M=1000 -D N=1000 -D K=1000 "$ROOT/examples/gemm.te" -o "$TMP/hlsbig"
absent "compile hls over the loop IR check limit: nothing written" "$TMP/hlsbig"
expect "compile hls checks the loop IR" 0 "checked the loop IR \(interpreted" -- \
	"$FTC" compile --target hls "${SMALL[@]}" "$ROOT/examples/gemm.te" -o "$TMP/hls"

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
