/* dob/trainer.h: the DeepOBS training protocol over one net, data-parallel over the ranks of a job.
 *
 * For epoch n = 0..N: evaluate train_eval, valid (if any) and test; stop at n = N; otherwise set the learning
 * rate of epoch n and run one pass over the shuffled training set (drop remainder), logging the mini-batch loss
 * (mean loss + regulariser, before the update) every train_log_interval steps of the epoch. So every curve has
 * N + 1 entries, entry 0 being the untrained net. A non-finite mini-batch loss ends the run as "diverged" with
 * its curves so far (not an error).
 *
 * Data parallelism: the global batch B is split into P slices of B/P; rank r gathers positions
 * [r B/P, (r+1) B/P) of every global batch. The permutation, dropout and augmentation are keyed by global
 * positions, so the trajectory is the 1-rank trajectory up to float summation order. The hooks sum gradients
 * and metric sums over the job's ranks (NULL hooks: one rank). The trainer never prints and never opens files. */
#ifndef DOB_TRAINER_H
#define DOB_TRAINER_H

#include <stdint.h>

#include "dob/curves.h"
#include "dob/data.h"
#include "dob/layers.h"
#include "dob/net.h"
#include "dob/optim.h"
#include "dob/sched.h"

enum { DOB_PHASE_FORWARD = 0, DOB_PHASE_BACKWARD, DOB_PHASE_ALLREDUCE, DOB_PHASE_OPTIMIZER, DOB_PHASE_DATA,
       DOB_N_PHASES };

typedef struct dob_train_out dob_train_out; /* below */

typedef struct dob_progress {
    int64_t epoch, num_epochs;         /* epoch being trained (0-based), or being evaluated */
    int64_t step, steps_per_epoch;     /* step within the epoch */
    int64_t global_step, total_steps;  /* total_steps: what this run takes (num_epochs x steps, or max_steps) */
    double steps_per_second, eta_seconds;
    double loss;                       /* last mini-batch loss */
    int evaluating;                    /* 1: an evaluation round just finished (curves[epoch] are filled);
                                          DOB_PROGRESS_EVAL_RUNNING: one is under way (the fields below) */
    const char *eval_split;            /* under way: "train_eval", "valid" or "test" */
    int64_t eval_done, eval_total;     /* under way: examples of that split evaluated so far (all ranks), of */
    double eval_per_second;            /* under way: examples per second of that split so far */
} dob_progress;

enum { DOB_PROGRESS_EVAL_RUNNING = 2 };

typedef struct dob_train_hooks {
    void *ctx;
    /** Sum float gradients over the job's ranks in place. NULL: one rank. */
    dob_status (*sum_float)(void *ctx, float *x, size_t n);
    /** Overlap of the gradient sum with backward, optional (all three, or none: then sum_float sums the whole
     *  gradient after backward). sum_float_start(x, n) starts summing x[0..n) over the job's ranks and returns;
     *  the trainer calls it during backward for each bucket of final gradients, highest arena offsets first,
     *  the same buckets on every rank. sum_float_progress lets started sums advance (after every layer's
     *  backward); sum_float_wait completes them all before the optimizer step. */
    dob_status (*sum_float_start)(void *ctx, float *x, size_t n);
    dob_status (*sum_float_progress)(void *ctx);
    dob_status (*sum_float_wait)(void *ctx);
    /** Sum doubles (metric sums) over the job's ranks in place. NULL: one rank. */
    dob_status (*sum_double)(void *ctx, double *x, size_t n);
    /** Progress report: about every 2 s of training or of an evaluation round, and after each round. May be NULL. */
    void (*progress)(void *ctx, const dob_progress *p);
    /** Polled once per step, after the update, and after every batch of an evaluation round, on every rank (the
     *  answer must agree over ranks): DOB_POLL_CONTINUE, DOB_POLL_CHECKPOINT (after a step: save a checkpoint now
     *  and go on; ignored in evaluation rounds) or DOB_POLL_STOP (save a checkpoint if there is a checkpoint hook,
     *  then end the run as DOB_TRAIN_STOPPED, curves kept; a round stopped midway is dropped, evaluated again on
     *  resume). May be NULL. */
    int (*should_stop)(void *ctx);
    /** Save a checkpoint: the arena (parameters, optimizer state, buffers) and *o (curves so far, steps_done,
     *  evaluated, n_logged, phase and epoch seconds) are a consistent state from which dob_train with
     *  cfg->resume continues. Called on every rank at the same point: after each evaluation round but the last,
     *  and when should_stop asks. An error is reported by the hook's owner; training goes on. May be NULL. */
    void (*checkpoint)(void *ctx, const dob_train_out *o);
} dob_train_hooks;

