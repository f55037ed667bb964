/* meta.c: the /meta attributes of a result file (schema in include/dob/results.h), one table row each, read and
 * written by dob_meta_read / dob_meta_write (meta.h).
 *
 * Invariants: rows are written in table order (the order of the schema version 1 files); a row flagged M_SWEEP
 * exists exactly in sweep files (those with sweep_spec); a row flagged M_OPTIONAL was added after the first
 * schema-1 files, so a reader takes its default when it is absent. Integers are stored as int32 or int64 as the
 * row says and read back through int64 (h5py sees numpy ints either way); strings are variable-length UTF-8.
 *
 * It does not: check what the values mean beyond the consistency every reader needs (the JSON export checks its
 * folder names, --resume its precision and schedule), or touch the trials. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "h5util.h"
#include "meta.h"

#define LONG_STR 65536 /* longest string attribute read back (sweep_spec and command_line can be long) */

typedef enum { M_VERSION, M_STR, M_I32, M_I64, M_F64, M_NAMES } meta_kind;
enum { M_SWEEP = 1, M_OPTIONAL = 2 };

typedef struct meta_row {
    const char *name;
    meta_kind kind;
    size_t off;       /* of the field in dob_sweep_desc */
    int flags;        /* M_SWEEP, M_OPTIONAL */
    const char *dflt; /* strings: written for NULL, read when absent (M_OPTIONAL); numbers: 0 */
} meta_row;

#define ROW(name, kind, field, flags, dflt) {name, kind, offsetof(dob_sweep_desc, field), flags, dflt}
static const meta_row rows[] = {
    {"schema_version", M_VERSION, 0, 0, NULL},
    ROW("dob_version", M_STR, dob_version, 0, NULL),
    ROW("git_revision", M_STR, git_revision, 0, NULL),
    ROW("problem", M_STR, problem, 0, NULL),
    ROW("optimizer", M_STR, optimizer, 0, NULL),
    ROW("optimizer_deepobs_name", M_STR, optimizer_deepobs_name, 0, NULL),
    ROW("created", M_STR, created, 0, NULL),
    ROW("hostname", M_STR, hostname, 0, NULL),
    ROW("ranks", M_I32, ranks, 0, NULL),
    ROW("threads", M_I32, threads, 0, NULL),
    ROW("onednn_version", M_STR, onednn_version, 0, NULL),
    ROW("onednn_isa", M_STR, onednn_isa, 0, NULL),
    ROW("batch_size", M_I64, batch_size, 0, NULL),
    ROW("num_epochs", M_I64, num_epochs, 0, NULL),
    ROW("weight_decay", M_F64, weight_decay, 0, NULL),
    ROW("train_log_interval", M_I64, train_log_interval, 0, NULL),
    ROW("hyperparameter_names", M_NAMES, hp_names, 0, NULL),
    ROW("n_trials", M_I32, n_trials, 0, NULL),
    ROW("n_minibatch", M_I64, n_minibatch, 0, NULL),
    ROW("has_accuracy", M_I32, has_accuracy, 0, NULL),
    ROW("has_valid", M_I32, has_valid, 0, NULL),
    ROW("command_line", M_STR, command_line, 0, NULL),
    ROW("precision", M_STR, precision, M_OPTIONAL, "f32"),
    ROW("memory_estimate_bytes", M_I64, memory_estimate_bytes, M_OPTIONAL, NULL),
    ROW("cifar100_fix_offset", M_I32, cifar100_fix_offset, M_OPTIONAL, NULL),
    ROW("conv_algo", M_STR, conv_algo, M_OPTIONAL, "direct"),
    /* sweep files (sweep_spec first: its presence makes a sweep file) */
    ROW("sweep_spec", M_STR, spec, M_SWEEP, NULL),
    ROW("n_trials_total", M_I64, n_trials_total, M_SWEEP, NULL),
    ROW("max_steps", M_I64, max_steps, M_SWEEP, NULL),
    ROW("slice_id", M_I32, slice_id, M_SWEEP, NULL),
    ROW("slice_count", M_I32, slice_count, M_SWEEP, NULL),
    ROW("lr_schedule", M_STR, lr_schedule, M_SWEEP | M_OPTIONAL, ""),
    ROW("sync_bn", M_I32, sync_bn, M_SWEEP | M_OPTIONAL, NULL),
};
#undef ROW
#define N_ROWS (sizeof rows / sizeof rows[0])

