/* bnorm.c: batch normalisation per channel (dim 1) over N and the spatial dims, TF semantics.
 *
 *   training   mean, var = batch statistics over N,H,W (var biased), y = gamma (x - mean) / sqrt(var + eps) + beta
 *              moving_mean     -= (1 - momentum) (moving_mean - mean)                      (TF assign_moving_average)
 *              moving_variance -= (1 - momentum) (moving_variance - var * n / (n - 1))    4-D input
 *              moving_variance -= (1 - momentum) (moving_variance - var)                  2-D, 3-D, 5-D input
 *   inference  the same with moving_mean / moving_variance (oneDNN use_global_stats)
 *   cfg relu   y = max(0, ...) in both modes, and backward masks dy where y = 0 (oneDNN's dnnl_fuse_norm_relu,
 *              its workspace holding the mask; the hand path reads y): a ReLU layer after the batch norm, fused.
 *              svhn_wrn164, batch 128, Zen 5, 2 threads, blocked: batch norm 44 ms + ReLU layers 33 ms per step
 *              -> fused 41 ms (the ReLU costs one more read of the mask); one activation tensor less per unit.
 *   backward   (after a training forward) dx = gamma rstd (dy - mean(dy) - xhat mean(dy xhat)),
 *              d gamma = sum dy xhat, d beta = sum dy, with xhat = (x - mean) rstd, rstd = 1 / sqrt(var + eps);
 *              OVERWRITES in_diff[0] and the gamma/beta grads.
 * Shapes: x, y (N, C, ...) plain, or both in x's producer's blocked layout where y can hand it on
 * (DOB_IN_BLOCKED_SAME: conv -> bnorm -> relu -> conv then runs without reorders); gamma, beta (C) trainable, no L2;
 * moving_mean, moving_variance (C) arena buffers (DOB_PARAM_BUFFER: saved in checkpoints, never seen by
 * optimizers). Saved for backward: x, and the batch mean and variance of the last training forward (p->mean_buf,
 * p->var_buf).
 *
 * Two paths for training. oneDNN's primitive where it has a fast kernel: a blocked layout (jit, nChw8c/16c) and
 * planes of fewer than 8 elements. The hand path (hand_stats, hand_normalise, hand_backward) for plain planes of
 * 8 or more, where oneDNN 2.6 has only its C++ ncsp_bnorm, and for sync-BN on any layout: per-channel sums in
 * double (8 vectorised lanes per contiguous row; each channel summed in one fixed order by one thread, so the
 * result never depends on the thread count), the normalisation and dx in float. svhn_wrn164, batch 128, Zen 5,
 * 2 threads, Winograd: batch norm took 251 ms of a 818 ms step on plain ncsp (and the convs 106 ms of reorders);
 * 143 ms with the blocked chains (57 ms of reorders), 64 ms with the hand path for the plain inputs: 658 ms.
 *
 * The Bessel factor: tf.layers.batch_normalization (TF 1.x, DeepOBS) uses the fused kernel exactly for rank-4
 * inputs; FusedBatchNorm returns the batch variance times n/(n-1) (rest_size_adjust, factor 1 when n = 1), and
 * with _bessels_correction_test_only (the default) that corrected value feeds the moving variance, while the
 * normalisation itself uses the biased variance. Other ranks take TF's non-fused path (nn.moments: biased).
 * deepobs.md §1.3 lists this as UNVERIFIED; the TF sources (fused_batch_norm_op.cc, keras normalization.py) say
 * so, and n is the global count with sync-BN.
 *
 * Sync-BN: when the net has a sum hook (data-parallel --sync-bn), the hand path's sums and count are summed over
 * ranks with dob_net_sum (statistics and mean(dy), mean(dy xhat) alike); d gamma / d beta stay local sums: the
 * gradient all-reduce adds them over ranks afterwards. On a blocked layout oneDNN normalises with the global
 * statistics (use_global_stats).
 * Does not: fuse another activation, or support a backward after an inference-mode forward (DOB_EINVAL). */
#include "dnnl_util.h"
#include "dob/layers.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { P_GAMMA, P_BETA, P_MEAN, P_VAR };

