#include "watch/death_sources.h"

#include <sys/epoll.h>

#include <set>

#include "host/network_namespaces.h"
#include "host/process_table.h"
#include "net/poll_token.h"

namespace tcpka::tools {

Result<DeathSources> DeathSources::open(DeathSourceKind kind, net::Poller& poller,
                                        std::uint32_t token_kind) {
  DeathSources sources;
  sources.token_kind_ = token_kind;
  if (kind == DeathSourceKind::bpf) {
    auto stream = host::TcpDeathStream::open();
    if (!stream) return stream.error();
    sources.stream_.emplace(std::move(*stream));
    if (auto added =
            poller.add(sources.stream_->fd(), EPOLLIN, net::PollToken{token_kind, 0}.packed());
        !added) {
      return added.error();
    }
    return sources;
  }
  (void)sources.rescan(poller);
  if (sources.listeners_.empty()) {
    return errno_error(EPERM, "sock_diag destroy groups: no network namespace could be joined");
  }
  return sources;
}

Result<int> DeathSources::drain(std::uint32_t index, const Visitor& visit) {
  if (stream_) return stream_->drain(visit);
  for (auto& [inode, listener] : listeners_) {
    if (listener.fd() == static_cast<int>(index)) return listener.drain(visit);
  }
  return 0;
}

void DeathSources::drain_all(const Visitor& visit) {
  if (stream_) {
    (void)stream_->drain(visit);
    return;
  }
  for (auto& [inode, listener] : listeners_)
    (void)listener.drain(visit);
}

std::vector<std::string> DeathSources::rescan(net::Poller& poller) {
  std::vector<std::string> joined;
  if (stream_) return joined;
  const auto now = std::chrono::steady_clock::now();
  if (!listeners_.empty() && now - rescanned_at_ < kRescanEvery) return joined;
  rescanned_at_ = now;
  const host::ProcessTable processes = host::read_process_table();
  auto namespaces = host::list_network_namespaces(processes);
  if (!namespaces) return joined;
  std::set<std::uint64_t> present;
  for (const host::NetworkNamespace& ns : *namespaces) {
    present.insert(ns.inode);
    if (listeners_.contains(ns.inode)) continue;
    auto listener = host::DestroyListener::open(ns.handle, ns.inode);
    if (!listener) continue;  // not enterable (setns needs CAP_SYS_ADMIN): left out
    const int fd = listener->fd();
    if (!poller.add(fd, EPOLLIN,
                    net::PollToken{token_kind_, static_cast<std::uint32_t>(fd)}.packed())) {
      continue;
    }
    listeners_.emplace(ns.inode, std::move(*listener));
    joined.push_back(host::label(ns));
  }
  // A listener holds its namespace alive: let go of those that nothing else holds.
  for (auto it = listeners_.begin(); it != listeners_.end();) {
    if (present.contains(it->first)) {
      ++it;
      continue;
    }
    closed_overruns_ += it->second.overruns();
    it = listeners_.erase(it);  // closing the descriptor removes it from the poller
  }
  return joined;
}

std::uint64_t DeathSources::netlink_overruns() const {
  std::uint64_t overruns = closed_overruns_;
  for (const auto& [inode, listener] : listeners_)
    overruns += listener.overruns();
  return overruns;
}

}  // namespace tcpka::tools
