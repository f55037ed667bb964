/* stream.c: the source of streamed data sets (io/stream.h): `threads` decode threads fill a ring of `depth`
 * batches that the trainer announced (dob_dataset_prefetch) ahead of the step, and dob_dataset_fetch takes them
 * in announcement order.
 *
 * Queue: a batch is a slot with its request (a copy of the index list), its output buffers and two counters:
 * examples handed to threads (`next`) and finished (`done`). Threads take the oldest unhanded example of the
 * oldest slot, so the batch the step waits for is decoded first and later ones fill in behind it. A read whose
 * request is not the oldest slot (an evaluation round, a run cut short by --max_steps) first cancels the queue
 * (stops handing out and waits for the examples in flight) and then decodes its batch with all threads.
 * Memory bound: depth slots of (local batch) x (3 x 224 x 224 floats + an index and a label), allocated when a
 * batch of that size is first queued, plus each thread's scratch (io/imagenet.c: one record or file and the
 * resize buffers, src/data/imgpre.c). At depth 2 and batch 32 per rank: 2 x 32 x 602 112 B = 38.5 MB.
 * Determinism: an example's pixels depend only on (example, augment, seed, key), never on the thread that made
 * it, so batches are the same at any thread count, prefetched or not.
 * Does not: read files or decode (the reader's `example` does), shuffle, or standardise. */
#include "stream.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct slot {
    dob_batch_req q;      /* q.idx points at idx */
    uint32_t *idx;
    float *x;             /* [n x size] */
    int32_t *label;       /* [n] */
    int64_t cap;          /* examples the buffers hold */
    int64_t next, done;   /* examples handed out, finished */
    dob_status st;        /* first failure of the batch */
    char err[512];
} slot;

typedef struct stream {
    stream_cfg c;
    pthread_mutex_t mu;
    pthread_cond_t work, done;
    slot *ring;           /* [depth] */
    int head, count;      /* queued slots: head .. head + count - 1 (mod depth) */
    pthread_t *th;
    int started, quit;
} stream;

static slot *at(stream *s, int k) { return &s->ring[(s->head + k) % s->c.depth]; }

/* The oldest example not yet handed out (lock held). */
static slot *next_job(stream *s, int64_t *i) {
    for (int k = 0; k < s->count; k++) {
        slot *q = at(s, k);
        if (q->next < q->q.n) {
            *i = q->next++;
            return q;
        }
    }
    return NULL;
}

static void *worker(void *arg) {
    stream *s = arg;
    void *ws = s->c.ws_new(s->c.ctx);
    pthread_mutex_lock(&s->mu);
    for (;;) {
        slot *q = NULL;
        int64_t i = 0;
        while (!s->quit && !(q = next_job(s, &i))) pthread_cond_wait(&s->work, &s->mu);
        if (s->quit) break;
        const dob_batch_req r = q->q;
        pthread_mutex_unlock(&s->mu);
        int32_t label = 0;
        dob_status st = ws ? s->c.example(s->c.ctx, ws, r.base + (int64_t)r.idx[i], r.augment, r.seed,
                                          r.first + (uint64_t)i, q->x + i * s->c.size, &label)
                           : DOB_FAIL(DOB_ENOMEM, "decode thread: out of memory for its scratch");
        pthread_mutex_lock(&s->mu);
        q->label[i] = label;
        if (st != DOB_OK && q->st == DOB_OK) {
            q->st = st;
            snprintf(q->err, sizeof q->err, "%s", dob_last_error());
        }
        if (++q->done == q->q.n) pthread_cond_broadcast(&s->done);
    }
    pthread_mutex_unlock(&s->mu);
    if (ws) s->c.ws_free(ws);
    return NULL;
}

/* Queue request r at the tail (lock held; count < depth). 0 if its buffers cannot grow. */
static int enqueue(stream *s, const dob_batch_req *r) {
    slot *q = at(s, s->count);
    if (r->n > q->cap) {
        uint32_t *idx = realloc(q->idx, (size_t)r->n * sizeof *idx);
        if (idx) q->idx = idx;
        float *x = idx ? realloc(q->x, (size_t)(r->n * s->c.size) * sizeof *x) : NULL;
        if (x) q->x = x;
        int32_t *label = x ? realloc(q->label, (size_t)r->n * sizeof *label) : NULL;
        if (!label) return 0;
        q->label = label;
        q->cap = r->n;
    }
    memcpy(q->idx, r->idx, (size_t)r->n * sizeof *q->idx);
    q->q = *r;
    q->q.idx = q->idx;
    q->next = q->done = 0;
    q->st = DOB_OK;
    s->count++;
    pthread_cond_broadcast(&s->work);
    return 1;
}

