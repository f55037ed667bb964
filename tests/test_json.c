/* test_json.c: the DeepOBS JSON export of result files (io/json_export.c): folder and file names, DeepOBS's
 * float format, key order, values, null for NaN, refusal to overwrite. Fixtures: results_fx.c. */
#include "dob/analyze.h"
#include "results_fx.h"

/* ---- JSON export ----------------------------------------------------------------------------------------- */
static void created_stamp(const char *h5, char *stamp, size_t cap) {
    hid_t f = H5Fopen(h5, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t g = H5Gopen2(f, "meta", H5P_DEFAULT);
    hid_t a = H5Aopen(g, "created", H5P_DEFAULT);
    hid_t t = vstr();
    char *c = NULL;
    if (H5Aread(a, t, &c) >= 0 && c && strlen(c) >= 19)
        snprintf(stamp, cap, "%.4s-%.2s-%.2s-%.2s-%.2s-%.2s", c, c + 5, c + 8, c + 11, c + 14, c + 17);
    else
        snprintf(stamp, cap, "?");
    H5free_memory(c);
    H5Tclose(t);
    H5Aclose(a);
    H5Gclose(g);
    H5Fclose(f);
}

/* Keys must appear in this order at the top level of the text. */
static int keys_in_order(const char *text, const char *const *keys, int n) {
    const char *pos = text;
    for (int i = 0; i < n; i++) {
        char k[64];
        snprintf(k, sizeof k, "\"%s\": ", keys[i]);
        const char *q = strstr(pos, k);
        if (!q) {
            fprintf(stderr, "\n    key %s missing or out of order\n", keys[i]);
            return 0;
        }
        pos = q + 1;
    }
    return 1;
}

static int json_curve_eq(json_t *o, const char *key, const double *want, int n) {
    json_t *a = json_object_get(o, key);
    if (!json_is_array(a) || (int)json_array_size(a) != n) {
        fprintf(stderr, "\n    %s: expected an array of %d\n", key, n);
        return 0;
    }
    for (int i = 0; i < n; i++) {
        json_t *v = json_array_get(a, (size_t)i);
        int ok = isfinite(want[i]) ? json_is_real(v) && json_real_value(v) == want[i] : json_is_null(v);
        if (!ok) {
            fprintf(stderr, "\n    %s[%d]: expected %.17g\n", key, i, want[i]);
            return 0;
        }
    }
    return 1;
}

static json_t *load_json(const char *file, char **text) {
    *text = rfx_slurp(file, NULL);
    if (!*text) {
        fprintf(stderr, "\n    missing %s\n", file);
        return NULL;
    }
    json_error_t e;
    json_t *o = json_loads(*text, 0, &e);
    if (!o) fprintf(stderr, "\n    %s: %s\n", file, e.text);
    return o;
}

static void test_json_export(void) {
    char h5[512], out[512], file[2048], stamp[32];
    rfx_path_in(h5, sizeof h5, "export.h5");
    rfx_path_in(out, sizeof out, "json");
    dob_results_meta m = std_meta();
    write_standard_file(h5, &m);
    created_stamp(h5, stamp, sizeof stamp);
    int n = -1;
    TC_ASSERT_OK(dob_results_export_json(h5, out, &n));
    CU_ASSERT_EQUAL(n, 2);

    static const char *keys[] = {"train_losses", "test_losses", "minibatch_train_losses", "train_accuracies",
                                 "test_accuracies", "optimizer", "testproblem", "weight_decay", "batch_size",
                                 "num_epochs", "learning_rate", "lr_sched_epochs", "lr_sched_factors",
                                 "random_seed", "train_log_interval", "hyperparams"};
    const curves *cvs[2] = {&cv0, &cv1};
    static const char *settings[2] = {"num_epochs__3__batch_size__128__momentum__9.9e-01__lr__2.51e-03",
                                      "num_epochs__3__batch_size__128__momentum__9.9e-01__lr__1.5848931925e-05"};
    for (int k = 0; k < 2; k++) {
        snprintf(file, sizeof file, "%s/cifar10_3c3d/MomentumOptimizer/%s/random_seed__%d__%s.json", out,
                 settings[k], 42 + k, stamp);
        char *text = NULL;
        json_t *o = load_json(file, &text);
        CU_ASSERT_PTR_NOT_NULL(o);
        if (o) {
            CU_ASSERT_EQUAL(json_object_size(o), 16);
            CU_ASSERT(keys_in_order(text, keys, 16));
            CU_ASSERT_PTR_NULL(strstr(text, "valid_"));
            CU_ASSERT(json_curve_eq(o, "train_losses", cvs[k]->c[0], NE));
            CU_ASSERT(json_curve_eq(o, "test_losses", cvs[k]->c[2], NE));
            CU_ASSERT(json_curve_eq(o, "minibatch_train_losses", cvs[k]->c[6], NMB));
            CU_ASSERT(json_curve_eq(o, "train_accuracies", cvs[k]->c[3], NE));
            CU_ASSERT(json_curve_eq(o, "test_accuracies", cvs[k]->c[5], NE));
            CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "optimizer")), "MomentumOptimizer");
            CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "testproblem")), "cifar10_3c3d");
            CU_ASSERT(json_is_null(json_object_get(o, "weight_decay")));
            CU_ASSERT_EQUAL(json_integer_value(json_object_get(o, "batch_size")), 128);
            CU_ASSERT_EQUAL(json_integer_value(json_object_get(o, "num_epochs")), 3);
            CU_ASSERT_EQUAL(json_real_value(json_object_get(o, "learning_rate")), cvs[k]->hp[0]);
            CU_ASSERT(json_is_null(json_object_get(o, "lr_sched_epochs")));
            CU_ASSERT(json_is_null(json_object_get(o, "lr_sched_factors")));
            CU_ASSERT_EQUAL(json_integer_value(json_object_get(o, "random_seed")), 42 + k);
            CU_ASSERT_EQUAL(json_integer_value(json_object_get(o, "train_log_interval")), 10);
            json_t *hp = json_object_get(o, "hyperparams");
            CU_ASSERT(json_is_object(hp) && json_object_size(hp) == 1);
            CU_ASSERT_EQUAL(json_real_value(json_object_get(hp, "momentum")), 0.99);
            /* DeepOBS's json.dump separators */
            CU_ASSERT(strncmp(text, "{\"train_losses\": [", 18) == 0);
        }
        json_decref(o);
        free(text);
    }
    /* diverged trial: NaN and Inf became null */
    snprintf(file, sizeof file, "%s/cifar10_3c3d/MomentumOptimizer/%s/random_seed__43__%s.json", out, settings[1],
             stamp);
    char *text = rfx_slurp(file, NULL);
    CU_ASSERT(text && strstr(text, "\"train_losses\": [100.125, 100.375, null, null]"));
    free(text);

    /* a second export refuses to overwrite and writes nothing */
    TC_ASSERT_FAILS(dob_results_export_json(h5, out, &n), DOB_EEXIST, "already exists; refusing to overwrite");
    CU_ASSERT_EQUAL(n, 0);
    TC_ASSERT_FAILS(dob_results_export_json("/nonexistent/x.h5", out, &n), DOB_ENOENT, "/nonexistent/x.h5");
}

