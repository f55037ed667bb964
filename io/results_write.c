/* results_write.c: the result file's raw-data writes, close/abort and serial reader (io/results.c creates and
 * reopens it; its top comment documents the module and its invariants, which hold here too).
 *
 * Implements dob_results_write_trial/set_status/begin_trial/set_run_count (independent: only the rank(s) owning
 * a trial call them), dob_results_close/abort (collective) and dob_results_read_status (serial, for --resume).
 *
 * It does not: create or reopen files, or use MPI directly (only dob_comm: results.c opens the parallel file). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dob/results.h"
#include "h5util.h"
#include "meta.h"
#include "results_impl.h"
#include "seal.h"
#include "trial_sum.h"

/* ---- independent raw-data writes ------------------------------------------------------------------------- */
dob_status dob_res_write_dset(dob_results *r, int trial, const char *name, hid_t mtype, const void *v) {
    dob_status st = DOB_OK;
    hid_t d = -1;
    char p[64];
    snprintf(p, sizeof p, "trials/%d/%s", trial, name);
    DOB_H5(d = H5Dopen2(r->file, p, H5P_DEFAULT), "open dataset /%s in '%s'", p, r->tmp);
    DOB_H5(H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, v), "write dataset /%s in '%s' (disk full?)", p,
           r->tmp);
fail:
    if (d >= 0) H5Dclose(d);
    return st;
}

/* Sweep files: the trial's checksum (trial_sum.h), written before the status it covers; a running trial has
 * none (its data change until it ends). */
dob_status dob_res_write_checksum(dob_results *r, int trial, int32_t status) {
    if (!r->sweep || status == DOB_TRIAL_RUNNING) return DOB_OK;
    char p[64];
    snprintf(p, sizeof p, "trials/%d/" DOB_TRIAL_CHECKSUM, trial);
    htri_t has = H5Lexists(r->file, p, H5P_DEFAULT); /* not in a file of a dob before checksums */
    if (has <= 0) return has < 0 ? dob_h5_fail_at(__FILE__, __LINE__, "look up /%s in '%s'", p, r->tmp) : DOB_OK;
    uint32_t crc = 0;
    dob_status st = dob_trial_checksum(r->file, trial, status, &crc);
    const int64_t v = crc;
    return st == DOB_OK ? dob_res_write_dset(r, trial, DOB_TRIAL_CHECKSUM, H5T_NATIVE_INT64, &v) : st;
}

static dob_status check_trial(const dob_results *r, int trial) {
    if (!r || r->file < 0) return DOB_FAIL(DOB_EINVAL, "results: file is not open");
    if (trial < 0 || trial >= r->n_trials)
        return DOB_FAIL(DOB_EINVAL, "results: trial id must be in [0, %d), found %d", r->n_trials, trial);
    return DOB_OK;
}

static dob_status remember_failure(dob_results *r, dob_status st) {
    if (st != DOB_OK && r->fail_st == DOB_OK) {
        r->fail_st = st;
        snprintf(r->fail_msg, sizeof r->fail_msg, "%s", dob_last_error());
    }
    return st;
}

dob_status dob_results_write_trial(dob_results *r, int trial, const dob_trial_result *t) {
    dob_status st = check_trial(r, trial); /* caller errors are not remembered: they do not spoil the file */
    if (st != DOB_OK) return st;
    if (!t) return DOB_FAIL(DOB_EINVAL, "results: trial %d: no result given", trial);
    if ((int)t->status < DOB_TRIAL_PENDING || (int)t->status > DOB_TRIAL_FAILED)
        return DOB_FAIL(DOB_EINVAL, "results: trial %d: status must be in [0, 4], found %d", trial, (int)t->status);
    /* NULL leaves that dataset as it is (NaN until written). */
    for (int c = 0; c < DOB_N_CURVES; c++)
        if (t->curve[c]) DOB_TRY(dob_res_write_dset(r, trial, dob_curves[c].name, H5T_NATIVE_DOUBLE, t->curve[c]));
    if (t->phase_seconds) DOB_TRY(dob_res_write_dset(r, trial, "phase_seconds", H5T_NATIVE_DOUBLE, t->phase_seconds));
    if (t->hp) DOB_TRY(dob_res_write_dset(r, trial, "hyperparameters", H5T_NATIVE_DOUBLE, t->hp));
    int64_t seed = t->random_seed;
    int32_t ep = t->epochs_done, stv = (int32_t)t->status;
    DOB_TRY(dob_res_write_dset(r, trial, "random_seed", H5T_NATIVE_INT64, &seed));
    DOB_TRY(dob_res_write_dset(r, trial, "epochs_done", H5T_NATIVE_INT32, &ep));
    DOB_TRY(dob_res_write_checksum(r, trial, stv));
    /* status last: a crash in between leaves the previous status, so --resume redoes the trial. */
    DOB_TRY(dob_res_write_dset(r, trial, "status", H5T_NATIVE_INT32, &stv));
    return DOB_OK;
fail:
    return remember_failure(r, st);
}

