/* rmsprop.c: RMSProp in TensorFlow's form (tf.train.RMSPropOptimizer, centered=False):
 *   ms  <- rho * ms + (1 - rho) * g^2
 *   mom <- mu * mom + lr * g / sqrt(ms + epsilon)
 *   theta <- theta - mom
 * epsilon sits inside the square root, and TF initialises the "rms" slot ms to ONES, not zeros (init() below):
 * the first steps are therefore much smaller than with a zero-initialised ms (PyTorch/Keras).
 * State 0: ms (ones), state 1: mom (zeros). Hyperparameters: decay rho in [0, 1], momentum mu in [0, 1],
 * epsilon in (0, 1e3]. Centered RMSProp is not implemented. */
#include <math.h>
#include <stddef.h>

#include "builtins.h"

static void rmsprop_init(float *const *state, size_t n, const double *hp) {
    (void)hp;
    float *ms = state[0];
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) ms[i] = 1.0f;
}

static void rmsprop_step(float *params, const float *grads, float *const *state, size_t n, float lr,
                         const double *hp, int64_t t) {
    (void)t;
    float *ms = state[0], *mom = state[1];
    const float rho = (float)hp[0], omr = (float)(1.0 - hp[0]), mu = (float)hp[1], eps = (float)hp[2];
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        const float g = grads[i];
        ms[i] = rho * ms[i] + omr * (g * g);
        mom[i] = mu * mom[i] + lr * g / sqrtf(ms[i] + eps);
        params[i] -= mom[i];
    }
}

const dob_optim_ops dob_optim_rmsprop = {
    .abi_version = DOB_OPTIM_ABI_VERSION,
    .name = "rmsprop",
    .deepobs_name = "RMSPropOptimizer",
    .n_hparams = 3,
    .hparams =
        {
            {"decay", 0.9, 0.0, 1.0, 0, "discount rho of the mean square: ms = rho*ms + (1-rho)*g^2"},
            {"momentum", 0.0, 0.0, 1.0, 0, "momentum mu: mom = mu*mom + lr*g/sqrt(ms + eps), theta -= mom"},
            {"epsilon", 1e-10, DOB_ABOVE_ZERO, 1e3, 1, "added to ms inside the square root (TF form)"},
        },
    .state_count = 2,
    .init = rmsprop_init,
    .step = rmsprop_step,
};
