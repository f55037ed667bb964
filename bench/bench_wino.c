/* bench_wino.c: one 3x3 stride-1 SAME convolution's three passes, oneDNN 2.6's direct primitives against dob's own
 * Winograd F(4x4, 3x3) (src/layers/wino.c), on the nChw8c tensors both use on AVX2: forward (bias + ReLU), backward
 * data, backward weights (+ bias). Best of R repetitions each, interleaved (direct, Winograd, direct, ...) so host
 * noise hits both alike; prints ms per pass and the direct kernels' names. This is where the figures in wino.c's
 * header and conv.c's 64-channel rule come from.
 * Usage: bench_wino N IC OC H [R=3] (threads from OMP_NUM_THREADS), e.g. bench_wino 32 256 256 56.
 * Does not: assert anything, or time the layer's reorders (bench_step --profile has the whole layer). */
#include "layers/wino.h"

#include <oneapi/dnnl/dnnl_debug.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define CK(x)                                                                                                  \
    do {                                                                                                       \
        dnnl_status_t s_ = (x);                                                                                \
        if (s_ != dnnl_success) {                                                                              \
            fprintf(stderr, "bench_wino: %s failed (%d)\n", #x, (int)s_);                                     \
            exit(1);                                                                                           \
        }                                                                                                      \
    } while (0)

enum { FWD, BWD_D, BWD_W, PASSES };

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int threads(void) {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

typedef struct bench {
    dnnl_engine_t eng;
    dnnl_stream_t st;
    dnnl_primitive_desc_t pd[PASSES];
    dnnl_primitive_t prim[PASSES];
} bench;

static dnnl_memory_t mem(const bench *b, const dnnl_memory_desc_t *md, void *h) {
    dnnl_memory_t m;
    CK(dnnl_memory_create(&m, md, b->eng, h));
    return m;
}

static float *buf(size_t n, float lo, float hi) {
    float *p = aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64 + 4096);
    if (!p) {
        fprintf(stderr, "bench_wino: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < n; i++) p[i] = lo + (hi - lo) * (float)rand() / (float)RAND_MAX;
    return p;
}

/* the three direct primitive descriptors on nChw8c src/dst and oneDNN's own weights layouts */
static void make_pds(bench *b, long n, long ic, long oc, long h) {
    dnnl_dims_t sd = {n, ic, h, h}, dd = {n, oc, h, h}, wd = {oc, ic, 3, 3}, bd = {oc}, one = {1, 1};
    dnnl_memory_desc_t s, d, w, bias;
    CK(dnnl_memory_desc_init_by_tag(&s, 4, sd, dnnl_f32, dnnl_nChw8c));
    CK(dnnl_memory_desc_init_by_tag(&d, 4, dd, dnnl_f32, dnnl_nChw8c));
    CK(dnnl_memory_desc_init_by_tag(&w, 4, wd, dnnl_f32, dnnl_format_tag_any));
    CK(dnnl_memory_desc_init_by_tag(&bias, 1, bd, dnnl_f32, dnnl_x));
    dnnl_primitive_attr_t attr;
    dnnl_post_ops_t po;
    CK(dnnl_primitive_attr_create(&attr));
    CK(dnnl_post_ops_create(&po));
    CK(dnnl_post_ops_append_eltwise(po, 1.f, dnnl_eltwise_relu, 0.f, 0.f));
    CK(dnnl_primitive_attr_set_post_ops(attr, po));
    dnnl_convolution_desc_t f, bdd, bw;
    CK(dnnl_convolution_forward_desc_init(&f, dnnl_forward_training, dnnl_convolution_direct, &s, &w, &bias, &d, one,
                                          one, one));
    CK(dnnl_primitive_desc_create(&b->pd[FWD], &f, attr, b->eng, NULL));
    CK(dnnl_convolution_backward_data_desc_init(&bdd, dnnl_convolution_direct, &s, &w, &d, one, one, one));
    CK(dnnl_primitive_desc_create(&b->pd[BWD_D], &bdd, NULL, b->eng, b->pd[FWD]));
    CK(dnnl_convolution_backward_weights_desc_init(&bw, dnnl_convolution_direct, &s, &w, &bias, &d, one, one, one));
    CK(dnnl_primitive_desc_create(&b->pd[BWD_W], &bw, NULL, b->eng, b->pd[FWD]));
    for (int i = 0; i < PASSES; i++) CK(dnnl_primitive_create(&b->prim[i], b->pd[i]));
    dnnl_post_ops_destroy(po);
    dnnl_primitive_attr_destroy(attr);
}

static const dnnl_memory_desc_t *md_of(const bench *b, int pass, dnnl_query_t q, int index) {
    return dnnl_primitive_desc_query_md(b->pd[pass], q, index);
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: bench_wino N IC OC H [repetitions=3]   (IC, OC multiples of 8)\n");
        return 2;
    }
    const long n = atol(argv[1]), ic = atol(argv[2]), oc = atol(argv[3]), h = atol(argv[4]);
    const int reps = argc > 5 ? atoi(argv[5]) : 3;
    dob_wino kf, kd;
    if (reps < 1 || !dob_wino_init(&kf, n, ic, oc, h, h, h, h, 1, 1) ||
        !dob_wino_init(&kd, n, oc, ic, h, h, h, h, 1, 1)) {
        fprintf(stderr, "bench_wino: N, IC, OC, H and repetitions must be > 0, IC and OC multiples of 8\n");
        return 2;
    }
    bench b;
    CK(dnnl_engine_create(&b.eng, dnnl_cpu, 0));
    CK(dnnl_stream_create(&b.st, b.eng, dnnl_stream_default_flags));
    make_pds(&b, n, ic, oc, h);
    const size_t nx = (size_t)(n * ic * h * h), ny = (size_t)(n * oc * h * h), nw = (size_t)(oc * ic * 9);
    float *x = buf(nx, -.5f, .5f), *dx = buf(nx, 0, 0), *y = buf(ny, 0, 0), *dy = buf(ny, -.5f, .5f);
    float *w = buf(nw, -.05f, .05f), *wd = buf(nw, -.05f, .05f), *dw = buf(nw, 0, 0), *bias = buf(oc, 0, .1f);
    float *db = buf(oc, 0, 0), *s = buf(dob_wino_scratch(&kf) > dob_wino_scratch(&kd) ? dob_wino_scratch(&kf)
                                                                                     : dob_wino_scratch(&kd), 0, 0);
    dnnl_exec_arg_t args[PASSES][4] = {
        {{DNNL_ARG_SRC, mem(&b, md_of(&b, FWD, dnnl_query_src_md, 0), x)},
         {DNNL_ARG_WEIGHTS, mem(&b, md_of(&b, FWD, dnnl_query_weights_md, 0), w)},
         {DNNL_ARG_BIAS, mem(&b, md_of(&b, FWD, dnnl_query_weights_md, 1), bias)},
         {DNNL_ARG_DST, mem(&b, md_of(&b, FWD, dnnl_query_dst_md, 0), y)}},
        {{DNNL_ARG_DIFF_DST, mem(&b, md_of(&b, BWD_D, dnnl_query_diff_dst_md, 0), dy)},
         {DNNL_ARG_WEIGHTS, mem(&b, md_of(&b, BWD_D, dnnl_query_weights_md, 0), wd)},
         {DNNL_ARG_DIFF_SRC, mem(&b, md_of(&b, BWD_D, dnnl_query_diff_src_md, 0), dx)}},
        {{DNNL_ARG_SRC, mem(&b, md_of(&b, BWD_W, dnnl_query_src_md, 0), x)},
         {DNNL_ARG_DIFF_DST, mem(&b, md_of(&b, BWD_W, dnnl_query_diff_dst_md, 0), dy)},
         {DNNL_ARG_DIFF_WEIGHTS, mem(&b, md_of(&b, BWD_W, dnnl_query_diff_weights_md, 0), dw)},
         {DNNL_ARG_DIFF_BIAS, mem(&b, md_of(&b, BWD_W, dnnl_query_diff_weights_md, 1), db)}},
    };
    const int nargs[PASSES] = {4, 3, 4};
    double best[PASSES][2];
    for (int i = 0; i < PASSES; i++) best[i][0] = best[i][1] = 1e30;
    for (int r = 0; r < reps; r++)
        for (int i = 0; i < PASSES; i++) {
            double t0 = now();
            CK(dnnl_primitive_execute(b.prim[i], b.st, nargs[i], args[i]));
            double t1 = now();
            if (i == FWD) CK(dob_wino_run(&kf, w, 0, x, y, bias, 1, s));
            if (i == BWD_D) CK(dob_wino_run(&kd, w, 1, dy, dx, NULL, 0, s));
            if (i == BWD_W) CK(dob_wino_bwd_w(&kf, x, dy, dw, db, s));
            double t2 = now();
            if (t1 - t0 < best[i][0]) best[i][0] = t1 - t0;
            if (t2 - t1 < best[i][1]) best[i][1] = t2 - t1;
        }
    const char *impl[PASSES];
    for (int i = 0; i < PASSES; i++) CK(dnnl_primitive_desc_query(b.pd[i], dnnl_query_impl_info_str, 0, &impl[i]));
    printf("%ld->%ld 3x3 at %ldx%ld, batch %ld, %d threads, ISA %s, best of %d, ms direct -> Winograd: forward "
           "%.1f -> %.1f (%s), backward data %.1f -> %.1f (%s), backward weights %.1f -> %.1f (%s)\n",
           ic, oc, h, h, n, threads(), dnnl_cpu_isa2str(dnnl_get_effective_cpu_isa()), reps,
           1e3 * best[FWD][0], 1e3 * best[FWD][1], impl[FWD], 1e3 * best[BWD_D][0], 1e3 * best[BWD_D][1], impl[BWD_D],
           1e3 * best[BWD_W][0], 1e3 * best[BWD_W][1], impl[BWD_W]);
    return 0;
}
