/* rng.c: Philox4x32-10 (Random123) counter-based streams and the init distributions DeepOBS uses.
 * Key = (seed lo, seed hi ^ purpose mix); counter = (index lo, index hi, stream lo, stream hi).
 * Does not: keep state. Every value is a pure function of its coordinates. */
#include "dob/rng.h"

#include <math.h>

#include <Random123/philox.h>

#define PI_D 3.14159265358979323846

void dob_rng_block(const dob_rng *r, uint64_t index, uint32_t out[4]) {
    philox4x32_ctr_t c = {{(uint32_t)index, (uint32_t)(index >> 32), (uint32_t)r->stream,
                           (uint32_t)(r->stream >> 32)}};
    philox4x32_key_t k = {{(uint32_t)r->seed, (uint32_t)(r->seed >> 32) ^ (r->purpose * 0x9E3779B9u)}};
    philox4x32_ctr_t o = philox4x32(c, k);
    out[0] = o.v[0];
    out[1] = o.v[1];
    out[2] = o.v[2];
    out[3] = o.v[3];
}

uint32_t dob_rng_u32(const dob_rng *r, uint64_t i) {
    uint32_t b[4];
    dob_rng_block(r, i >> 2, b);
    return b[i & 3];
}

static float u01f(uint32_t w) { return (float)(w >> 8) * (1.0f / 16777216.0f); }

float dob_rng_uniform(const dob_rng *r, uint64_t i) { return u01f(dob_rng_u32(r, i)); }

double dob_rng_uniform_double(const dob_rng *r, uint64_t i) {
    uint32_t b[4];
    dob_rng_block(r, i >> 1, b);
    uint32_t a = b[(i & 1) * 2], c = b[(i & 1) * 2 + 1];
    return ((double)(a >> 5) * 67108864.0 + (double)(c >> 6)) * (1.0 / 9007199254740992.0);
}

/* Box-Muller on words 0, 1 of one block; (0, 1] for the log argument. */
static double normal_from_block(const uint32_t b[4]) {
    double u1 = ((double)b[0] + 1.0) * (1.0 / 4294967296.0);
    double u2 = (double)b[1] * (1.0 / 4294967296.0);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * PI_D * u2);
}

double dob_rng_normal(const dob_rng *r, uint64_t i) {
    uint32_t b[4];
    dob_rng_block(r, i, b);
    return normal_from_block(b);
}

double dob_rng_trunc_normal(const dob_rng *r, uint64_t i) {
    /* attempt k of value i uses block (k << 40) | i: values stay independent of n and of the thread count */
    for (uint64_t k = 0;; k++) {
        uint32_t b[4];
        dob_rng_block(r, (k << 40) | i, b);
        double z = normal_from_block(b);
        if (z >= -2.0 && z <= 2.0) return z;
    }
}

void dob_rng_fill_uniform(const dob_rng *r, float *x, size_t n, float lo, float hi) {
    const float w = hi - lo;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) x[i] = lo + w * dob_rng_uniform(r, i);
}

void dob_rng_fill_normal(const dob_rng *r, float *x, size_t n, float mean, float std) {
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) x[i] = (float)(mean + std * dob_rng_normal(r, i));
}

void dob_rng_fill_trunc_normal(const dob_rng *r, float *x, size_t n, float mean, float std) {
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) x[i] = (float)(mean + std * dob_rng_trunc_normal(r, i));
}

void dob_rng_permutation(const dob_rng *r, uint32_t *perm, size_t n) {
    for (size_t i = 0; i < n; i++) perm[i] = (uint32_t)i;
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(dob_rng_uniform_double(r, i) * (double)i);
        if (j >= i) j = i - 1;
        uint32_t t = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = t;
    }
}
