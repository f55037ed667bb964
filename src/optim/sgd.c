/* sgd.c: plain gradient descent, TF's GradientDescentOptimizer: theta -= lr * g.
 * Invariants: no state, no hyperparameters; a zero gradient (arena padding) leaves the parameter unchanged.
 * Does not apply weight decay (the problem's L2 term is added to the gradients before the step). */
#include <stddef.h>

#include "builtins.h"

static void sgd_step(float *params, const float *grads, float *const *state, size_t n, float lr, const double *hp,
                     int64_t t) {
    (void)state, (void)hp, (void)t;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) params[i] -= lr * grads[i];
}

const dob_optim_ops dob_optim_sgd = {
    .abi_version = DOB_OPTIM_ABI_VERSION,
    .name = "sgd",
    .deepobs_name = "GradientDescentOptimizer",
    .n_hparams = 0,
    .state_count = 0,
    .init = NULL,
    .step = sgd_step,
};
