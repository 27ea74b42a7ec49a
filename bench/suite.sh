#!/usr/bin/env bash
# The operator-suite benchmark (issue 14): every examples/*.te at its
# default shape, tuned with the default budget (60 trials, a fresh db per
# operator and thread count) at 1 thread and at all cores, then timed in
# one process against the best library primitive for the same computation
# (bench/bench_suite: interleaved rounds, medians, spread, outputs
# compared).  Writes OUT/suite.json (one object per operator and thread
# count) and OUT/suite.md (the table).
#
#   bench/suite.sh [OPERATOR...]        (default: all 16 examples)
#
# Environment: OUT (default bench/results/suite-DATE), TRIALS (60),
# THREADS ("1 N", N = nproc), ROUNDS (7), MIN_TIME (0.2 s per candidate
# per round), TUNE=0 (reuse OUT's schedules), BENCH=0 (tune only),
# SCHEDULE=hand (time the examples' .sched files instead of tuning),
# CROSS=0 (skip timing the libraries alone in their own process, the
# cross-check that ftc's presence did not slow them), CURVE_OP (gemm: also tuned by random search, for bench/plot.sh's
# tuning chart).  Charts: bench/plot.sh OUT.
# A rerun skips tunes whose result is in OUT, so `bench/suite.sh conv2d`
# with the same OUT reruns one operator's timing fast.
#
# Traps handled here (docs/bench.md): OPENBLAS_CORETYPE is set to SkylakeX
# explicitly (the machines' environment sets Haswell, OpenBLAS's AVX2
# kernel); OMP_WAIT_POLICY=passive, so oneDNN's OpenMP threads do not spin
# on the core ftc's pool needs; the load average is printed before and
# after each timing.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build-bench}
OUT=${OUT:-$ROOT/bench/results/suite-$(date -u +%Y%m%d)}
TRIALS=${TRIALS:-60}
NCPU=$(nproc)
THREADS=${THREADS:-1 $NCPU}
ROUNDS=${ROUNDS:-7}
MIN_TIME=${MIN_TIME:-0.2}
TUNE=${TUNE:-1}
BENCH=${BENCH:-1}
SCHEDULE=${SCHEDULE:-tuned}
CROSS=${CROSS:-1}
cd "$ROOT"
mkdir -p "$OUT"

# Dependencies: installed with apt-get when missing (as root; otherwise
# the command is printed).
need=()
for p in libopenblas-dev libdnnl-dev gnuplot-nox; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
	if [ "$(id -u)" -eq 0 ]; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y "${need[@]}" >&2
	else
		echo "bench/suite.sh: missing packages; run: sudo apt-get install -y ${need[*]}" >&2
		exit 1
	fi
fi

{
	if [ ! -f "$BUILD/build.ninja" ]; then
		meson setup "$BUILD" --native-file native/llvm19.ini -Dbuildtype=release -Dbench=true
	fi
	ninja -C "$BUILD" compiler/ftc bench/bench_suite
	# Copies, so that rebuilding the tree meanwhile leaves this run alone
	# (renamed into place: a running tune may be using the old ftc).
	for b in compiler/ftc bench/bench_suite; do
		cp "$BUILD/$b" "$OUT/$(basename $b).new"
		mv -f "$OUT/$(basename $b).new" "$OUT/$(basename $b)"
	done
} >&2

