/* analyze_read.c: the inputs of `dob analyze` as dob_an_run records (dob_an_read_path): dob result and sweep files
 * (every trial, whatever its status), DeepOBS JSON runs, and directory trees of both (DeepOBS's results layout
 * <problem>/<optimizer>/<setting>/random_seed__*.json, and any folder of .h5 files).
 *
 * A dob file's trials keep the file's settings: the optimizer is dob's name of it ("momentum"), the setting adds
 * weight decay, precision and learning-rate schedule when they differ from the defaults. Curves are cut to the
 * evaluations the finished trials of the file hold (a --max_steps run evaluates fewer than num_epochs + 1).
 * JSON files of one folder must be seeds of one setting of one problem and optimizer (DeepOBS's analyzer averages
 * whatever a setting folder holds; mixing is refused here, naming both files), and a DeepOBS setting folder
 * (num_epochs__...) must lie under <problem>/<optimizer> of its files.
 *
 * It does not: aggregate (src/analyze.c), or follow symbolic links to directories (a loop would never end). */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dob/analyze.h"
#include "h5util.h"
#include "meta.h"
#include "seal.h"

#define MAX_JSON_BYTES (256u << 20) /* a DeepOBS run of 10^6 epochs is far below this */

static int ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

/* ---- dob result and sweep files --------------------------------------------------------------------------- */
static dob_status h5_get(hid_t f, int i, const char *name, hid_t type, int64_t n, void *v) {
    char p[96];
    snprintf(p, sizeof p, "trials/%d/%s", i, name);
    return dob_h5_read(f, p, type, n, v);
}

/* weight_decay__..__precision__bf16__lr_schedule__..: what sets the file's runs apart besides hyperparameters. */
static char *h5_extra(const dob_sweep_desc *d) {
    char buf[1024], f[64];
    size_t n = 0;
    buf[0] = '\0';
    if (!isnan(d->weight_decay)) {
        dob_an_float2str(d->weight_decay, f, sizeof f);
        n += (size_t)snprintf(buf, sizeof buf, "weight_decay__%s", f);
    }
    if (d->lr_schedule && d->lr_schedule[0] && n < sizeof buf)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%slr_schedule__%s", n ? "__" : "", d->lr_schedule);
    if (d->precision && strcmp(d->precision, "f32") && n < sizeof buf)
        snprintf(buf + n, sizeof buf - n, "%sprecision__%s", n ? "__" : "", d->precision);
    return strdup(buf);
}

/* The evaluations the file's finished trials hold: epochs_done + 1 of a done trial, else num_epochs + 1. */
static dob_status h5_len(hid_t f, const dob_sweep_desc *d, int64_t *len) {
    dob_status st = DOB_OK;
    *len = -1;
    for (int i = 0; i < d->n_trials; i++) {
        int32_t s = 0, e = 0;
        DOB_TRY(h5_get(f, i, "status", H5T_NATIVE_INT32, 1, &s));
        DOB_TRY(h5_get(f, i, "epochs_done", H5T_NATIVE_INT32, 1, &e));
        if (e < 0 || e > d->num_epochs) {
            st = DOB_FAIL(DOB_EFORMAT, "/trials/%d/epochs_done %d is not in [0, %lld]", i, (int)e, (long long)d->num_epochs);
            goto fail;
        }
        if (s == DOB_TRIAL_DONE && e + 1 > *len) *len = e + 1;
    }
    if (*len < 0) *len = d->num_epochs + 1;
fail:
    return st;
}

