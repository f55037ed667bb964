/* bench_conv.c: forward + backward time of the two fmnist_2c2d convolutions (fused ReLU, bias, SAME 5x5) at
 * batch 128 on 2 threads: conv1 1->32 on 28x28 (reads the net input: no backward data) and conv2 32->64 on 14x14
 * (backward data on, as behind pool1 in the real net). Median over 20 iterations after 5 warm-up ones; GFLOP/s
 * count the nominal taps (2 * N * OC * OH * OW * IC * KH * KW per pass), including the layer's reorders and
 * ReLU mask in the time. As an in-run anchor it also times the bare oneDNN primitives of the same layers
 * ('any' layouts, no reorders, no mask: what toolchain.md section 9 measures), so the layer's own overhead shows
 * as a ratio that holds on a noisy shared machine. Usage: bench_conv [iterations] [threads].
 * Does not: compare with PyTorch (bench/torch_ref.py) or assert anything. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include <oneapi/dnnl/dnnl.h>

#include "dob/layers.h"
#include "dob/net.h"
#include "dob/rng.h"

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

typedef struct layer_spec {
    const char *name;
    int64_t ic, h, w, oc, k;
    int bwd_data;
} layer_spec;

/* Times one layer; fills fwd/bwd medians (ms) and the nominal GFLOP per pass. @return 0 on success. */
static int bench_layer(const layer_spec *s, int64_t batch, int iters, int warmup, double ms[3], double *gflop_pass) {
    dob_net *net = NULL;
    int y;
    dob_conv_cfg c = {.out_channels = s->oc, .kh = s->k, .kw = s->k, .sh = 1, .sw = 1, .pad = DOB_PAD_SAME,
                      .bias = 1, .w_init = {DOB_INIT_GLOROT_UNIFORM, 0, 0}, .b_init = {DOB_INIT_CONST, 0.05f, 0},
                      .l2 = 1, .act = DOB_ACT_RELU};
    double *tf = malloc((size_t)iters * sizeof *tf), *tb = malloc((size_t)iters * sizeof *tb);
    double *tt = malloc((size_t)iters * sizeof *tt);
    dob_status st;
    if ((st = dob_net_create(&net, 3, (int64_t[]){s->ic, s->h, s->w})) != DOB_OK ||
        (st = dob_net_conv(net, s->name, dob_net_input(net), &c, &y)) != DOB_OK ||
        (st = dob_net_alloc(net)) != DOB_OK)
        goto fail;
    dob_arena_init(dob_net_arena(net), 42);
    dob_net_set_input_grad(net, s->bwd_data);
    if ((st = dob_net_build(net, batch)) != DOB_OK) goto fail;
    dob_tensor *x = dob_net_input_tensor(net), *o = dob_net_output(net);
    dob_rng r = {1, DOB_RNG_TEST, 0};
    dob_rng_fill_uniform(&r, x->data, x->count, 0.0f, 1.0f);
    r.stream = 1;
    dob_rng_fill_uniform(&r, o->diff, o->count, -1e-3f, 1e-3f);
    for (int i = 0; i < warmup + iters; i++) {
        double t0 = now_ms();
        if ((st = dob_net_forward(net, 1)) != DOB_OK) goto fail;
        double t1 = now_ms();
        if ((st = dob_net_backward(net)) != DOB_OK) goto fail;
        double t2 = now_ms();
        if (i >= warmup) {
            tf[i - warmup] = t1 - t0;
            tb[i - warmup] = t2 - t1;
            tt[i - warmup] = t2 - t0;
        }
    }
    ms[0] = median(tf, iters);
    ms[1] = median(tb, iters);
    ms[2] = median(tt, iters);
    *gflop_pass = 2.0 * (double)batch * (double)(s->oc * o->dims[2] * o->dims[3] * s->ic * s->k * s->k) * 1e-9;
    free(tf);
    free(tb);
    free(tt);
    dob_net_destroy(net);
    return 0;
fail:
    fprintf(stderr, "bench_conv: %s: %s: %s\n", s->name, dob_status_str(st), dob_last_error());
    free(tf);
    free(tb);
    free(tt);
    dob_net_destroy(net);
    return 1;
}

