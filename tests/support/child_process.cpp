#include "support/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace tcpka::testing {
namespace {

struct Pipe {
  int read_end = -1;
  int write_end = -1;
};

Pipe make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  return {fds[0], fds[1]};
}

}  // namespace

ProcessResult run_process(const std::vector<std::string>& argv, std::chrono::milliseconds limit) {
  Pipe out = make_pipe();
  Pipe err;
  try {
    err = make_pipe();
  } catch (...) {
    ::close(out.read_end);
    ::close(out.write_end);
    throw;
  }
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const std::string& arg : argv)
    args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);

  // fork and exec rather than posix_spawn, so that the child can ask to die with the
  // test (even one that crashes); a close-on-exec pipe carries exec's errno back.
  Pipe exec_error;
  try {
    exec_error = make_pipe();
  } catch (...) {
    for (const int fd : {out.read_end, out.write_end, err.read_end, err.write_end})
      ::close(fd);
    throw;
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    // Only async-signal-safe calls until exec. The parent check covers a parent that
    // died before the request.
    int error = 0;
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != parent) {
      error = ECHILD;
    } else if (::dup2(out.write_end, STDOUT_FILENO) < 0 ||
               ::dup2(err.write_end, STDERR_FILENO) < 0) {
      error = errno;
    } else {
      ::execv(args[0], args.data());
      error = errno;
    }
    [[maybe_unused]] const ssize_t n = ::write(exec_error.write_end, &error, sizeof(error));
    ::_exit(127);
  }
  const int fork_error = errno;
  ::close(out.write_end);
  ::close(err.write_end);
  ::close(exec_error.write_end);
  int spawned = pid < 0 ? fork_error : 0;
  if (pid > 0) {
    ssize_t n;
    while ((n = ::read(exec_error.read_end, &spawned, sizeof(spawned))) < 0 && errno == EINTR) {
    }
    if (n != static_cast<ssize_t>(sizeof(spawned))) spawned = 0;  // closed by a good exec
  }
  ::close(exec_error.read_end);
  if (spawned != 0) {
    if (pid > 0) {
      while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
      }
    }
    ::close(out.read_end);
    ::close(err.read_end);
    throw std::runtime_error(argv[0] + ": cannot run: " + std::strerror(spawned));
  }

  ProcessResult result;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  std::array<pollfd, 2> streams{{{out.read_end, POLLIN, 0}, {err.read_end, POLLIN, 0}}};
  std::array<std::string*, 2> sinks{&result.out, &result.err};
  int open_streams = 2;
  while (open_streams > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      ::kill(pid, SIGKILL);
      result.timed_out = true;
      break;
    }
    if (::poll(streams.data(), streams.size(), static_cast<int>(left.count())) < 0) {
      if (errno == EINTR) continue;
      ::kill(pid, SIGKILL);  // cannot watch it any more: never leave it running
      break;
    }
    for (std::size_t i = 0; i < streams.size(); ++i) {
      if (streams[i].fd < 0 || streams[i].revents == 0) continue;
      char buffer[4096];
      const ssize_t n = ::read(streams[i].fd, buffer, sizeof(buffer));
      if (n > 0) {
        sinks[i]->append(buffer, static_cast<std::size_t>(n));
      } else {
        ::close(streams[i].fd);
        streams[i].fd = -1;
        --open_streams;
      }
    }
  }
  for (const pollfd& stream : streams) {
    if (stream.fd >= 0) ::close(stream.fd);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

}  // namespace tcpka::testing
