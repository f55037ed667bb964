/* options.c: the option table of every dob command, its parser and the usage text generated from it.
 *
 * One row per flag (redis's config table is the model): its names, the commands that take it, kind, where it is
 * stored in app_opts, bounds, default and help. The parser applies the defaults, reads argv, checks the bounds
 * and records which rows were given, so "not given" is never a sentinel value (a negative --bs is an error, not
 * "the problem's"). `dob CMD --help` lists the command's rows, with bounds and defaults taken from the row, so the
 * text cannot drift from what the parser accepts.
 *
 * Adding an option: one row below (and a field in app_opts for its value); the command reads the field.
 * It does not: check what depends on several flags or on the problem (the commands do), or know the optimizer
 * hyperparameters (they come from the optimizer's own table: app_hp_index). */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"

typedef enum { OPT_STR, OPT_INT, OPT_DOUBLE, OPT_SWITCH, OPT_LIST } opt_kind;
enum {
    OPT_LO_OPEN = 1,  /* the lower bound is excluded ("> 0") */
    OPT_DEF_SHOWN = 2 /* def is only shown in the usage text (the command fills the value, e.g. the problem's) */
};

typedef struct opt_row {
    const char *names;   /* the flag and its aliases, space-separated; the first names it in messages */
    unsigned cmds;       /* APP_RUN | APP_SWEEP ...: the commands that take it */
    opt_kind kind;
    size_t off;          /* offsetof(app_opts, field): const char *, int64_t, double, int (switch), double[] */
    size_t n_off;        /* OPT_LIST: offsetof the int count of values */
    double lo, hi;       /* OPT_INT, OPT_DOUBLE: accepted range (closed unless OPT_LO_OPEN) */
    int flags;
    const char *def;     /* default (applied before parsing unless OPT_DEF_SHOWN), shown in the usage text */
    const char *metavar; /* the value in the usage text: N, X, FILE.h5 */
    const char *help;    /* "\n" continues on the next line of the usage text */
} opt_row;

