/* dob/analyze.h: DeepOBS's analyzer over runs of any origin (`dob analyze`, issue 18).
 *
 * A run is one training run of one seed: a trial of a dob result or sweep file, or one DeepOBS JSON file (v1.1 or
 * v1.2 layout). The readers (io/analyze_read.c, io/deepobs_json.c) turn files into dob_an_run records; everything
 * after that is pure computation (src/analyze.c, src/analyze_table.c): runs are grouped problem -> optimizer ->
 * hyperparameter setting -> seeds, every eval curve is aggregated per epoch (mean, std, median, quartiles: numpy's
 * mean, std with ddof 0 and quantile with linear interpolation, as DeepOBS 1.2's aggregate_runs), the settings of
 * each optimizer are ranked as DeepOBS 1.2's create_setting_analyzer_ranking does, and the benchmark table
 * (performance, speed, tuneability) is rendered for the terminal, Markdown, LaTeX or CSV.
 *
 * Decisions where DeepOBS leaves a gap (all visible in the table's header lines):
 *  - A diverged run counts as a seed of its setting: its curves from the first non-finite evaluation on are
 *    replaced by its epoch-0 values, as DeepOBS 1.2's runner (_abort_routine) writes them; so DeepOBS 1.1 JSON
 *    (NaN after divergence), DeepOBS 1.2 JSON (padded) and dob files (NaN after divergence) aggregate the same.
 *  - Failed, pending and running trials of dob files have no complete curves: they are counted and shown, never
 *    aggregated.
 *  - A metric is available for an optimizer when every ranked setting has it (DeepOBS looks at one file).
 *  - NaN values rank last; 'best' takes the min/max over the finite epochs of the mean curve; ties keep the order
 *    of the setting keys (DeepOBS 1.2 sorts the setting folders by name before its stable sort). */
#ifndef DOB_ANALYZE_H
#define DOB_ANALYZE_H

#include <stdint.h>

#include "dob/curves.h"
#include "dob/results.h"
#include "dob/status.h"

/* The six eval curves are dob_curve 0..5 (train/valid/test losses, then accuracies). */
#define DOB_AN_N_CURVES 6

/** Where a run came from. */
typedef enum dob_an_origin { DOB_AN_H5 = 0, DOB_AN_JSON_V11, DOB_AN_JSON_V12 } dob_an_origin;

/** One run (seed) of one setting. Every pointer is owned by the record (dob_an_run_free). */
typedef struct dob_an_run {
    char *problem, *optimizer;   /* DeepOBS testproblem; the optimizer's name as its results call it */
    char *source;                /* "file.h5 trial 3" or the JSON path, for messages */
    char *folder;                /* JSON: the directory holding the file (NULL for HDF5), for the folder checks */
    dob_an_origin origin;
    int n_hp;                    /* hyperparameters: names, text and numeric value (NaN if not a number) */
    char **hp_names, **hp_text;
    double *hp;
    char *extra;                 /* settings besides the hyperparameters ("weight_decay__1.e-04__precision__bf16") */
    char *setting;               /* the setting key (dob_an_run_finish); runs with equal keys are seeds of one setting */
    char *hp_show;               /* "lr 1.00e-02, momentum 0.9": the tuneability text */
    int64_t num_epochs, batch_size, seed;
    dob_trial_status status;     /* done, diverged (aggregated); failed, pending, running (counted only) */
    double *curve[DOB_AN_N_CURVES]; /* num_epochs + 1 values each (NaN where not evaluated); NULL: not recorded */
} dob_an_run;

/** A growing list of runs. */
typedef struct dob_an_runs {
    int n, cap;
    dob_an_run *r;
} dob_an_runs;

void dob_an_run_free(dob_an_run *r);
void dob_an_runs_free(dob_an_runs *rs);
/** Append *r (ownership moves into rs; *r is zeroed). On failure *r is freed. */
dob_status dob_an_runs_push(dob_an_runs *rs, dob_an_run *r);
/** Set r->hp_names/hp_text/hp from n (name, text, value) triples (copies). */
dob_status dob_an_run_set_hp(dob_an_run *r, int n, const char *const *names, const char *const *text,
                             const double *v);
