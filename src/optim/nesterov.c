/* nesterov.c: Nesterov momentum, TF's MomentumOptimizer with use_nesterov=True:
 *   a <- mu * a + g;  theta <- theta - lr * (g + mu * a)
 * State 0: the accumulator a (zero-initialised). Hyperparameter 0: momentum mu in [0, 1].
 * Exported to DeepOBS JSON as "NesterovOptimizer" (TF has no class of that name): DeepOBS files results by
 * optimizer class name, and a distinct name keeps Nesterov runs out of the MomentumOptimizer folder. */
#include <stddef.h>

#include "builtins.h"

static void nesterov_step(float *params, const float *grads, float *const *state, size_t n, float lr,
                          const double *hp, int64_t t) {
    (void)t;
    float *acc = state[0];
    const float mu = (float)hp[0];
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        acc[i] = mu * acc[i] + grads[i];
        params[i] -= lr * (grads[i] + mu * acc[i]);
    }
}

const dob_optim_ops dob_optim_nesterov = {
    .abi_version = DOB_OPTIM_ABI_VERSION,
    .name = "nesterov",
    .deepobs_name = "NesterovOptimizer",
    .n_hparams = 1,
    .hparams = {{"momentum", 0.9, 0.0, 1.0, 0, "momentum coefficient mu: a = mu*a + g, theta -= lr*(g + mu*a)"}},
    .state_count = 1,
    .init = NULL,
    .step = nesterov_step,
};
