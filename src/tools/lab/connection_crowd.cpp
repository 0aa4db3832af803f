#include "lab/connection_crowd.h"

#include <fmt/core.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

#include "lab/scenario.h"
#include "net/fd_limit.h"
#include "net/listener.h"

namespace tcpka::tools::lab {
namespace {

// Handshakes in flight at once per host: well inside the listener's backlog, so that no
// SYN is dropped and retried a second later.
constexpr int kInFlight = 512;
// How long opening may take: a second per 5,000 connections on a slow machine, plus slack.
constexpr auto kOpenTimeBase = std::chrono::seconds(20);
constexpr int kConnectionsPerSecondAtWorst = 5'000;
constexpr int kEventsPerWait = 1024;
constexpr int kWaitSliceMs = 50;  // Ctrl-C is seen this fast
// Each client host may use every port above the well-known ones (only in its namespace).
constexpr const char* kClientPortRange = "1024 65535";

Error failure(const char* what) {
  const int error = errno;
  return errno_error(error, fmt::format("{}: {}", what, std::generic_category().message(error)));
}

}  // namespace

Result<ConnectionCrowd> ConnectionCrowd::open(const Topology& topology,
                                              std::span<const Host> clients, int per_host,
                                              const Policy& policy,
                                              const std::atomic<bool>* stop) {
  ConnectionCrowd crowd;
  crowd.stop_ = stop;
  const std::uint64_t total = static_cast<std::uint64_t>(per_host) * clients.size();
  const net::FdLimit limit = net::raise_fd_limit(2 * total + 1'024);
  if (limit.now < 2 * total + 1'024) {
    return errno_error(EMFILE, fmt::format("{} connections need {} descriptors; this process may "
                                           "hold {} (ulimit -n)",
                                           total, 2 * total, limit.now));
  }
  crowd.epoll_ = net::UniqueFd(::epoll_create1(EPOLL_CLOEXEC));
  if (!crowd.epoll_) return failure("epoll_create1");
  net::ListenOptions options;
  options.policy = policy;
  auto listener = net::inside(topology.server(), [&] {
    return net::listen_tcp(Topology::address(Host::server, AF_INET, kServerPort), options);
  });
  if (!listener) return listener.error();
  crowd.members_.reserve(total);
  crowd.client_ends_.reserve(total);
  const auto start = Clock::now();
  for (const Host host : clients) {
    if (auto set = net::write_net_sysctl(topology.of(host), "ipv4/ip_local_port_range",
                                         kClientPortRange);
        !set) {
      return set.error();
    }
    if (auto opened = crowd.connect_host(topology, host, per_host, listener->get()); !opened) {
      return opened.error();
    }
  }
  crowd.took_to_open_ = Clock::now() - start;
  return crowd;
}

// Connects `count` sockets from `host`, at most kInFlight handshakes at a time, and takes
// each from the listener as it completes: every accepted one is this host's (one host at
// a time).
Result<void> ConnectionCrowd::connect_host(const Topology& topology, Host host, int count,
                                           int listener) {
  const net::SocketAddress server = Topology::address(Host::server, AF_INET, kServerPort);
  const auto deadline =
      Clock::now() + kOpenTimeBase + std::chrono::seconds(count / kConnectionsPerSecondAtWorst);
  int started = 0;
  int accepted = 0;
  return net::inside(topology.of(host), [&]() -> Result<void> {
    while (accepted < count) {
      if (stop_ != nullptr && stop_->load()) return errno_error(EINTR, "interrupted");
      while (started < count && started - accepted < kInFlight) {
        net::UniqueFd client(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        if (!client) return failure("socket");
        if (::connect(client.get(), server.get(), server.length) != 0 && errno != EINPROGRESS) {
          return failure("connect");
        }
        client_ends_.push_back(std::move(client));
        ++started;
      }
      bool took_any = false;
      while (true) {
        net::UniqueFd end(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
        if (!end) {
          if (errno == EAGAIN || errno == EWOULDBLOCK) break;
          if (errno == EINTR || errno == ECONNABORTED) continue;
          return failure("accept4");
        }
        epoll_event watch{};
        watch.events = EPOLLRDHUP;  // EPOLLERR and EPOLLHUP come anyway
        watch.data.u64 = members_.size();
        if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, end.get(), &watch) != 0) {
          return failure("epoll_ctl");
        }
        members_.push_back(Member{std::move(end), host, {}, {}, 0});
        ++accepted;
        took_any = true;
      }
      if (Clock::now() >= deadline) {
        return errno_error(ETIMEDOUT, fmt::format("only {} of {} connections from the {} host "
                                                  "were established in time",
                                                  accepted, count,
                                                  host == Host::client ? "client" : "second client"));
      }
      if (!took_any) {
        pollfd ready{listener, POLLIN, 0};
        ::poll(&ready, 1, kWaitSliceMs);
      }
    }
    return {};
  });
}

Result<void> ConnectionCrowd::take_last_segments() {
  for (Member& member : members_) {
    if (!member.server_end) continue;
    tcp_info info{};
    socklen_t length = sizeof(info);
    if (::getsockopt(member.server_end.get(), IPPROTO_TCP, TCP_INFO, &info, &length) != 0) {
      return failure("TCP_INFO");
    }
    const auto now = Clock::now();
    // Keepalive's idle clock runs from the later of the last ACK and the last data.
    const std::uint32_t since_ms = std::min(info.tcpi_last_ack_recv, info.tcpi_last_data_recv);
    member.last_segment = now - std::chrono::milliseconds(since_ms);
  }
  return {};
}

Result<bool> ConnectionCrowd::watch_until(Clock::time_point deadline,
                                          const std::function<bool()>& enough) {
  epoll_event events[kEventsPerWait];
  while (!enough()) {
    if (stop_ != nullptr && stop_->load()) return false;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return true;
    const int ready = ::epoll_wait(epoll_.get(), events, kEventsPerWait,
                                   static_cast<int>(std::min<std::int64_t>(left.count() + 1,
                                                                           kWaitSliceMs)));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return failure("epoll_wait");
    const auto now = Clock::now();
    for (int i = 0; i < ready; ++i) {
      Member& member = members_[events[i].data.u64];
      if (!member.server_end) continue;
      socklen_t length = sizeof(member.error);
      ::getsockopt(member.server_end.get(), SOL_SOCKET, SO_ERROR, &member.error, &length);
      member.ended = now;
      ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, member.server_end.get(), nullptr);
      member.server_end.reset();
    }
  }
  return true;
}

}  // namespace tcpka::tools::lab
