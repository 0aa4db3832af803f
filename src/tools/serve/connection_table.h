// What serve keeps per connection, in a table indexed by file descriptor.
//
// The table is one anonymous mapping as large as the descriptor limit; the kernel
// commits its pages only as descriptors are used, so holding N connections costs
// N * 64 bytes of memory here, and looking one up costs an index.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "net/compact_address.h"
#include "tcpka/result.h"

namespace tcpka::tools {

// Bytes echoed that the peer has not taken yet. Exists only while a peer lags behind.
struct OutputBuffer {
  std::string bytes;
  std::size_t sent = 0;

  std::size_t size() const { return bytes.size() - sent; }
};

// Milliseconds since the server started, in 32 bits: durations are right for 49 days.
using Timestamp = std::uint32_t;

struct Connection {
  enum State : std::uint8_t {
    kFree = 0,
    kOpen = 1,
    kDraining = 2,  // the peer has finished sending; close once our output is out
  };

  net::CompactAddress peer;  // 18 bytes
  State state = kFree;
  std::uint8_t owner = 0;     // the worker that accepted it
  std::uint8_t listener = 0;  // which of the worker's listeners
  bool reading_paused = false;
  std::uint16_t idle_bucket = 0;  // where the idle wheel files it
  Timestamp opened = 0;
  Timestamp last_received = 0;
  Timestamp output_full_since = 0;  // 0: output below its bound
  std::uint32_t unused = 0;
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  OutputBuffer* pending = nullptr;  // null unless the peer lags behind
};
static_assert(sizeof(Connection) == 64, "a held connection costs 64 bytes of user memory");

class ConnectionTable {
 public:
  static Result<ConnectionTable> create(std::size_t capacity);
  ConnectionTable(ConnectionTable&& other) noexcept;
  ConnectionTable& operator=(ConnectionTable&&) = delete;
  ConnectionTable(const ConnectionTable&) = delete;
  ~ConnectionTable();

  std::size_t capacity() const { return capacity_; }
  bool holds(int fd) const { return fd >= 0 && static_cast<std::size_t>(fd) < capacity_; }
  // Precondition: holds(fd).
  Connection& operator[](int fd) { return slots_[fd]; }

 private:
  ConnectionTable(Connection* slots, std::size_t capacity) : slots_(slots), capacity_(capacity) {}

  Connection* slots_;
  std::size_t capacity_;
};

}  // namespace tcpka::tools
