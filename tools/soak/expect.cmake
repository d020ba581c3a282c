# Runs exitleft-soak once for ctest and checks its exit status and output.
#   cmake -DTOOL=<exe> -DARGS=<a;b;c> -DEXPECT_EXIT=<n> [-DEXPECT_STDOUT=<regex>]
#         [-DEXPECT_STDERR=<regex>] -P expect.cmake
# Fails (FATAL_ERROR, which ctest reports) unless the exit status is EXPECT_EXIT and each given
# regular expression matches.
if(NOT DEFINED TOOL OR NOT DEFINED EXPECT_EXIT)
  message(FATAL_ERROR "expect.cmake: TOOL and EXPECT_EXIT are required")
endif()
execute_process(COMMAND "${TOOL}" ${ARGS}
  RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("$ ${TOOL} ${ARGS}\n--- stdout\n${out}--- stderr\n${err}--- exit status: ${status}")
if(NOT status STREQUAL "${EXPECT_EXIT}")
  message(FATAL_ERROR "exit status ${status}, expected ${EXPECT_EXIT}")
endif()
if(DEFINED EXPECT_STDOUT AND NOT out MATCHES "${EXPECT_STDOUT}")
  message(FATAL_ERROR "stdout does not match '${EXPECT_STDOUT}'")
endif()
if(DEFINED EXPECT_STDERR AND NOT err MATCHES "${EXPECT_STDERR}")
  message(FATAL_ERROR "stderr does not match '${EXPECT_STDERR}'")
endif()