#define OFF(f) offsetof(app_opts, f)
#define NOLIM -INFINITY, INFINITY
#define RS (APP_RUN | APP_SWEEP)
/* clang-format off */
static const opt_row rows[] = {
    {"--optimizer", RS | APP_RUNTIME, OPT_STR, OFF(optimizer), 0, NOLIM, 0, NULL, "NAME",
     "sgd, momentum, nesterov, adam, adamw, rmsprop, adagrad, adadelta"},
    {"--optimizer-lib --optimizer_lib", RS | APP_RUNTIME, OPT_STR, OFF(optimizer_lib), 0, NOLIM, 0, NULL, "PATH.so",
     "load an external optimizer (C ABI of include/dob/optim.h)"},
    {"--lr --learning_rate", APP_RUN | APP_RUNTIME, OPT_DOUBLE, OFF(lr), 0, NOLIM, 0, NULL, "X",
     "learning rate (required)"},
    {"--sgd-lr --sgd_lr", APP_RUNTIME, OPT_DOUBLE, OFF(sgd_lr), 0, 0, INFINITY, OPT_LO_OPEN, "0.01", "X",
     "learning rate of the SGD runs (DeepOBS 1.2's estimate_runtime: 0.01)"},
    {"--runs", APP_RUNTIME, OPT_INT, OFF(runs), 0, 1, 1000, 0, "5", "N",
     "interleaved pairs of runs (SGD, then the optimizer)"},
    {"--lr --learning_rate", APP_SWEEP, OPT_STR, OFF(lr_grid), 0, NOLIM, 0, NULL, "GRID",
     "learning rates (required): log:LO:HI:N (N log-spaced values, ends included;\n"
     "DeepOBS's grid is log:1e-5:1e2:36), lin:LO:HI:N, a list A,B,C, or one value;\n"
     "with --samples a distribution: loguniform:LO:HI (0 < LO < HI) or\n"
     "uniform:LO:HI (LO < HI). An optimizer hyperparameter --NAME takes a GRID too"},
    {"--samples", APP_SWEEP, OPT_INT, OFF(samples), 0, 1, 100000, 0, NULL, "N",
     "random search (DeepOBS 1.2's tuner): N settings drawn from the distributions\n"
     "(Philox keyed by --sample-seed and the sample index: every slice, resume\n"
     "and merge draws the same), each run with every seed; the other\n"
     "hyperparameters take one value each"},
    {"--sample-seed --sample_seed", APP_SWEEP, OPT_INT, OFF(sample_seed), 0, 0, INFINITY, 0, "0", "S",
     "seed of the --samples draws (not of the trials: --seeds)"},
    {"--rerun-best --rerun_best", APP_SWEEP, OPT_STR, OFF(rerun_best), 0, NOLIM, 0, NULL, "FILE.h5",
     "rerun the best setting of the finished sweep FILE (dob analyze's ranking:\n"
     "--mode, --metric) with --seeds into a new sweep file (--out, default\n"
     "FILE's stem + .best.h5; never an existing file)"},
    {"--seeds --random_seed -r --seed", APP_SWEEP, OPT_STR, OFF(seeds), 0, NOLIM, 0, "42", "SEEDS",
     "A:B (inclusive), A,B,C or A"},
    {"--random_seed -r --seed", APP_RUN | APP_RUNTIME, OPT_INT, OFF(seed), 0, 0, INFINITY, 0, "42", "N",
     "seed of init, shuffling and dropout"},
    {"--bs --batch_size", RS | APP_RUNTIME, OPT_INT, OFF(bs), 0, 0, INFINITY, OPT_LO_OPEN | OPT_DEF_SHOWN, "the problem's", "N",
     "global batch size"},
    {"--num_epochs -N", RS, OPT_INT, OFF(epochs), 0, 0, 100000, OPT_DEF_SHOWN, "the problem's", "N", "epochs"},
    {"--num_epochs -N", APP_RUNTIME, OPT_INT, OFF(epochs), 0, 1, 100000, 0, "3", "N",
     "epochs of every run (DeepOBS's runtime estimate: 3)"},
    {"--weight_decay --wd", RS | APP_RUNTIME, OPT_DOUBLE, OFF(wd), 0, 0, INFINITY, OPT_DEF_SHOWN, "the problem's", "X",
     "L2 factor of the problem's regulariser"},
    {"--lr_sched_epochs", RS, OPT_LIST, OFF(sched_epochs), OFF(n_sched_epochs), NOLIM, 0, NULL, "E1,E2",
     "epochs at which the learning rate changes (DeepOBS schedule)"},
    {"--lr_sched_factors", RS, OPT_LIST, OFF(sched_factors), OFF(n_sched_factors), NOLIM, 0, NULL, "F1,F2",
     "factors (relative to --lr) from those epochs on"},
    {"--train_log_interval", RS, OPT_INT, OFF(log_interval), 0, 1, INFINITY, 0, "10", "N",
     "log the mini-batch loss every N steps"},
    {"--print_train_iter", APP_RUN, OPT_SWITCH, OFF(print_train_iter), 0, NOLIM, 0, NULL, NULL,
     "print every logged mini-batch loss"},
    {"--data_dir", RS | APP_DATA | APP_RUNTIME, OPT_STR, OFF(data_dir), 0, NOLIM, OPT_DEF_SHOWN,
     "$DOB_DATA_DIR, then the data set's install location", "DIR", "data root"},
    {"--valid", RS, OPT_SWITCH, OFF(valid), 0, NOLIM, 0, NULL, NULL,
     "carve DeepOBS 1.2's validation split off the training set"},
    {"--cifar100-fix-offset --cifar100_fix_offset", RS | APP_DATA, OPT_SWITCH, OFF(cifar100_fix_offset), 0, NOLIM, 0,
     NULL, NULL,
     "read CIFAR-100 images from the right byte; DeepOBS TF reads them one byte\n"
     "early (the default here, so numbers compare with its baselines)"},
    {"--output_dir", APP_RUN, OPT_STR, OFF(output_dir), 0, NOLIM, 0, "results", "DIR", "where results go"},
    {"--out", APP_RUN, OPT_STR, OFF(out), 0, NOLIM, OPT_DEF_SHOWN, "OUTPUT_DIR/PROBLEM__OPT__lr..__seed..__TIME.h5",
     "FILE.h5", "exact result file"},
    {"--out", APP_SWEEP, OPT_STR, OFF(out), 0, NOLIM, 0, NULL, "FILE.h5",
     "the result file (required but with --rerun-best; job-array slice i writes\n"
     "FILE.slice<i>.h5)"},
    {"--ranks-per-trial --ranks_per_trial", APP_SWEEP, OPT_INT, OFF(ranks_per_trial), 0, 1, INFINITY, 0, "1", "G",
     "ranks per trial; must divide the number of ranks (--resume: the file's unless given)"},
    {"--trials", APP_SWEEP, OPT_STR, OFF(trials), 0, NOLIM, 0, NULL, "A:B",
     "run only the trials with global ids A..B (inclusive)"},
    {"--resume", APP_SWEEP, OPT_STR, OFF(resume), 0, NOLIM, 0, NULL, "FILE.h5",
     "rerun the pending, running and failed trials of FILE (done and diverged\n"
     "trials are final); the sweep's settings come from the file. Never while\n"
     "another sweep still writes FILE: its running trials would run twice"},
    {"--overwrite", RS | APP_MERGE, OPT_SWITCH, OFF(overwrite), 0, NOLIM, 0, NULL, NULL,
     "replace an existing result file"},
    {"--allow-missing --allow_missing", APP_MERGE, OPT_SWITCH, OFF(allow_missing), 0, NOLIM, 0, NULL, NULL,
     "write the trials in none of the inputs as pending (with the hyperparameters\n"
     "and seed of the sweep's grid), so `dob sweep --resume OUT.h5` runs them;\n"
     "without it a missing slice file is an error naming the trials and slices"},
    {"--no_json", APP_RUN, OPT_SWITCH, OFF(no_json), 0, NOLIM, 0, NULL, NULL, "do not also write DeepOBS JSON"},
    {"--no_logs", APP_RUN, OPT_SWITCH, OFF(no_logs), 0, NOLIM, 0, NULL, NULL,
     "write no result files (so --out and --output_dir are refused with it)"},
    {"--sync-bn --sync_bn", RS, OPT_SWITCH, OFF(sync_bn), 0, NOLIM, 0, NULL, NULL,
     "batch-norm statistics over all ranks of a trial (default: per rank)"},
    {"--precision", RS, OPT_STR, OFF(precision), 0, NOLIM, 0, "f32", "f32|bf16",
     "compute precision of conv/dense/pooling (f32 is DeepOBS's); bf16 needs a CPU\n"
     "with native bf16 (oneDNN ISA avx512_core_bf16: Zen 4+, Sapphire Rapids)"},
    {"--conv-algo --conv_algo", RS | APP_RUNTIME, OPT_STR, OFF(conv_algo), 0, NOLIM, 0, "direct", "direct|winograd|auto",
     "algorithm of the 3x3 stride-1 convolutions: direct (the reference), winograd\n"
     "(F(4x4,3x3), other rounding: oneDNN's kernels on AVX-512, dob's own below, for\n"
     "multiple-of-8 channel counts) or auto (oneDNN's choice per layer: direct below\n"
     "AVX-512); without a Winograd kernel a layer runs direct"},
    {"--max_steps", RS, OPT_INT, OFF(max_steps), 0, 0, INFINITY, 0, "0", "N",
     "stop after N training steps and evaluate; 0: no limit"},
    {"--checkpoint", APP_RUN, OPT_STR, OFF(checkpoint), 0, NOLIM, 0, NULL, "FILE",
     "save the run's state to FILE after every epoch, every --checkpoint_interval\n"
     "and on SIGINT/SIGTERM/SIGUSR1 (then exit 3, no result file yet); if FILE\n"
     "exists, continue the run it holds (bit-identical at equal ranks/threads):\n"
     "rerun the same command. Removed once the result file is written"},
    {"--keep-checkpoint --keep_checkpoint", APP_RUN, OPT_SWITCH, OFF(keep_checkpoint), 0, NOLIM, 0, NULL, NULL,
     "with --checkpoint: save the finished run's final state to FILE and keep it\n"
     "(for tools/vae_grid.py and other readers of the trained parameters)"},
    {"--checkpoint_interval", RS, OPT_DOUBLE, OFF(ckpt_interval), 0, 0, INFINITY, 0, "1800", "S",
     "seconds between checkpoints within an epoch; 0: after epochs only"},
    {"--split", APP_DATA, OPT_STR, OFF(split), 0, NOLIM, 0, "train", "SPLIT",
     "train (v1.1: the whole training set), valid (v1.2's split) or test"},
    {"--first", APP_DATA, OPT_INT, OFF(first), 0, 1, 1e6, 0, "64", "N", "the first N examples of the split"},
    {"--augment", APP_DATA, OPT_SWITCH, OFF(augment), 0, NOLIM, 0, NULL, NULL,
     "apply the training augmentation (keyed as training step 0, seed 42)"},
    {"--png", APP_DATA, OPT_STR, OFF(png), 0, NOLIM, 0, NULL, "FILE.png", "write a labelled grid of the images"},
    {"--h5", APP_DATA, OPT_STR, OFF(h5), 0, NOLIM, 0, NULL, "FILE.h5",
     "write x (float32 N x H x W x C) and y (int64) with the preprocessing named"},
    {"--layout", APP_EXPORT, OPT_STR, OFF(layout), 0, NOLIM, 0, "1.1", "1.1|1.2",
     "DeepOBS's JSON layout: 1.1 (TensorFlow 1.1 runner) or 1.2 (1.2 runners: keys\n"
     "optimizer_name, optimizer_hyperparams, training_params, valid_*; its folder names)"},
    {"--mode", APP_ANALYZE | APP_SWEEP, OPT_STR, OFF(an_mode), 0, NOLIM, 0, "most", "final|best|most",
     "how each optimizer's setting is chosen (DeepOBS 1.2): best final value,\n"
     "best value over the epochs, or most seeds (final if all have as many);\n"
     "dob sweep: of --rerun-best"},
    {"--metric", APP_ANALYZE | APP_SWEEP, OPT_STR, OFF(metric), 0, NOLIM, 0, "valid_accuracies", "CURVE",
     "the curve that ranks the settings; if not recorded, DeepOBS's fallbacks\n"
     "valid_losses, then test_losses (DeepOBS 1.1 ranked by test_accuracies);\n"
     "dob sweep: of --rerun-best"},
    {"--table", APP_ANALYZE, OPT_STR, OFF(table), 0, NOLIM, 0, NULL, "FILE",
     "also write the table to FILE (never replaced)"},
    {"--table-format --table_format", APP_ANALYZE, OPT_STR, OFF(table_format), 0, NOLIM, OPT_DEF_SHOWN,
     "FILE's extension .md/.tex/.csv, else md", "md|latex|csv",
     "format of --table (without --table: printed instead of the terminal table)"},
    {"--baselines", APP_ANALYZE, OPT_SWITCH, OFF(baselines), 0, NOLIM, 0, NULL, NULL,
     "add DeepOBS's published SGD/Momentum/Adam rows (paper table) of each problem"},
    {"--threshold", APP_ANALYZE, OPT_DOUBLE, OFF(threshold), 0, NOLIM, 0, NULL, "X",
     "convergence threshold of the speed column for every problem (accuracies\n"
     "as fractions); default: tools/baselines/convergence_thresholds.csv"},
    {"--conv-perf --conv_perf", APP_ANALYZE, OPT_STR, OFF(conv_perf), 0, NOLIM, 0, NULL, "FILE.json",
     "DeepOBS's convergence_performance.json ({\"problem\": value}); overrides the\n"
     "shipped thresholds of the problems it names"},
    {"--plots", APP_ANALYZE, OPT_STR, OFF(plots), 0, NOLIM, 0, NULL, "DIR",
     "write DeepOBS's figures (PNG and PDF) into DIR: performance per benchmark set,\n"
     "learning-rate sensitivity (tools/analyze_plots.py, matplotlib)"},
    {"--quartiles", APP_ANALYZE, OPT_SWITCH, OFF(quartiles), 0, NOLIM, 0, NULL, NULL,
     "--plots draws median and quartiles instead of mean and std"},
    {"--top", APP_ANALYZE, OPT_INT, OFF(top), 0, 0, 1000000, 0, "0", "N",
     "also list the N best settings of every optimizer"},
    {"--quiet", RS | APP_RUNTIME, OPT_SWITCH, OFF(quiet), 0, NOLIM, 0, NULL, NULL, "print only errors and the final summary"},
    {"--verbose -v", RS, OPT_SWITCH, OFF(verbose), 0, NOLIM, 0, NULL, NULL,
     "print how the data is held (one copy per node) and the memory estimate\n"
     "before training (data per node, net and optimizer state, activations at the\n"
     "batch size; also in /meta memory_estimate_bytes). A run whose estimate\n"
     "exceeds the node's MemAvailable stops before training, with or without -v"},
    {"--help -h", APP_ALL, OPT_SWITCH, OFF(help), 0, NOLIM, 0, NULL, NULL, "this text"},
};
/* clang-format on */
enum { N_ROWS = (int)(sizeof rows / sizeof rows[0]) };
_Static_assert(N_ROWS <= (int)sizeof(((app_opts *)0)->given), "app_opts.given has a flag per row");

