# cmake -DNM=<nm> -DFILES=<file>|<file>... -DEXPECT=present|absent -P check_ulock_symbols.cmake
#
# Reads the symbol tables of object files or archives with nm and checks whether any __ulock_*
# symbol (defined or only referenced, strong or weak) appears: EXPECT=absent for a macOS backend
# built with EXITLEFT_DARWIN_PRIVATE_ULOCK=0, which must not even name the private calls (App
# Store review looks for the names), EXPECT=present for the default build. One of the files must
# also name os_sync_wait_on_address, so that an nm that printed nothing useful fails either way.
foreach(var NM FILES EXPECT)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "check_ulock_symbols: -D${var}=... is required")
  endif()
endforeach()
string(REPLACE "|" ";" files "${FILES}")
set(ulock_lines "")
set(os_sync_seen FALSE)
foreach(file IN LISTS files)
  execute_process(COMMAND ${NM} ${file} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "check_ulock_symbols: ${NM} ${file} failed (${rc}): ${err}")
  endif()
  # Mach-O adds a leading underscore (___ulock_wait): the pattern matches either spelling.
  string(REGEX MATCHALL "[^\n]*__ulock_[^\n]*" lines "${out}")
  list(APPEND ulock_lines ${lines})
  if(out MATCHES "os_sync_wait_on_address")
    set(os_sync_seen TRUE)
  endif()
endforeach()
if(NOT os_sync_seen)
  message(FATAL_ERROR "check_ulock_symbols: no file names os_sync_wait_on_address: ${FILES}")
endif()
list(JOIN ulock_lines "\n" listing)
if(EXPECT STREQUAL "absent" AND ulock_lines)
  message(FATAL_ERROR "check_ulock_symbols: private calls named in ${FILES}:\n${listing}")
elseif(EXPECT STREQUAL "present" AND NOT ulock_lines)
  message(FATAL_ERROR "check_ulock_symbols: no __ulock_* symbol in ${FILES}: is nm reading them?")
elseif(NOT EXPECT MATCHES "^(absent|present)$")
  message(FATAL_ERROR "check_ulock_symbols: EXPECT must be absent or present")
endif()
message(STATUS "check_ulock_symbols: __ulock_* ${EXPECT}, as expected:\n${listing}")
