#!/bin/sh
# Runs a Windows program under Wine for ctest: the CMAKE_CROSSCOMPILING_EMULATOR of the MinGW
# toolchain (tools/cmake/mingw-w64-x86_64.cmake). It starts wine64 directly (not the wine loader
# script), silences Wine's debug channels, and keeps Wine from offering to install Mono and
# Gecko, which the test programs do not use. The prefix is $WINEPREFIX, or ~/.wine; the first
# run creates it (about 10 s).
WINEDEBUG=-all
WINEDLLOVERRIDES="mscoree,mshtml=${WINEDLLOVERRIDES:+;$WINEDLLOVERRIDES}"
export WINEDEBUG WINEDLLOVERRIDES
exec /usr/lib/wine/wine64 "$@"
