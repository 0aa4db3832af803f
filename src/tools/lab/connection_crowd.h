// Many connections at once between the lab's client hosts and its server, held by the lab:
// what the lossy-path and mass-crash scenarios watch. The server's ends have the policy
// (inherited from the listener, as a real server's accepted sockets get it); the clients'
// ends have none, so that only the server probes. Every end of the server is watched with
// epoll for the moment it ends, and its error.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "lab/topology.h"
#include "net/unique_fd.h"
#include "tcpka/policy.h"
#include "tcpka/result.h"

namespace tcpka::tools::lab {

class ConnectionCrowd {
 public:
  using Clock = std::chrono::steady_clock;

  struct Member {
    net::UniqueFd server_end;
    Host client = Host::client;
    // The model's origin: when the server's end last received a segment (TCP_INFO).
    Clock::time_point last_segment;
    std::optional<Clock::time_point> ended;
    int error = 0;  // SO_ERROR at the end
  };

  // `per_host` connections from each host of `clients` to the server, over IPv4.
  static Result<ConnectionCrowd> open(const Topology& topology, std::span<const Host> clients,
                                      int per_host, const Policy& policy,
                                      const std::atomic<bool>* stop);

  // Reads each open end's time since the last segment it received, from the kernel.
  Result<void> take_last_segments();
  // Records every server end that ends, until `deadline` or until `enough()` says so
  // (asked after each batch of ends); false if interrupted.
  Result<bool> watch_until(Clock::time_point deadline, const std::function<bool()>& enough);

  std::span<const Member> members() const { return members_; }
  Clock::duration took_to_open() const { return took_to_open_; }

 private:
  ConnectionCrowd() = default;
  Result<void> connect_host(const Topology& topology, Host host, int count, int listener);

  std::vector<Member> members_;
  std::vector<net::UniqueFd> client_ends_;
  net::UniqueFd epoll_;
  Clock::duration took_to_open_{};
  const std::atomic<bool>* stop_ = nullptr;
};

}  // namespace tcpka::tools::lab
