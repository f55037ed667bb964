/* conv.c: 2-D convolution (+ bias, + optional fused ReLU) through oneDNN's direct convolution primitives.
 *
 * Shapes: src in[0] N,IC,H,W (plain) -> dst out N,OC,OH,OW (plain); weights OC,IC,KH,KW (plain oihw, arena);
 * bias OC (arena). TF padding: SAME pads (total/2) top/left and the rest bottom/right (oneDNN padding_l/_r).
 *
 * Plan (build): forward_training, backward data (only when in_diff[0] != NULL: the first conv of a net reads the
 * net input, which has no diff, and skips it), backward weights (+ bias). src/weights/dst are 'any', so oneDNN
 * picks its blocked layouts; this layer owns the reorders between the plain tensors / plain arena slices and
 * the primitive layouts, and skips every reorder whose two layouts are equal. Backward data wants a different
 * weights layout than forward, so it has its own weights reorder.
 * Backward weights normally reads the forward's src copy; when oneDNN would give it another src layout (AVX2
 * on a 1-channel input picks a channel-padded one), nhwc src/diff_dst are used instead; VGG's deep 3x3 layers on
 * AVX2 run it on nchw copies, where oneDNN's gemm kernel is 1.4-1.6x faster than jit:avx2 (see make_bwd_w).
 * Saved for backward: src in the forward primitive's layout (or the plain input) and, for fused ReLU, the
 * plain dst (the mask dst > 0).
 * Fused ReLU: forward attaches an eltwise relu post-op; backward writes diff_dst * (dst > 0) straight into the
 * diff_dst buffer of the backward primitives in their layout (blocked nChw8c/16c or any plain permutation): one
 * pass instead of mask + reorder (plain scratch + reorder only for other layouts).
 * Layout propagation (net.c): the src (and diff_src) may arrive in the producer's layout (dob_net_in_md), and
 * when the only reader of dst takes blocked input (pool, conv) dst and diff_dst stay in the forward's dst layout
 * (nChw8c on AVX2): no dst reorder, and the ReLU mask is one flat pass over equal layouts.
 * Precision bf16 (dob_net_set_precision): src, weights and diff_dst are bf16 in the primitives' layouts (the
 * reorders from the f32 tensors and the f32 master weights convert, round to nearest even); dst, diff_src,
 * diff_weights and diff_bias are written f32 by oneDNN's bf16 kernels (f32 accumulation), so every tensor outside
 * this layer, the arena and its grads stay f32. The fused ReLU mask writes bf16 diff_dst directly when dst's
 * layout is diff_dst's (else mask into an f32 scratch + converting reorder). Fewer than 4 input channels stay
 * f32 (conv_bf16).
 * Backward OVERWRITES the arena grads of weights/bias and in_diff[0].
 * Algorithm (dob_net_set_conv_algo): direct by default; Winograd or oneDNN's auto choice for 3x3 stride-1 f32
 * convolutions, pass by pass where oneDNN 2.6 has a kernel (AVX-512: jit_wino_4x3); below AVX-512, Winograd runs
 * dob's own F(4x4, 3x3) (wino.c, own_wino) on the nChw8c tensors oneDNN's AVX2 kernels use; direct elsewhere
 * (dob_conv_impls says what runs). Measured: see the Winograd paragraph of README's speed section.
 * Does not: fuse tanh/sigmoid/leaky ReLU (use a separate act layer), dilate, or group. */
#include "dnnl_util.h"
#include "dob/layers.h"
#include "relu_mask.h"
#include "wino.h"

#include <stdlib.h>
#include <string.h>

typedef struct conv_priv {
    dnnl_primitive_t fwd, bwd_d, bwd_w;
    dob_mem src;        /* in[0]->data -> forward src layout; its prim is also bwd-weights' src if equal (scratch:
                           reordered again in backward, a copy of the input per conv less to hold) */
    dob_mem src_w;      /* in[0]->data -> bwd-weights src layout, only if it differs from forward's */
    dob_mem w;          /* arena weights -> forward weights layout */
    dob_mem w_bd;       /* arena weights -> bwd-data weights layout */
    dob_mem dst;        /* forward dst layout -> out->data */
    dob_mem ddst;       /* out->diff (or relu scratch) -> diff_dst layout of the first backward primitive */
    dob_mem ddst_w;     /* same -> bwd-weights diff_dst layout, only if it differs from ddst's */
    dob_mem dsrc;       /* bwd-data diff_src layout -> in_diff[0] */
    dob_mem dw;         /* bwd-weights diff_weights layout -> arena weight grads */
    dnnl_memory_t b, db; /* arena bias / bias grad (plain x) */
    float *mask_buf;    /* diff_dst * (dst > 0) in dst's layout, when the mask cannot write ddst's layout */
    int masked;         /* fused ReLU through mask_buf (then reordered like a plain diff) */
    int direct_mask;    /* fused ReLU: the mask loop writes ddst.prim in layout `lay` (dst plain) */
    int flat_mask;      /* fused ReLU: dst, its diff and ddst.prim share one layout: elementwise mask */
    int relayout_mask;  /* fused ReLU: dst/diff in layout `ylay` (propagated), ddst.prim in `lay` */
    int flat_bf16;      /* fused ReLU, bf16: dst and its diff (f32) share ddst.prim's (bf16) layout */
    dob_act_layout lay, ylay;
    dob_wino wf, wd;    /* dob's own Winograd forward (and backward weights) / backward data (own_wino) */
    int wino_f, wino_d, wino_w;
    float *wino_buf;    /* their scratch */
} conv_priv;

