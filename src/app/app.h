/* app.h: the dob command-line program (not part of dob_core): subcommands and their shared helpers. */
#ifndef DOB_APP_H
#define DOB_APP_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "dob/comm.h"
#include "dob/data.h"
#include "dob/io.h"
#include "dob/optim.h"
#include "dob/problem.h"
#include "dob/results.h"
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

/* ---- the command and option tables (options.c) ------------------------------------------------------- */
/** The commands, as bits: an option row names the commands that take it. */
enum { APP_RUN = 1u << 0, APP_SWEEP = 1u << 1, APP_MERGE = 1u << 2, APP_EXPORT = 1u << 3, APP_LIST = 1u << 4,
       APP_VERSION = 1u << 5, APP_DATA = 1u << 6, APP_ANALYZE = 1u << 7, APP_RUNTIME = 1u << 8,
       APP_ALL = (1u << 9) - 1 };
/** Maximum positional arguments (dob merge's input files). */
#define APP_MAX_POS 4097
#define APP_MAX_HP_ARGS (DOB_OPTIM_MAX_HP + 8)

/** Every command's options, filled by app_parse_opts from the rows of its command (defaults first). A field is
 * "given" (app_given) when a row writing it appeared on the command line: no sentinel values. */
typedef struct app_opts {
    const char *optimizer, *optimizer_lib, *data_dir, *output_dir, *out, *checkpoint;
    const char *lr_grid, *seeds, *trials, *resume;   /* dob sweep */
    const char *rerun_best;                           /* dob sweep --rerun-best FILE */
    int64_t samples, sample_seed;                     /* dob sweep: random search */
    const char *precision;                            /* --precision f32|bf16 (app_precision) */
    const char *conv_algo;                            /* --conv-algo direct|winograd|auto */
    double lr, wd, ckpt_interval;
    int64_t bs, epochs, seed, log_interval, max_steps, ranks_per_trial;
    double sched_epochs[DOB_SCHED_MAX], sched_factors[DOB_SCHED_MAX];
    int n_sched_epochs, n_sched_factors;
    int print_train_iter, no_logs, quiet, overwrite, valid, no_json, sync_bn, allow_missing, help, verbose;
    int cifar100_fix_offset;
    int keep_checkpoint;                              /* dob run --keep-checkpoint */
    const char *split, *png, *h5;     /* dob data */
    int64_t first;
    int augment;
    const char *an_mode, *metric, *table, *table_format, *conv_perf, *plots; /* dob analyze */
    const char *layout;                                                      /* dob export-json */
    double threshold;
    int64_t top;
    int baselines, quartiles;
    int64_t runs;                                                            /* dob runtime */
    double sgd_lr;
    /* what is not in the table: positional arguments, and `--name VALUE` pairs (optimizer hyperparameters) */
    const char *pos[APP_MAX_POS];
    int n_pos;
    const char *hp_names[APP_MAX_HP_ARGS], *hp_values[APP_MAX_HP_ARGS];
    int n_hp;
    char hp_buf[1024];                /* the names of `--name=VALUE` pairs */
    unsigned char given[64];          /* by row of the option table */
} app_opts;

typedef struct app_cmd app_cmd;
/** A command: runs with the parsed options and the raw arguments (for the command line stored in results).
 * Returns the exit code. */
typedef int (*app_cmd_fn)(dob_comm *world, const app_cmd *cmd, app_opts *o, int argc, char **argv);
struct app_cmd {
    const char *name;
    unsigned bit;                     /* its rows in the option table */
    app_cmd_fn fn;
    int min_pos, max_pos;             /* positional arguments */
    int hparams;                      /* unknown `--name VALUE` pairs are optimizer hyperparameters */
    const char *synopsis, *summary;   /* the line of `dob --help` */
    const char *synopsis2, *summary2; /* optional second line */
    const char *usage;                /* `dob CMD --help`: before the option list */
    const char *notes;                /* after it (may be NULL) */
};
/** The command table (main.c) and its size. */
extern const app_cmd app_cmds[];
extern const int app_n_cmds;

/** Parse argv by the option rows of cmd: `--flag VALUE`, `--flag=VALUE`, switches; bounds checked; a list row
 * takes "a,b" and the plain numbers that follow it (DeepOBS passes lists as separate tokens). Unknown `--name
 * VALUE` pairs go to o->hp_* if cmd->hparams (checked later by app_hp_index); anything else unknown is an error.
 * argv is not modified. */
dob_status app_parse_opts(const app_cmd *cmd, int argc, char **argv, app_opts *o);
/** 1 if an option writing field (a member of o) was given on the command line. */
int app_given(const app_opts *o, const void *field);
/** The name (first alias) of the first option row, of the commands in mask, that was given, or NULL: rows are
 * skipped when their names appear in allowed (space-separated). */
