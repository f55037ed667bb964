/* analyze_table.c: DeepOBS's benchmark table from an analysis (dob/analyze.h): per problem, one row per optimizer
 * with its performance, speed and tuneability (DeepOBS 1.1 plot_table, 1.2 plot_results_table), plus the seeds
 * of the chosen setting and all trials of the optimizer, so diverged, failed and unfinished trials are visible.
 * With baselines, DeepOBS's published SGD/Momentum/Adam rows of the problem follow as reference rows.
 *
 * Formats: the terminal (aligned columns), Markdown (one pipe table per problem), LaTeX (one tabular per problem)
 * and CSV (one table of every problem, raw numbers: accuracies as fractions, %.17g, empty for N.A.).
 * Notes under each block say what ranked the settings, which DeepOBS fallback applied and what speed means.
 *
 * It does not: compute anything (src/analyze.c), or write files (the command does). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dob/analyze.h"

/* ---- string builder --------------------------------------------------------------------------------------- */
typedef struct sb {
    char *s;
    size_t n, cap;
    int oom;
} sb;

__attribute__((format(printf, 2, 3))) static void put(sb *b, const char *fmt, ...) {
    if (b->oom) return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (k < 0) return;
    if (b->n + (size_t)k + 1 > b->cap) {
        size_t cap = 2 * (b->cap + (size_t)k + 64);
        char *t = realloc(b->s, cap);
        if (!t) {
            b->oom = 1;
            return;
        }
        b->s = t;
        b->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->n, b->cap - b->n, fmt, ap);
    va_end(ap);
    b->n += (size_t)k;
}

static dob_status finish(sb *b, char **out) {
    if (!b->s && !b->oom) put(b, "%s", "");
    if (b->oom) {
        free(b->s);
        return DOB_FAIL(DOB_ENOMEM, "out of memory for the table");
    }
    *out = b->s;
    return DOB_OK;
}

/* ---- cells ------------------------------------------------------------------------------------------------ */
enum { NCOL = 6, CELL = 160 };
static const char *const head[NCOL] = {"optimizer", "performance", "speed", "tuneability", "seeds", "trials"};

typedef struct row {
    char c[NCOL][CELL];
} row;

static const char *mode_name(dob_an_mode m) { return m == DOB_AN_BEST ? "best" : m == DOB_AN_MOST ? "most" : "final"; }

static void fmt_perf(double v, int acc, char *buf) {
    if (isnan(v)) snprintf(buf, CELL, "N.A.");
    else if (acc) snprintf(buf, CELL, "%.2f%%", 100.0 * v);
    else snprintf(buf, CELL, "%.4g", v);
}

static void fmt_speed(double v, char *buf) {
    if (isnan(v)) snprintf(buf, CELL, "N.A.");
    else snprintf(buf, CELL, "%.1f", v);
}

static void group_row(const dob_analysis *a, const dob_an_group *g, row *r) {
    snprintf(r->c[0], CELL, "%s", g->optimizer);
    fmt_perf(g->performance, dob_an_higher_better(g->perf_curve), r->c[1]);
    fmt_speed(g->speed, r->c[2]);
    if (g->n_ranked == 0) {
        snprintf(r->c[3], CELL, "(no seed finished)");
        snprintf(r->c[4], CELL, "0");
    } else {
        const dob_an_setting *s = &a->set[g->rank[0]];
        snprintf(r->c[3], CELL, "%s", s->run0->hp_show);
        if (s->n_diverged) snprintf(r->c[4], CELL, "%d (%d diverged)", s->n_runs, s->n_diverged);
        else snprintf(r->c[4], CELL, "%d", s->n_runs);
    }
    int n = snprintf(r->c[5], CELL, "%d in %d setting%s", g->n_runs + g->n_failed + g->n_unfinished, g->n,
                     g->n == 1 ? "" : "s");
    const int cnt[3] = {g->n_diverged, g->n_failed, g->n_unfinished};
    const char *what[3] = {"diverged", "failed", "unfinished"};
    for (int k = 0; k < 3 && n < CELL; k++)
        if (cnt[k]) n += snprintf(r->c[5] + n, CELL - (size_t)n, ", %d %s", cnt[k], what[k]);
}

static void baseline_row(const dob_an_baseline *b, row *r) {
    snprintf(r->c[0], CELL, "%s (DeepOBS)", b->optimizer);
    fmt_perf(b->performance, strstr(b->metric, "accurac") != NULL, r->c[1]);
    fmt_speed(b->speed, r->c[2]);
    snprintf(r->c[3], CELL, "lr %.2e%s%s", b->lr, b->other[0] ? ", " : "", b->other);
    snprintf(r->c[4], CELL, "10");
    snprintf(r->c[5], CELL, "baseline");
}

