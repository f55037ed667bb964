/* sweep_rerun.c: `dob sweep --rerun-best FILE.h5 --seeds 43:51`, the second half of DeepOBS's tuning protocol
 * ("tune, then rerun the best setting with 10 seeds"): the best setting of the finished sweep FILE, chosen by
 * `dob analyze`'s ranking (src/analyze.c, the same --mode and --metric with the same defaults), becomes a new
 * grid sweep of one setting and the given seeds, with everything else (problem, optimizer, batch size, epochs,
 * schedule, weight decay, precision, ...) taken from FILE. Its sweep_spec holds the setting's values as %.17g, so
 * --resume, merge and job-array slices of the rerun work as for any sweep.
 *
 * Invariants: the output is a new file (--out, default FILE's stem + ".best.h5"); an existing file is never
 * replaced, --overwrite is refused. Only world rank 0 reads FILE's curves and ranks them; the setting is
 * broadcast, so every rank plans the same trials.
 *
 * It does not: rank slices or unfinished sweeps (merge or --resume them first), or mix several files. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dob/analyze.h"
#include "sweep.h"

#define ALLOWED "--rerun-best --seeds --out --mode --metric --ranks-per-trial --data_dir --optimizer-lib --quiet " \
                "--verbose --checkpoint_interval --help"

static dob_status check_flags(const app_opts *o, dob_an_opts *ao) {
    dob_status st = DOB_OK;
    if (o->n_pos || o->n_hp || app_given_except(o, APP_SWEEP, ALLOWED))
        return DOB_FAIL(DOB_EINVAL, "--rerun-best takes the problem, optimizer, hyperparameters and settings from "
                        "FILE; give only --seeds, --out, --mode, --metric, --ranks-per-trial, --data_dir, "
                        "--optimizer-lib, --quiet, --verbose and --checkpoint_interval with it");
    if (!app_given(o, &o->seeds))
        return DOB_FAIL(DOB_EINVAL, "--rerun-best needs --seeds, the seeds of the rerun (DeepOBS: 10 more, e.g. "
                        "--seeds 43:52)");
    DOB_TRY(app_an_opts(o, ao));
fail:
    return st;
}

/* FILE must be a whole sweep with every trial ended (done, diverged or failed). */
static dob_status read_source(sweep *s, const char *path) {
    dob_status st = DOB_OK;
    const dob_sweep_desc *d = &s->d;
    s->ctx = "--rerun-best";
    DOB_TRY(dob_results_read_sweep(path, &s->d));
    s->ctx = NULL;
    if (d->slice_id >= 0 || d->n_trials < d->n_trials_total)
        return DOB_FAIL(DOB_EINVAL, "--rerun-best: '%s' holds %d of its sweep's %lld trials (a job-array slice): "
                        "merge the slices first (dob merge OUT.h5 FILE.slice*.h5)", path, d->n_trials,
                        (long long)d->n_trials_total);
    int open_trials = 0;
    for (int i = 0; i < d->n_trials; i++)
        open_trials += d->status[i] == DOB_TRIAL_PENDING || d->status[i] == DOB_TRIAL_RUNNING;
    if (open_trials)
        return DOB_FAIL(DOB_EINVAL, "--rerun-best: %d of the %d trials of '%s' have not run to the end (pending or "
                        "running): finish the sweep first (dob sweep --resume %s)", open_trials, d->n_trials, path,
                        path);
fail:
    return st;
}

/* The top setting's hyperparameters in the file's order (the analyzer keeps a dob file's order, but match names). */
static dob_status take_setting(const dob_sweep_desc *d, const dob_an_run *r, double *hp) {
    for (int k = 0; k < d->n_hp; k++) {
        int j = 0;
        while (j < r->n_hp && strcmp(r->hp_names[j], d->hp_names[k])) j++;
        if (j == r->n_hp)
            return DOB_FAIL(DOB_EINTERNAL, "the analyzer's best setting has no hyperparameter '%s'", d->hp_names[k]);
        hp[k] = r->hp[j];
    }
    return DOB_OK;
}

/* "dob: best of F by valid_losses (mode final, the mean final value over 3 seeds 0.3412): lr 1.00e-02, ..." */
static void print_best(const dob_analysis *a, const char *path) {
    const dob_an_group *g = &a->grp[0];
    const dob_an_setting *top = &a->set[g->rank[0]];
    static const char *modes[] = {"final", "best", "most"};
    fprintf(stderr, "dob: best of %d setting%s of %s by %s%s (mode %s; %s %.6g over %d seed%s): %s\n", g->n_ranked,
            g->n_ranked == 1 ? "" : "s", path, dob_curves[g->metric].name, g->fallback ? " (a fallback)" : "",
            modes[g->mode], g->mode == DOB_AN_BEST ? "best mean" : "final mean",
            dob_an_value(top, g->metric, g->mode), top->n_runs, top->n_runs == 1 ? "" : "s", top->run0->hp_show);
}

