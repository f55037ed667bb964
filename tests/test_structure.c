/* test_structure.c: the merge layers (residual add, channel concat) fed by several inputs through
 * tc_multi_input_net: forward against naive loops, finite differences, overwrite, shape errors with their
 * messages; concat of 3 inputs with channel counts 2, 3, 1 at an odd spatial size and batch 3; 2-D concat; a
 * residual stream in conv's blocked layout (add is layout-transparent) and an Inception-like block (concat keeps
 * its inputs' channel blocks when they share them, else is plain) against the all-plain nets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tc.h"

typedef int64_t dims_t[DOB_MAX_DIMS - 1];

/* The multi-input net is built with an input gradient, and its input filled with U[-1, 1). */
static void build_and_fill(dob_net *net, int64_t batch, uint64_t seed) {
    TC_ASSERT_OK(dob_net_alloc(net));
    dob_net_set_input_grad(net, 1);
    TC_ASSERT_OK(dob_net_build(net, batch));
    dob_tensor *x = dob_net_input_tensor(net);
    tc_fill(x->data, x->count, seed, 0, -1.0f, 1.0f);
}

static void check_grads(dob_net *net, const char *what) {
    CU_ASSERT_EQUAL(tc_gradcheck(net, (tc_gc_opts){.eps = 1e-2, .tol = 1e-3, .training = 1}, what), 0);
    CU_ASSERT(tc_overwrite_check(net, what));
}

// ---- add -----------------------------------------------------------------------------------------------

static void test_add_forward_backward(void) {
    const int nd[2] = {3, 3};
    const dims_t dims[2] = {{3, 4, 5}, {3, 4, 5}};
    dob_net *net;
    int ids[2], y;
    TC_ASSERT_OK(tc_multi_input_net(&net, 2, nd, dims, ids));
    TC_ASSERT_OK(dob_net_residual(net, "add", ids[0], ids[1], &y));
    CU_ASSERT_EQUAL(dob_net_tensor(net, y)->ndim, 4);
    CU_ASSERT_EQUAL(dob_net_tensor(net, y)->dims[3], 5);
    build_and_fill(net, 2, 1);
    TC_ASSERT_OK(dob_net_forward(net, 1));
    const dob_tensor *a = dob_net_tensor(net, ids[0]), *b = dob_net_tensor(net, ids[1]), *o = dob_net_output(net);
    float *want = malloc(o->count * sizeof *want);
    for (size_t i = 0; i < o->count; i++) want[i] = a->data[i] + b->data[i];
    TC_ASSERT_CLOSE("add forward", o->data, want, o->count, 0.0);
    free(want);
    check_grads(net, "add");
    /* the derivative is 1 for both inputs: d(sum r y)/dx = r in both slices of the net input */
    dob_tensor *x = dob_net_input_tensor(net), *yt = dob_net_output(net);
    tc_fill(yt->diff, yt->count, 2, 2, -1.0f, 1.0f);
    TC_ASSERT_OK(dob_net_backward(net));
    int ok = 1;
    for (int64_t n = 0; n < 2; n++)
        for (int64_t j = 0; j < 60; j++) {
            float r = yt->diff[n * 60 + j];
            ok &= x->diff[n * 120 + j] == r && x->diff[n * 120 + 60 + j] == r;
        }
    CU_ASSERT(ok);
    dob_net_destroy(net);
}

static void test_add_same_tensor(void) {
    /* y = x + x: the net gives the add's two reads of x two diff buffers and sums them: dy/dx = 2 */
    dob_net *net;
    TC_ASSERT_OK(dob_net_create(&net, 2, (int64_t[]){3, 7}));
    TC_ASSERT_OK(dob_net_residual(net, "twice", 0, 0, NULL));
    build_and_fill(net, 3, 2);
    TC_ASSERT_OK(dob_net_forward(net, 1));
    dob_tensor *x = dob_net_input_tensor(net), *y = dob_net_output(net);
    float *want = malloc(x->count * sizeof *want);
    for (size_t i = 0; i < x->count; i++) want[i] = 2.0f * x->data[i];
    TC_ASSERT_CLOSE("x + x", y->data, want, x->count, 0.0);
    check_grads(net, "x + x");
    free(want);
    dob_net_destroy(net);
}