/* ---- reserve ------------------------------------------------------------------------------------------- */
static dob_status conv_reserve(dob_layer *l, dob_arena *a) {
    const dob_conv_cfg *c = l->cfg;
    const dob_tensor *x = l->in[0];
    if (x->ndim != 4)
        return DOB_FAIL(DOB_EINVAL, "expected a 4-D input (N,C,H,W), found %d-D", x->ndim);
    if (c->out_channels <= 0 || c->kh <= 0 || c->kw <= 0)
        return DOB_FAIL(DOB_EINVAL, "out_channels, kh, kw must be > 0, found %lld, %lld, %lld",
                        (long long)c->out_channels, (long long)c->kh, (long long)c->kw);
    if (c->sh <= 0 || c->sw <= 0)
        return DOB_FAIL(DOB_EINVAL, "strides must be > 0, found %lldx%lld", (long long)c->sh, (long long)c->sw);
    if (c->pad != DOB_PAD_SAME && c->pad != DOB_PAD_VALID)
        return DOB_FAIL(DOB_EINVAL, "padding must be SAME or VALID, found %d", (int)c->pad);
    if (c->act == DOB_ACT_TANH || c->act == DOB_ACT_SIGMOID || c->act == DOB_ACT_LRELU)
        return DOB_FAIL(DOB_EINVAL, "activation %d is not supported fused (only NONE and RELU), use a separate "
                        "act layer", (int)c->act);
    if (c->act != DOB_ACT_NONE && c->act != DOB_ACT_RELU)
        return DOB_FAIL(DOB_EINVAL, "unknown activation kind %d", (int)c->act);
    int64_t ic = x->dims[1], h = x->dims[2], w = x->dims[3];
    int64_t oh = dob_pad_out(h, c->kh, c->sh, c->pad, NULL, NULL);
    int64_t ow = dob_pad_out(w, c->kw, c->sw, c->pad, NULL, NULL);
    if (oh <= 0 || ow <= 0)
        return DOB_FAIL(DOB_EINVAL, "kernel %lldx%lld is larger than the %s input %lldx%lld: the output would be "
                        "empty", (long long)c->kh, (long long)c->kw, c->pad == DOB_PAD_VALID ? "VALID" : "SAME",
                        (long long)h, (long long)w);
    l->out->ndim = 4;
    l->out->dims[1] = c->out_channels;
    l->out->dims[2] = oh;
    l->out->dims[3] = ow;
    int64_t wd[4] = {c->out_channels, ic, c->kh, c->kw};
    dob_status st = dob_layer_param(l, a, "weights", 4, wd, ic * c->kh * c->kw, c->out_channels * c->kh * c->kw,
                                    c->w_init, c->l2 ? DOB_PARAM_L2 : 0u, NULL);
    if (st != DOB_OK || !c->bias) return st;
    /* TF's fan rule for a 1-D shape: fan_in = fan_out = its length */
    return dob_layer_param(l, a, "bias", 1, &c->out_channels, c->out_channels, c->out_channels, c->b_init, 0u,
                           NULL);
}

/* ---- build --------------------------------------------------------------------------------------------- */
/* A backward-weights pd on src / diff_dst in `tag` (direct), replacing *pd when oneDNN implements it with an
 * implementation whose name contains `want` (NULL: any but the reference kernel). @return 1 if replaced. */
static int try_bwd_w_tag(dnnl_primitive_desc_t *pd, dnnl_engine_t eng, const_dnnl_primitive_desc_t fpd,
                         const dnnl_convolution_desc_t *fd, const dnnl_memory_desc_t *any_w,
                         const dnnl_memory_desc_t *b_md, const dnnl_memory_desc_t *any_ddst, dnnl_format_tag_t tag,
                         const char *want) {
    dnnl_convolution_desc_t d;
    dnnl_memory_desc_t src, dst;
    dnnl_primitive_desc_t alt = NULL;
    const char *impl = "ref";
    if (dnnl_memory_desc_init_by_tag(&src, 4, fd->src_desc.dims, fd->src_desc.data_type, tag) != dnnl_success ||
        dnnl_memory_desc_init_by_tag(&dst, 4, any_ddst->dims, any_ddst->data_type, tag) != dnnl_success ||
        dnnl_convolution_backward_weights_desc_init(&d, dnnl_convolution_direct, &src, any_w, b_md, &dst,
                                                    fd->strides, fd->padding[0], fd->padding[1]) != dnnl_success ||
        dnnl_primitive_desc_create(&alt, &d, NULL, eng, fpd) != dnnl_success ||
        dnnl_primitive_desc_query(alt, dnnl_query_impl_info_str, 0, &impl) != dnnl_success ||
        (want ? strstr(impl, want) == NULL : !strncmp(impl, "ref", 3))) {
        if (alt) dnnl_primitive_desc_destroy(alt);
        return 0;
    }
    dnnl_primitive_desc_destroy(*pd);
    *pd = alt;
    return 1;
}

