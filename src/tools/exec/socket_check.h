// `tcpka exec --check`: a program's TCP sockets as the kernel sees them (sock_diag), each
// with whether a keepalive timer runs on it, like the `timer:(keepalive,...)` of `ss -o`.
// LD_PRELOAD does not reach everything (static binaries, raw system calls, io_uring,
// setuid programs); this shows what it did reach instead of leaving the user to believe.
#pragma once

#include <sys/types.h>

#include <string>

#include "tcpka/result.h"

namespace tcpka::tools {

// A table of the TCP sockets `pid` holds, ending in a line that counts the uncovered.
Result<std::string> check_sockets(pid_t pid);

}  // namespace tcpka::tools
