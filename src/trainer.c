/* trainer.c: the DeepOBS protocol (see include/dob/trainer.h) over a net, one optimizer over the flat arena,
 * data-parallel through sum hooks. Does not: print, open files, or know about MPI. */
#include "dob/trainer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dob/layer.h"
#include "grad_sync.h"

/* Floats per bucket of the overlapped gradient sum (grad_sync.h): 1 Mi floats = 4 MiB, large enough that a
 * message runs at the transport's bandwidth, small enough to leave several buckets in a large dense layer. */
#define GRAD_BUCKET ((size_t)1 << 20)

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double *nan_array(int64_t n) {
    double *a = malloc((size_t)(n > 0 ? n : 1) * sizeof *a);
    if (a)
        for (int64_t i = 0; i < n; i++) a[i] = NAN;
    return a;
}

void dob_train_out_free(dob_train_out *o) {
    if (!o) return;
    for (int k = 0; k < DOB_N_CURVES; k++) free(o->curve[k]);
    free(o->net_state);
    memset(o, 0, sizeof *o);
}

static int64_t steps_per_epoch(const dob_train_cfg *c) { return c->train->n / c->batch_size; }

int64_t dob_train_n_minibatch(const dob_train_cfg *c) {
    int64_t spe = steps_per_epoch(c), iv = c->train_log_interval > 0 ? c->train_log_interval : 1;
    return c->num_epochs * ((spe + iv - 1) / iv);
}

static dob_status check_split(const dob_train_cfg *c, const dob_dataset *d, const char *name) {
    const dob_tensor *x = dob_net_input_tensor(c->net), *y = dob_net_output(c->net);
    int64_t per = 1;
    for (int i = 1; i < x->ndim; i++) per *= x->dims[i];
    if (dob_dataset_example_size(d) != per)
        return DOB_FAIL(DOB_EINVAL, "%s split: examples have %lld values, the net expects %lld", name,
                        (long long)dob_dataset_example_size(d), (long long)per);
    if (c->loss == DOB_LOSS_SEQ_SOFTMAX_CE) {
        if (y->ndim != 3 || y->dims[1] != d->k)
            return DOB_FAIL(DOB_EINVAL, "%s split: targets are sequences of %lld ids, the net outputs %d-D [%lld, ...] "
                            "(expected N x %lld x classes)", name, (long long)d->k, y->ndim, (long long)y->dims[1],
                            (long long)d->k);
    } else if (dob_loss_pred_width(c->loss, c->loss == DOB_LOSS_VAE ? per : d->k) != y->dims[1]) {
        /* an autoencoder's targets are its inputs */
        const int64_t k = c->loss == DOB_LOSS_VAE ? per : d->k;
        return DOB_FAIL(DOB_EINVAL, "%s split: targets have %lld values, the net outputs %lld (expected %lld)", name,
                        (long long)k, (long long)y->dims[1], (long long)dob_loss_pred_width(c->loss, k));
    }
    if (d->n < c->batch_size)
        return DOB_FAIL(DOB_EINVAL, "%s split has %lld examples, fewer than one batch of %lld", name,
                        (long long)d->n, (long long)c->batch_size);
    return DOB_OK;
}

