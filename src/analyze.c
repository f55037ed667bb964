/* analyze.c: DeepOBS's analyzer as pure computation (dob/analyze.h): run records and their setting keys,
 * grouping problem -> optimizer -> setting, per-epoch aggregates, ranking, performance and speed.
 *
 * Invariants: the settings of dob_analysis are sorted by (problem, optimizer, setting key), so a group's settings
 * are contiguous and ties in the ranking keep the key order (DeepOBS 1.2 sorts its setting folders by name, then
 * sorts stably). A diverged run's values from its first non-finite evaluation on read as its epoch-0 values
 * (DeepOBS 1.2's _abort_routine); nothing is copied for that, value() does it.
 *
 * It does not: read files (io/analyze_read.c), render tables (analyze_table.c) or decide which runs to load. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dob/analyze.h"

/* ---- run records ------------------------------------------------------------------------------------------ */
void dob_an_run_free(dob_an_run *r) {
    if (!r) return;
    for (int k = 0; k < r->n_hp; k++) {
        free(r->hp_names ? r->hp_names[k] : NULL);
        free(r->hp_text ? r->hp_text[k] : NULL);
    }
    free(r->hp_names);
    free(r->hp_text);
    free(r->hp);
    for (int c = 0; c < DOB_AN_N_CURVES; c++) free(r->curve[c]);
    free(r->problem);
    free(r->optimizer);
    free(r->source);
    free(r->folder);
    free(r->extra);
    free(r->setting);
    free(r->hp_show);
    memset(r, 0, sizeof *r);
}

void dob_an_runs_free(dob_an_runs *rs) {
    if (!rs) return;
    for (int i = 0; i < rs->n; i++) dob_an_run_free(&rs->r[i]);
    free(rs->r);
    memset(rs, 0, sizeof *rs);
}

dob_status dob_an_runs_push(dob_an_runs *rs, dob_an_run *r) {
    if (rs->n == rs->cap) {
        int cap = rs->cap ? 2 * rs->cap : 64;
        dob_an_run *v = realloc(rs->r, sizeof *v * (size_t)cap);
        if (!v) {
            dob_an_run_free(r);
            return DOB_FAIL(DOB_ENOMEM, "out of memory for %d runs", cap);
        }
        rs->r = v;
        rs->cap = cap;
    }
    rs->r[rs->n++] = *r;
    memset(r, 0, sizeof *r);
    return DOB_OK;
}

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

dob_status dob_an_run_set_hp(dob_an_run *r, int n, const char *const *names, const char *const *text,
                             const double *v) {
    r->hp_names = calloc((size_t)n + 1, sizeof(char *));
    r->hp_text = calloc((size_t)n + 1, sizeof(char *));
    r->hp = calloc((size_t)n + 1, sizeof(double));
    if (!r->hp_names || !r->hp_text || !r->hp) return DOB_FAIL(DOB_ENOMEM, "out of memory");
    r->n_hp = n;
    for (int k = 0; k < n; k++) {
        /* PyTorch's DeepOBS calls the learning rate lr, TensorFlow's and dob's learning_rate */
        r->hp_names[k] = strdup(!strcmp(names[k], "lr") ? "learning_rate" : names[k]);
        r->hp_text[k] = dup_or_null(text[k]);
        r->hp[k] = v[k];
        if (!r->hp_names[k] || !r->hp_text[k]) return DOB_FAIL(DOB_ENOMEM, "out of memory");
    }
    return DOB_OK;
}

void dob_an_float2str(double x, char *buf, int cap) {
    char s[64];
    snprintf(s, sizeof s, "%.10e", x);
    char *e = strchr(s, 'e');
    if (!e) {
        snprintf(buf, (size_t)cap, "%s", s);
        return;
    }
    char *m = e;
    while (m > s && m[-1] == '0') m--;
    snprintf(buf, (size_t)cap, "%.*s%s", (int)(m - s), s, e);
}

/* Hyperparameter indices sorted by name (insertion sort: a handful of names). */
static void sort_hp(const dob_an_run *r, int *idx) {
    for (int k = 0; k < r->n_hp; k++) {
        int j = k;
        while (j > 0 && strcmp(r->hp_names[idx[j - 1]], r->hp_names[k]) > 0) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = k;
    }
}

