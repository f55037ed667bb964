/* test_conv.c: the 2-D convolution layer (src/layers/conv.c). Through conv_fx (layer_fx's checks, backward against the
 * naive double reference tests/ref/ref_conv.c) over several shapes (non-square, strides 1 and 2, SAME and VALID, odd
 * and even kernels, bias on/off, fused ReLU on/off, IC 1 and > 1, channel counts that are and are not multiples of
 * oneDNN's block of 16); finite differences; overwrite semantics; hand-computed TF padding values; a conv reading the
 * net input (no backward data); rebuild at another batch; error paths; blocked-layout propagation through conv -> pool
 * -> conv against the all-plain net. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <oneapi/dnnl/dnnl.h>

#include "conv_fx.h"

/* (1)-(3) every case through conv_fx: layer_fx's forward, finite-difference and overwrite checks, and backward
 * against the reference with and without an input gradient */
static const cfx_case cases[] = {
    {"ic1 7x9 k3 s1 SAME bias relu", 3, 1, 7, 9, 4, 3, 3, 1, 1, DOB_PAD_SAME, 1, DOB_ACT_RELU},
    {"ic3 7x9 k3 s2 SAME", 3, 3, 7, 9, 5, 3, 3, 2, 2, DOB_PAD_SAME, 0, DOB_ACT_NONE},
    {"ic2 7x9 k4 s2 SAME (pad 1/2) bias relu", 2, 2, 7, 9, 3, 4, 4, 2, 2, DOB_PAD_SAME, 1, DOB_ACT_RELU},
    {"ic4 7x9 k3x2 s2x1 VALID bias", 3, 4, 7, 9, 2, 3, 2, 2, 1, DOB_PAD_VALID, 1, DOB_ACT_NONE},
    {"ic3 9x7 k5 s1 VALID relu", 2, 3, 9, 7, 6, 5, 5, 1, 1, DOB_PAD_VALID, 0, DOB_ACT_RELU},
    {"ic17 6x5 k2x3 s1x2 SAME bias", 2, 17, 6, 5, 18, 2, 3, 1, 2, DOB_PAD_SAME, 1, DOB_ACT_NONE},
    {"ic16 6x6 k5 s1 SAME oc32 bias relu", 1, 16, 6, 6, 32, 5, 5, 1, 1, DOB_PAD_SAME, 1, DOB_ACT_RELU},
    {"ic1 28x28 k5 s2 SAME oc32 bias", 2, 1, 28, 28, 32, 5, 5, 2, 2, DOB_PAD_SAME, 1, DOB_ACT_NONE},
    /* VGG's deep-layer shape: on AVX2 backward weights runs gemm on nchw copies (conv.c, gemm_bwd_w_wins) */
    {"ic128 14x14 k3 s1 SAME oc256 bias", 1, 128, 14, 14, 256, 3, 3, 1, 1, DOB_PAD_SAME, 1, DOB_ACT_NONE},
};

static void test_conv_cases(void) {
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) cfx_run_case(&cfx_conv, &cases[i], 100 + i);
}


