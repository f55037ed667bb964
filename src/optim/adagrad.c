/* adagrad.c: Adagrad in TensorFlow's form (tf.train.AdagradOptimizer):
 *   acc <- acc + g^2;  theta <- theta - lr * g / sqrt(acc)
 * There is no epsilon: acc starts at initial_accumulator_value (> 0, default 0.1, set by init()), so the
 * division is safe, also in the arena padding where g = 0.
 * State 0: acc. Hyperparameter 0: initial_accumulator_value in (0, 1e3]. */
#include <math.h>
#include <stddef.h>

#include "builtins.h"

static void adagrad_init(float *const *state, size_t n, const double *hp) {
    float *acc = state[0];
    const float a0 = (float)hp[0];
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) acc[i] = a0;
}

static void adagrad_step(float *params, const float *grads, float *const *state, size_t n, float lr,
                         const double *hp, int64_t t) {
    (void)hp, (void)t;
    float *acc = state[0];
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        const float g = grads[i];
        acc[i] += g * g;
        params[i] -= lr * g / sqrtf(acc[i]);
    }
}

const dob_optim_ops dob_optim_adagrad = {
    .abi_version = DOB_OPTIM_ABI_VERSION,
    .name = "adagrad",
    .deepobs_name = "AdagradOptimizer",
    .n_hparams = 1,
    .hparams = {{"initial_accumulator_value", 0.1, DOB_ABOVE_ZERO, 1e3, 1,
                 "starting value of the squared-gradient accumulator (TF default 0.1; must be > 0)"}},
    .state_count = 1,
    .init = adagrad_init,
    .step = adagrad_step,
};
