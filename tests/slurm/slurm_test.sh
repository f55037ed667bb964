#!/usr/bin/env bash
# slurm_test.sh DOB MPIEXEC: the jobs/ templates, submitted unedited to a real single-node Slurm cluster
# (tests/slurm/cluster.sh: Debian's slurmctld, slurmd and munge, started privately and torn down afterwards),
# with their arguments given through the environment (DOB, OUT, DOB_ARGS, DOB_SWEEP, RANKS_PER_TRIAL) and their
# #SBATCH sizes overridden on the sbatch command line. Real Fashion-MNIST, 1 thread per rank. Checks:
#   run_dp        2 ranks under srun --mpi=pmix; SIGUSR1 to the batch shell (what --signal=B:USR1@T sends before
#                 the time limit) once a checkpoint exists: dob checkpoints and exits 3, the template requeues the
#                 job, the requeued job continues from the checkpoint, and the result equals an uninterrupted
#                 `mpiexec -n 2` run bitwise.
#   imagenet_dp   a stand-in for dob (Inception is far too slow here): the unedited #SBATCH lines accepted, its
#                 arguments and threads per rank, signal -> exit 3 -> requeue -> the second attempt.
#   sweep_array   --array=0-1: two slices, each its own file, slice 0 interrupted twice (requeued, its trials
#                 continued from their checkpoints); `dob merge` as an afterok dependency job joins them: 4 trials
#                 done, each bitwise equal to the same trial of an uninterrupted sweep.
#   sweep_packed  2 ranks packing 4 trials of ~5 s against job slots of 3 s, interrupted 3 times, requeued and
#                 resumed from the trial checkpoints until done: each trial bitwise equal to the uninterrupted
#                 sweep's, run_count > 1, no checkpoint left; once as 2 groups of 1 rank, once --ranks-per-trial 2.
# Slurm holds a requeued job for about 2 minutes (its BeginTime); the test releases it with
# `scontrol update StartTime=now` instead of waiting. Prints "N passed, M failed", exits with the failures;
# exit 77 (skipped) when not root or Slurm is not installed.
set -u
DOB=$(realpath "${1:?usage: slurm_test.sh DOB MPIEXEC}")
MPIEXEC=${2:?usage: slurm_test.sh DOB MPIEXEC}
HERE=$(cd "$(dirname "$0")" && pwd)
JOBS=$(cd "$HERE/../../jobs" && pwd)
PY=/usr/bin/python3
if [ "$(id -u)" -ne 0 ]; then echo "skipped: the private Slurm cluster needs root (slurmd)"; exit 77; fi
for b in slurmctld slurmd munged sbatch; do
  command -v "$b" >/dev/null || { echo "skipped: $b not installed (scripts/install-deps.sh installs Slurm)"; exit 77; }
done
work=$(mktemp -d)
cleanup() { "$HERE/cluster.sh" stop "$work/cluster" >/dev/null 2>&1; rm -rf "$work"; }
trap cleanup EXIT
# KEEP=1: leave the work folder (job outputs, files) for inspection
[ -n "${KEEP:-}" ] && trap '"$HERE/cluster.sh" stop "$work/cluster" >/dev/null 2>&1; echo "kept $work"' EXIT
cd "$work" || exit 1
pass=0; fail=0
ok() { pass=$((pass+1)); }
bad() { fail=$((fail+1)); printf 'FAIL: %s\n' "$*"; }
finish() { echo "$pass passed, $fail failed"; exit "$fail"; }

eval "$("$HERE/cluster.sh" start "$work/cluster")" || { bad "cluster did not start"; finish; }
export SLURM_CONF DOB
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
unset SLURM_ARRAY_TASK_ID SLURM_ARRAY_TASK_COUNT SLURM_ARRAY_TASK_MIN SLURM_JOB_ID

