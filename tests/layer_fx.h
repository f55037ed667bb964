/* layer_fx.h: the table-driven layer checks. A layer's test is a table of rows (config, input shape, naive
 * reference, tolerances); tc_layer_run runs every check the style guide asks of a layer on one row, at two batch
 * sizes: forward against the reference (evaluation mode at the first size, training at the second), optionally
 * backward against a reference (with and without an input gradient), finite-difference gradients of the input
 * and every parameter, and backward overwriting (not accumulating) its gradients. Layer-specific checks (errors,
 * odd paths, state) stay in the layer's own test file next to its table. */
#ifndef DOB_TESTS_LAYER_FX_H
#define DOB_TESTS_LAYER_FX_H

#include "tc.h"

typedef struct tc_layer_case {
    const char *name;                          /* names the row in failure messages */
    int in_ndim;                               /* the net input, per example */
    int64_t in_dims[DOB_MAX_DIMS - 1];
    const void *cfg;                           /* the layer's config, passed to add/ref/prepare */
    /** Add the layer under test to net reading tensor in; *out its output. */
    dob_status (*add)(dob_net *net, int in, const void *cfg, int *out);
    /** The naive reference: y (the output's count floats) from the built net's input data and arena parameters,
     *  in evaluation mode, and in training mode too unless ref_train is set. */
    void (*ref)(const void *cfg, dob_net *net, float *y);
    /** Optional: the training-mode reference (layers whose modes differ: batch statistics, sampling). */
    void (*ref_train)(const void *cfg, dob_net *net, float *y);
    /** Optional: the reference backward after a training forward. dy: the output's diff; dx: the input's count
     *  floats (NULL when the net has no input gradient); dp: dob_arena_size floats, a parameter's gradient at its
     *  offset (buffers unchecked). */
    void (*ref_backward)(const void *cfg, dob_net *net, const float *dy, float *dx, float *dp);
    /** Optional, on every net after the default parameter init and input fill: set inputs or parameters (distinct
     *  values for max pooling, non-default gamma, moving statistics). */
    void (*setup)(const void *cfg, dob_net *net);
    /** Optional, before the gradient and backward checks: move inputs or parameters away from kinks (ReLU 0, max
     *  ties). */
    void (*prepare)(const void *cfg, dob_net *net);
    double fwd_tol;                            /* forward: |y - ref| <= fwd_tol * max(1, |ref|) */
    double bwd_tol;                            /* backward against ref_backward, the same measure */
    tc_gc_opts gc;                             /* gradient check: eps, tol, coordinates, training mode */
    float in_lo, in_hi;                        /* input drawn U(in_lo, in_hi); both 0: U(-1, 1) */
    int input_fixed;                           /* the input has no gradient (ids): nets never ask for one */
    int64_t batch[2];                          /* the two batch sizes; {0, 0}: {3, 5} */
    uint64_t seed;                             /* parameters and input */
} tc_layer_case;

/** Run the forward, gradient and overwrite checks of row c at both batch sizes (CUnit assertions).
 *  @return the number of checks that failed. */
int tc_layer_run(const tc_layer_case *c);
/** Run every row of a table. */
void tc_layer_run_all(const tc_layer_case *rows, size_t n);

#endif