/* (4) TF padding by hand: 28x28 ones, 5x5 all-ones kernel, no bias: outputs count the valid taps. */
static void test_tf_padding_by_hand(void) {
    const struct {
        int64_t s;
        dob_padding pad;
        int64_t out;
        int64_t at[4][2];
        float want[4];
    } t[] = {
        /* SAME s1: pad 2/2 -> corners see 3x3, edges 3x5 (or 3x4 one in), centre 5x5 */
        {1, DOB_PAD_SAME, 28, {{0, 0}, {0, 1}, {14, 14}, {27, 27}}, {9, 12, 25, 9}},
        /* SAME s2: total pad 3 -> 1 top/left, 2 bottom/right. (0,0) sees rows/cols -1..3 -> 4x4; (13,13) sees
         * 25..29 -> 3x3; symmetric padding (2/1 or 2/2) would give 9 at (0,0). */
        {2, DOB_PAD_SAME, 14, {{0, 0}, {0, 13}, {13, 13}, {1, 1}}, {16, 12, 9, 25}},
        {1, DOB_PAD_VALID, 24, {{0, 0}, {23, 23}, {5, 7}, {0, 23}}, {25, 25, 25, 25}},
        {2, DOB_PAD_VALID, 12, {{0, 0}, {11, 11}, {5, 7}, {0, 11}}, {25, 25, 25, 25}},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        dob_net *net;
        int y;
        dob_conv_cfg c = {.out_channels = 1, .kh = 5, .kw = 5, .sh = t[i].s, .sw = t[i].s, .pad = t[i].pad,
                          .w_init = {DOB_INIT_CONST, 1.0f, 0}};
        TC_ASSERT_OK(dob_net_create(&net, 3, (int64_t[]){1, 28, 28}));
        TC_ASSERT_OK(dob_net_conv(net, "conv", dob_net_input(net), &c, &y));
        const dob_tensor *o = dob_net_tensor(net, y);
        CU_ASSERT(o->ndim == 4 && o->dims[1] == 1 && o->dims[2] == t[i].out && o->dims[3] == t[i].out);
        if (o->dims[2] != t[i].out)
            fprintf(stderr, "\n    case %zu: output %lldx%lld, expected %lldx%lld\n", i, (long long)o->dims[2],
                    (long long)o->dims[3], (long long)t[i].out, (long long)t[i].out);
        TC_ASSERT_OK(dob_net_alloc(net));
        dob_arena_init(dob_net_arena(net), 1);
        TC_ASSERT_OK(dob_net_build(net, 1));
        dob_tensor *x = dob_net_input_tensor(net);
        for (size_t j = 0; j < x->count; j++) x->data[j] = 1.0f;
        TC_ASSERT_OK(dob_net_forward(net, 0));
        for (int j = 0; j < 4; j++) {
            float got = o->data[t[i].at[j][0] * t[i].out + t[i].at[j][1]];
            if (got != t[i].want[j])
                fprintf(stderr, "\n    case %zu: y[%lld,%lld] = %g, expected %g\n", i, (long long)t[i].at[j][0],
                        (long long)t[i].at[j][1], got, t[i].want[j]);
            CU_ASSERT_EQUAL(got, t[i].want[j]);
        }
        dob_net_destroy(net);
    }
}

/* (5) a conv reading the net input has no input diff and skips backward data, yet its parameter grads are right;
 * a second conv behind it does run backward data and feeds the first one's weight grads. */
static void test_first_layer_no_input_grad(void) {
    const cfx_case *k = &cases[2];
    dob_net *net = cfx_make_net(&cfx_conv, k, 0, 7, DOB_CONV_DIRECT);
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    CU_ASSERT_PTR_NULL(dob_net_layer(net, 0)->in_diff[0]);
    CU_ASSERT_PTR_NULL(dob_net_input_tensor(net)->diff);
    if (cfx_fill_input(&cfx_conv, net, k, 2e-3)) {
        cfx_check_against_ref(&cfx_conv, net, k, 0);
        CU_ASSERT_EQUAL(tc_gradcheck(net, (tc_gc_opts){.eps = 1e-3, .tol = 1e-2, .training = 1}, "no input grad"), 0);
        CU_ASSERT(tc_overwrite_check(net, "no input grad"));
    }
    dob_net_destroy(net);

    /* conv(3->4, relu-free) -> conv(4->2): the first skips bwd-data, the second needs it */
    int h, y;
    dob_conv_cfg c1 = {.out_channels = 4, .kh = 3, .kw = 3, .sh = 1, .sw = 1, .pad = DOB_PAD_SAME, .bias = 1,
                       .w_init = {DOB_INIT_GLOROT_UNIFORM, 0, 0}, .b_init = {DOB_INIT_UNIFORM, -0.5f, 0.5f}};
    dob_conv_cfg c2 = c1;
    c2.out_channels = 2;
    c2.sh = c2.sw = 2;
    TC_ASSERT_OK(dob_net_create(&net, 3, (int64_t[]){3, 7, 9}));
    TC_ASSERT_OK(dob_net_conv(net, "conv1", dob_net_input(net), &c1, &h));
    TC_ASSERT_OK(dob_net_conv(net, "conv2", h, &c2, &y));
    TC_ASSERT_OK(dob_net_alloc(net));
    dob_arena_init(dob_net_arena(net), 8);
    TC_ASSERT_OK(dob_net_build(net, 3));
    CU_ASSERT_PTR_NULL(dob_net_layer(net, 0)->in_diff[0]);
    CU_ASSERT_PTR_NOT_NULL(dob_net_layer(net, 1)->in_diff[0]);
    dob_tensor *x = dob_net_input_tensor(net);
    tc_fill(x->data, x->count, 12, 0, -1.0f, 1.0f);
    CU_ASSERT_EQUAL(tc_gradcheck(net, (tc_gc_opts){.eps = 1e-3, .tol = 1e-2, .training = 1}, "conv-conv"), 0);
    CU_ASSERT(tc_overwrite_check(net, "conv-conv"));
    dob_net_destroy(net);
}

