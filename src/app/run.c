/* run.c: `dob run PROBLEM --optimizer NAME --lr X [...]`: one training run with the DeepOBS protocol, data-parallel
 * over all MPI ranks of the launch, results to one HDF5 file (+ DeepOBS JSON). Rank 0 prints and writes the
 * trial; every rank takes part in the collective HDF5 calls. The trainer hooks and the trial's configuration are
 * in trial.c (shared with `dob sweep`). */
#define _XOPEN_SOURCE 700 /* realpath */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "app.h"
#include "dob/checkpoint.h"
#include "dob/io.h"
#include "dob/optim.h"
#include "dob/problem.h"
#include "dob/results.h"
#include "dob/sched.h"
#include "dob/trainer.h"

/* The settings that fix a run's trajectory, as the checkpoint's config string: compared exactly on resume, so a
 * checkpoint continues only the run that saved it. (The schedule was once printed with %g epochs: the same text
 * for the whole-number epochs a schedule has.) */
static void ckpt_config(const app_opts *o, const dob_problem_spec *p, const dob_optim_api *opt, const double *hp,
                        double wd, int nranks, char *buf, size_t cap) {
    size_t l = (size_t)snprintf(buf, cap, "problem=%s optimizer=%s lr=%.17g", p->name, opt->name, o->lr);
    for (int i = 0; i < opt->n_hparams && l < cap; i++)
        l += (size_t)snprintf(buf + l, cap - l, " %s=%.17g", opt->hparams[i].name, hp[i]);
    if (l < cap)
        l += (size_t)snprintf(buf + l, cap - l,
                              " batch_size=%lld num_epochs=%lld seed=%lld weight_decay=%.17g train_log_interval=%lld "
                              "valid=%d max_steps=%lld sync_bn=%d ranks=%d sched=",
                              (long long)o->bs, (long long)o->epochs, (long long)o->seed, p->has_l2 ? wd : 0.0,
                              (long long)o->log_interval, o->valid, (long long)o->max_steps, o->sync_bn, nranks);
    if (l < cap) app_sched_str(o->n_sched_epochs, o->sched_epochs, o->sched_factors, buf + l, cap - l);
    /* only when set, so checkpoints written before the flag existed still match */
    l = strlen(buf);
    if (l < cap && o->cifar100_fix_offset) snprintf(buf + l, cap - l, " cifar100_fix_offset=1");
}

/* With --checkpoint, when the result file cannot be written: save the finished state, so that rerunning the
 * same command (after freeing space, say) only evaluates nothing and writes the file. */
static void save_final(app_ctx *c, const dob_train_out *out, int truncated) {
    if (!c->ckpt_path) return;
    if (truncated) { /* a --max_steps end state is no resume point: rerunning repeats the run */
        if (app_is_root(c->comm))
            fprintf(stderr, "dob: the --max_steps run is not checkpointed at its end; rerun it to write the result\n");
        return;
    }
    app_hook_checkpoint(c, out);
    if (app_is_root(c->comm) && c->ckpt_ok)
        fprintf(stderr, "dob: the finished run is kept in the checkpoint '%s': fix the problem above and run the same "
                "command again to write its result file\n", c->ckpt_path);
}

/* The result file at the end of a run: created now (create: --checkpoint runs) or open since before training
 * (*res), the trial written, closed and published. @return 1 if it was written; else the error is printed and
 * *res is NULL. Collective. */
static int write_result(dob_comm *world, int create, const char *path, int overwrite, const dob_results_meta *meta,
                        const dob_trial_result *tr, dob_results **res) {
    dob_status st = DOB_OK;
    if (create && (st = dob_results_create(path, overwrite, meta, world, res)) != DOB_OK) {
        app_status_error(world, NULL);
        return 0;
    }
    if (app_is_root(world)) st = dob_results_write_trial(*res, 0, tr);
    st = dob_comm_agree(world, st);
    if (st != DOB_OK) {
        app_status_error(world, "writing results");
        dob_results_abort(*res);
        *res = NULL;
        return 0;
    }
    st = dob_results_close(*res);
    *res = NULL;
    if (st != DOB_OK) app_status_error(world, "closing the result file");
    return st == DOB_OK;
}

/* ---- the command ---------------------------------------------------------------------------------------- */
static void format_lr(double x, char *buf, size_t n) {
    snprintf(buf, n, "%.4g", x);
}

