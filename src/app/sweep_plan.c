/* sweep_plan.c: the trial list of `dob sweep`: for a new sweep from the flags (the grids of --lr and the
 * optimizer's hyperparameters, the seeds, --trials or the job-array slice), for --resume from the sweep file.
 * Every rank computes the same list from the same input. Failures are DOB_FAIL statuses; cmd_sweep prints them.
 *
 * It does not: create or open the result file, or load data (sweep_cmd.c does). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dob/io.h"
#include "sweep.h"

void sweep_names(sweep *s) {
    s->hp_names[0] = "learning_rate";
    for (int k = 0; k < s->opt->n_hparams; k++) s->hp_names[k + 1] = s->opt->hparams[k].name;
    for (int k = 0; k <= s->opt->n_hparams; k++) {
        snprintf(s->label_buf[k], sizeof s->label_buf[k], "--%s", k ? s->hp_names[k] : "lr");
        s->labels[k] = s->label_buf[k];
    }
}

void sweep_names_and_varies(sweep *s) {
    sweep_names(s);
    for (int k = 0; k < s->n_hp; k++) {
        s->varies[k] = 0;
        for (int i = 1; i < s->n_trials && !s->varies[k]; i++)
            s->varies[k] = s->hp[(size_t)i * (size_t)s->n_hp + (size_t)k] != s->hp[(size_t)k];
    }
}

/* ---- a new sweep ------------------------------------------------------------------------------------------ */
/* The settings every trial shares, from the flags and the problem's defaults. */
static dob_status settings(sweep *s, const app_opts *o) {
    dob_status st = DOB_OK;
    dob_sched check;
    s->n_hp = 1 + s->opt->n_hparams;
    s->bs = app_given(o, &o->bs) ? o->bs : s->p->batch_size;
    s->epochs = app_given(o, &o->epochs) ? o->epochs : s->p->num_epochs;
    s->log_interval = o->log_interval;
    s->max_steps = o->max_steps;
    s->valid = o->valid;
    s->sync_bn = o->sync_bn;
    s->cifar100_fix_offset = o->cifar100_fix_offset;
    if ((st = dob_precision_parse(o->precision ? o->precision : "f32", &s->precision)) != DOB_OK ||
        (st = dob_precision_check(s->precision)) != DOB_OK) {
        dob_error_prefix("--precision: ");
        return st;
    }
    if ((st = app_conv_algo(o->conv_algo, o->quiet || !app_is_root(s->world), &s->conv_algo)) != DOB_OK) return st;
    DOB_TRY(app_make_sched(1.0, o->n_sched_epochs, o->sched_epochs, o->n_sched_factors, o->sched_factors, &check));
    s->n_sched = o->n_sched_epochs;
    memcpy(s->sched_ep, o->sched_epochs, sizeof s->sched_ep);
    memcpy(s->sched_fac, o->sched_factors, sizeof s->sched_fac);
    app_sched_str(s->n_sched, s->sched_ep, s->sched_fac, s->sched_str, sizeof s->sched_str);
    s->wd = app_weight_decay(s->world, s->p, o);
    s->wd_given = app_given(o, &o->wd) && s->p->has_l2;
fail:
    return st;
}

/* The grid texts: --lr, then each optimizer hyperparameter (not given: its default as %.17g, in defs); each given
 * once. */
static dob_status grid_texts(const sweep *s, const app_cmd *cmd, const app_opts *o, char (*defs)[32],
                             const char **texts) {
    dob_status st = DOB_OK;
    texts[0] = o->lr_grid;
    for (int k = 0; k < s->opt->n_hparams; k++) {
        snprintf(defs[k + 1], sizeof defs[k + 1], "%.17g", s->opt->hparams[k].def);
        texts[k + 1] = NULL;
    }
    for (int i = 0; i < o->n_hp; i++) {
        int k = 0;
        DOB_TRY(app_hp_index(cmd, s->opt, o->hp_names[i], &k));
        if (texts[k + 1]) return DOB_FAIL(DOB_EINVAL, "--%s is given twice", o->hp_names[i]);
        texts[k + 1] = o->hp_values[i];
    }
    for (int k = 1; k < s->n_hp; k++)
        if (!texts[k]) texts[k] = defs[k];
fail:
    return st;
}

/* Parse hyperparameter k's grid or distribution and check that it stays in range (every grid value; a
 * distribution's ends, as every draw lies between them), the other hyperparameters at their defaults. */
