#!/usr/bin/env bash
# bf16.sh [ROUNDS=5] [PROBLEMS...]: --precision bf16 against f32 (issue 12), dob and PyTorch side by side.
# Per problem, ROUNDS interleaved rounds of: dob f32, dob bf16, torch f32, torch bf16 (torch.autocast on the CPU,
# bench/torch_ref.py --bf16), so host noise hits all four alike. Prints the median steps/s of each, the ratios
# bf16/f32 of the medians and of the fastest single steps (the least disturbed number on a shared host), and
# dob bf16 against torch bf16.
# EPOCH=1 also times the whole DeepOBS-protocol 1-epoch fmnist_2c2d run (dob run -N 1 on the real data, 468 steps
# and 2 evaluation rounds of train_eval + test), f32 and bf16 alternately, EPOCH_ROUNDS times (default 1).
# Prints the machine's CPU, oneDNN ISA and threads first. Needs a CPU with native bf16 (avx512_core_bf16).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-5}; shift || true
PROBLEMS=${*:-fmnist_2c2d mnist_mlp}
THREADS=${OMP_NUM_THREADS:-2}
BUILD=${BUILD:-build}
export OMP_NUM_THREADS=$THREADS
. bench/torch_env.sh  # OB (OpenBLAS-openmp for torch) and the allocator settings: see there
"$BUILD/dob" version | sed -n 2p
printf 'CPU: %s, %s threads\n' "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')" "$THREADS"
"$BUILD/bench/bench_step" mnist_logreg 16 1 0 --precision bf16 > /dev/null || exit 1
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
steps_of() { case $1 in *logreg*) echo 3000 ;; *mlp*) echo 300 ;; *) echo 30 ;; esac; }
rate() { sed -E 's/.*: ([0-9.]+) steps.*/\1/'; }
fastest() { sed -E 's/.*min ([0-9.]+) ms.*/\1/'; }
for p in $PROBLEMS; do
  n=$(steps_of "$p")
  declare -A r=() m=()
  for k in dob32 dob16 t32 t16; do r[$k]=""; m[$k]=""; done
  for i in $(seq "$ROUNDS"); do
    for k in dob32 dob16 t32 t16; do
      case $k in
        dob32) line=$("$BUILD/bench/bench_step" "$p" 128 "$n" 5) ;;
        dob16) line=$("$BUILD/bench/bench_step" "$p" 128 "$n" 5 --precision bf16) ;;
        t32) line=$(LD_LIBRARY_PATH=$OB /usr/bin/python3 bench/torch_ref.py "$p" 128 "$n" 5 "$THREADS") ;;
        t16) line=$(LD_LIBRARY_PATH=$OB /usr/bin/python3 bench/torch_ref.py "$p" 128 "$n" 5 "$THREADS" --bf16) ;;
      esac
      r[$k]+="$(printf '%s' "$line" | rate) "; m[$k]+="$(printf '%s' "$line" | fastest) "
    done
  done
  declare -A med=() min=()
  for k in dob32 dob16 t32 t16; do
    med[$k]=$(printf '%s\n' ${r[$k]} | median); min[$k]=$(printf '%s\n' ${m[$k]} | sort -g | head -1)
  done
  printf '%-12s bs 128: dob f32 %7.2f  dob bf16 %7.2f  torch f32 %7.2f  torch bf16 %7.2f steps/s (medians of %s)\n' \
    "$p" "${med[dob32]}" "${med[dob16]}" "${med[t32]}" "${med[t16]}" "$ROUNDS"
  printf '%-12s fastest step ms: dob f32 %.3f  dob bf16 %.3f  torch f32 %.3f  torch bf16 %.3f\n' "" \
    "${min[dob32]}" "${min[dob16]}" "${min[t32]}" "${min[t16]}"
  awk -v a="${med[dob32]}" -v b="${med[dob16]}" -v c="${med[t32]}" -v d="${med[t16]}" \
      -v ma="${min[dob32]}" -v mb="${min[dob16]}" -v mc="${min[t32]}" -v md="${min[t16]}" -v p="$p" 'BEGIN {
    printf "%-12s bf16/f32: dob %.2fx (fastest steps %.2fx), torch %.2fx (%.2fx); dob bf16 / torch bf16 %.2fx (%.2fx)\n",
      p, b / a, ma / mb, d / c, mc / md, b / d, md / mb }'
  unset r m med min
done
if [ "${EPOCH:-0}" = 1 ]; then
  E=(); F=()
  for i in $(seq "${EPOCH_ROUNDS:-1}"); do
    for prec in f32 bf16; do
      t0=$(date +%s.%N)
      "$BUILD/dob" run fmnist_2c2d --optimizer momentum --lr 0.01 -N 1 --precision $prec --no_logs --quiet > /dev/null
      t=$(echo "$(date +%s.%N) - $t0" | bc -l)
      if [ $prec = f32 ]; then F+=("$t"); else E+=("$t"); fi
    done
  done
  f=$(printf '%s\n' "${F[@]}" | sort -g | head -1); e=$(printf '%s\n' "${E[@]}" | sort -g | head -1)
  printf 'fmnist_2c2d 1 epoch (dob run -N 1, real data): f32 %.1f s [%s]  bf16 %.1f s [%s]  bf16/f32 speed-up %.2fx\n' \
    "$f" "${F[*]}" "$e" "${E[*]}" "$(echo "$f / $e" | bc -l)"
fi
