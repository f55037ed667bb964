/* test_sched.c: placeholder suite, filled in by the work on this module. */
#include "tc.h"

static CU_TestInfo tests[] = {CU_TEST_INFO_NULL};
CU_SuiteInfo sched_suite = {"sched", NULL, NULL, NULL, NULL, tests};
