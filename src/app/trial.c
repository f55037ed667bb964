/* trial.c: what `dob run` and `dob sweep` share: finding the problem and optimizer by name (with "did you
 * mean"), the trainer hooks (sums over the trial's ranks, progress lines, stop on SIGINT/SIGTERM/SIGUSR1), and
 * the training configuration of one trial from its problem, optimizer, hyperparameters, seed and loaded data.
 *
 * Invariants: every rank of a trial's comm builds the same configuration and stops at the same step (the stop
 * decision is all-reduced over the trial's comm every step). Signals only set app_stop_signal (signals.c).
 *
 * It does not: load data, open result files or print results (run.c and sweep_cmd.c do). */
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>

#include "app.h"
#include "dob/checkpoint.h"
#include "dob/optim.h"
#include "dob/results.h"

/* ---- names ------------------------------------------------------------------------------------------------ */
dob_status app_find_problem(const char *name, const dob_problem_spec **out) {
    if ((*out = dob_problem_find(name))) return DOB_OK;
    const char *names[64];
    int n = dob_problem_count();
    for (int i = 0; i < n && i < 64; i++) names[i] = dob_problem_at(i)->name;
    const char *s = app_suggest(name, names, n < 64 ? n : 64);
    return DOB_FAIL(DOB_EINVAL, "unknown test problem '%s'%s%s%s (dob list shows them)", name,
                    s ? ", did you mean '" : "", s ? s : "", s ? "'?" : "");
}

dob_status app_find_optimizer(const char *name, const char *lib, const dob_optim_ops **out) {
    *out = NULL;
    if (lib) return dob_optim_load_plugin(lib, out);
    if (!name) return DOB_OK;
    *out = dob_optim_find(name);
    if (*out) return DOB_OK;
    const char *names[32];
    int n = dob_optim_builtin_count();
    for (int i = 0; i < n && i < 32; i++) names[i] = dob_optim_builtin(i)->name;
    const char *s = app_suggest(name, names, n < 32 ? n : 32);
    return DOB_FAIL(DOB_EINVAL, "unknown optimizer '%s'%s%s%s (built-ins: sgd, momentum, nesterov, adam, adamw, "
                    "rmsprop, adagrad, adadelta; or --optimizer-lib PATH.so)",
                    name, s ? ", did you mean '" : "", s ? s : "", s ? "'?" : "");
}

void app_optim_help(const dob_optim_ops *o, FILE *f) {
    fprintf(f, "\nhyperparameters of %s:\n", o->name);
    if (!o->n_hparams) fputs("  (none besides --lr)\n", f);
    for (int i = 0; i < o->n_hparams; i++) {
        const dob_hparam_spec *h = &o->hparams[i];
        /* the range exactly as dob_optim_check states it (%.10g: "[0, 0.999999999]", not "[0, 1]") */
        fprintf(f, "  --%-20s %s (default %g, range [%.10g, %.10g])\n", h->name, h->help ? h->help : "", h->def,
                h->lo, h->hi);
    }
}

/* ---- hooks ------------------------------------------------------------------------------------------------ */
dob_status app_hook_sum_float(void *ctx, float *x, size_t n) {
    return dob_comm_allreduce_float(((app_ctx *)ctx)->comm, x, n);
}
dob_status app_hook_sum_double(void *ctx, double *x, size_t n) {
    return dob_comm_allreduce_double(((app_ctx *)ctx)->comm, x, n);
}
/* the gradient sum overlapped with backward (trainer.h); DOB_GRAD_OVERLAP=0 turns it off (bench/bench_mpi.sh) */
static dob_status hook_isum(void *ctx, float *x, size_t n) { return dob_comm_isum_float(((app_ctx *)ctx)->comm, x, n); }
static dob_status hook_sums_progress(void *ctx) { return dob_comm_progress(((app_ctx *)ctx)->comm); }
static dob_status hook_sums_wait(void *ctx) { return dob_comm_wait_sums(((app_ctx *)ctx)->comm); }
static int grad_overlap(void) {
    const char *v = getenv("DOB_GRAD_OVERLAP");
    return !v || strcmp(v, "0") != 0;
}

