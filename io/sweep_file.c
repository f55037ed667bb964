/* sweep_file.c: reading sweep files (dob_results_read_sweep) and merging the slice files of one sweep
 * (dob_results_merge); the sweep objects of the schema are described in include/dob/results.h.
 *
 * Reading is serial with the default HDF5 driver and read-only, so it works on a file a running (or killed)
 * sweep still has open: the sweep flushed all metadata at creation and afterwards changes raw data only.
 * Merging writes through the public results API (dob_results_create_sweep with a temporary name, then
 * dob_results_write_trial per trial on rank 0), so it follows the same collective rules as a sweep.
 *
 * Invariants of a merge: every input passes the same checks (problem, optimizer, batch size, epochs, log
 * interval, weight decay, hyperparameter names, mini-batch log length, max_steps, sweep_spec, n_trials_total);
 * all conflicts are found before the output file is created, so a refused merge leaves no file.
 *
 * It does not: merge files of different sweeps, merge `dob run` files (they have no trial ids), or pick
 * between two finished copies of a trial that differ (that is an error naming both files). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dob/results.h"
#include "dob/sweep.h"
#include "h5util.h"
#include "meta.h"
#include "seal.h"
#include "trial_sum.h"

/* ---- reading one sweep file ------------------------------------------------------------------------------- */
void dob_sweep_desc_free(dob_sweep_desc *d) {
    if (!d) return;
    dob_meta_free(d);
    free(d->trial_ids);
    free(d->seeds);
    free(d->hp);
    free(d->status);
    free(d->run_count);
    free(d->epochs_done);
    free(d->final_test_loss);
    free(d->final_test_acc);
    free(d->final_train_loss);
    free(d->damaged);
    memset(d, 0, sizeof *d);
}

static dob_status read_meta(hid_t f, const char *path, dob_sweep_desc *d) {
    dob_status st = dob_meta_read(f, path, d);
    if (st != DOB_OK) return st;
    if (!d->spec)
        return DOB_FAIL(DOB_EFORMAT, "a dob result file but not a sweep file (no /meta sweep_spec; `dob run` "
                                     "writes those)");
    return DOB_OK;
}

static dob_status read_scalar(hid_t f, int i, const char *name, hid_t type, void *v) {
    char p[64];
    snprintf(p, sizeof p, "trials/%d/%s", i, name);
    return dob_h5_read(f, p, type, 1, v);
}
static dob_status read_array(hid_t f, int i, const char *name, int64_t n, double *v) {
    char p[64];
    snprintf(p, sizeof p, "trials/%d/%s", i, name);
    return dob_h5_read(f, p, H5T_NATIVE_DOUBLE, n, v);
}

static dob_status expand_spec(const dob_sweep_desc *d, double **hp, int64_t **seeds);

/* Whether trial i's id, seed and hyperparameters are the ones the sweep_spec gives its id (*spec_hp and
 * *spec_seeds: the expanded spec, made on first use). */
static dob_status identity_intact(const dob_sweep_desc *d, int i, double **spec_hp, int64_t **spec_seeds,
                                  int *intact) {
    dob_status st = *spec_hp ? DOB_OK : expand_spec(d, spec_hp, spec_seeds);
    if (st != DOB_OK) return st;
    const int64_t id = d->trial_ids[i];
    *intact = id >= 0 && id < d->n_trials_total && (*spec_seeds)[id] == d->seeds[i] &&
              !memcmp(*spec_hp + (size_t)id * (size_t)d->n_hp, d->hp + (size_t)i * (size_t)d->n_hp,
                      sizeof(double) * (size_t)d->n_hp);
    return DOB_OK;
}

/* A trial that is not running must match its checksum (trial_sum.h). With DAMAGED_AS_PENDING one that does not
 * is flagged and made pending, so that --resume runs it again, if its identity is still the one the sweep_spec
 * gives it (else it could only run with damaged hyperparameters: refused). */
