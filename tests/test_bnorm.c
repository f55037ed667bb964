/* test_bnorm.c: batch normalisation: parameters and buffers in the arena, forward in training and inference mode
 * against the naive reference, the moving statistics after one and two steps against hand-computed values (TF's
 * update, Bessel factor for 4-D inputs only), backward against the reference and by finite differences, overwrite
 * semantics, and the sync-BN path with fake sum hooks (one rank, two identical ranks, a failing hook). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "ref/ref_bnorm.h"
#include "tc.h"

enum { P_GAMMA, P_BETA, P_MEAN, P_VAR };
enum { BATCH = 3, CH = 5 };

typedef struct bn_shape {
    int ndim;            /* per example */
    int64_t dims[3];
    int64_t s;           /* elements per channel per example */
} bn_shape;
static const bn_shape shapes[] = {{3, {CH, 7, 3}, 21}, {1, {CH}, 1}};
enum { N_SHAPES = sizeof shapes / sizeof *shapes };

/* input -> bnorm "bn" [-> tanh]. gamma U(0.5, 1.5), beta U(-0.5, 0.5); input U(-1, 3) (mean away from 0). */
static dob_net *make_net(const bn_shape *sh, dob_bnorm_cfg cfg, int input_grad, int tanh_after, uint64_t seed) {
    dob_net *net = NULL;
    int y;
    if (dob_net_create(&net, sh->ndim, sh->dims) != DOB_OK) goto fail;
    if (dob_net_bnorm(net, "bn", dob_net_input(net), &cfg, &y) != DOB_OK) goto fail;
    if (tanh_after && dob_net_act(net, "tanh", y, &(dob_act_cfg){DOB_ACT_TANH, 0}, &y) != DOB_OK) goto fail;
    if (dob_net_alloc(net) != DOB_OK) goto fail;
    dob_arena *a = dob_net_arena(net);
    dob_arena_init(a, seed);
    tc_fill(dob_arena_param(a, P_GAMMA), CH, seed, 1, 0.5f, 1.5f);
    tc_fill(dob_arena_param(a, P_BETA), CH, seed, 2, -0.5f, 0.5f);
    dob_net_set_input_grad(net, input_grad);
    if (dob_net_build(net, BATCH) != DOB_OK) goto fail;
    tc_fill(dob_net_input_tensor(net)->data, dob_net_input_tensor(net)->count, seed, 3, -1.0f, 3.0f);
    return net;
fail:
    fprintf(stderr, "\n    make_net: %s\n", dob_last_error());
    dob_net_destroy(net);
    return NULL;
}

