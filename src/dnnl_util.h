/* dnnl_util.h (internal to src/): oneDNN status checking and small descriptor helpers for layers. */
#ifndef DOB_DNNL_UTIL_H
#define DOB_DNNL_UTIL_H

#include <oneapi/dnnl/dnnl.h>
#include <stdint.h>
#include <string.h>

#include "dob/layer.h"
#include "dob/layers.h"

/** Call oneDNN; on failure record "layer X: oneDNN <call> failed: <status>" and jump to fail with st set. */
#define DOB_DNNL(call)                                                                                 \
    do {                                                                                               \
        dnnl_status_t dob_dn_st_ = (call);                                                             \
        if (dob_dn_st_ != dnnl_success) {                                                              \
            st = DOB_FAIL(DOB_EDNNL, "oneDNN call %s failed: %s", #call, dob_dnnl_status_str(dob_dn_st_)); \
            goto fail;                                                                                 \
        }                                                                                              \
    } while (0)

const char *dob_dnnl_status_str(dnnl_status_t s);
dnnl_engine_t dob_net_engine(const dob_net *net);
dnnl_stream_t dob_net_stream(const dob_net *net);
/** Plain f32 md of a tensor: tag abcd / ab / abc / abcde by ndim. */
dnnl_status_t dob_md_plain(dnnl_memory_desc_t *md, int ndim, const int64_t *dims);
/** Channels per block B of an f32 activation layout md of C channels and S elements per channel per example:
 *  element (n, c, i) of the N x C x S view lies at n C S + (c / B) S B + i B + c % B. B = 1 plain, 8 or 16
 *  channel-blocked (nChw8c, nChw16c), C channels-last; 0 for any other layout. */
int64_t dob_md_chan_block(const dnnl_memory_desc_t *md, int64_t C, int64_t S);
/** Plain tag for ndim (dnnl_a .. dnnl_abcde). */
dnnl_format_tag_t dob_tag_plain(int ndim);

/** The plain oneDNN eltwise algorithm of an activation kind other than NONE (act.c's table; for post-ops). */
dnnl_alg_kind_t dob_act_fwd_alg(dob_act_kind k);

/** f32 -> bf16 bits, round to nearest even (what oneDNN's reorders do); a NaN stays a (quiet) NaN. */
static inline uint16_t dob_bf16_of(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

/* ---- layout propagation between layers (net.c) ---- */
/** 1 if l->out may take a blocked layout: propagation on, not the net output, at least one reader, and every
 *  reader's ops set in_blocked: 1 (conv, pool) reading it as the only input, DOB_IN_BLOCKED_SAME (act, bnorm)
 *  the same and whose own out may block, DOB_IN_BLOCKED_EACH (add) whose own out may block. So conv -> bnorm ->
 *  act -> conv and a residual stream stay blocked end to end. */
int dob_net_out_can_block(const dob_layer *l);
/** At build, before the reader builds: record that l->out's data and diff are in layout md. Accepted (returns 1)
 *  only if dob_net_out_can_block, md is not plain and has no padding (size == count floats); else 0 = plain. */
int dob_net_set_out_md(dob_layer *l, const dnnl_memory_desc_t *md);
/** The layout of l->in[i] (data and diff; in_diff[i] must be written in it too), or NULL when plain. */
const dnnl_memory_desc_t *dob_net_in_md(const dob_layer *l, int i);
/** At build of a layout-transparent layer (ops in_blocked = DOB_IN_BLOCKED_SAME): the one layout of in[0] and out
 *  (data and diffs), which is in[0]'s blocked layout, handed on to out, or plain. */
dob_status dob_layer_same_md(dob_layer *l, dnnl_memory_desc_t *md);

/** A user buffer plus, when the primitive wants another layout, a private buffer and the reorder between. */
typedef struct dob_mem {
    dnnl_memory_t user;    /* wraps the plain user pointer (handle set per call) */
    dnnl_memory_t prim;    /* memory in the primitive's layout (== user if no reorder) */
    dnnl_primitive_t reorder;  /* user->prim (to_prim) or prim->user; NULL if same layout */
    int to_prim;
} dob_mem;
/** Execute the reorder if any (after setting the user handle if handle != NULL). */
dnnl_status_t dob_mem_sync(dob_mem *m, dnnl_stream_t s, void *handle);
void dob_mem_destroy(dob_mem *m);

/* ---- the layer's owner list: what build creates, the net destroys in one call (net.c unbuild) ----
 * A layer's destroy then frees only its own malloc'd buffers. Each dob_own_* records the handle (or the dob_mem
 * in the layer's priv) before creating it, so a creation that fails halfway is released too. */
/** dnnl_primitive_create(p, pd), owned by l. */
dnnl_status_t dob_own_primitive(dob_layer *l, dnnl_primitive_t *p, const_dnnl_primitive_desc_t pd);
/** dnnl_memory_create(m, md, eng, handle), owned by l. */
dnnl_status_t dob_own_memory(dob_layer *l, dnnl_memory_t *m, const dnnl_memory_desc_t *md, dnnl_engine_t eng,
                             void *handle);
/** A user buffer (plain, given handle) and, if `want` differs, a private buffer in layout want with the reorder in
 *  the direction to_prim (user -> prim) or back; m is a field of l->priv, owned by l. */
dnnl_status_t dob_own_mem(dob_layer *l, dob_mem *m, dnnl_engine_t eng, const dnnl_memory_desc_t *plain,
                          const dnnl_memory_desc_t *want, void *handle, int to_prim);

/* ---- scratch: buffers a layer needs only inside one forward or one backward call ----
 * They all lie in one region of the net, which every layer reuses (layers run one at a time): its size is the
 * largest layer's need, not the sum (net_mem.c). The region is bound after every layer is built, so build must
 * not read these buffers' handles or pointers; forward and backward may. Nothing in them survives a call. */
/** dob_own_mem whose prim memory (when `want` differs from `plain`) is scratch; the user memory as given (handle
 *  NULL: none, set it in each dob_mem_sync). */
dnnl_status_t dob_own_mem_tmp(dob_layer *l, dob_mem *m, dnnl_engine_t eng, const dnnl_memory_desc_t *plain,
                              const dnnl_memory_desc_t *want, void *handle, int to_prim);
/** A memory of layout md wholly in scratch. */
dnnl_status_t dob_own_memory_tmp(dob_layer *l, dnnl_memory_t *m, const dnnl_memory_desc_t *md, dnnl_engine_t eng);
/** n floats of scratch: *slot is NULL until the net binds it. */
dnnl_status_t dob_own_tmp(dob_layer *l, float **slot, size_t n);
/** Bytes of scratch l asked for (each request 64-byte aligned), and binding them, in order, from base (net.c). */
size_t dob_layer_tmp_bytes(const dob_layer *l);
dnnl_status_t dob_layer_tmp_bind(dob_layer *l, char *base);
/** Destroy everything l owns, newest first, and empty the list (the list's storage is kept for the next build). */
void dob_layer_release(dob_layer *l);

/* ---- execution of a weighted layer (conv, deconv): the reorders around each primitive included ---- */
/** Forward: src and the weights (arena slice wh) into fwd's layouts, bias b (plain arena slice bh; b may be
 *  NULL), run fwd, dst out to the user layout. */
dnnl_status_t dob_exec_fwd_w(dnnl_primitive_t fwd, dnnl_stream_t s, dob_mem *src, dob_mem *w, void *wh,
                             dnnl_memory_t b, void *bh, dob_mem *dst);
/** Backward data: ddst (already in bwd_d's layout), the weights (arena slice wh) into bwd_d's layout, run bwd_d,
 *  diff_src out to the user layout. */
dnnl_status_t dob_exec_bwd_d(dnnl_primitive_t bwd_d, dnnl_stream_t s, dnnl_memory_t ddst, dob_mem *w, void *wh,
                             dob_mem *dsrc);
/** Backward weights: src from src_w when it has its own reorder (src_w->user set) else src->prim, ddst in bwd_w's
 *  layout, run bwd_w into dw (arena grad slice dwh) and the bias grad db (plain slice dbh; db may be NULL). */
dnnl_status_t dob_exec_bwd_w(dnnl_primitive_t bwd_w, dnnl_stream_t s, const dob_mem *src, dob_mem *src_w,
                             dnnl_memory_t ddst, dob_mem *dw, void *dwh, dnnl_memory_t db, void *dbh);

#endif
