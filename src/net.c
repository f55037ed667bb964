/* net.c: an ordered graph of layers over plain float tensors; tensor buffers; forward/backward drivers.
 *
 * Invariants: layers are stored in the order they were added, which is a topological order (a layer can only
 * read tensors that exist). Tensor 0 is the net input and has no diff. A tensor with k > 1 readers gets k private
 * diff buffers, summed into its own diff before its producer's backward (so every backward can overwrite).
 * Layout propagation: a tensor whose readers all set in_blocked, and which is not the net output, may hold its data
 * AND diff in a oneDNN layout its producer chose at build (dob_net_set_out_md), so conv -> pool -> conv chains
 * exchange blocked nChw8c buffers without reorders. Layout-transparent readers (DOB_IN_BLOCKED_SAME: act, bnorm;
 * DOB_IN_BLOCKED_EACH: add) take it only where their own output can hand the same layout on, so conv -> bnorm -> relu
 * -> conv and a residual stream (add -> bnorm and the next add) run blocked end to end. A fan-out tensor's readers all
 * get the one layout, so the sum of their diffs (gather_diff) is elementwise. Only layouts without padding (byte size
 * == count floats) are accepted, so buffer sizes never change. Everything else stays plain; dob_net_read_plain gives
 * the plain values of any tensor.
 * Does not: compute losses (see layers/losses.c) or update parameters (optimizers; the trainer). */
#include "net_impl.h"

#include <oneapi/dnnl/dnnl_debug.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double wall(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void dob_net_set_profile(dob_net *net, int on) {
    free(net->prof);
    net->prof = on ? calloc(2 * (size_t)(net->n_layers + 1), sizeof *net->prof) : NULL;
    net->cap_prof = net->prof ? net->n_layers : 0;
}

void dob_net_profile(const dob_net *net, int i, double *fwd_s, double *bwd_s) {
    int ok = net->prof && i >= 0 && i < net->cap_prof;
    *fwd_s = ok ? net->prof[2 * i] : 0;
    *bwd_s = ok ? net->prof[2 * i + 1] : 0;
}

dnnl_engine_t dob_net_engine(const dob_net *net) { return net->eng; }
dnnl_stream_t dob_net_stream(const dob_net *net) { return net->stream; }

static dob_status add_tensor(dob_net *net, int producer, int *id) {
    if (net->n_tensors == net->cap_tensors) {
        int cap = net->cap_tensors ? 2 * net->cap_tensors : 32;
        tensor_meta **p = realloc(net->tensors, (size_t)cap * sizeof *p);
        if (!p) return DOB_FAIL(DOB_ENOMEM, "net: out of memory");
        net->tensors = p;
        net->cap_tensors = cap;
    }
    tensor_meta *m = calloc(1, sizeof *m);
    if (!m) return DOB_FAIL(DOB_ENOMEM, "net: out of memory");
    m->producer = producer;
    net->tensors[net->n_tensors] = m;
    *id = net->n_tensors++;
    return DOB_OK;
}

dob_status dob_net_create(dob_net **out, int in_ndim, const int64_t *in_dims) {
    dob_status st = DOB_OK;
    *out = NULL;
    if (in_ndim < 1 || in_ndim > DOB_MAX_DIMS - 1)
        return DOB_FAIL(DOB_EINVAL, "net: input must have 1..%d dims per example, found %d", DOB_MAX_DIMS - 1,
                        in_ndim);
    dob_net *net = calloc(1, sizeof *net);
    if (!net) return DOB_FAIL(DOB_ENOMEM, "net: out of memory");
    DOB_DNNL(dnnl_engine_create(&net->eng, dnnl_cpu, 0));
    DOB_DNNL(dnnl_stream_create(&net->stream, net->eng, dnnl_stream_default_flags));
    DOB_TRY(dob_arena_create(&net->arena));
    int id;
    DOB_TRY(add_tensor(net, -1, &id));
    dob_tensor *t = &net->tensors[id]->t;
    t->ndim = in_ndim + 1;
    for (int i = 0; i < in_ndim; i++) {
        if (in_dims[i] <= 0) {
            st = DOB_FAIL(DOB_EINVAL, "net: input dim %d is %lld, expected > 0", i, (long long)in_dims[i]);
            goto fail;
        }
        t->dims[i + 1] = in_dims[i];
    }
    net->output = 0;
    *out = net;
    return DOB_OK;
fail:
    dob_net_destroy(net);
    return st;
}

