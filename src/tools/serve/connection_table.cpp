#include "serve/connection_table.h"

#include <sys/mman.h>

#include <cerrno>
#include <utility>

namespace tcpka::tools {

Result<ConnectionTable> ConnectionTable::create(std::size_t capacity) {
  // Zero-filled pages are a table of free slots: Connection's zero state is kFree.
  void* memory = ::mmap(nullptr, capacity * sizeof(Connection), PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (memory == MAP_FAILED) {
    const int error = errno;
    return errno_error(error, "cannot map a table for " + std::to_string(capacity) +
                                  " connections: " + std::generic_category().message(error));
  }
  return ConnectionTable(static_cast<Connection*>(memory), capacity);
}

ConnectionTable::ConnectionTable(ConnectionTable&& other) noexcept
    : slots_(std::exchange(other.slots_, nullptr)), capacity_(std::exchange(other.capacity_, 0)) {}

ConnectionTable::~ConnectionTable() {
  if (slots_ != nullptr) ::munmap(slots_, capacity_ * sizeof(Connection));
}

}  // namespace tcpka::tools
