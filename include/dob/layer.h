/* dob/layer.h: the interface a layer type implements (for src/layers/ and tests; users see net.h/layers.h).
 *
 * A layer type is an ops table. Lifecycle:
 *   reserve(l, arena)  at dob_net_add: validate cfg against the input shapes (dims[1..]), set out->ndim and
 *                      out->dims[1..], reserve parameters (ids into l->param[]). Errors name the layer.
 *   build(l, batch)    tensors now have batch dims and data/diff buffers; create oneDNN pds/primitives/reorders
 *                      and scratch into l->priv. Called again only after destroy when the batch changes.
 *   forward(l, training), backward(l): execute only; no allocation. backward writes d loss/d in[i] into
 *                      l->in_diff[i] (skip when NULL) and d loss/d params into the arena grads, OVERWRITING both.
 *   destroy(l)         free what build malloc'd (optional; oneDNN handles created through dob_own_* are released
 *                      by the net just before); the net then zeroes priv; must accept a never-built layer.
 */
#ifndef DOB_LAYER_H
#define DOB_LAYER_H

#include "dob/net.h"

#define DOB_LAYER_MAX_IN 8
#define DOB_LAYER_MAX_PARAMS 8
#define DOB_IN_BLOCKED_SAME 2
#define DOB_IN_BLOCKED_EACH 3

struct dob_layer_ops {
    const char *type;
    size_t priv_size;
    int alias;  /* out shares in[0]'s data and diff (reshape): forward/backward are not called */
    dob_status (*reserve)(dob_layer *l, dob_arena *a);
    dob_status (*build)(dob_layer *l, int64_t batch);
    dob_status (*forward)(dob_layer *l, int training);
    dob_status (*backward)(dob_layer *l);
    void (*destroy)(dob_layer *l);
    int in_blocked;  /* reads in[0] in its producer's oneDNN layout (dob_net_in_md) and writes in_diff[0] in it;
                        DOB_IN_BLOCKED_SAME: only where its own out may take that layout too (dob_net_out_can_block),
                        which it then must (elementwise and per-channel layers: act, bnorm);
                        DOB_IN_BLOCKED_EACH: the same for every input (add): its out takes the first blocked input's
                        layout, and it reads and writes each input in that input's own layout */
    int stateful;    /* carries state from batch to batch (RNN h, c): the trainer then evaluates at the training
                        batch; every other net may be evaluated at a larger batch (same examples, same losses) */
    void (*reset)(dob_layer *l); /* NULL, or: forget state carried between forwards (LSTM); dob_net_reset_state */
    /* the carried state as floats (checkpoints, dob_net_state_*): its size once built, a copy out, a copy in
     * (which the next forward starts from); NULL for layers without state */
    size_t (*state_count)(const dob_layer *l);
    void (*state_get)(const dob_layer *l, float *dst);
    void (*state_set)(dob_layer *l, const float *src);
};

struct dob_layer {
    const dob_layer_ops *ops;
    char name[DOB_NAME_MAX];
    int index;                             /* position in the net: key for per-layer RNG streams */
    dob_net *net;
    dob_arena *arena;
    void *cfg;                             /* copy of the cfg passed to dob_net_add */
    void *priv;                            /* ops->priv_size zeroed bytes for build resources */
    int n_in;
    dob_tensor *in[DOB_LAYER_MAX_IN];
    float *in_diff[DOB_LAYER_MAX_IN];      /* where backward writes d loss / d in[i]; NULL = not needed */
    dob_tensor *out;
    int n_params;
    int param[DOB_LAYER_MAX_PARAMS];       /* arena tensor ids reserved by this layer */
    struct dob_owned *owned;               /* the oneDNN handles build created through dob_own_* (src/dnnl_util.h): */
    int n_owned, cap_owned;                /* the net releases them all when it unbuilds, before ops->destroy */
};

/** Reserve a parameter named "<layer>/<suffix>" and append its id to l->param. */
dob_status dob_layer_param(dob_layer *l, dob_arena *a, const char *suffix, int ndim, const int64_t *dims,
                           int64_t fan_in, int64_t fan_out, dob_init init, unsigned flags, int *id);

#endif