/* ---- names ------------------------------------------------------------------------------------------------ */
/* Does name equal one of the space-separated aliases in names? */
static int opt_matches(const char *names, const char *name) {
    size_t l = strlen(name);
    for (const char *p = names; *p;) {
        size_t k = strcspn(p, " ");
        if (k == l && !strncmp(p, name, l)) return 1;
        p += k;
        while (*p == ' ') p++;
    }
    return 0;
}

/* The first alias of names into buf (for messages). */
static const char *opt_label(const char *names, char *buf, size_t cap) {
    size_t k = strcspn(names, " ");
    snprintf(buf, cap, "%.*s", (int)k, names);
    return buf;
}

static int row_of(const app_cmd *cmd, const char *name) {
    for (int k = 0; k < N_ROWS; k++)
        if ((rows[k].cmds & cmd->bit) && opt_matches(rows[k].names, name)) return k;
    return -1;
}

/* The long flags of cmd's rows without "--", into names[] (backed by pool): for "did you mean". */
static int long_flags(const app_cmd *cmd, const char **names, int max, char *pool, size_t cap) {
    int n = 0;
    size_t used = 0;
    for (int j = 0; j < N_ROWS; j++) {
        if (!(rows[j].cmds & cmd->bit)) continue;
        for (const char *p = rows[j].names; *p && n < max;) {
            size_t l = strcspn(p, " ");
            if (l > 2 && !strncmp(p, "--", 2) && used + l < cap) {
                memcpy(pool + used, p + 2, l - 2);
                pool[used + l - 2] = '\0';
                names[n++] = pool + used;
                used += l - 1;
            }
            p += l;
            while (*p == ' ') p++;
        }
    }
    return n;
}

