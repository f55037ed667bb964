#!/usr/bin/env bash
# e2e_svhn_mat.sh DOB: SVHN from the official MATLAB files, written by scipy.io.savemat (an implementation
# independent of dob's reader, io/mat5.c) in a directory without DeepOBS's prepared files (tests/gen_cifar.py
# --svhn-mat: 3 000 training and 1 000 test images with a learnable pattern). `dob data svhn` dumps what the net
# sees: equal to numpy's per-image standardisation of scipy.io.loadmat's X, labels 10 -> 0; `dob run svhn_3c3d`
# trains on it well above chance; a damaged test file gives one line naming it and no result file.
# Prints "N passed, M failed".
set -u
DOB=$(realpath "${1:?usage: e2e_svhn_mat.sh path/to/dob}")
HERE=$(dirname "$(realpath "$0")")
PY=/usr/bin/python3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0
check() { if eval "$1"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $2"; fi; }

if ! "$PY" -c "import scipy.io" 2>/dev/null; then
  echo "python3-scipy is missing (scripts/install-deps.sh): 0 passed, 1 failed"; exit 1
fi
"$PY" "$HERE/gen_cifar.py" "$work/data" 1000 --svhn-mat || { echo "0 passed, 1 failed (generator)"; exit 1; }
sv="$work/data/svhn"

"$DOB" data svhn --data_dir "$work/data" --split test --first 16 --h5 "$work/d.h5" > "$work/out" 2>&1
rc=$?
check '[ $rc -eq 0 ]' "dob data reads the .mat files: $(cat "$work/out")"
"$PY" - "$work/d.h5" "$sv/test_32x32.mat" <<'PYEOF'
import sys
import h5py, numpy as np, scipy.io
f = h5py.File(sys.argv[1], "r")
x, y = f["x"][:], f["y"][:]
m = scipy.io.loadmat(sys.argv[2])
img = m["X"][:, :, :, :16].transpose(3, 0, 1, 2).astype(np.float64)  # N, H, W, C
mean, std = img.mean(axis=(1, 2, 3), keepdims=True), img.std(axis=(1, 2, 3), keepdims=True)
ref = (img - mean) / np.maximum(std, 1 / np.sqrt(3072))
err = np.abs(x - ref).max()
lab = m["y"][:16, 0].astype(int) % 10
print("dob data vs scipy + numpy: max abs difference %.2e, labels equal %s" % (err, (y == lab).all()))
sys.exit(0 if x.shape == (16, 32, 32, 3) and err < 1e-5 and (y == lab).all() else 1)
PYEOF
rc=$?
check '[ $rc -eq 0 ]' "dob data's images and labels equal scipy.io.loadmat's, standardised by numpy"

"$DOB" run svhn_3c3d --data_dir "$work/data" -N 2 --optimizer momentum --lr 0.01 --bs 64 --out "$work/run.h5" \
  --no_json --quiet 2>"$work/err"
rc=$?
check '[ $rc -eq 0 ]' "run exits 0: $(cat "$work/err")"
"$PY" - "$work/run.h5" <<'PYEOF'
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    acc = f["trials/0/test_accuracies"][:]
    print("svhn_3c3d on the .mat files, test accuracies", [round(float(a), 4) for a in acc])
    sys.exit(0 if len(acc) == 3 and acc[-1] > 0.3 else 1)
PYEOF
rc=$?
check '[ $rc -eq 0 ]' "two epochs learn the generated pattern (test accuracy > 0.3, chance 0.1)"

head -c 20000 "$sv/test_32x32.mat" > "$work/cut" && mv "$work/cut" "$sv/test_32x32.mat"
"$DOB" run svhn_3c3d --data_dir "$work/data" -N 1 --optimizer sgd --lr 0.01 --out "$work/cut.h5" --no_json \
  --quiet 2>"$work/err"
rc=$?
check '[ $rc -ne 0 ] && grep -q "test_32x32.mat: truncated" "$work/err" && [ ! -e "$work/cut.h5" ] && \
  [ $(wc -l < "$work/err") -le 2 ]' "truncated test file: rc $rc, error '$(cat "$work/err")', no result file"
echo "$passed passed, $failed failed"
exit $failed
