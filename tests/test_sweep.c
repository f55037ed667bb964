/* test_sweep.c: sweep grids, seeds, trial expansion and slicing (src/sweep.c), and the sweep objects of the
 * result file (io/results.c, io/sweep_file.c) on one process.
 *
 * Grid values are compared with hand-computed numbers (DeepOBS's lr grid 10^(-5+k/5), exact ends and exact
 * powers of ten at k = 5j); the expansion order is checked trial by trial; slices must tile [0, T) with sizes
 * differing by at most one for T = 0..60 and 1..8 slices. The file tests create a sweep file in place, check
 * that it exists at its final path before close, read it back, mark a trial started, reopen it (--resume), and
 * merge two slices (including the refusals: other sweep, conflicting duplicate). Random search: distributions
 * parsed with their bounds, samples pinned to known values, in bounds, uniform (Kolmogorov-Smirnov and mean, in
 * log space for loguniform) and independent across hyperparameters; the sweep_spec re-expands bitwise to the
 * samples, and a grid spec as before. Every error path is checked on status and message. MPI starts as a singleton (idempotent init; finalised at exit). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dob/comm.h"
#include "dob/results.h"
#include "dob/sweep.h"
#include "tc.h"

static dob_comm *world;
static char tmpdir[256];

static int suite_init(void) {
    static int mpi_started;
    if (!mpi_started) {
        if (dob_comm_init(NULL, NULL, &world) != DOB_OK) {
            fprintf(stderr, "sweep: MPI init failed: %s\n", dob_last_error());
            return 1;
        }
        atexit(dob_comm_finalize);
        mpi_started = 1;
    }
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/dob_sweep_XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmpdir)) {
        fprintf(stderr, "sweep: mkdtemp %s: %s\n", tmpdir, strerror(errno));
        return 1;
    }
    return 0;
}

static int suite_cleanup(void) {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : 1;
}

/* ---- grids ------------------------------------------------------------------------------------------------ */
static void expect_values(const char *what, const dob_grid *g, const double *want, int n, double rtol) {
    CU_ASSERT_EQUAL(g->n, n);
    for (int i = 0; i < n && i < g->n; i++) {
        double err = fabs(g->v[i] - want[i]) / fmax(fabs(want[i]), 1e-300);
        if (!(err <= rtol)) fprintf(stderr, "\n    %s[%d]: got %.17g, expected %.17g\n", what, i, g->v[i], want[i]);
        CU_ASSERT(err <= rtol);
    }
}

static void test_grid_log(void) {
    dob_grid g;
    TC_ASSERT_OK(dob_grid_parse("--lr", "log:1e-5:1e2:36", &g));
    double want[36];
    for (int k = 0; k < 36; k++) want[k] = pow(10.0, -5.0 + k / 5.0);
    expect_values("log:1e-5:1e2:36", &g, want, 36, 1e-14);
    /* exact ends and exact powers of ten every 5 values */
    CU_ASSERT_EQUAL(g.v[0], 1e-5);
    CU_ASSERT_EQUAL(g.v[5], 1e-4);
    CU_ASSERT_EQUAL(g.v[15], 1e-2);
    CU_ASSERT_EQUAL(g.v[25], 1.0);
    CU_ASSERT_EQUAL(g.v[35], 1e2);
    CU_ASSERT_DOUBLE_EQUAL(g.v[1], 1.5848931924611136e-05, 1e-19);
    dob_grid_free(&g);
    TC_ASSERT_OK(dob_grid_parse("--lr", "log:1e-3:1:4", &g));
    expect_values("log:1e-3:1:4", &g, (double[]){1e-3, 1e-2, 1e-1, 1.0}, 4, 0);
    dob_grid_free(&g);
}

static void test_grid_lin_list(void) {
    dob_grid g;
    TC_ASSERT_OK(dob_grid_parse("--momentum", "lin:0:1:5", &g));
    expect_values("lin:0:1:5", &g, (double[]){0, 0.25, 0.5, 0.75, 1}, 5, 0);
    dob_grid_free(&g);
    TC_ASSERT_OK(dob_grid_parse("--momentum", "lin:0.5:0.9:3", &g));
    expect_values("lin:0.5:0.9:3", &g, (double[]){0.5, 0.7, 0.9}, 3, 1e-15);
    dob_grid_free(&g);
    TC_ASSERT_OK(dob_grid_parse("--momentum", "0.99,0.9,0.5", &g)); /* order kept */
    expect_values("list", &g, (double[]){0.99, 0.9, 0.5}, 3, 0);
    dob_grid_free(&g);
    TC_ASSERT_OK(dob_grid_parse("--lr", "2.51e-3", &g));
    expect_values("single", &g, (double[]){2.51e-3}, 1, 0);
    dob_grid_free(&g);
    TC_ASSERT_OK(dob_grid_single(0.9, &g));
    expect_values("dob_grid_single", &g, (double[]){0.9}, 1, 0);
    dob_grid_free(&g);
    dob_grid_free(&g); /* twice: harmless */
}

