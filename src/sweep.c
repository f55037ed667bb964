/* sweep.c: grids, seed lists, trial expansion and slicing of a sweep (syntax and order in include/dob/sweep.h).
 *
 * Invariants: a parsed grid has 1..DOB_GRID_MAX_VALUES finite values without duplicates; grid endpoints are
 * exact (the k-th value is computed from the endpoints as a weighted mean, not by accumulating a step, so
 * log:1e-5:1e2:36 gives exactly 1e-4 at k = 5); expansion order and slice bounds depend only on the inputs, so
 * every rank and every job-array task computes the same trial ids.
 *
 * Random search expands here too (dob_sweep_expand_samples); its distributions, sampling rule and the
 * sweep_spec are src/sweep_search.c.
 *
 * It does not: check hyperparameter ranges (dob_optim_check does, per trial), know about MPI, files or the
 * environment (the caller passes getenv strings to dob_sweep_slurm_slice). */
#include "dob/sweep.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- numbers ---------------------------------------------------------------------------------------------- */
static dob_status parse_num(const char *flag, const char *spec, const char *tok, double *out) {
    char *end;
    errno = 0;
    double v = strtod(tok, &end);
    if (!*tok || *end || errno == ERANGE || !isfinite(v))
        return DOB_FAIL(DOB_EINVAL, "%s '%s': expected a finite number, found '%s'", flag, spec, tok);
    *out = v;
    return DOB_OK;
}

static dob_status parse_i64(const char *flag, const char *spec, const char *tok, int64_t *out) {
    char *end;
    errno = 0;
    long long v = strtoll(tok, &end, 10);
    if (!*tok || *end || errno == ERANGE)
        return DOB_FAIL(DOB_EINVAL, "%s '%s': expected an integer, found '%s'", flag, spec, tok);
    *out = (int64_t)v;
    return DOB_OK;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}
static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Split a copy of s at `sep`; *tok gets up to max pointers into *buf (free it). @return the token count, -1 if
 * there are more than max tokens or memory is short. Empty tokens are kept (and rejected by the parsers). */
static int split(const char *s, char sep, char **buf, char **tok, int max) {
    *buf = strdup(s);
    if (!*buf) return -1;
    int n = 0;
    char *p = *buf;
    for (;;) {
        if (n == max) return -1;
        tok[n++] = p;
        char *q = strchr(p, sep);
        if (!q) break;
        *q = '\0';
        p = q + 1;
    }
    return n;
}

/* ---- grids ------------------------------------------------------------------------------------------------ */
void dob_grid_free(dob_grid *g) {
    if (!g) return;
    free(g->v);
    g->v = NULL;
    g->n = 0;
}

dob_status dob_grid_single(double v, dob_grid *g) {
    g->n = 0;
    g->v = malloc(sizeof(double));
    if (!g->v) return DOB_FAIL(DOB_ENOMEM, "out of memory");
    g->v[0] = v;
    g->n = 1;
    return DOB_OK;
}

