#include "preload/socket_marks.h"

#include <sys/mman.h>

namespace tcpka::preload {

bool SocketMarks::create() {
  void* memory = ::mmap(nullptr, kCapacity, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (memory == MAP_FAILED) return false;
  // Zero pages are all `unknown`; a one-byte atomic is a byte.
  static_assert(sizeof(std::atomic<std::uint8_t>) == 1);
  marks_ = static_cast<std::atomic<std::uint8_t>*>(memory);
  return true;
}

SocketMarks::Mark SocketMarks::get(int fd) const {
  if (marks_ == nullptr || fd < 0 || static_cast<std::size_t>(fd) >= kCapacity) return unknown;
  return static_cast<Mark>(marks_[fd].load(std::memory_order_acquire));
}

void SocketMarks::set(int fd, Mark mark) {
  if (marks_ == nullptr || fd < 0 || static_cast<std::size_t>(fd) >= kCapacity) return;
  marks_[fd].store(mark, std::memory_order_release);
}

}  // namespace tcpka::preload