/* Append printf output to a malloc'd string of length *n (capacity *cap). */
static int cat(char **s, size_t *n, size_t *cap, const char *fmt, const char *a, const char *b) {
    size_t need = strlen(fmt) + strlen(a) + strlen(b) + 1;
    if (*n + need > *cap) {
        size_t c = 2 * (*cap + need);
        char *t = realloc(*s, c);
        if (!t) return 0;
        *s = t;
        *cap = c;
    }
    *n += (size_t)snprintf(*s + *n, *cap - *n, fmt, a, b);
    return 1;
}

dob_status dob_an_run_finish(dob_an_run *r) {
    int idx[64];
    if (r->n_hp > 64) return DOB_FAIL(DOB_EFORMAT, "%s: %d hyperparameters (at most 64)", r->source, r->n_hp);
    sort_hp(r, idx);
    char head[96];
    snprintf(head, sizeof head, "num_epochs__%lld__batch_size__%lld", (long long)r->num_epochs,
             (long long)r->batch_size);
    size_t n = 0, cap = 0, m = 0, mcap = 0;
    char *key = NULL, *show = NULL;
    int ok = cat(&key, &n, &cap, "%s%s", head, "");
    if (r->extra && r->extra[0]) ok &= cat(&key, &n, &cap, "__%s%s", r->extra, "");
    for (int j = 0; j < r->n_hp && ok; j++) ok &= cat(&key, &n, &cap, "__%s__%s", r->hp_names[idx[j]], r->hp_text[idx[j]]);
    /* tuneability: the learning rate first, as DeepOBS 1.1's table ({:0.2e}), then the others by name */
    for (int j = 0; j < r->n_hp && ok; j++) {
        if (strcmp(r->hp_names[j], "learning_rate")) continue;
        char v[48];
        if (isfinite(r->hp[j])) snprintf(v, sizeof v, "%.2e", r->hp[j]);
        else snprintf(v, sizeof v, "%s", r->hp_text[j]);
        ok &= cat(&show, &m, &mcap, "lr %s%s", v, "");
    }
    for (int j = 0; j < r->n_hp && ok; j++) {
        const int k = idx[j];
        if (!strcmp(r->hp_names[k], "learning_rate")) continue;
        char v[48];
        if (isfinite(r->hp[k])) snprintf(v, sizeof v, "%g", r->hp[k]);
        else snprintf(v, sizeof v, "%.40s", r->hp_text[k]);
        ok &= cat(&show, &m, &mcap, m ? ", %s %s" : "%s %s", r->hp_names[k], v);
    }
    if (ok && !show) ok = cat(&show, &m, &mcap, "%s%s", "(none)", "");
    if (!ok) {
        free(key);
        free(show);
        return DOB_FAIL(DOB_ENOMEM, "out of memory");
    }
    free(r->setting);
    free(r->hp_show);
    r->setting = key;
    r->hp_show = show;
    return DOB_OK;
}

/* ---- values of a run -------------------------------------------------------------------------------------- */
/* The first evaluation at which some recorded curve of r is not finite (len if none). */
static int64_t first_bad(const dob_an_run *r, int64_t len) {
    for (int64_t i = 0; i < len; i++)
        for (int c = 0; c < DOB_AN_N_CURVES; c++)
            if (r->curve[c] && !isfinite(r->curve[c][i])) return i;
    return len;
}

/* Curve c of r at epoch i, a diverged run padded with its epoch-0 values from bad on. */
static double value(const dob_an_run *r, int c, int64_t i, int64_t bad) {
    if (r->status == DOB_TRIAL_DIVERGED && i >= bad) return r->curve[c][0];
    return r->curve[c][i];
}

double dob_an_run_value(const dob_an_run *r, dob_curve c, int64_t i, int64_t len) {
    if (!r->curve[c] || i < 0 || i >= len) return NAN;
    return value(r, (int)c, i, first_bad(r, len));
}

static int usable(const dob_an_run *r) { return r->status == DOB_TRIAL_DONE || r->status == DOB_TRIAL_DIVERGED; }

int dob_an_higher_better(dob_curve c) { return (dob_curves[c].flags & DOB_CURVE_ACC) != 0; }

int dob_an_curve_index(const char *name) {
    for (int c = 0; c < DOB_AN_N_CURVES; c++)
        if (!strcmp(dob_curves[c].name, name)) return c;
    return -1;
}

/* ---- per-epoch statistics (numpy's definitions) ----------------------------------------------------------- */
static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* numpy.quantile, method 'linear', of sorted x[0..n): numpy's _lerp, exact at the ends. */
static double quantile(const double *x, int n, double q) {
    double pos = q * (double)(n - 1);
    int lo = (int)floor(pos);
    if (lo >= n - 1) return x[n - 1];
    double t = pos - (double)lo, a = x[lo], b = x[lo + 1], d = b - a;
    return t >= 0.5 ? b - d * (1.0 - t) : a + d * t;
}