static dob_status h5_trial(hid_t f, const char *path, const dob_sweep_desc *d, int i, int64_t len, double *buf,
                           dob_an_run *r) {
    dob_status st = DOB_OK;
    char src[4096];
    int32_t s = 0;
    snprintf(src, sizeof src, "%s trial %d", path, i);
    r->origin = DOB_AN_H5;
    r->source = strdup(src);
    r->problem = strdup(d->problem);
    r->optimizer = strdup(d->optimizer);
    r->extra = h5_extra(d);
    r->hp = malloc(sizeof(double) * (size_t)d->n_hp);
    if (!r->source || !r->problem || !r->optimizer || !r->extra || !r->hp) {
        st = DOB_FAIL(DOB_ENOMEM, "out of memory");
        goto fail;
    }
    r->num_epochs = len - 1;
    r->batch_size = d->batch_size;
    DOB_TRY(h5_get(f, i, "status", H5T_NATIVE_INT32, 1, &s));
    DOB_TRY(h5_get(f, i, "random_seed", H5T_NATIVE_INT64, 1, &r->seed));
    DOB_TRY(h5_get(f, i, "hyperparameters", H5T_NATIVE_DOUBLE, d->n_hp, r->hp));
    if (s < DOB_TRIAL_PENDING || s > DOB_TRIAL_FAILED) {
        st = DOB_FAIL(DOB_EFORMAT, "/trials/%d/status %d is not in [0, 4]", i, (int)s);
        goto fail;
    }
    r->status = (dob_trial_status)s;
    for (int c = 0; c < DOB_AN_N_CURVES; c++) {
        const int fl = dob_curves[c].flags;
        if (((fl & DOB_CURVE_ACC) && !d->has_accuracy) || ((fl & DOB_CURVE_VALID) && !d->has_valid)) continue;
        DOB_TRY(h5_get(f, i, dob_curves[c].name, H5T_NATIVE_DOUBLE, d->num_epochs + 1, buf));
        if (!(r->curve[c] = malloc(sizeof(double) * (size_t)len))) {
            st = DOB_FAIL(DOB_ENOMEM, "out of memory");
            goto fail;
        }
        memcpy(r->curve[c], buf, sizeof(double) * (size_t)len);
    }
    /* hyperparameters: the file's numbers, as text for the setting key in DeepOBS's float format */
    char text[64][64];
    const char *tp[64];
    for (int k = 0; k < d->n_hp && k < 64; k++) {
        dob_an_float2str(r->hp[k], text[k], sizeof text[k]);
        tp[k] = text[k];
    }
    double *v = r->hp;
    r->hp = NULL;
    st = dob_an_run_set_hp(r, d->n_hp, (const char *const *)d->hp_names, tp, v);
    free(v);
    if (st == DOB_OK) st = dob_an_run_finish(r);
fail:
    return st;
}

static dob_status read_h5(const char *path, dob_an_runs *runs) {
    dob_status st = DOB_OK;
    hid_t f = -1;
    dob_sweep_desc d;
    double *buf = NULL;
    dob_an_run r;
    memset(&d, 0, sizeof d);
    memset(&r, 0, sizeof r);
    dob_h5_quiet();
    dob_seal_state seal;
    st = dob_seal_check(path, "result file", 0, &seal, NULL);
    if (st != DOB_OK) return st; /* its message names the file already */
    DOB_H5(f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT), "open '%s'", path);
    DOB_TRY(dob_meta_read(f, path, &d));
    if (d.n_hp > 64) {
        st = DOB_FAIL(DOB_EFORMAT, "%d hyperparameters (at most 64)", d.n_hp);
        goto fail;
    }
    int64_t len = 0;
    DOB_TRY(h5_len(f, &d, &len));
    if (!(buf = malloc(sizeof(double) * (size_t)(d.num_epochs + 1)))) {
        st = DOB_FAIL(DOB_ENOMEM, "out of memory");
        goto fail;
    }
    for (int i = 0; i < d.n_trials; i++) {
        DOB_TRY(h5_trial(f, path, &d, i, len, buf, &r));
        DOB_TRY(dob_an_runs_push(runs, &r));
    }
fail:
    dob_an_run_free(&r);
    free(buf);
    dob_meta_free(&d);
    if (f >= 0) H5Fclose(f);
    if (st != DOB_OK) dob_error_prefix("'%s': ", path);
    return st;
}

