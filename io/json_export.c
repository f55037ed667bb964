/* json_export.c: dob_results_export_json, the DeepOBS v1.1 JSON layout of a result file's finished trials.
 *
 * For every trial whose status is done or diverged it writes
 *   <out>/<problem>/<optimizer_deepobs_name>/<setting>/random_seed__<seed>__<YYYY-MM-DD-HH-MM-SS>.json
 * with setting = "num_epochs__{N}__batch_size__{B}__" [+ "precision__bf16__"] [+ "weight_decay__{f(wd)}__" when a weight decay was given]
 * + "{name}__{f(v)}__" for every hyperparameter but the learning rate, in strcmp (= Python sorted) order,
 * + "lr__{f(lr)}"; f(x) = "%.10e" with trailing zeros of the mantissa stripped (DeepOBS float2str:
 * 0.99 -> 9.9e-01, 0.01 -> 1.e-02). The time is the file's /meta created attribute (the run's start), as DeepOBS
 * stamps the run start. Keys, in DeepOBS v1.1 order (json.dump without indent, ", " and ": " separators):
 *   train_losses, test_losses, [valid_losses], minibatch_train_losses,
 *   [train_accuracies, test_accuracies, [valid_accuracies]] (problems with an accuracy),
 *   optimizer, testproblem, weight_decay, batch_size, num_epochs, learning_rate, lr_sched_epochs,
 *   lr_sched_factors, random_seed, train_log_interval, hyperparams.
 * Deliberate differences from DeepOBS v1.1, all documented here:
 *  - valid_losses / valid_accuracies (v1.2 names) are added right after the test ones when the run had a
 *    validation split; v1.1 readers ignore unknown keys.
 *  - NaN/Inf values are written as null: DeepOBS wrote the non-standard literal NaN, which jansson (and strict
 *    JSON parsers) refuse. A diverged trial keeps its curves as recorded (null after the divergence), it is not
 *    padded with epoch-0 values as v1.2 does.
 *  - Floats are printed with 17 significant digits (jansson), not Python's shortest repr: 0.00251 appears as
 *    0.0025100000000000001, which parses to the same double.
 *  - Every hyperparameter is stored as float64, so each is formatted with f() (DeepOBS used str() for
 *    non-float hyperparameters such as booleans).
 *  - lr_sched_epochs / lr_sched_factors are always null (schedules are not part of the result schema yet).
 *  - A bf16 run (/meta precision, `--precision bf16`) gets the extra key "precision": "bf16" after hyperparams,
 *    and "precision__bf16__" after the batch size in its setting folder, so that DeepOBS's analyzer, which
 *    averages every file of a setting folder as seeds of one setting, never mixes bf16 and f32 runs. f32 runs
 *    (DeepOBS's precision) keep the exact v1.1 keys and folders. Likewise a run with another convolution
 *    algorithm than direct (/meta conv_algo, `--conv-algo`): key "conv_algo", folder part "conv_algo__<algo>__"
 *    after the precision's.
 * Existing JSON files are never overwritten: every target is checked before anything is written (DOB_EEXIST,
 * nothing written), and each file is written under a temporary name and hard-linked into place, which also
 * fails rather than replace a file that appeared meanwhile.
 *
 * Layout 1.2 (dob export-json --layout 1.2; DeepOBS 1.2's runners, reference deepobs.md 5.2, what its current
 * analyzer and PyTorch port read):
 *   <out>/<problem>/<optimizer_deepobs_name>/num_epochs__{N}__batch_size__{B}[__precision__bf16]
 *   [__weight_decay__{f(wd)}] + "__{name}__{f(v)}" for every hyperparameter, the learning rate included, sorted by
 *   name [+ "__lr_sched_epochs__[E1, E2]__lr_sched_factors__[F1, F2]" for a sweep's schedule]
 *   /random_seed__<seed>__<time>.json, JSON with indent 4, keys testproblem, batch_size, num_epochs, random_seed,
 *   weight_decay, optimizer_name, optimizer_hyperparams (learning_rate first, TensorFlow's name), training_params,
 *   train_losses, [valid_losses], test_losses, [train_accuracies, [valid_accuracies], test_accuracies],
 *   minibatch_train_losses. A diverged trial is written as DeepOBS 1.2's _abort_routine writes it: the metrics
 *   after the last evaluation filled with their epoch-0 values, the logged mini-batch losses up to the divergence
 *   followed by the first one (num_epochs - epochs_done) times; so every curve is finite and DeepOBS's analyzer
 *   (numpy means) reads it. valid_* exist only for runs with a validation split (--valid): DeepOBS 1.2's
 *   check_output calls the other files incomplete, its aggregation reads them.
 * It does not: export pending/running/failed trials, read a file that is still open for writing by a run (it
 * reads the final file serially with the default HDF5 driver), or merge several result files. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "dob/results.h"
#include "h5util.h"
#include "meta.h"
#include "seal.h"

/* ---- names ----------------------------------------------------------------------------------------------- */
/* DeepOBS float2str: "{:.10e}" with trailing zeros of the mantissa removed. */
static void deepobs_f(double x, char *buf, size_t cap) {
    char s[64];
    snprintf(s, sizeof s, "%.10e", x);
    char *e = strchr(s, 'e');
    if (!e) {
        snprintf(buf, cap, "%s", s);
        return;
    }
    char *m = e;
    while (m > s && m[-1] == '0') m--;
    snprintf(buf, cap, "%.*s%s", (int)(m - s), s, e);
}

