// What a sock_diag dump's replies say, read from the bytes the kernel sent: apart from
// the socket I/O (sock_diag.cpp) so that it can be tested and fuzzed on bytes alone.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <vector>

#include "net/sock_diag.h"
#include "tcpka/result.h"

namespace tcpka::net {

// One SOCK_DIAG_BY_FAMILY message's payload (an inet_diag_msg, then attributes) as an
// entry. Empty when it is too short for an inet_diag_msg or its family is neither
// AF_INET nor AF_INET6: not what a TCP dump request gets back.
std::optional<TcpSocketEntry> parse_tcp_diag_message(std::span<const std::byte> payload);

// Whether a dump's reply ended (NLMSG_DONE) or more is to come.
enum class DumpProgress { more, done };

// Appends the sockets of one recvfrom() of a dump (one or more netlink messages, from a
// buffer aligned as recvfrom gets it) to `entries`. `sequence` and `port` are the
// request's (0: not checked). Fails (the errno in the code) on a netlink error message,
// a dump that ends with an error, a message of another request, an interrupted dump, or
// a message parse_tcp_diag_message refuses.
Result<DumpProgress> read_tcp_diag_reply(std::span<const std::byte> reply, unsigned sequence,
                                         unsigned port, std::vector<TcpSocketEntry>& entries);

}  // namespace tcpka::net