/* The rows of one problem: its groups [g0, g1), then its baselines. */
static int problem_rows(const dob_analysis *a, int g0, int g1, const dob_an_baselines *b, row *rows) {
    int n = 0;
    for (int g = g0; g < g1; g++) group_row(a, &a->grp[g], &rows[n++]);
    for (int k = 0; b && k < b->n; k++)
        if (!strcmp(b->b[k].problem, a->grp[g0].problem)) baseline_row(&b->b[k], &rows[n++]);
    return n;
}

/* ---- notes ------------------------------------------------------------------------------------------------ */
static void rank_note(const dob_an_group *g, char *buf, size_t cap) {
    static const char *const fb[3] = {"", " (DeepOBS's fallback: the requested metric is not recorded)",
                                      " (DeepOBS's fallback: neither the requested metric nor valid_losses is "
                                      "recorded)"};
    snprintf(buf, cap, "settings ranked by %s, mode %s%s", dob_curves[g->metric].name, mode_name(g->mode),
             fb[g->fallback]);
}

static void notes(const dob_analysis *a, int g0, int g1, const char *prefix, sb *b) {
    char n0[256], n1[256];
    rank_note(&a->grp[g0], n0, sizeof n0);
    int same = 1;
    for (int g = g0 + 1; g < g1; g++) {
        rank_note(&a->grp[g], n1, sizeof n1);
        same &= !strcmp(n0, n1);
    }
    for (int g = g0; g < g1; g++) {
        rank_note(&a->grp[g], n1, sizeof n1);
        if (same && g > g0) break;
        if (same) put(b, "%s%s\n", prefix, n0);
        else put(b, "%s%s: %s\n", prefix, a->grp[g].optimizer, n1);
    }
    const dob_an_group *g = &a->grp[g0];
    const int acc = dob_an_higher_better(g->perf_curve);
    char t[CELL];
    fmt_perf(g->threshold, acc, t);
    put(b, "%sperformance: %s %s of the chosen setting (mean over its seeds)\n", prefix,
        g->mode == DOB_AN_BEST ? "best" : "final", dob_curves[g->perf_curve].name);
    if (isnan(g->threshold))
        put(b, "%sspeed: N.A. (no convergence threshold for %s; --threshold or --conv-perf set one)\n", prefix,
            g->problem);
    else
        put(b, "%sspeed: epochs until %s %s %s (mean over the seeds; never reached counts num_epochs + 1)\n", prefix,
            dob_curves[g->perf_curve].name, acc ? ">=" : "<=", t);
}

/* ---- formats ---------------------------------------------------------------------------------------------- */
static void term_block(const row *rows, int n, sb *b) {
    size_t w[NCOL];
    for (int j = 0; j < NCOL; j++) {
        w[j] = strlen(head[j]);
        for (int i = 0; i < n; i++)
            if (strlen(rows[i].c[j]) > w[j]) w[j] = strlen(rows[i].c[j]);
    }
    for (int i = -1; i < n; i++) {
        put(b, " ");
        for (int j = 0; j < NCOL; j++) {
            const char *s = i < 0 ? head[j] : rows[i].c[j];
            if (j == NCOL - 1) put(b, " %s\n", s);
            else if (j == 1 || j == 2) put(b, " %*s ", (int)w[j], s);
            else put(b, " %-*s ", (int)w[j], s);
        }
    }
}

static void md_cell(const char *s, sb *b) {
    put(b, " ");
    for (; *s; s++) put(b, *s == '|' ? "\\|" : "%c", *s);
    put(b, " |");
}

static void md_block(const row *rows, int n, sb *b) {
    put(b, "|");
    for (int j = 0; j < NCOL; j++) md_cell(head[j], b);
    put(b, "\n|---|---:|---:|---|---|---|\n");
    for (int i = 0; i < n; i++) {
        put(b, "|");
        for (int j = 0; j < NCOL; j++) md_cell(rows[i].c[j], b);
        put(b, "\n");
    }
}

static void tex(const char *s, sb *b) {
    for (; *s; s++) {
        if (strchr("_%&#$", *s)) put(b, "\\%c", *s);
        else put(b, "%c", *s);
    }
}

static void latex_block(const char *problem, const row *rows, int n, sb *b) {
    put(b, "\\begin{tabular}{lrrlll}\n\\hline\n\\multicolumn{6}{l}{\\textbf{");
    tex(problem, b);
    put(b, "}} \\\\\n");
    for (int i = -1; i < n; i++) {
        for (int j = 0; j < NCOL; j++) {
            tex(i < 0 ? head[j] : rows[i].c[j], b);
            put(b, j == NCOL - 1 ? " \\\\\n" : " & ");
        }
        if (i < 0) put(b, "\\hline\n");
    }
    put(b, "\\hline\n\\end{tabular}\n");
}

/* CSV: raw numbers, quoted text. */
static void csv_num(double v, sb *b) {
    if (isnan(v)) put(b, ",");
    else put(b, ",%.17g", v);
}
static void csv_str(const char *s, sb *b) {
    put(b, ",\"");
    for (; *s; s++) put(b, *s == '"' ? "\"\"" : "%c", *s);
    put(b, "\"");
}

