/* fuzz_results.c: libFuzzer harness for the HDF5 result and sweep file readers: dob_results_read_status (the
 * --resume reader), dob_results_read_sweep (dob status, merge, --resume) with the expansion of the sweep_spec
 * it read (dob_sweep_spec_expand, as merge and the trial checks do: grids and random-search samples) and
 * dob_results_export_json (dob export-json: reads every curve and writes DeepOBS JSON files, removed after
 * each input). Every outcome must be a status; a damaged file is refused (integrity checks name the dataset).
 * Seeds: run and sweep files made by `dob` itself, a random search among them (tests/fuzz/make_seeds.sh). */
#include <stdlib.h>

#include "dob/results.h"
#include "dob/sweep.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[512], out[512];
    fuzz_file("res.h5", data, size, path, sizeof path);
    dob_trial_status st[64];
    int n = 0;
    (void)dob_results_read_status(path, 64, st, &n);
    dob_sweep_desc d = {0};
    if (dob_results_read_sweep(path, &d) == DOB_OK) {
        double *hp = NULL;
        int64_t *seeds = NULL, n_trials = 0;
        if (dob_sweep_spec_expand(d.spec, d.n_hp, d.hp_names, &hp, &seeds, &n_trials) == DOB_OK) {
            free(hp);
            free(seeds);
        }
        dob_sweep_desc_free(&d);
    }
    snprintf(out, sizeof out, "%s/json", fuzz_dir());
    int nw = 0;
    (void)dob_results_export_json(path, out, &nw);
    fuzz_rm_tree(out);
    return 0;
}
