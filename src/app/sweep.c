/* sweep.c: `dob sweep`: a hyperparameter x seed grid packed onto the ranks of one MPI launch, all trials in one
 * parallel HDF5 file; `--resume` reruns what did not finish; job-array slices via --trials or Slurm variables.
 *
 * How it runs: the world is split into groups of --ranks-per-trial consecutive ranks (MPI_Comm_split); each
 * group trains one trial at a time, data-parallel over its ranks. A group's rank 0 takes the next entry of the
 * to-do list from a shared counter (dob_counter: MPI_Fetch_and_op on a window, no master rank) and broadcasts
 * it to its group, so long and short trials balance. Every process loads the data set and creates the net once
 * and reuses them for all its trials (the trainer re-initialises parameters and optimizer state per trial).
 * The result file is created collectively at the start, at its final path, with every trial's hyperparameters,
 * seed and status "pending"; a group's rank 0 then writes its trials alone (raw data only): status "running" and
 * run_count + 1 when it starts one, curves and "done" / "diverged" / "failed" when it ends. A crashed sweep
 * leaves a readable file; `dob sweep --resume FILE` runs its pending, running and failed trials.
 *
 * Invariants: every rank expands the same trial list and to-do list (both depend only on the arguments or the
 * file); a trial is taken by exactly one group (the counter is atomic); the ranks of a group stop at the same
 * step; on SIGINT/SIGTERM/SIGUSR1 a group stops its trial after the current step, records it "failed", raises
 * a stop flag in the shared counter that every other group polls, and takes no new trial.
 *
 * Learning-rate schedules (DeepOBS piecewise, relative to each trial's learning rate) and --sync-bn apply to
 * every trial and are stored in the file (/meta lr_schedule, sync_bn), so --resume and merge keep them.
 *
 * It does not: move trials between groups, or retry a failed trial within one launch. Progress lines come from each group's rank 0 (mpirun merges them). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "app.h"
#include "dob/io.h"
#include "dob/results.h"
#include "dob/sweep.h"

enum { SLOT_NEXT = 0, SLOT_FINISHED, SLOT_STOP, N_SLOTS };

/* ---- the sweep's state -------------------------------------------------------------------------------------- */
typedef struct sweep {
    dob_comm *world, *group;
    int G, n_groups, grank;
    const dob_problem_spec *p;
    const dob_optim_api *opt;
    int n_hp;                           /* 1 + opt->n_hparams: learning rate first */
    const char *hp_names[DOB_OPTIM_MAX_HP + 1];
    int varies[DOB_OPTIM_MAX_HP + 1];   /* hyperparameter differs between the file's trials: print it */
    int64_t bs, epochs, log_interval, max_steps;
    double wd;
    int valid, quiet, sync_bn;
    int n_sched;                        /* piecewise learning-rate schedule: factor sched_fac[k] from epoch */
    double sched_ep[DOB_SCHED_MAX], sched_fac[DOB_SCHED_MAX]; /* sched_ep[k] on, relative to each trial's lr */
    char sched_str[4096];                /* the same as "E1:F1,E2:F2" (/meta lr_schedule) */
    app_ctx bn_ctx;                     /* sync-BN sums over the group */
    /* the file's trials */
    int n_trials;
    int64_t *ids, *seeds;
    double *hp;                         /* n_trials x n_hp */
    int *todo, n_todo;
    /* runtime */
    dob_dataset train, valid_set, test;
    dob_net *net;
    dob_results *res;
    dob_counter *ctr;
    double last_poll;
    int stop_published, interrupted, n_failed, n_run;
} sweep;

static void sweep_free(sweep *s) {
    free(s->ids);
    free(s->seeds);
    free(s->hp);
    free(s->todo);
    dob_net_destroy(s->net);
    dob_dataset_free(&s->train);
    dob_dataset_free(&s->valid_set);
    dob_dataset_free(&s->test);
}

/* "lr 0.001 momentum 0.9 seed 42": the hyperparameters that vary in the sweep (the learning rate always). */
static void describe(const sweep *s, int i, char *buf, size_t cap) {
    size_t n = 0;
    const double *h = s->hp + (size_t)i * (size_t)s->n_hp;
    for (int k = 0; k < s->n_hp && n < cap; k++)
        if (k == 0 || s->varies[k])
            n += (size_t)snprintf(buf + n, cap - n, "%s%s %.4g", n ? " " : "", k ? s->hp_names[k] : "lr", h[k]);
    if (n < cap) snprintf(buf + n, cap - n, " seed %lld", (long long)s->seeds[i]);
}

