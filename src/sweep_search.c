/* sweep_search.c: random search in a sweep (distributions, samples from the counter RNG) and the sweep_spec, the
 * one text from which a sweep's trial list is expanded (syntax, sampling rule and order in include/dob/sweep.h).
 *
 * Invariants: a sample is a pure function of (sample seed, sample index, hyperparameter column), independent of
 * which rank, slice or process draws it; a drawn value lies in [LO, HI] and is a 10-significant-digit decimal,
 * so a last-bit difference of exp/log between two machines' libm does not reach the trial list (only a value
 * within 1e-16 of a rounding boundary could still differ); dob_sweep_spec_expand(dob_sweep_spec_make(...))
 * gives exactly the trials `dob sweep` ran, wherever it is called.
 *
 * It does not: check hyperparameter ranges (the caller does, with the optimizer's table), or know about MPI or
 * files. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dob/rng.h"
#include "dob/sweep.h"

/* ---- distributions ---------------------------------------------------------------------------------------- */
int dob_dist_is(const char *spec) {
    return spec && (!strncmp(spec, "uniform:", 8) || !strncmp(spec, "loguniform:", 11));
}

/* One finite number of a distribution, ending at ':' (want_colon) or at the end of the text. */
static dob_status dist_num(const char *flag, const char *spec, const char **p, int want_colon, double *out) {
    char *end;
    errno = 0;
    *out = strtod(*p, &end);
    const int ends_ok = want_colon ? *end == ':' : *end == '\0';
    if (end == *p || !ends_ok || errno == ERANGE || !isfinite(*out))
        return DOB_FAIL(DOB_EINVAL, "%s '%s': expected %.*s:LO:HI with finite numbers LO and HI", flag, spec,
                        (int)strcspn(spec, ":"), spec);
    *p = end + (want_colon ? 1 : 0);
    return DOB_OK;
}

dob_status dob_dist_parse(const char *flag, const char *spec, dob_dist *d) {
    dob_status st = DOB_OK;
    if (!dob_dist_is(spec))
        return DOB_FAIL(DOB_EINVAL, "%s '%s': expected uniform:LO:HI or loguniform:LO:HI", flag, spec ? spec : "");
    d->kind = spec[0] == 'l' ? DOB_DIST_LOGUNIFORM : DOB_DIST_UNIFORM;
    const char *p = strchr(spec, ':') + 1;
    DOB_TRY(dist_num(flag, spec, &p, 1, &d->lo));
    DOB_TRY(dist_num(flag, spec, &p, 0, &d->hi));
    if (d->kind == DOB_DIST_LOGUNIFORM && !(d->lo > 0 && d->lo < d->hi))
        return DOB_FAIL(DOB_EINVAL, "%s '%s': loguniform needs 0 < LO < HI, found LO %g, HI %g", flag, spec, d->lo,
                        d->hi);
    if (!(d->lo < d->hi))
        return DOB_FAIL(DOB_EINVAL, "%s '%s': uniform needs LO < HI, found LO %g, HI %g (one value is given as just "
                        "the number)", flag, spec, d->lo, d->hi);
    if (!isfinite(d->hi - d->lo))
        return DOB_FAIL(DOB_EINVAL, "%s '%s': HI - LO overflows a double", flag, spec);
fail:
    return st;
}

double dob_dist_sample(const dob_dist *d, uint64_t sample_seed, int64_t sample, int col) {
    const dob_rng r = {.seed = sample_seed, .purpose = DOB_RNG_SEARCH, .stream = (uint64_t)sample};
    const double u = dob_rng_uniform_double(&r, (uint64_t)col);
    double x;
    if (d->kind == DOB_DIST_LOGUNIFORM) {
        const double a = log(d->lo), b = log(d->hi);
        x = exp(a + u * (b - a));
    } else {
        x = d->lo + u * (d->hi - d->lo);
    }
    char buf[40];
    snprintf(buf, sizeof buf, "%.10g", x);
    x = strtod(buf, NULL);
    return x < d->lo ? d->lo : x > d->hi ? d->hi : x;
}

