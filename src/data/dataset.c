/* dataset.c: in-memory data sets (include/dob/data.h) and the DeepOBS validation split (dob/datasets.h).
 * Invariants: x holds n * stride values of x_type (+1 for a stream), y n * k floats or label n ints, each block
 * 64-byte aligned and owned by the data set unless borrowed; an empty dob_dataset (all zero) is valid to free.
 * gather is where stored values become float32 (issue 20: data sets stay in their files' type, converted per
 * batch): (float)v, then / x_div when x_div != 1 -- the very operations the readers did before on the whole set
 * (MNIST: a correctly rounded float division by 255, TF's tf.cast(x, float32) / 255.), so batches are bit-equal.
 * A streamed data set (ImageNet) holds no examples: fetch asks its dob_source (io/) for a batch; slices and the
 * valid split are windows (src_first, n) on the same source, which the last free destroys.
 * Does not: read files (io/ fills data sets), shuffle (the trainer draws index lists from dob_rng), augment. */
#include "dob/data.h"

#include <stdlib.h>
#include <string.h>

#include "dob/datasets.h"

/* Largest element count we accept for x or y: keeps byte counts far from size_t / int64_t overflow. */
#define MAX_ELEMS ((int64_t)1 << 40)

static size_t round64(size_t bytes) { return (bytes + 63) / 64 * 64; }

static void *alloc_zeroed(size_t bytes) {
    bytes = round64(bytes > 0 ? bytes : 1);
    void *p = aligned_alloc(64, bytes);
    if (p) memset(p, 0, bytes);
    return p;
}

static size_t type_size(dob_dtype t) { return t == DOB_DT_U8 ? 1 : 4; }

/* Stored x values: n * stride, and the one more a stream's last target needs. */
static int64_t x_elems(const dob_dataset *d) {
    return d->n * d->stride + (d->y_type == DOB_Y_NEXT && d->n > 0 ? 1 : 0);
}

static size_t x_bytes(const dob_dataset *d) { return (size_t)x_elems(d) * type_size(d->x_type); }

static size_t y_bytes(const dob_dataset *d) {
    return d->y_type == DOB_Y_ROWS     ? (size_t)(d->n * d->k) * sizeof(float)
           : d->y_type == DOB_Y_LABELS ? (size_t)d->n * sizeof(int32_t)
                                       : 0;
}

static dob_status check_shape(int64_t n, int x_ndim, const int64_t *x_dims, int64_t k, int64_t *size) {
    if (n < 0) return DOB_FAIL(DOB_EINVAL, "dataset: expected n >= 0 examples, found %lld", (long long)n);
    if (x_ndim < 1 || x_ndim > 4)
        return DOB_FAIL(DOB_EINVAL, "dataset: expected 1..4 example dims, found %d", x_ndim);
    if (k < 0) return DOB_FAIL(DOB_EINVAL, "dataset: expected k >= 0 target columns, found %lld", (long long)k);
    *size = 1;
    for (int i = 0; i < x_ndim; i++) {
        if (x_dims[i] < 1 || x_dims[i] > MAX_ELEMS)
            return DOB_FAIL(DOB_EINVAL, "dataset: expected example dim %d in 1..2^40, found %lld", i,
                            (long long)x_dims[i]);
        *size *= x_dims[i];
        if (*size > MAX_ELEMS)
            return DOB_FAIL(DOB_EINVAL, "dataset: expected at most 2^40 floats per example, found more");
    }
    if ((n > 0 && *size > MAX_ELEMS / n) || (n > 0 && k > MAX_ELEMS / n))
        return DOB_FAIL(DOB_EINVAL, "dataset: %lld examples of %lld floats exceed 2^40 floats", (long long)n,
                        (long long)*size);
    return DOB_OK;
}

dob_status dob_dataset_alloc_as(dob_dataset *d, int64_t n, int x_ndim, const int64_t *x_dims, int64_t k,
                                dob_dtype x_type, dob_targets y_type) {
    int64_t size = 0;
    memset(d, 0, sizeof *d);
    dob_status st = check_shape(n, x_ndim, x_dims, k, &size);
    if (st != DOB_OK) return st;
    if (y_type == DOB_Y_NEXT && (x_ndim != 1 || k != x_dims[0]))
        return DOB_FAIL(DOB_EINVAL, "dataset: a stream's targets are its next %lld values, found k = %lld",
                        (long long)size, (long long)k);
    *d = (dob_dataset){.n = n, .x_ndim = x_ndim, .k = k, .x_type = x_type, .stride = size, .x_div = 1.0f,
                       .y_type = y_type};
    for (int i = 0; i < x_ndim; i++) d->x_dims[i] = x_dims[i];
    d->x = alloc_zeroed(x_bytes(d));
    if (y_type == DOB_Y_ROWS) d->y = alloc_zeroed(y_bytes(d));
    if (y_type == DOB_Y_LABELS) d->label = alloc_zeroed(y_bytes(d));
    if (!d->x || (y_type == DOB_Y_ROWS && !d->y) || (y_type == DOB_Y_LABELS && !d->label)) {
        dob_dataset_free(d);
        return DOB_FAIL(DOB_ENOMEM, "dataset: out of memory for %lld examples of %lld values", (long long)n,
                        (long long)size);
    }
    return DOB_OK;
}

