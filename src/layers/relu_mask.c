/* relu_mask.c: the backward of a fused ReLU, g = diff_dst * (dst > 0), for the layers that fuse one (conv,
 * deconv): flat over equal layouts (f32 or rounded to bf16), from plain into a blocked or permuted layout, and
 * between two such layouts, so that the mask is also the reorder into the backward primitives' layout.
 *
 * Invariants: dst and diff are read together and selected (no branch), so the loops vectorize; channel padding of
 * a blocked destination is written as zeros (oneDNN reads it). Float results do not depend on the thread count
 * (elementwise). It does not: choose the layouts (the layer does, with dob_act_layout_of). */
#include "relu_mask.h"

#include "dnnl_util.h"

/* Describe a 4-D activation layout the mask loop can write: plain permutations (nchw, nhwc, ...) and a single
 * channel block (nChw8c/16c: "aBcd8b"). @return 1 if `md` is one of those. */
int dob_act_layout_of(const dnnl_memory_desc_t *md, dob_act_layout *l) {
    if (md->format_kind != dnnl_blocked || md->ndims != 4 || md->offset0 != 0) return 0;
    const dnnl_blocking_desc_t *b = &md->format_desc.blocking;
    if (md->padded_dims[0] != md->dims[0] || md->padded_dims[2] != md->dims[2] || md->padded_dims[3] != md->dims[3])
        return 0;
    if (b->inner_nblks == 0)
        l->blk = 1;
    else if (b->inner_nblks == 1 && b->inner_idxs[0] == 1)
        l->blk = b->inner_blks[0];
    else
        return 0;
    l->cpad = md->padded_dims[1];
    l->sn = b->strides[0];
    l->sc = b->strides[1];
    l->sh = b->strides[2];
    l->sw = b->strides[3];
    return l->cpad % l->blk == 0;
}

/* g = diff_dst * (dst > 0) elementwise (forward's line: dst = max(conv, 0)); dst, diff and g share one layout
 * (plain N,OC,OH,OW or the propagated blocked one, whose zero channel padding gives g = 0). */
void dob_relu_mask(const float *dst, const float *diff, float *g, size_t n) {
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        const float d = dst[i], e = diff[i]; /* both loaded: a select, not a branch (vectorizes) */
        g[i] = d > 0.0f ? e : 0.0f;
    }
}

/* Same, rounded to bf16 (bf16 mode: the backward primitives read a bf16 diff_dst in dst's layout). */
void dob_relu_mask_bf16(const float *dst, const float *diff, uint16_t *g, size_t n) {
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        const float d = dst[i], e = diff[i];
        g[i] = dob_bf16_of(d > 0.0f ? e : 0.0f);
    }
}

/* Same, written in layout l (channels padded to l->cpad with zeros): one pass instead of mask + reorder.
 * dst, diff: plain [n, ch, h, w]; g: layout l. */
void dob_relu_mask_to(const float *dst, const float *diff, float *g, int64_t n, int64_t ch, int64_t h, int64_t w,
                         const dob_act_layout *l) {
    int64_t nb = l->cpad / l->blk, B = l->blk;
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        for (int64_t cb = 0; cb < nb; cb++) {
            for (int64_t cc = 0; cc < B; cc++) {
                int64_t ci = cb * B + cc;
                float *gc = g + i * l->sn + cb * l->sc + cc;
                if (ci >= ch) { /* channel padding of a blocked layout: zeros */
                    for (int64_t y = 0; y < h; y++)
                        for (int64_t x = 0; x < w; x++) gc[y * l->sh + x * l->sw] = 0.0f;
                    continue;
                }
                const float *d = dst + (i * ch + ci) * h * w, *e = diff + (i * ch + ci) * h * w;
                for (int64_t y = 0; y < h; y++)
                    for (int64_t x = 0; x < w; x++) {
                        const float dv = d[y * w + x], ev = e[y * w + x];
                        gc[y * l->sh + x * l->sw] = dv > 0.0f ? ev : 0.0f;
                    }
            }
        }
    }
}