dob_status dob_results_set_status(dob_results *r, int trial, dob_trial_status s) {
    dob_status st = check_trial(r, trial);
    if (st != DOB_OK) return st;
    if ((int)s < DOB_TRIAL_PENDING || (int)s > DOB_TRIAL_FAILED)
        return DOB_FAIL(DOB_EINVAL, "results: trial %d: status must be in [0, 4], found %d", trial, (int)s);
    int32_t v = (int32_t)s;
    DOB_TRY(dob_res_write_checksum(r, trial, v));
    DOB_TRY(dob_res_write_dset(r, trial, "status", H5T_NATIVE_INT32, &v));
    return DOB_OK;
fail:
    return remember_failure(r, st);
}

static dob_status read_dset(dob_results *r, int trial, const char *name, hid_t mtype, void *v) {
    dob_status st = DOB_OK;
    hid_t d = -1;
    char p[64];
    snprintf(p, sizeof p, "trials/%d/%s", trial, name);
    DOB_H5(d = H5Dopen2(r->file, p, H5P_DEFAULT), "open dataset /%s in '%s'", p, r->tmp);
    DOB_H5(H5Dread(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, v), "read dataset /%s in '%s'", p, r->tmp);
fail:
    if (d >= 0) H5Dclose(d);
    return st;
}

dob_status dob_results_begin_trial(dob_results *r, int trial) {
    dob_status st = check_trial(r, trial);
    if (st != DOB_OK) return st;
    if (!r->sweep) return DOB_FAIL(DOB_EINVAL, "results: begin_trial on a file that is not a sweep file");
    int32_t n = 0, running = DOB_TRIAL_RUNNING;
    DOB_TRY(read_dset(r, trial, "run_count", H5T_NATIVE_INT32, &n));
    n++;
    DOB_TRY(dob_res_write_dset(r, trial, "run_count", H5T_NATIVE_INT32, &n));
    DOB_TRY(dob_res_write_dset(r, trial, "status", H5T_NATIVE_INT32, &running));
    return DOB_OK;
fail:
    return remember_failure(r, st);
}

dob_status dob_results_set_run_count(dob_results *r, int trial, int32_t n) {
    dob_status st = check_trial(r, trial);
    if (st != DOB_OK) return st;
    if (!r->sweep) return DOB_FAIL(DOB_EINVAL, "results: set_run_count on a file that is not a sweep file");
    DOB_TRY(dob_res_write_dset(r, trial, "run_count", H5T_NATIVE_INT32, &n));
    return DOB_OK;
fail:
    return remember_failure(r, st);
}

/* ---- close / abort (collective) -------------------------------------------------------------------------- */
/* Collective: close and delete the temporary file. Rank 0 first truncates it to zero: its content is lost
 * anyway, and on a full disk this frees the space the final metadata flush of H5Fclose needs (HDF5 1.10.8
 * leaves a file whose close failed in a state that crashes at library termination). */
void dob_res_discard(dob_results *r) {
    if (r->file >= 0) {
        if (r->rank == 0 && truncate(r->tmp, 0) != 0) errno = 0; /* best effort: the unlink below still runs */
        dob_comm_barrier(r->comm);
        H5Fclose(r->file);
        r->file = -1;
    }
    if (r->rank == 0) unlink(r->tmp);
}

/* In place (sweep files): close on every rank, whatever happened before; the file stays where it is. */
static dob_status close_in_place(dob_results *r) {
    dob_status wst = DOB_OK, cst = DOB_OK;
    if (r->fail_st != DOB_OK) wst = DOB_FAIL(r->fail_st, "an earlier trial write failed: %s", r->fail_msg);
    wst = dob_comm_agree(r->comm, wst);
    if (r->file >= 0 && H5Fclose(r->file) < 0) cst = dob_h5_fail_at(__FILE__, __LINE__, "close '%s'", r->path);
    r->file = -1;
    cst = dob_comm_agree(r->comm, cst);
    if (cst == DOB_OK) cst = dob_comm_agree(r->comm, r->rank == 0 ? dob_seal_file(r->path) : DOB_OK);
    dob_status st = cst != DOB_OK ? cst : wst;
    if (st != DOB_OK) dob_error_prefix("result file '%s' (kept: its statuses say which trials finished): ", r->path);
    free(r->path);
    free(r->tmp);
    free(r);
    return st;
}

