/* test_results.c: the HDF5 result file (io/results.c).
 *
 * Checks: every dataset and /meta attribute read back through the plain HDF5 API, the temporary-name/rename
 * protocol (no *.tmp-* left, nothing at the final name before close), refusal to overwrite (bytes unchanged),
 * overwrite replacing only at close, directory errors, a "disk full" create (RLIMIT_FSIZE) that must keep the old
 * file. The test write_for_h5py writes a file for tests/check_h5.py when DOB_RESULTS_H5PY_OUT is set. The JSON
 * export is test_json.c, checkpoints test_checkpoint.c; the fixtures are results_fx.c. */
#include "results_fx.h"

static void test_create_write_read(void) {
    char p[512];
    rfx_path_in(p, sizeof p, "results.h5");
    dob_results_meta m = std_meta();
    write_standard_file(p, &m);

    hid_t f = H5Fopen(p, H5F_ACC_RDONLY, H5P_DEFAULT);
    CU_ASSERT_FATAL(f >= 0);
    hid_t g = H5Gopen2(f, "meta", H5P_DEFAULT);
    CU_ASSERT_FATAL(g >= 0);
    CU_ASSERT_EQUAL(attr_num(g, "schema_version"), 1);
    CU_ASSERT(attr_str_eq(g, "dob_version", NULL));
    CU_ASSERT(attr_str_eq(g, "git_revision", NULL));
    CU_ASSERT(attr_str_eq(g, "problem", "cifar10_3c3d"));
    CU_ASSERT(attr_str_eq(g, "optimizer", "momentum"));
    CU_ASSERT(attr_str_eq(g, "optimizer_deepobs_name", "MomentumOptimizer"));
    CU_ASSERT(attr_str_eq(g, "command_line", "dob run cifar10_3c3d --optimizer momentum"));
    CU_ASSERT(attr_str_eq(g, "hostname", NULL));
    CU_ASSERT(attr_str_eq(g, "onednn_version", NULL));
    CU_ASSERT(attr_str_eq(g, "onednn_isa", NULL));
    CU_ASSERT(attr_str_eq(g, "created", NULL));
    CU_ASSERT_EQUAL(attr_num(g, "ranks"), 1);
    CU_ASSERT_EQUAL(attr_num(g, "threads"), 2);
    CU_ASSERT_EQUAL(attr_num(g, "batch_size"), 128);
    CU_ASSERT_EQUAL(attr_num(g, "num_epochs"), 3);
    CU_ASSERT(isnan(attr_num(g, "weight_decay")));
    CU_ASSERT_EQUAL(attr_num(g, "train_log_interval"), 10);
    CU_ASSERT_EQUAL(attr_num(g, "n_trials"), 3);
    CU_ASSERT_EQUAL(attr_num(g, "n_minibatch"), NMB);
    CU_ASSERT_EQUAL(attr_num(g, "has_accuracy"), 1);
    CU_ASSERT_EQUAL(attr_num(g, "has_valid"), 0);
    {
        hid_t a = H5Aopen(g, "hyperparameter_names", H5P_DEFAULT);
        hid_t sp = H5Aget_space(a);
        CU_ASSERT_EQUAL(H5Sget_simple_extent_npoints(sp), 2);
        char *names[2] = {0};
        hid_t t = vstr();
        CU_ASSERT(H5Aread(a, t, names) >= 0);
        CU_ASSERT(names[0] && !strcmp(names[0], "learning_rate"));
        CU_ASSERT(names[1] && !strcmp(names[1], "momentum"));
        for (int i = 0; i < 2; i++) H5free_memory(names[i]);
        H5Tclose(t);
        H5Sclose(sp);
        H5Aclose(a);
    }
    {   /* "created" is ISO local time: YYYY-MM-DDTHH:MM:SS+hhmm */
        hid_t a = H5Aopen(g, "created", H5P_DEFAULT);
        hid_t t = vstr();
        char *c = NULL;
        CU_ASSERT(H5Aread(a, t, &c) >= 0);
        CU_ASSERT(c && strlen(c) >= 19 && c[4] == '-' && c[10] == 'T' && c[13] == ':');
        H5free_memory(c);
        H5Tclose(t);
        H5Aclose(a);
    }
    H5Gclose(g);

    static const char *names[] = {"train_losses",     "valid_losses",     "test_losses",
                                  "train_accuracies", "valid_accuracies", "test_accuracies",
                                  "minibatch_train_losses", "epoch_seconds"};
    const curves *cvs[2] = {&cv0, &cv1};
    char q[96];
    int bad = 0;
    for (int k = 0; k < 3; k++) {
        for (int c = 0; c < 8; c++) {
            snprintf(q, sizeof q, "trials/%d/%s", k, names[c]);
            bad += check_f64(f, q, k < 2 ? cvs[k]->c[c] : NULL, c == 6 ? NMB : NE);
        }
        snprintf(q, sizeof q, "trials/%d/phase_seconds", k);
        bad += check_f64(f, q, k < 2 ? cvs[k]->phase : NULL, 5);
        snprintf(q, sizeof q, "trials/%d/hyperparameters", k);
        bad += check_f64(f, q, k < 2 ? cvs[k]->hp : NULL, 2);
    }
    CU_ASSERT_EQUAL(bad, 0);
    static const long long want_int[3][3] = {{42, 2, 3}, {43, 3, 1}, {0, 0, 0}}; /* seed, status, epochs_done */
    static const char *int_names[3] = {"random_seed", "status", "epochs_done"};
    for (int k = 0; k < 3; k++)
        for (int j = 0; j < 3; j++) {
            snprintf(q, sizeof q, "trials/%d/%s", k, int_names[j]);
            long long v = read_int(f, q);
            if (v != want_int[k][j]) fprintf(stderr, "\n    %s: expected %lld, found %lld\n", q, want_int[k][j], v);
            CU_ASSERT_EQUAL(v, want_int[k][j]);
        }
    H5Fclose(f);

    dob_trial_status s[4] = {9, 9, 9, 9};
    int n = -1;
    TC_ASSERT_OK(dob_results_read_status(p, 4, s, &n));
    CU_ASSERT_EQUAL(n, 3);
    CU_ASSERT(s[0] == DOB_TRIAL_DONE && s[1] == DOB_TRIAL_DIVERGED && s[2] == DOB_TRIAL_PENDING && s[3] == 9);
    CU_ASSERT_STRING_EQUAL(dob_trial_status_str(s[1]), "diverged");
    char missing[512];
    rfx_path_in(missing, sizeof missing, "nope.h5");
    TC_ASSERT_FAILS(dob_results_read_status(missing, 4, s, &n), DOB_ENOENT, "nope.h5");
    char notes[512];
    rfx_path_in(notes, sizeof notes, "notes.txt");
    rfx_put(notes, "not hdf5");
    TC_ASSERT_FAILS(dob_results_read_status(notes, 4, s, &n), DOB_EFORMAT, "is not an HDF5 file");
}

