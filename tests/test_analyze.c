/* test_analyze.c: `dob analyze` (issue 18): the readers (dob sweep files, DeepOBS 1.1 and 1.2 JSON), the
 * aggregates, the ranking in every mode with DeepOBS's metric fallbacks, speed, and the table, golden against a
 * generated results tree whose numbers are computed by hand below; and one clear error per kind of bad input.
 *
 * The tree (fmnist_2c2d, 3 epochs, threshold 0.75):
 *   sweep.h5, dob "momentum": A lr 0.1 seeds 42-44 done; B lr 0.01 seed 42 done, 43 diverged after epoch 1;
 *                             C lr 1.0 seed 42 failed, 43 pending                (7 trials, 3 settings)
 *   fmnist_2c2d/MomentumOptimizer/ (DeepOBS 1.1): lr 0.1 done; lr 10 diverged (NaN literals)
 *   fmnist_2c2d/SGD/ (DeepOBS 1.2, PyTorch names, with valid curves): lr 0.1 one seed; lr 0.01 two seeds */
#include "dob/analyze.h"
#include "results_fx.h"

/* ---- the tree --------------------------------------------------------------------------------------------- */
typedef struct trial {
    double lr;
    int64_t seed;
    dob_trial_status st;
    int epochs_done;
    double acc[NE], loss[NE];
} trial;

static const trial sweep_trials[7] = {
    {0.1, 42, DOB_TRIAL_DONE, 3, {0.1, 0.5, 0.75, 0.875}, {2.0, 1.0, 0.5, 0.25}},
    {0.1, 43, DOB_TRIAL_DONE, 3, {0.1, 0.625, 0.625, 0.75}, {2.0, 1.5, 0.5, 0.5}},
    {0.1, 44, DOB_TRIAL_DONE, 3, {0.1, 0.5, 0.875, 0.625}, {2.0, 1.0, 0.25, 0.75}},
    {0.01, 42, DOB_TRIAL_DONE, 3, {0.1, 0.25, 0.5, 0.8125}, {2.0, 1.75, 1.0, 0.125}},
    {0.01, 43, DOB_TRIAL_DIVERGED, 1, {0.1, 0.5, NAN, NAN}, {2.0, 1.25, NAN, NAN}},
    {1.0, 42, DOB_TRIAL_FAILED, 0, {0.1, NAN, NAN, NAN}, {2.0, NAN, NAN, NAN}},
    {1.0, 43, DOB_TRIAL_PENDING, 0, {NAN, NAN, NAN, NAN}, {NAN, NAN, NAN, NAN}},
};

static void write_sweep(const char *path) {
    static const char *names[2] = {"learning_rate", "momentum"};
    int64_t ids[7], seeds[7];
    double hp[14], mb[NMB], ph[5] = {0};
    for (int i = 0; i < 7; i++) {
        ids[i] = i;
        seeds[i] = sweep_trials[i].seed;
        hp[2 * i] = sweep_trials[i].lr;
        hp[2 * i + 1] = 0.9;
    }
    for (int i = 0; i < NMB; i++) mb[i] = 1.0;
    dob_results_meta m = std_meta();
    m.problem = "fmnist_2c2d";
    m.hp_names = names;
    m.n_trials = 7;
    dob_sweep_meta sw = {.spec = "learning_rate=0.1,0.01,1;momentum=0.9;seeds=42,43,44", .n_trials_total = 7,
                         .slice_id = -1, .slice_count = -1, .trial_ids = ids, .seeds = seeds, .hp = hp,
                         .in_place = 0};
    dob_results *r = NULL;
    TC_ASSERT_OK(dob_results_create_sweep(path, 0, &m, &sw, rfx_world, &r));
    for (int i = 0; i < 7; i++) {
        const trial *t = &sweep_trials[i];
        if (t->st == DOB_TRIAL_PENDING) continue;
        dob_trial_result tr = {.train_losses = t->loss, .test_losses = t->loss, .train_accuracies = t->acc,
                               .test_accuracies = t->acc, .minibatch_train_losses = mb, .epoch_seconds = mb,
                               .phase_seconds = ph, .hp = hp + 2 * i, .random_seed = t->seed,
                               .epochs_done = t->epochs_done, .status = t->st};
        TC_ASSERT_OK(dob_results_write_trial(r, i, &tr));
    }
    TC_ASSERT_OK(dob_results_close(r));
}

