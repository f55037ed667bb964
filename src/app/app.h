/* app.h: the dob command-line program (not part of dob_core): subcommands and their shared helpers. */
#ifndef DOB_APP_H
#define DOB_APP_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "dob/comm.h"
#include "dob/data.h"
#include "dob/optim.h"
#include "dob/problem.h"
#include "dob/sched.h"
#include "dob/status.h"
#include "dob/trainer.h"

/* Exit codes */
enum { DOB_EXIT_OK = 0, DOB_EXIT_FAIL = 1, DOB_EXIT_USAGE = 2, DOB_EXIT_INTERRUPTED = 3 };

/** Print "dob: error: <msg>" (and the failure site with DOB_DEBUG=1) on rank 0. */
void app_error(dob_comm *world, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** Print the last dob error with a context prefix. */
void app_status_error(dob_comm *world, const char *context);
int app_is_root(dob_comm *world);

/* ---- option parsing ---------------------------------------------------------------------------------- */
/** Parse a finite double; on error sets the message "--flag: expected a number, found 'x'". */
dob_status app_parse_double(const char *flag, const char *s, double *out);
dob_status app_parse_int(const char *flag, const char *s, int64_t *out);
/** Parse "a,b,c" or several tokens into up to max values. */
dob_status app_parse_double_list(const char *flag, const char *s, double *out, int max, int *n);
/** @return the closest name in names[0..n) to s by edit distance if it is close, else NULL. */
const char *app_suggest(const char *s, const char *const *names, int n);

/** One flag of a subcommand's table. */
typedef enum { APP_STR, APP_INT, APP_DOUBLE, APP_SWITCH, APP_LIST } app_opt_kind;
typedef struct app_opt {
    const char *names;  /* the flag and its aliases, space-separated; the first names it in messages */
    app_opt_kind kind;
    void *dst;          /* const char **, int64_t *, double *, int * (switch: set to 1), double[max] (list) */
    int *given;         /* optional: set to 1 when the flag is given; APP_LIST: the number of values (required) */
    int max;            /* APP_LIST: capacity of dst */
} app_opt;
/** What is not in the table: the positional argument and `--name VALUE` pairs (optimizer hyperparameters). */
typedef struct app_args {
    const char *positional;
    const char *hp_names[DOB_OPTIM_MAX_HP + 8];
    const char *hp_values[DOB_OPTIM_MAX_HP + 8];
    int n_hp;
} app_args;
/** Parse argv by the table: `--flag VALUE`, `--flag=VALUE`, switches; APP_LIST takes "a,b" and the plain
 * numbers that follow it (DeepOBS passes lists as separate tokens). Unknown `--name VALUE` pairs go to
 * args->hp_* (checked later by app_hp_index); anything else unknown is an error. */
dob_status app_parse_opts(int argc, char **argv, const app_opt *opts, int n_opts, app_args *args);
/** The index of hyperparameter name in opt's table, or -1 after printing "unknown option ... did you mean"
 * (suggestions from opt's hyperparameters and the flags of opts). cmd: "run" or "sweep", for the hint. */
int app_hp_index(dob_comm *world, const char *cmd, const dob_optim_api *opt, const char *name, const app_opt *opts,
                 int n_opts);
/** The L2 factor: the problem's, or --weight_decay if given (>= 0; ignored with a warning if the problem has no
 * regulariser, as in DeepOBS). @return 0, or -1 after printing the error. */
int app_weight_decay(dob_comm *world, const dob_problem_spec *p, int have_wd, double wd, double *out);

int cmd_run(dob_comm *world, int argc, char **argv);
int cmd_sweep(dob_comm *world, int argc, char **argv);
int cmd_merge(dob_comm *world, int argc, char **argv);

/* ---- one trial (trial.c): shared by run and sweep ------------------------------------------------------- */
/** The last of SIGINT/SIGTERM/SIGUSR1 received (0: none); set by the handlers of app_catch_signals. */
extern volatile sig_atomic_t app_stop_signal;
void app_catch_signals(void);
/** The problem called name, or NULL after printing "unknown test problem ... did you mean" on rank 0. */
const dob_problem_spec *app_find_problem(dob_comm *world, const char *name);
/** The optimizer: lib (a plugin path) if given, else the built-in name (NULL name: *out = NULL, DOB_OK). */
dob_status app_find_optimizer(const char *name, const char *lib, const dob_optim_api **out);
/** Print an optimizer's hyperparameter flags. */
void app_optim_help(const dob_optim_api *o, FILE *f);

/** Hook context of one trial: comm is the trial's ranks (the world for `run`, a group for `sweep`). */
typedef struct app_ctx {
    dob_comm *comm;
    int quiet, tty, print_train_iter;
    double last_plain;
    const dob_train_out *out;
    int64_t printed_minibatch;
    int (*poll_stop)(void *poll_ctx); /* optional: polled by the comm's rank 0 every step; nonzero stops */
    void *poll_ctx;
    /* checkpoints (`dob run --checkpoint`; all zero for sweeps) */
    const char *ckpt_path, *ckpt_config;
    dob_arena *arena;
    double ckpt_interval;             /* seconds between mid-epoch checkpoints (<= 0: only after epochs) */
    double last_ckpt;                 /* dob_comm_wtime of the last save (rank 0) */
    int threads, ckpt_ok;             /* ckpt_ok: the last save succeeded */
    int64_t ckpt_steps;               /* steps_done of the last successful save */
    int ckpt_have;                    /* a checkpoint of this run is on disk: saved by it, or resumed from */
} app_ctx;
dob_status app_hook_sum_float(void *ctx, float *x, size_t n);
dob_status app_hook_sum_double(void *ctx, double *x, size_t n);

/** One trial: everything but the ranks (app_ctx) and the hooks. */
typedef struct app_trial {
    const dob_problem_spec *p;
    const dob_optim_api *opt;
    const double *hp;                 /* opt->n_hparams values */
    dob_sched sched;                  /* learning rate schedule */
    int64_t bs, epochs, log_interval, max_steps, seed;
    double wd;                        /* L2 factor used if the problem has a regulariser */
    const dob_dataset *train, *valid, *test; /* valid NULL: no validation split */
    dob_net *net;
} app_trial;
/** Check --lr_sched_epochs / --lr_sched_factors (n_e and n_f values: equally long, whole epochs) and build the
 *  schedule for base rate lr (constant if both are empty). @return 0, or -1 after printing the error. */
int app_make_sched(dob_comm *world, double lr, int n_e, const double *ep, int n_f, const double *fac, dob_sched *out);
/** "E1:F1,E2:F2" (factors %.17g: exact), "" for none; and back (DOB_EINVAL naming the text if malformed). */
void app_sched_str(int n, const double *ep, const double *fac, char *buf, size_t cap);
dob_status app_sched_parse(const char *s, double *ep, double *fac, int max, int *n);
/** The trainer's checkpoint hook for `dob run --checkpoint` (ctx: app_ctx with ckpt_* set). */
void app_hook_checkpoint(void *ctx, const dob_train_out *o);
/** The trainer configuration of t over ctx->comm (hooks bound to ctx; progress lines if progress; the
 *  checkpoint hook if ctx->ckpt_path). */
void app_trial_cfg(const app_trial *t, app_ctx *ctx, int progress, dob_train_cfg *cfg);



#endif
