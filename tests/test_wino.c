/* test_wino.c: dob's own Winograd F(4x4, 3x3) kernel (src/layers/wino.c) against the naive double-precision
 * convolution (tests/ref/ref_conv.c): forward (with bias and ReLU), backward data, backward weights (+ bias), on
 * nChw8c tensors; chunks smaller than the tile count (the last one partial) and planes that are not multiples of
 * 4. Its use inside the conv layer (--conv-algo winograd below AVX-512) is tested in test_conv.c (winograd).
 * Tolerances relative to max(1, |ref|): F(4x4, 3x3)'s transforms (entries up to 8 in A, 5 in B) amplify float
 * rounding; measured up to 3.5e-5 (outputs, input gradients) and 5.3e-5 (weight gradients) here, so 1e-4 and
 * 2e-4. */
#include "layers/wino.h"
#include "ref/ref_conv.h"
#include "suites.h"
#include "tc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* plain N,C,H,W <-> nChw8c (C a multiple of 8) */
static void to_blocked(const float *x, float *b, int64_t n, int64_t c, int64_t hw) {
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < c; j++)
            for (int64_t s = 0; s < hw; s++) b[((i * (c / 8) + j / 8) * hw + s) * 8 + j % 8] = x[(i * c + j) * hw + s];
}

static void to_plain(const float *b, float *x, int64_t n, int64_t c, int64_t hw) {
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < c; j++)
            for (int64_t s = 0; s < hw; s++) x[(i * c + j) * hw + s] = b[((i * (c / 8) + j / 8) * hw + s) * 8 + j % 8];
}

typedef struct wino_case {
    const char *what;
    int64_t n, ic, oc, h, w;
    int same, relu, bias;
    int64_t chunk; /* tiles per round; 0 = the kernel's own choice */
} wino_case;

static const wino_case cases[] = {
    {"8->16 8x8 SAME bias relu", 2, 8, 16, 8, 8, 1, 1, 1, 0},
    {"16->8 7x9 SAME, chunks of 3", 3, 16, 8, 7, 9, 1, 0, 1, 3},
    {"8->24 10x11 VALID relu, chunks of 5", 2, 8, 24, 10, 11, 0, 1, 0, 5},
    {"24->8 5x6 SAME, chunks of 1", 1, 24, 8, 5, 6, 1, 0, 0, 1},
    {"32->32 14x14 SAME bias", 2, 32, 32, 14, 14, 1, 0, 1, 7},
};

/* one pass of the kernel: in (plain) -> out (plain), through nChw8c copies */
static void run(dob_wino *k, const wino_case *c, const float *w, int flip, const float *in, float *out,
                const float *bias, int relu) {
    if (c->chunk) k->chunk = c->chunk;
    const int64_t hw = k->h * k->w, ohw = k->oh * k->ow;
    float *bi = malloc(k->n * k->ic * hw * sizeof *bi), *bo = malloc(k->n * k->oc * ohw * sizeof *bo);
    float *s = malloc(dob_wino_scratch(k) * sizeof *s);
    to_blocked(in, bi, k->n, k->ic, hw);
    for (int64_t i = 0; i < k->n * k->oc * ohw; i++) bo[i] = NAN; /* every output must be written */
    CU_ASSERT_EQUAL(dob_wino_run(k, w, flip, bi, bo, bias, relu, s), dnnl_success);
    to_plain(bo, out, k->n, k->oc, ohw);
    free(bi);
    free(bo);
    free(s);
}

/* backward weights of the forward pass k: dw (plain OIHW), db, from plain x and dy through nChw8c copies */
static void run_bwd_w(dob_wino *k, const wino_case *c, const float *x, const float *dy, float *dw, float *db) {
    if (c->chunk) k->chunk = c->chunk;
    const int64_t hw = k->h * k->w, ohw = k->oh * k->ow;
    float *bx = malloc(k->n * k->ic * hw * sizeof *bx), *by = malloc(k->n * k->oc * ohw * sizeof *by);
    float *s = malloc(dob_wino_scratch(k) * sizeof *s);
    to_blocked(x, bx, k->n, k->ic, hw);
    to_blocked(dy, by, k->n, k->oc, ohw);
    for (int64_t i = 0; i < k->oc * k->ic * 9; i++) dw[i] = NAN; /* overwritten, not accumulated */
    CU_ASSERT_EQUAL(dob_wino_bwd_w(k, bx, by, dw, db, s), dnnl_success);
    free(bx);
    free(by);
    free(s);
}

