/* svhn.c: SVHN as DeepOBS prepares it (deepobs_prepare_data.sh -> _svhn_preprocess.py, DeepOBS §4.5): CIFAR-10-
 * style records of 1 label byte (0..9; SVHN's label 10 already mapped to 0) + 3 072 image bytes, but the image in
 * HWC order (MATLAB's X[:, :, :, i] written in C order: 32 rows of 32 pixels of R, G, B), not channel-major.
 * Train: data_batch_0.bin, data_batch_1.bin, ... of 12 800 records each, the last one shorter (v1.2's script
 * writes all 73 257 examples in 6 files; v1.1's only 64 000 in 5); test: test_batch.bin (26 032).
 * Output: float32 0..255 in C,H,W (transposed from the file's H,W,C), y one-hot over 10.
 * Checks, each naming the file: no data_batch_0.bin (with how to get the set), not whole 3 073-byte records, empty
 * files, a train file other than the last with a count different from the first, a last file longer than the
 * others, more than 12 800 records per train file, labels > 9. Does not: read the official .mat files (convert
 * them with DeepOBS's script) or dedupe the script's append-mode duplicates. */
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
    "get train_32x32.mat and test_32x32.mat from ufldl.stanford.edu/housenumbers and convert them with DeepOBS's "
    "deepobs_prepare_data.sh -o svhn, so that <data_dir>/svhn holds data_batch_0.bin, data_batch_1.bin, ... and "
    "test_batch.bin";

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
