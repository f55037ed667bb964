#!/usr/bin/env bash
# e2e_cifar.sh DOB: `dob run cifar10_3c3d --data_dir DIR` on a generated CIFAR-10 tree in the official archive
# layout (tests/gen_cifar.py: 5 x 1000 training records with a learnable pattern, 1000 test records): one epoch
# with evaluation writes its result file and reaches well above chance (> 50 %, chance 10 %); a missing and a
# truncated batch file each give a one-line error naming the file and leave no result file; on a generated
# CIFAR-100 tree, --cifar100-fix-offset changes the evaluated images; `dob data` dumps what the net sees (checked
# against numpy on the file's bytes) and refuses to replace files. Prints "N passed, M failed".
set -u
DOB=$(realpath "${1:?usage: e2e_cifar.sh path/to/dob}")
HERE=$(dirname "$(realpath "$0")")
PY=/usr/bin/python3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0
# the message argument is expanded before the call (its $(...) resets $?): test saved exit codes ($rc), never $?
check() { if eval "$1"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $2"; fi; }

"$PY" "$HERE/gen_cifar.py" "$work/data" 1000 || { echo "0 passed, 1 failed (generator)"; exit 1; }
bin="$work/data/cifar-10-batches-bin"
"$DOB" run cifar10_3c3d --data_dir "$work/data" -N 1 --optimizer momentum --lr 0.01 --out "$work/run.h5" \
  --output_dir "$work/results" --quiet 2>"$work/err"
rc=$?
check '[ $rc -eq 0 ]' "run exits 0: $(cat "$work/err")"
"$PY" - "$work/run.h5" <<'PYEOF'
import sys, math
import h5py
with h5py.File(sys.argv[1], "r") as f:
    t = f["trials/0"]
    acc = t["test_accuracies"][:]; tl = t["test_losses"][:]; tra = t["train_accuracies"][:]
    print("test accuracies", [round(float(a), 4) for a in acc], "test losses", [round(float(a), 4) for a in tl])
    ok = len(acc) == 2 and abs(acc[0] - 0.1) < 0.08 and acc[1] > 0.5 and tra[1] > 0.5 and tl[1] < tl[0]
    ok = ok and int(t["status"][()]) == 2 and f["meta"].attrs["problem"] in ("cifar10_3c3d", b"cifar10_3c3d")
    sys.exit(0 if ok else 1)
PYEOF
rc=$?
check '[ $rc -eq 0 ]' "one epoch learns the generated pattern (test accuracy > 0.5) and the file is complete"

# dob data: the HDF5 dump equals numpy's per-image standardisation of the file's bytes; PNG written; no overwrite
"$DOB" data cifar10 --data_dir "$work/data" --split test --first 16 --h5 "$work/d.h5" --png "$work/d.png" \
  > "$work/out" 2>&1
rc=$?
check '[ $rc -eq 0 ] && [ -s "$work/d.png" ] && grep -q "per-image standardisation" "$work/out"' \
  "dob data writes its files: $(cat "$work/out")"
"$PY" - "$work/d.h5" "$bin/test_batch.bin" <<'PYEOF'
import sys
import h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
x, y = f["x"][:], f["y"][:]
raw = np.fromfile(sys.argv[2], np.uint8).reshape(-1, 3073)[:16]
img = raw[:, 1:].reshape(16, 3, 32, 32).transpose(0, 2, 3, 1).astype(np.float64)
m, s = img.mean(axis=(1, 2, 3), keepdims=True), img.std(axis=(1, 2, 3), keepdims=True)
ref = (img - m) / np.maximum(s, 1 / np.sqrt(3072))
err = np.abs(x - ref).max()
print("dob data vs numpy: max abs difference %.2e" % err)
sys.exit(0 if x.shape == (16, 32, 32, 3) and err < 1e-5 and (y == raw[:, 0]).all() else 1)
PYEOF
rc=$?
check '[ $rc -eq 0 ]' "dob data's HDF5 equals the file's images, standardised by numpy, and its labels"
"$DOB" data cifar10 --data_dir "$work/data" --split test --first 16 --h5 "$work/d.h5" 2>"$work/err"
rc=$?
check '[ $rc -eq 2 ] && grep -q "never replaces" "$work/err"' "dob data refuses to replace: $(cat "$work/err")"
"$DOB" data cifar11 2>"$work/err"
rc=$?
check '[ $rc -eq 2 ] && grep -q "unknown data set" "$work/err"' "unknown data set: $(cat "$work/err")"

# --conv-algo: cifar10_3c3d's three 3x3 stride-1 convolutions with Winograd (where this CPU has the kernels)
# train like direct ones (other rounding only), the choice is recorded in /meta, in the DeepOBS JSON folder and
# (checkpoints name it in their config string, app_ckpt_config, as they name a bf16 precision)
: > "$work/err"
for a in direct winograd; do
  "$DOB" run cifar10_3c3d --data_dir "$work/data" -N 1 --max_steps 6 --train_log_interval 1 --optimizer momentum \
    --lr 0.01 --quiet --conv-algo $a --out "$work/algo_$a.h5" --output_dir "$work/json_$a" 2>>"$work/err"
done
"$PY" - "$work" <<'PYEOF'
import glob, sys, h5py, numpy as np
w = sys.argv[1]
f = {a: h5py.File(f"{w}/algo_{a}.h5", "r") for a in ("direct", "winograd")}
algo = [f[a]["meta"].attrs["conv_algo"] for a in ("direct", "winograd")]
la, lb = (f[a]["trials/0/minibatch_train_losses"][()][:6] for a in ("direct", "winograd"))
rel = np.max(np.abs(la - lb) / np.abs(la))
folders = glob.glob(f"{w}/json_winograd/cifar10_3c3d/*/*conv_algo__winograd__*")
print("/meta conv_algo:", algo, "; 6 steps, max relative loss difference winograd vs direct: %.2g" % rel)
sys.exit(0 if algo == ["direct", "winograd"] and rel < 1e-2 and len(folders) == 1 else 1)
PYEOF
rc=$?
check '[ $rc -eq 0 ]' "--conv-algo winograd trains like direct and is recorded: $(cat "$work/err")"

mv "$bin/data_batch_3.bin" "$work/keep.bin"
"$DOB" run cifar10_3c3d --data_dir "$work/data" -N 1 --optimizer sgd --lr 0.01 --out "$work/missing.h5" \
  --output_dir "$work/results2" --quiet 2>"$work/err"
rc=$?
check '[ $rc -ne 0 ] && grep -q "data_batch_3.bin: no such file" "$work/err" && [ ! -e "$work/missing.h5" ] && \
  [ ! -e "$work/results2" ]' \
  "missing batch file: rc $rc, error '$(cat "$work/err")', no result file"
check '[ $(wc -l < "$work/err") -le 2 ]' "the error is short: $(cat "$work/err")"
mv "$work/keep.bin" "$bin/data_batch_3.bin"
head -c 3000000 "$bin/data_batch_2.bin" > "$work/cut.bin" && mv "$work/cut.bin" "$bin/data_batch_2.bin"
"$DOB" run cifar10_3c3d --data_dir "$work/data" -N 1 --optimizer sgd --lr 0.01 --out "$work/cut.h5" \
  --output_dir "$work/results2" --quiet 2>"$work/err"
rc=$?
check '[ $rc -ne 0 ] && grep -q "data_batch_2.bin: expected a whole number of 3073-byte" "$work/err" && \
  [ ! -e "$work/cut.h5" ] && [ ! -e "$work/results2" ]' \
  "truncated batch file: rc $rc, error '$(cat "$work/err")', no result file"

# CIFAR-100: --cifar100-fix-offset reads other images (other losses) and is recorded in the run's settings
"$PY" "$HERE/gen_cifar.py" "$work/data" 200 --cifar100 || { echo "generator failed"; exit 1; }
for fix in "" --cifar100-fix-offset; do
  "$DOB" run cifar100_3c3d --data_dir "$work/data" -N 0 --optimizer sgd --lr 0.01 --no_logs $fix 2>&1 \
    | grep "final" > "$work/c100$fix.txt"
done
check '[ -s "$work/c100.txt" ] && [ -s "$work/c100--cifar100-fix-offset.txt" ] && \
  ! cmp -s "$work/c100.txt" "$work/c100--cifar100-fix-offset.txt"' \
  "the offset flag changes the evaluated images: '$(cat "$work/c100.txt")' vs '$(cat "$work/c100--cifar100-fix-offset.txt")'"
# ... and recorded in /meta, by dob run and by dob sweep (whose --resume keeps it)
"$DOB" run cifar100_3c3d --data_dir "$work/data" -N 0 --optimizer sgd --lr 0.01 --no_json --quiet \
  --cifar100-fix-offset --out "$work/fix.h5" 2>"$work/err"
"$DOB" run cifar100_3c3d --data_dir "$work/data" -N 0 --optimizer sgd --lr 0.01 --no_json --quiet \
  --out "$work/nofix.h5" 2>>"$work/err"
"$DOB" sweep cifar100_3c3d --data_dir "$work/data" -N 0 --optimizer sgd --lr 0.01,0.1 --quiet \
  --cifar100-fix-offset --out "$work/fixsweep.h5" 2>>"$work/err"
"$PY" - "$work" <<'PYEOF'
import sys, h5py
w = sys.argv[1]
got = [int(h5py.File(f"{w}/{n}.h5", "r")["meta"].attrs["cifar100_fix_offset"]) for n in ("fix", "nofix", "fixsweep")]
print("/meta cifar100_fix_offset of run, run without the flag, sweep:", got)
with h5py.File(f"{w}/fix.h5", "r") as a, h5py.File(f"{w}/fixsweep.h5", "r") as b:
    same = (a["trials/0/test_losses"][()] == b["trials/0/test_losses"][()]).all()
sys.exit(0 if got == [1, 0, 1] and same else 1)
PYEOF
rc=$?
check '[ $rc -eq 0 ]' "--cifar100-fix-offset is recorded in /meta by run and sweep, and the sweep reads the same images: $(cat "$work/err")"

echo "$passed passed, $failed failed"
exit $failed