/* ---- axes ------------------------------------------------------------------------------------------------- */
dob_status dob_axis_parse(const char *flag, const char *spec, dob_axis *a) {
    memset(a, 0, sizeof *a);
    a->is_dist = dob_dist_is(spec);
    return a->is_dist ? dob_dist_parse(flag, spec, &a->dist) : dob_grid_parse(flag, spec, &a->grid);
}

void dob_axis_free(dob_axis *a) {
    if (a) dob_grid_free(&a->grid);
}

dob_status dob_sweep_check_axes(int n, const char *const *labels, const char *const *texts, const dob_axis *axes,
                                int64_t n_samples) {
    int n_dist = 0;
    for (int k = 0; k < n; k++) {
        n_dist += axes[k].is_dist;
        if (!n_samples && axes[k].is_dist)
            return DOB_FAIL(DOB_EINVAL, "%s '%s' is a distribution: give --samples N (the number of settings to "
                            "draw), or a grid such as log:LO:HI:N", labels[k], texts[k]);
        if (n_samples && !axes[k].is_dist && axes[k].grid.n > 1)
            return DOB_FAIL(DOB_EINVAL, "%s '%s' is a grid of %d values, but --samples draws random settings: give "
                            "it one value or a distribution (uniform:LO:HI, loguniform:LO:HI)", labels[k], texts[k],
                            axes[k].grid.n);
    }
    if (n_samples && !n_dist)
        return DOB_FAIL(DOB_EINVAL, "--samples %lld draws settings from distributions, but no hyperparameter has one "
                        "(e.g. --lr loguniform:1e-5:1e-1)", (long long)n_samples);
    return DOB_OK;
}

/* ---- the sweep_spec --------------------------------------------------------------------------------------- */
dob_status dob_sweep_spec_make(int n, const char *const *names, const char *const *texts, int64_t n_samples,
                               uint64_t sample_seed, const char *seeds, char **spec) {
    size_t cap = 96 + strlen(seeds), len = 0;
    for (int k = 0; k < n; k++) cap += strlen(names[k]) + strlen(texts[k]) + 2;
    char *b = malloc(cap);
    if (!b) return DOB_FAIL(DOB_ENOMEM, "out of memory for the sweep's description");
    for (int k = 0; k < n; k++) len += (size_t)snprintf(b + len, cap - len, "%s=%s;", names[k], texts[k]);
    if (n_samples > 0)
        len += (size_t)snprintf(b + len, cap - len, "samples=%lld;sample_seed=%llu;", (long long)n_samples,
                                (unsigned long long)sample_seed);
    snprintf(b + len, cap - len, "seeds=%s", seeds);
    *spec = b;
    return DOB_OK;
}

/* The parsed entries of a spec. */
typedef struct spec_parts {
    const char *text[64];     /* per hyperparameter (NULL: missing) */
    const char *seeds, *samples, *sample_seed;
} spec_parts;

/* Split spec (a writable copy) into its entries; every entry must be known and given once. */
static dob_status spec_split(const char *spec, char *copy, int n, const char *const *names, spec_parts *p) {
    memset(p, 0, sizeof *p);
    for (char *save = NULL, *it = strtok_r(copy, ";", &save); it; it = strtok_r(NULL, ";", &save)) {
        char *eq = strchr(it, '=');
        if (!eq) return DOB_FAIL(DOB_EFORMAT, "sweep_spec '%s': entry '%s' is not NAME=VALUE", spec, it);
        *eq = '\0';
        const char **slot = !strcmp(it, "seeds") ? &p->seeds : !strcmp(it, "samples") ? &p->samples
                            : !strcmp(it, "sample_seed") ? &p->sample_seed : NULL;
        for (int k = 0; k < n && !slot; k++)
            if (!strcmp(it, names[k])) slot = &p->text[k];
        if (!slot)
            return DOB_FAIL(DOB_EFORMAT, "sweep_spec '%s': unknown entry '%s' (not a hyperparameter of this sweep; "
                            "written by a newer dob?)", spec, it);
        if (*slot) return DOB_FAIL(DOB_EFORMAT, "sweep_spec '%s': '%s' is given twice", spec, it);
        *slot = eq + 1;
    }
    for (int k = 0; k < n; k++)
        if (!p->text[k]) return DOB_FAIL(DOB_EFORMAT, "sweep_spec '%s' has no grid for %s", spec, names[k]);
    if (!p->seeds) return DOB_FAIL(DOB_EFORMAT, "sweep_spec '%s' has no seeds", spec);
    if (!p->samples != !p->sample_seed)
        return DOB_FAIL(DOB_EFORMAT, "sweep_spec '%s': samples and sample_seed go together", spec);
    return DOB_OK;
}