/* mkdir -p of the directory part of path, then the text. */
static void put_file(const char *rel, const char *text) {
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", rfx_tmpdir, rel);
    for (char *s = p + strlen(rfx_tmpdir) + 1; (s = strchr(s, '/')); s++) {
        *s = '\0';
        mkdir(p, 0777);
        *s = '/';
    }
    rfx_put(p, text);
}

#define V11_DIR "tree/fmnist_2c2d/MomentumOptimizer/"
#define V12_DIR "tree/fmnist_2c2d/SGD/"

static const char *v11_done =
    "{\"train_losses\": [2.0, 1.0, 0.5, 0.375], \"test_losses\": [2.0, 1.0, 0.5, 0.375], "
    "\"minibatch_train_losses\": [1.0], \"train_accuracies\": [0.1, 0.5, 0.625, 0.7], "
    "\"test_accuracies\": [0.1, 0.5, 0.625, 0.7], \"optimizer\": \"MomentumOptimizer\", \"testproblem\": "
    "\"fmnist_2c2d\", \"weight_decay\": null, \"batch_size\": 128, \"num_epochs\": 3, \"learning_rate\": 0.1, "
    "\"lr_sched_epochs\": null, \"lr_sched_factors\": null, \"random_seed\": 42, \"train_log_interval\": 10, "
    "\"hyperparams\": {\"momentum\": 0.9, \"use_nesterov\": false}}";
static const char *v11_nan =
    "{\"train_losses\": [2.0, NaN, NaN, NaN], \"test_losses\": [2.0, NaN, NaN, NaN], "
    "\"minibatch_train_losses\": [1.0, Infinity], \"train_accuracies\": [0.1, 0.1, NaN, NaN], "
    "\"test_accuracies\": [0.1, 0.1, NaN, -Infinity], \"optimizer\": \"MomentumOptimizer\", \"testproblem\": "
    "\"fmnist_2c2d\", \"weight_decay\": null, \"batch_size\": 128, \"num_epochs\": 3, \"learning_rate\": 10.0, "
    "\"lr_sched_epochs\": null, \"lr_sched_factors\": null, \"random_seed\": 42, \"train_log_interval\": 10, "
    "\"hyperparams\": {\"momentum\": 0.9, \"use_nesterov\": false}}";

/* A DeepOBS 1.2 PyTorch run (indent 4 in DeepOBS; the layout does not matter to a parser). */
static void v12_text(char *buf, size_t cap, double lr, int seed, const char *vacc, const char *tacc,
                     const char *tloss) {
    snprintf(buf, cap,
             "{\n    \"testproblem\": \"fmnist_2c2d\",\n    \"batch_size\": 128,\n    \"num_epochs\": 3,\n"
             "    \"random_seed\": %d,\n    \"weight_decay\": null,\n    \"optimizer_name\": \"SGD\",\n"
             "    \"optimizer_hyperparams\": {\"lr\": %g},\n    \"training_params\": {},\n"
             "    \"train_losses\": %s,\n    \"valid_losses\": %s,\n    \"test_losses\": %s,\n"
             "    \"minibatch_train_losses\": [1.0],\n    \"train_accuracies\": %s,\n"
             "    \"valid_accuracies\": %s,\n    \"test_accuracies\": %s\n}\n",
             seed, lr, tloss, tloss, tloss, tacc, vacc, tacc);
}

