#!/usr/bin/env bash
# e2e_fmnist.sh DOB [EPOCHS]: a real Fashion-MNIST run of fmnist_2c2d (DeepOBS momentum baseline setting) for a
# few epochs; checks that the test accuracy rises above 85 %, that the losses fall, that h5py reads the result
# file and that the DeepOBS JSON export exists with the right keys. Prints "N passed, M failed".
set -u
DOB=$(realpath "${1:?usage: e2e_fmnist.sh path/to/dob [epochs]}")
EPOCHS=${2:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  echo "Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist): cannot run"; exit 1
fi
"$DOB" run fmnist_2c2d --optimizer momentum --momentum 0.99 --lr 2.51e-3 -N "$EPOCHS" \
  --output_dir "$work/results" --out "$work/run.h5" --train_log_interval 10 || { echo "0 passed, 1 failed"; exit 1; }
PY=/usr/bin/python3
"$PY" - "$work/run.h5" "$work/results" "$EPOCHS" <<'PYEOF'
import sys, json, glob, math
import h5py
path, outdir, epochs = sys.argv[1], sys.argv[2], int(sys.argv[3])
passed = failed = 0
def check(cond, what):
    global passed, failed
    if cond: passed += 1
    else:
        failed += 1; print("FAIL:", what)
with h5py.File(path, "r") as f:
    t = f["trials/0"]
    acc = t["test_accuracies"][:]; tl = t["test_losses"][:]; tr = t["train_losses"][:]
    mb = t["minibatch_train_losses"][:]
    print("test_accuracies", [round(float(a), 4) for a in acc])
    print("test_losses", [round(float(a), 4) for a in tl])
    check(len(acc) == epochs + 1, "curve length")
    check(acc[-1] > 0.85, "final test accuracy %.4f > 0.85" % acc[-1])
    check(tl[-1] < tl[0] and tr[-1] < tr[0], "losses fall")
    check(abs(acc[0] - 0.1) < 0.08, "untrained accuracy near chance: %.4f" % acc[0])
    check(int(t["status"][()]) == 2, "status done")
    check(all(math.isfinite(x) for x in mb), "minibatch losses finite")
    check(f["meta"].attrs["problem"] in ("fmnist_2c2d", b"fmnist_2c2d"), "meta problem")
files = glob.glob(outdir + "/fmnist_2c2d/MomentumOptimizer/*/random_seed__42__*.json")
check(len(files) == 1, "one DeepOBS JSON file, found %s" % files)
if files:
    j = json.load(open(files[0]))
    for k in ["train_losses", "test_losses", "minibatch_train_losses", "train_accuracies", "test_accuracies",
              "optimizer", "testproblem", "batch_size", "num_epochs", "learning_rate", "random_seed", "hyperparams"]:
        check(k in j, "JSON key " + k)
    check(abs(j["test_accuracies"][-1] - acc[-1]) < 1e-6, "JSON equals HDF5")
print("%d passed, %d failed" % (passed, failed))
sys.exit(failed)
PYEOF
