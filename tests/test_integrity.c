/* test_integrity.c: checksums of checkpoints, result files and sweep files (io/seal.c, issue 14).
 *
 * Acceptance of issue 14: "a flipped byte anywhere in a checkpoint's or result's data is detected". Each test
 * writes a real file through the public API, then flips every byte of it in turn (xor 0xff, restored after) and
 * asserts the reader refuses the file (DOB_EFORMAT) without HDF5 parsing the damaged bytes; a byte inside a
 * dataset's raw data must be refused naming that dataset. Also: a sweep file being written (state open) stays
 * readable, a sealed one reopened for --resume is checked first, and a file with a wrong length is refused.
 * Single process (MPI as a singleton, as in test_results.c). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hdf5.h>
#include <zlib.h>

#include "dob/checkpoint.h"
#include "dob/comm.h"
#include "dob/results.h"
#include "tc.h"

static dob_comm *world;
static char tmpdir[256];

static int suite_init(void) {
    static int mpi_started;
    if (!mpi_started) {
        if (dob_comm_init(NULL, NULL, &world) != DOB_OK) return 1;
        atexit(dob_comm_finalize);
        mpi_started = 1;
    }
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/dob_integrity_XXXXXX", base && *base ? base : "/tmp");
    return mkdtemp(tmpdir) ? 0 : 1;
}

static int suite_cleanup(void) {
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char p[600];
        if (e->d_name[0] == '.') continue;
        snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
        unlink(p);
    }
    if (d) closedir(d);
    rmdir(tmpdir);
    return 0;
}

static void path_in(char *buf, size_t cap, const char *name) { snprintf(buf, cap, "%s/%s", tmpdir, name); }

static long file_size(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0 ? (long)sb.st_size : -1;
}

static void flip(const char *p, long off) {
    int fd = open(p, O_RDWR);
    unsigned char b = 0;
    CU_ASSERT_FATAL(fd >= 0 && pread(fd, &b, 1, off) == 1);
    b ^= 0xff;
    CU_ASSERT_FATAL(pwrite(fd, &b, 1, off) == 1);
    close(fd);
}

/* Byte offset and length of a contiguous dataset's raw data (plain HDF5, on the intact file). */
static void dataset_span(const char *p, const char *name, long *off, long *len) {
    hid_t f = H5Fopen(p, H5F_ACC_RDONLY, H5P_DEFAULT);
    CU_ASSERT_FATAL(f >= 0);
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    CU_ASSERT_FATAL(d >= 0);
    *off = (long)H5Dget_offset(d);
    *len = (long)H5Dget_storage_size(d);
    H5Dclose(d);
    H5Fclose(f);
}

/* ---- checkpoints ----------------------------------------------------------------------------------------- */
static dob_arena *small_arena(void) {
    dob_arena *a = NULL;
    int id;
    const dob_init z = {DOB_INIT_CONST, 0.5f, 0.0f};
    if (dob_arena_create(&a) != DOB_OK ||
        dob_arena_reserve(a, "w", 2, (int64_t[]){3, 5}, 3, 5, z, DOB_PARAM_L2, &id) != DOB_OK ||
        dob_arena_reserve(a, "bn/mean", 1, (int64_t[]){4}, 1, 1, z, DOB_PARAM_BUFFER, &id) != DOB_OK ||
        dob_arena_alloc(a, 1) != DOB_OK) {
        dob_arena_destroy(a);
        return NULL;
    }
    dob_arena_init(a, 7);
    return a;
}

static void save_checkpoint(const char *p, dob_arena *a) {
    double c[7][3], mb[4] = {2.3, 1.1, 0.7, NAN};
    for (int k = 0; k < 7; k++)
        for (int e = 0; e < 3; e++) c[k][e] = 0.1 * (k + 1) + e;
    dob_train_out o = {.num_epochs = 2, .n_minibatch = 4, .steps_done = 9, .evaluated = 2, .n_logged = 3,
                       .train_losses = c[0], .valid_losses = c[1], .test_losses = c[2], .train_accuracies = c[3],
                       .valid_accuracies = c[4], .test_accuracies = c[5], .epoch_seconds = c[6],
                       .minibatch_train_losses = mb, .phase_seconds = {1, 2, 3, 4, 5}};
    dob_ckpt_meta m = {.config = "problem=x lr=0.1", .ranks = 1, .threads = 1};
    TC_ASSERT_OK(dob_checkpoint_save(p, &m, a, NULL, &o));
}

