#!/usr/bin/env bash
# cli_errors.sh DOB: bad input gets one clear message, a non-zero exit code, and leaves no file behind.
# Prints "N passed, M failed" and exits with the number of failures.
set -u
DOB=$(realpath "${1:?usage: cli_errors.sh path/to/dob}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
pass=0; fail=0

# expect CODE REGEX -- command...: exit code must be CODE (or nonzero for "nz"), stderr+stdout must match REGEX
expect() {
  local code=$1 re=$2; shift 3
  local out rc
  out=$("$@" 2>&1); rc=$?
  if { [ "$code" = nz ] && [ $rc -ne 0 ]; } || [ "$code" = "$rc" ]; then
    if printf '%s' "$out" | grep -Eq -- "$re"; then pass=$((pass+1)); return; fi
  fi
  fail=$((fail+1))
  printf 'FAIL: %s\n  expected exit %s and /%s/, got exit %s:\n%s\n' "$*" "$code" "$re" "$rc" "$out"
}
nofiles() {
  local left
  left=$(find "$work" -type f \( -name '*.h5' -o -name '*.tmp-*' -o -name '*.json' \) | head -5)
  if [ -z "$left" ]; then pass=$((pass+1)); else fail=$((fail+1)); printf 'FAIL: files left behind: %s\n' "$left"; fi
}

FM=/usr/share/datasets/fashion-mnist
expect 2 "unknown command 'rnu', did you mean 'run'" -- "$DOB" rnu
expect 2 "usage: dob" -- "$DOB"
expect 0 "fmnist_2c2d" -- "$DOB" list
expect 0 "--optimizer NAME" -- "$DOB" run --help
expect 0 "--momentum" -- "$DOB" run --optimizer momentum --help
expect 2 "unknown test problem 'fmnist_2c2' , did you mean 'fmnist_2c2d'|unknown test problem 'fmnist_2c2', did you mean 'fmnist_2c2d'" -- "$DOB" run fmnist_2c2 --optimizer sgd --lr 0.1
expect 2 "unknown optimizer 'adamm', did you mean 'adam'" -- "$DOB" run fmnist_logreg --optimizer adamm --lr 0.1
expect 2 "unknown option '--momentun' for optimizer momentum, did you mean '--momentum'" -- "$DOB" run fmnist_logreg --optimizer momentum --momentun 0.9 --lr 0.1
expect 2 "missing --lr" -- "$DOB" run fmnist_logreg --optimizer sgd
expect 2 "learning rate|lr" -- "$DOB" run fmnist_logreg --optimizer sgd --lr -0.1
expect 2 "--lr: expected a finite number, found 'abc'" -- "$DOB" run fmnist_logreg --optimizer sgd --lr abc
expect 2 "momentum" -- "$DOB" run fmnist_logreg --optimizer momentum --momentum 1.5 --lr 0.1
expect 2 "--bs must be > 0" -- "$DOB" run fmnist_logreg --optimizer sgd --lr 0.1 --bs 0
expect 2 "lr_sched_epochs has 2 values but --lr_sched_factors has 1" -- "$DOB" run fmnist_logreg --optimizer sgd --lr 0.1 --lr_sched_epochs 2,3 --lr_sched_factors 0.1
expect 2 "needs a value" -- "$DOB" run fmnist_logreg --optimizer sgd --lr
expect 2 "--keep-checkpoint keeps the --checkpoint FILE of a finished run: give --checkpoint FILE too" -- "$DOB" run fmnist_logreg --optimizer sgd --lr 0.1 --keep-checkpoint
expect 2 "--keep-checkpoint with --max_steps" -- "$DOB" run fmnist_logreg --optimizer sgd --lr 0.1 --checkpoint ck.h5 --keep-checkpoint --max_steps 3
# issue 14: a negative --bs or -N is an error, not "the problem's default"; -N is bounded before any memory is
# taken; messages name the range --help shows
expect 2 "--bs must be > 0, found -1" -- "$DOB" run fmnist_logreg --optimizer sgd --lr 0.1 --bs -1
expect 2 "--num_epochs must be in \[0, 100000\], found -3" -- "$DOB" run fmnist_logreg --optimizer sgd --lr 0.1 -N -3
expect 2 "--num_epochs must be in \[0, 100000\], found 2147483647" -- "$DOB" run fmnist_logreg --optimizer sgd --lr 0.1 -N 2147483647 --max_steps 5
expect 2 "--num_epochs must be in \[0, 100000\], found 99999999999" -- "$DOB" run fmnist_logreg --optimizer sgd --lr 0.1 -N 99999999999
expect 2 "--bs must be > 0, found -1" -- "$DOB" sweep fmnist_logreg --optimizer sgd --lr 0.1 --bs -1 --out s.h5
expect 2 "--num_epochs must be in \[0, 100000\], found -3" -- "$DOB" sweep fmnist_logreg --optimizer sgd --lr 0.1 -N -3 --out s.h5
expect 2 "--random_seed must be >= 0, found -2" -- "$DOB" run fmnist_logreg --optimizer sgd --lr 0.1 -r -2
expect 2 "--max_steps must be >= 0, found -1" -- "$DOB" run fmnist_logreg --optimizer sgd --lr 0.1 --max_steps -1
expect 2 "--lr: '1e-400' is too small for a double" -- "$DOB" run fmnist_logreg --optimizer sgd --lr 1e-400
expect 2 "--lr: '1e400' is too large for a double" -- "$DOB" run fmnist_logreg --optimizer sgd --lr 1e400
expect 2 "--beta1 must be in \[0, 0.999999999\], found 1" -- "$DOB" run fmnist_logreg --optimizer adam --lr 0.1 --beta1 1
expect 0 "--beta1 .*range \[0, 0.999999999\]" -- "$DOB" run --optimizer adam --help
expect 0 "--max_steps N .*0: no limit" -- "$DOB" run --help
expect 0 "--num_epochs, -N N .*N in \[0, 100000\]" -- "$DOB" sweep --help
expect 2 "--no_logs writes no result file, so --out is contradictory" -- "$DOB" run fmnist_logreg --optimizer sgd --lr 0.1 --no_logs --out x.h5
expect 2 "--no_logs writes no result file, so --output_dir is contradictory" -- "$DOB" run fmnist_logreg --optimizer sgd --lr 0.1 --no_logs --output_dir d
# every command parses through the option table: unknown flags and stray arguments are refused
expect 2 "unknown option '--bogus'" -- "$DOB" list --bogus
expect 2 "unknown option '--overwrit', did you mean '--overwrite'" -- "$DOB" merge --overwrit a.h5 b.h5
expect 2 "usage: dob export-json" -- "$DOB" export-json a.h5
expect 2 "unexpected argument 'c'" -- "$DOB" export-json a.h5 b c
expect 0 "usage: dob version" -- "$DOB" version --help
expect 1 "nonexistent_dir" -- "$DOB" run fmnist_logreg --optimizer sgd --lr 0.1 -N 1 --data_dir "$work/nonexistent_dir"
nofiles
# corrupt data: a truncated .gz and a wrong magic
mkdir -p bad/fmnist
if [ -f $FM/train-images-idx3-ubyte.gz ]; then
  head -c 100000 $FM/train-images-idx3-ubyte.gz > bad/fmnist/train-images-idx3-ubyte.gz
  cp $FM/train-labels-idx1-ubyte.gz $FM/t10k-images-idx3-ubyte.gz $FM/t10k-labels-idx1-ubyte.gz bad/fmnist/
  expect 1 "truncated" -- "$DOB" run fmnist_logreg --optimizer sgd --lr 0.1 -N 1 --data_dir "$work/bad"
  printf 'not an idx file at all' | gzip > bad/fmnist/train-images-idx3-ubyte.gz
  expect 1 "magic" -- "$DOB" run fmnist_logreg --optimizer sgd --lr 0.1 -N 1 --data_dir "$work/bad"
  nofiles
  # unwritable output: a path below a regular file
  touch afile
  expect 1 "afile" -- "$DOB" run fmnist_logreg --optimizer sgd --lr 0.1 -N 1 --output_dir "$work/afile/sub"
  # an existing result file is never overwritten
  printf 'precious' > existing.h5
  expect 1 "already exists" -- "$DOB" run fmnist_logreg --optimizer sgd --lr 0.1 -N 1 --out "$work/existing.h5"
  if [ "$(cat existing.h5)" = precious ]; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: existing.h5 changed"; fi
  rm -f existing.h5 afile
  # issue 14: curves sized beyond memory are refused before training with the numbers (was: OOM kill)
  expect 2 "need 4.81 GB of curves" -- "$DOB" run fmnist_logreg --optimizer sgd --lr 0.1 -N 100000 --bs 1 --max_steps 5 --no_logs
  nofiles
fi

# issue 20: the memory estimate. -v prints it (data once per node, in bytes: 52.6 MB for Fashion-MNIST), /meta
# records it; a node whose MemAvailable (here DOB_MEM_AVAILABLE_MB) cannot hold the run stops before training
if [ -f $FM/train-images-idx3-ubyte.gz ]; then
  expect 0 "memory estimate for this node: [0-9]+ MB = data 52.6 MB x 1 copy \+ 1 rank x \(net and optimizer state 0.1 MB \+ activations [0-9.]+ MB" -- "$DOB" run fmnist_logreg --optimizer sgd --lr 0.1 -N 1 --max_steps 2 --out "$work/mem.h5" --no_json -v
  if /usr/bin/python3 -c "import h5py" 2>/dev/null; then
    mb=$(/usr/bin/python3 -c "import h5py; print(int(h5py.File('$work/mem.h5')['meta'].attrs['memory_estimate_bytes']) >> 20)")
    if [ "$mb" -gt 60 ] && [ "$mb" -lt 200 ]; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: /meta memory_estimate_bytes is $mb MB"; fi
  fi
  rm -f "$work/mem.h5"
  expect 2 "this node would need about [0-9]+ MB \(data 53 MB x 1 copy \+ 1 rank x [0-9]+ MB, of which activations [0-9]+ MB at 128 examples per rank\) but has 10 MB available: use a smaller --bs or fewer ranks per node" -- env DOB_MEM_AVAILABLE_MB=10 "$DOB" run fmnist_logreg --optimizer sgd --lr 0.1 --out "$work/mem.h5"
  expect 2 "but has 10 MB available" -- env DOB_MEM_AVAILABLE_MB=10 "$DOB" sweep fmnist_logreg --optimizer sgd --lr 0.1,0.2 --out "$work/memsweep.h5"
  nofiles
fi
# not errors: a diverging run is a recorded status with exit code 0; an external optimizer plugin runs
if [ -f $FM/train-images-idx3-ubyte.gz ]; then
  expect 0 "DIVERGED at step" -- "$DOB" run fmnist_mlp --optimizer sgd --lr 1e6 -N 1 --max_steps 30 --output_dir "$work/div" --quiet
  if /usr/bin/python3 -c "import h5py" 2>/dev/null; then
    st=$(/usr/bin/python3 -c "import h5py,glob; print(int(h5py.File(glob.glob('$work/div/*.h5')[0])['trials/0/status'][()]))")
    if [ "$st" = 3 ]; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: diverged status is $st, expected 3"; fi
  fi
  PLUGIN=$(dirname "$DOB")/tests/libdob_plugin_sign_sgd.so
  if [ -f "$PLUGIN" ]; then
    expect 0 "sign_sgd .*done" -- "$DOB" run fmnist_logreg --optimizer-lib "$PLUGIN" --lr 1e-3 -N 1 --max_steps 20 --no_logs
    expect nz "plugin|shared object|not" -- "$DOB" run fmnist_logreg --optimizer-lib "$work/nonexistent.so" --lr 1e-3 -N 1
  fi
  # dob runtime (issue 18): DeepOBS's runtime estimate, on 2 pairs of 1-epoch runs; bad input
  expect 0 "fmnist_logreg: SGD [0-9.]+ \+- [0-9.]+ s/epoch, momentum [0-9.]+ \+- [0-9.]+ s/epoch; overhead [0-9.]+ \+- [0-9.]+ \(2 pairs, 1 epoch each\)" -- \
    "$DOB" runtime fmnist_logreg --optimizer momentum --lr 0.1 --runs 2 -N 1 --quiet
  expect 2 "missing --lr" -- "$DOB" runtime fmnist_logreg --optimizer adam
  expect 2 "--runs must be in \[1, 1000\], found 0" -- "$DOB" runtime fmnist_logreg --optimizer adam --lr 1e-3 --runs 0
  expect 2 "unknown hyperparameter|momentum" -- "$DOB" runtime fmnist_logreg --optimizer adam --lr 1e-3 --momentum 0.9
fi
rm -rf "$work/div"
# random search (issue 18): distributions need --samples, --samples needs distributions, bounds named
SW=("$DOB" sweep fmnist_logreg --optimizer momentum --out "$work/rs.h5")
expect 2 "--lr 'loguniform:1e-5:1e-1' is a distribution: give --samples N" -- "${SW[@]}" --lr loguniform:1e-5:1e-1
expect 2 "--momentum 'uniform:0.5:0.9' is a distribution: give --samples N" -- "${SW[@]}" --lr 0.1 --momentum uniform:0.5:0.9
expect 2 "--momentum '0.9,0.99' is a grid of 2 values, but --samples draws random settings: give it one value or a distribution" -- "${SW[@]}" --lr loguniform:1e-5:1e-1 --momentum 0.9,0.99 --samples 4
expect 2 "--samples 4 draws settings from distributions, but no hyperparameter has one \(e.g. --lr loguniform:1e-5:1e-1\)" -- "${SW[@]}" --lr 0.1 --samples 4
expect 2 "--sample-seed keys the draws of a random search: give it with --samples N" -- "${SW[@]}" --lr 0.1 --sample-seed 3
expect 2 "--samples must be in \[1, 100000\], found 0" -- "${SW[@]}" --lr loguniform:1e-5:1e-1 --samples 0
expect 2 "--sample-seed must be >= 0, found -1" -- "${SW[@]}" --lr loguniform:1e-5:1e-1 --samples 2 --sample-seed -1
expect 2 "--lr 'loguniform:0:1': loguniform needs 0 < LO < HI, found LO 0, HI 1" -- "${SW[@]}" --lr loguniform:0:1 --samples 2
expect 2 "--lr 'loguniform:1:1e-3': loguniform needs 0 < LO < HI" -- "${SW[@]}" --lr loguniform:1:1e-3 --samples 2
expect 2 "--momentum 'uniform:0.9:0.5': uniform needs LO < HI, found LO 0.9, HI 0.5" -- "${SW[@]}" --lr loguniform:1e-3:1 --momentum uniform:0.9:0.5 --samples 2
expect 2 "--lr 'loguniform:1e-3': expected loguniform:LO:HI with finite numbers LO and HI" -- "${SW[@]}" --lr loguniform:1e-3 --samples 2
expect 2 "--momentum 'uniform:-1e308:1e308': HI - LO overflows a double" -- "${SW[@]}" --lr loguniform:1e-3:1 --momentum uniform:-1e308:1e308 --samples 2
expect 2 "--momentum: optimizer momentum: --momentum must be in \[0, 1\], found 1.5" -- "${SW[@]}" --lr loguniform:1e-3:1 --momentum uniform:0.5:1.5 --samples 2
expect 2 "--lr: optimizer momentum: .*found -1" -- "${SW[@]}" --lr uniform:-1:1 --samples 2
expect 2 "--mode and --metric rank the settings of --rerun-best FILE; a new sweep takes neither" -- "${SW[@]}" --lr 0.1 --mode final
expect 0 "--samples N .*random search" -- "$DOB" sweep --help
# --rerun-best: flags from the file, new seeds required, a whole finished sweep, never an existing file
expect 2 "--rerun-best takes the problem, optimizer, hyperparameters and settings from FILE; give only --seeds" -- "$DOB" sweep --rerun-best x.h5 --seeds 1 --lr 0.1
expect 2 "--rerun-best takes the problem" -- "$DOB" sweep --rerun-best x.h5 --seeds 1 --overwrite
expect 2 "--rerun-best needs --seeds, the seeds of the rerun" -- "$DOB" sweep --rerun-best x.h5
expect 2 "--rerun-best: sweep file 'nope.h5': No such file" -- "$DOB" sweep --rerun-best nope.h5 --seeds 1
expect 2 "--mode: expected final, best or most, found 'worst'" -- "$DOB" sweep --rerun-best nope.h5 --seeds 1 --mode worst
nofiles
if [ -f $FM/train-images-idx3-ubyte.gz ]; then
  RS=(fmnist_logreg --optimizer momentum --lr loguniform:1e-3:1 --samples 2 --seeds 42 -N 1 --max_steps 2 --quiet)
  expect 0 "" -- env SLURM_ARRAY_TASK_ID=0 SLURM_ARRAY_TASK_COUNT=2 "$DOB" sweep "${RS[@]}" --out "$work/rs.h5"
  expect 2 "--rerun-best: 'rs.slice0.h5' holds 1 of its sweep's 2 trials \(a job-array slice\): merge the slices first" -- "$DOB" sweep --rerun-best rs.slice0.h5 --seeds 1
  expect 0 "" -- "$DOB" merge --allow-missing rs.h5 rs.slice0.h5
  expect 2 "--rerun-best: 1 of the 2 trials of 'rs.h5' have not run to the end \(pending or running\): finish the sweep first \(dob sweep --resume rs.h5\)" -- "$DOB" sweep --rerun-best rs.h5 --seeds 1
  expect 0 "" -- "$DOB" sweep --resume rs.h5 --quiet
  touch rs.best.h5
  expect 2 "--rerun-best: 'rs.best.h5' already exists; an existing result is never replaced: give another --out" -- "$DOB" sweep --rerun-best rs.h5 --seeds 1
  [ ! -s rs.best.h5 ] && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: rs.best.h5 was written"; }
  rm -f rs.h5 rs.slice0.h5 rs.best.h5
  # a sweep whose only trial was stopped (SIGTERM once it trains: its checkpoint exists) has nothing to rank
  "$DOB" sweep fmnist_logreg --optimizer sgd --lr 0.1 -N 50 --quiet --out "$work/stopped.h5" > stopped.log 2>&1 &
  spid=$!
  for i in $(seq 1200); do
    [ -e "$work/stopped.h5.trial0.ckpt" ] && break
    kill -0 $spid 2>/dev/null || break
    sleep 0.05
  done
  kill -TERM $spid 2>/dev/null
  wait $spid
  expect 1 "--rerun-best: no setting of 'stopped.h5' has a done or diverged trial to rank" -- "$DOB" sweep --rerun-best stopped.h5 --seeds 1
  rm -f stopped.h5 stopped.h5.trial0.ckpt stopped.log
  nofiles
fi
echo "$pass passed, $fail failed"
exit $fail
