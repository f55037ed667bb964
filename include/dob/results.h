/* dob/results.h: the HDF5 result file (io/results.c), one per run or sweep, readable by h5py.
 *
 * Schema (version 1):
 *   /meta (group) attributes: schema_version, dob_version, git_revision, problem, optimizer, created (ISO time),
 *         hostname, ranks, threads, onednn_version, onednn_isa, batch_size, num_epochs, weight_decay,
 *         train_log_interval, hyperparameter_names (string list), n_trials, command_line,
 *         optimizer_deepobs_name, n_minibatch, has_accuracy, has_valid (int32 0/1), precision ("f32" or
 *         "bf16": the compute precision of conv/dense/pool, dob_net_set_precision; absent in older files = f32),
 *         conv_algo ("direct", "winograd" or "auto": --conv-algo, dob_net_set_conv_algo; absent = direct)
 *         (strings are variable-length UTF-8: h5py reads them as str; weight_decay NaN = problem default)
 *   /trials/<id>/ (group, id = 0..n_trials-1), datasets:
 *     train_losses, valid_losses, test_losses, train_accuracies, valid_accuracies, test_accuracies
 *                                    float64 [num_epochs + 1], NaN where not (yet) evaluated
 *     minibatch_train_losses         float64 [n_minibatch], NaN where not logged
 *     epoch_seconds                  float64 [num_epochs + 1]
 *     phase_seconds                  float64 [5] (forward, backward, allreduce, optimizer, data)
 *     hyperparameters                float64 [n_hp] (order of /meta hyperparameter_names), learning_rate first
 *     random_seed                    int64 scalar
 *     status                         int32 scalar: 0 pending, 1 running, 2 done, 3 diverged, 4 failed
 *     epochs_done                    int32 scalar
 * All groups and datasets are created collectively at create time (parallel HDF5 metadata is collective);
 * afterwards any rank may write one trial's datasets independently. The file is written under
 * "<path>.tmp-<pid>" and renamed to <path> on dob_results_close; an existing <path> is never replaced unless
 * overwrite is set. */
#ifndef DOB_RESULTS_H
#define DOB_RESULTS_H

#include <stdint.h>

#include "dob/comm.h"
#include "dob/curves.h"
#include "dob/status.h"

typedef enum dob_trial_status {
    DOB_TRIAL_PENDING = 0,
    DOB_TRIAL_RUNNING = 1,
    DOB_TRIAL_DONE = 2,
    DOB_TRIAL_DIVERGED = 3,
    DOB_TRIAL_FAILED = 4
} dob_trial_status;

typedef struct dob_results_meta {
    const char *problem, *optimizer, *command_line;
    const char *optimizer_deepobs_name; /* DeepOBS class name for the JSON export ("MomentumOptimizer");
                                           NULL = same as optimizer. Stored as /meta optimizer_deepobs_name. */
    int64_t batch_size, num_epochs, train_log_interval;
    double weight_decay;            /* NaN = problem default */
    int n_hp;
    const char *const *hp_names;    /* learning_rate first */
    int n_trials;
    int64_t n_minibatch;            /* length of minibatch_train_losses */
    int ranks, threads;
    int has_accuracy, has_valid;
    const char *precision;          /* "f32" (also for NULL) or "bf16". /meta precision */
    int64_t memory_estimate_bytes;  /* the run's memory estimate on rank 0's node (0: none). /meta, issue 20 */
    int cifar100_fix_offset;        /* 1: CIFAR-100 read from the correct byte (--cifar100-fix-offset). /meta */
    const char *conv_algo;          /* "direct" (also for NULL), "winograd" or "auto" (--conv-algo). /meta */
} dob_results_meta;

/** One trial's curves (arrays of num_epochs+1, or n_minibatch, doubles). */
typedef struct dob_trial_result {
    union {                         /* the curves (dob/curves.h), by name or by index; NULL: left as it is */
        struct { DOB_CURVE_LIST(DOB_CURVE_CONST_FIELD) };
        const double *curve[DOB_N_CURVES];
    };
    const double *phase_seconds;    /* 5 */
    const double *hp;               /* n_hp values */
    int64_t random_seed;
    int epochs_done;
    dob_trial_status status;
} dob_trial_result;

typedef struct dob_results dob_results;

/** Create the file collectively over comm (all ranks call). Fails with DOB_EEXIST if path exists and !overwrite,
 *  DOB_ENOENT if its directory is missing, DOB_EIO (naming the directory) if it cannot be written or has too
 *  little free space, DOB_EH5 if HDF5 fails; every rank returns the same status and message. */
