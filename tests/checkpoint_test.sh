#!/usr/bin/env bash
# checkpoint_test.sh DOB: `dob run --checkpoint` on real Fashion-MNIST (fmnist_mlp, 2 epochs).
# A run stopped by SIGTERM mid-epoch, and one killed with SIGKILL after periodic checkpoints, each continued by
# rerunning the same command, must give result files bitwise equal to the uninterrupted run's; so must a run
# whose save at the stop failed (continued from its previous checkpoint). Also: a checkpoint of other settings,
# a damaged one and an unwritable location are refused with one clear message.
# Prints "N passed, M failed" and exits with the number of failures.
set -u
DOB=$(realpath "${1:?usage: checkpoint_test.sh path/to/dob}")
HERE=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
pass=0; fail=0
ok() { pass=$((pass+1)); }
bad() { fail=$((fail+1)); printf 'FAIL: %s\n' "$*"; }
RUN=("$DOB" run fmnist_mlp --optimizer adam --lr 1e-3 -N 2 --no_json)

# the reference: uninterrupted
"${RUN[@]}" --quiet --out ref.h5 > ref.log 2>&1 || { bad "reference run failed: $(cat ref.log)"; exit 1; }

# wait_for FILE [seconds]: until FILE exists
wait_for() { local i; for i in $(seq $((${2:-60} * 20))); do [ -e "$1" ] && return 0; sleep 0.05; done; return 1; }
# wait_resaved FILE PID: until FILE is saved anew (its mtime changes) while PID still runs. A fixed sleep raced
# the whole run on fast machines (a 2-epoch run is ~5 s on Zen 5), so the kill came after the result was written.
wait_resaved() {
    local m0 i; m0=$(stat -c %y "$1" 2>/dev/null)
    for i in $(seq 600); do
        kill -0 "$2" 2>/dev/null || return 1
        [ "$(stat -c %y "$1" 2>/dev/null)" != "$m0" ] && return 0
        sleep 0.02
    done
    return 1
}

# 1. SIGTERM mid-run: exit 3, checkpoint kept, no result file yet
"${RUN[@]}" --checkpoint ck.h5 --out res.h5 > term.log 2>&1 &
pid=$!
wait_for ck.h5 || bad "no checkpoint after the first evaluation round"
sleep 0.8   # mid-epoch 1: ~250 of 936 steps on Zen 5
kill -TERM $pid
wait $pid; rc=$?
if [ $rc -eq 3 ] && [ -f ck.h5 ] && [ ! -e res.h5 ] && grep -q "run the same command again" term.log; then ok
else bad "SIGTERM: expected exit 3, ck.h5 and no res.h5; got exit $rc: $(cat term.log)"; fi
/usr/bin/python3 -c "
import h5py, sys
f = h5py.File('ck.h5', 'r')
assert f.attrs['format'] == 'dob-checkpoint', f.attrs['format']
n = int(f['progress/steps_done'][()])
assert 0 < n < 2 * 468, n
print('checkpoint at step', n, 'test losses', f['curves/test_losses'][()])
" && ok || bad "h5py cannot read the checkpoint"

# 2. other settings: refused, checkpoint untouched
cp ck.h5 ck.copy
out=$("$DOB" run fmnist_mlp --optimizer adam --lr 2e-3 -N 2 --no_json --checkpoint ck.h5 --out other.h5 2>&1); rc=$?
if [ $rc -eq 2 ] && printf '%s' "$out" | grep -q "belongs to another run" && cmp -s ck.h5 ck.copy && [ ! -e other.h5 ]
then ok; else bad "mismatch: expected exit 2 'belongs to another run', got $rc: $out"; fi

# 3. the same command continues and equals the reference; the checkpoint is removed
"${RUN[@]}" --checkpoint ck.h5 --out res.h5 > resume.log 2>&1; rc=$?
if [ $rc -eq 0 ] && [ -f res.h5 ] && [ ! -e ck.h5 ] && grep -q "resuming from ck.h5" resume.log; then ok
else bad "resume: expected exit 0, res.h5, ck.h5 removed; got $rc: $(cat resume.log)"; fi
/usr/bin/python3 "$HERE/compare_runs.py" ref.h5 res.h5 && ok || bad "resumed run differs from the reference"