/* Weight decay given, a validation split, three hyperparameters (alphabetical folder order), and a problem
 * without accuracy. */
static void test_json_variants(void) {
    char h5[512], out[512], file[2048], stamp[32];
    static const char *hp3[] = {"learning_rate", "momentum", "alpha"};
    dob_results_meta m = std_meta();
    m.weight_decay = 0.01;
    m.has_valid = 1;
    m.n_hp = 3;
    m.hp_names = hp3;
    m.n_trials = 1;
    rfx_path_in(h5, sizeof h5, "variant.h5");
    rfx_path_in(out, sizeof out, "json2");
    dob_results *r = NULL;
    TC_ASSERT_OK(dob_results_create(h5, 0, &m, rfx_world, &r));
    curves v;
    make_curves(&v, 0, pow(10.0, -4.8), 0.9);
    v.hp[2] = 0.01;
    dob_trial_result t = as_result(&v, 7, 3, DOB_TRIAL_DONE);
    TC_ASSERT_OK(dob_results_write_trial(r, 0, &t));
    TC_ASSERT_OK(dob_results_close(r));
    created_stamp(h5, stamp, sizeof stamp);
    int n = 0;
    TC_ASSERT_OK(dob_results_export_json(h5, out, &n));
    CU_ASSERT_EQUAL(n, 1);
    snprintf(file, sizeof file,
             "%s/cifar10_3c3d/MomentumOptimizer/num_epochs__3__batch_size__128__weight_decay__1.e-02__alpha__1.e-02__"
             "momentum__9.e-01__lr__1.5848931925e-05/random_seed__7__%s.json",
             out, stamp);
    char *text = NULL;
    json_t *o = load_json(file, &text);
    CU_ASSERT_PTR_NOT_NULL(o);
    if (o) {
        static const char *keys[] = {"train_losses", "test_losses", "valid_losses", "minibatch_train_losses",
                                     "train_accuracies", "test_accuracies", "valid_accuracies", "optimizer",
                                     "testproblem", "weight_decay", "batch_size", "num_epochs", "learning_rate",
                                     "lr_sched_epochs", "lr_sched_factors", "random_seed", "train_log_interval",
                                     "hyperparams"};
        CU_ASSERT_EQUAL(json_object_size(o), 18);
        CU_ASSERT(keys_in_order(text, keys, 18));
        CU_ASSERT(json_curve_eq(o, "valid_losses", v.c[1], NE));
        CU_ASSERT(json_curve_eq(o, "valid_accuracies", v.c[4], NE));
        CU_ASSERT_EQUAL(json_real_value(json_object_get(o, "weight_decay")), 0.01);
        CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"hyperparams\": {\"momentum\": 0.90000000000000002, \"alpha\": "));
    }
    json_decref(o);
    free(text);

    /* no accuracy, only a learning rate */
    static const char *hp1[] = {"learning_rate"};
    m = std_meta();
    m.problem = "quadratic_deep";
    m.optimizer = "sgd";
    m.optimizer_deepobs_name = NULL; /* falls back to the dob name */
    m.has_accuracy = 0;
    m.n_hp = 1;
    m.hp_names = hp1;
    m.n_trials = 2;
    rfx_path_in(h5, sizeof h5, "quad.h5");
    TC_ASSERT_OK(dob_results_create(h5, 0, &m, rfx_world, &r));
    make_curves(&v, 0, 0.01, 0);
    t = as_result(&v, 42, 3, DOB_TRIAL_DONE);
    TC_ASSERT_OK(dob_results_write_trial(r, 0, &t));
    t.status = DOB_TRIAL_FAILED; /* failed trials are not exported */
    TC_ASSERT_OK(dob_results_write_trial(r, 1, &t));
    TC_ASSERT_OK(dob_results_close(r));
    created_stamp(h5, stamp, sizeof stamp);
    TC_ASSERT_OK(dob_results_export_json(h5, out, &n));
    CU_ASSERT_EQUAL(n, 1);
    snprintf(file, sizeof file, "%s/quadratic_deep/sgd/num_epochs__3__batch_size__128__lr__1.e-02/"
             "random_seed__42__%s.json", out, stamp);
    o = load_json(file, &text);
    CU_ASSERT_PTR_NOT_NULL(o);
    if (o) {
        CU_ASSERT_EQUAL(json_object_size(o), 14);
        CU_ASSERT_PTR_NULL(strstr(text, "accuracies"));
        CU_ASSERT(json_is_object(json_object_get(o, "hyperparams")) &&
                  json_object_size(json_object_get(o, "hyperparams")) == 0);
    }
    json_decref(o);
    free(text);
}

