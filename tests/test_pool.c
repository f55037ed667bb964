/* test_pool.c: max / avg pooling (TF SAME/VALID) and global average pooling.
 * Every case is a row of layer_fx's table (layer_fx.h), at batch 3 and 5: the output shape and forward (evaluation
 * and training mode) against naive double references (written here, with their own TF padding arithmetic), the
 * input gradient against the reference with and without an input gradient, finite differences of the input
 * gradient, overwrite-not-accumulate. Max pooling inputs are a random permutation of distinct values spaced
 * 2.5 eps apart, so no window has a tie and no finite difference step crosses one; average pooling has no kink
 * and takes U(-1, 1). Focused tests: a rebuild at another batch size, 3x3/2 SAME on 28x28 (pads 0 top/left,
 * 1 bottom/right), the avg SAME divisor (valid elements only), GAP of constants, max pooling with NaN, ties and
 * -inf. Error paths: bad kind/window/padding, VALID window larger than the input, non-4-D inputs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dob/rng.h"
#include "layer_fx.h"
#include "tc.h"

#define GC_EPS 1e-2
#define SPACING 0.025f /* >= 2 * GC_EPS: a +-eps step never reorders two inputs */

/* ---- naive references ---------------------------------------------------------------------------------- */
/* TF: SAME -> ceil(in / s) outputs, total padding (out - 1) s + k - in (>= 0), floor half of it first. */
static int64_t ref_out(int64_t in, int64_t k, int64_t s, dob_padding pad, int64_t *lead) {
    if (pad == DOB_PAD_VALID) {
        *lead = 0;
        return (in - k) / s + 1;
    }
    int64_t out = (in + s - 1) / s, total = (out - 1) * s + k - in;
    *lead = total > 0 ? total / 2 : 0;
    return out;
}

/* y = pool(x), and dx = d(sum dy*y)/dx when dy != NULL. x: N,C,H,W; y, dy: N,C,OH,OW. */
static void ref_pool(const dob_pool_cfg *c, int64_t N, int64_t C, int64_t H, int64_t W, const float *x, float *y,
                     const float *dy, float *dx) {
    int64_t pt, pl, OH = ref_out(H, c->kh, c->sh, c->pad, &pt), OW = ref_out(W, c->kw, c->sw, c->pad, &pl);
    double *g = dy ? calloc((size_t)(N * C * H * W), sizeof *g) : NULL;
    for (int64_t nc = 0; nc < N * C; nc++)
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++) {
                double best = -INFINITY, sum = 0;
                int64_t arg = -1, cnt = 0;
                for (int64_t i = 0; i < c->kh; i++)
                    for (int64_t j = 0; j < c->kw; j++) {
                        int64_t h = oh * c->sh - pt + i, w = ow * c->sw - pl + j;
                        if (h < 0 || h >= H || w < 0 || w >= W) continue; /* padding: never counted */
                        int64_t at = (nc * H + h) * W + w;
                        if (x[at] > best) best = x[at], arg = at;
                        sum += x[at];
                        cnt++;
                    }
                int64_t o = (nc * OH + oh) * OW + ow;
                y[o] = (float)(c->kind == DOB_POOL_MAX ? best : sum / (double)cnt);
                if (!g) continue;
                if (c->kind == DOB_POOL_MAX) {
                    g[arg] += dy[o];
                } else {
                    for (int64_t i = 0; i < c->kh; i++)
                        for (int64_t j = 0; j < c->kw; j++) {
                            int64_t h = oh * c->sh - pt + i, w = ow * c->sw - pl + j;
                            if (h >= 0 && h < H && w >= 0 && w < W) g[(nc * H + h) * W + w] += dy[o] / (double)cnt;
                        }
                }
            }
    if (g)
        for (int64_t i = 0; i < N * C * H * W; i++) dx[i] = (float)g[i];
    free(g);
}

/* Distinct values: a random permutation of 0..n-1, centred, times SPACING. */
static void fill_distinct(float *x, size_t n, uint64_t stream) {
    uint32_t *perm = malloc(n * sizeof *perm);
    dob_rng r = {11, DOB_RNG_TEST, stream};
    dob_rng_permutation(&r, perm, n);
    for (size_t i = 0; i < n; i++) x[i] = ((float)perm[i] - (float)(n / 2)) * SPACING;
    free(perm);
}

