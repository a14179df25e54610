# The optional PyTorch bridge (docs/torch.md). Included by the top-level CMakeLists.txt.
#
# GNNPOOL_WITH_TORCH: OFF (default: nothing here is built, nobody needs torch or Python), ON
# (find_package(Torch) is required), AUTO (the bridge is built when libtorch is found). The
# environment variable GNNPOOL_WITH_TORCH=ON turns AUTO into ON, so that CI fails instead of
# silently skipping the bridge when libtorch is missing (.ci/run sets it).
#
# With the bridge: target gnnpool_torch (alias gnnpool::torch), the shared library
# libgnnpool_torch.so, which is both the C++ API (gnnpool/torch/*.hpp) and the op library that
# Python loads (torch.ops.load_library); the Python package python/gnnpool_torch wraps it.
set(GNNPOOL_WITH_TORCH OFF CACHE STRING "Build the PyTorch bridge: OFF, ON or AUTO (when libtorch is found)")
set_property(CACHE GNNPOOL_WITH_TORCH PROPERTY STRINGS OFF ON AUTO)

set(gnnpool_torch_mode "${GNNPOOL_WITH_TORCH}")
if(gnnpool_torch_mode STREQUAL "AUTO" AND "$ENV{GNNPOOL_WITH_TORCH}" STREQUAL "ON")
  set(gnnpool_torch_mode ON)
endif()

if(gnnpool_torch_mode STREQUAL "AUTO")
  find_package(Torch QUIET)
  if(NOT Torch_FOUND AND NOT TORCH_FOUND)
    message(STATUS "gnnpool: libtorch not found, the PyTorch bridge is not built (GNNPOOL_WITH_TORCH=AUTO)")
    return()
  endif()
elseif(gnnpool_torch_mode)
  find_package(Torch REQUIRED)
else()
  return()
endif()

# The Python that runs the Python tests and examples: one that can import torch (Debian's
# python3-torch belongs to /usr/bin/python3, which a python3 earlier on PATH may not be).
if(NOT GNNPOOL_PYTHON)
  find_program(gnnpool_python_on_path NAMES python3)
  foreach(candidate IN ITEMS /usr/bin/python3 ${gnnpool_python_on_path})
    if(EXISTS "${candidate}")
      execute_process(COMMAND "${candidate}" -c "import torch" RESULT_VARIABLE rc OUTPUT_QUIET ERROR_QUIET)
      if(rc EQUAL 0)
        set(GNNPOOL_PYTHON "${candidate}" CACHE FILEPATH "Python interpreter with torch, for the bridge's Python tests")
        break()
      endif()
    endif()
  endforeach()
endif()
if(GNNPOOL_PYTHON)
  message(STATUS "gnnpool: PyTorch bridge on, Python tests with ${GNNPOOL_PYTHON}")
else()
  message(STATUS "gnnpool: PyTorch bridge on; no python3 that imports torch, the Python tests are skipped")
endif()

add_subdirectory(${PROJECT_SOURCE_DIR}/src/torch ${PROJECT_BINARY_DIR}/src/torch)