/* Same, from dst/diff in layout s (the propagated one, e.g. nChw8c) into g in layout d (e.g. nhwc). Per pixel,
 * channel blocks of s are walked in order, so a blocked -> channels-last pass streams both sides with no index
 * division; d's channel padding (if any) is zeroed first. */
/* The common case nChw{8,16}c -> nhwc with whole blocks, with the block size B a constant so the inner loop is
 * one vector select (the generic loop below runs scalar: 6.0 ms vs 1.2 ms for fmnist conv1, batch 128, 2 threads). */
static inline void relu_mask_block_to_nhwc(const float *dst, const float *diff, float *g, int64_t n, int64_t ch,
                                           int64_t h, int64_t w, const dob_act_layout *s, const int64_t B) {
    const int64_t nsb = ch / B;
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t i = 0; i < n; i++)
        for (int64_t y = 0; y < h; y++)
            for (int64_t cb = 0; cb < nsb; cb++) {
                const float *bd = dst + i * s->sn + cb * s->sc + y * s->sh;
                const float *be = diff + i * s->sn + cb * s->sc + y * s->sh;
                float *gp = g + ((i * h + y) * w) * ch + cb * B;
                for (int64_t x = 0; x < w; x++) {
#pragma omp simd
                    for (int64_t cc = 0; cc < B; cc++) {
                        const float dv = bd[x * B + cc], ev = be[x * B + cc];
                        gp[x * ch + cc] = dv > 0.0f ? ev : 0.0f;
                    }
                }
            }
}

void dob_relu_mask_relayout(const float *dst, const float *diff, float *g, int64_t n, int64_t ch, int64_t h,
                               int64_t w, const dob_act_layout *s, const dob_act_layout *d) {
    const int64_t sb = s->blk, db = d->blk, nsb = (ch + sb - 1) / sb;
    const int nhwc = db == 1 && d->cpad == ch && d->sc == 1 && d->sw == ch && d->sh == w * ch && d->sn == h * w * ch;
    if (nhwc && s->sw == sb && ch % sb == 0 && (sb == 8 || sb == 16)) {
        if (sb == 8)
            relu_mask_block_to_nhwc(dst, diff, g, n, ch, h, w, s, 8);
        else
            relu_mask_block_to_nhwc(dst, diff, g, n, ch, h, w, s, 16);
        return;
    }
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        for (int64_t y = 0; y < h; y++) {
            for (int64_t x = 0; x < w; x++) {
                const float *sd = dst + i * s->sn + y * s->sh + x * s->sw;
                const float *se = diff + i * s->sn + y * s->sh + x * s->sw;
                float *gp = g + i * d->sn + y * d->sh + x * d->sw;
                for (int64_t c = ch; c < d->cpad; c++) gp[c / db * d->sc + c % db] = 0.0f;
                for (int64_t cb = 0; cb < nsb; cb++) {
                    const int64_t c0 = cb * sb, m = ch - c0 < sb ? ch - c0 : sb;
                    const float *bd = sd + cb * s->sc, *be = se + cb * s->sc;
                    if (db == 1) { /* channels-last destination: contiguous when d->sc == 1 */
                        float *gc = gp + c0 * d->sc;
                        for (int64_t cc = 0; cc < m; cc++) {
                            const float dv = bd[cc], ev = be[cc];
                            gc[cc * d->sc] = dv > 0.0f ? ev : 0.0f;
                        }
                    } else {
                        for (int64_t cc = 0; cc < m; cc++) {
                            const int64_t c = c0 + cc;
                            const float dv = bd[cc], ev = be[cc];
                            gp[c / db * d->sc + c % db] = dv > 0.0f ? ev : 0.0f;
                        }
                    }
                }
            }
        }
    }
}
