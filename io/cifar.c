/* cifar.c: the CIFAR-10 and CIFAR-100 binary distribution formats (www.cs.toronto.edu/~kriz/cifar.html) and the
 * DeepOBS splits of them (DeepOBS §4.3, §4.4).
 *
 * CIFAR-10: data_batch_1.bin .. data_batch_5.bin (train) and test_batch.bin, fixed records of 3 073 bytes:
 * 1 label byte (0..9), then 3 072 pixel bytes channel-major (1 024 R, 1 024 G, 1 024 B, each row-major 32x32).
 * CIFAR-100: train.bin and test.bin, records of 3 074 bytes: coarse label (0..19), fine label (0..99), pixels.
 * DeepOBS reads the fine label. DeepOBS TF (v1.1 and v1.2b) reads the 3 072 image bytes from record offset 1, not
 * 2: the first red value is the fine-label byte, every plane shifts by one value and the last blue pixel is lost.
 * By default we reproduce that (numbers compare with DeepOBS's baselines); fix_offset = 1 reads offset 2.
 *
 * Output: x = pixel bytes as float32 in 0..255 (TF casts without rescaling; per-image standardisation happens in
 * the preprocessing, src/data/augment.c), dims {3, 32, 32} = the files' channel-major order, which is our
 * N,C,H,W. y one-hot over 10 or 100 classes. Train files are concatenated in numeric order (DeepOBS shuffles the
 * file names each time; its examples are shuffled anyway, and a fixed order makes the v1.2 valid split, the first
 * 10 000 records, reproducible).
 *
 * Checks, each one line naming the file: missing file (with how to get the set), a size that is not a whole
 * number of records (truncated or another format), an empty file, more records than the official file holds,
 * train batch files of different record counts (the official five hold 10 000 each), label bytes out of range.
 * A file cut exactly at a record boundary cannot be told from a smaller generated set; the loaded counts are
 * printed by `dob run`. Does not: read the Python-pickle or MATLAB versions of CIFAR. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dob/datasets.h"

#define PATH_LEN 4096
#define IMG_BYTES 3072

typedef struct cifar_fmt {
    const char *set;        /* "CIFAR-10" */
    int label_bytes;        /* bytes before the image: 1 or 2 */
    int label_at;           /* byte holding the label DeepOBS uses */
    int64_t classes;
    int64_t max_per_file_train, max_per_file_test;
} cifar_fmt;

static const cifar_fmt C10 = {"CIFAR-10", 1, 0, 10, 10000, 10000};
static const cifar_fmt C100 = {"CIFAR-100", 2, 1, 100, 50000, 10000};

/* Read a whole file. *buf is malloc'ed; DOB_ENOENT names the file and how to get the set. */
static dob_status slurp(const char *path, const char *how, uint8_t **buf, size_t *n) {
    *buf = NULL;
    *n = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        if (e == ENOENT) return DOB_FAIL(DOB_ENOENT, "%s: no such file; %s", path, how);
        return DOB_FAIL(DOB_EIO, "%s: cannot open: %s", path, strerror(e));
    }
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(f);
        return DOB_FAIL(DOB_EIO, "%s: expected a regular file", path);
    }
    size_t size = (size_t)sb.st_size;
    uint8_t *p = malloc(size ? size : 1);
    if (!p) {
        fclose(f);
        return DOB_FAIL(DOB_ENOMEM, "%s: out of memory for %zu bytes", path, size);
    }
    size_t got = fread(p, 1, size, f);
    int err = ferror(f);
    fclose(f);
    if (err || got != size) {
        free(p);
        return DOB_FAIL(DOB_EIO, "%s: read error after %zu of %zu bytes", path, got, size);
    }
    *buf = p;
    *n = size;
    return DOB_OK;
}

/* Number of records in a file of `size` bytes, or a DOB_EFORMAT naming the file. */
static dob_status count_records(const char *path, const cifar_fmt *fmt, size_t size, int64_t max, int64_t *n) {
    const size_t rec = (size_t)(fmt->label_bytes + IMG_BYTES);
    if (size == 0)
        return DOB_FAIL(DOB_EFORMAT, "%s: empty file: expected %s records of %zu bytes", path, fmt->set, rec);
    if (size % rec)
        return DOB_FAIL(DOB_EFORMAT, "%s: expected a whole number of %zu-byte %s records, found %zu bytes (%zu "
                        "records and %zu bytes more: truncated or not the binary version)", path, rec, fmt->set,
                        size, size / rec, size % rec);
    if ((int64_t)(size / rec) > max)
        return DOB_FAIL(DOB_EFORMAT, "%s: expected at most %lld %s records, found %zu", path, (long long)max,
                        fmt->set, size / rec);
    *n = (int64_t)(size / rec);
    return DOB_OK;
}

