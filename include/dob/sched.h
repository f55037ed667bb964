/* dob/sched.h: learning-rate schedules, kept apart from the optimizers. The learning rate is constant within
 * an epoch and set at the start of each (0-based) epoch, as DeepOBS's LearningRateScheduleRunner does. */
#ifndef DOB_SCHED_H
#define DOB_SCHED_H

#include <stdint.h>

#include "dob/status.h"

#define DOB_SCHED_MAX 64

typedef enum dob_sched_kind { DOB_SCHED_CONSTANT = 0, DOB_SCHED_PIECEWISE, DOB_SCHED_COSINE } dob_sched_kind;

typedef struct dob_sched {
    dob_sched_kind kind;
    double base_lr;
    int n;                          /* piecewise: number of (epoch, factor) pairs */
    int64_t epochs[DOB_SCHED_MAX];  /* strictly increasing, >= 1 */
    double factors[DOB_SCHED_MAX];  /* relative to base_lr (DeepOBS semantics, not cumulative) */
    int64_t total_epochs;           /* cosine */
} dob_sched;

/** Constant schedule. */
dob_status dob_sched_constant(dob_sched *s, double base_lr);
/** DeepOBS piecewise: lr = base * factors[i] from epoch epochs[i] on. Validates order, count and signs. */
dob_status dob_sched_piecewise(dob_sched *s, double base_lr, int n, const int64_t *epochs, const double *factors);
/** Cosine decay from base_lr to 0 over total_epochs. */
dob_status dob_sched_cosine(dob_sched *s, double base_lr, int64_t total_epochs);
/** Learning rate for 0-based epoch e. */
double dob_sched_lr(const dob_sched *s, int64_t epoch);

#endif
