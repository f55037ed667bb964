/* pool.c: 2-D max / average pooling with TF "SAME"/"VALID" semantics (max pooling as hand OpenMP loops, average
 * pooling through oneDNN pooling primitives, or by hand on plain f32 inputs: pool_plane.c), and global average
 * pooling (GAP) as two OpenMP loops.
 * Average pooling of a plain input in f32 runs on its planes by hand (Inception-v3's pools, whose inputs are
 * concatenations): no reorders to nhwc and back. Sapphire Rapids, batch 32, 2 threads, fwd / bwd ms: block5b_1's
 * 3x3/1 SAME on 32x288x35x35 25.7 / 35.2 through oneDNN with reorders, 13.3 / 11.3 by hand; all 15 pools of a
 * step 458 -> 348 ms. Blocked inputs (conv's), bf16 and rows under 16 outputs (plane_build) keep oneDNN.
 *
 * Shapes: pool: src in[0] N,C,H,W (plain) -> dst out N,C,OH,OW (plain), OH/OW and the pads from dob_pad_out.
 *         gap:  src in[0] N,C,H,W (plain, or its producer's channel-blocked or nhwc layout) -> dst out N,C (plain).
 * TF semantics: SAME pads total/2 top/left and the rest bottom/right (oneDNN padding_l/padding_r). SAME max
 * pooling ignores padded elements; SAME avg pooling divides by the number of valid (non-padded) elements:
 * dnnl_pooling_avg_exclude_padding. VALID has no padding. Max pooling routes the gradient to the first maximum
 * of each window in row-major window order; a NaN input wins the window (divergence stays visible).
 * Plan (build), created once per batch size; forward runs the training plan in eval mode too (one plan; the
 * workspace write is cheap). Avg: oneDNN forward_training and backward (forward pd as hint).
 *
 * Layout: both kinds run on a channel-innermost layout: plain src -> nhwc before forward, nhwc dst -> plain
 * after it, the same for diff_dst / diff_src in backward. Measured with oneDNN's max pooling (2-core AVX2 EPYC
 * Zen 1, batch 128, 2 threads, reorders included, fwd / bwd in ms, best of 8 rounds of 20-30 calls; the machine
 * was shared with other builds, so medians were meaningless):
 *                                  plain nchw     nhwc + reorders   nChw8c + reorders
 *   max 2x2/2 on 128x32x28x28     21.5 / 9.8        3.2 / 4.7         3.4 / 3.8
 *   max 2x2/2 on 128x64x14x14     10.2 / 5.0        1.4 / 2.2         1.4 / 1.8
 *   max 3x3/2 SAME 128x64x28x28   62.4 / 19.6       6.8 / 11.4       15.3 / 25.7
 * On plain nchw oneDNN 2.6 has only its scalar simple_nchw kernel; nhwc and nChw8c get jit:avx2 (1 thread gives
 * the same ranking). nhwc is also the one layout the jit pooling takes on every x86 ISA (nChw16c falls back to
 * the reference kernel on AVX2: ~100 ms for the first shape), so it is the choice.
 * Max pooling moved to hand loops because oneDNN's jit:avx2 max pooling is slow on Zen 3 (AMD EPYC family 25,
 * 2 threads, on the nChw8c input of fmnist_2c2d, fwd / bwd ms): 128x32x28x28 2x2/2 4.9 / 4.1 with oneDNN vs
 * 1.7-2.0 / 1.7-2.0 by hand; 128x64x14x14 3.0 / 2.4 vs 0.9-1.0 / 1.1-1.2 (its SSE4.1 kernel: 1.0 fwd but 36-49
 * bwd); tiled windows (2x2/2 on even planes) now take ~1.0 / 1.0 and 0.6 / 0.5 (max_tiled below). The loops
 * vectorize over the channels of one pixel and stream each plane once.
 * Layout propagation (net.c): when the input arrives blocked from its producer (conv's nChw8c), pooling runs on
 * that layout directly (no reorder) and hands its dst on in the same layout when the reader (conv) takes it;
 * otherwise dst is reordered to plain. The hand loops take nhwc, nChw8c and nChw16c; any other propagated layout
 * is reordered to nhwc.
 * Saved for backward: the max-pooling workspace (argmax window position, int32 per output element). Backward
 * needs neither src nor dst, so the two nhwc buffers are reused: diff_dst goes into the dst buffer and diff_src
 * comes out of the src buffer.
 *
 * GAP: y[n,c] = mean of x[n,c,:,:] (double sum per plane, thread-count independent) and dx = dy / (H*W)
 * broadcast. Hand loops because each output reads one contiguous plane: on 128x256x8x8 they take 0.6 / 0.4 ms
 * against 1.4 / 2.4 ms for oneDNN avg pooling on plain nchw and 1.8 / 1.7 ms on nhwc + reorders.
 * Precision bf16 (dob_net_set_precision): average pooling runs oneDNN's bf16 pooling on bf16 copies (f32 in and
 * out). Max pooling stays on the f32 loops: rounding to bf16 is monotone, so round(max x) = max round(x) and the
 * next bf16 layer, which rounds its input, sees exactly the values a bf16 max pooling would give; the argmax (the
 * gradient route) is the f32 one, which a bf16 pooling could only blur by ties.
 * Backward OVERWRITES in_diff[0] (skipped when NULL: the layer reads the net input and no one wants its grad).
 * Does not: dilate, pool over the batch or channel dims, or implement avg pooling that counts padding. */
