/* dense.c: fully connected (inner product) layer through oneDNN, with an optional fused activation.
 *
 *   forward   y = act(x W^T + b)        x: (N, IN) plain; a 3-D..5-D input (N,C,H,W) is read as N x C*H*W in
 *                                       c,h,w order through a 2-D descriptor over the same buffer (no copy)
 *                                       W: arena "weights" (OUT, IN) plain oi; b: arena "bias" (OUT); y: (N, OUT)
 *   backward  dz = dy * act'(y)         (into scratch; dz = dy itself when act is NONE)
 *             dx = dz W                 (only when l->in_diff[0] != NULL)
 *             dW = dz^T x, db = sum_n dz   OVERWRITE the arena grads
 * Saved for backward: x (the input tensor), y (for act'), and the weights in the forward primitive's layout.
 *
 * Invariants: the arena holds W plain (oi). The primitives run on oi unless only a reference kernel would take
 * it (see ip_pd); then oneDNN picks its own weights layout ('any') and the layer reorders W in (forward, and
 * bwd-data when that wants yet another layout) and dW out (bwd-weights) every step. Everything
 * is created in build, with every handle (activations and arena views, which never move after dob_arena_alloc);
 * forward/backward only execute. The activation is a oneDNN post-op in
 * forward; act' is a hand loop from y (ReLU: y > 0, tanh: 1 - y^2, sigmoid: y (1 - y)).
 * Precision bf16 (dob_net_set_precision): forward and bwd-data read bf16 copies of x, dz and W ('any' layout:
 * the f32 -> bf16 weight reorder runs every step anyway, so the primitive's own layout costs nothing more) and
 * write f32 y and dx; bwd-weights reads the bf16 x and dz and writes f32 dW and db (plain unless only a reference
 * kernel would take it, as in f32). oneDNN accumulates in f32.
 * Does not: support leaky ReLU as a fused activation (the cfg carries no slope; use an act layer), or keep a
 * separate inference primitive (forward_training serves both modes: an inner product has no mode-dependent work). */
#include "dnnl_util.h"
#include "dob/layers.h"

#include <string.h>

typedef struct dense_priv {
    int64_t n, in_f, out_f;
    dnnl_primitive_t fwd, bwd_d, bwd_w;
    dnnl_memory_t src, dst, diff_dst, dz, diff_src, bias, diff_bias;
    dob_mem w_fwd;        /* arena weights -> forward layout (reordered every forward) */
    dob_mem w_bwd;        /* arena weights -> bwd-data layout; unused when it equals the forward layout */
    int w_bwd_shared;     /* bwd-data reads w_fwd.prim (same layout as forward, filled by forward) */
    dob_mem dw;           /* bwd-weights layout -> arena grads (reordered every backward) */
    float *dz_buf;        /* N x OUT scratch owned by p->dz (NULL when act is NONE) */
    int bf16;             /* precision bf16: the primitives read the bf16 copies below */
    dob_mem src16;        /* in[0]->data (f32) -> bf16 ab, each forward; read by forward and bwd-weights */
    dob_mem dz16;         /* dz (f32: out->diff, or the act' scratch) -> bf16 ab, each backward */
    dnnl_primitive_t mm_w; /* bf16 bwd-weights as a matmul (see make_mm_w); NULL: the bwd_w inner product */
    dnnl_memory_t mm_a, mm_b, mm_c; /* dz16^T (a strided view), src16, the arena weight grads */
} dense_priv;

static int64_t per_example(const dob_tensor *t) {
    int64_t f = 1;
    for (int i = 1; i < t->ndim; i++) f *= t->dims[i];
    return f;
}

