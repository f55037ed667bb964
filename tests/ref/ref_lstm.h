/* ref_lstm.h: naive double-precision LSTM layer (TF LSTMCell semantics, oneDNN gate order), for tests. */
#ifndef DOB_REF_LSTM_H
#define DOB_REF_LSTM_H

#include <stdint.h>

/** One layer over T steps. x [n,t,c]; wl [c,4,h], wi [h,4,h], b [4,h] with gates (i, f, c~, o) and forget_bias
 *  added to f; h0/c0 [n,h] (NULL = zeros) are the start state; y [n,t,h]; h1/c1 [n,h] (may be NULL) the final one:
 *    g_k = x_t wl[:,k,:] + h_{t-1} wi[:,k,:] + b[k];  c_t = s(g_f + fb) c_{t-1} + s(g_i) tanh(g_c);
 *    h_t = s(g_o) tanh(c_t). */
void ref_lstm_forward(int64_t n, int64_t t, int64_t c, int64_t h, const float *x, const float *wl, const float *wi,
                      const float *b, float forget_bias, const float *h0, const float *c0, float *y, float *h1,
                      float *c1);

#endif
