/* test_deconv.c: the transposed convolution layer (src/layers/deconv.c). Through conv_fx: layer_fx's checks, forward
 * and backward against the naive scatter reference (tests/ref/ref_deconv.c) over shapes with strides 1 and 2, SAME and
 * VALID, even and odd kernels, bias and fused ReLU on/off, channel counts below and above oneDNN's blocks; finite
 * differences; overwrite semantics; TF's output sizes and padding by hand (the VAE's decoder table); rebuild at
 * another batch; error paths. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "conv_fx.h"

/* (1)-(3) every case through conv_fx: layer_fx's forward, finite-difference and overwrite checks, and backward
 * against the naive scatter reference with and without an input gradient */
static const cfx_case cases[] = {
    {"vae t1: ic1 7x7 k4 s2 SAME oc5 bias relu", 2, 1, 7, 7, 5, 4, 4, 2, 2, DOB_PAD_SAME, 1, DOB_ACT_RELU},
    {"vae t2: ic3 6x5 k4 s1 SAME (pad 1/2) bias relu", 2, 3, 6, 5, 4, 4, 4, 1, 1, DOB_PAD_SAME, 1, DOB_ACT_RELU},
    {"ic2 5x4 k3 s2 SAME", 3, 2, 5, 4, 3, 3, 3, 2, 2, DOB_PAD_SAME, 0, DOB_ACT_NONE},
    {"ic3 4x5 k3x2 s2x1 VALID bias", 2, 3, 4, 5, 2, 3, 2, 2, 1, DOB_PAD_VALID, 1, DOB_ACT_NONE},
    {"ic17 4x3 k2x3 s1x2 SAME oc18 bias", 2, 17, 4, 3, 18, 2, 3, 1, 2, DOB_PAD_SAME, 1, DOB_ACT_NONE},
    {"ic16 4x4 k5 s1 SAME oc16 relu", 1, 16, 4, 4, 16, 5, 5, 1, 1, DOB_PAD_SAME, 0, DOB_ACT_RELU},
};

static void test_deconv_cases(void) {
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) cfx_run_case(&cfx_deconv, &cases[i], 200 + i);
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
    cfx_case k = cases[2];
    dob_net *net = cfx_make_net(&cfx_deconv, &k, 1, 31, DOB_CONV_DIRECT);
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    if (cfx_fill_input(&cfx_deconv, net, &k, 0)) cfx_check_against_ref(&cfx_deconv, net, &k, 1);
    k.n = 5;
    TC_ASSERT_OK(dob_net_build(net, 5));
    if (cfx_fill_input(&cfx_deconv, net, &k, 0)) cfx_check_against_ref(&cfx_deconv, net, &k, 1);
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
