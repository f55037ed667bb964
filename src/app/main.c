/* main.c: the dob program: subcommand dispatch, `list`, `export-json`, `version`. MPI is initialised for every
 * command (a singleton without mpirun) so `run` is data-parallel whenever launched with mpirun. */
#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "app.h"
#include "dob/optim.h"
#include "dob/problem.h"
#include "dob/results.h"

static void usage(FILE *f) {
    fputs("dob: the DeepOBS deep-learning optimizer benchmark in C (oneDNN, OpenMP, MPI, parallel HDF5)\n"
          "\n"
          "usage: dob <command> [options]\n"
          "\n"
          "commands:\n"
          "  run PROBLEM --optimizer NAME --lr X [...]   train one test problem (DeepOBS protocol), write HDF5 + JSON\n"
          "  sweep PROBLEM --optimizer NAME --lr GRID    hyperparameter x seed sweep packed on the MPI ranks, one file\n"
          "  sweep --resume FILE.h5                      run the trials of a sweep file that did not finish\n"
          "  merge OUT.h5 IN1.h5 IN2.h5 ...              join the slice files of one sweep (job arrays)\n"
          "  list                                        test problems with their DeepOBS defaults, and optimizers\n"
          "  export-json FILE.h5 DIR                     write DeepOBS JSON files for every finished trial\n"
          "  version                                     versions of dob, oneDNN and the CPU ISA in use\n"
          "\n"
          "`dob <command> --help` shows a command's options. Example (real Fashion-MNIST, DeepOBS baseline):\n"
          "  dob run fmnist_2c2d --optimizer momentum --momentum 0.99 --lr 2.51e-3 -N 100\n"
          "Multi-process (data-parallel): mpirun -np 2 --bind-to none dob run ...\n",
          f);
}

static int cmd_list(dob_comm *world) {
    if (!app_is_root(world)) return 0;
    printf("%-16s %-8s %6s %7s %8s %11s  %s\n", "problem", "data", "bs", "epochs", "L2", "parameters", "description");
    for (int i = 0; i < dob_problem_count(); i++) {
        const dob_problem_spec *p = dob_problem_at(i);
        char wd[16];
        if (p->has_l2)
            snprintf(wd, sizeof wd, "%g", p->weight_decay);
        else
            snprintf(wd, sizeof wd, "-");
        printf("%-16s %-8s %6lld %7lld %8s %11lld  %s\n", p->name, p->dataset, (long long)p->batch_size,
               (long long)p->num_epochs, wd, (long long)p->n_params, p->summary);
    }
    printf("\n%-10s %-25s %s\n", "optimizer", "DeepOBS name", "hyperparameters (default)");
    for (int i = 0; i < dob_optim_builtin_count(); i++) {
        const dob_optim_api *o = dob_optim_builtin(i);
        printf("%-10s %-25s lr", o->name, o->deepobs_name);
        for (int k = 0; k < o->n_hparams; k++) printf(", %s (%g)", o->hparams[k].name, o->hparams[k].def);
        printf("\n");
    }
    return 0;
}

static int cmd_export_json(dob_comm *world, int argc, char **argv) {
    if (argc == 1 && (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h"))) {
        if (app_is_root(world))
            puts("usage: dob export-json FILE.h5 OUTPUT_DIR\n\nWrites one DeepOBS JSON file per finished trial as\n"
                 "OUTPUT_DIR/<problem>/<optimizer>/<setting>/random_seed__<seed>__<time>.json (DeepOBS 1.1 layout),\n"
                 "readable by DeepOBS's analyzer. Existing JSON files are never overwritten.");
        return 0;
    }
    if (argc != 2) {
        app_error(world, "usage: dob export-json FILE.h5 OUTPUT_DIR");
        return DOB_EXIT_USAGE;
    }
    if (!app_is_root(world)) return 0;
    int n = 0;
    if (dob_results_export_json(argv[0], argv[1], &n) != DOB_OK) {
        app_status_error(world, "export-json");
        return DOB_EXIT_FAIL;
    }
    printf("wrote %d JSON file%s under %s\n", n, n == 1 ? "" : "s", argv[1]);
    return 0;
}

static int cmd_version(dob_comm *world) {
    if (!app_is_root(world)) return 0;
    const dnnl_version_t *v = dnnl_version();
    int threads = 1;
#ifdef _OPENMP
    threads = omp_get_max_threads();
#endif
    printf("dob %s (git %s)\noneDNN %d.%d.%d, CPU runtime %s, ISA %s\nranks %d, threads per rank %d\n",
           DOB_VERSION, DOB_GIT_REV, v->major, v->minor, v->patch,
           v->cpu_runtime == DNNL_RUNTIME_OMP ? "OpenMP" : "other", dnnl_cpu_isa2str(dnnl_get_effective_cpu_isa()),
           dob_comm_size(world), threads);
    return 0;
}

int main(int argc, char **argv) {
    dob_comm *world = NULL;
    if (dob_comm_init(&argc, &argv, &world) != DOB_OK) {
        fprintf(stderr, "dob: error: cannot initialise MPI: %s\n", dob_last_error());
        return DOB_EXIT_FAIL;
    }
    int rc;
    const char *cmd = argc > 1 ? argv[1] : NULL;
    if (!cmd || !strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        if (app_is_root(world)) usage(cmd ? stdout : stderr);
        rc = cmd ? DOB_EXIT_OK : DOB_EXIT_USAGE;
    } else if (!strcmp(cmd, "run")) {
        rc = cmd_run(world, argc - 2, argv + 2);
    } else if (!strcmp(cmd, "sweep")) {
        rc = cmd_sweep(world, argc - 2, argv + 2);
    } else if (!strcmp(cmd, "merge")) {
        rc = cmd_merge(world, argc - 2, argv + 2);
    } else if (!strcmp(cmd, "list")) {
        rc = cmd_list(world);
    } else if (!strcmp(cmd, "export-json")) {
        rc = cmd_export_json(world, argc - 2, argv + 2);
    } else if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        rc = cmd_version(world);
    } else {
        static const char *const cmds[] = {"run", "sweep", "merge", "list", "export-json", "version", "help"};
        const char *s = app_suggest(cmd, cmds, 7);
        app_error(world, "unknown command '%s'%s%s%s (dob --help lists the commands)", cmd, s ? ", did you mean '" : "",
                  s ? s : "", s ? "'?" : "");
        rc = DOB_EXIT_USAGE;
    }
    dob_comm_finalize();
    return rc;
}
