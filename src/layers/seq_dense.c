/* seq_dense.c: the same dense layer applied at every step of a sequence (TF: tf.matmul(reshape(outputs, [-1, F]),
 * W) + b, the char-RNN's softmax layer), through one oneDNN inner product over all N*T rows.
 *
 *   forward   y[n, t, :] = x[n, t, :] W^T + b      x: in[0] N,T,F (plain); W: arena "weights" (O, F) plain oi
 *                                                  (TF keeps [F, O]: the same numbers transposed); b: "bias" (O);
 *                                                  y: N,T,O
 *   backward  dx = dy W (only when in_diff[0] != NULL); dW = sum over rows dy^T x, db = sum dy (OVERWRITE)
 * Saved for backward: x (the input tensor).
 * Invariants: the N*T rows are a 2-D view of the plain 3-D buffers (no copy); weights stay plain oi (the same
 * choice as dense.c: inner products take oi without a reference fallback on the ISAs dob runs on).
 * Does not: fuse activations, or regularise (the char-RNN has no L2). */
#include "dnnl_util.h"
#include "dob/layers.h"

typedef struct seq_dense_priv {
    dnnl_primitive_t fwd, bwd_d, bwd_w;
    dnnl_memory_t src, dst, ddst, dsrc, w, dw, b, db;
} seq_dense_priv;

static dob_status seq_dense_reserve(dob_layer *l, dob_arena *a) {
    const dob_dense_cfg *c = l->cfg;
    const dob_tensor *x = l->in[0];
    if (x->ndim != 3) return DOB_FAIL(DOB_EINVAL, "expected an N,T,F input (3-D), found %d-D", x->ndim);
    if (c->out_features <= 0)
        return DOB_FAIL(DOB_EINVAL, "out_features must be > 0, found %lld", (long long)c->out_features);
    if (c->act != DOB_ACT_NONE) return DOB_FAIL(DOB_EINVAL, "no fused activation, found kind %d", (int)c->act);
    const int64_t F = x->dims[2], O = c->out_features;
    l->out->ndim = 3;
    l->out->dims[1] = x->dims[1];
    l->out->dims[2] = O;
    dob_status st = dob_layer_param(l, a, "weights", 2, (int64_t[]){O, F}, F, O, c->w_init, c->l2 ? DOB_PARAM_L2 : 0u,
                                    NULL);
    if (st == DOB_OK && c->bias) st = dob_layer_param(l, a, "bias", 1, &(int64_t){O}, O, O, c->b_init, 0u, NULL);
    return st;
}