static dob_status parse_axis(sweep *s, int k, const char *text, dob_axis *a) {
    dob_status st = DOB_OK;
    DOB_TRY(dob_axis_parse(s->labels[k], text, a));
    double h[DOB_OPTIM_MAX_HP];
    dob_optim_defaults(s->opt, h);
    const int n = a->is_dist ? 2 : a->grid.n;
    for (int j = 0; j < n; j++) {
        const double v = a->is_dist ? (j ? a->dist.hi : a->dist.lo) : a->grid.v[j];
        if (k > 0) h[k - 1] = v;
        s->ctx = s->labels[k];
        DOB_TRY(dob_optim_check(s->opt, k == 0 ? v : 1.0, h));
        s->ctx = NULL;
    }
fail:
    return st;
}

/* Which trials of T this launch runs: --trials, else the job-array slice (then the path gets .slice<i>), else
 * all. */
static dob_status select_trials(sweep *s, const app_opts *o, const char *out, int64_t T, int64_t *first,
                                int64_t *end) {
    dob_status st = DOB_OK;
    s->slice_id = s->slice_count = -1;
    *first = 0;
    *end = T;
    snprintf(s->path, sizeof s->path, "%s", out);
    if (o->trials) return dob_sweep_parse_range("--trials", o->trials, T, first, end);
    int have = 0;
    DOB_TRY(dob_sweep_slurm_slice(getenv("SLURM_ARRAY_TASK_ID"), getenv("SLURM_ARRAY_TASK_COUNT"),
                                  getenv("SLURM_ARRAY_TASK_MIN"), &have, &s->slice_id, &s->slice_count));
    if (!have) {
        s->slice_id = s->slice_count = -1;
        return DOB_OK;
    }
    DOB_TRY(dob_sweep_slice(T, s->slice_id, s->slice_count, first, end));
    DOB_TRY(dob_sweep_slice_path(out, s->slice_id, s->path, sizeof s->path));
    if (*end <= *first)
        return DOB_FAIL(DOB_EINVAL, "slice %d of %d of a %lld-trial sweep is empty: use fewer array tasks",
                        s->slice_id, s->slice_count, (long long)T);
fail:
    return st;
}

/* The file's trials: global ids first..end-1 of the expanded grid (hp, seed_all). */
static dob_status take_trials(sweep *s, int64_t first, int64_t end, const double *hp, const int64_t *seed_all) {
    s->n_trials = (int)(end - first);
    s->ids = malloc(sizeof(int64_t) * (size_t)s->n_trials);
    s->seeds = malloc(sizeof(int64_t) * (size_t)s->n_trials);
    s->hp = malloc(sizeof(double) * (size_t)s->n_trials * (size_t)s->n_hp);
    s->todo = malloc(sizeof(int) * (size_t)s->n_trials);
    if (!s->ids || !s->seeds || !s->hp || !s->todo)
        return DOB_FAIL(DOB_ENOMEM, "out of memory for %d trials", s->n_trials);
    for (int i = 0; i < s->n_trials; i++) {
        s->ids[i] = first + i;
        s->seeds[i] = seed_all[first + i];
        memcpy(s->hp + (size_t)i * (size_t)s->n_hp, hp + (size_t)(first + i) * (size_t)s->n_hp,
               sizeof(double) * (size_t)s->n_hp);
        s->todo[i] = i;
    }
    s->n_todo = s->n_trials;
    return DOB_OK;
}

/* The spec of a new sweep from the flags: each grid or distribution checked, the sweep's kind (grid or
 * --samples) checked, the seeds parsed (*n_seeds for the summary line). */
static dob_status plan_spec(sweep *s, const app_cmd *cmd, const app_opts *o, int *n_seeds) {
    dob_status st = DOB_OK;
    dob_axis axes[DOB_OPTIM_MAX_HP + 1];
    const char *texts[DOB_OPTIM_MAX_HP + 1];
    char defs[DOB_OPTIM_MAX_HP + 1][32];
    int64_t *seeds = NULL;
    memset(axes, 0, sizeof axes);
    const int64_t n_samples = app_given(o, &o->samples) ? o->samples : 0;
    if (!n_samples && app_given(o, &o->sample_seed))
        return DOB_FAIL(DOB_EINVAL, "--sample-seed keys the draws of a random search: give it with --samples N");
    DOB_TRY(grid_texts(s, cmd, o, defs, texts));
    for (int k = 0; k < s->n_hp; k++) DOB_TRY(parse_axis(s, k, texts[k], &axes[k]));
    DOB_TRY(dob_sweep_check_axes(s->n_hp, s->labels, texts, axes, n_samples));
    DOB_TRY(dob_seeds_parse("--seeds", o->seeds, &seeds, n_seeds));
    DOB_TRY(dob_sweep_spec_make(s->n_hp, s->hp_names, texts, n_samples, (uint64_t)o->sample_seed, o->seeds,
                                &s->spec));
    s->n_samples = n_samples;
fail:
    for (int k = 0; k < s->n_hp; k++) dob_axis_free(&axes[k]);
    free(seeds);
    return st;
}

