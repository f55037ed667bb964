/* stream.h: a pool of decode threads filling a bounded queue of batches ahead of the step (io/stream.c), the
 * dob_source behind streamed data sets. The reader (io/imagenet.c) supplies one function: produce example j. */
#ifndef DOB_IO_STREAM_H
#define DOB_IO_STREAM_H

#include "dob/data.h"

typedef struct stream_cfg {
    int threads;            /* decode threads (>= 1) */
    int depth;              /* batches queued ahead (>= 1) */
    int64_t size, k;        /* floats per example, classes (one-hot width) */
    void *ctx;              /* the reader's, freed with ctx_free when the stream is destroyed */
    /** Example j (absolute index in the reader's list) into x [size] and *label, with the training
     *  preprocessing keyed (seed, key) when augment; ws is this thread's scratch. Errors other than an
     *  unreadable example (which the reader replaces itself) end the batch with that status. */
    dob_status (*example)(void *ctx, void *ws, int64_t j, int augment, uint64_t seed, uint64_t key, float *x,
                          int32_t *label);
    void *(*ws_new)(void *ctx);
    void (*ws_free)(void *ws);
    void (*ctx_free)(void *ctx);
} stream_cfg;

/** Start the threads; *ops and *sctx make the dob_source (dob_dataset_stream). On failure cfg->ctx is freed. */
dob_status stream_create(const stream_cfg *cfg, const dob_source_ops **ops, void **sctx);

#endif