/* ---- JSON files ------------------------------------------------------------------------------------------- */
static dob_status read_json(const char *path, const char *folder, dob_an_runs *runs) {
    dob_status st = DOB_OK;
    struct stat sb;
    if (stat(path, &sb) != 0) return DOB_FAIL(DOB_EIO, "cannot read '%s': %s", path, strerror(errno));
    if (sb.st_size > (off_t)MAX_JSON_BYTES)
        return DOB_FAIL(DOB_EFORMAT, "'%s' has %lld bytes, more than a DeepOBS run (%u)", path, (long long)sb.st_size,
                        MAX_JSON_BYTES);
    FILE *fp = fopen(path, "rb");
    if (!fp) return DOB_FAIL(DOB_EIO, "cannot read '%s': %s", path, strerror(errno));
    char *text = malloc((size_t)sb.st_size + 1);
    size_t n = text ? fread(text, 1, (size_t)sb.st_size + 1, fp) : 0;
    int bad = ferror(fp);
    fclose(fp);
    dob_an_run r;
    if (!text) return DOB_FAIL(DOB_ENOMEM, "out of memory reading '%s'", path);
    if (bad) st = DOB_FAIL(DOB_EIO, "cannot read '%s'", path);
    else if ((st = dob_an_json_parse(text, n, path, &r)) == DOB_OK) {
        r.folder = folder ? strdup(folder) : NULL;
        st = folder && !r.folder ? DOB_FAIL(DOB_ENOMEM, "out of memory") : DOB_OK;
        st = st == DOB_OK ? dob_an_runs_push(runs, &r) : st;
        if (st != DOB_OK) dob_an_run_free(&r);
    }
    free(text);
    return st;
}

/* The last component of dir, and of its parent and grandparent (empty if missing). */
static void components(const char *dir, char *c0, char *c1, char *c2, size_t cap) {
    char tmp[4096];
    char *out[3] = {c0, c1, c2};
    snprintf(tmp, sizeof tmp, "%s", dir);
    for (int k = 0; k < 3; k++) {
        size_t l = strlen(tmp);
        while (l > 1 && tmp[l - 1] == '/') tmp[--l] = '\0';
        char *s = strrchr(tmp, '/');
        snprintf(out[k], cap, "%s", s ? s + 1 : tmp);
        if (s) *s = '\0';
        else tmp[0] = '\0';
    }
}

/* The JSON runs [from, runs->n) read from one folder: one setting, under <problem>/<optimizer>/ if DeepOBS's. */
static dob_status check_folder(const dob_an_runs *runs, int from, const char *dir) {
    char set[1024], opt[1024], prob[1024];
    components(dir, set, opt, prob, sizeof set);
    for (int i = from; i < runs->n; i++) {
        const dob_an_run *a = &runs->r[from], *b = &runs->r[i];
        if (strcmp(a->problem, b->problem) || strcmp(a->optimizer, b->optimizer) || strcmp(a->setting, b->setting))
            return DOB_FAIL(DOB_EFORMAT, "setting folder '%s' mixes runs: '%s' is %s %s %s, '%s' is %s %s %s (DeepOBS "
                            "averages a folder's files as seeds of one setting)", dir, a->source, a->problem,
                            a->optimizer, a->hp_show, b->source, b->problem, b->optimizer, b->hp_show);
        if (!strncmp(set, "num_epochs__", 12) && prob[0] && (strcmp(prob, b->problem) || strcmp(opt, b->optimizer)))
            return DOB_FAIL(DOB_EFORMAT, "'%s' is a run of %s / %s but lies in the DeepOBS folder %s/%s: mixed "
                            "problems or optimizers", b->source, b->problem, b->optimizer, prob, opt);
    }
    return DOB_OK;
}

/* The JSON files read from dir itself (not its subfolders), among the runs [from, runs->n), must agree. */
static dob_status check_own(const dob_an_runs *runs, int from, const char *dir) {
    dob_an_run *v = malloc(sizeof *v * (size_t)(runs->n - from + 1));
    if (!v) return DOB_FAIL(DOB_ENOMEM, "out of memory");
    dob_an_runs view = {0, 0, v};
    for (int i = from; i < runs->n; i++)
        if (runs->r[i].folder && !strcmp(runs->r[i].folder, dir)) v[view.n++] = runs->r[i]; /* shallow: read only */
    dob_status st = view.n ? check_folder(&view, 0, dir) : DOB_OK;
    free(v);
    return st;
}

