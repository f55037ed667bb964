/* results_fx.h: fixtures shared by the suites of the result file (test_results.c), its JSON export
 * (test_json.c) and checkpoints (test_checkpoint.c): a temporary directory per suite, a standard 3-trial file,
 * distinct curves per trial, and readers of HDF5 datasets and attributes through the plain HDF5 API (independent
 * of io/). Defined in results_fx.c. */
#ifndef DOB_TESTS_RESULTS_FX_H
#define DOB_TESTS_RESULTS_FX_H
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

#define NE 4 /* num_epochs 3 -> 4 evaluations */
#define NMB 7
/* Distinct values per trial and per curve; curve c of trial k at entry i. */
typedef struct curves {
    double c[8][NMB + NE]; /* 0..5 the six metric curves, 6 minibatch, 7 epoch seconds */
    double phase[5], hp[4];
} curves;

extern dob_comm *rfx_world;
extern char rfx_tmpdir[256];
extern curves cv0, cv1;
int rfx_suite_init(void);
int rfx_suite_cleanup(void);
dob_results_meta std_meta(void);
void make_curves(curves *v, int k, double lr, double mom);
dob_trial_result as_result(const curves *v, int64_t seed, int epochs_done, dob_trial_status s);
void rfx_path_in(char *buf, size_t cap, const char *name);
int count_entries(const char *dir, const char *sub);
int rfx_file_exists(const char *p);
char *rfx_slurp(const char *p, size_t *len);
void rfx_put(const char *p, const char *text);
int rfx_same(double a, double b);
int check_f64(hid_t f, const char *p, const double *want, int n);
long long read_int(hid_t f, const char *p);
hid_t vstr(void);
int attr_str_eq(hid_t g, const char *name, const char *want);
double attr_num(hid_t g, const char *name);
void write_standard_file(const char *p, const dob_results_meta *m);

#endif