static dob_status dense_reserve(dob_layer *l, dob_arena *a) {
    const dob_dense_cfg *c = l->cfg;
    const dob_tensor *x = l->in[0];
    if (c->out_features <= 0)
        return DOB_FAIL(DOB_EINVAL, "out_features must be > 0, found %lld", (long long)c->out_features);
    if (x->ndim < 2)
        return DOB_FAIL(DOB_EINVAL, "expected an input with features per example, found %d dims", x->ndim);
    if (c->act != DOB_ACT_NONE && c->act != DOB_ACT_RELU && c->act != DOB_ACT_TANH && c->act != DOB_ACT_SIGMOID)
        return DOB_FAIL(DOB_EINVAL, "fused activation must be NONE, RELU, TANH or SIGMOID, found kind %d",
                        (int)c->act);
    int64_t in_f = per_example(x);
    int64_t wd[2] = {c->out_features, in_f};
    dob_status st = dob_layer_param(l, a, "weights", 2, wd, in_f, c->out_features, c->w_init,
                                    c->l2 ? DOB_PARAM_L2 : 0u, NULL);
    if (st != DOB_OK) return st;
    if (c->bias) {
        st = dob_layer_param(l, a, "bias", 1, &c->out_features, c->out_features, c->out_features, c->b_init, 0u,
                             NULL);
        if (st != DOB_OK) return st;
    }
    l->out->ndim = 2;
    l->out->dims[1] = c->out_features;
    return DOB_OK;
}

/* Primitive descriptor for an inner product op desc with weights 'any' (d_any) or plain oi (d_plain): take the
 * plain one whenever oneDNN runs it with an optimized (non-reference) implementation, so the step needs no
 * weight reorder; keep 'any' only when plain would fall back to a reference kernel.
 * Why: the arena holds W plain (oi). On AVX2, gemm:jit takes oi as well as its preferred io: mnist_mlp fwd+bwd
 * 27.4 ms/step with 'any' (io + transposes) vs 23.9 ms plain (2-core Zen 1, 1 thread, CPU time). On AVX-512,
 * 'any' picks brgemm with AB16b64a weights, and the reorders of W in and dW out every step cost more than brgemm
 * gains over gemm:jit on oi. bench/bench_ip on a 2-core Zen 5 (avx512_core_bf16), 2 threads, min of 40:
 * 784->1000 fwd/bwd_d/bwd_w 0.49/0.40/0.40 ms plain (gemm:jit) vs 0.39/0.44/0.43 ms brgemm, plus 0.44 ms of
 * reorders for 'any' (ONEDNN_VERBOSE); 3136->1024 5.35 ms plain vs 5.00 ms brgemm + ~1.8 ms reorders.
 * This stops holding if the arena ever keeps W in the primitive's own layout (DESIGN.md section 4): then 'any'
 * wins by brgemm's margin. */
static dnnl_status_t ip_pd(dnnl_primitive_desc_t *pd, const dnnl_inner_product_desc_t *d_any,
                           const dnnl_inner_product_desc_t *d_plain, const_dnnl_primitive_attr_t attr,
                           dnnl_engine_t eng, const_dnnl_primitive_desc_t hint) {
    dnnl_primitive_desc_t pp = NULL;
    const char *ip = NULL;
    if (dnnl_primitive_desc_create(&pp, d_plain, attr, eng, hint) == dnnl_success &&
        dnnl_primitive_desc_query(pp, dnnl_query_impl_info_str, 0, &ip) == dnnl_success && ip &&
        strncmp(ip, "ref", 3) != 0) {
        *pd = pp;
        return dnnl_success;
    }
    if (pp) dnnl_primitive_desc_destroy(pp);
    return dnnl_primitive_desc_create(pd, d_any, attr, eng, hint);
}