/* The group's rank 0, every step (rate-limited to 4 per second): did another group raise the stop flag? */
static int poll_stop(void *ctx) {
    sweep *s = ctx;
    double t = dob_comm_wtime();
    if (t - s->last_poll < 0.25) return 0;
    s->last_poll = t;
    int64_t v = 0;
    return dob_counter_fetch_add(s->ctr, SLOT_STOP, 0, &v) != DOB_OK || v > 0;
}

static void publish_stop(sweep *s) {
    int64_t v;
    if (s->stop_published) return;
    s->stop_published = 1;
    dob_counter_fetch_add(s->ctr, SLOT_STOP, 1, &v);
}

/* The learning-rate schedule of a trial with learning rate lr. */
static dob_status trial_sched(const sweep *s, double lr, dob_sched *out) {
    int64_t e[DOB_SCHED_MAX];
    for (int k = 0; k < s->n_sched; k++) e[k] = (int64_t)s->sched_ep[k];
    return s->n_sched ? dob_sched_piecewise(out, lr, s->n_sched, e, s->sched_fac) : dob_sched_constant(out, lr);
}

/* Run trial i (index in the file) on this rank's group. */
static void run_trial(sweep *s, int i) {
    const int leader = s->grank == 0;
    const double *row = s->hp + (size_t)i * (size_t)s->n_hp;
    char what[256];
    describe(s, i, what, sizeof what);
    if (leader && dob_results_begin_trial(s->res, i) != DOB_OK)
        fprintf(stderr, "dob: warning: trial %lld: cannot mark it running: %s\n", (long long)s->ids[i],
                dob_last_error());
    dob_train_out out;
    memset(&out, 0, sizeof out);
    app_trial t = {.p = s->p, .opt = s->opt, .hp = row + 1, .bs = s->bs, .epochs = s->epochs,
                   .log_interval = s->log_interval, .max_steps = s->max_steps, .seed = s->seeds[i], .wd = s->wd,
                   .train = &s->train, .valid = s->valid ? &s->valid_set : NULL, .test = &s->test, .net = s->net};
    app_ctx ctx = {.comm = s->group, .quiet = 1, .poll_stop = poll_stop, .poll_ctx = s};
    double t0 = dob_comm_wtime();
    dob_status st = trial_sched(s, row[0], &t.sched);
    if (st == DOB_OK) st = dob_optim_check(s->opt, row[0], row + 1);
    if (st == DOB_OK) {
        dob_train_cfg cfg;
        app_trial_cfg(&t, &ctx, 0, &cfg);
        ctx.out = &out;
        st = dob_train(&cfg, &out);
    }
    double secs = dob_comm_wtime() - t0;
    st = dob_comm_agree(s->group, st);
    const int bad = st != DOB_OK;
    dob_trial_status ts = bad                                  ? DOB_TRIAL_FAILED
                          : out.status == DOB_TRAIN_DONE       ? DOB_TRIAL_DONE
                          : out.status == DOB_TRAIN_DIVERGED   ? DOB_TRIAL_DIVERGED
                                                               : DOB_TRIAL_FAILED;
    if (!bad && out.status == DOB_TRAIN_STOPPED) s->interrupted = 1;
    if (bad) s->n_failed++;
    s->n_run++;
    if (!leader) {
        dob_train_out_free(&out);
        return;
    }
    if (s->interrupted) publish_stop(s);
    char msg[512] = "";
    if (bad) snprintf(msg, sizeof msg, "%s", dob_last_error());
    dob_status wst;
    if (bad) {
        wst = dob_results_set_status(s->res, i, DOB_TRIAL_FAILED);
    } else {
        dob_trial_result tr = {
            .train_losses = out.train_losses, .valid_losses = out.valid_losses, .test_losses = out.test_losses,
            .train_accuracies = out.train_accuracies, .valid_accuracies = out.valid_accuracies,
            .test_accuracies = out.test_accuracies, .minibatch_train_losses = out.minibatch_train_losses,
            .epoch_seconds = out.epoch_seconds, .phase_seconds = out.phase_seconds, .hp = row,
            .random_seed = s->seeds[i], .epochs_done = out.epochs_done, .status = ts,
        };
        wst = dob_results_write_trial(s->res, i, &tr);
    }
    if (wst != DOB_OK)
        fprintf(stderr, "dob: error: trial %lld: writing its results failed: %s\n", (long long)s->ids[i],
                dob_last_error());
    int64_t fin = 0, taken = 0;
    dob_counter_fetch_add(s->ctr, SLOT_FINISHED, 1, &fin);
    dob_counter_fetch_add(s->ctr, SLOT_NEXT, 0, &taken);
    fin++;
    if (taken > s->n_todo) taken = s->n_todo;
    long long running = (long long)(taken - fin), pending = (long long)(s->n_todo - taken);
    if (running < 0) running = 0;
    char line[1024];
    int n = snprintf(line, sizeof line, "dob: [%lld/%d] trial %lld ", (long long)fin, s->n_todo,
                     (long long)s->ids[i]);
    size_t cap = sizeof line - (size_t)n;
    if (bad) {
        snprintf(line + n, cap, "FAILED: %s: %s", what, msg);
    } else if (ts == DOB_TRIAL_DIVERGED) {
        snprintf(line + n, cap, "diverged: %s: non-finite loss at step %lld (%.1f s); %lld running, %lld pending",
                 what, (long long)out.diverged_step, secs, running, pending);
    } else {
        int64_t e = out.epochs_done;
        if (s->p->has_accuracy)
            snprintf(line + n, cap, "%s: %s: test acc %.2f%%, test loss %.4f (%.1f s); %lld running, %lld pending",
                     ts == DOB_TRIAL_DONE ? "done" : "interrupted", what, 100 * out.test_accuracies[e],
                     out.test_losses[e], secs, running, pending);
        else
            snprintf(line + n, cap, "%s: %s: test loss %.4f (%.1f s); %lld running, %lld pending",
                     ts == DOB_TRIAL_DONE ? "done" : "interrupted", what, out.test_losses[e], secs, running, pending);
    }
    if (!s->quiet || bad) {
        fprintf(stderr, "%s\n", line);
        fflush(stderr);
    }
    dob_train_out_free(&out);
}

