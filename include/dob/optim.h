/* dob/optim.h: the optimizer C ABI. An optimizer is a flat loop over the arena: it sees params, grads and
 * state_count state vectors of n floats each (identical layout), the current learning rate (schedules live
 * apart, in sched.h) and its hyperparameters in the order of its table. Built-ins: sgd, momentum, nesterov,
 * adam, adamw, rmsprop, adagrad, adadelta. External optimizers: a shared object exporting
 *   const dob_optim_ops *dob_optim_plugin(void);
 * loaded with --optimizer-lib path.so (no recompiling dob). */
#ifndef DOB_OPTIM_H
#define DOB_OPTIM_H

#include <stddef.h>
#include <stdint.h>

#include "dob/status.h"

#define DOB_OPTIM_ABI_VERSION 1
#define DOB_OPTIM_MAX_HP 8
#define DOB_OPTIM_MAX_STATE 8

typedef struct dob_hparam_spec {
    const char *name;     /* CLI flag --<name>, HDF5/JSON key */
    double def;           /* default value */
    double lo, hi;        /* accepted closed range */
    int log_scale;        /* 1 = sweeps should space it logarithmically */
    const char *help;
} dob_hparam_spec;

typedef struct dob_optim_ops {
    int abi_version;          /* DOB_OPTIM_ABI_VERSION */
    const char *name;         /* "momentum" */
    const char *deepobs_name; /* DeepOBS/TF class name for JSON export: "MomentumOptimizer" */
    int n_hparams;            /* learning rate excluded: it is always given separately */
    dob_hparam_spec hparams[DOB_OPTIM_MAX_HP];
    int state_count;          /* state vectors (<= DOB_OPTIM_MAX_STATE), zeroed before init */
    /** Optional: set initial state (e.g. Adagrad's initial accumulator). */
    void (*init)(float *const *state, size_t n, const double *hp);
    /** One update. t = 1-based step count (Adam bias correction). */
    void (*step)(float *params, const float *grads, float *const *state, size_t n, float lr, const double *hp,
                 int64_t t);
} dob_optim_ops;
/** The table's old name, kept so plugins written against it compile unchanged (the same struct, the same ABI).
 *  Every table of function pointers is now called *_ops, as dob_layer_ops and dob_source_ops. */
typedef dob_optim_ops dob_optim_api;

/** @return the built-in optimizer called name, or NULL. */
const dob_optim_ops *dob_optim_find(const char *name);
int dob_optim_builtin_count(void);
const dob_optim_ops *dob_optim_builtin(int i);
/** dlopen a plugin and validate its table (ABI version, names, ranges, state count). */
dob_status dob_optim_load_plugin(const char *path, const dob_optim_ops **out);
/** Check lr > 0 and every hp within its range; message names the flag and the range. */
dob_status dob_optim_check(const dob_optim_ops *o, double lr, const double *hp);
/** @return index of hyperparameter `name` or -1. */
int dob_optim_hp_index(const dob_optim_ops *o, const char *name);
/** Fill hp[0 .. n_hparams) with the table's defaults. */
void dob_optim_defaults(const dob_optim_ops *o, double *hp);
/** Validate a table (ABI version, names, step, counts, help strings, lo <= def <= hi); plugins go through it. */
dob_status dob_optim_check_ops(const dob_optim_ops *o);

#endif
