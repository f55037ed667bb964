/* test_results.c: the HDF5 result file (io/results.c) and its DeepOBS JSON export (io/json_export.c).
 *
 * Single process: MPI starts as a singleton through dob_comm_init, once for the whole test binary; it is
 * finalised at exit (atexit), never in the suite cleanup, because other suites may use MPI after this one.
 * Everything is written under a fresh mkdtemp directory that the suite cleanup removes.
 * Checks: every dataset and /meta attribute read back through the plain HDF5 API, the temporary-name/rename
 * protocol (no *.tmp-* left, nothing at the final name before close), refusal to overwrite (bytes unchanged),
 * overwrite replacing only at close, directory errors, a "disk full" create (RLIMIT_FSIZE) that must keep the old
 * file, and the JSON export (folder/file names, DeepOBS float format, key order, values, null for NaN, refusal to
 * overwrite). The test write_for_h5py writes a file for tests/check_h5.py when DOB_RESULTS_H5PY_OUT is set. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hdf5.h>
#include <jansson.h>

#include "dob/checkpoint.h"
#include "dob/comm.h"
#include "dob/results.h"
#include "tc.h"

static dob_comm *world;
static char tmpdir[256];

/* ---- suite setup ----------------------------------------------------------------------------------------- */
static int rm_rf(const char *p) {
    struct stat sb;
    if (lstat(p, &sb) != 0) return 0;
    if (S_ISDIR(sb.st_mode)) {
        chmod(p, 0700);
        DIR *d = opendir(p);
        if (d) {
            struct dirent *e;
            while ((e = readdir(d))) {
                if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
                char q[1024];
                snprintf(q, sizeof q, "%s/%s", p, e->d_name);
                rm_rf(q);
            }
            closedir(d);
        }
        return rmdir(p);
    }
    return unlink(p);
}

static int suite_init(void) {
    static int mpi_started;
    if (!mpi_started) {
        if (dob_comm_init(NULL, NULL, &world) != DOB_OK) {
            fprintf(stderr, "results: MPI init failed: %s\n", dob_last_error());
            return 1;
        }
        atexit(dob_comm_finalize);
        mpi_started = 1;
    }
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/dob_results_XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmpdir)) {
        fprintf(stderr, "results: mkdtemp %s: %s\n", tmpdir, strerror(errno));
        return 1;
    }
    return 0;
}

static int suite_cleanup(void) {
    rm_rf(tmpdir);
    return 0;
}

/* ---- fixtures -------------------------------------------------------------------------------------------- */
#define NE 4 /* num_epochs 3 -> 4 evaluations */
#define NMB 7
static const char *hp2[] = {"learning_rate", "momentum"};

