# CPACK_POST_BUILD_SCRIPTS (set in tools/packaging/debian.cmake): runs after cpack -G DEB has made
# the packages (CPACK_PACKAGE_FILES, still in CPack's work directory) and before it copies them
# out. Three things CPack 3.25 does not let a project choose:
#
# 1. It adds a postinst and a postrm that run ldconfig to every package with a shared library in
#    /usr/lib/... once it has looked at the files, which it does for dpkg-shlibdeps, for the
#    shlibs file and for the -dbgsym package (CPackDeb.cmake: CPACK_ADD_LDCONFIG_CALL). Only a
#    postinst/postrm named in CPACK_DEBIAN_<COMPONENT>_PACKAGE_CONTROL_EXTRA stops it, and that
#    would ship an empty maintainer script (lintian: maintainer-script-empty) or, for a name of a
#    missing file, make CPack warn. libexitleft0 has the ldconfig trigger instead, so the two
#    scripts are taken out here, if they are exactly CPack's.
# 2. Its -dbgsym .ddeb lists absolute paths of CPack's work directory in md5sums and has no
#    /usr/share/doc/<package>-dbgsym. md5sums is written again; the doc directory becomes a
#    symbolic link to the one of the package it holds the symbols of (as debhelper does; the
#    .ddeb depends on that package), and the .debug files lose their execute bits.
# 3. The Multi-Arch field: "Multi-Arch: same" goes after Architecture in the packages named in
#    CPACK_EXITLEFT_MULTIARCH_SAME (debian.cmake).
#
# A package that needs any of these is unpacked with dpkg-deb --raw-extract and built again with
# dpkg-deb --build (owner root, xz, like CPack's; CPACK_DEBIAN_COMPRESSION_TYPE is xz).
find_program(dpkg_deb dpkg-deb)
if(NOT dpkg_deb)
  message(FATAL_ERROR "deb-post-build: dpkg-deb not found")
endif()
set(cpack_postinst "#!/bin/sh\n\nset -e\n\nif [ \"$1\" = \"configure\" ]; then\n\tldconfig\nfi\n")
set(cpack_postrm "#!/bin/sh\n\nset -e\n\nif [ \"$1\" = \"remove\" ]; then\n\tldconfig\nfi\n")

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    list(JOIN ARGN " " cmd)
    message(FATAL_ERROR "deb-post-build: '${cmd}' failed (${rc}):\n${out}")
  endif()
endfunction()

foreach(deb IN LISTS CPACK_PACKAGE_FILES)
  if(NOT deb MATCHES "\\.d?deb$")
    continue()
  endif()
  get_filename_component(name "${deb}" NAME)
  set(root "${CPACK_TOPLEVEL_DIRECTORY}/post-build/${name}")
  file(REMOVE_RECURSE "${root}")
  file(MAKE_DIRECTORY "${CPACK_TOPLEVEL_DIRECTORY}/post-build")
  run(${dpkg_deb} --raw-extract "${deb}" "${root}")
  execute_process(COMMAND ${dpkg_deb} --field "${deb}" Package
    OUTPUT_VARIABLE package OUTPUT_STRIP_TRAILING_WHITESPACE)
  set(changed FALSE)

  if(EXISTS "${root}/DEBIAN/triggers")
    foreach(script IN ITEMS postinst postrm)
      if(EXISTS "${root}/DEBIAN/${script}")
        file(READ "${root}/DEBIAN/${script}" text)
        if(text STREQUAL cpack_${script})
          file(REMOVE "${root}/DEBIAN/${script}")
          set(changed TRUE)
        endif()
      endif()
    endforeach()
  endif()

  if(deb MATCHES "\\.ddeb$")
    string(REGEX REPLACE "-dbgsym$" "" of "${package}")
    file(MAKE_DIRECTORY "${root}/usr/share/doc")
    file(CREATE_LINK "${of}" "${root}/usr/share/doc/${package}" SYMBOLIC)
    file(GLOB_RECURSE files LIST_DIRECTORIES false RELATIVE "${root}" "${root}/usr/*")
    list(SORT files)
    set(md5sums "")
    foreach(f IN LISTS files)
      if(IS_SYMLINK "${root}/${f}")
        continue()
      endif()
      if(f MATCHES "\\.debug$")
        file(CHMOD "${root}/${f}" FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
      endif()
      file(MD5 "${root}/${f}" sum)
      string(APPEND md5sums "${sum}  ${f}\n")
    endforeach()
    file(WRITE "${root}/DEBIAN/md5sums" "${md5sums}")
    set(changed TRUE)
  endif()

  if(package IN_LIST CPACK_EXITLEFT_MULTIARCH_SAME)
    file(READ "${root}/DEBIAN/control" control)
    if(NOT control MATCHES "\nMulti-Arch:")
      # CPack writes the fields in alphabetical order: Architecture may be the first line.
      string(REGEX REPLACE "((^|\n)Architecture: [^\n]*\n)" "\\1Multi-Arch: same\n" control
        "${control}")
      file(WRITE "${root}/DEBIAN/control" "${control}")
      set(changed TRUE)
    endif()
  endif()

  if(changed)
    run(${dpkg_deb} --root-owner-group -Zxz --build "${root}" "${deb}")
    message(STATUS "deb-post-build: ${name} rebuilt")
  endif()
  file(REMOVE_RECURSE "${root}")
endforeach()
