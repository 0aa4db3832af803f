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

namespace tcpka::tools::lab {
namespace {

// The child, between fork() and _exit(): system calls only (the lab is multithreaded,
// so nothing that could take a lock another thread held at fork time).
[[noreturn]] void run_peer(pid_t parent, int ns, const net::SocketAddress& server,
                           std::string_view first_bytes) {
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
  while (true)
    ::pause();
}

}  // namespace

Result<PeerProcess> PeerProcess::start(const net::NetNamespace& ns,
                                       const net::SocketAddress& server,
                                       std::string_view first_bytes) {
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int error = errno;
    return errno_error(error, "fork: " + std::generic_category().message(error));
  }
  if (pid == 0) run_peer(parent, ns.fd(), server, first_bytes);
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
