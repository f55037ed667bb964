/* tc.c: see tc.h. */
#define _XOPEN_SOURCE 700 /* mkdtemp */
#include "tc.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dob/rng.h"

int tc_close(const char *what, const float *got, const float *want, size_t n, double tol) {
    double worst = 0.0;
    size_t wi = 0;
    for (size_t i = 0; i < n; i++) {
        double a = got[i], b = want[i];
        double d = fabs(a - b) / fmax(1.0, fmax(fabs(a), fabs(b)));
        if (!(d <= worst)) { /* also catches NaN */
            worst = isnan(d) ? INFINITY : d;
            wi = i;
        }
    }
    if (worst > tol) {
        fprintf(stderr, "\n    %s: element %zu of %zu: got %.8g, expected %.8g (rel err %.3g > %.3g)\n", what, wi,
                n, got[wi], want[wi], worst, tol);
        return 0;
    }
    return 1;
}

int tc_fails(dob_status got, dob_status want, const char *sub, const char *expr) {
    if (got != want || (sub && !strstr(dob_last_error(), sub))) {
        fprintf(stderr, "\n    %s: expected %s with message containing '%s', got %s: '%s'\n", expr,
                dob_status_str(want), sub ? sub : "", dob_status_str(got), dob_last_error());
        return 0;
    }
    return 1;
}

void tc_fill(float *x, size_t n, uint64_t seed, uint64_t stream, float lo, float hi) {
    dob_rng r = {seed, DOB_RNG_TEST, stream};
    dob_rng_fill_uniform(&r, x, n, lo, hi);
}

void tc_fill_away0(float *x, size_t n, uint64_t seed, uint64_t stream, float lo, float hi, float gap) {
    tc_fill(x, n, seed, stream, lo, hi);
    for (size_t i = 0; i < n; i++)
        if (fabsf(x[i]) < gap) x[i] = x[i] < 0 ? -gap - fabsf(x[i]) : gap + x[i];
}

dob_status tc_layout_pass(dob_net *net, int propagate, int in_grad, int64_t batch, uint64_t seed) {
    dob_net_set_layout_propagation(net, propagate);
    dob_net_set_input_grad(net, in_grad);
    dob_net_set_buffer_reuse(net, 0);
    dob_status st = dob_net_build(net, batch);
    if (st != DOB_OK) return st;
    dob_tensor *x = dob_net_input_tensor(net), *out = dob_net_output(net);
    tc_fill(x->data, x->count, seed, 0, -1.0f, 1.0f);
    if ((st = dob_net_forward(net, 1)) != DOB_OK) return st;
    tc_fill(out->diff, out->count, seed, 1, -1.0f, 1.0f);
    return dob_net_backward(net);
}

void tc_check_against_plain(dob_net *a, dob_net *b, const int *ia, const int *ib, int n, const int *blocked,
                            const char *what) {
    char msg[128];
    for (int k = 0; k < n; k++) {
        CU_ASSERT_EQUAL(dob_net_tensor_blocked(a, ia[k]), blocked[k]);
        CU_ASSERT_FALSE(dob_net_tensor_blocked(b, ib[k]));
        const dob_tensor *t = dob_net_tensor(a, ia[k]);
        float *d = malloc(t->count * sizeof *d), *g = malloc(t->count * sizeof *g);
        CU_ASSERT_FATAL(d && g);
        TC_ASSERT_OK(dob_net_read_plain(a, ia[k], d, g));
        snprintf(msg, sizeof msg, "%s: tensor %d data", what, k);
        TC_ASSERT_CLOSE(msg, d, dob_net_tensor(b, ib[k])->data, t->count, 1e-5);
        snprintf(msg, sizeof msg, "%s: tensor %d diff", what, k);
        TC_ASSERT_CLOSE(msg, g, dob_net_tensor(b, ib[k])->diff, t->count, 1e-5);
        free(d);
        free(g);
    }
    const dob_tensor *o = dob_net_output(a), *x = dob_net_input_tensor(a);
    snprintf(msg, sizeof msg, "%s: output", what);
    TC_ASSERT_CLOSE(msg, o->data, dob_net_output(b)->data, o->count, 1e-5);
    snprintf(msg, sizeof msg, "%s: input grad", what);
    TC_ASSERT_CLOSE(msg, x->diff, dob_net_input_tensor(b)->diff, x->count, 1e-5);
    snprintf(msg, sizeof msg, "%s: param grads", what);
    TC_ASSERT_CLOSE(msg, dob_arena_grads(dob_net_arena(a)), dob_arena_grads(dob_net_arena(b)),
                    dob_arena_size(dob_net_arena(a)), 1e-5);
}

/* loss = sum r_i y_i in double */
static double weighted_out(dob_net *net, const float *r, int training, int reset) {
    if (reset) dob_net_reset_state(net);
    if (dob_net_forward(net, training) != DOB_OK) {
        fprintf(stderr, "\n    forward failed: %s\n", dob_last_error());
        return NAN;
    }
    const dob_tensor *y = dob_net_output(net);
    double s = 0.0;
    for (size_t i = 0; i < y->count; i++) s += (double)r[i] * y->data[i];
    return s;
}

