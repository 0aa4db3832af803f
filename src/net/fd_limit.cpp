#include "net/fd_limit.h"

#include <sys/resource.h>

#include <algorithm>
#include <fstream>

namespace tcpka::net {
namespace {

// fs.nr_open: the kernel's ceiling for any process's RLIMIT_NOFILE.
std::uint64_t nr_open() {
  std::ifstream file("/proc/sys/fs/nr_open");
  std::uint64_t value = 0;
  file >> value;
  return value;
}

}  // namespace

FdLimit raise_fd_limit(std::uint64_t wanted) {
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  FdLimit result{limit.rlim_cur, limit.rlim_cur, limit.rlim_max};
  if (limit.rlim_cur >= wanted) return result;

  // Raising the hard limit needs CAP_SYS_RESOURCE; without it this simply fails.
  const std::uint64_t kernel_ceiling = nr_open();
  if (limit.rlim_max < wanted && kernel_ceiling > limit.rlim_max) {
    rlimit raised{limit.rlim_max, std::min<std::uint64_t>(wanted, kernel_ceiling)};
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  result.ceiling = std::max<std::uint64_t>(limit.rlim_max, result.ceiling);
  rlimit soft{std::min<std::uint64_t>(wanted, limit.rlim_max), limit.rlim_max};
  if (::setrlimit(RLIMIT_NOFILE, &soft) == 0) result.now = soft.rlim_cur;
  return result;
}

}  // namespace tcpka::net
