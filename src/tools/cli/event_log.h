// Lines from several threads onto one stream, whole, without ever making an event loop
// wait for whoever reads that stream.
//
// Loops hand over batches of whole lines (an append under a short lock, no I/O); one
// writer thread writes them out. A stream that stops taking lines (a pipe nobody reads,
// a terminal on hold) stalls only the writer: the backlog stops growing at kMaxBacklog,
// further lines are dropped and counted, and the count is written once the stream moves
// again. Stopping waits for the backlog at most a deadline, so a stuck stream cannot
// keep the process from exiting either.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "cli/close_event.h"
#include "tcpka/duration.h"

namespace tcpka::tools {

class EventLog {
 public:
  static constexpr std::size_t kMaxBacklog = std::size_t{16} << 20;
  static constexpr Millis kDefaultFlushDeadline{2'000};

  EventLog(LogFormat format, int fd);
  ~EventLog();  // flush(kDefaultFlushDeadline)
  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;

  LogFormat format() const { return format_; }
  bool enabled() const { return format_ != LogFormat::none; }

  // Queues `lines` (whole lines) for the stream; empty batches cost nothing. Lines that
  // would take the backlog beyond kMaxBacklog are dropped and counted.
  void write(std::string_view lines);

  // Writes out what is queued, waiting at most `deadline` for a stuck stream, then stops
  // the writer; later writes are dropped. Returns how many lines were dropped in all.
  std::uint64_t flush(Millis deadline);

 private:
  void write_out();
  std::string_view write_all(std::string_view bytes);
  std::string dropped_line(std::uint64_t lines) const;

  LogFormat format_;
  int fd_;
  std::mutex mutex_;
  std::condition_variable queued_;
  std::string backlog_;                   // guarded by mutex_
  std::uint64_t dropped_unreported_ = 0;  // guarded by mutex_
  std::uint64_t dropped_total_ = 0;       // guarded by mutex_
  bool stopping_ = false;                 // guarded by mutex_
  std::chrono::steady_clock::time_point give_up_at_ = std::chrono::steady_clock::time_point::max();
  std::thread writer_;
};

}  // namespace tcpka::tools
