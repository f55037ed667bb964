/* dnnl_util.c: oneDNN helpers shared by the layers: status names, plain descriptors, user/primitive memory
 * pairs with their reorder. Does not: own an engine (the net does). */
#include "dnnl_util.h"

#include <stdlib.h>

#include <string.h>

const char *dob_dnnl_status_str(dnnl_status_t s) {
    switch (s) {
    case dnnl_success: return "success";
    case dnnl_out_of_memory: return "out of memory";
    case dnnl_invalid_arguments: return "invalid arguments";
    case dnnl_unimplemented: return "unimplemented (no implementation for these shapes/layouts)";
    case dnnl_iterator_ends: return "iterator ends";
    case dnnl_runtime_error: return "runtime error";
    case dnnl_not_required: return "not required";
    default: return "unknown status";
    }
}

dnnl_format_tag_t dob_tag_plain(int ndim) {
    switch (ndim) {
    case 1: return dnnl_a;
    case 2: return dnnl_ab;
    case 3: return dnnl_abc;
    case 4: return dnnl_abcd;
    default: return dnnl_abcde;
    }
}

dnnl_status_t dob_md_plain(dnnl_memory_desc_t *md, int ndim, const int64_t *dims) {
    dnnl_dims_t d;
    for (int i = 0; i < ndim; i++) d[i] = dims[i];
    return dnnl_memory_desc_init_by_tag(md, ndim, d, dnnl_f32, dob_tag_plain(ndim));
}

int64_t dob_md_chan_block(const dnnl_memory_desc_t *md, int64_t C, int64_t S) {
    const dnnl_blocking_desc_t *b = &md->format_desc.blocking;
    if (md->format_kind != dnnl_blocked || md->offset0 != 0) return 0;
    /* planes of one element: plain and channels-last are the same memory order (and the strides of dims of
     * extent 1 are arbitrary): B = 1 */
    const int64_t B = b->inner_nblks == 0                                   ? (b->strides[1] == 1 && S > 1 ? C : 1)
                      : (b->inner_nblks == 1 && b->inner_idxs[0] == 1) ? b->inner_blks[0]
                                                                           : 0;
    if (B <= 0 || C % B || b->strides[0] != C * S || (C / B > 1 && b->strides[1] != S * B)) return 0;
    int64_t want = B;
    for (int d = md->ndims - 1; d >= 2; d--) {
        if (md->dims[d] == 1) continue;
        if (b->strides[d] != want) return 0;
        want *= md->dims[d];
    }
    return B;
}

/* The user memory over handle and, if want differs, the prim memory (no buffer when prim_none: scratch, bound
 * later; else one oneDNN allocates) with the reorder between. */
static dnnl_status_t mem_init(dob_mem *m, dnnl_engine_t eng, const dnnl_memory_desc_t *plain,
                              const dnnl_memory_desc_t *want, void *handle, int to_prim, int prim_none) {
    dnnl_status_t s;
    memset(m, 0, sizeof *m);
    m->to_prim = to_prim;
    if ((s = dnnl_memory_create(&m->user, plain, eng, handle ? handle : DNNL_MEMORY_NONE)) != dnnl_success)
        return s;
    if (!want || dnnl_memory_desc_equal(plain, want)) {
        m->prim = m->user;
        return dnnl_success;
    }
    if ((s = dnnl_memory_create(&m->prim, want, eng, prim_none ? DNNL_MEMORY_NONE : DNNL_MEMORY_ALLOCATE)) !=
        dnnl_success)
        return s;
    dnnl_primitive_desc_t pd;
    if (to_prim)
        s = dnnl_reorder_primitive_desc_create(&pd, plain, eng, want, eng, NULL);
    else
        s = dnnl_reorder_primitive_desc_create(&pd, want, eng, plain, eng, NULL);
    if (s != dnnl_success) return s;
    s = dnnl_primitive_create(&m->reorder, pd);
    dnnl_primitive_desc_destroy(pd);
    return s;
}

dnnl_status_t dob_mem_sync(dob_mem *m, dnnl_stream_t s, void *handle) {
    dnnl_status_t r;
    if (handle && (r = dnnl_memory_set_data_handle_v2(m->user, handle, s)) != dnnl_success) return r;
    if (!m->reorder) return dnnl_success;
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, m->to_prim ? m->user : m->prim},
                               {DNNL_ARG_TO, m->to_prim ? m->prim : m->user}};
    return dnnl_primitive_execute(m->reorder, s, 2, args);
}

