/* main.c: the dob program: the command table and the dispatch. MPI is initialised for every command (a
 * singleton without mpirun) so `run` is data-parallel whenever launched with mpirun.
 *
 * Adding a command: a file src/app/<name>.c with its cmd_<name> (declared in app.h), a bit in app.h's command
 * enum, one row below, and its options as rows of the option table (options.c). Every command parses through
 * that table here: --help, unknown options and bad values are handled once, before the command runs. */
#include <stdlib.h>
#include <string.h>

#include "app.h"

/* clang-format off */
const app_cmd app_cmds[] = {
    {"run", APP_RUN, cmd_run, 0, 1, 1,
     "run PROBLEM --optimizer NAME --lr X [...]", "train one test problem (DeepOBS protocol), write HDF5 + JSON",
     NULL, NULL,
     "usage: dob run PROBLEM --optimizer NAME --lr LR [options] [--<hyperparameter> VALUE ...]\n"
     "\n"
     "Train one DeepOBS test problem with the DeepOBS protocol: evaluate train_eval, (valid,) test before\n"
     "training and after every epoch, log the mini-batch loss every --train_log_interval steps.\n"
     "Launched with mpirun, the run is data-parallel over all ranks (use --bind-to none).\n"
     "\n"
     "  PROBLEM                      test problem (`dob list` shows them and their defaults)",
     "Optimizer hyperparameters are flags named after them (`dob run --optimizer adam --help` lists them)."},
    {"sweep", APP_SWEEP, cmd_sweep, 0, 1, 1,
     "sweep PROBLEM --optimizer NAME --lr GRID", "hyperparameter x seed sweep packed on the MPI ranks, one file",
     "sweep --resume FILE.h5", "run the trials of a sweep file that did not finish",
     "usage: dob sweep PROBLEM --optimizer NAME --lr GRID [--<hyperparameter> GRID ...] [--seeds SEEDS]\n"
     "                 --out FILE.h5 [options]\n"
     "       dob sweep PROBLEM --optimizer NAME --lr loguniform:LO:HI [--<hyperparameter> DIST ...]\n"
     "                 --samples N [--sample-seed S] [--seeds SEEDS] --out FILE.h5 [options]\n"
     "       dob sweep --resume FILE.h5 [--ranks-per-trial G] [--data_dir DIR] [--quiet]\n"
     "       dob sweep --rerun-best FILE.h5 --seeds SEEDS [--out OUT.h5] [--mode M] [--metric CURVE]\n"
     "\n"
     "Run every combination of the hyperparameter grids and seeds (the trials) with the DeepOBS protocol,\n"
     "packed onto the MPI ranks of one launch: groups of G ranks each train one trial at a time (data-parallel)\n"
     "and take the next trial from a shared counter. All trials go to one HDF5 file, created at the start with\n"
     "every trial 'pending'; a killed sweep leaves it readable and --resume runs what did not finish.\n"
     "Options shared with dob run mean the same (same defaults); a schedule's factors multiply each trial's\n"
     "learning rate.",
     "Trial order: the grids as nested loops (--lr outermost, the optimizer's hyperparameters in the order of\n"
     "its table, the last fastest), seeds innermost: trial = setting * n_seeds + seed index.\n"
     "Random search (DeepOBS 1.2's tuner): --samples N draws N settings, each hyperparameter from its\n"
     "distribution (uniform:LO:HI, loguniform:LO:HI) or at its one value; trial = sample * n_seeds + seed\n"
     "index. A grid of several values with --samples is an error (no hidden product with the samples).\n"
     "Tune, then rerun: `dob sweep --rerun-best FILE.h5 --seeds 43:52` runs FILE's best setting (ranked as\n"
     "`dob analyze` ranks it) with those seeds into FILE's stem + .best.h5.\n"
     "Job arrays: with SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT set (and no --trials), task i of C runs\n"
     "the i-th of C contiguous slices of the trial list into FILE.slice<i>.h5; `dob merge` joins them.\n"
     "Example: mpirun -np 4 --bind-to none dob sweep fmnist_2c2d --optimizer momentum --lr log:1e-5:1e2:36 \\\n"
     "           --momentum 0.9,0.99 --seeds 42:51 --out sweep.h5"},
    {"merge", APP_MERGE, cmd_merge, 2, APP_MAX_POS, 0,
     "merge OUT.h5 IN1.h5 IN2.h5 ...", "join the slice files of one sweep (job arrays)", NULL, NULL,
     "usage: dob merge [--overwrite] [--allow-missing] OUT.h5 IN1.h5 IN2.h5 ...\n\n"
     "Join sweep files of one sweep (e.g. the FILE.slice<i>.h5 of a job array) into OUT.h5: one trial\n"
     "per global trial id, taken from an input where it finished (done or diverged) if any. Inputs\n"
     "of different sweeps (problem, optimizer, settings, grids), a trial id with different\n"
     "hyperparameters or seed, or a trial finished twice with different results are errors.\n"
     "OUT.h5 is written under a temporary name and appears only when complete.",
     NULL},
    {"list", APP_LIST, cmd_list, 0, 0, 0,
     "list", "test problems with their DeepOBS defaults, and optimizers", NULL, NULL,
     "usage: dob list\n\nThe test problems with their DeepOBS defaults, and the built-in optimizers with their\n"
     "hyperparameters.", NULL},
    {"export-json", APP_EXPORT, cmd_export_json, 2, 2, 0,
     "export-json FILE.h5 DIR", "write DeepOBS JSON files for every finished trial", NULL, NULL,
     "usage: dob export-json [--layout 1.1|1.2] FILE.h5 OUTPUT_DIR\n\nWrites one DeepOBS JSON file per finished "
     "trial as\nOUTPUT_DIR/<problem>/<optimizer>/<setting>/random_seed__<seed>__<time>.json (DeepOBS 1.1 layout,\n"
     "or 1.2's with --layout 1.2), readable by DeepOBS's analyzer. Existing JSON files are never overwritten.",
     NULL},
    {"data", APP_DATA, cmd_data, 1, 1, 0,
     "data DATASET [--split S] [--first N]", "the first examples of a data set as the net sees them (PNG, HDF5)",
     NULL, NULL,
     "usage: dob data DATASET [--split train|valid|test] [--first N] [--augment] [--png FILE.png] [--h5 FILE.h5]\n"
     "\n"
     "Read a data set through dob's reader (DATASET: mnist, fmnist, cifar10, cifar100, svhn, quadratic, two_d,\n"
     "tolstoi or a problem name), take the first N examples of the split in file order and preprocess them exactly as\n"
     "the net sees them in evaluation (with --augment: in training). Prints a summary; --png and --h5 write\n"
     "them for a look or for comparison with other tools. tolstoi (tolstoi_char_rnn's text): prints the first\n"
     "N characters of the train or test split, decoded through the vocabulary.",
     NULL},
    {"analyze", APP_ANALYZE, cmd_analyze, 1, APP_MAX_POS, 0,
     "analyze PATH... [--mode M] [--table FILE]", "DeepOBS's analyzer: benchmark table of results and JSON",
     NULL, NULL,
     "usage: dob analyze PATH... [--mode final|best|most] [--metric CURVE] [--table FILE] [--baselines]\n"
     "\n"
     "DeepOBS's analyzer. PATH: dob result or sweep files (every trial; slices of one sweep too), DeepOBS JSON\n"
     "runs, or directories of them (DeepOBS's <problem>/<optimizer>/<setting>/random_seed__*.json layout of\n"
     "DeepOBS 1.1 and 1.2, TensorFlow or PyTorch, and any folder of .h5 files), mixed freely.\n"
     "Runs are grouped problem -> optimizer -> hyperparameter setting -> seeds; each setting's curves are\n"
     "aggregated per epoch (mean, std, median, quartiles), each optimizer's settings ranked by --metric with\n"
     "--mode (DeepOBS 1.2's defaults and fallbacks), and the benchmark table printed: performance (final test\n"
     "accuracy, else test loss, of the chosen setting), speed (mean epochs to the convergence threshold) and\n"
     "tuneability (the chosen hyperparameters), with the seeds and all trials (diverged, failed, unfinished).",
     "Diverged trials count as seeds with their curves padded by their epoch-0 values from the divergence on,\n"
     "as DeepOBS 1.2 writes them; failed and unfinished trials are counted and shown, not aggregated."},
    {"runtime", APP_RUNTIME, cmd_runtime, 1, 1, 1,
     "runtime PROBLEM --optimizer NAME --lr X", "DeepOBS's runtime estimate: time per epoch against SGD",
     NULL, NULL,
     "usage: dob runtime PROBLEM --optimizer NAME --lr LR [--<hyperparameter> VALUE ...] [--runs N] [-N EPOCHS]\n"
     "\n"
     "DeepOBS's runtime estimate (deepobs_estimate_runtime.py / estimate_runtime): --runs times, an SGD run\n"
     "(--sgd-lr) then a run of the optimizer, each the whole DeepOBS protocol for -N epochs (evaluation\n"
     "included) with no result files, timed in this process on data loaded once, so no start-up time biases\n"
     "either. Prints each pair, the mean +- std seconds per epoch of both and the overhead (optimizer / SGD,\n"
     "per pair) as mean +- std. Launched with mpirun, every run is data-parallel over the ranks.",
     "PROBLEM defaults as in dob run except -N 3 (DeepOBS's). Use a quiet machine: the overhead is a ratio of\n"
     "times measured one after the other."},
    {"version", APP_VERSION, cmd_version, 0, 0, 0,
     "version", "versions of dob, oneDNN and the CPU ISA in use", NULL, NULL,
     "usage: dob version\n\nThe versions of dob (and its git revision), oneDNN, the CPU ISA oneDNN uses, and the\n"
     "ranks and threads of this launch.", NULL},
};
/* clang-format on */
const int app_n_cmds = (int)(sizeof app_cmds / sizeof app_cmds[0]);

