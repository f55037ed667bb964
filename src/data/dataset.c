/* dataset.c: in-memory data sets (include/dob/data.h) and the DeepOBS validation split (dob/datasets.h).
 * Invariants: x holds n * prod(x_dims) floats and y n * k floats, both 64-byte aligned and owned by the data set;
 * an empty dob_dataset (all zero) is valid to free. gather is deterministic (pure copies, OpenMP over examples).
 * Does not: read files (io/ fills data sets), shuffle (the trainer draws index lists from dob_rng), augment. */
#include "dob/data.h"

#include <stdlib.h>
#include <string.h>

#include "dob/datasets.h"

/* Largest element count we accept for x or y: keeps byte counts far from size_t / int64_t overflow. */
#define MAX_ELEMS ((int64_t)1 << 40)

static float *alloc_floats(int64_t n) {
    size_t bytes = (size_t)(n > 0 ? n : 1) * sizeof(float);
    bytes = (bytes + 63) / 64 * 64;
    float *p = aligned_alloc(64, bytes);
    if (p) memset(p, 0, bytes);
    return p;
}

dob_status dob_dataset_alloc(dob_dataset *d, int64_t n, int x_ndim, const int64_t *x_dims, int64_t k) {
    memset(d, 0, sizeof *d);
    if (n < 0) return DOB_FAIL(DOB_EINVAL, "dataset: expected n >= 0 examples, found %lld", (long long)n);
    if (x_ndim < 1 || x_ndim > 4)
        return DOB_FAIL(DOB_EINVAL, "dataset: expected 1..4 example dims, found %d", x_ndim);
    if (k < 0) return DOB_FAIL(DOB_EINVAL, "dataset: expected k >= 0 target columns, found %lld", (long long)k);
    int64_t size = 1;
    for (int i = 0; i < x_ndim; i++) {
        if (x_dims[i] < 1 || x_dims[i] > MAX_ELEMS)
            return DOB_FAIL(DOB_EINVAL, "dataset: expected example dim %d in 1..2^40, found %lld", i,
                            (long long)x_dims[i]);
        size *= x_dims[i];
        if (size > MAX_ELEMS)
            return DOB_FAIL(DOB_EINVAL, "dataset: expected at most 2^40 floats per example, found more");
    }
    if ((n > 0 && size > MAX_ELEMS / n) || (n > 0 && k > MAX_ELEMS / n))
        return DOB_FAIL(DOB_EINVAL, "dataset: %lld examples of %lld floats exceed 2^40 floats", (long long)n,
                        (long long)size);
    d->x = alloc_floats(n * size);
    d->y = alloc_floats(n * k);
    if (!d->x || !d->y) {
        dob_dataset_free(d);
        return DOB_FAIL(DOB_ENOMEM, "dataset: out of memory for %lld examples of %lld floats", (long long)n,
                        (long long)size);
    }
    d->n = n;
    d->x_ndim = x_ndim;
    for (int i = 0; i < x_ndim; i++) d->x_dims[i] = x_dims[i];
    d->k = k;
    return DOB_OK;
}

void dob_dataset_free(dob_dataset *d) {
    if (!d) return;
    free(d->x);
    free(d->y);
    memset(d, 0, sizeof *d);
}

int64_t dob_dataset_example_size(const dob_dataset *d) {
    int64_t size = 1;
    for (int i = 0; i < d->x_ndim; i++) size *= d->x_dims[i];
    return size;
}

dob_status dob_dataset_slice(const dob_dataset *src, int64_t first, int64_t count, dob_dataset *dst) {
    if (first < 0 || count < 0 || first > src->n || count > src->n - first)
        return DOB_FAIL(DOB_EINVAL,
                        "dataset slice: expected [first, first + count) within [0, %lld), found [%lld, %lld)",
                        (long long)src->n, (long long)first, (long long)(first + count));
    dob_status st = dob_dataset_alloc(dst, count, src->x_ndim, src->x_dims, src->k);
    if (st != DOB_OK) return st;
    int64_t size = dob_dataset_example_size(src);
    if (count > 0) {
        memcpy(dst->x, src->x + first * size, (size_t)(count * size) * sizeof(float));
        if (src->k > 0) memcpy(dst->y, src->y + first * src->k, (size_t)(count * src->k) * sizeof(float));
    }
    return DOB_OK;
}

void dob_dataset_gather(const dob_dataset *d, const uint32_t *idx, int64_t b, float *x, float *y) {
    const int64_t size = dob_dataset_example_size(d), k = d->k;
    for (int64_t i = 0; i < b; i++) DOB_ASSERT((int64_t)idx[i] < d->n);
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < b; i++) {
        const int64_t j = (int64_t)idx[i];
        memcpy(x + i * size, d->x + j * size, (size_t)size * sizeof(float));
        if (y && k > 0) memcpy(y + i * k, d->y + j * k, (size_t)k * sizeof(float));
    }
}

dob_status dob_dataset_split_valid(dob_dataset *train, int64_t n_valid, dob_dataset *valid) {
    if (n_valid < 1 || n_valid >= train->n)
        return DOB_FAIL(DOB_EINVAL, "validation split: expected 1 <= n_valid < %lld training examples, found %lld",
                        (long long)train->n, (long long)n_valid);
    dob_status st = dob_dataset_slice(train, 0, n_valid, valid);
    if (st != DOB_OK) return st;
    /* Keep the rest in place: move it to the front of the same buffers (no second full copy in memory). */
    const int64_t size = dob_dataset_example_size(train), rest = train->n - n_valid;
    memmove(train->x, train->x + n_valid * size, (size_t)(rest * size) * sizeof(float));
    if (train->k > 0) memmove(train->y, train->y + n_valid * train->k, (size_t)(rest * train->k) * sizeof(float));
    train->n = rest;
    return DOB_OK;
}
