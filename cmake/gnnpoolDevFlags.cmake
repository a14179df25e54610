# Flags for gnnpool's OWN targets (tests, examples, benchmarks); never attached to `gnnpool`, so
# a consumer's build sees none of them.
#   gnnpool_warnings   the strict warnings, for every target of the project;
#   gnnpool_dev_flags  the warnings plus, with GNNPOOL_SANITIZE, address + undefined-behaviour
#                      sanitizers: tests, examples and doc programs. Benchmarks take only the
#                      warnings: they exist to be timed, and an instrumented -O3 -march=native
#                      build only adds GCC's false uninitialised-value warnings in Eigen's
#                      AVX-512 kernels.
add_library(gnnpool_warnings INTERFACE)
target_compile_options(gnnpool_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wconversion -Wshadow -Werror)

# OpenMP for the project's own targets (default: on when the compiler has it). gnnpool itself
# never links it: a consumer opts in by compiling with OpenMP, as with Eigen (docs/parallel.md).
# EIGEN_DONT_PARALLELIZE: Eigen's threaded products pick their blocking by the thread count,
# which would make results depend on it; gnnpool splits its large products itself.
find_package(OpenMP COMPONENTS CXX QUIET)
option(GNNPOOL_WITH_OPENMP "Build gnnpool's own targets with OpenMP (multi-core, bit-identical results)"
       ${OpenMP_CXX_FOUND})
if(GNNPOOL_WITH_OPENMP)
  if(NOT OpenMP_CXX_FOUND)
    message(FATAL_ERROR "GNNPOOL_WITH_OPENMP is ON but the compiler has no OpenMP (Debian: libgomp with g++, libomp-dev with clang)")
  endif()
  target_link_libraries(gnnpool_warnings INTERFACE OpenMP::OpenMP_CXX)
  target_compile_definitions(gnnpool_warnings INTERFACE EIGEN_DONT_PARALLELIZE)
endif()

add_library(gnnpool_dev_flags INTERFACE)
target_link_libraries(gnnpool_dev_flags INTERFACE gnnpool_warnings)
if(GNNPOOL_SANITIZE)
  # Any report aborts the test (no recovery), and libstdc++'s cheap bounds checks on
  # std::vector / std::span indexing are turned on as well.
  target_compile_options(gnnpool_dev_flags INTERFACE
    -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  target_compile_definitions(gnnpool_dev_flags INTERFACE _GLIBCXX_ASSERTIONS)
  target_link_options(gnnpool_dev_flags INTERFACE -fsanitize=address,undefined)
endif()
