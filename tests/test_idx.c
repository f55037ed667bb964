/* test_idx.c: in-memory data sets (alloc, slice, gather, the v1.2 validation split), the IDX reader on files
 * written here in exactly the official format (raw and gzip), the MNIST-format loader, its error paths
 * (truncated, wrong magic, count mismatch, bad labels, missing files), data directory resolution, and, when the
 * Debian package dataset-fashion-mnist is installed, the real Fashion-MNIST train and test sets. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "dob/data.h"
#include "dob/datasets.h"
#include "tc.h"

/* ---- fixture: a temp dir and IDX writers --------------------------------------------------------------- */


static void mkdir_p(const char *rel) { mkdir(tc_tmp(rel), 0755); }

/* Write an IDX file: 4 magic bytes, ndim big-endian uint32 dims, payload; gzip through zlib when gz. */
static void write_idx(const char *path, int gz, const unsigned char magic[4], int ndim, const uint32_t *dims,
                      const uint8_t *payload, size_t n) {
    unsigned char h[20];
    memcpy(h, magic, 4);
    for (int i = 0; i < ndim; i++) {
        h[4 + 4 * i] = (unsigned char)(dims[i] >> 24);
        h[5 + 4 * i] = (unsigned char)(dims[i] >> 16);
        h[6 + 4 * i] = (unsigned char)(dims[i] >> 8);
        h[7 + 4 * i] = (unsigned char)dims[i];
    }
    size_t hn = 4 + 4 * (size_t)ndim;
    if (gz) {
        gzFile f = gzopen(path, "wb");
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        CU_ASSERT_EQUAL(gzwrite(f, h, (unsigned)hn), (int)hn);
        if (n) CU_ASSERT_EQUAL(gzwrite(f, payload, (unsigned)n), (int)n);
        CU_ASSERT_EQUAL(gzclose(f), Z_OK);
    } else {
        FILE *f = fopen(path, "wb");
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        CU_ASSERT_EQUAL(fwrite(h, 1, hn, f), hn);
        if (n) CU_ASSERT_EQUAL(fwrite(payload, 1, n, f), n);
        CU_ASSERT_EQUAL(fclose(f), 0);
    }
}

static const unsigned char MAGIC_IMG[4] = {0, 0, 8, 3}, MAGIC_LAB[4] = {0, 0, 8, 1};

/* Known content: pixel(i, r, c) and labels. Pixel 0 of image 0 is 0, pixel 1 of image 1 is 255. */
static uint8_t pixel(int i, int r, int c) {
    if (i == 1 && r == 0 && c == 1) return 255;
    return (uint8_t)((i * 31 + r * 7 + c * 3) % 256);
}
static const uint8_t LABELS[7] = {3, 0, 9, 1, 7, 7, 2};

static uint8_t *make_images(int n) {
    uint8_t *p = malloc((size_t)n * 784);
    for (int i = 0; i < n; i++)
        for (int r = 0; r < 28; r++)
            for (int c = 0; c < 28; c++) p[i * 784 + r * 28 + c] = pixel(i, r, c);
    return p;
}

/* dir/<prefix>-images-idx3-ubyte[.gz] with n images and the labels file with nl labels from `labels`. */
static void write_split(const char *dir, const char *prefix, int gz, int n, int nl, const uint8_t *labels) {
    char ip[512], lp[512];
    snprintf(ip, sizeof ip, "%s/%s-images-idx3-ubyte%s", dir, prefix, gz ? ".gz" : "");
    snprintf(lp, sizeof lp, "%s/%s-labels-idx1-ubyte%s", dir, prefix, gz ? ".gz" : "");
    uint8_t *img = make_images(n);
    write_idx(ip, gz, MAGIC_IMG, 3, (uint32_t[]){(uint32_t)n, 28, 28}, img, (size_t)n * 784);
    write_idx(lp, gz, MAGIC_LAB, 1, (uint32_t[]){(uint32_t)nl}, labels, (size_t)nl);
    free(img);
}

