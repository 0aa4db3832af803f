// Where tcpka watch learns of deaths: the BPF death stream (one ring buffer for the
// whole host), or, where BPF cannot run, a sock_diag destroy listener in every network
// namespace, kept in step with the namespaces as they come and go.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "host/destroy_listener.h"
#include "host/tcp_death_stream.h"
#include "net/poller.h"
#include "tcpka/duration.h"
#include "tcpka/result.h"

namespace tcpka::tools {

enum class DeathSourceKind { bpf, sock_diag };

class DeathSources {
 public:
  using Visitor = std::function<void(const host::TcpDeath&)>;

  // `kind` is bpf or sock_diag; `token_kind` is the net::PollToken kind its descriptors
  // are registered with (the index tells them apart).
  static Result<DeathSources> open(DeathSourceKind kind, net::Poller& poller,
                                   std::uint32_t token_kind);

  DeathSourceKind kind() const {
    return stream_ ? DeathSourceKind::bpf : DeathSourceKind::sock_diag;
  }
  const char* name() const { return stream_ ? "bpf" : "sock_diag"; }
  // How many network namespaces are listened to (sock_diag), 0 for BPF (all at once).
  std::size_t namespaces() const { return listeners_.size(); }

  // The descriptor registered with `index` is readable.
  Result<int> drain(std::uint32_t index, const Visitor& visit);
  // Every source, whatever is readable (before exiting).
  void drain_all(const Visitor& visit);

  // sock_diag: opens listeners in namespaces that appeared and closes those of
  // namespaces that are gone, at most once per kRescanEvery; returns the labels of the
  // namespaces joined ("pid 4242", a /run/netns name). Nothing to do for BPF.
  std::vector<std::string> rescan(net::Poller& poller);
  static constexpr Millis kRescanEvery{2'000};

  std::uint64_t lost_ring_buffer() const { return stream_ ? stream_->lost() : 0; }
  std::uint64_t netlink_overruns() const;

 private:
  DeathSources() = default;

  std::uint32_t token_kind_ = 0;
  std::optional<host::TcpDeathStream> stream_;
  // sock_diag: by namespace inode; the poll index is the descriptor.
  std::unordered_map<std::uint64_t, host::DestroyListener> listeners_;
  std::uint64_t closed_overruns_ = 0;  // of listeners closed since
  std::chrono::steady_clock::time_point rescanned_at_{};
};

}  // namespace tcpka::tools
