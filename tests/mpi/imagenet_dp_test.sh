#!/usr/bin/env bash
# imagenet_dp_test.sh DOB MPIEXEC [PROBLEM=imagenet_vgg16 [FLAG...]]: issue 17's data-parallel acceptance for the
# streamed ImageNet: on the tiny tree of tests/gen_imagenet.py (TFRecord shards; a truncated JPEG among the files,
# skipped), `mpirun -np 2 --bind-to none dob run PROBLEM --bs 2 --max_steps 2` gives the 1-rank mini-batch and test
# losses (rel 1e-4): each rank decodes only its examples of every global batch, in the epoch order of the counter
# RNG, with the crops keyed by global positions. The 1-rank run uses the threads the two ranks have together. Exits
# with the failures. FLAGs pass to both runs: imagenet_inception_v3 needs --sync-bn (per-rank batch statistics
# cannot equal those of the global batch). Checked: the mini-batch loss of step 1 and every evaluation (train_eval
# and test, at init and after each step) within 1e-4; the mini-batch loss of step 2 within DOB_DP_LATER_TOL (default
# 1e-4). With --sync-bn one rank computes its batch statistics as N ranks do (in double, dob_net_sum), so Inception
# agrees to 7.4e-8 at step 2 on 2 ranks (Sapphire Rapids; before, 1 rank used oneDNN's float statistics and step 2
# moved by up to 3.3e-3); 4 ranks of 2 examples: 2.2e-5 (AVX2 5.2e-5). DOB_DP_RANKS (default 2) sets the ranks,
# DOB_DP_BS the batch (default max(2, ranks)), DOB_DP_LR the learning rate (default 0.01); the tree gets enough
# validation images per class for the test split to hold a batch.
set -u
DOB=$(realpath "${1:?usage: imagenet_dp_test.sh DOB MPIEXEC}")
MPIEXEC=${2:?usage: imagenet_dp_test.sh DOB MPIEXEC}
PROBLEM=${3:-imagenet_vgg16}
shift $(($# < 3 ? $# : 3))
HERE=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
NP=${DOB_DP_RANKS:-2}
BS=${DOB_DP_BS:-$((NP > 2 ? NP : 2))}
LR=${DOB_DP_LR:-0.01}
VAL=()
[ "$BS" -gt 3 ] && VAL=(--val-per-class $(((BS + 2) / 3)))
/usr/bin/python3 "$HERE/gen_imagenet.py" "$work" "${VAL[@]}" > /dev/null || { echo "FAIL: data generation"; exit 1; }
R=("$DOB" run "$PROBLEM" "$@" --data_dir "$work/shards" --optimizer sgd --lr "$LR" --bs "$BS" --max_steps 2
   --train_log_interval 1 --no_json --quiet)
OMP_NUM_THREADS=2 "${R[@]}" --out "$work/one.h5" > "$work/one.log" 2>&1 || { cat "$work/one.log"; echo "FAIL: 1 rank"; exit 1; }
OMP_NUM_THREADS=1 "$MPIEXEC" -n "$NP" --bind-to none "${R[@]}" --out "$work/two.h5" > "$work/two.log" 2>&1 ||
  { cat "$work/two.log"; echo "FAIL: $NP ranks"; exit 1; }
grep -q "skipping .*Premature end of JPEG" "$work/one.log" || { cat "$work/one.log"; echo "FAIL: no skip warning"; exit 1; }
/usr/bin/python3 - "$work" "$PROBLEM" "$NP" <<'PY'
import os, sys, h5py, numpy as np
w, problem, np_ = sys.argv[1], sys.argv[2], sys.argv[3]
fail = 0
later = float(os.environ.get("DOB_DP_LATER_TOL", "1e-4"))
for curve, n, tol in (("minibatch_train_losses", 2, [1e-4, later]), ("train_losses", 3, [1e-4] * 3),
                      ("test_losses", 3, [1e-4] * 3)):
    # evaluations: at init and after each epoch's end (a run stopped by --max_steps inside its first epoch has 2)
    a, b = (h5py.File(f"{w}/{r}.h5", "r")["trials/0/" + curve][()][:n] for r in ("one", "two"))
    k = int(np.isfinite(a).sum())
    rel = np.abs(a[:k] - b[:k]) / np.abs(a[:k])
    print("%s %s: %s ranks vs 1 rank, relative differences %s (bounds %s)"
          % (problem, curve, np_, " ".join("%.2g" % r for r in rel), " ".join("%.2g" % t for t in tol[:k])))
    fail += not (k >= 2 and np.isfinite(a[:k]).all() and np.array_equal(np.isfinite(a), np.isfinite(b))
                 and np.isfinite(rel).all() and (rel <= np.array(tol[:k])).all())
sys.exit(fail)
PY
