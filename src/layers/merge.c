/* merge.c: layers that merge several tensors: residual add (out = in[0] + in[1]) and channel concat.
 *
 * add:    forward is a oneDNN binary_add; both inputs must have identical shapes. Layout-transparent
 *         (DOB_IN_BLOCKED_EACH): each input in its producer's layout, out in the first blocked one's, so a
 *         residual stream of blocked convs runs without reorders (svhn_wrn164, Zen 5: see the README).
 *         backward copies diff_dst into each in_diff (the derivative of a sum is 1 for both terms), reordering
 *         it for an input whose layout is not out's.
 * concat: along dim 1 (channels, or features for 2-D tensors) of n inputs whose other dims agree; forward is a
 *         oneDNN concat primitive. Layout-transparent (DOB_IN_BLOCKED_EACH): each input in its producer's layout;
 *         out in their channel-blocked layout (nChw8c / nChw16c) when all share it and every C_i is a whole number
 *         of blocks, else plain. backward copies each example's channel slice of diff_dst into the matching
 *         in_diff, or reorders the slice's window (a submemory of diff_dst) for an input whose layout is not out's.
 * Saved for backward: nothing (both backward passes read diff_dst only).
 * Invariants: plain, or blocked with whole channel blocks, the channel slice of input i in example b is the
 * contiguous range [b * C_out * S + c_off(i) * S, + C_i * S) of dst, with S the product of the dims after dim 1.
 * Does not: broadcast, or concat along other dims. Fan-out of a tensor into two readers is handled by the net. */
#include "dnnl_util.h"
#include "dob/layers.h"

#include <stdio.h>
#include <string.h>

/* "AxBxC": the per-example dims of t (dims[1..]), for error messages. */
static const char *shape_str(const dob_tensor *t, char *buf, size_t len) {
    size_t k = 0;
    buf[0] = '\0';
    for (int i = 1; i < t->ndim && k < len; i++)
        k += (size_t)snprintf(buf + k, len - k, i > 1 ? "x%lld" : "%lld", (long long)t->dims[i]);
    return buf;
}

/* dst[0..n) = src[0..n), split over threads in fixed chunks. */
static void copy_par(float *dst, const float *src, size_t n) {
    const size_t chunk = 1 << 16;
    const size_t nc = (n + chunk - 1) / chunk;
#pragma omp parallel for schedule(static)
    for (size_t c = 0; c < nc; c++) {
        size_t b = c * chunk, e = b + chunk < n ? b + chunk : n;
        memcpy(dst + b, src + b, (e - b) * sizeof(float));
    }
}

/* d0[0..n) = d1[0..n) = src[0..n): src read once. */
static void copy2_par(float *d0, float *d1, const float *src, size_t n) {
#pragma omp parallel for schedule(static)
    for (size_t k = 0; k < n; k++) d0[k] = d1[k] = src[k];
}

// ---- add ---------------------------------------------------------------------------------------------

typedef struct add_priv {
    dnnl_primitive_t fwd;
    dnnl_memory_t src0, src1, dst;
    dnnl_primitive_t to_in[2]; /* diff_dst -> in_diff[i] where input i's layout is not out's, else NULL (copy) */
    dnnl_memory_t ddst, din[2];
} add_priv;

static dob_status add_reserve(dob_layer *l, dob_arena *a) {
    (void)a;
    if (l->n_in != 2) return DOB_FAIL(DOB_EINVAL, "add expects 2 inputs, found %d", l->n_in);
    const dob_tensor *x0 = l->in[0], *x1 = l->in[1];
    int same = x0->ndim == x1->ndim;
    for (int i = 1; same && i < x0->ndim; i++) same = x0->dims[i] == x1->dims[i];
    if (!same) {
        char s0[96], s1[96];
        return DOB_FAIL(DOB_EINVAL, "add needs identical input shapes, found %s and %s (per example)",
                        shape_str(x0, s0, sizeof s0), shape_str(x1, s1, sizeof s1));
    }
    l->out->ndim = x0->ndim;
    memcpy(l->out->dims, x0->dims, sizeof l->out->dims);
    return DOB_OK;
}

/* *r = a reorder from -> to, owned by l. */
static dnnl_status_t own_reorder(dob_layer *l, dnnl_primitive_t *r, const dnnl_memory_desc_t *from,
                                 const dnnl_memory_desc_t *to, dnnl_engine_t eng) {
    dnnl_primitive_desc_t pd = NULL;
    dnnl_status_t s = dnnl_reorder_primitive_desc_create(&pd, from, eng, to, eng, NULL);
    if (s == dnnl_success) s = dob_own_primitive(l, r, pd);
    if (pd) dnnl_primitive_desc_destroy(pd);
    return s;
}

