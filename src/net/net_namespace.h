// Network namespaces without names: each one lives exactly as long as a descriptor of
// this process refers to it (or a socket, or a process inside it), so that nothing a
// lab made can outlive the lab, even when it is killed (DESIGN.md, "The lab").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "net/unique_fd.h"
#include "tcpka/result.h"

namespace tcpka::net {

class NetNamespace {
 public:
  // A new, empty namespace (only a down `lo`). The calling thread stays where it was.
  static Result<NetNamespace> create();
  // The calling thread's own namespace.
  static Result<NetNamespace> current();
  // The namespace an nsfs file names: /proc/PID/ns/net, or one mounted in /run/netns.
  static Result<NetNamespace> open(const std::string& path);

  int fd() const { return fd_.get(); }
  // Its identity on this host: the inode of its nsfs file (what `ip netns identify` and
  // `lsns` compare).
  std::uint64_t inode() const;

 private:
  friend class InNamespace;  // holds an empty one when it had nothing to do
  explicit NetNamespace(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

// Moves the calling thread into `ns` and back when it goes out of scope (nothing to do,
// and no privilege needed, when it is there already). Sockets,
// netlink and packet sockets opened meanwhile belong to `ns` for good, and /proc/sys/net
// shows `ns`'s settings; other threads are not affected.
class InNamespace {
 public:
  static Result<InNamespace> enter(const NetNamespace& ns);
  InNamespace(InNamespace&& other) noexcept : home_(std::move(other.home_)) {}
  InNamespace& operator=(InNamespace&&) = delete;
  ~InNamespace();

 private:
  explicit InNamespace(NetNamespace home) : home_(std::move(home)) {}
  NetNamespace home_;
};

// Runs fn() inside `ns`; returns its Result (fn must return a Result<T>).
template <class Fn>
auto inside(const NetNamespace& ns, Fn&& fn) -> decltype(fn()) {
  auto entered = InNamespace::enter(ns);
  if (!entered) return entered.error();
  return fn();
}

// Writes `value` to /proc/sys/net/<name> ("ipv4/tcp_retries2") of `ns`. Refuses, with
// EPERM, the namespace this process started in: tcpka never changes the host's sysctls.
Result<void> write_net_sysctl(const NetNamespace& ns, std::string_view name,
                              std::string_view value);

// Gives this process a network namespace of its own, so that it can never touch the
// host's network; without root, first a user namespace in which it is root. Call before
// starting any thread (a user namespace takes only a single-threaded process).
// Fails with EPERM (and a line saying what is missing) when the kernel refuses.
Result<void> isolate_process_network();

}  // namespace tcpka::net
