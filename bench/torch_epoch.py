#!/usr/bin/python3
"""PyTorch reference of a whole DeepOBS-protocol run, for bench/epoch.sh (issue 11: "the whole 1-epoch run").

usage: /usr/bin/python3 bench/torch_epoch.py PROBLEM DATA_DIR [epochs=1] [threads=2] [batch=128]
What `dob run PROBLEM -N epochs --optimizer momentum --lr 0.01` does on real (Fashion-)MNIST, as DeepOBS v1.1's
PyTorch runner would: read the gzip'd IDX files, pixels / 255; an evaluation round before training and after every
epoch (train_eval = the first 10 000 // batch batches of the shuffled training set, then test = 10 000 // batch
batches, model.eval() under torch.no_grad() at the training batch size, loss and accuracy); 60 000 // batch
training steps per epoch (drop_remainder) of momentum SGD (0.9). The nets are bench/torch_ref.py's.
Prints "torch-epoch PROBLEM: wall W s, train T s (S steps/s), eval E s". Run with Debian's OpenBLAS-openmp
(LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp), as bench/epoch.sh does.
"""
import gzip, os, sys, time
T0 = time.perf_counter()
import numpy as np
import torch
import torch.nn.functional as F
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_ref import net


def idx(path, images):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    if images:
        n, r, c = (int.from_bytes(raw[i:i + 4], "big") for i in (4, 8, 12))
        return np.frombuffer(raw, np.uint8, offset=16).reshape(n, 1, r, c).astype(np.float32) / 255.0
    return np.frombuffer(raw, np.uint8, offset=8).astype(np.int64)


def evaluate(m, x, y, bs, nb):
    m.eval()
    loss = acc = 0.0
    with torch.no_grad():
        for b in range(nb):
            o = m(x[b * bs:(b + 1) * bs])
            loss += F.cross_entropy(o, y[b * bs:(b + 1) * bs]).item()
            acc += (o.argmax(1) == y[b * bs:(b + 1) * bs]).float().mean().item()
    m.train()
    return loss / nb, acc / nb


def main():
    problem, data = sys.argv[1], sys.argv[2]
    epochs = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    threads = int(sys.argv[4]) if len(sys.argv) > 4 else 2
    bs = int(sys.argv[5]) if len(sys.argv) > 5 else 128
    torch.set_num_threads(threads)
    torch.manual_seed(42)
    rng = np.random.default_rng(42)
    xtr = torch.from_numpy(idx(os.path.join(data, "train-images-idx3-ubyte.gz"), True))
    ytr = torch.from_numpy(idx(os.path.join(data, "train-labels-idx1-ubyte.gz"), False))
    xte = torch.from_numpy(idx(os.path.join(data, "t10k-images-idx3-ubyte.gz"), True))
    yte = torch.from_numpy(idx(os.path.join(data, "t10k-labels-idx1-ubyte.gz"), False))
    m = net(problem)
    opt = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9)
    steps, nev = xtr.shape[0] // bs, 10000 // bs
    t_train = t_eval = 0.0
    perm = torch.from_numpy(rng.permutation(xtr.shape[0]))
    for ep in range(epochs + 1):
        t = time.perf_counter()
        xs, ys = xtr[perm[:nev * bs]], ytr[perm[:nev * bs]]
        ev = evaluate(m, xs, ys, bs, nev) + evaluate(m, xte, yte, bs, nev)
        t_eval += time.perf_counter() - t
        if ep == epochs:
            break
        t = time.perf_counter()
        perm = torch.from_numpy(rng.permutation(xtr.shape[0]))
        for s in range(steps):
            i = perm[s * bs:(s + 1) * bs]
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(m(xtr[i]), ytr[i])
            loss.backward()
            opt.step()
        t_train += time.perf_counter() - t
    print("torch-epoch %s: wall %.2f s, train %.2f s (%.2f steps/s), eval %.2f s; final test loss %.4f acc %.4f"
          % (problem, time.perf_counter() - T0, t_train, epochs * steps / t_train, t_eval, ev[2], ev[3]))


if __name__ == "__main__":
    main()
