/* inception_v3.c: imagenet_inception_v3 (DeepOBS §3.8, _inception_v3.py and imagenet_inception_v3.py), input the
 * imagenet data set's 3x224x224 crops (io/imagenet.c: DeepOBS's crop and flip), standardised per image
 * (dob_preproc_imagenet), 1001 classes (0 = background).
 *
 * Net: bilinear resize 224 -> 299 (TF1 resize_images: legacy mapping, src/layers/resize.c); stem; block5 a/b/b
 * (35x35: 256, 288, 288 channels); block10 (-> 17x17x768); block6 a/b/b/c (n = 128/160/160/192, 1x7 and 7x1
 * convs); the auxiliary head on block6c's output; blockD (-> 8x8x1280); block7 x2 (-> 8x8x2048, branches ending
 * in [1x3 || 3x1]); avg-pool 8x8 VALID; dropout; dense 2048 -> 1001. Every conv is a conv_BN unit: conv without
 * bias, glorot_uniform, kernel in the L2 term (default 5e-4) -> batch norm (momentum 0.9997 in TF's convention,
 * epsilon 1e-3, gamma and beta) -> ReLU. Branches are concatenated along channels in TF's order. SAME average
 * pooling divides by the valid elements only (TF; dnnl_pooling_avg_exclude_padding in src/layers/pool.c).
 * Aux head: avg-pool 5x5/3 VALID (-> 5x5x768), conv_BN 1x1 128, conv_BN 5x5 VALID 768, flatten, dense 1001.
 * The two dense layers: glorot_uniform kernel, zero bias (tf.layers.dense defaults), not in the L2 term.
 * Parameters: 27 164 082 in 292 trainable tensors (96 conv kernels, 96 gamma, 96 beta, 2 x dense kernel + bias).
 *
 * Output: the net's output is [main logits | aux logits], N x 2002, for DOB_LOSS_SMOOTH_CE_AUX (losses.c):
 * label smoothing 0.1 on both, main + 0.4 aux in phase "train", main only in the others; accuracy from main.
 *
 * Decisions on DeepOBS's quirks (also in `dob list --notes`):
 *  - Dropout rate 0.8, literally: DeepOBS passes 0.8 as tf.layers.dropout's *drop* rate (keeping 20%), probably
 *    meant as a keep probability. dob follows the code, as it does for every other quirk of the benchmark's
 *    definition: results stay comparable with DeepOBS's TF runs.
 *  - Batch size 32 and 100 epochs: DeepOBS has no defaults for ImageNet; these are the Inception paper's, which
 *    DeepOBS's docstring quotes.
 * Layer names: "<block>/<branch>/conv<i>" with "/bn" and "/relu" for the unit's other two layers, not TF's
 * auto-numbered ones. */
#include <stdarg.h>
#include <stdio.h>

#include "dob/problem.h"

/* one conv_BN unit: filters, kernel kh x kw, stride, padding */
typedef struct unit {
    int64_t f, kh, kw, s;
    dob_padding pad;
} unit;

#define SAME(f, kh, kw) {f, kh, kw, 1, DOB_PAD_SAME}
#define VALID(f, k, s) {f, k, k, s, DOB_PAD_VALID}
#define N_UNITS(...) (int)(sizeof((const unit[]){__VA_ARGS__}) / sizeof(unit))
/* a branch of conv_BN units applied one after the other: CHAIN(ctx, branch, in, &out, units...) */
#define CHAIN(c, br, x, y, ...) chain(c, br, x, (const unit[]){__VA_ARGS__}, N_UNITS(__VA_ARGS__), y)

typedef struct inc {
    dob_net *net;
    const char *block;        /* scope of the layers being added: "stem", "block5a", ... */
    char name[DOB_NAME_MAX];
} inc;

/* "<block>/" + printf(fmt, ...) in c->name (valid until the next call; dob_net_add copies it); names that do not
 * fit are cut, and the arena refuses a duplicate */
static const char *nm(inc *c, const char *fmt, ...) {
    va_list ap;
    int k = snprintf(c->name, sizeof c->name, "%s/", c->block);
    va_start(ap, fmt);
    if (k > 0 && (size_t)k < sizeof c->name) vsnprintf(c->name + k, sizeof c->name - (size_t)k, fmt, ap);
    va_end(ap);
    return c->name;
}

