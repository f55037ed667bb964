/* idx.c: IDX files (MNIST, Fashion-MNIST), raw or gzip, the MNIST-format split loader, and the data directory
 * resolution for every data set (include/dob/datasets.h).
 * IDX: big-endian header, magic 0x00 0x00 <type> <ndim>, then ndim uint32 dims, then prod(dims) items row-major;
 * we accept type 0x08 (ubyte) with 1..4 dims (MNIST: 0x803 images {n,28,28}, 0x801 labels {n}).
 * Invariants: the payload must be exactly prod(dims) bytes (a short or longer file is DOB_EFORMAT naming the
 * file); a corrupt header cannot cause a huge allocation (the buffer grows with the bytes actually read).
 * Does not: cache, memory-map, or convert other IDX element types (int16/int32/float/double). */
#include "dob/datasets.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#define MAX_PAYLOAD ((int64_t)1 << 36) /* 64 GiB: far above any IDX data set; guards dim products */
#define FIRST_CHUNK ((size_t)64 << 20)  /* first buffer size; doubled as bytes arrive */
#define GZ_BUFFER (256u << 10)          /* zlib input buffer (default 8 KiB is slow) */
#define PATH_LEN 4096

/* ---- a byte reader over stdio or zlib ---------------------------------------------------------------- */

typedef struct reader {
    const char *path;
    FILE *f;   /* raw file, or NULL */
    gzFile gz; /* gzip file, or NULL */
} reader;

static dob_status reader_open(reader *r, const char *path) {
    memset(r, 0, sizeof *r);
    r->path = path;
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        if (e == ENOENT) return DOB_FAIL(DOB_ENOENT, "%s: no such file", path);
        return DOB_FAIL(DOB_EIO, "%s: cannot open: %s", path, strerror(e));
    }
    unsigned char m[2] = {0, 0};
    size_t got = fread(m, 1, 2, f);
    if (got == 2 && m[0] == 0x1f && m[1] == 0x8b) {
        fclose(f);
        r->gz = gzopen(path, "rb");
        if (!r->gz) return DOB_FAIL(DOB_EIO, "%s: cannot open as gzip: %s", path, strerror(errno));
        gzbuffer(r->gz, GZ_BUFFER);
        return DOB_OK;
    }
    rewind(f);
    r->f = f;
    return DOB_OK;
}

static void reader_close(reader *r) {
    if (r->f) fclose(r->f);
    if (r->gz) gzclose_r(r->gz);
    r->f = NULL;
    r->gz = NULL;
}

/* Read up to n bytes into buf; *got receives the count, which is < n only at the end of the data. *gz_short is
 * set when a gzip stream ended before its end marker or trailer (a truncated .gz; zlib's "unexpected end of
 * file"). @return DOB_OK, DOB_EIO, or DOB_EFORMAT for corrupt gzip data. */
static dob_status reader_read(reader *r, void *buf, size_t n, size_t *got, int *gz_short) {
    *got = 0;
    *gz_short = 0;
    if (r->f) {
        *got = fread(buf, 1, n, r->f);
        if (ferror(r->f)) return DOB_FAIL(DOB_EIO, "%s: read error: %s", r->path, strerror(errno));
        return DOB_OK;
    }
    unsigned char *p = buf;
    while (*got < n) {
        size_t want = n - *got;
        if (want > (1u << 30)) want = 1u << 30;
        int k = gzread(r->gz, p + *got, (unsigned)want);
        if (k <= 0) break;
        *got += (size_t)k;
    }
    int errnum = Z_OK;
    const char *msg = gzerror(r->gz, &errnum);
    if (errnum == Z_OK) return DOB_OK;
    if (errnum == Z_BUF_ERROR) {
        *gz_short = 1;
        return DOB_OK;
    }
    if (errnum == Z_ERRNO) return DOB_FAIL(DOB_EIO, "%s: read error: %s", r->path, strerror(errno));
    return DOB_FAIL(DOB_EFORMAT, "%s: corrupt gzip data: expected a valid deflate stream, found an error "
                    "(zlib: %s)", r->path, msg);
}

/* ---- IDX ---------------------------------------------------------------------------------------------- */

void dob_idx_free(dob_idx *idx) {
    if (!idx) return;
    free(idx->data);
    memset(idx, 0, sizeof *idx);
}

static uint32_t be32(const unsigned char *b) {
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | (uint32_t)b[3];
}