/* oneDNN 2.6's jit:avx2 backward-weights kernel runs the deep 3x3 layers of VGG at 64-93 GFLOP/s, where its
 * im2col + sgemm implementation on nchw (x64:gemm:jit) reaches 102-144: Zen 3, 2 threads, batch 32, ms
 * (`bench/bench_conv`-style timing of the bare primitives, interleaved): 128->256 at 56x56 806 -> 531, 256->512
 * at 28x28 789 -> 580, 512->512 at 14x14 326 -> 206; at batch 8 also 256->256 at 56 and 512->512 at 28 (-17%,
 * -42%). Outside that range the direct kernel is as fast or faster (64->64 at 224: 295 vs 453 ms; 448->384 and
 * 640->640 at 8x8: 18 vs 21, 34 vs 53; 32->64 5x5 at 14x14: 21 vs 37), so the rule takes only the 3x3 stride-1
 * layers with >= 128 input and >= 256 output channels on 14..56-pixel maps, and only where oneDNN picked
 * jit:avx2 (AVX-512 kernels are another matter). The nchw copies of src and diff_dst cost two reorders (~1% of
 * the pass). */
static int gemm_bwd_w_wins(const dnnl_convolution_desc_t *fd, const_dnnl_primitive_desc_t pd) {
    const char *impl = NULL;
    const dnnl_dim_t *s = fd->src_desc.dims, *w = fd->weights_desc.dims, *d = fd->dst_desc.dims;
    if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) != dnnl_success || !impl ||
        strcmp(impl, "jit:avx2") != 0 || fd->src_desc.data_type != dnnl_f32)
        return 0;
    return w[2] == 3 && w[3] == 3 && fd->strides[0] == 1 && fd->strides[1] == 1 && s[1] >= 128 && d[1] >= 256 &&
           d[2] >= 14 && d[2] <= 56 && d[3] >= 14 && d[3] <= 56;
}

/* Backward-weights pd. 'any' layouts with the forward hint are the default; but when that picks another src
 * layout than forward (AVX2 on a 1-channel input picks a channel-padded nChw8c: 8x the taps plus a src reorder;
 * measured 19.5 ms vs 5.2 ms for fmnist conv1 at batch 128, 2 threads), nhwc src and diff_dst are used instead
 * if a non-reference implementation takes them; and VGG's deep layers on AVX2 take the gemm kernel on nchw
 * (gemm_bwd_w_wins). *nhwc: the nhwc case. */
static dnnl_status_t make_bwd_w(dnnl_primitive_desc_t *pd, dnnl_engine_t eng, const dnnl_primitive_desc_t fpd,
                                const dnnl_convolution_desc_t *fd, const dnnl_memory_desc_t *any_w,
                                const dnnl_memory_desc_t *b_md, const dnnl_memory_desc_t *any_ddst, int *nhwc,
                                dnnl_alg_kind_t alg) {
    dnnl_convolution_desc_t d;
    dnnl_memory_desc_t src = fd->src_desc, dst = *any_ddst;
    dnnl_status_t s;
    *nhwc = 0;
    if (alg != dnnl_convolution_direct) { /* Winograd / auto where oneDNN implements it, else direct below */
        s = dnnl_convolution_backward_weights_desc_init(&d, alg, &src, any_w, b_md, &dst, fd->strides,
                                                        fd->padding[0], fd->padding[1]);
        if (s == dnnl_success && dnnl_primitive_desc_create(pd, &d, NULL, eng, fpd) == dnnl_success)
            return dnnl_success;
    }
    s = dnnl_convolution_backward_weights_desc_init(&d, dnnl_convolution_direct, &src, any_w, b_md, &dst,
                                                    fd->strides, fd->padding[0], fd->padding[1]);
    if (s != dnnl_success || (s = dnnl_primitive_desc_create(pd, &d, NULL, eng, fpd)) != dnnl_success) return s;
    if (gemm_bwd_w_wins(fd, *pd)) {
        try_bwd_w_tag(pd, eng, fpd, fd, any_w, b_md, any_ddst, dnnl_abcd, "gemm");
        return dnnl_success;
    }
    if (!dnnl_memory_desc_equal(dnnl_primitive_desc_query_md(*pd, dnnl_query_src_md, 0),
                                dnnl_primitive_desc_query_md(fpd, dnnl_query_src_md, 0)))
        *nhwc = try_bwd_w_tag(pd, eng, fpd, fd, any_w, b_md, any_ddst, dnnl_acdb, NULL);
    return dnnl_success;
}

/* In bf16 mode (dob_net_set_precision) a conv with fewer than 4 input channels (the first conv of an image net)
 * computes in f32: oneDNN's bf16 kernels pair input channels (VNNI) or take 32 per AMX tile row, so 1 or 3 channels
 * leave most of each multiply unused. Measured (Sapphire Rapids, AMX, 2 threads, bench_step --profile, fwd + bwd
 * ms): fmnist conv1 1->32 5x5 at 28x28 bf16 1.44 + 4.36 against f32 1.02 + 2.23; cifar10_3c3d conv1 3->64 5x5
 * 3.02 + 8.67 against 3.41 + 6.48. f32 is also the more accurate; every later layer sees the same f32 tensors. */
