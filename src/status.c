/* status.c: thread-local error buffer behind dob_fail_at / dob_last_error.
 * Messages are truncated at DOB_ERRBUF bytes; they never allocate, so they work after ENOMEM. */
#include "dob/status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DOB_ERRBUF 1024

static _Thread_local char err_msg[DOB_ERRBUF];
static _Thread_local char err_site[128];

const char *dob_status_str(dob_status st) {
    switch (st) {
    case DOB_OK: return "DOB_OK";
    case DOB_EINVAL: return "DOB_EINVAL";
    case DOB_ENOMEM: return "DOB_ENOMEM";
    case DOB_EIO: return "DOB_EIO";
    case DOB_EDNNL: return "DOB_EDNNL";
    case DOB_EMPI: return "DOB_EMPI";
    case DOB_EH5: return "DOB_EH5";
    case DOB_EFORMAT: return "DOB_EFORMAT";
    case DOB_ENOENT: return "DOB_ENOENT";
    case DOB_EEXIST: return "DOB_EEXIST";
    case DOB_EINTERNAL: return "DOB_EINTERNAL";
    }
    return "DOB_E?";
}

const char *dob_last_error(void) { return err_msg; }
const char *dob_last_error_site(void) { return err_site; }

void dob_error_clear(void) {
    err_msg[0] = '\0';
    err_site[0] = '\0';
}

dob_status dob_fail_at(dob_status st, const char *file, int line, const char *fmt, ...) {
    const char *base = strrchr(file, '/');
    snprintf(err_site, sizeof err_site, "%s:%d", base ? base + 1 : file, line);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err_msg, sizeof err_msg, fmt, ap);
    va_end(ap);
    return st;
}

void dob_error_prefix(const char *fmt, ...) {
    char pre[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    if (n <= 0) return;
    size_t lp = strlen(pre), lm = strlen(err_msg);
    if (lp + lm + 1 > sizeof err_msg) lm = sizeof err_msg - lp - 1;
    memmove(err_msg + lp, err_msg, lm);
    memcpy(err_msg, pre, lp);
    err_msg[lp + lm] = '\0';
}

void dob_assert_fail(const char *expr, const char *file, int line) {
    fprintf(stderr, "dob: internal error: assertion '%s' failed at %s:%d (this is a bug in dob)\n", expr, file,
            line);
    abort();
}
