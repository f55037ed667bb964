/* test_trainer.c: the DeepOBS protocol: curve lengths, evaluation arithmetic, logging interval, divergence as a
 * recorded status, configuration errors, the learning-rate schedule, and the data-parallel split emulated in one
 * process (2 "ranks" = 2 half batches whose summed gradients equal the full-batch gradient). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dob/problem.h"
#include "dob/trainer.h"
#include "grad_sync.h"
#include "tc.h"

/* A tiny linear-softmax problem on separable synthetic data: 4 features, 3 classes */
static dob_net *tiny_net(void) {
    dob_net *net;
    int y;
    if (dob_net_create(&net, 1, (int64_t[]){4}) != DOB_OK) return NULL;
    dob_dense_cfg c = {.out_features = 3, .bias = 1, .w_init = {DOB_INIT_GLOROT_UNIFORM, 0, 0}, .l2 = 1};
    if (dob_net_dense(net, "fc", 0, &c, &y) != DOB_OK || dob_net_alloc(net) != DOB_OK) return NULL;
    return net;
}

static void tiny_data(dob_dataset *d, int64_t n, uint64_t stream) {
    TC_ASSERT_OK(dob_dataset_alloc(d, n, 1, (int64_t[]){4}, 3));
    dob_rng r = {5, DOB_RNG_TEST, stream};
    for (int64_t i = 0; i < n; i++) {
        int cls = (int)(dob_rng_u32(&r, (uint64_t)i) % 3);
        for (int j = 0; j < 4; j++) TC_X(*d)[i * 4 + j] = 0.3f * dob_rng_uniform(&r, 1000 + (uint64_t)(i * 4 + j));
        TC_X(*d)[i * 4 + cls] += 1.0f;
        d->y[i * 3 + cls] = 1.0f;
    }
}

static dob_train_cfg tiny_cfg(dob_net *net, const dob_dataset *tr, const dob_dataset *te) {
    dob_train_cfg c = {.net = net, .loss = DOB_LOSS_SOFTMAX_CE, .has_accuracy = 1, .train_eval_size = 64,
                       .optim = dob_optim_find("momentum"), .batch_size = 16, .num_epochs = 4,
                       .train_log_interval = 3, .weight_decay = 0.001, .seed = 7, .rank = 0, .nranks = 1,
                       .train = tr, .test = te};
    c.hp[0] = 0.9;
    dob_sched_constant(&c.sched, 0.1);
    return c;
}

/* Evaluation at a larger batch (automatic: 4 batches of 16 at once) gives the curves of evaluation at the
 * training batch: the same examples, losses equal up to summation order, accuracies exactly. */
static void test_eval_batch(void) {
    dob_net *a = tiny_net(), *b = tiny_net();
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    dob_dataset tr, te;
    tiny_data(&tr, 200, 1);
    tiny_data(&te, 70, 2); /* 4 batches of 16, 6 examples dropped at either batch */
    dob_train_cfg ca = tiny_cfg(a, &tr, &te), cb = tiny_cfg(b, &tr, &te);
    cb.eval_max_batch = 16;
    dob_train_out oa, ob;
    TC_ASSERT_OK(dob_train(&ca, &oa));
    TC_ASSERT_OK(dob_train(&cb, &ob));
    for (int e = 0; e <= 4; e++) {
        CU_ASSERT_DOUBLE_EQUAL(oa.test_losses[e], ob.test_losses[e], 1e-6 * fabs(ob.test_losses[e]));
        CU_ASSERT_DOUBLE_EQUAL(oa.train_losses[e], ob.train_losses[e], 1e-6 * fabs(ob.train_losses[e]));
        CU_ASSERT(isfinite(oa.test_losses[e]));
    }
    CU_ASSERT_EQUAL(memcmp(oa.test_accuracies, ob.test_accuracies, 5 * sizeof(double)), 0);
    CU_ASSERT_EQUAL(memcmp(oa.minibatch_train_losses, ob.minibatch_train_losses,
                           (size_t)oa.n_minibatch * sizeof(double)), 0); /* training itself is untouched */
    CU_ASSERT_EQUAL(dob_net_batch(a), 16); /* left at the training batch */
    dob_train_out_free(&oa);
    dob_train_out_free(&ob);
    dob_net_destroy(a);
    dob_net_destroy(b);
    dob_dataset_free(&tr);
    dob_dataset_free(&te);
}

