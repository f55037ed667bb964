/* quadratic_deep.c: DeepOBS's noisy quadratic (§3.11, §4.8): theta [100] starts at ones; per-example loss
 * 0.5 (theta - x)^T H (theta - x) with x ~ N(0, 0.6^2 I) (1 000 rows, numpy seeds 42 / 43 / 44), no L2, no
 * accuracy, 100 parameters. H = R^T diag(e) R exactly as DeepOBS v1.1 TF builds it from one RandomState(42):
 * e = 90 draws of U(0, 1) then 10 of U(30, 60); R = the Diaconis-Shahshahani subgroup algorithm continuing on the
 * same stream (t = 2 pi U; 2x2 rotation; for d = 2..99 a normal (d+1)-vector v, x = (e1 - v/|v|) / |...|,
 * R = M - 2 x (x^T M) with M = blockdiag(1, R)); the result negated. Decisions: v1.1's fresh RandomState(42) per
 * instance (v1.2b TF and the PyTorch port draw other Hessians: PT's initial test loss is 228.889, not 353.447);
 * train_eval = the whole training set (v1.1: take(-1)). Check: test loss at init 353.446770 (tests). */
#include <math.h>

#include "dob/problem.h"

#define DIM 100
#define PI_D 3.14159265358979323846

/* DeepOBS's random_rotation(D) on stream r into out [D x D] (row-major), negated as DeepOBS returns it. */
static void random_rotation(dob_np_rng *r, double *out) {
    enum { D = DIM };
    double R[D * D], M[D * D], v[D], xm[D]; /* 160 KB of stack, once per net build */
    const double t = 2.0 * PI_D * dob_np_uniform(r, 0.0, 1.0);
    R[0] = cos(t), R[1] = sin(t), R[2] = -sin(t), R[3] = cos(t); /* R is d x d with stride d */
    for (int64_t d = 2; d < D; d++) {
        const int64_t n = d + 1;
        double vv = 0.0;
        for (int64_t i = 0; i < n; i++) v[i] = dob_np_gauss(r), vv += v[i] * v[i];
        for (int64_t i = 0; i < n; i++) v[i] /= sqrt(vv);
        double ee = 0.0; /* x = (e - v) / |e - v| */
        for (int64_t i = 0; i < n; i++) v[i] = (i == 0 ? 1.0 : 0.0) - v[i], ee += v[i] * v[i];
        for (int64_t i = 0; i < n; i++) v[i] /= sqrt(ee);
        for (int64_t i = 0; i < n; i++) /* M = blockdiag(1, R) */
            for (int64_t j = 0; j < n; j++)
                M[i * n + j] = i == 0 || j == 0 ? (i == j ? 1.0 : 0.0) : R[(i - 1) * d + (j - 1)];
        for (int64_t j = 0; j < n; j++) { /* xm = x^T M */
            double s = 0.0;
            for (int64_t i = 0; i < n; i++) s += v[i] * M[i * n + j];
            xm[j] = s;
        }
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < n; j++) R[i * n + j] = M[i * n + j] - 2.0 * v[i] * xm[j];
    }
    for (int64_t i = 0; i < D * D; i++) out[i] = -R[i];
}

void dob_quadratic_deep_hessian(double *h, int64_t dim) {
    dob_np_rng r;
    double e[DIM], R[DIM * DIM];
    DOB_ASSERT(dim == DIM);
    dob_np_seed(&r, 42);
    for (int i = 0; i < 90; i++) e[i] = dob_np_uniform(&r, 0.0, 1.0);
    for (int i = 90; i < DIM; i++) e[i] = dob_np_uniform(&r, 30.0, 60.0);
    random_rotation(&r, R);
    for (int i = 0; i < DIM; i++) /* H = R^T D R */
        for (int j = 0; j < DIM; j++) {
            double s = 0.0;
            for (int k = 0; k < DIM; k++) s += R[k * DIM + i] * e[k] * R[k * DIM + j];
            h[i * DIM + j] = s;
        }
}

static dob_status build(dob_net *net, int *out) {
    const dob_quadratic_cfg c = {.dim = DIM, .theta_init = {DOB_INIT_CONST, 1.0f, 0},
                                 .make = dob_quadratic_deep_hessian};
    return dob_net_quadratic(net, "quadratic", dob_net_input(net), &c, out);
}

const dob_problem_spec dob_problem_quadratic_deep = {
    .name = "quadratic_deep", .dataset = "quadratic", .in_ndim = 1, .in_dims = {DIM}, .n_classes = 1,
    .summary = "noisy 100-d quadratic, deep-learning-like Hessian spectrum (DeepOBS P1)",
    .batch_size = 128, .num_epochs = 100, .weight_decay = 0.0, .has_l2 = 0, .has_accuracy = 0,
    .loss = DOB_LOSS_IDENTITY, .train_eval_size = 1000, .n_params = DIM, .build = build,
    .notes = "Hessian of DeepOBS v1.1 TF (fresh RandomState(42) per instance; the PyTorch port's differs)",
};
