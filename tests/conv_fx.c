/* conv_fx.c: see conv_fx.h. */
#include "conv_fx.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "layer_fx.h"
#include "ref/ref_deconv.h"

const cfx_kind cfx_conv = {"conv", dob_net_conv, ref_conv_geom, ref_conv_forward, ref_conv_backward};
const cfx_kind cfx_deconv = {"deconv", dob_net_deconv, ref_deconv_geom, ref_deconv_forward, ref_deconv_backward};

ref_conv cfx_ref(const cfx_case *k, int64_t n) {
    return (ref_conv){n, k->ic, k->h, k->w, k->oc, k->kh, k->kw, k->sh, k->sw, k->pad == DOB_PAD_SAME,
                      k->act == DOB_ACT_RELU};
}

dob_conv_cfg cfx_cfg(const cfx_case *k) {
    return (dob_conv_cfg){.out_channels = k->oc, .kh = k->kh, .kw = k->kw, .sh = k->sh, .sw = k->sw,
                          .pad = k->pad, .bias = k->bias, .w_init = {DOB_INIT_GLOROT_UNIFORM, 0, 0},
                          .b_init = {DOB_INIT_UNIFORM, -0.5f, 0.5f}, .l2 = 1, .act = k->act};
}

dob_net *cfx_make_net(const cfx_kind *t, const cfx_case *k, int input_grad, uint64_t seed, dob_conv_algo algo) {
    dob_net *net = NULL;
    int y;
    dob_conv_cfg c = cfx_cfg(k);
    dob_status st = dob_net_create(&net, 3, (int64_t[]){k->ic, k->h, k->w});
    if (st == DOB_OK) st = t->add(net, t->layer, dob_net_input(net), &c, &y);
    if (st == DOB_OK) st = dob_net_alloc(net);
    if (st == DOB_OK) st = dob_net_set_conv_algo(net, algo);
    if (st == DOB_OK) {
        dob_arena_init(dob_net_arena(net), seed);
        dob_net_set_input_grad(net, input_grad);
        st = dob_net_build(net, k->n);
    }
    if (st != DOB_OK) {
        fprintf(stderr, "\n    %s: net setup failed: %s\n", k->what, dob_last_error());
        dob_net_destroy(net);
        return NULL;
    }
    return net;
}

int cfx_fill_input(const cfx_kind *t, dob_net *net, const cfx_case *k, double margin) {
    dob_tensor *x = dob_net_input_tensor(net), *y = dob_net_output(net);
    dob_arena *a = dob_net_arena(net);
    ref_conv r = cfx_ref(k, x->dims[0]);
    double *pre = malloc(y->count * sizeof *pre);
    float *tmp = malloc(y->count * sizeof *tmp);
    int ok = 0;
    for (uint64_t stream = 0; stream < 2000 && !ok; stream++) {
        tc_fill(x->data, x->count, 11, stream, -1.0f, 1.0f);
        if (k->act != DOB_ACT_RELU) {
            ok = 1;
            break;
        }
        t->forward(&r, x->data, dob_arena_param(a, 0), k->bias ? dob_arena_param(a, 1) : NULL, tmp, pre);
        ok = 1;
        for (size_t i = 0; i < y->count && ok; i++) ok = fabs(pre[i]) > margin;
    }
    if (!ok) fprintf(stderr, "\n    %s: no input found with pre-activations away from 0\n", k->what);
    free(pre);
    free(tmp);
    return ok;
}

static void assert_close(const cfx_case *k, const char *part, const float *got, const float *want, size_t n) {
    char what[160];
    snprintf(what, sizeof what, "%s: %s", k->what, part);
    TC_ASSERT_CLOSE(what, got, want, n, 1e-4);
}