/* conv_BN unit "<block>/<branch>/<unit>": conv (no bias, glorot_uniform, L2) -> BN (0.9997, 1e-3) -> ReLU.
 * x [N,C,H,W] -> y */
static dob_status conv_bn(inc *c, const char *branch, const char *unit_name, int x, const unit *u, int *y) {
    dob_status st = DOB_OK;
    const dob_conv_cfg cc = {.out_channels = u->f, .kh = u->kh, .kw = u->kw, .sh = u->s, .sw = u->s,
                             .pad = u->pad, .bias = 0, .w_init = {DOB_INIT_GLOROT_UNIFORM, 0, 0}, .l2 = 1,
                             .act = DOB_ACT_NONE};
    const dob_bnorm_cfg bn = {.momentum = 0.9997f, .eps = 1e-3f, .relu = 1}; /* the ReLU fused */
    DOB_TRY(dob_net_conv(c->net, nm(c, "%s/%s", branch, unit_name), x, &cc, &x));
    DOB_TRY(dob_net_bnorm(c->net, nm(c, "%s/%s/bn", branch, unit_name), x, &bn, y));
fail:
    return st;
}

/* n conv_BN units in sequence, named "<branch>/conv<i>". */
static dob_status chain(inc *c, const char *branch, int x, const unit *u, int n, int *y) {
    dob_status st = DOB_OK;
    static const char *const names[] = {"conv0", "conv1", "conv2", "conv3", "conv4"};
    for (int i = 0; i < n; i++) DOB_TRY(conv_bn(c, branch, names[i], x, &u[i], &x));
    *y = x;
fail:
    return st;
}

/* pooling k x k / s named "<block>/<name>" */
static dob_status pool(inc *c, const char *name, dob_pool_kind kind, int64_t k, int64_t s, dob_padding pad, int x,
                       int *y) {
    const dob_pool_cfg p = {.kind = kind, .kh = k, .kw = k, .sh = s, .sw = s, .pad = pad};
    return dob_net_pool(c->net, nm(c, "%s", name), x, &p, y);
}

/* branch `branch`: avg-pool 3x3/1 SAME (padding not counted) -> conv_BN 1x1 with f filters */
static dob_status pool_1x1(inc *c, const char *branch, int x, int64_t f, int *y) {
    dob_status st = DOB_OK;
    const dob_pool_cfg p = {.kind = DOB_POOL_AVG, .kh = 3, .kw = 3, .sh = 1, .sw = 1, .pad = DOB_PAD_SAME};
    DOB_TRY(dob_net_pool(c->net, nm(c, "%s/pool", branch), x, &p, &x));
    DOB_TRY(conv_bn(c, branch, "conv0", x, &(const unit)SAME(f, 1, 1), y));
fail:
    return st;
}

/* the block's output "<block>/concat": its branches b[0..n) concatenated along channels */
static dob_status concat(inc *c, int n, const int *b, int *y) {
    return dob_net_concat(c->net, nm(c, "concat"), n, b, y);
}

/* 3x299x299 -> 192x35x35 */
static dob_status stem(inc *c, int x, int *y) {
    dob_status st = DOB_OK;
    c->block = "stem"; /* two parts, each ending in a max pool */
    DOB_TRY(CHAIN(c, "a", x, &x, VALID(32, 3, 2), VALID(32, 3, 1), SAME(64, 3, 3)));
    DOB_TRY(pool(c, "a/pool", DOB_POOL_MAX, 3, 2, DOB_PAD_VALID, x, &x));
    DOB_TRY(CHAIN(c, "b", x, &x, VALID(80, 1, 1), VALID(192, 3, 1)));
    DOB_TRY(pool(c, "b/pool", DOB_POOL_MAX, 3, 2, DOB_PAD_VALID, x, y));
fail:
    return st;
}

/* 35x35: 64 + P + 64 + 96 channels (P = 32 for variant a, 64 for b) */
static dob_status block5(inc *c, const char *block, int64_t P, int x, int *y) {
    dob_status st = DOB_OK;
    int b[4];
    c->block = block;
    DOB_TRY(CHAIN(c, "branch0", x, &b[0], SAME(64, 1, 1)));
    DOB_TRY(pool_1x1(c, "branch1", x, P, &b[1]));
    DOB_TRY(CHAIN(c, "branch2", x, &b[2], SAME(48, 1, 1), SAME(64, 5, 5)));
    DOB_TRY(CHAIN(c, "branch3", x, &b[3], SAME(64, 1, 1), SAME(96, 3, 3), SAME(96, 3, 3)));
    DOB_TRY(concat(c, 4, b, y));
fail:
    return st;
}

