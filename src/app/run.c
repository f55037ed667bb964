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

/* The settings that fix a run's trajectory, as the checkpoint's config string (app_ckpt_config). */
static void ckpt_config(const app_opts *o, const dob_problem_spec *p, const dob_optim_ops *opt, const double *hp,
                        double wd, int nranks, dob_precision prec, dob_conv_algo algo, char *buf, size_t cap) {
    char sched[4096];
    app_sched_str(o->n_sched_epochs, o->sched_epochs, o->sched_factors, sched, sizeof sched);
    const app_ckpt_settings c = {.p = p, .opt = opt, .lr = o->lr, .hp = hp, .bs = o->bs, .epochs = o->epochs,
                                 .seed = o->seed, .wd = wd, .log_interval = o->log_interval, .valid = o->valid,
                                 .max_steps = o->max_steps, .sync_bn = o->sync_bn, .ranks = nranks, .sched = sched,
                                 .cifar100_fix_offset = o->cifar100_fix_offset, .prec = prec, .algo = algo};
    app_ckpt_config(&c, buf, cap);
}

/* The precision a checkpoint config string names (f32 unless it says otherwise). */
static const char *config_precision(const char *config) {
    return strstr(config, " precision=bf16") ? "bf16" : "f32";
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

/* ---- the run's state and its phases ----------------------------------------------------------------------- */
/* Every phase returns a dob_status with its message set (DOB_FAIL); cmd_run alone prints it and turns it into
 * the exit code: r->rc (DOB_EXIT_USAGE for bad input, else DOB_EXIT_FAIL), with r->ctx as the message prefix. */
typedef struct run_state {
    dob_comm *world;
    const app_cmd *cmd;
    app_opts *o;
    int rc;                             /* exit code if the failing phase fails */
    const char *ctx;                    /* prefix of its message (NULL: none) */
    const dob_problem_spec *p;
    const dob_optim_ops *opt;
    double hp[DOB_OPTIM_MAX_HP], wd;
    dob_sched sched;
    int nranks, threads, resume;
    int kept;                           /* --keep-checkpoint: the final state was saved */
    dob_precision prec;                 /* --precision */
    dob_conv_algo algo;                 /* --conv-algo */
    char ckcfg[2048], path[4096], cmdline[2048];
    const char *hp_names[DOB_OPTIM_MAX_HP + 1];
    double hp_vals[DOB_OPTIM_MAX_HP + 1];
    dob_dataset train, valid, test;
    dob_node_data nd;                   /* how the data is held on this node (collective free) */
    app_mem mem;                        /* the memory estimate of this rank's node (issue 20) */
    int64_t mem_root;                   /* ... of rank 0's node: /meta holds one value for all ranks */
    dob_net *net;
    dob_results *res;
    dob_results_meta meta;
    dob_train_cfg cfg;
    dob_train_out out, from;
    app_ctx actx;
    double secs;                        /* training time of this process */
    dob_trial_status ts;
} run_state;

/* Usage errors: r->rc = DOB_EXIT_USAGE and the status. */
static dob_status usage_error(run_state *r, dob_status st) {
    r->rc = DOB_EXIT_USAGE;
    return st;
}

/* parse -> plan: problem, optimizer, hyperparameters and the settings that follow from the problem */
static dob_status plan(run_state *r) {
    app_opts *o = r->o;
    dob_status st = DOB_OK;
    r->rc = DOB_EXIT_USAGE;
    if ((st = app_find_optimizer(o->optimizer, o->optimizer_lib, &r->opt)) != DOB_OK) return st;
    if (!o->n_pos)
        return DOB_FAIL(DOB_EINVAL, "missing PROBLEM (dob list shows the test problems; dob run --help the options)");
    if ((st = app_find_problem(o->pos[0], &r->p)) != DOB_OK) return st;
    if (!r->opt) return DOB_FAIL(DOB_EINVAL, "missing --optimizer NAME (or --optimizer-lib PATH.so)");
    if (!app_given(o, &o->lr))
        return DOB_FAIL(DOB_EINVAL, "missing --lr (the learning rate; DeepOBS tunes it on a log grid, e.g. --lr 1e-2)");
    /* hyperparameters: defaults, then flags; every flag must name one */
    for (int i = 0; i < r->opt->n_hparams; i++) r->hp[i] = r->opt->hparams[i].def;
    for (int i = 0; i < o->n_hp; i++) {
        int k = 0;
        DOB_TRY(app_hp_index(r->cmd, r->opt, o->hp_names[i], &k));
        DOB_TRY(app_parse_double(o->hp_names[i], o->hp_values[i], &r->hp[k]));
    }
    if (!app_given(o, &o->bs)) o->bs = r->p->batch_size;
    if (!app_given(o, &o->epochs)) o->epochs = r->p->num_epochs;
    if (o->no_logs && (app_given(o, &o->out) || app_given(o, &o->output_dir)))
        return DOB_FAIL(DOB_EINVAL, "--no_logs writes no result file, so --%s is contradictory: drop one of them",
                        app_given(o, &o->out) ? "out" : "output_dir");
    r->wd = app_weight_decay(r->world, r->p, o);
    DOB_TRY(app_make_sched(o->lr, o->n_sched_epochs, o->sched_epochs, o->n_sched_factors, o->sched_factors,
                           &r->sched));
    DOB_TRY(dob_optim_check(r->opt, o->lr, r->hp));
    r->nranks = dob_comm_size(r->world);
    r->threads = 1;
#ifdef _OPENMP
    r->threads = omp_get_max_threads();
#endif
    if ((st = dob_precision_parse(o->precision ? o->precision : "f32", &r->prec)) != DOB_OK ||
        (st = dob_precision_check(r->prec)) != DOB_OK) {
        dob_error_prefix("--precision: ");
        return st;
    }
    if ((st = app_conv_algo(o->conv_algo, o->quiet || !app_is_root(r->world), &r->algo)) != DOB_OK) return st;
    ckpt_config(o, r->p, r->opt, r->hp, r->wd, r->nranks, r->prec, r->algo, r->ckcfg, sizeof r->ckcfg);
    r->rc = DOB_EXIT_FAIL;
fail:
    return st;
}

/* --checkpoint: resume if the file exists (and belongs to this run), else check that it can be written */
static dob_status plan_checkpoint(run_state *r) {
    const app_opts *o = r->o;
    dob_status st = DOB_OK;
    if (o->keep_checkpoint && !o->checkpoint)
        return usage_error(r, DOB_FAIL(DOB_EINVAL, "--keep-checkpoint keeps the --checkpoint FILE of a finished run: "
                                       "give --checkpoint FILE too"));
    if (o->keep_checkpoint && o->max_steps > 0)
        return usage_error(r, DOB_FAIL(DOB_EINVAL, "--keep-checkpoint with --max_steps: a --max_steps end state is "
                                       "no finished run; drop one of the two"));
    /* rank 0 decides (a node-local path would otherwise split the ranks between resuming and starting afresh);
     * every rank then reads the checkpoint, and one that cannot fails the launch cleanly */
    int ck_exists = o->checkpoint && app_is_root(r->world) && dob_io_exists(o->checkpoint);
    DOB_TRY(dob_comm_bcast(r->world, &ck_exists, sizeof ck_exists, 0));
    if (ck_exists) {
        char theirs[2048] = "";
        int cranks = 0, cthreads = 0;
        st = dob_checkpoint_read_meta(o->checkpoint, theirs, sizeof theirs, &cranks, &cthreads);
        if ((st = dob_comm_agree(r->world, st)) != DOB_OK) {
            if (app_is_root(r->world))
                fprintf(stderr, "(--checkpoint %s exists but cannot be resumed; move it away to start afresh)\n",
                        o->checkpoint);
            return st;
        }
        if (strcmp(config_precision(theirs), dob_precision_name(r->prec)))
            return usage_error(r, DOB_FAIL(DOB_EINVAL, "checkpoint '%s' was saved by a %s run and this command runs "
                                           "%s (--precision): a run continues only in its own precision",
                                           o->checkpoint, config_precision(theirs), dob_precision_name(r->prec)));
        if (strcmp(theirs, r->ckcfg))
            return usage_error(r, DOB_FAIL(DOB_EINVAL, "checkpoint '%s' belongs to another run; it was saved by\n  %s\n"
                                           "and this command asks for\n  %s\n(rerun the original command to continue "
                                           "it, or use another --checkpoint)", o->checkpoint, theirs, r->ckcfg));
        if (cthreads != r->threads && app_is_root(r->world) && !o->quiet)
            fprintf(stderr, "dob: note: checkpoint saved with %d thread%s per rank, now %d: the continued run is "
                    "equal up to float summation order, not bit-identical\n", cthreads, cthreads == 1 ? "" : "s",
                    r->threads);
        r->resume = 1;
    }
    if (o->checkpoint && o->out && dob_io_same_file(o->checkpoint, o->out))
        return usage_error(r, DOB_FAIL(DOB_EINVAL, "--checkpoint and --out are both '%s': the checkpoint needs a "
                                       "file of its own (e.g. %s.ckpt)", o->out, o->out));
    r->ctx = "--checkpoint";
    if (o->checkpoint && !r->resume) DOB_TRY(dob_io_check_dir_of(o->checkpoint, "checkpoint", 0));
    r->ctx = NULL;
fail:
    return st;
}

/* The result file's path; refuse to clobber before spending any compute. */
static dob_status plan_result_path(run_state *r) {
    const app_opts *o = r->o;
    dob_status st = DOB_OK;
    char stamp[32], lrs[32];
    time_t now = time(NULL);
    struct tm tmv;
    localtime_r(&now, &tmv);
    strftime(stamp, sizeof stamp, "%Y-%m-%d-%H-%M-%S", &tmv);
    snprintf(lrs, sizeof lrs, "%.4g", o->lr);
    if (o->out)
        snprintf(r->path, sizeof r->path, "%s", o->out);
    else
        snprintf(r->path, sizeof r->path, "%s/%s__%s__lr_%s__seed_%lld__%s.h5", o->output_dir, r->p->name,
                 r->opt->name, lrs, (long long)o->seed, stamp);
    if (o->no_logs) return DOB_OK;
    r->ctx = "--output_dir";
    if (!o->out) DOB_TRY(dob_io_mkdirs(o->output_dir));
    r->ctx = NULL;
    if (dob_io_exists(r->path) && !o->overwrite)
        return DOB_FAIL(DOB_EEXIST, "result file '%s' already exists; refusing to overwrite it (use --overwrite or "
                        "another --out)", r->path);
fail:
    return st;
}

/* Resuming: the arena takes the checkpoint's parameters, optimizer state and this rank's buffers. */
static dob_status load_checkpoint(run_state *r) {
    const app_opts *o = r->o;
    dob_status st = dob_arena_set_state_count(dob_net_arena(r->net), r->opt->state_count);
    if (st == DOB_OK) st = dob_checkpoint_load(o->checkpoint, dob_comm_rank(r->world), dob_net_arena(r->net), &r->from);
    if ((st = dob_comm_agree(r->world, st)) != DOB_OK) return st;
    r->actx.ckpt_ok = r->actx.ckpt_have = 1;
    r->actx.ckpt_steps = r->from.steps_done;
    r->actx.printed_minibatch = r->from.n_logged; /* --print_train_iter: those were printed by the first part */
    if (app_is_root(r->world) && !o->quiet) {
        int64_t spe = r->train.n / o->bs;
        fprintf(stderr, "dob: resuming from %s: %lld of %lld steps done (epoch %lld, step %lld of %lld)\n",
                o->checkpoint, (long long)r->from.steps_done, (long long)(spe * o->epochs),
                (long long)(spe ? r->from.steps_done / spe : 0), (long long)(spe ? r->from.steps_done % spe : 0),
                (long long)spe);
    }
    return DOB_OK;
}

/* The memory estimate: printed with -v, and a node that cannot hold the run stops it before training (each
 * rank checks its own node; the agreement carries a failing node's numbers to rank 0). */
static dob_status plan_memory(run_state *r) {
    dob_status st = app_mem_estimate(&r->cfg, &r->nd, &r->mem);
    if (st == DOB_OK && app_is_root(r->world) && r->o->verbose) app_mem_print(&r->mem, stderr);
    if (st == DOB_OK) st = app_mem_check(&r->mem, r->o->bs / r->nranks);
    if ((st = dob_comm_agree(r->world, st)) != DOB_OK) return st;
    r->mem_root = (int64_t)r->mem.node;
    return dob_comm_bcast(r->world, &r->mem_root, sizeof r->mem_root, 0);
}

/* Data, net, hooks, the checkpoint's state if resuming, and the checked trainer configuration. */
static dob_status load(run_state *r) {
    const app_opts *o = r->o;
    dob_status st = DOB_OK;
    r->actx = (app_ctx){.comm = r->world, .quiet = o->quiet, .tty = isatty(2), .print_train_iter = o->print_train_iter,
                        .threads = r->threads, .precision = dob_precision_name(r->prec)};
    double t0 = dob_comm_wtime();
    if (app_is_root(r->world) && !o->quiet)
        fprintf(stderr, "dob: %s with %s (lr %g), batch %lld, %lld epochs, seed %lld, %d rank%s x %d thread%s%s\n",
                r->p->name, r->opt->name, o->lr, (long long)o->bs, (long long)o->epochs, (long long)o->seed,
                r->nranks, r->nranks > 1 ? "s" : "", r->threads, r->threads > 1 ? "s" : "",
                r->prec == DOB_BF16 ? ", bf16" : "");
    r->ctx = r->p->name;
    const dob_data_opts dopts = {.cifar100_fix_offset = o->cifar100_fix_offset};
    DOB_TRY(dob_comm_agree(r->world, dob_problem_data_load_node(r->p, o->data_dir, &dopts, o->valid, r->world,
                                                                &r->train, &r->valid, &r->test, &r->nd)));
    r->ctx = NULL;
    if (app_is_root(r->world) && !o->quiet)
        fprintf(stderr, "dob: data: %lld train, %lld valid, %lld test examples (%.1f s)\n", (long long)r->train.n,
                (long long)r->valid.n, (long long)r->test.n, dob_comm_wtime() - t0);
    if (app_is_root(r->world) && o->verbose)
        fprintf(stderr, "dob: data held as %.1f MB, %s\n", (double)r->nd.bytes / 1048576.0, r->nd.note);
    DOB_TRY(dob_problem_net(r->p, &r->net));
    DOB_TRY(dob_net_set_precision(r->net, r->prec));
    DOB_TRY(dob_net_set_conv_algo(r->net, r->algo));
    /* --sync-bn on 1 rank too: the same double-precision statistics as on N ranks (oneDNN's float ones differ by
     * summation order: Inception's 2-rank step-1 loss was 1.9e-4 off the 1-rank one, now 0; step 2 7.4e-8) */
    if (o->sync_bn) dob_net_set_sum_hook(r->net, app_hook_sum_double, &r->actx);
    if (o->checkpoint) {
        r->actx.ckpt_path = o->checkpoint;
        r->actx.ckpt_config = r->ckcfg;
        r->actx.arena = dob_net_arena(r->net);
        r->actx.ckpt_interval = o->ckpt_interval;
        r->actx.last_ckpt = dob_comm_wtime();
    }
    if (r->resume) DOB_TRY(load_checkpoint(r));
    app_trial trial = {.p = r->p, .opt = r->opt, .hp = r->hp, .sched = r->sched, .bs = o->bs, .epochs = o->epochs,
                       .log_interval = o->log_interval, .max_steps = o->max_steps, .seed = o->seed, .wd = r->wd,
                       .train = &r->train, .valid = o->valid ? &r->valid : NULL, .test = &r->test, .net = r->net};
    app_trial_cfg(&trial, &r->actx, 1, &r->cfg);
    if (r->resume) r->cfg.resume = &r->from;
    if ((st = dob_train_check(&r->cfg)) != DOB_OK) return usage_error(r, st);
    /* a run too large for its node is fixed with flags (--bs, ranks per node): a usage error */
    if ((st = plan_memory(r)) != DOB_OK) return st == DOB_ENOMEM ? usage_error(r, st) : st;
fail:
    return st;
}

/* The results' metadata and the file, created collectively before training so a bad path fails fast; with
 * --checkpoint it is created again after training, so a killed run leaves only its checkpoint. */
static dob_status open_results(run_state *r, int argc, char **argv) {
    const app_opts *o = r->o;
    dob_status st = DOB_OK;
    r->hp_names[0] = "learning_rate";
    r->hp_vals[0] = o->lr;
    for (int i = 0; i < r->opt->n_hparams; i++) {
        r->hp_names[i + 1] = r->opt->hparams[i].name;
        r->hp_vals[i + 1] = r->hp[i];
    }
    snprintf(r->cmdline, sizeof r->cmdline, "dob run");
    for (int i = 0; i < argc; i++) {
        size_t l = strlen(r->cmdline);
        snprintf(r->cmdline + l, sizeof r->cmdline - l, " %s", argv[i]);
    }
    r->meta = (dob_results_meta){
        .problem = r->p->name, .optimizer = r->opt->name, .optimizer_deepobs_name = r->opt->deepobs_name,
        .command_line = r->cmdline, .batch_size = o->bs, .num_epochs = o->epochs,
        .train_log_interval = o->log_interval, .weight_decay = app_given(o, &o->wd) && r->p->has_l2 ? r->wd : NAN,
        .n_hp = r->opt->n_hparams + 1, .hp_names = r->hp_names, .n_trials = 1,
        .n_minibatch = dob_train_n_minibatch(&r->cfg), .ranks = r->nranks, .threads = r->threads,
        .has_accuracy = r->p->has_accuracy, .has_valid = o->valid, .precision = dob_precision_name(r->prec),
        .conv_algo = dob_conv_algo_name(r->algo),
        .memory_estimate_bytes = r->mem_root, .cifar100_fix_offset = o->cifar100_fix_offset,
    };
    if (o->no_logs) return DOB_OK;
    /* the real create, before any compute: a path HDF5 or the file system refuses fails now, not after training
     * (issue 14). With --checkpoint the probe is removed again (the file comes with the end). */
    DOB_TRY(dob_results_create(r->path, o->overwrite, &r->meta, r->world, &r->res));
    if (o->checkpoint) {
        dob_results_abort(r->res);
        r->res = NULL;
    } else if (app_is_root(r->world)) {
        dob_results_set_status(r->res, 0, DOB_TRIAL_RUNNING);
    }
fail:
    return st;
}

static dob_status train(run_state *r) {
    dob_status st = DOB_OK;
    app_catch_signals();
    r->actx.out = &r->out;
    double t0 = dob_comm_wtime();
    st = dob_train(&r->cfg, &r->out);
    if (r->actx.tty && app_is_root(r->world) && !r->o->quiet) fputs("\r\033[K", stderr);
    r->secs = dob_comm_wtime() - t0;
    if (st != DOB_OK) {
        r->ctx = "training failed";
        if (r->res && app_is_root(r->world)) dob_results_set_status(r->res, 0, DOB_TRIAL_FAILED);
        if (r->res) dob_results_close(r->res);
        r->res = NULL;
        return st;
    }
    r->ts = r->out.status == DOB_TRAIN_DONE       ? DOB_TRIAL_DONE
            : r->out.status == DOB_TRAIN_DIVERGED ? DOB_TRIAL_DIVERGED
                                                  : DOB_TRIAL_FAILED;
    return DOB_OK;
}

/* Stopped with --checkpoint: the checkpoint holds the curves, the result file comes with the end. When the save
 * at the stop failed, an earlier checkpoint of this run (periodic, or the one it resumed from) is still a resume
 * point: the rerun repeats the steps since. (A run with no checkpoint at all writes its curves to an INTERRUPTED
 * result file instead, which a rerun cannot continue.) */
static int parked(const run_state *r) {
    return r->out.status == DOB_TRAIN_STOPPED && r->o->checkpoint && r->actx.ckpt_have;
}

static void report_parked(run_state *r) {
    const app_opts *o = r->o;
    const dob_train_out *out = &r->out;
    if (r->res) dob_results_abort(r->res);
    r->res = NULL;
    if (!app_is_root(r->world)) return;
    int64_t N = out->evaluated - 1;
    printf("%s  %s  lr %g  seed %lld: INTERRUPTED by signal %d after %lld steps", r->p->name, r->opt->name, o->lr,
           (long long)o->seed, (int)app_stop_signal, (long long)out->steps_done);
    if (N >= 0) {
        printf(" (last evaluated epoch %lld: test loss %.4f", (long long)N, out->test_losses[N]);
        if (r->p->has_accuracy) printf(", test acc %.2f%%", 100 * out->test_accuracies[N]);
        printf(")");
    }
    if (r->actx.ckpt_steps != out->steps_done)
        printf("\n  the state at the stop could not be saved (see above): the checkpoint %s holds step %lld, so the "
               "rerun repeats %lld steps", o->checkpoint, (long long)r->actx.ckpt_steps,
               (long long)(out->steps_done - r->actx.ckpt_steps));
    printf("\n  checkpoint: %s (curves so far under /curves); run the same command again to continue\n",
           o->checkpoint);
    fflush(stdout);
}

/* The trial into the result file (created now with --checkpoint), closed; then the checkpoint has served. */
static dob_status write_results(run_state *r) {
    const app_opts *o = r->o;
    const dob_train_out *out = &r->out;
    dob_status st = DOB_OK;
    if (!o->no_logs && o->checkpoint) DOB_TRY(dob_results_create(r->path, o->overwrite, &r->meta, r->world, &r->res));
    /* --keep-checkpoint: the final state (the trainer saves none after the last epoch), before the result file */
    if (o->keep_checkpoint && r->ts != DOB_TRIAL_FAILED) {
        app_hook_checkpoint(&r->actx, out);
        r->kept = r->actx.ckpt_ok;
    }
    if (r->res) {
        dob_trial_result tr = app_trial_result(out, r->hp_vals, o->seed, r->ts);
        r->ctx = "writing results";
        DOB_TRY(dob_comm_agree(r->world, app_is_root(r->world) ? dob_results_write_trial(r->res, 0, &tr) : DOB_OK));
        r->ctx = "closing the result file";
        st = dob_results_close(r->res);
        r->res = NULL;
        DOB_TRY(st);
        r->ctx = NULL;
    }
    /* the result file is complete (or none was asked for): the checkpoint of a finished run has served */
    if (o->checkpoint && !o->keep_checkpoint && r->ts != DOB_TRIAL_FAILED && app_is_root(r->world) &&
        dob_io_exists(o->checkpoint) &&
        unlink(o->checkpoint) != 0)
        fprintf(stderr, "dob: warning: cannot remove the checkpoint '%s': %s\n", o->checkpoint, strerror(errno));
fail:
    return st;
}

static void report(const run_state *r) {
    const app_opts *o = r->o;
    const dob_train_out *out = &r->out;
    if (!app_is_root(r->world)) return;
    int64_t N = out->epochs_done > 0 ? out->epochs_done : 0;
    printf("%s  %s  lr %g  seed %lld: ", r->p->name, r->opt->name, o->lr, (long long)o->seed);
    if (r->ts == DOB_TRIAL_DIVERGED)
        printf("DIVERGED at step %lld (non-finite loss); curves up to epoch %lld kept\n",
               (long long)out->diverged_step, (long long)N);
    else if (r->ts == DOB_TRIAL_FAILED)
        printf("INTERRUPTED by signal %d after epoch %lld; curves kept\n", (int)app_stop_signal, (long long)N);
    else
        printf("done\n");
    printf("  final (epoch %lld): train loss %.4f, test loss %.4f", (long long)N, out->train_losses[N],
           out->test_losses[N]);
    if (r->p->has_accuracy)
        printf(", train acc %.2f%%, test acc %.2f%%", 100 * out->train_accuracies[N], 100 * out->test_accuracies[N]);
    if (o->valid) printf(", valid loss %.4f", out->valid_losses[N]);
    int64_t steps = out->steps_done - (r->resume ? r->from.steps_done : 0); /* this process's steps */
    /* the step rate over the steps' own time (its phases), as bench/epoch.sh reads it from the result file; the
     * rest of the run is evaluation, initialisation and checkpoints */
    double ph[DOB_N_PHASES], step_secs = 0.0; /* this process's: a resumed run's curves carry the first part's */
    for (int i = 0; i < DOB_N_PHASES; i++) {
        ph[i] = out->phase_seconds[i] - (r->resume ? r->from.phase_seconds[i] : 0.0);
        step_secs += ph[i];
    }
    char rate[32];
    app_fmt_rate(step_secs > 0 ? (double)steps / step_secs : 0.0, rate, sizeof rate);
    printf("\n  %.1f s: %lld training steps in %.1f s = %s steps/s, evaluation and the rest %.1f s\n"
           "  steps: forward %.1f s, backward %.1f s, allreduce %.1f s, optimizer %.1f s, data %.1f s\n",
           r->secs, (long long)steps, step_secs, rate, r->secs > step_secs ? r->secs - step_secs : 0.0, ph[0], ph[1],
           ph[2], ph[3], ph[4]);
    if (!o->no_logs) {
        printf("  results: %s\n", r->path);
        if (!o->no_json) {
            int nw = 0;
            if (dob_results_export_json(r->path, o->output_dir, &nw) == DOB_OK)
                printf("  DeepOBS JSON: %d file%s under %s/%s/\n", nw, nw == 1 ? "" : "s", o->output_dir, r->p->name);
            else
                fprintf(stderr, "dob: warning: JSON export failed: %s (the HDF5 file is complete; retry with "
                        "dob export-json %s DIR)\n", dob_last_error(), r->path);
        }
    }
    if (r->kept) printf("  checkpoint (the final state): %s\n", o->checkpoint);
    fflush(stdout);
}

static void run_free(run_state *r) {
    if (r->res) dob_results_abort(r->res);
    dob_train_out_free(&r->out);
    dob_train_out_free(&r->from);
    dob_net_destroy(r->net);
    dob_dataset_free(&r->train);
    dob_dataset_free(&r->valid);
    dob_dataset_free(&r->test);
    dob_node_data_free(&r->nd);
    free(r);
}

/* ---- the command ---------------------------------------------------------------------------------------- */
/* parse (main.c) -> plan -> open results -> train -> write results -> report */
int cmd_run(dob_comm *world, const app_cmd *cmd, app_opts *o, int argc, char **argv) {
    run_state *r = calloc(1, sizeof *r);
    if (!r) {
        app_error(world, "out of memory");
        return DOB_EXIT_FAIL;
    }
    *r = (run_state){.world = world, .cmd = cmd, .o = o, .rc = DOB_EXIT_FAIL};
    int rc = DOB_EXIT_FAIL;
    dob_status st = plan(r);
    if (st == DOB_OK) st = plan_checkpoint(r);
    if (st == DOB_OK) st = plan_result_path(r);
    if (st == DOB_OK) st = load(r);
    if (st == DOB_OK) st = open_results(r, argc, argv);
    if (st == DOB_OK) st = train(r);
    if (st != DOB_OK) {
        app_status_error(world, r->ctx);
        if (r->rc == DOB_EXIT_USAGE && !r->p && app_is_root(world)) fputs("(dob run --help lists the options)\n", stderr);
        rc = r->rc;
    } else if (parked(r)) {
        report_parked(r);
        rc = DOB_EXIT_INTERRUPTED;
    } else if ((st = write_results(r)) != DOB_OK) {
        /* never lose a finished run (issue 14): the checkpoint keeps its state, the curves go elsewhere */
        app_status_error(world, r->ctx);
        if (r->res) dob_results_abort(r->res);
        r->res = NULL;
        save_final(&r->actx, &r->out, o->max_steps > 0);
        dob_trial_result tr = app_trial_result(&r->out, r->hp_vals, o->seed, r->ts);
        app_rescue_curves(world, &r->meta, &tr, r->path);
    } else {
        report(r);
        rc = r->ts == DOB_TRIAL_FAILED ? DOB_EXIT_INTERRUPTED : DOB_EXIT_OK;
    }
    run_free(r);
    return rc;
}
