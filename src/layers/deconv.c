/* deconv.c: 2-D transposed convolution (TF conv2d_transpose, + bias, + optional fused ReLU) through oneDNN's
 * deconvolution primitives.
 *
 * Shapes: src in[0] N,IC,H,W (plain) -> dst out N,OC,OH,OW (plain); weights OC,IC,KH,KW (plain oihw, arena; TF's
 * kernel is [KH,KW,OC,IC], the same taps); bias OC (arena).
 * Output size and padding are TF's: a transposed convolution is the input gradient of the convolution that maps
 * an OH x OW image to H x W with the same kernel, stride and padding, so
 *   SAME:  OH = H * stride, and that convolution's SAME padding total = max((H-1)*stride + KH - OH, 0), split
 *          floor(total/2) top/left, the rest bottom/right (k4 s2: 1/1; k4 s1: 1/2);
 *   VALID: OH = H * stride + max(KH - stride, 0), no padding.
 * oneDNN's deconvolution is exactly that convolution's backward data (dst[oh] += src[ih] w[k] where
 * oh = ih * stride - pad_l + k), so the same padding_l/padding_r give TF's output, no kernel flip.
 * Both need KH >= stride (and KW >= stride): with a smaller kernel TF leaves output rows no tap reaches, which
 * oneDNN's size rule cannot express; DeepOBS never does that, so it is refused at reserve.
 *
 * Plan (build): forward_training, backward data (only when in_diff[0] != NULL), backward weights (+ bias), all
 * with 'any' layouts; the layer owns the reorders between the plain tensors / arena and the primitive layouts.
 * Saved for backward: src in the forward primitive's layout and, for fused ReLU, the plain dst (mask dst > 0).
 * Precision bf16 (dob_net_set_precision): as conv.c, the primitives read bf16 src, weights and diff_dst and write
 * f32 dst, diff_src, diff_weights and diff_bias; the reorders from the plain f32 tensors and arena convert.
 * Backward OVERWRITES the arena grads of weights/bias and in_diff[0].
 * Does not: take or hand on blocked layouts (in/out always plain), dilate, group, or fuse other activations. */
#include "dnnl_util.h"
#include "dob/layers.h"
#include "relu_mask.h"

#include <stdlib.h>
#include <string.h>

typedef struct deconv_priv {
    dnnl_primitive_t fwd, bwd_d, bwd_w;
    dob_mem src;        /* in[0]->data -> forward src layout */
    dob_mem src_w;      /* in[0]->data -> bwd-weights src layout, only if it differs from forward's */
    dob_mem w;          /* arena weights -> forward weights layout */
    dob_mem w_bd;       /* arena weights -> bwd-data weights layout */
    dob_mem dst;        /* forward dst layout -> out->data */
    dob_mem ddst_d;     /* out->diff (or the ReLU-masked copy) -> bwd-data diff_dst layout */
    dob_mem ddst_w;     /* same -> bwd-weights diff_dst layout */
    dob_mem dsrc;       /* bwd-data diff_src layout -> in_diff[0] */
    dob_mem dw;         /* bwd-weights diff_weights layout -> arena weight grads */
    dnnl_memory_t b, db; /* arena bias / bias grad (plain x) */
    float *mask_buf;    /* diff_dst * (dst > 0), plain, for fused ReLU */
} deconv_priv;

/* TF transposed-conv geometry for one spatial dim: output size, leading and trailing padding. */
int64_t dob_deconv_out(int64_t in, int64_t k, int64_t stride, dob_padding pad, int64_t *pad_l, int64_t *pad_r) {
    int64_t out = pad == DOB_PAD_SAME ? in * stride : in * stride + (k > stride ? k - stride : 0);
    int64_t total = pad == DOB_PAD_SAME ? (in - 1) * stride + k - out : 0;
    if (total < 0) total = 0;
    if (pad_l) *pad_l = total / 2;
    if (pad_r) *pad_r = total - total / 2;
    return out;
}