/* Rebuilding for another batch size (train vs eval) gives a working plan again. */
static void test_rebuild_batch(void) {
    cfx_case k = cases[5];
    dob_net *net = cfx_make_net(&cfx_conv, &k, 1, 21, DOB_CONV_DIRECT);
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    if (cfx_fill_input(&cfx_conv, net, &k, 0)) cfx_check_against_ref(&cfx_conv, net, &k, 1);
    k.n = 5;
    TC_ASSERT_OK(dob_net_build(net, 5));
    if (cfx_fill_input(&cfx_conv, net, &k, 0)) cfx_check_against_ref(&cfx_conv, net, &k, 1);
    dob_net_destroy(net);
}

/* (6) error paths: status and message. */
static void test_conv_errors(void) {
    dob_net *net;
    dob_conv_cfg c = {.out_channels = 2, .kh = 5, .kw = 5, .sh = 1, .sw = 1, .pad = DOB_PAD_VALID,
                      .w_init = {DOB_INIT_GLOROT_UNIFORM, 0, 0}};
    TC_ASSERT_OK(dob_net_create(&net, 3, (int64_t[]){2, 3, 4}));
    TC_ASSERT_FAILS(dob_net_conv(net, "c", 0, &c, NULL), DOB_EINVAL,
                    "layer c (conv): kernel 5x5 is larger than the VALID input 3x4");
    c.kh = c.kw = 3;
    c.out_channels = 0;
    TC_ASSERT_FAILS(dob_net_conv(net, "c", 0, &c, NULL), DOB_EINVAL, "out_channels, kh, kw must be > 0, found 0");
    c.out_channels = 2;
    c.sw = 0;
    TC_ASSERT_FAILS(dob_net_conv(net, "c", 0, &c, NULL), DOB_EINVAL, "strides must be > 0, found 1x0");
    c.sw = 1;
    c.act = DOB_ACT_TANH;
    TC_ASSERT_FAILS(dob_net_conv(net, "c", 0, &c, NULL), DOB_EINVAL, "not supported fused");
    c.act = (dob_act_kind)42;
    TC_ASSERT_FAILS(dob_net_conv(net, "c", 0, &c, NULL), DOB_EINVAL, "unknown activation kind 42");
    c.act = DOB_ACT_NONE;
    c.pad = (dob_padding)7;
    TC_ASSERT_FAILS(dob_net_conv(net, "c", 0, &c, NULL), DOB_EINVAL, "padding must be SAME or VALID, found 7");
    c.pad = DOB_PAD_VALID;
    /* a failed add leaves the net usable: the same name works afterwards, and nothing was reserved */
    CU_ASSERT_EQUAL(dob_arena_tensor_count(dob_net_arena(net)), 0);
    TC_ASSERT_OK(dob_net_conv(net, "c", 0, &c, NULL));
    dob_net_destroy(net);

    TC_ASSERT_OK(dob_net_create(&net, 1, (int64_t[]){10}));
    TC_ASSERT_FAILS(dob_net_conv(net, "c", 0, &c, NULL), DOB_EINVAL, "expected a 4-D input (N,C,H,W), found 2-D");
    dob_net_destroy(net);
    TC_ASSERT_OK(dob_net_create(&net, 4, (int64_t[]){1, 2, 5, 5}));
    TC_ASSERT_FAILS(dob_net_conv(net, "c", 0, &c, NULL), DOB_EINVAL, "found 5-D");
    dob_net_destroy(net);
}

