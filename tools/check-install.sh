#!/usr/bin/env bash
# tools/check-install.sh [--deb]
#
# Proves that exitleft installs and is usable from an outside project (tests/consumer):
#  1. configures and builds the package preset (the release preset with Debian's build flags:
#     -O2 -g, hardening; the library, the tools and their man pages) into a build directory of
#     its own, <build dir>/package, the tree the packages are made from, and checks the shared
#     library: SONAME libexitleft.so.<major>, only exitleft's API in its dynamic symbol table,
#     debug information (for the -dbgsym packages and abidw), RELRO and BIND_NOW;
#  2. installs it into a temporary prefix and builds and runs the consumer every way a user
#     would: find_package with exitleft::exitleft (shared by default), exitleft::exitleft_static,
#     exitleft::exitleft_shared, exitleft::exitleft with -DEXITLEFT_STATIC=ON (must be static),
#     and pkg-config, shared and static;
#  3. builds a static-only tree (EXITLEFT_BUILD_SHARED=OFF): find_package must give the static
#     library; and a shared-only copy of the install: EXITLEFT_STATIC=ON must fail to configure;
#  4. with --deb (root only): cpack -G DEB makes libexitleft0, libexitleft-dev, exitleft-tools
#     and the -dbgsym packages of the first and the last; lintian must report no error and no
#     warning (the one exception: the placeholder maintainer's address, see step 4); inspects
#     them, installs all with dpkg -i, runs the installed tools (--help, --version, a short demo
#     and soak), builds and runs the consumer against /usr (find_package and pkg-config, static
#     and shared), removes all and checks that nothing is left. Packages already installed are
#     refused (they may be a user's), unless this script's marker says an interrupted run of
#     its own installed them (killed, machine lost): then it purges them first.
#
# Static linking with pkg-config: the archive and the shared library sit in the same directory,
# and a bare -lexitleft picks the shared one. The way to ask for the archive without turning the
# whole link static (libstdc++ and libc stay shared) is to wrap the flags:
#     c++ -std=c++20 app.cpp $(pkg-config --static --cflags exitleft) \
#         -Wl,-Bstatic $(pkg-config --static --libs exitleft) -Wl,-Bdynamic
# (--static adds the private flags: -DEXITLEFT_STATIC_DEFINE and -pthread.)
#
# Environment: EXITLEFT_CHECK_BUILD_DIR (default build/check-install) holds the library builds,
# kept for the next run; everything else goes to a temporary directory that is removed, and
# packages this script installed are purged, whatever happens. Exits non-zero at the first
# failure, saying which check failed.
# shellcheck disable=SC2015  # `test && test || fail` is meant: fail when either test fails.
set -Eeuo pipefail

usage() { echo "usage: $0 [--deb]" >&2; exit 2; }
deb=0
for arg in "$@"; do
  case "$arg" in
    --deb) deb=1 ;;
    -h | --help) sed -n '2,/^set -/p' "$0" | sed '/^# shellcheck/d; $d; s/^# \{0,1\}//'; exit 0 ;;
    *) usage ;;
  esac