# release ID: start a requeued job now instead of after its ~2 min BeginTime hold; but not within 3 s of the
# requeue: slurmd still holds the revoked credential of the killed run, and a launch then fails the job
# ("Killing non-startable batch job: Job credential revoked", seen when released at once)
release() { sleep 3; scontrol update JobId="$1" StartTime=now >/dev/null 2>&1; }
# wait_job ID [seconds]: until the job has left the queue (a requeued job is released from its hold)
wait_job() {
  local i st
  for i in $(seq "${2:-600}"); do
    st=$(squeue -h -j "$1" -o '%T %r' 2>/dev/null)
    [ -z "$st" ] && return 0
    case $st in *BeginTime*) release "$1" ;; esac
    sleep 1
  done
  return 1
}
wait_file() { local i; for i in $(seq $((${2:-300} * 5))); do [ -e "$1" ] && return 0; sleep 0.2; done; return 1; }
job_state() { scontrol show job "$1" 2>/dev/null | sed -n -E 's/.*JobState=([A-Z_]+).*/\1/p' | head -1; }
# h5 PYTHON ARGS...: a check in Python, with h5py, sys and numpy (np) imported
h5() { "$PY" -c "import h5py, sys, numpy as np; $1" "${@:2}"; }

# ---- run_dp: signal, checkpoint, requeue, resume; bitwise equal to an uninterrupted run ---------------------
RUNARGS="fmnist_mlp --optimizer sgd --lr 0.1 -N 2 --no_json --quiet"
OMP_NUM_THREADS=1 "$MPIEXEC" -n 2 --bind-to none "$DOB" run $RUNARGS --out ref_dp.h5 > ref_dp.log 2>&1 ||
  bad "reference mpiexec run failed: $(tail -3 ref_dp.log)"
j=$(OUT="$work/dp.h5" DOB_ARGS="$RUNARGS" sbatch --parsable --nodes=1 --ntasks=2 --ntasks-per-node=2 \
      --cpus-per-task=1 --time=30 -o "$work/dp-%j.out" "$JOBS/run_dp.sbatch")
if wait_file "$work/dp.h5.ckpt"; then
  sleep 2
  scancel --signal=USR1 --batch "$j"
  if wait_job "$j" && [ -f dp.h5 ] && [ ! -e dp.h5.ckpt ]; then ok; else bad "run_dp did not finish: $(tail -5 dp-$j.out)"; fi
  if grep -q "requeueing job $j" "dp-$j.out" && [ "$(grep -c "dob run exited with" "dp-$j.out")" -eq 2 ]; then ok
  else bad "run_dp: expected an interrupted and a requeued attempt in the job output: $(cat dp-$j.out)"; fi
  "$PY" "$HERE/../compare_runs.py" ref_dp.h5 dp.h5 && ok || bad "run_dp: the requeued run differs from the reference"
else
  bad "run_dp: no checkpoint appeared: $(cat dp-$j.out 2>/dev/null)"
fi

# ---- imagenet_dp: the template's plumbing, with a stand-in for dob (an Inception run is far too slow here) -------
# The stand-in records its arguments and environment per rank; without a checkpoint it makes one and waits for
# the signal (exit 3, as dob), with one it removes it and exits 0. Checks: the unedited #SBATCH lines accepted,
# one task per rank, threads from --cpus-per-task, --data_dir from DOB_DATA_DIR, the checkpoint beside OUT, and
# signal -> exit 3 -> requeue -> second attempt.
cat > fake_dob.sh <<'SH'
#!/bin/bash
ck=; prev=
for a in "$@"; do [ "$prev" = --checkpoint ] && ck=$a; prev=$a; done
echo "rank $SLURM_PROCID threads $OMP_NUM_THREADS decode $DOB_DATA_THREADS bind $OMP_PROC_BIND args $*" >> "$FAKE_LOG"
if [ -e "$ck" ]; then sleep 1; [ "$SLURM_PROCID" = 0 ] && rm -f "$ck"; exit 0; fi
trap 'exit 3' USR1
[ "$SLURM_PROCID" = 0 ] && touch "$ck"
sleep 300 & wait
SH
chmod +x fake_dob.sh
j=$(DOB="$work/fake_dob.sh" FAKE_LOG="$work/fake.log" OUT="$work/inc.h5" DOB_DATA_DIR="$work/data" sbatch --parsable \
      --nodes=1 --ntasks=2 --ntasks-per-node=2 --cpus-per-task=1 --time=30 -o "$work/inc-%j.out" \
      "$JOBS/imagenet_dp.sbatch")