/* One pooling layer on the net input C,H,W, built at `batch` with an input gradient. */
static dob_net *pool_net(const dob_pool_cfg *c, int64_t C, int64_t H, int64_t W, int64_t batch) {
    dob_net *net = NULL;
    int y;
    if (dob_net_create(&net, 3, (int64_t[]){C, H, W}) != DOB_OK) goto fail;
    if (dob_net_pool(net, "pool", dob_net_input(net), c, &y) != DOB_OK) goto fail;
    if (dob_net_alloc(net) != DOB_OK) goto fail;
    dob_net_set_input_grad(net, 1);
    if (dob_net_build(net, batch) != DOB_OK) goto fail;
    return net;
fail:
    fprintf(stderr, "\n    pool_net: %s\n", dob_last_error());
    dob_net_destroy(net);
    return NULL;
}

/* Forward and backward against ref_pool on the whole tensors. @return 1 if both match. */
static int check_vs_ref(dob_net *net, const dob_pool_cfg *c, const char *what) {
    dob_tensor *x = dob_net_input_tensor(net), *y = dob_net_output(net);
    int64_t N = x->dims[0], C = x->dims[1], H = x->dims[2], W = x->dims[3];
    float *want_y = malloc(y->count * sizeof *want_y), *want_dx = malloc(x->count * sizeof *want_dx);
    char msg[160];
    int ok = dob_net_forward(net, 1) == DOB_OK;
    tc_fill(y->diff, y->count, 3, 4, -1.0f, 1.0f);
    ok = ok && dob_net_backward(net) == DOB_OK;
    if (!ok) fprintf(stderr, "\n    %s: %s\n", what, dob_last_error());
    ref_pool(c, N, C, H, W, x->data, want_y, y->diff, want_dx);
    /* avg sums up to kh*kw floats in float: allow a few ulps of the largest input (max pooling is exact) */
    double scale = 1.0;
    for (size_t i = 0; i < x->count; i++) scale = fmax(scale, fabs(x->data[i]));
    snprintf(msg, sizeof msg, "%s forward", what);
    ok = ok && tc_close(msg, y->data, want_y, y->count, c->kind == DOB_POOL_MAX ? 0.0 : 1e-6 * scale);
    snprintf(msg, sizeof msg, "%s input grad", what);
    ok = ok && tc_close(msg, x->diff, want_dx, x->count, 1e-6);
    free(want_y);
    free(want_dx);
    return ok;
}

/* ---- the table (layer_fx.h): forward in both modes, backward against ref_pool with and without an input
 * gradient, finite differences and overwrite, at batch 3 and 5 ---------------------------------------------- */
static dob_status add_pool(dob_net *net, int in, const void *cfg, int *out) {
    return dob_net_pool(net, "pool", in, cfg, out);
}

/* The output must have ref_out's shape (else the reference cannot fill it: NaN, so the comparison fails). */
static int shape_ok(const dob_pool_cfg *c, dob_net *net, float *y) {
    const dob_tensor *x = dob_net_input_tensor(net), *o = dob_net_output(net);
    int64_t lead;
    int ok = o->ndim == 4 && o->dims[0] == x->dims[0] && o->dims[1] == x->dims[1] &&
             o->dims[2] == ref_out(x->dims[2], c->kh, c->sh, c->pad, &lead) &&
             o->dims[3] == ref_out(x->dims[3], c->kw, c->sw, c->pad, &lead);
    CU_ASSERT(ok);
    if (!ok)
        for (size_t i = 0; i < o->count; i++) y[i] = NAN;
    return ok;
}

static void ref_forward(const void *cfg, dob_net *net, float *y) {
    const dob_tensor *x = dob_net_input_tensor(net);
    if (shape_ok(cfg, net, y))
        ref_pool(cfg, x->dims[0], x->dims[1], x->dims[2], x->dims[3], x->data, y, NULL, NULL);
}