static void free_bufs(dob_net *net) {
    for (int i = 0; i < net->n_bufs; i++) free(net->bufs[i]);
    net->n_bufs = 0;
    net->buf_bytes = 0;
}

static void unbuild(dob_net *net) {
    for (int i = 0; i < net->n_layers; i++) {
        dob_layer *l = net->layers[i];
        dob_layer_release(l);
        if (l->ops->destroy) l->ops->destroy(l);
        if (l->priv) memset(l->priv, 0, l->ops->priv_size);
    }
    free_bufs(net);
    for (int i = 0; i < net->n_tensors; i++) net->tensors[i]->blocked = 0;
    net->batch = 0;
}

void dob_net_destroy(dob_net *net) {
    if (!net) return;
    unbuild(net);
    for (int i = 0; i < net->n_layers; i++) {
        free(net->layers[i]->cfg);
        free(net->layers[i]->priv);
        free(net->layers[i]->owned);
        free(net->layers[i]);
    }
    free(net->layers);
    for (int i = 0; i < net->n_tensors; i++) free(net->tensors[i]);
    free(net->tensors);
    free(net->bufs);
    free(net->prof);
    dob_arena_destroy(net->arena);
    if (net->stream) dnnl_stream_destroy(net->stream);
    if (net->eng) dnnl_engine_destroy(net->eng);
    free(net);
}

int dob_net_input(const dob_net *net) {
    (void)net;
    return 0;
}

dob_status dob_net_add(dob_net *net, const dob_layer_ops *ops, const char *name, const void *cfg,
                       size_t cfg_size, int n_in, const int *in, int *out) {
    dob_status st = DOB_OK;
    if (n_in < 1 || n_in > DOB_LAYER_MAX_IN)
        return DOB_FAIL(DOB_EINVAL, "layer %s: expected 1..%d inputs, found %d", name, DOB_LAYER_MAX_IN, n_in);
    if (strlen(name) >= DOB_NAME_MAX - 16)
        return DOB_FAIL(DOB_EINVAL, "layer name '%s' too long (max %d)", name, DOB_NAME_MAX - 17);
    for (int i = 0; i < net->n_layers; i++)
        if (!strcmp(net->layers[i]->name, name)) return DOB_FAIL(DOB_EINVAL, "layer %s: name used twice", name);
    for (int i = 0; i < n_in; i++)
        if (in[i] < 0 || in[i] >= net->n_tensors)
            return DOB_FAIL(DOB_EINVAL, "layer %s: input %d is tensor %d, which does not exist", name, i, in[i]);
    if (net->n_layers == net->cap_layers) {
        int cap = net->cap_layers ? 2 * net->cap_layers : 32;
        dob_layer **p = realloc(net->layers, (size_t)cap * sizeof *p);
        if (!p) return DOB_FAIL(DOB_ENOMEM, "net: out of memory");
        net->layers = p;
        net->cap_layers = cap;
    }
    dob_layer *l = calloc(1, sizeof *l);
    if (!l) return DOB_FAIL(DOB_ENOMEM, "net: out of memory");
    l->ops = ops;
    snprintf(l->name, sizeof l->name, "%s", name);
    l->index = net->n_layers;
    l->net = net;
    l->arena = net->arena;
    l->cfg = malloc(cfg_size ? cfg_size : 1);
    l->priv = calloc(1, ops->priv_size ? ops->priv_size : 1);
    if (!l->cfg || !l->priv) {
        st = DOB_FAIL(DOB_ENOMEM, "net: out of memory");
        goto fail;
    }
    if (cfg_size) memcpy(l->cfg, cfg, cfg_size);
    l->n_in = n_in;
    for (int i = 0; i < n_in; i++) l->in[i] = &net->tensors[in[i]]->t;
    int id;
    DOB_TRY(add_tensor(net, net->n_layers, &id));
    l->out = &net->tensors[id]->t;
    net->tensors[id]->alias = ops->alias;
    st = ops->reserve(l, net->arena);
    if (st != DOB_OK) {
        free(net->tensors[id]);
        net->n_tensors--;
        goto fail;
    }
    l->out->ndim = l->out->ndim ? l->out->ndim : 2;
    for (int i = 0; i < n_in; i++) net->tensors[in[i]]->n_readers++;
    net->layers[net->n_layers++] = l;
    net->output = id;
    if (out) *out = id;
    return DOB_OK;
fail:
    dob_error_prefix("layer %s (%s): ", name, ops->type);
    if (l) {
        free(l->cfg);
        free(l->priv);
        free(l);
    }
    return st;
}

