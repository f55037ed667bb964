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


def net(problem):
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
    opt = torch.optim.SGD(m.parameters(), lr=1e-3)
    x = torch.rand(bs, 1, 28, 28)
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
