#!/usr/bin/env python3
"""gen_cifar.py DIR [N_PER_FILE] [--cifar100 | --svhn | --svhn-mat]: write a CIFAR-10 (or CIFAR-100) tree in
exactly the official binary layout of the archives (DIR/cifar-10-batches-bin/data_batch_1..5.bin + test_batch.bin, or
DIR/cifar-100-binary/train.bin + test.bin), or SVHN as DeepOBS prepares it (DIR/svhn/data_batch_0..2.bin, the last
half full, + test_batch.bin, images H,W,C), or SVHN's official DIR/svhn/train_32x32.mat (3 N) + test_32x32.mat (N)
through scipy.io.savemat (MATLAB level 5, compressed; X uint8 32x32x3xN, y double Nx1, 10 for digit 0), with a
learnable pattern: class c is a horizontal sine wave of c + 1 cycles per image height (unchanged by crops, flips and
colour jitter up to its phase and contrast) plus uniform noise. Records: label byte(s), then 1024 R, 1024 G, 1024 B
bytes, row-major. Pure standard library (numpy and scipy for --svhn-mat), deterministic."""
import math, os, random, sys

def image(c, rnd):
    phase = rnd.random() * 2 * math.pi
    amp = 60 + 40 * rnd.random()
    rows = [128 + amp * math.sin(2 * math.pi * (c % 10 + 1) * y / 32 + phase) for y in range(32)]
    out = bytearray(3072)
    for ch in range(3):
        tint = rnd.uniform(-30, 30)
        for y in range(32):
            base = rows[y] + tint
            for x in range(32):
                v = base + rnd.uniform(-40, 40)
                out[ch * 1024 + y * 32 + x] = max(0, min(255, int(v)))
    return out

def write(path, n, classes, seed, hwc=False):
    rnd = random.Random(seed)
    with open(path, "wb") as f:
        for i in range(n):
            c = rnd.randrange(classes)
            head = bytes([c]) if classes == 10 else bytes([c // 5, c])
            img = image(c, rnd)
            if hwc:  # DeepOBS's SVHN records: H, W, C interleaved
                img = bytes(img[ch * 1024 + p] for p in range(1024) for ch in range(3))
            f.write(head + img)

def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    c100 = "--cifar100" in sys.argv
    root, n = args[0], int(args[1]) if len(args) > 1 else 1000
    if "--svhn-mat" in sys.argv:  # the official train_32x32.mat / test_32x32.mat, written by scipy
        import numpy as np, scipy.io
        d = os.path.join(root, "svhn")
        os.makedirs(d, exist_ok=True)
        for name, count, seed in (("train", 3 * n, 10), ("test", n, 98)):
            rnd = random.Random(seed)
            labels, imgs = [], []
            for i in range(count):
                c = rnd.randrange(10)
                labels.append(c if c else 10)  # the official files say 10 for digit 0
                imgs.append(np.frombuffer(image(c, rnd), np.uint8).reshape(3, 32, 32).transpose(1, 2, 0))
            X = np.stack(imgs, axis=3)  # 32 x 32 x 3 x N, as MATLAB's X(row, column, channel, example)
            y = np.array(labels, np.float64).reshape(-1, 1)  # class double, as the official y
            scipy.io.savemat(os.path.join(d, name + "_32x32.mat"), {"X": X, "y": y}, format="5",
                             do_compression=True)
    elif "--svhn" in sys.argv:
        d = os.path.join(root, "svhn")
        os.makedirs(d, exist_ok=True)
        for k in range(3):
            write(os.path.join(d, "data_batch_%d.bin" % k), n if k < 2 else n // 2, 10, 10 + k, hwc=True)
        write(os.path.join(d, "test_batch.bin"), n, 10, 98, hwc=True)
    elif c100:
        d = os.path.join(root, "cifar-100-binary")
        os.makedirs(d, exist_ok=True)
        write(os.path.join(d, "train.bin"), 5 * n, 100, 1)
        write(os.path.join(d, "test.bin"), n, 100, 2)
    else:
        d = os.path.join(root, "cifar-10-batches-bin")
        os.makedirs(d, exist_ok=True)
        for k in range(1, 6):
            write(os.path.join(d, "data_batch_%d.bin" % k), n, 10, k)
        write(os.path.join(d, "test_batch.bin"), n, 10, 99)

main()
