// Shutting a peer's receive window on purpose: the state in which only window probes,
// and TCP_USER_TIMEOUT, can find out that the peer is gone.
#pragma once

#include <chrono>

#include "tcpka/duration.h"
#include "tcpka/result.h"

namespace tcpka::net {

// Sends on `fd` until the kernel reports the peer's window shut with nothing in flight
// and data waiting (the peer must not be reading). Returns the last moment the window
// was seen open: the shut happened after it, so times measured from it are never too
// short. Leaves `fd`'s blocking mode as it was.
Result<std::chrono::steady_clock::time_point> fill_peer_window(int fd, Millis limit);

}  // namespace tcpka::net
