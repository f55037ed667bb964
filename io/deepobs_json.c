/* deepobs_json.c: one DeepOBS JSON run into a dob_an_run (dob_an_json_parse), and DeepOBS's
 * convergence_performance.json (dob_an_thresholds_read_json). Untrusted bytes: tests/fuzz/fuzz_json.c.
 *
 * Layouts (reference deepobs.md §5.1, §5.2):
 *   v1.1 (TensorFlow 1.1, dob export-json --layout 1.1): optimizer, testproblem, weight_decay, batch_size,
 *        num_epochs, learning_rate, lr_sched_epochs, lr_sched_factors, random_seed, train_log_interval,
 *        hyperparams {name: value}, the curves; NaN written as the literal NaN.
 *   v1.2 (TensorFlow and PyTorch 1.2): testproblem, batch_size, num_epochs, random_seed, weight_decay,
 *        optimizer_name, optimizer_hyperparams {learning_rate or lr, ...}, training_params {...}, the curves
 *        (a diverged run padded with its epoch-0 values by the runner).
 * Python's json writes NaN, Infinity and -Infinity as bare literals, which jansson refuses: they are rewritten to
 * null outside strings before parsing, and null in a curve reads as NaN. A run with a non-finite evaluation is
 * diverged; so is a v1.2 run whose every curve ends in a run of its epoch-0 values (the runner's padding).
 * Every curve must have num_epochs + 1 values (DeepOBS's check_output), which catches truncated runs.
 *
 * It does not: walk directories or check folder names (analyze_read.c). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "dob/analyze.h"

/* Copy text with NaN/Infinity/-Infinity outside strings replaced by null (malloc'd, NUL-terminated). */
static char *nan_to_null(const char *t, size_t n, size_t *out_n) {
    char *o = malloc(n + n / 3 + 8);
    if (!o) return NULL;
    size_t k = 0;
    int in_str = 0;
    for (size_t i = 0; i < n; i++) {
        const char c = t[i];
        if (in_str) {
            o[k++] = c;
            if (c == '\\' && i + 1 < n) o[k++] = t[++i];
            else if (c == '"') in_str = 0;
            continue;
        }
        const char *lit = NULL;
        if (c == 'N' && n - i >= 3 && !memcmp(t + i, "NaN", 3)) lit = "NaN";
        else if (c == 'I' && n - i >= 8 && !memcmp(t + i, "Infinity", 8)) lit = "Infinity";
        else if (c == '-' && n - i >= 9 && !memcmp(t + i, "-Infinity", 9)) lit = "-Infinity";
        if (lit) {
            memcpy(o + k, "null", 4);
            k += 4;
            i += strlen(lit) - 1;
            continue;
        }
        in_str = c == '"';
        o[k++] = c;
    }
    o[k] = '\0';
    *out_n = k;
    return o;
}

/* ---- fields ----------------------------------------------------------------------------------------------- */
static dob_status get_int(json_t *o, const char *key, const char *name, int64_t lo, int64_t hi, int64_t *v) {
    json_t *x = json_object_get(o, key);
    if (!json_is_integer(x) || json_integer_value(x) < lo || json_integer_value(x) > hi)
        return DOB_FAIL(DOB_EFORMAT, "%s: expected \"%s\" an integer in [%lld, %lld]", name, key, (long long)lo,
                        (long long)hi);
    *v = json_integer_value(x);
    return DOB_OK;
}

static dob_status get_str(json_t *o, const char *key, const char *name, char **v) {
    json_t *x = json_object_get(o, key);
    if (!json_is_string(x) || !json_string_length(x))
        return DOB_FAIL(DOB_EFORMAT, "%s: expected \"%s\" a non-empty string", name, key);
    if (!(*v = strdup(json_string_value(x)))) return DOB_FAIL(DOB_ENOMEM, "out of memory");
    return DOB_OK;
}

/* Curve key (absent: NULL, unless required): num_epochs + 1 numbers or nulls (NaN). */
static dob_status get_curve(json_t *o, const char *key, const char *name, int64_t len, int required, double **v) {
    json_t *a = json_object_get(o, key);
    if (!a && !required) return DOB_OK;
    if (!json_is_array(a)) return DOB_FAIL(DOB_EFORMAT, "%s: expected \"%s\", a list of numbers", name, key);
    if ((int64_t)json_array_size(a) != len)
        return DOB_FAIL(DOB_EFORMAT, "%s: \"%s\" has %zu values, expected num_epochs + 1 = %lld (truncated run?)", name,
                        key, json_array_size(a), (long long)len);
    if (!(*v = malloc(sizeof(double) * (size_t)(len + 1)))) return DOB_FAIL(DOB_ENOMEM, "out of memory");
    for (int64_t i = 0; i < len; i++) {
        json_t *x = json_array_get(a, (size_t)i);
        if (json_is_null(x)) (*v)[i] = NAN;
        else if (json_is_number(x)) (*v)[i] = json_number_value(x);
        else return DOB_FAIL(DOB_EFORMAT, "%s: \"%s\"[%lld] is not a number", name, key, (long long)i);
    }
    return DOB_OK;
}

