/* dropout.c: inverted dropout with TF semantics (tf.layers.dropout / tf.nn.dropout with `rate`).
 *
 * Training: element j is kept iff u_j >= rate, where u_j in [0, 1) comes from the counter RNG; kept elements are
 * scaled by 1 / (1 - rate), dropped ones are 0. Inference: identity (a copy).
 * Invariant: u_j is a pure function of (ctx seed, layer index, ctx step, global element index), with
 *   key    = dob_rng{seed, DOB_RNG_DROPOUT, stream = (layer index << 40) | step},
 *   index  = (example_offset + b) * per_example + e   (u = word `index` of the stream, as dob_rng_uniform),
 * so a rank holding examples [off, off + n) of the global batch draws exactly what one process would draw for
 * them, whatever the number of threads or ranks.
 * Saved for backward: the keep mask of the last forward (one byte per element) and whether it was a training
 * forward; backward never re-reads the RNG, so a context change between forward and backward is harmless.
 * Does not: support noise shapes (TF noise_shape) or rate >= 1. */
#include "dob/layers.h"
#include "dob/layer.h"
#include "dob/rng.h"

#include <stdlib.h>
#include <string.h>

typedef struct dropout_priv {
    uint8_t *keep;   /* [N * per_example]: 1 = kept in the last training forward */
    int trained;     /* the last forward was in training mode */
} dropout_priv;

static dob_status dropout_reserve(dob_layer *l, dob_arena *a) {
    (void)a;
    const dob_dropout_cfg *c = l->cfg;
    if (!(c->rate >= 0.0f && c->rate < 1.0f))
        return DOB_FAIL(DOB_EINVAL, "dropout rate must be in [0, 1), found %g", (double)c->rate);
    l->out->ndim = l->in[0]->ndim;
    memcpy(l->out->dims, l->in[0]->dims, sizeof l->out->dims);
    return DOB_OK;
}

static dob_status dropout_build(dob_layer *l, int64_t batch) {
    (void)batch;
    dropout_priv *p = l->priv;
    p->keep = malloc(l->out->count ? l->out->count : 1);
    if (!p->keep)
        return DOB_FAIL(DOB_ENOMEM, "dropout: cannot allocate a %zu-byte mask", l->out->count);
    return DOB_OK;
}

/* One Philox block gives the uniforms of 4 consecutive global elements; blocks are aligned on global indices,
 * so each thread computes the blocks overlapping its range and the result is thread-count independent. */
static void dropout_mask_apply(dob_layer *l, float rate, float scale) {
    dropout_priv *p = l->priv;
    const dob_net_ctx *ctx = dob_net_context(l->net);
    const dob_rng r = {ctx->seed, DOB_RNG_DROPOUT, ((uint64_t)l->index << 40) | ctx->step};
    const size_t n = l->out->count;
    const uint64_t per_example = (uint64_t)(n / (size_t)l->out->dims[0]);
    const uint64_t base = ctx->example_offset * per_example; /* global index of local element 0 */
    const uint64_t q0 = base >> 2, q1 = (base + n + 3) >> 2;   /* blocks covering [base, base + n) */
    const float *src = l->in[0]->data;                         /* [N, ...] */
    float *dst = l->out->data;                                 /* [N, ...] */
    uint8_t *keep = p->keep;
#pragma omp parallel for schedule(static)
    for (uint64_t q = q0; q < q1; q++) {
        uint32_t w[4];
        dob_rng_block(&r, q, w);
        for (uint64_t s = 0; s < 4; s++) {
            uint64_t g = 4 * q + s;
            if (g < base || g >= base + n) continue;
            size_t j = (size_t)(g - base);
            float u = (float)(w[s] >> 8) * (1.0f / 16777216.0f); /* = dob_rng_uniform(&r, g) */
            keep[j] = u >= rate;
            dst[j] = keep[j] ? src[j] * scale : 0.0f;
        }
    }
}

static dob_status dropout_forward(dob_layer *l, int training) {
    dropout_priv *p = l->priv;
    const dob_dropout_cfg *c = l->cfg;
    p->trained = training && c->rate > 0.0f;
    if (p->trained) {
        dropout_mask_apply(l, c->rate, 1.0f / (1.0f - c->rate));
    } else {
        memcpy(l->out->data, l->in[0]->data, l->out->count * sizeof(float));
    }
    return DOB_OK;
}

/* forward: dst = keep ? src * scale : 0   =>   diff_src = keep ? diff_dst * scale : 0 (identity at inference) */
static dob_status dropout_backward(dob_layer *l) {
    dropout_priv *p = l->priv;
    const dob_dropout_cfg *c = l->cfg;
    float *diff_src = l->in_diff[0];        /* [N, ...] */
    const float *diff_dst = l->out->diff;   /* [N, ...] */
    const size_t n = l->out->count;
    if (!diff_src) return DOB_OK;
    if (!p->trained) {
        memcpy(diff_src, diff_dst, n * sizeof(float));
        return DOB_OK;
    }
    const float scale = 1.0f / (1.0f - c->rate);
    const uint8_t *keep = p->keep;
#pragma omp parallel for schedule(static)
    for (size_t j = 0; j < n; j++) diff_src[j] = keep[j] ? diff_dst[j] * scale : 0.0f;
    return DOB_OK;
}

static void dropout_destroy(dob_layer *l) {
    dropout_priv *p = l->priv;
    free(p->keep);
}

const dob_layer_ops dob_dropout_ops = {
    .type = "dropout", .priv_size = sizeof(dropout_priv), .reserve = dropout_reserve, .build = dropout_build,
    .forward = dropout_forward, .backward = dropout_backward, .destroy = dropout_destroy,
};

dob_status dob_net_dropout(dob_net *net, const char *name, int in, const dob_dropout_cfg *cfg, int *out) {
    return dob_net_add(net, &dob_dropout_ops, name, cfg, sizeof *cfg, 1, &in, out);
}
