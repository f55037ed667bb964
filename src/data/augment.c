/* augment.c: DeepOBS's image preprocessing of CIFAR-10/100 and SVHN (TF pipeline, DeepOBS §4.3-4.5), per
 * example, in this order (TF's parse_func):
 *   training only (augment = 1):
 *     1. zero-pad `pad` pixels on each side (resize_image_with_crop_or_pad 32 -> 36),
 *     2. random crop back to H x W, offsets uniform in 0..2 pad (tf.random_crop),
 *     3. random left-right flip with p = 0.5 (CIFAR only; DeepOBS's SVHN has none),
 *     4. random_brightness: add delta ~ U[-b, b) to every value (no clipping, as TF on float images),
 *     5. random_saturation: factor ~ U[lo, hi), per pixel RGB -> HSV, S = clip(S * f, 0, 1), HSV -> RGB,
 *        with the arithmetic of TF's AdjustSaturation CPU kernel (scale-free, so 0..255 values work),
 *     6. random_contrast: factor ~ U[lo, hi), per channel x = (x - mean_c) * f + mean_c (tf.image.adjust_contrast);
 *   every split:
 *     7. per_image_standardization: (x - mean) / max(stddev, 1 / sqrt(C H W)), mean and population stddev
 *        over the whole image (accumulated in double; TF's float32 sums differ in the last bits).
 * Randomness: example i of a call draws all six numbers from one Philox stream (seed, DOB_RNG_AUGMENT,
 * first + i), first = the global index of the batch's first example in the run (step * global batch + rank
 * offset), so any number of ranks and threads sees the same images. TF draws from its graph RNG: equal in
 * distribution only.
 * Does not: allocate (the caller passes src and dst), change shapes, or touch labels. */
#include "dob/data.h"

#include <math.h>
#include <string.h>

/* TF's AdjustSaturation kernel (adjust_saturation_op.cc), channel values at any scale. */
static void rgb_to_hsv(float r, float g, float b, float *h, float *s, float *v) {
    const float vv = fmaxf(r, fmaxf(g, b)), range = vv - fminf(r, fminf(g, b));
    *s = vv > 0.0f ? range / vv : 0.0f;
    const float norm = 1.0f / (6.0f * range);
    float hh;
    if (r == vv) hh = norm * (g - b);
    else if (g == vv) hh = norm * (b - r) + 2.0f / 6.0f;
    else hh = norm * (r - g) + 4.0f / 6.0f;
    if (range <= 0.0f) hh = 0.0f;
    if (hh < 0.0f) hh += 1.0f;
    *v = vv;
    *h = hh;
}

static void hsv_to_rgb(float h, float s, float v, float *r, float *g, float *b) {
    const float c = s * v, m = v - c, dh = h * 6.0f;
    float fmodu = dh;
    while (fmodu <= 0.0f) fmodu += 2.0f;
    while (fmodu >= 2.0f) fmodu -= 2.0f;
    const float x = c * (1.0f - fabsf(fmodu - 1.0f));
    float rr = 0, gg = 0, bb = 0;
    switch ((int)dh) {
    case 0: rr = c, gg = x; break;
    case 1: rr = x, gg = c; break;
    case 2: gg = c, bb = x; break;
    case 3: gg = x, bb = c; break;
    case 4: rr = x, bb = c; break;
    case 5: rr = c, bb = x; break;
    default: break;
    }
    *r = rr + m;
    *g = gg + m;
    *b = bb + m;
}

static void saturate(float *x, int64_t hw, float f) {
    float *r = x, *g = x + hw, *b = x + 2 * hw;
    for (int64_t p = 0; p < hw; p++) {
        float h, s, v;
        rgb_to_hsv(r[p], g[p], b[p], &h, &s, &v);
        s = fminf(1.0f, fmaxf(0.0f, s * f));
        hsv_to_rgb(h, s, v, &r[p], &g[p], &b[p]);
    }
}

static void contrast(float *x, int64_t c, int64_t hw, float f) {
    for (int64_t ch = 0; ch < c; ch++) {
        float *p = x + ch * hw;
        double sum = 0.0;
        for (int64_t i = 0; i < hw; i++) sum += p[i];
        const float mean = (float)(sum / (double)hw);
        for (int64_t i = 0; i < hw; i++) p[i] = (p[i] - mean) * f + mean;
    }
}

