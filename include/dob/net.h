/* dob/net.h: a network = an ordered graph of layers over plain float tensors.
 *
 * Usage:
 *   dob_net *net; int x, h;
 *   dob_net_create(&net, 3, (int64_t[]){1, 28, 28});          // input C,H,W (no batch)
 *   x = dob_net_input(net);
 *   dob_net_conv(net, "conv1", x, &(dob_conv_cfg){...}, &h);  // layers.h; shapes checked at add time
 *   ...
 *   dob_net_alloc(net); dob_arena_init(dob_net_arena(net), seed);
 *   dob_net_build(net, 128);                                   // oneDNN plans for batch 128, once
 *   loop: fill dob_net_input_tensor(net)->data; dob_net_forward(net, 1); write output diff; dob_net_backward(net);
 *
 * Tensors are plain row-major (N,C,H,W / N,F), except that a tensor passed between two oneDNN layers (e.g.
 * conv -> pool -> conv) may hold a blocked layout (nChw8c) to save reorders: the input, the output and every
 * tensor read by anything else are always plain; dob_net_read_plain copies any tensor out plain.
 * Backward overwrites every diff it writes; a tensor read by several
 * layers gets one diff buffer per reader, summed by the net before its producer's backward runs. Diff buffers
 * not needed at the same time share memory (dob_net_set_buffer_reuse): after backward, the parameter grads and
 * the input's and output's diffs are defined, an intermediate tensor's diff is not. */
#ifndef DOB_NET_H
#define DOB_NET_H

#include <stddef.h>
#include <stdint.h>

#include "dob/arena.h"
#include "dob/status.h"

typedef struct dob_net dob_net;
typedef struct dob_layer dob_layer;
typedef struct dob_layer_ops dob_layer_ops;

/** Compute precision of the oneDNN layers (conv, dense, pooling). DOB_F32 is the default and the reference
 *  (DeepOBS's numbers are f32). DOB_BF16: those layers round their inputs and weight copies to bf16 and run
 *  oneDNN's bf16 kernels (f32 accumulation, f32 outputs and f32 weight/bias gradients); parameters, gradients,
 *  optimizer state, losses, batch-norm statistics and metrics stay f32. A conv with fewer than 4 input channels
 *  (an image net's first) stays f32: bf16 is slower there (conv.c). Needs a CPU with native bf16. */
typedef enum dob_precision { DOB_F32 = 0, DOB_BF16 = 1 } dob_precision;

/** Convolution algorithm of the 3x3 stride-1 convolutions (conv.c). DOB_CONV_DIRECT is the default and the
 *  reference (the same arithmetic on every ISA up to summation order). DOB_CONV_WINOGRAD: oneDNN's Winograd
 *  F(4x4, 3x3) kernels (f32, AVX-512 only in oneDNN 2.6) wherever they exist, direct elsewhere; other rounding
 *  (the transforms), about 2.5x fewer multiplies. DOB_CONV_AUTO: oneDNN's choice per layer and pass
 *  (dnnl_convolution_auto: Winograd where its heuristic expects it to be faster). */
typedef enum dob_conv_algo { DOB_CONV_DIRECT = 0, DOB_CONV_WINOGRAD = 1, DOB_CONV_AUTO = 2 } dob_conv_algo;

/** A plain float tensor: dims[0] is the batch N (0 until dob_net_build). */
typedef struct dob_tensor {
    int ndim;
    int64_t dims[DOB_MAX_DIMS];
    size_t count;   /* elements, batch included */
    float *data;    /* owned by the net; valid after build */
    float *diff;    /* d loss / d data; NULL where no gradient is needed (the net input) */
} dob_tensor;

/** Per-step context that stochastic layers key their counter RNG on. */
typedef struct dob_net_ctx {
    uint64_t seed;            /* run seed */
    uint64_t step;            /* global training step */
    uint64_t example_offset;  /* global index of this process's first example in the batch */
} dob_net_ctx;

/** @param in_ndim dims of one example (1..4); @param in_dims e.g. {C,H,W}. */
dob_status dob_net_create(dob_net **out, int in_ndim, const int64_t *in_dims);
/** Frees the net, its layers, its plans and its arena; accepts NULL. */
void dob_net_destroy(dob_net *net);
/** @return the tensor id of the net input (0). */
int dob_net_input(const dob_net *net);
/** Add a layer reading tensors in[0..n_in) and producing a new tensor (id in *out). cfg is copied. */
dob_status dob_net_add(dob_net *net, const dob_layer_ops *ops, const char *name, const void *cfg,
                       size_t cfg_size, int n_in, const int *in, int *out);
/** Allocate the arena (after the last dob_net_add). */
dob_status dob_net_alloc(dob_net *net);
/** Create tensors and oneDNN plans for this batch size; a no-op when the batch is unchanged. */
dob_status dob_net_build(dob_net *net, int64_t batch);
/** Run every layer forward. @param training 1 = training mode (dropout on, batch statistics). */
dob_status dob_net_forward(dob_net *net, int training);
/** Reset the state layers carry from one forward to the next (an LSTM's c and h) to zero; the trainer calls it
 *  at the start of every phase (train epoch, train_eval, valid, test), as DeepOBS's init ops do. */
void dob_net_reset_state(dob_net *net);
/** The state carried from batch to batch (LSTM h, c) as floats, once built: its count (0: none), a copy out and a
 *  copy in (the next forward continues from it). For checkpoints taken in the middle of an epoch. */