#define FIELD(d, row, type) ((type *)((char *)(d) + (row)->off))
#define CFIELD(d, row, type) ((const type *)((const char *)(d) + (row)->off))

/* ---- write ------------------------------------------------------------------------------------------------ */
static dob_status write_row(hid_t g, const meta_row *r, const dob_sweep_desc *d) {
    dob_status st = DOB_OK;
    hid_t t = -1;
    switch (r->kind) {
    case M_VERSION: return dob_h5_put_i32(g, r->name, DOB_RESULTS_SCHEMA_VERSION);
    case M_STR: {
        const char *v = *CFIELD(d, r, char *const);
        return dob_h5_put_str(g, r->name, v ? v : r->dflt);
    }
    case M_I32: return dob_h5_put_i32(g, r->name, *CFIELD(d, r, int));
    case M_I64: return dob_h5_put_i64(g, r->name, *CFIELD(d, r, int64_t));
    case M_F64: return dob_h5_attr_write(g, r->name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, -1, CFIELD(d, r, double));
    case M_NAMES:
        DOB_H5(t = dob_h5_vstr_type(), "string type for /meta %s", r->name);
        st = dob_h5_attr_write(g, r->name, t, t, d->n_hp, d->hp_names);
        break;
    }
fail:
    if (t >= 0) H5Tclose(t);
    return st;
}

dob_status dob_meta_write(hid_t file, const dob_sweep_desc *d) {
    dob_status st = DOB_OK;
    hid_t g = -1, gcpl = -1;
    DOB_H5(gcpl = H5Pcreate(H5P_GROUP_CREATE), "group creation properties");
    DOB_H5(H5Pset_obj_track_times(gcpl, 0), "group creation properties");
    DOB_H5(g = H5Gcreate2(file, "meta", H5P_DEFAULT, gcpl, H5P_DEFAULT), "create group /meta");
    for (size_t i = 0; i < N_ROWS; i++)
        if (!(rows[i].flags & M_SWEEP) || d->spec) DOB_TRY(write_row(g, &rows[i], d));
fail:
    if (g >= 0) H5Gclose(g);
    if (gcpl >= 0) H5Pclose(gcpl);
    return st;
}

/* ---- read ------------------------------------------------------------------------------------------------- */
/* A string attribute (dflt: absent, take this instead) as a malloc'd string. */
static dob_status read_str(hid_t g, const char *name, const char *dflt, const char **out) {
    dob_status st = DOB_OK;
    char *buf = NULL;
    if (dflt) {
        buf = strdup(dflt);
    } else if ((buf = malloc(LONG_STR)) != NULL) {
        st = dob_h5_attr_str(g, name, buf, LONG_STR);
        char *fit = st == DOB_OK ? realloc(buf, strlen(buf) + 1) : NULL;
        if (fit) buf = fit;
    }
    if (!buf) st = DOB_FAIL(DOB_ENOMEM, "out of memory for /meta %s", name);
    if (st != DOB_OK) {
        free(buf);
        buf = NULL;
    }
    *out = buf;
    return st;
}

