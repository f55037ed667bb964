/* net_impl.h (internal to src/): the net's structure, shared by net.c (graph, drivers) and net_mem.c (the
 * activation buffers of a build). */
#ifndef DOB_NET_IMPL_H
#define DOB_NET_IMPL_H

#include "dob/layer.h"
#include "dnnl_util.h"

typedef struct tensor_meta {
    dob_tensor t;      /* first member: a dob_tensor * of the net is a tensor_meta * */
    int producer;      /* layer index, -1 for the input; the tensor's id is producer + 1 */
    int n_readers;
    int alias;         /* produced by an alias layer: data/diff borrowed */
    int blocked;       /* data and diff are in layout md (set by the producer at build), not plain */
    dnnl_memory_desc_t md;
} tensor_meta;

struct dob_net {
    dnnl_engine_t eng;
    dnnl_stream_t stream;
    dob_arena *arena;
    tensor_meta **tensors;
    int n_tensors, cap_tensors;
    dob_layer **layers;
    int n_layers, cap_layers;
    int output;
    int64_t batch;
    dob_net_ctx ctx;
    void **bufs;       /* every buffer allocated at build */
    int n_bufs, cap_bufs;
    size_t buf_bytes;  /* their total size */
    void (*bwd_hook)(void *ctx, int layer); /* after each layer's backward (dob_net_set_backward_hook) */
    void *bwd_ctx;
    dob_sum_hook sum_hook;
    void *sum_ctx;
    int input_grad;    /* give the input tensor a diff (tests, input-gradient tools) */
    int no_propagation; /* keep every tensor plain (dob_net_set_layout_propagation(net, 0)) */
    int no_reuse;       /* one diff buffer per tensor and reader (dob_net_set_buffer_reuse(net, 0)) */
    dob_precision precision; /* of conv/dense/pool: read by their build */
    dob_conv_algo conv_algo; /* of conv: read by its build */
    double *prof;       /* 2 per layer (forward, backward seconds) while profiling, else NULL */
    int cap_prof;
};

/** A zeroed, 64-byte aligned buffer of n floats owned by the current build (freed by unbuild); NULL if out of
 *  memory. */
float *dob_net_buf(dob_net *net, size_t n);
/** Give every tensor its diff and every layer its in_diff, sharing memory between buffers whose lifetimes in
 *  backward do not overlap (net_mem.c). After the data buffers; DOB_ENOMEM leaves the net to be unbuilt. */
dob_status dob_net_plan_diffs(dob_net *net);

/** Bind every layer's scratch (dnnl_util.h) to one region of the build, after all layers are built (net_mem.c). */
dob_status dob_net_bind_scratch(dob_net *net);

#endif
