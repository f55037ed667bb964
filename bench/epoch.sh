#!/usr/bin/env bash
# epoch.sh [ROUNDS=3] [PROBLEMS...]: the whole DeepOBS-protocol run, dob against PyTorch (issue 11: "the whole
# 1-epoch run >= 1.4x" and "steps/s of dob run itself, not only bench_step").
# Per problem, ROUNDS interleaved rounds of
#   dob:   `dob run PROBLEM -N EPOCHS --optimizer momentum --lr 0.01` on the real Fashion-MNIST (start-up, data
#          loading, 2 evaluation rounds of train_eval + test, 468 training steps per epoch, result file written);
#   torch: bench/torch_epoch.py, the same protocol in PyTorch (OpenBLAS-openmp), evaluation at the training batch
#          size as DeepOBS's runner does it.
# Prints per round the process wall time of each and the training steps/s (dob: 468*EPOCHS over the trainer's
# phase_seconds from the result file; torch: its training loop), then the medians and the ratios torch/dob.
# Environment: EPOCHS (1), DATA (/usr/share/datasets/fashion-mnist), BUILD (build), OMP_NUM_THREADS (2).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}; shift || true
PROBLEMS=${*:-fmnist_2c2d fmnist_mlp}
EPOCHS=${EPOCHS:-1}
DATA=${DATA:-/usr/share/datasets/fashion-mnist}
BUILD=${BUILD:-build}
THREADS=${OMP_NUM_THREADS:-2}
export OMP_NUM_THREADS=$THREADS
. bench/torch_env.sh  # OB (OpenBLAS-openmp for torch) and the allocator settings: see there
[ -x "$BUILD/dob" ] || { echo "build dob first: cmake -S . -B $BUILD -G Ninja && cmake --build $BUILD"; exit 1; }
"$BUILD/dob" version | sed -n 2p
printf 'CPU: %s, %s threads, %s epoch(s)\n' "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')" \
  "$THREADS" "$EPOCHS"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for p in $PROBLEMS; do
  DW=(); DS=(); TW=(); TS=()
  for r in $(seq "$ROUNDS"); do
    out=$work/$p-$r.h5
    t0=$(now)
    "$BUILD/dob" run "$p" -N "$EPOCHS" --optimizer momentum --lr 0.01 --data_dir "$DATA" --out "$out" --quiet >/dev/null
    DW+=("$(echo "$(now) - $t0" | bc -l)")
    DS+=("$(/usr/bin/python3 -c "import h5py, sys
with h5py.File(sys.argv[1], 'r') as f:
    print('%.3f' % (468 * $EPOCHS / sum(f['trials/0/phase_seconds'][:])))" "$out")")
    t0=$(now)
    line=$(LD_LIBRARY_PATH=$OB /usr/bin/python3 bench/torch_epoch.py "$p" "$DATA" "$EPOCHS" "$THREADS")
    TW+=("$(echo "$(now) - $t0" | bc -l)")
    TS+=("$(printf '%s' "$line" | sed -E 's/.*\(([0-9.]+) steps.*/\1/')")
    printf '%-12s round %d: dob %.1f s (%s steps/s)  torch %.1f s (%s steps/s)\n' "$p" "$r" "${DW[-1]}" "${DS[-1]}" \
      "${TW[-1]}" "${TS[-1]}"
  done
  dw=$(printf '%s\n' "${DW[@]}" | median); tw=$(printf '%s\n' "${TW[@]}" | median)
  ds=$(printf '%s\n' "${DS[@]}" | median); ts=$(printf '%s\n' "${TS[@]}" | median)
  awk -v p="$p" -v dw="$dw" -v tw="$tw" -v ds="$ds" -v ts="$ts" -v n="$ROUNDS" 'BEGIN {
    printf "%-12s whole run (medians of %d): dob %.1f s, torch %.1f s, ratio %.2fx; training steps/s dob %.1f, torch %.1f, ratio %.2fx\n",
      p, n, dw, tw, tw / dw, ds, ts, ds / ts }'
done