/** Build r->setting and r->hp_show from num_epochs, batch_size, extra and the hyperparameters (sorted by name;
 *  "lr" is an alias of "learning_rate"). */
dob_status dob_an_run_finish(dob_an_run *r);
/** DeepOBS float2str: "%.10e" with trailing zeros of the mantissa removed (0.01 -> "1.e-02"). */
void dob_an_float2str(double x, char *buf, int cap);

/* ---- analysis -------------------------------------------------------------------------------------------- */
typedef enum dob_an_mode { DOB_AN_FINAL = 0, DOB_AN_BEST, DOB_AN_MOST } dob_an_mode;

/** Per-epoch aggregates of one curve over a setting's seeds (len values each). */
typedef struct dob_an_stats {
    double *mean, *std, *median, *q25, *q75;
} dob_an_stats;

/** One hyperparameter setting of one optimizer on one problem. */
typedef struct dob_an_setting {
    const dob_an_run *run0;      /* a run of the setting (its problem, optimizer, hyperparameters, key) */
    int *runs, n_all;            /* indices into the runs of every trial of the setting */
    int n_runs, n_diverged;      /* seeds aggregated (done + diverged), of them diverged */
    int n_failed, n_unfinished;  /* counted only */
    int64_t len;                 /* num_epochs + 1 */
    int has[DOB_AN_N_CURVES];    /* every aggregated seed has this curve */
    dob_an_stats st[DOB_AN_N_CURVES];
} dob_an_setting;

/** One optimizer on one problem: its settings ranked. */
typedef struct dob_an_group {
    const char *problem, *optimizer;
    int first, n;                /* its settings: [first, first + n) of dob_analysis.set, sorted by key */
    dob_curve metric;            /* the curve it was ranked by, after DeepOBS's fallbacks */
    int fallback;                /* 0: the requested metric; 1: valid_losses; 2: test_losses */
    dob_an_mode mode;            /* the mode used ('most' with equal seed counts falls back to 'final') */
    int *rank, n_ranked;         /* setting indices, best first (settings without a seed are not ranked) */
    dob_curve perf_curve;        /* test_accuracies if the chosen setting has them, else test_losses */
    double performance;          /* of the top setting: final (best with mode best) mean of perf_curve */
    double speed;                /* mean epochs to the threshold; NaN: no threshold ("N.A.") */
    double threshold;            /* NaN: none */
    int n_runs, n_diverged, n_failed, n_unfinished; /* over all its settings */
} dob_an_group;

/** Thresholds (DeepOBS's convergence_performance.json: problem -> value), in the units of the runs (accuracies
 *  as fractions). */
typedef struct dob_an_thresholds {
    int n;
    char **problem;
    double *value;
    double all;                  /* not NaN: used for every problem (`--threshold`) */
} dob_an_thresholds;

typedef struct dob_an_opts {
    dob_an_mode mode;
    dob_curve metric;            /* requested ranking metric (DeepOBS 1.2 default: valid_accuracies) */
    const dob_an_thresholds *thr; /* may be NULL */
} dob_an_opts;

typedef struct dob_analysis {
    const dob_an_runs *runs;     /* borrowed */
    int n_set, n_grp;
    dob_an_setting *set;
    dob_an_group *grp;           /* sorted by problem, then optimizer (DeepOBS's SGD, Momentum, Adam first) */
} dob_analysis;

/** Group, aggregate, rank. DOB_EINVAL naming both runs when one setting mixes curve lengths. */
dob_status dob_analyze(const dob_an_runs *runs, const dob_an_opts *o, dob_analysis *out);
void dob_analysis_free(dob_analysis *a);
/** Curve c of run r at evaluation i of a setting of len evaluations, as aggregated: a diverged run reads its epoch-0
 *  value from its first non-finite evaluation on. */
