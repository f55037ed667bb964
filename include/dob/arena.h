/* dob/arena.h: one flat, aligned block each for parameters, gradients and optimizer state.
 *
 * Layers reserve named tensors (plain oneDNN layouts: oihw for conv, oi for dense, x for vectors). After
 * dob_arena_alloc every tensor has the same offset in params, grads and each state vector, each tensor starts on
 * a 64-byte boundary, and gaps are zero and stay zero under every optimizer (their gradient is zero). So
 * optimizers, all-reduce, checkpoints and HDF5 see one flat float array of dob_arena_size() elements.
 * Non-trainable buffers (batch-norm running statistics) live in a separate flat block that no optimizer sees. */
#ifndef DOB_ARENA_H
#define DOB_ARENA_H

#include <stddef.h>
#include <stdint.h>

#include "dob/rng.h"
#include "dob/status.h"

#define DOB_MAX_DIMS 5
#define DOB_NAME_MAX 64

typedef struct dob_arena dob_arena;

/** How a tensor is initialised (DeepOBS/TF initialisers). */
typedef enum dob_init_kind {
    DOB_INIT_ZEROS = 0,
    DOB_INIT_CONST,          /* a */
    DOB_INIT_UNIFORM,        /* U[a, b) */
    DOB_INIT_NORMAL,         /* N(a, b^2) */
    DOB_INIT_TRUNC_NORMAL,   /* N(a, b^2) resampled outside a +- 2b */
    DOB_INIT_GLOROT_UNIFORM, /* U(-L, L), L = sqrt(6 / (fan_in + fan_out)) */
    DOB_INIT_GLOROT_NORMAL   /* trunc. normal, std = sqrt(2 / (fan_in + fan_out)) / 0.87962566103423978 */
} dob_init_kind;

typedef struct dob_init {
    dob_init_kind kind;
    float a, b;
} dob_init;

/* Tensor flags. */
enum {
    DOB_PARAM_L2 = 1u << 0,      /* counted in the L2 regularizer 0.5 * wd * sum(w^2) */
    DOB_PARAM_BUFFER = 1u << 1   /* non-trainable (running statistics): lives in the buffer block */
};

typedef struct dob_param_info {
    char name[DOB_NAME_MAX];     /* "conv1/weights" */
    size_t offset;               /* in floats, into params/grads/state (or buffers if DOB_PARAM_BUFFER) */
    size_t count;                /* number of elements (no padding) */
    int ndim;
    int64_t dims[DOB_MAX_DIMS];  /* plain oneDNN layout order */
    int64_t fan_in, fan_out;     /* TF fan rule, for Glorot */
    dob_init init;
    unsigned flags;
} dob_param_info;

/** @param out new empty arena. */
dob_status dob_arena_create(dob_arena **out);
/** Frees everything; accepts NULL. */
void dob_arena_destroy(dob_arena *a);
/** Reserve a tensor before dob_arena_alloc. @param id out: the tensor id (index for the accessors). */
dob_status dob_arena_reserve(dob_arena *a, const char *name, int ndim, const int64_t *dims, int64_t fan_in,
                             int64_t fan_out, dob_init init, unsigned flags, int *id);
/** Allocate params, grads and n_state optimizer-state vectors (zeroed), and the buffer block. */
dob_status dob_arena_alloc(dob_arena *a, int n_state);
/** Re-allocate the optimizer-state vectors (zeroed) for a new optimizer. */
dob_status dob_arena_set_state_count(dob_arena *a, int n_state);
/** Initialise every tensor (params and buffers) from its init spec; tensor k uses stream (seed, INIT, k). */
void dob_arena_init(dob_arena *a, uint64_t seed);

/** @return floats in each flat block (params, grads, each state vector), padding included. */
size_t dob_arena_size(const dob_arena *a);
/** @return floats in the buffer block. */
size_t dob_arena_buffer_size(const dob_arena *a);
/** @return number of trainable elements (no padding, no buffers): DeepOBS's parameter count. */
size_t dob_arena_param_count(const dob_arena *a);
float *dob_arena_params(dob_arena *a);
float *dob_arena_grads(dob_arena *a);
float *dob_arena_state(dob_arena *a, int k);
int dob_arena_state_count(const dob_arena *a);
float *dob_arena_buffers(dob_arena *a);
/** Number of reserved tensors, and the table entry of tensor id. */
int dob_arena_tensor_count(const dob_arena *a);
const dob_param_info *dob_arena_info(const dob_arena *a, int id);
/** View of tensor id in params (or in buffers if it is a buffer); NULL before alloc. Caller must not free. */
float *dob_arena_param(dob_arena *a, int id);
/** View of tensor id in grads (NULL for buffers). */
float *dob_arena_grad(dob_arena *a, int id);
/** 0.5 * sum over DOB_PARAM_L2 tensors of w^2 (fixed chunking: thread-count independent). */
double dob_arena_l2_half_sq(const dob_arena *a);
/** grads += wd * w over DOB_PARAM_L2 tensors. */
void dob_arena_l2_grad(dob_arena *a, float wd);

#endif
