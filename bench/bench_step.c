/* bench_step.c: training-step throughput of a test problem (forward + loss + backward + SGD update, the work
 * of one DeepOBS step without data loading), on synthetic input.
 * usage: bench_step PROBLEM [batch=128] [steps=30] [warmup=5] [--profile] [--precision f32|bf16]
 *        [--conv-algo direct|winograd|auto]
 * Prints one line: "dob PROBLEM bs B: S steps/s (median of R rounds), F ms fwd, W ms bwd, ...". Threads come
 * from OMP_NUM_THREADS. --profile adds a table of mean forward/backward milliseconds per layer (and, for
 * convolutions, the kernels of forward / backward data / backward weights). Never run by CTest: speed is
 * reported, not asserted. */
#include <math.h>
#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "dob/layer.h"
#include "dob/layers.h"
#include "dob/net.h"
#include "dob/optim.h"
#include "dob/problem.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* FLOPs of one training step in conv and dense layers (2 per multiply-add): forward, backward-weights, and
 * backward-data where the input needs a gradient. Pooling, activations, losses and the update are not counted:
 * GFLOP/s against the FMA peak then say how close the step is to pure compute. */
static double step_flops(dob_net *net) {
    double total = 0;
    for (int i = 0; i < dob_net_layer_count(net); i++) {
        const dob_layer *l = dob_net_layer(net, i);
        const dob_tensor *x = l->in[0], *y = l->out;
        double mac = 0;
        if (l->ops == &dob_conv_ops) {
            const dob_conv_cfg *c = l->cfg;
            mac = (double)y->dims[0] * (double)y->dims[1] * (double)y->dims[2] * (double)y->dims[3] *
                  (double)x->dims[1] * (double)c->kh * (double)c->kw;
        } else if (l->ops == &dob_dense_ops) {
            double in = 1;
            for (int k = 1; k < x->ndim; k++) in *= (double)x->dims[k];
            mac = (double)y->dims[0] * in * (double)y->dims[1];
        }
        total += 2.0 * mac * (2.0 + (l->in_diff[0] != NULL));
    }
    return total;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s PROBLEM [batch=128] [steps=30] [warmup=5]\n", argv[0]);
        return 2;
    }
    const dob_problem_spec *p = dob_problem_find(argv[1]);
    if (!p) {
        fprintf(stderr, "unknown problem %s\n", argv[1]);
        return 2;
    }
    int profile = 0;
    dob_precision prec = DOB_F32;
    dob_conv_algo algo = DOB_CONV_DIRECT;
    for (int i = 2; i < argc;) { /* flags anywhere after PROBLEM; the rest stay positional */
        int take = 0;
        if (!strcmp(argv[i], "--profile")) {
            profile = 1;
            take = 1;
        } else if (!strcmp(argv[i], "--precision") && i + 1 < argc) {
            if (dob_precision_parse(argv[i + 1], &prec) != DOB_OK || dob_precision_check(prec) != DOB_OK) {
                fprintf(stderr, "bench_step: %s\n", dob_last_error());
                return 2;
            }
            take = 2;
        } else if (!strcmp(argv[i], "--conv-algo") && i + 1 < argc) {
            if (dob_conv_algo_parse(argv[i + 1], &algo) != DOB_OK) {
                fprintf(stderr, "bench_step: --conv-algo: %s\n", dob_last_error());
                return 2;
            }
            take = 2;
        }
        if (!take) {
            i++;
            continue;
        }
        for (int j = i; j + take < argc; j++) argv[j] = argv[j + take];
        argc -= take;
    }
    int64_t B = argc > 2 ? atoll(argv[2]) : 128;
    int steps = argc > 3 ? atoi(argv[3]) : 30, warm = argc > 4 ? atoi(argv[4]) : 5;
    dob_net *net;
    if (dob_problem_net(p, &net) != DOB_OK || dob_net_set_precision(net, prec) != DOB_OK ||
        dob_net_set_conv_algo(net, algo) != DOB_OK || dob_net_build(net, B) != DOB_OK) {
        fprintf(stderr, "%s\n", dob_last_error());
        return 1;
    }
    dob_arena *a = dob_net_arena(net);
    dob_arena_init(a, 42);
    const dob_optim_ops *sgd = dob_optim_find("sgd");
    dob_tensor *x = dob_net_input_tensor(net), *y = dob_net_output(net);
    int64_t K = y->dims[1] / (p->loss == DOB_LOSS_SMOOTH_CE_AUX ? 2 : 1); /* Inception: [main | aux] logits */
    float *t = calloc((size_t)(B * K), sizeof *t), *loss = malloc((size_t)B * sizeof *loss);
    dob_rng r = {1, DOB_RNG_TEST, 0};
    dob_rng_fill_uniform(&r, x->data, x->count, 0.0f, 1.0f);
    for (int64_t i = 0; i < B; i++) t[i * K + i % K] = 1.0f;
    double *ts = malloc((size_t)steps * sizeof *ts), tf = 0, tb = 0, to = 0;
    for (int s = 0; s < warm + steps; s++) {
        if (profile && s == warm) dob_net_set_profile(net, 1);
        double t0 = now();
        dob_net_set_context(net, (dob_net_ctx){.seed = 1, .step = (uint64_t)s});
        dob_net_forward(net, 1);
        dob_loss_forward(p->loss, y->data, t, B, K, loss);
        dob_loss_backward(p->loss, y->data, t, B, K, 1.0f / (float)B, y->diff);
        double t1 = now();
        dob_net_backward(net);
        double t2 = now();
        sgd->step(dob_arena_params(a), dob_arena_grads(a), NULL, dob_arena_size(a), 1e-3f, NULL, s + 1);
        double t3 = now();
        if (s >= warm) {
            ts[s - warm] = t3 - t0;
            tf += t1 - t0;
            tb += t2 - t1;
            to += t3 - t2;
        }
    }
    qsort(ts, (size_t)steps, sizeof *ts, cmp);
    int threads = 1;