enum { CONV_BF16_MIN_IC = 4 };
static int conv_bf16(const dob_layer *l) {
    return dob_net_precision(l->net) == DOB_BF16 && l->in[0]->dims[1] >= CONV_BF16_MIN_IC;
}

/* The algorithm this layer asks oneDNN for (dob_net_conv_algo): Winograd or auto only for 3x3 stride-1 f32
 * convolutions (oneDNN 2.6 has no other Winograd kernels on CPU); each pass that oneDNN cannot implement with it
 * (AVX2: no Winograd at all) falls back to direct, so any setting works on any CPU. */
static dnnl_alg_kind_t conv_alg(const dob_layer *l) {
    const dob_conv_cfg *c = l->cfg;
    const dob_conv_algo a = dob_net_conv_algo(l->net);
    if (a == DOB_CONV_DIRECT || c->kh != 3 || c->kw != 3 || c->sh != 1 || c->sw != 1 || conv_bf16(l))
        return dnnl_convolution_direct;
    return a == DOB_CONV_WINOGRAD ? dnnl_convolution_winograd : dnnl_convolution_auto;
}

/* Forward / backward-data primitive descriptors with alg, falling back to direct where oneDNN has no kernel. */
static dnnl_status_t make_fwd(dnnl_primitive_desc_t *pd, dnnl_convolution_desc_t *fd, dnnl_alg_kind_t alg,
                              const dnnl_memory_desc_t *src, const dnnl_memory_desc_t *w, const dnnl_memory_desc_t *b,
                              const dnnl_memory_desc_t *dst, const dnnl_dims_t strides, const dnnl_dims_t pad_l,
                              const dnnl_dims_t pad_r, const_dnnl_primitive_attr_t attr, dnnl_engine_t eng) {
    dnnl_status_t s = dnnl_unimplemented;
    if (alg != dnnl_convolution_direct &&
        dnnl_convolution_forward_desc_init(fd, dnnl_forward_training, alg, src, w, b, dst, strides, pad_l, pad_r) ==
            dnnl_success)
        s = dnnl_primitive_desc_create(pd, fd, attr, eng, NULL);
    if (s == dnnl_success) return s;
    s = dnnl_convolution_forward_desc_init(fd, dnnl_forward_training, dnnl_convolution_direct, src, w, b, dst, strides,
                                           pad_l, pad_r);
    return s == dnnl_success ? dnnl_primitive_desc_create(pd, fd, attr, eng, NULL) : s;
}

static dnnl_status_t make_bwd_d(dnnl_primitive_desc_t *pd, dnnl_alg_kind_t alg, const dnnl_memory_desc_t *dsrc,
                                const dnnl_memory_desc_t *w, const dnnl_memory_desc_t *ddst,
                                const dnnl_convolution_desc_t *fd, dnnl_engine_t eng, const_dnnl_primitive_desc_t fpd) {
    dnnl_convolution_desc_t d;
    dnnl_status_t s = dnnl_unimplemented;
    if (alg != dnnl_convolution_direct &&
        dnnl_convolution_backward_data_desc_init(&d, alg, dsrc, w, ddst, fd->strides, fd->padding[0],
                                                 fd->padding[1]) == dnnl_success)
        s = dnnl_primitive_desc_create(pd, &d, NULL, eng, fpd);
    if (s == dnnl_success) return s;
    s = dnnl_convolution_backward_data_desc_init(&d, dnnl_convolution_direct, dsrc, w, ddst, fd->strides,
                                                 fd->padding[0], fd->padding[1]);
    return s == dnnl_success ? dnnl_primitive_desc_create(pd, &d, NULL, eng, fpd) : s;
}

static int is_f32_8c(const dnnl_memory_desc_t *md) {
    dnnl_memory_desc_t b;
    return md->data_type == dnnl_f32 && dnnl_memory_desc_init_by_tag(&b, 4, md->dims, dnnl_f32, dnnl_nChw8c) ==
                                            dnnl_success && dnnl_memory_desc_equal(&b, md);
}

/* --conv-algo winograd where oneDNN has no Winograd kernel for this pass (AVX2): dob's own F(4x4, 3x3) (wino.c)
 * when both tensors of the pass are nChw8c (oneDNN's AVX2 choice for >= 8 channels) and the channel counts are
 * multiples of 8; the pass's oneDNN primitive is then built but not run. `auto` leaves the choice to oneDNN
 * (direct on AVX2). pd: the forward's (its kernel must not be oneDNN's Winograd) or backward data's. */
static int own_wino(const dob_layer *l, const_dnnl_primitive_desc_t pd, const dnnl_memory_desc_t *in,
                    const dnnl_memory_desc_t *out) {
    const char *impl = NULL;
    return dob_net_conv_algo(l->net) == DOB_CONV_WINOGRAD && conv_alg(l) != dnnl_convolution_direct &&
           dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) == dnnl_success && impl &&
           !strstr(impl, "wino") && is_f32_8c(in) && is_f32_8c(out);
}

