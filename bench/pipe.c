/* pipe.c: the ImageNet input pipeline alone (issue 17): the streamed data set the trainer reads
 * (dob_imagenet_load: io/imagenet.c's index and reader, io/stream.c's decode threads, io/jpeg.c, src/data/imgpre.c)
 * and the problem's standardisation (dob_preproc_imagenet), with no net.
 * usage: pipe DIR [batches=50] [B=32] [threads=2] [stage=200]
 *   DIR: an ImageNet directory as --data_dir/imagenet (train-*-of-* shards, else train/<wnid>/ folders).
 * The timed loop is the trainer's: a permutation of the training set, `depth` batches announced ahead
 * (dob_dataset_prefetch), then per batch dob_dataset_fetch (augment = 1: decode, resize, random crop and flip) and
 * dob_preproc_apply (standardisation). `threads` is $DOB_DATA_THREADS for the reader.
 * Then a single-threaded stage split over the first `stage` training images of DIR, through the same public calls
 * the reader makes: read (file bytes; for shards also the record CRC and the Example parse), decode
 * (dob_jpeg_decode into a sink that drops rows) and resize + crop (dob_jpeg_preprocess minus decode); with the
 * standardisation of the timed loop, in the thread's CPU time (CLOCK_THREAD_CPUTIME_ID), which time slices lost
 * to other processes on a shared machine do not inflate (standardize: run with OMP_NUM_THREADS=1).
 * Prints one line: images/s wall, images per CPU-second (getrusage user + sys of the timed loop, all threads),
 * ms per image by stage, the time the loop waited in fetch, peak RSS (ru_maxrss: the index, the queue, the stage
 * pass's one file). Never run by CTest: speed is reported, not asserted. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "dob/imagenet.h"
#include "dob/problem.h"

#define SEED 42

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* This thread's CPU time: stage times that time slices lost to other processes do not inflate. */
static double thread_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double cpu_seconds(void) {
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)u.ru_utime.tv_sec + 1e-6 * (double)u.ru_utime.tv_usec + (double)u.ru_stime.tv_sec +
           1e-6 * (double)u.ru_stime.tv_usec;
}

/* ---- the stage split --------------------------------------------------------------------------------------- */

typedef struct stages {
    int n;                       /* images timed */
    double read, decode, pre;    /* seconds */
    uint8_t *buf;
    size_t cap;
    dob_imgpre imgpre;
    float *dst;                  /* [3 x 224 x 224] */
} stages;

static dob_status drop_begin(void *ctx, int64_t h, int64_t w) {
    (void)ctx, (void)h, (void)w;
    return DOB_OK;
}
static void drop_row(void *ctx, int64_t r, const uint8_t *rgb) { (void)ctx, (void)r, (void)rgb; }

/* Decode, then decode + preprocess, the JPEG bytes p[0..n). */
static void time_image(stages *s, const uint8_t *p, size_t n) {
    const dob_jpeg_sink drop = {NULL, drop_begin, drop_row};
    const double t0 = thread_seconds();
    const dob_status a = dob_jpeg_decode(p, n, &drop);
    const double t1 = thread_seconds();
    const dob_status b = dob_jpeg_preprocess(p, n, &s->imgpre, 1, SEED, (uint64_t)s->n, s->dst);
    const double t2 = thread_seconds();
    if (a != DOB_OK || b != DOB_OK) return; /* a corrupt image: the reader skips it too */
    s->decode += t1 - t0, s->pre += (t2 - t1) - (t1 - t0);
    s->n++;
}

/* Bytes [off, off + n) of f into s->buf. */
static int read_at(stages *s, FILE *f, long off, size_t n) {
    if (n > s->cap) {
        uint8_t *b = realloc(s->buf, n);
        if (!b) return 0;
        s->buf = b, s->cap = n;
    }
    return fseek(f, off, SEEK_SET) == 0 && fread(s->buf, 1, n, f) == n;
}

static int is_dir(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static int is_shard(const struct dirent *e) { return !strncmp(e->d_name, "train-", 6) && strstr(e->d_name, "-of-"); }
static int visible(const struct dirent *e) { return e->d_name[0] != '.'; }

/* The first `want` records of the first shard: header, data + CRC check, Example parse, then the image. */
static void stage_shards(stages *s, const char *dir, const char *shard, int want) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, shard);
    FILE *f = fopen(path, "rb");
    long off = 0;
    for (int r = 0; f && s->n < want && r < 4 * want; r++) {
        uint8_t hdr[12];
        uint64_t len = 0;
        const uint8_t *jpeg = NULL;
        size_t jlen = 0;
        int64_t label = 0;
        const double t0 = thread_seconds();
        if (!read_at(s, f, off, 12)) break;
        memcpy(hdr, s->buf, 12);
        if (dob_tfrecord_header(hdr, &len, path) != DOB_OK || !read_at(s, f, off + 12, (size_t)len + 4)) break;
        off += 12 + (long)len + 4;
        if (dob_tfrecord_check(s->buf, len, s->buf + len, path) != DOB_OK ||
            dob_example_parse(s->buf, (size_t)len, &jpeg, &jlen, &label) != DOB_OK)
            continue;
        s->read += thread_seconds() - t0;
        time_image(s, jpeg, jlen);
    }
    if (f) fclose(f);
}

