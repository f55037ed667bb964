/* allcnnc.c: cifar100_allcnnc (DeepOBS §3.5, All-CNN-C), input 3x32x32: dropout 0.2 on the input image ->
 * conv 3x3x96 SAME ReLU x2 -> conv 3x3x96 stride 2 SAME (pad 0/1) ReLU -> dropout 0.5 -> conv 3x3x192 SAME ReLU
 * x2 -> conv 3x3x192 stride 2 SAME ReLU -> dropout 0.5 -> conv 3x3x192 VALID ReLU -> conv 1x1x192 ReLU ->
 * conv 1x1x100 ReLU (the class layer has a ReLU too, as DeepOBS) -> mean over h, w = logits. Kernels
 * glorot_normal, biases 0.1, L2 (default 5e-4) on all nine kernels; 1 387 108 parameters. DeepOBS defaults bs 256,
 * 350 epochs. Data: CIFAR-100 with DeepOBS's augmentation (§4.4). Decisions: the off-by-one image offset of
 * DeepOBS TF unless --cifar100-fix-offset; train_eval not augmented. */
#include "dob/problem.h"

static dob_status build(dob_net *net, int *logits) {
    dob_status st = DOB_OK;
    static const struct {
        const char *name;
        int64_t out, k, s;
        dob_padding pad;
        float drop_after; /* dropout rate after this conv, 0 = none */
    } convs[] = {{"conv1", 96, 3, 1, DOB_PAD_SAME, 0},     {"conv2", 96, 3, 1, DOB_PAD_SAME, 0},
                 {"conv3", 96, 3, 2, DOB_PAD_SAME, 0.5f},  {"conv4", 192, 3, 1, DOB_PAD_SAME, 0},
                 {"conv5", 192, 3, 1, DOB_PAD_SAME, 0},    {"conv6", 192, 3, 2, DOB_PAD_SAME, 0.5f},
                 {"conv7", 192, 3, 1, DOB_PAD_VALID, 0},   {"conv8", 192, 1, 1, DOB_PAD_SAME, 0},
                 {"conv9", 100, 1, 1, DOB_PAD_SAME, 0}};
    static const char *const drops[] = {"dropout1", "dropout2"};
    int x, nd = 0;
    DOB_TRY(dob_net_dropout(net, "dropout0", dob_net_input(net), &(dob_dropout_cfg){.rate = 0.2f}, &x));
    for (int i = 0; i < 9; i++) {
        const dob_conv_cfg c = {.out_channels = convs[i].out, .kh = convs[i].k, .kw = convs[i].k, .sh = convs[i].s,
                                .sw = convs[i].s, .pad = convs[i].pad, .bias = 1,
                                .w_init = {DOB_INIT_GLOROT_NORMAL, 0, 0}, .b_init = {DOB_INIT_CONST, 0.1f, 0},
                                .l2 = 1, .act = DOB_ACT_RELU};
        DOB_TRY(dob_net_conv(net, convs[i].name, x, &c, &x));
        if (convs[i].drop_after > 0)
            DOB_TRY(dob_net_dropout(net, drops[nd++], x, &(dob_dropout_cfg){.rate = convs[i].drop_after}, &x));
    }
    DOB_TRY(dob_net_global_avg_pool(net, "mean", x, logits));
fail:
    return st;
}

const dob_problem_spec dob_problem_cifar100_allcnnc = {
    .name = "cifar100_allcnnc", .dataset = "cifar100", .summary = "All-CNN-C on CIFAR-100 (DeepOBS P6)",
    .in_ndim = 3, .in_dims = {3, 32, 32}, .n_classes = 100, .batch_size = 256, .num_epochs = 350,
    .weight_decay = 0.0005, .has_l2 = 1, .has_accuracy = 1, .loss = DOB_LOSS_SOFTMAX_CE, .train_eval_size = 10000,
    .n_params = 1387108, .build = build, .preproc = &dob_preproc_cifar,
    .notes = "image bytes from DeepOBS's off-by-one offset unless --cifar100-fix-offset; train_eval not augmented",
};
