#!/usr/bin/env bash
# make_seeds.sh DOB FUZZ_CHECKPOINT: (re)make the seed corpora of tests/fuzz/corpus/ from real files: small IDX
# files (raw and gzip), dob run and dob sweep result files of fmnist_logreg (needs Fashion-MNIST), and
# checkpoints written by the harness itself through dob_checkpoint_save, tiny JPEGs and TFRecord shards (PIL). Rerun after a file format changes.
set -euo pipefail
DOB=$(realpath "${1:?usage: make_seeds.sh path/to/dob path/to/fuzz_checkpoint}")
FZ=$(realpath "${2:?usage: make_seeds.sh path/to/dob path/to/fuzz_checkpoint}")
C=$(cd "$(dirname "$0")" && pwd)/corpus
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rm -rf "$C"; mkdir -p "$C"/{idx,mnist,cifar,results,checkpoint,tolstoi,svhn_mat,sweep_spec,imagenet}

# sweep_spec: byte 0 = number of hyperparameter names - 1 (fuzz_sweep_spec.c), then the spec as dob writes it
S="$C/sweep_spec"
printf '\x01learning_rate=loguniform:1e-3:1;momentum=uniform:0.5:0.99;samples=4;sample_seed=5;seeds=42:43' > "$S/search_2"
printf '\x01learning_rate=log:1e-3:1:4;momentum=0.90000000000000002;seeds=42:44' > "$S/grid_2"
printf '\x00learning_rate=lin:0.1:0.5:3;seeds=1,5,9' > "$S/lin_1"
printf '\x03learning_rate=loguniform:1e-5:1e-1;momentum=0.9;beta1=uniform:0.8:0.95;beta2=0.999,0.99;seeds=1' > "$S/mixed_4"
printf '\x03learning_rate=loguniform:1e-5:1e-1;momentum=0.9;beta1=uniform:0.8:0.95;beta2=0.999;samples=3;sample_seed=0;seeds=1' > "$S/search_4"

