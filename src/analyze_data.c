/* analyze_data.c: the reference data of the analyzer (dob/analyze.h): DeepOBS's published baselines and the
 * convergence thresholds, parsed from CSV text (the files under tools/baselines/, embedded into dob at build
 * time; see the comment lines of those files for where each number comes from).
 *
 * Format: one record per line, fields separated by ','; '#' starts a comment line; the first non-comment line is
 * the header and must be exactly the expected one (so a reordered file is refused, not misread). Every value is
 * checked; an error names the text, the line and what was expected.
 *
 * It does not: open files (the caller hands the text over), or know which problems exist. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dob/analyze.h"

/* ---- thresholds ------------------------------------------------------------------------------------------- */
double dob_an_threshold_of(const dob_an_thresholds *t, const char *problem) {
    if (!t) return NAN;
    if (!isnan(t->all)) return t->all;
    for (int k = 0; k < t->n; k++)
        if (!strcmp(t->problem[k], problem)) return t->value[k];
    return NAN;
}

void dob_an_thresholds_free(dob_an_thresholds *t) {
    if (!t) return;
    for (int k = 0; k < t->n; k++) free(t->problem[k]);
    free(t->problem);
    free(t->value);
    t->problem = NULL;
    t->value = NULL;
    t->n = 0;
}

dob_status dob_an_thresholds_set(dob_an_thresholds *t, const char *problem, double v) {
    for (int k = 0; k < t->n; k++)
        if (!strcmp(t->problem[k], problem)) {
            t->value[k] = v;
            return DOB_OK;
        }
    char **p = realloc(t->problem, sizeof(char *) * (size_t)(t->n + 1));
    if (p) t->problem = p;
    double *x = realloc(t->value, sizeof(double) * (size_t)(t->n + 1));
    if (x) t->value = x;
    char *s = strdup(problem);
    if (!p || !x || !s) {
        free(s);
        return DOB_FAIL(DOB_ENOMEM, "out of memory");
    }
    t->problem[t->n] = s;
    t->value[t->n++] = v;
    return DOB_OK;
}

/* ---- CSV lines -------------------------------------------------------------------------------------------- */
/* Split line (modified in place) at ','; @return the number of fields (at most max). */
static int split(char *line, char **f, int max) {
    int n = 0;
    for (char *p = line; n < max;) {
        f[n++] = p;
        char *c = strchr(p, ',');
        if (!c) break;
        *c = '\0';
        p = c + 1;
    }
    return n;
}

static int number(const char *s, double *v) {
    char *end;
    *v = strtod(s, &end);
    return *s && !*end && isfinite(*v);
}

/* Calls fn(ctx, fields, n, line number) for every record line of text after checking the header. */
typedef dob_status (*row_fn)(void *ctx, char **f, int n, int line);
static dob_status each_row(const char *text, const char *name, const char *header, int nf, row_fn fn, void *ctx) {
    dob_status st = DOB_OK;
    char *copy = strdup(text ? text : "");
    if (!copy) return DOB_FAIL(DOB_ENOMEM, "out of memory");
    int line = 0, seen_header = 0;
    for (char *save = NULL, *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        line++;
        size_t k = strlen(l);
        if (k && l[k - 1] == '\r') l[k - 1] = '\0';
        if (l[0] == '#' || l[0] == '\0') continue;
        if (!seen_header) {
            if (strcmp(l, header)) {
                st = DOB_FAIL(DOB_EFORMAT, "%s line %d: expected the header '%s', found '%.80s'", name, line, header, l);
                goto fail;
            }
            seen_header = 1;
            continue;
        }
        char *f[16];
        int n = split(l, f, 16);
        if (n != nf) {
            st = DOB_FAIL(DOB_EFORMAT, "%s line %d: expected %d fields, found %d", name, line, nf, n);
            goto fail;
        }
        DOB_TRY(fn(ctx, f, n, line));
    }
    if (!seen_header) st = DOB_FAIL(DOB_EFORMAT, "%s: no header line '%s'", name, header);
fail:
    free(copy);
    return st;
}

/* ---- thresholds CSV --------------------------------------------------------------------------------------- */
typedef struct thr_ctx {
    dob_an_thresholds *t;
    const char *name;
} thr_ctx;

static dob_status thr_row(void *ctx, char **f, int n, int line) {
    thr_ctx *c = ctx;
    double v;
    (void)n;
    if (dob_an_curve_index(f[1]) < 0 || !number(f[2], &v))
        return DOB_FAIL(DOB_EFORMAT, "%s line %d: expected problem,<curve name>,<number>, found '%s,%s,%s'", c->name,
                        line, f[0], f[1], f[2]);
    return dob_an_thresholds_set(c->t, f[0], v);
}

dob_status dob_an_thresholds_parse_csv(const char *text, const char *name, dob_an_thresholds *t) {
    thr_ctx c = {t, name};
    return each_row(text, name, "problem,metric,threshold", 3, thr_row, &c);
}

/* ---- baselines CSV ---------------------------------------------------------------------------------------- */
typedef struct base_ctx {
    dob_an_baselines *b;
    const char *name;
} base_ctx;

static dob_status base_row(void *ctx, char **f, int n, int line) {
    base_ctx *c = ctx;
    dob_an_baseline x;
    memset(&x, 0, sizeof x);
    (void)n;
    if (strlen(f[0]) >= sizeof x.problem || strlen(f[1]) >= sizeof x.optimizer || dob_an_curve_index(f[2]) < 0 ||
        strlen(f[6]) >= sizeof x.other ||
        !number(f[3], &x.performance) || !number(f[4], &x.speed) || !number(f[5], &x.lr))
        return DOB_FAIL(DOB_EFORMAT, "%s line %d: expected problem,optimizer,<curve name>,performance,speed,"
                        "learning_rate,other_hyperparameters", c->name, line);
    snprintf(x.problem, sizeof x.problem, "%s", f[0]);
    snprintf(x.optimizer, sizeof x.optimizer, "%s", f[1]);
    snprintf(x.metric, sizeof x.metric, "%s", f[2]);
    snprintf(x.other, sizeof x.other, "%s", f[6]);
    dob_an_baseline *v = realloc(c->b->b, sizeof *v * (size_t)(c->b->n + 1));
    if (!v) return DOB_FAIL(DOB_ENOMEM, "out of memory");
    c->b->b = v;
    v[c->b->n++] = x;
    return DOB_OK;
}

dob_status dob_an_baselines_parse(const char *text, const char *name, dob_an_baselines *out) {
    memset(out, 0, sizeof *out);
    base_ctx c = {out, name};
    dob_status st = each_row(text, name, "problem,optimizer,metric,performance,speed,learning_rate,other_hyperparameters",
                              7, base_row, &c);
    if (st != DOB_OK) dob_an_baselines_free(out);
    return st;
}

void dob_an_baselines_free(dob_an_baselines *b) {
    if (!b) return;
    free(b->b);
    memset(b, 0, sizeof *b);
}