typedef struct meta_info {
    dob_sweep_desc d; /* the /meta fields (meta.h); d.optimizer_deepobs_name is the folder name */
    char stamp[32];
    int *hp_order; /* indices 1..n_hp-1 sorted by name */
} meta_info;

/* qsort has no context argument in C11: the names being sorted (export is single-threaded). */
static const char *const *sort_names_;
static int cmp_hp(const void *a, const void *b) {
    return strcmp(sort_names_[*(const int *)a], sort_names_[*(const int *)b]);
}

static int safe_component(const char *s) {
    return s[0] && strcmp(s, ".") && strcmp(s, "..") && !strchr(s, '/');
}

static dob_status read_meta(hid_t f, const char *path, meta_info *mi) {
    dob_status st = DOB_OK;
    const dob_sweep_desc *d = &mi->d;
    DOB_TRY(dob_meta_read(f, path, &mi->d));
    if (strcmp(d->precision, "f32") && strcmp(d->precision, "bf16")) {
        st = DOB_FAIL(DOB_EFORMAT, "/meta precision: expected f32 or bf16, found '%s'", d->precision);
        goto fail;
    }
    if (strcmp(d->conv_algo, "direct") && strcmp(d->conv_algo, "winograd") && strcmp(d->conv_algo, "auto")) {
        st = DOB_FAIL(DOB_EFORMAT, "/meta conv_algo: expected direct, winograd or auto, found '%s'", d->conv_algo);
        goto fail;
    }
    if (!safe_component(d->problem) || !safe_component(d->optimizer_deepobs_name)) {
        st = DOB_FAIL(DOB_EFORMAT, "problem '%s' / optimizer_deepobs_name '%s' cannot be used as folder names",
                      d->problem, d->optimizer_deepobs_name);
        goto fail;
    }
    for (int i = 0; i < d->n_hp; i++)
        if (!safe_component(d->hp_names[i])) {
            st = DOB_FAIL(DOB_EFORMAT, "hyperparameter name '%s' cannot be used in a folder name", d->hp_names[i]);
            goto fail;
        }
    /* created = "YYYY-MM-DDTHH:MM:SS..." -> "YYYY-MM-DD-HH-MM-SS" */
    const char *c = d->created;
    static const char pat[] = "dddd-dd-ddTdd:dd:dd";
    for (size_t i = 0; i < sizeof pat - 1; i++)
        if (pat[i] == 'd' ? !(c[i] >= '0' && c[i] <= '9') : c[i] != pat[i]) {
            st = DOB_FAIL(DOB_EFORMAT, "/meta created: expected YYYY-MM-DDTHH:MM:SS, found '%s'", c);
            goto fail;
        }
    snprintf(mi->stamp, sizeof mi->stamp, "%.10s-%.2s-%.2s-%.2s", c, c + 11, c + 14, c + 17);
    mi->hp_order = malloc(sizeof(int) * (size_t)d->n_hp);
    if (!mi->hp_order) {
        st = DOB_FAIL(DOB_ENOMEM, "out of memory");
        goto fail;
    }
    for (int i = 1; i < d->n_hp; i++) mi->hp_order[i - 1] = i;
    sort_names_ = d->hp_names;
    qsort(mi->hp_order, (size_t)d->n_hp - 1, sizeof(int), cmp_hp);
fail:
    return st;
}