static dob_status check_sum(hid_t f, int i, int flags, dob_sweep_desc *d, double **spec_hp, int64_t **spec_seeds) {
    if (d->status[i] == DOB_TRIAL_RUNNING) return DOB_OK;
    dob_status st = dob_trial_verify(f, i, (int32_t)d->status[i]);
    if (st != DOB_EFORMAT || !(flags & DOB_SWEEP_READ_DAMAGED_AS_PENDING)) return st;
    int intact = 0;
    st = identity_intact(d, i, spec_hp, spec_seeds, &intact);
    if (st != DOB_OK || !intact)
        return DOB_FAIL(DOB_EFORMAT, "trial /trials/%d: its data do not match their checksum, and its id, seed "
                        "and hyperparameters %s, so it cannot be run again from this file (the file was damaged)",
                        i, st != DOB_OK ? "cannot be checked against the sweep_spec" : "differ from the sweep_spec's");
    d->damaged[i] = 1;
    d->n_damaged++;
    d->status[i] = DOB_TRIAL_PENDING;
    d->epochs_done[i] = 0;
    return DOB_OK;
}

dob_status dob_results_read_sweep(const char *path, dob_sweep_desc *d) {
    return dob_results_read_sweep_ex(path, 0, d);
}

dob_status dob_results_read_sweep_ex(const char *path, int flags, dob_sweep_desc *d) {
    dob_status st = DOB_OK;
    hid_t f = -1;
    double *curve = NULL, *spec_hp = NULL;
    int64_t *spec_seeds = NULL;
    memset(d, 0, sizeof *d);
    dob_h5_quiet();
    struct stat sb;
    if (!path || stat(path, &sb) != 0)
        return DOB_FAIL(path && errno == ENOENT ? DOB_ENOENT : DOB_EIO, "sweep file '%s': %s", path ? path : "",
                        path ? strerror(errno) : "no path");
    if (!S_ISREG(sb.st_mode)) return DOB_FAIL(DOB_EFORMAT, "sweep file '%s' is not a regular file", path);
    dob_seal_state seal;
    st = dob_seal_check(path, "sweep file", 0, &seal, NULL);
    if (st != DOB_OK) return st; /* its message names the file already */
    if (H5Fis_hdf5(path) <= 0) return DOB_FAIL(DOB_EFORMAT, "'%s' is not an HDF5 file", path);
    DOB_H5(f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT), "open '%s'", path);
    DOB_TRY(read_meta(f, path, d));
    size_t n = (size_t)d->n_trials + 1;
    d->trial_ids = malloc(n * sizeof(int64_t));
    d->seeds = malloc(n * sizeof(int64_t));
    d->hp = malloc(n * (size_t)d->n_hp * sizeof(double));
    d->status = malloc(n * sizeof(dob_trial_status));
    d->run_count = malloc(n * sizeof(int32_t));
    d->epochs_done = malloc(n * sizeof(int32_t));
    d->final_test_loss = malloc(n * sizeof(double));
    d->final_test_acc = malloc(n * sizeof(double));
    d->final_train_loss = malloc(n * sizeof(double));
    d->damaged = calloc(n, 1);
    curve = malloc((size_t)(d->num_epochs + 1) * sizeof(double));
    if (!d->damaged || !d->trial_ids || !d->seeds || !d->hp || !d->status || !d->run_count || !d->epochs_done ||
        !d->final_test_loss || !d->final_test_acc || !d->final_train_loss || !curve) {
        st = DOB_FAIL(DOB_ENOMEM, "out of memory for %d trials", d->n_trials);
        goto fail;
    }
    for (int i = 0; i < d->n_trials; i++) {
        int32_t s = 0;
        DOB_TRY(read_scalar(f, i, "trial_id", H5T_NATIVE_INT64, &d->trial_ids[i]));
        DOB_TRY(read_scalar(f, i, "random_seed", H5T_NATIVE_INT64, &d->seeds[i]));
        DOB_TRY(read_scalar(f, i, "status", H5T_NATIVE_INT32, &s));
        DOB_TRY(read_scalar(f, i, "run_count", H5T_NATIVE_INT32, &d->run_count[i]));
        DOB_TRY(read_scalar(f, i, "epochs_done", H5T_NATIVE_INT32, &d->epochs_done[i]));
        DOB_TRY(read_array(f, i, "hyperparameters", d->n_hp, d->hp + (size_t)i * (size_t)d->n_hp));
        d->status[i] = (dob_trial_status)s;
        if (s >= DOB_TRIAL_PENDING && s <= DOB_TRIAL_FAILED) { /* first: a damaged value names the trial */
            DOB_TRY(check_sum(f, i, flags, d, &spec_hp, &spec_seeds));
            s = (int32_t)d->status[i];
        }
        if (s < DOB_TRIAL_PENDING || s > DOB_TRIAL_FAILED || d->trial_ids[i] < 0 ||
            d->trial_ids[i] >= d->n_trials_total || d->epochs_done[i] < 0 || d->epochs_done[i] > d->num_epochs) {
            st = DOB_FAIL(DOB_EFORMAT, "/trials/%d: status %d, trial_id %lld or epochs_done %d out of range", i,
                          (int)s, (long long)d->trial_ids[i], (int)d->epochs_done[i]);
            goto fail;
        }
        int e = d->epochs_done[i];
        const int finals[3] = {DOB_CURVE_TEST_LOSSES, DOB_CURVE_TEST_ACCURACIES, DOB_CURVE_TRAIN_LOSSES};
        double *to[3] = {&d->final_test_loss[i], &d->final_test_acc[i], &d->final_train_loss[i]};
        for (int k = 0; k < 3; k++) {
            DOB_TRY(read_array(f, i, dob_curves[finals[k]].name, d->num_epochs + 1, curve));
            *to[k] = curve[e];
        }
    }
