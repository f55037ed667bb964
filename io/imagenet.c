/* imagenet.c: ImageNet as DeepOBS reads it (§4.6), from the two layouts users have, as a streamed data set
 * (include/dob/imagenet.h; the thread pool and queue are io/stream.c).
 *
 * Layouts, in this order of preference, in the data set directory (--data_dir/imagenet):
 *  - TFRecord shards (DeepOBS: the output of TF-inception's build_imagenet_data.py): train-*-of-* for "train",
 *    validation-*-of-* for "test", sorted by name. The index holds each record's data offset and length, from
 *    the 12-byte record headers (length CRC checked when indexing); the data CRC, the Example and the label are
 *    checked when the record is read.
 *  - class folders: train/<wnid>/<file> and val/<wnid>/<file>; the wnids of train/ sorted (strcmp) give labels
 *    1..1000 (0 = background, as the TFRecord convention), files sorted by name. The index holds "wnid/file".
 * Epoch order and the v1.2 valid split come from the trainer over this fixed list (DeepOBS shuffles the shard
 * names and then streams through a 10 000-example shuffle buffer: equal in distribution at best; here the
 * permutation is global and the same on every rank).
 * Unreadable examples (a corrupt or truncated JPEG, a record whose data CRC or Example is broken, a label outside
 * 0..1000) are skipped: a warning naming the file (and record) once per process, the count in
 * dob_imagenet_skipped(), and example j is replaced by the next readable one, j + 1, j + 2, ... (mod n), so the
 * substitute depends only on the data, not on the rank or thread. A shard whose record framing is broken is
 * refused when indexing (TF stops at a DataLossError there too).
 * Memory: the index, 24 bytes per example (+ ~30 bytes of name in the folder layout): 1.28 M examples ~ 31 MB /
 * 69 MB; per decode thread one record or file and the resize buffers (src/data/imgpre.c).
 * Does not: decode (io/jpeg.c), preprocess (src/data/imgpre.c), or standardise (the problem's dob_preproc). */
#define _DEFAULT_SOURCE /* DT_DIR, d_type */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dob/imagenet.h"
#include "stream.h"

#define MAX_SKIP 64           /* consecutive unreadable examples before giving up */
#define MAX_RECORD ((uint64_t)1 << 30)
#define HOW_TO_GET "ImageNet is not downloadable by dob: get ILSVRC2012 from image-net.org and either convert it " \
                   "with TF-inception's build_imagenet_data.py (train-*-of-*, validation-*-of-*) or unpack it " \
                   "as train/<wnid>/*.JPEG and val/<wnid>/*.JPEG"

typedef struct entry {
    uint64_t off;     /* TFRecord: data offset in its shard; folders: offset of "wnid/file" in names */
    uint32_t len;     /* TFRecord: data length */
    int32_t file;     /* TFRecord: shard; folders: unused */
    int32_t label;    /* folders: the class; TFRecord: -1 (read from the Example) */
} entry;

typedef struct inet {
    int tfrecord;
    char dir[4096];       /* shards' directory, or the split's folder (train/, val/) */
    char **files;         /* shard names */
    int nfiles;
    char *names;          /* folders: "wnid/file\0" ... */
    size_t names_len, names_cap;
    entry *e;
    int64_t n, cap;
    unsigned char *warned; /* [n] (under mu) */
    pthread_mutex_t mu;
} inet;

static int64_t skipped_total; /* all readers of the process, under skipped_mu */
static pthread_mutex_t skipped_mu = PTHREAD_MUTEX_INITIALIZER;

int64_t dob_imagenet_skipped(void) {
    pthread_mutex_lock(&skipped_mu);
    const int64_t n = skipped_total;
    pthread_mutex_unlock(&skipped_mu);
    return n;
}

static void inet_free(void *ctx) {
    inet *in = ctx;
    if (!in) return;
    for (int i = 0; i < in->nfiles; i++) free(in->files[i]);
    free(in->files);
    free(in->names);
    free(in->e);
    free(in->warned);
    pthread_mutex_destroy(&in->mu);
    free(in);
}

