/* svhn.c: SVHN as DeepOBS prepares it (deepobs_prepare_data.sh -> _svhn_preprocess.py, DeepOBS §4.5): CIFAR-10-
 * style records of 1 label byte (0..9; SVHN's label 10 already mapped to 0) + 3 072 image bytes, but the image in
 * HWC order (MATLAB's X[:, :, :, i] written in C order: 32 rows of 32 pixels of R, G, B), not channel-major.
 * Train: data_batch_0.bin, data_batch_1.bin, ... of 12 800 records each, the last one shorter (v1.2's script
 * writes all 73 257 examples in 6 files; v1.1's only 64 000 in 5); test: test_batch.bin (26 032).
 * Output: float32 0..255 in C,H,W (transposed from the file's H,W,C), y one-hot over 10.
 * Checks, each naming the file: no data_batch_0.bin (with how to get the set), not whole 3 073-byte records, empty
 * files, a train file other than the last with a count different from the first, a last file longer than the
 * others, more than 12 800 records per train file, labels > 9.
 * The official files: when <dir> has no data_batch_0.bin but has train_32x32.mat, the splits come from
 * train_32x32.mat and test_32x32.mat (MATLAB level-5, io/mat5.c): X uint8 32x32x3xN, y Nx1 with 10 meaning 0,
 * mapped as DeepOBS's conversion maps them. Train is all 73 257 examples in file order, DeepOBS v1.2's semantics
 * (its prepared files hold the same examples in the same order, so --valid's first 26 032 are the same); v1.1's
 * conversion kept only the first 64 000 (a bug v1.2 fixed), which dob does not reproduce.
 * Does not: dedupe the DeepOBS script's append-mode duplicates. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dob/datasets.h"

#define PATH_LEN 4096
#define REC 3073
#define PER_FILE 12800
#define MAX_FILES 64

static const char *const HOW =
    "put the official train_32x32.mat and test_32x32.mat (ufldl.stanford.edu/housenumbers) in <data_dir>/svhn, or "
    "the data_batch_0.bin, data_batch_1.bin, ... and test_batch.bin that DeepOBS's deepobs_prepare_data.sh -o svhn "
    "makes of them";

static dob_status read_file(const char *path, uint8_t **buf, int64_t *n, int64_t max) {
    *buf = NULL;
    *n = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        if (e == ENOENT) return DOB_FAIL(DOB_ENOENT, "%s: no such file; %s", path, HOW);
        return DOB_FAIL(DOB_EIO, "%s: cannot open: %s", path, strerror(e));
    }
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(f);
        return DOB_FAIL(DOB_EIO, "%s: expected a regular file", path);
    }
    const size_t size = (size_t)sb.st_size;
    if (size == 0 || size % REC) {
        fclose(f);
        return DOB_FAIL(DOB_EFORMAT, "%s: expected a whole number of 3073-byte SVHN records (DeepOBS format), found "
                        "%zu bytes (%zu records and %zu bytes more)", path, size, size / REC, size % REC);
    }
    if ((int64_t)(size / REC) > max) {
        fclose(f);
        return DOB_FAIL(DOB_EFORMAT, "%s: expected at most %lld records, found %zu (DeepOBS's conversion appends: "
                        "was it run twice?)", path, (long long)max, size / REC);
    }
    uint8_t *p = malloc(size);
    size_t got = p ? fread(p, 1, size, f) : 0;
    fclose(f);
    if (!p || got != size) {
        free(p);
        return p ? DOB_FAIL(DOB_EIO, "%s: read error after %zu of %zu bytes", path, got, size)
                 : DOB_FAIL(DOB_ENOMEM, "%s: out of memory for %zu bytes", path, size);
    }
    *buf = p;
    *n = (int64_t)(size / REC);
    return DOB_OK;
}

static dob_status decode(const char *path, const uint8_t *buf, int64_t n, int64_t at, dob_dataset *out) {
    for (int64_t i = 0; i < n; i++) {
        if (buf[i * REC] > 9)
            return DOB_FAIL(DOB_EFORMAT, "%s: record %lld: expected a label 0..9, found %u", path, (long long)i,
                            (unsigned)buf[i * REC]);
        out->label[at + i] = buf[i * REC];
    }
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) {
        const uint8_t *src = buf + i * REC + 1;                 /* [32][32][3] */
        uint8_t *dst = (uint8_t *)out->x + (at + i) * 3072;     /* [3][32][32] */
        for (int64_t p = 0; p < 1024; p++)
            for (int64_t c = 0; c < 3; c++) dst[c * 1024 + p] = src[p * 3 + c];
    }
    return DOB_OK;
}