/* bf16 backward weights as a matmul dW (OUT x IN, f32 plain: the arena grads, no reorder) = dz16^T x16, the
 * transpose a strided view of dz16. Why: the inner product's bf16 bwd-weights with plain f32 dW runs gemm:jit,
 * not AMX, and with 'any' it needs a dW reorder back that costs as much as it saves. Measured (Sapphire Rapids,
 * AMX, 2 threads, min of 30): 3136 -> 1024 matmul brg:avx512_core_amx_bf16 0.76 ms against 2.6-4.4 ms for
 * gemm:jit in a step; 784 -> 1000 0.17 against 0.47 ms; with ONEDNN_MAX_CPU_ISA=AVX512_CORE_BF16 (the Zen 4
 * kernels) 4.14 against 4.63 ms. The bias gradient is summed from the f32 dz (bias_grad). Keeps p->mm_w NULL
 * (the inner product path) where oneDNN has only a reference matmul. */
static dob_status make_mm_w(dob_layer *l, dense_priv *p, dnnl_engine_t eng, float *dw) {
    dob_status st = DOB_OK;
    dnnl_memory_desc_t a, b, c;
    dnnl_matmul_desc_t d;
    dnnl_primitive_desc_t pd = NULL;
    const char *impl = NULL;
    void *dz16 = NULL, *x16 = NULL;
    DOB_DNNL(dnnl_memory_desc_init_by_strides(&a, 2, (dnnl_dims_t){p->out_f, p->n}, dnnl_bf16,
                                              (dnnl_dims_t){1, p->out_f}));
    DOB_DNNL(dnnl_memory_desc_init_by_tag(&b, 2, (dnnl_dims_t){p->n, p->in_f}, dnnl_bf16, dnnl_ab));
    DOB_DNNL(dob_md_plain(&c, 2, (int64_t[]){p->out_f, p->in_f}));
    DOB_DNNL(dnnl_matmul_desc_init(&d, &a, &b, NULL, &c));
    if (dnnl_primitive_desc_create(&pd, &d, NULL, eng, NULL) != dnnl_success) return DOB_OK;
    DOB_DNNL(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl));
    if (!impl || !strncmp(impl, "ref", 3)) goto fail;
    DOB_DNNL(dob_own_primitive(l, &p->mm_w, pd));
    DOB_DNNL(dnnl_memory_get_data_handle(p->dz16.prim, &dz16));
    DOB_DNNL(dnnl_memory_get_data_handle(p->src16.prim, &x16));
    DOB_DNNL(dob_own_memory(l, &p->mm_a, &a, eng, dz16));
    DOB_DNNL(dob_own_memory(l, &p->mm_b, &b, eng, x16));
    DOB_DNNL(dob_own_memory(l, &p->mm_c, &c, eng, dw));
fail:
    dnnl_primitive_desc_destroy(pd);
    return st;
}