typedef struct bnorm_priv {
    int64_t n, c, s;            /* batch, channels, elements per channel per example (H*W; 1 for 2-D) */
    int64_t blk;                /* channels per block of the layout (dob_md_chan_block); 0: the hand loops cannot walk
                                   it */
    dnnl_primitive_t fwd_train, fwd_inf, bwd; /* fwd_train, bwd: NULL where hand_always */
    dnnl_memory_t src, dst, scale, shift, mean, var, mmean, mvar, diff_dst, diff_src, diff_scale, diff_shift;
    dnnl_memory_t ws;           /* fused ReLU's mask between fwd_train and bwd (cfg relu, oneDNN path) */
    float *mean_buf, *var_buf;  /* (C) batch statistics of the last training forward; owned by mean / var */
    double *acc;                /* (2C + 1) sync-BN sums */
    double count;               /* elements per channel behind the batch statistics (global with sync-BN) */
    int have_stats;             /* the last forward was in training mode: backward may run */
    int hand;                   /* the last training forward took the hand path (sync-BN, or a plain input) */
} bnorm_priv;

static dob_status bnorm_reserve(dob_layer *l, dob_arena *a) {
    const dob_bnorm_cfg *c = l->cfg;
    const dob_tensor *x = l->in[0];
    if (x->ndim < 2)
        return DOB_FAIL(DOB_EINVAL, "expected an input of 2..%d dims (N, C, ...), found %d", DOB_MAX_DIMS, x->ndim);
    if (!(c->momentum >= 0.0f && c->momentum <= 1.0f))
        return DOB_FAIL(DOB_EINVAL, "momentum must be in [0, 1], found %g", (double)c->momentum);
    if (!(c->eps > 0.0f) || isinf(c->eps))
        return DOB_FAIL(DOB_EINVAL, "eps must be > 0 and finite, found %g", (double)c->eps);
    int64_t ch = x->dims[1];
    dob_status st;
    if ((st = dob_layer_param(l, a, "gamma", 1, &ch, ch, ch, (dob_init){DOB_INIT_CONST, 1.0f, 0.0f}, 0u, NULL)) ||
        (st = dob_layer_param(l, a, "beta", 1, &ch, ch, ch, (dob_init){DOB_INIT_ZEROS, 0.0f, 0.0f}, 0u, NULL)) ||
        (st = dob_layer_param(l, a, "moving_mean", 1, &ch, ch, ch, (dob_init){DOB_INIT_ZEROS, 0.0f, 0.0f},
                              DOB_PARAM_BUFFER, NULL)) ||
        (st = dob_layer_param(l, a, "moving_variance", 1, &ch, ch, ch, (dob_init){DOB_INIT_CONST, 1.0f, 0.0f},
                              DOB_PARAM_BUFFER, NULL)))
        return st;
    l->out->ndim = x->ndim;
    memcpy(l->out->dims, x->dims, sizeof l->out->dims);
    return DOB_OK;
}

/* Offset of element (n, c, 0) in the layout of dob_md_chan_block B; consecutive i are B floats apart. */
static inline int64_t chan_at(const bnorm_priv *p, int64_t n, int64_t c) {
    return (n * p->c + c / p->blk * p->blk) * p->s + c % p->blk;
}

/* Plain planes of 8 or more elements always take the hand path (oneDNN 2.6 has only its C++ ncsp_bnorm there):
 * such a layer builds no oneDNN training primitives. Sync-BN takes the hand path on every layout. */
static int hand_always(const bnorm_priv *p) { return p->blk == 1 && p->s >= 8; }