static int exists(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* ---- the official train_32x32.mat / test_32x32.mat (io/mat5.c) ------------------------------------------- */

static void dims_str(const dob_mat_var *v, char *buf, size_t len) {
    size_t k = 0;
    buf[0] = '\0';
    for (int i = 0; i < v->ndim && k < len; i++)
        k += (size_t)snprintf(buf + k, len - k, i ? "x%lld" : "%lld", (long long)v->dims[i]);
}

/* X 32x32x3xN and y with N values (N x 1 or 1 x N). */
static dob_status mat_shapes(const char *path, const dob_mat_var *x, const dob_mat_var *y, int64_t *n) {
    char d[128];
    if (x->ndim != 4 || x->dims[0] != 32 || x->dims[1] != 32 || x->dims[2] != 3 || x->dims[3] < 1) {
        dims_str(x, d, sizeof d);
        return DOB_FAIL(DOB_EFORMAT, "%s: expected X of 32x32x3xN (N >= 1), found %s", path, d);
    }
    *n = x->dims[3];
    if (y->ndim != 2 || (int64_t)y->count != *n || (y->dims[0] != 1 && y->dims[1] != 1)) {
        dims_str(y, d, sizeof d);
        return DOB_FAIL(DOB_EFORMAT, "%s: expected y of %lldx1 (one label per image of X), found %s", path,
                        (long long)*n, d);
    }
    return DOB_OK;
}

/* Labels 1..10 (whole numbers of any numeric class), 10 -> 0 as DeepOBS's conversion. */
static dob_status mat_labels(const char *path, const dob_mat_var *y, int64_t n, dob_dataset *out) {
    for (int64_t i = 0; i < n; i++) {
        double v = dob_mat_var_at(y, (size_t)i);
        if (!(v >= 1 && v <= 10 && v == (double)(int)v))
            return DOB_FAIL(DOB_EFORMAT, "%s: y(%lld): expected a label 1..10 (10 = digit 0), found %g", path,
                            (long long)i + 1, v);
        out->label[i] = (int32_t)v % 10;
    }
    return DOB_OK;
}

/* X(h, w, c, i) at h + 32 w + 1024 c + 3072 i (column-major) -> x[i][c][h][w]. uint8 storage is copied as is;
 * any other numeric storage must hold whole numbers 0..255. */
static dob_status mat_pixels(const char *path, const dob_mat_var *x, int64_t n, dob_dataset *out) {
    uint8_t *dst = out->x;
    if (x->type != 2) /* not miUINT8: check every value first */
        for (size_t j = 0; j < x->count; j++) {
            double v = dob_mat_var_at(x, j);
            if (!(v >= 0 && v <= 255 && v == (double)(int)v))
                return DOB_FAIL(DOB_EFORMAT, "%s: X value %zu: expected a whole number 0..255, found %g", path,
                                j + 1, v);
        }
    const uint8_t *src = x->data;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++)
        for (int64_t c = 0; c < 3; c++)
            for (int64_t h = 0; h < 32; h++)
                for (int64_t w = 0; w < 32; w++) {
                    const size_t at = (size_t)(h + 32 * w + 1024 * c + 3072 * i);
                    dst[i * 3072 + c * 1024 + h * 32 + w] =
                        x->type == 2 ? src[at] : (uint8_t)dob_mat_var_at(x, at);
                }
    return DOB_OK;
}

