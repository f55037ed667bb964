/* ref_bnorm.c: naive loops in double for batch normalisation; see ref_bnorm.h. */
#include "ref_bnorm.h"

#include <math.h>

static void stats(const float *x, int64_t n, int64_t c, int64_t s, int64_t ch, double *m, double *v) {
    double s1 = 0, s2 = 0, cnt = (double)(n * s);
    for (int64_t i = 0; i < n; i++)
        for (int64_t k = 0; k < s; k++) s1 += x[(i * c + ch) * s + k];
    *m = s1 / cnt;
    for (int64_t i = 0; i < n; i++)
        for (int64_t k = 0; k < s; k++) {
            double d = x[(i * c + ch) * s + k] - *m;
            s2 += d * d;
        }
    *v = s2 / cnt;
}

void ref_bnorm_train(const float *x, const float *gamma, const float *beta, int64_t n, int64_t c, int64_t s,
                     double eps, float *y, double *mean, double *var) {
    for (int64_t ch = 0; ch < c; ch++) {
        double m, v;
        stats(x, n, c, s, ch, &m, &v);
        if (mean) mean[ch] = m;
        if (var) var[ch] = v;
        for (int64_t i = 0; i < n; i++)
            for (int64_t k = 0; k < s; k++) {
                int64_t j = (i * c + ch) * s + k;
                y[j] = (float)(gamma[ch] * (x[j] - m) / sqrt(v + eps) + beta[ch]);
            }
    }
}

void ref_bnorm_infer(const float *x, const float *gamma, const float *beta, const float *mean, const float *var,
                     int64_t n, int64_t c, int64_t s, double eps, float *y) {
    for (int64_t i = 0; i < n; i++)
        for (int64_t ch = 0; ch < c; ch++)
            for (int64_t k = 0; k < s; k++) {
                int64_t j = (i * c + ch) * s + k;
                y[j] = (float)(gamma[ch] * (x[j] - (double)mean[ch]) / sqrt((double)var[ch] + eps) + beta[ch]);
            }
}

void ref_bnorm_backward(const float *x, const float *gamma, const float *dy, int64_t n, int64_t c, int64_t s,
                        double eps, float *dx, float *dgamma, float *dbeta) {
    double cnt = (double)(n * s);
    for (int64_t ch = 0; ch < c; ch++) {
        double m, v;
        stats(x, n, c, s, ch, &m, &v);
        double rstd = 1.0 / sqrt(v + eps), sdy = 0, sdyx = 0;
        for (int64_t i = 0; i < n; i++)
            for (int64_t k = 0; k < s; k++) {
                int64_t j = (i * c + ch) * s + k;
                sdy += dy[j];
                sdyx += dy[j] * (x[j] - m) * rstd;
            }
        dgamma[ch] = (float)sdyx;
        dbeta[ch] = (float)sdy;
        if (!dx) continue;
        for (int64_t i = 0; i < n; i++)
            for (int64_t k = 0; k < s; k++) {
                int64_t j = (i * c + ch) * s + k;
                dx[j] = (float)(gamma[ch] * rstd * (dy[j] - sdy / cnt - (x[j] - m) * rstd * sdyx / cnt));
            }
    }
}
