#!/usr/bin/env bash
# bench_mpi.sh [DOB]: MPI throughput of dob on this machine (not run by CTest; run it when the machine is quiet).
#
# (a) Data-parallel efficiency on fmnist_2c2d (real Fashion-MNIST, batch 128): `mpirun -np 2 --bind-to none` with
#     OMP_NUM_THREADS=1 against 1 rank with OMP_NUM_THREADS=2, i.e. the same 2 cores used by MPI ranks or by
#     threads. steps/s = --max_steps steps over the time of the training steps (the trainer's phase_seconds:
#     data, forward, backward, allreduce, optimizer; the two evaluation rounds are excluded), read from the result
#     file with h5py; best of REPEAT runs. Efficiency = steps/s(2 ranks) / steps/s(1 rank x 2 threads); target
#     >= 95 % (issue 11).
# (b) Sweep throughput: a 36-trial learning-rate sweep (lr log:1e-3:1:36, one seed, -N 1 --max_steps STEPS) packed
#     on 2 ranks (`dob sweep`, OMP_NUM_THREADS=1) against the same 36 trials as separate `dob run` processes, 2 at a
#     time (xargs -P 2, OMP_NUM_THREADS=1). Wall time of the whole batch, as trials/hour; target >= 1.3x. The gain
#     is what a process pays once: MPI/oneDNN start-up, loading and decoding the data set, creating the net's
#     oneDNN plans, about 1-2 s. Default problems fmnist_logreg and fmnist_mlp: short trials, where that cost
#     matters. A fmnist_2c2d trial is dominated by its two evaluation rounds (20 000 examples each, about 30 s on
#     one core), so there the gain is a few percent (PROBLEMS_SWEEP=fmnist_2c2d measures it; it takes ~40 min).
#
# Environment: REPEAT (default 3), STEPS_DP (100), STEPS_SWEEP (50), PROBLEMS_SWEEP ("fmnist_logreg fmnist_mlp").
# Prints one line per measurement and a summary. Needs mpirun (as root: OMPI_ALLOW_RUN_AS_ROOT* are set here).
set -eu
DOB=${1:-build/dob}
DOB=$(cd "$(dirname "$DOB")" && pwd)/$(basename "$DOB")
REPEAT=${REPEAT:-3}
STEPS_DP=${STEPS_DP:-100}
STEPS_SWEEP=${STEPS_SWEEP:-50}
PROBLEMS_SWEEP=${PROBLEMS_SWEEP:-"fmnist_logreg fmnist_mlp"}
PY=/usr/bin/python3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); load $(cut -d' ' -f1-3 /proc/loadavg)"

# steps/s of the training steps of a result file
steps_per_s() {
  "$PY" -c "
import h5py, sys
with h5py.File(sys.argv[1], 'r') as f:
    print('%.3f' % ($STEPS_DP / sum(f['trials/0/phase_seconds'][:])))" "$1"
}

# ---- (a) data-parallel efficiency ------------------------------------------------------------------------------
RUN=(run fmnist_2c2d --optimizer momentum --momentum 0.99 --lr 2.51e-3 --bs 128 -N 1 --max_steps "$STEPS_DP"
     --no_json --quiet)
best1=0; best2=0
for r in $(seq 1 "$REPEAT"); do
  rm -f t1.h5 t2.h5
  OMP_NUM_THREADS=2 "$DOB" "${RUN[@]}" --out t1.h5 > /dev/null
  s1=$(steps_per_s t1.h5)
  OMP_NUM_THREADS=1 mpirun -np 2 --bind-to none "$DOB" "${RUN[@]}" --out t2.h5 > /dev/null
  s2=$(steps_per_s t2.h5)
  echo "(a) run $r: 1 rank x 2 threads $s1 steps/s, 2 ranks x 1 thread $s2 steps/s"
  best1=$("$PY" -c "print(max($best1, $s1))"); best2=$("$PY" -c "print(max($best2, $s2))")
done
eff=$("$PY" -c "print('%.1f' % (100 * $best2 / $best1))")
echo "(a) fmnist_2c2d data-parallel: 1x2 $best1 steps/s, 2x1 $best2 steps/s: efficiency $eff % (target >= 95 %)"

# ---- (b) packed sweep vs separate processes ----------------------------------------------------------------------
LRS=$("$PY" -c "print(' '.join(repr(10 ** ((-3 * (35 - k) + 0 * k) / 35)) for k in range(36)))")
summary=()
for P in $PROBLEMS_SWEEP; do
  rm -f sweep.h5
  t0=$(date +%s.%N)
  OMP_NUM_THREADS=1 mpirun -np 2 --bind-to none "$DOB" sweep "$P" --optimizer sgd --lr log:1e-3:1:36 --seeds 42 \
    -N 1 --max_steps "$STEPS_SWEEP" --out sweep.h5 --quiet > /dev/null
  t1=$(date +%s.%N)
  # shellcheck disable=SC2086
  printf '%s\n' $LRS | OMP_NUM_THREADS=1 xargs -P 2 -I{} "$DOB" run "$P" --optimizer sgd --lr {} -N 1 \
    --max_steps "$STEPS_SWEEP" --no_logs --quiet > /dev/null
  t2=$(date +%s.%N)
  line=$("$PY" -c "
ws, wr = $t1 - $t0, $t2 - $t1
print('(b) %s, 36 trials of %d steps: packed sweep %.1f s = %.0f trials/h; 36 dob run (2 at a time) %.1f s = %.0f trials/h; '
      'speed-up %.2fx (target >= 1.3x)' % ('$P', $STEPS_SWEEP, ws, 36 * 3600 / ws, wr, 36 * 3600 / wr, wr / ws))")
  echo "$line"
  summary+=("$line")
done
echo
echo "summary:"
echo "(a) fmnist_2c2d data-parallel efficiency $eff % (2 ranks x 1 thread vs 1 rank x 2 threads)"
printf '%s\n' "${summary[@]}"
