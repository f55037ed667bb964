/* ref_lstm.c: see ref_lstm.h. Plain loops in double. */
#include "ref_lstm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static double sig(double v) { return 1.0 / (1.0 + exp(-v)); }

void ref_lstm_forward(int64_t n, int64_t t, int64_t c, int64_t h, const float *x, const float *wl, const float *wi,
                      const float *b, float forget_bias, const float *h0, const float *c0, float *y, float *h1,
                      float *c1) {
    double *hs = calloc((size_t)(n * h), sizeof *hs), *cs = calloc((size_t)(n * h), sizeof *cs);
    double *hn = malloc((size_t)(n * h) * sizeof *hn), *g = malloc((size_t)(4 * h) * sizeof *g);
    for (int64_t i = 0; i < n * h; i++) {
        hs[i] = h0 ? h0[i] : 0.0;
        cs[i] = c0 ? c0[i] : 0.0;
    }
    for (int64_t s = 0; s < t; s++) {
        for (int64_t e = 0; e < n; e++) {
            for (int64_t k = 0; k < 4 * h; k++) {
                double v = b[k];
                for (int64_t j = 0; j < c; j++) v += (double)x[(e * t + s) * c + j] * wl[j * 4 * h + k];
                for (int64_t j = 0; j < h; j++) v += hs[e * h + j] * wi[j * 4 * h + k];
                g[k] = v;
            }
            for (int64_t u = 0; u < h; u++) {
                double ig = sig(g[u]), fg = sig(g[h + u] + forget_bias), cg = tanh(g[2 * h + u]),
                       og = sig(g[3 * h + u]);
                cs[e * h + u] = fg * cs[e * h + u] + ig * cg;
                hn[e * h + u] = og * tanh(cs[e * h + u]);
                y[(e * t + s) * h + u] = (float)hn[e * h + u];
            }
        }
        memcpy(hs, hn, (size_t)(n * h) * sizeof *hs);
    }
    for (int64_t i = 0; i < n * h; i++) {
        if (h1) h1[i] = (float)hs[i];
        if (c1) c1[i] = (float)cs[i];
    }
    free(hs);
    free(cs);
    free(hn);
    free(g);
}