/* issue 20's estimate: the arena times (2 + the optimizer's state vectors), the activations of the larger of
 * the training and evaluation builds, and the trainer's buffers, each counted as the trainer allocates them. */
static void test_memory_estimate(void) {
    dob_net *a = tiny_net();
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    dob_dataset tr, te;
    tiny_data(&tr, 200, 1);
    tiny_data(&te, 70, 2);
    dob_train_cfg c = tiny_cfg(a, &tr, &te);
    dob_train_mem m;
    TC_ASSERT_OK(dob_train_memory(&c, &m));
    const size_t arena = dob_arena_size(dob_net_arena(a)); /* dense 4 -> 3 with bias, tensors 64-byte aligned */
    CU_ASSERT(arena >= 4 * 3 + 3);
    CU_ASSERT_EQUAL(m.params, (2 + 1) * arena * sizeof(float)); /* momentum: one state vector */
    CU_ASSERT_EQUAL(dob_net_batch(a), 16);                      /* planned at the training batch */
    const size_t train_act = dob_net_buffer_bytes(a);
    CU_ASSERT(train_act > 0);
    /* evaluation at up to 1024 examples per rank (tiny activations: far below the 256 MiB cap) */
    CU_ASSERT_EQUAL(m.activations, train_act / 16 * 1024);
    CU_ASSERT_EQUAL(m.batch, 1024 * (3 + 1) * sizeof(float) + (2 * 200 + 1024) * sizeof(uint32_t));
    c.optim = dob_optim_find("adam");
    c.hp[0] = 0.9, c.hp[1] = 0.999, c.hp[2] = 1e-8;
    TC_ASSERT_OK(dob_train_memory(&c, &m));
    CU_ASSERT_EQUAL(m.params, (2 + 2) * arena * sizeof(float));
    c.eval_max_batch = 16; /* evaluation at the training batch: the training build is the largest */
    TC_ASSERT_OK(dob_train_memory(&c, &m));
    CU_ASSERT_EQUAL(m.activations, train_act);
    c.batch_size = 0;      /* a configuration dob_train refuses is refused here too */
    TC_ASSERT_FAILS(dob_train_memory(&c, &m), DOB_EINVAL, "batch size must be > 0");
    dob_net_destroy(a);
    dob_dataset_free(&tr);
    dob_dataset_free(&te);
}

/* The overlapped gradient sum: buckets started during backward tile the arena exactly once, highest offsets first,
 * the first one before the first layer's backward has run; the summed gradient is the same as without overlap. */
typedef struct fake_sums {
    const float *base; /* the arena's gradients */
    size_t lo[16], n[16];
    int count, waited, progressed;
} fake_sums;
static dob_status fake_start(void *ctx, float *x, size_t n) {
    fake_sums *f = ctx;
    if (f->count < 16) {
        f->lo[f->count] = (size_t)(x - f->base);
        f->n[f->count] = n;
    }
    f->count++;
    return DOB_OK;
}
static dob_status fake_progress(void *ctx) {
    ((fake_sums *)ctx)->progressed++;
    return DOB_OK;
}
static dob_status fake_wait(void *ctx) {
    ((fake_sums *)ctx)->waited++;
    return DOB_OK;
}

