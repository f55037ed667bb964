/* test_deconv.c: the transposed convolution layer (src/layers/deconv.c).
 * Forward and backward against the naive scatter reference (tests/ref/ref_deconv.c) over shapes with strides 1
 * and 2, SAME and VALID, even and odd kernels, bias and fused ReLU on/off, channel counts below and above
 * oneDNN's blocks; finite differences; overwrite semantics; TF's output sizes and padding by hand (the VAE's
 * decoder table); rebuild at another batch; error paths. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "ref/ref_deconv.h"
#include "tc.h"

typedef struct deconv_case {
    const char *what;
    int64_t n, ic, h, w;
    int64_t oc, kh, kw, sh, sw;
    dob_padding pad;
    int bias;
    dob_act_kind act;
} deconv_case;

static const deconv_case cases[] = {
    {"vae t1: ic1 7x7 k4 s2 SAME oc5 bias relu", 2, 1, 7, 7, 5, 4, 4, 2, 2, DOB_PAD_SAME, 1, DOB_ACT_RELU},
    {"vae t2: ic3 6x5 k4 s1 SAME (pad 1/2) bias relu", 2, 3, 6, 5, 4, 4, 4, 1, 1, DOB_PAD_SAME, 1, DOB_ACT_RELU},
    {"ic2 5x4 k3 s2 SAME", 3, 2, 5, 4, 3, 3, 3, 2, 2, DOB_PAD_SAME, 0, DOB_ACT_NONE},
    {"ic3 4x5 k3x2 s2x1 VALID bias", 2, 3, 4, 5, 2, 3, 2, 2, 1, DOB_PAD_VALID, 1, DOB_ACT_NONE},
    {"ic17 4x3 k2x3 s1x2 SAME oc18 bias", 2, 17, 4, 3, 18, 2, 3, 1, 2, DOB_PAD_SAME, 1, DOB_ACT_NONE},
    {"ic16 4x4 k5 s1 SAME oc16 relu", 1, 16, 4, 4, 16, 5, 5, 1, 1, DOB_PAD_SAME, 0, DOB_ACT_RELU},
};

static ref_deconv ref_of(const deconv_case *k) {
    return (ref_deconv){k->n, k->ic, k->h, k->w, k->oc, k->kh, k->kw, k->sh, k->sw, k->pad == DOB_PAD_SAME,
                        k->act == DOB_ACT_RELU};
}

static dob_net *make_net(const deconv_case *k, int input_grad, uint64_t seed) {
    dob_net *net = NULL;
    int y;
    dob_conv_cfg c = {.out_channels = k->oc, .kh = k->kh, .kw = k->kw, .sh = k->sh, .sw = k->sw, .pad = k->pad,
                      .bias = k->bias, .w_init = {DOB_INIT_GLOROT_UNIFORM, 0, 0},
                      .b_init = {DOB_INIT_UNIFORM, -0.5f, 0.5f}, .act = k->act};
    if (dob_net_create(&net, 3, (int64_t[]){k->ic, k->h, k->w}) != DOB_OK ||
        dob_net_deconv(net, "deconv", dob_net_input(net), &c, &y) != DOB_OK || dob_net_alloc(net) != DOB_OK) {
        fprintf(stderr, "\n    %s: net setup failed: %s\n", k->what, dob_last_error());
        dob_net_destroy(net);
        return NULL;
    }
    dob_arena_init(dob_net_arena(net), seed);
    dob_net_set_input_grad(net, input_grad);
    if (dob_net_build(net, k->n) != DOB_OK) {
        fprintf(stderr, "\n    %s: build failed: %s\n", k->what, dob_last_error());
        dob_net_destroy(net);
        return NULL;
    }
    return net;
}

/* Fill the input; with ReLU, take the first stream whose pre-activations all keep `margin` away from the kink. */
static int fill_input(dob_net *net, const deconv_case *k, double margin) {
    dob_tensor *x = dob_net_input_tensor(net), *y = dob_net_output(net);
    dob_arena *a = dob_net_arena(net);
    ref_deconv r = ref_of(k);
    double *pre = malloc(y->count * sizeof *pre);
    float *tmp = malloc(y->count * sizeof *tmp);
    int ok = 0;
    for (uint64_t stream = 0; stream < 2000 && !ok; stream++) {
        tc_fill(x->data, x->count, 13, stream, -1.0f, 1.0f);
        if (k->act != DOB_ACT_RELU) {
            ok = 1;
            break;
        }
        ref_deconv_forward(&r, x->data, dob_arena_param(a, 0), k->bias ? dob_arena_param(a, 1) : NULL, tmp, pre);
        ok = 1;
        for (size_t i = 0; i < y->count && ok; i++) ok = fabs(pre[i]) > margin;
    }
    if (!ok) fprintf(stderr, "\n    %s: no input found with pre-activations away from 0\n", k->what);
    free(pre);
    free(tmp);
    return ok;
}