static int hook_should_stop(void *vctx) {
    app_ctx *c = vctx;
    int s = app_stop_signal != 0 ? DOB_POLL_STOP : DOB_POLL_CONTINUE;
    if (dob_comm_rank(c->comm) == 0) {
        if (!s && c->poll_stop && c->poll_stop(c->poll_ctx)) s = DOB_POLL_STOP;
        if (!s && c->ckpt_path && c->ckpt_interval > 0 && dob_comm_wtime() - c->last_ckpt >= c->ckpt_interval)
            s = DOB_POLL_CHECKPOINT;
    }
    /* every rank must stop (and checkpoint) at the same step: STOP > CHECKPOINT > CONTINUE */
    if (dob_comm_allreduce_max_int(c->comm, &s) != DOB_OK) return DOB_POLL_STOP;
    return s;
}

/* Compared exactly on resume, so a checkpoint continues only the run that saved it. (The schedule was once printed
 * with %g epochs: the same text for the whole-number epochs a schedule has.) */
void app_ckpt_config(const app_ckpt_settings *c, char *buf, size_t cap) {
    size_t l = (size_t)snprintf(buf, cap, "problem=%s optimizer=%s lr=%.17g", c->p->name, c->opt->name, c->lr);
    for (int i = 0; i < c->opt->n_hparams && l < cap; i++)
        l += (size_t)snprintf(buf + l, cap - l, " %s=%.17g", c->opt->hparams[i].name, c->hp[i]);
    if (l < cap)
        l += (size_t)snprintf(buf + l, cap - l,
                              " batch_size=%lld num_epochs=%lld seed=%lld weight_decay=%.17g train_log_interval=%lld "
                              "valid=%d max_steps=%lld sync_bn=%d ranks=%d sched=%s",
                              (long long)c->bs, (long long)c->epochs, (long long)c->seed, c->p->has_l2 ? c->wd : 0.0,
                              (long long)c->log_interval, c->valid, (long long)c->max_steps, c->sync_bn, c->ranks,
                              c->sched);
    /* only when set, so checkpoints written before the flag existed still match */
    if (l < cap && c->cifar100_fix_offset) l += (size_t)snprintf(buf + l, cap - l, " cifar100_fix_offset=1");
    /* likewise only bf16 is named: the config strings of f32 runs (and their checkpoints) stay what they were */
    if (l < cap && c->prec != DOB_F32)
        l += (size_t)snprintf(buf + l, cap - l, " precision=%s", dob_precision_name(c->prec));
    /* and only a non-direct convolution algorithm (other rounding: a run continues only in its own) */
    if (l < cap && c->algo != DOB_CONV_DIRECT) snprintf(buf + l, cap - l, " conv_algo=%s", dob_conv_algo_name(c->algo));
}