static int check_coords(dob_net *net, float *x, const float *analytic, size_t n, const float *r, tc_gc_opts o,
                        const char *what, const char *tname, uint64_t stream) {
    int bad = 0;
    size_t m = n < (size_t)o.max_coords ? n : (size_t)o.max_coords;
    dob_rng rr = {7, DOB_RNG_TEST, 1000 + stream};
    for (size_t c = 0; c < m; c++) {
        size_t i = n <= (size_t)o.max_coords ? c : (size_t)(dob_rng_uniform_double(&rr, c) * (double)n);
        float x0 = x[i];
        x[i] = (float)(x0 + o.eps);
        double lp = weighted_out(net, r, o.training, o.reset_state);
        x[i] = (float)(x0 - o.eps);
        double lm = weighted_out(net, r, o.training, o.reset_state);
        x[i] = x0;
        double num = (lp - lm) / (2.0 * o.eps), a = analytic[i];
        double err = fabs(a - num) / fmax(1.0, fmax(fabs(a), fabs(num)));
        if (!(err <= o.tol)) {
            if (bad < 5)
                fprintf(stderr, "\n    %s: d/d %s[%zu]: analytic %.6g, numeric %.6g (rel err %.3g)", what, tname, i,
                        a, num, err);
            bad++;
        }
    }
    if (bad) fprintf(stderr, "\n    %s: %d of %zu coordinates of %s out of tolerance\n", what, bad, m, tname);
    return bad;
}

int tc_gradcheck(dob_net *net, tc_gc_opts o, const char *what) {
    if (o.eps == 0) o.eps = 1e-2;
    if (o.tol == 0) o.tol = 1e-2;
    if (o.max_coords == 0) o.max_coords = 200;
    dob_tensor *y = dob_net_output(net);
    dob_tensor *x = dob_net_input_tensor(net);
    dob_arena *a = dob_net_arena(net);
    float *r = malloc(y->count * sizeof *r);
    size_t np = dob_arena_size(a);
    float *gp = malloc((np ? np : 1) * sizeof *gp), *gx = malloc(x->count * sizeof *gx);
    tc_fill(r, y->count, 99, 1, -1.0f, 1.0f);
    int bad = 0;
    if (o.reset_state) dob_net_reset_state(net);
    if (dob_net_forward(net, o.training) != DOB_OK) {
        fprintf(stderr, "\n    %s: forward failed: %s\n", what, dob_last_error());
        bad = 1;
        goto done;
    }
    memcpy(y->diff, r, y->count * sizeof *r);
    if (dob_net_backward(net) != DOB_OK) {
        fprintf(stderr, "\n    %s: backward failed: %s\n", what, dob_last_error());
        bad = 1;
        goto done;
    }
    if (np) memcpy(gp, dob_arena_grads(a), np * sizeof *gp);
    if (x->diff) {
        memcpy(gx, x->diff, x->count * sizeof *gx);
        bad += check_coords(net, x->data, gx, x->count, r, o, what, "input", 0);
    }
    for (int k = 0; k < dob_arena_tensor_count(a); k++) {
        const dob_param_info *t = dob_arena_info(a, k);
        if (t->flags & DOB_PARAM_BUFFER) continue;
        bad += check_coords(net, dob_arena_param(a, k), gp + t->offset, t->count, r, o, what, t->name,
                            (uint64_t)k + 1);
    }
done:
    free(r);
    free(gp);
    free(gx);
    return bad;
}

int tc_overwrite_check(dob_net *net, const char *what) {
    dob_tensor *y = dob_net_output(net);
    dob_tensor *x = dob_net_input_tensor(net);
    dob_arena *a = dob_net_arena(net);
    size_t np = dob_arena_size(a);
    int ok = 1;
    float *g1 = malloc((np ? np : 1) * sizeof *g1), *x1 = malloc(x->count * sizeof *x1);
    if (dob_net_forward(net, 1) != DOB_OK) ok = 0;
    tc_fill(y->diff, y->count, 5, 5, -1.0f, 1.0f);
    if (ok && dob_net_backward(net) != DOB_OK) ok = 0;
    if (ok) {
        if (np) memcpy(g1, dob_arena_grads(a), np * sizeof *g1);
        if (x->diff) memcpy(x1, x->diff, x->count * sizeof *x1);
        float *g = dob_arena_grads(a);
        for (size_t i = 0; i < np; i++) g[i] = 1234.5f;
        if (x->diff)
            for (size_t i = 0; i < x->count; i++) x->diff[i] = -777.0f;
        tc_fill(y->diff, y->count, 5, 5, -1.0f, 1.0f);
        if (dob_net_backward(net) != DOB_OK) ok = 0;
    }
    if (ok) {
        /* arena padding is never written by a layer: compare tensors only */
        for (int k = 0; k < dob_arena_tensor_count(a); k++) {
            const dob_param_info *t = dob_arena_info(a, k);
            if (t->flags & DOB_PARAM_BUFFER) continue;
            ok &= tc_close(t->name, dob_arena_grads(a) + t->offset, g1 + t->offset, t->count, 0.0);
        }
        if (x->diff) ok &= tc_close("input diff", x->diff, x1, x->count, 0.0);
    }
    if (!ok) fprintf(stderr, "\n    %s: backward accumulates or fails (%s)\n", what, dob_last_error());
    free(g1);
    free(x1);
    return ok;
}

