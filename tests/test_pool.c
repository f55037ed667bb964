/* test_pool.c: placeholder suite, filled in by the layer work. */
#include "tc.h"

static CU_TestInfo tests[] = {CU_TEST_INFO_NULL};
CU_SuiteInfo pool_suite = {"pool", NULL, NULL, NULL, NULL, tests};
