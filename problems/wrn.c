/* wrn.c: cifar100_wrn404 and svhn_wrn164 (DeepOBS §3.7, _wrn.py): Wide ResNets WRN-40-4 (6 units per group) and
 * WRN-16-4 (2 units), input 3x32x32. conv 3x3x16; for groups i = 1..3 with filters (64, 128, 256) and strides (1, 2,
 * 2): a first unit x = ReLU(BN(x)); shortcut = 1x1 conv (stride s) of that pre-activated x (identity or a s x s max
 * pool when the channel count is unchanged: never with k = 4); residual = conv 3x3 (stride s) -> BN -> ReLU -> conv
 * 3x3; sum. Further units: shortcut = x (not pre-activated), residual = BN -> ReLU -> conv -> BN -> ReLU -> conv; sum.
 * Then BN -> ReLU -> mean over h, w -> dense classes. Convs SAME without bias, glorot_uniform; BN momentum 0.9 in TF's
 * convention (moving = 0.9 moving + 0.1 batch; the PyTorch port passes 0.9 through and updates 9x faster: we follow
 * TF), epsilon 1e-5; the dense layer glorot_uniform, zero bias. L2 (default 5e-4) on every conv kernel and the dense
 * kernel. Every BN -> ReLU is one bnorm layer with the ReLU fused. Parameters: WRN-16-4 2 748 890, WRN-40-4 8 972 340.
 * Decisions: bs 128 and 160 epochs (DeepOBS's config for svhn_wrn164; [dev-later] info.py for cifar100_wrn404);
 * train_eval not augmented.
 */
#include <stdio.h>

#include "dob/problem.h"

typedef struct wrn_ctx {
    dob_net *net;
    char name[64];
} wrn_ctx;

static const char *nm(wrn_ctx *w, int g, int u, const char *what) {
    snprintf(w->name, sizeof w->name, "unit_%d_%d/%s", g, u, what);
    return w->name;
}

static dob_status conv(wrn_ctx *w, const char *name, int x, int64_t out, int64_t k, int64_t s, int *y) {
    const dob_conv_cfg c = {.out_channels = out, .kh = k, .kw = k, .sh = s, .sw = s, .pad = DOB_PAD_SAME, .bias = 0,
                            .w_init = {DOB_INIT_GLOROT_UNIFORM, 0, 0}, .l2 = 1, .act = DOB_ACT_NONE};
    return dob_net_conv(w->net, name, x, &c, y);
}

/* y = ReLU(BN(x)): one bnorm layer with the ReLU fused (its cfg relu) */
static dob_status bn_relu(wrn_ctx *w, int g, int u, const char *bn, int x, int *y) {
    const dob_bnorm_cfg b = {.momentum = 0.9f, .eps = 1e-5f, .relu = 1};
    return dob_net_bnorm(w->net, nm(w, g, u, bn), x, &b, y);
}

static dob_status build_wrn(dob_net *net, int units, int64_t classes, int *logits) {
    dob_status st = DOB_OK;
    wrn_ctx w = {.net = net};
    static const int64_t filters[4] = {16, 64, 128, 256}, strides[3] = {1, 2, 2};
    int x, a, sc;
    DOB_TRY(conv(&w, "conv0", dob_net_input(net), 16, 3, 1, &x));
    for (int g = 1; g <= 3; g++) {
        const int64_t f = filters[g], s = strides[g - 1];
        DOB_TRY(bn_relu(&w, g, 0, "bn0", x, &x));
        if (filters[g - 1] == f && s == 1) {
            sc = x;
        } else if (filters[g - 1] == f) {
            const dob_pool_cfg p = {.kind = DOB_POOL_MAX, .kh = s, .kw = s, .sh = s, .sw = s, .pad = DOB_PAD_VALID};
            DOB_TRY(dob_net_pool(net, nm(&w, g, 0, "shortcut"), x, &p, &sc));
        } else {
            DOB_TRY(conv(&w, nm(&w, g, 0, "shortcut"), x, f, 1, s, &sc));
        }
        DOB_TRY(conv(&w, nm(&w, g, 0, "conv1"), x, f, 3, s, &a));
        DOB_TRY(bn_relu(&w, g, 0, "bn1", a, &a));
        DOB_TRY(conv(&w, nm(&w, g, 0, "conv2"), a, f, 3, 1, &a));
        DOB_TRY(dob_net_residual(net, nm(&w, g, 0, "add"), a, sc, &x));
        for (int u = 1; u < units; u++) {
            DOB_TRY(bn_relu(&w, g, u, "bn0", x, &a));
            DOB_TRY(conv(&w, nm(&w, g, u, "conv1"), a, f, 3, 1, &a));
            DOB_TRY(bn_relu(&w, g, u, "bn1", a, &a));
            DOB_TRY(conv(&w, nm(&w, g, u, "conv2"), a, f, 3, 1, &a));
            DOB_TRY(dob_net_residual(net, nm(&w, g, u, "add"), a, x, &x));
        }
    }
    DOB_TRY(dob_net_bnorm(net, "unit_last/bn", x, &(dob_bnorm_cfg){.momentum = 0.9f, .eps = 1e-5f, .relu = 1}, &x));
    DOB_TRY(dob_net_global_avg_pool(net, "unit_last/mean", x, &x));
    const dob_dense_cfg d = {.out_features = classes, .bias = 1, .w_init = {DOB_INIT_GLOROT_UNIFORM, 0, 0},
                             .b_init = {DOB_INIT_ZEROS, 0, 0}, .l2 = 1};
    DOB_TRY(dob_net_dense(net, "fully_connected", x, &d, logits));
fail:
    return st;
}

static dob_status build_404(dob_net *net, int *logits) { return build_wrn(net, 6, 100, logits); }
static dob_status build_164(dob_net *net, int *logits) { return build_wrn(net, 2, 10, logits); }

const dob_problem_spec dob_problem_svhn_wrn164 = {
    .name = "svhn_wrn164", .dataset = "svhn", .summary = "Wide ResNet 16-4 on SVHN (DeepOBS P7)",
    .in_ndim = 3, .in_dims = {3, 32, 32}, .n_classes = 10, .batch_size = 128, .num_epochs = 160,
    .weight_decay = 0.0005, .has_l2 = 1, .has_accuracy = 1, .loss = DOB_LOSS_SOFTMAX_CE, .train_eval_size = 26032,
    .n_params = 2748890, .build = build_164, .preproc = &dob_preproc_svhn,
    .notes = "BN momentum 0.9 in TF's sense; DeepOBS-prepared SVHN files; no flip (as DeepOBS)",
};

const dob_problem_spec dob_problem_cifar100_wrn404 = {
    .name = "cifar100_wrn404", .dataset = "cifar100", .summary = "Wide ResNet 40-4 on CIFAR-100",
    .in_ndim = 3, .in_dims = {3, 32, 32}, .n_classes = 100, .batch_size = 128, .num_epochs = 160,
    .weight_decay = 0.0005, .has_l2 = 1, .has_accuracy = 1, .loss = DOB_LOSS_SOFTMAX_CE, .train_eval_size = 10000,
    .n_params = 8972340, .build = build_404, .preproc = &dob_preproc_cifar,
    .notes = "BN momentum 0.9 in TF's sense; CIFAR-100 off-by-one offset unless --cifar100-fix-offset",
};