void app_hook_checkpoint(void *vctx, const dob_train_out *o) {
    app_ctx *c = vctx;
    const int rank = dob_comm_rank(c->comm), P = dob_comm_size(c->comm);
    const size_t nb = dob_arena_buffer_size(c->arena);
    dob_status st = DOB_OK;
    float *all = NULL;
    if (nb && P > 1) {
        /* every rank's buffers (per-rank batch-norm statistics) to rank 0: a sum of disjoint rows */
        all = calloc((size_t)P * nb, sizeof *all);
        st = dob_comm_agree(c->comm, all ? DOB_OK
                                         : DOB_FAIL(DOB_ENOMEM, "out of memory for the batch-norm statistics of %d "
                                                    "ranks", P));
        if (st != DOB_OK) {
            free(all);
            all = NULL;
        } else {
            memcpy(all + (size_t)rank * nb, dob_arena_buffers(c->arena), nb * sizeof *all);
            st = dob_comm_allreduce_float(c->comm, all, (size_t)P * nb);
        }
    }
    /* every rank's carried net state (LSTM streams) likewise */
    const size_t ns = (size_t)o->net_state_n;
    float *states = NULL;
    if (st == DOB_OK && ns && P > 1) {
        states = calloc((size_t)P * ns, sizeof *states);
        st = dob_comm_agree(c->comm, states ? DOB_OK
                                            : DOB_FAIL(DOB_ENOMEM, "out of memory for the net state of %d ranks", P));
        if (st == DOB_OK) {
            memcpy(states + (size_t)rank * ns, o->net_state, ns * sizeof *states);
            st = dob_comm_allreduce_float(c->comm, states, (size_t)P * ns);
        }
    }
    if (st == DOB_OK && rank == 0) {
        dob_ckpt_meta m = {.config = c->ckpt_config, .ranks = P, .threads = c->threads, .precision = c->precision,
                           .net_state_all = states};
        st = dob_checkpoint_save(c->ckpt_path, &m, c->arena, all, o);
    }
    free(states);
    free(all);
    st = dob_comm_agree(c->comm, st);
    const int bad = st != DOB_OK;
    c->ckpt_ok = !bad;
    if (!bad) {
        c->ckpt_steps = o->steps_done;
        c->ckpt_have = 1;
    }
    if (rank == 0) {
        c->last_ckpt = dob_comm_wtime();
        if (bad) {
            if (c->tty) fputs("\r\033[K", stderr);
            fprintf(stderr, "dob: warning: checkpoint not saved: %s; training goes on (the previous checkpoint, if "
                    "any, is kept)\n", dob_last_error());
        }
    }
}

static void fmt_duration(double s, char *buf, size_t n) {
    if (!isfinite(s) || s < 0) s = 0;
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, n, "%ldh%02ldm", t / 3600, (t / 60) % 60);
    else
        snprintf(buf, n, "%ldm%02lds", t / 60, t % 60);
}

void app_fmt_rate(double x, char *buf, size_t n) { snprintf(buf, n, x >= 100.0 ? "%.0f" : "%.3g", x); }

/* The curves of the evaluation round just finished (entry p->epoch), one line. */
static void print_round(const dob_progress *p, const dob_train_out *o, int tty) {
    int64_t e = p->epoch;
    if (tty) fputs("\r\033[K", stderr);
    fprintf(stderr, "  epoch %3lld/%lld: train_eval loss %.4f", (long long)e, (long long)p->num_epochs,
            o->train_losses[e]);
    if (!isnan(o->train_accuracies[e])) fprintf(stderr, " acc %.4f", o->train_accuracies[e]);
    if (!isnan(o->valid_losses[e])) {
        fprintf(stderr, " | valid loss %.4f", o->valid_losses[e]);
        if (!isnan(o->valid_accuracies[e])) fprintf(stderr, " acc %.4f", o->valid_accuracies[e]);
    }
    fprintf(stderr, " | test loss %.4f", o->test_losses[e]);
    if (!isnan(o->test_accuracies[e])) fprintf(stderr, " acc %.4f", o->test_accuracies[e]);
    if (e > 0 && isfinite(o->epoch_seconds[e - 1])) fprintf(stderr, "  (%.1f s)", o->epoch_seconds[e - 1]);
    fputc('\n', stderr);
}

