// RLIMIT_NOFILE: how many descriptors this process may hold, and raising it.
#pragma once

#include <cstdint>

namespace tcpka::net {

struct FdLimit {
  std::uint64_t before = 0;   // the soft limit found
  std::uint64_t now = 0;      // the soft limit after raising
  std::uint64_t ceiling = 0;  // the most it could be raised to (hard limit, or fs.nr_open)
};

// Raises the soft limit to at least `wanted`, as far as the hard limit allows; with
// CAP_SYS_RESOURCE the hard limit is raised first, up to fs.nr_open. Never lowers it.
FdLimit raise_fd_limit(std::uint64_t wanted);

}  // namespace tcpka::net