dob_status dob_net_alloc(dob_net *net) { return dob_arena_alloc(net->arena, 0); }

float *dob_net_buf(dob_net *net, size_t n) {
    if (net->n_bufs == net->cap_bufs) {
        int cap = net->cap_bufs ? 2 * net->cap_bufs : 64;
        void **p = realloc(net->bufs, (size_t)cap * sizeof *p);
        if (!p) return NULL;
        net->bufs = p;
        net->cap_bufs = cap;
    }
    size_t bytes = ((n ? n : 1) * sizeof(float) + 63) / 64 * 64;
    float *b = aligned_alloc(64, bytes);
    if (!b) return NULL;
    memset(b, 0, bytes);
    net->bufs[net->n_bufs++] = b;
    net->buf_bytes += bytes;
    return b;
}

dob_status dob_net_build(dob_net *net, int64_t batch) {
    dob_status st = DOB_OK;
    if (batch <= 0) return DOB_FAIL(DOB_EINVAL, "net: batch size must be > 0, found %lld", (long long)batch);
    if (batch == net->batch) return DOB_OK;
    unbuild(net);
    for (int k = 0; k < net->n_tensors; k++) {
        dob_tensor *t = &net->tensors[k]->t;
        t->dims[0] = batch;
        t->count = 1;
        for (int d = 0; d < t->ndim; d++) t->count *= (size_t)t->dims[d];
        t->data = t->diff = NULL;
    }
    /* data: the input's, then every layer's output (an alias borrows its input's); diffs: planned by liveness */
    dob_tensor *x = &net->tensors[0]->t;
    if (!(x->data = dob_net_buf(net, x->count))) goto nomem;
    for (int i = 0; i < net->n_layers; i++) {
        dob_layer *l = net->layers[i];
        l->out->data = l->ops->alias ? l->in[0]->data : dob_net_buf(net, l->out->count);
        if (!l->out->data) goto nomem;
    }
    if ((st = dob_net_plan_diffs(net)) != DOB_OK) {
        unbuild(net);
        return st;
    }
    net->batch = batch;
    for (int i = 0; i < net->n_layers; i++) {
        dob_layer *l = net->layers[i];
        if (l->ops->alias || !l->ops->build) continue;
        st = l->ops->build(l, batch);
        if (st != DOB_OK) {
            dob_error_prefix("layer %s (%s): build for batch %lld: ", l->name, l->ops->type, (long long)batch);
            unbuild(net);
            return st;
        }
    }
    if ((st = dob_net_bind_scratch(net)) != DOB_OK) {
        unbuild(net);
        return st;
    }
    return DOB_OK;
nomem:
    unbuild(net);
    return DOB_FAIL(DOB_ENOMEM, "net: out of memory for activations at batch %lld", (long long)batch);
}