static dob_status bnorm_build(dob_layer *l, int64_t batch) {
    dob_status st = DOB_OK;
    bnorm_priv *p = l->priv;
    const dob_bnorm_cfg *c = l->cfg;
    const dob_tensor *x = l->in[0];
    dob_arena *a = l->arena;
    dnnl_engine_t eng = dob_net_engine(l->net);
    dnnl_primitive_desc_t tpd = NULL, ipd = NULL, bpd = NULL;
    p->n = batch;
    p->c = x->dims[1];
    p->s = 1;
    for (int i = 2; i < x->ndim; i++) p->s *= x->dims[i];
    p->have_stats = 0;

    dnnl_memory_desc_t md, cmd;
    DOB_TRY(dob_layer_same_md(l, &md));
    p->blk = dob_md_chan_block(&md, p->c, p->s);
    DOB_DNNL(dob_md_plain(&cmd, 1, &p->c));
    const unsigned ss = dnnl_use_scale | dnnl_use_shift | (c->relu ? dnnl_fuse_norm_relu : 0u);
    dnnl_batch_normalization_desc_t td, id, bd;
    DOB_DNNL(dnnl_batch_normalization_forward_desc_init(&id, dnnl_forward_inference, &md, c->eps,
                                                        ss | dnnl_use_global_stats));
    DOB_DNNL(dnnl_primitive_desc_create(&ipd, &id, NULL, eng, NULL));
    DOB_DNNL(dob_own_primitive(l, &p->fwd_inf, ipd));
    if (!hand_always(p)) {
        DOB_DNNL(dnnl_batch_normalization_forward_desc_init(&td, dnnl_forward_training, &md, c->eps, ss));
        DOB_DNNL(dnnl_primitive_desc_create(&tpd, &td, NULL, eng, NULL));
        DOB_DNNL(dob_own_primitive(l, &p->fwd_train, tpd));
        DOB_DNNL(dnnl_batch_normalization_backward_desc_init(&bd, dnnl_backward, &md, &md, c->eps, ss));
        DOB_DNNL(dnnl_primitive_desc_create(&bpd, &bd, NULL, eng, tpd));
        DOB_DNNL(dob_own_primitive(l, &p->bwd, bpd));
        if (c->relu)
            DOB_DNNL(dob_own_memory(l, &p->ws, dnnl_primitive_desc_query_md(tpd, dnnl_query_workspace_md, 0), eng,
                                    DNNL_MEMORY_ALLOCATE));
    }

    DOB_DNNL(dob_own_memory(l, &p->src, &md, eng, x->data));
    DOB_DNNL(dob_own_memory(l, &p->dst, &md, eng, l->out->data));
    DOB_DNNL(dob_own_memory(l, &p->diff_dst, &md, eng, l->out->diff));
    /* oneDNN's bwd always writes diff_src: give it scratch when nobody needs d loss / d x (the hand path skips dx) */
    void *dx = l->in_diff[0] ? (void *)l->in_diff[0] : hand_always(p) ? DNNL_MEMORY_NONE : DNNL_MEMORY_ALLOCATE;
    DOB_DNNL(dob_own_memory(l, &p->diff_src, &md, eng, dx));
    DOB_DNNL(dob_own_memory(l, &p->scale, &cmd, eng, dob_arena_param(a, l->param[P_GAMMA])));
    DOB_DNNL(dob_own_memory(l, &p->shift, &cmd, eng, dob_arena_param(a, l->param[P_BETA])));
    DOB_DNNL(dob_own_memory(l, &p->diff_scale, &cmd, eng, dob_arena_grad(a, l->param[P_GAMMA])));
    DOB_DNNL(dob_own_memory(l, &p->diff_shift, &cmd, eng, dob_arena_grad(a, l->param[P_BETA])));
    DOB_DNNL(dob_own_memory(l, &p->mmean, &cmd, eng, dob_arena_param(a, l->param[P_MEAN])));
    DOB_DNNL(dob_own_memory(l, &p->mvar, &cmd, eng, dob_arena_param(a, l->param[P_VAR])));
    DOB_DNNL(dob_own_memory(l, &p->mean, &cmd, eng, DNNL_MEMORY_ALLOCATE));
    DOB_DNNL(dob_own_memory(l, &p->var, &cmd, eng, DNNL_MEMORY_ALLOCATE));
    void *h;
    DOB_DNNL(dnnl_memory_get_data_handle(p->mean, &h));
    p->mean_buf = h;
    DOB_DNNL(dnnl_memory_get_data_handle(p->var, &h));
    p->var_buf = h;
    if (!(p->acc = malloc((size_t)(2 * p->c + 1) * sizeof *p->acc))) {
        st = DOB_FAIL(DOB_ENOMEM, "out of memory for %lld channel sums", (long long)p->c);
        goto fail;
    }
fail:
    if (tpd) dnnl_primitive_desc_destroy(tpd);
    if (ipd) dnnl_primitive_desc_destroy(ipd);
    if (bpd) dnnl_primitive_desc_destroy(bpd);
    return st;
}

