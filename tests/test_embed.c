/* test_embed.c: the embedding lookup layer (src/layers/embed.c). A table of layer_fx rows (layer_fx.h; three
 * shapes, two batch sizes each, ids with repeats and an absent row): forward and the sparse gradient against the
 * naive reference (tests/ref/ref_embed.c), finite differences of the embedding, overwrite semantics. Focused tests:
 * the output shape and an exact zero gradient for the unused row, bitwise-equal gradients at 1, 2 and 3 OpenMP
 * threads, parameter shape/fans, bad ids and bad configs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "layer_fx.h"
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

/* ---- the table (layer_fx.h): forward and the sparse gradient against the reference (repeated and absent ids),
 * finite differences of the embedding, overwrite; the ids have no gradient ------------------------------------ */
static dob_status add_embed(dob_net *net, int in, const void *cfg, int *out) {
    return dob_net_embed(net, "embed", in, cfg, out);
}

/* ids from [0, V - 2] with repeats: the last row is never used */
static void setup_ids(const void *cfg, dob_net *net) {
    const dob_embed_cfg *c = cfg;
    dob_tensor *x = dob_net_input_tensor(net);
    for (size_t i = 0; i < x->count; i++) x->data[i] = (float)((i * 7 + 3) % (size_t)(c->vocab - 1));
}

static void ref_forward(const void *cfg, dob_net *net, float *y) {
    const dob_embed_cfg *c = cfg;
    const dob_tensor *x = dob_net_input_tensor(net);
    ref_embed_forward(x->data, (int64_t)x->count, dob_arena_param(dob_net_arena(net), 0), c->dim, y);
}

static void ref_backward(const void *cfg, dob_net *net, const float *dy, float *dx, float *dp) {
    (void)dx; /* ids: no gradient */
    const dob_embed_cfg *c = cfg;
    const dob_tensor *x = dob_net_input_tensor(net);
    float *dw = dp + dob_arena_info(dob_net_arena(net), 0)->offset;
    ref_embed_backward(x->data, (int64_t)x->count, dy, c->vocab, c->dim, dw);
}

#define EMBED_ROW(label, t, v, e, n0, n1)                                                                          \
    {.name = "embed " label, .in_ndim = 1, .in_dims = {t},                                                        \
     .cfg = &(const dob_embed_cfg){.vocab = v, .dim = e, .init = {DOB_INIT_GLOROT_UNIFORM, 0, 0}},                \
     .add = add_embed, .ref = ref_forward, .ref_backward = ref_backward, .setup = setup_ids, .fwd_tol = 0.0,      \
     .bwd_tol = 1e-5, .gc = {.eps = 1e-2, .tol = 1e-3, .training = 1}, .input_fixed = 1, .batch = {n0, n1},     \
     .seed = 3}
static const tc_layer_case rows[] = {
    EMBED_ROW("T 5, V 7, E 4", 5, 7, 4, 3, 5),
    EMBED_ROW("T 50, V 83, E 128", 50, 83, 128, 50, 51),
    EMBED_ROW("T 1, V 2, E 1", 1, 2, 1, 2, 3),
};

static void test_embed_table(void) { tc_layer_run_all(rows, sizeof rows / sizeof *rows); }

/* The output is N,T,E, and an embedding row no id touches gets an exact zero gradient. */
static void test_embed_shape_unused_row(void) {
    const int64_t shapes[][4] = {{3, 5, 7, 4}, {50, 50, 83, 128}, {2, 1, 2, 1}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int64_t n = shapes[s][0], t = shapes[s][1], v = shapes[s][2], e = shapes[s][3];
        dob_net *net = make_net(n, t, v, e, 3 + s);
        CU_ASSERT_PTR_NOT_NULL_FATAL(net);
        dob_tensor *y = dob_net_output(net);
        CU_ASSERT(y->ndim == 3 && y->dims[0] == n && y->dims[1] == t && y->dims[2] == e);
        TC_ASSERT_OK(dob_net_forward(net, 1));
        tc_fill(y->diff, y->count, 4, s, -1.0f, 1.0f);
        TC_ASSERT_OK(dob_net_backward(net));
        const float *last = dob_arena_grad(dob_net_arena(net), 0) + (v - 1) * e;
        int zero = 1;
        for (int64_t j = 0; j < e; j++) zero &= last[j] == 0.0f;
        CU_ASSERT(zero);
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
    {"embed_table", test_embed_table},
    {"embed_shape_unused_row", test_embed_shape_unused_row},
    {"embed_thread_independent", test_embed_thread_independent},
    {"embed_errors", test_embed_errors},
    CU_TEST_INFO_NULL,
};
CU_SuiteInfo embed_suite = {"embed", NULL, NULL, NULL, NULL, tests};
