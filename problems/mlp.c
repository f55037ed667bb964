/* mlp.c: mnist_mlp and fmnist_mlp (DeepOBS §3.2): dense 784-1000-500-100-10 with ReLU, kernels truncated
 * normal (stddev 0.03), biases 0, no regularisation, 1 336 610 parameters.
 * fmnist_mlp reads Fashion-MNIST: DeepOBS v1.1 loaded MNIST there by mistake; v1.2 fixed it and so do we. */
#include "dob/problem.h"

static dob_status build(dob_net *net, int *logits) {
    dob_status st = DOB_OK;
    static const int64_t width[] = {1000, 500, 100, 10};
    static const char *const names[] = {"dense1", "dense2", "dense3", "dense4"};
    int x;
    DOB_TRY(dob_net_flatten(net, "flatten", dob_net_input(net), &x));
    for (int i = 0; i < 4; i++) {
        dob_dense_cfg c = {.out_features = width[i], .bias = 1, .w_init = {DOB_INIT_TRUNC_NORMAL, 0.0f, 0.03f},
                           .b_init = {DOB_INIT_ZEROS, 0, 0}, .act = i < 3 ? DOB_ACT_RELU : DOB_ACT_NONE};
        DOB_TRY(dob_net_dense(net, names[i], x, &c, &x));
    }
    *logits = x;
fail:
    return st;
}

#define MLP(NAME, DATA, DESC)                                                                                  \
    const dob_problem_spec dob_problem_##NAME = {                                                               \
        .name = #NAME, .dataset = DATA, .summary = DESC, .in_ndim = 3, .in_dims = {1, 28, 28},                  \
        .n_classes = 10, .batch_size = 128, .num_epochs = 100, .weight_decay = 0.0, .has_l2 = 0,                \
        .has_accuracy = 1, .loss = DOB_LOSS_SOFTMAX_CE, .train_eval_size = 10000, .n_params = 1336610,         \
        .build = build}

MLP(mnist_mlp, "mnist", "4-layer ReLU MLP (1000-500-100-10) on MNIST");
MLP(fmnist_mlp, "fmnist", "4-layer ReLU MLP (1000-500-100-10) on Fashion-MNIST");