static void ref_backward(const void *cfg, dob_net *net, const float *dy, float *dx, float *dp) {
    (void)dp; /* no parameters */
    const dob_tensor *x = dob_net_input_tensor(net), *o = dob_net_output(net);
    float *y = malloc(o->count * sizeof *y);
    if (dx && shape_ok(cfg, net, y))
        ref_pool(cfg, x->dims[0], x->dims[1], x->dims[2], x->dims[3], x->data, y, dy, dx);
    free(y);
}

/* Max pooling: distinct inputs (no ties, no finite-difference step across one); average pooling has no kink. */
static void setup_distinct(const void *cfg, dob_net *net) {
    (void)cfg;
    dob_tensor *x = dob_net_input_tensor(net);
    fill_distinct(x->data, x->count, x->count);
}

#define SETUP_MAX setup_distinct
#define SETUP_AVG NULL
#define POOL_ROW(label, kind, kh, kw, sh, sw, pad, c, h, w)                                                        \
    {.name = label, .in_ndim = 3, .in_dims = {c, h, w},                                                           \
     .cfg = &(const dob_pool_cfg){DOB_POOL_##kind, kh, kw, sh, sw, DOB_PAD_##pad}, .add = add_pool,              \
     .ref = ref_forward, .ref_backward = ref_backward,                                                            \
     .setup = SETUP_##kind,                                                                                     \
     .fwd_tol = DOB_POOL_##kind == DOB_POOL_MAX ? 0.0 : 1e-6, .bwd_tol = 1e-6,                                    \
     .gc = {.eps = GC_EPS, .tol = 1e-2, .training = 1}, .seed = 11}
static const tc_layer_case rows[] = {
    POOL_ROW("max 2x2/2 VALID 8x8", MAX, 2, 2, 2, 2, VALID, 2, 8, 8),
    /* tiled windows (pool.c): 8 and 16 channels take the constant-shape row kernels, 3x3/3 the general one */
    POOL_ROW("max 2x2/2 VALID 4x6, 8 channels", MAX, 2, 2, 2, 2, VALID, 8, 4, 6),
    POOL_ROW("max 2x2/2 SAME 6x4, 16 channels", MAX, 2, 2, 2, 2, SAME, 16, 6, 4),
    POOL_ROW("max 3x3/3 VALID 6x9", MAX, 3, 3, 3, 3, VALID, 3, 6, 9),
    POOL_ROW("max 2x2/2 VALID 5x7 (not tiled: last row, column unused)", MAX, 2, 2, 2, 2, VALID, 8, 5, 7),
    POOL_ROW("max 2x2/2 SAME 7x9", MAX, 2, 2, 2, 2, SAME, 2, 7, 9),
    POOL_ROW("max 2x2/2 SAME 28x28", MAX, 2, 2, 2, 2, SAME, 2, 28, 28),
    POOL_ROW("max 3x3/2 SAME 28x28", MAX, 3, 3, 2, 2, SAME, 2, 28, 28),
    POOL_ROW("max 3x3/2 SAME 7x7", MAX, 3, 3, 2, 2, SAME, 3, 7, 7),
    POOL_ROW("max 3x3/2 SAME 6x11", MAX, 3, 3, 2, 2, SAME, 2, 6, 11),
    POOL_ROW("max 3x3/2 VALID 9x8", MAX, 3, 3, 2, 2, VALID, 2, 9, 8),
    POOL_ROW("max 3x2/(2,1) SAME 7x6", MAX, 3, 2, 2, 1, SAME, 2, 7, 6),
    POOL_ROW("avg 2x2/2 VALID 9x6", AVG, 2, 2, 2, 2, VALID, 2, 9, 6),
    POOL_ROW("avg 2x2/2 SAME 7x5", AVG, 2, 2, 2, 2, SAME, 2, 7, 5),
    POOL_ROW("avg 3x3/2 SAME 28x28", AVG, 3, 3, 2, 2, SAME, 2, 28, 28),
    POOL_ROW("avg 3x3/2 SAME 7x10", AVG, 3, 3, 2, 2, SAME, 3, 7, 10),
    POOL_ROW("avg 3x3/2 VALID 7x9", AVG, 3, 3, 2, 2, VALID, 2, 7, 9),
    POOL_ROW("avg 3x3/1 SAME 6x5", AVG, 3, 3, 1, 1, SAME, 3, 6, 5),
    POOL_ROW("max 3x3/1 SAME 5x6", MAX, 3, 3, 1, 1, SAME, 2, 5, 6),
    POOL_ROW("max 3x3/2 SAME 2x5 (window > input)", MAX, 3, 3, 2, 2, SAME, 2, 2, 5),
    POOL_ROW("avg 5x5/1 SAME 3x4 (window > input)", AVG, 5, 5, 1, 1, SAME, 2, 3, 4),
    /* rows of >= 16 outputs: f32 average pooling of a plain input by hand (pool.c, pool_plane.c) */
    POOL_ROW("avg 3x3/1 SAME 6x20 (Inception's)", AVG, 3, 3, 1, 1, SAME, 2, 6, 20),
    POOL_ROW("avg 3x3/2 SAME 5x40", AVG, 3, 3, 2, 2, SAME, 2, 5, 40),
    POOL_ROW("avg 5x5/3 VALID 11x50", AVG, 5, 5, 3, 3, VALID, 2, 11, 50),
    POOL_ROW("avg 4x4/1 VALID 4x19 (window = rows)", AVG, 4, 4, 1, 1, VALID, 1, 4, 19),
    POOL_ROW("avg 3x2/(1,2) SAME 3x601 (300+ outputs a row)", AVG, 3, 2, 1, 2, SAME, 1, 3, 601),
};

static void test_pool_table(void) { tc_layer_run_all(rows, sizeof rows / sizeof *rows); }

/* Eval mode gives the same output, and a rebuild at another batch size still matches the reference. */
static void test_pool_eval_and_rebuild(void) {
    const dob_pool_cfg c = {DOB_POOL_MAX, 3, 3, 2, 2, DOB_PAD_SAME};
    dob_net *net = pool_net(&c, 4, 9, 10, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    dob_tensor *x = dob_net_input_tensor(net), *y = dob_net_output(net);
    fill_distinct(x->data, x->count, 50);
    CU_ASSERT(check_vs_ref(net, &c, "batch 2"));
    float *train = malloc(y->count * sizeof *train);
    memcpy(train, y->data, y->count * sizeof *train);
    TC_ASSERT_OK(dob_net_forward(net, 0));
    CU_ASSERT(tc_close("eval forward", y->data, train, y->count, 0.0));
    free(train);
    TC_ASSERT_OK(dob_net_build(net, 5));
    x = dob_net_input_tensor(net);
    y = dob_net_output(net);
    CU_ASSERT_EQUAL(y->count, 5 * 4 * 5 * 5);
    fill_distinct(x->data, x->count, 51);
    CU_ASSERT(check_vs_ref(net, &c, "batch 5"));
    dob_net_destroy(net);
}

/* 3x3/2 SAME on 28x28: 14x14 outputs, padding 0 top/left and 1 bottom/right. */
static void test_pool_same_hand(void) {
    int64_t l, r;
    CU_ASSERT_EQUAL(dob_pad_out(28, 3, 2, DOB_PAD_SAME, &l, &r), 14);
    CU_ASSERT(l == 0 && r == 1);
    for (int sign = 1; sign >= -1; sign -= 2) {
        dob_net *net = pool_net(&(dob_pool_cfg){DOB_POOL_MAX, 3, 3, 2, 2, DOB_PAD_SAME}, 1, 28, 28, 1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(net);
        dob_tensor *x = dob_net_input_tensor(net), *y = dob_net_output(net);
        CU_ASSERT(y->dims[2] == 14 && y->dims[3] == 14);
        for (int i = 0; i < 28 * 28; i++) x->data[i] = (float)(sign * i); /* x[h][w] = +-(28 h + w) */
        TC_ASSERT_OK(dob_net_forward(net, 1));
        if (sign > 0) {
            /* increasing values: each max is the bottom-right valid element of its window */
            CU_ASSERT_DOUBLE_EQUAL(y->data[0], 2 * 28 + 2, 0);          /* rows 0..2, cols 0..2: no top pad */
            CU_ASSERT_DOUBLE_EQUAL(y->data[1], 2 * 28 + 4, 0);          /* cols 2..4 */
            CU_ASSERT_DOUBLE_EQUAL(y->data[14 * 14 - 1], 27 * 28 + 27, 0); /* rows/cols 26..28: 2x2 valid */
        } else {
            /* decreasing values: each max is the top-left element; the bottom-right window is rows/cols 26..27 */
            CU_ASSERT_DOUBLE_EQUAL(y->data[0], 0, 0);
            CU_ASSERT_DOUBLE_EQUAL(y->data[14 * 14 - 1], -(26 * 28 + 26), 0);
            CU_ASSERT_DOUBLE_EQUAL(y->data[13], -(0 * 28 + 26), 0); /* row 0, last column */
        }
        dob_net_destroy(net);
    }
    /* avg 3x3/2 SAME on 28x28 with x[h][w] = 28 h + w: the bottom-right output averages 4 elements, the first 9 */
    dob_net *net = pool_net(&(dob_pool_cfg){DOB_POOL_AVG, 3, 3, 2, 2, DOB_PAD_SAME}, 1, 28, 28, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    dob_tensor *x = dob_net_input_tensor(net), *y = dob_net_output(net);
    for (int i = 0; i < 28 * 28; i++) x->data[i] = (float)i;
    TC_ASSERT_OK(dob_net_forward(net, 1));
    CU_ASSERT_DOUBLE_EQUAL(y->data[0], (0 + 1 + 2 + 28 + 29 + 30 + 56 + 57 + 58) / 9.0, 1e-4);
    CU_ASSERT_DOUBLE_EQUAL(y->data[14 * 14 - 1], (26 * 28 + 26 + 26 * 28 + 27 + 27 * 28 + 26 + 27 * 28 + 27) / 4.0,
                           1e-4);
    /* backward of the bottom-right output alone: 1/4 to each of its 4 valid inputs */
    memset(y->diff, 0, y->count * sizeof *y->diff);
    y->diff[14 * 14 - 1] = 1.0f;
    TC_ASSERT_OK(dob_net_backward(net));
    CU_ASSERT_DOUBLE_EQUAL(x->diff[27 * 28 + 27], 0.25, 1e-7);
    CU_ASSERT_DOUBLE_EQUAL(x->diff[26 * 28 + 26], 0.25, 1e-7);
    CU_ASSERT_DOUBLE_EQUAL(x->diff[25 * 28 + 25], 0.0, 0);
    dob_net_destroy(net);
}

/* Inception-style 3x3 stride 1 SAME avg (exclude padding): corners average 4, edges 6, the inside 9. */
static void test_pool_avg_same_counts(void) {
    dob_net *net = pool_net(&(dob_pool_cfg){DOB_POOL_AVG, 3, 3, 1, 1, DOB_PAD_SAME}, 1, 5, 5, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    dob_tensor *x = dob_net_input_tensor(net), *y = dob_net_output(net);
    CU_ASSERT(y->dims[2] == 5 && y->dims[3] == 5);
    for (int i = 0; i < 25; i++) x->data[i] = 1.0f;
    TC_ASSERT_OK(dob_net_forward(net, 1));
    float ones[25];
    for (int i = 0; i < 25; i++) ones[i] = 1.0f;
    CU_ASSERT(tc_close("avg of ones (include-padding would give 4/9 at corners)", y->data, ones, 25, 1e-7));
    for (int i = 0; i < 25; i++) x->data[i] = (float)i; /* x[h][w] = 5 h + w */
    TC_ASSERT_OK(dob_net_forward(net, 1));
    CU_ASSERT_DOUBLE_EQUAL(y->data[0], (0 + 1 + 5 + 6) / 4.0, 1e-6);               /* corner: 4 elements */
    CU_ASSERT_DOUBLE_EQUAL(y->data[2], (1 + 2 + 3 + 6 + 7 + 8) / 6.0, 1e-6);       /* top edge: 6 */
    CU_ASSERT_DOUBLE_EQUAL(y->data[24], (18 + 19 + 23 + 24) / 4.0, 1e-6);          /* corner: 4 */
    CU_ASSERT_DOUBLE_EQUAL(y->data[12], 12.0, 1e-6);                               /* inside: 9, symmetric */
    /* backward with dy = 1: input (0,0) is in the windows of outputs (0,0) /4, (0,1) /6, (1,0) /6, (1,1) /9 */
    for (int i = 0; i < 25; i++) y->diff[i] = 1.0f;
    TC_ASSERT_OK(dob_net_backward(net));
    CU_ASSERT_DOUBLE_EQUAL(x->diff[0], 1.0 / 4 + 2.0 / 6 + 1.0 / 9, 1e-6);
    dob_net_destroy(net);
}

/* ---- global average pooling: one row of the table's checks ----------------------------------------------- */
static dob_status add_gap(dob_net *net, int in, const void *cfg, int *out) {
    (void)cfg;
    return dob_net_global_avg_pool(net, "gap", in, out);
}

/* y [N, C] = the mean of each plane; dx = dy / (H W) (dx NULL: forward only). */
static void ref_gap(dob_net *net, const float *dy, float *y, float *dx) {
    const dob_tensor *x = dob_net_input_tensor(net), *o = dob_net_output(net);
    const int64_t planes = x->dims[0] * x->dims[1], hw = x->dims[2] * x->dims[3];
    int ok = o->ndim == 2 && o->dims[0] == x->dims[0] && o->dims[1] == x->dims[1];
    CU_ASSERT(ok);
    for (int64_t p = 0; p < planes && ok; p++) {
        double s = 0;
        for (int64_t i = 0; i < hw; i++) s += x->data[p * hw + i];
        y[p] = (float)(s / (double)hw);
        for (int64_t i = 0; i < hw && dx; i++) dx[p * hw + i] = (float)(dy[p] / (double)hw);
    }
    for (size_t i = 0; i < o->count && !ok; i++) y[i] = NAN;
}

static void ref_gap_forward(const void *cfg, dob_net *net, float *y) {
    (void)cfg;
    ref_gap(net, NULL, y, NULL);
}

static void ref_gap_backward(const void *cfg, dob_net *net, const float *dy, float *dx, float *dp) {
    (void)cfg, (void)dp;
    float *y = malloc(dob_net_output(net)->count * sizeof *y);
    ref_gap(net, dy, y, dx);
    free(y);
}

static void test_gap(void) {
    const tc_layer_case row = {.name = "gap 4x5x7", .in_ndim = 3, .in_dims = {4, 5, 7}, .add = add_gap,
                               .ref = ref_gap_forward, .ref_backward = ref_gap_backward, .fwd_tol = 1e-6,
                               .bwd_tol = 1e-7, .gc = {.eps = GC_EPS, .tol = 1e-2, .training = 1}, .in_lo = -2.0f,
                               .in_hi = 2.0f, .seed = 21};
    tc_layer_run(&row);
}

/* GAP over a 1x1 plane is the identity; over an 8x8 plane of a constant it is that constant. */
static void test_gap_hand(void) {
    dob_net *net;
    int y;
    TC_ASSERT_OK(dob_net_create(&net, 3, (int64_t[]){3, 8, 8}));
    TC_ASSERT_OK(dob_net_global_avg_pool(net, "gap", dob_net_input(net), &y));
    TC_ASSERT_OK(dob_net_alloc(net));
    TC_ASSERT_OK(dob_net_build(net, 2)); /* no input grad: backward must skip the NULL in_diff */
    dob_tensor *x = dob_net_input_tensor(net), *o = dob_net_output(net);
    for (size_t i = 0; i < x->count; i++) x->data[i] = (float)(i / 64) + 0.5f; /* plane k holds k + 0.5 */
    TC_ASSERT_OK(dob_net_forward(net, 0));
    for (int k = 0; k < 6; k++) CU_ASSERT_DOUBLE_EQUAL(o->data[k], k + 0.5, 1e-6);
    TC_ASSERT_OK(dob_net_backward(net));
    dob_net_destroy(net);
}

/* Max pooling edge values: a NaN in a window wins it (a diverging run stays visible), ties route the gradient
 * to the first maximum in row-major window order (all-zero windows after a ReLU), -inf is a value like any. */
static void test_pool_max_nan_ties(void) {
    const dob_pool_cfg c = {DOB_POOL_MAX, 2, 2, 2, 2, DOB_PAD_VALID};
    dob_net *net = pool_net(&c, 3, 2, 4, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    dob_tensor *x = dob_net_input_tensor(net), *y = dob_net_output(net);
    /* channel 0: NaN second in window 0, last in window 1; channel 1: ties; channel 2: -inf and a value */
    const float in[3][8] = {{1.0f, NAN, 0.5f, 2.0f, 3.0f, 1.0f, 2.0f, NAN},
                            {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 2.0f, 2.0f},
                            {-INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -1.0f, -INFINITY, -INFINITY}};
    memcpy(x->data, in, sizeof in);
    TC_ASSERT_OK(dob_net_forward(net, 1));
    CU_ASSERT(isnan(y->data[0]) && isnan(y->data[1]));
    CU_ASSERT(y->data[2] == 0.0f && y->data[3] == 2.0f);
    CU_ASSERT(y->data[4] == -1.0f && y->data[5] == -INFINITY);
    for (size_t i = 0; i < y->count; i++) y->diff[i] = (float)(i + 1);
    TC_ASSERT_OK(dob_net_backward(net));
    /* x is 2x4 per channel: window 0 = {0,1,4,5}, window 1 = {2,3,6,7} */
    const float want[3][8] = {{0, 1, 0, 0, 0, 0, 0, 2}, {3, 0, 0, 0, 0, 0, 4, 0}, {0, 0, 6, 0, 0, 5, 0, 0}};
    CU_ASSERT(tc_close("max pooling grad with NaN, ties, -inf", x->diff, &want[0][0], 24, 0.0));
    dob_net_destroy(net);
}

/* ---- error paths ---------------------------------------------------------------------------------------- */
static void test_pool_errors(void) {
    dob_net *net;
    TC_ASSERT_OK(dob_net_create(&net, 3, (int64_t[]){2, 2, 5}));
    int x = dob_net_input(net);
    TC_ASSERT_FAILS(dob_net_pool(net, "p1", x, &(dob_pool_cfg){DOB_POOL_MAX, 3, 3, 1, 1, DOB_PAD_VALID}, NULL),
                    DOB_EINVAL, "layer p1 (pool): VALID pooling window 3x3 is larger than the input 2x5");
    TC_ASSERT_FAILS(dob_net_pool(net, "p2", x, &(dob_pool_cfg){DOB_POOL_AVG, 2, 6, 1, 1, DOB_PAD_VALID}, NULL),
                    DOB_EINVAL, "window 2x6 is larger than the input 2x5");
    TC_ASSERT_FAILS(dob_net_pool(net, "p3", x, &(dob_pool_cfg){DOB_POOL_MAX, 0, 2, 1, 1, DOB_PAD_SAME}, NULL),
                    DOB_EINVAL, "expected window and strides >= 1, found window 0x2");
    TC_ASSERT_FAILS(dob_net_pool(net, "p4", x, &(dob_pool_cfg){DOB_POOL_MAX, 2, 2, 2, 0, DOB_PAD_SAME}, NULL),
                    DOB_EINVAL, "strides 2x0");
    TC_ASSERT_FAILS(dob_net_pool(net, "p5", x, &(dob_pool_cfg){(dob_pool_kind)7, 2, 2, 2, 2, DOB_PAD_SAME}, NULL),
                    DOB_EINVAL, "unknown pooling kind 7");
    TC_ASSERT_FAILS(dob_net_pool(net, "p6", x, &(dob_pool_cfg){DOB_POOL_AVG, 2, 2, 2, 2, (dob_padding)5}, NULL),
                    DOB_EINVAL, "unknown padding 5");
    /* SAME accepts a window larger than the input: 3x3/2 on 2x5 -> 1x3 */
    int y;
    TC_ASSERT_OK(dob_net_pool(net, "ok", x, &(dob_pool_cfg){DOB_POOL_MAX, 3, 3, 2, 2, DOB_PAD_SAME}, &y));
    CU_ASSERT(dob_net_tensor(net, y)->dims[2] == 1 && dob_net_tensor(net, y)->dims[3] == 3);
    /* non-4-D inputs */
    int f;
    TC_ASSERT_OK(dob_net_flatten(net, "flat", x, &f));
    TC_ASSERT_FAILS(dob_net_pool(net, "p7", f, &(dob_pool_cfg){DOB_POOL_MAX, 2, 2, 2, 2, DOB_PAD_SAME}, NULL),
                    DOB_EINVAL, "layer p7 (pool): expected a 4-D input N,C,H,W, found a 2-D tensor");
    TC_ASSERT_FAILS(dob_net_global_avg_pool(net, "g1", f, NULL), DOB_EINVAL,
                    "layer g1 (global_avg_pool): expected a 4-D input N,C,H,W, found a 2-D tensor");
    dob_net_destroy(net);
    TC_ASSERT_OK(dob_net_create(&net, 2, (int64_t[]){3, 4}));
    TC_ASSERT_FAILS(dob_net_global_avg_pool(net, "g2", dob_net_input(net), NULL), DOB_EINVAL, "found a 3-D tensor");
    dob_net_destroy(net);
}

/* Pooling on a conv's blocked output (16 channels: whole blocks on every ISA, see test_conv.c): conv 3 -> 16 (3x3
 * SAME) -> GAP, or max pooling 2x2/2 (the tiled kernels on nChw8c / nChw16c), -> dense 4, with layout propagation
 * on and off. The conv output must travel blocked, and the outputs, the input and parameter gradients equal the
 * all-plain net's. */
static dob_net *blocked_net(int gap, int propagate) {
    const dob_conv_cfg c = {16, 3, 3, 1, 1, DOB_PAD_SAME, 1, {DOB_INIT_GLOROT_UNIFORM, 0, 0},
                            {DOB_INIT_CONST, 0.1f, 0}, 0, DOB_ACT_RELU};
    const dob_dense_cfg d = {.out_features = 4, .bias = 1, .w_init = {DOB_INIT_GLOROT_UNIFORM, 0, 0},
                             .b_init = {DOB_INIT_ZEROS, 0, 0}};
    const dob_pool_cfg max = {DOB_POOL_MAX, 2, 2, 2, 2, DOB_PAD_SAME};
    dob_net *net = NULL;
    int y;
    if (dob_net_create(&net, 3, gap ? (int64_t[]){3, 5, 7} : (int64_t[]){3, 6, 8}) != DOB_OK ||
        dob_net_conv(net, "conv", 0, &c, &y) != DOB_OK ||
        (gap ? dob_net_global_avg_pool(net, "gap", y, &y) : dob_net_pool(net, "pool", y, &max, &y)) != DOB_OK ||
        dob_net_dense(net, "dense", y, &d, &y) != DOB_OK || dob_net_alloc(net) != DOB_OK)
        goto fail;
    dob_arena_init(dob_net_arena(net), 23);
    if (tc_layout_pass(net, propagate, 1, 3, 24) != DOB_OK) goto fail;
    return net;
fail:
    fprintf(stderr, "\n    blocked_net: %s\n", dob_last_error());
    dob_net_destroy(net);
    return NULL;
}

static void check_blocked(int gap) {
    dob_net *a = blocked_net(gap, 1), *b = blocked_net(gap, 0);
    CU_ASSERT_FATAL(a && b);
    tc_check_against_plain(a, b, (const int[]){1}, (const int[]){1}, 1, (const int[]){1},
                           gap ? "gap, blocked" : "max pool, blocked");
    dob_net_destroy(a);
    dob_net_destroy(b);
}

static void test_gap_blocked(void) { check_blocked(1); }
static void test_pool_max_blocked(void) { check_blocked(0); }

static CU_TestInfo tests[] = {
    {"pool_table", test_pool_table},
    {"pool_eval_and_rebuild", test_pool_eval_and_rebuild},
    {"pool_same_hand", test_pool_same_hand},
    {"pool_avg_same_counts", test_pool_avg_same_counts},
    {"pool_max_nan_ties", test_pool_max_nan_ties},
    {"gap", test_gap},
    {"gap_hand", test_gap_hand},
    {"gap_blocked", test_gap_blocked},
    {"pool_max_blocked", test_pool_max_blocked},
    {"pool_errors", test_pool_errors},
    CU_TEST_INFO_NULL,
};
CU_SuiteInfo pool_suite = {"pool", NULL, NULL, NULL, NULL, tests};