done

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
build_root=${EXITLEFT_CHECK_BUILD_DIR:-$repo/build/check-install}
case "$build_root" in /*) ;; *) build_root=$repo/$build_root ;; esac
jobs=${EXITLEFT_JOBS:-2}
# In the order dpkg --purge takes them: what depends on a package before it.
packages=(libexitleft0-dbgsym exitleft-tools-dbgsym exitleft-tools libexitleft-dev libexitleft0)
# Written before dpkg -i and removed after the purge: if it is there when a run starts, the
# installed packages are what an interrupted run (SIGKILL, a lost machine) left, not a user's.
owned_marker=${EXITLEFT_CHECK_MARKER:-/var/lib/exitleft-check-install/installed-packages}
forget_marker() {
  rm -f "$owned_marker"
  rmdir --ignore-fail-on-non-empty "$(dirname "$owned_marker")" 2>/dev/null || true
}

# ---- reporting ---------------------------------------------------------------------------------
stage="starting"
say() { printf '[check-install] %s\n' "$*"; }
step() { stage="$*"; say "== $*"; }
fail() { printf '[check-install] FAILED (%s): %s\n' "$stage" "$*" >&2; exit 1; }
on_err() { printf '[check-install] FAILED (%s): command exited %s at line %s: %s\n' \
  "$stage" "$1" "$2" "$3" >&2; }
trap 'on_err $? $LINENO "$BASH_COMMAND"' ERR

# ---- clean-up ----------------------------------------------------------------------------------
tmp=$(mktemp -d "${TMPDIR:-/tmp}/exitleft-check-install.XXXXXX")
we_installed_debs=0
cleanup() {
  local rc=$?
  trap - ERR
  if [ "$we_installed_debs" = 1 ]; then
    say "clean-up: dpkg --purge ${packages[*]}"
    if dpkg --purge "${packages[@]}" >/dev/null; then forget_marker; else
      say "clean-up: dpkg --purge failed; $owned_marker stays, so the next run purges them"
    fi
  fi
  rm -rf "$tmp"
  if [ "$rc" = 0 ]; then say "PASSED"; else say "FAILED (see above)"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- prerequisites -----------------------------------------------------------------------------
need=(cmake ninja c++ cc pkg-config readelf nm c++filt ldd help2man abidw abidiff)
if [ "$deb" = 1 ]; then
  [ "$(id -u)" = 0 ] || fail "--deb installs packages with dpkg: run it as root"
  need+=(cpack dpkg dpkg-deb dpkg-query dpkg-shlibdeps dpkg-architecture file ldconfig objcopy
    python3 gzip lintian)
fi
for tool in "${need[@]}"; do
  command -v "$tool" >/dev/null || fail "'$tool' is not installed (tools/install-deps.sh build package)"
done

# A clean environment for the consumer builds: nothing may be found by accident.
unset CMAKE_PREFIX_PATH PKG_CONFIG_PATH LD_LIBRARY_PATH EXITLEFT_STATIC exitleft_DIR

# contains PATTERN...: grep that reads all of its input, so that the writer of a pipeline never
# dies of SIGPIPE (which pipefail would report as a failure).
contains() { grep "$@" >/dev/null; }
cache_value() { sed -n "s/^$2:[A-Z]*=//p" "$1/CMakeCache.txt"; }

# ---- checks on binaries ------------------------------------------------------------------------
# needs_shared EXE: the program loads libexitleft.so.0 (and, if given, from directory DIR).
needs_shared() {
  local exe=$1 dir=${2:-}
  readelf -d "$exe" | contains 'NEEDED.*\[libexitleft\.so\.0\]' ||
    fail "$exe does not load libexitleft.so.0 (readelf -d shows no such NEEDED entry)"
  if [ -n "$dir" ]; then
    local got
    got=$(ldd "$exe" | awk '$1 == "libexitleft.so.0" { print $3 }')
    [ -n "$got" ] && [ "$(realpath "$got")" = "$(realpath "$dir/libexitleft.so.0")" ] ||
      fail "$exe resolves libexitleft.so.0 to '${got:-nothing}', expected $dir/libexitleft.so.0"
  fi
}
# is_static EXE: the program does not load libexitleft and carries the library's code.
is_static() {
  local exe=$1
  if readelf -d "$exe" | contains 'NEEDED.*libexitleft'; then
    fail "$exe should be linked with libexitleft.a but loads $(readelf -d "$exe" | grep -o 'libexitleft[^]]*')"
  fi
  nm -C --defined-only "$exe" | contains ' exitleft::parking_lot::unpark_all(' ||
    fail "$exe does not contain exitleft::parking_lot::unpark_all"
}
run_consumer() {
  say "run $*"
  "$@" || fail "consumer '$*' failed"
}
# check_exports LIB: the dynamic symbol table holds exitleft's API and nothing else, every
# symbol in the version node EXITLEFT_0 (src/exitleft.map).
check_exports() {
  local lib=$1 all syms bad
  all=$(nm -D --defined-only --format=posix "$lib" | awk '$2 != "A" { print $1 }')
  [ -n "$all" ] || fail "$lib exports no symbols"
  nm -D --defined-only --format=posix "$lib" | contains -x 'EXITLEFT_0 A 0 *' ||
    fail "$lib defines no version node EXITLEFT_0"
  bad=$(grep -v '@@EXITLEFT_0$' <<<"$all" || true)
  [ -z "$bad" ] || fail "$lib exports symbols outside the version node EXITLEFT_0:
$(c++filt <<<"$bad")"
  syms=${all//@@EXITLEFT_0/}
  # Itanium names of entities in namespace exitleft, with their typeinfo, vtables, guards and
  # TLS wrappers (exitleft::platform is internal), and the C API's exitleft_ functions.
  bad=$(grep -Ev '^(_Z(T[ISVTHW]|GV)?N[KVRO]*8exitleft|exitleft_[a-z_]+$)' <<<"$syms" || true)
  bad+=$(grep -E '^_Z(T[ISVTHW]|GV)?N[KVRO]*8exitleft8platform' <<<"$syms" || true)
  [ -z "$bad" ] || fail "$lib exports symbols outside exitleft's API:
$(c++filt <<<"$bad")"
  c++filt <<<"$syms" | contains '^exitleft::parking_lot::unpark_all(' ||
    fail "$lib does not export exitleft::parking_lot::unpark_all"
  contains -x 'exitleft_wait_any' <<<"$syms" || fail "$lib does not export the C API (exitleft_wait_any)"
  say "$lib exports $(wc -l <<<"$syms") symbols, all exitleft API, all in EXITLEFT_0"
}

# ---- consumer builds ---------------------------------------------------------------------------
# consumer_cmake NAME EXPECT [cmake args...]: configure and build tests/consumer; EXPECT is what
# exitleft::exitleft must resolve to (the consumer's configure step checks it).
consumer_cmake() {
  local name=$1 expect=$2
  shift 2
  say "consumer (find_package, $name): exitleft::exitleft must be the $expect library"
  cmake -S "$repo/tests/consumer" -B "$tmp/consumer-$name" -G Ninja \
    -DCMAKE_BUILD_TYPE=Release -DEXITLEFT_CONSUMER_EXPECT="$expect" "$@" >"$tmp/consumer-$name.log" 2>&1 ||
    { cat "$tmp/consumer-$name.log" >&2; fail "configuring the consumer ($name) failed"; }
  grep 'exitleft_consumer:' "$tmp/consumer-$name.log" | sed 's/^-- /  /'
  cmake --build "$tmp/consumer-$name" -j "$jobs" >"$tmp/consumer-$name-build.log" 2>&1 ||
    { cat "$tmp/consumer-$name-build.log" >&2; fail "building the consumer ($name) failed"; }
}
# pkg_flags shared|static: pkg-config's flags for exitleft into the caller's arrays `cflags` and
# `libs`; static ones are wrapped in -Wl,-Bstatic ... -Wl,-Bdynamic, so that only libexitleft is
# linked statically.
pkg_flags() {
  local -a mode=()
  local c l
  [ "$1" = shared ] || mode=(--static)
  c=$(pkg-config "${mode[@]}" --cflags exitleft) && l=$(pkg-config "${mode[@]}" --libs exitleft) ||
    fail "pkg-config ${mode[*]} does not find exitleft (PKG_CONFIG_PATH=${PKG_CONFIG_PATH:-})"
  read -r -a cflags <<<"$c"
  read -r -a libs <<<"$l"
  # shellcheck disable=SC2054  # -Wl,-Bstatic is one argument
  [ "$1" = shared ] || libs=(-Wl,-Bstatic "${libs[@]}" -Wl,-Bdynamic)
}
# consumer_pkgconfig NAME shared|static: compile main.cpp by hand with pkg-config's flags.
consumer_pkgconfig() {
  local name=$1 kind=$2 exe="$tmp/pc-$1"
  local -a cflags libs
  pkg_flags "$kind"
  say "consumer (pkg-config, $name): c++ -std=c++20 -pthread main.cpp ${cflags[*]} ${libs[*]}"
  c++ -std=c++20 -O2 -pthread "$repo/tests/consumer/main.cpp" "${cflags[@]}" -o "$exe" "${libs[@]}" ||
    fail "compiling the consumer with pkg-config ($name) failed"
}
# consumer_c NAME shared|static: the C API's test program, compiled as C11 with pkg-config's
# flags. A C program linking the static library adds -lstdc++ (the library is C++).
consumer_c() {
  local name=$1 kind=$2 exe="$tmp/c-$1"
  local -a cflags libs
  pkg_flags "$kind"
  [ "$kind" = shared ] || libs+=(-lstdc++)
  say "C consumer (pkg-config, $name): cc -std=c11 -pedantic -Werror c_api_test.c ${cflags[*]} ${libs[*]}"
  cc -std=c11 -pedantic -Wall -Wextra -Werror -O2 -pthread "$repo/tests/c_api/c_api_test.c" \
    -DEXITLEFT_EXPECTED_VERSION="\"$version\"" "${cflags[@]}" -o "$exe" "${libs[@]}" ||
    fail "compiling the C consumer with pkg-config ($name) failed"
}
# check_prefix PREFIX LIBDIR TAG: every consumer build against a tree with both libraries.
check_prefix() {
  local prefix=$1 libdir=$2 tag=$3 b
  local -a where=()
  [ "$prefix" = /usr ] || where=(-DCMAKE_PREFIX_PATH="$prefix")

  consumer_cmake "$tag-default" shared "${where[@]}"
  b="$tmp/consumer-$tag-default"
  grep -q "from $libdir/cmake/exitleft" "$tmp/consumer-$tag-default.log" ||
    fail "find_package(exitleft) did not use $libdir/cmake/exitleft"
  needs_shared "$b/consumer" "$libdir"
  needs_shared "$b/consumer_shared" "$libdir"
  is_static "$b/consumer_static"
  run_consumer "$b/consumer"
  run_consumer "$b/consumer_shared"
  run_consumer "$b/consumer_static"

  consumer_cmake "$tag-static-on" static "${where[@]}" -DEXITLEFT_STATIC=ON
  b="$tmp/consumer-$tag-static-on"
  is_static "$b/consumer"
  run_consumer "$b/consumer"

  if [ "$prefix" = /usr ]; then
    consumer_pkgconfig "$tag-shared" shared
    needs_shared "$tmp/pc-$tag-shared" "$libdir"
    run_consumer "$tmp/pc-$tag-shared"
  else
    PKG_CONFIG_PATH="$libdir/pkgconfig" consumer_pkgconfig "$tag-shared" shared
    needs_shared "$tmp/pc-$tag-shared"
    run_consumer env LD_LIBRARY_PATH="$libdir" "$tmp/pc-$tag-shared"
  fi
  if [ "$prefix" = /usr ]; then
    consumer_c "$tag-shared" shared
    needs_shared "$tmp/c-$tag-shared" "$libdir"
    run_consumer "$tmp/c-$tag-shared"
    consumer_c "$tag-static" static
  else
    PKG_CONFIG_PATH="$libdir/pkgconfig" consumer_c "$tag-shared" shared
    needs_shared "$tmp/c-$tag-shared"
    run_consumer env LD_LIBRARY_PATH="$libdir" "$tmp/c-$tag-shared"
    PKG_CONFIG_PATH="$libdir/pkgconfig" consumer_c "$tag-static" static
  fi
  if readelf -d "$tmp/c-$tag-static" | contains 'NEEDED.*libexitleft'; then
    fail "$tmp/c-$tag-static should be linked with libexitleft.a"
  fi
  run_consumer "$tmp/c-$tag-static"
  if [ "$prefix" = /usr ]; then
    consumer_pkgconfig "$tag-static" static
  else
    PKG_CONFIG_PATH="$libdir/pkgconfig" consumer_pkgconfig "$tag-static" static
  fi
  is_static "$tmp/pc-$tag-static"
  run_consumer "$tmp/pc-$tag-static"
}

# ---- 1. the release build ----------------------------------------------------------------------
# The package preset: the release preset (prefix /usr, Release, no tests) with dpkg-buildflags'
# flags, so that the packages carry -O2 code with hardening and the -dbgsym packages and the ABI
# check have debug information; the release preset itself stays -O3 without them, as the
# benchmarks were measured.
step "configure and build the package preset (library, tools, man pages) in $build_root/package"
rel=$build_root/package
cmake --preset package -B "$rel" --fresh >"$tmp/package-configure.log" 2>&1 ||
  { cat "$tmp/package-configure.log" >&2; fail "configuring the package preset failed"; }
cmake --build "$rel" -j "$jobs" >"$tmp/package-build.log" 2>&1 ||
  { tail -n 60 "$tmp/package-build.log" >&2; fail "building the package preset failed"; }
[ "$(cache_value "$rel" CMAKE_INSTALL_PREFIX)" = /usr ] ||
  fail "the package preset must install to /usr (CMAKE_INSTALL_PREFIX)"
rel_libdir=$(cache_value "$rel" CMAKE_INSTALL_LIBDIR)
# The project's version (project() in CMakeLists.txt), as CPack got it.
version=$(sed -n 's/^set(CPACK_PACKAGE_VERSION "\(.*\)")$/\1/p' "$rel/CPackConfig.cmake")
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "no version in $rel/CPackConfig.cmake: '$version'"
major=${version%%.*}
lib=$rel/libexitleft.so.$version
say "exitleft $version, library directory $rel_libdir"

step "check the shared library"
[ -f "$lib" ] && [ -f "$rel/libexitleft.a" ] ||
  fail "the build did not produce libexitleft.so.$version and libexitleft.a"
soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = "libexitleft.so.$major" ] || fail "SONAME is '$soname', expected libexitleft.so.$major"
say "SONAME $soname"
check_exports "$lib"
readelf -S "$lib" | contains '\.debug_info' ||
  fail "$lib has no debug information: the package preset must build with -g"
readelf -l "$lib" | contains GNU_RELRO || fail "$lib is not linked with -z relro"
readelf -d "$lib" | contains -E '\(FLAGS\) +BIND_NOW|\(FLAGS_1\) +Flags:.* NOW' ||
  fail "$lib is not linked with -z now"
say "$lib: debug information, RELRO, BIND_NOW"

step "ABI against the committed baseline (tools/check-abi.sh)"
bash "$repo/tools/check-abi.sh" "$lib" || fail "the ABI check failed (see above)"

# ---- 2. install into a temporary prefix --------------------------------------------------------
step "install into a temporary prefix"
prefix=$tmp/prefix
cmake --install "$rel" --prefix "$prefix" >"$tmp/install.log" 2>&1 ||
  { cat "$tmp/install.log" >&2; fail "cmake --install failed"; }
libdir=$prefix/$rel_libdir
for f in include/exitleft/parking_lot.hpp include/exitleft/export.hpp \
  "$rel_libdir/libexitleft.a" "$rel_libdir/libexitleft.so" "$rel_libdir/libexitleft.so.$major" \
  "$rel_libdir/libexitleft.so.$version" "$rel_libdir/pkgconfig/exitleft.pc" \
  bin/exitleft-udp-demux bin/exitleft-soak \
  share/man/man1/exitleft-udp-demux.1.gz share/man/man1/exitleft-soak.1.gz \
  "$rel_libdir/cmake/exitleft/exitleftConfig.cmake" \
  "$rel_libdir/cmake/exitleft/exitleftConfigVersion.cmake" \
  "$rel_libdir/cmake/exitleft/exitleftSharedTargets.cmake" \
  "$rel_libdir/cmake/exitleft/exitleftStaticTargets.cmake"; do
  [ -e "$prefix/$f" ] || fail "the install lacks $f"
done
grep -qx "prefix=$prefix" "$libdir/pkgconfig/exitleft.pc" ||
  fail "exitleft.pc does not name the install prefix $prefix"

step "consumer against the temporary prefix"
check_prefix "$prefix" "$libdir" prefix

# The version file: SameMajorVersion accepts <major>.<minor> and refuses <major + 1>.0.
mkdir -p "$tmp/version-check"
cat >"$tmp/version-check/CMakeLists.txt" <<EOF
cmake_minimum_required(VERSION 3.25)
project(v LANGUAGES CXX)
find_package(exitleft \${want} CONFIG QUIET PATHS "$libdir/cmake/exitleft" NO_DEFAULT_PATH)
message(STATUS "found=\${exitleft_FOUND}")
EOF
for want in "${version%.*}:1" "$((major + 1)).0:0"; do
  cmake -S "$tmp/version-check" -B "$tmp/version-check/b-${want%%:*}" -G Ninja \
    -Dwant="${want%%:*}" --fresh >"$tmp/version-check.log" 2>&1 || fail "version check configure failed"
  grep -q "found=${want##*:}" "$tmp/version-check.log" ||
    fail "find_package(exitleft ${want%%:*}) found=$(sed -n 's/.*found=//p' "$tmp/version-check.log"), expected ${want##*:}"
done
say "find_package(exitleft ${version%.*}) is accepted, find_package(exitleft $((major + 1)).0) is refused"

# ---- 3. static only, shared only ---------------------------------------------------------------
step "static-only build (EXITLEFT_BUILD_SHARED=OFF)"
st=$build_root/static-only
cmake -S "$repo" -B "$st" -G Ninja --fresh -DCMAKE_BUILD_TYPE=Release -DEXITLEFT_BUILD_SHARED=OFF \
  -DEXITLEFT_BUILD_TESTS=OFF -DEXITLEFT_BUILD_BENCHMARKS=OFF -DEXITLEFT_BUILD_TOOLS=OFF \
  -DCMAKE_INSTALL_PREFIX="$tmp/unused" >"$tmp/static-configure.log" 2>&1 ||
  { cat "$tmp/static-configure.log" >&2; fail "configuring the static-only build failed"; }
cmake --build "$st" -j "$jobs" >"$tmp/static-build.log" 2>&1 ||
  { tail -n 60 "$tmp/static-build.log" >&2; fail "building the static-only tree failed"; }
sprefix=$tmp/static-prefix
cmake --install "$st" --prefix "$sprefix" >"$tmp/static-install.log" 2>&1 ||
  { cat "$tmp/static-install.log" >&2; fail "installing the static-only build failed"; }
slibdir=$sprefix/$(cache_value "$st" CMAKE_INSTALL_LIBDIR)
[ ! -e "$slibdir/libexitleft.so" ] && [ ! -e "$slibdir/cmake/exitleft/exitleftSharedTargets.cmake" ] ||
  fail "the static-only install contains the shared library or its CMake targets"
consumer_cmake static-only static -DCMAKE_PREFIX_PATH="$sprefix"
[ ! -e "$tmp/consumer-static-only/consumer_shared" ] ||
  fail "exitleft::exitleft_shared exists although only the static library is installed"
is_static "$tmp/consumer-static-only/consumer"
is_static "$tmp/consumer-static-only/consumer_static"
run_consumer "$tmp/consumer-static-only/consumer"
run_consumer "$tmp/consumer-static-only/consumer_static"
PKG_CONFIG_PATH="$slibdir/pkgconfig" consumer_pkgconfig static-only static
is_static "$tmp/pc-static-only"
run_consumer "$tmp/pc-static-only"

step "shared-only install: EXITLEFT_STATIC=ON must be refused"
oprefix=$tmp/shared-prefix
cp -a "$prefix" "$oprefix"
rm "$oprefix/$rel_libdir/libexitleft.a" "$oprefix/$rel_libdir"/cmake/exitleft/exitleftStaticTargets*.cmake
consumer_cmake shared-only shared -DCMAKE_PREFIX_PATH="$oprefix"
[ ! -e "$tmp/consumer-shared-only/consumer_static" ] ||
  fail "exitleft::exitleft_static exists although only the shared library is installed"
needs_shared "$tmp/consumer-shared-only/consumer" "$oprefix/$rel_libdir"
run_consumer "$tmp/consumer-shared-only/consumer"
if cmake -S "$repo/tests/consumer" -B "$tmp/consumer-shared-only-static-on" -G Ninja \
  -DCMAKE_PREFIX_PATH="$oprefix" -DEXITLEFT_STATIC=ON >"$tmp/shared-only-static-on.log" 2>&1; then
  fail "find_package(exitleft) succeeded with EXITLEFT_STATIC=ON and no static library installed"
fi
grep -q "EXITLEFT_STATIC is ON but the static library" "$tmp/shared-only-static-on.log" ||
  { cat "$tmp/shared-only-static-on.log" >&2; fail "the refusal does not say why"; }
say "refused as it must be: EXITLEFT_STATIC=ON and no libexitleft.a installed"

if [ "$deb" = 0 ]; then
  say "Debian packages not checked (run with --deb as root)"
  exit 0
fi

# ---- 4. Debian packages ------------------------------------------------------------------------
step "cpack -G DEB"
if [ -f "$owned_marker" ]; then
  say "$owned_marker: an earlier run was interrupted with its packages installed" \
    "($(tr '\n' ' ' <"$owned_marker")); purging them"
  dpkg --purge "${packages[@]}" >"$tmp/dpkg-leftover.log" 2>&1 ||
    { cat "$tmp/dpkg-leftover.log" >&2; fail "dpkg --purge of the interrupted run's packages failed"; }
  forget_marker
fi
for p in "${packages[@]}"; do
  if dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | contains -v '^not-installed$'; then
    fail "$p is already installed on this machine; remove it first (dpkg --purge $p)"
  fi
done
tool_names=(exitleft-udp-demux exitleft-soak)
for f in /usr/include/exitleft "/usr/$rel_libdir/cmake/exitleft" "/usr/$rel_libdir/libexitleft.so.0" \
  /usr/bin/exitleft-udp-demux /usr/bin/exitleft-soak; do
  [ ! -e "$f" ] || fail "$f exists outside any package; it would be overwritten and removed"
done
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
[ "$rel_libdir" = "lib/$multiarch" ] ||
  fail "the library directory is $rel_libdir, not Debian's multiarch lib/$multiarch"
cpack -G DEB --config "$rel/CPackConfig.cmake" -B "$tmp/deb" >"$tmp/cpack.log" 2>&1 ||
  { cat "$tmp/cpack.log" >&2; fail "cpack -G DEB failed"; }
if contains -i 'warning' "$tmp/cpack.log"; then
  cat "$tmp/cpack.log" >&2
  fail "cpack warned"
fi
arch=$(dpkg --print-architecture)
rt_deb=$tmp/deb/libexitleft0_${version}_$arch.deb
dev_deb=$tmp/deb/libexitleft-dev_${version}_$arch.deb
tools_deb=$tmp/deb/exitleft-tools_${version}_$arch.deb
rt_dbg=$tmp/deb/libexitleft0-dbgsym_${version}_$arch.ddeb
tools_dbg=$tmp/deb/exitleft-tools-dbgsym_${version}_$arch.ddeb
debs=("$rt_deb" "$dev_deb" "$tools_deb" "$rt_dbg" "$tools_dbg")
for f in "${debs[@]}"; do
  [ -f "$f" ] || fail "cpack did not produce $(basename "$f"): $(ls "$tmp/deb")"
done
say "made: $(for f in "${debs[@]}"; do printf '%s ' "$(basename "$f")"; done)"

# Any error or warning fails. The one exception: while EXITLEFT_PACKAGE_MAINTAINER is its default,
# a placeholder ("exitleft developers <exitleft@localhost>", not a person who answers for the
# packages), lintian reports its address: bogus-mail-host for the Maintainer field, and
# bogus-mail-host-in-debian-changelog for the changelog entries' trailers, the same address. Those
# two tags are suppressed then, and only then: a maintainer set with -DEXITLEFT_PACKAGE_MAINTAINER
# must pass without them.
step "lintian"
suppress=()
maintainer=$(cache_value "$rel" EXITLEFT_PACKAGE_MAINTAINER)
if [ "$maintainer" = "$(cache_value "$rel" EXITLEFT_PACKAGE_MAINTAINER_DEFAULT)" ]; then
  # shellcheck disable=SC2054  # lintian takes the tags as one comma-separated argument
  suppress=(--suppress-tags bogus-mail-host,bogus-mail-host-in-debian-changelog)
  say "maintainer '$maintainer' is the placeholder: its address's two tags are suppressed"
fi
lintian_rc=0
lintian --fail-on error,warning "${suppress[@]}" "${debs[@]}" >"$tmp/lintian.log" 2>&1 ||
  lintian_rc=$?
grep -v '^running with root privileges is not recommended!$' "$tmp/lintian.log" | sed 's/^/    /' || true
[ "$lintian_rc" = 0 ] || fail "lintian reports errors or warnings (exit status $lintian_rc)"
say "lintian: no error, no warning in ${#debs[@]} packages"

step "inspect the packages"
contents() { dpkg-deb -c "$1" | awk '{ $1 = $2 = $3 = $4 = $5 = ""; sub(/^ +/, ""); print }'; }
field() { dpkg-deb -f "$1" "$2"; }
member() { dpkg-deb --fsys-tarfile "$1" | tar -xO "$2"; }
# The doc files every package has: copyright (DEP-5, MIT alias Expat) and the changelog of a native
# package whose newest entry is this version.
check_docs() {
  local deb=$1 p=$2 doc="./usr/share/doc/$2"
  member "$deb" "$doc/copyright" | contains -x 'License: Expat' ||
    fail "$p: $doc/copyright does not say License: Expat"
  member "$deb" "$doc/copyright" | contains -x 'Copyright: .*the exitleft developers' ||
    fail "$p: $doc/copyright does not name the exitleft developers"
  member "$deb" "$doc/changelog.gz" | gzip -dc | head -n 1 |
    contains -xF "exitleft ($version) unstable; urgency=medium" ||
    fail "$p: $doc/changelog.gz does not start with the entry of $version"
}
show() {
  say "$1: $(field "$2" Depends)"
  dpkg-deb -I "$2" | sed 's/^/    /'
  contents "$2" | sed 's/^/    /'
  [ "$(field "$2" Package)" = "$1" ] || fail "$(basename "$2") is not the package $1"
}

show libexitleft0 "$rt_deb"
[ "$(field "$rt_deb" Section)" = libs ] || fail "libexitleft0 is not in section libs"
[ "$(field "$rt_deb" Multi-Arch)" = same ] || fail "libexitleft0 is not Multi-Arch: same"
field "$rt_deb" Depends | contains 'libc6' || fail "libexitleft0 does not depend on libc6"
ctrl=$(dpkg-deb --ctrl-tarfile "$rt_deb" | tar -t | sed 's|^\./||' | grep -v '^$' | sort | tr '\n' ' ')
[ "$ctrl" = "control md5sums shlibs triggers " ] ||
  fail "libexitleft0's control files are '$ctrl', expected control, md5sums, shlibs and triggers (no ldconfig maintainer scripts)"
dpkg-deb -I "$rt_deb" shlibs | contains -x "libexitleft $major libexitleft0 (>= $version)" ||
  fail "libexitleft0's shlibs file is wrong: $(dpkg-deb -I "$rt_deb" shlibs)"
dpkg-deb -I "$rt_deb" triggers | contains -x 'activate-noawait ldconfig' ||
  fail "libexitleft0's triggers file is wrong: $(dpkg-deb -I "$rt_deb" triggers)"
v=${version//./\\.}
odd=$(contents "$rt_deb" | grep -Ev "^\./((usr/(lib/(${rel_libdir#lib/}/)?)?|usr/share/(doc/(libexitleft0/)?)?)?)?$" |
  grep -Ev "^\./usr/$rel_libdir/libexitleft\.so\.(0|$v)( -> libexitleft\.so\.$v)?$" |
  grep -Ev '^\./usr/share/doc/libexitleft0/(copyright|changelog\.gz)$' || true)
[ -z "$odd" ] || fail "libexitleft0 holds more than the shared library and its docs:
$odd"
contents "$rt_deb" | contains -x "\./usr/$rel_libdir/libexitleft\.so\.$v" ||
  fail "libexitleft0 lacks libexitleft.so.$version"
contents "$rt_deb" | contains -x "\./usr/$rel_libdir/libexitleft\.so\.0 -> libexitleft\.so\.$v" ||
  fail "libexitleft0 lacks the libexitleft.so.0 symlink"
check_docs "$rt_deb" libexitleft0

show libexitleft-dev "$dev_deb"
[ "$(field "$dev_deb" Section)" = libdevel ] || fail "libexitleft-dev is not in section libdevel"
[ "$(field "$dev_deb" Multi-Arch)" = same ] || fail "libexitleft-dev is not Multi-Arch: same"
field "$dev_deb" Depends | contains -F "libexitleft0 (= $version)" ||
  fail "libexitleft-dev does not depend on libexitleft0 (= $version)"
for f in "./usr/include/exitleft/parking_lot.hpp" "./usr/include/exitleft/export.hpp" \
  "./usr/$rel_libdir/libexitleft.a" "./usr/$rel_libdir/libexitleft.so -> libexitleft.so.0" \
  "./usr/$rel_libdir/pkgconfig/exitleft.pc" "./usr/$rel_libdir/cmake/exitleft/exitleftConfig.cmake" \
  "./usr/$rel_libdir/cmake/exitleft/exitleftConfigVersion.cmake" \
  "./usr/$rel_libdir/cmake/exitleft/exitleftSharedTargets.cmake" \
  "./usr/$rel_libdir/cmake/exitleft/exitleftStaticTargets.cmake"; do
  contents "$dev_deb" | contains -xF "$f" || fail "libexitleft-dev lacks $f"
done
# Headers: C++ (.hpp) and C (.h, the C API).
odd=$(contents "$dev_deb" | grep -Ev '/$' |
  grep -Ev "^\./usr/(include/exitleft/.*\.(hpp|h)|$rel_libdir/(libexitleft\.a|libexitleft\.so -> libexitleft\.so\.0|pkgconfig/exitleft\.pc|cmake/exitleft/exitleft[A-Za-z-]*\.cmake)|share/doc/libexitleft-dev/(copyright|changelog\.gz))$" || true)
[ -z "$odd" ] || fail "libexitleft-dev holds unexpected files:
$odd"
member "$dev_deb" "./usr/$rel_libdir/pkgconfig/exitleft.pc" |
  contains -x 'prefix=/usr' || fail "the packaged exitleft.pc does not say prefix=/usr"
check_docs "$dev_deb" libexitleft-dev

show exitleft-tools "$tools_deb"
[ "$(field "$tools_deb" Section)" = devel ] || fail "exitleft-tools is not in section devel"
field "$tools_deb" Depends | contains 'libc6' || fail "exitleft-tools does not depend on libc6"
for t in "${tool_names[@]}"; do
  contents "$tools_deb" | contains -xF "./usr/bin/$t" || fail "exitleft-tools lacks /usr/bin/$t"
  contents "$tools_deb" | contains -xF "./usr/share/man/man1/$t.1.gz" ||
    fail "exitleft-tools lacks the man page of $t"
  member "$tools_deb" "./usr/share/man/man1/$t.1.gz" | gzip -dc | contains '^\.SH OPTIONS' ||
    fail "the man page of $t has no OPTIONS section"
done
odd=$(contents "$tools_deb" | grep -Ev '/$' |
  grep -Ev '^\./usr/(bin/exitleft-(udp-demux|soak)|share/man/man1/exitleft-(udp-demux|soak)\.1\.gz|share/doc/exitleft-tools/(copyright|changelog\.gz))$' || true)
[ -z "$odd" ] || fail "exitleft-tools holds unexpected files:
$odd"
check_docs "$tools_deb" exitleft-tools

# The -dbgsym packages: the debug information of exactly the ELF files of their package, found by
# build ID, and a doc directory that is a link to that package's.
for pair in "libexitleft0:$rt_deb:$rt_dbg" "exitleft-tools:$tools_deb:$tools_dbg"; do
  IFS=: read -r of of_deb dbg <<<"$pair"
  show "$of-dbgsym" "$dbg"
  [ "$(field "$dbg" Section)" = debug ] || fail "$of-dbgsym is not in section debug"
  field "$dbg" Depends | contains -xF "$of (= $version)" || fail "$of-dbgsym does not depend on $of (= $version)"
  contents "$dbg" | contains -xF "./usr/share/doc/$of-dbgsym -> $of" ||
    fail "$of-dbgsym's doc directory is not a link to $of's"
  mkdir -p "$tmp/x-$of"
  dpkg-deb -x "$of_deb" "$tmp/x-$of"
  ids=""
  while IFS= read -r elf; do
    id=$(readelf -n "$elf" | sed -n 's/.*Build ID: \([0-9a-f]*\)/\1/p')
    [ -n "$id" ] || fail "$of: $elf has no build ID"
    readelf -S "$elf" | contains '\.debug_info' && fail "$of: $elf is not stripped"
    contents "$dbg" | contains -xF "./usr/lib/debug/.build-id/${id:0:2}/${id:2}.debug" ||
      fail "$of-dbgsym lacks the debug file of $elf (build ID $id)"
    ids+="$id "
  done < <(find "$tmp/x-$of" -type f -exec file {} + | sed -n 's/^\([^:]*\): *ELF.*/\1/p')
  [ -n "$ids" ] || fail "$of holds no ELF file"
  [ "$(tr ' ' '\n' <<<"$ids" | grep -v '^$' | sort | tr '\n' ' ')" = \
    "$(field "$dbg" Build-Ids | tr ' ' '\n' | sort | tr '\n' ' ')" ] ||
    fail "$of-dbgsym's Build-Ids ($(field "$dbg" Build-Ids)) are not those of $of's files ($ids)"
