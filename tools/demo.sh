#!/usr/bin/env bash
# tools/demo.sh [exitleft-udp-demux options...]
#
# The README's main job, from a fresh Debian 12 (as root, or with sudo): installs the build
# dependencies (tools/install-deps.sh build), configures the `release` preset (build/release),
# builds exitleft-udp-demux there, and runs it. With no options it runs every mode in turn
# (8 peers x 20 000 datagrams each) and prints the table; options are passed through, e.g.
#   tools/demo.sh --mode stage --peers 16 --json /tmp/demux.json
# (tools/demo.sh --help lists them). The exit status is the tool's: 0 when every datagram reached
# its own worker exactly once and in order.
#
# Builds use CMAKE_BUILD_PARALLEL_LEVEL jobs (default 2).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
export CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-2}

say() { printf '[demo] %s\n' "$*" >&2; }

say "dependencies: tools/install-deps.sh build"
bash tools/install-deps.sh build >&2
say "configure: cmake --preset release"
cmake --preset release >/dev/null
say "build: cmake --build --preset release --target exitleft-udp-demux"
cmake --build --preset release --target exitleft-udp-demux >&2
say "run: build/release/tools/exitleft-udp-demux $*"
exec build/release/tools/exitleft-udp-demux "$@"