static void test_checkpoint_every_byte(void) {
    dob_arena *a = small_arena(), *b = small_arena();
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    char p[512], cfg[128];
    path_in(p, sizeof p, "run.ckpt");
    save_checkpoint(p, a);
    dob_train_out o;
    TC_ASSERT_OK(dob_checkpoint_load(p, 0, b, &o));
    dob_train_out_free(&o);
    long n = file_size(p), missed = 0, first_missed = -1;
    CU_ASSERT_FATAL(n > 4096);
    for (long i = 0; i < n; i++) {
        flip(p, i);
        int r = 0, t = 0;
        dob_status st = dob_checkpoint_read_meta(p, cfg, sizeof cfg, &r, &t);
        if (st == DOB_OK) st = dob_checkpoint_load(p, 0, b, &o) == DOB_OK ? (dob_train_out_free(&o), DOB_OK) : 1;
        if (st == DOB_OK && missed++ == 0) first_missed = i;
        flip(p, i);
    }
    if (missed) fprintf(stderr, "\n    %ld of %ld flipped bytes not detected, first at %ld\n", missed, n, first_missed);
    CU_ASSERT_EQUAL(missed, 0);
    /* a byte of the parameters: refused naming the dataset */
    long off, len;
    dataset_span(p, "/arena/params", &off, &len);
    flip(p, off + len / 2);
    TC_ASSERT_FAILS(dob_checkpoint_load(p, 0, b, &o), DOB_EFORMAT, "dataset /arena/params does not match its checksum");
    flip(p, off + len / 2);
    dataset_span(p, "/curves/test_losses", &off, &len);
    flip(p, off);
    TC_ASSERT_FAILS(dob_checkpoint_read_meta(p, cfg, sizeof cfg, &(int){0}, &(int){0}), DOB_EFORMAT,
                    "dataset /curves/test_losses does not match its checksum");
    flip(p, off);
    /* cut short, or grown */
    TC_ASSERT_OK(truncate(p, n - 1) == 0 ? DOB_OK : DOB_EIO);
    TC_ASSERT_FAILS(dob_checkpoint_load(p, 0, b, &o), DOB_EFORMAT, "truncated or appended to");
    dob_arena_destroy(a);
    dob_arena_destroy(b);
}

/* ---- result files ---------------------------------------------------------------------------------------- */
static const char *hp_names[] = {"learning_rate", "momentum"};

static dob_results_meta meta_of(int n_trials) {
    dob_results_meta m = {.problem = "fmnist_logreg", .optimizer = "momentum", .command_line = "dob test",
                          .batch_size = 128, .num_epochs = 2, .train_log_interval = 10, .weight_decay = NAN,
                          .n_hp = 2, .hp_names = hp_names, .n_trials = n_trials, .n_minibatch = 3, .ranks = 1,
                          .threads = 1, .has_accuracy = 1};
    return m;
}

static void write_trials(dob_results *r, int n) {
    double c[8][3], hp[2] = {0.1, 0.9}, ph[5] = {1, 2, 3, 4, 5};
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < 8; k++)
            for (int e = 0; e < 3; e++) c[k][e] = 10.0 * i + k + 0.25 * e;
        dob_trial_result t = {.train_losses = c[0], .valid_losses = c[1], .test_losses = c[2],
                              .train_accuracies = c[3], .valid_accuracies = c[4], .test_accuracies = c[5],
                              .minibatch_train_losses = c[6], .epoch_seconds = c[7], .phase_seconds = ph,
                              .hp = hp, .random_seed = 42 + i, .epochs_done = 2, .status = DOB_TRIAL_DONE};
        TC_ASSERT_OK(dob_results_write_trial(r, i, &t));
    }
}

static void test_result_every_byte(void) {
    char p[512], js[512];
    path_in(p, sizeof p, "run.h5");
    path_in(js, sizeof js, "json");
    dob_results_meta m = meta_of(1);
    dob_results *r = NULL;
    TC_ASSERT_OK(dob_results_create(p, 0, &m, world, &r));
    write_trials(r, 1);
    TC_ASSERT_OK(dob_results_close(r));
    dob_trial_status s[1];
    int nt = 0;
    TC_ASSERT_OK(dob_results_read_status(p, 1, s, &nt));
    long n = file_size(p), missed = 0, first_missed = -1;
    for (long i = 0; i < n; i++) {
        flip(p, i);
        if (dob_results_read_status(p, 1, s, &nt) == DOB_OK && missed++ == 0) first_missed = i;
        flip(p, i);
    }
    if (missed) fprintf(stderr, "\n    %ld of %ld flipped bytes not detected, first at %ld\n", missed, n, first_missed);
    CU_ASSERT_EQUAL(missed, 0);
    long off, len;
    dataset_span(p, "/trials/0/test_losses", &off, &len);
    flip(p, off + len - 1);
    int nw = 0;
    TC_ASSERT_FAILS(dob_results_export_json(p, js, &nw), DOB_EFORMAT,
                    "dataset /trials/0/test_losses does not match its checksum");
    CU_ASSERT_EQUAL(nw, 0);
    flip(p, off + len - 1);
    dataset_span(p, "/trials/0/status", &off, &len);
    flip(p, off);
    TC_ASSERT_FAILS(dob_results_read_status(p, 1, s, &nt), DOB_EFORMAT, "dataset /trials/0/status does not match");
    flip(p, off);
    TC_ASSERT_OK(dob_results_read_status(p, 1, s, &nt));
}

