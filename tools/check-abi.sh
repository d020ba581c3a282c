#!/usr/bin/env bash
# tools/check-abi.sh [--update] LIBRARY
#
# Compares the ABI of a built libexitleft.so (with debug information: -g) against the baseline
# committed for this SONAME, tools/abi/<SONAME>.abi (libabigail's abidw XML), with abidiff.
#
#   - Added functions and variables are compatible: listed, never a failure.
#   - Anything else abidiff reports is a failure: a removed or renamed symbol (every changed
#     C++ signature is one), a changed C signature, a changed layout of a class the exported
#     functions take or return (the inline code in the headers depends on it).
#   - Unless the SONAME changed with it: then incompatible changes are allowed, the report is
#     shown, and the new SONAME needs its own baseline (--update) in the same commit.
# The C API's handles are opaque and exempt (tools/abi/exitleft.suppr).
#
# --update writes the baseline from LIBRARY instead (a release does this once, and the
# policy in README says when).
#
# Needs abidw and abidiff (Debian abigail-tools: tools/install-deps.sh package).
set -euo pipefail

usage() { echo "usage: $0 [--update] LIBRARY" >&2; exit 2; }
update=0
case "${1:-}" in
  --update) update=1; shift ;;
  -h | --help) sed -n '2,/^set -/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
esac
[ $# -eq 1 ] || usage
lib=$1
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
suppressions=$repo/tools/abi/exitleft.suppr

say() { printf '[check-abi] %s\n' "$*"; }
fail() { printf '[check-abi] FAILED: %s\n' "$*" >&2; exit 1; }

for tool in abidw abidiff readelf; do
  command -v "$tool" >/dev/null || fail "'$tool' is not installed (tools/install-deps.sh package)"
done
[ -f "$lib" ] || fail "$lib does not exist"
readelf -S "$lib" | grep -q '\.debug_info' ||
  fail "$lib has no debug information: build it with -g (the release preset does)"
soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ -n "$soname" ] || fail "$lib has no SONAME"
baseline=$repo/tools/abi/$soname.abi
# No paths or source locations in the XML: the baseline is the same whichever directory the
# tree was built in.
abidw_args=(--no-corpus-path --no-show-locs)

if [ "$update" = 1 ]; then
  abidw "${abidw_args[@]}" "$lib" >"$baseline.tmp" || fail "abidw failed on $lib"
  mv "$baseline.tmp" "$baseline"
  say "wrote $baseline ($(grep -c '<elf-symbol ' "$baseline") symbols) from $lib"
  exit 0
fi

if [ ! -f "$baseline" ]; then
  # A new SONAME: is there a baseline of an older one? Then the SONAME changed on purpose.
  mapfile -t older < <(find "$repo/tools/abi" -name 'libexitleft.so.*.abi' | sort -V)
  [ ${#older[@]} -gt 0 ] || fail "no baseline in tools/abi/: create one with $0 --update $lib"
  say "SONAME $soname is new (baselines: ${older[*]##*/}): incompatible changes are allowed."
  say "changes against ${older[-1]##*/}, for the record:"
  abidiff --no-added-syms --suppressions "$suppressions" "${older[-1]}" "$lib" || true
  fail "commit the baseline of $soname with: $0 --update $lib"
fi

say "abidiff $(basename "$baseline") $lib"
set +e
report=$(abidiff --no-added-syms --suppressions "$suppressions" "$baseline" "$lib" 2>&1)
rc=$?
set -e
# abidiff's status is a bit set: 1 error, 2 usage error, 4 ABI change, 8 incompatible change.
if [ $((rc & 3)) -ne 0 ]; then
  printf '%s\n' "$report" >&2
  fail "abidiff could not compare (status $rc)"
fi
if [ $rc -ne 0 ]; then
  printf '%s\n' "$report" >&2
  fail "the ABI of $soname changed incompatibly (abidiff status $rc). Undo the change, or make
it a new major version: a new SONAME (CMakeLists.txt VERSION), a new version node
(src/exitleft.map) and a new baseline ($0 --update)."
fi
added=$(abidiff --suppressions "$suppressions" "$baseline" "$lib" 2>&1 | grep -E "^  \[A\]" || true)
if [ -n "$added" ]; then
  say "compatible additions since the baseline:"
  printf '%s\n' "$added"
fi
say "PASSED: no incompatible change against $(basename "$baseline")"