void dob_mem_destroy(dob_mem *m) {
    if (m->reorder) dnnl_primitive_destroy(m->reorder);
    if (m->prim && m->prim != m->user) dnnl_memory_destroy(m->prim);
    if (m->user) dnnl_memory_destroy(m->user);
    memset(m, 0, sizeof *m);
}

dnnl_status_t dob_exec_fwd_w(dnnl_primitive_t fwd, dnnl_stream_t s, dob_mem *src, dob_mem *w, void *wh,
                             dnnl_memory_t b, void *bh, dob_mem *dst) {
    dnnl_status_t r;
    if ((r = dob_mem_sync(src, s, NULL)) != dnnl_success || (r = dob_mem_sync(w, s, wh)) != dnnl_success) return r;
    if (b && (r = dnnl_memory_set_data_handle_v2(b, bh, s)) != dnnl_success) return r;
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, src->prim}, {DNNL_ARG_WEIGHTS, w->prim}, {DNNL_ARG_DST, dst->prim},
                               {DNNL_ARG_BIAS, b}};
    if ((r = dnnl_primitive_execute(fwd, s, b ? 4 : 3, args)) != dnnl_success) return r;
    return dob_mem_sync(dst, s, NULL);
}

dnnl_status_t dob_exec_bwd_d(dnnl_primitive_t bwd_d, dnnl_stream_t s, dnnl_memory_t ddst, dob_mem *w, void *wh,
                             dob_mem *dsrc) {
    dnnl_status_t r;
    if ((r = dob_mem_sync(w, s, wh)) != dnnl_success) return r;
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_DIFF_DST, ddst}, {DNNL_ARG_WEIGHTS, w->prim}, {DNNL_ARG_DIFF_SRC, dsrc->prim}};
    if ((r = dnnl_primitive_execute(bwd_d, s, 3, args)) != dnnl_success) return r;
    return dob_mem_sync(dsrc, s, NULL);
}

dnnl_status_t dob_exec_bwd_w(dnnl_primitive_t bwd_w, dnnl_stream_t s, const dob_mem *src, dob_mem *src_w,
                             dnnl_memory_t ddst, dob_mem *dw, void *dwh, dnnl_memory_t db, void *dbh) {
    dnnl_status_t r;
    dnnl_memory_t x = src->prim;
    if (src_w->user) {
        if ((r = dob_mem_sync(src_w, s, NULL)) != dnnl_success) return r;
        x = src_w->prim;
    }
    if ((r = dnnl_memory_set_data_handle_v2(dw->user, dwh, s)) != dnnl_success) return r;
    if (db && (r = dnnl_memory_set_data_handle_v2(db, dbh, s)) != dnnl_success) return r;
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, x}, {DNNL_ARG_DIFF_DST, ddst}, {DNNL_ARG_DIFF_WEIGHTS, dw->prim},
                               {DNNL_ARG_DIFF_BIAS, db}};
    if ((r = dnnl_primitive_execute(bwd_w, s, db ? 4 : 3, args)) != dnnl_success) return r;
    return dob_mem_sync(dw, s, NULL);
}

/* ---- owner list ------------------------------------------------------------------------------------------- */
enum { OWN_PRIMITIVE, OWN_MEMORY, OWN_DOB_MEM, OWN_TMP_MEM, OWN_TMP_DOB_MEM, OWN_TMP_BUF };
struct dob_owned {
    int kind;
    void *slot;   /* dnnl_primitive_t *, dnnl_memory_t *, dob_mem * or float **: the field build filled */
    size_t bytes; /* scratch kinds: the bytes it needs in the net's scratch (0: none) */
};

static dnnl_status_t own(dob_layer *l, int kind, void *slot) {
    if (l->n_owned == l->cap_owned) {
        int cap = l->cap_owned ? 2 * l->cap_owned : 16;
        struct dob_owned *v = realloc(l->owned, (size_t)cap * sizeof *v);
        if (!v) return dnnl_out_of_memory;
        l->owned = v;
        l->cap_owned = cap;
    }
    l->owned[l->n_owned++] = (struct dob_owned){kind, slot, 0};
    return dnnl_success;
}

