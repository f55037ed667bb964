/* test_augment.c: DeepOBS's image preprocessing (src/data/augment.c): per-image standardisation against a
 * double-precision reference, crop offsets and flips (every offset 0..4 occurs, flips about half the time, the
 * pixels are the shifted/mirrored source), brightness as a constant shift, saturation on TF's documented example,
 * contrast around the channel means, and the keying: a batch equals its examples done one by one, and splitting a
 * batch over "ranks" changes nothing. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dob/data.h"
#include "dob/trainer.h"
#include "tc.h"

enum { C = 3, H = 8, W = 8, SZ = C * H * W };

static void fill_image(float *x, int64_t n, uint64_t stream) { tc_fill(x, (size_t)(n * SZ), 5, stream, 0.0f, 255.0f); }

static void test_standardize(void) {
    float x[2 * SZ], y[2 * SZ];
    fill_image(x, 1, 1);
    for (int i = 0; i < SZ; i++) x[SZ + i] = 7.0f; /* constant image: stddev floor 1/sqrt(N), result 0 */
    const dob_preproc p = {.standardize = 1};
    dob_preproc_apply(&p, 0, 1, 0, x, y, 2, C, H, W);
    double s = 0, s2 = 0;
    for (int i = 0; i < SZ; i++) s += x[i], s2 += (double)x[i] * x[i];
    double mean = s / SZ, sd = sqrt(s2 / SZ - mean * mean);
    float want[SZ];
    for (int i = 0; i < SZ; i++) want[i] = (float)((x[i] - mean) / sd);
    TC_ASSERT_CLOSE("standardised image", y, want, SZ, 1e-5);
    int zero = 1;
    for (int i = 0; i < SZ; i++) zero &= y[SZ + i] == 0.0f;
    CU_ASSERT(zero);
    dob_preproc_apply(&p, 0, 1, 0, x, x, 2, C, H, W); /* in place, no augmentation */
    CU_ASSERT_EQUAL(memcmp(x, y, sizeof y), 0);
}

/* Offsets (oy, ox) and flip for which dst is src padded by 2, cropped and mirrored; -1 if none matches. */
static int find_crop(const float *src, const float *dst, int *oy, int *ox, int *flip) {
    for (int f = 0; f < 2; f++)
        for (int a = 0; a <= 4; a++)
            for (int b = 0; b <= 4; b++) {
                int ok = 1;
                for (int c = 0; c < C && ok; c++)
                    for (int y = 0; y < H && ok; y++)
                        for (int x = 0; x < W && ok; x++) {
                            int sy = y + a - 2, sx = (f ? W - 1 - x : x) + b - 2;
                            float v = sy >= 0 && sy < H && sx >= 0 && sx < W ? src[(c * H + sy) * W + sx] : 0.0f;
                            ok = dst[(c * H + y) * W + x] == v;
                        }
                if (ok) {
                    *oy = a, *ox = b, *flip = f;
                    return 0;
                }
            }
    return -1;
}

static void test_crop_flip(void) {
    enum { N = 600 };
    float *x = malloc(N * SZ * sizeof *x), *y = malloc(N * SZ * sizeof *y);
    for (int i = 0; i < N * SZ; i++) x[i] = (float)(1 + i % 9973); /* distinct nonzero values: a unique match */
    const dob_preproc p = {.pad = 2, .flip = 1};
    dob_preproc_apply(&p, 1, 42, 1000, x, y, N, C, H, W);
    int seen[5][5] = {{0}}, flips = 0, unmatched = 0;
    for (int i = 0; i < N; i++) {
        int a, b, f;
        if (find_crop(x + i * SZ, y + i * SZ, &a, &b, &f)) {
            unmatched++;
            continue;
        }
        seen[a][b]++;
        flips += f;
    }
    CU_ASSERT_EQUAL(unmatched, 0);
    int all = 1;
    for (int a = 0; a < 5; a++)
        for (int b = 0; b < 5; b++) all &= seen[a][b] > 5; /* 24 expected each */
    CU_ASSERT(all);
    CU_ASSERT(flips > N / 2 - 60 && flips < N / 2 + 60);
    /* SVHN: no flip configured, never flipped */
    const dob_preproc q = {.pad = 2};
    dob_preproc_apply(&q, 1, 42, 1000, x, y, N, C, H, W);
    flips = 0;
    for (int i = 0; i < N; i++) {
        int a, b, f;
        if (!find_crop(x + i * SZ, y + i * SZ, &a, &b, &f)) flips += f;
    }
    CU_ASSERT_EQUAL(flips, 0);
    free(x);
    free(y);
}

