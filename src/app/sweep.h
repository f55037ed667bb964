/* sweep.h: the state of `dob sweep` shared by its files: sweep_cmd.c (the command's phases and the trial loop),
 * sweep_plan.c (the trial list of a new sweep from the flags, or of --resume from the file), sweep_rerun.c (the
 * trial list of --rerun-best: a finished sweep's best setting with new seeds) and sweep_summary.c (the table of
 * settings printed at the end). Private to src/app. */
#ifndef DOB_APP_SWEEP_H
#define DOB_APP_SWEEP_H

#include "app.h"
#include "dob/results.h"
#include "dob/sweep.h"

enum { SLOT_NEXT = 0, SLOT_FINISHED, SLOT_STOP, N_SLOTS };

/* ---- trial checkpoints (sweep_ckpt.c) -------------------------------------------------------------------- */
typedef struct sweep_ckpt {
    char path[4200];                    /* "<sweep file>.trial<ID>.ckpt" */
    char config[8192];                  /* the trial's settings, as saved in (and compared with) the checkpoint */
    dob_train_out from;                 /* the loaded state when resumed */
    int resumed;
    int64_t from_steps;                 /* steps_done of the loaded checkpoint */
} sweep_ckpt;

/* ---- the sweep's state -------------------------------------------------------------------------------------- */
typedef struct sweep {
    dob_comm *world, *group;
    int rc;                             /* exit code if the failing phase fails (DOB_EXIT_USAGE: bad input) */
    const char *ctx;                    /* prefix of its message (NULL: none) */
    char path[4096];                    /* the result file */
    char *spec;                         /* /meta sweep_spec of a new sweep: each grid as given, the seeds */
    int64_t n_samples;                  /* random search: settings drawn (0: a grid sweep) */
    int slice_id, slice_count;          /* job-array slice (-1: none) */
    int64_t n_total;                    /* trials of the whole sweep (all slices) */
    dob_sweep_desc d;                   /* --resume: the file's description */
    int G, n_groups, grank;
    const dob_problem_spec *p;
    const dob_optim_ops *opt;
    int n_hp;                           /* 1 + opt->n_hparams: learning rate first */
    const char *hp_names[DOB_OPTIM_MAX_HP + 1];
    const char *labels[DOB_OPTIM_MAX_HP + 1];       /* their flags, for messages: "--lr", "--momentum" */
    char label_buf[DOB_OPTIM_MAX_HP + 1][48];
    int varies[DOB_OPTIM_MAX_HP + 1];   /* hyperparameter differs between the file's trials: print it */
    int64_t bs, epochs, log_interval, max_steps;
    double wd;
    int wd_given;                       /* wd is not the problem's (/meta weight_decay, else NaN) */
    int valid, quiet, sync_bn;
    int cifar100_fix_offset;            /* --cifar100-fix-offset (/meta cifar100_fix_offset) */
    int resuming, threads;              /* --resume; OpenMP threads per rank */
    double ckpt_interval;               /* --checkpoint_interval of the trial checkpoints (sweep_ckpt.c) */
    dob_precision precision;            /* of every trial (/meta precision) */
    dob_conv_algo conv_algo;            /* of every trial (/meta conv_algo) */
    int n_sched;                        /* piecewise learning-rate schedule: factor sched_fac[k] from epoch */
    double sched_ep[DOB_SCHED_MAX], sched_fac[DOB_SCHED_MAX]; /* sched_ep[k] on, relative to each trial's lr */
    char sched_str[4096];                /* the same as "E1:F1,E2:F2" (/meta lr_schedule) */
    app_ctx bn_ctx;                     /* sync-BN sums over the group */
    app_ctx cctx;                       /* the configuration check of the first trial */
    /* the file's trials */
    int n_trials;
    int64_t *ids, *seeds;
    double *hp;                         /* n_trials x n_hp */
    int *todo, n_todo;
    /* runtime */
    dob_dataset train, valid_set, test;
    dob_node_data nd;                   /* the data: one copy per node, whatever the groups (issue 20) */
    app_mem mem;                        /* memory estimate of this rank's node */
    int64_t mem_root;                   /* ... of world rank 0's node (/meta memory_estimate_bytes) */
    dob_net *net;
    dob_results *res;
    dob_counter *ctr;
    double last_poll;
    int stop_published, interrupted, n_failed, n_run;
    sweep_ckpt ckpt;                    /* of the trial this rank's group runs */
} sweep;

/* ---- trial checkpoints (sweep_ckpt.c) -------------------------------------------------------------------- */
/** The checkpoint path of trial i. */
void sweep_ckpt_path(const sweep *s, int i, char *buf, size_t cap);
/** Every rank of the group, before trial i: set ctx's checkpoint fields; with --resume and a checkpoint of exactly
 *  this trial, load it into the net's arena and k->from (k->resumed = 1: pass &k->from as cfg.resume). A missing,
 *  foreign or unreadable checkpoint means step 0 (reported). Fails only if MPI does. */
dob_status sweep_ckpt_prepare(sweep *s, int i, app_ctx *ctx, sweep_ckpt *k);
/** After trial i: free k; the group's rank 0 removes the checkpoint unless keep (the trial was interrupted or
 *  could not be recorded, so a --resume continues it). */
void sweep_ckpt_finish(sweep *s, sweep_ckpt *k, int keep);

/** A new sweep from the flags: problem, optimizer, settings, grids, seeds, slice -> s (trials, to-do list,
 * path, spec). */
dob_status sweep_plan_new(sweep *s, const app_cmd *cmd, const app_opts *o);
/** --resume FILE: everything from the file -> s. */
dob_status sweep_plan_resume(sweep *s, const app_opts *o);
/** The names of the hyperparameters (and their flags, s->labels) of s->opt. */
void sweep_names(sweep *s);
/** The names of the hyperparameters and which of them vary between the trials (for progress lines). */
void sweep_names_and_varies(sweep *s);
/** The trial list of a new sweep from s->spec (dob_sweep_spec_expand, as --resume and merge redo it), cut to
 *  --trials or the job-array slice; s->path = out (a slice: out's .slice<i>); prints the plan (n_seeds seeds per
 *  setting). */
dob_status sweep_expand_spec(sweep *s, const app_opts *o, const char *out, int n_seeds);
/** The file's optimizer (d->optimizer, hyperparameters in the same order) is s->opt; what = "cannot resume 'F'". */
dob_status sweep_check_file_optimizer(const sweep *s, const dob_sweep_desc *d, const char *what);
/** The settings every trial shares (batch, epochs, schedule, precision, ...) from a sweep file's description. */
dob_status sweep_settings_from_file(sweep *s, const dob_sweep_desc *d, int quiet, const char *what);
/** --rerun-best FILE --seeds S: the best setting of the finished sweep FILE (dob analyze's ranking, --mode and
 *  --metric as there) rerun with seeds S into a new sweep file (never an existing one) -> s (sweep_rerun.c). */
dob_status sweep_plan_rerun(sweep *s, const app_opts *o);
/** World rank 0, after the file is closed: the counts and the best settings of the file at path. */
void sweep_print_summary(const char *path, int quiet);

#endif
