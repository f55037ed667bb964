/* ref_dense.h: naive double-precision reference of the dense layer (tests only). */
#ifndef DOB_REF_DENSE_H
#define DOB_REF_DENSE_H

#include <stdint.h>

#include "dob/layers.h"

/** y[n,o] = act(sum_i x[n,i] w[o,i] + b[o]); x (N, IN), w (OUT, IN) oi, b (OUT) or NULL, y (N, OUT).
 *  z (N, OUT) receives the pre-activation when not NULL. */
void ref_dense_forward(const float *x, const float *w, const float *b, int64_t n, int64_t in_f, int64_t out_f,
                       dob_act_kind act, float *y, double *z);
/** From dy (N, OUT) and the forward's y: dx (N, IN) (if not NULL), dw (OUT, IN), db (OUT) (if not NULL). */
void ref_dense_backward(const float *x, const float *w, const float *y, const float *dy, int64_t n, int64_t in_f,
                        int64_t out_f, dob_act_kind act, float *dx, float *dw, float *db);

#endif