done
# The library in the build tree keeps its debug information (the ABI check reads it); the
# packaged one is the same code.
[ "$(readelf -n "$lib" | sed -n 's/.*Build ID: \([0-9a-f]*\)/\1/p')" = "$(field "$rt_dbg" Build-Ids)" ] ||
  fail "libexitleft0-dbgsym's build ID is not that of $lib"

step "dpkg -i"
mkdir -p "$(dirname "$owned_marker")"
printf '%s\n' "${packages[@]}" >"$owned_marker"
we_installed_debs=1
dpkg -i "${debs[@]}" >"$tmp/dpkg-i.log" 2>&1 || { cat "$tmp/dpkg-i.log" >&2; fail "dpkg -i failed"; }
for p in "${packages[@]}"; do
  [ "$(dpkg-query -W -f='${db:Status-Status}' "$p")" = installed ] || fail "$p is not installed after dpkg -i"
done
# The trigger ran ldconfig. With a merged /usr, ldconfig names /lib/<multiarch> for
# /usr/lib/<multiarch>.
ldconfig -p | contains -E "libexitleft\.so\.0 .*=> (/usr)?/$rel_libdir/libexitleft\.so\.0\$" ||
  fail "ldconfig's cache does not list /usr/$rel_libdir/libexitleft.so.0 after dpkg -i"
