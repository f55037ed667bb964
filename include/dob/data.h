/* dob/data.h: data sets held in memory and the batching over them (src/data/). Readers in io/ fill a
 * dob_dataset; the trainer gathers batches by index lists from counter-RNG permutations. */
#ifndef DOB_DATA_H
#define DOB_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "dob/rng.h"
#include "dob/status.h"

/** One split in memory. x: n examples of prod(x_dims) floats (C,H,W order); y: n rows of k floats (one-hot). */
typedef struct dob_dataset {
    int64_t n;
    int x_ndim;
    int64_t x_dims[4];
    int64_t k;
    float *x;   /* owned, 64-byte aligned */
    float *y;   /* owned */
} dob_dataset;

/** Allocate x and y for n examples (zeroed). */
dob_status dob_dataset_alloc(dob_dataset *d, int64_t n, int x_ndim, const int64_t *x_dims, int64_t k);
void dob_dataset_free(dob_dataset *d);
/** Floats per example. */
int64_t dob_dataset_example_size(const dob_dataset *d);
/** Move examples [first, first + count) of src into a new dataset dst (copy). */
dob_status dob_dataset_slice(const dob_dataset *src, int64_t first, int64_t count, dob_dataset *dst);
/** Copy examples idx[0..b) into x [b x size] and y [b x k] (OpenMP over examples). */
void dob_dataset_gather(const dob_dataset *d, const uint32_t *idx, int64_t b, float *x, float *y);

#endif