static void check_against_ref(dob_net *net, const deconv_case *k, int input_grad) {
    dob_tensor *x = dob_net_input_tensor(net), *y = dob_net_output(net);
    dob_arena *a = dob_net_arena(net);
    ref_deconv r = ref_of(k);
    int64_t oh, ow, pt, pl;
    ref_deconv_geom(&r, &oh, &ow, &pt, &pl);
    CU_ASSERT(y->dims[1] == k->oc && y->dims[2] == oh && y->dims[3] == ow);
    const float *w = dob_arena_param(a, 0), *b = k->bias ? dob_arena_param(a, 1) : NULL;
    size_t nw = (size_t)(k->oc * k->ic * k->kh * k->kw);
    float *want = malloc(y->count * sizeof *want), *dx = malloc(x->count * sizeof *dx);
    float *dw = malloc(nw * sizeof *dw), *db = malloc((size_t)k->oc * sizeof *db);
    char what[160];
    TC_ASSERT_OK(dob_net_forward(net, 1));
    ref_deconv_forward(&r, x->data, w, b, want, NULL);
    snprintf(what, sizeof what, "%s: forward", k->what);
    TC_ASSERT_CLOSE(what, y->data, want, y->count, 1e-4);
    tc_fill(y->diff, y->count, 3, 3, -1.0f, 1.0f);
    TC_ASSERT_OK(dob_net_backward(net));
    ref_deconv_backward(&r, x->data, w, b, y->diff, dx, dw, db);
    if (input_grad) {
        snprintf(what, sizeof what, "%s: diff_src", k->what);
        TC_ASSERT_CLOSE(what, x->diff, dx, x->count, 1e-4);
    }
    snprintf(what, sizeof what, "%s: diff_weights", k->what);
    TC_ASSERT_CLOSE(what, dob_arena_grad(a, 0), dw, nw, 1e-4);
    if (k->bias) {
        snprintf(what, sizeof what, "%s: diff_bias", k->what);
        TC_ASSERT_CLOSE(what, dob_arena_grad(a, 1), db, (size_t)k->oc, 1e-4);
    }
    free(want);
    free(dx);
    free(dw);
    free(db);
}

/* (1) forward/backward vs reference, (2) finite differences, (3) overwrite, with and without input grad. */
static void test_deconv_cases(void) {
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (int ig = 1; ig >= 0; ig--) {
            const deconv_case *k = &cases[i];
            dob_net *net = make_net(k, ig, 200 + i);
            CU_ASSERT_PTR_NOT_NULL(net);
            if (!net) continue;
            if (fill_input(net, k, 2e-3)) {
                check_against_ref(net, k, ig);
                CU_ASSERT_EQUAL(tc_gradcheck(net, (tc_gc_opts){.eps = 1e-3, .tol = 1e-2, .training = 1}, k->what),
                                0);
                CU_ASSERT(tc_overwrite_check(net, k->what));
            } else {
                CU_FAIL("no kink-free input");
            }
            dob_net_destroy(net);
        }
    }
}

/* (4) TF's sizes by hand: the VAE decoder 7x7x1 -> t1 (k4 s2) 14x14 -> t2, t3 (k4 s1) 14x14; with an all-ones
 * 1x1 input of ones and an all-ones kernel the output counts the taps reaching each pixel. */
static void test_tf_sizes_by_hand(void) {
    CU_ASSERT_EQUAL(dob_deconv_out(7, 4, 2, DOB_PAD_SAME, NULL, NULL), 14);
    CU_ASSERT_EQUAL(dob_deconv_out(14, 4, 1, DOB_PAD_SAME, NULL, NULL), 14);
    CU_ASSERT_EQUAL(dob_deconv_out(7, 4, 2, DOB_PAD_VALID, NULL, NULL), 16);
    CU_ASSERT_EQUAL(dob_deconv_out(7, 3, 1, DOB_PAD_VALID, NULL, NULL), 9);
    int64_t l, r;
    dob_deconv_out(7, 4, 2, DOB_PAD_SAME, &l, &r); /* total (7-1)*2 + 4 - 14 = 2 */
    CU_ASSERT(l == 1 && r == 1);
    dob_deconv_out(14, 4, 1, DOB_PAD_SAME, &l, &r); /* total 13 + 4 - 14 = 3: the extra one bottom/right */
    CU_ASSERT(l == 1 && r == 2);
    dob_deconv_out(5, 3, 2, DOB_PAD_SAME, &l, &r); /* total 8 + 3 - 10 = 1 */
    CU_ASSERT(l == 0 && r == 1);

    /* a single 1 at input (0,0) and (1,1) of a 2x2 input, k4 s2 SAME, all-ones kernel: output 4x4; pixel (0,0)'s
     * taps land on rows -1..2 (lead 1) and so on; TF gives [[1,1,1,0],[1,2,2,1],[1,2,2,1],[0,1,1,1]] */
    dob_net *net;
    int y;
    dob_conv_cfg c = {.out_channels = 1, .kh = 4, .kw = 4, .sh = 2, .sw = 2, .pad = DOB_PAD_SAME,
                      .w_init = {DOB_INIT_CONST, 1.0f, 0}};
    TC_ASSERT_OK(dob_net_create(&net, 3, (int64_t[]){1, 2, 2}));
    TC_ASSERT_OK(dob_net_deconv(net, "t", dob_net_input(net), &c, &y));
    TC_ASSERT_OK(dob_net_alloc(net));
    dob_arena_init(dob_net_arena(net), 1);
    TC_ASSERT_OK(dob_net_build(net, 1));
    dob_tensor *x = dob_net_input_tensor(net), *o = dob_net_output(net);
    CU_ASSERT(o->dims[2] == 4 && o->dims[3] == 4);
    x->data[0] = 1.0f, x->data[1] = 0.0f, x->data[2] = 0.0f, x->data[3] = 1.0f;
    TC_ASSERT_OK(dob_net_forward(net, 0));
    const float want[16] = {1, 1, 1, 0, 1, 2, 2, 1, 1, 2, 2, 1, 0, 1, 1, 1};
    TC_ASSERT_CLOSE("k4 s2 SAME by hand", o->data, want, 16, 0.0);
    dob_net_destroy(net);
}

