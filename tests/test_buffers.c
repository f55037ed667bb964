/* test_buffers.c: the activation buffers of a build (src/net_mem.c): diff buffers shared by liveness give bitwise
 * the gradients of one buffer per diff, on every problem's architecture, and use less memory. */
#include <stdlib.h>
#include <string.h>

#include "dob/layers.h"
#include "dob/problem.h"
#include "tc.h"

/* One problem per architecture: a problem whose build function an earlier one has (mnist_* = fmnist_*, the
 * cifar100/svhn twins) adds nothing, and the VGG nets are one plain chain in four sizes (~1-2 s each at 224x224):
 * cifar10_vgg16 stands for them. */
static int tested(int i) {
    const dob_problem_spec *p = dob_problem_at(i);
    for (int k = 0; k < i; k++)
        if (dob_problem_at(k)->build == p->build) return 0;
    return !strstr(p->name, "vgg") || !strcmp(p->name, "cifar10_vgg16");
}

/* One training forward + backward of problem p at batch 2 from fixed parameters, input and output diff, with the
 * diff buffers shared by liveness or not: *grads (malloc'd) gets the parameter grads, *bytes the activation
 * buffers. Sequence problems get character ids as input. */
static void grads_of(const dob_problem_spec *p, int reuse, float **grads, size_t *n, size_t *bytes) {
    dob_net *net;
    *grads = NULL;
    TC_ASSERT_OK(dob_problem_net(p, &net));
    dob_arena *a = dob_net_arena(net);
    dob_arena_init(a, 7);
    dob_net_set_buffer_reuse(net, reuse);
    dob_net_set_context(net, (dob_net_ctx){.seed = 7, .step = 3});
    TC_ASSERT_OK(dob_net_build(net, 2));
    dob_tensor *x = dob_net_input_tensor(net), *y = dob_net_output(net);
    tc_fill(x->data, x->count, 11, 0, 0.0f, 1.0f);
    if (p->loss == DOB_LOSS_SEQ_SOFTMAX_CE)
        for (size_t i = 0; i < x->count; i++) x->data[i] = (float)(i * 7 % (size_t)p->n_classes);
    TC_ASSERT_OK(dob_net_forward(net, 1));
    tc_fill(y->diff, y->count, 11, 1, -1.0f, 1.0f);
    TC_ASSERT_OK(dob_net_backward(net));
    *n = dob_arena_size(a);
    *bytes = dob_net_buffer_bytes(net);
    *grads = malloc(*n * sizeof(float));
    CU_ASSERT_PTR_NOT_NULL_FATAL(*grads);
    memcpy(*grads, dob_arena_grads(a), *n * sizeof(float));
    dob_net_destroy(net);
}

/* Sharing diff buffers by liveness (src/net_mem.c) changes where gradients live, never their values: every
 * architecture's parameter grads are bitwise those of one buffer per diff, and the sharing saves memory where
 * there is depth to share. */
static void test_problems_reuse(void) {
    for (int i = 0; i < dob_problem_count(); i++) {
        const dob_problem_spec *p = dob_problem_at(i);
        if (!tested(i)) continue;
        float *g0, *g1;
        size_t n0, n1, b0, b1;
        grads_of(p, 0, &g0, &n0, &b0);
        grads_of(p, 1, &g1, &n1, &b1);
        CU_ASSERT_FATAL(g0 && g1 && n0 == n1);
        int same = memcmp(g0, g1, n0 * sizeof(float)) == 0;
        if (!same || getenv("DOB_TEST_VERBOSE"))
            printf("\n    %s: grads %s, activation buffers %zu -> %zu bytes", p->name, same ? "equal" : "DIFFER",
                   b0, b1);
        CU_ASSERT(same);
        CU_ASSERT(b1 <= b0);
        if (!strcmp(p->name, "fmnist_2c2d") || !strcmp(p->name, "imagenet_inception_v3")) CU_ASSERT(b1 < b0);
        free(g0);
        free(g1);
    }
}

static CU_TestInfo tests[] = {
    {"problems_grads_equal", test_problems_reuse},
    CU_TEST_INFO_NULL,
};
CU_SuiteInfo buffers_suite = {"buffers", NULL, NULL, NULL, NULL, tests};