/* A residual stream (16 channels: whole blocks on every ISA, see test_conv.c), input x 16 x 6 x 6:
 *   t1 = conv_a(x); t4 = conv_b(relu(bn(t1))); t5 = t4 + t1; t6 = x + t5; out = conv_c(t6) (5 channels)
 * t1 fans out into bn and an add; t5 adds two blocked tensors; t6 a plain one (the input) to a blocked one, so its
 * out takes input 1's layout and the diff of input 0 is reordered back to plain. Returns the net after a forward
 * and backward, ids[] = t1, t4, t5, t6. */
static dob_net *residual_net(int propagate, int *ids) {
    const dob_conv_cfg c = {16, 3, 3, 1, 1, DOB_PAD_SAME, 1, {DOB_INIT_GLOROT_UNIFORM, 0, 0},
                            {DOB_INIT_CONST, 0.05f, 0}, 0, DOB_ACT_NONE};
    dob_conv_cfg c5 = c;
    c5.out_channels = 5;
    dob_net *net = NULL;
    int y;
    if (dob_net_create(&net, 3, (int64_t[]){16, 6, 6}) != DOB_OK ||
        dob_net_conv(net, "conv_a", 0, &c, &ids[0]) != DOB_OK ||
        dob_net_bnorm(net, "bn", ids[0], &(dob_bnorm_cfg){0.9f, 1e-3f, 0}, &y) != DOB_OK ||
        dob_net_act(net, "relu", y, &(dob_act_cfg){DOB_ACT_RELU, 0}, &y) != DOB_OK ||
        dob_net_conv(net, "conv_b", y, &c, &ids[1]) != DOB_OK ||
        dob_net_residual(net, "add1", ids[1], ids[0], &ids[2]) != DOB_OK ||
        dob_net_residual(net, "add2", 0, ids[2], &ids[3]) != DOB_OK ||
        dob_net_conv(net, "conv_c", ids[3], &c5, &y) != DOB_OK || dob_net_alloc(net) != DOB_OK)
        goto fail;
    dob_arena_init(dob_net_arena(net), 90);
    if (tc_layout_pass(net, propagate, 1, 4, 91) != DOB_OK) goto fail;
    return net;
fail:
    fprintf(stderr, "\n    residual_net: %s\n", dob_last_error());
    dob_net_destroy(net);
    return NULL;
}

static void test_add_blocked(void) {
    int ia[4], ib[4];
    dob_net *a = residual_net(1, ia), *b = residual_net(0, ib);
    CU_ASSERT_FATAL(a && b);
    tc_check_against_plain(a, b, ia, ib, 4, (const int[]){1, 1, 1, 1}, "residual, blocked");
    dob_net_destroy(a);
    dob_net_destroy(b);
}

static void test_add_shape_errors(void) {
    const int nd[3] = {3, 3, 1};
    const dims_t dims[3] = {{3, 4, 5}, {3, 4, 6}, {60}};
    dob_net *net;
    int ids[3];
    TC_ASSERT_OK(tc_multi_input_net(&net, 3, nd, dims, ids));
    TC_ASSERT_FAILS(dob_net_residual(net, "res", ids[0], ids[1], NULL), DOB_EINVAL,
                    "layer res (add): add needs identical input shapes, found 3x4x5 and 3x4x6 (per example)");
    TC_ASSERT_FAILS(dob_net_residual(net, "res", ids[0], ids[2], NULL), DOB_EINVAL, "found 3x4x5 and 60");
    const int three[3] = {ids[0], ids[0], ids[0]};
    TC_ASSERT_FAILS(dob_net_add(net, &dob_add_ops, "res", NULL, 0, 3, three, NULL), DOB_EINVAL,
                    "add expects 2 inputs, found 3");
    TC_ASSERT_FAILS(dob_net_residual(net, "res", ids[0], 42, NULL), DOB_EINVAL, "does not exist");
    dob_net_destroy(net);
}

// ---- concat --------------------------------------------------------------------------------------------

