# What `cmake --install` puts where, in the GNU layout (GNUInstallDirs; with the prefix
# /usr on Debian, lib/ is lib/<triplet>/), in three components, one per Debian package
# (cmake/package.cmake):
#   tools        bin/tcpka; lib/tcpka/libtcpka_preload.so, the shim of `tcpka exec`
#                (private: loaded by path, never linked); the man pages; the systemd unit
#                of `tcpka watch`; share/doc/tcpka/
#   runtime      lib/libtcpka.so.<SOVERSION>
#   development  include/tcpka/, lib/libtcpka.a, lib/libtcpka.so, lib/cmake/tcpka/
#                (find_package(tcpka CONFIG): tcpka::tcpka, tcpka::tcpka_static),
#                lib/pkgconfig/tcpka.pc
# An installed tree can be moved or unpacked anywhere: tcpka finds its shim from its own
# path, CMake's files and tcpka.pc find the tree from theirs. Only the systemd unit names
# the prefix it was installed to.
include(CMakePackageConfigHelpers)

# The ABI's number: while the major version is 0, a minor release may break the ABI (as
# find_package's SameMinorVersion says of the API), so it is MAJOR.MINOR: libtcpka.so.0.1,
# Debian package libtcpka0.1. From 1.0 on, the major version alone.
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(TCPKA_SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})
else()
  set(TCPKA_SOVERSION ${PROJECT_VERSION_MAJOR})
endif()

# The shared library exports tcpka's own symbols and nothing else (the version script):
# not the instantiations of the standard library it happens to contain.
tcpka_library(tcpka_shared SHARED)
set(TCPKA_EXPORTS_MAP ${PROJECT_SOURCE_DIR}/src/lib/exports.map)
set_target_properties(tcpka_shared PROPERTIES
  VERSION ${PROJECT_VERSION} SOVERSION ${TCPKA_SOVERSION} EXPORT_NAME tcpka
  LINK_DEPENDS ${TCPKA_EXPORTS_MAP})
target_link_options(tcpka_shared PRIVATE -Wl,--version-script=${TCPKA_EXPORTS_MAP})
# Every symbol resolved at link time, except in the sanitizer builds: clang leaves the
# sanitizers' runtime to the executable that loads the library.
if(NOT TCPKA_SANITIZE AND NOT TCPKA_TSAN)
  target_link_options(tcpka_shared PRIVATE -Wl,--no-undefined)
endif()
set_target_properties(tcpka PROPERTIES EXPORT_NAME tcpka_static)

set(TCPKA_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/tcpka)
# Debian's permissions: a library is read, not run.
set(TCPKA_LIBRARY_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)

install(TARGETS tcpka_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT tools)
install(TARGETS tcpka_preload LIBRARY DESTINATION ${TCPKA_PRELOAD_INSTALL_DIR}
  PERMISSIONS ${TCPKA_LIBRARY_PERMISSIONS} COMPONENT tools)
install(TARGETS tcpka tcpka_shared EXPORT tcpka_targets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT development
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} PERMISSIONS ${TCPKA_LIBRARY_PERMISSIONS}
    COMPONENT runtime NAMELINK_COMPONENT development)
install(DIRECTORY include/tcpka ${TCPKA_GENERATED_INCLUDE}/tcpka
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT development)

# find_package(tcpka CONFIG). 0.x: a minor release may break the API, so a request for
# 0.1 is met by 0.1.x only.
install(EXPORT tcpka_targets NAMESPACE tcpka:: FILE tcpkaTargets.cmake
  DESTINATION ${TCPKA_CMAKE_DIR} COMPONENT development)