static void write_tree(void) {
    char p[512], t[2048];
    rfx_path_in(p, sizeof p, "tree");
    mkdir(p, 0777);
    rfx_path_in(p, sizeof p, "tree/sweep.h5");
    write_sweep(p);
    put_file(V11_DIR "num_epochs__3__batch_size__128__momentum__9.e-01__lr__1.e-01/random_seed__42__2019-02-15-16-"
             "57-33.json", v11_done);
    put_file(V11_DIR "num_epochs__3__batch_size__128__momentum__9.e-01__lr__1.e+01/random_seed__42__2019-02-15-16-"
             "57-34.json", v11_nan);
    v12_text(t, sizeof t, 0.1, 42, "[0.1, 0.625, 0.5, 0.5]", "[0.1, 0.5, 0.75, 0.8]", "[2.0, 1.0, 0.5, 0.4]");
    put_file(V12_DIR "num_epochs__3__batch_size__128__lr__0.1/random_seed__42__2020-01-01-00-00-00.json", t);
    v12_text(t, sizeof t, 0.01, 42, "[0.1, 0.25, 0.75, 0.25]", "[0.1, 0.25, 0.5, 0.75]", "[2.0, 1.5, 1.0, 0.75]");
    put_file(V12_DIR "num_epochs__3__batch_size__128__lr__0.01/random_seed__42__2020-01-01-00-00-00.json", t);
    v12_text(t, sizeof t, 0.01, 43, "[0.1, 0.5, 0.625, 0.375]", "[0.1, 0.5, 0.5, 0.625]", "[2.0, 1.25, 1.0, 0.875]");
    put_file(V12_DIR "num_epochs__3__batch_size__128__lr__0.01/random_seed__43__2020-01-01-00-00-01.json", t);
    put_file("tree/notes.txt", "not a result: skipped in a tree\n");
}

static dob_an_runs runs;
static dob_an_thresholds thr;

static int analyze_init(void) {
    thr.all = 0.75;
    return rfx_suite_init();
}

static int analyze_cleanup(void) {
    dob_an_runs_free(&runs);
    return rfx_suite_cleanup();
}

/* ---- helpers ---------------------------------------------------------------------------------------------- */
static const dob_an_group *group(const dob_analysis *a, const char *opt) {
    for (int g = 0; g < a->n_grp; g++)
        if (!strcmp(a->grp[g].optimizer, opt)) return &a->grp[g];
    return NULL;
}

static double top_lr(const dob_analysis *a, const dob_an_group *g, int r) {
    if (!g || r >= g->n_ranked) return NAN;
    const dob_an_run *x = a->set[g->rank[r]].run0;
    for (int k = 0; k < x->n_hp; k++)
        if (!strcmp(x->hp_names[k], "learning_rate")) return x->hp[k];
    return NAN;
}

