/* resize.c: bilinear resize with TF1's `tf.image.resize_images(x, size, method=BILINEAR)` semantics
 * (align_corners=False, half_pixel_centers=False: TF1's legacy coordinate mapping), forward and its adjoint.
 *
 * Shapes: src in[0] N,C,H,W (plain) -> dst out N,C,OH,OW (plain). No parameters.
 * Mapping (TF resize_bilinear_op.cc, LegacyScaler; computed in float32 exactly as TF does, so the neighbours and
 * weights are TF's bit for bit): scale = (float)H / (float)OH; for output row i: in = (float)i * scale,
 * lo = max(floor(in), 0), hi = min(ceil(in), H - 1) (the upper neighbour is clamped at the edge), lerp =
 * in - floor(in); columns likewise. Then, in TF's order of operations:
 *   top = tl + (tr - tl) * xl;  bottom = bl + (br - bl) * xl;  dst = top + (bottom - top) * yl.
 * With OH == H the mapping is the identity and the output equals the input exactly (TF resize_images returns the
 * input unchanged then; VGG on ImageNet does not add this layer at all).
 * Backward (TF ResizeBilinearOpGrad): each diff_dst element adds diff * (1-yl)(1-xl), diff * (1-yl) xl,
 * diff * yl (1-xl), diff * yl xl to its four source neighbours; it OVERWRITES in_diff[0] (a plane is zeroed, then
 * scattered into by one thread: planes are independent, so no races and the result does not depend on the thread
 * count).
 * Saved for backward: nothing but the index tables of build (the layer is linear in its input).
 *
 * Why a direct OpenMP kernel and not oneDNN's resampling primitive: oneDNN 2.6's linear resampling maps output
 * coordinates with half-pixel centres, src = (dst + 0.5) * H / OH - 0.5 (its documentation, "Resampling"), and
 * has no option for TF1's legacy src = dst * H / OH. For 32 -> 224 the two differ at every row that is not a
 * multiple of 7 (up to 3/7 of a source pixel), so oneDNN cannot reproduce DeepOBS's input. This loop is memory
 * bound and small next to the net: 128x3x32x32 -> 224x224 forward takes 5.2 ms on 1 thread, 7.6 ms on 2 (Zen 5,
 * shared with two other builds, load 2.5; bench_resize, median of 20), backward 41 / 45 ms, against tens of
 * seconds for one VGG16 training step at that batch (~6 TFLOP). VGG never runs this backward (the layer reads the
 * net input, which needs no gradient), so it stays a plain scatter.
 * Does not: antialias, support other methods (nearest, bicubic, area) or align_corners=True (the PyTorch port's
 * UpsamplingBilinear2d). */
#include "dob/layer.h"
#include "dob/layers.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* TF's compute_interpolation_weights with the legacy scaler, in float32 as TF computes it. */
void dob_resize_taps(int64_t in, int64_t out, dob_resize_tap *t) {
    const float scale = (float)in / (float)out;
    for (int64_t i = 0; i < out; i++) {
        const float s = (float)i * scale, f = floorf(s);
        const int64_t c = (int64_t)ceilf(s);
        t[i].lo = (int64_t)f > 0 ? (int64_t)f : 0;
        t[i].hi = c < in - 1 ? c : in - 1;
        t[i].lerp = s - f;
    }
}

typedef struct resize_priv {
    dob_resize_tap *ys, *xs; /* [OH], [OW]: one malloc, ys first */
    float *rows;             /* [N*C, H, OW]: every source row interpolated along w (forward's first pass) */
} resize_priv;

static dob_status resize_reserve(dob_layer *l, dob_arena *a) {
    (void)a;
    const dob_resize_cfg *c = l->cfg;
    const dob_tensor *x = l->in[0];
    if (x->ndim != 4)
        return DOB_FAIL(DOB_EINVAL, "expected a 4-D input (N,C,H,W), found %d-D", x->ndim);
    if (c->out_h < 1 || c->out_w < 1 || c->out_h > (1 << 20) || c->out_w > (1 << 20))
        return DOB_FAIL(DOB_EINVAL, "output size must be 1..%d per side, found %lldx%lld", 1 << 20,
                        (long long)c->out_h, (long long)c->out_w);
    l->out->ndim = 4;
    l->out->dims[1] = x->dims[1];
    l->out->dims[2] = c->out_h;
    l->out->dims[3] = c->out_w;
    return DOB_OK;
}

static dob_status resize_build(dob_layer *l, int64_t batch) {
    (void)batch;
    resize_priv *p = l->priv;
    const int64_t h = l->in[0]->dims[2], w = l->in[0]->dims[3], oh = l->out->dims[2], ow = l->out->dims[3];
    p->ys = malloc((size_t)(oh + ow) * sizeof *p->ys);
    if (!p->ys) return DOB_FAIL(DOB_ENOMEM, "resize: cannot allocate %lld index entries", (long long)(oh + ow));
    p->xs = p->ys + oh;
    p->rows = malloc((size_t)(l->in[0]->dims[0] * l->in[0]->dims[1] * h * ow) * sizeof *p->rows);
    if (!p->rows) return DOB_FAIL(DOB_ENOMEM, "resize: cannot allocate its %lldx%lld row buffer", (long long)h,
                                  (long long)ow);
    dob_resize_taps(h, oh, p->ys);
    dob_resize_taps(w, ow, p->xs);
    return DOB_OK;
}