static void hook_progress(void *vctx, const dob_progress *p) {
    app_ctx *c = vctx;
    if (!app_is_root(c->comm)) return;
    const dob_train_out *o = c->out;
    if (c->print_train_iter && o && o->minibatch_train_losses) {
        while (c->printed_minibatch < o->n_minibatch && isfinite(o->minibatch_train_losses[c->printed_minibatch])) {
            if (c->tty) fputs("\r\033[K", stderr);
            fprintf(stderr, "  minibatch %lld: loss %.6f\n", (long long)c->printed_minibatch,
                    o->minibatch_train_losses[c->printed_minibatch]);
            c->printed_minibatch++;
        }
    }
    if (c->trial_label) { /* a sweep's trial: rounds are not printed (the trial's end line says the result) */
        if (p->evaluating == 1) return;
    } else if (c->quiet) {
        return;
    } else if (p->evaluating == 1) {
        print_round(p, o, c->tty);
        return;
    }
    char line[192], rate[32];
    if (p->evaluating == DOB_PROGRESS_EVAL_RUNNING) {
        app_fmt_rate(p->eval_per_second, rate, sizeof rate);
        snprintf(line, sizeof line, "epoch %lld/%lld  evaluating %s  %lld/%lld examples  %s examples/s",
                 (long long)p->epoch, (long long)p->num_epochs, p->eval_split, (long long)p->eval_done,
                 (long long)p->eval_total, rate);
    } else {
        char eta[32];
        fmt_duration(p->eta_seconds, eta, sizeof eta);
        app_fmt_rate(p->steps_per_second, rate, sizeof rate);
        snprintf(line, sizeof line, "epoch %lld/%lld  step %lld/%lld  %s step/s  loss %.4f  ETA %s",
                 (long long)p->epoch + 1, (long long)p->num_epochs, (long long)p->step, (long long)p->steps_per_epoch,
                 rate, p->loss, eta);
    }
    if (c->tty && !c->trial_label) { /* one line, rewritten in place */
        fprintf(stderr, "\r\033[K  %s", line);
        fflush(stderr);
        return;
    }
    /* a log file: a line every 30 s; a sweep trial's every APP_TRIAL_PROGRESS_S (several groups share stderr) */
    const double t = (double)time(NULL);
    if (c->last_plain == 0.0 && c->trial_label) c->last_plain = t; /* the trial's first line after the period */
    if (t - c->last_plain < (c->trial_label ? APP_TRIAL_PROGRESS_S : 30.0)) return;
    c->last_plain = t;
    if (c->trial_label)
        fprintf(stderr, "dob: %s: %s\n", c->trial_label, line);
    else
        fprintf(stderr, "  %s\n", line);
}

/* ---- one trial -------------------------------------------------------------------------------------------- */
void app_trial_cfg(const app_trial *t, app_ctx *ctx, int progress, dob_train_cfg *cfg) {
    const dob_problem_spec *p = t->p;
    int nranks = dob_comm_size(ctx->comm);
    memset(cfg, 0, sizeof *cfg);
    cfg->net = t->net;
    cfg->loss = p->loss;
    cfg->has_accuracy = p->has_accuracy;
    cfg->train_eval_size = p->train_eval_size;
    cfg->optim = t->opt;
    cfg->sched = t->sched;
    cfg->batch_size = t->bs;
    cfg->num_epochs = t->epochs;
    cfg->train_log_interval = t->log_interval;
    cfg->weight_decay = p->has_l2 ? t->wd : 0.0;
    cfg->seed = (uint64_t)t->seed;
    cfg->rank = dob_comm_rank(ctx->comm);
    cfg->nranks = nranks;
    cfg->train = t->train;
    cfg->valid = t->valid;
    cfg->test = t->test;
    cfg->preproc = p->preproc;
    cfg->max_steps = t->max_steps;
    cfg->hooks = (dob_train_hooks){.ctx = ctx, .sum_float = nranks > 1 ? app_hook_sum_float : NULL,
                                   .sum_double = nranks > 1 ? app_hook_sum_double : NULL,
                                   .progress = progress ? hook_progress : NULL, .should_stop = hook_should_stop,
                                   .checkpoint = ctx->ckpt_path ? app_hook_checkpoint : NULL};
    if (nranks > 1 && grad_overlap()) {
        cfg->hooks.sum_float_start = hook_isum;
        cfg->hooks.sum_float_progress = hook_sums_progress;
        cfg->hooks.sum_float_wait = hook_sums_wait;
    }
    for (int i = 0; i < t->opt->n_hparams && i < DOB_OPTIM_MAX_HP; i++) cfg->hp[i] = t->hp[i];
}