#define NEAR(a, b) (fabs((a) - (b)) <= 1e-12 * fmax(1.0, fabs(b)))
#define CHECK_NEAR(got, want)                                                                                     \
    do {                                                                                                          \
        double g_ = (got), w_ = (want);                                                                           \
        if (!NEAR(g_, w_)) fprintf(stderr, "\n    %s: expected %.17g, found %.17g\n", #got, w_, g_);             \
        CU_ASSERT(NEAR(g_, w_));                                                                                  \
    } while (0)

static void run_analysis(dob_an_mode mode, dob_analysis *a) {
    dob_an_opts o = {.mode = mode, .metric = DOB_CURVE_VALID_ACCURACIES, .thr = &thr};
    TC_ASSERT_OK(dob_analyze(&runs, &o, a));
}

/* ---- tests ------------------------------------------------------------------------------------------------ */
/* Writes the tree and reads it into `runs` for the tests after it (CUnit asserts only work inside tests). */
static void test_read_tree(void) {
    write_tree();
    char p[512];
    rfx_path_in(p, sizeof p, "tree");
    int skipped = -1;
    TC_ASSERT_OK(dob_an_read_path(p, &runs, &skipped));
    CU_ASSERT_EQUAL(skipped, 1); /* notes.txt */
    CU_ASSERT_EQUAL_FATAL(runs.n, 12);
    int origin[3] = {0}, status[5] = {0};
    for (int i = 0; i < runs.n; i++) {
        origin[runs.r[i].origin]++;
        status[runs.r[i].status]++;
    }
    CU_ASSERT_EQUAL(origin[DOB_AN_H5], 7);
    CU_ASSERT_EQUAL(origin[DOB_AN_JSON_V11], 2);
    CU_ASSERT_EQUAL(origin[DOB_AN_JSON_V12], 3);
    CU_ASSERT_EQUAL(status[DOB_TRIAL_DONE], 8);
    CU_ASSERT_EQUAL(status[DOB_TRIAL_DIVERGED], 2); /* the sweep's and the NaN literals of DeepOBS 1.1 */
    CU_ASSERT_EQUAL(status[DOB_TRIAL_FAILED], 1);
    CU_ASSERT_EQUAL(status[DOB_TRIAL_PENDING], 1);
}

static void test_aggregates(void) {
    dob_analysis a;
    run_analysis(DOB_AN_FINAL, &a);
    CU_ASSERT_EQUAL(a.n_grp, 3);
    CU_ASSERT_EQUAL(a.n_set, 7);
    const dob_an_group *g = group(&a, "momentum");
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    const dob_an_setting *A = &a.set[g->rank[0]], *B = &a.set[g->rank[1]];
    CU_ASSERT_EQUAL(A->n_runs, 3);
    CU_ASSERT_EQUAL(B->n_runs, 2);
    CU_ASSERT_EQUAL(B->n_diverged, 1);
    const dob_an_stats *sa = &A->st[DOB_CURVE_TEST_ACCURACIES], *sb = &B->st[DOB_CURVE_TEST_ACCURACIES];
    /* final test accuracies of A: 0.875, 0.75, 0.625 */
    CHECK_NEAR(sa->mean[3], 0.75);
    CHECK_NEAR(sa->std[3], sqrt(2 * 0.125 * 0.125 / 3));
    CHECK_NEAR(sa->median[3], 0.75);
    CHECK_NEAR(sa->q25[3], 0.6875);
    CHECK_NEAR(sa->q75[3], 0.8125);
    CHECK_NEAR(sa->mean[1], (0.5 + 0.625 + 0.5) / 3);
    /* B: the diverged seed reads its epoch-0 values from epoch 2 on: [0.1 0.5 0.1 0.1] */
    CHECK_NEAR(sb->mean[2], (0.5 + 0.1) / 2);
    CHECK_NEAR(sb->mean[3], (0.8125 + 0.1) / 2);
    CHECK_NEAR(B->st[DOB_CURVE_TEST_LOSSES].mean[3], (0.125 + 2.0) / 2);
    CHECK_NEAR(sb->q25[3], 0.1 + 0.25 * (0.8125 - 0.1));
    CU_ASSERT_FALSE(A->has[DOB_CURVE_VALID_LOSSES]);
    const dob_an_setting *C = &a.set[g->first]; /* key learning_rate__1.e+00 sorts first */
    CHECK_NEAR(C->run0->hp[0], 1.0);
    CU_ASSERT_EQUAL(C->n_runs, 0); /* C: a failed and a pending trial, counted only */
    CU_ASSERT_EQUAL(C->n_failed, 1);
    CU_ASSERT_EQUAL(C->n_unfinished, 1);
    CU_ASSERT_EQUAL(g->n_ranked, 2);
    dob_analysis_free(&a);
}

static void test_ranking_modes(void) {
    static const dob_an_mode modes[3] = {DOB_AN_FINAL, DOB_AN_BEST, DOB_AN_MOST};
    /* per mode: the chosen lr of SGD, MomentumOptimizer, momentum; performance and speed of each */
    static const double want_lr[3][3] = {{0.1, 0.1, 0.1}, {0.01, 0.1, 0.1}, {0.01, 0.1, 0.1}};
    static const double want_perf[3][3] = {{0.8, 0.7, 0.75}, {0.6875, 0.7, 0.75}, {0.6875, 0.7, 0.75}};
    static const double want_speed[3][3] = {{2.0, 4.0, 7.0 / 3}, {3.5, 4.0, 7.0 / 3}, {3.5, 4.0, 7.0 / 3}};
    static const char *const opt[3] = {"SGD", "MomentumOptimizer", "momentum"};
    for (int m = 0; m < 3; m++) {
        dob_analysis a;
        run_analysis(modes[m], &a);
        for (int k = 0; k < 3; k++) {
            const dob_an_group *g = group(&a, opt[k]);
            CU_ASSERT_PTR_NOT_NULL_FATAL(g);
            CHECK_NEAR(top_lr(&a, g, 0), want_lr[m][k]);
            CHECK_NEAR(g->performance, want_perf[m][k]);
            CHECK_NEAR(g->speed, want_speed[m][k]);
            CU_ASSERT_EQUAL(g->perf_curve, DOB_CURVE_TEST_ACCURACIES);
        }
        /* fallbacks: SGD has valid_accuracies; the others fall back to test_losses */
        CU_ASSERT_EQUAL(group(&a, "SGD")->metric, DOB_CURVE_VALID_ACCURACIES);
        CU_ASSERT_EQUAL(group(&a, "SGD")->fallback, 0);
        CU_ASSERT_EQUAL(group(&a, "momentum")->metric, DOB_CURVE_TEST_LOSSES);
        CU_ASSERT_EQUAL(group(&a, "momentum")->fallback, 2);
        /* 'most' with equal seed counts (MomentumOptimizer: 1 and 1) falls back to 'final' */
        CU_ASSERT_EQUAL(group(&a, "MomentumOptimizer")->mode, modes[m] == DOB_AN_MOST ? DOB_AN_FINAL : modes[m]);
        CU_ASSERT_EQUAL(group(&a, "SGD")->mode, modes[m]);
        /* the second setting of the sweep is B in every mode (final and best loss, and fewer seeds) */
        CHECK_NEAR(top_lr(&a, group(&a, "momentum"), 1), 0.01);
        dob_analysis_free(&a);
    }
    /* a metric every run records ranks without a fallback */
    dob_an_opts o = {.mode = DOB_AN_FINAL, .metric = DOB_CURVE_TRAIN_ACCURACIES, .thr = &thr};
    dob_analysis a;
    TC_ASSERT_OK(dob_analyze(&runs, &o, &a));
    CU_ASSERT_EQUAL(group(&a, "SGD")->metric, DOB_CURVE_TRAIN_ACCURACIES);
    dob_analysis_free(&a);
}

/* The Markdown and CSV tables of mode 'most' with DeepOBS's baselines: golden. */
static const char *want_md =
    "### fmnist_2c2d\n"
    "\n"
    "| optimizer | performance | speed | tuneability | seeds | trials |\n"
    "|---|---:|---:|---|---|---|\n"
    "| SGD | 68.75% | 3.5 | lr 1.00e-02 | 2 | 3 in 2 settings |\n"
    "| MomentumOptimizer | 70.00% | 4.0 | lr 1.00e-01, momentum 0.9, use_nesterov False | 1 | 2 in 2 settings, 1 "
    "diverged |\n"
    "| momentum | 75.00% | 2.3 | lr 1.00e-01, momentum 0.9 | 3 | 7 in 3 settings, 1 diverged, 1 failed, 1 "
    "unfinished |\n"
    "| SGD (DeepOBS) | 92.27% | 40.6 | lr 1.58e-01 | 10 | baseline |\n"
    "| Momentum (DeepOBS) | 92.14% | 59.1 | lr 2.51e-03, momentum 0.99 | 10 | baseline |\n"
    "| Adam (DeepOBS) | 92.34% | 40.1 | lr 2.51e-04 | 10 | baseline |\n"
    "\n"
    "- SGD: settings ranked by valid_accuracies, mode most\n"
    "- MomentumOptimizer: settings ranked by test_losses, mode final (DeepOBS's fallback: neither the requested "
    "metric nor valid_losses is recorded)\n"
    "- momentum: settings ranked by test_losses, mode most (DeepOBS's fallback: neither the requested metric nor "
    "valid_losses is recorded)\n"
    "- performance: final test_accuracies of the chosen setting (mean over its seeds)\n"
    "- speed: epochs until test_accuracies >= 75.00% (mean over the seeds; never reached counts num_epochs + 1)\n";

static const char *want_csv =
    "problem,optimizer,source,ranked_by,mode,performance_metric,performance,speed,threshold,hyperparameters,seeds,"
    "seeds_diverged,trials,settings,diverged,failed,unfinished\n"
    "fmnist_2c2d,\"SGD\",results,valid_accuracies,most,test_accuracies,0.6875,3.5,0.75,\"lr 1.00e-02\",2,0,3,2,0,0,0\n"
    "fmnist_2c2d,\"MomentumOptimizer\",results,test_losses,final,test_accuracies,0.69999999999999996,4,0.75,"
    "\"lr 1.00e-01, momentum 0.9, use_nesterov False\",1,0,2,2,1,0,0\n"
    "fmnist_2c2d,\"momentum\",results,test_losses,most,test_accuracies,0.75,2.3333333333333335,0.75,"
    "\"lr 1.00e-01, momentum 0.9\",3,0,7,3,1,1,1\n"
    "fmnist_2c2d,\"SGD\",DeepOBS baseline,test_accuracies,final,test_accuracies,0.92269999999999996,40.600000000000001,,"
    "\"lr 1.58e-01\",10,,,,,,\n"
    "fmnist_2c2d,\"Momentum\",DeepOBS baseline,test_accuracies,final,test_accuracies,0.9214,59.100000000000001,,"
    "\"lr 2.51e-03, momentum 0.99\",10,,,,,,\n"
    "fmnist_2c2d,\"Adam\",DeepOBS baseline,test_accuracies,final,test_accuracies,0.9234,40.100000000000001,,"
    "\"lr 2.51e-04\",10,,,,,,\n";

static int same_text(const char *what, const char *got, const char *want) {
    if (got && !strcmp(got, want)) return 1;
    fprintf(stderr, "\n    %s: expected\n%s\n    found\n%s\n", what, want, got ? got : "(null)");
    return 0;
}

static void test_table_golden(void) {
    dob_an_baselines b;
    TC_ASSERT_OK(dob_an_baselines_parse(dob_an_baselines_csv, "baselines", &b));
    CU_ASSERT_EQUAL(b.n, 24);
    dob_analysis a;
    run_analysis(DOB_AN_MOST, &a);
    char *t = NULL;
    TC_ASSERT_OK(dob_an_table(&a, &b, DOB_AN_MD, &t));
    CU_ASSERT(same_text("markdown", t, want_md));
    free(t);
    TC_ASSERT_OK(dob_an_table(&a, &b, DOB_AN_CSV, &t));
    CU_ASSERT(same_text("csv", t, want_csv));
    free(t);
    /* LaTeX escapes and the terminal columns: structure only */
    TC_ASSERT_OK(dob_an_table(&a, NULL, DOB_AN_LATEX, &t));
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "\\textbf{fmnist\\_2c2d}"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "SGD & 68.75\\% & 3.5 & lr 1.00e-02 & 2 & 3 in 2 settings \\\\\n"));
    free(t);
    TC_ASSERT_OK(dob_an_table(&a, NULL, DOB_AN_TERM, &t));
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "  momentum                75.00%    2.3  lr 1.00e-01, momentum 0.9"));
    free(t);
    TC_ASSERT_OK(dob_an_ranking_text(&a, 5, &t));
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "fmnist_2c2d momentum: 2 of 3 settings ranked by test_losses (mode most)"));
    free(t);
    dob_analysis_free(&a);
    dob_an_baselines_free(&b);
}