/* Every rank: take to-do entries until the list is empty or a stop is requested. */
static dob_status trial_loop(sweep *s) {
    dob_status st = DOB_OK;
    for (;;) {
        int stop = app_stop_signal != 0;
        DOB_TRY(dob_comm_allreduce_max_int(s->group, &stop));
        int64_t k = -1;
        if (s->grank == 0) {
            if (stop) {
                publish_stop(s);
                k = -2;
            } else {
                int64_t v = 0;
                DOB_TRY(dob_counter_fetch_add(s->ctr, SLOT_STOP, 0, &v));
                if (v > 0) k = -2;
                else {
                    DOB_TRY(dob_counter_fetch_add(s->ctr, SLOT_NEXT, 1, &k));
                    if (k >= s->n_todo) k = -1;
                }
            }
        }
        DOB_TRY(dob_comm_bcast(s->group, &k, sizeof k, 0));
        if (k == -2) s->interrupted = 1;
        if (k < 0) break;
        run_trial(s, s->todo[k]);
    }
fail:
    return st;
}

/* ---- summary (world rank 0, after the file is closed) ------------------------------------------------------ */
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

static void print_summary(const char *path, int quiet) {
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

/* ---- setting up: new sweep or resume -------------------------------------------------------------------------- */
static int names_and_varies(sweep *s) {
    s->hp_names[0] = "learning_rate";
    for (int k = 0; k < s->opt->n_hparams; k++) s->hp_names[k + 1] = s->opt->hparams[k].name;
    for (int k = 0; k < s->n_hp; k++) {
        s->varies[k] = 0;
        for (int i = 1; i < s->n_trials && !s->varies[k]; i++)
            s->varies[k] = s->hp[(size_t)i * (size_t)s->n_hp + (size_t)k] != s->hp[(size_t)k];
    }
    return 0;
}

/* A new sweep from the flags: grids, seeds, slice. Fills s (trials, todo) and path/spec. rc or -1 on success. */
static int setup_new(dob_comm *world, const app_cmd *cmd, const app_opts *o, sweep *s, char *path, size_t pcap, char **spec,
                     int *slice_id, int *slice_count, int64_t *n_total) {
    dob_status st = DOB_OK;
    dob_grid grids[DOB_OPTIM_MAX_HP + 1];
    const char *texts[DOB_OPTIM_MAX_HP + 1];
    int64_t *seeds = NULL, T = 0, first = 0, end = 0;
    double *hp = NULL;
    int64_t *seed_all = NULL;
    int n_seeds = 0, rc = DOB_EXIT_USAGE;
    memset(grids, 0, sizeof grids);
    if (!o->lr_grid) {
        app_error(world, "missing --lr (a value or a grid, e.g. --lr log:1e-5:1e2:36; dob sweep --help)");
        return DOB_EXIT_USAGE;
    }
    if (!o->out) {
        app_error(world, "missing --out FILE.h5 (the sweep's result file)");
        return DOB_EXIT_USAGE;
    }
    /* grids: --lr, then each optimizer hyperparameter (its default unless given) */
    texts[0] = o->lr_grid;
    for (int k = 0; k < s->opt->n_hparams; k++) texts[k + 1] = NULL;
    for (int i = 0; i < o->n_hp; i++) {
        int k = app_hp_index(world, cmd, s->opt, o->hp_names[i]);
        if (k < 0) goto out;
        if (texts[k + 1]) {
            app_error(world, "--%s is given twice", o->hp_names[i]);
            goto out;
        }
        texts[k + 1] = o->hp_values[i];
    }
    char flag[96];
    for (int k = 0; k < s->n_hp; k++) {
        snprintf(flag, sizeof flag, "--%s", k ? s->opt->hparams[k - 1].name : "lr");
        st = texts[k] ? dob_grid_parse(flag, texts[k], &grids[k]) : dob_grid_single(s->opt->hparams[k - 1].def,
                                                                                     &grids[k]);
        if (st != DOB_OK) {
            app_status_error(world, NULL);
            goto out;
        }
        /* every value in range (checked per grid, with the other hyperparameters at their defaults) */
        double h[DOB_OPTIM_MAX_HP];
        dob_optim_defaults(s->opt, h);
        for (int j = 0; j < grids[k].n; j++) {
            double lr = k == 0 ? grids[k].v[j] : 1.0;
            if (k > 0) h[k - 1] = grids[k].v[j];
            if ((st = dob_optim_check(s->opt, lr, h)) != DOB_OK) {
                app_status_error(world, flag);
                goto out;
            }
        }
    }
    if ((st = dob_seeds_parse("--seeds", o->seeds ? o->seeds : "42", &seeds, &n_seeds)) != DOB_OK) {
        app_status_error(world, NULL);
        goto out;
    }
    if ((st = dob_sweep_expand(s->n_hp, grids, seeds, n_seeds, &hp, &seed_all, &T)) != DOB_OK) {
        app_status_error(world, NULL);
        goto out;
    }
    /* which trials: --trials, else the job-array slice, else all */
    *slice_id = *slice_count = -1;
    first = 0;
    end = T;
    snprintf(path, pcap, "%s", o->out);
    if (o->trials) {
        if ((st = dob_sweep_parse_range("--trials", o->trials, T, &first, &end)) != DOB_OK) {
            app_status_error(world, NULL);
            goto out;
        }
    } else {
        int have = 0;
        st = dob_sweep_slurm_slice(getenv("SLURM_ARRAY_TASK_ID"), getenv("SLURM_ARRAY_TASK_COUNT"),
                                   getenv("SLURM_ARRAY_TASK_MIN"), &have, slice_id, slice_count);
        if (st == DOB_OK && have) st = dob_sweep_slice(T, *slice_id, *slice_count, &first, &end);
        if (st == DOB_OK && have) st = dob_sweep_slice_path(o->out, *slice_id, path, pcap);
        if (st != DOB_OK) {
            app_status_error(world, NULL);
            goto out;
        }
        if (!have) *slice_id = *slice_count = -1;
    }
    if (end <= first) {
        app_error(world, "slice %d of %d of a %lld-trial sweep is empty: use fewer array tasks", *slice_id,
                  *slice_count, (long long)T);
        goto out;
    }
    /* the file's trials */
    s->n_trials = (int)(end - first);
    s->ids = malloc(sizeof(int64_t) * (size_t)s->n_trials);
    s->seeds = malloc(sizeof(int64_t) * (size_t)s->n_trials);
    s->hp = malloc(sizeof(double) * (size_t)s->n_trials * (size_t)s->n_hp);
    s->todo = malloc(sizeof(int) * (size_t)s->n_trials);
    /* spec: each grid as given (defaults as numbers) and the seeds */
    size_t scap = 64;
    for (int k = 0; k < s->n_hp; k++) scap += 64 + (texts[k] ? strlen(texts[k]) : 32);
    scap += o->seeds ? strlen(o->seeds) : 8;
    *spec = malloc(scap);
    if (!s->ids || !s->seeds || !s->hp || !s->todo || !*spec) {
        app_error(world, "out of memory for %d trials", s->n_trials);
        rc = DOB_EXIT_FAIL;
        goto out;
    }
    size_t n = 0;
    for (int k = 0; k < s->n_hp; k++) {
        if (texts[k])
            n += (size_t)snprintf(*spec + n, scap - n, "%s=%s;", s->hp_names[k], texts[k]);
        else
            n += (size_t)snprintf(*spec + n, scap - n, "%s=%.17g;", s->hp_names[k], grids[k].v[0]);
    }
    snprintf(*spec + n, scap - n, "seeds=%s", o->seeds ? o->seeds : "42");
    for (int i = 0; i < s->n_trials; i++) {
        s->ids[i] = first + i;
        s->seeds[i] = seed_all[first + i];
        memcpy(s->hp + (size_t)i * (size_t)s->n_hp, hp + (size_t)(first + i) * (size_t)s->n_hp,
               sizeof(double) * (size_t)s->n_hp);
        s->todo[i] = i;
    }
    s->n_todo = s->n_trials;
    *n_total = T;
    if (app_is_root(world) && !o->quiet) {
        int64_t nset = T / n_seeds;
        fprintf(stderr, "dob: sweep %s with %s: %lld setting%s x %d seed%s = %lld trials", s->p->name, s->opt->name,
                (long long)nset, nset == 1 ? "" : "s", n_seeds, n_seeds == 1 ? "" : "s", (long long)T);
        if (end - first != T) fprintf(stderr, "; this run: trials %lld..%lld", (long long)first, (long long)end - 1);
        if (*slice_id >= 0) fprintf(stderr, " (job-array slice %d of %d)", *slice_id, *slice_count);
        fprintf(stderr, " -> %s\n", path);
    }
    rc = -1;
out:
    for (int k = 0; k < s->n_hp; k++) dob_grid_free(&grids[k]);
    free(seeds);
    free(hp);
    free(seed_all);
    return rc;
}

/* --resume FILE: everything from the file. rc or -1 on success. */
static int setup_resume(dob_comm *world, const app_opts *o, sweep *s, dob_sweep_desc *d) {
    dob_status st = DOB_OK;
    if (o->n_pos || o->n_hp ||
        app_given_except(o, APP_SWEEP, "--resume --ranks-per-trial --data_dir --optimizer-lib --quiet --help")) {
        app_error(world, "--resume takes the problem, optimizer, grids, seeds and settings from the file; give only "
                  "--ranks-per-trial, --data_dir, --optimizer-lib and --quiet with it");
        return DOB_EXIT_USAGE;
    }
    if ((st = dob_results_read_sweep(o->resume, d)) != DOB_OK) {
        app_status_error(world, "cannot resume");
        return DOB_EXIT_FAIL;
    }
    if (!(s->p = app_find_problem(world, d->problem))) return DOB_EXIT_FAIL;
    if ((st = app_find_optimizer(d->optimizer, o->optimizer_lib, &s->opt)) != DOB_OK) {
        app_status_error(world, "cannot resume");
        return DOB_EXIT_FAIL;
    }
    if (strcmp(s->opt->name, d->optimizer) || d->n_hp != 1 + s->opt->n_hparams) {
        app_error(world, "cannot resume '%s': it was written by optimizer '%s' with %d hyperparameters, this is '%s' "
                  "with %d", o->resume, d->optimizer, d->n_hp - 1, s->opt->name, s->opt->n_hparams);
        return DOB_EXIT_FAIL;
    }
    for (int k = 1; k < d->n_hp; k++)
        if (strcmp(d->hp_names[k], s->opt->hparams[k - 1].name)) {
            app_error(world, "cannot resume '%s': hyperparameter %d is '%s' in the file, '%s' in optimizer %s",
                      o->resume, k, d->hp_names[k], s->opt->hparams[k - 1].name, s->opt->name);
            return DOB_EXIT_FAIL;
        }
    s->n_hp = d->n_hp;
    s->bs = d->batch_size;
    s->epochs = d->num_epochs;
    s->log_interval = d->train_log_interval;
    s->max_steps = d->max_steps;
    s->wd = isnan(d->weight_decay) ? s->p->weight_decay : d->weight_decay;
    s->valid = d->has_valid;
    s->sync_bn = d->sync_bn;
    snprintf(s->sched_str, sizeof s->sched_str, "%s", d->lr_schedule);
    if ((st = app_sched_parse(d->lr_schedule, s->sched_ep, s->sched_fac, DOB_SCHED_MAX, &s->n_sched)) != DOB_OK) {
        app_status_error(world, "cannot resume");
        return DOB_EXIT_FAIL;
    }
    s->n_trials = d->n_trials;
    /* take ownership of the trial table */
    s->ids = d->trial_ids;
    s->seeds = d->seeds;
    s->hp = d->hp;
    d->trial_ids = d->seeds = NULL;
    d->hp = NULL;
    s->todo = malloc(sizeof(int) * ((size_t)s->n_trials + 1));
    if (!s->todo) {
        app_error(world, "out of memory");
        return DOB_EXIT_FAIL;
    }
    int counts[5] = {0};
    for (int i = 0; i < s->n_trials; i++) {
        counts[d->status[i]]++;
        if (d->status[i] != DOB_TRIAL_DONE && d->status[i] != DOB_TRIAL_DIVERGED) s->todo[s->n_todo++] = i;
    }
    if (app_is_root(world) && !o->quiet)
        fprintf(stderr, "dob: resuming %s (%s with %s): %d trials: %d done, %d diverged; to run: %d (%d failed, %d "
                "running when stopped, %d pending)\n", o->resume, s->p->name, s->opt->name, s->n_trials,
                counts[DOB_TRIAL_DONE], counts[DOB_TRIAL_DIVERGED], s->n_todo, counts[DOB_TRIAL_FAILED],
                counts[DOB_TRIAL_RUNNING], counts[DOB_TRIAL_PENDING]);
    return -1;
}

/* ---- the command -------------------------------------------------------------------------------------------- */
int cmd_sweep(dob_comm *world, const app_cmd *cmd, app_opts *o, int argc, char **argv) {
    sweep s;
    memset(&s, 0, sizeof s);
    dob_sweep_desc d;
    memset(&d, 0, sizeof d);
    char path[4096], *spec = NULL;
    int rc = DOB_EXIT_FAIL, slice_id = -1, slice_count = -1;
    int64_t n_total = 0;
    const char *problem = o->n_pos ? o->pos[0] : NULL;
    dob_status st = DOB_OK;
    if (!o->resume) st = app_find_optimizer(o->optimizer, o->optimizer_lib, &s.opt);
    if (st != DOB_OK) {
        app_status_error(world, NULL);
        if (app_is_root(world)) fputs("(dob sweep --help lists the options)\n", stderr);
        return DOB_EXIT_USAGE;
    }
    /* from here on a signal (Slurm's --signal, scancel) never kills a rank half-way through the collective file
     * creation: it is noted and the trial loop stops at once, leaving a complete file to --resume */
    app_catch_signals();
    s.world = world;
    s.quiet = o->quiet;
    const int nranks = dob_comm_size(world);
    if (o->ranks_per_trial < 1 || o->ranks_per_trial > nranks || nranks % o->ranks_per_trial) {
        app_error(world, "--ranks-per-trial %lld must divide the number of ranks %d (mpirun -np)",
                  (long long)o->ranks_per_trial, nranks);
        return DOB_EXIT_USAGE;
    }
    s.G = (int)o->ranks_per_trial;
    s.n_groups = nranks / s.G;

    if (o->resume) {
        if ((rc = setup_resume(world, o, &s, &d)) >= 0) goto cleanup;
        snprintf(path, sizeof path, "%s", o->resume);
        rc = DOB_EXIT_FAIL;
    } else {
        if (!problem) {
            app_error(world, "missing PROBLEM (dob list shows the test problems; dob sweep --help the options)");
            return DOB_EXIT_USAGE;
        }
        if (!(s.p = app_find_problem(world, problem))) return DOB_EXIT_USAGE;
        if (!s.opt) {
            app_error(world, "missing --optimizer NAME (or --optimizer-lib PATH.so)");
            return DOB_EXIT_USAGE;
        }
        s.n_hp = 1 + s.opt->n_hparams;
        s.hp_names[0] = "learning_rate";
        for (int k = 0; k < s.opt->n_hparams; k++) s.hp_names[k + 1] = s.opt->hparams[k].name;
        s.bs = app_given(o, &o->bs) ? o->bs : s.p->batch_size;
        s.epochs = app_given(o, &o->epochs) ? o->epochs : s.p->num_epochs;
        s.log_interval = o->log_interval;
        s.max_steps = o->max_steps;
        s.valid = o->valid;
        s.sync_bn = o->sync_bn;
        dob_sched check;
        if (app_make_sched(world, 1.0, o->n_sched_epochs, o->sched_epochs, o->n_sched_factors, o->sched_factors, &check))
            return DOB_EXIT_USAGE;
        s.n_sched = o->n_sched_epochs;
        memcpy(s.sched_ep, o->sched_epochs, sizeof s.sched_ep);
        memcpy(s.sched_fac, o->sched_factors, sizeof s.sched_fac);
        app_sched_str(s.n_sched, s.sched_ep, s.sched_fac, s.sched_str, sizeof s.sched_str);
        s.wd = app_weight_decay(world, s.p, o);
        if ((rc = setup_new(world, cmd, o, &s, path, sizeof path, &spec, &slice_id, &slice_count, &n_total)) >= 0)
            goto cleanup;
        rc = DOB_EXIT_FAIL;
        if (dob_io_exists(path) && !o->overwrite) {
            app_error(world, "result file '%s' already exists; refusing to overwrite it (use --overwrite, another "
                      "--out, or --resume %s to finish it)", path, path);
            goto cleanup;
        }
    }
    names_and_varies(&s);
    if (s.bs % s.G) {
        app_error(world, "--bs %lld must be divisible by --ranks-per-trial %d (each rank takes bs/G examples)",
                  (long long)s.bs, s.G);
        rc = DOB_EXIT_USAGE;
        goto cleanup;
    }

    /* groups, data (once per process), net (once per process), a configuration check on the first trial */
    int threads = 1;
#ifdef _OPENMP
    threads = omp_get_max_threads();
#endif
    int gid = 0;
    if ((st = dob_comm_split(world, s.G, &s.group, &gid)) != DOB_OK) {
        app_status_error(world, NULL);
        goto cleanup;
    }
    s.grank = dob_comm_rank(s.group);
    if (app_is_root(world) && !o->quiet)
        fprintf(stderr, "dob: %d trial%s to run on %d rank%s: %d group%s of %d rank%s x %d thread%s, batch %lld, "
                "%lld epoch%s%s\n", s.n_todo, s.n_todo == 1 ? "" : "s", nranks, nranks == 1 ? "" : "s", s.n_groups,
                s.n_groups == 1 ? "" : "s", s.G, s.G == 1 ? "" : "s", threads, threads == 1 ? "" : "s",
                (long long)s.bs, (long long)s.epochs, s.epochs == 1 ? "" : "s",
                s.max_steps ? " (--max_steps)" : "");
    double t0 = dob_comm_wtime();
    st = dob_problem_data_load(s.p, o->data_dir, s.valid, &s.train, &s.valid_set, &s.test);
    if ((st = dob_comm_agree(world, st)) != DOB_OK) {
        app_status_error(world, s.p->name);
        goto cleanup;
    }
    if (app_is_root(world) && !o->quiet)
        fprintf(stderr, "dob: data: %lld train, %lld valid, %lld test examples (%.1f s)\n", (long long)s.train.n,
                (long long)s.valid_set.n, (long long)s.test.n, dob_comm_wtime() - t0);
    st = dob_problem_net(s.p, &s.net);
    if ((st = dob_comm_agree(world, st)) != DOB_OK) {
        app_status_error(world, NULL);
        goto cleanup;
    }
    if (s.sync_bn && s.G > 1) {
        s.bn_ctx = (app_ctx){.comm = s.group};
        dob_net_set_sum_hook(s.net, app_hook_sum_double, &s.bn_ctx);
    }
    app_ctx cctx = {.comm = s.group};
    app_trial t0trial = {.p = s.p, .opt = s.opt, .hp = s.hp + 1, .bs = s.bs, .epochs = s.epochs,
                         .log_interval = s.log_interval, .max_steps = s.max_steps, .seed = s.seeds[0], .wd = s.wd,
                         .train = &s.train, .valid = s.valid ? &s.valid_set : NULL, .test = &s.test, .net = s.net};
    trial_sched(&s, s.hp[0], &t0trial.sched);
    dob_train_cfg cfg;
    app_trial_cfg(&t0trial, &cctx, 0, &cfg);
    if ((st = dob_train_check(&cfg)) != DOB_OK) {
        app_status_error(world, NULL);
        rc = DOB_EXIT_USAGE;
        goto cleanup;
    }

    /* the result file: created collectively at its final path, or reopened */
    double t_file = dob_comm_wtime();
    if (o->resume) {
        st = dob_results_open(path, world, &s.res);
    } else {
        char cmdline[4096] = "dob sweep";
        for (int i = 0; i < argc; i++) {
            size_t l = strlen(cmdline);
            snprintf(cmdline + l, sizeof cmdline - l, " %s", argv[i]);
        }
        dob_results_meta meta = {
            .problem = s.p->name, .optimizer = s.opt->name, .optimizer_deepobs_name = s.opt->deepobs_name,
            .command_line = cmdline, .batch_size = s.bs, .num_epochs = s.epochs, .train_log_interval = s.log_interval,
            .weight_decay = app_given(o, &o->wd) && s.p->has_l2 ? s.wd : NAN, .n_hp = s.n_hp, .hp_names = s.hp_names,
            .n_trials = s.n_trials, .n_minibatch = dob_train_n_minibatch(&cfg), .ranks = s.G, .threads = threads,
            .has_accuracy = s.p->has_accuracy, .has_valid = s.valid,
        };
        dob_sweep_meta sw = {.spec = spec, .lr_schedule = s.sched_str, .sync_bn = s.sync_bn,
                             .n_trials_total = n_total, .max_steps = s.max_steps,
                             .slice_id = slice_id, .slice_count = slice_count, .trial_ids = s.ids,
                             .seeds = s.seeds, .hp = s.hp, .in_place = 1};
        st = dob_results_create_sweep(path, o->overwrite, &meta, &sw, world, &s.res);
    }
    if (st != DOB_OK) {
        app_status_error(world, NULL);
        goto cleanup;
    }
    if (app_is_root(world) && !o->quiet && !o->resume)
        fprintf(stderr, "dob: created %s with %d pending trial%s (%.1f s)\n", path, s.n_trials,
                s.n_trials == 1 ? "" : "s", dob_comm_wtime() - t_file);
    if ((st = dob_counter_create(world, N_SLOTS, &s.ctr)) != DOB_OK) {
        app_status_error(world, NULL);
        goto cleanup;
    }

    double t_sweep = dob_comm_wtime();
    st = trial_loop(&s);
    if (st != DOB_OK) {
        /* MPI failed: ranks may be out of step; the file's statuses are still valid for --resume */
        app_status_error(world, "sweep");
        dob_comm_abort(DOB_EXIT_FAIL);
    }
    double secs = dob_comm_wtime() - t_sweep;
    dob_counter_destroy(s.ctr);
    s.ctr = NULL;
    int flags[2] = {s.interrupted, s.n_failed};
    for (int k = 0; k < 2; k++) dob_comm_allreduce_max_int(world, &flags[k]);
    /* trials run: each group's rank 0 counts its own */
    int mine = s.grank == 0 ? s.n_run : 0;
    double total = mine;
    dob_comm_allreduce_double(world, &total, 1);
    st = dob_results_close(s.res);
    s.res = NULL;
    if (st != DOB_OK) app_status_error(world, "closing the result file");
    if (app_is_root(world)) {
        if (!o->quiet)
            fprintf(stderr, "dob: %s%.0f trial%s in %.1f s (%.0f trials/hour)\n",
                    flags[0] ? "interrupted by a signal after " : "", total, total == 1 ? "" : "s", secs,
                    total * 3600.0 / fmax(secs, 1.0));
        print_summary(path, o->quiet);
        if (flags[0]) fprintf(stderr, "dob: resume with: dob sweep --resume %s\n", path);
    }
    rc = st != DOB_OK ? DOB_EXIT_FAIL : flags[0] ? DOB_EXIT_INTERRUPTED : flags[1] ? DOB_EXIT_FAIL : DOB_EXIT_OK;

cleanup:
    dob_counter_destroy(s.ctr);
    if (s.res) dob_results_abort(s.res);
    dob_comm_destroy(s.group);
    sweep_free(&s);
    dob_sweep_desc_free(&d);
    free(spec);
    return rc;
}