dob_status dob_dataset_alloc(dob_dataset *d, int64_t n, int x_ndim, const int64_t *x_dims, int64_t k) {
    return dob_dataset_alloc_as(d, n, x_ndim, x_dims, k, DOB_DT_F32, DOB_Y_ROWS);
}

static void source_release(dob_source *s) {
    if (s && --s->refs == 0) {
        s->ops->destroy(s->ctx);
        free(s);
    }
}

void dob_dataset_free(dob_dataset *d) {
    if (!d) return;
    source_release(d->src);
    if (!d->borrowed) {
        free(d->x);
        free(d->y);
        free(d->label);
    }
    memset(d, 0, sizeof *d);
}

int64_t dob_dataset_example_size(const dob_dataset *d) {
    int64_t size = 1;
    for (int i = 0; i < d->x_ndim; i++) size *= d->x_dims[i];
    return size;
}

size_t dob_dataset_bytes(const dob_dataset *d) {
    return d->src ? 0 : round64(x_bytes(d)) + round64(y_bytes(d));
}

void dob_dataset_pack(const dob_dataset *d, void *dst) {
    char *p = dst;
    if (x_bytes(d)) memcpy(p, d->x, x_bytes(d));
    p += round64(x_bytes(d));
    if (d->y_type == DOB_Y_ROWS && y_bytes(d)) memcpy(p, d->y, y_bytes(d));
    if (d->y_type == DOB_Y_LABELS && y_bytes(d)) memcpy(p, d->label, y_bytes(d));
}

void dob_dataset_view(const dob_dataset *hdr, const void *src, dob_dataset *view) {
    *view = *hdr;
    char *p = (char *)(uintptr_t)src; /* read-only in practice: nothing writes a borrowed data set */
    view->x = p;
    view->y = hdr->y_type == DOB_Y_ROWS ? (float *)(void *)(p + round64(x_bytes(hdr))) : NULL;
    view->label = hdr->y_type == DOB_Y_LABELS ? (int32_t *)(void *)(p + round64(x_bytes(hdr))) : NULL;
    view->borrowed = 1;
}

/* Copy examples [from, from + count) of src to [to, to + count) of dst (same storage; memmove semantics). */
static void copy_examples(const dob_dataset *src, int64_t from, dob_dataset *dst, int64_t to, int64_t count) {
    const size_t ts = type_size(src->x_type);
    const int64_t xs = count * src->stride + (src->y_type == DOB_Y_NEXT && count > 0 ? 1 : 0);
    if (count <= 0) return;
    memmove((char *)dst->x + (size_t)(to * src->stride) * ts, (const char *)src->x + (size_t)(from * src->stride) * ts,
            (size_t)xs * ts);
    if (src->y_type == DOB_Y_ROWS && src->k > 0)
        memmove(dst->y + to * src->k, src->y + from * src->k, (size_t)(count * src->k) * sizeof(float));
    if (src->y_type == DOB_Y_LABELS)
        memmove(dst->label + to, src->label + from, (size_t)count * sizeof(int32_t));
}

dob_status dob_dataset_slice(const dob_dataset *src, int64_t first, int64_t count, dob_dataset *dst) {
    if (first < 0 || count < 0 || first > src->n || count > src->n - first)
        return DOB_FAIL(DOB_EINVAL,
                        "dataset slice: expected [first, first + count) within [0, %lld), found [%lld, %lld)",
                        (long long)src->n, (long long)first, (long long)(first + count));
    if (src->src) { /* a window on the same source */
        *dst = *src;
        dst->n = count;
        dst->src_first = src->src_first + first;
        src->src->refs++;
        return DOB_OK;
    }
    dob_status st = dob_dataset_alloc_as(dst, count, src->x_ndim, src->x_dims, src->k, src->x_type, src->y_type);
    if (st != DOB_OK) return st;
    dst->x_div = src->x_div;
    copy_examples(src, first, dst, 0, count);
    return DOB_OK;
}

/* count stored values from element `at` of d's x as float32 (the readers' former conversion, see the top). */
static void to_float(const dob_dataset *d, int64_t at, int64_t count, float *dst) {
    const float div = d->x_div;
    if (d->x_type == DOB_DT_F32) {
        memcpy(dst, (const float *)d->x + at, (size_t)count * sizeof(float));
    } else if (d->x_type == DOB_DT_U8) {
        const uint8_t *s = (const uint8_t *)d->x + at;
        if (div == 1.0f)
            for (int64_t i = 0; i < count; i++) dst[i] = (float)s[i];
        else
            for (int64_t i = 0; i < count; i++) dst[i] = (float)s[i] / div;
    } else {
        const int32_t *s = (const int32_t *)d->x + at;
        if (div == 1.0f)
            for (int64_t i = 0; i < count; i++) dst[i] = (float)s[i];
        else
            for (int64_t i = 0; i < count; i++) dst[i] = (float)s[i] / div;
    }
}

