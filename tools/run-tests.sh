#!/usr/bin/env bash
# tools/run-tests.sh [--fail-fast] [stage...]
#
# The project's test command (README, CI). Installs the Debian packages it needs
# (tools/install-deps.sh), then runs each stage and prints its time:
#   dev, portable, asan, tsan, mingw   cmake --workflow --preset <stage> --fresh
#                                      (configure, build, ctest; build/<stage>); mingw runs
#                                      in a new Wine prefix of its own unless WINEPREFIX is set
#   install                            tools/check-install.sh, with --deb when run as root
#                                      (installs and removes the Debian packages)
#   docs                               the API reference (Doxygen; any warning fails), build/docs
# With no stage named, runs them all in that order. Every stage runs even after one failed
# (--fail-fast stops at the first failure); the summary at the end lists each stage, and the
# exit status is non-zero if any stage failed.
#
# Builds use CMAKE_BUILD_PARALLEL_LEVEL jobs (default 2).
set -uo pipefail  # no -e: every stage runs and is counted

all_stages=(dev portable asan tsan mingw install docs)
fail_fast=0
stages=()
for arg in "$@"; do
  case "$arg" in
    --fail-fast) fail_fast=1 ;;
    -h | --help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "usage: $0 [--fail-fast] [stage...]   (stages: ${all_stages[*]})" >&2; exit 2 ;;
    *)
      [[ " ${all_stages[*]} " == *" $arg "* ]] || { echo "run-tests: unknown stage '$arg' (stages: ${all_stages[*]})" >&2; exit 2; }
      stages+=("$arg")
      ;;
  esac
done
[ ${#stages[@]} -gt 0 ] || stages=("${all_stages[@]}")

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo" || exit 1
export CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-2}
export EXITLEFT_JOBS=$CMAKE_BUILD_PARALLEL_LEVEL

say() { printf '[run-tests] %s\n' "$*"; }

groups=(build)
for s in "${stages[@]}"; do
  case "$s" in
    mingw) groups+=(mingw) ;;
    install) groups+=(package) ;;
    docs) groups+=(docs) ;;
  esac
done
say "dependencies: tools/install-deps.sh ${groups[*]}"
bash tools/install-deps.sh "${groups[@]}" || { say "FAILED: installing the dependencies"; exit 1; }

results=()
passed=0
failed=0
start_all=$SECONDS
for s in "${stages[@]}"; do
  if [ "$s" = install ]; then
    if [ "$(id -u)" = 0 ]; then
      cmd=(bash tools/check-install.sh --deb)
    else
      say "not root: checking the install without the Debian packages (run as root for --deb)"
      cmd=(bash tools/check-install.sh)
    fi
  elif [ "$s" = docs ]; then
    # The API reference: Doxygen over the public headers; any warning fails the target.
    cmd=(bash -c 'cmake -S . -B build/docs --fresh -DEXITLEFT_BUILD_TESTS=OFF -DEXITLEFT_BUILD_BENCHMARKS=OFF -DEXITLEFT_BUILD_TOOLS=OFF >/dev/null && cmake --build build/docs --target docs')
  elif [ "$s" = mingw ] && [ -z "${WINEPREFIX:-}" ]; then
    # A Wine prefix of its own, created by the suite's wine.prefix fixture: every run proves that
    # the stage passes where Wine has never run (and leaves ~/.wine alone).
    wine_tmp=$(mktemp -d)
    cmd=(env "WINEPREFIX=$wine_tmp/prefix" cmake --workflow --preset "$s" --fresh)
  else
    cmd=(cmake --workflow --preset "$s" --fresh)
  fi
  say "== $s: ${cmd[*]}"
  t0=$SECONDS
  "${cmd[@]}"
  rc=$?
  dt=$((SECONDS - t0))
  if [ -n "${wine_tmp:-}" ]; then
    WINEPREFIX="$wine_tmp/prefix" /usr/lib/wine/wineserver -k 2>/dev/null
    rm -rf "$wine_tmp"
    wine_tmp=
  fi
  if [ $rc -eq 0 ]; then
    passed=$((passed + 1))
    results+=("$(printf '%-9s PASS  %5ss' "$s" "$dt")")
    say "-- $s passed in ${dt}s"
  else
    failed=$((failed + 1))
    results+=("$(printf '%-9s FAIL  %5ss  (exit %s)' "$s" "$dt" "$rc")")
    say "-- $s FAILED (exit $rc) after ${dt}s"
    if [ $fail_fast = 1 ]; then break; fi
  fi
done

say "summary ($((SECONDS - start_all))s in all):"
for r in "${results[@]}"; do say "  $r"; done
for s in "${stages[@]:$((passed + failed))}"; do say "  $(printf '%-9s not run' "$s")"; done
echo "stages: $passed passed, $failed failed"
[ $failed -eq 0 ]
