/* test_structure.c: placeholder suite, filled in by the layer work. */
#include "tc.h"

static CU_TestInfo tests[] = {CU_TEST_INFO_NULL};
CU_SuiteInfo structure_suite = {"structure", NULL, NULL, NULL, NULL, tests};
