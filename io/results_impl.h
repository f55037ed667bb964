/* results_impl.h (internal to results.c and results_write.c): the result file handle and the helpers both halves
 * of the writer call. results.c creates and reopens the file (and documents the module's invariants);
 * results_write.c writes raw data into it and closes or aborts it. */
#ifndef DOB_IO_RESULTS_IMPL_H
#define DOB_IO_RESULTS_IMPL_H

#include <hdf5.h>
#include <stdint.h>

#include "dob/results.h"

#define DOB_RES_ERRLEN 1024

struct dob_results {
    dob_comm *comm;
    int rank;
    hid_t file;
    char *path, *tmp;
    int overwrite;
    int n_trials;
    int in_place;       /* sweep files: tmp == path, never renamed; kept (not deleted) once created */
    int sweep;          /* the file has the sweep objects (trial_id, run_count) */
    dob_status fail_st; /* first failed trial write on this rank (sticky), DOB_OK if none */
    char fail_msg[DOB_RES_ERRLEN];
};

/** Independent: write the whole dataset /trials/<trial>/<name> from v (memory type mtype). */
dob_status dob_res_write_dset(dob_results *r, int trial, const char *name, hid_t mtype, const void *v);
/** Independent, sweep files: the trial's checksum (trial_sum.h) for status; nothing for running trials. */
dob_status dob_res_write_checksum(dob_results *r, int trial, int32_t status);
/** Collective: close and delete the temporary file (a failed creation, or close/abort of a file not in place). */
void dob_res_discard(dob_results *r);

#endif
