/* results.c: the parallel-HDF5 result file of a run or sweep (schema in include/dob/results.h).
 *
 * Implements dob_results_create/write_trial/set_status/close/abort and dob_results_read_status, and for sweeps
 * dob_results_create_sweep/open/begin_trial/set_run_count (reading and merging sweep files: sweep_file.c), in
 * two files: this one checks, creates and reopens files; results_write.c has the raw-data writes, close/abort
 * and the serial reader; results_impl.h holds what both share. This comment documents both.
 * This is the one io/ file that uses MPI (through mpi/comm_native.h): the file is opened with H5Pset_fapl_mpio
 * over the caller's communicator.
 *
 * Invariants:
 *  - Every metadata operation (file create/flush/close, group and dataset creation, attribute writes) is made by
 *    all ranks of the comm, in the same order, with identical arguments: values that could differ between ranks
 *    (creation time, hostname, pid of the temporary name) are taken from rank 0 and broadcast first.
 *  - All datasets are created at full size at create time, contiguous, allocated early, and physically written
 *    with their fill value (NaN for float64, 0 for integers: status 0 = pending). So a disk that is too small
 *    fails at create time, and later writes only overwrite raw data in place: write_trial/set_status are
 *    independent (non-collective) and may be called by the rank(s) owning a trial only. Object modification
 *    times are not tracked, so raw-data writes never touch object headers.
 *  - The file lives under "<path>.tmp-<pid of rank 0>" until dob_results_close has closed it without error on
 *    every rank; then rank 0 moves it to <path>. Without overwrite it is linked (link(2) fails if <path>
 *    appeared meanwhile); with overwrite rename(2) replaces the old file atomically, so a crash or an error never
 *    loses it. On any error (including an earlier failed trial write on any rank) the temporary file is
 *    removed and nothing appears at <path>.
 *  - Ranks agree on failure: after each collective phase the status is all-reduced and the message of the
 *    failing rank is broadcast, so every rank returns the same status and message.
 *  - Sweep files (dob_results_create_sweep) add per-trial trial_id/run_count datasets and /meta sweep attributes,
 *    and write every trial's hyperparameters, seed and id (rank 0) before the metadata flush. Created in place
 *    (the `dob sweep` case) they live at their final path from the start: a failed creation deletes the file,
 *    but once created the file is never deleted (close and abort only close it), because its statuses say
 *    which trials finished. Each trial's checksum (trial_sum.h) is written before its final status, as the
 *    seal cannot cover a file that stays open. dob_results_open reopens one collectively (--resume). The default HDF5 file format
 *    (no SWMR / latest-format superblock flags) keeps a file that a killed process had open reopenable.
 *
 * It does not: decide which rank writes which trial (the caller does: one rank per trial is enough, several
 * ranks writing identical data is harmless), buffer curves, or read trial curves (json_export.c does). */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>

#include "comm_native.h"
#include "dob/io.h"
#include "dob/results.h"
#include "h5util.h"
#include "meta.h"
#include "results_impl.h"
#include "seal.h"
#include "trial_sum.h"

#ifndef DOB_VERSION
#define DOB_VERSION "unknown"
#endif
#include "dob_git_rev.h" /* DOB_GIT_REV, written by each build: scripts/git_rev.cmake */

#define N_PHASES 5

/* ---- datasets of one trial ------------------------------------------------------------------------------ */
/* In creation order: the curves (dob_curves[]), then these, then (sweep files only) the sweep ones. */
enum { K_EPOCHS, K_MINIBATCH, K_PHASES, K_HP, K_I64, K_I32 };
typedef struct dset_row {
    const char *name;
    int kind;
} dset_row;
static const dset_row trial_dsets[] = {
    {"phase_seconds", K_PHASES}, {"hyperparameters", K_HP}, {"random_seed", K_I64},
    {"status", K_I32},           {"epochs_done", K_I32},
};
static const dset_row sweep_dsets[] = {{"trial_id", K_I64}, {"run_count", K_I32}, {DOB_TRIAL_CHECKSUM, K_I64}};
#define N_DSETS (DOB_N_CURVES + sizeof trial_dsets / sizeof trial_dsets[0])
#define N_SWEEP_DSETS (sizeof sweep_dsets / sizeof sweep_dsets[0])

