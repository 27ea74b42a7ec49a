#!/usr/bin/env bash
# tests/gpu/run.sh [--dry-run] [--tune-time SEC]: the CUDA back end on a
# real GPU, in one go, in about 8 minutes on a 16-core machine:
#   1. build ftc in build-gpu/ (no tests), installing missing Debian packages
#      from the local mirror when run as root;
#   2. run every example on the GPU with the naive GPU schedule, at its small
#      test shape (tests/small_shapes.txt) and at its default shape, each
#      checked against the reference (ftc run --target cuda);
#   3. tune GEMM 2048^3 and examples/conv2d.te (ftc tune --target cuda
#      --time SEC, default 90) and run the best schedules again;
#   4. time cuBLAS SGEMM 2048^3 (FP32, no TF32) and, when cuDNN is
#      installed, cuDNN's conv2d (FMA math), interleaved with ftc's runs;
#   5. print a table: ftc GFLOP/s, the library's GFLOP/s, the ratio.
# --dry-run runs every part a CPU can: FTC_CUDA_EMULATE=1 (the kernels run
# on the CPU emulator: results are checked, times mean nothing), small
# shapes, short budgets; the baselines are built and run only where a
# device answers.  Logs and results go to $OUT/gpu-results when $OUT is
# set, else build-gpu/results.  Exit status: 0 when every example was
# verified and both tunes found a verified schedule, else 1.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DRY=false
TUNE_TIME=90
while [ $# -gt 0 ]; do
	case "$1" in
	--dry-run) DRY=true ;;
	--tune-time) TUNE_TIME=$2; shift ;;
	-h|--help) sed -n '2,21p' "$0"; exit 0 ;;
	*) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done
BUILD="$ROOT/build-gpu"
RES="${OUT:+$OUT/gpu-results}"
RES="${RES:-$BUILD/results}"
mkdir -p "$RES"
LOG="$RES/run.log"
: >"$LOG"
START=$SECONDS
FAILS=0

say() { echo "$*" | tee -a "$LOG"; }
elapsed() { echo "$((SECONDS - START))s"; }

# ---- 0. the machine ----
say "== tests/gpu/run.sh $( $DRY && echo '(dry run: CPU emulator) ')on $(hostname), $(nproc) cores, $(date -u +%FT%TZ)"
CUDA_HOME=${CUDA_HOME:-}
if [ -z "$CUDA_HOME" ]; then
	for d in /usr/local/cuda /usr/lib/cuda /opt/cuda; do
		[ -d "$d/include" ] && CUDA_HOME=$d && break
	done
fi
if [ -z "$CUDA_HOME" ] && command -v nvcc >/dev/null; then
	CUDA_HOME=$(dirname "$(dirname "$(command -v nvcc)")")
fi
say "CUDA toolkit: ${CUDA_HOME:-not found}"
SM=90
if command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; then
	nvidia-smi --query-gpu=name,driver_version,compute_cap,memory.total --format=csv,noheader 2>&1 | tee -a "$LOG"
	cc_=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d ' .')
	[[ "$cc_" =~ ^[0-9]+$ ]] && SM=$cc_
elif ! $DRY; then
	say "no GPU answers nvidia-smi: the GPU steps will report the driver's error"
fi
TARGET="cuda -arch=sm_$SM"
say "target: $TARGET"
if $DRY; then
	export FTC_CUDA_EMULATE=1
fi
# Never the user's tuning db.
export FTC_DB="$RES/tuning.db"
rm -f "$FTC_DB"