fail:
    free(curve);
    free(spec_hp);
    free(spec_seeds);
    if (f >= 0) H5Fclose(f);
    if (st != DOB_OK) {
        dob_sweep_desc_free(d);
        dob_error_prefix("sweep file '%s': ", path);
    }
    return st;
}

/* ---- one trial's full data (for merging) ------------------------------------------------------------------ */
typedef struct tbuf {
    double *c[DOB_N_CURVES], phase[5]; /* indexed by dob_curve */
    int64_t len[DOB_N_CURVES];
} tbuf;

static void tbuf_free(tbuf *t) {
    for (int k = 0; k < DOB_N_CURVES; k++) free(t->c[k]);
    memset(t, 0, sizeof *t);
}

static dob_status tbuf_alloc(tbuf *t, const dob_sweep_desc *d) {
    memset(t, 0, sizeof *t);
    for (int k = 0; k < DOB_N_CURVES; k++) {
        t->len[k] = dob_curve_len(k, d->num_epochs, d->n_minibatch);
        t->c[k] = malloc(sizeof(double) * (size_t)(t->len[k] + 1));
        if (!t->c[k]) {
            tbuf_free(t);
            return DOB_FAIL(DOB_ENOMEM, "out of memory");
        }
    }
    return DOB_OK;
}

static dob_status tbuf_read(hid_t f, int i, tbuf *t) {
    dob_status st = DOB_OK;
    for (int k = 0; k < DOB_N_CURVES; k++) DOB_TRY(read_array(f, i, dob_curves[k].name, t->len[k], t->c[k]));
    DOB_TRY(read_array(f, i, "phase_seconds", 5, t->phase));
fail:
    return st;
}

/* Same results (timings excluded); NaN equals NaN. */
static int tbuf_same(const tbuf *a, const tbuf *b) {
    for (int k = 0; k < DOB_N_CURVES; k++)
        for (int64_t j = 0; j < a->len[k] && !(dob_curves[k].flags & DOB_CURVE_TIMING); j++) {
            double x = a->c[k][j], y = b->c[k][j];
            if (!(x == y || (isnan(x) && isnan(y)))) return 0;
        }
    return 1;
}

