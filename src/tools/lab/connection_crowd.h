// Many connections at once between the lab's client hosts and its server: what the
// lossy-path and mass-crash scenarios watch. The server's ends have the policy (inherited
// from the listener, as a real server's accepted sockets get it); the clients' ends have
// none, so that only the server probes.
//
// The connections are held in shards: child processes of up to kShardSize connections,
// each with both ends of its own, a listener of its own (a port per shard), and an epoll
// that reports every server end that ends, with the kernel's time and its error, over a
// pipe. A process may hold only so many descriptors (RLIMIT_NOFILE, here 20,000 and not
// raisable without CAP_SYS_RESOURCE); shards make 100,000 connections two descriptors
// each possible, and spread the work over the cores.
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
  ConnectionCrowd(ConnectionCrowd&&) noexcept;
  ConnectionCrowd& operator=(ConnectionCrowd&&) = delete;
  ~ConnectionCrowd();  // ends the shards and reaps them: their connections go with them

  // Reads each open end's time since the last segment it received, from the kernel.
  Result<void> take_last_segments();
  // Records every server end that ends, until `deadline` or until `enough()` says so
  // (asked after each batch of ends); false if interrupted.
  Result<bool> watch_until(Clock::time_point deadline, const std::function<bool()>& enough);

  std::span<const Member> members() const { return members_; }
  // The last of the members' last segments: from then on every one is idle.
  Clock::time_point latest_last_segment() const;
  Clock::duration took_to_open() const { return took_to_open_; }

  struct Record;  // what a shard reports (connection_crowd.cpp)

 private:
  struct Shard {
    pid_t pid = -1;
    net::UniqueFd reports;   // the shard's records
    net::UniqueFd commands;  // ours; closed: the shard exits
    std::size_t first = 0;   // its first member
    std::size_t count = 0;
    std::vector<std::byte> partial;  // a record cut by a read
  };

  ConnectionCrowd() = default;
  Result<void> start_shard(const Topology& topology, Host host, int count, const Policy& policy);
  // Reads what the shards reported, waiting up to `timeout`; false when `ready` (asked
  // after each batch) or the timeout came first.
  Result<void> read_reports(std::chrono::milliseconds timeout);
  void take(const Shard& shard, const Record& record);

  std::vector<Shard> shards_;
  std::vector<Member> members_;
  std::vector<std::byte> read_buffer_ = std::vector<std::byte>(std::size_t{64} * 1024);
  std::size_t ready_shards_ = 0;
  std::size_t taken_shards_ = 0;
  Clock::duration took_to_open_{};
  const std::atomic<bool>* stop_ = nullptr;
};

}  // namespace tcpka::tools::lab