/* d, or 0 where the fused ReLU's output y is 0 (not > 0). Vectorised loops call it only with a ReLU (no NULL test
 * inside: GCC keeps them vector, a blend per lane). */
static inline float relu_mask(float y, float d) { return y > 0.0f ? d : 0.0f; }
/* dy at j, masked where there is a ReLU (y not NULL). */
static inline float masked(const float *y, const float *dy, int64_t j) { return y ? relu_mask(y[j], dy[j]) : dy[j]; }

/* One channel's sums over the N x S view, in double: (sum x, sum x^2) without dy, else (sum dy, sum dy (x - mu) rstd)
 * with dy masked by y (masked()).
 * Rows of the plain layout (B = 1) are contiguous and summed in 8 double lanes, which GCC vectorises; the lane
 * order depends on S alone, so the sums never depend on the thread count (one thread sums a channel). */
static void chan_sums(const bnorm_priv *p, int64_t c, const float *x, const float *dy, const float *y, double mu,
                      double rstd, double out[2]) {
    const int64_t S = p->s, B = p->blk;
    double a[8] = {0}, b[8] = {0};
    for (int64_t n = 0; n < p->n; n++) {
        const int64_t at = chan_at(p, n, c);
        const float *xr = x + at, *dr = dy ? dy + at : NULL, *yr = y ? y + at : NULL;
        int64_t i = 0;
        if (B == 1 && !dr)
            for (; i + 8 <= S; i += 8)
                for (int k = 0; k < 8; k++) a[k] += xr[i + k], b[k] += (double)xr[i + k] * xr[i + k];
        else if (B == 1 && !yr)
            for (; i + 8 <= S; i += 8)
                for (int k = 0; k < 8; k++) a[k] += dr[i + k], b[k] += dr[i + k] * ((xr[i + k] - mu) * rstd);
        else if (B == 1)
            for (; i + 8 <= S; i += 8)
                for (int k = 0; k < 8; k++) {
                    const float d = relu_mask(yr[i + k], dr[i + k]);
                    a[k] += d, b[k] += d * ((xr[i + k] - mu) * rstd);
                }
        for (; i < S; i++) {
            const double v = xr[i * B], d = dr ? masked(yr, dr, i * B) : 0.0;
            a[0] += dr ? d : v;
            b[0] += dr ? d * ((v - mu) * rstd) : v * v;
        }
    }
    out[0] = out[1] = 0.0;
    for (int k = 0; k < 8; k++) out[0] += a[k], out[1] += b[k];
}

/* The hand path's batch statistics: per-channel mean and biased variance into mean_buf/var_buf and the count into
 * p->count; with sync-BN the sums and the count are global (dob_net_sum). */
static dob_status hand_stats(dob_layer *l) {
    bnorm_priv *p = l->priv;
    const float *x = l->in[0]->data;
    const int64_t C = p->c;
    double *acc = p->acc;
    if (!p->blk)
        return DOB_FAIL(DOB_EINTERNAL, "sync-BN: %s's input layout is neither plain nor channel-blocked", l->name);
#pragma omp parallel for schedule(static)
    for (int64_t c = 0; c < C; c++) {
        double sums[2];
        chan_sums(p, c, x, NULL, NULL, 0.0, 0.0, sums);
        acc[c] = sums[0];
        acc[C + c] = sums[1];
    }
    acc[2 * C] = (double)(p->n * p->s);
    dob_status st = dob_net_sum(l->net, acc, (size_t)(2 * C + 1));
    if (st != DOB_OK) return st;
    p->count = acc[2 * C];
    if (!(p->count > 0.0))
        return DOB_FAIL(DOB_EINVAL, "sync-BN: global element count per channel is %g, expected > 0", p->count);
    for (int64_t c = 0; c < C; c++) {
        double m = acc[c] / p->count, v = acc[C + c] / p->count - m * m;
        p->mean_buf[c] = (float)m;
        p->var_buf[c] = (float)(v > 0.0 ? v : 0.0);
    }
    return DOB_OK;
}