/* Reserve: weights oihw with TF fans and the L2 flag, bias x. */
static void test_conv_params(void) {
    dob_net *net;
    dob_conv_cfg c = {.out_channels = 32, .kh = 5, .kw = 5, .sh = 1, .sw = 1, .pad = DOB_PAD_SAME, .bias = 1,
                      .l2 = 1};
    TC_ASSERT_OK(dob_net_create(&net, 3, (int64_t[]){3, 28, 28}));
    TC_ASSERT_OK(dob_net_conv(net, "conv1", 0, &c, NULL));
    c.bias = 0;
    c.l2 = 0;
    TC_ASSERT_OK(dob_net_conv(net, "conv2", 1, &c, NULL));
    dob_arena *a = dob_net_arena(net);
    CU_ASSERT_EQUAL_FATAL(dob_arena_tensor_count(a), 3);
    const dob_param_info *w = dob_arena_info(a, 0), *b = dob_arena_info(a, 1), *w2 = dob_arena_info(a, 2);
    CU_ASSERT_STRING_EQUAL(w->name, "conv1/weights");
    CU_ASSERT(w->ndim == 4 && w->dims[0] == 32 && w->dims[1] == 3 && w->dims[2] == 5 && w->dims[3] == 5);
    CU_ASSERT(w->fan_in == 3 * 25 && w->fan_out == 32 * 25);
    CU_ASSERT(w->flags & DOB_PARAM_L2);
    CU_ASSERT_STRING_EQUAL(b->name, "conv1/bias");
    CU_ASSERT(b->ndim == 1 && b->dims[0] == 32 && !(b->flags & DOB_PARAM_L2));
    CU_ASSERT_STRING_EQUAL(w2->name, "conv2/weights");
    CU_ASSERT(w2->dims[1] == 32 && !(w2->flags & DOB_PARAM_L2));
    dob_net_destroy(net);
}

/* (7) layout propagation: conv -> max pool 3x3/2 (overlapping windows) -> conv -> avg pool -> conv exchanges
 * blocked layouts between the layers; output, input grad, parameter grads and the plain view of every
 * intermediate tensor equal the all-plain net's (within 1e-5); the intermediate buffers really hold another
 * layout; read errors. */
