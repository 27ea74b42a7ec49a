#!/usr/bin/env bash
# The search benchmark (issue 15): how fast does each way of searching
# reach a good schedule?  For every workload and seed, four tunes, each on
# a fresh tuning db, one thread (`cpu -threads=1`), TRIALS trials,
# `--patience 0`:
#
#   random      random search from a blind start (--no-constructed)
#   sa-q        the default: naive + constructed starting points, then
#               simulated annealing + Q-learning
#   sa-q-blind  sa-q from a blind start (--no-constructed), the explorer
#               alone against random
#   sa-q-model  sa-q with the cross-tune cost model: per seed, the
#               workloads are tuned one after another into one db (the
#               order rotated by seed), so each tune's model learns from
#               the tunes before it, as a user's db grows (imported
#               records would not do: the model trusts only records
#               measured here); the first of a chain has no model yet
#
# and "constructed alone", the naive and constructed points of the sa-q
# run (its first trials).  None but sa-q-model has a model (--no-model).
# Reports per workload the best GFLOP/s after 10/20/40/TRIALS trials and
# the trial at which each method first reached 95% of sa-q's final best
# (medians over seeds), writes OUT/curves.md and the charts
# OUT/img/tune-trials.{png,svg} and OUT/img/tune-seconds.{png,svg} (best
# GFLOP/s so far against trials and against tuning seconds, median of the
# seeds, one panel per workload).
#
#   bench/tune.sh [OUTDIR]   (TRIALS=60 BLIND_TRIALS=$TRIALS SEEDS="1 2 3" THREADS=1
#                             WORKLOADS="gemm conv2d depthwise_conv2d gemm_tn517"
#                             METHODS="random sa-q sa-q-blind sa-q-model")
#
# BLIND_TRIALS is the budget of the blind starts (random, sa-q-blind): on
# GEMM 1024^3 a blind random candidate costs about 10 s (it runs at a few
# GFLOP/s), a constructed one well under 1 s.
#
# A workload is examples/NAME.te or bench/NAME.te (gemm_tn517: C = A^T B at
# 517^3, a transposed operand and no useful divisors).  Resumable: a run
# whose JSON is in OUTDIR is not tuned again.  gnuplot-nox is needed for
# the charts.
set -euo pipefail
ROOT=${FTC_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
BUILD=${BUILD:-$ROOT/build-bench}
OUT=${1:-$ROOT/bench/results/tune-$(date -u +%Y%m%d-%H%M)}
TRIALS=${TRIALS:-60}
BLIND_TRIALS=${BLIND_TRIALS:-$TRIALS}
SEEDS=${SEEDS:-1 2 3}
THREADS=${THREADS:-1}
WORKLOADS=${WORKLOADS:-gemm conv2d depthwise_conv2d gemm_tn517}
METHODS=${METHODS:-random sa-q sa-q-blind sa-q-model}
cd "$ROOT"
mkdir -p "$OUT/img"

{
	[ -f "$BUILD/build.ninja" ] ||
		meson setup "$BUILD" --native-file native/llvm19.ini -Dbuildtype=release -Dbench=true
	ninja -C "$BUILD" compiler/ftc
	# A copy, so that rebuilding the tree meanwhile leaves this run alone.
	cp "$BUILD/compiler/ftc" "$OUT/ftc.new"
	mv -f "$OUT/ftc.new" "$OUT/ftc"
} >&2
FTC=$OUT/ftc

te_of() { if [ -f "examples/$1.te" ]; then echo "examples/$1.te"; else echo "bench/$1.te"; fi; }
flags_of() {
	case $1 in
	random) echo "--method random --no-constructed --no-model" ;;
	sa-q) echo "--no-model" ;;
	sa-q-blind) echo "--no-constructed --no-model" ;;
	sa-q-model) echo "" ;;
	*) echo "bench/tune.sh: unknown method $1" >&2; exit 2 ;;
	esac
}

tune() { # WL METHOD SEED
	local run=$1-$2-$3 db=$OUT/$1-$2-$3.db
	[ -s "$OUT/$run.json" ] && return 0
	echo "tuning $run (load $(cut -d' ' -f1-3 /proc/loadavg)) ..." >&2
	if [ "$2" = sa-q-model ]; then
		db=$OUT/chain-$3.db # grows along the seed's chain
	else
		rm -f "$db" "$db-wal" "$db-shm"
	fi
	# shellcheck disable=SC2046
	local n=$TRIALS
	case $2 in random | sa-q-blind) n=$BLIND_TRIALS ;; esac
	"$FTC" tune "$(te_of "$1")" --trials "$n" --patience 0 --seed "$3" -q --json \
		--target "cpu -threads=$THREADS" --save-schedule "$OUT/$run.sched" \
		--db "$db" $(flags_of "$2") >"$OUT/$run.json.part" || true
	mv "$OUT/$run.json.part" "$OUT/$run.json"
	"$FTC" db export --db "$db" -o "$OUT/$run.jsonl" 2>/dev/null
}

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores," \
	"load average $(cut -d' ' -f1-3 /proc/loadavg), $TRIALS trials ($BLIND_TRIALS from a blind start), seeds $SEEDS, $THREADS thread(s)" |
	tee "$OUT/README.txt"
# sa-q first, then the chains of sa-q-model, the blind
# starts, slow on big workloads, last.
rotated() { # K WORD...: the words from the K-th on, then the first K
	local k=$1 i
	shift
	local w=("$@")
	for ((i = 0; i < ${#w[@]}; i++)); do echo "${w[(i + k) % ${#w[@]}]}"; done
}
for m in sa-q sa-q-model random sa-q-blind; do
	case " $METHODS " in *" $m "*) ;; *) continue ;; esac
	k=0
	for seed in $SEEDS; do
		# shellcheck disable=SC2086
		for wl in $(rotated $k $WORKLOADS); do tune "$wl" "$m" "$seed"; done
		k=$((k + 1))
	done
done
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/README.txt"

python3 bench/tune_report.py "$OUT" "$TRIALS" "$SEEDS" "$WORKLOADS" "$METHODS" "$BLIND_TRIALS" | tee "$OUT/curves.md"

command -v gnuplot >/dev/null || { echo "bench/tune.sh: no gnuplot, no charts" >&2; exit 0; }
for x in trials seconds; do
	for term in "pngcairo size 1100,800 font ',10'" "svg size 1100,800 font ',10'"; do
		ext=png
		case $term in svg*) ext=svg ;; esac
		gnuplot -e "term=\"$term\"; out=\"$OUT/img/tune-$x.$ext\"; dir=\"$OUT\"; x=\"$x\"" \
			-e "wls=\"$WORKLOADS\"; methods=\"$METHODS\"; machine=\"$(head -1 "$OUT/README.txt" | cut -c3-)\"" \
			bench/tune.gp
	done
	echo "$OUT/img/tune-$x.png" >&2
done