/* Rank 0: move the complete temporary file to its final name. */
static dob_status publish(const dob_results *r) {
    if (!r->overwrite) {
        if (link(r->tmp, r->path) == 0) {
            unlink(r->tmp);
            return DOB_OK;
        }
        if (errno == EEXIST)
            return DOB_FAIL(DOB_EEXIST,
                            "result file '%s' appeared while the run was writing; refusing to overwrite it (pass "
                            "--overwrite to replace it)",
                            r->path);
        /* File systems without hard links: re-check, then rename (a tiny race remains there). */
        struct stat sb;
        if (lstat(r->path, &sb) == 0)
            return DOB_FAIL(DOB_EEXIST, "result file '%s' appeared while the run was writing; refusing to "
                                        "overwrite it (pass --overwrite to replace it)",
                            r->path);
    }
    if (rename(r->tmp, r->path) != 0)
        return DOB_FAIL(DOB_EIO, "cannot rename '%s' to '%s': %s", r->tmp, r->path, strerror(errno));
    return DOB_OK;
}

dob_status dob_results_close(dob_results *r) {
    if (!r) return DOB_FAIL(DOB_EINVAL, "results: close of a NULL result file");
    if (r->in_place) return close_in_place(r);
    dob_status st = DOB_OK;
    if (r->fail_st != DOB_OK) st = DOB_FAIL(r->fail_st, "an earlier trial write failed: %s", r->fail_msg);
    st = dob_comm_agree(r->comm, st);
    if (st == DOB_OK) {
        if (H5Fclose(r->file) < 0) st = dob_h5_fail_at(__FILE__, __LINE__, "close '%s' (disk full?)", r->tmp);
        r->file = -1;
        st = dob_comm_agree(r->comm, st);
    }
    if (st == DOB_OK) st = dob_comm_agree(r->comm, r->rank == 0 ? dob_seal_file(r->tmp) : DOB_OK);
    if (st == DOB_OK) {
        dob_status pst = r->rank == 0 ? publish(r) : DOB_OK;
        st = dob_comm_agree(r->comm, pst);
    }
    if (st != DOB_OK) {
        dob_res_discard(r);
        dob_error_prefix("result file '%s' not written (temporary file removed): ", r->path);
    }
    free(r->path);
    free(r->tmp);
    free(r);
    return st;
}

void dob_results_abort(dob_results *r) {
    if (!r) return;
    if (r->in_place) {
        close_in_place(r); /* never delete a sweep file that exists: it may hold finished trials */
        return;
    }
    dob_res_discard(r);
    free(r->path);
    free(r->tmp);
    free(r);
}

/* ---- serial reader for --resume -------------------------------------------------------------------------- */
dob_status dob_results_read_status(const char *path, int cap, dob_trial_status *status, int *n_trials) {
    dob_status st = DOB_OK;
    hid_t f = -1;
    dob_sweep_desc d = {0};
    struct stat sb;
    dob_h5_quiet();
    if (stat(path, &sb) != 0)
        return DOB_FAIL(errno == ENOENT ? DOB_ENOENT : DOB_EIO, "result file '%s': %s", path, strerror(errno));
    dob_seal_state seal;
    DOB_TRY(dob_seal_check(path, "result file", 0, &seal, NULL));
    htri_t is = H5Fis_hdf5(path);
    if (is <= 0) return DOB_FAIL(DOB_EFORMAT, "result file '%s' is not an HDF5 file", path);
    DOB_H5(f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT), "open '%s'", path);
    DOB_TRY(dob_meta_read(f, path, &d));
    const int n = d.n_trials;
    for (int i = 0; i < n && i < cap; i++) {
        char p[48];
        int32_t v = 0;
        snprintf(p, sizeof p, "trials/%d/status", i);
        DOB_TRY(dob_h5_read(f, p, H5T_NATIVE_INT32, 1, &v));
        if (v < DOB_TRIAL_PENDING || v > DOB_TRIAL_FAILED) {
            st = DOB_FAIL(DOB_EFORMAT, "'%s': /%s must be in [0, 4], found %d", path, p, (int)v);
            goto fail;
        }
        status[i] = (dob_trial_status)v;
    }
    if (n_trials) *n_trials = n;
fail:
    dob_meta_free(&d);
    if (f >= 0) H5Fclose(f);
    if (st != DOB_OK) dob_error_prefix("reading '%s': ", path);
    return st;
}