static void test_grid_errors(void) {
    dob_grid g;
    TC_ASSERT_FAILS(dob_grid_parse("--lr", "log:0:1:4", &g), DOB_EINVAL, "--lr 'log:0:1:4': a log grid needs 0 < LO");
    CU_ASSERT_EQUAL(g.n, 0);
    CU_ASSERT_PTR_NULL(g.v);
    TC_ASSERT_FAILS(dob_grid_parse("--lr", "log:1:0.1:3", &g), DOB_EINVAL, "expected LO < HI, found LO 1, HI 0.1");
    TC_ASSERT_FAILS(dob_grid_parse("--lr", "log:1e-3:1", &g), DOB_EINVAL,
                    "expected log:LO:HI:N (N values from LO to HI), found 3 fields");
    TC_ASSERT_FAILS(dob_grid_parse("--lr", "log:1e-3:1:4:5", &g), DOB_EINVAL, "found 5 fields");
    TC_ASSERT_FAILS(dob_grid_parse("--lr", "log:1:2:3:4:5", &g), DOB_EINVAL, "found more than 4 fields");
    TC_ASSERT_FAILS(dob_grid_parse("--lr", "log:1e-3:1:1", &g), DOB_EINVAL,
                    "expected N in [2, 100000] values, found 1");
    TC_ASSERT_FAILS(dob_grid_parse("--lr", "log:1e-3:1:2.5", &g), DOB_EINVAL, "expected an integer, found '2.5'");
    TC_ASSERT_FAILS(dob_grid_parse("--momentum", "lin:a:1:3", &g), DOB_EINVAL,
                    "--momentum 'lin:a:1:3': expected a finite number, found 'a'");
    TC_ASSERT_FAILS(dob_grid_parse("--momentum", "0.9,,0.99", &g), DOB_EINVAL, "expected a finite number, found ''");
    TC_ASSERT_FAILS(dob_grid_parse("--momentum", "0.9,0.99,0.9", &g), DOB_EINVAL,
                    "expected distinct values, found 0.9 twice");
    TC_ASSERT_FAILS(dob_grid_parse("--lr", "1e-3:1", &g), DOB_EINVAL,
                    "expected log:LO:HI:N, lin:LO:HI:N, a list A,B,C or one number");
    TC_ASSERT_FAILS(dob_grid_parse("--lr", "", &g), DOB_EINVAL, "--lr: expected a value or a grid, found an empty");
    TC_ASSERT_FAILS(dob_grid_parse("--lr", "nan", &g), DOB_EINVAL, "expected a finite number, found 'nan'");
    CU_ASSERT_EQUAL(g.n, 0);
}

/* ---- seeds and expansion ---------------------------------------------------------------------------------- */
static void test_seeds(void) {
    int64_t *s = NULL;
    int n = 0;
    TC_ASSERT_OK(dob_seeds_parse("--seeds", "42:51", &s, &n));
    CU_ASSERT_EQUAL(n, 10);
    for (int i = 0; i < n; i++) CU_ASSERT_EQUAL(s[i], 42 + i);
    free(s);
    TC_ASSERT_OK(dob_seeds_parse("--seeds", "7,1,3", &s, &n));
    CU_ASSERT_EQUAL(n, 3);
    CU_ASSERT(s[0] == 7 && s[1] == 1 && s[2] == 3);
    free(s);
    TC_ASSERT_OK(dob_seeds_parse("--seeds", "5", &s, &n));
    CU_ASSERT(n == 1 && s[0] == 5);
    free(s);
    TC_ASSERT_FAILS(dob_seeds_parse("--seeds", "5:3", &s, &n), DOB_EINVAL,
                    "expected 0 <= A <= B with at most 100000 seeds, found A 5, B 3");
    CU_ASSERT_PTR_NULL(s);
    TC_ASSERT_FAILS(dob_seeds_parse("--seeds", "-1", &s, &n), DOB_EINVAL, "expected seeds >= 0, found -1");
    TC_ASSERT_FAILS(dob_seeds_parse("--seeds", "1,2,1", &s, &n), DOB_EINVAL, "expected distinct seeds, found 1 twice");
    TC_ASSERT_FAILS(dob_seeds_parse("--seeds", "a:3", &s, &n), DOB_EINVAL, "expected an integer, found 'a'");
    TC_ASSERT_FAILS(dob_seeds_parse("--seeds", "1:2:3", &s, &n), DOB_EINVAL, "expected A:B (an inclusive range)");
    TC_ASSERT_FAILS(dob_seeds_parse("--seeds", "", &s, &n), DOB_EINVAL, "found an empty string");
    CU_ASSERT_EQUAL(n, 0);
}

static void test_expand_order(void) {
    dob_grid g[2] = {{2, (double[]){1.0, 2.0}}, {3, (double[]){0.1, 0.2, 0.3}}};
    int64_t seeds[] = {42, 43};
    double *hp = NULL;
    int64_t *sd = NULL, T = 0;
    TC_ASSERT_OK(dob_sweep_expand(2, g, seeds, 2, &hp, &sd, &T));
    CU_ASSERT_EQUAL_FATAL(T, 12);
    /* trial t = setting * 2 + seed index; setting = lr index * 3 + momentum index */
    for (int t = 0; t < 12; t++) {
        int setting = t / 2;
        double lr = g[0].v[setting / 3], m = g[1].v[setting % 3];
        int64_t s = seeds[t % 2];
        if (hp[2 * t] != lr || hp[2 * t + 1] != m || sd[t] != s)
            fprintf(stderr, "\n    trial %d: got (%g, %g, %lld), expected (%g, %g, %lld)\n", t, hp[2 * t],
                    hp[2 * t + 1], (long long)sd[t], lr, m, (long long)s);
        CU_ASSERT(hp[2 * t] == lr && hp[2 * t + 1] == m && sd[t] == s);
    }
    CU_ASSERT(hp[0] == 1.0 && hp[1] == 0.1 && sd[0] == 42); /* trial 0 */
    CU_ASSERT(hp[2 * 7] == 2.0 && hp[2 * 7 + 1] == 0.1 && sd[7] == 43); /* trial 7 = setting 3, seed 43 */
    free(hp);
    free(sd);
    TC_ASSERT_FAILS(dob_sweep_expand(2, g, seeds, 0, &hp, &sd, &T), DOB_EINVAL, ">= 1 seed, found 2 and 0");
    dob_grid big[2] = {{100000, NULL}, {100000, NULL}};
    TC_ASSERT_FAILS(dob_sweep_expand(2, big, seeds, 2, &hp, &sd, &T), DOB_EINVAL, "expected at most 10000000 trials");
    CU_ASSERT_PTR_NULL(hp);
}