static int same(const dob_batch_req *a, const dob_batch_req *b) {
    return a->base == b->base && a->n == b->n && a->augment == b->augment && a->seed == b->seed &&
           a->first == b->first && !memcmp(a->idx, b->idx, (size_t)a->n * sizeof *a->idx);
}

/* Drop every queued batch: hand out nothing more, wait for the examples in flight (lock held). */
static void cancel(stream *s) {
    for (int k = 0; k < s->count; k++) at(s, k)->q.n = at(s, k)->next;
    for (int k = 0; k < s->count; k++)
        while (at(s, k)->done < at(s, k)->q.n) pthread_cond_wait(&s->done, &s->mu);
    s->count = 0;
}

static void stream_prefetch(void *ctx, const dob_batch_req *r) {
    stream *s = ctx;
    pthread_mutex_lock(&s->mu);
    if (s->count < s->c.depth) enqueue(s, r); /* a batch that could not be queued is decoded when read */
    pthread_mutex_unlock(&s->mu);
}

static dob_status stream_read(void *ctx, const dob_batch_req *r, float *x, float *y) {
    stream *s = ctx;
    pthread_mutex_lock(&s->mu);
    if (s->count == 0 || !same(&at(s, 0)->q, r)) {
        cancel(s);
        if (!enqueue(s, r)) {
            pthread_mutex_unlock(&s->mu);
            return DOB_FAIL(DOB_ENOMEM, "data stream: out of memory for a batch of %lld examples", (long long)r->n);
        }
    }
    slot *q = at(s, 0);
    while (q->done < q->q.n) pthread_cond_wait(&s->done, &s->mu);
    pthread_mutex_unlock(&s->mu); /* the head slot is ours until popped: threads only take unhanded examples */
    const int64_t n = r->n, k = s->c.k;
    memcpy(x, q->x, (size_t)(n * s->c.size) * sizeof *x);
    if (y) {
        memset(y, 0, (size_t)(n * k) * sizeof *y);
        for (int64_t i = 0; i < n; i++) y[i * k + q->label[i]] = 1.0f;
    }
    const dob_status st = q->st;
    char err[512];
    snprintf(err, sizeof err, "%s", q->err);
    pthread_mutex_lock(&s->mu);
    s->head = (s->head + 1) % s->c.depth;
    s->count--;
    pthread_mutex_unlock(&s->mu);
    return st == DOB_OK ? DOB_OK : DOB_FAIL(st, "%s", err);
}

static void stream_destroy(void *ctx) {
    stream *s = ctx;
    pthread_mutex_lock(&s->mu);
    s->quit = 1;
    pthread_cond_broadcast(&s->work);
    pthread_mutex_unlock(&s->mu);
    for (int t = 0; t < s->started; t++) pthread_join(s->th[t], NULL);
    for (int k = 0; s->ring && k < s->c.depth; k++) {
        free(s->ring[k].idx);
        free(s->ring[k].x);
        free(s->ring[k].label);
    }
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->work);
    pthread_cond_destroy(&s->done);
    s->c.ctx_free(s->c.ctx);
    free(s->ring);
    free(s->th);
    free(s);
}

static const dob_source_ops stream_ops = {stream_read, stream_prefetch, stream_destroy};

dob_status stream_create(const stream_cfg *cfg, const dob_source_ops **ops, void **sctx) {
    if (cfg->threads < 1 || cfg->depth < 1 || cfg->size < 1 || cfg->k < 1) {
        cfg->ctx_free(cfg->ctx);
        return DOB_FAIL(DOB_EINVAL, "data stream: expected >= 1 threads, queued batches, values and classes, "
                        "found %d, %d, %lld, %lld", cfg->threads, cfg->depth, (long long)cfg->size,
                        (long long)cfg->k);
    }
    stream *s = calloc(1, sizeof *s);
    if (!s) {
        cfg->ctx_free(cfg->ctx);
        return DOB_FAIL(DOB_ENOMEM, "data stream: out of memory");
    }
    s->c = *cfg;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->work, NULL);
    pthread_cond_init(&s->done, NULL);
    s->ring = calloc((size_t)cfg->depth, sizeof *s->ring);
    s->th = calloc((size_t)cfg->threads, sizeof *s->th);
    while (s->ring && s->th && s->started < cfg->threads &&
           pthread_create(&s->th[s->started], NULL, worker, s) == 0)
        s->started++;
    if (s->started < cfg->threads) {
        stream_destroy(s);
        return DOB_FAIL(DOB_ENOMEM, "data stream: cannot start %d decode threads", cfg->threads);
    }
    *ops = &stream_ops;
    *sctx = s;
    return DOB_OK;
}
