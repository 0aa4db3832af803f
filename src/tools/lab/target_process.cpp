#include "lab/target_process.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace tcpka::tools::lab {

std::string expand_target(const std::string& command, std::uint16_t port) {
  std::string expanded = command;
  const std::string placeholder = "{port}";
  for (std::size_t at = expanded.find(placeholder); at != std::string::npos;
       at = expanded.find(placeholder, at)) {
    expanded.replace(at, placeholder.size(), std::to_string(port));
  }
  return expanded;
}

Result<TargetProcess> TargetProcess::start(const net::NetNamespace& ns,
                                           const std::string& command) {
  // The command as the user wrote it, a sequence or a `sleep` first included: the lab ends
  // the whole process group, so the shell need not become the server.
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int error = errno;
    return errno_error(error, "fork: " + std::generic_category().message(error));
  }
  if (pid == 0) {
    // System calls only until exec: the lab is multithreaded.
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != parent) ::_exit(1);
    ::setpgid(0, 0);
    if (::setns(ns.fd(), CLONE_NEWNET) != 0) ::_exit(2);
    const int null = ::open("/dev/null", O_RDWR);
    if (null >= 0) {
      ::dup2(null, STDIN_FILENO);
      ::dup2(null, STDOUT_FILENO);
      ::dup2(null, STDERR_FILENO);
    }
    ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also here: whichever runs first
  return TargetProcess(pid);
}

TargetProcess::TargetProcess(TargetProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), exit_status_(other.exit_status_) {}

std::optional<int> TargetProcess::exit_status() {
  if (exit_status_) return exit_status_;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  return exit_status_;
}

TargetProcess::~TargetProcess() {
  if (pid_ <= 0) return;
  ::kill(-pid_, SIGKILL);
  ::kill(pid_, SIGKILL);
  if (exit_status_) return;
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
}

}  // namespace tcpka::tools::lab
