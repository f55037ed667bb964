/* test_imagenet.c: ImageNet's readers (io/tfrecord.c, io/jpeg.c, io/imagenet.c, io/stream.c) and preprocessing
 * (src/data/imgpre.c) on a tiny tree of real JPEG files in both layouts, written by tests/gen_imagenet.py (PIL):
 * 12 training images of 3 classes (a greyscale, a CMYK, a progressive and a truncated JPEG among them) and 3
 * validation images. Checks: CRC-32C and the record framing (length and data CRC failures, truncated shards),
 * tf.train.Example parsing (packed and unpacked labels, malformed wire data), decoding of every JPEG kind, the
 * preprocessing against a naive reference of DeepOBS's steps, equal batches from both layouts, the corrupt image
 * skipped and replaced by the next one, and prefetched batches equal to direct ones. */
#define _XOPEN_SOURCE 700 /* mkdtemp, nftw */
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dob/datasets.h"
#include "dob/imagenet.h"
#include "dob/io.h"
#include "tc.h"

#define SIDE DOB_IMAGENET_SIDE
#define PER (3 * SIDE * SIDE)

static char tmp[256];

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static int suite_init(void) {
    snprintf(tmp, sizeof tmp, "/tmp/dob_imagenet_XXXXXX");
    if (!mkdtemp(tmp)) return -1;
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/tests/gen_imagenet.py %s", DOB_TEST_SOURCE_DIR, tmp);
    return system(cmd) == 0 ? 0 : -1;
}

static int suite_clean(void) { return nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

static const char *tp(const char *rel) {
    static char bufs[8][512];
    static int k;
    char *b = bufs[k++ % 8];
    snprintf(b, 512, "%s/%s", tmp, rel);
    return b;
}

static uint8_t *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(*n + 1);
    CU_ASSERT_EQUAL(fread(b, 1, *n, f), *n);
    fclose(f);
    return b;
}

/* ---- protobuf and TFRecord writers (the wire format by hand, independent of the reader) ----------------------- */

typedef struct buf {
    uint8_t b[1 << 20];
    size_t n;
} buf;

static void put(buf *o, const void *p, size_t n) {
    memcpy(o->b + o->n, p, n);
    o->n += n;
}

static void varint(buf *o, uint64_t v) {
    do {
        uint8_t c = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v) c |= 0x80;
        put(o, &c, 1);
    } while (v);
}

static void ld(buf *o, int field, const buf *payload) {
    varint(o, (uint64_t)field << 3 | 2);
    varint(o, payload->n);
    put(o, payload->b, payload->n);
}

static buf *nb(void) { return calloc(1, sizeof(buf)); }

/* Example with image/encoded = jpeg (if jpeg) and label values[0..nlab) (packed or not) */
static void make_example(buf *out, const uint8_t *jpeg, size_t n, const int64_t *labels, int nlab, int packed) {
    buf *bl = nb(), *feat = nb(), *ent = nb(), *key = nb(), *all = nb(), *vals = nb();
    if (jpeg) {
        put(vals, jpeg, n);
        ld(bl, 1, vals);
        ld(feat, 1, bl);
        put(key, "image/encoded", 13);
        ld(ent, 1, key);
        ld(ent, 2, feat);
        ld(all, 1, ent);
    }
    key->n = ent->n = feat->n = vals->n = bl->n = 0;
    for (int i = 0; i < nlab; i++) {
        if (packed) varint(vals, (uint64_t)labels[i]);
        else varint(bl, 1 << 3), varint(bl, (uint64_t)labels[i]);
    }
    if (packed) ld(bl, 1, vals);
    ld(feat, 3, bl);
    put(key, "image/class/label", 17);
    ld(ent, 1, key);
    ld(ent, 2, feat);
    ld(all, 1, ent);
    ld(out, 1, all);
    free(bl), free(feat), free(ent), free(key), free(all), free(vals);
}

