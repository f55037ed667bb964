/* adam.c: Adam in TensorFlow's form (tf.train.AdamOptimizer), the DeepOBS baseline:
 *   lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t)       (t = 1-based step, computed once per step in double)
 *   m <- beta1 * m + (1 - beta1) * g
 *   v <- beta2 * v + (1 - beta2) * g^2
 *   theta <- theta - lr_t * m / (sqrt(v) + epsilon)
 * epsilon is added to the un-corrected sqrt(v) (TF's "epsilon hat"), which differs slightly from the paper.
 * State 0: m, state 1: v (both zero-initialised). Hyperparameters: beta1, beta2 in [0, 1), epsilon in (0, 1e3].
 * Does not apply weight decay: see adamw.c for the decoupled variant. */
#include <math.h>
#include <stddef.h>

#include "builtins.h"

static void adam_step(float *params, const float *grads, float *const *state, size_t n, float lr, const double *hp,
                      int64_t t) {
    DOB_ASSERT(t >= 1);
    float *m = state[0], *v = state[1];
    const double b1 = hp[0], b2 = hp[1];
    const float lr_t = (float)((double)lr * sqrt(1.0 - pow(b2, (double)t)) / (1.0 - pow(b1, (double)t)));
    const float fb1 = (float)b1, fb2 = (float)b2, omb1 = (float)(1.0 - b1), omb2 = (float)(1.0 - b2);
    const float eps = (float)hp[2];
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        const float g = grads[i];
        m[i] = fb1 * m[i] + omb1 * g;
        v[i] = fb2 * v[i] + omb2 * (g * g);
        params[i] -= lr_t * m[i] / (sqrtf(v[i]) + eps);
    }
}

const dob_optim_ops dob_optim_adam = {
    .abi_version = DOB_OPTIM_ABI_VERSION,
    .name = "adam",
    .deepobs_name = "AdamOptimizer",
    .n_hparams = 3,
    .hparams =
        {
            {"beta1", 0.9, 0.0, DOB_BELOW_ONE, 0, "decay rate of the first-moment estimate m, in [0, 1)"},
            {"beta2", 0.999, 0.0, DOB_BELOW_ONE, 0, "decay rate of the second-moment estimate v, in [0, 1)"},
            {"epsilon", 1e-8, DOB_ABOVE_ZERO, 1e3, 1, "added to sqrt(v) (TF form: before bias correction)"},
        },
    .state_count = 2,
    .init = NULL,
    .step = adam_step,
};
