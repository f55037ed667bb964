/* net_mem.c: the activation buffers of a build: diff (gradient) buffers shared by liveness, and one scratch
 * region for every layer's per-call buffers (dob_net_bind_scratch, at the end).
 *
 * Backward runs the layers last to first, and a diff buffer is only needed for part of it: a tensor's diff is
 * first written by the backward of its reader (the last one, when summed: the gather before its producer) and last
 * read by its producer's backward; a reader's private buffer of a fan-out tensor lives from that reader's backward
 * to the gather. Each buffer is a request of n floats touched by the layers lo..hi (indices); two requests whose
 * ranges do not overlap may share memory. Requests are taken in the order backward starts them (decreasing hi) and
 * each goes to a free slot (best fit, else the largest free one, grown), so the slots are the peak of the live set.
 * Nothing reads a diff in forward (layers bind the pointers at build and use them in backward only).
 * Kept alive throughout: the output's diff (the trainer writes it before backward), the input's diff and every
 * buffer summed into it (read after backward), and the diff of a tensor nobody reads (its producer's backward reads
 * zeros, as it always did).
 * Measured at batch 2, activation buffers (data, diffs, scratch) without -> with sharing: imagenet_inception_v3
 * 1401 -> 332 MB, cifar10_vgg16 536 -> 206 MB, cifar100_wrn404 246 -> 50 MB; peak RSS of `bench_step
 * imagenet_inception_v3 8` 4.65 GB -> 1.58 GB, step time unchanged. The grads are bitwise those of unshared
 * buffers (unit suite buffers, every architecture).
 * After dob_net_backward only the parameter grads, the input's and the output's diff are defined; an intermediate
 * diff may hold another tensor's: dob_net_set_buffer_reuse(net, 0) keeps every one (tests that read them). */
#include "net_impl.h"

#include <limits.h>
#include <stdlib.h>

typedef struct diff_req {
    size_t n;   /* floats */
    int lo, hi; /* the layer indices whose backward (or the gather before it) touch it; -1: also after backward,
                   n_layers: also before (written by the trainer) */
    int slot;
} diff_req;

typedef struct plan {
    diff_req *req;
    int n_req;
    int *treq;  /* per tensor: its diff's request, -1 = no diff */
    int *inreq; /* per layer and input j: layer * DOB_LAYER_MAX_IN + j, -1 = no in_diff */
} plan;

static int new_req(plan *p, size_t n) {
    p->req[p->n_req] = (diff_req){.n = n, .lo = INT_MAX, .hi = INT_MIN, .slot = -1};
    return p->n_req++;
}

static void touch(plan *p, int r, int k) {
    diff_req *q = &p->req[r];
    if (k < q->lo) q->lo = k;
    if (k > q->hi) q->hi = k;
}

/* One request per diff the build needs, with the layers that touch it (see the top of the file). */
static void plan_requests(dob_net *net, plan *p) {
    const int L = net->n_layers;
    for (int k = 0; k < net->n_tensors; k++) p->treq[k] = -1;
    if (net->input_grad) {
        p->treq[0] = new_req(p, net->tensors[0]->t.count);
        touch(p, p->treq[0], -1);
    }
    for (int i = 0; i < L; i++) {
        dob_layer *l = net->layers[i];
        for (int j = 0; j < l->n_in; j++) {
            const tensor_meta *m = (const tensor_meta *)l->in[j];
            const int tid = m->producer + 1, r = p->treq[tid];
            int *in = &p->inreq[i * DOB_LAYER_MAX_IN + j];
            if (r < 0) {
                *in = -1;
            } else if (m->n_readers == 1) {
                *in = r;
                touch(p, r, i);
            } else { /* private: written by this backward, summed before the producer's (after backward for 0) */
                *in = new_req(p, m->t.count);
                touch(p, *in, i);
                touch(p, *in, m->producer);
            }
        }
        const int tid = i + 1;
        if (l->ops->alias) {
            p->treq[tid] = p->inreq[i * DOB_LAYER_MAX_IN];
        } else {
            p->treq[tid] = new_req(p, l->out->count);
        }
        if (p->treq[tid] >= 0) touch(p, p->treq[tid], i);
    }
    /* alive throughout, never shared: the output's diff (written before backward, may be read after) and the
     * diff of a tensor nobody reads (never written: its producer's backward reads the zeros of the allocation) */
    for (int k = 1; k < net->n_tensors; k++)
        if (p->treq[k] >= 0 && (k == net->output || net->tensors[k]->n_readers == 0))
            touch(p, p->treq[k], -1), touch(p, p->treq[k], L);
    if (net->no_reuse)
        for (int r = 0; r < p->n_req; r++) touch(p, r, -1), touch(p, r, L);
}

