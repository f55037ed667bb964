/* problem_fx.h: running a registered DeepOBS problem for a few steps on synthetic in-memory data (the golden-loss
 * tests of tests/test_problems.c and tests/test_vgg.c). */
#ifndef DOB_TESTS_PROBLEM_FX_H
#define DOB_TESTS_PROBLEM_FX_H

#include "dob/datasets.h"
#include "dob/problem.h"

/** n examples of p's input shape: pixels U[0, 0.5), labels from the test RNG, and a learnable signal (class c
 *  brightens the c-th 1/classes of the pixels by 0.5); sequence problems get a text of ids with a pattern. */
void tc_problem_data(const dob_problem_spec *p, int64_t n, uint64_t stream, dob_dataset *d);
/** k steps of plain SGD (lr) at batch bs in precision prec from seed 42 (one epoch of k batches, evaluated before
 *  and after on bs examples); losses[0..k) = the minibatch losses (regulariser included), *acc0 (may be NULL) the
 *  test accuracy at init. CUnit assertions on every failure. */
void tc_problem_steps(const dob_problem_spec *p, dob_precision prec, int64_t bs, int k, double lr, double *losses,
                      double *acc0);

/** The first k mini-batch losses of p (SGD lr, seed 42, batch bs, its weight decay and preprocessing) trained on
 *  its data set under data_dir (dob_problem_data_load), evaluated on bs examples. CUnit assertions on failure. */
void tc_problem_steps_on(const dob_problem_spec *p, const char *data_dir, int64_t bs, int k, double lr,
                         double *losses);

#endif