configure_package_config_file(cmake/tcpkaConfig.cmake.in
  ${PROJECT_BINARY_DIR}/tcpkaConfig.cmake INSTALL_DESTINATION ${TCPKA_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/tcpkaConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/tcpkaConfig.cmake
  ${PROJECT_BINARY_DIR}/tcpkaConfigVersion.cmake
  DESTINATION ${TCPKA_CMAKE_DIR} COMPONENT development)

# tcpka.pc finds the library and the headers from its own directory (${pcfiledir}).
set(TCPKA_PKGCONFIG_DIR ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
file(RELATIVE_PATH TCPKA_LIBDIR_FROM_PKGCONFIG ${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig
  ${CMAKE_INSTALL_FULL_LIBDIR})
file(RELATIVE_PATH TCPKA_INCLUDEDIR_FROM_PKGCONFIG ${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig
  ${CMAKE_INSTALL_FULL_INCLUDEDIR})
string(REGEX REPLACE "/$" "" TCPKA_LIBDIR_FROM_PKGCONFIG "${TCPKA_LIBDIR_FROM_PKGCONFIG}")
configure_file(cmake/tcpka.pc.in ${PROJECT_BINARY_DIR}/tcpka.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/tcpka.pc DESTINATION ${TCPKA_PKGCONFIG_DIR}
  COMPONENT development)

if(TCPKA_MAN_PAGES)
  install(FILES ${TCPKA_MAN_FILES} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT tools)
endif()

# The systemd unit of `tcpka watch`, its ExecStart naming the binary where this install
# puts it: written when installing (`cmake --install --prefix`, CPack's /usr), not when
# configuring. Installed, not enabled: `systemctl enable --now tcpka-watch`.
set(TCPKA_SYSTEMD_UNIT_DIR lib/systemd/system CACHE STRING
  "Where the systemd unit of tcpka watch is installed (relative to the prefix, or absolute)")
set(TCPKA_WATCH_UNIT ${PROJECT_BINARY_DIR}/tcpka-watch.service)
install(CODE "
  set(bindir [[${CMAKE_INSTALL_BINDIR}]])
  if(NOT IS_ABSOLUTE \${bindir})
    set(bindir \${CMAKE_INSTALL_PREFIX}/\${bindir})
  endif()
  get_filename_component(bindir \${bindir} ABSOLUTE)
  file(READ [[${PROJECT_SOURCE_DIR}/deploy/tcpka-watch.service]] unit)
  string(REPLACE /usr/bin/tcpka \${bindir}/tcpka unit \"\${unit}\")
  file(WRITE [[${TCPKA_WATCH_UNIT}]] \"\${unit}\")
" COMPONENT tools)
install(FILES ${TCPKA_WATCH_UNIT} DESTINATION ${TCPKA_SYSTEMD_UNIT_DIR} COMPONENT tools)

# Documentation, and each package's copyright and changelog (Debian wants them in every
# package's own share/doc/PACKAGE/; the libraries' are installed only with their package).
set(TCPKA_CHANGELOG_GZ ${PROJECT_BINARY_DIR}/changelog.gz)
add_custom_command(OUTPUT ${TCPKA_CHANGELOG_GZ}
  COMMAND ${CMAKE_COMMAND} -E copy ${PROJECT_SOURCE_DIR}/packaging/changelog
    ${PROJECT_BINARY_DIR}/changelog
  COMMAND gzip -9nf ${PROJECT_BINARY_DIR}/changelog
  DEPENDS packaging/changelog VERBATIM)
add_custom_target(tcpka_changelog ALL DEPENDS ${TCPKA_CHANGELOG_GZ})
install(FILES README.md packaging/copyright ${TCPKA_CHANGELOG_GZ}
  DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT tools)
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs COMPONENT tools)
install(DIRECTORY deploy/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/deploy COMPONENT tools
  PATTERN "*.service" EXCLUDE)
install(FILES packaging/copyright ${TCPKA_CHANGELOG_GZ}
  DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/libtcpka${TCPKA_SOVERSION}
  COMPONENT runtime EXCLUDE_FROM_ALL)
install(FILES packaging/copyright ${TCPKA_CHANGELOG_GZ}
  DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/libtcpka-dev
  COMPONENT development EXCLUDE_FROM_ALL)
