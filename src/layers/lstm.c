/* lstm.c: one LSTM layer (TF LSTMCell: no peepholes, no projection, tanh) unrolled over T steps, on oneDNN's
 * vanilla LSTM primitives, with its (c, h) state carried from batch to batch.
 *
 * Shapes: src in[0] N,T,C (plain; oneDNN's "ntc") -> dst out N,T,H (plain ntc).
 * Parameters (arena, plain oneDNN layouts, gate order oneDNN's i, f, c~, o):
 *   weights_layer [C, 4, H] (ldigo without l, d), weights_iter [H, 4, H], bias [4, H].
 * TF keeps one kernel [C + H, 4H] in the order i, j (= c~), f, o and a bias [4H]; the two weights here are its
 * row blocks (input rows, then recurrent rows) with the gate column blocks permuted TF (i, j, f, o) -> oneDNN
 * (i, f, j, o). Both get TF's Glorot fans of the whole kernel (fan_in C + H, fan_out 4H), so the init has TF's
 * distribution. TF adds forget_bias (1.0) to the f pre-activation at run time; here the primitive reads a copy of
 * the bias with forget_bias added to gate 1, so the trained bias starts at 0 as in TF and its gradient is the same.
 *
 * State: forward starts from (h0, c0) and writes the final (h_T, c_T); the next forward (training or inference)
 * starts from those. Backward propagates no gradient into the previous batch (truncated BPTT: diff_dst_iter = 0,
 * diff_src_iter discarded), as DeepOBS's state variables do. reset (the net's dob_net_reset_state, called by the
 * trainer at the start of every phase) sets the state to zero. The state is per process, so each data-parallel
 * rank carries its own streams.
 * Plan (build): forward_training (+ workspace) and backward primitives; weights 'any' with reorders from the plain
 * arena into each primitive's (padded) layout every step, and diff weights out of the backward's layout into the
 * arena grads. oneDNN's RNN backward ACCUMULATES into diff_weights_layer/_iter and diff_bias, so backward zeroes those buffers
 * first: the arena grads are then OVERWRITTEN, like every other layer's.
 * Saved for backward: src (the input tensor), the start state (h0, c0), dst (the output tensor) and the final
 * state, and the workspace.
 * Does not: stack layers in one primitive (DeepOBS applies dropout between the layers), run backwards in time, or
 * clip the cell. */
#include "dnnl_util.h"
#include "dob/layers.h"

#include <stdlib.h>
#include <string.h>

typedef struct lstm_priv {
    int64_t n, t, c, h;
    dnnl_primitive_t fwd, bwd;
    dnnl_memory_t src, dst, dsrc, ddst;               /* plain ntc views of the tensors */
    dnnl_memory_t h0, c0, h1, c1;                     /* ldnc state: start (read) and end (written) */
    dnnl_memory_t dh0, dc0, dh1, dc1;                 /* diff state: discarded / zeros */
    dnnl_memory_t bias, dbias;                        /* bias + forget_bias (ldgo), its diff (bwd layout) */
    dob_mem wl, wi;                                   /* arena weights -> forward layouts */
    dob_mem wl_b, wi_b;                               /* arena weights -> backward layouts */
    dob_mem dwl, dwi;                                 /* backward diff layouts -> arena grads */
    dob_mem db;                                       /* backward diff bias layout -> arena grad */
    dnnl_memory_t ws;
    int carried;                                      /* h1/c1 hold a state for the next forward */
} lstm_priv;

static dob_status lstm_reserve(dob_layer *l, dob_arena *a) {
    const dob_lstm_cfg *c = l->cfg;
    const dob_tensor *x = l->in[0];
    if (x->ndim != 3) return DOB_FAIL(DOB_EINVAL, "expected an N,T,C input (3-D), found %d-D", x->ndim);
    if (c->hidden <= 0) return DOB_FAIL(DOB_EINVAL, "hidden size must be > 0, found %lld", (long long)c->hidden);
    const int64_t C = x->dims[2], H = c->hidden;
    l->out->ndim = 3;
    l->out->dims[1] = x->dims[1];
    l->out->dims[2] = H;
    dob_status st = dob_layer_param(l, a, "weights_layer", 3, (int64_t[]){C, 4, H}, C + H, 4 * H, c->w_init, 0u,
                                    NULL);
    if (st == DOB_OK)
        st = dob_layer_param(l, a, "weights_iter", 3, (int64_t[]){H, 4, H}, C + H, 4 * H, c->w_init, 0u, NULL);
    if (st == DOB_OK) st = dob_layer_param(l, a, "bias", 2, (int64_t[]){4, H}, 4 * H, 4 * H, c->b_init, 0u, NULL);
    return st;
}