/* ---- the reference data ----------------------------------------------------------------------------------- */
static void test_reference_data(void) {
    dob_an_thresholds t = {.all = NAN};
    TC_ASSERT_OK(dob_an_thresholds_parse_csv(dob_an_thresholds_csv, "thresholds", &t));
    CU_ASSERT_EQUAL(t.n, 8);
    CHECK_NEAR(dob_an_threshold_of(&t, "fmnist_2c2d"), 0.9214);
    CHECK_NEAR(dob_an_threshold_of(&t, "quadratic_deep"), 87.40);
    CU_ASSERT(isnan(dob_an_threshold_of(&t, "fmnist_logreg")));
    /* DeepOBS's own convergence_performance.json overrides */
    char p[512];
    rfx_path_in(p, sizeof p, "conv.json");
    rfx_put(p, "{\"fmnist_2c2d\": 0.9, \"fmnist_logreg\": 0.8}");
    TC_ASSERT_OK(dob_an_thresholds_read_json(p, &t));
    CHECK_NEAR(dob_an_threshold_of(&t, "fmnist_2c2d"), 0.9);
    CHECK_NEAR(dob_an_threshold_of(&t, "fmnist_logreg"), 0.8);
    rfx_put(p, "{\"fmnist_2c2d\": \"high\"}");
    TC_ASSERT_FAILS(dob_an_thresholds_read_json(p, &t), DOB_EFORMAT, "\"fmnist_2c2d\" is not a number");
    dob_an_thresholds_free(&t);
    dob_an_baselines b;
    TC_ASSERT_FAILS(dob_an_baselines_parse("problem,optimizer\nx,y\n", "b.csv", &b), DOB_EFORMAT,
                    "b.csv line 1: expected the header");
    TC_ASSERT_FAILS(dob_an_baselines_parse("problem,optimizer,metric,performance,speed,learning_rate,"
                                           "other_hyperparameters\np,SGD,test_losses,1,x,0.1,\n", "b.csv", &b),
                    DOB_EFORMAT, "b.csv line 2: expected problem,optimizer");
}

