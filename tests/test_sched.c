/* test_sched.c: learning-rate schedules: constant; DeepOBS piecewise (factors relative to the base, taking
 * effect at the start of the 0-based epoch E_i) on DeepOBS's own example; cosine endpoints and midpoint;
 * validation errors on status and message. */
#include <math.h>

#include "dob/sched.h"
#include "tc.h"

static void test_constant(void) {
    dob_sched s;
    TC_ASSERT_OK(dob_sched_constant(&s, 0.05));
    CU_ASSERT_DOUBLE_EQUAL(dob_sched_lr(&s, 0), 0.05, 0);
    CU_ASSERT_DOUBLE_EQUAL(dob_sched_lr(&s, 1000), 0.05, 0);
    TC_ASSERT_FAILS(dob_sched_constant(&s, 0.0), DOB_EINVAL, "base learning rate must be finite and > 0, found 0");
    TC_ASSERT_FAILS(dob_sched_constant(&s, -1e-3), DOB_EINVAL, "found -0.001");
    TC_ASSERT_FAILS(dob_sched_constant(&s, INFINITY), DOB_EINVAL, "found inf");
}

static void test_piecewise_deepobs(void) {
    /* DeepOBS: --lr 0.1 --lr_sched_epochs 50 100 --lr_sched_factors 0.1 0.01 */
    dob_sched s;
    TC_ASSERT_OK(dob_sched_piecewise(&s, 0.1, 2, (int64_t[]){50, 100}, (double[]){0.1, 0.01}));
    const struct { int64_t e; double lr; } want[] = {{0, 0.1},   {1, 0.1},    {49, 0.1},   {50, 0.01},
                                                     {51, 0.01}, {99, 0.01},  {100, 0.001}, {101, 0.001},
                                                     {5000, 0.001}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        double got = dob_sched_lr(&s, want[i].e);
        if (fabs(got - want[i].lr) > 1e-15)
            fprintf(stderr, "\n    epoch %lld: got lr %.17g, expected %.17g\n", (long long)want[i].e, got,
                    want[i].lr);
        CU_ASSERT_DOUBLE_EQUAL(got, want[i].lr, 1e-15);
    }
    /* not cumulative: a later factor larger than an earlier one raises the rate again */
    TC_ASSERT_OK(dob_sched_piecewise(&s, 1.0, 3, (int64_t[]){1, 2, 3}, (double[]){0.5, 0.25, 2.0}));
    CU_ASSERT_DOUBLE_EQUAL(dob_sched_lr(&s, 0), 1.0, 0);
    CU_ASSERT_DOUBLE_EQUAL(dob_sched_lr(&s, 1), 0.5, 0);
    CU_ASSERT_DOUBLE_EQUAL(dob_sched_lr(&s, 2), 0.25, 0);
    CU_ASSERT_DOUBLE_EQUAL(dob_sched_lr(&s, 3), 2.0, 0);
    /* no pairs: the constant schedule (DeepOBS without --lr_sched_epochs) */
    TC_ASSERT_OK(dob_sched_piecewise(&s, 0.3, 0, NULL, NULL));
    CU_ASSERT_EQUAL(s.kind, DOB_SCHED_CONSTANT);
    CU_ASSERT_DOUBLE_EQUAL(dob_sched_lr(&s, 77), 0.3, 0);
}

