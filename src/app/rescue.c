/* rescue.c: a finished run's curves are never lost to an output failure (issue 14). When the result file asked
 * for cannot be written at the end of `dob run` (its directory went away or filled up, a file appeared at its
 * name meanwhile, ...), the curves, still in memory, go to a fallback result file, and its path is printed.
 *
 * Candidates, first that works: next to the asked-for file ("<stem>.rescued-<pid>.h5"), the working directory,
 * then $TMPDIR (or /tmp), as "dob-rescued-<problem>-<pid>.h5". Rank 0 writes through a one-rank comm (the other
 * ranks hold the same curves); never over an existing file. Collective over world (the comm split). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "dob/results.h"

static int try_write(const char *path, const dob_results_meta *meta, const dob_trial_result *tr, dob_comm *self) {
    dob_results *r = NULL;
    if (dob_results_create(path, 0, meta, self, &r) != DOB_OK) return 0;
    if (dob_results_write_trial(r, 0, tr) != DOB_OK) {
        dob_results_abort(r);
        return 0;
    }
    return dob_results_close(r) == DOB_OK;
}

/* candidate k (0, 1, 2) into buf; 0 if it does not fit */
static int candidate(int k, const char *path, const char *problem, char *buf, size_t cap) {
    long pid = (long)getpid();
    int n = -1;
    if (k == 0) {
        size_t l = strlen(path);
        int stem = l > 3 && !strcmp(path + l - 3, ".h5") ? (int)(l - 3) : (int)l;
        n = snprintf(buf, cap, "%.*s.rescued-%ld.h5", stem, path, pid);
    } else if (k == 1) {
        n = snprintf(buf, cap, "dob-rescued-%s-%ld.h5", problem, pid);
    } else {
        const char *t = getenv("TMPDIR");
        n = snprintf(buf, cap, "%s/dob-rescued-%s-%ld.h5", t && *t ? t : "/tmp", problem, pid);
    }
    return n > 0 && (size_t)n < cap;
}

int app_rescue_curves(dob_comm *world, const dob_results_meta *meta, const dob_trial_result *tr, const char *path) {
    dob_comm *self = NULL;
    int id = 0, ok = 0;
    char *buf = malloc(8192);
    if (dob_comm_split(world, 1, &self, &id) == DOB_OK && buf && app_is_root(world)) {
        dob_results_meta m = *meta;
        m.n_trials = 1;
        for (int k = 0; k < 3 && !ok; k++) ok = candidate(k, path, meta->problem, buf, 8192) && try_write(buf, &m, tr, self);
        if (ok)
            fprintf(stderr, "dob: the run's curves were saved to '%s' instead of '%s' (see the error above)\n", buf,
                    path);
        else
            fprintf(stderr, "dob: error: the run's curves could not be saved anywhere (tried next to '%s', the "
                    "working directory and $TMPDIR): %s\n", path, dob_last_error());
    }
    dob_comm_bcast(world, &ok, sizeof ok, 0);
    dob_comm_destroy(self);
    free(buf);
    return ok;
}