/* "samples" and "sample_seed" of a random-search spec. */
static dob_status spec_samples(const char *spec, const spec_parts *p, int64_t *n_samples, uint64_t *seed) {
    char *e1 = NULL, *e2 = NULL;
    *n_samples = 0;
    *seed = 0;
    if (!p->samples) return DOB_OK;
    errno = 0;
    long long n = strtoll(p->samples, &e1, 10);
    unsigned long long s = strtoull(p->sample_seed, &e2, 10);
    if (!*p->samples || *e1 || n < 1 || n > DOB_GRID_MAX_VALUES || !*p->sample_seed || *e2 ||
        p->sample_seed[0] == '-' || errno == ERANGE)
        return DOB_FAIL(DOB_EFORMAT, "sweep_spec '%s': expected samples in [1, %d] and sample_seed >= 0, found '%s' "
                        "and '%s'", spec, DOB_GRID_MAX_VALUES, p->samples, p->sample_seed);
    *n_samples = n;
    *seed = s;
    return DOB_OK;
}

/* The axes as grids (a grid sweep). */
static dob_status expand_grids(int n, const dob_axis *axes, const int64_t *sv, int ns, double **hp,
                               int64_t **seed, int64_t *n_trials) {
    dob_grid g[64];
    for (int k = 0; k < n; k++) g[k] = axes[k].grid;
    return dob_sweep_expand(n, g, sv, ns, hp, seed, n_trials);
}

dob_status dob_sweep_spec_expand(const char *spec, int n, const char *const *names, double **hp, int64_t **seed,
                                 int64_t *n_trials) {
    dob_status st = DOB_OK;
    dob_axis axes[64];
    spec_parts p;
    int64_t *sv = NULL, n_samples = 0;
    uint64_t sample_seed = 0;
    int ns = 0;
    memset(axes, 0, sizeof axes);
    *hp = NULL;
    *seed = NULL;
    *n_trials = 0;
    if (n < 1 || n > 64) return DOB_FAIL(DOB_EFORMAT, "sweep_spec: %d hyperparameters (expected 1..64)", n);
    char *copy = strdup(spec ? spec : "");
    if (!copy) return DOB_FAIL(DOB_ENOMEM, "out of memory");
    DOB_TRY(spec_split(spec ? spec : "", copy, n, names, &p));
    DOB_TRY(spec_samples(spec, &p, &n_samples, &sample_seed));
    for (int k = 0; k < n; k++) DOB_TRY(dob_axis_parse(names[k], p.text[k], &axes[k]));
    DOB_TRY(dob_sweep_check_axes(n, names, p.text, axes, n_samples));
    DOB_TRY(dob_seeds_parse("seeds", p.seeds, &sv, &ns));
    if (n_samples) DOB_TRY(dob_sweep_expand_samples(n, axes, n_samples, sample_seed, sv, ns, hp, seed, n_trials));
    else DOB_TRY(expand_grids(n, axes, sv, ns, hp, seed, n_trials));
fail:
    for (int k = 0; k < n; k++) dob_axis_free(&axes[k]);
    free(sv);
    free(copy);
    return st;
}
