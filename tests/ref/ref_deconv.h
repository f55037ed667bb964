/* ref_deconv.h: naive double-precision 2-D transposed convolution (NCHW input, weights OC,IC,KH,KW) with TF's
 * conv2d_transpose SAME/VALID output sizes, for tests. Written as the scatter TF's definition gives (each input
 * pixel adds its kernel-weighted copy into the output), independently of the layer's gather-based primitive. */
#ifndef DOB_REF_DECONV_H
#define DOB_REF_DECONV_H

#include "ref_conv.h"

/** The geometry of the transposed convolution: its input is ref_conv's input (n, ic, h, w), oc its output
 *  channels, the kernel, strides, padding and ReLU as a forward convolution's. */
typedef ref_conv ref_deconv;

/** Output size and leading (top/left) padding (the padding the equivalent forward convolution would take). */
void ref_deconv_geom(const ref_deconv *c, int64_t *oh, int64_t *ow, int64_t *pt, int64_t *pl);
/** y [n,oc,oh,ow] = act(deconv(x [n,ic,h,w], w [oc,ic,kh,kw]) + b [oc]); b may be NULL; pre (may be NULL)
 *  receives the pre-activation in double. */
void ref_deconv_forward(const ref_deconv *c, const float *x, const float *w, const float *b, float *y, double *pre);
/** Gradients of sum(dy * y): dx [n,ic,h,w], dw [oc,ic,kh,kw], db [oc] (each may be NULL); overwrites. */
void ref_deconv_backward(const ref_deconv *c, const float *x, const float *w, const float *b, const float *dy,
                         float *dx, float *dw, float *db);

#endif
