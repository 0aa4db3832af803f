// Round-trip times, counted in log-linear buckets (16 per power of two: within 6.25 %),
// so that a million samples cost the same 4 KiB as ten.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>

namespace tcpka::tools {

class LatencyHistogram {
 public:
  using Micros = std::chrono::microseconds;

  void record(Micros value);
  std::uint64_t count() const { return count_; }
  Micros max() const { return max_; }
  // The value at or below which `fraction` (0..1) of the samples lie, rounded up to its
  // bucket's upper edge. Zero when empty.
  Micros percentile(double fraction) const;

 private:
  static constexpr int kSubBuckets = 16;
  static constexpr int kPowers = 40;  // up to 2^40 us, about 12 days

  static std::size_t bucket_of(std::uint64_t micros);
  static std::uint64_t upper_edge(std::size_t bucket);

  std::array<std::uint64_t, std::size_t{kSubBuckets} * kPowers> buckets_{};
  std::uint64_t count_ = 0;
  Micros max_{0};
};

}  // namespace tcpka::tools