dob_status dob_train_check(const dob_train_cfg *c) {
    dob_status st;
    if (c->batch_size <= 0) return DOB_FAIL(DOB_EINVAL, "batch size must be > 0, found %lld", (long long)c->batch_size);
    if (c->num_epochs < 0)
        return DOB_FAIL(DOB_EINVAL, "number of epochs must be >= 0, found %lld", (long long)c->num_epochs);
    if (c->nranks < 1 || c->rank < 0 || c->rank >= c->nranks)
        return DOB_FAIL(DOB_EINTERNAL, "rank %d of %d", c->rank, c->nranks);
    if (c->batch_size % c->nranks)
        return DOB_FAIL(DOB_EINVAL,
                        "batch size %lld is not divisible by the %d ranks of the job: use a batch size that is a "
                        "multiple of %d or another number of ranks",
                        (long long)c->batch_size, c->nranks, c->nranks);
    if (c->train_log_interval <= 0)
        return DOB_FAIL(DOB_EINVAL, "--train_log_interval must be >= 1, found %lld", (long long)c->train_log_interval);
    if (!c->train || !c->test) return DOB_FAIL(DOB_EINTERNAL, "trainer: missing train or test data");
    if ((st = check_split(c, c->train, "train")) != DOB_OK) return st;
    /* the curves are allocated up front for all epochs: refuse sizes that would exhaust memory (or overflow)
     * here, with the numbers, instead of in the middle of the allocation */
    const double n_values = 7.0 * ((double)c->num_epochs + 1) + (double)dob_train_n_minibatch(c);
    if (n_values > DOB_TRAIN_MAX_CURVE_VALUES)
        return DOB_FAIL(DOB_EINVAL, "%lld epochs of %lld steps (batch size %lld) with a loss logged every %lld steps "
                        "need %.3g GB of curves (at most %.3g GB): use fewer epochs (--max_steps does not shorten "
                        "the curves) or a larger --train_log_interval",
                        (long long)c->num_epochs, (long long)steps_per_epoch(c), (long long)c->batch_size,
                        (long long)c->train_log_interval, n_values * 8 / 1e9, DOB_TRAIN_MAX_CURVE_VALUES * 8 / 1e9);
    if ((st = check_split(c, c->test, "test")) != DOB_OK) return st;
    if (c->valid && (st = check_split(c, c->valid, "valid")) != DOB_OK) return st;
    const dob_tensor *in = dob_net_input_tensor(c->net);
    if (c->preproc && (in->ndim != 4 || (c->preproc->sat_hi > c->preproc->sat_lo && in->dims[1] != 3)))
        return DOB_FAIL(DOB_EINVAL, "image preprocessing needs C,H,W input%s, found %d dims with %lld channels",
                        c->preproc->sat_hi > c->preproc->sat_lo ? " with 3 channels (saturation)" : "",
                        in->ndim - 1, in->ndim > 1 ? (long long)in->dims[1] : 0LL);
    return dob_optim_check(c->optim, dob_sched_lr(&c->sched, 0), c->hp);
}

typedef struct run {
    const dob_train_cfg *c;
    dob_net *net;
    dob_arena *arena;
    int64_t b;          /* local batch */
    int64_t k;          /* classes */
    float *y;           /* local targets [eval_cap x k] */
    float *loss;        /* per-example [eval_cap] */
    int64_t eval_cap;   /* largest local evaluation batch (>= b) */
    uint32_t *perm, *eval_idx, *local;  /* local: [eval_cap] */
    uint32_t *valid_map, *test_map;     /* stream batching: positions -> examples of valid and test (else NULL) */
    int streams;        /* the net carries state between batches: contiguous streams, no shuffling */
    float *raw;         /* gathered training images before augmentation [b x example] (with preproc) */
    int poll_eval;      /* evaluation rounds poll should_stop after every batch */
    int stopped;        /* ... and one said DOB_POLL_STOP: the round is abandoned */
    float *state[DOB_OPTIM_MAX_STATE];
    size_t n;           /* parameters (arena floats) */
    double t_start, t_report; /* progress: the first training step of this process, the last report */
    double t_eval;            /* progress: seconds of the last evaluation round (the ETA counts those to come) */
    double t_evals;           /* progress: seconds of the rounds since t_start (not training: out of the rate) */
    dob_progress *pr;         /* progress: the report handed to the hook (NULL before dob_train's loop) */
    dob_train_out *o;
} run;

/* Gather the n examples idx[0..n) of d into the net input and r->y, through the problem's image preprocessing
 * (augment = 1: training, example i keyed by its global position first + i); an autoencoder's targets are its
 * (preprocessed) inputs. */
static dob_status gather(run *r, const dob_dataset *d, const uint32_t *idx, int64_t n, int augment,
                         uint64_t first) {
    dob_tensor *x = dob_net_input_tensor(r->net);
    const dob_preproc *pp = r->c->preproc;
    float *dst = pp && augment ? r->raw : x->data;
    const int vae = r->c->loss == DOB_LOSS_VAE;
    /* a streamed set applies its own training preprocessing (keyed the same way); pp then standardises */
    dob_status st = dob_dataset_fetch(d, idx, n, augment, r->c->seed, first, dst, vae ? NULL : r->y);
    if (st != DOB_OK) return st;
    if (pp) dob_preproc_apply(pp, augment, r->c->seed, first, dst, x->data, n, x->dims[1], x->dims[2], x->dims[3]);
    if (vae) memcpy(r->y, x->data, (size_t)(n * r->k) * sizeof(float));
    return DOB_OK;
}

/* A streamed training set decodes ahead: announce the local batches of steps [*next, s + depth) of the epoch
 * (not past its end or max_steps), step s being global step gstep. In memory (depth 0): nothing. */