dob_status dob_net_forward(dob_net *net, int training) {
    if (!net->batch) return DOB_FAIL(DOB_EINTERNAL, "net: forward before build");
    for (int i = 0; i < net->n_layers; i++) {
        dob_layer *l = net->layers[i];
        if (l->ops->alias) continue;
        double t0 = net->prof ? wall() : 0;
        dob_status st = l->ops->forward(l, training);
        if (net->prof && i < net->cap_prof) net->prof[2 * i] += wall() - t0;
        if (st != DOB_OK) {
            dob_error_prefix("layer %s (%s): forward: ", l->name, l->ops->type);
            return st;
        }
    }
    return DOB_OK;
}

void dob_net_reset_state(dob_net *net) {
    if (!net->batch) return; /* nothing built: nothing carried */
    for (int i = 0; i < net->n_layers; i++)
        if (net->layers[i]->ops->reset) net->layers[i]->ops->reset(net->layers[i]);
}

size_t dob_net_state_count(const dob_net *net) {
    size_t n = 0;
    if (!net->batch) return 0;
    for (int i = 0; i < net->n_layers; i++)
        if (net->layers[i]->ops->state_count) n += net->layers[i]->ops->state_count(net->layers[i]);
    return n;
}

void dob_net_state_get(const dob_net *net, float *dst) {
    if (!net->batch) return;
    for (int i = 0; i < net->n_layers; i++) {
        const dob_layer *l = net->layers[i];
        if (!l->ops->state_count) continue;
        l->ops->state_get(l, dst);
        dst += l->ops->state_count(l);
    }
}

void dob_net_state_set(dob_net *net, const float *src) {
    if (!net->batch) return;
    for (int i = 0; i < net->n_layers; i++) {
        dob_layer *l = net->layers[i];
        if (!l->ops->state_count) continue;
        l->ops->state_set(l, src);
        src += l->ops->state_count(l);
    }
}

/* d[k] = ((s[0][k] + s[1][k]) + s[2][k]) + s[3][k] for the first n (2-4) sources, left to right; s[0] may be d. */
static void sum_pass(float *d, const float *const *s, int n, size_t count) {
    const float *a = s[0], *b = s[1], *c = s[n > 2 ? 2 : 1], *e = s[n > 3 ? 3 : 1];
    if (n == 2) {
#pragma omp parallel for schedule(static)
        for (size_t k = 0; k < count; k++) d[k] = a[k] + b[k];
    } else if (n == 3) {
#pragma omp parallel for schedule(static)
        for (size_t k = 0; k < count; k++) d[k] = (a[k] + b[k]) + c[k];
    } else {
#pragma omp parallel for schedule(static)
        for (size_t k = 0; k < count; k++) d[k] = ((a[k] + b[k]) + c[k]) + e[k];
    }
}

/* Sum the readers' private diff buffers of tensor id into its diff, in reader order (deterministic, the same
 * rounding as a chain of pairwise sums). Up to 4 buffers per pass over memory, then d += up to 3 more per pass:
 * an Inception block output read by 4 branches costs 4 reads + 1 write, not 3 pairwise passes of 2 + 1 (Inception-v3,
 * batch 32, Zen 3: the time of these sums with the concat backward per step went from 147 to 109 ms). */
static void gather_diff(dob_net *net, int id) {
    tensor_meta *m = net->tensors[id];
    if (m->n_readers <= 1 || !m->t.diff) return;
    float *d = m->t.diff;
    const float *s[4];
    int n = 0;
    for (int i = 0; i < net->n_layers; i++) {
        dob_layer *l = net->layers[i];
        for (int j = 0; j < l->n_in; j++) {
            if (l->in[j] != &m->t) continue;
            s[n++] = l->in_diff[j];
            if (n < 4) continue;
            sum_pass(d, s, n, m->t.count);
            s[0] = d; /* from here on, d holds the running sum */
            n = 1;
        }
    }
    if (n > 1) sum_pass(d, s, n, m->t.count);
}

