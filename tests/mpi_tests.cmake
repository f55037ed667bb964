# MPI tests: separate executables under mpiexec with 1, 2 and 4 ranks (4 oversubscribes 2 cores), as root.
add_executable(dob_mpi_dp_test ${CMAKE_CURRENT_SOURCE_DIR}/mpi/test_dp.c)
dob_target_setup(dob_mpi_dp_test)
target_link_libraries(dob_mpi_dp_test PRIVATE dob_problems dob_io dob_mpi dob_core m)
set(DOB_MPI_ENV "OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1;OMPI_MCA_rmaps_base_oversubscribe=1;OMP_NUM_THREADS=1;ASAN_OPTIONS=detect_leaks=0")
foreach(np 1 2 4)
  add_test(NAME mpi_dp_np${np} COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${np} --bind-to none
           ${MPIEXEC_PREFLAGS} $<TARGET_FILE:dob_mpi_dp_test> ${MPIEXEC_POSTFLAGS})
  set_tests_properties(mpi_dp_np${np} PROPERTIES LABELS mpi TIMEOUT 600 ENVIRONMENT "${DOB_MPI_ENV}")
endforeach()