/* Below 64 input channels a pass's transforms cost more than the multiplies they save (bench/bench_wino, Zen 3,
 * batch 32, ms, jit:avx2 -> dob's Winograd: Inception's stem 32->32 at 147x147 forward 80 -> 101, backward data
 * 79 -> 88; 32->64 forward 138 -> 154 but backward weights 235 -> 159; 64->96 at 35x35 33 -> 19, 29 -> 20,
 * 61 -> 23), so forward and backward data take it from 64 channels into the pass, backward weights from 64 on
 * either side. */
enum { WINO_MIN_CHANNELS = 64 };

/* Decide and size the own Winograd passes: forward src -> dst with the layer's padding, backward data diff_dst ->
 * diff_src with the complementary padding 2 - pad and the rotated weights (bdpd NULL: no backward data), backward
 * weights from the forward's src copy and the diff_dst buffer (layout ddst_md). */
static dnnl_status_t wino_build(dob_layer *l, const_dnnl_primitive_desc_t fpd, const_dnnl_primitive_desc_t bdpd,
                                const dnnl_memory_desc_t *ddst_md, const dnnl_dims_t pad_l) {
    conv_priv *p = l->priv;
    const dob_tensor *x = l->in[0], *y = l->out;
    const int64_t n = x->dims[0], ic = x->dims[1], h = x->dims[2], w = x->dims[3];
    const int64_t oc = y->dims[1], oh = y->dims[2], ow = y->dims[3], pt = pad_l[0], pl = pad_l[1];
    const dnnl_memory_desc_t *f_src = dnnl_primitive_desc_query_md(fpd, dnnl_query_src_md, 0);
    const int geom = dob_wino_init(&p->wf, n, ic, oc, h, w, oh, ow, pt, pl);
    p->wino_f = geom && ic >= WINO_MIN_CHANNELS &&
                own_wino(l, fpd, f_src, dnnl_primitive_desc_query_md(fpd, dnnl_query_dst_md, 0));
    p->wino_w = geom && (ic >= WINO_MIN_CHANNELS || oc >= WINO_MIN_CHANNELS) && own_wino(l, fpd, f_src, ddst_md);
    p->wino_d = bdpd && oc >= WINO_MIN_CHANNELS &&
                own_wino(l, bdpd, dnnl_primitive_desc_query_md(bdpd, dnnl_query_diff_dst_md, 0),
                         dnnl_primitive_desc_query_md(bdpd, dnnl_query_diff_src_md, 0)) &&
                dob_wino_init(&p->wd, n, oc, ic, oh, ow, h, w, 2 - pt, 2 - pl);
    const size_t f = p->wino_f || p->wino_w ? dob_wino_scratch(&p->wf) : 0;
    const size_t d = p->wino_d ? dob_wino_scratch(&p->wd) : 0;
    return f || d ? dob_own_tmp(l, &p->wino_buf, f > d ? f : d) : dnnl_success;
}

