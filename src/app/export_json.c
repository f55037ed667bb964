/* export_json.c: `dob export-json [--layout 1.1|1.2] FILE.h5 DIR`: one DeepOBS JSON file per finished trial of a result or sweep
 * file (the writing is dob_results_export_json in io/json_export.c). Rank 0 only. */
#include <string.h>

#include "app.h"
#include "dob/results.h"

int cmd_export_json(dob_comm *world, const app_cmd *cmd, app_opts *o, int argc, char **argv) {
    (void)cmd, (void)argc, (void)argv;
    if (!app_is_root(world)) return DOB_EXIT_OK;
    int n = 0, layout = 0;
    if (!strcmp(o->layout, "1.1")) layout = 11;
    else if (!strcmp(o->layout, "1.2")) layout = 12;
    if (!layout) {
        app_error(world, "--layout: expected 1.1 or 1.2, found '%s'", o->layout);
        return DOB_EXIT_USAGE;
    }
    if (dob_results_export_json_layout(o->pos[0], o->pos[1], layout, &n) != DOB_OK) {
        app_status_error(world, "export-json");
        return DOB_EXIT_FAIL;
    }
    printf("wrote %d JSON file%s under %s (DeepOBS %s layout)\n", n, n == 1 ? "" : "s", o->pos[1], o->layout);
    return DOB_EXIT_OK;
}
