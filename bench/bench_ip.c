/* bench_ip.c: the bare oneDNN inner-product primitives of the dense layers of mnist_mlp and fmnist_2c2d (batch
 * 128), with the weights in plain oi (what the arena holds), io, or 'any' (oneDNN's choice), to pick the layout
 * dense.c runs on. Times forward_training, backward data and backward weights (min and median of the iterations,
 * ms; no reorders counted) and prints each implementation name. The min is the figure that survives a shared
 * machine; GFLOP/s are 2 * N * IN * OUT per pass over the min.
 * Usage: bench_ip [iterations=30]. Threads from OMP_NUM_THREADS. Does not assert anything. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <oneapi/dnnl/dnnl.h>

#define CHECK(call)                                                                    \
    do {                                                                               \
        dnnl_status_t s_ = (call);                                                     \
        if (s_ != dnnl_success) {                                                      \
            fprintf(stderr, "%s:%d: %s failed (%d)\n", __FILE__, __LINE__, #call, (int)s_); \
            exit(1);                                                                   \
        }                                                                              \
    } while (0)

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static dnnl_memory_t mem(const dnnl_memory_desc_t *md, dnnl_engine_t eng) {
    dnnl_memory_t m;
    CHECK(dnnl_memory_create(&m, md, eng, DNNL_MEMORY_ALLOCATE));
    void *h;
    CHECK(dnnl_memory_get_data_handle(m, &h));
    float *f = h;
    size_t n = dnnl_memory_desc_get_size(md) / sizeof(float);
    for (size_t i = 0; i < n; i++) f[i] = (float)((i * 2654435761u) % 1000) * 1e-3f - 0.5f;
    return m;
}

/* Execute pd's primitive iters times with args; print impl, min and median ms. */
static void run(const char *what, dnnl_primitive_desc_t pd, dnnl_stream_t s, int nargs, dnnl_exec_arg_t *args,
                int iters, double gflop) {
    dnnl_primitive_t p;
    const char *impl = "?";
    CHECK(dnnl_primitive_create(&p, pd));
    CHECK(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl));
    double *t = malloc((size_t)iters * sizeof *t);
    for (int i = 0; i < iters + 3; i++) {
        double t0 = now_ms();
        CHECK(dnnl_primitive_execute(p, s, nargs, args));
        CHECK(dnnl_stream_wait(s));
        if (i >= 3) t[i - 3] = now_ms() - t0;
    }
    qsort(t, (size_t)iters, sizeof *t, cmp_double);
    printf("    %-5s %-22s min %7.3f ms  median %7.3f ms  %6.1f GFLOP/s at min\n", what, impl, t[0], t[iters / 2],
           gflop / t[0] * 1e3);
    free(t);
    dnnl_primitive_destroy(p);
}

int main(int argc, char **argv) {
    int iters = argc > 1 ? atoi(argv[1]) : 30;
    const int64_t N = 128, shapes[][2] = {{784, 1000}, {1000, 500}, {500, 100}, {3136, 1024}, {1024, 10}};
    const dnnl_format_tag_t tags[] = {dnnl_ab, dnnl_ba, dnnl_format_tag_any};
    const char *tag_names[] = {"oi", "io", "any"};
    dnnl_engine_t eng;
    dnnl_stream_t s;
    CHECK(dnnl_engine_create(&eng, dnnl_cpu, 0));
    CHECK(dnnl_stream_create(&s, eng, dnnl_stream_default_flags));
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        int64_t in = shapes[k][0], out = shapes[k][1];
        double gf = 2.0 * (double)(N * in * out) * 1e-9;
        dnnl_memory_desc_t src, dst, w, b;
        CHECK(dnnl_memory_desc_init_by_tag(&src, 2, (dnnl_dims_t){N, in}, dnnl_f32, dnnl_ab));
        CHECK(dnnl_memory_desc_init_by_tag(&dst, 2, (dnnl_dims_t){N, out}, dnnl_f32, dnnl_ab));
        CHECK(dnnl_memory_desc_init_by_tag(&b, 1, (dnnl_dims_t){out}, dnnl_f32, dnnl_a));
        for (int t = 0; t < 3; t++) {
            CHECK(dnnl_memory_desc_init_by_tag(&w, 2, (dnnl_dims_t){out, in}, dnnl_f32, tags[t]));
            dnnl_inner_product_desc_t fd, dd, wd;
            dnnl_primitive_desc_t fpd, dpd, wpd;
            CHECK(dnnl_inner_product_forward_desc_init(&fd, dnnl_forward_training, &src, &w, &b, &dst));
            CHECK(dnnl_primitive_desc_create(&fpd, &fd, NULL, eng, NULL));
            CHECK(dnnl_inner_product_backward_data_desc_init(&dd, &src, &w, &dst));
            CHECK(dnnl_primitive_desc_create(&dpd, &dd, NULL, eng, fpd));
            CHECK(dnnl_inner_product_backward_weights_desc_init(&wd, &src, &w, &b, &dst));
            CHECK(dnnl_primitive_desc_create(&wpd, &wd, NULL, eng, fpd));
            const dnnl_memory_desc_t *wf = dnnl_primitive_desc_query_md(fpd, dnnl_query_weights_md, 0);
            printf("ip %lld -> %lld, weights %s (forward picks strides %lld,%lld)\n", (long long)in, (long long)out,
                   tag_names[t], (long long)wf->format_desc.blocking.strides[0],
                   (long long)wf->format_desc.blocking.strides[1]);
            dnnl_memory_t ms = mem(&src, eng), md = mem(&dst, eng), mb = mem(&b, eng), mw = mem(wf, eng);
            dnnl_memory_t mwd = mem(dnnl_primitive_desc_query_md(dpd, dnnl_query_weights_md, 0), eng);
            dnnl_memory_t mww = mem(dnnl_primitive_desc_query_md(wpd, dnnl_query_diff_weights_md, 0), eng);
            dnnl_exec_arg_t fa[4] = {{DNNL_ARG_SRC, ms}, {DNNL_ARG_WEIGHTS, mw}, {DNNL_ARG_BIAS, mb}, {DNNL_ARG_DST, md}};
            dnnl_exec_arg_t da[3] = {{DNNL_ARG_DIFF_DST, md}, {DNNL_ARG_WEIGHTS, mwd}, {DNNL_ARG_DIFF_SRC, ms}};
            dnnl_exec_arg_t wa[4] = {{DNNL_ARG_SRC, ms}, {DNNL_ARG_DIFF_DST, md}, {DNNL_ARG_DIFF_WEIGHTS, mww},
                                     {DNNL_ARG_DIFF_BIAS, mb}};
            run("fwd", fpd, s, 4, fa, iters, gf);
            run("bwd_d", dpd, s, 3, da, iters, gf);
            run("bwd_w", wpd, s, 4, wa, iters, gf);
            dnnl_memory_t all[] = {ms, md, mb, mw, mwd, mww};
            for (size_t i = 0; i < 6; i++) dnnl_memory_destroy(all[i]);
            dnnl_primitive_desc_destroy(fpd);
            dnnl_primitive_desc_destroy(dpd);
            dnnl_primitive_desc_destroy(wpd);
        }
    }
    dnnl_stream_destroy(s);
    dnnl_engine_destroy(eng);
    return 0;
}
