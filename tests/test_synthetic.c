/* test_synthetic.c: DeepOBS's synthetic problems. numpy's RandomState reproduced (first uniform and normal of
 * seed 42, the first data rows of the reference), quadratic_deep's Hessian (trace, entries, symmetry) and its
 * test loss at init 353.446770 +- 1e-4, which SGD decreases; the two_d start values; SGD from DeepOBS's start
 * points reaching each function's known minimum; and the two synthetic layers against naive references with
 * finite-difference and overwrite checks. Reference values: shared/reference/deepobs.md §10. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dob/io.h"
#include "dob/problem.h"
#include "dob/trainer.h"
#include "tc.h"

static void test_numpy_rng(void) {
    dob_np_rng r;
    dob_np_seed(&r, 42);
    CU_ASSERT_DOUBLE_EQUAL(dob_np_uniform(&r, 0.0, 1.0), 0.3745401188473625, 1e-16);
    dob_np_seed(&r, 42);
    CU_ASSERT_DOUBLE_EQUAL(dob_np_gauss(&r), 0.4967141530112327, 1e-16);
    dob_dataset q, t;
    TC_ASSERT_OK(dob_data_load_split("quadratic", NULL, NULL, "test", 0, &q));
    TC_ASSERT_OK(dob_data_load_split("quadratic", NULL, NULL, "train", 0, &t));
    CU_ASSERT(q.n == 1000 && q.x_dims[0] == 100 && q.k == 1);
    TC_ASSERT_CLOSE("quadratic test row 0", q.x, ((float[]){0.154440f, -0.545089f, -0.227102f}), 3, 1e-5);
    TC_ASSERT_CLOSE("quadratic train row 0", t.x, ((float[]){0.298028f, -0.082959f, 0.388613f}), 3, 1e-5);
    dob_dataset_free(&q);
    dob_dataset_free(&t);
    TC_ASSERT_OK(dob_data_load_split("two_d", NULL, NULL, "train", 0, &t));
    TC_ASSERT_OK(dob_data_load_split("two_d", NULL, NULL, "test", 0, &q));
    CU_ASSERT_EQUAL(t.n, 10000);
    /* x values 0..2, then the first y (the 10 001st draw) */
    TC_ASSERT_CLOSE("two_d x", ((float[]){TC_X(t)[0], TC_X(t)[2], TC_X(t)[4], TC_X(t)[1]}),
                    ((float[]){0.496714f, -0.138264f, 0.647689f, -0.678495f}), 4, 1e-5);
    int zeros = 1;
    for (int64_t i = 0; i < 2 * q.n; i++) zeros &= TC_X(q)[i] == 0.0f;
    CU_ASSERT(zeros);
    dob_dataset_free(&q);
    dob_dataset_free(&t);
}