static void csv_group(const dob_analysis *a, const dob_an_group *g, sb *b) {
    const dob_an_setting *s = g->n_ranked ? &a->set[g->rank[0]] : NULL;
    put(b, "%s", g->problem);
    csv_str(g->optimizer, b);
    put(b, ",results,%s,%s,%s", dob_curves[g->metric].name, mode_name(g->mode), dob_curves[g->perf_curve].name);
    csv_num(g->performance, b);
    csv_num(g->speed, b);
    csv_num(g->threshold, b);
    csv_str(s ? s->run0->hp_show : "", b);
    put(b, ",%d,%d,%d,%d,%d,%d,%d\n", s ? s->n_runs : 0, s ? s->n_diverged : 0,
        g->n_runs + g->n_failed + g->n_unfinished, g->n, g->n_diverged, g->n_failed, g->n_unfinished);
}

static void csv_baseline(const dob_an_baseline *x, sb *b) {
    char hp[CELL];
    snprintf(hp, sizeof hp, "lr %.2e%s%s", x->lr, x->other[0] ? ", " : "", x->other);
    put(b, "%s", x->problem);
    csv_str(x->optimizer, b);
    put(b, ",DeepOBS baseline,%s,final,%s", x->metric, x->metric);
    csv_num(x->performance, b);
    csv_num(x->speed, b);
    csv_num(NAN, b);
    csv_str(hp, b);
    put(b, ",10,,,,,,\n");
}

static void csv_all(const dob_analysis *a, const dob_an_baselines *bl, sb *b) {
    put(b, "problem,optimizer,source,ranked_by,mode,performance_metric,performance,speed,threshold,"
           "hyperparameters,seeds,seeds_diverged,trials,settings,diverged,failed,unfinished\n");
    for (int g0 = 0; g0 < a->n_grp;) {
        int g1 = g0;
        while (g1 < a->n_grp && !strcmp(a->grp[g1].problem, a->grp[g0].problem)) csv_group(a, &a->grp[g1++], b);
        for (int k = 0; bl && k < bl->n; k++)
            if (!strcmp(bl->b[k].problem, a->grp[g0].problem)) csv_baseline(&bl->b[k], b);
        g0 = g1;
    }
}

dob_status dob_an_table(const dob_analysis *a, const dob_an_baselines *bl, dob_an_format fmt, char **out) {
    sb b = {0};
    *out = NULL;
    if (fmt == DOB_AN_CSV) {
        csv_all(a, bl, &b);
        return finish(&b, out);
    }
    row *rows = malloc(sizeof *rows * (size_t)(a->n_grp + (bl ? bl->n : 0) + 1));
    if (!rows) return DOB_FAIL(DOB_ENOMEM, "out of memory for the table");
    for (int g0 = 0; g0 < a->n_grp;) {
        int g1 = g0;
        while (g1 < a->n_grp && !strcmp(a->grp[g1].problem, a->grp[g0].problem)) g1++;
        int n = problem_rows(a, g0, g1, bl, rows);
        if (g0) put(&b, "\n");
        if (fmt == DOB_AN_TERM) {
            put(&b, "%s\n", a->grp[g0].problem);
            term_block(rows, n, &b);
            notes(a, g0, g1, "  ", &b);
        } else if (fmt == DOB_AN_MD) {
            put(&b, "### %s\n\n", a->grp[g0].problem);
            md_block(rows, n, &b);
            put(&b, "\n");
            notes(a, g0, g1, "- ", &b);
        } else {
            notes(a, g0, g1, "% ", &b);
            latex_block(a->grp[g0].problem, rows, n, &b);
        }
        g0 = g1;
    }
    free(rows);
    return finish(&b, out);
}

dob_status dob_an_ranking_text(const dob_analysis *a, int k, char **out) {
    sb b = {0};
    for (int g = 0; g < a->n_grp; g++) {
        const dob_an_group *gr = &a->grp[g];
        put(&b, "%s %s: %d of %d settings ranked by %s (mode %s)\n", gr->problem, gr->optimizer, gr->n_ranked, gr->n,
            dob_curves[gr->metric].name, mode_name(gr->mode));
        for (int r = 0; r < gr->n_ranked && r < k; r++) {
            const dob_an_setting *s = &a->set[gr->rank[r]];
            char v[CELL];
            fmt_perf(dob_an_value(s, gr->metric, gr->mode == DOB_AN_BEST ? DOB_AN_BEST : DOB_AN_FINAL),
                     dob_an_higher_better(gr->metric), v);
            put(&b, "  %3d. %-40s %s %s  %d seed%s%s\n", r + 1, s->run0->hp_show, dob_curves[gr->metric].name, v,
                s->n_runs, s->n_runs == 1 ? "" : "s", s->n_diverged ? " (some diverged)" : "");
        }
    }
    return finish(&b, out);
}