/* The layouts: each input's own (plain or its producer's blocked one); out takes the first blocked one, which
 * dob_net_set_out_md accepts because that producer could block only if this out can (DOB_IN_BLOCKED_EACH). */
static dob_status add_layouts(dob_layer *l, dnnl_memory_desc_t in_md[2], dnnl_memory_desc_t *out_md) {
    dob_status st = DOB_OK;
    DOB_DNNL(dob_md_plain(out_md, l->out->ndim, l->out->dims));
    for (int i = 0; i < 2; i++) in_md[i] = dob_net_in_md(l, i) ? *dob_net_in_md(l, i) : *out_md;
    for (int i = 0; i < 2; i++) {
        if (!dob_net_in_md(l, i)) continue;
        if (!dob_net_set_out_md(l, &in_md[i]))
            return DOB_FAIL(DOB_EINTERNAL, "%s: input %d arrived blocked, but the output refuses the layout",
                            l->name, i);
        *out_md = in_md[i];
        break;
    }
fail:
    return st;
}

static dob_status add_build(dob_layer *l, int64_t batch) {
    (void)batch;
    dob_status st = DOB_OK;
    add_priv *p = l->priv;
    dnnl_engine_t eng = dob_net_engine(l->net);
    dnnl_memory_desc_t in_md[2], md;
    dnnl_binary_desc_t bd;
    dnnl_primitive_desc_t pd = NULL;
    if ((st = add_layouts(l, in_md, &md)) != DOB_OK) return st;
    DOB_DNNL(dnnl_binary_desc_init(&bd, dnnl_binary_add, &in_md[0], &in_md[1], &md));
    DOB_DNNL(dnnl_primitive_desc_create(&pd, &bd, NULL, eng, NULL));
    DOB_DNNL(dob_own_primitive(l, &p->fwd, pd));
    DOB_DNNL(dob_own_memory(l, &p->src0, &in_md[0], eng, l->in[0]->data));
    DOB_DNNL(dob_own_memory(l, &p->src1, &in_md[1], eng, l->in[1]->data));
    DOB_DNNL(dob_own_memory(l, &p->dst, &md, eng, l->out->data));
    DOB_DNNL(dob_own_memory(l, &p->ddst, &md, eng, l->out->diff));
    for (int i = 0; i < 2; i++) {
        if (!l->in_diff[i] || dnnl_memory_desc_equal(&in_md[i], &md)) continue;
        DOB_DNNL(dob_own_memory(l, &p->din[i], &in_md[i], eng, l->in_diff[i]));
        DOB_DNNL(own_reorder(l, &p->to_in[i], &md, &in_md[i], eng));
    }
fail:
    if (pd) dnnl_primitive_desc_destroy(pd);
    return st;
}

static dob_status add_forward(dob_layer *l, int training) {
    (void)training;
    dob_status st = DOB_OK;
    add_priv *p = l->priv;
    dnnl_exec_arg_t args[] = {{DNNL_ARG_SRC_0, p->src0}, {DNNL_ARG_SRC_1, p->src1}, {DNNL_ARG_DST, p->dst}};
    DOB_DNNL(dnnl_primitive_execute(p->fwd, dob_net_stream(l->net), 3, args));
fail:
    return st;
}

/* forward: dst = src0 + src1   =>   diff_src0 = diff_src1 = diff_dst (each in its input's layout) */
static dob_status add_backward(dob_layer *l) {
    dob_status st = DOB_OK;
    add_priv *p = l->priv;
    if (l->in_diff[0] && l->in_diff[1] && !p->to_in[0] && !p->to_in[1]) { /* both copies in one pass */
        copy2_par(l->in_diff[0], l->in_diff[1], l->out->diff, l->out->count);
        return DOB_OK;
    }
    for (int i = 0; i < 2; i++) {
        if (!l->in_diff[i]) continue;
        if (!p->to_in[i]) {
            copy_par(l->in_diff[i], l->out->diff, l->out->count);
            continue;
        }
        dnnl_exec_arg_t args[] = {{DNNL_ARG_FROM, p->ddst}, {DNNL_ARG_TO, p->din[i]}};
        DOB_DNNL(dnnl_primitive_execute(p->to_in[i], dob_net_stream(l->net), 2, args));
    }
fail:
    return st;
}

const dob_layer_ops dob_add_ops = {
    .type = "add", .priv_size = sizeof(add_priv), .reserve = add_reserve, .build = add_build,
    .forward = add_forward, .backward = add_backward, .in_blocked = DOB_IN_BLOCKED_EACH,
};

