#!/usr/bin/python3
"""compare_runs.py A.h5 B.h5: the curves of trial 0 of two dob result files must be bitwise equal (NaN = NaN).

Used by checkpoint_test.sh: a run stopped and resumed from its checkpoint must equal the uninterrupted run.
Prints the first difference; exit status 0 if equal, 1 otherwise."""
import sys

import h5py
import numpy as np

CURVES = ["train_losses", "valid_losses", "test_losses", "train_accuracies", "valid_accuracies",
          "test_accuracies", "minibatch_train_losses"]


def main(a, b):
    with h5py.File(a, "r") as fa, h5py.File(b, "r") as fb:
        ta, tb = fa["trials/0"], fb["trials/0"]
        for name in ["status", "epochs_done"]:
            if int(ta[name][()]) != int(tb[name][()]):
                print("%s differs: %s vs %s" % (name, ta[name][()], tb[name][()]))
                return 1
        for name in CURVES:
            x, y = ta[name][()], tb[name][()]
            if x.shape != y.shape:
                print("%s: shapes %s vs %s" % (name, x.shape, y.shape))
                return 1
            same = (x == y) | (np.isnan(x) & np.isnan(y))
            if not same.all():
                i = int(np.argmin(same))
                print("%s differs first at %d: %r vs %r" % (name, i, x[i], y[i]))
                return 1
        print("equal: %d epochs, %d mini-batch losses, final test loss %.6f" %
              (int(ta["epochs_done"][()]), ta["minibatch_train_losses"].shape[0],
               float(ta["test_losses"][int(ta["epochs_done"][()])])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