dob_status dob_net_backward(dob_net *net) {
    if (!net->batch) return DOB_FAIL(DOB_EINTERNAL, "net: backward before build");
    for (int i = net->n_layers - 1; i >= 0; i--) {
        dob_layer *l = net->layers[i];
        /* tensors are created in layer order: the output of layer i is tensor i + 1 */
        double t0 = net->prof ? wall() : 0;
        gather_diff(net, i + 1);
        if (l->ops->alias) continue;
        dob_status st = l->ops->backward(l);
        if (net->prof && i < net->cap_prof) net->prof[2 * i + 1] += wall() - t0;
        if (st != DOB_OK) {
            dob_error_prefix("layer %s (%s): backward: ", l->name, l->ops->type);
            return st;
        }
        if (net->bwd_hook) net->bwd_hook(net->bwd_ctx, i);
    }
    gather_diff(net, 0);
    return DOB_OK;
}

dob_arena *dob_net_arena(dob_net *net) { return net->arena; }
dob_tensor *dob_net_tensor(dob_net *net, int id) {
    return (id >= 0 && id < net->n_tensors) ? &net->tensors[id]->t : NULL;
}
dob_tensor *dob_net_input_tensor(dob_net *net) { return &net->tensors[0]->t; }
dob_tensor *dob_net_output(dob_net *net) { return &net->tensors[net->output]->t; }
void dob_net_set_output(dob_net *net, int id) {
    if (id < 0 || id >= net->n_tensors || id == net->output) return;
    net->output = id;
    unbuild(net); /* the output must be plain and its diff kept (net_mem.c): re-plan at the next build */
}
int dob_net_tensor_blocked(const dob_net *net, int id) {
    return id >= 0 && id < net->n_tensors && net->tensors[id]->blocked;
}
int dob_net_layer_count(const dob_net *net) { return net->n_layers; }
dob_layer *dob_net_layer(dob_net *net, int i) { return (i >= 0 && i < net->n_layers) ? net->layers[i] : NULL; }
void dob_net_set_input_grad(dob_net *net, int on) {
    net->input_grad = on;
    unbuild(net); /* buffers change: rebuild at the next dob_net_build */
}
int64_t dob_net_batch(const dob_net *net) { return net->batch; }
size_t dob_net_buffer_bytes(const dob_net *net) { return net->buf_bytes; }
int dob_net_stateful(const dob_net *net) {
    for (int i = 0; i < net->n_layers; i++)
        if (net->layers[i]->ops->stateful) return 1;
    return 0;
}
void dob_net_set_buffer_reuse(dob_net *net, int on) {
    net->no_reuse = !on;
    unbuild(net); /* buffers change: re-plan at the next build */
}
void dob_net_set_layout_propagation(dob_net *net, int on) {
    net->no_propagation = !on;
    unbuild(net); /* layouts change: re-plan at the next build */
}

/* 1 if reader r may read its input j in a blocked layout (see dob_layer_ops.in_blocked). */
static int reads_blocked(const dob_layer *r, int j) {
    switch (r->ops->in_blocked) {
    case 1: return j == 0 && r->n_in == 1;
    case DOB_IN_BLOCKED_SAME: return j == 0 && r->n_in == 1 && dob_net_out_can_block(r);
    case DOB_IN_BLOCKED_EACH: return dob_net_out_can_block(r);
    default: return 0;
    }
}

int dob_net_out_can_block(const dob_layer *l) {
    const dob_net *net = l->net;
    const tensor_meta *m = (const tensor_meta *)l->out; /* t is the first member */
    if (net->no_propagation || m->n_readers < 1 || m->alias || l->ops->alias ||
        l->out == &net->tensors[net->output]->t)
        return 0;
    for (int i = l->index + 1; i < net->n_layers; i++) {
        const dob_layer *r = net->layers[i];
        for (int j = 0; j < r->n_in; j++)
            if (r->in[j] == l->out && !reads_blocked(r, j)) return 0;
    }
    return 1;
}

int dob_net_set_out_md(dob_layer *l, const dnnl_memory_desc_t *md) {
    tensor_meta *m = (tensor_meta *)l->out;
    dnnl_memory_desc_t plain;
    if (!dob_net_out_can_block(l) || dnnl_memory_desc_get_size(md) != m->t.count * sizeof(float) ||
        dob_md_plain(&plain, m->t.ndim, m->t.dims) != dnnl_success || dnnl_memory_desc_equal(md, &plain))
        return 0;
    m->md = *md;
    m->blocked = 1;
    return 1;
}