if [ -n "$j" ] && wait_file "$work/inc.h5.ckpt" 60; then
  sleep 1
  scancel --signal=USR1 --batch "$j"
  wait_job "$j" 120 || bad "imagenet_dp: job $j did not finish"
  if [ "$(grep -c "requeueing job $j" "inc-$j.out")" = 1 ] && [ "$(grep -c "dob run exited with" "inc-$j.out")" = 2 ] &&
     [ ! -e inc.h5.ckpt ]; then ok; else bad "imagenet_dp: expected an interrupted and a requeued attempt: $(cat inc-$j.out)"; fi
  want="threads 1 decode 1 bind close args run imagenet_inception_v3 .* --data_dir $work/data --out $work/inc.h5 --checkpoint $work/inc.h5.ckpt\$"
  [ "$(grep -c -- "$want" fake.log)" = 4 ] && [ "$(grep -c "^rank 1 " fake.log)" = 2 ] && ok ||
    bad "imagenet_dp: expected 2 attempts x 2 ranks matching '$want': $(cat fake.log)"
else
  bad "imagenet_dp: not submitted or never started ($j): $(cat inc-*.out 2>/dev/null)"
fi

# interrupt JOB N T OUT: N times, once JOB is RUNNING and one of its trials is training, T seconds later, SIGUSR1
# to its batch shell (what --signal=B:USR1@T sends before the time limit); each requeue is released at once.
# Training means a trial checkpoint OUT.trial*.ckpt newer than the attempt (saved after a trial's first
# evaluation round): a fixed delay from RUNNING missed on a loaded machine, where start-up took longer than the
# delay, every signal stopped the sweep before a trial began, and no trial was ever continued. Returns when the
# job is done or gone.
interrupt() {
  local j=$1 n=$2 t=$3 out=$4 k i st
  for k in $(seq "$n"); do
    for i in $(seq 1200); do
      st=$(squeue -h -j "$j" -o '%T %r' 2>/dev/null)
      [ -z "$st" ] && return 0
      case $st in RUNNING*) break ;; *BeginTime*) release "$j" ;; esac
      sleep 0.5
    done
    touch "$work/attempt.mark"
    for i in $(seq 3000); do
      [ -n "$(find "$work" -maxdepth 1 -name "$out.trial*.ckpt" -newer "$work/attempt.mark" 2>/dev/null)" ] && break
      [ -z "$(squeue -h -j "$j" -o %T 2>/dev/null)" ] && return 0
      sleep 0.1
    done
    sleep "$t"
    scancel --signal=USR1 --batch "$j" 2>/dev/null
    for i in $(seq 1200); do
      st=$(squeue -h -j "$j" -o %T 2>/dev/null)
      [ "$st" != RUNNING ] && break
      sleep 0.5
    done
  done
}
# same_trials FILE REF NAME: every trial of FILE done, bitwise equal to REF's trial of the same id, some trial
# continued after an interruption (run_count > 1); prints the run counts
same_trials() {
  h5 "
a, b = h5py.File(sys.argv[1], 'r'), h5py.File(sys.argv[2], 'r')
ref = {int(b['trials'][k]['trial_id'][()]): b['trials'][k] for k in b['trials']}
runs = {}
for k in a['trials']:
    t = a['trials'][k]
    i = int(t['trial_id'][()])
    assert int(t['status'][()]) == 2, ('trial', i, 'status', int(t['status'][()]))
    for c in ('train_losses', 'test_losses', 'test_accuracies', 'minibatch_train_losses'):
        x, y = t[c][()], ref[i][c][()]
        assert ((x == y) | (np.isnan(x) & np.isnan(y))).all(), (i, c, x, y)
    runs[i] = int(t['run_count'][()])
assert max(runs.values()) > 1, ('no trial was interrupted', runs)
print(sys.argv[3] + ': trials done and bitwise equal to the uninterrupted sweep; run counts', runs)
" "$1" "$2" "$3"
}

# Trials of 500 steps (about 5 s on one core, evaluation included) against job slots of 3 s of running (1.5 s of
# them start-up): each trial needs several slots. References: the same sweeps by mpiexec, never interrupted.
SWEEP="fmnist_mlp --optimizer momentum --lr 0.1,0.01 --seeds 42:43 -N 1 --max_steps 500"
OMP_NUM_THREADS=1 "$MPIEXEC" -n 2 --bind-to none "$DOB" sweep $SWEEP --out ref_sweep.h5 > ref_sweep.log 2>&1 ||
  bad "reference sweep failed: $(tail -3 ref_sweep.log)"