/* ---- random search ---------------------------------------------------------------------------------------- */
static const char *hp_names[] = {"learning_rate", "momentum"};

static int cmp_dbl(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void test_dist_parse(void) {
    dob_dist d;
    CU_ASSERT(dob_dist_is("loguniform:1e-5:1e-1") && dob_dist_is("uniform:0:1"));
    CU_ASSERT(!dob_dist_is("log:1e-5:1:4") && !dob_dist_is("0.1") && !dob_dist_is(NULL));
    TC_ASSERT_OK(dob_dist_parse("--lr", "loguniform:1e-5:1e-1", &d));
    CU_ASSERT(d.kind == DOB_DIST_LOGUNIFORM && d.lo == 1e-5 && d.hi == 1e-1);
    TC_ASSERT_OK(dob_dist_parse("--momentum", "uniform:-0.5:0.99", &d));
    CU_ASSERT(d.kind == DOB_DIST_UNIFORM && d.lo == -0.5 && d.hi == 0.99);
    TC_ASSERT_FAILS(dob_dist_parse("--lr", "loguniform:0:1", &d), DOB_EINVAL,
                    "--lr 'loguniform:0:1': loguniform needs 0 < LO < HI, found LO 0, HI 1");
    TC_ASSERT_FAILS(dob_dist_parse("--lr", "loguniform:1:0.1", &d), DOB_EINVAL, "loguniform needs 0 < LO < HI");
    TC_ASSERT_FAILS(dob_dist_parse("--lr", "loguniform:-1:1", &d), DOB_EINVAL, "found LO -1, HI 1");
    TC_ASSERT_FAILS(dob_dist_parse("--m", "uniform:1:1", &d), DOB_EINVAL, "uniform needs LO < HI, found LO 1, HI 1");
    TC_ASSERT_FAILS(dob_dist_parse("--m", "uniform:0", &d), DOB_EINVAL,
                    "--m 'uniform:0': expected uniform:LO:HI with finite numbers LO and HI");
    TC_ASSERT_FAILS(dob_dist_parse("--m", "uniform:0:1:2", &d), DOB_EINVAL, "expected uniform:LO:HI");
    TC_ASSERT_FAILS(dob_dist_parse("--m", "uniform:a:1", &d), DOB_EINVAL, "expected uniform:LO:HI");
    TC_ASSERT_FAILS(dob_dist_parse("--m", "uniform::1", &d), DOB_EINVAL, "expected uniform:LO:HI");
    TC_ASSERT_FAILS(dob_dist_parse("--lr", "loguniform:1e-5:inf", &d), DOB_EINVAL, "expected loguniform:LO:HI");
    TC_ASSERT_FAILS(dob_dist_parse("--lr", "loguniform:1e-5:1e999", &d), DOB_EINVAL, "expected loguniform:LO:HI");
    TC_ASSERT_FAILS(dob_dist_parse("--m", "uniform:-1e308:1e308", &d), DOB_EINVAL, "HI - LO overflows");
    TC_ASSERT_FAILS(dob_dist_parse("--m", "normal:0:1", &d), DOB_EINVAL, "expected uniform:LO:HI or loguniform:LO:HI");
}

/* A sample is a pure function of (sample seed, sample, column); pinned values catch a change of the rule, which
 * would make existing random-search files fail their --resume and merge checks. */
static void test_dist_determinism(void) {
    const dob_dist u = {DOB_DIST_UNIFORM, 0, 1}, l = {DOB_DIST_LOGUNIFORM, 1e-5, 1e-1};
    CU_ASSERT_EQUAL(dob_dist_sample(&u, 0, 0, 0), 0.9393641721);
    CU_ASSERT_EQUAL(dob_dist_sample(&l, 7, 3, 1), 2.142581583e-05);
    CU_ASSERT_EQUAL(dob_dist_sample(&u, 42, 1000, 2), 0.7256010413);
    const double x = dob_dist_sample(&l, 7, 3, 1);
    CU_ASSERT_EQUAL(dob_dist_sample(&l, 7, 3, 1), x);
    CU_ASSERT(dob_dist_sample(&l, 8, 3, 1) != x);  /* another sample seed */
    CU_ASSERT(dob_dist_sample(&l, 7, 4, 1) != x);  /* another sample */
    CU_ASSERT(dob_dist_sample(&l, 7, 3, 0) != x);  /* another hyperparameter of the same sample */
}

/* n draws of column col: in [lo, hi], 10 significant digits, and sorted into *sorted (malloc'd) in the unit
 * interval's coordinates (log for loguniform) for the distribution checks. */
static int draws(const dob_dist *d, int n, int col, double **sorted) {
    int bad = 0;
    double *v = malloc(sizeof(double) * (size_t)n);
    for (int i = 0; i < n; i++) {
        const double x = dob_dist_sample(d, 3, i, col);
        char buf[40];
        snprintf(buf, sizeof buf, "%.10g", x);
        if (!(x >= d->lo && x <= d->hi) || strtod(buf, NULL) != x) bad++;
        v[i] = d->kind == DOB_DIST_LOGUNIFORM ? (log(x) - log(d->lo)) / (log(d->hi) - log(d->lo))
                                              : (x - d->lo) / (d->hi - d->lo);
    }
    qsort(v, (size_t)n, sizeof(double), cmp_dbl);
    *sorted = v;
    return bad;
}

/* Uniform on [0, 1] after the map: Kolmogorov-Smirnov distance below the 0.1% critical value 1.95 / sqrt(n), and
 * the mean within 4 standard errors. Deterministic (fixed seed): a failure means the rule broke, not bad luck. */
static void expect_unit_uniform(const char *what, const double *v, int n) {
    double ks = 0, mean = 0;
    for (int i = 0; i < n; i++) {
        ks = fmax(ks, fmax(fabs(v[i] - (double)i / n), fabs(v[i] - (double)(i + 1) / n)));
        mean += v[i] / n;
    }
    const int ok = ks < 1.95 / sqrt((double)n) && fabs(mean - 0.5) < 4 * sqrt(1.0 / 12 / n);
    if (!ok) fprintf(stderr, "\n    %s: KS distance %.4f, mean %.4f\n", what, ks, mean);
    CU_ASSERT(ok);
}

static void test_dist_sanity(void) {
    const int n = 20000;
    const dob_dist u = {DOB_DIST_UNIFORM, -0.5, 0.99}, l = {DOB_DIST_LOGUNIFORM, 1e-5, 1e-1};
    double *a = NULL, *b = NULL;
    CU_ASSERT_EQUAL(draws(&u, n, 1, &a), 0);
    expect_unit_uniform("uniform:-0.5:0.99", a, n);
    CU_ASSERT_EQUAL(draws(&l, n, 0, &b), 0);
    expect_unit_uniform("loguniform:1e-5:1e-1 in log space", b, n);
    /* a quarter of the draws per decade */
    int per[4] = {0};
    for (int i = 0; i < n; i++) per[b[i] < 0.25 ? 0 : b[i] < 0.5 ? 1 : b[i] < 0.75 ? 2 : 3]++;
    for (int k = 0; k < 4; k++) CU_ASSERT(abs(per[k] - n / 4) < 4 * (int)sqrt(n * 0.25 * 0.75));
    free(a);
    free(b);
    /* the columns of one sample are independent: correlation of columns 0 and 1 within 4 / sqrt(n) */
    double sx = 0, sy = 0, sxy = 0, sxx = 0, syy = 0;
    const dob_dist z = {DOB_DIST_UNIFORM, 0, 1};
    for (int i = 0; i < n; i++) {
        const double x = dob_dist_sample(&z, 3, i, 0), y = dob_dist_sample(&z, 3, i, 1);
        sx += x, sy += y, sxy += x * y, sxx += x * x, syy += y * y;
    }
    const double r = (sxy - sx * sy / n) / sqrt((sxx - sx * sx / n) * (syy - sy * sy / n));
    CU_ASSERT(fabs(r) < 4 / sqrt((double)n));
}

/* The spec `dob sweep` stores re-expands to the trials it ran: sample by sample, and bitwise on every call. */
static void test_spec_samples(void) {
    const char *texts[] = {"loguniform:1e-5:1e-1", "uniform:0.5:0.99"};
    char *spec = NULL;
    double *hp = NULL, *hp2 = NULL;
    int64_t *sd = NULL, *sd2 = NULL, T = 0, T2 = 0;
    TC_ASSERT_OK(dob_sweep_spec_make(2, hp_names, texts, 5, 7, "42:43", &spec));
    CU_ASSERT_STRING_EQUAL(spec, "learning_rate=loguniform:1e-5:1e-1;momentum=uniform:0.5:0.99;samples=5;"
                                 "sample_seed=7;seeds=42:43");
    TC_ASSERT_OK(dob_sweep_spec_expand(spec, 2, hp_names, &hp, &sd, &T));
    TC_ASSERT_OK(dob_sweep_spec_expand(spec, 2, hp_names, &hp2, &sd2, &T2));
    CU_ASSERT_EQUAL_FATAL(T, 10);
    CU_ASSERT(T2 == T && !memcmp(hp, hp2, sizeof(double) * 20) && !memcmp(sd, sd2, sizeof(int64_t) * 10));
    const dob_dist l = {DOB_DIST_LOGUNIFORM, 1e-5, 1e-1}, u = {DOB_DIST_UNIFORM, 0.5, 0.99};
    for (int t = 0; t < 10; t++) {
        /* trial t = sample * 2 + seed index */
        CU_ASSERT_EQUAL(hp[2 * t], dob_dist_sample(&l, 7, t / 2, 0));
        CU_ASSERT_EQUAL(hp[2 * t + 1], dob_dist_sample(&u, 7, t / 2, 1));
        CU_ASSERT_EQUAL(sd[t], 42 + t % 2);
    }
    CU_ASSERT(hp[0] == hp[2] && hp[0] != hp[4]); /* the seeds of a sample share it; samples differ */
    free(hp), free(hp2), free(sd), free(sd2), free(spec);
    /* a fixed value beside a distribution */
    const char *fixed[] = {"loguniform:1e-5:1e-1", "0.90000000000000002"};
    TC_ASSERT_OK(dob_sweep_spec_make(2, hp_names, fixed, 3, 0, "1", &spec));
    TC_ASSERT_OK(dob_sweep_spec_expand(spec, 2, hp_names, &hp, &sd, &T));
    CU_ASSERT(T == 3 && hp[1] == 0.9 && hp[3] == 0.9 && hp[5] == 0.9);
    free(hp), free(sd), free(spec);
}

/* A grid spec (what every sweep file before random search holds) expands exactly as dob_sweep_expand. */
static void test_spec_grid(void) {
    const char *texts[] = {"log:1e-3:1:4", "0.90000000000000002"};
    char *spec = NULL;
    double *hp = NULL, *want = NULL;
    int64_t *sd = NULL, *wsd = NULL, T = 0, WT = 0;
    TC_ASSERT_OK(dob_sweep_spec_make(2, hp_names, texts, 0, 0, "42:44", &spec));
    CU_ASSERT_STRING_EQUAL(spec, "learning_rate=log:1e-3:1:4;momentum=0.90000000000000002;seeds=42:44");
    TC_ASSERT_OK(dob_sweep_spec_expand(spec, 2, hp_names, &hp, &sd, &T));
    dob_grid g[2];
    int64_t seeds[] = {42, 43, 44};
    TC_ASSERT_OK(dob_grid_parse("lr", texts[0], &g[0]));
    TC_ASSERT_OK(dob_grid_single(0.9, &g[1]));
    TC_ASSERT_OK(dob_sweep_expand(2, g, seeds, 3, &want, &wsd, &WT));
    CU_ASSERT(T == 12 && WT == 12 && !memcmp(hp, want, sizeof(double) * 24) && !memcmp(sd, wsd, sizeof(int64_t) * 12));
    dob_grid_free(&g[0]), dob_grid_free(&g[1]);
    free(hp), free(want), free(sd), free(wsd), free(spec);
}

static void expect_spec_error(const char *spec, dob_status want, const char *sub) {
    double *hp = NULL;
    int64_t *sd = NULL, T = -1;
    CU_ASSERT(tc_fails(dob_sweep_spec_expand(spec, 2, hp_names, &hp, &sd, &T), want, sub, spec));
    CU_ASSERT(!hp && !sd && T == 0);
}

static void test_spec_errors(void) {
    expect_spec_error("learning_rate=0.1;seeds=1", DOB_EFORMAT, "has no grid for momentum");
    expect_spec_error("learning_rate=0.1;momentum=0.9", DOB_EFORMAT, "has no seeds");
    expect_spec_error("learning_rate=0.1;momentum=0.9;beta=1;seeds=1", DOB_EFORMAT, "unknown entry 'beta'");
    expect_spec_error("learning_rate=0.1;momentum=0.9;momentum=0.8;seeds=1", DOB_EFORMAT, "'momentum' is given twice");
    expect_spec_error("learning_rate=0.1;momentum;seeds=1", DOB_EFORMAT, "entry 'momentum' is not NAME=VALUE");
    expect_spec_error("learning_rate=loguniform:1e-3:1;momentum=0.9;samples=4;seeds=1", DOB_EFORMAT,
                      "samples and sample_seed go together");
    expect_spec_error("learning_rate=loguniform:1e-3:1;momentum=0.9;samples=0;sample_seed=1;seeds=1", DOB_EFORMAT,
                      "expected samples in [1, 100000] and sample_seed >= 0, found '0' and '1'");
    expect_spec_error("learning_rate=loguniform:1e-3:1;momentum=0.9;samples=2;sample_seed=-1;seeds=1", DOB_EFORMAT,
                      "found '2' and '-1'");
    expect_spec_error("learning_rate=loguniform:1e-3:1;momentum=0.9;seeds=1", DOB_EINVAL,
                      "learning_rate 'loguniform:1e-3:1' is a distribution: give --samples N");
    expect_spec_error("learning_rate=loguniform:1e-3:1;momentum=0.9,0.99;samples=2;sample_seed=0;seeds=1", DOB_EINVAL,
                      "momentum '0.9,0.99' is a grid of 2 values, but --samples draws random settings");
    expect_spec_error("learning_rate=0.1;momentum=0.9;samples=2;sample_seed=0;seeds=1", DOB_EINVAL,
                      "--samples 2 draws settings from distributions, but no hyperparameter has one");
    expect_spec_error("learning_rate=loguniform:0:1;momentum=0.9;samples=2;sample_seed=0;seeds=1", DOB_EINVAL,
                      "loguniform needs 0 < LO < HI");
}

/* ---- slicing ---------------------------------------------------------------------------------------------- */
static void test_slices(void) {
    int64_t a, b;
    const int64_t want[3][2] = {{0, 4}, {4, 8}, {8, 12}};
    for (int i = 0; i < 3; i++) {
        TC_ASSERT_OK(dob_sweep_slice(12, i, 3, &a, &b));
        CU_ASSERT(a == want[i][0] && b == want[i][1]);
    }
    TC_ASSERT_OK(dob_sweep_slice(10, 2, 3, &a, &b));
    CU_ASSERT(a == 6 && b == 10);
    /* tiling: contiguous, complete, sizes within one */
    int bad = 0;
    for (int64_t T = 0; T <= 60; T++)
        for (int C = 1; C <= 8; C++) {
            int64_t prev = 0, lo = T, hi = 0;
            for (int i = 0; i < C; i++) {
                if (dob_sweep_slice(T, i, C, &a, &b) != DOB_OK || a != prev || b < a) bad++;
                lo = b - a < lo ? b - a : lo;
                hi = b - a > hi ? b - a : hi;
                prev = b;
            }
            if (prev != T || hi - lo > 1) bad++;
        }
    CU_ASSERT_EQUAL(bad, 0);
    TC_ASSERT_FAILS(dob_sweep_slice(12, 3, 3, &a, &b), DOB_EINVAL, "expected 0 <= id < count, found id 3, count 3");
    TC_ASSERT_FAILS(dob_sweep_slice(12, 0, 0, &a, &b), DOB_EINVAL, "found id 0, count 0");
}

static void test_trial_range(void) {
    int64_t a, b;
    TC_ASSERT_OK(dob_sweep_parse_range("--trials", "2:5", 12, &a, &b));
    CU_ASSERT(a == 2 && b == 6);
    TC_ASSERT_OK(dob_sweep_parse_range("--trials", "11", 12, &a, &b));
    CU_ASSERT(a == 11 && b == 12);
    TC_ASSERT_FAILS(dob_sweep_parse_range("--trials", "5:2", 12, &a, &b), DOB_EINVAL,
                    "expected trial ids 0 <= A <= B <= 11 (the sweep has 12 trials)");
    TC_ASSERT_FAILS(dob_sweep_parse_range("--trials", "0:12", 12, &a, &b), DOB_EINVAL, "<= 11");
    TC_ASSERT_FAILS(dob_sweep_parse_range("--trials", "x", 12, &a, &b), DOB_EINVAL, "expected an integer, found 'x'");
    TC_ASSERT_FAILS(dob_sweep_parse_range("--trials", "1:2:3", 12, &a, &b), DOB_EINVAL, "expected A:B");
}

static void test_slurm(void) {
    int have = 7, id = -1, count = -1;
    TC_ASSERT_OK(dob_sweep_slurm_slice(NULL, "3", NULL, &have, &id, &count));
    CU_ASSERT_EQUAL(have, 0);
    TC_ASSERT_OK(dob_sweep_slurm_slice("1", "3", NULL, &have, &id, &count));
    CU_ASSERT(have == 1 && id == 1 && count == 3);
    TC_ASSERT_OK(dob_sweep_slurm_slice("5", "3", "4", &have, &id, &count)); /* --array=4-6 */
    CU_ASSERT(have == 1 && id == 1 && count == 3);
    TC_ASSERT_FAILS(dob_sweep_slurm_slice("3", "3", NULL, &have, &id, &count), DOB_EINVAL,
                    "expected SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN in [0, 3), found 3 - 0");
    CU_ASSERT_EQUAL(have, 0);
    TC_ASSERT_FAILS(dob_sweep_slurm_slice("x", "3", NULL, &have, &id, &count), DOB_EINVAL,
                    "SLURM_ARRAY_TASK_ID: expected an integer >= 0, found 'x'");
    TC_ASSERT_FAILS(dob_sweep_slurm_slice("1", NULL, NULL, &have, &id, &count), DOB_EINVAL,
                    "SLURM_ARRAY_TASK_COUNT is not set");
    TC_ASSERT_FAILS(dob_sweep_slurm_slice("1", "0", NULL, &have, &id, &count), DOB_EINVAL,
                    "SLURM_ARRAY_TASK_COUNT: expected an integer >= 1, found '0'");
}

static void test_slice_path(void) {
    char p[64];
    TC_ASSERT_OK(dob_sweep_slice_path("dir/sweep.h5", 2, p, sizeof p));
    CU_ASSERT_STRING_EQUAL(p, "dir/sweep.slice2.h5");
    TC_ASSERT_OK(dob_sweep_slice_path("out", 0, p, sizeof p));
    CU_ASSERT_STRING_EQUAL(p, "out.slice0");
    TC_ASSERT_FAILS(dob_sweep_slice_path("a_rather_long_name.h5", 1, p, 10), DOB_EINVAL, "longer than 9 bytes");
}

/* ---- the sweep objects of the result file ------------------------------------------------------------------ */

static dob_results_meta test_meta(int n_trials) {
    return (dob_results_meta){.problem = "fmnist_logreg", .optimizer = "momentum", .command_line = "test",
                              .batch_size = 128, .num_epochs = 2, .train_log_interval = 10, .weight_decay = NAN,
                              .n_hp = 2, .hp_names = hp_names, .n_trials = n_trials, .n_minibatch = 4, .ranks = 1,
                              .threads = 1, .has_accuracy = 1};
}

/* A slice [first, first + n) of a 6-trial sweep (lr x 3, seeds 42, 43); trial j done with curves c + j. */
static dob_status write_slice(const char *path, int first, int n, const char *spec, double c, int finish) {
    dob_status st;
    int64_t ids[6], seeds[6];
    double hp[12];
    for (int i = 0; i < n; i++) {
        ids[i] = first + i;
        seeds[i] = 42 + (first + i) % 2;
        hp[2 * i] = 0.1 * (1 + (first + i) / 2);
        hp[2 * i + 1] = 0.9;
    }
    dob_results_meta m = test_meta(n);
    dob_sweep_meta sw = {.spec = spec, .n_trials_total = 6, .max_steps = 0, .slice_id = -1, .slice_count = -1,
                         .trial_ids = ids, .seeds = seeds, .hp = hp, .in_place = 1};
    dob_results *r = NULL;
    if ((st = dob_results_create_sweep(path, 0, &m, &sw, world, &r)) != DOB_OK) return st;
    for (int i = 0; i < n && finish; i++) {
        double cur[3] = {c + first + i, c + first + i + 1, c + first + i + 2}, mb[4] = {1, 2, 3, 4}, ph[5] = {0};
        dob_trial_result t = {.train_losses = cur, .valid_losses = cur, .test_losses = cur, .train_accuracies = cur,
                              .valid_accuracies = cur, .test_accuracies = cur, .minibatch_train_losses = mb,
                              .epoch_seconds = cur, .phase_seconds = ph, .hp = hp + 2 * i,
                              .random_seed = seeds[i], .epochs_done = 2, .status = DOB_TRIAL_DONE};
        if ((st = dob_results_begin_trial(r, i)) != DOB_OK || (st = dob_results_write_trial(r, i, &t)) != DOB_OK) {
            dob_results_abort(r);
            return st;
        }
    }
    return dob_results_close(r);
}

static void test_file_in_place(void) {
    char p[320];
    snprintf(p, sizeof p, "%s/inplace.h5", tmpdir);
    int64_t ids[2] = {3, 5}, seeds[2] = {42, 43};
    double hp[4] = {0.1, 0.9, 0.2, 0.99};
    dob_results_meta m = test_meta(2);
    dob_sweep_meta sw = {.spec = "learning_rate=0.1,0.2;seeds=42,43", .n_trials_total = 6, .max_steps = 7,
                         .slice_id = 1, .slice_count = 3, .trial_ids = ids, .seeds = seeds, .hp = hp,
                         .in_place = 1};
    dob_results *r = NULL;
    TC_ASSERT_OK(dob_results_create_sweep(p, 0, &m, &sw, world, &r));
    CU_ASSERT_EQUAL(access(p, F_OK), 0); /* at its final path before close: readable after a crash */
    dob_sweep_desc d;
    TC_ASSERT_OK(dob_results_read_sweep(p, &d)); /* while open for writing */
    CU_ASSERT_EQUAL(d.n_trials, 2);
    CU_ASSERT(d.trial_ids[0] == 3 && d.trial_ids[1] == 5 && d.seeds[1] == 43 && d.hp[2] == 0.2 && d.hp[3] == 0.99);
    CU_ASSERT(d.status[0] == DOB_TRIAL_PENDING && d.run_count[0] == 0);
    CU_ASSERT(d.n_trials_total == 6 && d.max_steps == 7 && d.slice_id == 1 && d.slice_count == 3);
    CU_ASSERT_STRING_EQUAL(d.spec, "learning_rate=0.1,0.2;seeds=42,43");
    CU_ASSERT_STRING_EQUAL(d.problem, "fmnist_logreg");
    CU_ASSERT(isnan(d.final_test_loss[0]));
    dob_sweep_desc_free(&d);
    TC_ASSERT_OK(dob_results_begin_trial(r, 1));
    TC_ASSERT_OK(dob_results_close(r));
    TC_ASSERT_OK(dob_results_open(p, world, &r)); /* --resume */
    TC_ASSERT_OK(dob_results_begin_trial(r, 1));
    dob_results_abort(r); /* in place: closes, never deletes */
    CU_ASSERT_EQUAL(access(p, F_OK), 0);
    TC_ASSERT_OK(dob_results_read_sweep(p, &d));
    CU_ASSERT(d.status[1] == DOB_TRIAL_RUNNING && d.run_count[1] == 2 && d.run_count[0] == 0);
    dob_sweep_desc_free(&d);
    /* refusals: existing file, bad ids; nothing left behind by a refused creation */
    TC_ASSERT_FAILS(dob_results_create_sweep(p, 0, &m, &sw, world, &r), DOB_EEXIST, "already exists");
    ids[1] = 3;
    char q[320];
    snprintf(q, sizeof q, "%s/badids.h5", tmpdir);
    TC_ASSERT_FAILS(dob_results_create_sweep(q, 0, &m, &sw, world, &r), DOB_EINVAL, "trial ids must ascend");
    CU_ASSERT_NOT_EQUAL(access(q, F_OK), 0);
}

static void test_file_not_sweep(void) {
    char p[320];
    snprintf(p, sizeof p, "%s/run.h5", tmpdir);
    dob_results_meta m = test_meta(1);
    dob_results *r = NULL;
    TC_ASSERT_OK(dob_results_create(p, 0, &m, world, &r));
    TC_ASSERT_OK(dob_results_close(r));
    dob_sweep_desc d;
    TC_ASSERT_FAILS(dob_results_read_sweep(p, &d), DOB_EFORMAT, "not a sweep file");
    TC_ASSERT_FAILS(dob_results_open(p, world, &r), DOB_EFORMAT, "not a sweep file");
    snprintf(p, sizeof p, "%s/missing.h5", tmpdir);
    TC_ASSERT_FAILS(dob_results_read_sweep(p, &d), DOB_ENOENT, "missing.h5': No such file");
    TC_ASSERT_FAILS(dob_results_open(p, world, &r), DOB_ENOENT, "No such file");
    snprintf(p, sizeof p, "%s/text.h5", tmpdir);
    FILE *f = fopen(p, "w");
    fputs("not hdf5", f);
    fclose(f);
    TC_ASSERT_FAILS(dob_results_read_sweep(p, &d), DOB_EFORMAT, "is not an HDF5 file");
}

static void test_merge(void) {
    char a[320], b[320], c[320], o[320], x[320];
    const char *spec = "learning_rate=lin:0.1:0.3:3;seeds=42:43";
    snprintf(a, sizeof a, "%s/m0.h5", tmpdir);
    snprintf(b, sizeof b, "%s/m1.h5", tmpdir);
    snprintf(c, sizeof c, "%s/m2.h5", tmpdir);
    snprintf(o, sizeof o, "%s/merged.h5", tmpdir);
    snprintf(x, sizeof x, "%s/other.h5", tmpdir);
    TC_ASSERT_OK(write_slice(a, 0, 3, spec, 10, 1));
    TC_ASSERT_OK(write_slice(b, 3, 3, spec, 10, 1));
    TC_ASSERT_OK(write_slice(c, 2, 2, spec, 10, 0)); /* overlaps both, all pending */
    const char *in[] = {b, c, a};
    int n = 0, nf = 0;
    TC_ASSERT_OK(dob_results_merge(o, 3, in, 0, 0, world, &n, &nf, NULL));
    CU_ASSERT(n == 6 && nf == 6);
    dob_sweep_desc d;
    TC_ASSERT_OK(dob_results_read_sweep(o, &d));
    CU_ASSERT_EQUAL_FATAL(d.n_trials, 6);
    for (int i = 0; i < 6; i++) {
        CU_ASSERT(d.trial_ids[i] == i && d.status[i] == DOB_TRIAL_DONE && d.run_count[i] == 1);
        CU_ASSERT(d.seeds[i] == 42 + i % 2);
        CU_ASSERT_DOUBLE_EQUAL(d.final_test_loss[i], 10 + i + 2, 0);
    }
    CU_ASSERT(d.slice_id == -1 && d.slice_count == -1);
    dob_sweep_desc_free(&d);
    /* refusals, and no output file left */
    TC_ASSERT_FAILS(dob_results_merge(o, 3, in, 0, 0, world, &n, &nf, NULL), DOB_EEXIST, "already exists");
    const char *self[] = {a, o};
    TC_ASSERT_FAILS(dob_results_merge(o, 2, self, 1, 0, world, &n, &nf, NULL), DOB_EINVAL, "is also an input");
    TC_ASSERT_OK(write_slice(x, 0, 3, "learning_rate=0.5;seeds=42", 10, 1));
    const char *other[] = {a, x};
    char o2[320];
    snprintf(o2, sizeof o2, "%s/merged2.h5", tmpdir);
    TC_ASSERT_FAILS(dob_results_merge(o2, 2, other, 0, 0, world, &n, &nf, NULL), DOB_EINVAL,
                    "are not slices of the same sweep: grid (sweep_spec) differs");
    unlink(x);
    TC_ASSERT_OK(write_slice(x, 1, 2, spec, 20, 1)); /* trials 1, 2 done with other curves */
    TC_ASSERT_FAILS(dob_results_merge(o2, 2, other, 0, 0, world, &n, &nf, NULL), DOB_EINVAL,
                    "trial 1 finished in both");
    CU_ASSERT_NOT_EQUAL(access(o2, F_OK), 0);
}

/* issue 14: merging without one slice lost its trials silently; now refused naming them, or (allow_missing) the
 * trials are written pending with the identities the sweep_spec gives them */
static void test_merge_missing_slice(void) {
    char a[320], o[320];
    const char *spec = "learning_rate=lin:0.1:0.3:3;momentum=0.9;seeds=42:43";
    snprintf(a, sizeof a, "%s/ms0.h5", tmpdir);
    snprintf(o, sizeof o, "%s/ms_merged.h5", tmpdir);
    TC_ASSERT_OK(write_slice(a, 0, 3, spec, 10, 1));
    const char *in[] = {a};
    int n = -1, nf = -1, nm = -1;
    TC_ASSERT_FAILS(dob_results_merge(o, 1, in, 0, 0, world, &n, &nf, &nm), DOB_EINVAL,
                    "3 of the sweep's 6 trials are in none of the inputs (ids 3..5)");
    CU_ASSERT_NOT_EQUAL(access(o, F_OK), 0);
    TC_ASSERT_OK(dob_results_merge(o, 1, in, 0, 1, world, &n, &nf, &nm));
    CU_ASSERT(n == 6 && nf == 3 && nm == 3);
    dob_sweep_desc d;
    TC_ASSERT_OK(dob_results_read_sweep(o, &d));
    CU_ASSERT_EQUAL_FATAL(d.n_trials, 6);
    for (int i = 0; i < 6; i++) {
        CU_ASSERT_EQUAL(d.trial_ids[i], i);
        CU_ASSERT_EQUAL(d.status[i], i < 3 ? DOB_TRIAL_DONE : DOB_TRIAL_PENDING);
        CU_ASSERT_EQUAL(d.seeds[i], 42 + i % 2);
        CU_ASSERT_DOUBLE_EQUAL(d.hp[2 * i], 0.1 * (1 + i / 2), 1e-12);
        CU_ASSERT_DOUBLE_EQUAL(d.hp[2 * i + 1], 0.9, 0);
    }
    dob_sweep_desc_free(&d);
}

static CU_TestInfo tests[] = {
    {"grid: log (DeepOBS lr grid)", test_grid_log},
    {"grid: lin, lists, single", test_grid_lin_list},
    {"grid: errors", test_grid_errors},
    {"seeds", test_seeds},
    {"expand: order", test_expand_order},
    {"random search: distributions", test_dist_parse},
    {"random search: samples are pinned", test_dist_determinism},
    {"random search: bounds and distribution", test_dist_sanity},
    {"spec: random search re-expands", test_spec_samples},
    {"spec: grids as before", test_spec_grid},
    {"spec: errors", test_spec_errors},
    {"slices tile the trials", test_slices},
    {"--trials range", test_trial_range},
    {"Slurm job-array slice", test_slurm},
    {"slice file names", test_slice_path},
    {"file: in place, read, resume", test_file_in_place},
    {"file: not a sweep file", test_file_not_sweep},
    {"file: merge", test_merge},
    {"merge: a missing slice", test_merge_missing_slice},
    CU_TEST_INFO_NULL,
};
CU_SuiteInfo sweep_suite = {"sweep", suite_init, suite_cleanup, NULL, NULL, tests};