static long file_size(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

/* ---- in-memory data sets ---------------------------------------------------------------------------- */

/* 7 examples of {2,3} floats, x[i][j] = 10 i + j, targets one-hot LABELS[i] over k = 10. */
static void make_small(dob_dataset *d) {
    TC_ASSERT_OK(dob_dataset_alloc(d, 7, 2, (const int64_t[]){2, 3}, 10));
    for (int i = 0; i < 7; i++) {
        for (int j = 0; j < 6; j++) TC_X(*d)[i * 6 + j] = (float)(10 * i + j);
        d->y[i * 10 + LABELS[i]] = 1.0f;
    }
}

static void test_dataset_basics(void) {
    dob_dataset d;
    TC_ASSERT_OK(dob_dataset_alloc(&d, 5, 3, (const int64_t[]){1, 28, 28}, 10));
    CU_ASSERT_EQUAL(dob_dataset_example_size(&d), 784);
    CU_ASSERT_EQUAL((uintptr_t)d.x % 64, 0);
    CU_ASSERT_EQUAL((uintptr_t)d.y % 64, 0);
    double s = 0;
    for (int64_t i = 0; i < 5 * 784; i++) s += TC_X(d)[i] * TC_X(d)[i];
    for (int64_t i = 0; i < 50; i++) s += d.y[i] * d.y[i];
    CU_ASSERT_DOUBLE_EQUAL(s, 0.0, 0.0); /* zeroed */
    dob_dataset_free(&d);
    CU_ASSERT_PTR_NULL(d.x);
    dob_dataset_free(&d); /* twice is fine */
    dob_dataset_free(NULL);

    TC_ASSERT_FAILS(dob_dataset_alloc(&d, 5, 2, (const int64_t[]){28, 0}, 10), DOB_EINVAL,
                    "expected example dim 1 in 1..2^40, found 0");
    TC_ASSERT_FAILS(dob_dataset_alloc(&d, 5, 5, (const int64_t[]){1, 1, 1, 1, 1}, 10), DOB_EINVAL,
                    "expected 1..4 example dims, found 5");
    TC_ASSERT_FAILS(dob_dataset_alloc(&d, -1, 1, (const int64_t[]){3}, 10), DOB_EINVAL, "found -1");

    dob_dataset a, sl;
    make_small(&a);
    TC_ASSERT_OK(dob_dataset_slice(&a, 2, 3, &sl));
    CU_ASSERT_EQUAL(sl.n, 3);
    CU_ASSERT_EQUAL(sl.x_ndim, 2);
    CU_ASSERT_EQUAL(sl.x_dims[1], 3);
    CU_ASSERT_DOUBLE_EQUAL(TC_X(sl)[0], 20.0, 0);
    CU_ASSERT_DOUBLE_EQUAL(TC_X(sl)[17], 45.0, 0);
    CU_ASSERT_DOUBLE_EQUAL(sl.y[0 * 10 + 9], 1.0, 0);
    CU_ASSERT_DOUBLE_EQUAL(sl.y[2 * 10 + 7], 1.0, 0);
    dob_dataset_free(&sl);
    TC_ASSERT_FAILS(dob_dataset_slice(&a, 5, 3, &sl), DOB_EINVAL, "within [0, 7), found [5, 8)");

    /* gather against a naive copy, repeated indices included */
    const uint32_t idx[9] = {6, 0, 3, 3, 1, 5, 2, 4, 6};
    float x[9 * 6], y[9 * 10], wx[9 * 6], wy[9 * 10];
    for (int i = 0; i < 9; i++) {
        for (int j = 0; j < 6; j++) wx[i * 6 + j] = (float)(10 * idx[i] + (uint32_t)j);
        for (int j = 0; j < 10; j++) wy[i * 10 + j] = j == LABELS[idx[i]] ? 1.0f : 0.0f;
    }
    memset(x, 0xff, sizeof x);
    memset(y, 0xff, sizeof y);
    dob_dataset_gather(&a, idx, 9, x, y);
    TC_ASSERT_CLOSE("gather x", x, wx, 9 * 6, 0.0);
    TC_ASSERT_CLOSE("gather y", y, wy, 9 * 10, 0.0);
    dob_dataset_free(&a);
}

/* issue 20: examples kept in their stored type (bytes, int32) with int labels gather to the float32 batches the
 * readers used to build up front, bit for bit: x = (float)v / x_div, one-hot targets; pack + view keep them. */
static void test_dataset_stored_types(void) {
    dob_dataset d, v;
    TC_ASSERT_OK(dob_dataset_alloc_as(&d, 5, 3, (const int64_t[]){1, 4, 4}, 7, DOB_DT_U8, DOB_Y_LABELS));
    d.x_div = 255.0f;
    uint8_t *b = d.x;
    for (int i = 0; i < 5 * 16; i++) b[i] = (uint8_t)(i * 37 + 11);
    for (int i = 0; i < 5; i++) d.label[i] = (i * 3) % 7;
    CU_ASSERT_EQUAL(dob_dataset_bytes(&d), 128 + 64); /* 80 bytes and 5 ints, each rounded to 64 */
    const uint32_t idx[6] = {4, 0, 2, 2, 1, 3};
    float x[6 * 16], y[6 * 7], wx[6 * 16], wy[6 * 7];
    for (int i = 0; i < 6; i++) {
        for (int j = 0; j < 16; j++) wx[i * 16 + j] = (float)(uint8_t)(idx[i] * 16 * 37 + (uint32_t)j * 37 + 11) / 255.0f;
        for (int j = 0; j < 7; j++) wy[i * 7 + j] = j == (int)(idx[i] * 3) % 7 ? 1.0f : 0.0f;
    }
    memset(y, 0xff, sizeof y);
    dob_dataset_gather(&d, idx, 6, x, y);
    CU_ASSERT_EQUAL(memcmp(x, wx, sizeof x), 0); /* bit for bit */
    CU_ASSERT_EQUAL(memcmp(y, wy, sizeof y), 0);
    /* the packed copy (a node's shared window) gathers the same */
    void *packed = aligned_alloc(64, dob_dataset_bytes(&d));
    dob_dataset_pack(&d, packed);
    dob_dataset_view(&d, packed, &v);
    CU_ASSERT(v.borrowed && v.x == packed);
    memset(x, 0, sizeof x);
    dob_dataset_gather(&v, idx, 6, x, y);
    CU_ASSERT_EQUAL(memcmp(x, wx, sizeof x), 0);
    CU_ASSERT_EQUAL(memcmp(y, wy, sizeof y), 0);
    dob_dataset_free(&v); /* borrowed: leaves the packed block */
    CU_ASSERT_EQUAL(((uint8_t *)packed)[1], b[1]);
    free(packed);
    /* valid split and slice keep the storage */
    TC_ASSERT_OK(dob_dataset_split_valid(&d, 2, &v));
    CU_ASSERT(v.x_type == DOB_DT_U8 && v.x_div == 255.0f && d.n == 3 && d.label[0] == 6 && v.label[1] == 3);
    CU_ASSERT_EQUAL(((uint8_t *)d.x)[0], (uint8_t)(2 * 16 * 37 + 11));
    dob_dataset_free(&v);
    dob_dataset_free(&d);
    /* int32 storage, no division */
    TC_ASSERT_OK(dob_dataset_alloc_as(&d, 2, 1, (const int64_t[]){3}, 0, DOB_DT_I32, DOB_Y_ROWS));
    int32_t *w = d.x;
    for (int i = 0; i < 6; i++) w[i] = 1000000 * i - 7;
    dob_dataset_gather(&d, (const uint32_t[]){1}, 1, x, NULL);
    CU_ASSERT(x[0] == 2999993.0f && x[2] == 4999993.0f);
    dob_dataset_free(&d);
    TC_ASSERT_FAILS(dob_dataset_alloc_as(&d, 2, 1, (const int64_t[]){3}, 4, DOB_DT_U8, DOB_Y_NEXT), DOB_EINVAL,
                    "a stream's targets are its next 3 values, found k = 4");
}

static void test_split_valid(void) {
    dob_dataset tr, va;
    make_small(&tr);
    TC_ASSERT_OK(dob_dataset_split_valid(&tr, 3, &va));
    CU_ASSERT_EQUAL(va.n, 3);
    CU_ASSERT_EQUAL(tr.n, 4);
    CU_ASSERT_EQUAL(va.x_dims[0], 2);
    CU_ASSERT_EQUAL(va.k, 10);
    for (int i = 0; i < 3; i++) { /* valid = first 3 in file order */
        CU_ASSERT_DOUBLE_EQUAL(TC_X(va)[i * 6 + 5], 10 * i + 5, 0);
        CU_ASSERT_DOUBLE_EQUAL(va.y[i * 10 + LABELS[i]], 1.0, 0);
    }
    for (int i = 0; i < 4; i++) { /* train = the rest, in order */
        CU_ASSERT_DOUBLE_EQUAL(TC_X(tr)[i * 6 + 0], 10 * (i + 3), 0);
        CU_ASSERT_DOUBLE_EQUAL(TC_X(tr)[i * 6 + 4], 10 * (i + 3) + 4, 0);
        CU_ASSERT_DOUBLE_EQUAL(tr.y[i * 10 + LABELS[i + 3]], 1.0, 0);
    }
    dob_dataset bad;
    TC_ASSERT_FAILS(dob_dataset_split_valid(&tr, 4, &bad), DOB_EINVAL,
                    "expected 1 <= n_valid < 4 training examples, found 4");
    TC_ASSERT_FAILS(dob_dataset_split_valid(&tr, 0, &bad), DOB_EINVAL, "found 0");
    CU_ASSERT_EQUAL(tr.n, 4);
    dob_dataset_free(&tr);
    dob_dataset_free(&va);
}

/* ---- IDX reader ---------------------------------------------------------------------------------------- */

static void test_idx_raw_and_gzip(void) {
    uint8_t *img = make_images(7);
    for (int gz = 0; gz < 2; gz++) {
        const char *p = tc_tmp(gz ? "img.gz" : "img.raw");
        write_idx(p, gz, MAGIC_IMG, 3, (uint32_t[]){7, 28, 28}, img, 7 * 784);
        dob_idx d;
        TC_ASSERT_OK(dob_idx_read(p, &d));
        CU_ASSERT_EQUAL(d.ndim, 3);
        CU_ASSERT_EQUAL(d.dims[0], 7);
        CU_ASSERT_EQUAL(d.dims[1], 28);
        CU_ASSERT_EQUAL(d.dims[2], 28);
        CU_ASSERT_EQUAL(d.count, 7 * 784);
        CU_ASSERT(d.data && memcmp(d.data, img, 7 * 784) == 0);
        dob_idx_free(&d);
    }
    /* 4 dims (magic 0x804) and 1 dim (labels) */
    uint8_t q[120];
    for (int i = 0; i < 120; i++) q[i] = (uint8_t)(i * 2);
    write_idx(tc_tmp("four.gz"), 1, (const unsigned char[]){0, 0, 8, 4}, 4, (uint32_t[]){2, 3, 4, 5}, q, 120);
    dob_idx d;
    TC_ASSERT_OK(dob_idx_read(tc_tmp("four.gz"), &d));
    CU_ASSERT_EQUAL(d.ndim, 4);
    CU_ASSERT_EQUAL(d.dims[3], 5);
    CU_ASSERT_EQUAL(d.count, 120);
    CU_ASSERT_EQUAL(d.data[119], 238);
    dob_idx_free(&d);
    write_idx(tc_tmp("lab.raw"), 0, MAGIC_LAB, 1, (uint32_t[]){7}, LABELS, 7);
    TC_ASSERT_OK(dob_idx_read(tc_tmp("lab.raw"), &d));
    CU_ASSERT_EQUAL(d.ndim, 1);
    CU_ASSERT_EQUAL(d.count, 7);
    CU_ASSERT_EQUAL(d.data[2], 9);
    dob_idx_free(&d);
    dob_idx_free(NULL);
    free(img);
}

/* Cut a file to `keep` bytes. */
static void cut(const char *path, long keep) { CU_ASSERT_EQUAL(truncate(path, keep), 0); }

static void test_idx_errors(void) {
    uint8_t *img = make_images(7);
    dob_idx d;
    /* truncated gzip, cut in the middle of the deflate stream: message names the file */
    const char *p = tc_tmp("trunc.gz");
    write_idx(p, 1, MAGIC_IMG, 3, (uint32_t[]){7, 28, 28}, img, 7 * 784);
    long full = file_size(p);
    CU_ASSERT(full > 100);
    cut(p, full / 2);
    TC_ASSERT_FAILS(dob_idx_read(p, &d), DOB_EFORMAT, "truncated: expected 5488 bytes, found");
    TC_ASSERT_FAILS(dob_idx_read(p, &d), DOB_EFORMAT, "trunc.gz");
    CU_ASSERT_PTR_NULL(d.data);
    /* gzip cut inside its 8-byte trailer: all data decompresses, the stream end is missing */
    write_idx(p, 1, MAGIC_IMG, 3, (uint32_t[]){7, 28, 28}, img, 7 * 784);
    cut(p, full - 3);
    TC_ASSERT_FAILS(dob_idx_read(p, &d), DOB_EFORMAT, "truncated");
    /* gzip cut inside its 10-byte header */
    write_idx(p, 1, MAGIC_IMG, 3, (uint32_t[]){7, 28, 28}, img, 7 * 784);
    cut(p, 5);
    TC_ASSERT_FAILS(dob_idx_read(p, &d), DOB_EFORMAT, "truncated");
    /* gzip with a wrong CRC (first trailer byte flipped) */
    write_idx(p, 1, MAGIC_IMG, 3, (uint32_t[]){7, 28, 28}, img, 7 * 784);
    FILE *f = fopen(p, "r+b");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fseek(f, full - 8, SEEK_SET);
    int c = fgetc(f);
    fseek(f, full - 8, SEEK_SET);
    fputc(c ^ 0x55, f);
    fclose(f);
    TC_ASSERT_FAILS(dob_idx_read(p, &d), DOB_EFORMAT, "corrupt gzip data");

    /* raw truncated payload: exact counts */
    p = tc_tmp("trunc.raw");
    write_idx(p, 0, MAGIC_IMG, 3, (uint32_t[]){7, 28, 28}, img, 7 * 784);
    cut(p, 16 + 1000);
    TC_ASSERT_FAILS(dob_idx_read(p, &d), DOB_EFORMAT, "truncated: expected 5488 bytes, found 1000");
    cut(p, 6);
    TC_ASSERT_FAILS(dob_idx_read(p, &d), DOB_EFORMAT, "truncated: expected 12 bytes of IDX dims after the magic, "
                                                      "found 2");
    /* trailing data */
    write_idx(p, 0, MAGIC_LAB, 1, (uint32_t[]){6}, LABELS, 7);
    TC_ASSERT_FAILS(dob_idx_read(p, &d), DOB_EFORMAT, "expected 6 payload bytes after the header, found more");

    /* wrong magics: signed byte type, float type, 0 dims, a CIFAR-like first byte, an HTML error page */
    p = tc_tmp("magic.gz");
    write_idx(p, 1, (const unsigned char[]){0, 0, 9, 3}, 3, (uint32_t[]){7, 28, 28}, img, 7 * 784);
    TC_ASSERT_FAILS(dob_idx_read(p, &d), DOB_EFORMAT,
                    "expected IDX magic 0x00000801 or 0x00000803 (ubyte), found 0x00000903");
    write_idx(p, 0, (const unsigned char[]){0, 0, 0x0d, 1}, 1, (uint32_t[]){1}, img, 4);
    TC_ASSERT_FAILS(dob_idx_read(p, &d), DOB_EFORMAT, "found 0x00000d01 (an IDX file of another element type");
    write_idx(p, 0, (const unsigned char[]){0, 0, 8, 0}, 0, NULL, img, 4);
    TC_ASSERT_FAILS(dob_idx_read(p, &d), DOB_EFORMAT, "found 0x00000800");
    write_idx(p, 0, (const unsigned char[]){6, 0, 8, 3}, 3, (uint32_t[]){7, 28, 28}, img, 7 * 784);
    TC_ASSERT_FAILS(dob_idx_read(p, &d), DOB_EFORMAT, "found 0x06000803");
    write_idx(p, 1, (const unsigned char[]){'<', '!', 'D', 'O'}, 0, NULL, (const uint8_t *)"CTYPE html>", 11);
    TC_ASSERT_FAILS(dob_idx_read(p, &d), DOB_EFORMAT, "found 0x3c21444f (an HTML page");
    /* an empty file and a huge header on a tiny file (no huge allocation, a truncation message) */
    write_idx(p, 0, (const unsigned char[]){0, 0, 8, 3}, 0, NULL, NULL, 0);
    cut(p, 0);
    TC_ASSERT_FAILS(dob_idx_read(p, &d), DOB_EFORMAT, "truncated: expected a 4-byte IDX magic, found 0 bytes");
    write_idx(p, 0, MAGIC_IMG, 3, (uint32_t[]){4000000000u, 4000000000u, 28}, img, 10);
    TC_ASSERT_FAILS(dob_idx_read(p, &d), DOB_EFORMAT, "at most 2^36 bytes");
    write_idx(p, 0, MAGIC_IMG, 3, (uint32_t[]){60000, 1000, 1000}, img, 10);
    TC_ASSERT_FAILS(dob_idx_read(p, &d), DOB_EFORMAT, "truncated: expected 60000000000 bytes, found 10");
    /* missing file */
    TC_ASSERT_FAILS(dob_idx_read(tc_tmp("nope.gz"), &d), DOB_ENOENT, "nope.gz: no such file");
    free(img);
}

/* ---- MNIST-format loader ------------------------------------------------------------------------------- */

/* The loaded set keeps the file's bytes (issue 20); its batches must be bit-equal to the float path of before,
 * pixel / 255.0f computed here naively, so the check runs on what dob_dataset_gather makes of it. */
static void check_loaded(const dob_dataset *stored, int n, const uint8_t *labels) {
    CU_ASSERT_EQUAL_FATAL(stored->n, n);
    CU_ASSERT(stored->x_type == DOB_DT_U8 && stored->y_type == DOB_Y_LABELS);
    dob_dataset f = *stored, *d = &f;
    f.borrowed = 1; /* a header copy: tc_as_f32 frees only what it made */
    tc_as_f32(d);
    CU_ASSERT_EQUAL(d->x_ndim, 3);
    CU_ASSERT_EQUAL(d->x_dims[0], 1);
    CU_ASSERT_EQUAL(d->x_dims[1], 28);
    CU_ASSERT_EQUAL(d->x_dims[2], 28);
    CU_ASSERT_EQUAL(d->k, 10);
    int bad = 0;
    for (int i = 0; i < n; i++)
        for (int r = 0; r < 28; r++)
            for (int c = 0; c < 28; c++) {
                float want = (float)pixel(i, r, c) / 255.0f, got = TC_X(*d)[i * 784 + r * 28 + c];
                if (got != want && bad++ < 3)
                    fprintf(stderr, "\n    x[%d,0,%d,%d]: expected %.9g, found %.9g", i, r, c, want, got);
            }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_DOUBLE_EQUAL(TC_X(*d)[0], 0.0, 0);           /* pixel 0 -> 0 */
    CU_ASSERT_DOUBLE_EQUAL(TC_X(*d)[784 + 1], 1.0, 0);     /* pixel 255 -> 1 exactly */
    CU_ASSERT_DOUBLE_EQUAL(TC_X(*d)[2], 6.0 / 255, 1e-8);  /* image 0, (0, 2): 6 */
    for (int i = 0; i < n; i++)
        for (int j = 0; j < 10; j++) CU_ASSERT_EQUAL(d->y[i * 10 + j], j == labels[i] ? 1.0f : 0.0f);
    dob_dataset_free(d);
}

static void test_mnist_load(void) {
    static const uint8_t test_labels[5] = {5, 4, 3, 2, 1}, other[7] = {1, 1, 1, 1, 1, 1, 1};
    mkdir_p("gzset");
    mkdir_p("rawset");
    write_split(tc_tmp("gzset"), "train", 1, 7, 7, LABELS);
    write_split(tc_tmp("gzset"), "t10k", 1, 5, 5, test_labels);
    write_split(tc_tmp("gzset"), "train", 0, 7, 7, other); /* .gz is preferred over these */
    write_split(tc_tmp("rawset"), "train", 0, 7, 7, LABELS);
    dob_dataset d;
    TC_ASSERT_OK(dob_mnist_load(tc_tmp("gzset"), "train", &d));
    check_loaded(&d, 7, LABELS);
    dob_dataset_free(&d);
    TC_ASSERT_OK(dob_mnist_load(tc_tmp("gzset/"), "test", &d));
    check_loaded(&d, 5, test_labels);
    dob_dataset_free(&d);
    TC_ASSERT_OK(dob_mnist_load(tc_tmp("rawset"), "train", &d)); /* falls back to the uncompressed names */
    check_loaded(&d, 7, LABELS);
    dob_dataset_free(&d);
}

static void test_mnist_errors(void) {
    static const uint8_t bad_label[7] = {3, 0, 9, 1, 12, 7, 2};
    dob_dataset d;
    mkdir_p("mis");
    write_split(tc_tmp("mis"), "train", 1, 7, 6, LABELS);
    TC_ASSERT_FAILS(dob_mnist_load(tc_tmp("mis"), "train", &d), DOB_EFORMAT,
                    "expected as many labels as images, found 7 images in");
    CU_ASSERT_PTR_NULL(d.x);
    write_split(tc_tmp("mis"), "train", 1, 7, 7, bad_label);
    TC_ASSERT_FAILS(dob_mnist_load(tc_tmp("mis"), "train", &d), DOB_EFORMAT,
                    "expected labels 0..9, found 12 at index 4");
    TC_ASSERT_FAILS(dob_mnist_load(tc_tmp("mis"), "test", &d), DOB_ENOENT, "missing t10k-images-idx3-ubyte.gz");
    /* a directory in place of the file is named as such, not as missing (issue 14) */
    mkdir_p("mis/t10k-images-idx3-ubyte.gz");
    TC_ASSERT_FAILS(dob_mnist_load(tc_tmp("mis"), "test", &d), DOB_EFORMAT,
                    "t10k-images-idx3-ubyte.gz is a directory, expected the IDX file t10k-images-idx3-ubyte");
    rmdir(tc_tmp("mis/t10k-images-idx3-ubyte.gz"));
    TC_ASSERT_FAILS(dob_mnist_load(tc_tmp("mis"), "valid", &d), DOB_EINVAL, "expected split \"train\" or \"test\"");
    /* images of the wrong size, and a labels file where the images should be */
    uint8_t *img = make_images(7);
    write_idx(tc_tmp("mis/t10k-images-idx3-ubyte.gz"), 1, MAGIC_IMG, 3, (uint32_t[]){7, 27, 28}, img, 7 * 27 * 28);
    write_idx(tc_tmp("mis/t10k-labels-idx1-ubyte.gz"), 1, MAGIC_LAB, 1, (uint32_t[]){7}, LABELS, 7);
    TC_ASSERT_FAILS(dob_mnist_load(tc_tmp("mis"), "test", &d), DOB_EFORMAT,
                    "dims {n, 28, 28}), found 3 dims {7, 27, 28}");
    write_idx(tc_tmp("mis/t10k-images-idx3-ubyte.gz"), 1, MAGIC_LAB, 1, (uint32_t[]){7}, LABELS, 7);
    TC_ASSERT_FAILS(dob_mnist_load(tc_tmp("mis"), "test", &d), DOB_EFORMAT,
                    "expected MNIST images (IDX magic 0x00000803");
    /* a truncated image file is reported by name through the loader */
    write_idx(tc_tmp("mis/t10k-images-idx3-ubyte.gz"), 1, MAGIC_IMG, 3, (uint32_t[]){7, 28, 28}, img, 7 * 784);
    cut(tc_tmp("mis/t10k-images-idx3-ubyte.gz"), file_size(tc_tmp("mis/t10k-images-idx3-ubyte.gz")) / 2);
    TC_ASSERT_FAILS(dob_mnist_load(tc_tmp("mis"), "test", &d), DOB_EFORMAT, "t10k-images-idx3-ubyte.gz: truncated");
    free(img);
    TC_ASSERT_FAILS(dob_mnist_load(tc_tmp("no_such_dir"), "train", &d), DOB_ENOENT,
                    "missing train-images-idx3-ubyte.gz");
}

/* ---- data directory resolution --------------------------------------------------------------------------- */

static void test_data_dir(void) {
    char out[512], cwd[1024];
    const char *old_env = getenv("DOB_DATA_DIR");
    char *saved_env = old_env ? strdup(old_env) : NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(getcwd(cwd, sizeof cwd));
    unsetenv("DOB_DATA_DIR");

    /* D holds the files directly (Debian layout) */
    mkdir_p("flat");
    write_split(tc_tmp("flat"), "train", 1, 2, 2, LABELS);
    TC_ASSERT_OK(dob_data_dir_resolve(tc_tmp("flat"), "fmnist", out, sizeof out));
    CU_ASSERT_STRING_EQUAL(out, tc_tmp("flat"));
    /* D/fmnist (DeepOBS layout) is preferred over D */
    mkdir_p("flat/fmnist");
    TC_ASSERT_OK(dob_data_dir_resolve(tc_tmp("flat"), "fmnist", out, sizeof out));
    CU_ASSERT_STRING_EQUAL(out, tc_tmp("flat/fmnist"));
    TC_ASSERT_OK(dob_data_dir_resolve(tc_tmp("flat/"), "fmnist", out, sizeof out));
    CU_ASSERT_STRING_EQUAL(out, tc_tmp("flat/fmnist"));
    /* a D without either: ENOENT listing D, with the how-to */
    mkdir_p("empty");
    TC_ASSERT_FAILS(dob_data_dir_resolve(tc_tmp("empty"), "fmnist", out, sizeof out), DOB_ENOENT,
                    "apt-get install dataset-fashion-mnist");
    CU_ASSERT_PTR_NOT_NULL(strstr(dob_last_error(), tc_tmp("empty/fmnist")));
    TC_ASSERT_FAILS(dob_data_dir_resolve(tc_tmp("missing"), "mnist", out, sizeof out), DOB_ENOENT,
                    "deepobs_prepare_data.sh -o mnist");
    CU_ASSERT_PTR_NOT_NULL(strstr(dob_last_error(), "yann.lecun.com/exdb/mnist"));
    CU_ASSERT_PTR_NOT_NULL(strstr(dob_last_error(), tc_tmp("missing")));
    /* ImageNet: D itself holds shards of any count or the class folders (--data_dir pointed at .../imagenet) */
    mkdir_p("inet_shards");
    write_split(tc_tmp("inet_shards"), "train", 1, 2, 2, LABELS); /* not ImageNet's files: not found */
    TC_ASSERT_FAILS(dob_data_dir_resolve(tc_tmp("inet_shards"), "imagenet", out, sizeof out), DOB_ENOENT,
                    "no train-*-of-* or train/ in it");
    FILE *f = fopen(tc_tmp("inet_shards/train-00000-of-00002"), "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fclose(f);
    TC_ASSERT_OK(dob_data_dir_resolve(tc_tmp("inet_shards"), "imagenet", out, sizeof out));
    CU_ASSERT_STRING_EQUAL(out, tc_tmp("inet_shards"));
    mkdir_p("inet_folders");
    mkdir_p("inet_folders/train-1-of-2"); /* a directory matches no shard pattern */
    TC_ASSERT_FAILS(dob_data_dir_resolve(tc_tmp("inet_folders"), "imagenet", out, sizeof out), DOB_ENOENT,
                    "image-net.org");
    mkdir_p("inet_folders/train");
    TC_ASSERT_OK(dob_data_dir_resolve(tc_tmp("inet_folders"), "imagenet", out, sizeof out));
    CU_ASSERT_STRING_EQUAL(out, tc_tmp("inet_folders"));
    TC_ASSERT_FAILS(dob_data_dir_resolve(tc_tmp("flat"), "fmnist", out, 8), DOB_EINVAL, "shorter than 8 bytes");
    TC_ASSERT_FAILS(dob_data_dir_resolve(NULL, "../x", out, sizeof out), DOB_EINVAL, "data set name");

    /* $DOB_DATA_DIR: same two rules; an explicit --data_dir wins over it */
    mkdir_p("env");
    mkdir_p("env/mnist");
    setenv("DOB_DATA_DIR", tc_tmp("env"), 1);
    TC_ASSERT_OK(dob_data_dir_resolve(NULL, "mnist", out, sizeof out));
    CU_ASSERT_STRING_EQUAL(out, tc_tmp("env/mnist"));
    TC_ASSERT_OK(dob_data_dir_resolve("", "mnist", out, sizeof out));
    CU_ASSERT_STRING_EQUAL(out, tc_tmp("env/mnist"));
    TC_ASSERT_FAILS(dob_data_dir_resolve(tc_tmp("empty"), "mnist", out, sizeof out), DOB_ENOENT, "--data_dir");
    setenv("DOB_DATA_DIR", tc_tmp("flat"), 1);
    TC_ASSERT_OK(dob_data_dir_resolve(NULL, "mnist", out, sizeof out)); /* flat holds the files */
    CU_ASSERT_STRING_EQUAL(out, tc_tmp("flat"));
    unsetenv("DOB_DATA_DIR");

    /* ./data_deepobs/<dataset> relative to the working directory, tried last */
    CU_ASSERT_EQUAL_FATAL(chdir(tc_tmpdir), 0);
    TC_ASSERT_FAILS(dob_data_dir_resolve(NULL, "mnist", out, sizeof out), DOB_ENOENT, "$DOB_DATA_DIR (unset)");
    CU_ASSERT_PTR_NOT_NULL(strstr(dob_last_error(), "./data_deepobs/mnist"));
    mkdir_p("data_deepobs");
    mkdir_p("data_deepobs/mnist");
    TC_ASSERT_OK(dob_data_dir_resolve(NULL, "mnist", out, sizeof out));
    CU_ASSERT_STRING_EQUAL(out, "data_deepobs/mnist");
    /* fmnist: the Debian package directory comes before ./data_deepobs */
    mkdir_p("data_deepobs/fmnist");
    TC_ASSERT_OK(dob_data_dir_resolve(NULL, "fmnist", out, sizeof out));
    int have_pkg = file_size("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz") > 0;
    CU_ASSERT_STRING_EQUAL(out, have_pkg ? "/usr/share/datasets/fashion-mnist" : "data_deepobs/fmnist");
    CU_ASSERT_EQUAL(chdir(cwd), 0);
    if (saved_env) setenv("DOB_DATA_DIR", saved_env, 1);
    free(saved_env);
}

/* ---- the real Fashion-MNIST (Debian dataset-fashion-mnist) ---------------------------------------------- */

#define FMNIST "/usr/share/datasets/fashion-mnist"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Counts, label histogram, pixel range, and sums cross-checked with Python's gzip on the same files. */
static void check_real(const dob_dataset *stored, int64_t n, int per_class, const uint8_t first[10], int64_t sum0,
                       int64_t sum_all) {
    CU_ASSERT_EQUAL_FATAL(stored->n, n);
    dob_dataset f = *stored, *d = &f;
    f.borrowed = 1; /* a header copy: tc_as_f32 frees only what it made */
    tc_as_f32(d);
    int64_t hist[10] = {0}, not_one_hot = 0;
    for (int64_t i = 0; i < n; i++) {
        int arg = -1, ones = 0;
        for (int j = 0; j < 10; j++)
            if (d->y[i * 10 + j] == 1.0f) arg = j, ones++;
            else if (d->y[i * 10 + j] != 0.0f) not_one_hot++;
        if (ones != 1) not_one_hot++;
        else hist[arg]++;
        if (i < 10 && arg != first[i]) {
            fprintf(stderr, "\n    label[%lld]: expected %d, found %d", (long long)i, first[i], arg);
            CU_FAIL("first labels");
        }
    }
    CU_ASSERT_EQUAL(not_one_hot, 0);
    for (int j = 0; j < 10; j++) {
        if (hist[j] != per_class) {
            fprintf(stderr, "\n    class %d: expected %d examples, found %lld", j, per_class, (long long)hist[j]);
            CU_FAIL("label histogram");
        }
    }
    /* every value is some byte / 255 exactly; the bytes summed back must match the file */
    float lo = 1, hi = 0;
    int64_t s0 = 0, s = 0, not_byte = 0;
    for (int64_t i = 0; i < n * 784; i++) {
        float v = TC_X(*d)[i];
        if (v < lo) lo = v;
        if (v > hi) hi = v;
        long p = lround((double)v * 255.0);
        if (p < 0 || p > 255 || (float)p / 255.0f != v) not_byte++;
        s += p;
        if (i < 784) s0 += p;
    }
    CU_ASSERT_EQUAL(not_byte, 0);
    CU_ASSERT_DOUBLE_EQUAL(lo, 0.0, 0);
    CU_ASSERT_DOUBLE_EQUAL(hi, 1.0, 0);
    if (s0 != sum0 || s != sum_all) {
        fprintf(stderr, "\n    pixel sums: expected %lld / %lld, found %lld / %lld", (long long)sum0,
                (long long)sum_all, (long long)s0, (long long)s);
        CU_FAIL("pixel sums");
    }
    dob_dataset_free(d);
}

static void test_fmnist_real(void) {
    if (file_size(FMNIST "/train-images-idx3-ubyte.gz") <= 0) {
        printf("\n    note: %s not installed (apt-get install dataset-fashion-mnist); "
               "real-data test skipped ", FMNIST);
        return;
    }
    static const uint8_t first_train[10] = {9, 0, 0, 3, 0, 2, 7, 2, 5, 5};
    static const uint8_t first_test[10] = {9, 2, 1, 1, 6, 1, 4, 6, 5, 7};
    dob_dataset tr, te, va;
    double t0 = now();
    TC_ASSERT_OK(dob_mnist_load(FMNIST, "train", &tr));
    double t1 = now();
    TC_ASSERT_OK(dob_mnist_load(FMNIST, "test", &te));
    double t2 = now();
    printf("\n    Fashion-MNIST load: train 60000 in %.3f s, test 10000 in %.3f s ", t1 - t0, t2 - t1);
    check_real(&tr, 60000, 6000, first_train, 76247, 3431114169);
    check_real(&te, 10000, 1000, first_test, 33456, 573469082);
    /* the v1.2 split: 50 000 train + 10 000 valid, valid = the first 10 000 */
    const uint8_t *bx = tr.x;
    const int x0 = bx[300], x10000 = bx[10000 * 784 + 300];
    TC_ASSERT_OK(dob_dataset_split_valid(&tr, 10000, &va));
    CU_ASSERT_EQUAL(tr.n, 50000);
    CU_ASSERT_EQUAL(va.n, 10000);
    CU_ASSERT_EQUAL(((const uint8_t *)va.x)[300], x0);
    CU_ASSERT_EQUAL(((const uint8_t *)tr.x)[300], x10000);
    CU_ASSERT_EQUAL(va.label[0], 9);
    dob_dataset_free(&tr);
    dob_dataset_free(&te);
    dob_dataset_free(&va);
}

static CU_TestInfo tests[] = {
    {"dataset_basics", test_dataset_basics},
    {"dataset_stored_types", test_dataset_stored_types},
    {"split_valid", test_split_valid},
    {"idx_raw_and_gzip", test_idx_raw_and_gzip},
    {"idx_errors", test_idx_errors},
    {"mnist_load", test_mnist_load},
    {"mnist_errors", test_mnist_errors},
    {"data_dir", test_data_dir},
    {"fmnist_real", test_fmnist_real},
    CU_TEST_INFO_NULL,
};
CU_SuiteInfo idx_suite = {"idx", tc_tmp_init, tc_tmp_clean, NULL, NULL, tests};
