#!/usr/bin/env bash
# pipe.sh [BUILD=build]: the ImageNet input pipeline alone and under training (issue 17). Not run by CTest.
#  1. Generates real JPEGs with tests/gen_imagenet.py's drawing, TFRecord framing and Example encoding: N images
#     (default 3000) of 100 classes at 333..500 x 333..500 pixels, blended with noise to ~90 KB per file (ImageNet:
#     ~110 KB at ~400x350), as TFRecord shards and as train/<wnid>/*.JPEG folders ("small").
#  2. Makes "big" from it with hard links: BIG (default 200 000) training entries over the same files, 120 GB as
#     decoded float32 3x224x224, more than any node holds, at no disk cost.
#  3. Runs bench/pipe (BATCHES batches of B with THREADS decode threads, OMP_NUM_THREADS=1) on each layout of
#     both sets: images/s, images per CPU-second, ms per image by stage, peak RSS. What big adds to the RSS is
#     what grows with the data set: the index (and pipe's own permutation, 4 bytes per example, as the trainer's).
#  4. Stall check: `dob run imagenet_inception_v3 --bs 8 --max_steps STEPS` (default 6) on 2 ranks x 1 thread
#     (mpirun --bind-to none) over 8 * (STEPS + 1) images (the steps within epoch 1); prints the trainer's
#     phase_seconds (rank 0, from the result file): "data" is the time the steps spent in the batch fetch (waiting
#     for the decode threads, the first batch's cold start included; the copy) and the standardisation.
# Data go to DATA (default /tmp/pipe-data), removed at the end. Environment: N, BIG, BATCHES (40), B (32),
# THREADS (2, as the reader's default), STALL (1; 0 skips step 4), STEPS, DATA.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
N=${N:-3000} BIG=${BIG:-200000} BATCHES=${BATCHES:-40} B=${B:-32} THREADS=${THREADS:-2}
STALL=${STALL:-1} STEPS=${STEPS:-6}
DATA=${DATA:-/tmp/pipe-data}
PY=/usr/bin/python3 # Debian's, with python3-pil
[ -x "$BUILD/bench/pipe" ] || { echo "build first: cmake --build $BUILD (bench/pipe)"; exit 1; }
rm -rf "$DATA"
trap 'rm -rf "$DATA"' EXIT
load() { cut -d' ' -f1-3 /proc/loadavg; }
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores; load $(load)"

# gen ROOT NTRAIN NVAL: both layouts under ROOT/{shards,folders}/imagenet
gen() {
  "$PY" - "$@" <<'EOF'
import os, random, sys
sys.path.insert(0, "tests")
import gen_imagenet as g
from PIL import Image
root, ntrain, nval = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
g.SIZES = [(500, 375), (375, 500), (400, 350), (350, 400), (500, 333), (333, 500), (400, 400)]
rnd = random.Random(17)
noise = [Image.merge("RGB", [Image.effect_noise((500, 500), 64) for _ in range(3)]) for _ in range(4)]
ncls = min(100, ntrain)
wnids = [f"n{c:08d}" for c in range(ncls)]
def images(n, split):
    out = []
    for i in range(n):
        c = i % ncls
        img = g.picture(c % 3, i, rnd)
        img = Image.blend(img, noise[i % 4].crop((0, 0) + img.size), 0.5)
        name = f"{wnids[c]}_{i}.JPEG" if split == "train" else f"ILSVRC2012_val_{i + 1:08d}.JPEG"
        out.append((wnids[c], name, c + 1, img.size, g.encode(img, "rgb"), "rgb"))
    return out
train, val = images(ntrain, "train"), images(nval, "val")
d = os.path.join(root, "shards", "imagenet")
g.write_shards(d, "train", train, 4 if ntrain >= 4 else 1)
g.write_shards(d, "validation", val, 1)
g.write_folders(os.path.join(root, "folders", "imagenet"), "train", train)
g.write_folders(os.path.join(root, "folders", "imagenet"), "val", val)
EOF
}

# link SMALL BIG COPIES: BIG's training entries are COPIES hard links of each of SMALL's (shards and files)
link() {
  "$PY" - "$@" <<'EOF'
import os, sys
small, big, copies = sys.argv[1], sys.argv[2], int(sys.argv[3])
s, b = os.path.join(small, "shards", "imagenet"), os.path.join(big, "shards", "imagenet")
os.makedirs(b)
shards = sorted(f for f in os.listdir(s) if f.startswith("train-"))
total = copies * len(shards)
for c in range(copies):
    for i, f in enumerate(shards):
        os.link(os.path.join(s, f), os.path.join(b, f"train-{c * len(shards) + i:05d}-of-{total:05d}"))
for f in os.listdir(s):
    if f.startswith("validation-"):
        os.link(os.path.join(s, f), os.path.join(b, f))
s, b = os.path.join(small, "folders", "imagenet", "train"), os.path.join(big, "folders", "imagenet", "train")
for w in os.listdir(s):
    os.makedirs(os.path.join(b, w))
    for f in os.listdir(os.path.join(s, w)):
        for c in range(copies):
            os.link(os.path.join(s, w, f), os.path.join(b, w, f"c{c:03d}_{f}"))
EOF
}

t0=$(date +%s)
gen "$DATA/small" "$N" 100
link "$DATA/small" "$DATA/big" $(((BIG + N - 1) / N))
echo "generated $N images ($(du -sm "$DATA/small/folders" | cut -f1) MB as files) and" \
  "$(find "$DATA/big/folders/imagenet/train" -type f | wc -l) linked entries in $(($(date +%s) - t0)) s"

export OMP_NUM_THREADS=1
for set in small big; do
  for layout in shards folders; do
    echo "$set/$layout, load $(load):"
    "$BUILD/bench/pipe" "$DATA/$set/$layout/imagenet" "$BATCHES" "$B" "$THREADS" | fold -s -w 118 | sed 's/^/  /'
  done
done

[ "$STALL" = 1 ] || exit 0
[ -x "$BUILD/dob" ] || { echo "no $BUILD/dob: stall check skipped"; exit 0; }
gen "$DATA/stall" $((8 * STEPS + 8)) 8
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
echo "stall check: 2 ranks x 1 thread, inception_v3 bs 8, $STEPS steps; load $(load)"
mpirun -np 2 --bind-to none "$BUILD/dob" run imagenet_inception_v3 --optimizer momentum --lr 0.01 --bs 8 \
  --max_steps "$STEPS" --data_dir "$DATA/stall/shards" --out "$DATA/stall.h5" --no_json -v 2>&1 | sed 's/^/  /'
echo "load after: $(load)"
"$PY" - "$DATA/stall.h5" "$STEPS" <<'EOF'
import sys, h5py
p, steps = h5py.File(sys.argv[1], "r")["trials/0/phase_seconds"][:], int(sys.argv[2])
names = ["forward", "backward", "allreduce", "optimizer", "data"]
print(f"  rank 0 phase_seconds over {steps} steps: " + ", ".join(f"{n} {v:.3f}" for n, v in zip(names, p)))
print(f"  data share of the step time: {100 * p[4] / p.sum():.2f}% ({1e3 * p[4] / steps:.1f} ms per step)")
EOF
