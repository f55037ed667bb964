/* test_latent.c: the VAE's Gaussian latent layers (src/layers/latent.c) and the VAE loss (DOB_LOSS_VAE):
 * forward against the formulas of DeepOBS _vae.py / mnist_vae.py evaluated in double here, finite differences
 * through both layers, overwrite semantics, the noise (standard normal, drawn in inference too, new per step,
 * the same for an example whatever the batch split), the loss and its gradient, and error paths. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tc.h"

enum { L = 8 };

/* input [mean | r] (2 L per example) -> mean, r -> sample or kl; the net output is that layer */
static dob_net *make_net(int kl, int64_t n) {
    dob_net *net = NULL;
    int ids[2], y;
    const int nd[2] = {1, 1};
    const int64_t dims[2][DOB_MAX_DIMS - 1] = {{L}, {L}};
    const dob_latent_cfg c = {.scale = 0.5f};
    dob_status st = tc_multi_input_net(&net, 2, nd, dims, ids);
    if (st == DOB_OK)
        st = kl ? dob_net_gauss_kl(net, "kl", ids[0], ids[1], &c, &y)
                : dob_net_gauss_sample(net, "z", ids[0], ids[1], &c, &y);
    if (st == DOB_OK) st = dob_net_alloc(net);
    if (st == DOB_OK) {
        dob_net_set_input_grad(net, 1);
        st = dob_net_build(net, n);
    }
    if (st != DOB_OK) {
        fprintf(stderr, "\n    latent net: %s\n", dob_last_error());
        dob_net_destroy(net);
        return NULL;
    }
    dob_net_set_context(net, (dob_net_ctx){.seed = 42, .step = 7, .example_offset = 0});
    tc_fill(dob_net_input_tensor(net)->data, dob_net_input_tensor(net)->count, 21, 0, -1.5f, 1.5f);
    return net;
}

