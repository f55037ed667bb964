/* logreg.c: mnist_logreg and fmnist_logreg (DeepOBS §3.1): flatten 784 -> dense 10, weights and biases start
 * at 0.0, no regularisation, 7 850 parameters; the initial loss is exactly ln 10. */
#include "dob/problem.h"

static dob_status build(dob_net *net, int *logits) {
    dob_status st = DOB_OK;
    int x;
    DOB_TRY(dob_net_flatten(net, "flatten", dob_net_input(net), &x));
    DOB_TRY(dob_net_dense(net, "dense", x,
                          &(dob_dense_cfg){.out_features = 10, .bias = 1, .w_init = {DOB_INIT_ZEROS, 0, 0},
                                           .b_init = {DOB_INIT_ZEROS, 0, 0}},
                          logits));
fail:
    return st;
}

#define LOGREG(NAME, DATA, DESC)                                                                               \
    const dob_problem_spec dob_problem_##NAME = {                                                               \
        .name = #NAME, .dataset = DATA, .summary = DESC, .in_ndim = 3, .in_dims = {1, 28, 28},                  \
        .n_classes = 10, .batch_size = 128, .num_epochs = 50, .weight_decay = 0.0, .has_l2 = 0,                 \
        .has_accuracy = 1, .loss = DOB_LOSS_SOFTMAX_CE, .train_eval_size = 10000, .n_params = 7850,            \
        .build = build}

LOGREG(mnist_logreg, "mnist", "multinomial logistic regression on MNIST");
LOGREG(fmnist_logreg, "fmnist", "multinomial logistic regression on Fashion-MNIST");
