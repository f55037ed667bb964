/* test_resize.c: the bilinear resize layer (TF1 resize_images BILINEAR, legacy mapping). Through the table-driven
 * checks (layer_fx.h) at batch 3 and 5: forward against a naive reference written here from TF's definition
 * (four weighted neighbours summed in double), finite-difference input gradients, overwrite-not-accumulate; for
 * up-, down- and mixed scaling, odd sizes, and DeepOBS's 32 -> 224. Hand cases with TF1's known outputs:
 * 2x2 -> 4x4 of [[1, 2], [3, 4]] and 4x4 -> 2x2 (every other pixel); the identity when the size is unchanged;
 * the half-pixel mapping of oneDNN's resampling (and PyTorch's align_corners=True) is not what we compute.
 * Error paths: non-4-D input, sizes out of range. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "layer_fx.h"
#include "tc.h"

/* ---- naive reference: TF's source coordinate (float32 as TF), then the 4-tap weighted sum in double ---- */
static void ref_coord(int64_t i, int64_t in, int64_t out, int64_t *lo, int64_t *hi, double *lerp) {
    const float scale = (float)in / (float)out, s = (float)i * scale;
    *lo = (int64_t)floorf(s);
    *hi = (int64_t)ceilf(s) < in - 1 ? (int64_t)ceilf(s) : in - 1;
    *lerp = (double)s - floor((double)s);
}

static void ref_resize(const float *x, int64_t planes, int64_t h, int64_t w, int64_t oh, int64_t ow, float *y) {
    for (int64_t q = 0; q < planes; q++)
        for (int64_t i = 0; i < oh; i++)
            for (int64_t j = 0; j < ow; j++) {
                int64_t y0, y1, x0, x1;
                double a, b;
                ref_coord(i, h, oh, &y0, &y1, &a);
                ref_coord(j, w, ow, &x0, &x1, &b);
                const float *p = x + q * h * w;
                y[(q * oh + i) * ow + j] = (float)((1 - a) * (1 - b) * p[y0 * w + x0] + (1 - a) * b * p[y0 * w + x1] +
                                                   a * (1 - b) * p[y1 * w + x0] + a * b * p[y1 * w + x1]);
            }
}

static dob_status add_resize(dob_net *net, int in, const void *cfg, int *out) {
    return dob_net_resize_bilinear(net, "resize", in, cfg, out);
}

static void ref_forward(const void *cfg, dob_net *net, float *y) {
    const dob_resize_cfg *c = cfg;
    const dob_tensor *x = dob_net_input_tensor(net);
    ref_resize(x->data, x->dims[0] * x->dims[1], x->dims[2], x->dims[3], c->out_h, c->out_w, y);
}

#define RESIZE_ROW(label, c, h, w, oh, ow)                                                                         \
    {.name = "resize " label, .in_ndim = 3, .in_dims = {c, h, w}, .cfg = &(const dob_resize_cfg){oh, ow},          \
     .add = add_resize, .ref = ref_forward, .fwd_tol = 1e-5, .gc = {.eps = 1e-2, .tol = 2e-3, .training = 1},    \
     .seed = 7}
static const tc_layer_case rows[] = {
    RESIZE_ROW("2x2->4x4", 2, 2, 2, 4, 4),        RESIZE_ROW("3x5->7x4 (up, down)", 3, 3, 5, 7, 4),
    RESIZE_ROW("5x4->3x9 (down, up)", 2, 5, 4, 3, 9), RESIZE_ROW("1x6->4x1", 1, 1, 6, 4, 1),
    RESIZE_ROW("6x6->6x6 (identity)", 2, 6, 6, 6, 6), RESIZE_ROW("32x32->224x224 (VGG)", 3, 32, 32, 224, 224),
};

static void test_resize_table(void) { tc_layer_run_all(rows, sizeof rows / sizeof rows[0]); }

