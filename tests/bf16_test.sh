#!/usr/bin/env bash
# bf16_test.sh DOB MPIEXEC: `--precision bf16` end to end (issue 12), on real Fashion-MNIST.
#  - refused with one line on a CPU below oneDNN's avx512_core_bf16 (here: ONEDNN_MAX_CPU_ISA=AVX512_CORE), for
#    run and sweep, leaving no file; an unknown precision likewise. On such a CPU the rest is skipped (exit 77).
#  - dob run fmnist_2c2d in bf16 (a few steps): /meta precision, the JSON's extra key and setting folder;
#  - a bf16 checkpoint (SIGTERM mid-epoch) is refused by the same command in f32, naming both precisions, and
#    continued by the bf16 command;
#  - a 2-rank data-parallel bf16 run, close to the 1-rank bf16 run; a 2-rank bf16 sweep, every trial done,
#    /meta precision bf16, and --resume refuses a --precision flag (the file holds it).
# OMP_NUM_THREADS=1 (mpiexec oversubscribes 2 cores otherwise). Prints "N passed, M failed"; exits with the
# number of failures.
set -u
DOB=$(realpath "${1:?usage: bf16_test.sh DOB MPIEXEC}")
MPIEXEC=${2:?usage: bf16_test.sh DOB MPIEXEC}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
pass=0; fail=0
ok() { pass=$((pass+1)); }
bad() { fail=$((fail+1)); printf 'FAIL: %s\n' "$*"; }
nofiles() {
  local left
  left=$(find . -type f | head -5)
  if [ -z "$left" ]; then ok; else bad "$1: files left behind: $left"; fi
}
export OMP_NUM_THREADS=1

# 1. the refusal: one line, exit 2, nothing written (the ISA found is avx512_core, or avx2 on a CPU without AVX-512)
for cmd in "run fmnist_2c2d --optimizer sgd --lr 0.1 --out r.h5" "sweep fmnist_2c2d --optimizer sgd --lr 0.1 --out s.h5"; do
  # shellcheck disable=SC2086
  out=$(ONEDNN_MAX_CPU_ISA=AVX512_CORE "$DOB" $cmd --precision bf16 2>&1); rc=$?
  if [ $rc -eq 2 ] && [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] &&
     printf '%s' "$out" | grep -Eq "^dob: error: --precision: bf16 needs a CPU with native bf16 \(oneDNN ISA avx512_core_bf16 or above\), found cpu_isa_(avx512_core|avx2)$"
  then ok; else bad "refusal ($cmd): expected exit 2 and one line, got $rc: $out"; fi
done
nofiles "refusal"
out=$("$DOB" run fmnist_2c2d --optimizer sgd --lr 0.1 --precision fp16 --out r.h5 2>&1); rc=$?
if [ $rc -eq 2 ] && printf '%s' "$out" | grep -q "\-\-precision: expected f32 or bf16, found 'fp16'"; then ok
else bad "--precision fp16: expected exit 2 naming f32 and bf16, got $rc: $out"; fi
nofiles "bad precision"

if ! out=$("$DOB" run fmnist_logreg --optimizer sgd --lr 0.1 --precision bf16 --max_steps 1 -N 1 --no_logs --quiet 2>&1)
then
  if printf '%s' "$out" | grep -q "needs a CPU with native bf16"; then
    echo "skipped: this CPU has no native bf16: $out"
    echo "$pass passed, $fail failed (the bf16 runs skipped)"
    [ $fail -eq 0 ] && exit 77
    exit $fail
  fi
  bad "bf16 logreg run failed: $out"
fi

# 2. a bf16 run: /meta, JSON key and folder
"$DOB" run fmnist_2c2d --optimizer momentum --lr 0.01 -N 1 --max_steps 20 --precision bf16 --out b.h5 \
  --output_dir json > run.log 2>&1 || bad "bf16 run failed: $(cat run.log)"
grep -q "1 rank x 1 thread, bf16" run.log && ok || bad "the run's first line does not say bf16: $(head -1 run.log)"
/usr/bin/python3 - <<'EOF' && ok || bad "bf16 result file / JSON"
import glob, h5py, json, math
m = h5py.File('b.h5', 'r')['meta'].attrs
assert m['precision'] == 'bf16', m['precision']
js = glob.glob('json/fmnist_2c2d/*/*/*.json')
assert len(js) == 1, js
assert '/num_epochs__1__batch_size__128__precision__bf16__' in js[0], js[0]
j = json.load(open(js[0]))
assert j['precision'] == 'bf16' and math.isfinite(j['test_losses'][-1]), j
print('bf16 run: test loss', j['test_losses'], 'acc', j['test_accuracies'])
EOF

