#!/usr/bin/env bash
# checkpoint_dp_test.sh DOB MPIEXEC: `dob run --checkpoint` data-parallel on 2 ranks (real Fashion-MNIST,
# fmnist_mlp, 1 epoch, OMP_NUM_THREADS=1). SIGUSR1 to mpirun mid-epoch: every rank stops at the same step, one
# checkpoint, exit 3; rerunning the same mpirun command continues and gives a result file bitwise equal to the
# uninterrupted 2-rank run. A 2-rank checkpoint is refused by a 1-rank run (ranks are part of the settings).
# Prints "N passed, M failed" and exits with the number of failures.
set -u
DOB=$(realpath "${1:?usage: checkpoint_dp_test.sh DOB MPIEXEC}")
MPIEXEC=${2:?usage: checkpoint_dp_test.sh DOB MPIEXEC}
HERE=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
pass=0; fail=0
ok() { pass=$((pass+1)); }
bad() { fail=$((fail+1)); printf 'FAIL: %s\n' "$*"; }
MPI=("$MPIEXEC" -np 2 --bind-to none)
RUN=("$DOB" run fmnist_mlp --optimizer momentum --lr 0.05 -N 1 --no_json)
wait_for() { local i; for i in $(seq 1200); do [ -e "$1" ] && return 0; sleep 0.05; done; return 1; }

"${MPI[@]}" "${RUN[@]}" --quiet --out ref.h5 > ref.log 2>&1 || { bad "reference: $(cat ref.log)"; echo "0 passed, 1 failed"; exit 1; }

"${MPI[@]}" "${RUN[@]}" --checkpoint ck.h5 --out res.h5 > stop.log 2>&1 &
pid=$!
wait_for ck.h5 || bad "no checkpoint after the first evaluation round"
sleep 0.7   # mid-epoch: the 2-rank epoch is ~2.5 s on Zen 5
kill -USR1 $pid
wait $pid; rc=$?
if [ $rc -eq 3 ] && [ -f ck.h5 ] && [ ! -e res.h5 ]; then ok; else bad "SIGUSR1: expected exit 3 and ck.h5; got $rc: $(cat stop.log)"; fi
/usr/bin/python3 -c "
import h5py
f = h5py.File('ck.h5', 'r')
assert int(f.attrs['ranks']) == 2
n = int(f['progress/steps_done'][()])
assert 0 < n < 468, n
print('2-rank checkpoint at step', n)
" && ok || bad "checkpoint content"

out=$("$DOB" run fmnist_mlp --optimizer momentum --lr 0.05 -N 1 --no_json --checkpoint ck.h5 --out one.h5 2>&1); rc=$?
if [ $rc -eq 2 ] && printf '%s' "$out" | grep -q "ranks=2" && [ ! -e one.h5 ]; then ok
else bad "1-rank resume of a 2-rank checkpoint: expected exit 2 naming ranks=2, got $rc: $out"; fi

"${MPI[@]}" "${RUN[@]}" --checkpoint ck.h5 --out res.h5 > resume.log 2>&1; rc=$?
if [ $rc -eq 0 ] && [ -f res.h5 ] && [ ! -e ck.h5 ]; then ok; else bad "resume: got $rc: $(cat resume.log)"; fi
/usr/bin/python3 "$HERE/compare_runs.py" ref.h5 res.h5 && ok || bad "resumed 2-rank run differs from the uninterrupted one"

echo "$pass passed, $fail failed"
exit $fail
