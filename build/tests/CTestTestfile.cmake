# CMake generated Testfile for 
# Source directory: /work/main/tests
# Build directory: /work/main/build/tests
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
add_test(unit_core "/work/main/build/tests/dob_tests" "-s" "core")
set_tests_properties(unit_core PROPERTIES  ENVIRONMENT "OMP_NUM_THREADS=2;DOB_SOURCE_DIR=/work/main" LABELS "unit" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;16;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test(unit_conv "/work/main/build/tests/dob_tests" "-s" "conv")
set_tests_properties(unit_conv PROPERTIES  ENVIRONMENT "OMP_NUM_THREADS=2;DOB_SOURCE_DIR=/work/main" LABELS "unit" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;16;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test(unit_pool "/work/main/build/tests/dob_tests" "-s" "pool")
set_tests_properties(unit_pool PROPERTIES  ENVIRONMENT "OMP_NUM_THREADS=2;DOB_SOURCE_DIR=/work/main" LABELS "unit" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;16;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test(unit_dense "/work/main/build/tests/dob_tests" "-s" "dense")
set_tests_properties(unit_dense PROPERTIES  ENVIRONMENT "OMP_NUM_THREADS=2;DOB_SOURCE_DIR=/work/main" LABELS "unit" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;16;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test(unit_bnorm "/work/main/build/tests/dob_tests" "-s" "bnorm")
set_tests_properties(unit_bnorm PROPERTIES  ENVIRONMENT "OMP_NUM_THREADS=2;DOB_SOURCE_DIR=/work/main" LABELS "unit" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;16;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test(unit_dropout "/work/main/build/tests/dob_tests" "-s" "dropout")
set_tests_properties(unit_dropout PROPERTIES  ENVIRONMENT "OMP_NUM_THREADS=2;DOB_SOURCE_DIR=/work/main" LABELS "unit" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;16;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test(unit_structure "/work/main/build/tests/dob_tests" "-s" "structure")
set_tests_properties(unit_structure PROPERTIES  ENVIRONMENT "OMP_NUM_THREADS=2;DOB_SOURCE_DIR=/work/main" LABELS "unit" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;16;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test(unit_losses "/work/main/build/tests/dob_tests" "-s" "losses")
set_tests_properties(unit_losses PROPERTIES  ENVIRONMENT "OMP_NUM_THREADS=2;DOB_SOURCE_DIR=/work/main" LABELS "unit" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;16;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test(unit_optim "/work/main/build/tests/dob_tests" "-s" "optim")
set_tests_properties(unit_optim PROPERTIES  ENVIRONMENT "OMP_NUM_THREADS=2;DOB_SOURCE_DIR=/work/main" LABELS "unit" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;16;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test(unit_sched "/work/main/build/tests/dob_tests" "-s" "sched")
set_tests_properties(unit_sched PROPERTIES  ENVIRONMENT "OMP_NUM_THREADS=2;DOB_SOURCE_DIR=/work/main" LABELS "unit" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;16;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test(unit_idx "/work/main/build/tests/dob_tests" "-s" "idx")
set_tests_properties(unit_idx PROPERTIES  ENVIRONMENT "OMP_NUM_THREADS=2;DOB_SOURCE_DIR=/work/main" LABELS "unit" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;16;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test(unit_results "/work/main/build/tests/dob_tests" "-s" "results")
set_tests_properties(unit_results PROPERTIES  ENVIRONMENT "OMP_NUM_THREADS=2;DOB_SOURCE_DIR=/work/main" LABELS "unit" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;16;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test(unit_problems "/work/main/build/tests/dob_tests" "-s" "problems")
set_tests_properties(unit_problems PROPERTIES  ENVIRONMENT "OMP_NUM_THREADS=2;DOB_SOURCE_DIR=/work/main" LABELS "unit" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;16;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test(unit_trainer "/work/main/build/tests/dob_tests" "-s" "trainer")
set_tests_properties(unit_trainer PROPERTIES  ENVIRONMENT "OMP_NUM_THREADS=2;DOB_SOURCE_DIR=/work/main" LABELS "unit" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;16;add_test;/work/main/tests/CMakeLists.txt;0;")
