#!/usr/bin/python3
"""Check dob's imagenet_inception_v3 against PyTorch at the same weights and input.

usage: /usr/bin/python3 bench/torch_inception_check.py [BUILD=build] [batch=2]
Runs BUILD/bench/vgg_dump (which dumps any problem's initialised net, an input batch, its logits and gradients)
into a temporary directory, loads the parameters into bench/torch_ref.py's InceptionV3 (built from DeepOBS's
_inception_v3.py independently of problems/inception_v3.c; parameters in the same order and layouts) in float64
with TF1's legacy bilinear resize (bench/torch_vgg_check.py), and prints the largest relative differences of
 - the evaluation logits (batch norm with the initial moving statistics: mean 0, variance 1; dropout off),
 - the training logits (batch statistics; the dropout mask taken from dob's dropout output, survivors x 5),
 - every parameter gradient of vgg_dump's loss: mean softmax CE over the whole 2002-wide [main | aux] output row
   against class i % 2002 (not Inception's loss, but a function of every logit: it exercises every backward).
The same in PyTorch float32 shows how much float32 rounding alone moves the gradients: batch norm over 2 examples is
ill-conditioned (its backward removes each channel's mean of the gradient, a cancellation, and the aux head's BN at
1x1 normalises 2 values to nearly +-1), and ReLU kinks flip, so dob's float32 gradients differ from float64 by
about as much as PyTorch's float32 ones do. Exit status 1 if a logit difference exceeds 1e-4 relative (to the
tensor's largest magnitude), or dob's worst gradient difference to float64 exceeds twice PyTorch float32's (+1e-3).
Never run by CTest (it needs PyTorch); a development check.
"""
import os, subprocess, sys, tempfile
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_ref import InceptionV3  # noqa: E402
from torch_vgg_check import resize_tf1, rel  # noqa: E402


def read_index(d):
    index = []
    for line in open(os.path.join(d, "index.txt")):
        f = line.split()
        index.append((f[0], int(f[1]), [int(v) for v in f[3:3 + int(f[2])]]))
    return index


def load_model(d, index, dtype=torch.float64):
    m = InceptionV3(resize=lambda x: resize_tf1(x, 299, 299)).to(dtype)
    flat = np.fromfile(os.path.join(d, "params.bin"), dtype=np.float32)
    params, off = list(m.parameters()), 0
    assert len(params) == len(index), "%d torch parameters, %d dob tensors" % (len(params), len(index))
    with torch.no_grad():
        for q, (name, count, shape) in zip(params, index):
            assert list(q.shape) == shape, "%s: dob %s, torch %s" % (name, shape, list(q.shape))
            q.copy_(torch.from_numpy(flat[off:off + count].reshape(shape)))
            off += count
    return m


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([os.path.join(build, "bench", "vgg_dump"), "imagenet_inception_v3", d, str(n)], check=True)
        index = read_index(d)
        x = torch.from_numpy(np.fromfile(os.path.join(d, "x.bin"), dtype=np.float32)).reshape(n, 3, 224, 224)
        ev = np.fromfile(os.path.join(d, "logits_eval.bin"), dtype=np.float32).reshape(n, -1)
        tr = np.fromfile(os.path.join(d, "logits_train.bin"), dtype=np.float32).reshape(n, -1)
        mask = np.fromfile(os.path.join(d, "drop_1.bin"), dtype=np.float32).reshape(n, -1) != 0
        grads = np.fromfile(os.path.join(d, "grads.bin"), dtype=np.float32)
        m64, z_eval, z, loss = run(d, index, x.double(), mask, torch.float64)
        m32 = run(d, index, x, mask, torch.float32)[0]
        worst = {"logits (eval)": rel(ev, z_eval.numpy()), "logits (train)": rel(tr, z.detach().numpy())}
        off, gw = 0, [(0.0, ""), (0.0, ""), (0.0, "")]  # dob-torch64, dob-torch32, torch32-torch64
        for q64, q32, (name, count, _) in zip(m64.parameters(), m32.parameters(), index):
            g, g64, g32 = grads[off:off + count], q64.grad.numpy().ravel(), q32.grad.numpy().ravel()
            r = (rel(g, g64), rel(g, g32), rel(g32, g64))
            off += count
            if os.environ.get("VERBOSE"):
                print("  gradient %-40s dob-torch64 %.2e, dob-torch32 %.2e, torch32-torch64 %.2e" % ((name,) + r))
            gw = [max(w, (v, name)) for w, v in zip(gw, r)]
        print("imagenet_inception_v3 bs %d: %d parameter tensors, loss torch %.7f (float64)" % (n, len(index),
                                                                                             loss.item()))
        for what, r in worst.items():
            print("  %-50s max |dob - torch64| / max |torch64| = %.2e" % (what, r))
        for what, (r, name) in zip(("dob vs torch float64", "dob vs torch float32", "torch float32 vs float64"), gw):
            print("  gradients, %-26s worst %.2e (%s)" % (what, r, name))
        return 1 if max(worst.values()) > 1e-4 or gw[0][0] > 2 * gw[2][0] + 1e-3 else 0


def run(d, index, x, mask, dtype):
    """The model at dob's weights in dtype: evaluation logits, then a training forward (dob's dropout mask) and the
    backward of vgg_dump's loss. Returns the model (with .grad), the two logits and the loss."""
    m = load_model(d, index, dtype)
    m.eval()
    with torch.no_grad():
        z_eval = torch.cat(m(x), 1)
    m.train()
    drop = [i for i, layer in enumerate(m.top) if isinstance(layer, nn.Dropout)][0]
    m.top[drop] = MaskDropout(torch.from_numpy(mask).to(dtype).reshape(x.shape[0], -1, 1, 1) * 5.0)
    z = torch.cat(m(x), 1)
    loss = F.cross_entropy(z, torch.arange(x.shape[0]) % z.shape[1])
    loss.backward()
    return m, z_eval, z, loss


class MaskDropout(nn.Module):
    """Dropout with a given (scaled) mask: dob's counter-RNG mask."""
    def __init__(self, mask):
        super().__init__()
        self.mask = mask

    def forward(self, x):
        return x * self.mask


if __name__ == "__main__":
    sys.exit(main())
