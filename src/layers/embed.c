/* embed.c: embedding lookup (TF tf.nn.embedding_lookup on a [V, E] variable), hand-written.
 *
 *   forward   y[p, :] = W[id[p], :]            ids: in[0] N,T.. (plain floats holding integers 0..V-1);
 *                                               W: arena "embedding" (V, E) plain; y: N,T..,E
 *   backward  dW[v, :] = sum over p with id[p] = v of dy[p, :]      (OVERWRITES the whole of dW: rows no id
 *                                               touches are zero, the sparse gradient written into the flat arena)
 *             in_diff[0] (if requested) = 0: ids are not differentiable.
 * Determinism: backward splits the vocabulary rows over threads; each thread walks all positions in order and
 * adds those whose id falls in its rows, so every row is summed in position order whatever the thread count.
 * Saved for backward: the ids (the input tensor), validated by forward.
 * Bad ids (not an integer in [0, V)) are a data error: forward returns DOB_EINVAL naming the position and value.
 * Does not: scale, max-norm or pad ids (TF's defaults do neither). */
#include "dob/layer.h"
#include "dob/layers.h"

#include <math.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static int64_t positions(const dob_tensor *t) {
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->dims[i];
    return n;
}

static dob_status embed_reserve(dob_layer *l, dob_arena *a) {
    const dob_embed_cfg *c = l->cfg;
    const dob_tensor *x = l->in[0];
    if (c->vocab <= 0 || c->dim <= 0)
        return DOB_FAIL(DOB_EINVAL, "vocab and dim must be > 0, found %lld and %lld", (long long)c->vocab,
                        (long long)c->dim);
    if (c->vocab > (1 << 24))
        return DOB_FAIL(DOB_EINVAL, "vocab %lld is above 2^24: ids held in floats would not be exact",
                        (long long)c->vocab);
    if (x->ndim < 1 || x->ndim >= DOB_MAX_DIMS)
        return DOB_FAIL(DOB_EINVAL, "expected an id tensor of 1..%d dims per example, found %d", DOB_MAX_DIMS - 2,
                        x->ndim - 1);
    l->out->ndim = x->ndim + 1;
    memcpy(l->out->dims, x->dims, sizeof l->out->dims);
    l->out->dims[x->ndim] = c->dim;
    /* TF's fan rule on a 2-D [V, E] variable: fan_in = V, fan_out = E */
    return dob_layer_param(l, a, "embedding", 2, (int64_t[]){c->vocab, c->dim}, c->vocab, c->dim, c->init, 0u,
                           NULL);
}

static dob_status embed_forward(dob_layer *l, int training) {
    (void)training;
    const dob_embed_cfg *c = l->cfg;
    const float *ids = l->in[0]->data;                 /* [P] */
    const float *w = dob_arena_param(l->arena, l->param[0]); /* [V, E] */
    float *y = l->out->data;                           /* [P, E] */
    const int64_t P = positions(l->in[0]), E = c->dim;
    int64_t bad = -1;
#pragma omp parallel for schedule(static)
    for (int64_t p = 0; p < P; p++) {
        const float f = ids[p];
        if (!(f >= 0.0f && f < (float)c->vocab && f == floorf(f))) {
#pragma omp critical(dob_embed_bad)
            if (bad < 0 || p < bad) bad = p;
            continue;
        }
        memcpy(y + p * E, w + (int64_t)f * E, (size_t)E * sizeof(float));
    }
    if (bad >= 0)
        return DOB_FAIL(DOB_EINVAL, "id %g at position %lld is not an integer in [0, %lld)", (double)ids[bad],
                        (long long)bad, (long long)c->vocab);
    return DOB_OK;
}

/* forward: y[p] = W[id[p]]  =>  dW[v] = sum_{p: id[p] = v} dy[p] */
static dob_status embed_backward(dob_layer *l) {
    const dob_embed_cfg *c = l->cfg;
    const float *ids = l->in[0]->data;                 /* [P], validated by forward */
    const float *dy = l->out->diff;                    /* [P, E] */
    float *dw = dob_arena_grad(l->arena, l->param[0]); /* [V, E] */
    const int64_t P = positions(l->in[0]), E = c->dim, V = c->vocab;
    if (l->in_diff[0]) memset(l->in_diff[0], 0, (size_t)P * sizeof(float));
#pragma omp parallel
    {
#ifdef _OPENMP
        const int64_t nt = omp_get_num_threads(), t = omp_get_thread_num();
#else
        const int64_t nt = 1, t = 0;
#endif
        const int64_t v0 = V * t / nt, v1 = V * (t + 1) / nt;
        memset(dw + v0 * E, 0, (size_t)((v1 - v0) * E) * sizeof(float));
        for (int64_t p = 0; p < P; p++) {
            const int64_t v = (int64_t)ids[p];
            if (v < v0 || v >= v1) continue;
            float *row = dw + v * E;
            const float *g = dy + p * E;
            for (int64_t e = 0; e < E; e++) row[e] += g[e];
        }
    }
    return DOB_OK;
}

const dob_layer_ops dob_embed_ops = {
    .type = "embed", .priv_size = 0, .reserve = embed_reserve, .forward = embed_forward, .backward = embed_backward,
};

dob_status dob_net_embed(dob_net *net, const char *name, int in, const dob_embed_cfg *cfg, int *out) {
    return dob_net_add(net, &dob_embed_ops, name, cfg, sizeof *cfg, 1, &in, out);
}
