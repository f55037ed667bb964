/* bench_resize.c: time of the bilinear resize layer (src/layers/resize.c) at VGG-on-CIFAR's shape.
 * usage: bench_resize [batch=128] [in=32] [out=224] [rounds=20]
 * Prints the median forward and backward milliseconds of N x 3 x in x in -> out x out. Threads come from
 * OMP_NUM_THREADS. Never run by CTest: speed is reported, not asserted. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "dob/layers.h"
#include "dob/net.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    const int64_t n = argc > 1 ? atoll(argv[1]) : 128, in = argc > 2 ? atoll(argv[2]) : 32;
    const int64_t out = argc > 3 ? atoll(argv[3]) : 224;
    const int rounds = argc > 4 ? atoi(argv[4]) : 20;
    if (n < 1 || in < 1 || out < 1 || rounds < 1 || rounds > 1000) {
        fprintf(stderr, "usage: %s [batch>=1] [in>=1] [out>=1] [rounds 1..1000]\n", argv[0]);
        return 2;
    }
    dob_net *net = NULL;
    int y;
    double *tf = malloc((size_t)rounds * sizeof *tf), *tb = malloc((size_t)rounds * sizeof *tb);
    if (!tf || !tb || dob_net_create(&net, 3, (int64_t[]){3, in, in}) != DOB_OK ||
        dob_net_resize_bilinear(net, "resize", 0, &(dob_resize_cfg){out, out}, &y) != DOB_OK ||
        dob_net_alloc(net) != DOB_OK || (dob_net_set_input_grad(net, 1), dob_net_build(net, n)) != DOB_OK) {
        fprintf(stderr, "bench_resize: %s\n", dob_last_error());
        return 1;
    }
    dob_tensor *x = dob_net_input_tensor(net), *o = dob_net_output(net);
    for (size_t i = 0; i < x->count; i++) x->data[i] = (float)(i % 251) / 251.0f;
    for (size_t i = 0; i < o->count; i++) o->diff[i] = (float)(i % 13) / 13.0f;
    for (int r = -2; r < rounds; r++) { /* 2 warm-up rounds */
        double t0 = now();
        dob_net_forward(net, 1);
        double t1 = now();
        dob_net_backward(net);
        double t2 = now();
        if (r >= 0) tf[r] = t1 - t0, tb[r] = t2 - t1;
    }
    qsort(tf, (size_t)rounds, sizeof *tf, cmp);
    qsort(tb, (size_t)rounds, sizeof *tb, cmp);
    printf("resize %lldx3x%lldx%lld -> %lldx%lld: forward %.2f ms, backward %.2f ms (median of %d)\n", (long long)n,
           (long long)in, (long long)in, (long long)out, (long long)out, 1e3 * tf[rounds / 2], 1e3 * tb[rounds / 2],
           rounds);
    dob_net_destroy(net);
    free(tf);
    free(tb);
    return 0;
}
