/* plugin_bad.c: deliberately broken optimizer plugins for the optim suite's error paths. Built twice:
 * as dob_plugin_bad_abi (exports dob_optim_plugin, but its table claims ABI version 999) and, with
 * -DDOB_BAD_NO_SYMBOL, as dob_plugin_no_symbol (exports only a misspelt entry point). */
#include <stddef.h>

#include "dob/optim.h"

static void noop_step(float *params, const float *grads, float *const *state, size_t n, float lr, const double *hp,
                      int64_t t) {
    (void)params, (void)grads, (void)state, (void)n, (void)lr, (void)hp, (void)t;
}

static const dob_optim_ops bad = {
    .abi_version = 999,
    .name = "bad_abi",
    .deepobs_name = "BadAbiOptimizer",
    .step = noop_step,
};

#ifdef DOB_BAD_NO_SYMBOL
const dob_optim_ops *dob_optim_plugin_v2(void);
const dob_optim_ops *dob_optim_plugin_v2(void) { return &bad; }
#else
const dob_optim_ops *dob_optim_plugin(void);
const dob_optim_ops *dob_optim_plugin(void) { return &bad; }
#endif
