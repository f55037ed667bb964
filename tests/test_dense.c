/* test_dense.c: the dense (inner product) layer: through the table-driven checks (layer_fx.h), forward against the
 * naive reference, finite-difference gradients and overwrite semantics for every case (2-D and 4-D inputs, with
 * and without bias, every fused activation, odd sizes) at two batch sizes; then backward against the reference
 * (weight gradients when the input needs no gradient too), a stacked pair, and configuration errors. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "layer_fx.h"
#include "ref/ref_dense.h"
#include "tc.h"

typedef struct dense_case {
    int in_ndim;
    int64_t in_dims[3];
    int bias;
    dob_act_kind act;
} dense_case;

static const dense_case cases[] = {
    {1, {7}, 1, DOB_ACT_NONE},         {1, {7}, 0, DOB_ACT_NONE},         {1, {7}, 1, DOB_ACT_RELU},
    {1, {7}, 0, DOB_ACT_RELU},         {3, {3, 5, 2}, 1, DOB_ACT_NONE},   {3, {3, 5, 2}, 0, DOB_ACT_NONE},
    {3, {3, 5, 2}, 1, DOB_ACT_RELU},   {3, {3, 5, 2}, 0, DOB_ACT_RELU},   {1, {13}, 1, DOB_ACT_TANH},
    {3, {2, 3, 3}, 1, DOB_ACT_SIGMOID},
};
enum { OUT = 11 };

/* Net: input -> dense "fc" (OUT features). Parameters U(-0.5, 0.5), bias U(-0.5, 0.5). */
static dob_net *make_net(const dense_case *c, int input_grad, int64_t batch, uint64_t seed) {
    dob_net *net = NULL;
    int y;
    if (dob_net_create(&net, c->in_ndim, c->in_dims) != DOB_OK) return NULL;
    dob_dense_cfg cfg = {.out_features = OUT, .bias = c->bias, .w_init = {DOB_INIT_UNIFORM, -0.5f, 0.5f},
                         .b_init = {DOB_INIT_UNIFORM, -0.5f, 0.5f}, .act = c->act};
    if (dob_net_dense(net, "fc", dob_net_input(net), &cfg, &y) != DOB_OK || dob_net_alloc(net) != DOB_OK) {
        fprintf(stderr, "\n    make_net: %s\n", dob_last_error());
        dob_net_destroy(net);
        return NULL;
    }
    dob_arena_init(dob_net_arena(net), seed);
    dob_net_set_input_grad(net, input_grad);
    if (dob_net_build(net, batch) != DOB_OK) {
        fprintf(stderr, "\n    make_net: %s\n", dob_last_error());
        dob_net_destroy(net);
        return NULL;
    }
    return net;
}

static int64_t in_features(const dense_case *c) {
    int64_t f = 1;
    for (int i = 0; i < c->in_ndim; i++) f *= c->in_dims[i];
    return f;
}

/* ---- the table-driven checks (layer_fx.h): forward against the reference, gradients, overwrite; batch 3, 5 ---- */
static dob_dense_cfg cfg_of(const dense_case *c) {
    return (dob_dense_cfg){.out_features = OUT, .bias = c->bias, .w_init = {DOB_INIT_UNIFORM, -0.5f, 0.5f},
                           .b_init = {DOB_INIT_UNIFORM, -0.5f, 0.5f}, .act = c->act};
}

static dob_status add_dense(dob_net *net, int in, const void *cfg, int *out) {
    return dob_net_dense(net, "fc", in, cfg, out);
}

static void ref_forward(const void *cfg, dob_net *net, float *y) {
    const dob_dense_cfg *c = cfg;
    dob_tensor *x = dob_net_input_tensor(net);
    dob_arena *a = dob_net_arena(net);
    const int64_t n = x->dims[0], f = (int64_t)x->count / n;
    ref_dense_forward(x->data, dob_arena_param(a, 0), c->bias ? dob_arena_param(a, 1) : NULL, n, f, OUT, c->act, y,
                      NULL);
}

/* Move ReLU pre-activations away from the kink so finite differences do not cross it: nudge the bias of any
 * output whose |z| < gap in some example (only possible with a bias; otherwise re-draw the input). */
