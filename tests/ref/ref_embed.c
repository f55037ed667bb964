/* ref_embed.c: see ref_embed.h. */
#include "ref_embed.h"

#include <stdlib.h>

void ref_embed_forward(const float *ids, int64_t np, const float *w, int64_t e, float *y) {
    for (int64_t p = 0; p < np; p++)
        for (int64_t j = 0; j < e; j++) y[p * e + j] = w[(int64_t)ids[p] * e + j];
}

void ref_embed_backward(const float *ids, int64_t np, const float *dy, int64_t v, int64_t e, float *dw) {
    double *acc = calloc((size_t)(v * e), sizeof *acc);
    for (int64_t p = 0; p < np; p++)
        for (int64_t j = 0; j < e; j++) acc[(int64_t)ids[p] * e + j] += dy[p * e + j];
    for (int64_t i = 0; i < v * e; i++) dw[i] = (float)acc[i];
    free(acc);
}