dob_status dob_net_residual(dob_net *net, const char *name, int a, int b, int *out) {
    return dob_net_add(net, &dob_add_ops, name, NULL, 0, 2, (const int[]){a, b}, out);
}

// ---- concat ------------------------------------------------------------------------------------------

typedef struct concat_priv {
    dnnl_primitive_t fwd;
    dnnl_memory_t src[DOB_LAYER_MAX_IN], dst;
    /* input i whose layout does not slice out's: a reorder from its channel window of diff_dst, else NULL (copy) */
    dnnl_primitive_t to_in[DOB_LAYER_MAX_IN];
    dnnl_memory_t ddst_sub[DOB_LAYER_MAX_IN], din[DOB_LAYER_MAX_IN];
} concat_priv;

static dob_status concat_reserve(dob_layer *l, dob_arena *a) {
    (void)a;
    const dob_tensor *x0 = l->in[0];
    char s0[96], si[96];
    if (x0->ndim < 2)
        return DOB_FAIL(DOB_EINVAL, "concat needs inputs with at least 1 dim per example, found %d",
                        x0->ndim - 1);
    int64_t channels = 0;
    for (int i = 0; i < l->n_in; i++) {
        const dob_tensor *xi = l->in[i];
        int same = xi->ndim == x0->ndim;
        for (int d = 2; same && d < x0->ndim; d++) same = xi->dims[d] == x0->dims[d];
        if (!same)
            return DOB_FAIL(DOB_EINVAL,
                            "concat along dim 1 needs the other dims equal: input 0 is %s, input %d is %s "
                            "(per example)",
                            shape_str(x0, s0, sizeof s0), i, shape_str(xi, si, sizeof si));
        channels += xi->dims[1];
    }
    l->out->ndim = x0->ndim;
    memcpy(l->out->dims, x0->dims, sizeof l->out->dims);
    l->out->dims[1] = channels;
    return DOB_OK;
}

/* Elements per example after dim 1 (S). */
static int64_t inner_size(const dob_tensor *t) {
    int64_t S = 1;
    for (int d = 2; d < t->ndim; d++) S *= t->dims[d];
    return S;
}

/* The layouts: each input's own (plain, or its producer's blocked one). out takes the inputs' channel-blocked
 * layout (nChw8c / nChw16c) when all share it and every channel count is a whole number of blocks: then each
 * input is one contiguous range per example in out, as in plain, and no reorder runs (Inception-v3's blocks on a
 * Zen 3, batch 32: ~560 ms of nchw <-> nChw8c reorders per 11 s step around its concats before). Else out is
 * plain. Sets slice[i] where input i's range of out is contiguous per example in its own layout. */
static dob_status concat_layouts(dob_layer *l, dnnl_memory_desc_t *in_md, dnnl_memory_desc_t *out_md, int *slice) {
    dob_status st = DOB_OK;
    const int64_t S = inner_size(l->out);
    int64_t blk[DOB_LAYER_MAX_IN], B = 0;
    DOB_DNNL(dob_md_plain(out_md, l->out->ndim, l->out->dims));
    for (int i = 0; i < l->n_in; i++) {
        const dnnl_memory_desc_t *md = dob_net_in_md(l, i);
        if (md) in_md[i] = *md;
        else DOB_DNNL(dob_md_plain(&in_md[i], l->in[i]->ndim, l->in[i]->dims));
        /* 1: plain order; 8/16: channel blocks; 0: other (nhwc gives C, which differs between inputs) */
        blk[i] = md ? dob_md_chan_block(md, l->in[i]->dims[1], S) : 1;
        B = i == 0 || blk[i] == B ? blk[i] : 0;
    }
    int blocked = 0;
    if ((B == 8 || B == 16) && l->out->ndim == 4) {
        dnnl_memory_desc_t md;
        dnnl_dims_t d = {l->out->dims[0], l->out->dims[1], l->out->dims[2], l->out->dims[3]};
        DOB_DNNL(dnnl_memory_desc_init_by_tag(&md, 4, d, dnnl_f32, B == 8 ? dnnl_aBcd8b : dnnl_aBcd16b));
        if ((blocked = dob_net_set_out_md(l, &md))) *out_md = md;
    }
    for (int i = 0; i < l->n_in; i++) slice[i] = blocked || blk[i] == 1;
fail:
    return st;
}

