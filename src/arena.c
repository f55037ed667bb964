/* arena.c: named tensors in one flat block each for params, grads, optimizer state; buffers apart.
 * Invariants: offsets are multiples of 16 floats (64 bytes); gaps are zero in every block; the table of
 * (name, offset, shape) is fixed once dob_arena_alloc succeeds. Does not: know about layers or optimizers. */
#include "dob/arena.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ALIGN_FLOATS 16
#define MAX_STATE 8

struct dob_arena {
    dob_param_info *info;
    int n, cap;
    size_t size, buf_size, param_count;
    float *params, *grads, *buffers;
    float *state[MAX_STATE];
    int n_state;
    int allocated;
};

static size_t round_up(size_t x) { return (x + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS; }

static float *alloc_floats(size_t n) {
    size_t bytes = (n ? n : 1) * sizeof(float);
    bytes = (bytes + 63) / 64 * 64;
    float *p = aligned_alloc(64, bytes);
    if (p) memset(p, 0, bytes);
    return p;
}

dob_status dob_arena_create(dob_arena **out) {
    *out = calloc(1, sizeof(dob_arena));
    if (!*out) return DOB_FAIL(DOB_ENOMEM, "arena: out of memory");
    return DOB_OK;
}

void dob_arena_destroy(dob_arena *a) {
    if (!a) return;
    free(a->info);
    free(a->params);
    free(a->grads);
    free(a->buffers);
    for (int k = 0; k < a->n_state; k++) free(a->state[k]);
    free(a);
}

dob_status dob_arena_reserve(dob_arena *a, const char *name, int ndim, const int64_t *dims, int64_t fan_in,
                             int64_t fan_out, dob_init init, unsigned flags, int *id) {
    if (a->allocated) return DOB_FAIL(DOB_EINTERNAL, "arena: reserve '%s' after alloc", name);
    if (ndim < 1 || ndim > DOB_MAX_DIMS)
        return DOB_FAIL(DOB_EINVAL, "arena: tensor '%s': expected 1..%d dims, found %d", name, DOB_MAX_DIMS, ndim);
    if (strlen(name) >= DOB_NAME_MAX)
        return DOB_FAIL(DOB_EINVAL, "arena: tensor name '%s' longer than %d", name, DOB_NAME_MAX - 1);
    for (int i = 0; i < a->n; i++)
        if (!strcmp(a->info[i].name, name)) return DOB_FAIL(DOB_EINVAL, "arena: tensor '%s' reserved twice", name);
    if (a->n == a->cap) {
        int cap = a->cap ? 2 * a->cap : 16;
        dob_param_info *p = realloc(a->info, (size_t)cap * sizeof *p);
        if (!p) return DOB_FAIL(DOB_ENOMEM, "arena: out of memory");
        a->info = p;
        a->cap = cap;
    }
    dob_param_info *t = &a->info[a->n];
    memset(t, 0, sizeof *t);
    strcpy(t->name, name);
    t->ndim = ndim;
    t->count = 1;
    for (int i = 0; i < ndim; i++) {
        if (dims[i] <= 0)
            return DOB_FAIL(DOB_EINVAL, "arena: tensor '%s': dim %d is %lld, expected > 0", name, i,
                            (long long)dims[i]);
        t->dims[i] = dims[i];
        t->count *= (size_t)dims[i];
    }
    t->fan_in = fan_in > 0 ? fan_in : (int64_t)t->count;
    t->fan_out = fan_out > 0 ? fan_out : (int64_t)t->count;
    t->init = init;
    t->flags = flags;
    if (flags & DOB_PARAM_BUFFER) {
        t->offset = a->buf_size;
        a->buf_size += round_up(t->count);
    } else {
        t->offset = a->size;
        a->size += round_up(t->count);
        a->param_count += t->count;
    }
    if (id) *id = a->n;
    a->n++;
    return DOB_OK;
}

dob_status dob_arena_set_state_count(dob_arena *a, int n_state) {
    if (n_state < 0 || n_state > MAX_STATE)
        return DOB_FAIL(DOB_EINVAL, "arena: %d optimizer state vectors requested, at most %d", n_state, MAX_STATE);
    for (int k = 0; k < a->n_state; k++) free(a->state[k]);
    a->n_state = 0;
    for (int k = 0; k < n_state; k++) {
        a->state[k] = alloc_floats(a->size);
        if (!a->state[k]) return DOB_FAIL(DOB_ENOMEM, "arena: out of memory for optimizer state (%zu floats)", a->size);
        a->n_state = k + 1;
    }
    return DOB_OK;
}

dob_status dob_arena_alloc(dob_arena *a, int n_state) {
    if (a->allocated) return DOB_FAIL(DOB_EINTERNAL, "arena: allocated twice");
    a->params = alloc_floats(a->size);
    a->grads = alloc_floats(a->size);
    a->buffers = alloc_floats(a->buf_size);
    if (!a->params || !a->grads || !a->buffers)
        return DOB_FAIL(DOB_ENOMEM, "arena: out of memory for %zu parameters", a->size);
    a->allocated = 1;
    return dob_arena_set_state_count(a, n_state);
}

void dob_arena_init(dob_arena *a, uint64_t seed) {
    for (int k = 0; k < a->n; k++) {
        dob_param_info *t = &a->info[k];
        float *x = dob_arena_param(a, k);
        dob_rng r = {seed, DOB_RNG_INIT, (uint64_t)k};
        double fi = (double)t->fan_in, fo = (double)t->fan_out;
        switch (t->init.kind) {
        case DOB_INIT_ZEROS: memset(x, 0, t->count * sizeof(float)); break;
        case DOB_INIT_CONST:
            for (size_t i = 0; i < t->count; i++) x[i] = t->init.a;
            break;
        case DOB_INIT_UNIFORM: dob_rng_fill_uniform(&r, x, t->count, t->init.a, t->init.b); break;
        case DOB_INIT_NORMAL: dob_rng_fill_normal(&r, x, t->count, t->init.a, t->init.b); break;
        case DOB_INIT_TRUNC_NORMAL: dob_rng_fill_trunc_normal(&r, x, t->count, t->init.a, t->init.b); break;
        case DOB_INIT_GLOROT_UNIFORM: {
            float l = (float)sqrt(6.0 / (fi + fo));
            dob_rng_fill_uniform(&r, x, t->count, -l, l);
            break;
        }
        case DOB_INIT_GLOROT_NORMAL:
            dob_rng_fill_trunc_normal(&r, x, t->count, 0.0f,
                                      (float)(sqrt(2.0 / (fi + fo)) / 0.87962566103423978));
            break;
        }
    }
}

size_t dob_arena_size(const dob_arena *a) { return a->size; }
size_t dob_arena_buffer_size(const dob_arena *a) { return a->buf_size; }
size_t dob_arena_param_count(const dob_arena *a) { return a->param_count; }
float *dob_arena_params(dob_arena *a) { return a->params; }
float *dob_arena_grads(dob_arena *a) { return a->grads; }
float *dob_arena_state(dob_arena *a, int k) { return (k >= 0 && k < a->n_state) ? a->state[k] : NULL; }
int dob_arena_state_count(const dob_arena *a) { return a->n_state; }
float *dob_arena_buffers(dob_arena *a) { return a->buffers; }
int dob_arena_tensor_count(const dob_arena *a) { return a->n; }
const dob_param_info *dob_arena_info(const dob_arena *a, int id) {
    return (id >= 0 && id < a->n) ? &a->info[id] : NULL;
}

float *dob_arena_param(dob_arena *a, int id) {
    if (!a->allocated || id < 0 || id >= a->n) return NULL;
    const dob_param_info *t = &a->info[id];
    return (t->flags & DOB_PARAM_BUFFER) ? a->buffers + t->offset : a->params + t->offset;
}

float *dob_arena_grad(dob_arena *a, int id) {
    if (!a->allocated || id < 0 || id >= a->n || (a->info[id].flags & DOB_PARAM_BUFFER)) return NULL;
    return a->grads + a->info[id].offset;
}

/* Fixed chunks of 4096 summed in double, chunks combined in index order: same result on any thread count. */
#define CHUNK 4096
double dob_arena_l2_half_sq(const dob_arena *a) {
    double total = 0.0;
    for (int k = 0; k < a->n; k++) {
        const dob_param_info *t = &a->info[k];
        if (!(t->flags & DOB_PARAM_L2) || (t->flags & DOB_PARAM_BUFFER)) continue;
        const float *w = a->params + t->offset;
        size_t nchunk = (t->count + CHUNK - 1) / CHUNK;
        double part[64];
        for (size_t c0 = 0; c0 < nchunk; c0 += 64) {
            size_t c1 = c0 + 64 < nchunk ? c0 + 64 : nchunk;
#pragma omp parallel for schedule(static)
            for (size_t c = c0; c < c1; c++) {
                size_t i0 = c * CHUNK, i1 = i0 + CHUNK < t->count ? i0 + CHUNK : t->count;
                double s = 0.0;
                for (size_t i = i0; i < i1; i++) s += (double)w[i] * w[i];
                part[c - c0] = s;
            }
            for (size_t c = c0; c < c1; c++) total += part[c - c0];
        }
    }
    return 0.5 * total;
}

void dob_arena_l2_grad(dob_arena *a, float wd) {
    for (int k = 0; k < a->n; k++) {
        const dob_param_info *t = &a->info[k];
        if (!(t->flags & DOB_PARAM_L2) || (t->flags & DOB_PARAM_BUFFER)) continue;
        const float *w = a->params + t->offset;
        float *g = a->grads + t->offset;
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < t->count; i++) g[i] += wd * w[i];
    }
}
