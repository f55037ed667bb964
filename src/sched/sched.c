/* sched.c: learning-rate schedules (constant, DeepOBS piecewise, cosine), kept apart from the optimizers.
 * The rate is a pure function of the 0-based epoch, so a resumed run gets the same rates without state.
 * Piecewise follows DeepOBS's LearningRateScheduleRunner: the schedule is {0: base, E_i: F_i * base}; the factor
 * is relative to the base rate (not cumulative) and takes effect at the start of 0-based epoch E_i.
 * Cosine: lr(e) = base * (1 + cos(pi * e / T)) / 2 for 0 <= e <= T, and 0 after T (no restarts, no floor).
 * Does not parse flags: the CLI hands over the arrays. */
#include <math.h>
#include <string.h>

#include "dob/sched.h"

#define PI 3.14159265358979323846 /* M_PI is not ISO C */

static dob_status check_base(const char *kind, double base_lr) {
    if (!(base_lr > 0) || !isfinite(base_lr))
        return DOB_FAIL(DOB_EINVAL, "%s schedule: base learning rate must be finite and > 0, found %.10g", kind,
                        base_lr);
    return DOB_OK;
}

dob_status dob_sched_constant(dob_sched *s, double base_lr) {
    dob_status st = check_base("constant", base_lr);
    if (st != DOB_OK) return st;
    memset(s, 0, sizeof *s);
    s->kind = DOB_SCHED_CONSTANT;
    s->base_lr = base_lr;
    return DOB_OK;
}

dob_status dob_sched_piecewise(dob_sched *s, double base_lr, int n, const int64_t *epochs, const double *factors) {
    dob_status st = check_base("piecewise", base_lr);
    if (st != DOB_OK) return st;
    if (n < 0 || n > DOB_SCHED_MAX)
        return DOB_FAIL(DOB_EINVAL, "--lr_sched_epochs: expected 0..%d (epoch, factor) pairs, found %d",
                        DOB_SCHED_MAX, n);
    if (n > 0 && (!epochs || !factors))
        return DOB_FAIL(DOB_EINVAL, "piecewise schedule: %d pairs announced but the %s array is NULL", n,
                        epochs ? "factors" : "epochs");
    for (int i = 0; i < n; i++) {
        if (epochs[i] < 1)
            return DOB_FAIL(DOB_EINVAL, "--lr_sched_epochs: expected epochs >= 1 (epoch 0 uses the base rate), "
                            "found %lld at position %d", (long long)epochs[i], i);
        if (i > 0 && epochs[i] <= epochs[i - 1])
            return DOB_FAIL(DOB_EINVAL, "--lr_sched_epochs: expected strictly increasing epochs, found %lld after "
                            "%lld at position %d", (long long)epochs[i], (long long)epochs[i - 1], i);
        if (!(factors[i] > 0) || !isfinite(factors[i]))
            return DOB_FAIL(DOB_EINVAL, "--lr_sched_factors: expected finite factors > 0, found %.10g at position "
                            "%d", factors[i], i);
    }
    memset(s, 0, sizeof *s);
    s->kind = n > 0 ? DOB_SCHED_PIECEWISE : DOB_SCHED_CONSTANT;
    s->base_lr = base_lr;
    s->n = n;
    for (int i = 0; i < n; i++) {
        s->epochs[i] = epochs[i];
        s->factors[i] = factors[i];
    }
    return DOB_OK;
}

dob_status dob_sched_cosine(dob_sched *s, double base_lr, int64_t total_epochs) {
    dob_status st = check_base("cosine", base_lr);
    if (st != DOB_OK) return st;
    if (total_epochs < 1)
        return DOB_FAIL(DOB_EINVAL, "cosine schedule: expected total epochs >= 1, found %lld",
                        (long long)total_epochs);
    memset(s, 0, sizeof *s);
    s->kind = DOB_SCHED_COSINE;
    s->base_lr = base_lr;
    s->total_epochs = total_epochs;
    return DOB_OK;
}

double dob_sched_lr(const dob_sched *s, int64_t epoch) {
    if (epoch < 0) epoch = 0;
    switch (s->kind) {
    case DOB_SCHED_CONSTANT: return s->base_lr;
    case DOB_SCHED_PIECEWISE: {
        double f = 1.0;
        for (int i = 0; i < s->n && s->epochs[i] <= epoch; i++) f = s->factors[i];
        return s->base_lr * f;
    }
    case DOB_SCHED_COSINE:
        if (epoch >= s->total_epochs) return 0.0;
        return s->base_lr * 0.5 * (1.0 + cos(PI * (double)epoch / (double)s->total_epochs));
    }
    dob_assert_fail("s->kind is a known dob_sched_kind", __FILE__, __LINE__);
}
