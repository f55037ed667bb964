#!/usr/bin/env bash
# seq.sh [ROUNDS=3]: fmnist_vae and tolstoi_char_rnn training steps, dob against PyTorch (issue 16's benchmarks).
# dob: `dob run PROBLEM --optimizer sgd --max_steps STEPS` (real Fashion-MNIST; for the char-RNN a generated
# text of 400 000 characters in the tolstoi layout), steps/s = STEPS over the trainer's phase_seconds (training
# steps only: data, forward, backward, optimizer; the evaluation rounds are excluded). PyTorch:
# bench/torch_seq.py, the same nets and batch sizes (64; 50 x 50 characters) on OpenBLAS-openmp. Interleaved
# rounds; prints each and the medians' ratio. Environment: STEPS (40), BUILD (build), OMP_NUM_THREADS (2).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
STEPS=${STEPS:-40}
BUILD=${BUILD:-build}
THREADS=${OMP_NUM_THREADS:-2}
export OMP_NUM_THREADS=$THREADS
. bench/torch_env.sh  # OB (OpenBLAS-openmp for torch) and the allocator settings: see there
"$BUILD/dob" version | sed -n 2p
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/tolstoi"
awk 'BEGIN { n = split("the of and to in he was that his with had it as at him not on but for she which", w, " ");
  s = 12345; out = 0;
  while (out < 400000) { s = (s * 1103515245 + 12345) % 2147483648; t = w[int(s / 65536) % n + 1];
    out += length(t) + 1; printf "%s%s", t, (out % 61 < 6 ? ".\n" : " ") } }' > "$work/tolstoi/input.txt"
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for p in fmnist_vae tolstoi_char_rnn; do
  tp=vae; dd=(); [ $p = tolstoi_char_rnn ] && { tp=char_rnn; dd=(--data_dir "$work"); }
  D=(); T=()
  for r in $(seq "$ROUNDS"); do
    rm -f "$work/r.h5"
    "$BUILD/dob" run $p --optimizer sgd --lr 1e-3 -N 1 --max_steps "$STEPS" "${dd[@]}" --no_json --quiet \
      --out "$work/r.h5" > /dev/null
    D+=("$(/usr/bin/python3 -c "import h5py, sys
with h5py.File(sys.argv[1], 'r') as f:
    print('%.3f' % ($STEPS / sum(f['trials/0/phase_seconds'][:])))" "$work/r.h5")")
    line=$(LD_LIBRARY_PATH=$OB /usr/bin/python3 bench/torch_seq.py $tp "$STEPS" 5 "$THREADS")
    T+=("$(printf '%s' "$line" | sed -E 's/.*: ([0-9.]+) steps.*/\1/')")
  done
  d=$(printf '%s\n' "${D[@]}" | median); t=$(printf '%s\n' "${T[@]}" | median)
  printf '%-17s %s threads: dob %s steps/s [%s]  torch %s steps/s [%s]  ratio %.2f\n' "$p" "$THREADS" "$d" \
    "${D[*]}" "$t" "${T[*]}" "$(echo "$d / $t" | bc -l)"
done
