#!/usr/bin/python3
"""analyze_plots.py ANALYSIS.json OUT_DIR [--quartiles]: DeepOBS's figures from `dob analyze --plots`.

ANALYSIS.json is written by `dob analyze ... --plots OUT_DIR` (io/analyze_export.c documents its schema); dob runs
this script itself, so a user rarely calls it by hand. It writes, as PNG and PDF:
  performance_small / performance_large / performance (other problems): DeepOBS's performance figure
      (analyzer plot_performance / plot_testset_performances): rows test loss, train loss, test accuracy, train
      accuracy; one column per problem; each optimizer's chosen setting as mean +- std (--quartiles: median and
      quartiles), the convergence threshold as a grey line and DeepOBS's baselines as dashed lines on the row of
      the performance metric.
  lr_sensitivity: per problem, each seed's final value of the ranking metric (x) and the mean (line) against the
      learning rate on a log axis (DeepOBS 1.2 plot_hyperparameter_sensitivity), one line per optimizer and per
      value of its other hyperparameters; the chosen setting is circled.
  sensitivity_2d_<problem>_<optimizer>: for an optimizer with a second varying hyperparameter, the mean final
      value of the ranking metric over (learning rate, that hyperparameter) as a filled contour with the settings
      marked (DeepOBS 1.2 plot_hyperparameter_sensitivity_2d; log axes for positive values spanning > 10x).
  performance_profile: with convergence thresholds, the Dolan-More performance profile of the optimizers across
      the problems (as AlgoPerf scores its submissions): for each optimizer the fraction of problems on which its
      speed is within a factor tau of the fastest optimizer's (an optimizer without runs on a problem, or whose
      chosen setting never reached the threshold: never).
Needs numpy and matplotlib (Debian: python3-numpy python3-matplotlib)."""
import argparse
import json
import math
import os
import sys

import numpy as np

SMALL = ["quadratic_deep", "mnist_vae", "fmnist_2c2d", "cifar10_3c3d"]
LARGE = ["fmnist_vae", "cifar100_allcnnc", "svhn_wrn164", "tolstoi_char_rnn"]
TITLES = {"quadratic_deep": "P1 Quadratic Deep", "mnist_vae": "P2 MNIST - VAE", "fmnist_2c2d": "P3 F-MNIST - CNN",
          "cifar10_3c3d": "P4 CIFAR-10 - CNN", "fmnist_vae": "P5 F-MNIST - VAE",
          "cifar100_allcnnc": "P6 CIFAR-100 - All-CNN-C", "svhn_wrn164": "P7 SVHN - Wide ResNet 16-4",
          "tolstoi_char_rnn": "P8 Tolstoi - Char RNN"}
ROWS = [("test_losses", "Test Loss"), ("train_losses", "Train Loss"), ("test_accuracies", "Test Accuracy"),
        ("train_accuracies", "Train Accuracy")]
BASE_STYLE = {"SGD": ":", "Momentum": "--", "Adam": "-."}


def arr(x):
    return np.array([np.nan if v is None else v for v in x], dtype=float)


def save(fig, out_dir, name):
    for ext in ("png", "pdf"):
        path = os.path.join(out_dir, "%s.%s" % (name, ext))
        fig.savefig(path, dpi=130 if ext == "png" else None, bbox_inches="tight")
        print("figure: %s" % path)


def perf_panel(axes, prob, quartiles):
    """One problem's column of the performance figure."""
    for opt in prob["optimizers"]:
        ch = opt.get("chosen")
        if not ch:
            continue
        label = "%s (%s)" % (opt["optimizer"], ch["hp_show"])
        color = None
        for row, (curve, _) in enumerate(ROWS):
            c = ch["curves"].get(curve)
            if c is None:
                continue
            center = arr(c["median"] if quartiles else c["mean"])
            if quartiles:
                low, high = arr(c["q25"]), arr(c["q75"])
            else:
                low, high = center - arr(c["std"]), center + arr(c["std"])
            x = np.arange(len(center))
            line, = axes[row].plot(x, center, label=label, color=color, linewidth=1.5)
            color = line.get_color()
            axes[row].fill_between(x, low, high, color=color, alpha=0.2, linewidth=0)
    row = 2 if prob["perf_curve"] == "test_accuracies" else 0
    if prob.get("threshold") is not None:
        axes[row].axhline(prob["threshold"], color="#AFB3B7", linewidth=1.2, label="convergence threshold")
    for b in prob.get("baselines", []):
        brow = 2 if b["metric"] == "test_accuracies" else 0
        axes[brow].axhline(b["performance"], color="k", linewidth=0.9, alpha=0.6,
                           linestyle=BASE_STYLE.get(b["optimizer"], "--"), label="%s (DeepOBS)" % b["optimizer"])
    for ax in axes:
        ax.grid(alpha=0.25)
        ax.margins(x=0)
        if not ax.lines:
            ax.text(0.5, 0.5, "not recorded", ha="center", va="center", transform=ax.transAxes, color="0.5")
            ax.set_yticks([])