# 4. SIGKILL after periodic (1 s) checkpoints: rerun continues from the last one
"${RUN[@]}" --checkpoint ck2.h5 --checkpoint_interval 1 --out res2.h5 > kill.log 2>&1 &
pid=$!
wait_for ck2.h5 || bad "no checkpoint (kill test)"
wait_resaved ck2.h5 $pid || bad "the run ended before a second periodic checkpoint (kill test)"
kill -KILL $pid
wait $pid 2>/dev/null
if [ -f ck2.h5 ] && [ ! -e res2.h5 ]; then ok; else bad "SIGKILL: expected ck2.h5 and no res2.h5"; fi
"${RUN[@]}" --checkpoint ck2.h5 --checkpoint_interval 1 --out res2.h5 > resume2.log 2>&1; rc=$?
if [ $rc -eq 0 ] && [ ! -e ck2.h5 ]; then ok; else bad "resume after SIGKILL: got $rc: $(cat resume2.log)"; fi
/usr/bin/python3 "$HERE/compare_runs.py" ref.h5 res2.h5 && ok || bad "run resumed after SIGKILL differs"

# 4b. the save at the stop fails (a directory sits on its temporary name): the earlier periodic checkpoint is
#     the resume point, no result file is written (it would block the rerun), and the rerun still ends bitwise
#     equal to the reference
"${RUN[@]}" --checkpoint ck4.h5 --checkpoint_interval 1 --out res4.h5 > fail.log 2>&1 &
pid=$!
wait_for ck4.h5 || bad "no checkpoint (failed save test)"
wait_resaved ck4.h5 $pid || bad "the run ended before a second periodic checkpoint (failed save test)"
mkdir "ck4.h5.tmp-$pid"
kill -TERM $pid
wait $pid; rc=$?
rmdir "ck4.h5.tmp-$pid"
if [ $rc -eq 3 ] && [ -f ck4.h5 ] && [ ! -e res4.h5 ] && grep -q "could not be saved" fail.log; then ok
else bad "failed save at the stop: expected exit 3, ck4.h5 and no res4.h5; got $rc: $(cat fail.log)"; fi
"${RUN[@]}" --checkpoint ck4.h5 --out res4.h5 > resume4.log 2>&1; rc=$?
if [ $rc -eq 0 ] && [ -f res4.h5 ] && [ ! -e ck4.h5 ]; then ok
else bad "rerun after a failed save: $rc: $(cat resume4.log)"; fi
/usr/bin/python3 "$HERE/compare_runs.py" ref.h5 res4.h5 && ok || bad "run resumed after a failed save differs"

# 5. the result file cannot be written at the end (its directory vanished): the finished state stays in the
#    checkpoint, and the rerun only writes the file
mkdir sub
"${RUN[@]}" --checkpoint ck3.h5 --out sub/res3.h5 > late.log 2>&1 &
pid=$!
wait_for ck3.h5 || bad "no checkpoint (late result file test)"
rm -rf sub
wait $pid; rc=$?
if [ $rc -ne 0 ] && [ -f ck3.h5 ] && grep -q "finished run is kept in the checkpoint" late.log; then ok
else bad "unwritable result: expected an error and the checkpoint kept; got $rc: $(cat late.log)"; fi
mkdir sub
"${RUN[@]}" --checkpoint ck3.h5 --out sub/res3.h5 > late2.log 2>&1; rc=$?
if [ $rc -eq 0 ] && [ -f sub/res3.h5 ] && [ ! -e ck3.h5 ]; then ok; else bad "rerun after late failure: $rc: $(cat late2.log)"; fi
/usr/bin/python3 "$HERE/compare_runs.py" ref.h5 sub/res3.h5 && ok || bad "late-written result differs"

