/* test_core.c: status/messages, arena layout and inits, Philox RNG, the net driver (with the activation layer:
 * forward vs naive reference, finite differences, overwrite; fan-out gradient summation; reshape views). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include <Random123/philox.h>

#include "dob/arena.h"
#include "dob/rng.h"
#include "layer_fx.h"
#include "tc.h"

/* ---- status ------------------------------------------------------------------------------------------ */
static dob_status failing(int x) {
    if (x < 0) return DOB_FAIL(DOB_EINVAL, "expected x >= 0, found %d", x);
    return DOB_OK;
}

static void test_status_messages(void) {
    dob_error_clear();
    CU_ASSERT_STRING_EQUAL(dob_last_error(), "");
    TC_ASSERT_FAILS(failing(-3), DOB_EINVAL, "expected x >= 0, found -3");
    CU_ASSERT_PTR_NOT_NULL(strstr(dob_last_error_site(), "test_core.c:"));
    dob_error_prefix("layer %s: ", "conv1");
    CU_ASSERT_STRING_EQUAL(dob_last_error(), "layer conv1: expected x >= 0, found -3");
    CU_ASSERT_STRING_EQUAL(dob_status_str(DOB_EEXIST), "DOB_EEXIST");
    CU_ASSERT_EQUAL(failing(1), DOB_OK);
}

