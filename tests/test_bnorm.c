/* test_bnorm.c: batch normalisation. A table of layer_fx rows (layer_fx.h; 4-D and 2-D inputs, alone and followed
 * by tanh, at batch 3 and 5, non-default gamma/beta and moving statistics): forward in inference mode and in
 * training mode against the naive references, backward against the reference with and without an input gradient,
 * finite differences, overwrite semantics. Focused tests: parameters and buffers in the arena, inference leaving
 * the moving statistics alone, the moving statistics after one and two steps against hand-computed values (TF's
 * update, Bessel factor for 4-D inputs only), and the sync-BN path with fake sum hooks (one rank, two identical
 * ranks, a failing hook, thread-count independence), the blocked layout a conv hands on (oneDNN's kernel and the
 * hand path against the all-plain net), error paths. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "layer_fx.h"
#include "ref/ref_bnorm.h"
#include "tc.h"

enum { P_GAMMA, P_BETA, P_MEAN, P_VAR };
enum { BATCH = 3, CH = 5 };

typedef struct bn_shape {
    const char *label;
    int ndim;            /* per example */
    int64_t dims[3];
    int64_t s;           /* elements per channel per example */
} bn_shape;
/* 1x1 planes (Inception's auxiliary head after its 5x5 valid conv): strides of extent-1 dims are arbitrary */
static const bn_shape shapes[] = {{"4-D", 3, {CH, 7, 3}, 21}, {"2-D", 1, {CH}, 1}, {"4-D 1x1", 3, {CH, 1, 1}, 1}};
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
    dob_net *net = make_net(&shapes[0], (dob_bnorm_cfg){0.99f, 1e-3f, 0}, 0, 0, 1);
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

/* Inference reads the moving statistics and leaves them alone (the table checks its output against them). */
static void test_inference_keeps_stats(void) {
    dob_net *net = make_net(&shapes[0], (dob_bnorm_cfg){0.9f, 1e-3f, 0}, 0, 0, 10);
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    float *mm = dob_arena_param(dob_net_arena(net), P_MEAN), *mv = dob_arena_param(dob_net_arena(net), P_VAR);
    tc_fill(mm, CH, 5, 5, -1.0f, 1.0f);
    tc_fill(mv, CH, 5, 6, 0.5f, 2.0f);
    float mm0[CH], mv0[CH];
    memcpy(mm0, mm, sizeof mm0);
    memcpy(mv0, mv, sizeof mv0);
    TC_ASSERT_OK(dob_net_forward(net, 0));
    CU_ASSERT_EQUAL(memcmp(mm0, mm, sizeof mm0), 0);
    CU_ASSERT_EQUAL(memcmp(mv0, mv, sizeof mv0), 0);
    dob_net_destroy(net);
}

/* Moving statistics after one and two training steps, by hand: TF's moving -= (1 - momentum)(moving - stat),
 * with the batch variance times n/(n-1) for 4-D inputs (TF fused kernel) and biased for 2-D ones. */
static void test_moving_stats(void) {
    const double mom = 0.9;
    for (int si = 0; si < N_SHAPES; si++) {
        const bn_shape *sh = &shapes[si];
        dob_net *net = make_net(sh, (dob_bnorm_cfg){(float)mom, 1e-3f, 0}, 0, 0, 20 + (uint64_t)si);
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
            snprintf(what, sizeof what, "%s moving_mean after step %d", sh->label, step + 1);
            TC_ASSERT_CLOSE(what, dob_arena_param(a, P_MEAN), want_m, CH, 1e-6);
            snprintf(what, sizeof what, "%s moving_variance after step %d", sh->label, step + 1);
            TC_ASSERT_CLOSE(what, dob_arena_param(a, P_VAR), want_v, CH, 1e-6);
        }
        free(ybuf);
        dob_net_destroy(net);
    }
    /* a concrete number: 4-D, one channel, x = 0..5 over (N=2, H=3): mean 2.5, biased var 35/12, n/(n-1) = 6/5,
     * so moving_variance = 0.5 * 1 + 0.5 * 3.5 = 2.25 and moving_mean = 1.25 with momentum 0.5 */
    dob_net *net;
    TC_ASSERT_OK(dob_net_create(&net, 3, (int64_t[]){1, 3, 1}));
    TC_ASSERT_OK(dob_net_bnorm(net, "bn", 0, &(dob_bnorm_cfg){0.5f, 1e-3f, 0}, NULL));
    TC_ASSERT_OK(dob_net_alloc(net));
    dob_arena_init(dob_net_arena(net), 1);
    TC_ASSERT_OK(dob_net_build(net, 2));
    for (int i = 0; i < 6; i++) dob_net_input_tensor(net)->data[i] = (float)i;
    TC_ASSERT_OK(dob_net_forward(net, 1));
    CU_ASSERT_DOUBLE_EQUAL(dob_arena_param(dob_net_arena(net), P_MEAN)[0], 1.25, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(dob_arena_param(dob_net_arena(net), P_VAR)[0], 2.25, 1e-6);
    dob_net_destroy(net);
}

