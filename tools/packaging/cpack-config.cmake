# CPACK_PROJECT_CONFIG_FILE (set in tools/packaging/debian.cmake): read by cpack before each
# generator. For DEB it refuses, before anything is built, a tree whose packages would be wrong.
#
# The library directory: CPack's DEB generator installs into /usr (CPACK_PACKAGING_INSTALL_PREFIX)
# whatever prefix the tree was configured with, but CMAKE_INSTALL_LIBDIR was chosen by
# GNUInstallDirs for that prefix: lib/<multiarch> (lib/x86_64-linux-gnu) only when the prefix is
# /usr on a Debian system with a known CMAKE_LIBRARY_ARCHITECTURE and no cross-compiling, plain
# lib otherwise. A tree configured without the release or package preset (prefix /usr/local)
# therefore made packages with usr/lib/libexitleft.so and usr/lib/pkgconfig/exitleft.pc, which
# lintian reports (pkg-config-unavailable-for-cross-compilation) and a multiarch system cannot
# co-install. Configure with --preset package (or -DCMAKE_INSTALL_PREFIX=/usr) instead.
if(NOT CPACK_GENERATOR STREQUAL "DEB")
  return()
endif()
if(CPACK_EXITLEFT_DEB_PROBLEM)
  message(FATAL_ERROR "exitleft: no Debian packages: ${CPACK_EXITLEFT_DEB_PROBLEM}")
endif()
if(NOT CPACK_EXITLEFT_INSTALL_PREFIX MATCHES "^/usr/?$" OR
   NOT CPACK_EXITLEFT_MULTIARCH_LIBDIR OR
   NOT CPACK_EXITLEFT_LIBDIR STREQUAL CPACK_EXITLEFT_MULTIARCH_LIBDIR)
  message(FATAL_ERROR
    "exitleft: no Debian packages from this tree: its prefix is '${CPACK_EXITLEFT_INSTALL_PREFIX}' "
    "and its library directory '${CPACK_EXITLEFT_LIBDIR}', but the packages install into /usr and "
    "need the multiarch directory '${CPACK_EXITLEFT_MULTIARCH_LIBDIR}' (empty: CMake does not "
    "know the target's multiarch name). Configure with `cmake --preset package`, or with "
    "-DCMAKE_INSTALL_PREFIX=/usr in a fresh build directory.")
endif()
