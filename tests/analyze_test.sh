#!/usr/bin/env bash
# analyze_test.sh DOB: `dob analyze` end to end without training (issue 18): a DeepOBS 1.2 JSON tree written here
# (2 PyTorch optimizers x 4 learning rates x 2 seeds, 5 epochs, one run diverged and padded as DeepOBS 1.2 pads it)
# and a Momentum grid of learning rate x momentum (9 settings, one seed)
# -> the table on the terminal and as a CSV file -> --plots: every figure exists as PNG and PDF and is not trivial
# (PNG: several colours, more than 3% of the pixels drawn; PDF: a PDF of some size). Then one clear line per bad
# input (missing path, another kind of file, an empty tree, a bad --mode, an existing --table file).
set -euo pipefail
DOB=$(realpath "${1:?usage: analyze_test.sh path/to/dob}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
/usr/bin/python3 - <<'PY'
import json, math, os
for opt, lrs in (("SGD", (0.01, 0.1, 1.0, 10.0)), ("Adam", (1e-4, 1e-3, 1e-2, 1e-1))):
    for k, lr in enumerate(lrs):
        d = "tree/fmnist_2c2d/%s/num_epochs__5__batch_size__128__lr__%s" % (opt, lr)
        os.makedirs(d, exist_ok=True)
        for seed in (42, 43):
            q = 1.0 - abs(k - 1.5) / 3 + 0.02 * (seed - 42)           # best at the middle learning rates
            acc = [0.1] + [0.1 + 0.8 * q * (1 - math.exp(-e)) for e in range(1, 6)]
            loss = [2.3] + [2.3 - 2.0 * q * (1 - math.exp(-e)) for e in range(1, 6)]
            if opt == "SGD" and lr == 10.0 and seed == 43:             # diverged after epoch 2: padded
                acc = acc[:3] + [acc[0]] * 3
                loss = loss[:3] + [loss[0]] * 3
            run = {"testproblem": "fmnist_2c2d", "batch_size": 128, "num_epochs": 5, "random_seed": seed,
                   "weight_decay": None, "optimizer_name": opt, "optimizer_hyperparams": {"lr": lr},
                   "training_params": {}, "train_losses": loss, "valid_losses": loss, "test_losses": loss,
                   "minibatch_train_losses": [2.3], "train_accuracies": acc, "valid_accuracies": acc,
                   "test_accuracies": acc}
            json.dump(run, open("%s/random_seed__%d__2020-01-01-00-00-00.json" % (d, seed), "w"), indent=4)
for lr in (0.001, 0.01, 0.1):                                         # two hyperparameters: the 2-D sensitivity
    for mom in (0.5, 0.9, 0.99):
        d = "tree/fmnist_2c2d/Momentum/num_epochs__5__batch_size__128__lr__%s__momentum__%s" % (lr, mom)
        os.makedirs(d, exist_ok=True)
        q = 0.5 + 0.4 * (1 - abs(math.log10(lr * 10 / (1 - mom)) - 0.5) / 3)
        acc = [0.1] + [0.1 + 0.8 * q * (1 - math.exp(-e)) for e in range(1, 6)]
        loss = [2.3] + [2.3 - 2.0 * q * (1 - math.exp(-e)) for e in range(1, 6)]
        run = {"testproblem": "fmnist_2c2d", "batch_size": 128, "num_epochs": 5, "random_seed": 42,
               "weight_decay": None, "optimizer_name": "Momentum", "optimizer_hyperparams": {"lr": lr, "momentum": mom},
               "training_params": {}, "train_losses": loss, "valid_losses": loss, "test_losses": loss,
               "minibatch_train_losses": [2.3], "train_accuracies": acc, "valid_accuracies": acc,
               "test_accuracies": acc}
        json.dump(run, open("%s/random_seed__42__2020-01-01-00-00-00.json" % d, "w"), indent=4)
PY
"$DOB" analyze tree --baselines --threshold 0.7 --table table.csv --plots figs > out.txt
cat out.txt
grep -q "read 25 runs from 1 path: 0 from dob files, 0 DeepOBS 1.1 JSON, 25 DeepOBS 1.2 JSON" out.txt
grep -q "24 done, 1 diverged" out.txt
grep -q "^fmnist_2c2d,\"SGD\",results,valid_accuracies,final," table.csv
grep -q "DeepOBS baseline" table.csv
/usr/bin/python3 - figs <<'PY'
import os, sys
import matplotlib.image as mpimg
import numpy as np
d = sys.argv[1]
for name in ("performance_small", "lr_sensitivity", "sensitivity_2d_fmnist_2c2d_Momentum", "performance_profile"):
    png, pdf = os.path.join(d, name + ".png"), os.path.join(d, name + ".pdf")
    img = mpimg.imread(png)[..., :3]
    drawn = np.mean(np.any(img < 0.95, axis=-1))
    colours = len(np.unique((img * 255).astype(np.uint8).reshape(-1, 3), axis=0))
    assert img.shape[0] > 300 and img.shape[1] > 300, (png, img.shape)
    assert drawn > 0.03 and colours > 20, (png, drawn, colours)
    head = open(pdf, "rb").read(5)
    assert head == b"%PDF-" and os.path.getsize(pdf) > 5000, (pdf, head, os.path.getsize(pdf))
    print("%s: %dx%d, %.1f%% drawn, %d colours; pdf %d bytes" % (name, img.shape[1], img.shape[0], 100 * drawn,
                                                                  colours, os.path.getsize(pdf)))
PY
# bad input: one line on stderr each, nonzero exit, nothing written
fails() { # expected-substring command...
    local want=$1; shift
    if "$@" > /dev/null 2> err.txt; then echo "FAIL: '$*' succeeded"; exit 1; fi
    grep -q -- "$want" err.txt || { echo "FAIL: '$*': expected '$want' in:"; cat err.txt; exit 1; }
    [ "$(grep -c "dob: error" err.txt)" = 1 ] || { echo "FAIL: '$*': not one error line:"; cat err.txt; exit 1; }
}
fails "No such file" "$DOB" analyze missing.h5
echo "hello" > other.txt
fails "neither a dob result file (HDF5) nor a DeepOBS JSON run" "$DOB" analyze other.txt
mkdir empty
fails "holds no runs" "$DOB" analyze empty
fails "expected final, best or most, found 'fast'" "$DOB" analyze tree --mode fast
fails "already exists; refusing to overwrite it" "$DOB" analyze tree --table table.csv
echo "analyze_test: ok"