static dob_status dense_build(dob_layer *l, int64_t batch) {
    dob_status st = DOB_OK;
    dense_priv *p = l->priv;
    const dob_dense_cfg *c = l->cfg;
    dnnl_engine_t eng = dob_net_engine(l->net);
    dob_arena *a = l->arena;
    dnnl_primitive_desc_t fpd = NULL, dpd = NULL, wpd = NULL;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    p->n = batch;
    p->in_f = per_example(l->in[0]);
    p->out_f = c->out_features;
    float *w = dob_arena_param(a, l->param[0]), *dw = dob_arena_grad(a, l->param[0]);
    float *b = c->bias ? dob_arena_param(a, l->param[1]) : NULL, *db = c->bias ? dob_arena_grad(a, l->param[1]) : NULL;

    dnnl_memory_desc_t src_md, dst_md, w_plain, w_any, b_md;
    DOB_DNNL(dob_md_plain(&src_md, 2, (int64_t[]){batch, p->in_f}));
    DOB_DNNL(dob_md_plain(&dst_md, 2, (int64_t[]){batch, p->out_f}));
    DOB_DNNL(dob_md_plain(&w_plain, 2, (int64_t[]){p->out_f, p->in_f}));
    DOB_DNNL(dnnl_memory_desc_init_by_tag(&w_any, 2, (dnnl_dims_t){p->out_f, p->in_f}, dnnl_f32,
                                          dnnl_format_tag_any));
    DOB_DNNL(dob_md_plain(&b_md, 1, &p->out_f));
    p->bf16 = dob_net_precision(l->net) == DOB_BF16;
    dnnl_memory_desc_t src16_md = src_md, dst16_md = dst_md, w16_any = w_any;
    src16_md.data_type = dst16_md.data_type = w16_any.data_type = dnnl_bf16;
    const dnnl_memory_desc_t *x_md = p->bf16 ? &src16_md : &src_md, *dz_md = p->bf16 ? &dst16_md : &dst_md;

    /* forward_training, with the activation as a post-op */
    dnnl_inner_product_desc_t fd, fdp, dd, ddp, wd, wdp;   /* weights 'any' / plain */
    DOB_DNNL(dnnl_inner_product_forward_desc_init(&fd, dnnl_forward_training, &src_md, &w_any,
                                                  c->bias ? &b_md : NULL, &dst_md));
    DOB_DNNL(dnnl_inner_product_forward_desc_init(&fdp, dnnl_forward_training, &src_md, &w_plain,
                                                  c->bias ? &b_md : NULL, &dst_md));
    DOB_DNNL(dnnl_primitive_attr_create(&attr));
    if (c->act != DOB_ACT_NONE) {
        const dnnl_alg_kind_t alg = dob_act_fwd_alg(c->act);
        DOB_DNNL(dnnl_post_ops_create(&po));
        DOB_DNNL(dnnl_post_ops_append_eltwise(po, 1.0f, alg, 0.0f, 0.0f));
        DOB_DNNL(dnnl_primitive_attr_set_post_ops(attr, po));
    }
    if (p->bf16) {
        DOB_DNNL(dnnl_inner_product_forward_desc_init(&fd, dnnl_forward_training, &src16_md, &w16_any,
                                                      c->bias ? &b_md : NULL, &dst_md));
        DOB_DNNL(dnnl_primitive_desc_create(&fpd, &fd, attr, eng, NULL));
    } else {
        DOB_DNNL(ip_pd(&fpd, &fd, &fdp, attr, eng, NULL));
    }
    DOB_DNNL(dob_own_primitive(l, &p->fwd, fpd));
    const dnnl_memory_desc_t *w_fwd_md = dnnl_primitive_desc_query_md(fpd, dnnl_query_weights_md, 0);
    DOB_DNNL(dob_own_mem(l, &p->w_fwd, eng, &w_plain, w_fwd_md, w, 1));
    DOB_DNNL(dob_own_memory(l, &p->src, &src_md, eng, l->in[0]->data));
    if (p->bf16) DOB_DNNL(dob_own_mem(l, &p->src16, eng, &src_md, &src16_md, l->in[0]->data, 1));
    DOB_DNNL(dob_own_memory(l, &p->dst, &dst_md, eng, l->out->data));
    if (c->bias) DOB_DNNL(dob_own_memory(l, &p->bias, &b_md, eng, b));

    /* dz: d loss / d pre-activation */
    DOB_DNNL(dob_own_memory(l, &p->diff_dst, &dst_md, eng, l->out->diff));
    if (c->act != DOB_ACT_NONE) {
        DOB_DNNL(dob_own_memory(l, &p->dz, &dst_md, eng, DNNL_MEMORY_ALLOCATE));
        void *h = NULL;
        DOB_DNNL(dnnl_memory_get_data_handle(p->dz, &h));
        p->dz_buf = h;
    }

    /* backward data: only when someone needs d loss / d x */
    if (l->in_diff[0]) {
        DOB_DNNL(dnnl_inner_product_backward_data_desc_init(&dd, &src_md, &w_any, &dst_md));
        DOB_DNNL(dnnl_inner_product_backward_data_desc_init(&ddp, &src_md, &w_plain, &dst_md));
        if (p->bf16) {
            DOB_DNNL(dnnl_inner_product_backward_data_desc_init(&dd, &src_md, &w16_any, &dst16_md));
            DOB_DNNL(dnnl_primitive_desc_create(&dpd, &dd, NULL, eng, fpd));
        } else {
            DOB_DNNL(ip_pd(&dpd, &dd, &ddp, NULL, eng, fpd));
        }
        DOB_DNNL(dob_own_primitive(l, &p->bwd_d, dpd));
        const dnnl_memory_desc_t *w_bwd_md = dnnl_primitive_desc_query_md(dpd, dnnl_query_weights_md, 0);
        p->w_bwd_shared = dnnl_memory_desc_equal(w_bwd_md, w_fwd_md);
        if (!p->w_bwd_shared) DOB_DNNL(dob_own_mem(l, &p->w_bwd, eng, &w_plain, w_bwd_md, w, 1));
        DOB_DNNL(dob_own_memory(l, &p->diff_src, &src_md, eng, l->in_diff[0]));
    }

    /* backward weights (+ bias): bf16 as a matmul where oneDNN has a kernel for it */
    if (p->bf16) {
        DOB_DNNL(dob_own_mem(l, &p->dz16, eng, &dst_md, &dst16_md, p->dz_buf ? p->dz_buf : l->out->diff, 1));
        st = make_mm_w(l, p, eng, dw);
        if (st != DOB_OK || p->mm_w) goto fail;
    }
    DOB_DNNL(dnnl_inner_product_backward_weights_desc_init(&wd, x_md, &w_any, c->bias ? &b_md : NULL, dz_md));
    DOB_DNNL(dnnl_inner_product_backward_weights_desc_init(&wdp, x_md, &w_plain, c->bias ? &b_md : NULL, dz_md));
    DOB_DNNL(ip_pd(&wpd, &wd, &wdp, NULL, eng, fpd));
    DOB_DNNL(dob_own_primitive(l, &p->bwd_w, wpd));
    DOB_DNNL(dob_own_mem(l, &p->dw, eng, &w_plain, dnnl_primitive_desc_query_md(wpd, dnnl_query_diff_weights_md, 0),
                          dw, 0));
    if (c->bias) DOB_DNNL(dob_own_memory(l, &p->diff_bias, &b_md, eng, db));
fail:
    if (fpd) dnnl_primitive_desc_destroy(fpd);
    if (dpd) dnnl_primitive_desc_destroy(dpd);
    if (wpd) dnnl_primitive_desc_destroy(wpd);
    if (attr) dnnl_primitive_attr_destroy(attr);
    if (po) dnnl_post_ops_destroy(po);
    return st;
}