def performance_figure(problems, name, out_dir, quartiles):
    import matplotlib.pyplot as plt
    n = len(problems)
    fig, ax = plt.subplots(4, n, figsize=(3.6 * n + 1.0, 9.0), sharex="col", squeeze=False)
    for j, prob in enumerate(problems):
        perf_panel(ax[:, j], prob, quartiles)
        ax[0][j].set_title(TITLES.get(prob["problem"], prob["problem"]), fontsize=11)
        ax[3][j].set_xlabel("epochs")
        ax[0][j].legend(fontsize=7, loc="upper right")
        if any(l.get_label().endswith("(DeepOBS)") or l.get_label() == "convergence threshold"
               for l in ax[2][j].lines):
            ax[2][j].legend(fontsize=7, loc="lower right")
    for i, (_, title) in enumerate(ROWS):
        ax[i][0].set_ylabel(title)
    which = "median and quartiles" if quartiles else "mean and std"
    fig.suptitle("%s: chosen setting of each optimizer (%s over seeds)" % (
        {"performance_small": "Benchmark set small", "performance_large": "Benchmark set large"}.get(
            name, "Performance"), which), fontsize=12)
    fig.tight_layout()
    save(fig, out_dir, name)
    plt.close(fig)


def sensitivity_panel(ax, prob):
    metric = None
    for opt in prob["optimizers"]:
        metric = metric or opt["metric"]
        sets = [s for s in opt["settings"] if s["seeds"] > 0 and s["hp"].get("learning_rate") is not None]
        names = sorted({k for s in sets for k in s["hp"] if k != "learning_rate"})
        varying = [k for k in names if len({s["hp"].get(k) for s in sets}) > 1]
        lines = {}
        for s in sets:
            key = tuple(s["hp"].get(k) for k in varying)
            lines.setdefault(key, []).append(s)
        for key, group in sorted(lines.items(), key=lambda kv: str(kv[0])):
            group.sort(key=lambda s: s["hp"]["learning_rate"])
            lr = np.array([s["hp"]["learning_rate"] for s in group])
            vals = [arr(s["final"]["metric"]) for s in group]
            mean = np.array([np.mean(v) if len(v) else np.nan for v in vals])
            label = opt["optimizer"] + "".join(" %s %g" % (k, v) for k, v in zip(varying, key) if v is not None)
            line, = ax.plot(lr, mean, marker=".", linewidth=1.5, label=label)
            for x, v in zip(lr, vals):
                ax.scatter(np.full(len(v), x), v, marker="x", s=18, color=line.get_color(), alpha=0.7)
            for s, x, m in zip(group, lr, mean):
                if s["rank"] == 0:
                    ax.scatter([x], [m], s=110, facecolors="none", edgecolors=line.get_color(), linewidths=1.5)
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("final %s" % (metric or "metric"))
    ax.set_title(TITLES.get(prob["problem"], prob["problem"]), fontsize=11)
    ax.grid(alpha=0.25, which="both")
    ax.legend(fontsize=7)