/* ---- reserve ------------------------------------------------------------------------------------------- */
static dob_status deconv_reserve(dob_layer *l, dob_arena *a) {
    const dob_conv_cfg *c = l->cfg;
    const dob_tensor *x = l->in[0];
    if (x->ndim != 4) return DOB_FAIL(DOB_EINVAL, "expected a 4-D input (N,C,H,W), found %d-D", x->ndim);
    if (c->out_channels <= 0 || c->kh <= 0 || c->kw <= 0)
        return DOB_FAIL(DOB_EINVAL, "out_channels, kh, kw must be > 0, found %lld, %lld, %lld",
                        (long long)c->out_channels, (long long)c->kh, (long long)c->kw);
    if (c->sh <= 0 || c->sw <= 0)
        return DOB_FAIL(DOB_EINVAL, "strides must be > 0, found %lldx%lld", (long long)c->sh, (long long)c->sw);
    if (c->kh < c->sh || c->kw < c->sw)
        return DOB_FAIL(DOB_EINVAL, "kernel %lldx%lld smaller than the stride %lldx%lld leaves output pixels no tap "
                        "reaches: not supported", (long long)c->kh, (long long)c->kw, (long long)c->sh,
                        (long long)c->sw);
    if (c->pad != DOB_PAD_SAME && c->pad != DOB_PAD_VALID)
        return DOB_FAIL(DOB_EINVAL, "padding must be SAME or VALID, found %d", (int)c->pad);
    if (c->act != DOB_ACT_NONE && c->act != DOB_ACT_RELU)
        return DOB_FAIL(DOB_EINVAL, "fused activation must be NONE or RELU, found kind %d (use an act layer)",
                        (int)c->act);
    int64_t ic = x->dims[1];
    l->out->ndim = 4;
    l->out->dims[1] = c->out_channels;
    l->out->dims[2] = dob_deconv_out(x->dims[2], c->kh, c->sh, c->pad, NULL, NULL);
    l->out->dims[3] = dob_deconv_out(x->dims[3], c->kw, c->sw, c->pad, NULL, NULL);
    /* TF's fan rule on the kernel [KH,KW,OC,IC]: fan_in = KH KW OC, fan_out = KH KW IC */
    int64_t wd[4] = {c->out_channels, ic, c->kh, c->kw};
    dob_status st = dob_layer_param(l, a, "weights", 4, wd, c->kh * c->kw * c->out_channels, c->kh * c->kw * ic,
                                    c->w_init, c->l2 ? DOB_PARAM_L2 : 0u, NULL);
    if (st != DOB_OK || !c->bias) return st;
    return dob_layer_param(l, a, "bias", 1, &c->out_channels, c->out_channels, c->out_channels, c->b_init, 0u,
                           NULL);
}