enum { DOB_POLL_CONTINUE = 0, DOB_POLL_CHECKPOINT = 1, DOB_POLL_STOP = 2 };

typedef struct dob_train_cfg {
    dob_net *net;                      /* allocated (dob_problem_net); the trainer initialises and builds it */
    dob_loss_kind loss;
    int has_accuracy;
    int64_t train_eval_size;
    const dob_optim_ops *optim;
    double hp[DOB_OPTIM_MAX_HP];
    dob_sched sched;
    int64_t batch_size;                /* global */
    int64_t num_epochs;
    int64_t train_log_interval;
    double weight_decay;               /* L2 factor on DOB_PARAM_L2 tensors; 0 = none */
    uint64_t seed;
    int rank, nranks;                  /* this process's place in the data-parallel job */
    const dob_dataset *train, *valid, *test;  /* valid may be NULL */
    int64_t eval_max_batch;            /* largest per-rank batch of an evaluation round; 0: automatic (up to 1024
                                          examples, activation buffers within 256 MiB; the training batch for
                                          stateful nets). The same examples are evaluated at any value. */
    const dob_preproc *preproc;        /* image preprocessing (augmentation in training only), or NULL */
    int64_t max_steps;                 /* > 0: stop training after this many steps (tests, benchmarks) and
                                          evaluate once more; the run counts as done */
    /** NULL: a fresh run (the trainer initialises parameters and optimizer state). Otherwise continue a
     *  checkpoint: the arena already holds its parameters, buffers and optimizer state (state count set), and
     *  *resume its curves, phase/epoch seconds, steps_done, evaluated and n_logged. The continued trajectory is
     *  bit-identical to the uninterrupted one at the same ranks, threads and ISA. */
    const dob_train_out *resume;
    dob_train_hooks hooks;
} dob_train_cfg;

/** What a run holds per rank besides its data (issue 20's memory estimate), in bytes. */
typedef struct dob_train_mem {
    size_t params;       /* parameters, gradients and optimizer state: (2 + state count) x the arena's floats */
    size_t activations;  /* the net's data and diff buffers at the larger of the training and evaluation batch */
    size_t batch;        /* the trainer's own: gathered batch before augmentation, targets, losses, index lists */
} dob_train_mem;
/** Estimate c's per-rank memory: plans the net at the local batch (the build dob_train starts with, so that one
 *  is then free) and counts the buffers the trainer will allocate. Checks c first (dob_train_check). */
dob_status dob_train_memory(const dob_train_cfg *c, dob_train_mem *m);

typedef enum dob_train_status { DOB_TRAIN_DONE = 0, DOB_TRAIN_DIVERGED = 1, DOB_TRAIN_STOPPED = 2 } dob_train_status;

/** Curves of one run: curve[c] has dob_curve_len(c, num_epochs, n_minibatch) values, NaN where not evaluated. */
typedef struct dob_train_out {
    int64_t num_epochs, n_minibatch, steps_per_epoch;
    union {                            /* the curves (dob/curves.h), by name or walked by index */
        struct { DOB_CURVE_LIST(DOB_CURVE_FIELD) };
        double *curve[DOB_N_CURVES];   /* epoch_seconds: wall time of each evaluation + training epoch */
    };
    double phase_seconds[DOB_N_PHASES];
    int epochs_done;                   /* the last evaluated epoch */
    int64_t evaluated;                 /* evaluation rounds done: curves [0, evaluated) are filled */
    int64_t n_logged;                  /* mini-batch losses logged */
    int64_t steps_done;                /* training steps taken */
    dob_train_status status;
    int64_t diverged_step;             /* global step at which the loss became non-finite, -1 if never */
    float *net_state;                  /* this rank's carried net state (LSTM h, c) when the checkpoint hook runs */
    int64_t net_state_n;               /* ... and its count (0: the net carries none); a resume mid-epoch restores it */
} dob_train_out;

/** Validate the configuration (batch divisible by ranks, sizes, data shapes against the net). */
dob_status dob_train_check(const dob_train_cfg *cfg);
/** The most curve values (epoch curves + logged mini-batch losses, doubles) a run may allocate: 2^27 (1 GiB). */
#define DOB_TRAIN_MAX_CURVE_VALUES 134217728.0
/** Number of mini-batch loss entries a run logs. */
int64_t dob_train_n_minibatch(const dob_train_cfg *cfg);
/** Run the protocol; out is allocated here (dob_train_out_free). */
dob_status dob_train(const dob_train_cfg *cfg, dob_train_out *out);
void dob_train_out_free(dob_train_out *out);

#endif