static dob_status conv_build(dob_layer *l, int64_t batch) {
    (void)batch;
    dob_status st = DOB_OK;
    conv_priv *p = l->priv;
    const dob_conv_cfg *c = l->cfg;
    dnnl_engine_t eng = dob_net_engine(l->net);
    const dob_tensor *x = l->in[0], *y = l->out;
    const dob_param_info *wi = dob_arena_info(l->arena, l->param[0]);
    dnnl_memory_desc_t src_md, dst_md, w_md, b_md, any_src, any_dst, any_w, any_ddst, any_dsrc;
    dnnl_convolution_desc_t fd;
    dnnl_primitive_desc_t fpd = NULL, bdpd = NULL, bwpd = NULL;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    dnnl_dims_t strides = {c->sh, c->sw}, pad_l, pad_r;
    dnnl_dims_t xd = {x->dims[0], x->dims[1], x->dims[2], x->dims[3]};
    dnnl_dims_t yd = {y->dims[0], y->dims[1], y->dims[2], y->dims[3]};
    dnnl_dims_t wdims = {wi->dims[0], wi->dims[1], wi->dims[2], wi->dims[3]};
    int64_t t, bo;
    dob_pad_out(x->dims[2], c->kh, c->sh, c->pad, &t, &bo);
    pad_l[0] = t;
    pad_r[0] = bo;
    dob_pad_out(x->dims[3], c->kw, c->sw, c->pad, &t, &bo);
    pad_l[1] = t;
    pad_r[1] = bo;

    DOB_DNNL(dob_md_plain(&src_md, 4, x->dims));
    DOB_DNNL(dob_md_plain(&dst_md, 4, y->dims));
    DOB_DNNL(dob_md_plain(&w_md, 4, wi->dims));
    DOB_DNNL(dob_md_plain(&b_md, 1, &c->out_channels));
    /* bf16: the primitives read bf16 src, weights and diff_dst (the reorders from the f32 tensors and the f32
     * arena round to nearest even) and write f32 dst, diff_src and diff_weights (f32 accumulation inside) */
    const dnnl_data_type_t lo = conv_bf16(l) ? dnnl_bf16 : dnnl_f32;
    DOB_DNNL(dnnl_memory_desc_init_by_tag(&any_src, 4, xd, lo, dnnl_format_tag_any));
    DOB_DNNL(dnnl_memory_desc_init_by_tag(&any_dst, 4, yd, dnnl_f32, dnnl_format_tag_any));
    DOB_DNNL(dnnl_memory_desc_init_by_tag(&any_w, 4, wdims, lo, dnnl_format_tag_any));
    DOB_DNNL(dnnl_memory_desc_init_by_tag(&any_ddst, 4, yd, lo, dnnl_format_tag_any));
    DOB_DNNL(dnnl_memory_desc_init_by_tag(&any_dsrc, 4, xd, dnnl_f32, dnnl_format_tag_any));

    /* forward (+ relu post-op) */
    const dnnl_alg_kind_t alg = conv_alg(l);
    DOB_DNNL(dnnl_primitive_attr_create(&attr));
    if (c->act == DOB_ACT_RELU) {
        DOB_DNNL(dnnl_post_ops_create(&po));
        DOB_DNNL(dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f));
        DOB_DNNL(dnnl_primitive_attr_set_post_ops(attr, po));
    }
    DOB_DNNL(make_fwd(&fpd, &fd, alg, &any_src, &any_w, c->bias ? &b_md : NULL, &any_dst, strides, pad_l, pad_r, attr,
                      eng));
    DOB_DNNL(dob_own_primitive(l, &p->fwd, fpd));
    const dnnl_memory_desc_t *f_src = dnnl_primitive_desc_query_md(fpd, dnnl_query_src_md, 0);
    const dnnl_memory_desc_t *x_md = dob_net_in_md(l, 0) ? dob_net_in_md(l, 0) : &src_md;
    DOB_DNNL(dob_own_mem_tmp(l, &p->src, eng, x_md, f_src, x->data, 1));
    DOB_DNNL(dob_own_mem_tmp(l, &p->w, eng, &w_md, dnnl_primitive_desc_query_md(fpd, dnnl_query_weights_md, 0),
                              NULL, 1));
    const dnnl_memory_desc_t *f_dst = dnnl_primitive_desc_query_md(fpd, dnnl_query_dst_md, 0);
    const dnnl_memory_desc_t *y_md = dob_net_set_out_md(l, f_dst) ? f_dst : &dst_md;
    DOB_DNNL(dob_own_mem_tmp(l, &p->dst, eng, y_md, f_dst, y->data, 0));
    if (c->bias) {
        DOB_DNNL(dob_own_memory(l, &p->b, &b_md, eng, DNNL_MEMORY_NONE));
        DOB_DNNL(dob_own_memory(l, &p->db, &b_md, eng, DNNL_MEMORY_NONE));
    }

    /* backward weights (+ bias) */
    int nhwc;
    dnnl_memory_desc_t any_dw = any_w;
    any_dw.data_type = dnnl_f32; /* f32 weight gradients straight into the arena, also in bf16 */
    DOB_DNNL(make_bwd_w(&bwpd, eng, fpd, &fd, &any_dw, c->bias ? &b_md : NULL, &any_ddst, &nhwc, alg));
    DOB_DNNL(dob_own_primitive(l, &p->bwd_w, bwpd));
    const dnnl_memory_desc_t *w_src = dnnl_primitive_desc_query_md(bwpd, dnnl_query_src_md, 0);
    if (!dnnl_memory_desc_equal(w_src, f_src)) {
        /* with one channel nhwc and nchw are the same bytes: wrap the input, no reorder */
        dnnl_memory_desc_t same;
        int one = nhwc && x->dims[1] == 1 && x_md == &src_md;
        if (one) DOB_DNNL(dnnl_memory_desc_init_by_tag(&same, 4, xd, dnnl_f32, dnnl_acdb)); /* converts if bf16 */
        DOB_DNNL(dob_own_mem_tmp(l, &p->src_w, eng, one ? &same : x_md, w_src, x->data, 1));
    }
    DOB_DNNL(dob_own_mem_tmp(l, &p->dw, eng, &w_md,
                              dnnl_primitive_desc_query_md(bwpd, dnnl_query_diff_weights_md, 0), NULL, 0));
    const dnnl_memory_desc_t *w_ddst = dnnl_primitive_desc_query_md(bwpd, dnnl_query_diff_dst_md, 0);

    /* backward data, only when someone needs d loss / d src */
    const dnnl_memory_desc_t *ddst_md = w_ddst;
    if (l->in_diff[0]) {
        DOB_DNNL(make_bwd_d(&bdpd, alg, &any_dsrc, &any_w, &any_ddst, &fd, eng, fpd));
        DOB_DNNL(dob_own_primitive(l, &p->bwd_d, bdpd));
        DOB_DNNL(dob_own_mem_tmp(l, &p->w_bd, eng, &w_md,
                                  dnnl_primitive_desc_query_md(bdpd, dnnl_query_weights_md, 0), NULL, 1));
        DOB_DNNL(dob_own_mem_tmp(l, &p->dsrc, eng, x_md,
                                  dnnl_primitive_desc_query_md(bdpd, dnnl_query_diff_src_md, 0), l->in_diff[0], 0));
        ddst_md = dnnl_primitive_desc_query_md(bdpd, dnnl_query_diff_dst_md, 0);
    }

    /* diff_dst: the fused ReLU mask loop writes the primitive layout directly (the mask is the "reorder");
     * otherwise (no ReLU, or an exotic layout) the plain diff (or masked scratch) is reordered */
    if (c->act == DOB_ACT_RELU && lo == dnnl_bf16) {
        /* the mask loops below write f32; in bf16 only the flat one has a converting twin, else mask + reorder */
        dnnl_memory_desc_t yb = *y_md;
        yb.data_type = dnnl_bf16;
        p->flat_bf16 = dnnl_memory_desc_equal(&yb, ddst_md);
    } else if (c->act == DOB_ACT_RELU) {
        p->flat_mask = dnnl_memory_desc_equal(y_md, ddst_md);
        p->direct_mask = !p->flat_mask && y_md == &dst_md && dob_act_layout_of(ddst_md, &p->lay);
        /* e.g. conv1 on AVX2: nChw8c dst handed to pool1, nhwc diff_dst for its 1-channel bwd-weights */
        p->relayout_mask = !p->flat_mask && !p->direct_mask && dob_act_layout_of(y_md, &p->ylay) &&
                           dob_act_layout_of(ddst_md, &p->lay);
    }
    const int fused = p->direct_mask || p->flat_mask || p->relayout_mask || p->flat_bf16;
    /* backward's buffers are scratch (dnnl_util.h): bound after the build, so their handles are set per call */
    p->masked = c->act == DOB_ACT_RELU && !fused;
    if (p->masked) DOB_DNNL(dob_own_tmp(l, &p->mask_buf, y->count));
    if (fused) { /* the mask loop writes the primitive layout: ddst is that buffer alone (not a dob_mem pair) */
        DOB_DNNL(dob_own_memory_tmp(l, &p->ddst.prim, ddst_md, eng));
        p->ddst.user = p->ddst.prim;
    } else {
        DOB_DNNL(dob_own_mem_tmp(l, &p->ddst, eng, y_md, ddst_md, NULL, 1));
    }
    /* rare: the two backward primitives disagree; reorder from the first one's buffer */
    if (p->bwd_d && !dnnl_memory_desc_equal(w_ddst, ddst_md))
        DOB_DNNL(dob_own_mem_tmp(l, &p->ddst_w, eng, ddst_md, w_ddst, NULL, 1));
    DOB_DNNL(wino_build(l, fpd, bdpd, ddst_md, pad_l));