static void keep_away_from_kink(const void *cfg, dob_net *net) {
    const dob_dense_cfg *c = cfg;
    const double gap = 0.05;
    if (c->act != DOB_ACT_RELU) return;
    dob_tensor *x = dob_net_input_tensor(net);
    int64_t n = x->dims[0], f = (int64_t)x->count / n;
    float *w = dob_arena_param(dob_net_arena(net), 0), *b = c->bias ? dob_arena_param(dob_net_arena(net), 1) : NULL;
    float *y = malloc((size_t)(n * OUT) * sizeof *y);
    double *z = malloc((size_t)(n * OUT) * sizeof *z);
    for (int round = 0; round < 50; round++) {
        ref_dense_forward(x->data, w, b, n, f, OUT, c->act, y, z);
        int bad = 0;
        for (int64_t i = 0; i < n * OUT; i++) {
            if (fabs(z[i]) >= gap) continue;
            bad = 1;
            if (b)
                b[i % OUT] += (float)(2 * gap);
            else
                tc_fill(x->data, x->count, 17, (uint64_t)round + 100, -1.0f, 1.0f);
            break;
        }
        if (!bad) break;
    }
    free(y);
    free(z);
}

static void test_table(void) {
    for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++) {
        const dense_case *c = &cases[ci];
        const dob_dense_cfg cfg = cfg_of(c);
        char name[48];
        snprintf(name, sizeof name, "dense case %zu", ci);
        tc_layer_case row = {.name = name, .in_ndim = c->in_ndim, .cfg = &cfg, .add = add_dense,
                             .ref = ref_forward, .prepare = keep_away_from_kink, .fwd_tol = 1e-5,
                             .gc = {.eps = 1e-3, .tol = 5e-3, .training = 1}, .seed = 42 + ci};
        memcpy(row.in_dims, c->in_dims, sizeof c->in_dims);
        tc_layer_run(&row);
    }
}

/* Backward against the reference, for a dense reading the net input (no input gradient: bwd-data is skipped)
 * and with an input gradient; both must give the same weight and bias gradients. */
static void test_backward_ref(void) {
    for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++) {
        const dense_case *c = &cases[ci];
        for (int ig = 0; ig < 2; ig++) {
            dob_net *net = make_net(c, ig, 3, 11 + ci);
            CU_ASSERT_PTR_NOT_NULL_FATAL(net);
            dob_arena *a = dob_net_arena(net);
            dob_tensor *x = dob_net_input_tensor(net), *y = dob_net_output(net);
            int64_t f = in_features(c);
            tc_fill(x->data, x->count, 3, ci, -1.0f, 1.0f);
            TC_ASSERT_OK(dob_net_forward(net, 1));
            tc_fill(y->diff, y->count, 4, ci, -1.0f, 1.0f);
            TC_ASSERT_OK(dob_net_backward(net));
            CU_ASSERT_EQUAL(x->diff == NULL, ig == 0);
            float *dx = malloc(x->count * sizeof *dx), *dw = malloc((size_t)(OUT * f) * sizeof *dw), db[OUT];
            ref_dense_backward(x->data, dob_arena_param(a, 0), y->data, y->diff, 3, f, OUT, c->act, dx, dw, db);
            char what[64];
            snprintf(what, sizeof what, "dense dW case %zu input_grad %d", ci, ig);
            TC_ASSERT_CLOSE(what, dob_arena_grad(a, 0), dw, (size_t)(OUT * f), 1e-5);
            if (c->bias) TC_ASSERT_CLOSE("dense db", dob_arena_grad(a, 1), db, OUT, 1e-5);
            if (ig) TC_ASSERT_CLOSE("dense dx", x->diff, dx, x->count, 1e-5);
            free(dx);
            free(dw);
            dob_net_destroy(net);
        }
    }
}

/* Two stacked dense layers (784 -> 100 ReLU -> 10) at batch 16: the first layer's input is the net input, so it
 * runs without bwd-data; its weight gradient must still match the chain rule through the second layer. */
