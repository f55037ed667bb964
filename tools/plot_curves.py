#!/usr/bin/python3
"""plot_curves.py [-o OUT.png] [--loss-only] FILE [FILE ...]: the learning curves of dob runs, as DeepOBS plots them.

FILE is a dob result file (every trial that has curves: done, diverged, or stopped) or a `dob run --checkpoint`
file (the curves so far, e.g. of a job that is still running). Writes one figure with four panels against the
epoch (test loss, test accuracy, train_eval loss, train_eval accuracy; the accuracy panels are left out for
problems without accuracy or with --loss-only) and prints a table: per curve the last evaluated epoch, the final
and the best test value and its epoch.

Example:
    /usr/bin/python3 tools/plot_curves.py -o curves.png results/*.h5
Needs h5py, numpy and matplotlib (Debian: python3-h5py python3-numpy python3-matplotlib)."""
import argparse
import math
import sys

import h5py
import numpy as np

STATUS = {0: "pending", 1: "running", 2: "done", 3: "diverged", 4: "failed"}


def _label(meta, hp, seed):
    names = [str(n) for n in meta["hyperparameter_names"]]
    parts = [str(meta["optimizer"])]
    for n, v in zip(names, hp):
        parts.append("%s %.4g" % ("lr" if n == "learning_rate" else n, v))
    parts.append("seed %d" % seed)
    if str(meta.get("precision", "f32")) != "f32":  # --precision bf16 (files without the attribute are f32)
        parts.append(str(meta["precision"]))
    return " ".join(parts)


def curves_of(path):
    """[(label, dict of curves)] of a result or checkpoint file."""
    out = []
    with h5py.File(path, "r") as f:
        if f.attrs.get("format") == "dob-checkpoint":
            c = f["curves"]
            cfg = dict(kv.split("=", 1) for kv in str(f.attrs["config"]).split() if "=" in kv)
            label = "%s %s lr %.4g seed %s (checkpoint at step %d)" % (
                cfg.get("problem", "?"), cfg.get("optimizer", "?"), float(cfg.get("lr", "nan")), cfg.get("seed", "?"),
                int(f["progress/steps_done"][()]))
            if cfg.get("precision", "f32") != "f32":
                label += " " + cfg["precision"]
            out.append((label, {k: c[k][()] for k in c.keys()}, None))
            return out
        if "meta" not in f or "trials" not in f:
            raise ValueError("%s is neither a dob result file nor a dob checkpoint" % path)
        meta = f["meta"].attrs
        for tid in sorted(f["trials"].keys(), key=int):
            t = f["trials"][tid]
            status = int(t["status"][()])
            cur = {k: t[k][()] for k in ("train_losses", "test_losses", "train_accuracies", "test_accuracies",
                                         "valid_losses", "valid_accuracies", "minibatch_train_losses")}
            if np.all(np.isnan(cur["test_losses"])):
                continue  # pending, or stopped before its first evaluation
            label = "%s %s" % (str(meta["problem"]), _label(meta, t["hyperparameters"][()], int(t["random_seed"][()])))
            if status != 2:
                label += " [%s]" % STATUS.get(status, "?")
            out.append((label, cur, bool(int(meta["has_accuracy"]))))
    return out


def summary(label, cur, has_acc):
    loss = cur["test_losses"]
    ok = ~np.isnan(loss)
    last = int(np.nonzero(ok)[0][-1])
    acc = cur.get("test_accuracies")
    use_acc = has_acc if has_acc is not None else (acc is not None and not np.all(np.isnan(acc)))
    if use_acc:
        best = int(np.nanargmax(acc))
        return "%-60s epoch %3d  final test acc %6.2f%%  best %6.2f%% (epoch %d)  final test loss %.4f" % (
            label, last, 100 * acc[last], 100 * acc[best], best, loss[last])
    best = int(np.nanargmin(loss))
    return "%-60s epoch %3d  final test loss %.4f  best %.4f (epoch %d)" % (label, last, loss[last], loss[best], best)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("files", nargs="+", metavar="FILE")
    ap.add_argument("-o", "--out", default="curves.png", help="figure file (default curves.png)")
    ap.add_argument("--loss-only", action="store_true", help="only the loss panels")
    a = ap.parse_args(argv)
    runs = []
    for p in a.files:
        try:
            runs.extend(curves_of(p))
        except (OSError, KeyError, ValueError) as e:
            print("plot_curves: %s: %s" % (p, e), file=sys.stderr)
            return 1
    if not runs:
        print("plot_curves: no evaluated curves in %s" % ", ".join(a.files), file=sys.stderr)
        return 1
    for label, cur, has_acc in runs:
        print(summary(label, cur, has_acc))

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with_acc = not a.loss_only and any(
        (h if h is not None else not np.all(np.isnan(c["test_accuracies"]))) for _, c, h in runs)
    panels = [("test_losses", "test loss"), ("train_losses", "train_eval loss")]
    if with_acc:
        panels += [("test_accuracies", "test accuracy"), ("train_accuracies", "train_eval accuracy")]
    cols = 2
    rows = math.ceil(len(panels) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(6 * cols, 3.6 * rows), squeeze=False)
    for k, (key, title) in enumerate(panels):
        ax = axes[k // cols][k % cols]
        for label, cur, _ in runs:
            y = cur[key]
            ax.plot(np.arange(len(y)), y, label=label, linewidth=1.2)
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(a.out, dpi=110)
    print("figure: %s" % a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