/* dob_trial_result's named curves and curve[] must alias (as in dob_train_out, src/curves.c). */
#define SAME_SLOT_(id, name, flags)                                                                                \
    _Static_assert(offsetof(dob_trial_result, name) ==                                                             \
                       offsetof(dob_trial_result, curve) + (size_t)DOB_CURVE_##id * sizeof(const double *),        \
                   "dob_trial_result: " #name " is not curve[DOB_CURVE_" #id "]");
DOB_CURVE_LIST(SAME_SLOT_)
#undef SAME_SLOT_

/* Dataset j of a trial, j < N_DSETS + N_SWEEP_DSETS. */
static dset_row dset_at(size_t j) {
    if (j < DOB_N_CURVES)
        return (dset_row){dob_curves[j].name, (dob_curves[j].flags & DOB_CURVE_LOGGED) ? K_MINIBATCH : K_EPOCHS};
    return j < N_DSETS ? trial_dsets[j - DOB_N_CURVES] : sweep_dsets[j - N_DSETS];
}

const char *dob_trial_dset_name(size_t j) { return j < N_DSETS + N_SWEEP_DSETS ? dset_at(j).name : NULL; }

const char *dob_trial_status_str(dob_trial_status s) {
    switch (s) {
    case DOB_TRIAL_PENDING: return "pending";
    case DOB_TRIAL_RUNNING: return "running";
    case DOB_TRIAL_DONE: return "done";
    case DOB_TRIAL_DIVERGED: return "diverged";
    case DOB_TRIAL_FAILED: return "failed";
    }
    return "unknown";
}

/* ---- checks made by rank 0 before anything is created ---------------------------------------------------- */
typedef struct create_info {
    int st;
    char msg[DOB_RES_ERRLEN];
    long pid;
    char created[40];
    char host[256];
} create_info;

/* Bytes the file will take: measured about 5.7 KB of HDF5 metadata per trial plus 8 KB for the superblock and
 * /meta (HDF5 1.10.8); 8 KB per trial and 64 KB leave a margin. */
static double estimate_bytes(const dob_results_meta *m) {
    double values = (double)(N_PHASES + m->n_hp);
    for (int c = 0; c < DOB_N_CURVES; c++) values += (double)dob_curve_len(c, m->num_epochs, m->n_minibatch);
    double raw = 8.0 * values + 16.0;
    return 65536.0 + (double)m->n_trials * (8192.0 + raw);
}

static dob_status check_target(const char *path, int overwrite, double need) {
    dob_status st = dob_io_check_dir_of(path, "result file", need);
    struct stat sb;
    if (st == DOB_OK && lstat(path, &sb) == 0) {
        if (S_ISDIR(sb.st_mode))
            st = DOB_FAIL(DOB_EEXIST, "result path '%s' is an existing directory; expected a file name", path);
        else if (!overwrite)
            st = DOB_FAIL(DOB_EEXIST,
                          "result file '%s' already exists; refusing to overwrite it (pass --overwrite to replace "
                          "it, or choose another --out)",
                          path);
    }
    return st;
}

static void fill_info(create_info *ci, const char *path, int overwrite, double need) {
    memset(ci, 0, sizeof *ci);
    ci->st = (int)check_target(path, overwrite, need);
    if (ci->st != DOB_OK) snprintf(ci->msg, sizeof ci->msg, "%s", dob_last_error());
    ci->pid = (long)getpid();
    time_t now = time(NULL);
    struct tm tmv;
    if (!localtime_r(&now, &tmv) || !strftime(ci->created, sizeof ci->created, "%Y-%m-%dT%H:%M:%S%z", &tmv))
        snprintf(ci->created, sizeof ci->created, "1970-01-01T00:00:00+0000");
    if (gethostname(ci->host, sizeof ci->host - 1) != 0) snprintf(ci->host, sizeof ci->host, "unknown");
}

static int valid_name(const char *s) {
    if (!s || !*s) return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_' ||
              *s == '-' || *s == '.'))
            return 0;
    return 1;
}

