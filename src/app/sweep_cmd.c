/* sweep_cmd.c: `dob sweep`: a hyperparameter x seed grid packed onto the ranks of one MPI launch, all trials in one
 * parallel HDF5 file; `--resume` reruns what did not finish; job-array slices via --trials or Slurm variables;
 * `--rerun-best FILE` plans a new sweep of FILE's best setting (sweep_rerun.c), random search (--samples) is a
 * trial list like a grid's (sweep_plan.c).
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
 * every trial and are stored in the file (/meta lr_schedule, sync_bn), so --resume and merge keep them; so does
 * --precision (/meta precision).
 *
 * It does not: move trials between groups, or retry a failed trial within one launch. Progress lines come from each group's rank 0 (mpirun merges them). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "dob/io.h"
#include "sweep.h"

static void sweep_free(sweep *s) {
    free(s->ids);
    free(s->seeds);
    free(s->hp);
    free(s->todo);
    dob_net_destroy(s->net);
    dob_dataset_free(&s->train);
    dob_dataset_free(&s->valid_set);
    dob_dataset_free(&s->test);
    dob_node_data_free(&s->nd);
    dob_sweep_desc_free(&s->d);
    free(s->spec);
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
    char label[300];
    snprintf(label, sizeof label, "trial %lld (%s)", (long long)s->ids[i], what);
    app_ctx ctx = {.comm = s->group, .quiet = 1, .poll_stop = poll_stop, .poll_ctx = s,
                   .trial_label = s->quiet ? NULL : label};
    sweep_ckpt *k = &s->ckpt;
    double t0 = dob_comm_wtime();
    dob_status st = trial_sched(s, row[0], &t.sched);
    if (st == DOB_OK) st = dob_optim_check(s->opt, row[0], row + 1);
    if (st == DOB_OK) st = sweep_ckpt_prepare(s, i, &ctx, k);
    if (st == DOB_OK) {
        dob_train_cfg cfg;
        app_trial_cfg(&t, &ctx, !s->quiet, &cfg); /* progress: a line every APP_TRIAL_PROGRESS_S (trial_label) */
        if (k->resumed) cfg.resume = &k->from;
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
        sweep_ckpt_finish(s, k, 1);
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
        dob_trial_result tr = app_trial_result(&out, row, s->seeds[i], ts);
        wst = dob_results_write_trial(s->res, i, &tr);
    }
    if (wst != DOB_OK)
        fprintf(stderr, "dob: error: trial %lld: writing its results failed: %s\n", (long long)s->ids[i],
                dob_last_error());
    /* the checkpoint goes once the trial's result is in the file; an interrupted trial keeps it for --resume */
    const int keep = bad || wst != DOB_OK || out.status == DOB_TRAIN_STOPPED;
    sweep_ckpt_finish(s, k, keep);
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
        if (k->resumed) {
            size_t l = strlen(line);
            snprintf(line + l, sizeof line - l, "(resumed at step %lld) ", (long long)k->from_steps);
            n = (int)strlen(line);
            cap = sizeof line - (size_t)n;
        }
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

/* ---- the command's phases ------------------------------------------------------------------------------- */
/* Each returns a dob_status with its message set; cmd_sweep prints it (prefix s->ctx) and exits with s->rc. */

/* Groups of --ranks-per-trial ranks; the batch must split over a group. --resume without the flag keeps the
 * file's ranks per trial when they divide the ranks (trial checkpoints continue only at the same count). */