/* ---- merge ------------------------------------------------------------------------------------------------ */
static int same_double(double a, double b) { return a == b || (isnan(a) && isnan(b)); }

/* Do inputs a and b describe the same sweep? The message names what differs. */
static dob_status check_same_sweep(const dob_sweep_desc *a, const char *pa, const dob_sweep_desc *b,
                                   const char *pb) {
    const char *what = NULL;
    char va[160] = "", vb[160] = "";
#define DIFF_STR(field, name)                                                            \
    if (!what && strcmp(a->field, b->field)) {                                           \
        what = name;                                                                     \
        snprintf(va, sizeof va, "%.150s", a->field);                                     \
        snprintf(vb, sizeof vb, "%.150s", b->field);                                     \
    }
#define DIFF_I64(field, name)                                                            \
    if (!what && a->field != b->field) {                                                 \
        what = name;                                                                     \
        snprintf(va, sizeof va, "%lld", (long long)a->field);                            \
        snprintf(vb, sizeof vb, "%lld", (long long)b->field);                            \
    }
    DIFF_STR(problem, "problem")
    DIFF_STR(optimizer, "optimizer")
    DIFF_I64(batch_size, "batch size")
    DIFF_I64(num_epochs, "num_epochs")
    DIFF_I64(max_steps, "max_steps")
    DIFF_I64(train_log_interval, "train_log_interval")
    DIFF_I64(n_minibatch, "mini-batch log length")
    DIFF_I64(has_valid, "validation split")
    DIFF_I64(n_trials_total, "number of trials in the sweep")
    DIFF_I64(n_hp, "number of hyperparameters")
    if (!what && !same_double(a->weight_decay, b->weight_decay)) {
        what = "weight decay";
        snprintf(va, sizeof va, "%g", a->weight_decay);
        snprintf(vb, sizeof vb, "%g", b->weight_decay);
    }
    for (int k = 0; !what && k < a->n_hp; k++) DIFF_STR(hp_names[k], "hyperparameter names")
    DIFF_STR(spec, "grid (sweep_spec)")
    DIFF_STR(lr_schedule, "learning-rate schedule")
    DIFF_I64(sync_bn, "sync-BN")
    DIFF_STR(precision, "precision")
    DIFF_STR(conv_algo, "convolution algorithm (--conv-algo)")
    DIFF_I64(cifar100_fix_offset, "--cifar100-fix-offset")
#undef DIFF_STR
#undef DIFF_I64
    if (what)
        return DOB_FAIL(DOB_EINVAL, "'%s' and '%s' are not slices of the same sweep: %s differs ('%s' vs '%s')", pa,
                        pb, what, va, vb);
    return DOB_OK;
}

typedef struct entry {
    int64_t gid;
    int file, idx;
} entry;

static int cmp_entry(const void *x, const void *y) {
    const entry *a = x, *b = y;
    if (a->gid != b->gid) return a->gid < b->gid ? -1 : 1;
    return (a->file > b->file) - (a->file < b->file);
}

/* ---- trials in none of the inputs (issue 14: a merge missing a slice lost them silently) -------------------- */
/* "ids 3..5, 9" (the first few ranges) of the ids in [0, total) that no pick holds; picks ascend by gid. */
static void describe_missing(const entry *pick, int n_pick, int64_t total, char *buf, size_t cap) {
    size_t n = 0;
    int ranges = 0, k = 0;
    buf[0] = '\0';
    for (int64_t g = 0; g < total && ranges < 8;) {
        while (k < n_pick && pick[k].gid < g) k++;
        if (k < n_pick && pick[k].gid == g) {
            g++;
            continue;
        }
        int64_t end = k < n_pick ? pick[k].gid : total; /* [g, end) missing */
        if (end - g == 1) n += (size_t)snprintf(buf + n, cap - n, "%s%lld", ranges ? ", " : "", (long long)g);
        else n += (size_t)snprintf(buf + n, cap - n, "%s%lld..%lld", ranges ? ", " : "", (long long)g,
                                  (long long)end - 1);
        if (n >= cap) return;
        ranges++;
        g = end;
    }
    if (ranges == 8) snprintf(buf + n, cap - n, ", ...");
}