/* ---- build --------------------------------------------------------------------------------------------- */
static dob_status deconv_build(dob_layer *l, int64_t batch) {
    (void)batch;
    dob_status st = DOB_OK;
    deconv_priv *p = l->priv;
    const dob_conv_cfg *c = l->cfg;
    dnnl_engine_t eng = dob_net_engine(l->net);
    const dob_tensor *x = l->in[0], *y = l->out;
    const dob_param_info *wi = dob_arena_info(l->arena, l->param[0]);
    dnnl_memory_desc_t src_md, dst_md, w_md, b_md, any_src, any_dst, any_w;
    dnnl_deconvolution_desc_t fd, bdd, bwd;
    dnnl_primitive_desc_t fpd = NULL, bdpd = NULL, bwpd = NULL;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    dnnl_dims_t strides = {c->sh, c->sw}, pad_l, pad_r;
    dnnl_dims_t xd = {x->dims[0], x->dims[1], x->dims[2], x->dims[3]};
    dnnl_dims_t yd = {y->dims[0], y->dims[1], y->dims[2], y->dims[3]};
    dnnl_dims_t wdims = {wi->dims[0], wi->dims[1], wi->dims[2], wi->dims[3]};
    dob_deconv_out(x->dims[2], c->kh, c->sh, c->pad, &pad_l[0], &pad_r[0]);
    dob_deconv_out(x->dims[3], c->kw, c->sw, c->pad, &pad_l[1], &pad_r[1]);

    DOB_DNNL(dob_md_plain(&src_md, 4, x->dims));
    DOB_DNNL(dob_md_plain(&dst_md, 4, y->dims));
    DOB_DNNL(dob_md_plain(&w_md, 4, wi->dims));
    DOB_DNNL(dob_md_plain(&b_md, 1, &c->out_channels));
    /* bf16 (as conv.c): bf16 src, weights and diff_dst (the reorders convert); f32 dst, diff_src, diff_weights */
    const dnnl_data_type_t lo = dob_net_precision(l->net) == DOB_BF16 ? dnnl_bf16 : dnnl_f32;
    DOB_DNNL(dnnl_memory_desc_init_by_tag(&any_src, 4, xd, lo, dnnl_format_tag_any));
    DOB_DNNL(dnnl_memory_desc_init_by_tag(&any_dst, 4, yd, dnnl_f32, dnnl_format_tag_any));
    DOB_DNNL(dnnl_memory_desc_init_by_tag(&any_w, 4, wdims, lo, dnnl_format_tag_any));
    dnnl_memory_desc_t any_ddst = any_dst, any_dsrc = any_src, any_dw = any_w;
    any_ddst.data_type = lo;
    any_dsrc.data_type = any_dw.data_type = dnnl_f32;

    /* forward (+ relu post-op) */
    DOB_DNNL(dnnl_deconvolution_forward_desc_init(&fd, dnnl_forward_training, dnnl_deconvolution_direct, &any_src,
                                                  &any_w, c->bias ? &b_md : NULL, &any_dst, strides, pad_l, pad_r));
    DOB_DNNL(dnnl_primitive_attr_create(&attr));
    if (c->act == DOB_ACT_RELU) {
        DOB_DNNL(dnnl_post_ops_create(&po));
        DOB_DNNL(dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f));
        DOB_DNNL(dnnl_primitive_attr_set_post_ops(attr, po));
    }
    DOB_DNNL(dnnl_primitive_desc_create(&fpd, &fd, attr, eng, NULL));
    DOB_DNNL(dob_own_primitive(l, &p->fwd, fpd));
    const dnnl_memory_desc_t *f_src = dnnl_primitive_desc_query_md(fpd, dnnl_query_src_md, 0);
    DOB_DNNL(dob_own_mem(l, &p->src, eng, &src_md, f_src, x->data, 1));
    DOB_DNNL(dob_own_mem(l, &p->w, eng, &w_md, dnnl_primitive_desc_query_md(fpd, dnnl_query_weights_md, 0), NULL, 1));
    DOB_DNNL(dob_own_mem(l, &p->dst, eng, &dst_md, dnnl_primitive_desc_query_md(fpd, dnnl_query_dst_md, 0), y->data,
                          0));
    if (c->bias) {
        DOB_DNNL(dob_own_memory(l, &p->b, &b_md, eng, DNNL_MEMORY_NONE));
        DOB_DNNL(dob_own_memory(l, &p->db, &b_md, eng, DNNL_MEMORY_NONE));
    }

    /* diff_dst source: the plain diff itself, or the ReLU-masked copy of it */
    if (c->act == DOB_ACT_RELU) {
        size_t bytes = (y->count * sizeof(float) + 63) / 64 * 64;
        if (!(p->mask_buf = aligned_alloc(64, bytes))) {
            st = DOB_FAIL(DOB_ENOMEM, "out of memory for the ReLU mask buffer (%zu bytes)", bytes);
            goto fail;
        }
    }
    float *ddst = p->mask_buf ? p->mask_buf : y->diff;

    /* backward weights (+ bias) */
    DOB_DNNL(dnnl_deconvolution_backward_weights_desc_init(&bwd, dnnl_deconvolution_direct, &any_src, &any_dw,
                                                           c->bias ? &b_md : NULL, &any_ddst, strides, pad_l,
                                                           pad_r));
    DOB_DNNL(dnnl_primitive_desc_create(&bwpd, &bwd, NULL, eng, fpd));
    DOB_DNNL(dob_own_primitive(l, &p->bwd_w, bwpd));
    const dnnl_memory_desc_t *w_src = dnnl_primitive_desc_query_md(bwpd, dnnl_query_src_md, 0);
    if (!dnnl_memory_desc_equal(w_src, f_src)) DOB_DNNL(dob_own_mem(l, &p->src_w, eng, &src_md, w_src, x->data, 1));
    DOB_DNNL(dob_own_mem(l, &p->dw, eng, &w_md, dnnl_primitive_desc_query_md(bwpd, dnnl_query_diff_weights_md, 0),
                          NULL, 0));
    DOB_DNNL(dob_own_mem(l, &p->ddst_w, eng, &dst_md, dnnl_primitive_desc_query_md(bwpd, dnnl_query_diff_dst_md, 0),
                          ddst, 1));

    /* backward data, only when someone needs d loss / d src */
    if (l->in_diff[0]) {
        DOB_DNNL(dnnl_deconvolution_backward_data_desc_init(&bdd, dnnl_deconvolution_direct, &any_dsrc, &any_w,
                                                            &any_ddst, strides, pad_l, pad_r));
        DOB_DNNL(dnnl_primitive_desc_create(&bdpd, &bdd, NULL, eng, fpd));
        DOB_DNNL(dob_own_primitive(l, &p->bwd_d, bdpd));
        DOB_DNNL(dob_own_mem(l, &p->w_bd, eng, &w_md, dnnl_primitive_desc_query_md(bdpd, dnnl_query_weights_md, 0),
                              NULL, 1));
        DOB_DNNL(dob_own_mem(l, &p->dsrc, eng, &src_md, dnnl_primitive_desc_query_md(bdpd, dnnl_query_diff_src_md, 0),
                              l->in_diff[0], 0));
        DOB_DNNL(dob_own_mem(l, &p->ddst_d, eng, &dst_md,
                              dnnl_primitive_desc_query_md(bdpd, dnnl_query_diff_dst_md, 0), ddst, 1));
    }

