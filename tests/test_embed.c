/* test_embed.c: the embedding lookup layer (src/layers/embed.c): forward and the sparse gradient against the
 * naive reference (tests/ref/ref_embed.c) with repeated and absent ids, finite differences, overwrite semantics,
 * bitwise-equal gradients at 1, 2 and 3 OpenMP threads, parameter shape/fans, bad ids and bad configs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "ref/ref_embed.h"
#include "tc.h"

/* input N x T ids -> embed V x E; ids drawn from [0, V - 2] so the last row is never used (its grad must be 0) */
static dob_net *make_net(int64_t n, int64_t t, int64_t v, int64_t e, uint64_t seed) {
    dob_net *net = NULL;
    int y;
    dob_embed_cfg c = {.vocab = v, .dim = e, .init = {DOB_INIT_GLOROT_UNIFORM, 0, 0}};
    if (dob_net_create(&net, 1, (int64_t[]){t}) != DOB_OK ||
        dob_net_embed(net, "embed", dob_net_input(net), &c, &y) != DOB_OK || dob_net_alloc(net) != DOB_OK) {
        fprintf(stderr, "\n    embed net setup failed: %s\n", dob_last_error());
        dob_net_destroy(net);
        return NULL;
    }
    dob_arena_init(dob_net_arena(net), seed);
    if (dob_net_build(net, n) != DOB_OK) {
        dob_net_destroy(net);
        return NULL;
    }
    dob_tensor *x = dob_net_input_tensor(net);
    for (size_t i = 0; i < x->count; i++) x->data[i] = (float)((i * 7 + (size_t)seed) % (size_t)(v - 1));
    return net;
}

static void test_embed_vs_ref(void) {
    const int64_t shapes[][4] = {{3, 5, 7, 4}, {50, 50, 83, 128}, {2, 1, 2, 1}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int64_t n = shapes[s][0], t = shapes[s][1], v = shapes[s][2], e = shapes[s][3];
        dob_net *net = make_net(n, t, v, e, 3 + s);
        CU_ASSERT_PTR_NOT_NULL_FATAL(net);
        dob_tensor *x = dob_net_input_tensor(net), *y = dob_net_output(net);
        dob_arena *a = dob_net_arena(net);
        CU_ASSERT(y->ndim == 3 && y->dims[1] == t && y->dims[2] == e);
        float *want = malloc(y->count * sizeof *want), *dw = malloc((size_t)(v * e) * sizeof *dw);
        TC_ASSERT_OK(dob_net_forward(net, 1));
        ref_embed_forward(x->data, n * t, dob_arena_param(a, 0), e, want);
        TC_ASSERT_CLOSE("embed forward", y->data, want, y->count, 0.0);
        tc_fill(y->diff, y->count, 4, s, -1.0f, 1.0f);
        TC_ASSERT_OK(dob_net_backward(net));
        ref_embed_backward(x->data, n * t, y->diff, v, e, dw);
        TC_ASSERT_CLOSE("embed diff_weights", dob_arena_grad(a, 0), dw, (size_t)(v * e), 1e-5);
        const float *last = dob_arena_grad(a, 0) + (v - 1) * e;
        int zero = 1;
        for (int64_t j = 0; j < e; j++) zero &= last[j] == 0.0f;
        CU_ASSERT(zero); /* a row no id touched */
        if (s == 0) {
            CU_ASSERT_EQUAL(tc_gradcheck(net, (tc_gc_opts){.eps = 1e-2, .tol = 1e-3, .training = 1}, "embed"), 0);
            CU_ASSERT(tc_overwrite_check(net, "embed"));
        }
        free(want);
        free(dw);
        dob_net_destroy(net);
    }
}

/* Rows are summed in position order whatever the thread count: the gradients are bitwise equal. */
static void test_embed_thread_independent(void) {
#ifdef _OPENMP
    const int64_t n = 50, t = 50, v = 83, e = 128;
    dob_net *net = make_net(n, t, v, e, 11);
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    dob_tensor *x = dob_net_input_tensor(net), *y = dob_net_output(net);
    for (size_t i = 0; i < x->count; i++) x->data[i] = (float)(i % 5 == 0 ? 3 : (i * 13) % (size_t)v);
    TC_ASSERT_OK(dob_net_forward(net, 1));
    tc_fill(y->diff, y->count, 4, 9, -1.0f, 1.0f);
    size_t nw = (size_t)(v * e);
    float *g[3];
    int saved = omp_get_max_threads();
    for (int k = 0; k < 3; k++) {
        omp_set_num_threads(k + 1);
        TC_ASSERT_OK(dob_net_backward(net));
        g[k] = malloc(nw * sizeof(float));
        memcpy(g[k], dob_arena_grad(dob_net_arena(net), 0), nw * sizeof(float));
    }
    omp_set_num_threads(saved);
    CU_ASSERT(memcmp(g[0], g[1], nw * sizeof(float)) == 0);
    CU_ASSERT(memcmp(g[0], g[2], nw * sizeof(float)) == 0);
    for (int k = 0; k < 3; k++) free(g[k]);
    dob_net_destroy(net);
#endif
}

static void test_embed_errors(void) {
    dob_net *net = make_net(2, 3, 5, 2, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    const dob_param_info *w = dob_arena_info(dob_net_arena(net), 0);
    CU_ASSERT_STRING_EQUAL(w->name, "embed/embedding");
    CU_ASSERT(w->ndim == 2 && w->dims[0] == 5 && w->dims[1] == 2 && w->fan_in == 5 && w->fan_out == 2);
    CU_ASSERT_FALSE(w->flags & DOB_PARAM_L2); /* DeepOBS never regularises embeddings */
    dob_tensor *x = dob_net_input_tensor(net);
    x->data[4] = 5.0f;
    TC_ASSERT_FAILS(dob_net_forward(net, 1), DOB_EINVAL, "id 5 at position 4 is not an integer in [0, 5)");
    x->data[4] = -1.0f;
    TC_ASSERT_FAILS(dob_net_forward(net, 1), DOB_EINVAL, "id -1 at position 4");
    x->data[4] = 1.5f;
    TC_ASSERT_FAILS(dob_net_forward(net, 0), DOB_EINVAL, "id 1.5 at position 4");
    x->data[4] = NAN;
    TC_ASSERT_FAILS(dob_net_forward(net, 0), DOB_EINVAL, "at position 4 is not an integer");
    x->data[4] = 4.0f;
    TC_ASSERT_OK(dob_net_forward(net, 0));
    TC_ASSERT_FAILS(dob_net_embed(net, "e2", 0, &(dob_embed_cfg){.vocab = 0, .dim = 3}, NULL), DOB_EINVAL,
                    "layer e2 (embed): vocab and dim must be > 0, found 0 and 3");
    TC_ASSERT_FAILS(dob_net_embed(net, "e2", 0, &(dob_embed_cfg){.vocab = 1 << 25, .dim = 3}, NULL), DOB_EINVAL,
                    "above 2^24");
    dob_net_destroy(net);
}

static CU_TestInfo tests[] = {
    {"embed_vs_ref", test_embed_vs_ref},
    {"embed_thread_independent", test_embed_thread_independent},
    {"embed_errors", test_embed_errors},
    CU_TEST_INFO_NULL,
};
CU_SuiteInfo embed_suite = {"embed", NULL, NULL, NULL, NULL, tests};