static dob_status plan_groups(sweep *s, const app_opts *o) {
    const int nranks = dob_comm_size(s->world);
    int64_t g = o->ranks_per_trial;
    if (o->resume && !app_given(o, &o->ranks_per_trial) && s->d.ranks > 1) {
        if (nranks % s->d.ranks == 0) g = s->d.ranks;
        else if (app_is_root(s->world))
            fprintf(stderr, "dob: note: the sweep ran with --ranks-per-trial %d, which does not divide %d rank%s: "
                    "1 rank per trial now (interrupted trials restart from step 0)\n", s->d.ranks, nranks,
                    nranks == 1 ? "" : "s");
    }
    s->rc = DOB_EXIT_USAGE;
    if (g > nranks || nranks % g)
        return DOB_FAIL(DOB_EINVAL, "--ranks-per-trial %lld must divide the number of ranks %d (mpirun -np)",
                        (long long)g, nranks);
    s->G = (int)g;
    s->n_groups = nranks / s->G;
    return DOB_OK;
}

/* The groups, data (once per process), net (once per process) and a configuration check on the first trial. */
static dob_status load(sweep *s, const app_opts *o, int threads, dob_train_cfg *cfg) {
    dob_status st = DOB_OK;
    const int nranks = dob_comm_size(s->world);
    s->rc = DOB_EXIT_USAGE;
    if (s->bs % s->G)
        return DOB_FAIL(DOB_EINVAL, "--bs %lld must be divisible by --ranks-per-trial %d (each rank takes bs/G "
                        "examples)", (long long)s->bs, s->G);
    s->rc = DOB_EXIT_FAIL;
    int gid = 0;
    DOB_TRY(dob_comm_split(s->world, s->G, &s->group, &gid));
    s->grank = dob_comm_rank(s->group);
    if (app_is_root(s->world) && !o->quiet)
        fprintf(stderr, "dob: %d trial%s to run on %d rank%s: %d group%s of %d rank%s x %d thread%s, batch %lld, "
                "%lld epoch%s%s\n", s->n_todo, s->n_todo == 1 ? "" : "s", nranks, nranks == 1 ? "" : "s",
                s->n_groups, s->n_groups == 1 ? "" : "s", s->G, s->G == 1 ? "" : "s", threads,
                threads == 1 ? "" : "s", (long long)s->bs, (long long)s->epochs, s->epochs == 1 ? "" : "s",
                s->max_steps ? " (--max_steps)" : "");
    double t0 = dob_comm_wtime();
    s->ctx = s->p->name;
    /* the world split by node, not the trial groups: every group on a node trains on the same bytes */
    const dob_data_opts dopts = {.cifar100_fix_offset = s->cifar100_fix_offset};
    DOB_TRY(dob_comm_agree(s->world, dob_problem_data_load_node(s->p, o->data_dir, &dopts, s->valid, s->world,
                                                                &s->train, &s->valid_set, &s->test, &s->nd)));
    s->ctx = NULL;
    if (app_is_root(s->world) && !o->quiet)
        fprintf(stderr, "dob: data: %lld train, %lld valid, %lld test examples (%.1f s)\n", (long long)s->train.n,
                (long long)s->valid_set.n, (long long)s->test.n, dob_comm_wtime() - t0);
    if (app_is_root(s->world) && o->verbose)
        fprintf(stderr, "dob: data held as %.1f MB, %s\n", (double)s->nd.bytes / 1048576.0, s->nd.note);
    DOB_TRY(dob_comm_agree(s->world, dob_problem_net(s->p, &s->net)));
    DOB_TRY(dob_net_set_precision(s->net, s->precision));
    DOB_TRY(dob_net_set_conv_algo(s->net, s->conv_algo));
    if (s->sync_bn) { /* also for 1-rank trials: the same statistics path whatever the group size (run.c) */
        s->bn_ctx = (app_ctx){.comm = s->group};
        dob_net_set_sum_hook(s->net, app_hook_sum_double, &s->bn_ctx);
    }
    s->cctx = (app_ctx){.comm = s->group};
    app_trial t = {.p = s->p, .opt = s->opt, .hp = s->hp + 1, .bs = s->bs, .epochs = s->epochs,
                   .log_interval = s->log_interval, .max_steps = s->max_steps, .seed = s->seeds[0], .wd = s->wd,
                   .train = &s->train, .valid = s->valid ? &s->valid_set : NULL, .test = &s->test, .net = s->net};
    trial_sched(s, s->hp[0], &t.sched);
    app_trial_cfg(&t, &s->cctx, 0, cfg);
    if ((st = dob_train_check(cfg)) != DOB_OK) {
        s->rc = DOB_EXIT_USAGE;
        return st;
    }
    /* the memory estimate (-v), and a node that cannot hold its ranks' trials stops the sweep before any */
    st = app_mem_estimate(cfg, &s->nd, &s->mem);
    if (st == DOB_OK && app_is_root(s->world) && o->verbose) app_mem_print(&s->mem, stderr);
    if (st == DOB_OK) st = app_mem_check(&s->mem, s->bs / s->G);
    if ((st = dob_comm_agree(s->world, st)) != DOB_OK) {
        s->rc = st == DOB_ENOMEM ? DOB_EXIT_USAGE : DOB_EXIT_FAIL; /* the fix is a flag: --bs, ranks per node */
        return st;
    }
    s->mem_root = (int64_t)s->mem.node;
    DOB_TRY(dob_comm_bcast(s->world, &s->mem_root, sizeof s->mem_root, 0));
fail:
    return st;
}