say "installed: $(dpkg-query -W -f='${Package} ${Version}  ' "${packages[@]}")"

step "the installed tools"
for t in "${tool_names[@]}"; do
  [ "$(command -v "$t")" = "/usr/bin/$t" ] || fail "$t is not /usr/bin/$t but '$(command -v "$t")'"
  out=$("$t" --version) || fail "$t --version failed"
  [ "$out" = "$t $version" ] || fail "$t --version printed '$out', expected '$t $version'"
  "$t" --help >"$tmp/$t-help.txt" || fail "$t --help failed"
  head -n 1 "$tmp/$t-help.txt" | contains -xF "Usage: $t [OPTION]..." ||
    fail "$t --help does not start with its Usage line"
  say "$out; --help: $(wc -l <"$tmp/$t-help.txt") lines"
done
# A short demo on loopback: the Stage mode, 4 peers, at most 2 s of sending.
say "run exitleft-udp-demux --mode stage --peers 4 --datagrams 200000 --duration 2"
timeout 120 exitleft-udp-demux --mode stage --peers 4 --datagrams 200000 --duration 2 \
  >"$tmp/udp-demux.log" 2>&1 || { cat "$tmp/udp-demux.log" >&2; fail "exitleft-udp-demux failed"; }
contains 'reached its own worker exactly once and in order' "$tmp/udp-demux.log" ||
  { cat "$tmp/udp-demux.log" >&2; fail "exitleft-udp-demux did not check every datagram"; }