static dob_status check_meta(const dob_results_meta *m) {
    if (!valid_name(m->problem))
        return DOB_FAIL(DOB_EINVAL, "results: problem name '%s' must be non-empty [A-Za-z0-9_.-]",
                        m->problem ? m->problem : "(null)");
    if (!valid_name(m->optimizer))
        return DOB_FAIL(DOB_EINVAL, "results: optimizer name '%s' must be non-empty [A-Za-z0-9_.-]",
                        m->optimizer ? m->optimizer : "(null)");
    if (m->optimizer_deepobs_name && !valid_name(m->optimizer_deepobs_name))
        return DOB_FAIL(DOB_EINVAL, "results: DeepOBS optimizer name '%s' must be non-empty [A-Za-z0-9_.-]",
                        m->optimizer_deepobs_name);
    if (m->batch_size < 1 || m->num_epochs < 0 || m->train_log_interval < 1 || m->n_minibatch < 0)
        return DOB_FAIL(DOB_EINVAL,
                        "results: expected batch_size >= 1, num_epochs >= 0, train_log_interval >= 1, "
                        "n_minibatch >= 0; found %lld, %lld, %lld, %lld",
                        (long long)m->batch_size, (long long)m->num_epochs, (long long)m->train_log_interval,
                        (long long)m->n_minibatch);
    if (m->n_trials < 0) return DOB_FAIL(DOB_EINVAL, "results: expected n_trials >= 0, found %d", m->n_trials);
    if (m->n_hp < 1 || !m->hp_names || !m->hp_names[0] || strcmp(m->hp_names[0], "learning_rate"))
        return DOB_FAIL(DOB_EINVAL, "results: expected n_hp >= 1 with hp_names[0] = \"learning_rate\", found "
                                    "n_hp %d, first name '%s'",
                        m->n_hp, m->n_hp >= 1 && m->hp_names && m->hp_names[0] ? m->hp_names[0] : "(none)");
    for (int i = 0; i < m->n_hp; i++) {
        if (!valid_name(m->hp_names[i]))
            return DOB_FAIL(DOB_EINVAL, "results: hyperparameter name %d '%s' must be non-empty [A-Za-z0-9_.-]", i,
                            m->hp_names[i] ? m->hp_names[i] : "(null)");
        for (int j = 0; j < i; j++)
            if (!strcmp(m->hp_names[i], m->hp_names[j]))
                return DOB_FAIL(DOB_EINVAL, "results: hyperparameter '%s' is listed twice", m->hp_names[i]);
    }
    return DOB_OK;
}

/* The /meta record (meta.h) of a new file: the caller's settings, sw's (NULL: not a sweep file), and the
 * provenance taken from rank 0 (ci) and this build. onednn_version is the caller's buffer of 96 bytes. */
static dob_sweep_desc meta_record(const dob_results_meta *m, const dob_sweep_meta *sw, const create_info *ci,
                                  char *onednn_version) {
    const dnnl_version_t *dv = dnnl_version();
    if (dv->hash && strcmp(dv->hash, "N/A"))
        snprintf(onednn_version, 96, "%d.%d.%d (commit %.40s)", dv->major, dv->minor, dv->patch, dv->hash);
    else
        snprintf(onednn_version, 96, "%d.%d.%d", dv->major, dv->minor, dv->patch);
    dob_sweep_desc d = {
        .dob_version = DOB_VERSION, .git_revision = DOB_GIT_REV, .problem = m->problem, .optimizer = m->optimizer,
        .optimizer_deepobs_name = m->optimizer_deepobs_name ? m->optimizer_deepobs_name : m->optimizer,
        .created = ci->created, .hostname = ci->host, .ranks = m->ranks, .threads = m->threads,
        .onednn_version = onednn_version, .onednn_isa = dnnl_cpu_isa2str(dnnl_get_effective_cpu_isa()),
        .batch_size = m->batch_size, .num_epochs = m->num_epochs, .weight_decay = m->weight_decay,
        .train_log_interval = m->train_log_interval, .n_hp = m->n_hp, .hp_names = m->hp_names,
        .n_trials = m->n_trials, .n_minibatch = m->n_minibatch, .has_accuracy = m->has_accuracy != 0,
        .has_valid = m->has_valid != 0, .command_line = m->command_line, .precision = m->precision,
        .memory_estimate_bytes = m->memory_estimate_bytes, .cifar100_fix_offset = m->cifar100_fix_offset != 0,
        .conv_algo = m->conv_algo,
    };
    if (sw) {
        d.spec = sw->spec;
        d.n_trials_total = sw->n_trials_total;
        d.max_steps = sw->max_steps;
        d.slice_id = sw->slice_id;
        d.slice_count = sw->slice_count;
        d.lr_schedule = sw->lr_schedule;
        d.sync_bn = sw->sync_bn;
    }
    return d;
}