static void test_grad_sync(void) {
    dob_net *net;
    int h1, h2, h3;
    TC_ASSERT_OK(dob_net_create(&net, 1, (int64_t[]){20}));
    dob_dense_cfg c = {.out_features = 30, .bias = 1, .w_init = {DOB_INIT_GLOROT_UNIFORM, 0, 0}};
    TC_ASSERT_OK(dob_net_dense(net, "fc1", 0, &c, &h1)); /* 630 floats */
    c.out_features = 40;
    TC_ASSERT_OK(dob_net_dense(net, "fc2", h1, &c, &h2)); /* 1240 */
    c.out_features = 5;
    TC_ASSERT_OK(dob_net_dense(net, "fc3", h2, &c, &h3)); /* 205 */
    TC_ASSERT_OK(dob_net_alloc(net));
    dob_arena_init(dob_net_arena(net), 3);
    TC_ASSERT_OK(dob_net_build(net, 4));
    fake_sums f = {.base = dob_arena_grads(dob_net_arena(net))};
    dob_train_hooks hooks = {.ctx = &f, .sum_float_start = fake_start, .sum_float_progress = fake_progress,
                             .sum_float_wait = fake_wait};
    grad_sync g;
    TC_ASSERT_OK(grad_sync_init(&g, net, &hooks, 1000)); /* fc3 + fc2 fill a bucket before fc1 runs backward */
    tc_fill(dob_net_input_tensor(net)->data, 80, 1, 1, -1, 1);
    TC_ASSERT_OK(dob_net_forward(net, 1));
    tc_fill(dob_net_output(net)->diff, 20, 1, 2, -1, 1);
    grad_sync_begin(&g);
    TC_ASSERT_OK(dob_net_backward(net));
    CU_ASSERT_EQUAL(f.count, 1); /* started during backward */
    TC_ASSERT_OK(grad_sync_finish(&g));
    CU_ASSERT_EQUAL(f.count, 2);
    CU_ASSERT_EQUAL(f.waited, 1);
    CU_ASSERT_EQUAL(f.progressed, 3); /* after each layer */
    size_t n = dob_arena_size(dob_net_arena(net));
    CU_ASSERT(f.count == 2 && f.lo[0] + f.n[0] == n && f.lo[1] == 0 && f.n[1] == f.lo[0]); /* tiles [0, n) */
    CU_ASSERT(f.n[0] >= 1000);
    grad_sync_free(&g, net);
    f.count = 0;
    TC_ASSERT_OK(dob_net_backward(net)); /* unhooked */
    CU_ASSERT_EQUAL(f.count, 0);
    dob_net_destroy(net);
}

static void test_protocol(void) {
    dob_net *net = tiny_net();
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    dob_dataset tr, te;
    tiny_data(&tr, 200, 1); /* 12 steps per epoch, 8 examples dropped */
    tiny_data(&te, 70, 2);  /* 4 test batches, 6 examples dropped */
    dob_train_cfg c = tiny_cfg(net, &tr, &te);
    dob_train_out o;
    TC_ASSERT_OK(dob_train(&c, &o));
    CU_ASSERT_EQUAL(o.status, DOB_TRAIN_DONE);
    CU_ASSERT_EQUAL(o.steps_per_epoch, 12);
    CU_ASSERT_EQUAL(o.n_minibatch, 4 * 4); /* steps 0, 3, 6, 9 of each epoch */
    CU_ASSERT_EQUAL(o.epochs_done, 4);
    for (int e = 0; e <= 4; e++) {
        CU_ASSERT(isfinite(o.train_losses[e]) && isfinite(o.test_losses[e]));
        CU_ASSERT(isnan(o.valid_losses[e]));
        /* accuracies are multiples of 1/64 (4 full batches of 16) */
        double k = o.test_accuracies[e] * 64.0;
        CU_ASSERT_DOUBLE_EQUAL(k, round(k), 1e-9);
    }
    for (int64_t i = 0; i < o.n_minibatch; i++) CU_ASSERT(isfinite(o.minibatch_train_losses[i]));
    CU_ASSERT(o.test_losses[4] < 0.5 * o.test_losses[0]);
    CU_ASSERT(o.test_accuracies[4] > 0.9);
    CU_ASSERT(o.phase_seconds[DOB_PHASE_FORWARD] > 0.0);
    /* same seed: the same trajectory, bitwise */
    dob_train_out o2;
    TC_ASSERT_OK(dob_train(&c, &o2));
    CU_ASSERT_EQUAL(memcmp(o.minibatch_train_losses, o2.minibatch_train_losses, 16 * sizeof(double)), 0);
    CU_ASSERT_EQUAL(o.test_losses[4], o2.test_losses[4]);
    dob_train_out_free(&o2);
    dob_train_out_free(&o);
    dob_dataset_free(&tr);
    dob_dataset_free(&te);
    dob_net_destroy(net);
}

static void test_divergence_is_a_status(void) {
    dob_net *net = tiny_net();
    dob_dataset tr, te;
    tiny_data(&tr, 200, 1);
    tiny_data(&te, 64, 2);
    dob_train_cfg c = tiny_cfg(net, &tr, &te);
    c.train_log_interval = 1;
    dob_sched_constant(&c.sched, 1e30); /* overflows within a few steps */
    dob_train_out o;
    TC_ASSERT_OK(dob_train(&c, &o));
    CU_ASSERT_EQUAL(o.status, DOB_TRAIN_DIVERGED);
    CU_ASSERT(o.diverged_step >= 0);
    CU_ASSERT(isfinite(o.test_losses[0]));           /* the curves so far are kept */
    CU_ASSERT(!isfinite(o.minibatch_train_losses[o.diverged_step]));
    dob_train_out_free(&o);
    dob_dataset_free(&tr);
    dob_dataset_free(&te);
    dob_net_destroy(net);
}