static dob_results_meta std_meta(void) {
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

/* Distinct values per trial and per curve; curve c of trial k at entry i. */
typedef struct curves {
    double c[8][NMB + NE]; /* 0..5 the six metric curves, 6 minibatch, 7 epoch seconds */
    double phase[5], hp[4];
} curves;

static void make_curves(curves *v, int k, double lr, double mom) {
    for (int c = 0; c < 8; c++)
        for (int i = 0; i < NMB + NE; i++) v->c[c][i] = 100.0 * k + 10.0 * c + 0.25 * i + 0.125;
    for (int i = 0; i < 5; i++) v->phase[i] = 0.5 + i + k;
    v->hp[0] = lr;
    v->hp[1] = mom;
    v->hp[2] = v->hp[3] = 0;
}

static dob_trial_result as_result(const curves *v, int64_t seed, int epochs_done, dob_trial_status s) {
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

static void path_in(char *buf, size_t cap, const char *name) { snprintf(buf, cap, "%s/%s", tmpdir, name); }

/* Number of directory entries of tmpdir whose name contains `sub`. */
static int count_entries(const char *dir, const char *sub) {
    DIR *d = opendir(dir);
    int n = 0;
    if (!d) return -1;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strstr(e->d_name, sub)) n++;
    closedir(d);
    return n;
}

static int file_exists(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0;
}

static char *slurp(const char *p, size_t *len) {
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

static void put(const char *p, const char *text) {
    FILE *f = fopen(p, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
}

/* ---- HDF5 readers (plain API, independent of io/) -------------------------------------------------------- */
static int same(double a, double b) { return (isnan(a) && isnan(b)) || a == b; }

/* Read dataset `p` (n doubles) and compare with want (NULL: all NaN). @return number of mismatches. */
static int check_f64(hid_t f, const char *p, const double *want, int n) {
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
            if (!same(got[i], want ? want[i] : NAN)) {
                fprintf(stderr, "\n    %s[%d]: expected %.17g, found %.17g\n", p, i, want ? want[i] : NAN, got[i]);
                bad++;
            }
    }
    H5Dclose(d);
    return bad;
}

static long long read_int(hid_t f, const char *p) {
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
static hid_t vstr(void) {
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    return t;
}

static int attr_str_eq(hid_t g, const char *name, const char *want) {
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

static double attr_num(hid_t g, const char *name) {
    double v = -999;
    hid_t a = H5Aopen(g, name, H5P_DEFAULT);
    if (a < 0 || H5Aread(a, H5T_NATIVE_DOUBLE, &v) < 0) fprintf(stderr, "\n    /meta %s unreadable\n", name);
    if (a >= 0) H5Aclose(a);
    return v;
}

/* ---- tests ----------------------------------------------------------------------------------------------- */
static curves cv0, cv1;

/* Creates results.h5 with trials 0 (done) and 1 (diverged, NaN tail), trial 2 left pending. */
static void write_standard_file(const char *p, const dob_results_meta *m) {
    dob_results *r = NULL;
    TC_ASSERT_OK(dob_results_create(p, 0, m, world, &r));
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
    CU_ASSERT_FALSE(file_exists(p));
    char dir[512];
    snprintf(dir, sizeof dir, "%s", p);
    *strrchr(dir, '/') = '\0';
    CU_ASSERT_EQUAL(count_entries(dir, ".tmp-"), 1);
    TC_ASSERT_OK(dob_results_close(r));
    CU_ASSERT_TRUE(file_exists(p));
    CU_ASSERT_EQUAL(count_entries(dir, ".tmp-"), 0);
}

static void test_create_write_read(void) {
    char p[512];
    path_in(p, sizeof p, "results.h5");
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
    path_in(missing, sizeof missing, "nope.h5");
    TC_ASSERT_FAILS(dob_results_read_status(missing, 4, s, &n), DOB_ENOENT, "nope.h5");
    char notes[512];
    path_in(notes, sizeof notes, "notes.txt");
    put(notes, "not hdf5");
    TC_ASSERT_FAILS(dob_results_read_status(notes, 4, s, &n), DOB_EFORMAT, "is not an HDF5 file");
}

static void test_refuse_and_overwrite(void) {
    char p[512];
    path_in(p, sizeof p, "existing.h5");
    static const char old[] = "old result bytes, must survive\n";
    put(p, old);
    dob_results_meta m = std_meta();
    dob_results *r = NULL;
    TC_ASSERT_FAILS(dob_results_create(p, 0, &m, world, &r), DOB_EEXIST, "--overwrite");
    CU_ASSERT_PTR_NOT_NULL(strstr(dob_last_error(), "existing.h5"));
    CU_ASSERT_PTR_NULL(r);
    size_t len = 0;
    char *b = slurp(p, &len);
    CU_ASSERT(b && len == sizeof old - 1 && !memcmp(b, old, len));
    free(b);
    CU_ASSERT_EQUAL(count_entries(tmpdir, ".tmp-"), 0);

    /* overwrite: the old file stays until close */
    TC_ASSERT_OK(dob_results_create(p, 1, &m, world, &r));
    b = slurp(p, &len);
    CU_ASSERT(b && len == sizeof old - 1 && !memcmp(b, old, len));
    free(b);
    TC_ASSERT_OK(dob_results_close(r));
    CU_ASSERT(H5Fis_hdf5(p) > 0);
    int n = 0;
    dob_trial_status s[3];
    TC_ASSERT_OK(dob_results_read_status(p, 3, s, &n));
    CU_ASSERT(n == 3 && s[0] == DOB_TRIAL_PENDING && s[2] == DOB_TRIAL_PENDING);
    CU_ASSERT_EQUAL(count_entries(tmpdir, ".tmp-"), 0);

    /* abort removes the temporary file and leaves the existing file alone */
    b = slurp(p, &len);
    TC_ASSERT_OK(dob_results_create(p, 1, &m, world, &r));
    CU_ASSERT_EQUAL(count_entries(tmpdir, ".tmp-"), 1);
    dob_results_abort(r);
    dob_results_abort(NULL);
    CU_ASSERT_EQUAL(count_entries(tmpdir, ".tmp-"), 0);
    size_t len2 = 0;
    char *b2 = slurp(p, &len2);
    CU_ASSERT(b && b2 && len == len2 && !memcmp(b, b2, len));
    free(b);
    free(b2);
}

static void test_bad_targets(void) {
    dob_results_meta m = std_meta();
    dob_results *r = NULL;
    char p[512], d[512];
    path_in(p, sizeof p, "no_such_dir/sub/r.h5");
    TC_ASSERT_FAILS(dob_results_create(p, 0, &m, world, &r), DOB_ENOENT, "no_such_dir/sub' of the result file");
    CU_ASSERT_PTR_NOT_NULL(strstr(dob_last_error(), "does not exist"));

    path_in(d, sizeof d, "plainfile");
    put(d, "x");
    path_in(p, sizeof p, "plainfile/r.h5");
    TC_ASSERT_FAILS(dob_results_create(p, 0, &m, world, &r), DOB_ENOENT, "plainfile' (the directory of");

    path_in(p, sizeof p, "existing_dir");
    mkdir(p, 0755);
    TC_ASSERT_FAILS(dob_results_create(p, 1, &m, world, &r), DOB_EEXIST, "is an existing directory");

    path_in(d, sizeof d, "readonly");
    CU_ASSERT_EQUAL(mkdir(d, 0555), 0);
    chmod(d, 0555);
    path_in(p, sizeof p, "readonly/r.h5");
    if (geteuid() == 0) {
        fprintf(stderr, "\n    [skipped: unwritable-directory check, running as root (root can write to 0555)] ");
    } else {
        TC_ASSERT_FAILS(dob_results_create(p, 0, &m, world, &r), DOB_EIO, "is not writable");
        CU_ASSERT_PTR_NOT_NULL(strstr(dob_last_error(), "readonly"));
    }

    dob_results_meta bad = std_meta();
    static const char *wrong[] = {"lr", "momentum"};
    bad.hp_names = wrong;
    path_in(p, sizeof p, "bad.h5");
    TC_ASSERT_FAILS(dob_results_create(p, 0, &bad, world, &r), DOB_EINVAL, "hp_names[0] = \"learning_rate\"");
    bad = std_meta();
    bad.problem = "../evil";
    TC_ASSERT_FAILS(dob_results_create(p, 0, &bad, world, &r), DOB_EINVAL, "problem name '../evil'");
    CU_ASSERT_FALSE(file_exists(p));
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
    dob_status st = dob_results_create(p, 1, &m, world, &r);
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
        rmdir(tmpdir);
        fflush(NULL);
        _exit(code);
    }
    char p[512], log[512];
    path_in(p, sizeof p, "full.h5");
    path_in(log, sizeof log, "disk_full_child.log");
    static const char old[] = "previous results\n";
    put(p, old);
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
        char *text = slurp(log, NULL);
        fprintf(stderr, "\n    child exit %d (signal %d), log:\n%s\n", WIFEXITED(ws) ? WEXITSTATUS(ws) : -1,
                WIFSIGNALED(ws) ? WTERMSIG(ws) : 0, text ? text : "(none)");
        free(text);
    }
    size_t len = 0;
    char *b = slurp(p, &len);
    CU_ASSERT(b && len == sizeof old - 1 && !memcmp(b, old, len));
    free(b);
    CU_ASSERT_EQUAL(count_entries(tmpdir, ".tmp-"), 0);

    /* not enough free space: refused before HDF5 writes anything */
    dob_results_meta m = std_meta();
    m.n_trials = 1000;
    m.n_minibatch = (int64_t)1 << 40; /* 8 TiB per trial */
    dob_results *r = NULL;
    TC_ASSERT_FAILS(dob_results_create(p, 1, &m, world, &r), DOB_EIO, "not enough free space in '");
    CU_ASSERT_PTR_NULL(r);
    CU_ASSERT_EQUAL(count_entries(tmpdir, ".tmp-"), 0);
}

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
    *text = slurp(file, NULL);
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
    path_in(h5, sizeof h5, "export.h5");
    path_in(out, sizeof out, "json");
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
    char *text = slurp(file, NULL);
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
    path_in(h5, sizeof h5, "variant.h5");
    path_in(out, sizeof out, "json2");
    dob_results *r = NULL;
    TC_ASSERT_OK(dob_results_create(h5, 0, &m, world, &r));
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
    path_in(h5, sizeof h5, "quad.h5");
    TC_ASSERT_OK(dob_results_create(h5, 0, &m, world, &r));
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

/* Writes a small file to $DOB_RESULTS_H5PY_OUT for tests/check_h5.py (CTest fixture); skipped when unset. */
static void test_write_for_h5py(void) {
    const char *p = getenv("DOB_RESULTS_H5PY_OUT");
    if (!p || !*p) {
        fprintf(stderr, "\n    [skipped: DOB_RESULTS_H5PY_OUT not set] ");
        return;
    }
    dob_results_meta m = std_meta();
    m.n_trials = 2;
    dob_results *r = NULL;
    TC_ASSERT_OK(dob_results_create(p, 1, &m, world, &r));
    curves v;
    make_curves(&v, 0, 0.00251, 0.99);
    static const double acc[NE] = {0.1, 0.25, 0.5, 0.75};
    memcpy(v.c[5], acc, sizeof acc);
    dob_trial_result t = as_result(&v, 42, 3, DOB_TRIAL_DONE);
    TC_ASSERT_OK(dob_results_write_trial(r, 0, &t));
    TC_ASSERT_OK(dob_results_close(r));
}


/* ---- checkpoints (io/checkpoint.c) ------------------------------------------------------------------------ */
static dob_arena *ckpt_arena(int64_t n_w, int n_state) {
    dob_arena *a = NULL;
    int id;
    const dob_init z = {DOB_INIT_CONST, 0.0f, 0.0f};
    if (dob_arena_create(&a) != DOB_OK ||
        dob_arena_reserve(a, "w", 2, (int64_t[]){n_w, 5}, n_w, 5, z, DOB_PARAM_L2, &id) != DOB_OK ||
        dob_arena_reserve(a, "bn/mean", 1, (int64_t[]){4}, 1, 1, z, DOB_PARAM_BUFFER, &id) != DOB_OK ||
        dob_arena_alloc(a, n_state) != DOB_OK) {
        dob_arena_destroy(a);
        return NULL;
    }
    return a;
}

static void test_checkpoint_roundtrip(void) {
    dob_arena *a = ckpt_arena(3, 2), *b = ckpt_arena(3, 2), *other = ckpt_arena(4, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_PTR_NOT_NULL_FATAL(other);
    const size_t n = dob_arena_size(a), nb = dob_arena_buffer_size(a);
    CU_ASSERT_FATAL(nb >= 4);
    for (size_t i = 0; i < n; i++) {
        dob_arena_params(a)[i] = 0.5f * (float)i;
        dob_arena_state(a, 0)[i] = -1.0f * (float)i;
        dob_arena_state(a, 1)[i] = 1e-3f * (float)i;
    }
    float *rows = malloc(2 * nb * sizeof *rows);
    for (size_t i = 0; i < 2 * nb; i++) rows[i] = (float)(i < nb ? i : 100 + i);
    double c[7][4], mb[6] = {2.3, 1.1, NAN, NAN, NAN, NAN};
    for (int k = 0; k < 7; k++)
        for (int e = 0; e < 4; e++) c[k][e] = e < 2 ? 0.1 * (k + 1) + e : NAN;
    dob_train_out o = {.num_epochs = 3, .n_minibatch = 6, .steps_done = 17, .evaluated = 2, .n_logged = 2,
                       .train_losses = c[0], .valid_losses = c[1], .test_losses = c[2], .train_accuracies = c[3],
                       .valid_accuracies = c[4], .test_accuracies = c[5], .epoch_seconds = c[6],
                       .minibatch_train_losses = mb, .phase_seconds = {1, 2, 3, 4, 5}};
    char p[512], cfg[256];
    path_in(p, sizeof p, "run.ckpt");
    dob_ckpt_meta m = {.config = "problem=x lr=0.1", .ranks = 2, .threads = 3};
    TC_ASSERT_OK(dob_checkpoint_save(p, &m, a, rows, &o));
    TC_ASSERT_OK(dob_checkpoint_save(p, &m, a, rows, &o)); /* replaces the previous one */
    int ranks = 0, threads = 0;
    TC_ASSERT_OK(dob_checkpoint_read_meta(p, cfg, sizeof cfg, &ranks, &threads));
    CU_ASSERT_STRING_EQUAL(cfg, "problem=x lr=0.1");
    CU_ASSERT_EQUAL(ranks, 2);
    CU_ASSERT_EQUAL(threads, 3);

    dob_train_out in;
    TC_ASSERT_OK(dob_checkpoint_load(p, 1, b, &in));
    CU_ASSERT_EQUAL(memcmp(dob_arena_params(a), dob_arena_params(b), n * sizeof(float)), 0);
    CU_ASSERT_EQUAL(memcmp(dob_arena_state(a, 1), dob_arena_state(b, 1), n * sizeof(float)), 0);
    CU_ASSERT_EQUAL(memcmp(dob_arena_buffers(b), rows + nb, nb * sizeof(float)), 0); /* rank 1's row */
    CU_ASSERT_EQUAL(in.num_epochs, 3);
    CU_ASSERT_EQUAL(in.n_minibatch, 6);
    CU_ASSERT_EQUAL(in.steps_done, 17);
    CU_ASSERT_EQUAL(in.evaluated, 2);
    CU_ASSERT_EQUAL(in.epochs_done, 1);
    CU_ASSERT_EQUAL(in.n_logged, 2);
    CU_ASSERT_DOUBLE_EQUAL(in.test_losses[1], c[2][1], 0);
    CU_ASSERT(isnan(in.test_losses[3]));
    CU_ASSERT_DOUBLE_EQUAL(in.epoch_seconds[0], c[6][0], 0);
    CU_ASSERT_DOUBLE_EQUAL(in.minibatch_train_losses[1], 1.1, 0);
    CU_ASSERT_DOUBLE_EQUAL(in.phase_seconds[4], 5.0, 0);
    dob_train_out_free(&in);
    TC_ASSERT_OK(dob_checkpoint_load(p, 0, b, &in));
    CU_ASSERT_EQUAL(memcmp(dob_arena_buffers(b), rows, nb * sizeof(float)), 0); /* rank 0's row */
    dob_train_out_free(&in);

    /* refusals: another net, a rank it does not hold, junk, missing, unwritable */
    TC_ASSERT_FAILS(dob_checkpoint_load(p, 0, other, &in), DOB_EFORMAT, "params");
    TC_ASSERT_FAILS(dob_checkpoint_load(p, 2, b, &in), DOB_EFORMAT, "holds 2 ranks");
    char junk[512], missing[512], nodir[512];
    path_in(junk, sizeof junk, "junk.ckpt");
    put(junk, "not hdf5\n");
    TC_ASSERT_FAILS(dob_checkpoint_load(junk, 0, b, &in), DOB_EFORMAT, "not an HDF5 file");
    path_in(missing, sizeof missing, "missing.ckpt");
    TC_ASSERT_FAILS(dob_checkpoint_read_meta(missing, cfg, sizeof cfg, &ranks, &threads), DOB_ENOENT, "missing");
    path_in(nodir, sizeof nodir, "nodir/x.ckpt");
    TC_ASSERT_FAILS(dob_checkpoint_save(nodir, &m, a, rows, &o), DOB_ENOENT, "does not exist");
    /* no temporary file is left next to the checkpoint */
    DIR *d = opendir(tmpdir);
    struct dirent *de;
    int tmps = 0;
    while (d && (de = readdir(d)))
        if (strstr(de->d_name, ".tmp-")) tmps++;
    if (d) closedir(d);
    CU_ASSERT_EQUAL(tmps, 0);
    free(rows);
    dob_arena_destroy(a);
    dob_arena_destroy(b);
    dob_arena_destroy(other);
}

static CU_TestInfo tests[] = {
    {"create_write_read", test_create_write_read},
    {"refuse_and_overwrite", test_refuse_and_overwrite},
    {"bad_targets", test_bad_targets},
    {"disk_full", test_disk_full},
    {"json_export", test_json_export},
    {"json_variants", test_json_variants},
    {"write_for_h5py", test_write_for_h5py},
    {"checkpoint_roundtrip", test_checkpoint_roundtrip},
    CU_TEST_INFO_NULL,
};
CU_SuiteInfo results_suite = {"results", suite_init, suite_cleanup, NULL, NULL, tests};