static void test_piecewise_errors(void) {
    dob_sched s;
    TC_ASSERT_FAILS(dob_sched_piecewise(&s, 0.1, 2, (int64_t[]){100, 50}, (double[]){0.1, 0.01}), DOB_EINVAL,
                    "--lr_sched_epochs: expected strictly increasing epochs, found 50 after 100 at position 1");
    TC_ASSERT_FAILS(dob_sched_piecewise(&s, 0.1, 2, (int64_t[]){50, 50}, (double[]){0.1, 0.01}), DOB_EINVAL,
                    "found 50 after 50");
    TC_ASSERT_FAILS(dob_sched_piecewise(&s, 0.1, 1, (int64_t[]){0}, (double[]){0.1}), DOB_EINVAL,
                    "expected epochs >= 1 (epoch 0 uses the base rate), found 0 at position 0");
    TC_ASSERT_FAILS(dob_sched_piecewise(&s, 0.1, 2, (int64_t[]){5, 10}, (double[]){0.1, 0.0}), DOB_EINVAL,
                    "--lr_sched_factors: expected finite factors > 0, found 0 at position 1");
    TC_ASSERT_FAILS(dob_sched_piecewise(&s, 0.1, 1, (int64_t[]){5}, (double[]){-2}), DOB_EINVAL, "found -2");
    TC_ASSERT_FAILS(dob_sched_piecewise(&s, 0.1, 1, (int64_t[]){5}, (double[]){NAN}), DOB_EINVAL, "found nan");
    int64_t e[DOB_SCHED_MAX + 1];
    double f[DOB_SCHED_MAX + 1];
    for (int i = 0; i <= DOB_SCHED_MAX; i++) e[i] = i + 1, f[i] = 0.5;
    TC_ASSERT_FAILS(dob_sched_piecewise(&s, 0.1, DOB_SCHED_MAX + 1, e, f), DOB_EINVAL,
                    "expected 0..64 (epoch, factor) pairs, found 65");
    TC_ASSERT_OK(dob_sched_piecewise(&s, 0.1, DOB_SCHED_MAX, e, f));
    CU_ASSERT_DOUBLE_EQUAL(dob_sched_lr(&s, 1000), 0.05, 1e-15);
    TC_ASSERT_FAILS(dob_sched_piecewise(&s, 0.1, -1, e, f), DOB_EINVAL, "found -1");
    TC_ASSERT_FAILS(dob_sched_piecewise(&s, 0.1, 1, e, NULL), DOB_EINVAL, "factors array is NULL");
    TC_ASSERT_FAILS(dob_sched_piecewise(&s, -0.1, 1, e, f), DOB_EINVAL, "piecewise schedule: base learning rate");
}

static void test_cosine(void) {
    dob_sched s;
    TC_ASSERT_OK(dob_sched_cosine(&s, 0.2, 10));
    CU_ASSERT_DOUBLE_EQUAL(dob_sched_lr(&s, 0), 0.2, 0);           /* starts at the base rate */
    CU_ASSERT_DOUBLE_EQUAL(dob_sched_lr(&s, 5), 0.1, 1e-15);       /* half-way: half */
    CU_ASSERT_DOUBLE_EQUAL(dob_sched_lr(&s, 10), 0.0, 0);          /* reaches 0 after total epochs */
    CU_ASSERT_DOUBLE_EQUAL(dob_sched_lr(&s, 11), 0.0, 0);
    /* last trained epoch 9: 0.2 * (1 + cos(0.9 pi)) / 2 */
    CU_ASSERT_DOUBLE_EQUAL(dob_sched_lr(&s, 9), 0.1 * (1.0 - 0.95105651629515357), 1e-15);
    for (int64_t e = 1; e <= 10; e++) CU_ASSERT(dob_sched_lr(&s, e) < dob_sched_lr(&s, e - 1));
    TC_ASSERT_FAILS(dob_sched_cosine(&s, 0.2, 0), DOB_EINVAL, "cosine schedule: expected total epochs >= 1, found 0");
    TC_ASSERT_FAILS(dob_sched_cosine(&s, 0.0, 5), DOB_EINVAL, "cosine schedule: base learning rate");
}

static CU_TestInfo tests[] = {
    {"constant", test_constant},
    {"piecewise: DeepOBS example", test_piecewise_deepobs},
    {"piecewise: errors", test_piecewise_errors},
    {"cosine endpoints", test_cosine},
    CU_TEST_INFO_NULL,
};
CU_SuiteInfo sched_suite = {"sched", NULL, NULL, NULL, NULL, tests};
