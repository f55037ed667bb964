/* test_bf16.c: --precision bf16 (dob_net_set_precision) layer by layer against the same layer in f32.
 *
 * Tolerance, derived from bf16's 8-bit significand (7 stored bits + the implicit one): rounding to nearest even
 * gives |round(a) - a| <= u |a| with u = 2^-8. A bf16 layer computes sum_k round(a_k) round(b_k) (conv, dense:
 * src x weights forward, diff_dst x weights for diff_src, src x diff_dst for diff_weights) with f32 accumulation,
 * so against the exact sum each product is off by at most (2u + u^2) |a_k b_k| and each f32 sum of k terms by
 * k 2^-24 sum |a_k b_k|. Against the f32 layer (also k 2^-24 off) that gives, per output element,
 *     |y_bf16 - y_f32| <= (2u + u^2 + 2 k 2^-24) * A,   A = sum_k |a_k| |b_k| (+ |bias|)
 * where k is the longest reduction of the layer. A is computed by running the f32 layer on |x|, |W|, |b| and
 * |diff_dst| (the same shapes: forward gives A for dst, backward A for diff_src and diff_weights). Fused ReLU is
 * 1-Lipschitz, so the forward bound holds through it; for backward the output gradient is zeroed where the two
 * masks disagree (pre-activations within rounding of 0; checked to be under 1%). Average pooling: rounding the input (u) and the bf16 output (u) give the same 2u bound with
 * A = avg(|x|). Max pooling stays f32 in bf16 mode (see pool.c) and must match bit for bit.
 * Transposed convolution likewise (its reductions have the same form).
 * Also: each bf16 layer really differs from f32 somewhere (the bf16 kernels ran), precision names and parsing,
 * and the refusal below avx512_core_bf16 (the only check that runs there; the rest say they are skipped). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>

#include "tc.h"

#define BF16_U (1.0 / 256.0)

static double bf16_factor(int64_t k) { return 2.0 * BF16_U + BF16_U * BF16_U + 2.0 * (double)k * 0x1p-24; }

/* 1 if this CPU runs bf16; otherwise say so once per test in the output. */
static int bf16_ready(const char *test) {
    if (dob_precision_check(DOB_BF16) == DOB_OK) return 1;
    printf("\n    %s: skipped: no native bf16 (oneDNN ISA %s, below avx512_core_bf16)\n  ", test,
           dnnl_cpu_isa2str(dnnl_get_effective_cpu_isa()));
    return 0;
}

/* ---- the comparison harness ----------------------------------------------------------------------------- */
typedef struct layer_case {
    const char *what;
    int kind;               /* 0 conv, 1 dense, 2 pool, 3 deconv (transposed conv, same cfg as conv) */
    int64_t n, c, h, w;     /* input; dense reads N x C*H*W */
    dob_conv_cfg conv;
    dob_dense_cfg dense;
    dob_pool_cfg pool;
    int64_t k;              /* longest reduction (fwd, bwd-data, bwd-weights) */
    int relu;
    int f32;                /* computes in f32 in bf16 mode too (conv with < 4 input channels): equal bit for bit */
} layer_case;

static dob_net *make_net(const layer_case *lc, dob_precision p) {
    dob_net *net = NULL;
    int y;
    dob_status st = dob_net_create(&net, 3, (int64_t[]){lc->c, lc->h, lc->w});
    if (st == DOB_OK)
        st = lc->kind == 0   ? dob_net_conv(net, "l", dob_net_input(net), &lc->conv, &y)
             : lc->kind == 1 ? dob_net_dense(net, "l", dob_net_input(net), &lc->dense, &y)
             : lc->kind == 3 ? dob_net_deconv(net, "l", dob_net_input(net), &lc->conv, &y)
                             : dob_net_pool(net, "l", dob_net_input(net), &lc->pool, &y);
    if (st == DOB_OK) st = dob_net_alloc(net);
    if (st == DOB_OK) {
        dob_arena_init(dob_net_arena(net), 77);
        dob_net_set_input_grad(net, 1);
        st = dob_net_set_precision(net, p);
    }
    if (st == DOB_OK) st = dob_net_build(net, lc->n);
    if (st != DOB_OK) {
        fprintf(stderr, "\n    %s (%s): setup failed: %s\n", lc->what, dob_precision_name(p), dob_last_error());
        dob_net_destroy(net);
        return NULL;
    }
    return net;
}