/* Decode n records of buf into examples [at, at + n) of out. */
static dob_status decode(const char *path, const cifar_fmt *fmt, int fix_offset, const uint8_t *buf, int64_t n,
                         int64_t at, dob_dataset *out) {
    const int64_t rec = fmt->label_bytes + IMG_BYTES;
    /* CIFAR-100 quirk (DeepOBS TF): image bytes from offset 1 unless fixed */
    const int64_t img_at = fmt->label_bytes == 2 && !fix_offset ? 1 : fmt->label_bytes;
    for (int64_t i = 0; i < n; i++) {
        const uint8_t *r = buf + i * rec;
        if (fmt->label_bytes == 2 && r[0] >= 20)
            return DOB_FAIL(DOB_EFORMAT, "%s: record %lld: expected a coarse label 0..19, found %u", path,
                            (long long)i, (unsigned)r[0]);
        if (r[fmt->label_at] >= fmt->classes)
            return DOB_FAIL(DOB_EFORMAT, "%s: record %lld: expected a %slabel 0..%lld, found %u", path, (long long)i,
                            fmt->label_bytes == 2 ? "fine " : "", (long long)fmt->classes - 1,
                            (unsigned)r[fmt->label_at]);
        out->label[at + i] = r[fmt->label_at];
    }
    for (int64_t i = 0; i < n; i++)
        memcpy((uint8_t *)out->x + (at + i) * IMG_BYTES, buf + i * rec + img_at, IMG_BYTES);
    return DOB_OK;
}

static const char *how_to_get(const cifar_fmt *fmt) {
    return fmt->classes == 10
               ? "get cifar-10-binary.tar.gz from www.cs.toronto.edu/~kriz/cifar.html and unpack it so that "
                 "<data_dir>/cifar-10 (DeepOBS layout) or <data_dir>/cifar-10-batches-bin holds data_batch_1.bin .. "
                 "data_batch_5.bin and test_batch.bin"
               : "get cifar-100-binary.tar.gz from www.cs.toronto.edu/~kriz/cifar.html and unpack it so that "
                 "<data_dir>/cifar-100 (DeepOBS layout) or <data_dir>/cifar-100-binary holds train.bin and test.bin";
}

/* Load the files names[0..nf) of one split, concatenated. */
static dob_status load_files(const char *dir, const char *const *names, int nf, const cifar_fmt *fmt, int64_t max,
                             int fix_offset, dob_dataset *out) {
    dob_status st = DOB_OK;
    uint8_t *buf[6] = {0};
    size_t size[6] = {0};
    int64_t cnt[6] = {0}, total = 0;
    char path[6][PATH_LEN];
    memset(out, 0, sizeof *out);
    for (int f = 0; f < nf; f++) {
        if (snprintf(path[f], PATH_LEN, "%s/%s", dir, names[f]) >= PATH_LEN) {
            st = DOB_FAIL(DOB_EINVAL, "%s: expected a path shorter than %d bytes", dir, PATH_LEN);
            goto fail;
        }
        DOB_TRY(slurp(path[f], how_to_get(fmt), &buf[f], &size[f]));
        DOB_TRY(count_records(path[f], fmt, size[f], max, &cnt[f]));
        if (f > 0 && cnt[f] != cnt[0]) {
            st = DOB_FAIL(DOB_EFORMAT, "%s: expected %lld records like %s (the official batch files hold 10000 "
                          "each), found %lld: a truncated or foreign file", path[f], (long long)cnt[0], path[0],
                          (long long)cnt[f]);
            goto fail;
        }
        total += cnt[f];
    }
    /* pixels stay bytes (0..255, gathered as float32 values 0..255 as DeepOBS feeds them), labels ints */
    DOB_TRY(dob_dataset_alloc_as(out, total, 3, (const int64_t[]){3, 32, 32}, fmt->classes, DOB_DT_U8, DOB_Y_LABELS));
    for (int64_t f = 0, at = 0; f < nf; at += cnt[f], f++)
        DOB_TRY(decode(path[f], fmt, fix_offset, buf[f], cnt[f], at, out));
    for (int f = 0; f < nf; f++) free(buf[f]);
    return DOB_OK;
fail:
    for (int f = 0; f < nf; f++) free(buf[f]);
    dob_dataset_free(out);
    return st;
}

dob_status dob_cifar10_load(const char *dir, const char *split, dob_dataset *out) {
    static const char *const train[] = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                                        "data_batch_4.bin", "data_batch_5.bin"};
    static const char *const test[] = {"test_batch.bin"};
    memset(out, 0, sizeof *out);
    if (split && !strcmp(split, "train")) return load_files(dir, train, 5, &C10, C10.max_per_file_train, 0, out);
    if (split && !strcmp(split, "test")) return load_files(dir, test, 1, &C10, C10.max_per_file_test, 0, out);
    return DOB_FAIL(DOB_EINVAL, "cifar10: expected split \"train\" or \"test\", found \"%s\"",
                    split ? split : "(null)");
}

dob_status dob_cifar100_load(const char *dir, const char *split, int fix_offset, dob_dataset *out) {
    static const char *const train[] = {"train.bin"}, *const test[] = {"test.bin"};
    memset(out, 0, sizeof *out);
    if (split && !strcmp(split, "train"))
        return load_files(dir, train, 1, &C100, C100.max_per_file_train, fix_offset, out);
    if (split && !strcmp(split, "test"))
        return load_files(dir, test, 1, &C100, C100.max_per_file_test, fix_offset, out);
    return DOB_FAIL(DOB_EINVAL, "cifar100: expected split \"train\" or \"test\", found \"%s\"",
                    split ? split : "(null)");
}