/* The slice files a job-array sweep lacks: "slice 1 of 2 (FILE.slice1.h5) missing?" or "". */
static void describe_slices(const dob_sweep_desc *d, int n_in, char *buf, size_t cap) {
    buf[0] = '\0';
    int count = d[0].slice_count;
    if (count < 1 || count > 100000) return;
    size_t n = 0;
    int listed = 0;
    for (int s = 0; s < count && listed < 8; s++) {
        int have = 0;
        for (int k = 0; k < n_in; k++) have |= d[k].slice_id == s && d[k].slice_count == count;
        if (!have) n += (size_t)snprintf(buf + n, cap - n, "%s%d", listed++ ? ", " : "", s);
        if (n >= cap) return;
    }
    if (listed)
        snprintf(buf + n, cap - n, " of %d %s (FILE.slice<i>.h5 of the job array)", count,
                 listed == 1 ? "is not among the inputs" : "are not among the inputs");
}

/* Rebuild every trial's hyperparameters and seed from the sweep_spec (src/sweep_search.c: the expansion `dob
 * sweep` ran, grids and random-search samples alike): what a missing trial would have run. */
static dob_status expand_spec(const dob_sweep_desc *d, double **hp, int64_t **seeds) {
    dob_status st = DOB_OK;
    int64_t n = 0;
    DOB_TRY(dob_sweep_spec_expand(d->spec, d->n_hp, (const char *const *)d->hp_names, hp, seeds, &n));
    if (n != d->n_trials_total) {
        free(*hp), free(*seeds);
        *hp = NULL, *seeds = NULL;
        return DOB_FAIL(DOB_EFORMAT, "sweep_spec '%s' expands to %lld trials, the file says %lld", d->spec,
                        (long long)n, (long long)d->n_trials_total);
    }
fail:
    return st;
}

/* Picks plus one pending entry (file -1, idx = global id) per missing trial, ascending; *all malloc'd. */
static dob_status fill_missing(const entry *pick, int n_pick, int64_t total, entry **all, int *n_all) {
    entry *v = malloc(sizeof *v * (size_t)(total + 1));
    if (!v) return DOB_FAIL(DOB_ENOMEM, "out of memory for %lld trials", (long long)total);
    int k = 0, m = 0;
    for (int64_t g = 0; g < total; g++) {
        if (k < n_pick && pick[k].gid == g) v[m++] = pick[k++];
        else v[m++] = (entry){g, -1, (int)g};
    }
    *all = v;
    *n_all = m;
    return DOB_OK;
}

static int finished(dob_trial_status s) { return s == DOB_TRIAL_DONE || s == DOB_TRIAL_DIVERGED; }
/* done/diverged > failed > running > pending */
static int rank_of(dob_trial_status s) {
    return finished(s) ? 3 : s == DOB_TRIAL_FAILED ? 2 : s == DOB_TRIAL_RUNNING ? 1 : 0;
}

/* ---- merge: the state and its phases ----------------------------------------------------------------------- */
typedef struct merge {
    const char *out;
    int n_in;
    const char *const *in;
    dob_sweep_desc *d;                  /* the inputs' descriptions */
    hid_t *fh;                          /* the inputs, open read-only */
    entry *e, *pick;                    /* every (global id, file, index); the one kept per global id */
    int n_e, n_pick, n_missing, n_finished, nh;
    int64_t *ids, *seeds, *full_seeds;  /* the output's identities; the whole sweep's seeds (missing trials) */
    double *hp, *full_hp;
    tbuf ta, tb;
} merge;

static void merge_free(merge *m) {
    tbuf_free(&m->ta);
    tbuf_free(&m->tb);
    if (m->fh)
        for (int k = 0; k < m->n_in; k++)
            if (m->fh[k] >= 0) H5Fclose(m->fh[k]);
    if (m->d)
        for (int k = 0; k < m->n_in; k++) dob_sweep_desc_free(&m->d[k]);
    free(m->d);
    free(m->fh);
    free(m->e);
    free(m->pick);
    free(m->full_hp);
    free(m->full_seeds);
    free(m->ids);
    free(m->seeds);
    free(m->hp);
}

