/* fuzz_imagenet.c: libFuzzer harness for ImageNet's readers: the TFRecord framing and tf.train.Example parser
 * (io/tfrecord.c), JPEG decoding through libjpeg-turbo (io/jpeg.c, whose error manager must turn every libjpeg
 * error into a status) and the streamed data set over a shard (io/imagenet.c, io/stream.c) as dob run reads it.
 * Input byte 0 picks what the rest is:
 *   bits 0-1  0: a TFRecord byte stream walked with dob_tfrecord_header / dob_tfrecord_check, each record and the
 *                whole rest given to dob_example_parse, a parsed image decoded;
 *             1: JPEG bytes through dob_jpeg_decode (a sink checking rows arrive in order, each read in full);
 *             2: JPEG bytes through dob_jpeg_preprocess (the real 224 x 224 sink);
 *             3: a shard <dir>/train-00000-of-00001 through dob_imagenet_load, then every example fetched in
 *                batches of 3 with the next batches announced as the trainer does (dob_dataset_prefetch);
 *   bit 2     augment (modes 2, 3);
 *   bit 3     rewrite the CRCs of the framing (modes 0, 3) before use: mutations break CRCs, which would keep the
 *             fuzzer out of the Example and JPEG code behind them; with the bit clear the CRC checks are fuzzed;
 *   bit 4     2 decode threads instead of 1 (mode 3);
 *   bit 5     split the first example off as a validation set and fetch it too (mode 3: a shared source).
 * Every outcome must be a status; a fetched batch must have one-hot targets. */
#include "dob/datasets.h"
#include "dob/imagenet.h"
#include "fuzz_util.h"

#define PER (3 * DOB_IMAGENET_SIDE * DOB_IMAGENET_SIDE)
#define BATCH 3
/* mode 1's sink refuses images beyond 4 Mpx: a corrupt scan decodes as grey to the end of the image, and 64 Mpx
 * of it (the preprocessing limit, fuzzed by mode 2) costs ~0.3 s an input; 4 Mpx keeps runs fast */
#define DECODE_MAX_PIXELS ((int64_t)1 << 22)

static uint64_t le64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static void put_le32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* Rewrite the length and data CRCs of the records of b[n] in place, as far as the framing holds. */
static void fix_crcs(uint8_t *b, size_t n) {
    for (size_t off = 0; n - off >= 12;) {
        put_le32(b + off + 8, dob_crc32c_masked(b + off, 8));
        const uint64_t len = le64(b + off);
        if (n - off - 12 < 4 || len > n - off - 16) return;
        put_le32(b + off + 12 + len, dob_crc32c_masked(b + off + 12, (size_t)len));
        off += 16 + (size_t)len;
    }
}

/* ---- JPEG sinks ------------------------------------------------------------------------------------------- */

typedef struct check {
    int64_t h, w, next;
    uint64_t sum;
} check;

static dob_status check_begin(void *ctx, int64_t h, int64_t w) {
    check *c = ctx;
    if (h < 1 || w < 1) abort(); /* libjpeg never gives an empty image */
    if (h * w > DECODE_MAX_PIXELS) return DOB_FAIL(DOB_EFORMAT, "fuzz: image of %lldx%lld", (long long)w, (long long)h);
    c->h = h, c->w = w, c->next = 0;
    return DOB_OK;
}

static void check_row(void *ctx, int64_t r, const uint8_t *rgb) {
    check *c = ctx;
    if (r != c->next++ || r >= c->h) abort(); /* rows 0..h-1, in order */
    for (int64_t i = 0; i < 3 * c->w; i++) c->sum += rgb[i]; /* ASan: the whole row is readable */
}

static void decode(const uint8_t *p, size_t n) {
    check c = {0};
    if (dob_jpeg_decode(p, n, &(dob_jpeg_sink){&c, check_begin, check_row}) == DOB_OK && c.next != c.h) abort();
}

static void preprocess(const uint8_t *p, size_t n, int augment) {
    float *x = malloc(PER * sizeof *x);
    dob_imgpre pre = {0};
    if (x && dob_jpeg_preprocess(p, n, &pre, augment, 1, 2, x) == DOB_OK) {
        for (int64_t i = 0; i < PER; i++)
            if (!(x[i] >= -1e-6f && x[i] <= 1.0f + 1e-6f)) abort(); /* pixels / 255 lerped, or padding */
    }
    dob_imgpre_free(&pre);
    free(x);
}