/* The hand path's normalisation of a plain input (B = 1): y = x k + (beta - mean k), k = gamma rstd, per row. */
static void hand_normalise(dob_layer *l) {
    const bnorm_priv *p = l->priv;
    const dob_bnorm_cfg *cfg = l->cfg;
    const float *x = l->in[0]->data, *gamma = dob_arena_param(l->arena, l->param[P_GAMMA]),
                *beta = dob_arena_param(l->arena, l->param[P_BETA]);
    float *y = l->out->data;
    const int64_t C = p->c, S = p->s;
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < p->n * C; r++) {
        const int64_t c = r % C;
        const double k = gamma[c] / sqrt((double)p->var_buf[c] + cfg->eps);
        const float kf = (float)k, bf = (float)(beta[c] - p->mean_buf[c] * k);
        if (cfg->relu)
            for (int64_t i = 0; i < S; i++) y[r * S + i] = fmaxf(x[r * S + i] * kf + bf, 0.0f);
        else
            for (int64_t i = 0; i < S; i++) y[r * S + i] = x[r * S + i] * kf + bf;
    }
}

static void update_moving(dob_layer *l) {
    bnorm_priv *p = l->priv;
    const dob_bnorm_cfg *cfg = l->cfg;
    float *mm = dob_arena_param(l->arena, l->param[P_MEAN]), *mv = dob_arena_param(l->arena, l->param[P_VAR]);
    const float decay = 1.0f - cfg->momentum;
    /* TF fused kernel (rank 4 only): Bessel-corrected batch variance for the moving average; see the header */
    const double bessel = (l->in[0]->ndim == 4 && p->count > 1.0) ? p->count / (p->count - 1.0) : 1.0;
    for (int64_t c = 0; c < p->c; c++) {
        mm[c] -= (mm[c] - p->mean_buf[c]) * decay;
        mv[c] -= (mv[c] - (float)(p->var_buf[c] * bessel)) * decay;
    }
}

static dob_status bnorm_forward(dob_layer *l, int training) {
    dob_status st = DOB_OK;
    bnorm_priv *p = l->priv;
    dnnl_stream_t s = dob_net_stream(l->net);
    if (!training) {
        dnnl_exec_arg_t args[6] = {{DNNL_ARG_SRC, p->src},     {DNNL_ARG_DST, p->dst},
                                   {DNNL_ARG_SCALE, p->scale}, {DNNL_ARG_SHIFT, p->shift},
                                   {DNNL_ARG_MEAN, p->mmean},  {DNNL_ARG_VARIANCE, p->mvar}};
        p->have_stats = 0;
        DOB_DNNL(dnnl_primitive_execute(p->fwd_inf, s, 6, args));
        return DOB_OK;
    }
    dnnl_exec_arg_t args[7] = {{DNNL_ARG_SRC, p->src},     {DNNL_ARG_DST, p->dst},
                               {DNNL_ARG_SCALE, p->scale}, {DNNL_ARG_SHIFT, p->shift},
                               {DNNL_ARG_MEAN, p->mean},   {DNNL_ARG_VARIANCE, p->var},
                               {DNNL_ARG_WORKSPACE, p->ws}};
    p->hand = dob_net_has_sum_hook(l->net) || hand_always(p);
    if (p->hand) {
        DOB_TRY(hand_stats(l));
        if (p->blk == 1)
            hand_normalise(l);
        else
            DOB_DNNL(dnnl_primitive_execute(p->fwd_inf, s, 6, args));
    } else {
        p->count = (double)(p->n * p->s);
        DOB_DNNL(dnnl_primitive_execute(p->fwd_train, s, p->ws ? 7 : 6, args));
    }
    update_moving(l);
    p->have_stats = 1;
fail:
    return st;
}

