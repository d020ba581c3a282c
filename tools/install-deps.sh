#!/usr/bin/env bash
# tools/install-deps.sh <group>...
#
# Installs the Debian packages of the given groups that are not installed yet, without prompts.
# `apt-get update` runs once, and only if something is missing. Runs apt-get directly as root,
# through sudo otherwise. Debian 12.
#
#   build    compilers, CMake, Ninja, GoogleTest, Google Benchmark, Relacy, sanitizer runtimes,
#            standalone asio (the asio adapter's tests), python3 (the Debian changelog, the
#            benchmark tools)
#   mingw    the MinGW-w64 cross compiler and Wine (the mingw preset)
#   package  dpkg-shlibdeps and file (cpack -G DEB), help2man (the tools' man pages), lintian
#   plots    matplotlib (benchmark plots)
#   docs     doxygen
set -euo pipefail

group_packages() {
  case "$1" in
    build) echo cmake ninja-build g++ clang libclang-rt-14-dev pkg-config libgtest-dev libbenchmark-dev relacy-dev libasio-dev python3 ;;
    mingw) echo g++-mingw-w64-x86-64-posix wine64 ;;
    package) echo dpkg-dev file help2man lintian ;;
    plots) echo python3-matplotlib ;;
    docs) echo doxygen ;;
    *) return 1 ;;
  esac
}

if [ $# -eq 0 ]; then
  echo "usage: $0 <group>...   (groups: build mingw package plots docs)" >&2
  exit 2
fi

wanted=()
for group in "$@"; do
  pkgs=$(group_packages "$group") || {
    echo "install-deps: unknown group '$group' (groups: build mingw package plots docs)" >&2
    exit 2
  }
  read -r -a list <<<"$pkgs"
  wanted+=("${list[@]}")
done

missing=()
for pkg in "${wanted[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  if [ "$status" != installed ] && [[ " ${missing[*]} " != *" $pkg "* ]]; then
    missing+=("$pkg")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: $* already installed"
  exit 0
fi

if [ "$(id -u)" = 0 ]; then
  as_root=()
elif command -v sudo >/dev/null; then
  as_root=(sudo)
else
  echo "install-deps: ${missing[*]} missing, and neither root nor sudo is available" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
apt_env=(env DEBIAN_FRONTEND=noninteractive)
"${as_root[@]}" "${apt_env[@]}" apt-get update -q
"${as_root[@]}" "${apt_env[@]}" apt-get install -y -q \
  -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}"

still=()
for pkg in "${missing[@]}"; do
  [ "$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)" = installed ] || still+=("$pkg")
done
if [ ${#still[@]} -ne 0 ]; then
  echo "install-deps: still not installed after apt-get install: ${still[*]}" >&2
  exit 1
fi
echo "install-deps: done"
