// Whether a program waits for work: every thread of it asleep in the kernel (accept,
// epoll_wait, read), as /proc shows. A server that has finished starting up waits, so a
// look at its sockets then sees them all, not the half that existed mid-way.
#pragma once

#include <sys/types.h>

#include <cstdint>

#include "tcpka/result.h"

namespace tcpka::tools {

struct ProgramActivity {
  bool waiting = false;        // every thread sleeping (S) or stopped (T, t)
  std::uint64_t switches = 0;  // context switches of all its threads: grows whenever one ran
  std::uint32_t threads = 0;

  bool operator==(const ProgramActivity&) const = default;
};

// Read from /proc/PID/task/*/status. Two equal readings around a look at the program
// mean that none of its threads ran in between: the look saw one consistent moment.
Result<ProgramActivity> program_activity(pid_t pid);

}  // namespace tcpka::tools