#include "dnnl_util.h"
#include "dob/layers.h"
#include "pool_plane.h"

#include <stdlib.h>
#include <string.h>

/* Hand max pooling on a channel-innermost layout: `planes` contiguous H x W x cb planes in, OH x OW x cb out
 * (nhwc: planes = N, cb = C; nChw8c / nChw16c: planes = N * C/8 (/16), cb = 8 (16)). */
typedef struct max_hand {
    int64_t planes, cb, H, W, OH, OW, kh, kw, sh, sw, pt, pl;
    int32_t *ws;        /* argmax per output element: window position i * kw + j (0 .. kh*kw-1) */
} max_hand;

typedef struct pool_plan {
    dnnl_primitive_t fwd, bwd;           /* oneDNN pooling; NULL for hand max pooling */
    dob_mem src, dst, ddst, dsrc;        /* in[0]->data, out->data, out->diff, in_diff[0] <-> primitive layouts;
                                            their primitive-layout copies are scratch (backward reads neither
                                            src nor dst; the max workspace is the hand's own) */
    max_hand *hand;                      /* hand max pooling (every max pooling), NULL for avg */
    dob_avg_plane *plane;                /* f32 average pooling of a plain input by hand (pool_plane.c) */
} pool_plan;

/* ---- oneDNN plan -------------------------------------------------------------------------------------- */
/* Data handle of a oneDNN memory (the memories here always have one). */
static void *handle(dnnl_memory_t m) {
    void *h = NULL;
    dnnl_memory_get_data_handle(m, &h);
    return h;
}

/* The plan's memories for src dims sd -> dst dims dd, the pooling running on layouts s_prim -> d_prim: the
 * user side is the input's propagated layout (else plain) and, for dst, d_prim when the reader takes it (else
 * plain); reorders where the two sides differ. Backward reads neither src nor dst, so every primitive-layout
 * copy is scratch (dnnl_util.h). */
static dob_status plan_memories(pool_plan *p, dob_layer *l, const dnnl_dims_t sd, const dnnl_dims_t dd,
                                const dnnl_memory_desc_t *s_prim, const dnnl_memory_desc_t *d_prim) {
    dob_status st = DOB_OK;
    dnnl_engine_t eng = dob_net_engine(l->net);
    dnnl_memory_desc_t s_plain, d_plain;
    const dnnl_memory_desc_t *in_md = dob_net_in_md(l, 0);
    DOB_DNNL(dnnl_memory_desc_init_by_tag(&s_plain, 4, sd, dnnl_f32, dnnl_abcd));
    DOB_DNNL(dnnl_memory_desc_init_by_tag(&d_plain, 4, dd, dnnl_f32, dnnl_abcd));
    const dnnl_memory_desc_t *s_user = in_md ? in_md : &s_plain;
    const dnnl_memory_desc_t *d_user = in_md && dob_net_set_out_md(l, d_prim) ? d_prim : &d_plain;
    DOB_DNNL(dob_own_mem_tmp(l, &p->src, eng, s_user, s_prim, l->in[0]->data, 1));
    DOB_DNNL(dob_own_mem_tmp(l, &p->dst, eng, d_user, d_prim, l->out->data, 0));
    DOB_DNNL(dob_own_mem_tmp(l, &p->ddst, eng, d_user, d_prim, l->out->diff, 1));
    DOB_DNNL(dob_own_mem_tmp(l, &p->dsrc, eng, s_user, s_prim, l->in_diff[0], 0));
fail:
    return st;
}

