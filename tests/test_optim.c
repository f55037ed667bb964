/* test_optim.c: the optimizers. Every built-in takes two steps (t = 1, 2) on a 5-vector with negative and zero
 * gradients, against the TF update rules written out in double, step by step, in this file; flat-arena and
 * per-tensor updates agree bitwise and keep the padding at 0; 1 and 2 threads agree bitwise; the registry and
 * the table/hyperparameter checks; the plugin loader (the sign-SGD example plugin, a non-ELF file, a missing
 * file, a library without the entry point, a wrong ABI version). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "dob/arena.h"
#include "dob/optim.h"
#include "tc.h"

#define N5 5
/* Element 2 has a zero gradient in both steps (like arena padding), element 3 only in the second. */
static const double P0[N5] = {0.5, -1.0, 2.0, 0.0, -0.25};
static const double G1[N5] = {0.1, -0.2, 0.0, 1.5, -3.0};
static const double G2[N5] = {-0.3, 0.4, 0.0, 0.0, 1.0};

/* Run two steps of `o` with hyperparameters hp from P0 (state zeroed, then init) and compare the params after
 * each step with want1/want2 (computed in double by the caller); if want_state is given, also state vector k
 * after step 2 (for state that only shows in the params from step 3 on). */
static void check_two_steps_state(const char *name, const double *hp, double lr, const double *want1,
                                  const double *want2, int k, const double *want_state) {
    const dob_optim_ops *o = dob_optim_find(name);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    TC_ASSERT_OK(dob_optim_check(o, lr, hp));
    float p[N5], g1[N5], g2[N5], w1[N5], w2[N5], st[DOB_OPTIM_MAX_STATE][N5];
    float *sp[DOB_OPTIM_MAX_STATE];
    memset(st, 0, sizeof st);
    for (int j = 0; j < DOB_OPTIM_MAX_STATE; j++) sp[j] = st[j];
    for (int i = 0; i < N5; i++) {
        p[i] = (float)P0[i];
        g1[i] = (float)G1[i];
        g2[i] = (float)G2[i];
        w1[i] = (float)want1[i];
        w2[i] = (float)want2[i];
    }
    if (o->init) o->init(sp, N5, hp);
    o->step(p, g1, sp, N5, (float)lr, hp, 1);
    char what[64];
    snprintf(what, sizeof what, "%s step 1", name);
    TC_ASSERT_CLOSE(what, p, w1, N5, 2e-6);
    o->step(p, g2, sp, N5, (float)lr, hp, 2);
    snprintf(what, sizeof what, "%s step 2", name);
    TC_ASSERT_CLOSE(what, p, w2, N5, 2e-6);
    if (want_state) {
        for (int i = 0; i < N5; i++) w2[i] = (float)want_state[i];
        snprintf(what, sizeof what, "%s state %d after step 2", name, k);
        TC_ASSERT_CLOSE(what, sp[k], w2, N5, 2e-6);
    }
}

static void check_two_steps(const char *name, const double *hp, double lr, const double *want1,
                            const double *want2) {
    check_two_steps_state(name, hp, lr, want1, want2, 0, NULL);
}

static void test_sgd(void) {
    const double lr = 0.1;
    double w1[N5], w2[N5];
    for (int i = 0; i < N5; i++) {
        w1[i] = P0[i] - lr * G1[i];
        w2[i] = w1[i] - lr * G2[i];
    }
    CU_ASSERT_DOUBLE_EQUAL(w1[4], -0.25 + 0.3, 1e-15); /* one literal, so the formula itself is checked */
    check_two_steps("sgd", NULL, lr, w1, w2);
}

static void test_momentum(void) {
    const double lr = 0.1, mu = 0.8, hp[] = {mu};
    double w1[N5], w2[N5];
    for (int i = 0; i < N5; i++) {
        double a1 = G1[i];               /* a = mu*0 + g1 */
        w1[i] = P0[i] - lr * a1;
        double a2 = mu * a1 + G2[i];
        w2[i] = w1[i] - lr * a2;
    }
    CU_ASSERT_DOUBLE_EQUAL(w2[3], 0.0 - 0.1 * 1.5 - 0.1 * 0.8 * 1.5, 1e-15); /* momentum carries a zero grad */
    check_two_steps("momentum", hp, lr, w1, w2);
}