static void test_refuse_and_overwrite(void) {
    char p[512];
    rfx_path_in(p, sizeof p, "existing.h5");
    static const char old[] = "old result bytes, must survive\n";
    rfx_put(p, old);
    dob_results_meta m = std_meta();
    dob_results *r = NULL;
    TC_ASSERT_FAILS(dob_results_create(p, 0, &m, rfx_world, &r), DOB_EEXIST, "--overwrite");
    CU_ASSERT_PTR_NOT_NULL(strstr(dob_last_error(), "existing.h5"));
    CU_ASSERT_PTR_NULL(r);
    size_t len = 0;
    char *b = rfx_slurp(p, &len);
    CU_ASSERT(b && len == sizeof old - 1 && !memcmp(b, old, len));
    free(b);
    CU_ASSERT_EQUAL(count_entries(rfx_tmpdir, ".tmp-"), 0);

    /* overwrite: the old file stays until close */
    TC_ASSERT_OK(dob_results_create(p, 1, &m, rfx_world, &r));
    b = rfx_slurp(p, &len);
    CU_ASSERT(b && len == sizeof old - 1 && !memcmp(b, old, len));
    free(b);
    TC_ASSERT_OK(dob_results_close(r));
    CU_ASSERT(H5Fis_hdf5(p) > 0);
    int n = 0;
    dob_trial_status s[3];
    TC_ASSERT_OK(dob_results_read_status(p, 3, s, &n));
    CU_ASSERT(n == 3 && s[0] == DOB_TRIAL_PENDING && s[2] == DOB_TRIAL_PENDING);
    CU_ASSERT_EQUAL(count_entries(rfx_tmpdir, ".tmp-"), 0);

    /* abort removes the temporary file and leaves the existing file alone */
    b = rfx_slurp(p, &len);
    TC_ASSERT_OK(dob_results_create(p, 1, &m, rfx_world, &r));
    CU_ASSERT_EQUAL(count_entries(rfx_tmpdir, ".tmp-"), 1);
    dob_results_abort(r);
    dob_results_abort(NULL);
    CU_ASSERT_EQUAL(count_entries(rfx_tmpdir, ".tmp-"), 0);
    size_t len2 = 0;
    char *b2 = rfx_slurp(p, &len2);
    CU_ASSERT(b && b2 && len == len2 && !memcmp(b, b2, len));
    free(b);
    free(b2);
}

