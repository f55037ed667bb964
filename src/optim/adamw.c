/* adamw.c: Adam with decoupled weight decay (Loshchilov & Hutter), as in PyTorch's AdamW but with the Adam
 * part in TensorFlow's form (see adam.c):
 *   theta <- theta - lr * wd * theta                      (decay first, scaled by the lr, not by lr_t)
 *   lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t)
 *   m <- beta1 * m + (1 - beta1) * g;  v <- beta2 * v + (1 - beta2) * g^2
 *   theta <- theta - lr_t * m / (sqrt(v) + epsilon)
 * The Adam increment does not depend on theta, so this equals theta -= lr_t*m/(sqrt v + eps) + lr*wd*theta_old.
 * Unlike TF's contrib AdamWOptimizer (which does not scale the decay by lr), the decay follows the lr schedule.
 * The hyperparameter is `decoupled_weight_decay`, not `weight_decay`: that name is the problem's L2 flag, which
 * still applies (it enters the gradient). It decays every arena element, biases included; padding stays 0.
 * State 0: m, state 1: v (zero-initialised). */
#include <math.h>
#include <stddef.h>

#include "builtins.h"

static void adamw_step(float *params, const float *grads, float *const *state, size_t n, float lr,
                       const double *hp, int64_t t) {
    DOB_ASSERT(t >= 1);
    float *m = state[0], *v = state[1];
    const double b1 = hp[0], b2 = hp[1];
    const float lr_t = (float)((double)lr * sqrt(1.0 - pow(b2, (double)t)) / (1.0 - pow(b1, (double)t)));
    const float fb1 = (float)b1, fb2 = (float)b2, omb1 = (float)(1.0 - b1), omb2 = (float)(1.0 - b2);
    const float eps = (float)hp[2];
    const float keep = (float)(1.0 - (double)lr * hp[3]);
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        const float g = grads[i];
        m[i] = fb1 * m[i] + omb1 * g;
        v[i] = fb2 * v[i] + omb2 * (g * g);
        params[i] = keep * params[i] - lr_t * m[i] / (sqrtf(v[i]) + eps);
    }
}

const dob_optim_ops dob_optim_adamw = {
    .abi_version = DOB_OPTIM_ABI_VERSION,
    .name = "adamw",
    .deepobs_name = "AdamWOptimizer",
    .n_hparams = 4,
    .hparams =
        {
            {"beta1", 0.9, 0.0, DOB_BELOW_ONE, 0, "decay rate of the first-moment estimate m, in [0, 1)"},
            {"beta2", 0.999, 0.0, DOB_BELOW_ONE, 0, "decay rate of the second-moment estimate v, in [0, 1)"},
            {"epsilon", 1e-8, DOB_ABOVE_ZERO, 1e3, 1, "added to sqrt(v) (TF form: before bias correction)"},
            {"decoupled_weight_decay", 0.01, 0.0, 1.0, 1,
             "decoupled decay wd: theta -= lr*wd*theta each step (separate from the L2 --weight_decay)"},
        },
    .state_count = 2,
    .init = NULL,
    .step = adamw_step,
};
