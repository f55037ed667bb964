/* bnorm.c: batch normalisation per channel (dim 1) over N and the spatial dims, TF semantics.
 *
 *   training   mean, var = batch statistics over N,H,W (var biased), y = gamma (x - mean) / sqrt(var + eps) + beta
 *              moving_mean     -= (1 - momentum) (moving_mean - mean)                      (TF assign_moving_average)
 *              moving_variance -= (1 - momentum) (moving_variance - var * n / (n - 1))    4-D input
 *              moving_variance -= (1 - momentum) (moving_variance - var)                  2-D, 3-D, 5-D input
 *   inference  the same with moving_mean / moving_variance (oneDNN use_global_stats)
 *   backward   (after a training forward) dx = gamma rstd (dy - mean(dy) - xhat mean(dy xhat)),
 *              d gamma = sum dy xhat, d beta = sum dy, with xhat = (x - mean) rstd, rstd = 1 / sqrt(var + eps);
 *              OVERWRITES in_diff[0] and the gamma/beta grads.
 * Shapes: x, y (N, C, ...) plain; gamma, beta (C) trainable, no L2; moving_mean, moving_variance (C) arena buffers
 * (DOB_PARAM_BUFFER: saved in checkpoints, never seen by optimizers). Saved for backward: x, and the batch mean and
 * variance of the last training forward (p->mean_buf, p->var_buf).
 *
 * The Bessel factor: tf.layers.batch_normalization (TF 1.x, DeepOBS) uses the fused kernel exactly for rank-4
 * inputs; FusedBatchNorm returns the batch variance times n/(n-1) (rest_size_adjust, factor 1 when n = 1), and
 * with _bessels_correction_test_only (the default) that corrected value feeds the moving variance, while the
 * normalisation itself uses the biased variance. Other ranks take TF's non-fused path (nn.moments: biased).
 * deepobs.md §1.3 lists this as UNVERIFIED; the TF sources (fused_batch_norm_op.cc, keras normalization.py) say
 * so, and n is the global count with sync-BN.
 *
 * Sync-BN: when the net has a sum hook (data-parallel --sync-bn), the statistics are global: per-channel sum and
 * sum of squares in double (each channel summed in one fixed order by one thread: thread-count independent) and
 * the count are summed over ranks with dob_net_sum, oneDNN normalises with them (use_global_stats), and backward is
 * a hand loop whose mean(dy) and mean(dy xhat) are summed over ranks too. d gamma / d beta stay local sums: the
 * gradient all-reduce adds them over ranks afterwards.
 * Does not: fuse a ReLU, or support a backward after an inference-mode forward (DOB_EINVAL). */
#include "dnnl_util.h"
#include "dob/layers.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { P_GAMMA, P_BETA, P_MEAN, P_VAR };