/* Read and open every input; they must be slices of one sweep. */
static dob_status merge_open(merge *m) {
    dob_status st = DOB_OK;
    m->d = calloc((size_t)m->n_in, sizeof *m->d);
    m->fh = malloc(sizeof(hid_t) * (size_t)m->n_in);
    if (!m->d || !m->fh) return DOB_FAIL(DOB_ENOMEM, "out of memory");
    for (int k = 0; k < m->n_in; k++) m->fh[k] = -1;
    for (int k = 0; k < m->n_in; k++) {
        DOB_TRY(dob_results_read_sweep(m->in[k], &m->d[k]));
        if (k > 0) DOB_TRY(check_same_sweep(&m->d[0], m->in[0], &m->d[k], m->in[k]));
        m->n_e += m->d[k].n_trials;
    }
    for (int k = 0; k < m->n_in; k++)
        DOB_H5(m->fh[k] = H5Fopen(m->in[k], H5F_ACC_RDONLY, H5P_DEFAULT), "open '%s'", m->in[k]);
    m->nh = m->d[0].n_hp;
    DOB_TRY(tbuf_alloc(&m->ta, &m->d[0]));
    DOB_TRY(tbuf_alloc(&m->tb, &m->d[0]));
fail:
    return st;
}

/* Entries a and b hold the same global id: same identity, and if both finished, the same results. Keeps in
 * *best the more advanced of the two (done/diverged > failed > running > pending). */
static dob_status merge_compare(merge *m, const entry *a, const entry *b, entry *best) {
    dob_status st = DOB_OK;
    const dob_sweep_desc *da = &m->d[a->file], *db = &m->d[b->file];
    const double *ha = da->hp + (size_t)a->idx * (size_t)m->nh, *hb = db->hp + (size_t)b->idx * (size_t)m->nh;
    int same = da->seeds[a->idx] == db->seeds[b->idx];
    for (int j = 0; j < m->nh; j++) same &= same_double(ha[j], hb[j]);
    if (!same)
        return DOB_FAIL(DOB_EINVAL, "trial %lld has different hyperparameters or seed in '%s' and '%s': not the same "
                        "sweep", (long long)a->gid, m->in[a->file], m->in[b->file]);
    dob_trial_status sb = db->status[b->idx], sbest = m->d[best->file].status[best->idx];
    if (finished(sb) && finished(sbest) && a != b) {
        DOB_TRY(tbuf_read(m->fh[best->file], best->idx, &m->ta));
        DOB_TRY(tbuf_read(m->fh[b->file], b->idx, &m->tb));
        if (sb != sbest || !tbuf_same(&m->ta, &m->tb))
            return DOB_FAIL(DOB_EINVAL, "trial %lld finished in both '%s' and '%s' with different results (%s vs %s); "
                            "leave one of the files out", (long long)a->gid, m->in[best->file], m->in[b->file],
                            dob_trial_status_str(sbest), dob_trial_status_str(sb));
    } else if (rank_of(sb) > rank_of(sbest)) {
        *best = *b;
    }
fail:
    return st;
}

/* Every (global id, file, index), grouped by global id; one pick per global id. */
static dob_status merge_pick(merge *m) {
    dob_status st = DOB_OK;
    m->e = malloc(sizeof *m->e * (size_t)(m->n_e + 1));
    m->pick = malloc(sizeof *m->pick * (size_t)(m->n_e + 1));
    if (!m->e || !m->pick) return DOB_FAIL(DOB_ENOMEM, "out of memory for %d trials", m->n_e);
    for (int k = 0, j = 0; k < m->n_in; k++)
        for (int i = 0; i < m->d[k].n_trials; i++) m->e[j++] = (entry){m->d[k].trial_ids[i], k, i};
    qsort(m->e, (size_t)m->n_e, sizeof *m->e, cmp_entry);
    for (int a = 0; a < m->n_e;) {
        int b = a;
        entry best = m->e[a];
        for (; b < m->n_e && m->e[b].gid == m->e[a].gid; b++) DOB_TRY(merge_compare(m, &m->e[a], &m->e[b], &best));
        m->pick[m->n_pick++] = best;
        a = b;
    }
fail:
    return st;
}