/* Bare primitives: forward_training (+relu post-op, bias), bwd-data if asked, bwd-weights (+bias), all in their
 * own 'any' layouts on buffers allocated by oneDNN. @return median ms of one fwd+bwd, or -1 on error. */
static double bench_raw(const layer_spec *s, int64_t batch, int iters, int warmup) {
    dnnl_engine_t eng = NULL;
    dnnl_stream_t st = NULL;
    dnnl_primitive_desc_t pd[3] = {NULL, NULL, NULL};
    dnnl_primitive_t prim[3] = {NULL, NULL, NULL};
    dnnl_memory_t m[8] = {NULL};
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    double res = -1, *t = malloc((size_t)iters * sizeof *t);
    int64_t p = s->k / 2;
    dnnl_dims_t sd = {batch, s->ic, s->h, s->w}, wd = {s->oc, s->ic, s->k, s->k}, bd = {s->oc},
                dd = {batch, s->oc, s->h, s->w}, str = {1, 1}, pad = {p, p};
    dnnl_memory_desc_t smd, wmd, bmd, dmd;
    dnnl_convolution_desc_t fd, bdd, bwd;
    if (dnnl_engine_create(&eng, dnnl_cpu, 0) || dnnl_stream_create(&st, eng, dnnl_stream_default_flags) ||
        dnnl_memory_desc_init_by_tag(&smd, 4, sd, dnnl_f32, dnnl_format_tag_any) ||
        dnnl_memory_desc_init_by_tag(&wmd, 4, wd, dnnl_f32, dnnl_format_tag_any) ||
        dnnl_memory_desc_init_by_tag(&bmd, 1, bd, dnnl_f32, dnnl_x) ||
        dnnl_memory_desc_init_by_tag(&dmd, 4, dd, dnnl_f32, dnnl_format_tag_any) ||
        dnnl_convolution_forward_desc_init(&fd, dnnl_forward_training, dnnl_convolution_direct, &smd, &wmd, &bmd,
                                           &dmd, str, pad, pad) ||
        dnnl_primitive_attr_create(&attr) || dnnl_post_ops_create(&po) ||
        dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f) ||
        dnnl_primitive_attr_set_post_ops(attr, po) || dnnl_primitive_desc_create(&pd[0], &fd, attr, eng, NULL) ||
        dnnl_convolution_backward_weights_desc_init(&bwd, dnnl_convolution_direct, &smd, &wmd, &bmd, &dmd, str, pad,
                                                    pad) ||
        dnnl_primitive_desc_create(&pd[2], &bwd, NULL, eng, pd[0]) ||
        dnnl_convolution_backward_data_desc_init(&bdd, dnnl_convolution_direct, &smd, &wmd, &dmd, str, pad, pad) ||
        dnnl_primitive_desc_create(&pd[1], &bdd, NULL, eng, pd[0]))
        goto done;
    for (int i = 0; i < 3; i++)
        if (dnnl_primitive_create(&prim[i], pd[i])) goto done;
    /* src, weights, bias, dst (fwd); diff_src, bwd-data weights (bwd-data); diff_weights, diff_bias (bwd-w) */
    const dnnl_memory_desc_t *mds[8] = {
        dnnl_primitive_desc_query_md(pd[0], dnnl_query_src_md, 0),
        dnnl_primitive_desc_query_md(pd[0], dnnl_query_weights_md, 0), &bmd,
        dnnl_primitive_desc_query_md(pd[0], dnnl_query_dst_md, 0),
        dnnl_primitive_desc_query_md(pd[1], dnnl_query_diff_src_md, 0),
        dnnl_primitive_desc_query_md(pd[1], dnnl_query_weights_md, 0),
        dnnl_primitive_desc_query_md(pd[2], dnnl_query_diff_weights_md, 0), &bmd};
    for (int i = 0; i < 8; i++)
        if (dnnl_memory_create(&m[i], mds[i], eng, DNNL_MEMORY_ALLOCATE)) goto done;
    dnnl_exec_arg_t af[4] = {{DNNL_ARG_SRC, m[0]}, {DNNL_ARG_WEIGHTS, m[1]}, {DNNL_ARG_BIAS, m[2]},
                             {DNNL_ARG_DST, m[3]}};
    dnnl_exec_arg_t ad[3] = {{DNNL_ARG_DIFF_DST, m[3]}, {DNNL_ARG_WEIGHTS, m[5]}, {DNNL_ARG_DIFF_SRC, m[4]}};
    dnnl_exec_arg_t aw[4] = {{DNNL_ARG_SRC, m[0]}, {DNNL_ARG_DIFF_DST, m[3]}, {DNNL_ARG_DIFF_WEIGHTS, m[6]},
                             {DNNL_ARG_DIFF_BIAS, m[7]}};
    for (int i = 0; i < warmup + iters; i++) {
        double t0 = now_ms();
        if (dnnl_primitive_execute(prim[0], st, 4, af) ||
            (s->bwd_data && dnnl_primitive_execute(prim[1], st, 3, ad)) ||
            dnnl_primitive_execute(prim[2], st, 4, aw))
            goto done;
        if (i >= warmup) t[i - warmup] = now_ms() - t0;
    }
    res = median(t, iters);