static void announce(run *r, const uint32_t *perm, int64_t s, int64_t gstep, int64_t spe, int64_t *next) {
    const dob_train_cfg *c = r->c;
    const int64_t B = c->batch_size, depth = dob_dataset_prefetch_depth(c->train);
    int64_t end = s + depth < spe ? s + depth : spe;
    if (c->max_steps > 0 && end - s > c->max_steps - gstep) end = s + (c->max_steps - gstep);
    for (int64_t a = *next > s ? *next : s; a < end; a++)
        dob_dataset_prefetch(c->train, perm + a * B + c->rank * r->b, r->b, 1, c->seed,
                             (uint64_t)((gstep + a - s) * B + c->rank * r->b));
    if (end > *next) *next = end;
}

/* Per-example losses of the n examples in the net output (against r->y) in phase "train" (training = 1) or an
 * evaluation phase, and optionally their gradient (training only). */
static void loss_forward(run *r, int64_t n, int training) {
    const dob_tensor *out = dob_net_output(r->net);
    if (r->c->loss == DOB_LOSS_SEQ_SOFTMAX_CE)
        dob_seq_loss_forward(out->data, r->y, n, out->dims[1], out->dims[2], r->loss);
    else
        dob_loss_forward(dob_loss_phase_kind(r->c->loss, training), out->data, r->y, n, r->k, r->loss);
}

static void loss_backward(run *r, int64_t n, float scale) {
    dob_tensor *out = dob_net_output(r->net);
    if (r->c->loss == DOB_LOSS_SEQ_SOFTMAX_CE)
        dob_seq_loss_backward(out->data, r->y, n, out->dims[1], out->dims[2], scale, out->diff);
    else
        dob_loss_backward(r->c->loss, out->data, r->y, n, r->k, scale, out->diff);
}

/* Sum over the n examples of their accuracy (0/1, or the fraction of correct steps of a sequence). */
static double accuracy_sum(run *r, int64_t n) {
    const dob_tensor *out = dob_net_output(r->net);
    if (r->c->loss == DOB_LOSS_SEQ_SOFTMAX_CE)
        return dob_seq_accuracy_sum(out->data, r->y, n, out->dims[1], out->dims[2]);
    return (double)dob_loss_accuracy_count(r->c->loss, out->data, r->y, n, r->k);
}

/* DeepOBS's text batching (tolstoi.py): with n examples (consecutive sequences of the text) and batch B, row i of
 * batch j is example i * nb + j (nb = n / B): each row of the batch is one contiguous stream through the text, so
 * consecutive batches continue every row and a carried LSTM state is meaningful. map[j * B + i] for j < nb. */
static void stream_map(uint32_t *map, int64_t n, int64_t B) {
    const int64_t nb = n / B;
    for (int64_t j = 0; j < nb; j++)
        for (int64_t i = 0; i < B; i++) map[j * B + i] = (uint32_t)(i * nb + j);
}

static dob_status sum_double(const dob_train_cfg *c, double *x, size_t n) {
    return c->hooks.sum_double ? c->hooks.sum_double(c->hooks.ctx, x, n) : DOB_OK;
}

/* ---- evaluation at a larger batch ---------------------------------------------------------------------------
 * An evaluation round is forward-only and per example (batch norm uses its moving statistics, dropout is off), so
 * its per-example losses do not depend on how examples are grouped into batches. It evaluates the same nb full
 * global batches of B as DeepOBS (remainder dropped), but k consecutive ones at a time: fewer, larger oneDNN
 * calls (k*b examples per rank). k is the largest divisor of nb with k*b <= the cap below, so the examples are
 * exactly those of the training-batch round and the sums differ only in float summation order. The net is
 * re-planned for the evaluation batch and back (oneDNN's primitive cache makes that cheap). Nets that carry
 * state from batch to batch (dob_net_stateful) keep the training batch. */
#define EVAL_MAX_LOCAL 1024                  /* examples per rank and evaluation batch */
#define EVAL_MAX_BYTES ((size_t)256 << 20)   /* activation buffers of the evaluation build, unless training's
                                                are larger already */

/* The largest local evaluation batch: cfg's, or from the training build's buffer bytes per example (the same on
 * every rank). */
static int64_t eval_cap(const dob_train_cfg *c, dob_net *net, int64_t b) {
    if (dob_net_stateful(net)) return b;
    if (c->eval_max_batch > 0) return c->eval_max_batch > b ? c->eval_max_batch : b;
    size_t per = dob_net_buffer_bytes(net) / (size_t)b;
    int64_t cap = EVAL_MAX_LOCAL;
    if (per > 0 && (size_t)cap * per > EVAL_MAX_BYTES) cap = (int64_t)(EVAL_MAX_BYTES / per);
    return cap > b ? cap : b;
}