OMP_NUM_THREADS=1 "$MPIEXEC" -n 2 --bind-to none "$DOB" sweep $SWEEP --ranks-per-trial 2 --out ref_g2.h5 \
  > ref_g2.log 2>&1 || bad "reference sweep (--ranks-per-trial 2) failed: $(tail -3 ref_g2.log)"

# ---- sweep_array: two slices, slice 0 interrupted twice and requeued, merged by a dependency job -----------------
ja=$(OUT="$work/arr.h5" DOB_SWEEP="$SWEEP" sbatch --parsable --array=0-1 --ntasks=1 --cpus-per-task=1 \
       --time=30 -o "$work/arr-%A_%a.out" "$JOBS/sweep_array.sbatch")
jm=$(sbatch --parsable --dependency=afterok:"$ja" --ntasks=1 --cpus-per-task=1 -o "$work/merge-%j.out" \
       --wrap "$DOB merge $work/arr.h5 $work/arr.slice0.h5 $work/arr.slice1.h5")
interrupt "${ja}_0" 2 1 arr.slice0.h5
wait_job "$ja"; wait_job "$jm"
if [ -f arr.slice0.h5 ] && [ -f arr.slice1.h5 ] && [ -f arr.h5 ] && [ "$(job_state "$jm")" = COMPLETED ]; then ok
else bad "sweep_array: slices or merge missing ($(job_state "$jm")): $(cat arr-*.out merge-*.out 2>/dev/null | tail -8)"; fi
grep -q "requeueing job" arr-"${ja}"_0.out && ok || bad "sweep_array: slice 0 was not requeued: $(tail -5 arr-"${ja}"_0.out)"
same_trials arr.slice0.h5 ref_sweep.h5 "sweep_array slice 0" && ok || bad "sweep_array: slice 0 differs"
h5 "
a, b = h5py.File(sys.argv[1], 'r'), h5py.File(sys.argv[2], 'r')
assert int(a['meta'].attrs['n_trials']) == 4, a['meta'].attrs['n_trials']
for i in range(4):
    ta, tb = a['trials/%d' % i], b['trials/%d' % i]
    assert int(ta['status'][()]) == 2, (i, int(ta['status'][()]))
    for c in ('test_losses', 'minibatch_train_losses', 'hyperparameters'):
        x, y = ta[c][()], tb[c][()]
        assert ((x == y) | (np.isnan(x) & np.isnan(y))).all(), (i, c, x, y)
" arr.h5 ref_sweep.h5 && ok || bad "sweep_array: merged file differs from the single sweep"

# ---- sweep_packed: 2 ranks packing 4 trials, interrupted 3 times, requeued, resumed from trial checkpoints ---------
for G in 1 2; do
  ref=ref_sweep.h5; [ $G = 2 ] && ref=ref_g2.h5
  jp=$(OUT="$work/packed$G.h5" DOB_SWEEP="$SWEEP" RANKS_PER_TRIAL=$G sbatch --parsable --nodes=1 --ntasks=2 \
         --ntasks-per-node=2 --cpus-per-task=1 --time=30 -o "$work/packed$G-%j.out" "$JOBS/sweep_packed.sbatch")
  interrupt "$jp" 3 1 "packed$G.h5"
  wait_job "$jp"
  same_trials packed$G.h5 $ref "sweep_packed, --ranks-per-trial $G" && ok || bad "sweep_packed G=$G: $(tail -8 packed$G-$jp.out)"
  [ "$(grep -c "requeueing job $jp" "packed$G-$jp.out")" -ge 2 ] && ok ||
    bad "sweep_packed G=$G was not requeued repeatedly: $(tail -5 packed$G-$jp.out)"
  left=$(ls packed$G.h5.trial*.ckpt 2>/dev/null | wc -l)
  [ "$left" = 0 ] && ok || bad "sweep_packed G=$G: $left trial checkpoints left behind"
done
finish
