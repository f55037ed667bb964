/* results_fx.c: the fixtures of results_fx.h. MPI starts as a singleton through dob_comm_init, once for the whole
 * test binary; it is finalised at exit (atexit), never in a suite cleanup, because other suites may use MPI after
 * these. Every suite writes under a fresh mkdtemp directory that its cleanup removes. */
#include "results_fx.h"

dob_comm *rfx_world;
char rfx_tmpdir[256];
/* ---- suite setup ----------------------------------------------------------------------------------------- */
int rfx_suite_init(void) {
    static int mpi_started;
    if (!mpi_started) {
        if (dob_comm_init(NULL, NULL, &rfx_world) != DOB_OK) {
            fprintf(stderr, "results: MPI init failed: %s\n", dob_last_error());
            return 1;
        }
        atexit(dob_comm_finalize);
        mpi_started = 1;
    }
    const char *base = getenv("TMPDIR");
    snprintf(rfx_tmpdir, sizeof rfx_tmpdir, "%s/dob_results_XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(rfx_tmpdir)) {
        fprintf(stderr, "results: mkdtemp %s: %s\n", rfx_tmpdir, strerror(errno));
        return 1;
    }
    return 0;
}

int rfx_suite_cleanup(void) {
    tc_rm_rf(rfx_tmpdir);
    return 0;
}

/* ---- fixtures -------------------------------------------------------------------------------------------- */
static const char *hp2[] = {"learning_rate", "momentum"};

dob_results_meta std_meta(void) {
    dob_results_meta m = {0};
    m.problem = "cifar10_3c3d";
    m.optimizer = "momentum";
    m.optimizer_deepobs_name = "MomentumOptimizer";
    m.command_line = "dob run cifar10_3c3d --optimizer momentum";
    m.batch_size = 128;
    m.num_epochs = 3;
    m.train_log_interval = 10;
    m.weight_decay = NAN;
    m.n_hp = 2;
    m.hp_names = hp2;
    m.n_trials = 3;
    m.n_minibatch = NMB;
    m.ranks = 1;
    m.threads = 2;
    m.has_accuracy = 1;
    m.has_valid = 0;
    return m;
}


void make_curves(curves *v, int k, double lr, double mom) {
    for (int c = 0; c < 8; c++)
        for (int i = 0; i < NMB + NE; i++) v->c[c][i] = 100.0 * k + 10.0 * c + 0.25 * i + 0.125;
    for (int i = 0; i < 5; i++) v->phase[i] = 0.5 + i + k;
    v->hp[0] = lr;
    v->hp[1] = mom;
    v->hp[2] = v->hp[3] = 0;
}

dob_trial_result as_result(const curves *v, int64_t seed, int epochs_done, dob_trial_status s) {
    dob_trial_result t = {0};
    t.train_losses = v->c[0];
    t.valid_losses = v->c[1];
    t.test_losses = v->c[2];
    t.train_accuracies = v->c[3];
    t.valid_accuracies = v->c[4];
    t.test_accuracies = v->c[5];
    t.minibatch_train_losses = v->c[6];
    t.epoch_seconds = v->c[7];
    t.phase_seconds = v->phase;
    t.hp = v->hp;
    t.random_seed = seed;
    t.epochs_done = epochs_done;
    t.status = s;
    return t;
}

void rfx_path_in(char *buf, size_t cap, const char *name) { snprintf(buf, cap, "%s/%s", rfx_tmpdir, name); }

/* Number of directory entries of rfx_tmpdir whose name contains `sub`. */
int count_entries(const char *dir, const char *sub) {
    DIR *d = opendir(dir);
    int n = 0;
    if (!d) return -1;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strstr(e->d_name, sub)) n++;
    closedir(d);
    return n;
}

int rfx_file_exists(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0;
}

