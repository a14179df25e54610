# The MPI tests (included by tests/CMakeLists.txt when GNNPOOL_WITH_MPI is on; CTest label
# `mpi`). Every tests/mpi/*.cpp is a plain program linked with gnnpool::mpi and run under
# `mpirun -np 2` and `-np 3`; failure.cpp's failure modes must end the job with a clear error
# within a time limit. Flags and environment: cmake/gnnpoolMpiTests.cmake.
include(${PROJECT_SOURCE_DIR}/cmake/gnnpoolMpiTests.cmake)

file(GLOB mpi_test_sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/*.cpp)
foreach(src IN LISTS mpi_test_sources)
  get_filename_component(name ${src} NAME_WE)
  set(target gnnpool_test_mpi_${name})
  add_executable(${target} ${src})
  target_link_libraries(${target} PRIVATE gnnpool::mpi gnnpool_dev_flags)
  if(spectra_FOUND)
    target_link_libraries(${target} PRIVATE Spectra::Spectra)
  endif()
  target_include_directories(${target} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
  target_compile_definitions(${target} PRIVATE GNNPOOL_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  if(NOT name STREQUAL "failure")
    foreach(np 2 3)
      gnnpool_add_mpi_test(NAME mpi/${name}:np${np} NP ${np} COMMAND $<TARGET_FILE:${target}>)
    endforeach()
  endif()
endforeach()

# Every rank prints the same agreed error and exits 1:
gnnpool_add_mpi_failure_test(NAME mpi/failure:mismatch NP 2
  EXPECT "rank 0/2: gnnpool::mpi: the number of graphs in the dataset differs across the ranks \\(rank 0: 40, rank 1: 39\\)"
         "rank 1/2: gnnpool::mpi: the number of graphs in the dataset differs"
  COMMAND $<TARGET_FILE:gnnpool_test_mpi_failure> --mode mismatch)
# One rank's exception: it prints it and MPI_Abort ends the ranks waiting in the all-reduce
# (the job ending in time is the check; Open MPI's own MPI_ABORT banner is not matched: under
# load its help printer sometimes fails with "Out of resource" and prints nothing):
gnnpool_add_mpi_failure_test(NAME mpi/failure:throw NP 2
  EXPECT "rank 1/2: fatal: simulated failure in the training step of the last rank \\(aborting the job\\)"
  COMMAND $<TARGET_FILE:gnnpool_test_mpi_failure> --mode throw)
# A rank killed by a signal: mpirun ends the job in time with a non-zero status (its own
# "exited on signal 9" banner goes through the same unreliable help printer, so it is not matched):
gnnpool_add_mpi_failure_test(NAME mpi/failure:die NP 2
  EXPECT "rank 1: killing myself"
  COMMAND $<TARGET_FILE:gnnpool_test_mpi_failure> --mode die)
# The same program without a failure finishes normally (the failures above are the modes').
gnnpool_add_mpi_test(NAME mpi/failure:none NP 2 COMMAND $<TARGET_FILE:gnnpool_test_mpi_failure> --mode none)
