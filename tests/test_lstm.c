/* test_lstm.c: the LSTM layer (src/layers/lstm.c). A table of layer_fx rows (layer_fx.h: one layer with and
 * without forget_bias, two stacked layers through 3 time steps; batch 3 and 5): forward from the zero state against
 * the naive double reference (tests/ref/ref_lstm.c) in evaluation and training mode, finite differences for input
 * and parameters with the state reset before every forward, overwrite (oneDNN accumulates RNN weight gradients: a
 * missing zeroing fails there). Focused tests: a state carried into the next batch, reset, state get/set, backward
 * twice after a carried state, rebuild, parameter shapes, fans and errors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layer_fx.h"
#include "ref/ref_lstm.h"
#include "tc.h"

static dob_lstm_cfg cfg_h(int64_t h) {
    return (dob_lstm_cfg){.hidden = h, .forget_bias = 1.0f, .w_init = {DOB_INIT_GLOROT_UNIFORM, 0, 0},
                          .b_init = {DOB_INIT_UNIFORM, -0.3f, 0.3f}};
}

/* input T x C -> lstm(H1) [-> lstm(H2)] */
static dob_net *make_net(int64_t n, int64_t t, int64_t c, int64_t h1, int64_t h2, uint64_t seed) {
    dob_net *net = NULL;
    int y;
    dob_lstm_cfg c1 = cfg_h(h1), c2 = cfg_h(h2);
    dob_status st = dob_net_create(&net, 2, (int64_t[]){t, c});
    if (st == DOB_OK) st = dob_net_lstm(net, "lstm1", dob_net_input(net), &c1, &y);
    if (st == DOB_OK && h2) st = dob_net_lstm(net, "lstm2", y, &c2, &y);
    if (st == DOB_OK) st = dob_net_alloc(net);
    if (st == DOB_OK) {
        dob_arena_init(dob_net_arena(net), seed);
        dob_net_set_input_grad(net, 1);
        st = dob_net_build(net, n);
    }
    if (st != DOB_OK) {
        fprintf(stderr, "\n    lstm net: %s\n", dob_last_error());
        dob_net_destroy(net);
        return NULL;
    }
    tc_fill(dob_net_input_tensor(net)->data, dob_net_input_tensor(net)->count, 17, seed, -1.0f, 1.0f);
    return net;
}

