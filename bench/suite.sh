#!/usr/bin/env bash
# The operator-suite benchmark (issue 14): every examples/*.te at its
# default shape, tuned with the default budget (60 trials, a fresh db per
# operator and thread count) at 1 thread and at all cores, then timed in
# one process against the best library primitive for the same computation
# (bench/bench_suite: interleaved rounds, medians, spread, outputs
# compared).  Writes OUT/suite.json (one object per operator and thread
# count) and OUT/suite.md (the table).
#
#   bench/suite.sh [OPERATOR...]        (default: every example)
#
# An OPERATOR is an examples/ name, a YOLO-v1 layer of FlexTensor's
# yolo_shapes (yolo-conv1 ... yolo-conv24: examples/conv2d.te at that
# layer's shape, written to OUT/yolo-convN.te, against oneDNN's
# convolution), or `yolo` for all 15 distinct YOLO layers.
#
# Environment: OUT (default bench/results/suite-DATE), TRIALS (60), SEED (1:
# the search's seed; issue 15's acceptance takes the median of 3),
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
SEED=${SEED:-1}
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

# FlexTensor's yolo_shapes (batch 1): name C H=W K R=S stride pad.  conv4 is
# examples/conv2d.te's own shape; conv9-14, 19-20 and 24 repeat others.
YOLO_LAYERS="conv1 3 448 64 7 2 3
conv2 64 112 192 3 1 1
conv3 192 56 128 1 1 0
conv4 128 56 256 3 1 1
conv5 256 56 256 1 1 0
conv6 256 56 512 3 1 1
conv7 512 28 256 1 1 0
conv8 256 28 512 3 1 1
conv15 512 28 512 1 1 0
conv16 512 28 1024 3 1 1
conv17 1024 14 512 1 1 0
conv18 512 14 1024 3 1 1
conv21 1024 14 1024 3 1 1
conv22 1024 14 1024 3 2 1
conv23 1024 7 1024 3 1 1"

# The .te file of op: examples/op.te, or for yolo-convN conv2d.te at the
# layer's shape, written into OUT.
te_of() {
	local op=$1 layer
	case "$op" in
	yolo-*)
		layer=$(awk -v n="${op#yolo-}" '$1 == n' <<<"$YOLO_LAYERS")
		[ -n "$layer" ] || { echo "bench/suite.sh: no YOLO layer ${op#yolo-}" >&2; return 1; }
		read -r name c h k r stride pad <<<"$layer"
		sed -e "1s/.*/# YOLO-v1 $name (FlexTensor's yolo_shapes): examples\/conv2d.te at 1x${c}x${h}x${h}, $k ${r}x${r} filters, stride $stride, pad $pad./" \
			-e "s/^param N = .*/param N = 1, C = $c, H = $h, W = $h, K = $k, R = $r, S = $r, stride = $stride, pad = $pad/" \
			examples/conv2d.te >"$OUT/$op.te.new"
		cmp -s "$OUT/$op.te.new" "$OUT/$op.te" 2>/dev/null || mv "$OUT/$op.te.new" "$OUT/$op.te"
		rm -f "$OUT/$op.te.new"
		echo "$OUT/$op.te" ;;
	*)
		[ -f "examples/$op.te" ] || { echo "bench/suite.sh: no examples/$op.te" >&2; return 1; }
		echo "examples/$op.te" ;;
	esac
}

ops=()
for a in "$@"; do
	if [ "$a" = yolo ]; then
		while read -r name _; do ops+=("yolo-$name"); done <<<"$YOLO_LAYERS"
	else
		ops+=("$a")
	fi
done
if [ ${#ops[@]} -eq 0 ]; then
	for f in examples/*.te; do ops+=("$(basename "$f" .te)"); done
fi
for op in "${ops[@]}"; do
	te_of "$op" >/dev/null || exit 1
done

load() { cut -d' ' -f1-3 /proc/loadavg; }

# Tune op at t threads into OUT/op-tT.{db,sched,json}; resumable.
tune() {
	local op=$1 t=$2 run=$OUT/$1-t$2
	[ -s "$run.json" ] && return 0
	echo "tuning $op at $t thread(s), $TRIALS trials (load $(load)) ..." >&2
	rm -f "$run.db" "$run.db-wal" "$run.db-shm"
	"$OUT/ftc" tune "$(te_of "$op")" --trials "$TRIALS" --seed "$SEED" --target "cpu -threads=$t" \
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
	"$OUT/ftc" tune "$(te_of "$op")" --trials "$TRIALS" --method random --target "cpu -threads=1" \
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
		# A YOLO layer: conv2d.te at its shape (--te), conv2d's baseline and hand schedule.
		as=() kind=$op
		case "$op" in yolo-*) kind=conv2d; as=(--te "$(te_of "$op")" --kind conv2d) ;; esac
		if [ "$SCHEDULE" = tuned ]; then sched=$OUT/$op-t$t.sched; else sched=examples/$kind.sched; fi
		[ -f "$sched" ] || { echo "bench/suite.sh: $op at $t thread(s): no $sched; skipped" >&2; continue; }
		echo "timing $op at $t thread(s) under $sched (load $(load)) ..." >&2
		"$OUT/bench_suite" "$op" ${as[@]+"${as[@]}"} --schedule "$sched" --threads "$t" --rounds "$ROUNDS" \
			--min-time "$MIN_TIME" >"$OUT/$op-t$t.$SCHEDULE.json" 2>"$OUT/$op-t$t.$SCHEDULE.log" ||
			{ echo "bench/suite.sh: timing $op failed; see $OUT/$op-t$t.$SCHEDULE.log" >&2;
			  rm -f "$OUT/$op-t$t.$SCHEDULE.json"; }
		grep -v '^  round' "$OUT/$op-t$t.$SCHEDULE.log" | tail -1 >&2 || true
		# The cross-check: the libraries alone in their own process.
		[ "$CROSS" = 1 ] && { "$OUT/bench_suite" "$op" ${as[@]+"${as[@]}"} --schedule "$sched" --threads "$t" --alone \
			--rounds "$ROUNDS" --min-time "$MIN_TIME" >"$OUT/$op-t$t.alone.json" \
			2>"$OUT/$op-t$t.alone.log" || rm -f "$OUT/$op-t$t.alone.json"; }
	done
done
python3 "$ROOT/bench/suite_report.py" "$OUT" "$SCHEDULE" "$(lscpu | sed -n 's/^Model name: *//p'), $NCPU cores"