dob_status dob_train_memory(const dob_train_cfg *c, dob_train_mem *m) {
    memset(m, 0, sizeof *m);
    dob_status st = dob_train_check(c);
    if (st != DOB_OK) return st;
    const int64_t b = c->batch_size / c->nranks, size = dob_dataset_example_size(c->train);
    const int64_t k = c->loss == DOB_LOSS_VAE ? size : c->train->k;
    if ((st = dob_net_build(c->net, b)) != DOB_OK) return st;
    const size_t train_act = dob_net_buffer_bytes(c->net);
    const int64_t cap = eval_cap(c, c->net, b);
    /* evaluation re-plans at k * b <= cap examples: buffers scale with the batch */
    const size_t eval_act = train_act / (size_t)b * (size_t)cap;
    m->params = (size_t)(2 + c->optim->state_count) * dob_arena_size(dob_net_arena(c->net)) * sizeof(float);
    m->activations = eval_act > train_act ? eval_act : train_act;
    m->batch = (size_t)(cap * (k + 1)) * sizeof(float) + (size_t)(2 * c->train->n + cap) * sizeof(uint32_t) +
               (c->preproc ? (size_t)(b * size) * sizeof(float) : 0);
    return DOB_OK;
}

/* Progress of a long evaluation round (ImageNet's test split takes minutes): every 2 s, as training's. */
static void report_eval(run *r, const char *split, int64_t done, int64_t total, double t0) {
    const double t = now();
    dob_progress *pr = r->pr;
    if (!pr || !r->c->hooks.progress || t - r->t_report < 2.0) return;
    pr->evaluating = DOB_PROGRESS_EVAL_RUNNING;
    pr->eval_split = split;
    pr->eval_done = done;
    pr->eval_total = total;
    pr->eval_per_second = t > t0 ? (double)done / (t - t0) : 0.0;
    r->c->hooks.progress(r->c->hooks.ctx, pr);
    pr->evaluating = 0;
    r->t_report = t;
}

/* Mean loss (+ regulariser) and accuracy over nb full global batches of d (split: its name in the reports); idx
 * maps positions to examples (NULL = identity). */
static dob_status evaluate(run *r, const char *split, const dob_dataset *d, const uint32_t *idx, int64_t n_use,
                           double reg, uint64_t eval_key, double *loss, double *acc) {
    const dob_train_cfg *c = r->c;
    int64_t B = c->batch_size, nb = n_use / B, k = r->eval_cap / r->b;
    while (k > 1 && nb % k) k--;
    const int64_t lb = k * r->b, G = k * B; /* local and global evaluation batch */
    const double t0 = now();
    double sums[2] = {0.0, 0.0};
    dob_status st = dob_net_build(r->net, lb);
    if (st != DOB_OK) return st;
    dob_net_reset_state(r->net); /* every phase starts from the zero state (DeepOBS's init ops) */
    uint32_t *local = r->local;
    for (int64_t j = 0; j < nb / k; j++) {
        int64_t first = j * G + c->rank * lb;
        for (int64_t i = 0; i < lb; i++) local[i] = idx ? idx[first + i] : (uint32_t)(first + i);
        if ((st = gather(r, d, local, lb, 0, 0)) != DOB_OK) return st;
        /* layers that sample in evaluation (the VAE's latent) key on (round, split) and the global position of
         * each example: bit 39 keeps these steps apart from training steps. So the noise does not depend on how
         * examples are grouped into evaluation batches or split over ranks. */
        dob_net_set_context(r->net, (dob_net_ctx){.seed = c->seed, .step = eval_key,
                                                  .example_offset = (uint64_t)first});
        if ((st = dob_net_forward(r->net, 0)) != DOB_OK) return st;
        loss_forward(r, lb, 0);
        sums[0] += dob_mean(r->loss, lb) * (double)lb;
        if (c->has_accuracy) sums[1] += accuracy_sum(r, lb);
        report_eval(r, split, (j + 1) * G, nb * B, t0);
        /* a stop (Slurm's warning signal) need not wait for the end of a long evaluation round */
        if (r->poll_eval && c->hooks.should_stop && c->hooks.should_stop(c->hooks.ctx) == DOB_POLL_STOP) {
            r->stopped = 1;
            return DOB_OK;
        }
    }
    st = sum_double(c, sums, 2);
    if (st != DOB_OK) return st;
    double total = (double)(nb * B);
    *loss = sums[0] / total + reg;
    *acc = c->has_accuracy ? sums[1] / total : NAN;
    return DOB_OK;
}

static double regulariser(const dob_train_cfg *c, dob_arena *a) {
    return c->weight_decay > 0.0 ? c->weight_decay * dob_arena_l2_half_sq(a) : 0.0;
}

