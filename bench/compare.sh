#!/usr/bin/env bash
# compare.sh [ROUNDS=5] [PROBLEMS...]: dob vs PyTorch steps/s on the same machine, interleaved (dob, torch, dob,
# torch, ...). PROBLEMS: fmnist_2c2d mnist_mlp fmnist_logreg (default), cifar10_3c3d, cifar100_allcnnc,
# svhn_wrn164, cifar100_wrn404, imagenet_inception_v3, imagenet_vgg16, imagenet_vgg19 (bench/torch_ref.py has
# those nets). Batch 128, except 32
# for the ImageNet problems (Inception-v3's DeepOBS batch; the issue's benchmark batch). DOB_FLAGS="--conv-algo winograd" (or
# "--precision bf16") is passed to bench_step. Interleaving makes host noise hit both alike; prints the median
# of each, the ratio dob/torch and the ratio of the fastest single steps (on a shared VM the medians of single
# rounds can move by 30%).
# Also prints this machine's FMA peak (../shared/tools/peak_fma.c) and both GFLOP/s (conv + dense FLOPs counted by
# bench_step) as % of it: DESIGN.md section 8.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-5}; shift || true
PROBLEMS=${*:-fmnist_2c2d mnist_mlp fmnist_logreg}
THREADS=${OMP_NUM_THREADS:-2}
BUILD=${BUILD:-build}   # build dir holding bench/bench_step (e.g. BUILD=build-perf)
export OMP_NUM_THREADS=$THREADS
[ -x "$BUILD/bench/bench_step" ] || { cmake -S . -B "$BUILD" -G Ninja >/dev/null && cmake --build "$BUILD" --target bench_step; }
. bench/torch_env.sh  # OB (OpenBLAS-openmp for torch) and the allocator settings: see there
peak_out=$(bash bench/peak.sh 2>&1 || true)
printf '%s\n' "$peak_out"
# the all-threads peak: AVX-512 where the CPU has it, else AVX2
PEAK=$(printf '%s\n' "$peak_out" | awk '/all threads/ {for (i = 1; i <= NF; i++) if ($i == "GFLOP/s") v[++n] = $(i-1)}
  END {m = 0; for (i in v) if (v[i] + 0 > m) m = v[i] + 0; print m}')
# a rate to >= 3 significant digits without an exponent (Inception's 0.0949, fmnist_logreg's 11362.00)
fmt() { awk -v x="$1" 'BEGIN {printf (x >= 10 ? "%.2f" : x >= 1 ? "%.3f" : "%.4f"), x}'; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# steps per round: about 2 s of dob on 2 threads, so one disturbed step moves no round's median step
steps_of() { case $1 in *logreg*) echo 3000 ;; *mlp*) echo 300 ;; *allcnnc*|*wrn*) echo 6 ;; *3c3d*) echo 15 ;;
  imagenet_*) echo 3 ;; *) echo 30 ;; esac; }
bs_of() { case $1 in imagenet_*) echo 32 ;; *) echo 128 ;; esac; }
# steps/s as 1000 / the median step in ms, to 4 significant digits: the printed "S steps/s" has 2 decimals, too
# coarse for Inception's 0.1 steps/s (0.10 / 0.07 would read as a ratio of 1.43)
sps() { printf '%s' "$1" | sed -E 's/.*median step ([0-9.]+) ms.*/\1/' | awk '{printf "%.4g\n", 1000 / $1}'; }
for p in $PROBLEMS; do
  d=(); t=(); dmin=(); tmin=(); gf=0; n=$(steps_of "$p"); bs=$(bs_of "$p")
  for r in $(seq "$ROUNDS"); do
    line=$("$BUILD/bench/bench_step" "$p" "$bs" "$n" 2 ${DOB_FLAGS:-})
    d+=("$(sps "$line")")
    dmin+=("$(printf '%s' "$line" | sed -E 's/.*min ([0-9.]+) ms.*/\1/')")
    gf=$(printf '%s' "$line" | sed -E 's/.* ([0-9.]+) GFLOP\/step.*/\1/')
    tline=$(LD_LIBRARY_PATH=$OB /usr/bin/python3 bench/torch_ref.py "$p" "$bs" "$n" 2 "$THREADS")
    t+=("$(sps "$tline")")
    tmin+=("$(printf '%s' "$tline" | sed -E 's/.*min ([0-9.]+) ms.*/\1/')")
  done
  dm=$(printf '%s\n' "${d[@]}" | median); tm=$(printf '%s\n' "${t[@]}" | median)
  isa=$(printf '%s' "$line" | sed -E 's/.*isa ([a-z0-9_]+).*/\1/')
  printf '%-14s bs %s, %s threads, %s: dob %8s steps/s [%s]  torch %8s steps/s [%s]  ratio %.2f\n' "$p" \
    "$bs" "$THREADS" "$isa" "$(fmt "$dm")" "${d[*]}" "$(fmt "$tm")" "${t[*]}" "$(echo "$dm / $tm" | bc -l)"
  # the fastest single step of all rounds: the least disturbed measurement on a shared host
  bd=$(printf '%s\n' "${dmin[@]}" | sort -g | head -1); bt=$(printf '%s\n' "${tmin[@]}" | sort -g | head -1)
  printf '%-14s fastest step: dob %.3f ms, torch %.3f ms, ratio %.2f\n' "" "$bd" "$bt" "$(echo "$bt / $bd" | bc -l)"
  # conv + dense FLOPs only (bench_step's count), the same net for both
  awk -v g="$gf" -v d="$dm" -v t="$tm" -v pk="$PEAK" 'BEGIN {
    printf "%-14s %.3f GFLOP/step: dob %.1f GFLOP/s, torch %.1f GFLOP/s", "", g, g * d, g * t
    if (pk > 0) printf " = %.0f%% and %.0f%% of the %.1f GFLOP/s FMA peak", 100 * g * d / pk, 100 * g * t / pk, pk
    printf "\n" }'
done