int cmd_run(dob_comm *world, const app_cmd *cmd, app_opts *o, int argc, char **argv) {
    int rc = DOB_EXIT_FAIL;
    const char *problem = o->n_pos ? o->pos[0] : NULL;
    const dob_optim_api *opt = NULL;
    dob_status st = app_find_optimizer(o->optimizer, o->optimizer_lib, &opt);
    if (st != DOB_OK) {
        app_status_error(world, NULL);
        if (app_is_root(world)) fputs("(dob run --help lists the options)\n", stderr);
        return DOB_EXIT_USAGE;
    }
    if (!problem) {
        app_error(world, "missing PROBLEM (dob list shows the test problems; dob run --help the options)");
        return DOB_EXIT_USAGE;
    }
    const dob_problem_spec *p = app_find_problem(world, problem);
    if (!p) return DOB_EXIT_USAGE;
    if (!opt) {
        app_error(world, "missing --optimizer NAME (or --optimizer-lib PATH.so)");
        return DOB_EXIT_USAGE;
    }
    if (!app_given(o, &o->lr)) {
        app_error(world, "missing --lr (the learning rate; DeepOBS tunes it on a log grid, e.g. --lr 1e-2)");
        return DOB_EXIT_USAGE;
    }
    /* hyperparameters: defaults, then flags; every flag must name one */
    double hp[DOB_OPTIM_MAX_HP];
    for (int i = 0; i < opt->n_hparams; i++) hp[i] = opt->hparams[i].def;
    for (int i = 0; i < o->n_hp; i++) {
        int k = app_hp_index(world, cmd, opt, o->hp_names[i]);
        if (k < 0) return DOB_EXIT_USAGE;
        if ((st = app_parse_double(o->hp_names[i], o->hp_values[i], &hp[k])) != DOB_OK) {
            app_status_error(world, NULL);
            return DOB_EXIT_USAGE;
        }
    }
    if (!app_given(o, &o->bs)) o->bs = p->batch_size;
    if (!app_given(o, &o->epochs)) o->epochs = p->num_epochs;
    if (o->no_logs && (app_given(o, &o->out) || app_given(o, &o->output_dir))) {
        app_error(world, "--no_logs writes no result file, so --%s is contradictory: drop one of them",
                  app_given(o, &o->out) ? "out" : "output_dir");
        return DOB_EXIT_USAGE;
    }
    double wd = app_weight_decay(world, p, o);
    dob_sched sched;
    if (app_make_sched(world, o->lr, o->n_sched_epochs, o->sched_epochs, o->n_sched_factors, o->sched_factors, &sched))
        return DOB_EXIT_USAGE;
    st = dob_optim_check(opt, o->lr, hp);
    if (st != DOB_OK) {
        app_status_error(world, NULL);
        return DOB_EXIT_USAGE;
    }

    int nranks = dob_comm_size(world);
    int threads = 1;
#ifdef _OPENMP
    threads = omp_get_max_threads();
#endif
    char ckcfg[2048];
    int resume = 0;
    ckpt_config(o, p, opt, hp, wd, nranks, ckcfg, sizeof ckcfg);
    /* rank 0 decides (a node-local path would otherwise split the ranks between resuming and starting afresh);
     * every rank then reads the checkpoint, and one that cannot fails the launch cleanly */
    int ck_exists = o->checkpoint && app_is_root(world) && dob_io_exists(o->checkpoint);
    dob_comm_bcast(world, &ck_exists, sizeof ck_exists, 0);
    if (ck_exists) {
        char theirs[2048] = "";
        int cranks = 0, cthreads = 0;
        st = dob_checkpoint_read_meta(o->checkpoint, theirs, sizeof theirs, &cranks, &cthreads);
        st = dob_comm_agree(world, st);
        if (st != DOB_OK) {
            app_status_error(world, NULL);
            if (app_is_root(world))
                fprintf(stderr, "(--checkpoint %s exists but cannot be resumed; move it away to start afresh)\n",
                        o->checkpoint);
            return DOB_EXIT_FAIL;
        }
        if (strcmp(theirs, ckcfg)) {
            app_error(world, "checkpoint '%s' belongs to another run; it was saved by\n  %s\nand this command "
                      "asks for\n  %s\n(rerun the original command to continue it, or use another --checkpoint)",
                      o->checkpoint, theirs, ckcfg);
            return DOB_EXIT_USAGE;
        }
        if (cthreads != threads && app_is_root(world) && !o->quiet)
            fprintf(stderr, "dob: note: checkpoint saved with %d thread%s per rank, now %d: the continued run is "
                    "equal up to float summation order, not bit-identical\n", cthreads, cthreads == 1 ? "" : "s",
                    threads);
        resume = 1;
    }

    if (o->checkpoint && o->out && dob_io_same_file(o->checkpoint, o->out)) {
        app_error(world, "--checkpoint and --out are both '%s': the checkpoint needs a file of its own (e.g. %s.ckpt)",
                  o->out, o->out);
        return DOB_EXIT_USAGE;
    }
    if (o->checkpoint && !resume && (st = dob_io_check_dir_of(o->checkpoint, "checkpoint", 0)) != DOB_OK) {
        app_status_error(world, "--checkpoint");
        return DOB_EXIT_FAIL;
    }

    /* result file: refuse to clobber before spending any compute */
    char path[4096], stamp[32];
    time_t now = time(NULL);
    struct tm tmv;
    localtime_r(&now, &tmv);
    strftime(stamp, sizeof stamp, "%Y-%m-%d-%H-%M-%S", &tmv);
    char lrs[32];
    format_lr(o->lr, lrs, sizeof lrs);
    if (o->out)
        snprintf(path, sizeof path, "%s", o->out);
    else
        snprintf(path, sizeof path, "%s/%s__%s__lr_%s__seed_%lld__%s.h5", o->output_dir, p->name, opt->name, lrs,
                 (long long)o->seed, stamp);
    if (!o->no_logs) {
        if (!o->out && (st = dob_io_mkdirs(o->output_dir)) != DOB_OK) {
            app_status_error(world, "--output_dir");
            return DOB_EXIT_FAIL;
        }
        if (dob_io_exists(path) && !o->overwrite) {
            app_error(world, "result file '%s' already exists; refusing to overwrite it (use --overwrite or another "
                      "--out)", path);
            return DOB_EXIT_FAIL;
        }
    }

    /* data */
    dob_dataset train = {0}, valid = {0}, test = {0};
    dob_net *net = NULL;
    dob_results *res = NULL;
    dob_train_out out = {0}, from = {0};
    app_ctx actx = {.comm = world, .quiet = o->quiet, .tty = isatty(2), .print_train_iter = o->print_train_iter,
                    .threads = threads};
    double t0 = dob_comm_wtime();
    if (app_is_root(world) && !o->quiet)
        fprintf(stderr, "dob: %s with %s (lr %g), batch %lld, %lld epochs, seed %lld, %d rank%s x %d thread%s\n",
                p->name, opt->name, o->lr, (long long)o->bs, (long long)o->epochs, (long long)o->seed, nranks,
                nranks > 1 ? "s" : "", threads, threads > 1 ? "s" : "");
    const dob_data_opts dopts = {.cifar100_fix_offset = o->cifar100_fix_offset};
    st = dob_problem_data_load_opts(p, o->data_dir, &dopts, o->valid, &train, &valid, &test);
    if (st != DOB_OK) {
        app_status_error(world, p->name);
        goto cleanup;
    }
    if (app_is_root(world) && !o->quiet)
        fprintf(stderr, "dob: data: %lld train, %lld valid, %lld test examples (%.1f s)\n", (long long)train.n,
                (long long)valid.n, (long long)test.n, dob_comm_wtime() - t0);
    if ((st = dob_problem_net(p, &net)) != DOB_OK) {
        app_status_error(world, NULL);
        goto cleanup;
    }
    if (o->sync_bn && nranks > 1) dob_net_set_sum_hook(net, app_hook_sum_double, &actx);

    app_trial trial = {.p = p, .opt = opt, .hp = hp, .sched = sched, .bs = o->bs, .epochs = o->epochs,
                       .log_interval = o->log_interval, .max_steps = o->max_steps, .seed = o->seed, .wd = wd,
                       .train = &train, .valid = o->valid ? &valid : NULL, .test = &test, .net = net};
    if (o->checkpoint) {
        actx.ckpt_path = o->checkpoint;
        actx.ckpt_config = ckcfg;
        actx.arena = dob_net_arena(net);
        actx.ckpt_interval = o->ckpt_interval;
        actx.last_ckpt = dob_comm_wtime();
    }
    if (resume) {
        /* the arena takes the checkpoint's parameters, optimizer state and this rank's buffers */
        st = dob_arena_set_state_count(dob_net_arena(net), opt->state_count);
        if (st == DOB_OK) st = dob_checkpoint_load(o->checkpoint, dob_comm_rank(world), dob_net_arena(net), &from);
        st = dob_comm_agree(world, st);
        if (st != DOB_OK) {
            app_status_error(world, NULL);
            goto cleanup;
        }
        actx.ckpt_ok = actx.ckpt_have = 1;
        actx.ckpt_steps = from.steps_done;
        actx.printed_minibatch = from.n_logged; /* --print_train_iter: those were printed by the first part */
        if (app_is_root(world) && !o->quiet) {
            int64_t spe = train.n / o->bs;
            fprintf(stderr, "dob: resuming from %s: %lld of %lld steps done (epoch %lld, step %lld of %lld)\n",
                    o->checkpoint, (long long)from.steps_done, (long long)(spe * o->epochs),
                    (long long)(spe ? from.steps_done / spe : 0), (long long)(spe ? from.steps_done % spe : 0),
                    (long long)spe);
        }
    }
    dob_train_cfg cfg;
    app_trial_cfg(&trial, &actx, 1, &cfg);
    if (resume) cfg.resume = &from;
    if ((st = dob_train_check(&cfg)) != DOB_OK) {
        app_status_error(world, NULL);
        rc = DOB_EXIT_USAGE;
        goto cleanup;
    }

    /* the result file: created collectively before training so a bad path fails fast; with --checkpoint after
     * training instead (the path was checked above), so a killed run leaves its checkpoint and nothing else */
    const char *hp_names[DOB_OPTIM_MAX_HP + 1];
    double hp_vals[DOB_OPTIM_MAX_HP + 1];
    hp_names[0] = "learning_rate";
    hp_vals[0] = o->lr;
    for (int i = 0; i < opt->n_hparams; i++) {
        hp_names[i + 1] = opt->hparams[i].name;
        hp_vals[i + 1] = hp[i];
    }
    char cmdline[2048] = "dob run";
    for (int i = 0; i < argc; i++) {
        size_t l = strlen(cmdline);
        snprintf(cmdline + l, sizeof cmdline - l, " %s", argv[i]);
    }
    dob_results_meta meta = {
        .problem = p->name, .optimizer = opt->name, .optimizer_deepobs_name = opt->deepobs_name,
        .command_line = cmdline, .batch_size = o->bs, .num_epochs = o->epochs, .train_log_interval = o->log_interval,
        .weight_decay = app_given(o, &o->wd) && p->has_l2 ? wd : NAN, .n_hp = opt->n_hparams + 1, .hp_names = hp_names,
        .n_trials = 1, .n_minibatch = dob_train_n_minibatch(&cfg), .ranks = nranks, .threads = threads,
        .has_accuracy = p->has_accuracy, .has_valid = o->valid,
    };
    if (!o->no_logs) {
        /* the real create, before any compute: a path HDF5 or the file system refuses fails now, not after
         * training (issue 14). With --checkpoint the probe is removed again (the file comes with the end). */
        if ((st = dob_results_create(path, o->overwrite, &meta, world, &res)) != DOB_OK) {
            app_status_error(world, NULL);
            goto cleanup;
        }
        if (o->checkpoint) {
            dob_results_abort(res);
            res = NULL;
        } else if (app_is_root(world)) {
            dob_results_set_status(res, 0, DOB_TRIAL_RUNNING);
        }
    }

    app_catch_signals();
    actx.out = &out;
    double t_train = dob_comm_wtime();
    st = dob_train(&cfg, &out);
    if (actx.tty && app_is_root(world) && !o->quiet) fputs("\r\033[K", stderr);
    if (st != DOB_OK) {
        app_status_error(world, "training failed");
        if (res && app_is_root(world)) dob_results_set_status(res, 0, DOB_TRIAL_FAILED);
        if (res) dob_results_close(res);
        res = NULL;
        goto cleanup;
    }
    double secs = dob_comm_wtime() - t_train;
    /* stopped with --checkpoint: the checkpoint holds the curves, the result file comes with the end. When the
     * save at the stop failed, an earlier checkpoint of this run (periodic, or the one it resumed from) is still
     * a resume point: the rerun repeats the steps since. Only a run with no checkpoint at all writes its curves
     * to an INTERRUPTED result file (which a rerun cannot continue). */
    const int parked = out.status == DOB_TRAIN_STOPPED && o->checkpoint && actx.ckpt_have;
    if (parked) {
        if (res) dob_results_abort(res);
        res = NULL;
        if (app_is_root(world)) {
            int64_t N = out.evaluated - 1;
            printf("%s  %s  lr %g  seed %lld: INTERRUPTED by signal %d after %lld steps", p->name, opt->name, o->lr,
                   (long long)o->seed, (int)app_stop_signal, (long long)out.steps_done);
            if (N >= 0) {
                printf(" (last evaluated epoch %lld: test loss %.4f", (long long)N, out.test_losses[N]);
                if (p->has_accuracy) printf(", test acc %.2f%%", 100 * out.test_accuracies[N]);
                printf(")");
            }
            if (actx.ckpt_steps != out.steps_done)
                printf("\n  the state at the stop could not be saved (see above): the checkpoint %s holds step %lld, "
                       "so the rerun repeats %lld steps", o->checkpoint, (long long)actx.ckpt_steps,
                       (long long)(out.steps_done - actx.ckpt_steps));
            printf("\n  checkpoint: %s (curves so far under /curves); run the same command again to continue\n",
                   o->checkpoint);
            fflush(stdout);
        }
        rc = DOB_EXIT_INTERRUPTED;
        goto cleanup;
    }
    dob_trial_status ts = out.status == DOB_TRAIN_DONE ? DOB_TRIAL_DONE
                        : out.status == DOB_TRAIN_DIVERGED ? DOB_TRIAL_DIVERGED : DOB_TRIAL_FAILED;
    dob_trial_result tr = {
        .train_losses = out.train_losses, .valid_losses = out.valid_losses, .test_losses = out.test_losses,
        .train_accuracies = out.train_accuracies, .valid_accuracies = out.valid_accuracies,
        .test_accuracies = out.test_accuracies, .minibatch_train_losses = out.minibatch_train_losses,
        .epoch_seconds = out.epoch_seconds, .phase_seconds = out.phase_seconds, .hp = hp_vals,
        .random_seed = o->seed, .epochs_done = out.epochs_done, .status = ts,
    };
    if (!o->no_logs && !write_result(world, o->checkpoint != NULL, path, o->overwrite, &meta, &tr, &res)) {
        /* never lose a finished run (issue 14): the checkpoint keeps its state, the curves go elsewhere */
        save_final(&actx, &out, o->max_steps > 0);
        app_rescue_curves(world, &meta, &tr, path);
        goto cleanup;
    }
    /* the result file is complete (or none was asked for): the checkpoint of a finished run has served */
    if (o->checkpoint && ts != DOB_TRIAL_FAILED && app_is_root(world) && dob_io_exists(o->checkpoint) &&
        unlink(o->checkpoint) != 0)
        fprintf(stderr, "dob: warning: cannot remove the checkpoint '%s': %s\n", o->checkpoint, strerror(errno));

    if (app_is_root(world)) {
        int64_t N = out.epochs_done > 0 ? out.epochs_done : 0;
        printf("%s  %s  lr %g  seed %lld: ", p->name, opt->name, o->lr, (long long)o->seed);
        if (ts == DOB_TRIAL_DIVERGED)
            printf("DIVERGED at step %lld (non-finite loss); curves up to epoch %lld kept\n",
                   (long long)out.diverged_step, (long long)N);
        else if (ts == DOB_TRIAL_FAILED)
            printf("INTERRUPTED by signal %d after epoch %lld; curves kept\n", (int)app_stop_signal, (long long)N);
        else
            printf("done\n");
        printf("  final (epoch %lld): train loss %.4f, test loss %.4f", (long long)N, out.train_losses[N],
               out.test_losses[N]);
        if (p->has_accuracy)
            printf(", train acc %.2f%%, test acc %.2f%%", 100 * out.train_accuracies[N], 100 * out.test_accuracies[N]);
        if (o->valid) printf(", valid loss %.4f", out.valid_losses[N]);
        int64_t steps = out.steps_done - (resume ? from.steps_done : 0); /* this process's steps */
        printf("\n  %.1f s training, %.1f steps/s (forward %.1f s, backward %.1f s, allreduce %.1f s, optimizer %.1f s,"
               " data %.1f s)\n",
               secs, secs > 0 ? (double)steps / secs : 0.0, out.phase_seconds[0], out.phase_seconds[1],
               out.phase_seconds[2], out.phase_seconds[3], out.phase_seconds[4]);
        if (!o->no_logs) {
            printf("  results: %s\n", path);
            if (!o->no_json) {
                int nw = 0;
                if (dob_results_export_json(path, o->output_dir, &nw) == DOB_OK)
                    printf("  DeepOBS JSON: %d file%s under %s/%s/\n", nw, nw == 1 ? "" : "s", o->output_dir, p->name);
                else
                    fprintf(stderr, "dob: warning: JSON export failed: %s (the HDF5 file is complete; retry with "
                            "dob export-json %s DIR)\n", dob_last_error(), path);
            }
        }
        fflush(stdout);
    }
    rc = ts == DOB_TRIAL_FAILED ? DOB_EXIT_INTERRUPTED : DOB_EXIT_OK;

cleanup:
    if (res) dob_results_abort(res);
    dob_train_out_free(&out);
    dob_train_out_free(&from);
    dob_net_destroy(net);
    dob_dataset_free(&train);
    dob_dataset_free(&valid);
    dob_dataset_free(&test);
    return rc;
}
