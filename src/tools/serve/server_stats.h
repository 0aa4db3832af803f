// What serve counts: per worker, each worker's counters on their own cache lines, summed
// when someone asks (the summary, SIGHUP, the metrics endpoint).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "tcpka/close_cause.h"

namespace tcpka::tools {

struct alignas(64) WorkerCounters {
  std::atomic<std::uint64_t> accepted{0};
  std::atomic<std::uint64_t> closed{0};
  std::array<std::atomic<std::uint64_t>, kCloseCauseCount> closed_by_cause{};
  std::atomic<std::uint64_t> bytes_in{0};
  std::atomic<std::uint64_t> bytes_out{0};
  std::atomic<std::uint64_t> refused_max_conns{0};
  std::atomic<std::uint64_t> refused_per_ip{0};
  std::atomic<std::uint64_t> dropped_out_of_fds{0};  // accepted and closed at once (EMFILE)
  std::atomic<std::uint64_t> accept_errors{0};       // accept4() failures of other kinds
  std::atomic<std::uint64_t> pings_received{0};      // --heartbeat: the peers' pings
  std::atomic<std::uint64_t> pings_sent{0};          // --heartbeat: ours

  void count(std::atomic<std::uint64_t>& counter, std::uint64_t n = 1) {
    counter.fetch_add(n, std::memory_order_relaxed);
  }
};

// A consistent-enough sum of every worker's counters.
struct ServerTotals {
  std::uint64_t accepted = 0;
  std::uint64_t closed = 0;
  std::array<std::uint64_t, kCloseCauseCount> closed_by_cause{};
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  std::uint64_t refused_max_conns = 0;
  std::uint64_t refused_per_ip = 0;
  std::uint64_t dropped_out_of_fds = 0;
  std::uint64_t accept_errors = 0;
  std::uint64_t pings_received = 0;
  std::uint64_t pings_sent = 0;
  std::vector<std::uint64_t> accepted_by_worker;  // how SO_REUSEPORT spread the load

  std::uint64_t open() const { return accepted - closed; }

  static ServerTotals sum(std::span<const WorkerCounters> workers);
};

// "served 12 connections (3 open); closed: peer_closed 8, keepalive_timeout 1; ..."
std::string render_summary(const ServerTotals& totals);
std::string render_summary_json(const ServerTotals& totals);  // one line

// The Prometheus text exposition format (version 0.0.4).
std::string render_prometheus(const ServerTotals& totals);

}  // namespace tcpka::tools
