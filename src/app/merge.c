/* merge.c: `dob merge OUT.h5 IN1.h5 IN2.h5 ...`: join the slice files of one sweep (job-array tasks, or --trials
 * runs) into one sweep file. The checks (same sweep, no conflicting duplicates, every trial in some input unless
 * --allow-missing) and the copy are dob_results_merge in io/sweep_file.c; this file prints the outcome. */
#include "app.h"
#include "dob/results.h"

int cmd_merge(dob_comm *world, const app_cmd *cmd, app_opts *o, int argc, char **argv) {
    (void)cmd, (void)argc, (void)argv;
    const char *out = o->pos[0];
    const int n_in = o->n_pos - 1;
    int n = 0, nf = 0, nm = 0;
    if (dob_results_merge(out, n_in, o->pos + 1, o->overwrite, o->allow_missing, world, &n, &nf, &nm) != DOB_OK) {
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