/* "log:LO:HI:N" / "lin:LO:HI:N" */
static dob_status parse_range_grid(const char *flag, const char *spec, int is_log, dob_grid *g) {
    dob_status st = DOB_OK;
    char *buf = NULL, *tok[5];
    int nt = split(spec, ':', &buf, tok, 5);
    double lo = 0, hi = 0;
    int64_t n = 0;
    if (nt != 4) {
        st = DOB_FAIL(DOB_EINVAL, "%s '%s': expected %s:LO:HI:N (N values from LO to HI), found %s%d field%s",
                      flag, spec, is_log ? "log" : "lin", nt < 0 ? "more than " : "", nt < 0 ? 4 : nt,
                      nt == 1 ? "" : "s");
        goto fail;
    }
    DOB_TRY(parse_num(flag, spec, tok[1], &lo));
    DOB_TRY(parse_num(flag, spec, tok[2], &hi));
    DOB_TRY(parse_i64(flag, spec, tok[3], &n));
    if (n < 2 || n > DOB_GRID_MAX_VALUES) {
        st = DOB_FAIL(DOB_EINVAL, "%s '%s': expected N in [2, %d] values, found %lld (give a single value as just "
                                  "the number)",
                      flag, spec, DOB_GRID_MAX_VALUES, (long long)n);
        goto fail;
    }
    if (!(lo < hi)) {
        st = DOB_FAIL(DOB_EINVAL, "%s '%s': expected LO < HI, found LO %g, HI %g", flag, spec, lo, hi);
        goto fail;
    }
    if (is_log && !(lo > 0)) {
        st = DOB_FAIL(DOB_EINVAL, "%s '%s': a log grid needs 0 < LO < HI, found LO %g", flag, spec, lo);
        goto fail;
    }
    g->v = malloc(sizeof(double) * (size_t)n);
    if (!g->v) {
        st = DOB_FAIL(DOB_ENOMEM, "out of memory");
        goto fail;
    }
    double a = is_log ? log10(lo) : lo, b = is_log ? log10(hi) : hi, m = (double)(n - 1);
    for (int64_t k = 0; k < n; k++) {
        double x = (a * (m - (double)k) + b * (double)k) / m;
        g->v[k] = is_log ? pow(10.0, x) : x;
    }
    /* the ends exactly as given (log10/pow may be off by an ulp) */
    g->v[0] = lo;
    g->v[n - 1] = hi;
    g->n = (int)n;
fail:
    free(buf);
    return st;
}

dob_status dob_grid_parse(const char *flag, const char *spec, dob_grid *g) {
    dob_status st = DOB_OK;
    g->n = 0;
    g->v = NULL;
    if (!spec || !*spec) return DOB_FAIL(DOB_EINVAL, "%s: expected a value or a grid, found an empty string", flag);
    if (!strncmp(spec, "log:", 4) || !strncmp(spec, "lin:", 4)) {
        st = parse_range_grid(flag, spec, spec[1] == 'o', g);
        if (st != DOB_OK) dob_grid_free(g);
        return st;
    }
    if (strchr(spec, ':'))
        return DOB_FAIL(DOB_EINVAL, "%s '%s': expected log:LO:HI:N, lin:LO:HI:N, a list A,B,C or one number", flag,
                        spec);
    char *buf = NULL, **tok = malloc(sizeof(char *) * DOB_GRID_MAX_VALUES);
    double *sorted = NULL;
    if (!tok) return DOB_FAIL(DOB_ENOMEM, "out of memory");
    int n = split(spec, ',', &buf, tok, DOB_GRID_MAX_VALUES);
    if (n < 0) {
        st = buf ? DOB_FAIL(DOB_EINVAL, "%s: more than %d values", flag, DOB_GRID_MAX_VALUES)
                 : DOB_FAIL(DOB_ENOMEM, "out of memory");
        goto fail;
    }
    g->v = malloc(sizeof(double) * (size_t)n);
    sorted = malloc(sizeof(double) * (size_t)n);
    if (!g->v || !sorted) {
        st = DOB_FAIL(DOB_ENOMEM, "out of memory");
        goto fail;
    }
    for (int i = 0; i < n; i++) DOB_TRY(parse_num(flag, spec, tok[i], &g->v[i]));
    memcpy(sorted, g->v, sizeof(double) * (size_t)n);
    qsort(sorted, (size_t)n, sizeof(double), cmp_double);
    for (int i = 1; i < n; i++)
        if (sorted[i] == sorted[i - 1]) {
            st = DOB_FAIL(DOB_EINVAL, "%s '%s': expected distinct values, found %g twice", flag, spec, sorted[i]);
            goto fail;
        }
    g->n = n;
fail:
    if (st != DOB_OK) dob_grid_free(g);
    free(sorted);
    free(buf);
    free(tok);
    return st;
}