static void le(uint8_t *p, uint64_t v, int n) {
    for (int i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* One record; bad = 1 breaks the length CRC, 2 the data CRC. */
static void put_record(FILE *f, const buf *data, int bad) {
    uint8_t h[12], c[4];
    le(h, data->n, 8);
    le(h + 8, dob_crc32c_masked(h, 8) ^ (bad == 1), 4);
    le(c, dob_crc32c_masked(data->b, data->n) ^ (bad == 2), 4);
    fwrite(h, 1, 12, f), fwrite(data->b, 1, data->n, f), fwrite(c, 1, 4, f);
}

/* ---- CRC and Example ------------------------------------------------------------------------------------------ */

static void test_crc32c(void) {
    CU_ASSERT_EQUAL(dob_crc32c("123456789", 9), 0xE3069283u); /* the CRC-32C check value */
    CU_ASSERT_EQUAL(dob_crc32c("", 0), 0u);
    uint8_t z[32] = {0};
    CU_ASSERT_EQUAL(dob_crc32c(z, 32), 0x8A9136AAu); /* RFC 3720 B.4: 32 bytes of zeros */
}

static void test_example_parse(void) {
    buf *e = nb();
    const uint8_t jpg[3] = {1, 2, 3};
    const uint8_t *p;
    size_t n;
    int64_t label;
    for (int packed = 0; packed < 2; packed++) {
        e->n = 0;
        make_example(e, jpg, 3, (int64_t[]){617}, 1, packed);
        TC_ASSERT_OK(dob_example_parse(e->b, e->n, &p, &n, &label));
        CU_ASSERT(n == 3 && !memcmp(p, jpg, 3) && label == 617);
    }
    e->n = 0;
    make_example(e, NULL, 0, (int64_t[]){1}, 1, 1);
    TC_ASSERT_FAILS(dob_example_parse(e->b, e->n, &p, &n, &label), DOB_EFORMAT, "image/encoded, found 0");
    e->n = 0;
    make_example(e, jpg, 3, (int64_t[]){1, 2}, 2, 1);
    TC_ASSERT_FAILS(dob_example_parse(e->b, e->n, &p, &n, &label), DOB_EFORMAT, "image/class/label, found 2");
    e->n = 0;
    make_example(e, jpg, 3, NULL, 0, 0); /* an empty Int64List */
    TC_ASSERT_FAILS(dob_example_parse(e->b, e->n, &p, &n, &label), DOB_EFORMAT, "found 0");
    e->n = 0;
    make_example(e, jpg, 3, (int64_t[]){5}, 1, 1);
    TC_ASSERT_FAILS(dob_example_parse(e->b, e->n - 1, &p, &n, &label), DOB_EFORMAT, "malformed protobuf");
    const uint8_t group[2] = {0x0b, 0x0c}; /* field 1 as a group: refused */
    TC_ASSERT_FAILS(dob_example_parse(group, 2, &p, &n, &label), DOB_EFORMAT, "malformed protobuf");
    free(e);
}

/* ---- TFRecord framing ----------------------------------------------------------------------------------------- */

/* dir/train-00000-of-00001 with n good records of the RGB image and record `bad` broken in way `how` */
static void write_shard(const char *dir, int n, int bad, int how, int cut) {
    size_t jn;
    uint8_t *jpg = slurp(tp("folders/imagenet/train/n01440764/n01440764_0.JPEG"), &jn);
    mkdir(dir, 0755);
    char path[600];
    snprintf(path, sizeof path, "%s/train-00000-of-00001", dir);
    FILE *f = fopen(path, "wb");
    buf *e = nb();
    for (int i = 0; i < n; i++) {
        e->n = 0;
        make_example(e, jpg, jn, (int64_t[]){how == 4 && i == bad ? 1001 : i + 1}, 1, 1);
        if (how == 3 && i == bad) e->n -= 2; /* malformed protobuf, CRCs right */
        put_record(f, e, i == bad && how < 3 ? how : 0);
    }
    fclose(f);
    if (cut) CU_ASSERT_EQUAL(truncate(path, (off_t)(12 + e->n + 4) * n - cut), 0);
    free(e);
    free(jpg);
}

static void test_tfrecord_framing(void) {
    dob_dataset d;
    write_shard(tp("lencrc"), 3, 1, 1, 0);
    TC_ASSERT_FAILS(dob_imagenet_load(tp("lencrc"), "train", &d), DOB_EFORMAT, "record 1 at byte");
    TC_ASSERT_FAILS(dob_imagenet_load(tp("lencrc"), "train", &d), DOB_EFORMAT, "record length CRC-32C");
    write_shard(tp("cut"), 3, -1, 0, 7);
    TC_ASSERT_FAILS(dob_imagenet_load(tp("cut"), "train", &d), DOB_EFORMAT, "record 2 at byte");
    TC_ASSERT_FAILS(dob_imagenet_load(tp("cut"), "train", &d), DOB_EFORMAT, "truncated shard");
    write_shard(tp("hdr"), 2, -1, 0, 0);
    FILE *f = fopen(tp("hdr/train-00000-of-00001"), "ab");
    fwrite("abc", 1, 3, f); /* 3 stray bytes: not a record header */
    fclose(f);
    TC_ASSERT_FAILS(dob_imagenet_load(tp("hdr"), "train", &d), DOB_EFORMAT, "12-byte record header");
    /* data CRC, protobuf and label errors are found when the record is read: skipped, the next one used */
    for (int how = 2; how <= 4; how++) {
        char dir[64];
        snprintf(dir, sizeof dir, "bad%d", how);
        write_shard(tp(dir), 3, 1, how, 0);
        TC_ASSERT_OK(dob_imagenet_load(tp(dir), "train", &d));
        CU_ASSERT_EQUAL(d.n, 3);
        float *x = malloc(3 * PER * sizeof *x), *y = malloc(3 * DOB_IMAGENET_CLASSES * sizeof *y);
        const int64_t before = dob_imagenet_skipped();
        TC_ASSERT_OK(dob_dataset_fetch(&d, (uint32_t[]){0, 1, 2}, 3, 0, 0, 0, x, y));
        CU_ASSERT_EQUAL(dob_imagenet_skipped(), before + 1);
        CU_ASSERT(y[1] == 1.0f && y[DOB_IMAGENET_CLASSES + 3] == 1.0f && y[2 * DOB_IMAGENET_CLASSES + 3] == 1.0f);
        CU_ASSERT(!memcmp(x + PER, x + 2 * PER, PER * sizeof *x)); /* example 1 is example 2's image */
        free(x), free(y);
        dob_dataset_free(&d);
    }
}

/* ---- JPEG kinds and preprocessing ----------------------------------------------------------------------------- */

typedef struct rgb_img {
    int64_t h, w;
    uint8_t *px;
} rgb_img;

static dob_status keep_begin(void *ctx, int64_t h, int64_t w) {
    rgb_img *m = ctx;
    m->h = h, m->w = w;
    m->px = malloc((size_t)(h * w * 3));
    return DOB_OK;
}

static void keep_row(void *ctx, int64_t r, const uint8_t *rgb) {
    rgb_img *m = ctx;
    memcpy(m->px + r * m->w * 3, rgb, (size_t)(m->w * 3));
}

static dob_status decode_file(const char *rel, rgb_img *m) {
    size_t n;
    uint8_t *b = slurp(tp(rel), &n);
    memset(m, 0, sizeof *m);
    dob_status st = dob_jpeg_decode(b, n, &(dob_jpeg_sink){m, keep_begin, keep_row});
    free(b);
    return st;
}

static void test_jpeg_kinds(void) {
    rgb_img m;
    TC_ASSERT_OK(decode_file("folders/imagenet/train/n01440764/n01440764_1.JPEG", &m)); /* greyscale */
    CU_ASSERT(m.h == 260 && m.w == 180);
    int grey = 1;
    for (int64_t i = 0; i < m.h * m.w; i++) grey &= m.px[3 * i] == m.px[3 * i + 1] && m.px[3 * i] == m.px[3 * i + 2];
    CU_ASSERT(grey);
    free(m.px);
    TC_ASSERT_OK(decode_file("folders/imagenet/train/n01443537/n01443537_1.JPEG", &m)); /* CMYK, Adobe */
    CU_ASSERT(m.h == 256 && m.w == 256);
    rgb_img ref;
    /* PIL drew the CMYK file from an RGB image: TF's inverted-CMYK formula must give it back closely */
    double err = 0;
    TC_ASSERT_OK(decode_file("folders/imagenet/train/n01443537/n01443537_0.JPEG", &ref));
    free(ref.px);
    for (int64_t i = 0; i < m.h * m.w * 3; i++) err += m.px[i];
    CU_ASSERT(err / (double)(m.h * m.w * 3) > 20.0); /* not the black an uninverted reading would give */
    free(m.px);
    TC_ASSERT_OK(decode_file("folders/imagenet/train/n01443537/n01443537_2.JPEG", &m)); /* progressive */
    CU_ASSERT(m.h == 300 && m.w == 400);
    free(m.px);
    TC_ASSERT_FAILS(decode_file("folders/imagenet/train/n01484850/n01484850_2.JPEG", &m), DOB_EFORMAT, "JPEG: ");
    free(m.px);
    TC_ASSERT_FAILS(dob_jpeg_decode((const uint8_t *)"not a jpeg", 10, &(dob_jpeg_sink){&m, keep_begin, keep_row}),
                    DOB_EFORMAT, "JPEG: ");
}

/* Fuzzing (tests/fuzz/fuzz_imagenet.c) found: a progressive JPEG declaring 60000 x 60000 pixels made libjpeg
 * allocate and fill 10.8 GB of coefficient arrays in jpeg_start_decompress before the sink refused the size. The
 * size must be refused first: here the file is also cut before its end, so a decoder that reads the scans first
 * fails on the premature end instead of on the size (after 45 s and 10.5 GB of RSS, measured before the fix). */
static void test_jpeg_size_first(void) {
    size_t n;
    uint8_t *b = slurp(tp("folders/imagenet/train/n01443537/n01443537_2.JPEG"), &n); /* progressive */
    size_t sof = 0;
    while (sof + 9 < n && !(b[sof] == 0xff && b[sof + 1] == 0xc2)) sof++;
    CU_ASSERT_FATAL(sof + 9 < n);
    b[sof + 5] = b[sof + 7] = 60000 >> 8, b[sof + 6] = b[sof + 8] = 60000 & 0xff; /* height, width */
    float *x = malloc(PER * sizeof *x);
    dob_imgpre pre = {0};
    TC_ASSERT_FAILS(dob_jpeg_preprocess(b, n / 2, &pre, 0, 0, 0, x), DOB_EFORMAT, "image of 60000x60000 pixels");
    dob_imgpre_free(&pre);
    free(x), free(b);
}

/* DeepOBS's steps written out naively: float image, resize by TF's formula per output pixel, crop-or-pad to 256
 * (train) or 224, random crop + flip. */
static float at(const rgb_img *m, int64_t c, int64_t y, int64_t x) {
    return (float)m->px[(y * m->w + x) * 3 + c] * (float)(1.0 / 255.0);
}

static float resized(const rgb_img *m, int64_t nh, int64_t nw, int64_t c, int64_t i, int64_t j) {
    const float sy = (float)i * ((float)m->h / (float)nh), sx = (float)j * ((float)m->w / (float)nw);
    const int64_t y0 = (int64_t)floorf(sy), x0 = (int64_t)floorf(sx);
    const int64_t y1 = (int64_t)ceilf(sy) < m->h - 1 ? (int64_t)ceilf(sy) : m->h - 1;
    const int64_t x1 = (int64_t)ceilf(sx) < m->w - 1 ? (int64_t)ceilf(sx) : m->w - 1;
    const float yl = sy - floorf(sy), xl = sx - floorf(sx);
    const float top = at(m, c, y0, x0) + (at(m, c, y0, x1) - at(m, c, y0, x0)) * xl;
    const float bot = at(m, c, y1, x0) + (at(m, c, y1, x1) - at(m, c, y1, x0)) * xl;
    return top + (bot - top) * yl;
}

static void naive(const rgb_img *m, int augment, uint64_t seed, uint64_t key, float *dst) {
    const int64_t s = m->h < m->w ? m->h : m->w, T = augment ? 256 : SIDE;
    const int64_t nh = (int64_t)rintf(256.0f / (float)s * (float)m->h), nw = (int64_t)rintf(256.0f / (float)s * (float)m->w);
    const dob_rng r = {seed, DOB_RNG_AUGMENT, key};
    const int64_t oy = augment ? (int64_t)(dob_rng_uniform(&r, 0) * 33.0f) : 0;
    const int64_t ox = augment ? (int64_t)(dob_rng_uniform(&r, 1) * 33.0f) : 0;
    const int flip = augment && dob_rng_uniform(&r, 2) < 0.5f;
    for (int64_t c = 0; c < 3; c++)
        for (int64_t y = 0; y < SIDE; y++)
            for (int64_t x = 0; x < SIDE; x++) {
                const int64_t ty = y + oy, tx = (flip ? SIDE - 1 - x : x) + ox; /* in the T x T image */
                const int64_t sy = nh >= T ? ty + (nh - T) / 2 : ty - (T - nh) / 2;
                const int64_t sx = nw >= T ? tx + (nw - T) / 2 : tx - (T - nw) / 2;
                const int in = sy >= 0 && sy < nh && sx >= 0 && sx < nw;
                dst[(c * SIDE + y) * SIDE + x] = in ? resized(m, nh, nw, c, sy, sx) : 0.0f;
            }
}

static void test_preprocess_reference(void) {
    const char *files[] = {"folders/imagenet/train/n01440764/n01440764_0.JPEG",
                           "folders/imagenet/train/n01440764/n01440764_1.JPEG",
                           "folders/imagenet/train/n01443537/n01443537_2.JPEG",
                           "folders/imagenet/train/n01484850/n01484850_1.JPEG"};
    float *got = malloc(PER * sizeof *got), *want = malloc(PER * sizeof *want);
    dob_imgpre pre = {0};
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++)
        for (int aug = 0; aug < 2; aug++)
            for (uint64_t key = 0; key < (aug ? 4u : 1u); key++) {
                rgb_img m;
                size_t n;
                TC_ASSERT_OK(decode_file(files[f], &m));
                uint8_t *b = slurp(tp(files[f]), &n);
                TC_ASSERT_OK(dob_jpeg_preprocess(b, n, &pre, aug, 7, key, got));
                naive(&m, aug, 7, key, want);
                char what[128];
                snprintf(what, sizeof what, "%s augment %d key %llu", files[f], aug, (unsigned long long)key);
                TC_ASSERT_CLOSE(what, got, want, PER, 1e-6);
                free(b), free(m.px);
            }
    int64_t nh, nw;
    dob_imgpre_size(375, 500, &nh, &nw);
    CU_ASSERT(nh == 256 && nw == 341); /* 500 * 256 / 375 = 341.33 */
    dob_imgpre_size(333, 120, &nh, &nw);
    CU_ASSERT(nh == 710 && nw == 256); /* 710.4 */
    TC_ASSERT_FAILS(dob_imgpre_begin(&pre, 10, 400), DOB_EFORMAT, "sides within 16:1");
    dob_imgpre_free(&pre);
    free(got), free(want);
}

/* ---- the two layouts, streaming ------------------------------------------------------------------------------- */

static void fetch_all(const dob_dataset *d, int augment, float *x, float *y) {
    uint32_t idx[16];
    for (int64_t i = 0; i < d->n; i++) idx[i] = (uint32_t)i;
    TC_ASSERT_OK(dob_dataset_fetch(d, idx, d->n, augment, 3, 100, x, y));
}

static void test_layouts_equal(void) {
    const char *split[2] = {"train", "test"};
    const int64_t want_n[2] = {12, 3};
    for (int s = 0; s < 2; s++) {
        dob_dataset a, b;
        TC_ASSERT_OK(dob_imagenet_load(tp("shards/imagenet"), split[s], &a));
        TC_ASSERT_OK(dob_imagenet_load(tp("folders/imagenet"), split[s], &b));
        CU_ASSERT(a.n == want_n[s] && b.n == want_n[s] && a.k == 1001 && a.x_dims[1] == SIDE);
        const size_t nx = (size_t)(a.n * PER), ny = (size_t)(a.n * 1001);
        float *xa = malloc(nx * 4), *xb = malloc(nx * 4), *ya = malloc(ny * 4), *yb = malloc(ny * 4);
        for (int aug = 0; aug < 2; aug++) {
            fetch_all(&a, aug, xa, ya);
            fetch_all(&b, aug, xb, yb);
            CU_ASSERT(!memcmp(xa, xb, nx * 4) && !memcmp(ya, yb, ny * 4));
            if (s == 0 && !aug) /* example 10 is the truncated JPEG: example 11 takes its place */
                CU_ASSERT(!memcmp(xa + 10 * PER, xa + 11 * PER, PER * 4));
        }
        for (int64_t i = 0; i < a.n; i++) /* labels 1..3 by sorted wnid, 4 (train) or 1 (val) per class */
            CU_ASSERT_EQUAL(ya[i * 1001 + 1 + i / (s ? 1 : 4)], 1.0f);
        free(xa), free(xb), free(ya), free(yb);
        dob_dataset_free(&a);
        dob_dataset_free(&b);
    }
    dob_dataset d;
    mkdir(tp("empty"), 0755);
    TC_ASSERT_FAILS(dob_imagenet_load(tp("empty"), "train", &d), DOB_ENOENT, "image-net.org");
    TC_ASSERT_FAILS(dob_imagenet_load(tp("empty"), "dev", &d), DOB_EINVAL, "found 'dev'");
    mkdir(tp("folders/imagenet/val/n99999999"), 0755);
    TC_ASSERT_FAILS(dob_imagenet_load(tp("folders/imagenet"), "test", &d), DOB_EFORMAT, "n99999999: class folder");
    rmdir(tp("folders/imagenet/val/n99999999"));
}

/* Batches announced ahead equal batches read directly; a read that was not announced next cancels the queue. */
static void test_prefetch_equal(void) {
    dob_dataset d, v;
    TC_ASSERT_OK(dob_imagenet_load(tp("shards/imagenet"), "train", &d));
    TC_ASSERT_OK(dob_dataset_split_valid(&d, 2, &v));
    CU_ASSERT(d.n == 10 && v.n == 2 && dob_dataset_prefetch_depth(&d) == 2);
    const uint32_t perm[8] = {3, 1, 4, 0, 5, 9, 2, 6};
    float *direct = malloc(8 * PER * 4), *pre = malloc(8 * PER * 4), *y = malloc(8 * 1001 * 4);
    for (int s = 0; s < 4; s++) TC_ASSERT_OK(dob_dataset_fetch(&d, perm + 2 * s, 2, 1, 5, 2 * (uint64_t)s,
                                                               direct + 2 * s * PER, y));
    for (int s = 0; s < 4; s++) {
        if (s + 1 < 4) dob_dataset_prefetch(&d, perm + 2 * (s + 1), 2, 1, 5, 2 * (uint64_t)(s + 1));
        if (s == 0) dob_dataset_prefetch(&d, perm, 2, 1, 5, 0); /* out of order: read 0 cancels, then redoes */
        TC_ASSERT_OK(dob_dataset_fetch(&d, perm + 2 * s, 2, 1, 5, 2 * (uint64_t)s, pre + 2 * s * PER, y));
    }
    CU_ASSERT(!memcmp(direct, pre, 8 * PER * 4));
    /* the valid window: examples 0, 1 of the shard order, train: 2.. */
    float *xv = malloc(2 * PER * 4), *xt = malloc(2 * PER * 4);
    TC_ASSERT_OK(dob_dataset_fetch(&v, (uint32_t[]){1, 0}, 2, 0, 0, 0, xv, y));
    dob_dataset full;
    TC_ASSERT_OK(dob_imagenet_load(tp("shards/imagenet"), "train", &full));
    TC_ASSERT_OK(dob_dataset_fetch(&full, (uint32_t[]){1, 2}, 2, 0, 0, 0, xt, y));
    CU_ASSERT(!memcmp(xv, xt, PER * 4));
    TC_ASSERT_OK(dob_dataset_fetch(&d, (uint32_t[]){0}, 1, 0, 0, 0, xv, y));
    CU_ASSERT(!memcmp(xv, xt + PER, PER * 4));
    free(direct), free(pre), free(y), free(xv), free(xt);
    dob_dataset_free(&full);
    dob_dataset_free(&v);
    dob_dataset_free(&d);
}

static CU_TestInfo tests[] = {
    {"crc32c", test_crc32c},
    {"example_parse", test_example_parse},
    {"tfrecord_framing", test_tfrecord_framing},
    {"jpeg_kinds", test_jpeg_kinds},
    {"jpeg_size_first", test_jpeg_size_first},
    {"preprocess_reference", test_preprocess_reference},
    {"layouts_equal", test_layouts_equal},
    {"prefetch_equal", test_prefetch_equal},
    CU_TEST_INFO_NULL,
};
CU_SuiteInfo imagenet_suite = {"imagenet", suite_init, suite_clean, NULL, NULL, tests};
