#!/usr/bin/env bash
# tools/check-install.sh [--deb]
#
# Proves that exitleft installs and is usable from an outside project (tests/consumer):
#  1. configures and builds the release preset (the library only: the benchmarks and tools are
#     built by the other presets) into a build directory of its own, and checks the shared
#     library: SONAME libexitleft.so.0, only exitleft's API in its dynamic symbol table;
#  2. installs it into a temporary prefix and builds and runs the consumer every way a user
#     would: find_package with exitleft::exitleft (shared by default), exitleft::exitleft_static,
#     exitleft::exitleft_shared, exitleft::exitleft with -DEXITLEFT_STATIC=ON (must be static),
#     and pkg-config, shared and static;
#  3. builds a static-only tree (EXITLEFT_BUILD_SHARED=OFF): find_package must give the static
#     library; and a shared-only copy of the install: EXITLEFT_STATIC=ON must fail to configure;
#  4. with --deb (root only): cpack -G DEB, inspects libexitleft0 and libexitleft-dev, installs
#     both with dpkg -i, builds and runs the consumer against /usr (find_package and pkg-config,
#     static and shared), removes both and checks that nothing is left.
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
packages=(libexitleft0 libexitleft-dev)

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
    # libexitleft-dev first: it depends on libexitleft0.
    say "clean-up: dpkg --purge ${packages[*]}"
    dpkg --purge libexitleft-dev libexitleft0 >/dev/null || say "clean-up: dpkg --purge failed"
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
need=(cmake ninja c++ pkg-config readelf nm c++filt ldd)
if [ "$deb" = 1 ]; then
  [ "$(id -u)" = 0 ] || fail "--deb installs packages with dpkg: run it as root"
  need+=(cpack dpkg dpkg-deb dpkg-query dpkg-shlibdeps file ldconfig)
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
# check_exports LIB: the dynamic symbol table holds exitleft's API and nothing else.
check_exports() {
  local lib=$1 syms bad
  syms=$(nm -D --defined-only --format=posix "$lib" | awk '{ print $1 }')
  [ -n "$syms" ] || fail "$lib exports no symbols"
  # Itanium names of entities in namespace exitleft, with their typeinfo, vtables, guards and
  # TLS wrappers; exitleft::platform is internal.
  bad=$(grep -Ev '^_Z(T[ISVTHW]|GV)?N[KVRO]*8exitleft' <<<"$syms" || true)
  bad+=$(grep -E '^_Z(T[ISVTHW]|GV)?N[KVRO]*8exitleft8platform' <<<"$syms" || true)
  [ -z "$bad" ] || fail "$lib exports symbols outside exitleft's API:
$(c++filt <<<"$bad")"
  c++filt <<<"$syms" | contains '^exitleft::parking_lot::unpark_all(' ||
    fail "$lib does not export exitleft::parking_lot::unpark_all"
  say "$lib exports $(wc -l <<<"$syms") symbols, all exitleft API"
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
# consumer_pkgconfig NAME shared|static: compile main.cpp by hand with pkg-config's flags.
consumer_pkgconfig() {
  local name=$1 kind=$2 exe="$tmp/pc-$1"
  local -a mode=() cflags libs
  local c l
  [ "$kind" = shared ] || mode=(--static)
  c=$(pkg-config "${mode[@]}" --cflags exitleft) && l=$(pkg-config "${mode[@]}" --libs exitleft) ||
    fail "pkg-config ${mode[*]} does not find exitleft (PKG_CONFIG_PATH=${PKG_CONFIG_PATH:-})"
  read -r -a cflags <<<"$c"
  read -r -a libs <<<"$l"
  # shellcheck disable=SC2054  # -Wl,-Bstatic is one argument
  [ "$kind" = shared ] || libs=(-Wl,-Bstatic "${libs[@]}" -Wl,-Bdynamic)
  say "consumer (pkg-config, $name): c++ -std=c++20 -pthread main.cpp ${cflags[*]} ${libs[*]}"
  c++ -std=c++20 -O2 -pthread "$repo/tests/consumer/main.cpp" "${cflags[@]}" -o "$exe" "${libs[@]}" ||
    fail "compiling the consumer with pkg-config ($name) failed"
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
    consumer_pkgconfig "$tag-static" static
  else
    PKG_CONFIG_PATH="$libdir/pkgconfig" consumer_pkgconfig "$tag-static" static
  fi
  is_static "$tmp/pc-$tag-static"
  run_consumer "$tmp/pc-$tag-static"
}

# ---- 1. the release build ----------------------------------------------------------------------
step "configure and build the release preset (library only) in $build_root/release"
rel=$build_root/release
cmake --preset release -B "$rel" --fresh -DEXITLEFT_BUILD_BENCHMARKS=OFF -DEXITLEFT_BUILD_TOOLS=OFF \
  >"$tmp/release-configure.log" 2>&1 ||
  { cat "$tmp/release-configure.log" >&2; fail "configuring the release preset failed"; }
cmake --build "$rel" -j "$jobs" >"$tmp/release-build.log" 2>&1 ||
  { tail -n 60 "$tmp/release-build.log" >&2; fail "building the release preset failed"; }
[ "$(cache_value "$rel" CMAKE_INSTALL_PREFIX)" = /usr ] ||
  fail "the release preset must install to /usr (CMAKE_INSTALL_PREFIX)"
rel_libdir=$(cache_value "$rel" CMAKE_INSTALL_LIBDIR)

step "check the shared library"
[ -f "$rel/libexitleft.so.0.1.0" ] && [ -f "$rel/libexitleft.a" ] ||
  fail "the build did not produce libexitleft.so.0.1.0 and libexitleft.a"
soname=$(readelf -d "$rel/libexitleft.so.0.1.0" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = libexitleft.so.0 ] || fail "SONAME is '$soname', expected libexitleft.so.0"
say "SONAME $soname"
check_exports "$rel/libexitleft.so.0.1.0"

# ---- 2. install into a temporary prefix --------------------------------------------------------
step "install into a temporary prefix"
prefix=$tmp/prefix
cmake --install "$rel" --prefix "$prefix" >"$tmp/install.log" 2>&1 ||
  { cat "$tmp/install.log" >&2; fail "cmake --install failed"; }
libdir=$prefix/$rel_libdir
for f in include/exitleft/parking_lot.hpp include/exitleft/export.hpp \
  "$rel_libdir/libexitleft.a" "$rel_libdir/libexitleft.so" "$rel_libdir/libexitleft.so.0" \
  "$rel_libdir/libexitleft.so.0.1.0" "$rel_libdir/pkgconfig/exitleft.pc" \
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

# The version file: SameMajorVersion accepts 0.1 and refuses 1.0.
mkdir -p "$tmp/version-check"
cat >"$tmp/version-check/CMakeLists.txt" <<EOF
cmake_minimum_required(VERSION 3.25)
project(v LANGUAGES CXX)
find_package(exitleft \${want} CONFIG QUIET PATHS "$libdir/cmake/exitleft" NO_DEFAULT_PATH)
message(STATUS "found=\${exitleft_FOUND}")
EOF
for want in 0.1:1 1.0:0; do
  cmake -S "$tmp/version-check" -B "$tmp/version-check/b-${want%%:*}" -G Ninja \
    -Dwant="${want%%:*}" --fresh >"$tmp/version-check.log" 2>&1 || fail "version check configure failed"
  grep -q "found=${want##*:}" "$tmp/version-check.log" ||
    fail "find_package(exitleft ${want%%:*}) found=$(sed -n 's/.*found=//p' "$tmp/version-check.log"), expected ${want##*:}"
done
say "find_package(exitleft 0.1) is accepted, find_package(exitleft 1.0) is refused"

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
for p in "${packages[@]}"; do
  if dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | contains -v '^not-installed$'; then
    fail "$p is already installed on this machine; remove it first (dpkg --purge $p)"
  fi
done
for f in /usr/include/exitleft "/usr/$rel_libdir/cmake/exitleft" "/usr/$rel_libdir/libexitleft.so.0"; do
  [ ! -e "$f" ] || fail "$f exists outside any package; it would be overwritten and removed"
done
cpack -G DEB --config "$rel/CPackConfig.cmake" -B "$tmp/deb" >"$tmp/cpack.log" 2>&1 ||
  { cat "$tmp/cpack.log" >&2; fail "cpack -G DEB failed"; }
arch=$(dpkg --print-architecture)
rt_deb=$tmp/deb/libexitleft0_0.1.0_$arch.deb
dev_deb=$tmp/deb/libexitleft-dev_0.1.0_$arch.deb
[ -f "$rt_deb" ] && [ -f "$dev_deb" ] ||
  fail "cpack did not produce $(basename "$rt_deb") and $(basename "$dev_deb"): $(ls "$tmp/deb")"

step "inspect the packages"
contents() { dpkg-deb -c "$1" | awk '{ $1 = $2 = $3 = $4 = $5 = ""; sub(/^ +/, ""); print }'; }
field() { dpkg-deb -f "$1" "$2"; }
say "libexitleft0: $(field "$rt_deb" Depends)"
dpkg-deb -I "$rt_deb" | sed 's/^/    /'
contents "$rt_deb" | sed 's/^/    /'
[ "$(field "$rt_deb" Package)" = libexitleft0 ] || fail "runtime package is not named libexitleft0"
[ "$(field "$rt_deb" Section)" = libs ] || fail "libexitleft0 is not in section libs"
field "$rt_deb" Depends | contains 'libc6' || fail "libexitleft0 does not depend on libc6"
dpkg-deb --ctrl-tarfile "$rt_deb" | tar -t | contains -x './shlibs' ||
  fail "libexitleft0 has no shlibs control file"
dpkg-deb -I "$rt_deb" shlibs | contains -x "libexitleft 0 libexitleft0 (>= 0.1.0)" ||
  fail "libexitleft0's shlibs file is wrong: $(dpkg-deb -I "$rt_deb" shlibs)"
odd=$(contents "$rt_deb" | grep -Ev "^\./(usr/(lib/(${rel_libdir#lib/}/)?)?)?$" |
  grep -Ev "^\./usr/$rel_libdir/libexitleft\.so\.0(\.1\.0)?( -> libexitleft\.so\.0\.1\.0)?$" || true)
[ -z "$odd" ] || fail "libexitleft0 holds more than the shared library:
$odd"
contents "$rt_deb" | contains -x "\./usr/$rel_libdir/libexitleft\.so\.0\.1\.0" ||
  fail "libexitleft0 lacks libexitleft.so.0.1.0"
contents "$rt_deb" | contains -x "\./usr/$rel_libdir/libexitleft\.so\.0 -> libexitleft\.so\.0\.1\.0" ||
  fail "libexitleft0 lacks the libexitleft.so.0 symlink"

say "libexitleft-dev: $(field "$dev_deb" Depends)"
dpkg-deb -I "$dev_deb" | sed 's/^/    /'
contents "$dev_deb" | sed 's/^/    /'
[ "$(field "$dev_deb" Package)" = libexitleft-dev ] || fail "development package is not named libexitleft-dev"
[ "$(field "$dev_deb" Section)" = libdevel ] || fail "libexitleft-dev is not in section libdevel"
field "$dev_deb" Depends | contains 'libexitleft0 (= 0.1.0)' ||
  fail "libexitleft-dev does not depend on libexitleft0 (= 0.1.0)"
for f in "./usr/include/exitleft/parking_lot.hpp" "./usr/include/exitleft/export.hpp" \
  "./usr/$rel_libdir/libexitleft.a" "./usr/$rel_libdir/libexitleft.so -> libexitleft.so.0" \
  "./usr/$rel_libdir/pkgconfig/exitleft.pc" "./usr/$rel_libdir/cmake/exitleft/exitleftConfig.cmake" \
  "./usr/$rel_libdir/cmake/exitleft/exitleftConfigVersion.cmake" \
  "./usr/$rel_libdir/cmake/exitleft/exitleftSharedTargets.cmake" \
  "./usr/$rel_libdir/cmake/exitleft/exitleftStaticTargets.cmake"; do
  contents "$dev_deb" | contains -xF "$f" || fail "libexitleft-dev lacks $f"
done
odd=$(contents "$dev_deb" | grep -Ev '/$' |
  grep -Ev "^\./usr/(include/exitleft/.*\.hpp|$rel_libdir/(libexitleft\.a|libexitleft\.so -> libexitleft\.so\.0|pkgconfig/exitleft\.pc|cmake/exitleft/exitleft[A-Za-z-]*\.cmake))$" || true)
[ -z "$odd" ] || fail "libexitleft-dev holds unexpected files:
$odd"
dpkg-deb --fsys-tarfile "$dev_deb" | tar -xO "./usr/$rel_libdir/pkgconfig/exitleft.pc" |
  grep -qx 'prefix=/usr' || fail "the packaged exitleft.pc does not say prefix=/usr"

step "dpkg -i"
we_installed_debs=1
dpkg -i "$rt_deb" "$dev_deb" >"$tmp/dpkg-i.log" 2>&1 || { cat "$tmp/dpkg-i.log" >&2; fail "dpkg -i failed"; }
for p in "${packages[@]}"; do
  [ "$(dpkg-query -W -f='${db:Status-Status}' "$p")" = installed ] || fail "$p is not installed after dpkg -i"
done
# With a merged /usr, ldconfig names /lib/<multiarch> for /usr/lib/<multiarch>.
ldconfig -p | contains -E "libexitleft\.so\.0 .*=> (/usr)?/$rel_libdir/libexitleft\.so\.0\$" ||
  fail "ldconfig's cache does not list /usr/$rel_libdir/libexitleft.so.0 after dpkg -i"
say "installed: $(dpkg-query -W -f='${Package} ${Version}  ' "${packages[@]}")"

step "consumer against /usr"
check_prefix /usr "/usr/$rel_libdir" usr

step "dpkg -r"
dpkg -r libexitleft-dev libexitleft0 >"$tmp/dpkg-r.log" 2>&1 || { cat "$tmp/dpkg-r.log" >&2; fail "dpkg -r failed"; }
for f in /usr/include/exitleft "/usr/$rel_libdir/cmake/exitleft" "/usr/$rel_libdir/pkgconfig/exitleft.pc" \
  "/usr/$rel_libdir/libexitleft.a" "/usr/$rel_libdir/libexitleft.so" "/usr/$rel_libdir/libexitleft.so.0" \
  "/usr/$rel_libdir/libexitleft.so.0.1.0"; do
  [ ! -e "$f" ] && [ ! -L "$f" ] || fail "$f is still there after dpkg -r"
done
if ldconfig -p | contains 'libexitleft\.so'; then fail "ldconfig's cache still lists libexitleft after dpkg -r"; fi
dpkg --purge libexitleft-dev libexitleft0 >/dev/null 2>&1 || fail "dpkg --purge failed"
for p in "${packages[@]}"; do
  st_=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || echo not-installed)
  [ "$st_" = not-installed ] || fail "$p is '$st_' after dpkg -r and --purge"
done
we_installed_debs=0
say "both packages removed; no file left behind"