static dob_status dense_forward(dob_layer *l, int training) {
    (void)training;
    dob_status st = DOB_OK;
    dense_priv *p = l->priv;
    dnnl_stream_t s = dob_net_stream(l->net);
    DOB_DNNL(dob_mem_sync(&p->w_fwd, s, NULL));
    if (p->bf16) DOB_DNNL(dob_mem_sync(&p->src16, s, NULL));
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, p->bf16 ? p->src16.prim : p->src}, {DNNL_ARG_WEIGHTS, p->w_fwd.prim}, {DNNL_ARG_DST, p->dst},
                               {DNNL_ARG_BIAS, p->bias}};
    DOB_DNNL(dnnl_primitive_execute(p->fwd, s, p->bias ? 4 : 3, args));
fail:
    return st;
}

/* dz = dy * act'(y), from the saved output y. */
static void act_grad(dob_act_kind k, const float *y, const float *dy, float *dz, int64_t n) {
    switch (k) {
    case DOB_ACT_RELU:
#pragma omp parallel for schedule(static) if (n > 16384)
        for (int64_t i = 0; i < n; i++) {
            const float v = y[i], d = dy[i]; /* both loaded: a select, not a branch (vectorizes) */
            dz[i] = v > 0.0f ? d : 0.0f;
        }
        break;
    case DOB_ACT_TANH:
#pragma omp parallel for schedule(static) if (n > 16384)
        for (int64_t i = 0; i < n; i++) dz[i] = dy[i] * (1.0f - y[i] * y[i]);
        break;
    default: /* sigmoid */
#pragma omp parallel for schedule(static) if (n > 16384)
        for (int64_t i = 0; i < n; i++) dz[i] = dy[i] * y[i] * (1.0f - y[i]);
        break;
    }
}