/* The first `want` files of train/<wnid>/ in name order: open + read, then the image. */
static void stage_folders(stages *s, const char *dir, int want) {
    char path[4200];
    snprintf(path, sizeof path, "%s/train", dir);
    struct dirent **wnids = NULL;
    const int nw = scandir(path, &wnids, visible, alphasort);
    for (int c = 0; c < nw; c++) {
        struct dirent **files = NULL;
        char cls[4500];
        snprintf(cls, sizeof cls, "%s/%s", path, wnids[c]->d_name);
        const int nf = s->n < want && is_dir(cls) ? scandir(cls, &files, visible, alphasort) : 0;
        for (int i = 0; i < nf; i++) {
            char file[4800];
            snprintf(file, sizeof file, "%s/%s", cls, files[i]->d_name);
            if (s->n < want) {
                const double t0 = thread_seconds();
                FILE *f = fopen(file, "rb");
                struct stat sb;
                const int ok = f && fstat(fileno(f), &sb) == 0 && read_at(s, f, 0, (size_t)sb.st_size);
                if (f) fclose(f);
                s->read += thread_seconds() - t0;
                if (ok) time_image(s, s->buf, (size_t)sb.st_size);
            }
            free(files[i]);
        }
        free(files);
        free(wnids[c]);
    }
    free(wnids);
}

/* ---- main -------------------------------------------------------------------------------------------------- */

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : NULL;
    const int64_t batches = argc > 2 ? atoll(argv[2]) : 50, B = argc > 3 ? atoll(argv[3]) : 32;
    const int threads = argc > 4 ? atoi(argv[4]) : 2, want = argc > 5 ? atoi(argv[5]) : 200;
    if (!dir || batches < 1 || B < 1 || B > 4096 || threads < 1 || threads > 256 || want < 0) {
        fprintf(stderr, "usage: pipe DIR [batches>=1] [B 1..4096] [threads 1..256] [stage>=0]\n");
        return 2;
    }
    char tv[16];
    snprintf(tv, sizeof tv, "%d", threads);
    setenv("DOB_DATA_THREADS", tv, 1);

    struct dirent **shards = NULL;
    const int nsh = scandir(dir, &shards, is_shard, alphasort);
    const double ti = now();
    dob_dataset d;
    if (dob_imagenet_load(dir, "train", &d) != DOB_OK) {
        fprintf(stderr, "pipe: %s\n", dob_last_error());
        return 1;
    }
    const double t_index = now() - ti;
    const int64_t size = dob_dataset_example_size(&d), depth = dob_dataset_prefetch_depth(&d);
    const int64_t steps = d.n / B; /* batches of one epoch; the loop wraps around it */
    uint32_t *perm = malloc((size_t)d.n * sizeof *perm);
    float *raw = malloc((size_t)(B * size) * sizeof *raw), *x = malloc((size_t)(B * size) * sizeof *x);
    if (!perm || !raw || !x || steps < 1) {
        fprintf(stderr, "pipe: %s\n", steps < 1 ? "fewer training images than one batch" : "out of memory");
        return 1;
    }
    dob_rng_permutation(&(dob_rng){SEED, DOB_RNG_SHUFFLE, 0}, perm, (size_t)d.n);

    /* the trainer's step without the net: announce ahead, fetch, standardise */
    double wait = 0.0, stdz = 0.0;
    const double c0 = cpu_seconds(), t0 = now();
    for (int64_t s = 0, announced = 0; s < batches; s++) {
        for (; announced < s + depth && announced < batches; announced++)
            dob_dataset_prefetch(&d, perm + (announced % steps) * B, B, 1, SEED, (uint64_t)(announced * B));
        const double a = now();
        if (dob_dataset_fetch(&d, perm + (s % steps) * B, B, 1, SEED, (uint64_t)(s * B), raw, NULL) != DOB_OK) {
            fprintf(stderr, "pipe: %s\n", dob_last_error());
            return 1;
        }
        const double b = now(), c = thread_seconds();
        dob_preproc_apply(&dob_preproc_imagenet, 1, SEED, (uint64_t)(s * B), raw, x, B, 3, DOB_IMAGENET_SIDE,
                          DOB_IMAGENET_SIDE);
        wait += b - a, stdz += thread_seconds() - c;
    }
    const double wall = now() - t0, cpu = cpu_seconds() - c0;
    const double imgs = (double)(batches * B);

    stages st = {0};
    st.dst = malloc((size_t)size * sizeof *st.dst);
    if (st.dst && nsh > 0) stage_shards(&st, dir, shards[0]->d_name, want);
    else if (st.dst) stage_folders(&st, dir, want);
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    const double k = st.n ? 1e3 / st.n : 0.0;
    printf("pipe %s %lld images, B %lld x %lld batches, %d threads: %.1f img/s wall, %.1f img per CPU-s (%.2f ms "
           "CPU/img); CPU ms/img on 1 thread: read %.2f decode %.2f resize+crop %.2f standardize %.2f (%d images); "
           "fetch wait %.1f%% of wall; index %.2f s; peak RSS %.1f MB; skipped %lld\n",
           nsh > 0 ? "shards" : "folders", (long long)d.n, (long long)B, (long long)batches, threads, imgs / wall,
           imgs / cpu, 1e3 * cpu / imgs, k * st.read, k * st.decode, k * st.pre, 1e3 * stdz / imgs, st.n,
           100.0 * wait / wall, t_index, (double)u.ru_maxrss / 1024.0, (long long)dob_imagenet_skipped());
    for (int i = 0; i < nsh; i++) free(shards[i]);
    free(shards);
    dob_imgpre_free(&st.imgpre);
    free(st.buf);
    free(st.dst);
    free(perm);
    free(raw);
    free(x);
    dob_dataset_free(&d);
    return 0;
}
