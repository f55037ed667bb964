/* imgpre.c: DeepOBS's ImageNet preprocessing (imagenet.py's parse_func, §4.6) for one image at a time, fed row by
 * row as a JPEG decoder emits them (include/dob/data.h):
 *   1. convert_image_dtype: float32 x * (float)(1 / 255.) (TF multiplies by the float32 constant);
 *   2. _aspect_preserving_resize: scale = 256 / shorter side in float32, new side = rint(scale * side) (tf.round
 *      rounds half to even), tf.image.resize_images bilinear with TF1's legacy mapping: dob_resize_taps,
 *      dob_resize_row, dob_resize_cols of src/layers/resize.c, so the very floats of the resize layer;
 *   3. training: resize_image_with_crop_or_pad to 256x256 (centred: crop offset (S - T) / 2, pad offset
 *      (T - S) / 2, zeros), tf.random_crop 224x224 (offsets uniform in 0..32 per axis), random_flip_left_right
 *      (p = 0.5); evaluation: resize_image_with_crop_or_pad to 224x224;
 * in C,H,W order. Per-image standardisation is left to dob_preproc_apply (the trainer applies the problem's).
 * Randomness: words 0, 1, 2 of the Philox stream (seed, DOB_RNG_AUGMENT, key) give the row offset, the column
 * offset and the flip, key = the example's global position in the run (as src/data/augment.c): TF draws from its
 * graph RNG, equal in distribution only.
 * Memory: the first pass keeps only the source rows some output row reads (at most 2 per output row when
 * shrinking), so it never holds the decoded image; buffers grow to the largest image seen and are reused.
 * Does not: decode (io/jpeg.c), colour-distort (DeepOBS's distort_color is off), or standardise. */
#include "dob/data.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dob/layers.h"

void dob_imgpre_size(int64_t h, int64_t w, int64_t *nh, int64_t *nw) {
    const float scale = (float)DOB_IMAGENET_SHORT / (float)(h < w ? h : w);
    *nh = (int64_t)rintf(scale * (float)h);
    *nw = (int64_t)rintf(scale * (float)w);
}

/* Grow buffer i of p to hold `bytes`. */
static int grow(dob_imgpre *p, int i, void **buf, size_t bytes) {
    if (bytes <= p->cap[i]) return 1;
    void *q = realloc(*buf, bytes);
    if (!q) return 0;
    *buf = q;
    p->cap[i] = bytes;
    return 1;
}

/* Mark the source rows the row taps read, number them in order, and point the taps at those numbers. */
static int64_t keep_rows(dob_imgpre *p) {
    for (int64_t r = 0; r < p->h; r++) p->slot[r] = -1;
    for (int64_t i = 0; i < p->nh; i++) p->slot[p->ys[i].lo] = p->slot[p->ys[i].hi] = 0;
    int64_t kept = 0;
    for (int64_t r = 0; r < p->h; r++)
        if (p->slot[r] == 0) p->slot[r] = (int32_t)kept++;
    for (int64_t i = 0; i < p->nh; i++) {
        p->ys[i].lo = p->slot[p->ys[i].lo];
        p->ys[i].hi = p->slot[p->ys[i].hi];
    }
    return kept;
}