static dob_status concat_build(dob_layer *l, int64_t batch) {
    (void)batch;
    dob_status st = DOB_OK;
    concat_priv *p = l->priv;
    dnnl_engine_t eng = dob_net_engine(l->net);
    dnnl_memory_desc_t out_md, in_md[DOB_LAYER_MAX_IN];
    dnnl_primitive_desc_t pd = NULL;
    int slice[DOB_LAYER_MAX_IN];
    if ((st = concat_layouts(l, in_md, &out_md, slice)) != DOB_OK) return st;
    DOB_DNNL(dnnl_concat_primitive_desc_create(&pd, &out_md, l->n_in, 1, in_md, NULL, eng));
    DOB_DNNL(dob_own_primitive(l, &p->fwd, pd));
    for (int i = 0; i < l->n_in; i++) DOB_DNNL(dob_own_memory(l, &p->src[i], &in_md[i], eng, l->in[i]->data));
    DOB_DNNL(dob_own_memory(l, &p->dst, &out_md, eng, l->out->data));
    /* backward of an input that does not slice out (a blocked input of a plain out): reorder its window */
    dnnl_dims_t off = {0}, d = {0};
    for (int i = 0; i < l->n_in; off[1] += l->in[i]->dims[1], i++) {
        if (slice[i] || !l->in_diff[i]) continue;
        dnnl_memory_desc_t sub;
        memcpy(d, l->in[i]->dims, (size_t)l->in[i]->ndim * sizeof d[0]);
        DOB_DNNL(dnnl_memory_desc_init_submemory(&sub, &out_md, d, off));
        DOB_DNNL(dob_own_memory(l, &p->ddst_sub[i], &sub, eng, l->out->diff));
        DOB_DNNL(dob_own_memory(l, &p->din[i], &in_md[i], eng, l->in_diff[i]));
        DOB_DNNL(own_reorder(l, &p->to_in[i], &sub, &in_md[i], eng));
    }
fail:
    if (pd) dnnl_primitive_desc_destroy(pd);
    return st;
}

static dob_status concat_forward(dob_layer *l, int training) {
    (void)training;
    dob_status st = DOB_OK;
    concat_priv *p = l->priv;
    dnnl_exec_arg_t args[DOB_LAYER_MAX_IN + 1];
    for (int i = 0; i < l->n_in; i++) args[i] = (dnnl_exec_arg_t){DNNL_ARG_MULTIPLE_SRC + i, p->src[i]};
    args[l->n_in] = (dnnl_exec_arg_t){DNNL_ARG_DST, p->dst};
    DOB_DNNL(dnnl_primitive_execute(p->fwd, dob_net_stream(l->net), l->n_in + 1, args));
fail:
    return st;
}

/* forward: dst[b, off_i : off_i + C_i, ...] = src_i[b]   =>   diff_src_i[b] = diff_dst[b, off_i : off_i + C_i]:
 * one contiguous range per example where input i slices out (same channel blocking), else a reorder. */
static dob_status concat_backward(dob_layer *l) {
    dob_status st = DOB_OK;
    concat_priv *p = l->priv;
    const int n_in = l->n_in;
    const int64_t N = l->out->dims[0];
    const size_t out_ex = l->out->count / (size_t)N;  /* C_out * S */
    size_t in_ex[DOB_LAYER_MAX_IN], off[DOB_LAYER_MAX_IN], o = 0;
    float *copy_to[DOB_LAYER_MAX_IN];                 /* NULL: not needed, or reordered below */
    for (int i = 0; i < n_in; i++) {
        in_ex[i] = l->in[i]->count / (size_t)N;       /* C_i * S */
        off[i] = o;
        o += in_ex[i];
        copy_to[i] = p->to_in[i] ? NULL : l->in_diff[i];
    }
    const float *diff_dst = l->out->diff;
    const int64_t jobs = N * n_in;
#pragma omp parallel for schedule(static)
    for (int64_t j = 0; j < jobs; j++) {
        int64_t b = j / n_in;
        int i = (int)(j % n_in);
        if (copy_to[i])
            memcpy(copy_to[i] + (size_t)b * in_ex[i], diff_dst + (size_t)b * out_ex + off[i], in_ex[i] * sizeof(float));
    }
    for (int i = 0; i < n_in; i++) {
        if (!p->to_in[i]) continue;
        dnnl_exec_arg_t args[] = {{DNNL_ARG_FROM, p->ddst_sub[i]}, {DNNL_ARG_TO, p->din[i]}};
        DOB_DNNL(dnnl_primitive_execute(p->to_in[i], dob_net_stream(l->net), 2, args));
    }
fail:
    return st;
}

const dob_layer_ops dob_concat_ops = {
    .type = "concat", .priv_size = sizeof(concat_priv), .reserve = concat_reserve, .build = concat_build,
    .forward = concat_forward, .backward = concat_backward, .in_blocked = DOB_IN_BLOCKED_EACH,
};

dob_status dob_net_concat(dob_net *net, const char *name, int n, const int *in, int *out) {
    return dob_net_add(net, &dob_concat_ops, name, NULL, 0, n, in, out);
}