/* The result file: created collectively at its final path with every trial pending, or reopened (--resume). */
static dob_status open_file(sweep *s, const app_opts *o, int threads, const dob_train_cfg *cfg, int argc,
                            char **argv) {
    dob_status st = DOB_OK;
    double t0 = dob_comm_wtime();
    if (o->resume) return dob_results_open(s->path, s->world, &s->res);
    char cmdline[4096] = "dob sweep";
    for (int i = 0; i < argc; i++) {
        size_t l = strlen(cmdline);
        snprintf(cmdline + l, sizeof cmdline - l, " %s", argv[i]);
    }
    dob_results_meta meta = {
        .problem = s->p->name, .optimizer = s->opt->name, .optimizer_deepobs_name = s->opt->deepobs_name,
        .command_line = cmdline, .batch_size = s->bs, .num_epochs = s->epochs, .train_log_interval = s->log_interval,
        .weight_decay = s->wd_given ? s->wd : NAN, .n_hp = s->n_hp,
        .hp_names = s->hp_names, .n_trials = s->n_trials, .n_minibatch = dob_train_n_minibatch(cfg), .ranks = s->G,
        .threads = threads, .has_accuracy = s->p->has_accuracy, .has_valid = s->valid,
        .precision = dob_precision_name(s->precision), .memory_estimate_bytes = s->mem_root,
        .conv_algo = dob_conv_algo_name(s->conv_algo),
        .cifar100_fix_offset = s->cifar100_fix_offset,
    };
    dob_sweep_meta sw = {.spec = s->spec, .lr_schedule = s->sched_str, .sync_bn = s->sync_bn,
                         .n_trials_total = s->n_total, .max_steps = s->max_steps, .slice_id = s->slice_id,
                         .slice_count = s->slice_count, .trial_ids = s->ids, .seeds = s->seeds, .hp = s->hp,
                         .in_place = 1};
    DOB_TRY(dob_results_create_sweep(s->path, o->overwrite, &meta, &sw, s->world, &s->res));
    if (app_is_root(s->world) && !o->quiet)
        fprintf(stderr, "dob: created %s with %d pending trial%s (%.1f s)\n", s->path, s->n_trials,
                s->n_trials == 1 ? "" : "s", dob_comm_wtime() - t0);
fail:
    return st;
}

