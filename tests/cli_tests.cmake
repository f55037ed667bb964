# Command-line tests: error handling (fast) and a real Fashion-MNIST run (label e2e, ~2-4 min on 2 cores).
add_test(NAME cli_errors COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cli_errors.sh $<TARGET_FILE:dob>)
set_tests_properties(cli_errors PROPERTIES LABELS cli ENVIRONMENT "OMP_NUM_THREADS=2")
add_test(NAME e2e_fmnist_2c2d_3epochs COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/e2e_fmnist.sh $<TARGET_FILE:dob> 3)
set_tests_properties(e2e_fmnist_2c2d_3epochs PROPERTIES LABELS e2e TIMEOUT 1200 ENVIRONMENT "OMP_NUM_THREADS=2")
add_test(NAME checkpoint_resume COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/checkpoint_test.sh $<TARGET_FILE:dob>)
set_tests_properties(checkpoint_resume PROPERTIES LABELS e2e TIMEOUT 900 ENVIRONMENT "OMP_NUM_THREADS=2")
add_test(NAME e2e_cifar10_3c3d_generated COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/e2e_cifar.sh $<TARGET_FILE:dob>)
set_tests_properties(e2e_cifar10_3c3d_generated PROPERTIES LABELS e2e TIMEOUT 900 ENVIRONMENT "OMP_NUM_THREADS=2")