/* forward vs reference from the zero state, then a second batch that continues from the first's final state */
static void test_lstm_forward_carry(void) {
    const int64_t N = 3, T = 4, C = 5, H = 6;
    dob_net *net = make_net(N, T, C, H, 0, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    dob_arena *a = dob_net_arena(net);
    dob_tensor *x = dob_net_input_tensor(net), *y = dob_net_output(net);
    const float *wl = dob_arena_param(a, 0), *wi = dob_arena_param(a, 1), *b = dob_arena_param(a, 2);
    float want[3 * 4 * 6], h1[18], c1[18], want2[3 * 4 * 6];
    TC_ASSERT_OK(dob_net_forward(net, 1));
    ref_lstm_forward(N, T, C, H, x->data, wl, wi, b, 1.0f, NULL, NULL, want, h1, c1);
    TC_ASSERT_CLOSE("lstm forward", y->data, want, y->count, 1e-5);
    /* next batch: carried state (training and inference alike) */
    tc_fill(x->data, x->count, 17, 99, -1.0f, 1.0f);
    TC_ASSERT_OK(dob_net_forward(net, 0));
    ref_lstm_forward(N, T, C, H, x->data, wl, wi, b, 1.0f, h1, c1, want2, NULL, NULL);
    TC_ASSERT_CLOSE("lstm forward, carried state", y->data, want2, y->count, 1e-5);
    /* reset: back to the zero state */
    dob_net_reset_state(net);
    TC_ASSERT_OK(dob_net_forward(net, 1));
    ref_lstm_forward(N, T, C, H, x->data, wl, wi, b, 1.0f, NULL, NULL, want2, NULL, NULL);
    TC_ASSERT_CLOSE("lstm forward after reset", y->data, want2, y->count, 1e-5);
    /* without forget_bias the output differs (the bias is really added) */
    ref_lstm_forward(N, T, C, H, x->data, wl, wi, b, 0.0f, NULL, NULL, want, NULL, NULL);
    double dmax = 0;
    for (size_t i = 0; i < y->count; i++) dmax = fmax(dmax, fabs((double)y->data[i] - want[i]));
    CU_ASSERT(dmax > 1e-2);
    dob_net_destroy(net);
}

/* ---- the table (layer_fx.h): forward from the zero state against the reference (evaluation and training
 * mode), finite differences through every step and layer (state reset before each forward), overwrite; batch 3
 * and 5 -------------------------------------------------------------------------------------------------------- */
typedef struct lstm_row {
    int64_t h1, h2;     /* h2 = 0: one layer */
    float forget_bias;
} lstm_row;

static dob_status add_lstm(dob_net *net, int in, const void *cfg, int *out) {
    const lstm_row *r = cfg;
    dob_lstm_cfg c1 = cfg_h(r->h1), c2 = cfg_h(r->h2);
    c1.forget_bias = c2.forget_bias = r->forget_bias;
    dob_status st = dob_net_lstm(net, "lstm1", in, &c1, out);
    if (st == DOB_OK && r->h2) st = dob_net_lstm(net, "lstm2", *out, &c2, out);
    return st;
}

/* ref_lstm_forward per layer from the zero state; layer k's parameters are arena tensors 3k..3k+2. */
static void ref_forward(const void *cfg, dob_net *net, float *y) {
    const lstm_row *r = cfg;
    const dob_tensor *x = dob_net_input_tensor(net);
    dob_arena *a = dob_net_arena(net);
    const int64_t n = x->dims[0], t = x->dims[1], c = x->dims[2];
    float *h = r->h2 ? malloc((size_t)(n * t * r->h1) * sizeof *h) : y;
    ref_lstm_forward(n, t, c, r->h1, x->data, dob_arena_param(a, 0), dob_arena_param(a, 1), dob_arena_param(a, 2),
                     r->forget_bias, NULL, NULL, h, NULL, NULL);
    if (!r->h2) return;
    ref_lstm_forward(n, t, r->h1, r->h2, h, dob_arena_param(a, 3), dob_arena_param(a, 4), dob_arena_param(a, 5),
                     r->forget_bias, NULL, NULL, y, NULL, NULL);
    free(h);
}

#define LSTM_ROW(label, t, c, h1, h2, fb)                                                                          \
    {.name = "lstm " label, .in_ndim = 2, .in_dims = {t, c}, .cfg = &(const lstm_row){h1, h2, fb},                \
     .add = add_lstm, .ref = ref_forward, .fwd_tol = 1e-5,                                                        \
     .gc = {.eps = 1e-3, .tol = 2e-3, .training = 1, .reset_state = 1}, .seed = 3}
static const tc_layer_case rows[] = {
    LSTM_ROW("1 layer, 4 steps", 4, 5, 6, 0, 1.0f),
    LSTM_ROW("1 layer, 4 steps, forget_bias 0", 4, 5, 6, 0, 0.0f),
    LSTM_ROW("2 layers, 3 steps", 3, 4, 5, 6, 1.0f),
};

static void test_lstm_table(void) { tc_layer_run_all(rows, sizeof rows / sizeof *rows); }

static void test_lstm_backward_twice(void) {
    dob_net *net = make_net(2, 3, 4, 5, 0, 4);
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    TC_ASSERT_OK(dob_net_forward(net, 1)); /* leaves a non-zero state for the next forward */
    /* backward twice after a forward that started from a carried state: identical gradients (oneDNN's RNN
     * accumulation is undone, and backward reads only what that forward saved) */
    dob_tensor *y = dob_net_output(net);
    tc_fill(y->diff, y->count, 8, 8, -1.0f, 1.0f);
    TC_ASSERT_OK(dob_net_forward(net, 1));
    TC_ASSERT_OK(dob_net_backward(net));
    size_t n = dob_arena_size(dob_net_arena(net));
    float *g1 = malloc(n * sizeof *g1);
    memcpy(g1, dob_arena_grads(dob_net_arena(net)), n * sizeof *g1);
    TC_ASSERT_OK(dob_net_backward(net));
    TC_ASSERT_CLOSE("backward twice", dob_arena_grads(dob_net_arena(net)), g1, n, 0.0);
    free(g1);
    dob_net_destroy(net);
}

static void test_lstm_rebuild_params_errors(void) {
    dob_net *net = make_net(2, 3, 4, 5, 0, 5);
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    dob_arena *a = dob_net_arena(net);
    CU_ASSERT_EQUAL(dob_arena_tensor_count(a), 3);
    const dob_param_info *wl = dob_arena_info(a, 0), *wi = dob_arena_info(a, 1), *b = dob_arena_info(a, 2);
    CU_ASSERT_STRING_EQUAL(wl->name, "lstm1/weights_layer");
    CU_ASSERT(wl->dims[0] == 4 && wl->dims[1] == 4 && wl->dims[2] == 5 && wl->fan_in == 9 && wl->fan_out == 20);
    CU_ASSERT(wi->dims[0] == 5 && wi->fan_in == 9 && wi->fan_out == 20);
    CU_ASSERT(b->dims[0] == 4 && b->dims[1] == 5);
    CU_ASSERT_EQUAL(dob_arena_param_count(a), (size_t)((4 + 5) * 20 + 20)); /* TF: kernel [C+H, 4H] + bias */
    /* another batch size: a new plan, zero state */
    TC_ASSERT_OK(dob_net_build(net, 7));
    dob_tensor *x = dob_net_input_tensor(net), *y = dob_net_output(net);
    tc_fill(x->data, x->count, 3, 3, -1.0f, 1.0f);
    float *want = malloc(y->count * sizeof *want);
    TC_ASSERT_OK(dob_net_forward(net, 1));
    ref_lstm_forward(7, 3, 4, 5, x->data, dob_arena_param(a, 0), dob_arena_param(a, 1), dob_arena_param(a, 2), 1.0f,
                     NULL, NULL, want, NULL, NULL);
    TC_ASSERT_CLOSE("lstm after rebuild", y->data, want, y->count, 1e-5);
    free(want);
    dob_lstm_cfg c = cfg_h(0);
    TC_ASSERT_FAILS(dob_net_lstm(net, "l", 1, &c, NULL), DOB_EINVAL, "layer l (lstm): hidden size must be > 0, found 0");
    dob_net_destroy(net);
    TC_ASSERT_OK(dob_net_create(&net, 1, (int64_t[]){10}));
    c.hidden = 3;
    TC_ASSERT_FAILS(dob_net_lstm(net, "l", 0, &c, NULL), DOB_EINVAL, "expected an N,T,C input (3-D), found 2-D");
    dob_net_destroy(net);
}

/* dob_net_state_get/set (checkpoints mid-epoch): the state after a batch, set into a net that has forgotten it,
 * gives the next batch bitwise the output the carried state gave; zero after reset; two layers, h then c each */
static void test_lstm_state_get_set(void) {
    const int64_t N = 2, T = 3, C = 4, H = 5, H2 = 3;
    dob_net *net = make_net(N, T, C, H, H2, 7);
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    dob_tensor *x = dob_net_input_tensor(net), *y = dob_net_output(net);
    const size_t ns = dob_net_state_count(net);
    CU_ASSERT_EQUAL(ns, (size_t)(2 * N * H + 2 * N * H2));
    float *s0 = calloc(ns, sizeof *s0), *s1 = calloc(ns, sizeof *s1), *want = calloc(y->count, sizeof *want);
    dob_net_state_get(net, s0);
    int zero = 1;
    for (size_t i = 0; i < ns; i++) zero &= s0[i] == 0.0f;
    CU_ASSERT(zero); /* built, nothing carried yet */
    TC_ASSERT_OK(dob_net_forward(net, 1));
    dob_net_state_get(net, s1);
    tc_fill(x->data, x->count, 17, 5, -1.0f, 1.0f);
    TC_ASSERT_OK(dob_net_forward(net, 1));
    memcpy(want, y->data, y->count * sizeof *want);
    dob_net_reset_state(net);
    dob_net_state_set(net, s1);
    TC_ASSERT_OK(dob_net_forward(net, 1));
    CU_ASSERT(!memcmp(want, y->data, y->count * sizeof *want));
    dob_net_reset_state(net); /* the zero state gives another output */
    TC_ASSERT_OK(dob_net_forward(net, 1));
    CU_ASSERT(memcmp(want, y->data, y->count * sizeof *want) != 0);
    free(s0), free(s1), free(want);
    dob_net_destroy(net);
}

static CU_TestInfo tests[] = {
    {"lstm_forward_carry", test_lstm_forward_carry},
    {"lstm_state_get_set", test_lstm_state_get_set},
    {"lstm_table", test_lstm_table},
    {"lstm_backward_no_accumulation", test_lstm_backward_twice},
    {"lstm_rebuild_params_errors", test_lstm_rebuild_params_errors},
    CU_TEST_INFO_NULL,
};
CU_SuiteInfo lstm_suite = {"lstm", NULL, NULL, NULL, NULL, tests};
