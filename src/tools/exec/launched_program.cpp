#include "exec/launched_program.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>

namespace tcpka::tools {
namespace {

// A child whose parent died before releasing it exits with this, without running.
constexpr int kExitNotReleased = 125;

}  // namespace

int exit_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

Result<LaunchedProgram> LaunchedProgram::start(const std::vector<std::string>& command) {
  int gate[2];
  if (::pipe2(gate, O_CLOEXEC) != 0) return errno_error(errno, "pipe2 failed");
  net::UniqueFd gate_read(gate[0]);
  net::UniqueFd gate_write(gate[1]);
  const pid_t parent = ::getpid();
  const pid_t child = ::fork();
  if (child < 0) return errno_error(errno, "fork failed");
  if (child == 0) {
    // Killed with tcpka, as a program tcpka exec'd in place would be: with BPF its
    // policy goes with tcpka anyway. (Before the gate: a parent that dies early ends it.)
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(kExitNotReleased);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    gate_write.reset();
    char go = 0;
    if (::read(gate_read.get(), &go, 1) != 1) ::_exit(kExitNotReleased);
    std::vector<char*> argv;
    argv.reserve(command.size() + 1);
    for (const std::string& arg : command)
      argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    ::execvp(argv[0], argv.data());
    fmt::print(stderr, "tcpka exec: cannot run {}: {}\n", command[0],
               std::generic_category().message(errno));
    ::_exit(2);
  }
  // The system call itself: glibc 2.36's <sys/pidfd.h> lacks extern "C" for C++.
  net::UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, child, 0)));
  if (!pidfd) {
    const int error = errno;
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    return errno_error(error, "pidfd_open: " + std::generic_category().message(error));
  }
  return LaunchedProgram(child, std::move(pidfd), std::move(gate_write));
}

LaunchedProgram::~LaunchedProgram() {
  if (pid_ <= 0 || reaped_) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
}

void LaunchedProgram::release() {
  const char go = 1;
  [[maybe_unused]] const ssize_t n = ::write(gate_.get(), &go, 1);
  gate_.reset();
}

std::optional<int> LaunchedProgram::reap() {
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) != pid_) return std::nullopt;
  reaped_ = true;
  return exit_status(status);
}

std::optional<int> LaunchedProgram::exited_within(Millis wait) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point deadline = Clock::now() + wait;
  pollfd done{pidfd_.get(), POLLIN, 0};
  while (true) {
    const auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now());
    const int slice = static_cast<int>(std::clamp<Millis::rep>(left.count(), 0, 60'000));
    const int ready = ::poll(&done, 1, slice);
    if (ready < 0 && errno != EINTR) return std::nullopt;
    if (ready > 0) return reap();
    if (ready == 0 && Clock::now() >= deadline) return std::nullopt;
  }
}

int LaunchedProgram::wait(int signals) {
  while (true) {
    pollfd ready[2] = {{pidfd_.get(), POLLIN, 0}, {signals, POLLIN, 0}};
    const int n = ::poll(ready, signals >= 0 ? 2 : 1, -1);
    if (n < 0 && errno != EINTR) break;
    if (n > 0 && (ready[1].revents & POLLIN) != 0) {
      signalfd_siginfo info{};
      while (::read(signals, &info, sizeof(info)) == sizeof(info))
        ::kill(pid_, static_cast<int>(info.ssi_signo));
    }
    if (n > 0 && (ready[0].revents & POLLIN) != 0) {
      if (auto status = reap()) return *status;
      break;  // readable, yet not ours to reap: waitpid below says why
    }
  }
  int raw = 0;
  while (::waitpid(pid_, &raw, 0) < 0 && errno == EINTR) {
  }
  reaped_ = true;
  return exit_status(raw);
}

}  // namespace tcpka::tools