static void test_color(void) {
    float x[4 * SZ], y[4 * SZ];
    fill_image(x, 4, 2);
    const float b = 63.0f / 255.0f;
    const dob_preproc br = {.brightness = b};
    dob_preproc_apply(&br, 1, 3, 0, x, y, 4, C, H, W);
    int ok = 1;
    for (int i = 0; i < 4; i++) {
        float d = y[i * SZ] - x[i * SZ];
        ok &= d >= -b - 1e-4f && d < b + 1e-4f;
        for (int j = 0; j < SZ; j++) ok &= fabsf(y[i * SZ + j] - x[i * SZ + j] - d) < 1e-4f;
    }
    CU_ASSERT(ok);
    /* TF's docstring: adjust_saturation([1, 2, 3], 0.5) = [2, 2.5, 3]; factor 1.5 clips S at 1: [0, 1.5, 3] */
    float px[3] = {1, 2, 3}, out[3];
    const dob_preproc s05 = {.sat_lo = 0.5f, .sat_hi = 0.5000001f}, s15 = {.sat_lo = 1.5f, .sat_hi = 1.5000001f};
    dob_preproc_example(&s05, 1, 0, px, out, 3, 1, 1);
    TC_ASSERT_CLOSE("saturation 0.5", out, ((float[]){2.0f, 2.5f, 3.0f}), 3, 1e-5);
    dob_preproc_example(&s15, 1, 0, px, out, 3, 1, 1);
    TC_ASSERT_CLOSE("saturation 1.5", out, ((float[]){0.0f, 1.5f, 3.0f}), 3, 1e-5);
    /* contrast: channel means kept, deviations scaled by one factor in [0.2, 1.8) */
    const dob_preproc co = {.con_lo = 0.2f, .con_hi = 1.8f};
    dob_preproc_example(&co, 9, 5, x, y, C, H, W);
    double f = 0;
    ok = 1;
    for (int c = 0; c < C; c++) {
        double m = 0, my = 0;
        for (int j = 0; j < H * W; j++) m += x[c * H * W + j], my += y[c * H * W + j];
        m /= H * W, my /= H * W;
        ok &= fabs(m - my) < 1e-3;
        double fc = (y[c * H * W] - my) / (x[c * H * W] - m);
        if (c == 0) f = fc;
        ok &= fabs(fc - f) < 1e-3 && f >= 0.2 - 1e-4 && f < 1.8;
    }
    CU_ASSERT(ok);
}

/* A batch equals its examples one by one (thread independence), and any split over ranks, keyed by position. */
static void test_keying(void) {
    enum { N = 16 };
    float x[N * SZ], a[N * SZ], b[N * SZ], one[SZ];
    fill_image(x, N, 3);
    const dob_preproc p = {.standardize = 1, .pad = 2, .flip = 1, .brightness = 0.25f, .sat_lo = 0.5f,
                           .sat_hi = 1.5f, .con_lo = 0.2f, .con_hi = 1.8f};
    dob_preproc_apply(&p, 1, 7, 320, x, a, N, C, H, W);
    dob_preproc_apply(&p, 1, 7, 320, x, b, N / 2, C, H, W);                              /* rank 0 */
    dob_preproc_apply(&p, 1, 7, 320 + N / 2, x + N / 2 * SZ, b + N / 2 * SZ, N / 2, C, H, W); /* rank 1 */
    CU_ASSERT_EQUAL(memcmp(a, b, sizeof a), 0);
    const dob_preproc raw = {.pad = 2, .flip = 1, .brightness = 0.25f, .sat_lo = 0.5f, .sat_hi = 1.5f,
                             .con_lo = 0.2f, .con_hi = 1.8f};
    dob_preproc_example(&raw, 7, 320 + 5, x + 5 * SZ, one, C, H, W);
    const dob_preproc st = {.standardize = 1};
    dob_preproc_apply(&st, 0, 0, 0, one, one, 1, C, H, W);
    CU_ASSERT_EQUAL(memcmp(one, a + 5 * SZ, sizeof one), 0);
    dob_preproc_apply(&p, 1, 7, 321, x, b, N, C, H, W); /* other positions: other images */
    CU_ASSERT_NOT_EQUAL(memcmp(a, b, sizeof a), 0);
    dob_preproc_apply(&p, 1, 8, 320, x, b, N, C, H, W); /* other seed */
    CU_ASSERT_NOT_EQUAL(memcmp(a, b, sizeof a), 0);
}

