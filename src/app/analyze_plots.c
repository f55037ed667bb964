/* analyze_plots.c: `dob analyze --plots DIR`: DIR/analysis.json (dob_an_write_plot_data), then
 * tools/analyze_plots.py draws DeepOBS's figures from it into DIR (PNG and PDF): the performance figure of each
 * benchmark set and the learning-rate sensitivity. The script runs as a child process (/usr/bin/python3, Debian's
 * matplotlib; DOB_PYTHON overrides) found in $DOB_TOOLS_DIR, else in the source tree dob was built from.
 *
 * It does not: draw anything itself, or replace files other than analysis.json and the figures in DIR. */
#include <errno.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "app.h"
#include "dob/analyze.h"

#ifndef DOB_SOURCE_DIR
#define DOB_SOURCE_DIR "."
#endif

extern char **environ;

/* The script: $DOB_TOOLS_DIR/analyze_plots.py, else <source tree>/tools/analyze_plots.py. */
static dob_status find_script(char *path, size_t cap) {
    const char *dir = getenv("DOB_TOOLS_DIR");
    snprintf(path, cap, "%s/analyze_plots.py", dir && *dir ? dir : DOB_SOURCE_DIR "/tools");
    if (access(path, R_OK) != 0)
        return DOB_FAIL(DOB_ENOENT, "--plots: the plotting script '%s' is missing (%s); set DOB_TOOLS_DIR to the "
                        "directory holding analyze_plots.py (dob's tools/)", path, strerror(errno));
    return DOB_OK;
}

static dob_status run_script(const char *script, const char *data, const char *dir, int quartiles) {
    const char *py = getenv("DOB_PYTHON");
    if (!py || !*py) py = "/usr/bin/python3";
    char *argv[] = {(char *)py, (char *)script, (char *)data, (char *)dir, quartiles ? "--quartiles" : NULL, NULL};
    pid_t pid;
    fflush(NULL);
    int e = posix_spawn(&pid, py, NULL, NULL, argv, environ);
    if (e != 0) return DOB_FAIL(DOB_EIO, "--plots: cannot start %s: %s", py, strerror(e));
    int ws = 0;
    while (waitpid(pid, &ws, 0) < 0)
        if (errno != EINTR) return DOB_FAIL(DOB_EIO, "--plots: waitpid: %s", strerror(errno));
    if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0)
        return DOB_FAIL(DOB_EIO, "--plots: %s %s failed (%s %d; its messages are above)", py, script,
                        WIFEXITED(ws) ? "exit code" : "signal", WIFEXITED(ws) ? WEXITSTATUS(ws) : WTERMSIG(ws));
    return DOB_OK;
}

dob_status app_analyze_plots(const dob_analysis *a, const dob_an_baselines *b, const app_opts *o) {
    dob_status st = DOB_OK;
    char script[4096], data[4096];
    DOB_TRY(find_script(script, sizeof script));
    DOB_TRY(dob_io_mkdirs(o->plots));
    if (snprintf(data, sizeof data, "%s/analysis.json", o->plots) >= (int)sizeof data) {
        st = DOB_FAIL(DOB_EINVAL, "--plots: directory name too long");
        goto fail;
    }
    DOB_TRY(dob_an_write_plot_data(a, b, data));
    DOB_TRY(run_script(script, data, o->plots, o->quartiles));
fail:
    return st;
}