done:
    if (res < 0) fprintf(stderr, "bench_conv: %s: bare oneDNN primitives failed\n", s->name);
    for (int i = 0; i < 8; i++)
        if (m[i]) dnnl_memory_destroy(m[i]);
    for (int i = 0; i < 3; i++) {
        if (prim[i]) dnnl_primitive_destroy(prim[i]);
        if (pd[i]) dnnl_primitive_desc_destroy(pd[i]);
    }
    if (po) dnnl_post_ops_destroy(po);
    if (attr) dnnl_primitive_attr_destroy(attr);
    if (st) dnnl_stream_destroy(st);
    if (eng) dnnl_engine_destroy(eng);
    free(t);
    return res;
}

int main(int argc, char **argv) {
    int iters = argc > 1 ? atoi(argv[1]) : 20, threads = argc > 2 ? atoi(argv[2]) : 2, warmup = 5;
    const int64_t batch = 128;
    if (iters < 1 || threads < 1) {
        fprintf(stderr, "usage: %s [iterations >= 1] [threads >= 1]\n", argv[0]);
        return 2;
    }
#ifdef _OPENMP
    omp_set_num_threads(threads);
#else
    if (threads != 1) fprintf(stderr, "bench_conv: built without OpenMP; oneDNN uses its own thread setting\n");
#endif
    const layer_spec layers[] = {{"conv1", 1, 28, 28, 32, 5, 0}, {"conv2", 32, 14, 14, 64, 5, 1}};
    printf("fmnist_2c2d convolutions, batch %lld, %d threads, median of %d after %d warm-up (fused ReLU, bias)\n",
           (long long)batch, threads, iters, warmup);
    printf("%-6s %9s %9s %9s %8s %9s %9s %9s %9s\n", "layer", "fwd ms", "bwd ms", "total ms", "GFLOP", "fwd GF/s",
           "tot GF/s", "bare ms", "bare GF/s");
    double sum_ms = 0, sum_gf = 0, sum_raw = 0;
    for (size_t i = 0; i < sizeof layers / sizeof layers[0]; i++) {
        double ms[3], gp;
        if (bench_layer(&layers[i], batch, iters, warmup, ms, &gp)) return 1;
        double gf = gp * (2.0 + layers[i].bwd_data); /* fwd + bwd-weights (+ bwd-data) */
        double raw = bench_raw(&layers[i], batch, iters, warmup);
        if (raw < 0) return 1;
        printf("%-6s %9.2f %9.2f %9.2f %8.3f %9.1f %9.1f %9.2f %9.1f\n", layers[i].name, ms[0], ms[1], ms[2], gf,
               gp / ms[0] * 1e3, gf / ms[2] * 1e3, raw, gf / raw * 1e3);
        sum_ms += ms[2];
        sum_raw += raw;
        sum_gf += gf;
    }
    printf("%-6s %9s %9s %9.2f %8.3f %9s %9.1f %9.2f %9.1f\n", "both", "", "", sum_ms, sum_gf, "",
           sum_gf / sum_ms * 1e3, sum_raw, sum_gf / sum_raw * 1e3);
    printf("layer time / bare primitive time: %.3f\n", sum_ms / sum_raw);
    return 0;
}
