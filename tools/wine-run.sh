#!/bin/sh
# Runs a Windows program under Wine for ctest: the CMAKE_CROSSCOMPILING_EMULATOR of the MinGW
# toolchain (tools/cmake/mingw-w64-x86_64.cmake). It starts wine64 directly (not the wine loader
# script), silences Wine's debug channels, and keeps Wine from offering to install Mono and
# Gecko, which the test programs do not use. The prefix is $WINEPREFIX, or ~/.wine.
#
#   tools/wine-run.sh program.exe [args...]   runs the program
#   tools/wine-run.sh --prefix                creates the prefix if it does not exist yet (about
#                                             10 s; a no-op when it does), then waits until the
#                                             wineserver it started has exited
#
# The ctest fixture `wine.prefix` (tests/CMakeLists.txt) runs --prefix before any test program:
# Wine processes that start at the same moment in a prefix that does not exist yet race to
# create it, and the losers fail ("chdir to <the new wineserver's directory>").
WINEDEBUG=-all
WINEDLLOVERRIDES="mscoree,mshtml=${WINEDLLOVERRIDES:+;$WINEDLLOVERRIDES}"
export WINEDEBUG WINEDLLOVERRIDES
if [ "${1:-}" = --prefix ]; then
  prefix=${WINEPREFIX:-$HOME/.wine}
  if [ -f "$prefix/system.reg" ]; then
    echo "wine-run: prefix $prefix exists"
    exit 0
  fi
  echo "wine-run: creating the prefix $prefix"
  /usr/lib/wine/wine64 wineboot --init || exit 1
  # The wineserver lingers a few seconds after its last client; wait for it, so that no Wine
  # process of this set-up is still starting or holding the prefix when the tests begin.
  /usr/lib/wine/wineserver -w
  [ -f "$prefix/system.reg" ] || { echo "wine-run: $prefix/system.reg missing after wineboot" >&2; exit 1; }
  echo "wine-run: prefix ready"
  exit 0
fi
exec /usr/lib/wine/wine64 "$@"
