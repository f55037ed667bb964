/* conv_fx.h: the fixture the convolution and transposed-convolution tests share. A case is one row of a layer's
 * table (shape, kernel, stride, padding, bias, fused ReLU); a kind is the layer with its naive reference
 * (tests/ref/ref_conv.c, ref_deconv.c: the same geometry struct). cfx_run_case puts a case through layer_fx's
 * checks (forward at two batch sizes, finite differences, overwrite) and backward against the reference. */
#ifndef DOB_TESTS_CONV_FX_H
#define DOB_TESTS_CONV_FX_H

#include "ref/ref_conv.h"
#include "tc.h"

typedef struct cfx_case {
    const char *what;
    int64_t n, ic, h, w;
    int64_t oc, kh, kw, sh, sw;
    dob_padding pad;
    int bias;
    dob_act_kind act;
} cfx_case;

typedef struct cfx_kind {
    const char *layer; /* the layer's name in the test net */
    dob_status (*add)(dob_net *net, const char *name, int in, const dob_conv_cfg *cfg, int *out);
    void (*geom)(const ref_conv *r, int64_t *oh, int64_t *ow, int64_t *pt, int64_t *pl);
    void (*forward)(const ref_conv *r, const float *x, const float *w, const float *b, float *y, double *pre);
    void (*backward)(const ref_conv *r, const float *x, const float *w, const float *b, const float *dy, float *dx,
                     float *dw, float *db);
} cfx_kind;
extern const cfx_kind cfx_conv, cfx_deconv;

/** The reference geometry of case k at batch n. */
ref_conv cfx_ref(const cfx_case *k, int64_t n);
/** The layer config of case k: glorot-uniform weights, bias U(-0.5, 0.5), L2 on. */
dob_conv_cfg cfx_cfg(const cfx_case *k);
/** Net: input -> the layer, built for k->n with the given convolution algorithm (prints why on failure). */
dob_net *cfx_make_net(const cfx_kind *t, const cfx_case *k, int input_grad, uint64_t seed, dob_conv_algo algo);
/** Fill the input; with the fused ReLU, the first input stream whose pre-activations all keep `margin` away from
 *  the kink. @return 1 on success. */
int cfx_fill_input(const cfx_kind *t, dob_net *net, const cfx_case *k, double margin);
/** Forward and backward of a built, filled net against the reference (input_grad 0: no diff_src to check). */
void cfx_check_against_ref(const cfx_kind *t, dob_net *net, const cfx_case *k, int input_grad);
/** layer_fx's checks on case k at batch n and a second size, then backward against the reference with and
 *  without an input gradient. */
void cfx_run_case(const cfx_kind *t, const cfx_case *k, uint64_t seed);

#endif
