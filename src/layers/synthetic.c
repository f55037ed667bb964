/* synthetic.c: the two "nets" of DeepOBS's synthetic problems, each producing the per-example loss itself
 * (output [N x 1], used with DOB_LOSS_IDENTITY). Hand-written, in double, one example per row.
 *
 * quadratic (quadratic_deep, DeepOBS §3.11): parameter theta [dim], input x [N x dim];
 *   out_i = 0.5 (theta - x_i)^T H (theta - x_i), H symmetric [dim x dim] from cfg->make, rounded to float32 as TF
 *   holds it (tf.convert_to_tensor(hessian, float32)); the products are taken in double.
 *   Saved for backward: g_i = H (theta - x_i). d theta = sum_i dout_i g_i, d x_i = -dout_i g_i.
 * two_d (two_d_rosenbrock/beale/branin, §3.12): parameters u ("weight") and v ("bias"), scalars; input (x_i, y_i);
 *   out_i = f(u, v) + u x_i + v y_i. du = sum_i dout_i (f_u + x_i), dv = sum_i dout_i (f_v + y_i),
 *   d(x_i, y_i) = dout_i (u, v).
 * Sums over the batch run in index order on one thread (N x dim is tiny): thread-count independent.
 * Does not: regularise (no L2 in these problems) or keep anything between steps. */
#include "dob/layer.h"
#include "dob/layers.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PI_D 3.14159265358979323846

/* ---- quadratic ------------------------------------------------------------------------------------------ */

typedef struct quad_priv {
    double *h;   /* [dim x dim], float32-rounded */
    double *g;   /* [N x dim]: H (theta - x_i) of the last forward */
} quad_priv;

static dob_status quad_reserve(dob_layer *l, dob_arena *a) {
    const dob_quadratic_cfg *c = l->cfg;
    const dob_tensor *x = l->in[0];
    if (c->dim < 1 || !c->make) return DOB_FAIL(DOB_EINVAL, "quadratic: expected dim >= 1 and a Hessian maker");
    if (x->ndim != 2 || x->dims[1] != c->dim)
        return DOB_FAIL(DOB_EINVAL, "quadratic: expected inputs of %lld values, found %lld", (long long)c->dim,
                        x->ndim == 2 ? (long long)x->dims[1] : -1LL);
    dob_status st = dob_layer_param(l, a, "theta", 1, &c->dim, c->dim, c->dim, c->theta_init, 0u, NULL);
    if (st != DOB_OK) return st;
    l->out->ndim = 2;
    l->out->dims[1] = 1;
    return DOB_OK;
}

static dob_status quad_build(dob_layer *l, int64_t batch) {
    const dob_quadratic_cfg *c = l->cfg;
    quad_priv *p = l->priv;
    const size_t d = (size_t)c->dim;
    p->h = malloc(d * d * sizeof *p->h);
    p->g = malloc((size_t)batch * d * sizeof *p->g);
    if (!p->h || !p->g) return DOB_FAIL(DOB_ENOMEM, "quadratic: out of memory for a %zu x %zu Hessian", d, d);
    c->make(p->h, c->dim);
    for (size_t i = 0; i < d * d; i++) p->h[i] = (double)(float)p->h[i];
    return DOB_OK;
}

static dob_status quad_forward(dob_layer *l, int training) {
    (void)training;
    const dob_quadratic_cfg *c = l->cfg;
    quad_priv *p = l->priv;
    const int64_t n = l->in[0]->dims[0], d = c->dim;
    const float *theta = dob_arena_param(l->arena, l->param[0]), *x = l->in[0]->data;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) {
        /* g = H (theta - x_i) as a sum of rows of the symmetric H: the inner loop has no reduction and
         * vectorises (a row-times-vector dot product would be one long dependency chain) */
        double *g = p->g + i * d, s = 0.0;
        for (int64_t r = 0; r < d; r++) g[r] = 0.0;
        for (int64_t k = 0; k < d; k++) {
            const double dk = (double)theta[k] - x[i * d + k], *hk = p->h + k * d;
            for (int64_t r = 0; r < d; r++) g[r] += dk * hk[r];
        }
        for (int64_t r = 0; r < d; r++) s += ((double)theta[r] - x[i * d + r]) * g[r];
        l->out->data[i] = (float)(0.5 * s);
    }
    return DOB_OK;
}

static dob_status quad_backward(dob_layer *l) {
    const dob_quadratic_cfg *c = l->cfg;
    quad_priv *p = l->priv;
    const int64_t n = l->in[0]->dims[0], d = c->dim;
    float *dtheta = dob_arena_grad(l->arena, l->param[0]);
    const float *dout = l->out->diff;
    for (int64_t k = 0; k < d; k++) {
        double s = 0.0;
        for (int64_t i = 0; i < n; i++) s += (double)dout[i] * p->g[i * d + k];
        dtheta[k] = (float)s;
    }
    if (l->in_diff[0])
        for (int64_t i = 0; i < n * d; i++) l->in_diff[0][i] = (float)(-(double)dout[i / d] * p->g[i]);
    return DOB_OK;
}

static void quad_destroy(dob_layer *l) {
    quad_priv *p = l->priv;
    free(p->h);
    free(p->g);
}

const dob_layer_ops dob_quadratic_ops = {
    .type = "quadratic", .priv_size = sizeof(quad_priv), .reserve = quad_reserve, .build = quad_build,
    .forward = quad_forward, .backward = quad_backward, .destroy = quad_destroy,
};

