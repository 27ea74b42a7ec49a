#!/usr/bin/env bash
# Every option of run, tune, compile and lower against every target: it
# means the same for each, or it is refused with a message saying it means
# nothing there (the back end is asked: cg_backend.h).  A table of
# COMMAND TARGET STATUS PATTERN OPTIONS...; the GPU runs on the emulator.
# Usage: test_options.sh PATH/TO/ftc
set -uo pipefail
FTC=$1
. "$(dirname "$0")/lib.sh"
export FTC_CUDA_EMULATE=1

printf 'param M = 8, N = 8, K = 8\ninput A[M, K] f32\ninput B[K, N] f32\nC[i < M, j < N] = sum(k < K) A[i, k] * B[k, j]\n' \
	>"$TMP/g.te"
printf 'split C i 2\n' >"$TMP/cpu.sched"
printf 'bind C i blockIdx.x\nbind C j threadIdx.x\n' >"$TMP/cuda.sched"
printf 'pipeline C k\n' >"$TMP/hls.sched"

# row CMD TARGET STATUS PATTERN OPTION...: run `ftc CMD g.te --target
# TARGET OPTION...`, require exit STATUS and output matching PATTERN.
row() {
	local cmd=$1 target=$2 want=$3 pattern=$4 out rc
	shift 4
	out=$("$FTC" "$cmd" "$TMP/g.te" --target "$target" "$@" 2>&1)
	rc=$?
	if [ "$rc" -eq "$want" ] && grep -Eq -- "$pattern" <<<"$out"; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL: $cmd --target $target $*: exit $rc (want $want), output:"
		sed 's/^/    /' <<<"$out" | head -12
		echo "    (wanted /$pattern/)"
	fi
}

for t in cpu cuda hls; do
	S=$TMP/$t.sched
	# lower: -D, --schedule, --target mean the same everywhere
	row lower $t 0 "^func g" -D M=4 --schedule "$S"
	# compile: every option but --emit-llvm means the same
	row compile $t 0 "wrote $TMP/c_$t/: g\." -o "$TMP/c_$t" --schedule "$S" -D K=4
	row compile $t 0 "wrote $TMP/n_$t/: k\." -o "$TMP/n_$t" --name k --no-check
	row compile $t 1 "unknown option" -o "$TMP/x_$t" --frob
	# run: --interp, --seed, --schedule, -D
	row run $t 0 "verified" --interp --seed 7 --schedule "$S" -D N=4
	# tune: budget, method, seed, patience, json, quiet, save, no-db
	row tune $t 0 '"trials": [0-9]' --trials 2 --method random --seed 3 --patience 1 --json --no-db \
		--save-schedule "$TMP/best_$t.sched"
	row tune $t 0 "" --time 1 --trials 1 -q --no-db
	row tune $t 1 "unknown method 'x'" --method x --no-db
done
# options that mean something for some targets only are refused elsewhere
row compile cpu 0 "wrote .* g\.ll" -o "$TMP/ll" --emit-llvm
for t in cuda hls; do
	row compile $t 1 "--emit-llvm means nothing for the $t target" -o "$TMP/ll_$t" --emit-llvm
done
# --db means the same for every target: a tune stores, compile finds it
for t in cpu cuda hls; do
	row tune $t 0 "tuned" --trials 1 -q --db "$TMP/x.db"
	row compile $t 0 "using the tuning db's best" -o "$TMP/db_$t" --db "$TMP/x.db"
done
# run: the cpu and the GPU (its emulator) run and time, the model cannot
row run cpu 0 "GFLOP/s" --schedule "$TMP/cpu.sched"
row run cuda 0 "emulated" --schedule "$TMP/cuda.sched"
row run hls 1 "estimated by a model, not run" --schedule "$TMP/hls.sched"
# --patience means the same everywhere: no gain in N trials stops a tune
for t in cpu cuda hls; do
	row tune $t 0 "stopped by no gain in 1 trials" --trials 8 --patience 1 -q --no-db
done

echo "options: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