static void fabs_all(float *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = fabsf(x[i]);
}

/* |got - want| <= f * a elementwise; prints the worst ratio. Counts elements that differ at all into *differ. */
static int within(const char *what, const float *got, const float *want, const float *a, size_t n, double f,
                  size_t *differ) {
    double worst = 0;
    size_t wi = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]), r = d / (f * a[i] + 1e-30);
        *differ += d > 0;
        if (!(r <= worst)) {
            worst = isnan(r) ? INFINITY : r;
            wi = i;
        }
    }
    if (worst > 1.0)
        fprintf(stderr, "\n    %s: element %zu: bf16 %.8g, f32 %.8g, bound %.3g (%.2fx the bound)\n", what, wi,
                got[wi], want[wi], f * a[wi], worst);
    return worst <= 1.0;
}

/* Forward and backward of the f32, bf16 and |.| nets on one input and one output gradient. @return the number of
 * elements (outputs and gradients) where bf16 differs from f32, or -1 if over 1% of the ReLU masks disagree. */
static long compare(const layer_case *lc) {
    dob_net *a = make_net(lc, DOB_F32), *b = make_net(lc, DOB_BF16), *m = make_net(lc, DOB_F32);
    CU_ASSERT_FATAL(a && b && m);
    dob_tensor *xa = dob_net_input_tensor(a), *xb = dob_net_input_tensor(b), *xm = dob_net_input_tensor(m);
    dob_tensor *ya = dob_net_output(a), *yb = dob_net_output(b), *ym = dob_net_output(m);
    tc_fill(xa->data, xa->count, 41, 0, -1.0f, 1.0f);
    memcpy(xb->data, xa->data, xa->count * sizeof(float));
    TC_ASSERT_OK(dob_net_forward(a, 1));
    TC_ASSERT_OK(dob_net_forward(b, 1));
    tc_fill(ya->diff, ya->count, 42, 0, -1.0f, 1.0f);
    /* fused ReLU: where a pre-activation lies within rounding of 0 the two masks may disagree; the output gradient
     * is zeroed there, so both backward passes see the same masked diff_dst */
    size_t flips = 0;
    for (size_t i = 0; lc->relu && i < ya->count; i++)
        if ((ya->data[i] > 0) != (yb->data[i] > 0)) ya->diff[i] = 0, flips++;
    if (flips * 100 > ya->count) {
        dob_net_destroy(a), dob_net_destroy(b), dob_net_destroy(m);
        return -1;
    }
    memcpy(yb->diff, ya->diff, ya->count * sizeof(float));
    TC_ASSERT_OK(dob_net_backward(a));
    TC_ASSERT_OK(dob_net_backward(b));
    /* the |.| net: same parameters, input and output gradient in absolute value */
    dob_arena *aa = dob_net_arena(a), *ab = dob_net_arena(b), *am = dob_net_arena(m);
    size_t np = dob_arena_size(am);
    memcpy(dob_arena_params(am), dob_arena_params(aa), np * sizeof(float));
    fabs_all(dob_arena_params(am), np);
    memcpy(xm->data, xa->data, xa->count * sizeof(float));
    fabs_all(xm->data, xm->count);
    TC_ASSERT_OK(dob_net_forward(m, 1));
    memcpy(ym->diff, ya->diff, ya->count * sizeof(float));
    fabs_all(ym->diff, ym->count);
    TC_ASSERT_OK(dob_net_backward(m));

    const double f = bf16_factor(lc->k);
    size_t differ = 0;
    char what[160];
    snprintf(what, sizeof what, "%s: dst", lc->what);
    CU_ASSERT(within(what, yb->data, ya->data, ym->data, ya->count, f, &differ));
    snprintf(what, sizeof what, "%s: diff_src", lc->what);
    CU_ASSERT(within(what, xb->diff, xa->diff, xm->diff, xa->count, f, &differ));
    snprintf(what, sizeof what, "%s: parameter grads", lc->what);
    CU_ASSERT(within(what, dob_arena_grads(ab), dob_arena_grads(aa), dob_arena_grads(am), np, f, &differ));
    /* parameters untouched: the master weights stay f32 */
    CU_ASSERT(memcmp(dob_arena_params(ab), dob_arena_params(aa), np * sizeof(float)) == 0);
    dob_net_destroy(a);
    dob_net_destroy(b);
    dob_net_destroy(m);
    return (long)differ;
}