/* Progress reports count what this run still does: with max_steps, total_steps is max_steps and the ETA covers only
 * the steps left before it (a 3-step run of a 100-epoch problem once said "ETA 49m") plus the final evaluation
 * round at the last round's duration. The poll hook (after every training step and every evaluation batch) sleeps
 * 0.4 s, so that a report (every 2 s of training) arrives within the 7 steps and the rounds take measurable time. */
typedef struct progress_seen {
    int n, polls, round_polls; /* training reports seen; polls so far; polls of the first evaluation round */
    dob_progress last;
    int n_eval, eval_bad;      /* reports during evaluation rounds, and those with fields out of place */
} progress_seen;

static void keep_progress(void *ctx, const dob_progress *p) {
    progress_seen *ps = ctx;
    if (p->evaluating == DOB_PROGRESS_EVAL_RUNNING) { /* train_eval and test: 64 examples each, batches of 16 */
        const int split_ok = p->eval_split && (!strcmp(p->eval_split, "train_eval") || !strcmp(p->eval_split, "test"));
        ps->n_eval++;
        ps->eval_bad += !split_ok || p->eval_total != 64 || p->eval_done <= 0 || p->eval_done > 64 ||
                        p->eval_done % 16 != 0 || !(p->eval_per_second > 0.0) || p->epoch < 0 || p->epoch > 1;
        return;
    }
    if (p->evaluating) {
        if (p->epoch == 0) ps->round_polls = ps->polls;
        return;
    }
    ps->n++;
    ps->last = *p;
}

static int slow_poll(void *ctx) {
    ((progress_seen *)ctx)->polls++;
    nanosleep(&(struct timespec){0, 400000000L}, NULL);
    return DOB_POLL_CONTINUE;
}

/* The tiny problem (12 steps per epoch, 4 epochs: 48 steps) under the slow poll, stopped by max_steps, with
 * evaluation batches of eval_batch (0: automatic); its reports in *ps. */
static void run_slow(int64_t max_steps, int64_t eval_batch, progress_seen *ps) {
    dob_net *net = tiny_net();
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    dob_dataset tr, te;
    tiny_data(&tr, 200, 1);
    tiny_data(&te, 64, 2);
    dob_train_cfg c = tiny_cfg(net, &tr, &te);
    c.max_steps = max_steps;
    c.eval_max_batch = eval_batch;
    c.hooks = (dob_train_hooks){.ctx = ps, .progress = keep_progress, .should_stop = slow_poll};
    dob_train_out o;
    TC_ASSERT_OK(dob_train(&c, &o));
    CU_ASSERT_EQUAL(o.status, DOB_TRAIN_DONE);
    dob_train_out_free(&o);
    dob_dataset_free(&tr);
    dob_dataset_free(&te);
    dob_net_destroy(net);
}

static void test_progress_counts_max_steps(void) {
    progress_seen ps = {0};
    run_slow(7, 0, &ps);
    CU_ASSERT_FATAL(ps.n >= 1);
    CU_ASSERT_EQUAL(ps.last.total_steps, 7);
    CU_ASSERT(ps.last.global_step >= 5 && ps.last.global_step <= 7);
    /* the steps left at the training rate (the evaluation rounds' time not in it: ~0.4 s a step), not the 41 of
     * all epochs, plus one round of >= round_polls x 0.4 s */
    CU_ASSERT(ps.last.steps_per_second > 1.0 && ps.last.steps_per_second < 3.0);
    const double steps_left = (double)(ps.last.total_steps - ps.last.global_step) / ps.last.steps_per_second;
    CU_ASSERT(ps.round_polls >= 1);
    CU_ASSERT(ps.last.eta_seconds >= steps_left + 0.9 * 0.4 * ps.round_polls);
    CU_ASSERT(ps.last.eta_seconds < steps_left + 2.0 * 0.4 * ps.round_polls + 1.0);
}

/* Reports also arrive while an evaluation round runs (ImageNet's take minutes): split, examples done of the split's
 * total (all ranks) and the rate. Evaluation batches of 16, so each split of the first round takes 4 polls of
 * 0.4 s: 3.2 s, a report every 2 s (the final round of a max_steps run does not poll: fast here). */
static void test_progress_during_evaluation(void) {
    progress_seen ps = {0};
    run_slow(1, 16, &ps);
    CU_ASSERT(ps.n_eval >= 1);
    CU_ASSERT_EQUAL(ps.eval_bad, 0);
}

