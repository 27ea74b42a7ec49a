#!/usr/bin/env bash
# The search benchmark (issue 5): tune GEMM 1024^3 and conv2d (examples/
# conv2d.te, NCHW) with sa-q and random search, 3 seeds each, TRIALS trials
# (default 300), on one thread; tabulate the best GFLOP/s each reached after
# 50, 100, 200 and 300 trials (median of the seeds) and the tuning wall
# time; then time the tuned kernels against OpenBLAS and oneDNN in one
# interleaved run (bench/bench_gemm, bench/bench_conv2d: oneDNN's conv2d
# time includes its reorders).
#
#   bench/tune.sh [OUTDIR]   (TRIALS=300 SEEDS="1 2 3" THREADS=1
#                             WORKLOADS="gemm conv2d" BASELINES=1)
#
# One thread, so that the run leaves the second core to the rest of the
# machine; every tune writes to its own fresh tuning db, so none starts warm.
set -euo pipefail
ROOT=${FTC_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
BUILD=$ROOT/build-bench
OUT=${1:-$ROOT/bench/results/tune-$(date -u +%Y%m%d-%H%M)}
TRIALS=${TRIALS:-300}
SEEDS=${SEEDS:-1 2 3}
THREADS=${THREADS:-1}
WORKLOADS=${WORKLOADS:-gemm conv2d}
BASELINES=${BASELINES:-1}
cd "$ROOT"
mkdir -p "$OUT"

{
	[ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" --native-file native/llvm19.ini -Dbench=true
	ninja -C "$BUILD" compiler/ftc bench/bench_gemm bench/bench_conv2d
	# A copy, so that rebuilding the tree meanwhile leaves this run alone.
	cp "$BUILD/compiler/ftc" "$OUT/ftc"
} >&2
FTC=$OUT/ftc
dbflag() { if "$FTC" tune --help | grep -q -- '--db'; then echo "--db $OUT/$1.db"; fi; }

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores," \
	"load average $(cut -d' ' -f1-3 /proc/loadavg), $TRIALS trials, seeds $SEEDS, $THREADS thread(s)" |
	tee "$OUT/README.txt"
for wl in $WORKLOADS; do
	for seed in $SEEDS; do
		for m in sa-q random; do
			run=$wl-$m-$seed
			[ -s "$OUT/$run.json" ] && continue # resumable
			echo "tuning $run ..." >&2
			# shellcheck disable=SC2046
			"$FTC" tune "examples/$wl.te" --trials "$TRIALS" --patience 0 --method "$m" --seed "$seed" \
				--target "cpu -threads=$THREADS" --json --save-schedule "$OUT/$run.sched" \
				$(dbflag "$run") >"$OUT/$run.json.part" || true
			mv "$OUT/$run.json.part" "$OUT/$run.json"
		done
	done
done

python3 - "$OUT" "$SEEDS" "$WORKLOADS" <<'EOF'
import json, statistics, sys
out, seeds, workloads = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
print("\n| workload | method | @50 | @100 | @200 | @300 | tuning time (s) |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for wl in workloads:
    for m in ("sa-q", "random"):
        runs = [json.load(open(f"{out}/{wl}-{m}-{s}.json")) for s in seeds]
        cells = []
        for n in (50, 100, 200, 300):
            vals = [r["best_by_trial"][min(n, len(r["best_by_trial"])) - 1] for r in runs]
            cells.append(f"{statistics.median(vals):.1f}")
        t = statistics.median(r["seconds"] for r in runs)
        print(f"| {wl} | {m} | " + " | ".join(cells) + f" | {t:.0f} |")
print("\n| workload | method | naive + constructed points alone | s per trial (median) | lower | LLVM | first calls | timing | process | explore | final |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for wl in workloads:
    for m in ("sa-q", "random"):
        runs = [json.load(open(f"{out}/{wl}-{m}-{s}.json")) for s in seeds]
        if not all("time" in r for r in runs):
            continue
        seeded = statistics.median(r["best_by_trial"][min(r.get("constructed", 0), len(r["best_by_trial"]) - 1)]
                                   for r in runs)
        tm = {k: statistics.median(r["time"][k] for r in runs) for k in runs[0]["time"]}
        spt = statistics.median(r["seconds_per_trial"] for r in runs)
        print(f"| {wl} | {m} | {seeded:.1f} | {spt:.2f} | " + " | ".join(
            f"{tm[k]:.0f}" for k in ("lower", "llvm", "first_call", "timing", "process", "explore", "final")) + " |")
print("\nbest GFLOP/s after N trials as the search measured it, median of seeds "
      + ", ".join(seeds) + "; final (re-measured, verified) best per run:")
for wl in workloads:
    for m in ("sa-q", "random"):
        vals = [json.load(open(f"{out}/{wl}-{m}-{s}.json")).get("best_gflops", 0) for s in seeds]
        print(f"  {wl} {m}: " + ", ".join(f"{v:.1f}" for v in vals))
EOF

[ "$BASELINES" = 1 ] || exit 0
echo
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-SkylakeX}
also=()
for s in $SEEDS; do [ "$s" = "${SEEDS%% *}" ] || also+=(--also "$OUT/gemm-sa-q-$s.sched"); done
echo "## GEMM 1024^3, tuned by sa-q (seed ${SEEDS%% *}; --also: the other seeds)"
"$BUILD/bench/bench_gemm" --threads "$THREADS" --schedule "$OUT/gemm-sa-q-${SEEDS%% *}.sched" "${also[@]}"
also=()
for s in $SEEDS; do [ "$s" = "${SEEDS%% *}" ] || also+=(--also "$OUT/conv2d-sa-q-$s.sched"); done
echo
echo "## conv2d, tuned by sa-q (seed ${SEEDS%% *}; --also: the other seeds)"
"$BUILD/bench/bench_conv2d" --threads "$THREADS" --schedule "$OUT/conv2d-sa-q-${SEEDS%% *}.sched" "${also[@]}"
echo
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
