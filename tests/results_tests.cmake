# results suite (tests/test_results.c): the test binary reads the HDF5 result files with the plain HDF5 API
# (whose headers include mpi.h) and parses the exported JSON with jansson.
target_link_libraries(dob_tests PRIVATE HDF5::HDF5 MPI::MPI_C PkgConfig::JANSSON)

# h5py must read the result file directly. Registered only if /usr/bin/python3 has h5py: the results suite's
# write_for_h5py test writes a file (fixture), then tests/check_h5.py opens it with h5py.
execute_process(COMMAND /usr/bin/python3 -c "import h5py" RESULT_VARIABLE DOB_H5PY_RC OUTPUT_QUIET ERROR_QUIET)
if(DOB_H5PY_RC STREQUAL "0")
  set(DOB_H5PY_FILE ${CMAKE_CURRENT_BINARY_DIR}/h5py_results.h5)
  add_test(NAME h5py_results_write COMMAND dob_tests -s results -t write_for_h5py)
  set_tests_properties(h5py_results_write PROPERTIES LABELS unit FIXTURES_SETUP h5py_results
                       ENVIRONMENT "DOB_RESULTS_H5PY_OUT=${DOB_H5PY_FILE}")
  add_test(NAME h5py_reads_results COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/check_h5.py ${DOB_H5PY_FILE})
  set_tests_properties(h5py_reads_results PROPERTIES LABELS unit FIXTURES_REQUIRED h5py_results)
  # tools/plot_curves.py draws the same file (needs matplotlib; Agg backend, no display)
  execute_process(COMMAND /usr/bin/python3 -c "import matplotlib" RESULT_VARIABLE DOB_MPL_RC OUTPUT_QUIET ERROR_QUIET)
  if(DOB_MPL_RC STREQUAL "0")
    add_test(NAME tools_plot_curves COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tools/plot_curves.py
             -o ${CMAKE_CURRENT_BINARY_DIR}/plot_curves_test.png ${DOB_H5PY_FILE})
    set_tests_properties(tools_plot_curves PROPERTIES LABELS unit FIXTURES_REQUIRED h5py_results
                         PASS_REGULAR_EXPRESSION "figure: .*plot_curves_test.png" ENVIRONMENT "MPLBACKEND=Agg")
  endif()
else()
  message(STATUS "h5py not found for /usr/bin/python3: test h5py_reads_results not registered")
endif()
