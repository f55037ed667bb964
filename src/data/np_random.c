/* np_random.c: numpy's legacy RandomState(seed) streams, reproduced bit for bit, and the synthetic data sets of
 * DeepOBS drawn from them (DeepOBS §4.8, §4.9, §10).
 *
 * numpy: RandomState(int seed) seeds MT19937 with init_genrand(seed); random_sample() = ((a >> 5) * 2^26 +
 * (b >> 6)) / 2^53 from two 32-bit outputs; uniform(lo, hi) = lo + (hi - lo) * random_sample(); normal(loc, scale)
 * = loc + scale * gauss with the legacy polar Box-Muller that caches its second value across calls.
 * Checks (tests): RandomState(42).uniform() = 0.3745401188473625, normal() = 0.4967141530112327.
 *
 * Data sets (float32 cast of numpy's float64 draws, as DeepOBS):
 *   quadratic: normal(0, 0.6, (1000, 100)) row-major; seeds train 42, test 43, valid (v1.2) 44.
 *   two_d: x = normal(0, 1, 10000), then y = normal(0, 1, 10000); seeds train 42, valid 44; test all zeros.
 * Targets: one column of zeros (the nets compute the loss; DOB_LOSS_IDENTITY ignores it). Does not: shuffle. */
#include "dob/data.h"

#include <math.h>
#include <string.h>

void dob_np_seed(dob_np_rng *r, uint32_t seed) {
    memset(r, 0, sizeof *r);
    r->mt[0] = seed;
    for (int i = 1; i < 624; i++) r->mt[i] = 1812433253u * (r->mt[i - 1] ^ (r->mt[i - 1] >> 30)) + (uint32_t)i;
    r->mti = 624;
}

static void regenerate(dob_np_rng *r) {
    static const uint32_t mag01[2] = {0u, 0x9908b0dfu};
    int k;
    uint32_t y;
    for (k = 0; k < 624 - 397; k++) {
        y = (r->mt[k] & 0x80000000u) | (r->mt[k + 1] & 0x7fffffffu);
        r->mt[k] = r->mt[k + 397] ^ (y >> 1) ^ mag01[y & 1u];
    }
    for (; k < 623; k++) {
        y = (r->mt[k] & 0x80000000u) | (r->mt[k + 1] & 0x7fffffffu);
        r->mt[k] = r->mt[k + 397 - 624] ^ (y >> 1) ^ mag01[y & 1u];
    }
    y = (r->mt[623] & 0x80000000u) | (r->mt[0] & 0x7fffffffu);
    r->mt[623] = r->mt[396] ^ (y >> 1) ^ mag01[y & 1u];
    r->mti = 0;
}

uint32_t dob_np_u32(dob_np_rng *r) {
    if (r->mti >= 624) regenerate(r);
    uint32_t y = r->mt[r->mti++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    return y;
}

double dob_np_random(dob_np_rng *r) {
    const uint32_t a = dob_np_u32(r) >> 5, b = dob_np_u32(r) >> 6;
    return ((double)a * 67108864.0 + (double)b) / 9007199254740992.0;
}

double dob_np_uniform(dob_np_rng *r, double lo, double hi) { return lo + (hi - lo) * dob_np_random(r); }

double dob_np_gauss(dob_np_rng *r) {
    if (r->has_gauss) {
        r->has_gauss = 0;
        return r->gauss;
    }
    double x1, x2, r2;
    do {
        x1 = 2.0 * dob_np_random(r) - 1.0;
        x2 = 2.0 * dob_np_random(r) - 1.0;
        r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1.0 || r2 == 0.0);
    const double f = sqrt(-2.0 * log(r2) / r2);
    r->gauss = f * x1;
    r->has_gauss = 1;
    return f * x2;
}

dob_status dob_quadratic_data(uint32_t seed, int64_t n, int64_t dim, double noise, dob_dataset *out) {
    dob_status st = dob_dataset_alloc(out, n, 1, &dim, 1);
    if (st != DOB_OK) return st;
    dob_np_rng r;
    dob_np_seed(&r, seed);
    float *x = out->x;
    for (int64_t i = 0; i < n * dim; i++) x[i] = (float)(noise * dob_np_gauss(&r));
    return DOB_OK;
}

dob_status dob_two_d_data(uint32_t seed, int64_t n, double noise, int zeros, dob_dataset *out) {
    dob_status st = dob_dataset_alloc(out, n, 1, (const int64_t[]){2}, 1);
    if (st != DOB_OK || zeros) return st;
    dob_np_rng r;
    dob_np_seed(&r, seed);
    float *x = out->x;
    for (int64_t i = 0; i < n; i++) x[2 * i] = (float)(noise * dob_np_gauss(&r));
    for (int64_t i = 0; i < n; i++) x[2 * i + 1] = (float)(noise * dob_np_gauss(&r));
    return DOB_OK;
}