/* ---- seeds ------------------------------------------------------------------------------------------------ */
dob_status dob_seeds_parse(const char *flag, const char *spec, int64_t **seeds, int *n) {
    dob_status st = DOB_OK;
    char *buf = NULL, **tok = NULL;
    int64_t *v = NULL, *sorted = NULL;
    int nv = 0;
    *seeds = NULL;
    *n = 0;
    if (!spec || !*spec) return DOB_FAIL(DOB_EINVAL, "%s: expected seeds A:B, A,B,C or A, found an empty string", flag);
    if (strchr(spec, ':')) {
        char *t2[3];
        int nt = split(spec, ':', &buf, t2, 3);
        int64_t a = 0, b = 0;
        if (nt != 2) {
            st = DOB_FAIL(DOB_EINVAL, "%s '%s': expected A:B (an inclusive range), A,B,C or A", flag, spec);
            goto fail;
        }
        DOB_TRY(parse_i64(flag, spec, t2[0], &a));
        DOB_TRY(parse_i64(flag, spec, t2[1], &b));
        if (a < 0 || b < a || b - a >= DOB_GRID_MAX_VALUES) {
            st = DOB_FAIL(DOB_EINVAL, "%s '%s': expected 0 <= A <= B with at most %d seeds, found A %lld, B %lld",
                          flag, spec, DOB_GRID_MAX_VALUES, (long long)a, (long long)b);
            goto fail;
        }
        nv = (int)(b - a + 1);
        if (!(v = malloc(sizeof(int64_t) * (size_t)nv))) goto nomem;
        for (int i = 0; i < nv; i++) v[i] = a + i;
    } else {
        if (!(tok = malloc(sizeof(char *) * DOB_GRID_MAX_VALUES))) goto nomem;
        nv = split(spec, ',', &buf, tok, DOB_GRID_MAX_VALUES);
        if (nv < 0) {
            if (!buf) goto nomem;
            st = DOB_FAIL(DOB_EINVAL, "%s: more than %d seeds", flag, DOB_GRID_MAX_VALUES);
            goto fail;
        }
        if (!(v = malloc(sizeof(int64_t) * (size_t)nv)) || !(sorted = malloc(sizeof(int64_t) * (size_t)nv)))
            goto nomem;
        for (int i = 0; i < nv; i++) {
            DOB_TRY(parse_i64(flag, spec, tok[i], &v[i]));
            if (v[i] < 0) {
                st = DOB_FAIL(DOB_EINVAL, "%s '%s': expected seeds >= 0, found %lld", flag, spec, (long long)v[i]);
                goto fail;
            }
        }
        memcpy(sorted, v, sizeof(int64_t) * (size_t)nv);
        qsort(sorted, (size_t)nv, sizeof(int64_t), cmp_i64);
        for (int i = 1; i < nv; i++)
            if (sorted[i] == sorted[i - 1]) {
                st = DOB_FAIL(DOB_EINVAL, "%s '%s': expected distinct seeds, found %lld twice", flag, spec,
                              (long long)sorted[i]);
                goto fail;
            }
    }
    *seeds = v;
    *n = nv;
    v = NULL;
    goto fail;
nomem:
    st = DOB_FAIL(DOB_ENOMEM, "out of memory");
fail:
    free(v);
    free(sorted);
    free(buf);
    free(tok);
    return st;
}

/* ---- expansion and slices --------------------------------------------------------------------------------- */
/* The trial arrays of T trials with nh hyperparameters each. */
static dob_status alloc_trials(int64_t T, size_t nh, double **h, int64_t **s) {
    *h = malloc(sizeof(double) * (size_t)T * nh);
    *s = malloc(sizeof(int64_t) * (size_t)T);
    if (*h && *s) return DOB_OK;
    free(*h);
    free(*s);
    *h = NULL;
    *s = NULL;
    return DOB_FAIL(DOB_ENOMEM, "sweep: out of memory for %lld trials", (long long)T);
}