static dob_net *chain_net(int64_t ic, int64_t oc, int in_grad, int propagate, int *ids) {
    const dob_init w = {DOB_INIT_TRUNC_NORMAL, 0.0f, 0.2f}, b = {DOB_INIT_CONST, 0.05f, 0};
    dob_conv_cfg c = {.out_channels = oc, .kh = 3, .kw = 3, .sh = 1, .sw = 1, .pad = DOB_PAD_SAME, .bias = 1,
                      .w_init = w, .b_init = b, .act = DOB_ACT_RELU};
    dob_net *net;
    int x;
    if (dob_net_create(&net, 3, (int64_t[]){ic, 12, 10}) != DOB_OK) return NULL;
    x = dob_net_input(net);
    int ok = dob_net_conv(net, "conv1", x, &c, &ids[0]) == DOB_OK &&
             dob_net_pool(net, "pool1", ids[0],
                          &(dob_pool_cfg){DOB_POOL_MAX, 3, 3, 2, 2, DOB_PAD_SAME}, &ids[1]) == DOB_OK &&
             dob_net_conv(net, "conv2", ids[1], &c, &ids[2]) == DOB_OK &&
             dob_net_pool(net, "pool2", ids[2],
                          &(dob_pool_cfg){DOB_POOL_AVG, 3, 3, 2, 2, DOB_PAD_SAME}, &ids[3]) == DOB_OK;
    c.out_channels = 5;
    c.act = DOB_ACT_NONE;
    ok = ok && dob_net_conv(net, "conv3", ids[3], &c, &ids[4]) == DOB_OK && dob_net_alloc(net) == DOB_OK;
    if (ok) {
        dob_arena_init(dob_net_arena(net), 5);
        ok = tc_layout_pass(net, propagate, in_grad, 4, 31) == DOB_OK;
    }
    if (ok) return net;
    fprintf(stderr, "\n    %s\n", dob_last_error());
    dob_net_destroy(net);
    return NULL;
}

/* ic 1 without input grad takes the fmnist conv1 path on AVX2: nChw8c dst handed on, nhwc diff_dst for
 * bwd-weights (the ReLU mask changes the layout); with input grad the two backward primitives want different
 * diff_dst layouts; ic 3 keeps a blocked layout on both sides; oc 8 is a single channel block on AVX2, the pooling
 * loops get the nChw8c md and must hand nChw8c on (not nhwc, which has the same memory order).
 * Which layouts oneDNN picks depends on the ISA (nChw8c on AVX2, nChw16c on AVX-512, plain for oc 8 there), so
 * the test asks the net which tensors are blocked and checks the property on those: their buffers really hold
 * another layout and their plain view equals the all-plain net's. Returns how many tensors were blocked. */
static int check_propagation(int64_t ic, int64_t oc, int in_grad) {
    int ia[5], ib[5];
    dob_net *a = chain_net(ic, oc, in_grad, 1, ia), *b = chain_net(ic, oc, in_grad, 0, ib);
    CU_ASSERT_FATAL(a && b);
    const dob_tensor *oa = dob_net_output(a), *ob = dob_net_output(b);
    TC_ASSERT_CLOSE("output", oa->data, ob->data, oa->count, 1e-5);
    if (in_grad)
        TC_ASSERT_CLOSE("input grad", dob_net_input_tensor(a)->diff, dob_net_input_tensor(b)->diff,
                        dob_net_input_tensor(a)->count, 1e-5);
    TC_ASSERT_CLOSE("param grads", dob_arena_grads(dob_net_arena(a)), dob_arena_grads(dob_net_arena(b)),
                    dob_arena_size(dob_net_arena(a)), 1e-5);
    int reordered = 0, blocked = 0;
    for (int k = 0; k < 4; k++) {
        const dob_tensor *ta = dob_net_tensor(a, ia[k]), *tb = dob_net_tensor(b, ib[k]);
        float *da = malloc(ta->count * sizeof(float)), *ga = malloc(ta->count * sizeof(float));
        CU_ASSERT_FATAL(da && ga);
        CU_ASSERT_FALSE(dob_net_tensor_blocked(b, ib[k])); /* propagation off: everything plain */
        blocked += dob_net_tensor_blocked(a, ia[k]);
        TC_ASSERT_OK(dob_net_read_plain(a, ia[k], da, ga));
        TC_ASSERT_CLOSE("intermediate data", da, tb->data, ta->count, 1e-5);
        TC_ASSERT_CLOSE("intermediate diff", ga, tb->diff, ta->count, 1e-5);
        reordered += memcmp(da, ta->data, ta->count * sizeof(float)) != 0;
        free(da);
        free(ga);
    }
    if (reordered != blocked)
        fprintf(stderr, "\n    %d tensors report a blocked layout but %d hold other bytes than their plain view\n",
                blocked, reordered);
    CU_ASSERT_EQUAL(reordered, blocked);
    TC_ASSERT_FAILS(dob_net_read_plain(a, 99, NULL, NULL), DOB_EINVAL, "tensor 99 does not exist");
    /* making another tensor the output undoes the build; the next re-plans it plain (new buffers: the input is
     * filled again) */
    dob_net_set_output(a, ia[1]);
    TC_ASSERT_FAILS(dob_net_forward(a, 1), DOB_EINTERNAL, "forward before build");
    TC_ASSERT_OK(dob_net_build(a, 4));
    CU_ASSERT_FALSE(dob_net_tensor_blocked(a, ia[1]));
    const dob_tensor *xa = dob_net_input_tensor(a);
    memcpy(xa->data, dob_net_input_tensor(b)->data, xa->count * sizeof(float));
    TC_ASSERT_OK(dob_net_forward(a, 1));
    TC_ASSERT_OK(dob_net_forward(b, 1));
    TC_ASSERT_CLOSE("pool1 as the output", dob_net_output(a)->data, dob_net_tensor(b, ib[1])->data,
                    dob_net_output(a)->count, 1e-5);
    dob_net_destroy(a);
    dob_net_destroy(b);
    return blocked;
}

