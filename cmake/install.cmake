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
# Every path is relative to the prefix, so an installed tree can be moved or unpacked
# anywhere: tcpka finds its shim from its own path, CMake's files and tcpka.pc find the
# tree from theirs.
include(CMakePackageConfigHelpers)

# The ABI's number, not the release's: it changes when a release breaks binary
# compatibility (libtcpka.so.0, Debian package libtcpka0), whatever the version says.
set(TCPKA_SOVERSION 0)

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

# tcpka.pc finds the prefix from its own directory (pkg-config's ${pcfiledir}).
set(TCPKA_PKGCONFIG_DIR ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
file(RELATIVE_PATH TCPKA_PREFIX_FROM_PKGCONFIG ${CMAKE_INSTALL_PREFIX}/${TCPKA_PKGCONFIG_DIR}
  ${CMAKE_INSTALL_PREFIX})
string(REGEX REPLACE "/$" "" TCPKA_PREFIX_FROM_PKGCONFIG "${TCPKA_PREFIX_FROM_PKGCONFIG}")
configure_file(cmake/tcpka.pc.in ${PROJECT_BINARY_DIR}/tcpka.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/tcpka.pc DESTINATION ${TCPKA_PKGCONFIG_DIR}
  COMPONENT development)

if(TCPKA_MAN_PAGES)
  install(FILES ${TCPKA_MAN_FILES} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT tools)
endif()

# The systemd unit of `tcpka watch`, pointing at the installed binary. Installed, not
# enabled: `systemctl enable --now tcpka-watch` (deploy/README.md).
set(TCPKA_SYSTEMD_UNIT_DIR lib/systemd/system CACHE STRING
  "Where the systemd unit of tcpka watch is installed (relative to the prefix, or absolute)")
file(READ deploy/tcpka-watch.service TCPKA_WATCH_UNIT)
string(REPLACE "/usr/bin/tcpka" "${CMAKE_INSTALL_FULL_BINDIR}/tcpka" TCPKA_WATCH_UNIT
  "${TCPKA_WATCH_UNIT}")
file(GENERATE OUTPUT ${PROJECT_BINARY_DIR}/tcpka-watch.service CONTENT "${TCPKA_WATCH_UNIT}")
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS deploy/tcpka-watch.service)
install(FILES ${PROJECT_BINARY_DIR}/tcpka-watch.service DESTINATION ${TCPKA_SYSTEMD_UNIT_DIR}
  COMPONENT tools)

# Documentation, and each package's copyright and changelog (Debian wants them in every
# package's own share/doc/PACKAGE/; the libraries' are installed only with their package).
set(TCPKA_CHANGELOG_GZ ${PROJECT_BINARY_DIR}/changelog.gz)
add_custom_command(OUTPUT ${TCPKA_CHANGELOG_GZ}
  COMMAND sh -c "gzip -9n <'${PROJECT_SOURCE_DIR}/packaging/changelog' >'${TCPKA_CHANGELOG_GZ}'"
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