char *rfx_slurp(const char *p, size_t *len) {
    FILE *f = fopen(p, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    if (b) b[n] = '\0';
    if (len) *len = (size_t)n;
    fclose(f);
    return b;
}

void rfx_put(const char *p, const char *text) {
    FILE *f = fopen(p, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
}

/* ---- HDF5 readers (plain API, independent of io/) -------------------------------------------------------- */
int rfx_same(double a, double b) { return (isnan(a) && isnan(b)) || a == b; }

/* Read dataset `p` (n doubles) and compare with want (NULL: all NaN). @return number of mismatches. */
int check_f64(hid_t f, const char *p, const double *want, int n) {
    double got[64];
    hid_t d = H5Dopen2(f, p, H5P_DEFAULT);
    if (d < 0) {
        fprintf(stderr, "\n    cannot open %s\n", p);
        return 1;
    }
    hid_t sp = H5Dget_space(d);
    hssize_t np = H5Sget_simple_extent_npoints(sp);
    H5Sclose(sp);
    int bad = 0;
    if (np != n) {
        fprintf(stderr, "\n    %s: expected %d elements, found %lld\n", p, n, (long long)np);
        bad = 1;
    } else if (H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, got) < 0) {
        bad = 1;
    } else {
        for (int i = 0; i < n; i++)
            if (!rfx_same(got[i], want ? want[i] : NAN)) {
                fprintf(stderr, "\n    %s[%d]: expected %.17g, found %.17g\n", p, i, want ? want[i] : NAN, got[i]);
                bad++;
            }
    }
    H5Dclose(d);
    return bad;
}

long long read_int(hid_t f, const char *p) {
    long long v = -12345;
    hid_t d = H5Dopen2(f, p, H5P_DEFAULT);
    if (d < 0) return v;
    hid_t sp = H5Dget_space(d);
    if (H5Sget_simple_extent_type(sp) != H5S_SCALAR) v = -54321;
    else if (H5Dread(d, H5T_NATIVE_LLONG, H5S_ALL, H5S_ALL, H5P_DEFAULT, &v) < 0) v = -12345;
    H5Sclose(sp);
    H5Dclose(d);
    return v;
}

/* Memory type of the file's strings: variable length, UTF-8 (HDF5 does not convert character sets). */
hid_t vstr(void) {
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    return t;
}

int attr_str_eq(hid_t g, const char *name, const char *want) {
    char *got = NULL;
    int ok = 0;
    hid_t a = H5Aopen(g, name, H5P_DEFAULT);
    hid_t ft = a >= 0 ? H5Aget_type(a) : -1;
    hid_t t = vstr();
    if (ft >= 0 && H5Tis_variable_str(ft) > 0 && H5Aread(a, t, &got) >= 0) {
        ok = want ? !strcmp(got, want) : got[0] != '\0';
        if (!ok) fprintf(stderr, "\n    /meta %s: expected '%s', found '%s'\n", name, want ? want : "(any)", got);
        H5free_memory(got);
    } else
        fprintf(stderr, "\n    /meta %s: missing or not a variable-length string\n", name);
    H5Tclose(t);
    if (ft >= 0) H5Tclose(ft);
    if (a >= 0) H5Aclose(a);
    return ok;
}

double attr_num(hid_t g, const char *name) {
    double v = -999;
    hid_t a = H5Aopen(g, name, H5P_DEFAULT);
    if (a < 0 || H5Aread(a, H5T_NATIVE_DOUBLE, &v) < 0) fprintf(stderr, "\n    /meta %s unreadable\n", name);
    if (a >= 0) H5Aclose(a);
    return v;
}

/* ---- tests ----------------------------------------------------------------------------------------------- */
curves cv0, cv1;

/* Creates results.h5 with trials 0 (done) and 1 (diverged, NaN tail), trial 2 left pending. */
void write_standard_file(const char *p, const dob_results_meta *m) {
    dob_results *r = NULL;
    TC_ASSERT_OK(dob_results_create(p, 0, m, rfx_world, &r));
    make_curves(&cv0, 0, 0.00251, 0.99);
    make_curves(&cv1, 1, pow(10.0, -4.8), 0.99);
    for (int c = 0; c < 8; c++) cv1.c[c][2] = cv1.c[c][3] = NAN;
    cv1.c[6][NMB - 1] = INFINITY;
    dob_trial_result t0 = as_result(&cv0, 42, 3, DOB_TRIAL_DONE);
    dob_trial_result t1 = as_result(&cv1, 43, 1, DOB_TRIAL_RUNNING);
    TC_ASSERT_OK(dob_results_write_trial(r, 0, &t0));
    TC_ASSERT_OK(dob_results_write_trial(r, 1, &t1));
    TC_ASSERT_OK(dob_results_set_status(r, 1, DOB_TRIAL_DIVERGED));
    TC_ASSERT_FAILS(dob_results_write_trial(r, 3, &t0), DOB_EINVAL, "trial id must be in [0, 3), found 3");
    TC_ASSERT_FAILS(dob_results_set_status(r, 0, (dob_trial_status)7), DOB_EINVAL, "found 7");
    /* before close: only the temporary file exists */
    CU_ASSERT_FALSE(rfx_file_exists(p));
    char dir[512];
    snprintf(dir, sizeof dir, "%s", p);
    *strrchr(dir, '/') = '\0';
    CU_ASSERT_EQUAL(count_entries(dir, ".tmp-"), 1);
    TC_ASSERT_OK(dob_results_close(r));
    CU_ASSERT_TRUE(rfx_file_exists(p));
    CU_ASSERT_EQUAL(count_entries(dir, ".tmp-"), 0);
}