/* 35x35x288 -> 17x17x768 */
static dob_status block10(inc *c, int x, int *y) {
    dob_status st = DOB_OK;
    int b[3];
    c->block = "block10";
    DOB_TRY(pool(c, "branch0/pool", DOB_POOL_MAX, 3, 2, DOB_PAD_VALID, x, &b[0]));
    DOB_TRY(CHAIN(c, "branch1", x, &b[1], VALID(384, 3, 2)));
    DOB_TRY(CHAIN(c, "branch2", x, &b[2], SAME(64, 1, 1), SAME(96, 3, 3), VALID(96, 3, 2)));
    DOB_TRY(concat(c, 3, b, y));
fail:
    return st;
}

/* 17x17x768 -> 17x17x768, n = 128 / 160 / 160 / 192 for variants a / b / b / c */
static dob_status block6(inc *c, const char *block, int64_t n, int x, int *y) {
    dob_status st = DOB_OK;
    int b[4];
    c->block = block;
    DOB_TRY(CHAIN(c, "branch0", x, &b[0], SAME(192, 1, 1)));
    DOB_TRY(pool_1x1(c, "branch1", x, 192, &b[1]));
    DOB_TRY(CHAIN(c, "branch2", x, &b[2], SAME(n, 1, 1), SAME(n, 1, 7), SAME(192, 7, 1)));
    DOB_TRY(CHAIN(c, "branch3", x, &b[3], SAME(n, 1, 1), SAME(n, 7, 1), SAME(n, 1, 7), SAME(n, 7, 1),
                  SAME(192, 1, 7)));
    DOB_TRY(concat(c, 4, b, y));
fail:
    return st;
}

/* dense `name` with `classes` outputs: glorot_uniform, zero bias, no L2 (tf.layers.dense defaults) */
static dob_status dense(inc *c, const char *name, int x, int64_t classes, int *y) {
    const dob_dense_cfg d = {.out_features = classes, .bias = 1, .w_init = {DOB_INIT_GLOROT_UNIFORM, 0, 0},
                             .b_init = {DOB_INIT_ZEROS, 0, 0}, .l2 = 0};
    return dob_net_dense(c->net, nm(c, "%s", name), x, &d, y);
}

/* 17x17x768 -> aux logits [N, classes] */
static dob_status aux_head(inc *c, int x, int64_t classes, int *y) {
    dob_status st = DOB_OK;
    c->block = "aux_head";
    DOB_TRY(pool(c, "pool", DOB_POOL_AVG, 5, 3, DOB_PAD_VALID, x, &x));
    DOB_TRY(CHAIN(c, "head", x, &x, SAME(128, 1, 1), VALID(768, 5, 1)));
    DOB_TRY(dob_net_flatten(c->net, nm(c, "flatten"), x, &x));
    DOB_TRY(dense(c, "dense", x, classes, y));
fail:
    return st;
}

/* 17x17x768 -> 8x8x1280 */
static dob_status blockD(inc *c, int x, int *y) {
    dob_status st = DOB_OK;
    int b[3];
    c->block = "blockD";
    DOB_TRY(pool(c, "branch0/pool", DOB_POOL_MAX, 3, 2, DOB_PAD_VALID, x, &b[0]));
    DOB_TRY(CHAIN(c, "branch1", x, &b[1], SAME(192, 1, 1), SAME(192, 1, 7), SAME(192, 7, 1), VALID(192, 3, 2)));
    DOB_TRY(CHAIN(c, "branch2", x, &b[2], SAME(192, 1, 1), VALID(320, 3, 2)));
    DOB_TRY(concat(c, 3, b, y));
fail:
    return st;
}

/* x -> [1x3, 384 || 3x1, 384] concatenated, named "<branch>/split1x3", "<branch>/split3x1", "<branch>/concat" */
static dob_status split(inc *c, const char *branch, int x, int *y) {
    dob_status st = DOB_OK;
    int s[2];
    DOB_TRY(conv_bn(c, branch, "split1x3", x, &(const unit)SAME(384, 1, 3), &s[0]));
    DOB_TRY(conv_bn(c, branch, "split3x1", x, &(const unit)SAME(384, 3, 1), &s[1]));
    DOB_TRY(dob_net_concat(c->net, nm(c, "%s/concat", branch), 2, s, y));
fail:
    return st;
}