static void test_against_ref(void) {
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const wino_case *c = &cases[i];
        ref_conv r = {c->n, c->ic, c->h, c->w, c->oc, 3, 3, 1, 1, c->same, c->relu};
        int64_t oh, ow, pt, pl;
        ref_conv_geom(&r, &oh, &ow, &pt, &pl);
        const size_t nx = c->n * c->ic * c->h * c->w, ny = c->n * c->oc * oh * ow, nw = c->oc * c->ic * 9;
        float *x = malloc(nx * sizeof *x), *dx = malloc(nx * sizeof *dx), *dx_ref = malloc(nx * sizeof *dx);
        float *y = malloc(ny * sizeof *y), *y_ref = malloc(ny * sizeof *y), *dy = malloc(ny * sizeof *dy);
        float *w = malloc(nw * sizeof *w), b[32], db[32], db_ref[32];
        float *dw = malloc(nw * sizeof *dw), *dw_ref = malloc(nw * sizeof *dw);
        tc_fill(x, nx, 1, (uint64_t)i, -1.f, 1.f);
        tc_fill(dy, ny, 2, (uint64_t)i, -1.f, 1.f);
        tc_fill(w, nw, 3, (uint64_t)i, -0.5f, 0.5f);
        tc_fill(b, (size_t)c->oc, 4, (uint64_t)i, -0.5f, 0.5f);
        ref_conv_forward(&r, x, w, c->bias ? b : NULL, y_ref, NULL);
        r.relu = 0; /* backward data of the bare convolution */
        ref_conv_backward(&r, x, w, NULL, dy, dx_ref, dw_ref, db_ref);

        dob_wino k;
        CU_ASSERT_FATAL(dob_wino_init(&k, c->n, c->ic, c->oc, c->h, c->w, oh, ow, pt, pl));
        run(&k, c, w, 0, x, y, c->bias ? b : NULL, c->relu);
        TC_ASSERT_CLOSE(c->what, y, y_ref, ny, 1e-4);
        CU_ASSERT_FATAL(dob_wino_init(&k, c->n, c->oc, c->ic, oh, ow, c->h, c->w, 2 - pt, 2 - pl));
        run(&k, c, w, 1, dy, dx, NULL, 0);
        TC_ASSERT_CLOSE(c->what, dx, dx_ref, nx, 1e-4);
        CU_ASSERT_FATAL(dob_wino_init(&k, c->n, c->ic, c->oc, c->h, c->w, oh, ow, pt, pl));
        run_bwd_w(&k, c, x, dy, dw, c->bias ? db : NULL);
        TC_ASSERT_CLOSE(c->what, dw, dw_ref, nw, 2e-4);
        if (c->bias) TC_ASSERT_CLOSE(c->what, db, db_ref, (size_t)c->oc, 1e-5);
        free(x), free(dx), free(dx_ref), free(y), free(y_ref), free(dy), free(w), free(dw), free(dw_ref);
    }
}

/* A NaN input reaches the outputs of its tiles through the ReLU (a diverging run must be seen as one), and the
 * shapes the kernel does not take are refused. */
static void test_nan_and_refusals(void) {
    const wino_case c = {"nan", 1, 8, 8, 4, 4, 1, 1, 0, 0};
    float x[128] = {0}, w[576], y[128];
    tc_fill(w, 576, 5, 0, -1.f, 1.f);
    x[5] = NAN;
    dob_wino k;
    CU_ASSERT_FATAL(dob_wino_init(&k, 1, 8, 8, 4, 4, 4, 4, 1, 1));
    run(&k, &c, w, 0, x, y, NULL, 1);
    int nans = 0;
    for (int i = 0; i < 128; i++) nans += isnan(y[i]) != 0;
    CU_ASSERT_EQUAL(nans, 128); /* one 4x4 tile: every output of every channel */
    CU_ASSERT_FALSE(dob_wino_init(&k, 1, 12, 8, 4, 4, 4, 4, 1, 1));
    CU_ASSERT_FALSE(dob_wino_init(&k, 1, 8, 4, 4, 4, 4, 4, 1, 1));
    CU_ASSERT_FALSE(dob_wino_init(&k, 0, 8, 8, 4, 4, 4, 4, 1, 1));
}

static CU_TestInfo tests[] = {
    {"against_ref", test_against_ref},
    {"nan_and_refusals", test_nan_and_refusals},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo wino_suite = {"wino", NULL, NULL, NULL, NULL, tests};
