// How many connections each peer address holds, shared by the workers.
#pragma once

#include <cstdint>
#include <mutex>
#include <unordered_map>

#include "net/compact_address.h"

namespace tcpka::tools {

class PerIpLimiter {
 public:
  explicit PerIpLimiter(std::uint32_t limit) : limit_(limit) {}

  bool enabled() const { return limit_ != 0; }
  // Counts one more connection from `ip`, unless it already holds `limit`.
  bool admit(const net::CompactIp& ip);
  void release(const net::CompactIp& ip);

 private:
  std::uint32_t limit_;
  std::mutex mutex_;
  std::unordered_map<net::CompactIp, std::uint32_t, net::CompactIpHash> counts_;
};

}  // namespace tcpka::tools