/* The hand path's backward: mean(dy) and mean(dy xhat) (global with sync-BN), local d gamma / d beta. */
static dob_status hand_backward(dob_layer *l) {
    bnorm_priv *p = l->priv;
    const dob_bnorm_cfg *cfg = l->cfg;
    const float *x = l->in[0]->data, *dy = l->out->diff, *gamma = dob_arena_param(l->arena, l->param[P_GAMMA]);
    const float *y = cfg->relu ? l->out->data : NULL; /* the fused ReLU's mask */
    float *dgamma = dob_arena_grad(l->arena, l->param[P_GAMMA]), *dbeta = dob_arena_grad(l->arena, l->param[P_BETA]);
    const float *mean = p->mean_buf, *var = p->var_buf;
    const int64_t N = p->n, C = p->c, S = p->s, B = p->blk;
    double *acc = p->acc;
#pragma omp parallel for schedule(static)
    for (int64_t c = 0; c < C; c++) {
        double sums[2];
        chan_sums(p, c, x, dy, y, mean[c], 1.0 / sqrt((double)var[c] + cfg->eps), sums);
        acc[c] = sums[0];
        acc[C + c] = sums[1];
        dbeta[c] = (float)sums[0];
        dgamma[c] = (float)sums[1];
    }
    dob_status st = dob_net_sum(l->net, acc, (size_t)(2 * C));
    if (st != DOB_OK || !l->in_diff[0]) return st;
    float *dx = l->in_diff[0];
    const double inv = 1.0 / p->count;
    /* dx = k (dy - mean(dy) - xhat mean(dy xhat)) = k (dy - mean(dy)) + u (x - mean), k = gamma rstd,
     * u = -k rstd mean(dy xhat): in float, vectorised (the sums above are the double part) */
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < N * C; r++) {
        const int64_t c = r % C, at = chan_at(p, r / C, c);
        const double rstd = 1.0 / sqrt((double)var[c] + cfg->eps), k = gamma[c] * rstd;
        const float kf = (float)k, uf = (float)(-k * rstd * acc[C + c] * inv), mdy = (float)(acc[c] * inv),
                    mu = mean[c];
        const float *xr = x + at, *dr = dy + at, *yr = y ? y + at : NULL;
        float *o = dx + at;
        if (B == 1 && yr)
            for (int64_t i = 0; i < S; i++) o[i] = kf * (relu_mask(yr[i], dr[i]) - mdy) + uf * (xr[i] - mu);
        else if (B == 1)
            for (int64_t i = 0; i < S; i++) o[i] = kf * (dr[i] - mdy) + uf * (xr[i] - mu);
        else
            for (int64_t i = 0; i < S; i++) o[i * B] = kf * (masked(yr, dr, i * B) - mdy) + uf * (xr[i * B] - mu);
    }
    return DOB_OK;
}

static dob_status bnorm_backward(dob_layer *l) {
    dob_status st = DOB_OK;
    bnorm_priv *p = l->priv;
    if (!p->have_stats)
        return DOB_FAIL(DOB_EINVAL, "backward needs a training-mode forward first (the last forward was inference)");
    if (p->hand) return hand_backward(l);
    /* oneDNN 2.6 bwd with use_shift lists SHIFT among its arguments: without it, execute fails with "invalid
     * arguments" */
    dnnl_exec_arg_t args[10] = {{DNNL_ARG_SRC, p->src},           {DNNL_ARG_MEAN, p->mean},
                               {DNNL_ARG_VARIANCE, p->var},      {DNNL_ARG_DIFF_DST, p->diff_dst},
                               {DNNL_ARG_SCALE, p->scale},       {DNNL_ARG_SHIFT, p->shift},
                               {DNNL_ARG_DIFF_SRC, p->diff_src}, {DNNL_ARG_DIFF_SCALE, p->diff_scale},
                               {DNNL_ARG_DIFF_SHIFT, p->diff_shift}, {DNNL_ARG_WORKSPACE, p->ws}};
    DOB_DNNL(dnnl_primitive_execute(p->bwd, dob_net_stream(l->net), p->ws ? 10 : 9, args));
fail:
    return st;
}

static void bnorm_destroy(dob_layer *l) {
    bnorm_priv *p = l->priv;
    free(p->acc);
}

const dob_layer_ops dob_bnorm_ops = {
    .type = "bnorm", .priv_size = sizeof(bnorm_priv), .reserve = bnorm_reserve, .build = bnorm_build,
    .forward = bnorm_forward, .backward = bnorm_backward, .destroy = bnorm_destroy,
    .in_blocked = DOB_IN_BLOCKED_SAME,
};

dob_status dob_net_bnorm(dob_net *net, const char *name, int in, const dob_bnorm_cfg *cfg, int *out) {
    return dob_net_add(net, &dob_bnorm_ops, name, cfg, sizeof *cfg, 1, &in, out);
}
