# Go programs the tests run (included by tests/CMakeLists.txt): programs nobody on the team
# wrote in C++, static binaries that `tcpka exec`'s LD_PRELOAD cannot reach.
#   go_echo_server   data/go_echo_server/main.go; its path is in TCPKA_GO_ECHO_SERVER, for
#                    the tests that run it (as a compile definition)
# The build is offline and touches nothing outside the build tree: the Go toolchain that is
# installed (GOTOOLCHAIN=local, ignored before Go 1.21), no module proxy (GOPROXY=off:
# main.go imports only the standard library), no go env file of the user's (GOENV=off), and
# the build cache under ${CMAKE_BINARY_DIR}/go-cache, never $HOME. CGO_ENABLED=0 makes the
# binary static. The first build compiles the standard library into that cache.
find_program(TCPKA_GO_EXECUTABLE go)
if(NOT TCPKA_GO_EXECUTABLE)
  message(FATAL_ERROR "The tests need the Go compiler `go` (Debian package golang-go), "
    "to build tests/data/go_echo_server. Install it, or pass -DTCPKA_GO_EXECUTABLE=/path/to/go.")
endif()

set(TCPKA_GO_CACHE ${CMAKE_BINARY_DIR}/go-cache)
set(TCPKA_GO_ENV CGO_ENABLED=0 GOCACHE=${TCPKA_GO_CACHE}/build GOPATH=${TCPKA_GO_CACHE}/path
  GOENV=off GOFLAGS= GO111MODULE=on GOWORK=off GOPROXY=off GOTOOLCHAIN=local
  GOTELEMETRY=off)

# The binaries go to go_programs/: a file named like its target, in the target's binary
# directory, would clash with the phony rule Ninja's generator writes for the target.
set(TCPKA_GO_ECHO_SERVER ${CMAKE_CURRENT_BINARY_DIR}/go_programs/go_echo_server)
set(TCPKA_GO_ECHO_SERVER_SOURCE ${CMAKE_CURRENT_LIST_DIR}/data/go_echo_server/main.go)
add_custom_command(OUTPUT ${TCPKA_GO_ECHO_SERVER}
  COMMAND ${CMAKE_COMMAND} -E env ${TCPKA_GO_ENV}
    ${TCPKA_GO_EXECUTABLE} build -trimpath -buildvcs=false -ldflags=-s
    -o ${TCPKA_GO_ECHO_SERVER} ${TCPKA_GO_ECHO_SERVER_SOURCE}
  DEPENDS ${TCPKA_GO_ECHO_SERVER_SOURCE}
  WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}
  COMMENT "Building go_echo_server (Go, static)"
  VERBATIM)
add_custom_target(go_echo_server ALL DEPENDS ${TCPKA_GO_ECHO_SERVER})
