/* sweep_summary.c: the end of `dob sweep`: the trial counts of the file and its settings ranked by the mean
 * final test accuracy (or loss) over the seeds that finished (DeepOBS's get_best_run on the final value).
 * Reads the closed file again, so the summary is what the file holds, not what this launch believes. */
#include <stdlib.h>

#include "sweep.h"

typedef struct setting {
    int first;          /* a trial of the setting */
    int n, n_done, n_div;
    double metric;      /* mean final test accuracy (or loss) over done seeds */
} setting;

static int same_hp(const double *a, const double *b, int n) {
    for (int k = 0; k < n; k++)
        if (a[k] != b[k]) return 0;
    return 1;
}

static int by_acc;
static int cmp_setting(const void *x, const void *y) {
    const setting *a = x, *b = y;
    int ha = a->n_done > 0, hb = b->n_done > 0;
    if (ha != hb) return hb - ha;
    if (!ha) return a->first - b->first;
    if (a->metric != b->metric) return by_acc ? (a->metric < b->metric ? 1 : -1) : (a->metric > b->metric ? 1 : -1);
    return a->first - b->first;
}

void sweep_print_summary(const char *path, int quiet) {
    dob_sweep_desc d;
    if (dob_results_read_sweep(path, &d) != DOB_OK) {
        fprintf(stderr, "dob: warning: cannot read '%s' for the summary: %s\n", path, dob_last_error());
        return;
    }
    int counts[5] = {0};
    for (int i = 0; i < d.n_trials; i++) counts[d.status[i]]++;
    setting *set = calloc((size_t)d.n_trials + 1, sizeof *set);
    int ns = 0;
    const int nh = d.n_hp;
    by_acc = d.has_accuracy;
    for (int i = 0; set && i < d.n_trials; i++) {
        const double *h = d.hp + (size_t)i * (size_t)nh;
        int k = 0;
        while (k < ns && !same_hp(d.hp + (size_t)set[k].first * (size_t)nh, h, nh)) k++;
        if (k == ns) set[ns++] = (setting){.first = i};
        setting *q = &set[k];
        q->n++;
        if (d.status[i] == DOB_TRIAL_DIVERGED) q->n_div++;
        if (d.status[i] == DOB_TRIAL_DONE) {
            double m = d.has_accuracy ? d.final_test_acc[i] : d.final_test_loss[i];
            q->metric = (q->metric * q->n_done + m) / (q->n_done + 1);
            q->n_done++;
        }
    }
    if (set) qsort(set, (size_t)ns, sizeof *set, cmp_setting);
    printf("%s  %s: %d trials: %d done, %d diverged, %d failed, %d running, %d pending\n", d.problem, d.optimizer,
           d.n_trials, counts[DOB_TRIAL_DONE], counts[DOB_TRIAL_DIVERGED], counts[DOB_TRIAL_FAILED],
           counts[DOB_TRIAL_RUNNING], counts[DOB_TRIAL_PENDING]);
    int show = quiet ? 1 : 10;
    int varies[DOB_OPTIM_MAX_HP + 1] = {1};
    for (int k = 1; k < nh && k <= DOB_OPTIM_MAX_HP; k++)
        for (int i = 1; i < d.n_trials && !varies[k]; i++)
            varies[k] = d.hp[(size_t)i * (size_t)nh + (size_t)k] != d.hp[k];
    if (set && ns > 0 && set[0].n_done > 0) {
        printf("  settings by mean final test %s over done seeds (DeepOBS get_best_run, final)",
               d.has_accuracy ? "accuracy" : "loss");
        for (int k = 1, first = 1; k < nh && k <= DOB_OPTIM_MAX_HP; k++)
            if (!varies[k]) {
                printf("%s %s %.4g", first ? "; fixed:" : ",", d.hp_names[k], d.hp[k]);
                first = 0;
            }
        printf(":\n");
        for (int r = 0; r < ns && r < show; r++) {
            const double *h = d.hp + (size_t)set[r].first * (size_t)nh;
            printf("  %s", r == 0 ? "best" : "    ");
            for (int k = 0; k < nh && k <= DOB_OPTIM_MAX_HP; k++)
                if (varies[k]) printf(" %s %.4g", k ? d.hp_names[k] : "lr", h[k]);
            if (set[r].n_done == 0) {
                printf("   no seed done (%d diverged)\n", set[r].n_div);
                continue;
            }
            if (d.has_accuracy)
                printf("   test acc %.2f%%", 100 * set[r].metric);
            else
                printf("   test loss %.4f", set[r].metric);
            printf("  (%d/%d seeds%s)\n", set[r].n_done, set[r].n, set[r].n_div ? ", some diverged" : "");
        }
        if (ns > show) printf("  ... %d more settings (dob export-json or h5py for all)\n", ns - show);
    }
    printf("  results: %s\n", path);
    fflush(stdout);
    free(set);
    dob_sweep_desc_free(&d);
}