/* ---- values ----------------------------------------------------------------------------------------------- */
/* "must be > 0", "must be in [0, 100000]": the row's bounds as text. */
static void bound_text(const opt_row *r, char *buf, size_t cap) {
    const char *open = (r->flags & OPT_LO_OPEN) ? "(" : "[";
    if (isfinite(r->lo) && isfinite(r->hi))
        snprintf(buf, cap, "in %s%.10g, %.10g]", open, r->lo, r->hi);
    else if (isfinite(r->lo))
        snprintf(buf, cap, "%s %.10g", (r->flags & OPT_LO_OPEN) ? ">" : ">=", r->lo);
    else if (isfinite(r->hi))
        snprintf(buf, cap, "<= %.10g", r->hi);
    else
        buf[0] = '\0';
}

static int in_bounds(const opt_row *r, double v) {
    if (r->flags & OPT_LO_OPEN ? !(v > r->lo) : !(v >= r->lo)) return 0;
    return v <= r->hi;
}

static dob_status set_value(const opt_row *r, const char *val, app_opts *o) {
    dob_status st = DOB_OK;
    char label[64], b[96];
    void *dst = (char *)o + r->off;
    opt_label(r->names, label, sizeof label);
    switch (r->kind) {
    case OPT_STR: *(const char **)dst = val; return DOB_OK;
    case OPT_SWITCH: *(int *)dst = 1; return DOB_OK;
    case OPT_LIST: return app_parse_double_list(label, val, dst, DOB_SCHED_MAX, (int *)((char *)o + r->n_off));
    case OPT_INT: {
        int64_t v = 0;
        DOB_TRY(app_parse_int(label, val, &v));
        bound_text(r, b, sizeof b);
        if (!in_bounds(r, (double)v)) return DOB_FAIL(DOB_EINVAL, "%s must be %s, found %s", label, b, val);
        *(int64_t *)dst = v;
        return DOB_OK;
    }
    case OPT_DOUBLE: {
        double v = 0;
        DOB_TRY(app_parse_double(label, val, &v));
        bound_text(r, b, sizeof b);
        if (!in_bounds(r, v)) return DOB_FAIL(DOB_EINVAL, "%s must be %s, found %s", label, b, val);
        *(double *)dst = v;
        return DOB_OK;
    }
    }
    return DOB_FAIL(DOB_EINTERNAL, "option %s: unknown kind %d", label, (int)r->kind);
fail:
    return st;
}

