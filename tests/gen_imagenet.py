#!/usr/bin/python3
"""gen_imagenet.py DIR: write a tiny ImageNet of real JPEG files in both layouts dob reads, with the same examples in
the same order (so both give the same batches):
  DIR/shards/imagenet/train-0000{0,1}-of-00002, validation-00000-of-00001: TFRecord files of tf.train.Example
      (image/encoded, image/class/label, image/class/text, image/format, image/height, image/width), as
      TF-inception's build_imagenet_data.py writes them; the label Int64List packed in even records, unpacked in
      odd ones;
  DIR/folders/imagenet/train/<wnid>/<wnid>_<i>.JPEG, val/<wnid>/ILSVRC2012_val_<i>.JPEG.
Three classes (wnids sorted -> labels 1, 2, 3), 4 training images per class, 1 validation image per class (N with
--val-per-class N: a test split of 3N examples, for runs on more ranks than 3; the goldens use 1), sizes
from 120 to 400 pixels per side in both orientations. Among them: a greyscale JPEG, a CMYK JPEG (PIL writes
Adobe-inverted CMYK), a progressive JPEG and a corrupt (truncated) JPEG, listed in DIR/special.txt as
"kind index" lines (index in the training order). Needs python3-pil (Debian); deterministic."""
import io, os, random, struct, sys

from PIL import Image, ImageDraw

WNIDS = ["n01440764", "n01443537", "n01484850"]
TRAIN_PER_CLASS, VAL_PER_CLASS = 4, 1
SIZES = [(300, 200), (180, 260), (256, 256), (400, 300), (120, 333), (333, 120)]

# ---- CRC-32C and TFRecord framing --------------------------------------------------------------------------------
_T = []
for i in range(256):
    c = i
    for _ in range(8):
        c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    _T.append(c)

def crc32c(b):
    c = 0xFFFFFFFF
    for x in b:
        c = _T[(c ^ x) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF

def masked(b):
    c = crc32c(b)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF

def record(data):
    n = struct.pack("<Q", len(data))
    return n + struct.pack("<I", masked(n)) + data + struct.pack("<I", masked(data))

# ---- protobuf wire format ----------------------------------------------------------------------------------------
def varint(v):
    out = bytearray()
    v &= (1 << 64) - 1
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)

def ld(field, payload):  # length-delimited field
    return varint(field << 3 | 2) + varint(len(payload)) + payload

def bytes_feature(v):
    return ld(1, ld(1, v))  # Feature.bytes_list { value }

def int64_feature(v, packed):
    lst = ld(1, varint(v)) if packed else varint(1 << 3 | 0) + varint(v)
    return ld(3, lst)  # Feature.int64_list

def example(jpeg, label, text, h, w, packed):
    feats = [(b"image/encoded", bytes_feature(jpeg)), (b"image/class/label", int64_feature(label, packed)),
             (b"image/class/text", bytes_feature(text)), (b"image/format", bytes_feature(b"JPEG")),
             (b"image/height", int64_feature(h, True)), (b"image/width", int64_feature(w, True))]
    entries = b"".join(ld(1, ld(1, k) + ld(2, v)) for k, v in feats)
    return ld(1, entries)  # Example.features { feature map }

# ---- images ------------------------------------------------------------------------------------------------------
def picture(cls, i, rnd):
    w, h = SIZES[(cls * 7 + i) % len(SIZES)]
    img = Image.new("RGB", (w, h), tuple(rnd.randrange(256) for _ in range(3)))
    d = ImageDraw.Draw(img)
    for _ in range(6 + cls * 3):
        x0, y0 = rnd.randrange(w), rnd.randrange(h)
        box = [x0, y0, x0 + rnd.randrange(10, 80), y0 + rnd.randrange(10, 80)]
        colour = tuple((cls * 80 + rnd.randrange(60)) % 256 for _ in range(3))
        (d.ellipse if cls % 2 else d.rectangle)(box, fill=colour)
    return img

def encode(img, kind):
    buf = io.BytesIO()
    if kind == "grey":
        img.convert("L").save(buf, "JPEG", quality=90)
    elif kind == "cmyk":
        img.convert("CMYK").save(buf, "JPEG", quality=90)
    elif kind == "progressive":
        img.save(buf, "JPEG", quality=90, progressive=True)
    else:
        img.save(buf, "JPEG", quality=90)
    data = buf.getvalue()
    return data[: len(data) // 2] if kind == "corrupt" else data

def examples(split, seed):
    rnd = random.Random(seed)
    per = TRAIN_PER_CLASS if split == "train" else VAL_PER_CLASS
    special = {1: "grey", 5: "cmyk", 6: "progressive", 10: "corrupt"} if split == "train" else {}
    out = []
    for c, wnid in enumerate(WNIDS):
        for i in range(per):
            img = picture(c, i, rnd)
            kind = special.get(len(out), "rgb")
            name = f"{wnid}_{i}.JPEG" if split == "train" else f"ILSVRC2012_val_{c * per + i + 1:08d}.JPEG"
            out.append((wnid, name, c + 1, img.size, encode(img, kind), kind))
    return out

def write_shards(d, prefix, exs, nshards):
    os.makedirs(d, exist_ok=True)
    per = (len(exs) + nshards - 1) // nshards
    for s in range(nshards):
        with open(os.path.join(d, f"{prefix}-{s:05d}-of-{nshards:05d}"), "wb") as f:
            for j, (wnid, _, label, (w, h), jpeg, _) in enumerate(exs[s * per:(s + 1) * per]):
                f.write(record(example(jpeg, label, wnid.encode(), h, w, (s * per + j) % 2 == 0)))

def write_folders(d, sub, exs):
    for wnid, name, _, _, jpeg, _ in exs:
        os.makedirs(os.path.join(d, sub, wnid), exist_ok=True)
        with open(os.path.join(d, sub, wnid, name), "wb") as f:
            f.write(jpeg)

def main():
    global VAL_PER_CLASS
    args = sys.argv[1:]
    if not args or args[0].startswith("-"):
        print(__doc__)
        sys.exit(0 if args and args[0] in ("-h", "--help") else "usage: gen_imagenet.py DIR [--val-per-class N]")
    if len(args) == 3 and args[1] == "--val-per-class" and args[2].isdigit() and int(args[2]) > 0:
        VAL_PER_CLASS = int(args[2])
    elif len(args) != 1:
        sys.exit("usage: gen_imagenet.py DIR [--val-per-class N]")
    root = args[0]
    train, val = examples("train", 1), examples("val", 2)
    write_shards(os.path.join(root, "shards", "imagenet"), "train", train, 2)
    write_shards(os.path.join(root, "shards", "imagenet"), "validation", val, 1)
    write_folders(os.path.join(root, "folders", "imagenet"), "train", train)
    write_folders(os.path.join(root, "folders", "imagenet"), "val", val)
    with open(os.path.join(root, "special.txt"), "w") as f:
        for i, e in enumerate(train):
            if e[5] != "rgb":
                f.write(f"{e[5]} {i} {e[0]}/{e[1]}\n")

if __name__ == "__main__":
    main()