/* "dob: sweep P with O: 6 settings x 3 seeds = 18 trials ... -> FILE" (rank 0). */
static void print_plan(const sweep *s, int64_t T, int n_seeds, int64_t first, int64_t end) {
    const int64_t nset = T / n_seeds;
    fprintf(stderr, "dob: sweep %s with %s: %lld %ssetting%s x %d seed%s = %lld trials", s->p->name, s->opt->name,
            (long long)nset, s->n_samples ? "random " : "", nset == 1 ? "" : "s", n_seeds, n_seeds == 1 ? "" : "s",
            (long long)T);
    if (end - first != T) fprintf(stderr, "; this run: trials %lld..%lld", (long long)first, (long long)end - 1);
    if (s->slice_id >= 0) fprintf(stderr, " (job-array slice %d of %d)", s->slice_id, s->slice_count);
    fprintf(stderr, " -> %s\n", s->path);
}

dob_status sweep_expand_spec(sweep *s, const app_opts *o, const char *out, int n_seeds) {
    dob_status st = DOB_OK;
    int64_t *seed_all = NULL, T = 0, first = 0, end = 0;
    double *hp = NULL;
    /* the trial list is the stored spec's expansion, exactly as --resume, merge and the checksums redo it */
    DOB_TRY(dob_sweep_spec_expand(s->spec, s->n_hp, s->hp_names, &hp, &seed_all, &T));
    DOB_TRY(select_trials(s, o, out, T, &first, &end));
    s->rc = DOB_EXIT_FAIL;
    DOB_TRY(take_trials(s, first, end, hp, seed_all));
    s->n_total = T;
    if (app_is_root(s->world) && !o->quiet) print_plan(s, T, n_seeds, first, end);
fail:
    free(hp);
    free(seed_all);
    return st;
}

dob_status sweep_plan_new(sweep *s, const app_cmd *cmd, const app_opts *o) {
    dob_status st = DOB_OK;
    s->rc = DOB_EXIT_USAGE;
    if (!o->n_pos)
        return DOB_FAIL(DOB_EINVAL, "missing PROBLEM (dob list shows the test problems; dob sweep --help the options)");
    DOB_TRY(app_find_problem(o->pos[0], &s->p));
    if (!s->opt) return DOB_FAIL(DOB_EINVAL, "missing --optimizer NAME (or --optimizer-lib PATH.so)");
    sweep_names(s);
    if (app_given(o, &o->an_mode) || app_given(o, &o->metric))
        return DOB_FAIL(DOB_EINVAL, "--mode and --metric rank the settings of --rerun-best FILE; a new sweep takes "
                        "neither");
    DOB_TRY(settings(s, o));
    if (!o->lr_grid)
        return DOB_FAIL(DOB_EINVAL, "missing --lr (a value or a grid, e.g. --lr log:1e-5:1e2:36; dob sweep --help)");
    if (!o->out) return DOB_FAIL(DOB_EINVAL, "missing --out FILE.h5 (the sweep's result file)");
    int n_seeds = 0;
    DOB_TRY(plan_spec(s, cmd, o, &n_seeds));
    DOB_TRY(sweep_expand_spec(s, o, o->out, n_seeds));
    if (dob_io_exists(s->path) && !o->overwrite)
        return DOB_FAIL(DOB_EEXIST, "result file '%s' already exists; refusing to overwrite it (use --overwrite, "
                        "another --out, or --resume %s to finish it)", s->path, s->path);
fail:
    return st;
}

/* ---- --resume --------------------------------------------------------------------------------------------- */
/* The file's optimizer must be this one, with the same hyperparameters in the same order. */
dob_status sweep_check_file_optimizer(const sweep *s, const dob_sweep_desc *d, const char *what) {
    if (strcmp(s->opt->name, d->optimizer) || d->n_hp != 1 + s->opt->n_hparams)
        return DOB_FAIL(DOB_EINVAL, "%s: it was written by optimizer '%s' with %d hyperparameters, this is '%s' with "
                        "%d", what, d->optimizer, d->n_hp - 1, s->opt->name, s->opt->n_hparams);
    for (int k = 1; k < d->n_hp; k++)
        if (strcmp(d->hp_names[k], s->opt->hparams[k - 1].name))
            return DOB_FAIL(DOB_EINVAL, "%s: hyperparameter %d is '%s' in the file, '%s' in optimizer %s", what, k,
                            d->hp_names[k], s->opt->hparams[k - 1].name, s->opt->name);
    return DOB_OK;
}