fail:
    if (po) dnnl_post_ops_destroy(po);
    if (attr) dnnl_primitive_attr_destroy(attr);
    if (fpd) dnnl_primitive_desc_destroy(fpd);
    if (bdpd) dnnl_primitive_desc_destroy(bdpd);
    if (bwpd) dnnl_primitive_desc_destroy(bwpd);
    return st;
}

/* ---- forward ------------------------------------------------------------------------------------------- */
/* The own Winograd pass (wino_build): src into its nChw8c buffer, run into the dst buffer, dst out to the user
 * layout; bias and the fused ReLU in the output transform. */
static dnnl_status_t wino_forward(dob_layer *l, dnnl_stream_t s) {
    conv_priv *p = l->priv;
    const dob_conv_cfg *c = l->cfg;
    void *x, *y;
    dnnl_status_t r;
    if ((r = dob_mem_sync(&p->src, s, NULL)) != dnnl_success ||
        (r = dnnl_memory_get_data_handle(p->src.prim, &x)) != dnnl_success ||
        (r = dnnl_memory_get_data_handle(p->dst.prim, &y)) != dnnl_success ||
        (r = dob_wino_run(&p->wf, dob_arena_param(l->arena, l->param[0]), 0, x, y,
                          c->bias ? dob_arena_param(l->arena, l->param[1]) : NULL, c->act == DOB_ACT_RELU,
                          p->wino_buf)) != dnnl_success)
        return r;
    return dob_mem_sync(&p->dst, s, NULL);
}

static dob_status conv_forward(dob_layer *l, int training) {
    (void)training;
    dob_status st = DOB_OK;
    conv_priv *p = l->priv;
    dnnl_stream_t s = dob_net_stream(l->net);
    if (p->wino_f)
        DOB_DNNL(wino_forward(l, s));
    else
        DOB_DNNL(dob_exec_fwd_w(p->fwd, s, &p->src, &p->w, dob_arena_param(l->arena, l->param[0]), p->b,
                                p->b ? dob_arena_param(l->arena, l->param[1]) : NULL, &p->dst));
fail:
    return st;
}

/* ---- backward ------------------------------------------------------------------------------------------ */
/* Backward data through the own Winograd pass: diff_dst (nChw8c) -> diff_src buffer (nChw8c) -> the user layout. */
static dnnl_status_t wino_backward_data(dob_layer *l, dnnl_stream_t s, dnnl_memory_t ddst) {
    conv_priv *p = l->priv;
    void *g, *d;
    dnnl_status_t r;
    if ((r = dnnl_memory_get_data_handle(ddst, &g)) != dnnl_success ||
        (r = dnnl_memory_get_data_handle(p->dsrc.prim, &d)) != dnnl_success ||
        (r = dob_wino_run(&p->wd, dob_arena_param(l->arena, l->param[0]), 1, g, d, NULL, 0, p->wino_buf)) !=
            dnnl_success)
        return r;
    return dob_mem_sync(&p->dsrc, s, NULL);
}