/* 8x8 -> 8x8x2048: 320 + 768 + 768 + 192 channels */
static dob_status block7(inc *c, const char *block, int x, int *y) {
    dob_status st = DOB_OK;
    int b[4];
    c->block = block;
    DOB_TRY(CHAIN(c, "branch0", x, &b[0], SAME(320, 1, 1)));
    DOB_TRY(CHAIN(c, "branch1", x, &b[1], SAME(384, 1, 1)));
    DOB_TRY(split(c, "branch1", b[1], &b[1]));
    DOB_TRY(CHAIN(c, "branch2", x, &b[2], SAME(448, 1, 1), SAME(384, 3, 3)));
    DOB_TRY(split(c, "branch2", b[2], &b[2]));
    DOB_TRY(pool_1x1(c, "branch3", x, 192, &b[3]));
    DOB_TRY(concat(c, 4, b, y));
fail:
    return st;
}

/* 8x8x2048 -> main logits [N, classes] */
static dob_status output(inc *c, int x, int64_t classes, int *y) {
    dob_status st = DOB_OK;
    c->block = "output";
    DOB_TRY(pool(c, "pool", DOB_POOL_AVG, 8, 1, DOB_PAD_VALID, x, &x));
    /* DeepOBS's literal drop rate (see the file comment) */
    DOB_TRY(dob_net_dropout(c->net, nm(c, "dropout"), x, &(dob_dropout_cfg){.rate = 0.8f}, &x));
    DOB_TRY(dob_net_flatten(c->net, nm(c, "flatten"), x, &x));
    DOB_TRY(dense(c, "dense", x, classes, y));
fail:
    return st;
}

/* 3x224x224 -> [main logits | aux logits], N x 2 classes */
static dob_status build_classes(dob_net *net, int64_t classes, int *logits) {
    dob_status st = DOB_OK;
    inc c = {.net = net};
    int x = dob_net_input(net), heads[2];
    DOB_TRY(dob_net_resize_bilinear(net, "resize", x, &(dob_resize_cfg){299, 299}, &x));
    DOB_TRY(stem(&c, x, &x));
    DOB_TRY(block5(&c, "block5a", 32, x, &x));
    DOB_TRY(block5(&c, "block5b_0", 64, x, &x));
    DOB_TRY(block5(&c, "block5b_1", 64, x, &x));
    DOB_TRY(block10(&c, x, &x));
    DOB_TRY(block6(&c, "block6a", 128, x, &x));
    DOB_TRY(block6(&c, "block6b_0", 160, x, &x));
    DOB_TRY(block6(&c, "block6b_1", 160, x, &x));
    DOB_TRY(block6(&c, "block6c", 192, x, &x));
    DOB_TRY(aux_head(&c, x, classes, &heads[1]));
    DOB_TRY(blockD(&c, x, &x));
    DOB_TRY(block7(&c, "block7_0", x, &x));
    DOB_TRY(block7(&c, "block7_1", x, &x));
    DOB_TRY(output(&c, x, classes, &heads[0]));
    DOB_TRY(dob_net_concat(net, "logits_main_aux", 2, heads, logits));
fail:
    return st;
}

static dob_status build(dob_net *net, int *logits) { return build_classes(net, 1001, logits); }

const dob_problem_spec dob_problem_imagenet_inception_v3 = {
    .name = "imagenet_inception_v3", .dataset = "imagenet", .summary = "Inception-v3 on ImageNet (resized to 299x299)",
    .in_ndim = 3, .in_dims = {3, 224, 224}, .n_classes = 1001, .batch_size = 32, .num_epochs = 100,
    .weight_decay = 0.0005, .has_l2 = 1, .has_accuracy = 1, .loss = DOB_LOSS_SMOOTH_CE_AUX,
    .train_eval_size = 50000, .n_params = 27164082, .build = build, .preproc = &dob_preproc_imagenet,
    .notes = "dropout rate 0.8 as DeepOBS's code (keeps 20%); label smoothing 0.1 in every phase, aux loss 0.4 in "
             "training only; L2 on conv kernels only; no DeepOBS bs/epochs: the paper's 32/100",
};