static void *handle(dnnl_memory_t m) {
    void *h = NULL;
    dnnl_memory_get_data_handle(m, &h);
    return h;
}

static size_t bytes(dnnl_memory_t m) {
    const dnnl_memory_desc_t *md;
    dnnl_memory_get_memory_desc(m, &md);
    return dnnl_memory_desc_get_size(md);
}

static dob_status lstm_build(dob_layer *l, int64_t batch) {
    dob_status st = DOB_OK;
    lstm_priv *p = l->priv;
    const dob_lstm_cfg *cfg = l->cfg;
    dnnl_engine_t eng = dob_net_engine(l->net);
    dnnl_primitive_desc_t fpd = NULL, bpd = NULL;
    p->n = batch;
    p->t = l->in[0]->dims[1];
    p->c = l->in[0]->dims[2];
    p->h = cfg->hidden;
    const int64_t N = p->n, T = p->t, C = p->c, H = p->h;
    dnnl_memory_desc_t src, dst, st_md, wl_any, wi_any, wl_plain, wi_plain, b_md;
    DOB_DNNL(dnnl_memory_desc_init_by_tag(&src, 3, (dnnl_dims_t){T, N, C}, dnnl_f32, dnnl_ntc));
    DOB_DNNL(dnnl_memory_desc_init_by_tag(&dst, 3, (dnnl_dims_t){T, N, H}, dnnl_f32, dnnl_ntc));
    DOB_DNNL(dnnl_memory_desc_init_by_tag(&st_md, 4, (dnnl_dims_t){1, 1, N, H}, dnnl_f32, dnnl_ldnc));
    DOB_DNNL(dnnl_memory_desc_init_by_tag(&wl_any, 5, (dnnl_dims_t){1, 1, C, 4, H}, dnnl_f32, dnnl_format_tag_any));
    DOB_DNNL(dnnl_memory_desc_init_by_tag(&wi_any, 5, (dnnl_dims_t){1, 1, H, 4, H}, dnnl_f32, dnnl_format_tag_any));
    DOB_DNNL(dnnl_memory_desc_init_by_tag(&wl_plain, 5, (dnnl_dims_t){1, 1, C, 4, H}, dnnl_f32, dnnl_ldigo));
    DOB_DNNL(dnnl_memory_desc_init_by_tag(&wi_plain, 5, (dnnl_dims_t){1, 1, H, 4, H}, dnnl_f32, dnnl_ldigo));
    DOB_DNNL(dnnl_memory_desc_init_by_tag(&b_md, 4, (dnnl_dims_t){1, 1, 4, H}, dnnl_f32, dnnl_ldgo));

    dnnl_rnn_desc_t fd, bd;
    DOB_DNNL(dnnl_lstm_forward_desc_init(&fd, dnnl_forward_training, dnnl_unidirectional_left2right, &src, &st_md,
                                         &st_md, &wl_any, &wi_any, &b_md, &dst, &st_md, &st_md, dnnl_rnn_flags_undef));
    DOB_DNNL(dnnl_primitive_desc_create(&fpd, &fd, NULL, eng, NULL));
    DOB_DNNL(dob_own_primitive(l, &p->fwd, fpd));
    DOB_DNNL(dnnl_lstm_backward_desc_init(&bd, dnnl_backward, dnnl_unidirectional_left2right, &src, &st_md, &st_md,
                                          &wl_any, &wi_any, &b_md, &dst, &st_md, &st_md, &src, &st_md, &st_md,
                                          &wl_any, &wi_any, &b_md, &dst, &st_md, &st_md, dnnl_rnn_flags_undef));
    DOB_DNNL(dnnl_primitive_desc_create(&bpd, &bd, NULL, eng, fpd));
    DOB_DNNL(dob_own_primitive(l, &p->bwd, bpd));

    float *wl = dob_arena_param(l->arena, l->param[0]), *wi = dob_arena_param(l->arena, l->param[1]);
    DOB_DNNL(dob_own_mem(l, &p->wl, eng, &wl_plain, dnnl_primitive_desc_query_md(fpd, dnnl_query_weights_md, 0), wl, 1));
    DOB_DNNL(dob_own_mem(l, &p->wi, eng, &wi_plain, dnnl_primitive_desc_query_md(fpd, dnnl_query_weights_md, 1), wi, 1));
    DOB_DNNL(dob_own_mem(l, &p->wl_b, eng, &wl_plain, dnnl_primitive_desc_query_md(bpd, dnnl_query_weights_md, 0), wl,
                          1));
    DOB_DNNL(dob_own_mem(l, &p->wi_b, eng, &wi_plain, dnnl_primitive_desc_query_md(bpd, dnnl_query_weights_md, 1), wi,
                          1));
    DOB_DNNL(dob_own_mem(l, &p->dwl, eng, &wl_plain, dnnl_primitive_desc_query_md(bpd, dnnl_query_diff_weights_md, 0),
                          dob_arena_grad(l->arena, l->param[0]), 0));
    DOB_DNNL(dob_own_mem(l, &p->dwi, eng, &wi_plain, dnnl_primitive_desc_query_md(bpd, dnnl_query_diff_weights_md, 1),
                          dob_arena_grad(l->arena, l->param[1]), 0));
    DOB_DNNL(dob_own_mem(l, &p->db, eng, &b_md, dnnl_primitive_desc_query_md(bpd, dnnl_query_diff_weights_md, 2),
                          dob_arena_grad(l->arena, l->param[2]), 0));
    DOB_DNNL(dob_own_memory(l, &p->bias, &b_md, eng, DNNL_MEMORY_ALLOCATE));
    DOB_DNNL(dob_own_memory(l, &p->ws, dnnl_primitive_desc_query_md(fpd, dnnl_query_workspace_md, 0), eng,
                                DNNL_MEMORY_ALLOCATE));
    DOB_DNNL(dob_own_memory(l, &p->src, &src, eng, l->in[0]->data));
    DOB_DNNL(dob_own_memory(l, &p->dst, &dst, eng, l->out->data));
    DOB_DNNL(dob_own_memory(l, &p->ddst, &dst, eng, l->out->diff));
    DOB_DNNL(dob_own_memory(l, &p->dsrc, &src, eng, l->in_diff[0] ? (void *)l->in_diff[0] : DNNL_MEMORY_ALLOCATE));
    dnnl_memory_t *states[] = {&p->h0, &p->c0, &p->h1, &p->c1, &p->dh0, &p->dc0, &p->dh1, &p->dc1};
    for (size_t i = 0; i < sizeof states / sizeof states[0]; i++) {
        DOB_DNNL(dob_own_memory(l, states[i], &st_md, eng, DNNL_MEMORY_ALLOCATE));
        memset(handle(*states[i]), 0, bytes(*states[i])); /* zero state; dh1, dc1 stay zero */
    }
    p->carried = 0;
fail:
    if (fpd) dnnl_primitive_desc_destroy(fpd);
    if (bpd) dnnl_primitive_desc_destroy(bpd);
    return st;
}

