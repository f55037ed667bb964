/* builtins.h (internal to src/optim): the built-in optimizer tables, one per file, listed by registry.c.
 * Also the OpenMP pragma helper shared by the step loops. Not a public header. */
#ifndef DOB_OPTIM_BUILTINS_H
#define DOB_OPTIM_BUILTINS_H

#include "dob/optim.h"

extern const dob_optim_ops dob_optim_sgd;
extern const dob_optim_ops dob_optim_momentum;
extern const dob_optim_ops dob_optim_nesterov;
extern const dob_optim_ops dob_optim_adam;
extern const dob_optim_ops dob_optim_adamw;
extern const dob_optim_ops dob_optim_rmsprop;
extern const dob_optim_ops dob_optim_adagrad;
extern const dob_optim_ops dob_optim_adadelta;

/* Upper bound used for hyperparameters whose mathematical range is open at 1 ([0, 1)): the table holds closed
 * ranges only, so [0, 1) is stored as [0, DOB_BELOW_ONE]. */
#define DOB_BELOW_ONE 0.999999999
/* Lower bound for strictly positive constants (epsilons, initial accumulators): (0, x] is stored as
 * [DOB_ABOVE_ZERO, x]. Positive, because zero would give 0/0 = NaN where the gradient is zero (arena padding). */
#define DOB_ABOVE_ZERO 1e-30

#endif