dob_trial_result app_trial_result(const dob_train_out *out, const double *hp, int64_t seed, dob_trial_status st) {
    dob_trial_result r = {.phase_seconds = out->phase_seconds, .hp = hp, .random_seed = seed,
                          .epochs_done = out->epochs_done, .status = st};
    for (int c = 0; c < DOB_N_CURVES; c++) r.curve[c] = out->curve[c];
    return r;
}

dob_status app_conv_algo(const char *s, int quiet, dob_conv_algo *out) {
    *out = DOB_CONV_DIRECT;
    if (!s) return DOB_OK;
    dob_status st = dob_conv_algo_parse(s, out);
    if (st != DOB_OK) {
        dob_error_prefix("--conv-algo: ");
        return st;
    }
    const unsigned isa = (unsigned)dnnl_get_effective_cpu_isa(), want = (unsigned)dnnl_cpu_isa_avx512_core;
    if (*out != DOB_CONV_DIRECT && (isa & want) != want && !quiet)
        fprintf(stderr, "dob: note: --conv-algo %s: oneDNN has no Winograd kernels for this CPU (ISA %s): %s\n", s,
                dnnl_cpu_isa2str(dnnl_get_effective_cpu_isa()),
                *out == DOB_CONV_WINOGRAD ? "dob's own F(4x4,3x3) runs the passes of 3x3 stride-1 convolutions with "
                "multiple-of-8 channel counts and >= 64 channels into the pass; the rest runs direct"
                : "every convolution runs direct (--conv-algo winograd runs dob's own Winograd kernel)");
    return DOB_OK;
}

int app_precision(dob_comm *world, const char *s, dob_precision *out) {
    *out = DOB_F32;
    if (s && (dob_precision_parse(s, out) != DOB_OK || dob_precision_check(*out) != DOB_OK)) {
        app_status_error(world, "--precision");
        return -1;
    }
    return 0;
}

/* ---- learning-rate schedules ------------------------------------------------------------------------------- */
dob_status app_make_sched(double lr, int n_e, const double *ep, int n_f, const double *fac, dob_sched *out) {
    if (n_e != n_f)
        return DOB_FAIL(DOB_EINVAL, "--lr_sched_epochs has %d values but --lr_sched_factors has %d: give both, "
                        "equally long", n_e, n_f);
    int64_t e[DOB_SCHED_MAX];
    for (int i = 0; i < n_e && i < DOB_SCHED_MAX; i++) {
        e[i] = (int64_t)ep[i];
        if ((double)e[i] != ep[i]) return DOB_FAIL(DOB_EINVAL, "--lr_sched_epochs: expected whole epochs, found %g", ep[i]);
    }
    return n_e ? dob_sched_piecewise(out, lr, n_e, e, fac) : dob_sched_constant(out, lr);
}

void app_sched_str(int n, const double *ep, const double *fac, char *buf, size_t cap) {
    size_t l = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && l < cap; i++)
        l += (size_t)snprintf(buf + l, cap - l, "%s%.17g:%.17g", i ? "," : "", ep[i], fac[i]);
}

dob_status app_sched_parse(const char *s, double *ep, double *fac, int max, int *n) {
    *n = 0;
    const char *p = s;
    while (*p) {
        char *end;
        if (*n == max) return DOB_FAIL(DOB_EINVAL, "learning-rate schedule '%s': more than %d changes", s, max);
        ep[*n] = strtod(p, &end);
        if (end == p || *end != ':') return DOB_FAIL(DOB_EINVAL, "learning-rate schedule '%s' is malformed", s);
        p = end + 1;
        fac[*n] = strtod(p, &end);
        if (end == p || (*end && *end != ',')) return DOB_FAIL(DOB_EINVAL, "learning-rate schedule '%s' is malformed", s);
        (*n)++;
        p = *end ? end + 1 : end;
    }
    return DOB_OK;
}