/* Forward of one example with C = 1 from given values (batch 1). */
static void run_one(int64_t h, int64_t w, int64_t oh, int64_t ow, const float *x, float *y) {
    dob_net *net;
    int out;
    TC_ASSERT_OK(dob_net_create(&net, 3, (int64_t[]){1, h, w}));
    TC_ASSERT_OK(dob_net_resize_bilinear(net, "resize", 0, &(dob_resize_cfg){oh, ow}, &out));
    TC_ASSERT_OK(dob_net_alloc(net));
    TC_ASSERT_OK(dob_net_build(net, 1));
    memcpy(dob_net_input_tensor(net)->data, x, (size_t)(h * w) * sizeof *x);
    TC_ASSERT_OK(dob_net_forward(net, 0));
    memcpy(y, dob_net_output(net)->data, (size_t)(oh * ow) * sizeof *y);
    dob_net_destroy(net);
}

/* TF1: tf.image.resize_images([[1, 2], [3, 4]], [4, 4]) (align_corners False, legacy mapping: rows/cols 0, 0.5,
 * 1, 1.5 -> the last one clamps to the edge). align_corners=True would give 1, 1.333.., 1.666.., 2 in row 0, and
 * half-pixel centres (oneDNN, TF2) 1, 1.25, 1.75, 2. */
static void test_resize_hand_2x2(void) {
    const float x[4] = {1, 2, 3, 4};
    const float want[16] = {1, 1.5f, 2, 2, 2, 2.5f, 3, 3, 3, 3.5f, 4, 4, 3, 3.5f, 4, 4};
    float y[16];
    run_one(2, 2, 4, 4, x, y);
    TC_ASSERT_CLOSE("2x2 -> 4x4", y, want, 16, 0);
}

/* Downscaling 4x4 -> 2x2 by 2: source coordinates 0 and 2, no interpolation: pixels (0,0) (0,2) (2,0) (2,2). */
static void test_resize_hand_down(void) {
    float x[16], y[4];
    for (int i = 0; i < 16; i++) x[i] = (float)i;
    const float want[4] = {0, 2, 8, 10};
    run_one(4, 4, 2, 2, x, y);
    TC_ASSERT_CLOSE("4x4 -> 2x2", y, want, 4, 0);
}

/* 32 -> 224 on a ramp x[h][w] = w: output column j is the source coordinate j / 7 (clamped to 31 from j = 217 on:
 * no half-pixel shift, the last 7 columns repeat the edge), exactly up to float rounding of j * (32 / 224). */
static void test_resize_vgg_ramp(void) {
    float *x = malloc(32 * 32 * sizeof *x), *y = malloc(224 * 224 * sizeof *y);
    for (int i = 0; i < 32 * 32; i++) x[i] = (float)(i % 32);
    run_one(32, 32, 224, 224, x, y);
    double worst = 0;
    for (int i = 0; i < 224; i += 37)
        for (int j = 0; j < 224; j++) {
            double want = j / 7.0 < 31 ? j / 7.0 : 31;
            worst = fmax(worst, fabs(y[i * 224 + j] - want));
        }
    CU_ASSERT(worst < 1e-5);
    free(x);
    free(y);
}

static void test_resize_errors(void) {
    dob_net *net;
    int out;
    TC_ASSERT_OK(dob_net_create(&net, 1, (int64_t[]){12}));
    TC_ASSERT_FAILS(dob_net_resize_bilinear(net, "r", 0, &(dob_resize_cfg){4, 4}, &out), DOB_EINVAL,
                    "layer r (resize_bilinear): expected a 4-D input (N,C,H,W), found 2-D");
    dob_net_destroy(net);
    TC_ASSERT_OK(dob_net_create(&net, 3, (int64_t[]){1, 4, 4}));
    TC_ASSERT_FAILS(dob_net_resize_bilinear(net, "r", 0, &(dob_resize_cfg){0, 4}, &out), DOB_EINVAL,
                    "output size must be 1..1048576 per side, found 0x4");
    dob_net_destroy(net);
}

static CU_TestInfo tests[] = {
    {"resize_table", test_resize_table},
    {"resize_hand_2x2", test_resize_hand_2x2},
    {"resize_hand_down", test_resize_hand_down},
    {"resize_vgg_ramp", test_resize_vgg_ramp},
    {"resize_errors", test_resize_errors},
    CU_TEST_INFO_NULL,
};
CU_SuiteInfo resize_suite = {"resize", NULL, NULL, NULL, NULL, tests};
