#!/usr/bin/env bash
# sweep_test.sh DOB MPIEXEC CASE: `dob sweep` end to end under mpiexec on real Fashion-MNIST (fmnist_logreg,
# 12 short trials: --lr log:1e-3:1:4 x --seeds 42:44), checked with /usr/bin/python3 + h5py. CASE is one of
#   sched   4 trials with a piecewise learning-rate schedule: the file records it, each trial equals `dob run`
#           with the same schedule (bitwise) and differs from the constant rate; bad schedules are refused.
#   basic   3 ranks write one file with all 12 trials done, in the documented order, each equal (bitwise) to a
#           separate `dob run` of the same setting; run_count 1; export-json gives 12 DeepOBS JSON files.
#   resume  the sweep is killed mid-trial (kill -9 of mpirun and its ranks: a crashed node) once some but not all
#           trials are done (fmnist_logreg, one epoch per trial), then resumed: all 12
#           done, the trials done before the kill untouched (run_count 1, same curves), each other trial run once
#           more by the resume, none twice.
#   array   SLURM_ARRAY_TASK_ID=0..2 / COUNT=3 slices (2 ranks each) merged with `dob merge` equal the single
#           3-rank run: same trial ids, hyperparameters, seeds, statuses and curves; a missing slice merges too.
#   ckpt    trial checkpoints (issue 19): 2 trials of 400 steps, stopped by SIGUSR1 to mpiexec every 2.5 s and
#           resumed until done, as groups of 1 rank (-n 2), one group of 2 ranks (--ranks-per-trial 2) and a
#           job-array slice: each trial bitwise equal to the uninterrupted sweep's, interrupted trials continued
#           from their checkpoints (run_count > 1, fewer steps recomputed than from step 0), no checkpoint left.
#   search  random search (--samples): the same points on 1 and 2 ranks, in slices merged (one missing, then
#           resumed), after kill -9 and a resume; --rerun-best of the best setting with new seeds.
#   errors  bad grids and seeds, --ranks-per-trial not dividing the ranks, --resume of a missing or non-sweep
#           file, conflicting flags: one clear message, non-zero exit, and no file left behind; a trial that
#           fails with an error is recorded "failed" while the others finish (exit code 1).
# Prints "N passed, M failed" and exits with the number of failures. Needs OMPI_ALLOW_RUN_AS_ROOT* when root and
# oversubscription allowed (CTest sets both) and OMP_NUM_THREADS=1 (bitwise comparisons at a fixed thread count).
set -u
DOB=${1:?usage: sweep_test.sh DOB MPIEXEC basic|resume|array|ckpt|errors|sched|search}
MPIEXEC=${2:?usage: sweep_test.sh DOB MPIEXEC CASE}
CASE=${3:?usage: sweep_test.sh DOB MPIEXEC CASE}
PY=/usr/bin/python3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
unset SLURM_ARRAY_TASK_ID SLURM_ARRAY_TASK_COUNT SLURM_ARRAY_TASK_MIN
if [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  echo "Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist): cannot run"; exit 1
fi
MPI=("$MPIEXEC" --bind-to none)
GRID=(fmnist_logreg --optimizer momentum --lr log:1e-3:1:4 --seeds 42:44 -N 1)
pass=0; fail=0
ok() { pass=$((pass+1)); }
bad() { fail=$((fail+1)); printf 'FAIL: %s\n' "$*"; }
finish() { echo "$pass passed, $fail failed"; exit "$fail"; }

# expect CODE REGEX -- command...: exit code CODE ("nz" = non-zero) and output matching REGEX
expect() {
  local code=$1 re=$2; shift 3
  local out rc
  out=$("$@" 2>&1); rc=$?
  if { [ "$code" = nz ] && [ $rc -ne 0 ]; } || [ "$code" = "$rc" ]; then
    if printf '%s' "$out" | grep -Eq -- "$re"; then ok; return; fi
  fi
  bad "$*: expected exit $code and /$re/, got exit $rc:"; printf '%s\n' "$out" | tail -8
}

# python check: prints "N passed, M failed" as its last line; adds its counts to ours
pycheck() {
  local out
  out=$("$PY" - "$@" 2>&1); printf '%s\n' "$out" | grep -v ' passed, '
  local p f
  p=$(printf '%s\n' "$out" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p' | tail -1)
  f=$(printf '%s\n' "$out" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p' | tail -1)
  if [ -z "$p" ]; then bad "python check crashed"; return; fi
  pass=$((pass+p)); fail=$((fail+f))
}

PYLIB='
import sys, math, h5py, numpy as np
passed = failed = 0
def check(cond, what):
    global passed, failed
    if cond: passed += 1
    else:
        failed += 1; print("FAIL:", what)
def trials(path):
    with h5py.File(path, "r") as f:
        out = {}
        for k in f["trials"]:
            t = f["trials"][k]
            d = {n: t[n][()] for n in t}
            out[int(d["trial_id"])] = d
        return out, dict(f["meta"].attrs)
def same_curves(a, b):
    for n in ["train_losses", "test_losses", "train_accuracies", "test_accuracies", "minibatch_train_losses"]:
        if not np.array_equal(a[n], b[n], equal_nan=True): return False
    return True
'

# interrupt_until_done FILE ARGS...: run `mpiexec ARGS` (a sweep writing FILE); SIGUSR1 to mpiexec once a trial
# of this attempt has checkpointed (it is training) and 0.3 s + 0.2 s per attempt more have passed, then
# `--resume FILE $RESUME_FLAGS` the same way, until a run finishes on its own (at most 20 attempts). Sets $attempts.
interrupt_until_done() {
  local out=$1 rc; shift
  attempts=0
  local args=("$@")
  while [ $attempts -lt 20 ]; do
    attempts=$((attempts+1))
    touch "$out.mark"
    "${MPI[@]}" "${args[@]}" >> "$out.log" 2>&1 &
    local pid=$!
    # into training: a trial checkpoint newer than this attempt (saved after a trial's first evaluation round),
    # so the signal stops a trial midway however fast the machine is; then a little more each attempt
    local i
    for i in $(seq 600); do
      [ -n "$(find . -maxdepth 1 -name "$out.trial*.ckpt" -newer "$out.mark" 2>/dev/null)" ] && break
      kill -0 $pid 2>/dev/null || break
      sleep 0.05
    done
    sleep "$(echo "0.3 + 0.2 * $attempts" | bc)"
    kill -USR1 $pid 2>/dev/null
    wait $pid; rc=$?
    [ $rc -eq 0 ] && return 0
    [ $rc -ne 3 ] && { bad "$out: attempt $attempts exited $rc: $(tail -5 "$out.log")"; return 1; }
    args=("${args[@]:0:2}" "$DOB" sweep --resume "$out" ${RESUME_FLAGS:-})
  done
  bad "$out: not done after $attempts attempts"; return 1
}

# kill_midway PID LOG N: once LOG shows N finished trials and 0.4 s more have passed (into the next trials, so
# that some are "running"), kill -9 mpiexec PID and its ranks at once (a crashed node: mpiexec alone would let
# each rank run on until its next progress line hits the closed pipe, i.e. always between two trials).
kill_midway() {
  local mpid=$1 log=$2 n=$3 i p ranks alive
  for i in $(seq 1 1200); do
    sleep 0.05
    [ "$(grep -c '\] trial [0-9]* done' "$log")" -ge "$n" ] && break
  done
  sleep 0.4
  ranks=$(pgrep -P "$mpid" | tr '\n' ' ')
  [ -n "$ranks" ] && ok || bad "no rank processes found under mpirun $mpid"
  kill -9 "$mpid" $ranks 2>/dev/null
  wait "$mpid" 2>/dev/null
  for i in $(seq 1 50); do
    alive=""; for p in $ranks; do kill -0 "$p" 2>/dev/null && alive="$alive $p"; done
    [ -z "$alive" ] && break; sleep 0.1
  done
  [ -z "$alive" ] && ok || bad "ranks $alive survived kill -9"
}

# first_done_offset FILE T: "ID OFFSET" of the first done trial of FILE's T trials and the file offset of its
# test losses ("-1 -1" if none is done), to damage it
first_done_offset() {
  "$PY" - "$1" "$2" <<'PYEOF'
import h5py, sys
with h5py.File(sys.argv[1], 'r') as f:
    done = [i for i in range(int(sys.argv[2])) if int(f['trials'][str(i)]['status'][()]) == 2]
    off = f['trials'][str(done[0])]['test_losses'].id.get_offset() if done else -1
print(done[0] if done else -1, off)
PYEOF
}

case "$CASE" in
ckpt)
  SW=(fmnist_mlp --optimizer momentum --lr 0.1 --seeds 42:43 -N 1 --max_steps 400)
  expect 0 "2 trials: 2 done" -- "${MPI[@]}" -n 2 "$DOB" sweep "${SW[@]}" --out ref.h5
  expect 0 "2 trials: 2 done" -- "${MPI[@]}" -n 2 "$DOB" sweep "${SW[@]}" --ranks-per-trial 2 --out ref2.h5
  interrupt_until_done p.h5 -n 2 "$DOB" sweep "${SW[@]}" --out p.h5 && ok
  echo "packed (2 groups of 1 rank): $attempts attempts"
  # --resume keeps the file's --ranks-per-trial 2 (not given again)
  interrupt_until_done g.h5 -n 2 "$DOB" sweep "${SW[@]}" --ranks-per-trial 2 \
    --out g.h5 && ok
  echo "--ranks-per-trial 2: $attempts attempts"
  SLURM_ARRAY_TASK_ID=1 SLURM_ARRAY_TASK_COUNT=2 SLURM_ARRAY_TASK_MIN=0 \
    interrupt_until_done a.slice1.h5 -n 1 "$DOB" sweep "${SW[@]}" --out a.h5 && ok
  echo "job-array slice 1 of 2: $attempts attempts"
  left=$(ls ./*.ckpt 2>/dev/null | wc -l)
  [ "$left" = 0 ] && ok || bad "$left trial checkpoints left behind: $(ls ./*.ckpt)"
  grep -q "resumed at step" p.h5.log g.h5.log a.slice1.h5.log && ok || bad "no trial was continued from a checkpoint"
  pycheck ref.h5 p.h5 ref2.h5 g.h5 a.slice1.h5 <<PYEOF
$PYLIB
ref, _ = trials(sys.argv[1])
ref2, _ = trials(sys.argv[3])
for path, r in [(sys.argv[2], ref), (sys.argv[4], ref2), (sys.argv[5], ref)]:
    tr, _ = trials(path)
    runs = []
    for i in sorted(tr):
        t = tr[i]
        check(int(t["status"]) == 2, "%s trial %d done (status %d)" % (path, i, int(t["status"])))
        check(same_curves(t, r[i]), "%s trial %d equals the uninterrupted sweep's (bitwise)" % (path, i))
        runs.append(int(t["run_count"]))
    print("%s: trials %s, run counts %s" % (path, sorted(tr), runs))
    check(max(runs) > 1, "%s: some trial was interrupted and continued" % path)
print("%d passed, %d failed" % (passed, failed))
PYEOF
  ;;
sched)
  # a piecewise learning-rate schedule applies to every trial, relative to the trial's learning rate
  expect 0 "4 trials: 4 done" -- "${MPI[@]}" -n 2 "$DOB" sweep fmnist_logreg --optimizer momentum --lr 0.01,0.1 \
    --seeds 42:43 -N 2 --lr_sched_epochs 1 --lr_sched_factors 0.1 --out s.h5
  expect 0 "done" -- "$DOB" run fmnist_logreg --optimizer momentum --lr 0.1 --random_seed 43 -N 2 \
    --lr_sched_epochs 1 --lr_sched_factors 0.1 --out r3.h5 --no_json --quiet
  expect 0 "done" -- "$DOB" run fmnist_logreg --optimizer momentum --lr 0.1 --random_seed 43 -N 2 \
    --out c3.h5 --no_json --quiet
  expect 2 "equally long" -- "${MPI[@]}" -n 1 "$DOB" sweep fmnist_logreg --optimizer sgd --lr 0.1 \
    --lr_sched_epochs 1,2 --lr_sched_factors 0.1 --out bad.h5
  expect 2 "give only" -- "${MPI[@]}" -n 1 "$DOB" sweep --resume s.h5 --lr_sched_epochs 1 --lr_sched_factors 0.5
  pycheck s.h5 r3.h5 c3.h5 <<PYEOF
$PYLIB
tr, meta = trials(sys.argv[1])
check(str(meta["lr_schedule"]) == "1:0.10000000000000001", "meta lr_schedule %r" % meta["lr_schedule"])
check(int(meta["sync_bn"]) == 0, "meta sync_bn")
check(all(int(tr[i]["status"]) == 2 for i in range(4)), "all done")
with h5py.File(sys.argv[2], "r") as f:
    r = {n: f["trials/0"][n][()] for n in f["trials/0"]}
with h5py.File(sys.argv[3], "r") as f:
    c = {n: f["trials/0"][n][()] for n in f["trials/0"]}
check(same_curves(tr[3], r), "trial 3 equals dob run with the same schedule (bitwise)")
check(not same_curves(tr[3], c), "and differs from the constant learning rate")
print("%d passed, %d failed" % (passed, failed))
PYEOF
  ;;
basic)
  expect 0 "12 trials: 12 done" -- "${MPI[@]}" -n 3 "$DOB" sweep "${GRID[@]}" --max_steps 20 --out s.h5
  # trial 4 = lr 1e-2, seed 43 (seeds innermost) and trial 11 = lr 1, seed 44 as separate runs
  expect 0 "done" -- "$DOB" run fmnist_logreg --optimizer momentum --lr 0.01 --random_seed 43 -N 1 --max_steps 20 \
    --out r4.h5 --no_json --quiet
  expect 0 "done" -- "$DOB" run fmnist_logreg --optimizer momentum --lr 1 --random_seed 44 -N 1 --max_steps 20 \
    --out r11.h5 --no_json --quiet
  expect 0 "wrote 12 JSON files" -- "$DOB" export-json s.h5 json
  pycheck s.h5 r4.h5 r11.h5 <<PYEOF
$PYLIB
tr, meta = trials(sys.argv[1])
check(sorted(tr) == list(range(12)), "trial ids 0..11, found %s" % sorted(tr))
check(meta["n_trials"] == 12 and meta["n_trials_total"] == 12, "meta n_trials 12")
check(list(meta["hyperparameter_names"]) == ["learning_rate", "momentum"], "hyperparameter names")
lrs = [1e-3, 1e-2, 1e-1, 1.0]
for i in range(12):
    t = tr.get(i)
    if t is None: continue
    check(int(t["status"]) == 2, "trial %d done, status %d" % (i, int(t["status"])))
    check(int(t["run_count"]) == 1, "trial %d run once, run_count %d" % (i, int(t["run_count"])))
    check(abs(t["hyperparameters"][0] - lrs[i // 3]) <= 1e-15 * lrs[i // 3] and t["hyperparameters"][1] == 0.9,
          "trial %d hyperparameters %s" % (i, t["hyperparameters"]))
    check(int(t["random_seed"]) == 42 + i % 3, "trial %d seed %d" % (i, int(t["random_seed"])))
    check(math.isfinite(t["test_losses"][1]) and int(t["epochs_done"]) == 1, "trial %d final test loss" % i)
for k, path in [(4, sys.argv[2]), (11, sys.argv[3])]:
    with h5py.File(path, "r") as f:
        d = {n: f["trials/0"][n][()] for n in f["trials/0"]}
    check(same_curves(tr[k], d), "trial %d equals dob run of the same setting (bitwise)" % k)
print("%d passed, %d failed" % (passed, failed))
PYEOF
  n=$(find json -name 'random_seed__*.json' | wc -l)
  [ "$n" = 12 ] && ok || bad "export-json: expected 12 JSON files, found $n"
  ;;

search)
  # random search (issue 18): 4 settings drawn for lr and momentum x 2 seeds. The same draws on 1 and 2 ranks, in
  # job-array slices (merged, and merged with a slice missing then resumed: the pending trials get the points the
  # sweep_spec gives them), and after a kill -9 midway (a damaged finished trial is verified against the spec and
  # run again); then the best setting (dob analyze's ranking) rerun with 2 new seeds.
  RS=(fmnist_logreg --optimizer momentum --lr loguniform:1e-3:1 --momentum uniform:0.5:0.99 --samples 4
      --sample-seed 5 --seeds 42:43 -N 1)
  expect 0 "4 random settings x 2 seeds = 8 trials" -- "${MPI[@]}" -n 2 "$DOB" sweep "${RS[@]}" --max_steps 20 \
    --out s.h5
  expect 0 "8 trials: 8 done" -- "${MPI[@]}" -n 1 "$DOB" sweep "${RS[@]}" --max_steps 20 --out s1.h5
  for id in 0 1 2; do
    expect 0 "job-array slice $id of 3" -- env SLURM_ARRAY_TASK_ID=$id SLURM_ARRAY_TASK_COUNT=3 \
      "${MPI[@]}" -n 1 "$DOB" sweep "${RS[@]}" --max_steps 20 --out arr.h5
  done
  expect 0 "8 trials, 8 finished" -- "$DOB" merge merged.h5 arr.slice0.h5 arr.slice1.h5 arr.slice2.h5
  expect 0 "8 trials, 5 finished.*, 3 in none of the inputs written as pending" -- \
    "$DOB" merge --allow-missing partial.h5 arr.slice0.h5 arr.slice2.h5
  expect 0 "8 trials: 8 done" -- "${MPI[@]}" -n 2 "$DOB" sweep --resume partial.h5
  "${MPI[@]}" -n 2 "$DOB" sweep "${RS[@]:0:13}" -N 5 --out k.h5 > first.log 2>&1 &
  kill_midway $! first.log 2
  cp k.h5 killed.h5
  read -r dtrial doff <<< "$(first_done_offset k.h5 8)"
  if [ "${dtrial:--1}" -ge 0 ]; then
    printf '\x5a' | dd of=k.h5 bs=1 seek=$((doff + 3)) conv=notrunc status=none
    expect 0 "running them again: $dtrial\b" -- "${MPI[@]}" -n 2 "$DOB" sweep --resume k.h5
  else
    bad "no trial done before the kill"
  fi
  expect 0 "best of 4 settings of s.h5 by test_losses \(a fallback\) \(mode final; final mean .* over 2 seeds\)" \
    -- "${MPI[@]}" -n 2 "$DOB" sweep --rerun-best s.h5 --seeds 50:51
  expect 2 "'s.best.h5' already exists; an existing result is never replaced" -- \
    "$DOB" sweep --rerun-best s.h5 --seeds 50:51
  expect 0 "2 trials: 2 done" -- "$DOB" sweep --rerun-best s.h5 --seeds 50:51 --metric test_accuracies \
    --out acc.h5
  pycheck s.h5 s1.h5 merged.h5 partial.h5 killed.h5 k.h5 s.best.h5 acc.h5 <<PYEOF
$PYLIB
s, meta = trials(sys.argv[1])
check(str(meta["sweep_spec"]) == "learning_rate=loguniform:1e-3:1;momentum=uniform:0.5:0.99;samples=4;"
      "sample_seed=5;seeds=42:43", "sweep_spec %r" % meta["sweep_spec"])
check(sorted(s) == list(range(8)) and all(int(t["status"]) == 2 for t in s.values()), "8 trials done")
hp = [tuple(s[i]["hyperparameters"]) for i in range(8)]
check(all(hp[2 * k] == hp[2 * k + 1] for k in range(4)), "the 2 seeds of a sample share its point")
check(len(set(hp)) == 4, "4 distinct points: %s" % sorted(set(hp)))
check(all(1e-3 <= h[0] <= 1 and 0.5 <= h[1] <= 0.99 for h in hp), "points in the distributions' bounds")
check([int(s[i]["random_seed"]) for i in range(8)] == [42, 43] * 4, "seeds innermost")
for path in sys.argv[2:4] + [sys.argv[4]]:
    o, _ = trials(path)
    check(sorted(o) == list(range(8)), "%s: 8 trials" % path)
    for i in range(8):
        check(tuple(o[i]["hyperparameters"]) == hp[i] and int(o[i]["random_seed"]) == int(s[i]["random_seed"]),
              "%s trial %d: the same point and seed as the 2-rank sweep" % (path, i))
        check(int(o[i]["status"]) == 2 and same_curves(o[i], s[i]), "%s trial %d: done, same curves" % (path, i))
before, _ = trials(sys.argv[5])
after, _ = trials(sys.argv[6])
done_before = [i for i in before if int(before[i]["status"]) == 2]
print("killed: done before %s" % done_before)
check(0 < len(done_before) < 8, "the kill came midway: %d of 8 done" % len(done_before))
for i in range(8):
    check(tuple(after[i]["hyperparameters"]) == hp[i], "resumed trial %d keeps its point" % i)
    check(int(after[i]["status"]) == 2, "resumed trial %d done" % i)
    if i in done_before: check(same_curves(after[i], before[i]), "trial %d done before the kill unchanged" % i)
# DeepOBS's ranking without a validation set: valid_accuracies -> valid_losses -> test_losses, final, lowest mean
mean = {}
for i in range(8): mean.setdefault(hp[i], []).append(s[i]["test_losses"][-1])
best = min(mean, key=lambda h: np.mean(mean[h]))
acc = {}
for i in range(8): acc.setdefault(hp[i], []).append(s[i]["test_accuracies"][-1])
best_acc = max(acc, key=lambda h: np.mean(acc[h]))
for path, want in [(sys.argv[7], best), (sys.argv[8], best_acc)]:
    b, bm = trials(path)
    check(sorted(b) == [0, 1], "%s: 2 trials" % path)
    check(all(tuple(b[i]["hyperparameters"]) == want for i in b), "%s reruns %s, found %s" % (path, want,
          [tuple(b[i]["hyperparameters"]) for i in b]))
    check([int(b[i]["random_seed"]) for i in (0, 1)] == [50, 51], "%s: seeds 50, 51" % path)
    check(all(bm[k] == meta[k] for k in ("problem", "optimizer", "batch_size", "num_epochs", "max_steps")),
          "%s keeps the sweep's settings" % path)
    check(str(bm["sweep_spec"]) == "learning_rate=%.17g;momentum=%.17g;seeds=50:51" % want, "%s spec %r" % (path,
          bm["sweep_spec"]))
print("%d passed, %d failed" % (passed, failed))
PYEOF
  ;;

resume)
  # long enough trials that the poll below sees a partly done sweep: 5 epochs, ~1.5 s (one epoch, ~0.3 s since
  # evaluation rounds run at larger batches, let the whole sweep finish before the kill)
  "${MPI[@]}" -n 3 "$DOB" sweep "${GRID[@]:0:7}" -N 5 --out k.h5 > first.log 2>&1 &
  kill_midway $! first.log 3
  cp k.h5 killed.h5
  "$PY" -c "
import h5py
with h5py.File('killed.h5', 'r') as f:
    print('statuses after kill -9:', [int(f['trials'][str(i)]['status'][()]) for i in range(12)])"
  # issue 14: the killed file is unsealed, so each trial carries its own checksum. A flipped byte in the test
  # losses of the first trial done before the kill is found by --resume, which runs that trial again.
  damaged=$(first_done_offset k.h5 12)
  read -r dtrial doff <<< "$damaged"
  if [ "${dtrial:--1}" -ge 0 ]; then
    printf '\x5a' | dd of=k.h5 bs=1 seek=$((doff + 3)) conv=notrunc status=none
    expect 0 "fail their checksum .*running them again: $dtrial\b" -- "${MPI[@]}" -n 3 "$DOB" sweep --resume k.h5
  else
    bad "no trial done before the kill"; dtrial=-1
    expect 0 "12 trials: 12 done" -- "${MPI[@]}" -n 3 "$DOB" sweep --resume k.h5
  fi
  # a second resume of the finished file has nothing to do
  "${MPI[@]}" -n 1 "$DOB" sweep --resume k.h5 > again.log 2>&1
  pycheck killed.h5 k.h5 "$dtrial" <<PYEOF
$PYLIB
before, _ = trials(sys.argv[1])
after, _ = trials(sys.argv[2])
done_before = [i for i in before if int(before[i]["status"]) == 2]
damaged = int(sys.argv[3])
print("done before the kill: %s; damaged afterwards: %d" % (done_before, damaged))
check(0 < len(done_before) < 12, "the kill came midway: %d of 12 done before it" % len(done_before))
check(sorted(after) == list(range(12)), "12 trials after resume")
for i in range(12):
    a = after[i]
    check(int(a["status"]) == 2, "trial %d done after resume (status %d)" % (i, int(a["status"])))
    if i == damaged:
        check(int(a["run_count"]) == 2, "damaged trial %d run again (run_count %d)" % (i, int(a["run_count"])))
        check(same_curves(a, before[i]), "damaged trial %d run again to its curves before the damage" % i)
    elif i in done_before:
        check(int(a["run_count"]) == 1,
              "trial %d done before the kill was not rerun (run_count %d)" % (i, int(a["run_count"])))
        check(same_curves(a, before[i]), "trial %d curves unchanged by the resume" % i)
    else:
        want = int(before[i]["run_count"]) + 1
        check(int(a["run_count"]) == want, "trial %d run exactly once more by the resume: run_count %d, expected %d"
              % (i, int(a["run_count"]), want))
print("%d passed, %d failed" % (passed, failed))
PYEOF
  if grep -q "0 trials to run" again.log; then ok
  else bad "a second resume of a finished sweep must run nothing"; cat again.log; fi
  ;;

array)
  expect 0 "12 trials: 12 done" -- "${MPI[@]}" -n 3 "$DOB" sweep "${GRID[@]}" --max_steps 20 --out single.h5
  for id in 0 1 2; do
    expect 0 "job-array slice $id of 3" -- env SLURM_ARRAY_TASK_ID=$id SLURM_ARRAY_TASK_COUNT=3 \
      "${MPI[@]}" -n 2 "$DOB" sweep "${GRID[@]}" --max_steps 20 --out arr.h5
  done
  expect 0 "merged 3 files into merged.h5: 12 trials, 12 finished" -- \
    "$DOB" merge merged.h5 arr.slice2.h5 arr.slice0.h5 arr.slice1.h5
  # a slice left out is refused naming its trials (issue 14: they were lost silently); --allow-missing writes them
  # pending, and --resume then runs them to the same curves as the single run
  expect 1 "4 of the sweep's 12 trials are in none of the inputs \(ids 4..7\): slice 1 of 3 is not among the inputs" \
    -- "$DOB" merge partial.h5 arr.slice0.h5 arr.slice2.h5
  [ ! -e partial.h5 ] && ok || bad "a refused merge left partial.h5"
  expect 0 "12 trials, 8 finished.*, 4 in none of the inputs written as pending" -- \
    "$DOB" merge --allow-missing partial.h5 arr.slice0.h5 arr.slice2.h5
  expect 0 "12 trials: 12 done" -- "${MPI[@]}" -n 2 "$DOB" sweep --resume partial.h5
  expect 1 "already exists" -- "$DOB" merge merged.h5 arr.slice0.h5
  # overlapping inputs of one sweep with identical results merge; another grid is refused
  expect 0 "12 trials, 12 finished" -- "$DOB" merge overlap.h5 arr.slice0.h5 single.h5
  expect 0 "1 trials: 1 done" -- "$DOB" sweep fmnist_logreg --optimizer momentum --lr 0.5,0.6,0.7,0.8 \
    --seeds 42:44 -N 1 --max_steps 20 --trials 0:0 --out other.h5 --quiet
  expect 1 "'arr.slice0.h5' and 'other.h5' are not slices of the same sweep: grid \(sweep_spec\) differs" -- \
    "$DOB" merge bad.h5 arr.slice0.h5 other.h5
  [ ! -e bad.h5 ] && ok || bad "a refused merge left bad.h5"
  pycheck single.h5 merged.h5 arr.slice0.h5 arr.slice1.h5 arr.slice2.h5 partial.h5 <<PYEOF
$PYLIB
single, _ = trials(sys.argv[1])
merged, mm = trials(sys.argv[2])
check(sorted(merged) == sorted(single) == list(range(12)), "same 12 trial ids")
for i in range(12):
    a, b = single[i], merged[i]
    check(np.array_equal(a["hyperparameters"], b["hyperparameters"]) and int(a["random_seed"]) == int(b["random_seed"]),
          "trial %d same hyperparameters and seed" % i)
    check(int(b["status"]) == 2, "trial %d done in the merged file" % i)
    check(same_curves(a, b), "trial %d same curves as the single run (bitwise)" % i)
check(mm["slice_id"] == -1, "merged file is not a slice")
for s, ids in [(3, range(0, 4)), (4, range(4, 8)), (5, range(8, 12))]:
    t, m = trials(sys.argv[s])
    check(sorted(t) == list(ids) and m["slice_id"] == s - 3 and m["slice_count"] == 3,
          "slice %d holds trials %s, found %s" % (s - 3, list(ids), sorted(t)))
p, _ = trials(sys.argv[6])
check(sorted(p) == list(range(12)), "the merge without slice 1, resumed, holds all 12 trials")
for i in range(12):
    check(int(p[i]["status"]) == 2 and same_curves(p[i], single[i]),
          "trial %d of the merge without slice 1, resumed: done, same curves as the single run" % i)
print("%d passed, %d failed" % (passed, failed))
PYEOF
  ;;

errors)
  S=("$DOB" sweep fmnist_logreg --optimizer momentum)
  expect 2 "--lr 'log:1e-3:1': expected log:LO:HI:N" -- "${S[@]}" --lr log:1e-3:1 --out e.h5
  expect 2 "--lr 'log:0:1:4': a log grid needs 0 < LO" -- "${S[@]}" --lr log:0:1:4 --out e.h5
  expect 2 "expected LO < HI" -- "${S[@]}" --lr lin:1:0.5:3 --out e.h5
  expect 2 "--momentum '0.9,x': expected a finite number, found 'x'" -- "${S[@]}" --lr 0.1 --momentum 0.9,x --out e.h5
  expect 2 "expected distinct values, found 0.9 twice" -- "${S[@]}" --lr 0.1 --momentum 0.9,0.9 --out e.h5
  expect 2 "--momentum.*momentum" -- "${S[@]}" --lr 0.1 --momentum 0.9,1.5 --out e.h5
  expect 2 "--seeds '5:3': expected 0 <= A <= B" -- "${S[@]}" --lr 0.1 --seeds 5:3 --out e.h5
  expect 2 "unknown option '--momentun' for optimizer momentum, did you mean '--momentum'" -- \
    "${S[@]}" --lr 0.1 --momentun 0.9 --out e.h5
  expect 2 "missing --out" -- "${S[@]}" --lr 0.1
  expect 2 "missing --lr" -- "${S[@]}" --out e.h5
  expect 2 "--trials '0:12': expected trial ids 0 <= A <= B <= 11" -- "${S[@]}" --lr log:1e-3:1:4 --seeds 42:44 \
    --trials 0:12 --out e.h5
  expect 2 "SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN in \[0, 3\), found 3" -- env SLURM_ARRAY_TASK_ID=3 \
    SLURM_ARRAY_TASK_COUNT=3 "${S[@]}" --lr 0.1 --out e.h5
  expect nz "--ranks-per-trial 2 must divide the number of ranks 3" -- "${MPI[@]}" -n 3 "${S[@]}" --lr 0.1 \
    --ranks-per-trial 2 --out e.h5
  expect 1 "cannot resume: sweep file 'nope.h5': No such file" -- "$DOB" sweep --resume nope.h5
  expect 2 "--resume takes the problem" -- "$DOB" sweep --resume nope.h5 --lr 0.1
  printf 'not hdf5' > text.h5
  expect 1 "is not an HDF5 file" -- "$DOB" sweep --resume text.h5
  expect 0 "done" -- "$DOB" run fmnist_logreg --optimizer sgd --lr 0.1 -N 1 --max_steps 2 --out run.h5 --no_json --quiet
  expect 1 "not a sweep file" -- "$DOB" sweep --resume run.h5
  expect 1 "not a sweep file" -- "$DOB" merge m.h5 run.h5
  expect 1 "data_dir|nonexistent" -- "${S[@]}" --lr 0.1 --out e.h5 --data_dir "$work/nonexistent"
  # a trial that fails with an error is recorded "failed" and the sweep goes on (exit code 1): a pending trial whose
  # momentum was edited out of range in the file
  expect 0 "2 trials: 2 done" -- "${S[@]}" --lr 0.1,0.2 -N 1 --max_steps 2 --out f.h5 --quiet
  "$PY" -c "
import h5py
with h5py.File('f.h5', 'r+') as f:
    f['trials/1/status'][()] = 0
    f['trials/1/hyperparameters'][1] = 1.5"
  # the edit breaks the file's checksums (io/seal.h): dob refuses it naming the dataset, unless the block is marked
  # "open" again and the trial's own checksum (io/trial_sum.h) deleted (what an intentional edit has to do)
  expect 1 "dataset /trials/1/(status|hyperparameters) does not match its checksum" -- \
    "${MPI[@]}" -n 2 "$DOB" sweep --resume f.h5
  "$PY" -c "
import re, zlib
b = bytearray(open('f.h5', 'rb').read())
ub = int(re.search(rb'\nub (\d+)\n', b[:4096]).group(1))
t = b'dob-seal 1\nstate open\nub %d\n' % ub
t += b'end %08x\n' % zlib.crc32(t)
b[:ub] = t + bytes(ub - len(t))
open('f.h5', 'wb').write(b)"
  expect 1 "trial /trials/1: its data do not match their checksum, and its id, seed and hyperparameters differ" -- \
    "${MPI[@]}" -n 2 "$DOB" sweep --resume f.h5
  "$PY" -c "
import h5py
with h5py.File('f.h5', 'r+') as f:
    del f['trials/1/checksum']"
  expect 1 "trial 1 FAILED: lr 0.2 momentum 1.5 seed 42: optimizer momentum: --momentum must be in" -- \
    "${MPI[@]}" -n 2 "$DOB" sweep --resume f.h5
  st=$("$PY" -c "
import h5py
with h5py.File('f.h5', 'r') as f: print(int(f['trials/0/status'][()]), int(f['trials/1/status'][()]))")
  [ "$st" = "2 4" ] && ok || bad "statuses after a failing trial: expected '2 4' (done, failed), found '$st'"
  rm -f f.h5
  printf 'precious' > exists.h5
  expect 1 "already exists; refusing to overwrite" -- "${S[@]}" --lr 0.1 --out exists.h5
  [ "$(cat exists.h5)" = precious ] && ok || bad "existing file changed"
  left=$(find . -type f \( -name '*.h5' -o -name '*.tmp-*' \) ! -name text.h5 ! -name run.h5 ! -name exists.h5 | head)
  [ -z "$left" ] && ok || bad "files left behind: $left"
  ;;
*) echo "unknown case '$CASE'"; exit 2 ;;
esac
finish