/* ---- test-only slice layer ------------------------------------------------------------------------- */
static dob_status slice_reserve(dob_layer *l, dob_arena *a) {
    (void)a;
    const tc_slice_cfg *c = l->cfg;
    l->out->ndim = c->ndim + 1;
    for (int i = 0; i < c->ndim; i++) l->out->dims[i + 1] = c->dims[i];
    return DOB_OK;
}
static int64_t per_example(const dob_tensor *t) {
    int64_t n = 1;
    for (int i = 1; i < t->ndim; i++) n *= t->dims[i];
    return n;
}
static dob_status slice_forward(dob_layer *l, int training) {
    (void)training;
    const tc_slice_cfg *c = l->cfg;
    int64_t in_n = per_example(l->in[0]), out_n = per_example(l->out), N = l->out->dims[0];
    for (int64_t b = 0; b < N; b++)
        memcpy(l->out->data + b * out_n, l->in[0]->data + b * in_n + c->offset, (size_t)out_n * sizeof(float));
    return DOB_OK;
}
static dob_status slice_backward(dob_layer *l) {
    const tc_slice_cfg *c = l->cfg;
    if (!l->in_diff[0]) return DOB_OK;
    int64_t in_n = per_example(l->in[0]), out_n = per_example(l->out), N = l->out->dims[0];
    memset(l->in_diff[0], 0, l->in[0]->count * sizeof(float));
    for (int64_t b = 0; b < N; b++)
        memcpy(l->in_diff[0] + b * in_n + c->offset, l->out->diff + b * out_n, (size_t)out_n * sizeof(float));
    return DOB_OK;
}
const dob_layer_ops tc_slice_ops = {.type = "tc_slice", .reserve = slice_reserve, .forward = slice_forward,
                                    .backward = slice_backward};

dob_status tc_multi_input_net(dob_net **net, int n, const int *ndims, const int64_t (*dims)[DOB_MAX_DIMS - 1],
                              int *ids) {
    int64_t total = 0, sizes[DOB_LAYER_MAX_IN];
    for (int i = 0; i < n; i++) {
        sizes[i] = 1;
        for (int d = 0; d < ndims[i]; d++) sizes[i] *= dims[i][d];
        total += sizes[i];
    }
    dob_status st = dob_net_create(net, 1, &total);
    if (st != DOB_OK) return st;
    int64_t off = 0;
    for (int i = 0; i < n; i++) {
        tc_slice_cfg c = {.offset = off, .ndim = ndims[i]};
        for (int d = 0; d < ndims[i]; d++) c.dims[d] = dims[i][d];
        char name[32];
        snprintf(name, sizeof name, "in%d", i);
        int x = 0;
        if ((st = dob_net_add(*net, &tc_slice_ops, name, &c, sizeof c, 1, &x, &ids[i])) != DOB_OK) return st;
        off += sizes[i];
    }
    return DOB_OK;
}

void tc_as_f32(dob_dataset *d) {
    dob_dataset f;
    dob_status st = dob_dataset_to_f32(d, 0, d->n, &f);
    CU_ASSERT_EQUAL_FATAL(st, DOB_OK);
    dob_dataset_free(d);
    *d = f;
}

/* ---- a temporary directory per suite --------------------------------------------------------------------- */

char tc_tmpdir[256];

int tc_tmp_init(void) {
    const char *base = getenv("TMPDIR");
    snprintf(tc_tmpdir, sizeof tc_tmpdir, "%s/dob_test_XXXXXX", base && *base ? base : "/tmp");
    if (mkdtemp(tc_tmpdir)) return 0;
    fprintf(stderr, "tests: mkdtemp %s failed\n", tc_tmpdir);
    return -1;
}

int tc_tmp_clean(void) { return tc_rm_rf(tc_tmpdir); }

const char *tc_tmp(const char *rel) {
    static char bufs[8][512];
    static int k;
    char *b = bufs[k++ % 8];
    snprintf(b, sizeof bufs[0], "%s/%s", tc_tmpdir, rel);
    return b;
}

int tc_rm_rf(const char *p) {
    struct stat sb;
    if (lstat(p, &sb) != 0) return 0;
    if (!S_ISDIR(sb.st_mode)) return unlink(p);
    chmod(p, 0700);
    DIR *d = opendir(p);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            char q[1024];
            snprintf(q, sizeof q, "%s/%s", p, e->d_name);
            tc_rm_rf(q);
        }
        closedir(d);
    }
    return rmdir(p);
}