/* DeepOBS 1.2's layout (--layout 1.2): folder names with every hyperparameter, key order, the diverged trial padded
 * as 1.2's _abort_routine pads it; and dob analyze reads the export back to the same values as the HDF5 file. */
static void test_json_layout12(void) {
    char h5[512], out[512], file[2048], stamp[32];
    rfx_path_in(h5, sizeof h5, "export12.h5");
    rfx_path_in(out, sizeof out, "json12");
    dob_results_meta m = std_meta();
    write_standard_file(h5, &m);
    created_stamp(h5, stamp, sizeof stamp);
    int n = -1;
    TC_ASSERT_FAILS(dob_results_export_json_layout(h5, out, 13, &n), DOB_EINVAL, "layout must be 1.1 or 1.2");
    TC_ASSERT_OK(dob_results_export_json_layout(h5, out, 12, &n));
    CU_ASSERT_EQUAL(n, 2);
    static const char *keys[] = {"testproblem", "batch_size", "num_epochs", "random_seed", "weight_decay",
                                 "optimizer_name", "optimizer_hyperparams", "training_params", "train_losses",
                                 "test_losses", "train_accuracies", "test_accuracies", "minibatch_train_losses"};
    static const char *settings[2] = {
        "num_epochs__3__batch_size__128__learning_rate__2.51e-03__momentum__9.9e-01",
        "num_epochs__3__batch_size__128__learning_rate__1.5848931925e-05__momentum__9.9e-01"};
    const curves *cvs[2] = {&cv0, &cv1};
    for (int k = 0; k < 2; k++) {
        snprintf(file, sizeof file, "%s/cifar10_3c3d/MomentumOptimizer/%s/random_seed__%d__%s.json", out,
                 settings[k], 42 + k, stamp);
        char *text = NULL;
        json_t *o = load_json(file, &text);
        CU_ASSERT_PTR_NOT_NULL(o);
        if (o) {
            CU_ASSERT_EQUAL(json_object_size(o), 13);
            CU_ASSERT(keys_in_order(text, keys, 13));
            static const char head[] = "{\n    \"testproblem\": \"cifar10_3c3d\",\n"; /* indent 4 */
            CU_ASSERT(strncmp(text, head, strlen(head)) == 0);
            json_t *hp = json_object_get(o, "optimizer_hyperparams");
            CU_ASSERT_EQUAL(json_real_value(json_object_get(hp, "learning_rate")), cvs[k]->hp[0]);
            CU_ASSERT_EQUAL(json_real_value(json_object_get(hp, "momentum")), 0.99);
            CU_ASSERT(json_is_object(json_object_get(o, "training_params")) &&
                      json_object_size(json_object_get(o, "training_params")) == 0);
            CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "optimizer_name")), "MomentumOptimizer");
        }
        if (o && k == 0) {
            CU_ASSERT(json_curve_eq(o, "test_losses", cv0.c[2], NE));
            CU_ASSERT(json_curve_eq(o, "minibatch_train_losses", cv0.c[6], NMB));
        }
        if (o && k == 1) { /* diverged after epoch 1: metrics padded with epoch 0, mini-batch losses with the first */
            double tl[NE] = {cv1.c[2][0], cv1.c[2][1], cv1.c[2][0], cv1.c[2][0]};
            double ta[NE] = {cv1.c[5][0], cv1.c[5][1], cv1.c[5][0], cv1.c[5][0]};
            double mb[4] = {cv1.c[6][0], cv1.c[6][1], cv1.c[6][0], cv1.c[6][0]};
            CU_ASSERT(json_curve_eq(o, "test_losses", tl, NE));
            CU_ASSERT(json_curve_eq(o, "test_accuracies", ta, NE));
            CU_ASSERT(json_curve_eq(o, "minibatch_train_losses", mb, 4));
            const char *wd = strstr(text, "\"weight_decay\": null"); /* the default, as DeepOBS writes it */
            CU_ASSERT(wd && !strstr(wd + 20, "null"));                  /* every curve finite */
            CU_ASSERT(wd && strstr(text, "null") == wd + 16);
        }
        json_decref(o);
        free(text);
    }
    /* dob analyze: the export reads back as the file, the diverged run recognised by its padding */
    dob_an_runs a = {0}, b = {0};
    int sk = 0;
    TC_ASSERT_OK(dob_an_read_path(h5, &a, &sk));
    TC_ASSERT_OK(dob_an_read_path(out, &b, &sk));
    CU_ASSERT_EQUAL_FATAL(a.n, 3);
    CU_ASSERT_EQUAL_FATAL(b.n, 2);
    for (int k = 0; k < 2; k++) {
        const dob_an_run *x = &a.r[k], *y = &b.r[b.r[0].seed == x->seed ? 0 : 1]; /* the JSON by folder name */
        CU_ASSERT_EQUAL(x->seed, y->seed);
        CU_ASSERT_EQUAL(x->status, y->status);
        CU_ASSERT_EQUAL(y->origin, DOB_AN_JSON_V12);
        for (int c = 0; c < DOB_AN_N_CURVES; c++)
            for (int64_t i = 0; x->curve[c] && i < NE; i++)
                CU_ASSERT(rfx_same(dob_an_run_value(x, (dob_curve)c, i, NE), dob_an_run_value(y, (dob_curve)c, i, NE)));
    }
    CU_ASSERT_EQUAL(b.r[0].status + b.r[1].status, DOB_TRIAL_DONE + DOB_TRIAL_DIVERGED);
    dob_an_runs_free(&a);
    dob_an_runs_free(&b);

    /* a sweep's learning-rate schedule: DeepOBS 1.2's training_params and their str() in the folder name */
    rfx_path_in(h5, sizeof h5, "sched12.h5");
    rfx_path_in(out, sizeof out, "json12s");
    int64_t ids[1] = {0}, seeds[1] = {42};
    double hp[2] = {0.5, 0.9};
    m.n_trials = 1;
    dob_sweep_meta sw = {.spec = "learning_rate=0.5;momentum=0.9;seeds=42", .lr_schedule = "1:0.10000000000000001,2:100",
                         .n_trials_total = 1, .slice_id = -1, .slice_count = -1, .trial_ids = ids, .seeds = seeds,
                         .hp = hp, .in_place = 0};
    dob_results *r = NULL;
    TC_ASSERT_OK(dob_results_create_sweep(h5, 0, &m, &sw, rfx_world, &r));
    dob_trial_result t0 = as_result(&cv0, 42, 3, DOB_TRIAL_DONE);
    t0.hp = hp;
    TC_ASSERT_OK(dob_results_write_trial(r, 0, &t0));
    TC_ASSERT_OK(dob_results_close(r));
    created_stamp(h5, stamp, sizeof stamp);
    TC_ASSERT_OK(dob_results_export_json_layout(h5, out, 12, &n));
    snprintf(file, sizeof file, "%s/cifar10_3c3d/MomentumOptimizer/num_epochs__3__batch_size__128__learning_rate__5.e-01"
             "__momentum__9.e-01__lr_sched_epochs__[1, 2]__lr_sched_factors__[0.1, 100.0]/random_seed__42__%s.json",
             out, stamp);
    char *text = NULL;
    json_t *o = load_json(file, &text);
    CU_ASSERT_PTR_NOT_NULL(o);
    json_t *tp = json_object_get(o, "training_params");
    CU_ASSERT(json_array_size(json_object_get(tp, "lr_sched_epochs")) == 2 &&
              json_integer_value(json_array_get(json_object_get(tp, "lr_sched_epochs"), 1)) == 2);
    CU_ASSERT_EQUAL(json_real_value(json_array_get(json_object_get(tp, "lr_sched_factors"), 0)), 0.1);
    json_decref(o);
    free(text);
}

/* Writes a small file to $DOB_RESULTS_H5PY_OUT for tests/check_h5.py (CTest fixture); skipped when unset. */
static CU_TestInfo tests[] = {
    {"json_export", test_json_export},
    {"json_variants", test_json_variants},
    {"json_layout12", test_json_layout12},
    CU_TEST_INFO_NULL,
};
CU_SuiteInfo json_suite = {"json", rfx_suite_init, rfx_suite_cleanup, NULL, NULL, tests};