const char *app_given_except(const app_opts *o, unsigned mask, const char *allowed);
/** `dob CMD --help`: the usage text, the generated option list, the notes. */
void app_cmd_usage(const app_cmd *cmd, FILE *f);
/** `dob --help`: the command list. */
void app_usage(FILE *f);
/** *k: the index of hyperparameter name in opt's table (DOB_EINVAL "unknown option ... did you mean" with
 * suggestions from opt's hyperparameters and the flags of cmd if it has none). */
dob_status app_hp_index(const app_cmd *cmd, const dob_optim_ops *opt, const char *name, int *k);
/** The L2 factor: the problem's, or --weight_decay if given (ignored with a warning if the problem has no
 * regulariser, as in DeepOBS). */
double app_weight_decay(dob_comm *world, const dob_problem_spec *p, const app_opts *o);

int cmd_run(dob_comm *world, const app_cmd *cmd, app_opts *o, int argc, char **argv);
struct dob_results_meta;
struct dob_trial_result;
/** When the result file `path` could not be written at the end of a run: write the curves to a fallback file
 *  (rescue.c) and print its path. Collective over world. @return 1 if they were saved. */
int app_rescue_curves(dob_comm *world, const struct dob_results_meta *meta, const struct dob_trial_result *tr,
                      const char *path);
int cmd_sweep(dob_comm *world, const app_cmd *cmd, app_opts *o, int argc, char **argv);
int cmd_merge(dob_comm *world, const app_cmd *cmd, app_opts *o, int argc, char **argv);
int cmd_list(dob_comm *world, const app_cmd *cmd, app_opts *o, int argc, char **argv);
int cmd_export_json(dob_comm *world, const app_cmd *cmd, app_opts *o, int argc, char **argv);
int cmd_version(dob_comm *world, const app_cmd *cmd, app_opts *o, int argc, char **argv);
int cmd_data(dob_comm *world, const app_cmd *cmd, app_opts *o, int argc, char **argv);
int cmd_analyze(dob_comm *world, const app_cmd *cmd, app_opts *o, int argc, char **argv);
int cmd_runtime(dob_comm *world, const app_cmd *cmd, app_opts *o, int argc, char **argv);
struct dob_analysis;
struct dob_an_baselines;
struct dob_an_opts;
/** --mode and --metric (dob analyze, dob sweep --rerun-best) into ao's mode and metric. */
dob_status app_an_opts(const app_opts *o, struct dob_an_opts *ao);
/** `dob analyze --plots DIR`: the plot data and tools/analyze_plots.py's figures in DIR (analyze_plots.c). */
dob_status app_analyze_plots(const struct dob_analysis *a, const struct dob_an_baselines *b, const app_opts *o);

/* ---- one trial (trial.c): shared by run and sweep ------------------------------------------------------- */
/* ---- signals (signals.c) ------------------------------------------------------------------------------- */
/** The last of SIGINT/SIGTERM/SIGUSR1 received since app_catch_signals (0: none). */
extern volatile sig_atomic_t app_stop_signal;
/** First thing in main, before MPI or OpenMP start threads: the three signals go to one waiting thread only
 *  (oneDNN 2.6's JIT GEMM kernels corrupt the heap when a signal interrupts them; signals.c). */
void app_signals_init(void);
/** From now on the three signals set app_stop_signal instead of ending the process. */
void app_catch_signals(void);
/** The problem called name (DOB_EINVAL "unknown test problem ... did you mean" if none). */
dob_status app_find_problem(const char *name, const dob_problem_spec **out);
/** The optimizer: lib (a plugin path) if given, else the built-in name (NULL name: *out = NULL, DOB_OK). */
dob_status app_find_optimizer(const char *name, const char *lib, const dob_optim_ops **out);
/** Print an optimizer's hyperparameter flags. */
void app_optim_help(const dob_optim_ops *o, FILE *f);

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
    const char *precision;            /* "f32" / "bf16": recorded in checkpoints */
    const char *trial_label;          /* sweeps: "trial 3 (lr 0.01 seed 42)": progress as a line every
                                         APP_TRIAL_PROGRESS_S from the group's rank 0 (groups run side by side) */
} app_ctx;
enum { APP_TRIAL_PROGRESS_S = 120 };
dob_status app_hook_sum_float(void *ctx, float *x, size_t n);
dob_status app_hook_sum_double(void *ctx, double *x, size_t n);