static void test_sweep_every_byte(void) {
    char p[512];
    path_in(p, sizeof p, "sweep.h5");
    dob_results_meta m = meta_of(2);
    int64_t ids[2] = {0, 1}, seeds[2] = {42, 43}; /* as write_trials writes them, and the spec gives them */
    double hp[4] = {0.1, 0.9, 0.1, 0.9};
    dob_sweep_meta sw = {.spec = "learning_rate=0.1;momentum=0.9;seeds=42:43", .n_trials_total = 2, .slice_id = -1, .slice_count = -1,
                         .trial_ids = ids, .seeds = seeds, .hp = hp, .in_place = 1};
    dob_results *r = NULL;
    TC_ASSERT_OK(dob_results_create_sweep(p, 0, &m, &sw, world, &r));
    dob_sweep_desc d;
    TC_ASSERT_OK(dob_results_read_sweep(p, &d)); /* being written: open, readable, pending trials verified */
    dob_sweep_desc_free(&d);
    long off, len;
    dataset_span(p, "/trials/1/hyperparameters", &off, &len);
    flip(p, off + 2);
    TC_ASSERT_FAILS(dob_results_read_sweep(p, &d), DOB_EFORMAT, "trial /trials/1: its data do not match");
    flip(p, off + 2);
    TC_ASSERT_OK(dob_results_begin_trial(r, 0));
    write_trials(r, 2);
    TC_ASSERT_OK(dob_results_close(r)); /* sealed */
    TC_ASSERT_OK(dob_results_read_sweep(p, &d));
    CU_ASSERT_EQUAL(d.status[1], DOB_TRIAL_DONE);
    dob_sweep_desc_free(&d);
    long n = file_size(p), missed = 0, first_missed = -1;
    for (long i = 0; i < n; i++) {
        flip(p, i);
        if (dob_results_read_sweep(p, &d) == DOB_OK) {
            dob_sweep_desc_free(&d);
            if (missed++ == 0) first_missed = i;
        }
        flip(p, i);
    }
    if (missed) fprintf(stderr, "\n    %ld of %ld flipped bytes not detected, first at %ld\n", missed, n, first_missed);
    CU_ASSERT_EQUAL(missed, 0);
    /* --resume checks the file before reopening it, names the dataset, and leaves the file as it was */
    dataset_span(p, "/trials/1/hyperparameters", &off, &len);
    flip(p, off);
    TC_ASSERT_FAILS(dob_results_open(p, world, &r), DOB_EFORMAT, "dataset /trials/1/hyperparameters");
    flip(p, off);
    TC_ASSERT_OK(dob_results_open(p, world, &r)); /* intact: reopened (open again), closed and sealed again */
    TC_ASSERT_OK(dob_results_set_status(r, 1, DOB_TRIAL_FAILED));
    TC_ASSERT_OK(dob_results_close(r));
    TC_ASSERT_OK(dob_results_read_sweep(p, &d));
    CU_ASSERT_EQUAL(d.status[1], DOB_TRIAL_FAILED);
    dob_sweep_desc_free(&d);
}

/* Rewrite the checksum block of p as "open" (what a killed writer leaves). */
static long mark_open(const char *p) {
    char head[64] = {0};
    FILE *f = fopen(p, "r+b");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_FATAL(fread(head, 1, sizeof head - 1, f) > 0);
    unsigned long long ub = 0;
    CU_ASSERT_FATAL(sscanf(strstr(head, "\nub ") + 4, "%llu", &ub) == 1);
    char *t = calloc(1, (size_t)ub);
    int n = snprintf(t, (size_t)ub, "dob-seal 1\nstate open\nub %llu\n", ub);
    snprintf(t + n, (size_t)ub - (size_t)n, "end %08lx\n", (unsigned long)crc32(0, (const Bytef *)t, (uInt)n));
    fseek(f, 0, SEEK_SET);
    CU_ASSERT(fwrite(t, 1, (size_t)ub, f) == (size_t)ub);
    fclose(f);
    free(t);
    return (long)ub;
}

/* An open file (writer killed) has no checksums: HDF5 reads it, in a child process first, so that damaged
 * metadata is refused with a message instead of crashing dob. Every byte of the HDF5 metadata in turn. */
