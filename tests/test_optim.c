/* test_optim.c: placeholder suite, filled in by the work on this module. */
#include "tc.h"

static CU_TestInfo tests[] = {CU_TEST_INFO_NULL};
CU_SuiteInfo optim_suite = {"optim", NULL, NULL, NULL, NULL, tests};
