/* list.c: `dob list`: the test problems with their DeepOBS defaults (and, indented below a problem, the decision
 * taken on a DeepOBS quirk where it has one), and the built-in optimizers with their hyperparameters (defaults).
 * Reads only the static registries. */
#include <string.h>

#include "app.h"

int cmd_list(dob_comm *world, const app_cmd *cmd, app_opts *o, int argc, char **argv) {
    (void)cmd, (void)o, (void)argc, (void)argv;
    if (!app_is_root(world)) return DOB_EXIT_OK;
    int w = 7; /* the name column: as wide as the longest name (imagenet_inception_v3) */
    for (int i = 0; i < dob_problem_count(); i++) {
        int l = (int)strlen(dob_problem_at(i)->name);
        if (l > w) w = l;
    }
    printf("%-*s %-9s %6s %7s %8s %11s  %s\n", w, "problem", "data", "bs", "epochs", "L2", "parameters", "description");
    for (int i = 0; i < dob_problem_count(); i++) {
        const dob_problem_spec *p = dob_problem_at(i);
        char wd[16];
        if (p->has_l2)
            snprintf(wd, sizeof wd, "%g", p->weight_decay);
        else
            snprintf(wd, sizeof wd, "-");
        printf("%-*s %-9s %6lld %7lld %8s %11lld  %s\n", w, p->name, p->dataset, (long long)p->batch_size,
               (long long)p->num_epochs, wd, (long long)p->n_params, p->summary);
        /* the deliberate decision on a DeepOBS quirk, where the problem has one */
        if (p->notes) printf("%-*s   note: %s\n", w, "", p->notes);
    }
    printf("\n%-10s %-25s %s\n", "optimizer", "DeepOBS name", "hyperparameters (default)");
    for (int i = 0; i < dob_optim_builtin_count(); i++) {
        const dob_optim_ops *opt = dob_optim_builtin(i);
        printf("%-10s %-25s lr", opt->name, opt->deepobs_name);
        for (int k = 0; k < opt->n_hparams; k++) printf(", %s (%g)", opt->hparams[k].name, opt->hparams[k].def);
        printf("\n");
    }
    return DOB_EXIT_OK;
}
