// The program `tcpka exec` runs as its child (with --check, or under BPF enforcement,
// where tcpka must outlive the exec): forked, held at a gate until the parent has put it
// where it belongs (a cgroup), then exec'd; watched through a pidfd.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "net/unique_fd.h"
#include "tcpka/duration.h"
#include "tcpka/result.h"

namespace tcpka::tools {

class LaunchedProgram {
 public:
  // Forks; the child dies with tcpka (PR_SET_PDEATHSIG), unblocks every signal
  // (tcpka's loops block some), waits at the
  // gate until release() (or the parent's death: then it exits without running), and
  // execs `command` searched in PATH. A child that cannot exec exits with code 2.
  static Result<LaunchedProgram> start(const std::vector<std::string>& command);

  // A moved-from program owns no child (its destructor must not kill the one it had).
  LaunchedProgram(LaunchedProgram&& other) noexcept
      : pid_(std::exchange(other.pid_, 0)),
        pidfd_(std::move(other.pidfd_)),
        gate_(std::move(other.gate_)),
        reaped_(other.reaped_) {}
  LaunchedProgram& operator=(LaunchedProgram&&) = delete;
  ~LaunchedProgram();  // a child never released or still running is killed and reaped

  pid_t pid() const { return pid_; }

  // Lets the child exec the program.
  void release();

  // Its exit status (as a shell gives it: 128 + signal) if it exits within `wait`.
  std::optional<int> exited_within(Millis wait);

  // Waits for it to exit; signals read from `signals` (a signalfd, or -1) are passed on
  // to it. Returns its exit status.
  int wait(int signals);

 private:
  LaunchedProgram(pid_t pid, net::UniqueFd pidfd, net::UniqueFd gate)
      : pid_(pid), pidfd_(std::move(pidfd)), gate_(std::move(gate)) {}
  std::optional<int> reap();

  pid_t pid_ = 0;
  net::UniqueFd pidfd_;
  net::UniqueFd gate_;  // the write end: one byte releases the child
  bool reaped_ = false;
};

// The child's exit status as a shell gives it (128 + signal when killed).
int exit_status(int status);

}  // namespace tcpka::tools