static void test_config_errors(void) {
    dob_net *net = tiny_net();
    dob_dataset tr, te, bad;
    tiny_data(&tr, 64, 1);
    tiny_data(&te, 32, 2);
    dob_train_cfg c = tiny_cfg(net, &tr, &te);
    dob_train_out o;
    c.nranks = 3;
    TC_ASSERT_FAILS(dob_train(&c, &o), DOB_EINVAL, "not divisible by the 3 ranks");
    dob_train_out_free(&o);
    c.nranks = 1;
    c.train_log_interval = 0;
    TC_ASSERT_FAILS(dob_train_check(&c), DOB_EINVAL, "--train_log_interval must be >= 1");
    c.train_log_interval = 1;
    c.batch_size = 100;
    TC_ASSERT_FAILS(dob_train_check(&c), DOB_EINVAL, "fewer than one batch");
    c.batch_size = 16;
    TC_ASSERT_FAILS(dob_sched_constant(&c.sched, -1.0), DOB_EINVAL, "must be finite and > 0, found -1");
    c.sched.base_lr = -1.0;
    TC_ASSERT_FAILS(dob_train_check(&c), DOB_EINVAL, "-1");
    dob_sched_constant(&c.sched, 0.1);
    TC_ASSERT_OK(dob_dataset_alloc(&bad, 32, 1, (int64_t[]){5}, 3));
    c.test = &bad;
    TC_ASSERT_FAILS(dob_train_check(&c), DOB_EINVAL, "test split: examples have 5 values, the net expects 4");
    dob_dataset_free(&bad);
    dob_dataset_free(&tr);
    dob_dataset_free(&te);
    dob_net_destroy(net);
}

/* The data-parallel split arithmetic in one process: the gradient of a full batch equals the sum of the two
 * half-batch gradients computed with the 1/B (global batch) scaling the trainer uses. The MPI tests check the
 * real multi-rank runs. */
static void test_half_batch_gradients_sum(void) {
    dob_net *full = tiny_net(), *half = tiny_net();
    dob_dataset d;
    tiny_data(&d, 16, 3);
    dob_arena_init(dob_net_arena(full), 1);
    dob_arena_init(dob_net_arena(half), 1);
    TC_ASSERT_OK(dob_net_build(full, 16));
    TC_ASSERT_OK(dob_net_build(half, 8));
    uint32_t idx[16];
    for (int i = 0; i < 16; i++) idx[i] = (uint32_t)i;
    float y[48];
    dob_dataset_gather(&d, idx, 16, dob_net_input_tensor(full)->data, y);
    TC_ASSERT_OK(dob_net_forward(full, 1));
    dob_tensor *o = dob_net_output(full);
    dob_loss_backward(DOB_LOSS_SOFTMAX_CE, o->data, y, 16, 3, 1.0f / 16, o->diff);
    TC_ASSERT_OK(dob_net_backward(full));
    size_t n = dob_arena_size(dob_net_arena(full));
    float *sum = calloc(n, sizeof *sum);
    for (int r = 0; r < 2; r++) {
        dob_dataset_gather(&d, idx + 8 * r, 8, dob_net_input_tensor(half)->data, y);
        TC_ASSERT_OK(dob_net_forward(half, 1));
        dob_tensor *h = dob_net_output(half);
        dob_loss_backward(DOB_LOSS_SOFTMAX_CE, h->data, y, 8, 3, 1.0f / 16, h->diff);
        TC_ASSERT_OK(dob_net_backward(half));
        for (size_t i = 0; i < n; i++) sum[i] += dob_arena_grads(dob_net_arena(half))[i];
    }
    TC_ASSERT_CLOSE("sum of half-batch grads", sum, dob_arena_grads(dob_net_arena(full)), n, 1e-6);
    free(sum);
    dob_dataset_free(&d);
    dob_net_destroy(full);
    dob_net_destroy(half);
}