/* World rank 0: rank FILE's settings as `dob analyze` does and take the top one into hp. */
static dob_status best_setting(const sweep *s, const app_opts *o, const dob_an_opts *ao, double *hp) {
    dob_status st = DOB_OK;
    dob_an_runs runs = {0};
    dob_analysis a;
    int skipped = 0;
    memset(&a, 0, sizeof a);
    DOB_TRY(dob_an_read_path(o->rerun_best, &runs, &skipped));
    DOB_TRY(dob_analyze(&runs, ao, &a));
    if (a.n_grp != 1 || a.grp[0].n_ranked == 0) {
        st = DOB_FAIL(DOB_EINVAL, "--rerun-best: no setting of '%s' has a done or diverged trial to rank",
                      o->rerun_best);
        goto fail;
    }
    DOB_TRY(take_setting(&s->d, a.set[a.grp[0].rank[0]].run0, hp));
    if (!o->quiet) print_best(&a, o->rerun_best);
fail:
    dob_analysis_free(&a);
    dob_an_runs_free(&runs);
    return st;
}

/* The spec of the rerun: the best setting (chosen on rank 0, broadcast) as single values, the new seeds. */
static dob_status rerun_spec(sweep *s, const app_opts *o, const dob_an_opts *ao, int *n_seeds) {
    dob_status st = DOB_OK;
    double hp[DOB_OPTIM_MAX_HP + 1];
    char buf[DOB_OPTIM_MAX_HP + 1][32];
    const char *texts[DOB_OPTIM_MAX_HP + 1];
    int64_t *seeds = NULL;
    st = app_is_root(s->world) ? best_setting(s, o, ao, hp) : DOB_OK;
    DOB_TRY(dob_comm_agree(s->world, st));
    DOB_TRY(dob_comm_bcast(s->world, hp, sizeof(double) * (size_t)s->n_hp, 0));
    for (int k = 0; k < s->n_hp; k++) {
        snprintf(buf[k], sizeof buf[k], "%.17g", hp[k]);
        texts[k] = buf[k];
    }
    DOB_TRY(dob_seeds_parse("--seeds", o->seeds, &seeds, n_seeds));
    DOB_TRY(dob_sweep_spec_make(s->n_hp, s->hp_names, texts, 0, 0, o->seeds, &s->spec));
fail:
    free(seeds);
    return st;
}

/* --out, or FILE's stem + ".best.h5". */
static void out_path(const app_opts *o, char *buf, size_t cap) {
    if (o->out) {
        snprintf(buf, cap, "%s", o->out);
        return;
    }
    size_t n = strlen(o->rerun_best);
    if (n > 3 && !strcmp(o->rerun_best + n - 3, ".h5")) n -= 3;
    snprintf(buf, cap, "%.*s.best.h5", (int)n, o->rerun_best);
}

dob_status sweep_plan_rerun(sweep *s, const app_opts *o) {
    dob_status st = DOB_OK;
    char out[4096], what[4200];
    int n_seeds = 0;
    dob_an_opts ao = {0};
    s->rc = DOB_EXIT_USAGE;
    DOB_TRY(check_flags(o, &ao));
    DOB_TRY(read_source(s, o->rerun_best));
    s->rc = DOB_EXIT_FAIL;
    DOB_TRY(app_find_problem(s->d.problem, &s->p));
    DOB_TRY(app_find_optimizer(s->d.optimizer, o->optimizer_lib, &s->opt));
    sweep_names(s);
    snprintf(what, sizeof what, "--rerun-best '%s'", o->rerun_best);
    DOB_TRY(sweep_check_file_optimizer(s, &s->d, what));
    DOB_TRY(sweep_settings_from_file(s, &s->d, o->quiet, "--rerun-best"));
    s->wd_given = !isnan(s->d.weight_decay);
    DOB_TRY(rerun_spec(s, o, &ao, &n_seeds));
    out_path(o, out, sizeof out);
    DOB_TRY(sweep_expand_spec(s, o, out, n_seeds));
    s->rc = DOB_EXIT_USAGE;
    if (dob_io_exists(s->path))
        return DOB_FAIL(DOB_EEXIST, "--rerun-best: '%s' already exists; an existing result is never replaced: give "
                        "another --out", s->path);
fail:
    return st;
}
