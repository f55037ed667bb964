#!/usr/bin/python3
"""vae_grid.py: draw reconstructions and samples of a mnist_vae / fmnist_vae checkpoint as a PNG grid.

usage: tools/vae_grid.py CHECKPOINT.h5 OUT.png [--data_dir DIR] [--n 8] [--seed 0] [--mean] [--scale 3]

CHECKPOINT.h5 is a `dob run mnist_vae|fmnist_vae --checkpoint FILE` checkpoint (include/dob/checkpoint.h): with
--keep-checkpoint the finished run's final state, otherwise one written mid-run (a finished run removes it). The
script runs the VAE of problems/vae.c in numpy, independently of dob's oneDNN layers, on the first --n test
images of the data set (t10k-images-idx3-ubyte[.gz] in --data_dir; default: $DOB_DATA_DIR/fmnist, then the
Debian dataset-fashion-mnist location) and writes rows of
    originals | reconstructions (z sampled as DeepOBS does, or z = mean with --mean) | samples decoded from
    z ~ N(0, I)  (two rows)
as an 8-bit grey PNG, each pixel drawn --scale x --scale.

The checkpoint stores the parameters as one flat float32 array (dob's arena: tensors in the order the layers
reserve them, each starting at a multiple of 16 floats). The layout below is problems/vae.c's; a checkpoint of
any other net is refused because its size does not match. Needs numpy and h5py (Debian python3-numpy,
python3-h5py); the PNG is written with zlib, no plotting library.
"""
import argparse
import gzip
import os
import struct
import sys
import zlib

import numpy as np

# (name, shape) in reservation order (problems/vae.c): conv/deconv weights OC,IC,KH,KW, dense weights OUT,IN
LAYOUT = [
    ("encoder/conv1/weights", (64, 1, 4, 4)), ("encoder/conv1/bias", (64,)),
    ("encoder/conv2/weights", (64, 64, 4, 4)), ("encoder/conv2/bias", (64,)),
    ("encoder/conv3/weights", (64, 64, 4, 4)), ("encoder/conv3/bias", (64,)),
    ("encoder/mean/weights", (8, 3136)), ("encoder/mean/bias", (8,)),
    ("encoder/std_dev/weights", (8, 3136)), ("encoder/std_dev/bias", (8,)),
    ("decoder/dense1/weights", (24, 8)), ("decoder/dense1/bias", (24,)),
    ("decoder/dense2/weights", (49, 24)), ("decoder/dense2/bias", (49,)),
    ("decoder/deconv1/weights", (64, 1, 4, 4)), ("decoder/deconv1/bias", (64,)),
    ("decoder/deconv2/weights", (64, 64, 4, 4)), ("decoder/deconv2/bias", (64,)),
    ("decoder/deconv3/weights", (64, 64, 4, 4)), ("decoder/deconv3/bias", (64,)),
    ("decoder/out/weights", (784, 12544)), ("decoder/out/bias", (784,)),
]
N_PARAMS = 10151489


def die(msg):
    sys.exit("vae_grid: " + msg)


def load_params(path):
    try:
        import h5py
    except ImportError:
        die("needs h5py (apt-get install python3-h5py)")
    try:
        with h5py.File(path, "r") as f:
            if f.attrs.get("format") not in (b"dob-checkpoint", "dob-checkpoint"):
                die(f"{path}: not a dob checkpoint (attribute format = {f.attrs.get('format')!r})")
            flat = np.asarray(f["arena/params"], dtype=np.float32)
    except OSError as e:
        die(f"{path}: cannot read: {e}")
    p, off, count = {}, 0, 0
    for name, shape in LAYOUT:
        n = int(np.prod(shape))
        p[name] = flat[off:off + n].reshape(shape)
        count += n
        off = (off + n + 15) // 16 * 16
    if count != N_PARAMS or off != flat.size:
        die(f"{path}: {flat.size} floats of parameters, a mnist_vae/fmnist_vae arena has {off} "
            "(is this a checkpoint of another problem?)")
    return p


def load_images(data_dir, n):
    names = ["t10k-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte"]
    for name in names:
        path = os.path.join(data_dir, name)
        if os.path.exists(path):
            raw = (gzip.open if name.endswith(".gz") else open)(path, "rb").read()
            magic, count, rows, cols = struct.unpack(">IIII", raw[:16])
            if magic != 2051 or rows != 28 or cols != 28 or len(raw) != 16 + count * 784:
                die(f"{path}: not a 28x28 IDX image file (magic {magic}, {count}x{rows}x{cols})")
            x = np.frombuffer(raw, np.uint8, count=min(n, count) * 784, offset=16)
            return x.reshape(-1, 1, 28, 28).astype(np.float32) / 255.0
    die(f"no {names[0]} in {data_dir}: pass --data_dir (see README, data sets)")


def same_pad(size, k, s):
    """TF SAME convolution: output ceil(size/s), padding (top/left, bottom/right)."""
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return out, total // 2, total - total // 2


