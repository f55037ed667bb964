/* bench_gather.c: the cost of the batch gather with data sets kept in their stored type (issue 20).
 * Before issue 20 the readers converted whole data sets to float32 and a batch was a memcpy per example; now
 * the bytes stay bytes and dob_dataset_gather converts ((float)v, / x_div) per batch. This times both on the same
 * examples, interleaved (old, new, old, new, ...): real Fashion-MNIST (u8 pixels / 255 and labels, against its
 * float32 copy made by dob_dataset_to_f32, i.e. the old storage) and a CIFAR-shaped u8 set (3 x 32 x 32, no
 * division). Batches of B random examples; prints the min and median microseconds per batch of each.
 * usage: bench_gather [B=128] [ROUNDS=2000]. Threads: OMP_NUM_THREADS, as the trainer's gather. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "dob/datasets.h"
#include "dob/io.h"
#include "dob/rng.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Interleaved rounds of gathering B random examples from a (old storage) and b (new): min / median us each. */
static void race(const char *what, const dob_dataset *a, const dob_dataset *b, int64_t B, int rounds) {
    const int64_t size = dob_dataset_example_size(a);
    float *x = malloc((size_t)(B * size) * sizeof *x), *y = malloc((size_t)(B * a->k) * sizeof *y);
    uint32_t *idx = malloc((size_t)B * sizeof *idx);
    double *ta = malloc((size_t)rounds * sizeof *ta), *tb = malloc((size_t)rounds * sizeof *tb);
    if (!x || !y || !idx || !ta || !tb) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    for (int r = 0; r < rounds; r++) {
        for (int64_t i = 0; i < B; i++) idx[i] = dob_rng_u32(&(dob_rng){1, DOB_RNG_TEST, (uint64_t)r}, (uint64_t)i) %
                                                 (uint32_t)a->n;
        double t0 = now();
        dob_dataset_gather(a, idx, B, x, y);
        double t1 = now();
        dob_dataset_gather(b, idx, B, x, y);
        double t2 = now();
        ta[r] = (t1 - t0) * 1e6;
        tb[r] = (t2 - t1) * 1e6;
    }
    qsort(ta, (size_t)rounds, sizeof *ta, cmp);
    qsort(tb, (size_t)rounds, sizeof *tb, cmp);
    printf("%-28s batch %lld: float32 storage min %7.1f us median %7.1f us | stored type min %7.1f us median %7.1f "
           "us (median ratio %.2f)\n", what, (long long)B, ta[0], ta[rounds / 2], tb[0], tb[rounds / 2],
           tb[rounds / 2] / ta[rounds / 2]);
    free(x), free(y), free(idx), free(ta), free(tb);
}

int main(int argc, char **argv) {
    const int64_t B = argc > 1 ? atoll(argv[1]) : 128;
    const int rounds = argc > 2 ? atoi(argv[2]) : 2000;
    char dir[4096];
    dob_dataset u8, f32;
    if (dob_data_dir_resolve(NULL, "fmnist", dir, sizeof dir) == DOB_OK && dob_mnist_load(dir, "train", &u8) == DOB_OK &&
        dob_dataset_to_f32(&u8, 0, u8.n, &f32) == DOB_OK) {
        race("Fashion-MNIST (u8 / 255)", &f32, &u8, B, rounds);
        dob_dataset_free(&u8);
        dob_dataset_free(&f32);
    } else {
        printf("Fashion-MNIST not found: %s\n", dob_last_error());
    }
    /* CIFAR-shaped: 10 000 images of 3 x 32 x 32 bytes with labels */
    if (dob_dataset_alloc_as(&u8, 10000, 3, (const int64_t[]){3, 32, 32}, 10, DOB_DT_U8, DOB_Y_LABELS) != DOB_OK)
        return 1;
    uint8_t *p = u8.x;
    for (int64_t i = 0; i < u8.n * 3072; i++) p[i] = (uint8_t)(i * 2654435761u >> 24);
    for (int64_t i = 0; i < u8.n; i++) u8.label[i] = (int32_t)(i % 10);
    if (dob_dataset_to_f32(&u8, 0, u8.n, &f32) != DOB_OK) return 1;
    race("CIFAR-shaped (u8, 0..255)", &f32, &u8, B, rounds);
    dob_dataset_free(&u8);
    dob_dataset_free(&f32);
    return 0;
}