static void test_schedule_applies(void) {
    /* lr 0 from epoch 1 on: parameters, hence the evaluation, freeze after the first epoch */
    dob_net *net = tiny_net();
    dob_dataset tr, te;
    tiny_data(&tr, 64, 1);
    tiny_data(&te, 32, 2);
    dob_train_cfg c = tiny_cfg(net, &tr, &te);
    c.optim = dob_optim_find("sgd");
    c.num_epochs = 3;
    TC_ASSERT_OK(dob_sched_piecewise(&c.sched, 0.5, 1, (int64_t[]){1}, (double[]){1e-30}));
    dob_train_out o;
    TC_ASSERT_OK(dob_train(&c, &o));
    CU_ASSERT(o.test_losses[1] != o.test_losses[0]);
    CU_ASSERT_DOUBLE_EQUAL(o.test_losses[3], o.test_losses[1], 1e-9);
    dob_train_out_free(&o);
    dob_dataset_free(&tr);
    dob_dataset_free(&te);
    dob_net_destroy(net);
}


/* ---- checkpoint and resume ---------------------------------------------------------------------------------- */
typedef struct snap {
    int64_t calls, stop_at, ckpt_at; /* should_stop: STOP at call stop_at, CHECKPOINT at call ckpt_at */
    int64_t keep;                    /* > 0: keep only the checkpoint taken after this many steps */
    dob_arena *arena;
    float *mem;                      /* params + every state vector + buffers at the last checkpoint */
    dob_train_out o;                 /* deep copy of the out at the last checkpoint */
    int saved;
} snap;

static double *dup_d(const double *v, int64_t n) {
    double *d = malloc((size_t)(n > 0 ? n : 1) * sizeof *d);
    if (d && n > 0) memcpy(d, v, (size_t)n * sizeof *d);
    return d;
}

static void out_copy(dob_train_out *d, const dob_train_out *s) {
    dob_train_out_free(d);
    *d = *s;
    int64_t ne = s->num_epochs + 1;
    d->train_losses = dup_d(s->train_losses, ne);
    d->valid_losses = dup_d(s->valid_losses, ne);
    d->test_losses = dup_d(s->test_losses, ne);
    d->train_accuracies = dup_d(s->train_accuracies, ne);
    d->valid_accuracies = dup_d(s->valid_accuracies, ne);
    d->test_accuracies = dup_d(s->test_accuracies, ne);
    d->epoch_seconds = dup_d(s->epoch_seconds, ne);
    d->minibatch_train_losses = dup_d(s->minibatch_train_losses, s->n_minibatch);
}

static size_t arena_floats(dob_arena *a) {
    return dob_arena_size(a) * (size_t)(1 + dob_arena_state_count(a)) + dob_arena_buffer_size(a);
}

static void arena_copy(dob_arena *a, float *mem, int to_mem) {
    size_t n = dob_arena_size(a), nb = dob_arena_buffer_size(a);
    float *blocks[2 + DOB_OPTIM_MAX_STATE];
    size_t sizes[2 + DOB_OPTIM_MAX_STATE];
    int k = 0;
    blocks[k] = dob_arena_params(a);
    sizes[k++] = n;
    for (int i = 0; i < dob_arena_state_count(a); i++) {
        blocks[k] = dob_arena_state(a, i);
        sizes[k++] = n;
    }
    blocks[k] = dob_arena_buffers(a);
    sizes[k++] = nb;
    for (int i = 0; i < k; i++) {
        if (!sizes[i]) continue;
        if (to_mem)
            memcpy(mem, blocks[i], sizes[i] * sizeof *mem);
        else
            memcpy(blocks[i], mem, sizes[i] * sizeof *mem);
        mem += sizes[i];
    }
}

static int snap_poll(void *ctx) {
    snap *s = ctx;
    s->calls++;
    if (s->calls == s->stop_at) return DOB_POLL_STOP;
    if (s->calls == s->ckpt_at) return DOB_POLL_CHECKPOINT;
    return DOB_POLL_CONTINUE;
}

static void snap_save(void *ctx, const dob_train_out *o) {
    snap *s = ctx;
    if (s->keep > 0 && o->steps_done != s->keep) return;
    if (!s->mem) s->mem = malloc(arena_floats(s->arena) * sizeof(float));
    arena_copy(s->arena, s->mem, 1);
    out_copy(&s->o, o);
    s->saved++;
}

