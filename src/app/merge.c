/* merge.c: `dob merge OUT.h5 IN1.h5 IN2.h5 ...`: join the slice files of one sweep (job-array tasks, or --trials
 * runs) into one sweep file. The checks (same sweep, no conflicting duplicates) and the copy are
 * dob_results_merge in io/sweep_file.c; this file parses the command line and prints the outcome. */
#include <string.h>

#include "app.h"
#include "dob/results.h"

int cmd_merge(dob_comm *world, int argc, char **argv) {
    int overwrite = 0, allow_missing = 0, n_in = 0;
    const char *out = NULL, *in[4096];
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            if (app_is_root(world))
                puts("usage: dob merge [--overwrite] [--allow-missing] OUT.h5 IN1.h5 IN2.h5 ...\n\n"
                     "Join sweep files of one sweep (e.g. the FILE.slice<i>.h5 of a job array) into OUT.h5: one trial\n"
                     "per global trial id, taken from an input where it finished (done or diverged) if any. Inputs\n"
                     "of different sweeps (problem, optimizer, settings, grids), a trial id with different\n"
                     "hyperparameters or seed, or a trial finished twice with different results are errors.\n"
                     "OUT.h5 is written under a temporary name and appears only when complete.\n"
                     "Every trial of the sweep must be in some input: a missing slice file is an error naming the\n"
                     "trials and slices. --allow-missing writes those trials as pending instead (with the\n"
                     "hyperparameters and seed of the sweep's grid), so `dob sweep --resume OUT.h5` runs them.");
            return DOB_EXIT_OK;
        }
        if (!strcmp(argv[i], "--overwrite")) {
            overwrite = 1;
        } else if (!strcmp(argv[i], "--allow-missing")) {
            allow_missing = 1;
        } else if (argv[i][0] == '-') {
            app_error(world, "unknown option '%s' (usage: dob merge [--overwrite] [--allow-missing] OUT.h5 IN1.h5 ...)",
                      argv[i]);
            return DOB_EXIT_USAGE;
        } else if (!out) {
            out = argv[i];
        } else if (n_in < (int)(sizeof in / sizeof in[0])) {
            in[n_in++] = argv[i];
        } else {
            app_error(world, "more than %d input files", (int)(sizeof in / sizeof in[0]));
            return DOB_EXIT_USAGE;
        }
    }
    if (!out || n_in < 1) {
        app_error(world, "usage: dob merge [--overwrite] OUT.h5 IN1.h5 IN2.h5 ...");
        return DOB_EXIT_USAGE;
    }
    int n = 0, nf = 0, nm = 0;
    if (dob_results_merge(out, n_in, in, overwrite, allow_missing, world, &n, &nf, &nm) != DOB_OK) {
        app_status_error(world, NULL);
        return DOB_EXIT_FAIL;
    }
    if (app_is_root(world)) {
        printf("merged %d file%s into %s: %d trial%s, %d finished (done or diverged)", n_in, n_in == 1 ? "" : "s",
               out, n, n == 1 ? "" : "s", nf);
        if (nm)
            printf(", %d in none of the inputs written as pending (dob sweep --resume %s runs them)", nm, out);
        printf("\n");
    }
    return DOB_EXIT_OK;
}
