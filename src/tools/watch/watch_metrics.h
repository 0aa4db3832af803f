// What `tcpka watch --metrics` exposes: deaths by cause and service, established
// connections by keepalive, a histogram of detection times, and every loss counted.
// Label sets are bounded (a host can make a new cgroup or port every second): the first
// `top` services keep their own label, every later one is "other". First come, not
// most counted, because a counter may never go down: a service that left the top N would
// take its counts with it.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "tcpka/close_cause.h"
#include "tcpka/duration.h"

namespace tcpka::tools {

class BoundedLabels {
 public:
  explicit BoundedLabels(std::size_t limit) : limit_(limit) {}
  // `name` while it is among the first `limit` names asked for, else "other".
  const std::string& label(const std::string& name);

 private:
  std::size_t limit_;
  std::unordered_set<std::string> admitted_;
  std::string other_ = "other";
};

// Established connections of one service, as a survey counted them.
struct EstablishedCount {
  std::string service;
  std::string keepalive;  // "on", "off", or "unknown" when the settings could not be read
  std::uint64_t connections = 0;
};

class WatchMetrics {
 public:
  // Upper bounds of the detection-time histogram, in seconds: from a tuned user timeout
  // to the 2 h 11 min of Linux's default keepalive.
  static constexpr std::array<double, 12> kDetectionBuckets{1,   5,   10,   30,   60,   120,
                                                            300, 600, 1800, 3600, 7200, 14400};

  WatchMetrics(std::string source, std::size_t top) : source_(std::move(source)), services_(top) {}

  // A connection that ended; `detection` is the silence before a death the kernel found.
  void count_death(const std::string& service, CloseCause cause, std::optional<Millis> detection);
  // Replaces the established gauge with a new survey's counts (services most connected
  // first, so that the first survey admits the biggest).
  void set_established(std::vector<EstablishedCount> counts);
  void set_lost(std::uint64_t ring_buffer, std::uint64_t netlink_overruns) {
    lost_ring_buffer_ = ring_buffer;
    netlink_overruns_ = netlink_overruns;
  }

  std::uint64_t deaths() const { return deaths_; }

  // The Prometheus text exposition format (version 0.0.4).
  std::string render() const;

 private:
  struct Histogram {
    std::array<std::uint64_t, kDetectionBuckets.size()> buckets{};  // not cumulative
    std::uint64_t count = 0;
    double sum = 0;
  };

  std::string source_;
  BoundedLabels services_;
  std::uint64_t deaths_ = 0;
  std::map<std::pair<std::string, CloseCause>, std::uint64_t> closed_;  // (service, cause)
  std::map<CloseCause, Histogram> detection_;
  std::map<std::pair<std::string, std::string>, std::uint64_t> established_;  // (service, ka)
  std::uint64_t lost_ring_buffer_ = 0;
  std::uint64_t netlink_overruns_ = 0;
};

}  // namespace tcpka::tools