static void test_open_file_damaged(void) {
    char p[512];
    path_in(p, sizeof p, "sweep.h5"); /* sealed by test_sweep_every_byte */
    const long ub = mark_open(p);
    dob_sweep_desc d;
    TC_ASSERT_OK(dob_results_read_sweep(p, &d));
    dob_sweep_desc_free(&d);
    long off, len, n = file_size(p), refused = 0, tried = 0;
    dataset_span(p, "/trials/0/train_losses", &off, &len); /* the first raw data: metadata lies before it */
    for (long i = ub; i < off && i < n; i += 127, tried++) { /* ~130 bytes: a fork and a full read each */
        flip(p, i);
        if (dob_results_read_sweep(p, &d) == DOB_OK) dob_sweep_desc_free(&d);
        else refused++;
        flip(p, i);
    }
    fprintf(stderr, "(%ld of %ld metadata flips refused, none crashed) ", refused, tried);
    CU_ASSERT(refused > 0);
    flip(p, ub); /* the HDF5 signature */
    TC_ASSERT_FAILS(dob_results_read_sweep(p, &d), DOB_EFORMAT, "damaged HDF5 signature");
    flip(p, ub);
}

/* An open file's finished trials carry checksums (trial_sum.h): a flipped byte in any dataset of a trial that
 * ended is refused naming the trial, or (for --resume) turns the trial pending so that it runs again. */
static int check_trial_flips(const char *p, int trial) {
    static const char *names[] = {"train_losses", "valid_losses", "test_losses", "train_accuracies",
                                  "valid_accuracies", "test_accuracies", "minibatch_train_losses", "epoch_seconds",
                                  "phase_seconds", "hyperparameters", "random_seed", "epochs_done", "trial_id",
                                  "checksum"};
    int missed = 0;
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        char name[64], want[64];
        long off, len;
        snprintf(name, sizeof name, "/trials/%d/%s", trial, names[k]);
        snprintf(want, sizeof want, "trial /trials/%d: its data do not match their checksum", trial);
        dataset_span(p, name, &off, &len);
        CU_ASSERT_FATAL(len > 0);
        for (long i = off; i < off + len; i++) {
            dob_sweep_desc d;
            flip(p, i);
            dob_status st = dob_results_read_sweep(p, &d);
            if (st == DOB_OK) dob_sweep_desc_free(&d);
            if (st != DOB_EFORMAT || !strstr(dob_last_error(), want)) {
                if (missed++ == 0) fprintf(stderr, "\n    %s byte %ld: %s\n", name, i - off, dob_last_error());
            } else if (i == off && k != 9 && k != 10 && k != 12) { /* once per dataset: --resume runs the trial again */
                TC_ASSERT_OK(dob_results_read_sweep_ex(p, DOB_SWEEP_READ_DAMAGED_AS_PENDING, &d));
                CU_ASSERT(d.n_damaged == 1 && d.damaged[trial] && d.status[trial] == DOB_TRIAL_PENDING);
                dob_sweep_desc_free(&d);
            } else if (i == off) { /* its identity is damaged: running it again would run another trial */
                TC_ASSERT_FAILS(dob_results_read_sweep_ex(p, DOB_SWEEP_READ_DAMAGED_AS_PENDING, &d), DOB_EFORMAT,
                                "differ from the sweep_spec's, so it cannot be run again");
            }
            flip(p, i);
        }
    }
    return missed;
}

static void test_open_file_trial_sums(void) {
    char p[512];
    path_in(p, sizeof p, "sweep.h5"); /* marked open by test_open_file_damaged: trial 0 done, 1 failed */
    dob_sweep_desc d;
    TC_ASSERT_OK(dob_results_read_sweep_ex(p, DOB_SWEEP_READ_DAMAGED_AS_PENDING, &d));
    CU_ASSERT(d.n_damaged == 0 && d.status[0] == DOB_TRIAL_DONE && d.status[1] == DOB_TRIAL_FAILED);
    dob_sweep_desc_free(&d);
    CU_ASSERT_EQUAL(check_trial_flips(p, 0), 0);
    CU_ASSERT_EQUAL(check_trial_flips(p, 1), 0);
}

static CU_TestInfo tests[] = {
    {"checkpoint_every_byte", test_checkpoint_every_byte},
    {"result_every_byte", test_result_every_byte},
    {"sweep_every_byte", test_sweep_every_byte},
    {"open_file_damaged", test_open_file_damaged},
    {"open_file_trial_sums", test_open_file_trial_sums},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo integrity_suite = {"integrity", suite_init, suite_cleanup, NULL, NULL, tests};