static void test_layout_propagation(void) {
    /* 16 channels are whole blocks on every ISA this runs on (8c on AVX2, 16c on AVX-512): all four
     * intermediates must travel blocked, or the propagation is broken */
    CU_ASSERT_EQUAL(check_propagation(1, 16, 0), 4);
    CU_ASSERT_EQUAL(check_propagation(1, 16, 1), 4);
    CU_ASSERT_EQUAL(check_propagation(3, 16, 1), 4);
    /* one channel block on AVX2 (nChw8c has nhwc's memory order but keeps its own md); on AVX-512 oneDNN may keep
     * 8 channels plain, which the check above covers either way */
    check_propagation(3, 8, 1);
}

/* (7b) VGG's deep layers on AVX2 (conv.c, gemm_bwd_w_wins): conv 3 -> 128 -> conv 128 -> 256 (3x3 SAME, ReLU) at
 * 14x14, propagation on and off. conv2's backward weights reads nchw copies of a blocked src and diff_dst; its
 * gradients, the input gradient and the blocked intermediate equal the all-plain net's. Where oneDNN runs at the
 * AVX2 ISA (also under ONEDNN_MAX_CPU_ISA=AVX2, the isa label) the rule must have picked the gemm kernel. */
static dob_net *deep_net(int propagate) {
    dob_conv_cfg c = {.out_channels = 128, .kh = 3, .kw = 3, .sh = 1, .sw = 1, .pad = DOB_PAD_SAME, .bias = 1,
                      .w_init = {DOB_INIT_GLOROT_UNIFORM, 0, 0}, .b_init = {DOB_INIT_CONST, 0.05f, 0},
                      .act = DOB_ACT_RELU};
    dob_net *net = NULL;
    int y;
    if (dob_net_create(&net, 3, (int64_t[]){3, 14, 14}) != DOB_OK || dob_net_conv(net, "conv1", 0, &c, &y) != DOB_OK)
        goto fail;
    c.out_channels = 256;
    if (dob_net_conv(net, "conv2", y, &c, &y) != DOB_OK || dob_net_alloc(net) != DOB_OK) goto fail;
    dob_arena_init(dob_net_arena(net), 37);
    if (tc_layout_pass(net, propagate, 1, 2, 41) != DOB_OK) goto fail;
    return net;
fail:
    fprintf(stderr, "\n    deep_net: %s\n", dob_last_error());
    dob_net_destroy(net);
    return NULL;
}

