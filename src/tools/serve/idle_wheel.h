// Finding connections silent for too long without touching the ones that are not.
//
// A lazy timing wheel: each connection is filed under the tick at which it would time
// out if nothing arrived. Activity does not move it. When its tick comes, the owner
// looks again: a connection that heard from its peer meanwhile is filed under its new
// tick, one that did not has timed out. Each connection costs one int in one bucket and
// is looked at about once per timeout, however busy it is.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "serve/connection_table.h"
#include "tcpka/duration.h"

namespace tcpka::tools {

class IdleWheel {
 public:
  // Precondition: timeout > 0. The tick is timeout / 64, between 10 ms and 1 s (longer
  // for timeouts above an hour): connections time out up to one tick late.
  explicit IdleWheel(Millis timeout);

  Millis tick() const { return Millis(tick_ms_); }
  // No entries: nothing to wake up for.
  bool empty() const { return entries_ == 0; }

  // Files `fd` under the tick of `deadline`, never the tick being processed; returns
  // the bucket, which the connection keeps so that stale entries can be told apart.
  std::uint16_t file(int fd, Timestamp deadline);

  // Calls visit(fd, bucket) for each entry of every tick up to `now`. Entries are
  // removed as visited; the visitor files again what is still alive.
  template <class Visit>
  void advance(Timestamp now, Visit&& visit);

 private:
  std::uint64_t tick_ms_;
  std::uint64_t next_tick_ = 0;  // the first tick not yet processed
  std::size_t entries_ = 0;
  std::vector<std::vector<int>> buckets_;
  std::vector<int> processing_;
};

template <class Visit>
void IdleWheel::advance(Timestamp now, Visit&& visit) {
  const std::uint64_t last = now / tick_ms_;
  // After a long sleep (the loop waits forever while the wheel is empty) one turn of
  // the wheel visits every entry; turning it more would only visit empty buckets.
  if (last >= next_tick_ + buckets_.size()) next_tick_ = last + 1 - buckets_.size();
  for (; next_tick_ <= last; ++next_tick_) {
    const auto bucket = static_cast<std::uint16_t>(next_tick_ % buckets_.size());
    processing_.swap(buckets_[bucket]);
    entries_ -= processing_.size();
    for (int fd : processing_)
      visit(fd, bucket);
    processing_.clear();
  }
}

}  // namespace tcpka::tools
