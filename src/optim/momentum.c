/* momentum.c: heavy-ball momentum, TF's MomentumOptimizer (use_nesterov=False):
 *   a <- mu * a + g;  theta <- theta - lr * a
 * (no dampening, lr applied outside the accumulator: a change of lr mid-run does not rescale the history).
 * State 0: the accumulator a (zero-initialised). Hyperparameter 0: momentum mu in [0, 1].
 * DeepOBS's baseline uses mu = 0.99; the default here is the common 0.9. Nesterov lives in nesterov.c. */
#include <stddef.h>

#include "builtins.h"

static void momentum_step(float *params, const float *grads, float *const *state, size_t n, float lr,
                          const double *hp, int64_t t) {
    (void)t;
    float *acc = state[0];
    const float mu = (float)hp[0];
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        acc[i] = mu * acc[i] + grads[i];
        params[i] -= lr * acc[i];
    }
}

const dob_optim_ops dob_optim_momentum = {
    .abi_version = DOB_OPTIM_ABI_VERSION,
    .name = "momentum",
    .deepobs_name = "MomentumOptimizer",
    .n_hparams = 1,
    .hparams = {{"momentum", 0.9, 0.0, 1.0, 0, "momentum coefficient mu: a = mu*a + g, theta -= lr*a"}},
    .state_count = 1,
    .init = NULL,
    .step = momentum_step,
};
