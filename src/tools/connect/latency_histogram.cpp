#include "connect/latency_histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace tcpka::tools {

// Values below kSubBuckets have a bucket each; above, each power of two [2^k, 2^(k+1))
// is cut into kSubBuckets equal parts.
std::size_t LatencyHistogram::bucket_of(std::uint64_t micros) {
  if (micros < kSubBuckets) return static_cast<std::size_t>(micros);
  const int power = static_cast<int>(std::bit_width(micros)) - 1;  // >= 4
  const int shift = power - 4;                                     // 16 = 2^4 parts per power
  const std::uint64_t part = (micros >> shift) - kSubBuckets;
  const std::size_t bucket = static_cast<std::size_t>((power - 3) * kSubBuckets) + part;
  return std::min(bucket, std::size_t{kSubBuckets * kPowers - 1});
}

std::uint64_t LatencyHistogram::upper_edge(std::size_t bucket) {
  if (bucket < kSubBuckets) return bucket;
  const int power = static_cast<int>(bucket / kSubBuckets) + 3;
  const std::uint64_t part = bucket % kSubBuckets;
  return ((kSubBuckets + part + 1) << (power - 4)) - 1;
}

void LatencyHistogram::record(Micros value) {
  const auto micros = static_cast<std::uint64_t>(std::max<std::int64_t>(value.count(), 0));
  ++buckets_[bucket_of(micros)];
  ++count_;
  max_ = std::max(max_, value);
}

LatencyHistogram::Micros LatencyHistogram::percentile(double fraction) const {
  if (count_ == 0) return Micros(0);
  const auto wanted = static_cast<std::uint64_t>(
      std::ceil(std::clamp(fraction, 0.0, 1.0) * static_cast<double>(count_)));
  std::uint64_t seen = 0;
  for (std::size_t bucket = 0; bucket < buckets_.size(); ++bucket) {
    seen += buckets_[bucket];
    if (seen >= std::max<std::uint64_t>(wanted, 1)) {
      return std::min(Micros(static_cast<std::int64_t>(upper_edge(bucket))), max_);
    }
  }
  return max_;
}

}  // namespace tcpka::tools