size_t dob_net_state_count(const dob_net *net);
void dob_net_state_get(const dob_net *net, float *dst);
void dob_net_state_set(dob_net *net, const float *src);
/** Run every layer backward; the output tensor's diff must hold d loss / d output. Overwrites the grads. */
dob_status dob_net_backward(dob_net *net);

dob_arena *dob_net_arena(dob_net *net);
/** @return tensor by id (views; the net owns them). */
dob_tensor *dob_net_tensor(dob_net *net, int id);
dob_tensor *dob_net_input_tensor(dob_net *net);
/** The output is the last tensor added unless set. Setting another tensor after a build undoes the build (call
 *  dob_net_build again). */
dob_tensor *dob_net_output(dob_net *net);
void dob_net_set_output(dob_net *net, int id);
/** 1 if tensor id holds a blocked (non-plain) layout in the current build: which layout oneDNN picks depends on
 *  the CPU's ISA, so tests ask instead of assuming. 0 for plain tensors and bad ids. */
int dob_net_tensor_blocked(const dob_net *net, int id);
int dob_net_layer_count(const dob_net *net);
dob_layer *dob_net_layer(dob_net *net, int i);
int64_t dob_net_batch(const dob_net *net);
/** Bytes of the activation buffers (data, diff and the layers' scratch) of the current build; 0 when not built. */
size_t dob_net_buffer_bytes(const dob_net *net);
/** 1 if a layer carries state from one batch to the next (an RNN's h and c): such a net is evaluated at the
 *  training batch, in the training batch's order. */
int dob_net_stateful(const dob_net *net);
/** Give the input tensor a diff buffer (filled by backward); takes effect at the next build. */
void dob_net_set_input_grad(dob_net *net, int on);
/** Share gradient buffers between tensors whose diffs are not needed at the same time in backward, and one scratch
 *  region between the layers' per-call copies (default on; net_mem.c). Off keeps every intermediate diff readable
 *  after dob_net_backward and gives each layer its own scratch (tests); the parameter grads, the input's and the
 *  output's diff are the same either way. Takes effect at the next build. */
void dob_net_set_buffer_reuse(dob_net *net, int on);
/** Let layers exchange blocked layouts (default on); off keeps every tensor plain. Takes effect at the next build. */
void dob_net_set_layout_propagation(dob_net *net, int on);
/** Per-layer timing (bench/, `bench_step --profile`): while on, forward and backward add each layer's wall time
 *  (including the summing of fan-out gradients into its output) to counters; switching it on zeroes them. */
void dob_net_set_profile(dob_net *net, int on);
/** Seconds spent in layer i since profiling was switched on: forward (training and inference) and backward. */
void dob_net_profile(const dob_net *net, int i, double *fwd_s, double *bwd_s);
/** Copy tensor id's data and/or diff (either may be NULL) out as plain row-major, count floats each; works for
 *  blocked intermediate tensors (allocates a reorder: not for the step loop). */
dob_status dob_net_read_plain(dob_net *net, int id, float *data, float *diff);
void dob_net_set_context(dob_net *net, dob_net_ctx ctx);
const dob_net_ctx *dob_net_context(const dob_net *net);
/** Elementwise hook for synchronising batch-norm statistics over ranks (--sync-bn); NULL = per-rank. The hook
 *  sums `n` doubles over all ranks of the job in place and returns the global example count factor. */
typedef dob_status (*dob_sum_hook)(void *ctx, double *x, size_t n);
void dob_net_set_sum_hook(dob_net *net, dob_sum_hook fn, void *ctx);
dob_status dob_net_sum(dob_net *net, double *x, size_t n);
int dob_net_has_sum_hook(const dob_net *net);
/** Call fn(ctx, i) in dob_net_backward right after layer i's backward (layers run last to first): its
 *  parameter gradients are final then. NULL fn: none. */
void dob_net_set_backward_hook(dob_net *net, void (*fn)(void *ctx, int layer), void *ctx);

/** "f32" / "bf16" (NULL for other values). */
const char *dob_precision_name(dob_precision p);
/** Parse "f32" / "bf16" into *p; an error naming the two accepted values otherwise. */
dob_status dob_precision_parse(const char *s, dob_precision *p);
/** DOB_OK if this CPU (as oneDNN sees it, ONEDNN_MAX_CPU_ISA included) computes in precision p natively; for bf16
 *  that is oneDNN's ISA avx512_core_bf16 or above (Zen 4/5, Cooper Lake, Sapphire Rapids AMX). Otherwise an error
 *  saying which ISA was found. */
dob_status dob_precision_check(dob_precision p);
/** Set the precision of the oneDNN layers (after dob_precision_check); takes effect at the next build. */
dob_status dob_net_set_precision(dob_net *net, dob_precision p);
dob_precision dob_net_precision(const dob_net *net);

/** "direct" / "winograd" / "auto" (NULL for other values). */
const char *dob_conv_algo_name(dob_conv_algo a);
/** Parse "direct" / "winograd" / "auto" into *a; an error naming the accepted values otherwise. */
dob_status dob_conv_algo_parse(const char *s, dob_conv_algo *a);
/** Set the convolution algorithm (takes effect at the next build). Any value works on any CPU: where oneDNN has
 *  no Winograd kernel (AVX2, bf16, other shapes) a layer falls back to direct; dob_net_conv_impl says which. */
dob_status dob_net_set_conv_algo(dob_net *net, dob_conv_algo a);
dob_conv_algo dob_net_conv_algo(const dob_net *net);

#endif