/* ---- the table (layer_fx.h): forward in inference mode (set moving statistics) and training mode, backward
 * against the reference with and without an input gradient, finite differences, overwrite; batch 3 and 5 ---- */
typedef struct bn_row {
    dob_bnorm_cfg bn;
    int tanh_after;  /* bnorm -> tanh: a loss that is not linear in bnorm's output */
    uint64_t seed;
} bn_row;

static dob_status add_bn(dob_net *net, int in, const void *cfg, int *out) {
    const bn_row *r = cfg;
    dob_status st = dob_net_bnorm(net, "bn", in, &r->bn, out);
    if (st == DOB_OK && r->tanh_after) st = dob_net_act(net, "tanh", *out, &(dob_act_cfg){DOB_ACT_TANH, 0}, out);
    return st;
}

/* gamma U(0.5, 1.5), beta U(-0.5, 0.5), moving mean U(-1, 1), moving variance U(0.5, 2). */
static void setup_bn(const void *cfg, dob_net *net) {
    const bn_row *r = cfg;
    dob_arena *a = dob_net_arena(net);
    tc_fill(dob_arena_param(a, P_GAMMA), CH, r->seed, 1, 0.5f, 1.5f);
    tc_fill(dob_arena_param(a, P_BETA), CH, r->seed, 2, -0.5f, 0.5f);
    tc_fill(dob_arena_param(a, P_MEAN), CH, r->seed, 5, -1.0f, 1.0f);
    tc_fill(dob_arena_param(a, P_VAR), CH, r->seed, 6, 0.5f, 2.0f);
}

/* N and S (elements per channel per example) of the net input */
static int64_t batch_of(dob_net *net, int64_t *s) {
    const dob_tensor *x = dob_net_input_tensor(net);
    *s = (int64_t)x->count / (x->dims[0] * CH);
    return x->dims[0];
}

/* What follows the normalisation: the fused ReLU (cfg relu), then the tanh layer (tanh_after). */
static void tanh_if(const bn_row *r, float *y, size_t n) {
    for (size_t i = 0; i < n && r->bn.relu; i++) y[i] = y[i] > 0.0f ? y[i] : 0.0f;
    for (size_t i = 0; i < n && r->tanh_after; i++) y[i] = (float)tanh((double)y[i]);
}

static void ref_infer(const void *cfg, dob_net *net, float *y) {
    const bn_row *r = cfg;
    dob_arena *a = dob_net_arena(net);
    int64_t s, n = batch_of(net, &s);
    ref_bnorm_infer(dob_net_input_tensor(net)->data, dob_arena_param(a, P_GAMMA), dob_arena_param(a, P_BETA),
                    dob_arena_param(a, P_MEAN), dob_arena_param(a, P_VAR), n, CH, s, r->bn.eps, y);
    tanh_if(r, y, (size_t)(n * CH * s));
}

static void ref_train(const void *cfg, dob_net *net, float *y) {
    const bn_row *r = cfg;
    dob_arena *a = dob_net_arena(net);
    int64_t s, n = batch_of(net, &s);
    ref_bnorm_train(dob_net_input_tensor(net)->data, dob_arena_param(a, P_GAMMA), dob_arena_param(a, P_BETA), n, CH,
                    s, r->bn.eps, y, NULL, NULL);
    tanh_if(r, y, (size_t)(n * CH * s));
}

/* Through tanh first (dz = dy (1 - tanh(z)^2)) and the fused ReLU (dz = 0 where z <= 0), then bnorm's
 * training-mode backward. */
static void ref_backward(const void *cfg, dob_net *net, const float *dy, float *dx, float *dp) {
    const bn_row *r = cfg;
    dob_arena *a = dob_net_arena(net);
    int64_t s, n = batch_of(net, &s);
    const size_t cnt = (size_t)(n * CH * s);
    float *z = malloc(cnt * sizeof *z), *dz = malloc(cnt * sizeof *dz);
    ref_train(&(bn_row){{r->bn.momentum, r->bn.eps, 0}, 0, r->seed}, net, z);
    for (size_t i = 0; i < cnt; i++) {
        const float u = r->bn.relu && !(z[i] > 0.0f) ? 0.0f : z[i];
        const double t = tanh((double)u);
        dz[i] = r->tanh_after ? (float)(dy[i] * (1.0 - t * t)) : dy[i];
        if (r->bn.relu && !(z[i] > 0.0f)) dz[i] = 0.0f;
    }
    ref_bnorm_backward(dob_net_input_tensor(net)->data, dob_arena_param(a, P_GAMMA), dz, n, CH, s, r->bn.eps, dx,
                       dp + dob_arena_info(a, P_GAMMA)->offset, dp + dob_arena_info(a, P_BETA)->offset);
    free(z);
    free(dz);
}

