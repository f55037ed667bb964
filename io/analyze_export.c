/* analyze_export.c: the data behind `dob analyze --plots` (dob_an_write_plot_data), one JSON file that
 * tools/analyze_plots.py turns into DeepOBS's figures. Schema (NaN and absent values are null):
 *   {"format": "dob-analysis", "version": 1, "problems": [
 *     {"problem", "threshold", "perf_curve", "baselines": [{"optimizer", "metric", "performance", "speed", "lr"}],
 *      "optimizers": [
 *        {"optimizer", "metric" (ranking, after fallbacks), "mode", "performance", "speed",
 *         "chosen": {"hp": {name: number|null}, "hp_show", "seeds", "diverged",
 *                    "curves": {curve: {"mean", "std", "median", "q25", "q75"}}},   (the curves it has)
 *         "settings": [{"hp", "hp_show", "seeds", "diverged", "rank" (0 = chosen, null = not ranked),
 *                       "final": {"metric": [per seed], "perf": [per seed]}}]}]}]}
 * A seed's final value is the one the aggregates use (a diverged run reads its epoch-0 value).
 *
 * It does not: draw (the script does), or decide anything the analysis did not. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "dob/analyze.h"

static json_t *jnum(double x) { return isfinite(x) ? json_real(x) : json_null(); }

static json_t *jarr(const double *x, int64_t n) {
    json_t *a = json_array();
    for (int64_t i = 0; a && i < n; i++) json_array_append_new(a, jnum(x[i]));
    return a;
}

static const char *mode_name(dob_an_mode m) { return m == DOB_AN_BEST ? "best" : m == DOB_AN_MOST ? "most" : "final"; }

static json_t *hp_obj(const dob_an_run *r) {
    json_t *o = json_object();
    for (int k = 0; o && k < r->n_hp; k++) json_object_set_new(o, r->hp_names[k], jnum(r->hp[k]));
    return o;
}

static json_t *curves_obj(const dob_an_setting *s) {
    json_t *o = json_object();
    for (int c = 0; o && c < DOB_AN_N_CURVES; c++) {
        if (!s->has[c]) continue;
        const dob_an_stats *st = &s->st[c];
        json_t *x = json_object();
        json_object_set_new(x, "mean", jarr(st->mean, s->len));
        json_object_set_new(x, "std", jarr(st->std, s->len));
        json_object_set_new(x, "median", jarr(st->median, s->len));
        json_object_set_new(x, "q25", jarr(st->q25, s->len));
        json_object_set_new(x, "q75", jarr(st->q75, s->len));
        json_object_set_new(o, dob_curves[c].name, x);
    }
    return o;
}

/* Each aggregated seed's final value of curve c (empty if the setting lacks it). */
static json_t *finals(const dob_analysis *a, const dob_an_setting *s, dob_curve c) {
    json_t *v = json_array();
    for (int j = 0; v && s->has[c] && j < s->n_all; j++) {
        const dob_an_run *r = &a->runs->r[s->runs[j]];
        if (r->status == DOB_TRIAL_DONE || r->status == DOB_TRIAL_DIVERGED)
            json_array_append_new(v, jnum(dob_an_run_value(r, c, s->len - 1, s->len)));
    }
    return v;
}

static json_t *setting_obj(const dob_analysis *a, const dob_an_group *g, int k) {
    const dob_an_setting *s = &a->set[k];
    json_t *o = json_object(), *f = json_object();
    int rank = -1;
    for (int r = 0; r < g->n_ranked; r++)
        if (g->rank[r] == k) rank = r;
    json_object_set_new(o, "hp", hp_obj(s->run0));
    json_object_set_new(o, "hp_show", json_string(s->run0->hp_show));
    json_object_set_new(o, "seeds", json_integer(s->n_runs));
    json_object_set_new(o, "diverged", json_integer(s->n_diverged));
    json_object_set_new(o, "rank", rank >= 0 ? json_integer(rank) : json_null());
    json_object_set_new(f, "metric", finals(a, s, g->metric));
    json_object_set_new(f, "perf", finals(a, s, g->perf_curve));
    json_object_set_new(o, "final", f);
    return o;
}