/* Backward weights through the own Winograd pass: the forward's nChw8c src copy and diff_dst into the arena grads. */
static dnnl_status_t wino_backward_weights(dob_layer *l, dnnl_memory_t ddst) {
    conv_priv *p = l->priv;
    void *x, *g;
    dnnl_status_t r;
    if ((r = dnnl_memory_get_data_handle(p->src.prim, &x)) != dnnl_success ||
        (r = dnnl_memory_get_data_handle(ddst, &g)) != dnnl_success)
        return r;
    return dob_wino_bwd_w(&p->wf, x, g, dob_arena_grad(l->arena, l->param[0]),
                          p->db ? dob_arena_grad(l->arena, l->param[1]) : NULL, p->wino_buf);
}

static dob_status conv_backward(dob_layer *l) {
    dob_status st = DOB_OK;
    conv_priv *p = l->priv;
    const dob_tensor *y = l->out;
    dnnl_stream_t s = dob_net_stream(l->net);
    if (p->flat_mask) {
        void *g;
        DOB_DNNL(dnnl_memory_get_data_handle(p->ddst.prim, &g));
        dob_relu_mask(y->data, y->diff, g, y->count);
    } else if (p->flat_bf16) {
        void *g;
        DOB_DNNL(dnnl_memory_get_data_handle(p->ddst.prim, &g));
        dob_relu_mask_bf16(y->data, y->diff, g, y->count);
    } else if (p->relayout_mask) {
        void *g;
        DOB_DNNL(dnnl_memory_get_data_handle(p->ddst.prim, &g));
        dob_relu_mask_relayout(y->data, y->diff, g, y->dims[0], y->dims[1], y->dims[2], y->dims[3], &p->ylay, &p->lay);
    } else if (p->direct_mask) {
        void *g;
        DOB_DNNL(dnnl_memory_get_data_handle(p->ddst.prim, &g));
        dob_relu_mask_to(y->data, y->diff, g, y->dims[0], y->dims[1], y->dims[2], y->dims[3], &p->lay);
    } else {
        if (p->masked) dob_relu_mask(y->data, y->diff, p->mask_buf, y->count);
        DOB_DNNL(dob_mem_sync(&p->ddst, s, p->masked ? p->mask_buf : y->diff));
    }
    dnnl_memory_t ddst_w = p->ddst.prim;
    if (p->ddst_w.user && !p->wino_w) {
        void *h;
        DOB_DNNL(dnnl_memory_get_data_handle(p->ddst.prim, &h));
        DOB_DNNL(dob_mem_sync(&p->ddst_w, s, h));
        ddst_w = p->ddst_w.prim;
    }
    if (p->wino_d)
        DOB_DNNL(wino_backward_data(l, s, p->ddst.prim));
    else if (p->bwd_d)
        DOB_DNNL(dob_exec_bwd_d(p->bwd_d, s, p->ddst.prim, &p->w_bd, dob_arena_param(l->arena, l->param[0]),
                                &p->dsrc));
    if (p->src.reorder && (!p->src_w.user || p->wino_w)) DOB_DNNL(dob_mem_sync(&p->src, s, NULL)); /* scratch */
    if (p->wino_w)
        DOB_DNNL(wino_backward_weights(l, p->ddst.prim));
    else
        DOB_DNNL(dob_exec_bwd_w(p->bwd_w, s, &p->src, &p->src_w, ddst_w, &p->dw,
                                dob_arena_grad(l->arena, l->param[0]), p->db,
                                p->db ? dob_arena_grad(l->arena, l->param[1]) : NULL));
fail:
    return st;
}

const dob_layer_ops dob_conv_ops = {
    .type = "conv", .priv_size = sizeof(conv_priv), .reserve = conv_reserve, .build = conv_build,
    .forward = conv_forward, .backward = conv_backward, .in_blocked = 1,
};

dob_status dob_net_conv(dob_net *net, const char *name, int in, const dob_conv_cfg *cfg, int *out) {
    return dob_net_add(net, &dob_conv_ops, name, cfg, sizeof *cfg, 1, &in, out);
}

static const char *impl_of(dnnl_primitive_t prim) {
    const_dnnl_primitive_desc_t pd = NULL;
    const char *impl = NULL;
    if (!prim || dnnl_primitive_get_primitive_desc(prim, &pd) != dnnl_success ||
        dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) != dnnl_success)
        return NULL;
    return impl;
}

void dob_conv_impls(const dob_layer *l, const char **fwd, const char **bwd_d, const char **bwd_w) {
    const conv_priv *p = l->ops == &dob_conv_ops ? l->priv : NULL;
    *fwd = p ? (p->wino_f ? DOB_WINO_IMPL : impl_of(p->fwd)) : NULL;
    *bwd_d = p ? (p->wino_d ? DOB_WINO_IMPL : impl_of(p->bwd_d)) : NULL;
    *bwd_w = p ? (p->wino_w ? DOB_WINO_IMPL : impl_of(p->bwd_w)) : NULL;
}