dob_status dob_results_create(const char *path, int overwrite, const dob_results_meta *meta, dob_comm *comm,
                              dob_results **out);
/** Write one trial's datasets (independent I/O: only the ranks that own the trial call it). */
dob_status dob_results_write_trial(dob_results *r, int trial, const dob_trial_result *t);
/** Update one trial's status only. */
dob_status dob_results_set_status(dob_results *r, int trial, dob_trial_status s);
/** Flush, close collectively, rename the temporary file to its final name (rank 0). If any rank's write failed
 *  earlier or the close fails, nothing appears at the final name and the temporary file is removed. Frees r. */
dob_status dob_results_close(dob_results *r);
/** Close and delete the temporary file (on error paths; collective like close); accepts NULL. Frees r. */
void dob_results_abort(dob_results *r);
/** Read the status of every trial of a closed result file (serial; for --resume).
 *  @param cap capacity of status[] (may be 0 with status NULL to query the count only)
 *  @param status out: status of trials 0..min(cap, n_trials)-1
 *  @param n_trials out: number of trials in the file
 *  @return DOB_ENOENT if path is missing, DOB_EFORMAT if it is not a dob result file of schema version 1. */
dob_status dob_results_read_status(const char *path, int cap, dob_trial_status *status, int *n_trials);
/** Name of a status ("done"). */
const char *dob_trial_status_str(dob_trial_status s);

/** Export every done or diverged trial of a closed HDF5 result file to DeepOBS JSON (serial):
 *  <out_dir>/<problem>/<DeepOBS optimizer name>/<setting>/random_seed__<seed>__<time>.json (v1.1 layout; the
 *  deviations are listed in io/json_export.c). Never overwrites: DOB_EEXIST, with nothing written, if a target
 *  file exists. @param n_written out: number of files written. */
dob_status dob_results_export_json(const char *h5_path, const char *out_dir, int *n_written);
/** The same in DeepOBS's layout 11 (1.1, as above) or 12 (1.2: keys, folder names and diverged trials as DeepOBS
 *  1.2's runners write them; io/json_export.c). DOB_EINVAL for another layout. */
dob_status dob_results_export_json_layout(const char *h5_path, const char *out_dir, int layout, int *n_written);

/* ---- sweeps (additive: a sweep file is a schema-1 result file with these extra objects) -------------------
 *   /meta attributes: sweep_spec (string: every grid and the seeds, expanded; the files of one sweep share it),
 *         n_trials_total (int64: trials of the whole sweep), max_steps (int64, 0 = whole epochs),
 *         slice_id, slice_count (int32: the job-array slice this file holds, -1 if none),
 *         lr_schedule (string "E1:F1,E2:F2", "" = constant), sync_bn (int32)
 *   /trials/<i>/trial_id   int64 scalar: the trial's global id in the sweep (ascending over i)
 *   /trials/<i>/run_count  int32 scalar: how many times the trial was started (1 for a trial run once)
 *   /trials/<i>/checksum   int64 scalar: CRC-32 of the trial's other datasets and its status (io/trial_sum.h),
 *                          verified by the readers for every trial that is not running
 * hyperparameters, random_seed and trial_id of every trial are written when the file is created (status
 * pending), so the file alone says what is left to run. A sweep file created in place (the `dob sweep` case)
 * exists at its final path from the start: after a crash it is readable, its statuses say which trials
 * finished, and dob_results_open reopens it for --resume. */
typedef struct dob_sweep_meta {
    const char *spec;
    const char *lr_schedule;        /* DeepOBS piecewise schedule "E1:F1,E2:F2" (factor F from epoch E on, relative
                                       to each trial's learning rate); NULL or "" = constant. /meta lr_schedule */
    int sync_bn;                    /* batch-norm statistics over a trial's ranks. /meta sync_bn (int32) */
    int64_t n_trials_total, max_steps;
    int slice_id, slice_count;      /* -1, -1: not a job-array slice */
    const int64_t *trial_ids;       /* meta->n_trials global ids, ascending */
    const int64_t *seeds;           /* meta->n_trials */
    const double *hp;               /* meta->n_trials x meta->n_hp, row-major, learning rate first */
    int in_place;                   /* 1: create at path itself (kept after errors once created); 0: temporary
                                       name + rename at close, like dob_results_create */
} dob_sweep_meta;

/** Create a sweep file collectively (as dob_results_create, plus the sweep objects above). In place, a failed
 *  creation removes the file; with overwrite an existing file at path is replaced at once. */
dob_status dob_results_create_sweep(const char *path, int overwrite, const dob_results_meta *meta,
                                    const dob_sweep_meta *sw, dob_comm *comm, dob_results **out);