/* <out>/<problem>/<optimizer>/<setting> and the file name, for one trial. */
static dob_status trial_paths(const meta_info *mi, const char *out_dir, const double *hp, int64_t seed,
                              char *dir, size_t dcap, char *file, size_t fcap) {
    char v[64];
    int n = snprintf(dir, dcap, "%s/%s/%s/num_epochs__%lld__batch_size__%lld__", out_dir, mi->d.problem,
                     mi->d.optimizer_deepobs_name, (long long)mi->d.num_epochs, (long long)mi->d.batch_size);
    if (strcmp(mi->d.precision, "f32") && n >= 0 && (size_t)n < dcap)
        n += snprintf(dir + n, dcap - (size_t)n, "precision__%s__", mi->d.precision);
    if (strcmp(mi->d.conv_algo, "direct") && n >= 0 && (size_t)n < dcap)
        n += snprintf(dir + n, dcap - (size_t)n, "conv_algo__%s__", mi->d.conv_algo);
    if (!isnan(mi->d.weight_decay) && n >= 0 && (size_t)n < dcap) {
        deepobs_f(mi->d.weight_decay, v, sizeof v);
        n += snprintf(dir + n, dcap - (size_t)n, "weight_decay__%s__", v);
    }
    for (int k = 0; k < mi->d.n_hp - 1 && n >= 0 && (size_t)n < dcap; k++) {
        int i = mi->hp_order[k];
        deepobs_f(hp[i], v, sizeof v);
        n += snprintf(dir + n, dcap - (size_t)n, "%s__%s__", mi->d.hp_names[i], v);
    }
    if (n >= 0 && (size_t)n < dcap) {
        deepobs_f(hp[0], v, sizeof v);
        n += snprintf(dir + n, dcap - (size_t)n, "lr__%s", v);
    }
    int m = snprintf(file, fcap, "%s/random_seed__%lld__%s.json", dir, (long long)seed, mi->stamp);
    if (n < 0 || (size_t)n >= dcap || m < 0 || (size_t)m >= fcap)
        return DOB_FAIL(DOB_EINVAL, "JSON export: path under '%s' longer than %zu bytes", out_dir, fcap - 1);
    return DOB_OK;
}

/* ---- layout 1.2 ------------------------------------------------------------------------------------------ */
/* Python's repr of a float (the shortest digits that read back the same; positional for exponents -4..15, else
 * scientific: 0.1, 100.0, 1e-05), as str() of a list prints it. */
static void py_float(double x, char *buf, size_t cap) {
    int p = 1;
    for (; p < 17; p++) {
        snprintf(buf, cap, "%.*e", p - 1, x);
        if (strtod(buf, NULL) == x) break;
    }
    const int e = atoi(strchr(buf, 'e') + 1);
    if (e < -4 || e >= 16) return; /* "1e-05": C's and Python's scientific forms agree */
    const int dec = p - 1 - e > 0 ? p - 1 - e : 0;
    snprintf(buf, cap, "%.*f%s", dec, x, dec ? "" : ".0");
}

/* The sweep's schedule "E1:F1,E2:F2" as DeepOBS's training parameters (n = 0: none). */
static int sched_of(const char *s, double *ep, double *fac, int max) {
    int n = 0;
    for (const char *p = s; p && *p && n < max;) {
        char *end;
        ep[n] = strtod(p, &end);
        if (*end != ':') break;
        fac[n++] = strtod(end + 1, &end);
        p = *end == ',' ? end + 1 : NULL;
    }
    return n;
}

