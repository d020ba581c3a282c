# Runs one tool command for ctest (exitleft-udp-demux, exitleft-soak) and checks what it did.
#   cmake -DTOOL=<exe> -DARGS=<a;b;c> -DEXPECT_EXIT=<n> [-DEXPECT_STDOUT=<regex>]
#         [-DEXPECT_STDERR=<regex>] [-DJSON=<file> -DEXPECT_JSON=<regex>] -P run-check.cmake
# (JSON: exitleft-udp-demux --json output, which must also hold 5 results, one per mode.)
# Fails (a FATAL_ERROR, which ctest reports) unless the exit status is EXPECT_EXIT and every
# given regular expression matches.
if(NOT DEFINED TOOL OR NOT DEFINED EXPECT_EXIT)
  message(FATAL_ERROR "run-check.cmake: TOOL and EXPECT_EXIT are required")
endif()
if(DEFINED JSON)
  file(REMOVE "${JSON}")
endif()
execute_process(COMMAND "${TOOL}" ${ARGS}
  RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 170)
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
if(DEFINED EXPECT_JSON)
  if(NOT EXISTS "${JSON}")
    message(FATAL_ERROR "${JSON} was not written")
  endif()
  file(READ "${JSON}" json)
  if(NOT json MATCHES "${EXPECT_JSON}")
    message(FATAL_ERROR "${JSON} does not match '${EXPECT_JSON}'")
  endif()
  string(JSON results_count LENGTH "${json}" results)  # also checks that it parses
  if(NOT results_count EQUAL 5)
    message(FATAL_ERROR "${JSON}: ${results_count} results, expected 5")
  endif()
endif()