static dob_status eval_round(run *r, int64_t e) {
    const dob_train_cfg *c = r->c;
    dob_train_out *o = r->o;
    double reg = regulariser(c, r->arena);
    int64_t te = c->train_eval_size < c->train->n ? c->train_eval_size : c->train->n;
    dob_status st;
    const uint64_t key = ((uint64_t)1 << 39) | ((uint64_t)e << 20);
    if (r->pr) r->pr->epoch = e; /* the round's entry, for the reports while it runs */
    if ((st = evaluate(r, "train_eval", c->train, r->eval_idx, te, reg, key, &o->train_losses[e],
                       &o->train_accuracies[e])) != DOB_OK ||
        r->stopped)
        return st;
    if (c->valid && ((st = evaluate(r, "valid", c->valid, r->valid_map, c->valid->n, reg, key | (1u << 18),
                                    &o->valid_losses[e], &o->valid_accuracies[e])) != DOB_OK ||
                     r->stopped))
        return st;
    return evaluate(r, "test", c->test, r->test_map, c->test->n, reg, key | (2u << 18), &o->test_losses[e],
                    &o->test_accuracies[e]);
}

/* Copy a checkpoint's curves and counters into o (allocated for this configuration) after checking they fit. */
/* The checkpoint hook, with o->net_state refreshed: the state the next training step starts from (zero at an
 * epoch's start, where the trainer resets it anyway). No state is saved if its buffer cannot be allocated. */
static void checkpoint(const dob_train_cfg *c, dob_net *net, dob_train_out *o) {
    const size_t ns = dob_net_state_count(net);
    if ((int64_t)ns != o->net_state_n) {
        free(o->net_state);
        o->net_state = ns ? calloc(ns, sizeof *o->net_state) : NULL;
        o->net_state_n = o->net_state ? (int64_t)ns : 0;
    }
    if (o->net_state) dob_net_state_get(net, o->net_state);
    c->hooks.checkpoint(c->hooks.ctx, o);
}

static dob_status resume_out(const dob_train_cfg *c, dob_train_out *o) {
    const dob_train_out *in = c->resume;
    const int64_t N = o->num_epochs, spe = o->steps_per_epoch;
    if (in->num_epochs != N || in->n_minibatch != o->n_minibatch)
        return DOB_FAIL(DOB_EINVAL, "checkpoint has %lld epochs and %lld logged losses, this run %lld and %lld",
                        (long long)in->num_epochs, (long long)in->n_minibatch, (long long)N, (long long)o->n_minibatch);
    const int64_t e = in->steps_done / spe;
    if (in->steps_done < 0 || in->steps_done > N * spe || in->evaluated < e || in->evaluated > e + 1 ||
        in->evaluated > N + 1 || in->n_logged < 0 || in->n_logged > o->n_minibatch)
        return DOB_FAIL(DOB_EFORMAT, "checkpoint is inconsistent: %lld steps done, %lld evaluation rounds, %lld "
                        "losses logged (%lld steps per epoch)", (long long)in->steps_done, (long long)in->evaluated,
                        (long long)in->n_logged, (long long)spe);
    for (int k = 0; k < DOB_N_CURVES; k++)
        memcpy(o->curve[k], in->curve[k], (size_t)dob_curve_len(k, N, o->n_minibatch) * sizeof(double));
    memcpy(o->phase_seconds, in->phase_seconds, sizeof o->phase_seconds);
    o->steps_done = in->steps_done;
    o->evaluated = in->evaluated;
    o->epochs_done = in->evaluated > 0 ? (int)(in->evaluated - 1) : 0;
    o->n_logged = in->n_logged;
    return DOB_OK;
}

/* A run's curves and buffers (run_free releases them), and the training plans built first: their size bounds the
 * evaluation batch. */
static dob_status run_alloc(run *r) {
    const dob_train_cfg *c = r->c;
    dob_train_out *o = r->o;
    dob_status st = DOB_OK;
    int ok = 1;
    for (int k = 0; k < DOB_N_CURVES; k++)
        ok &= (o->curve[k] = nan_array(dob_curve_len(k, c->num_epochs, o->n_minibatch))) != NULL;
    DOB_TRY(dob_net_build(r->net, r->b));
    r->eval_cap = eval_cap(c, r->net, r->b);
    r->y = malloc((size_t)(r->eval_cap * r->k) * sizeof(float));
    r->loss = malloc((size_t)r->eval_cap * sizeof(float));
    r->perm = malloc((size_t)(c->train->n > r->b ? c->train->n : r->b) * sizeof(uint32_t));
    r->eval_idx = malloc((size_t)c->train->n * sizeof(uint32_t));
    r->local = malloc((size_t)r->eval_cap * sizeof(uint32_t));
    r->streams = dob_net_stateful(r->net);
    if (r->streams) {
        ok &= (r->test_map = malloc((size_t)c->test->n * sizeof(uint32_t))) != NULL;
        if (c->valid) ok &= (r->valid_map = malloc((size_t)c->valid->n * sizeof(uint32_t))) != NULL;
        if (ok) {
            stream_map(r->test_map, c->test->n, c->batch_size);
            if (c->valid) stream_map(r->valid_map, c->valid->n, c->batch_size);
        }
    }
    if (c->preproc) ok &= (r->raw = malloc((size_t)(r->b * dob_dataset_example_size(c->train)) * sizeof(float))) != NULL;
    if (!ok || !r->y || !r->loss || !r->perm || !r->eval_idx || !r->local)
        st = DOB_FAIL(DOB_ENOMEM, "trainer: out of memory");
fail:
    return st;
}