const dnnl_memory_desc_t *dob_net_in_md(const dob_layer *l, int i) {
    const tensor_meta *m = (const tensor_meta *)l->in[i];
    return m->blocked ? &m->md : NULL;
}

dob_status dob_layer_same_md(dob_layer *l, dnnl_memory_desc_t *md) {
    const dnnl_memory_desc_t *in = dob_net_in_md(l, 0);
    if (!in) {
        if (dob_md_plain(md, l->in[0]->ndim, l->in[0]->dims) != dnnl_success)
            return DOB_FAIL(DOB_EINTERNAL, "%s: no plain layout for a %d-dim tensor", l->name, l->in[0]->ndim);
        return DOB_OK;
    }
    /* dob_net_out_can_block(producer) held only because l's out can block: the same md must be accepted */
    if (!dob_net_set_out_md(l, in))
        return DOB_FAIL(DOB_EINTERNAL, "%s: input arrived blocked, but its output refuses the layout", l->name);
    *md = *in;
    return DOB_OK;
}

dob_status dob_net_read_plain(dob_net *net, int id, float *data, float *diff) {
    dob_status st = DOB_OK;
    if (id < 0 || id >= net->n_tensors)
        return DOB_FAIL(DOB_EINVAL, "net: tensor %d does not exist (expected 0..%d)", id, net->n_tensors - 1);
    tensor_meta *m = net->tensors[id];
    if (!net->batch) return DOB_FAIL(DOB_EINVAL, "net: read of tensor %d before build", id);
    float *to[2] = {data, diff};
    const float *from[2] = {m->t.data, m->t.diff};
    dnnl_memory_desc_t plain;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_t r = NULL;
    dnnl_memory_t a = NULL, b = NULL;
    if (m->blocked) {
        DOB_DNNL(dob_md_plain(&plain, m->t.ndim, m->t.dims));
        DOB_DNNL(dnnl_reorder_primitive_desc_create(&pd, &m->md, net->eng, &plain, net->eng, NULL));
        DOB_DNNL(dnnl_primitive_create(&r, pd));
        DOB_DNNL(dnnl_memory_create(&a, &m->md, net->eng, DNNL_MEMORY_NONE));
        DOB_DNNL(dnnl_memory_create(&b, &plain, net->eng, DNNL_MEMORY_NONE));
    }
    for (int k = 0; k < 2; k++) {
        if (!to[k] || !from[k]) continue;
        if (!m->blocked) {
            memcpy(to[k], from[k], m->t.count * sizeof(float));
            continue;
        }
        DOB_DNNL(dnnl_memory_set_data_handle_v2(a, (void *)from[k], net->stream));
        DOB_DNNL(dnnl_memory_set_data_handle_v2(b, to[k], net->stream));
        dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, a}, {DNNL_ARG_TO, b}};
        DOB_DNNL(dnnl_primitive_execute(r, net->stream, 2, args));
    }
fail:
    if (a) dnnl_memory_destroy(a);
    if (b) dnnl_memory_destroy(b);
    if (r) dnnl_primitive_destroy(r);
    if (pd) dnnl_primitive_desc_destroy(pd);
    return st;
}
void dob_net_set_context(dob_net *net, dob_net_ctx ctx) { net->ctx = ctx; }
const dob_net_ctx *dob_net_context(const dob_net *net) { return &net->ctx; }
void dob_net_set_sum_hook(dob_net *net, dob_sum_hook fn, void *ctx) {
    net->sum_hook = fn;
    net->sum_ctx = ctx;
}
void dob_net_set_backward_hook(dob_net *net, void (*fn)(void *ctx, int layer), void *ctx) {
    net->bwd_hook = fn;
    net->bwd_ctx = ctx;
}
int dob_net_has_sum_hook(const dob_net *net) { return net->sum_hook != NULL; }
dob_status dob_net_sum(dob_net *net, double *x, size_t n) {
    return net->sum_hook ? net->sum_hook(net->sum_ctx, x, n) : DOB_OK;
}

