// Applying a Policy to a socket and reading back what the kernel has in force.
#pragma once

#include "tcpka/native_socket.h"
#include "tcpka/policy.h"
#include "tcpka/result.h"

namespace tcpka {

// Applies `policy` to a TCP socket of any state: not yet connected, listening (accepted
// sockets inherit it) or connected. Empty fields keep the socket's current value;
// ut=auto is computed from the idle, interval and count the socket will have.
//
// The policy is validated against the platform's limits before anything is set. Fails on
// anything that is not a TCP socket, naming what it is. When a setsockopt fails midway,
// the fields set before it stay set and the error names the option that failed.
Result<void> apply_policy(NativeSocket socket, const Policy& policy);

// What the kernel has in force on a TCP socket, including the system's defaults for the
// fields the socket never set. (Linux reads every field back; a platform that cannot
// will say so in its own error rather than guess.)
Result<ResolvedPolicy> read_policy(NativeSocket socket);

}  // namespace tcpka