/* Trials of the sweep that no input holds: refused, or (allow_missing) added as pending. */
static dob_status merge_missing(merge *m, int allow_missing) {
    dob_status st = DOB_OK;
    const int64_t total = m->d[0].n_trials_total;
    if (m->n_pick >= total) return DOB_OK;
    char ids_txt[256], slices[256];
    describe_missing(m->pick, m->n_pick, total, ids_txt, sizeof ids_txt);
    describe_slices(m->d, m->n_in, slices, sizeof slices);
    if (!allow_missing)
        return DOB_FAIL(DOB_EINVAL, "%lld of the sweep's %lld trials are in none of the inputs (ids %s)%s%s; add the "
                        "missing file(s), or pass --allow-missing to write them as pending (then `dob sweep --resume "
                        "OUT` runs them)", (long long)(total - m->n_pick), (long long)total, ids_txt,
                        slices[0] ? ": slice " : "", slices);
    entry *all = NULL;
    int n_all = 0;
    DOB_TRY(expand_spec(&m->d[0], &m->full_hp, &m->full_seeds));
    DOB_TRY(fill_missing(m->pick, m->n_pick, total, &all, &n_all));
    m->n_missing = (int)(total - m->n_pick);
    free(m->pick);
    m->pick = all;
    m->n_pick = n_all;
fail:
    return st;
}

/* The identities (global id, seed, hyperparameters) of the output's trials. */
static dob_status merge_identities(merge *m) {
    const int nh = m->nh;
    m->ids = malloc(sizeof(int64_t) * (size_t)(m->n_pick + 1));
    m->seeds = malloc(sizeof(int64_t) * (size_t)(m->n_pick + 1));
    m->hp = malloc(sizeof(double) * (size_t)(m->n_pick + 1) * (size_t)nh);
    if (!m->ids || !m->seeds || !m->hp) return DOB_FAIL(DOB_ENOMEM, "out of memory");
    for (int i = 0; i < m->n_pick; i++) {
        const entry *p = &m->pick[i];
        m->ids[i] = p->gid;
        if (p->file < 0) { /* missing: the identity the sweep gave it, status pending */
            m->seeds[i] = m->full_seeds[p->gid];
            memcpy(m->hp + (size_t)i * (size_t)nh, m->full_hp + (size_t)p->gid * (size_t)nh,
                   sizeof(double) * (size_t)nh);
            continue;
        }
        const dob_sweep_desc *dk = &m->d[p->file];
        m->seeds[i] = dk->seeds[p->idx];
        memcpy(m->hp + (size_t)i * (size_t)nh, dk->hp + (size_t)p->idx * (size_t)nh, sizeof(double) * (size_t)nh);
        m->n_finished += finished(dk->status[p->idx]);
    }
    return DOB_OK;
}

/* Rank 0: the picked trials' data into the created output (pending ones stay as created). */
static dob_status merge_copy(merge *m, dob_results *res) {
    dob_status st = DOB_OK;
    for (int i = 0; i < m->n_pick && st == DOB_OK; i++) {
        if (m->pick[i].file < 0) continue;
        const dob_sweep_desc *dk = &m->d[m->pick[i].file];
        int j = m->pick[i].idx;
        DOB_TRY(tbuf_read(m->fh[m->pick[i].file], j, &m->ta));
        const tbuf *t = &m->ta;
        dob_trial_result tr = {.phase_seconds = t->phase, .hp = m->hp + (size_t)i * (size_t)m->nh,
                               .random_seed = m->seeds[i], .epochs_done = dk->epochs_done[j], .status = dk->status[j]};
        for (int k = 0; k < DOB_N_CURVES; k++) tr.curve[k] = t->c[k];
        DOB_TRY(dob_results_write_trial(res, i, &tr));
        DOB_TRY(dob_results_set_run_count(res, i, dk->run_count[j]));
    }
fail:
    return st;
}

