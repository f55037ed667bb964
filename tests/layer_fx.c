/* layer_fx.c: tc_layer_run (layer_fx.h). Per batch size, one net input -> layer, built without an input gradient
 * for the forward check (a first layer's path: backward-data skipped), with one for the gradient and overwrite
 * checks (every parameter and the input, unless the row's input has no gradient), and with and without one for
 * the backward reference when the row has one. */
#include "layer_fx.h"

#include <stdio.h>
#include <stdlib.h>

static dob_net *make_net(const tc_layer_case *c, int input_grad, int64_t batch) {
    dob_net *net = NULL;
    int y;
    dob_status st = dob_net_create(&net, c->in_ndim, c->in_dims);
    if (st == DOB_OK) st = c->add(net, dob_net_input(net), c->cfg, &y);
    if (st == DOB_OK) st = dob_net_alloc(net);
    if (st == DOB_OK) {
        dob_arena_init(dob_net_arena(net), c->seed);
        dob_net_set_input_grad(net, input_grad);
        st = dob_net_build(net, batch);
    }
    if (st != DOB_OK) {
        fprintf(stderr, "\n    %s: net at batch %lld: %s\n", c->name, (long long)batch, dob_last_error());
        dob_net_destroy(net);
        return NULL;
    }
    dob_tensor *x = dob_net_input_tensor(net);
    const int range = c->in_lo != 0.0f || c->in_hi != 0.0f;
    tc_fill(x->data, x->count, c->seed, (uint64_t)batch, range ? c->in_lo : -1.0f, range ? c->in_hi : 1.0f);
    if (c->setup) c->setup(c->cfg, net);
    return net;
}

/* Forward (evaluation mode at the first batch size, training at the second) against the reference. */
static int check_forward(const tc_layer_case *c, int64_t batch, int training) {
    dob_net *net = make_net(c, 0, batch);
    if (!net) return 1;
    dob_tensor *y = dob_net_output(net);
    float *want = malloc(y->count * sizeof *want);
    int bad = !want || dob_net_forward(net, training) != DOB_OK;
    char what[160];
    snprintf(what, sizeof what, "%s %s forward batch %lld", c->name, training ? "training" : "evaluation",
             (long long)batch);
    if (!bad) {
        (training && c->ref_train ? c->ref_train : c->ref)(c->cfg, net, want);
        bad = !tc_close(what, y->data, want, y->count, c->fwd_tol);
    } else {
        fprintf(stderr, "\n    %s: %s\n", what, dob_last_error());
    }
    free(want);
    dob_net_destroy(net);
    return bad;
}

/* The net's gradients (input diff, every parameter) against ref_backward's. @return 1 if all close. */
static int compare_backward(const tc_layer_case *c, dob_net *net, const float *dx, const float *dp,
                            const char *what) {
    dob_tensor *x = dob_net_input_tensor(net);
    dob_arena *a = dob_net_arena(net);
    char msg[512]; /* what (< 200 bytes) and a parameter name (< 64) */
    snprintf(msg, sizeof msg, "%s diff_src", what);
    int ok = !x->diff || tc_close(msg, x->diff, dx, x->count, c->bwd_tol);
    for (int k = 0; k < dob_arena_tensor_count(a); k++) {
        const dob_param_info *t = dob_arena_info(a, k);
        if (t->flags & DOB_PARAM_BUFFER) continue;
        snprintf(msg, sizeof msg, "%s d %s", what, t->name);
        ok &= tc_close(msg, dob_arena_grad(a, k), dp + t->offset, t->count, c->bwd_tol);
    }
    return ok;
}

/* A training forward, backward from a seeded dy, against ref_backward. */
static int check_backward(const tc_layer_case *c, int64_t batch, int input_grad) {
    dob_net *net = make_net(c, input_grad, batch);
    if (!net) return 1;
    if (c->prepare) c->prepare(c->cfg, net);
    dob_tensor *x = dob_net_input_tensor(net), *y = dob_net_output(net);
    size_t np = dob_arena_size(dob_net_arena(net));
    float *dx = malloc(x->count * sizeof *dx), *dp = calloc(np ? np : 1, sizeof *dp);
    char what[160];
    snprintf(what, sizeof what, "%s backward batch %lld, input_grad %d", c->name, (long long)batch, input_grad);
    int bad = !dx || !dp || dob_net_forward(net, 1) != DOB_OK;
    if (!bad) {
        tc_fill(y->diff, y->count, c->seed, 1000 + (uint64_t)batch, -1.0f, 1.0f);
        bad = dob_net_backward(net) != DOB_OK;
    }
    if (bad) fprintf(stderr, "\n    %s: %s\n", what, dob_last_error());
    if (!bad) {
        c->ref_backward(c->cfg, net, y->diff, x->diff ? dx : NULL, dp);
        bad = !compare_backward(c, net, dx, dp, what);
    }
    free(dx);
    free(dp);
    dob_net_destroy(net);
    return bad;
}

static int check_gradients(const tc_layer_case *c, int64_t batch) {
    dob_net *net = make_net(c, !c->input_fixed, batch);
    if (!net) return 1;
    if (c->prepare) c->prepare(c->cfg, net);
    char what[160];
    snprintf(what, sizeof what, "%s batch %lld", c->name, (long long)batch);
    int bad = tc_gradcheck(net, c->gc, what) != 0;
    bad += !tc_overwrite_check(net, what);
    dob_net_destroy(net);
    return bad;
}

int tc_layer_run(const tc_layer_case *c) {
    const int64_t b[2] = {c->batch[0] ? c->batch[0] : 3, c->batch[1] ? c->batch[1] : 5};
    int bad = 0;
    for (int i = 0; i < 2; i++) {
        int f = check_forward(c, b[i], i);
        int g = check_gradients(c, b[i]);
        CU_ASSERT_EQUAL(f, 0);
        CU_ASSERT_EQUAL(g, 0);
        bad += f + g;
        if (!c->ref_backward) continue;
        int r = check_backward(c, b[i], 0) + (c->input_fixed ? 0 : check_backward(c, b[i], 1));
        CU_ASSERT_EQUAL(r, 0);
        bad += r;
    }
    return bad;
}

void tc_layer_run_all(const tc_layer_case *rows, size_t n) {
    for (size_t i = 0; i < n; i++) tc_layer_run(&rows[i]);
}
