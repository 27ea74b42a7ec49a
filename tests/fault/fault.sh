#!/usr/bin/env bash
# Fault injection in the manner of SQLite's tests: run a small `ftc tune`
# and a small `ftc compile` with the N-th allocation, SQLite write or file
# write failing (tests/fault/fault_shim.c, preloaded), for N over a sweep,
# and check after each run:
#   - no crash: no signal, no timeout, no sanitizer report (ASan, UBSan,
#     LeakSanitizer: leaks are seen in an ASan build only);
#   - a clear error: exit 0, or exit 1 or 2 with a message on stderr;
#   - exit 0 only with complete outputs: compile's files identical to a
#     clean run's, tune's records all stored (as many as a clean run);
#     whatever the exit, no output that differs from the clean run's and
#     no temporary file left in the output folder; tune's saved schedule
#     (--save-schedule) there and valid after exit 0;
#   - the db intact: `ftc db check` passes and every record stored before
#     the run is still there.
#
# usage: fault.sh [--quick | --full] [--budget B] [--kinds "alloc isl sqlite write"]
#                 [--scenarios "tune compile"] [--persist] [--keep DIR] FTC SHIM
# --quick (the meson test): at most 12 values of N per scenario and kind
# (the first ones, then spread evenly up to the count of a clean run);
# --full: every N up to the count (alloc, isl: --budget values, default
# 400, spread the same way) and the isl kind too; --budget B overrides
# both.  The kinds are the shim's (fault_shim.c).  --persist: the N-th
# event and every later one fail (a full disk), not the N-th alone.
# A failure whose every word (crash, leak, temp-file-left, ...) matches a
# line "WORD REGEX" of tests/fault/known.txt (REGEX: grep -E on the run's
# stderr) is a known bug being fixed: printed as KNOWN, not counted.
# Prints one line per failure and a summary; exit 1 when anything failed.
set -u

mode=quick budget= kinds= scenarios="tune compile" keep= persist=
while [ $# -gt 2 ]; do
	case "$1" in
	--quick) mode=quick ;;
	--full) mode=full ;;
	--budget) budget="$2"; shift ;;
	--kinds) kinds="$2"; shift ;;
	--scenarios) scenarios="$2"; shift ;;
	--keep) keep="$2"; shift ;;
	--persist) persist=+ ;;
	*) echo "fault.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
if [ $# -ne 2 ]; then
	echo "usage: fault.sh [--quick|--full] [--budget B] [--kinds K] [--scenarios S] [--persist] [--keep DIR] FTC SHIM" >&2
	exit 2
fi
ftc=$1 shim=$2
# isl's own allocation failures are a kind apart: isl 0.25 crashes on one
# (in isl_ctx_alloc), which no caller can prevent; --full tries them.
[ -n "$kinds" ] || { [ "$mode" = quick ] && kinds="alloc sqlite write"; } || kinds="alloc isl sqlite write"
for f in "$ftc" "$shim"; do
	[ -e "$f" ] || { echo "fault.sh: $f: not found" >&2; exit 2; }
done

RUN_LIMIT=300 # seconds one faulted run may take before it counts as a hang

work=${keep:-$(mktemp -d "${TMPDIR:-/tmp}/ftc-fault.XXXXXX")}
mkdir -p "$work"
[ -n "$keep" ] || trap 'rm -rf "$work"' EXIT

# Under AddressSanitizer the shim goes first (its malloc must be the one
# called) and forwards to libasan's; ASan's check of the library order is
# turned off for that.  Sanitizer reports exit 86 and are also grepped.
asan=$(ldd "$ftc" 2>/dev/null | awk '/libasan/ { print $3; exit }')
preload=$shim
if [ -n "$asan" ]; then
	preload="$shim:$asan"
	export ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0:detect_leaks=1:exitcode=86:abort_on_error=0"
	export UBSAN_OPTIONS="${UBSAN_OPTIONS:-}:halt_on_error=1:print_stacktrace=1"
fi

cat >"$work/tiny.te" <<'EOF'
param M = 4, N = 5, K = 3
input A[M, K] f32
input B[K, N] f32
C[i < M, j < N] = sum(k < K) A[i, k] * B[k, j]
EOF

# The db every run starts from: two records of tiny.te (the compile's
# source of a schedule), stored without faults.
if ! "$ftc" tune "$work/tiny.te" --trials 2 --db "$work/base.db" -q >"$work/base.log" 2>&1; then
	echo "fault.sh: the clean tune that makes the base db failed:" >&2
	cat "$work/base.log" >&2
	exit 1
fi
uids_of() { "$ftc" db export --db "$1" 2>/dev/null | grep -o '"uid":"[0-9a-f]*"' | sort; }
uids_of "$work/base.db" >"$work/base.uids"
[ -s "$work/base.uids" ] || { echo "fault.sh: the base db holds no records" >&2; exit 1; }

# scenario_run SCENARIO DIR: run the scenario in DIR (a fresh copy of the
# base db there); its exit status.  FTC_FAULT comes from the caller.
scenario_run() {
	local dir=$1
	rm -rf "$dir/out" "$dir/db"*
	mkdir -p "$dir/out"
	cp "$work/base.db" "$dir/db"
	case "$scenario" in
	tune) set -- tune "$work/tiny.te" -D N=6 --trials 3 --db "$dir/db" -q --save-schedule "$dir/out/best.sched" ;;
	compile) set -- compile "$work/tiny.te" --db "$dir/db" -o "$dir/out" ;;
	esac
	# the shim goes into ftc alone (env, not timeout, is preloaded)
	timeout -k 5 "$RUN_LIMIT" env LD_PRELOAD="$preload" FTC_FAULT_REPORT="$dir/report" \
		"$ftc" "$@" >"$dir/stdout" 2>"$dir/stderr"
}

