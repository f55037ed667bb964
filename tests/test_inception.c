/* test_inception.c: imagenet_inception_v3 (problems/inception_v3.c): DeepOBS's parameter count (27 164 082 in 292
 * trainable tensors, 24 307 040 of them conv kernels in the L2 term), the shapes §3.8 gives after each stage, one
 * training forward + backward at batch 2 on synthetic input (finite logits, loss and gradients; every trainable
 * tensor gets a gradient; the inference forward is deterministic and the aux head's logits then carry no loss),
 * and (suite inception_golden, label long) golden losses after 5 SGD steps at batch 2 on synthetic 224x224 input
 * and on the tiny JPEG tree of tests/gen_imagenet.py, both layouts.
 * Inception-v3 costs ~17 GFLOP per example and training step at 299x299, so batch 2 keeps the suite to seconds. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dob/layer.h"
#include "problem_fx.h"
#include "tc.h"

#define INC_BS 2

static const dob_problem_spec *spec(void) { return dob_problem_find("imagenet_inception_v3"); }

/* the layer named name, or NULL */
static dob_layer *layer(dob_net *net, const char *name) {
    for (int i = 0; i < dob_net_layer_count(net); i++)
        if (!strcmp(dob_net_layer(net, i)->name, name)) return dob_net_layer(net, i);
    return NULL;
}

/* layer `name`'s output is c x h x w */
static void assert_chw(dob_net *net, const char *name, int64_t c, int64_t h, int64_t w) {
    const dob_layer *l = layer(net, name);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    const dob_tensor *t = l->out;
    int ok = t->ndim == 4 && t->dims[1] == c && t->dims[2] == h && t->dims[3] == w;
    if (!ok)
        fprintf(stderr, "\n    %s: %lldx%lldx%lld, expected %lldx%lldx%lld\n", name, (long long)t->dims[1],
                (long long)(t->ndim > 2 ? t->dims[2] : 0), (long long)(t->ndim > 3 ? t->dims[3] : 0), (long long)c,
                (long long)h, (long long)w);
    CU_ASSERT(ok);
}

static void test_counts_and_shapes(void) {
    const dob_problem_spec *p = spec();
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    dob_net *net;
    int logits;
    TC_ASSERT_OK(dob_net_create(&net, p->in_ndim, p->in_dims)); /* reserved, never allocated */
    TC_ASSERT_OK(p->build(net, &logits));
    dob_arena *a = dob_net_arena(net);
    size_t all = 0, l2 = 0;
    int tensors = 0;
    for (int k = 0; k < dob_arena_tensor_count(a); k++) {
        const dob_param_info *t = dob_arena_info(a, k);
        if (t->flags & DOB_PARAM_BUFFER) continue; /* BN moving statistics: not trainable variables */
        tensors++;
        all += t->count;
        if (t->flags & DOB_PARAM_L2) l2 += t->count;
    }
    CU_ASSERT_EQUAL(all, 27164082);
    CU_ASSERT_EQUAL((size_t)p->n_params, all);
    CU_ASSERT_EQUAL(tensors, 292);
    CU_ASSERT_EQUAL(l2, 24307040);
    assert_chw(net, "resize", 3, 299, 299);
    assert_chw(net, "stem/a/conv0/bn", 32, 149, 149);
    assert_chw(net, "stem/b/pool", 192, 35, 35);
    assert_chw(net, "block5a/concat", 256, 35, 35);
    assert_chw(net, "block5b_1/concat", 288, 35, 35);
    assert_chw(net, "block10/concat", 768, 17, 17);
    assert_chw(net, "block6c/concat", 768, 17, 17);
    assert_chw(net, "aux_head/pool", 768, 5, 5);
    assert_chw(net, "aux_head/head/conv1/bn", 768, 1, 1);
    assert_chw(net, "blockD/concat", 1280, 8, 8);
    assert_chw(net, "block7_1/concat", 2048, 8, 8);
    assert_chw(net, "output/pool", 2048, 1, 1);
    const dob_layer *drop = layer(net, "output/dropout");
    CU_ASSERT_PTR_NOT_NULL_FATAL(drop);
    CU_ASSERT_EQUAL(((const dob_dropout_cfg *)drop->cfg)->rate, 0.8f); /* DeepOBS's literal drop rate */
    const dob_tensor *y = dob_net_tensor(net, logits);
    CU_ASSERT(y->ndim == 2 && y->dims[1] == 2 * 1001); /* [main | aux] */
    CU_ASSERT_EQUAL(dob_loss_pred_width(p->loss, p->n_classes), 2 * 1001);
    dob_net_destroy(net);
}

