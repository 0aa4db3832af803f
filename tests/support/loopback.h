// Real TCP connections over loopback, and ways to make their peer fail.
#pragma once

#include <chrono>
#include <optional>
#include <system_error>

#include "net/endpoint.h"
#include "net/unique_fd.h"
#include "tcpka/duration.h"
#include "tcpka/policy.h"

namespace tcpka::testing {

using Clock = std::chrono::steady_clock;

struct TcpPair {
  net::UniqueFd listener;
  net::UniqueFd client;
  net::UniqueFd server;  // accepted from `listener`
};

// The client's receive buffer: `small` (4 KiB, set before connecting) makes a window
// that the server fills in milliseconds.
enum class ClientWindow { normal, small };

// A listener on `family`'s loopback address and a port the kernel picks, a client
// connected to it, and the server's accepted socket. `listener_policy` is applied to the
// listener before listen(); the accepted socket inherits it. Throws on failure.
TcpPair connect_over_loopback(int family, const std::optional<Policy>& listener_policy = {},
                              ClientWindow window = ClientWindow::normal);

// 127.0.0.1 or ::1, and `port` (0: the kernel picks at bind()).
net::SocketAddress loopback_address(int family, int port);

// A listener (with `policy` applied) on `family`'s loopback and a kernel-picked port.
net::UniqueFd listen_on_loopback(int family, const std::optional<Policy>& policy = {});

int local_port(int fd);

// Makes the kernel drop every segment for `fd` before TCP sees it (a socket filter that
// accepts nothing): to its peer, this end's host has gone silent. Nothing is sent.
void silence(int fd);

// Sends `size` bytes, blocking.
void send_bytes(int fd, std::size_t size);

// Reads exactly `size` bytes, blocking.
void receive_bytes(int fd, std::size_t size);

// How a connection ended, as its owner saw it.
struct Ending {
  Millis after{0};        // since the given start
  std::error_code error;  // empty for end of file
};

// Waits up to `limit` for `fd` to end (read() returning 0 or failing). Empty if it is
// still open when the limit passes.
std::optional<Ending> wait_for_end(int fd, Clock::time_point since, Millis limit);

// Fills the peer's receive window: sends until the kernel reports the peer's window shut
// with nothing in flight and data waiting. Returns the last moment the window was seen
// open: the shut happened after it.
Clock::time_point fill_peer_window(int fd, Millis limit);

}  // namespace tcpka::testing
