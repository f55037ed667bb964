/* ref_conv.h: naive double-precision 2-D convolution (NCHW, OIHW) with TF SAME/VALID padding, for tests.
 * Computes its own padding (independent of dob_pad_out) and recomputes the pre-activation for the ReLU mask. */
#ifndef DOB_REF_CONV_H
#define DOB_REF_CONV_H

#include <stdint.h>

typedef struct ref_conv {
    int64_t n, ic, h, w;    /* input N,C,H,W */
    int64_t oc, kh, kw, sh, sw;
    int same;               /* 1 = TF SAME, 0 = VALID */
    int relu;               /* fused ReLU on the output */
} ref_conv;

/** Output size and leading (top/left) padding. */
void ref_conv_geom(const ref_conv *c, int64_t *oh, int64_t *ow, int64_t *pt, int64_t *pl);
/** y [n,oc,oh,ow] = act(conv(x [n,ic,h,w], w [oc,ic,kh,kw]) + b [oc]); b may be NULL. pre (may be NULL)
 *  receives the pre-activation in double. */
void ref_conv_forward(const ref_conv *c, const float *x, const float *w, const float *b, float *y, double *pre);
/** Gradients of sum(dy * y): dx [n,ic,h,w], dw [oc,ic,kh,kw], db [oc] (each may be NULL); overwrites. */
void ref_conv_backward(const ref_conv *c, const float *x, const float *w, const float *b, const float *dy,
                       float *dx, float *dw, float *db);

#endif
