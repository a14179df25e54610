# Registers the package test (included by tests/CMakeLists.txt): gnnpool is installed into a
# prefix inside the build tree, then consumed from there by CMake and by pkg-config.
set(gnnpool_package_prefix ${PROJECT_BINARY_DIR}/package-test/prefix)
set(gnnpool_package_args
  -DBUILD_DIR=${PROJECT_BINARY_DIR} -DPREFIX=${gnnpool_package_prefix}
  -DSOURCE_DIR=${CMAKE_CURRENT_LIST_DIR} -DGENERATOR=${CMAKE_GENERATOR}
  -DCXX_COMPILER=${CMAKE_CXX_COMPILER} -DWITH_MPI=${GNNPOOL_WITH_MPI})

add_test(NAME package:install
         COMMAND ${CMAKE_COMMAND} -DSTEP=install ${gnnpool_package_args}
                 -P ${CMAKE_CURRENT_LIST_DIR}/package.cmake)
set_tests_properties(package:install PROPERTIES FIXTURES_SETUP gnnpool_installed)

add_test(NAME package:find_package
         COMMAND ${CMAKE_COMMAND} -DSTEP=find_package ${gnnpool_package_args}
                 -DWORK_DIR=${PROJECT_BINARY_DIR}/package-test/find_package
                 -P ${CMAKE_CURRENT_LIST_DIR}/package.cmake)
set_tests_properties(package:find_package PROPERTIES FIXTURES_REQUIRED gnnpool_installed)

find_program(GNNPOOL_PKG_CONFIG NAMES pkg-config pkgconf)
if(GNNPOOL_PKG_CONFIG)
  add_test(NAME package:pkg-config
           COMMAND ${CMAKE_COMMAND} -DSTEP=pkg-config ${gnnpool_package_args}
                   -DWORK_DIR=${PROJECT_BINARY_DIR}/package-test/pkg-config
                   -DPKG_CONFIG=${GNNPOOL_PKG_CONFIG}
                   -P ${CMAKE_CURRENT_LIST_DIR}/package.cmake)
  set_tests_properties(package:pkg-config PROPERTIES FIXTURES_REQUIRED gnnpool_installed)
else()
  message(STATUS "gnnpool: pkg-config not found, the package test skips the pkg-config consumer")
endif()