/* Equal curves (NaN = NaN), counters and parameters, bitwise; seconds are not compared. */
static void assert_same_run(const dob_train_out *a, const dob_train_out *b, dob_arena *pa, dob_arena *pb) {
    int64_t ne = a->num_epochs + 1;
    const double *x[] = {a->train_losses, a->test_losses, a->train_accuracies, a->test_accuracies, a->valid_losses};
    const double *y[] = {b->train_losses, b->test_losses, b->train_accuracies, b->test_accuracies, b->valid_losses};
    for (int c = 0; c < 5; c++)
        for (int64_t i = 0; i < ne; i++) CU_ASSERT(x[c][i] == y[c][i] || (isnan(x[c][i]) && isnan(y[c][i])));
    CU_ASSERT_EQUAL(a->n_minibatch, b->n_minibatch);
    CU_ASSERT_EQUAL(memcmp(a->minibatch_train_losses, b->minibatch_train_losses,
                           (size_t)a->n_minibatch * sizeof(double)), 0);
    CU_ASSERT_EQUAL(a->status, b->status);
    CU_ASSERT_EQUAL(a->steps_done, b->steps_done);
    CU_ASSERT_EQUAL(a->epochs_done, b->epochs_done);
    CU_ASSERT_EQUAL(a->evaluated, b->evaluated);
    CU_ASSERT_EQUAL(a->n_logged, b->n_logged);
    CU_ASSERT_EQUAL(memcmp(dob_arena_params(pa), dob_arena_params(pb), dob_arena_size(pa) * sizeof(float)), 0);
}

/* Stop a run at call `stop_at` of should_stop (after that many steps) or checkpoint at `ckpt_at`, resume the
 * last checkpoint in a fresh net, and compare with the uninterrupted run: everything bitwise equal. */
static void check_resume(int64_t stop_at, int64_t ckpt_at, int64_t want_steps, int64_t want_evaluated) {
    dob_dataset tr, te;
    tiny_data(&tr, 200, 1); /* 12 steps per epoch, 4 epochs: 48 steps */
    tiny_data(&te, 70, 2);
    dob_net *ref_net = tiny_net(), *net = tiny_net(), *net2 = tiny_net();
    CU_ASSERT_PTR_NOT_NULL_FATAL(ref_net);
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    CU_ASSERT_PTR_NOT_NULL_FATAL(net2);
    /* adam (two state vectors, bias correction by step) and a piecewise schedule: the resumed run must
     * continue both at the right step and epoch */
    int64_t ep[1] = {2};
    double fac[1] = {0.1};
    dob_train_cfg c = tiny_cfg(ref_net, &tr, &te);
    c.eval_max_batch = 16; /* several polls inside each part of an evaluation round (call_after_step) */
    c.optim = dob_optim_find("adam");
    dob_optim_defaults(c.optim, c.hp);
    TC_ASSERT_OK(dob_sched_piecewise(&c.sched, 0.01, 1, ep, fac));
    dob_train_out ref, o, o2;
    TC_ASSERT_OK(dob_train(&c, &ref));

    snap s = {.stop_at = stop_at, .ckpt_at = ckpt_at, .keep = ckpt_at ? want_steps : 0, .arena = dob_net_arena(net)};
    dob_train_cfg c1 = c;
    c1.net = net;
    c1.hooks = (dob_train_hooks){.ctx = &s, .should_stop = snap_poll, .checkpoint = snap_save};
    TC_ASSERT_OK(dob_train(&c1, &o));
    CU_ASSERT_EQUAL(o.status, stop_at ? DOB_TRAIN_STOPPED : DOB_TRAIN_DONE);
    CU_ASSERT(s.saved >= 1);
    CU_ASSERT_EQUAL(s.o.steps_done, want_steps);
    CU_ASSERT_EQUAL(s.o.evaluated, want_evaluated);
    if (stop_at) CU_ASSERT(isnan(s.o.test_losses[want_evaluated])); /* a dropped round leaves no values */
    if (!stop_at) assert_same_run(&ref, &o, dob_net_arena(ref_net), dob_net_arena(net));

    /* resume in a fresh net from the snapshot */
    dob_arena *a2 = dob_net_arena(net2);
    TC_ASSERT_OK(dob_arena_set_state_count(a2, c.optim->state_count));
    arena_copy(a2, s.mem, 0);
    dob_train_cfg c2 = c;
    c2.net = net2;
    c2.resume = &s.o;
    TC_ASSERT_OK(dob_train(&c2, &o2));
    CU_ASSERT_EQUAL(o2.status, DOB_TRAIN_DONE);
    assert_same_run(&ref, &o2, dob_net_arena(ref_net), a2);

    free(s.mem);
    dob_train_out_free(&s.o);
    dob_train_out_free(&ref);
    dob_train_out_free(&o);
    dob_train_out_free(&o2);
    dob_net_destroy(ref_net);
    dob_net_destroy(net);
    dob_net_destroy(net2);
    dob_dataset_free(&tr);
    dob_dataset_free(&te);
}