void cfx_check_against_ref(const cfx_kind *t, dob_net *net, const cfx_case *k, int input_grad) {
    dob_tensor *x = dob_net_input_tensor(net), *y = dob_net_output(net);
    dob_arena *a = dob_net_arena(net);
    ref_conv r = cfx_ref(k, x->dims[0]);
    int64_t oh, ow, pt, pl;
    t->geom(&r, &oh, &ow, &pt, &pl);
    CU_ASSERT(y->dims[1] == k->oc && y->dims[2] == oh && y->dims[3] == ow);
    const float *w = dob_arena_param(a, 0), *b = k->bias ? dob_arena_param(a, 1) : NULL;
    size_t nw = (size_t)(k->oc * k->ic * k->kh * k->kw);
    float *want = malloc(y->count * sizeof *want), *dx = malloc(x->count * sizeof *dx);
    float *dw = malloc(nw * sizeof *dw), *db = malloc((size_t)k->oc * sizeof *db);
    TC_ASSERT_OK(dob_net_forward(net, 1));
    t->forward(&r, x->data, w, b, want, NULL);
    assert_close(k, "forward", y->data, want, y->count);
    tc_fill(y->diff, y->count, 3, 3, -1.0f, 1.0f);
    TC_ASSERT_OK(dob_net_backward(net));
    t->backward(&r, x->data, w, b, y->diff, dx, dw, db);
    if (input_grad) assert_close(k, "diff_src", x->diff, dx, x->count);
    assert_close(k, "diff_weights", dob_arena_grad(a, 0), dw, nw);
    if (k->bias) assert_close(k, "diff_bias", dob_arena_grad(a, 1), db, (size_t)k->oc);
    free(want);
    free(dx);
    free(dw);
    free(db);
}

/* ---- layer_fx's rows: the config is the case with its kind ---------------------------------------------- */
typedef struct cfx_row {
    const cfx_kind *t;
    const cfx_case *k;
} cfx_row;

static dob_status add_layer(dob_net *net, int in, const void *cfg, int *out) {
    const cfx_row *r = cfg;
    dob_conv_cfg c = cfx_cfg(r->k);
    return r->t->add(net, r->t->layer, in, &c, out);
}

static void ref_forward(const void *cfg, dob_net *net, float *y) {
    const cfx_row *row = cfg;
    dob_tensor *x = dob_net_input_tensor(net);
    dob_arena *a = dob_net_arena(net);
    ref_conv r = cfx_ref(row->k, x->dims[0]);
    row->t->forward(&r, x->data, dob_arena_param(a, 0), row->k->bias ? dob_arena_param(a, 1) : NULL, y, NULL);
}

/* FD steps move a pre-activation by at most eps * max(|x|, |w|) <= 1e-3: keep them 2e-3 away from ReLU's kink */
static void away_from_kink(const void *cfg, dob_net *net) {
    const cfx_row *row = cfg;
    if (!cfx_fill_input(row->t, net, row->k, 2e-3)) CU_FAIL("no kink-free input");
}

/* The second batch size: n + 1, unless an example has over 1 000 ReLU outputs; then none of the inputs tried
 * keeps them all 2e-3 from the kink at two examples, and the case stays at n (rebuild_batch covers another). */
static int64_t second_batch(const cfx_kind *t, const cfx_case *k) {
    ref_conv r = cfx_ref(k, k->n);
    int64_t oh, ow, pt, pl;
    t->geom(&r, &oh, &ow, &pt, &pl);
    return k->act == DOB_ACT_RELU && k->oc * oh * ow > 1000 ? k->n : k->n + 1;
}

void cfx_run_case(const cfx_kind *t, const cfx_case *k, uint64_t seed) {
    const cfx_row row = {t, k};
    tc_layer_case c = {.name = k->what, .in_ndim = 3, .in_dims = {k->ic, k->h, k->w}, .cfg = &row,
                       .add = add_layer, .ref = ref_forward, .prepare = away_from_kink, .fwd_tol = 1e-4,
                       .gc = {.eps = 1e-3, .tol = 1e-2, .training = 1}, .batch = {k->n, second_batch(t, k)},
                       .seed = seed};
    tc_layer_run(&c);
    for (int ig = 1; ig >= 0; ig--) {
        dob_net *net = cfx_make_net(t, k, ig, seed, DOB_CONV_DIRECT);
        CU_ASSERT_PTR_NOT_NULL(net);
        if (net && cfx_fill_input(t, net, k, 0)) cfx_check_against_ref(t, net, k, ig);
        dob_net_destroy(net);
    }
}