# 3. checkpoints keep their precision
RUN=("$DOB" run fmnist_mlp --optimizer adam --lr 1e-3 -N 1 --no_json)
wait_for() { local i; for i in $(seq 2400); do [ -e "$1" ] && return 0; sleep 0.05; done; return 1; }
"${RUN[@]}" --precision bf16 --checkpoint ck.h5 --out res.h5 > term.log 2>&1 &
pid=$!
wait_for ck.h5 || bad "no bf16 checkpoint after the first evaluation round"
sleep 0.5   # mid-epoch: a bf16 fmnist_mlp epoch is ~2 s on Zen 5
kill -TERM $pid
wait $pid; rc=$?
[ $rc -eq 3 ] && [ -f ck.h5 ] && ok || bad "SIGTERM: expected exit 3 and ck.h5, got $rc: $(cat term.log)"
/usr/bin/python3 -c "
import h5py
f = h5py.File('ck.h5', 'r')
assert f.attrs['precision'] == 'bf16' and f.attrs['config'].endswith(' precision=bf16'), dict(f.attrs)
" && ok || bad "the checkpoint does not record bf16"
cp ck.h5 ck.copy
out=$("${RUN[@]}" --checkpoint ck.h5 --out f32.h5 2>&1); rc=$?
if [ $rc -eq 2 ] && printf '%s' "$out" | grep -q "checkpoint 'ck.h5' was saved by a bf16 run and this command runs f32 (--precision)" &&
   cmp -s ck.h5 ck.copy && [ ! -e f32.h5 ]; then ok
else bad "f32 resume of a bf16 checkpoint: expected exit 2 naming both precisions, got $rc: $out"; fi
"${RUN[@]}" --precision bf16 --checkpoint ck.h5 --out res.h5 > resume.log 2>&1; rc=$?
[ $rc -eq 0 ] && [ -f res.h5 ] && grep -q "resuming from ck.h5" resume.log && ok ||
  bad "bf16 resume: got $rc: $(cat resume.log)"

# 4. data-parallel: 2 ranks vs 1 rank in bf16 (same trajectory up to summation order and rounding)
DP=("$DOB" run fmnist_mlp --optimizer momentum --lr 0.05 -N 1 --max_steps 60 --precision bf16 --no_json --quiet)
"${DP[@]}" --out dp1.h5 > dp1.log 2>&1 || bad "1-rank bf16 run: $(cat dp1.log)"
"$MPIEXEC" -np 2 --bind-to none "${DP[@]}" --out dp2.h5 > dp2.log 2>&1 || bad "2-rank bf16 run: $(cat dp2.log)"
/usr/bin/python3 - <<'EOF' && ok || bad "2-rank bf16 run vs 1-rank"
import h5py, numpy as np
a, b = h5py.File('dp1.h5', 'r'), h5py.File('dp2.h5', 'r')
assert b['meta'].attrs['precision'] == 'bf16' and int(b['meta'].attrs['ranks']) == 2
la, lb = a['trials/0/test_losses'][()], b['trials/0/test_losses'][()]
ma, mb = a['trials/0/minibatch_train_losses'][()], b['trials/0/minibatch_train_losses'][()]
ok = np.isfinite(ma) & np.isfinite(mb)
# 60 steps apart only by summation order (allreduce, per-rank batch halves) and its bf16 rounding: 2%
assert abs(la[-1] - lb[-1]) <= 0.02 * la[-1], (la, lb)
assert np.max(np.abs(ma[ok] - mb[ok]) / ma[ok]) <= 0.02, (ma[ok], mb[ok])
print('bf16 final test loss: 1 rank %.5f, 2 ranks %.5f' % (la[-1], lb[-1]))
EOF

# 5. a bf16 sweep on 2 ranks
"$MPIEXEC" -np 2 --bind-to none "$DOB" sweep fmnist_logreg --optimizer sgd --lr 0.05,0.1,0.2 --seeds 42:43 -N 1 \
  --max_steps 30 --precision bf16 --out sw.h5 --quiet > sweep.log 2>&1 || bad "bf16 sweep: $(cat sweep.log)"
/usr/bin/python3 - <<'EOF' && ok || bad "bf16 sweep file"
import h5py, numpy as np
f = h5py.File('sw.h5', 'r')
assert f['meta'].attrs['precision'] == 'bf16'
n = int(f['meta'].attrs['n_trials'])
st = [int(f['trials/%d/status' % i][()]) for i in range(n)]
assert n == 6 and st == [2] * 6, (n, st)
print('bf16 sweep: final test losses', [round(float(f['trials/%d/test_losses' % i][-1]), 4) for i in range(n)])
EOF
out=$("$DOB" sweep --resume sw.h5 --precision f32 2>&1); rc=$?
[ $rc -eq 2 ] && printf '%s' "$out" | grep -q "takes the problem, optimizer" && ok ||
  bad "sweep --resume with --precision: expected exit 2, got $rc: $out"

echo "$pass passed, $fail failed"
exit $fail