dob_status sweep_settings_from_file(sweep *s, const dob_sweep_desc *d, int quiet, const char *what) {
    dob_status st = DOB_OK;
    s->n_hp = d->n_hp;
    s->bs = d->batch_size;
    s->epochs = d->num_epochs;
    s->log_interval = d->train_log_interval;
    s->max_steps = d->max_steps;
    s->wd = isnan(d->weight_decay) ? s->p->weight_decay : d->weight_decay;
    s->valid = d->has_valid;
    s->sync_bn = d->sync_bn;
    s->cifar100_fix_offset = d->cifar100_fix_offset;
    s->ctx = what;
    DOB_TRY(dob_precision_parse(d->precision, &s->precision));
    DOB_TRY(dob_precision_check(s->precision));
    DOB_TRY(app_conv_algo(d->conv_algo, quiet || !app_is_root(s->world), &s->conv_algo));
    snprintf(s->sched_str, sizeof s->sched_str, "%s", d->lr_schedule);
    DOB_TRY(app_sched_parse(d->lr_schedule, s->sched_ep, s->sched_fac, DOB_SCHED_MAX, &s->n_sched));
    s->ctx = NULL;
fail:
    return st;
}

/* Take the file's trial table; the to-do list is every trial not final (done or diverged). */
static dob_status take_file_trials(sweep *s, const app_opts *o) {
    dob_sweep_desc *d = &s->d;
    s->n_trials = d->n_trials;
    s->ids = d->trial_ids;
    s->seeds = d->seeds;
    s->hp = d->hp;
    d->trial_ids = d->seeds = NULL;
    d->hp = NULL;
    if (!(s->todo = malloc(sizeof(int) * ((size_t)s->n_trials + 1)))) return DOB_FAIL(DOB_ENOMEM, "out of memory");
    int counts[5] = {0};
    for (int i = 0; i < s->n_trials; i++) {
        counts[d->status[i]]++;
        if (d->status[i] != DOB_TRIAL_DONE && d->status[i] != DOB_TRIAL_DIVERGED) s->todo[s->n_todo++] = i;
    }
    if (app_is_root(s->world) && !o->quiet)
        fprintf(stderr, "dob: resuming %s (%s with %s): %d trials: %d done, %d diverged; to run: %d (%d failed, %d "
                "running when stopped, %d pending)\n", o->resume, s->p->name, s->opt->name, s->n_trials,
                counts[DOB_TRIAL_DONE], counts[DOB_TRIAL_DIVERGED], s->n_todo, counts[DOB_TRIAL_FAILED],
                counts[DOB_TRIAL_RUNNING], counts[DOB_TRIAL_PENDING]);
    return DOB_OK;
}

/* Trials that ended but whose data fail their checksum (a damaged file) are run again; say which. */
static void warn_damaged(const sweep *s) {
    const dob_sweep_desc *d = &s->d;
    if (!d->n_damaged || !app_is_root(s->world)) return;
    fprintf(stderr, "dob: warning: %s: the data of %d finished trial%s fail their checksum (the file was damaged "
            "after they were written); running them again:", s->path, d->n_damaged, d->n_damaged > 1 ? "s" : "");
    for (int i = 0; i < d->n_trials; i++)
        if (d->damaged[i]) fprintf(stderr, " %lld", (long long)d->trial_ids[i]);
    fputc('\n', stderr);
}

dob_status sweep_plan_resume(sweep *s, const app_opts *o) {
    dob_status st = DOB_OK;
    const dob_sweep_desc *d = &s->d;
    if (o->n_pos || o->n_hp ||
        app_given_except(o, APP_SWEEP, "--resume --ranks-per-trial --data_dir --optimizer-lib --quiet --help")) {
        s->rc = DOB_EXIT_USAGE;
        return DOB_FAIL(DOB_EINVAL, "--resume takes the problem, optimizer, grids, seeds and settings from the "
                        "file; give only --ranks-per-trial, --data_dir, --optimizer-lib and --quiet with it");
    }
    s->rc = DOB_EXIT_FAIL;
    snprintf(s->path, sizeof s->path, "%s", o->resume);
    s->ctx = "cannot resume";
    DOB_TRY(dob_results_read_sweep_ex(o->resume, DOB_SWEEP_READ_DAMAGED_AS_PENDING, &s->d));
    s->ctx = NULL;
    warn_damaged(s);
    DOB_TRY(app_find_problem(d->problem, &s->p));
    s->ctx = "cannot resume";
    DOB_TRY(app_find_optimizer(d->optimizer, o->optimizer_lib, &s->opt));
    s->ctx = NULL;
    char what[4200];
    snprintf(what, sizeof what, "cannot resume '%s'", o->resume);
    DOB_TRY(sweep_check_file_optimizer(s, d, what));
    DOB_TRY(sweep_settings_from_file(s, d, o->quiet, "cannot resume"));
    DOB_TRY(take_file_trials(s, o));
fail:
    return st;
}
