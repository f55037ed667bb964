/* grad_sync.c: bucketed gradient sums overlapped with backward (see grad_sync.h). */
#include "grad_sync.h"

#include <stdint.h>
#include <stdlib.h>

#include "dob/layer.h"

/* After layer i's backward: start the final gradients not yet started once they fill a bucket. */
static void on_layer(void *ctx, int i) {
    grad_sync *g = ctx;
    if (g->st != DOB_OK) return;
    size_t lo = g->ready[i];
    if (g->sent > lo && g->sent - lo >= g->bucket) {
        g->st = g->hooks->sum_float_start(g->hooks->ctx, g->grads + lo, g->sent - lo);
        g->sent = lo;
    }
    if (g->st == DOB_OK) g->st = g->hooks->sum_float_progress(g->hooks->ctx);
}

/* ready[i] = min over layers j >= i of their lowest parameter offset (n for none); valid only if every layer
 * before i ends at or below it: else every ready[i] = n (one bucket at the end). */
static void plan(grad_sync *g, dob_net *net, int n_layers) {
    dob_arena *a = dob_net_arena(net);
    size_t lo = g->n;
    for (int i = n_layers - 1; i >= 0; i--) {
        const dob_layer *l = dob_net_layer(net, i);
        for (int k = 0; k < l->n_params; k++) {
            const dob_param_info *p = dob_arena_info(a, l->param[k]);
            if (!(p->flags & DOB_PARAM_BUFFER) && p->offset < lo) lo = p->offset;
        }
        g->ready[i] = lo;
    }
    size_t end = 0; /* the highest end of a parameter of layers 0..i-1 */
    for (int i = 0; i < n_layers; i++) {
        if (end > g->ready[i]) {
            for (int j = 0; j < n_layers; j++) g->ready[j] = g->n;
            return;
        }
        const dob_layer *l = dob_net_layer(net, i);
        for (int k = 0; k < l->n_params; k++) {
            const dob_param_info *p = dob_arena_info(a, l->param[k]);
            if (!(p->flags & DOB_PARAM_BUFFER) && p->offset + p->count > end) end = p->offset + p->count;
        }
    }
}

dob_status grad_sync_init(grad_sync *g, dob_net *net, const dob_train_hooks *hooks, size_t bucket) {
    int n_layers = dob_net_layer_count(net);
    *g = (grad_sync){.hooks = hooks, .grads = dob_arena_grads(dob_net_arena(net)),
                     .n = dob_arena_size(dob_net_arena(net)), .bucket = bucket ? bucket : 1};
    g->ready = malloc((size_t)(n_layers > 0 ? n_layers : 1) * sizeof *g->ready);
    if (!g->ready) return DOB_FAIL(DOB_ENOMEM, "trainer: out of memory");
    plan(g, net, n_layers);
    dob_net_set_backward_hook(net, on_layer, g);
    return DOB_OK;
}

void grad_sync_free(grad_sync *g, dob_net *net) {
    if (g->ready) dob_net_set_backward_hook(net, NULL, NULL);
    free(g->ready);
    g->ready = NULL;
}

void grad_sync_begin(grad_sync *g) {
    g->sent = g->n;
    g->st = DOB_OK;
}

dob_status grad_sync_finish(grad_sync *g) {
    dob_status st = g->st;
    if (st == DOB_OK && g->sent > 0) st = g->hooks->sum_float_start(g->hooks->ctx, g->grads, g->sent);
    g->sent = 0;
    /* complete what was started even after a failure: MPI must not keep writing into the arena */
    dob_status w = g->hooks->sum_float_wait(g->hooks->ctx);
    return st != DOB_OK ? st : w;
}