static const dob_init W_INIT = {DOB_INIT_GLOROT_UNIFORM, 0, 0}, B_INIT = {DOB_INIT_UNIFORM, -0.5f, 0.5f};

static layer_case conv_case(const char *what, int64_t n, int64_t ic, int64_t h, int64_t w, int64_t oc, int64_t k,
                            int64_t s, dob_padding pad, int bias, int relu) {
    layer_case lc = {.what = what, .kind = 0, .n = n, .c = ic, .h = h, .w = w, .relu = relu};
    lc.conv = (dob_conv_cfg){.out_channels = oc, .kh = k, .kw = k, .sh = s, .sw = s, .pad = pad, .bias = bias,
                             .w_init = W_INIT, .b_init = B_INIT, .act = relu ? DOB_ACT_RELU : DOB_ACT_NONE};
    int64_t oh = (h + s - 1) / s, ow = (w + s - 1) / s, kk = ic * k * k;
    if (oc * k * k > kk) kk = oc * k * k;
    if (n * oh * ow > kk) kk = n * oh * ow;
    lc.k = kk;
    return lc;
}

/* ---- tests ---------------------------------------------------------------------------------------------- */
static void test_precision_api(void) {
    dob_precision p = DOB_BF16;
    TC_ASSERT_OK(dob_precision_parse("f32", &p));
    CU_ASSERT_EQUAL(p, DOB_F32);
    TC_ASSERT_OK(dob_precision_parse("bf16", &p));
    CU_ASSERT_EQUAL(p, DOB_BF16);
    TC_ASSERT_FAILS(dob_precision_parse("fp16", &p), DOB_EINVAL, "expected f32 or bf16, found 'fp16'");
    CU_ASSERT_STRING_EQUAL(dob_precision_name(DOB_F32), "f32");
    CU_ASSERT_STRING_EQUAL(dob_precision_name(DOB_BF16), "bf16");
    CU_ASSERT_PTR_NULL(dob_precision_name((dob_precision)7));
    TC_ASSERT_OK(dob_precision_check(DOB_F32));
    dob_net *net;
    TC_ASSERT_OK(dob_net_create(&net, 1, (int64_t[]){4}));
    CU_ASSERT_EQUAL(dob_net_precision(net), DOB_F32);
    unsigned isa = (unsigned)dnnl_get_effective_cpu_isa(), bf = (unsigned)dnnl_cpu_isa_avx512_core_bf16;
    if ((isa & bf) == bf) {
        TC_ASSERT_OK(dob_precision_check(DOB_BF16));
        TC_ASSERT_OK(dob_net_set_precision(net, DOB_BF16));
        CU_ASSERT_EQUAL(dob_net_precision(net), DOB_BF16);
    } else {
        /* the refusal (run here under ONEDNN_MAX_CPU_ISA=AVX512_CORE / AVX2 by `ctest -L isa`) */
        TC_ASSERT_FAILS(dob_precision_check(DOB_BF16), DOB_EINVAL,
                        "bf16 needs a CPU with native bf16 (oneDNN ISA avx512_core_bf16 or above), found");
        TC_ASSERT_FAILS(dob_net_set_precision(net, DOB_BF16), DOB_EINVAL, "needs a CPU with native bf16");
        CU_ASSERT_EQUAL(dob_net_precision(net), DOB_F32);
    }
    dob_net_destroy(net);
}

