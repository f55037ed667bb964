#!/usr/bin/python3
"""PyTorch reference of the DeepOBS nets dob benchmarks (same architecture, batch, loss, SGD step).

usage: /usr/bin/python3 bench/torch_ref.py PROBLEM [batch=128] [steps=30] [warmup=5] [threads=2] [--bf16]
Prints: "torch PROBLEM [bf16] bs B threads T: S steps/s (median step M ms)". --bf16: forward and loss under
torch.autocast("cpu", dtype=torch.bfloat16) (PyTorch's CPU mixed precision: bf16 convolutions and linear layers,
f32 weights, gradients and SGD), the counterpart of dob's --precision bf16. Run it with Debian's OpenBLAS-openmp
(LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp): the reference BLAS makes torch 10x slower
(../shared/reference/toolchain.md section 6); bench/compare.sh does this.
"""
import sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F


class TFSamePad(nn.Module):
    """TF 'SAME' padding for stride-1 odd kernels: symmetric."""
    def __init__(self, k):
        super().__init__()
        self.p = (k - 1) // 2

    def forward(self, x):
        return F.pad(x, (self.p, self.p, self.p, self.p))


class PadBR(nn.Module):
    """TF 'SAME' padding of a stride-2 layer on an even size: 0 top/left, 1 bottom/right (value for max-pool)."""
    def __init__(self, value=0.0):
        super().__init__()
        self.value = value

    def forward(self, x):
        return F.pad(x, (0, 1, 0, 1), value=self.value)


def c3c3d(classes):
    return nn.Sequential(
        nn.Conv2d(3, 64, 5), nn.ReLU(), PadBR(-float("inf")), nn.MaxPool2d(3, 2),
        nn.Conv2d(64, 96, 3), nn.ReLU(), PadBR(-float("inf")), nn.MaxPool2d(3, 2),
        nn.Conv2d(96, 128, 3, padding=1), nn.ReLU(), PadBR(-float("inf")), nn.MaxPool2d(3, 2),
        nn.Flatten(), nn.Linear(1152, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, classes))


def allcnnc():
    def c(i, o, k=3, s=1, pad=1):
        return [PadBR(), nn.Conv2d(i, o, 3, 2), nn.ReLU()] if s == 2 else [nn.Conv2d(i, o, k, padding=pad), nn.ReLU()]
    return nn.Sequential(
        nn.Dropout(0.2), *c(3, 96), *c(96, 96), *c(96, 96, s=2), nn.Dropout(0.5),
        *c(96, 192), *c(192, 192), *c(192, 192, s=2), nn.Dropout(0.5),
        *c(192, 192, pad=0), *c(192, 192, k=1, pad=0), *c(192, 100, k=1, pad=0),
        nn.AdaptiveAvgPool2d(1), nn.Flatten())


class WRNUnit(nn.Module):
    """Pre-activation unit of DeepOBS's WRN (section 3.7): first units project the pre-activated input."""
    def __init__(self, i, o, s, first):
        super().__init__()
        self.first = first
        self.bn1, self.bn2 = nn.BatchNorm2d(i, momentum=0.1, eps=1e-5), nn.BatchNorm2d(o, momentum=0.1, eps=1e-5)
        self.pad = PadBR() if s == 2 else None
        self.c1 = nn.Conv2d(i, o, 3, s, padding=0 if s == 2 else 1, bias=False)
        self.c2 = nn.Conv2d(o, o, 3, 1, padding=1, bias=False)
        self.proj = nn.Conv2d(i, o, 1, s, bias=False) if first else None

    def forward(self, x):
        a = F.relu(self.bn1(x))
        short = self.proj(a) if self.first else x
        h = self.c1(self.pad(a) if self.pad else a)
        return self.c2(F.relu(self.bn2(h))) + short


def wrn(n_units, k, classes):
    f = [16, 16 * k, 32 * k, 64 * k]
    layers = [nn.Conv2d(3, 16, 3, padding=1, bias=False)]
    for g, s in zip(range(3), (1, 2, 2)):
        layers += [WRNUnit(f[g], f[g + 1], s, True)] + [WRNUnit(f[g + 1], f[g + 1], 1, False)
                                                         for _ in range(n_units - 1)]
    layers += [nn.BatchNorm2d(f[3]), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(f[3], classes)]
    return nn.Sequential(*layers)


def net(problem):
    if problem.endswith("3c3d"):
        return c3c3d(100 if problem.startswith("cifar100") else 10)
    if problem == "cifar100_allcnnc":
        return allcnnc()
    if problem == "svhn_wrn164":
        return wrn(2, 4, 10)
    if problem == "cifar100_wrn404":
        return wrn(6, 4, 100)
    if problem.endswith("2c2d"):
        return nn.Sequential(
            nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2, 2),
            nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2, 2),
            nn.Flatten(), nn.Linear(3136, 1024), nn.ReLU(), nn.Linear(1024, 10))
    if problem.endswith("mlp"):
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 1000), nn.ReLU(), nn.Linear(1000, 500), nn.ReLU(),
                             nn.Linear(500, 100), nn.ReLU(), nn.Linear(100, 10))
    if problem.endswith("logreg"):
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    raise SystemExit("unknown problem " + problem)


def main():
    a = [x for x in sys.argv[1:] if x != "--bf16"]
    bf16 = "--bf16" in sys.argv[1:]
    problem = a[0]
    bs = int(a[1]) if len(a) > 1 else 128
    steps = int(a[2]) if len(a) > 2 else 30
    warm = int(a[3]) if len(a) > 3 else 5
    threads = int(a[4]) if len(a) > 4 else 2
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    m = net(problem)
    m.train()
    opt = torch.optim.SGD(m.parameters(), lr=1e-3)
    rgb = problem.startswith(("cifar", "svhn"))
    x = torch.rand(bs, 3, 32, 32) if rgb else torch.rand(bs, 1, 28, 28)
    y = torch.arange(bs) % 10
    ts = []
    for s in range(warm + steps):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        if bf16:
            with torch.autocast("cpu", dtype=torch.bfloat16):
                loss = F.cross_entropy(m(x), y)
        else:
            loss = F.cross_entropy(m(x), y)
        loss.backward()
        opt.step()
        t1 = time.perf_counter()
        if s >= warm:
            ts.append(t1 - t0)
    ts.sort()
    med = ts[len(ts) // 2]
    print("torch %s%s bs %d threads %d: %.2f steps/s (median step %.2f ms, min %.2f ms)"
          % (problem, " bf16" if bf16 else "", bs, threads, 1.0 / med, 1e3 * med, 1e3 * ts[0]))


if __name__ == "__main__":
    main()