def conv(x, w, b, s):
    """TF SAME conv2d, NCHW x, OIHW w."""
    n, c, h, _ = x.shape
    k = w.shape[2]
    out, pl, pr = same_pad(h, k, s)
    xp = np.pad(x, ((0, 0), (0, 0), (pl, pr), (pl, pr)))
    y = np.zeros((n, w.shape[0], out, out), np.float64)
    for a in range(k):
        for e in range(k):
            patch = xp[:, :, a:a + s * (out - 1) + 1:s, e:e + s * (out - 1) + 1:s]
            y += np.einsum("nchw,oc->nohw", patch, w[:, :, a, e])
    return y + b[None, :, None, None]


def deconv(x, w, b, s):
    """TF SAME conv2d_transpose: output H*s; each input pixel scatters its kernel-weighted copy."""
    n, c, h, _ = x.shape
    k = w.shape[2]
    out = h * s
    pl = max((h - 1) * s + k - out, 0) // 2
    full = (h - 1) * s + k
    y = np.zeros((n, w.shape[0], full, full), np.float64)
    for a in range(k):
        for e in range(k):
            y[:, :, a:a + s * (h - 1) + 1:s, e:e + s * (h - 1) + 1:s] += np.einsum("nchw,oc->nohw", x, w[:, :, a, e])
    return y[:, :, pl:pl + out, pl:pl + out] + b[None, :, None, None]


def lrelu(x):
    return np.maximum(x, 0.3 * x)


def dense(x, p, name):
    return x @ p[name + "/weights"].T.astype(np.float64) + p[name + "/bias"]


def encode(p, x):
    for i, s in ((1, 2), (2, 2), (3, 1)):  # dropout is off outside training
        x = lrelu(conv(x, p[f"encoder/conv{i}/weights"], p[f"encoder/conv{i}/bias"], s))
    f = x.reshape(x.shape[0], -1)
    return dense(f, p, "encoder/mean"), 0.5 * dense(f, p, "encoder/std_dev")


def decode(p, z):
    x = lrelu(dense(lrelu(dense(z, p, "decoder/dense1")), p, "decoder/dense2")).reshape(-1, 1, 7, 7)
    for i, s in ((1, 2), (2, 1), (3, 1)):
        x = np.maximum(deconv(x, p[f"decoder/deconv{i}/weights"], p[f"decoder/deconv{i}/bias"], s), 0)
    y = dense(x.reshape(x.shape[0], -1), p, "decoder/out")
    return (1 / (1 + np.exp(-y))).reshape(-1, 28, 28)


def write_png(path, img):
    """8-bit greyscale PNG of a 2-D uint8 array."""
    h, w = img.shape
    rows = b"".join(b"\x00" + img[r].tobytes() for r in range(h))

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


def grid(rows, scale, gap=2):
    """rows: list of arrays [n, 28, 28] in [0, 1] -> one uint8 image, white gaps."""
    n = max(len(r) for r in rows)
    cell = 28 * scale + gap
    out = np.full((len(rows) * cell + gap, n * cell + gap), 255, np.uint8)
    for i, r in enumerate(rows):
        for j, im in enumerate(r):
            big = np.kron(np.clip(im, 0, 1), np.ones((scale, scale)))
            out[gap + i * cell:gap + i * cell + 28 * scale, gap + j * cell:gap + j * cell + 28 * scale] = \
                np.round(255 * (1 - big)).astype(np.uint8)  # dark garments on white
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("checkpoint")
    ap.add_argument("out")
    ap.add_argument("--data_dir", default=None)
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--mean", action="store_true", help="reconstruct from z = mean instead of a sample")
    ap.add_argument("--scale", type=int, default=3)
    a = ap.parse_args()
    if not 1 <= a.n <= 64 or not 1 <= a.scale <= 16:
        die(f"--n must be in 1..64 and --scale in 1..16, found {a.n} and {a.scale}")
    data_dir = a.data_dir
    if data_dir is None:
        env = os.environ.get("DOB_DATA_DIR")
        data_dir = os.path.join(env, "fmnist") if env else "/usr/share/datasets/fashion-mnist"
    p = load_params(a.checkpoint)
    x = load_images(data_dir, a.n)
    rng = np.random.default_rng(a.seed)
    mean, log_sigma = encode(p, x)
    z = mean if a.mean else mean + rng.standard_normal(mean.shape) * np.exp(log_sigma)
    recon = decode(p, z)
    samples = decode(p, rng.standard_normal((2 * a.n, 8)))
    loss = ((recon - x[:, 0]) ** 2).sum(axis=(1, 2)) - 0.5 * (1 + 2 * log_sigma - mean ** 2
                                                            - np.exp(2 * log_sigma)).sum(axis=1)
    write_png(a.out, grid([x[:, 0], recon, samples[:a.n], samples[a.n:]], a.scale))
    print(f"vae_grid: wrote {a.out}: {a.n} test images, their reconstructions (mean loss {loss.mean():.2f}), "
          f"{2 * a.n} samples")


if __name__ == "__main__":
    main()