static void test_bad_targets(void) {
    dob_results_meta m = std_meta();
    dob_results *r = NULL;
    char p[512], d[512];
    rfx_path_in(p, sizeof p, "no_such_dir/sub/r.h5");
    TC_ASSERT_FAILS(dob_results_create(p, 0, &m, rfx_world, &r), DOB_ENOENT, "no_such_dir/sub' of the result file");
    CU_ASSERT_PTR_NOT_NULL(strstr(dob_last_error(), "does not exist"));

    rfx_path_in(d, sizeof d, "plainfile");
    rfx_put(d, "x");
    rfx_path_in(p, sizeof p, "plainfile/r.h5");
    TC_ASSERT_FAILS(dob_results_create(p, 0, &m, rfx_world, &r), DOB_ENOENT, "plainfile' (the directory of");

    rfx_path_in(p, sizeof p, "existing_dir");
    mkdir(p, 0755);
    TC_ASSERT_FAILS(dob_results_create(p, 1, &m, rfx_world, &r), DOB_EEXIST, "is an existing directory");

    rfx_path_in(d, sizeof d, "readonly");
    CU_ASSERT_EQUAL(mkdir(d, 0555), 0);
    chmod(d, 0555);
    rfx_path_in(p, sizeof p, "readonly/r.h5");
    if (geteuid() == 0) {
        fprintf(stderr, "\n    [skipped: unwritable-directory check, running as root (root can write to 0555)] ");
    } else {
        TC_ASSERT_FAILS(dob_results_create(p, 0, &m, rfx_world, &r), DOB_EIO, "is not writable");
        CU_ASSERT_PTR_NOT_NULL(strstr(dob_last_error(), "readonly"));
    }

    dob_results_meta bad = std_meta();
    static const char *wrong[] = {"lr", "momentum"};
    bad.hp_names = wrong;
    rfx_path_in(p, sizeof p, "bad.h5");
    TC_ASSERT_FAILS(dob_results_create(p, 0, &bad, rfx_world, &r), DOB_EINVAL, "hp_names[0] = \"learning_rate\"");
    bad = std_meta();
    bad.problem = "../evil";
    TC_ASSERT_FAILS(dob_results_create(p, 0, &bad, rfx_world, &r), DOB_EINVAL, "problem name '../evil'");
    CU_ASSERT_FALSE(rfx_file_exists(p));
}

/* A full disk as far as HDF5 can tell: a file-size limit (RLIMIT_FSIZE, SIGXFSZ ignored) makes every write past
 * 2 KiB (after the checksum user block) fail with EFBIG. create must fail with an HDF5 error, remove its temporary file and leave the old file
 * untouched. It runs in a child process (this binary re-executed with DOB_RESULTS_DISK_FULL=<path>): HDF5 1.10.8
 * crashes at library termination after a file close whose flush failed, so the child reports by exit code and
 * leaves with _exit before MPI_Finalize/HDF5 termination. The statvfs free-space check is tested in-process with an
 * absurd size. */