#define BN_ROW(label, nd, d, th, sd) BN_ROW_R(label, nd, 0, th, sd, d)
#define BN_ROW_R(label, nd, rl, th, sd, ...) /* dims last: they hold commas once expanded */                      \
    {.name = "bnorm " label, .in_ndim = nd, .in_dims = __VA_ARGS__,                                              \
     .cfg = &(const bn_row){{0.99f, 1e-3f, rl}, th, sd},                                                         \
     .add = add_bn, .ref = ref_infer, .ref_train = ref_train, .ref_backward = ref_backward, .setup = setup_bn,    \
     .fwd_tol = 1e-5, .bwd_tol = 1e-5, .gc = {.eps = 1e-3, .tol = 1e-2, .training = 1}, .in_lo = -1.0f,          \
     .in_hi = 3.0f, .seed = sd}
/* 4-D planes of 21 elements take bnorm's hand path (plain, S >= 8), 2x2 planes and 2-D inputs oneDNN's */
#define DIMS_4D {CH, 7, 3}
#define DIMS_4D_SMALL {CH, 2, 2}
#define DIMS_4D_ONE {CH, 1, 1}
#define DIMS_2D {CH}
static const tc_layer_case rows[] = {
    BN_ROW("4-D", 3, DIMS_4D, 0, 40),        BN_ROW("2-D", 1, DIMS_2D, 0, 41),
    BN_ROW("4-D + tanh", 3, DIMS_4D, 1, 50), BN_ROW("2-D + tanh", 1, DIMS_2D, 1, 51),
    BN_ROW("4-D 2x2", 3, DIMS_4D_SMALL, 0, 42),
    /* the fused ReLU on both paths, and followed by tanh (seeds whose pre-activations all lie farther from the
     * kink than the finite-difference step moves them: seed 52 has one within it at batch 5) */
    BN_ROW_R("4-D + relu", 3, 1, 0, 43, DIMS_4D), BN_ROW_R("4-D 2x2 + relu", 3, 1, 0, 44, DIMS_4D_SMALL),
    BN_ROW_R("2-D + relu", 1, 1, 0, 45, DIMS_2D), BN_ROW_R("4-D 1x1 + relu", 3, 1, 0, 46, DIMS_4D_ONE),
    BN_ROW_R("4-D + relu + tanh", 3, 1, 1, 53, DIMS_4D),
};

static void test_table(void) { tc_layer_run_all(rows, sizeof rows / sizeof *rows); }

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
            dob_bnorm_cfg cfg = {(float)mom, 1e-3f, 0};
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
            snprintf(what, sizeof what, "sync-BN %s, %d rank(s)", sh->label, ranks);
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
        dob_net *net = make_net(sh, (dob_bnorm_cfg){0.9f, 1e-3f, 0}, 1, 0, 70);
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

/* ---- in a conv's blocked layout ----------------------------------------------------------------------------
 * conv (3 -> 16, 3x3 SAME) -> bnorm -> relu -> conv (16 -> 16): with layout propagation the first conv's output
 * travels blocked through bnorm and relu (DOB_IN_BLOCKED_SAME; 16 channels are whole blocks on every ISA, see
 * test_conv.c), where oneDNN's batch norm runs on the blocked layout; with a (one-rank) sum hook the hand path
 * walks it. Either must equal the all-plain net: outputs, input and parameter gradients, the intermediates' plain
 * views, the moving statistics. So must bnorm with the ReLU fused (cfg relu; no relu layer): oneDNN's fused kernel
 * with its workspace, and the hand path's mask. */
static dob_net *chain_net(int propagate, int hook, int fused, fake_ranks *f) {
    dob_net *net = NULL;
    int y;
    const dob_conv_cfg c1 = {16, 3, 3, 1, 1, DOB_PAD_SAME, 1, {DOB_INIT_GLOROT_UNIFORM, 0, 0}, {DOB_INIT_ZEROS, 0, 0},
                             0, DOB_ACT_NONE};
    dob_conv_cfg c2 = c1;
    if (dob_net_create(&net, 3, (int64_t[]){3, 6, 6}) != DOB_OK ||
        dob_net_conv(net, "conv1", 0, &c1, &y) != DOB_OK ||
        dob_net_bnorm(net, "bn", y, &(dob_bnorm_cfg){0.9f, 1e-3f, fused}, &y) != DOB_OK ||
        (!fused && dob_net_act(net, "relu", y, &(dob_act_cfg){DOB_ACT_RELU, 0}, &y) != DOB_OK) ||
        dob_net_conv(net, "conv2", y, &c2, &y) != DOB_OK || dob_net_alloc(net) != DOB_OK)
        goto fail;
    dob_arena_init(dob_net_arena(net), 80);
    if (hook) dob_net_set_sum_hook(net, fake_sum, f);
    if (tc_layout_pass(net, propagate, 1, 4, 81) != DOB_OK) goto fail;
    return net;
fail:
    fprintf(stderr, "\n    chain_net: %s\n", dob_last_error());
    dob_net_destroy(net);
    return NULL;
}