/* ---- mode 0: records ---------------------------------------------------------------------------------------- */

static void parse(const uint8_t *p, size_t n) {
    const uint8_t *jpeg;
    size_t len;
    int64_t label;
    if (dob_example_parse(p, n, &jpeg, &len, &label) != DOB_OK) return;
    if (jpeg < p || len > (size_t)(p + n - jpeg)) abort(); /* a view into the record */
    decode(jpeg, len);
}

static void records(const uint8_t *b, size_t n) {
    uint64_t len;
    for (size_t off = 0; n - off >= 12;) {
        if (dob_tfrecord_header(b + off, &len, "fuzz") != DOB_OK || n - off - 12 < 4 || len > n - off - 16) break;
        if (dob_tfrecord_check(b + off + 12, len, b + off + 12 + len, "fuzz") == DOB_OK) parse(b + off + 12, len);
        off += 16 + (size_t)len;
    }
    parse(b, n);
}

/* ---- mode 3: the data set ----------------------------------------------------------------------------------- */

/* Every example of d in batches, announcing up to the prefetch depth ahead (src/trainer.c's announce). */
static void fetch_all(const dob_dataset *d, int augment, float *x, float *y) {
    const int64_t n = d->n, nb = (n + BATCH - 1) / BATCH, depth = dob_dataset_prefetch_depth(d);
    uint32_t *idx = malloc((size_t)n * sizeof *idx);
    if (!idx) abort();
    for (int64_t i = 0; i < n; i++) idx[i] = (uint32_t)(n - 1 - i); /* backwards: not the file order */
    int64_t next = 0;
    for (int64_t s = 0; s < nb; s++) {
        for (; next < nb && next < s + depth; next++)
            dob_dataset_prefetch(d, idx + next * BATCH, n - next * BATCH < BATCH ? n - next * BATCH : BATCH,
                                 augment, 7, (uint64_t)(next * BATCH));
        const int64_t b = n - s * BATCH < BATCH ? n - s * BATCH : BATCH;
        if (dob_dataset_fetch(d, idx + s * BATCH, b, augment, 7, (uint64_t)(s * BATCH), x, y) != DOB_OK) continue;
        for (int64_t i = 0; i < b; i++) { /* one-hot rows */
            double sum = 0;
            for (int64_t k = 0; k < DOB_IMAGENET_CLASSES; k++) sum += y[i * DOB_IMAGENET_CLASSES + k];
            if (sum != 1.0) abort();
        }
    }
    free(idx);
}

static void dataset(const uint8_t *b, size_t n, int augment, int threads, int split) {
    char dir[512], path[512];
    snprintf(dir, sizeof dir, "%s/imagenet", fuzz_dir());
    fuzz_rm_tree(dir);
    if (mkdir(dir, 0700) != 0) abort();
    fuzz_file("imagenet/train-00000-of-00001", b, n, path, sizeof path);
    setenv("DOB_DATA_THREADS", threads == 2 ? "2" : "1", 1);
    dob_dataset d, v;
    if (dob_imagenet_load(dir, "train", &d) != DOB_OK) return;
    float *x = malloc(BATCH * PER * sizeof *x), *y = malloc(BATCH * DOB_IMAGENET_CLASSES * sizeof *y);
    if (!x || !y) abort();
    const int has_v = split && d.n > 1 && dob_dataset_split_valid(&d, 1, &v) == DOB_OK;
    fetch_all(&d, augment, x, y);
    if (has_v) {
        fetch_all(&v, 0, x, y);
        dob_dataset_free(&v);
    }
    dob_dataset_free(&d);
    free(x), free(y);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const int mode = data[0] & 3, augment = data[0] >> 2 & 1, fix = data[0] >> 3 & 1;
    const int threads = 1 + (data[0] >> 4 & 1), split = data[0] >> 5 & 1;
    uint8_t *b = malloc(size - 1 ? size - 1 : 1); /* a copy: fix_crcs writes, and ASan sees its exact end */
    if (!b) abort();
    memcpy(b, data + 1, size - 1);
    const size_t n = size - 1;
    if (fix && (mode == 0 || mode == 3)) fix_crcs(b, n);
    switch (mode) {
    case 0: records(b, n); break;
    case 1: decode(b, n); break;
    case 2: preprocess(b, n, augment); break;
    default: dataset(b, n, augment, threads, split); break;
    }
    free(b);
    return 0;
}
