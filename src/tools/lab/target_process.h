// Black-box mode: the user's own server, started in the lab's server host. The lab
// cannot see its sockets' errors, only what sock_diag shows from outside.
//
// Its output (stdout and stderr together) goes to an anonymous file in memory that the
// lab reads when it has to say why the target did not do its part: a pipe could fill and
// stop a talkative server, and a file on disk could outlive the lab.
//
// Like the lab's peer it dies with the thread that started it (PR_SET_PDEATHSIG), and it
// leads its own process group, which the lab kills whole when the scenario ends.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "net/net_namespace.h"
#include "net/unique_fd.h"
#include "tcpka/result.h"

namespace tcpka::tools::lab {

class TargetProcess {
 public:
  // Runs `command` with /bin/sh in `ns`, its output kept.
  static Result<TargetProcess> start(const net::NetNamespace& ns, const std::string& command);
  TargetProcess(TargetProcess&& other) noexcept;
  TargetProcess& operator=(TargetProcess&&) = delete;
  ~TargetProcess();  // kills its process group and reaps it

  pid_t pid() const { return pid_; }
  // Its exit status once it exited (128 + the signal when killed; reaps it then), empty
  // while it runs.
  std::optional<int> exit_status();
  bool running() { return !exit_status(); }
  // Its last `count` lines of output so far (fewer if it wrote fewer), each cut to a
  // readable length.
  std::vector<std::string> last_lines(std::size_t count) const;

 private:
  TargetProcess(pid_t pid, net::UniqueFd output) : pid_(pid), output_(std::move(output)) {}
  pid_t pid_;
  net::UniqueFd output_;
  std::optional<int> exit_status_;
};

// "python3 srv.py {port}" with {port} replaced.
std::string expand_target(const std::string& command, std::uint16_t port);

}  // namespace tcpka::tools::lab