double dob_an_run_value(const dob_an_run *r, dob_curve c, int64_t i, int64_t len);
/** The value of setting s by mode (final or best) on curve c: NaN if absent. */
double dob_an_value(const dob_an_setting *s, dob_curve c, dob_an_mode mode);
/** 1 for accuracy curves (higher is better). */
int dob_an_higher_better(dob_curve c);
/** The curve called name ("valid_accuracies"), or -1. */
int dob_an_curve_index(const char *name);
/** The threshold of problem (NaN if none). */
double dob_an_threshold_of(const dob_an_thresholds *t, const char *problem);
void dob_an_thresholds_free(dob_an_thresholds *t);

/* ---- DeepOBS's published baselines (tools/baselines/deepobs_baselines.csv, embedded at build time) --------- */
typedef struct dob_an_baseline {
    char problem[40], optimizer[24], metric[24]; /* optimizer: SGD, Momentum, Adam; metric: test_accuracies/... */
    char other[64];                  /* the other hyperparameters, as text ("momentum 0.99"; "" for none) */
    double performance, speed, lr;   /* performance in run units (accuracies as fractions) */
} dob_an_baseline;

typedef struct dob_an_baselines {
    int n;
    dob_an_baseline *b;
} dob_an_baselines;

/** Parse the baseline CSV text (problem,optimizer,metric,performance,speed,learning_rate,
 *  other_hyperparameters; '#' comments). */
dob_status dob_an_baselines_parse(const char *text, const char *name, dob_an_baselines *out);
void dob_an_baselines_free(dob_an_baselines *b);
/** Parse the threshold CSV text (problem,metric,threshold; '#' comments) into t (appends). */
dob_status dob_an_thresholds_parse_csv(const char *text, const char *name, dob_an_thresholds *t);
/** Add or replace one threshold. */
dob_status dob_an_thresholds_set(dob_an_thresholds *t, const char *problem, double v);

/* ---- the benchmark table ---------------------------------------------------------------------------------- */
typedef enum dob_an_format { DOB_AN_TERM = 0, DOB_AN_MD, DOB_AN_LATEX, DOB_AN_CSV } dob_an_format;

/** Render the table of a (and the baselines of its problems if b is not NULL) as a malloc'd string. */
dob_status dob_an_table(const dob_analysis *a, const dob_an_baselines *b, dob_an_format fmt, char **out);
/** The top k settings of every optimizer, one line each (`--top`), as a malloc'd string. */
dob_status dob_an_ranking_text(const dob_analysis *a, int k, char **out);

/* ---- readers (io/) ---------------------------------------------------------------------------------------- */
/** Read PATH: a dob result or sweep file (every trial), a DeepOBS JSON run, or a directory tree of them (*.h5,
 *  *.json; other files are skipped and counted in *n_skipped). One clear DOB_EFORMAT/DOB_ENOENT per bad input:
 *  another kind of file, an empty tree, a truncated file, JSON files of different settings or problems in one
 *  setting folder. Appends to runs. */
dob_status dob_an_read_path(const char *path, dob_an_runs *runs, int *n_skipped);
/** Parse the DeepOBS JSON text of one run (v1.1 or v1.2 keys; NaN/Infinity literals accepted as DeepOBS 1.1
 *  wrote them) into r (zeroed first). name names the file in messages. */
dob_status dob_an_json_parse(const char *text, size_t n, const char *name, dob_an_run *r);
/** The data of the figures (tools/analyze_plots.py reads it): per problem its threshold and baselines, per optimizer
 *  the chosen setting's aggregated curves and every setting's hyperparameters with each seed's final value of the
 *  ranking metric and of the performance curve. JSON (NaN as null), written to path through a temporary name. */
dob_status dob_an_write_plot_data(const dob_analysis *a, const dob_an_baselines *b, const char *path);
/** tools/baselines/deepobs_baselines.csv and convergence_thresholds.csv, embedded in dob_io at build time. */
extern const char dob_an_baselines_csv[], dob_an_thresholds_csv[];
/** DeepOBS's convergence_performance.json ({"problem": value, ...}) into t (appends). */
dob_status dob_an_thresholds_read_json(const char *path, dob_an_thresholds *t);

#endif