# ---- 1. build ----
build() {
	local missing=()
	for t in cc meson ninja pkg-config llvm-config-19; do
		command -v "$t" >/dev/null || missing+=("$t")
	done
	if [ ${#missing[@]} -gt 0 ] || ! pkg-config --exists isl sqlite3; then
		say "missing tools (${missing[*]:-a library}): trying the Debian packages"
		# shellcheck source=../../scripts/setup.sh
		. "$ROOT/scripts/setup.sh" && ftc_install_deps >>"$LOG" 2>&1 ||
			say "could not install the packages (no root or no mirror); trying the build anyway"
	fi
	if [ ! -f "$BUILD/build.ninja" ]; then
		meson setup "$BUILD" "$ROOT" --native-file "$ROOT/native/llvm19.ini" -Dtests=false \
			-Dbuildtype=release >>"$LOG" 2>&1 || return 1
	fi
	ninja -C "$BUILD" compiler/ftc >>"$LOG" 2>&1
}
if ! build; then
	say "BUILD FAILED (see $LOG)"
	tail -30 "$LOG"
	exit 1
fi
FTC="$BUILD/compiler/ftc"
say "built $FTC in $(elapsed)"

# GFLOP/s from `ftc run` output, "" when none.
gflops_of() { sed -n 's/.*, \([0-9.]*\) GFLOP\/s$/\1/p' "$1" | tail -1; }

# ---- 2. every example on the GPU ----
small_defs() { awk -v n="$1" '$1 == n { for (i = 2; i <= NF; i++) printf " -D %s", $i }' "$ROOT/tests/small_shapes.txt"; }
run_example() { # name label timeout defines...
	local name=$1 label=$2 limit=$3 log="$RES/run-$1-$2.log" status
	shift 3
	timeout "$limit" "$FTC" run "$ROOT/examples/$name.te" "$@" --target "$TARGET" >"$log" 2>&1
	status=$?
	if grep -q '^verified$' "$log"; then
		printf '  %-20s %-8s verified  %10s GFLOP/s  %s\n' "$name" "$label" "$(gflops_of "$log")" \
			"$(grep -m1 kernel "$log" | cut -c1-60)" | tee -a "$LOG"
	else
		printf '  %-20s %-8s FAILED (status %d): %s\n' "$name" "$label" "$status" \
			"$(grep -v '^device' "$log" | head -3 | tr '\n' ' ' | cut -c1-200)" | tee -a "$LOG"
		FAILS=$((FAILS + 1))
	fi
}
say "== every example, naive GPU schedule, against the reference"
for f in "$ROOT"/examples/*.te; do
	name=$(basename "$f" .te)
	# shellcheck disable=SC2046
	run_example "$name" small 60 $(small_defs "$name")
	$DRY || run_example "$name" default 60
done
say "examples done at $(elapsed), $FAILS failed"

# ---- 3. tune ----
tune() { # label file defines...
	local label=$1 file=$2 log="$RES/tune-$1.log"
	shift 2
	say "== tune $label (--time $TUNE_TIME)"
	timeout $((TUNE_TIME + 120)) "$FTC" tune "$file" "$@" --target "$TARGET" --time "$TUNE_TIME" --seed 1 \
		--save-schedule "$RES/$label.sched" >"$log" 2>&1
	grep -E '^(tuned|best|no candidate)' "$log" | tee -a "$LOG"
	if [ ! -s "$RES/$label.sched" ]; then
		say "tune $label found no verified schedule (see $log)"
		FAILS=$((FAILS + 1))
		rm -f "$RES/$label.sched"
	fi
}
if $DRY; then
	GEMM_DEFS=(-D M=64 -D N=64 -D K=64)
	GEMM_N=64
	# shellcheck disable=SC2207
	CONV_DEFS=($(small_defs conv2d))
	TUNE_TIME=${DRY_TUNE_TIME:-15}
else
	GEMM_DEFS=(-D M=2048 -D N=2048 -D K=2048)
	GEMM_N=2048
	CONV_DEFS=()
fi
tune gemm "$ROOT/examples/gemm.te" "${GEMM_DEFS[@]}"
tune conv2d "$ROOT/examples/conv2d.te" ${CONV_DEFS[@]+"${CONV_DEFS[@]}"}
say "tuning done at $(elapsed)"

# ---- 4. baselines, interleaved with ftc ----
BASE="$RES/bin"
mkdir -p "$BASE"
build_baseline() { # name libs...
	local name=$1
	shift
	[ -n "$CUDA_HOME" ] || return 1
	cc -std=c11 -O2 "$ROOT/tests/gpu/$name.c" -I"$CUDA_HOME/include" -L"$CUDA_HOME/lib64" \
		-Wl,-rpath,"$CUDA_HOME/lib64" "$@" -o "$BASE/$name" >>"$LOG" 2>&1 ||
		{ command -v nvcc >/dev/null && nvcc -O2 -x cu "$ROOT/tests/gpu/$name.c" "$@" -o "$BASE/$name" >>"$LOG" 2>&1; }
}
HAVE_CUBLAS=false HAVE_CUDNN=false
build_baseline cublas_sgemm -lcublas -lcudart && HAVE_CUBLAS=true
[ -n "$CUDA_HOME" ] && [ -f "$CUDA_HOME/include/cudnn.h" ] && build_baseline cudnn_conv2d -lcudnn -lcudart && HAVE_CUDNN=true
say "baselines built: cuBLAS $HAVE_CUBLAS, cuDNN $HAVE_CUDNN"

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "" }'; }
# ftc run of a tuned schedule, one round: its GFLOP/s
ftc_round() { # label file defines...
	local label=$1 file=$2 log="$RES/final-$1.log" sched=()
	shift 2
	[ -f "$RES/$label.sched" ] && sched=(--schedule "$RES/$label.sched")
	timeout 120 "$FTC" run "$file" "$@" ${sched[@]+"${sched[@]}"} --target "$TARGET" >"$log" 2>&1
	grep -q '^verified$' "$log" && gflops_of "$log"
}
lib_round() { # program args...
	local prog=$1
	shift
	timeout 120 "$BASE/$prog" "$@" 2>>"$LOG" | sed -n 's/.*, \([0-9.]*\) GFLOP\/s.*/\1/p'
}
rounds() { # label file lib-program lib-args... -- ftc defines...
	local label=$1 file=$2 prog=$3 ftc_g=() lib_g=() lib_args=() have
	shift 3
	while [ $# -gt 0 ] && [ "$1" != -- ]; do lib_args+=("$1"); shift; done
	shift
	have=false
	[ "$prog" = cublas_sgemm ] && have=$HAVE_CUBLAS
	[ "$prog" = cudnn_conv2d ] && have=$HAVE_CUDNN
	for r in 1 2 3; do
		ftc_g+=("$(ftc_round "$label" "$file" "$@")")
		if $have; then lib_g+=("$(lib_round "$prog" "${lib_args[@]}")"); fi
	done
	FTC_G=$(printf '%s\n' "${ftc_g[@]}" | grep . | median)
	LIB_G=$(printf '%s\n' ${lib_g[@]+"${lib_g[@]}"} | grep . | median)
}
declare -A ROW
rounds gemm "$ROOT/examples/gemm.te" cublas_sgemm $GEMM_N $GEMM_N $GEMM_N -- "${GEMM_DEFS[@]}"
ROW[gemm]="$FTC_G|$LIB_G"
if $DRY; then
	# shellcheck disable=SC2046
	rounds conv2d "$ROOT/examples/conv2d.te" cudnn_conv2d $(awk '$1 == "conv2d" { for (i = 2; i <= NF; i++) { split($i, a, "="); v[a[1]] = a[2] } print v["N"], v["C"], v["H"], v["W"], v["K"], v["R"], v["S"], v["pad"], v["stride"] }' "$ROOT/tests/small_shapes.txt") -- ${CONV_DEFS[@]+"${CONV_DEFS[@]}"}
else
	rounds conv2d "$ROOT/examples/conv2d.te" cudnn_conv2d 1 128 56 56 256 3 3 1 1 --
fi
ROW[conv2d]="$FTC_G|$LIB_G"

# ---- 5. the table ----
say ""
say "== results ($(elapsed) in all; GFLOP/s, median of 3 interleaved rounds$( $DRY && echo '; DRY RUN: emulated, not GPU times'))"
say "| workload | ftc GFLOP/s | library | library GFLOP/s | ftc / library |"
say "| --- | --- | --- | --- | --- |"
row() { # label workload library
	local f=${ROW[$1]%|*} l=${ROW[$1]#*|} ratio="-"
	if [ -n "$f" ] && [ -n "$l" ]; then ratio=$(awk -v a="$f" -v b="$l" 'BEGIN { if (b > 0) printf "%.2f", a / b }'); fi
	say "| $2 | ${f:-failed} | $3 | ${l:-n/a} | $ratio |"
}
row gemm "GEMM ${GEMM_N}^3 f32" "cuBLAS SGEMM"
row conv2d "conv2d $($DRY && echo small || echo '1x128x56x56, 256 3x3')" "cuDNN (FMA)"
[ -z "${ROW[gemm]%|*}" ] && FAILS=$((FAILS + 1))
[ -z "${ROW[conv2d]%|*}" ] && FAILS=$((FAILS + 1))
say "failures: $FAILS; logs in $RES"
[ "$FAILS" -eq 0 ]
