/* ref_deconv.c: see ref_deconv.h. Plain loops, no OpenMP. */
#include "ref_deconv.h"

#include <stdlib.h>

/* TF conv2d_transpose: SAME out = in * s; VALID out = in * s + max(k - s, 0). The taps of input pixel i land on
 * output rows i * s - lead + a (a < k), lead = floor(max((in - 1) s + k - out, 0) / 2), out-of-range rows cut. */
static void geom1(int64_t in, int64_t k, int64_t s, int same, int64_t *out, int64_t *lead) {
    *out = same ? in * s : in * s + (k > s ? k - s : 0);
    int64_t total = same ? (in - 1) * s + k - *out : 0;
    *lead = total > 0 ? total / 2 : 0;
}

void ref_deconv_geom(const ref_deconv *c, int64_t *oh, int64_t *ow, int64_t *pt, int64_t *pl) {
    geom1(c->h, c->kh, c->sh, c->same, oh, pt);
    geom1(c->w, c->kw, c->sw, c->same, ow, pl);
}

void ref_deconv_forward(const ref_deconv *c, const float *x, const float *w, const float *b, float *y,
                        double *pre) {
    int64_t oh, ow, pt, pl;
    ref_deconv_geom(c, &oh, &ow, &pt, &pl);
    size_t ny = (size_t)(c->n * c->oc * oh * ow);
    double *acc = calloc(ny, sizeof *acc);
    for (int64_t n = 0; n < c->n; n++)
        for (int64_t ci = 0; ci < c->ic; ci++)
            for (int64_t i = 0; i < c->h; i++)
                for (int64_t j = 0; j < c->w; j++) {
                    double xv = x[((n * c->ic + ci) * c->h + i) * c->w + j];
                    for (int64_t o = 0; o < c->oc; o++)
                        for (int64_t a = 0; a < c->kh; a++)
                            for (int64_t e = 0; e < c->kw; e++) {
                                int64_t yi = i * c->sh - pt + a, yj = j * c->sw - pl + e;
                                if (yi < 0 || yi >= oh || yj < 0 || yj >= ow) continue;
                                acc[((n * c->oc + o) * oh + yi) * ow + yj] +=
                                    xv * w[((o * c->ic + ci) * c->kh + a) * c->kw + e];
                            }
                }
    for (size_t k = 0; k < ny; k++) {
        double s = acc[k] + (b ? b[(k / (size_t)(oh * ow)) % (size_t)c->oc] : 0.0);
        if (pre) pre[k] = s;
        y[k] = (float)(c->relu && s < 0 ? 0.0 : s);
    }
    free(acc);
}

void ref_deconv_backward(const ref_deconv *c, const float *x, const float *w, const float *b, const float *dy,
                         float *dx, float *dw, float *db) {
    int64_t oh, ow, pt, pl;
    ref_deconv_geom(c, &oh, &ow, &pt, &pl);
    size_t ny = (size_t)(c->n * c->oc * oh * ow), nx = (size_t)(c->n * c->ic * c->h * c->w);
    size_t nw = (size_t)(c->oc * c->ic * c->kh * c->kw);
    double *pre = malloc(ny * sizeof *pre), *g = malloc(ny * sizeof *g);
    double *gx = calloc(nx, sizeof *gx), *gw = calloc(nw, sizeof *gw), *gb = calloc((size_t)c->oc, sizeof *gb);
    float *y = malloc(ny * sizeof *y);
    ref_deconv_forward(c, x, w, b, y, pre);
    for (size_t k = 0; k < ny; k++) {
        g[k] = (c->relu && pre[k] <= 0) ? 0.0 : dy[k];
        gb[(k / (size_t)(oh * ow)) % (size_t)c->oc] += g[k];
    }
    for (int64_t n = 0; n < c->n; n++)
        for (int64_t ci = 0; ci < c->ic; ci++)
            for (int64_t i = 0; i < c->h; i++)
                for (int64_t j = 0; j < c->w; j++) {
                    int64_t xi = ((n * c->ic + ci) * c->h + i) * c->w + j;
                    for (int64_t o = 0; o < c->oc; o++)
                        for (int64_t a = 0; a < c->kh; a++)
                            for (int64_t e = 0; e < c->kw; e++) {
                                int64_t yi = i * c->sh - pt + a, yj = j * c->sw - pl + e;
                                if (yi < 0 || yi >= oh || yj < 0 || yj >= ow) continue;
                                int64_t yk = ((n * c->oc + o) * oh + yi) * ow + yj;
                                int64_t wk = ((o * c->ic + ci) * c->kh + a) * c->kw + e;
                                gx[xi] += g[yk] * w[wk];
                                gw[wk] += g[yk] * x[xi];
                            }
                }
    if (dx)
        for (size_t i = 0; i < nx; i++) dx[i] = (float)gx[i];
    if (dw)
        for (size_t i = 0; i < nw; i++) dw[i] = (float)gw[i];
    if (db)
        for (int64_t i = 0; i < c->oc; i++) db[i] = (float)gb[i];
    free(pre);
    free(g);
    free(gx);
    free(gw);
    free(gb);
    free(y);
}
