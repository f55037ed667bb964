#!/usr/bin/env bash
# vae_grid_test.sh DOB: issue 16's picture, end to end. fmnist_vae trains 150 Adam steps on the first 9600 real
# Fashion-MNIST training images (IDX files cut from /usr/share/datasets/fashion-mnist), `dob run
# --checkpoint F --keep-checkpoint` keeps the trained state, and tools/vae_grid.py draws originals,
# reconstructions and samples from it. Checked from the PNG itself: its size, and every reconstruction
# correlating with its original (a mean-garment or blank output does not). Prints "N passed, M failed".
set -u
DOB=$(realpath "${1:?usage: vae_grid_test.sh path/to/dob}")
HERE=$(cd "$(dirname "$0")" && pwd)
FM=/usr/share/datasets/fashion-mnist
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
pass=0; fail=0
ok() { pass=$((pass+1)); }
bad() { fail=$((fail+1)); printf 'FAIL: %s\n' "$*"; }
[ -f "$FM/train-images-idx3-ubyte.gz" ] || { echo "Fashion-MNIST missing: scripts/install-deps.sh installs it"; exit 1; }

mkdir -p data/fmnist
/usr/bin/python3 - "$FM" data/fmnist <<'PY' || { echo "cannot cut the IDX files"; exit 1; }
import gzip, struct, sys
src, dst = sys.argv[1], sys.argv[2]
for name, n, dims in [("train-images-idx3-ubyte", 9600, [28, 28]), ("train-labels-idx1-ubyte", 9600, []),
                      ("t10k-images-idx3-ubyte", 1000, [28, 28]), ("t10k-labels-idx1-ubyte", 1000, [])]:
    b = gzip.open(f"{src}/{name}.gz").read()
    per, hdr = 28 * 28 if dims else 1, 8 + 4 * len(dims)
    with open(f"{dst}/{name}", "wb") as f:
        f.write(b[:4] + struct.pack(">I", n) + b[8:hdr] + b[hdr:hdr + n * per])
PY

"$DOB" run fmnist_vae --optimizer adam --lr 1e-3 -N 1 --data_dir data --checkpoint ck.h5 --keep-checkpoint \
  --out r.h5 --no_json --quiet > run.log 2>&1; rc=$?
if [ $rc -eq 0 ] && [ -f ck.h5 ] && [ -f r.h5 ]; then ok; else bad "run: exit $rc: $(cat run.log)"; exit 1; fi

/usr/bin/python3 "$HERE/../tools/vae_grid.py" ck.h5 grid.png --data_dir data/fmnist --n 8 > grid.log 2>&1 && ok ||
  bad "vae_grid.py: $(cat grid.log)"
/usr/bin/python3 - grid.png <<'PY' && ok || bad "the PNG does not show reconstructions of its originals"
import struct, sys, zlib
import numpy as np
b = open(sys.argv[1], "rb").read()
assert b[:8] == b"\x89PNG\r\n\x1a\n"
w, h = struct.unpack(">II", b[16:24])
assert (w, h) == (8 * 86 + 2, 4 * 86 + 2), (w, h)          # 8 columns, 4 rows of 28*3 + 2 px cells
idat, i = b"", 8
while i < len(b):
    n, tag = struct.unpack(">I", b[i:i + 4])[0], b[i + 4:i + 8]
    if tag == b"IDAT": idat += b[i + 8:i + 8 + n]
    i += 12 + n
img = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(h, w + 1)[:, 1:].astype(float)
cell = lambda r, c: img[2 + r * 86:2 + r * 86 + 84, 2 + c * 86:2 + c * 86 + 84].ravel()
corr = [np.corrcoef(cell(0, c), cell(1, c))[0, 1] for c in range(8)]
# a reconstruction matches its own original better than the other originals (not one mean garment)
own = np.mean(corr)
other = np.mean([np.corrcoef(cell(0, c), cell(1, (c + 3) % 8))[0, 1] for c in range(8)])
print(f"reconstruction correlation: own {own:.3f} (min {min(corr):.3f}), others' {other:.3f}")
assert min(corr) > 0.3 and own > other + 0.15, (corr, other)
assert cell(2, 0).std() > 5, "samples are blank"
PY
echo "$pass passed, $fail failed"
exit $fail
