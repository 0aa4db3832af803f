// What the shim knows of each descriptor, one atomic byte each, indexed by descriptor:
// hooks on any thread read and write it without a lock or an allocation.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace tcpka::preload {

class SocketMarks {
 public:
  enum Mark : std::uint8_t {
    unknown = 0,    // not seen made (inherited, dup'ed, made before the shim loaded)
    not_tcp,        // UDP, UNIX, raw...: left alone
    tcp_pending,    // TCP, not yet covered: listen() or connect() decides
    applied,        // has the policy
    program_owned,  // the program set keepalive options itself: left as it set them
  };

  // Maps the table (virtual memory only until used). False if mapping fails.
  bool create();

  Mark get(int fd) const;
  void set(int fd, Mark mark);

 private:
  // Descriptors beyond it count as unknown: 2^20 is Linux's default nr_open.
  static constexpr std::size_t kCapacity = std::size_t{1} << 20;
  std::atomic<std::uint8_t>* marks_ = nullptr;
};

}  // namespace tcpka::preload