static dob_status seq_dense_build(dob_layer *l, int64_t batch) {
    dob_status st = DOB_OK;
    seq_dense_priv *p = l->priv;
    const dob_dense_cfg *c = l->cfg;
    dnnl_engine_t eng = dob_net_engine(l->net);
    const int64_t R = batch * l->in[0]->dims[1], F = l->in[0]->dims[2], O = c->out_features;
    dnnl_memory_desc_t x_md, y_md, w_md, b_md;
    dnnl_inner_product_desc_t fd, dd, wd;
    dnnl_primitive_desc_t fpd = NULL, dpd = NULL, wpd = NULL;
    DOB_DNNL(dob_md_plain(&x_md, 2, (int64_t[]){R, F}));
    DOB_DNNL(dob_md_plain(&y_md, 2, (int64_t[]){R, O}));
    DOB_DNNL(dob_md_plain(&w_md, 2, (int64_t[]){O, F}));
    DOB_DNNL(dob_md_plain(&b_md, 1, &O));
    const dnnl_memory_desc_t *bp = c->bias ? &b_md : NULL;
    DOB_DNNL(dnnl_inner_product_forward_desc_init(&fd, dnnl_forward_training, &x_md, &w_md, bp, &y_md));
    DOB_DNNL(dnnl_primitive_desc_create(&fpd, &fd, NULL, eng, NULL));
    DOB_DNNL(dob_own_primitive(l, &p->fwd, fpd));
    DOB_DNNL(dnnl_inner_product_backward_weights_desc_init(&wd, &x_md, &w_md, bp, &y_md));
    DOB_DNNL(dnnl_primitive_desc_create(&wpd, &wd, NULL, eng, fpd));
    DOB_DNNL(dob_own_primitive(l, &p->bwd_w, wpd));
    if (l->in_diff[0]) {
        DOB_DNNL(dnnl_inner_product_backward_data_desc_init(&dd, &x_md, &w_md, &y_md));
        DOB_DNNL(dnnl_primitive_desc_create(&dpd, &dd, NULL, eng, fpd));
        DOB_DNNL(dob_own_primitive(l, &p->bwd_d, dpd));
        DOB_DNNL(dob_own_memory(l, &p->dsrc, &x_md, eng, l->in_diff[0]));
    }
    DOB_DNNL(dob_own_memory(l, &p->src, &x_md, eng, l->in[0]->data));
    DOB_DNNL(dob_own_memory(l, &p->dst, &y_md, eng, l->out->data));
    DOB_DNNL(dob_own_memory(l, &p->ddst, &y_md, eng, l->out->diff));
    DOB_DNNL(dob_own_memory(l, &p->w, &w_md, eng, dob_arena_param(l->arena, l->param[0])));
    DOB_DNNL(dob_own_memory(l, &p->dw, &w_md, eng, dob_arena_grad(l->arena, l->param[0])));
    if (c->bias) {
        DOB_DNNL(dob_own_memory(l, &p->b, &b_md, eng, dob_arena_param(l->arena, l->param[1])));
        DOB_DNNL(dob_own_memory(l, &p->db, &b_md, eng, dob_arena_grad(l->arena, l->param[1])));
    }
fail:
    if (fpd) dnnl_primitive_desc_destroy(fpd);
    if (dpd) dnnl_primitive_desc_destroy(dpd);
    if (wpd) dnnl_primitive_desc_destroy(wpd);
    return st;
}

static dob_status seq_dense_forward(dob_layer *l, int training) {
    (void)training;
    dob_status st = DOB_OK;
    seq_dense_priv *p = l->priv;
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, p->src}, {DNNL_ARG_WEIGHTS, p->w}, {DNNL_ARG_DST, p->dst},
                               {DNNL_ARG_BIAS, p->b}};
    DOB_DNNL(dnnl_primitive_execute(p->fwd, dob_net_stream(l->net), p->b ? 4 : 3, args));
fail:
    return st;
}

/* forward: y = x W^T + b  =>  dx = dy W, dW = dy^T x, db = sum_rows dy */
static dob_status seq_dense_backward(dob_layer *l) {
    dob_status st = DOB_OK;
    seq_dense_priv *p = l->priv;
    dnnl_stream_t s = dob_net_stream(l->net);
    if (p->bwd_d) {
        dnnl_exec_arg_t a[3] = {{DNNL_ARG_DIFF_DST, p->ddst}, {DNNL_ARG_WEIGHTS, p->w}, {DNNL_ARG_DIFF_SRC, p->dsrc}};
        DOB_DNNL(dnnl_primitive_execute(p->bwd_d, s, 3, a));
    }
    dnnl_exec_arg_t a[4] = {{DNNL_ARG_SRC, p->src}, {DNNL_ARG_DIFF_DST, p->ddst}, {DNNL_ARG_DIFF_WEIGHTS, p->dw},
                            {DNNL_ARG_DIFF_BIAS, p->db}};
    DOB_DNNL(dnnl_primitive_execute(p->bwd_w, s, p->db ? 4 : 3, a));
fail:
    return st;
}

const dob_layer_ops dob_seq_dense_ops = {
    .type = "seq_dense", .priv_size = sizeof(seq_dense_priv), .reserve = seq_dense_reserve,
    .build = seq_dense_build, .forward = seq_dense_forward, .backward = seq_dense_backward,
};

dob_status dob_net_seq_dense(dob_net *net, const char *name, int in, const dob_dense_cfg *cfg, int *out) {
    return dob_net_add(net, &dob_seq_dense_ops, name, cfg, sizeof *cfg, 1, &in, out);
}