# The records of the tune's workload (tiny.te with N=6) in db $1.
records_of() { "$ftc" db list --db "$1" 2>/dev/null | awk -v w="$tune_workload" '$1 == w { print $(NF - 2) }'; }

# check DIR RC: the checks after one run; prints the failures found
# (one word each) and returns 1 when there is one.
check() {
	local dir=$1 rc=$2 bad=
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		bad="$bad hang"
	elif [ "$rc" -gt 128 ]; then
		bad="$bad crash(signal=$((rc - 128)))"
	fi
	if [ "$rc" -eq 86 ] || grep -q 'Sanitizer\|runtime error:' "$dir/stderr"; then
		if grep -q 'LeakSanitizer' "$dir/stderr"; then bad="$bad leak"; else bad="$bad sanitizer"; fi
	elif [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ] && [ "$rc" -ne 2 ] && [ "$rc" -le 128 ] && [ "$rc" -ne 124 ]; then
		bad="$bad exit-$rc"
	fi
	if [ "$rc" -eq 1 ] || [ "$rc" -eq 2 ]; then
		[ -s "$dir/stderr" ] || bad="$bad silent-error"
	fi
	if ls -A "$dir/out" | grep -q 'tmp'; then bad="$bad temp-file-left"; fi
	if [ "$scenario" = compile ]; then
		for f in "$work/ref/out"/*; do
			local g="$dir/out/${f##*/}"
			if [ -e "$g" ] && ! cmp -s "$f" "$g"; then bad="$bad different-output(${f##*/})"; fi
			if [ "$rc" -eq 0 ] && [ ! -e "$g" ]; then bad="$bad exit-0-missing(${f##*/})"; fi
		done
	elif [ "$rc" -eq 0 ]; then
		local n
		n=$(records_of "$dir/db")
		[ "${n:-0}" = "$ref_records" ] || bad="$bad exit-0-records(${n:-0}/$ref_records)"
		# the best schedule can differ from the clean run's: it must lower
		if [ ! -e "$dir/out/best.sched" ]; then
			bad="$bad exit-0-missing(best.sched)"
		elif ! "$ftc" lower "$work/tiny.te" -D N=6 --schedule "$dir/out/best.sched" >/dev/null 2>&1; then
			bad="$bad bad-output(best.sched)"
		fi
	fi
	if ! "$ftc" db check --db "$dir/db" >"$dir/dbcheck" 2>&1; then
		bad="$bad db-check"
	elif ! uids_of "$dir/db" | comm -23 "$work/base.uids" - | cmp -s - /dev/null; then
		bad="$bad records-lost"
	fi
	[ -n "$bad" ] || return 0
	echo "$bad"
	return 1
}

# Values of N for a count of events: all when they fit the budget, else
# the first half of the budget and the rest spread evenly up to count.
n_values() {
	local count=$1 b=$2
	if [ "$count" -le "$b" ]; then
		seq 1 "$count"
		return
	fi
	local head=$((b / 2)) tail=$((b - b / 2))
	seq 1 "$head"
	for ((i = 1; i <= tail; i++)); do echo $((head + (count - head) * i / tail)); done
}

