#!/usr/bin/env bash
# Build the benchmarks (meson -Dbench=true in build-bench/) and run them:
# ftc's GEMM against OpenBLAS and oneDNN, ftc's conv2d against oneDNN, at
# 1 and 2 threads; prints markdown tables.  Extra arguments go to both
# benches (e.g. --rounds 15 --min-time 0.5; see bench/bench_util.h).
#
# Installs libopenblas-dev and libdnnl-dev with apt-get when missing (as
# root; otherwise prints the command).  Debian's OpenBLAS 0.3.21 does not
# know recent CPUs and falls back to a generic kernel (~16 GFLOP/s) unless
# OPENBLAS_CORETYPE names one: SkylakeX is its AVX-512 kernel.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build-bench
cd "$ROOT"

need=()
for p in libopenblas-dev libdnnl-dev; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
	if [ "$(id -u)" -eq 0 ]; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y "${need[@]}"
	else
		echo "bench/run.sh: missing packages; run: sudo apt-get install -y ${need[*]}" >&2
		exit 1
	fi
fi

# The build's chatter goes to stderr, so that stdout is the report.
{
	if [ ! -f "$BUILD/build.ninja" ]; then
		meson setup "$BUILD" --native-file native/llvm19.ini -Dbench=true
	elif ! meson introspect "$BUILD" --buildoptions |
		python3 -c 'import json,sys; sys.exit(not any(o["name"] == "bench" and o["value"] for o in json.load(sys.stdin)))'; then
		meson configure "$BUILD" -Dbench=true
	fi
	ninja -C "$BUILD" bench/bench_gemm bench/bench_conv2d
} >&2

export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-SkylakeX}
echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores," \
	"load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "## GEMM 1024^3 f32"
"$BUILD/bench/bench_gemm" "$@"
echo
echo "## conv2d (YOLO layer) f32"
"$BUILD/bench/bench_conv2d" "$@"
echo
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
