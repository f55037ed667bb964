/* grad_sync.h (internal to src/): the data-parallel gradient sum overlapped with backward, in buckets.
 *
 * Backward runs the layers last to first, and layers reserve their parameters in layer order, so after layer i's
 * backward the gradients at arena offsets [ready[i], n) are final. Whenever at least `bucket` floats of final
 * gradients have not been handed on, they are started as one sum (hooks->sum_float_start), so the sum of the
 * large late layers (dense) runs while the early ones (conv) still compute backward; the rest is started when
 * backward ends, then all are completed. Every rank forms the same buckets (same net, same arena), as MPI's
 * ordering rule for collectives requires. If a net broke the ordering assumption (a layer with parameters below
 * an earlier layer's), it gets one bucket at the end: correct, not overlapped.
 * Does not: sum anything itself, or change what is summed (the result equals one sum of the whole gradient up to
 * the reduction order MPI picks per message size). */
#ifndef DOB_GRAD_SYNC_H
#define DOB_GRAD_SYNC_H

#include <stddef.h>

#include "dob/trainer.h"

typedef struct grad_sync {
    const dob_train_hooks *hooks;
    float *grads;
    size_t n;        /* arena size in floats */
    size_t *ready;   /* [n_layers]: gradients [ready[i], n) are final after layer i's backward */
    size_t bucket;   /* floats per started sum, at least */
    size_t sent;     /* grads[sent, n) have been started */
    dob_status st;   /* first failure of a hook during backward */
} grad_sync;

/** Set g up for net and hook it into dob_net_backward (dob_net_set_backward_hook). */
dob_status grad_sync_init(grad_sync *g, dob_net *net, const dob_train_hooks *hooks, size_t bucket);
/** Unhook and free; accepts a zeroed g. */
void grad_sync_free(grad_sync *g, dob_net *net);
/** Before each backward. */
void grad_sync_begin(grad_sync *g);
/** After backward: start what is left, complete every sum. */
dob_status grad_sync_finish(grad_sync *g);

#endif
