# build_fuzz.cmake -DSRC=<source tree> -DBIN=<fuzz build tree> -DCLANG=<clang>: configure (once) and build the
# clang + libFuzzer + ASan/UBSan tree of the harnesses. Run by the ctest fixture fuzz_build.
if(NOT EXISTS ${BIN}/CMakeCache.txt)
  execute_process(COMMAND ${CMAKE_COMMAND} -S ${SRC} -B ${BIN} -G Ninja -DCMAKE_C_COMPILER=${CLANG}
                          -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDOB_FUZZ=ON -DDOB_OPENMP=OFF -DDOB_LONG_TESTS=OFF
                  RESULT_VARIABLE rc)
  if(rc)
    message(FATAL_ERROR "configuring the fuzz tree ${BIN} failed")
  endif()
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${BIN} --target dob_fuzz_all -j2 RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "building the fuzz harnesses in ${BIN} failed")
endif()
