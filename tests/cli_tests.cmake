# Command-line tests: error handling (fast) and a real Fashion-MNIST run (label e2e, ~2-4 min on 2 cores).
add_test(NAME cli_errors COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cli_errors.sh $<TARGET_FILE:dob>)
set_tests_properties(cli_errors PROPERTIES LABELS cli ENVIRONMENT "OMP_NUM_THREADS=2")
add_test(NAME e2e_fmnist_2c2d_3epochs COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/e2e_fmnist.sh $<TARGET_FILE:dob> 3)
set_tests_properties(e2e_fmnist_2c2d_3epochs PROPERTIES LABELS e2e TIMEOUT 1200 ENVIRONMENT "OMP_NUM_THREADS=2")
add_test(NAME checkpoint_resume COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/checkpoint_test.sh $<TARGET_FILE:dob>)
set_tests_properties(checkpoint_resume PROPERTIES LABELS e2e TIMEOUT 900 ENVIRONMENT "OMP_NUM_THREADS=2")
add_test(NAME e2e_cifar10_3c3d_generated COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/e2e_cifar.sh $<TARGET_FILE:dob>)
set_tests_properties(e2e_cifar10_3c3d_generated PROPERTIES LABELS e2e TIMEOUT 900 ENVIRONMENT "OMP_NUM_THREADS=2")
add_test(NAME analyze_cli COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/analyze_test.sh $<TARGET_FILE:dob>)
set_tests_properties(analyze_cli PROPERTIES LABELS cli TIMEOUT 300 ENVIRONMENT "OMP_NUM_THREADS=2")
add_test(NAME e2e_svhn_mat COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/e2e_svhn_mat.sh $<TARGET_FILE:dob>)
set_tests_properties(e2e_svhn_mat PROPERTIES LABELS e2e TIMEOUT 900 ENVIRONMENT "OMP_NUM_THREADS=2")
add_test(NAME vae_grid COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/vae_grid_test.sh $<TARGET_FILE:dob>)
set_tests_properties(vae_grid PROPERTIES LABELS e2e TIMEOUT 900 ENVIRONMENT "OMP_NUM_THREADS=2")
# Static checks of the Slurm templates jobs/*.sbatch (bash -n, #SBATCH lines before the first command, the
# signal/requeue wiring); tests/slurm/slurm_test.sh runs them on a real cluster where it can.
add_test(NAME jobs_static COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/jobs_check.sh ${CMAKE_SOURCE_DIR}/jobs)
set_tests_properties(jobs_static PROPERTIES LABELS cli TIMEOUT 60)
# `dob version` (and every result file) names the revision the binary was built from, also after commits or edits
# that no re-configure saw (scripts/git_rev.cmake runs at every build); skipped outside a git checkout.
add_test(NAME version_rev COMMAND sh -c [=[
  want=$(git -C "$1" rev-parse --short HEAD 2>/dev/null) || exit 77
  git -C "$1" diff --quiet HEAD -- || want="$want-dirty"
  "$2" version | grep -F "(git $want)" || { echo "expected (git $want) in: $("$2" version)"; exit 1; }]=]
  sh ${CMAKE_SOURCE_DIR} $<TARGET_FILE:dob>)
set_tests_properties(version_rev PROPERTIES LABELS cli SKIP_RETURN_CODE 77)