dnnl_status_t dob_own_primitive(dob_layer *l, dnnl_primitive_t *p, const_dnnl_primitive_desc_t pd) {
    dnnl_status_t s = own(l, OWN_PRIMITIVE, p);
    return s != dnnl_success ? s : dnnl_primitive_create(p, pd);
}

dnnl_status_t dob_own_memory(dob_layer *l, dnnl_memory_t *m, const dnnl_memory_desc_t *md, dnnl_engine_t eng,
                             void *handle) {
    dnnl_status_t s = own(l, OWN_MEMORY, m);
    return s != dnnl_success ? s : dnnl_memory_create(m, md, eng, handle);
}

dnnl_status_t dob_own_mem(dob_layer *l, dob_mem *m, dnnl_engine_t eng, const dnnl_memory_desc_t *plain,
                          const dnnl_memory_desc_t *want, void *handle, int to_prim) {
    memset(m, 0, sizeof *m); /* released even if the init below fails before its own memset */
    dnnl_status_t s = own(l, OWN_DOB_MEM, m);
    return s != dnnl_success ? s : mem_init(m, eng, plain, want, handle, to_prim, 0);
}

static size_t round64(size_t n) { return (n + 63) / 64 * 64; }

dnnl_status_t dob_own_memory_tmp(dob_layer *l, dnnl_memory_t *m, const dnnl_memory_desc_t *md, dnnl_engine_t eng) {
    dnnl_status_t s = own(l, OWN_TMP_MEM, m);
    if (s != dnnl_success || (s = dnnl_memory_create(m, md, eng, DNNL_MEMORY_NONE)) != dnnl_success) return s;
    l->owned[l->n_owned - 1].bytes = round64(dnnl_memory_desc_get_size(md));
    return dnnl_success;
}

dnnl_status_t dob_own_mem_tmp(dob_layer *l, dob_mem *m, dnnl_engine_t eng, const dnnl_memory_desc_t *plain,
                              const dnnl_memory_desc_t *want, void *handle, int to_prim) {
    memset(m, 0, sizeof *m);
    dnnl_status_t s = own(l, OWN_TMP_DOB_MEM, m);
    const int k = l->n_owned - 1;
    if (s != dnnl_success || (s = mem_init(m, eng, plain, want, handle, to_prim, 1)) != dnnl_success) return s;
    if (m->prim != m->user) l->owned[k].bytes = round64(dnnl_memory_desc_get_size(want));
    return dnnl_success;
}

dnnl_status_t dob_own_tmp(dob_layer *l, float **slot, size_t n) {
    *slot = NULL;
    dnnl_status_t s = own(l, OWN_TMP_BUF, slot);
    if (s == dnnl_success) l->owned[l->n_owned - 1].bytes = round64(n * sizeof(float));
    return s;
}

size_t dob_layer_tmp_bytes(const dob_layer *l) {
    size_t n = 0;
    for (int i = 0; i < l->n_owned; i++) n += l->owned[i].bytes;
    return n;
}

dnnl_status_t dob_layer_tmp_bind(dob_layer *l, char *base) {
    dnnl_status_t s = dnnl_success;
    for (int i = 0; i < l->n_owned && s == dnnl_success; i++) {
        struct dob_owned *o = &l->owned[i];
        if (!o->bytes) continue;
        if (o->kind == OWN_TMP_MEM) s = dnnl_memory_set_data_handle(*(dnnl_memory_t *)o->slot, base);
        else if (o->kind == OWN_TMP_DOB_MEM) s = dnnl_memory_set_data_handle(((dob_mem *)o->slot)->prim, base);
        else *(float **)o->slot = (float *)(void *)base;
        base += o->bytes;
    }
    return s;
}

void dob_layer_release(dob_layer *l) {
    for (int i = l->n_owned - 1; i >= 0; i--) {
        struct dob_owned *o = &l->owned[i];
        if (o->kind == OWN_PRIMITIVE) {
            dnnl_primitive_t *p = o->slot;
            if (*p) dnnl_primitive_destroy(*p);
            *p = NULL;
        } else if (o->kind == OWN_MEMORY || o->kind == OWN_TMP_MEM) {
            dnnl_memory_t *m = o->slot;
            if (*m) dnnl_memory_destroy(*m);
            *m = NULL;
        } else if (o->kind == OWN_TMP_BUF) {
            *(float **)o->slot = NULL; /* the net's scratch: freed with the build */
        } else {
            dob_mem_destroy(o->slot);
        }
    }
    l->n_owned = 0;
}
