#include "serve/idle_wheel.h"

#include <algorithm>

namespace tcpka::tools {

IdleWheel::IdleWheel(Millis timeout) {
  const std::int64_t total = timeout.count();
  // At most 4096 buckets: a day-long timeout gets 21 s ticks rather than 86400 buckets.
  const std::int64_t tick =
      std::max(std::clamp<std::int64_t>(total / 64, 10, 1'000), (total + 4095) / 4096);
  tick_ms_ = static_cast<std::uint64_t>(tick);
  buckets_.resize(static_cast<std::size_t>(total / tick + 2));
}

std::uint16_t IdleWheel::file(int fd, Timestamp deadline) {
  const std::uint64_t tick =
      std::max<std::uint64_t>((deadline + tick_ms_ - 1) / tick_ms_, next_tick_ + 1);
  const auto bucket = static_cast<std::uint16_t>(tick % buckets_.size());
  buckets_[bucket].push_back(fd);
  ++entries_;
  return bucket;
}

}  // namespace tcpka::tools