static void run_cases(const layer_case *cs, size_t n) {
    for (size_t i = 0; i < n; i++) {
        long d = compare(&cs[i]);
        if (d < 0) fprintf(stderr, "\n    %s: over 1%% of the ReLU masks differ from f32\n", cs[i].what);
        CU_ASSERT(d != -1);
        if (cs[i].f32) {
            if (d != 0) fprintf(stderr, "\n    %s: should run in f32, %ld values differ\n", cs[i].what, d);
            CU_ASSERT(d == 0);
            continue;
        }
        /* rounding to bf16 must show somewhere: otherwise the f32 kernels ran */
        if (d == 0) fprintf(stderr, "\n    %s: bf16 equals f32 everywhere: not computed in bf16\n", cs[i].what);
        CU_ASSERT(d != 0);
    }
}

static layer_case in_f32(layer_case lc) {
    lc.f32 = 1;
    return lc;
}

/* Fewer than 4 input channels stay f32 (conv.c, conv_bf16): 1 and 3 equal f32, 4 is the smallest in bf16. */
static void test_conv_bf16(void) {
    if (!bf16_ready("conv_bf16")) return;
    const layer_case cs[] = {
        in_f32(conv_case("ic1 28x28 k5 SAME oc32 bias relu (fmnist conv1)", 4, 1, 28, 28, 32, 5, 1, DOB_PAD_SAME, 1,
                         1)),
        conv_case("ic32 14x14 k5 SAME oc64 bias relu (fmnist conv2)", 2, 32, 14, 14, 64, 5, 1, DOB_PAD_SAME, 1, 1),
        in_f32(conv_case("ic3 7x9 k3 s2 SAME", 3, 3, 7, 9, 5, 3, 2, DOB_PAD_SAME, 0, 0)),
        conv_case("ic4 7x9 k3 s2 SAME", 3, 4, 7, 9, 5, 3, 2, DOB_PAD_SAME, 0, 0),
        conv_case("ic17 6x5 k3 s1 SAME oc18 bias", 2, 17, 6, 5, 18, 3, 1, DOB_PAD_SAME, 1, 0),
        conv_case("ic16 9x7 k5 VALID oc32 relu", 2, 16, 9, 7, 32, 5, 1, DOB_PAD_VALID, 0, 1),
    };
    run_cases(cs, sizeof cs / sizeof cs[0]);
}

static layer_case dense_case(const char *what, int64_t n, int64_t c, int64_t h, int64_t w, int64_t out, int bias,
                             dob_act_kind act) {
    layer_case lc = {.what = what, .kind = 1, .n = n, .c = c, .h = h, .w = w, .relu = act == DOB_ACT_RELU};
    lc.dense = (dob_dense_cfg){.out_features = out, .bias = bias, .w_init = W_INIT, .b_init = B_INIT, .act = act};
    int64_t in = c * h * w;
    lc.k = in > out ? in : out;
    if (n > lc.k) lc.k = n;
    return lc;
}

static void test_dense_bf16(void) {
    if (!bf16_ready("dense_bf16")) return;
    const layer_case cs[] = {
        dense_case("784->100 bias relu (mnist_mlp fc1 shape, narrower)", 16, 1, 28, 28, 100, 1, DOB_ACT_RELU),
        dense_case("64x3x3 -> 10 bias (a conv output flattened)", 8, 64, 3, 3, 10, 1, DOB_ACT_NONE),
        dense_case("37 -> 19, no bias, odd sizes", 5, 37, 1, 1, 19, 0, DOB_ACT_NONE),
    };
    run_cases(cs, sizeof cs / sizeof cs[0]);
}

