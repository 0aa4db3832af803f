// `tcpka exec --check`: a program's TCP sockets as the kernel sees them (sock_diag), each
// with whether a keepalive timer runs on it, like the `timer:(keepalive,...)` of `ss -o`.
// LD_PRELOAD does not reach everything (static binaries, raw system calls, io_uring,
// setuid programs); this shows what it did reach instead of leaving the user to believe.
#pragma once

#include <sys/types.h>

#include <string>

#include "tcpka/result.h"

namespace tcpka::tools {

struct SocketCheck {
  int sockets = 0;    // the TCP sockets `pid` holds
  int uncovered = 0;  // established ones with no keepalive timer
  std::string table;  // one row per socket (empty when there are none)
};

// The TCP sockets `pid` holds, in its network namespace (the caller's).
Result<SocketCheck> check_sockets(pid_t pid);

}  // namespace tcpka::tools