static void test_hessian(void) {
    double *h = malloc(100 * 100 * sizeof *h), tr = 0.0, asym = 0.0;
    dob_quadratic_deep_hessian(h, 100);
    for (int i = 0; i < 100; i++) {
        tr += h[i * 100 + i];
        for (int j = 0; j < 100; j++) asym = fmax(asym, fabs(h[i * 100 + j] - h[j * 100 + i]));
    }
    CU_ASSERT_DOUBLE_EQUAL(tr, 477.612280, 1e-5);
    CU_ASSERT_DOUBLE_EQUAL(h[0], 6.2214294, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(h[1], 1.1270199, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(h[99 * 100 + 99], 6.3056638, 1e-6);
    CU_ASSERT(asym < 1e-12);
    free(h);
}

/* Train a problem with SGD for `epochs` at batch bs; returns the curves. */
static void train(const char *name, int64_t bs, int64_t epochs, double lr, dob_train_out *o) {
    const dob_problem_spec *p = dob_problem_find(name);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    dob_dataset tr, va, te;
    TC_ASSERT_OK(dob_problem_data_load(p, NULL, 0, &tr, &va, &te));
    dob_net *net;
    TC_ASSERT_OK(dob_problem_net(p, &net));
    dob_train_cfg c = {.net = net, .loss = p->loss, .train_eval_size = p->train_eval_size,
                       .optim = dob_optim_find("sgd"), .batch_size = bs, .num_epochs = epochs,
                       .train_log_interval = 1, .seed = 42, .rank = 0, .nranks = 1, .train = &tr, .test = &te};
    TC_ASSERT_OK(dob_sched_constant(&c.sched, lr));
    TC_ASSERT_OK(dob_train(&c, o));
    dob_net_destroy(net);
    dob_dataset_free(&tr);
    dob_dataset_free(&te);
}

static void test_quadratic_deep(void) {
    dob_train_out o;
    train("quadratic_deep", 128, 2, 0.01, &o);
    printf("\n    quadratic_deep test loss at init %.6f (DeepOBS 353.446770), after 2 epochs %.4f ", o.test_losses[0],
           o.test_losses[2]);
    CU_ASSERT_DOUBLE_EQUAL(o.test_losses[0], 353.446770, 1e-4);
    CU_ASSERT(isnan(o.test_accuracies[0]));
    CU_ASSERT(o.test_losses[1] < 0.5 * o.test_losses[0] && o.test_losses[2] < o.test_losses[1]);
    dob_train_out_free(&o);
    /* v1.2's valid split is its own draw (seed 44): 1 000 rows */
    dob_dataset tr, va, te;
    TC_ASSERT_OK(dob_problem_data_load(dob_problem_find("quadratic_deep"), NULL, 1, &tr, &va, &te));
    CU_ASSERT(tr.n == 1000 && va.n == 1000 && TC_X(va)[0] != TC_X(tr)[0]);
    dob_dataset_free(&tr);
    dob_dataset_free(&va);
    dob_dataset_free(&te);
}

/* Start values (test loss = f exactly) and plain SGD from DeepOBS's start points to the known minimum. */
static void sgd_to_min(const char *name, double f0, double lr, int64_t steps, double lr2, int64_t steps2, double umin,
                       double vmin, double fmin) {
    const dob_problem_spec *p = dob_problem_find(name);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    dob_dataset tr, va, te;
    TC_ASSERT_OK(dob_problem_data_load(p, NULL, 0, &tr, &va, &te));
    dob_net *net;
    TC_ASSERT_OK(dob_problem_net(p, &net));
    dob_arena *a = dob_net_arena(net);
    dob_arena_init(a, 42);
    const int64_t B = 128;
    TC_ASSERT_OK(dob_net_build(net, B));
    dob_tensor *x = dob_net_input_tensor(net), *out = dob_net_output(net);
    memset(x->data, 0, x->count * sizeof(float));
    TC_ASSERT_OK(dob_net_forward(net, 0));
    CU_ASSERT_DOUBLE_EQUAL(out->data[0], f0, 1e-6 * f0);
    uint32_t idx[128];
    float zeros[128] = {0};
    float *w = dob_arena_params(a), *g = dob_arena_grads(a);
    const size_t n = dob_arena_size(a);
    for (int64_t s = 0; s < steps + steps2; s++) {
        for (int64_t i = 0; i < B; i++) idx[i] = (uint32_t)((s * B + i) % tr.n);
        dob_dataset_gather(&tr, idx, B, x->data, NULL);
        dob_status st = dob_net_forward(net, 1);
        dob_loss_backward(DOB_LOSS_IDENTITY, out->data, zeros, B, 1, 1.0f / (float)B, out->diff);
        if (st == DOB_OK) st = dob_net_backward(net);
        if (st != DOB_OK) {
            TC_ASSERT_OK(st);
            break;
        }
        const float eta = (float)(s < steps ? lr : lr2); /* a two-piece schedule (--lr_sched_epochs) */
        for (size_t i = 0; i < n; i++) w[i] -= eta * g[i];
    }
    memset(x->data, 0, x->count * sizeof(float)); /* the test set: f(u, v) */
    TC_ASSERT_OK(dob_net_forward(net, 0));
    const float u = dob_arena_param(a, 0)[0], v = dob_arena_param(a, 1)[0];
    printf("\n    %s: SGD lr %g x %lld + %g x %lld steps from the start: (u, v) = (%.4f, %.4f), f = %.6f (minimum "
           "%.6f at (%.4f, %.4f)) ", name, lr, (long long)steps, lr2, (long long)steps2, u, v, out->data[0], fmin, umin,
           vmin);
    CU_ASSERT(fabs(u - umin) < 0.05 && fabs(v - vmin) < 0.05);
    CU_ASSERT(out->data[0] - fmin < 2e-3);
    dob_net_destroy(net);
    dob_dataset_free(&tr);
    dob_dataset_free(&te);
}

static void test_two_d(void) {
    const double pi = 3.14159265358979323846;
    sgd_to_min("two_d_rosenbrock", 158.5, 1.5e-3, 20000, 1.5e-3, 0, 1.0, 1.0, 0.0);
    sgd_to_min("two_d_beale", 169680.83203125, 3e-5, 20000, 1e-2, 10000, 3.0, 0.5, 0.0);
    sgd_to_min("two_d_branin", 95.8446684, 1e-2, 5000, 1e-2, 0, -pi, 12.275, 0.397887);
}

/* ---- the layers ---------------------------------------------------------------------------------------- */

enum { QD = 5 };
static void small_hessian(double *h, int64_t d) { /* symmetric, A^T A + I from fixed values */
    for (int64_t i = 0; i < d; i++)
        for (int64_t j = 0; j < d; j++) {
            double s = i == j ? 1.0 : 0.0;
            for (int64_t k = 0; k < d; k++) s += sin((double)(k * d + i + 1)) * sin((double)(k * d + j + 1));
            h[i * d + j] = s;
        }
}

static void test_quadratic_layer(void) {
    dob_net *net;
    int y;
    TC_ASSERT_OK(dob_net_create(&net, 1, (int64_t[]){QD}));
    const dob_quadratic_cfg c = {.dim = QD, .theta_init = {DOB_INIT_UNIFORM, -1.0f, 1.0f}, .make = small_hessian};
    TC_ASSERT_OK(dob_net_quadratic(net, "q", 0, &c, &y));
    TC_ASSERT_OK(dob_net_alloc(net));
    dob_arena_init(dob_net_arena(net), 3);
    dob_net_set_input_grad(net, 1);
    TC_ASSERT_OK(dob_net_build(net, 4));
    dob_tensor *x = dob_net_input_tensor(net);
    tc_fill(x->data, x->count, 4, 1, -1.0f, 1.0f);
    TC_ASSERT_OK(dob_net_forward(net, 1));
    double h[QD * QD];
    small_hessian(h, QD);
    const float *th = dob_arena_param(dob_net_arena(net), 0);
    float want[4];
    for (int i = 0; i < 4; i++) {
        double s = 0;
        for (int a = 0; a < QD; a++)
            for (int b = 0; b < QD; b++)
                s += 0.5 * (th[a] - x->data[i * QD + a]) * (float)h[a * QD + b] * (th[b] - x->data[i * QD + b]);
        want[i] = (float)s;
    }
    TC_ASSERT_CLOSE("quadratic forward", dob_net_output(net)->data, want, 4, 1e-6);
    CU_ASSERT_EQUAL(tc_gradcheck(net, (tc_gc_opts){.eps = 1e-2, .tol = 2e-3, .training = 1}, "quadratic"), 0);
    CU_ASSERT(tc_overwrite_check(net, "quadratic"));
    dob_net_destroy(net);
}

static void test_two_d_layer(void) {
    static const char *const names[] = {"rosenbrock", "beale", "branin"};
    for (int k = 0; k < 3; k++) {
        dob_net *net;
        int y;
        TC_ASSERT_OK(dob_net_create(&net, 1, (int64_t[]){2}));
        const dob_two_d_cfg c = {.kind = (dob_two_d_kind)k, .u0 = 0.6f, .v0 = 0.8f};
        TC_ASSERT_OK(dob_net_two_d(net, "f", 0, &c, &y));
        TC_ASSERT_OK(dob_net_alloc(net));
        dob_arena_init(dob_net_arena(net), 3);
        dob_net_set_input_grad(net, 1);
        TC_ASSERT_OK(dob_net_build(net, 3));
        dob_tensor *x = dob_net_input_tensor(net);
        tc_fill(x->data, x->count, 5, (uint64_t)k, -1.0f, 1.0f);
        TC_ASSERT_OK(dob_net_forward(net, 1));
        const double u = 0.6f, v = 0.8f, pi = 3.14159265358979323846;
        double f;
        if (k == 0) f = (1 - u) * (1 - u) + 100 * (v - u * u) * (v - u * u);
        else if (k == 1)
            f = pow(1.5 - u + u * v, 2) + pow(2.25 - u + u * v * v, 2) + pow(2.625 - u + u * v * v * v, 2);
        else
            f = pow(v - 5.1 / (4 * pi * pi) * u * u + 5 / pi * u - 6, 2) + 10 * (1 - 1 / (8 * pi)) * cos(u) + 10;
        float want[3];
        for (int i = 0; i < 3; i++) want[i] = (float)(f + u * x->data[2 * i] + v * x->data[2 * i + 1]);
        TC_ASSERT_CLOSE(names[k], dob_net_output(net)->data, want, 3, 1e-6);
        CU_ASSERT_EQUAL(tc_gradcheck(net, (tc_gc_opts){.eps = 1e-3, .tol = 5e-3, .training = 1}, names[k]), 0);
        CU_ASSERT(tc_overwrite_check(net, names[k]));
        dob_net_destroy(net);
    }
}

static void test_errors(void) {
    dob_net *net;
    int y;
    TC_ASSERT_OK(dob_net_create(&net, 1, (int64_t[]){3}));
    TC_ASSERT_FAILS(dob_net_two_d(net, "f", 0, &(dob_two_d_cfg){.kind = DOB_TWO_D_BEALE}, &y), DOB_EINVAL,
                    "expected inputs of 2 values");
    const dob_quadratic_cfg c = {.dim = 4, .make = small_hessian};
    TC_ASSERT_FAILS(dob_net_quadratic(net, "q", 0, &c, &y), DOB_EINVAL, "expected inputs of 4 values, found 3");
    dob_net_destroy(net);
}

static CU_TestInfo tests[] = {
    {"numpy_randomstate_and_data", test_numpy_rng},
    {"quadratic_deep_hessian", test_hessian},
    {"quadratic_deep_init_loss_and_sgd", test_quadratic_deep},
    {"two_d_sgd_reaches_minima", test_two_d},
    {"quadratic_layer_ref_fd", test_quadratic_layer},
    {"two_d_layer_ref_fd", test_two_d_layer},
    {"layer_errors", test_errors},
    CU_TEST_INFO_NULL,
};
CU_SuiteInfo synthetic_suite = {"synthetic", NULL, NULL, NULL, NULL, tests};
