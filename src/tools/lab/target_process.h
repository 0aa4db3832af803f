// Black-box mode: the user's own server, started in the lab's server host. The lab
// cannot see its sockets' errors, only what sock_diag shows from outside.
//
// Like the lab's peer it dies with the thread that started it (PR_SET_PDEATHSIG), and it
// leads its own process group, which the lab kills whole when the scenario ends.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "net/net_namespace.h"
#include "tcpka/result.h"

namespace tcpka::tools::lab {

class TargetProcess {
 public:
  // Runs `command` with /bin/sh in `ns`, its output discarded.
  static Result<TargetProcess> start(const net::NetNamespace& ns, const std::string& command);
  TargetProcess(TargetProcess&& other) noexcept;
  TargetProcess& operator=(TargetProcess&&) = delete;
  ~TargetProcess();  // kills its process group and reaps it

  pid_t pid() const { return pid_; }
  // Its exit status once it exited (128 + the signal when killed; reaps it then), empty
  // while it runs.
  std::optional<int> exit_status();
  bool running() { return !exit_status(); }

 private:
  explicit TargetProcess(pid_t pid) : pid_(pid) {}
  pid_t pid_;
  std::optional<int> exit_status_;
};

// "python3 srv.py {port}" with {port} replaced.
std::string expand_target(const std::string& command, std::uint16_t port);

}  // namespace tcpka::tools::lab