/* ---- the JSON parser -------------------------------------------------------------------------------------- */
static void test_json_parse(void) {
    dob_an_run r;
    TC_ASSERT_OK(dob_an_json_parse(v11_nan, strlen(v11_nan), "x.json", &r));
    CU_ASSERT_EQUAL(r.status, DOB_TRIAL_DIVERGED);
    CU_ASSERT(isnan(r.curve[DOB_CURVE_TEST_LOSSES][1]));
    CU_ASSERT(isnan(r.curve[DOB_CURVE_TEST_ACCURACIES][3]));
    CU_ASSERT_STRING_EQUAL(r.setting, "num_epochs__3__batch_size__128__learning_rate__1.e+01__momentum__9.e-01__"
                                      "use_nesterov__False");
    dob_an_run_free(&r);
    /* a DeepOBS 1.2 run padded by its runner after a NaN (every curve repeats its epoch-0 value) */
    char t[2048];
    v12_text(t, sizeof t, 3.0, 42, "[0.1, 0.2, 0.1, 0.1]", "[0.1, 0.3, 0.1, 0.1]", "[2.0, 1.0, 2.0, 2.0]");
    TC_ASSERT_OK(dob_an_json_parse(t, strlen(t), "pad.json", &r));
    CU_ASSERT_EQUAL(r.status, DOB_TRIAL_DIVERGED);
    CU_ASSERT_STRING_EQUAL(r.hp_names[0], "learning_rate"); /* PyTorch's lr */
    dob_an_run_free(&r);
    /* NaN inside a string is a string */
    const char *s = "{\"optimizer_name\": \"NaN Infinity\", \"testproblem\": \"p\", \"num_epochs\": 0, "
                    "\"batch_size\": 1, \"random_seed\": 1, \"train_losses\": [1], \"test_losses\": [1]}";
    TC_ASSERT_OK(dob_an_json_parse(s, strlen(s), "s.json", &r));
    CU_ASSERT_STRING_EQUAL(r.optimizer, "NaN Infinity");
    CU_ASSERT_EQUAL(r.status, DOB_TRIAL_DONE);
    dob_an_run_free(&r);
    TC_ASSERT_FAILS(dob_an_json_parse("[1, 2]", 6, "a.json", &r), DOB_EFORMAT, "a.json: not a DeepOBS run");
    TC_ASSERT_FAILS(dob_an_json_parse("{\"a\": 1}", 8, "b.json", &r), DOB_EFORMAT, "neither \"optimizer_name\"");
    TC_ASSERT_FAILS(dob_an_json_parse(v11_done, strlen(v11_done) / 2, "c.json", &r), DOB_EFORMAT,
                    "c.json: not valid JSON (truncated?)");
    char *bad = strdup(v11_done);
    memcpy(strstr(bad, "[2.0, 1.0, 0.5, 0.375], \"min"), "[2.0, 1.0, 0.5]       ", 22);
    TC_ASSERT_FAILS(dob_an_json_parse(bad, strlen(bad), "d.json", &r), DOB_EFORMAT,
                    "\"test_losses\" has 3 values, expected num_epochs + 1 = 4");
    free(bad);
}