/** Reopen an existing sweep file collectively for writing (--resume). dob_results_close closes it in place;
 *  dob_results_abort closes it too and never deletes it. DOB_EFORMAT if it is not a sweep file. */
dob_status dob_results_open(const char *path, dob_comm *comm, dob_results **out);
/** A group starts a trial (independent, one rank): run_count += 1 and status running. */
dob_status dob_results_begin_trial(dob_results *r, int trial);
/** Set a trial's run_count (dob merge copies it). */
dob_status dob_results_set_run_count(dob_results *r, int trial, int32_t n);

/** Everything a sweep file says about its sweep and trials (serial reader, io/sweep_file.c). The fields down to
 *  n_trials are the /meta attributes of the schema above (the same names but spec = sweep_spec), read and written
 *  through one table (io/meta.c) for every result file; the sweep ones stay zero for a `dob run` file. Strings
 *  are malloc'd by the readers (dob_sweep_desc_free). */
typedef struct dob_sweep_desc {
    const char *problem, *optimizer, *optimizer_deepobs_name, *created, *command_line;
    const char *dob_version, *git_revision, *hostname, *onednn_version, *onednn_isa;
    const char *spec;               /* sweep files: /meta sweep_spec */
    const char *lr_schedule;        /* "" = constant (also for files written before schedules existed) */
    int sync_bn;
    const char *precision;          /* "f32" (also for files written before precisions existed) or "bf16" */
    int64_t memory_estimate_bytes;  /* the run's memory estimate on rank 0's node (issue 20; 0: none/older file) */
    int cifar100_fix_offset;        /* --cifar100-fix-offset was given (0 also for older files) */
    const char *conv_algo;          /* --conv-algo: "direct" (also for older files), "winograd" or "auto" */
    int64_t batch_size, num_epochs, train_log_interval, n_minibatch, max_steps, n_trials_total;
    double weight_decay;            /* NaN = problem default */
    int has_accuracy, has_valid, ranks, threads, slice_id, slice_count;
    int n_hp;
    const char *const *hp_names;    /* n_hp, learning_rate first */
    int n_trials;
    int64_t *trial_ids, *seeds;     /* n_trials */
    double *hp;                     /* n_trials x n_hp */
    dob_trial_status *status;       /* n_trials */
    int32_t *run_count, *epochs_done;
    double *final_test_loss, *final_test_acc, *final_train_loss; /* at epochs_done; NaN if not evaluated */
    uint8_t *damaged;               /* n_trials: 1 if the trial ended but its data fail their checksum */
    int n_damaged;                  /* (only with DOB_SWEEP_READ_DAMAGED_AS_PENDING: such trials are pending) */
} dob_sweep_desc;

/** Read a sweep file (serial, read-only; the file may still be open for writing by a sweep).
 *  DOB_ENOENT if missing, DOB_EFORMAT if not a dob sweep file (a `dob run` file included). */
dob_status dob_results_read_sweep(const char *path, dob_sweep_desc *d);
/** dob_results_read_sweep's flags. DAMAGED_AS_PENDING (for --resume): a trial that ended (done, diverged,
 *  failed) but whose data fail their checksum is returned as pending, flagged in d->damaged, counted in
 *  d->n_damaged, so that it runs again; without the flag such a trial makes the read fail, naming it. */
enum { DOB_SWEEP_READ_DAMAGED_AS_PENDING = 1 };
dob_status dob_results_read_sweep_ex(const char *path, int flags, dob_sweep_desc *d);
/** Free what dob_results_read_sweep allocated; accepts a zeroed desc. */
void dob_sweep_desc_free(dob_sweep_desc *d);
/** Merge sweep files of one sweep (same problem, optimizer, settings and sweep_spec) into out: one trial per
 *  global id found in any input, taken from an input where it finished (done or diverged) if any, else from the
 *  most advanced status (failed > running > pending). The same id with different hyperparameters or seed, or
 *  finished in two inputs with different curves, is an error. out is written under a temporary name and
 *  renamed (never replaces an existing file unless overwrite). Collective over comm; rank 0 writes.
 *  Trials of the sweep (n_trials_total) that no input holds (a slice file left out) are an error naming them and
 *  the missing slices, unless allow_missing: then they are written as pending with the hyperparameters and
 *  seed the sweep_spec gives them, so that `dob sweep --resume out` runs them.
 *  @param n_trials out: trials in out; @param n_finished out: done or diverged among them;
 *  @param n_missing out: trials written as pending because no input held them */
dob_status dob_results_merge(const char *out, int n_in, const char *const *in, int overwrite, int allow_missing,
                             dob_comm *comm, int *n_trials, int *n_finished, int *n_missing);

#endif