/usr/bin/python3 - "$C" <<'PY'
import gzip, struct, sys
c = sys.argv[1]
def idx(dims, payload):
    return bytes([0, 0, 8, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + payload
img = idx([3, 28, 28], bytes((i * 7) % 256 for i in range(3 * 28 * 28)))
lab = idx([3], bytes([0, 9, 4]))
small = idx([2, 2, 3], bytes(range(12)))
for name, body in [("labels", lab), ("images", img), ("small4d", idx([1, 2, 2, 2], bytes(8)))]:
    open(f"{c}/idx/raw_{name}", "wb").write(b"\0" + body)            # raw IDX
    open(f"{c}/idx/gzfile_{name}", "wb").write(b"\0" + gzip.compress(body))  # a .gz stream, mutated as it is
    open(f"{c}/idx/zip_{name}", "wb").write(b"\1" + body)            # the harness gzips it
open(f"{c}/idx/raw_small", "wb").write(b"\0" + small)
open(f"{c}/mnist/train3", "wb").write(struct.pack("<I", len(img)) + img + lab)
def rec(label_bytes, k):
    return bytes(label_bytes) [:0] + bytes([k % 10] * label_bytes) + bytes((i * 13 + k) % 256 for i in range(3072))
open(f"{c}/cifar/c10_test", "wb").write(b"\0" + rec(1, 3) + rec(1, 7))
open(f"{c}/cifar/c10_train", "wb").write(b"\2" + b"".join(rec(1, k) for k in range(5)))
open(f"{c}/cifar/c100_test", "wb").write(b"\1" + rec(2, 1) + rec(2, 9))
open(f"{c}/cifar/c100_train_fix", "wb").write(b"\7" + rec(2, 4))
# tolstoi: byte 0 picks the reader (fuzz_tolstoi.c); .npy as numpy writes them, vocab pickles of protocols 2-4
import io, pickle
import numpy as np
t = f"{c}/tolstoi"
chars = (" ", "a", "b", "\u00e4", "c", "\n", "\u20ac", "!")
ids = [1, 2, 0, 2, 1, 3, 4, 5]
for dt, name in (("<i8", "npy_i8"), (">i2", "npy_i2_be"), ("u1", "npy_u1")):
    bio = io.BytesIO(); np.save(bio, np.array(ids, dtype=dt)); open(f"{t}/{name}", "wb").write(b"\0" + bio.getvalue())
bio = io.BytesIO(); np.save(bio, np.array(ids, dtype="<i8")); open(f"{t}/dir_npy", "wb").write(b"\3" + bio.getvalue())
for p in (2, 3, 4):
    open(f"{t}/pkl_p{p}", "wb").write(b"\1" + pickle.dumps(chars, protocol=p))
open(f"{t}/text", "wb").write(b"\2" + "ab ba\u00e4c\n b\u00e4a  \u00e4\u20ac!".encode())
PY

# svhn_mat: byte 0 bit 0 = through dob_svhn_load; MAT-files as scipy.io.savemat writes them (compressed and not)
# and as MATLAB writes the official ones (small-element names, y class double stored as uint8, each variable
# compressed), and uncompressed with y first
/usr/bin/python3 - "$C/svhn_mat" <<'PY'
import io, sys, struct, zlib
import numpy as np, scipy.io
c = sys.argv[1]
n = 2
X = (np.arange(32 * 32 * 3 * n).reshape(32, 32, 3, n) * 7 % 256).astype(np.uint8)
y = np.array([[10], [3]], np.float64)
def sav(prefix, name, **kw):
    b = io.BytesIO(); scipy.io.savemat(b, kw.pop("vars"), format="5", **kw); open(f"{c}/{name}", "wb").write(prefix + b.getvalue())
for p in (b"\0", b"\1"):
    tag = "svhn" if p == b"\1" else "mat"
    sav(p, f"{tag}_scipy_compressed", vars={"X": X, "y": y}, do_compression=True)
    sav(p, f"{tag}_scipy_plain", vars={"X": X, "y": y.astype(np.uint8)}, do_compression=False)
def el(t, data):
    if len(data) <= 4: return struct.pack("<I", t | len(data) << 16) + data.ljust(4, b"\0")
    return struct.pack("<II", t, len(data)) + data + b"\0" * ((8 - len(data) % 8) % 8)
def matrix(name, cls, dims, t, data):
    body = el(6, struct.pack("<II", cls, 0)) + el(5, struct.pack("<%di" % len(dims), *dims)) + el(1, name) + el(t, data)
    return struct.pack("<II", 14, len(body)) + body
head = b"MATLAB 5.0 MAT-file, Platform: GLNXA64, Created on: Mon Dec  5 16:37:09 2011".ljust(116) + b"\0" * 8 + b"\0\1IM"
xm = matrix(b"X", 9, [32, 32, 3, n], 2, X.tobytes(order="F"))
ym = matrix(b"y", 6, [n, 1], 2, bytes([10, 3]))
z = b"".join(struct.pack("<II", 15, len(zlib.compress(m))) + zlib.compress(m) for m in (xm, ym))
open(f"{c}/svhn_matlab_style", "wb").write(b"\1" + head + z)
open(f"{c}/mat_matlab_style", "wb").write(b"\0" + head + z)
open(f"{c}/mat_matlab_plain", "wb").write(b"\0" + head + ym + xm)
PY

# imagenet: byte 0 = mode and flags (fuzz_imagenet.c); 16x12 JPEGs as PIL writes them (baseline, progressive,
# greyscale, Adobe CMYK, truncated) alone and as tf.train.Example records framed by tests/gen_imagenet.py's writers
/usr/bin/python3 -B - "$C/imagenet" "$C/../.." <<'PY'
import io, sys
from PIL import Image, ImageDraw
c = sys.argv[1]
sys.path.insert(0, sys.argv[2])
from gen_imagenet import example, record
img = Image.new("RGB", (16, 12), (40, 90, 200))
ImageDraw.Draw(img).ellipse([2, 1, 11, 9], fill=(250, 200, 30))
def jpeg(kind):
    b = io.BytesIO()
    {"rgb": lambda: img.save(b, "JPEG", quality=75), "progressive": lambda: img.save(b, "JPEG", quality=75, progressive=True),
     "grey": lambda: img.convert("L").save(b, "JPEG", quality=75),
     "cmyk": lambda: img.convert("CMYK").save(b, "JPEG", quality=75)}[kind]()
    return b.getvalue()
J = {k: jpeg(k) for k in ("rgb", "progressive", "grey", "cmyk")}
J["corrupt"] = J["rgb"][: len(J["rgb"]) // 2]
def save(name, flags, body):
    open(f"{c}/{name}", "wb").write(bytes([flags]) + body)
for k in ("rgb", "progressive", "grey", "cmyk"):
    save(f"jpeg_{k}", 1, J[k])                       # mode 1: decode
    save(f"pre_{k}", 2 | (4 if k == "rgb" else 0), J[k])  # mode 2: preprocess (augmented for rgb)
p = bytearray(J["progressive"]); sof = p.find(b"\xff\xc2")  # SOF2 claiming 60000 x 60000: must be refused
p[sof + 5:sof + 9] = (60000).to_bytes(2, "big") * 2       # before libjpeg reads the scans (io/jpeg.c)
save("pre_progressive_60k", 2, bytes(p))
recs = [record(example(J[k], lab, b"n01440764", 12, 16, lab % 2 == 0))
        for k, lab in (("rgb", 1), ("grey", 2), ("progressive", 1000), ("cmyk", 3), ("corrupt", 4))]
save("records", 0, recs[0] + recs[1])                # mode 0: framing, Example, decode
save("records_fix", 8, recs[2] + recs[3])            # mode 0, CRCs rewritten by the harness
save("shard", 3, b"".join(recs))                     # mode 3: the data set, 1 thread
save("shard_all_flags", 0x3F, b"".join(recs))        # augment, fix CRCs, 2 threads, valid split
bad = bytearray(recs[0]); bad[-1] ^= 1               # a data CRC broken: skipped at read time
save("shard_bad_crc", 3, bytes(bad) + recs[1])
PY

cd "$work"
"$DOB" run fmnist_logreg --optimizer momentum --lr 0.1 -N 1 --max_steps 3 --no_json --quiet --out run.h5 >/dev/null
"$DOB" sweep fmnist_logreg --optimizer sgd --lr 0.01,0.1 -N 1 --max_steps 2 --quiet --out sweep.h5 >/dev/null
"$DOB" sweep fmnist_logreg --optimizer sgd --lr 0.01,0.1 -N 1 --max_steps 2 --quiet --trials 1:1 --out part.h5 >/dev/null
# a random search (issue 18): its sweep_spec has distributions, samples and sample_seed
"$DOB" sweep fmnist_logreg --optimizer momentum --lr loguniform:1e-3:1 --momentum uniform:0.5:0.99 --samples 2 \
  -N 1 --max_steps 2 --quiet --out search.h5 >/dev/null
cp run.h5 sweep.h5 part.h5 search.h5 "$C/results/"
# sweep files whose writer was killed: checksum block "open", so dob reads them through HDF5 (in a child process)
/usr/bin/python3 - sweep.h5 "$C/results/open_sweep.h5" search.h5 "$C/results/open_search.h5" <<'PY'
import re, sys, zlib
for src, dst in zip(sys.argv[1::2], sys.argv[2::2]):
    b = bytearray(open(src, "rb").read())
    ub = int(re.search(rb"\nub (\d+)\n", b[:4096]).group(1))
    t = b"dob-seal 1\nstate open\nub %d\n" % ub
    t += b"end %08x\n" % zlib.crc32(t)
    b[:ub] = t + bytes(ub - len(t))
    open(dst, "wb").write(b)
PY
DOB_FUZZ_MAKE_SEEDS="$C/checkpoint" ASAN_OPTIONS=detect_leaks=0 "$FZ"
ls -l "$C"/*