/* Naive concat along dim 1 of n inputs [N, C_i, S] into [N, sum C_i, S]. */
static void concat_ref(dob_net *net, int n, const int *ids, float *out) {
    int64_t N = dob_net_tensor(net, ids[0])->dims[0], ctot = 0, S = 1;
    const dob_tensor *t0 = dob_net_tensor(net, ids[0]);
    for (int d = 2; d < t0->ndim; d++) S *= t0->dims[d];
    for (int i = 0; i < n; i++) ctot += dob_net_tensor(net, ids[i])->dims[1];
    for (int64_t b = 0; b < N; b++) {
        int64_t coff = 0;
        for (int i = 0; i < n; i++) {
            const dob_tensor *t = dob_net_tensor(net, ids[i]);
            int64_t C = t->dims[1];
            for (int64_t c = 0; c < C; c++)
                for (int64_t s = 0; s < S; s++)
                    out[(b * ctot + coff + c) * S + s] = t->data[(b * C + c) * S + s];
            coff += C;
        }
    }
}

static void concat_case(int n, const int *nd, const dims_t *dims, int64_t batch, const int64_t *want_dims,
                        const char *what) {
    dob_net *net;
    int ids[DOB_LAYER_MAX_IN], y;
    TC_ASSERT_OK(tc_multi_input_net(&net, n, nd, dims, ids));
    TC_ASSERT_OK(dob_net_concat(net, "cat", n, ids, &y));
    const dob_tensor *o = dob_net_tensor(net, y);
    CU_ASSERT_EQUAL(o->ndim, nd[0] + 1);
    for (int d = 0; d < nd[0]; d++) CU_ASSERT_EQUAL(o->dims[d + 1], want_dims[d]);
    build_and_fill(net, batch, 3);
    TC_ASSERT_OK(dob_net_forward(net, 1));
    float *want = malloc(o->count * sizeof *want);
    concat_ref(net, n, ids, want);
    TC_ASSERT_CLOSE(what, o->data, want, o->count, 0.0);
    free(want);
    check_grads(net, what);
    dob_net_destroy(net);
}

static void test_concat_4d(void) {
    const int nd[3] = {3, 3, 3};
    const dims_t dims[3] = {{2, 5, 7}, {3, 5, 7}, {1, 5, 7}};
    concat_case(3, nd, dims, 3, (const int64_t[]){6, 5, 7}, "concat 2+3+1 channels, 5x7, batch 3");
    const dims_t dims2[2] = {{4, 3, 3}, {4, 3, 3}};
    concat_case(2, nd, dims2, 1, (const int64_t[]){8, 3, 3}, "concat 4+4 channels, 3x3, batch 1");
}

static void test_concat_2d(void) {
    const int nd[2] = {1, 1};
    const dims_t dims[2] = {{4}, {6}};
    concat_case(2, nd, dims, 3, (const int64_t[]){10}, "concat 2-D 4+6 features, batch 3");
    const int nd1[1] = {1};
    const dims_t dims1[1] = {{5}};
    concat_case(1, nd1, dims1, 2, (const int64_t[]){5}, "concat of a single input");
}

static void test_concat_shape_errors(void) {
    const int nd[4] = {3, 3, 2, 1};
    const dims_t dims[4] = {{2, 5, 7}, {3, 5, 6}, {2, 35}, {2}};
    dob_net *net;
    int ids[4];
    TC_ASSERT_OK(tc_multi_input_net(&net, 4, nd, dims, ids));
    TC_ASSERT_FAILS(dob_net_concat(net, "cat", 2, (const int[]){ids[0], ids[1]}, NULL), DOB_EINVAL,
                    "layer cat (concat): concat along dim 1 needs the other dims equal: input 0 is 2x5x7, input 1 "
                    "is 3x5x6 (per example)");
    TC_ASSERT_FAILS(dob_net_concat(net, "cat", 3, (const int[]){ids[0], ids[0], ids[2]}, NULL), DOB_EINVAL,
                    "input 0 is 2x5x7, input 2 is 2x35");
    TC_ASSERT_FAILS(dob_net_concat(net, "cat", 2, (const int[]){ids[3], ids[2]}, NULL), DOB_EINVAL,
                    "input 0 is 2, input 1 is 2x35");
    TC_ASSERT_FAILS(dob_net_concat(net, "cat", 0, ids, NULL), DOB_EINVAL, "expected 1..8 inputs, found 0");
    dob_net_destroy(net);
}

