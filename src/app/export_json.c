/* export_json.c: `dob export-json FILE.h5 DIR`: one DeepOBS JSON file per finished trial of a result or sweep
 * file (the writing is dob_results_export_json in io/json_export.c). Rank 0 only. */
#include "app.h"
#include "dob/results.h"

int cmd_export_json(dob_comm *world, const app_cmd *cmd, app_opts *o, int argc, char **argv) {
    (void)cmd, (void)argc, (void)argv;
    if (!app_is_root(world)) return DOB_EXIT_OK;
    int n = 0;
    if (dob_results_export_json(o->pos[0], o->pos[1], &n) != DOB_OK) {
        app_status_error(world, "export-json");
        return DOB_EXIT_FAIL;
    }
    printf("wrote %d JSON file%s under %s\n", n, n == 1 ? "" : "s", o->pos[1]);
    return DOB_EXIT_OK;
}