dob_status dob_sweep_expand(int n_grids, const dob_grid *grids, const int64_t *seeds, int n_seeds, double **hp,
                            int64_t **seed, int64_t *n_trials) {
    *hp = NULL;
    *seed = NULL;
    *n_trials = 0;
    if (n_grids < 0 || n_seeds < 1)
        return DOB_FAIL(DOB_EINVAL, "sweep: expected >= 0 grids and >= 1 seed, found %d and %d", n_grids, n_seeds);
    int64_t settings = 1;
    for (int i = 0; i < n_grids; i++) {
        if (grids[i].n < 1) return DOB_FAIL(DOB_EINVAL, "sweep: grid %d is empty", i);
        settings *= grids[i].n;
        if (settings * n_seeds > DOB_SWEEP_MAX_TRIALS) break;
    }
    if (settings * n_seeds > DOB_SWEEP_MAX_TRIALS)
        return DOB_FAIL(DOB_EINVAL, "sweep: expected at most %d trials, the grids and seeds give more",
                        DOB_SWEEP_MAX_TRIALS);
    int64_t T = settings * n_seeds;
    size_t nh = n_grids > 0 ? (size_t)n_grids : 1;
    double *h = NULL;
    int64_t *s = NULL;
    dob_status st = alloc_trials(T, nh, &h, &s);
    if (st != DOB_OK) return st;
    for (int64_t t = 0; t < T; t++) {
        int64_t setting = t / n_seeds;
        s[t] = seeds[t % n_seeds];
        /* mixed radix, last grid fastest */
        for (int i = n_grids - 1; i >= 0; i--) {
            h[(size_t)t * nh + (size_t)i] = grids[i].v[setting % grids[i].n];
            setting /= grids[i].n;
        }
    }
    *hp = h;
    *seed = s;
    *n_trials = T;
    return DOB_OK;
}

dob_status dob_sweep_expand_samples(int n_axes, const dob_axis *axes, int64_t n_samples, uint64_t sample_seed,
                                    const int64_t *seeds, int n_seeds, double **hp, int64_t **seed,
                                    int64_t *n_trials) {
    *hp = NULL;
    *seed = NULL;
    *n_trials = 0;
    if (n_axes < 1 || n_seeds < 1 || n_samples < 1 || n_samples > DOB_GRID_MAX_VALUES)
        return DOB_FAIL(DOB_EINVAL, "sweep: expected >= 1 hyperparameter, >= 1 seed and 1..%d samples, found %d, %d "
                        "and %lld", DOB_GRID_MAX_VALUES, n_axes, n_seeds, (long long)n_samples);
    if (n_samples * n_seeds > DOB_SWEEP_MAX_TRIALS)
        return DOB_FAIL(DOB_EINVAL, "sweep: expected at most %d trials, %lld samples x %d seeds give more",
                        DOB_SWEEP_MAX_TRIALS, (long long)n_samples, n_seeds);
    const int64_t T = n_samples * n_seeds;
    double *h = NULL;
    int64_t *s = NULL;
    dob_status st = alloc_trials(T, (size_t)n_axes, &h, &s);
    if (st != DOB_OK) return st;
    for (int64_t t = 0; t < T; t++) {
        const int64_t sample = t / n_seeds;
        s[t] = seeds[t % n_seeds];
        for (int k = 0; k < n_axes; k++)
            h[(size_t)t * (size_t)n_axes + (size_t)k] =
                axes[k].is_dist ? dob_dist_sample(&axes[k].dist, sample_seed, sample, k) : axes[k].grid.v[0];
    }
    *hp = h;
    *seed = s;
    *n_trials = T;
    return DOB_OK;
}