static const app_cmd *find_cmd(dob_comm *world, const char *name) {
    const char *names[32 + 1];
    for (int i = 0; i < app_n_cmds; i++) {
        if (!strcmp(app_cmds[i].name, name)) return &app_cmds[i];
        names[i] = app_cmds[i].name;
    }
    names[app_n_cmds] = "help";
    const char *s = app_suggest(name, names, app_n_cmds + 1);
    app_error(world, "unknown command '%s'%s%s%s (dob --help lists the commands)", name, s ? ", did you mean '" : "",
              s ? s : "", s ? "'?" : "");
    return NULL;
}

/* Parse the command's options and run it. --help prints the command's usage (and, for commands that take
 * optimizer hyperparameters, those of --optimizer if it is known). */
static int dispatch(dob_comm *world, const app_cmd *c, int argc, char **argv) {
    app_opts *o = calloc(1, sizeof *o);
    if (!o) {
        app_error(world, "out of memory");
        return DOB_EXIT_FAIL;
    }
    int rc;
    dob_status st = app_parse_opts(c, argc, argv, o);
    if (o->help) {
        const dob_optim_ops *opt = NULL;
        if (c->hparams && st == DOB_OK) app_find_optimizer(o->optimizer, o->optimizer_lib, &opt);
        if (app_is_root(world)) {
            app_cmd_usage(c, stdout);
            if (opt) app_optim_help(opt, stdout);
        }
        rc = DOB_EXIT_OK;
    } else if (st != DOB_OK) {
        app_status_error(world, NULL);
        if (app_is_root(world)) fprintf(stderr, "(dob %s --help lists the options)\n", c->name);
        rc = DOB_EXIT_USAGE;
    } else if (o->n_pos < c->min_pos) {
        app_error(world, "usage: dob %s (dob %s --help explains it)", c->synopsis, c->name);
        rc = DOB_EXIT_USAGE;
    } else {
        rc = c->fn(world, c, o, argc, argv);
    }
    free(o);
    return rc;
}

int main(int argc, char **argv) {
    dob_comm *world = NULL;
    app_signals_init();
    if (dob_comm_init(&argc, &argv, &world) != DOB_OK) {
        fprintf(stderr, "dob: error: cannot initialise MPI: %s\n", dob_last_error());
        return DOB_EXIT_FAIL;
    }
    int rc = DOB_EXIT_USAGE;
    const char *name = argc > 1 ? argv[1] : NULL;
    if (!name || !strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "help")) {
        if (app_is_root(world)) app_usage(name ? stdout : stderr);
        rc = name ? DOB_EXIT_OK : DOB_EXIT_USAGE;
    } else {
        const app_cmd *c = find_cmd(world, !strcmp(name, "--version") ? "version" : name);
        if (c) rc = dispatch(world, c, argc - 2, argv + 2);
    }
    dob_comm_finalize();
    return rc;
}
