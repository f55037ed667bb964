/* wino.h (internal to src/layers/): dob's own Winograd F(4x4, 3x3) convolution on nChw8c tensors (wino.c), which
 * conv.c runs for --conv-algo winograd where oneDNN 2.6 has no Winograd kernel (AVX2). */
#ifndef DOB_LAYERS_WINO_H
#define DOB_LAYERS_WINO_H

#include <oneapi/dnnl/dnnl.h>
#include <stddef.h>
#include <stdint.h>

/** The name dob_conv_impls gives the passes it runs. */
#define DOB_WINO_IMPL "dob:wino_4x3"

/** One 3x3 stride-1 correlation: src N,IC,H,W -> dst N,OC,OH,OW, both nChw8c (IC, OC multiples of 8), src padded
 *  with pt rows on top and pl columns on the left (and zeros wherever a tap falls outside). */
typedef struct dob_wino {
    int64_t n, ic, oc, h, w, oh, ow, pt, pl;
    int64_t th, tw;  /* 4x4 output tiles down and across one image */
    int64_t chunk;   /* tiles transformed and multiplied per round (bounds the scratch) */
} dob_wino;

/** Fill *k; @return 0 if the shape is not one this kernel takes (channels not multiples of 8, empty). */
int dob_wino_init(dob_wino *k, int64_t n, int64_t ic, int64_t oc, int64_t h, int64_t w, int64_t oh, int64_t ow,
                  int64_t pt, int64_t pl);
/** Floats of scratch dob_wino_run needs (transformed weights, inputs and products). */
size_t dob_wino_scratch(const dob_wino *k);
/** dst = relu?(src * g + bias) with g(i, o) = w[o][i] (flip 0: a forward convolution, w OC,IC,3,3 plain) or the
 *  180-degree rotation of w[i][o] (flip 1: backward data, w IC',OC',3,3 of the forward layer, so k->ic = its OC).
 *  bias (plain, OC floats) may be NULL. scratch: dob_wino_scratch floats. */
dnnl_status_t dob_wino_run(const dob_wino *k, const float *w, int flip, const float *src, float *dst,
                           const float *bias, int relu, float *scratch);
/** Backward weights of the forward pass k describes (src N,IC,H,W and its output gradient ddst N,OC,OH,OW, both
 *  nChw8c): dw (plain OC,IC,3,3) and db (OC floats; NULL: none), both overwritten. scratch as dob_wino_run's. */
dnnl_status_t dob_wino_bwd_w(const dob_wino *k, const float *src, const float *ddst, float *dw, float *db,
                             float *scratch);

#endif