/* ---- trial groups (collective) --------------------------------------------------------------------------- */
typedef struct plists {
    hid_t gcpl, dcpl_f64, dcpl_i64, dcpl_i32;
} plists;

static dob_status dcpl_make(hid_t *p, hid_t type, const void *fill) {
    dob_status st = DOB_OK;
    DOB_H5(*p = H5Pcreate(H5P_DATASET_CREATE), "dataset creation properties");
    DOB_H5(H5Pset_layout(*p, H5D_CONTIGUOUS), "dataset creation properties");
    DOB_H5(H5Pset_alloc_time(*p, H5D_ALLOC_TIME_EARLY), "dataset creation properties");
    DOB_H5(H5Pset_fill_time(*p, H5D_FILL_TIME_ALLOC), "dataset creation properties");
    DOB_H5(H5Pset_fill_value(*p, type, fill), "dataset fill value");
    DOB_H5(H5Pset_obj_track_times(*p, 0), "dataset creation properties");
fail:
    return st;
}

static void plists_close(plists *p) {
    hid_t *all[] = {&p->gcpl, &p->dcpl_f64, &p->dcpl_i64, &p->dcpl_i32};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (*all[i] >= 0) H5Pclose(*all[i]);
}

static dob_status plists_make(plists *p) {
    dob_status st = DOB_OK;
    const double nan_fill = NAN;
    const int64_t zero64 = 0;
    const int32_t zero32 = 0;
    p->gcpl = p->dcpl_f64 = p->dcpl_i64 = p->dcpl_i32 = -1;
    DOB_H5(p->gcpl = H5Pcreate(H5P_GROUP_CREATE), "group creation properties");
    DOB_H5(H5Pset_obj_track_times(p->gcpl, 0), "group creation properties");
    DOB_TRY(dcpl_make(&p->dcpl_f64, H5T_NATIVE_DOUBLE, &nan_fill));
    DOB_TRY(dcpl_make(&p->dcpl_i64, H5T_NATIVE_INT64, &zero64));
    DOB_TRY(dcpl_make(&p->dcpl_i32, H5T_NATIVE_INT32, &zero32));
fail:
    return st;
}

static dob_status create_trial(hid_t trials, int id, const dob_results_meta *m, const plists *p, int sweep) {
    dob_status st = DOB_OK;
    hid_t g = -1, sp = -1, d = -1;
    char name[32];
    snprintf(name, sizeof name, "%d", id);
    DOB_H5(g = H5Gcreate2(trials, name, H5P_DEFAULT, p->gcpl, H5P_DEFAULT), "create group /trials/%d", id);
    for (size_t j = 0; j < N_DSETS + (sweep ? N_SWEEP_DSETS : 0); j++) {
        hsize_t n = 0;
        hid_t ftype = H5T_IEEE_F64LE, dcpl = p->dcpl_f64;
        const dset_row row = dset_at(j);
        const char *dname = row.name;
        const int kind = row.kind;
        switch (kind) {
        case K_EPOCHS: n = (hsize_t)m->num_epochs + 1; break;
        case K_MINIBATCH: n = (hsize_t)m->n_minibatch; break;
        case K_PHASES: n = N_PHASES; break;
        case K_HP: n = (hsize_t)m->n_hp; break;
        case K_I64: ftype = H5T_STD_I64LE, dcpl = p->dcpl_i64; break;
        case K_I32: ftype = H5T_STD_I32LE, dcpl = p->dcpl_i32; break;
        }
        int scalar = kind == K_I64 || kind == K_I32;
        DOB_H5(sp = scalar ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &n, NULL),
               "dataspace of /trials/%d/%s", id, dname);
        DOB_H5(d = H5Dcreate2(g, dname, ftype, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT),
               "create dataset /trials/%d/%s", id, dname);
        H5Dclose(d);
        H5Sclose(sp);
        d = sp = -1;
    }
