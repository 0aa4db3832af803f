#include "host/destroy_listener.h"

#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <span>
#include <string>
#include <vector>

#include "net/sock_diag_reply.h"

namespace tcpka::host {
namespace {

// Room for a burst: each announcement is about 300 bytes.
constexpr int kReceiveBuffer = 8 << 20;

Error failure(const char* what) {
  const int error = errno;
  return errno_error(error, std::string("sock_diag destroy groups: ") + what + ": " +
                                std::generic_category().message(error));
}

constexpr unsigned group_bit(unsigned group) {
  return 1U << (group - 1);
}

TcpDeath death_of(const net::TcpSocketEntry& entry, std::uint64_t netns_inode) {
  TcpDeath death;
  death.when = std::chrono::system_clock::now();
  death.local = entry.local;
  death.remote = entry.remote;
  death.netns_inode = netns_inode;
  if (entry.tcp) {
    const TcpState& tcp = *entry.tcp;
    death.probes = tcp.probes;
    death.retransmits = tcp.retransmits;
    death.total_retransmits = tcp.total_retransmits;
    death.unsent_bytes = tcp.notsent_bytes;
    // The peer's last segment: the later of its last data and its last ACK.
    if (tcp.since_data_received && tcp.since_ack_received) {
      death.silent = std::min(*tcp.since_data_received, *tcp.since_ack_received);
    }
  }
  return death;
}

}  // namespace

Result<DestroyListener> DestroyListener::open(const net::NetNamespace& ns, std::uint64_t inode) {
  return net::inside(ns, [inode]() -> Result<DestroyListener> {
    net::UniqueFd socket(
        ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_SOCK_DIAG));
    if (!socket) return failure("socket");
    // Forced past rmem_max where the caller may (CAP_NET_ADMIN), asked for otherwise.
    if (::setsockopt(socket.get(), SOL_SOCKET, SO_RCVBUFFORCE, &kReceiveBuffer,
                     sizeof(kReceiveBuffer)) != 0) {
      ::setsockopt(socket.get(), SOL_SOCKET, SO_RCVBUF, &kReceiveBuffer, sizeof(kReceiveBuffer));
    }
    sockaddr_nl address{};
    address.nl_family = AF_NETLINK;
    address.nl_groups = group_bit(SKNLGRP_INET_TCP_DESTROY) | group_bit(SKNLGRP_INET6_TCP_DESTROY);
    if (::bind(socket.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
      return failure("bind");
    }
    return DestroyListener(std::move(socket), inode);
  });
}

Result<int> DestroyListener::drain(const Visitor& visit) {
  // Aligned as netlink messages are: the parser reads the headers in place.
  alignas(nlmsghdr) static thread_local std::array<std::byte, std::size_t{64} * 1024> buffer;
  int deaths = 0;
  while (true) {
    const ssize_t n = ::recv(socket_.get(), buffer.data(), buffer.size(), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return deaths;
      if (errno == ENOBUFS) {
        ++overruns_;
        continue;
      }
      return failure("recv");
    }
    // The announcements have a dump's shape: the dump's reader parses them (fuzzed).
    std::vector<net::TcpSocketEntry> entries;
    const auto read = net::read_tcp_diag_reply(
        std::span(buffer.data(), static_cast<std::size_t>(n)), 0, 0, entries);
    // A message the parser refuses is a death it cannot name: counted with the losses.
    if (!read) ++overruns_;
    for (const net::TcpSocketEntry& entry : entries) {
      // A listener, a half-open request or an aborted end (its addresses cleared) has
      // no peer: not a connection it can name.
      if (entry.remote.port == 0) continue;
      visit(death_of(entry, inode_));
      ++deaths;
    }
  }
}

}  // namespace tcpka::host