dob_status dob_net_quadratic(dob_net *net, const char *name, int in, const dob_quadratic_cfg *cfg, int *out) {
    return dob_net_add(net, &dob_quadratic_ops, name, cfg, sizeof *cfg, 1, &in, out);
}

/* ---- two_d ---------------------------------------------------------------------------------------------- */

/* f(u, v) and its partial derivatives. */
static void two_d_f(dob_two_d_kind k, double u, double v, double *f, double *fu, double *fv) {
    if (k == DOB_TWO_D_ROSENBROCK) {
        *f = (1 - u) * (1 - u) + 100 * (v - u * u) * (v - u * u);
        *fu = -2 * (1 - u) - 400 * u * (v - u * u);
        *fv = 200 * (v - u * u);
    } else if (k == DOB_TWO_D_BEALE) {
        static const double cst[3] = {1.5, 2.25, 2.625};
        double vk = 1.0;
        *f = *fu = *fv = 0.0;
        for (int j = 1; j <= 3; j++) {
            const double dvk = j * vk; /* d v^j / dv = j v^(j-1) */
            vk *= v;
            const double r = cst[j - 1] - u + u * vk;
            *f += r * r;
            *fu += 2 * r * (vk - 1);
            *fv += 2 * r * u * dvk;
        }
    } else {
        const double a = 1.0, b = 5.1 / (4 * PI_D * PI_D), c = 5 / PI_D, r = 6.0, s = 10.0, t = 1 / (8 * PI_D);
        const double q = v - b * u * u + c * u - r;
        *f = a * q * q + s * (1 - t) * cos(u) + s;
        *fu = 2 * a * q * (-2 * b * u + c) - s * (1 - t) * sin(u);
        *fv = 2 * a * q;
    }
}

static dob_status two_d_reserve(dob_layer *l, dob_arena *a) {
    const dob_two_d_cfg *c = l->cfg;
    const dob_tensor *x = l->in[0];
    if (c->kind < DOB_TWO_D_ROSENBROCK || c->kind > DOB_TWO_D_BRANIN)
        return DOB_FAIL(DOB_EINVAL, "two_d: unknown function kind %d", (int)c->kind);
    if (x->ndim != 2 || x->dims[1] != 2)
        return DOB_FAIL(DOB_EINVAL, "two_d: expected inputs of 2 values (x, y), found %lld",
                        x->ndim == 2 ? (long long)x->dims[1] : -1LL);
    const int64_t one = 1;
    dob_status st = dob_layer_param(l, a, "weight", 1, &one, 1, 1, (dob_init){DOB_INIT_CONST, c->u0, 0}, 0u, NULL);
    if (st == DOB_OK)
        st = dob_layer_param(l, a, "bias", 1, &one, 1, 1, (dob_init){DOB_INIT_CONST, c->v0, 0}, 0u, NULL);
    l->out->ndim = 2;
    l->out->dims[1] = 1;
    return st;
}

static dob_status two_d_build(dob_layer *l, int64_t batch) {
    (void)l, (void)batch;
    return DOB_OK;
}

static dob_status two_d_forward(dob_layer *l, int training) {
    (void)training;
    const dob_two_d_cfg *c = l->cfg;
    const double u = *dob_arena_param(l->arena, l->param[0]), v = *dob_arena_param(l->arena, l->param[1]);
    double f, fu, fv;
    two_d_f(c->kind, u, v, &f, &fu, &fv);
    const float *x = l->in[0]->data;
    for (int64_t i = 0; i < l->in[0]->dims[0]; i++) l->out->data[i] = (float)(f + u * x[2 * i] + v * x[2 * i + 1]);
    return DOB_OK;
}

static dob_status two_d_backward(dob_layer *l) {
    const dob_two_d_cfg *c = l->cfg;
    const double u = *dob_arena_param(l->arena, l->param[0]), v = *dob_arena_param(l->arena, l->param[1]);
    double f, fu, fv, du = 0.0, dv = 0.0;
    two_d_f(c->kind, u, v, &f, &fu, &fv);
    const float *x = l->in[0]->data, *dout = l->out->diff;
    const int64_t n = l->in[0]->dims[0];
    for (int64_t i = 0; i < n; i++) {
        du += dout[i] * (fu + x[2 * i]);
        dv += dout[i] * (fv + x[2 * i + 1]);
    }
    *dob_arena_grad(l->arena, l->param[0]) = (float)du;
    *dob_arena_grad(l->arena, l->param[1]) = (float)dv;
    if (l->in_diff[0])
        for (int64_t i = 0; i < n; i++) {
            l->in_diff[0][2 * i] = (float)(dout[i] * u);
            l->in_diff[0][2 * i + 1] = (float)(dout[i] * v);
        }
    return DOB_OK;
}

static void two_d_destroy(dob_layer *l) { (void)l; }

const dob_layer_ops dob_two_d_ops = {
    .type = "two_d", .priv_size = 1, .reserve = two_d_reserve, .build = two_d_build,
    .forward = two_d_forward, .backward = two_d_backward, .destroy = two_d_destroy,
};

dob_status dob_net_two_d(dob_net *net, const char *name, int in, const dob_two_d_cfg *cfg, int *out) {
    return dob_net_add(net, &dob_two_d_ops, name, cfg, sizeof *cfg, 1, &in, out);
}