fail:
    if (d >= 0) H5Dclose(d);
    if (sp >= 0) H5Sclose(sp);
    if (g >= 0) H5Gclose(g);
    return st;
}

/* ---- create ---------------------------------------------------------------------------------------------- */
static dob_status check_sweep(const dob_results_meta *m, const dob_sweep_meta *sw) {
    if (!sw->spec || !sw->trial_ids || !sw->seeds || !sw->hp)
        return DOB_FAIL(DOB_EINVAL, "results: a sweep needs spec, trial_ids, seeds and hp");
    if (sw->n_trials_total < m->n_trials || sw->max_steps < 0)
        return DOB_FAIL(DOB_EINVAL, "results: expected n_trials_total >= n_trials (%d) and max_steps >= 0, found "
                                    "%lld and %lld", m->n_trials, (long long)sw->n_trials_total,
                        (long long)sw->max_steps);
    for (int i = 0; i < m->n_trials; i++)
        if (sw->trial_ids[i] < 0 || sw->trial_ids[i] >= sw->n_trials_total ||
            (i > 0 && sw->trial_ids[i] <= sw->trial_ids[i - 1]))
            return DOB_FAIL(DOB_EINVAL, "results: trial ids must ascend within [0, %lld), found %lld at %d",
                            (long long)sw->n_trials_total, (long long)sw->trial_ids[i], i);
    return DOB_OK;
}

/* Rank 0 writes every trial's identity (independent raw-data writes into the preallocated datasets). */
static dob_status write_identities(dob_results *r, const dob_results_meta *m, const dob_sweep_meta *sw) {
    dob_status st = DOB_OK;
    for (int i = 0; i < m->n_trials; i++) {
        DOB_TRY(dob_res_write_dset(r, i, "hyperparameters", H5T_NATIVE_DOUBLE, sw->hp + (size_t)i * (size_t)m->n_hp));
        DOB_TRY(dob_res_write_dset(r, i, "random_seed", H5T_NATIVE_INT64, &sw->seeds[i]));
        DOB_TRY(dob_res_write_dset(r, i, "trial_id", H5T_NATIVE_INT64, &sw->trial_ids[i]));
        DOB_TRY(dob_res_write_checksum(r, i, DOB_TRIAL_PENDING));
    }
fail:
    return st;
}

