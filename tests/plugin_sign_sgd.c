/* plugin_sign_sgd.c: example external optimizer, built as a MODULE library and loaded with
 *   dob run ... --optimizer-lib libdob_plugin_sign_sgd.so
 * It is signSGD with optional sign momentum (Signum, Bernstein et al. 2018):
 *   m <- beta * m + (1 - beta) * g;  theta <- theta - lr * sign(m)
 * With the default beta = 0 this is plain signSGD, theta -= lr * sign(g). sign(0) = 0, so the arena padding
 * (g = 0) stays 0. A plugin needs only dob/optim.h: no dob symbol is linked. Also the optim suite's fixture. */
#include <stddef.h>

#include "dob/optim.h"

static void sign_sgd_step(float *params, const float *grads, float *const *state, size_t n, float lr,
                          const double *hp, int64_t t) {
    (void)t;
    float *m = state[0];
    const float beta = (float)hp[0], omb = (float)(1.0 - hp[0]);
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        m[i] = beta * m[i] + omb * grads[i];
        params[i] -= m[i] > 0.0f ? lr : m[i] < 0.0f ? -lr : 0.0f;
    }
}

static const dob_optim_ops sign_sgd = {
    .abi_version = DOB_OPTIM_ABI_VERSION,
    .name = "sign_sgd",
    .deepobs_name = "SignSGDOptimizer",
    .n_hparams = 1,
    .hparams = {{"beta", 0.0, 0.0, 0.999, 0, "sign momentum (Signum): m = beta*m + (1-beta)*g; 0 = signSGD"}},
    .state_count = 1,
    .init = NULL,
    .step = sign_sgd_step,
};

const dob_optim_ops *dob_optim_plugin(void);
const dob_optim_ops *dob_optim_plugin(void) { return &sign_sgd; }
