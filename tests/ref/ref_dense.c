/* ref_dense.c: naive loops in double for the dense layer; see ref_dense.h. */
#include "ref_dense.h"

#include <math.h>
#include <stdlib.h>

static double act_f(dob_act_kind k, double z) {
    switch (k) {
    case DOB_ACT_RELU: return z > 0 ? z : 0;
    case DOB_ACT_TANH: return tanh(z);
    case DOB_ACT_SIGMOID: return 1.0 / (1.0 + exp(-z));
    default: return z;
    }
}

/* d act / dz expressed through y = act(z) */
static double act_d(dob_act_kind k, double y) {
    switch (k) {
    case DOB_ACT_RELU: return y > 0 ? 1 : 0;
    case DOB_ACT_TANH: return 1 - y * y;
    case DOB_ACT_SIGMOID: return y * (1 - y);
    default: return 1;
    }
}

void ref_dense_forward(const float *x, const float *w, const float *b, int64_t n, int64_t in_f, int64_t out_f,
                       dob_act_kind act, float *y, double *z) {
    for (int64_t i = 0; i < n; i++)
        for (int64_t o = 0; o < out_f; o++) {
            double s = b ? b[o] : 0.0;
            for (int64_t k = 0; k < in_f; k++) s += (double)x[i * in_f + k] * w[o * in_f + k];
            if (z) z[i * out_f + o] = s;
            y[i * out_f + o] = (float)act_f(act, s);
        }
}

void ref_dense_backward(const float *x, const float *w, const float *y, const float *dy, int64_t n, int64_t in_f,
                        int64_t out_f, dob_act_kind act, float *dx, float *dw, float *db) {
    double *dz = malloc((size_t)(n * out_f) * sizeof *dz);
    for (int64_t i = 0; i < n * out_f; i++) dz[i] = dy[i] * act_d(act, y[i]);
    if (dx)
        for (int64_t i = 0; i < n; i++)
            for (int64_t k = 0; k < in_f; k++) {
                double s = 0;
                for (int64_t o = 0; o < out_f; o++) s += dz[i * out_f + o] * w[o * in_f + k];
                dx[i * in_f + k] = (float)s;
            }
    for (int64_t o = 0; o < out_f; o++) {
        for (int64_t k = 0; k < in_f; k++) {
            double s = 0;
            for (int64_t i = 0; i < n; i++) s += dz[i * out_f + o] * x[i * in_f + k];
            dw[o * in_f + k] = (float)s;
        }
        if (db) {
            double s = 0;
            for (int64_t i = 0; i < n; i++) s += dz[i * out_f + o];
            db[o] = (float)s;
        }
    }
    free(dz);
}
