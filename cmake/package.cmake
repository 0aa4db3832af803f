# The Debian packages, made by CPack's DEB generator from the install components
# (cmake/install.cmake): `./dev package`, or `cpack` in a build configured with the prefix
# /usr. The dependencies are what dpkg-shlibdeps finds the binaries linked against; the
# library package carries a shlibs file for the packages that link it.
set(TCPKA_MAINTAINER "tcpka maintainers <maintainers@users.noreply.h-seed-9ea0186a.example>")

# The version in packaging/changelog is the package's: a release bumps both.
file(STRINGS packaging/changelog TCPKA_CHANGELOG_HEAD LIMIT_COUNT 1)
if(NOT TCPKA_CHANGELOG_HEAD MATCHES "^tcpka \\(${PROJECT_VERSION}\\) ")
  message(FATAL_ERROR "tcpka: packaging/changelog begins with '${TCPKA_CHANGELOG_HEAD}', "
    "not version ${PROJECT_VERSION}: give the release a changelog entry")
endif()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME tcpka)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${TCPKA_MAINTAINER}")
set(CPACK_PACKAGE_DIRECTORY ${PROJECT_BINARY_DIR}/packages)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL tools runtime development)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

set(CPACK_DEBIAN_TOOLS_PACKAGE_NAME tcpka)
set(CPACK_DEBIAN_TOOLS_PACKAGE_SECTION net)
set(CPACK_DEBIAN_TOOLS_DESCRIPTION "find dead TCP peers, prove it, and say how long it took
A TCP connection can stay established for days after its peer is gone: the
host crashed, rebooted, lost its cable, or sits behind a NAT that forgot the
flow. tcpka sets keepalive and the user timeout right, predicts what they do,
and checks the prediction against the kernel:
 - tcpka policy: what a keepalive policy does on this host;
 - tcpka serve, tcpka connect: an echo server and client that find dead peers;
 - tcpka lab: every way a peer dies, reproduced in private namespaces;
 - tcpka exec: keepalive for a program that never asked for it (LD_PRELOAD);
 - tcpka inspect, tcpka watch: every socket of the host and every death;
 - tcpka enforce: keepalive for every process of a cgroup (eBPF).
The systemd unit tcpka-watch.service is installed, not enabled.")

set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME libtcpka${TCPKA_SOVERSION})
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SECTION libs)
# The shlibs file for the packages that link libtcpka. CPack's switch is global: it warns
# that tcpka's shim has no SONAME, which it needs none of (loaded by path, never linked).
# ldconfig runs from dpkg's trigger, as Debian policy (8.1.1) asks; CPack also calls it
# from the maintainer scripts it writes, which lintian points out with a warning.
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")
set(CPACK_DEBIAN_RUNTIME_PACKAGE_CONTROL_EXTRA ${PROJECT_SOURCE_DIR}/packaging/libtcpka/triggers)
set(CPACK_DEBIAN_RUNTIME_DESCRIPTION "keepalive and dead-peer detection for TCP sockets (library)
libtcpka sets and reads back keepalive and the user timeout on any TCP
socket, knows the host's defaults, predicts how long finding a dead peer
takes in each kind of failure, and classifies why a connection died.")

set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_NAME libtcpka-dev)
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_DEPENDS
  "libtcpka${TCPKA_SOVERSION} (= ${PROJECT_VERSION})")
set(CPACK_DEBIAN_DEVELOPMENT_DESCRIPTION "keepalive and dead-peer detection for TCP sockets (development files)
The headers of libtcpka, its static library, its CMake package (find_package
(tcpka CONFIG) gives tcpka::tcpka) and its pkg-config file (tcpka.pc). The
headers need C++20.")

include(CPack)