static void run_free(run *r) {
    free(r->y);
    free(r->loss);
    free(r->perm);
    free(r->eval_idx);
    free(r->valid_map);
    free(r->test_map);
    free(r->local);
    free(r->raw);
}

/* Parameters and optimizer state: from the seed, or those of the resumed run; and train_eval's examples: a fixed
 * subset of the training set, the size of the test set, without augmentation (for streams the first batches of
 * the never shuffled training stream, as DeepOBS v1.2 tolstoi). */
static dob_status run_start(run *r) {
    const dob_train_cfg *c = r->c;
    dob_status st = DOB_OK;
    if (c->resume) {
        DOB_TRY(resume_out(c, r->o));
        if (dob_arena_state_count(r->arena) != c->optim->state_count)
            return DOB_FAIL(DOB_EINTERNAL, "trainer: resumed arena has %d state vectors, %s needs %d",
                            dob_arena_state_count(r->arena), c->optim->name, c->optim->state_count);
    } else {
        dob_arena_init(r->arena, c->seed);
        DOB_TRY(dob_arena_set_state_count(r->arena, c->optim->state_count));
    }
    r->n = dob_arena_size(r->arena);
    for (int k = 0; k < c->optim->state_count; k++) r->state[k] = dob_arena_state(r->arena, k);
    if (c->optim->init && !c->resume) c->optim->init(r->state, r->n, c->hp);
    dob_rng eval_rng = {c->seed, DOB_RNG_SHUFFLE, (uint64_t)1 << 40};
    if (r->streams)
        stream_map(r->eval_idx, c->train->n, c->batch_size);
    else
        dob_rng_permutation(&eval_rng, r->eval_idx, (size_t)c->train->n);
fail:
    return st;
}

/* The entry of epoch e (started at t_epoch): its evaluation round, progress and checkpoint. *stopped: a stop
 * signal came during the round, whose partial values and time are dropped (a resumed run evaluates e again). */
static dob_status epoch_entry(run *r, int64_t e, double t_epoch, int64_t gstep, dob_progress *pr, int *stopped) {
    const dob_train_cfg *c = r->c;
    dob_train_out *o = r->o;
    dob_status st = DOB_OK;
    const double t_round = now();
    r->poll_eval = 1;
    DOB_TRY(eval_round(r, e));
    r->poll_eval = 0;
    DOB_TRY(dob_net_build(r->net, r->b)); /* back to the training plans */
    r->t_eval = now() - t_round;
    if (r->t_start > 0.0) r->t_evals += r->t_eval;
    if ((*stopped = r->stopped)) {
        for (int k = 0; k < DOB_N_CURVES; k++)
            if (dob_curves[k].flags & DOB_CURVE_EVAL) o->curve[k][e] = NAN;
        o->epoch_seconds[e] = t_round - t_epoch;
        if (c->hooks.checkpoint) checkpoint(c, r->net, o);
        o->status = DOB_TRAIN_STOPPED;
        return DOB_OK;
    }
    o->epochs_done = (int)e;
    o->evaluated = e + 1;
    if (c->hooks.progress) {
        pr->epoch = e;
        pr->evaluating = 1;
        pr->global_step = gstep;
        c->hooks.progress(c->hooks.ctx, pr);
        pr->evaluating = 0;
    }
    if (e < c->num_epochs && c->hooks.checkpoint) {
        o->epoch_seconds[e] = now() - t_epoch;
        checkpoint(c, r->net, o);
    }
fail:
    return st;
}

/* Epoch e's order of the training examples in r->perm: shuffled per epoch, or (streams) the same contiguous
 * streams every epoch from the zero state, or from the checkpoint's state when resumed in the middle (mid). */