ops=("$@")
if [ ${#ops[@]} -eq 0 ]; then
	for f in examples/*.te; do ops+=("$(basename "$f" .te)"); done
fi
for op in "${ops[@]}"; do
	[ -f "examples/$op.te" ] || { echo "bench/suite.sh: no examples/$op.te" >&2; exit 1; }
done

load() { cut -d' ' -f1-3 /proc/loadavg; }

# Tune op at t threads into OUT/op-tT.{db,sched,json}; resumable.
tune() {
	local op=$1 t=$2 run=$OUT/$1-t$2
	[ -s "$run.json" ] && return 0
	echo "tuning $op at $t thread(s), $TRIALS trials (load $(load)) ..." >&2
	rm -f "$run.db" "$run.db-wal" "$run.db-shm"
	"$OUT/ftc" tune "examples/$op.te" --trials "$TRIALS" --target "cpu -threads=$t" \
		--db "$run.db" --save-schedule "$run.sched" --json -q >"$run.json.part" 2>"$run.tune.log" ||
		{ echo "bench/suite.sh: tuning $op at $t thread(s) failed; see $run.tune.log" >&2; return 1; }
	mv "$run.json.part" "$run.json"
}

# The tuning chart's second curve: CURVE_OP (default gemm, when it is in
# the run) tuned by random search at 1 thread, same budget.
tune_random() {
	local op=$1 run=$OUT/$1-t1-random
	[ -s "$run.json" ] && return 0
	echo "tuning $op with random search (load $(load)) ..." >&2
	rm -f "$run.db" "$run.db-wal" "$run.db-shm"
	"$OUT/ftc" tune "examples/$op.te" --trials "$TRIALS" --method random --target "cpu -threads=1" \
		--db "$run.db" --json -q >"$run.json.part" 2>"$run.tune.log" || return 1
	mv "$run.json.part" "$run.json"
}

if [ "$TUNE" = 1 ] && [ "$SCHEDULE" = tuned ]; then
	for t in $THREADS; do
		for op in "${ops[@]}"; do tune "$op" "$t" || true; done
	done
	for op in "${ops[@]}"; do
		[ "$op" = "${CURVE_OP:-gemm}" ] && { tune_random "$op" || true; }
	done
fi
[ "$BENCH" = 1 ] || exit 0

export OPENBLAS_CORETYPE=SkylakeX OMP_WAIT_POLICY=passive
echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(lscpu | sed -n 's/^Model name: *//p'), $NCPU cores;" \
	"OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE OMP_WAIT_POLICY=$OMP_WAIT_POLICY; load average $(load)" >&2
# The machine's limits, for % of peak and the roofline (once per OUT).
[ -s "$OUT/peak.json" ] || "$OUT/ftc" targets --peak --json >"$OUT/peak.json"
cat "$OUT/peak.json" >&2
for t in $THREADS; do
	for op in "${ops[@]}"; do
		if [ "$SCHEDULE" = tuned ]; then sched=$OUT/$op-t$t.sched; else sched=examples/$op.sched; fi
		[ -f "$sched" ] || { echo "bench/suite.sh: $op at $t thread(s): no $sched; skipped" >&2; continue; }
		echo "timing $op at $t thread(s) under $sched (load $(load)) ..." >&2
		"$OUT/bench_suite" "$op" --schedule "$sched" --threads "$t" --rounds "$ROUNDS" \
			--min-time "$MIN_TIME" >"$OUT/$op-t$t.$SCHEDULE.json" 2>"$OUT/$op-t$t.$SCHEDULE.log" ||
			{ echo "bench/suite.sh: timing $op failed; see $OUT/$op-t$t.$SCHEDULE.log" >&2;
			  rm -f "$OUT/$op-t$t.$SCHEDULE.json"; }
		grep -v '^  round' "$OUT/$op-t$t.$SCHEDULE.log" | tail -1 >&2 || true
		# The cross-check: the libraries alone in their own process.
		[ "$CROSS" = 1 ] && { "$OUT/bench_suite" "$op" --schedule "$sched" --threads "$t" --alone \
			--rounds "$ROUNDS" --min-time "$MIN_TIME" >"$OUT/$op-t$t.alone.json" \
			2>"$OUT/$op-t$t.alone.log" || rm -f "$OUT/$op-t$t.alone.json"; }
	done
done
python3 "$ROOT/bench/suite_report.py" "$OUT" "$SCHEDULE" "$(lscpu | sed -n 's/^Model name: *//p'), $NCPU cores"
