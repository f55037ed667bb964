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


def digits(rate):
    """decimals that give a steps/s rate >= 3 significant digits without an exponent (0.0949, not 0.09)"""
    return 2 if rate >= 10 else 3 if rate >= 1 else 4


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


def conv_bn(i, o, kh, kw=None, s=1, valid=False):
    """DeepOBS's conv2d_BN: conv (no bias) -> BN (TF momentum 0.9997 = PyTorch 0.0003, eps 1e-3) -> ReLU. Every
    SAME conv of Inception has stride 1 and odd kernels: symmetric padding, as TF's."""
    kw = kh if kw is None else kw
    pad = (0, 0) if valid else ((kh - 1) // 2, (kw - 1) // 2)
    return nn.Sequential(nn.Conv2d(i, o, (kh, kw), s, pad, bias=False), nn.BatchNorm2d(o, eps=1e-3, momentum=3e-4),
                         nn.ReLU())


def avg3():
    return nn.AvgPool2d(3, 1, 1, count_include_pad=False)  # TF SAME average: padding not counted


class Branches(nn.Module):
    """Parallel branches concatenated along channels (an Inception block, or block7's [1x3 || 3x1] split)."""
    def __init__(self, *branches):
        super().__init__()
        self.b = nn.ModuleList(branches)

    def forward(self, x):
        return torch.cat([b(x) for b in self.b], 1)


def block5(i, p):
    return Branches(conv_bn(i, 64, 1), nn.Sequential(avg3(), conv_bn(i, p, 1)),
                    nn.Sequential(conv_bn(i, 48, 1), conv_bn(48, 64, 5)),
                    nn.Sequential(conv_bn(i, 64, 1), conv_bn(64, 96, 3), conv_bn(96, 96, 3)))


def block6(n):
    return Branches(conv_bn(768, 192, 1), nn.Sequential(avg3(), conv_bn(768, 192, 1)),
                    nn.Sequential(conv_bn(768, n, 1), conv_bn(n, n, 1, 7), conv_bn(n, 192, 7, 1)),
                    nn.Sequential(conv_bn(768, n, 1), conv_bn(n, n, 7, 1), conv_bn(n, n, 1, 7), conv_bn(n, n, 7, 1),
                                  conv_bn(n, 192, 1, 7)))


def block7(i):
    def split():
        return Branches(conv_bn(384, 384, 1, 3), conv_bn(384, 384, 3, 1))
    return Branches(conv_bn(i, 320, 1), nn.Sequential(conv_bn(i, 384, 1), split()),
                    nn.Sequential(conv_bn(i, 448, 1), conv_bn(448, 384, 3), split()),
                    nn.Sequential(avg3(), conv_bn(i, 192, 1)))


class InceptionV3(nn.Module):
    """DeepOBS's _inception_v3.py (section 3.8), as problems/inception_v3.c builds it; returns (main, aux) logits.
    The resize is PyTorch's bilinear (half-pixel centres) unless given (bench/torch_inception_check.py passes TF1's
    legacy mapping): the same work either way. Parameters are created in dob's arena order."""
    def __init__(self, classes=1001, resize=None):
        super().__init__()
        self.resize = resize or (lambda x: F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False))
        mp = nn.MaxPool2d(3, 2)
        self.body = nn.Sequential(
            conv_bn(3, 32, 3, s=2, valid=True), conv_bn(32, 32, 3, valid=True), conv_bn(32, 64, 3), mp,
            conv_bn(64, 80, 1, valid=True), conv_bn(80, 192, 3, valid=True), mp,
            block5(192, 32), block5(256, 64), block5(288, 64),
            Branches(mp, conv_bn(288, 384, 3, s=2, valid=True),
                     nn.Sequential(conv_bn(288, 64, 1), conv_bn(64, 96, 3), conv_bn(96, 96, 3, s=2, valid=True))),
            block6(128), block6(160), block6(160), block6(192))
        self.aux = nn.Sequential(nn.AvgPool2d(5, 3), conv_bn(768, 128, 1), conv_bn(128, 768, 5, valid=True),
                                 nn.Flatten(), nn.Linear(768, classes))
        self.top = nn.Sequential(
            Branches(mp, nn.Sequential(conv_bn(768, 192, 1), conv_bn(192, 192, 1, 7), conv_bn(192, 192, 7, 1),
                                       conv_bn(192, 192, 3, s=2, valid=True)),
                     nn.Sequential(conv_bn(768, 192, 1), conv_bn(192, 320, 3, s=2, valid=True))),
            block7(1280), block7(2048), nn.AvgPool2d(8), nn.Dropout(0.8), nn.Flatten(), nn.Linear(2048, classes))

    def forward(self, x):
        h = self.body(self.resize(x))
        return self.top(h), self.aux(h)


def vgg(units, classes):
    """DeepOBS's VGG on 224x224 inputs (ImageNet: no resize needed): 3x3 SAME convs with ReLU in 5 blocks of
    `units`, 2x2 max pooling after each, fc 4096, dropout 0.5, fc 4096, dropout 0.5, fc classes. VGG16 with 1001
    classes: 138 361 641 parameters, as DeepOBS's."""
    layers, i = [], 3
    for n, o in zip(units, (64, 128, 256, 512, 512)):
        for _ in range(n):
            layers += [nn.Conv2d(i, o, 3, padding=1), nn.ReLU()]
            i = o
        layers.append(nn.MaxPool2d(2, 2))
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(25088, 4096), nn.ReLU(), nn.Dropout(0.5),
                         nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(0.5), nn.Linear(4096, classes))


def net(problem):
    if problem == "imagenet_inception_v3":
        return InceptionV3()
    if problem in ("imagenet_vgg16", "imagenet_vgg19"):
        return vgg((2, 2, 3, 3, 3) if problem.endswith("16") else (2, 2, 4, 4, 4), 1001)
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


def loss_of(problem, out, y):
    """Mean loss of a batch: Inception's is smoothed CE of main + 0.4 x aux (DeepOBS, phase "train")."""
    if problem == "imagenet_inception_v3":
        main, aux = out
        return (F.cross_entropy(main, y, label_smoothing=0.1) + 0.4 * F.cross_entropy(aux, y, label_smoothing=0.1))
    return F.cross_entropy(out, y)


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
    imagenet = problem.startswith("imagenet")
    x = torch.rand(bs, 3, 224, 224) if imagenet else torch.rand(bs, 3, 32, 32) if rgb else torch.rand(bs, 1, 28, 28)
    y = torch.arange(bs) % 10
    ts = []
    for s in range(warm + steps):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = loss_of(problem, m(x), y)
        loss.backward()
        opt.step()
        t1 = time.perf_counter()
        if s >= warm:
            ts.append(t1 - t0)
    ts.sort()
    med = ts[len(ts) // 2]
    print("torch %s%s bs %d threads %d: %.*f steps/s (median step %.2f ms, min %.2f ms)"
          % (problem, " bf16" if bf16 else "", bs, threads, digits(1.0 / med), 1.0 / med, 1e3 * med, 1e3 * ts[0]))


if __name__ == "__main__":
    main()