static void targets(const dob_dataset *d, int64_t j, float *y) {
    const int64_t k = d->k;
    if (d->y_type == DOB_Y_ROWS) {
        memcpy(y, d->y + j * k, (size_t)k * sizeof(float));
    } else if (d->y_type == DOB_Y_LABELS) {
        memset(y, 0, (size_t)k * sizeof(float));
        y[d->label[j]] = 1.0f;
    } else {
        to_float(d, j * d->stride + 1, k, y);
    }
}

void dob_dataset_gather(const dob_dataset *d, const uint32_t *idx, int64_t b, float *x, float *y) {
    const int64_t size = dob_dataset_example_size(d), k = d->k;
    for (int64_t i = 0; i < b; i++) DOB_ASSERT((int64_t)idx[i] < d->n);
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < b; i++) {
        const int64_t j = (int64_t)idx[i];
        to_float(d, j * d->stride, size, x + i * size);
        if (y && k > 0) targets(d, j, y + i * k);
    }
}

dob_status dob_dataset_to_f32(const dob_dataset *src, int64_t first, int64_t count, dob_dataset *dst) {
    if (first < 0 || count < 0 || first > src->n || count > src->n - first)
        return DOB_FAIL(DOB_EINVAL, "dataset: expected examples within [0, %lld), found [%lld, %lld)",
                        (long long)src->n, (long long)first, (long long)(first + count));
    dob_status st = dob_dataset_alloc(dst, count, src->x_ndim, src->x_dims, src->k);
    if (st != DOB_OK) return st;
    uint32_t *idx = malloc((size_t)(count > 0 ? count : 1) * sizeof *idx);
    if (!idx) {
        dob_dataset_free(dst);
        return DOB_FAIL(DOB_ENOMEM, "dataset: out of memory for %lld indices", (long long)count);
    }
    for (int64_t i = 0; i < count; i++) idx[i] = (uint32_t)(first + i);
    st = dob_dataset_fetch(src, idx, count, 0, 0, 0, dst->x, dst->y);
    free(idx);
    if (st != DOB_OK) dob_dataset_free(dst);
    return st;
}

dob_status dob_dataset_split_valid(dob_dataset *train, int64_t n_valid, dob_dataset *valid) {
    if (n_valid < 1 || n_valid >= train->n)
        return DOB_FAIL(DOB_EINVAL, "validation split: expected 1 <= n_valid < %lld training examples, found %lld",
                        (long long)train->n, (long long)n_valid);
    dob_status st = dob_dataset_slice(train, 0, n_valid, valid);
    if (st != DOB_OK) return st;
    if (train->src) {
        train->src_first += n_valid;
        train->n -= n_valid;
        return DOB_OK;
    }
    /* Keep the rest in place: move it to the front of the same buffers (no second full copy in memory). */
    copy_examples(train, n_valid, train, 0, train->n - n_valid);
    train->n -= n_valid;
    return DOB_OK;
}

/* ---- streamed data sets ----------------------------------------------------------------------------------- */

dob_status dob_dataset_stream(dob_dataset *d, int64_t n, int x_ndim, const int64_t *x_dims, int64_t k,
                              const dob_source_ops *ops, void *ctx, int depth) {
    int64_t size = 0;
    memset(d, 0, sizeof *d);
    dob_status st = check_shape(n, x_ndim, x_dims, k, &size);
    dob_source *s = st == DOB_OK ? calloc(1, sizeof *s) : NULL;
    if (!s) {
        ops->destroy(ctx);
        return st != DOB_OK ? st : DOB_FAIL(DOB_ENOMEM, "dataset: out of memory for a streamed source");
    }
    *s = (dob_source){.ops = ops, .ctx = ctx, .refs = 1, .depth = depth > 0 ? depth : 0};
    *d = (dob_dataset){.n = n, .x_ndim = x_ndim, .k = k, .x_type = DOB_DT_F32, .stride = size, .x_div = 1.0f,
                       .y_type = DOB_Y_LABELS, .src = s};
    for (int i = 0; i < x_ndim; i++) d->x_dims[i] = x_dims[i];
    return DOB_OK;
}

dob_status dob_dataset_fetch(const dob_dataset *d, const uint32_t *idx, int64_t n, int augment, uint64_t seed,
                             uint64_t first, float *x, float *y) {
    if (!d->src) {
        dob_dataset_gather(d, idx, n, x, y);
        return DOB_OK;
    }
    for (int64_t i = 0; i < n; i++) DOB_ASSERT((int64_t)idx[i] < d->n);
    const dob_batch_req q = {d->src_first, idx, n, augment, seed, first};
    return d->src->ops->read(d->src->ctx, &q, x, y);
}

void dob_dataset_prefetch(const dob_dataset *d, const uint32_t *idx, int64_t n, int augment, uint64_t seed,
                          uint64_t first) {
    if (!d->src) return;
    const dob_batch_req q = {d->src_first, idx, n, augment, seed, first};
    d->src->ops->prefetch(d->src->ctx, &q);
}

int dob_dataset_prefetch_depth(const dob_dataset *d) { return d->src ? d->src->depth : 0; }
