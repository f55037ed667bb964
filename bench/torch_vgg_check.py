#!/usr/bin/python3
"""Check dob's VGG problems against PyTorch at the same weights, input and dropout masks.

usage: /usr/bin/python3 bench/torch_vgg_check.py [PROBLEM=cifar10_vgg16] [BUILD=build] [batch=2]
Runs BUILD/bench/vgg_dump (dob's initialised net, an input batch, its logits and gradients) into a temporary
directory, builds DeepOBS's TF VGG in PyTorch (float64, so only dob's float32 rounding shows) from the same
parameters, and prints the largest relative differences of the evaluation logits, the training logits (dropout
masks taken from dob's dropout outputs), the loss, and every parameter gradient against PyTorch in float32 (in
float64 a few pre-activations within 1e-6 of a ReLU kink change side, in PyTorch float32 exactly as in dob, and move
the gradients below them by ~1e-2: both are printed). The TF1 legacy bilinear resize
(src = dst * in / out, no half-pixel centres, upper neighbour clamped; the taps computed in float32 as TF does) is
written here with index gathers: PyTorch's own interpolate is half-pixel (align_corners=False) or corner-aligned.
Exit status 1 if any difference exceeds 1e-3 relative (to the largest magnitude of the tensor). VERBOSE=1 prints
every tensor's gradient differences.
"""
import os, subprocess, sys, tempfile
import numpy as np
import torch
import torch.nn.functional as F


def taps(n_in, n_out):
    """TF's legacy interpolation weights for one axis, in float32 like TF."""
    scale = np.float32(n_in) / np.float32(n_out)
    s = np.arange(n_out, dtype=np.float32) * scale
    lo = np.maximum(np.floor(s), 0).astype(np.int64)
    hi = np.minimum(np.ceil(s).astype(np.int64), n_in - 1)
    return torch.from_numpy(lo), torch.from_numpy(hi), torch.from_numpy((s - np.floor(s)).astype(np.float64))


def resize_tf1(x, oh, ow):
    ylo, yhi, yl = taps(x.shape[2], oh)
    xlo, xhi, xl = taps(x.shape[3], ow)
    top, bot = x[:, :, ylo, :], x[:, :, yhi, :]
    tl, tr, bl, br = top[..., xlo], top[..., xhi], bot[..., xlo], bot[..., xhi]
    t = tl + (tr - tl) * xl.to(x.dtype)
    b = bl + (br - bl) * xl.to(x.dtype)
    return t + (b - t) * yl[:, None].to(x.dtype)


def load(d, index, dtype=np.float64):
    flat = np.fromfile(os.path.join(d, "params.bin"), dtype=np.float32)
    out, off = {}, 0
    for name, count, shape in index:
        out[name] = torch.from_numpy(flat[off:off + count].reshape(shape).astype(dtype)).requires_grad_()
        off += count
    return out


def forward(p, x, variant, masks):
    h = resize_tf1(x, 224, 224) if x.shape[2] != 224 else x
    convs = [2, 2, 4, 4, 4] if variant == 19 else [2, 2, 3, 3, 3]
    for b, n in enumerate(convs):
        for i in range(n):
            name = "conv%d_%d" % (b + 1, i + 1)
            h = F.relu(F.conv2d(h, p[name + "/weights"], p[name + "/bias"], padding=1))  # 3x3/1 SAME: 1 each side
        h = F.max_pool2d(h, 2, 2)  # 2x2/2 SAME on even sizes: no padding
    h = h.flatten(1)  # c, h, w order, as dob's dense weights
    for i in (1, 2):
        h = F.relu(F.linear(h, p["fc_%d/weights" % i], p["fc_%d/bias" % i]))
        if masks is not None:
            h = h * masks[i - 1]
    return F.linear(h, p["fc_3/weights"], p["fc_3/bias"])


def rel(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-30))


def main():
    problem = sys.argv[1] if len(sys.argv) > 1 else "cifar10_vgg16"
    build = sys.argv[2] if len(sys.argv) > 2 else "build"
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    variant = 19 if problem.endswith("19") else 16
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([os.path.join(build, "bench", "vgg_dump"), problem, d, str(n)], check=True)
        index = []
        for line in open(os.path.join(d, "index.txt")):
            f = line.split()
            index.append((f[0], int(f[1]), [int(v) for v in f[3:3 + int(f[2])]]))
        p = load(d, index)
        x = torch.from_numpy(np.fromfile(os.path.join(d, "x.bin"), dtype=np.float32).astype(np.float64))
        x = x.reshape(n, 3, 32, 32) if not problem.startswith("imagenet") else x.reshape(n, 3, 224, 224)
        ev = np.fromfile(os.path.join(d, "logits_eval.bin"), dtype=np.float32).reshape(n, -1)
        tr = np.fromfile(os.path.join(d, "logits_train.bin"), dtype=np.float32).reshape(n, -1)
        masks = [torch.from_numpy(np.fromfile(os.path.join(d, "drop_%d.bin" % i), dtype=np.float32)
                                  .astype(np.float64).reshape(n, -1) != 0).double() * 2.0 for i in (1, 2)]
        grads = np.fromfile(os.path.join(d, "grads.bin"), dtype=np.float32)
        k = ev.shape[1]
        with torch.no_grad():
            z_eval = forward(p, x, variant, None)
        z = forward(p, x, variant, masks)
        loss = F.cross_entropy(z, torch.arange(n) % k)
        loss.backward()
        # the same in float32: how far float32 rounding alone moves the gradients (ReLU kinks, max-pool ties)
        p32 = load(d, index, np.float32)
        F.cross_entropy(forward(p32, x.float(), variant, [m.float() for m in masks]), torch.arange(n) % k).backward()
        worst = {"logits (eval)": rel(ev, z_eval.numpy()), "logits (train)": rel(tr, z.detach().numpy())}
        off, gworst, gname, info = 0, 0.0, "", [0.0, 0.0]
        for name, count, _ in index:
            g64, g32 = p[name].grad.numpy().ravel(), p32[name].grad.numpy().ravel()
            r, r64, r32 = rel(grads[off:off + count], g32), rel(grads[off:off + count], g64), rel(g32, g64)
            off += count
            info = [max(info[0], r64), max(info[1], r32)]
            if os.environ.get("VERBOSE"):
                print("  gradient %-20s dob-torch32 %.2e, dob-torch64 %.2e, torch32-torch64 %.2e" % (name, r, r64,
                                                                                                   r32))
            if r > gworst:
                gworst, gname = r, name
        worst["gradients vs torch float32 (worst: %s)" % gname] = gworst
        print("  against float64 the gradients differ by up to %.2e for dob and %.2e for torch float32: float32 "
              "rounding flips the same ReLU kinks in both" % tuple(info))
        print("%s bs %d: loss torch %.7f (float64), dob logits give %.7f" % (
            problem, n, loss.item(), F.cross_entropy(torch.from_numpy(tr.astype(np.float64)),
                                                     torch.arange(n) % k).item()))
        for what, r in worst.items():
            print("  %-40s max |dob - torch| / max |torch| = %.2e" % (what, r))
        return 1 if max(worst.values()) > 1e-3 else 0


if __name__ == "__main__":
    sys.exit(main())