static void test_nesterov(void) {
    const double lr = 0.1, mu = 0.8, hp[] = {mu};
    double w1[N5], w2[N5];
    for (int i = 0; i < N5; i++) {
        double a1 = G1[i];
        w1[i] = P0[i] - lr * (G1[i] + mu * a1);
        double a2 = mu * a1 + G2[i];
        w2[i] = w1[i] - lr * (G2[i] + mu * a2);
    }
    CU_ASSERT_DOUBLE_EQUAL(w1[0], 0.5 - 0.1 * (0.1 + 0.08), 1e-15);
    check_two_steps("nesterov", hp, lr, w1, w2);
}

static void test_adam(void) {
    const double lr = 0.01, b1 = 0.8, b2 = 0.99, eps = 1e-2, hp[] = {b1, b2, eps};
    double w1[N5], w2[N5];
    for (int i = 0; i < N5; i++) {
        double m1 = (1 - b1) * G1[i], v1 = (1 - b2) * G1[i] * G1[i];
        double lr1 = lr * sqrt(1 - b2) / (1 - b1);
        w1[i] = P0[i] - lr1 * m1 / (sqrt(v1) + eps);
        double m2 = b1 * m1 + (1 - b1) * G2[i], v2 = b2 * v1 + (1 - b2) * G2[i] * G2[i];
        double lr2 = lr * sqrt(1 - b2 * b2) / (1 - b1 * b1);
        w2[i] = w1[i] - lr2 * m2 / (sqrt(v2) + eps);
    }
    /* TF form, t = 1: the step is lr * g / (|g| + eps / sqrt(1 - b2)): with g = -3, 0.01 * 3 / (3 + 0.1) */
    CU_ASSERT_DOUBLE_EQUAL(w1[4], -0.25 + 0.01 * 3.0 / 3.1, 1e-12);
    check_two_steps("adam", hp, lr, w1, w2);
}

static void test_adamw(void) {
    const double lr = 0.01, b1 = 0.8, b2 = 0.99, eps = 1e-2, wd = 0.5, hp[] = {b1, b2, eps, wd};
    double w1[N5], w2[N5];
    for (int i = 0; i < N5; i++) {
        double m1 = (1 - b1) * G1[i], v1 = (1 - b2) * G1[i] * G1[i];
        double lr1 = lr * sqrt(1 - b2) / (1 - b1);
        w1[i] = P0[i] - lr * wd * P0[i] - lr1 * m1 / (sqrt(v1) + eps);
        double m2 = b1 * m1 + (1 - b1) * G2[i], v2 = b2 * v1 + (1 - b2) * G2[i] * G2[i];
        double lr2 = lr * sqrt(1 - b2 * b2) / (1 - b1 * b1);
        w2[i] = w1[i] - lr * wd * w1[i] - lr2 * m2 / (sqrt(v2) + eps);
    }
    CU_ASSERT_DOUBLE_EQUAL(w1[2], 2.0 * (1 - 0.005), 1e-15); /* zero gradient: decay only */
    check_two_steps("adamw", hp, lr, w1, w2);
}

static void test_rmsprop(void) {
    const double lr = 0.01, rho = 0.7, mu = 0.5, eps = 1e-3, hp[] = {rho, mu, eps};
    double w1[N5], w2[N5];
    for (int i = 0; i < N5; i++) {
        double ms0 = 1.0; /* TF initialises the mean square with ones */
        double ms1 = rho * ms0 + (1 - rho) * G1[i] * G1[i];
        double mom1 = lr * G1[i] / sqrt(ms1 + eps);
        w1[i] = P0[i] - mom1;
        double ms2 = rho * ms1 + (1 - rho) * G2[i] * G2[i];
        double mom2 = mu * mom1 + lr * G2[i] / sqrt(ms2 + eps);
        w2[i] = w1[i] - mom2;
    }
    CU_ASSERT_DOUBLE_EQUAL(w1[0], 0.5 - 0.01 * 0.1 / sqrt(0.7 + 0.3 * 0.01 + 1e-3), 1e-15);
    check_two_steps("rmsprop", hp, lr, w1, w2);
}