/* str() of a list: "[50, 100]" (ints) or "[0.1, 0.01]". */
static void py_list(const double *v, int n, int ints, char *buf, size_t cap) {
    size_t k = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < n && k < cap; i++) {
        char x[40];
        if (ints) snprintf(x, sizeof x, "%lld", (long long)v[i]);
        else py_float(v[i], x, sizeof x);
        k += (size_t)snprintf(buf + k, cap - k, "%s%s", i ? ", " : "", x);
    }
    if (k < cap) snprintf(buf + k, cap - k, "]");
}

static dob_status trial_paths12(const meta_info *mi, const char *out_dir, const double *hp, int64_t seed,
                                char *dir, size_t dcap, char *file, size_t fcap) {
    char v[64], le[512], lf[512];
    const dob_sweep_desc *d = &mi->d;
    int n = snprintf(dir, dcap, "%s/%s/%s/num_epochs__%lld__batch_size__%lld", out_dir, d->problem,
                     d->optimizer_deepobs_name, (long long)d->num_epochs, (long long)d->batch_size);
    if (strcmp(d->precision, "f32") && n >= 0 && (size_t)n < dcap)
        n += snprintf(dir + n, dcap - (size_t)n, "__precision__%s", d->precision);
    if (!isnan(d->weight_decay) && n >= 0 && (size_t)n < dcap) {
        deepobs_f(d->weight_decay, v, sizeof v);
        n += snprintf(dir + n, dcap - (size_t)n, "__weight_decay__%s", v);
    }
    if (d->n_hp > 64) return DOB_FAIL(DOB_EFORMAT, "JSON export: %d hyperparameters (at most 64)", d->n_hp);
    int idx[64], nh = d->n_hp;
    for (int k = 0; k < nh; k++) { /* every hyperparameter, learning_rate included, by name */
        int j = k;
        while (j > 0 && strcmp(d->hp_names[idx[j - 1]], d->hp_names[k]) > 0) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = k;
    }
    for (int k = 0; k < nh && n >= 0 && (size_t)n < dcap; k++) {
        deepobs_f(hp[idx[k]], v, sizeof v);
        n += snprintf(dir + n, dcap - (size_t)n, "__%s__%s", d->hp_names[idx[k]], v);
    }
    double ep[64], fac[64];
    int ns = sched_of(d->lr_schedule, ep, fac, 64);
    if (ns && n >= 0 && (size_t)n < dcap) {
        py_list(ep, ns, 1, le, sizeof le);
        py_list(fac, ns, 0, lf, sizeof lf);
        n += snprintf(dir + n, dcap - (size_t)n, "__lr_sched_epochs__%s__lr_sched_factors__%s", le, lf);
    }
    int m = snprintf(file, fcap, "%s/random_seed__%lld__%s.json", dir, (long long)seed, mi->stamp);
    if (n < 0 || (size_t)n >= dcap || m < 0 || (size_t)m >= fcap)
        return DOB_FAIL(DOB_EINVAL, "JSON export: path under '%s' longer than %zu bytes", out_dir, fcap - 1);
    return DOB_OK;
}

/* ---- JSON ------------------------------------------------------------------------------------------------ */
static json_t *jnum(double x) { return isfinite(x) ? json_real(x) : json_null(); }

