/* tc.h: shared CUnit helpers: closeness asserts that print expected and obtained values, a finite-difference
 * gradient checker over a whole net, an overwrite-not-accumulate checker, and a test-only "slice" layer that
 * feeds several inputs of a layer under test from one net input. */
#ifndef DOB_TC_H
#define DOB_TC_H

#include <CUnit/CUnit.h>
#include <stddef.h>
#include <stdint.h>

#include "dob/data.h"
#include "dob/layer.h"
#include "dob/layers.h"
#include "dob/net.h"

/** Max |a-b| / max(1, |a|, |b|) over n; prints the worst index when above tol. @return 1 if all close. */
int tc_close(const char *what, const float *got, const float *want, size_t n, double tol);
#define TC_ASSERT_CLOSE(what, got, want, n, tol) CU_ASSERT(tc_close((what), (got), (want), (n), (tol)))
#define TC_ASSERT_OK(call)                                                                      \
    do {                                                                                        \
        dob_status tc_st_ = (call);                                                             \
        if (tc_st_ != DOB_OK)                                                                   \
            fprintf(stderr, "\n    %s:%d: %s -> %s: %s\n", __FILE__, __LINE__, #call,           \
                    dob_status_str(tc_st_), dob_last_error());                                  \
        CU_ASSERT_EQUAL_FATAL(tc_st_, DOB_OK);                                                  \
    } while (0)
/** Assert a call fails with `st` and its message contains `sub`. */
#define TC_ASSERT_FAILS(call, st, sub) CU_ASSERT(tc_fails((call), (st), (sub), #call))
int tc_fails(dob_status got, dob_status want, const char *sub, const char *expr);

/** The float32 examples of a data set with float storage (dob_dataset_alloc or tc_as_f32). */
#define TC_X(d) ((float *)(d).x)
/** Replace a loaded data set (bytes, labels, streams) by its float32 conversion with target rows: the values a
 *  batch gathers (dob_dataset_gather), so reader tests check what the net sees. */
void tc_as_f32(dob_dataset *d);

/** Fill x with U[lo, hi) from a test stream (seed, stream). */
void tc_fill(float *x, size_t n, uint64_t seed, uint64_t stream, float lo, float hi);
/** Same, but keep |x| >= gap (away from ReLU kinks). */
void tc_fill_away0(float *x, size_t n, uint64_t seed, uint64_t stream, float lo, float hi, float gap);

typedef struct tc_gc_opts {
    double eps;      /* central difference step (default 1e-2) */
    double tol;      /* |a - n| <= tol * max(1, |a|, |n|) (default 1e-2) */
    int max_coords;  /* per tensor (default 200) */
    int training;    /* forward mode during the check */
    int reset_state; /* dob_net_reset_state before every forward (layers that carry state, e.g. LSTM) */
} tc_gc_opts;
/** Finite-difference check of d(sum r_i y_i)/d(input) and /d(every parameter) for a built net whose input data
 *  is filled (dob_net_set_input_grad(net, 1) before build). @return number of coordinates out of tolerance. */
int tc_gradcheck(dob_net *net, tc_gc_opts o, const char *what);
/** Backward twice with garbage in the grads and input diff between: results must be identical. @return 1 ok. */
int tc_overwrite_check(dob_net *net, const char *what);

/** The layout tests' training pass over an allocated net: layout propagation on or off, the input gradient
 *  (in_grad), every diff kept (buffer reuse off: the tests read intermediates), build at batch, input and output
 *  diff U[-1, 1) from (seed, streams 0 and 1), a training forward, backward. */
dob_status tc_layout_pass(dob_net *net, int propagate, int in_grad, int64_t batch, uint64_t seed);
/** A net in blocked layouts (a: propagation on) against the same net all plain (b), after tc_layout_pass: tensor
 *  ia[k] / ib[k] blocked in a exactly when blocked[k], never in b; data and diffs of those n tensors, the output,
 *  the input gradient and the parameter gradients equal within 1e-5 (CUnit asserts, labelled with what). */
void tc_check_against_plain(dob_net *a, dob_net *b, const int *ia, const int *ib, int n, const int *blocked,
                            const char *what);

/** Test-only layer: out = in[0][:, off : off + prod(dims)] reshaped to dims (per example). */
typedef struct tc_slice_cfg {
    int64_t offset;
    int ndim;
    int64_t dims[DOB_MAX_DIMS - 1];
} tc_slice_cfg;
extern const dob_layer_ops tc_slice_ops;
/** Create a net whose flat input holds all `n` input shapes back to back, and one slice layer per input.
 *  ids[i] receives the tensor id of input i. */
dob_status tc_multi_input_net(dob_net **net, int n, const int *ndims, const int64_t (*dims)[DOB_MAX_DIMS - 1],
                              int *ids);

/* ---- a temporary directory per suite --------------------------------------------------------------------- */
/** The current suite's directory: /tmp/dob_test_XXXXXX (under $TMPDIR if set), made by tc_tmp_init. */
extern char tc_tmpdir[256];
/** Suite init/cleanup pair: make a fresh directory; remove it with everything in it. @return 0 on success. */
int tc_tmp_init(void);
int tc_tmp_clean(void);
/** tc_tmpdir/<rel> in one of 8 rotating buffers (so several paths can be alive in one call). */
const char *tc_tmp(const char *rel);
/** Remove a file or a directory tree (like rm -rf; makes directories writable first). @return 0 on success. */
int tc_rm_rf(const char *path);

#endif