/* Average pooling (TF: padding excluded) through oneDNN forward_training and backward (forward pd as hint) on
 * src dims sd -> dst dims dd. The primitives run on the input's propagated layout when it has one (dst in the
 * layout oneDNN picks, handed on to the reader when it takes it), otherwise on nhwc copies of the plain tensors.
 * Average pooling has no workspace. */
static dob_status avg_build(pool_plan *p, dob_layer *l, const dnnl_dims_t sd, const dnnl_dims_t dd,
                            const dnnl_dims_t kernel, const dnnl_dims_t strides, const dnnl_dims_t pad_l,
                            const dnnl_dims_t pad_r) {
    const dnnl_alg_kind_t alg = dnnl_pooling_avg_exclude_padding;
    dob_status st = DOB_OK;
    dnnl_engine_t eng = dob_net_engine(l->net);
    dnnl_memory_desc_t s_nhwc, d_prim;
    dnnl_pooling_desc_t fd, bd;
    dnnl_primitive_desc_t fpd = NULL, bpd = NULL;
    const dnnl_memory_desc_t *in_md = dob_net_in_md(l, 0);
    /* bf16: the primitives run on bf16 copies in the same layouts (the reorders convert); a bf16 dst is never
     * handed on (dob_net_set_out_md takes f32 layouts only), so it comes back f32 through the dst reorder */
    const dnnl_data_type_t lo = dob_net_precision(l->net) == DOB_BF16 ? dnnl_bf16 : dnnl_f32;
    DOB_DNNL(dnnl_memory_desc_init_by_tag(&s_nhwc, 4, sd, lo, dnnl_acdb));
    dnnl_memory_desc_t s_in = in_md ? *in_md : s_nhwc;
    s_in.data_type = lo;
    DOB_DNNL(dnnl_memory_desc_init_by_tag(&d_prim, 4, dd, lo, in_md ? dnnl_format_tag_any : dnnl_acdb));
    const dnnl_memory_desc_t *s_prim = in_md ? &s_in : &s_nhwc;
    DOB_DNNL(dnnl_pooling_forward_desc_init(&fd, dnnl_forward_training, alg, s_prim, &d_prim, strides, kernel,
                                            pad_l, pad_r));
    DOB_DNNL(dnnl_primitive_desc_create(&fpd, &fd, NULL, eng, NULL));
    DOB_DNNL(dob_own_primitive(l, &p->fwd, fpd));
    d_prim = *dnnl_primitive_desc_query_md(fpd, dnnl_query_dst_md, 0);
    DOB_DNNL(dnnl_pooling_backward_desc_init(&bd, alg, s_prim, &d_prim, strides, kernel, pad_l, pad_r));
    DOB_DNNL(dnnl_primitive_desc_create(&bpd, &bd, NULL, eng, fpd));
    DOB_DNNL(dob_own_primitive(l, &p->bwd, bpd));
    st = plan_memories(p, l, sd, dd, s_prim, &d_prim);
fail:
    if (fpd) dnnl_primitive_desc_destroy(fpd);
    if (bpd) dnnl_primitive_desc_destroy(bpd);
    return st;
}

/* ---- tiled max pooling: windows = strides, no padding, the windows cover the plane exactly --------------- */
/* Every 2x2/2 pooling of even planes (fmnist_2c2d's two, VGG's five) is tiled: each input element lies in exactly
 * one window, so backward writes dx once, with no zeroing pass and no read-modify-write, and neither loop clips
 * windows. The row kernels are inlined with constant cb 8 / 16 and a 2x2 window where they apply, and their channel
 * loop is `omp simd`: without it GCC unrolls the constant loops into scalar branches, and backward ran 2x slower
 * than the general loops. Same results as the general loops (same window order, same NaN rule).
 * Zen 3, 2 threads, fmnist_2c2d batch 128 on nChw8c (`bench_step --profile`, interleaved, shared host), fwd / bwd
 * ms: pool1 128x32x28x28 2.0-2.3 / 1.9-2.1 -> 1.0-1.3 / 1.0-1.1; pool2 128x64x14x14 1.1-1.5 / 1.1-1.3 -> 0.6-0.8 /
 * 0.5. Reading 12.8 MB and writing 3.2 + 3.2 MB takes ~0.5 ms at this machine's 2-thread bandwidth. */
static int max_tiled(const max_hand *h) {
    return h->kh == h->sh && h->kw == h->sw && h->pt == 0 && h->pl == 0 && h->OH * h->kh == h->H &&
           h->OW * h->kw == h->W;
}