/** One trial: everything but the ranks (app_ctx) and the hooks. */
typedef struct app_trial {
    const dob_problem_spec *p;
    const dob_optim_ops *opt;
    const double *hp;                 /* opt->n_hparams values */
    dob_sched sched;                  /* learning rate schedule */
    int64_t bs, epochs, log_interval, max_steps, seed;
    double wd;                        /* L2 factor used if the problem has a regulariser */
    const dob_dataset *train, *valid, *test; /* valid NULL: no validation split */
    dob_net *net;
} app_trial;
/** Check --lr_sched_epochs / --lr_sched_factors (n_e and n_f values: equally long, whole epochs) and build the
 *  schedule for base rate lr (constant if both are empty). */
dob_status app_make_sched(double lr, int n_e, const double *ep, int n_f, const double *fac, dob_sched *out);
/** "E1:F1,E2:F2" (factors %.17g: exact), "" for none; and back (DOB_EINVAL naming the text if malformed). */
void app_sched_str(int n, const double *ep, const double *fac, char *buf, size_t cap);
dob_status app_sched_parse(const char *s, double *ep, double *fac, int max, int *n);
/** --precision: NULL or "f32" -> DOB_F32, "bf16" -> DOB_BF16 if this CPU computes bf16 natively. @return 0, or
 *  -1 after printing the one-line error (an unknown value, or bf16 on a CPU below oneDNN's avx512_core_bf16). */
int app_precision(dob_comm *world, const char *s, dob_precision *out);
/** --conv-algo: NULL -> direct; else dob_conv_algo_parse, and a note on stderr (quiet: none) when this CPU has no
 *  Winograd kernels, so that every convolution runs direct. */
dob_status app_conv_algo(const char *s, int quiet, dob_conv_algo *out);
/** The settings that fix a trial's trajectory, for its checkpoint's config string (app_ckpt_config). */
typedef struct app_ckpt_settings {
    const dob_problem_spec *p;
    const dob_optim_ops *opt;
    double lr;
    const double *hp;                   /* opt->n_hparams values */
    int64_t bs, epochs, seed, log_interval, max_steps;
    double wd;                          /* weight decay (written as 0 when the problem has no L2) */
    int valid, sync_bn, ranks, cifar100_fix_offset;
    const char *sched;                  /* app_sched_str's text ("" for a constant rate) */
    dob_precision prec;
    dob_conv_algo algo;
} app_ckpt_settings;
/** The checkpoint config string of c ("problem=... optimizer=... lr=... batch_size=... sched=..."): a checkpoint
 *  continues only the run whose string is the same. */
void app_ckpt_config(const app_ckpt_settings *c, char *buf, size_t cap);
/** The trainer's checkpoint hook for `dob run --checkpoint` (ctx: app_ctx with ckpt_* set). */
void app_hook_checkpoint(void *ctx, const dob_train_out *o);
/** A trial's row of the result file from the trainer's curves (views into out; hp: learning rate first). */
dob_trial_result app_trial_result(const dob_train_out *out, const double *hp, int64_t seed, dob_trial_status st);
/** The trainer configuration of t over ctx->comm (hooks bound to ctx; progress lines if progress; the
 *  checkpoint hook if ctx->ckpt_path). */
void app_trial_cfg(const app_trial *t, app_ctx *ctx, int progress, dob_train_cfg *cfg);
/** A rate in 3 significant digits, without an exponent from 100 up ("11362", "99.7", "0.0949"). */
void app_fmt_rate(double x, char *buf, size_t n);

/* ---- the memory a run needs (memory.c, issue 20) ----------------------------------------------------------- */
/** The estimate for this rank's node, in bytes: the data (one copy per node when shared, else one per rank),
 *  and per rank the net's parameters, gradients and optimizer state, its activations and the trainer's buffers,
 *  plus a process's fixed cost (APP_MEM_PROCESS). Known buffers only: allocator slack and oneDNN's scratchpads
 *  are not in it. */
typedef struct app_mem {
    size_t data;                      /* one copy of the three splits */
    int data_copies;                  /* on this node: 1 (shared window) or the ranks */
    int ranks;                        /* ranks of the job on this node */
    dob_train_mem rank;               /* per rank */
    double node;                      /* the total for the node */
    double available;                 /* MemAvailable of the node (0: unknown) */
} app_mem;
/** A process's fixed cost: code, MPI, oneDNN and OpenMP runtimes (measured: 25 MB RSS for quadratic_deep). */
#define APP_MEM_PROCESS ((size_t)25 << 20)
/** Plan cfg's net (dob_train_memory) and sum the estimate for this node. */
dob_status app_mem_estimate(const dob_train_cfg *cfg, const dob_node_data *nd, app_mem *m);
/** One line per part of the estimate (for -v), to f. */
void app_mem_print(const app_mem *m, FILE *f);
/** DOB_ENOMEM with the numbers and what to change when the estimate exceeds MemAvailable. */
dob_status app_mem_check(const app_mem *m, int64_t local_batch);



#endif
