// The shim's lines (TCPKA_DEBUG=1): built in a stack buffer and written with one
// write(2), so that a hook logs without allocating and lines from threads never mix.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <type_traits>

namespace tcpka::preload {

class ShimLog {
 public:
  // Appends to `path`, or writes to stderr when null.
  void open(const char* path);

  template <class... Parts>
  void line(const Parts&... parts) const {
    Buffer buffer;
    buffer.append("tcpka-preload[");
    buffer.append(static_cast<long>(::getpid()));
    buffer.append("]: ");
    (buffer.append(parts), ...);
    buffer.append("\n");
    buffer.write_to(fd_);
  }

  // One line on stderr, at load.
  template <class... Parts>
  static void warn(const Parts&... parts) {
    Buffer buffer;
    (buffer.append(parts), ...);
    buffer.append("\n");
    buffer.write_to(STDERR_FILENO);
  }

 private:
  class Buffer {
   public:
    void append(const char* text) {
      const std::size_t n = std::min(std::strlen(text), sizeof(bytes_) - size_);
      std::memcpy(bytes_ + size_, text, n);
      size_ += n;
    }
    template <class Integer, class = std::enable_if_t<std::is_integral_v<Integer>>>
    void append(Integer value) {
      char digits[24];
      std::size_t n = 0;
      const bool negative = value < 0;
      auto magnitude = negative ? -static_cast<long long>(value) : static_cast<long long>(value);
      do {
        digits[n++] = static_cast<char>('0' + magnitude % 10);
        magnitude /= 10;
      } while (magnitude != 0 && n < sizeof(digits));
      if (negative) append("-");
      while (n > 0 && size_ < sizeof(bytes_))
        bytes_[size_++] = digits[--n];
    }
    void write_to(int fd) const {
      [[maybe_unused]] const ssize_t written = ::write(fd, bytes_, size_);
    }

   private:
    char bytes_[512];
    std::size_t size_ = 0;
  };

  int fd_ = STDERR_FILENO;
};

}  // namespace tcpka::preload