static void epoch_order(run *r, int64_t e, int mid) {
    const dob_train_cfg *c = r->c;
    if (!r->streams) {
        dob_rng shuffle = {c->seed, DOB_RNG_SHUFFLE, (uint64_t)e};
        dob_rng_permutation(&shuffle, r->perm, (size_t)c->train->n);
        return;
    }
    stream_map(r->perm, c->train->n, c->batch_size);
    dob_net_reset_state(r->net);
    if (mid && c->resume && c->resume->net_state && c->resume->net_state_n == (int64_t)dob_net_state_count(r->net))
        dob_net_state_set(r->net, c->resume->net_state);
}

/* Training step s of the epoch (global step gstep) at learning rate lr: the batch, forward, loss, backward, the
 * sums of gradients and loss over the ranks, L2 and the update; the phases' times into o. *mb_loss: the
 * mini-batch loss (+ the regulariser on logged steps), logged every train_log_interval steps; a non-finite one
 * returns before the update. *announced: how far the prefetch was told the epoch's order. */
static dob_status train_step(run *r, grad_sync *gs, int64_t s, int64_t gstep, float lr, int64_t *announced,
                             double *mb_loss) {
    const dob_train_cfg *c = r->c;
    dob_train_out *o = r->o;
    const int64_t B = c->batch_size, first = s * B + c->rank * r->b;
    const int logged = s % c->train_log_interval == 0;
    double t0 = now();
    memcpy(r->local, r->perm + first, (size_t)r->b * sizeof *r->local);
    announce(r, r->perm, s, gstep, steps_per_epoch(c), announced);
    dob_status st = gather(r, c->train, r->local, r->b, 1, (uint64_t)(gstep * B + c->rank * r->b));
    if (st != DOB_OK) return st;
    dob_net_set_context(r->net, (dob_net_ctx){.seed = c->seed, .step = (uint64_t)gstep,
                                              .example_offset = (uint64_t)first});
    double t1 = now();
    st = dob_net_forward(r->net, 1);
    if (st == DOB_OK) {
        loss_forward(r, r->b, 1);
        loss_backward(r, r->b, 1.0f / (float)B);
    }
    double t2 = now();
    grad_sync_begin(gs);
    if (st == DOB_OK) st = dob_net_backward(r->net);
    double t3 = now();
    double msum = dob_mean(r->loss, r->b) * (double)r->b;
    if (gs->ready) {
        dob_status sst = grad_sync_finish(gs); /* also after a failed backward: complete what started */
        if (st == DOB_OK) st = sst;
    } else if (st == DOB_OK && c->hooks.sum_float) {
        st = c->hooks.sum_float(c->hooks.ctx, dob_arena_grads(r->arena), r->n);
    }
    if (st == DOB_OK) st = sum_double(c, &msum, 1);
    if (st != DOB_OK) return st;
    double t4 = now();
    *mb_loss = msum / (double)B;
    if (logged) *mb_loss += regulariser(c, r->arena);
    if (logged && o->n_logged < o->n_minibatch) o->minibatch_train_losses[o->n_logged++] = *mb_loss;
    if (!isfinite(*mb_loss)) return DOB_OK;
    if (c->weight_decay > 0.0) dob_arena_l2_grad(r->arena, (float)c->weight_decay);
    c->optim->step(dob_arena_params(r->arena), dob_arena_grads(r->arena), r->state, r->n, lr, c->hp, gstep + 1);
    o->steps_done = gstep + 1;
    double t5 = now();
    o->phase_seconds[DOB_PHASE_DATA] += t1 - t0;
    o->phase_seconds[DOB_PHASE_FORWARD] += t2 - t1;
    o->phase_seconds[DOB_PHASE_BACKWARD] += t3 - t2;
    o->phase_seconds[DOB_PHASE_ALLREDUCE] += t4 - t3;
    o->phase_seconds[DOB_PHASE_OPTIMIZER] += t5 - t4;
    return DOB_OK;
}

/* Progress every 2 s: the training step rate since the first training step of this process (t_start, step gstep0;
 * the evaluation rounds since then taken out); the ETA adds the rounds still to come (after each epoch, or one
 * when max_steps ends the run) at the last one's duration. */
static void report(run *r, dob_progress *pr, int64_t e, int64_t s, int64_t gstep, int64_t gstep0, double loss) {
    const double t = now();
    if (!r->c->hooks.progress || t - r->t_report < 2.0) return;
    const double rate = (double)(gstep + 1 - gstep0) / (t - r->t_start - r->t_evals);
    const int64_t rounds = pr->total_steps < r->c->num_epochs * pr->steps_per_epoch
                               ? 1 /* max_steps: the final parameters' round */
                               : r->c->num_epochs - e;
    pr->epoch = e;
    pr->step = s + 1;
    pr->global_step = gstep + 1;
    pr->steps_per_second = rate;
    pr->eta_seconds = (double)(pr->total_steps - gstep - 1) / rate + (double)rounds * r->t_eval;
    pr->loss = loss;
    r->c->hooks.progress(r->c->hooks.ctx, pr);
    r->t_report = t;
}

