/* bench_optim.c: one update of every built-in optimizer on N parameters (default 1 336 610: mnist_mlp's), with
 * its default hyperparameters and lr 0.01. Prints the fastest of the iterations (ms; a shared machine disturbs
 * the median, not the minimum), the bytes each update streams as GB/s (params, grads and each state array read,
 * params and states written), and a hash of the parameters after all iterations: equal hashes across builds or
 * machines mean bit-equal updates (the -fno-math-errno change of the optimizers kept them).
 * Why: Adam's step once ran a scalar sqrtf with an errno branch and cost mnist_mlp 2.6 ms a step, 10x momentum's,
 * which `dob runtime` then reported as Adam's overhead. Usage: bench_optim [iterations=60] [N].
 * 20 untimed updates come first. Threads from OMP_NUM_THREADS. Does not assert anything. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dob/optim.h"

enum { WARMUP = 20 };

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

int main(int argc, char **argv) {
    const int iters = argc > 1 ? atoi(argv[1]) : 60;
    const long long nl = argc > 2 ? atoll(argv[2]) : 1336610;
    if (iters < 1 || nl < 1) {
        fprintf(stderr, "usage: %s [iterations >= 1] [N >= 1]\n", argv[0]);
        return 2;
    }
    const size_t n = (size_t)nl;
    static const char *names[] = {"sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop", "adagrad", "adadelta"};
    float *p = malloc(n * sizeof *p), *g = malloc(n * sizeof *g), *s0 = malloc(n * sizeof *s0),
          *s1 = malloc(n * sizeof *s1);
    if (!p || !g || !s0 || !s1) {
        fprintf(stderr, "bench_optim: out of memory for %zu parameters\n", n);
        return 1;
    }
    for (size_t i = 0; i < n; i++) g[i] = (float)((i * 7) % 13) * 1e-3f - 0.006f;
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        const dob_optim_ops *o = dob_optim_find(names[k]);
        if (!o) continue;
        double hp[16] = {0};
        for (int j = 0; j < o->n_hparams; j++) hp[j] = o->hparams[j].def;
        if (o->init) { /* e.g. Adagrad's initial accumulator */
            float *st[2] = {s0, s1};
            o->init(st, n, hp);
        } else {
            memset(s0, 0, n * sizeof *s0);
            memset(s1, 0, n * sizeof *s1);
        }
        for (size_t i = 0; i < n; i++) p[i] = (float)(i % 101) * 1e-3f;
        float *st[2] = {s0, s1};
        double best = 1e30;
        for (int it = 0; it < iters + WARMUP; it++) { /* the first ones warm the caches and the clock: untimed */
            const double t0 = now_ms();
            o->step(p, g, st, n, 0.01f, hp, it + 1);
            const double t = now_ms() - t0;
            if (it >= WARMUP && t < best) best = t;
        }
        uint32_t h = 2166136261u; /* FNV-1a over the parameters' bits */
        for (size_t i = 0; i < n; i++) {
            uint32_t u;
            memcpy(&u, &p[i], sizeof u);
            h = (h ^ u) * 16777619u;
        }
        const double bytes = (double)n * sizeof(float) * (2.0 + 1.0 + 2.0 * o->state_count);
        printf("%-9s %zu params: min %.3f ms, %.1f GB/s, hash %08x\n", names[k], n, best, bytes / best * 1e-6,
               (unsigned)h);
    }
    free(p);
    free(g);
    free(s0);
    free(s1);
    return 0;
}