/* One plane in two passes: rows[r, j] = tl + (tr - tl) * xl for every source row r (TF's `top` and `bottom`
 * are two of these rows), then dst[i, j] = top + (bottom - top) * yl: TF's arithmetic in TF's order, so the same
 * floats, with the second pass a contiguous (vectorised) loop instead of four gathers per output. */
void dob_resize_row(const float *src, const dob_resize_tap *xs, int64_t ow, float *dst) {
    for (int64_t j = 0; j < ow; j++) dst[j] = src[xs[j].lo] + (src[xs[j].hi] - src[xs[j].lo]) * xs[j].lerp;
}

void dob_resize_cols(const float *rows, const dob_resize_tap *ys, int64_t oh, int64_t ow, float *dst) {
    for (int64_t i = 0; i < oh; i++) {
        const float *top = rows + ys[i].lo * ow, *bot = rows + ys[i].hi * ow;
        const float yl = ys[i].lerp;
        float *d = dst + i * ow;
        for (int64_t j = 0; j < ow; j++) d[j] = top[j] + (bot[j] - top[j]) * yl;
    }
}

static void forward_plane(const resize_priv *p, const float *src, int64_t h, int64_t w, int64_t oh, int64_t ow,
                          float *rows, float *dst) {
    for (int64_t r = 0; r < h; r++) dob_resize_row(src + r * w, p->xs, ow, rows + r * ow);
    dob_resize_cols(rows, p->ys, oh, ow, dst);
}

static dob_status resize_forward(dob_layer *l, int training) {
    (void)training;
    const resize_priv *p = l->priv;
    const dob_tensor *x = l->in[0], *y = l->out;
    const int64_t planes = x->dims[0] * x->dims[1], h = x->dims[2], w = x->dims[3];
    const int64_t oh = y->dims[2], ow = y->dims[3];
    const float *src = x->data; /* [N, C, H, W] */
    float *dst = y->data;       /* [N, C, OH, OW] */
#pragma omp parallel for schedule(static)
    for (int64_t q = 0; q < planes; q++)
        forward_plane(p, src + q * h * w, h, w, oh, ow, p->rows + q * h * ow, dst + q * oh * ow);
    return DOB_OK;
}

/* forward: dst[i,j] = (1-yl)(1-xl) s[lo_i,lo_j] + (1-yl) xl s[lo_i,hi_j] + yl (1-xl) s[hi_i,lo_j] + yl xl
 * s[hi_i,hi_j]   =>   diff_src gets each of the four products of diff_dst[i,j] (the adjoint, as TF's grad op) */
static void backward_plane(const resize_priv *p, const float *diff_dst, int64_t h, int64_t w, int64_t oh,
                           int64_t ow, float *diff_src) {
    memset(diff_src, 0, (size_t)(h * w) * sizeof *diff_src);
    for (int64_t i = 0; i < oh; i++) {
        float *top = diff_src + p->ys[i].lo * w, *bot = diff_src + p->ys[i].hi * w;
        const float yl = p->ys[i].lerp, iyl = 1.0f - yl;
        const float *g = diff_dst + i * ow;
        for (int64_t j = 0; j < ow; j++) {
            const dob_resize_tap *t = &p->xs[j];
            const float xl = t->lerp, ixl = 1.0f - xl;
            top[t->lo] += g[j] * iyl * ixl;
            top[t->hi] += g[j] * iyl * xl;
            bot[t->lo] += g[j] * yl * ixl;
            bot[t->hi] += g[j] * yl * xl;
        }
    }
}

static dob_status resize_backward(dob_layer *l) {
    const resize_priv *p = l->priv;
    const dob_tensor *x = l->in[0], *y = l->out;
    float *diff_src = l->in_diff[0];     /* [N, C, H, W] */
    const float *diff_dst = y->diff;     /* [N, C, OH, OW] */
    if (!diff_src) return DOB_OK;
    const int64_t planes = x->dims[0] * x->dims[1], h = x->dims[2], w = x->dims[3];
    const int64_t oh = y->dims[2], ow = y->dims[3];
#pragma omp parallel for schedule(static)
    for (int64_t q = 0; q < planes; q++)
        backward_plane(p, diff_dst + q * oh * ow, h, w, oh, ow, diff_src + q * h * w);
    return DOB_OK;
}

static void resize_destroy(dob_layer *l) {
    resize_priv *p = l->priv;
    free(p->ys);
    free(p->rows);
}

const dob_layer_ops dob_resize_ops = {
    .type = "resize_bilinear", .priv_size = sizeof(resize_priv), .reserve = resize_reserve,
    .build = resize_build, .forward = resize_forward, .backward = resize_backward, .destroy = resize_destroy,
};

dob_status dob_net_resize_bilinear(dob_net *net, const char *name, int in, const dob_resize_cfg *cfg, int *out) {
    return dob_net_add(net, &dob_resize_ops, name, cfg, sizeof *cfg, 1, &in, out);
}