static void test_rebuild_batch(void) {
    deconv_case k = cases[2];
    dob_net *net = make_net(&k, 1, 31);
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    if (fill_input(net, &k, 0)) check_against_ref(net, &k, 1);
    k.n = 5;
    TC_ASSERT_OK(dob_net_build(net, 5));
    if (fill_input(net, &k, 0)) check_against_ref(net, &k, 1);
    dob_net_destroy(net);
}

/* Reserve: weights OC,IC,KH,KW with TF's fans of the [KH,KW,OC,IC] kernel, bias; error paths. */
static void test_deconv_params_errors(void) {
    dob_net *net;
    dob_conv_cfg c = {.out_channels = 64, .kh = 4, .kw = 4, .sh = 2, .sw = 2, .pad = DOB_PAD_SAME, .bias = 1};
    TC_ASSERT_OK(dob_net_create(&net, 3, (int64_t[]){3, 7, 7}));
    TC_ASSERT_OK(dob_net_deconv(net, "t1", 0, &c, NULL));
    const dob_param_info *w = dob_arena_info(dob_net_arena(net), 0);
    CU_ASSERT_STRING_EQUAL(w->name, "t1/weights");
    CU_ASSERT(w->dims[0] == 64 && w->dims[1] == 3 && w->dims[2] == 4 && w->dims[3] == 4);
    CU_ASSERT(w->fan_in == 16 * 64 && w->fan_out == 16 * 3);
    CU_ASSERT_STRING_EQUAL(dob_arena_info(dob_net_arena(net), 1)->name, "t1/bias");
    c.kh = 1;
    TC_ASSERT_FAILS(dob_net_deconv(net, "t", 0, &c, NULL), DOB_EINVAL,
                    "layer t (deconv): kernel 1x4 smaller than the stride 2x2");
    c.kh = 4;
    c.act = DOB_ACT_TANH;
    TC_ASSERT_FAILS(dob_net_deconv(net, "t", 0, &c, NULL), DOB_EINVAL, "fused activation must be NONE or RELU");
    c.act = DOB_ACT_NONE;
    c.sh = 0;
    TC_ASSERT_FAILS(dob_net_deconv(net, "t", 0, &c, NULL), DOB_EINVAL, "strides must be > 0, found 0x2");
    c.sh = 2;
    c.pad = (dob_padding)5;
    TC_ASSERT_FAILS(dob_net_deconv(net, "t", 0, &c, NULL), DOB_EINVAL, "padding must be SAME or VALID, found 5");
    c.pad = DOB_PAD_SAME;
    c.out_channels = 0;
    TC_ASSERT_FAILS(dob_net_deconv(net, "t", 0, &c, NULL), DOB_EINVAL, "out_channels, kh, kw must be > 0");
    dob_net_destroy(net);
    TC_ASSERT_OK(dob_net_create(&net, 1, (int64_t[]){10}));
    c.out_channels = 2;
    TC_ASSERT_FAILS(dob_net_deconv(net, "t", 0, &c, NULL), DOB_EINVAL, "expected a 4-D input (N,C,H,W), found 2-D");
    dob_net_destroy(net);
}

static CU_TestInfo tests[] = {
    {"deconv_cases", test_deconv_cases},
    {"tf_sizes_by_hand", test_tf_sizes_by_hand},
    {"rebuild_batch", test_rebuild_batch},
    {"deconv_params_errors", test_deconv_params_errors},
    CU_TEST_INFO_NULL,
};
CU_SuiteInfo deconv_suite = {"deconv", NULL, NULL, NULL, NULL, tests};
