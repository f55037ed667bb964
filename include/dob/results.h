/* dob/results.h: the HDF5 result file (io/results.c), one per run or sweep, readable by h5py.
 *
 * Schema (version 1):
 *   /meta (group) attributes: schema_version, dob_version, git_revision, problem, optimizer, created (ISO time),
 *         hostname, ranks, threads, onednn_version, onednn_isa, batch_size, num_epochs, weight_decay,
 *         train_log_interval, hyperparameter_names (string list), n_trials, command_line,
 *         optimizer_deepobs_name, n_minibatch, has_accuracy, has_valid (int32 0/1)
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
} dob_results_meta;

/** One trial's curves (arrays of num_epochs+1, or n_minibatch, doubles). */
typedef struct dob_trial_result {
    const double *train_losses, *valid_losses, *test_losses;
    const double *train_accuracies, *valid_accuracies, *test_accuracies;
    const double *minibatch_train_losses;
    const double *epoch_seconds;
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

#endif
