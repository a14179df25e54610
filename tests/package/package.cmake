# Steps of the package test, run by CTest as `cmake -DSTEP=<step> ... -P package.cmake`:
#   install      wipe PREFIX and `cmake --install` the gnnpool build tree BUILD_DIR into it
#   find_package configure, build and run tests/package against PREFIX with find_package(gnnpool)
#   pkg-config   compile tests/package/main.cpp with the flags `pkg-config --cflags gnnpool` gives
#                for PREFIX, and run it
# Inputs: STEP, BUILD_DIR, PREFIX, WORK_DIR, SOURCE_DIR (this folder), GENERATOR, CXX_COMPILER,
# PKG_CONFIG, WITH_MPI (the install has the mpi component).

cmake_minimum_required(VERSION 3.25)

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    string(REPLACE ";" " " cmd "${ARGN}")
    message(FATAL_ERROR "package test step '${STEP}': `${cmd}` failed (${rc})")
  endif()
endfunction()

if(STEP STREQUAL "install")
  file(REMOVE_RECURSE "${PREFIX}")
  run(${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${PREFIX}")
  foreach(f include/gnnpool/core/batch.hpp share/cmake/gnnpool/gnnpoolConfig.cmake
            share/cmake/gnnpool/gnnpoolConfigVersion.cmake share/cmake/gnnpool/gnnpoolTargets.cmake
            share/pkgconfig/gnnpool.pc)
    if(NOT EXISTS "${PREFIX}/${f}")
      message(FATAL_ERROR "package test: the install has no ${f}")
    endif()
  endforeach()

elseif(STEP STREQUAL "find_package")
  file(REMOVE_RECURSE "${WORK_DIR}")
  run(${CMAKE_COMMAND} -S "${SOURCE_DIR}" -B "${WORK_DIR}" -G "${GENERATOR}"
      -DCMAKE_CXX_COMPILER=${CXX_COMPILER} -DCMAKE_BUILD_TYPE=Release
      -DCMAKE_PREFIX_PATH=${PREFIX} -DGNNPOOL_EXPECTED_DIR=${PREFIX}/share/cmake/gnnpool
      -DGNNPOOL_EXPECT_MPI=${WITH_MPI})
  run(${CMAKE_COMMAND} --build "${WORK_DIR}")
  run("${WORK_DIR}/consumer")

elseif(STEP STREQUAL "pkg-config")
  file(REMOVE_RECURSE "${WORK_DIR}")
  file(MAKE_DIRECTORY "${WORK_DIR}")
  set(ENV{PKG_CONFIG_PATH} "${PREFIX}/share/pkgconfig")
  execute_process(COMMAND ${PKG_CONFIG} --cflags gnnpool OUTPUT_VARIABLE cflags
                  RESULT_VARIABLE rc OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "package test: `pkg-config --cflags gnnpool` failed (${rc})")
  endif()
  # The .pc file is relocatable (prefix=${pcfiledir}/../..): compare the resolved directories.
  separate_arguments(cflags UNIX_COMMAND "${cflags}")
  get_filename_component(expected_include "${PREFIX}/include" REALPATH)
  set(found_include FALSE)
  foreach(flag IN LISTS cflags)
    if(flag MATCHES "^-I(.+)$")
      get_filename_component(dir "${CMAKE_MATCH_1}" REALPATH)
      if(dir STREQUAL expected_include)
        set(found_include TRUE)
      endif()
    endif()
  endforeach()
  if(NOT found_include)
    message(FATAL_ERROR "package test: pkg-config gave '${cflags}', without ${expected_include}")
  endif()
  run(${CXX_COMPILER} -std=c++20 -Wall -Wextra -Wpedantic -Werror ${cflags}
      "${SOURCE_DIR}/main.cpp" -o "${WORK_DIR}/consumer")
  run("${WORK_DIR}/consumer")

else()
  message(FATAL_ERROR "package.cmake: unknown STEP '${STEP}'")
endif()