/* The aggregates of one epoch over n values (NaN everywhere if one is NaN, as numpy). */
static void epoch_stats(double *x, int n, dob_an_stats *s, int64_t i) {
    double sum = 0;
    int nan = 0;
    for (int j = 0; j < n; j++) {
        sum += x[j];
        nan |= isnan(x[j]);
    }
    if (nan) {
        s->mean[i] = s->std[i] = s->median[i] = s->q25[i] = s->q75[i] = NAN;
        return;
    }
    double mean = sum / (double)n, ss = 0;
    for (int j = 0; j < n; j++) ss += (x[j] - mean) * (x[j] - mean);
    s->mean[i] = mean;
    s->std[i] = sqrt(ss / (double)n);
    qsort(x, (size_t)n, sizeof *x, cmp_double);
    s->median[i] = quantile(x, n, 0.5);
    s->q25[i] = quantile(x, n, 0.25);
    s->q75[i] = quantile(x, n, 0.75);
}

static void stats_free(dob_an_stats *s) {
    free(s->mean);
    free(s->std);
    free(s->median);
    free(s->q25);
    free(s->q75);
    memset(s, 0, sizeof *s);
}

/* Aggregate curve c over the usable runs u[0..nu) of a setting of len epochs. */
static dob_status aggregate_curve(const dob_an_runs *rs, const int *u, int nu, int c, int64_t len, double *buf,
                                  dob_an_stats *s) {
    double **f[5] = {&s->mean, &s->std, &s->median, &s->q25, &s->q75};
    for (int k = 0; k < 5; k++)
        if (!(*f[k] = malloc(sizeof(double) * (size_t)len))) return DOB_FAIL(DOB_ENOMEM, "out of memory");
    for (int64_t i = 0; i < len; i++) {
        for (int j = 0; j < nu; j++) {
            const dob_an_run *r = &rs->r[u[j]];
            buf[j] = value(r, c, i, first_bad(r, len));
        }
        epoch_stats(buf, nu, s, i);
    }
    return DOB_OK;
}

static dob_status aggregate_setting(const dob_an_runs *rs, dob_an_setting *s) {
    dob_status st = DOB_OK;
    int *u = malloc(sizeof(int) * (size_t)(s->n_all + 1));
    double *buf = malloc(sizeof(double) * (size_t)(s->n_all + 1));
    if (!u || !buf) {
        st = DOB_FAIL(DOB_ENOMEM, "out of memory");
        goto fail;
    }
    s->len = s->run0->num_epochs + 1;
    for (int j = 0; j < s->n_all; j++) {
        const dob_an_run *r = &rs->r[s->runs[j]];
        if (usable(r)) u[s->n_runs++] = s->runs[j];
        s->n_diverged += r->status == DOB_TRIAL_DIVERGED;
        s->n_failed += r->status == DOB_TRIAL_FAILED;
        s->n_unfinished += r->status == DOB_TRIAL_PENDING || r->status == DOB_TRIAL_RUNNING;
    }
    for (int c = 0; c < DOB_AN_N_CURVES; c++) {
        s->has[c] = s->n_runs > 0;
        for (int j = 0; j < s->n_runs; j++) s->has[c] &= rs->r[u[j]].curve[c] != NULL;
        if (s->has[c]) DOB_TRY(aggregate_curve(rs, u, s->n_runs, c, s->len, buf, &s->st[c]));
    }
fail:
    free(u);
    free(buf);
    return st;
}

/* ---- grouping --------------------------------------------------------------------------------------------- */
/* DeepOBS's baselines first (1.1's table order: SGD, Momentum, Adam), then by name. */
static int opt_class(const char *o) {
    static const char *const names[3][3] = {{"sgd", "GradientDescentOptimizer", "SGD"},
                                            {"momentum", "MomentumOptimizer", "Momentum"},
                                            {"adam", "AdamOptimizer", "Adam"}};
    for (int k = 0; k < 3; k++)
        for (int j = 0; j < 3; j++)
            if (!strcmp(o, names[k][j])) return k;
    return 3;
}