static json_t *jarr(const double *x, int64_t n) {
    json_t *a = json_array();
    for (int64_t i = 0; a && i < n; i++)
        if (json_array_append_new(a, jnum(x[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

typedef struct trial_data {
    double *curves[DOB_N_CURVES]; /* indexed by dob_curve; NULL for the timing ones (not exported) */
    double *hp;
    int64_t seed;
    int32_t status, epochs_done;
} trial_data;

/* The curves in DeepOBS v1.1 key order; valid ones only with a validation split, accuracies only for problems
 * with an accuracy. */
static const dob_curve json_curves[] = {DOB_CURVE_TRAIN_LOSSES,     DOB_CURVE_TEST_LOSSES,
                                        DOB_CURVE_VALID_LOSSES,     DOB_CURVE_MINIBATCH_TRAIN_LOSSES,
                                        DOB_CURVE_TRAIN_ACCURACIES, DOB_CURVE_TEST_ACCURACIES,
                                        DOB_CURVE_VALID_ACCURACIES};

static int exported(int c) { return !(dob_curves[c].flags & DOB_CURVE_TIMING); }

static json_t *build_json(const meta_info *mi, const trial_data *t) {
    json_t *o = json_object(), *hp = json_object();
    int bad = !o || !hp;
    if (!bad) {
        for (size_t k = 0; k < sizeof json_curves / sizeof json_curves[0]; k++) {
            const int c = json_curves[k], fl = dob_curves[c].flags;
            if (((fl & DOB_CURVE_VALID) && !mi->d.has_valid) || ((fl & DOB_CURVE_ACC) && !mi->d.has_accuracy)) continue;
            bad |= json_object_set_new(o, dob_curves[c].name,
                                       jarr(t->curves[c], dob_curve_len(c, mi->d.num_epochs, mi->d.n_minibatch)));
        }
        bad |= json_object_set_new(o, "optimizer", json_string(mi->d.optimizer_deepobs_name));
        bad |= json_object_set_new(o, "testproblem", json_string(mi->d.problem));
        bad |= json_object_set_new(o, "weight_decay", jnum(mi->d.weight_decay));
        bad |= json_object_set_new(o, "batch_size", json_integer(mi->d.batch_size));
        bad |= json_object_set_new(o, "num_epochs", json_integer(mi->d.num_epochs));
        bad |= json_object_set_new(o, "learning_rate", jnum(t->hp[0]));
        bad |= json_object_set_new(o, "lr_sched_epochs", json_null());
        bad |= json_object_set_new(o, "lr_sched_factors", json_null());
        bad |= json_object_set_new(o, "random_seed", json_integer(t->seed));
        bad |= json_object_set_new(o, "train_log_interval", json_integer(mi->d.train_log_interval));
        for (int i = 1; i < mi->d.n_hp; i++) bad |= json_object_set_new(hp, mi->d.hp_names[i], jnum(t->hp[i]));
        bad |= json_object_set_new(o, "hyperparams", hp);
        hp = NULL; /* owned by o now (set_new steals the reference even on failure) */
        if (strcmp(mi->d.precision, "f32")) bad |= json_object_set_new(o, "precision", json_string(mi->d.precision));
        if (strcmp(mi->d.conv_algo, "direct"))
            bad |= json_object_set_new(o, "conv_algo", json_string(mi->d.conv_algo));
    }
    json_decref(hp);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* DeepOBS 1.2's _abort_routine applied to a diverged trial: curve c padded with its epoch-0 value after the last
 * evaluation; the mini-batch losses up to the divergence, then the first one (num_epochs - epochs_done) times. */
static json_t *jarr12(const meta_info *mi, const trial_data *t, int c) {
    const int64_t len = dob_curve_len(c, mi->d.num_epochs, mi->d.n_minibatch);
    const double *x = t->curves[c];
    const int div = t->status == DOB_TRIAL_DIVERGED;
    json_t *a = json_array();
    if (!(dob_curves[c].flags & DOB_CURVE_LOGGED)) {
        for (int64_t i = 0; a && i < len; i++)
            json_array_append_new(a, jnum(div && i > t->epochs_done ? x[0] : x[i]));
        return a;
    }
    int64_t i = 0;
    for (; a && i < len && isfinite(x[i]); i++) json_array_append_new(a, jnum(x[i]));
    for (int64_t k = 0; a && div && len && k < mi->d.num_epochs - t->epochs_done; k++)
        json_array_append_new(a, jnum(x[0]));
    return a;
}

static json_t *training_params(const meta_info *mi) {
    json_t *tp = json_object(), *e = json_array(), *f = json_array();
    double ep[64], fac[64];
    int n = sched_of(mi->d.lr_schedule, ep, fac, 64);
    for (int i = 0; i < n; i++) {
        json_array_append_new(e, json_integer((json_int_t)ep[i]));
        json_array_append_new(f, json_real(fac[i]));
    }
    if (n) {
        json_object_set_new(tp, "lr_sched_epochs", e);
        json_object_set_new(tp, "lr_sched_factors", f);
    } else {
        json_decref(e);
        json_decref(f);
    }
    return tp;
}

static json_t *build_json12(const meta_info *mi, const trial_data *t) {
    static const dob_curve order[] = {DOB_CURVE_TRAIN_LOSSES,     DOB_CURVE_VALID_LOSSES,     DOB_CURVE_TEST_LOSSES,
                                      DOB_CURVE_TRAIN_ACCURACIES, DOB_CURVE_VALID_ACCURACIES, DOB_CURVE_TEST_ACCURACIES,
                                      DOB_CURVE_MINIBATCH_TRAIN_LOSSES};
    json_t *o = json_object(), *hp = json_object();
    int bad = !o || !hp;
    if (!bad) {
        bad |= json_object_set_new(o, "testproblem", json_string(mi->d.problem));
        bad |= json_object_set_new(o, "batch_size", json_integer(mi->d.batch_size));
        bad |= json_object_set_new(o, "num_epochs", json_integer(mi->d.num_epochs));
        bad |= json_object_set_new(o, "random_seed", json_integer(t->seed));
        bad |= json_object_set_new(o, "weight_decay", jnum(mi->d.weight_decay));
        bad |= json_object_set_new(o, "optimizer_name", json_string(mi->d.optimizer_deepobs_name));
        for (int i = 0; i < mi->d.n_hp; i++) bad |= json_object_set_new(hp, mi->d.hp_names[i], jnum(t->hp[i]));
        bad |= json_object_set_new(o, "optimizer_hyperparams", hp);
        hp = NULL; /* owned by o */
        bad |= json_object_set_new(o, "training_params", training_params(mi));
        for (size_t k = 0; k < sizeof order / sizeof order[0]; k++) {
            const int c = order[k], fl = dob_curves[c].flags;
            if (((fl & DOB_CURVE_VALID) && !mi->d.has_valid) || ((fl & DOB_CURVE_ACC) && !mi->d.has_accuracy)) continue;
            bad |= json_object_set_new(o, dob_curves[c].name, jarr12(mi, t, c));
        }
        if (strcmp(mi->d.precision, "f32")) bad |= json_object_set_new(o, "precision", json_string(mi->d.precision));
    }
    json_decref(hp);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static dob_status read_trial(hid_t f, const meta_info *mi, int id, trial_data *t, int full) {
    dob_status st = DOB_OK;
    char p[96];
    snprintf(p, sizeof p, "trials/%d/status", id);
    DOB_TRY(dob_h5_read(f, p, H5T_NATIVE_INT32, 1, &t->status));
    if (t->status != DOB_TRIAL_DONE && t->status != DOB_TRIAL_DIVERGED) return DOB_OK;
    snprintf(p, sizeof p, "trials/%d/random_seed", id);
    DOB_TRY(dob_h5_read(f, p, H5T_NATIVE_INT64, 1, &t->seed));
    snprintf(p, sizeof p, "trials/%d/hyperparameters", id);
    DOB_TRY(dob_h5_read(f, p, H5T_NATIVE_DOUBLE, mi->d.n_hp, t->hp));
    snprintf(p, sizeof p, "trials/%d/epochs_done", id);
    DOB_TRY(dob_h5_read(f, p, H5T_NATIVE_INT32, 1, &t->epochs_done));
    if (t->epochs_done < 0 || t->epochs_done > mi->d.num_epochs) {
        st = DOB_FAIL(DOB_EFORMAT, "/trials/%d/epochs_done %d is not in [0, %lld]", id, (int)t->epochs_done,
                      (long long)mi->d.num_epochs);
        goto fail;
    }
    if (!full) return DOB_OK;
    for (int c = 0; c < DOB_N_CURVES; c++) {
        if (!exported(c)) continue;
        snprintf(p, sizeof p, "trials/%d/%s", id, dob_curves[c].name);
        DOB_TRY(dob_h5_read(f, p, H5T_NATIVE_DOUBLE, dob_curve_len(c, mi->d.num_epochs, mi->d.n_minibatch), t->curves[c]));
    }
fail:
    return st;
}

/* ---- files ----------------------------------------------------------------------------------------------- */
static dob_status mkdir_p(const char *dir) {
    char *p = strdup(dir);
    if (!p) return DOB_FAIL(DOB_ENOMEM, "out of memory");
    dob_status st = DOB_OK;
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != '\0') continue;
        char c = *s;
        *s = '\0';
        struct stat sb;
        if (mkdir(p, 0777) != 0 && (errno != EEXIST || stat(p, &sb) != 0 || !S_ISDIR(sb.st_mode))) {
            st = DOB_FAIL(DOB_EIO, "JSON export: cannot create directory '%s': %s", p,
                          errno == EEXIST ? "exists and is not a directory" : strerror(errno));
            break;
        }
        *s = c;
        if (c == '\0') break;
    }
    free(p);
    return st;
}

static dob_status write_json(const char *file, json_t *o, size_t flags) {
    size_t tl = strlen(file) + 32;
    char *tmp = malloc(tl);
    if (!tmp) return DOB_FAIL(DOB_ENOMEM, "out of memory");
    snprintf(tmp, tl, "%s.tmp-%ld", file, (long)getpid());
    dob_status st = DOB_OK;
    FILE *fp = fopen(tmp, "wx");
    if (!fp) {
        st = DOB_FAIL(DOB_EIO, "JSON export: cannot create '%s': %s", tmp, strerror(errno));
        free(tmp);
        return st;
    }
    int bad = json_dumpf(o, fp, flags | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17)) != 0;
    bad |= fflush(fp) != 0 || ferror(fp);
    bad |= fclose(fp) != 0;
    if (bad) {
        st = DOB_FAIL(DOB_EIO, "JSON export: cannot write '%s' (disk full?): %s", tmp, strerror(errno));
    } else if (link(tmp, file) != 0) {
        if (errno == EEXIST)
            st = DOB_FAIL(DOB_EEXIST, "JSON export: '%s' already exists; refusing to overwrite it", file);
        else {
            struct stat sb;
            if (lstat(file, &sb) == 0)
                st = DOB_FAIL(DOB_EEXIST, "JSON export: '%s' already exists; refusing to overwrite it", file);
            else if (rename(tmp, file) != 0)
                st = DOB_FAIL(DOB_EIO, "JSON export: cannot rename '%s' to '%s': %s", tmp, file, strerror(errno));
        }
    }
    unlink(tmp);
    free(tmp);
    return st;
}

/* ---- export ---------------------------------------------------------------------------------------------- */
typedef struct plan {
    int id;
    char *dir, *file;
} plan;

dob_status dob_results_export_json(const char *h5_path, const char *out_dir, int *n_written) {
    return dob_results_export_json_layout(h5_path, out_dir, 11, n_written);
}

dob_status dob_results_export_json_layout(const char *h5_path, const char *out_dir, int layout, int *n_written) {
    dob_status st = DOB_OK;
    hid_t f = -1;
    meta_info mi;
    trial_data t;
    plan *pl = NULL;
    int n_plan = 0;
    json_t *o = NULL;
    enum { PATH_CAP = 4096 };
    char *dir = malloc(PATH_CAP), *file = malloc(PATH_CAP);
    memset(&mi, 0, sizeof mi);
    memset(&t, 0, sizeof t);
    if (n_written) *n_written = 0;
    dob_h5_quiet();
    if (!dir || !file) {
        st = DOB_FAIL(DOB_ENOMEM, "out of memory");
        goto fail;
    }
    if (layout != 11 && layout != 12) {
        st = DOB_FAIL(DOB_EINVAL, "JSON export: layout must be 1.1 or 1.2, found %d", layout);
        goto fail;
    }
    if (!h5_path || !out_dir || !*out_dir) {
        st = DOB_FAIL(DOB_EINVAL, "JSON export: an HDF5 file and an output directory are required");
        goto fail;
    }
    struct stat sb;
    if (stat(h5_path, &sb) != 0) {
        st = DOB_FAIL(errno == ENOENT ? DOB_ENOENT : DOB_EIO, "cannot read '%s': %s", h5_path, strerror(errno));
        goto fail;
    }
    dob_seal_state seal;
    if ((st = dob_seal_check(h5_path, "result file", 0, &seal, NULL)) != DOB_OK) goto fail;
    if (H5Fis_hdf5(h5_path) <= 0) {
        st = DOB_FAIL(DOB_EFORMAT, "'%s' is not an HDF5 file", h5_path);
        goto fail;
    }
    DOB_H5(f = H5Fopen(h5_path, H5F_ACC_RDONLY, H5P_DEFAULT), "open '%s'", h5_path);
    DOB_TRY(read_meta(f, h5_path, &mi));

    t.hp = malloc(sizeof(double) * (size_t)mi.d.n_hp);
    pl = calloc((size_t)mi.d.n_trials + 1, sizeof *pl);
    int missing = !t.hp || !pl;
    for (int c = 0; c < DOB_N_CURVES; c++)
        if (exported(c))
            missing |= !(t.curves[c] =
                             malloc(sizeof(double) * (size_t)(dob_curve_len(c, mi.d.num_epochs, mi.d.n_minibatch) + 1)));
    if (missing) {
        st = DOB_FAIL(DOB_ENOMEM, "JSON export: out of memory for %lld trials", (long long)mi.d.n_trials);
        goto fail;
    }

    /* Pass 1: every target name; nothing is written if one exists already or two trials collide. */
    for (int id = 0; id < (int)mi.d.n_trials; id++) {
        DOB_TRY(read_trial(f, &mi, id, &t, 0));
        if (t.status != DOB_TRIAL_DONE && t.status != DOB_TRIAL_DIVERGED) continue;
        DOB_TRY((layout == 12 ? trial_paths12 : trial_paths)(&mi, out_dir, t.hp, t.seed, dir, PATH_CAP, file, PATH_CAP));
        if (lstat(file, &sb) == 0) {
            st = DOB_FAIL(DOB_EEXIST, "JSON export: '%s' (trial %d) already exists; refusing to overwrite it "
                                      "(nothing was written)", file, id);
            goto fail;
        }
        for (int k = 0; k < n_plan; k++)
            if (!strcmp(pl[k].file, file)) {
                st = DOB_FAIL(DOB_EEXIST, "JSON export: trials %d and %d map to the same file '%s' (same "
                                          "hyperparameters and seed; nothing was written)", pl[k].id, id, file);
                goto fail;
            }
        pl[n_plan].id = id;
        pl[n_plan].dir = strdup(dir);
        pl[n_plan].file = strdup(file);
        if (!pl[n_plan++].file || !pl[n_plan - 1].dir) {
            st = DOB_FAIL(DOB_ENOMEM, "out of memory");
            goto fail;
        }
    }

    /* Pass 2: write. */
    for (int k = 0; k < n_plan; k++) {
        DOB_TRY(read_trial(f, &mi, pl[k].id, &t, 1));
        o = layout == 12 ? build_json12(&mi, &t) : build_json(&mi, &t);
        if (!o) {
            st = DOB_FAIL(DOB_ENOMEM, "JSON export: cannot build the JSON of trial %d", pl[k].id);
            goto fail;
        }
        DOB_TRY(mkdir_p(pl[k].dir));
        DOB_TRY(write_json(pl[k].file, o, layout == 12 ? JSON_INDENT(4) : 0));
        json_decref(o);
        o = NULL;
        if (n_written) (*n_written)++;
    }
fail:
    json_decref(o);
    for (int k = 0; k < n_plan; k++) {
        free(pl[k].dir);
        free(pl[k].file);
    }
    free(pl);
    for (int c = 0; c < DOB_N_CURVES; c++) free(t.curves[c]);
    free(t.hp);
    dob_meta_free(&mi.d);
    free(mi.hp_order);
    if (f >= 0) H5Fclose(f);
    free(dir);
    free(file);
    if (st != DOB_OK) dob_error_prefix("exporting '%s' to JSON: ", h5_path ? h5_path : "(null)");
    return st;
}
