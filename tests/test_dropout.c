/* test_dropout.c: placeholder suite, filled in by the layer work. */
#include "tc.h"

static CU_TestInfo tests[] = {CU_TEST_INFO_NULL};
CU_SuiteInfo dropout_suite = {"dropout", NULL, NULL, NULL, NULL, tests};
