# CTest helpers for the MPI tests (label `mpi`), used by tests/mpi/register.cmake and
# examples/CMakeLists.txt when GNNPOOL_WITH_MPI is on.
#
#   gnnpool_add_mpi_test(NAME name NP ranks COMMAND program args...)
#     runs `mpirun -np ranks program args...`;
#   gnnpool_add_mpi_failure_test(NAME name NP ranks EXPECT regex... COMMAND program args...)
#     runs it under a 60 s limit and passes when the job FAILS in time with output matching
#     every regex (cmake/gnnpoolExpectFailure.cmake).
#
# Open MPI refuses to run as root and to start more ranks than cores unless told
# (--allow-run-as-root --oversubscribe). The environment keeps shared memory between the ranks
# without cross-memory attach (containers often forbid ptrace) and turns LeakSanitizer off for
# these programs only: Open MPI keeps its allocations until exit by design (and MPI_Abort exits
# without freeing), which LSan reports as leaks that are not gnnpool's; the address and
# undefined-behaviour checks stay on.
# (No include guard: every directory that includes it gets the variables in its own scope.)

set(GNNPOOL_MPIEXEC_FLAGS "")
execute_process(COMMAND ${MPIEXEC_EXECUTABLE} --version OUTPUT_VARIABLE gnnpool_mpiexec_version ERROR_QUIET)
if(gnnpool_mpiexec_version MATCHES "Open MPI|OpenRTE")
  set(GNNPOOL_MPIEXEC_FLAGS --allow-run-as-root --oversubscribe)
endif()
set(GNNPOOL_MPI_TEST_ENVIRONMENT
  "ASAN_OPTIONS=detect_leaks=0:check_initialization_order=1:strict_init_order=1"
  "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1"
  "OMPI_MCA_btl_vader_single_copy_mechanism=none"
  "OMPI_MCA_rmaps_base_oversubscribe=1")

function(gnnpool_add_mpi_test)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "NAME;NP" "COMMAND")
  list(POP_FRONT arg_COMMAND program)
  add_test(NAME ${arg_NAME}
           COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${arg_NP} ${GNNPOOL_MPIEXEC_FLAGS}
                   ${MPIEXEC_PREFLAGS} ${program} ${MPIEXEC_POSTFLAGS} ${arg_COMMAND})
  set_tests_properties(${arg_NAME} PROPERTIES LABELS mpi PROCESSORS ${arg_NP} TIMEOUT 600
                       ENVIRONMENT "${GNNPOOL_MPI_TEST_ENVIRONMENT}")
endfunction()

function(gnnpool_add_mpi_failure_test)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "NAME;NP" "EXPECT;COMMAND")
  list(POP_FRONT arg_COMMAND program)
  set(command ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${arg_NP} ${GNNPOOL_MPIEXEC_FLAGS} ${MPIEXEC_PREFLAGS}
              ${program} ${MPIEXEC_POSTFLAGS} ${arg_COMMAND})
  # Lists travel through the command line joined by "^^" (gnnpoolExpectFailure.cmake splits them).
  string(REPLACE ";" "^^" command "${command}")
  string(REPLACE ";" "^^" expect "${arg_EXPECT}")
  add_test(NAME ${arg_NAME}
           COMMAND ${CMAKE_COMMAND} "-DCOMMAND=${command}" -DTIMEOUT=60 "-DEXPECT=${expect}"
                   -P ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/gnnpoolExpectFailure.cmake)
  set_tests_properties(${arg_NAME} PROPERTIES LABELS mpi PROCESSORS ${arg_NP} TIMEOUT 120
                       ENVIRONMENT "${GNNPOOL_MPI_TEST_ENVIRONMENT}")
endfunction()