dob_status dob_sweep_slice(int64_t n_trials, int id, int count, int64_t *first, int64_t *end) {
    if (count < 1 || id < 0 || id >= count)
        return DOB_FAIL(DOB_EINVAL, "sweep slice: expected 0 <= id < count, found id %d, count %d", id, count);
    if (n_trials < 0) return DOB_FAIL(DOB_EINVAL, "sweep slice: negative trial count %lld", (long long)n_trials);
    *first = n_trials * id / count;
    *end = n_trials * (id + 1) / count;
    return DOB_OK;
}

dob_status dob_sweep_parse_range(const char *flag, const char *spec, int64_t n_trials, int64_t *first,
                                 int64_t *end) {
    dob_status st = DOB_OK;
    char *buf = NULL, *tok[3];
    int64_t a = 0, b = 0;
    int nt = split(spec ? spec : "", ':', &buf, tok, 3);
    if (nt < 1 || nt > 2) {
        st = DOB_FAIL(DOB_EINVAL, "%s '%s': expected A:B (inclusive trial ids) or A", flag, spec ? spec : "");
        goto fail;
    }
    DOB_TRY(parse_i64(flag, spec, tok[0], &a));
    b = a;
    if (nt == 2) DOB_TRY(parse_i64(flag, spec, tok[1], &b));
    if (a < 0 || b < a || b >= n_trials) {
        st = DOB_FAIL(DOB_EINVAL, "%s '%s': expected trial ids 0 <= A <= B <= %lld (the sweep has %lld trials)",
                      flag, spec, (long long)n_trials - 1, (long long)n_trials);
        goto fail;
    }
    *first = a;
    *end = b + 1;
fail:
    free(buf);
    return st;
}

static dob_status env_int(const char *name, const char *s, int64_t lo, int *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || errno == ERANGE || v < lo || v > 1000000000)
        return DOB_FAIL(DOB_EINVAL, "%s: expected an integer >= %lld, found '%s'", name, (long long)lo, s);
    *out = (int)v;
    return DOB_OK;
}

dob_status dob_sweep_slurm_slice(const char *task_id, const char *task_count, const char *task_min, int *have,
                                 int *id, int *count) {
    dob_status st = DOB_OK;
    int tid = 0, tmin = 0, cnt = 0;
    *have = 0;
    if (!task_id || !*task_id) return DOB_OK;
    DOB_TRY(env_int("SLURM_ARRAY_TASK_ID", task_id, 0, &tid));
    if (!task_count || !*task_count)
        return DOB_FAIL(DOB_EINVAL, "SLURM_ARRAY_TASK_ID is %s but SLURM_ARRAY_TASK_COUNT is not set: cannot "
                                    "choose a slice (give --trials A:B)", task_id);
    DOB_TRY(env_int("SLURM_ARRAY_TASK_COUNT", task_count, 1, &cnt));
    if (task_min && *task_min) DOB_TRY(env_int("SLURM_ARRAY_TASK_MIN", task_min, 0, &tmin));
    if (tid - tmin < 0 || tid - tmin >= cnt)
        return DOB_FAIL(DOB_EINVAL, "job array: expected SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN in [0, %d), "
                                    "found %d - %d (use a contiguous --array=0-%d, or give --trials A:B)",
                        cnt, tid, tmin, cnt - 1);
    *have = 1;
    *id = tid - tmin;
    *count = cnt;
fail:
    return st;
}

dob_status dob_sweep_slice_path(const char *path, int id, char *out, size_t cap) {
    size_t l = strlen(path);
    int n;
    if (l > 3 && !strcmp(path + l - 3, ".h5"))
        n = snprintf(out, cap, "%.*s.slice%d.h5", (int)(l - 3), path, id);
    else
        n = snprintf(out, cap, "%s.slice%d", path, id);
    if (n < 0 || (size_t)n >= cap)
        return DOB_FAIL(DOB_EINVAL, "slice file name of '%s' longer than %zu bytes", path, cap - 1);
    return DOB_OK;
}