/* One output row: x = the kh input rows of the row (row stride W * cb), y and ws the OW * cb outputs. */
static inline __attribute__((always_inline)) void tiled_fwd_row(const float *restrict x, float *restrict y,
                                                                int32_t *restrict ws, int64_t W, int64_t OW,
                                                                int64_t kh, int64_t kw, int64_t cb) {
    for (int64_t ow = 0; ow < OW; ow++, y += cb, ws += cb) {
        const float *x0 = x + ow * kw * cb;
#pragma omp simd
        for (int64_t c = 0; c < cb; c++) {
            float b = x0[c];
            int32_t k = 0;
            for (int64_t i = 0; i < kh; i++)
                for (int64_t j = i ? 0 : 1; j < kw; j++) {
                    const float v = x0[(i * W + j) * cb + c];
                    const int win = v > b || v != v;
                    b = win ? v : b;
                    k = win ? (int32_t)(i * kw + j) : k;
                }
            y[c] = b;
            ws[c] = k;
        }
    }
}

static inline __attribute__((always_inline)) void tiled_bwd_row(const float *restrict dy, const int32_t *restrict ws,
                                                                float *restrict dx, int64_t W, int64_t OW,
                                                                int64_t kh, int64_t kw, int64_t cb) {
    for (int64_t ow = 0; ow < OW; ow++, dy += cb, ws += cb)
        for (int64_t i = 0; i < kh; i++)
            for (int64_t j = 0; j < kw; j++) {
                float *restrict dxp = dx + ((i * W) + ow * kw + j) * cb;
                const int32_t k = (int32_t)(i * kw + j);
#pragma omp simd
                for (int64_t c = 0; c < cb; c++) {
                    const float d = dy[c]; /* loaded either way: a select, not a branch (vectorizes) */
                    dxp[c] = ws[c] == k ? d : 0.0f;
                }
            }
}

/* Dispatch to the constant-shape instances: cb 8 or 16 with a 2x2 window, else the general row. */
#define TILED_ROW(fn, ...)                                                                                         \
    do {                                                                                                          \
        if (h->kh == 2 && h->kw == 2 && h->cb == 8)                                                               \
            fn(__VA_ARGS__, 2, 2, 8);                                                                              \
        else if (h->kh == 2 && h->kw == 2 && h->cb == 16)                                                          \
            fn(__VA_ARGS__, 2, 2, 16);                                                                             \
        else                                                                                                      \
            fn(__VA_ARGS__, h->kh, h->kw, h->cb);                                                                  \
    } while (0)

static void max_tiled_forward(const max_hand *h, const float *restrict x, float *restrict y) {
    const int64_t rows = h->planes * h->OH, W = h->W, OW = h->OW, in_row = h->kh * W * h->cb, out_row = OW * h->cb;
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; r++)
        TILED_ROW(tiled_fwd_row, x + r * in_row, y + r * out_row, h->ws + r * out_row, W, OW);
}

static void max_tiled_backward(const max_hand *h, const float *restrict dy, float *restrict dx) {
    const int64_t rows = h->planes * h->OH, W = h->W, OW = h->OW, in_row = h->kh * W * h->cb, out_row = OW * h->cb;
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; r++)
        TILED_ROW(tiled_bwd_row, dy + r * out_row, h->ws + r * out_row, dx + r * in_row, W, OW);
}

/* ---- hand max pooling ------------------------------------------------------------------------------- */

/* y = max over the valid (non-padded) window elements, the first maximum in window order winning (strict >);
 * a NaN input wins and propagates, so a diverging run still shows NaN downstream. ws = the winning window
 * position. Vectorizes over the cb channels of one pixel (selects, no branches). */