dob_status dob_svhn_mat_load(const char *path, dob_dataset *out) {
    dob_status st = DOB_OK;
    static const char *const names[2] = {"X", "y"};
    dob_mat_var v[2];
    int64_t n = 0;
    memset(out, 0, sizeof *out);
    DOB_TRY(dob_mat5_read(path, 2, names, v));
    DOB_TRY(mat_shapes(path, &v[0], &v[1], &n));
    DOB_TRY(dob_dataset_alloc_as(out, n, 3, (const int64_t[]){3, 32, 32}, 10, DOB_DT_U8, DOB_Y_LABELS));
    DOB_TRY(mat_labels(path, &v[1], n, out));
    DOB_TRY(mat_pixels(path, &v[0], n, out));
    dob_mat_var_free(&v[0]);
    dob_mat_var_free(&v[1]);
    return DOB_OK;
fail:
    dob_mat_var_free(&v[0]);
    dob_mat_var_free(&v[1]);
    dob_dataset_free(out);
    return st;
}

dob_status dob_svhn_load(const char *dir, const char *split, dob_dataset *out) {
    dob_status st = DOB_OK;
    uint8_t *buf[MAX_FILES] = {0};
    int64_t cnt[MAX_FILES] = {0}, total = 0;
    char path[MAX_FILES][PATH_LEN];
    int nf = 0;
    memset(out, 0, sizeof *out);
    const int train = split && !strcmp(split, "train");
    if (!train && !(split && !strcmp(split, "test")))
        return DOB_FAIL(DOB_EINVAL, "svhn: expected split \"train\" or \"test\", found \"%s\"",
                        split ? split : "(null)");
    /* DeepOBS's prepared files when there are any, else the official .mat files */
    if (snprintf(path[0], PATH_LEN, "%s/data_batch_0.bin", dir) >= PATH_LEN)
        return DOB_FAIL(DOB_EINVAL, "%s: expected a path shorter than %d bytes", dir, PATH_LEN);
    if (!exists(path[0])) {
        snprintf(path[1], PATH_LEN, "%s/train_32x32.mat", dir);
        snprintf(path[2], PATH_LEN, "%s/%s_32x32.mat", dir, train ? "train" : "test");
        if (exists(path[1])) return dob_svhn_mat_load(path[2], out);
    }
    for (;; nf++) {
        if (nf == (train ? MAX_FILES : 1)) break;
        int w = train ? snprintf(path[nf], PATH_LEN, "%s/data_batch_%d.bin", dir, nf)
                      : snprintf(path[nf], PATH_LEN, "%s/test_batch.bin", dir);
        if (w < 0 || w >= PATH_LEN) {
            st = DOB_FAIL(DOB_EINVAL, "%s: expected a path shorter than %d bytes", dir, PATH_LEN);
            goto fail;
        }
        if (nf > 0 && !exists(path[nf])) break;
        DOB_TRY(read_file(path[nf], &buf[nf], &cnt[nf], train ? PER_FILE : 26032));
        total += cnt[nf];
    }
    /* files are filled in order: every one but the last as full as the first, the last not fuller */
    for (int f = 1; f < nf; f++)
        if ((f < nf - 1 && cnt[f] != cnt[0]) || cnt[f] > cnt[0]) {
            st = DOB_FAIL(DOB_EFORMAT, "%s: expected %s%lld records like %s, found %lld: a truncated or foreign file",
                          path[f], f < nf - 1 ? "" : "at most ", (long long)cnt[0], path[0], (long long)cnt[f]);
            goto fail;
        }
    /* pixels stay bytes (C,H,W), gathered as float32 0..255; labels ints */
    DOB_TRY(dob_dataset_alloc_as(out, total, 3, (const int64_t[]){3, 32, 32}, 10, DOB_DT_U8, DOB_Y_LABELS));
    for (int64_t f = 0, at = 0; f < nf; at += cnt[f], f++) DOB_TRY(decode(path[f], buf[f], cnt[f], at, out));
    for (int f = 0; f < nf; f++) free(buf[f]);
    return DOB_OK;
fail:
    for (int f = 0; f < nf + 1 && f < MAX_FILES; f++) free(buf[f]);
    dob_dataset_free(out);
    return st;
}
