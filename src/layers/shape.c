/* shape.c: TF padding arithmetic and the reshape/flatten view layer.
 * Reshape is an alias layer: its output shares the input's buffers, so it costs nothing at run time. */
#include "dob/layer.h"
#include "dob/layers.h"

int64_t dob_pad_out(int64_t in, int64_t k, int64_t stride, dob_padding pad, int64_t *pad_l, int64_t *pad_r) {
    int64_t out, total;
    if (pad == DOB_PAD_SAME) {
        out = (in + stride - 1) / stride;
        total = (out - 1) * stride + k - in;
        if (total < 0) total = 0;
    } else {
        out = in >= k ? (in - k) / stride + 1 : 0;   /* = ceil((in - k + 1) / stride) */
        total = 0;
    }
    if (pad_l) *pad_l = total / 2;
    if (pad_r) *pad_r = total - total / 2;
    return out;
}

static dob_status reshape_reserve(dob_layer *l, dob_arena *a) {
    (void)a;
    const dob_reshape_cfg *c = l->cfg;
    const dob_tensor *x = l->in[0];
    int64_t n_in = 1, n_out = 1;
    for (int i = 1; i < x->ndim; i++) n_in *= x->dims[i];
    if (c->ndim < 1 || c->ndim > DOB_MAX_DIMS - 1)
        return DOB_FAIL(DOB_EINVAL, "expected 1..%d dims per example, found %d", DOB_MAX_DIMS - 1, c->ndim);
    for (int i = 0; i < c->ndim; i++) n_out *= c->dims[i];
    if (n_in != n_out)
        return DOB_FAIL(DOB_EINVAL, "reshape to %lld elements per example, but the input has %lld",
                        (long long)n_out, (long long)n_in);
    l->out->ndim = c->ndim + 1;
    for (int i = 0; i < c->ndim; i++) l->out->dims[i + 1] = c->dims[i];
    return DOB_OK;
}

const dob_layer_ops dob_reshape_ops = {
    .type = "reshape", .priv_size = 0, .alias = 1, .reserve = reshape_reserve,
};

dob_status dob_net_reshape(dob_net *net, const char *name, int in, const dob_reshape_cfg *cfg, int *out) {
    return dob_net_add(net, &dob_reshape_ops, name, cfg, sizeof *cfg, 1, &in, out);
}

dob_status dob_net_flatten(dob_net *net, const char *name, int in, int *out) {
    const dob_tensor *x = dob_net_tensor(net, in);
    if (!x) return DOB_FAIL(DOB_EINVAL, "layer %s: input tensor %d does not exist", name, in);
    dob_reshape_cfg c = {.ndim = 1, .dims = {1}};
    for (int i = 1; i < x->ndim; i++) c.dims[0] *= x->dims[i];
    return dob_net_reshape(net, name, in, &c, out);
}
