/* three_c_three_d.c: cifar10_3c3d, cifar100_3c3d and svhn_3c3d (DeepOBS §3.4), input 3x32x32:
 * conv 5x5x64 VALID ReLU -> max 3x3/2 SAME -> conv 3x3x96 VALID ReLU -> max 3x3/2 SAME -> conv 3x3x128 SAME ReLU
 * -> max 3x3/2 SAME -> dense 512 ReLU -> dense 256 ReLU -> dense classes. Conv kernels glorot_normal, dense kernels
 * glorot_uniform, biases 0; L2 (default 0.002) on all six kernels, the output layer included. 895 210 parameters
 * (10 classes), 918 340 (100). Flattening is c,h,w (TF: h,w,c): equal in distribution under the i.i.d. init.
 * Data: DeepOBS's CIFAR preprocessing (§4.3): pad 2 + random crop, flip, brightness 63/255, saturation
 * [0.5, 1.5), contrast [0.2, 1.8) in training; per-image standardisation everywhere; svhn_3c3d the same without
 * the flip (§4.5), train_eval 26 032 (the SVHN test-set size). Decisions: train_eval is
 * not augmented (DeepOBS v1.1 evaluates augmented training batches); CIFAR-100 images come from DeepOBS's
 * off-by-one byte offset unless --cifar100-fix-offset. */
#include "dob/problem.h"

static dob_status build_3c3d(dob_net *net, int64_t classes, int *logits) {
    dob_status st = DOB_OK;
    const dob_init gn = {DOB_INIT_GLOROT_NORMAL, 0, 0}, gu = {DOB_INIT_GLOROT_UNIFORM, 0, 0};
    const dob_init z = {DOB_INIT_ZEROS, 0, 0};
    const dob_pool_cfg pool = {.kind = DOB_POOL_MAX, .kh = 3, .kw = 3, .sh = 2, .sw = 2, .pad = DOB_PAD_SAME};
    static const struct {
        const char *conv, *pool;
        int64_t out, k;
        dob_padding pad;
    } convs[] = {{"conv1", "pool1", 64, 5, DOB_PAD_VALID},
                 {"conv2", "pool2", 96, 3, DOB_PAD_VALID},
                 {"conv3", "pool3", 128, 3, DOB_PAD_SAME}};
    int x = dob_net_input(net);
    for (int i = 0; i < 3; i++) {
        const dob_conv_cfg c = {.out_channels = convs[i].out, .kh = convs[i].k, .kw = convs[i].k, .sh = 1, .sw = 1,
                                .pad = convs[i].pad, .bias = 1, .w_init = gn, .b_init = z, .l2 = 1,
                                .act = DOB_ACT_RELU};
        DOB_TRY(dob_net_conv(net, convs[i].conv, x, &c, &x));
        DOB_TRY(dob_net_pool(net, convs[i].pool, x, &pool, &x));
    }
    DOB_TRY(dob_net_flatten(net, "flatten", x, &x));
    static const char *const fc[] = {"fc1", "fc2", "fc3"};
    const int64_t width[] = {512, 256, classes};
    for (int i = 0; i < 3; i++) {
        const dob_dense_cfg c = {.out_features = width[i], .bias = 1, .w_init = gu, .b_init = z, .l2 = 1,
                                 .act = i < 2 ? DOB_ACT_RELU : DOB_ACT_NONE};
        DOB_TRY(dob_net_dense(net, fc[i], x, &c, &x));
    }
    *logits = x;
fail:
    return st;
}

static dob_status build10(dob_net *net, int *logits) { return build_3c3d(net, 10, logits); }
static dob_status build100(dob_net *net, int *logits) { return build_3c3d(net, 100, logits); }

#define C3D3(NAME, DATA, K, NP, BUILD, PRE, TE, DESC, NOTES)                                                    \
    const dob_problem_spec dob_problem_##NAME = {                                                               \
        .name = #NAME, .dataset = DATA, .summary = DESC, .in_ndim = 3, .in_dims = {3, 32, 32}, .n_classes = K,  \
        .batch_size = 128, .num_epochs = 100, .weight_decay = 0.002, .has_l2 = 1, .has_accuracy = 1,            \
        .loss = DOB_LOSS_SOFTMAX_CE, .train_eval_size = TE, .n_params = NP, .build = BUILD,                     \
        .preproc = &PRE, .notes = NOTES}

C3D3(cifar10_3c3d, "cifar10", 10, 895210, build10, dob_preproc_cifar, 10000,
     "3 conv + 3 dense layers on CIFAR-10 (DeepOBS P4)", "train_eval not augmented (DeepOBS v1.1: augmented)");
C3D3(cifar100_3c3d, "cifar100", 100, 918340, build100, dob_preproc_cifar, 10000,
     "3 conv + 3 dense layers on CIFAR-100",
     "image bytes from DeepOBS's off-by-one offset unless --cifar100-fix-offset; train_eval not augmented");
C3D3(svhn_3c3d, "svhn", 10, 895210, build10, dob_preproc_svhn, 26032, "3 conv + 3 dense layers on SVHN",
     "DeepOBS-prepared SVHN files; no flip (as DeepOBS); bs 128 / 100 epochs from DeepOBS's later info.py");