static const dob_an_runs *sort_runs_; /* qsort has no context in C11; analysis is single-threaded */
static int cmp_run(const void *a, const void *b) {
    const dob_an_run *x = &sort_runs_->r[*(const int *)a], *y = &sort_runs_->r[*(const int *)b];
    int d = strcmp(x->problem, y->problem);
    if (!d) d = opt_class(x->optimizer) - opt_class(y->optimizer);
    if (!d) d = strcmp(x->optimizer, y->optimizer);
    if (!d) d = strcmp(x->setting, y->setting);
    if (!d) d = (x->seed > y->seed) - (x->seed < y->seed);
    if (!d) d = *(const int *)a - *(const int *)b;
    return d;
}

static int same_group(const dob_an_run *x, const dob_an_run *y) {
    return !strcmp(x->problem, y->problem) && !strcmp(x->optimizer, y->optimizer);
}

/* Split the sorted run indices into settings and groups. */
static dob_status build_sets(const dob_an_runs *rs, int *ord, dob_analysis *a) {
    a->set = calloc((size_t)rs->n + 1, sizeof *a->set);
    a->grp = calloc((size_t)rs->n + 1, sizeof *a->grp);
    if (!a->set || !a->grp) return DOB_FAIL(DOB_ENOMEM, "out of memory for %d runs", rs->n);
    for (int i = 0; i < rs->n;) {
        const dob_an_run *r0 = &rs->r[ord[i]];
        int j = i;
        while (j < rs->n && same_group(&rs->r[ord[j]], r0) && !strcmp(rs->r[ord[j]].setting, r0->setting)) j++;
        dob_an_setting *s = &a->set[a->n_set];
        s->run0 = r0;
        s->runs = ord + i; /* a view into ord (owned by the first setting: dob_analysis_free) */
        s->n_all = j - i;
        if (a->n_grp == 0 || !same_group(a->set[a->grp[a->n_grp - 1].first].run0, r0))
            a->grp[a->n_grp++] = (dob_an_group){.problem = r0->problem, .optimizer = r0->optimizer,
                                                 .first = a->n_set};
        a->grp[a->n_grp - 1].n++;
        a->n_set++;
        i = j;
    }
    return DOB_OK;
}

/* ---- ranking ---------------------------------------------------------------------------------------------- */
double dob_an_value(const dob_an_setting *s, dob_curve c, dob_an_mode mode) {
    if (!s->has[c] || s->n_runs == 0) return NAN;
    const double *m = s->st[c].mean;
    if (mode != DOB_AN_BEST) return m[s->len - 1];
    double best = NAN;
    for (int64_t i = 0; i < s->len; i++)
        if (isfinite(m[i]) && (isnan(best) || (dob_an_higher_better(c) ? m[i] > best : m[i] < best))) best = m[i];
    return best;
}

static int metric_everywhere(const dob_analysis *a, const dob_an_group *g, dob_curve c) {
    int any = 0;
    for (int k = g->first; k < g->first + g->n; k++) {
        if (a->set[k].n_runs == 0) continue;
        if (!a->set[k].has[c]) return 0;
        any = 1;
    }
    return any;
}

typedef struct rkey {
    int set, n_runs;
    double v;
} rkey;

/* Ascending by value (the sign makes accuracies descend), NaN last; ties: setting order. */
static int cmp_value(const void *a, const void *b) {
    const rkey *x = a, *y = b;
    int nx = isnan(x->v), ny = isnan(y->v);
    if (nx != ny) return nx - ny;
    if (!nx && x->v != y->v) return x->v < y->v ? -1 : 1;
    return x->set - y->set;
}
static int cmp_runs(const void *a, const void *b) {
    const rkey *x = a, *y = b;
    if (x->n_runs != y->n_runs) return y->n_runs - x->n_runs;
    return x->set - y->set;
}

/* DeepOBS 1.2's create_setting_analyzer_ranking with its metric fallbacks. */
static dob_status rank_group(dob_analysis *a, dob_an_group *g, const dob_an_opts *o) {
    const dob_curve chain[3] = {o->metric, DOB_CURVE_VALID_LOSSES, DOB_CURVE_TEST_LOSSES};
    g->fallback = 2;
    for (int k = 0; k < 3; k++)
        if (k == 2 || metric_everywhere(a, g, chain[k])) {
            g->metric = chain[k];
            g->fallback = k;
            break;
        }
    rkey *v = malloc(sizeof *v * (size_t)(g->n + 1));
    g->rank = malloc(sizeof(int) * (size_t)(g->n + 1));
    if (!v || !g->rank) {
        free(v);
        return DOB_FAIL(DOB_ENOMEM, "out of memory");
    }
    const double sgn = dob_an_higher_better(g->metric) ? -1.0 : 1.0;
    int n = 0, all_equal = 1;
    for (int k = g->first; k < g->first + g->n; k++) {
        const dob_an_setting *s = &a->set[k];
        if (s->n_runs == 0) continue;
        v[n++] = (rkey){k, s->n_runs, sgn * dob_an_value(s, g->metric, o->mode == DOB_AN_BEST ? DOB_AN_BEST : DOB_AN_FINAL)};
        all_equal &= s->n_runs == v[0].n_runs;
    }
    g->mode = o->mode == DOB_AN_MOST && all_equal ? DOB_AN_FINAL : o->mode;
    qsort(v, (size_t)n, sizeof *v, g->mode == DOB_AN_MOST ? cmp_runs : cmp_value);
    for (int k = 0; k < n; k++) g->rank[k] = v[k].set;
    g->n_ranked = n;
    free(v);
    return DOB_OK;
}

