// Signals for tools that run loops: blocked everywhere and read from a signalfd, so that
// they arrive as events in a loop instead of interrupting it; SIGPIPE never.
#pragma once

#include <signal.h>

#include <initializer_list>

#include "net/unique_fd.h"
#include "tcpka/result.h"

namespace tcpka::tools {

// Blocks `signals` in the calling thread (and in every thread it starts afterwards),
// ignores SIGPIPE (writes use MSG_NOSIGNAL anyway), and returns a non-blocking signalfd
// that reads them.
Result<net::UniqueFd> take_signals(std::initializer_list<int> signals);

}  // namespace tcpka::tools
