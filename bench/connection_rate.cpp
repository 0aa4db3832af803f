// Loopback connections as fast as one thread makes them, for bench/enforce_rate.sh: for
// SECONDS seconds, connect, accept and abort (SO_LINGER 0: no TIME_WAIT piles up), and
// print the rate. Each connection is established twice over for a sockops program (the
// active and the passive end), which is what tcpka enforce's cost is paid on.
//
//   connection_rate SECONDS [self]   prints "connections N seconds S per_second R"
//
// `self`: the program sets 2:1:3,ut=5s on both ends itself (SO_KEEPALIVE, TCP_KEEPIDLE,
// TCP_KEEPINTVL, TCP_KEEPCNT, TCP_USER_TIMEOUT), what tcpka enforce does for it: the
// price of keepalive paid the usual way, for comparison.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

[[noreturn]] void die(const char* what) {
  std::perror(what);
  std::exit(1);
}

}  // namespace

void set_keepalive(int fd) {
  const int on = 1, idle = 2, interval = 1, count = 3, user_timeout_ms = 5000;
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof(interval));
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof(count));
  ::setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout_ms, sizeof(user_timeout_ms));
  ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
}

int main(int argc, char** argv) {
  const double seconds = argc >= 2 ? std::strtod(argv[1], nullptr) : 0;
  const bool self = argc == 3 && std::string(argv[2]) == "self";
  if (seconds <= 0 || argc > 3 || (argc == 3 && !self)) {
    std::fprintf(stderr, "usage: connection_rate SECONDS [self]\n");
    return 2;
  }
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof(address);
  if (listener < 0 || ::bind(listener, reinterpret_cast<sockaddr*>(&address), size) != 0 ||
      ::listen(listener, 4096) != 0 ||
      ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &size) != 0) {
    die("listen");
  }
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const auto end =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  long made = 0;
  const linger abort{1, 0};
  while (Clock::now() < end) {
    for (int i = 0; i < 64; ++i, ++made) {
      const int client = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (client < 0 ||
          ::connect(client, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
        die("connect");
      }
      const int server = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
      if (server < 0) die("accept");
      if (self) {
        set_keepalive(client);
        set_keepalive(server);
      }
      ::setsockopt(client, SOL_SOCKET, SO_LINGER, &abort, sizeof(abort));
      ::close(client);
      ::close(server);
    }
  }
  const double took = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("connections %ld seconds %.3f per_second %.0f\n", made, took,
              static_cast<double>(made) / took);
  return 0;
}