static void test_adagrad(void) {
    const double lr = 0.1, a0 = 0.2, hp[] = {a0};
    double w1[N5], w2[N5];
    for (int i = 0; i < N5; i++) {
        double acc1 = a0 + G1[i] * G1[i];
        w1[i] = P0[i] - lr * G1[i] / sqrt(acc1);
        double acc2 = acc1 + G2[i] * G2[i];
        w2[i] = w1[i] - lr * G2[i] / sqrt(acc2);
    }
    CU_ASSERT_DOUBLE_EQUAL(w1[3], -0.1 * 1.5 / sqrt(0.2 + 2.25), 1e-15);
    check_two_steps("adagrad", hp, lr, w1, w2);
}

static void test_adadelta(void) {
    const double lr = 1.0, rho = 0.6, eps = 1e-2, hp[] = {rho, eps};
    double w1[N5], w2[N5], au2[N5];
    for (int i = 0; i < N5; i++) {
        double acc1 = (1 - rho) * G1[i] * G1[i];
        double upd1 = sqrt(0.0 + eps) / sqrt(acc1 + eps) * G1[i];
        double au1 = (1 - rho) * upd1 * upd1;
        w1[i] = P0[i] - lr * upd1;
        double acc2 = rho * acc1 + (1 - rho) * G2[i] * G2[i];
        double upd2 = sqrt(au1 + eps) / sqrt(acc2 + eps) * G2[i];
        w2[i] = w1[i] - lr * upd2;
        au2[i] = rho * au1 + (1 - rho) * upd2 * upd2; /* enters the params only at step 3 */
    }
    CU_ASSERT_DOUBLE_EQUAL(w1[0], 0.5 - 0.1 * 0.1 / sqrt(0.4 * 0.01 + 0.01), 1e-15);
    check_two_steps_state("adadelta", hp, lr, w1, w2, 1, au2);
}

/* Non-default hyperparameters for every built-in (inside the ranges; so that a swapped order shows). */
static void test_hp(const dob_optim_ops *o, double *hp) {
    dob_optim_defaults(o, hp);
    for (int k = 0; k < o->n_hparams; k++) {
        const dob_hparam_spec *h = &o->hparams[k];
        hp[k] = h->def > 0 ? h->def * 0.9 : 0.3 * h->hi; /* defaults of 0 (rmsprop momentum) get 0.3 of hi */
        if (hp[k] > h->hi) hp[k] = h->hi;
    }
}