/* Mean over the top setting's seeds of the first epoch reaching the threshold (len if never): DeepOBS's speed. */
static double speed(const dob_an_runs *rs, const dob_an_setting *s, dob_curve c, double thr) {
    if (isnan(thr)) return NAN;
    double sum = 0;
    int n = 0;
    for (int j = 0; j < s->n_all; j++) {
        const dob_an_run *r = &rs->r[s->runs[j]];
        if (!usable(r)) continue;
        int64_t bad = first_bad(r, s->len), e = s->len;
        for (int64_t i = 0; i < s->len && e == s->len; i++) {
            double x = value(r, c, i, bad);
            if (dob_an_higher_better(c) ? x >= thr : x <= thr) e = i;
        }
        sum += (double)e;
        n++;
    }
    return n ? sum / (double)n : NAN;
}

/* Performance (DeepOBS 1.2 get_performance_dictionary): test accuracy if recorded, else test loss. */
static void perform(dob_analysis *a, dob_an_group *g, const dob_an_opts *o) {
    g->performance = g->speed = NAN;
    g->perf_curve = DOB_CURVE_TEST_LOSSES;
    g->threshold = o->thr ? dob_an_threshold_of(o->thr, g->problem) : NAN;
    for (int k = g->first; k < g->first + g->n; k++) {
        g->n_runs += a->set[k].n_runs;
        g->n_diverged += a->set[k].n_diverged;
        g->n_failed += a->set[k].n_failed;
        g->n_unfinished += a->set[k].n_unfinished;
    }
    if (g->n_ranked == 0) return;
    const dob_an_setting *top = &a->set[g->rank[0]];
    if (top->has[DOB_CURVE_TEST_ACCURACIES]) g->perf_curve = DOB_CURVE_TEST_ACCURACIES;
    g->performance = dob_an_value(top, g->perf_curve, o->mode == DOB_AN_BEST ? DOB_AN_BEST : DOB_AN_FINAL);
    g->speed = speed(a->runs, top, g->perf_curve, g->threshold);
}

dob_status dob_analyze(const dob_an_runs *rs, const dob_an_opts *o, dob_analysis *a) {
    dob_status st = DOB_OK;
    memset(a, 0, sizeof *a);
    a->runs = rs;
    if (!rs || rs->n == 0) return DOB_FAIL(DOB_EINVAL, "analyze: no runs");
    int *ord = malloc(sizeof(int) * (size_t)rs->n);
    if (!ord) return DOB_FAIL(DOB_ENOMEM, "out of memory for %d runs", rs->n);
    for (int i = 0; i < rs->n; i++) ord[i] = i;
    sort_runs_ = rs;
    qsort(ord, (size_t)rs->n, sizeof *ord, cmp_run);
    st = build_sets(rs, ord, a);
    if (st != DOB_OK) {
        free(ord);
        goto fail;
    }
    for (int k = 0; k < a->n_set; k++) DOB_TRY(aggregate_setting(rs, &a->set[k]));
    for (int g = 0; g < a->n_grp; g++) {
        DOB_TRY(rank_group(a, &a->grp[g], o));
        perform(a, &a->grp[g], o);
    }
    return DOB_OK;
fail:
    dob_analysis_free(a);
    return st;
}

void dob_analysis_free(dob_analysis *a) {
    if (!a) return;
    for (int k = 0; k < a->n_set; k++)
        for (int c = 0; c < DOB_AN_N_CURVES; c++) stats_free(&a->set[k].st[c]);
    if (a->set && a->n_set) free(a->set[0].runs);
    for (int g = 0; g < a->n_grp; g++) free(a->grp[g].rank);
    free(a->set);
    free(a->grp);
    memset(a, 0, sizeof *a);
}
