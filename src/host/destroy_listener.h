// The fallback of the BPF death watch: the sock_diag destroy multicast groups (what
// `ss -E` reads), which announce every TCP socket of one network namespace as it is
// freed, with its TCP_INFO. They need no capability, but they speak only at the free:
// a connection the kernel ended while its program still holds the socket is announced
// when the program closes it, if ever; and they say nothing of the errno or of who
// closed first (tcp_death.h's cause_of says what can still be told).
#pragma once

#include <cstdint>
#include <functional>

#include "host/tcp_death.h"
#include "net/net_namespace.h"
#include "net/unique_fd.h"
#include "tcpka/result.h"

namespace tcpka::host {

class DestroyListener {
 public:
  using Visitor = std::function<void(const TcpDeath&)>;

  // Joins the IPv4 and IPv6 TCP destroy groups of `ns` (the calling thread enters it
  // for the time of socket()). The socket holds the namespace alive: close the listener
  // when the namespace is gone from everywhere else.
  static Result<DestroyListener> open(const net::NetNamespace& ns, std::uint64_t inode);

  int fd() const { return socket_.get(); }
  std::uint64_t netns_inode() const { return inode_; }

  // Hands every announced death waiting now to `visit`; returns how many there were.
  // An overrun (ENOBUFS: the kernel dropped announcements) is counted, not an error, and
  // so is a datagram the parser refuses.
  Result<int> drain(const Visitor& visit);
  std::uint64_t overruns() const { return overruns_; }

 private:
  DestroyListener(net::UniqueFd socket, std::uint64_t inode)
      : socket_(std::move(socket)), inode_(inode) {}

  net::UniqueFd socket_;
  std::uint64_t inode_ = 0;
  std::uint64_t overruns_ = 0;
};

}  // namespace tcpka::host