/* ---- flat arena vs per-tensor slices ------------------------------------------------------------------ */
static void test_flat_vs_per_tensor(void) {
    dob_arena *a;
    TC_ASSERT_OK(dob_arena_create(&a));
    const int64_t shapes[3][2] = {{7, 3}, {5, 1}, {13, 1}}; /* 21, 5, 13 floats: padding after each */
    int ids[3];
    for (int k = 0; k < 3; k++)
        TC_ASSERT_OK(dob_arena_reserve(a, k == 0 ? "w" : k == 1 ? "b" : "c", 2, shapes[k], 3, 7,
                                       (dob_init){DOB_INIT_UNIFORM, -1, 1}, 0, &ids[k]));
    TC_ASSERT_OK(dob_arena_alloc(a, 0));
    const size_t n = dob_arena_size(a);
    CU_ASSERT_FATAL(n > dob_arena_param_count(a)); /* the test needs padding */
    float *p2 = malloc(n * sizeof *p2), *s2 = calloc(n * DOB_OPTIM_MAX_STATE, sizeof *s2);
    CU_ASSERT_FATAL(p2 && s2);
    for (int oi = 0; oi < dob_optim_builtin_count(); oi++) {
        const dob_optim_ops *o = dob_optim_builtin(oi);
        double hp[DOB_OPTIM_MAX_HP];
        test_hp(o, hp);
        TC_ASSERT_OK(dob_optim_check(o, 0.05, hp));
        TC_ASSERT_OK(dob_arena_set_state_count(a, o->state_count));
        dob_arena_init(a, 7);
        float *p = dob_arena_params(a), *g = dob_arena_grads(a), *sa[DOB_OPTIM_MAX_STATE], *sb[DOB_OPTIM_MAX_STATE];
        for (int k = 0; k < o->state_count; k++) sa[k] = dob_arena_state(a, k);
        memcpy(p2, p, n * sizeof *p2);
        memset(s2, 0, n * DOB_OPTIM_MAX_STATE * sizeof *s2);
        /* flat: init and two steps over all n floats, padding included */
        if (o->init) o->init(sa, n, hp);
        for (int t = 1; t <= 2; t++) {
            for (int k = 0; k < 3; k++)
                tc_fill(dob_arena_grad(a, ids[k]), dob_arena_info(a, ids[k])->count, 11, (uint64_t)(10 * t + k),
                        -2, 2);
            o->step(p, g, sa, n, 0.05f, hp, t);
            /* per tensor: the same updates on each slice of a separate copy */
            for (int k = 0; k < 3; k++) {
                const dob_param_info *in = dob_arena_info(a, ids[k]);
                for (int s = 0; s < o->state_count; s++) sb[s] = s2 + (size_t)s * n + in->offset;
                if (t == 1 && o->init) o->init(sb, in->count, hp);
                o->step(p2 + in->offset, g + in->offset, sb, in->count, 0.05f, hp, t);
            }
        }
        int same = 1;
        for (int k = 0; k < 3; k++) {
            const dob_param_info *in = dob_arena_info(a, ids[k]);
            same &= memcmp(p + in->offset, p2 + in->offset, in->count * sizeof *p) == 0;
        }
        size_t nonzero_pad = 0, changed = 0;
        for (size_t i = 0; i < n; i++) {
            int in_tensor = 0;
            for (int k = 0; k < 3; k++) {
                const dob_param_info *in = dob_arena_info(a, ids[k]);
                if (i >= in->offset && i < in->offset + in->count) in_tensor = 1;
            }
            if (!in_tensor && p[i] != 0.0f) nonzero_pad++;
            if (in_tensor && p[i] != p2[i]) changed++;
        }
        if (!same || nonzero_pad)
            fprintf(stderr, "\n    %s: flat vs per-tensor: %zu elements differ, %zu padding elements non-zero\n",
                    o->name, changed, nonzero_pad);
        CU_ASSERT(same);
        CU_ASSERT_EQUAL(nonzero_pad, 0);
    }
    free(p2);
    free(s2);
    dob_arena_destroy(a);
}

/* ---- thread-count independence ------------------------------------------------------------------------ */
static void run_threads(const dob_optim_ops *o, const double *hp, int threads, float *p, const float *g, float *s,
                        size_t n) {
#ifdef _OPENMP
    omp_set_num_threads(threads);
#else
    (void)threads;
#endif
    float *sp[DOB_OPTIM_MAX_STATE];
    for (int k = 0; k < o->state_count; k++) sp[k] = s + (size_t)k * n;
    if (o->init) o->init(sp, n, hp);
    for (int t = 1; t <= 3; t++) o->step(p, g + (size_t)(t - 1) * n, sp, n, 0.01f, hp, t);
}

static void test_threads(void) {
    const size_t n = 10007;
#ifdef _OPENMP
    const int nt = omp_get_max_threads();
#endif
    float *g = malloc(3 * n * sizeof *g), *p1 = malloc(n * sizeof *p1), *p2 = malloc(n * sizeof *p2);
    float *s1 = calloc(n * DOB_OPTIM_MAX_STATE, sizeof *s1), *s2 = calloc(n * DOB_OPTIM_MAX_STATE, sizeof *s2);
    CU_ASSERT_FATAL(g && p1 && p2 && s1 && s2);
    tc_fill(g, 3 * n, 5, 1, -1, 1);
    for (int oi = 0; oi < dob_optim_builtin_count(); oi++) {
        const dob_optim_ops *o = dob_optim_builtin(oi);
        double hp[DOB_OPTIM_MAX_HP];
        test_hp(o, hp);
        tc_fill(p1, n, 5, 2, -1, 1);
        memcpy(p2, p1, n * sizeof *p1);
        memset(s1, 0, n * DOB_OPTIM_MAX_STATE * sizeof *s1);
        memset(s2, 0, n * DOB_OPTIM_MAX_STATE * sizeof *s2);
        run_threads(o, hp, 1, p1, g, s1, n);
        run_threads(o, hp, 2, p2, g, s2, n);
        int same = memcmp(p1, p2, n * sizeof *p1) == 0 &&
                   memcmp(s1, s2, (size_t)o->state_count * n * sizeof *s1) == 0;
        if (!same) fprintf(stderr, "\n    %s: 1 and 2 threads differ\n", o->name);
        CU_ASSERT(same);
        /* the same three steps on slices of 997 (a prime: odd vector tails) give the same bits */
        tc_fill(p2, n, 5, 2, -1, 1);
        memset(s2, 0, n * DOB_OPTIM_MAX_STATE * sizeof *s2);
        float *sp[DOB_OPTIM_MAX_STATE];
        for (size_t off = 0; off < n; off += 997) {
            const size_t len = n - off < 997 ? n - off : 997;
            for (int k = 0; k < o->state_count; k++) sp[k] = s2 + (size_t)k * n + off;
            if (o->init) o->init(sp, len, hp);
            for (int t = 1; t <= 3; t++) o->step(p2 + off, g + (size_t)(t - 1) * n + off, sp, len, 0.01f, hp, t);
        }
        same = memcmp(p1, p2, n * sizeof *p1) == 0;
        if (!same) fprintf(stderr, "\n    %s: whole vector and slices of 997 differ\n", o->name);
        CU_ASSERT(same);
    }
#ifdef _OPENMP
    omp_set_num_threads(nt);
#endif
    free(g), free(p1), free(p2), free(s1), free(s2);
}

