/* adadelta.c: Adadelta in TensorFlow's form (tf.train.AdadeltaOptimizer), which keeps a learning rate:
 *   acc     <- rho * acc + (1 - rho) * g^2
 *   upd     =  sqrt(acc_upd + epsilon) / sqrt(acc + epsilon) * g
 *   acc_upd <- rho * acc_upd + (1 - rho) * upd^2
 *   theta   <- theta - lr * upd
 * (Zeiler's paper corresponds to lr = 1; TF's default lr is 0.001.)
 * State 0: acc, state 1: acc_upd (both zero-initialised). Hyperparameters: rho in [0, 1], epsilon in (0, 1e3]. */
#include <math.h>
#include <stddef.h>

#include "builtins.h"

static void adadelta_step(float *params, const float *grads, float *const *state, size_t n, float lr,
                          const double *hp, int64_t t) {
    (void)t;
    float *acc = state[0], *acc_upd = state[1];
    const float rho = (float)hp[0], omr = (float)(1.0 - hp[0]), eps = (float)hp[1];
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        const float g = grads[i];
        acc[i] = rho * acc[i] + omr * (g * g);
        const float upd = sqrtf(acc_upd[i] + eps) / sqrtf(acc[i] + eps) * g;
        acc_upd[i] = rho * acc_upd[i] + omr * (upd * upd);
        params[i] -= lr * upd;
    }
}

const dob_optim_ops dob_optim_adadelta = {
    .abi_version = DOB_OPTIM_ABI_VERSION,
    .name = "adadelta",
    .deepobs_name = "AdadeltaOptimizer",
    .n_hparams = 2,
    .hparams =
        {
            {"rho", 0.95, 0.0, 1.0, 0, "decay rate of both accumulators (squared gradients and updates)"},
            {"epsilon", 1e-8, DOB_ABOVE_ZERO, 1e3, 1, "added inside both square roots (TF form)"},
        },
    .state_count = 2,
    .init = NULL,
    .step = adadelta_step,
};