/* 1 if every x[0..n) is finite */
static int all_finite(const float *x, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}

/* Training forward + backward at batch 2 on synthetic input, then an inference forward twice. */
static void test_forward_backward(void) {
    const dob_problem_spec *p = spec();
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    const int64_t K = p->n_classes;
    dob_net *net;
    TC_ASSERT_OK(dob_problem_net(p, &net));
    dob_arena *a = dob_net_arena(net);
    dob_arena_init(a, 42);
    TC_ASSERT_OK(dob_net_build(net, INC_BS));
    dob_tensor *x = dob_net_input_tensor(net), *y = dob_net_output(net);
    tc_fill(x->data, x->count, 7, 0, -1.5f, 1.5f); /* standardised crops */
    float t[INC_BS * 1001] = {0}, loss[INC_BS];
    t[3] = t[K + 500] = 1.0f;
    dob_net_set_context(net, (dob_net_ctx){.seed = 42, .step = 0, .example_offset = 0});
    TC_ASSERT_OK(dob_net_forward(net, 1));
    CU_ASSERT(all_finite(y->data, y->count));
    dob_loss_forward(p->loss, y->data, t, INC_BS, K, loss);
    CU_ASSERT(all_finite(loss, INC_BS));
    /* 1.4 x the smoothed CE of near-uniform logits (ln 1001 each head): measured 9.35 and 11.57 (1.4 ln 1001 = 9.67) */
    for (int i = 0; i < INC_BS; i++) CU_ASSERT(loss[i] > 0.5 * 1.4 * log(1001.0) && loss[i] < 2.0 * 1.4 * log(1001.0));
    dob_loss_backward(p->loss, y->data, t, INC_BS, K, 1.0f / INC_BS, y->diff);
    TC_ASSERT_OK(dob_net_backward(net));
    const float *g = dob_arena_grads(a);
    for (int k = 0; k < dob_arena_tensor_count(a); k++) {
        const dob_param_info *ti = dob_arena_info(a, k);
        if (ti->flags & DOB_PARAM_BUFFER) continue;
        double s = 0.0;
        for (size_t i = 0; i < ti->count; i++) s += fabs(g[ti->offset + i]);
        if (!(isfinite(s) && s > 0.0)) fprintf(stderr, "\n    %s: sum |grad| = %g\n", ti->name, s);
        CU_ASSERT(isfinite(s) && s > 0.0);
    }
    /* inference: dropout off, moving statistics; deterministic */
    float *y1 = malloc(y->count * sizeof *y1);
    TC_ASSERT_OK(dob_net_forward(net, 0));
    memcpy(y1, y->data, y->count * sizeof *y1);
    CU_ASSERT(all_finite(y1, y->count));
    TC_ASSERT_OK(dob_net_forward(net, 0));
    CU_ASSERT_EQUAL(memcmp(y1, y->data, y->count * sizeof *y1), 0);
    free(y1);
    dob_net_destroy(net);
}

/* ---- golden losses -----------------------------------------------------------------------------------------
 * 5 SGD steps (lr 1e-3) at batch 2 from seed 42 on tc_problem_data's synthetic crops, standardised per image
 * (the problem's dob_preproc_imagenet), 2 threads, avx512_core_bf16.
 * Step 1 is the loss at init (L2 term ~6.2 + 1.4 x ln 1001): a pure function of the architecture, init and loss,
 * held to 1e-4 (measured: AVX2 1e-7). The later steps are held to 5e-2 only: batch norm over 2 examples makes the
 * gradient ill-conditioned (bench/torch_inception_check.py: PyTorch's own float32 gradients differ from float64 by
 * up to 36% on some tensors, dob's by 21%), so summation order alone moves them: measured (before the inputs were
 * standardised; AVX2 passes on these values too)
 * 1 thread 3e-3 at step 3 and 1.9e-2 at step 4, ONEDNN_MAX_CPU_ISA=AVX2 2.4e-3 at step 2 and 1.5e-2 at step 3
 * (batch 4 is no better: 1 vs 2 threads 9e-3 at step 4). 5e-2 still catches a wrong sign or scale of a gradient. */