/* ---- arena ------------------------------------------------------------------------------------------- */
static void test_arena_layout(void) {
    dob_arena *a;
    TC_ASSERT_OK(dob_arena_create(&a));
    int w, b, m;
    TC_ASSERT_OK(dob_arena_reserve(a, "fc/weights", 2, (int64_t[]){10, 7}, 7, 10,
                                   (dob_init){DOB_INIT_CONST, 0.5f, 0}, DOB_PARAM_L2, &w));
    TC_ASSERT_OK(dob_arena_reserve(a, "fc/bias", 1, (int64_t[]){10}, 0, 0, (dob_init){DOB_INIT_CONST, 0.05f, 0},
                                   0, &b));
    TC_ASSERT_OK(dob_arena_reserve(a, "bn/moving_mean", 1, (int64_t[]){3}, 0, 0,
                                   (dob_init){DOB_INIT_ZEROS, 0, 0}, DOB_PARAM_BUFFER, &m));
    TC_ASSERT_FAILS(dob_arena_reserve(a, "fc/bias", 1, (int64_t[]){2}, 0, 0, (dob_init){0}, 0, NULL), DOB_EINVAL,
                    "reserved twice");
    TC_ASSERT_FAILS(dob_arena_reserve(a, "bad", 2, (int64_t[]){2, 0}, 0, 0, (dob_init){0}, 0, NULL), DOB_EINVAL,
                    "dim 1 is 0");
    TC_ASSERT_OK(dob_arena_alloc(a, 2));
    CU_ASSERT_EQUAL(dob_arena_param_count(a), 80);
    CU_ASSERT_EQUAL(dob_arena_info(a, w)->offset, 0);
    CU_ASSERT_EQUAL(dob_arena_info(a, b)->offset, 80);  /* 70 rounded up to 16 floats */
    CU_ASSERT_EQUAL(dob_arena_size(a), 96);
    CU_ASSERT_EQUAL(dob_arena_buffer_size(a), 16);
    CU_ASSERT_EQUAL((uintptr_t)dob_arena_param(a, b) % 64, 0);
    CU_ASSERT_EQUAL((uintptr_t)dob_arena_state(a, 1) % 64, 0);
    CU_ASSERT_PTR_NULL(dob_arena_grad(a, m));
    CU_ASSERT_PTR_EQUAL(dob_arena_param(a, m), dob_arena_buffers(a));
    dob_arena_init(a, 42);
    CU_ASSERT_DOUBLE_EQUAL(dob_arena_param(a, w)[69], 0.5, 0);
    CU_ASSERT_DOUBLE_EQUAL(dob_arena_param(a, b)[9], 0.05, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(dob_arena_params(a)[75], 0.0, 0); /* padding stays zero */
    CU_ASSERT_DOUBLE_EQUAL(dob_arena_l2_half_sq(a), 0.5 * 70 * 0.25, 1e-9);
    float *g = dob_arena_grads(a);
    dob_arena_l2_grad(a, 2.0f);
    CU_ASSERT_DOUBLE_EQUAL(g[0], 1.0, 1e-7);
    CU_ASSERT_DOUBLE_EQUAL(g[80], 0.0, 0); /* the bias is not regularised */
    dob_arena_destroy(a);
    dob_arena_destroy(NULL);
}

static void moments(const float *x, size_t n, double *mean, double *sd, double *mx) {
    double s = 0, s2 = 0, m = 0;
    for (size_t i = 0; i < n; i++) {
        s += x[i];
        s2 += (double)x[i] * x[i];
        if (fabs(x[i]) > m) m = fabs(x[i]);
    }
    *mean = s / (double)n;
    *sd = sqrt(s2 / (double)n - *mean * *mean);
    *mx = m;
}

static void test_arena_inits(void) {
    dob_arena *a;
    TC_ASSERT_OK(dob_arena_create(&a));
    int gu, gn, tn;
    /* conv kernel oihw 64x32x5x5: fan_in 800, fan_out 1600 */
    TC_ASSERT_OK(dob_arena_reserve(a, "gu", 4, (int64_t[]){64, 32, 5, 5}, 800, 1600,
                                   (dob_init){DOB_INIT_GLOROT_UNIFORM, 0, 0}, 0, &gu));
    TC_ASSERT_OK(dob_arena_reserve(a, "gn", 4, (int64_t[]){64, 32, 5, 5}, 800, 1600,
                                   (dob_init){DOB_INIT_GLOROT_NORMAL, 0, 0}, 0, &gn));
    TC_ASSERT_OK(dob_arena_reserve(a, "tn", 2, (int64_t[]){1000, 784}, 784, 1000,
                                   (dob_init){DOB_INIT_TRUNC_NORMAL, 0.0f, 0.03f}, 0, &tn));
    TC_ASSERT_OK(dob_arena_alloc(a, 0));
    dob_arena_init(a, 42);
    double mean, sd, mx, L = sqrt(6.0 / 2400.0);
    moments(dob_arena_param(a, gu), 51200, &mean, &sd, &mx);
    CU_ASSERT(fabs(mean) < 0.01 * L);
    CU_ASSERT(fabs(sd - L / sqrt(3.0)) < 0.01 * L);
    CU_ASSERT(mx <= L);
    moments(dob_arena_param(a, gn), 51200, &mean, &sd, &mx);
    double s = sqrt(2.0 / 2400.0); /* TF's correction makes the truncated sd equal sqrt(2/(fi+fo)) */
    CU_ASSERT(fabs(sd - s) < 0.02 * s);
    CU_ASSERT(mx <= 2.0 * s / 0.87962566103423978 + 1e-6);
    moments(dob_arena_param(a, tn), 784000, &mean, &sd, &mx);
    CU_ASSERT(fabs(sd - 0.03 * 0.87962566103423978) < 0.001);
    CU_ASSERT(mx <= 0.06 + 1e-6);
    /* same seed, same values; another seed, other values */
    float first = dob_arena_param(a, gu)[123];
    dob_arena_init(a, 42);
    CU_ASSERT_EQUAL(dob_arena_param(a, gu)[123], first);
    dob_arena_init(a, 43);
    CU_ASSERT_NOT_EQUAL(dob_arena_param(a, gu)[123], first);
    dob_arena_destroy(a);
}

/* ---- RNG --------------------------------------------------------------------------------------------- */
static void test_philox_kat(void) {
    /* Random123 known-answer vectors (kat_vectors): philox4x32-10 */
    philox4x32_ctr_t c0 = {{0, 0, 0, 0}};
    philox4x32_key_t k0 = {{0, 0}};
    philox4x32_ctr_t o = philox4x32(c0, k0);
    CU_ASSERT_EQUAL(o.v[0], 0x6627e8d5u);
    CU_ASSERT_EQUAL(o.v[1], 0xe169c58du);
    CU_ASSERT_EQUAL(o.v[2], 0xbc57ac4cu);
    CU_ASSERT_EQUAL(o.v[3], 0x9b00dbd8u);
    philox4x32_ctr_t c1 = {{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}};
    philox4x32_key_t k1 = {{0xa4093822u, 0x299f31d0u}};
    o = philox4x32(c1, k1);
    CU_ASSERT_EQUAL(o.v[0], 0xd16cfe09u);
    CU_ASSERT_EQUAL(o.v[1], 0x94fdccebu);
    CU_ASSERT_EQUAL(o.v[2], 0x5001e420u);
    CU_ASSERT_EQUAL(o.v[3], 0x24126ea1u);
    /* dob's key mapping with purpose 0 and seed 0 is the plain Philox stream */
    dob_rng r = {0, 0, 0};
    uint32_t b[4];
    dob_rng_block(&r, 0, b);
    CU_ASSERT_EQUAL(b[0], 0x6627e8d5u);
}

/* dob_rng_blocks (8 blocks per AVX2 pass) gives dob_rng_block's bits: odd counts (a scalar tail), counters
 * across 2^32 (the high counter word), every purpose bit and stream word in use. */
static void test_rng_blocks(void) {
    const dob_rng rs[] = {{0, 0, 0}, {42, DOB_RNG_DROPOUT, ((uint64_t)7 << 40) | 12345}, {~0ull, 0xffffffffu, ~0ull}};
    const uint64_t firsts[] = {0, 5, 0xfffffffcull, (1ull << 40) + 3};
    uint32_t got[4 * 37], want[4];
    int bad = 0;
    for (size_t i = 0; i < sizeof rs / sizeof rs[0]; i++)
        for (size_t f = 0; f < sizeof firsts / sizeof firsts[0]; f++)
            for (size_t n = 0; n <= 37; n += 5) {
                dob_rng_blocks(&rs[i], firsts[f], n, got);
                for (size_t b = 0; b < n; b++) {
                    dob_rng_block(&rs[i], firsts[f] + b, want);
                    bad += memcmp(want, got + 4 * b, sizeof want) != 0;
                }
            }
    CU_ASSERT_EQUAL(bad, 0);
}

static void test_rng_threads(void) {
    enum { N = 100003 };
    float *a = malloc(N * sizeof *a), *b = malloc(N * sizeof *b);
    dob_rng r = {42, DOB_RNG_TEST, 3};
#ifdef _OPENMP
    int nt = omp_get_max_threads();
    omp_set_num_threads(1);
#endif
    dob_rng_fill_trunc_normal(&r, a, N, 0.0f, 1.0f);
#ifdef _OPENMP
    omp_set_num_threads(2);
#endif
    dob_rng_fill_trunc_normal(&r, b, N, 0.0f, 1.0f);
#ifdef _OPENMP
    omp_set_num_threads(nt);
#endif
    CU_ASSERT_EQUAL(memcmp(a, b, N * sizeof *a), 0);
    double mean, sd, mx;
    dob_rng_fill_uniform(&r, a, N, -1.0f, 3.0f);
    moments(a, N, &mean, &sd, &mx);
    CU_ASSERT(fabs(mean - 1.0) < 0.02);
    CU_ASSERT(mx < 3.0);
    dob_rng_fill_normal(&r, a, N, 1.0f, 2.0f);
    moments(a, N, &mean, &sd, &mx);
    CU_ASSERT(fabs(mean - 1.0) < 0.03 && fabs(sd - 2.0) < 0.03);
    /* different purposes give different streams */
    dob_rng r2 = {42, DOB_RNG_DROPOUT, 3};
    CU_ASSERT_NOT_EQUAL(dob_rng_u32(&r, 0), dob_rng_u32(&r2, 0));
    uint32_t perm[1000];
    int seen[1000] = {0};
    dob_rng_permutation(&r, perm, 1000);
    int okp = 1;
    for (int i = 0; i < 1000; i++) okp &= perm[i] < 1000 && !seen[perm[i]]++;
    CU_ASSERT(okp);
    CU_ASSERT(perm[0] != 0 || perm[1] != 1);
    free(a);
    free(b);
}

/* ---- net driver with the activation layer ---------------------------------------------------------- */
static double act_ref(dob_act_kind k, double x, double alpha) {
    switch (k) {
    case DOB_ACT_RELU: return x > 0 ? x : 0;
    case DOB_ACT_TANH: return tanh(x);
    case DOB_ACT_SIGMOID: return 1.0 / (1.0 + exp(-x));
    case DOB_ACT_LRELU: return x > 0 ? x : alpha * x;
    default: return x;
    }
}

/* The act layer through the table-driven checks (layer_fx.h): one row per kind, input U(-2, 2), kept 0.05 away
 * from 0 (the ReLU kinks) for the gradients. */
static dob_status add_act(dob_net *net, int in, const void *cfg, int *out) {
    return dob_net_act(net, "act", in, cfg, out);
}

static void ref_act(const void *cfg, dob_net *net, float *y) {
    const dob_act_cfg *c = cfg;
    const dob_tensor *x = dob_net_input_tensor(net);
    for (size_t i = 0; i < x->count; i++) y[i] = (float)act_ref(c->kind, x->data[i], c->alpha);
}

static void act_away_from_kink(const void *cfg, dob_net *net) {
    dob_tensor *x = dob_net_input_tensor(net);
    tc_fill_away0(x->data, x->count, 1, (uint64_t)((const dob_act_cfg *)cfg)->kind, -2.0f, 2.0f, 0.05f);
}

#define ACT_ROW(kind)                                                                                              \
    {.name = "act " #kind, .in_ndim = 3, .in_dims = {3, 5, 7}, .cfg = &(const dob_act_cfg){kind, 0.3f},           \
     .add = add_act, .ref = ref_act, .prepare = act_away_from_kink, .fwd_tol = 1e-5,                              \
     .gc = {.eps = 1e-3, .tol = 1e-2, .training = 1}, .in_lo = -2.0f, .in_hi = 2.0f, .seed = 1}
static const tc_layer_case act_rows[] = {ACT_ROW(DOB_ACT_RELU), ACT_ROW(DOB_ACT_TANH), ACT_ROW(DOB_ACT_SIGMOID),
                                         ACT_ROW(DOB_ACT_LRELU)};

static void test_act_layers(void) { tc_layer_run_all(act_rows, sizeof act_rows / sizeof act_rows[0]); }

static void test_net_fanout_and_reshape(void) {
    /* y = relu(x) + tanh(x), via a fan-out of x and a residual add: dy/dx sums both paths */
    dob_net *net;
    int a, b, s, f;
    TC_ASSERT_OK(dob_net_create(&net, 3, (int64_t[]){2, 3, 4}));
    TC_ASSERT_OK(dob_net_act(net, "relu", 0, &(dob_act_cfg){DOB_ACT_RELU, 0}, &a));
    TC_ASSERT_OK(dob_net_act(net, "tanh", 0, &(dob_act_cfg){DOB_ACT_TANH, 0}, &b));
    TC_ASSERT_OK(dob_net_act(net, "sig", a, &(dob_act_cfg){DOB_ACT_SIGMOID, 0}, &s));
    TC_ASSERT_OK(dob_net_flatten(net, "flat", s, &f));
    CU_ASSERT_EQUAL(dob_net_tensor(net, f)->ndim, 2);
    CU_ASSERT_EQUAL(dob_net_tensor(net, f)->dims[1], 24);
    TC_ASSERT_FAILS(dob_net_reshape(net, "bad", f, &(dob_reshape_cfg){.ndim = 1, .dims = {25}}, NULL), DOB_EINVAL,
                    "layer bad (reshape): reshape to 25 elements");
    TC_ASSERT_FAILS(dob_net_act(net, "relu", 0, &(dob_act_cfg){DOB_ACT_RELU, 0}, NULL), DOB_EINVAL,
                    "name used twice");
    TC_ASSERT_FAILS(dob_net_act(net, "x", 99, &(dob_act_cfg){DOB_ACT_RELU, 0}, NULL), DOB_EINVAL,
                    "does not exist");
    dob_net_set_output(net, f);
    TC_ASSERT_OK(dob_net_alloc(net));
    dob_net_set_input_grad(net, 1);
    TC_ASSERT_OK(dob_net_build(net, 2));
    dob_tensor *x = dob_net_input_tensor(net);
    tc_fill_away0(x->data, x->count, 3, 0, -2.0f, 2.0f, 0.05f);
    TC_ASSERT_OK(dob_net_forward(net, 1));
    CU_ASSERT_PTR_EQUAL(dob_net_tensor(net, f)->data, dob_net_tensor(net, s)->data); /* a view, no copy */
    CU_ASSERT_EQUAL(tc_gradcheck(net, (tc_gc_opts){.eps = 1e-3, .training = 1}, "fanout"), 0);
    CU_ASSERT(tc_overwrite_check(net, "fanout"));
    /* rebuild at another batch size */
    TC_ASSERT_OK(dob_net_build(net, 5));
    CU_ASSERT_EQUAL(dob_net_output(net)->count, 5 * 24);
    TC_ASSERT_FAILS(dob_net_build(net, 0), DOB_EINVAL, "batch size must be > 0");
    dob_net_destroy(net);
    dob_net_destroy(NULL);
}

static void test_pad_out(void) {
    int64_t l, r;
    CU_ASSERT_EQUAL(dob_pad_out(28, 5, 1, DOB_PAD_SAME, &l, &r), 28);
    CU_ASSERT(l == 2 && r == 2);
    CU_ASSERT_EQUAL(dob_pad_out(28, 5, 2, DOB_PAD_SAME, &l, &r), 14);
    CU_ASSERT(l == 1 && r == 2); /* total 3: extra pixel bottom/right */
    CU_ASSERT_EQUAL(dob_pad_out(28, 3, 2, DOB_PAD_SAME, &l, &r), 14);
    CU_ASSERT(l == 0 && r == 1);
    CU_ASSERT_EQUAL(dob_pad_out(28, 2, 2, DOB_PAD_SAME, &l, &r), 14);
    CU_ASSERT(l == 0 && r == 0);
    CU_ASSERT_EQUAL(dob_pad_out(32, 5, 1, DOB_PAD_VALID, &l, &r), 28);
    CU_ASSERT(l == 0 && r == 0);
    CU_ASSERT_EQUAL(dob_pad_out(35, 3, 2, DOB_PAD_VALID, NULL, NULL), 17);
    CU_ASSERT_EQUAL(dob_pad_out(299, 3, 2, DOB_PAD_VALID, NULL, NULL), 149);
    CU_ASSERT_EQUAL(dob_pad_out(7, 4, 1, DOB_PAD_SAME, &l, &r), 7);
    CU_ASSERT(l == 1 && r == 2);
}

static CU_TestInfo tests[] = {
    {"status_messages", test_status_messages},
    {"arena_layout", test_arena_layout},
    {"arena_inits", test_arena_inits},
    {"philox_kat", test_philox_kat},
    {"rng_blocks", test_rng_blocks},
    {"rng_threads", test_rng_threads},
    {"pad_out", test_pad_out},
    {"act_layers", test_act_layers},
    {"net_fanout_and_reshape", test_net_fanout_and_reshape},
    CU_TEST_INFO_NULL,
};
CU_SuiteInfo core_suite = {"core", NULL, NULL, NULL, NULL, tests};