static dob_status create_impl(const char *path, int overwrite, const dob_results_meta *meta,
                              const dob_sweep_meta *sw, dob_comm *comm, dob_results **out) {
    dob_status st = DOB_OK;
    dob_results *r = NULL;
    hid_t fapl = -1, fcpl = -1, trials = -1;
    plists pl = {-1, -1, -1, -1};
    static create_info ci; /* ~1.3 KB, broadcast from rank 0 */
    int rank = 0;
    *out = NULL;
    dob_h5_quiet();
    if (!path || !*path) return DOB_FAIL(DOB_EINVAL, "results: empty result file path");
    if (!meta || !comm) return DOB_FAIL(DOB_EINVAL, "results: meta and comm are required");
    DOB_TRY(check_meta(meta));
    if (sw) DOB_TRY(check_sweep(meta, sw));

    rank = dob_comm_rank(comm);
    if (rank == 0) fill_info(&ci, path, overwrite, estimate_bytes(meta));
    DOB_TRY(dob_comm_bcast(comm, &ci, sizeof ci, 0));
    if (ci.st != DOB_OK) return DOB_FAIL((dob_status)ci.st, "%s", ci.msg);

    r = calloc(1, sizeof *r);
    size_t tl = strlen(path) + 32;
    if (!r || !(r->path = strdup(path)) || !(r->tmp = malloc(tl))) {
        st = DOB_FAIL(DOB_ENOMEM, "results: out of memory");
        st = dob_comm_agree(comm, st);
        goto fail;
    }
    if (sw && sw->in_place)
        snprintf(r->tmp, tl, "%s", path);
    else
        snprintf(r->tmp, tl, "%s.tmp-%ld", path, ci.pid);
    r->sweep = sw != NULL;
    r->comm = comm;
    r->rank = rank;
    r->file = -1;
    r->overwrite = overwrite;
    r->n_trials = meta->n_trials;

    /* Phase 1: the file, with a user block for its checksums (seal.h), marked open until it is closed. */
    st = DOB_OK;
    const hsize_t ub = dob_seal_ub_size((long long)meta->n_trials * (long long)(N_DSETS + N_SWEEP_DSETS) + 8);
    if ((fapl = H5Pcreate(H5P_FILE_ACCESS)) < 0 ||
        H5Pset_fapl_mpio(fapl, dob_comm_native(comm), MPI_INFO_NULL) < 0 ||
        (fcpl = H5Pcreate(H5P_FILE_CREATE)) < 0 || H5Pset_userblock(fcpl, ub) < 0)
        st = dob_h5_fail_at(__FILE__, __LINE__, "file properties (MPI-IO, user block) for '%s'", r->tmp);
    else if ((r->file = H5Fcreate(r->tmp, H5F_ACC_TRUNC, fcpl, fapl)) < 0)
        st = dob_h5_fail_at(__FILE__, __LINE__, "create '%s' (temporary name of '%s')", r->tmp, path);
    st = dob_comm_agree(comm, st);
    if (st != DOB_OK) goto fail;
    st = dob_comm_agree(comm, rank == 0 ? dob_seal_mark_open(r->tmp, ub) : DOB_OK);
    if (st != DOB_OK) goto fail;

    /* Phase 2: /meta, /trials and every trial's datasets, agreeing after each piece. */
    char onednn_version[96];
    const dob_sweep_desc rec = meta_record(meta, sw, &ci, onednn_version);
    st = dob_comm_agree(comm, dob_meta_write(r->file, &rec));
    if (st != DOB_OK) goto fail;
    st = plists_make(&pl);
    if (st == DOB_OK && (trials = H5Gcreate2(r->file, "trials", H5P_DEFAULT, pl.gcpl, H5P_DEFAULT)) < 0)
        st = dob_h5_fail_at(__FILE__, __LINE__, "create group /trials in '%s'", r->tmp);
    st = dob_comm_agree(comm, st);
    if (st != DOB_OK) goto fail;
    for (int i = 0; i < meta->n_trials; i++) {
        st = dob_comm_agree(comm, create_trial(trials, i, meta, &pl, sw != NULL));
        if (st != DOB_OK) goto fail;
    }
    H5Gclose(trials);
    trials = -1;

    /* Phase 3 (sweeps): every trial's hyperparameters, seed and global id, before the flush below so that a
     * crash from then on leaves a file that says everything about its trials. */
    st = sw && rank == 0 ? write_identities(r, meta, sw) : DOB_OK;
    st = dob_comm_agree(comm, st);
    if (st != DOB_OK) goto fail;

    /* Phase 4: push all metadata to disk, so the (temporary) file is complete and readable from here on; later
     * writes change raw data only. */
    st = DOB_OK;
    if (H5Fflush(r->file, H5F_SCOPE_GLOBAL) < 0)
        st = dob_h5_fail_at(__FILE__, __LINE__, "flush '%s' (disk full?)", r->tmp);
    st = dob_comm_agree(comm, st);
    if (st != DOB_OK) goto fail;
    plists_close(&pl);
    H5Pclose(fapl);
    H5Pclose(fcpl);
    r->in_place = sw && sw->in_place;
    *out = r;
    return DOB_OK;

fail:
    plists_close(&pl);
    if (trials >= 0) H5Gclose(trials);
    if (fapl >= 0) H5Pclose(fapl);
    if (fcpl >= 0) H5Pclose(fcpl);
    if (r) {
        dob_res_discard(r);
        free(r->path);
        free(r->tmp);
        free(r);
    }
    dob_error_prefix("results file '%s' not created: ", path);
    return st;
}

dob_status dob_results_create(const char *path, int overwrite, const dob_results_meta *meta, dob_comm *comm,
                              dob_results **out) {
    return create_impl(path, overwrite, meta, NULL, comm, out);
}

