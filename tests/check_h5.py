#!/usr/bin/python3
"""check_h5.py FILE: h5py must read a dob result file directly (written by dob_tests -s results -t write_for_h5py).

Checks the /meta attributes come back as str / numbers, the trial layout, and prints trials/0/test_accuracies.
Exit status 0 on success, 1 with a message otherwise."""
import math
import sys

import h5py


def main(path):
    with h5py.File(path, "r") as f:
        meta = f["meta"].attrs
        problem = meta["problem"]
        assert isinstance(problem, str), "problem is %r, expected str" % type(problem)
        assert problem == "cifar10_3c3d", problem
        assert meta["optimizer_deepobs_name"] == "MomentumOptimizer"
        assert int(meta["schema_version"]) == 1
        assert int(meta["num_epochs"]) == 3 and int(meta["batch_size"]) == 128
        assert math.isnan(float(meta["weight_decay"]))
        names = [str(n) for n in meta["hyperparameter_names"]]
        assert names == ["learning_rate", "momentum"], names
        assert int(meta["n_trials"]) == 2 and sorted(f["trials"].keys()) == ["0", "1"]
        t0, t1 = f["trials/0"], f["trials/1"]
        acc = [float(x) for x in t0["test_accuracies"][()]]
        print("trials/0/test_accuracies", acc)
        assert acc == [0.1, 0.25, 0.5, 0.75], acc
        assert int(t0["status"][()]) == 2 and int(t0["random_seed"][()]) == 42
        assert list(t0["hyperparameters"][()]) == [0.00251, 0.99]
        assert int(t1["status"][()]) == 0, "trial 1 must be pending"
        assert all(math.isnan(x) for x in t1["train_losses"][()]), "unwritten curves must be NaN"
        assert t0["minibatch_train_losses"].shape == (7,)
    print("h5py read %s: ok" % path)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: check_h5.py FILE")
    try:
        main(sys.argv[1])
    except (AssertionError, KeyError, OSError) as e:
        sys.exit("check_h5.py: %s: %r" % (sys.argv[1], e))
