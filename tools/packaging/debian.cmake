# Included by the "Debian packages" section of CMakeLists.txt, before include(CPack): what the
# packages need beyond what CPack's DEB generator makes itself.
#
#   - /usr/share/doc/<package>/copyright, machine-readable (DEP-5), from docs/LICENSE, and
#     /usr/share/doc/<package>/changelog.gz, the Debian changelog of a native package (no Debian
#     revision in the version, hence changelog.gz and not changelog.Debian.gz), from
#     docs/CHANGELOG.md, compressed with gzip -9n; both by debian-files.py, in every package;
#   - libexitleft0's triggers file (activate-noawait ldconfig): dpkg runs ldconfig once after
#     the packages of a run are unpacked, instead of a maintainer script per package;
#   - deb-post-build.cmake (CPACK_POST_BUILD_SCRIPTS), which takes out the ldconfig maintainer
#     scripts CPack adds anyway and completes the -dbgsym packages;
#   - cpack-config.cmake (CPACK_PROJECT_CONFIG_FILE), which refuses to make .debs from a tree
#     whose library directory is not Debian's multiarch one, or whose docs could not be made.
#
# In: EXITLEFT_DEB_COMPONENTS, a list of <component>=<package> pairs. Out: EXITLEFT_RELEASE_EPOCH
# (the release date of PROJECT_VERSION in docs/CHANGELOG.md, for help2man; empty if unknown).
# The doc files are generated when configuring (again when LICENSE, CHANGELOG.md or the script
# change) and installed with EXCLUDE_FROM_ALL: only into the packages, which install component by
# component, not by a plain `cmake --install`.
set(EXITLEFT_DEB_DIR ${PROJECT_BINARY_DIR}/debian)
set(EXITLEFT_DEB_PROBLEM "")
set(EXITLEFT_RELEASE_EPOCH "")
set(script ${CMAKE_CURRENT_LIST_DIR}/debian-files.py)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
  ${script} ${PROJECT_SOURCE_DIR}/docs/LICENSE ${PROJECT_SOURCE_DIR}/docs/CHANGELOG.md)
find_program(EXITLEFT_PYTHON3 python3)
find_program(EXITLEFT_GZIP gzip)
if(NOT EXITLEFT_PYTHON3 OR NOT EXITLEFT_GZIP)
  set(EXITLEFT_DEB_PROBLEM "python3 or gzip is missing (tools/install-deps.sh build)")
else()
  file(MAKE_DIRECTORY ${EXITLEFT_DEB_DIR})
  execute_process(
    COMMAND ${EXITLEFT_PYTHON3} ${script} copyright ${PROJECT_SOURCE_DIR}/docs/LICENSE
      ${EXITLEFT_DEB_DIR}/copyright
    RESULT_VARIABLE rc ERROR_VARIABLE err)
  if(rc EQUAL 0)
    execute_process(
      COMMAND ${EXITLEFT_PYTHON3} ${script} changelog ${PROJECT_SOURCE_DIR}/docs/CHANGELOG.md
        ${PROJECT_VERSION} "${EXITLEFT_PACKAGE_MAINTAINER}" ${EXITLEFT_DEB_DIR}/changelog
      RESULT_VARIABLE rc ERROR_VARIABLE err)
  endif()
  if(rc EQUAL 0)
    execute_process(COMMAND ${EXITLEFT_GZIP} -9nf ${EXITLEFT_DEB_DIR}/changelog
      RESULT_VARIABLE rc ERROR_VARIABLE err)
  endif()
  if(rc EQUAL 0)
    execute_process(
      COMMAND ${EXITLEFT_PYTHON3} ${script} epoch ${PROJECT_SOURCE_DIR}/docs/CHANGELOG.md
        ${PROJECT_VERSION}
      OUTPUT_VARIABLE EXITLEFT_RELEASE_EPOCH OUTPUT_STRIP_TRAILING_WHITESPACE)
  else()
    string(STRIP "${err}" err)
    set(EXITLEFT_DEB_PROBLEM "${err}")
  endif()
endif()
if(EXITLEFT_DEB_PROBLEM)
  # Configuring goes on (the library does not need these files); cpack -G DEB refuses.
  message(WARNING "exitleft: the Debian packages cannot be made: ${EXITLEFT_DEB_PROBLEM}")
else()
  foreach(pair IN LISTS EXITLEFT_DEB_COMPONENTS)
    string(REPLACE "=" ";" pair "${pair}")
    list(GET pair 0 component)
    list(GET pair 1 package)
    install(FILES ${EXITLEFT_DEB_DIR}/copyright ${EXITLEFT_DEB_DIR}/changelog.gz
      DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/${package}
      COMPONENT ${component} EXCLUDE_FROM_ALL)
  endforeach()
endif()

set(CPACK_DEBIAN_RUNTIME_PACKAGE_CONTROL_EXTRA ${CMAKE_CURRENT_LIST_DIR}/triggers)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_POST_BUILD_SCRIPTS ${CMAKE_CURRENT_LIST_DIR}/deb-post-build.cmake)
# Multi-Arch: same for the library packages (and the symbols of the library), so that the
# libraries of several architectures install side by side (every file of theirs outside the
# multiarch directory is the same on every architecture); deb-post-build.cmake writes the field,
# which CPack 3.25 has no variable for. exitleft-tools' programs would collide in /usr/bin: none.
set(CPACK_EXITLEFT_MULTIARCH_SAME libexitleft0 libexitleft-dev libexitleft0-dbgsym)
set(CPACK_PROJECT_CONFIG_FILE ${CMAKE_CURRENT_LIST_DIR}/cpack-config.cmake)
# For cpack-config.cmake (CPACK_* variables reach CPackConfig.cmake).
set(CPACK_EXITLEFT_DEB_PROBLEM "${EXITLEFT_DEB_PROBLEM}")
set(CPACK_EXITLEFT_INSTALL_PREFIX "${CMAKE_INSTALL_PREFIX}")
set(CPACK_EXITLEFT_LIBDIR "${CMAKE_INSTALL_LIBDIR}")
if(CMAKE_LIBRARY_ARCHITECTURE)
  set(CPACK_EXITLEFT_MULTIARCH_LIBDIR "lib/${CMAKE_LIBRARY_ARCHITECTURE}")
else()
  set(CPACK_EXITLEFT_MULTIARCH_LIBDIR "")
endif()