grep -E '^stage ' "$tmp/udp-demux.log" | head -n 1 | sed 's/^/    /'
say "run exitleft-soak --duration 2 --quiet"
timeout 120 exitleft-soak --duration 2 --quiet >"$tmp/soak.log" 2>&1 ||
  { cat "$tmp/soak.log" >&2; fail "exitleft-soak failed"; }
contains 'exitleft-soak: OK: no lost or duplicated signals' "$tmp/soak.log" ||
  { cat "$tmp/soak.log" >&2; fail "exitleft-soak did not report OK"; }
sed 's/^/    /' "$tmp/soak.log"

step "consumer against /usr"
check_prefix /usr "/usr/$rel_libdir" usr

step "dpkg -r"
installed_files=$(dpkg-query -L "${packages[@]}" | grep -v '^$' | sort -u)
dpkg -r "${packages[@]}" >"$tmp/dpkg-r.log" 2>&1 || { cat "$tmp/dpkg-r.log" >&2; fail "dpkg -r failed"; }
for f in /usr/include/exitleft "/usr/$rel_libdir/cmake/exitleft" "/usr/$rel_libdir/pkgconfig/exitleft.pc" \
  "/usr/$rel_libdir/libexitleft.a" "/usr/$rel_libdir/libexitleft.so" "/usr/$rel_libdir/libexitleft.so.0" \
  "/usr/$rel_libdir/libexitleft.so.$version" /usr/bin/exitleft-udp-demux /usr/bin/exitleft-soak \
  /usr/share/man/man1/exitleft-udp-demux.1.gz /usr/share/man/man1/exitleft-soak.1.gz; do
  [ ! -e "$f" ] && [ ! -L "$f" ] || fail "$f is still there after dpkg -r"
done
# Every file the packages installed is gone (directories shared with other packages stay).
left=$(while IFS= read -r f; do
  if { [ -e "$f" ] || [ -L "$f" ]; } && [ ! -d "$f" ]; then echo "$f"; fi
done <<<"$installed_files")
[ -z "$left" ] || fail "files left after dpkg -r:
$left"
if ldconfig -p | contains 'libexitleft\.so'; then fail "ldconfig's cache still lists libexitleft after dpkg -r"; fi
dpkg --purge "${packages[@]}" >/dev/null 2>&1 || fail "dpkg --purge failed"
for p in "${packages[@]}"; do
  st_=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || echo not-installed)
  [ "$st_" = not-installed ] || fail "$p is '$st_' after dpkg -r and --purge"
done
for p in libexitleft0 libexitleft-dev exitleft-tools libexitleft0-dbgsym exitleft-tools-dbgsym; do
  [ ! -e "/usr/share/doc/$p" ] && [ ! -L "/usr/share/doc/$p" ] || fail "/usr/share/doc/$p is still there"
done
we_installed_debs=0
forget_marker
say "all ${#packages[@]} packages removed; no file left behind"
