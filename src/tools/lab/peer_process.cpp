#include "lab/peer_process.h"

#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <utility>

#include "net/heartbeat_frames.h"

namespace tcpka::tools::lab {
namespace {

// The child, between fork() and _exit(): system calls only (the lab is multithreaded,
// so nothing that could take a lock another thread held at fork time).
// Answers every ping of the server's with a pong, whatever else comes; ends with the
// connection. Every other pong waits `delay` first. read_frames allocates nothing and
// takes no lock: safe after fork().
[[noreturn]] void answer_pings(int fd, Millis delay) {
  const timespec wait{static_cast<time_t>(delay.count() / 1000),
                      static_cast<long>(delay.count() % 1000) * 1'000'000};
  unsigned answered = 0;
  net::FrameReader reader;
  const std::string_view pong = net::control_frame(net::FrameType::pong);
  char buffer[4096];
  while (true) {
    const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n == 0) ::_exit(0);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::_exit(5);
    }
    int pongs = 0;
    const auto status = net::read_frames(
        reader, std::string_view(buffer, static_cast<std::size_t>(n)), [](std::string_view) {},
        [&] { ++pongs; }, [] {});
    if (status != net::FrameStatus::ok) ::_exit(6);
    for (; pongs > 0; --pongs) {
      if (delay.count() > 0 && answered++ % 2 == 1) {
        timespec left = wait;
        while (::nanosleep(&left, &left) != 0 && errno == EINTR) {
        }
      }
      if (::send(fd, pong.data(), pong.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(pong.size())) {
        ::_exit(7);
      }
    }
  }
}

[[noreturn]] void run_peer(pid_t parent, int ns, const net::SocketAddress& server,
                           std::string_view first_bytes, bool pings, Millis pong_delay) {
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != parent) ::_exit(1);
  ::prctl(PR_SET_NAME, kPeerProcessName);
  if (::setns(ns, CLONE_NEWNET) != 0) ::_exit(2);
  const int fd = ::socket(server.family(), SOCK_STREAM, 0);
  if (fd < 0 || ::connect(fd, server.get(), server.length) != 0) ::_exit(3);
  for (std::size_t sent = 0; sent < first_bytes.size();) {
    const ssize_t n =
        ::send(fd, first_bytes.data() + sent, first_bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) ::_exit(4);
    sent += static_cast<std::size_t>(n);
  }
  if (pings) answer_pings(fd, pong_delay);
  while (true)
    ::pause();
}

}  // namespace

Result<PeerProcess> PeerProcess::start(const net::NetNamespace& ns,
                                       const net::SocketAddress& server,
                                       std::string_view first_bytes, bool answer_pings,
                                       Millis pong_delay) {
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int error = errno;
    return errno_error(error, "fork: " + std::generic_category().message(error));
  }
  if (pid == 0) run_peer(parent, ns.fd(), server, first_bytes, answer_pings, pong_delay);
  return PeerProcess(pid);
}

PeerProcess::PeerProcess(PeerProcess&& other) noexcept : pid_(std::exchange(other.pid_, -1)) {}

PeerProcess::~PeerProcess() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
}

Result<void> PeerProcess::signal(int signal_number) const {
  if (::kill(pid_, signal_number) != 0) {
    const int error = errno;
    return errno_error(error, "kill: " + std::generic_category().message(error));
  }
  return {};
}

}  // namespace tcpka::tools::lab