fail:
    if (po) dnnl_post_ops_destroy(po);
    if (attr) dnnl_primitive_attr_destroy(attr);
    if (fpd) dnnl_primitive_desc_destroy(fpd);
    if (bdpd) dnnl_primitive_desc_destroy(bdpd);
    if (bwpd) dnnl_primitive_desc_destroy(bwpd);
    return st;
}

/* ---- forward ------------------------------------------------------------------------------------------- */
static dob_status deconv_forward(dob_layer *l, int training) {
    (void)training;
    dob_status st = DOB_OK;
    deconv_priv *p = l->priv;
    dnnl_stream_t s = dob_net_stream(l->net);
    DOB_DNNL(dob_exec_fwd_w(p->fwd, s, &p->src, &p->w, dob_arena_param(l->arena, l->param[0]), p->b,
                            p->b ? dob_arena_param(l->arena, l->param[1]) : NULL, &p->dst));
fail:
    return st;
}

/* ---- backward ------------------------------------------------------------------------------------------ */
static dob_status deconv_backward(dob_layer *l) {
    dob_status st = DOB_OK;
    deconv_priv *p = l->priv;
    const dob_tensor *y = l->out;
    dnnl_stream_t s = dob_net_stream(l->net);
    /* forward: dst = max(deconv + b, 0)  =>  g = diff_dst * (dst > 0); plain [N,OC,OH,OW] throughout */
    if (p->mask_buf) dob_relu_mask(y->data, y->diff, p->mask_buf, y->count);
    if (p->bwd_d) {
        DOB_DNNL(dob_mem_sync(&p->ddst_d, s, NULL));
        DOB_DNNL(dob_exec_bwd_d(p->bwd_d, s, p->ddst_d.prim, &p->w_bd, dob_arena_param(l->arena, l->param[0]),
                                &p->dsrc));
    }
    DOB_DNNL(dob_mem_sync(&p->ddst_w, s, NULL));
    DOB_DNNL(dob_exec_bwd_w(p->bwd_w, s, &p->src, &p->src_w, p->ddst_w.prim, &p->dw,
                            dob_arena_grad(l->arena, l->param[0]), p->db,
                            p->db ? dob_arena_grad(l->arena, l->param[1]) : NULL));
fail:
    return st;
}

static void deconv_destroy(dob_layer *l) {
    deconv_priv *p = l->priv;
    free(p->mask_buf);
}

const dob_layer_ops dob_deconv_ops = {
    .type = "deconv", .priv_size = sizeof(deconv_priv), .reserve = deconv_reserve, .build = deconv_build,
    .forward = deconv_forward, .backward = deconv_backward, .destroy = deconv_destroy,
};

dob_status dob_net_deconv(dob_net *net, const char *name, int in, const dob_conv_cfg *cfg, int *out) {
    return dob_net_add(net, &dob_deconv_ops, name, cfg, sizeof *cfg, 1, &in, out);
}