static void max_hand_forward(const max_hand *h, const float *restrict x, float *restrict y) {
    if (max_tiled(h)) {
        max_tiled_forward(h, x, y);
        return;
    }
    const int64_t cb = h->cb, H = h->H, W = h->W, OH = h->OH, OW = h->OW;
    int32_t *restrict ws = h->ws;
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t o = 0; o < h->planes; o++)
        for (int64_t oh = 0; oh < OH; oh++) {
            const float *xo = x + o * H * W * cb;
            int64_t h0, i0, i1;
            dob_pool_window(oh, h->sh, h->pt, h->kh, H, &h0, &i0, &i1);
            for (int64_t ow = 0; ow < OW; ow++) {
                int64_t w0, j0, j1;
                dob_pool_window(ow, h->sw, h->pl, h->kw, W, &w0, &j0, &j1);
                const int64_t at = ((o * OH + oh) * OW + ow) * cb;
                float *restrict yp = y + at;
                int32_t *restrict wp = ws + at;
                const float *x0 = xo + ((h0 + i0) * W + w0 + j0) * cb;
                const int32_t k0 = (int32_t)(i0 * h->kw + j0);
                for (int64_t c = 0; c < cb; c++) {
                    yp[c] = x0[c];
                    wp[c] = k0;
                }
                for (int64_t i = i0; i < i1; i++)
                    for (int64_t j = i == i0 ? j0 + 1 : j0; j < j1; j++) {
                        const float *restrict xp = xo + ((h0 + i) * W + w0 + j) * cb;
                        const int32_t k = (int32_t)(i * h->kw + j);
                        for (int64_t c = 0; c < cb; c++) {
                            const float v = xp[c], b = yp[c];
                            const int win = v > b || v != v;
                            yp[c] = win ? v : b;
                            wp[c] = win ? k : wp[c];
                        }
                    }
            }
        }
}

/* dx = dy routed to each output's winning input (summed where windows overlap), OVERWRITING dx. One plane per
 * iteration: windows never cross planes, so threads never write the same element. */
static void max_hand_backward(const max_hand *h, const float *restrict dy, float *restrict dx) {
    if (max_tiled(h)) {
        max_tiled_backward(h, dy, dx);
        return;
    }
    const int64_t cb = h->cb, H = h->H, W = h->W, OH = h->OH, OW = h->OW;
    const int32_t *restrict ws = h->ws;
#pragma omp parallel for schedule(static)
    for (int64_t o = 0; o < h->planes; o++) {
        float *dxo = dx + o * H * W * cb;
        memset(dxo, 0, (size_t)(H * W * cb) * sizeof(float));
        for (int64_t oh = 0; oh < OH; oh++) {
            int64_t h0, i0, i1;
            dob_pool_window(oh, h->sh, h->pt, h->kh, H, &h0, &i0, &i1);
            for (int64_t ow = 0; ow < OW; ow++) {
                int64_t w0, j0, j1;
                dob_pool_window(ow, h->sw, h->pl, h->kw, W, &w0, &j0, &j1);
                const int64_t at = ((o * OH + oh) * OW + ow) * cb;
                const float *restrict dyp = dy + at;
                const int32_t *restrict wp = ws + at;
                for (int64_t i = i0; i < i1; i++)
                    for (int64_t j = j0; j < j1; j++) {
                        float *restrict dxp = dxo + ((h0 + i) * W + w0 + j) * cb;
                        const int32_t k = (int32_t)(i * h->kw + j);
                        for (int64_t c = 0; c < cb; c++) {
                            const float d = dyp[c]; /* loaded either way: a select, not a branch (vectorizes) */
                            dxp[c] += wp[c] == k ? d : 0.0f;
                        }
                    }
            }
        }
    }
}

/* Channels per pixel run of md (dims sd) if it is nhwc (C), nChw8c (8) or nChw16c (16), with its tag in *tag;
 * 0 for other layouts. */
static int64_t inner_channels(const dnnl_memory_desc_t *md, const dnnl_dims_t sd, dnnl_format_tag_t *tag) {
    static const struct {
        dnnl_format_tag_t tag;
        int64_t cb;
    } L[] = {{dnnl_acdb, 0}, {dnnl_aBcd8b, 8}, {dnnl_aBcd16b, 16}};
    for (size_t i = 0; i < sizeof L / sizeof *L; i++) {
        dnnl_memory_desc_t m;
        if (dnnl_memory_desc_init_by_tag(&m, 4, sd, dnnl_f32, L[i].tag) == dnnl_success &&
            dnnl_memory_desc_equal(&m, md)) {
            *tag = L[i].tag;
            return L[i].cb ? L[i].cb : sd[1];
        }
    }
    return 0;
}

/* Max pooling plan: hand loops on the input's propagated layout when it is channel-innermost (dst in the same
 * layout, handed on when the reader takes it), otherwise on nhwc copies. Why not oneDNN: its jit:avx2 max pooling
 * (2.6) is 3-6x slower than these loops on Zen 3 (2x2/2 on 128x32x28x28: 4.9 / 4.0 ms fwd / bwd; SSE4.1 kernel
 * 1.0 ms fwd, 36-49 ms bwd), though about as fast on Zen 1: see the table at the top of the file. */