/* ---- parsing ---------------------------------------------------------------------------------------------- */
static dob_status apply_defaults(const app_cmd *cmd, app_opts *o) {
    dob_status st = DOB_OK;
    for (int k = 0; k < N_ROWS; k++)
        if ((rows[k].cmds & cmd->bit) && rows[k].def && !(rows[k].flags & OPT_DEF_SHOWN))
            DOB_TRY(set_value(&rows[k], rows[k].def, o));
fail:
    return st;
}

/* A flag that is no row of cmd and no hyperparameter: "unknown option", with the closest flag. */
static dob_status unknown_option(const app_cmd *cmd, const char *name) {
    char pool[2048];
    const char *names[96];
    int n = long_flags(cmd, names, 96, pool, sizeof pool);
    const char *s = strncmp(name, "--", 2) ? NULL : app_suggest(name + 2, names, n);
    return DOB_FAIL(DOB_EINVAL, "unknown option '%s'%s%s%s", name, s ? ", did you mean '--" : "", s ? s : "",
                    s ? "'?" : "");
}

/* A `--name VALUE` pair that is no row: an optimizer hyperparameter (the command takes them). */
static dob_status add_hparam(const char *name, const char *val, app_opts *o) {
    if (o->n_hp == APP_MAX_HP_ARGS) return DOB_FAIL(DOB_EINVAL, "too many options");
    size_t used = 0;
    for (int i = 0; i < o->n_hp; i++) used += strlen(o->hp_names[i]) + 1;
    size_t l = strlen(name + 2);
    if (used + l + 1 > sizeof o->hp_buf) return DOB_FAIL(DOB_EINVAL, "option names too long");
    memcpy(o->hp_buf + used, name + 2, l + 1);
    o->hp_names[o->n_hp] = o->hp_buf + used;
    o->hp_values[o->n_hp++] = val;
    return DOB_OK;
}

