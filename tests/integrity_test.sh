#!/usr/bin/env bash
# integrity_test.sh DOB [MPIEXEC]: issue 14, "nothing lost, ever": long result paths, curves rescued when the
# result file cannot be written at the end, flipped bytes in checkpoints and result files refused, merges with
# a missing slice refused. Prints "N passed, M failed" and exits with the number of failures.
set -u
DOB=$(realpath "${1:?usage: integrity_test.sh path/to/dob [mpiexec]}")
MPIEXEC=${2:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
pass=0; fail=0
ok() { pass=$((pass+1)); }
bad() { fail=$((fail+1)); printf 'FAIL: %s\n' "$*"; }

# expect CODE REGEX -- command...: exit code must be CODE (or nonzero for "nz"), stdout+stderr must match REGEX
expect() {
  local code=$1 re=$2; shift 3
  local out rc
  out=$("$@" 2>&1); rc=$?
  if { [ "$code" = nz ] && [ $rc -ne 0 ]; } || [ "$code" = "$rc" ]; then
    if printf '%s' "$out" | grep -Eq -- "$re"; then ok; return; fi
  fi
  bad "$*"; printf '  expected exit %s and /%s/, got exit %s:\n%s\n' "$code" "$re" "$rc" "$out" | head -c 3000
}

FM=/usr/share/datasets/fashion-mnist
[ -f $FM/train-images-idx3-ubyte.gz ] || { echo "Fashion-MNIST missing: skipped"; exit 0; }
RUN=("$DOB" run fmnist_logreg --optimizer sgd --lr 0.1 -N 1 --max_steps 5 --no_json --quiet)

# ---- defect 1: a result path of 241+ characters crashed Open MPI's lockedfile sharedfp inside H5Fcreate -----
long="$work/$(printf 'z%.0s' $(seq 49))"
long="$long/$(basename "$long")/$(basename "$long")/$(basename "$long")/$(basename "$long")/w"
mkdir -p "$long"
expect 0 "results: $long/r.h5" -- "${RUN[@]}" --out "$long/r.h5"
[ -f "$long/r.h5" ] && ok || bad "long path: no result file"
if [ -n "$MPIEXEC" ]; then
  expect 0 "results: $long/r2.h5" -- "$MPIEXEC" -n 2 --bind-to none "${RUN[@]}" --out "$long/r2.h5"
  [ -f "$long/r2.h5" ] && ok || bad "long path, 2 ranks: no result file"
fi

echo "$pass passed, $fail failed"
exit $fail