static void test_gemm_bwd_weights(void) {
    dob_net *a = deep_net(1), *b = deep_net(0);
    CU_ASSERT_FATAL(a && b);
    tc_check_against_plain(a, b, (const int[]){1}, (const int[]){1}, 1, (const int[]){1}, "conv -> deep conv");
    const char *f, *bd, *bw;
    dob_conv_impls(dob_net_layer(a, 1), &f, &bd, &bw);
    if (dnnl_get_effective_cpu_isa() == dnnl_cpu_isa_avx2) {
        CU_ASSERT(bw && strstr(bw, "gemm"));
        if (!bw || !strstr(bw, "gemm")) fprintf(stderr, "\n    conv2 backward weights on AVX2: %s\n", bw);
    }
    dob_net_destroy(a);
    dob_net_destroy(b);
}

/* (8) --conv-algo: Winograd and auto against the naive reference and by finite differences, on 3x3 stride-1
 * cases oneDNN's Winograd kernels take on AVX-512 (16-channel multiples), cases dob's own kernel takes on AVX2
 * in some passes (8-channel multiples on nChw8c, >= 64 channels into the pass: src/layers/wino.c; planes not
 * multiples of 4, VALID padding, whose backward data pads 2) and one neither takes (1 channel). Where this CPU
 * has oneDNN's kernels (ISA avx512_core or above) its forward runs Winograd; below, dob's kernel runs the forward
 * (and at avx2 the backward passes) where its rule allows; otherwise every pass falls back to direct and the
 * result is bitwise the direct one. Winograd's transforms round differently: the forward
 * tolerance is 1e-3 relative to max(1, |ref|) (measured 1e-6..2e-6 from direct for oneDNN's kernel on Zen 5,
 * 5e-6..1e-5 for dob's on Zen 3). (No ReLU on the large case: among its 9216 outputs no input keeps every
 * pre-activation off the kink for the FD check.) */
static const cfx_case wino_cases[] = {
    {"wino ic16 12x12 k3 s1 SAME oc32 bias", 2, 16, 12, 12, 32, 3, 3, 1, 1, DOB_PAD_SAME, 1, DOB_ACT_NONE},
    {"wino ic32 8x8 k3 s1 SAME oc16", 3, 32, 8, 8, 16, 3, 3, 1, 1, DOB_PAD_SAME, 0, DOB_ACT_NONE},
    {"wino ic1 7x9 k3 s1 SAME bias relu", 3, 1, 7, 9, 4, 3, 3, 1, 1, DOB_PAD_SAME, 1, DOB_ACT_RELU},
    {"wino ic64 5x5 k3 s1 SAME oc8 bias relu", 1, 64, 5, 5, 8, 3, 3, 1, 1, DOB_PAD_SAME, 1, DOB_ACT_RELU},
    {"wino ic16 7x9 k3 s1 SAME oc64 bias", 2, 16, 7, 9, 64, 3, 3, 1, 1, DOB_PAD_SAME, 1, DOB_ACT_NONE},
    {"wino ic64 9x10 k3 s1 VALID oc72", 1, 64, 9, 10, 72, 3, 3, 1, 1, DOB_PAD_VALID, 0, DOB_ACT_NONE},
};

static int has_avx512_core(void) {
    const unsigned isa = (unsigned)dnnl_get_effective_cpu_isa(), want = (unsigned)dnnl_cpu_isa_avx512_core;
    return (isa & want) == want;
}

