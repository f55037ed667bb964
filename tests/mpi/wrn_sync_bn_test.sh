#!/usr/bin/env bash
# wrn_sync_bn_test.sh DOB MPIEXEC [BATCH=128]: issue 15's acceptance, `mpirun -np 2 dob run svhn_wrn164 --sync-bn`
# matches the 1-rank losses over 20 steps (rel 1e-4), on a generated SVHN tree in DeepOBS's prepared format.
# Learning rate 1e-3 (momentum 0.9): at 1e-2 this net amplifies float rounding about 10x per early step, so even
# 1 vs 2 threads of ONE rank differ by 1.3e-3 by step 13 (and 2 ranks by 9.4e-4): no summation order meets 1e-4
# there. At 1e-3, measured on Zen 5: 2 ranks vs 1 rank 3.2e-5, 1 vs 2 threads 3.8e-5. The 1-rank run uses the
# threads the two ranks have together (2), each rank of the 2-rank run one; a smaller batch (16 examples per
# rank in BN) drifts more: 5.7e-4 at batch 32. Exits with the number of failures.
set -u
DOB=$(realpath "${1:?usage: wrn_sync_bn_test.sh DOB MPIEXEC [BATCH]}")
MPIEXEC=${2:?usage: wrn_sync_bn_test.sh DOB MPIEXEC [BATCH]}
BS=${3:-128}
HERE=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
/usr/bin/python3 "$HERE/gen_cifar.py" "$work/d" 1000 --svhn > /dev/null || { echo "FAIL: data generation"; exit 1; }
R=("$DOB" run svhn_wrn164 --data_dir "$work/d" --optimizer momentum --lr 0.001 --bs "$BS" --max_steps 20
   --train_log_interval 1 --no_json --quiet)
OMP_NUM_THREADS=2 "${R[@]}" --out "$work/one.h5" > "$work/one.log" 2>&1 || { cat "$work/one.log"; echo "FAIL: 1 rank"; exit 1; }
OMP_NUM_THREADS=1 "$MPIEXEC" -n 2 --bind-to none "${R[@]}" --sync-bn --out "$work/two.h5" > "$work/two.log" 2>&1 ||
  { cat "$work/two.log"; echo "FAIL: 2 ranks"; exit 1; }
/usr/bin/python3 - "$work" <<'PY'
import sys, h5py, numpy as np
w = sys.argv[1]
a, b = (h5py.File(f"{w}/{n}.h5", "r")["trials/0/minibatch_train_losses"][()][:20] for n in ("one", "two"))
rel = np.abs(a - b) / np.abs(a)
print("svhn_wrn164 --sync-bn, 20 steps: 2 ranks vs 1 rank, max relative loss difference %.2g (step %d)"
      % (rel.max(), int(rel.argmax()) + 1))
sys.exit(0 if np.isfinite(rel).all() and rel.max() <= 1e-4 else 1)
PY