/* A hyperparameter value as text (numbers %.10g, DeepOBS float2str for floats in keys) and as a number. */
static char *value_text(json_t *x, double *num) {
    char buf[64];
    *num = NAN;
    if (json_is_number(x)) {
        *num = json_number_value(x);
        if (json_is_integer(x)) snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(x));
        else dob_an_float2str(*num, buf, sizeof buf);
        return strdup(buf);
    }
    if (json_is_true(x) || json_is_false(x)) return strdup(json_is_true(x) ? "True" : "False");
    if (json_is_string(x)) return strdup(json_string_value(x));
    if (json_is_null(x)) return strdup("None");
    return json_dumps(x, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

/* The members of object h (plus lr if not NULL) as the run's hyperparameters. */
static dob_status take_hp(json_t *h, json_t *lr, const char *name, dob_an_run *r) {
    dob_status st = DOB_OK;
    const size_t n = json_object_size(h) + (lr != NULL);
    const char **names = calloc(n + 1, sizeof(char *));
    char **text = calloc(n + 1, sizeof(char *));
    double *v = calloc(n + 1, sizeof(double));
    if (!names || !text || !v) {
        st = DOB_FAIL(DOB_ENOMEM, "out of memory");
        goto fail;
    }
    size_t k = 0;
    const char *key;
    json_t *x;
    json_object_foreach(h, key, x) names[k++] = key;
    if (lr) names[k++] = "learning_rate";
    qsort(names, k, sizeof *names, cmp_str);
    for (size_t j = 0; j < k; j++) {
        json_t *val = lr && !strcmp(names[j], "learning_rate") && !json_object_get(h, "learning_rate")
                          ? lr : json_object_get(h, names[j]);
        if (!(text[j] = value_text(val, &v[j]))) {
            st = DOB_FAIL(DOB_ENOMEM, "out of memory");
            goto fail;
        }
    }
    st = dob_an_run_set_hp(r, (int)k, names, (const char *const *)text, v);
fail:
    for (size_t j = 0; text && j < n; j++) free(text[j]);
    free(names);
    free(text);
    free(v);
    if (st != DOB_OK) dob_error_prefix("%s: ", name);
    return st;
}

/* Settings besides the hyperparameters: weight decay, schedule / training parameters, dob's precision. */
static dob_status take_extra(json_t *o, int v12, dob_an_run *r) {
    char buf[1024], f[64];
    size_t n = 0;
    buf[0] = '\0';
    json_t *wd = json_object_get(o, "weight_decay");
    if (json_is_number(wd)) {
        dob_an_float2str(json_number_value(wd), f, sizeof f);
        n += (size_t)snprintf(buf + n, sizeof buf - n, "weight_decay__%s", f);
    }
    json_t *tp = v12 ? json_object_get(o, "training_params") : o;
    static const char *const sched[2] = {"lr_sched_epochs", "lr_sched_factors"};
    for (int k = 0; k < 2 && json_is_object(tp); k++) {
        json_t *x = json_object_get(tp, sched[k]);
        char *s = x && !json_is_null(x) ? json_dumps(x, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
        if (s && n < sizeof buf) n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s__%s", n ? "__" : "", sched[k], s);
        free(s);
    }
    json_t *pr = json_object_get(o, "precision");
    if (json_is_string(pr) && n < sizeof buf)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%sprecision__%s", n ? "__" : "", json_string_value(pr));
    if (n >= sizeof buf) return DOB_FAIL(DOB_EFORMAT, "%s: training parameters too long", r->source);
    if (!(r->extra = strdup(buf))) return DOB_FAIL(DOB_ENOMEM, "out of memory");
    return DOB_OK;
}

/* ---- status ----------------------------------------------------------------------------------------------- */
/* Diverged: a non-finite evaluation, or (v1.2) every curve ends in a copy of its epoch-0 value from one epoch on. */
static dob_trial_status status_of(const dob_an_run *r, int v12) {
    const int64_t len = r->num_epochs + 1;
    for (int c = 0; c < DOB_AN_N_CURVES; c++)
        for (int64_t i = 0; r->curve[c] && i < len; i++)
            if (!isfinite(r->curve[c][i])) return DOB_TRIAL_DIVERGED;
    if (!v12 || len < 2) return DOB_TRIAL_DONE;
    int64_t from = 1; /* the earliest epoch from which every curve equals its epoch-0 value */
    for (int c = 0; c < DOB_AN_N_CURVES; c++) {
        if (!r->curve[c]) continue;
        int64_t k = len;
        while (k > 1 && r->curve[c][k - 1] == r->curve[c][0]) k--;
        if (k > from) from = k;
    }
    return from < len ? DOB_TRIAL_DIVERGED : DOB_TRIAL_DONE;
}

/* ---- one run ---------------------------------------------------------------------------------------------- */
static dob_status parse_obj(json_t *o, const char *name, dob_an_run *r) {
    dob_status st = DOB_OK;
    const int v12 = json_object_get(o, "optimizer_name") != NULL;
    if (!v12 && !(json_object_get(o, "optimizer") && json_object_get(o, "learning_rate")))
        return DOB_FAIL(DOB_EFORMAT, "%s: not a DeepOBS run: neither \"optimizer_name\" (DeepOBS 1.2) nor "
                        "\"optimizer\" and \"learning_rate\" (DeepOBS 1.1)", name);
    r->origin = v12 ? DOB_AN_JSON_V12 : DOB_AN_JSON_V11;
    if (!(r->source = strdup(name))) return DOB_FAIL(DOB_ENOMEM, "out of memory");
    DOB_TRY(get_str(o, "testproblem", name, &r->problem));
    DOB_TRY(get_str(o, v12 ? "optimizer_name" : "optimizer", name, &r->optimizer));
    DOB_TRY(get_int(o, "num_epochs", name, 0, 1000000, &r->num_epochs));
    DOB_TRY(get_int(o, "batch_size", name, 1, INT64_MAX / 2, &r->batch_size));
    DOB_TRY(get_int(o, "random_seed", name, INT64_MIN / 2, INT64_MAX / 2, &r->seed));
    for (int c = 0; c < DOB_AN_N_CURVES; c++)
        DOB_TRY(get_curve(o, dob_curves[c].name, name, r->num_epochs + 1,
                          c == DOB_CURVE_TRAIN_LOSSES || c == DOB_CURVE_TEST_LOSSES, &r->curve[c]));
    json_t *h = json_object_get(o, v12 ? "optimizer_hyperparams" : "hyperparams");
    if (h && !json_is_object(h))
        return DOB_FAIL(DOB_EFORMAT, "%s: \"%s\" is not an object", name, v12 ? "optimizer_hyperparams" : "hyperparams");
    json_t *lr = v12 ? NULL : json_object_get(o, "learning_rate");
    if (lr && !json_is_number(lr)) return DOB_FAIL(DOB_EFORMAT, "%s: \"learning_rate\" is not a number", name);
    json_t *empty = h ? NULL : json_object();
    st = take_hp(h ? h : empty, lr, name, r);
    json_decref(empty);
    if (st != DOB_OK) return st;
    DOB_TRY(take_extra(o, v12, r));
    r->status = status_of(r, v12);
    DOB_TRY(dob_an_run_finish(r));
fail:
    return st;
}

dob_status dob_an_json_parse(const char *text, size_t n, const char *name, dob_an_run *r) {
    memset(r, 0, sizeof *r);
    size_t m = 0;
    char *clean = nan_to_null(text, n, &m);
    if (!clean) return DOB_FAIL(DOB_ENOMEM, "out of memory for %s", name);
    json_error_t err;
    json_t *o = json_loadb(clean, m, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);
    free(clean);
    dob_status st;
    if (!o)
        st = DOB_FAIL(DOB_EFORMAT, "%s: not valid JSON (truncated?): %s at line %d column %d", name, err.text,
                      err.line, err.column);
    else if (!json_is_object(o))
        st = DOB_FAIL(DOB_EFORMAT, "%s: not a DeepOBS run (expected a JSON object)", name);
    else
        st = parse_obj(o, name, r);
    json_decref(o);
    if (st != DOB_OK) dob_an_run_free(r);
    return st;
}

/* ---- convergence_performance.json ------------------------------------------------------------------------- */
dob_status dob_an_thresholds_read_json(const char *path, dob_an_thresholds *t) {
    json_error_t err;
    json_t *o = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
    if (!o) {
        if (errno == ENOENT && err.line < 0)
            return DOB_FAIL(DOB_ENOENT, "convergence thresholds '%s': no such file", path);
        return DOB_FAIL(DOB_EFORMAT, "convergence thresholds '%s': not valid JSON: %s at line %d", path, err.text,
                        err.line);
    }
    dob_status st = DOB_OK;
    const char *key;
    json_t *x;
    if (!json_is_object(o))
        st = DOB_FAIL(DOB_EFORMAT, "convergence thresholds '%s': expected an object {\"problem\": number}", path);
    json_object_foreach(o, key, x) {
        if (st != DOB_OK) break;
        if (!json_is_number(x) || !isfinite(json_number_value(x)))
            st = DOB_FAIL(DOB_EFORMAT, "convergence thresholds '%s': \"%s\" is not a number", path, key);
        else
            st = dob_an_thresholds_set(t, key, json_number_value(x));
    }
    json_decref(o);
    return st;
}
