#include "cli/event_log.h"

#include <unistd.h>

#include <cerrno>

namespace tcpka::tools {

void EventLog::write(std::string_view lines) {
  if (lines.empty()) return;
  const std::lock_guard lock(mutex_);
  while (!lines.empty()) {
    const ssize_t n = ::write(fd_, lines.data(), lines.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // a closed stdout must not take the server down
    lines.remove_prefix(static_cast<std::size_t>(n));
  }
}

}  // namespace tcpka::tools