static void test_sample_forward_grad(void) {
    const int64_t n = 5;
    dob_net *net = make_net(0, n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    const float *in = dob_net_input_tensor(net)->data;
    const dob_tensor *z = dob_net_output(net);
    TC_ASSERT_OK(dob_net_forward(net, 1));
    const int idx = dob_net_layer(net, dob_net_layer_count(net) - 1)->index;
    const dob_rng r = {42, DOB_RNG_NOISE, ((uint64_t)idx << 40) | 7};
    float want[5 * L];
    for (int64_t b = 0; b < n; b++)
        for (int j = 0; j < L; j++) {
            double m = in[b * 2 * L + j], s = 0.5 * in[b * 2 * L + L + j];
            want[b * L + j] = (float)(m + dob_rng_normal(&r, (uint64_t)(b * L + j)) * exp(s));
        }
    TC_ASSERT_CLOSE("z = mean + eps exp(0.5 r)", z->data, want, (size_t)(n * L), 1e-6);
    /* inference samples too (DeepOBS), with the same eps for the same context */
    TC_ASSERT_OK(dob_net_forward(net, 0));
    TC_ASSERT_CLOSE("z in inference", z->data, want, (size_t)(n * L), 1e-6);
    CU_ASSERT_EQUAL(tc_gradcheck(net, (tc_gc_opts){.eps = 1e-3, .tol = 2e-3, .training = 1}, "gauss_sample"), 0);
    CU_ASSERT(tc_overwrite_check(net, "gauss_sample"));
    /* another step draws other noise */
    dob_net_set_context(net, (dob_net_ctx){.seed = 42, .step = 8, .example_offset = 0});
    TC_ASSERT_OK(dob_net_forward(net, 1));
    int differ = 0;
    for (int64_t i = 0; i < n * L; i++) differ += z->data[i] != want[i];
    CU_ASSERT_EQUAL(differ, n * L);
    dob_net_destroy(net);
}

/* Examples 2..3 of a batch of 4 at offset 0 draw what a batch of 2 at offset 2 draws (another rank's slice). */
static void test_sample_rank_split(void) {
    dob_net *a = make_net(0, 4), *b = make_net(0, 2);
    CU_ASSERT_FATAL(a && b);
    memcpy(dob_net_input_tensor(b)->data, dob_net_input_tensor(a)->data + 2 * 2 * L, 2 * 2 * L * sizeof(float));
    dob_net_set_context(b, (dob_net_ctx){.seed = 42, .step = 7, .example_offset = 2});
    TC_ASSERT_OK(dob_net_forward(a, 1));
    TC_ASSERT_OK(dob_net_forward(b, 1));
    TC_ASSERT_CLOSE("rank slice", dob_net_output(b)->data, dob_net_output(a)->data + 2 * L, 2 * L, 0.0);
    dob_net_destroy(a);
    dob_net_destroy(b);
}

/* eps is standard normal: mean and variance over 64 x 8 x 40 draws */
static void test_sample_noise_moments(void) {
    dob_net *net = make_net(0, 64);
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    dob_tensor *x = dob_net_input_tensor(net);
    memset(x->data, 0, x->count * sizeof(float)); /* mean 0, sigma 1: z = eps */
    double s = 0, s2 = 0;
    int64_t cnt = 0;
    for (uint64_t step = 0; step < 40; step++) {
        dob_net_set_context(net, (dob_net_ctx){.seed = 1, .step = step});
        TC_ASSERT_OK(dob_net_forward(net, step % 2));
        const dob_tensor *z = dob_net_output(net);
        for (size_t i = 0; i < z->count; i++, cnt++) {
            s += z->data[i];
            s2 += (double)z->data[i] * z->data[i];
        }
    }
    double m = s / (double)cnt, v = s2 / (double)cnt - m * m;
    CU_ASSERT(fabs(m) < 0.05);       /* 20480 draws: sd of the mean 0.007 */
    CU_ASSERT(fabs(v - 1.0) < 0.05); /* sd of the variance about 0.01 */
    dob_net_destroy(net);
}

static void test_kl_forward_grad(void) {
    const int64_t n = 4;
    dob_net *net = make_net(1, n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    const float *in = dob_net_input_tensor(net)->data;
    const dob_tensor *y = dob_net_output(net);
    CU_ASSERT(y->ndim == 2 && y->dims[1] == 1);
    TC_ASSERT_OK(dob_net_forward(net, 0));
    float want[4];
    for (int64_t b = 0; b < n; b++) {
        double acc = 0;
        for (int j = 0; j < L; j++) {
            double m = in[b * 2 * L + j], sd = 0.5 * in[b * 2 * L + L + j];
            acc += 1.0 + 2.0 * sd - m * m - exp(2.0 * sd); /* mnist_vae.py latent_loss */
        }
        want[b] = (float)(-0.5 * acc);
    }
    TC_ASSERT_CLOSE("kl", y->data, want, (size_t)n, 1e-6);
    CU_ASSERT_EQUAL(tc_gradcheck(net, (tc_gc_opts){.eps = 1e-3, .tol = 2e-3, .training = 1}, "gauss_kl"), 0);
    CU_ASSERT(tc_overwrite_check(net, "gauss_kl"));
    dob_net_destroy(net);
}

/* loss_i = sum (x - t)^2 + kl_i; d/dx = 2 (x - t) scale, d/dkl = scale */
static void test_vae_loss(void) {
    const float pred[2 * 4] = {0.5f, 0.25f, 1.0f, 3.0f, 0.0f, 1.0f, 0.5f, -1.0f};
    const float tgt[2 * 3] = {0.0f, 0.5f, 1.0f, 1.0f, 1.0f, 0.0f};
    float loss[2], diff[8];
    CU_ASSERT_EQUAL(dob_loss_pred_width(DOB_LOSS_VAE, 784), 785);
    CU_ASSERT_EQUAL(dob_loss_pred_width(DOB_LOSS_SOFTMAX_CE, 10), 10);
    dob_loss_forward(DOB_LOSS_VAE, pred, tgt, 2, 3, loss);
    const float want[2] = {0.25f + 0.0625f + 0.0f + 3.0f, 1.0f + 0.0f + 0.25f - 1.0f};
    TC_ASSERT_CLOSE("vae loss", loss, want, 2, 1e-7);
    dob_loss_backward(DOB_LOSS_VAE, pred, tgt, 2, 3, 0.5f, diff);
    const float wd[8] = {0.5f, -0.25f, 0.0f, 0.5f, -1.0f, 0.0f, 0.5f, 0.5f};
    TC_ASSERT_CLOSE("vae loss grad", diff, wd, 8, 1e-7);
}

static void test_latent_errors(void) {
    dob_net *net;
    int ids[2];
    const int nd[2] = {1, 1};
    const int64_t dims[2][DOB_MAX_DIMS - 1] = {{8}, {7}};
    TC_ASSERT_OK(tc_multi_input_net(&net, 2, nd, dims, ids));
    TC_ASSERT_FAILS(dob_net_gauss_kl(net, "kl", ids[0], ids[1], &(dob_latent_cfg){0.5f}, NULL), DOB_EINVAL,
                    "layer kl (gauss_kl): expected mean and log-sigma inputs of equal shape N x L, found 2-D x 8 and "
                    "2-D x 7");
    TC_ASSERT_FAILS(dob_net_gauss_sample(net, "z", ids[0], ids[0], &(dob_latent_cfg){0.0f}, NULL), DOB_EINVAL,
                    "log-sigma scale must be finite and > 0, found 0");
    dob_net_destroy(net);
}

static CU_TestInfo tests[] = {
    {"sample_forward_grad", test_sample_forward_grad},
    {"sample_rank_split", test_sample_rank_split},
    {"sample_noise_moments", test_sample_noise_moments},
    {"kl_forward_grad", test_kl_forward_grad},
    {"vae_loss", test_vae_loss},
    {"latent_errors", test_latent_errors},
    CU_TEST_INFO_NULL,
};
CU_SuiteInfo latent_suite = {"latent", NULL, NULL, NULL, NULL, tests};