/* out = a/b, refused when longer than n. */
static dob_status join(char *out, size_t n, const char *a, const char *b) {
    const int k = snprintf(out, n, "%s/%s", a, b);
    if (k < 0 || (size_t)k >= n) return DOB_FAIL(DOB_EINVAL, "path too long: %s/%s", a, b);
    return DOB_OK;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* ---- directory listings ------------------------------------------------------------------------------------ */

typedef struct names {
    char **v;
    int n, cap;
} names;

static void names_free(names *l) {
    for (int i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* The entries of dir matching pattern (NULL: any not starting with '.') of the kind wanted (dirs or files), sorted. */
static dob_status list_dir(const char *dir, const char *pattern, int dirs, names *out) {
    memset(out, 0, sizeof *out);
    DIR *d = opendir(dir);
    if (!d) return DOB_FAIL(errno == ENOENT ? DOB_ENOENT : DOB_EIO, "%s: cannot list: %s", dir, strerror(errno));
    struct dirent *de;
    char path[4096];
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' || (pattern && fnmatch(pattern, de->d_name, 0))) continue;
        struct stat sb;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (stat(path, &sb) || (dirs ? !S_ISDIR(sb.st_mode) : !S_ISREG(sb.st_mode))) continue;
        if (out->n == out->cap) {
            char **v = realloc(out->v, (size_t)(out->cap = out->cap ? 2 * out->cap : 64) * sizeof *v);
            if (!v) break;
            out->v = v;
        }
        if (!(out->v[out->n] = strdup(de->d_name))) break;
        out->n++;
    }
    const int full = de != NULL;
    closedir(d);
    if (full) {
        names_free(out);
        return DOB_FAIL(DOB_ENOMEM, "%s: out of memory listing the directory", dir);
    }
    if (out->n) qsort(out->v, (size_t)out->n, sizeof *out->v, cmp_str);
    return DOB_OK;
}

static entry *add_entry(inet *in) {
    if (in->n == in->cap) {
        entry *e = realloc(in->e, (size_t)(in->cap = in->cap ? 2 * in->cap : 1024) * sizeof *e);
        if (!e) return NULL;
        in->e = e;
    }
    return &in->e[in->n++];
}

/* ---- TFRecord index ---------------------------------------------------------------------------------------- */

/* Index the records of shard f: each header's length CRC, and that the data and its CRC fit in the file. */
static dob_status index_shard(inet *in, int f) {
    char path[4096];
    dob_status st = join(path, sizeof path, in->dir, in->files[f]);
    if (st != DOB_OK) return st;
    FILE *fp = fopen(path, "rb");
    if (!fp) return DOB_FAIL(DOB_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    const uint64_t size = fstat(fileno(fp), &sb) == 0 ? (uint64_t)sb.st_size : 0;
    uint64_t off = 0, len = 0;
    uint8_t hdr[12];
    char where[4200];
    for (int64_t r = 0; off < size; r++) {
        snprintf(where, sizeof where, "%s: record %lld at byte %llu", path, (long long)r, (unsigned long long)off);
        if (size - off < 12 || fread(hdr, 1, 12, fp) != 12) {
            st = DOB_FAIL(DOB_EFORMAT, "%s: expected a 12-byte record header, the file ends after %llu bytes",
                          where, (unsigned long long)(size - off));
            break;
        }
        if ((st = dob_tfrecord_header(hdr, &len, where)) != DOB_OK) break;
        if (len > MAX_RECORD || len + 4 > size - off - 12) {
            st = DOB_FAIL(DOB_EFORMAT, "%s: expected %llu bytes of data and a 4-byte CRC, the file has %llu left "
                          "(truncated shard?)", where, (unsigned long long)len, (unsigned long long)(size - off - 12));
            break;
        }
        entry *e = add_entry(in);
        if (!e) {
            st = DOB_FAIL(DOB_ENOMEM, "%s: out of memory for the index", path);
            break;
        }
        *e = (entry){.off = off + 12, .len = (uint32_t)len, .file = f, .label = -1};
        off += 12 + len + 4;
        if (fseeko(fp, (off_t)off, SEEK_SET)) {
            st = DOB_FAIL(DOB_EIO, "%s: cannot seek: %s", path, strerror(errno));
            break;
        }
    }
    fclose(fp);
    return st;
}

static dob_status index_tfrecord(inet *in, names *shards) {
    in->tfrecord = 1;
    in->files = shards->v, in->nfiles = shards->n;
    memset(shards, 0, sizeof *shards);
    for (int f = 0; f < in->nfiles; f++) {
        dob_status st = index_shard(in, f);
        if (st != DOB_OK) return st;
    }
    return DOB_OK;
}

/* ---- class folders ----------------------------------------------------------------------------------------- */

static dob_status add_name(inet *in, const char *wnid, const char *file, int32_t label) {
    const size_t need = strlen(wnid) + strlen(file) + 2;
    if (in->names_len + need > in->names_cap) {
        size_t cap = in->names_cap ? 2 * in->names_cap : 1 << 16;
        while (cap < in->names_len + need) cap *= 2;
        char *p = realloc(in->names, cap);
        if (!p) return DOB_FAIL(DOB_ENOMEM, "%s: out of memory for the index", in->dir);
        in->names = p, in->names_cap = cap;
    }
    entry *e = add_entry(in);
    if (!e) return DOB_FAIL(DOB_ENOMEM, "%s: out of memory for the index", in->dir);
    *e = (entry){.off = in->names_len, .label = label};
    snprintf(in->names + in->names_len, need, "%s/%s", wnid, file);
    in->names_len += need;
    return DOB_OK;
}

/* Classes of split_dir (train/ or val/), labelled by their place in the sorted wnids of train/ (+1). */
static dob_status index_folders(inet *in, const char *root, const char *split_dir) {
    names wnids = {0}, classes = {0}, files = {0};
    dob_status st = DOB_OK;
    char path[4096];
    snprintf(path, sizeof path, "%s/train", root);
    DOB_TRY(list_dir(path, NULL, 1, &wnids));
    if (wnids.n > DOB_IMAGENET_CLASSES - 1) {
        st = DOB_FAIL(DOB_EFORMAT, "%s: expected at most %d class folders, found %d", path, DOB_IMAGENET_CLASSES - 1,
                      wnids.n);
        goto fail;
    }
    snprintf(in->dir, sizeof in->dir, "%s/%s", root, split_dir);
    DOB_TRY(list_dir(in->dir, NULL, 1, &classes));
    for (int c = 0; c < classes.n; c++) {
        char **hit = bsearch(&classes.v[c], wnids.v, (size_t)wnids.n, sizeof *wnids.v, cmp_str);
        if (!hit) {
            st = DOB_FAIL(DOB_EFORMAT, "%s/%s: class folder not in %s, so it has no label", in->dir, classes.v[c],
                          path);
            goto fail;
        }
        DOB_TRY(join(path, sizeof path, in->dir, classes.v[c]));
        DOB_TRY(list_dir(path, NULL, 0, &files));
        for (int i = 0; i < files.n; i++) DOB_TRY(add_name(in, classes.v[c], files.v[i], (int32_t)(hit - wnids.v) + 1));
        names_free(&files);
    }
fail:
    names_free(&wnids);
    names_free(&classes);
    names_free(&files);
    return st;
}

/* ---- one example ------------------------------------------------------------------------------------------- */

typedef struct wspace {
    uint8_t *buf;
    size_t cap;
    dob_imgpre pre;
} wspace;

static void *ws_new(void *ctx) {
    (void)ctx;
    return calloc(1, sizeof(wspace));
}

static void ws_free(void *p) {
    wspace *w = p;
    dob_imgpre_free(&w->pre);
    free(w->buf);
    free(w);
}

/* Read bytes [off, off + len) of path into w->buf. */
static dob_status read_bytes(wspace *w, const char *path, uint64_t off, size_t len) {
    if (len + 1 > w->cap) {
        uint8_t *b = realloc(w->buf, len + 1);
        if (!b) return DOB_FAIL(DOB_ENOMEM, "%s: out of memory for %zu bytes", path, len);
        w->buf = b, w->cap = len + 1;
    }
    const int fd = open(path, O_RDONLY);
    if (fd < 0) return DOB_FAIL(errno == ENOENT ? DOB_ENOENT : DOB_EIO, "%s: cannot open: %s", path, strerror(errno));
    size_t got = 0;
    while (got < len) {
        const ssize_t r = pread(fd, w->buf + got, len - got, (off_t)(off + got));
        if (r <= 0) break;
        got += (size_t)r;
    }
    close(fd);
    if (got < len) return DOB_FAIL(DOB_EIO, "%s: expected %zu bytes at byte %llu, read %zu", path, len,
                                   (unsigned long long)off, got);
    return DOB_OK;
}

/* The JPEG bytes and label of example j: *where names it. DOB_EFORMAT: unreadable (skip); others fatal. */
static dob_status example_bytes(inet *in, wspace *w, int64_t j, const uint8_t **jpeg, size_t *len, int64_t *label,
                                char *where, size_t wsz) {
    const entry *e = &in->e[j];
    char path[4200];
    if (!in->tfrecord) {
        snprintf(path, sizeof path, "%s/%s", in->dir, in->names + e->off);
        snprintf(where, wsz, "%s", path);
        struct stat sb;
        if (stat(path, &sb)) return DOB_FAIL(DOB_EIO, "%s: cannot stat: %s", path, strerror(errno));
        dob_status st = read_bytes(w, path, 0, (size_t)sb.st_size);
        *jpeg = w->buf, *len = (size_t)sb.st_size, *label = e->label;
        return st;
    }
    snprintf(path, sizeof path, "%s/%s", in->dir, in->files[e->file]);
    snprintf(where, wsz, "%s: record at byte %llu", path, (unsigned long long)(e->off - 12));
    dob_status st = read_bytes(w, path, e->off, (size_t)e->len + 4);
    if (st != DOB_OK) return st;
    if ((st = dob_tfrecord_check(w->buf, e->len, w->buf + e->len, where)) != DOB_OK) return st;
    return dob_example_parse(w->buf, e->len, jpeg, len, label);
}

static dob_status one(inet *in, wspace *w, int64_t j, int augment, uint64_t seed, uint64_t key, float *x,
                      int32_t *label, char *where, size_t wsz) {
    const uint8_t *jpeg = NULL;
    size_t len = 0;
    int64_t lab = -1;
    dob_status st = example_bytes(in, w, j, &jpeg, &len, &lab, where, wsz);
    if (st != DOB_OK) return st;
    if (lab < 0 || lab >= DOB_IMAGENET_CLASSES)
        return DOB_FAIL(DOB_EFORMAT, "image/class/label %lld outside 0..%d", (long long)lab, DOB_IMAGENET_CLASSES - 1);
    *label = (int32_t)lab;
    return dob_jpeg_preprocess(jpeg, len, &w->pre, augment, seed, key, x);
}

/* Once per example and process: the warning, and the count. */
static void skip(inet *in, int64_t j, const char *where, int64_t sub) {
    pthread_mutex_lock(&in->mu);
    const int first = !in->warned[j];
    in->warned[j] = 1;
    pthread_mutex_unlock(&in->mu);
    if (!first) return;
    pthread_mutex_lock(&skipped_mu);
    skipped_total++;
    pthread_mutex_unlock(&skipped_mu);
    const char *why = dob_last_error();
    const size_t wl = strlen(where);
    if (!strncmp(why, where, wl) && !strncmp(why + wl, ": ", 2)) why += wl + 2; /* the message names it already */
    fprintf(stderr, "dob: warning: skipping %s: %s (example %lld; example %lld takes its place)\n", where, why,
            (long long)j, (long long)sub);
}

static dob_status example(void *ctx, void *ws, int64_t j, int augment, uint64_t seed, uint64_t key, float *x,
                          int32_t *label) {
    inet *in = ctx;
    char where[4300];
    for (int64_t t = 0; t < MAX_SKIP && t < in->n; t++) {
        const int64_t e = (j + t) % in->n;
        dob_status st = one(in, ws, e, augment, seed, key, x, label, where, sizeof where);
        if (st != DOB_EFORMAT) return st;
        skip(in, e, where, (e + 1) % in->n);
    }
    return DOB_FAIL(DOB_EFORMAT, "%s: %d consecutive unreadable images from example %lld (last: %s)", in->dir,
                    MAX_SKIP, (long long)j, where);
}

/* ---- the data set ------------------------------------------------------------------------------------------ */

static int data_threads(void) {
    const char *v = getenv("DOB_DATA_THREADS");
    const int n = v ? atoi(v) : 2;
    return n >= 1 && n <= 256 ? n : 2;
}

/* Index split of dir: shards first, else folders. */
static dob_status build_index(inet *in, const char *dir, int train) {
    names shards;
    dob_status st = list_dir(dir, train ? "train-*-of-*" : "validation-*-of-*", 0, &shards);
    if (st != DOB_OK) return st;
    if (shards.n > 0) {
        snprintf(in->dir, sizeof in->dir, "%s", dir);
        st = index_tfrecord(in, &shards);
        names_free(&shards);
        return st;
    }
    char sub[4200];
    snprintf(sub, sizeof sub, "%s/%s", dir, train ? "train" : "val");
    struct stat sb;
    if (stat(sub, &sb) || !S_ISDIR(sb.st_mode))
        return DOB_FAIL(DOB_ENOENT, "%s: no %s nor %s/; %s", dir, train ? "train-*-of-* shards" : "validation-*-of-* shards",
                        train ? "train" : "val", HOW_TO_GET);
    return index_folders(in, dir, train ? "train" : "val");
}

dob_status dob_imagenet_load(const char *dir, const char *split, dob_dataset *out) {
    memset(out, 0, sizeof *out);
    const int train = !strcmp(split, "train");
    if (!train && strcmp(split, "test"))
        return DOB_FAIL(DOB_EINVAL, "imagenet: expected split train or test, found '%s'", split);
    inet *in = calloc(1, sizeof *in);
    if (!in) return DOB_FAIL(DOB_ENOMEM, "imagenet: out of memory");
    pthread_mutex_init(&in->mu, NULL);
    dob_status st = build_index(in, dir, train);
    if (st == DOB_OK && in->n == 0)
        st = DOB_FAIL(DOB_EFORMAT, "%s: the %s split has no images; %s", dir, split, HOW_TO_GET);
    if (st == DOB_OK && in->n > (int64_t)UINT32_MAX)
        st = DOB_FAIL(DOB_EFORMAT, "%s: %lld images, at most 2^32 are supported", dir, (long long)in->n);
    if (st == DOB_OK && !(in->warned = calloc((size_t)in->n, 1)))
        st = DOB_FAIL(DOB_ENOMEM, "imagenet: out of memory for %lld examples", (long long)in->n);
    if (st != DOB_OK) {
        inet_free(in);
        return st;
    }
    const int64_t dims[3] = {3, DOB_IMAGENET_SIDE, DOB_IMAGENET_SIDE};
    const stream_cfg c = {.threads = data_threads(), .depth = 2, .size = 3 * DOB_IMAGENET_SIDE * DOB_IMAGENET_SIDE,
                          .k = DOB_IMAGENET_CLASSES, .ctx = in, .example = example, .ws_new = ws_new,
                          .ws_free = ws_free, .ctx_free = inet_free};
    const dob_source_ops *ops;
    void *sctx;
    const int64_t n = in->n;
    if ((st = stream_create(&c, &ops, &sctx)) != DOB_OK) return st;
    return dob_dataset_stream(out, n, 3, dims, DOB_IMAGENET_CLASSES, ops, sctx, c.depth);
}