static void lstm_reset(dob_layer *l) {
    lstm_priv *p = l->priv;
    if (!p->h0) return; /* not built */
    memset(handle(p->h0), 0, bytes(p->h0));
    memset(handle(p->c0), 0, bytes(p->c0));
    p->carried = 0;
}

/* State as floats: h then c (N x H each, ldnc with l = d = 1), the final state of the last forward (zero after
 * reset). Setting it makes the next forward start from it. */
static size_t lstm_state_count(const dob_layer *l) {
    const lstm_priv *p = l->priv;
    return p->h1 ? 2 * bytes(p->h1) / sizeof(float) : 0;
}

static void lstm_state_get(const dob_layer *l, float *dst) {
    const lstm_priv *p = l->priv;
    const size_t b = bytes(p->h1);
    if (!p->carried) {
        memset(dst, 0, 2 * b);
        return;
    }
    memcpy(dst, handle(p->h1), b);
    memcpy((char *)dst + b, handle(p->c1), b);
}

static void lstm_state_set(dob_layer *l, const float *src) {
    lstm_priv *p = l->priv;
    const size_t b = bytes(p->h1);
    memcpy(handle(p->h1), src, b);
    memcpy(handle(p->c1), (const char *)src + b, b);
    p->carried = 1;
}

static dob_status lstm_forward(dob_layer *l, int training) {
    (void)training; /* forward_training serves both: an LSTM has no mode-dependent work (dropout is a layer) */
    dob_status st = DOB_OK;
    lstm_priv *p = l->priv;
    const dob_lstm_cfg *cfg = l->cfg;
    dnnl_stream_t s = dob_net_stream(l->net);
    if (p->carried) { /* continue from the previous batch's final state */
        memcpy(handle(p->h0), handle(p->h1), bytes(p->h0));
        memcpy(handle(p->c0), handle(p->c1), bytes(p->c0));
    }
    /* TF: f = sigmoid(x W_f + h U_f + b_f + forget_bias); oneDNN's gate 1 is f */
    const float *b = dob_arena_param(l->arena, l->param[2]);
    float *bf = handle(p->bias);
    for (int64_t i = 0; i < 4 * p->h; i++) bf[i] = b[i] + (i / p->h == 1 ? cfg->forget_bias : 0.0f);
    DOB_DNNL(dob_mem_sync(&p->wl, s, NULL));
    DOB_DNNL(dob_mem_sync(&p->wi, s, NULL));
    dnnl_exec_arg_t args[] = {
        {DNNL_ARG_SRC_LAYER, p->src},       {DNNL_ARG_SRC_ITER, p->h0},         {DNNL_ARG_SRC_ITER_C, p->c0},
        {DNNL_ARG_WEIGHTS_LAYER, p->wl.prim}, {DNNL_ARG_WEIGHTS_ITER, p->wi.prim}, {DNNL_ARG_BIAS, p->bias},
        {DNNL_ARG_DST_LAYER, p->dst},       {DNNL_ARG_DST_ITER, p->h1},         {DNNL_ARG_DST_ITER_C, p->c1},
        {DNNL_ARG_WORKSPACE, p->ws}};
    DOB_DNNL(dnnl_primitive_execute(p->fwd, s, (int)(sizeof args / sizeof args[0]), args));
    p->carried = 1;
fail:
    return st;
}