static int by_start(const void *a, const void *b) {
    const diff_req *x = *(const diff_req *const *)a, *y = *(const diff_req *const *)b;
    if (x->hi != y->hi) return y->hi > x->hi ? 1 : -1;
    return (x > y) - (x < y); /* request order: deterministic */
}

/* Give each request a slot; *n_slots slots of size[s] floats. Returns 0 if out of memory. */
static int assign_slots(plan *p, size_t *size, int *n_slots) {
    diff_req **order = malloc((size_t)(p->n_req ? p->n_req : 1) * sizeof *order);
    int *busy_lo = malloc((size_t)(p->n_req ? p->n_req : 1) * sizeof *busy_lo);
    if (!order || !busy_lo) {
        free(order);
        free(busy_lo);
        return 0;
    }
    for (int r = 0; r < p->n_req; r++) order[r] = &p->req[r];
    qsort(order, (size_t)p->n_req, sizeof *order, by_start);
    int ns = 0;
    for (int k = 0; k < p->n_req; k++) {
        diff_req *q = order[k];
        int fit = -1, big = -1;
        for (int s = 0; s < ns; s++) {
            if (busy_lo[s] <= q->hi) continue; /* its occupant is still live when q starts */
            if (size[s] >= q->n && (fit < 0 || size[s] < size[fit])) fit = s;
            if (big < 0 || size[s] > size[big]) big = s;
        }
        int s = fit >= 0 ? fit : big;
        if (s < 0) {
            s = ns++;
            size[s] = 0;
        }
        if (size[s] < q->n) size[s] = q->n;
        busy_lo[s] = q->lo;
        q->slot = s;
    }
    *n_slots = ns;
    free(order);
    free(busy_lo);
    return 1;
}

static float *req_ptr(const plan *p, float *const *slot, int r) { return r < 0 ? NULL : slot[p->req[r].slot]; }

dob_status dob_net_plan_diffs(dob_net *net) {
    dob_status st = DOB_OK;
    const size_t max_req = (size_t)net->n_tensors + (size_t)net->n_layers * DOB_LAYER_MAX_IN;
    plan p = {.req = malloc(max_req * sizeof *p.req), .treq = malloc((size_t)net->n_tensors * sizeof *p.treq),
              .inreq = malloc((size_t)(net->n_layers + 1) * DOB_LAYER_MAX_IN * sizeof *p.inreq)};
    size_t *size = malloc(max_req * sizeof *size);
    float **slot = malloc(max_req * sizeof *slot);
    int ns = 0;
    if (!p.req || !p.treq || !p.inreq || !size || !slot) goto nomem;
    plan_requests(net, &p);
    if (!assign_slots(&p, size, &ns)) goto nomem;
    for (int s = 0; s < ns; s++)
        if (!(slot[s] = dob_net_buf(net, size[s]))) goto nomem;
    for (int k = 0; k < net->n_tensors; k++) net->tensors[k]->t.diff = req_ptr(&p, slot, p.treq[k]);
    for (int i = 0; i < net->n_layers; i++)
        for (int j = 0; j < net->layers[i]->n_in; j++)
            net->layers[i]->in_diff[j] = req_ptr(&p, slot, p.inreq[i * DOB_LAYER_MAX_IN + j]);
    goto done;
nomem:
    st = DOB_FAIL(DOB_ENOMEM, "net: out of memory for activation gradients at batch %lld",
                  (long long)net->tensors[0]->t.dims[0]);
done:
    free(p.req);
    free(p.treq);
    free(p.inreq);
    free(size);
    free(slot);
    return st;
}

/* Layers run one at a time, so the scratch of every layer (dnnl_util.h) lies in one region the size of the largest
 * layer's need; with reuse off each layer gets its own part (the sum), so the buffers suite compares the two. */
dob_status dob_net_bind_scratch(dob_net *net) {
    dob_status st = DOB_OK;
    size_t most = 0, sum = 0;
    for (int i = 0; i < net->n_layers; i++) {
        const size_t b = dob_layer_tmp_bytes(net->layers[i]);
        most = b > most ? b : most;
        sum += b;
    }
    const size_t bytes = net->no_reuse ? sum : most;
    if (!bytes) return DOB_OK;
    char *base = (char *)dob_net_buf(net, bytes / sizeof(float));
    if (!base)
        return DOB_FAIL(DOB_ENOMEM, "net: out of memory for %zu bytes of layer scratch at batch %lld", bytes,
                        (long long)net->tensors[0]->t.dims[0]);
    for (int i = 0; i < net->n_layers; i++) {
        dob_layer *l = net->layers[i];
        DOB_DNNL(dob_layer_tmp_bind(l, base));
        if (net->no_reuse) base += dob_layer_tmp_bytes(l);
    }
fail:
    return st;
}