/* db[o] = sum_n dz[n, o], from the f32 dz (the matmul path; more accurate than a sum of bf16 roundings). */
static void bias_grad(const float *dz, float *db, int64_t n, int64_t out) {
#pragma omp parallel for schedule(static) if (n * out > 16384)
    for (int64_t o0 = 0; o0 < out; o0 += 64) {
        const int64_t o1 = o0 + 64 < out ? o0 + 64 : out;
        for (int64_t o = o0; o < o1; o++) db[o] = 0.0f;
        for (int64_t i = 0; i < n; i++)
            for (int64_t o = o0; o < o1; o++) db[o] += dz[i * out + o];
    }
}

static dob_status dense_backward(dob_layer *l) {
    dob_status st = DOB_OK;
    dense_priv *p = l->priv;
    const dob_dense_cfg *c = l->cfg;
    dnnl_stream_t s = dob_net_stream(l->net);
    dnnl_memory_t dz = p->diff_dst;
    if (c->act != DOB_ACT_NONE) {
        act_grad(c->act, l->out->data, l->out->diff, p->dz_buf, p->n * p->out_f);
        dz = p->dz;
    }
    if (p->bf16) {
        DOB_DNNL(dob_mem_sync(&p->dz16, s, NULL));
        dz = p->dz16.prim;
    }
    if (p->bwd_d) {
        dnnl_memory_t wm = p->w_fwd.prim;
        if (!p->w_bwd_shared) {
            DOB_DNNL(dob_mem_sync(&p->w_bwd, s, NULL));
            wm = p->w_bwd.prim;
        }
        dnnl_exec_arg_t args[3] = {{DNNL_ARG_DIFF_DST, dz}, {DNNL_ARG_WEIGHTS, wm}, {DNNL_ARG_DIFF_SRC, p->diff_src}};
        DOB_DNNL(dnnl_primitive_execute(p->bwd_d, s, 3, args));
    }
    if (p->mm_w) {
        dnnl_exec_arg_t margs[3] = {{DNNL_ARG_SRC, p->mm_a}, {DNNL_ARG_WEIGHTS, p->mm_b}, {DNNL_ARG_DST, p->mm_c}};
        DOB_DNNL(dnnl_primitive_execute(p->mm_w, s, 3, margs));
        if (c->bias)
            bias_grad(p->dz_buf ? p->dz_buf : l->out->diff, dob_arena_grad(l->arena, l->param[1]), p->n, p->out_f);
        return DOB_OK;
    }
    dnnl_exec_arg_t wargs[4] = {{DNNL_ARG_SRC, p->bf16 ? p->src16.prim : p->src},
                                {DNNL_ARG_DIFF_DST, dz},
                                {DNNL_ARG_DIFF_WEIGHTS, p->dw.prim},
                                {DNNL_ARG_DIFF_BIAS, p->diff_bias}};
    DOB_DNNL(dnnl_primitive_execute(p->bwd_w, s, p->diff_bias ? 4 : 3, wargs));
    DOB_DNNL(dob_mem_sync(&p->dw, s, NULL));
fail:
    return st;
}

const dob_layer_ops dob_dense_ops = {
    .type = "dense", .priv_size = sizeof(dense_priv), .reserve = dense_reserve, .build = dense_build,
    .forward = dense_forward, .backward = dense_backward,
};

dob_status dob_net_dense(dob_net *net, const char *name, int in, const dob_dense_cfg *cfg, int *out) {
    return dob_net_add(net, &dob_dense_ops, name, cfg, sizeof *cfg, 1, &in, out);
}