/* ---- bad input: one clear line each ----------------------------------------------------------------------- */
static dob_status read_one(const char *rel) {
    char p[512];
    rfx_path_in(p, sizeof p, rel);
    dob_an_runs rs = {0};
    int sk = 0;
    dob_status st = dob_an_read_path(p, &rs, &sk);
    dob_an_runs_free(&rs);
    return st;
}

static void test_bad_input(void) {
    put_file("bad/other.dat", "hello, not a result\n");
    TC_ASSERT_FAILS(read_one("bad/other.dat"), DOB_EFORMAT, "is neither a dob result file (HDF5) nor a DeepOBS JSON");
    char p[512];
    rfx_path_in(p, sizeof p, "bad/empty");
    mkdir(p, 0777);
    TC_ASSERT_FAILS(read_one("bad/empty"), DOB_ENOENT, "holds no runs");
    TC_ASSERT_FAILS(read_one("bad/missing.h5"), DOB_ENOENT, "No such file");
    /* a run of another problem inside a DeepOBS setting folder */
    char t[2048];
    v12_text(t, sizeof t, 0.1, 42, "[0.1, 0.6, 0.5, 0.5]", "[0.1, 0.5, 0.75, 0.8]", "[2.0, 1.0, 0.5, 0.4]");
    char *m = strstr(t, "fmnist_2c2d");
    memcpy(m, "mnist_2c2d ", 11); /* testproblem "mnist_2c2d " */
    put_file("mixed/fmnist_2c2d/SGD/num_epochs__3__batch_size__128__lr__0.1/random_seed__42__x.json", t);
    TC_ASSERT_FAILS(read_one("mixed"), DOB_EFORMAT, "lies in the DeepOBS folder fmnist_2c2d/SGD: mixed problems");
    /* two settings in one folder */
    put_file("mixed2/run1.json", v11_done);
    put_file("mixed2/run2.json", v11_nan);
    TC_ASSERT_FAILS(read_one("mixed2"), DOB_EFORMAT, "mixes runs");
    /* truncated JSON and a truncated result file */
    char half[1024];
    snprintf(half, sizeof half, "%.*s", (int)strlen(v11_done) / 2, v11_done);
    put_file("trunc/run.json", half);
    TC_ASSERT_FAILS(read_one("trunc/run.json"), DOB_EFORMAT, "not valid JSON (truncated?)");
    char src[512], dst[512];
    rfx_path_in(src, sizeof src, "tree/sweep.h5");
    rfx_path_in(dst, sizeof dst, "trunc/sweep.h5");
    size_t n = 0;
    char *bytes = rfx_slurp(src, &n);
    FILE *f = fopen(dst, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fwrite(bytes, 1, n / 2, f);
    fclose(f);
    free(bytes);
    TC_ASSERT_FAILS(read_one("trunc/sweep.h5"), DOB_EFORMAT, "truncated");
}

static CU_TestInfo tests[] = {
    {"read_tree", test_read_tree},
    {"aggregates", test_aggregates},
    {"ranking_modes", test_ranking_modes},
    {"table_golden", test_table_golden},
    {"reference_data", test_reference_data},
    {"json_parse", test_json_parse},
    {"bad_input", test_bad_input},
    CU_TEST_INFO_NULL,
};
CU_SuiteInfo analyze_suite = {"analyze", analyze_init, analyze_cleanup, NULL, NULL, tests};