static int disk_full_child(const char *p) {
    dob_results_meta m = std_meta();
    m.n_trials = 40; /* 40 * 13 datasets: far beyond 2 KiB */
    struct rlimit lim;
    signal(SIGXFSZ, SIG_IGN);
    if (getrlimit(RLIMIT_FSIZE, &lim) != 0) return 10;
    lim.rlim_cur = 131072 + 2048; /* past the 128 KiB checksum block of 40 trials: HDF5 must hit the limit */
    if (setrlimit(RLIMIT_FSIZE, &lim) != 0) return 11;
    dob_results *r = NULL;
    dob_status st = dob_results_create(p, 1, &m, rfx_world, &r);
    fprintf(stderr, "child: create -> %s: %s\n", dob_status_str(st), dob_last_error());
    if (st != DOB_EH5) return 12;
    if (r) return 13;
    if (!strstr(dob_last_error(), "HDF5: ") || !strstr(dob_last_error(), "not created")) return 14;
    return 0;
}

static void test_disk_full(void) {
    const char *child = getenv("DOB_RESULTS_DISK_FULL");
    if (child) {
        int code = disk_full_child(child);
        rmdir(rfx_tmpdir);
        fflush(NULL);
        _exit(code);
    }
    char p[512], log[512];
    rfx_path_in(p, sizeof p, "full.h5");
    rfx_path_in(log, sizeof log, "disk_full_child.log");
    static const char old[] = "previous results\n";
    rfx_put(p, old);
    fflush(NULL);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        FILE *lf = freopen(log, "w", stderr);
        if (lf) dup2(fileno(lf), 1);
        setenv("DOB_RESULTS_DISK_FULL", p, 1);
        execl("/proc/self/exe", "dob_tests", "-s", "results", "-t", "disk_full", (char *)NULL);
        _exit(127);
    }
    int ws = 0;
    CU_ASSERT_EQUAL(waitpid(pid, &ws, 0), pid);
    int ok = WIFEXITED(ws) && WEXITSTATUS(ws) == 0;
    CU_ASSERT(ok);
    if (!ok) {
        char *text = rfx_slurp(log, NULL);
        fprintf(stderr, "\n    child exit %d (signal %d), log:\n%s\n", WIFEXITED(ws) ? WEXITSTATUS(ws) : -1,
                WIFSIGNALED(ws) ? WTERMSIG(ws) : 0, text ? text : "(none)");
        free(text);
    }
    size_t len = 0;
    char *b = rfx_slurp(p, &len);
    CU_ASSERT(b && len == sizeof old - 1 && !memcmp(b, old, len));
    free(b);
    CU_ASSERT_EQUAL(count_entries(rfx_tmpdir, ".tmp-"), 0);

    /* not enough free space: refused before HDF5 writes anything */
    dob_results_meta m = std_meta();
    m.n_trials = 1000;
    m.n_minibatch = (int64_t)1 << 40; /* 8 TiB per trial */
    dob_results *r = NULL;
    TC_ASSERT_FAILS(dob_results_create(p, 1, &m, rfx_world, &r), DOB_EIO, "not enough free space in '");
    CU_ASSERT_PTR_NULL(r);
    CU_ASSERT_EQUAL(count_entries(rfx_tmpdir, ".tmp-"), 0);
}

static void test_write_for_h5py(void) {
    const char *p = getenv("DOB_RESULTS_H5PY_OUT");
    if (!p || !*p) {
        fprintf(stderr, "\n    [skipped: DOB_RESULTS_H5PY_OUT not set] ");
        return;
    }
    dob_results_meta m = std_meta();
    m.n_trials = 2;
    dob_results *r = NULL;
    TC_ASSERT_OK(dob_results_create(p, 1, &m, rfx_world, &r));
    curves v;
    make_curves(&v, 0, 0.00251, 0.99);
    static const double acc[NE] = {0.1, 0.25, 0.5, 0.75};
    memcpy(v.c[5], acc, sizeof acc);
    dob_trial_result t = as_result(&v, 42, 3, DOB_TRIAL_DONE);
    TC_ASSERT_OK(dob_results_write_trial(r, 0, &t));
    TC_ASSERT_OK(dob_results_close(r));
}


static CU_TestInfo tests[] = {
    {"create_write_read", test_create_write_read},
    {"refuse_and_overwrite", test_refuse_and_overwrite},
    {"bad_targets", test_bad_targets},
    {"disk_full", test_disk_full},
    {"write_for_h5py", test_write_for_h5py},
    CU_TEST_INFO_NULL,
};
CU_SuiteInfo results_suite = {"results", rfx_suite_init, rfx_suite_cleanup, NULL, NULL, tests};