static const double golden_lr = 0.001;
/* Recorded again when the ReLUs were fused into the batch norms: that removed 94 layers, so the dropout layer's
 * index, which keys its mask stream, changed; with the mask keyed alike both nets gave the same 5 losses to 9
 * digits. */
static const double golden[5] = {15.5478927, 16.1878219, 15.7793967, 16.9686641, 15.4540364};

static void test_golden(void) {
    const dob_problem_spec *p = spec();
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    double l[5];
    tc_problem_steps(p, DOB_F32, INC_BS, 5, golden_lr, l, NULL);
    if (getenv("DOB_RECORD_GOLDEN")) {
        printf("\n    {%.9g, %.9g, %.9g, %.9g, %.9g}", l[0], l[1], l[2], l[3], l[4]);
        return;
    }
    float got[5], want[5];
    for (int i = 0; i < 5; i++) got[i] = (float)l[i], want[i] = (float)golden[i];
    TC_ASSERT_CLOSE("imagenet_inception_v3 loss at init", got, want, 1, 1e-4);
    TC_ASSERT_CLOSE("imagenet_inception_v3 golden losses", got, want, 5, 5e-2);
}

/* ---- golden losses on the tiny ImageNet of tests/gen_imagenet.py (real JPEG files: greyscale, CMYK, progressive
 * and a truncated one, skipped): the whole input path (index, decode pool, DeepOBS's crops and flips,
 * standardisation) into the net. 5 SGD steps (lr 1e-3) at batch 2 from the TFRecord shards, the same bounds as
 * above except the loss at init, held to 1e-3: since the fan-out tensors run in oneDNN's blocked layouts (their
 * batch norm sums in an order that depends on the thread count and ISA), batch norm over these 2 crops moves it by
 * up to 2.8e-4 (recorded on avx512_core_bf16, 2 threads; 1 thread 8.4e-5, AVX2 2 threads 1.0e-4, AVX2 1 thread
 * 2.8e-4). The class folders give the same first 2 losses bit for bit (the same batches, test_imagenet.c). */
static const double tree_golden[5] = {16.0182139, 15.5342895, 16.4692573, 15.8373389, 15.0617588};

static int tree_init(void) {
    if (tc_tmp_init()) return -1;
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/tests/gen_imagenet.py %s > /dev/null", DOB_TEST_SOURCE_DIR,
             tc_tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_tree_golden(void) {
    const dob_problem_spec *p = spec();
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    double a[5], b[2];
    tc_problem_steps_on(p, tc_tmp("shards"), INC_BS, 5, golden_lr, a);
    if (getenv("DOB_RECORD_GOLDEN")) printf("\n    {%.9g, %.9g, %.9g, %.9g, %.9g}", a[0], a[1], a[2], a[3], a[4]);
    float got[5], want[5];
    for (int i = 0; i < 5; i++) got[i] = (float)a[i], want[i] = (float)tree_golden[i];
    TC_ASSERT_CLOSE("imagenet_inception_v3 loss at init (JPEG tree)", got, want, 1, 1e-3);
    TC_ASSERT_CLOSE("imagenet_inception_v3 golden losses (JPEG tree)", got, want, 5, 5e-2);
    tc_problem_steps_on(p, tc_tmp("folders"), INC_BS, 2, golden_lr, b);
    CU_ASSERT(b[0] == a[0] && b[1] == a[1]);
}

static CU_TestInfo tests[] = {
    {"counts_and_shapes", test_counts_and_shapes},
    {"forward_backward", test_forward_backward},
    CU_TEST_INFO_NULL,
};
CU_SuiteInfo inception_suite = {"inception", NULL, NULL, NULL, NULL, tests};

/* a suite of its own: CTest labels it long (~15-50 s on 2 shared cores) */
static CU_TestInfo golden_tests[] = {
    {"golden_5_steps", test_golden},
    {"golden_5_steps_jpeg_tree", test_tree_golden},
    CU_TEST_INFO_NULL,
};
CU_SuiteInfo inception_golden_suite = {"inception_golden", tree_init, tc_tmp_clean, NULL, NULL, golden_tests};
