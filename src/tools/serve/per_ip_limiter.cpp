#include "serve/per_ip_limiter.h"

namespace tcpka::tools {

bool PerIpLimiter::admit(const net::CompactIp& ip) {
  const std::lock_guard lock(mutex_);
  std::uint32_t& count = counts_[ip];
  if (count >= limit_) return false;
  ++count;
  return true;
}

void PerIpLimiter::release(const net::CompactIp& ip) {
  const std::lock_guard lock(mutex_);
  const auto found = counts_.find(ip);
  if (found == counts_.end()) return;
  if (--found->second == 0) counts_.erase(found);
}

}  // namespace tcpka::tools
