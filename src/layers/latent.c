/* latent.c: the Gaussian latent of a VAE (DeepOBS _vae.py): reparameterised sampling and the KL term.
 *
 * Both read in[0] = mean [N, L] and in[1] = r [N, L], the raw output of the dense layer whose `scale` multiple is
 * the log standard deviation s = scale * r (DeepOBS: std_dev = 0.5 * dense(x)).
 *
 * gauss_sample:  z = mean + eps * exp(s), eps ~ N(0, 1)            out [N, L]
 *   backward:    d mean = dz;  d r = dz * eps * exp(s) * scale       (OVERWRITES both in_diffs)
 *   eps is drawn in training AND inference (DeepOBS samples z in every phase, so evaluation losses are
 *   stochastic). eps for element j of example b is normal number (example_offset + b) * L + j of the stream
 *   {seed, DOB_RNG_NOISE, (layer index << 40) | step} of the net context: a pure function of the global example,
 *   so ranks and thread counts draw the same values. The trainer gives evaluation batches their own steps.
 *   Saved for backward: eps * exp(s) (one float per element).
 *
 * gauss_kl:      kl = -0.5 sum_l (1 + 2 s - mean^2 - exp(2 s))      out [N, 1]
 *   backward:    d mean = dkl * mean;  d r = dkl * (exp(2 s) - 1) * scale   (OVERWRITES)
 *   Reads only its inputs (no saved state).
 * Does not: support other priors or learned variances. */
#include "dob/layer.h"
#include "dob/layers.h"
#include "dob/rng.h"

#include <math.h>
#include <stdlib.h>

typedef struct sample_priv {
    float *noise;   /* [N, L]: eps * exp(s) of the last forward = d z / d s */
} sample_priv;

static dob_status check_pair(dob_layer *l) {
    const dob_latent_cfg *c = l->cfg;
    const dob_tensor *m = l->in[0], *r = l->in[1];
    if (m->ndim != 2 || r->ndim != 2 || m->dims[1] != r->dims[1])
        return DOB_FAIL(DOB_EINVAL, "expected mean and log-sigma inputs of equal shape N x L, found %d-D x %lld and "
                        "%d-D x %lld", m->ndim, (long long)m->dims[1], r->ndim, (long long)r->dims[1]);
    if (!(c->scale > 0.0f && isfinite(c->scale)))
        return DOB_FAIL(DOB_EINVAL, "log-sigma scale must be finite and > 0, found %g", (double)c->scale);
    return DOB_OK;
}

// ---- gauss_sample -------------------------------------------------------------------------------------------

static dob_status sample_reserve(dob_layer *l, dob_arena *a) {
    (void)a;
    dob_status st = check_pair(l);
    if (st != DOB_OK) return st;
    l->out->ndim = 2;
    l->out->dims[1] = l->in[0]->dims[1];
    return DOB_OK;
}

static dob_status sample_build(dob_layer *l, int64_t batch) {
    (void)batch;
    sample_priv *p = l->priv;
    if (!(p->noise = malloc(l->out->count * sizeof(float))))
        return DOB_FAIL(DOB_ENOMEM, "cannot allocate %zu floats of noise", l->out->count);
    return DOB_OK;
}

static dob_status sample_forward(dob_layer *l, int training) {
    (void)training; /* sampled in every phase, as DeepOBS */
    sample_priv *p = l->priv;
    const dob_latent_cfg *c = l->cfg;
    const dob_net_ctx *ctx = dob_net_context(l->net);
    const dob_rng rng = {ctx->seed, DOB_RNG_NOISE, ((uint64_t)l->index << 40) | ctx->step};
    const float *mean = l->in[0]->data, *r = l->in[1]->data; /* [N, L] */
    float *z = l->out->data, *noise = p->noise;               /* [N, L] */
    const int64_t n = (int64_t)l->out->count;
    const uint64_t base = ctx->example_offset * (uint64_t)l->out->dims[1];
#pragma omp parallel for schedule(static)
    for (int64_t j = 0; j < n; j++) {
        const double eps = dob_rng_normal(&rng, base + (uint64_t)j);
        noise[j] = (float)(eps * exp((double)c->scale * r[j]));
        z[j] = mean[j] + noise[j];
    }
    return DOB_OK;
}

