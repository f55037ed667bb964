/* cli.c: number parsing, error printing and "did you mean" suggestions for the dob program. */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"

int app_is_root(dob_comm *world) { return !world || dob_comm_rank(world) == 0; }

void app_error(dob_comm *world, const char *fmt, ...) {
    if (!app_is_root(world)) return;
    va_list ap;
    va_start(ap, fmt);
    fputs("dob: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

void app_status_error(dob_comm *world, const char *context) {
    if (!app_is_root(world)) return;
    const char *dbg = getenv("DOB_DEBUG");
    fprintf(stderr, "dob: error: %s%s%s\n", context ? context : "", context && *context ? ": " : "",
            dob_last_error());
    if (dbg && *dbg == '1') fprintf(stderr, "dob: (failure site %s)\n", dob_last_error_site());
}

dob_status app_parse_double(const char *flag, const char *s, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || *end || (errno != ERANGE && !isfinite(v)))
        return DOB_FAIL(DOB_EINVAL, "%s: expected a finite number, found '%s'", flag, s);
    /* a number out of the range of a double: say which end, not "not a number" */
    if (errno == ERANGE && fabs(v) >= 1.0)
        return DOB_FAIL(DOB_EINVAL, "%s: '%s' is too large for a double (largest %g)", flag, s, DBL_MAX);
    if (errno == ERANGE)
        return DOB_FAIL(DOB_EINVAL, "%s: '%s' is too small for a double (smallest normal %g)", flag, s, DBL_MIN);
    *out = v;
    return DOB_OK;
}

dob_status app_parse_int(const char *flag, const char *s, int64_t *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end) return DOB_FAIL(DOB_EINVAL, "%s: expected an integer, found '%s'", flag, s);
    if (errno == ERANGE) return DOB_FAIL(DOB_EINVAL, "%s: '%s' does not fit in 64 bits", flag, s);
    *out = v;
    return DOB_OK;
}

dob_status app_parse_double_list(const char *flag, const char *s, double *out, int max, int *n) {
    char buf[1024];
    if (strlen(s) >= sizeof buf) return DOB_FAIL(DOB_EINVAL, "%s: list too long", flag);
    strcpy(buf, s);
    int k = *n;
    for (char *save = NULL, *tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        if (k >= max) return DOB_FAIL(DOB_EINVAL, "%s: more than %d values", flag, max);
        dob_status st = app_parse_double(flag, tok, &out[k]);
        if (st != DOB_OK) return st;
        k++;
    }
    *n = k;
    return DOB_OK;
}

static int edit_distance(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63) return 99;
    int d[64][64];
    for (size_t i = 0; i <= la; i++) d[i][0] = (int)i;
    for (size_t j = 0; j <= lb; j++) d[0][j] = (int)j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            int c = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < c) c = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < c) c = d[i][j - 1] + 1;
            d[i][j] = c;
        }
    return d[la][lb];
}

const char *app_suggest(const char *s, const char *const *names, int n) {
    const char *best = NULL;
    int bd = 4;
    for (int i = 0; i < n; i++) {
        int d = edit_distance(s, names[i]);
        if (d < bd) {
            bd = d;
            best = names[i];
        }
    }
    return best;
}

double app_weight_decay(dob_comm *world, const dob_problem_spec *p, const app_opts *o) {
    if (!app_given(o, &o->wd)) return p->weight_decay;
    if (p->has_l2) return o->wd;
    if (app_is_root(world))
        fprintf(stderr, "dob: warning: %s has no regulariser; --weight_decay %g is ignored (as in DeepOBS)\n",
                p->name, o->wd);
    return p->weight_decay;
}
