// What serve keeps per connection, in a table indexed by file descriptor.
//
// The table is one anonymous mapping as large as the descriptor limit; the kernel
// commits its pages only as descriptors are used, so holding N connections costs
// N * 65 bytes of memory here (a 64-byte slot and its holder byte), and looking one up
// costs an index. With timers (--idle-timeout, --heartbeat) each connection also has a
// 12-byte key in the workers' deadline wheels, kept in the same mapping: one array that
// every worker's wheel shares, so a connection costs 12 bytes however many workers run.
//
// Sharing rule: a slot belongs to the worker that holds it (try_hold() .. let_go()), and
// only that worker reads or writes it. Other workers may still have the descriptor in a
// timer list after it closed; they ask held_by() first, the one field every thread may
// read, and leave the slot alone when it is not theirs.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

#include "net/compact_address.h"
#include "net/heartbeat_frames.h"
#include "tcpka/deadline_wheel.h"
#include "tcpka/result.h"

namespace tcpka::tools {

// Bytes echoed that the peer has not taken yet. Exists only while a peer lags behind.
struct OutputBuffer {
  std::string bytes;
  std::size_t sent = 0;
  std::uint64_t full_since = 0;  // 0: below its bound; else when it reached it (a Timestamp)

  std::size_t size() const { return bytes.size() - sent; }
};

// Milliseconds since the server started.
using Timestamp = std::uint64_t;

struct Connection {
  enum State : std::uint8_t {
    kOpen = 0,
    kDraining = 1,  // the peer has finished sending; close once our output is out
  };
  // What epoll is told to report for it, so that unchanged interest costs no syscall.
  enum Interest : std::uint8_t { kNone = 0, kInput = 1, kOutput = 2 };

  net::CompactAddress peer;  // 18 bytes
  State state = kOpen;
  std::uint8_t listener = 0;  // which of its worker's listeners accepted it
  std::uint8_t interest = kNone;
  bool reading_paused = false;
  // Framed mode (--heartbeat) only: where the peer's stream is, the last ping it sent
  // (milliseconds since the start, modulo 2^32; 0: none yet), how many came too soon in a
  // row, and whether our own ping waits for the echo to reach the end of a frame.
  std::uint8_t ping_strikes = 0;
  bool ping_owed = false;
  net::FrameReader frames;
  std::uint32_t last_ping_in = 0;
  Timestamp opened = 0;
  Timestamp last_received = 0;
  std::uint64_t bytes_in = 0;
  OutputBuffer* pending = nullptr;  // null unless the peer lags behind

  // An echo server sends back everything it receives: what is out is what came in,
  // less what still waits. Deriving it keeps the slot at 64 bytes. (In framed mode each
  // ping in is a pong out, and each pong in answers a ping out: only pings of ours that
  // went unanswered are missing from it.)
  std::uint64_t bytes_out() const { return bytes_in - (pending == nullptr ? 0 : pending->size()); }
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

  // Takes the free slot of a newly accepted `fd` for `worker` (0..254) and resets it.
  // False if another worker still holds it, which the kernel's descriptor reuse rules
  // out; callers refuse the connection rather than trust that.
  bool try_hold(int fd, int worker);
  // Frees the slot; call before close(fd), after which another worker may take it.
  void let_go(int fd);
  bool held_by(int fd, int worker) const;

  // Precondition: held_by(fd, the calling worker).
  Connection& operator[](int fd) { return slots_[fd]; }

  // The deadline wheels' keys, one per descriptor (see above). A worker's wheel arms
  // only the descriptors it holds, and disarms them before it lets them go.
  DeadlineWheel::KeyNode* wheel_keys() { return wheel_keys_; }

 private:
  ConnectionTable(void* memory, std::size_t capacity);

  std::atomic_ref<std::uint8_t> holder(int fd) const { return std::atomic_ref(holders_[fd]); }

  Connection* slots_;
  std::uint8_t* holders_;  // worker + 1, or 0 for a free slot
  DeadlineWheel::KeyNode* wheel_keys_;
  std::size_t capacity_;
};

}  // namespace tcpka::tools