/* An Inception-like block in conv's blocked layout (16 channels: whole blocks on every ISA), input x 16 x 6 x 6:
 *   t1 = conv_a(x); t2 = conv_b(tanh(bn(t1))); t3 = conv_c(t1); c1 = concat(t2, t3, t1, t1, t1)  (80 channels)
 *   p = avg_pool_3x3_same(c1); c2 = concat(x, p, c1); out = conv_d(c2)  (5 channels)
 * c1's inputs all come blocked, so c1 is blocked too (no reorder); c2 mixes the plain input with blocked tensors,
 * so it is plain and p's and c1's diffs are reordered from their windows of c2's diff. t1 has 5 readers (the
 * diff sum's pass of 4 then a pass of 2), c1 and x have 2. Returns the net after a forward and backward,
 * ids[] = t1, t2, t3, c1, p, c2. */
enum { CAT_IDS = 6 };
static dob_net *inception_net(int propagate, int *ids) {
    const dob_conv_cfg c = {16, 3, 3, 1, 1, DOB_PAD_SAME, 1, {DOB_INIT_GLOROT_UNIFORM, 0, 0},
                            {DOB_INIT_CONST, 0.05f, 0}, 0, DOB_ACT_NONE};
    dob_conv_cfg c5 = c;
    c5.out_channels = 5;
    const dob_pool_cfg pool = {DOB_POOL_AVG, 3, 3, 1, 1, DOB_PAD_SAME};
    dob_net *net = NULL;
    int y;
    if (dob_net_create(&net, 3, (int64_t[]){16, 6, 6}) != DOB_OK ||
        dob_net_conv(net, "conv_a", 0, &c, &ids[0]) != DOB_OK ||
        dob_net_bnorm(net, "bn", ids[0], &(dob_bnorm_cfg){0.9f, 1e-3f, 0}, &y) != DOB_OK ||
        dob_net_act(net, "tanh", y, &(dob_act_cfg){DOB_ACT_TANH, 0}, &y) != DOB_OK ||
        dob_net_conv(net, "conv_b", y, &c, &ids[1]) != DOB_OK ||
        dob_net_conv(net, "conv_c", ids[0], &c, &ids[2]) != DOB_OK ||
        dob_net_concat(net, "cat1", 5, (const int[]){ids[1], ids[2], ids[0], ids[0], ids[0]}, &ids[3]) != DOB_OK ||
        dob_net_pool(net, "pool", ids[3], &pool, &ids[4]) != DOB_OK ||
        dob_net_concat(net, "cat2", 3, (const int[]){0, ids[4], ids[3]}, &ids[5]) != DOB_OK ||
        dob_net_conv(net, "conv_d", ids[5], &c5, &y) != DOB_OK || dob_net_alloc(net) != DOB_OK)
        goto fail;
    dob_arena_init(dob_net_arena(net), 92);
    if (tc_layout_pass(net, propagate, 1, 3, 93) != DOB_OK) goto fail;
    return net;
fail:
    fprintf(stderr, "\n    inception_net: %s\n", dob_last_error());
    dob_net_destroy(net);
    return NULL;
}

static void test_concat_blocked(void) {
    int ia[CAT_IDS], ib[CAT_IDS];
    dob_net *a = inception_net(1, ia), *b = inception_net(0, ib);
    CU_ASSERT_FATAL(a && b);
    /* everything up to the pool stays blocked; the mixed concat c2 is plain */
    tc_check_against_plain(a, b, ia, ib, CAT_IDS, (const int[]){1, 1, 1, 1, 1, 0}, "concat, blocked");
    /* the plain net against finite differences: the 5-way and 2-way diff sums, the concat windows */
    CU_ASSERT_EQUAL(tc_gradcheck(b, (tc_gc_opts){.eps = 1e-2, .tol = 2e-3, .training = 1}, "inception block"), 0);
    dob_net_destroy(a);
    dob_net_destroy(b);
}

static CU_TestInfo tests[] = {
    {"add_forward_backward", test_add_forward_backward},
    {"add_same_tensor", test_add_same_tensor},
    {"add_shape_errors", test_add_shape_errors},
    {"add_blocked", test_add_blocked},
    {"concat_4d", test_concat_4d},
    {"concat_2d", test_concat_2d},
    {"concat_shape_errors", test_concat_shape_errors},
    {"concat_blocked", test_concat_blocked},
    CU_TEST_INFO_NULL,
};
CU_SuiteInfo structure_suite = {"structure", NULL, NULL, NULL, NULL, tests};