/* forward: z = mean + eps exp(scale r)  =>  d mean = dz, d r = dz eps exp(scale r) scale */
static dob_status sample_backward(dob_layer *l) {
    const sample_priv *p = l->priv;
    const dob_latent_cfg *c = l->cfg;
    const float *dz = l->out->diff;                 /* [N, L] */
    float *dm = l->in_diff[0], *dr = l->in_diff[1]; /* [N, L] each, may be NULL */
    const int64_t n = (int64_t)l->out->count;
#pragma omp parallel for schedule(static)
    for (int64_t j = 0; j < n; j++) {
        if (dm) dm[j] = dz[j];
        if (dr) dr[j] = dz[j] * p->noise[j] * c->scale;
    }
    return DOB_OK;
}

static void sample_destroy(dob_layer *l) {
    sample_priv *p = l->priv;
    free(p->noise);
}

const dob_layer_ops dob_gauss_sample_ops = {
    .type = "gauss_sample", .priv_size = sizeof(sample_priv), .reserve = sample_reserve, .build = sample_build,
    .forward = sample_forward, .backward = sample_backward, .destroy = sample_destroy,
};

// ---- gauss_kl -----------------------------------------------------------------------------------------------

static dob_status kl_reserve(dob_layer *l, dob_arena *a) {
    (void)a;
    dob_status st = check_pair(l);
    if (st != DOB_OK) return st;
    l->out->ndim = 2;
    l->out->dims[1] = 1;
    return DOB_OK;
}

static dob_status kl_forward(dob_layer *l, int training) {
    (void)training;
    const dob_latent_cfg *c = l->cfg;
    const float *mean = l->in[0]->data, *r = l->in[1]->data; /* [N, L] */
    float *kl = l->out->data;                                 /* [N, 1] */
    const int64_t N = l->out->dims[0], L = l->in[0]->dims[1];
#pragma omp parallel for schedule(static)
    for (int64_t b = 0; b < N; b++) {
        double s = 0.0;
        for (int64_t j = 0; j < L; j++) {
            const double m = mean[b * L + j], ls = (double)c->scale * r[b * L + j];
            s += 1.0 + 2.0 * ls - m * m - exp(2.0 * ls);
        }
        kl[b] = (float)(-0.5 * s);
    }
    return DOB_OK;
}

/* forward: kl = -0.5 sum (1 + 2 s - m^2 - exp(2 s)), s = scale r  =>  d m = dkl m, d r = dkl (exp(2 s) - 1) scale */
static dob_status kl_backward(dob_layer *l) {
    const dob_latent_cfg *c = l->cfg;
    const float *mean = l->in[0]->data, *r = l->in[1]->data; /* [N, L] */
    const float *dkl = l->out->diff;                          /* [N, 1] */
    float *dm = l->in_diff[0], *dr = l->in_diff[1];           /* [N, L] each, may be NULL */
    const int64_t N = l->out->dims[0], L = l->in[0]->dims[1];
#pragma omp parallel for schedule(static)
    for (int64_t b = 0; b < N; b++)
        for (int64_t j = 0; j < L; j++) {
            const int64_t k = b * L + j;
            if (dm) dm[k] = dkl[b] * mean[k];
            if (dr) dr[k] = (float)(dkl[b] * (exp(2.0 * c->scale * r[k]) - 1.0) * c->scale);
        }
    return DOB_OK;
}

const dob_layer_ops dob_gauss_kl_ops = {
    .type = "gauss_kl", .priv_size = 0, .reserve = kl_reserve, .forward = kl_forward, .backward = kl_backward,
};

dob_status dob_net_gauss_sample(dob_net *net, const char *name, int mean, int log_sigma, const dob_latent_cfg *cfg,
                                int *out) {
    return dob_net_add(net, &dob_gauss_sample_ops, name, cfg, sizeof *cfg, 2, (int[]){mean, log_sigma}, out);
}

dob_status dob_net_gauss_kl(dob_net *net, const char *name, int mean, int log_sigma, const dob_latent_cfg *cfg,
                            int *out) {
    return dob_net_add(net, &dob_gauss_kl_ops, name, cfg, sizeof *cfg, 2, (int[]){mean, log_sigma}, out);
}