static void standardize(float *x, int64_t n) {
    double s = 0.0, s2 = 0.0;
    for (int64_t i = 0; i < n; i++) {
        s += x[i];
        s2 += (double)x[i] * x[i];
    }
    const double mean = s / (double)n, var = s2 / (double)n - mean * mean;
    const double sd = fmax(sqrt(var > 0.0 ? var : 0.0), 1.0 / sqrt((double)n));
    const float m = (float)mean, inv = (float)(1.0 / sd);
    for (int64_t i = 0; i < n; i++) x[i] = (x[i] - m) * inv;
}

/* Steps 1-3 as one gather: dst(c, y, x) = padded src at (y + oy, x' + ox), x' = flipped x. */
static void crop_flip(const float *src, float *dst, int64_t c, int64_t h, int64_t w, int64_t pad, int64_t oy,
                      int64_t ox, int flip) {
    for (int64_t ch = 0; ch < c; ch++)
        for (int64_t y = 0; y < h; y++) {
            const int64_t sy = y + oy - pad;
            float *d = dst + (ch * h + y) * w;
            if (sy < 0 || sy >= h) {
                memset(d, 0, (size_t)w * sizeof *d);
                continue;
            }
            const float *s = src + (ch * h + sy) * w;
            for (int64_t x = 0; x < w; x++) {
                const int64_t sx = (flip ? w - 1 - x : x) + ox - pad;
                d[x] = sx >= 0 && sx < w ? s[sx] : 0.0f;
            }
        }
}

/* U[lo, hi) from a 32-bit word (24 bits, as dob_rng_uniform). */
static float uni(uint32_t word, float lo, float hi) {
    return lo + (hi - lo) * ((float)(word >> 8) * (1.0f / 16777216.0f));
}

void dob_preproc_example(const dob_preproc *p, uint64_t seed, uint64_t index, const float *src, float *dst,
                         int64_t c, int64_t h, int64_t w) {
    const int64_t hw = h * w;
    const dob_rng r = {seed, DOB_RNG_AUGMENT, index};
    uint32_t a[4], b[4];
    dob_rng_block(&r, 0, a);
    dob_rng_block(&r, 1, b);
    /* tf.random_crop: offset = uniform int in [0, padded - size] */
    const int64_t span = 2 * p->pad + 1;
    const int64_t oy = p->pad > 0 ? (int64_t)(uni(a[0], 0.0f, 1.0f) * (float)span) : 0;
    const int64_t ox = p->pad > 0 ? (int64_t)(uni(a[1], 0.0f, 1.0f) * (float)span) : 0;
    /* tf.image.random_flip_left_right: flip when U[0,1) < 0.5 */
    const int flip = p->flip && uni(a[2], 0.0f, 1.0f) < 0.5f;
    crop_flip(src, dst, c, h, w, p->pad, oy < span ? oy : span - 1, ox < span ? ox : span - 1, flip);
    if (p->brightness > 0.0f) {
        const float delta = uni(a[3], -p->brightness, p->brightness);
        for (int64_t i = 0; i < c * hw; i++) dst[i] += delta;
    }
    if (p->sat_hi > p->sat_lo && c == 3) saturate(dst, hw, uni(b[0], p->sat_lo, p->sat_hi));
    if (p->con_hi > p->con_lo) contrast(dst, c, hw, uni(b[1], p->con_lo, p->con_hi));
}

void dob_preproc_apply(const dob_preproc *p, int augment, uint64_t seed, uint64_t first, const float *src,
                       float *dst, int64_t n, int64_t c, int64_t h, int64_t w) {
    const int64_t size = c * h * w;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) {
        const float *s = src + i * size;
        float *d = dst + i * size;
        if (augment) dob_preproc_example(p, seed, first + (uint64_t)i, s, d, c, h, w);
        else if (d != s) memcpy(d, s, (size_t)size * sizeof *d);
        if (p->standardize) standardize(d, size);
    }
}