typedef struct bnorm_priv {
    int64_t n, c, s;            /* batch, channels, elements per channel per example (H*W; 1 for 2-D) */
    dnnl_primitive_t fwd_train, fwd_inf, bwd;
    dnnl_memory_t src, dst, scale, shift, mean, var, mmean, mvar, diff_dst, diff_src, diff_scale, diff_shift;
    float *mean_buf, *var_buf;  /* (C) batch statistics of the last training forward; owned by mean / var */
    double *acc;                /* (2C + 1) sync-BN sums */
    double count;               /* elements per channel behind the batch statistics (global with sync-BN) */
    int have_stats;             /* the last forward was in training mode: backward may run */
    int synced;                 /* the last training forward used global statistics */
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
    DOB_DNNL(dob_md_plain(&md, x->ndim, x->dims));
    DOB_DNNL(dob_md_plain(&cmd, 1, &p->c));
    const unsigned ss = dnnl_use_scale | dnnl_use_shift;
    dnnl_batch_normalization_desc_t td, id, bd;
    DOB_DNNL(dnnl_batch_normalization_forward_desc_init(&td, dnnl_forward_training, &md, c->eps, ss));
    DOB_DNNL(dnnl_primitive_desc_create(&tpd, &td, NULL, eng, NULL));
    DOB_DNNL(dob_own_primitive(l, &p->fwd_train, tpd));
    DOB_DNNL(dnnl_batch_normalization_forward_desc_init(&id, dnnl_forward_inference, &md, c->eps,
                                                        ss | dnnl_use_global_stats));
    DOB_DNNL(dnnl_primitive_desc_create(&ipd, &id, NULL, eng, NULL));
    DOB_DNNL(dob_own_primitive(l, &p->fwd_inf, ipd));
    DOB_DNNL(dnnl_batch_normalization_backward_desc_init(&bd, dnnl_backward, &md, &md, c->eps, ss));
    DOB_DNNL(dnnl_primitive_desc_create(&bpd, &bd, NULL, eng, tpd));
    DOB_DNNL(dob_own_primitive(l, &p->bwd, bpd));

    DOB_DNNL(dob_own_memory(l, &p->src, &md, eng, x->data));
    DOB_DNNL(dob_own_memory(l, &p->dst, &md, eng, l->out->data));
    DOB_DNNL(dob_own_memory(l, &p->diff_dst, &md, eng, l->out->diff));
    /* bwd always writes diff_src: give it scratch when nobody needs d loss / d x */
    DOB_DNNL(dob_own_memory(l, &p->diff_src, &md, eng, l->in_diff[0] ? (void *)l->in_diff[0] : DNNL_MEMORY_ALLOCATE));
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

/* Sync-BN: global per-channel mean and biased variance into mean_buf/var_buf, global count into p->count. */
static dob_status global_stats(dob_layer *l) {
    bnorm_priv *p = l->priv;
    const float *x = l->in[0]->data;
    const int64_t N = p->n, C = p->c, S = p->s;
    double *acc = p->acc;
#pragma omp parallel for schedule(static)
    for (int64_t c = 0; c < C; c++) {
        double s1 = 0.0, s2 = 0.0;
        for (int64_t n = 0; n < N; n++) {
            const float *xc = x + (n * C + c) * S;
            for (int64_t i = 0; i < S; i++) {
                s1 += xc[i];
                s2 += (double)xc[i] * xc[i];
            }
        }
        acc[c] = s1;
        acc[C + c] = s2;
    }
    acc[2 * C] = (double)(N * S);
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
    dnnl_exec_arg_t args[6] = {{DNNL_ARG_SRC, p->src},     {DNNL_ARG_DST, p->dst},
                               {DNNL_ARG_SCALE, p->scale}, {DNNL_ARG_SHIFT, p->shift},
                               {DNNL_ARG_MEAN, p->mean},   {DNNL_ARG_VARIANCE, p->var}};
    p->synced = dob_net_has_sum_hook(l->net);
    if (p->synced) {
        DOB_TRY(global_stats(l));
        DOB_DNNL(dnnl_primitive_execute(p->fwd_inf, s, 6, args));
    } else {
        p->count = (double)(p->n * p->s);
        DOB_DNNL(dnnl_primitive_execute(p->fwd_train, s, 6, args));
    }
    update_moving(l);
    p->have_stats = 1;
fail:
    return st;
}

/* Sync-BN backward by hand: global mean(dy) and mean(dy xhat), local d gamma / d beta. */
static dob_status sync_backward(dob_layer *l) {
    bnorm_priv *p = l->priv;
    const dob_bnorm_cfg *cfg = l->cfg;
    const float *x = l->in[0]->data, *dy = l->out->diff, *gamma = dob_arena_param(l->arena, l->param[P_GAMMA]);
    float *dgamma = dob_arena_grad(l->arena, l->param[P_GAMMA]), *dbeta = dob_arena_grad(l->arena, l->param[P_BETA]);
    const float *mean = p->mean_buf, *var = p->var_buf;
    const int64_t N = p->n, C = p->c, S = p->s;
    double *acc = p->acc;
#pragma omp parallel for schedule(static)
    for (int64_t c = 0; c < C; c++) {
        const double mu = mean[c], rstd = 1.0 / sqrt((double)var[c] + cfg->eps);
        double sdy = 0.0, sdyx = 0.0;
        for (int64_t n = 0; n < N; n++) {
            const float *xc = x + (n * C + c) * S, *dc = dy + (n * C + c) * S;
            for (int64_t i = 0; i < S; i++) {
                sdy += dc[i];
                sdyx += dc[i] * ((xc[i] - mu) * rstd);
            }
        }
        acc[c] = sdy;
        acc[C + c] = sdyx;
        dbeta[c] = (float)sdy;
        dgamma[c] = (float)sdyx;
    }
    dob_status st = dob_net_sum(l->net, acc, (size_t)(2 * C));
    if (st != DOB_OK || !l->in_diff[0]) return st;
    float *dx = l->in_diff[0];
    const double inv = 1.0 / p->count;
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < N * C; r++) {
        const int64_t c = r % C;
        const double mu = mean[c], rstd = 1.0 / sqrt((double)var[c] + cfg->eps), k = gamma[c] * rstd;
        const double mdy = acc[c] * inv, mdyx = acc[C + c] * inv;
        const float *xr = x + r * S, *dr = dy + r * S;
        float *o = dx + r * S;
        for (int64_t i = 0; i < S; i++) o[i] = (float)(k * (dr[i] - mdy - (xr[i] - mu) * rstd * mdyx));
    }
    return DOB_OK;
}

static dob_status bnorm_backward(dob_layer *l) {
    dob_status st = DOB_OK;
    bnorm_priv *p = l->priv;
    if (!p->have_stats)
        return DOB_FAIL(DOB_EINVAL, "backward needs a training-mode forward first (the last forward was inference)");
    if (p->synced) return sync_backward(l);
    /* oneDNN 2.6 bwd with use_shift lists SHIFT among its arguments: without it, execute fails with "invalid
     * arguments" */
    dnnl_exec_arg_t args[9] = {{DNNL_ARG_SRC, p->src},           {DNNL_ARG_MEAN, p->mean},
                               {DNNL_ARG_VARIANCE, p->var},      {DNNL_ARG_DIFF_DST, p->diff_dst},
                               {DNNL_ARG_SCALE, p->scale},       {DNNL_ARG_SHIFT, p->shift},
                               {DNNL_ARG_DIFF_SRC, p->diff_src}, {DNNL_ARG_DIFF_SCALE, p->diff_scale},
                               {DNNL_ARG_DIFF_SHIFT, p->diff_shift}};
    DOB_DNNL(dnnl_primitive_execute(p->bwd, dob_net_stream(l->net), 9, args));
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
};

dob_status dob_net_bnorm(dob_net *net, const char *name, int in, const dob_bnorm_cfg *cfg, int *out) {
    return dob_net_add(net, &dob_bnorm_ops, name, cfg, sizeof *cfg, 1, &in, out);
}