static const char *gz_note(const reader *r) { return r->gz ? " (gzip stream ends early)" : ""; }

/* Magic and dims into out->ndim, dims, count. */
static dob_status read_header(reader *r, dob_idx *out) {
    unsigned char h[16];
    size_t got;
    int gz_short;
    dob_status st = reader_read(r, h, 4, &got, &gz_short);
    if (st != DOB_OK) return st;
    if (got < 4)
        return DOB_FAIL(DOB_EFORMAT, "%s: truncated: expected a 4-byte IDX magic, found %zu bytes%s", r->path, got,
                        gz_note(r));
    uint32_t magic = be32(h);
    if (h[0] != 0 || h[1] != 0 || h[2] != 0x08 || h[3] < 1 || h[3] > 4) {
        const char *hint = "";
        if (h[0] == '<') hint = " (an HTML page: the download probably failed)";
        else if (h[0] == 0 && h[1] == 0 && h[2] != 0x08 && h[3] >= 1 && h[3] <= 4)
            hint = " (an IDX file of another element type; only 0x08 unsigned bytes are supported)";
        return DOB_FAIL(DOB_EFORMAT, "%s: expected IDX magic 0x00000801 or 0x00000803 (ubyte), found 0x%08x%s",
                        r->path, (unsigned)magic, hint);
    }
    out->ndim = h[3];
    size_t hd = 4 * (size_t)out->ndim;
    st = reader_read(r, h, hd, &got, &gz_short);
    if (st != DOB_OK) return st;
    if (got < hd)
        return DOB_FAIL(DOB_EFORMAT, "%s: truncated: expected %zu bytes of IDX dims after the magic, found %zu%s",
                        r->path, hd, got, gz_note(r));
    out->count = 1;
    for (int i = 0; i < out->ndim; i++) {
        out->dims[i] = be32(h + 4 * i);
        if (out->dims[i] > 0 && out->count > MAX_PAYLOAD / out->dims[i])
            return DOB_FAIL(DOB_EFORMAT, "%s: expected an IDX payload of at most 2^36 bytes, found dims that "
                            "multiply past it (dim %d = %lld)", r->path, i, (long long)out->dims[i]);
        out->count *= out->dims[i];
    }
    return DOB_OK;
}

/* The payload: exactly out->count bytes, then the end of the data. */
static dob_status read_payload(reader *r, dob_idx *out) {
    const size_t want = (size_t)out->count;
    size_t cap = want < FIRST_CHUNK ? want : FIRST_CHUNK, have = 0;
    out->data = malloc(cap ? cap : 1);
    if (!out->data) return DOB_FAIL(DOB_ENOMEM, "%s: out of memory for %zu bytes", r->path, cap);
    for (;;) {
        size_t got;
        int gz_short;
        dob_status st = reader_read(r, out->data + have, cap - have, &got, &gz_short);
        if (st != DOB_OK) return st;
        have += got;
        if (have < cap || have == want) {
            if (have < want)
                return DOB_FAIL(DOB_EFORMAT, "%s: truncated: expected %zu bytes, found %zu%s", r->path, want, have,
                                gz_short ? " (gzip stream ends early)" : "");
            break;
        }
        size_t ncap = cap * 2 < want ? cap * 2 : want;
        uint8_t *p = realloc(out->data, ncap);
        if (!p) return DOB_FAIL(DOB_ENOMEM, "%s: out of memory for %zu bytes", r->path, ncap);
        out->data = p;
        cap = ncap;
    }
    unsigned char extra[1];
    size_t got;
    int gz_short;
    dob_status st = reader_read(r, extra, 1, &got, &gz_short);
    if (st != DOB_OK) return st;
    if (got > 0)
        return DOB_FAIL(DOB_EFORMAT, "%s: expected %zu payload bytes after the header, found more (trailing data)",
                        r->path, want);
    if (gz_short)
        return DOB_FAIL(DOB_EFORMAT, "%s: truncated: expected the end of the gzip stream after %zu bytes, found "
                        "the file ends before it", r->path, want);
    return DOB_OK;
}

dob_status dob_idx_read(const char *path, dob_idx *out) {
    memset(out, 0, sizeof *out);
    reader r;
    dob_status st = reader_open(&r, path);
    if (st != DOB_OK) return st;
    st = read_header(&r, out);
    if (st == DOB_OK) st = read_payload(&r, out);
    reader_close(&r);
    if (st != DOB_OK) dob_idx_free(out);
    return st;
}

