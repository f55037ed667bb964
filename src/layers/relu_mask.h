/* relu_mask.h (internal to src/layers/): the fused-ReLU backward kernels of conv and deconv (relu_mask.c). */
#ifndef DOB_LAYERS_RELU_MASK_H
#define DOB_LAYERS_RELU_MASK_H

#include <oneapi/dnnl/dnnl.h>
#include <stddef.h>
#include <stdint.h>

/** A 4-D activation layout the mask loops can address: a plain permutation or one channel block. */
typedef struct dob_act_layout {
    int64_t blk, cpad;      /* channel block (1 = none) and channels padded to it */
    int64_t sn, sc, sh, sw; /* element (n, c, h, w) is at n sn + (c / blk) sc + c % blk + h sh + w sw */
} dob_act_layout;

/** Describe md in *l: plain permutations (nchw, nhwc, ...) and a single channel block (nChw8c/16c: "aBcd8b").
 *  @return 1 if md is one of those, else 0. */
int dob_act_layout_of(const dnnl_memory_desc_t *md, dob_act_layout *l);
/** g[i] = dst[i] > 0 ? diff[i] : 0 over n elements of one shared layout. */
void dob_relu_mask(const float *dst, const float *diff, float *g, size_t n);
/** Same, g rounded to bf16 bits. */
void dob_relu_mask_bf16(const float *dst, const float *diff, uint16_t *g, size_t n);
/** Same with dst, diff plain [n, ch, h, w] and g in layout l (its channel padding zeroed). */
void dob_relu_mask_to(const float *dst, const float *diff, float *g, int64_t n, int64_t ch, int64_t h, int64_t w,
                      const dob_act_layout *l);
/** Same with dst, diff in layout s (the propagated one) and g in layout d. */
void dob_relu_mask_relayout(const float *dst, const float *diff, float *g, int64_t n, int64_t ch, int64_t h,
                            int64_t w, const dob_act_layout *s, const dob_act_layout *d);

#endif