/* oneDNN's backward ACCUMULATES into its diff weights and diff bias: zero them, then reorder out (overwrite). */
static dob_status lstm_backward(dob_layer *l) {
    dob_status st = DOB_OK;
    lstm_priv *p = l->priv;
    dnnl_stream_t s = dob_net_stream(l->net);
    memset(handle(p->dwl.prim), 0, bytes(p->dwl.prim));
    memset(handle(p->dwi.prim), 0, bytes(p->dwi.prim));
    memset(handle(p->db.prim), 0, bytes(p->db.prim));
    DOB_DNNL(dob_mem_sync(&p->wl_b, s, NULL));
    DOB_DNNL(dob_mem_sync(&p->wi_b, s, NULL));
    dnnl_exec_arg_t args[] = {
        {DNNL_ARG_SRC_LAYER, p->src},
        {DNNL_ARG_SRC_ITER, p->h0},
        {DNNL_ARG_SRC_ITER_C, p->c0},
        {DNNL_ARG_WEIGHTS_LAYER, p->wl_b.prim},
        {DNNL_ARG_WEIGHTS_ITER, p->wi_b.prim},
        {DNNL_ARG_BIAS, p->bias},
        {DNNL_ARG_DST_LAYER, p->dst},
        {DNNL_ARG_DST_ITER, p->h1},
        {DNNL_ARG_DST_ITER_C, p->c1},
        {DNNL_ARG_DIFF_SRC_LAYER, p->dsrc},
        {DNNL_ARG_DIFF_SRC_ITER, p->dh0},
        {DNNL_ARG_DIFF_SRC_ITER_C, p->dc0},
        {DNNL_ARG_DIFF_WEIGHTS_LAYER, p->dwl.prim},
        {DNNL_ARG_DIFF_WEIGHTS_ITER, p->dwi.prim},
        {DNNL_ARG_DIFF_BIAS, p->db.prim},
        {DNNL_ARG_DIFF_DST_LAYER, p->ddst},
        {DNNL_ARG_DIFF_DST_ITER, p->dh1},
        {DNNL_ARG_DIFF_DST_ITER_C, p->dc1},
        {DNNL_ARG_WORKSPACE, p->ws}};
    DOB_DNNL(dnnl_primitive_execute(p->bwd, s, (int)(sizeof args / sizeof args[0]), args));
    DOB_DNNL(dob_mem_sync(&p->dwl, s, NULL));
    DOB_DNNL(dob_mem_sync(&p->dwi, s, NULL));
    DOB_DNNL(dob_mem_sync(&p->db, s, NULL));
fail:
    return st;
}

const dob_layer_ops dob_lstm_ops = {
    .type = "lstm", .priv_size = sizeof(lstm_priv), .reserve = lstm_reserve, .build = lstm_build,
    .forward = lstm_forward, .backward = lstm_backward, .reset = lstm_reset, .stateful = 1,
    .state_count = lstm_state_count, .state_get = lstm_state_get, .state_set = lstm_state_set,
};

dob_status dob_net_lstm(dob_net *net, const char *name, int in, const dob_lstm_cfg *cfg, int *out) {
    return dob_net_add(net, &dob_lstm_ops, name, cfg, sizeof *cfg, 1, &in, out);
}