def sensitivity_figure(problems, out_dir):
    import matplotlib.pyplot as plt
    n = len(problems)
    cols = min(n, 4)
    rows = math.ceil(n / cols)
    fig, ax = plt.subplots(rows, cols, figsize=(max(6.4, 4.6 * cols), 3.8 * rows), squeeze=False)
    for k, prob in enumerate(problems):
        sensitivity_panel(ax[k // cols][k % cols], prob)
    for k in range(n, rows * cols):
        ax[k // cols][k % cols].axis("off")
    fig.suptitle("Learning-rate sensitivity\n(x: each seed's final value, line: the mean, o: the chosen setting)",
                 fontsize=11)
    fig.tight_layout()
    save(fig, out_dir, "lr_sensitivity")
    plt.close(fig)


def sensitivity_2d(prob, opt, out_dir):
    """DeepOBS 1.2's plot_hyperparameter_sensitivity_2d for one optimizer, if a second hyperparameter varies."""
    import matplotlib.pyplot as plt
    sets = [s for s in opt["settings"] if s["seeds"] > 0 and s["hp"].get("learning_rate") is not None]
    others = sorted({k for s in sets for k, v in s["hp"].items() if k != "learning_rate" and v is not None})
    varying = [k for k in others if len({s["hp"].get(k) for s in sets}) > 1]
    if not varying or len(sets) < 4:
        return
    k = varying[0]
    pts = [(s["hp"]["learning_rate"], s["hp"][k], np.mean(arr(s["final"]["metric"])), s["rank"] == 0)
           for s in sets if s["hp"].get(k) is not None and len(s["final"]["metric"])]
    x, y, z = (np.array([p[i] for p in pts], dtype=float) for i in range(3))
    ok = np.isfinite(z)
    if ok.sum() < 4 or len(set(x[ok])) < 2 or len(set(y[ok])) < 2:
        return
    logx = np.all(x > 0) and x.max() / x.min() > 10
    logy = np.all(y > 0) and y.max() / y.min() > 10
    fig, ax = plt.subplots(figsize=(5.6, 4.2))
    con = ax.tricontourf(np.log10(x[ok]) if logx else x[ok], np.log10(y[ok]) if logy else y[ok], z[ok],
                         levels=min(12, max(3, int(ok.sum()))), cmap="viridis")
    ax.scatter(np.log10(x) if logx else x, np.log10(y) if logy else y, c="w", edgecolors="k", s=18)
    for (px, py, _, chosen) in pts:
        if chosen:
            ax.scatter([np.log10(px) if logx else px], [np.log10(py) if logy else py], s=140, facecolors="none",
                       edgecolors="r", linewidths=1.8)
    ax.set_xlabel("log10 learning rate" if logx else "learning rate")
    ax.set_ylabel(("log10 " if logy else "") + k)
    ax.set_title("%s: %s (o: chosen)" % (TITLES.get(prob["problem"], prob["problem"]), opt["optimizer"]), fontsize=10)
    fig.colorbar(con, ax=ax).set_label("mean final %s" % opt["metric"])
    fig.tight_layout()
    save(fig, out_dir, "sensitivity_2d_%s_%s" % (prob["problem"], opt["optimizer"]))
    plt.close(fig)


def performance_profile(problems, out_dir):
    """Dolan-More profile of the speeds: rho_o(tau) = fraction of problems with speed_o <= tau * best speed."""
    import matplotlib.pyplot as plt
    speeds = {}
    probs = [p for p in problems if p.get("threshold") is not None]
    for p in probs:
        for o in p["optimizers"]:
            v, ch = o["speed"], o.get("chosen")
            n = len(next(iter(ch["curves"].values()))["mean"]) if ch and ch["curves"] else 0
            # AlgoPerf: a submission that never reaches the target scores infinity; DeepOBS's speed of a setting
            # none of whose seeds reached it is num_epochs + 1
            speeds.setdefault(o["optimizer"], {})[p["problem"]] = np.inf if v is None or v >= n else v
    if not probs or not speeds:
        return
    ratios = {}
    for p in probs:
        best = min(speeds[o].get(p["problem"], np.inf) for o in speeds)
        for o in speeds:
            v = speeds[o].get(p["problem"], np.inf)
            ratios.setdefault(o, []).append(v / best if np.isfinite(v) and best > 0 else (1.0 if v == 0 else np.inf))
    finite = [r for rs in ratios.values() for r in rs if np.isfinite(r)]
    tau_max = max(2.0, 1.1 * max(finite)) if finite else 2.0
    tau = np.linspace(1.0, tau_max, 400)
    fig, ax = plt.subplots(figsize=(5.6, 3.8))
    for o, rs in ratios.items():
        rs = np.array(rs)
        ax.step(tau, [(rs <= t).mean() for t in tau], where="post", label=o, linewidth=1.6)
    ax.set_xlabel("tau (speed relative to the fastest optimizer)")
    ax.set_ylabel("fraction of problems")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title("Performance profile over %d problem%s (speed to the threshold)" % (len(probs),
                 "" if len(probs) == 1 else "s"), fontsize=10)
    ax.grid(alpha=0.25)
    ax.legend(fontsize=8)
    fig.tight_layout()
    save(fig, out_dir, "performance_profile")
    plt.close(fig)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data", metavar="ANALYSIS.json")
    ap.add_argument("out_dir", metavar="OUT_DIR")
    ap.add_argument("--quartiles", action="store_true", help="median and quartiles instead of mean and std")
    a = ap.parse_args(argv)
    try:
        with open(a.data) as f:
            d = json.load(f)
    except (OSError, ValueError) as e:
        print("analyze_plots: %s: %s" % (a.data, e), file=sys.stderr)
        return 1
    if d.get("format") != "dob-analysis" or d.get("version") != 1:
        print("analyze_plots: %s is not a dob analysis file of version 1" % a.data, file=sys.stderr)
        return 1
    import matplotlib
    matplotlib.use("Agg")
    probs = {p["problem"]: p for p in d["problems"]}
    small = [probs[p] for p in SMALL if p in probs]
    large = [probs[p] for p in LARGE if p in probs]
    other = [p for p in d["problems"] if p["problem"] not in SMALL + LARGE]
    for group, name in ((small, "performance_small"), (large, "performance_large"), (other, "performance")):
        if group:
            performance_figure(group, name, a.out_dir, a.quartiles)
    sensitivity_figure(d["problems"], a.out_dir)
    for prob in d["problems"]:
        for opt in prob["optimizers"]:
            sensitivity_2d(prob, opt, a.out_dir)
    performance_profile(d["problems"], a.out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