static dob_status add_positional(const app_cmd *cmd, const char *a, app_opts *o) {
    if (o->n_pos < cmd->max_pos) {
        o->pos[o->n_pos++] = a;
        return DOB_OK;
    }
    if (cmd->max_pos == 1 && cmd->hparams)
        return DOB_FAIL(DOB_EINVAL, "unexpected argument '%s' (the problem is '%s')", a, o->pos[0]);
    return DOB_FAIL(DOB_EINVAL, "unexpected argument '%s' (usage: dob %s)", a, cmd->synopsis);
}

dob_status app_parse_opts(const app_cmd *cmd, int argc, char **argv, app_opts *o) {
    dob_status st = DOB_OK;
    DOB_TRY(apply_defaults(cmd, o));
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *val = NULL;
        char name[128];
        if (a[0] != '-' || !a[1]) {
            DOB_TRY(add_positional(cmd, a, o));
            continue;
        }
        snprintf(name, sizeof name, "%s", a);
        char *eq = strchr(name, '=');
        if (eq) {
            *eq = '\0';
            val = a + (eq - name) + 1;
        }
        int k = row_of(cmd, name);
        if (k < 0 && (!cmd->hparams || strncmp(name, "--", 2) || !name[2])) return unknown_option(cmd, name);
        const int takes_value = k < 0 || rows[k].kind != OPT_SWITCH;
        if (takes_value && !val) {
            if (i + 1 >= argc) return DOB_FAIL(DOB_EINVAL, "option '%s' needs a value", name);
            val = argv[++i];
        } else if (!takes_value && val) {
            return DOB_FAIL(DOB_EINVAL, "option '%s' takes no value", name);
        }
        if (k < 0) {
            DOB_TRY(add_hparam(name, val, o));
            continue;
        }
        DOB_TRY(set_value(&rows[k], val, o));
        if (rows[k].kind == OPT_LIST)
            while (i + 1 < argc && argv[i + 1][0] != '-') DOB_TRY(set_value(&rows[k], argv[++i], o));
        o->given[k] = 1;
    }
fail:
    return st;
}

int app_given(const app_opts *o, const void *field) {
    size_t off = (size_t)((const char *)field - (const char *)o);
    for (int k = 0; k < N_ROWS; k++)
        if (o->given[k] && rows[k].off == off) return 1;
    return 0;
}

