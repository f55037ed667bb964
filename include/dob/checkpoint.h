/* dob/checkpoint.h: checkpoint files of `dob run --checkpoint` (io/checkpoint.c), HDF5, readable by h5py.
 *
 * Schema (format "dob-checkpoint", version 1):
 *   /  attributes: format, version, config (the run's settings in one string: a resume must match it exactly),
 *      ranks, threads (int32), onednn_isa, dob_version, created (ISO time), hostname, precision ("f32" or
 *      "bf16"; a bf16 run's config also says precision=bf16, so a resume in the other precision is refused)
 *   /arena/params          float32 [n]           n = dob_arena_size (padding included)
 *   /arena/state<k>        float32 [n]           k < the optimizer's state count
 *   /arena/buffers         float32 [ranks, nb]   non-trainable buffers (batch-norm statistics) of every rank
 *   /progress/{steps_done, evaluated, n_logged}  int64 scalars (dob_train_out)
 *   /curves/{train,valid,test}_{losses,accuracies}, epoch_seconds   float64 [num_epochs + 1]
 *   /curves/minibatch_train_losses float64 [n_minibatch], /curves/phase_seconds float64 [5]
 *   /net_state             float32 [ranks, k]    the net's carried state (LSTM h, c) of every rank at steps_done;
 *                                                only for nets that carry one (absent in older checkpoints: zero)
 * The RNG needs no state: every stream is keyed by (seed, purpose, step or epoch).
 *
 * A save is serial (one process) and atomic: the file is written under "<path>.tmp-<pid>", flushed, and renamed
 * over path, so a crash or a full disk during a save leaves the previous checkpoint intact. */
#ifndef DOB_CHECKPOINT_H
#define DOB_CHECKPOINT_H

#include <stddef.h>

#include "dob/arena.h"
#include "dob/status.h"
#include "dob/trainer.h"

#define DOB_CHECKPOINT_VERSION 1

typedef struct dob_ckpt_meta {
    const char *config;   /* the run's settings (compared on resume) */
    int ranks, threads;
    const char *precision; /* "f32" (also for NULL) or "bf16" */
    const float *net_state_all; /* ranks x o->net_state_n (row r = rank r's), or NULL: o->net_state (one rank) */
} dob_ckpt_meta;

/** Save the arena (params, every state vector; buffers_all: ranks x dob_arena_buffer_size floats, row r = rank
 *  r's buffers, may be NULL when there are none) and the curves and counters of o to path, atomically. */
dob_status dob_checkpoint_save(const char *path, const dob_ckpt_meta *m, dob_arena *a, const float *buffers_all,
                               const dob_train_out *o);

/** Read a checkpoint's settings: config (truncated to cap - 1), ranks, threads. DOB_ENOENT if path is missing,
 *  DOB_EFORMAT (with the reason) if it is not a dob checkpoint of this version. */
dob_status dob_checkpoint_read_meta(const char *path, char *config, size_t cap, int *ranks, int *threads);

/** Load path into an allocated arena whose state count is already the optimizer's (params, states, and the
 *  buffers row of rank), and into o (arrays allocated here: dob_train_out_free). DOB_EFORMAT if sizes differ
 *  from the arena's (a checkpoint of another net) or the file is damaged. */
dob_status dob_checkpoint_load(const char *path, int rank, dob_arena *a, dob_train_out *o);

#endif