#ifdef _OPENMP
    threads = omp_get_max_threads();
#endif
    const double gf = step_flops(net) * 1e-9;
    /* steps/s to >= 3 significant digits without an exponent (Inception's 0.0949 read "0.09" with %.2f) */
    const double sps = 1.0 / ts[steps / 2];
    printf("dob %s%s bs %lld threads %d: %.*f steps/s (median step %.2f ms, min %.2f ms); mean fwd+loss %.2f ms, "
           "bwd %.2f ms, sgd %.2f ms; %.3f GFLOP/step, %.1f GFLOP/s; activation buffers %.0f MB, arena %.0f MB; "
           "isa %s\n",
           p->name, prec == DOB_BF16 ? " bf16" : "", (long long)B, threads, sps >= 10 ? 2 : sps >= 1 ? 3 : 4, sps,
           1e3 * ts[steps / 2],
           1e3 * ts[0], 1e3 * tf / steps, 1e3 * tb / steps, 1e3 * to / steps, gf, gf / ts[steps / 2],
           1e-6 * (double)dob_net_buffer_bytes(net), 4e-6 * 2 * (double)dob_arena_size(dob_net_arena(net)),
           dnnl_cpu_isa2str(dnnl_get_effective_cpu_isa()));
    if (profile) {
        double sf = 0, sb = 0;
        printf("  %-14s %-10s %9s %9s\n", "layer", "type", "fwd ms", "bwd ms");
        for (int i = 0; i < dob_net_layer_count(net); i++) {
            double f, b;
            dob_layer *l = dob_net_layer(net, i);
            dob_net_profile(net, i, &f, &b);
            if (l->ops->alias) continue;
            const char *kf = NULL, *kd = NULL, *kw = NULL; /* conv: the kernels of its three passes */
            dob_conv_impls(l, &kf, &kd, &kw);
            printf("  %-14s %-10s %9.2f %9.2f", l->name, l->ops->type, 1e3 * f / steps, 1e3 * b / steps);
            if (kf) printf("   %s / %s / %s", kf, kd ? kd : "-", kw ? kw : "-");
            printf("\n");
            sf += f;
            sb += b;
        }
        printf("  %-14s %-10s %9.2f %9.2f   (sgd %.2f ms)\n", "total", "", 1e3 * sf / steps, 1e3 * sb / steps,
               1e3 * to / steps);
    }
    free(ts);
    free(t);
    free(loss);
    dob_net_destroy(net);
    return 0;
}