static void test_winograd(void) {
    for (size_t i = 0; i < sizeof wino_cases / sizeof wino_cases[0]; i++) {
        const cfx_case *k = &wino_cases[i];
        dob_net *direct = cfx_make_net(&cfx_conv, k, 1, 300 + i, DOB_CONV_DIRECT);
        dob_net *wino = cfx_make_net(&cfx_conv, k, 1, 300 + i, DOB_CONV_WINOGRAD);
        CU_ASSERT_FATAL(direct && wino);
        const char *f, *bd, *bw;
        dob_conv_impls(dob_net_layer(wino, 0), &f, &bd, &bw);
        CU_ASSERT_FATAL(f && bd && bw);
        /* dob's kernel (conv.c, wino_build): 8 | channels, and >= 64 into the pass (either side for weights) */
        const int wins = strstr(f, "wino") != NULL, own = k->ic % 8 == 0 && k->oc % 8 == 0;
        const int own_f = own && k->ic >= 64, own_d = own && k->oc >= 64, own_w = own && (k->ic >= 64 || k->oc >= 64);
        fprintf(stderr, "(%s: fwd %s, bwd_d %s, bwd_w %s) ", k->what, f, bd, bw);
        if (k->ic % 16 == 0 && has_avx512_core()) CU_ASSERT(wins);
        /* below AVX-512 oneDNN's forward takes nChw8c (and AVX2's backward data): dob's kernel runs where 8 | IC, OC */
        if (!has_avx512_core()) CU_ASSERT_EQUAL(wins, own_f);
        if (dnnl_get_effective_cpu_isa() == dnnl_cpu_isa_avx2) {
            CU_ASSERT_EQUAL(strstr(bd, "wino") != NULL, own_d);
            CU_ASSERT_EQUAL(strstr(bw, "wino") != NULL, own_w);
        }
        CU_ASSERT(cfx_fill_input(&cfx_conv, wino, k, 2e-3));
        dob_tensor *xw = dob_net_input_tensor(wino), *xd = dob_net_input_tensor(direct);
        memcpy(xd->data, xw->data, xw->count * sizeof(float));
        TC_ASSERT_OK(dob_net_forward(wino, 1));
        TC_ASSERT_OK(dob_net_forward(direct, 1));
        dob_tensor *yw = dob_net_output(wino), *yd = dob_net_output(direct);
        double err = 0;
        for (size_t j = 0; j < yw->count; j++)
            err = fmax(err, fabs((double)yw->data[j] - yd->data[j]) / fmax(1.0, fabs((double)yd->data[j])));
        fprintf(stderr, "(max forward difference to direct %.2g) ", err);
        if (!wins) CU_ASSERT(memcmp(yw->data, yd->data, yw->count * sizeof(float)) == 0);
        CU_ASSERT(err <= 1e-3);
        ref_conv r = cfx_ref(k, k->n);
        float *want = malloc(yw->count * sizeof *want);
        const float *w = dob_arena_param(dob_net_arena(wino), 0);
        ref_conv_forward(&r, xw->data, w, k->bias ? dob_arena_param(dob_net_arena(wino), 1) : NULL, want, NULL);
        TC_ASSERT_CLOSE(k->what, yw->data, want, yw->count, 1e-3);
        free(want);
        CU_ASSERT_EQUAL(tc_gradcheck(wino, (tc_gc_opts){.eps = 1e-3, .tol = 1e-2, .training = 1}, k->what), 0);
        CU_ASSERT(tc_overwrite_check(wino, k->what));
        dob_net_destroy(direct);
        dob_net_destroy(wino);
    }
    dob_conv_algo a;
    TC_ASSERT_FAILS(dob_conv_algo_parse("fft", &a), DOB_EINVAL, "expected direct, winograd or auto, found 'fft'");
    TC_ASSERT_OK(dob_conv_algo_parse("auto", &a));
    CU_ASSERT_EQUAL(a, DOB_CONV_AUTO);
}

static CU_TestInfo tests[] = {
    {"conv_cases", test_conv_cases},
    {"tf_padding_by_hand", test_tf_padding_by_hand},
    {"first_layer_no_input_grad", test_first_layer_no_input_grad},
    {"rebuild_batch", test_rebuild_batch},
    {"conv_params", test_conv_params},
    {"conv_errors", test_conv_errors},
    {"layout_propagation", test_layout_propagation},
    {"gemm_bwd_weights", test_gemm_bwd_weights},
    {"winograd", test_winograd},
    CU_TEST_INFO_NULL,
};
CU_SuiteInfo conv_suite = {"conv", NULL, NULL, NULL, NULL, tests};