/* The trainer applies the preprocessing: standardisation only == data standardised beforehand (train and eval
 * paths), and augmentation in training changes the training losses but not the initial evaluation. */
static void run_tiny(const dob_dataset *tr, const dob_dataset *te, const dob_preproc *p, double out[4]) {
    dob_net *net;
    int y, f;
    TC_ASSERT_OK(dob_net_create(&net, 3, (int64_t[]){C, H, W}));
    TC_ASSERT_OK(dob_net_flatten(net, "flat", 0, &f));
    dob_dense_cfg dc = {.out_features = 4, .bias = 1, .w_init = {DOB_INIT_GLOROT_UNIFORM, 0, 0}};
    TC_ASSERT_OK(dob_net_dense(net, "fc", f, &dc, &y));
    TC_ASSERT_OK(dob_net_alloc(net));
    dob_train_cfg c = {.net = net, .loss = DOB_LOSS_SOFTMAX_CE, .has_accuracy = 1, .train_eval_size = 16,
                       .optim = dob_optim_find("sgd"), .batch_size = 8, .num_epochs = 1, .train_log_interval = 1,
                       .seed = 3, .rank = 0, .nranks = 1, .train = tr, .test = te, .preproc = p};
    TC_ASSERT_OK(dob_sched_constant(&c.sched, 0.01));
    dob_train_out o;
    TC_ASSERT_OK(dob_train(&c, &o));
    out[0] = o.test_losses[0], out[1] = o.minibatch_train_losses[0], out[2] = o.minibatch_train_losses[1];
    out[3] = o.test_losses[1];
    dob_train_out_free(&o);
    dob_net_destroy(net);
}

static void test_trainer_applies(void) {
    dob_dataset tr, te, trs, tes;
    TC_ASSERT_OK(dob_dataset_alloc(&tr, 16, 3, (int64_t[]){C, H, W}, 4));
    TC_ASSERT_OK(dob_dataset_alloc(&te, 16, 3, (int64_t[]){C, H, W}, 4));
    fill_image(tr.x, 16, 10);
    fill_image(te.x, 16, 11);
    for (int i = 0; i < 16; i++) tr.y[i * 4 + i % 4] = te.y[i * 4 + (i + 1) % 4] = 1.0f;
    TC_ASSERT_OK(dob_dataset_slice(&tr, 0, 16, &trs));
    TC_ASSERT_OK(dob_dataset_slice(&te, 0, 16, &tes));
    const dob_preproc st = {.standardize = 1};
    dob_preproc_apply(&st, 0, 0, 0, trs.x, trs.x, 16, C, H, W);
    dob_preproc_apply(&st, 0, 0, 0, tes.x, tes.x, 16, C, H, W);
    double a[4], b[4], c[4];
    run_tiny(&tr, &te, &st, a);
    run_tiny(&trs, &tes, NULL, b);
    for (int i = 0; i < 4; i++) CU_ASSERT_DOUBLE_EQUAL(a[i], b[i], 1e-6);
    const dob_preproc aug = {.standardize = 1, .pad = 2, .flip = 1};
    run_tiny(&tr, &te, &aug, c);
    CU_ASSERT_DOUBLE_EQUAL(c[0], a[0], 1e-6);
    CU_ASSERT(fabs(c[1] - a[1]) > 1e-4 || fabs(c[2] - a[2]) > 1e-4);
    dob_dataset_free(&tr);
    dob_dataset_free(&te);
    dob_dataset_free(&trs);
    dob_dataset_free(&tes);
}

static CU_TestInfo tests[] = {
    {"trainer_applies_preprocessing", test_trainer_applies},
    {"per_image_standardization", test_standardize},
    {"pad_crop_flip", test_crop_flip},
    {"brightness_saturation_contrast", test_color},
    {"keyed_by_global_index", test_keying},
    CU_TEST_INFO_NULL,
};
CU_SuiteInfo augment_suite = {"augment", NULL, NULL, NULL, NULL, tests};
