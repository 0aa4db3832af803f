#include "lab/target_process.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
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

namespace {

// A lab killed outright (SIGKILL) cannot end the target's process group; the kernel
// kills only the process that PR_SET_PDEATHSIG names, the shell. Debian's dash forks even
// a lone command, which then outlived the lab: a simple command (no shell syntax) is
// exec'd by the shell instead, so that the server is the process the kernel kills. A
// sequence still relies on the lab's own end (see the class comment).
std::string as_shell_command(const std::string& command) {
  const bool simple = command.find_first_of(";&|()<>`$\n\\'\"") == std::string::npos;
  const bool exec_already = command.rfind("exec ", 0) == 0;
  return simple && !exec_already ? "exec " + command : command;
}

}  // namespace

Result<TargetProcess> TargetProcess::start(const net::NetNamespace& ns,
                                           const std::string& command) {
  // The command as the user wrote it, a sequence or a `sleep` first included: the lab ends
  // the whole process group, so the shell need not become the server.
  net::UniqueFd output(::memfd_create("tcpka-lab-target-output", MFD_CLOEXEC));
  if (!output) {
    const int error = errno;
    return errno_error(error, "memfd_create: " + std::generic_category().message(error));
  }
  const std::string shell_command = as_shell_command(command);
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
    const int null = ::open("/dev/null", O_RDONLY);
    if (null >= 0) ::dup2(null, STDIN_FILENO);
    // dup2 clears close-on-exec on the copies; the memfd's own descriptor closes at exec.
    ::dup2(output.get(), STDOUT_FILENO);
    ::dup2(output.get(), STDERR_FILENO);
    ::execl("/bin/sh", "sh", "-c", shell_command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also here: whichever runs first
  return TargetProcess(pid, std::move(output));
}

TargetProcess::TargetProcess(TargetProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      output_(std::move(other.output_)),
      exit_status_(other.exit_status_) {}

std::vector<std::string> TargetProcess::last_lines(std::size_t count) const {
  // The tail is enough: a line longer than this is cut anyway.
  constexpr off_t kTail = off_t{16} * 1024;
  constexpr std::size_t kLineWidth = 200;
  struct stat status {};
  if (!output_ || ::fstat(output_.get(), &status) != 0) return {};
  const off_t from = status.st_size > kTail ? status.st_size - kTail : 0;
  std::string text(static_cast<std::size_t>(status.st_size - from), '\0');
  const ssize_t got = ::pread(output_.get(), text.data(), text.size(), from);
  text.resize(got > 0 ? static_cast<std::size_t>(got) : 0);
  std::vector<std::string> lines;
  std::size_t end = text.size();
  while (end > 0 && lines.size() < count) {
    if (text[end - 1] == '\n' && --end == 0) break;
    const std::size_t begin = text.rfind('\n', end - 1);
    const std::size_t start = begin == std::string::npos ? 0 : begin + 1;
    if (start == 0 && from > 0) break;  // a partial line at the tail's start
    std::string line = text.substr(start, end - start);
    if (line.size() > kLineWidth) line = line.substr(0, kLineWidth) + "...";
    if (!line.empty()) lines.insert(lines.begin(), std::move(line));
    end = start;
  }
  return lines;
}

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