static dob_status max_build(pool_plan *p, dob_layer *l, const dnnl_dims_t sd, const dnnl_dims_t dd,
                            const dnnl_dims_t kernel, const dnnl_dims_t strides, const dnnl_dims_t pad_l) {
    dob_status st = DOB_OK;
    dnnl_memory_desc_t s_nhwc, d_prim;
    const dnnl_memory_desc_t *in_md = dob_net_in_md(l, 0);
    DOB_DNNL(dnnl_memory_desc_init_by_tag(&s_nhwc, 4, sd, dnnl_f32, dnnl_acdb));
    dnnl_format_tag_t tag = dnnl_acdb; /* dst takes the layout the loops run on */
    int64_t cb = in_md ? inner_channels(in_md, sd, &tag) : 0;
    const dnnl_memory_desc_t *s_prim = cb ? in_md : &s_nhwc;
    if (!cb) cb = sd[1];
    DOB_DNNL(dnnl_memory_desc_init_by_tag(&d_prim, 4, dd, dnnl_f32, tag));
    if ((st = plan_memories(p, l, sd, dd, s_prim, &d_prim)) != DOB_OK) return st;
    max_hand *h = calloc(1, sizeof *h);
    if (!h) return DOB_FAIL(DOB_ENOMEM, "out of memory for the max pooling plan");
    p->hand = h;
    *h = (max_hand){.planes = sd[0] * sd[1] / cb, .cb = cb, .H = sd[2], .W = sd[3], .OH = dd[2], .OW = dd[3],
                    .kh = kernel[0], .kw = kernel[1], .sh = strides[0], .sw = strides[1], .pt = pad_l[0],
                    .pl = pad_l[1]};
    size_t n = (size_t)(dd[0] * dd[1] * dd[2] * dd[3]);
    h->ws = malloc(n * sizeof *h->ws);
    if (!h->ws)
        return DOB_FAIL(DOB_ENOMEM, "out of memory for the max pooling workspace (%zu MiB)",
                        n * sizeof *h->ws >> 20);
fail:
    return st;
}

/* f32 average pooling of a plain input with rows of at least PLANE_MIN_OW outputs: by hand on the planes, no
 * reorders (pool_plane.c). Narrower rows cost the loops more per element than the reorders: 32x2048x8x8 3x3/1
 * SAME forward 15.7 ms by hand against 5.6 ms through oneDNN (Sapphire Rapids, 2 threads, one layer). */
enum { PLANE_MIN_OW = 16 };
static dob_status plane_build(pool_plan *p, const dnnl_dims_t sd, const dnnl_dims_t dd, const dnnl_dims_t k,
                              const dnnl_dims_t s, const dnnl_dims_t pl) {
    p->plane = malloc(sizeof *p->plane);
    if (!p->plane || !dob_avg_plane_init(p->plane, sd[0] * sd[1], sd[2], sd[3], dd[2], dd[3], k[0], k[1], s[0], s[1],
                                         pl[0], pl[1])) {
        free(p->plane);
        p->plane = NULL;
        return DOB_FAIL(DOB_ENOMEM, "out of memory for the average pooling plan");
    }
    return DOB_OK;
}

static dob_status plan_forward(pool_plan *p, dob_layer *l) {
    dob_status st = DOB_OK;
    dnnl_stream_t s = dob_net_stream(l->net);
    if (p->plane) {
        dob_avg_plane_forward(p->plane, l->in[0]->data, l->out->data);
        return DOB_OK;
    }
    DOB_DNNL(dob_mem_sync(&p->src, s, NULL));
    if (p->hand) {
        max_hand_forward(p->hand, handle(p->src.prim), handle(p->dst.prim));
    } else {
        dnnl_exec_arg_t args[2] = {{DNNL_ARG_SRC, p->src.prim}, {DNNL_ARG_DST, p->dst.prim}};
        DOB_DNNL(dnnl_primitive_execute(p->fwd, s, 2, args));
    }
    DOB_DNNL(dob_mem_sync(&p->dst, s, NULL));
fail:
    return st;
}