dob_status dob_imgpre_begin(dob_imgpre *p, int64_t h, int64_t w) {
    const int64_t lo = h < w ? h : w, hi = h < w ? w : h;
    if (h < 1 || w < 1 || h * w > DOB_IMAGENET_MAX_PIXELS || hi > DOB_IMAGENET_MAX_ASPECT * lo)
        return DOB_FAIL(DOB_EFORMAT, "image of %lldx%lld pixels: expected at most %lld pixels and sides within "
                        "%d:1", (long long)w, (long long)h, (long long)DOB_IMAGENET_MAX_PIXELS,
                        DOB_IMAGENET_MAX_ASPECT);
    p->h = h, p->w = w;
    dob_imgpre_size(h, w, &p->nh, &p->nw);
    if (!grow(p, 0, (void **)&p->ys, (size_t)(p->nh + p->nw) * sizeof *p->ys) ||
        !grow(p, 1, (void **)&p->slot, (size_t)h * sizeof *p->slot) ||
        !grow(p, 2, (void **)&p->line, (size_t)(3 * w) * sizeof *p->line))
        return DOB_FAIL(DOB_ENOMEM, "image preprocessing: out of memory for a %lldx%lld image", (long long)w,
                        (long long)h);
    p->xs = p->ys + p->nh;
    dob_resize_taps(h, p->nh, p->ys);
    dob_resize_taps(w, p->nw, p->xs);
    const int64_t kept = keep_rows(p);
    if (!grow(p, 3, (void **)&p->rows, (size_t)(3 * kept * p->nw) * sizeof *p->rows) ||
        !grow(p, 4, (void **)&p->img, (size_t)(3 * p->nh * p->nw) * sizeof *p->img))
        return DOB_FAIL(DOB_ENOMEM, "image preprocessing: out of memory for a %lldx%lld image", (long long)w,
                        (long long)h);
    p->kept = kept;
    return DOB_OK;
}

void dob_imgpre_row(dob_imgpre *p, int64_t r, const uint8_t *rgb) {
    const int64_t s = p->slot[r], w = p->w, kept = p->kept;
    if (s < 0) return;
    const float scale = (float)(1.0 / 255.0);
    for (int64_t c = 0; c < 3; c++) {
        float *line = p->line + c * w;
        for (int64_t x = 0; x < w; x++) line[x] = (float)rgb[3 * x + c] * scale;
        dob_resize_row(line, p->xs, p->nw, p->rows + (c * kept + s) * p->nw);
    }
}

/* Position pos of resize_image_with_crop_or_pad of an axis of S values to T: its source index, -1 in padding. */
static int64_t crop_or_pad(int64_t S, int64_t T, int64_t pos) {
    const int64_t src = S >= T ? pos + (S - T) / 2 : pos - (T - S) / 2;
    return src >= 0 && src < S ? src : -1;
}

void dob_imgpre_finish(dob_imgpre *p, int augment, uint64_t seed, uint64_t key, float *dst) {
    enum { S = DOB_IMAGENET_SIDE, T = DOB_IMAGENET_SHORT };
    const int64_t nh = p->nh, nw = p->nw, kept = p->kept;
    for (int64_t c = 0; c < 3; c++) dob_resize_cols(p->rows + c * kept * nw, p->ys, nh, nw, p->img + c * nh * nw);
    int64_t ys[S], xs[S], oy = 0, ox = 0;
    int flip = 0;
    if (augment) {
        const dob_rng r = {seed, DOB_RNG_AUGMENT, key};
        oy = (int64_t)(dob_rng_uniform(&r, 0) * (float)(T - S + 1));
        ox = (int64_t)(dob_rng_uniform(&r, 1) * (float)(T - S + 1));
        oy = oy < T - S ? oy : T - S, ox = ox < T - S ? ox : T - S;
        flip = dob_rng_uniform(&r, 2) < 0.5f;
    }
    for (int64_t i = 0; i < S; i++) {
        const int64_t j = flip ? S - 1 - i : i;
        ys[i] = augment ? crop_or_pad(nh, T, i + oy) : crop_or_pad(nh, S, i);
        xs[i] = augment ? crop_or_pad(nw, T, j + ox) : crop_or_pad(nw, S, i);
    }
    for (int64_t c = 0; c < 3; c++)
        for (int64_t y = 0; y < S; y++) {
            float *d = dst + (c * S + y) * S;
            if (ys[y] < 0) {
                memset(d, 0, S * sizeof *d);
                continue;
            }
            const float *src = p->img + (c * nh + ys[y]) * nw;
            for (int64_t x = 0; x < S; x++) d[x] = xs[x] >= 0 ? src[xs[x]] : 0.0f;
        }
}

void dob_imgpre_free(dob_imgpre *p) {
    if (!p) return;
    free(p->ys);
    free(p->slot);
    free(p->line);
    free(p->rows);
    free(p->img);
    memset(p, 0, sizeof *p);
}
