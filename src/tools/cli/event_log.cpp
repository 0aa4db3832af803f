#include "cli/event_log.h"

#include <fmt/core.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <climits>

namespace tcpka::tools {
namespace {

// Line by line with memchr (string_view::find), not byte by byte: a stuck stream makes
// every write() count what it drops, under the lock the loops take, and the writer count
// up to kMaxBacklog at once when it gives up. memchr is vectorized, and a sanitizer checks
// each call as one range instead of each byte (ThreadSanitizer made the byte loop take
// seconds there).
std::uint64_t count_lines(std::string_view lines) {
  std::uint64_t count = 0;
  for (std::size_t at = lines.find('\n'); at != std::string_view::npos;
       at = lines.find('\n', at + 1)) {
    ++count;
  }
  return count;
}

// How long one wait for a stuck stream lasts before the writer looks at its deadline.
constexpr int kPollMs = 100;

}  // namespace

EventLog::EventLog(LogFormat format, int fd)
    : format_(format), fd_(fd), writer_([this] { write_out(); }) {}

EventLog::~EventLog() {
  flush(kDefaultFlushDeadline);
}

void EventLog::write(std::string_view lines) {
  if (lines.empty()) return;
  {
    const std::lock_guard lock(mutex_);
    if (stopping_ || backlog_.size() + lines.size() > kMaxBacklog) {
      dropped_unreported_ += count_lines(lines);
      return;
    }
    backlog_.append(lines);
  }
  queued_.notify_one();
}

std::uint64_t EventLog::flush(Millis deadline) {
  {
    const std::lock_guard lock(mutex_);
    if (!stopping_) {
      stopping_ = true;
      give_up_at_ = std::chrono::steady_clock::now() + deadline;
    }
  }
  queued_.notify_one();
  if (writer_.joinable()) writer_.join();
  const std::lock_guard lock(mutex_);
  return dropped_total_ + dropped_unreported_;
}

// The writer thread: takes the whole backlog at once and writes it without the lock.
void EventLog::write_out() {
  std::string batch;
  std::unique_lock lock(mutex_);
  while (true) {
    queued_.wait(lock, [&] { return !backlog_.empty() || stopping_; });
    if (backlog_.empty()) return;  // stopping, and everything is out
    batch.swap(backlog_);
    // Lines dropped since the last batch are reported before it, where they were lost.
    std::string notice;
    if (dropped_unreported_ != 0) {
      notice = dropped_line(dropped_unreported_);
      dropped_total_ += dropped_unreported_;
      dropped_unreported_ = 0;
    }
    lock.unlock();
    const std::string_view unwritten =
        write_all(notice).empty() ? write_all(batch) : std::string_view(batch);
    lock.lock();
    if (!unwritten.empty()) {
      // The stream is gone or stuck past the deadline: what is left is lost.
      dropped_total_ += count_lines(unwritten) + count_lines(backlog_) + dropped_unreported_;
      dropped_unreported_ = 0;
      backlog_.clear();
      stopping_ = true;
      return;
    }
    batch.clear();
  }
}

// Writes `bytes`, waiting for the stream as long as the process runs and, once it
// stops, until give_up_at_; returns what could not be written. Pieces of at most
// PIPE_BUF bytes after poll() said writable never block on a pipe, so the deadline holds
// even for a blocking stdout, and pieces end at a line's end, so giving up never cuts a
// line in half.
std::string_view EventLog::write_all(std::string_view bytes) {
  while (!bytes.empty()) {
    pollfd ready{fd_, POLLOUT, 0};
    const int polled = ::poll(&ready, 1, kPollMs);
    if (polled < 0 && errno != EINTR) return bytes;
    if (polled <= 0) {
      const std::lock_guard lock(mutex_);
      if (std::chrono::steady_clock::now() >= give_up_at_) return bytes;
      continue;
    }
    if ((ready.revents & (POLLERR | POLLHUP | POLLNVAL)) != 0) return bytes;
    std::string_view piece = bytes.substr(0, PIPE_BUF);
    if (piece.size() < bytes.size()) {
      const std::size_t end_of_line = piece.rfind('\n');
      if (end_of_line != std::string_view::npos) piece = piece.substr(0, end_of_line + 1);
    }
    const ssize_t n = ::write(fd_, piece.data(), piece.size());
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return bytes;  // a closed stdout must not take the program down
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return bytes;
}

std::string EventLog::dropped_line(std::uint64_t lines) const {
  return format_ == LogFormat::json
             ? fmt::format("{{\"event\":\"log_dropped\",\"lines\":{}}}\n", lines)
             : fmt::format("log: {} line(s) dropped: the output did not keep up\n", lines);
}

}  // namespace tcpka::tools