dob_status dob_results_create_sweep(const char *path, int overwrite, const dob_results_meta *meta,
                                    const dob_sweep_meta *sw, dob_comm *comm, dob_results **out) {
    *out = NULL;
    if (!sw) return DOB_FAIL(DOB_EINVAL, "results: create_sweep without sweep description");
    return create_impl(path, overwrite, meta, sw, comm, out);
}

/* ---- reopen a sweep file (--resume) ---------------------------------------------------------------------- */
static dob_status open_checks(hid_t file, const char *path, int *n_trials) {
    dob_sweep_desc d = {0};
    dob_status st = dob_meta_read(file, path, &d);
    if (st == DOB_OK && !d.spec)
        st = DOB_FAIL(DOB_EFORMAT, "'%s' is a dob result file but not a sweep file (no /meta sweep_spec)", path);
    *n_trials = d.n_trials;
    dob_meta_free(&d);
    return st;
}

/* Rank 0 before a reopen for writing: verify a sealed file, then mark it open (its checksums go stale with the
 * first write; dob_results_close seals it again). */
static dob_status open_seal(const char *path) {
    dob_seal_state seal;
    hsize_t ub = 0;
    dob_status st = dob_seal_check(path, "result file", 0, &seal, &ub);
    return st == DOB_OK ? dob_seal_mark_open(path, ub) : st;
}

dob_status dob_results_open(const char *path, dob_comm *comm, dob_results **out) {
    dob_status st = DOB_OK;
    dob_results *r = NULL;
    hid_t fapl = -1;
    int n_trials = 0;
    *out = NULL;
    dob_h5_quiet();
    if (!path || !*path || !comm) return DOB_FAIL(DOB_EINVAL, "results: open needs a path and a comm");
    struct stat sb;
    int rank = dob_comm_rank(comm);
    if (rank == 0) {
        if (stat(path, &sb) != 0)
            st = DOB_FAIL(errno == ENOENT ? DOB_ENOENT : DOB_EIO, "result file '%s': %s", path, strerror(errno));
        else if (!S_ISREG(sb.st_mode))
            st = DOB_FAIL(DOB_EFORMAT, "result file '%s' is not a regular file", path);
        else if ((st = open_seal(path)) == DOB_OK && H5Fis_hdf5(path) <= 0)
            st = DOB_FAIL(DOB_EFORMAT, "result file '%s' is not an HDF5 file", path);
    }
    st = dob_comm_agree(comm, st);
    if (st != DOB_OK) return st;
    r = calloc(1, sizeof *r);
    if (r && (r->path = strdup(path)) != NULL) r->tmp = strdup(path);
    st = r && r->tmp ? DOB_OK : DOB_FAIL(DOB_ENOMEM, "results: out of memory");
    st = dob_comm_agree(comm, st);
    if (st != DOB_OK) goto fail;
    r->comm = comm;
    r->rank = rank;
    r->file = -1;
    r->in_place = 1;
    r->sweep = 1;
    if ((fapl = H5Pcreate(H5P_FILE_ACCESS)) < 0 ||
        H5Pset_fapl_mpio(fapl, dob_comm_native(comm), MPI_INFO_NULL) < 0)
        st = dob_h5_fail_at(__FILE__, __LINE__, "file access properties (MPI-IO) for '%s'", path);
    else if ((r->file = H5Fopen(path, H5F_ACC_RDWR, fapl)) < 0)
        st = dob_h5_fail_at(__FILE__, __LINE__, "open '%s' for writing", path);
    st = dob_comm_agree(comm, st);
    if (st != DOB_OK) goto fail;
    st = dob_comm_agree(comm, open_checks(r->file, path, &n_trials));
    if (st != DOB_OK) goto fail;
    r->n_trials = n_trials;
    H5Pclose(fapl);
    *out = r;
    return DOB_OK;
fail:
    if (fapl >= 0) H5Pclose(fapl);
    if (r) {
        if (r->file >= 0) H5Fclose(r->file); /* collective; nothing was written */
        free(r->path);
        free(r->tmp);
        free(r);
    }
    return st;
}
