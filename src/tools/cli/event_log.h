// Lines from several threads onto one stream, whole. Each thread gathers its lines in a
// batch and hands the batch over once per loop turn; a batch is written under a lock,
// so lines never interleave and a busy loop makes one write() per turn, not per line.
#pragma once

#include <mutex>
#include <string>
#include <string_view>

#include "cli/close_event.h"

namespace tcpka::tools {

class EventLog {
 public:
  EventLog(LogFormat format, int fd) : format_(format), fd_(fd) {}

  LogFormat format() const { return format_; }
  bool enabled() const { return format_ != LogFormat::none; }

  // Writes every byte of `lines` (several whole lines); empty batches cost nothing.
  void write(std::string_view lines);

 private:
  LogFormat format_;
  int fd_;
  std::mutex mutex_;
};

}  // namespace tcpka::tools
