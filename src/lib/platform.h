// The seam between the portable library and one platform. Each function here is
// defined once per platform, in src/lib/<platform>/; CMake compiles only the files of
// the platform being built, so common code never needs an #ifdef.
//
// Besides these, each platform defines the public platform_limits(),
// read_system_defaults() and read_tcp_state().
#pragma once

#include <span>
#include <system_error>

#include "socket_option.h"
#include "tcpka/policy.h"
#include "tcpka/result.h"
#include "tcpka/socket_options.h"

namespace tcpka::detail {

// Succeeds for an open TCP socket (IPv4 or IPv6); otherwise says what the handle is.
Result<void> check_tcp_socket(NativeSocket socket);

// Sets every field `policy` gives. Preconditions: the policy is valid for this platform,
// its user timeout is not automatic, and check_tcp_socket(socket) succeeded.
Result<Applied> apply_to_socket(NativeSocket socket, const Policy& policy,
                                const ApplyOptions& options);

// Reads what the socket has in force. Precondition: check_tcp_socket succeeded.
Result<PolicyReading> read_from_socket(NativeSocket socket);

// EHOSTDOWN as the platform reports it: an errno on POSIX systems, WSAEHOSTDOWN on
// Windows. (std::errc has no host_down.)
std::error_code host_down_error();

// A socket error as the OS reports it (errno, or WSAGetLastError() in the system
// category) turned into the generic category where it has a generic meaning. POSIX's
// system category already compares equal to std::errc; mingw-w64's libstdc++ 12 does
// not map Winsock's codes, so Windows translates its own.
std::error_code portable_error(std::error_code os_error);

// The reverse, for tests: `condition` as this OS's sockets report it.
std::error_code os_error(std::errc condition);

// The platform's option table, for callers that must set options without allocating
// (the LD_PRELOAD shim, through set_options()).
std::span<const OptionDescriptor> platform_option_table();

}  // namespace tcpka::detail