/* The output: created collectively (at a temporary name until closed), filled by rank 0. */
static dob_status merge_write(merge *m, int overwrite, dob_comm *comm) {
    dob_status st = DOB_OK;
    const dob_sweep_desc *d0 = &m->d[0];
    dob_results *res = NULL;
    dob_results_meta meta = {
        .problem = d0->problem, .optimizer = d0->optimizer, .optimizer_deepobs_name = d0->optimizer_deepobs_name,
        .command_line = d0->command_line, .batch_size = d0->batch_size, .num_epochs = d0->num_epochs,
        .train_log_interval = d0->train_log_interval, .weight_decay = d0->weight_decay, .n_hp = m->nh,
        .hp_names = (const char *const *)d0->hp_names, .n_trials = m->n_pick, .n_minibatch = d0->n_minibatch,
        .ranks = d0->ranks, .threads = d0->threads, .has_accuracy = d0->has_accuracy, .has_valid = d0->has_valid,
        .precision = d0->precision, .memory_estimate_bytes = d0->memory_estimate_bytes,
        .cifar100_fix_offset = d0->cifar100_fix_offset, .conv_algo = d0->conv_algo,
    };
    dob_sweep_meta sw = {.spec = d0->spec, .lr_schedule = d0->lr_schedule, .sync_bn = d0->sync_bn,
                         .n_trials_total = d0->n_trials_total, .max_steps = d0->max_steps, .slice_id = -1,
                         .slice_count = -1, .trial_ids = m->ids, .seeds = m->seeds, .hp = m->hp, .in_place = 0};
    DOB_TRY(dob_results_create_sweep(m->out, overwrite, &meta, &sw, comm, &res));
    if ((st = dob_comm_agree(comm, dob_comm_rank(comm) == 0 ? merge_copy(m, res) : DOB_OK)) != DOB_OK) {
        dob_results_abort(res);
        return st;
    }
    st = dob_results_close(res);
fail:
    return st;
}

dob_status dob_results_merge(const char *out, int n_in, const char *const *in, int overwrite, int allow_missing,
                             dob_comm *comm, int *n_trials, int *n_finished, int *n_missing) {
    dob_status st = DOB_OK;
    merge m = {.out = out, .n_in = n_in, .in = in};
    if (n_trials) *n_trials = 0;
    if (n_finished) *n_finished = 0;
    if (n_missing) *n_missing = 0;
    dob_h5_quiet();
    if (n_in < 1 || !in || !out || !*out)
        return DOB_FAIL(DOB_EINVAL, "merge: expected an output file and at least one input file");
    for (int k = 0; k < n_in; k++)
        if (!strcmp(in[k], out))
            return DOB_FAIL(DOB_EINVAL, "merge: the output '%s' is also an input; choose another output name", out);
    struct stat osb;
    if (!overwrite && lstat(out, &osb) == 0) /* before any other check: the first thing a user must know */
        return DOB_FAIL(DOB_EEXIST, "result file '%s' already exists; refusing to overwrite it (pass --overwrite to "
                                    "replace it, or choose another output)", out);
    DOB_TRY(merge_open(&m));
    DOB_TRY(merge_pick(&m));
    DOB_TRY(merge_missing(&m, allow_missing));
    DOB_TRY(merge_identities(&m));
    DOB_TRY(merge_write(&m, overwrite, comm));
    if (n_trials) *n_trials = m.n_pick;
    if (n_finished) *n_finished = m.n_finished;
    if (n_missing) *n_missing = m.n_missing;
fail:
    merge_free(&m);
    if (st != DOB_OK) dob_error_prefix("merge into '%s': ", out);
    return st;
}