dob_status dob_layer_param(dob_layer *l, dob_arena *a, const char *suffix, int ndim, const int64_t *dims,
                           int64_t fan_in, int64_t fan_out, dob_init init, unsigned flags, int *id) {
    if (l->n_params >= DOB_LAYER_MAX_PARAMS)
        return DOB_FAIL(DOB_EINTERNAL, "layer %s: more than %d parameters", l->name, DOB_LAYER_MAX_PARAMS);
    char full[2 * DOB_NAME_MAX + 2];
    snprintf(full, sizeof full, "%s/%s", l->name, suffix);
    int pid;
    dob_status st = dob_arena_reserve(a, full, ndim, dims, fan_in, fan_out, init, flags, &pid);
    if (st != DOB_OK) return st;
    l->param[l->n_params++] = pid;
    if (id) *id = pid;
    return DOB_OK;
}

/* ---- precision ------------------------------------------------------------------------------------------ */
const char *dob_precision_name(dob_precision p) {
    return p == DOB_F32 ? "f32" : p == DOB_BF16 ? "bf16" : NULL;
}

dob_status dob_precision_parse(const char *s, dob_precision *p) {
    if (!strcmp(s, "f32")) *p = DOB_F32;
    else if (!strcmp(s, "bf16")) *p = DOB_BF16;
    else return DOB_FAIL(DOB_EINVAL, "expected f32 or bf16, found '%s'", s);
    return DOB_OK;
}

dob_status dob_precision_check(dob_precision p) {
    if (p == DOB_F32) return DOB_OK;
    if (p != DOB_BF16) return DOB_FAIL(DOB_EINVAL, "precision: unknown precision %d", (int)p);
    /* the ISA values are bit sets: avx512_core_bf16 (0xe7) is contained in every ISA that has it (AMX 0x3e7);
     * avx2_vnni (0x407) is not above it */
    dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
    if (((unsigned)isa & (unsigned)dnnl_cpu_isa_avx512_core_bf16) != (unsigned)dnnl_cpu_isa_avx512_core_bf16)
        return DOB_FAIL(DOB_EINVAL, "bf16 needs a CPU with native bf16 (oneDNN ISA avx512_core_bf16 or "
                        "above), found %s", dnnl_cpu_isa2str(isa));
    return DOB_OK;
}

dob_status dob_net_set_precision(dob_net *net, dob_precision p) {
    dob_status st = dob_precision_check(p);
    if (st != DOB_OK) return st;
    if (p != net->precision) unbuild(net); /* every oneDNN plan changes: re-plan at the next build */
    net->precision = p;
    return DOB_OK;
}

dob_precision dob_net_precision(const dob_net *net) { return net->precision; }

/* ---- convolution algorithm ------------------------------------------------------------------------------ */
static const char *const conv_algo_names[] = {"direct", "winograd", "auto"};

const char *dob_conv_algo_name(dob_conv_algo a) {
    return (unsigned)a < sizeof conv_algo_names / sizeof conv_algo_names[0] ? conv_algo_names[a] : NULL;
}

dob_status dob_conv_algo_parse(const char *s, dob_conv_algo *a) {
    for (size_t i = 0; i < sizeof conv_algo_names / sizeof conv_algo_names[0]; i++)
        if (!strcmp(s, conv_algo_names[i])) {
            *a = (dob_conv_algo)i;
            return DOB_OK;
        }
    return DOB_FAIL(DOB_EINVAL, "expected direct, winograd or auto, found '%s'", s);
}

dob_status dob_net_set_conv_algo(dob_net *net, dob_conv_algo a) {
    if (!dob_conv_algo_name(a)) return DOB_FAIL(DOB_EINVAL, "unknown convolution algorithm %d", (int)a);
    if (a != net->conv_algo) unbuild(net); /* the convolutions' plans change: re-plan at the next build */
    net->conv_algo = a;
    return DOB_OK;
}

dob_conv_algo dob_net_conv_algo(const dob_net *net) { return net->conv_algo; }
