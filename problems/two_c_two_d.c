/* two_c_two_d.c: mnist_2c2d and fmnist_2c2d (DeepOBS §3.3): conv 5x5x32 SAME ReLU -> max 2x2/2 -> conv 5x5x64
 * SAME ReLU -> max 2x2/2 -> dense 1024 ReLU -> dense 10. Every kernel truncated normal (stddev 0.05), every bias
 * 0.05, no regularisation, 3 274 634 parameters. Flattening is c,h,w (TF: h,w,c); the i.i.d. init makes the two
 * equal in distribution. */
#include "dob/problem.h"

static dob_status build(dob_net *net, int *logits) {
    dob_status st = DOB_OK;
    const dob_init w = {DOB_INIT_TRUNC_NORMAL, 0.0f, 0.05f}, b = {DOB_INIT_CONST, 0.05f, 0};
    const dob_pool_cfg pool = {.kind = DOB_POOL_MAX, .kh = 2, .kw = 2, .sh = 2, .sw = 2, .pad = DOB_PAD_SAME};
    int x = dob_net_input(net);
    DOB_TRY(dob_net_conv(net, "conv1", x,
                         &(dob_conv_cfg){.out_channels = 32, .kh = 5, .kw = 5, .sh = 1, .sw = 1, .pad = DOB_PAD_SAME,
                                         .bias = 1, .w_init = w, .b_init = b, .act = DOB_ACT_RELU},
                         &x));
    DOB_TRY(dob_net_pool(net, "pool1", x, &pool, &x));
    DOB_TRY(dob_net_conv(net, "conv2", x,
                         &(dob_conv_cfg){.out_channels = 64, .kh = 5, .kw = 5, .sh = 1, .sw = 1, .pad = DOB_PAD_SAME,
                                         .bias = 1, .w_init = w, .b_init = b, .act = DOB_ACT_RELU},
                         &x));
    DOB_TRY(dob_net_pool(net, "pool2", x, &pool, &x));
    DOB_TRY(dob_net_flatten(net, "flatten", x, &x));
    DOB_TRY(dob_net_dense(net, "fc1", x,
                          &(dob_dense_cfg){.out_features = 1024, .bias = 1, .w_init = w, .b_init = b,
                                           .act = DOB_ACT_RELU},
                          &x));
    DOB_TRY(dob_net_dense(net, "fc2", x, &(dob_dense_cfg){.out_features = 10, .bias = 1, .w_init = w, .b_init = b},
                          logits));
fail:
    return st;
}

#define C2D2(NAME, DATA, DESC)                                                                                 \
    const dob_problem_spec dob_problem_##NAME = {                                                               \
        .name = #NAME, .dataset = DATA, .summary = DESC, .in_ndim = 3, .in_dims = {1, 28, 28},                  \
        .n_classes = 10, .batch_size = 128, .num_epochs = 100, .weight_decay = 0.0, .has_l2 = 0,                \
        .has_accuracy = 1, .loss = DOB_LOSS_SOFTMAX_CE, .train_eval_size = 10000, .n_params = 3274634,         \
        .build = build}

C2D2(mnist_2c2d, "mnist", "2 conv + 2 dense layers on MNIST");
C2D2(fmnist_2c2d, "fmnist", "2 conv + 2 dense layers on Fashion-MNIST (DeepOBS P3)");