/* ---- MNIST-format splits ------------------------------------------------------------------------------ */

static int is_file(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

static int is_dir(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* path = dir/name without a doubled '/'. @return 0 if it did not fit. */
static int join(char *path, size_t sz, const char *dir, const char *name) {
    size_t ld = strlen(dir);
    const char *sep = ld > 0 && dir[ld - 1] == '/' ? "" : "/";
    int n = snprintf(path, sz, "%s%s%s", dir, sep, name);
    return n >= 0 && (size_t)n < sz;
}

/* dir/<base>.gz if it exists, else dir/<base> if it exists. */
static dob_status pick_file(const char *dir, const char *base, char *path, size_t sz) {
    char gz[PATH_LEN];
    if (snprintf(gz, sizeof gz, "%s.gz", base) >= (int)sizeof gz || !join(path, sz, dir, gz))
        return DOB_FAIL(DOB_EINVAL, "%s: expected a path shorter than %zu bytes", dir, sz);
    if (is_file(path)) return DOB_OK;
    char raw[PATH_LEN];
    join(raw, sizeof raw, dir, base);
    if (is_file(raw)) {
        snprintf(path, sz, "%s", raw);
        return DOB_OK;
    }
    /* something else under either name (a directory, a device) is not "missing": say what is there */
    struct stat sb;
    const char *there = stat(path, &sb) == 0 ? path : stat(raw, &sb) == 0 ? raw : NULL;
    if (there)
        return DOB_FAIL(DOB_EFORMAT, "%s is %s, expected the IDX file %s (gzip or raw)", there,
                        S_ISDIR(sb.st_mode) ? "a directory" : "not a regular file", base);
    return DOB_FAIL(DOB_ENOENT, "%s: missing %s.gz (or %s): expected the MNIST-format IDX files "
                    "train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, "
                    "t10k-labels-idx1-ubyte.gz in this directory (see --data_dir)", dir, base, base);
}

dob_status dob_mnist_load(const char *dir, const char *split, dob_dataset *out) {
    memset(out, 0, sizeof *out);
    const char *pre;
    if (split && strcmp(split, "train") == 0) pre = "train";
    else if (split && strcmp(split, "test") == 0) pre = "t10k";
    else
        return DOB_FAIL(DOB_EINVAL, "mnist: expected split \"train\" or \"test\", found \"%s\"",
                        split ? split : "(null)");
    char base[64], ipath[PATH_LEN], lpath[PATH_LEN];
    dob_idx img = {0}, lab = {0};
    dob_status st;
    snprintf(base, sizeof base, "%s-images-idx3-ubyte", pre);
    DOB_TRY(pick_file(dir, base, ipath, sizeof ipath));
    snprintf(base, sizeof base, "%s-labels-idx1-ubyte", pre);
    DOB_TRY(pick_file(dir, base, lpath, sizeof lpath));
    DOB_TRY(dob_idx_read(ipath, &img));
    DOB_TRY(dob_idx_read(lpath, &lab));
    if (img.ndim != 3 || img.dims[1] != 28 || img.dims[2] != 28) {
        st = DOB_FAIL(DOB_EFORMAT, "%s: expected MNIST images (IDX magic 0x00000803, dims {n, 28, 28}), found %d "
                      "dims {%lld, %lld, %lld}", ipath, img.ndim, (long long)img.dims[0], (long long)img.dims[1],
                      (long long)img.dims[2]);
        goto fail;
    }
    if (lab.ndim != 1) {
        st = DOB_FAIL(DOB_EFORMAT, "%s: expected MNIST labels (IDX magic 0x00000801, 1 dim), found %d dims", lpath,
                      lab.ndim);
        goto fail;
    }
    if (img.dims[0] != lab.dims[0]) {
        st = DOB_FAIL(DOB_EFORMAT, "%s: expected as many labels as images, found %lld images in %s and %lld "
                      "labels", lpath, (long long)img.dims[0], ipath, (long long)lab.dims[0]);
        goto fail;
    }
    for (int64_t i = 0; i < lab.count; i++) {
        if (lab.data[i] >= 10) {
            st = DOB_FAIL(DOB_EFORMAT, "%s: expected labels 0..9, found %u at index %lld", lpath,
                          (unsigned)lab.data[i], (long long)i);
            goto fail;
        }
    }
    const int64_t n = img.dims[0], size = 28 * 28;
    /* the pixels stay bytes; a batch gathers them as TF's tf.cast(x, float32) / 255. (x_div, a correctly rounded
     * float division, bit for bit) */
    DOB_TRY(dob_dataset_alloc_as(out, n, 3, (const int64_t[]){1, 28, 28}, 10, DOB_DT_U8, DOB_Y_LABELS));
    out->x_div = 255.0f;
    memcpy(out->x, img.data, (size_t)(n * size));
    for (int64_t i = 0; i < n; i++) out->label[i] = lab.data[i];
    dob_idx_free(&img);
    dob_idx_free(&lab);
    return DOB_OK;
fail:
    dob_idx_free(&img);
    dob_idx_free(&lab);
    dob_dataset_free(out);
    return st;
}

/* ---- data directory resolution ------------------------------------------------------------------------ */

/* What marks a directory as holding a data set's files, and how to get them. */
typedef struct known_set {
    const char *name;
    const char *alt;          /* the directory the official archive unpacks to, tried after <name>; or NULL */
    const char *markers[3];
    const char *how;
} known_set;

static const known_set known[] = {
    {"mnist", NULL, {"train-images-idx3-ubyte.gz", "train-images-idx3-ubyte", NULL},
     "use DeepOBS's `deepobs_prepare_data.sh -o mnist` layout: the four gz files train-images-idx3-ubyte.gz, "
     "train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz from "
     "yann.lecun.com/exdb/mnist in <data_dir>/mnist, then pass --data_dir <data_dir>"},
    {"fmnist", NULL, {"train-images-idx3-ubyte.gz", "train-images-idx3-ubyte", NULL},
     "`apt-get install dataset-fashion-mnist` (files in /usr/share/datasets/fashion-mnist, found without flags), "
     "or DeepOBS's `deepobs_prepare_data.sh -o fmnist` layout: the four gz files of the Fashion-MNIST site in "
     "<data_dir>/fmnist, then pass --data_dir <data_dir>"},
    {"cifar-10", "cifar-10-batches-bin", {"data_batch_1.bin", NULL, NULL},
     "unpack the CIFAR-10 binary version (cifar-10-binary.tar.gz, www.cs.toronto.edu/~kriz/cifar.html) so that "
     "<data_dir>/cifar-10 holds data_batch_1.bin .. data_batch_5.bin and test_batch.bin (DeepOBS layout)"},
    {"cifar-100", "cifar-100-binary", {"train.bin", NULL, NULL},
     "unpack the CIFAR-100 binary version (cifar-100-binary.tar.gz, www.cs.toronto.edu/~kriz/cifar.html) so that "
     "<data_dir>/cifar-100 holds train.bin and test.bin (DeepOBS layout)"},
    {"svhn", NULL, {"data_batch_0.bin", "train_32x32.mat", NULL},
     "put train_32x32.mat and test_32x32.mat (ufldl.stanford.edu/housenumbers) or DeepOBS's prepared "
     "data_batch_*.bin + test_batch.bin in <data_dir>/svhn"},
    {"tolstoi", NULL, {"train.npy", NULL, NULL},
     "run DeepOBS's `deepobs_prepare_data.sh -o tolstoi` so that <data_dir>/tolstoi holds train.npy and test.npy (or "
     "put the input.txt that script cuts from War and Peace in <data_dir>/tolstoi)"},
    {"imagenet", NULL, {"train-*-of-*", "train/", NULL},
     "get ILSVRC2012 from image-net.org and put TF-inception's build_imagenet_data.py shards (train-*-of-*, "
     "validation-*-of-*) or the class folders train/<wnid>/ and val/<wnid>/ in <data_dir>/imagenet (--data_dir "
     "may also name the directory that holds them)"},
};

#define FMNIST_SYSTEM_DIR "/usr/share/datasets/fashion-mnist"

static const known_set *find_known(const char *name) {
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(known[i].name, name) == 0) return &known[i];
    return NULL;
}

/* A marker names a file, a file pattern (fnmatch, e.g. any shard count "train-*-of-*"), or a directory
 * ("train/"). @return 1 if dir holds one. */
static int holds_marker(const char *dir, const char *m) {
    char path[PATH_LEN];
    const size_t l = strlen(m);
    if (l > 1 && m[l - 1] == '/') return join(path, sizeof path, dir, m) && is_dir(path);
    if (!strchr(m, '*')) return join(path, sizeof path, dir, m) && is_file(path);
    DIR *d = opendir(dir);
    int hit = 0;
    for (struct dirent *e; d && !hit && (e = readdir(d)) != NULL;)
        hit = fnmatch(m, e->d_name, 0) == 0 && join(path, sizeof path, dir, e->d_name) && is_file(path);
    if (d) closedir(d);
    return hit;
}

static int holds_files(const char *dir, const known_set *ks) {
    if (!ks) return 0;
    for (int i = 0; i < 3 && ks->markers[i]; i++)
        if (holds_marker(dir, ks->markers[i])) return 1;
    return 0;
}

/* Append "; what" to tried[sz], cutting what does not fit (the message buffer is 1 KiB anyway). */
static void note_tried(char *tried, size_t sz, const char *what) {
    size_t l = strlen(tried);
    if (l > 0 && l + 2 < sz) {
        memcpy(tried + l, "; ", 2);
        l += 2;
    }
    size_t w = strlen(what);
    if (l + w + 1 > sz) w = sz - l - 1;
    memcpy(tried + l, what, w);
    tried[l + w] = '\0';
}

static dob_status found(const char *dir, char *out, size_t outsz) {
    size_t l = strlen(dir);
    if (l >= outsz) return DOB_FAIL(DOB_EINVAL, "data dir: expected a path shorter than %zu bytes, found %zu "
                                    "bytes (%s)", outsz, l, dir);
    memcpy(out, dir, l + 1);
    return DOB_OK;
}

/* The two rules on a root D: D/<dataset> if a directory, else D if it holds the files. @return 1 if found. */
static int try_root(const char *root, const char *dataset, const known_set *ks, const char *label, char *hit,
                    char *tried, size_t tsz) {
    char sub[PATH_LEN], what[2 * PATH_LEN];
    if (join(sub, sizeof sub, root, dataset) && is_dir(sub)) {
        snprintf(hit, PATH_LEN, "%s", sub);
        return 1;
    }
    char alt[PATH_LEN];
    if (ks && ks->alt && join(alt, sizeof alt, root, ks->alt) && is_dir(alt)) {
        snprintf(hit, PATH_LEN, "%s", alt);
        return 1;
    }
    if (holds_files(root, ks)) {
        snprintf(hit, PATH_LEN, "%s", root);
        return 1;
    }
    snprintf(what, sizeof what, "%s %s (no directory %s, no %s%s%s in it)", label, root, sub,
             ks ? ks->markers[0] : "data files", ks && ks->markers[1] ? " or " : "",
             ks && ks->markers[1] ? ks->markers[1] : "");
    note_tried(tried, tsz, what);
    return 0;
}

dob_status dob_data_dir_resolve(const char *data_dir, const char *dataset, char *out, size_t outsz) {
    if (!dataset || !*dataset || strchr(dataset, '/'))
        return DOB_FAIL(DOB_EINVAL, "data dir: expected a data set name such as \"fmnist\", found \"%s\"",
                        dataset ? dataset : "(null)");
    const known_set *ks = find_known(dataset);
    char hit[PATH_LEN], tried[1024] = "";
    if (data_dir && *data_dir) {
        if (try_root(data_dir, dataset, ks, "--data_dir", hit, tried, sizeof tried)) return found(hit, out, outsz);
    } else {
        const char *env = getenv("DOB_DATA_DIR");
        if (env && *env) {
            if (try_root(env, dataset, ks, "$DOB_DATA_DIR", hit, tried, sizeof tried))
                return found(hit, out, outsz);
        } else {
            note_tried(tried, sizeof tried, "$DOB_DATA_DIR (unset)");
        }
        if (strcmp(dataset, "fmnist") == 0) {
            if (holds_files(FMNIST_SYSTEM_DIR, ks)) return found(FMNIST_SYSTEM_DIR, out, outsz);
            note_tried(tried, sizeof tried, FMNIST_SYSTEM_DIR " (package dataset-fashion-mnist not installed)");
        }
        char sub[PATH_LEN], what[PATH_LEN + 64];
        snprintf(sub, sizeof sub, "data_deepobs/%s", dataset);
        if (is_dir(sub)) return found(sub, out, outsz);
        snprintf(what, sizeof what, "./%s (DeepOBS default, relative to the working directory)", sub);
        note_tried(tried, sizeof tried, what);
    }
    return DOB_FAIL(DOB_ENOENT, "data set %s not found. To get it: %s. Tried: %s", dataset,
                    ks ? ks->how : "put its files in <data_dir>/<name> and pass --data_dir <data_dir>", tried);
}
