/* registry.c: the static table of built-in optimizers, look-up by name, and the checks shared by built-ins and
 * plugins: the table itself (dob_optim_check_ops) and the user's learning rate and hyperparameters
 * (dob_optim_check). No constructor-time self-registration: adding a built-in is one line in `builtins` below.
 * Does not load plugins (plugin.c) nor parse flags (the CLI looks names up with dob_optim_hp_index). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "builtins.h"

static const dob_optim_ops *const builtins[] = {
    &dob_optim_sgd,     &dob_optim_momentum, &dob_optim_nesterov, &dob_optim_adam,
    &dob_optim_adamw,   &dob_optim_rmsprop,  &dob_optim_adagrad,  &dob_optim_adadelta,
};
#define N_BUILTINS ((int)(sizeof builtins / sizeof builtins[0]))

/* Hyperparameter names become CLI flags (--<name>) and JSON keys next to the runner's own settings, so an
 * optimizer may not take one of these. */
static const char *const reserved_hp[] = {"lr",           "learning_rate",   "weight_decay",     "bs",
                                          "batch_size",   "num_epochs",      "random_seed",      "seed",
                                          "lr_sched_epochs", "lr_sched_factors", "train_log_interval",
                                          "optimizer",    "optimizer_lib",   "data_dir",         "output_dir"};

const dob_optim_ops *dob_optim_find(const char *name) {
    if (!name) return NULL;
    for (int i = 0; i < N_BUILTINS; i++)
        if (strcmp(builtins[i]->name, name) == 0) return builtins[i];
    return NULL;
}

int dob_optim_builtin_count(void) { return N_BUILTINS; }

const dob_optim_ops *dob_optim_builtin(int i) { return i >= 0 && i < N_BUILTINS ? builtins[i] : NULL; }

int dob_optim_hp_index(const dob_optim_ops *o, const char *name) {
    if (!o || !name) return -1;
    for (int i = 0; i < o->n_hparams; i++)
        if (o->hparams[i].name && strcmp(o->hparams[i].name, name) == 0) return i;
    return -1;
}

void dob_optim_defaults(const dob_optim_ops *o, double *hp) {
    for (int i = 0; i < o->n_hparams; i++) hp[i] = o->hparams[i].def;
}

/* 1 if s is a non-empty identifier made of the characters in `extra`, lower-case letters and digits. */
static int ident_ok(const char *s, const char *extra) {
    if (!s || !*s || strlen(s) >= 64) return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || strchr(extra, *p))) return 0;
    return 1;
}

dob_status dob_optim_check_ops(const dob_optim_ops *o) {
    if (!o) return DOB_FAIL(DOB_EINVAL, "optimizer table is NULL");
    if (o->abi_version != DOB_OPTIM_ABI_VERSION)
        return DOB_FAIL(DOB_EINVAL, "expected optimizer ABI version %d (DOB_OPTIM_ABI_VERSION), found %d",
                        DOB_OPTIM_ABI_VERSION, o->abi_version);
    if (!ident_ok(o->name, "_-"))
        return DOB_FAIL(DOB_EINVAL, "expected a name of 1-63 characters [a-z0-9_-], found %s%s%s",
                        o->name ? "'" : "", o->name ? o->name : "NULL", o->name ? "'" : "");
    if (!o->deepobs_name || !*o->deepobs_name)
        return DOB_FAIL(DOB_EINVAL, "optimizer %s: expected a deepobs_name (class name for the JSON export, "
                        "e.g. \"MomentumOptimizer\"), found %s", o->name, o->deepobs_name ? "''" : "NULL");
    if (!o->step) return DOB_FAIL(DOB_EINVAL, "optimizer %s: step function is NULL", o->name);
    if (o->n_hparams < 0 || o->n_hparams > DOB_OPTIM_MAX_HP)
        return DOB_FAIL(DOB_EINVAL, "optimizer %s: expected 0..%d hyperparameters (DOB_OPTIM_MAX_HP), found %d",
                        o->name, DOB_OPTIM_MAX_HP, o->n_hparams);
    if (o->state_count < 0 || o->state_count > DOB_OPTIM_MAX_STATE)
        return DOB_FAIL(DOB_EINVAL,
                        "optimizer %s: expected 0..%d state vectors (DOB_OPTIM_MAX_STATE), found state_count %d",
                        o->name, DOB_OPTIM_MAX_STATE, o->state_count);
    for (int i = 0; i < o->n_hparams; i++) {
        const dob_hparam_spec *h = &o->hparams[i];
        if (!ident_ok(h->name, "_"))
            return DOB_FAIL(DOB_EINVAL, "optimizer %s: hyperparameter %d: expected a name of 1-63 characters "
                            "[a-z0-9_] (it becomes a CLI flag), found %s%s%s", o->name, i, h->name ? "'" : "",
                            h->name ? h->name : "NULL", h->name ? "'" : "");
        for (size_t r = 0; r < sizeof reserved_hp / sizeof reserved_hp[0]; r++)
            if (strcmp(h->name, reserved_hp[r]) == 0)
                return DOB_FAIL(DOB_EINVAL, "optimizer %s: hyperparameter name '%s' is reserved for a runner "
                                "setting; choose another name", o->name, h->name);
        if (dob_optim_hp_index(o, h->name) != i)
            return DOB_FAIL(DOB_EINVAL, "optimizer %s: hyperparameter '%s' is listed twice", o->name, h->name);
        if (!h->help || !*h->help)
            return DOB_FAIL(DOB_EINVAL, "optimizer %s: hyperparameter '%s' has no help string", o->name, h->name);
        if (!isfinite(h->lo) || !isfinite(h->hi) || !isfinite(h->def) || !(h->lo <= h->def && h->def <= h->hi))
            return DOB_FAIL(DOB_EINVAL, "optimizer %s: hyperparameter '%s': expected finite lo <= default <= hi, "
                            "found lo %.10g, default %.10g, hi %.10g", o->name, h->name, h->lo, h->def, h->hi);
    }
    return DOB_OK;
}

dob_status dob_optim_check(const dob_optim_ops *o, double lr, const double *hp) {
    if (!o) return DOB_FAIL(DOB_EINVAL, "no optimizer given");
    if (!(lr > 0) || !isfinite(lr))
        return DOB_FAIL(DOB_EINVAL, "optimizer %s: --lr (learning rate) must be finite and > 0, found %.10g", o->name,
                        lr);
    if (o->n_hparams > 0 && !hp)
        return DOB_FAIL(DOB_EINVAL, "optimizer %s: expected %d hyperparameter values, found NULL", o->name,
                        o->n_hparams);
    for (int i = 0; i < o->n_hparams; i++) {
        const dob_hparam_spec *h = &o->hparams[i];
        if (!(hp[i] >= h->lo && hp[i] <= h->hi)) /* also rejects NaN */
            return DOB_FAIL(DOB_EINVAL, "optimizer %s: --%s must be in [%.10g, %.10g], found %.10g", o->name,
                            h->name, h->lo, h->hi, hp[i]);
    }
    return DOB_OK;
}