# 5b. --keep-checkpoint: the finished run's final state stays in FILE (steps of the whole run), the result file
#     equals the reference, and rerunning the command refuses to overwrite the result (nothing is lost)
"${RUN[@]}" --checkpoint ck7.h5 --keep-checkpoint --out res7.h5 > keep.log 2>&1; rc=$?
if [ $rc -eq 0 ] && [ -f res7.h5 ] && [ -f ck7.h5 ] && grep -q "checkpoint (the final state): ck7.h5" keep.log; then ok
else bad "--keep-checkpoint: expected result and checkpoint; got $rc: $(cat keep.log)"; fi
/usr/bin/python3 "$HERE/compare_runs.py" ref.h5 res7.h5 && ok || bad "--keep-checkpoint result differs"
/usr/bin/python3 - ck7.h5 res7.h5 <<'PY' && ok || bad "kept checkpoint does not hold the finished run"
import sys, h5py
with h5py.File(sys.argv[1], "r") as c, h5py.File(sys.argv[2], "r") as r:
    steps, evaluated = int(c["progress/steps_done"][()]), int(c["progress/evaluated"][()])
    assert steps == 2 * (60000 // 128) and evaluated == 3, (steps, evaluated)
PY
cp res7.h5 res7.keep
"${RUN[@]}" --checkpoint ck7.h5 --keep-checkpoint --out res7.h5 > keep2.log 2>&1; rc=$?
if [ $rc -ne 0 ] && cmp -s res7.h5 res7.keep; then ok; else bad "rerun over a kept result: $rc: $(cat keep2.log)"; fi

# 6. damaged and foreign files, unwritable location: one message, exit non-zero, nothing written
echo "not hdf5" > junk.h5
out=$("${RUN[@]}" --checkpoint junk.h5 --out x.h5 2>&1); rc=$?
if [ $rc -ne 0 ] && printf '%s' "$out" | grep -q "not an HDF5 file" && [ ! -e x.h5 ]; then ok
else bad "junk checkpoint: got $rc: $out"; fi
out=$("${RUN[@]}" --checkpoint ref.h5 --out x.h5 2>&1); rc=$?
if [ $rc -ne 0 ] && printf '%s' "$out" | grep -q "not a dob checkpoint" && [ ! -e x.h5 ]; then ok
else bad "result file as checkpoint: got $rc: $out"; fi
out=$("${RUN[@]}" --checkpoint nodir/ck.h5 --out x.h5 2>&1); rc=$?
if [ $rc -ne 0 ] && printf '%s' "$out" | grep -q "nodir" && [ ! -e x.h5 ]; then ok
else bad "checkpoint in a missing directory: got $rc: $out"; fi
out=$("${RUN[@]}" --checkpoint x.h5 --out x.h5 2>&1); rc=$?
if [ $rc -eq 2 ] && printf '%s' "$out" | grep -q "needs a file of its own" && [ ! -e x.h5 ]; then ok
else bad "checkpoint = result file: got $rc: $out"; fi
out=$("${RUN[@]}" --checkpoint ./x.h5 --out x.h5 2>&1); rc=$?
if [ $rc -eq 2 ] && printf '%s' "$out" | grep -q "needs a file of its own" && [ ! -e x.h5 ]; then ok
else bad "checkpoint = result file by another name: got $rc: $out"; fi
out=$("${RUN[@]}" --checkpoint_interval -1 --out x.h5 2>&1); rc=$?
if [ $rc -eq 2 ] && printf '%s' "$out" | grep -q "checkpoint_interval" && [ ! -e x.h5 ]; then ok
else bad "negative interval: got $rc: $out"; fi
# a save killed half-way (kill -9 above, if it hit one) leaves ck2.h5.tmp-PID: the continued run removes it,
# as it removes any temporary file of a writer that is gone; a live process's is kept
touch ck5.h5.tmp-1 ck5.h5.tmp-999999
"${RUN[@]}" --checkpoint ck5.h5 --max_steps 3 --out res5.h5 --quiet > /dev/null 2>&1
if [ -e ck5.h5.tmp-1 ] && [ ! -e ck5.h5.tmp-999999 ]; then ok; else bad "stale temporary checkpoint files: $(ls ck5*)"; fi
rm -f ck5.h5.tmp-1
left=$(find . -name '*.tmp-*' | head -3)
if [ -z "$left" ]; then ok; else bad "temporary files left behind: $left"; fi

echo "$pass passed, $fail failed"
exit $fail
