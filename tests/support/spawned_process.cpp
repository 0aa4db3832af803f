#include "support/spawned_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <utility>

namespace tcpka::testing {
namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

SpawnedProcess SpawnedProcess::start(const std::vector<std::string>& argv, Options options) {
  int out[2];
  int err[2];
  if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  if (::pipe2(err, O_CLOEXEC) != 0) {
    ::close(out[0]);
    ::close(out[1]);
    throw std::runtime_error("pipe2 failed");
  }
  int in[2] = {-1, -1};
  if (options.input && ::pipe2(in, O_CLOEXEC) != 0) {
    for (const int fd : {out[0], out[1], err[0], err[1]})
      ::close(fd);
    throw std::runtime_error("pipe2 failed");
  }
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const std::string& arg : argv)
    args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);

  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    // The child: only async-signal-safe calls until exec. It dies with the test (even
    // one that crashes before its destructors run), and not after: the parent check
    // covers a parent that died before the request.
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != parent) ::_exit(126);
    ::dup2(out[1], STDOUT_FILENO);
    ::dup2(err[1], STDERR_FILENO);
    if (in[0] >= 0) ::dup2(in[0], STDIN_FILENO);
    if (options.fd_limit) {
      const rlimit limit{*options.fd_limit, *options.fd_limit};
      ::setrlimit(RLIMIT_NOFILE, &limit);
    }
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);
  if (in[0] >= 0) ::close(in[0]);
  ::fcntl(out[0], F_SETFL, O_NONBLOCK);
  ::fcntl(err[0], F_SETFL, O_NONBLOCK);
  return SpawnedProcess(pid, out[0], err[0], in[1]);
}

SpawnedProcess::SpawnedProcess(SpawnedProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      out_(std::exchange(other.out_, -1)),
      err_fd_(std::exchange(other.err_fd_, -1)),
      in_(std::exchange(other.in_, -1)),
      reaped_(other.reaped_),
      status_(other.status_),
      partial_(std::move(other.partial_)),
      lines_(std::move(other.lines_)),
      err_(std::move(other.err_)) {}

SpawnedProcess::~SpawnedProcess() {
  close_input();
  if (pid_ > 0) kill_and_reap();
  if (out_ >= 0) ::close(out_);
  if (err_fd_ >= 0) ::close(err_fd_);
}

void SpawnedProcess::pump(std::chrono::milliseconds wait) {
  pollfd streams[2] = {{out_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
  if (::poll(streams, 2, static_cast<int>(wait.count())) <= 0) return;
  char buffer[8192];
  ssize_t n = 0;
  while (out_ >= 0 && (n = ::read(out_, buffer, sizeof(buffer))) > 0) {
    partial_.append(buffer, static_cast<std::size_t>(n));
    std::size_t newline;
    while ((newline = partial_.find('\n')) != std::string::npos) {
      lines_.push_back(partial_.substr(0, newline));
      partial_.erase(0, newline + 1);
    }
  }
  while (err_fd_ >= 0 && (n = ::read(err_fd_, buffer, sizeof(buffer))) > 0) {
    err_.append(buffer, static_cast<std::size_t>(n));
  }
}

std::optional<std::string> SpawnedProcess::wait_for_line(std::string_view needle,
                                                         std::chrono::milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  std::size_t checked = 0;
  while (true) {
    for (; checked < lines_.size(); ++checked) {
      if (lines_[checked].find(needle) != std::string::npos) return lines_[checked];
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return std::nullopt;
    pump(std::min(left, std::chrono::milliseconds(50)));
  }
}

bool SpawnedProcess::wait_for_error(std::string_view needle, std::chrono::milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  while (err_.find(needle) == std::string::npos) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pump(std::min(left, std::chrono::milliseconds(50)));
  }
  return true;
}

void SpawnedProcess::write_input(std::string_view text) {
  if (in_ < 0) throw std::logic_error("write_input: started without Options::input");
  // A child that exited must fail the write (EPIPE), not kill the test with SIGPIPE.
  ::signal(SIGPIPE, SIG_IGN);
  while (!text.empty()) {
    const ssize_t n = ::write(in_, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw std::runtime_error(std::string("write_input: ") + std::strerror(errno));
    text.remove_prefix(static_cast<std::size_t>(n));
  }
}

void SpawnedProcess::close_input() {
  if (in_ >= 0) ::close(std::exchange(in_, -1));
}

void SpawnedProcess::signal(int number) const {
  if (pid_ > 0 && !reaped_) ::kill(pid_, number);
}

std::optional<int> SpawnedProcess::wait_exit(std::chrono::milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  while (!reaped_) {
    const pid_t done = ::waitpid(pid_, &status_, WNOHANG);
    if (done == pid_) {
      reaped_ = true;
      break;
    }
    if (Clock::now() >= deadline) {
      kill_and_reap();
      return std::nullopt;
    }
    pump(std::chrono::milliseconds(20));
  }
  pump(std::chrono::milliseconds(0));
  if (!partial_.empty()) {
    lines_.push_back(partial_);
    partial_.clear();
  }
  return WIFEXITED(status_) ? std::optional<int>(WEXITSTATUS(status_)) : std::nullopt;
}

void SpawnedProcess::kill_and_reap() {
  if (reaped_) return;
  ::kill(pid_, SIGKILL);
  while (::waitpid(pid_, &status_, 0) < 0 && errno == EINTR) {
  }
  reaped_ = true;
}

std::chrono::milliseconds SpawnedProcess::cpu_time() const {
  std::ifstream stat("/proc/" + std::to_string(pid_) + "/stat");
  std::string content((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  // Fields after the command name (which may hold spaces) start after the last ')'.
  std::size_t position = content.rfind(')');
  if (position == std::string::npos) return std::chrono::milliseconds(0);
  std::istringstream fields(content.substr(position + 2));
  std::string field;
  unsigned long long utime = 0;
  unsigned long long stime = 0;
  for (int index = 3; fields >> field; ++index) {
    if (index == 14) utime = std::stoull(field);
    if (index == 15) {
      stime = std::stoull(field);
      break;
    }
  }
  const long ticks = ::sysconf(_SC_CLK_TCK);
  return std::chrono::milliseconds((utime + stime) * 1000 / static_cast<unsigned long long>(ticks));
}

std::uint64_t SpawnedProcess::resident_bytes() const {
  std::ifstream status("/proc/" + std::to_string(pid_) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}

}  // namespace tcpka::testing
