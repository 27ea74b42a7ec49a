#!/usr/bin/env bash
# Charts of an operator-suite run (bench/suite.sh) with gnuplot, each as PNG
# and SVG:
#
#   PREFIX-suite     ftc's ratio to the best library per operator (log
#                    scale, 1.0 marked), one bar per thread count
#   PREFIX-tuning    best GFLOP/s found vs trial, one line per tuning db
#                    (ftc db export), labelled by its method (sa-q, random)
#   PREFIX-roofline  each tuned kernel (and its library) at its arithmetic
#                    intensity (flops / compulsory bytes) under the measured
#                    1-thread FMA peak and STREAM triad bandwidth
#
#   bench/plot.sh OUT [DEST [PREFIX]] [-- DB...]
#
# OUT holds suite.json (bench/suite.sh); DEST defaults to OUT/img, PREFIX
# to suite-DATE; SUITE names another results file (OUT/suite-hand.json
# for SCHEDULE=hand runs).  The tuning chart plots the DBs after --, by default
# OUT/gemm-t1.db and OUT/gemm-t1-random.db where they exist.  FTC names the
# ftc binary (default OUT/ftc).  Installs gnuplot-nox when missing (as root).
set -euo pipefail
OUT=${1:?usage: bench/plot.sh OUT [DEST [PREFIX]] [-- DB...]}
shift
DEST=$OUT/img
PREFIX=suite-$(date -u +%Y%m%d)
[ $# -gt 0 ] && [ "$1" != -- ] && { DEST=$1; shift; }
[ $# -gt 0 ] && [ "$1" != -- ] && { PREFIX=$1; shift; }
[ $# -gt 0 ] && [ "$1" = -- ] && shift
dbs=("$@")
if [ ${#dbs[@]} -eq 0 ]; then
	for d in "$OUT/gemm-t1.db" "$OUT/gemm-t1-random.db"; do [ -f "$d" ] && dbs+=("$d"); done
fi
FTC=${FTC:-$OUT/ftc}
SUITE=${SUITE:-$OUT/suite.json}
[ -s "$SUITE" ] || { echo "bench/plot.sh: no $SUITE (run bench/suite.sh)" >&2; exit 1; }
if ! command -v gnuplot >/dev/null; then
	if [ "$(id -u)" -eq 0 ]; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y gnuplot-nox >&2
	else
		echo "bench/plot.sh: needs gnuplot: sudo apt-get install -y gnuplot-nox" >&2
		exit 1
	fi
fi
mkdir -p "$DEST"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# The data files: bars (op, ratio per thread count), roofline points,
# limits, and one best-so-far curve per db.
python3 - "$SUITE" "$TMP" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1])); tmp = sys.argv[2]
rows = doc["results"]
threads = sorted({r["threads"] for r in rows})
ops = sorted({r["op"] for r in rows})
by = {(r["op"], r["threads"]): r for r in rows}
with open(f"{tmp}/bars.dat", "w") as f:
    for op in ops:
        f.write(op.replace("_", "\\\\_") + " " +
                " ".join(f"{by[(op, t)]['ratio']:.4g}" if (op, t) in by else "NaN" for t in threads) + "\n")
with open(f"{tmp}/roof.dat", "w") as f:
    for r in rows:
        if r["threads"] != 1:
            continue
        base = next(l for l in r["libs"] if l["name"] == r["baseline"])
        ai = r["flops"] / r["bytes"]
        f.write(f"{ai:.4g} {r['ftc']['gflops']:.4g} {base['gflops']:.4g} {r['op'].replace('_', '-')}\n")
p = doc.get("peak") or {}
with open(f"{tmp}/limits.gp", "w") as f:
    # As suite_report.py: the larger of the wall-clock peak and one core's
    # peak by its own CPU time (a busy machine lowers only the first).
    pk = max(p.get("fma_gflops", [0])[0], p.get("fma_gflops_per_core_cpu_time", 0))
    f.write(f"peak = {pk}\nbw = {p.get('triad_gbs', [0])[0]}\n")
    f.write(f"load = \"{p.get('load_before', '?')}\"\n")
    f.write(f"ncols = {len(threads)}\n")
    f.write(f"machine = \"{doc['machine']}, {doc['date']}\"\n")
    f.write("tlabels = \"" + " ".join(f"{t}" for t in threads) + "\"\n")
    f.write(f"sched = \"{doc['schedule']}\"\n")
EOF
n=0
: >"$TMP/curves.gp"
for db in "${dbs[@]}"; do
	"$FTC" db export --db "$db" 2>/dev/null | python3 -c '
import json, sys
recs = [json.loads(l) for l in sys.stdin if l.strip()]
recs = [r for r in recs if r.get("method") != "naive"]
keys = [(r.get("workload"), r.get("target")) for r in recs]  # the busiest workload only
top = max(set(keys), key=keys.count) if keys else None
recs = [r for r, k in zip(recs, keys) if k == top]
recs.sort(key=lambda r: r.get("created", 0))
best = 0
methods = sorted({r.get("method", "?") for r in recs})
print("#", ",".join(methods))
for i, r in enumerate(recs, 1):
    if r.get("status") == "ok" and (r.get("gflops") or 0) > best:
        best = r["gflops"]
    print(i, best)
' >"$TMP/curve$n.dat"
	label="$(basename "$db" .db) ($(head -1 "$TMP/curve$n.dat" | cut -c3-))"
	echo "curve$n = \"$TMP/curve$n.dat\"; label$n = \"${label//_/\\\\_}\"" >>"$TMP/curves.gp"
	n=$((n + 1))
done

plot() { # NAME GNUPLOT-BODY: write DEST/PREFIX-NAME.{png,svg}
	for term in "pngcairo size 1000,560 font ',10'" "svg size 1000,560 font ',10'"; do
		ext=png
		case $term in svg*) ext=svg ;; esac
		gnuplot <<EOF
load "$TMP/limits.gp"
load "$TMP/curves.gp"
set terminal $term
set output "$DEST/$PREFIX-$1.$ext"
$2
EOF
	done
	echo "$DEST/$PREFIX-$1.png" >&2
}

plot suite '
set title sprintf("ftc (%s schedules) vs the best library per operator: library time / ftc time (above 1: ftc faster)\n%s", sched, machine)
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set logscale y
set yrange [0.005:20]
set ylabel "time ratio, library / ftc (log scale)"
set xtics rotate by -35 left
set grid ytics
set key top left
set arrow from graph 0, first 1 to graph 1, first 1 nohead lw 2 lc rgb "red"
plot for [c=2:ncols+1] "'"$TMP"'/bars.dat" using c:xtic(1) title sprintf("%s thread(s)", word(tlabels, c-1))
'

if [ "$n" -gt 0 ]; then
	body='set title sprintf("Tuning curve: best GFLOP/s found vs trial\n%s", machine)
set xlabel "trial"
set ylabel "best GFLOP/s so far"
set grid
set key bottom right
plot '
	for i in $(seq 0 $((n - 1))); do
		body+="curve$i using 1:2 with steps lw 2 title label$i"
		[ "$i" -lt $((n - 1)) ] && body+=", "
	done
	plot tuning "$body"
fi

plot roofline '
set title sprintf("Roofline, 1 thread: measured peak %.0f GFLOP/s, STREAM triad %.1f GB/s (load average %s)\n%s", peak, bw, load, machine)
set logscale xy
set xlabel "arithmetic intensity (flops / compulsory bytes)"
set ylabel "GFLOP/s"
set xrange [0.05:2000]
set yrange [0.01:1000]
set grid
set key bottom right
roof(x) = (x * bw < peak) ? x * bw : peak
plot roof(x) with lines lw 2 lc rgb "black" title "min(peak, AI x bandwidth)", \
     "'"$TMP"'/roof.dat" using 1:2 with points pt 7 ps 1.3 title sprintf("ftc (%s schedules)", sched), \
     "" using 1:3 with points pt 6 ps 1.3 title "best library", \
     "" using 1:2:4 with labels offset 0.8,0.6 left font ",8" notitle
'
