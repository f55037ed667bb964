#!/usr/bin/env bash
# imagenet_dp_test.sh DOB MPIEXEC: issue 17's data-parallel acceptance for the streamed ImageNet: on the tiny tree
# of tests/gen_imagenet.py (TFRecord shards; a truncated JPEG among the files, skipped), `mpirun -np 2 --bind-to
# none dob run imagenet_vgg16 --bs 2 --max_steps 2` gives the 1-rank mini-batch and test losses (rel 1e-4): each
# rank decodes only its example of every global batch, in the epoch order of the counter RNG, with the crops keyed
# by global positions. The 1-rank run uses the threads the two ranks have together. Exits with the failures.
set -u
DOB=$(realpath "${1:?usage: imagenet_dp_test.sh DOB MPIEXEC}")
MPIEXEC=${2:?usage: imagenet_dp_test.sh DOB MPIEXEC}
HERE=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
/usr/bin/python3 "$HERE/gen_imagenet.py" "$work" > /dev/null || { echo "FAIL: data generation"; exit 1; }
R=("$DOB" run imagenet_vgg16 --data_dir "$work/shards" --optimizer sgd --lr 0.01 --bs 2 --max_steps 2
   --train_log_interval 1 --no_json --quiet)
OMP_NUM_THREADS=2 "${R[@]}" --out "$work/one.h5" > "$work/one.log" 2>&1 || { cat "$work/one.log"; echo "FAIL: 1 rank"; exit 1; }
OMP_NUM_THREADS=1 "$MPIEXEC" -n 2 --bind-to none "${R[@]}" --out "$work/two.h5" > "$work/two.log" 2>&1 ||
  { cat "$work/two.log"; echo "FAIL: 2 ranks"; exit 1; }
grep -q "skipping .*Premature end of JPEG" "$work/one.log" || { cat "$work/one.log"; echo "FAIL: no skip warning"; exit 1; }
/usr/bin/python3 - "$work" <<'PY'
import sys, h5py, numpy as np
w = sys.argv[1]
fail = 0
for curve, n in (("minibatch_train_losses", 2), ("test_losses", 2)):
    a, b = (h5py.File(f"{w}/{r}.h5", "r")["trials/0/" + curve][()][:n] for r in ("one", "two"))
    rel = np.abs(a - b) / np.abs(a)
    print("imagenet_vgg16 %s: 2 ranks vs 1 rank, max relative difference %.2g" % (curve, rel.max()))
    fail += not (np.isfinite(rel).all() and rel.max() <= 1e-4)
sys.exit(fail)
PY