/* Transposed convolution (the VAE decoder's): k = the largest of IC*K*K, OC*K*K and N*H*W bounds every
 * reduction (each output sums at most IC*K*K/s^2 taps). */
static void test_deconv_bf16(void) {
    if (!bf16_ready("deconv_bf16")) return;
    layer_case cs[] = {
        conv_case("deconv ic1 7x7 k4 s2 SAME oc16 bias relu (vae deconv1 shape)", 4, 1, 7, 7, 16, 4, 2, DOB_PAD_SAME,
                  1, 1),
        conv_case("deconv ic16 14x14 k4 s1 SAME oc16 bias relu", 2, 16, 14, 14, 16, 4, 1, DOB_PAD_SAME, 1, 1),
        conv_case("deconv ic5 5x6 k3 s2 VALID oc3", 3, 5, 5, 6, 3, 3, 2, DOB_PAD_VALID, 0, 0),
    };
    for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++) {
        cs[i].kind = 3;
        if (cs[i].n * cs[i].h * cs[i].w > cs[i].k) cs[i].k = cs[i].n * cs[i].h * cs[i].w;
    }
    run_cases(cs, sizeof cs / sizeof cs[0]);
}

static void test_avg_pool_bf16(void) {
    if (!bf16_ready("avg_pool_bf16")) return;
    layer_case lc = {.what = "avg 3x3/2 SAME 2x16x9x9", .kind = 2, .n = 2, .c = 16, .h = 9, .w = 9, .k = 9,
                     .pool = {DOB_POOL_AVG, 3, 3, 2, 2, DOB_PAD_SAME}};
    run_cases(&lc, 1);
}

/* Max pooling: f32 in bf16 mode too, so equal bit for bit (and the next bf16 layer rounds its input). */
static void test_max_pool_bf16(void) {
    if (!bf16_ready("max_pool_bf16")) return;
    layer_case lc = {.what = "max 2x2/2 VALID", .kind = 2, .n = 2, .c = 16, .h = 8, .w = 8,
                     .pool = {DOB_POOL_MAX, 2, 2, 2, 2, DOB_PAD_VALID}};
    dob_net *a = make_net(&lc, DOB_F32), *b = make_net(&lc, DOB_BF16);
    CU_ASSERT_FATAL(a && b);
    dob_tensor *xa = dob_net_input_tensor(a), *xb = dob_net_input_tensor(b);
    tc_fill(xa->data, xa->count, 5, 0, -1.0f, 1.0f);
    memcpy(xb->data, xa->data, xa->count * sizeof(float));
    TC_ASSERT_OK(dob_net_forward(a, 1));
    TC_ASSERT_OK(dob_net_forward(b, 1));
    dob_tensor *ya = dob_net_output(a), *yb = dob_net_output(b);
    tc_fill(ya->diff, ya->count, 5, 1, -1.0f, 1.0f);
    memcpy(yb->diff, ya->diff, ya->count * sizeof(float));
    TC_ASSERT_OK(dob_net_backward(a));
    TC_ASSERT_OK(dob_net_backward(b));
    CU_ASSERT(memcmp(ya->data, yb->data, ya->count * sizeof(float)) == 0);
    CU_ASSERT(memcmp(xa->diff, xb->diff, xa->count * sizeof(float)) == 0);
    dob_net_destroy(a);
    dob_net_destroy(b);
}

/* conv -> max pool -> conv -> avg pool -> conv with layout propagation: every layer runs (finite, close to f32
 * in norm) and switching the precision back re-plans to exactly the f32 net. */