/* d loss/d src from out->diff (and the workspace); overwrites in_diff[0]. */
static dob_status plan_backward(pool_plan *p, dob_layer *l) {
    dob_status st = DOB_OK;
    dnnl_stream_t s = dob_net_stream(l->net);
    if (!l->in_diff[0]) return DOB_OK;
    if (p->plane) {
        dob_avg_plane_backward(p->plane, l->out->diff, l->in_diff[0]);
        return DOB_OK;
    }
    DOB_DNNL(dob_mem_sync(&p->ddst, s, NULL));
    if (p->hand) {
        max_hand_backward(p->hand, handle(p->ddst.prim), handle(p->dsrc.prim));
    } else {
        dnnl_exec_arg_t args[2] = {{DNNL_ARG_DIFF_DST, p->ddst.prim}, {DNNL_ARG_DIFF_SRC, p->dsrc.prim}};
        DOB_DNNL(dnnl_primitive_execute(p->bwd, s, 2, args));
    }
    DOB_DNNL(dob_mem_sync(&p->dsrc, s, NULL));
fail:
    return st;
}

static void plan_destroy(pool_plan *p) {
    if (p->hand) free(p->hand->ws);
    free(p->hand);
    if (p->plane) dob_avg_plane_free(p->plane);
    free(p->plane);
}

static dob_status check_4d(const dob_layer *l) {
    const dob_tensor *x = l->in[0];
    if (x->ndim != 4)
        return DOB_FAIL(DOB_EINVAL, "expected a 4-D input N,C,H,W, found a %d-D tensor (%d dims per example)",
                        x->ndim, x->ndim - 1);
    return DOB_OK;
}

/* ---- max / avg pooling ---------------------------------------------------------------------------------- */
static dob_status pool_reserve(dob_layer *l, dob_arena *a) {
    (void)a;
    const dob_pool_cfg *c = l->cfg;
    const dob_tensor *x = l->in[0];
    dob_status st = check_4d(l);
    if (st != DOB_OK) return st;
    if (c->kind != DOB_POOL_MAX && c->kind != DOB_POOL_AVG)
        return DOB_FAIL(DOB_EINVAL, "unknown pooling kind %d (expected DOB_POOL_MAX or DOB_POOL_AVG)", (int)c->kind);
    if (c->pad != DOB_PAD_SAME && c->pad != DOB_PAD_VALID)
        return DOB_FAIL(DOB_EINVAL, "unknown padding %d (expected DOB_PAD_SAME or DOB_PAD_VALID)", (int)c->pad);
    if (c->kh < 1 || c->kw < 1 || c->sh < 1 || c->sw < 1)
        return DOB_FAIL(DOB_EINVAL, "expected window and strides >= 1, found window %lldx%lld, strides %lldx%lld",
                        (long long)c->kh, (long long)c->kw, (long long)c->sh, (long long)c->sw);
    int64_t H = x->dims[2], W = x->dims[3];
    if (c->pad == DOB_PAD_VALID && (c->kh > H || c->kw > W))
        return DOB_FAIL(DOB_EINVAL, "VALID pooling window %lldx%lld is larger than the input %lldx%lld",
                        (long long)c->kh, (long long)c->kw, (long long)H, (long long)W);
    l->out->ndim = 4;
    l->out->dims[1] = x->dims[1];
    l->out->dims[2] = dob_pad_out(H, c->kh, c->sh, c->pad, NULL, NULL);
    l->out->dims[3] = dob_pad_out(W, c->kw, c->sw, c->pad, NULL, NULL);
    return DOB_OK;
}

static dob_status pool_build(dob_layer *l, int64_t batch) {
    const dob_pool_cfg *c = l->cfg;
    const dob_tensor *x = l->in[0], *y = l->out;
    int64_t tl, bl, lf, rt;
    dob_pad_out(x->dims[2], c->kh, c->sh, c->pad, &tl, &bl);
    dob_pad_out(x->dims[3], c->kw, c->sw, c->pad, &lf, &rt);
    dnnl_dims_t sd = {batch, x->dims[1], x->dims[2], x->dims[3]}, dd = {batch, y->dims[1], y->dims[2], y->dims[3]};
    dnnl_dims_t k = {c->kh, c->kw}, s = {c->sh, c->sw}, pl = {tl, lf}, pr = {bl, rt};
    if (c->kind == DOB_POOL_MAX) return max_build(l->priv, l, sd, dd, k, s, pl);
    if (!dob_net_in_md(l, 0) && dob_net_precision(l->net) == DOB_F32 && dd[3] >= PLANE_MIN_OW)
        return plane_build(l->priv, sd, dd, k, s, pl);
    return avg_build(l->priv, l, sd, dd, k, s, pl, pr);
}

static dob_status pool_forward(dob_layer *l, int training) {
    (void)training; /* forward_training in both modes: the workspace write is cheap, and one plan is enough */
    return plan_forward(l->priv, l);
}

