# Runs a command that must FAIL within a time limit (CTest, label mpi): `cmake -DCOMMAND=a;b;c
# -DTIMEOUT=s -DEXPECT=regex1;regex2 -P gnnpoolExpectFailure.cmake`. Passes when the command exits
# non-zero before TIMEOUT seconds and its output (stdout + stderr) matches every EXPECT regex;
# a hang (killed at the limit), a zero exit or a missing message fails, with the output shown.
# COMMAND and EXPECT may also be joined by "^^" (how gnnpool_add_mpi_failure_test passes them).
cmake_minimum_required(VERSION 3.25)
string(REPLACE "^^" ";" COMMAND "${COMMAND}")
string(REPLACE "^^" ";" EXPECT "${EXPECT}")
string(TIMESTAMP start "%s")
execute_process(COMMAND ${COMMAND} TIMEOUT ${TIMEOUT} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
string(TIMESTAMP stop "%s")
math(EXPR seconds "${stop} - ${start}")
set(text "${out}\n${err}")
if(rc MATCHES "timeout" OR rc MATCHES "[Tt]erminated" OR seconds GREATER_EQUAL TIMEOUT)
  message(FATAL_ERROR "the job did not end within ${TIMEOUT} s (${rc}): it hangs\n${text}")
endif()
if(rc STREQUAL "0")
  message(FATAL_ERROR "the job exited with 0 but had to fail\n${text}")
endif()
foreach(pattern IN LISTS EXPECT)
  if(NOT text MATCHES "${pattern}")
    message(FATAL_ERROR "the output does not match '${pattern}' (exit ${rc} after ${seconds} s)\n${text}")
  endif()
endforeach()
message(STATUS "failed as expected in ${seconds} s (exit ${rc})\n${text}")
