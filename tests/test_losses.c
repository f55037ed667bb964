/* test_losses.c: per-example losses against hand-computed values, stability at extreme logits, smoothed
 * targets, Inception's main + aux losses against a naive reference, finite-difference checks of every backward
 * (one-hot, smoothed and unnormalised targets), thread-count
 * independence, accuracy with ties, and dob_mean bitwise against a naive double sum on 1 and 2 threads. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "dob/rng.h"
#include "tc.h"

static void set_threads(int n) {
#ifdef _OPENMP
    omp_set_num_threads(n);
#else
    (void)n;
#endif
}

static int max_threads(void) {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

/* Assert |got - want| <= tol, printing both. */
#define ASSERT_NEAR(what, got, want, tol)                                                                 \
    do {                                                                                                  \
        double g_ = (got), w_ = (want);                                                                   \
        if (!(fabs(g_ - w_) <= (tol)))                                                                    \
            fprintf(stderr, "\n    %s: got %.10g, expected %.10g (tol %.3g)\n", (what), g_, w_, (double)(tol)); \
        CU_ASSERT(fabs(g_ - w_) <= (tol));                                                                \
    } while (0)

static void test_softmax_ce_values(void) {
    const float x[3] = {1, 2, 3}, t[3] = {0, 0, 1};
    float loss;
    dob_loss_forward(DOB_LOSS_SOFTMAX_CE, x, t, 1, 3, &loss);
    ASSERT_NEAR("softmax CE {1,2,3} -> 2", loss, log(exp(1.0) + exp(2.0) + exp(3.0)) - 3.0, 1e-6);
    ASSERT_NEAR("softmax CE {1,2,3} -> 2 (literal)", loss, 0.40760596, 1e-6);
    /* large logits stay finite: targets on each of the three classes */
    const float big[9] = {1000, 0, -1000, 1000, 0, -1000, 1000, 0, -1000};
    const float oh[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
    float l3[3], d[9];
    dob_loss_forward(DOB_LOSS_SOFTMAX_CE, big, oh, 3, 3, l3);
    ASSERT_NEAR("large logits, target 0", l3[0], 0.0, 0.0);
    ASSERT_NEAR("large logits, target 1", l3[1], 1000.0, 0.0);
    ASSERT_NEAR("large logits, target 2", l3[2], 2000.0, 0.0);
    dob_loss_backward(DOB_LOSS_SOFTMAX_CE, big, oh, 3, 3, 1.0f, d);
    const float dwant[9] = {0, 0, 0, 1, -1, 0, 1, 0, -1};
    TC_ASSERT_CLOSE("large logits backward", d, dwant, 9, 0.0);
    /* uniform logits over 10 classes: ln 10 whatever the target */
    float u[20], tu[20] = {0};
    for (int i = 0; i < 20; i++) u[i] = i < 10 ? 0.0f : 5.0f;
    tu[3] = 1.0f;
    tu[19] = 1.0f;
    float lu[2];
    dob_loss_forward(DOB_LOSS_SOFTMAX_CE, u, tu, 2, 10, lu);
    ASSERT_NEAR("uniform logits", lu[0], log(10.0), 1e-6);
    ASSERT_NEAR("uniform logits + 5", lu[1], log(10.0), 1e-6);
    /* label smoothing 0.1 over 4 classes: -sum t log softmax, computed naively here */
    const float xs[4] = {0.5f, -1.0f, 2.0f, 0.25f};
    float ts[4];
    for (int k = 0; k < 4; k++) ts[k] = 0.1f / 4 + (k == 2 ? 0.9f : 0.0f);
    double z = 0, want = 0;
    for (int k = 0; k < 4; k++) z += exp((double)xs[k]);
    for (int k = 0; k < 4; k++) want -= ts[k] * log(exp((double)xs[k]) / z);
    dob_loss_forward(DOB_LOSS_SOFTMAX_CE, xs, ts, 1, 4, &loss);
    ASSERT_NEAR("smoothed targets", loss, want, 1e-6);
    /* smoothed backward = softmax - t */
    float ds[4], dsw[4];
    dob_loss_backward(DOB_LOSS_SOFTMAX_CE, xs, ts, 1, 4, 0.5f, ds);
    for (int k = 0; k < 4; k++) dsw[k] = (float)(0.5 * (exp((double)xs[k]) / z - ts[k]));
    TC_ASSERT_CLOSE("smoothed backward", ds, dsw, 4, 1e-6);
}

static void test_sigmoid_and_squared_values(void) {
    const float x[4] = {0, 2, -3, 100}, t[4] = {1, 0, 1, 0};
    float l[4];
    /* one logit per row: loss = log(1 + exp(-x)) for t = 1, log(1 + exp(x)) for t = 0 */
    dob_loss_forward(DOB_LOSS_SIGMOID_CE, x, t, 4, 1, l);
    ASSERT_NEAR("sigmoid CE x=0 t=1", l[0], log(2.0), 1e-6);
    ASSERT_NEAR("sigmoid CE x=2 t=0", l[1], log1p(exp(2.0)), 1e-6);
    ASSERT_NEAR("sigmoid CE x=-3 t=1", l[2], log1p(exp(3.0)), 1e-6);
    ASSERT_NEAR("sigmoid CE x=100 t=0", l[3], 100.0, 1e-5);
    const float xm[2] = {-100, 100}, tm[2] = {0, 1};
    float lm;
    dob_loss_forward(DOB_LOSS_SIGMOID_CE, xm, tm, 1, 2, &lm); /* both confidently right: ~ 2 exp(-100) */
    ASSERT_NEAR("sigmoid CE saturated right", lm, 0.0, 1e-30);
    CU_ASSERT(isfinite(lm));
    float d[4];
    dob_loss_backward(DOB_LOSS_SIGMOID_CE, x, t, 4, 1, 2.0f, d);
    ASSERT_NEAR("sigmoid CE diff x=0 t=1", d[0], 2.0 * (0.5 - 1.0), 1e-7);
    ASSERT_NEAR("sigmoid CE diff x=100 t=0", d[3], 2.0, 1e-7);
    const float xq[2] = {1, 2}, tq[2] = {0, 4};
    float lq, dq[2];
    dob_loss_forward(DOB_LOSS_SQUARED, xq, tq, 1, 2, &lq);
    ASSERT_NEAR("squared (1,2) vs (0,4)", lq, 5.0, 0.0);
    dob_loss_backward(DOB_LOSS_SQUARED, xq, tq, 1, 2, 0.25f, dq);
    ASSERT_NEAR("squared diff 0", dq[0], 0.5, 0.0);
    ASSERT_NEAR("squared diff 1", dq[1], -1.0, 0.0);
}

/* Central differences of scale * loss_i w.r.t. every pred element, against dob_loss_backward. */
static void fd_check(dob_loss_kind kind, const float *t, int64_t n, int64_t k, const char *what) {
    const int64_t pk = dob_loss_pred_width(kind, k);
    const size_t m = (size_t)(n * pk);
    float *x = malloc(m * sizeof *x), *d = malloc(m * sizeof *d), *num = malloc(m * sizeof *num);
    float *lp = malloc((size_t)n * sizeof *lp), *lm = malloc((size_t)n * sizeof *lm);
    const float scale = 0.7f;
    const double eps = 1e-2;
    tc_fill(x, m, 21, (uint64_t)kind, -3.0f, 3.0f);
    dob_loss_backward(kind, x, t, n, k, scale, d);
    for (size_t j = 0; j < m; j++) {
        float x0 = x[j];
        x[j] = (float)(x0 + eps);
        dob_loss_forward(kind, x, t, n, k, lp);
        x[j] = (float)(x0 - eps);
        dob_loss_forward(kind, x, t, n, k, lm);
        x[j] = x0;
        size_t row = j / (size_t)pk;
        num[j] = (float)(scale * ((double)lp[row] - lm[row]) / (2 * eps));
    }
    TC_ASSERT_CLOSE(what, d, num, m, 2e-3);
    free(x);
    free(d);
    free(num);
    free(lp);
    free(lm);
}

static void test_backward_finite_differences(void) {
    enum { N = 4, K = 5 };
    float onehot[N * K] = {0}, smooth[N * K], soft[N * K], half[N * K], any[N * K];
    for (int i = 0; i < N; i++) onehot[i * K + (i * 3) % K] = 1.0f;
    for (int j = 0; j < N * K; j++) smooth[j] = 0.9f * onehot[j] + 0.1f / K;
    tc_fill(soft, N * K, 22, 0, 0.0f, 1.0f); /* random probabilities (rows normalised) */
    for (int i = 0; i < N; i++) {
        float s = 0;
        for (int k = 0; k < K; k++) s += soft[i * K + k];
        for (int k = 0; k < K; k++) soft[i * K + k] /= s;
    }
    for (int j = 0; j < N * K; j++) half[j] = 0.5f * soft[j]; /* rows sum to 0.5: the general form */
    tc_fill(any, N * K, 23, 0, -2.0f, 2.0f);
    fd_check(DOB_LOSS_SOFTMAX_CE, onehot, N, K, "softmax CE one-hot backward");
    fd_check(DOB_LOSS_SOFTMAX_CE, smooth, N, K, "softmax CE smoothed backward");
    fd_check(DOB_LOSS_SOFTMAX_CE, soft, N, K, "softmax CE soft targets backward");
    fd_check(DOB_LOSS_SOFTMAX_CE, half, N, K, "softmax CE targets summing to 0.5 backward");
    fd_check(DOB_LOSS_SIGMOID_CE, soft, N, K, "sigmoid CE backward");
    fd_check(DOB_LOSS_SQUARED, any, N, K, "squared backward");
    fd_check(DOB_LOSS_SMOOTH_CE_AUX, onehot, N, K, "Inception main + 0.4 aux smoothed CE backward");
    fd_check(DOB_LOSS_SMOOTH_CE_MAIN, onehot, N, K, "Inception main smoothed CE backward");
}

/* Naive -sum_j u_j log softmax(x)_j for u = 0.9 t + 0.1 / k, in double. */
static double naive_smooth_ce(const float *x, const float *t, int k) {
    double z = 0.0, s = 0.0;
    for (int j = 0; j < k; j++) z += exp((double)x[j]);
    for (int j = 0; j < k; j++) s -= (0.9 * t[j] + 0.1 / k) * log(exp((double)x[j]) / z);
    return s;
}

/* DeepOBS imagenet_inception_v3's losses: rows [main | aux], phase "train" main + 0.4 aux, other phases main;
 * accuracy from the main logits only. */
static void test_inception_loss(void) {
    enum { N = 3, K = 7 };
    float x[N * 2 * K], t[N * K] = {0}, l[N];
    tc_fill(x, N * 2 * K, 24, 0, -2.0f, 2.0f);
    for (int i = 0; i < N; i++) t[i * K + (2 * i + 1) % K] = 1.0f;
    CU_ASSERT_EQUAL(dob_loss_pred_width(DOB_LOSS_SMOOTH_CE_AUX, K), 2 * K);
    CU_ASSERT_EQUAL(dob_loss_pred_width(DOB_LOSS_SMOOTH_CE_MAIN, K), 2 * K);
    CU_ASSERT_EQUAL(dob_loss_phase_kind(DOB_LOSS_SMOOTH_CE_AUX, 1), DOB_LOSS_SMOOTH_CE_AUX);
    CU_ASSERT_EQUAL(dob_loss_phase_kind(DOB_LOSS_SMOOTH_CE_AUX, 0), DOB_LOSS_SMOOTH_CE_MAIN);
    CU_ASSERT_EQUAL(dob_loss_phase_kind(DOB_LOSS_SOFTMAX_CE, 0), DOB_LOSS_SOFTMAX_CE);
    dob_loss_forward(DOB_LOSS_SMOOTH_CE_AUX, x, t, N, K, l);
    for (int i = 0; i < N; i++) {
        const float *m = x + i * 2 * K, *a = m + K, *ti = t + i * K;
        ASSERT_NEAR("train: main + 0.4 aux", l[i], naive_smooth_ce(m, ti, K) + 0.4 * naive_smooth_ce(a, ti, K),
                    1e-5);
    }
    dob_loss_forward(DOB_LOSS_SMOOTH_CE_MAIN, x, t, N, K, l);
    for (int i = 0; i < N; i++) ASSERT_NEAR("eval: main", l[i], naive_smooth_ce(x + i * 2 * K, t + i * K, K), 1e-5);
    /* the main logits decide: row 0 hits through main, row 1's aux would hit but main misses */
    float p[2 * 2 * K] = {0}, y[2 * K] = {0};
    y[3] = y[K + 5] = 1.0f;
    p[3] = 1.0f;            /* row 0 main -> 3 (hit) */
    p[2 * K + 1] = 1.0f;    /* row 1 main -> 1 (miss) */
    p[2 * K + K + 5] = 9.0f; /* row 1 aux -> 5 */
    CU_ASSERT_EQUAL(dob_loss_accuracy_count(DOB_LOSS_SMOOTH_CE_AUX, p, y, 2, K), 1);
    CU_ASSERT_EQUAL(dob_loss_accuracy_count(DOB_LOSS_SMOOTH_CE_MAIN, p, y, 2, K), 1);
}

static void test_losses_thread_independent(void) {
    enum { N = 1000, K = 37 };
    float *x = malloc(N * K * sizeof *x), *t = malloc(N * K * sizeof *t);
    float *l1 = malloc(N * sizeof *l1), *l2 = malloc(N * sizeof *l2);
    float *d1 = malloc(N * K * sizeof *d1), *d2 = malloc(N * K * sizeof *d2);
    tc_fill(x, N * K, 31, 0, -5.0f, 5.0f);
    tc_fill(t, N * K, 31, 1, 0.0f, 1.0f);
    int nt = max_threads();
    for (int kind = DOB_LOSS_SOFTMAX_CE; kind <= DOB_LOSS_SQUARED; kind++) {
        set_threads(1);
        dob_loss_forward((dob_loss_kind)kind, x, t, N, K, l1);
        dob_loss_backward((dob_loss_kind)kind, x, t, N, K, 1e-3f, d1);
        set_threads(2);
        dob_loss_forward((dob_loss_kind)kind, x, t, N, K, l2);
        dob_loss_backward((dob_loss_kind)kind, x, t, N, K, 1e-3f, d2);
        CU_ASSERT_EQUAL(memcmp(l1, l2, N * sizeof *l1), 0);
        CU_ASSERT_EQUAL(memcmp(d1, d2, N * K * sizeof *d1), 0);
    }
    set_threads(nt);
    free(x);
    free(t);
    free(l1);
    free(l2);
    free(d1);
    free(d2);
}

static void test_accuracy_ties(void) {
    enum { K = 3 };
    const float pred[] = {
        1, 3, 3,   /* tie 1,2 -> 1 */
        2, 2, 0,   /* tie 0,1 -> 0 */
        0, 0, 0,   /* all equal -> 0 */
        -1, -5, 4, /* 2 */
        5, 1, 1,   /* 0 */
    };
    const float target[] = {
        0, 1, 0,        /* hit */
        0, 1, 0,        /* miss */
        1, 0, 0,        /* hit */
        0.1f, 0.1f, 0.8f, /* smoothed, hit */
        0.5f, 0.5f, 0,  /* tied target -> 0: hit */
    };
    CU_ASSERT_EQUAL(dob_accuracy_count(pred, target, 5, K), 4);
    CU_ASSERT_EQUAL(dob_accuracy_count(pred, target, 2, K), 1);
    CU_ASSERT_EQUAL(dob_accuracy_count(pred, target, 0, K), 0);
}

static void test_mean_bitwise(void) {
    enum { N = 300007 }; /* > 64 chunks of 4096, not a multiple */
    float *x = malloc(N * sizeof *x);
    dob_rng r = {5, DOB_RNG_TEST, 0};
    /* values on a grid of 1/256 in [-4, 4): every partial sum is exact in double, so any summation order
     * gives the same bits, and dob_mean must equal the naive sequential sum exactly */
    for (int i = 0; i < N; i++) x[i] = (float)((int)(dob_rng_u32(&r, (uint64_t)i) % 2048) - 1024) / 256.0f;
    double naive = 0.0;
    for (int i = 0; i < N; i++) naive += x[i];
    naive /= N;
    int nt = max_threads();
    set_threads(1);
    double m1 = dob_mean(x, N);
    set_threads(2);
    double m2 = dob_mean(x, N);
    if (m1 != naive || m2 != naive)
        fprintf(stderr, "\n    dob_mean: 1 thread %.17g, 2 threads %.17g, naive %.17g\n", m1, m2, naive);
    CU_ASSERT(m1 == naive);
    CU_ASSERT(m2 == naive);
    /* floats spanning 2^-29..2^29: the double sums round (floats within a few binades would sum exactly in any
     * order), so only a fixed summation order gives the same bits on 1, 2 and 3 threads */
    tc_fill(x, N, 6, 0, -20.0f, 20.0f);
    for (int i = 0; i < N; i++) x[i] = expf(x[i]) / 3.0f;
    naive = 0.0;
    for (int i = 0; i < N; i++) naive += x[i];
    naive /= N;
    set_threads(1);
    m1 = dob_mean(x, N);
    set_threads(2);
    m2 = dob_mean(x, N);
    set_threads(3);
    double m3 = dob_mean(x, N);
    set_threads(nt);
    CU_ASSERT(m1 == m2 && m2 == m3);
    if (m1 != m2 || m2 != m3)
        fprintf(stderr, "\n    dob_mean: 1 thread %.17g, 2 threads %.17g, 3 threads %.17g\n", m1, m2, m3);
    ASSERT_NEAR("dob_mean vs naive", m1, naive, 1e-10 * fabs(naive)); /* both orders round: n eps bound */
    ASSERT_NEAR("dob_mean of 1", dob_mean(x, 1), x[0], 0.0);
    ASSERT_NEAR("dob_mean of 0", dob_mean(x, 0), 0.0, 0.0);
    free(x);
}

static CU_TestInfo tests[] = {
    {"softmax_ce_values", test_softmax_ce_values},
    {"sigmoid_and_squared_values", test_sigmoid_and_squared_values},
    {"backward_finite_differences", test_backward_finite_differences},
    {"inception_loss", test_inception_loss},
    {"losses_thread_independent", test_losses_thread_independent},
    {"accuracy_ties", test_accuracy_ties},
    {"mean_bitwise", test_mean_bitwise},
    CU_TEST_INFO_NULL,
};
CU_SuiteInfo losses_suite = {"losses", NULL, NULL, NULL, NULL, tests};