static void test_params(void) {
    dob_net *net = make_net(&shapes[0], (dob_bnorm_cfg){0.99f, 1e-3f}, 0, 0, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    dob_arena *a = dob_net_arena(net);
    const char *names[] = {"bn/gamma", "bn/beta", "bn/moving_mean", "bn/moving_variance"};
    const unsigned flags[] = {0u, 0u, DOB_PARAM_BUFFER, DOB_PARAM_BUFFER};
    CU_ASSERT_EQUAL_FATAL(dob_arena_tensor_count(a), 4);
    for (int k = 0; k < 4; k++) {
        CU_ASSERT_STRING_EQUAL(dob_arena_info(a, k)->name, names[k]);
        CU_ASSERT_EQUAL(dob_arena_info(a, k)->flags, flags[k]);
        CU_ASSERT(dob_arena_info(a, k)->ndim == 1 && dob_arena_info(a, k)->dims[0] == CH);
    }
    CU_ASSERT_EQUAL(dob_arena_param_count(a), 2 * CH);
    CU_ASSERT_PTR_NULL(dob_arena_grad(a, P_MEAN));
    dob_arena_init(a, 3);
    for (int c = 0; c < CH; c++) {
        CU_ASSERT_EQUAL(dob_arena_param(a, P_GAMMA)[c], 1.0f);
        CU_ASSERT_EQUAL(dob_arena_param(a, P_BETA)[c], 0.0f);
        CU_ASSERT_EQUAL(dob_arena_param(a, P_MEAN)[c], 0.0f);
        CU_ASSERT_EQUAL(dob_arena_param(a, P_VAR)[c], 1.0f);
    }
    dob_tensor *y = dob_net_output(net);
    CU_ASSERT(y->ndim == 4 && y->dims[1] == CH && y->dims[2] == 7 && y->dims[3] == 3);
    dob_net_destroy(net);
}

/* Forward in training mode, then in inference mode with set moving statistics, against the reference. */
static void test_forward_ref(void) {
    const float eps = 1e-3f;
    for (int si = 0; si < N_SHAPES; si++) {
        const bn_shape *sh = &shapes[si];
        dob_net *net = make_net(sh, (dob_bnorm_cfg){0.9f, eps}, 0, 0, 10 + (uint64_t)si);
        CU_ASSERT_PTR_NOT_NULL_FATAL(net);
        dob_arena *a = dob_net_arena(net);
        dob_tensor *x = dob_net_input_tensor(net), *y = dob_net_output(net);
        float *want = malloc(y->count * sizeof *want);
        const float *g = dob_arena_param(a, P_GAMMA), *b = dob_arena_param(a, P_BETA);
        TC_ASSERT_OK(dob_net_forward(net, 1));
        ref_bnorm_train(x->data, g, b, BATCH, CH, sh->s, eps, want, NULL, NULL);
        TC_ASSERT_CLOSE(si ? "bn 2-D training forward" : "bn 4-D training forward", y->data, want, y->count, 1e-5);
        float *mm = dob_arena_param(a, P_MEAN), *mv = dob_arena_param(a, P_VAR);
        tc_fill(mm, CH, 5, 5, -1.0f, 1.0f);
        tc_fill(mv, CH, 5, 6, 0.5f, 2.0f);
        float mm0[CH], mv0[CH];
        memcpy(mm0, mm, sizeof mm0);
        memcpy(mv0, mv, sizeof mv0);
        TC_ASSERT_OK(dob_net_forward(net, 0));
        ref_bnorm_infer(x->data, g, b, mm, mv, BATCH, CH, sh->s, eps, want);
        TC_ASSERT_CLOSE(si ? "bn 2-D inference forward" : "bn 4-D inference forward", y->data, want, y->count,
                        1e-5);
        /* inference leaves the moving statistics alone */
        CU_ASSERT_EQUAL(memcmp(mm0, mm, sizeof mm0), 0);
        CU_ASSERT_EQUAL(memcmp(mv0, mv, sizeof mv0), 0);
        free(want);
        dob_net_destroy(net);
    }
}

/* Moving statistics after one and two training steps, by hand: TF's moving -= (1 - momentum)(moving - stat),
 * with the batch variance times n/(n-1) for 4-D inputs (TF fused kernel) and biased for 2-D ones. */
static void test_moving_stats(void) {
    const double mom = 0.9;
    for (int si = 0; si < N_SHAPES; si++) {
        const bn_shape *sh = &shapes[si];
        dob_net *net = make_net(sh, (dob_bnorm_cfg){(float)mom, 1e-3f}, 0, 0, 20 + (uint64_t)si);
        CU_ASSERT_PTR_NOT_NULL_FATAL(net);
        dob_arena *a = dob_net_arena(net);
        dob_tensor *x = dob_net_input_tensor(net), *y = dob_net_output(net);
        const double n = (double)(BATCH * sh->s), bessel = sh->ndim == 3 ? n / (n - 1.0) : 1.0;
        double mm[CH], mv[CH], m[CH], v[CH];
        for (int c = 0; c < CH; c++) mm[c] = 0.0, mv[c] = 1.0;
        float *ybuf = malloc(y->count * sizeof *ybuf), want_m[CH], want_v[CH];
        for (int step = 0; step < 2; step++) {
            tc_fill(x->data, x->count, 30, (uint64_t)(si * 2 + step), step ? 2.0f : -1.0f, step ? 5.0f : 1.0f);
            TC_ASSERT_OK(dob_net_forward(net, 1));
            ref_bnorm_train(x->data, dob_arena_param(a, P_GAMMA), dob_arena_param(a, P_BETA), BATCH, CH, sh->s,
                            1e-3, ybuf, m, v);
            for (int c = 0; c < CH; c++) {
                mm[c] = mom * mm[c] + (1 - mom) * m[c];
                mv[c] = mom * mv[c] + (1 - mom) * v[c] * bessel;
                want_m[c] = (float)mm[c];
                want_v[c] = (float)mv[c];
            }
            char what[64];
            snprintf(what, sizeof what, "%s moving_mean after step %d", si ? "2-D" : "4-D", step + 1);
            TC_ASSERT_CLOSE(what, dob_arena_param(a, P_MEAN), want_m, CH, 1e-6);
            snprintf(what, sizeof what, "%s moving_variance after step %d", si ? "2-D" : "4-D", step + 1);
            TC_ASSERT_CLOSE(what, dob_arena_param(a, P_VAR), want_v, CH, 1e-6);
        }
        free(ybuf);
        dob_net_destroy(net);
    }
    /* a concrete number: 4-D, one channel, x = 0..5 over (N=2, H=3): mean 2.5, biased var 35/12, n/(n-1) = 6/5,
     * so moving_variance = 0.5 * 1 + 0.5 * 3.5 = 2.25 and moving_mean = 1.25 with momentum 0.5 */
    dob_net *net;
    TC_ASSERT_OK(dob_net_create(&net, 3, (int64_t[]){1, 3, 1}));
    TC_ASSERT_OK(dob_net_bnorm(net, "bn", 0, &(dob_bnorm_cfg){0.5f, 1e-3f}, NULL));
    TC_ASSERT_OK(dob_net_alloc(net));
    dob_arena_init(dob_net_arena(net), 1);
    TC_ASSERT_OK(dob_net_build(net, 2));
    for (int i = 0; i < 6; i++) dob_net_input_tensor(net)->data[i] = (float)i;
    TC_ASSERT_OK(dob_net_forward(net, 1));
    CU_ASSERT_DOUBLE_EQUAL(dob_arena_param(dob_net_arena(net), P_MEAN)[0], 1.25, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(dob_arena_param(dob_net_arena(net), P_VAR)[0], 2.25, 1e-6);
    dob_net_destroy(net);
}

/* Backward against the reference, with and without an input gradient (bnorm reading the net input). */
static void test_backward_ref(void) {
    for (int si = 0; si < N_SHAPES; si++)
        for (int ig = 0; ig < 2; ig++) {
            const bn_shape *sh = &shapes[si];
            dob_net *net = make_net(sh, (dob_bnorm_cfg){0.99f, 1e-3f}, ig, 0, 40 + (uint64_t)si);
            CU_ASSERT_PTR_NOT_NULL_FATAL(net);
            dob_arena *a = dob_net_arena(net);
            dob_tensor *x = dob_net_input_tensor(net), *y = dob_net_output(net);
            TC_ASSERT_OK(dob_net_forward(net, 1));
            tc_fill(y->diff, y->count, 41, (uint64_t)si, -1.0f, 1.0f);
            TC_ASSERT_OK(dob_net_backward(net));
            float *dx = malloc(x->count * sizeof *dx), dg[CH], db[CH];
            ref_bnorm_backward(x->data, dob_arena_param(a, P_GAMMA), y->diff, BATCH, CH, sh->s, 1e-3, dx, dg, db);
            TC_ASSERT_CLOSE("bn d gamma", dob_arena_grad(a, P_GAMMA), dg, CH, 1e-5);
            TC_ASSERT_CLOSE("bn d beta", dob_arena_grad(a, P_BETA), db, CH, 1e-5);
            if (ig) TC_ASSERT_CLOSE("bn dx", x->diff, dx, x->count, 1e-5);
            free(dx);
            dob_net_destroy(net);
        }
}

static void test_gradcheck(void) {
    for (int si = 0; si < N_SHAPES; si++)
        for (int tanh_after = 0; tanh_after < 2; tanh_after++) {
            const bn_shape *sh = &shapes[si];
            dob_net *net = make_net(sh, (dob_bnorm_cfg){0.99f, 1e-3f}, 1, tanh_after, 50 + (uint64_t)si);
            CU_ASSERT_PTR_NOT_NULL_FATAL(net);
            char what[64];
            snprintf(what, sizeof what, "bnorm %s%s", si ? "2-D" : "4-D", tanh_after ? " + tanh" : "");
            CU_ASSERT_EQUAL(tc_gradcheck(net, (tc_gc_opts){.eps = 1e-3, .tol = 1e-2, .training = 1}, what), 0);
            CU_ASSERT(tc_overwrite_check(net, what));
            dob_net_destroy(net);
        }
}

/* ---- sync-BN with fake hooks ------------------------------------------------------------------------ */
typedef struct fake_ranks {
    double factor;   /* every sum is multiplied by this: 1 = one rank, 2 = two identical ranks */
    int calls;
    int fail;
} fake_ranks;

static dob_status fake_sum(void *ctx, double *x, size_t n) {
    fake_ranks *f = ctx;
    f->calls++;
    if (f->fail) return DOB_FAIL(DOB_EMPI, "fake all-reduce failed");
    for (size_t i = 0; i < n; i++) x[i] *= f->factor;
    return DOB_OK;
}

/* Two nets from the same seed: `ref` per-rank oneDNN statistics, `syn` with the hook. One training step each;
 * outputs, input and parameter gradients must agree, and the moving statistics follow the global count. */
static void test_sync(void) {
    const double mom = 0.9;
    for (int si = 0; si < N_SHAPES; si++)
        for (int ranks = 1; ranks <= 2; ranks++) {
            const bn_shape *sh = &shapes[si];
            dob_bnorm_cfg cfg = {(float)mom, 1e-3f};
            const uint64_t seed = 60 + (uint64_t)si;
            dob_net *ref = make_net(sh, cfg, 1, 0, seed), *syn = make_net(sh, cfg, 1, 0, seed);
            CU_ASSERT_PTR_NOT_NULL_FATAL(ref);
            CU_ASSERT_PTR_NOT_NULL_FATAL(syn);
            fake_ranks f = {(double)ranks, 0, 0};
            dob_net_set_sum_hook(syn, fake_sum, &f);
            CU_ASSERT(dob_net_has_sum_hook(syn) && !dob_net_has_sum_hook(ref));
            dob_arena *ar = dob_net_arena(ref), *as = dob_net_arena(syn);
            dob_tensor *yr = dob_net_output(ref), *ys = dob_net_output(syn);
            char what[96];
            snprintf(what, sizeof what, "sync-BN %s, %d rank(s)", si ? "2-D" : "4-D", ranks);
            TC_ASSERT_OK(dob_net_forward(ref, 1));
            TC_ASSERT_OK(dob_net_forward(syn, 1));
            CU_ASSERT_EQUAL(f.calls, 1);
            TC_ASSERT_CLOSE(what, ys->data, yr->data, ys->count, 1e-5);
            TC_ASSERT_CLOSE("sync moving_mean", dob_arena_param(as, P_MEAN), dob_arena_param(ar, P_MEAN), CH, 1e-6);
            /* the moving variance uses the global count: n/(n-1) with n = ranks * N * H * W for 4-D inputs */
            float want_v[CH];
            double m[CH], v[CH], n = (double)(ranks * BATCH * sh->s);
            float *tmp = malloc(ys->count * sizeof *tmp);
            ref_bnorm_train(dob_net_input_tensor(syn)->data, dob_arena_param(as, P_GAMMA), dob_arena_param(as, P_BETA),
                            BATCH, CH, sh->s, 1e-3, tmp, m, v);
            free(tmp);
            const double bessel = sh->ndim == 3 ? n / (n - 1) : 1.0;
            for (int c = 0; c < CH; c++) want_v[c] = (float)(mom + (1 - mom) * v[c] * bessel);
            TC_ASSERT_CLOSE("sync moving_variance", dob_arena_param(as, P_VAR), want_v, CH, 1e-6);
            tc_fill(yr->diff, yr->count, 61, (uint64_t)si, -1.0f, 1.0f);
            memcpy(ys->diff, yr->diff, ys->count * sizeof(float));
            TC_ASSERT_OK(dob_net_backward(ref));
            TC_ASSERT_OK(dob_net_backward(syn));
            CU_ASSERT_EQUAL(f.calls, 2);
            TC_ASSERT_CLOSE("sync dx", dob_net_input_tensor(syn)->diff, dob_net_input_tensor(ref)->diff,
                            ys->count, 1e-5);
            TC_ASSERT_CLOSE("sync d gamma", dob_arena_grad(as, P_GAMMA), dob_arena_grad(ar, P_GAMMA), CH, 1e-5);
            TC_ASSERT_CLOSE("sync d beta", dob_arena_grad(as, P_BETA), dob_arena_grad(ar, P_BETA), CH, 1e-5);
            if (ranks == 1) {
                CU_ASSERT(tc_overwrite_check(syn, what));
                CU_ASSERT_EQUAL(tc_gradcheck(syn, (tc_gc_opts){.eps = 1e-3, .tol = 1e-2, .training = 1}, what), 0);
            }
            /* inference needs no communication */
            int calls = f.calls;
            TC_ASSERT_OK(dob_net_forward(syn, 0));
            CU_ASSERT_EQUAL(f.calls, calls);
            dob_net_destroy(ref);
            dob_net_destroy(syn);
        }
}

/* The sync path sums each channel in one fixed order: bitwise the same on 1 and 2 threads. */
static void test_sync_threads(void) {
#ifdef _OPENMP
    const bn_shape *sh = &shapes[0];
    float *out[2], *dx[2], dg[2][CH];
    int nt = omp_get_max_threads();
    for (int t = 0; t < 2; t++) {
        omp_set_num_threads(t + 1);
        dob_net *net = make_net(sh, (dob_bnorm_cfg){0.9f, 1e-3f}, 1, 0, 70);
        CU_ASSERT_PTR_NOT_NULL_FATAL(net);
        fake_ranks f = {1.0, 0, 0};
        dob_net_set_sum_hook(net, fake_sum, &f);
        dob_tensor *y = dob_net_output(net);
        TC_ASSERT_OK(dob_net_forward(net, 1));
        tc_fill(y->diff, y->count, 71, 0, -1.0f, 1.0f);
        TC_ASSERT_OK(dob_net_backward(net));
        out[t] = malloc(y->count * sizeof(float));
        dx[t] = malloc(y->count * sizeof(float));
        memcpy(out[t], y->data, y->count * sizeof(float));
        memcpy(dx[t], dob_net_input_tensor(net)->diff, y->count * sizeof(float));
        memcpy(dg[t], dob_arena_grad(dob_net_arena(net), P_GAMMA), sizeof dg[t]);
        dob_net_destroy(net);
    }
    omp_set_num_threads(nt);
    size_t cnt = (size_t)(BATCH * CH * sh->s);
    CU_ASSERT_EQUAL(memcmp(out[0], out[1], cnt * sizeof(float)), 0);
    CU_ASSERT_EQUAL(memcmp(dx[0], dx[1], cnt * sizeof(float)), 0);
    CU_ASSERT_EQUAL(memcmp(dg[0], dg[1], sizeof dg[0]), 0);
    for (int t = 0; t < 2; t++) {
        free(out[t]);
        free(dx[t]);
    }
#endif
}

static void test_errors(void) {
    dob_net *net;
    TC_ASSERT_OK(dob_net_create(&net, 3, (int64_t[]){CH, 2, 2}));
    TC_ASSERT_FAILS(dob_net_bnorm(net, "bn", 0, &(dob_bnorm_cfg){1.5f, 1e-3f}, NULL), DOB_EINVAL,
                    "layer bn (bnorm): momentum must be in [0, 1], found 1.5");
    TC_ASSERT_FAILS(dob_net_bnorm(net, "bn", 0, &(dob_bnorm_cfg){NAN, 1e-3f}, NULL), DOB_EINVAL,
                    "momentum must be in [0, 1], found nan");
    TC_ASSERT_FAILS(dob_net_bnorm(net, "bn", 0, &(dob_bnorm_cfg){0.9f, 0.0f}, NULL), DOB_EINVAL,
                    "eps must be > 0 and finite, found 0");
    TC_ASSERT_FAILS(dob_net_bnorm(net, "bn", 0, &(dob_bnorm_cfg){0.9f, -1e-3f}, NULL), DOB_EINVAL,
                    "eps must be > 0 and finite, found -0.001");
    CU_ASSERT_EQUAL(dob_arena_tensor_count(dob_net_arena(net)), 0);
    dob_net_destroy(net);

    /* backward after an inference forward has no batch statistics to differentiate */
    net = make_net(&shapes[0], (dob_bnorm_cfg){0.9f, 1e-3f}, 1, 0, 80);
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    TC_ASSERT_OK(dob_net_forward(net, 0));
    TC_ASSERT_FAILS(dob_net_backward(net), DOB_EINVAL, "layer bn (bnorm): backward: backward needs a training-mode "
                                                       "forward first");
    /* a failing sum hook fails the forward with its status and message, in context */
    fake_ranks f = {1.0, 0, 1};
    dob_net_set_sum_hook(net, fake_sum, &f);
    TC_ASSERT_FAILS(dob_net_forward(net, 1), DOB_EMPI, "layer bn (bnorm): forward: fake all-reduce failed");
    f.fail = 0;
    TC_ASSERT_OK(dob_net_forward(net, 1));
    f.fail = 1;
    TC_ASSERT_FAILS(dob_net_backward(net), DOB_EMPI, "layer bn (bnorm): backward: fake all-reduce failed");
    dob_net_destroy(net);
}

static CU_TestInfo tests[] = {
    {"params", test_params},
    {"forward_ref", test_forward_ref},
    {"moving_stats", test_moving_stats},
    {"backward_ref", test_backward_ref},
    {"gradcheck_overwrite", test_gradcheck},
    {"sync_fake_ranks", test_sync},
    {"sync_threads", test_sync_threads},
    {"errors", test_errors},
    CU_TEST_INFO_NULL,
};
CU_SuiteInfo bnorm_suite = {"bnorm", NULL, NULL, NULL, NULL, tests};
