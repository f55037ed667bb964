#!/usr/bin/env bash
# char_rnn_test.sh DOB MPIEXEC: tolstoi_char_rnn end to end on a generated input.txt (the real War and Peace text
# cannot be downloaded here): words of a small fixed lexicon in an order set by an LCG, so the next character is
# mostly fixed by the word so far. (1) 2 epochs with Adam: the test accuracy must end far above the unigram rate
# (the share of the most frequent character in the test text); (2) 20 steps on 1 rank and data-parallel on 2
# ranks: the mini-batch losses must agree to rel 1e-4 (each rank carries the LSTM state of its own streams);
# `dob data tolstoi` prints the splits' first characters decoded exactly as the text has them; a run stopped
# mid-epoch and continued from its checkpoint equals the uninterrupted run bitwise (the LSTM state is saved).
# PART (default all): learn = (1) only, dp = (2) only. (1) takes ~2 min on 2 idle Zen cores.
set -euo pipefail
DOB=${1:?usage: char_rnn_test.sh path/to/dob mpiexec [all|learn|dp]}
MPIEXEC=${2:?usage: char_rnn_test.sh path/to/dob mpiexec [all|learn|dp]}
PART=${3:-all}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/tolstoi"
awk 'BEGIN {
  n = split("the of and to in he was that his with had it as at him not on but for she which by said her from", w, " ");
  s = 12345; out = 0;
  while (out < 120000) {
    s = (s * 1103515245 + 12345) % 2147483648; k = int(s / 65536) % n + 1;
    t = w[k]; out += length(t) + 1; printf "%s%s", t, (out % 61 < 6 ? ".\n" : " ");
  }
}' > "$work/tolstoi/input.txt"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
if [ "$PART" != dp ]; then
"$DOB" run tolstoi_char_rnn --data_dir "$work" --optimizer adam --lr 2.5e-3 -N 2 --no_json --quiet \
  --out "$work/two_epochs.h5"
/usr/bin/python3 - "$work" <<'PY'
import collections, sys
import h5py
w = sys.argv[1]
text = open(f"{w}/tolstoi/input.txt", encoding="utf-8").read()
test = text[-(-len(text) * 8 // 10):]  # after the ceil(0.8 n) training characters
unigram = collections.Counter(test).most_common(1)[0][1] / len(test)
with h5py.File(f"{w}/two_epochs.h5", "r") as f:
    acc = f["trials/0/test_accuracies"][()]
    loss = f["trials/0/test_losses"][()]
print(f"char_rnn: test accuracy {acc}, test loss {loss}, unigram rate {unigram:.3f}")
if not (acc[-1] > 1.8 * unigram and acc[-1] > acc[0] + 0.2 and loss[-1] < 0.5 * loss[0]):
    sys.exit(f"char_rnn: test accuracy {acc[-1]:.3f} after 2 epochs is not far above the unigram rate {unigram:.3f}")
PY
fi
[ "$PART" = learn ] && { echo "char_rnn_test: ok"; exit 0; }
# dob data tolstoi: the first characters of each split, decoded, equal the text's (test = after ceil(0.8 n))
"$DOB" data tolstoi --data_dir "$work" --first 200 > "$work/train.txt"
"$DOB" data tolstoi --data_dir "$work" --split test --first 200 > "$work/test.txt"
/usr/bin/python3 - "$work" <<'PY'
import sys
w = sys.argv[1]
text = open(f"{w}/tolstoi/input.txt", encoding="utf-8").read()
n_train = -(-len(text) * 8 // 10)
for split, want, n in (("train", text[:200], n_train), ("test", text[n_train:n_train + 200], len(text) - n_train)):
    out = open(f"{w}/{split}.txt", encoding="utf-8").read()
    head, body = out.split("\n", 1)
    if not head.startswith(f"tolstoi {split}: {n} characters") or body != want + "\n":
        sys.exit(f"dob data tolstoi --split {split}: expected {n} characters and the text's first 200, got:\n{out[:300]}")
print("dob data tolstoi: train and test text decoded as in input.txt")
PY
export OMP_NUM_THREADS=1
"$DOB" run tolstoi_char_rnn --data_dir "$work" --optimizer sgd --lr 1.58 --max_steps 20 --train_log_interval 1 \
  --no_json --quiet --out "$work/np1.h5"
"$MPIEXEC" -n 2 --bind-to none "$DOB" run tolstoi_char_rnn --data_dir "$work" --optimizer sgd --lr 1.58 \
  --max_steps 20 --train_log_interval 1 --no_json --quiet --out "$work/np2.h5"
/usr/bin/python3 - "$work" <<'PY'
import sys
import h5py
import numpy as np
w = sys.argv[1]
a, b = (h5py.File(f"{w}/{n}.h5", "r")["trials/0"] for n in ("np1", "np2"))
la, lb = a["minibatch_train_losses"][()], b["minibatch_train_losses"][()]
la, lb = la[~np.isnan(la)], lb[~np.isnan(lb)]
if len(la) != 20 or len(lb) != 20:
    sys.exit(f"char_rnn: expected 20 logged losses, found {len(la)} and {len(lb)}")
rel = np.abs(la - lb) / np.maximum(1.0, np.abs(la))
ta, tb = a["test_losses"][()], b["test_losses"][()]
trel = np.nanmax(np.abs(ta - tb) / np.maximum(1.0, np.abs(ta)))
print(f"char_rnn: 1 vs 2 ranks over 20 steps: max rel diff {rel.max():.2e} (losses {la[0]:.4f} .. {la[-1]:.4f}); "
      f"test losses max rel diff {trel:.2e}")
if rel.max() > 1e-4 or trel > 1e-4:
    sys.exit("char_rnn: the 2-rank run differs from the 1-rank run by more than 1e-4")
PY
# a run stopped by SIGTERM in the middle of an epoch and continued from its checkpoint equals the uninterrupted
# run bitwise: the checkpoint carries the LSTM state of the streams (/net_state)
RUN=("$DOB" run tolstoi_char_rnn --data_dir "$work" --optimizer sgd --lr 1.58 -N 2 --train_log_interval 1 --no_json)
"${RUN[@]}" --quiet --out "$work/ck_ref.h5"
"${RUN[@]}" --checkpoint "$work/ck.h5" --out "$work/ck_res.h5" > "$work/ck1.log" 2>&1 &
pid=$!
for i in $(seq 600); do [ -e "$work/ck.h5" ] && break; sleep 0.05; done
sleep 0.4
kill -TERM $pid
wait $pid || true
/usr/bin/python3 -c "
import h5py, sys
f = h5py.File(sys.argv[1], 'r')
n = int(f['progress/steps_done'][()])
print('char_rnn: stopped at step', n, 'with /net_state', f['net_state'].shape if 'net_state' in f else None)
" "$work/ck.h5"
"${RUN[@]}" --checkpoint "$work/ck.h5" --out "$work/ck_res.h5" > "$work/ck2.log" 2>&1
/usr/bin/python3 - "$work" <<'PY'
import sys
import h5py
import numpy as np
w = sys.argv[1]
a, b = (h5py.File(f"{w}/{n}.h5", "r")["trials/0"] for n in ("ck_ref", "ck_res"))
for c in ("minibatch_train_losses", "test_losses", "train_losses", "test_accuracies"):
    if not np.array_equal(a[c][()], b[c][()], equal_nan=True):
        sys.exit(f"char_rnn: the run continued from its checkpoint differs from the uninterrupted one in {c}")
print("char_rnn: stopped mid-epoch and continued from the checkpoint: bitwise equal to the uninterrupted run")
PY
echo "char_rnn_test: ok"
