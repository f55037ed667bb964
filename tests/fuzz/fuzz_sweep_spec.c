/* fuzz_sweep_spec.c: libFuzzer harness for the sweep_spec parser and expansion (src/sweep_search.c
 * dob_sweep_spec_expand), which `dob sweep --resume`, `dob merge` and the per-trial checks run on the /meta
 * sweep_spec string of a sweep file: grids, seeds and random-search distributions, samples and sample seed.
 * Input byte 0 picks the hyperparameter names (bits 0-1: 1 to 4 of learning_rate, momentum, beta1, beta2); the
 * rest is the spec text. Every outcome must be a status; on success the trial count must match the arrays
 * (every value is touched, so a short allocation shows under ASan) and every value must be finite.
 * fuzz_results reaches the same code through whole files, but at HDF5's pace; this one runs thousands a second. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dob/sweep.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char *names[] = {"learning_rate", "momentum", "beta1", "beta2"};
    if (size < 1 || size > 4096) return 0;
    const int n = 1 + (data[0] & 3);
    char *spec = malloc(size);
    if (!spec) return 0;
    memcpy(spec, data + 1, size - 1);
    spec[size - 1] = '\0';
    double *hp = NULL;
    int64_t *seeds = NULL, T = 0;
    if (dob_sweep_spec_expand(spec, n, names, &hp, &seeds, &T) == DOB_OK) {
        for (int64_t i = 0; i < T * n; i++)
            if (!isfinite(hp[i])) abort();
        for (int64_t i = 0; i < T; i++)
            if (seeds[i] < 0) abort();
        free(hp);
        free(seeds);
    } else if (hp || seeds || T) {
        abort(); /* a failure leaves nothing behind */
    }
    free(spec);
    return 0;
}