/* One row into d; absent optional rows take their default. */
static dob_status read_row(hid_t g, const meta_row *r, dob_sweep_desc *d) {
    dob_status st = DOB_OK;
    int64_t v = 0;
    const int absent = (r->flags & M_OPTIONAL) && H5Aexists(g, r->name) <= 0;
    switch (r->kind) {
    case M_VERSION:
        DOB_TRY(dob_h5_attr_i64(g, r->name, &v));
        if (v != DOB_RESULTS_SCHEMA_VERSION)
            return DOB_FAIL(DOB_EFORMAT, "expected schema_version %d, found %lld", DOB_RESULTS_SCHEMA_VERSION,
                            (long long)v);
        break;
    case M_STR: return read_str(g, r->name, absent ? (r->dflt ? r->dflt : "") : NULL, FIELD(d, r, const char *));
    case M_I32:
        if (!absent) DOB_TRY(dob_h5_attr_i64(g, r->name, &v));
        if (v < INT32_MIN || v > INT32_MAX)
            return DOB_FAIL(DOB_EFORMAT, "/meta %s: %lld is out of the int32 range", r->name, (long long)v);
        *FIELD(d, r, int) = (int)v;
        break;
    case M_I64: return absent ? DOB_OK : dob_h5_attr_i64(g, r->name, FIELD(d, r, int64_t));
    case M_F64: return absent ? DOB_OK : dob_h5_attr_f64(g, r->name, FIELD(d, r, double));
    case M_NAMES: {
        char **names = NULL;
        st = dob_h5_attr_strv(g, r->name, &d->n_hp, &names);
        d->hp_names = (const char *const *)names;
        return st;
    }
    }
fail:
    return st;
}

/* What every reader relies on: sizes it allocates by, and the learning rate first. */
static dob_status check_read(dob_sweep_desc *d) {
    d->has_accuracy = d->has_accuracy != 0;
    d->has_valid = d->has_valid != 0;
    d->sync_bn = d->sync_bn != 0;
    if (d->n_trials < 0 || d->n_trials > 100000000 || d->num_epochs < 0 || d->num_epochs > 100000000 ||
        d->n_minibatch < 0 || d->n_minibatch > 1000000000 || d->n_hp < 1 || strcmp(d->hp_names[0], "learning_rate") ||
        (d->spec && d->n_trials_total < d->n_trials))
        return DOB_FAIL(DOB_EFORMAT, "inconsistent /meta: n_trials %d, n_trials_total %lld, num_epochs %lld, "
                                     "n_minibatch %lld, %d hyperparameters (the first must be learning_rate)",
                        d->n_trials, (long long)d->n_trials_total, (long long)d->num_epochs,
                        (long long)d->n_minibatch, d->n_hp);
    return DOB_OK;
}

dob_status dob_meta_read(hid_t file, const char *path, dob_sweep_desc *d) {
    dob_status st = DOB_OK;
    hid_t g = -1;
    if (H5Lexists(file, "meta", H5P_DEFAULT) <= 0)
        return DOB_FAIL(DOB_EFORMAT, "'%s' has no /meta group: not a dob result file", path);
    DOB_H5(g = H5Gopen2(file, "meta", H5P_DEFAULT), "open /meta in '%s'", path);
    const int sweep = H5Aexists(g, "sweep_spec") > 0;
    for (size_t i = 0; i < N_ROWS; i++)
        if (!(rows[i].flags & M_SWEEP) || sweep) DOB_TRY(read_row(g, &rows[i], d));
    DOB_TRY(check_read(d));
fail:
    if (g >= 0) H5Gclose(g);
    if (st != DOB_OK) dob_meta_free(d);
    return st;
}

void dob_meta_free(dob_sweep_desc *d) {
    for (size_t i = 0; i < N_ROWS; i++) {
        const meta_row *r = &rows[i];
        if (r->kind == M_STR) {
            free((void *)*FIELD(d, r, const char *));
            *FIELD(d, r, const char *) = NULL;
        } else if (r->kind == M_NAMES) {
            dob_h5_strv_free((char **)d->hp_names, d->n_hp);
            d->hp_names = NULL;
            d->n_hp = 0;
        }
    }
}