/* ---- paths ------------------------------------------------------------------------------------------------ */
static int is_json_text(const char *path) {
    FILE *fp = fopen(path, "rb");
    int c = ' ';
    while (fp && (c = fgetc(fp)) != EOF && (c == ' ' || c == '\n' || c == '\t' || c == '\r')) {}
    if (fp) fclose(fp);
    return c == '{' || c == '[';
}

static dob_status read_file(const char *path, const char *folder, dob_an_runs *runs) {
    if (ends_with(path, ".json") || is_json_text(path)) return read_json(path, folder, runs);
    unsigned char head[8] = {0};
    FILE *fp = fopen(path, "rb");
    size_t n = fp ? fread(head, 1, sizeof head, fp) : 0;
    if (fp) fclose(fp);
    /* dob's checksum block, or a bare HDF5 signature (refused by the seal check with its own message) */
    if (n == 8 && (!memcmp(head, "dob-seal", 8) || !memcmp(head, "\x89HDF\r\n\x1a\n", 8))) return read_h5(path, runs);
    return DOB_FAIL(DOB_EFORMAT, "'%s' is neither a dob result file (HDF5) nor a DeepOBS JSON run", path);
}

static int cmp_name(const struct dirent **a, const struct dirent **b) { return strcmp((*a)->d_name, (*b)->d_name); }

static dob_status read_dir(const char *dir, dob_an_runs *runs, int *n_files, int *n_skipped, int depth) {
    dob_status st = DOB_OK;
    struct dirent **ent = NULL;
    if (depth > 64) return DOB_FAIL(DOB_EFORMAT, "'%s': directories nested deeper than 64", dir);
    int n = scandir(dir, &ent, NULL, cmp_name), k = 0;
    if (n < 0) return DOB_FAIL(DOB_EIO, "cannot list '%s': %s", dir, strerror(errno));
    const int from = runs->n;
    for (; k < n; k++) {
        const char *name = ent[k]->d_name;
        char p[4096];
        struct stat sb;
        if (name[0] == '.' || snprintf(p, sizeof p, "%s/%s", dir, name) >= (int)sizeof p || lstat(p, &sb) != 0) continue;
        if (S_ISDIR(sb.st_mode)) {
            st = read_dir(p, runs, n_files, n_skipped, depth + 1);
        } else if (S_ISREG(sb.st_mode) && !strstr(name, ".tmp-") && (ends_with(name, ".json") || ends_with(name, ".h5"))) {
            ++*n_files;
            st = ends_with(name, ".json") ? read_json(p, dir, runs) : read_h5(p, runs);
        } else {
            ++*n_skipped;
        }
        if (st != DOB_OK) break;
    }
    for (int j = 0; j < n; j++) free(ent[j]);
    free(ent);
    if (st == DOB_OK) st = check_own(runs, from, dir);
    return st;
}

dob_status dob_an_read_path(const char *path, dob_an_runs *runs, int *n_skipped) {
    struct stat sb;
    int skipped = 0, files = 0;
    if (n_skipped) *n_skipped = 0;
    if (stat(path, &sb) != 0)
        return DOB_FAIL(errno == ENOENT ? DOB_ENOENT : DOB_EIO, "'%s': %s", path, strerror(errno));
    if (S_ISREG(sb.st_mode)) return read_file(path, NULL, runs);
    if (!S_ISDIR(sb.st_mode)) return DOB_FAIL(DOB_EFORMAT, "'%s' is neither a file nor a directory", path);
    const int before = runs->n;
    dob_status st = read_dir(path, runs, &files, &skipped, 0);
    if (n_skipped) *n_skipped = skipped;
    if (st == DOB_OK && runs->n == before)
        st = DOB_FAIL(DOB_ENOENT, "'%s' holds no runs: no dob result files (*.h5) or DeepOBS JSON runs (*.json)%s",
                      path, files ? " with trials" : "");
    return st;
}
