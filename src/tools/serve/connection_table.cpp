#include "serve/connection_table.h"

#include <sys/mman.h>

#include <cerrno>
#include <utility>

namespace tcpka::tools {
namespace {

// The slots, the wheels' keys (12-byte aligned after 64-byte slots), the holder bytes.
std::size_t mapping_size(std::size_t capacity) {
  return capacity * (sizeof(Connection) + sizeof(DeadlineWheel::KeyNode) + 1);
}

}  // namespace

Result<ConnectionTable> ConnectionTable::create(std::size_t capacity) {
  // Zero-filled pages are a table of free slots: every holder byte is 0.
  void* memory = ::mmap(nullptr, mapping_size(capacity), PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (memory == MAP_FAILED) {
    const int error = errno;
    return errno_error(error, "cannot map a table for " + std::to_string(capacity) +
                                  " connections: " + std::generic_category().message(error));
  }
  return ConnectionTable(memory, capacity);
}

// The slots first (64-byte aligned, as the mapping is), then the wheels' keys (zero
// bytes are unarmed keys), then the holder bytes.
ConnectionTable::ConnectionTable(void* memory, std::size_t capacity)
    : slots_(static_cast<Connection*>(memory)),
      holders_(static_cast<std::uint8_t*>(memory) +
               capacity * (sizeof(Connection) + sizeof(DeadlineWheel::KeyNode))),
      wheel_keys_(reinterpret_cast<DeadlineWheel::KeyNode*>(static_cast<std::uint8_t*>(memory) +
                                                            capacity * sizeof(Connection))),
      capacity_(capacity) {}

ConnectionTable::ConnectionTable(ConnectionTable&& other) noexcept
    : slots_(std::exchange(other.slots_, nullptr)),
      holders_(std::exchange(other.holders_, nullptr)),
      wheel_keys_(std::exchange(other.wheel_keys_, nullptr)),
      capacity_(std::exchange(other.capacity_, 0)) {}

ConnectionTable::~ConnectionTable() {
  if (slots_ != nullptr) ::munmap(slots_, mapping_size(capacity_));
}

bool ConnectionTable::try_hold(int fd, int worker) {
  std::uint8_t free = 0;
  // Acquire: the previous holder's writes to the slot happen before ours.
  if (!holder(fd).compare_exchange_strong(free, static_cast<std::uint8_t>(worker + 1),
                                          std::memory_order_acq_rel)) {
    return false;
  }
  slots_[fd] = Connection{};
  return true;
}

void ConnectionTable::let_go(int fd) {
  slots_[fd] = Connection{};
  holder(fd).store(0, std::memory_order_release);
}

bool ConnectionTable::held_by(int fd, int worker) const {
  return holder(fd).load(std::memory_order_acquire) == worker + 1;
}

}  // namespace tcpka::tools