known_file=$(dirname "${BASH_SOURCE[0]}")/known.txt

# is_known DIR WORDS: whether every word is covered by a line of the known
# file whose regex matches DIR/stderr.
is_known() {
	local dir=$1 word kw re hit
	shift
	[ -f "$known_file" ] || return 1
	for word in $*; do
		hit=
		while read -r kw re; do
			case "$kw" in '' | '#'*) continue ;; esac
			if [ "${word%%(*}" = "$kw" ] && grep -qE -- "$re" "$dir/stderr"; then hit=1; break; fi
		done <"$known_file"
		[ -n "$hit" ] || return 1
	done
}

failures=0 total=0 known=0
rm -f "$work/exit2"
summary=
for scenario in $scenarios; do
	ref=$work/ref
	mkdir -p "$ref"
	rm -f "$ref/report"
	FTC_FAULT=none scenario_run "$ref"
	rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "fault.sh: the clean $scenario failed (exit $rc):" >&2
		cat "$ref/stderr" >&2
		exit 1
	fi
	read -r _ n_alloc _ n_isl _ n_sqlite _ n_write _ _ <"$ref/report"
	if [ "$scenario" = tune ]; then
		tune_workload=$("$ftc" db list --db "$ref/db" | awk 'NR > 1 { print $1 }' |
			grep -vxF -f <("$ftc" db list --db "$work/base.db" | awk 'NR > 1 { print $1 }'))
		ref_records=$(records_of "$ref/db")
	fi
	echo "$scenario: a clean run makes $n_alloc allocations (and $n_isl in isl), $n_sqlite SQLite writes, $n_write file writes"
	for kind in $kinds; do
		case $kind in
		alloc) count=$n_alloc ;; isl) count=$n_isl ;; sqlite) count=$n_sqlite ;; write) count=$n_write ;;
		*) echo "fault.sh: unknown kind $kind" >&2; exit 2 ;;
		esac
		if [ -n "$budget" ]; then b=$budget
		elif [ "$mode" = quick ]; then b=12
		elif [ "$kind" = alloc ] || [ "$kind" = isl ]; then b=400
		else b=$count
		fi
		tried=0 exit0=0 exit1=0 exit2=0 bad=0
		for n in $(n_values "$count" "$b"); do
			dir=$work/run
			mkdir -p "$dir"
			rm -f "$dir/report"
			FTC_FAULT="$kind:$n$persist" scenario_run "$dir"
			rc=$?
			fired=$(awk '{ print $10 }' "$dir/report" 2>/dev/null)
			tried=$((tried + 1))
			case $rc in 0) exit0=$((exit0 + 1)) ;; 1) exit1=$((exit1 + 1)) ;; 2) exit2=$((exit2 + 1)) ;; esac
			# exit 2 says "ftc's own bug": keep its message for the summary
			[ "$rc" -ne 2 ] || { grep -v '^ *$' "$dir/stderr" | tail -n 1 |
				sed "s/[0-9][0-9]*/#/g; s/^/$scenario $kind: /; s/\$/\t(first: $kind:$n$persist)/" >>"$work/exit2"; }
			if what=$(check "$dir" "$rc"); then
				continue
			elif is_known "$dir" "$what"; then
				known=$((known + 1))
				echo "KNOWN $scenario $kind:$n$persist (exit $rc):$what"
				continue
			fi
			bad=$((bad + 1))
			echo "FAIL $scenario $kind:$n$persist (exit $rc, fault fired: ${fired:-no report}):$what"
			sed 's/^/    /' "$dir/stderr" | grep -v '^    *$' | head -n 8
		done
		total=$((total + tried))
		failures=$((failures + bad))
		summary="$summary$(printf '\n  %-8s %-7s events %7s  N tried %4d  exit 0: %3d  exit 1: %3d  exit 2: %3d  failures: %d' \
			"$scenario" "$kind" "$count" "$tried" "$exit0" "$exit1" "$exit2" "$bad")"
	done
done
echo "fault injection ($mode${persist:+, persistent faults}):$summary"
echo "known failures (tests/fault/known.txt, bugs being fixed): $known"
if [ -s "$work/exit2" ]; then
	echo "exit 2 (internal error) after an injected fault, by message:"
	awk -F '\t' '!($1 in n) { first[$1] = $2; order[++k] = $1 } { n[$1]++ }
		END { for (i = 1; i <= k; i++) printf "  %5d  %s %s\n", n[order[i]], order[i], first[order[i]] }' "$work/exit2"
fi
echo "fault: $((total - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
