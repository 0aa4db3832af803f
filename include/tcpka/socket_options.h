// Applying a Policy to a socket and reading back what the kernel has in force.
#pragma once

#include <cstdint>

#include "tcpka/policy.h"
#include "tcpka/result.h"

namespace tcpka {

// A socket as the platform names it (as libuv's uv_os_sock_t): an fd on POSIX systems,
// a SOCKET on Windows.
#if defined(_WIN32)
using NativeSocket = std::uintptr_t;
#else
using NativeSocket = int;
#endif

// Applies `policy` to a TCP socket of any state: not yet connected, listening (accepted
// sockets inherit it) or connected. Empty fields keep the socket's current value;
// ut=auto is computed from the idle, interval and count the socket will have.
//
// The policy is validated against the platform's limits before anything is set. Fails on
// anything that is not a TCP socket, naming what it is. When a setsockopt fails midway,
// the fields set before it stay set and the error names the option that failed.
Result<void> apply_policy(NativeSocket socket, const Policy& policy);

// What the kernel has in force on a TCP socket, with the system's defaults filled in for
// fields the socket never set. Every field is filled on Linux; a field a platform cannot
// read back stays empty rather than guessed. A user timeout of zero reads as ut=off.
Result<Policy> read_policy(NativeSocket socket);

}  // namespace tcpka