static json_t *group_obj(const dob_analysis *a, const dob_an_group *g) {
    json_t *o = json_object(), *sets = json_array();
    json_object_set_new(o, "optimizer", json_string(g->optimizer));
    json_object_set_new(o, "metric", json_string(dob_curves[g->metric].name));
    json_object_set_new(o, "mode", json_string(mode_name(g->mode)));
    json_object_set_new(o, "performance", jnum(g->performance));
    json_object_set_new(o, "speed", jnum(g->speed));
    if (g->n_ranked) {
        const dob_an_setting *s = &a->set[g->rank[0]];
        json_t *c = json_object();
        json_object_set_new(c, "hp", hp_obj(s->run0));
        json_object_set_new(c, "hp_show", json_string(s->run0->hp_show));
        json_object_set_new(c, "seeds", json_integer(s->n_runs));
        json_object_set_new(c, "diverged", json_integer(s->n_diverged));
        json_object_set_new(c, "curves", curves_obj(s));
        json_object_set_new(o, "chosen", c);
    } else {
        json_object_set_new(o, "chosen", json_null());
    }
    for (int k = g->first; k < g->first + g->n; k++) json_array_append_new(sets, setting_obj(a, g, k));
    json_object_set_new(o, "settings", sets);
    return o;
}

static json_t *baselines_arr(const dob_an_baselines *b, const char *problem) {
    json_t *v = json_array();
    for (int k = 0; v && b && k < b->n; k++) {
        if (strcmp(b->b[k].problem, problem)) continue;
        json_t *x = json_object();
        json_object_set_new(x, "optimizer", json_string(b->b[k].optimizer));
        json_object_set_new(x, "metric", json_string(b->b[k].metric));
        json_object_set_new(x, "performance", jnum(b->b[k].performance));
        json_object_set_new(x, "speed", jnum(b->b[k].speed));
        json_object_set_new(x, "lr", jnum(b->b[k].lr));
        json_array_append_new(v, x);
    }
    return v;
}

static json_t *build(const dob_analysis *a, const dob_an_baselines *b) {
    json_t *root = json_object(), *probs = json_array();
    json_object_set_new(root, "format", json_string("dob-analysis"));
    json_object_set_new(root, "version", json_integer(1));
    for (int g0 = 0; g0 < a->n_grp;) {
        const dob_an_group *g = &a->grp[g0];
        json_t *p = json_object(), *opts = json_array();
        json_object_set_new(p, "problem", json_string(g->problem));
        json_object_set_new(p, "threshold", jnum(g->threshold));
        json_object_set_new(p, "perf_curve", json_string(dob_curves[g->perf_curve].name));
        json_object_set_new(p, "baselines", baselines_arr(b, g->problem));
        int g1 = g0;
        for (; g1 < a->n_grp && !strcmp(a->grp[g1].problem, g->problem); g1++)
            json_array_append_new(opts, group_obj(a, &a->grp[g1]));
        json_object_set_new(p, "optimizers", opts);
        json_array_append_new(probs, p);
        g0 = g1;
    }
    json_object_set_new(root, "problems", probs);
    return root;
}

dob_status dob_an_write_plot_data(const dob_analysis *a, const dob_an_baselines *b, const char *path) {
    json_t *root = build(a, b);
    if (!root) return DOB_FAIL(DOB_ENOMEM, "out of memory for the plot data");
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid());
    dob_status st = DOB_OK;
    if (json_dump_file(root, tmp, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17)) != 0)
        st = DOB_FAIL(DOB_EIO, "cannot write '%s': %s", tmp, strerror(errno));
    else if (rename(tmp, path) != 0)
        st = DOB_FAIL(DOB_EIO, "cannot rename '%s' to '%s': %s", tmp, path, strerror(errno));
    if (st != DOB_OK) unlink(tmp);
    json_decref(root);
    return st;
}
