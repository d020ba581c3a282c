# CMake toolchain file: cross-build exitleft for 64-bit Windows with MinGW-w64 (Debian's
# g++-mingw-w64-x86-64-posix, whose libstdc++ has std::thread) and run the test programs under
# Wine (wine64) through CMAKE_CROSSCOMPILING_EMULATOR.
#
#   cmake --workflow --preset mingw
#
# Everything is linked statically (libgcc, libstdc++, winpthreads), so the programs need no
# MinGW DLLs at run time and Wine needs no WINEPATH.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(EXITLEFT_MINGW_TRIPLET x86_64-w64-mingw32)
set(CMAKE_C_COMPILER ${EXITLEFT_MINGW_TRIPLET}-gcc-posix)
set(CMAKE_CXX_COMPILER ${EXITLEFT_MINGW_TRIPLET}-g++-posix)
set(CMAKE_RC_COMPILER ${EXITLEFT_MINGW_TRIPLET}-windres)

# Look for libraries and headers in the MinGW sysroot only; programs on the build machine.
set(CMAKE_FIND_ROOT_PATH /usr/${EXITLEFT_MINGW_TRIPLET})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# No MinGW runtime DLLs (libstdc++-6.dll, libgcc_s_seh-1.dll, libwinpthread-1.dll) needed.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-static")
set(CMAKE_MODULE_LINKER_FLAGS_INIT "-static")

# ctest (and try_run) start the test programs under Wine.
get_filename_component(EXITLEFT_WINE_RUN ${CMAKE_CURRENT_LIST_DIR}/../wine-run.sh ABSOLUTE)
set(CMAKE_CROSSCOMPILING_EMULATOR ${EXITLEFT_WINE_RUN})
