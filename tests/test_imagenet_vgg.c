/* test_imagenet_vgg.c: imagenet_vgg16 trained on the tiny ImageNet of tests/gen_imagenet.py (real JPEG files,
 * among them a greyscale, a CMYK, a progressive and a truncated one, which is skipped): golden mini-batch losses
 * after 5 SGD steps at batch 2 from the TFRecord shards, and the same losses (bit for bit: the batches are equal,
 * test_imagenet.c) from the class folders over the first 2 steps. The whole path: index, decode threads and
 * prefetch queue, DeepOBS's crops and flips, standardisation, the net, L2 on the conv kernels.
 * Cost: a VGG16 step at 224x224 is ~45 GFLOP per example; ~20 s on 2 shared Zen 5 threads, most of it the steps
 * and the init of 138 M parameters.
 * How the golden values were checked before they were recorded: the first loss is ln(1001) = 6.9088 + the L2 term
 * at init (test_vgg.c's argument: near-uniform softmax at init), asserted below to 0.01. */
#define _XOPEN_SOURCE 700 /* mkdtemp, nftw */
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dob/io.h"
#include "dob/trainer.h"
#include "problem_fx.h"
#include "tc.h"

#define BS 2
#define STEPS 5

static char tmp[256];

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static int suite_init(void) {
    snprintf(tmp, sizeof tmp, "/tmp/dob_imagenet_vgg_XXXXXX");
    if (!mkdtemp(tmp)) return -1;
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/tests/gen_imagenet.py %s", DOB_TEST_SOURCE_DIR, tmp);
    return system(cmd) == 0 ? 0 : -1;
}

static int suite_clean(void) { return nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

/* The first k mini-batch losses of imagenet_vgg16 (SGD lr 0.01, seed 42) on the layout under tmp/<layout>; the L2
 * term at init in *reg0 (may be NULL). */
static void losses(const char *layout, int k, double *l, double *reg0) {
    const dob_problem_spec *p = dob_problem_find("imagenet_vgg16");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    char root[512];
    snprintf(root, sizeof root, "%s/%s", tmp, layout);
    tc_problem_steps_on(p, root, BS, k, 0.01, l);
    if (reg0) {
        dob_net *net;
        TC_ASSERT_OK(dob_problem_net(p, &net));
        dob_arena_init(dob_net_arena(net), 42);
        *reg0 = p->weight_decay * dob_arena_l2_half_sq(dob_net_arena(net));
        dob_net_destroy(net);
    }
}

static const double golden[STEPS] = {
#include "golden_imagenet.inc"
};

static void test_golden_both_layouts(void) {
    double a[STEPS], b[2], reg;
    losses("shards", STEPS, a, &reg);
    const double ce0 = a[0] - reg;
    if (getenv("DOB_RECORD_GOLDEN") || fabs(ce0 - log(1001.0)) > 0.01)
        printf("\n    imagenet_vgg16: first loss %.6f = L2 %.6f + cross-entropy %.6f (ln 1001 = %.6f)\n    "
               "%.9g, %.9g, %.9g, %.9g, %.9g\n", a[0], reg, ce0, log(1001.0), a[0], a[1], a[2], a[3], a[4]);
    CU_ASSERT(fabs(ce0 - log(1001.0)) <= 0.01);
    float got[STEPS], want[STEPS];
    for (int i = 0; i < STEPS; i++) got[i] = (float)a[i], want[i] = (float)golden[i];
    /* as test_vgg.c: steps 1-3 within 1e-4 at any thread count and ISA, the later ones drift with summation order */
    TC_ASSERT_CLOSE("imagenet_vgg16 golden losses", got, want, 3, 1e-4);
    TC_ASSERT_CLOSE("imagenet_vgg16 golden losses", got, want, STEPS, 1e-3);
    losses("folders", 2, b, NULL);
    CU_ASSERT(b[0] == a[0] && b[1] == a[1]); /* the same batches: the same floats */
}

static CU_TestInfo tests[] = {
    {"golden_5_steps_both_layouts", test_golden_both_layouts},
    CU_TEST_INFO_NULL,
};
CU_SuiteInfo imagenet_vgg_suite = {"imagenet_vgg", suite_init, suite_clean, NULL, NULL, tests};