static void test_blocked(void) {
    fake_ranks f = {1.0, 0, 0};
    dob_net *plain = chain_net(0, 0, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(plain);
    for (int k = 0; k < 4; k++) {
        const int hook = k & 1, fused = k >> 1;
        dob_net *net = chain_net(1, hook, fused, &f);
        CU_ASSERT_PTR_NOT_NULL_FATAL(net);
        const char *whats[] = {"blocked, oneDNN", "blocked, hand path (sum hook)", "blocked, oneDNN, fused relu",
                               "blocked, hand path (sum hook), fused relu"};
        const char *what = whats[k];
        /* conv1's, bn's and relu's outputs; fused: conv1's and bn's (= relu's) */
        for (int id = 1; id <= 3 - fused; id++) {
            const int pid = fused && id == 2 ? 3 : id;
            CU_ASSERT(dob_net_tensor_blocked(net, id));
            CU_ASSERT_FALSE(dob_net_tensor_blocked(plain, id));
            const dob_tensor *t = dob_net_tensor(net, id);
            float *d = malloc(t->count * sizeof *d), *g = malloc(t->count * sizeof *g);
            CU_ASSERT_FATAL(d && g);
            TC_ASSERT_OK(dob_net_read_plain(net, id, d, g));
            TC_ASSERT_CLOSE(what, d, dob_net_tensor(plain, pid)->data, t->count, 1e-5);
            TC_ASSERT_CLOSE(what, g, dob_net_tensor(plain, pid)->diff, t->count, 1e-5);
            free(d);
            free(g);
        }
        const dob_tensor *o = dob_net_output(net), *x = dob_net_input_tensor(net);
        TC_ASSERT_CLOSE(what, o->data, dob_net_output(plain)->data, o->count, 1e-5);
        TC_ASSERT_CLOSE(what, x->diff, dob_net_input_tensor(plain)->diff, x->count, 1e-5);
        dob_arena *a = dob_net_arena(net), *b = dob_net_arena(plain);
        TC_ASSERT_CLOSE(what, dob_arena_grads(a), dob_arena_grads(b), dob_arena_size(a), 1e-5);
        TC_ASSERT_CLOSE(what, dob_arena_params(a), dob_arena_params(b), dob_arena_size(a), 1e-6);
        dob_net_destroy(net);
    }
    CU_ASSERT_EQUAL(f.calls, 4);
    dob_net_destroy(plain);
}

static void test_errors(void) {
    dob_net *net;
    TC_ASSERT_OK(dob_net_create(&net, 3, (int64_t[]){CH, 2, 2}));
    TC_ASSERT_FAILS(dob_net_bnorm(net, "bn", 0, &(dob_bnorm_cfg){1.5f, 1e-3f, 0}, NULL), DOB_EINVAL,
                    "layer bn (bnorm): momentum must be in [0, 1], found 1.5");
    TC_ASSERT_FAILS(dob_net_bnorm(net, "bn", 0, &(dob_bnorm_cfg){NAN, 1e-3f, 0}, NULL), DOB_EINVAL,
                    "momentum must be in [0, 1], found nan");
    TC_ASSERT_FAILS(dob_net_bnorm(net, "bn", 0, &(dob_bnorm_cfg){0.9f, 0.0f, 0}, NULL), DOB_EINVAL,
                    "eps must be > 0 and finite, found 0");
    TC_ASSERT_FAILS(dob_net_bnorm(net, "bn", 0, &(dob_bnorm_cfg){0.9f, -1e-3f, 0}, NULL), DOB_EINVAL,
                    "eps must be > 0 and finite, found -0.001");
    CU_ASSERT_EQUAL(dob_arena_tensor_count(dob_net_arena(net)), 0);
    dob_net_destroy(net);

    /* backward after an inference forward has no batch statistics to differentiate */
    net = make_net(&shapes[0], (dob_bnorm_cfg){0.9f, 1e-3f, 0}, 1, 0, 80);
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
    {"table", test_table},
    {"inference_keeps_stats", test_inference_keeps_stats},
    {"moving_stats", test_moving_stats},
    {"sync_fake_ranks", test_sync},
    {"sync_threads", test_sync_threads},
    {"blocked", test_blocked},
    {"errors", test_errors},
    CU_TEST_INFO_NULL,
};
CU_SuiteInfo bnorm_suite = {"bnorm", NULL, NULL, NULL, NULL, tests};