static void test_stacked(void) {
    dob_net *net;
    int h, y;
    TC_ASSERT_OK(dob_net_create(&net, 3, (int64_t[]){1, 28, 28}));
    dob_dense_cfg c1 = {.out_features = 100, .bias = 1, .w_init = {DOB_INIT_TRUNC_NORMAL, 0.0f, 0.03f},
                        .b_init = {DOB_INIT_CONST, 0.05f, 0}, .act = DOB_ACT_RELU};
    dob_dense_cfg c2 = {.out_features = 10, .bias = 1, .w_init = {DOB_INIT_GLOROT_UNIFORM, 0, 0},
                        .b_init = {DOB_INIT_ZEROS, 0, 0}, .l2 = 1};
    TC_ASSERT_OK(dob_net_dense(net, "fc1", 0, &c1, &h));
    TC_ASSERT_OK(dob_net_dense(net, "fc2", h, &c2, &y));
    TC_ASSERT_OK(dob_net_alloc(net));
    dob_arena *a = dob_net_arena(net);
    CU_ASSERT_EQUAL(dob_arena_param_count(a), 784 * 100 + 100 + 100 * 10 + 10);
    CU_ASSERT_STRING_EQUAL(dob_arena_info(a, 0)->name, "fc1/weights");
    CU_ASSERT(dob_arena_info(a, 0)->dims[0] == 100 && dob_arena_info(a, 0)->dims[1] == 784);
    CU_ASSERT(dob_arena_info(a, 0)->fan_in == 784 && dob_arena_info(a, 0)->fan_out == 100);
    CU_ASSERT_EQUAL(dob_arena_info(a, 0)->flags, 0u);
    CU_ASSERT_EQUAL(dob_arena_info(a, 2)->flags, (unsigned)DOB_PARAM_L2);
    CU_ASSERT_STRING_EQUAL(dob_arena_info(a, 3)->name, "fc2/bias");
    dob_arena_init(a, 5);
    TC_ASSERT_OK(dob_net_build(net, 16));
    dob_tensor *x = dob_net_input_tensor(net), *ht = dob_net_tensor(net, h), *yt = dob_net_output(net);
    tc_fill(x->data, x->count, 6, 0, 0.0f, 1.0f);
    TC_ASSERT_OK(dob_net_forward(net, 1));
    tc_fill(yt->diff, yt->count, 6, 1, -1.0f, 1.0f);
    TC_ASSERT_OK(dob_net_backward(net));
    /* reference: dh from fc2, then fc1's grads from dh */
    float *hr = malloc(ht->count * sizeof *hr), *dh = malloc(ht->count * sizeof *dh);
    float *dw1 = malloc(784 * 100 * sizeof *dw1), db1[100], dw2[1000], db2[10];
    ref_dense_forward(x->data, dob_arena_param(a, 0), dob_arena_param(a, 1), 16, 784, 100, DOB_ACT_RELU, hr, NULL);
    TC_ASSERT_CLOSE("fc1 out", ht->data, hr, ht->count, 1e-5);
    ref_dense_backward(ht->data, dob_arena_param(a, 2), yt->data, yt->diff, 16, 100, 10, DOB_ACT_NONE, dh, dw2, db2);
    TC_ASSERT_CLOSE("fc2 dW", dob_arena_grad(a, 2), dw2, 1000, 1e-5);
    TC_ASSERT_CLOSE("fc2 db", dob_arena_grad(a, 3), db2, 10, 1e-5);
    TC_ASSERT_CLOSE("fc2 dx", ht->diff, dh, ht->count, 1e-5);
    ref_dense_backward(x->data, dob_arena_param(a, 0), ht->data, dh, 16, 784, 100, DOB_ACT_RELU, NULL, dw1, db1);
    TC_ASSERT_CLOSE("fc1 dW", dob_arena_grad(a, 0), dw1, 78400, 1e-5);
    TC_ASSERT_CLOSE("fc1 db", dob_arena_grad(a, 1), db1, 100, 1e-5);
    CU_ASSERT(tc_overwrite_check(net, "stacked dense"));
    free(hr);
    free(dh);
    free(dw1);
    dob_net_destroy(net);
}

static void test_errors(void) {
    dob_net *net;
    TC_ASSERT_OK(dob_net_create(&net, 3, (int64_t[]){2, 3, 3}));
    dob_dense_cfg c = {.out_features = 0, .bias = 1};
    TC_ASSERT_FAILS(dob_net_dense(net, "fc", 0, &c, NULL), DOB_EINVAL, "layer fc (dense): out_features must be > 0, "
                                                                       "found 0");
    c.out_features = -4;
    TC_ASSERT_FAILS(dob_net_dense(net, "fc", 0, &c, NULL), DOB_EINVAL, "out_features must be > 0, found -4");
    c.out_features = 3;
    c.act = DOB_ACT_LRELU;
    TC_ASSERT_FAILS(dob_net_dense(net, "fc", 0, &c, NULL), DOB_EINVAL, "found kind 4");
    c.act = (dob_act_kind)99;
    TC_ASSERT_FAILS(dob_net_dense(net, "fc", 0, &c, NULL), DOB_EINVAL, "fused activation must be");
    /* failed adds leave nothing behind: the name is still free and the arena empty */
    CU_ASSERT_EQUAL(dob_net_layer_count(net), 0);
    CU_ASSERT_EQUAL(dob_arena_tensor_count(dob_net_arena(net)), 0);
    c.act = DOB_ACT_NONE;
    int y;
    TC_ASSERT_OK(dob_net_dense(net, "fc", 0, &c, &y));
    CU_ASSERT_EQUAL(dob_net_tensor(net, y)->dims[1], 3);
    dob_net_destroy(net);
}

static CU_TestInfo tests[] = {
    {"forward_gradcheck_overwrite", test_table}, {"backward_ref", test_backward_ref}, {"stacked", test_stacked},
    {"errors", test_errors},                     CU_TEST_INFO_NULL,
};
CU_SuiteInfo dense_suite = {"dense", NULL, NULL, NULL, NULL, tests};