/* should_stop is polled after every step and after every evaluation batch: with 12 steps per epoch and 8
 * evaluation batches per round (4 train_eval + 4 test, evaluated at the training batch: eval_max_batch 16 in
 * check_resume), the poll after step k (1-based) is call k + 8 * (rounds done before it). */
static int64_t call_after_step(int64_t k) { return k + 8 * ((k - 1) / 12 + 1); }

static void test_resume_mid_epoch(void) { check_resume(call_after_step(17), 0, 17, 2); }
static void test_resume_first_step(void) { check_resume(call_after_step(1), 0, 1, 1); }
static void test_resume_epoch_boundary(void) { check_resume(call_after_step(24), 0, 24, 2); }
static void test_resume_before_last_eval(void) { check_resume(call_after_step(48), 0, 48, 4); }
static void test_resume_periodic_checkpoint(void) { check_resume(0, call_after_step(30), 30, 3); }
/* without a poll, the last checkpoint is the one after the evaluation round of epoch 3 (step 36) */
static void test_resume_epoch_checkpoint(void) { check_resume(0, 0, 36, 4); }
/* stops inside evaluation rounds: round 0 (before any step), round 1 in its train_eval part and in its test part */
static void test_resume_in_first_eval(void) { check_resume(3, 0, 0, 0); }
static void test_resume_in_eval_train(void) { check_resume(call_after_step(12) + 3, 0, 12, 1); }
static void test_resume_in_eval_test(void) { check_resume(call_after_step(12) + 7, 0, 12, 1); }

static void test_resume_rejects_other_run(void) {
    dob_dataset tr, te;
    tiny_data(&tr, 200, 1);
    tiny_data(&te, 70, 2);
    dob_net *net = tiny_net();
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    dob_train_cfg c = tiny_cfg(net, &tr, &te);
    dob_train_out o, bad = {0};
    double z[8] = {0};
    bad.num_epochs = 9; /* another length */
    bad.n_minibatch = 16;
    bad.train_losses = bad.valid_losses = bad.test_losses = bad.train_accuracies = bad.valid_accuracies =
        bad.test_accuracies = bad.epoch_seconds = bad.minibatch_train_losses = z;
    TC_ASSERT_OK(dob_arena_set_state_count(dob_net_arena(net), c.optim->state_count));
    c.resume = &bad;
    TC_ASSERT_FAILS(dob_train(&c, &o), DOB_EINVAL, "this run 4");
    dob_train_out_free(&o);
    bad.num_epochs = 4;
    bad.steps_done = 30; /* epoch 2 */
    bad.evaluated = 1;   /* but only epoch 0 evaluated: inconsistent */
    TC_ASSERT_FAILS(dob_train(&c, &o), DOB_EFORMAT, "inconsistent");
    dob_train_out_free(&o);
    dob_net_destroy(net);
    dob_dataset_free(&tr);
    dob_dataset_free(&te);
}

static CU_TestInfo tests[] = {
    {"protocol_curves", test_protocol},
    {"eval_at_larger_batch", test_eval_batch},
    {"memory_estimate", test_memory_estimate},
    {"gradient_sum_buckets", test_grad_sync},
    {"divergence_is_a_status", test_divergence_is_a_status},
    {"progress_counts_max_steps", test_progress_counts_max_steps},
    {"progress_during_evaluation", test_progress_during_evaluation},
    {"config_errors", test_config_errors},
    {"half_batch_gradients_sum", test_half_batch_gradients_sum},
    {"schedule_applies", test_schedule_applies},
    {"resume_mid_epoch", test_resume_mid_epoch},
    {"resume_first_step", test_resume_first_step},
    {"resume_epoch_boundary", test_resume_epoch_boundary},
    {"resume_before_last_eval", test_resume_before_last_eval},
    {"resume_periodic_checkpoint", test_resume_periodic_checkpoint},
    {"resume_epoch_checkpoint", test_resume_epoch_checkpoint},
    {"resume_in_first_eval", test_resume_in_first_eval},
    {"resume_in_eval_train", test_resume_in_eval_train},
    {"resume_in_eval_test", test_resume_in_eval_test},
    {"resume_rejects_other_run", test_resume_rejects_other_run},
    CU_TEST_INFO_NULL,
};
CU_SuiteInfo trainer_suite = {"trainer", NULL, NULL, NULL, NULL, tests};