/* ---- registry and checks ------------------------------------------------------------------------------ */
static void test_registry(void) {
    static const char *const names[] = {"sgd",  "momentum", "nesterov", "adam",
                                        "adamw", "rmsprop", "adagrad",  "adadelta"};
    CU_ASSERT_EQUAL(dob_optim_builtin_count(), 8);
    for (int i = 0; i < 8; i++) {
        const dob_optim_ops *o = dob_optim_find(names[i]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(o);
        CU_ASSERT_PTR_EQUAL(dob_optim_builtin(i), o);
        TC_ASSERT_OK(dob_optim_check_ops(o));
        double hp[DOB_OPTIM_MAX_HP];
        dob_optim_defaults(o, hp);
        TC_ASSERT_OK(dob_optim_check(o, 0.01, hp));
    }
    CU_ASSERT_PTR_NULL(dob_optim_find("adamax"));
    CU_ASSERT_PTR_NULL(dob_optim_builtin(8));
    CU_ASSERT_PTR_NULL(dob_optim_builtin(-1));
    const dob_optim_ops *adam = dob_optim_find("adam");
    CU_ASSERT_STRING_EQUAL(adam->deepobs_name, "AdamOptimizer");
    CU_ASSERT_EQUAL(dob_optim_hp_index(adam, "beta2"), 1);
    CU_ASSERT_EQUAL(dob_optim_hp_index(adam, "epsilon"), 2);
    CU_ASSERT_EQUAL(dob_optim_hp_index(adam, "momentum"), -1);
    CU_ASSERT_EQUAL(dob_optim_hp_index(dob_optim_find("adamw"), "decoupled_weight_decay"), 3);
    CU_ASSERT_EQUAL(dob_optim_hp_index(dob_optim_find("rmsprop"), "momentum"), 1);
    CU_ASSERT_STRING_EQUAL(dob_optim_find("momentum")->deepobs_name, "MomentumOptimizer");
    CU_ASSERT_STRING_EQUAL(dob_optim_find("sgd")->deepobs_name, "GradientDescentOptimizer");
}

static void test_check(void) {
    const dob_optim_ops *adam = dob_optim_find("adam"), *mom = dob_optim_find("momentum");
    double hp[DOB_OPTIM_MAX_HP];
    dob_optim_defaults(adam, hp);
    TC_ASSERT_FAILS(dob_optim_check(adam, -0.1, hp), DOB_EINVAL, "--lr (learning rate) must be finite and > 0, "
                                                                  "found -0.1");
    TC_ASSERT_FAILS(dob_optim_check(adam, 0.0, hp), DOB_EINVAL, "found 0");
    TC_ASSERT_FAILS(dob_optim_check(adam, NAN, hp), DOB_EINVAL, "--lr");
    hp[0] = 1.0;
    TC_ASSERT_FAILS(dob_optim_check(adam, 0.1, hp), DOB_EINVAL, "adam: --beta1 must be in [0, 0.999999999], found 1");
    hp[0] = 0.9;
    hp[2] = 0.0;
    TC_ASSERT_FAILS(dob_optim_check(adam, 0.1, hp), DOB_EINVAL, "--epsilon must be in [1e-30, 1000], found 0");
    hp[2] = NAN;
    TC_ASSERT_FAILS(dob_optim_check(adam, 0.1, hp), DOB_EINVAL, "--epsilon");
    double m[1] = {1.5};
    TC_ASSERT_FAILS(dob_optim_check(mom, 0.1, m), DOB_EINVAL, "momentum: --momentum must be in [0, 1], found 1.5");
    m[0] = -0.1;
    TC_ASSERT_FAILS(dob_optim_check(mom, 0.1, m), DOB_EINVAL, "found -0.1");
    m[0] = 1.0; /* closed range: the bound itself is accepted */
    TC_ASSERT_OK(dob_optim_check(mom, 0.1, m));
    TC_ASSERT_FAILS(dob_optim_check(mom, 0.1, NULL), DOB_EINVAL, "expected 1 hyperparameter values");
    TC_ASSERT_OK(dob_optim_check(dob_optim_find("sgd"), 0.1, NULL));
}

static void noop_step(float *params, const float *grads, float *const *state, size_t n, float lr, const double *hp,
                      int64_t t) {
    (void)params, (void)grads, (void)state, (void)n, (void)lr, (void)hp, (void)t;
}

static void test_check_api(void) {
    const dob_optim_ops good = {DOB_OPTIM_ABI_VERSION, "x", "XOptimizer", 1, {{"alpha", 0.5, 0, 1, 0, "h"}}, 1,
                                NULL, noop_step};
    dob_optim_ops o = good;
    TC_ASSERT_OK(dob_optim_check_ops(&o));
    o.abi_version = 2;
    TC_ASSERT_FAILS(dob_optim_check_ops(&o), DOB_EINVAL, "expected optimizer ABI version 1");
    o = good, o.name = NULL;
    TC_ASSERT_FAILS(dob_optim_check_ops(&o), DOB_EINVAL, "found NULL");
    o = good, o.name = "Bad Name";
    TC_ASSERT_FAILS(dob_optim_check_ops(&o), DOB_EINVAL, "found 'Bad Name'");
    o = good, o.deepobs_name = NULL;
    TC_ASSERT_FAILS(dob_optim_check_ops(&o), DOB_EINVAL, "deepobs_name");
    o = good, o.step = NULL;
    TC_ASSERT_FAILS(dob_optim_check_ops(&o), DOB_EINVAL, "optimizer x: step function is NULL");
    o = good, o.n_hparams = 9;
    TC_ASSERT_FAILS(dob_optim_check_ops(&o), DOB_EINVAL, "expected 0..8 hyperparameters (DOB_OPTIM_MAX_HP), found 9");
    o = good, o.state_count = -1;
    TC_ASSERT_FAILS(dob_optim_check_ops(&o), DOB_EINVAL, "found state_count -1");
    o = good, o.hparams[0].def = 2.0;
    TC_ASSERT_FAILS(dob_optim_check_ops(&o), DOB_EINVAL, "'alpha': expected finite lo <= default <= hi, found lo 0, "
                                                         "default 2, hi 1");
    o = good, o.hparams[0].help = NULL;
    TC_ASSERT_FAILS(dob_optim_check_ops(&o), DOB_EINVAL, "'alpha' has no help string");
    o = good, o.hparams[0].name = "weight_decay";
    TC_ASSERT_FAILS(dob_optim_check_ops(&o), DOB_EINVAL, "'weight_decay' is reserved");
    o = good, o.n_hparams = 2, o.hparams[1] = o.hparams[0];
    TC_ASSERT_FAILS(dob_optim_check_ops(&o), DOB_EINVAL, "'alpha' is listed twice");
}

/* ---- plugins ------------------------------------------------------------------------------------------ */
static void test_plugin_ok(void) {
    const dob_optim_ops *o = NULL;
    TC_ASSERT_OK(dob_optim_load_plugin(DOB_TEST_PLUGIN, &o));
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_STRING_EQUAL(o->name, "sign_sgd");
    CU_ASSERT_EQUAL(o->n_hparams, 1);
    CU_ASSERT_EQUAL(dob_optim_hp_index(o, "beta"), 0);
    double hp[1];
    dob_optim_defaults(o, hp);
    CU_ASSERT_DOUBLE_EQUAL(hp[0], 0.0, 0);
    TC_ASSERT_OK(dob_optim_check(o, 0.1, hp));
    /* one signSGD step: theta -= lr * sign(g); sign(0) = 0 */
    float p[N5], g[N5], m[N5] = {0}, want[N5];
    float *sp[1] = {m};
    for (int i = 0; i < N5; i++) {
        p[i] = (float)P0[i];
        g[i] = (float)G1[i];
        want[i] = (float)(P0[i] - 0.1 * (G1[i] > 0 ? 1 : G1[i] < 0 ? -1 : 0));
    }
    o->step(p, g, sp, N5, 0.1f, hp, 1);
    TC_ASSERT_CLOSE("sign_sgd step", p, want, N5, 1e-7);
    CU_ASSERT_DOUBLE_EQUAL(p[2], 2.0, 0);
    /* loading again works (dlopen reference count) and gives the same table */
    const dob_optim_ops *o2 = NULL;
    TC_ASSERT_OK(dob_optim_load_plugin(DOB_TEST_PLUGIN, &o2));
    CU_ASSERT_PTR_EQUAL(o, o2);
}

static void test_plugin_errors(void) {
    static const dob_optim_ops dummy;
    const dob_optim_ops *o = &dummy; /* must be reset to NULL on failure */
    TC_ASSERT_FAILS(dob_optim_load_plugin("/nonexistent/dir/libopt.so", &o), DOB_ENOENT,
                    "optimizer plugin '/nonexistent/dir/libopt.so': file not found");
    CU_ASSERT_PTR_NULL(o);
    CU_ASSERT_PTR_NOT_NULL(strstr(dob_last_error(), "No such file")); /* the dlerror text */
    TC_ASSERT_FAILS(dob_optim_load_plugin("", &o), DOB_EINVAL, "expected a file path");

    char path[] = "/tmp/dob_test_notso_XXXXXX";
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    const char junk[] = "this is a text file, not an ELF shared object\n";
    CU_ASSERT(write(fd, junk, sizeof junk - 1) == (ssize_t)(sizeof junk - 1));
    close(fd);
    char want[128];
    snprintf(want, sizeof want, "optimizer plugin '%s': cannot load it as a shared object", path);
    TC_ASSERT_FAILS(dob_optim_load_plugin(path, &o), DOB_EFORMAT, want);
    unlink(path);

    TC_ASSERT_FAILS(dob_optim_load_plugin(DOB_TEST_PLUGIN_NO_SYMBOL, &o), DOB_EFORMAT,
                    "expected the symbol dob_optim_plugin");
    CU_ASSERT_PTR_NOT_NULL(strstr(dob_last_error(), DOB_TEST_PLUGIN_NO_SYMBOL));
    CU_ASSERT_PTR_NOT_NULL(strstr(dob_last_error(), "undefined symbol")); /* the dlerror text */

    snprintf(want, sizeof want, "optimizer plugin '%s': expected optimizer ABI version 1", DOB_TEST_PLUGIN_BAD_ABI);
    TC_ASSERT_FAILS(dob_optim_load_plugin(DOB_TEST_PLUGIN_BAD_ABI, &o), DOB_EINVAL, want);
    CU_ASSERT_PTR_NOT_NULL(strstr(dob_last_error(), "found 999"));
    CU_ASSERT_PTR_NULL(o);
}

static CU_TestInfo tests[] = {
    {"sgd two steps", test_sgd},
    {"momentum two steps", test_momentum},
    {"nesterov two steps", test_nesterov},
    {"adam two steps (TF form)", test_adam},
    {"adamw two steps", test_adamw},
    {"rmsprop two steps (ms = 1 init)", test_rmsprop},
    {"adagrad two steps", test_adagrad},
    {"adadelta two steps", test_adadelta},
    {"flat arena = per tensor, padding 0", test_flat_vs_per_tensor},
    {"1 vs 2 threads, slices: bitwise", test_threads},
    {"registry", test_registry},
    {"lr and hp range checks", test_check},
    {"table validation", test_check_api},
    {"plugin loads and steps", test_plugin_ok},
    {"plugin errors", test_plugin_errors},
    CU_TEST_INFO_NULL,
};
CU_SuiteInfo optim_suite = {"optim", NULL, NULL, NULL, NULL, tests};