static void test_chain_bf16(void) {
    if (!bf16_ready("chain_bf16")) return;
    dob_conv_cfg c = {.out_channels = 16, .kh = 3, .kw = 3, .sh = 1, .sw = 1, .pad = DOB_PAD_SAME, .bias = 1,
                      .w_init = W_INIT, .b_init = {DOB_INIT_CONST, 0.05f, 0}, .act = DOB_ACT_RELU};
    dob_net *net[2];
    for (int k = 0; k < 2; k++) {
        int h;
        TC_ASSERT_OK(dob_net_create(&net[k], 3, (int64_t[]){3, 12, 10}));
        TC_ASSERT_OK(dob_net_conv(net[k], "conv1", 0, &c, &h));
        TC_ASSERT_OK(dob_net_pool(net[k], "pool1", h, &(dob_pool_cfg){DOB_POOL_MAX, 3, 3, 2, 2, DOB_PAD_SAME}, &h));
        TC_ASSERT_OK(dob_net_conv(net[k], "conv2", h, &c, &h));
        TC_ASSERT_OK(dob_net_pool(net[k], "pool2", h, &(dob_pool_cfg){DOB_POOL_AVG, 2, 2, 2, 2, DOB_PAD_SAME}, &h));
        dob_conv_cfg c3 = c;
        c3.out_channels = 5;
        c3.act = DOB_ACT_NONE;
        TC_ASSERT_OK(dob_net_conv(net[k], "conv3", h, &c3, &h));
        TC_ASSERT_OK(dob_net_alloc(net[k]));
        dob_arena_init(dob_net_arena(net[k]), 9);
        dob_net_set_input_grad(net[k], 1);
        TC_ASSERT_OK(dob_net_set_precision(net[k], k ? DOB_BF16 : DOB_F32));
        TC_ASSERT_OK(dob_net_build(net[k], 4));
    }
    float *out[2], *gw[2];
    for (int round = 0; round < 2; round++) {
        for (int k = 0; k < 2; k++) {
            dob_tensor *x = dob_net_input_tensor(net[k]), *y = dob_net_output(net[k]);
            tc_fill(x->data, x->count, 31, 0, -1.0f, 1.0f);
            TC_ASSERT_OK(dob_net_forward(net[k], 1));
            tc_fill(y->diff, y->count, 31, 1, -1.0f, 1.0f);
            TC_ASSERT_OK(dob_net_backward(net[k]));
            out[k] = y->data;
            gw[k] = dob_arena_grads(dob_net_arena(net[k]));
        }
        size_t ny = dob_net_output(net[0])->count, np = dob_arena_size(dob_net_arena(net[0]));
        double e = 0, s = 0, ge = 0, gs = 0;
        for (size_t i = 0; i < ny; i++) e += fabs(out[1][i] - out[0][i]), s += fabs(out[0][i]);
        for (size_t i = 0; i < np; i++) ge += fabs(gw[1][i] - gw[0][i]), gs += fabs(gw[0][i]);
        if (round == 0) {
            /* three rounded layers deep: a few u in the mean, nowhere near f32's 1e-7 or a broken plan's 1 */
            CU_ASSERT(e > 0 && e <= 8 * BF16_U * s);
            CU_ASSERT(ge > 0 && ge <= 8 * BF16_U * gs);
            if (!(e <= 8 * BF16_U * s && ge <= 8 * BF16_U * gs))
                fprintf(stderr, "\n    chain: mean rel diff output %.3g, grads %.3g\n", e / s, ge / gs);
            TC_ASSERT_OK(dob_net_set_precision(net[1], DOB_F32));
            TC_ASSERT_OK(dob_net_build(net[1], 4));
        } else {
            CU_ASSERT(e == 0 && ge == 0); /* back in f32: the same plan as the f32 net */
        }
    }
    dob_net_destroy(net[0]);
    dob_net_destroy(net[1]);
}

static CU_TestInfo tests[] = {
    {"precision_api", test_precision_api},
    {"conv_bf16", test_conv_bf16},
    {"dense_bf16", test_dense_bf16},
    {"deconv_bf16", test_deconv_bf16},
    {"avg_pool_bf16", test_avg_pool_bf16},
    {"max_pool_bf16", test_max_pool_bf16},
    {"chain_bf16", test_chain_bf16},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo bf16_suite = {"bf16", NULL, NULL, NULL, NULL, tests};