/* The trials, then the file closed and the summary. @return the exit code. */
static int run_trials(sweep *s, const app_opts *o) {
    dob_status st = DOB_OK;
    if ((st = dob_counter_create(s->world, N_SLOTS, &s->ctr)) != DOB_OK) {
        app_status_error(s->world, NULL);
        return DOB_EXIT_FAIL;
    }
    double t0 = dob_comm_wtime();
    if (trial_loop(s) != DOB_OK) {
        /* MPI failed: ranks may be out of step; the file's statuses are still valid for --resume */
        app_status_error(s->world, "sweep");
        dob_comm_abort(DOB_EXIT_FAIL);
    }
    double secs = dob_comm_wtime() - t0;
    dob_counter_destroy(s->ctr);
    s->ctr = NULL;
    int flags[2] = {s->interrupted, s->n_failed};
    for (int k = 0; k < 2; k++) dob_comm_allreduce_max_int(s->world, &flags[k]);
    /* trials run: each group's rank 0 counts its own */
    double total = s->grank == 0 ? s->n_run : 0;
    dob_comm_allreduce_double(s->world, &total, 1);
    st = dob_results_close(s->res);
    s->res = NULL;
    if (st != DOB_OK) app_status_error(s->world, "closing the result file");
    if (app_is_root(s->world)) {
        if (!o->quiet)
            fprintf(stderr, "dob: %s%.0f trial%s in %.1f s (%.0f trials/hour)\n",
                    flags[0] ? "interrupted by a signal after " : "", total, total == 1 ? "" : "s", secs,
                    total * 3600.0 / fmax(secs, 1.0));
        sweep_print_summary(s->path, o->quiet);
        if (flags[0]) fprintf(stderr, "dob: resume with: dob sweep --resume %s\n", s->path);
    }
    return st != DOB_OK ? DOB_EXIT_FAIL : flags[0] ? DOB_EXIT_INTERRUPTED : flags[1] ? DOB_EXIT_FAIL : DOB_EXIT_OK;
}

/* ---- the command ------------------------------------------------------------------------------------------ */
/* parse (main.c) -> plan (new or resume) -> groups, data, net -> open the file -> trials -> summary */
int cmd_sweep(dob_comm *world, const app_cmd *cmd, app_opts *o, int argc, char **argv) {
    sweep *s = calloc(1, sizeof *s);
    if (!s) {
        app_error(world, "out of memory");
        return DOB_EXIT_FAIL;
    }
    s->world = world;
    s->quiet = o->quiet;
    s->resuming = o->resume != NULL;
    s->ckpt_interval = o->ckpt_interval;
    s->rc = DOB_EXIT_USAGE;
    int rc = DOB_EXIT_FAIL, threads = 1;
#ifdef _OPENMP
    threads = omp_get_max_threads();
#endif
    s->threads = threads;
    dob_train_cfg cfg;
    dob_status st = o->resume || o->rerun_best ? DOB_OK : app_find_optimizer(o->optimizer, o->optimizer_lib, &s->opt);
    /* from here on a signal (Slurm's --signal, scancel) never kills a rank half-way through the collective file
     * creation: it is noted and the trial loop stops at once, leaving a complete file to --resume */
    if (st == DOB_OK) app_catch_signals();
    if (st == DOB_OK)
        st = o->resume ? sweep_plan_resume(s, o) : o->rerun_best ? sweep_plan_rerun(s, o) : sweep_plan_new(s, cmd, o);
    if (st == DOB_OK) st = plan_groups(s, o);
    if (st == DOB_OK) sweep_names_and_varies(s);
    if (st == DOB_OK) st = load(s, o, threads, &cfg);
    if (st == DOB_OK) st = open_file(s, o, threads, &cfg, argc, argv);
    if (st != DOB_OK) {
        app_status_error(world, s->ctx);
        if (s->rc == DOB_EXIT_USAGE && !s->p && app_is_root(world))
            fputs("(dob sweep --help lists the options)\n", stderr);
        rc = s->rc;
    } else {
        rc = run_trials(s, o);
    }
    dob_counter_destroy(s->ctr);
    if (s->res) dob_results_abort(s->res);
    dob_comm_destroy(s->group);
    sweep_free(s);
    free(s);
    return rc;
}
