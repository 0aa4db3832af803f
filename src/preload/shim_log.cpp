#include "preload/shim_log.h"

#include <fcntl.h>

namespace tcpka::preload {

void ShimLog::open(const char* path) {
  if (path == nullptr) return;
  // O_CLOEXEC: a program this one execs opens the log again when its shim loads.
  const int fd = ::open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd >= 0) fd_ = fd;
}

}  // namespace tcpka::preload
