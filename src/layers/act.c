/* act.c: elementwise activations (ReLU, tanh, sigmoid, leaky ReLU) through oneDNN eltwise primitives.
 * Saved for backward: dst for tanh/sigmoid (use_dst_for_bwd algorithms), src for ReLU/leaky ReLU.
 * Works on the plain layout of any rank, or in its producer's blocked layout where its own output can take that
 * layout too (DOB_IN_BLOCKED_SAME: elementwise, the layout does not matter; conv -> bnorm -> relu -> conv then
 * stays blocked). */
#include "dnnl_util.h"
#include "dob/layers.h"

#include <string.h>

typedef struct act_priv {
    dnnl_primitive_t fwd, bwd;
    dnnl_memory_t src, dst, diff_dst, diff_src;
    int use_dst;
} act_priv;

static dob_status act_reserve(dob_layer *l, dob_arena *a) {
    (void)a;
    const dob_act_cfg *c = l->cfg;
    if (c->kind < DOB_ACT_RELU || c->kind > DOB_ACT_LRELU)
        return DOB_FAIL(DOB_EINVAL, "unknown activation kind %d", (int)c->kind);
    l->out->ndim = l->in[0]->ndim;
    memcpy(l->out->dims, l->in[0]->dims, sizeof l->out->dims);
    return DOB_OK;
}

/* The oneDNN algorithms of each kind: `fwd`, the plain one (a fused activation's post-op: dense), and `layer`,
 * the one this layer runs, whose backward reads dst where oneDNN has such a variant (tanh, sigmoid: use_dst) and
 * src otherwise. Leaky ReLU is relu with alpha = the slope. */
static const struct {
    dnnl_alg_kind_t fwd, layer;
    int use_dst;
} algs[] = {
    [DOB_ACT_RELU] = {dnnl_eltwise_relu, dnnl_eltwise_relu, 0},
    [DOB_ACT_TANH] = {dnnl_eltwise_tanh, dnnl_eltwise_tanh_use_dst_for_bwd, 1},
    [DOB_ACT_SIGMOID] = {dnnl_eltwise_logistic, dnnl_eltwise_logistic_use_dst_for_bwd, 1},
    [DOB_ACT_LRELU] = {dnnl_eltwise_relu, dnnl_eltwise_relu, 0},
};

dnnl_alg_kind_t dob_act_fwd_alg(dob_act_kind k) { return algs[k].fwd; }

static dob_status act_build(dob_layer *l, int64_t batch) {
    (void)batch;
    dob_status st = DOB_OK;
    act_priv *p = l->priv;
    const dob_act_cfg *c = l->cfg;
    dnnl_engine_t eng = dob_net_engine(l->net);
    dnnl_memory_desc_t md;
    dnnl_eltwise_desc_t fd, bd;
    dnnl_primitive_desc_t fpd = NULL, bpd = NULL;
    const dnnl_alg_kind_t alg = algs[c->kind].layer;
    const float alpha = c->kind == DOB_ACT_LRELU ? c->alpha : 0.0f;
    p->use_dst = algs[c->kind].use_dst;
    DOB_TRY(dob_layer_same_md(l, &md));
    DOB_DNNL(dnnl_eltwise_forward_desc_init(&fd, dnnl_forward_training, alg, &md, alpha, 0.0f));
    DOB_DNNL(dnnl_primitive_desc_create(&fpd, &fd, NULL, eng, NULL));
    DOB_DNNL(dob_own_primitive(l, &p->fwd, fpd));
    DOB_DNNL(dnnl_eltwise_backward_desc_init(&bd, alg, &md, &md, alpha, 0.0f));
    DOB_DNNL(dnnl_primitive_desc_create(&bpd, &bd, NULL, eng, fpd));
    DOB_DNNL(dob_own_primitive(l, &p->bwd, bpd));
    DOB_DNNL(dob_own_memory(l, &p->src, &md, eng, l->in[0]->data));
    DOB_DNNL(dob_own_memory(l, &p->dst, &md, eng, l->out->data));
    DOB_DNNL(dob_own_memory(l, &p->diff_dst, &md, eng, l->out->diff));
    DOB_DNNL(dob_own_memory(l, &p->diff_src, &md, eng, DNNL_MEMORY_NONE));
fail:
    if (fpd) dnnl_primitive_desc_destroy(fpd);
    if (bpd) dnnl_primitive_desc_destroy(bpd);
    return st;
}

static dob_status act_forward(dob_layer *l, int training) {
    (void)training;
    dob_status st = DOB_OK;
    act_priv *p = l->priv;
    dnnl_exec_arg_t args[] = {{DNNL_ARG_SRC, p->src}, {DNNL_ARG_DST, p->dst}};
    DOB_DNNL(dnnl_primitive_execute(p->fwd, dob_net_stream(l->net), 2, args));
fail:
    return st;
}

static dob_status act_backward(dob_layer *l) {
    dob_status st = DOB_OK;
    act_priv *p = l->priv;
    if (!l->in_diff[0]) return DOB_OK;
    DOB_DNNL(dnnl_memory_set_data_handle_v2(p->diff_src, l->in_diff[0], dob_net_stream(l->net)));
    dnnl_exec_arg_t args[] = {{p->use_dst ? DNNL_ARG_DST : DNNL_ARG_SRC, p->use_dst ? p->dst : p->src},
                              {DNNL_ARG_DIFF_DST, p->diff_dst},
                              {DNNL_ARG_DIFF_SRC, p->diff_src}};
    DOB_DNNL(dnnl_primitive_execute(p->bwd, dob_net_stream(l->net), 3, args));
fail:
    return st;
}

const dob_layer_ops dob_act_ops = {
    .type = "act", .priv_size = sizeof(act_priv), .reserve = act_reserve, .build = act_build,
    .forward = act_forward, .backward = act_backward, .in_blocked = DOB_IN_BLOCKED_SAME,
};

dob_status dob_net_act(dob_net *net, const char *name, int in, const dob_act_cfg *cfg, int *out) {
    return dob_net_add(net, &dob_act_ops, name, cfg, sizeof *cfg, 1, &in, out);
}
