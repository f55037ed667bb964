/* sweep_ckpt.c: checkpoints of sweep trials, so a trial longer than one job slot finishes across requeues.
 *
 * A group's running trial is checkpointed like `dob run --checkpoint` (app_hook_checkpoint: parameters, optimizer
 * state, every rank's batch-norm statistics, curves, step; the RNG needs no state), by the group's rank 0, at the
 * stop signal (Slurm's --signal, scancel, or another group's stop), after every epoch and every
 * --checkpoint_interval seconds, atomically (io/checkpoint.c), to "<sweep file>.trial<ID>.ckpt". `--resume`
 * continues a trial from its checkpoint when the file's settings of that trial match it exactly (the config
 * string below), bit-identical to an uninterrupted trial at the same ranks per trial; the checkpoint is removed
 * once the trial's result is in the sweep file. Disk use: at most one checkpoint per group (the running trials),
 * each (1 + the optimizer's state count) x the parameters x 4 bytes plus the curves.
 *
 * A new sweep (no --resume) never reads a checkpoint: its first save replaces any stale one of an earlier sweep
 * at the same path. A checkpoint that does not match (another sweep's, or damaged) is reported and the trial
 * starts from step 0. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dob/checkpoint.h"
#include "dob/io.h"
#include "sweep.h"

void sweep_ckpt_path(const sweep *s, int i, char *buf, size_t cap) {
    snprintf(buf, cap, "%s.trial%lld.ckpt", s->path, (long long)s->ids[i]);
}

/* Every setting that fixes trial i's trajectory (compared exactly on resume): the trial's id, then what
 * `dob run --checkpoint` records. */
static void ckpt_config(const sweep *s, int i, char *buf, size_t cap) {
    const double *row = s->hp + (size_t)i * (size_t)s->n_hp;
    const app_ckpt_settings c = {.p = s->p, .opt = s->opt, .lr = row[0], .hp = row + 1, .bs = s->bs,
                                 .epochs = s->epochs, .seed = s->seeds[i], .wd = s->wd,
                                 .log_interval = s->log_interval, .valid = s->valid, .max_steps = s->max_steps,
                                 .sync_bn = s->sync_bn, .ranks = s->G, .sched = s->sched_str,
                                 .cifar100_fix_offset = s->cifar100_fix_offset, .prec = s->precision,
                                 .algo = s->conv_algo};
    int l = snprintf(buf, cap, "sweep_trial=%lld ", (long long)s->ids[i]);
    if (l > 0 && (size_t)l < cap) app_ckpt_config(&c, buf + l, cap - (size_t)l);
}

/* Group rank 0: does trial i have a checkpoint of exactly these settings? (1 yes, 0 no; a mismatch is reported) */
static int matching_ckpt(const sweep *s, const sweep_ckpt *k) {
    if (!s->resuming || !dob_io_exists(k->path)) return 0;
    char theirs[sizeof k->config];
    int ranks = 0, threads = 0;
    dob_status st = dob_checkpoint_read_meta(k->path, theirs, sizeof theirs, &ranks, &threads);
    if (st == DOB_OK && !strcmp(theirs, k->config)) return 1;
    fprintf(stderr, "dob: warning: %s: %s; the trial starts from step 0 (its first save replaces the file)\n",
            k->path, st != DOB_OK ? dob_last_error() : "saved by another trial or sweep");
    return 0;
}

dob_status sweep_ckpt_prepare(sweep *s, int i, app_ctx *ctx, sweep_ckpt *k) {
    dob_status st = DOB_OK;
    memset(&k->from, 0, sizeof k->from);
    k->resumed = 0;
    sweep_ckpt_path(s, i, k->path, sizeof k->path);
    ckpt_config(s, i, k->config, sizeof k->config);
    dob_arena *a = dob_net_arena(s->net);
    ctx->ckpt_path = k->path;
    ctx->ckpt_config = k->config;
    ctx->arena = a;
    ctx->ckpt_interval = s->ckpt_interval;
    ctx->last_ckpt = dob_comm_wtime();
    ctx->threads = s->threads;
    ctx->precision = dob_precision_name(s->precision);
    int resume = s->grank == 0 ? matching_ckpt(s, k) : 0;
    DOB_TRY(dob_comm_bcast(s->group, &resume, sizeof resume, 0));
    if (!resume) return DOB_OK;
    st = dob_arena_set_state_count(a, s->opt->state_count);
    if (st == DOB_OK) st = dob_checkpoint_load(k->path, s->grank, a, &k->from);
    if ((st = dob_comm_agree(s->group, st)) != DOB_OK) {
        if (s->grank == 0)
            fprintf(stderr, "dob: warning: %s cannot be loaded: %s; the trial starts from step 0\n", k->path,
                    dob_last_error());
        dob_train_out_free(&k->from);
        memset(&k->from, 0, sizeof k->from);
        return DOB_OK;
    }
    k->resumed = 1;
    k->from_steps = k->from.steps_done;
    ctx->ckpt_ok = ctx->ckpt_have = 1;
    ctx->ckpt_steps = k->from.steps_done;
fail:
    return st;
}

void sweep_ckpt_finish(sweep *s, sweep_ckpt *k, int keep) {
    if (s->grank == 0 && !keep && unlink(k->path) != 0 && dob_io_exists(k->path))
        fprintf(stderr, "dob: warning: cannot remove the finished trial's checkpoint %s\n", k->path);
    dob_train_out_free(&k->from);
    memset(&k->from, 0, sizeof k->from);
}
