#!/usr/bin/python3
"""PyTorch references of fmnist_vae and tolstoi_char_rnn training steps, for bench/seq.sh (issue 16's benchmarks).

usage: /usr/bin/python3 bench/torch_seq.py vae|char_rnn [steps=40] [warmup=5] [threads=2]
vae:      DeepOBS's VAE (deepobs.md 3.9: encoder 3 convs 4x4/64 with leaky ReLU 0.3 and dropout 0.2, dense 3136->8
          mean and log-sigma, z = mean + eps exp(s), decoder 8->24->49, 3 transposed convs 4x4/64, dense
          12544->784 sigmoid; loss = summed squared error + KL, mean over the batch), batch 64, SGD.
          TF's SAME transposed convolutions of stride 1 are padding 1 plus a crop of one row and column here.
char_rnn: DeepOBS's char-RNN (3.10: embedding 83x128, 2 LSTM layers of 128 with dropout 0.2 on their inputs and
          outputs, dense 128->83, softmax cross-entropy over 50 steps), batch 50, sequence 50, the (h, c) state
          carried between batches, SGD.
Prints "torch PROBLEM bs B threads T: S steps/s (median step M ms, min m ms)". Run with Debian's OpenBLAS-openmp
(LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp), as bench/seq.sh does.
"""
import sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F


class VAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1, self.c2 = nn.Conv2d(1, 64, 4, 2, 1), nn.Conv2d(64, 64, 4, 2, 1)
        self.c3 = nn.Conv2d(64, 64, 4, 1)
        self.mean, self.s = nn.Linear(3136, 8), nn.Linear(3136, 8)
        self.d1, self.d2 = nn.Linear(8, 24), nn.Linear(24, 49)
        self.t1 = nn.ConvTranspose2d(1, 64, 4, 2, 1)
        self.t2, self.t3 = nn.ConvTranspose2d(64, 64, 4, 1, 1), nn.ConvTranspose2d(64, 64, 4, 1, 1)
        self.out = nn.Linear(12544, 784)

    def forward(self, x):
        lr = lambda v: F.leaky_relu(v, 0.3)
        h = F.dropout(lr(self.c1(x)), 0.2, self.training)
        h = F.dropout(lr(self.c2(h)), 0.2, self.training)
        h = F.dropout(lr(self.c3(F.pad(h, (1, 2, 1, 2)))), 0.2, self.training).flatten(1)
        mean, s = self.mean(h), 0.5 * self.s(h)
        z = mean + torch.randn_like(mean) * torch.exp(s)
        d = lr(self.d2(lr(self.d1(z)))).view(-1, 1, 7, 7)
        d = F.dropout(F.relu(self.t1(d)), 0.2, self.training)
        d = F.dropout(F.relu(self.t2(d)[:, :, :14, :14]), 0.2, self.training)
        d = F.relu(self.t3(d)[:, :, :14, :14]).flatten(1)
        xh = torch.sigmoid(self.out(d))
        recon = ((xh - x.flatten(1)) ** 2).sum(1)
        kl = -0.5 * (1 + 2 * s - mean ** 2 - torch.exp(2 * s)).sum(1)
        return (recon + kl).mean()


class CharRNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(83, 128)
        self.l1, self.l2 = nn.LSTM(128, 128, batch_first=True), nn.LSTM(128, 128, batch_first=True)
        self.out = nn.Linear(128, 83)

    def forward(self, x, y, state):
        d = lambda v: F.dropout(v, 0.2, self.training)
        h, s1 = self.l1(d(self.emb(x)), state[0])
        h, s2 = self.l2(d(d(h)), state[1])
        logits = self.out(d(h))
        return F.cross_entropy(logits.reshape(-1, 83), y.reshape(-1)), (s1, s2)


def digits(rate):
    """decimals that give a steps/s rate >= 3 significant digits without an exponent (0.0949, not 0.09)"""
    return 2 if rate >= 10 else 3 if rate >= 1 else 4


def main():
    problem = sys.argv[1]
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 40
    warm = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    threads = int(sys.argv[4]) if len(sys.argv) > 4 else 2
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    if problem == "vae":
        m, bs = VAE(), 64
        x = torch.rand(bs, 1, 28, 28)
        step_loss = lambda: m(x)
    elif problem == "char_rnn":
        m, bs = CharRNN(), 50
        x, y = torch.randint(0, 83, (bs, 50)), torch.randint(0, 83, (bs, 50))
        z = lambda: (torch.zeros(1, bs, 128), torch.zeros(1, bs, 128))
        st = [(z(), z())]

        def step_loss():
            loss, s = m(x, y, st[0])
            st[0] = tuple(tuple(t.detach() for t in p) for p in s)  # truncated BPTT: carry, no gradient
            return loss
    else:
        raise SystemExit("unknown problem " + problem)
    opt = torch.optim.SGD(m.parameters(), lr=1e-3)
    ts = []
    for s in range(warm + steps):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        step_loss().backward()
        opt.step()
        if s >= warm:
            ts.append(time.perf_counter() - t0)
    ts.sort()
    med = ts[len(ts) // 2]
    print("torch %s bs %d threads %d: %.*f steps/s (median step %.2f ms, min %.2f ms)"
          % (problem, bs, threads, digits(1.0 / med), 1.0 / med, 1e3 * med, 1e3 * ts[0]))


if __name__ == "__main__":
    main()