const char *app_given_except(const app_opts *o, unsigned mask, const char *allowed) {
    static char label[64];
    for (int k = 0; k < N_ROWS; k++) {
        if (!o->given[k] || !(rows[k].cmds & mask)) continue;
        opt_label(rows[k].names, label, sizeof label);
        if (!opt_matches(allowed, label)) return label;
    }
    return NULL;
}

dob_status app_hp_index(const app_cmd *cmd, const dob_optim_ops *opt, const char *name, int *k) {
    if ((*k = dob_optim_hp_index(opt, name)) >= 0) return DOB_OK;
    /* suggestions: the optimizer's hyperparameters and every long flag of the command */
    char pool[2048];
    const char *names[DOB_OPTIM_MAX_HP + 96];
    int n = 0;
    for (int j = 0; j < opt->n_hparams; j++) names[n++] = opt->hparams[j].name;
    n += long_flags(cmd, names + n, 96, pool, sizeof pool);
    const char *s = app_suggest(name, names, n);
    return DOB_FAIL(DOB_EINVAL, "unknown option '--%s' for optimizer %s%s%s%s (dob %s --optimizer %s --help lists "
                    "them)", name, opt->name, s ? ", did you mean '--" : "", s ? s : "", s ? "'?" : "", cmd->name,
                    opt->name);
}

/* ---- usage text ------------------------------------------------------------------------------------------- */
/* "--bs, --batch_size N" */
static void row_flags(const opt_row *r, char *buf, size_t cap) {
    size_t n = 0;
    buf[0] = '\0';
    for (const char *p = r->names; *p && n < cap;) {
        size_t l = strcspn(p, " ");
        n += (size_t)snprintf(buf + n, cap - n, "%s%.*s", n ? ", " : "", (int)l, p);
        p += l;
        while (*p == ' ') p++;
    }
    if (r->metavar && n < cap) snprintf(buf + n, cap - n, " %s", r->metavar);
}

static void print_row(const opt_row *r, FILE *f) {
    char left[128], b[96], tail[256] = "";
    row_flags(r, left, sizeof left);
    bound_text(r, b, sizeof b);
    /* " (N > 0; default: the problem's)": the bounds the parser checks and the default it applies */
    if (b[0] && r->def)
        snprintf(tail, sizeof tail, " (%s %s; default%s %s)", r->metavar, b, r->flags & OPT_DEF_SHOWN ? ":" : "",
                 r->def);
    else if (b[0])
        snprintf(tail, sizeof tail, " (%s %s)", r->metavar, b);
    else if (r->def)
        snprintf(tail, sizeof tail, " (default%s %s)", r->flags & OPT_DEF_SHOWN ? ":" : "", r->def);
    if (strlen(left) > 28)
        fprintf(f, "  %s\n  %-28s ", left, "");
    else
        fprintf(f, "  %-28s ", left);
    for (const char *p = r->help; *p;) {
        size_t l = strcspn(p, "\n");
        fprintf(f, "%.*s", (int)l, p);
        p += l;
        if (*p == '\n') {
            p++;
            fprintf(f, "\n  %-28s ", "");
        }
    }
    fprintf(f, "%s\n", tail);
}

void app_cmd_usage(const app_cmd *cmd, FILE *f) {
    fputs(cmd->usage, f);
    fputs("\n\n", f);
    for (int k = 0; k < N_ROWS; k++)
        if (rows[k].cmds & cmd->bit) print_row(&rows[k], f);
    if (cmd->notes) {
        fputc('\n', f);
        fputs(cmd->notes, f);
        fputc('\n', f);
    }
}

void app_usage(FILE *f) {
    fputs("dob: the DeepOBS deep-learning optimizer benchmark in C (oneDNN, OpenMP, MPI, parallel HDF5)\n\n"
          "usage: dob <command> [options]\n\ncommands:\n",
          f);
    for (int i = 0; i < app_n_cmds; i++) {
        const app_cmd *c = &app_cmds[i];
        fprintf(f, "  %-44s %s\n", c->synopsis, c->summary);
        if (c->synopsis2) fprintf(f, "  %-44s %s\n", c->synopsis2, c->summary2);
    }
    fputs("\n`dob <command> --help` shows a command's options. Example (real Fashion-MNIST, DeepOBS baseline):\n"
          "  dob run fmnist_2c2d --optimizer momentum --momentum 0.99 --lr 2.51e-3 -N 100\n"
          "Multi-process (data-parallel): mpirun -np 2 --bind-to none dob run ...\n",
          f);
}