dob_status dob_train(const dob_train_cfg *c, dob_train_out *o) {
    dob_status st = DOB_OK;
    run r = {.c = c, .net = c->net, .arena = dob_net_arena(c->net), .o = o};
    grad_sync gs = {0}; /* gs.ready != NULL: gradient sums overlap backward */
    memset(o, 0, sizeof *o);
    o->diverged_step = -1;
    DOB_TRY(dob_train_check(c));
    const int64_t spe = steps_per_epoch(c), N = c->num_epochs;
    r.b = c->batch_size / c->nranks;
    r.k = c->loss == DOB_LOSS_VAE ? dob_dataset_example_size(c->train) : c->train->k;
    o->num_epochs = N;
    o->steps_per_epoch = spe;
    o->n_minibatch = dob_train_n_minibatch(c);
    DOB_TRY(run_alloc(&r));
    DOB_TRY(run_start(&r));
    if (c->hooks.sum_float_start && c->hooks.sum_float_progress && c->hooks.sum_float_wait)
        DOB_TRY(grad_sync_init(&gs, r.net, &c->hooks, GRAD_BUCKET));

    /* where to start: step s0 of epoch e0 (0, 0 for a fresh run) */
    const int64_t gstep0 = o->steps_done, e0 = gstep0 / spe, s0 = gstep0 % spe;
    int64_t gstep = gstep0;
    /* the ETA counts the steps this run will take: --max_steps ends it early */
    const int64_t total = c->max_steps > 0 && c->max_steps < N * spe ? c->max_steps : N * spe;
    dob_progress pr = {.num_epochs = N, .steps_per_epoch = spe, .total_steps = total};
    r.pr = &pr;
    r.t_report = now(); /* the first report after 2 s, also inside the first evaluation round */
    for (int64_t e = e0; e <= N; e++) {
        /* a resumed epoch goes on counting from its time before the checkpoint */
        double t_epoch = now() - (e == e0 && isfinite(o->epoch_seconds[e]) ? o->epoch_seconds[e] : 0.0);
        int stopped = 0;
        if (e >= o->evaluated) DOB_TRY(epoch_entry(&r, e, t_epoch, gstep, &pr, &stopped));
        if (stopped) goto done;
        if (e == e0) r.t_start = r.t_report = now(); /* step rate and ETA from the first training step on */
        if (e == N) {
            o->epoch_seconds[e] = now() - t_epoch;
            break;
        }
        const float lr = (float)dob_sched_lr(&c->sched, e);
        epoch_order(&r, e, e == e0 && s0 > 0);
        int64_t announced = 0;
        for (int64_t s = e == e0 ? s0 : 0; s < spe; s++, gstep++) {
            double mb_loss;
            DOB_TRY(train_step(&r, &gs, s, gstep, lr, &announced, &mb_loss));
            if (!isfinite(mb_loss)) {
                o->status = DOB_TRAIN_DIVERGED;
                o->diverged_step = gstep;
                o->epoch_seconds[e] = now() - t_epoch;
                goto done;
            }
            report(&r, &pr, e, s, gstep, gstep0, mb_loss);
            if (c->max_steps > 0 && gstep + 1 >= c->max_steps) {
                /* truncated run: evaluate the final parameters as the next epoch's entry */
                o->epoch_seconds[e] = now() - t_epoch;
                DOB_TRY(eval_round(&r, e + 1));
                o->epochs_done = (int)(e + 1);
                o->evaluated = e + 2;
                o->status = DOB_TRAIN_DONE;
                goto done;
            }
            int poll = c->hooks.should_stop ? c->hooks.should_stop(c->hooks.ctx) : DOB_POLL_CONTINUE;
            if (poll != DOB_POLL_CONTINUE) {
                o->epoch_seconds[e] = now() - t_epoch;
                if (c->hooks.checkpoint) checkpoint(c, r.net, o);
                if (poll == DOB_POLL_STOP) {
                    o->status = DOB_TRAIN_STOPPED;
                    goto done;
                }
            }
        }
        o->epoch_seconds[e] = now() - t_epoch;
    }
    o->status = DOB_TRAIN_DONE;
done:
fail:
    grad_sync_free(&gs, r.net);
    run_free(&r);
    return st;
}