static dob_status pool_backward(dob_layer *l) { return plan_backward(l->priv, l); }

static void pool_destroy(dob_layer *l) { plan_destroy(l->priv); }

const dob_layer_ops dob_pool_ops = {
    .type = "pool", .priv_size = sizeof(pool_plan), .reserve = pool_reserve, .build = pool_build,
    .forward = pool_forward, .backward = pool_backward, .destroy = pool_destroy, .in_blocked = 1,
};

dob_status dob_net_pool(dob_net *net, const char *name, int in, const dob_pool_cfg *cfg, int *out) {
    return dob_net_add(net, &dob_pool_ops, name, cfg, sizeof *cfg, 1, &in, out);
}

/* ---- global average pooling ----------------------------------------------------------------------------- */
static dob_status gap_reserve(dob_layer *l, dob_arena *a) {
    (void)a;
    dob_status st = check_4d(l);
    if (st != DOB_OK) return st;
    l->out->ndim = 2;
    l->out->dims[1] = l->in[0]->dims[1];
    return DOB_OK;
}

typedef struct gap_priv {
    int64_t blk; /* channels per block of the input's layout (dob_md_chan_block): 1 plain, 8/16 blocked, C nhwc */
} gap_priv;

/* The input arrives in its producer's layout (in_blocked): walk it as N x C x S with channel blocks of blk. */
static dob_status gap_build(dob_layer *l, int64_t batch) {
    (void)batch;
    gap_priv *p = l->priv;
    const dnnl_memory_desc_t *md = dob_net_in_md(l, 0);
    const int64_t C = l->in[0]->dims[1], S = l->in[0]->dims[2] * l->in[0]->dims[3];
    p->blk = md ? dob_md_chan_block(md, C, S) : 1;
    if (!p->blk)
        return DOB_FAIL(DOB_EINTERNAL, "%s: input layout is neither plain nor channel-blocked", l->name);
    return DOB_OK;
}

/* Offset of x[n, c, 0] in the layout of p->blk channels per block; consecutive elements of a plane lie blk apart. */
static inline int64_t gap_at(const gap_priv *p, int64_t C, int64_t S, int64_t n, int64_t c) {
    return (n * C + c / p->blk * p->blk) * S + c % p->blk;
}

/* y[n,c] = mean of the H*W plane x[n,c,:,:]. One plane per iteration, summed in double in index order, so the
 * result depends neither on the thread count nor on the layout. x: N,C,H,W; y: N,C. */
static dob_status gap_forward(dob_layer *l, int training) {
    (void)training;
    const gap_priv *p = l->priv;
    const float *x = l->in[0]->data;
    float *y = l->out->data;
    const int64_t C = l->out->dims[1], nc = l->out->dims[0] * C, hw = l->in[0]->dims[2] * l->in[0]->dims[3];
    const int64_t B = p->blk;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < nc; i++) {
        const float *q = x + gap_at(p, C, hw, i / C, i % C);
        double s = 0.0;
        for (int64_t j = 0; j < hw; j++) s += q[j * B];
        y[i] = (float)(s / (double)hw);
    }
    return DOB_OK;
}

/* dx[n,c,h,w] = dy[n,c] / (H*W), overwriting in_diff[0] (dx: N,C,H,W in the input's layout; dy: N,C). */
static dob_status gap_backward(dob_layer *l) {
    const gap_priv *p = l->priv;
    float *dx = l->in_diff[0];
    if (!dx) return DOB_OK;
    const float *dy = l->out->diff;
    const int64_t C = l->out->dims[1], nc = l->out->dims[0] * C, hw = l->in[0]->dims[2] * l->in[0]->dims[3];
    const int64_t B = p->blk;
    const float inv = 1.0f / (float)hw;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < nc; i++) {
        const float v = dy[i] * inv;
        float *q = dx + gap_at(p, C, hw, i / C, i % C);
        for (int64_t j = 0; j < hw; j++) q[j * B] = v;
    }
    return DOB_OK;
}

const dob_layer_ops dob_gap_ops = {
    .type = "global_avg_pool", .priv_size = sizeof(gap_priv), .reserve = gap_reserve, .build = gap_build,
    .forward = gap_forward, .backward = gap_backward, .in_blocked = 1,
};

dob_status dob_net_global_avg_pool(dob_net *net, const char *name, int in, int *out) {
    return dob_net_add(net, &dob_gap_ops, name, NULL, 0, 1, &in, out);
}
