/* ref_conv.c: see ref_conv.h. Plain loops, no OpenMP: meant to be obviously right, not fast. */
#include "ref_conv.h"

#include <stdlib.h>

/* TF: SAME out = ceil(in / s), total pad = max((out - 1) s + k - in, 0), top/left gets the smaller half;
 * VALID out = ceil((in - k + 1) / s), no padding. */
static void geom1(int64_t in, int64_t k, int64_t s, int same, int64_t *out, int64_t *lead) {
    if (same) {
        *out = (in + s - 1) / s;
        int64_t total = (*out - 1) * s + k - in;
        *lead = total > 0 ? total / 2 : 0;
    } else {
        *out = in >= k ? (in - k + s) / s : 0;
        *lead = 0;
    }
}

void ref_conv_geom(const ref_conv *c, int64_t *oh, int64_t *ow, int64_t *pt, int64_t *pl) {
    geom1(c->h, c->kh, c->sh, c->same, oh, pt);
    geom1(c->w, c->kw, c->sw, c->same, ow, pl);
}

void ref_conv_forward(const ref_conv *c, const float *x, const float *w, const float *b, float *y, double *pre) {
    int64_t oh, ow, pt, pl;
    ref_conv_geom(c, &oh, &ow, &pt, &pl);
    for (int64_t n = 0; n < c->n; n++)
        for (int64_t o = 0; o < c->oc; o++)
            for (int64_t i = 0; i < oh; i++)
                for (int64_t j = 0; j < ow; j++) {
                    double s = b ? b[o] : 0.0;
                    for (int64_t ci = 0; ci < c->ic; ci++)
                        for (int64_t a = 0; a < c->kh; a++)
                            for (int64_t e = 0; e < c->kw; e++) {
                                int64_t hi = i * c->sh - pt + a, wi = j * c->sw - pl + e;
                                if (hi < 0 || hi >= c->h || wi < 0 || wi >= c->w) continue;
                                s += (double)x[((n * c->ic + ci) * c->h + hi) * c->w + wi] *
                                     w[((o * c->ic + ci) * c->kh + a) * c->kw + e];
                            }
                    int64_t k = ((n * c->oc + o) * oh + i) * ow + j;
                    if (pre) pre[k] = s;
                    y[k] = (float)(c->relu && s < 0 ? 0.0 : s);
                }
}

void ref_conv_backward(const ref_conv *c, const float *x, const float *w, const float *b, const float *dy,
                       float *dx, float *dw, float *db) {
    int64_t oh, ow, pt, pl;
    ref_conv_geom(c, &oh, &ow, &pt, &pl);
    size_t ny = (size_t)(c->n * c->oc * oh * ow), nx = (size_t)(c->n * c->ic * c->h * c->w);
    size_t nw = (size_t)(c->oc * c->ic * c->kh * c->kw);
    double *pre = malloc(ny * sizeof *pre), *gx = calloc(nx, sizeof *gx), *gw = calloc(nw, sizeof *gw);
    double *gb = calloc((size_t)c->oc, sizeof *gb);
    float *y = malloc(ny * sizeof *y);
    ref_conv_forward(c, x, w, b, y, pre);
    for (int64_t n = 0; n < c->n; n++)
        for (int64_t o = 0; o < c->oc; o++)
            for (int64_t i = 0; i < oh; i++)
                for (int64_t j = 0; j < ow; j++) {
                    int64_t k = ((n * c->oc + o) * oh + i) * ow + j;
                    double g = (c->relu && pre[k] <= 0) ? 0.0 : dy[k];
                    gb[o] += g;
                    for (int64_t ci = 0; ci < c->ic; ci++)
                        for (int64_t a = 0; a < c->kh; a++)
                            for (int64_t e = 0; e < c->kw; e++) {
                                int64_t hi = i * c->sh - pt + a, wi = j * c->sw - pl + e;
                                if (hi < 0 || hi >= c->h || wi < 0 || wi >= c->w) continue;
                                int64_t xi = ((n * c->ic + ci) * c->h + hi) * c->w + wi;
                                int64_t wk = ((o * c->ic + ci) * c->kh + a) * c->kw + e;
                                gx[xi] += g * w[wk];
                                gw[wk] += g * x[xi];
                            }
                }
    if (dx)
        for (size_t i = 0; i < nx; i++) dx[i] = (float)gx[i];
    if (dw)
        for (size_t i = 0; i < nw; i++) dw[i] = (float)gw[i];
    if (db)
        for (int64_t i = 0; i < c->oc; i++) db[i] = (float)gb[i];
    free(pre);
    free(gx);
    free(gw);
    free(gb);
    free(y);
}
